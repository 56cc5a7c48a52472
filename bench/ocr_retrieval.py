"""Retrieval on realdocs-dev with OCR: hybrid hit@5 (gold document and page), scanned questions apart.

``.venv/bin/python bench/ocr_retrieval.py [--home DIR]`` adds the 11 realdocs-dev PDFs
to a fresh library (or reuses ``--home`` if it already holds them), then runs the
40 in-library questions through hybrid search (k=5). A question counts as found when
a passage of the gold document covering a gold page is among the five. Also
reported: OCR seconds per page from the ingest (English and Chinese apart, from
the log), pages read by OCR per document. Results: ``bench/results/ocr-retrieval.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ocr import REALDOCS, cpu_info, ingest_unless_present  # noqa: E402
from kidneytalk.engine import Engine  # noqa: E402
from kidneytalk.retrieval import hybrid  # noqa: E402

OUT = REPO / "bench" / "results" / "ocr-retrieval.json"
_OCR_LOG = re.compile(r"p\.(\d+): OCR (\S+), (\d+) characters in ([\d.]+) s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, help="library folder (default: a fresh temporary one)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="kt-ocr-retrieval-"))
    questions_path = REALDOCS.parent / "questions.jsonl"
    engine = Engine(home)
    try:
        ingest_seconds = ingest_unless_present(engine, sorted(REALDOCS.glob("*.pdf")))
        docs = engine.library.documents()
        questions = [
            json.loads(line)
            for line in questions_path.read_text(encoding="utf-8").splitlines()
            if line
        ]
        questions = [q for q in questions if q.get("gold_source")]
        rows = []
        for q in questions:
            hits = hybrid.search(engine.library, q["question"], 5)
            found = any(
                h.doc_name == q["gold_source"]
                and set(range(h.page_start, h.page_end + 1)) & set(q["gold_pages"])
                for h in hits
            )
            rows.append(
                {
                    "id": q["id"],
                    "scanned": "scanned" in q.get("tags", []),
                    "found": found,
                    "top5": [
                        f"{h.doc_name} {h.pages_label}{' (OCR)' if h.ocr else ''}" for h in hits
                    ],
                }
            )
        ocr_pages = []
        log = engine.paths.logs / "kidneytalk.log"
        if log.exists():
            for m in _OCR_LOG.finditer(log.read_text(encoding="utf-8", errors="replace")):
                ocr_pages.append(
                    {
                        "page": int(m.group(1)),
                        "languages": m.group(2),
                        "chars": int(m.group(3)),
                        "seconds": float(m.group(4)),
                    }
                )
    finally:
        engine.close()

    def share(sel: list[dict]) -> str:
        return f"{sum(r['found'] for r in sel)}/{len(sel)}"

    scanned = [r for r in rows if r["scanned"]]
    zh = [p["seconds"] for p in ocr_pages if p["languages"].startswith("chi")]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": "busy",
        "cpu": cpu_info(),
        "mode": "hybrid",
        "k": 5,
        "hit_at_5_all": share(rows),
        "hit_at_5_scanned": share(scanned),
        "ingest_seconds": round(ingest_seconds, 1),
        "ocr_seconds_per_page_chinese": round(sum(zh) / len(zh), 1) if zh else None,
        "ocr_pages": ocr_pages,
        "documents": [
            {"name": d.name, "pages": d.pages, "ocr_pages": d.ocr_pages, "needs_ocr": d.needs_ocr}
            for d in docs
        ],
        "questions": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        f"hybrid hit@5: all {result['hit_at_5_all']}, scanned {result['hit_at_5_scanned']}; "
        f"Chinese OCR {result['ocr_seconds_per_page_chinese']} s/page -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
