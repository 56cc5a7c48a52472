"""Evaluation statistics: bootstrap CI, exact McNemar test, majority baseline, per-mode summary.

Pure functions over result records (dicts as stored in ``results.jsonl``), so
a report can always be rebuilt from the file alone.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

Record = dict[str, Any]


def bootstrap_ci(
    values: Sequence[float], *, n: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (deterministic for a given ``seed``)."""
    if not values:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    size = len(values)
    means = sorted(sum(values[rng.randrange(size)] for _ in range(size)) / size for _ in range(n))
    lo = means[int((1 - level) / 2 * n)]
    hi = means[min(n - 1, int((1 + level) / 2 * n))]
    return (lo, hi)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``."""
    m = b + c
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(b, c) + 1)) / 2**m
    return min(1.0, 2 * tail)


def paired(a: dict[str, bool], b: dict[str, bool]) -> dict[str, Any]:
    """McNemar comparison on the questions both ``a`` and ``b`` answered (id -> correct)."""
    common = sorted(set(a) & set(b))
    only_a = sum(1 for q in common if a[q] and not b[q])
    only_b = sum(1 for q in common if b[q] and not a[q])
    return {
        "n": len(common),
        "only_reference_correct": only_a,
        "only_this_correct": only_b,
        "p_value": mcnemar_exact(only_a, only_b),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0–100); NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def majority(records: Iterable[Record]) -> tuple[list[str], dict[str, bool]]:
    """The most frequent gold answer and, per question, whether always giving it would be right."""
    gold: dict[str, tuple[str, ...]] = {r["id"]: tuple(r["answer"]) for r in records}
    if not gold:
        return [], {}
    top = Counter(gold.values()).most_common(1)[0][0]
    return list(top), {q: a == top for q, a in gold.items()}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def hit_curve(ranks: Sequence[int | None], depth: int) -> list[float]:
    """hit@k for k = 1..depth: share of questions whose gold passage is within the first k."""
    if not ranks:
        return []
    return [
        sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in range(1, depth + 1)
    ]


def stage_gold(per_question: Sequence[dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per stage: questions with a gold passage after it, gold passages it added and removed.

    Counts are per question (gold passages after a stage minus before it), so a
    stage that swaps one gold passage for another shows neither.
    """
    out: dict[str, dict[str, int]] = {}
    for counts in per_question:
        before = 0
        for stage, n in counts.items():
            d = out.setdefault(stage, {"questions_with_gold": 0, "added": 0, "removed": 0})
            d["questions_with_gold"] += n > 0
            d["added"] += max(0, n - before)
            d["removed"] += max(0, before - n)
            before = n
    return out


def mode_metrics(records: Sequence[Record], *, seed: int = 0) -> dict[str, Any]:
    """Everything the report shows for one mode."""
    n = len(records)
    out: dict[str, Any] = {"n": n}
    lat = [float(r.get("latency", 0.0)) for r in records]
    out["latency_p50"] = percentile(lat, 50)
    out["latency_p95"] = percentile(lat, 95)
    scored = [r for r in records if r.get("gold_rank", "absent") != "absent" and r.get("has_gold")]
    ranks = [r.get("gold_rank") for r in scored]
    depth = max([len(r.get("evidence", [])) for r in scored] + [0])
    curve = hit_curve(ranks, depth)
    out["retrieval_n"] = len(scored)
    out["hit_rate"] = _mean([1.0 if r.get("gold_rank") else 0.0 for r in scored])
    out["source_hit_rate"] = _mean([1.0 if r.get("source_rank") else 0.0 for r in scored])
    out["hit_at_k"] = curve
    out["mrr"] = _mean([1.0 / r["gold_rank"] if r.get("gold_rank") else 0.0 for r in scored])
    staged = [r["stage_gold"] for r in scored if r.get("stage_gold")]
    if staged:  # AddRep: gold passages each stage added or removed, summed over questions
        out["stage_gold"] = stage_gold(staged)
    answered_records = [r for r in records if "correct" in r]
    if answered_records:
        correct = [1.0 if r["correct"] else 0.0 for r in answered_records]
        refused = [r for r in answered_records if r.get("refused")]
        answered = [r for r in answered_records if not r.get("refused")]
        out["accuracy"] = _mean(correct)
        out["accuracy_ci"] = list(bootstrap_ci(correct, seed=seed))
        out["refusal_rate"] = len(refused) / len(answered_records)
        out["accuracy_answered"] = _mean([1.0 if r["correct"] else 0.0 for r in answered])
        ext = [r["extractiveness"] for r in answered if r.get("extractiveness") is not None]
        out["extractiveness"] = _mean(ext)
        out["tokens_mean"] = _mean([float(r.get("tokens", 0)) for r in answered_records])
        out["tokens_total"] = int(sum(r.get("tokens", 0) for r in answered_records))
        out["errors"] = sum(1 for r in answered_records if r.get("error"))
    return out


def is_off_library(record: Record) -> bool:
    """A record of a question the library does not cover (tagged ``off-library`` or without gold source)."""
    if "off_library" in record:
        return bool(record["off_library"])
    return "off-library" in record.get("tags", []) or not record.get("has_gold", True)


def refusal_metrics(records: Sequence[Record]) -> dict[str, Any]:
    """The refusal table of one mode: off-library questions refused, in-library ones refused by mistake.

    ``answered_accuracy`` is the accuracy on in-library questions that were
    answered (runs with answers); ``answered_hit_rate`` the share of those
    whose gold page was retrieved (every run).
    """
    rated = [r for r in records if "refused" in r]
    off = [r for r in rated if is_off_library(r)]
    inlib = [r for r in rated if not is_off_library(r)]
    answered = [r for r in inlib if not r.get("refused")]
    out: dict[str, Any] = {
        "off_library": len(off),
        "in_library": len(inlib),
        "off_library_refused": sum(1 for r in off if r.get("refused")),
        "in_library_refused": sum(1 for r in inlib if r.get("refused")),
        "correct_refusal_rate": _mean([1.0 if r.get("refused") else 0.0 for r in off]),
        "false_refusal_rate": _mean([1.0 if r.get("refused") else 0.0 for r in inlib]),
        "answered_accuracy": _mean(
            [1.0 if r.get("correct") else 0.0 for r in answered if "prediction" in r]
        ),
        "answered_hit_rate": _mean(
            [1.0 if r.get("gold_rank") else 0.0 for r in answered if r.get("has_gold")]
        ),
    }
    return out


def summarize(
    records: Sequence[Record], *, reference: str = "naive", seed: int = 0
) -> dict[str, Any]:
    """Per-mode metrics, paired comparisons, majority baseline and per-tag accuracy."""
    modes: list[str] = []
    for r in records:
        if r["mode"] not in modes:
            modes.append(r["mode"])
    by_mode = {m: [r for r in records if r["mode"] == m] for m in modes}
    per_mode = {m: mode_metrics(rs, seed=seed) for m, rs in by_mode.items()}
    for m, rs in by_mode.items():
        if m != "no-rag":
            per_mode[m]["refusal"] = refusal_metrics(rs)
    answered = any("correct" in r for r in records)
    summary: dict[str, Any] = {
        "modes": modes,
        "per_mode": per_mode,
        "questions": len({r["id"] for r in records}),
    }
    if not answered:
        return summary
    top, base = majority(records)
    summary["majority"] = {
        "answer": top,
        "accuracy": _mean([1.0 if v else 0.0 for v in base.values()]),
        "n": len(base),
    }
    correct = {m: {r["id"]: bool(r["correct"]) for r in rs} for m, rs in by_mode.items()}
    comparisons: dict[str, Any] = {}
    for m in modes:
        comparisons[m] = {"vs_majority": paired(base, correct[m])}
        if reference in correct and m != reference:
            comparisons[m][f"vs_{reference}"] = paired(correct[reference], correct[m])
    summary["comparisons"] = comparisons
    common = set.intersection(*(set(c) for c in correct.values()))
    summary["common"] = {
        "n": len(common),
        "accuracy": {m: _mean([1.0 if correct[m][q] else 0.0 for q in common]) for m in modes},
    }
    tags = sorted({t for r in records for t in r.get("tags", [])})
    summary["per_tag"] = {
        t: {
            m: {"n": len(sel), "accuracy": _mean([1.0 if r["correct"] else 0.0 for r in sel])}
            for m in modes
            if (sel := [r for r in by_mode[m] if t in r.get("tags", [])])
        }
        for t in tags
    }
    return summary
