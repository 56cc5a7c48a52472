"""A followed folder on a network drive that hangs, disappears and comes back, with the app open
(issue 14, point 5: watching never blocks the window; clear status; retried without a click).

The hang is a scan of the followed folder that blocks until released, as a listing of a
drive whose server stopped answering does; the drive leaving and coming back is the folder
moved away and back. Offscreen, real engine and embedder; no language model.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer

from kidneytalk import folders
from kidneytalk.engine import Engine
from kidneytalk.folders import FolderChanges, TrackedFile
from kidneytalk.ui.main_window import MainWindow
from tests.fixtures_pdf import write_text_pdf

SLOW = 120_000  # ms


def test_a_hung_then_vanished_network_folder_never_blocks_the_window_and_is_retried(
    qtbot, engine: Engine, tmp_path: Path, monkeypatch
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    write_text_pdf(share / "protocol.pdf", topic="peritoneal dialysis", pages=1)
    folders.follow(engine.library, share)
    folders.sync(engine.library, remove_deleted=True)
    engine.save_settings(engine.settings.with_value("folders.poll_seconds", "2"))

    hung, release = threading.Event(), threading.Event()
    real_scan = folders.scan

    def scan(
        folder: str, tracked: dict[str, TrackedFile], cancel: threading.Event | None = None
    ) -> FolderChanges:
        if hung.is_set():
            release.wait(60)  # the drive's server does not answer
        return real_scan(folder, tracked, cancel)

    monkeypatch.setattr(folders, "scan", scan)
    w = MainWindow(engine)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    page = w.library_page

    def status() -> str:
        return page.folder_list.item(0).text() if page.folder_list.count() == 1 else ""

    try:
        qtbot.waitUntil(lambda: "in sync" in status() and page.model.rowCount() == 1, timeout=SLOW)
        hung.set()
        page.sync_button.click()
        ticks = [0]
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
        timer.start(50)
        t0 = time.monotonic()
        qtbot.wait(3000)  # the scan hangs meanwhile (and the 2 s poll finds it still running)
        timer.stop()
        assert ticks[0] >= (time.monotonic() - t0) * 10, ticks  # the window kept turning
        assert w.client.pending() == 0  # and the engine worker is free for questions and adds

        shutil.move(share, tmp_path / "elsewhere")  # the drive goes away while the listing hangs
        hung.clear()
        release.set()
        qtbot.waitUntil(lambda: "folder unavailable, retrying" in status(), timeout=SLOW)
        assert "not found" in status() and page.model.rowCount() == 1  # nothing removed
        qtbot.waitUntil(lambda: w.client.pending() == 0, timeout=SLOW)
        [state] = folders.followed(engine.library)
        assert state.status == folders.UNAVAILABLE and state.files == 1

        shutil.move(tmp_path / "elsewhere", share)  # the drive is back: no click, the poll sees it
        qtbot.waitUntil(lambda: "in sync" in status(), timeout=30_000)
        # the catalog records it too (`kidneytalk folders list` says so)
        qtbot.waitUntil(
            lambda: folders.followed(engine.library)[0].status == folders.OK, timeout=30_000
        )
        qtbot.waitUntil(lambda: w.client.pending() == 0, timeout=SLOW)
        assert page.model.rowCount() == 1 and "in sync" in status()
        assert [page.model.document(0).name] == ["protocol.pdf"]  # the same document, not re-added
    finally:
        release.set()
        assert w.shutdown()
