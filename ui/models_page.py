"""Models page: the GGUF models KidneyTalk knows, the default one, generation settings.

Mirrors ``kidneytalk models`` and the ``llm.*`` settings. Everything that reads
a model file or the registry runs as a job on the engine thread (a GGUF header
can be slow to read from a network drive, and that thread owns the LLM); the
page shows the :class:`ModelsSnapshot` each job returns. Saving a new default
model, context length or thread count unloads the loaded LLM in that thread, so
the next question loads the model the settings name.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kidneytalk.chat_templates import template_family
from kidneytalk.config import GpuLayers, LLMSettings, Settings
from kidneytalk.errors import KidneyTalkError
from kidneytalk.gguf import GGUFInfo
from kidneytalk.llm import gpu_offload_supported, resolve_gpu_layers, where_it_runs
from kidneytalk.models import Fit, fit

from . import workers
from .dialogs import confirm, show_error
from .server_dialog import ServerDialog, ServerFields
from .workers import EngineClient, JobContext

# Task names of this page's jobs (see ModelsPage._start).
MODELS = "models"
ADD_MODEL = "add_model"
SET_DEFAULT_MODEL = "set_default_model"
REMOVE_MODEL = "remove_model"
SAVE_GENERATION = "save_generation"
ADD_SERVER = "add_server"
Job = Callable[[JobContext], "ModelsSnapshot"]
_TASKS = (MODELS, ADD_MODEL, SET_DEFAULT_MODEL, REMOVE_MODEL, SAVE_GENERATION, ADD_SERVER)

_OK = QColor("#1b6e34")
_WARN = QColor("#8a5300")
_ERROR = QColor("#b3261e")
_GB = 2**30


@dataclass(frozen=True)
class ModelRow:
    """One model as the table shows it; ``info`` is None when the file cannot be read."""

    name: str
    path: Path
    bundled: bool
    default: bool
    info: GGUFInfo | None = None
    error: str = ""
    family: str = ""  # chat-template family ("ChatML", "Gemma", "DeepSeek-R1 (reasoning)"…)
    runs_on: str = ""  # "CPU" or "GPU (…layers)" for the llm.n_gpu_layers setting
    url: str = ""  # a model server's URL ("" for a GGUF file)
    where: str = "this computer"


@dataclass(frozen=True)
class ModelsSnapshot:
    rows: list[ModelRow]
    llm: LLMSettings
    loaded: str = ""  # name of the model in memory, "" when none
    warnings: list[str] = field(default_factory=list)  # about the job that produced this snapshot
    message: str = ""  # status-bar line about that job
    gpu_offload: bool = (
        False  # the installed llama.cpp build has a GPU backend (CUDA, Metal, Vulkan…)
    )

    @property
    def where(self) -> str:
        """Where the model that writes the answers runs ("this computer" or a server's host:port)."""
        return next((r.where for r in self.rows if r.default), "this computer")


# ---------------------------------------------------------------- jobs (engine thread)
def _snapshot(
    worker: JobContext, *, warnings: list[str] | None = None, message: str = ""
) -> ModelsSnapshot:
    engine = worker.engine
    reg = engine.models
    default = engine.model_name
    rows = []
    gpu_layers = resolve_gpu_layers(engine.settings.llm.n_gpu_layers)
    for entry in reg.entries():
        if entry.is_server:
            rows.append(
                ModelRow(
                    entry.name,
                    entry.path,
                    False,
                    entry.name == default,
                    url=entry.url,
                    where=entry.where,
                )
            )
            continue
        try:
            info = entry.info()
            rows.append(
                ModelRow(
                    entry.name,
                    entry.path,
                    entry.bundled,
                    entry.name == default,
                    info=info,
                    family=template_family(
                        info.metadata.get("tokenizer.chat_template"), info.architecture
                    ),
                    runs_on=where_it_runs(gpu_layers, info.n_layers),
                )
            )
        except KidneyTalkError as exc:
            rows.append(
                ModelRow(
                    entry.name, entry.path, entry.bundled, entry.name == default, error=str(exc)
                )
            )
    loaded = engine.llm_name
    return ModelsSnapshot(
        rows, engine.settings.llm, loaded, warnings or [], message, gpu_offload_supported()
    )


def read_models(worker: JobContext) -> ModelsSnapshot:
    return _snapshot(worker)


def add_model_job(path: str) -> Job:
    def job(worker: JobContext) -> ModelsSnapshot:
        engine = worker.engine
        entry, info = engine.models.add(path, Path(path).stem)  # named as the user sees the file
        warnings = []
        if not info.has_chat_template:
            warnings.append("no_template")
        if not fit(info, engine.settings.llm.n_ctx).ok:
            warnings.append("no_fit")
        return _snapshot(worker, warnings=warnings, message=entry.name)

    return job


def add_server_job(fields: ServerFields) -> Job:
    def job(worker: JobContext) -> ModelsSnapshot:
        entry = worker.engine.models.add_server(
            fields.name,
            fields.url,
            api_key_file=fields.api_key_file or None,
            model_id=fields.model_id,
            n_ctx=fields.n_ctx,
        )
        return _snapshot(worker, message=entry.name)

    return job


def set_default_job(name: str) -> Job:
    def job(worker: JobContext) -> ModelsSnapshot:
        entry = worker.engine.set_default_model(name)  # unloads the old model if it was loaded
        return _snapshot(worker, message=entry.name)

    return job


def remove_model_job(name: str) -> Job:
    def job(worker: JobContext) -> ModelsSnapshot:
        worker.engine.remove_model(name)
        return _snapshot(worker, message=name)

    return job


def save_generation_job(
    temperature: float,
    n_ctx: int,
    n_threads: int,
    max_tokens: int,
    gpu_layers: GpuLayers | None = None,
) -> Job:
    """Save the generation settings; ``gpu_layers`` (auto / 0 / N) is kept when None."""

    def job(worker: JobContext) -> ModelsSnapshot:
        engine = worker.engine
        llm = dataclasses.replace(
            engine.settings.llm,
            temperature=round(temperature, 2),
            n_ctx=n_ctx,
            n_threads=n_threads,
            max_answer_tokens=max_tokens,
            n_gpu_layers=engine.settings.llm.n_gpu_layers if gpu_layers is None else gpu_layers,
        )
        engine.save_settings(engine.settings.replace(llm=llm))
        return _snapshot(worker)

    return job


# ---------------------------------------------------------------- the page
def parse_gpu_layers(text: str) -> GpuLayers:
    """The ``llm.n_gpu_layers`` value typed in the page, checked by the setting's own rule.

    Raises :class:`KidneyTalkError` (one line, naming the setting) for anything
    but "auto", 0 (CPU only) or a positive number of layers.
    """
    return Settings().with_value("llm.n_gpu_layers", text.strip()).llm.n_gpu_layers


def _size(n: int) -> str:
    return f"{n / _GB:.1f} GB" if n >= _GB else f"{n / 2**20:.0f} MB"


class ModelsPage(QWidget):
    """The models table, add/default/remove, and the generation settings."""

    message = Signal(str)  # for the status bar
    snapshot_changed = Signal(
        object
    )  # every ModelsSnapshot a job returned (Evaluation page, window)
    COLUMNS = 9
    NAME, ARCH, PARAMS, QUANT, CONTEXT, SIZE, TEMPLATE, RUNS_ON, MEMORY = range(COLUMNS)

    def __init__(self, client: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelsPage")
        self.client = client
        self.snapshot: ModelsSnapshot | None = None
        self.error_box: QMessageBox | None = None
        self.confirm_box: QMessageBox | None = None

        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)
        self.add_button = QPushButton()
        self.add_button.setObjectName("primaryButton")
        self.add_button.clicked.connect(self.choose_file)
        self.default_button = QPushButton()
        self.default_button.clicked.connect(self.set_default)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self.confirm_remove)
        self.server_button = QPushButton()
        self.server_button.setObjectName("addServerButton")
        self.server_button.clicked.connect(self.open_server_dialog)
        self.server_dialog: ServerDialog | None = None

        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        for b in (self.remove_button, self.default_button, self.server_button, self.add_button):
            header.addWidget(b, 0, Qt.AlignmentFlag.AlignBottom)

        self.table = QTableWidget(0, self.COLUMNS)
        self.table.setObjectName("modelTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        hh = self.table.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(self.MEMORY, QHeaderView.ResizeMode.Stretch)
        # A long family note ("Gemma (built in: …)") must not squeeze the memory verdict: the column
        # keeps a fixed width the user can drag, and its cell's tooltip has the whole text.
        hh.setSectionResizeMode(self.TEMPLATE, QHeaderView.ResizeMode.Interactive)
        hh.resizeSection(self.TEMPLATE, 150)
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.itemDoubleClicked.connect(lambda _item: self.set_default())
        self.details = QLabel()
        self.details.setObjectName("hintLabel")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # generation settings -------------------------------------------
        self.generation = QGroupBox()
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setDecimals(2)
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(512, 131072)
        self.n_ctx.setSingleStep(512)
        self.n_ctx.valueChanged.connect(self._show_rows)
        self.n_threads = QSpinBox()
        self.n_threads.setRange(0, max(1, os.cpu_count() or 1))
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(64, 8192)
        self.max_tokens.setSingleStep(64)
        for spin in (self.temperature, self.n_ctx, self.n_threads, self.max_tokens):
            spin.valueChanged.connect(self._update_actions)
        # llm.n_gpu_layers: "Automatic", "CPU only", or a number of layers typed in.
        self.gpu_layers = QComboBox()
        self.gpu_layers.setObjectName("gpuLayers")
        self.gpu_layers.setEditable(True)
        self.gpu_layers.addItem("", "auto")
        self.gpu_layers.addItem("", 0)
        self.gpu_layers.setMinimumContentsLength(14)
        self.gpu_layers.currentTextChanged.connect(self._update_actions)
        self.gpu_problem = QLabel()
        self.gpu_problem.setObjectName("gpuProblem")
        self.gpu_problem.setWordWrap(True)
        self.gpu_support = QLabel()
        self.gpu_support.setObjectName("gpuSupport")
        self.gpu_support.setWordWrap(True)
        self.save_button = QPushButton()
        self.save_button.clicked.connect(self.save_generation)
        self.revert_button = QPushButton()
        self.revert_button.clicked.connect(self._show_generation)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.labels = [QLabel() for _ in range(5)]
        for label, box in zip(
            self.labels,
            (self.temperature, self.n_ctx, self.n_threads, self.max_tokens, self.gpu_layers),
            strict=True,
        ):
            label.setBuddy(box)
            self.form.addRow(label, box)
        self.form.addRow("", self.gpu_problem)
        self.form.addRow("", self.gpu_support)
        self.generation_hint = QLabel()
        self.generation_hint.setObjectName("hintLabel")
        self.generation_hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        gl = QVBoxLayout(self.generation)
        gl.addLayout(self.form)
        gl.addWidget(self.generation_hint)
        gl.addLayout(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(self.table)
        layout.addWidget(self.details)
        layout.addWidget(self.generation)
        layout.addStretch(1)

        client.activity_changed.connect(self._update_actions)
        self.retranslate()
        self._update_actions()
        self.refresh()

    # ------------------------------------------------------------ text
    def retranslate(self) -> None:
        self.title.setText(self.tr("Models"))
        self.subtitle.setText(
            self.tr(
                "The language model writes the answers from your documents. Larger models answer better "
                "but need more memory and time."
            )
        )
        self.add_button.setText(self.tr("Add model…"))
        self.add_button.setToolTip(
            self.tr("Add a GGUF model file from this computer (it is used where it is, not copied)")
        )
        self.server_button.setText(self.tr("Add model server…"))
        self.server_button.setToolTip(
            self.tr(
                "Use a model served on your network (llama-server, vLLM, Ollama); "
                "questions and passages are sent to that server only"
            )
        )
        self.default_button.setText(self.tr("Use for answers"))
        self.default_button.setToolTip(
            self.tr("Make the selected model the one that writes answers")
        )
        self.remove_button.setText(self.tr("Remove…"))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Model"),
                self.tr("Architecture"),
                self.tr("Parameters"),
                self.tr("Quantisation"),
                self.tr("Context"),
                self.tr("File size"),
                self.tr("Chat format"),
                self.tr("Runs on"),
                self.tr("Memory"),
            ]
        )
        self.generation.setTitle(self.tr("Generation settings"))
        texts = (
            self.tr("Temperature:"),
            self.tr("Context length (tokens):"),
            self.tr("Threads:"),
            self.tr("Longest answer (tokens):"),
            self.tr("GPU layers:"),
        )
        for label, text in zip(self.labels, texts, strict=True):
            label.setText(text)
        self.temperature.setToolTip(
            self.tr(
                "0 always picks the most likely word; higher values vary the wording. "
                "Keep it low for clinical answers."
            )
        )
        self.n_ctx.setToolTip(
            self.tr(
                "How much text the model reads at once (question + passages + answer). "
                "More needs more memory; capped at what the model supports."
            )
        )
        self.n_threads.setSpecialValueText(self.tr("Automatic"))
        self.n_threads.setToolTip(
            self.tr("Processor threads used to write answers; Automatic uses all cores.")
        )
        self.max_tokens.setToolTip(self.tr("Answers stop after this many tokens."))
        self.gpu_layers.setItemText(0, self.tr("Automatic"))
        self.gpu_layers.setItemText(1, self.tr("CPU only"))
        self.gpu_layers.setToolTip(
            self.tr(
                "Model layers run on the graphics card: Automatic puts all of them there when this "
                "llama.cpp build has GPU support, CPU only uses none, or type a number of layers "
                "(fewer layers when the card's memory is small)."
            )
        )
        self._show_gpu_support()
        self.generation_hint.setText(
            self.tr(
                "A new context length, thread count or GPU layers setting applies from the next question "
                "(the model is loaded again). "
                "Temperature applies at once."
            )
        )
        self.save_button.setText(self.tr("Save"))
        self.revert_button.setText(self.tr("Revert"))
        self._show_rows()
        self._update_actions()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------ state
    def _start(self, task: str, fn: Job) -> None:
        """Run ``fn`` on the engine thread; its snapshot or error comes back to this page only."""
        self.client.start(
            workers.Job(task, fn),
            done=lambda snapshot: self._on_finished(task, snapshot),
            failed=lambda message: self._on_failed(task, message),
        )

    def refresh(self) -> None:
        self._start(MODELS, read_models)

    @property
    def busy(self) -> bool:
        return any(self.client.pending(t) for t in _TASKS if t != MODELS)

    def selected_row(self) -> ModelRow | None:
        if self.snapshot is None:
            return None
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.snapshot.rows):
            return None
        return self.snapshot.rows[rows[0].row()]

    def gpu_layers_value(self) -> GpuLayers:
        """The ``llm.n_gpu_layers`` value the GPU box holds; KidneyTalkError if it is not one."""
        text = self.gpu_layers.currentText()
        index = self.gpu_layers.findText(text)
        if index >= 0 and self.gpu_layers.itemData(index) is not None:
            text = str(self.gpu_layers.itemData(index))  # "auto" or "0"
        return parse_gpu_layers(text)

    def _check_gpu_layers(self) -> GpuLayers | None:
        """The GPU box's value, None (with the reason shown under it) when it is not valid."""
        try:
            value = self.gpu_layers_value()
        except KidneyTalkError as exc:
            self.gpu_problem.setText(str(exc))
            self.gpu_problem.show()
            return None
        self.gpu_problem.clear()
        self.gpu_problem.hide()
        return value

    def _show_gpu_support(self) -> None:
        if self.snapshot is None:
            self.gpu_support.clear()
        elif self.snapshot.gpu_offload:
            self.gpu_support.setText(
                self.tr("This llama.cpp build can run model layers on the GPU.")
            )
        else:
            self.gpu_support.setText(
                self.tr(
                    "This build has no GPU support; see README to build with CUDA/Metal/Vulkan. "
                    "Models run on the CPU whatever this is set to."
                )
            )

    def _generation_changed(self) -> bool:
        if self.snapshot is None:
            return False
        s = self.snapshot.llm
        try:
            gpu: GpuLayers = self.gpu_layers_value()
        except KidneyTalkError:
            return True  # an invalid entry is a change (that cannot be saved)
        return (
            round(self.temperature.value(), 2),
            self.n_ctx.value(),
            self.n_threads.value(),
            self.max_tokens.value(),
            gpu,
        ) != (round(s.temperature, 2), s.n_ctx, s.n_threads, s.max_answer_tokens, s.n_gpu_layers)

    def _update_actions(self) -> None:
        row = self.selected_row()
        busy = self.busy
        self.add_button.setEnabled(not busy)
        self.server_button.setEnabled(not busy)
        self.default_button.setEnabled(
            not busy
            and row is not None
            and not row.default
            and (row.info is not None or bool(row.url))
        )
        self.remove_button.setEnabled(not busy and row is not None and not row.bundled)
        if row is not None and row.bundled:
            self.remove_button.setToolTip(
                self.tr("The bundled model comes with KidneyTalk and cannot be removed")
            )
        else:
            self.remove_button.setToolTip(
                self.tr("Forget the selected model (the file itself is not deleted)")
            )
        changed = self._generation_changed()
        valid = self._check_gpu_layers() is not None
        self.save_button.setEnabled(not busy and changed and valid)
        self.revert_button.setEnabled(changed)
        self._show_details(row)

    def fit_for(self, row: ModelRow) -> Fit | None:
        """Memory check at the context length in the spin box (updates as it changes)."""
        return fit(row.info, self.n_ctx.value()) if row.info is not None else None

    def memory_text(self, row: ModelRow) -> tuple[str, QColor, str]:
        """Memory column text, its colour, and the tooltip (the full warning when it may not fit)."""
        if row.url:
            return self.tr("runs on %1").replace("%1", row.where), _OK, row.url
        if row.info is None:
            return self.tr("cannot be read"), _ERROR, row.error
        f = self.fit_for(row)
        assert f is not None
        if f.available == 0:
            return self.tr("needs about %1").replace("%1", _size(f.needed)), _OK, ""
        if f.ok:
            text = (
                self.tr("fits: needs about %1 of %2 free")
                .replace("%1", _size(f.needed))
                .replace("%2", _size(f.available))
            )
            assert row.info is not None
            n_ctx = min(self.n_ctx.value(), row.info.context_length or self.n_ctx.value())
            tip = (
                self.tr("Model file %1 + memory for %2 tokens of context %3 + working memory")
                .replace("%1", _size(row.info.file_size))
                .replace("%2", f"{n_ctx:,}")
                .replace("%3", _size(row.info.kv_cache_bytes(n_ctx)))
            )
            return text, _OK, tip
        text = (
            self.tr("⚠ may not fit: needs about %1, %2 free")
            .replace("%1", _size(f.needed))
            .replace("%2", _size(f.available))
        )
        tip = (
            self.tr(
                "This model needs about %1 of memory at this context length but only %2 is free; it may be "
                "very slow or fail to load. Choose a smaller or more quantised model, or reduce the "
                "context length."
            )
            .replace("%1", _size(f.needed))
            .replace("%2", _size(f.available))
        )
        return text, _WARN, tip

    def _show_rows(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        selected = self.selected_row()
        self.table.setRowCount(len(snap.rows))
        for r, row in enumerate(snap.rows):
            info = row.info
            name = ("★ " if row.default else "") + row.name
            cells = [name] + [""] * (self.COLUMNS - 1)
            if info is not None:
                cells[self.ARCH] = info.architecture
                cells[self.PARAMS] = info.parameters_label
                cells[self.QUANT] = info.quantization
                cells[self.CONTEXT] = f"{info.context_length:,}"
                cells[self.SIZE] = _size(info.file_size)
                cells[self.TEMPLATE] = row.family
                cells[self.RUNS_ON] = row.runs_on
            mem_text, mem_colour, mem_tip = self.memory_text(row)
            cells[self.MEMORY] = mem_text
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (self.PARAMS, self.CONTEXT, self.SIZE):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if c == self.NAME:
                    tips = [row.url or str(row.path)]
                    if row.default:
                        tips.insert(0, self.tr("Writes the answers"))
                    if row.bundled:
                        tips.append(self.tr("Bundled with KidneyTalk"))
                    item.setToolTip("\n".join(tips))
                    if row.default:
                        font = QFont(item.font())
                        font.setBold(True)
                        item.setFont(font)
                if c == self.TEMPLATE and text:
                    item.setToolTip(text)
                if c == self.MEMORY:
                    item.setForeground(QBrush(mem_colour))
                    item.setToolTip(mem_tip)
                self.table.setItem(r, c, item)
        if selected is not None:
            for r, row in enumerate(snap.rows):
                if row.name == selected.name:
                    self.table.selectRow(r)
        self._update_actions()

    def _show_details(self, row: ModelRow | None) -> None:
        if row is None:
            self.details.setText(self.tr("Select a model to see where its file is."))
            return
        parts = (
            [str(row.path)]
            if not row.url
            else [
                self.tr("model server %1: questions and passages are sent to %2")
                .replace("%1", row.url)
                .replace("%2", row.where)
            ]
        )
        if row.bundled:
            parts.append(self.tr("bundled with KidneyTalk"))
        if row.info is not None and not row.info.has_chat_template:
            parts.append(self.tr("no chat template: answers may be poor (is it a base model?)"))
        if self.snapshot is not None and self.snapshot.loaded == row.name:
            parts.append(self.tr("loaded now"))
        if row.error:
            parts.append(row.error)
        self.details.setText(" · ".join(parts))

    def _show_generation(self) -> None:
        if self.snapshot is None:
            return
        s = self.snapshot.llm
        self.temperature.setValue(s.temperature)
        self.n_ctx.setValue(s.n_ctx)
        self.n_threads.setValue(s.n_threads)
        self.max_tokens.setValue(s.max_answer_tokens)
        index = self.gpu_layers.findData(s.n_gpu_layers)
        if index >= 0:
            self.gpu_layers.setCurrentIndex(index)
        else:
            self.gpu_layers.setEditText(str(s.n_gpu_layers))
        self._show_gpu_support()
        self._update_actions()

    # ------------------------------------------------------------ actions
    def choose_file(self) -> None:
        if self.busy:
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Add a language model"),
            str(Path.home()),
            self.tr("GGUF models (*.gguf);;All files (*)"),
        )
        if path:
            self.add_model_file(path)

    def add_model_file(self, path: str | Path) -> None:
        """Read the file's metadata and register it (in the engine thread)."""
        self._start(ADD_MODEL, add_model_job(str(path)))
        self._update_actions()

    def open_server_dialog(self) -> ServerDialog:
        """The "Add model server…" dialog (non-blocking); saving registers the server in the engine thread."""
        dialog = ServerDialog(self)

        def accepted() -> None:
            if dialog.fields is not None:
                self.add_server(dialog.fields)

        dialog.accepted.connect(accepted)
        dialog.open()
        self.server_dialog = dialog
        return dialog

    def add_server(self, fields: ServerFields) -> None:
        self._start(ADD_SERVER, add_server_job(fields))
        self._update_actions()

    def set_default(self) -> None:
        row = self.selected_row()
        if row is None or row.default or (row.info is None and not row.url) or self.busy:
            return
        self._start(SET_DEFAULT_MODEL, set_default_job(row.name))
        self._update_actions()

    def confirm_remove(self) -> None:
        row = self.selected_row()
        if row is None or row.bundled or self.busy:
            return

        def remove() -> None:
            self._start(REMOVE_MODEL, remove_model_job(row.name))
            self._update_actions()

        def closed() -> None:
            self.confirm_box = None

        self.confirm_box = confirm(
            self,
            self.tr("Remove model"),
            self.tr("Remove “%1” from KidneyTalk?\n\nThe file itself stays on your disk:\n%2")
            .replace("%1", row.name)
            .replace("%2", str(row.path)),
            self.tr("Remove"),
            remove,
            name="confirmRemoveModel",
            on_close=closed,
        )

    def save_generation(self) -> None:
        gpu = self._check_gpu_layers()
        if self.busy or gpu is None:
            return
        self._start(
            SAVE_GENERATION,
            save_generation_job(
                self.temperature.value(),
                self.n_ctx.value(),
                self.n_threads.value(),
                self.max_tokens.value(),
                gpu,
            ),
        )
        self._update_actions()

    # ------------------------------------------------------------ results
    def _on_finished(self, task: str, result: ModelsSnapshot) -> None:
        first = self.snapshot is None
        generation_dirty = not first and self._generation_changed()
        self.snapshot = result
        self.snapshot_changed.emit(result)
        self._show_rows()
        if first or task == SAVE_GENERATION or not generation_dirty:
            self._show_generation()
        if task == ADD_MODEL:
            self.message.emit(self.tr("Added model %1.").replace("%1", result.message))
            notes = []
            if "no_template" in result.warnings:
                notes.append(
                    self.tr(
                        "This file has no chat template; answers may be poor (is it a base model "
                        "rather than an instruction-tuned one?)."
                    )
                )
            if "no_fit" in result.warnings:
                notes.append(
                    self.tr(
                        "It may not fit in this computer's memory at the current context length."
                    )
                )
            if notes:
                self.error_box = show_error(
                    self, self.tr("Model added, with a warning"), "\n\n".join(notes)
                )
        elif task == ADD_SERVER:
            self.message.emit(self.tr("Added model server %1.").replace("%1", result.message))
        elif task == SET_DEFAULT_MODEL:
            self.message.emit(
                self.tr("Answers will be written by %1 from the next question.").replace(
                    "%1", result.message
                )
            )
        elif task == REMOVE_MODEL:
            self.message.emit(self.tr("Removed model %1.").replace("%1", result.message))
        elif task == SAVE_GENERATION:
            self.message.emit(self.tr("Generation settings saved."))

    def _on_failed(self, task: str, message: str) -> None:
        titles = {
            MODELS: self.tr("Could not read the model list"),
            ADD_MODEL: self.tr("Could not add the model"),
            SET_DEFAULT_MODEL: self.tr("Could not change the model"),
            REMOVE_MODEL: self.tr("Could not remove the model"),
            SAVE_GENERATION: self.tr("Could not save the settings"),
            ADD_SERVER: self.tr("Could not add the model server"),
        }
        self.error_box = show_error(self, titles[task], message)
        self._update_actions()
