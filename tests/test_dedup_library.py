"""Passages repeated across documents are stored once at ingest and stay citable (issue 17).

Two guidelines share paragraphs (one re-wrapped and hyphenated differently): the
shared paragraph is embedded and stored once, every place is remembered, search
results name them all, and removing, disabling or re-indexing the document that
holds the stored passage never hides it from the other one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pymupdf
import pytest

from kidneytalk.catalog import SCHEMA_VERSION, Catalog
from kidneytalk.dedup import passage_digest, passage_key
from kidneytalk.embed import Embedder
from kidneytalk.engine import Engine
from kidneytalk.library import Library
from kidneytalk.records import Hit
from tests.fixtures_pdf import library_problems

CONTRAST = (
    "Iodinated contrast can cause acute kidney injury in people with an eGFR below 30, so hydration "
    "with isotonic saline before and after the procedure is advised and metformin is paused for "
    "48 hours afterwards."
)
METFORMIN = (
    "Metformin should be reviewed when the estimated glomerular filtration rate falls below 45 and "
    "stopped below 30 millilitres per minute; haemodialysis patients need an individual review of "
    "the lactic acidosis risk and the dose is halved in moderate impairment."
)
ANAEMIA = (
    "Renal anaemia is treated with iron first; an erythropoiesis-stimulating agent is started when "
    "haemoglobin stays below 100 grams per litre after iron stores have been replenished."
)
POTASSIUM = (
    "Hyperkalaemia above 6.5 millimoles per litre with electrocardiogram changes needs calcium "
    "gluconate, insulin with glucose and a review of potassium-sparing drugs."
)


def _pdf(path: Path, sections: list[tuple[str, str]], *, width: float = 480) -> Path:
    """One page per (heading, paragraph); ``width`` re-wraps the paragraphs."""
    doc = pymupdf.open()
    for heading, text in sections:
        page = doc.new_page()
        page.insert_text((56, 70), heading, fontsize=15, fontname="hebo")
        page.insert_textbox(
            pymupdf.Rect(56, 90, 56 + width, 500), text, fontsize=10, fontname="helv"
        )
    doc.save(path)
    doc.close()
    return path


def _guidelines(folder: Path) -> tuple[Path, Path]:
    """a.pdf: metformin p.1, contrast p.2, anaemia p.3. b.pdf: potassium p.1, metformin p.2
    (narrower, hyphenated at line ends, other case), contrast p.3."""
    a = _pdf(
        folder / "a.pdf",
        [("Metformin", METFORMIN), ("Contrast notice", CONTRAST), ("Anaemia", ANAEMIA)],
    )
    rewrapped = (
        METFORMIN.replace("glomerular", "glomeru-\nlar")
        .replace("haemodialysis", "haemo-\ndialysis")
        .replace("Metformin should", "METFORMIN  should")
    )
    b = _pdf(
        folder / "b.pdf",
        [("Potassium", POTASSIUM), ("Metformin", rewrapped), ("Contrast notice", CONTRAST)],
        width=300,
    )
    return a, b


def _found(engine: Engine, query: str, needle: str) -> Hit:
    hits = [h for h in engine.search(query, k=5) if needle in h.text]
    assert len(hits) == 1, [(h.doc_name, h.pages_label, h.text[:40]) for h in hits]
    return hits[0]


def _stored(lib: Library, doc: str) -> int:
    return lib.catalog.chunk_count(lib.resolve(doc).id)


def _consistent(lib: Library) -> None:
    assert library_problems(lib) == []
    assert [d.chunks_kept for d in lib.documents() if d.status == "ready"] == [
        3 for d in lib.documents() if d.status == "ready"
    ], "every document keeps its passage count, wherever its passages are stored"


# ---------------------------------------------------------------- the key


def test_the_key_ignores_layout_but_not_meaning() -> None:
    base = "Metformin is stopped below an eGFR of 30 mL/min; anti-inflammatory drugs are avoided."
    same = [
        "METFORMIN is stopped\nbelow an  eGFR of 30 mL/min ; anti-\ninflammatory drugs are avoided",
        "Metformin is stop\u00adped below an eGFR of 30 mL/min; anti-inflammatory drugs are avoided.",
        "Met-\nformin is stopped below an eGFR of 30 mL/min… antiinflammatory drugs are avoided!!",
        "Metformin is stopped below an eGFR of ３０ mL/min; anti‐inflammatory drugs are avoided.",
    ]
    for text in same:
        assert passage_key(text) == passage_key(base), text
    different = [
        base.replace("30", "45"),
        base.replace("of 30", "of < 30"),
        base.replace("of 30", "of > 30"),
        base.replace("30", "3.0"),
        base.replace("stopped", "not stopped"),
    ]
    for text in different:
        assert passage_key(text) != passage_key(base), text
    assert passage_key("1.5 mg") != passage_key("15 mg")
    assert passage_key("— · —") == "" and passage_digest("— · —") == ""
    assert passage_key("ﬁltration") == passage_key("filtration")  # NFKC: ligatures


# ---------------------------------------------------------------- a real library


@pytest.fixture
def shared(engine: Engine, tmp_path: Path) -> Engine:
    a, b = _guidelines(tmp_path)
    ra, rb = engine.add([a, b])
    assert ra.status == rb.status == "added", (ra.message, rb.message)
    assert "2 passages already in the library from other documents, stored once" in rb.message
    assert ra.chunks_kept == rb.chunks_kept == 3
    return engine


def test_shared_paragraphs_are_stored_once_with_every_source(shared: Engine) -> None:
    lib = shared.library
    assert (_stored(lib, "a.pdf"), _stored(lib, "b.pdf")) == (3, 1)
    _consistent(lib)
    assert lib.store.count_doc(lib.resolve("b.pdf").id) == 1  # one vector per stored passage
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.page_start, hit.also_in) == ("a.pdf", 2, ["b.pdf p.3"])
    hit = _found(shared, "metformin lactic acidosis dialysis", "acidosis")
    assert (hit.doc_name, hit.page_start, hit.also_in) == ("a.pdf", 1, ["b.pdf p.2"])
    # the copy keeps its own text (what its page shows), for when it takes the stored one's place
    [own] = lib.catalog.db.execute(
        "SELECT x.text FROM copies x JOIN documents d ON d.id = x.doc_id "
        "WHERE d.name='b.pdf' AND x.page_start=2"
    )
    assert own[0].startswith("METFORMIN") and passage_key(own[0]) == passage_key(METFORMIN)


def test_removing_the_owner_leaves_the_passage_cited_to_the_other(shared: Engine) -> None:
    lib = shared.library
    lib.remove("a.pdf")
    assert [d.name for d in lib.documents()] == ["b.pdf"]
    _consistent(lib)
    assert _stored(lib, "b.pdf") == 3 and lib.store.count_doc(lib.resolve("b.pdf").id) == 3
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.pages_label, hit.also_in) == ("b.pdf", "p.3", [])
    hit = _found(shared, "metformin lactic acidosis dialysis", "acidosis")
    assert (hit.doc_name, hit.pages_label) == ("b.pdf", "p.2")
    assert hit.text.startswith("METFORMIN"), "promoted with its own text"
    assert shared.search("anaemia erythropoiesis iron", k=3)[0].doc_name == "b.pdf"  # A's own: gone
    assert lib.catalog.db.execute("SELECT count(*) FROM copies").fetchone()[0] == 0


def test_disabling_hides_only_that_documents_places(shared: Engine) -> None:
    lib = shared.library
    lib.set_enabled("a.pdf", False)
    _consistent(lib)
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.pages_label, hit.also_in) == ("b.pdf", "p.3", [])
    assert all(h.doc_name == "b.pdf" for h in shared.search("anaemia erythropoiesis iron", k=5))

    lib.set_enabled("a.pdf", True)  # its places come back, as copies of what b.pdf now holds
    _consistent(lib)
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.also_in) == ("b.pdf", ["a.pdf p.2"])

    lib.set_enabled("b.pdf", False)  # and back to a.pdf
    _consistent(lib)
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.pages_label, hit.also_in) == ("a.pdf", "p.2", [])
    lib.set_enabled("a.pdf", False)  # nothing searchable holds it: hidden, not lost
    assert not [h for h in shared.search("contrast hydration", k=5) if "Iodinated" in h.text]
    lib.set_enabled("b.pdf", True)
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.pages_label, hit.also_in) == ("b.pdf", "p.3", [])
    _consistent(lib)


def test_reindexing_the_owner_keeps_the_other_documents_passages(shared: Engine) -> None:
    lib = shared.library
    [res] = lib.reindex(["a.pdf"])
    assert res.status == "added" and res.chunks_kept == 3, res.message
    assert "2 passages already in the library" in res.message
    _consistent(lib)
    assert (_stored(lib, "a.pdf"), _stored(lib, "b.pdf")) == (1, 3)
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.also_in) == ("b.pdf", ["a.pdf p.2"])
    [res] = lib.reindex(["b.pdf"])  # and the other way round
    _consistent(lib)
    assert (_stored(lib, "a.pdf"), _stored(lib, "b.pdf")) == (3, 1)


def test_a_writer_dying_while_a_copy_takes_over_leaves_a_consistent_library(
    shared: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between adding the promoted vectors and the catalog commit (what SIGKILL leaves)."""
    lib = shared.library

    def die(self: Catalog, plan: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(Catalog, "promote", die)
    with pytest.raises(RuntimeError):
        lib.remove("a.pdf")
    monkeypatch.undo()
    assert lib.catalog.get_meta("writer_active")
    assert lib.resolve("a.pdf").status == "ready", "rolled back with the transaction"
    hit = _found(shared, "contrast hydration isotonic saline", "Iodinated contrast")
    assert (hit.doc_name, hit.also_in) == ("a.pdf", ["b.pdf p.3"])  # readers never lose it
    with lib.writing("test: next writer"):  # recovery deletes the vectors no passage names
        pass
    _consistent(lib)
    lib.remove("a.pdf")
    _consistent(lib)
    assert _found(shared, "contrast hydration", "Iodinated contrast").doc_name == "b.pdf"


def test_sigkill_while_adding_a_document_of_copies(
    home: Path, embedder: Embedder, tmp_path: Path
) -> None:
    from tests.test_crash_recovery import kill_when, ready_documents_are_complete, start_add

    a, b = _guidelines(tmp_path)
    with Engine(home, embedder=embedder) as first:
        first.add([a])
    log = tmp_path / "add.log"
    kill_when(start_add(home, b, log=log), home, lambda s: s["indexing"] >= 1, log=log)
    with Engine(home, embedder=embedder) as again:
        lib = again.library
        assert ready_documents_are_complete(lib) == []
        with lib.writing("test: next writer"):
            pass
        assert library_problems(lib) == []
        assert lib.resolve("b.pdf").status == "failed"
        assert not lib.catalog.db.execute("SELECT count(*) FROM copies").fetchone()[0]
        [res] = again.add([b])
        assert res.status == "added" and res.chunks_kept == 3, res.message
        _consistent(lib)
        hit = _found(again, "contrast hydration isotonic saline", "Iodinated contrast")
        assert (hit.doc_name, hit.also_in) == ("a.pdf", ["b.pdf p.3"])


def test_a_schema_3_library_opens_and_collapses_from_then_on(
    home: Path, embedder: Embedder, tmp_path: Path
) -> None:
    a, b = _guidelines(tmp_path)
    with Engine(home, embedder=embedder) as first:
        first.add([a])
        catalog_path = first.library.paths.catalog
    db = sqlite3.connect(catalog_path)  # what schema 3 had: no dup_key, copies without their text
    db.execute("DROP INDEX chunks_dup")
    db.execute("ALTER TABLE chunks DROP COLUMN dup_key")
    for column in ("text", "section", "char_start", "char_end", "n_tokens", "ocr"):
        db.execute(f"ALTER TABLE copies DROP COLUMN {column}")
    db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    db.commit()
    db.close()
    with Engine(home, embedder=embedder) as again:
        lib = again.library
        assert lib.catalog.get_meta("schema_version") == str(SCHEMA_VERSION) == "4"
        keys = [r[0] for r in lib.catalog.db.execute("SELECT dup_key FROM chunks")]
        assert len(keys) == 3 and all(keys)
        assert _found(again, "contrast hydration saline", "Iodinated").doc_name == "a.pdf"
        [res] = again.add([b])  # the backfilled keys find b.pdf's copies
        assert "2 passages already in the library" in res.message, res.message
        _consistent(lib)


def test_every_place_of_a_passage_counts_as_its_source_in_evaluation() -> None:
    from kidneytalk.evaluation.questions import Question
    from kidneytalk.evaluation.runner import gold_ranks

    stored = Hit("a:00001", "a", "a.pdf", CONTRAST, 2, 2, (), 0.9)
    stored.also_in.extend(["b.pdf p.3", "c d.pdf pp.4-5"])
    assert stored.places == [
        ("a.pdf", range(2, 3)),
        ("b.pdf", range(3, 4)),
        ("c d.pdf", range(4, 6)),
    ]
    other = Hit("e:00001", "e", "e.pdf", ANAEMIA, 1, 1, (), 0.95)

    def question(source: str, pages: tuple[int, ...]) -> Question:
        return Question("q", "?", {"A": "yes"}, ("A",), gold_source=source, gold_pages=pages)

    assert gold_ranks(question("b.pdf", (3,)), [other, stored]) == (2, 2)
    assert gold_ranks(question("c d.pdf", (5,)), [other, stored]) == (2, 2)
    assert gold_ranks(question("b.pdf", (7,)), [other, stored]) == (None, 2)
    assert gold_ranks(question("f.pdf", (1,)), [other, stored]) == (None, None)
