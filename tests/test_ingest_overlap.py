"""Ingest keeps the embedder busy: files are stored while the next group is embedded, and the
thread that parses ahead yields its core to the embedder (issue 12)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kidneytalk import ingest
from kidneytalk.cpu import BACKGROUND_NICENESS, yield_to_embedding
from kidneytalk.engine import Engine
from kidneytalk.errors import Cancelled
from kidneytalk.records import ProgressEvent
from tests.fixtures_pdf import body_paragraph, library_problems


def _notes(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(n):
        path = folder / f"note-{i}.txt"
        path.write_text(
            "\n\n".join(body_paragraph(f"topic {i} of kidney care", i, p) for p in range(6)),
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def test_a_file_is_stored_while_the_next_group_is_embedded(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group without the first file's passages is held until the first file is stored: the
    run stores it meanwhile, so storing never waits for later embedding (before, the same
    thread embedded and stored, and such a group waited in vain)."""
    monkeypatch.setattr(ingest, "_EMBED_BATCH", 2)  # several embedding calls per file
    lib = engine.library
    embedder, store = lib.embedder, lib.store
    real_embed, real_add = embedder.embed, store.add
    first_stored = threading.Event()
    threads: set[str] = set()
    held: list[bool] = []  # per later group: was the first file stored while it waited?

    def embed(texts: list[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        threads.add(threading.current_thread().name)
        if not any("topic 0 of kidney care" in t for t in texts):
            held.append(first_stored.wait(10))
        return real_embed(texts, cancel)

    def add(ids: list[str], docs: list[str], vectors: np.ndarray) -> None:
        real_add(ids, docs, vectors)
        first_stored.set()

    monkeypatch.setattr(embedder, "embed", embed)
    monkeypatch.setattr(store, "add", add)
    results = engine.add(_notes(tmp_path / "notes", 3))
    assert [r.status for r in results] == ["added"] * 3, [r.message for r in results]
    assert held and all(held), held
    assert threading.current_thread().name not in threads  # embedded on the embedding thread
    assert not [t for t in threading.enumerate() if t.name.startswith("kidneytalk-embed")]
    assert library_problems(engine.library) == []


def test_a_file_that_takes_long_to_prepare_does_not_hold_back_the_one_before(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the next file is being read (OCR of a scan, a long PDF), the files before it are
    embedded and stored: searchable at once, and kept if the user then cancels."""
    first, slow = _notes(tmp_path / "notes", 2)
    catalog = engine.library.paths.catalog
    real_prepare = ingest.IngestRun.prepare
    seen: list[str] = []

    def ready_names() -> set[str]:
        db = sqlite3.connect(catalog)
        try:
            return {r[0] for r in db.execute("SELECT name FROM documents WHERE status='ready'")}
        finally:
            db.close()

    def prepare(self: ingest.IngestRun, path: Path, *args: object, **kwargs: object) -> object:
        if path == slow:  # reading this file waits until the one before it is in the library
            deadline = time.monotonic() + 20
            while first.name not in ready_names() and time.monotonic() < deadline:
                time.sleep(0.05)
            seen.append("ready" if first.name in ready_names() else "not stored")
        return real_prepare(self, path, *args, **kwargs)

    monkeypatch.setattr(ingest.IngestRun, "prepare", prepare)
    results = engine.add([first, slow])
    assert [r.status for r in results] == ["added", "added"], [r.message for r in results]
    assert seen == ["ready"]
    assert library_problems(engine.library) == []


def test_an_embedding_error_fails_the_run_and_leaves_no_thread_behind(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "_EMBED_BATCH", 2)
    embedder = engine.library.embedder

    def broken(texts: list[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        raise MemoryError("out of memory while embedding")

    monkeypatch.setattr(embedder, "embed", broken)
    with pytest.raises(MemoryError):
        engine.add(_notes(tmp_path / "notes", 2))
    assert not [t for t in threading.enumerate() if t.name.startswith("kidneytalk-embed")]
    monkeypatch.undo()
    assert library_problems(engine.library) == []


def test_cancel_stops_the_group_being_embedded_and_keeps_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel is asked between the model's batches, so a large group stops part-way."""
    embedder = engine.library.embedder
    real_embed = embedder.embed
    outcomes: list[str] = []
    cancel = threading.Event()

    def embed(texts: list[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        try:
            vectors = real_embed(texts, cancel)
        except Cancelled:
            outcomes.append("cancelled")
            raise
        outcomes.append(f"{len(texts)} embedded")
        return vectors

    def progress(event: ProgressEvent) -> None:
        if event.stage == "embed":  # the first group has just been handed over
            cancel.set()

    monkeypatch.setattr(embedder, "embed", embed)
    results = engine.add(_notes(tmp_path / "notes", 12), progress=progress, cancel=cancel)
    assert {r.status for r in results} == {"cancelled"}
    assert outcomes == ["cancelled"]  # the group was cut, not finished
    assert engine.library.documents() == [] and engine.library.store.ids() == []
    assert library_problems(engine.library) == []


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priority here")
def test_the_parsing_thread_runs_at_a_lower_priority_and_the_others_do_not() -> None:
    seen: list[tuple[bool, int]] = []

    def work() -> None:
        lowered = yield_to_embedding()
        seen.append((lowered, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    ((lowered, nice),) = seen
    if lowered:
        assert nice == max(before, BACKGROUND_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_threads_hand_the_gil_over_quickly_during_an_ingest_only(
    engine: Engine, tmp_path: Path, monkeypatch
) -> None:
    """While files are added the switch interval is short, so a parsing thread does not keep the embedding
    thread waiting for the GIL; before and after (an embedding error included) it is Python's own."""
    import sys

    from kidneytalk.cpu import INGEST_SWITCH_INTERVAL

    before = sys.getswitchinterval()
    assert before > INGEST_SWITCH_INTERVAL
    embedder = engine.library.embedder
    real = embedder.embed
    during: list[float] = []

    def embed(texts, cancel=None):
        during.append(sys.getswitchinterval())
        return real(texts, cancel=cancel)

    monkeypatch.setattr(embedder, "embed", embed)
    [res] = engine.add(_notes(tmp_path / "a", 1))
    assert res.status == "added", res.message
    assert during and set(during) == {INGEST_SWITCH_INTERVAL}
    assert sys.getswitchinterval() == before

    def broken(texts, cancel=None):
        raise RuntimeError("embedder crashed")

    monkeypatch.setattr(embedder, "embed", broken)
    with contextlib.suppress(RuntimeError):  # however the run reports it
        engine.add(_notes(tmp_path / "b", 1))
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("budget", [1000, 6])
def test_parsing_runs_ahead_of_the_embedder_up_to_a_passage_budget(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """While the embedder holds a group, files go on being prepared until the passages waiting
    for it reach ``_PREPARE_AHEAD_CHUNKS``. Before, parsing stopped after 8 files (fewer passages
    than one group of the PubMedQA digests), and the embedder then waited for it between groups."""
    monkeypatch.setattr(ingest, "_EMBED_BATCH", 4)
    monkeypatch.setattr(ingest, "_PREPARE_AHEAD_CHUNKS", budget)
    notes = _notes(tmp_path / "notes", 14)
    prepared: list[int] = []  # passages of each file prepared so far
    real_prepare = ingest.IngestRun.prepare

    def prepare(self: ingest.IngestRun, *args: object, **kwargs: object) -> object:
        prep = real_prepare(self, *args, **kwargs)
        prepared.append(len(prep.chunks))
        return prep

    embedder = engine.library.embedder
    real_embed = embedder.embed
    while_held: list[list[int]] = []

    def embed(texts: list[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        if not while_held:  # the first group: hold it until every file is prepared or parsing
            # has stopped (nothing new for 2 s; the parsing thread runs at a lower priority)
            seen, deadline = -1, time.monotonic() + 30
            while len(prepared) not in (seen, 14) and time.monotonic() < deadline:
                seen = len(prepared) if budget < 1000 else -1
                time.sleep(2.0 if budget < 1000 else 0.05)
            while_held.append(list(prepared))
        return real_embed(texts, cancel)

    monkeypatch.setattr(ingest.IngestRun, "prepare", prepare)
    monkeypatch.setattr(embedder, "embed", embed)
    results = engine.add(notes)
    assert [r.status for r in results] == ["added"] * 14, [r.message for r in results]
    [held] = while_held
    if budget >= sum(prepared):
        assert len(held) == 14  # every file was prepared while the first group was embedded
    else:  # stopped at the budget: the passages of the files queued after the taken ones
        assert len(held) < 14 and sum(held) >= budget
    assert library_problems(engine.library) == []


def test_a_failure_before_the_parsing_thread_starts_work_ends_the_run(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parsing thread always sends its end marker: a failure before its first file (here
    lowering its priority) ends the run instead of leaving it waiting for files forever, and each
    file not read says why in one line."""

    def broken(*args: object) -> bool:
        raise OSError("cannot change this thread's priority")

    monkeypatch.setattr(ingest, "yield_to_embedding", broken)
    notes = _notes(tmp_path / "notes", 2)
    done: list[object] = []
    run = threading.Thread(target=lambda: done.extend(engine.add(notes)), daemon=True)
    run.start()
    run.join(60)
    assert not run.is_alive() and len(done) == 2
    assert [r.status for r in done] == ["failed", "failed"]  # type: ignore[attr-defined]
    assert "cannot change this thread's priority" in done[0].message  # type: ignore[attr-defined]
    assert library_problems(engine.library) == []


def test_files_are_taken_up_while_a_group_is_embedded_and_the_next_file_is_read(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the next file is being read and a group is being embedded, the run does not wait for
    that group: it takes up the file as soon as it is ready (before, it waited for the group, and
    every file prepared meanwhile waited with it)."""
    first, second = _notes(tmp_path / "notes", 2)
    embedding = threading.Event()
    taken: list[str] = []
    real_prepare, real_skip = ingest.IngestRun.prepare, ingest.IngestRun._skip_stored

    def prepare(self: ingest.IngestRun, path: Path, *args: object, **kwargs: object) -> object:
        if path == second:  # read while the first file's group is being embedded
            embedding.wait(20)
        return real_prepare(self, path, *args, **kwargs)

    def skip_stored(self: ingest.IngestRun, prep: ingest._Prepared) -> None:
        taken.append(prep.path.name)
        real_skip(self, prep)

    embedder = engine.library.embedder
    real_embed = embedder.embed
    seen_while_embedding: list[list[str]] = []

    def embed(texts: list[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        if not embedding.is_set():  # the first group: held until the second file is taken up
            embedding.set()
            deadline = time.monotonic() + 10
            while second.name not in taken and time.monotonic() < deadline:
                time.sleep(0.05)
            seen_while_embedding.append(list(taken))
        return real_embed(texts, cancel)

    monkeypatch.setattr(ingest.IngestRun, "prepare", prepare)
    monkeypatch.setattr(ingest.IngestRun, "_skip_stored", skip_stored)
    monkeypatch.setattr(embedder, "embed", embed)
    results = engine.add([first, second])
    assert [r.status for r in results] == ["added", "added"], [r.message for r in results]
    assert seen_while_embedding == [[first.name, second.name]]
    assert library_problems(engine.library) == []


def _stored_rows(engine: Engine) -> list[tuple[str, str, str]]:
    """(document name, passage text, where it is stored) of every passage, copies included."""
    db = engine.library.catalog.db
    rows = db.execute(
        """SELECT d.name, c.text, c.id FROM chunks c JOIN documents d ON d.id = c.doc_id
           UNION ALL
           SELECT d.name, x.text, x.chunk_id FROM copies x JOIN documents d ON d.id = x.doc_id"""
    ).fetchall()
    return sorted((r[0], r[1], r[2]) for r in rows)


def test_files_embedded_together_are_stored_with_one_vector_write_and_one_copy_of_shared_text(
    engine: Engine, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files whose vectors come back in one group go to the vector store in one write
    (each write costs ~15 ms whatever its size); a passage two of them share is still stored
    once, and the library holds the same as when each file is stored on its own."""
    notes = _notes(tmp_path / "notes", 4)
    shared = body_paragraph("a notice every leaflet of this clinic carries", 99, 0)
    for path in notes[1:3]:  # two files of the group share a paragraph
        path.write_text(path.read_text(encoding="utf-8") + "\n\n" + shared, encoding="utf-8")
    store = engine.library.store
    real_add = store.add
    writes: list[set[str]] = []

    def add(ids: list[str], docs: list[str], vectors: np.ndarray) -> None:
        writes.append(set(docs))
        real_add(ids, docs, vectors)

    monkeypatch.setattr(store, "add", add)
    # all four in one embedding group (none handed over early while the next file is read)
    monkeypatch.setattr(ingest.IngestRun, "_while_waiting", lambda self: None)
    results = engine.add(notes)
    assert [r.status for r in results] == ["added"] * 4, [r.message for r in results]
    assert len(writes) == 1 and len(writes[0]) == 4, writes
    assert "1 passages already in the library from other documents" in results[2].message
    assert library_problems(engine.library) == []
    together = _stored_rows(engine)

    # the same files stored one by one (one file per write) give the same library
    monkeypatch.setattr(ingest, "_EMBED_BATCH", 1)
    with Engine(tmp_path / "one-by-one", embedder=engine.library.embedder) as alone:
        again = alone.add(notes)
        assert [r.message for r in again] == [r.message for r in results]
        assert _stored_rows(alone) == together
        assert library_problems(alone.library) == []


def test_when_storing_together_fails_each_file_is_stored_alone_and_only_the_bad_one_fails(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = _notes(tmp_path / "notes", 3)
    store = engine.library.store
    real_add = store.add
    bad = ingest.file_sha256(notes[1])[:12]  # its document id
    writes: list[int] = []

    def add(ids: list[str], docs: list[str], vectors: np.ndarray) -> None:
        writes.append(len(set(docs)))
        if bad in docs:  # e.g. the vector store refuses one file's vectors
            raise ValueError("the vector store refused these vectors")
        real_add(ids, docs, vectors)

    monkeypatch.setattr(store, "add", add)
    monkeypatch.setattr(ingest.IngestRun, "_while_waiting", lambda self: None)  # one group
    results = engine.add(notes)
    assert [r.status for r in results] == ["added", "failed", "added"], [r.message for r in results]
    assert "could not be stored (ValueError: the vector store refused" in results[1].message
    assert writes == [3, 1, 1, 1], writes  # together, then one by one
    monkeypatch.undo()
    assert library_problems(engine.library) == []
    assert store.count_doc(bad) == 0
    hits = engine.search("topic 2 of kidney care", k=5)
    assert hits and all(h.doc_id != bad for h in hits)


def test_a_file_that_fails_after_the_group_write_fails_alone_and_copies_of_it_are_stored(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vectors of four files are written together; the second then cannot be made ready.
    It fails alone; the third, which shared a passage with it, stores that passage itself; the
    fourth still refers to the first's copy of what they share."""
    notes = _notes(tmp_path / "notes", 4)
    with_second = body_paragraph("a paragraph the second and third leaflets share", 98, 0)
    with_first = body_paragraph("a paragraph the first and fourth leaflets share", 97, 0)
    for path, extra in zip(notes, (with_first, with_second, with_second, with_first), strict=True):
        path.write_text(path.read_text(encoding="utf-8") + "\n\n" + extra, encoding="utf-8")
    bad = ingest.file_sha256(notes[1])[:12]
    real_save = ingest.save_words
    writes: list[int] = []
    real_add = engine.library.store.add

    def add(ids: list[str], docs: list[str], vectors: np.ndarray) -> None:
        writes.append(len(set(docs)))
        real_add(ids, docs, vectors)

    def save_words(stored: Path, words: object) -> None:
        if stored.name.startswith(bad):
            raise OSError(28, "No space left on device")
        real_save(stored, words)

    monkeypatch.setattr(engine.library.store, "add", add)
    monkeypatch.setattr(ingest, "save_words", save_words)
    monkeypatch.setattr(ingest.IngestRun, "_while_waiting", lambda self: None)  # one group
    results = engine.add(notes)
    assert [r.status for r in results] == ["added", "failed", "added", "added"], [
        r.message for r in results
    ]
    assert "not enough space" in results[1].message
    assert writes[0] == 4, writes  # together first
    assert "from other documents" not in results[2].message  # its own copy now
    assert "1 passages already in the library from other documents" in results[3].message
    monkeypatch.undo()
    assert library_problems(engine.library) == []
    assert engine.library.store.count_doc(bad) == 0


def _cancel_in_the_group_after(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[threading.Event, list[str]]:
    """A Cancel the user presses once ``n`` files of the (one) group are staged for storing."""
    cancel = threading.Event()
    real_stage = ingest.IngestRun._stage
    staged: list[str] = []

    def stage(self: ingest.IngestRun, prep: object, keys: object = None) -> object:
        out = real_stage(self, prep, keys)  # type: ignore[arg-type]
        staged.append(str(prep.path))  # type: ignore[attr-defined]
        if len(staged) == n:
            cancel.set()
        return out

    monkeypatch.setattr(ingest.IngestRun, "_stage", stage)
    monkeypatch.setattr(ingest.IngestRun, "_while_waiting", lambda self: None)  # one group
    return cancel, staged


def test_cancel_while_a_group_is_stored_keeps_the_files_written_and_nothing_after(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = _notes(tmp_path / "notes", 4)
    cancel, staged = _cancel_in_the_group_after(2, monkeypatch)
    results = engine.library.add(notes, cancel=cancel)
    assert [r.status for r in results] == ["added", "added", "cancelled", "cancelled"], [
        r.message for r in results
    ]
    assert "nothing was kept" in results[2].message
    assert len(staged) == 2
    assert {d.name for d in engine.library.documents()} == {"note-0.txt", "note-1.txt"}
    assert library_problems(engine.library) == []


def test_after_a_cancel_in_a_group_the_results_stay_in_input_order(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file already in the library behind a group that a Cancel stopped is reported after the
    group's unstored files, in input order, not before them."""
    notes = _notes(tmp_path / "notes", 5)
    engine.add([notes[0]])
    again = tmp_path / "notes" / "note-0-again.txt"
    again.write_bytes(notes[0].read_bytes())
    batch = [notes[1], notes[2], notes[3], again, notes[4]]
    cancel, staged = _cancel_in_the_group_after(2, monkeypatch)
    results = engine.library.add(batch, cancel=cancel)
    assert [Path(r.path).name for r in results] == [p.name for p in batch]
    assert [r.status for r in results][:3] == ["added", "added", "cancelled"]
    assert library_problems(engine.library) == []
