"""The document library on real PDFs: catalog fields, progress, cancel, reindex, stale index."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kidneytalk.records import ProgressEvent
from tests.conftest import shared_pdf


def test_add_records_catalog_fields_and_copies_the_file(engine, tmp_path: Path):
    src = tmp_path / "guideline.pdf"
    src.write_bytes(shared_pdf(5).read_bytes())
    events: list[ProgressEvent] = []
    [result] = engine.add([src], progress=events.append)
    assert result.status == "added"
    src.unlink()  # the library keeps its own copy: citations survive the original moving
    [doc] = engine.library.documents()
    assert doc.name == "guideline.pdf" and doc.status == "ready" and doc.enabled
    assert doc.pages == 5 and doc.chunks_kept > 10
    assert doc.embed_model == engine.library.embed_model_id
    assert doc.chunk_settings == {"size_tokens": 200, "overlap_tokens": 40}
    assert Path(doc.stored_path).exists() and doc.added_at
    assert (
        engine.library.catalog.chunk_count(doc.id)
        == doc.chunks_kept
        == engine.library.store.count_doc(doc.id)
    )
    stages = [e.stage for e in events]
    assert (
        stages[:2] == ["start", "embed"]
        and stages[-1] == "done"
        and events[-1].chunks_done == doc.chunks_kept
    )
    hits = engine.search("secondhand smoke exposure of infants", k=3)
    assert hits and all(h.doc_name == "guideline.pdf" for h in hits)


def test_search_finds_the_gold_page_of_a_shared_question(engine):
    engine.add([shared_pdf(12), shared_pdf(1)])
    hits = engine.search(
        "Is oral endotracheal intubation efficacy impaired in the helicopter environment?", k=3
    )
    assert hits[0].doc_name == "dev-digest-012.pdf"
    assert {3, 4} & set(range(hits[0].page_start, hits[0].page_end + 1))


def test_disable_and_enable_control_retrieval(engine):
    engine.add([shared_pdf(12)])
    doc = engine.library.documents()[0]
    engine.library.set_enabled(doc.id[:6], False)
    assert engine.search("helicopter intubation") == []
    engine.library.set_enabled(doc.name, True)
    assert engine.search("helicopter intubation")


def test_cancel_stops_ingest_and_keeps_nothing_partial(engine):
    cancel = threading.Event()

    def progress(event: ProgressEvent) -> None:
        if event.stage == "embed" and event.chunks_done > 0:
            cancel.set()

    results = engine.add([shared_pdf(2), shared_pdf(3)], progress=progress, cancel=cancel)
    assert [r.status for r in results] == ["cancelled", "cancelled"]
    assert engine.library.documents() == []
    assert engine.library.store.ids() == []


def test_reindex_replaces_vectors_and_follows_new_chunk_settings(engine):
    engine.add([shared_pdf(7)])
    before = engine.library.documents()[0]
    lib = engine.library
    lib.settings = lib.settings.replace(
        chunk=lib.settings.chunk.__class__(size_tokens=100, overlap_tokens=10)
    )
    [res] = lib.reindex([before.id])
    after = lib.documents()[0]
    assert res.status == "added" and after.id == before.id
    assert after.chunks_kept > before.chunks_kept
    assert after.chunk_settings == {"size_tokens": 100, "overlap_tokens": 10}
    assert lib.store.count_doc(after.id) == after.chunks_kept == lib.catalog.chunk_count(after.id)


def test_document_indexed_with_another_embedding_model_is_stale_and_not_searched(engine):
    engine.add([shared_pdf(9)])
    doc = engine.library.documents()[0]
    engine.library.catalog.db.execute(
        "UPDATE documents SET embed_model='other-model' WHERE id=?", (doc.id,)
    )
    doc = engine.library.documents()[0]
    assert engine.library.is_stale(doc)
    assert engine.search("randomised trial") == []
    engine.library.reindex([doc.id])
    assert not engine.library.is_stale(engine.library.documents()[0])
    assert engine.search("randomised trial")


def test_dropped_chunks_are_listed_with_reasons(engine, tmp_path: Path):
    md = tmp_path / "chapter.md"
    md.write_text(
        "# Chapter 4: Dialysis\n\nHaemodialysis removes solutes by diffusion across a semipermeable membrane "
        "and is usually performed three times a week for about four hours.\n\n"
        "## References\n\nSmith J, et al. Dialysis adequacy. Kidney Int. 2019;95:12-20.\n",
        encoding="utf-8",
    )
    engine.add([md])
    rows = engine.library.dropped("chapter.md")
    assert [r["reason"] for r in rows] == ["reference list"]
    assert engine.library.documents()[0].chunks_dropped == 1


def test_filter_agent_asks_the_real_model_about_every_rule_kept_chunk(engine_llm, tmp_path: Path):
    md = tmp_path / "mixed.md"
    md.write_text(
        "# Notes\n\nMetformin should be stopped when the eGFR falls below 30 mL/min/1.73 m² because "
        "of the risk of lactic acidosis in chronic kidney disease.\n\n"
        "## Housekeeping\n\nThe conference dinner will be served in the main hall at seven in the evening; "
        "please bring your badge and a warm jacket.\n",
        encoding="utf-8",
    )
    without = engine_llm.add([md], filter_agent=False)[0]
    engine_llm.library.remove(without.doc_id)
    [res] = engine_llm.add([md], filter_agent=True)
    doc = engine_llm.library.documents()[0]
    assert res.status == "added" and doc.filter_agent
    # every chunk the rules kept was judged: kept, or dropped by the agent with that reason
    assert doc.chunks_kept + doc.chunks_dropped == without.chunks_kept + without.chunks_dropped
    reasons = {r["reason"] for r in engine_llm.library.dropped(doc.id)}
    assert reasons <= {"filter agent: no medical knowledge"}


def test_data_folder_can_move_and_come_back(tmp_path: Path):
    from kidneytalk.config import Paths
    from kidneytalk.errors import KidneyTalkError

    home = tmp_path / "home"
    paths = Paths.resolve(home).ensure()
    assert paths.data == home.resolve() / "data" and paths.data_location() is None
    paths.set_data_location(tmp_path / "encrypted drive" / "KidneyTalk")
    moved = Paths.resolve(home)
    assert moved.data == (tmp_path / "encrypted drive" / "KidneyTalk").resolve()
    assert moved.data.is_dir() and moved.config == paths.config  # settings stay where they were
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(KidneyTalkError, match="is a file"):
        moved.set_data_location(tmp_path / "a-file")
    moved.set_data_location(None)
    assert Paths.resolve(home).data == paths.data
