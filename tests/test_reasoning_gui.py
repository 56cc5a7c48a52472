"""The chat shows a reasoning model's thought collapsed under its answer, behind a toggle (pytest-qt, offscreen)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QUrl

from kidneytalk.answer import Answer, Evidence
from kidneytalk.conversations import Message
from kidneytalk.engine import Engine
from kidneytalk.ui.main_window import MainWindow
from kidneytalk.ui.workers import AskRequest, AskResult, EngineClient, ask_job

THOUGHT = "The primer says the threshold is thirty, so I will cite passage one."
ANSWER = "Stop metformin when eGFR falls below 30 ml/min [1]."


@pytest.fixture(scope="module")
def toggled(module_qtbot, tmp_path_factory: pytest.TempPathFactory):
    """A saved answer with a reasoning model's thought, opened, its toggle clicked twice, then
    exported. Each step records what the transcript shows; the tests below check one each."""
    folder = tmp_path_factory.mktemp("reasoning")
    engine = Engine(folder / "home")
    window = MainWindow(engine)
    seen = SimpleNamespace(export=folder / "out.md")
    try:
        window.show()
        module_qtbot.waitExposed(window)
        chat = window.chat_page
        chunk = {
            "n": 1,
            "doc_id": "x",
            "source": "primer.pdf",
            "pages": [2],
            "section": [],
            "score": 0.7,
            "text": "Stop metformin when eGFR falls below 30 ml/min.",
        }
        details = {
            "mode": "naive",
            "style": "off",
            "model": "r1",
            "refused": False,
            "chunks": [chunk],
            "citations": [
                {"n": 1, "doc_id": "x", "source": "primer.pdf", "pages": [2], "chunk_id": "x:1"}
            ],
            "sentences": [{"text": ANSWER, "supported": True}],
            "reasoning": THOUGHT,
        }
        conv = chat.store.create()
        chat.store.append(conv, Message("user", "When to stop metformin?"))
        chat.store.append(conv, Message("assistant", ANSWER, details=details))
        chat.open_conversation(conv.id)
        seen.closed = chat.transcript.toPlainText()
        chat._on_anchor(QUrl("reasoning:1"))
        seen.opened = chat.transcript.toPlainText()
        seen.thought_italic = chat.transcript.document().find(THOUGHT).charFormat().fontItalic()
        chat._on_anchor(QUrl("reasoning:1"))
        seen.closed_again = chat.transcript.toPlainText()
        seen.links = [h for h, _ in chat.transcript.citation_links()]
        seen.exported = chat.export_to(seen.export)
    finally:
        seen.shut_down = window.shutdown()
        window.close()
        engine.close()
    yield seen


def test_the_reasoning_starts_collapsed_under_the_answer_with_its_length(toggled) -> None:
    plain = toggled.closed
    assert ANSWER in plain and THOUGHT not in plain
    assert "▸ Show the model's reasoning (13 words)" in plain
    assert plain.index(ANSWER) < plain.index("Show the model's reasoning")  # under the answer


def test_the_toggle_shows_the_reasoning_under_the_answer_set_apart(toggled) -> None:
    opened = toggled.opened
    assert THOUGHT in opened and "▾ Hide the model's reasoning" in opened
    assert opened.index(ANSWER) < opened.index(THOUGHT)
    assert toggled.thought_italic  # shown apart from the answer, muted


def test_the_toggle_hides_the_reasoning_again(toggled) -> None:
    assert THOUGHT not in toggled.closed_again


def test_citation_links_still_point_at_the_answer(toggled) -> None:
    assert toggled.links == ["cite:1:1", "cite:1:1"]


def test_the_reasoning_is_not_exported(toggled) -> None:
    assert toggled.exported
    assert THOUGHT not in toggled.export.read_text(encoding="utf-8")
    assert toggled.shut_down


class ScriptedEngine(Engine):
    """An engine whose model is a reasoning model's scripted raw stream (the worker's view of any backend)."""

    def llm(self, name=None, *, on_warning=None):
        return None

    def ask(self, question: str, **kwargs: object) -> Answer:
        pieces = [
            "<think>",
            "\nThe primer says",
            " thirty.",
            "</think>\n\n",
            "Stop metformin",
            " below 30 [1].",
        ]
        return Answer.from_evidence(Evidence(question), pieces, model="scripted-r1")


def test_the_worker_streams_only_the_answer_and_says_the_model_is_thinking(
    qtbot, tmp_path: Path
) -> None:
    engine = ScriptedEngine(tmp_path / "home")
    client = EngineClient(engine)
    try:
        tokens: list[str] = []
        stages: list[str] = []
        results: list[AskResult] = []
        client.start(
            ask_job(AskRequest("When to stop metformin?")),
            done=results.append,
            progress=lambda event: stages.append(event.stage),
            token=tokens.append,
        )
        qtbot.waitUntil(lambda: bool(results))
        (result,) = results
        assert "".join(tokens) == result.text == "Stop metformin below 30 [1]."
        assert result.details["reasoning"] == "The primer says thirty."
        assert stages[-2:] == ["thinking", "answering"]
    finally:
        assert client.shutdown()
        engine.close()
