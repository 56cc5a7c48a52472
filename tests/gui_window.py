"""Opening the app's main window in a GUI test (pytest-qt, offscreen)."""

from __future__ import annotations

from kidneytalk.engine import Engine
from kidneytalk.ui.main_window import MainWindow

SLOW = 120_000  # ms: model loading and ingest on a busy 2-core machine


def open_window(qtbot, engine: Engine, timeout: int = SLOW) -> MainWindow:
    """The app's window on ``engine``, shown, once its start-up jobs (the first library snapshot) are done."""
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.client.pending() == 0, timeout=timeout)
    return window
