"""The one object every interface uses: built once from settings, hands out the parts.

The CLI, the desktop app and the evaluation harness all call :class:`Engine`;
none of them builds models or stores on their own. Heavy parts (embedder,
LLM, vector store) load lazily on first use and are closed by :meth:`close`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kidneytalk.answer import MAX_QUESTION_TOKENS, Answer
from kidneytalk.config import Paths, Settings
from kidneytalk.conversations import ConversationStore
from kidneytalk.copypaste import Writer, check_style
from kidneytalk.embed import Embedder
from kidneytalk.errors import Cancelled, KidneyTalkError
from kidneytalk.library import AddResult, Library, ProgressCallback
from kidneytalk.llm import LocalLLM
from kidneytalk.llm_base import LLM
from kidneytalk.logs import setup_logging
from kidneytalk.models import ModelRegistry, fit
from kidneytalk.prompts import PromptBook  # type: ignore[attr-defined]
from kidneytalk.records import Hit
from kidneytalk.retrieval import addrep, hybrid, naive
from kidneytalk.retrieval.gate import Calibration, Gate, GateDecision
from kidneytalk.retrieval.trace import StageCallback, Trace
from kidneytalk.vocabulary import MODES

log = logging.getLogger(__name__)



class Engine:
    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
    ):
        self.paths = Paths.resolve(home).ensure()
        self.log_path = setup_logging(self.paths)
        self.settings_notices: list[str] = []  # e.g. a broken settings.json was repaired: tell the user
        self.settings = settings or Settings.load(self.paths, self.settings_notices)
        self.library = Library(self.paths, self.settings, embedder=embedder)
        self.models = ModelRegistry(self.paths)
        self._llm = llm
        self._llm_name = llm.name if llm else ""
        self._llm_lock = threading.Lock()
        self._conversations: ConversationStore | None = None
        self._gate: Gate | None = None

    @property
    def gate(self) -> Gate:
        """The relevance gate of this library (calibration read from the config folder or the package)."""
        if self._gate is None:
            self._gate = Gate(self.library, config_dir=self.paths.config)
        return self._gate

    def check_gate(self, question: str, trace: Trace | None = None) -> GateDecision:
        """Does the library answer ``question``? Recorded as the trace's ``gate`` step."""
        trace = trace or Trace()
        trace.event("gate", 1, 1, "checking the library covers the question")
        with trace.step("gate", question=question) as step:
            decision = self.gate.decide(question)
            step.outputs.update(decision.to_json())
        if decision.warning:
            log.warning(decision.warning)
        return decision

    def calibrate(self, *, n: int = 60, seed: int = 0) -> tuple[Path, Calibration]:
        """Fit the relevance gate on this library and save it in the config folder (file, calibration)."""
        from kidneytalk.retrieval import gate as gate_module

        calibration = gate_module.calibrate(self.gate, n=n, seed=seed)
        target = self.paths.config / gate_module.CALIBRATION_FILE
        calibration.save(target)
        self.gate.reload()
        return target, calibration

    @property
    def conversations(self) -> ConversationStore:
        if self._conversations is None:
            self._conversations = ConversationStore(self.paths.conversations)
        return self._conversations

    # ------------------------------------------------------------ models
    @property
    def llm_loaded(self) -> bool:
        """True when a language model is in memory (the next ``ask`` will not load one)."""
        return self._llm is not None

    @property
    def llm_name(self) -> str:
        """Registry name of the language model in memory ("" when none is loaded)."""
        return self._llm_name if self._llm is not None else ""

    def llm(self, name: str | None = None, *, on_warning: Callable[[str], None] | None = None) -> LLM:
        """The loaded LLM, (re)loading when another model is asked for."""
        wanted = name or self.settings.llm.model or self.models.default_name()
        with self._llm_lock:
            if self._llm is not None and (not name or self._llm_name == wanted):
                return self._llm
            entry = self.models.get(wanted)
            if entry.is_server:
                from kidneytalk.llm_server import READ_TIMEOUT, ServerLLM

                server = ServerLLM(entry.url, name=entry.name, model_id=entry.model_id, n_ctx=entry.n_ctx,
                                   api_key_file=entry.api_key_file or None, read_timeout=entry.timeout or READ_TIMEOUT,
                                   max_ctx=0 if entry.n_ctx else self.settings.llm.n_ctx)
                if self._llm is not None:
                    self._llm.close()
                self._llm, self._llm_name = server, entry.name
                return server
            info = entry.info()
            check = fit(info, self.settings.llm.n_ctx)
            if not check.ok:
                msg = check.warning(entry.name)
                log.warning(msg)
                if on_warning:
                    on_warning(msg)
            if self._llm is not None:
                self._llm.close()
            self._llm = LocalLLM(
                entry.path, n_ctx=self.settings.llm.n_ctx, n_threads=self.settings.llm.n_threads, name=entry.name
            )
            self._llm_name = entry.name
            return self._llm

    def unload_llm(self) -> None:
        """Close the loaded language model; the next question loads the one the settings name."""
        with self._llm_lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
                self._llm_name = ""

    def update_settings(self, settings: Settings) -> None:
        """Use ``settings`` from now on (the caller saves them); the desktop app's pages call this.

        The language model is unloaded when the model it should be, its context
        length or its threads changed, so the next question loads it anew. The
        embedding model is kept until restart (documents need re-indexing anyway).
        """
        old = self.settings.llm
        self.settings = settings
        self.library.settings = settings
        new = settings.llm
        wanted = new.model or self.models.default_name()
        if (new.n_ctx, new.n_threads) != (old.n_ctx, old.n_threads) or (
            self._llm is not None and self._llm_name != wanted
        ):
            self.unload_llm()

    def filter_agent(self) -> Callable[[str], bool]:
        """LLM judge for the ingestion filter: does a passage contain medical knowledge?"""
        llm = self.llm()
        book = self.prompt_book()

        def judge(passage: str) -> bool:
            text = llm.truncate(passage, 400)
            reply = llm.choose([{"role": "user", "content": book.render("filter", passage=text)}], ["yes", "no"])
            return reply == "yes"

        return judge

    # ------------------------------------------------------------ library
    def add(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        filter_agent: bool | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> list[AddResult]:
        use_agent = self.settings.filter_agent if filter_agent is None else filter_agent
        judge = self.filter_agent() if use_agent else None
        return self.library.add(paths, filter_agent=judge, progress=progress, cancel=cancel, on_wait=on_wait)

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        return naive.search(self.library, query, k or self.settings.top_k)

    # ------------------------------------------------------------ answers
    def prompt_book(self, text: str = "") -> PromptBook:
        """Templates in the language of ``text`` (Chinese questions get Chinese prompts)."""
        return PromptBook(prompt_language(text, self.settings.language), self.paths.prompts)

    def refusal_text(self, text: str = "") -> str:
        return self.prompt_book(text).get("refusal").strip()

    def ask(
        self,
        question: str,
        *,
        history: Sequence[dict[str, str]] = (),
        mode: str | None = None,
        style: str | None = None,
        model: str | None = None,
        k: int | None = None,
        progress: StageCallback | None = None,
        cancel: threading.Event | None = None,
        gate_question: str | None = None,
    ) -> Answer:
        """Retrieve (``naive``, ``hybrid`` or ``addrep``) and write (``off`` or a copy-paste style).

        Retrieval runs now, reporting ``progress``; the returned :class:`Answer`
        produces its text when iterated. With no relevant evidence the answer
        is the refusal sentence and no text is generated: the relevance gate
        (:mod:`kidneytalk.retrieval.gate`) decides that for every mode, on
        ``gate_question`` when given (an exam question without its options).
        """
        rs = self.settings.retrieval
        mode = mode or rs.mode
        style = check_style(style or rs.style)
        if mode not in MODES:
            raise KidneyTalkError(f"Unknown retrieval mode '{mode}' (choose one of: {', '.join(MODES)}).")
        question = question.strip()
        if not question:
            raise KidneyTalkError("Please type a question.")
        cancel = cancel or threading.Event()
        trace = Trace(on_event=progress)
        t0 = time.monotonic()
        trace.event("load", 0, 0, "loading the language model")
        llm = self.llm(model)
        embedder = self.library.embedder
        t1 = time.monotonic()
        if llm.count_tokens(question) > MAX_QUESTION_TOKENS:
            question = llm.truncate(question, MAX_QUESTION_TOKENS)
        book = self.prompt_book(question)
        refusal = book.get("refusal").strip()
        k = k or self.settings.top_k
        # The gate runs first (an off-library question costs no AddRep round); a follow-up is gated
        # after AddRep has refined it from the conversation, since alone it may name no topic.
        gated = rs.gate
        if not gated:
            trace.skip("gate", "switched off")
        # In naive and hybrid a follow-up ("what did the ultrasound show?") is gated with the question
        # it follows, since alone it may name no topic.
        previous = [m["content"] for m in history if m.get("role") == "user"][-1:]
        gate_text = gate_question or " ".join([*previous, question])
        decision = None if (history and mode == "addrep") or not gated else self.check_gate(gate_text, trace)
        if decision is not None and not decision.answerable:
            query, evidence, retrieved = question, [], []
        elif mode == "addrep":
            try:
                query, evidence = addrep.run(self.library, llm, book, rs, question, history=history, trace=trace,
                                             cancel=cancel)
            except Cancelled:  # stopped while retrieving: an empty, stopped answer (not a refusal)
                query, evidence = question, []
            retrieved = evidence
        else:
            query = question
            search = hybrid.search if mode == "hybrid" else naive.search
            trace.event("search", 1, 1)
            with trace.step("search", query=question, k=k) as step:
                retrieved = search(self.library, question, k)
                step.outputs["hits"] = [(h.chunk_id, round(h.score, 3)) for h in retrieved]
            evidence = [h for h in retrieved if h.score >= rs.min_similarity][: rs.max_evidence]
        if decision is None and gated:
            decision = self.check_gate(query, trace)
            if not decision.answerable:
                evidence = []
        t2 = time.monotonic()
        answer = Answer(
            question=question, evidence=evidence, retrieved=retrieved, model=llm.name, mode=mode, style=style,
            query=query, refusal=refusal, trace=trace, unsupported_below=rs.unsupported_below, cancel=cancel,
            timings={"load_model": round(t1 - t0, 3), "retrieve": round(t2 - t1, 3)},
            gate=decision, note=uncovered_note(decision.uncovered if decision else [], book.language),
        )
        if not evidence or cancel.is_set():
            answer.refused = not cancel.is_set()
            answer._tokens = iter([refusal] if answer.refused else [])
            return answer
        trace.event("write", 0, 0, style)
        writer = Writer(
            llm, book, max_tokens=self.settings.llm.max_answer_tokens, temperature=self.settings.llm.temperature,
            refusal=refusal, trace=trace, cancel=cancel, refine_rounds=rs.refine_rounds, refine_target=rs.refine_target,
            rank=lambda queries, texts: (embedder.embed(queries) @ embedder.embed(texts).T).tolist(),
        )
        if style == "off":
            used, tokens = writer.off(question, evidence)
        elif style == "cp-refine":
            used, tokens = writer.cp_refine(question, evidence)
        else:
            used, tokens = writer.cp_order(question, evidence, link=style == "cp-link")
        answer.evidence = used
        answer._tokens = with_note(tokens, answer.note)
        return answer

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
        if self._conversations is not None:
            self._conversations.close()
            self._conversations = None
        self.library.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


UNCOVERED = {"en": "The library does not cover this part of the question: {parts}.",
             "zh": "资料库没有涵盖问题的这一部分：{parts}。"}


def uncovered_note(parts: Sequence[str], language: str = "en") -> str:
    """The sentence that names the parts of a question the library does not cover ("" for none)."""
    if not parts:
        return ""
    quoted = "; ".join(f"“{p.strip().rstrip('?？')}”" for p in parts)
    return UNCOVERED.get(language, UNCOVERED["en"]).format(parts=quoted)


def with_note(tokens: Iterator[str], note: str) -> Iterator[str]:
    """The answer's pieces, then the uncovered-part note as its own paragraph."""
    wrote = False
    for piece in tokens:
        wrote = wrote or bool(piece.strip())
        yield piece
    if note and wrote:
        yield "\n\n" + note


def prompt_language(text: str, default: str = "en") -> str:
    """'zh' when a real share of ``text`` is Chinese, else ``default``."""
    if not text:
        return default
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk >= max(2, len(text.strip()) // 5) else default


def sample_document() -> Path:
    """The small sample document shipped for the terminal demo."""
    return Path(__file__).parent / "sample" / "ckd-primer.md"
