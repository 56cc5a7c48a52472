"""The one thread that talks to the engine.

Widgets never call :class:`~kidneytalk.engine.Engine`; they call
:class:`EngineClient`, whose requests are queued (Qt queued connections) to a
single :class:`EngineWorker` living in its own ``QThread``. That thread is the
only one that ever touches the LLM (llama.cpp contexts are not thread-safe) and
the embedder, and requests run one after another in the order they were made.

Cancel and Stop are the exception: the worker is busy exactly when they
matter, so they set a ``threading.Event`` from the GUI thread, which the engine
checks between files / embedding groups / tokens.

Everything the worker sends back is plain data (``Document``, ``AddResult``,
:class:`AskResult`), never a lazy engine object, so the GUI thread never ends up
driving the model by accident.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from kidneytalk.catalog import Document
from kidneytalk.conversations import ConversationStore
from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError
from kidneytalk.records import Citation, Hit, ProgressEvent

from .i18n import QT_TRANSLATE_NOOP

log = logging.getLogger("kidneytalk.ui.workers")

# Task names, as passed to ``finished`` / ``failed``.
WARM_UP = "warm_up"
ADD = "add"
SET_ENABLED = "set_enabled"
REMOVE = "remove"
DOCUMENTS = "documents"
ASK = "ask"

_LIBRARY_WRITES = (ADD, SET_ENABLED, REMOVE)
_DOING = {
    WARM_UP: "loading the models",
    ADD: "adding documents",
    SET_ENABLED: "changing a document",
    REMOVE: "removing documents",
    DOCUMENTS: "reading the library",
    ASK: "answering the question",
}


@dataclass(frozen=True)
class LibrarySnapshot:
    """The catalog as the table shows it: documents plus which ones need re-indexing."""

    documents: list[Document]
    hints: dict[str, str] = field(default_factory=dict)  # doc id -> why it should be re-indexed


@dataclass(frozen=True)
class AskStage:
    """Progress of a question (sent through ``progress`` like ingest events)."""

    stage: str  # "waiting", "loading_model", "searching", "answering", or an AddRep stage
    message: str
    i: int = 0  # step i of n (divergent questions, judged passages), 0 when not counted
    n: int = 0


@dataclass(frozen=True)
class AskRequest:
    """A question with what it continues: earlier turns, mode and style ("" = settings)."""

    question: str
    history: tuple[dict[str, str], ...] = ()
    mode: str = ""
    style: str = ""
    conversation_id: str = ""  # handed back in the AskResult, so the page files the answer


@dataclass
class AskResult:
    """A finished (or stopped) answer, fully materialised in the worker thread."""

    question: str
    text: str
    refused: bool = False
    stopped: bool = False
    model: str = ""
    citations: list[Citation] = field(default_factory=list)
    evidence: list[Hit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    unsupported: list[str] = field(
        default_factory=list
    )  # answer sentences their citations do not support
    details: dict[str, object] = field(
        default_factory=dict
    )  # Answer.to_json(): what a conversation stores
    conversation_id: str = ""


# What the chat page shows at each stage of a question. Marked for lupdate here and
# translated where shown (stage_label in the GUI thread); the worker sends the English
# text, which is also what the log and the tests read.
_STAGE_CONTEXT = "AskStage"
_STAGE_TEXT = {
    "loading_model": QT_TRANSLATE_NOOP("AskStage", "Loading the language model…"),
    "load": QT_TRANSLATE_NOOP("AskStage", "Loading the language model…"),
    "searching": QT_TRANSLATE_NOOP("AskStage", "Searching your library…"),
    "refine": QT_TRANSLATE_NOOP("AskStage", "Refining the question…"),
    "search": QT_TRANSLATE_NOOP("AskStage", "Searching your library…"),
    "divergent": QT_TRANSLATE_NOOP("AskStage", "Asking divergent questions"),
    "judge": QT_TRANSLATE_NOOP("AskStage", "Judging relevance"),
    "assemble": QT_TRANSLATE_NOOP("AskStage", "Assembling the evidence…"),
    "write": QT_TRANSLATE_NOOP("AskStage", "Writing the answer…"),
    "answering": QT_TRANSLATE_NOOP("AskStage", "Writing the answer…"),
    "thinking": QT_TRANSLATE_NOOP("AskStage", "The model is thinking…"),
}


def stage_text(stage: str, i: int = 0, n: int = 0, *, translate: bool = False) -> str:
    """A user-facing line for a stage of a question (e.g. 'Judging relevance 3/8…').

    ``translate`` puts it in the UI language; only the GUI thread should ask for that.
    """
    text = _STAGE_TEXT.get(stage, stage)
    if translate and stage in _STAGE_TEXT:
        text = QCoreApplication.translate(_STAGE_CONTEXT, text)
    return f"{text.rstrip('…')} {i}/{n}…" if n else text


def stage_label(event: AskStage) -> str:
    """``event`` as the chat page shows it, in the UI language."""
    if event.stage in _STAGE_TEXT:
        return stage_text(event.stage, event.i, event.n, translate=True)
    return event.message


class EngineWorker(QObject):
    """Owns every engine call; lives in :attr:`EngineClient.worker_thread`.

    Signals:
        progress(object): a ``ProgressEvent`` while adding, an :class:`AskStage` while asking.
        token(str): a piece of the answer being generated.
        finished(str task, object result): task done (``list[AddResult]``, ``Document``,
            :class:`LibrarySnapshot`, :class:`AskResult`, ``None``).
        failed(str task, str message): a message a clinician can act on.
        started(str task): the worker began running a queued task.
        documents_changed(object): a fresh :class:`LibrarySnapshot` (also mid-ingest).
        notice(str): a non-fatal remark for the status bar (lock wait, model warning).
    """

    progress = Signal(object)
    token = Signal(str)
    finished = Signal(str, object)
    failed = Signal(str, str)
    started = Signal(str)
    documents_changed = Signal(object)
    notice = Signal(str)

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    # ------------------------------------------------------------ plumbing
    def _run(self, task: str, fn: Callable[[], object]) -> None:
        self.started.emit(task)
        error: str | None = None
        result: object = None
        try:
            result = fn()
        except KidneyTalkError as exc:
            log.warning("%s failed: %s", task, exc)
            error = str(exc) or f"Could not finish {_DOING.get(task, task)}."
        except Exception as exc:  # a bug: keep the app alive, keep the traceback in the log
            log.exception("unexpected error while %s", _DOING.get(task, task))
            error = (
                f"Unexpected error while {_DOING.get(task, task)}: {type(exc).__name__}: {exc}\n\n"
                f"The details are in the log file:\n{self.engine.log_path}"
            )
        if task in _LIBRARY_WRITES:
            self._emit_snapshot()  # before the outcome: a finished task finds the table up to date
        if error is not None:
            self.failed.emit(task, error)
        else:
            self.finished.emit(task, result)

    def _snapshot(self) -> LibrarySnapshot:
        lib = self.engine.library
        docs = lib.documents()
        return LibrarySnapshot(docs, {d.id: h for d in docs if (h := lib.reindex_hint(d))})

    def _emit_snapshot(self) -> None:
        try:
            self.documents_changed.emit(self._snapshot())
        except Exception:  # the table keeps its last state; the error is in the log
            log.exception("could not read the library catalog")

    # ------------------------------------------------------------ slots (worker thread)
    @Slot()
    def warm_up(self) -> None:
        """Load the embedder and the LLM now, so the first question does not wait for them."""

        def load() -> None:
            _ = self.engine.library.embedder
            self.engine.llm(on_warning=self.notice.emit)
            # what adding a document or showing a cited page needs, kept out of the app's start
            import langchain_text_splitters  # noqa: F401
            import pymupdf  # noqa: F401

        self._run(WARM_UP, load)

    @Slot()
    def refresh(self) -> None:
        def read() -> LibrarySnapshot:
            snap = self._snapshot()
            self.documents_changed.emit(snap)
            return snap

        self._run(DOCUMENTS, read)

    def _ingest_progress(self) -> Callable[[ProgressEvent], None]:
        """Forward ingest progress; refresh the table when a file starts embedding or finishes.

        A row appears as "indexing" when a file starts embedding and turns
        "ready"/"failed" when it is done: the table is refreshed at those steps only.
        """
        last: list[tuple[int, str]] = [(0, "")]

        def forward(event: ProgressEvent) -> None:
            self.progress.emit(event)
            key = (event.file_index, event.stage)
            if key != last[0] and event.stage in ("embed", "done", "error"):
                last[0] = key
                self._emit_snapshot()

        return forward

    @Slot(list, object)
    def add(self, paths: list[str], cancel: threading.Event) -> None:
        forward = self._ingest_progress()
        self._run(
            ADD,
            lambda: self.engine.add(
                paths, progress=forward, cancel=cancel, on_wait=self.notice.emit
            ),
        )

    @Slot(list, object)
    def reindex(self, doc_ids: list[str], cancel: threading.Event) -> None:
        """Re-run the pipeline on the library's copies (e.g. OCR for "needs OCR" documents); an ADD task."""
        forward = self._ingest_progress()
        self._run(ADD, lambda: self.engine.reindex(doc_ids, progress=forward, cancel=cancel))

    @Slot(str, bool)
    def set_enabled(self, doc_id: str, enabled: bool) -> None:
        self._run(SET_ENABLED, lambda: self.engine.library.set_enabled(doc_id, enabled))

    @Slot(list)
    def remove(self, doc_ids: list[str]) -> None:
        self._run(REMOVE, lambda: [self.engine.library.remove(d) for d in doc_ids])

    @Slot(object, object)
    def ask(self, request: AskRequest, stop: threading.Event) -> None:
        self._run(ASK, lambda: self._ask(request, stop))

    @Slot(str, object)
    def call(self, task: str, job: Callable[[EngineWorker], object]) -> None:
        """Run a page's own engine job here (models, settings, evaluation): ``job(worker)``.

        The job runs in this thread like every other task (so it may touch the LLM)
        and must return plain data; it can emit ``progress``/``notice`` through the worker.
        """
        self._run(task, lambda: job(self))

    def _ask(self, request: AskRequest, stop: threading.Event) -> AskResult:
        question, cid = request.question, request.conversation_id
        if stop.is_set():  # stopped while queued behind another task
            return AskResult(question, "", stopped=True, conversation_id=cid)
        if not question.strip():
            raise KidneyTalkError("Please type a question.")
        self.progress.emit(AskStage("loading_model", stage_text("loading_model")))
        self.engine.llm(on_warning=self.notice.emit)
        self.progress.emit(AskStage("searching", stage_text("searching")))
        answer = self.engine.ask(
            question,
            history=list(request.history),
            mode=request.mode or None,
            style=request.style or None,
            cancel=stop,
            progress=lambda ev: self.progress.emit(
                AskStage(ev.stage, stage_text(ev.stage, ev.i, ev.n), ev.i, ev.n)
            ),
        )
        if stop.is_set():
            return AskResult(
                question,
                "",
                stopped=True,
                model=answer.model,
                evidence=list(answer.evidence),
                conversation_id=cid,
            )
        self.progress.emit(AskStage("answering", stage_text("answering")))
        stopped = False
        thinking = False
        for kind, piece in answer.events():
            if kind == "reasoning":  # a reasoning model's thought: not streamed as the answer
                if not thinking and not stop.is_set():
                    self.progress.emit(AskStage("thinking", stage_text("thinking")))
                thinking = True
                continue
            if thinking:
                self.progress.emit(AskStage("answering", stage_text("answering")))
                thinking = False
            if stop.is_set():
                # The stream ends at the next piece; let it end on its own so the
                # Answer is complete and llama.cpp's generator is closed properly.
                answer.cancel.set()
                stopped = True
                continue
            self.token.emit(piece)
        stopped = (
            stopped or stop.is_set()
        )  # the stream itself ends at Stop, often with no piece after it
        text = answer.text()
        return AskResult(
            question=answer.question,
            text=text,
            refused=answer.refused,
            stopped=stopped,
            model=answer.model,
            citations=answer.citations,
            evidence=list(answer.evidence),
            timings=dict(answer.timings),
            unsupported=[] if stopped else answer.unsupported,
            details=answer.to_json(),
            conversation_id=cid,
        )


class EngineClient(QObject):
    """The GUI-thread face of the worker: request methods, cancel/stop, busy state.

    The worker's signals are re-exposed here (``client.token`` etc.) so views
    connect to one object. ``activity_changed`` fires whenever a task is queued,
    starts or ends; views read :meth:`pending` to enable or disable controls.
    """

    progress = Signal(object)
    token = Signal(str)
    finished = Signal(str, object)
    failed = Signal(str, str)
    started = Signal(str)
    documents_changed = Signal(object)
    notice = Signal(str)
    activity_changed = Signal()

    # requests, delivered to the worker thread through queued connections
    _req_warm_up = Signal()
    _req_refresh = Signal()
    _req_add = Signal(list, object)
    _req_reindex = Signal(list, object)
    _req_set_enabled = Signal(str, bool)
    _req_remove = Signal(list)
    _req_ask = Signal(object, object)
    _req_call = Signal(str, object)

    def __init__(self, engine: Engine, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine  # for paths and log_path only; never call it from the GUI thread
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("kidneytalk-engine")
        self.worker = EngineWorker(engine)
        self.worker.moveToThread(self.worker_thread)
        self.worker_thread.finished.connect(self.worker.deleteLater)

        self._req_warm_up.connect(self.worker.warm_up)
        self._req_refresh.connect(self.worker.refresh)
        self._req_add.connect(self.worker.add)
        self._req_reindex.connect(self.worker.reindex)
        self._req_set_enabled.connect(self.worker.set_enabled)
        self._req_remove.connect(self.worker.remove)
        self._req_ask.connect(self.worker.ask)
        self._req_call.connect(self.worker.call)

        for name in ("progress", "token", "started", "documents_changed", "notice"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.worker.started.connect(self._on_started)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)

        self._pending: Counter[str] = Counter()
        self._running = ""
        self._task_started = 0.0
        self._add_cancels: list[threading.Event] = []
        self._ask_stops: list[threading.Event] = []
        self._conversations: ConversationStore | None = None
        self._closed = False
        self.worker_thread.start()

    # ------------------------------------------------------------ state
    def pending(self, task: str | None = None) -> int:
        """Requests of ``task`` (or of any task) queued or running."""
        return self._pending[task] if task else sum(self._pending.values())

    @property
    def conversations(self) -> ConversationStore:
        """Saved conversations, for the GUI thread: its own SQLite connection to the engine's file.

        Small reads and writes that must not wait behind an answer being written;
        SQLite serialises them with the worker's connection (the CLI uses that one).
        """
        if self._conversations is None:
            self._conversations = ConversationStore(self.engine.paths.conversations)
        return self._conversations

    @property
    def running(self) -> str:
        """The task the worker is running now ("" when idle)."""
        return self._running

    def _queue(self, task: str) -> None:
        if self._closed:
            raise RuntimeError("the engine worker has been shut down")
        self._pending[task] += 1
        self.activity_changed.emit()

    def _on_started(self, task: str) -> None:
        self._running = task
        self._task_started = time.monotonic()
        self.activity_changed.emit()

    def _done(self, task: str) -> None:
        self._pending[task] -= 1
        if self._pending[task] <= 0:
            del self._pending[task]
            if task == ADD:
                self._add_cancels.clear()
            elif task == ASK:
                self._ask_stops.clear()
        self._running = ""
        self.activity_changed.emit()

    def _on_finished(self, task: str, result: object) -> None:
        self._done(task)
        self.finished.emit(task, result)

    def _on_failed(self, task: str, message: str) -> None:
        self._done(task)
        self.failed.emit(task, message)

    # ------------------------------------------------------------ requests
    def warm_up(self) -> None:
        self._queue(WARM_UP)
        self._req_warm_up.emit()

    def refresh(self) -> None:
        self._queue(DOCUMENTS)
        self._req_refresh.emit()

    def add(self, paths: Sequence[str]) -> None:
        cancel = threading.Event()
        self._add_cancels.append(cancel)
        self._queue(ADD)
        self._req_add.emit([str(p) for p in paths], cancel)

    def reindex(self, doc_ids: Sequence[str]) -> None:
        """Re-index documents from the library's copies; shown and cancelled like adding."""
        cancel = threading.Event()
        self._add_cancels.append(cancel)
        self._queue(ADD)
        self._req_reindex.emit(list(doc_ids), cancel)

    def cancel_add(self) -> None:
        """Stop adding after the current embedding group; unfinished files are not kept."""
        for event in self._add_cancels:
            event.set()

    def set_enabled(self, doc_id: str, enabled: bool) -> None:
        self._queue(SET_ENABLED)
        self._req_set_enabled.emit(doc_id, enabled)

    def remove(self, doc_ids: Sequence[str]) -> None:
        self._queue(REMOVE)
        self._req_remove.emit(list(doc_ids))

    def ask(
        self,
        question: str,
        *,
        history: Sequence[dict[str, str]] = (),
        mode: str = "",
        style: str = "",
        conversation_id: str = "",
    ) -> None:
        """Answer ``question`` continuing ``history`` (earlier turns); mode/style "" = the settings'."""
        stop = threading.Event()
        self._ask_stops.append(stop)
        self._queue(ASK)
        self._req_ask.emit(AskRequest(question, tuple(history), mode, style, conversation_id), stop)

    def call(self, task: str, job: Callable[[EngineWorker], object]) -> None:
        """Queue ``job(worker)`` on the engine thread; ends in ``finished``/``failed`` for ``task``."""
        self._queue(task)
        self._req_call.emit(task, job)

    def stop_answer(self) -> None:
        """Stop generating at the next token (a prompt being read cannot be interrupted)."""
        for event in self._ask_stops:
            event.set()

    # ------------------------------------------------------------ lifecycle
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel what runs, stop the thread; True when it ended (then the engine may be closed)."""
        if self._closed:
            return not self.worker_thread.isRunning()
        self._closed = True
        self.cancel_add()
        self.stop_answer()
        self.worker_thread.quit()
        ended = self.worker_thread.wait(timeout_ms)
        if self._conversations is not None:
            self._conversations.close()
            self._conversations = None
        if not ended:
            log.warning(
                "engine worker still busy after %d ms; leaving it to the process exit", timeout_ms
            )
        return bool(ended)
