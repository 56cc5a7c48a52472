"""The main window: a sidebar of pages over a ``QStackedWidget``, a status bar.

Pages get the :class:`~kidneytalk.ui.workers.EngineClient` by constructor
injection and never see the engine. New pages are added to :data:`PAGES` order
in :meth:`MainWindow._build_pages`; the sidebar follows.
"""

from __future__ import annotations

import logging
from typing import cast

from PySide6.QtCore import QByteArray, QEvent, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kidneytalk import __version__
from kidneytalk.engine import Engine

from .chat_page import ChatPage
from .dialogs import ShortcutsDialog
from .eval_page import EvalPage
from .i18n import set_language
from .library_page import LibraryPage
from .models_page import ModelsPage
from .settings_page import SettingsPage
from .style import STYLE_SHEET
from .welcome_page import WelcomePage
from .workers import (
    ADD,
    EngineClient,
    LibrarySnapshot,
    documents_job,
    warm_up_job,
)

log = logging.getLogger("kidneytalk.ui")

STATUS_TIMEOUT_MS = 10000


class PlaceholderPage(QWidget):
    """A page that is planned but not built yet, so the structure is visible."""

    def __init__(self, name: str, what: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(f"{name.lower()}Page")
        title = QLabel(name)
        title.setObjectName("pageTitle")
        self.body = body = QLabel(f"Coming soon. {what}")
        body.setObjectName("pageSubtitle")
        body.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(title)
        layout.addWidget(body)
        layout.addStretch(1)


class MainWindow(QMainWindow):
    def __init__(self, engine: Engine, client: EngineClient | None = None):
        super().__init__()
        set_language(
            (client.settings if client else engine.settings).language
        )  # before any page sets its texts
        self.setObjectName("mainWindow")
        self.setWindowTitle("KidneyTalk")
        self.resize(1100, 720)
        self.setMinimumSize(QSize(760, 480))
        self.setStyleSheet(STYLE_SHEET)
        self.engine = engine  # paths and log location only; engine calls go through the client
        self.client = client or EngineClient(engine, self)

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(180)
        self.sidebar.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.pages = QStackedWidget()
        self._build_pages()
        self.sidebar.currentRowChanged.connect(self.pages.setCurrentIndex)
        # the current row stays set under the welcome page: a click on it must still lead there
        self.sidebar.itemPressed.connect(
            lambda item: self.show_page(cast(QWidget, self.pages.widget(self.sidebar.row(item))))
        )

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self._build_menus()
        self.offline_label = QLabel("● Offline")
        self.offline_label.setObjectName("offlineLabel")
        self.offline_label.setToolTip(
            "KidneyTalk never connects to the internet.\n"
            f"Library: {engine.paths.data}\nLog file: {engine.log_path}"
        )
        self.statusBar().addPermanentWidget(self.offline_label)
        for notice in engine.settings_notices:  # e.g. a broken settings.json was repaired at start
            self.statusBar().showMessage(notice)

        self.client.started.connect(self._on_started)
        self.client.notice.connect(self.show_message)
        self.library_page.message.connect(self.show_message)
        self.chat_page.message.connect(self.show_message)
        self._closed = False
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.retranslate()
        self.restore_state()
        self.refresh()
        # the catch-up scan of followed folders (changes made while the app was closed), then watching
        self.library_page.watcher.start(self.client.settings.folders.poll_seconds)

    # ------------------------------------------------------------ construction
    def _build_pages(self) -> None:
        self.library_page = LibraryPage(self.client)
        last = self._window_state().value("chat/conversation", "", type=str)
        self.chat_page = ChatPage(
            self.client, last_conversation=last if isinstance(last, str) else ""
        )
        self.models_page = ModelsPage(self.client)
        self.models_page.message.connect(self.show_message)
        self.models_page.snapshot_changed.connect(lambda s: self.show_model_location(s.where))
        self.evaluation_page = EvalPage(self.client)
        self.evaluation_page.message.connect(self.show_message)
        self.models_page.snapshot_changed.connect(self.evaluation_page.show_models)
        self.settings_page = SettingsPage(self.client)
        self.settings_page.message.connect(self.show_message)
        pages = (
            ("Library", self.library_page),
            ("Chat", self.chat_page),
            ("Models", self.models_page),
            ("Evaluation", self.evaluation_page),
            ("Settings", self.settings_page),
        )
        for i, (name, page) in enumerate(pages, start=1):
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)  # English key, for retranslate()
            item.setToolTip(f"{name} (Ctrl+{i})")
            item.setSizeHint(QSize(0, 40))
            self.sidebar.addItem(item)
            self.pages.addWidget(page)
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{i}"))
            action.triggered.connect(lambda _=False, target=page: self.show_page(target))
            self.addAction(action)
        self.sidebar.setCurrentRow(0)
        # not in the sidebar: shown while the library is empty, and from Help → Welcome
        self.welcome_page = WelcomePage(self.engine.paths.data)
        self.welcome_page.add_requested.connect(self.add_documents)
        self.welcome_page.sample_requested.connect(self.try_sample)
        self.welcome_page.follow_requested.connect(self.follow_folder)
        self.pages.addWidget(self.welcome_page)
        self._welcome_decided = False
        self.client.documents_changed.connect(self._on_documents)

    def _build_menus(self) -> None:
        self.file_menu = file_menu = self.menuBar().addMenu("&File")
        self.add_action = QAction("&Add documents…", self)
        self.add_action.setShortcut(QKeySequence.StandardKey.Open)
        self.add_action.triggered.connect(self.add_documents)
        file_menu.addAction(self.add_action)
        self.new_chat_action = QAction("&New chat", self)
        self.new_chat_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_chat_action.triggered.connect(self.new_chat)
        file_menu.addAction(self.new_chat_action)
        file_menu.addSeparator()
        self.quit_action = quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.help_menu = help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = QAction("&Keyboard shortcuts", self)
        self.shortcuts_action.setShortcut(QKeySequence(Qt.Key.Key_F1))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        self.welcome_action = QAction("&Welcome", self)
        self.welcome_action.triggered.connect(self.show_welcome)
        help_menu.addAction(self.welcome_action)
        self.about_action = about = QAction("&About KidneyTalk", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def retranslate(self) -> None:
        """The window's own texts (each page translates itself); again on every language change."""
        names = {
            "Library": self.tr("Library"),
            "Chat": self.tr("Chat"),
            "Ask": self.tr("Ask"),
            "Models": self.tr("Models"),
            "Evaluation": self.tr("Evaluation"),
            "Settings": self.tr("Settings"),
        }
        fm = self.sidebar.fontMetrics()
        widest = 0
        for i in range(self.sidebar.count()):
            item = self.sidebar.item(i)
            name = names.get(item.data(Qt.ItemDataRole.UserRole), item.text())
            item.setText(name)
            item.setToolTip(f"{name} (Ctrl+{i + 1})")
            item.setSizeHint(
                QSize(0, max(40, fm.height() * 2 + 8))
            )  # grows with the font, not fixed pixels
            widest = max(widest, fm.horizontalAdvance(name))
        self.sidebar.setFixedWidth(max(180, widest + 60))
        self.file_menu.setTitle(self.tr("&File"))
        self.add_action.setText(self.tr("&Add documents…"))
        if hasattr(self, "new_chat_action"):
            self.new_chat_action.setText(self.tr("&New chat"))
        self.quit_action.setText(self.tr("&Quit"))
        self.help_menu.setTitle(self.tr("&Help"))
        self.shortcuts_action.setText(self.tr("&Keyboard shortcuts"))
        self.about_action.setText(self.tr("&About KidneyTalk"))
        self.welcome_action.setText(self.tr("&Welcome"))
        self.offline_label.setText(self.tr("● Offline"))
        self.offline_label.setToolTip(
            self.tr("KidneyTalk never connects to the internet.\nLibrary: %1\nLog file: %2")
            .replace("%1", str(self.engine.paths.data))
            .replace("%2", str(self.engine.log_path))
        )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------ actions
    def show_page(self, page: QWidget) -> None:
        if page is self.welcome_page:
            self.show_welcome()
            return
        self.sidebar.setCurrentRow(self.pages.indexOf(page))
        self.pages.setCurrentWidget(page)

    def show_welcome(self) -> None:
        """The first-run page (Help → Welcome); no sidebar entry is highlighted meanwhile.

        (The sidebar keeps a current row: a list without one picks its first row when it gets focus.)
        """
        self.sidebar.clearSelection()
        self.pages.setCurrentWidget(self.welcome_page)

    def _on_documents(self, snapshot: object) -> None:
        """The welcome page for an empty library at start; the Library page once a document is in."""
        if not isinstance(snapshot, LibrarySnapshot):
            return
        if snapshot.documents and self.pages.currentWidget() is self.welcome_page:
            self.show_page(self.library_page)
        elif (
            not snapshot.documents
            and not self._welcome_decided
            and self.pages.currentWidget() is self.library_page
        ):
            self.show_welcome()  # in place of the empty Library page (another page restored at start stays)
        self._welcome_decided = True

    def try_sample(self) -> None:
        """Add the bundled sample document (a short CKD primer) so a first question can be asked at once."""
        from kidneytalk.engine import sample_document

        self.show_page(self.library_page)
        self.library_page.add_paths([sample_document()])

    def follow_folder(self) -> None:
        self.show_page(self.library_page)
        self.library_page.choose_follow_folder()

    def new_chat(self) -> None:
        self.show_page(self.chat_page)
        self.chat_page.new_chat()

    def add_documents(self) -> None:
        self.show_page(self.library_page)
        self.library_page.choose_files()

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help → Keyboard shortcuts (F1): one non-modal list, raised again if already open."""
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        self.shortcuts_dialog.activateWindow()
        return self.shortcuts_dialog

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About KidneyTalk"),
            f"<b>KidneyTalk {__version__}</b><p>"
            + self.tr(
                "A private, fully offline medical knowledge assistant: a local language model answers "
                "from your own documents, with page references."
            )
            + "</p><p>"
            + self.tr("Library: %1").replace("%1", str(self.engine.paths.data))
            + "<br>"
            + self.tr("Log file: %1").replace("%1", str(self.engine.log_path))
            + "</p>",
        )

    def bring_to_front(self) -> None:
        """Another launch on this library asked for the window (see :mod:`.single_instance`)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        self.show_message(
            self.tr("KidneyTalk is already open on this library: this is its window.")
        )

    def show_model_location(self, where: str) -> None:
        """The permanent status-bar label: offline, or the one model server KidneyTalk talks to."""
        local = where == "this computer"
        self.offline_label.setText(
            "● " + (self.tr("Offline") if local else self.tr("Model on %1").replace("%1", where))
        )
        lines = [
            self.tr(
                "The language model runs on this computer; KidneyTalk never connects to the internet."
            )
            if local
            else self.tr(
                "The language model runs on %1: questions and passages are sent there, and KidneyTalk "
                "connects to no other host."
            ).replace("%1", where),
            self.tr("Library: %1").replace("%1", str(self.engine.paths.data)),
            self.tr("Log file: %1").replace("%1", str(self.engine.log_path)),
        ]
        self.offline_label.setToolTip("\n".join(lines))

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_TIMEOUT_MS)

    # ------------------------------------------------------------ worker events
    def _on_started(self, task: str) -> None:
        if task == ADD and self.pages.currentWidget() is self.welcome_page:
            self.show_page(self.library_page)  # where an import shows its progress

    # Failures of these background jobs are not fatal: the status bar says so.
    # Pages show dialogs for the jobs the user asked for.
    def warm_up(self) -> None:
        """Load the models in the engine thread now, so the first question does not wait."""
        job = warm_up_job()
        job.started.connect(
            lambda: self.statusBar().showMessage(self.tr("Loading the models in the background…"))
        )
        self.client.start(
            job,
            done=lambda _none: self.show_message(self.tr("Models loaded: ready to answer.")),
            failed=lambda message: self.show_message(
                self.tr("Models not loaded yet: %1").replace("%1", message.splitlines()[0])
            ),
        )

    def refresh(self) -> None:
        """Read the library again (every page gets the snapshot through documents_changed)."""
        self.client.start(
            documents_job(),
            failed=lambda message: self.show_message(
                self.tr("Could not read the library: %1").replace("%1", message.splitlines()[0])
            ),
        )

    # ------------------------------------------------------------ window state
    def _window_state(self) -> QSettings:
        return QSettings(str(self.engine.paths.config / "window.ini"), QSettings.Format.IniFormat)

    def restore_state(self) -> None:
        """Size and position, splitter positions and the page shown when the window was last closed.

        (The conversation shown last is read in :meth:`_build_pages`: the chat page opens it.)
        """
        state = self._window_state()
        geometry = state.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        layout = state.value("window/state")
        if isinstance(layout, QByteArray) and not layout.isEmpty():
            self.restoreState(layout)
        for splitter in self.findChildren(QSplitter):  # pages name the splitters worth keeping
            saved = (
                state.value(f"splitters/{splitter.objectName()}") if splitter.objectName() else None
            )
            if isinstance(saved, QByteArray) and not saved.isEmpty():
                splitter.restoreState(saved)
        page = state.value("window/page", 0, type=int)
        if isinstance(page, int) and 0 <= page < self.sidebar.count():
            self.sidebar.setCurrentRow(page)

    def save_state(self) -> None:
        state = self._window_state()
        state.setValue("window/geometry", self.saveGeometry())
        state.setValue("window/state", self.saveState())
        state.setValue("window/page", self.sidebar.currentRow())
        # the conversation on screen ("" for an unsaved new chat: the newest one opens then)
        state.setValue(
            "chat/conversation", self.chat_page.conv.id if self.chat_page.conv is not None else ""
        )
        for splitter in self.findChildren(QSplitter):
            if splitter.objectName():
                state.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        state.sync()

    # ------------------------------------------------------------ lifecycle
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.client.pending(ADD) and not self._closed:
            answer = QMessageBox.question(
                self,
                self.tr("Quit KidneyTalk"),
                self.tr(
                    "Documents are still being added. Quit anyway?\n\nDocuments already finished are kept; "
                    "the one being indexed is not (add it again later)."
                ),
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.shutdown()
        event.accept()

    def shutdown(self) -> bool:
        """Stop the engine thread; True when it has ended and the engine may be closed."""
        if not self._closed:
            self.library_page.watcher.stop()
            self.save_state()
            self.evaluation_page.cancel()  # the engine thread ends after the current question
        self._closed = True
        return self.client.shutdown()
