"""Natural questions on real documents: does the relevance gate answer what users type, and refuse the rest?

realdocs-dev's own questions are written as exam items ("In the 2010 meta-analysis of …, what …"),
long and full of the documents' words. Users type short questions in their own words: "my bp is
126/78, is that normal or high?", 「做完腎切片多久可以騎機車、搬重物？」. Three probe sets of such
questions about realdocs-dev's 11 PDFs, written by helpers who read the PDFs and not
realdocs-dev's questions (``bench/data/natural-realdocs-a.jsonl``, 88 questions, and ``-b``, 57,
written later without seeing set a; and ``-c``, 60, written on 2026-12-06 by a helper who saw
neither set nor realdocs-dev's questions, and measured once before any change looked at it),
each marked in-library (with its document and pages) or
off-library (checked by searching the text: most are near misses on the library's topics), in
English and Chinese.

Each question goes through ``Engine.retrieve`` (hybrid, gate included; retrieval only, no model)
in the realdocs library of ``bench/refusal.py`` (built under ``--work`` when missing). Reported
per set and group (in/off-library × en/zh): in-library questions refused, off-library ones
answered, and for in-library ones whether a passage of the gold page is in the evidence.

    python bench/natural_questions.py [--work DIR] [--avx2] [--out FILE]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import refusal  # bench/ is on sys.path when this file is run

SETS = {
    name: Path(__file__).parent / "data" / f"natural-realdocs-{name}.jsonl"
    for name in ("a", "b", "c")
}


def run_set(engine: Any, path: Path) -> dict[str, Any]:
    """Refusals and gold-page hits of one question file, per group."""
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"questions": 0, "wrong": 0, "wrong_ids": [], "gold_page_in_evidence": 0}
    )
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        evidence = engine.retrieve(q["question"], mode="hybrid")
        refused = not evidence.passages
        group = groups[("in" if q["in_library"] else "off") + "-library-" + q["lang"]]
        group["questions"] += 1
        if (
            refused == q["in_library"]
        ):  # an in-library question refused, or an off-library one answered
            group["wrong"] += 1
            group["wrong_ids"].append(q["id"])
        if q["in_library"] and any(
            h.doc_name == q["source"] and any(h.page_start <= p <= h.page_end for p in q["pages"])
            for h in evidence.passages
        ):
            group["gold_page_in_evidence"] += 1
    for name, group in groups.items():
        group["what_is_wrong"] = "refused" if name.startswith("in") else "answered"
        if name.startswith("off"):
            del group["gold_page_in_evidence"]
    return dict(sorted(groups.items()))


def main() -> None:
    parser = refusal.argument_parser(__doc__)
    parser.add_argument("--out", type=Path, default=refusal.RESULTS / "natural-questions.json")
    parser.add_argument(
        "--avx2",
        action="store_true",
        help="embed as on an AVX2-only CPU (int8 ONNX), as bench/refusal.py --avx2 (its --work)",
    )
    args = parser.parse_args()
    if args.avx2:  # before kidneytalk (and torch) are imported
        from ingest import AVX2_ENV

        os.environ.update(AVX2_ENV)
    start, load_start = time.monotonic(), os.getloadavg()[0]
    home = args.work / "lib-realdocs"
    refusal.build_library(home, sorted((refusal.REALDOCS / "pdfs").glob("*.pdf")))
    from kidneytalk.engine import Engine
    from kidneytalk.retrieval.gate import DEFAULT_CALIBRATION

    with Engine(home) as engine:
        results = {name: run_set(engine, path) for name, path in SETS.items()}
        precision = engine.library.embedder.precision
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"load average {load_start:.1f} at the start, {load:.1f} at the end on {cpus} "
        f"CPUs {'(busy)' if load > 0.75 * cpus else '(quiet)'}",
        "cpu": refusal.cpu_info(),
        "embedder": precision,
        "command": "python bench/natural_questions.py " + " ".join(sys.argv[1:]),
        "calibration": {
            k: v
            for k, v in json.loads(DEFAULT_CALIBRATION.read_text())["fitted_on"].items()
            if k in ("date", "main_date", "cjk_date", "topical_date")
        },
        "seconds": round(time.monotonic() - start, 1),
        "sets": {name: str(path.relative_to(refusal.REPO)) for name, path in SETS.items()},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    for name, groups in results.items():
        for group, r in groups.items():
            print(f"set {name} {group}: {r['what_is_wrong']} {r['wrong']}/{r['questions']}")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
