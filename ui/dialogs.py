"""Error dialogs and the crash report installed on ``sys.excepthook``.

User-facing errors (``KidneyTalkError`` messages) appear in a plain message
box. Anything else is a bug: its traceback goes to the log file and a crash
report dialog shows a copyable report plus where the log is, so a clinician can
send it to whoever looks after the installation. Dialogs are opened
non-blocking (``open()``), so a failure never stalls the event loop.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kidneytalk import __version__

log = logging.getLogger("kidneytalk.ui")


def show_error(
    parent: QWidget | None, title: str, message: str, *, details: str = ""
) -> QMessageBox:
    """A warning box that does not block the caller; returned so tests can inspect it."""
    box = QMessageBox(
        QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent
    )
    box.setObjectName("errorDialog")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def confirm(
    parent: QWidget,
    title: str,
    question: str,
    action: str,
    on_yes: Callable[[], None],
    *,
    name: str = "confirmDialog",
    on_close: Callable[[], None] | None = None,
) -> QMessageBox:
    """A non-blocking yes/cancel question whose yes button says ``action`` (Cancel is the default).

    ``on_yes`` runs when the user confirms, ``on_close`` whatever the answer; the box is
    returned (already open) so the caller and tests can reach it.
    """
    box = QMessageBox(
        QMessageBox.Icon.Question,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName(name)
    yes = box.button(QMessageBox.StandardButton.Yes)
    yes.setText(action)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def answered(_result: int) -> None:
        if on_close is not None:
            on_close()
        if box.clickedButton() is yes:
            on_yes()

    box.finished.connect(answered)
    box.open()
    return box


def crash_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, log_path: str
) -> str:
    """Plain text a user can paste into an e-mail: versions, traceback, log location."""
    lines = [
        f"KidneyTalk {__version__} crash report",
        f"Python {platform.python_version()}, PySide6 {pyside_version}, {platform.platform()}",
        f"Thread: {threading.current_thread().name}",
        f"Log file: {log_path}",
        "",
        "".join(traceback.format_exception(exc_type, exc, tb)).rstrip(),
    ]
    return "\n".join(lines)


class CrashDialog(QDialog):
    """Shows one or more crash reports with a Copy button."""

    def __init__(self, log_path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle(self.tr("KidneyTalk — unexpected error"))
        self.resize(720, 480)
        intro = QLabel(
            self.tr(
                "KidneyTalk hit an unexpected error. Your library is safe: documents are only marked "
                "ready once fully indexed.\n\nPlease copy the report below and send it to whoever "
                "supports your installation. More detail is in the log file:"
            )
        )
        intro.setWordWrap(True)
        path = QLabel(log_path)
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report = QPlainTextEdit(readOnly=True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = buttons.addButton(
            self.tr("Copy report"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(path)
        layout.addWidget(self.report, 1)
        layout.addWidget(buttons)

    def add_report(self, text: str) -> None:
        if self.report.toPlainText():
            self.report.appendPlainText("\n" + "-" * 60 + "\n")
        self.report.appendPlainText(text)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.report.toPlainText())


class CrashReporter(QObject):
    """``sys.excepthook`` / ``threading.excepthook`` that logs and shows :class:`CrashDialog`.

    Exceptions may be raised in the engine thread; the report travels to the GUI
    thread through a queued signal, because widgets may only be made there.
    """

    reported = Signal(str)

    def __init__(self, log_path: str, parent_window: Callable[[], QWidget | None] = lambda: None):
        super().__init__()
        self.log_path = log_path
        self.parent_window = parent_window
        self.dialog: CrashDialog | None = None
        self._previous = sys.excepthook
        self._previous_threading = threading.excepthook
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> CrashReporter:
        sys.excepthook = self.handle
        threading.excepthook = self._handle_thread
        return self

    def uninstall(self) -> None:
        sys.excepthook = self._previous
        threading.excepthook = self._previous_threading

    def handle(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous(exc_type, exc, tb)
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        self.reported.emit(crash_report(exc_type, exc, tb, self.log_path))

    def _handle_thread(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, text: str) -> None:
        if self.dialog is None:
            self.dialog = CrashDialog(self.log_path, self.parent_window())
            self.dialog.finished.connect(self._forget)
        self.dialog.add_report(text)
        self.dialog.show()
        self.dialog.raise_()

    def _forget(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None


def install_crash_reporter(
    log_path: str, parent_window: Callable[[], QWidget | None] = lambda: None
) -> CrashReporter:
    return CrashReporter(log_path, parent_window).install()


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: every key the app answers to, in a two-column table.

    Keys are shown in the platform's notation (``QKeySequence.NativeText``: Ctrl on
    Linux and Windows, ⌘ on macOS).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("shortcutsTable")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.retranslate()
        self.resize(520, 460)

    def rows(self) -> list[tuple[str, str]]:
        """(keys, what they do), in the order shown."""
        native = QKeySequence.SequenceFormat.NativeText

        def key(text: str) -> str:
            return QKeySequence(text).toString(native)

        return [
            (key("Ctrl+N"), self.tr("New chat")),
            (key("Ctrl+O"), self.tr("Add documents to the library")),
            (self.tr("Enter"), self.tr("Send the question")),
            (self.tr("Shift+Enter"), self.tr("New line in the question")),
            (self.tr("Esc"), self.tr("Stop the answer being written")),
            (key("F2"), self.tr("Rename the selected conversation")),
            (key("Ctrl+E"), self.tr("Export the conversation to Markdown")),
            (
                self.tr("Delete"),
                self.tr("Delete the selected conversation or document (after asking)"),
            ),
            (
                f"{key('Ctrl+1')} … {key('Ctrl+5')}",
                self.tr("Library, Chat, Models, Evaluation, Settings"),
            ),
            (self.tr("Page Up / Page Down"), self.tr("Previous / next page of a document")),
            (key("F1"), self.tr("This list")),
            (key("Ctrl+Q"), self.tr("Quit")),
        ]

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        self.table.setHorizontalHeaderLabels([self.tr("Keys"), self.tr("Action")])
        rows = self.rows()
        self.table.setRowCount(len(rows))
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.DemiBold)
        for r, (keys, action) in enumerate(rows):
            item = QTableWidgetItem(keys)
            item.setFont(bold)
            self.table.setItem(r, 0, item)
            self.table.setItem(r, 1, QTableWidgetItem(action))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
