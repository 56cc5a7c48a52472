"""OCR of scanned pages: which pages, the text and its positions, catalog flags, failure, cancel.

Real Tesseract (Debian language files, through PyMuPDF) on PDFs generated here:
a text page rasterised into an image-only PDF, and a page whose text layer is
fragments over a picture of the text. The scanned realdocs-dev leaflets are
read when ``../shared`` is there (slow: Chinese OCR).
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import threading
import unicodedata
from pathlib import Path

import pymupdf
import pytest

from kidneytalk import ocr
from kidneytalk.catalog import SCHEMA_VERSION, Catalog
from kidneytalk.library import describe_status
from kidneytalk.parse import parse_file
from kidneytalk.records import ProgressEvent
from tests.conftest import SHARED
from tests.fixtures_pdf import (
    MARGIN,
    PAGE_H,
    PAGE_W,
    body_paragraph,
    library_problems,
    write_text_pdf,
)

# ../shared beside the repository (CI); one more level up from a git worktree under wt/
REALDOCS = SHARED / "eval" / "realdocs-dev" / "pdfs"
SCAN_SENTENCE = "Peritoneal dialysis exchanges should be done four times a day with clean hands."

needs_tesseract = pytest.mark.skipif(
    not ocr.status().available, reason="Tesseract language data not installed"
)


def _text_page_png(text: str, dpi: int = 150) -> bytes:
    src = pymupdf.open()
    page = src.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_textbox(
        pymupdf.Rect(MARGIN, MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN),
        text,
        fontsize=12,
        fontname="helv",
    )
    png = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY).tobytes("png")
    src.close()
    return png


def write_image_only_pdf(path: Path, *, pages: int = 1, topic: str = "home dialysis") -> Path:
    """Each page: a generated text page rendered to a picture, inserted as the only content (a scan)."""
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        text = f"Scanned leaflet page {n}\n\n{SCAN_SENTENCE}\n\n" + "\n\n".join(
            body_paragraph(topic, n, p) for p in range(2)
        )
        out = doc.new_page(width=PAGE_W, height=PAGE_H)
        out.insert_image(out.rect, stream=_text_page_png(text))
    doc.save(str(path))
    doc.close()
    return path


def write_garbage_layer_pdf(path: Path) -> Path:
    """A picture of the text plus a text layer of the same letters scattered one by one at odd angles."""
    text = f"{SCAN_SENTENCE}\n\n{body_paragraph('curved text', 1, 0)}"
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_image(page.rect, stream=_text_page_png(text))
    centre = pymupdf.Point(PAGE_W / 2, PAGE_H - 150)
    for i, ch in enumerate(text[:160]):
        angle = 20 + (i * 7) % 140
        point = centre + (120 * math.cos(math.radians(angle)), -120 * math.sin(math.radians(angle)))
        page.insert_text(point, ch, fontsize=6, morph=(point, pymupdf.Matrix(angle)), render_mode=3)
    doc.save(str(path))
    doc.close()
    return path


# ---------------------------------------------------------------- which pages (fast)


def test_score_tells_text_pages_from_scans_and_garbage(tmp_path: Path):
    text_pdf = write_text_pdf(tmp_path / "text.pdf", pages=1)
    scan_pdf = write_image_only_pdf(tmp_path / "scan.pdf")
    garbage_pdf = write_garbage_layer_pdf(tmp_path / "garbage.pdf")
    with pymupdf.open(text_pdf) as d:
        text = ocr.text_layer_score(d[0])
    with pymupdf.open(scan_pdf) as d:
        scan = ocr.text_layer_score(d[0])
    with pymupdf.open(garbage_pdf) as d:
        garbage = ocr.text_layer_score(d[0])
    assert not text.needs_ocr and text.garbage < 0.1, text
    assert (
        scan.needs_ocr
        and scan.chars == 0
        and scan.image_cover > 0.9
        and scan.reason == "no text layer"
    )
    assert garbage.chars > 100 and garbage.needs_ocr, garbage
    assert "unusable text layer" in garbage.reason


def test_line_counts_match_the_character_by_character_definition():
    """The fast line count (C string methods for ASCII) counts what the per-character rule does:
    visible = not str.isspace, invalid = replacement, private-use, unassigned, surrogate or
    control characters other than tab and newlines."""

    def by_char(line: str) -> tuple[int, int, bool]:
        visible = [ch for ch in line if not ch.isspace()]
        bad = 0
        for ch in visible:
            cat = unicodedata.category(ch)
            bad += ch == "\ufffd" or cat in ("Co", "Cn", "Cs") or cat == "Cc"
        return len(visible), bad, any(ch.isalpha() for ch in visible)

    every = [chr(i) for i in range(0x3000)] + [chr(i) for i in range(0xD000, 0x10000)]
    every += ["\U000f0001", "\U0010fffd", "\U0001f600", "\U000e0001"]
    for ch in every:
        assert ocr._visible_stats(ch) == by_char(ch), hex(ord(ch))
    rnd = random.Random(7)
    mixed = [
        *"ab1 ,\t\x1c\x85\u00a0\u3000",
        "\x00",
        "\x1b",
        "\x7f",
        "\x9f",
        "\ufffd",
        "\ue000",
        "腎",
        "\u0378",
    ]
    for _ in range(5000):
        line = "".join(rnd.choice(mixed) for _ in range(rnd.randint(0, 9)))
        assert ocr._visible_stats(line) == by_char(line), repr(line)
    assert ocr._visible_stats("eGFR \x01 < 30") == (8, 1, True)


def test_score_flags_no_page_with_a_real_text_layer_in_the_shared_pdfs():
    """Per page, not per file: the journals, infographics (number runs) and Chinese leaflets keep their text."""
    if not REALDOCS.exists():
        pytest.skip("realdocs-dev not found")
    flagged, scanned = [], []
    pdfs = (
        sorted(REALDOCS.glob("*.pdf"))
        + sorted((SHARED / "eval" / "pubmedqa-dev" / "corpus").glob("*.pdf"))[:10]
    )
    for pdf in pdfs:
        with pymupdf.open(pdf) as doc:
            for page in doc:
                if ocr.text_layer_score(page).needs_ocr:
                    (scanned if "SCANNED" in pdf.name else flagged).append(
                        f"{pdf.name} p.{page.number + 1}"
                    )
    assert flagged == []
    assert len(scanned) == 4  # both pages of both scanned leaflets


def test_find_rects_marks_the_words_of_a_passage_line_by_line():
    words = [
        (10, 10, 40, 20, "Peritoneal"),
        (42, 10, 80, 20, "dialysis"),
        (82, 10, 120, 20, "exchanges"),
        (10, 30, 40, 40, "should"),
        (42, 30, 60, 40, "be"),
        (62, 30, 90, 40, "done."),
        (10, 50, 40, 60, "Unrelated"),
        (42, 50, 80, 60, "footer"),
    ]
    rects = ocr.find_rects(words, "peritoneal dialysis-exchanges should be done")
    assert [tuple(r) for r in rects] == [(10, 10, 120, 20), (10, 30, 90, 40)]
    assert ocr.find_rects(words, "nothing of the kind here") == []
    # Chinese: OCR gives single characters or short runs; cleaning may have added or removed spaces
    zh = [
        (0, 0, 10, 10, "血"),
        (10, 0, 20, 10, "液透"),
        (20, 0, 30, 10, "析"),
        (30, 0, 40, 10, "即"),
        (0, 20, 10, 30, "俗稱"),
        (10, 20, 20, 30, "的洗腎"),
    ]
    assert len(ocr.find_rects(zh, "血液透析即俗稱的洗腎", min_chars=4)) == 2


def test_old_catalogs_are_migrated_to_the_ocr_columns(tmp_path: Path):
    path = tmp_path / "catalog.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE documents (id TEXT PRIMARY KEY, name TEXT NOT NULL, original_path TEXT NOT NULL,
            stored_path TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
            title TEXT NOT NULL DEFAULT '', pages INTEGER NOT NULL DEFAULT 0,
            scanned_pages INTEGER NOT NULL DEFAULT 0, needs_ocr INTEGER NOT NULL DEFAULT 0,
            chunks_kept INTEGER NOT NULL DEFAULT 0, chunks_dropped INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL, updated_at TEXT NOT NULL, status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '', enabled INTEGER NOT NULL DEFAULT 1,
            embed_model TEXT NOT NULL DEFAULT '', chunk_settings TEXT NOT NULL DEFAULT '{}',
            filter_agent INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE chunks (id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL,
            page_start INTEGER NOT NULL, page_end INTEGER NOT NULL, section TEXT NOT NULL,
            char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, n_tokens INTEGER NOT NULL);
        INSERT INTO documents(id, name, original_path, stored_path, sha256, size, pages, scanned_pages, needs_ocr,
            added_at, updated_at, status, reason)
            VALUES ('abc123', 'scan.pdf', '/x/scan.pdf', '/y/abc123.pdf', 'ff', 10, 2, 2, 1, 't', 't', 'ready',
                    'needs OCR: some pages are scanned images without text');
        INSERT INTO chunks VALUES ('abc123:00000', 'abc123', 0, 'old text', 1, 1, '[]', 0, 8, 2);
    """)
    db.commit()
    db.close()
    cat = Catalog(path)
    try:
        [doc] = cat.documents()
        assert doc.needs_ocr and doc.ocr_pages == 0 and doc.to_json()["ocr_pages"] == 0
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)  # brought up to date
        assert cat.chunks_by_ids(["abc123:00000"])["abc123:00000"]["ocr"] == 0
        assert "needs OCR" in describe_status(doc)[0]
    finally:
        cat.close()
    Catalog(path).close()  # opening again is a no-op


# ---------------------------------------------------------------- real OCR


@needs_tesseract
def test_image_only_pdf_is_read_by_ocr_searchable_flagged_and_highlightable(engine, tmp_path: Path):
    scan = write_image_only_pdf(tmp_path / "scanned-leaflet.pdf")
    events: list[ProgressEvent] = []
    [res] = engine.add([scan], progress=events.append)
    assert res.status == "added" and res.chunks_kept >= 1, res.message
    assert "1 scanned pages read by OCR" in res.message
    assert any(
        e.stage == "ocr" and e.file == "scanned-leaflet.pdf" and "page 1 of 1" in e.message
        for e in events
    )
    [doc] = engine.library.documents()
    assert doc.ocr_pages == 1 and not doc.needs_ocr and doc.scanned_pages == 0
    assert describe_status(doc)[0] == "ready · 1 of 1 pages read by OCR"
    hits = engine.search("how often are peritoneal dialysis exchanges done", 3)
    assert hits and hits[0].doc_id == doc.id and hits[0].ocr
    assert "four times a day" in " ".join(hits[0].text.split())
    assert hits[0].to_json()["ocr"] is True
    # the words keep their positions: the passage is found on the page image
    words = ocr.load_words(doc.stored_path)
    assert list(words) == [1]
    rects = ocr.find_rects(words[1], hits[0].text)
    assert rects and all(pymupdf.Rect(0, 0, PAGE_W, PAGE_H).contains(r) for r in rects)
    sentence = next(r for r in ocr.find_rects(words[1], SCAN_SENTENCE))
    assert MARGIN - 10 < sentence.x0 < MARGIN + 30 and sentence.y0 < PAGE_H / 3
    assert library_problems(engine.library) == []
    engine.library.remove(doc.id)
    assert not ocr.words_path(doc.stored_path).exists()


@needs_tesseract
def test_page_with_a_garbage_text_layer_is_read_again_by_ocr(tmp_path: Path):
    pdf = write_garbage_layer_pdf(tmp_path / "curved.pdf")
    runner = ocr.DocumentOcr(file=pdf.name)
    parsed = parse_file(pdf, ocr=runner)
    assert parsed.ocr_pages == [1]
    text = " ".join(b.text for p in parsed.pages for b in p.blocks)
    assert "four times a day" in " ".join(text.split())


def test_missing_engine_marks_the_document_and_the_batch_goes_on_then_reindex_reads_it(
    engine, tmp_path: Path, monkeypatch
):
    scan = write_image_only_pdf(tmp_path / "a-scan.pdf", pages=2)
    text = write_text_pdf(tmp_path / "b-text.pdf", pages=1)
    monkeypatch.setenv(ocr.ENV_SWITCH, "missing")
    results = engine.add([scan, text])
    assert [r.status for r in results] == ["added", "added"], [r.message for r in results]
    assert "OCR is not installed" in results[0].message and "tesseract-ocr" in results[0].message
    doc = engine.library.resolve("a-scan.pdf")
    assert doc.needs_ocr and doc.scanned_pages == 2 and doc.ocr_pages == 0
    assert "OCR is not installed" in doc.reason
    label = describe_status(doc)[0]
    assert label.startswith("ready · needs OCR (2 of 2 pages") and "tesseract-ocr" in label
    assert library_problems(engine.library) == []
    monkeypatch.delenv(ocr.ENV_SWITCH)
    if not ocr.status().available:
        return  # no Tesseract on this machine: the first half is what it can check
    [again] = engine.library.reindex([doc.id])
    assert again.status == "added", again.message
    doc = engine.library.resolve("a-scan.pdf")
    assert not doc.needs_ocr and doc.ocr_pages == 2 and doc.chunks_kept >= 1 and doc.reason == ""
    assert library_problems(engine.library) == []


@needs_tesseract
def test_cancel_during_ocr_keeps_nothing_and_stops_between_pages(engine, tmp_path: Path):
    scan = write_image_only_pdf(tmp_path / "long-scan.pdf", pages=4)
    cancel = threading.Event()
    pages_started: list[str] = []

    def on_progress(event: ProgressEvent) -> None:
        if event.stage == "ocr":
            pages_started.append(event.message)
            cancel.set()  # the page being read finishes, no other starts

    [res] = engine.add([scan], progress=on_progress, cancel=cancel)
    assert res.status == "cancelled"
    assert len(pages_started) == 1
    assert engine.library.documents() == []
    assert library_problems(engine.library) == []


@pytest.mark.slow
@needs_tesseract
def test_scanned_realdocs_leaflets_yield_text_on_every_page(engine):
    if not REALDOCS.exists():
        pytest.skip("realdocs-dev not found")
    files = sorted(REALDOCS.glob("*SCANNED*.pdf"))
    assert len(files) == 2
    results = engine.add(files)
    assert [r.status for r in results] == ["added", "added"], [r.message for r in results]
    for doc in engine.library.documents():
        assert doc.ocr_pages == 2 and not doc.needs_ocr, doc
        words = ocr.load_words(doc.stored_path)
        assert sorted(words) == [1, 2]
        for number, page_words in words.items():
            chinese = sum(1 for w in page_words for ch in w[4] if "\u4e00" <= ch <= "\u9fff")
            assert chinese >= 30, (doc.name, number, chinese)
    hemo = engine.library.resolve("zh-TW_leaflet-SCANNED_EDA_hemodialysis.pdf")
    rows = engine.library.catalog.db.execute(
        "SELECT text, ocr, page_start FROM chunks WHERE doc_id=?", (hemo.id,)
    ).fetchall()
    assert all(r["ocr"] == 1 for r in rows)
    body = "".join("".join(r["text"].split()) for r in rows if r["page_start"] <= 2)
    assert "血液透析" in body and "透析治療" in body
    # Read from a grey rendering of the scan; from the colour one Tesseract read 洗腎 as 洗醫.
    assert "俗稱的洗腎" in body
    hits = engine.search("血液透析 動靜脈 手術後 注意事項", 5)
    assert any(
        h.doc_id == hemo.id and 2 in range(h.page_start, h.page_end + 1) and h.ocr for h in hits
    )
    assert json.loads(json.dumps([h.to_json() for h in hits]))[0]["ocr"] in (True, False)


SIMPLIFIED = "慢性肾脏病患者应当定期检查肾功能和尿蛋白。\n\n血液透析患者每周透析三次，每次四小时。"
TRADITIONAL = "慢性腎臟病患者應當定期檢查腎功能和尿蛋白。\n\n血液透析患者每週透析三次，每次四小時。"


@needs_tesseract
def test_simplified_and_traditional_chinese_scans_are_read_in_their_own_script(tmp_path: Path):
    doc = pymupdf.open()
    for text, font in ((SIMPLIFIED, "china-s"), (TRADITIONAL, "china-t")):
        src = pymupdf.open()
        page = src.new_page(width=PAGE_W, height=PAGE_H)
        page.insert_textbox(
            pymupdf.Rect(MARGIN, MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN),
            text,
            fontsize=14,
            fontname=font,
        )
        png = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY).tobytes("png")
        src.close()
        out = doc.new_page(width=PAGE_W, height=PAGE_H)
        out.insert_image(out.rect, stream=png)
    pdf = tmp_path / "zh-scan.pdf"
    doc.save(str(pdf))
    doc.close()
    runner = ocr.DocumentOcr(file=pdf.name)
    parsed = parse_file(pdf, ocr=runner)
    assert parsed.ocr_pages == [1, 2]
    assert all(p.languages == ocr.CHINESE for p in runner.pages.values())
    simplified, traditional = (
        "".join("".join(b.text.split()) for b in p.blocks) for p in parsed.pages
    )
    assert "血液透析患者每周透析三次" in simplified and "定期检查肾功能" in simplified
    assert "血液透析患者每週透析三次" in traditional and "定期檢查腎功能" in traditional


def test_stroke_runs_from_a_scanned_border_are_cut_and_the_text_beside_them_kept():
    from kidneytalk.ocr import _line_text, _without_strokes

    line = {"spans": [{"text": "InlHlHIIHIHIIHIHIHIHIIHI 高雄市燕巢區 Illinois"}]}
    assert _line_text(_without_strokes(line)) == "In 高雄市燕巢區 Illinois"
    plain = {"spans": [{"text": "Hill 1 of 11"}]}
    assert _without_strokes(plain) is plain
