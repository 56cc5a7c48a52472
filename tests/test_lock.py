"""The library lock between processes: writers exclusive and patient, readers shared.

A helper subprocess holds the real lock (``Library.writing`` / ``Library.reading``)
until the test tells it to let go, so every wait here is deterministic.
"""

from __future__ import annotations

import contextlib
import os
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk.config import Paths, Settings
from kidneytalk.engine import Engine
from kidneytalk.errors import LibraryBusyError
from kidneytalk.library import Library
from tests.fixtures_pdf import library_problems, write_text_pdf

HOLDER = """
import sys
from kidneytalk.config import Paths, Settings
from kidneytalk.library import Library

lib = Library(Paths.resolve(sys.argv[1]), Settings())
scope = lib.writing("test holder") if sys.argv[2] == "write" else lib.reading()
with scope:
    print("held", flush=True)
    sys.stdin.readline()
lib.close()
print("released", flush=True)
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}


@contextlib.contextmanager
def lock_held(home: Path, mode: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the library lock ('write' or 'read') for the duration of the block."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        assert line.strip() == "held", (
            f"lock holder did not start: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        )
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.write("\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        proc.wait(timeout=30)


def start_cli(home: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
        )


def wait_for_text(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace") if log.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            pytest.fail(f"process exited ({proc.returncode}) before printing {text!r}:\n{content}")
        time.sleep(0.1)
    pytest.fail(f"{text!r} never printed:\n{log.read_text(errors='replace')}")


def document_count(home: Path) -> int:
    db = sqlite3.connect(f"file:{home / 'data' / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    finally:
        db.close()


def open_library(home: Path, *, timeout: float) -> Library:
    lib = Library(Paths.resolve(home), Settings())
    lib.lock.timeout = timeout
    return lib


def test_second_add_waits_and_says_the_library_is_in_use(tmp_path: Path):
    home = tmp_path / "home"
    pdf = write_text_pdf(tmp_path / "waiting.pdf", topic="renal artery stenosis", pages=2)
    log = tmp_path / "add.log"
    with lock_held(home, "write") as holder:
        add = start_cli(home, "add", str(pdf), log=log)
        text = wait_for_text(log, "in use", add)
        [line] = [line for line in text.splitlines() if "in use" in line]
        assert f"The library is in use by pid {holder.pid} (test holder" in line
        assert "waiting" in line
        time.sleep(1.0)
        assert add.poll() is None, "the second writer keeps waiting while the lock is held"
        assert document_count(home) == 0, "nothing is written while waiting"
    assert add.wait(timeout=120) == 0, log.read_text()
    assert "waiting.pdf: added as" in log.read_text()
    assert document_count(home) == 1


def test_writer_with_a_short_timeout_gets_a_clear_library_busy_error(tmp_path: Path):
    home = tmp_path / "home"
    with lock_held(home, "write") as holder, open_library(home, timeout=0.5) as lib:
        notes: list[str] = []
        started = time.monotonic()
        with (
            pytest.raises(LibraryBusyError) as err,
            lib.writing("second writer", on_wait=notes.append),
        ):
            pytest.fail("the lock must not be granted while another writer holds it")
        waited = time.monotonic() - started
        message = str(err.value)
        assert f"is in use by pid {holder.pid} (test holder" in message
        assert str(lib.paths.data) in message and "try again" in message
        assert 0.4 <= waited < 5
        assert len(notes) == 1 and "in use" in notes[0]
    with open_library(home, timeout=0.5) as lib, lib.writing("after release"):
        pass  # granted at once when the holder is gone


def test_waiting_writer_names_who_really_holds_the_lock(tmp_path: Path):
    home = tmp_path / "home"
    with lock_held(home, "write") as gone:
        gone_pid = gone.pid  # a writer came and went
    with (
        lock_held(home, "read"),
        open_library(home, timeout=0.3) as lib,
        pytest.raises(LibraryBusyError) as err,
        lib.writing("second writer"),
    ):
        pass
    message = str(err.value)
    assert "in use" in message
    assert f"pid {gone_pid}" not in message, (
        f"names a process that no longer holds the lock: {message}"
    )


def test_search_is_blocked_only_while_a_writer_holds_the_lock(embedder, tmp_path: Path):
    home = tmp_path / "home"
    pdf = write_text_pdf(tmp_path / "gout.pdf", topic="gout and uric acid", pages=2)
    with Engine(home, embedder=embedder) as engine:
        engine.add([pdf])
        engine.library.lock.timeout = 0.5
        query = "uric acid in kidney disease"
        assert engine.search(query)

        with lock_held(home, "read"):
            assert engine.search(query), "readers share the lock"
            with pytest.raises(LibraryBusyError):
                engine.library.set_enabled("gout.pdf", False)  # but a writer waits for readers

        with lock_held(home, "write"):
            with pytest.raises(LibraryBusyError) as err:
                engine.search(query)
            assert "in use by pid" in str(err.value)

        hits = engine.search(query)
        assert hits and hits[0].doc_name == "gout.pdf"


def test_two_concurrent_adds_both_finish_and_leave_a_consistent_library(embedder, tmp_path: Path):
    home = tmp_path / "home"
    topics = (
        "minimal change disease",
        "Alport syndrome",
        "Fabry nephropathy",
        "cystinosis",
        "medullary sponge kidney",
        "renal tubular acidosis",
    )
    pdfs = [
        write_text_pdf(tmp_path / "in" / f"doc-{i}.pdf", topic=t, pages=12)
        for i, t in enumerate(topics)
    ]
    shared = write_text_pdf(tmp_path / "in" / "shared.pdf", topic="kidney stones", pages=4)
    logs = [tmp_path / "add-a.log", tmp_path / "add-b.log"]
    first = start_cli(home, "add", *map(str, pdfs[:3]), str(shared), log=logs[0])
    second = start_cli(home, "add", *map(str, pdfs[3:]), str(shared), log=logs[1])

    assert first.wait(timeout=300) == 0, logs[0].read_text()
    assert second.wait(timeout=300) == 0, logs[1].read_text()

    with Engine(home, embedder=embedder) as engine:
        docs = engine.library.documents()
        assert sorted(d.name for d in docs) == sorted([p.name for p in pdfs] + ["shared.pdf"])
        assert all(d.status == "ready" for d in docs)
        assert library_problems(engine.library) == []
        for pdf, topic in zip(pdfs, topics, strict=True):
            [hit] = engine.search(f"Note 3.1 on {topic}", k=1)
            assert hit.doc_name == pdf.name, (
                f"vectors written by either process are searchable ({topic})"
            )


_OPEN_NEW_CATALOG = """
import sys, time
from pathlib import Path
from kidneytalk.catalog import Catalog
path, ready, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():  # all open the new catalog at the same moment
    time.sleep(0.001)
Catalog(path).close()
"""


def test_processes_opening_a_new_catalog_at_once_all_open_it(tmp_path: Path):
    """SQLite refuses the second switch to WAL at once ("database is locked", 9 of 30 rounds
    of three processes before the fix): the catalog waits for the other process instead."""
    for round_ in range(12):
        folder = tmp_path / f"lib-{round_}"
        folder.mkdir()
        go = folder / "go"
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _OPEN_NEW_CATALOG,
                    str(folder / "catalog.sqlite3"),
                    str(folder / f"ready-{i}"),
                    str(go),
                ],
                env=_env(),
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        deadline = time.monotonic() + 120
        while len(list(folder.glob("ready-*"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], errors
