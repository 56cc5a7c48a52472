"""Query benchmark: retrieval quality, judge quality, answer styles and latency, in one run.

Run ``.venv/bin/python bench/query.py [--quick] [--home DIR]``. The library is
built from the shared PubMedQA dev corpus (30 PDFs) with ``Engine.add`` into
``--home`` (reused when it already holds the corpus), the embedded models are
used (bundled all-MiniLM-L6-v2, SmolLM2-135M-Instruct GGUF) and the questions
are the first ``--limit`` lines of ``questions.jsonl`` (or ``--sample N --seed S``),
so runs are comparable.

**Modes** (``naive``, ``hybrid``, ``addrep``), every question, interleaved per
question so machine noise hits all modes alike; each call is
``Engine.ask(question, mode=m, style=--mode-style)`` and the answer is read to
the end. All modes end with the same final context size: ``max_evidence``
passages (naive/hybrid: top ``top_k`` hits, similarity threshold, capped at
``max_evidence``; addrep: assembled evidence, capped at ``max_evidence``).

* hit@final — any passage of the final evidence (``Answer.evidence``, what the
  writer used) comes from the gold PDF (*source*), and also overlaps a gold page
  (*page*);
* gold share — the fraction of final passages that come from the gold PDF
  (how much of the context is on topic);
* hit@k (k = 1, 3, 5, 10) — over the raw ranking: ``naive.search`` /
  ``hybrid.search`` with k = 10 (run outside the timed call); for addrep over its
  ordered final evidence (so hit@10 = hit@``max_evidence``);
* refusal rate (``Answer.refused``);
* latency — end-to-end (``Engine.ask`` + reading the answer) and per stage
  (``Answer.trace`` steps: search, divergent, judge, select, ...), p50/p95.

**AddRep internals**, from its trace: gold hit in the first search, among all
merged candidates *before* judging, among the judge's kept candidates, and in
the final evidence; the judge's keep rate for gold-source and other
candidates; ranking quality (pairwise AUC within a question, gold vs. other
candidates) of the judge's calibrated relevance against plain cosine; and the
counterfactual "judge off" evidence (top ``max_evidence`` candidates by cosine,
which is what ``assemble.order`` does without verdicts). Merge keeps each
passage's best score over *all* queries, so post hoc every candidate is also
scored by cosine to the user's question: how much divergent-only passages are
over-scored, how much of the final evidence only divergent questions found,
and the evidence a question-cosine ranking would have chosen.

**Styles** (``off``, ``cp-order``, ``cp-link``, ``cp-refine``) on the first
``--style-limit`` questions with ``--style-mode`` (addrep): mean coverage and
density (``Answer.extractiveness``), answer length, unsupported-sentence rate
(``len(unsupported) / len(checks)``), refusals, answers repeating a sentence,
latency. Retrieval does not
depend on the style, so by default each question is retrieved once
(``Engine.retrieve`` in the mode phase, or for the first style) and the
recorded ``Evidence`` is passed to ``Engine.write`` for the other styles;
every style then writes from the *same* evidence, and the style's
end-to-end latency is the recorded retrieval time plus the measured
``Engine.write`` + read time. ``--style-retrieve-each`` retrieves anew for
every style instead.

**Aims** (PASS/FAIL): addrep hit@final (source) >= naive at the same final
context size; addrep end-to-end p50 <= 3x naive; every cp style's mean coverage
at least 0.10 above ``off``.

Results go to ``bench/results/query.json`` (``--quick``: ``query-quick.json``)
with the settings used, the machine and per-question records; a summary table
is printed. Progress goes to stderr. Finished questions are checkpointed in
the library home, so an interrupted run resumes (``--fresh`` starts over).
The machine may be shared with other work: the load average is recorded with
every question, and latencies should be read with it in mind.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval" / "pubmedqa-dev"
DEFAULT_CORPUS = EVAL / "corpus"
DEFAULT_QUESTIONS = EVAL / "questions.jsonl"
RESULTS = REPO / "bench" / "results"

MODES = ("naive", "hybrid", "addrep")
STYLES = (
    "off",
    "cp-order",
    "cp-refine",
    "cp-link",
)  # run order: no style follows one with the same prompt
KS = (1, 3, 5, 10)
COVERAGE_MARGIN = 0.10  # "clearly higher": cp style mean coverage - off mean coverage
LATENCY_FACTOR = 3.0  # addrep end-to-end p50 / naive end-to-end p50
TEXT_KEEP = 2000  # characters of each answer kept in the per-question records
WARM_UP_QUESTION = "What is chronic kidney disease?"


# ---------------------------------------------------------------- small helpers


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolation percentile (``q`` in 0..100); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def rnd(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def latency(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": rnd(percentile(values, 50)),
        "p95": rnd(percentile(values, 95)),
        "mean": rnd(mean(values)),
    }


def rate(flags: list[bool]) -> float | None:
    return rnd(sum(flags) / len(flags), 4) if flags else None


def page_overlap(page_start: int, page_end: int, gold_pages: list[int]) -> bool:
    return any(page_start <= p <= page_end for p in gold_pages)


def compact(h: Any) -> dict[str, Any]:
    """A Hit as a small JSON record."""
    return {
        "id": h.chunk_id,
        "doc": h.doc_name,
        "pages": [h.page_start, h.page_end],
        "score": rnd(h.score),
        "relevance": rnd(h.relevance),
    }


def gold_flags(items: list[dict[str, Any]], q: dict[str, Any]) -> tuple[bool, bool]:
    """(source hit, source+page hit) for compact hits."""
    src = [it for it in items if it["doc"] == q["gold_source"]]
    return bool(src), any(
        page_overlap(it["pages"][0], it["pages"][1], q["gold_pages"]) for it in src
    )


def first_rank(items: list[dict[str, Any]], q: dict[str, Any], page: bool) -> int | None:
    """1-based rank of the first gold hit in ``items``, or None."""
    for i, it in enumerate(items, start=1):
        if it["doc"] == q["gold_source"] and (
            not page or page_overlap(it["pages"][0], it["pages"][1], q["gold_pages"])
        ):
            return i
    return None


def stage_seconds(trace: Any) -> dict[str, float]:
    """Seconds per stage (summed when a stage runs several times); skipped steps left out."""
    out: dict[str, float] = {}
    for s in trace.steps:
        if not s.skipped:
            out[s.stage] = round(out.get(s.stage, 0.0) + s.seconds, 3)
    return out


def repeated_sentences(text: str) -> int:
    """How many sentences of ``text`` repeat an earlier one (citation markers ignored)."""
    from kidneytalk.citations import MARKER, split_sentences

    seen: set[str] = set()
    repeats = 0
    for sentence in split_sentences(MARKER.sub(" ", text)):
        key = " ".join(sentence.lower().split()).rstrip(" .")
        if len(key) < 20:
            continue
        repeats += key in seen
        seen.add(key)
    return repeats


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# ---------------------------------------------------------------- inputs


def load_questions(path: Path, limit: int, sample: int | None, seed: int) -> list[dict[str, Any]]:
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    rows = random.Random(seed).sample(rows, min(sample, len(rows))) if sample else rows[:limit]
    return rows


def open_engine(
    home: Path, corpus: Path, max_evidence: int, llm_threads: int | None
) -> tuple[Any, dict[str, Any]]:
    """Engine on ``home`` with default settings (final context = ``max_evidence``); builds the library if needed."""
    from kidneytalk.config import Settings
    from kidneytalk.engine import Engine

    base = Settings()
    settings = base.replace(
        top_k=max(base.top_k, max_evidence),
        retrieval=dataclasses.replace(base.retrieval, max_evidence=max_evidence),
    )
    if llm_threads is not None:
        settings = settings.replace(llm=dataclasses.replace(settings.llm, n_threads=llm_threads))
    engine = Engine(home=home, settings=settings)
    pdfs = sorted(p.name for p in corpus.glob("*.pdf"))
    have = {d.name for d in engine.library.documents() if d.status == "ready"}
    info: dict[str, Any] = {"home": str(home), "corpus": str(corpus), "pdfs": len(pdfs)}
    if set(pdfs) <= have:
        info["reused"] = True
    else:
        log(f"building the library in {home} from {corpus} ({len(pdfs)} PDFs)")
        t = time.monotonic()
        results = engine.add([corpus])
        info.update(
            reused=False,
            build_seconds=round(time.monotonic() - t, 2),
            failed=[r.to_json() for r in results if r.failed],
        )
    docs = engine.library.documents()
    info.update(
        documents=len(docs),
        chunks=sum(d.chunks_kept for d in docs),
        pages=sum(d.pages for d in docs),
        searchable=len(engine.library.searchable_doc_ids()),
    )
    missing = sorted(set(pdfs) - {d.name for d in docs})
    if missing:
        info["missing"] = missing
    return engine, info


# ---------------------------------------------------------------- retrieval record / replay


class RetrievalCache:
    """AddRep evidence by question text, recorded once and replayed for other styles.

    Retrieval is :meth:`Engine.retrieve` and writing :meth:`Engine.write`, so a replayed
    style writes from exactly the evidence the mode phase found.
    """

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def put(self, question: str, entry: dict[str, Any]) -> None:
        self.entries[question] = entry

    def record(self, evidence: Any) -> None:
        self.put(
            evidence.question,
            {
                "query": evidence.query,
                "mode": evidence.mode,
                "refusal": evidence.refusal,
                "language": evidence.language,
                "note": evidence.note,
                "stopped": evidence.stopped,
                "evidence": [dataclasses.asdict(h) for h in evidence.passages],
                "retrieved": [dataclasses.asdict(h) for h in evidence.retrieved],
                "steps": [dataclasses.asdict(s) for s in evidence.trace.steps],
            },
        )

    def evidence(self, question: str) -> Any:
        """The recorded evidence with its steps marked ``replayed`` (None when not recorded)."""
        from kidneytalk.answer import Evidence
        from kidneytalk.records import Hit
        from kidneytalk.trace import Step, Trace

        entry = self.entries.get(question)
        if entry is None:
            return None
        trace = Trace()
        for st in entry["steps"]:
            trace.steps.append(
                Step(
                    st["stage"],
                    st["seconds"],
                    dict(st["inputs"], replayed=True),
                    dict(st["outputs"]),
                    st["skipped"],
                )
            )

        def hits(rows: list[dict[str, Any]]) -> tuple[Any, ...]:
            return tuple(Hit(**dict(h, section=tuple(h["section"]))) for h in rows)

        passages = hits(entry["evidence"])
        return Evidence(
            question,
            passages=passages,
            retrieved=hits(entry.get("retrieved", entry["evidence"])),
            mode=entry.get("mode", "addrep"),
            query=entry["query"],
            refusal=entry.get("refusal", ""),
            language=entry.get("language", "en"),
            note=entry.get("note", ""),
            trace=trace,
            stopped=entry.get("stopped", False),
        )


# ---------------------------------------------------------------- one question


def addrep_details(engine: Any, trace: Any) -> dict[str, Any]:
    """First-search hits, divergent questions and merged candidates with the judge's verdicts."""
    steps = {s.stage: s for s in trace.steps if not s.skipped}
    scores: dict[str, float] = {}
    first_ids: list[str] = []
    if "search" in steps:
        for cid, score in steps["search"].outputs.get("hits", []):
            first_ids.append(cid)
            scores[cid] = max(scores.get(cid, -1.0), score)
    questions: list[str] = []
    if "divergent" in steps:
        questions = list(steps["divergent"].outputs.get("questions", []))
        for hits in steps["divergent"].outputs.get("hits", {}).values():
            for cid, score in hits:
                scores[cid] = max(scores.get(cid, -1.0), score)
    verdicts = (
        {v["id"]: v for v in steps["judge"].outputs.get("verdicts", [])} if "judge" in steps else {}
    )
    threshold = engine.settings.retrieval.min_similarity
    candidate_ids = list(verdicts) or [cid for cid, s in scores.items() if s >= threshold]
    with engine.library.reading():
        rows = engine.library.catalog.passages(list(set(candidate_ids) | set(first_ids)))

    def item(cid: str) -> dict[str, Any]:
        row = rows.get(cid)
        v = verdicts.get(cid, {})
        return {
            "id": cid,
            "doc": row.doc_name if row else "?",
            "pages": [row.page_start, row.page_end] if row else [0, 0],
            "score": scores.get(cid),
            "relevance": v.get("relevance"),
            "p_yes": v.get("p_yes"),
            "kept": v.get("relevant", not verdicts),
        }

    candidates = sorted((item(c) for c in candidate_ids), key=lambda c: -(c["score"] or 0.0))
    return {
        "first_search": [item(c) for c in first_ids],
        "divergent_questions": questions,
        "candidates": candidates,
        "judged": bool(verdicts),
        "below_threshold": steps["merge"].outputs.get("below_threshold")
        if "merge" in steps
        else None,
    }


def flush_kv(engine: Any) -> None:
    """Replace the LLM's KV cache with an unrelated prompt (public API, a few milliseconds).

    llama.cpp reuses the cached prefix of the previous prompt; consecutive asks of
    the *same* question (naive then hybrid with the same evidence, cp-order then
    cp-link) would otherwise get their prompt almost for free, which a user
    asking a new question never does.
    """
    engine.llm().yes_probability([{"role": "user", "content": "ok"}])


def run_mode(
    engine: Any, q: dict[str, Any], mode: str, style: str, cache: RetrievalCache | None = None
) -> dict[str, Any]:
    from kidneytalk.retrieval import hybrid, naive

    flush_kv(engine)
    load = loadavg()
    t0 = time.monotonic()
    evidence = engine.retrieve(q["question"], mode=mode)
    if cache is not None:
        cache.record(evidence)
    answer = engine.write(evidence, style=style)
    t_ask = time.monotonic() - t0
    text = answer.text()
    e2e = time.monotonic() - t0
    final = [compact(h) for h in answer.evidence]
    rec: dict[str, Any] = {
        "qid": q["id"],
        "mode": mode,
        "style": style,
        "loadavg": load,
        "e2e": round(e2e, 3),
        "ask": round(t_ask, 3),
        "stages": stage_seconds(answer.trace),
        "timings": dict(answer.timings),
        "refused": answer.refused,
        "final": final,
        "answer": text[:TEXT_KEEP],
    }
    if mode == "addrep":
        rec["ranking"] = [compact(h) for h in answer.retrieved]
        rec["addrep"] = addrep_details(engine, answer.trace)
    else:
        search = hybrid.search if mode == "hybrid" else naive.search
        rec["ranking"] = [compact(h) for h in search(engine.library, q["question"], max(KS))]
    return rec


def run_style(
    engine: Any, q: dict[str, Any], mode: str, style: str, cache: RetrievalCache, replay: bool
) -> dict[str, Any]:
    flush_kv(engine)
    load = loadavg()
    t0 = time.monotonic()
    evidence = cache.evidence(q["question"]) if replay else None
    if evidence is None:
        evidence = engine.retrieve(q["question"], mode=mode)
        cache.record(evidence)
    answer = engine.write(evidence, style=style)
    text = answer.text()
    measured = time.monotonic() - t0
    replayed = [s for s in answer.trace.steps if s.inputs.get("replayed")]
    retrieval = sum(s.seconds for s in replayed if not s.skipped)
    rec: dict[str, Any] = {
        "qid": q["id"],
        "mode": mode,
        "style": style,
        "loadavg": load,
        "replayed_retrieval": bool(replayed),
        "measured": round(measured, 3),
        "e2e": round(measured + retrieval, 3),
        "write": answer.timings.get("write"),
        "stages": stage_seconds(answer.trace),
        "refused": answer.refused,
        "final": [compact(h) for h in answer.evidence],
        "answer": text[:TEXT_KEEP],
        "chars": len(text),
    }
    if not answer.refused and answer.evidence:
        ext = answer.extractiveness()
        checks = answer.checks
        rec.update(
            coverage=round(ext.coverage, 4),
            density=round(ext.density, 3),
            tokens=ext.answer_tokens,
            checks=len(checks),
            unsupported=len(answer.unsupported),
        )
    return rec


# ---------------------------------------------------------------- post-hoc analysis


def rescore_candidates(
    engine: Any, records: list[dict[str, Any]], questions: dict[str, dict[str, Any]]
) -> None:
    """Add to every addrep candidate its cosine to the *user's* question (``qcos``) and whether the
    first search found it (``first``). Merge keeps the best score over all queries, so a passage
    found by a divergent question carries its similarity to that question; ``qcos`` shows how
    related it is to what was asked. Post hoc (untimed), so it also works on resumed results."""
    for r in records:
        d = r["addrep"]
        first = {c["id"] for c in d["first_search"]}
        missing = [c for c in d["candidates"] if "qcos" not in c]
        if not missing:
            continue
        vector = engine.library.embedder.embed_query(questions[r["qid"]]["question"])
        with engine.library.reading():
            sims = engine.library.store.similarities(vector, [c["id"] for c in missing])
        for c in missing:
            c["qcos"] = rnd(sims.get(c["id"]))
            c["first"] = c["id"] in first


# ---------------------------------------------------------------- summaries


def auc(pairs: list[tuple[list[float], list[float]]]) -> float | None:
    """P(a gold candidate outranks an other candidate of the same question); ties count half."""
    wins = total = 0.0
    for gold, other in pairs:
        for g in gold:
            for o in other:
                total += 1
                wins += 1.0 if g > o else 0.5 if g == o else 0.0
    return rnd(wins / total, 4) if total else None


def summarize_mode(
    records: list[dict[str, Any]], questions: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    src, page, sizes, share = [], [], [], []
    hit_k: dict[str, list[bool]] = {f"source@{k}": [] for k in KS} | {f"page@{k}": [] for k in KS}
    stages: dict[str, list[float]] = {}
    timings: dict[str, list[float]] = {}
    for r in records:
        q = questions[r["qid"]]
        s, p = gold_flags(r["final"], q)
        src.append(s)
        page.append(p)
        sizes.append(len(r["final"]))
        if r["final"]:
            share.append(sum(h["doc"] == q["gold_source"] for h in r["final"]) / len(r["final"]))
        rs, rp = first_rank(r["ranking"], q, False), first_rank(r["ranking"], q, True)
        for k in KS:
            hit_k[f"source@{k}"].append(rs is not None and rs <= k)
            hit_k[f"page@{k}"].append(rp is not None and rp <= k)
        for name, sec in r["stages"].items():
            stages.setdefault(name, []).append(sec)
        for name, sec in r["timings"].items():
            timings.setdefault(name, []).append(sec)
    return {
        "n": len(records),
        "hit_final_source": rate(src),
        "hit_final_page": rate(page),
        "hit_at_k": {key: rate(v) for key, v in hit_k.items()},
        "refusal_rate": rate([r["refused"] for r in records]),
        "final_evidence_mean": rnd(mean([float(x) for x in sizes]), 2),
        "final_gold_source_share": rnd(mean(share), 4),
        "answers_with_repeated_sentence": sum(repeated_sentences(r["answer"]) > 0 for r in records),
        "e2e": latency([r["e2e"] for r in records]),
        "stages": {name: latency(v) for name, v in stages.items()},
        "timings": {name: latency(v) for name, v in timings.items()},
        "loadavg_mean": rnd(
            mean([r["loadavg"] for r in records if r.get("loadavg") is not None]), 2
        ),
    }


def summarize_addrep(
    records: list[dict[str, Any]], questions: dict[str, dict[str, Any]], max_evidence: int
) -> dict[str, Any]:
    first, cand, kept, final, nojudge, resc, resc_kept = ([] for _ in range(7))
    first_p, cand_p, kept_p, final_p, nojudge_p, resc_p, resc_kept_p = ([] for _ in range(7))
    final_divergent_only: list[bool] = []
    inflation: list[float] = []
    qcos_pairs = []
    n_cand, n_kept, n_div = [], [], []
    gold_kept: list[bool] = []
    other_kept: list[bool] = []
    rel_pairs, cos_pairs = [], []
    rel_gold, rel_other = [], []
    lost_judge = lost_cap = 0
    for r in records:
        q = questions[r["qid"]]
        d = r["addrep"]
        cands = d["candidates"]
        kept_items = [c for c in cands if c["kept"]]
        by_score = sorted(cands, key=lambda c: -(c["score"] or 0.0))[:max_evidence]
        by_qcos = sorted(cands, key=lambda c: -(c.get("qcos") or 0.0))[:max_evidence]
        kept_qcos = sorted(kept_items, key=lambda c: -(c.get("qcos") or 0.0))[:max_evidence]
        for items, s_list, p_list in (
            (d["first_search"], first, first_p),
            (cands, cand, cand_p),
            (kept_items, kept, kept_p),
            (r["final"], final, final_p),
            (by_score, nojudge, nojudge_p),
            (by_qcos, resc, resc_p),
            (kept_qcos, resc_kept, resc_kept_p),
        ):
            s, p = gold_flags(items, q)
            s_list.append(s)
            p_list.append(p)
        first_ids = {c["id"] for c in d["first_search"]}
        final_divergent_only += [h["id"] not in first_ids for h in r["final"]]
        inflation += [
            c["score"] - c["qcos"]
            for c in cands
            if not c.get("first", True) and c.get("qcos") is not None and c["score"] is not None
        ]
        n_cand.append(len(cands))
        n_kept.append(len(kept_items))
        n_div.append(len(d["divergent_questions"]))
        if not d["judged"]:
            continue
        gold = [c for c in cands if c["doc"] == q["gold_source"]]
        other = [c for c in cands if c["doc"] != q["gold_source"]]
        gold_kept += [c["kept"] for c in gold]
        other_kept += [c["kept"] for c in other]
        rel_gold += [c["relevance"] for c in gold if c["relevance"] is not None]
        rel_other += [c["relevance"] for c in other if c["relevance"] is not None]
        if gold and other:
            rel_pairs.append(
                ([c["relevance"] or 0.0 for c in gold], [c["relevance"] or 0.0 for c in other])
            )
            cos_pairs.append(
                ([c["score"] or 0.0 for c in gold], [c["score"] or 0.0 for c in other])
            )
            qcos_pairs.append(
                ([c.get("qcos") or 0.0 for c in gold], [c.get("qcos") or 0.0 for c in other])
            )
        fs, _ = gold_flags(r["final"], q)
        if gold and not any(c["kept"] for c in gold):
            lost_judge += 1
        elif any(c["kept"] for c in gold) and not fs:
            lost_cap += 1
    return {
        "n": len(records),
        "hit_source": {
            "first_search": rate(first),
            "candidates_before_judge": rate(cand),
            "kept_by_judge": rate(kept),
            "final": rate(final),
            "judge_off_counterfactual": rate(nojudge),
            "rescored_judge_off_counterfactual": rate(resc),
            "rescored_judge_kept_counterfactual": rate(resc_kept),
        },
        "hit_page": {
            "first_search": rate(first_p),
            "candidates_before_judge": rate(cand_p),
            "kept_by_judge": rate(kept_p),
            "final": rate(final_p),
            "judge_off_counterfactual": rate(nojudge_p),
            "rescored_judge_off_counterfactual": rate(resc_p),
            "rescored_judge_kept_counterfactual": rate(resc_kept_p),
        },
        "final_from_divergent_only_fraction": rate(final_divergent_only),
        "divergent_only_score_minus_question_cosine_mean": rnd(mean(inflation)),
        "divergent_questions_mean": rnd(mean([float(x) for x in n_div]), 2),
        "candidates_mean": rnd(mean([float(x) for x in n_cand]), 2),
        "kept_mean": rnd(mean([float(x) for x in n_kept]), 2),
        "judge": {
            "kept_fraction": rnd(sum(n_kept) / sum(n_cand), 4) if sum(n_cand) else None,
            "gold_source_candidates": len(gold_kept),
            "gold_source_kept_rate": rate(gold_kept),
            "other_candidates": len(other_kept),
            "other_kept_rate": rate(other_kept),
            "relevance_mean_gold": rnd(mean(rel_gold)),
            "relevance_mean_other": rnd(mean(rel_other)),
            "auc_relevance_gold_vs_other": auc(rel_pairs),
            "auc_cosine_gold_vs_other": auc(cos_pairs),
            "auc_question_cosine_gold_vs_other": auc(qcos_pairs),
            "questions_gold_rejected_by_judge": lost_judge,
            "questions_gold_kept_but_cut_by_assembly": lost_cap,
        },
    }


def summarize_style(records: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in records if "coverage" in r]
    with_checks = [r for r in answered if r["checks"]]
    return {
        "n": len(records),
        "refusals": sum(r["refused"] for r in records),
        "coverage_mean": rnd(mean([r["coverage"] for r in answered]), 4),
        "density_mean": rnd(mean([r["density"] for r in answered]), 3),
        "answer_tokens_mean": rnd(mean([float(r["tokens"]) for r in answered]), 1),
        "answer_chars_mean": rnd(mean([float(r["chars"]) for r in answered]), 1),
        "unsupported_rate_mean": rnd(
            mean([r["unsupported"] / r["checks"] for r in with_checks]), 4
        ),
        "unsupported_rate_pooled": rnd(
            sum(r["unsupported"] for r in with_checks)
            / max(1, sum(r["checks"] for r in with_checks)),
            4,
        ),
        "write": latency([r["write"] for r in records if r.get("write") is not None]),
        "e2e": latency([r["e2e"] for r in records]),
        "retrieval_replayed": sum(r["replayed_retrieval"] for r in records),
        "answers_with_repeated_sentence": sum(
            repeated_sentences(r["answer"]) > 0 for r in answered
        ),
    }


def aims(modes: dict[str, Any], styles: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "naive" in modes and "addrep" in modes:
        a, n = modes["addrep"]["hit_final_source"], modes["naive"]["hit_final_source"]
        out["addrep_hit_final_ge_naive"] = {
            "addrep": a,
            "naive": n,
            "pass": a is not None and n is not None and a >= n,
        }
        a50, n50 = modes["addrep"]["e2e"]["p50"], modes["naive"]["e2e"]["p50"]
        ratio = a50 / n50 if a50 is not None and n50 else None
        out["addrep_e2e_le_3x_naive"] = {
            "addrep_p50": a50,
            "naive_p50": n50,
            "ratio": rnd(ratio, 2),
            "limit": LATENCY_FACTOR,
            "pass": ratio is not None and ratio <= LATENCY_FACTOR,
        }
    off = styles.get("off", {}).get("coverage_mean")
    if off is not None:
        per = {}
        for s in STYLES[1:]:
            cov = styles.get(s, {}).get("coverage_mean")
            per[s] = {
                "coverage": cov,
                "minus_off": rnd(None if cov is None else cov - off, 4),
                "pass": cov is not None and cov >= off + COVERAGE_MARGIN,
            }
        out["cp_coverage_clearly_above_off"] = {
            "off": off,
            "margin": COVERAGE_MARGIN,
            "styles": per,
            "pass": all(v["pass"] for v in per.values()),
        }
    return out


# ---------------------------------------------------------------- printing


def fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "-"
    if pct:
        return f"{100 * x:5.1f}%"
    return f"{x:.2f}" if isinstance(x, float) else str(x)


def print_summary(result: dict[str, Any]) -> None:
    modes, styles = result["modes"], result["styles"]
    print(
        f"\nQuery benchmark — {result['n_questions']} questions, final context {result['max_evidence']} passages, "
        f"model {result['models']['llm']}, mean load avg {result['machine']['loadavg_mean_during_run']} "
        f"on {result['machine']['logical_cpus']} CPUs"
    )
    print("\nRetrieval (gold source / gold source+page)")
    head = f"{'mode':8} {'final src':>9} {'final pg':>9} " + " ".join(
        f"{'@' + str(k):>11}" for k in KS
    )
    print(head + f" {'gold share':>10} {'refused':>8} {'e2e p50':>8} {'e2e p95':>8}")
    for m, s in modes.items():
        ks = " ".join(
            f"{fmt(s['hit_at_k'][f'source@{k}'], True)}/{fmt(s['hit_at_k'][f'page@{k}'], True).strip():>5}"
            for k in KS
        )
        print(
            f"{m:8} {fmt(s['hit_final_source'], True):>9} {fmt(s['hit_final_page'], True):>9} {ks} "
            f"{fmt(s['final_gold_source_share'], True):>10} "
            f"{fmt(s['refusal_rate'], True):>8} {fmt(s['e2e']['p50']):>8} {fmt(s['e2e']['p95']):>8}"
        )
    print("\nStage latency p50/p95 (s)")
    for m, s in modes.items():
        parts = [f"{name} {fmt(v['p50'])}/{fmt(v['p95'])}" for name, v in s["stages"].items()]
        print(f"  {m:8} " + ", ".join(parts))
    ad = result.get("addrep_analysis")
    if ad:
        print(
            "\nAddRep funnel (gold source / +page): "
            + ", ".join(
                f"{k} {fmt(ad['hit_source'][k], True).strip()}/{fmt(ad['hit_page'][k], True).strip()}"
                for k in ad["hit_source"]
            )
        )
        j = ad["judge"]
        print(
            f"  candidates {ad['candidates_mean']}, kept {ad['kept_mean']} (kept fraction {fmt(j['kept_fraction'], True).strip()}); "
            f"judge keeps gold-source candidates {fmt(j['gold_source_kept_rate'], True).strip()} vs others "
            f"{fmt(j['other_kept_rate'], True).strip()}; AUC relevance {j['auc_relevance_gold_vs_other']} vs merged "
            f"score {j['auc_cosine_gold_vs_other']} vs cosine to the question {j['auc_question_cosine_gold_vs_other']}; "
            f"gold rejected by judge in {j['questions_gold_rejected_by_judge']} "
            f"questions, kept but cut in {j['questions_gold_kept_but_cut_by_assembly']}"
        )
        print(
            f"  final evidence found only by divergent questions: "
            f"{fmt(ad['final_from_divergent_only_fraction'], True).strip()}; their merged score exceeds their "
            f"cosine to the question by {ad['divergent_only_score_minus_question_cosine_mean']} on average"
        )
    if styles:
        print(f"\nAnswer styles ({result['style_mode']}, {result['n_style_questions']} questions)")
        print(
            f"{'style':10} {'coverage':>8} {'density':>8} {'tokens':>7} {'unsupp.':>8} {'refused':>7} "
            f"{'write p50':>9} {'write p95':>9} {'e2e p50':>8} {'e2e p95':>8}"
        )
        for st, s in styles.items():
            print(
                f"{st:10} {fmt(s['coverage_mean']):>8} {fmt(s['density_mean']):>8} {fmt(s['answer_tokens_mean']):>7} "
                f"{fmt(s['unsupported_rate_mean'], True):>8} {s['refusals']:>7} {fmt(s['write']['p50']):>9} "
                f"{fmt(s['write']['p95']):>9} {fmt(s['e2e']['p50']):>8} {fmt(s['e2e']['p95']):>8}"
            )
    print("\nAims")
    for name, a in result["aims"].items():
        print(
            f"  {'PASS' if a['pass'] else 'FAIL'}  {name}: "
            + json.dumps({k: v for k, v in a.items() if k != "pass"})
        )


# ---------------------------------------------------------------- main


def run_key(
    args: argparse.Namespace, questions: list[dict[str, Any]], settings: dict[str, Any]
) -> str:
    blob = json.dumps(
        {
            "q": [q["id"] for q in questions],
            "settings": settings,
            "mode_style": args.mode_style,
            "style_mode": args.style_mode,
            "each": args.style_retrieve_each,
        },
        sort_keys=True,
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    ap.add_argument(
        "--home",
        type=Path,
        default=None,
        help="library home to build or reuse (default: a folder in the temp dir)",
    )
    ap.add_argument("--limit", type=int, default=100, help="first N questions in file order")
    ap.add_argument(
        "--sample", type=int, default=None, help="a random sample of N questions instead"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-evidence", type=int, default=6, help="final context size for every mode")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument(
        "--mode-style", default="cp-order", help="answer style used in the mode comparison"
    )
    ap.add_argument("--style-limit", type=int, default=30)
    ap.add_argument("--style-mode", default="addrep")
    ap.add_argument("--styles", default=",".join(STYLES))
    ap.add_argument(
        "--style-retrieve-each",
        action="store_true",
        help="full retrieval for every style instead of retrieving once per question",
    )
    ap.add_argument(
        "--llm-threads",
        type=int,
        default=None,
        help="LLMSettings.n_threads for this run (default: the settings default, 0 = all cores); "
        "1 avoids llama.cpp thread stalls when the machine is shared",
    )
    ap.add_argument("--quick", action="store_true", help="10 questions, 5 style questions")
    ap.add_argument("--fresh", action="store_true", help="ignore the checkpoint of an earlier run")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--note", action="append", default=[], help="a note to record in the results (repeatable)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.limit, args.style_limit, args.sample = 10, 5, None
    out = args.out or RESULTS / ("query-quick.json" if args.quick else "query.json")
    modes = [m for m in args.modes.split(",") if m]
    styles = [s for s in args.styles.split(",") if s]
    home = args.home or Path(tempfile.gettempdir()) / "kidneytalk-bench-query"
    corpus = args.corpus if args.corpus.is_absolute() else (REPO / args.corpus)
    qpath = args.questions if args.questions.is_absolute() else (REPO / args.questions)

    questions = load_questions(qpath, args.limit, args.sample, args.seed)
    style_questions = questions[: args.style_limit]
    by_id = {q["id"]: q for q in questions}
    started = time.monotonic()
    load_start = loadavg()

    engine, library = open_engine(home, corpus.resolve(), args.max_evidence, args.llm_threads)
    try:
        import torch

        settings = dataclasses.asdict(engine.settings)
        key = run_key(args, questions, settings)
        ckpt = home / f"bench-query-{key}.jsonl"
        done: dict[tuple[str, str, str], dict[str, Any]] = {}
        sessions: list[
            dict[str, Any]
        ] = []  # earlier sessions of this run (start, end, records run)
        cache = RetrievalCache()
        if ckpt.exists() and not args.fresh:
            for line in ckpt.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a line cut by an interruption
                if row["phase"] == "retrieval":
                    cache.put(row["question"], row["entry"])
                elif row["phase"] == "session":
                    sessions.append(row["session"])
                else:
                    done[(row["phase"], row["name"], row["qid"])] = row["record"]
            log(f"resuming from {ckpt}: {len(done)} records")
        elif ckpt.exists():
            ckpt.unlink()
        pending = [("mode", m, q["id"]) for q in questions for m in modes]
        pending += [("style", st, q["id"]) for q in style_questions for st in styles]
        pending = [p for p in pending if p not in done]

        log(
            "loading models"
            + (" and warming up" if pending else " (nothing left to run: summarizing)")
        )
        t = time.monotonic()
        llm = engine.llm()
        engine.library.embedder.embed_query("warm-up")
        if pending:
            engine.ask(WARM_UP_QUESTION, mode="naive", style=args.mode_style).text()
        warm = round(time.monotonic() - t, 2)

        def save(phase: str, name: str, qid: str, record: dict[str, Any]) -> None:
            record["t"] = round(time.time(), 1)
            done[(phase, name, qid)] = record
            with ckpt.open("a", encoding="utf-8") as f:
                f.write(
                    json.dumps({"phase": phase, "name": name, "qid": qid, "record": record}) + "\n"
                )

        def save_retrieval(question: str) -> None:
            entry = cache.entries.get(question)
            if entry is not None:
                with ckpt.open("a", encoding="utf-8") as f:
                    f.write(
                        json.dumps({"phase": "retrieval", "question": question, "entry": entry})
                        + "\n"
                    )

        style_texts = {q["question"] for q in style_questions}
        # ---- modes
        for i, q in enumerate(questions, start=1):
            for mode in modes:
                if ("mode", mode, q["id"]) in done:
                    continue
                if mode == "addrep":
                    # record the retrieval so the style phase can reuse it (no replay here)
                    rec = run_mode(engine, q, mode, args.mode_style, cache)
                    if (
                        mode == args.style_mode
                        and q["question"] in style_texts
                        and not args.style_retrieve_each
                    ):
                        save_retrieval(q["question"])
                else:
                    rec = run_mode(engine, q, mode, args.mode_style)
                save("mode", mode, q["id"], rec)
                s, p = gold_flags(rec["final"], q)
                log(
                    f"mode {i}/{len(questions)} {mode:6} {q['id']}: final src={int(s)} page={int(p)} "
                    f"n={len(rec['final'])} refused={int(rec['refused'])} e2e={rec['e2e']:.1f}s "
                    f"stages={rec['stages']} load={rec['loadavg']}"
                )
        # ---- styles
        for i, q in enumerate(style_questions, start=1):
            for style in styles:
                if ("style", style, q["id"]) in done:
                    continue
                replay = not args.style_retrieve_each and args.style_mode == "addrep"
                had = q["question"] in cache.entries
                rec = run_style(engine, q, args.style_mode, style, cache, replay)
                if replay and not had:
                    save_retrieval(q["question"])
                save("style", style, q["id"], rec)
                log(
                    f"style {i}/{len(style_questions)} {style:9} {q['id']}: cov={rec.get('coverage')} "
                    f"dens={rec.get('density')} unsupported={rec.get('unsupported')}/{rec.get('checks')} "
                    f"refused={int(rec['refused'])} write={rec['write']}s e2e={rec['e2e']:.1f}s load={rec['loadavg']}"
                )

        session_start = time.time() - (time.monotonic() - started)
        if pending:
            sessions.append(
                {
                    "start": round(session_start, 1),
                    "end": round(time.time(), 1),
                    "records": len(pending),
                    "wall_seconds": round(time.monotonic() - started, 1),
                }
            )
            with ckpt.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"phase": "session", "session": sessions[-1]}) + "\n")
        mode_recs = {m: [done[("mode", m, q["id"])] for q in questions] for m in modes}
        style_recs = {s: [done[("style", s, q["id"])] for q in style_questions] for s in styles}
        if "addrep" in mode_recs:
            rescore_candidates(engine, mode_recs["addrep"], by_id)
        mode_summary = {m: summarize_mode(r, by_id) for m, r in mode_recs.items()}
        style_summary = {s: summarize_style(r) for s, r in style_recs.items()}
        loads = [
            r["loadavg"]
            for rs in (*mode_recs.values(), *style_recs.values())
            for r in rs
            if r.get("loadavg") is not None
        ]
        result: dict[str, Any] = {
            "benchmark": "query",
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "quick": args.quick,
            "argv": sys.argv[1:] if argv is None else argv,
            "questions_file": str(qpath),
            "selection": {"sample": args.sample, "seed": args.seed}
            if args.sample
            else {"first": args.limit},
            "n_questions": len(questions),
            "n_style_questions": len(style_questions),
            "max_evidence": args.max_evidence,
            "mode_style": args.mode_style,
            "style_mode": args.style_mode,
            "style_retrieval": "once per question, replayed"
            if not args.style_retrieve_each
            else "every style",
            "library": library,
            "models": {
                "llm": llm.name,
                "llm_file": str(llm.path),
                "llm_quantization": llm.info.quantization,
                "n_ctx": llm.n_ctx,
                "embedding": engine.library.embed_model_id,
                "embedding_precision": getattr(engine.library.embedder, "precision", None),
            },
            "machine": {
                "cpu_model": cpu_model(),
                "logical_cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "torch": torch.__version__,
                "torch_threads": torch.get_num_threads(),
                "llama_threads": engine.settings.llm.n_threads or os.cpu_count(),
                "loadavg_start": load_start,
                "loadavg_end": loadavg(),
                "loadavg_mean_during_run": rnd(mean(loads), 2),
                "shared": "the machine was shared with other work; latencies are noisy (see loadavg per record)",
            },
            "settings": settings,
            "warm_up_seconds": warm,
            "notes": [
                "hit@final uses Answer.evidence after reading the answer (the passages the writer used); "
                "every mode is capped at max_evidence passages.",
                "hit@k for naive/hybrid is over a separate search(k=10) outside the timed call (hybrid's fusion "
                "pool is max(20, 3k), so its top 6 can differ slightly from the engine's k=top_k call); "
                "for addrep it is over the assembled evidence (hit@10 = hit@max_evidence).",
                "Page hit: a final passage from the gold PDF whose page range overlaps gold_pages.",
                "e2e latency is Engine.ask plus reading the whole answer; models are loaded and warmed up "
                "before the first timed question.",
                "Modes run interleaved per question (naive, hybrid, addrep) so load changes hit all modes alike; "
                "before every timed ask the LLM's KV cache is overwritten with an unrelated prompt, so no ask "
                "reuses the previous ask's prompt (same question, often the same evidence).",
                "Style phase: addrep retrieval is recorded once per question (from the mode phase) and replayed "
                "for each style through a wrapper around kidneytalk.retrieval.addrep.run; style e2e = "
                "recorded retrieval seconds + measured ask/read seconds. Extractiveness and unsupported "
                "rates are over answered (non-refused) questions.",
                "judge_off_counterfactual: top max_evidence merged candidates by cosine (assemble.order's "
                "behaviour without verdicts), computed from the trace, not re-run.",
                "AUC: within each question, P(a gold-source candidate scores above an other-source candidate).",
                "Checkpointed records may come from several sessions when a run was resumed "
                "(records_run_this_session < all records).",
                "rescored_*_counterfactual: merged candidates ranked by cosine to the user's question (qcos, "
                "computed post hoc) instead of the best score over all queries; top max_evidence of all "
                "candidates (judge off) or of the judge's kept ones.",
            ]
            + list(args.note),
            "modes": mode_summary,
            "addrep_analysis": summarize_addrep(mode_recs["addrep"], by_id, args.max_evidence)
            if "addrep" in mode_recs
            else None,
            "styles": style_summary,
            "wall_seconds_this_session": round(time.monotonic() - started, 1),
            "records_run_this_session": len(pending),
            "sessions": sessions,
            "timed_seconds_total": round(
                sum(r["e2e"] for rs in mode_recs.values() for r in rs)
                + sum(r["measured"] for rs in style_recs.values() for r in rs),
                1,
            ),
            "per_question": {"modes": mode_recs, "styles": style_recs},
        }
        result["aims"] = aims(mode_summary, style_summary)
    finally:
        engine.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print_summary(result)
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
