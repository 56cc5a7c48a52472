"""Settings page: language, answer agents and their prompts, passages, storage, privacy.

Mirrors ``kidneytalk settings``: the form edits a copy of :class:`Settings` and
Save hands it to a job on the engine thread, which writes ``settings.json``
and switches the engine over (:meth:`Engine.update_settings`). The language
applies at once when chosen. Prompt templates are plain files: "Save my
version" writes an override into the config folder, "Reset to default"
deletes it (:mod:`kidneytalk.prompts`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kidneytalk import _offline, prompts
from kidneytalk.config import Settings
from kidneytalk.errors import KidneyTalkError
from kidneytalk.vocabulary import BASES, JUDGE_REASONS, MODES, REMOVE_DELETED, STYLES

from .dialogs import show_error
from .i18n import LANGUAGES, set_language
from .workers import EngineClient, Job, JobContext

READ_SETTINGS = "read_settings"
SAVE_SETTINGS = "save_settings"


# ---------------------------------------------------------------- jobs (engine thread)
def read_settings(ctx: JobContext) -> Settings:
    return ctx.engine.settings


def save_settings_job(settings: Settings) -> Job[Settings]:
    return Job(SAVE_SETTINGS, lambda ctx: ctx.engine.save_settings(settings))


# switches and the fields that only mean something while the switch is on
_DEPENDENTS = (
    ("retrieval.divergent", ("retrieval.n_divergent", "retrieval.k_divergent")),
    (
        "retrieval.judge",
        (
            "retrieval.judge_threshold",
            "retrieval.judge_reasons",
            "retrieval.trust_best",
            "retrieval.trust_similarity",
            "retrieval.judge_veto",
        ),
    ),
)


def _get(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        data = data[part]
    data[leaf] = value


class SettingsPage(QWidget):
    """The settings form; ``saved`` carries the new :class:`Settings` after a save."""

    message = Signal(str)
    saved = Signal(object)

    def __init__(self, client: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("settingsPage")
        self.client = client
        self.paths = (
            client.engine.paths
        )  # folders only; settings are read and written by the worker
        self._started_moved = self.paths.data_location() is not None
        self.settings: Settings | None = None
        self.error_box: QMessageBox | None = None
        self.fields: dict[str, QWidget] = {}
        self.field_labels: dict[str, QLabel] = {}

        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)

        content = QWidget()
        content.setObjectName("settingsContent")
        self.sections = QVBoxLayout(content)
        self.sections.setContentsMargins(0, 0, 12, 0)
        self.sections.setSpacing(14)
        self._build_language()
        self._build_answers()
        self._build_agents()
        self._build_prompts()
        self._build_documents()
        self._build_storage()
        self._build_privacy()
        self.sections.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("settingsScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(content)

        self.state_label = QLabel()
        self.state_label.setObjectName("hintLabel")
        self.revert_button = QPushButton()
        self.revert_button.clicked.connect(self.show_settings)
        self.save_button = QPushButton()
        self.save_button.setObjectName("primaryButton")
        self.save_button.clicked.connect(self.save)
        bar = QHBoxLayout()
        bar.addWidget(self.state_label, 1)
        bar.addWidget(self.revert_button)
        bar.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.scroll_area, 1)
        layout.addLayout(bar)

        client.activity_changed.connect(self._update_actions)
        self.retranslate()
        self._update_actions()
        self._start(Job(READ_SETTINGS, read_settings))

    # ------------------------------------------------------------ construction
    def _group(self) -> tuple[QGroupBox, QFormLayout]:
        box = QGroupBox()
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.sections.addWidget(box)
        return box, form

    def _add(self, form: QFormLayout, key: str, widget: QWidget) -> QWidget:
        label = QLabel()
        label.setBuddy(widget)
        label.setWordWrap(False)
        self.fields[key] = widget
        self.field_labels[key] = label
        form.addRow(label, widget)
        signal = (
            getattr(widget, "valueChanged", None)
            or getattr(widget, "toggled", None)
            or getattr(widget, "currentIndexChanged", None)
            or getattr(widget, "textChanged", None)
        )
        if signal is None:
            raise TypeError(f"{type(widget).__name__} has no change signal for the Settings page")
        signal.connect(self._update_actions)
        return widget

    @staticmethod
    def _spin(lo: int, hi: int, step: int = 1) -> QSpinBox:
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        return box

    @staticmethod
    def _dspin(lo: float, hi: float, step: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setDecimals(2)
        return box

    @staticmethod
    def _combo(values: tuple[str, ...]) -> QComboBox:
        box = QComboBox()
        for v in values:
            box.addItem(v, v)
        return box

    def _build_language(self) -> None:
        self.language_box, form = self._group()
        self.language = QComboBox()
        for code, (name, _locale) in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.currentIndexChanged.connect(self._language_chosen)
        self.language_label = QLabel()
        self.language_label.setBuddy(self.language)
        form.addRow(self.language_label, self.language)
        self.language_hint = QLabel()
        self.language_hint.setObjectName("hintLabel")
        self.language_hint.setWordWrap(True)
        form.addRow(self.language_hint)

    def _build_answers(self) -> None:
        self.answers_box, form = self._group()
        self._add(form, "retrieval.mode", self._combo(MODES))
        self._add(form, "retrieval.style", self._combo(STYLES))
        self._add(form, "top_k", self._spin(1, 50))
        self._add(form, "retrieval.min_similarity", self._dspin(0.0, 1.0, 0.05))
        self._add(form, "retrieval.max_evidence", self._spin(1, 30))
        self._add(form, "retrieval.unsupported_below", self._dspin(0.0, 1.0, 0.05))

    def _build_agents(self) -> None:
        self.agents_box, form = self._group()
        self.agents_hint = QLabel()
        self.agents_hint.setObjectName("hintLabel")
        self.agents_hint.setWordWrap(True)
        form.addRow(self.agents_hint)
        self._add(form, "retrieval.base", self._combo(BASES))
        self._add(form, "retrieval.refine_query", QCheckBox())
        self._add(form, "retrieval.k_first", self._spin(1, 50))
        self._add(form, "retrieval.divergent", QCheckBox())
        self._add(form, "retrieval.n_divergent", self._spin(1, 10))
        self._add(form, "retrieval.k_divergent", self._spin(1, 20))
        self._add(form, "retrieval.judge", QCheckBox())
        self._add(form, "retrieval.judge_threshold", self._dspin(0.0, 1.0, 0.05))
        self._add(form, "retrieval.trust_best", QCheckBox())
        self._add(form, "retrieval.trust_similarity", self._dspin(0.0, 1.0, 0.05))
        self._add(form, "retrieval.judge_veto", self._dspin(0.0, 1.0, 0.05))
        self._add(form, "retrieval.judge_reasons", self._combo(JUDGE_REASONS))
        self._add(form, "retrieval.refine_rounds", self._spin(0, 5))
        self._add(form, "retrieval.refine_target", self._dspin(0.0, 1.0, 0.05))
        self._add(form, "filter_agent", QCheckBox())
        # dependent fields follow their switch
        for switch, dependents in _DEPENDENTS:
            box = self.fields[switch]
            assert isinstance(box, QCheckBox)
            for d in dependents:
                box.toggled.connect(self.fields[d].setEnabled)

    def _build_prompts(self) -> None:
        self.prompts_box = QGroupBox()
        self.sections.addWidget(self.prompts_box)
        self.template = QComboBox()
        self.template.setObjectName("templateChooser")
        for name in prompts.template_names():
            self.template.addItem(name, name)
        self.template.currentIndexChanged.connect(self.load_template)
        self.template_state = QLabel()
        self.template_state.setObjectName("hintLabel")
        self.template_edit = QPlainTextEdit()
        self.template_edit.setObjectName("templateEdit")
        self.template_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lines = self.template_edit.fontMetrics().lineSpacing()
        self.template_edit.setMinimumHeight(lines * 12)
        self.template_edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.template_edit.textChanged.connect(self._update_template_actions)
        self.template_save = QPushButton()
        self.template_save.clicked.connect(self.save_template)
        self.template_reset = QPushButton()
        self.template_reset.clicked.connect(self.reset_template)
        self.prompts_hint = QLabel()
        self.prompts_hint.setObjectName("hintLabel")
        self.prompts_hint.setWordWrap(True)
        top = QHBoxLayout()
        self.template_label = QLabel()
        self.template_label.setBuddy(self.template)
        top.addWidget(self.template_label)
        top.addWidget(self.template)
        top.addWidget(self.template_state, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prompts_hint, 1)
        buttons.addWidget(self.template_reset)
        buttons.addWidget(self.template_save)
        pl = QVBoxLayout(self.prompts_box)
        pl.addLayout(top)
        pl.addWidget(self.template_edit)
        pl.addLayout(buttons)
        self._template_text = ""
        self.load_template()

    def _build_documents(self) -> None:
        self.documents_box, form = self._group()
        self._add(form, "chunk.size_tokens", self._spin(50, 2000, 10))
        self._add(form, "chunk.overlap_tokens", self._spin(0, 500, 10))
        self._add(form, "max_file_mb", self._spin(0, 100_000, 50))
        self._add(form, "max_text_mb", self._spin(0, 10_000, 1))
        self._add(form, "max_pages", self._spin(0, 1_000_000, 500))
        self._add(form, "folders.remove_deleted", self._combo(REMOVE_DELETED))
        self.reindex_note = QLabel()
        self.reindex_note.setObjectName("noteLabel")
        self.reindex_note.setWordWrap(True)
        form.addRow(self.reindex_note)
        self.embedding = QLineEdit()
        self.embedding.setObjectName("embeddingFolder")
        self.embedding.setClearButtonEnabled(True)
        self.embedding.setMinimumWidth(self.fontMetrics().averageCharWidth() * 40)
        self.embedding_browse = QPushButton()
        self.embedding_browse.clicked.connect(self.choose_embedding_folder)
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.embedding, 1)
        rl.addWidget(self.embedding_browse)
        label = QLabel()
        label.setBuddy(self.embedding)
        self.fields["embedding_model"] = self.embedding
        self.field_labels["embedding_model"] = label
        self.embedding.textChanged.connect(self._update_actions)
        form.addRow(label, row)
        self.embedding_hint = QLabel()
        self.embedding_hint.setObjectName("hintLabel")
        self.embedding_hint.setWordWrap(True)
        form.addRow(self.embedding_hint)

    def _build_storage(self) -> None:
        self.storage_box, form = self._group()
        self.folder_labels: list[QLabel] = []
        self.folder_buttons: list[QPushButton] = []
        for folder in (self.paths.data, self.paths.config, self.paths.logs):
            path = QLabel(str(folder))
            path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            open_button = QPushButton()
            open_button.clicked.connect(
                lambda _=False, f=folder: QDesktopServices.openUrl(QUrl.fromLocalFile(str(f)))
            )
            row = QWidget()
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.addWidget(path, 1)
            rl.addWidget(open_button)
            if folder == self.paths.data:
                self.data_move = QPushButton()
                self.data_move.clicked.connect(self.choose_data_folder)
                self.data_default = QPushButton()
                self.data_default.clicked.connect(lambda: self.set_data_folder(None))
                rl.addWidget(self.data_move)
                rl.addWidget(self.data_default)
            label = QLabel()
            self.folder_labels.append(label)
            self.folder_buttons.append(open_button)
            form.addRow(label, row)
        self.storage_hint = QLabel()
        self.storage_hint.setObjectName("hintLabel")
        self.storage_hint.setWordWrap(True)
        self.storage_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.storage_hint)
        self.data_pending = QLabel()
        self.data_pending.setObjectName("hintLabel")
        self.data_pending.setWordWrap(True)
        form.addRow(self.data_pending)

    def choose_data_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose where to keep the library"), str(self.paths.data.parent)
        )
        if folder:
            self.set_data_folder(folder)

    def set_data_folder(self, folder: str | None) -> None:
        """Record the data folder for the next start (nothing is moved now)."""
        try:
            self.paths.set_data_location(folder)
        except KidneyTalkError as exc:
            QMessageBox.warning(self, self.tr("Library folder"), str(exc))
            return
        self._show_data_location()
        if folder is not None:
            QMessageBox.information(
                self,
                self.tr("Library folder"),
                self.tr(
                    "From the next start KidneyTalk keeps its library, documents and conversations in {0}. "
                    "The current library stays in {1}: to take it along, quit KidneyTalk and copy that folder's "
                    "contents to the new place."
                ).format(self.paths.data_location(), self.paths.data),
            )

    def _show_data_location(self) -> None:
        chosen = self.paths.data_location()
        self.data_default.setEnabled(chosen is not None)
        if chosen is not None and chosen.resolve() != self.paths.data.resolve():
            self.data_pending.setText(self.tr("From the next start: {0}").format(chosen))
        elif chosen is None and self._started_moved:
            self.data_pending.setText(self.tr("From the next start: the default folder"))
        else:
            self.data_pending.setText("")

    def _build_privacy(self) -> None:
        self.privacy_box, form = self._group()
        self.privacy_summary = QLabel()
        self.privacy_summary.setObjectName("offlineSummary")
        self.privacy_summary.setWordWrap(True)
        form.addRow(self.privacy_summary)
        self.flag_labels: list[QLabel] = []
        for key in _offline._OFFLINE_ENV:
            value = os.environ.get(key, "")
            label = QLabel(f"{'✓' if value == _offline._OFFLINE_ENV[key] else '✗'} {key}={value}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.flag_labels.append(label)
            form.addRow(label)

    # ------------------------------------------------------------ text
    def retranslate(self) -> None:
        self.title.setText(self.tr("Settings"))
        self.subtitle.setText(
            self.tr(
                "How KidneyTalk finds evidence and writes answers. Changes apply from the next "
                "question once saved."
            )
        )
        self.language_box.setTitle(self.tr("Language"))
        self.language_label.setText(self.tr("Interface language:"))
        self.language_hint.setText(
            self.tr(
                "Also the language of the instructions given to the model when a question "
                "is not clearly Chinese or English. Applies at once."
            )
        )
        self.answers_box.setTitle(self.tr("Answers"))
        self.agents_box.setTitle(self.tr("AddRep agents"))
        self.agents_hint.setText(
            self.tr(
                "The agent pipeline of the AddRep retrieval mode: each step can be switched off "
                "to answer faster."
            )
        )
        self.prompts_box.setTitle(self.tr("Prompt templates"))
        self.template_label.setText(self.tr("Template:"))
        self.template_save.setText(self.tr("Save my version"))
        self.template_reset.setText(self.tr("Reset to default"))
        self.prompts_hint.setText(
            self.tr(
                "Fields in braces, such as {question}, are filled in by KidneyTalk; keep them. "
                "Names ending in _zh are used for Chinese questions."
            )
        )
        self.documents_box.setTitle(self.tr("Documents"))
        self.reindex_note.setText(
            self.tr(
                "Changing the passage size or overlap only affects documents added from now "
                "on: re-index the library for existing documents to use it."
            )
        )
        self.embedding_browse.setText(self.tr("Browse…"))
        self.embedding.setPlaceholderText(self.tr("bundled all-MiniLM-L6-v2"))
        self.embedding_hint.setText(
            self.tr(
                "A sentence-transformers model folder on this computer. Takes effect after "
                "restarting KidneyTalk; then every document must be re-indexed."
            )
        )
        self.storage_box.setTitle(self.tr("Storage"))
        for label, text in zip(
            self.folder_labels,
            (
                self.tr("Library and documents:"),
                self.tr("Settings and prompts:"),
                self.tr("Log files:"),
            ),
            strict=True,
        ):
            label.setText(text)
        for button in self.folder_buttons:
            button.setText(self.tr("Open"))
        self.data_move.setText(self.tr("Move…"))
        self.data_move.setToolTip(
            self.tr(
                "Keep the library in another folder (for example an encrypted drive) "
                "from the next start"
            )
        )
        self.data_default.setText(self.tr("Default"))
        self._show_data_location()
        self.storage_hint.setText(
            self.tr(
                "To keep everything in another folder (for example an encrypted drive), "
                "use Move… for the library, or start KidneyTalk with --home FOLDER (or "
                "KIDNEYTALK_HOME=FOLDER) for everything; the new location is used from the "
                "next start."
            )
        )
        self.privacy_box.setTitle(self.tr("Privacy"))
        self.privacy_summary.setText(
            self.tr(
                "KidneyTalk works offline: documents, questions and answers never leave this "
                "computer, models are loaded from files here, and downloads and telemetry "
                "are switched off for every library it uses:"
            )
        )
        labels = {
            "retrieval.mode": (
                self.tr("Retrieval mode:"),
                self.tr(
                    "naive: vector search; hybrid: vector + keyword search; "
                    "addrep: hybrid plus the agents below (slower, more precise)"
                ),
            ),
            "retrieval.style": (
                self.tr("Answer style:"),
                self.tr(
                    "off: free answer; cp-order / cp-link: sentences copied from "
                    "the evidence; cp-refine: draft, check, revise"
                ),
            ),
            "top_k": (
                self.tr("Passages per search:"),
                self.tr("How many passages the naive and hybrid modes retrieve"),
            ),
            "retrieval.min_similarity": (
                self.tr("Minimum similarity:"),
                self.tr("Passages less similar to the question than this are never used"),
            ),
            "retrieval.max_evidence": (self.tr("Most passages given to the model:"), ""),
            "retrieval.unsupported_below": (
                self.tr("Flag sentences supported below:"),
                self.tr(
                    "An answer sentence whose cited passage supports it less than this is marked ⚠"
                ),
            ),
            "retrieval.base": (self.tr("Search used by the agents:"), ""),
            "retrieval.refine_query": (
                self.tr("Refine the question:"),
                self.tr(
                    "Rewrite a follow-up question into a complete "
                    "search query using the conversation"
                ),
            ),
            "retrieval.k_first": (self.tr("Passages of the first search:"), ""),
            "retrieval.divergent": (
                self.tr("Ask divergent questions:"),
                self.tr(
                    "Search again with related questions the model "
                    "writes, to find evidence worded differently"
                ),
            ),
            "retrieval.n_divergent": (self.tr("Number of divergent questions:"), ""),
            "retrieval.k_divergent": (self.tr("Passages per divergent question:"), ""),
            "retrieval.judge": (
                self.tr("Judge relevance:"),
                self.tr("The model decides for each passage whether it helps answer the question"),
            ),
            "retrieval.judge_threshold": (
                self.tr("Relevance needed:"),
                self.tr("Calibrated probability a passage must reach to be kept"),
            ),
            "retrieval.trust_best": (
                self.tr("Keep the best match:"),
                self.tr(
                    "The first search's closest passage is kept unless the judge is sure it is irrelevant"
                ),
            ),
            "retrieval.trust_similarity": (
                self.tr("Keep very similar passages from:"),
                self.tr(
                    "A passage at least this similar to the question is kept unless the judge is sure it is irrelevant"
                ),
            ),
            "retrieval.judge_veto": (
                self.tr("Judge is sure below:"),
                self.tr(
                    "A kept-by-similarity passage is still dropped when its relevance is under this"
                ),
            ),
            "retrieval.judge_reasons": (
                self.tr("Explain judgements for:"),
                self.tr("kept: reasons for kept passages; all; none (fastest)"),
            ),
            "retrieval.refine_rounds": (self.tr("CP-Refine revision rounds:"), ""),
            "retrieval.refine_target": (
                self.tr("CP-Refine target coverage:"),
                self.tr("Revision stops once this share of the answer is copied from evidence"),
            ),
            "filter_agent": (
                self.tr("Filter passages with the model when adding:"),
                self.tr(
                    "Also let the language model drop passages without medical content (slower import)"
                ),
            ),
            "chunk.size_tokens": (self.tr("Passage size (tokens):"), ""),
            "chunk.overlap_tokens": (self.tr("Passage overlap (tokens):"), ""),
            "max_file_mb": (
                self.tr("Largest file (MB):"),
                self.tr("Bigger files are refused before any work starts; 0 allows any size"),
            ),
            "max_text_mb": (
                self.tr("Largest text file (MB):"),
                self.tr(
                    "Plain text and Markdown files bigger than this are refused (a few MB of text take minutes to "
                    "index); 0 allows any size"
                ),
            ),
            "max_pages": (
                self.tr("Most pages in one file:"),
                self.tr("Documents with more pages are refused; 0 allows any number"),
            ),
            "folders.remove_deleted": (
                self.tr("Files deleted from a followed folder:"),
                self.tr(
                    "ask: ask each time; always: remove their documents too; never: keep their documents"
                ),
            ),
            "embedding_model": (self.tr("Embedding model folder:"), ""),
        }
        for key, label in self.field_labels.items():
            text, tip = labels.get(key, (key, ""))
            label.setText(text)
            label.setToolTip(tip)
            self.fields[key].setToolTip(tip)
        self.revert_button.setText(self.tr("Revert"))
        self.save_button.setText(self.tr("Save"))
        self._update_template_state()
        self._update_actions()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------ form <-> settings
    def show_settings(self) -> None:
        """Put the saved settings into the form (also Revert)."""
        if self.settings is None:
            return
        data = self.settings.to_dict()
        for key, widget in self.fields.items():
            value = _get(data, key)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                i = widget.findData(value)
                widget.setCurrentIndex(max(0, i))
            elif isinstance(widget, QLineEdit):
                widget.setText(str(value))
            elif isinstance(widget, QSpinBox | QDoubleSpinBox):
                widget.setValue(value)
        for switch, dependents in _DEPENDENTS:
            for d in dependents:
                self.fields[d].setEnabled(bool(_get(data, switch)))
        self.language.blockSignals(True)
        self.language.setCurrentIndex(max(0, self.language.findData(self.settings.language)))
        self.language.blockSignals(False)
        self._update_actions()

    def form_settings(self) -> Settings:
        """The settings as the form shows them (language as saved)."""
        assert self.settings is not None
        data = self.settings.to_dict()
        for key, widget in self.fields.items():
            if isinstance(widget, QCheckBox):
                value: Any = widget.isChecked()
            elif isinstance(widget, QComboBox):
                value = widget.currentData()
            elif isinstance(widget, QLineEdit):
                value = widget.text().strip()
            elif isinstance(widget, QDoubleSpinBox):
                value = round(widget.value(), 2)
            else:
                value = widget.value()  # type: ignore[attr-defined]
            _set(data, key, value)
        return Settings.from_dict(data)

    def changed(self) -> bool:
        return self.settings is not None and self.form_settings() != self.settings

    def _update_actions(self) -> None:
        saving = self.client.pending(SAVE_SETTINGS) > 0
        ready = self.settings is not None
        changed = ready and self.changed()
        self.save_button.setEnabled(ready and changed and not saving)
        self.revert_button.setEnabled(ready and changed and not saving)
        self.language.setEnabled(ready and not saving)
        chunk_changed = (
            ready
            and self.settings is not None
            and self.form_settings().chunk != self.settings.chunk
        )
        self.reindex_note.setVisible(bool(chunk_changed))
        if saving:
            self.state_label.setText(self.tr("Saving…"))
        elif changed:
            self.state_label.setText(self.tr("You have unsaved changes."))
        else:
            self.state_label.setText(
                self.tr("Settings are saved in %1").replace(
                    "%1", str(self.paths.config / "settings.json")
                )
            )

    def save(self) -> None:
        if not self.changed() or self.client.pending(SAVE_SETTINGS):
            return
        chunk = self.form_settings().chunk
        if chunk.overlap_tokens >= chunk.size_tokens:
            self.error_box = show_error(
                self,
                self.tr("Cannot save"),
                self.tr("The passage overlap must be smaller than the passage size."),
            )
            return
        problems = self.form_settings().problems()  # the same rules as `kidneytalk settings set`
        if problems:
            self.error_box = show_error(self, self.tr("Cannot save"), "\n".join(problems))
            return
        self._start(save_settings_job(self.form_settings()))
        self._update_actions()

    def _language_chosen(self, _index: int) -> None:
        code = self.language.currentData()
        if self.settings is None or code == self.settings.language:
            return
        # Only the language is saved here; other edits in the form stay unsaved.
        self._start(save_settings_job(self.settings.replace(language=code)))
        self._update_actions()

    def choose_embedding_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self,
            self.tr("Choose a sentence-transformers model folder"),
            self.embedding.text() or str(Path.home()),
        )
        if folder:
            self.embedding.setText(folder)

    # ------------------------------------------------------------ prompt templates
    def current_template(self) -> str:
        return str(self.template.currentData() or "")

    def load_template(self) -> None:
        name = self.current_template()
        if not name:
            return
        file = prompts.override_file(name, self.paths.prompts)
        text = file.read_text(encoding="utf-8") if file.is_file() else prompts.builtin(name)
        self._template_text = text
        self.template_edit.setPlainText(text)
        self._update_template_state()

    def _update_template_state(self) -> None:
        name = self.current_template()
        if not name:
            return
        overridden = prompts.is_overridden(name, self.paths.prompts)
        edited = self.template_edit.toPlainText() != self._template_text
        state = self.tr("your version") if overridden else self.tr("built-in")
        if edited:
            state += " · " + self.tr("edited, not saved")
        self.template_state.setText(state)
        self.template_reset.setEnabled(overridden or edited)
        self.template_save.setEnabled(edited)

    def _update_template_actions(self) -> None:
        self._update_template_state()

    def save_template(self) -> None:
        name = self.current_template()
        try:
            file = prompts.save_override(name, self.template_edit.toPlainText(), self.paths.prompts)
        except OSError as exc:
            self.error_box = show_error(self, self.tr("Could not save the template"), str(exc))
            return
        self._template_text = self.template_edit.toPlainText()
        self._update_template_state()
        self.message.emit(
            self.tr("Saved your version of %1 in %2.").replace("%1", name).replace("%2", str(file))
        )

    def reset_template(self) -> None:
        name = self.current_template()
        try:
            text = prompts.reset_override(name, self.paths.prompts)
        except OSError as exc:
            self.error_box = show_error(self, self.tr("Could not reset the template"), str(exc))
            return
        self._template_text = text
        self.template_edit.setPlainText(text)
        self._update_template_state()
        self.message.emit(self.tr("%1 is back to the built-in version.").replace("%1", name))

    # ------------------------------------------------------------ results
    def _start(self, job: Job[Settings]) -> None:
        task = job.task
        self.client.start(
            job, done=lambda settings: self._on_finished(task, settings), failed=self._on_failed
        )

    def _on_finished(self, task: str, result: Settings) -> None:
        previous = self.settings
        pending_edits = (
            previous is not None
            and task == SAVE_SETTINGS
            and result.language != previous.language
            and self.form_settings() != previous
        )
        form = self.form_settings() if pending_edits else None
        self.settings = result
        self.show_settings()
        if form is not None:  # a language switch keeps the other edits in the form
            self._restore_form(form)
        if task == SAVE_SETTINGS:
            set_language(result.language)
            self.saved.emit(result)
            if previous is not None and result.language == previous.language:
                self.message.emit(self.tr("Settings saved."))

    def _restore_form(self, settings: Settings) -> None:
        saved, self.settings = self.settings, settings.replace(language=self.settings.language)  # type: ignore[union-attr]
        self.show_settings()
        self.settings = saved
        self._update_actions()

    def _on_failed(self, message: str) -> None:
        self.error_box = show_error(self, self.tr("Could not save the settings"), message)
        if self.settings is not None:
            self.language.blockSignals(True)
            self.language.setCurrentIndex(max(0, self.language.findData(self.settings.language)))
            self.language.blockSignals(False)
        self._update_actions()
