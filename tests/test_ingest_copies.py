"""Repeated passages are stored once at ingest and remembered as "also in" (issue 17).

A document that repeats a passage (a notice on every page, one word repeated
through a whole file) stores it once: one vector and one catalog passage; the
other places are kept in the catalog, and a search result for it names them.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

from kidneytalk.chunk import collapse_copies, copy_key
from kidneytalk.engine import Engine
from kidneytalk.records import Chunk
from tests.fixtures_pdf import body_paragraph, library_problems

NOTICE = (
    "Safety notice on contrast media: iodinated contrast can cause acute kidney injury in people "
    "with an eGFR below 30, so hydration with isotonic saline before and after the procedure is advised "
    "and metformin is paused for 48 hours."
)


def _chunk(seq: int, text: str, page: int = 1) -> Chunk:
    return Chunk("doc", seq, text, page, page)


def test_passages_with_the_same_words_are_copies_and_others_are_not() -> None:
    chunks = [
        _chunk(0, "Metformin is stopped below an eGFR of 30."),
        _chunk(1, "Dietary protein is 0.8 g/kg/day."),
        _chunk(2, "metformin is STOPPED below an eGFR of 30 !", page=4),  # case and punctuation
        _chunk(3, "Metformin is stopped below an eGFR of 45."),  # another number: another fact
        _chunk(4, "Metformin is stopped below an eGFR of 30.", page=7),
        _chunk(5, "· · ·"),  # no words: never a copy
        _chunk(6, "— —"),
    ]
    kept, copies = collapse_copies(chunks)
    assert [c.seq for c in kept] == [0, 1, 3, 5, 6]
    assert [(first, c.seq) for first, c in copies] == [("doc:00000", 2), ("doc:00000", 4)]
    assert copy_key("A-b  C.") == copy_key("a b c")


def _notice_pdf(path: Path, pages: int = 5) -> Path:
    """Each page: its own section of distinct text, then the same notice as a section of its own."""
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page()
        page.insert_text((56, 70), f"{n}. Treatment step {n}", fontsize=15, fontname="hebo")
        text = body_paragraph(f"step {n} of anaemia care", n, 0)
        page.insert_textbox(pymupdf.Rect(56, 90, 540, 300), text, fontsize=10, fontname="helv")
        page.insert_text((56, 340), f"{n}.1 Contrast notice", fontsize=15, fontname="hebo")
        page.insert_textbox(pymupdf.Rect(56, 360, 540, 560), NOTICE, fontsize=10, fontname="helv")
    doc.save(path)
    doc.close()
    return path


def test_a_notice_on_every_page_is_stored_once_and_its_result_names_the_other_pages(
    engine: Engine, tmp_path: Path
) -> None:
    [res] = engine.add([_notice_pdf(tmp_path / "anaemia.pdf")])
    assert res.status == "added" and "4 repeated passages stored once" in res.message, res.message
    lib = engine.library
    texts = [r[0] for r in lib.catalog.db.execute("SELECT text FROM chunks")]
    assert sum(copy_key(NOTICE) in copy_key(t) for t in texts) == 1
    assert library_problems(lib) == []  # one vector per stored passage, as before
    [hit] = [h for h in engine.search("contrast media hydration saline", k=3) if "notice" in h.text]
    assert hit.page_start == 1
    assert hit.also_in == [f"anaemia.pdf p.{n}" for n in range(2, 6)]
    assert hit.to_json()["also_in"] == hit.also_in
    lib.remove(res.doc_id)
    assert lib.catalog.db.execute("SELECT count(*) FROM copies").fetchone()[0] == 0


def test_one_word_repeated_through_a_file_becomes_one_passage(
    engine: Engine, tmp_path: Path
) -> None:
    """The issue's document: 10,000 x "albuminuria" made about 200 identical passages; now a few."""
    path = tmp_path / "albuminuria.txt"
    path.write_text(("albuminuria " * 10_000).strip() + "\n", encoding="utf-8")
    [res] = engine.add([path])
    assert res.status == "added", res.message
    # the repeated window, and the few of other lengths (the first windows, the last one)
    assert res.chunks_kept <= 4 and "repeated passages stored once" in res.message, res.message
    copies = int(res.message.split("; ")[-1].split()[0])
    assert copies >= 150, res.message
    assert library_problems(engine.library) == []


def test_each_passage_is_normalised_once_per_ingest(
    engine: Engine, tmp_path: Path, monkeypatch
) -> None:
    """The dedup key of a passage is worked out once, on the preparing thread (it was worked out three
    times, twice under the write lock: on the store-before-copy check, the copy check and the catalog row)."""
    import threading

    from kidneytalk import catalog, dedup, ingest

    calls: list[tuple[str, str]] = []
    real = dedup.passage_digest

    def counted(text: str) -> str:
        calls.append((text, threading.current_thread().name))
        return real(text)

    monkeypatch.setattr(ingest, "passage_digest", counted)
    monkeypatch.setattr(catalog, "passage_digest", counted)
    [res] = engine.add([_notice_pdf(tmp_path / "anaemia.pdf")])
    assert res.status == "added", res.message
    texts = [t for t, _ in calls]
    assert len(texts) == len(set(texts)) == res.chunks_kept, (len(texts), res.chunks_kept)
    assert {name for _, name in calls} == {"kidneytalk-prepare"}


def test_the_added_message_counts_in_the_singular_and_the_plural(
    engine: Engine, tmp_path: Path
) -> None:
    from tests.fixtures_pdf import write_text_pdf

    [one] = engine.add([write_text_pdf(tmp_path / "one.pdf", pages=1)])
    [many] = engine.add([_notice_pdf(tmp_path / "anaemia.pdf")])
    assert "(1 page, " in one.message and " pages" not in one.message.split(";")[0], one.message
    assert "(5 pages, " in many.message and f"{many.chunks_kept} chunks kept" in many.message, (
        many.message
    )
