"""Evaluation page: run a question file through the retrieval modes, see the report.

Drives :func:`kidneytalk.evaluation.run_eval` (the same harness as
``kidneytalk eval``) as a job on the engine thread, which owns the LLM. The
harness reports each finished (question, mode) pair; those reports reach this
page through a signal of its own (queued into the GUI thread) and move the
progress bar. Cancel sets the run's ``threading.Event``: what finished is kept
and reported, and running the same file again into the same folder continues it.

Each run gets a folder under ``<data>/evaluations`` (``Paths.evaluations``); the page writes what was
asked (question file, modes, style, model, how many questions) to
``request.json`` there, so "Continue" on an earlier folder fills the form again
and the harness resumes from its ``results.jsonl``. Folders made by
``kidneytalk eval`` have no request: the page reads their ``run.json`` and
results instead, and the question file is the one in the form.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kidneytalk.evaluation import EvalProgress, EvalSummary, run_eval
from kidneytalk.evaluation.runs import (
    REQUEST_FILE,
    EvalRequest,
    count_results,
    earlier_runs,
    is_run_folder,
    read_request,
    saved_summary,
)
from kidneytalk.vocabulary import EVAL_MODES, STYLES

from .dialogs import show_error
from .models_page import ModelsSnapshot
from .workers import EngineClient, Job, JobContext

RUN_EVAL = "run_eval"

# (per-mode metric, is a share shown as %); the columns the summary table shows when present
_METRICS = (
    ("n", False),
    ("accuracy", True),
    ("refusal_rate", True),
    ("accuracy_answered", True),
    ("hit_rate", True),
    ("source_hit_rate", True),
    ("mrr", False),
    ("extractiveness", False),
    ("latency_p50", False),
    ("latency_p95", False),
)


def eval_job(request: EvalRequest, *, out_dir: str, cancel: threading.Event) -> Job[EvalSummary]:
    """One harness run; Cancel stops after the current question (what finished is kept)."""

    def run(ctx: JobContext) -> EvalSummary:
        r = request
        return run_eval(
            ctx.engine,
            r.questions,
            modes=list(r.modes),
            style=r.style,
            model=r.model or None,
            limit=r.limit,
            sample=r.sample,
            seed=r.seed,
            out_dir=out_dir,
            retrieval_only=r.retrieval_only,
            progress=ctx.progress,
            cancel=ctx.cancel,
        )

    return Job(RUN_EVAL, run, cancel=cancel)


def _format(value: Any, share: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if share:
        return f"{100 * value:.0f}%"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class EvalPage(QWidget):
    message = Signal(str)

    def __init__(self, client: EngineClient, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluationPage")
        self.client = client
        self.paths = client.engine.paths
        self.summary: EvalSummary | None = None  # the last run's, or an earlier run's saved one
        self.error_box: QMessageBox | None = None
        self._cancel: threading.Event | None = None
        self._started = 0.0
        self._last_progress: EvalProgress | None = None
        self._default_model = ""  # its name, once the Models page has read the model list

        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.subtitle = QLabel()
        self.subtitle.setObjectName("pageSubtitle")
        self.subtitle.setWordWrap(True)

        # what to run ---------------------------------------------------
        self.setup_box = QGroupBox()
        form = QFormLayout(self.setup_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.file_edit = QLineEdit()
        self.file_edit.setObjectName("questionFile")
        self.file_edit.textChanged.connect(self._update_actions)
        self.browse_button = QPushButton()
        self.browse_button.clicked.connect(self.choose_file)
        row = QHBoxLayout()
        row.addWidget(self.file_edit, 1)
        row.addWidget(self.browse_button)
        self.file_label = QLabel()
        form.addRow(self.file_label, row)
        self.mode_boxes = {m: QCheckBox(m) for m in EVAL_MODES}
        self.mode_boxes["naive"].setChecked(True)
        self.retrieval_only = QCheckBox()
        self.retrieval_only.toggled.connect(self._update_actions)
        modes_row = QHBoxLayout()
        for box in self.mode_boxes.values():
            box.toggled.connect(self._update_actions)
            modes_row.addWidget(box)
        modes_row.addStretch(1)
        self.modes_label = QLabel()
        form.addRow(self.modes_label, modes_row)
        self.style_box = QComboBox()
        for s in STYLES:
            self.style_box.addItem(s, s)
        self.model_box = QComboBox()
        self.model_box.setObjectName("evalModel")
        self.model_box.addItem("", "")  # the default model; named in retranslate()
        # at most ~28 characters wide: long model names must not push the page wider than small windows
        self.model_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_box.setMinimumContentsLength(28)
        self.model_label = QLabel()
        self.model_label.setBuddy(self.model_box)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_box)
        model_row.addStretch(1)
        form.addRow(self.model_label, model_row)
        options = QHBoxLayout()
        self.style_label = QLabel()
        self.style_label.setBuddy(self.style_box)
        options.addWidget(self.style_label)
        options.addWidget(self.style_box)
        options.addSpacing(16)
        options.addWidget(self.retrieval_only)
        options.addStretch(1)
        self.options_label = QLabel()
        form.addRow(self.options_label, options)

        self.limit = QSpinBox()
        self.limit.setObjectName("evalLimit")
        self.limit.setRange(0, 100000)
        self.sample = QCheckBox()
        self.sample.setObjectName("evalSample")
        self.sample.toggled.connect(self._update_actions)
        self.seed = QSpinBox()
        self.seed.setObjectName("evalSeed")
        self.seed.setRange(0, 2**31 - 1)
        self.seed_label = QLabel()
        self.seed_label.setBuddy(self.seed)
        count_row = QHBoxLayout()
        for w in (self.limit, self.sample, self.seed_label, self.seed):
            count_row.addWidget(w)
        count_row.addStretch(1)
        self.limit_label = QLabel()
        self.limit_label.setBuddy(self.limit)
        form.addRow(self.limit_label, count_row)

        self.run_folder = QComboBox()
        self.run_folder.setObjectName("runFolder")
        self.run_folder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.run_folder.activated.connect(self._on_run_folder)
        self.other_folder_button = QPushButton()
        self.other_folder_button.clicked.connect(self.choose_run_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.run_folder, 1)
        folder_row.addWidget(self.other_folder_button)
        self.run_folder_label = QLabel()
        self.run_folder_label.setBuddy(self.run_folder)
        form.addRow(self.run_folder_label, folder_row)

        self.run_button = QPushButton()
        self.run_button.setObjectName("primaryButton")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, 1)
        self.progress_label = QLabel()
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress_bar, 1)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.run_button)

        # results -------------------------------------------------------
        self.results_box = QGroupBox()
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("summaryTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        self.result_note = QLabel()
        self.result_note.setObjectName("hintLabel")
        self.result_note.setWordWrap(True)
        self.result_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plots = QWidget()
        self.plots_layout = QGridLayout(self.plots)  # two plots side by side
        self.plots_layout.setContentsMargins(0, 0, 0, 0)
        self.plot_scroll = QScrollArea()
        self.plot_scroll.setWidgetResizable(True)
        self.plot_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.plot_scroll.setWidget(self.plots)
        self.open_folder_button = QPushButton()
        self.open_folder_button.clicked.connect(self.open_folder)
        self.open_report_button = QPushButton()
        self.open_report_button.clicked.connect(self.open_report)
        buttons = QHBoxLayout()
        buttons.addWidget(self.result_note, 1)
        buttons.addWidget(self.open_report_button)
        buttons.addWidget(self.open_folder_button)
        rl = QVBoxLayout(self.results_box)
        rl.addWidget(self.table)
        rl.addLayout(buttons)
        rl.addWidget(self.plot_scroll, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.setup_box)
        layout.addLayout(run_row)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.results_box, 1)

        client.activity_changed.connect(self._update_actions)
        self.retranslate()
        self.fill_run_folders()
        self._show_summary()
        self._update_actions()

    # ------------------------------------------------------------ text
    def retranslate(self) -> None:
        self.title.setText(self.tr("Evaluation"))
        self.subtitle.setText(
            self.tr(
                "Measure how often answers are right, refused and backed by the right page on a question file with "
                "known answers (JSONL or CSV), for each retrieval mode."
            )
        )
        self.setup_box.setTitle(self.tr("Run"))
        self.file_label.setText(self.tr("Question file:"))
        self.file_edit.setPlaceholderText(
            self.tr("questions.jsonl or .csv with the correct answer of each question")
        )
        self.browse_button.setText(self.tr("Browse…"))
        self.modes_label.setText(self.tr("Modes:"))
        self.mode_boxes["no-rag"].setToolTip(
            self.tr("The model alone, without your library (the baseline)")
        )
        self.options_label.setText(self.tr("Options:"))
        self.style_label.setText(self.tr("Answer style:"))
        self.model_label.setText(self.tr("Model:"))
        self.model_box.setToolTip(
            self.tr("The language model that answers (the models on the Models page)")
        )
        self.limit_label.setText(self.tr("Questions:"))
        self.limit.setSpecialValueText(self.tr("all"))
        self.limit.setToolTip(
            self.tr(
                "How many questions to evaluate (all when 0): the first ones of the file, or "
                "a random sample"
            )
        )
        self.sample.setText(self.tr("Random sample"))
        self.sample.setToolTip(
            self.tr(
                "Draw the questions at random instead of taking the first ones; the same "
                "seed draws the same questions, and a larger number adds to them"
            )
        )
        self.seed_label.setText(self.tr("Seed:"))
        self.seed.setToolTip(self.tr("Which random sample: the same seed gives the same questions"))
        self.run_folder_label.setText(self.tr("Results:"))
        self.run_folder.setToolTip(
            self.tr(
                "A new folder, or an earlier run to continue: finished answers are kept "
                "and only the missing ones are run"
            )
        )
        self.other_folder_button.setText(self.tr("Other folder…"))
        self.other_folder_button.setToolTip(
            self.tr("Continue a run saved elsewhere (e.g. by 'kidneytalk eval')")
        )
        if self.run_folder.count():
            self.run_folder.setItemText(0, self.tr("New run (a new folder)"))
        self._name_default_model()
        self._update_actions()  # the run button's text
        self.retrieval_only.setText(self.tr("Retrieval only (no answers, fast)"))
        self.retrieval_only.setToolTip(
            self.tr("Only check whether the gold page is found; no text is generated")
        )
        self.cancel_button.setText(self.tr("Cancel"))
        self.cancel_button.setToolTip(
            self.tr("Stop after the current question; finished results are kept")
        )
        self.results_box.setTitle(self.tr("Results"))
        self.open_folder_button.setText(self.tr("Open report folder"))
        self.open_report_button.setText(self.tr("Open report"))
        if not self.running and self._last_progress is None:
            self.progress_label.setText(self.tr("Not running."))
        self._show_summary()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # ------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self.client.pending(RUN_EVAL) > 0

    def chosen_modes(self) -> list[str]:
        return [m for m, box in self.mode_boxes.items() if box.isChecked()]

    def _update_actions(self) -> None:
        running = self.running
        self.mode_boxes["no-rag"].setEnabled(not running and not self.retrieval_only.isChecked())
        modes = [
            m
            for m in self.chosen_modes()
            if not (self.retrieval_only.isChecked() and m == "no-rag")
        ]
        ready = bool(self.file_edit.text().strip()) and bool(modes)
        self.run_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(
            running and self._cancel is not None and not self._cancel.is_set()
        )
        controls: tuple[QWidget, ...] = (
            self.file_edit,
            self.browse_button,
            self.style_box,
            self.limit,
            self.retrieval_only,
            self.model_box,
            self.sample,
            self.run_folder,
            self.other_folder_button,
            *[b for m, b in self.mode_boxes.items() if m != "no-rag"],
        )
        for w in controls:
            w.setEnabled(not running)
        self.seed.setEnabled(not running and self.sample.isChecked())
        self.seed_label.setEnabled(self.seed.isEnabled())
        self.run_button.setText(
            self.tr("Continue run") if self.continued_folder() else self.tr("Run evaluation")
        )
        has_report = self.summary is not None
        self.open_folder_button.setEnabled(has_report)
        self.open_report_button.setEnabled(
            self.summary is not None and self.summary.report_html is not None
        )

    # ------------------------------------------------------------ actions
    def choose_file(self) -> None:
        start = self.file_edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Choose a question file"),
            start,
            self.tr("Question files (*.jsonl *.csv);;All files (*)"),
        )
        if path:
            self.file_edit.setText(path)

    def output_folder(self, questions: Path) -> Path:
        """A new folder per run under the data folder: evaluations/<file>-<date-time>."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = self.paths.evaluations / f"{questions.stem}-{stamp}"
        out, n = base, 1
        while out.exists():  # two runs started within the same second
            n += 1
            out = base.with_name(f"{base.name}-{n}")
        return out

    def run(self) -> None:
        if self.running:
            return
        questions = Path(self.file_edit.text().strip()).expanduser()
        if not questions.is_file():
            self.error_box = show_error(
                self,
                self.tr("No question file"),
                self.tr("There is no file at %1.").replace("%1", str(questions)),
            )
            return
        request = self.request()
        request = dataclasses.replace(request, questions=str(questions))
        out = self.continued_folder() or self.output_folder(questions)
        try:
            out.mkdir(parents=True, exist_ok=True)
            request.save(out)
        except OSError as exc:
            self.error_box = show_error(
                self,
                self.tr("Could not start"),
                self.tr("Could not write %1:").replace("%1", str(out)) + f"\n{exc.strerror or exc}",
            )
            return
        self._cancel = threading.Event()
        self._started = time.monotonic()
        self._last_progress = None
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText(
            self.tr("Starting… (loading the models and reading the questions)")
        )
        self.client.start(
            eval_job(request, out_dir=str(out), cancel=self._cancel),
            done=self._on_finished,
            failed=self._on_failed,
            progress=self._on_progress,
        )
        self._update_actions()

    def request(self) -> EvalRequest:
        """The run the form describes (the question file as typed)."""
        retrieval_only = self.retrieval_only.isChecked()
        n = self.limit.value() or None
        sampled = self.sample.isChecked() and n is not None
        return EvalRequest(
            questions=self.file_edit.text().strip(),
            modes=[m for m in self.chosen_modes() if not (retrieval_only and m == "no-rag")],
            style=str(self.style_box.currentData()),
            model=str(self.model_box.currentData() or ""),
            limit=None if sampled else n,
            sample=n if sampled else None,
            seed=self.seed.value() if sampled else 0,
            retrieval_only=retrieval_only,
        )

    def show_request(self, request: EvalRequest) -> None:
        """Fill the form with ``request`` (an earlier run being continued)."""
        if request.questions:
            self.file_edit.setText(request.questions)
        for mode, box in self.mode_boxes.items():
            box.setChecked(mode in request.modes)
        self.style_box.setCurrentIndex(max(0, self.style_box.findData(request.style)))
        if request.model and self.model_box.findData(request.model) < 0:
            self.model_box.addItem(request.model, request.model)  # not (yet) in the model list
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(request.model)))
        self.limit.setValue(request.sample or request.limit or 0)
        self.sample.setChecked(request.sample is not None)
        self.seed.setValue(request.seed)
        self.retrieval_only.setChecked(request.retrieval_only)
        self._update_actions()

    # ------------------------------------------------------------ earlier runs
    def continued_folder(self) -> Path | None:
        """The earlier run chosen to continue, or None for a new run."""
        data = self.run_folder.currentData()
        return Path(data) if data else None

    def fill_run_folders(self, select: Path | None = None) -> None:
        """'New run' and the earlier runs under the data folder (newest first); select ``select``."""
        select = select or self.continued_folder()
        self.run_folder.clear()
        self.run_folder.addItem(self.tr("New run (a new folder)"), "")
        folders = earlier_runs(self.paths.evaluations)
        if select is not None and select not in folders:
            folders.insert(0, select)
        for folder in folders:
            self._add_folder(folder)
        if select is not None:
            self.run_folder.setCurrentIndex(max(0, self.run_folder.findData(str(select))))
        self._update_actions()

    def _add_folder(self, folder: Path) -> None:
        label = (
            self.tr("Continue %1 (%2 answers so far)")
            .replace("%1", folder.name)
            .replace("%2", str(count_results(folder)))
        )
        self.run_folder.addItem(label, str(folder))
        self.run_folder.setItemData(
            self.run_folder.count() - 1, str(folder), Qt.ItemDataRole.ToolTipRole
        )

    def continue_run(self, folder: str | Path) -> None:
        """Choose ``folder`` (an earlier run) to continue: the form shows its settings and last report."""
        folder = Path(folder)
        self.fill_run_folders(select=folder)
        self.show_request(read_request(folder))
        self.summary = saved_summary(folder)
        self._show_summary()
        self._update_actions()
        if not (folder / REQUEST_FILE).exists():
            self.message.emit(
                self.tr(
                    "This run was not started here: check that the question file is the one it "
                    "used."
                )
            )

    def _on_run_folder(self, index: int) -> None:
        data = self.run_folder.itemData(index)
        if data:
            self.continue_run(data)
        else:
            self._update_actions()

    def choose_run_folder(self) -> None:
        start = str(self.continued_folder() or self.paths.evaluations)
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose the folder of an earlier run"), start
        )
        if not folder:
            return
        if not is_run_folder(Path(folder)):
            self.error_box = show_error(
                self,
                self.tr("Not an evaluation folder"),
                self.tr("%1 holds no evaluation results (results.jsonl).").replace("%1", folder),
            )
            return
        self.continue_run(folder)

    def show_models(self, result: ModelsSnapshot) -> None:
        """The Models page's snapshot (start, add, remove, default): the models one can evaluate."""
        chosen = str(self.model_box.currentData() or "")
        while self.model_box.count() > 1:
            self.model_box.removeItem(1)
        for row in result.rows:
            if row.info is not None:
                self.model_box.addItem(row.name, row.name)
        self._default_model = next((row.name for row in result.rows if row.default), "")
        self._name_default_model()
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(chosen)))

    def _name_default_model(self) -> None:
        text = self.tr("Default model")
        self.model_box.setItemText(
            0, f"{text} ({self._default_model})" if self._default_model else text
        )

    def cancel(self) -> None:
        """Stop after the current question (also called when the window closes)."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            if self.running:
                self.progress_label.setText(
                    self.tr("Cancelling after the current question… finished results are kept.")
                )
        self._update_actions()

    def open_folder(self) -> None:
        if self.summary is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.summary.out_dir)))

    def open_report(self) -> None:
        if self.summary is not None and self.summary.report_html is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.summary.report_html)))

    # ------------------------------------------------------------ results
    def _on_progress(self, event: EvalProgress) -> None:
        if not self.running:
            return
        self._last_progress = event
        done, total = event.done, event.total
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
        parts = [self.tr("%1 of %2 answers").replace("%1", str(done)).replace("%2", str(total))]
        if event.mode and event.question_id:
            parts.append(f"{event.mode} · {event.question_id}")
        eta = event.eta_seconds
        if eta is not None and done < total:
            parts.append(self.tr("about %1 left").replace("%1", _duration(eta)))
        parts.append(
            self.tr("%1 elapsed").replace("%1", _duration(time.monotonic() - self._started))
        )
        self.progress_label.setText("  ·  ".join(parts))

    def _on_finished(self, result: EvalSummary) -> None:
        self.summary = result
        complete = result.complete
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if complete else 0)
        elapsed = _duration(time.monotonic() - self._started)
        if complete:
            self.progress_label.setText(self.tr("Finished in %1.").replace("%1", elapsed))
        else:
            self.progress_label.setText(
                self.tr(
                    "Cancelled after %1; the report covers the questions that finished."
                ).replace("%1", elapsed)
            )
        self._cancel = None
        self.fill_run_folders(select=None if complete else result.out_dir)  # Run again continues it
        if complete:
            self.run_folder.setCurrentIndex(0)
        self._show_summary()
        self._update_actions()
        self.message.emit(
            self.tr("Evaluation report written to %1.").replace("%1", str(result.out_dir))
        )

    def _on_failed(self, message: str) -> None:
        self._cancel = None
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_label.setText(self.tr("The evaluation stopped with an error."))
        self.error_box = show_error(self, self.tr("Evaluation failed"), message)
        self._update_actions()

    def _show_summary(self) -> None:
        s = self.summary
        while self.plots_layout.count():
            taken = self.plots_layout.takeAt(0)
            plot = taken.widget() if taken is not None else None
            if plot is not None:
                plot.deleteLater()
        if s is None:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.table.hide()
            self.result_note.setText(
                self.tr(
                    "Run an evaluation to see accuracy, refusals and retrieval per mode "
                    "here; the full report and its plots are saved with the results."
                )
            )
            return
        per_mode = s.per_mode
        headers = {
            "n": self.tr("questions"),
            "accuracy": self.tr("accuracy"),
            "refusal_rate": self.tr("refusals"),
            "accuracy_answered": self.tr("accuracy when answered"),
            "hit_rate": self.tr("gold page found"),
            "source_hit_rate": self.tr("gold document found"),
            "mrr": self.tr("MRR"),
            "extractiveness": self.tr("extractiveness"),
            "latency_p50": self.tr("median time (s)"),
            "latency_p95": self.tr("slowest 5% (s)"),
        }
        columns = [
            (k, share)
            for k, share in _METRICS
            if any(d.get(k) is not None for d in per_mode.values())
        ]
        self.table.setColumnCount(1 + len(columns))
        self.table.setHorizontalHeaderLabels([self.tr("mode")] + [headers[k] for k, _ in columns])
        self.table.setRowCount(len(per_mode))
        for r, (mode, metrics) in enumerate(per_mode.items()):
            self.table.setItem(r, 0, QTableWidgetItem(mode))
            for c, (key, share) in enumerate(columns, start=1):
                value = metrics.get(key)
                if key == "hit_rate" and mode == "no-rag":
                    value = None
                item = QTableWidgetItem(_format(value, share))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.show()
        height = (
            self.table.horizontalHeader().sizeHint().height()
            + sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
            + 2 * self.table.frameWidth()
        )
        self.table.setFixedHeight(height)
        out = s.out_dir
        self.result_note.setText(self.tr("Report and results in %1").replace("%1", str(out)))
        # At most half the page wide each, never enlarged (the harness draws them at 90 dpi).
        width = max(320, (self.width() - 120) // 2)
        shown = 0
        for png in sorted(out.rglob("*.png")):
            pixmap = QPixmap(str(png))
            if pixmap.isNull():
                continue
            if pixmap.width() > width:
                pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
            label = QLabel()
            label.setObjectName("plot")
            label.setPixmap(pixmap)
            label.setToolTip(str(png))
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.plots_layout.addWidget(label, shown // 2, shown % 2)
            shown += 1
        self.plots_layout.setRowStretch(shown // 2 + 1, 1)
        self.plots_layout.setColumnStretch(2, 1)

    def plot_files(self) -> list[str]:
        """The plots shown (their file paths), for tests and screenshots."""
        return [w.toolTip() for w in self.plots.findChildren(QLabel, "plot")]
