"""The GUI's folder watcher sees changes in subfolders of a followed folder at once, not at the next poll.

Real files in a temporary folder, the real engine and embedder, the watcher offscreen; the poll is
set to a day, so every change below can only have been noticed through the file-system watcher.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from kidneytalk import folders
from kidneytalk.catalog import STATUS_READY
from kidneytalk.engine import Engine
from kidneytalk.ui.folder_watch import FolderWatcher
from kidneytalk.ui.workers import EngineClient
from tests.fixtures_pdf import write_text_pdf

SLOW = 120_000  # ms: an ingest on a busy 2-core machine
DAY = 86_400


def ready(engine: Engine) -> dict[str, str]:
    """File name -> doc id of the ready documents."""
    return {d.name: d.id for d in engine.library.documents() if d.status == STATUS_READY}


@pytest.fixture
def followed(qtbot, engine: Engine, tmp_path: Path):
    """A followed folder with one document, watched by a FolderWatcher that polls once a day."""
    docs = (tmp_path / "guidelines").resolve()
    docs.mkdir()
    write_text_pdf(docs / "top.pdf", topic="acute kidney injury", pages=1)
    folders.follow(engine.library, docs)
    settings = engine.settings
    engine.save_settings(
        settings.replace(
            folders=dataclasses.replace(settings.folders, remove_deleted="always", poll_seconds=DAY)
        )
    )
    client = EngineClient(engine)
    watcher = FolderWatcher(client)
    watcher._debounce.setInterval(300)  # the app waits 2 s for a burst of events to settle
    watcher.start(DAY)
    try:
        qtbot.waitUntil(lambda: set(ready(engine)) == {"top.pdf"}, timeout=SLOW)
        qtbot.waitUntil(lambda: watcher.watched_directories() == [str(docs)])
        yield docs, watcher
    finally:
        watcher.stop()
        assert client.shutdown()


def test_new_nested_renamed_and_deleted_subfolders_are_seen_by_the_watcher(
    qtbot, engine: Engine, followed: tuple[Path, FolderWatcher]
) -> None:
    docs, watcher = followed
    assert watcher._poll.interval() == DAY * 1000  # only the watcher can notice what follows

    # 1. a subfolder created, then (once the watcher has taken it up) filled
    sub = docs / "2026"
    sub.mkdir()
    qtbot.waitUntil(lambda: str(sub) in watcher.watched_directories(), timeout=SLOW)
    write_text_pdf(sub / "potassium.pdf", topic="hyperkalaemia", pages=1)
    qtbot.waitUntil(lambda: "potassium.pdf" in ready(engine), timeout=SLOW)

    # 2. a nested subfolder made in one go, a file written into its deepest folder at once
    #    (before any watch on it can exist: the scan its creation triggers, or the one after
    #    its watch is added, finds the file)
    deep = docs / "renal" / "dialysis"
    deep.mkdir(parents=True)
    write_text_pdf(deep / "dialysis.pdf", topic="peritoneal dialysis", pages=1)
    qtbot.waitUntil(lambda: "dialysis.pdf" in ready(engine), timeout=SLOW)
    qtbot.waitUntil(lambda: str(deep) in watcher.watched_directories(), timeout=SLOW)
    # ...and a later file in that deepest folder, which only its own watch reports
    write_text_pdf(deep / "access.pdf", topic="vascular access", pages=1)
    qtbot.waitUntil(lambda: "access.pdf" in ready(engine), timeout=SLOW)
    assert {str(docs), str(sub), str(docs / "renal"), str(deep)} == set(
        watcher.watched_directories()
    )

    # 3. a subfolder renamed: the same documents (nothing embedded again), watched under the new name
    before = ready(engine)
    sub.rename(docs / "2027")
    qtbot.waitUntil(
        lambda: (
            str(docs / "2027") in watcher.watched_directories()
            and str(sub) not in watcher.watched_directories()
        ),
        timeout=SLOW,
    )
    qtbot.waitUntil(
        lambda: (
            "2027/potassium.pdf"
            in folders.FolderStore(engine.library.catalog.db).tracked(str(docs))
        ),
        timeout=SLOW,
    )
    assert ready(engine) == before

    # 4. a subfolder with a nested one deleted: its documents are removed (the policy is "always")
    shutil.rmtree(docs / "renal")
    qtbot.waitUntil(lambda: set(ready(engine)) == {"top.pdf", "potassium.pdf"}, timeout=SLOW)
    qtbot.waitUntil(
        lambda: watcher.watched_directories() == sorted([str(docs), str(docs / "2027")]),
        timeout=SLOW,
    )
    tracked = folders.FolderStore(engine.library.catalog.db).tracked(str(docs))
    assert sorted(tracked) == ["2027/potassium.pdf", "top.pdf"]


def test_a_scan_lists_the_folder_and_its_visible_subfolders(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "a" / "b").mkdir(parents=True)
    (docs / ".git" / "objects").mkdir(parents=True)  # hidden: neither read nor watched
    (docs / "empty").mkdir()
    changes = folders.scan(str(docs), {})
    assert changes.directories == [
        str(docs),
        str(docs / "a"),
        str(docs / "a" / "b"),
        str(docs / "empty"),
    ]
    assert folders.scan(str(tmp_path / "gone"), {}).directories == []
