"""The Chat page and the evidence panel, driven like a user would, on the real engine and models.

A PDF is added, a question is asked, the answer streams in, a citation is
clicked and the evidence panel shows the passage and its page; the
conversation survives restarting the window. Rendering details (unsupported
sentences, refusals) are checked on hand-written conversations.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QMessageBox

from kidneytalk.conversations import ConversationStore, Message
from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError
from kidneytalk.ui.chat_page import ChatPage
from kidneytalk.ui.evidence_panel import heat_map_html
from kidneytalk.ui.main_window import MainWindow
from kidneytalk.ui.page_view import render_page
from tests.conftest import shared_pdf

QUESTION = "How does type 1 diabetes change the Achilles tendon response to running?"
FOLLOW_UP = "What did the ultrasound show after four days?"
SLOW = 150_000  # ms; model loading, ingest and answers on a 2-core machine
# A cited passage for hand-written conversations.
KDIGO_CHUNK = {
    "n": 1,
    "doc_id": "x",
    "source": "kdigo.pdf",
    "pages": [4],
    "section": [],
    "score": 0.7,
    "text": "Stop metformin when eGFR falls below 30 ml/min.",
}


def _open(qtbot, engine: Engine) -> MainWindow:
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # shortcuts (Esc, Ctrl+N) go to the active window
    qtbot.waitActive(window)
    qtbot.waitUntil(lambda: window.client.pending() == 0)  # first library snapshot arrived
    return window


@pytest.fixture
def open_window(qtbot, tmp_path: Path):
    """Opens a window on ``tmp_path/home`` (no model is loaded); shut down with its engine afterwards."""
    opened: list[tuple[MainWindow, Engine]] = []

    def open_() -> MainWindow:
        engine = Engine(tmp_path / "home")
        opened.append((_open(qtbot, engine), engine))
        return opened[-1][0]

    yield open_
    for window, engine in opened:
        assert window.shutdown()
        engine.close()


class AskSpy:
    """Records the arguments of every ``Engine.ask`` (called in the worker thread)."""

    def __init__(self, engine: Engine):
        self.calls: list[dict[str, object]] = []
        self._ask = engine.ask

    def __call__(self, question: str, **kwargs: object):
        self.calls.append({"question": question, **kwargs})
        return self._ask(question, **kwargs)


def _click_first_citation(qtbot, page: ChatPage) -> str:
    """Click the first [n] in the answer text with the mouse; returns its link."""
    links = page.transcript.citation_links()
    assert links, "the answer has no citation link"
    href, cursor = links[0]
    start, end = QTextCursor(cursor), QTextCursor(cursor)
    start.setPosition(cursor.selectionStart())
    end.setPosition(cursor.selectionEnd())
    page.transcript.setTextCursor(start)
    page.transcript.ensureCursorVisible()
    left, right = page.transcript.cursorRect(start), page.transcript.cursorRect(end)
    point = QPoint(
        (left.center().x() + right.center().x()) // 2, left.center().y()
    )  # the link's middle
    assert page.transcript.anchorAt(point) == href
    qtbot.mouseClick(page.transcript.viewport(), Qt.MouseButton.LeftButton, pos=point)
    return href


@pytest.fixture(scope="module")
def story(module_qtbot, module_engine_llm: Engine, tmp_path_factory: pytest.TempPathFactory):
    """A user's session, run once: add a PDF, open it, ask, click a citation, ask a follow-up and
    stop it, export, start a new chat, restart. Each step records what a user would see; the
    tests below check one behaviour each."""
    qtbot, engine = module_qtbot, module_engine_llm
    seen = SimpleNamespace(pdf=shared_pdf(1))
    window = _open(qtbot, engine)
    lib, client = window.library_page, window.client
    lib.add_paths([str(seen.pdf)])
    qtbot.waitUntil(lambda: not lib.adding, timeout=SLOW)
    seen.statuses = [d.status for d in engine.library.documents()]

    # The library's "Open…" shows the document's pages inside the app.
    lib.table.selectRow(0)
    dialog = lib.open_document()
    seen.dialog_opened = dialog is not None
    qtbot.waitExposed(dialog)
    seen.viewer_pages, seen.viewer_blank = dialog.view.page_count, dialog.view.pixmap.isNull()
    dialog.view.go(3)
    seen.viewer_went_to = (dialog.view.page, dialog.view.page_box.value())
    dialog.close()
    window.activateWindow()  # offscreen, nothing re-activates the window a dialog leaves
    qtbot.waitActive(window)

    with pytest.MonkeyPatch.context() as mp:
        seen.spy = spy = AskSpy(engine)
        mp.setattr(engine, "ask", spy)
        chat = window.chat_page
        window.sidebar.setCurrentRow(1)
        seen.chat_is_current = window.pages.currentWidget() is chat
        seen.fresh = (chat.conv, chat.empty_hint.isVisible(), chat.library_note.isVisible())
        chat.set_options(
            "naive", "cp-order"
        )  # the fast mode; AddRep is covered by the engine's tests

        # Ask: Enter sends, the question shows at once, tokens stream into the transcript.
        seen.live = live = []
        client.job_started.connect(
            lambda job: job.token.connect(lambda _piece: live.append(chat.transcript.live_text()))
        )
        seen.stages = stages = []
        client.job_started.connect(
            lambda job: job.progress.connect(lambda ev: stages.append(getattr(ev, "message", "")))
        )
        chat.question.setFocus()
        qtbot.keyClicks(chat.question, QUESTION)
        qtbot.keyClick(chat.question, Qt.Key.Key_Return)
        seen.at_send = SimpleNamespace(
            transcript=chat.transcript.toPlainText(),
            question_box=chat.question.toPlainText(),
            stop_visible=chat.stop_button.isVisible(),
            send_enabled=chat.send_button.isEnabled(),
        )
        qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
        seen.result = result = chat.result
        seen.answered_state = chat.state_label.text()
        seen.answered_transcript = chat.transcript.toPlainText()

        # Clicking [n] opens the evidence panel: passage, source and page, the page image.
        href = _click_first_citation(qtbot, chat)
        qtbot.waitUntil(chat.evidence.isVisible)
        seen.n = n = int(href.split(":")[2])
        seen.chunk = result.details["chunks"][n - 1]
        ev = chat.evidence
        seen.evidence = SimpleNamespace(
            source=ev.source_label.text(),
            text=ev.text_view.toPlainText(),
            scores=ev.scores_label.text(),
            blank=ev.page_view.pixmap.isNull(),
            page=ev.page_view.page,
            highlights=ev.page_view.highlights,
        )

        # The conversation is saved, with its mode and style.
        seen.convs = convs = client.conversations.list()
        seen.saved = client.conversations.get(convs[0].id)
        seen.listed = (chat.conv_list.count(), chat.conv_list.currentItem().text())

        # A follow-up, written freely (style "off": token by token), carries the conversation so
        # far; Esc stops it while it streams.
        chat.set_options("naive", "off")
        seen.style_saved = client.conversations.get(convs[0].id).style
        first_tokens = len(live)
        qtbot.keyClicks(chat.question, FOLLOW_UP)
        qtbot.keyClick(chat.question, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: len(live) > first_tokens + 2, timeout=SLOW)
        qtbot.keyClick(chat.question, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
        seen.streamed = live[first_tokens:]
        seen.stopped, seen.stopped_state = chat.result.stopped, chat.state_label.text()
        seen.messages_after_stop = len(client.conversations.get(convs[0].id).messages)
        seen.stopped_transcript = chat.transcript.toPlainText()

    # Export to Markdown: questions, answers and their sources.
    seen.export = tmp_path_factory.mktemp("export") / "chat.md"
    seen.exported = chat.export_to(seen.export)

    # Ctrl+N: a new, empty chat; nothing is saved until its first question.
    qtbot.keyClick(chat.question, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    seen.new_chat = (chat.conv, chat.empty_hint.isVisible(), chat.conv_list.currentItem())
    seen.convs_after_new_chat = len(client.conversations.list())

    # Restart: the last conversation is open again and its citations still work.
    seen.shut_down = window.shutdown()
    window.close()
    again = _open(qtbot, engine)
    chat = again.chat_page
    seen.reopened = chat.conv.id if chat.conv is not None else None
    seen.reopened_transcript = chat.transcript.toPlainText()
    seen.reopened_evidence = chat.show_evidence(1, n)
    seen.reopened_blank = chat.evidence.page_view.pixmap.isNull()
    seen.shut_down_again = again.shutdown()
    yield seen


def test_an_added_pdf_becomes_ready(story) -> None:
    assert story.statuses == ["ready"]


def test_open_shows_the_documents_pages_and_goes_to_a_page(story) -> None:
    assert story.dialog_opened
    assert story.viewer_pages == 5 and not story.viewer_blank
    assert story.viewer_went_to == (3, 3)


def test_the_chat_page_starts_empty_on_a_usable_library(story) -> None:
    assert story.chat_is_current
    assert story.fresh == (None, True, False)  # no conversation, the empty hint, no library note


def test_enter_sends_the_question_shows_it_at_once_and_offers_stop(story) -> None:
    assert QUESTION in story.at_send.transcript and story.at_send.question_box == ""
    assert story.at_send.stop_visible and not story.at_send.send_enabled


def test_the_answer_streams_into_the_transcript_while_stages_are_reported(story) -> None:
    assert story.result is not None and not story.result.refused and not story.result.stopped
    assert story.live and story.live[0].strip()  # shown while the answer was still being written
    assert "Searching your library…" in story.stages and "Writing the answer…" in story.stages


def test_the_first_question_is_asked_with_the_chosen_mode_and_style_and_no_history(story) -> None:
    first = story.spy.calls[0]
    assert first["mode"] == "naive" and first["style"] == "cp-order"
    assert first["history"] == []


def test_a_finished_answer_says_how_long_it_took_and_lists_its_sources(story) -> None:
    assert story.answered_state.startswith("Answered in")
    assert "Sources: [" in story.answered_transcript


def test_clicking_a_citation_shows_its_passage_source_and_highlighted_page(story) -> None:
    ev, chunk = story.evidence, story.chunk
    assert f"[{story.n}] {story.pdf.name}" in ev.source
    assert ev.text.split() == chunk["text"].split()
    assert "similarity" in ev.scores
    assert not ev.blank
    assert ev.page == chunk["pages"][0] and ev.highlights > 0


def test_the_conversation_is_saved_and_listed_with_its_mode_and_style(story) -> None:
    convs = story.convs
    assert len(convs) == 1 and convs[0].title.startswith("How does type 1 diabetes")
    assert [m.role for m in story.saved.messages] == ["user", "assistant"]
    assert (story.saved.mode, story.saved.style) == ("naive", "cp-order")
    assert story.listed == (1, convs[0].title)


def test_changing_the_style_is_saved_with_the_conversation(story) -> None:
    assert story.style_saved == "off"


def test_a_follow_up_carries_the_conversation_so_far(story) -> None:
    history = story.spy.calls[1]["history"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == QUESTION


def test_escape_stops_a_streaming_answer_and_keeps_it_marked_incomplete(story) -> None:
    streamed = story.streamed
    assert streamed[-1].startswith(streamed[0]) and len(streamed[-1]) > len(streamed[0])
    assert story.stopped and story.stopped_state.startswith("Stopped")
    assert story.messages_after_stop == 4  # the partial answer is kept, marked
    assert "Stopped: this answer is incomplete." in story.stopped_transcript


def test_export_writes_questions_answers_and_sources_as_markdown(story) -> None:
    assert story.exported
    text = story.export.read_text(encoding="utf-8")
    assert f"**Question:** {QUESTION}" in text and f"- [{story.n}] {story.pdf.name} p." in text


def test_ctrl_n_starts_an_empty_chat_that_is_not_saved_before_its_first_question(story) -> None:
    assert story.new_chat == (None, True, None)  # no conversation, the hint, nothing selected
    assert story.convs_after_new_chat == 1


def test_after_a_restart_the_last_conversation_reopens_with_working_citations(story) -> None:
    assert story.shut_down
    assert story.reopened == story.convs[0].id
    assert QUESTION in story.reopened_transcript
    assert story.reopened_evidence and not story.reopened_blank
    assert story.shut_down_again


def test_conversations_are_renamed_and_deleted_from_the_list(qtbot, tmp_path: Path) -> None:
    engine = Engine(tmp_path / "home")  # no model is loaded: nothing is asked
    store = ConversationStore(engine.paths.conversations)
    older = store.create(mode="hybrid", style="off")
    store.append(older, Message("user", "First question"))
    newer = store.create()
    store.append(newer, Message("user", "Second question"))
    store.close()
    window = _open(qtbot, engine)
    try:
        chat = window.chat_page
        assert chat.conv.id == newer.id  # the most recent one is reopened
        assert [chat.conv_list.item(i).text() for i in range(2)] == [
            "Second question",
            "First question",
        ]
        chat.conv_list.setCurrentRow(1)
        assert chat.conv.id == older.id and (chat.mode, chat.answer_style) == ("hybrid", "off")

        chat.conv_list.currentItem().setText("Metformin dosing")  # what editing in place (F2) does
        assert window.client.conversations.get(older.id).title == "Metformin dosing"
        assert chat.title_label.full_text == "Metformin dosing"

        chat.confirm_delete()
        chat.confirm_box.button(QMessageBox.StandardButton.Yes).click()
        assert [c.id for c in window.client.conversations.list()] == [newer.id]
        assert chat.conv.id == newer.id and chat.conv_list.count() == 1
    finally:
        assert window.shutdown()
        engine.close()


def test_a_failed_answer_is_reported_and_leaves_no_empty_conversation(
    qtbot, tmp_path: Path, monkeypatch
) -> None:
    engine = Engine(tmp_path / "home")

    message = "Model 'x' could not be loaded: the file /models/x.gguf is missing."

    def broken(question: str, **_kwargs: object) -> None:
        raise KidneyTalkError(message)

    monkeypatch.setattr(engine, "ask", broken)
    monkeypatch.setattr(engine, "llm", lambda **_kwargs: None)  # nothing to load before asking
    window = _open(qtbot, engine)
    try:
        chat = window.chat_page
        chat.question.setPlainText("When should metformin be stopped?")
        chat.ask()
        qtbot.waitUntil(lambda: chat.error_box is not None and chat.error_box.isVisible())
        assert chat.error_box.text() == message  # the one line, as the engine said it
        assert chat.state_label.text() == "The question could not be answered."
        assert chat.conv is None and window.client.conversations.list() == []
        assert chat.send_button.isEnabled() and not chat.empty_hint.isHidden()
    finally:
        assert window.shutdown()
        engine.close()


@pytest.fixture(scope="module")
def rendered(module_qtbot, tmp_path_factory: pytest.TempPathFactory):
    """A hand-written conversation shown in the transcript: an answer with one unsupported
    sentence, then a refusal, recorded as the transcript shows it (no model is loaded)."""
    engine = Engine(tmp_path_factory.mktemp("rendered") / "home")
    window = _open(module_qtbot, engine)
    chat = window.chat_page
    seen = SimpleNamespace()
    chunk = {**KDIGO_CHUNK, "relevance": 0.9, "reason": "Yes, it gives the threshold."}
    answer = (
        "Stop metformin when eGFR falls below 30 ml/min [1]. Metformin cures kidney failure [1]."
    )
    details = {
        "mode": "naive",
        "style": "off",
        "model": "m",
        "refused": False,
        "chunks": [chunk],
        "citations": [
            {"n": 1, "doc_id": "x", "source": "kdigo.pdf", "pages": [4], "chunk_id": "x:1"}
        ],
        "sentences": [
            {"text": "Stop metformin when eGFR falls below 30 ml/min [1].", "supported": True},
            {"text": "Metformin cures kidney failure [1].", "supported": False, "support": 0.2},
        ],
    }
    refusal = {"mode": "naive", "style": "off", "refused": True, "chunks": []}
    chat.transcript.show_conversation(
        [
            Message("user", "When to stop metformin?"),
            Message("assistant", answer, details=details),
            Message("user", "Dose of unobtainium?"),
            Message("assistant", "The library has no answer.", details=refusal),
        ]
    )
    seen.plain = chat.transcript.toPlainText()
    doc = chat.transcript.document()
    wavy = doc.find("Metformin cures kidney failure").charFormat()
    seen.unsupported = (wavy.underlineStyle(), wavy.toolTip())
    seen.supported = doc.find("Stop metformin when eGFR").charFormat().underlineStyle()
    seen.hrefs = [h for h, _ in chat.transcript.citation_links()]
    chat.conv = None
    seen.evidence_without_conversation = chat.show_evidence(1, 1)
    seen.shut_down = window.shutdown()
    engine.close()
    return seen


def test_an_unsupported_sentence_is_flagged_and_counted_under_the_answer(rendered) -> None:
    assert "⚠ Metformin cures kidney failure" in rendered.plain
    assert "One sentence is not supported by the cited passage (underlined)" in rendered.plain


def test_only_the_unsupported_sentence_is_underlined_with_a_tooltip(rendered) -> None:
    style, tooltip = rendered.unsupported
    assert style == QTextCharFormat.UnderlineStyle.WaveUnderline
    assert "Not supported" in tooltip
    assert rendered.supported != QTextCharFormat.UnderlineStyle.WaveUnderline


def test_a_refusal_is_marked_and_says_the_app_answers_only_from_the_documents(rendered) -> None:
    plain = rendered.plain
    assert "∅ The library has no answer." in plain and "only answers from your documents" in plain


def test_citation_markers_and_the_sources_entry_are_links(rendered) -> None:
    assert rendered.hrefs == ["cite:1:1", "cite:1:1", "cite:1:1"]  # two markers and Sources


def test_a_citation_shows_nothing_when_no_conversation_is_open(rendered) -> None:
    assert not rendered.evidence_without_conversation  # nothing open: nothing to show
    assert rendered.shut_down


def test_copied_spans_are_shaded_and_pages_render_with_the_passage_highlighted() -> None:
    body, share = heat_map_html(
        "Stop metformin when eGFR falls below 30. Unrelated words here.",
        "You should stop metformin when eGFR falls below 30 [1].",
    )
    assert "background-color" in body and ">Stop metformin when eGFR falls below 30<" in body
    assert 0.5 < share < 1
    pdf = shared_pdf(1)
    image, count, rects = render_page(
        pdf,
        1,
        ["Achilles tendon structure deteriorates 2-days after maximal loading in elite athletes."],
    )
    assert count == 5 and not image.isNull() and rects >= 1


def test_a_chinese_paragraph_joined_across_lines_is_highlighted_on_every_line(tmp_path) -> None:
    """Cleaning joins a Chinese paragraph's wrapped lines; the page holds it line by line."""
    import pymupdf

    from kidneytalk.ui.page_view import passage_rects

    lines = [
        "腎臟切片後一到兩個月內不要做劇烈運動，如跑步、彎腰、提重物",
        "、騎車、不要游泳、不要泡溫泉等。",
    ]
    doc = pymupdf.open()
    page = doc.new_page()
    for i, text in enumerate(lines):
        page.insert_text((72, 100 + 20 * i), text, fontname="china-t", fontsize=12)
    doc.save(tmp_path / "leaflet.pdf")
    with pymupdf.open(tmp_path / "leaflet.pdf") as pdf:
        rects = passage_rects(pdf[0], "".join(lines))
        assert pdf[0].search_for("".join(lines)) == []  # the joined sentence is not found whole
    # one box on each printed line: the overlapping pieces of a line are merged
    assert len(rects) == 2 and len({round(r.y0) for r in rects}) == 2, rects


def test_the_conversation_viewed_last_reopens_at_start(qtbot, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = Engine(home)
    store = ConversationStore(engine.paths.conversations)
    older = store.create()
    store.append(older, Message("user", "Older question"))
    newer = store.create()
    store.append(newer, Message("user", "Newer question"))
    store.close()
    window = _open(qtbot, engine)
    chat = window.chat_page
    assert chat.conv.id == newer.id  # first start: the most recently updated one
    chat.conv_list.setCurrentRow(1)  # only viewed, not changed
    assert chat.conv.id == older.id
    window.close()  # saves the window state, like quitting
    engine.close()

    engine = Engine(home)
    again = _open(qtbot, engine)
    try:
        assert again.chat_page.conv.id == older.id
        assert "Older question" in again.chat_page.transcript.toPlainText()
        assert again.chat_page.conv_list.currentItem().text() == "Older question"
        again.client.conversations.delete(older.id)  # gone by the next start: the newest opens
    finally:
        again.close()
        engine.close()
    engine = Engine(home)
    third = _open(qtbot, engine)
    try:
        assert third.chat_page.conv.id == newer.id
    finally:
        assert third.shutdown()
        engine.close()


def save_metformin_chat(home: Path, *chunks: dict) -> None:
    """A saved conversation in ``home``: the metformin question, answered once from each chunk."""
    engine = Engine(home)
    store = ConversationStore(engine.paths.conversations)
    conv = store.create()
    store.append(conv, Message("user", "When to stop metformin?"))
    for chunk in chunks:
        store.append(
            conv,
            Message(
                "assistant",
                "Stop metformin when eGFR falls below 30 ml/min [1].",
                details={"mode": "naive", "style": "off", "chunks": [chunk]},
            ),
        )
    store.close()
    engine.close()


def test_a_source_read_by_ocr_says_so_in_the_answer(tmp_path: Path, open_window) -> None:
    scanned = {**KDIGO_CHUNK, "source": "leaflet-scan.pdf", "ocr": True}
    save_metformin_chat(tmp_path / "home", scanned, KDIGO_CHUNK)
    chat = open_window().chat_page
    text = chat.transcript.toPlainText()
    assert "[1] leaflet-scan.pdf p.4 (OCR)" in text
    assert "[1] kdigo.pdf p.4" in text and "kdigo.pdf p.4 (OCR)" not in text


def test_mode_and_style_boxes_stack_when_the_chat_column_is_narrow(
    qtbot, tmp_path: Path, open_window
) -> None:
    save_metformin_chat(tmp_path / "home", KDIGO_CHUNK)
    window = open_window()
    chat = window.chat_page
    window.show_page(chat)

    def whole(box) -> bool:
        return box.isVisible() and box.width() >= box.sizeHint().width()

    window.resize(1280, 800)
    qtbot.waitUntil(
        lambda: chat.options.rows == 1 and whole(chat.mode_box) and whole(chat.style_box)
    )

    window.resize(800, 600)
    assert chat.show_evidence(1, 1)  # the panel takes a third of the width
    qtbot.waitUntil(
        lambda: chat.options.rows == 2 and whole(chat.mode_box) and whole(chat.style_box)
    )
    assert chat.style_box.y() > chat.mode_box.y()  # one under the other
    assert chat.style_box.geometry().right() <= chat.options.width()

    chat.evidence.hide()
    qtbot.waitUntil(lambda: chat.options.rows == 1)


def test_keyboard_shortcuts_are_listed_under_help(qtbot, open_window) -> None:
    window = open_window()
    assert window.shortcuts_action in window.help_menu.actions()
    window.shortcuts_action.trigger()
    dialog = window.shortcuts_dialog
    qtbot.waitExposed(dialog)
    table = dialog.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Ctrl+N"] == "New chat"
    assert rows["Ctrl+O"] == "Add documents to the library"
    assert (
        rows["Enter"] == "Send the question" and rows["Shift+Enter"] == "New line in the question"
    )
    assert rows["Esc"] == "Stop the answer being written"
    assert rows["F2"] == "Rename the selected conversation"
    assert window.show_shortcuts() is dialog  # one list, raised again
    dialog.close()


@pytest.mark.model
def test_an_off_library_question_is_refused_in_the_grey_box(qtbot, engine_llm: Engine) -> None:
    """The relevance gate refuses in the app too: the refusal box, no sources, the gate's reason kept."""
    window = _open(qtbot, engine_llm)
    try:
        lib = window.library_page
        lib.add_paths([str(shared_pdf(12))])
        qtbot.waitUntil(lambda: not lib.adding, timeout=SLOW)
        chat = window.chat_page
        window.sidebar.setCurrentRow(1)
        chat.set_options("hybrid", "cp-order")
        chat.question.setFocus()
        qtbot.keyClicks(chat.question, "Who won the 1998 football World Cup final?")
        qtbot.keyClick(chat.question, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
        result = chat.result
        assert result is not None and result.refused
        assert result.details["gate"]["answerable"] is False and result.details["citations"] == []
        plain = chat.transcript.toPlainText()
        assert "∅ The library does not contain the answer to this question." in plain
        assert "only answers from your documents" in plain and "Sources" not in plain
        # Why, in the box: the question's words the closest passages lack, and the measured check.
        missing = result.details["gate"]["missing_terms"]
        assert "football" in missing
        assert "Not found in the closest passages: " in plain and "football" in plain
        assert "Relevance check: not covered by the library: P = " in plain
    finally:
        assert window.shutdown()
