"""SIGKILL in the middle of `kidneytalk add` never leaves a half-indexed document behind.

A real ``add`` runs in a subprocess on a folder of generated PDFs; the test
watches the catalog and kills it at a chosen moment. Then, in a fresh engine:
ready documents must be complete even before any recovery, the next writer
rolls back what the dead one left (see ``Library._recover``), and re-adding the
folder finishes the job.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from kidneytalk.engine import Engine
from kidneytalk.library import Library
from tests.fixtures_pdf import library_problems, write_text_pdf

N_DOCS = 4
TOPICS = (
    "IgA nephropathy",
    "acute kidney injury",
    "peritoneal dialysis",
    "renal osteodystrophy",
    "hepatorenal syndrome",
    "contrast nephropathy",
)


def catalog_statuses(home: Path) -> Counter[str]:
    """Document statuses as another process sees them right now (empty before the catalog exists)."""
    path = home / "data" / "catalog.sqlite3"
    if not path.exists():
        return Counter()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return Counter()
    try:
        return Counter(row[0] for row in db.execute("SELECT status FROM documents"))
    except sqlite3.Error:  # schema not created yet
        return Counter()
    finally:
        db.close()


# Embedding runs before a document gets its catalog row, and storing one is quick; so that
# the kill can land while a document is being stored, the killed process pauses right after
# writing a document's vectors (before it is marked ready) — the worst moment to die.
SLOW_STORE = """
import sys, time
from kidneytalk import store
from kidneytalk.cli import main
_add = store.VectorStore.add
def add(self, *args, **kwargs):
    _add(self, *args, **kwargs)
    time.sleep(1.0)
store.VectorStore.add = add
sys.exit(main(sys.argv[1:]))
"""


def start_add(home: Path, *paths: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", SLOW_STORE, "--home", str(home), "add", *map(str, paths)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def kill_when(
    proc: subprocess.Popen[bytes],
    home: Path,
    moment: Callable[[Counter[str]], bool],
    *,
    log: Path,
    timeout: float = 240,
) -> Counter[str]:
    """SIGKILL ``proc`` as soon as ``moment(statuses)`` holds; returns the statuses seen then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = catalog_statuses(home)
        if moment(statuses):
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return statuses
        if proc.poll() is not None:
            pytest.fail(
                f"add finished (exit {proc.returncode}) before the kill moment; "
                f"statuses {dict(statuses)}\n{log.read_text(errors='replace')}"
            )
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    pytest.fail(f"kill moment never came; statuses {dict(catalog_statuses(home))}")


def ready_documents_are_complete(lib: Library) -> list[str]:
    """The invariant that must hold at every instant, even before recovery."""
    problems = []
    for doc in lib.documents():
        if doc.status == "ready":
            counts = (doc.chunks_kept, lib.catalog.chunk_count(doc.id), lib.store.count_doc(doc.id))
            if len(set(counts)) != 1 or doc.chunks_kept == 0:
                problems.append(
                    f"ready {doc.name}: chunks_kept, catalog chunks, vectors = {counts}"
                )
            if not Path(doc.stored_path).exists():
                problems.append(f"ready {doc.name}: stored copy missing")
    return problems


MOMENTS: dict[str, Callable[[Counter[str]], bool]] = {
    # the very first document has its row and some of its vectors
    "first-document-indexing": lambda s: s["indexing"] >= 1,
    # some documents are done, the rest are not
    "some-documents-ready": lambda s: 2 <= s["ready"] < N_DOCS,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_during_add_then_next_writer_recovers_and_re_adding_finishes(
    moment: str, embedder, tmp_path: Path
):
    folder = tmp_path / "guidelines"
    for i in range(N_DOCS):
        write_text_pdf(folder / f"guideline-{i}.pdf", topic=TOPICS[i], pages=40, paragraphs=3)
    home = tmp_path / "home"
    log = tmp_path / "first-add.log"

    seen = kill_when(start_add(home, folder, log=log), home, MOMENTS[moment], log=log)
    print(f"killed at {moment}: {dict(seen)}")

    # A fresh engine, before any writer ran: what is ready is complete and only ready documents are searched.
    with Engine(home, embedder=embedder) as engine:
        lib = engine.library
        assert ready_documents_are_complete(lib) == []
        ready = {d.id for d in lib.documents() if d.status == "ready"}
        caught = {d.id for d in lib.documents() if d.status == "indexing"}
        # files whose vectors came back together are stored together (one vector-store write),
        # so a kill may catch a few of them between their first write and "ready"
        assert len(caught) < N_DOCS, "documents are made ready as they are stored"
        for hit in engine.search("kidney disease care guideline", k=20):
            assert hit.doc_id in ready, (
                f"search returned a chunk of non-ready document {hit.doc_id}"
            )

        # The next writer (any write, here a no-op) rolls back what the dead one left.
        with lib.writing("test: next writer"):
            pass
        assert library_problems(lib) == []
        for doc in lib.documents():
            if doc.id in caught:
                assert doc.status == "failed" and "interrupted" in doc.reason, doc
                assert lib.store.count_doc(doc.id) == 0
        assert {d.id for d in lib.documents() if d.status == "ready"} == ready, (
            "recovery keeps ready documents"
        )

    # Adding the folder again (the user's natural reaction) finishes the job.
    env = {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}
    again = subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), "add", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert f"{N_DOCS - len(ready)} added, {len(ready)} already in library, 0 failed" in again.stderr

    with Engine(home, embedder=embedder) as engine:
        lib = engine.library
        docs = lib.documents()
        assert sorted(d.name for d in docs) == [f"guideline-{i}.pdf" for i in range(N_DOCS)]
        assert all(d.status == "ready" and d.reason == "" for d in docs), [
            (d.name, d.status, d.reason) for d in docs
        ]
        assert library_problems(lib) == []
        stored = sorted(p.name for p in lib.paths.documents.iterdir())
        assert stored == sorted(Path(d.stored_path).name for d in docs), (
            "no partial copies left behind"
        )
        for i, topic in enumerate(TOPICS[:N_DOCS]):
            [hit] = engine.search(f"Note 7.1 on {topic}", k=1)
            assert hit.doc_name == f"guideline-{i}.pdf"


def test_writer_that_died_after_finishing_a_document_keeps_it(embedder, tmp_path: Path):
    """Killed right after a commit (writer_active still set): recovery must not throw the work away."""
    folder = tmp_path / "guidelines"
    for i in range(2):
        write_text_pdf(folder / f"guideline-{i}.pdf", topic=TOPICS[i], pages=3)
    home = tmp_path / "home"
    with Engine(home, embedder=embedder) as engine:
        engine.add([folder])
        # what a SIGKILL between mark_ready and the end of the write scope leaves behind
        engine.library.catalog.set_meta("writer_active", "pid 999999: adding documents")
    with Engine(home, embedder=embedder) as engine:
        engine.library.set_enabled("guideline-0.pdf", True)  # any write runs recovery first
        docs = engine.library.documents()
        assert [d.status for d in docs] == ["ready", "ready"]
        assert library_problems(engine.library) == []
        assert engine.search("Note 2.1 on IgA nephropathy", k=1)[0].doc_name == "guideline-0.pdf"


def test_half_removed_document_is_finished_by_the_next_writer(embedder, tmp_path: Path):
    """What a SIGKILL inside `remove` leaves (status 'removing', vectors and copy still there)."""
    home = tmp_path / "home"
    keep = write_text_pdf(tmp_path / "keep.pdf", topic=TOPICS[0], pages=3)
    gone = write_text_pdf(tmp_path / "gone.pdf", topic=TOPICS[1], pages=3)
    with Engine(home, embedder=embedder) as engine:
        engine.add([keep, gone])
        doc = engine.library.resolve("gone.pdf")
        engine.library.catalog.set_status(doc.id, "removing")  # the first step of Library.remove
        engine.library.catalog.set_meta("writer_active", "pid 999999: remove")
        assert all(h.doc_id != doc.id for h in engine.search("acute kidney injury care", k=10))
    with Engine(home, embedder=embedder) as engine:
        with engine.library.writing("test: next writer"):
            pass
        assert [d.name for d in engine.library.documents()] == ["keep.pdf"]
        assert engine.library.store.count_doc(doc.id) == 0
        assert not Path(doc.stored_path).exists()
        assert library_problems(engine.library) == []
