"""Library page: add documents (button, Ctrl+O, drag and drop), see their state, enable, remove.

The page only talks to :class:`~kidneytalk.ui.workers.EngineClient`; the table
shows the last :class:`~kidneytalk.ui.workers.LibrarySnapshot` the worker sent.
While documents are being added the table's checkboxes and Remove are
disabled (the worker would only get to them after the import anyway).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kidneytalk import catalog as cat
from kidneytalk.catalog import Document
from kidneytalk.folders import FolderChanges, FollowedFolder, SyncReport
from kidneytalk.ingest import AddResult
from kidneytalk.library import describe_status
from kidneytalk.parse import SUPPORTED_SUFFIXES
from kidneytalk.records import ProgressEvent

from .dialogs import confirm, show_error
from .folder_watch import FolderWatcher
from .i18n import QT_TRANSLATE_NOOP
from .page_view import PageDialog
from .workers import (
    ADD,
    REMOVE,
    EngineClient,
    Job,
    LibrarySnapshot,
    add_job,
    reindex_job,
    remove_job,
    set_enabled_job,
)

# English originals; shown through tr() (QT_TRANSLATE_NOOP only marks them for lupdate).
EMPTY_HINT = QT_TRANSLATE_NOOP("LibraryPage", "Drop guideline PDFs here or click Add documents")
_PREPARING = QT_TRANSLATE_NOOP(
    "LibraryPage", "Preparing… (the first import also loads the embedding model)"
)

_OK = QColor("#1b6e34")
_WARN = QColor("#8a5300")
_ERROR = QColor("#b3261e")
_BUSY = QColor("#1f5fa8")


_SEVERITY_COLOURS = {"ok": _OK, "warn": _WARN, "error": _ERROR, "busy": _BUSY}


_STATUS_WORDS = (  # the core's leading status word, translated; the details after it stay as they are
    QT_TRANSLATE_NOOP("DocumentStatus", "ready"),
    QT_TRANSLATE_NOOP("DocumentStatus", "failed"),
    QT_TRANSLATE_NOOP("DocumentStatus", "indexing…"),
    QT_TRANSLATE_NOOP("DocumentStatus", "removing…"),
)


def status_label(doc: Document, hint: str = "") -> tuple[str, QColor | None]:
    """What the Status column says about a document (wording from the core), and its colour."""
    text, severity = describe_status(doc, hint)
    for word in _STATUS_WORDS:
        if text == word or text.startswith((f"{word} ·", f"{word}:")):
            text = QCoreApplication.translate("DocumentStatus", word) + text[len(word) :]
            break
    return text, _SEVERITY_COLOURS.get(severity)


class DocumentTableModel(QAbstractTableModel):
    """Rows of documents; the Use column is a checkbox that asks to enable/disable."""

    USE, NAME, PAGES, KEPT, DROPPED, STATUS = range(6)
    HEADERS = (
        QT_TRANSLATE_NOOP("DocumentTableModel", "Use"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Document"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Pages"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Passages kept"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Dropped"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Status"),
    )
    HEADER_TIPS = (
        QT_TRANSLATE_NOOP(
            "DocumentTableModel",
            "Tick to let answers use this document; untick to keep it out of answers without removing it",
        ),
        QT_TRANSLATE_NOOP("DocumentTableModel", "File name (hover for title and location)"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Number of pages"),
        QT_TRANSLATE_NOOP("DocumentTableModel", "Passages indexed for search"),
        QT_TRANSLATE_NOOP(
            "DocumentTableModel",
            "Passages left out by the filter (headers, references, boilerplate)",
        ),
        QT_TRANSLATE_NOOP(
            "DocumentTableModel", "ready, needs OCR, failed (with the reason) or indexing"
        ),
    )

    enabled_toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._docs: list[Document] = []
        self._hints: dict[str, str] = {}
        self._locked = False

    # ------------------------------------------------------------ data in
    def set_snapshot(self, snapshot: LibrarySnapshot) -> None:
        self.beginResetModel()
        self._docs = list(snapshot.documents)
        self._hints = dict(snapshot.hints)
        self.endResetModel()

    def set_locked(self, locked: bool) -> None:
        """Checkboxes read-only while the library is being written."""
        if locked != self._locked:
            self._locked = locked
            if self._docs:
                top, bottom = self.index(0, self.USE), self.index(len(self._docs) - 1, self.USE)
                self.dataChanged.emit(top, bottom)

    def document(self, row: int) -> Document:
        return self._docs[row]

    def documents(self) -> list[Document]:
        return list(self._docs)

    def row_of(self, doc_id: str) -> int:
        return next((i for i, d in enumerate(self._docs) if d.id == doc_id), -1)

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._docs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("DocumentTableModel", self.HEADERS[section])
        if role == Qt.ItemDataRole.ToolTipRole:
            return QCoreApplication.translate("DocumentTableModel", self.HEADER_TIPS[section])
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid():
            return None
        doc = self._docs[index.row()]
        col = index.column()
        if (
            role == Qt.ItemDataRole.CheckStateRole
            and col == self.USE
            and doc.status == cat.STATUS_READY
        ):
            return Qt.CheckState.Checked if doc.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.NAME:
                return doc.name
            if col == self.PAGES:
                return doc.pages if doc.status == cat.STATUS_READY else ""
            if col == self.KEPT:
                return doc.chunks_kept if doc.status == cat.STATUS_READY else ""
            if col == self.DROPPED:
                return doc.chunks_dropped if doc.status == cat.STATUS_READY else ""
            if col == self.STATUS:
                return status_label(doc, self._hints.get(doc.id, ""))[0]
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATUS:
            color = status_label(doc, self._hints.get(doc.id, ""))[1]
            return QBrush(color) if color is not None else None
        if role == Qt.ItemDataRole.ForegroundRole and not doc.enabled and col != self.STATUS:
            return QBrush(QColor("#8a8a8a"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (
            self.PAGES,
            self.KEPT,
            self.DROPPED,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.USE:
                return (
                    self.tr("Used for answers (click to change)")
                    if doc.enabled
                    else self.tr("Not used for answers (click to change)")
                )
            if col == self.STATUS:
                return status_label(doc, self._hints.get(doc.id, ""))[0]
            lines = [doc.name]
            if doc.title and doc.title != doc.name:
                lines.append(doc.title)
            lines += [
                f"id {doc.id}",
                self.tr("added %1").replace("%1", doc.added_at[:16].replace("T", " ")),
                doc.original_path,
            ]
            return "\n".join(lines)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == self.USE and self._docs[index.row()].status == cat.STATUS_READY:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
            if self._locked:
                flags &= ~Qt.ItemFlag.ItemIsEnabled
        return flags

    def setData(
        self,
        index: QModelIndex | QPersistentModelIndex,
        value: object,
        role: int = Qt.ItemDataRole.EditRole,
    ) -> bool:
        if (
            not index.isValid()
            or index.column() != self.USE
            or role != Qt.ItemDataRole.CheckStateRole
        ):
            return False
        if self._locked:
            return False
        doc = self._docs[index.row()]
        enabled = (
            Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        )
        if enabled == doc.enabled:
            return False
        # Show the change at once; the worker's next snapshot confirms it (or reverts it on failure).
        doc.enabled = enabled
        row_start, row_end = (
            self.index(index.row(), 0),
            self.index(index.row(), self.columnCount() - 1),
        )
        self.dataChanged.emit(row_start, row_end)
        self.enabled_toggled.emit(doc.id, enabled)
        return True


class DropArea(QFrame):
    """The frame around the page body, highlighted while files are dragged over it."""

    def set_active(self, active: bool) -> None:
        self.setProperty("dropActive", active)
        self.style().unpolish(self)
        self.style().polish(self)


class LibraryPage(QWidget):
    """Add, list, enable/disable and remove documents."""

    message = Signal(str)  # for the status bar

    def __init__(self, client: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("libraryPage")
        self.client = client
        self.setAcceptDrops(True)
        self._rate_start: float | None = None  # first file event: model loading is not counted
        self.confirm_box: QMessageBox | None = None
        self.error_box: QMessageBox | None = None

        # header --------------------------------------------------------
        self.title = title = QLabel()
        title.setObjectName("pageTitle")
        self.summary = QLabel("")
        self.summary.setObjectName("pageSubtitle")
        self.add_button = QToolButton()
        self.add_button.setObjectName("primaryButton")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self.add_button)
        self.add_files_action = menu.addAction("", self.choose_files)
        self.add_folder_action = menu.addAction("", self.choose_folder)
        menu.addSeparator()
        self.follow_action = menu.addAction("", self.choose_follow_folder)
        self.add_button.setMenu(menu)
        self.add_button.clicked.connect(self.choose_files)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self.confirm_remove)
        self.open_button = QPushButton()
        self.open_button.clicked.connect(lambda: self.open_document())
        self.reindex_button = QPushButton()
        self.reindex_button.setObjectName("reindexButton")
        self.reindex_button.clicked.connect(self.reindex_selected)
        self.page_dialog: PageDialog | None = None

        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(title)
        titles.addWidget(self.summary)
        header.addLayout(titles, 1)
        # A library on a read-only folder answers questions; the badge says why nothing can be changed.
        self.read_only_label = QLabel()
        self.read_only_label.setObjectName("readOnlyBadge")
        self.read_only_label.hide()
        header.addWidget(self.read_only_label, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.reindex_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignBottom)
        header.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignBottom)

        # body: empty state or table ------------------------------------
        self.model = DocumentTableModel(self)
        self.model.enabled_toggled.connect(self.set_enabled)
        self.table = QTableView()
        self.table.setObjectName("documentTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        hh = self.table.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(DocumentTableModel.NAME, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(DocumentTableModel.STATUS, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.table.doubleClicked.connect(
            lambda index: self.open_document(self.model.document(index.row()).id)
        )
        delete = QAction(self.table)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.confirm_remove)
        self.table.addAction(delete)

        self.empty_hint = QLabel()
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)

        self.body = QStackedWidget()
        self.body.addWidget(self.empty_hint)
        self.body.addWidget(self.table)
        self.drop_area = DropArea()
        self.drop_area.setObjectName("dropArea")
        drop_layout = QVBoxLayout(self.drop_area)
        drop_layout.setContentsMargins(1, 1, 1, 1)
        drop_layout.addWidget(self.body)

        # progress ------------------------------------------------------
        self.progress_panel = QFrame()
        self.progress_panel.setObjectName("progressPanel")
        self.progress_label = QLabel("")
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel_add)
        pl = QVBoxLayout(self.progress_panel)
        pl.setContentsMargins(12, 8, 12, 8)
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        pl.addWidget(self.progress_label)
        pl.addLayout(row)
        self.progress_panel.hide()

        # followed folders ------------------------------------------------
        self.watcher = FolderWatcher(client, self)
        self.watcher.folders_changed.connect(self.show_folders)
        self.watcher.deletions_found.connect(self.ask_deletions)
        self.watcher.synced.connect(self._report_sync)
        self.watcher.failed.connect(
            lambda message: self._show_failure(self.tr("Followed folders"), message)
        )
        self.folders_panel = QFrame()
        self.folders_panel.setObjectName("foldersPanel")
        self.folders_title = QLabel()
        self.folders_title.setObjectName("sectionLabel")
        self.folder_list = QListWidget()
        self.folder_list.setObjectName("folderList")
        self.folder_list.setMaximumHeight(96)
        self.folder_list.itemSelectionChanged.connect(self._update_actions)
        self.follow_button = QPushButton()
        self.follow_button.clicked.connect(self.choose_follow_folder)
        self.sync_button = QPushButton()
        self.sync_button.clicked.connect(self.watcher.scan_now)
        self.unfollow_button = QPushButton()
        self.unfollow_button.clicked.connect(self.confirm_unfollow)
        fl = QVBoxLayout(self.folders_panel)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.setSpacing(4)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folders_title, 1)
        for button in (self.sync_button, self.unfollow_button, self.follow_button):
            folder_row.addWidget(button)
        fl.addLayout(folder_row)
        fl.addWidget(self.folder_list)
        self.folders_panel.hide()
        self.folder_box: QMessageBox | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(self.drop_area, 1)
        layout.addWidget(self.folders_panel)
        layout.addWidget(self.progress_panel)

        client.documents_changed.connect(self.show_snapshot)
        client.activity_changed.connect(self._update_actions)
        self._snapshot: LibrarySnapshot | None = None
        self.retranslate()
        self._update_actions()

    def retranslate(self) -> None:
        """Set every fixed text; runs again when the language changes."""
        self.title.setText(self.tr("Library"))
        self.add_button.setText(self.tr("Add documents…"))
        self.add_button.setToolTip(self.tr("Add PDF, EPUB, Markdown or text files (Ctrl+O)"))
        self.add_files_action.setText(self.tr("Add files…"))
        self.add_folder_action.setText(self.tr("Add a folder…"))
        self.follow_action.setText(self.tr("Follow a folder…"))
        self.follow_action.setToolTip(self.tr("Keep the library in step with a folder"))
        self.folders_title.setText(self.tr("Followed folders"))
        self.follow_button.setText(self.tr("Follow a folder…"))
        self.sync_button.setText(self.tr("Sync now"))
        self.sync_button.setToolTip(
            self.tr("Look for new, changed and deleted files in the followed folders now")
        )
        self.unfollow_button.setText(self.tr("Stop following"))
        self.unfollow_button.setToolTip(
            self.tr("Stop following the selected folder; its documents stay")
        )
        self.show_folders(self.watcher.folders, self.watcher.states)
        self.remove_button.setText(self.tr("Remove…"))
        self.open_button.setText(self.tr("Open…"))
        self.reindex_button.setText(self.tr("Re-index"))
        self.reindex_button.setToolTip(
            self.tr(
                "Read the selected documents again from the library's copies: "
                "OCR for scanned pages ('needs OCR'), new settings"
            )
        )
        self.open_button.setToolTip(
            self.tr("Read the selected document here, page by page (double-click a row)")
        )
        self.remove_button.setToolTip(
            self.tr("Remove the selected documents from the library (Delete)")
        )
        self.empty_hint.setText(
            "<p style='font-size:15pt; font-weight:600'>"
            + self.tr("Your library is empty")
            + "</p>"
            f"<p style='font-size:12pt'>{self.tr(EMPTY_HINT)} (Ctrl+O).</p><p>"
            + self.tr("KidneyTalk reads PDF, EPUB, Markdown and text files, and folders of them.")
            + "<br>"
            + self.tr("Documents are copied into your library and never leave this computer.")
            + "</p>"
        )
        if self.cancel_button.isEnabled():
            self.cancel_button.setText(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.tr("Stop adding; files not finished are not kept"))
        self.model.headerDataChanged.emit(
            Qt.Orientation.Horizontal, 0, self.model.columnCount() - 1
        )
        if self._snapshot is not None:
            self.show_snapshot(self._snapshot)
        else:
            self.summary.setText(self.tr("Add the guidelines and papers you want answers from."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------ state
    @property
    def adding(self) -> bool:
        return self.client.pending(ADD) > 0

    def show_snapshot(self, snapshot: LibrarySnapshot) -> None:
        selected = set(self.selected_ids())
        self._snapshot = snapshot
        self.model.set_snapshot(snapshot)
        docs = snapshot.documents
        self.body.setCurrentWidget(self.table if docs else self.empty_hint)
        if docs:
            used = sum(1 for d in docs if d.enabled and d.status == cat.STATUS_READY)
            pages = sum(d.pages for d in docs if d.status == cat.STATUS_READY)
            failed = sum(1 for d in docs if d.status == cat.STATUS_FAILED)
            text = (
                self.tr("1 document")
                if len(docs) == 1
                else self.tr("%1 documents").replace("%1", str(len(docs)))
            )
            counted = (
                self.tr("1 page · %2 used for answers")
                if pages == 1
                else self.tr("%1 pages · %2 used for answers").replace("%1", str(pages))
            )
            text += " · " + counted.replace("%2", str(used))
            if failed:
                text += " · " + self.tr("%1 failed").replace("%1", str(failed))
            self.summary.setText(text)
        else:
            self.summary.setText(self.tr("Add the guidelines and papers you want answers from."))
        sel = self.table.selectionModel()
        for row, doc in enumerate(docs):
            if doc.id in selected:
                sel.select(
                    self.model.index(row, 0), sel.SelectionFlag.Select | sel.SelectionFlag.Rows
                )
        self._update_actions()

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.document(r).id for r in rows]

    def _update_actions(self) -> None:
        adding = self.adding
        writing = adding or self.client.pending(REMOVE) > 0
        self.add_button.setEnabled(not adding)
        self.remove_button.setEnabled(not writing and bool(self.selected_ids()))
        self.open_button.setEnabled(len(self.selected_ids()) == 1)
        offer = self.reindex_candidates()
        self.reindex_button.setVisible(bool(offer))
        self.reindex_button.setEnabled(bool(offer) and not writing)
        self.model.set_locked(writing)
        self.unfollow_button.setEnabled(bool(self.folder_list.selectedItems()))
        if self.read_only:
            tip = self.read_only_tip()
            for widget in self._write_widgets():
                widget.setEnabled(False)
                widget.setToolTip(tip)
            self.follow_action.setEnabled(False)
            self.model.set_locked(True)
            self.read_only_label.setText(self.tr("Read-only"))
            self.read_only_label.setToolTip(tip)
            self.read_only_label.show()

    @property
    def read_only(self) -> str:
        """Why the library cannot be changed ("" when it can), as the engine thread last reported."""
        return self._snapshot.read_only if self._snapshot is not None else ""

    def read_only_tip(self) -> str:
        return (
            self.tr("This library is in a read-only folder (%1): it answers questions, ")
            + self.tr("but documents cannot be added, removed or re-indexed.")
        ).replace("%1", self.read_only)

    def _write_widgets(self) -> list[QWidget]:
        return [
            self.add_button,
            self.remove_button,
            self.reindex_button,
            self.follow_button,
            self.sync_button,
            self.unfollow_button,
        ]

    def _refused_read_only(self) -> bool:
        """True (and the reason in the status bar) when the library cannot be changed."""
        if self.read_only:
            self.message.emit(self.read_only_tip())
        return bool(self.read_only)

    def reindex_candidates(self) -> list[str]:
        """Selected documents that re-indexing would help: "needs OCR", or settings changed since."""
        hints = self._snapshot.hints if self._snapshot is not None else {}
        ids = set(self.selected_ids())
        return [
            d.id
            for d in self.model.documents()
            if d.id in ids and d.status == cat.STATUS_READY and (d.needs_ocr or d.id in hints)
        ]

    def reindex_selected(self) -> None:
        """Re-index the selected "needs OCR" (or outdated) documents, with the add progress and Cancel."""
        ids = self.reindex_candidates()
        if not ids or self.adding:
            return
        self._rate_start = None
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText(self.tr(_PREPARING))
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText(self.tr("Cancel"))
        self.progress_panel.show()
        self._start_ingest(reindex_job(ids))

    # ------------------------------------------------------------ adding
    def choose_files(self) -> None:
        if self.adding or self._refused_read_only():
            return
        patterns = " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self,
            self.tr("Add documents"),
            str(Path.home()),
            self.tr("Documents (%1);;All files (*)").replace("%1", patterns),
        )
        if files:
            self.add_paths(files)

    def choose_folder(self) -> None:
        if self.adding or self._refused_read_only():
            return
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Add a folder of documents"), str(Path.home())
        )
        if folder:
            self.add_paths([folder])

    def add_paths(self, paths: Sequence[str | Path]) -> None:
        """Start adding; one import at a time (the worker would queue a second one anyway)."""
        if not paths or self._refused_read_only():
            return
        if self.adding:
            self.message.emit(
                self.tr("Already adding documents: wait for it to finish, or Cancel it first.")
            )
            return
        self._rate_start = None
        self.progress_bar.setRange(0, 0)  # busy until the first file event
        if self.client.running and self.client.running != ADD:
            self.progress_label.setText(self.tr("Waiting for the models to finish loading…"))
        else:
            self.progress_label.setText(self.tr(_PREPARING))
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText(self.tr("Cancel"))
        self.progress_panel.show()
        self._start_ingest(add_job([str(p) for p in paths]))

    def cancel_add(self) -> None:
        self.client.cancel_add()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText(self.tr("Cancelling…"))
        self.progress_label.setText(
            self.tr("Cancelling after the current step… files not finished are not kept.")
        )

    def _start_ingest(self, job: Job[list[AddResult]]) -> None:
        job.started.connect(self._on_ingest_started)
        self.client.start(
            job, done=self._on_added, failed=self._on_add_failed, progress=self._on_progress
        )
        self._update_actions()

    def set_enabled(self, doc_id: str, enabled: bool) -> None:
        """Use a document for answers, or not (the table shows the change at once)."""
        self.client.start(
            set_enabled_job(doc_id, enabled),
            done=self._on_enabled_changed,
            failed=lambda message: self._show_failure(
                self.tr("Could not change the document"), message
            ),
        )

    def remove(self, doc_ids: Sequence[str]) -> None:
        """Remove documents from the library (the confirmation was asked before)."""
        self.client.start(
            remove_job(doc_ids),
            done=self._on_removed,
            failed=lambda message: self._show_failure(self.tr("Could not remove"), message),
        )
        self._update_actions()

    def _on_ingest_started(self) -> None:
        if self.cancel_button.isEnabled():
            self.progress_label.setText(self.tr(_PREPARING))

    def _on_progress(self, event: object) -> None:
        if not isinstance(event, ProgressEvent) or not self.adding:
            return
        if event.stage in ("error", "skip") and event.message and not event.files_total:
            self.message.emit(event.message)  # a bad input found before ingest begins
            return
        if not event.files_total or not self.cancel_button.isEnabled():
            return
        if event.stage == "start":
            self.progress_label.setText(
                (
                    self.tr("Preparing 1 file…")
                    if event.files_total == 1
                    else self.tr("Preparing %1 files…").replace("%1", str(event.files_total))
                )
                + (f" ({event.message})" if event.message else "")
            )
            return
        i, n = event.file_index, event.files_total
        if event.stage in ("done", "error", "skip"):
            fraction = i / n
        elif event.stage in ("embed", "ocr"):
            fraction = (i - 1 + event.file_fraction) / n
        else:
            fraction = (i - 1) / n
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * fraction))
        if self._rate_start is None:
            self._rate_start = time.monotonic()
        elapsed = time.monotonic() - self._rate_start
        verb = {
            "embed": self.tr("indexing"),
            "done": self.tr("added"),
            "error": self.tr("failed"),
            "skip": self.tr("skipped"),
            "ocr": self.tr("OCR of page %1 of %2")
            .replace("%1", str(max(1, round(event.file_fraction * event.pages_total) + 1)))
            .replace("%2", str(event.pages_total)),
        }.get(event.stage, self.tr("reading"))
        parts = [
            self.tr("File %1 of %2: %3 (%4)")
            .replace("%1", str(i))
            .replace("%2", str(n))
            .replace("%3", event.file)
            .replace("%4", verb),
            self.tr("%1 pages indexed").replace("%1", str(event.pages_done)),
        ]
        if event.pages_done and elapsed > 1:
            parts.append(self.tr("%1 pages/s").replace("%1", f"{event.pages_done / elapsed:.1f}"))
        self.progress_label.setText("  ·  ".join(parts))

    def _on_added(self, results: list[AddResult]) -> None:
        self.progress_panel.setVisible(self.adding)
        self._report_add(results)

    def _on_add_failed(self, message: str) -> None:
        self.progress_panel.setVisible(self.adding)
        self._show_failure(self.tr("Could not add documents"), message)

    def _on_removed(self, removed: list[Document]) -> None:
        names = ", ".join(d.name for d in removed)
        self.message.emit(
            self.tr("Removed %1.").replace("%1", names) if names else self.tr("Nothing removed.")
        )

    def _on_enabled_changed(self, doc: Document) -> None:
        state = (
            self.tr("%1 is used for answers again.")
            if doc.enabled
            else self.tr("%1 is no longer used for answers.")
        )
        self.message.emit(state.replace("%1", doc.name))

    def _show_failure(self, title: str, message: str) -> None:
        self.error_box = show_error(self, title, message)

    def _report_add(self, results: list[AddResult]) -> None:
        count = {
            s: sum(1 for r in results if r.status == s)
            for s in ("added", "exists", "failed", "skipped", "cancelled")
        }
        parts = [self.tr("%1 added").replace("%1", str(count["added"]))]
        if count["exists"]:
            parts.append(self.tr("%1 already in the library").replace("%1", str(count["exists"])))
        if count["failed"]:
            parts.append(self.tr("%1 failed").replace("%1", str(count["failed"])))
        if count["skipped"]:
            parts.append(
                self.tr("%1 skipped (unsupported type)").replace("%1", str(count["skipped"]))
            )
        if count["cancelled"]:
            parts.append(self.tr("%1 cancelled (not kept)").replace("%1", str(count["cancelled"])))
        self.message.emit(self.tr("Import finished: %1.").replace("%1", ", ".join(parts)))
        failed = [r for r in results if r.failed]
        if failed:
            lines = "\n".join(f"• {r.message}" for r in failed[:12])
            more = (
                "\n" + self.tr("… and %1 more").replace("%1", str(len(failed) - 12))
                if len(failed) > 12
                else ""
            )
            self.error_box = show_error(
                self,
                self.tr("Some documents could not be added"),
                self.tr("Not added: %1 of %2 files.")
                .replace("%1", str(len(failed)))
                .replace("%2", str(len(results)))
                + f"\n\n{lines}{more}",
            )

    # ------------------------------------------------------------ followed folders
    def choose_follow_folder(self) -> None:
        if self._refused_read_only():
            return
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Follow a folder"), str(Path.home())
        )
        if folder:
            self.follow_folder(folder)

    def follow_folder(self, folder: str | Path) -> None:
        """Follow ``folder``: its documents are added now, and kept in step from then on."""
        self.message.emit(self.tr("Following %1: adding its documents…").replace("%1", str(folder)))
        self.watcher.follow(str(folder))

    def folder_state_text(self, state: str) -> tuple[str, QColor | None]:
        if state == "syncing":
            return self.tr("syncing…"), _BUSY
        if state.startswith("unavailable"):
            why = state.partition(": ")[2]
            return self.tr("folder unavailable, retrying") + (f" ({why})" if why else ""), _WARN
        if state == "ok":
            return self.tr("in sync"), _OK
        return self.tr("waiting for the first sync"), None

    def show_folders(self, listed: list[FollowedFolder], states: dict[str, str]) -> None:
        """The followed folders with their state (from the watcher's last scan)."""
        selected = {i.data(Qt.ItemDataRole.UserRole) for i in self.folder_list.selectedItems()}
        self.folder_list.clear()
        for f in listed:
            text, colour = self.folder_state_text(states.get(f.path, ""))
            files = self.tr("%1 files").replace("%1", str(f.files))
            item = QListWidgetItem(f"{f.path}   —   {text} · {files}")
            item.setData(Qt.ItemDataRole.UserRole, f.path)
            item.setToolTip(f.message or f.path)
            if colour is not None:
                item.setForeground(QBrush(colour))
            self.folder_list.addItem(item)
            item.setSelected(f.path in selected)
        self.folders_panel.setVisible(bool(listed))
        self._update_actions()

    def ask_deletions(self, changes: list[FolderChanges]) -> None:
        """Files were deleted from followed folders: remove their documents too? (setting: ask)"""
        gone = [f"{c.folder}/{t.rel}" for c in changes for t in c.deleted]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Files deleted from a followed folder"),
            self.tr("%1 files were deleted from followed folders:").replace("%1", str(len(gone)))
            + "\n\n"
            + "\n".join(f"• {g}" for g in gone[:10])
            + ("\n…" if len(gone) > 10 else "")
            + "\n\n"
            + self.tr("Remove them from the library too?"),
            parent=self,
        )
        box.setObjectName("confirmFolderDeletions")
        remove = box.addButton(
            self.tr("Remove from library"), QMessageBox.ButtonRole.DestructiveRole
        )
        keep = box.addButton(self.tr("Keep in library"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Decide later"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)

        def answered() -> None:
            clicked = box.clickedButton()
            decision = True if clicked is remove else False if clicked is keep else None
            self.folder_box = None
            self.watcher.apply(changes, decision)

        box.finished.connect(lambda _result: answered())
        self.folder_box = box
        box.open()

    def confirm_unfollow(self) -> None:
        items = self.folder_list.selectedItems()
        if not items:
            return
        path = items[0].data(Qt.ItemDataRole.UserRole)
        self.confirm_box = confirm(
            self,
            self.tr("Stop following"),
            self.tr(
                "Stop following %1?\n\nIts documents stay in the library; new files in it are no "
                "longer added."
            ).replace("%1", path),
            self.tr("Stop following"),
            lambda: self.watcher.unfollow(path),
            name="confirmUnfollow",
        )

    def _report_sync(self, reports: list[SyncReport]) -> None:
        changed = [r for r in reports if r.added or r.updated or r.moved or r.removed or r.failed]
        if changed:
            self.message.emit("; ".join(r.summary() for r in changed))
        failed = [m for r in reports for m in r.failed]
        if failed:
            self.error_box = show_error(
                self,
                self.tr("Some documents could not be added"),
                "\n".join(f"• {m}" for m in failed[:12]),
            )

    # ------------------------------------------------------------ removing
    def open_document(self, doc_id: str | None = None, page: int = 1) -> PageDialog | None:
        """Show a document of the library at ``page`` in a window (rendered from the library's copy)."""
        ids = [doc_id] if doc_id else self.selected_ids()
        docs = [d for d in self.model.documents() if d.id in ids]
        if len(docs) != 1:
            return None
        doc = docs[0]
        if not doc.stored_path or not Path(doc.stored_path).exists():
            self.error_box = show_error(
                self,
                self.tr("Cannot open the document"),
                self.tr("The library keeps no readable copy of %1; add it again.").replace(
                    "%1", doc.name
                ),
            )
            return None
        self.page_dialog = PageDialog(
            doc.stored_path, page, title=f"{doc.name} — KidneyTalk", parent=self
        )
        self.page_dialog.open()
        return self.page_dialog

    def confirm_remove(self) -> None:
        ids = self.selected_ids()
        if not ids or not self.remove_button.isEnabled():
            return
        docs = [self.model.document(self.model.row_of(i)) for i in ids]
        what = (
            f"“{docs[0].name}”"
            if len(docs) == 1
            else self.tr("%1 documents").replace("%1", str(len(docs)))
        )

        def remove() -> None:
            self.remove(ids)

        def closed() -> None:
            self.confirm_box = None

        self.confirm_box = confirm(
            self,
            self.tr("Remove from library"),
            self.tr(
                "Remove %1 from the library?\n\nIts passages will no longer be used for answers. "
                "The original file on your disk is not touched."
            ).replace("%1", what),
            self.tr("Remove"),
            remove,
            name="confirmRemove",
            on_close=closed,
        )

    # ------------------------------------------------------------ drag and drop
    @staticmethod
    def _local_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._local_paths(event) and not self.adding and not self.read_only:
            event.acceptProposedAction()
            self.drop_area.set_active(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: object) -> None:
        self.drop_area.set_active(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_area.set_active(False)
        paths = self._local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)
