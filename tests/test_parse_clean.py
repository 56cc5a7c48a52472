"""Parse and clean stages on real PDFs (shared corpus and PDFs generated here)."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from kidneytalk.clean import clean_document, join_lines
from kidneytalk.errors import DocumentError, UnsupportedFileError
from kidneytalk.parse import parse_file
from tests.conftest import shared_pdf
from tests.fixtures_pdf import write_table_pdf


def all_text(doc) -> str:
    return "\n".join(b.text for p in doc.pages for b in p.blocks)


def test_shared_pdf_pages_and_sections():
    doc = parse_file(shared_pdf(12))
    assert doc.page_count == 5
    assert [p.number for p in doc.pages] == [1, 2, 3, 4, 5]
    headings = [b.text for p in doc.pages for b in p.blocks if b.kind == "heading"]
    assert "PMID 21669959" in headings
    body = [
        b
        for p in doc.pages
        for b in p.blocks
        if b.kind == "text" and b.text.startswith("Introduction:")
    ]
    assert body and body[0].section == ("PMID 21669959",)


def test_clean_removes_running_header_and_page_numbers_but_keeps_headings():
    raw = parse_file(shared_pdf(12))
    assert "Biomedical Abstracts Digest - Volume 12" in all_text(raw)
    cleaned = clean_document(raw)
    text = all_text(cleaned)
    assert "Biomedical Abstracts Digest" not in text
    assert not any(
        b.text.strip().startswith("Page ") and len(b.text) < 12
        for p in cleaned.pages
        for b in p.blocks
    )
    assert "PMID 21669959" in text  # per-article headings are content, not furniture
    # A section continuing over a page break keeps its path on the next page.
    first_on_p2 = cleaned.pages[1].blocks[0]
    assert first_on_p2.section and first_on_p2.section[0].startswith("PMID")


def make_pdf(path: Path, pages: list[list[tuple[str, float, bool]]]) -> Path:
    """Write a PDF; each page is a list of (text, font size, bold) lines."""
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page()
        y = 60
        for text, size, bold in lines:
            page.insert_text((60, y), text, fontsize=size, fontname="hebo" if bold else "helv")
            y += size * 1.8
    doc.save(path)
    doc.close()
    return path


def test_headings_nest_by_font_size(tmp_path: Path):
    body = "Serum potassium should be checked within two weeks of starting treatment."
    pdf = make_pdf(
        tmp_path / "nested.pdf",
        [
            [
                ("Hypertension in CKD", 20, True),
                ("Drug treatment", 14, True),
                (body, 10, False),
                (body, 10, False),
            ],
            [("Monitoring", 14, True), (body, 10, False), (body, 10, False)],
        ],
    )
    doc = parse_file(pdf)
    sections = [b.section for p in doc.pages for b in p.blocks if b.kind == "text"]
    assert sections[0] == ("Hypertension in CKD", "Drug treatment")
    assert sections[-1] == ("Hypertension in CKD", "Monitoring")


def test_table_becomes_markdown(tmp_path: Path):
    path = write_table_pdf(tmp_path / "table.pdf")
    parsed = parse_file(path)
    tables = [b for p in parsed.pages for b in p.blocks if b.kind == "table"]
    assert len(tables) == 1
    md = tables[0].text
    assert "|G3a|45-59|" in md.replace(" ", "")
    # Cells are not duplicated as loose text blocks.
    assert not any(b.kind == "text" and "60-89" in b.text for p in parsed.pages for b in p.blocks)


def test_hyphenation_and_cjk_joining():
    assert join_lines("chronic nephro-\nlogy clinic") == "chronic nephrology clinic"
    assert join_lines("SGLT2-\nInhibitors") == "SGLT2- Inhibitors"  # not a broken lowercase word
    assert join_lines("慢性肾脏病\n的定义") == "慢性肾脏病的定义"
    assert join_lines("eGFR   below\u00a0 60") == "eGFR below 60"


def test_markdown_and_text_files(tmp_path: Path):
    md = tmp_path / "notes.md"
    md.write_text("# Anaemia\n\nIron first.\n\n## Targets\n\nHb 100-115 g/L.\n", encoding="utf-8")
    doc = parse_file(md)
    assert doc.title == "Anaemia"
    texts = [(b.kind, b.section, b.text) for p in doc.pages for b in p.blocks]
    assert ("text", ("Anaemia", "Targets"), "Hb 100-115 g/L.") in texts
    zh = tmp_path / "zh.txt"
    zh.write_text(
        "慢性肾脏病是指肾脏结构或功能异常超过3个月。\n\n估算肾小球滤过率低于60。", encoding="utf-8"
    )
    zdoc = parse_file(zh)
    assert "慢性肾脏病是指肾脏结构或功能异常超过3个月。" in all_text(clean_document(zdoc))


def test_unsupported_and_empty_files_fail_with_file_name(tmp_path: Path):
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x00\x00")
    with pytest.raises(UnsupportedFileError, match="setup.exe"):
        parse_file(exe)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(DocumentError, match="empty.pdf: file is empty"):
        parse_file(empty)


def test_wrapped_lines_are_joined_into_their_paragraph():
    """Some PDFs make each wrapped line a block: "…取得三小段的腎" / "臟組織送檢…"."""
    from kidneytalk.clean import join_wrapped_lines
    from kidneytalk.records import Block

    def line(text: str, x0: float, y0: float, x1: float = 559.0) -> Block:
        box = (x0, y0, x1, y0 + 13.5)
        return Block(text, 1, bbox=box, lines=(box,))

    blocks = [
        line("三、 照護及注意事項", 36, 100, 165),
        line("醫師利用超音波為導引，以穿刺針取得三小段的腎", 91, 120),  # first line, indented
        line("臟組織送檢，進行組織病理學的診斷，進而決定治療", 64, 142),  # back to the margin
        line("方針。", 64, 164, 110),  # ends its sentence, short
        line("病人應多休息", 91, 186, 200),  # stops short of the right edge
        line("三天後可以洗澡。", 64, 208, 180),
        line("(1)如有穿刺部位劇痛、腹部劇痛、臉色蒼白、盜汗、心悸或胸悶等症", 66, 230),
        line("狀，請立即告知醫護人員。", 87, 252, 323),  # hangs under the item's text
        line("(2)請適度喝水，可以促進尿液排泄並幫助觀察尿液顏色與尿量變化", 66, 274),
        line("2. 請多休息：", 50, 296, 150),  # a list item is never a continuation
        line("本衛教單由腎臟科編製", 400, 318),  # right-aligned: not the start of the line below
        line("腎臟切片後請平躺休息六小時", 50, 340, 300),
    ]
    texts = [b.text for b in join_wrapped_lines(blocks)]
    assert texts == [
        "三、 照護及注意事項",
        "醫師利用超音波為導引，以穿刺針取得三小段的腎臟組織送檢，進行組織病理學的診斷，進而決定治療方針。",
        "病人應多休息",
        "三天後可以洗澡。",
        "(1)如有穿刺部位劇痛、腹部劇痛、臉色蒼白、盜汗、心悸或胸悶等症狀，請立即告知醫護人員。",
        "(2)請適度喝水，可以促進尿液排泄並幫助觀察尿液顏色與尿量變化",
        "2. 請多休息：",
        "本衛教單由腎臟科編製",
        "腎臟切片後請平躺休息六小時",
    ]
    # English lines end ragged: joined with a space when the next starts in lower case
    english = [
        line(
            "• Repeat blood tests will need to be checked in 6 to 8 weeks to make sure",
            126,
            120,
            534,
        ),
        line("the prescribed dose is adequate", 144, 137, 320),
        line(
            "o High fiber diet, antacids, calcium, and iron tablets interfere with", 162, 154, 526
        ),
        line("absorption", 180, 171, 241),
        line("o Due to surgery on the thyroid gland", 162, 188, 520),  # a sub-bullet: an item
        line("o Due to radioactive iodine treat-", 162, 205, 525),
        line("ment of an overactive thyroid.", 180, 222, 400),
        line("Thyroid nodules are common.", 72, 239, 300),  # a capital: a new sentence
    ]
    assert [b.text for b in join_wrapped_lines(english)] == [
        "• Repeat blood tests will need to be checked in 6 to 8 weeks to make sure the prescribed "
        "dose is adequate",
        "o High fiber diet, antacids, calcium, and iron tablets interfere with absorption",
        "o Due to surgery on the thyroid gland",
        "o Due to radioactive iodine treatment of an overactive thyroid.",
        "Thyroid nodules are common.",
    ]


def test_real_leaflet_and_booklet_paragraphs_are_whole():
    from tests.conftest import SHARED

    leaflet = (
        SHARED / "eval" / "realdocs-dev" / "pdfs" / "zh-TW_leaflet_EDA_kidney-biopsy-aftercare.pdf"
    )
    if not leaflet.is_file():
        pytest.skip("realdocs-dev not found")
    blocks = [b.text for p in clean_document(parse_file(leaflet)).pages for b in p.blocks]
    assert any("三小段的腎臟組織送檢" in t for t in blocks)
    assert any("顛簸路面上騎車、不要游泳" in t for t in blocks)
    assert "三、 照護及注意事項" in blocks  # headings stay apart
    booklet = leaflet.with_name("en_booklet_thyroid-disorders.pdf")  # from Word: a block per line
    blocks = [b.text for p in clean_document(parse_file(booklet)).pages for b in p.blocks]
    assert any(
        "checked in 6 to 8 weeks to make sure the prescribed dose is adequate" in t for t in blocks
    )
    assert any(t.startswith("o Due to surgery") for t in blocks)  # sub-bullets stay items


def _ocr_line(text: str, size: float, y: float) -> dict:
    return {
        "bbox": (60.0, y, 500.0, y + 20.0),
        "spans": [{"text": text, "size": size, "flags": 0, "font": "GlyphLessFont"}],
    }


def test_ocr_lines_are_one_paragraph_until_a_list_item_and_never_a_heading(tmp_path):
    """OCR text has no font: MuPDF's sizes for its lines come from their boxes (here 29.5, 16.5,
    26.3 points in one paragraph of a scanned leaflet), so they must not split it or make headings."""
    from kidneytalk import parse

    block = {
        "lines": [
            _ocr_line("血液透析即俗稱的洗腎，經醫師確立診斷腎功能", 29.5, 100),
            _ocr_line("衰竭，需行透析治療來取代腎臟功能，", 16.5, 122),
            _ocr_line("將多餘的水份及廢物排出。", 26.3, 144),
            _ocr_line("2.不可以用患肢手臂掛重物。", 8.6, 166),
            _ocr_line("3.不可抓動靜脈廔管上之皮膚。", 33.8, 188),
        ]
    }
    runs = parse._ocr_runs(block)
    assert [r["text"].split("\n")[0][:4] for r in runs] == ["血液透析", "2.不可", "3.不可"]
    assert runs[0]["text"].count("\n") == 2 and len(runs[0]["lines"]) == 3
    assert all(r["ocr"] for r in runs)
    # By style, each line had been a paragraph of its own.
    assert len(parse._style_runs(block)) == 5
    # An OCR run is never a heading, and its sizes do not change the body text's size.
    pages = parse._SpilledPages("leaflet.pdf", None)
    pages.add(runs, True, (595.0, 842.0))
    pages.finish()
    assert [b.kind for page in pages for b in page.blocks] == ["text"] * 3
    pages.close()
