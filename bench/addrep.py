"""AddRep against its base search: retrieval only, per stage, on real documents and PubMedQA digests.

Run ``.venv/bin/python bench/addrep.py [--sample N] [--homes DIR]``. Two sets:

* ``realdocs-dev`` — the 40 in-library questions of ``../shared/eval/realdocs-dev``,
  the scanned leaflets' included (their pages are OCR'd at ingest);
* ``pubmedqa-dev`` — the PubMedQA dev digests, all 300 questions or a seeded
  ``--sample`` of them.

Each library is built once with ``Engine.add`` under ``--homes`` (reused when
it already holds the PDFs). Every question is asked as the evaluation harness
asks it (``Question.prompt_text()``: stem and options) in the ``--modes`` (all
three by default), one after the other: ``naive.search`` and ``hybrid.search`` with k = 10, and
``addrep.run`` with the settings' retrieval switches (its evidence has at most
``max_evidence`` passages). A *gold passage* is a chunk of the gold PDF that
overlaps a gold page.

Per mode: hit@1 and hit@5 for the gold page and the gold document, MRR (page)
and seconds per question. Per AddRep stage (from its trace): how many gold
passages the stage added and removed, and in how many questions a gold
passage was still there after it (first search, divergent, merge, judge,
assemble), plus seconds per stage. Results go to ``bench/results/addrep.json``
with the date, the CPU (model and flags) and ``"machine": "busy"``: the
2-core machine is shared, read latencies with that in mind.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kidneytalk.catalog import StoredPassage  # noqa: E402
from kidneytalk.cpu import cpu_summary  # noqa: E402
from kidneytalk.engine import Engine  # noqa: E402
from kidneytalk.evaluation.questions import Question, load_questions  # noqa: E402
from kidneytalk.evaluation.runner import gold_ranks  # noqa: E402
from kidneytalk.retrieval import addrep, hybrid, naive  # noqa: E402
from kidneytalk.trace import Trace  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
if not EVAL.exists():  # a worktree one level deeper (wt/<name>)
    EVAL = REPO.parent.parent / "shared" / "eval"
DEPTH = 10  # passages ranked by naive and hybrid
STAGES = addrep.STAGES
MODES = ("naive", "hybrid", "addrep")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def library(homes: Path, name: str, pdfs: Path) -> Engine:
    engine = Engine(homes / name)
    have = {d.name for d in engine.library.documents()}
    missing = [p for p in sorted(pdfs.glob("*.pdf")) if p.name not in have]
    if missing:
        log(f"{name}: adding {len(missing)} PDFs")
        engine.add(missing)
    return engine


def questions(name: str, sample: int | None, seed: int) -> tuple[list[Question], str]:
    if name == "realdocs-dev":
        qs, _ = load_questions(EVAL / name / "questions.jsonl")
        chosen = [q for q in qs if q.gold_source]
        return chosen, "all in-library questions (scanned leaflets included, OCR'd)"
    qs, _ = load_questions(EVAL / name / "questions.jsonl")
    if sample and sample < len(qs):
        rng = random.Random(seed)
        return sorted(
            rng.sample(qs, sample), key=lambda q: q.id
        ), f"seeded sample of {sample} (seed {seed})"
    return qs, "all questions"


def is_gold(q: Question, passage: StoredPassage) -> bool:
    return passage.doc_name == q.gold_source and bool(set(passage.pages) & set(q.gold_pages))


def stage_sets(trace: Trace) -> dict[str, set[str]]:
    return {stage: set(ids) for stage, ids in addrep.stage_ids(trace).items()}


def run_set(
    engine: Engine,
    name: str,
    qs: list[Question],
    save: Callable[[dict[str, Any]], None] = lambda summary: None,
    modes: tuple[str, ...] = MODES,
) -> dict[str, Any]:
    """Every question in every mode; ``save`` gets the summary so far after each question."""
    lib = engine.library
    llm = engine.llm()
    settings = engine.settings.retrieval
    records = []
    for i, q in enumerate(qs, start=1):
        text = q.prompt_text()
        rec: dict[str, Any] = {"id": q.id}
        for mode in modes:
            t0 = time.monotonic()
            if mode == "addrep":
                trace = Trace()
                _, hits = addrep.run(
                    lib, llm, engine.prompt_book(text), settings, text, trace=trace
                )
            else:
                hits = (hybrid.search if mode == "hybrid" else naive.search)(lib, text, DEPTH)
            seconds = time.monotonic() - t0
            page, doc = gold_ranks(q, hits)
            rec[mode] = {
                "page_rank": page,
                "doc_rank": doc,
                "seconds": round(seconds, 3),
                "ids": [h.chunk_id for h in hits],
            }
        sets = stage_sets(trace)
        ids = sorted(set().union(*sets.values()))
        with lib.reading():
            rows = lib.catalog.passages(ids)
        gold = {cid for cid in ids if cid in rows and is_gold(q, rows[cid])}
        prev: set[str] = set()
        stages = {}
        for stage in STAGES:
            now = sets[stage] & gold
            stages[stage] = {
                "gold": len(now),
                "added": len(now - prev),
                "removed": len(prev - now),
                "passages": len(sets[stage]),
            }
            prev = now
        rec["addrep"]["stages"] = stages
        judged = next(
            (
                s.outputs.get("verdicts", [])
                for s in trace.steps
                if s.stage == "judge" and not s.skipped
            ),
            [],
        )
        rec["addrep"]["verdicts"] = [
            {
                "id": v["id"],
                "relevance": v["relevance"],
                "kept": v["relevant"],
                "first_search": v.get("first_search"),
                "gold": v["id"] in gold,
            }
            for v in judged
        ]
        rec["addrep"]["stage_seconds"] = trace.timings()
        rec["addrep"]["divergent_questions"] = next(
            (
                s.outputs.get("questions", [])
                for s in trace.steps
                if s.stage == "divergent" and not s.skipped
            ),
            [],
        )
        records.append(rec)
        log(
            f"{name} {i}/{len(qs)} {q.id}: "
            + ", ".join(f"{m} {rec[m]['page_rank']} ({rec[m]['seconds']:.1f}s)" for m in modes)
        )
        save(summarize(records, modes))
    return summarize(records, modes)


def summarize(records: list[dict[str, Any]], modes: tuple[str, ...] = MODES) -> dict[str, Any]:
    n = len(records)

    def share(flags: list[bool]) -> float:
        return round(sum(flags) / n, 4) if n else 0.0

    per_mode = {}
    for m in modes:
        pr = [r[m]["page_rank"] for r in records]
        dr = [r[m]["doc_rank"] for r in records]
        secs = [r[m]["seconds"] for r in records]
        per_mode[m] = {
            "hit1_page": share([x == 1 for x in pr]),
            "hit5_page": share([x is not None and x <= 5 for x in pr]),
            "hit1_doc": share([x == 1 for x in dr]),
            "hit5_doc": share([x is not None and x <= 5 for x in dr]),
            "hit1_page_count": sum(x == 1 for x in pr),
            "hit5_page_count": sum(x is not None and x <= 5 for x in pr),
            "mrr_page": round(sum(1 / x for x in pr if x) / n, 4) if n else 0.0,
            "mrr_doc": round(sum(1 / x for x in dr if x) / n, 4) if n else 0.0,
            "seconds_per_question": round(sum(secs) / n, 3) if n else 0.0,
            "seconds_p50": round(sorted(secs)[n // 2], 3) if n else 0.0,
        }
    stages = {}
    for s in STAGES:
        stages[s] = {
            "questions_with_gold": sum(r["addrep"]["stages"][s]["gold"] > 0 for r in records),
            "gold_added": sum(r["addrep"]["stages"][s]["added"] for r in records),
            "gold_removed": sum(r["addrep"]["stages"][s]["removed"] for r in records),
            "passages_mean": round(
                sum(r["addrep"]["stages"][s]["passages"] for r in records) / n, 2
            )
            if n
            else 0.0,
        }
    seconds: dict[str, float] = {}
    for r in records:
        for k, v in r["addrep"]["stage_seconds"].items():
            seconds[k] = seconds.get(k, 0.0) + v
    worse = [
        r["id"]
        for r in records
        if (r["addrep"]["page_rank"] or 99) > (r["hybrid"]["page_rank"] or 99)
    ]
    return {
        "n": n,
        "modes": per_mode,
        "addrep_stages": stages,
        "addrep_stage_seconds_mean": {k: round(v / n, 3) for k, v in seconds.items()},
        "addrep_ranks_gold_lower_than_hybrid": worse,
        "questions": records,
    }


def write(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--homes",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "kt-bench-addrep",
        help="folder holding one library home per set (built when missing)",
    )
    ap.add_argument("--sets", default="realdocs-dev,pubmedqa-dev")
    ap.add_argument(
        "--sample", type=int, default=None, help="PubMedQA questions (seeded sample; default all)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--modes", default=",".join(MODES), help="modes to run (addrep and hybrid are needed)"
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "addrep.json")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": "busy",
        "cpu": cpu_summary(),
        "loadavg_start": os.getloadavg()[0],
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "depth_naive_hybrid": DEPTH,
        "sets": {},
    }
    for name in args.sets.split(","):
        engine = library(
            args.homes, name, EVAL / name / ("pdfs" if name == "realdocs-dev" else "corpus")
        )
        try:
            qs, note = questions(name, args.sample, args.seed)
            result["settings"] = dict(vars(engine.settings.retrieval))
            log(f"{name}: {len(qs)} questions ({note})")

            def save(summary: dict[str, Any], name: str = name, note: str = note) -> None:
                result["sets"][name] = {"selection": note, **summary}
                write(args.out, result)

            run_set(engine, name, qs, save, tuple(args.modes.split(",")))
        finally:
            engine.close()
    result["loadavg_end"] = os.getloadavg()[0]
    write(args.out, result)
    for name, s in result["sets"].items():
        print(f"\n{name} ({s['n']} questions)")
        print("mode     hit@1  hit@5  MRR    s/q")
        for m, d in s["modes"].items():
            print(
                f"{m:8} {d['hit1_page_count']:>5}  {d['hit5_page_count']:>5}  {d['mrr_page']:.3f}  "
                f"{d['seconds_per_question']:.2f}"
            )
        print("stage      with-gold  added  removed")
        for st, d in s["addrep_stages"].items():
            print(
                f"{st:10} {d['questions_with_gold']:>9}  {d['gold_added']:>5}  {d['gold_removed']:>7}"
            )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
