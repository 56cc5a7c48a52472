"""Passages collapsed at ingest on realdocs-dev, and hybrid hit@5 with them collapsed (issue 17).

``.venv/bin/python bench/dedup.py [--home DIR]`` adds the 11 realdocs-dev PDFs to a
fresh library (OCR on, as ``bench/ocr_retrieval.py`` does; ``--home`` reuses a
library that already holds them), then reports:

* passages of all documents, those stored, and the copies: within one document
  and across documents (``copies`` rows whose stored passage is another document's);
* how many more pairs a fuzzy test would have merged: pairs of stored passages of
  different documents whose word-triple Jaccard is >= 0.9 (and >= 0.7, the
  search-time collapse of ``retrieval/assemble.py``), with the words that differ;
* hybrid hit@5 on the in-library questions (40 for realdocs-dev): a hit is a passage of the gold
  document covering a gold page, either where it is stored (strict, as
  ``bench/ocr_retrieval.py`` counts) or at any place ``also_in`` names.

``--corpus pubmedqa-dev`` does the same on the 30 PubMedQA digests and their 300
questions. Results: ``bench/results/dedup.json``, one entry per corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ocr import REALDOCS, cpu_info, ingest_unless_present  # noqa: E402
from kidneytalk.engine import Engine  # noqa: E402
from kidneytalk.retrieval import hybrid  # noqa: E402
from kidneytalk.retrieval.assemble import _shingles  # noqa: E402

OUT = REPO / "bench" / "results" / "dedup.json"


def _fuzzy_pairs(rows: list[tuple[str, str, str]], threshold: float) -> list[dict[str, object]]:
    """Pairs of stored passages of different documents at least ``threshold`` alike (word triples)."""
    shingles = [(cid, doc, text, _shingles(text)) for cid, doc, text in rows]
    out = []
    for i, (a, da, ta, sa) in enumerate(shingles):
        for b, db, tb, sb in shingles[i + 1 :]:
            if da == db:
                continue
            union = len(sa | sb)
            if union and len(sa & sb) / union >= threshold:
                wa, wb = set(ta.lower().split()), set(tb.lower().split())
                out.append(
                    {
                        "a": a,
                        "b": b,
                        "jaccard": round(len(sa & sb) / union, 3),
                        "only_a": sorted(wa - wb)[:8],
                        "only_b": sorted(wb - wa)[:8],
                    }
                )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, help="library folder (default: a fresh temporary one)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--corpus",
        choices=["realdocs-dev", "pubmedqa-dev"],
        default="realdocs-dev",
        help="the PDFs and questions (results under this name in --out)",
    )
    args = ap.parse_args()
    pdfs = (
        REALDOCS
        if args.corpus == "realdocs-dev"
        else REALDOCS.parents[1] / "pubmedqa-dev" / "corpus"
    )
    questions_path = (
        REALDOCS.parent if args.corpus == "realdocs-dev" else pdfs.parent
    ) / "questions.jsonl"
    home = args.home or Path(tempfile.mkdtemp(prefix="kt-dedup-"))
    engine = Engine(home)
    try:
        ingest_seconds = ingest_unless_present(engine, sorted(pdfs.glob("*.pdf")))
        db = engine.library.catalog.db
        stored = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        within, across = db.execute(
            """SELECT sum(c.doc_id = x.doc_id), sum(c.doc_id != x.doc_id)
               FROM copies x JOIN chunks c ON c.id = x.chunk_id"""
        ).fetchone()
        across_examples = [
            {"stored": f"{r[0]} p.{r[1]}", "copy": f"{r[2]} p.{r[3]}", "text": r[4][:160]}
            for r in db.execute(
                """SELECT dc.name, c.page_start, dx.name, x.page_start, x.text
                   FROM copies x JOIN chunks c ON c.id = x.chunk_id
                   JOIN documents dc ON dc.id = c.doc_id JOIN documents dx ON dx.id = x.doc_id
                   WHERE c.doc_id != x.doc_id ORDER BY dc.name, c.seq"""
            )
        ]
        rows = [(r[0], r[1], r[2]) for r in db.execute("SELECT id, doc_id, text FROM chunks")]
        fuzzy_09 = _fuzzy_pairs(rows, 0.9)
        fuzzy_07 = _fuzzy_pairs(rows, 0.7)
        questions = [
            json.loads(line)
            for line in questions_path.read_text("utf-8").splitlines()
            if line.strip()
        ]
        questions = [q for q in questions if q.get("gold_source")]
        scored = []
        for q in questions:
            hits = hybrid.search(engine.library, q["question"], 5)
            gold = set(q["gold_pages"])

            def covers(
                places: list[tuple[str, range]],
                gold: set[int] = gold,
                src: str = q["gold_source"],
            ) -> bool:
                return any(name == src and gold & set(pages) for name, pages in places)

            scored.append(
                {
                    "id": q["id"],
                    "strict": any(covers(h.places[:1]) for h in hits),
                    "any_place": any(covers(h.places) for h in hits),
                    "top5": [f"{h.doc_name} {h.pages_label}" for h in hits],
                }
            )
        docs = [
            {
                "name": d.name,
                "passages": d.chunks_kept,
                "stored": engine.library.catalog.chunk_count(d.id),
            }
            for d in engine.library.documents()
        ]
    finally:
        engine.close()
    result = {
        "corpus": args.corpus,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": "busy (2 cores shared by ~5 engineers)",
        "cpu": cpu_info(),
        "ingest_seconds": round(ingest_seconds, 1),
        "passages_stored": stored,
        "copies_within_documents": within or 0,
        "copies_across_documents": across or 0,
        "across_examples": across_examples[:20],
        "fuzzy_pairs_jaccard_0.9_left_stored": len(fuzzy_09),
        "fuzzy_pairs_jaccard_0.7_left_stored": len(fuzzy_07),
        "fuzzy_examples": fuzzy_07[:20],
        "hybrid_hit_at_5_strict": f"{sum(r['strict'] for r in scored)}/{len(scored)}",
        "hybrid_hit_at_5_any_place": f"{sum(r['any_place'] for r in scored)}/{len(scored)}",
        "documents": docs,
        "questions": scored,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(args.out.read_text("utf-8")) if args.out.exists() else {}
    merged = merged if "corpus" not in merged else {}  # an older single-corpus file
    merged[args.corpus] = result
    args.out.write_text(json.dumps(merged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        f"stored {stored}; copies within documents {result['copies_within_documents']}, across "
        f"{result['copies_across_documents']}; fuzzy pairs left (>=0.9) {len(fuzzy_09)}, (>=0.7) "
        f"{len(fuzzy_07)}; hybrid hit@5 strict {result['hybrid_hit_at_5_strict']}, any place "
        f"{result['hybrid_hit_at_5_any_place']} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
