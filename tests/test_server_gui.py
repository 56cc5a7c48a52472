"""Models page: "Add model server…" with validation, a connection test off the GUI thread, and the
status bar saying where the model runs. The servers are small real HTTP servers on loopback."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from kidneytalk.engine import Engine
from kidneytalk.ui.main_window import MainWindow
from tests.test_server_errors import fake_server, free_port, reply

SLOW = 60_000  # ms


@pytest.fixture
def window(qtbot, tmp_path: Path):
    engine = Engine(tmp_path / "home")
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.client.pending() == 0, timeout=SLOW)
    yield window
    assert window.shutdown()
    engine.close()


def test_add_server_validates_tests_off_the_gui_thread_and_the_status_bar_says_where(
    qtbot, window, tmp_path
):
    page = window.models_page
    assert window.offline_label.text() == "● Offline"
    gate = threading.Event()

    def slow_models(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            gate.wait(10)  # the GUI must stay responsive meanwhile
            return reply(h, 200, {"data": [{"id": "qwen2.5-32b", "max_model_len": 32768}]})
        reply(h, 404, {"detail": "Not Found"})

    with fake_server(slow_models) as (url, _):
        dialog = page.open_server_dialog()
        dialog.name.setText("Ward GPU")
        dialog.url.setText("gpu-server:8080")  # no scheme
        dialog.test_button.click()
        assert "must start with http" in dialog.status.text()
        dialog.buttons.accepted.emit()
        assert dialog.isVisible() and dialog.fields is None  # not saved
        dialog.url.setText(url + "/v1")
        t0 = time.monotonic()
        dialog.test_button.click()
        assert time.monotonic() - t0 < 1 and not dialog.test_button.isEnabled()  # returned at once
        assert "Connecting" in dialog.status.text()
        gate.set()
        qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=SLOW)
        assert (
            "✓ Connected to 127.0.0.1" in dialog.status.text()
            and "qwen2.5-32b" in dialog.status.text()
        )
        assert "32768" in dialog.status.text()
        dialog.accept()
    qtbot.waitUntil(
        lambda: page.snapshot is not None and any(r.name == "ward-gpu" for r in page.snapshot.rows),
        timeout=SLOW,
    )
    row = next(r for r in page.snapshot.rows if r.name == "ward-gpu")
    assert row.url == url + "/v1" and row.where == url.removeprefix("http://")
    assert window.offline_label.text() == "● Offline"  # added, not yet used
    page.table.selectRow(page.snapshot.rows.index(row))
    assert page.default_button.isEnabled()
    page.default_button.click()
    qtbot.waitUntil(lambda: window.offline_label.text() == f"● Model on {row.where}", timeout=SLOW)
    assert "connects to no other host" in window.offline_label.toolTip()


def test_a_failed_connection_test_is_shown_in_the_dialog(qtbot, window):
    dialog = window.models_page.open_server_dialog()
    dialog.name.setText("down")
    dialog.url.setText(f"http://127.0.0.1:{free_port()}")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=SLOW)
    assert (
        dialog.status.text().startswith("✗ Model server 127.0.0.1:")
        and "refused" in dialog.status.text()
    )
    dialog.reject()
