"""The Chat page with a model server that is down, answers junk, never answers or stalls mid-reply
(issue 13, point 3: clear messages, and the window never hangs).

Real HTTP servers on loopback stand in for the ward's model server; the library holds the
sample document, so the question passes the relevance gate and reaches the model. While a
request waits, a timer of the event loop must keep firing, and the Stop button must end a
stalled answer long before the server's reply timeout. No model is loaded in this process.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer

from kidneytalk.engine import Engine, sample_document
from kidneytalk.ui.main_window import MainWindow
from tests.gui_window import open_window
from tests.test_server_errors import fake_server, free_port, reply

SLOW = 120_000  # ms
QUESTION = "When should metformin be stopped?"


class Ward:
    """A model server whose behaviour the test switches: "junk", "silent" or "stall"."""

    def __init__(self) -> None:
        self.mode = "junk"
        self.release = threading.Event()  # lets silent and stalled handlers finish at the end
        self.stalled: list[tuple[str, bool]] = []  # (path, streamed) of the requests held

    def __call__(self, h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if self.mode == "junk":
            return reply(h, 200, b"<html>Wi-Fi login page</html>", "text/html")
        if self.mode == "silent":  # connected, never a reply
            self.release.wait(30)
            return
        if path == "/v1/models":
            return reply(h, 200, {"object": "list", "data": [{"id": "ward-70b"}]})
        if path in ("/v1/chat/completions", "/v1/completions"):
            self.stalled.append((path, bool(body.get("stream"))))
            h.send_response(200)  # headers, then nothing: the server stalls mid-reply
            h.send_header("Content-Type", "text/event-stream")
            h.end_headers()
            self.release.wait(30)
            h.close_connection = True
            return
        reply(h, 404, {"detail": "Not Found"})


@pytest.fixture
def ward() -> Iterator[tuple[str, Ward]]:
    server = Ward()
    with fake_server(server) as (url, _):
        yield url, server
        server.release.set()


def _ask(qtbot, window: MainWindow) -> tuple[str, int, float]:
    """Ask in the chat; (the error shown or "", event-loop ticks while waiting, seconds)."""
    chat = window.chat_page
    if chat.error_box is not None:
        chat.error_box.close()
        chat.error_box = None
    ticks = [0]
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    timer.start(50)
    t0 = time.monotonic()
    chat.question.setPlainText(QUESTION)
    chat.ask()
    assert chat.asking
    qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
    timer.stop()
    error = chat.error_box.text() if chat.error_box is not None else ""
    return error, ticks[0], time.monotonic() - t0


def test_a_down_junk_or_silent_server_is_one_clear_line_and_the_window_keeps_turning(
    qtbot, engine: Engine, ward: tuple[str, Ward]
) -> None:
    url, server = ward
    down = f"127.0.0.1:{free_port()}"
    assert engine.add([sample_document()])[0].status == "added"
    engine.models.add_server("down", f"http://{down}")
    engine.models.add_server("ward", url, timeout=2)
    engine.set_default_model("down")
    window = open_window(qtbot, engine)
    try:
        error, _, _ = _ask(qtbot, window)
        assert error == f"Model server {down} refused the connection; is it running?"
        chat = window.chat_page
        assert chat.state_label.text() == "The question could not be answered."
        assert chat.send_button.isEnabled() and chat.conv is None  # nothing half-saved

        engine.set_default_model("ward")
        error, _, _ = _ask(qtbot, window)
        where = url.removeprefix("http://")
        assert error.startswith(f"Model server {where} sent an unexpected reply to /v1/models")

        server.mode = "silent"
        error, ticks, seconds = _ask(qtbot, window)
        assert error == f"Model server {where} did not reply within 2 s."
        # the window went on: a 50 ms timer fired through the wait (at least every other time)
        assert seconds >= 2 and ticks >= seconds * 10, (ticks, seconds)
        assert chat.send_button.isEnabled() and "\n" not in error
    finally:
        assert window.shutdown()


@pytest.mark.parametrize(
    ("mode", "style"),
    [
        ("addrep", "off"),  # stalls in AddRep's divergent questions: a streamed reply
        ("naive", "cp-order"),  # stalls in the sentence selection: a reply that is not streamed
    ],
)
def test_stop_ends_an_answer_from_a_stalled_server_at_once(
    qtbot, engine: Engine, ward: tuple[str, Ward], mode: str, style: str
) -> None:
    url, server = ward
    server.mode = "stall"
    assert engine.add([sample_document()])[0].status == "added"
    engine.models.add_server("ward", url, timeout=90, n_ctx=4096)
    engine.set_default_model("ward")
    window = open_window(qtbot, engine)
    try:
        chat = window.chat_page
        chat.mode_box.setCurrentIndex(chat.mode_box.findData(mode))
        chat.style_box.setCurrentIndex(chat.style_box.findData(style))
        chat.question.setPlainText(QUESTION)
        chat.ask()
        qtbot.waitUntil(lambda: chat.stop_button.isEnabled(), timeout=SLOW)
        time.sleep(1.0)  # the request is out, the server says nothing
        qtbot.wait(500)
        assert chat.asking
        t0 = time.monotonic()
        chat.stop_button.click()
        qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
        assert time.monotonic() - t0 < 5  # not the 90 s reply timeout
        assert chat.state_label.text().startswith("Stopped."), chat.state_label.text()
        streamed = mode == "addrep"
        assert server.stalled == [
            ("/v1/chat/completions" if streamed else "/v1/completions", streamed)
        ]
    finally:
        assert window.shutdown()
