"""The one thread that talks to the engine, and the typed jobs it runs.

Widgets never call :class:`~kidneytalk.engine.Engine`. A page builds a
:class:`Job` (``ask_job``, ``add_job``… or ``Job(task, fn)`` for its own engine
call), and :meth:`EngineClient.start` connects the page's handlers to that job
only and queues it (Qt queued connections) to the single :class:`EngineWorker`
living in its own ``QThread``. That thread is the only one that ever touches the
LLM (llama.cpp contexts are not thread-safe) and the embedder, and jobs run one
after another in the order they were started.

A job's ``done`` carries one result type (``Job[AskResult]``, ``Job[list[AddResult]]``…);
``failed`` carries a message a clinician can act on. Cancel and Stop set the
job's ``threading.Event`` from the GUI thread, which the engine checks between
files / embedding groups / tokens.

Everything a job sends back is plain data (``Document``, ``AddResult``,
:class:`AskResult`), never a lazy engine object, so the GUI thread never ends up
driving the model by accident. The engine's settings reach the GUI thread the
same way: :attr:`EngineClient.settings` is the frozen snapshot the worker sent last.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from kidneytalk.catalog import Document
from kidneytalk.config import Settings
from kidneytalk.conversations import ConversationStore
from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError
from kidneytalk.ingest import AddResult
from kidneytalk.records import Citation, Hit, ProgressEvent

from .i18n import QT_TRANSLATE_NOOP

log = logging.getLogger("kidneytalk.ui.workers")

# Task names: what a job is doing, for the busy state (EngineClient.pending/running), never
# for routing results (a job's outcome goes to the handlers its page connected).
WARM_UP = "warm_up"
ADD = "add"
SET_ENABLED = "set_enabled"
REMOVE = "remove"
DOCUMENTS = "documents"
ASK = "ask"

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
    read_only: str = ""  # why the library folder cannot be written ("" when it can)


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


T = TypeVar("T")


@dataclass(frozen=True)
class JobContext:
    """What a job's function gets in the engine thread: the engine and the job's own channels."""

    engine: Engine
    cancel: threading.Event  # set from the GUI thread by Cancel / Stop
    progress: Callable[[object], None]  # to the job's ``progress`` signal
    token: Callable[[str], None]  # to the job's ``token`` signal (answers only)
    notice: Callable[[str], None]  # a non-fatal remark for the status bar
    refresh_documents: Callable[[], None]  # send a fresh LibrarySnapshot now (mid-ingest)


class Job(QObject, Generic[T]):
    """One request to the engine thread; its signals reach only the handlers its page connected.

    ``fn(context)`` runs in the engine thread and returns a ``T``. The signals are
    emitted in the GUI thread by :class:`EngineClient`, in the order the engine
    thread sent them (``done``/``failed`` last, after the busy state is updated):
        started(): the engine thread began it (it may wait behind other jobs first).
        progress(object): a ``ProgressEvent`` while adding, an :class:`AskStage` while asking…
        token(str): a piece of the answer being written (answers only).
        done(object): the result, a ``T`` (connect through :meth:`EngineClient.start`, typed).
        failed(str): a message a clinician can act on; its first line says what went wrong.
    """

    started = Signal()
    progress = Signal(object)
    token = Signal(str)
    done = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        task: str,
        fn: Callable[[JobContext], T],
        *,
        cancel: threading.Event | None = None,
        writes_library: bool = False,
    ):
        super().__init__()
        self.task = task
        self.fn = fn
        self.cancel_event = cancel if cancel is not None else threading.Event()
        self.writes_library = writes_library  # the table gets a snapshot before the outcome

    def cancel(self) -> None:
        """Ask the job to stop at its next check (between files, embedding groups, tokens)."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


# ---------------------------------------------------------------- the jobs pages start
def warm_up_job() -> Job[None]:
    """Load the embedder, the LLM and (for a library holding Chinese) the dictionary now, so the
    first question does not wait for them."""

    def load(ctx: JobContext) -> None:
        from kidneytalk.retrieval import bridge

        _ = ctx.engine.library.embedder
        ctx.engine.llm(on_warning=ctx.notice)
        bridge.warm(ctx.engine.library)
        # what adding a document or showing a cited page needs, kept out of the app's start
        import langchain_text_splitters  # noqa: F401
        import pymupdf  # noqa: F401

    return Job(WARM_UP, load)


def _snapshot(engine: Engine) -> LibrarySnapshot:
    lib = engine.library
    docs = lib.documents()
    return LibrarySnapshot(
        docs, {d.id: h for d in docs if (h := lib.reindex_hint(d))}, lib.read_only
    )


def documents_job() -> Job[LibrarySnapshot]:
    """Read the catalog; the snapshot also goes to every ``documents_changed`` listener."""

    def read(ctx: JobContext) -> LibrarySnapshot:
        ctx.refresh_documents()
        return _snapshot(ctx.engine)

    return Job(DOCUMENTS, read)


def _ingest_progress(ctx: JobContext) -> Callable[[ProgressEvent], None]:
    """Forward ingest progress; refresh the table when a file starts embedding or finishes.

    A row appears as "indexing" when a file starts embedding and turns
    "ready"/"failed" when it is done: the table is refreshed at those steps only.
    """
    last: list[tuple[int, str]] = [(0, "")]

    def forward(event: ProgressEvent) -> None:
        ctx.progress(event)
        key = (event.file_index, event.stage)
        if key != last[0] and event.stage in ("embed", "done", "error"):
            last[0] = key
            ctx.refresh_documents()

    return forward


def add_job(paths: Sequence[str]) -> Job[list[AddResult]]:
    """Add files and folders; Cancel stops after the current embedding group (unfinished files are not kept)."""
    files = [str(p) for p in paths]

    def add(ctx: JobContext) -> list[AddResult]:
        return ctx.engine.add(
            files, progress=_ingest_progress(ctx), cancel=ctx.cancel, on_wait=ctx.notice
        )

    return Job(ADD, add, writes_library=True)


def reindex_job(doc_ids: Sequence[str]) -> Job[list[AddResult]]:
    """Re-run the pipeline on the library's copies (e.g. OCR for "needs OCR" documents); shown like adding."""
    ids = list(doc_ids)

    def reindex(ctx: JobContext) -> list[AddResult]:
        return ctx.engine.reindex(ids, progress=_ingest_progress(ctx), cancel=ctx.cancel)

    return Job(ADD, reindex, writes_library=True)


def set_enabled_job(doc_id: str, enabled: bool) -> Job[Document]:
    return Job(
        SET_ENABLED,
        lambda ctx: ctx.engine.library.set_enabled(doc_id, enabled),
        writes_library=True,
    )


def remove_job(doc_ids: Sequence[str]) -> Job[list[Document]]:
    ids = list(doc_ids)
    return Job(REMOVE, lambda ctx: [ctx.engine.library.remove(d) for d in ids], writes_library=True)


def ask_job(request: AskRequest) -> Job[AskResult]:
    """Answer a question; Stop ends the answer at the next token (the result says ``stopped``)."""
    return Job(ASK, lambda ctx: _answer(ctx, request))


def _answer(ctx: JobContext, request: AskRequest) -> AskResult:
    question, cid, stop, engine = request.question, request.conversation_id, ctx.cancel, ctx.engine
    if stop.is_set():  # stopped while queued behind another job
        return AskResult(question, "", stopped=True, conversation_id=cid)
    if not question.strip():
        raise KidneyTalkError("Please type a question.")
    ctx.progress(AskStage("loading_model", stage_text("loading_model")))
    engine.llm(on_warning=ctx.notice)
    ctx.progress(AskStage("searching", stage_text("searching")))
    answer = engine.ask(
        question,
        history=list(request.history),
        mode=request.mode or None,
        style=request.style or None,
        cancel=stop,
        progress=lambda ev: ctx.progress(
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
    ctx.progress(AskStage("answering", stage_text("answering")))
    stopped = False
    thinking = False
    for kind, piece in answer.events():
        if kind == "reasoning":  # a reasoning model's thought: not streamed as the answer
            if not thinking and not stop.is_set():
                ctx.progress(AskStage("thinking", stage_text("thinking")))
            thinking = True
            continue
        if thinking:
            ctx.progress(AskStage("answering", stage_text("answering")))
            thinking = False
        if stop.is_set():
            # The stream ends at the next piece; let it end on its own so the
            # Answer is complete and llama.cpp's generator is closed properly.
            answer.cancel.set()
            stopped = True
            continue
        ctx.token(piece)
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


class EngineWorker(QObject):
    """Runs every job; lives in :attr:`EngineClient.worker_thread`.

    What a job reports goes to the client first (``job_*`` signals, one queue, so in
    order), which re-emits it on the job in the GUI thread. Signals about shared state:
        documents_changed(object): a fresh :class:`LibrarySnapshot` (also mid-ingest).
        settings_changed(object): the engine's :class:`Settings` after a job changed them.
        notice(str): a non-fatal remark for the status bar (lock wait, model warning).
    """

    documents_changed = Signal(object)
    settings_changed = Signal(object)
    notice = Signal(str)
    job_started = Signal(object)  # job
    job_progress = Signal(object, object)  # job, event
    job_token = Signal(object, str)  # job, piece
    job_ended = Signal(object, object, object)  # job, result, error message (str) or None

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine
        self._settings_sent = engine.settings  # read before the thread starts

    @Slot(object)
    def run(self, job: Job[Any]) -> None:
        task = job.task
        self.job_started.emit(job)
        ctx = JobContext(
            engine=self.engine,
            cancel=job.cancel_event,
            progress=lambda event: self.job_progress.emit(job, event),
            token=lambda piece: self.job_token.emit(job, piece),
            notice=self.notice.emit,
            refresh_documents=self._emit_snapshot,
        )
        error: str | None = None
        result: object = None
        try:
            result = job.fn(ctx)
        except KidneyTalkError as exc:
            log.warning("%s failed: %s", task, exc)
            error = str(exc) or f"Could not finish {_DOING.get(task, task)}."
        except Exception as exc:  # a bug: keep the app alive, keep the traceback in the log
            log.exception("unexpected error while %s", _DOING.get(task, task))
            error = (
                f"Unexpected error while {_DOING.get(task, task)}: {type(exc).__name__}: {exc}\n\n"
                f"The details are in the log file:\n{self.engine.log_path}"
            )
        if job.writes_library:
            self._emit_snapshot()  # before the outcome: a finished job finds the table up to date
        if self.engine.settings is not self._settings_sent:  # frozen: a change is a new object
            self._settings_sent = self.engine.settings
            self.settings_changed.emit(self._settings_sent)
        self.job_ended.emit(job, result, error)

    def _emit_snapshot(self) -> None:
        try:
            self.documents_changed.emit(_snapshot(self.engine))
        except Exception:  # the table keeps its last state; the error is in the log
            log.exception("could not read the library catalog")


class EngineClient(QObject):
    """The GUI-thread face of the worker: starting jobs, cancel/stop, busy state, settings.

    ``activity_changed`` fires whenever a job is queued, starts or ends; views
    read :meth:`pending` to enable or disable controls. ``job_started(Job)`` is
    emitted (synchronously, before the job is queued) for every job, so the window
    can react to work it did not start (an import started from the Welcome page).
    """

    started = Signal(str)  # the engine thread began a job of this task
    job_started = Signal(object)
    documents_changed = Signal(object)
    settings_changed = Signal(object)
    notice = Signal(str)
    activity_changed = Signal()

    _req_run = Signal(object)  # to the worker thread, queued

    def __init__(self, engine: Engine, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine  # for paths and log_path only; never call it from the GUI thread
        self.settings: Settings = engine.settings  # snapshot, kept current by settings_changed
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("kidneytalk-engine")
        self.worker = EngineWorker(engine)
        self.worker.moveToThread(self.worker_thread)
        self.worker_thread.finished.connect(self.worker.deleteLater)
        self._req_run.connect(self.worker.run)
        self.worker.job_started.connect(self._on_started)
        self.worker.job_progress.connect(self._on_progress)
        self.worker.job_token.connect(self._on_token)
        self.worker.job_ended.connect(self._on_ended)
        self.worker.documents_changed.connect(self.documents_changed)
        self.worker.notice.connect(self.notice)
        self.worker.settings_changed.connect(self._on_settings)

        self._pending: Counter[str] = Counter()
        self._jobs: list[Job[Any]] = []  # queued or running, oldest first
        self._running = ""
        self._conversations: ConversationStore | None = None
        self._closed = False
        self.worker_thread.start()

    # ------------------------------------------------------------ state
    def pending(self, task: str | None = None) -> int:
        """Jobs of ``task`` (or of any task) queued or running."""
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

    def _on_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.settings_changed.emit(settings)

    # ------------------------------------------------------------ jobs
    def start(
        self,
        job: Job[T],
        *,
        done: Callable[[T], object] | None = None,
        failed: Callable[[str], object] | None = None,
        progress: Callable[[Any], object] | None = None,
        token: Callable[[str], object] | None = None,
    ) -> Job[T]:
        """Connect the caller's handlers to ``job``, then queue it on the engine thread.

        The handlers are connected before the job can run, so none of its signals is missed.
        """
        if self._closed:
            raise RuntimeError("the engine worker has been shut down")
        for signal, slot in (
            (job.done, done),
            (job.failed, failed),
            (job.progress, progress),
            (job.token, token),
        ):
            if slot is not None:
                signal.connect(slot)
        self._jobs.append(job)
        self._pending[job.task] += 1
        self.job_started.emit(job)
        self.activity_changed.emit()
        self._req_run.emit(job)
        return job

    # From the engine thread, queued: the job's signals are emitted here, in the GUI thread.
    def _on_started(self, job: Job[Any]) -> None:
        self._running = job.task
        job.started.emit()
        self.started.emit(job.task)
        self.activity_changed.emit()

    def _on_progress(self, job: Job[Any], event: object) -> None:
        job.progress.emit(event)

    def _on_token(self, job: Job[Any], piece: str) -> None:
        job.token.emit(piece)

    def _on_ended(self, job: Job[Any], result: object, error: str | None) -> None:
        self._pending[job.task] -= 1
        if self._pending[job.task] <= 0:
            del self._pending[job.task]
        self._running = ""
        self._jobs.remove(job)
        self.activity_changed.emit()  # before the outcome: its handler finds the busy state current
        if error is not None:
            job.failed.emit(error)
        else:
            job.done.emit(result)
        job.deleteLater()  # drops its connections (and the handlers they hold)

    def _cancel(self, task: str) -> None:
        for job in self._jobs:
            if job.task == task:
                job.cancel()

    def cancel_add(self) -> None:
        """Stop adding after the current embedding group; unfinished files are not kept."""
        self._cancel(ADD)

    def stop_answer(self) -> None:
        """Stop generating at the next token (a prompt being read cannot be interrupted)."""
        self._cancel(ASK)

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
