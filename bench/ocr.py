"""OCR engine benchmark: seconds per page and character accuracy, English and Chinese.

Engines compared (``.venv/bin/python bench/ocr.py [--rapid-path DIR] [--dpi 200 300]``):

* **tesseract** — Tesseract 5 from the Debian packages (``tesseract-ocr``,
  ``tesseract-ocr-chi-sim``, ``-chi-tra``, ``-eng``) through PyMuPDF's
  ``Page.get_textpage_ocr(full=True)``, with several language settings;
* **tesseract-grey** — the same Tesseract as KidneyTalk reads a page
  (``kidneytalk.ocr._ocr_text``): from a grey rendering of the page;
* **rapidocr** — ``rapidocr-onnxruntime`` 1.4.4, whose PP-OCRv4 models ship inside
  its PyPI wheel (no download). It is not a KidneyTalk dependency: install it
  somewhere (``pip install --target DIR rapidocr-onnxruntime==1.4.4 ...``) and
  pass ``--rapid-path DIR``; without it the engine is reported as absent.

Pages:

* Chinese: the two scanned realdocs-dev leaflets (``../shared/eval/realdocs-dev``),
  scored against the hand-checked lines in ``bench/ocr_reference.json``;
* English: two realdocs-dev pages with a text layer rasterised at 150 dpi
  (grey) into an image-only PDF, scored against their own text layer.

Character accuracy of a reference line = 1 - edit distance to the best-matching
stretch of the OCR text / line length (so reading order and layout do not
count, misread, missing and extra characters do); the page score weights lines
by length. Chinese is compared without whitespace, English with runs of
whitespace as one space (a missing space between words is an error). Both
sides are NFKC-normalised (full-width punctuation, ligatures).

Results: ``bench/results/ocr.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf

REPO = Path(__file__).resolve().parents[1]
REALDOCS = next(
    (
        base / "shared" / "eval" / "realdocs-dev" / "pdfs"
        for base in (REPO.parent, REPO.parent.parent)
        if (base / "shared" / "eval" / "realdocs-dev").exists()
    ),
    REPO.parent / "shared" / "eval" / "realdocs-dev" / "pdfs",
)
sys.path.insert(0, str(REPO))  # this checkout's kidneytalk, for the tesseract-grey row
REFERENCE = Path(__file__).with_name("ocr_reference.json")
RESULTS = REPO / "bench" / "results" / "ocr.json"

ENGLISH_PAGES = [
    ("en_booklet_thyroid-disorders.pdf", 2),
    ("en_journal_BMC-HSR2014_Malawi-quality-improvement.pdf", 2),
]
SCAN_DPI = 150  # the English pages are "scanned" at this resolution
TESSERACT_LANGS = {
    "zh": ["chi_tra+chi_sim", "chi_tra+chi_sim+eng", "chi_tra+eng", "chi_sim+eng"],
    "en": ["eng", "chi_tra+chi_sim+eng"],
}


def ingest_unless_present(engine: Any, pdfs: list[Path]) -> float:
    """Add ``pdfs`` to an empty library (printing each result); seconds taken, 0.0 when it had documents."""
    if engine.library.documents():
        return 0.0
    started = time.perf_counter()
    for r in engine.add(pdfs):
        print(r.status, r.message, flush=True)
    return time.perf_counter() - started


def cpu_info() -> dict[str, object]:
    """CPU model, cores and speed-relevant flags (the app's own probe)."""
    from kidneytalk.cpu import cpu_summary

    return cpu_summary()


def normalise(text: str, *, keep_spaces: bool) -> str:
    text = unicodedata.normalize("NFKC", text)
    if keep_spaces:
        return re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+", "", text)


def best_match_distance(needle: str, hay: str) -> int:
    """Edit distance from ``needle`` to its best-matching substring of ``hay`` (semi-global)."""
    if not needle:
        return 0
    if not hay:
        return len(needle)
    hay_arr = np.frombuffer(hay.encode("utf-32-le"), dtype=np.uint32)
    prev = np.zeros(len(hay) + 1, dtype=np.int32)  # free start anywhere in hay
    idx = np.arange(len(hay) + 1, dtype=np.int32)
    for i, ch in enumerate(needle, start=1):
        cost = (hay_arr != ord(ch)).astype(np.int32)
        tmp = np.empty_like(prev)
        tmp[0] = i
        tmp[1:] = np.minimum(prev[:-1] + cost, prev[1:] + 1)
        prev = np.minimum.accumulate(tmp - idx) + idx  # insertions along the row
    return int(prev.min())


def accuracy(lines: list[str], text: str, *, keep_spaces: bool) -> dict[str, Any]:
    hay = normalise(text, keep_spaces=keep_spaces)
    total = errors = 0
    for line in lines:
        ref = normalise(line, keep_spaces=keep_spaces)
        if not ref:
            continue
        d = min(best_match_distance(ref, hay), len(ref))
        total += len(ref)
        errors += d
    return {
        "ref_chars": total,
        "errors": errors,
        "char_accuracy": round(1 - errors / total, 4) if total else None,
    }


def english_pages(tmp: Path) -> list[dict[str, Any]]:
    """Rasterise text-layer pages into image-only PDFs; reference = their own text lines."""
    out = []
    for name, number in ENGLISH_PAGES:
        src = REALDOCS / name
        with pymupdf.open(src) as doc:
            page = doc[number - 1]
            lines = [ln for ln in page.get_text().splitlines() if len(ln.strip()) >= 3]
            pix = page.get_pixmap(dpi=SCAN_DPI, colorspace=pymupdf.csGRAY)
            scan = pymupdf.open()
            new = scan.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, stream=pix.tobytes("png"))
            path = tmp / f"scan-{src.stem}-p{number}.pdf"
            scan.save(path)
            scan.close()
        out.append(
            {
                "file": name,
                "page": number,
                "path": path,
                "pdf_page": 1,
                "lines": lines,
                "lang": "en",
            }
        )
    return out


def chinese_pages() -> list[dict[str, Any]]:
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return [
        {
            "file": p["file"],
            "page": p["page"],
            "path": REALDOCS / p["file"],
            "pdf_page": p["page"],
            "lines": p["lines"],
            "lang": "zh",
        }
        for p in ref["pages"]
    ]


def run_tesseract(path: Path, number: int, dpi: int, language: str) -> tuple[str, float]:
    with pymupdf.open(path) as doc:
        page = doc[number - 1]
        start = time.perf_counter()
        tp = page.get_textpage_ocr(language=language, dpi=dpi, full=True)
        text = page.get_text(textpage=tp)
        return text, time.perf_counter() - start


def run_kidneytalk(path: Path, number: int, dpi: int, language: str) -> tuple[str, float]:
    """The app's own read (``kidneytalk.ocr._ocr_text``: Tesseract on a grey rendering)."""
    from kidneytalk import ocr

    with pymupdf.open(path) as doc:
        page = doc[number - 1]
        start = time.perf_counter()
        data, _words = ocr._ocr_text(page, language, dpi, None)
        lines = [
            ocr._line_text(ln) for b in data["blocks"] if b.get("type") == 0 for ln in b["lines"]
        ]
        return "\n".join(lines), time.perf_counter() - start


class Rapid:
    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-not-found]

        self.engine = RapidOCR()

    def __call__(self, path: Path, number: int, dpi: int) -> tuple[str, float]:
        with pymupdf.open(path) as doc:
            page = doc[number - 1]
            start = time.perf_counter()
            pix = page.get_pixmap(dpi=dpi, alpha=False, colorspace=pymupdf.csRGB)
            img = (
                np.frombuffer(pix.samples, dtype=np.uint8)
                .reshape(pix.height, pix.width, 3)[:, :, ::-1]
                .copy()
            )
            result, _ = self.engine(img)
            text = "\n".join(r[1] for r in result or [])
            return text, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--rapid-path", help="folder where rapidocr-onnxruntime and its dependencies are installed"
    )
    ap.add_argument("--dpi", type=int, nargs="+", default=[200, 300])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--langs", nargs="+", help="only these Tesseract language settings")
    ap.add_argument("--no-rapid", action="store_true", help="leave RapidOCR out")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs already in --out that this invocation does not repeat",
    )
    args = ap.parse_args()
    if not REALDOCS.exists():
        print(f"realdocs-dev not found at {REALDOCS}", file=sys.stderr)
        return 1
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="kt-ocr-bench-"))
    pages = chinese_pages() + english_pages(tmp)
    rapid: Rapid | None = None
    rapid_note = ""
    if args.rapid_path:
        sys.path.insert(0, args.rapid_path)
    if not args.no_rapid:
        try:
            rapid = Rapid()
        except Exception as exc:  # absent or broken: reported, not fatal
            rapid_note = f"not available: {type(exc).__name__}: {exc}"
    try:
        tess_version = subprocess.run(
            ["tesseract", "--version"], capture_output=True, text=True
        ).stdout.split("\n")[0]
    except OSError:
        tess_version = "absent"

    runs: list[dict[str, Any]] = []
    for dpi in args.dpi:
        for pg in pages:
            keep = pg["lang"] == "en"
            configs: list[tuple[str, str]] = [
                (engine, lang)
                for lang in TESSERACT_LANGS[pg["lang"]]
                if not args.langs or lang in args.langs
                for engine in ("tesseract", "tesseract-grey")
            ]
            if rapid is not None:
                configs.append(("rapidocr", "ch (PP-OCRv4)"))
            for engine, lang in configs:
                if engine == "tesseract":
                    text, secs = run_tesseract(pg["path"], pg["pdf_page"], dpi, lang)
                elif engine == "tesseract-grey":
                    text, secs = run_kidneytalk(pg["path"], pg["pdf_page"], dpi, lang)
                else:
                    assert rapid is not None
                    text, secs = rapid(pg["path"], pg["pdf_page"], dpi)
                acc = accuracy(pg["lines"], text, keep_spaces=keep)
                row = {
                    "engine": engine,
                    "languages": lang,
                    "dpi": dpi,
                    "lang": pg["lang"],
                    "file": pg["file"],
                    "page": pg["page"],
                    "seconds": round(secs, 2),
                    "ocr_chars": len(normalise(text, keep_spaces=False)),
                    **acc,
                }
                runs.append(row)
                print(
                    f"{engine:14s} {lang:22s} {dpi} {pg['lang']} {pg['file'][:40]:40s} p{pg['page']} "
                    f"{secs:6.1f} s  acc {acc['char_accuracy']}",
                    flush=True,
                )

    previous: dict[str, Any] = {}
    if args.merge and args.out.exists():
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        redone = {(r["engine"], r["languages"], r["dpi"], r["file"], r["page"]) for r in runs}
        runs = [
            r
            for r in previous.get("runs", [])
            if (r["engine"], r["languages"], r["dpi"], r["file"], r["page"]) not in redone
        ] + runs
    summary: list[dict[str, Any]] = []
    keys = sorted({(r["engine"], r["languages"], r["dpi"], r["lang"]) for r in runs})
    for engine, lang, dpi, group in keys:
        rows = [
            r
            for r in runs
            if (r["engine"], r["languages"], r["dpi"], r["lang"]) == (engine, lang, dpi, group)
        ]
        ref = sum(r["ref_chars"] for r in rows)
        err = sum(r["errors"] for r in rows)
        summary.append(
            {
                "engine": engine,
                "languages": lang,
                "dpi": dpi,
                "pages_lang": group,
                "pages": len(rows),
                "seconds_per_page": round(sum(r["seconds"] for r in rows) / len(rows), 2),
                "char_accuracy": round(1 - err / ref, 4) if ref else None,
            }
        )
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": "busy",
        "note": "2 cores shared with other engineers' jobs: timings are indicative, not quiet-machine numbers",
        "cpu": cpu_info(),
        "python": platform.python_version(),
        "pymupdf": pymupdf.VersionBind,
        "tesseract": tess_version,
        "rapidocr": "rapidocr-onnxruntime 1.4.4"
        if rapid is not None
        else previous.get("rapidocr", rapid_note)
        if args.no_rapid
        else rapid_note,
        "english_scan_dpi": SCAN_DPI,
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print()
    for s in summary:
        print(
            f"{s['engine']:14s} {s['languages']:22s} {s['dpi']} {s['pages_lang']}: "
            f"{s['seconds_per_page']:6.1f} s/page  char accuracy {s['char_accuracy']}"
        )
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
