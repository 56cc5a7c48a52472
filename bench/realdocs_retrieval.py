"""Retrieval hit@k (gold document AND gold page) on realdocs-dev, hybrid mode.

Builds a fresh library in a temp dir from every PDF of
``../shared/eval/realdocs-dev/pdfs`` (the scanned ones included, as a user
would add them), then runs ``kidneytalk.retrieval.hybrid.search`` for each
in-library question and counts a hit when one of the top ``k`` passages comes
from the gold document and its page range overlaps the gold pages.

By default only the text-layer questions are scored (tag ``scanned`` excluded:
those need OCR, which is outside the ingest change this script measures);
``--all`` scores the scanned ones too.

    .venv/bin/python bench/realdocs_retrieval.py [--k 5] [--all] [--label before|after]

Results are merged into ``bench/results/realdocs-retrieval.json`` under the
label (so "before" and "after" runs sit side by side).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = next(
    (p / "shared" for p in REPO.parents if (p / "shared" / "eval").is_dir()), REPO.parent / "shared"
)
REALDOCS = SHARED / "eval" / "realdocs-dev"
RESULTS = REPO / "bench" / "results" / "realdocs-retrieval.json"


def cpu_info() -> dict[str, object]:
    """CPU model, cores and speed-relevant flags (the app's own probe)."""
    from kidneytalk.cpu import cpu_summary

    return cpu_summary()


def load_questions(all_questions: bool) -> list[dict]:
    out = []
    for line in (REALDOCS / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        if not q.get("gold_source"):
            continue
        if not all_questions and "scanned" in q.get("tags", []):
            continue
        out.append(q)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--all", action="store_true", help="also score the scanned-page questions")
    ap.add_argument("--label", default="after")
    ap.add_argument(
        "--home", help="reuse this KidneyTalk home (built if empty) instead of a temp dir"
    )
    args = ap.parse_args()
    if not (REALDOCS / "pdfs").is_dir():
        print(f"realdocs-dev not found at {REALDOCS}", file=sys.stderr)
        return 2

    from kidneytalk.engine import Engine
    from kidneytalk.retrieval import hybrid

    questions = load_questions(args.all)
    with tempfile.TemporaryDirectory(prefix="kt-realdocs-") as tmp:
        home = Path(args.home) if args.home else Path(tmp) / "home"
        engine = Engine(home)
        try:
            t0 = time.monotonic()
            if not engine.library.documents():
                engine.add([str(p) for p in sorted((REALDOCS / "pdfs").glob("*.pdf"))])
            add_s = time.monotonic() - t0
            names = {d.id: d.name for d in engine.library.documents()}
            rows = []
            for q in questions:
                hits = hybrid.search(engine.library, q["question"], args.k)
                gold = set(q["gold_pages"])
                ok = any(
                    names.get(h.doc_id) == q["gold_source"]
                    and gold & set(range(h.page_start, h.page_end + 1))
                    for h in hits
                )
                doc_ok = any(names.get(h.doc_id) == q["gold_source"] for h in hits)
                rows.append(
                    {
                        "id": q["id"],
                        "hit": ok,
                        "doc_hit": doc_ok,
                        "tags": q.get("tags", []),
                        "top": [f"{names.get(h.doc_id, h.doc_id)} {h.pages_label}" for h in hits],
                    }
                )
        finally:
            engine.close()
    n = len(rows)
    hit = sum(r["hit"] for r in rows)
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_info(),
        "machine": "busy",
        "mode": "hybrid",
        "k": args.k,
        "questions": n,
        "scanned_included": args.all,
        "hit_at_k": round(hit / max(1, n), 4),
        "hits": hit,
        "doc_hit_at_k": round(sum(r["doc_hit"] for r in rows) / max(1, n), 4),
        "add_seconds": round(add_s, 1),
        "misses": [r for r in rows if not r["hit"]],
    }
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[args.label] = summary
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{args.label}: hit@{args.k} (doc+page) = {hit}/{n} = {hit / max(1, n):.1%}; "
        f"doc hit@{args.k} = {summary['doc_hit_at_k']:.1%}"
    )
    for r in rows:
        if not r["hit"]:
            print(f"  miss {r['id']}: {r['top']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
