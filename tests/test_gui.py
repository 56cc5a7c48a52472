"""The desktop app, driven like a user would, with the real engine and the real tiny models.

Every engine call runs in the app's worker thread; the tests only click, type
and wait (``qtbot.waitUntil``) for what the window shows.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
)
from PySide6.QtWidgets import QMessageBox

from kidneytalk.engine import Engine
from kidneytalk.retrieval import naive
from kidneytalk.ui.dialogs import CrashReporter
from kidneytalk.ui.library_page import EMPTY_HINT, DocumentTableModel
from kidneytalk.ui.main_window import MainWindow, PlaceholderPage
from tests.conftest import SHARED
from tests.gui_window import open_window

CORPUS = SHARED / "eval" / "pubmedqa-dev" / "corpus"
PDF = CORPUS / "dev-digest-001.pdf"  # the document QUESTION is about
OTHERS = (CORPUS / "dev-digest-009.pdf", CORPUS / "dev-digest-012.pdf")  # about other things
QUESTION = "How does type 1 diabetes change the Achilles tendon response to running?"
SLOW = 120_000  # ms; model loading and ingest on a 2-core machine


@pytest.fixture
def empty_window(qtbot, tmp_path: Path):
    """A window on a fresh home; no model is ever loaded."""
    engine = Engine(tmp_path / "home")
    window = open_window(qtbot, engine)
    yield window
    assert window.shutdown()  # the worker thread ends before the engine closes
    engine.close()


@pytest.fixture
def window(qtbot, engine_llm: Engine):
    """A window on a fresh home, with the session's embedder and LLM."""
    window = open_window(qtbot, engine_llm)
    yield window
    assert window.shutdown()


def _status(window: MainWindow, row: int = 0) -> str:
    model = window.library_page.model
    return model.data(model.index(row, DocumentTableModel.STATUS))


def test_window_opens_on_the_empty_library_hint(empty_window: MainWindow) -> None:
    w = empty_window
    assert w.windowTitle() == "KidneyTalk"
    assert (w.width(), w.height()) == (1100, 720)
    names = [w.sidebar.item(i).text() for i in range(w.sidebar.count())]
    assert names == ["Library", "Chat", "Models", "Evaluation", "Settings"]
    assert w.pages.currentWidget() is w.welcome_page  # first run (tests/test_welcome.py)
    w.show_page(w.library_page)
    assert w.pages.currentWidget() is w.library_page
    assert w.library_page.empty_hint.isVisible()
    assert EMPTY_HINT in w.library_page.empty_hint.text()
    assert not w.library_page.table.isVisible()
    assert not w.library_page.progress_panel.isVisible()
    for i in range(w.pages.count()):  # pages not built yet say so
        if isinstance(page := w.pages.widget(i), PlaceholderPage):
            assert page.body.text().startswith("Coming soon")
    w.sidebar.setCurrentRow(1)
    assert w.pages.currentWidget() is w.chat_page
    assert "library is empty" in w.chat_page.library_note.text()


def _mime(*, urls: tuple[Path, ...] = (), text: str = "") -> QMimeData:
    mime = QMimeData()
    if urls:
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in urls])
    if text:
        mime.setText(text)
    return mime


def test_dragging_files_is_accepted_and_dragging_text_is_not(
    empty_window: MainWindow, tmp_path: Path
) -> None:
    page = empty_window.library_page
    files = _mime(urls=(tmp_path,))  # events do not own their mime data: keep a reference
    drag = QDragEnterEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        files,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.dragEnterEvent(drag)
    assert drag.isAccepted()
    words = _mime(text="metformin")
    drag = QDragEnterEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        words,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.dragEnterEvent(drag)
    assert not drag.isAccepted()


def test_user_errors_and_bugs_in_the_worker_become_dialogs(
    qtbot, empty_window: MainWindow, monkeypatch
) -> None:
    page, client = empty_window.library_page, empty_window.client
    page.set_enabled("no-such-doc", False)  # a KidneyTalkError: its message, as is
    qtbot.waitUntil(lambda: page.error_box is not None and page.error_box.isVisible())
    assert "No document 'no-such-doc'" in page.error_box.text()
    page.error_box.close()

    def broken(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(empty_window.engine.library, "remove", broken)
    page.error_box = None
    page.remove(["abc"])  # a bug: a dialog that points to the log, the traceback in the log
    qtbot.waitUntil(lambda: page.error_box is not None and page.error_box.isVisible())
    assert (
        "Unexpected error while removing documents: RuntimeError: disk on fire"
        in page.error_box.text()
    )
    assert empty_window.engine.log_path in page.error_box.text()
    log_text = Path(empty_window.engine.log_path).read_text(encoding="utf-8")
    assert "Traceback" in log_text and "disk on fire" in log_text
    assert client.pending() == 0


def test_crash_report_dialog_shows_a_copyable_report_and_the_log_path(qtbot) -> None:
    reporter = CrashReporter(
        "/somewhere/logs/kidneytalk.log"
    )  # handle() directly: nothing installed
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
    dialog = reporter.dialog
    qtbot.addWidget(dialog)
    report = dialog.report.toPlainText()
    assert "ZeroDivisionError: boom" in report
    assert "/somewhere/logs/kidneytalk.log" in report
    dialog.copy_button.click()
    assert "ZeroDivisionError: boom" in QGuiApplication.clipboard().text()


def test_question_on_an_empty_library_is_refused_and_enter_sends(qtbot, window: MainWindow) -> None:
    page = window.chat_page
    window.sidebar.setCurrentRow(1)
    page.question.setFocus()
    qtbot.keyClicks(page.question, "What dose")
    qtbot.keyClick(page.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(page.question, "of metformin?")
    assert (
        page.question.toPlainText() == "What dose\nof metformin?"
    )  # Shift+Enter: new line, not sent
    assert page.result is None
    tokens: list[str] = []
    window.client.job_started.connect(lambda job: job.token.connect(tokens.append))

    qtbot.keyClick(page.question, Qt.Key.Key_Return)
    assert not page.send_button.isEnabled() and page.stop_button.isEnabled()
    qtbot.waitUntil(lambda: page.result is not None, timeout=SLOW)

    assert page.result.refused
    assert tokens
    assert "does not contain the answer" in page.transcript.toPlainText()
    assert page.state_label.text() == "Not found in your library."
    assert "Sources:" not in page.transcript.toPlainText()
    assert page.send_button.isEnabled() and not page.stop_button.isEnabled()


@pytest.fixture(scope="module")
def library_story(module_qtbot, module_engine_llm: Engine):
    """A library's life, run once: a cancelled add, a dropped add of three PDFs, a question
    stopped at once, one document disabled and asked around, then removed. Each step records
    what the window shows; the tests below check one behaviour each."""
    if not all(p.exists() for p in (PDF, *OTHERS)):
        pytest.skip(f"shared corpus not found at {CORPUS}")
    qtbot, engine = module_qtbot, module_engine_llm
    window = open_window(qtbot, engine)
    lib, client = window.library_page, window.client
    seen = SimpleNamespace()
    try:
        # Cancel straight away: nothing is kept, the empty hint stays.
        lib.add_paths([str(PDF)])
        lib.cancel_button.click()
        qtbot.waitUntil(lambda: not lib.adding, timeout=SLOW)
        seen.cancelled = SimpleNamespace(
            rows=lib.model.rowCount(),
            hint=lib.empty_hint.isVisible(),
            status=window.statusBar().currentMessage(),
            documents=engine.library.documents(),
        )

        # The real import of three PDFs: the event loop keeps turning while the worker ingests.
        ticks = [0]
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
        timer.start(20)
        seen.ticks_at_progress = ticks_at_progress = []
        progress_events: list[object] = []

        def on_progress(event: object) -> None:
            ticks_at_progress.append(ticks[0])
            progress_events.append(event)

        client.job_started.connect(lambda job: job.progress.connect(on_progress))
        mime = _mime(urls=(PDF, *OTHERS))  # kept: the event does not own it
        drop = QDropEvent(
            QPointF(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        lib.dropEvent(drop)  # dropped onto the page, as from a file manager
        seen.while_adding = (lib.progress_panel.isVisible(), lib.add_button.isEnabled())
        start = ticks[0]
        qtbot.waitUntil(lambda: not lib.adding, timeout=SLOW)
        timer.stop()
        seen.ticks_while_adding = ticks[0] - start
        # the ticks at the last progress event of each file
        seen.ticks_per_file = {
            e.file_index: t for t, e in zip(ticks_at_progress, progress_events, strict=True)
        }
        seen.rows, seen.table_shown = lib.model.rowCount(), lib.table.isVisible()
        seen.hint_after_add = lib.empty_hint.isVisible()
        seen.statuses = [_status(window, r) for r in range(seen.rows)]
        seen.names = [
            lib.model.data(lib.model.index(r, DocumentTableModel.NAME)) for r in range(seen.rows)
        ]
        row = seen.names.index(PDF.name)
        seen.pages = lib.model.data(lib.model.index(row, DocumentTableModel.PAGES))
        seen.progress_after_add = lib.progress_panel.isVisible()
        seen.added_status = window.statusBar().currentMessage()

        # The Chat page sees a usable library (asking is tested in test_gui_chat.py).
        chat = window.chat_page
        window.sidebar.setCurrentRow(1)
        seen.library_note = chat.library_note.isVisible()

        # Stop right after asking: the answer ends as stopped and the question is not saved.
        chat.question.setPlainText(QUESTION)
        chat.ask()
        chat.stop()
        qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
        seen.stopped, seen.stopped_state = chat.result.stopped, chat.state_label.text()

        # The question's own document is what a search finds first while it is in use.
        seen.doc_id = doc_id = next(d.id for d in engine.library.documents() if d.name == PDF.name)
        seen.found_first = naive.search(engine.library, QUESTION, 4)[0].doc_id

        # Untick "Use": the catalog says disabled.
        window.sidebar.setCurrentRow(0)
        lib.table.setFocus()
        lib.table.setCurrentIndex(lib.model.index(row, DocumentTableModel.USE))
        qtbot.keyClick(lib.table, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: engine.library.catalog.get(doc_id).enabled is False)
        qtbot.waitUntil(lambda: client.pending() == 0)
        seen.use_box = lib.model.data(
            lib.model.index(row, DocumentTableModel.USE), Qt.ItemDataRole.CheckStateRole
        )
        seen.disabled_status = window.statusBar().currentMessage()

        # Asked again, the answer leaves the disabled document out.
        window.sidebar.setCurrentRow(1)
        chat.new_chat()
        chat.set_options("naive", "cp-order")
        chat.question.setPlainText(QUESTION)
        chat.ask()
        qtbot.waitUntil(lambda: not chat.asking, timeout=SLOW)
        seen.result = chat.result
        seen.transcript = chat.transcript.toPlainText()

        # Remove it after confirming: the other two stay.
        window.sidebar.setCurrentRow(0)
        lib.table.selectRow(row)
        lib.remove_button.click()
        seen.asked_to_confirm = lib.confirm_box is not None
        lib.confirm_box.button(QMessageBox.StandardButton.Yes).click()
        qtbot.waitUntil(lambda: lib.model.rowCount() == 2 and client.pending() == 0, timeout=SLOW)
        seen.left = sorted(d.name for d in engine.library.documents())
    finally:
        seen.shut_down = window.shutdown()
    yield seen


def test_an_add_cancelled_at_once_keeps_nothing(library_story) -> None:
    cancelled = library_story.cancelled
    assert cancelled.rows == 0 and cancelled.hint
    assert "cancelled" in cancelled.status
    assert cancelled.documents == []


def test_a_dropped_add_shows_its_progress_and_disables_adding_meanwhile(library_story) -> None:
    assert library_story.while_adding == (True, False)  # progress shown, Add disabled


def test_the_window_keeps_responding_while_pdfs_are_ingested(library_story) -> None:
    assert library_story.ticks_while_adding >= 5, "the GUI thread was blocked during the ingest"
    ticks = library_story.ticks_at_progress
    assert len(ticks) >= 3 and ticks[-1] > ticks[0]
    # the timer fired between the files, not only before and after the whole add
    assert len(set(library_story.ticks_per_file.values())) >= 2


def test_added_pdfs_are_listed_ready_with_their_names_and_pages(library_story) -> None:
    story = library_story
    assert story.rows == 3 and story.table_shown and not story.hint_after_add
    assert story.statuses == ["ready"] * 3
    assert sorted(story.names) == sorted(p.name for p in (PDF, *OTHERS))
    assert story.pages == 5


def test_a_finished_add_hides_its_progress_and_says_how_many_were_added(library_story) -> None:
    assert not library_story.progress_after_add
    assert "3 added" in library_story.added_status


def test_the_chat_page_has_no_library_note_once_documents_are_ready(library_story) -> None:
    assert not library_story.library_note


def test_a_question_stopped_at_once_ends_as_stopped(library_story) -> None:
    assert library_story.stopped
    assert library_story.stopped_state.startswith("Stopped")


def test_unticking_use_disables_the_document(library_story) -> None:
    assert library_story.found_first == library_story.doc_id  # while in use, it is found first
    assert library_story.use_box == Qt.CheckState.Unchecked
    assert "no longer used" in library_story.disabled_status


def test_a_disabled_document_is_left_out_of_answers(library_story) -> None:
    result, doc_id = library_story.result, library_story.doc_id
    assert result is not None and not result.stopped
    assert result.refused or result.evidence  # from the other documents, or refused
    assert all(h.doc_id != doc_id for h in result.evidence)
    assert all(c.doc_id != doc_id for c in result.citations)
    assert PDF.name not in library_story.transcript
    if not result.refused:
        assert {h.doc_name for h in result.evidence} <= {p.name for p in OTHERS}


def test_remove_asks_first_and_keeps_the_other_documents(library_story) -> None:
    assert library_story.asked_to_confirm
    assert library_story.left == sorted(p.name for p in OTHERS)
    assert library_story.shut_down
