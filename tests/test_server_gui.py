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
from tests.gui_window import open_window
from tests.test_server_errors import fake_server, free_port, reply

SLOW = 60_000  # ms


@pytest.fixture
def window(qtbot, tmp_path: Path):
    engine = Engine(tmp_path / "home")
    window = open_window(qtbot, engine)
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


# ---------------------------------------------------------------- where the model runs: GPU layers
def test_gpu_layers_control_validates_like_the_setting_and_says_whether_this_build_has_a_gpu(
    qtbot, window
):
    from kidneytalk.config import Settings
    from kidneytalk.llm import gpu_offload_supported, where_it_runs
    from kidneytalk.ui.models_page import ModelsPage

    page = window.models_page
    qtbot.waitUntil(lambda: page.snapshot is not None, timeout=SLOW)
    window.show_page(page)
    assert page.gpu_layers.currentText() == "Automatic" and not page.save_button.isEnabled()
    supported = gpu_offload_supported()
    assert page.snapshot.gpu_offload is supported
    if supported:
        assert "can run model layers on the GPU" in page.gpu_support.text()
    else:
        assert page.gpu_support.text().startswith(
            "This build has no GPU support; see README to build with CUDA/Metal/Vulkan"
        )
    # What the setting refuses, the page refuses, with the setting's own one-line reason.
    for bad in ("-2", "lots", "2.5"):
        page.gpu_layers.setEditText(bad)
        assert not page.save_button.isEnabled(), bad
        assert page.gpu_problem.isVisibleTo(page) and "llm.n_gpu_layers" in page.gpu_problem.text()
    page.gpu_layers.setEditText("12")
    assert page.gpu_layers_value() == 12 and not page.gpu_problem.isVisibleTo(page)
    assert page.save_button.isEnabled()
    page.save_button.click()
    qtbot.waitUntil(lambda: page.snapshot.llm.n_gpu_layers == 12, timeout=SLOW)
    assert Settings.load(window.engine.paths).llm.n_gpu_layers == 12
    bundled = next(r for r in page.snapshot.rows if r.bundled)
    runs_on = page.table.item(page.snapshot.rows.index(bundled), ModelsPage.RUNS_ON).text()
    assert runs_on == bundled.runs_on == where_it_runs(12, bundled.info.n_layers)
    assert runs_on == (
        "CPU" if not supported else f"GPU (12 of {bundled.info.n_layers} layers, the rest on CPU)"
    )
    page.gpu_layers.setCurrentIndex(page.gpu_layers.findData(0))  # "CPU only"
    assert page.gpu_layers_value() == 0
    page.save_button.click()
    qtbot.waitUntil(lambda: page.snapshot.llm.n_gpu_layers == 0, timeout=SLOW)
    assert page.gpu_layers.currentText() == "CPU only"
    page.gpu_layers.setCurrentIndex(page.gpu_layers.findData("auto"))
    page.save_button.click()
    qtbot.waitUntil(lambda: page.snapshot.llm.n_gpu_layers == "auto", timeout=SLOW)
    assert Settings.load(window.engine.paths).llm.n_gpu_layers == "auto"
