"""Ask page: a question box, the answer as it streams, then its sources.

Enter sends, Shift+Enter starts a new line, Esc stops the answer. The answer
keeps the model's ``[n]`` markers; the Sources list underneath says which
document and page each number is (hover for the passage). When the model gave
no markers, the passages it was given are listed instead; a refusal ("not in
your library") is shown as such, with what to check.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kidneytalk import catalog as cat
from kidneytalk.records import Hit, pages_label

from .dialogs import show_error
from .workers import ADD, ASK, AskResult, AskStage, EngineClient, LibrarySnapshot

_PASSAGE_TIP_CHARS = 700


class QuestionEdit(QPlainTextEdit):
    """Plain text box where Enter submits and Shift+Enter inserts a newline."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


def _passage_tip(hit: Hit) -> str:
    text = " ".join(hit.text.split())
    if len(text) > _PASSAGE_TIP_CHARS:
        text = text[:_PASSAGE_TIP_CHARS] + "…"
    section = " › ".join(hit.section)
    head = f"{hit.doc_name} {hit.pages_label}" + (f" — {section}" if section else "")
    return f"<b>{html.escape(head)}</b><br>{html.escape(text)}"


def _section_suffix(hit: Hit) -> str:
    return f"  —  {' › '.join(hit.section)}" if hit.section else ""


class AskPage(QWidget):
    message = Signal(str)  # for the status bar

    def __init__(self, client: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("askPage")
        self.client = client
        self.result: AskResult | None = None
        self.error_box = None
        self._tokens = 0

        title = QLabel("Ask")
        title.setObjectName("pageTitle")
        subtitle = QLabel("Answers come only from the documents in your library, with the pages they rely on.")
        subtitle.setObjectName("pageSubtitle")
        subtitle.setWordWrap(True)
        self.library_note = QLabel("")
        self.library_note.setObjectName("noteLabel")
        self.library_note.setWordWrap(True)
        self.library_note.hide()

        self.question = QuestionEdit()
        self.question.setObjectName("questionBox")
        self.question.setPlaceholderText("Type a clinical question, e.g. When should metformin be stopped in CKD?")
        self.question.setTabChangesFocus(True)
        self.question.setFixedHeight(84)
        self.question.submitted.connect(self.ask)

        hint = QLabel("Enter to ask · Shift+Enter for a new line · Esc to stop")
        hint.setObjectName("hintLabel")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.ask_button = QPushButton("Ask")
        self.ask_button.setObjectName("primaryButton")
        self.ask_button.setDefault(True)
        self.ask_button.clicked.connect(self.ask)
        buttons = QHBoxLayout()
        buttons.addWidget(hint, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.ask_button)

        self.state_label = QLabel("")
        self.state_label.setObjectName("stateLabel")
        self.state_label.setWordWrap(True)
        self.asked_label = QLabel("")
        self.asked_label.setObjectName("askedLabel")
        self.asked_label.setWordWrap(True)
        self.asked_label.setTextFormat(Qt.TextFormat.PlainText)
        self.asked_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.asked_label.hide()

        self.answer_view = QTextBrowser()
        self.answer_view.setObjectName("answerView")
        self.answer_view.setReadOnly(True)
        self.answer_view.setOpenLinks(False)
        self.answer_view.setPlaceholderText("The answer appears here as it is written.")
        self.answer_view.document().setDocumentMargin(10)

        self.sources_label = QLabel("Sources")
        self.sources_label.setObjectName("sectionLabel")
        self.sources = QListWidget()
        self.sources.setObjectName("sourcesList")
        self.sources.setAlternatingRowColors(True)
        self.sources_label.hide()
        self.sources.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addWidget(self.library_note)
        layout.addSpacing(4)
        layout.addWidget(self.question)
        layout.addLayout(buttons)
        layout.addSpacing(4)
        layout.addWidget(self.asked_label)
        layout.addWidget(self.state_label)
        layout.addWidget(self.answer_view, 1)
        layout.addWidget(self.sources_label)
        layout.addWidget(self.sources)

        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        stop.activated.connect(self.stop)

        client.token.connect(self._on_token)
        client.progress.connect(self._on_progress)
        client.finished.connect(self._on_finished)
        client.failed.connect(self._on_failed)
        client.documents_changed.connect(self._on_documents)
        client.activity_changed.connect(self._update_actions)
        self._update_actions()

    # ------------------------------------------------------------ state
    @property
    def asking(self) -> bool:
        return self.client.pending(ASK) > 0

    def _update_actions(self) -> None:
        asking = self.asking
        self.ask_button.setEnabled(not asking)
        self.stop_button.setEnabled(asking)

    def _on_documents(self, snapshot: LibrarySnapshot) -> None:
        usable = [d for d in snapshot.documents if d.status == cat.STATUS_READY and d.enabled]
        if not snapshot.documents:
            self.library_note.setText("Your library is empty: add documents on the Library page first (Ctrl+O).")
        elif not usable:
            self.library_note.setText("No document is in use: tick “Use” for at least one ready document on the Library page.")
        self.library_note.setVisible(not usable)

    def _set_state(self, text: str, tone: str = "") -> None:
        self.state_label.setText(text)
        self.state_label.setProperty("tone", tone)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)

    # ------------------------------------------------------------ actions
    def ask(self) -> None:
        question = self.question.toPlainText().strip()
        if self.asking:
            return
        if not question:
            self._set_state("Type a question first.", "warn")
            self.question.setFocus()
            return
        self.result = None
        self._tokens = 0
        self.answer_view.clear()
        self.sources.clear()
        self.sources.hide()
        self.sources_label.hide()
        self.asked_label.setText(question)
        self.asked_label.show()
        if self.client.pending(ADD):
            self._set_state("Waiting for the documents being added to finish… (Esc to stop)", "busy")
        else:
            self._set_state("Starting…", "busy")
        self.client.ask(question)
        self.question.selectAll()  # typing replaces it; arrow keys keep it for editing
        self._update_actions()

    def stop(self) -> None:
        if not self.asking:
            return
        self.client.stop_answer()
        self.stop_button.setEnabled(False)
        self._set_state("Stopping…", "busy")

    # ------------------------------------------------------------ worker events
    def _on_progress(self, event: object) -> None:
        if isinstance(event, AskStage) and self.asking and self.stop_button.isEnabled():
            self._set_state(event.message, "busy")

    def _on_token(self, piece: str) -> None:
        self._tokens += 1
        cursor = self.answer_view.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.answer_view.setTextCursor(cursor)
        self.answer_view.ensureCursorVisible()

    def _on_finished(self, task: str, result: object) -> None:
        if task != ASK or not isinstance(result, AskResult):
            return
        self.result = result
        if result.refused:
            self._show_refusal(result)
        elif result.stopped:
            self._set_state("Stopped." + (" The answer above is incomplete." if result.text else ""), "warn")
        else:
            took = sum(v for k, v in result.timings.items() if k in ("retrieve", "write"))
            if result.unsupported:
                self._set_state(f"Answered in {took:.1f} s by {result.model}. ⚠ {len(result.unsupported)} sentence(s) "
                                "are not supported by their cited passage — do not rely on them.", "warn")
                self._mark_unsupported(result.unsupported)
            else:
                self._set_state(f"Answered in {took:.1f} s by {result.model}. Check the sources before relying on it.",
                                "ok")
        self._show_sources(result)
        self._update_actions()

    def _mark_unsupported(self, sentences: list[str]) -> None:
        """Highlight answer sentences that their citations do not support."""
        from PySide6.QtGui import QColor, QTextCharFormat

        fmt = QTextCharFormat()
        fmt.setBackground(QColor("#fde2e1"))
        fmt.setToolTip("Not supported by the cited passage")
        doc = self.answer_view.document()
        for sentence in sentences:
            cursor = doc.find(sentence)
            if not cursor.isNull():
                cursor.mergeCharFormat(fmt)

    def _on_failed(self, task: str, message: str) -> None:
        if task != ASK:
            return
        self._set_state("The question could not be answered.", "error")
        self.error_box = show_error(self, "Could not answer", message)
        self._update_actions()

    def _show_refusal(self, result: AskResult) -> None:
        self._set_state("Not found in your library.", "warn")
        self.answer_view.setHtml(
            f"<p><i>{html.escape(result.text)}</i></p>"
            "<p style='color:#5f6368'>KidneyTalk only answers from your documents. Check that the guideline "
            "covering this question is in the library and ticked “Use”, or rephrase the question with the "
            "terms the guideline uses.</p>"
        )

    def _show_sources(self, result: AskResult) -> None:
        self.sources.clear()
        if result.refused or not result.evidence:
            return
        if result.citations:
            self.sources_label.setText("Sources")
            for c in result.citations:
                item = QListWidgetItem(f"[{c.n}] {c.source} {pages_label(c.pages[0], c.pages[-1])}")
                if 1 <= c.n <= len(result.evidence):
                    hit = result.evidence[c.n - 1]
                    item.setText(item.text() + _section_suffix(hit))
                    item.setToolTip(_passage_tip(hit))
                self.sources.addItem(item)
        else:
            self.sources_label.setText("Sources — the model cited no passage; these are the passages it was given:")
            for i, hit in enumerate(result.evidence, start=1):
                item = QListWidgetItem(f"[{i}] {hit.doc_name} {hit.pages_label}{_section_suffix(hit)}")
                item.setToolTip(_passage_tip(hit))
                self.sources.addItem(item)
        rows = min(self.sources.count(), 6)
        frame = 2 * self.sources.frameWidth()
        self.sources.setFixedHeight(frame + rows * max(self.sources.sizeHintForRow(0), 1) + 2)
        self.sources_label.show()
        self.sources.show()
