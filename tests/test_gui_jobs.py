"""Typed GUI jobs: one result type per job, delivered only to the handlers its page connected.

A fresh engine home per test, the real engine thread; no model is ever loaded.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError
from kidneytalk.ui.main_window import MainWindow
from kidneytalk.ui.workers import (
    ASK,
    AskRequest,
    AskResult,
    EngineClient,
    Job,
    JobContext,
    ask_job,
)
from tests.gui_window import open_window


@pytest.fixture
def client(qtbot, tmp_path: Path) -> Iterator[EngineClient]:
    engine = Engine(tmp_path / "home")
    client = EngineClient(engine)
    yield client
    assert client.shutdown()
    engine.close()


def _blocker(client: EngineClient) -> threading.Event:
    """Start a job that holds the engine thread until the returned event is set."""
    release = threading.Event()
    client.start(Job("hold", lambda ctx: release.wait(30)))
    return release


def test_a_job_delivers_its_typed_result_after_its_progress_and_the_busy_state(
    qtbot, client: EngineClient
) -> None:
    events: list[object] = []
    outcome: list[tuple[int, int]] = []  # (result, jobs pending when the handler ran)

    def count(ctx: JobContext) -> int:
        for i in range(20):
            ctx.progress(i)
        return 42

    client.start(
        Job("count", count),
        done=lambda n: outcome.append((n, client.pending())),
        failed=lambda message: pytest.fail(message),
        progress=events.append,
    )
    assert client.pending("count") == 1
    qtbot.waitUntil(lambda: bool(outcome))
    assert outcome == [(42, 0)]
    assert events == list(range(20))  # all of them, in order, before the result


def test_a_user_error_reaches_only_its_job_as_one_line(qtbot, client: EngineClient) -> None:
    mine: list[str] = []
    other: list[object] = []

    def refuse(ctx: JobContext) -> int:
        raise KidneyTalkError("No document 'abc' in the library.")

    client.start(Job("other", lambda ctx: "fine"), done=other.append, failed=other.append)
    client.start(
        Job("refuse", refuse), done=lambda _n: pytest.fail("no result"), failed=mine.append
    )
    qtbot.waitUntil(lambda: bool(mine) and bool(other))
    assert mine == ["No document 'abc' in the library."]
    assert other == ["fine"]
    assert client.pending() == 0


def test_a_bug_in_a_job_names_the_error_and_the_log(qtbot, client: EngineClient) -> None:
    messages: list[str] = []

    def broken(ctx: JobContext) -> None:
        raise RuntimeError("disk on fire")

    client.start(Job("remove", broken), failed=messages.append)
    qtbot.waitUntil(lambda: bool(messages))
    first, *rest = messages[0].splitlines()
    assert first == "Unexpected error while removing documents: RuntimeError: disk on fire"
    assert client.engine.log_path in rest


def test_stopping_a_queued_question_answers_stopped_without_loading_a_model(
    qtbot, client: EngineClient
) -> None:
    release = _blocker(client)
    results: list[AskResult] = []
    job = client.start(ask_job(AskRequest("What dose of metformin?")), done=results.append)
    assert client.pending(ASK) == 1
    client.stop_answer()
    assert job.cancelled
    release.set()
    qtbot.waitUntil(lambda: bool(results))
    (result,) = results
    assert result.stopped and result.text == "" and not result.refused
    assert client.engine.llm_name == ""  # the engine was never asked
    assert client.pending() == 0


def test_cancel_reaches_the_running_job_only(qtbot, client: EngineClient) -> None:
    started = threading.Event()

    def wait_for_cancel(ctx: JobContext) -> str:
        started.set()
        return "cancelled" if ctx.cancel.wait(30) else "timed out"

    results: list[str] = []
    running = client.start(Job("wait", wait_for_cancel), done=results.append)
    after = client.start(Job("after", lambda ctx: "ran" if not ctx.cancel.is_set() else "x"))
    after_results: list[str] = []
    after.done.connect(after_results.append)
    qtbot.waitUntil(started.is_set)
    # The busy state reaches the GUI thread through a queued signal, which may come after the
    # job has started on the engine thread: wait for it rather than read it at once.
    qtbot.waitUntil(lambda: client.running == "wait")
    running.cancel()
    qtbot.waitUntil(lambda: bool(results) and bool(after_results))
    assert results == ["cancelled"] and after_results == ["ran"]


def test_settings_reach_the_gui_thread_as_a_new_snapshot(qtbot, client: EngineClient) -> None:
    before = client.settings
    seen: list[object] = []
    client.settings_changed.connect(seen.append)
    saved: list[object] = []
    client.start(
        Job("save", lambda ctx: ctx.engine.save_settings(ctx.engine.settings.replace(top_k=9))),
        done=saved.append,
    )
    qtbot.waitUntil(lambda: bool(saved))
    assert client.settings.top_k == 9 and before.top_k != 9
    assert seen == [client.settings]  # sent before the job's result


# ---------------------------------------------------------------- the chat page's question job
@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:
    engine = Engine(tmp_path / "home")
    window = open_window(qtbot, engine)
    yield window
    assert window.shutdown()
    engine.close()


def _ask(qtbot, window: MainWindow, question: str) -> None:
    chat = window.chat_page
    window.show_page(chat)
    chat.question.setPlainText(question)
    chat.send_button.click()
    assert chat.asking and chat.stop_button.isEnabled() and not chat.send_button.isEnabled()


def test_stop_while_the_question_waits_saves_nothing_and_loads_no_model(
    qtbot, window: MainWindow
) -> None:
    release = _blocker(window.client)
    chat = window.chat_page
    _ask(qtbot, window, "When should metformin be stopped?")
    chat.stop_button.click()
    assert chat.state_label.text() == "Stopping…"
    release.set()
    qtbot.waitUntil(lambda: chat.result is not None)
    assert chat.result.stopped and chat.result.text == ""
    assert chat.state_label.text() == "Stopped. Nothing was written; the question was not saved."
    assert chat.store.list() == [] and window.engine.llm_name == ""
    assert chat.send_button.isEnabled()
