"""The first-run page: what KidneyTalk does, how to start, where the data lives.

Shown instead of the Library page while the library is empty (the main window
decides), and again from Help → Welcome. It only emits requests; the main
window routes them to the Library page, which runs them through the worker.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kidneytalk.models import bundled_model_path


class WelcomePage(QWidget):
    """Signals: ``add_requested``, ``sample_requested``, ``follow_requested``."""

    add_requested = Signal()
    sample_requested = Signal()
    follow_requested = Signal()

    def __init__(self, data_folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("welcomePage")
        self.data_folder = data_folder
        self.models_ready = bundled_model_path() is not None
        self.setStyleSheet(_STYLE)

        self.title = QLabel()
        self.title.setObjectName("welcomeTitle")
        self.intro = QLabel()
        self.intro.setObjectName("welcomeIntro")
        self.intro.setWordWrap(True)
        self.add_button = QPushButton()
        self.add_button.setObjectName("primaryButton")
        self.add_button.clicked.connect(self.add_requested)
        self.sample_button = QPushButton()
        self.sample_button.setObjectName("sampleButton")
        self.sample_button.clicked.connect(self.sample_requested)
        self.follow_button = QPushButton()
        self.follow_button.setObjectName("followButton")
        self.follow_button.clicked.connect(self.follow_requested)
        buttons = QHBoxLayout()
        buttons.setSpacing(10)
        for button in (self.add_button, self.sample_button, self.follow_button):
            button.setMinimumHeight(36)
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.facts = QLabel()
        self.facts.setObjectName("welcomeFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QFrame()
        box.setObjectName("welcomeBox")
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(18, 14, 18, 14)
        box_layout.addWidget(self.facts)

        column = QVBoxLayout()
        column.setSpacing(16)
        column.addWidget(self.title)
        column.addWidget(self.intro)
        column.addLayout(buttons)
        column.addWidget(box)
        column.addStretch(1)
        holder = QWidget()
        holder.setMaximumWidth(760)
        holder.setLayout(column)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(40, 36, 40, 24)
        layout.addWidget(holder, 1)
        layout.addStretch(0)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.tr("Welcome to KidneyTalk"))
        self.intro.setText(
            self.tr(
                "KidneyTalk answers clinical questions from your own documents — guidelines, textbooks, papers — "
                "and shows the page each statement comes from. When your documents hold no answer, it says so."
            )
        )
        self.add_button.setText(self.tr("Add documents…"))
        self.add_button.setToolTip(
            self.tr("PDF, EPUB, Markdown or text files, or a whole folder (Ctrl+O)")
        )
        self.sample_button.setText(self.tr("Try the sample document"))
        self.sample_button.setToolTip(
            self.tr("Adds a short primer on chronic kidney disease, then ask it a question")
        )
        self.follow_button.setText(self.tr("Follow a folder…"))
        self.follow_button.setToolTip(
            self.tr(
                "Keep the library in step with a folder: new and changed files are "
                "added, deleted ones removed after asking"
            )
        )
        models = (
            self.tr(
                "The language model and the search model come with KidneyTalk and are ready: "
                "no download, no account, nothing to set up."
            )
            if self.models_ready
            else self.tr("The bundled language model was not found: see Models to add a GGUF file.")
        )
        items = (
            self.tr(
                "Nothing leaves this computer: no internet connection, no cloud, no telemetry."
            ),
            models,
            self.tr(
                "Your library (copies of your documents, the search index and your conversations) is kept in "
                "%1"
            ).replace("%1", f"<br><code>{_html(str(self.data_folder))}</code>"),
            self.tr(
                "Answers come from the documents you add only, with page citations you can open."
            ),
        )
        self.facts.setText(
            "<ul style='margin-left:-20px'>"
            + "".join(f"<li style='margin-bottom:6px'>{i}</li>" for i in items)
            + "</ul>"
        )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


_STYLE = """
#welcomeTitle { font-size: 22pt; font-weight: 600; }
#welcomeIntro { font-size: 12pt; }
#welcomeBox { border: 1px solid #d5dbe3; border-radius: 8px; background: #f7f9fc; }
#welcomeFacts { font-size: 10.5pt; }
"""


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
