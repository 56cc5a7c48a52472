"""Chat page: saved conversations, answers with clickable citations, the evidence behind them.

Left, the conversations (newest first; F2 renames, Delete deletes, the menu
exports to Markdown). In the middle, the conversation: questions and answers
rendered from Markdown, each ``[n]`` a link that opens the evidence panel on the
right (passage, copied spans, relevance reason, page image). Sentences their
citations do not support get a wavy underline, an amber background and a
tooltip; refusals ("not in your library") are shown in their own grey box.

Every question continues its conversation: the earlier turns go to the engine
as history, with the conversation's retrieval mode and answer style. A new
chat (Ctrl+N) is a draft until its first question. Conversations are read and
written with the client's GUI-thread :class:`ConversationStore` (its own SQLite
connection); answers come from the engine worker like every engine call.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QPoint,
    QRegularExpression,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QShortcut,
    QShowEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kidneytalk import catalog as cat
from kidneytalk.catalog import Document
from kidneytalk.citations import MARKER
from kidneytalk.conversations import (
    Conversation,
    Message,
    SavedAnswer,
    SavedCheck,
    to_markdown,
)
from kidneytalk.errors import KidneyTalkError

from .dialogs import confirm, show_error
from .evidence_panel import EvidencePanel
from .i18n import QT_TRANSLATE_NOOP
from .style import ACCENT
from .workers import (
    ADD,
    ASK,
    AskRequest,
    AskResult,
    AskStage,
    EngineClient,
    LibrarySnapshot,
    ask_job,
    stage_label,
)

log = logging.getLogger("kidneytalk.ui")

MODES = ("addrep", "hybrid", "naive")
STYLES = ("cp-order", "cp-link", "cp-refine", "off")
_LABEL = {
    "addrep": "AddRep",
    "hybrid": "Hybrid",
    "naive": "Naive",
    "cp-order": "CP-Order",
    "cp-link": "CP-Link",
    "cp-refine": "CP-Refine",
    "off": "Off",
}  # names of methods: not translated

CITE_SCHEME = "cite"  # links in the transcript: cite:<message index>:<n>
REASONING_SCHEME = (
    "reasoning"  # reasoning:<message index> opens or closes a reasoning model's thought
)
UNSUPPORTED_BG = QColor("#fff1c2")
UNSUPPORTED_LINE = QColor("#c5221f")
USER_BG = QColor("#eaf1fb")
REFUSAL_BG = QColor("#f1f3f4")
MUTED = QColor("#5f6368")
NEW_TITLE = QT_TRANSLATE_NOOP("ChatPage", "New conversation")  # shown through self.tr()
_MARKER_RE = QRegularExpression(MARKER.pattern)


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


class ElidedLabel(QLabel):
    """One line of plain text cut with "…" to fit; the whole text is in the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.full_text = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        self.setText(
            self.fontMetrics().elidedText(
                self.full_text, Qt.TextElideMode.ElideRight, max(self.width(), 40)
            )
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()


def _plain(text: str) -> str:
    """A sentence as it reads once rendered: no markers, single spaces, no final stop."""
    return " ".join(MARKER.sub(" ", text).split()).rstrip(".!?。！？;；").strip()


class OptionsBar(QWidget):
    """Label + combo box pairs in one row, or one pair per row when the column is too narrow.

    The chat column can be 260 px wide (evidence panel open, small window, large
    font); the pairs then stack, labels aligned, instead of being cut off.
    """

    GAP = 10  # between pairs in one row

    def __init__(self, pairs: list[tuple[QLabel, QComboBox]], parent: QWidget | None = None):
        super().__init__(parent)
        self.pairs = pairs
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(4)
        self.rows = 0
        self._place(1)

    def one_row_width(self) -> int:
        space = self.grid.horizontalSpacing()
        pairs = [
            label.sizeHint().width() + space + box.sizeHint().width() for label, box in self.pairs
        ]
        return sum(pairs) + (space + self.GAP) * (len(pairs) - 1)

    def _place(self, rows: int) -> None:
        if rows == self.rows:
            return
        for label, box in self.pairs:
            self.grid.removeWidget(label)
            self.grid.removeWidget(box)
        for column in range(self.grid.columnCount()):
            self.grid.setColumnStretch(column, 0)
            self.grid.setColumnMinimumWidth(column, 0)
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for i, (label, box) in enumerate(self.pairs):
            row, column = (0, 3 * i) if rows == 1 else (i, 0)
            self.grid.addWidget(label, row, column, left)
            self.grid.addWidget(box, row, column + 1, left)
            if rows == 1 and i:
                self.grid.setColumnMinimumWidth(
                    column - 1, self.GAP - self.grid.horizontalSpacing()
                )
        self.grid.setColumnStretch(3 * len(self.pairs) if rows == 1 else 2, 1)
        self.rows = rows
        self.updateGeometry()

    def relayout(self) -> None:
        """One row when it fits the width given, else a row per pair."""
        self._place(1 if self.width() >= self.one_row_width() else 2)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        space = self.grid.horizontalSpacing()
        narrow = max(
            label.sizeHint().width() + space + box.sizeHint().width() for label, box in self.pairs
        )
        return QSize(narrow, hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relayout()


class Transcript(QTextBrowser):
    """The conversation as one rich-text document; citations are ``cite:`` links."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("transcript")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.document().setDocumentMargin(14)
        self.live_start = -1  # where the answer being streamed begins
        self.expanded: set[int] = set()  # messages whose reasoning is shown (collapsed by default)

    # ------------------------------------------------------------ building blocks
    def _block(
        self, cursor: QTextCursor, *, top: int = 0, background: QColor | None = None, left: int = 0
    ) -> None:
        fmt = QTextBlockFormat()
        fmt.setTopMargin(top)
        fmt.setLeftMargin(left)
        if background is not None:
            fmt.setBackground(background)
        if self.document().isEmpty():  # the document's first block: use it, no empty line on top
            cursor.setBlockFormat(fmt)
            cursor.setCharFormat(QTextCharFormat())
        else:
            cursor.insertBlock(fmt, QTextCharFormat())

    def _label(self, cursor: QTextCursor, text: str, color: QColor, extra: str = "") -> None:
        self._block(cursor, top=16)
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.DemiBold)
        fmt.setForeground(color)
        cursor.insertText(text, fmt)
        if extra:
            small = QTextCharFormat()
            small.setForeground(MUTED)
            small.setFontPointSize(max(7.0, self.font().pointSizeF() * 0.85))
            cursor.insertText("   " + extra, small)

    def _muted(self, cursor: QTextCursor, text: str, *, italic: bool = False) -> None:
        self._block(cursor, top=4)
        fmt = QTextCharFormat()
        fmt.setForeground(MUTED)
        fmt.setFontItalic(italic)
        fmt.setFontPointSize(max(7.0, self.font().pointSizeF() * 0.9))
        cursor.insertText(text, fmt)

    def _link(self, cursor: QTextCursor, text: str, href: str, tip: str = "") -> None:
        fmt = QTextCharFormat()
        fmt.setAnchor(True)
        fmt.setAnchorHref(href)
        fmt.setForeground(QColor(ACCENT))
        fmt.setToolTip(tip)
        cursor.insertText(text, fmt)
        cursor.setCharFormat(QTextCharFormat())

    # ------------------------------------------------------------ messages
    def show_conversation(self, messages: list[Message]) -> None:
        self.clear()
        self.live_start = -1
        cursor = QTextCursor(self.document())
        for i, m in enumerate(messages):
            if m.role == "user":
                self.add_question(cursor, m.content)
            else:
                self.add_answer(cursor, i, m.content, m.answer)

    def add_question(self, cursor: QTextCursor, text: str) -> None:
        self._label(cursor, self.tr("You"), QColor(ACCENT))
        for line in text.splitlines() or [""]:
            self._block(cursor, background=USER_BG, left=4)
            cursor.insertText(line)

    def add_answer(self, cursor: QTextCursor, index: int, text: str, saved: SavedAnswer) -> None:
        mode, style = saved.mode, saved.style
        meta = " · ".join(
            x for x in (_LABEL.get(mode, mode), _LABEL.get(style, style), saved.model) if x
        )
        self._label(cursor, "KidneyTalk", QColor("#1b6e34"), meta)  # the app's name: not translated
        if saved.refused:
            self._refusal(cursor, text, saved)
            return
        self._block(cursor)
        start = cursor.position()
        cursor.insertMarkdown(text.strip() or "_" + self.tr("(no answer was written)") + "_")
        end = QTextCursor(self.document())
        end.setPosition(cursor.position())
        self._link_markers(index, start, end, saved)
        flagged = saved.flagged
        found = self._mark_unsupported(start, end, flagged)
        cursor.setPosition(end.position())
        self._reasoning(cursor, index, saved.reasoning)
        if saved.stopped:
            self._muted(cursor, self.tr("Stopped: this answer is incomplete."), italic=True)
        if flagged:
            self._block(cursor, top=4)
            fmt = QTextCharFormat()
            fmt.setForeground(UNSUPPORTED_LINE)
            n = len(flagged)  # English plurals spelled out: no English catalogue is loaded
            if found:
                text = (
                    self.tr(
                        "⚠ One sentence is not supported by the cited passage (underlined) — do not rely "
                        "on it."
                    )
                    if n == 1
                    else self.tr(
                        "⚠ %n sentences are not supported by the cited passage (underlined) — do not rely "
                        "on them.",
                        "",
                        n,
                    )
                )
            else:
                text = (
                    self.tr(
                        "⚠ One sentence is not supported by the cited passage (listed in the export) — do "
                        "not rely on it."
                    )
                    if n == 1
                    else self.tr(
                        "⚠ %n sentences are not supported by the cited passage (listed in the export) — "
                        "do not rely on them.",
                        "",
                        n,
                    )
                )
            cursor.insertText(text, fmt)
        self._sources(cursor, index, saved)

    def _reasoning(self, cursor: QTextCursor, index: int, text: str) -> None:
        """A reasoning model's thought, under its answer: one toggle line, the text only when opened."""
        if not text.strip():
            return
        shown = index in self.expanded
        self._block(cursor, top=4)
        self._link(
            cursor,
            ("▾ " + self.tr("Hide the model's reasoning"))
            if shown
            else ("▸ " + self.tr("Show the model's reasoning (%n words)", "", len(text.split()))),
            f"{REASONING_SCHEME}:{index}",
            self.tr(
                "What the model thought before answering; it is not checked against your documents."
            ),
        )
        if shown:
            for line in text.strip().splitlines():
                self._muted(cursor, line, italic=True)

    def toggle_reasoning(self, index: int) -> None:
        """Open or close the reasoning under answer ``index`` (the page renders the transcript again)."""
        self.expanded ^= {index}

    def _refusal(self, cursor: QTextCursor, text: str, saved: SavedAnswer) -> None:
        self._block(cursor, top=2, background=REFUSAL_BG, left=4)
        fmt = QTextCharFormat()
        fmt.setFontItalic(True)
        cursor.insertText("∅ " + text.strip(), fmt)
        tip = QTextCharFormat()
        tip.setForeground(MUTED)
        if saved.missing_terms:  # what the relevance check did not find, in the user's words
            self._block(cursor, background=REFUSAL_BG, left=4)
            cursor.insertText(
                self.tr("Not found in the closest passages: %1").replace(
                    "%1", ", ".join(saved.missing_terms[:8])
                ),
                tip,
            )
        self._block(cursor, background=REFUSAL_BG, left=4)
        cursor.insertText(
            self.tr(
                "KidneyTalk only answers from your documents. Check that the guideline covering "
                "this question is in the library and ticked “Use”, or ask with the terms it uses."
            ),
            tip,
        )
        if saved.gate_reason:  # the measured numbers behind the decision, as in --trace
            self._block(cursor, background=REFUSAL_BG, left=4)
            small = QTextCharFormat(tip)
            small.setFontPointSize(max(7.0, self.document().defaultFont().pointSizeF() * 0.85))
            cursor.insertText(
                self.tr("Relevance check: %1").replace("%1", saved.gate_reason), small
            )

    def _link_markers(self, index: int, start: int, end: QTextCursor, saved: SavedAnswer) -> None:
        doc = self.document()
        pos = start
        while True:
            found = doc.find(_MARKER_RE, pos)
            if found.isNull() or found.selectionEnd() > end.position():
                return
            base, marker = found.selectionStart(), found.selectedText()
            for m in re.finditer(r"\d+", marker):
                n = int(m.group(0))
                passage = saved.passage(n)
                if passage is None:
                    continue
                part = QTextCursor(doc)
                part.setPosition(base + m.start())
                part.setPosition(base + m.end(), QTextCursor.MoveMode.KeepAnchor)
                fmt = QTextCharFormat()
                fmt.setAnchor(True)
                fmt.setAnchorHref(f"{CITE_SCHEME}:{index}:{n}")
                fmt.setForeground(QColor(ACCENT))
                fmt.setFontWeight(QFont.Weight.DemiBold)
                fmt.setToolTip(
                    self.tr("%1 — click to see the passage").replace("%1", passage.label)
                )
                part.mergeCharFormat(fmt)
            pos = found.selectionEnd()

    def _mark_unsupported(self, start: int, end: QTextCursor, flagged: list[SavedCheck]) -> int:
        doc = self.document()
        found = 0
        for check in flagged:
            needle = _plain(check.text)
            if not needle:
                continue
            hit = QTextCursor()
            for candidate in (needle, needle[:60]):
                hit = doc.find(candidate, start)
                if not hit.isNull() and hit.selectionEnd() <= end.position():
                    break
                hit = QTextCursor()
            if hit.isNull():
                continue
            found += 1
            support = check.support
            fmt = QTextCharFormat()
            fmt.setBackground(UNSUPPORTED_BG)
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(UNSUPPORTED_LINE)
            fmt.setToolTip(
                self.tr(
                    "⚠ Not supported by the cited passage (only %1 of its content words were found "
                    "there). Do not rely on this sentence."
                ).replace("%1", f"{support:.0%}")
            )
            hit.mergeCharFormat(fmt)
            flag = QTextCursor(doc)
            flag.setPosition(hit.selectionStart())
            warn = QTextCharFormat()
            warn.setForeground(UNSUPPORTED_LINE)
            warn.setToolTip(fmt.toolTip())
            flag.insertText("⚠ ", warn)
        return found

    def _sources(self, cursor: QTextCursor, index: int, saved: SavedAnswer) -> None:
        cites = saved.citations
        numbers = [c.n for c in cites] if cites else [p.n for p in saved.passages]
        if not numbers:
            return
        self._block(cursor, top=6)
        head = QTextCharFormat()
        head.setForeground(MUTED)
        cursor.insertText(
            self.tr("Sources: ")
            if cites
            else self.tr("The model cited no passage; it was given: "),
            head,
        )
        for k, n in enumerate(numbers):
            passage = saved.passage(n)
            if passage is None:
                continue
            if k:
                cursor.insertText("  ·  ", head)
            scanned = bool(passage.data.get("ocr"))
            self._link(
                cursor,
                f"[{n}] {passage.label}" + (self.tr(" (OCR)") if scanned else ""),
                f"{CITE_SCHEME}:{index}:{n}",
                self.tr("Text read by OCR from a scanned page: check it on the page")
                if scanned
                else self.tr("Show the passage and its page"),
            )
        if saved.answer_tokens and saved.coverage is not None and saved.density is not None:
            self._muted(
                cursor,
                self.tr("Copied from the sources: %1 of the words (density %2)")
                .replace("%1", f"{saved.coverage:.0%}")
                .replace("%2", f"{saved.density:.1f}"),
            )

    # ------------------------------------------------------------ streaming
    def start_live(self, question: str) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self.add_question(cursor, question)
        self._label(cursor, "KidneyTalk", QColor("#1b6e34"))
        self._block(cursor)
        self.live_start = cursor.position()
        self.scroll_to_end()

    def append_live(self, piece: str) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece, QTextCharFormat())
        self.scroll_to_end()

    def live_text(self) -> str:
        if self.live_start < 0:
            return ""
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.live_start)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        return cursor.selectedText()

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def citation_links(self) -> list[tuple[str, QTextCursor]]:
        """Every citation link in the transcript with a cursor on it (for keyboard users and tests)."""
        out: list[tuple[str, QTextCursor]] = []
        block = self.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                href = frag.charFormat().anchorHref()
                if href.startswith(CITE_SCHEME + ":"):
                    cursor = QTextCursor(self.document())
                    cursor.setPosition(frag.position())
                    cursor.setPosition(
                        frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor
                    )
                    out.append((href, cursor))
                it += 1
            block = block.next()
        return out


class ChatPage(QWidget):
    message = Signal(str)  # for the status bar

    def __init__(
        self, client: EngineClient, parent: QWidget | None = None, *, last_conversation: str = ""
    ):
        super().__init__(parent)
        self.setObjectName("chatPage")
        self.client = client
        self.store = client.conversations
        self.conv: Conversation | None = None  # None: a new chat not saved yet
        self.result: AskResult | None = None
        self.error_box: QMessageBox | None = None
        self.confirm_box: QMessageBox | None = None
        self.export_dialog: QFileDialog | None = None
        self.docs: dict[str, Document] = {}
        self._asking_question = ""
        self._asking_cid = ""
        self._scroll_pending = False
        self._outcome_shown = ""  # the state line _show_outcome wrote last
        defaults = client.settings.retrieval  # the worker's frozen snapshot, not the engine's
        self._default_mode, self._default_style = defaults.mode, defaults.style

        # conversations (left) ------------------------------------------
        self.new_button = QPushButton()
        self.new_button.setObjectName("newChatButton")
        self.new_button.clicked.connect(self.new_chat)
        self.conv_list = QListWidget()
        self.conv_list.setObjectName("conversationList")
        self.conv_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.conv_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.conv_list.customContextMenuRequested.connect(self._list_menu)
        self.conv_list.currentItemChanged.connect(self._on_current_item)
        self.conv_list.itemChanged.connect(self._on_item_renamed)
        self.rename_action = QAction(self)
        self.rename_action.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.rename_action.triggered.connect(self.rename_current)
        self.export_action = QAction(self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.choose_export)
        self.delete_action = QAction(self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.triggered.connect(self.confirm_delete)
        for action in (self.rename_action, self.delete_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.conv_list.addAction(action)
        self.export_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.export_action)
        left = QFrame()
        left.setObjectName("conversationPanel")
        ll = QVBoxLayout(left)
        ll.setContentsMargins(10, 16, 6, 10)
        ll.setSpacing(8)
        ll.addWidget(self.new_button)
        ll.addWidget(self.conv_list, 1)

        # the conversation (middle) -------------------------------------
        self.title_label = ElidedLabel()
        self.title_label.setObjectName("chatTitle")
        self.mode_box = QComboBox()
        self.mode_box.setObjectName("modeBox")
        self.style_box = QComboBox()
        self.style_box.setObjectName("styleBox")
        for box, keys in ((self.mode_box, MODES), (self.style_box, STYLES)):
            for key in keys:
                box.addItem(_LABEL[key], key)
            box.activated.connect(self._on_options_changed)
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setObjectName("conversationMenu")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.menu_button)
        menu.addAction(self.rename_action)
        menu.addAction(self.export_action)
        menu.addAction(self.delete_action)
        self.menu_button.setMenu(menu)
        for box in (self.mode_box, self.style_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        header = QHBoxLayout()
        header.setSpacing(6)
        header.addWidget(self.title_label, 1)
        header.addWidget(self.menu_button)
        self.mode_label = QLabel()
        self.style_label = QLabel()
        self.mode_label.setBuddy(self.mode_box)
        self.style_label.setBuddy(self.style_box)
        self.options = OptionsBar(
            [(self.mode_label, self.mode_box), (self.style_label, self.style_box)]
        )

        self.library_note = QLabel("")
        self.library_note.setObjectName("noteLabel")
        self.library_note.setWordWrap(True)
        self.library_note.hide()

        self.transcript = Transcript()
        self.transcript.anchorClicked.connect(self._on_anchor)
        self.empty_hint = QLabel()
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)

        self.state_label = QLabel("")
        self.state_label.setObjectName("stateLabel")
        self.state_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("askProgress")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedWidth(140)
        self.progress_bar.setMaximumHeight(8)
        self.progress_bar.hide()
        self.stop_button = QPushButton()
        self.stop_button.clicked.connect(self.stop)
        status = QHBoxLayout()
        status.addWidget(self.state_label, 1)
        status.addWidget(self.progress_bar)
        status.addWidget(self.stop_button)

        self.question = QuestionEdit()
        self.question.setObjectName("questionBox")
        self.question.setTabChangesFocus(True)
        self.question.setFixedHeight(72)
        self.question.submitted.connect(self.ask)
        self.send_button = QPushButton()
        self.send_button.setObjectName("primaryButton")
        self.send_button.clicked.connect(self.ask)
        self.hint = hint = QLabel()
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)
        entry = QHBoxLayout()
        entry.addWidget(self.question, 1)
        entry.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)

        middle = QWidget()
        ml = QVBoxLayout(middle)
        ml.setContentsMargins(16, 16, 16, 10)
        ml.setSpacing(6)
        ml.addLayout(header)
        ml.addWidget(self.options)
        ml.addWidget(self.library_note)
        ml.addWidget(self.transcript, 1)
        ml.addWidget(self.empty_hint, 1)
        ml.addLayout(status)
        ml.addLayout(entry)
        ml.addWidget(hint)

        # evidence (right) ----------------------------------------------
        self.evidence = EvidencePanel()
        self.evidence.closed.connect(self.evidence.hide)
        self.evidence.hide()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.evidence)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        left.setMinimumWidth(
            110
        )  # 110 + 260 + 240 fit the window's minimum width beside the sidebar
        middle.setMinimumWidth(260)
        self.evidence.setMinimumWidth(240)
        self.splitter.setSizes([190, 560, 380])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        stop.activated.connect(self.stop)

        client.documents_changed.connect(self._on_documents)
        client.activity_changed.connect(self._update_actions)
        self.retranslate()
        self.restore(last_conversation)

    def retranslate(self) -> None:
        """Set every fixed text; runs again when the language changes."""
        self.new_button.setText(self.tr("+  New chat"))
        self.new_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.rename_action.setText(self.tr("Rename"))
        self.export_action.setText(self.tr("Export to Markdown…"))
        self.delete_action.setText(self.tr("Delete…"))
        self.mode_label.setText(self.tr("Search:"))
        self.style_label.setText(self.tr("Answer:"))
        self.mode_box.setToolTip(self.tr("How passages are found for this conversation"))
        self.style_box.setToolTip(self.tr("How answers are written in this conversation"))
        tips = {
            "addrep": self.tr(
                "Agents refine the question, ask divergent questions and judge each passage"
            ),
            "hybrid": self.tr("Meaning search plus exact words (eGFR, ACR, drug names)"),
            "naive": self.tr("Meaning search only: the plain-RAG baseline"),
            "cp-order": self.tr(
                "Evidence sentences copied verbatim, chosen and ordered by the model"
            ),
            "cp-link": self.tr("Copied sentences joined with linking words from a fixed list"),
            "cp-refine": self.tr("A draft, checked and revised to copy more from the evidence"),
            "off": self.tr("An ordinary answer written by the model from the evidence"),
        }
        for box in (self.mode_box, self.style_box):
            for i in range(box.count()):
                box.setItemData(i, tips[box.itemData(i)], Qt.ItemDataRole.ToolTipRole)
        self.menu_button.setToolTip(self.tr("Rename, export or delete this conversation"))
        self.empty_hint.setText(
            "<p style='font-size:13pt; font-weight:600'>"
            + self.tr("Ask a clinical question")
            + "</p><p>"
            + self.tr(
                "Answers come only from the documents in your library, with the pages they rely on."
            )
            + "<br>"
            + self.tr("Click a citation such as <b>[1]</b> to see the passage and its page.")
            + "</p>"
        )
        self.stop_button.setText(self.tr("Stop"))
        self.stop_button.setToolTip(self.tr("Stop the answer (Esc)"))
        self.send_button.setText(self.tr("Send"))
        self.send_button.setToolTip(self.tr("Send the question (Enter)"))
        self.question.setPlaceholderText(
            self.tr("Ask a clinical question, e.g. When should metformin be stopped in CKD?")
        )
        self.hint.setText(
            self.tr("Enter to send · Shift+Enter new line · Esc to stop · Ctrl+N new chat")
        )
        if self.conv is None:
            self.title_label.set_full_text(self.tr(NEW_TITLE))
        self.options.relayout()  # the labels' widths changed

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            if not self.asking:
                self.show_transcript()  # the transcript's own words ("You", "Sources:")
                if self.result is not None and self.state_label.text() == self._outcome_shown:
                    self._show_outcome(self.result)
        super().changeEvent(event)

    # ------------------------------------------------------------ conversations
    def restore(self, last: str = "") -> None:
        """Open conversation ``last`` (the one viewed when the app was closed), else the newest, else a new chat."""
        try:
            convs = self.store.list()
        except Exception as exc:  # a damaged file must not keep the app from opening
            log.exception("could not read the saved conversations")
            self._set_state(
                self.tr("Saved conversations could not be read: %1").replace("%1", str(exc)),
                "error",
            )
            convs = []
        self._fill_list(convs)
        if convs:
            ids = [c.id for c in convs]
            self.open_conversation(last if last in ids else ids[0])
        else:
            self.new_chat()

    def _fill_list(self, convs: list[Conversation] | None = None) -> None:
        convs = self.store.list() if convs is None else convs
        self.conv_list.blockSignals(True)
        self.conv_list.clear()
        for c in convs:
            item = QListWidgetItem(c.title)
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setToolTip(f"{c.title}\nLast used {c.updated_at[:16].replace('T', ' ')}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setSizeHint(QSize(0, 34))
            self.conv_list.addItem(item)
            if self.conv is not None and c.id == self.conv.id:
                self.conv_list.setCurrentItem(item)
        self.conv_list.blockSignals(False)

    def _item(self, cid: str) -> QListWidgetItem | None:
        for row in range(self.conv_list.count()):
            item = self.conv_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == cid:
                return item
        return None

    def open_conversation(self, cid: str) -> None:
        if self.conv is None or self.conv.id != cid:
            self.transcript.expanded.clear()  # reasoning starts collapsed in every conversation opened
        try:
            self.conv = self.store.get(cid)
        except KidneyTalkError as exc:
            self._set_state(str(exc), "error")
            return
        item = self._item(cid)
        if item is not None and self.conv_list.currentItem() is not item:
            self.conv_list.blockSignals(True)
            self.conv_list.setCurrentItem(item)
            self.conv_list.blockSignals(False)
        self._show_options(self.conv.mode, self.conv.style)
        self.title_label.set_full_text(self.conv.title)
        self.show_transcript()
        self.evidence.hide()
        self._set_state("")
        self.transcript.scroll_to_end()
        self._scroll_pending = not self.isVisible()  # a hidden page is laid out when first shown

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._scroll_pending:
            self._scroll_pending = False
            QTimer.singleShot(0, self.transcript.scroll_to_end)

    def new_chat(self) -> None:
        """A fresh conversation; saved when its first question is asked (Ctrl+N)."""
        if self.asking:
            self.message.emit(self.tr("Stop the answer first (Esc), then start a new chat."))
            return
        self.conv = None
        self.conv_list.blockSignals(True)
        self.conv_list.clearSelection()
        self.conv_list.setCurrentItem(None)  # type: ignore[call-overload]  # Qt takes nullptr; the stub wants an item
        self.conv_list.blockSignals(False)
        self.title_label.set_full_text(self.tr(NEW_TITLE))
        self._show_options("", "")
        self.show_transcript()
        self.evidence.hide()
        self._set_state("")
        self.question.clear()
        self.question.setFocus()

    def _on_current_item(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        if item is None or self.asking:
            return
        cid = item.data(Qt.ItemDataRole.UserRole)
        if self.conv is None or cid != self.conv.id:
            self.open_conversation(cid)

    def rename_current(self) -> None:
        item = self._item(self.conv.id) if self.conv else None
        if item is not None:
            self.conv_list.setFocus()
            self.conv_list.editItem(item)

    def rename(self, cid: str, title: str) -> None:
        self.store.rename(cid, title)
        if self.conv is not None and self.conv.id == cid:
            self.conv.title = title.strip() or "Untitled"
            self.title_label.set_full_text(self.conv.title)
        self._fill_list()

    def _on_item_renamed(self, item: QListWidgetItem) -> None:
        cid = item.data(Qt.ItemDataRole.UserRole)
        if cid:
            self.rename(cid, item.text())

    def confirm_delete(self) -> None:
        if self.conv is None or self.asking:
            return
        conv = self.conv
        self.confirm_box = confirm(
            self,
            self.tr("Delete conversation"),
            self.tr(
                "Delete the conversation “%1” with its questions and answers? This cannot be "
                "undone."
            ).replace("%1", conv.title),
            self.tr("Delete"),
            lambda: self.delete(conv.id),
            name="confirmDelete",
        )

    def delete(self, cid: str) -> None:
        self.store.delete(cid)
        if self.conv is not None and self.conv.id == cid:
            self.conv = None
        convs = self.store.list()
        self._fill_list(convs)
        if self.conv is None:
            if convs:
                self.open_conversation(convs[0].id)
            else:
                self.new_chat()
        self.message.emit(self.tr("Conversation deleted."))

    def choose_export(self) -> None:
        if self.conv is None or not self.conv.messages:
            self.message.emit(self.tr("Nothing to export yet: ask a question first."))
            return
        safe = re.sub(r"[^\w\- ]+", "", self.conv.title).strip()[:50] or "conversation"
        dialog = QFileDialog(
            self,
            self.tr("Export conversation to Markdown"),
            str(Path.home() / f"{safe}.md"),
            self.tr("Markdown (*.md);;All files (*)"),
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("md")
        dialog.fileSelected.connect(self.export_to)
        self.export_dialog = dialog
        dialog.open()

    def export_to(self, path: str | Path) -> bool:
        """Write the current conversation, with its sources, as Markdown to ``path``."""
        if self.conv is None:
            return False
        try:
            Path(path).write_text(to_markdown(self.store.get(self.conv.id)), encoding="utf-8")
        except OSError as exc:
            self.error_box = show_error(
                self,
                self.tr("Could not export"),
                self.tr("Could not write %1:").replace("%1", str(path))
                + f"\n{exc.strerror or exc}",
            )
            return False
        self.message.emit(self.tr("Conversation exported to %1").replace("%1", str(path)))
        return True

    def _list_menu(self, pos: QPoint) -> None:
        item = self.conv_list.itemAt(pos)
        if item is None:
            return
        self.conv_list.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction(self.rename_action)
        menu.addAction(self.export_action)
        menu.addAction(self.delete_action)
        menu.popup(self.conv_list.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------ mode and style
    def _show_options(self, mode: str, style: str) -> None:
        for box, value in (
            (self.mode_box, mode or self._default_mode),
            (self.style_box, style or self._default_style),
        ):
            i = box.findData(value)
            box.setCurrentIndex(max(i, 0))

    @property
    def mode(self) -> str:
        return str(self.mode_box.currentData())

    @property
    def answer_style(self) -> str:
        return str(self.style_box.currentData())

    def set_options(self, mode: str, style: str) -> None:
        """Choose this conversation's retrieval mode and answer style (kept with it)."""
        self._show_options(mode, style)
        self._on_options_changed()

    def _on_options_changed(self, *_args: object) -> None:
        if self.conv is not None:
            self.store.set_options(self.conv.id, mode=self.mode, style=self.answer_style)
            self.conv.mode, self.conv.style = self.mode, self.answer_style

    # ------------------------------------------------------------ state
    @property
    def asking(self) -> bool:
        return self.client.pending(ASK) > 0

    def _update_actions(self) -> None:
        asking = self.asking
        self.send_button.setEnabled(not asking)
        self.stop_button.setEnabled(asking)
        self.stop_button.setVisible(asking)
        for w in (self.new_button, self.conv_list, self.mode_box, self.style_box, self.menu_button):
            w.setEnabled(not asking)
        has = self.conv is not None
        self.rename_action.setEnabled(has and not asking)
        self.delete_action.setEnabled(has and not asking)
        self.export_action.setEnabled(has and not asking)
        if not asking:
            self.progress_bar.hide()

    def show_transcript(self) -> None:
        messages = self.conv.messages if self.conv is not None else []
        self.transcript.show_conversation(messages)
        self.transcript.setVisible(bool(messages))
        self.empty_hint.setVisible(not messages)
        self._update_actions()

    def _on_documents(self, snapshot: LibrarySnapshot) -> None:
        self.docs = {d.id: d for d in snapshot.documents}
        usable = [d for d in snapshot.documents if d.status == cat.STATUS_READY and d.enabled]
        if not snapshot.documents:
            self.library_note.setText(
                self.tr("Your library is empty: add documents on the Library page first (Ctrl+O).")
            )
        elif not usable:
            self.library_note.setText(
                self.tr(
                    "No document is in use: tick “Use” for at least one ready document "
                    "on the Library page."
                )
            )
        self.library_note.setVisible(not usable)

    def _set_state(self, text: str, tone: str = "") -> None:
        self.state_label.setText(text)
        self.state_label.setProperty("tone", tone)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)

    # ------------------------------------------------------------ asking
    def ask(self) -> None:
        question = self.question.toPlainText().strip()
        if self.asking:
            return
        if not question:
            self._set_state(self.tr("Type a question first."), "warn")
            self.question.setFocus()
            return
        if self.conv is None:
            self.conv = self.store.create(mode=self.mode, style=self.answer_style)
            self._fill_list()
        self.result = None
        self._asking_question, self._asking_cid = question, self.conv.id
        self.transcript.show()
        self.empty_hint.hide()
        self.transcript.start_live(question)
        waiting = self.client.pending(ADD) or self.client.pending()
        self._set_state(
            self.tr("Waiting for the documents being added to finish… (Esc to stop)")
            if self.client.pending(ADD)
            else self.tr("Waiting for the models to load…")
            if waiting
            else self.tr("Starting…"),
            "busy",
        )
        request = AskRequest(
            question,
            tuple(self.conv.history()),
            mode=self.mode,
            style=self.answer_style,
            conversation_id=self.conv.id,
        )
        self.client.start(
            ask_job(request),
            done=self._on_answered,
            failed=self._on_failed,
            progress=self._on_progress,
            token=self._on_token,
        )
        self.question.clear()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self._update_actions()

    def stop(self) -> None:
        if not self.asking:
            return
        self.client.stop_answer()
        self.stop_button.setEnabled(False)
        self._set_state(self.tr("Stopping…"), "busy")

    def _on_progress(self, event: AskStage) -> None:
        if not self.asking or not self.stop_button.isEnabled():
            return
        self._set_state(stage_label(event), "busy")
        if event.n:
            self.progress_bar.setRange(0, event.n)
            self.progress_bar.setValue(event.i)
        else:
            self.progress_bar.setRange(0, 0)

    def _on_token(self, piece: str) -> None:
        if self._asking_cid:
            self.transcript.append_live(piece)

    def _on_answered(self, result: AskResult) -> None:
        self.result = result
        cid, question = self._asking_cid, self._asking_question
        self._asking_cid = self._asking_question = ""
        if cid and (result.text or not result.stopped):
            try:
                self.store.add_turn(self.store.get(cid), question, result.text, result.details)
            except Exception as exc:  # the answer stays on screen; saving it failed
                log.exception("could not save the conversation")
                self.error_box = show_error(
                    self, self.tr("Could not save the conversation"), str(exc)
                )
            self._fill_list()
            if self.conv is not None and self.conv.id == cid:
                self.open_conversation(cid)
        else:
            self._drop_if_empty(cid)
        self._show_outcome(result)
        self.transcript.scroll_to_end()
        self._update_actions()
        self.question.setFocus()

    def _show_outcome(self, result: AskResult) -> None:
        """The state line after an answer (again after a language change, while it is still shown)."""
        if result.refused:
            self._set_state(self.tr("Not found in your library."), "warn")
        elif result.stopped:
            self._set_state(
                self.tr("Stopped. The answer is incomplete.")
                if result.text
                else self.tr("Stopped. Nothing was written; the question was not saved."),
                "warn",
            )
        else:
            took = sum(v for k, v in result.timings.items() if k in ("retrieve", "write"))
            done = (
                self.tr("Answered in %1 s by %2.")
                .replace("%1", f"{took:.1f}")
                .replace("%2", result.model)
            )
            if n := len(result.unsupported):
                warning = (
                    self.tr(
                        "⚠ One sentence is not supported by the cited passage — do not rely on it."
                    )
                    if n == 1
                    else self.tr(
                        "⚠ %n sentences are not supported by the cited passage — do not rely on them.",
                        "",
                        n,
                    )
                )
                self._set_state(done + " " + warning, "warn")
            else:
                self._set_state(
                    done + " " + self.tr("Click a citation to check its passage."), "ok"
                )
        self._outcome_shown = self.state_label.text()

    def _on_failed(self, message: str) -> None:
        cid, self._asking_cid, self._asking_question = self._asking_cid, "", ""
        self._drop_if_empty(cid)
        self._set_state(self.tr("The question could not be answered."), "error")
        self.error_box = show_error(self, self.tr("Could not answer"), message)
        self._update_actions()

    def _drop_if_empty(self, cid: str) -> None:
        """A new chat whose first question got no answer is not kept (nothing was said in it)."""
        try:
            if cid and not self.store.get(cid).messages:
                self.store.delete(cid)
                self._fill_list()
                if self.conv is not None and self.conv.id == cid:
                    self.conv = None
                    self.title_label.set_full_text(self.tr(NEW_TITLE))
        except KidneyTalkError:
            pass  # already gone
        self.show_transcript()

    # ------------------------------------------------------------ evidence
    def _on_anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith(REASONING_SCHEME + ":"):
            bar = self.transcript.verticalScrollBar()
            keep = bar.value()
            self.transcript.toggle_reasoning(int(text.split(":")[1]))
            self.show_transcript()
            bar.setValue(keep)
            return
        if text.startswith(CITE_SCHEME + ":"):
            index, n = (int(x) for x in text.split(":")[1:3])
            self.show_evidence(index, n)

    def show_evidence(self, index: int, n: int) -> bool:
        """Open the evidence panel on passage ``[n]`` of message ``index``; False when it is not there."""
        if self.conv is None or not 0 <= index < len(self.conv.messages):
            return False
        msg = self.conv.messages[index]
        passage = msg.answer.passage(n)
        if passage is None:
            return False
        self.evidence.show_chunk(n, passage.data, msg.content, self.docs.get(passage.doc_id))
        if not self.evidence.isVisible():
            self.evidence.show()
            total = max(self.splitter.width(), sum(self.splitter.sizes()))
            left = min(self.splitter.sizes()[0], max(110, total // 6))
            rest = total - left
            self.splitter.setSizes([left, int(rest * 0.55), rest - int(rest * 0.55)])
        return True
