"""The chat shows a reasoning model's thought collapsed under its answer, behind a toggle (pytest-qt, offscreen)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

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


def test_the_reasoning_is_collapsed_under_the_answer_and_opens_with_its_toggle(
    qtbot, tmp_path: Path
) -> None:
    engine = Engine(tmp_path / "home")
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
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
        plain = chat.transcript.toPlainText()
        assert ANSWER in plain and THOUGHT not in plain
        assert "▸ Show the model's reasoning (13 words)" in plain
        assert plain.index(ANSWER) < plain.index("Show the model's reasoning")  # under the answer

        chat._on_anchor(QUrl("reasoning:1"))
        opened = chat.transcript.toPlainText()
        assert THOUGHT in opened and "▾ Hide the model's reasoning" in opened
        assert opened.index(ANSWER) < opened.index(THOUGHT)
        found = chat.transcript.document().find(THOUGHT)
        assert found.charFormat().fontItalic()  # shown apart from the answer, muted
        chat._on_anchor(QUrl("reasoning:1"))
        assert THOUGHT not in chat.transcript.toPlainText()
        # Citation links still point at the answer's message; the thought is not exported.
        assert [h for h, _ in chat.transcript.citation_links()] == ["cite:1:1", "cite:1:1"]
        assert chat.export_to(tmp_path / "out.md")
        assert THOUGHT not in (tmp_path / "out.md").read_text(encoding="utf-8")
    finally:
        assert window.shutdown()
        engine.close()


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
