"""The one object every interface uses: built once from settings, hands out the parts.

The CLI, the desktop app and the evaluation harness all call :class:`Engine`;
none of them builds models or stores on their own. Heavy parts (embedder,
LLM, vector store) load lazily on first use and are closed by :meth:`close`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kidneytalk.answer import MAX_QUESTION_TOKENS, Answer, Evidence
from kidneytalk.config import Paths, RetrievalSettings, Settings
from kidneytalk.conversations import ConversationStore
from kidneytalk.copypaste import Writer, check_style, word_share
from kidneytalk.embed import Embedder
from kidneytalk.errors import Cancelled, KidneyTalkError, SettingsError
from kidneytalk.ingest import AddResult, ProgressCallback
from kidneytalk.library import Library
from kidneytalk.llm import LocalLLM, resolve_gpu_layers
from kidneytalk.llm_base import LLM
from kidneytalk.logs import setup_logging
from kidneytalk.models import ModelEntry, ModelRegistry, fit
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit
from kidneytalk.retrieval import addrep, assemble, bridge, hybrid, naive, refine, sources
from kidneytalk.retrieval.bridge import comparable
from kidneytalk.retrieval.gate import Calibration, Gate, GateDecision
from kidneytalk.retrieval.hybrid import UNREADABLE
from kidneytalk.trace import StageCallback, Trace
from kidneytalk.vocabulary import MODES

log = logging.getLogger(__name__)
FOLLOW_UP_CONTEXT = 2  # a follow-up in naive and hybrid is read with this many questions before it
Weighed = tuple[bridge.Bridge, dict[str, float]] | None  # a question's bridge and word weights


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
        self.settings_notices: list[
            str
        ] = []  # e.g. a broken settings.json was repaired: tell the user
        self.settings = settings or Settings.load(self.paths, self.settings_notices)
        self.library = Library(self.paths, self.settings, embedder=embedder)
        self.settings_notices.extend(self.library.notices)  # e.g. a read-only library
        self.models = ModelRegistry(self.paths)
        self._llm = llm
        self._llm_name = llm.name if llm else ""
        self._owns_llm = llm is None  # a model passed in is borrowed: the caller closes it
        self._llm_lock = threading.Lock()
        self._weights_for: tuple[object, Weighed] | None = None  # the last question's (_weighed)
        self._conversations: ConversationStore | None = None
        self._gate: Gate | None = None

    @property
    def gate(self) -> Gate:
        """The relevance gate of this library (calibration read from the config folder or the package)."""
        if self._gate is None:
            self._gate = Gate(self.library, config_dir=self.paths.config)
        return self._gate

    def check_gate(
        self, question: str, trace: Trace | None = None, *, previous: str = ""
    ) -> GateDecision:
        """Does the library answer ``question`` (a follow-up of ``previous`` when given)? Recorded
        as the trace's ``gate`` step."""
        trace = trace or Trace()
        trace.event("gate", 1, 1, "checking the library covers the question")
        with trace.step("gate", question=question) as step:
            decision = (
                self.gate.decide_follow_up(question, previous)
                if previous
                else self.gate.decide(question)
            )
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

    @property
    def model_name(self) -> str:
        """The model questions use: ``llm.model`` when it names a known model, else the registry's default.

        A ``llm.model`` naming a model that is gone (removed, or its file deleted while the app was
        closed) falls back to the default instead of failing every question.
        """
        chosen = self.settings.llm.model
        if chosen and chosen in {e.name for e in self.models.entries()}:
            return chosen
        if chosen:
            log.warning("setting llm.model names unknown model %r; using the default model", chosen)
        return self.models.default_name()

    def set_default_model(self, name: str) -> ModelEntry:
        """Make ``name`` the model questions use (clearing an ``llm.model`` that would hide it)."""
        entry = self.models.set_default(name)
        if self.settings.llm.model and self.settings.llm.model != entry.name:
            self.save_settings(
                self.settings.replace(llm=dataclasses.replace(self.settings.llm, model=""))
            )
        else:
            self.update_settings(self.settings)  # unloads the old model if it was loaded
        return entry

    def remove_model(self, name: str) -> None:
        """Forget an added model (the file stays); a setting naming it is cleared."""
        self.models.remove(name)
        if self.settings.llm.model == name:
            self.save_settings(
                self.settings.replace(llm=dataclasses.replace(self.settings.llm, model=""))
            )
        else:
            self.update_settings(self.settings)

    def save_settings(self, settings: Settings) -> Settings:
        """Check, save and use ``settings``.

        Refused: a model name the registry does not know, and a new embedding model
        folder that is not a sentence-transformers model (an unchanged one is kept
        even while its drive is away).
        """
        model = settings.llm.model
        if model and model not in {e.name for e in self.models.entries()}:
            known = ", ".join(e.name for e in self.models.entries()) or "none"
            raise SettingsError(f"llm.model must name a known model ({known}), not '{model}'")
        folder = settings.embedding_model
        if folder and folder != self.settings.embedding_model and not is_model_folder(folder):
            raise SettingsError(
                f"embedding_model must be a sentence-transformers model folder (with modules.json), "
                f"not '{folder}' (\"\" is the bundled MiniLM)"
            )
        settings.save(self.paths)
        self.update_settings(settings)
        return settings

    def llm(
        self, name: str | None = None, *, on_warning: Callable[[str], None] | None = None
    ) -> LLM:
        """The loaded LLM, (re)loading when another model is asked for."""
        with self._llm_lock:
            if self._llm is not None and (not name or self._llm_name == name):
                _stop_on(self._llm, None)  # no earlier answer's Stop applies any more
                return self._llm  # every question after the first: no registry read
            entry = self.models.get(name or self.model_name)
            if entry.is_server:
                from kidneytalk.llm_server import READ_TIMEOUT, ServerLLM

                server = ServerLLM(
                    entry.url,
                    name=entry.name,
                    model_id=entry.model_id,
                    n_ctx=entry.n_ctx,
                    api_key_file=entry.api_key_file or None,
                    read_timeout=entry.timeout or READ_TIMEOUT,
                    max_ctx=0 if entry.n_ctx else self.settings.llm.n_ctx,
                )
                self._drop_llm()
                self._llm, self._llm_name, self._owns_llm = server, entry.name, True
                return server
            info = entry.info()
            check = fit(info, self.settings.llm.n_ctx)
            if not check.ok:
                msg = check.warning(entry.name)
                log.warning(msg)
                if on_warning:
                    on_warning(msg)
            self._drop_llm()
            self._llm = LocalLLM(
                entry.path,
                n_ctx=self.settings.llm.n_ctx,
                n_threads=self.settings.llm.n_threads,
                name=entry.name,
                n_gpu_layers=resolve_gpu_layers(self.settings.llm.n_gpu_layers),
            )
            self._llm_name, self._owns_llm = entry.name, True
            return self._llm

    def lend_llm(self, llm: LLM) -> None:
        """Answer with ``llm`` from now on; its owner keeps it (the engine never closes it)."""
        with self._llm_lock:
            self._drop_llm()
            self._llm, self._llm_name, self._owns_llm = llm, llm.name, False

    def _drop_llm(self) -> None:
        """Let go of the current model, closing it only when this engine loaded it."""
        if self._llm is not None and self._owns_llm:
            self._llm.close()
        self._llm, self._llm_name = None, ""

    def unload_llm(self) -> None:
        """Let go of the language model (closed unless it was lent to the engine); the next
        question loads the one the settings name."""
        with self._llm_lock:
            self._drop_llm()

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
        wanted = self.model_name
        if (new.n_ctx, new.n_threads, new.n_gpu_layers) != (
            old.n_ctx,
            old.n_threads,
            old.n_gpu_layers,
        ) or (self._llm is not None and self._llm_name != wanted):
            self.unload_llm()

    def filter_agent(self) -> Callable[[str], bool]:
        """LLM judge for the ingestion filter: does a passage contain medical knowledge?"""
        llm = self.llm()
        book = self.prompt_book()

        def judge(passage: str) -> bool:
            text = llm.truncate(passage, 400)
            reply = llm.choose(
                [{"role": "user", "content": book.render("filter", passage=text)}], ["yes", "no"]
            )
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
        self.library.check_writable("adding documents")  # before a filter model is loaded
        use_agent = self.settings.filter_agent if filter_agent is None else filter_agent
        judge = self.filter_agent() if use_agent else None
        return self.library.add(
            paths, filter_agent=judge, progress=progress, cancel=cancel, on_wait=on_wait
        )

    def reindex(
        self,
        refs: Sequence[str] | None = None,
        *,
        needs_ocr: bool = False,
        filter_agent: bool | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[AddResult]:
        """Re-run the pipeline on the library's copies of ``refs`` (all when None).

        ``needs_ocr`` keeps only documents with pages waiting for OCR; the ingestion filter
        agent is used as for :meth:`add`.
        """
        self.library.check_writable("re-indexing documents")
        if needs_ocr:
            wanted = {self.library.resolve(r).id for r in refs} if refs else None
            refs = [
                d.id
                for d in self.library.documents()
                if d.needs_ocr and (wanted is None or d.id in wanted)
            ]
            if not refs:
                return []
        use_agent = self.settings.filter_agent if filter_agent is None else filter_agent
        judge = self.filter_agent() if use_agent else None
        return self.library.reindex(refs, filter_agent=judge, progress=progress, cancel=cancel)

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        return assemble.diverse(
            lambda depth: naive.search(self.library, query, depth), k or self.settings.top_k
        )

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
        retrieval: RetrievalSettings | None = None,
        progress: StageCallback | None = None,
        cancel: threading.Event | None = None,
        gate_question: str | None = None,
    ) -> Answer:
        """:meth:`retrieve` then :meth:`write`: the answer streams its text when iterated.

        The language model is loaded only when it is needed (AddRep, or writing): a question the
        library does not cover is refused without waiting for a model to load.
        """
        cancel = cancel or threading.Event()
        evidence = self.retrieve(
            question,
            history=history,
            mode=mode,
            model=model,
            k=k,
            retrieval=retrieval,
            progress=progress,
            cancel=cancel,
            gate_question=gate_question,
        )
        return self.write(evidence, style=style, model=model, retrieval=retrieval, cancel=cancel)

    def retrieve(
        self,
        question: str,
        *,
        history: Sequence[dict[str, str]] = (),
        mode: str | None = None,
        model: str | None = None,
        k: int | None = None,
        retrieval: RetrievalSettings | None = None,
        progress: StageCallback | None = None,
        cancel: threading.Event | None = None,
        gate_question: str | None = None,
    ) -> Evidence:
        """Find the passages that answer ``question`` (``naive``, ``hybrid`` or ``addrep``).

        The relevance gate (:mod:`kidneytalk.retrieval.gate`) decides for every mode, on
        ``gate_question`` when given (an exam question without its options), whether the
        library covers the question; when it does not, the evidence has no passages and
        :meth:`write` gives the refusal. ``retrieval`` overrides the settings' retrieval
        section for this call only (the engine's settings are not touched). The language
        model is loaded here only for AddRep, after the gate let the question through.
        """
        rs = retrieval or self.settings.retrieval
        mode = mode or rs.mode
        if mode not in MODES:
            raise KidneyTalkError(
                f"Unknown retrieval mode '{mode}' (choose one of: {', '.join(MODES)})."
            )
        question = question.strip()
        if not question:
            raise KidneyTalkError("Please type a question.")
        cancel = cancel or threading.Event()
        trace = Trace(on_event=progress)
        timings: dict[str, float] = {}
        t1 = time.monotonic()
        book = self.prompt_book(question)
        k = k or self.settings.top_k
        # The gate runs first (an off-library question costs no AddRep round); a follow-up is gated
        # after AddRep has refined it from the conversation, since alone it may name no topic.
        gated = rs.gate
        if not gated:
            trace.skip("gate", "switched off")
        # In naive and hybrid a follow-up ("what did the ultrasound show?") is gated, and then
        # searched, with the question it follows when alone it names no topic the library covers.
        # The two questions before it: a follow-up of a follow-up keeps the conversation's topic.
        asked = [m["content"].strip() for m in history if m.get("role") == "user"]
        previous = "" if gate_question else " ".join(asked[-FOLLOW_UP_CONTEXT:])
        decision = (
            None
            if (history and mode == "addrep") or not gated
            else self.check_gate(gate_question or question, trace, previous=previous)
        )
        refused = decision is not None and not decision.answerable
        llm = None
        if mode == "addrep" and not refused:  # a refused question never waits for a model
            t0 = time.monotonic()
            trace.event("load", 0, 0, "loading the language model")
            llm = self.llm(model)
            timings["load_model"] = round(time.monotonic() - t0, 3)
            check_question_length(llm, question)
        stopped = False
        if refused:
            query, passages, retrieved = question, list[Hit](), list[Hit]()
        elif mode == "addrep":
            assert llm is not None
            _stop_on(llm, cancel)  # a stalled model server's request ends at Stop
            try:
                query, passages = addrep.run(
                    self.library,
                    llm,
                    book,
                    rs,
                    question,
                    history=history,
                    trace=trace,
                    cancel=cancel,
                )
            except Cancelled:  # stopped while retrieving: an empty, stopped answer (not a refusal)
                query, passages, stopped = question, [], True
            retrieved = passages
        else:
            # a follow-up covered only with the questions before it is searched with them too;
            # without the gate, a short one borrows the question before it
            if decision is not None and decision.context:
                query = f"{decision.context} {question}"
            else:
                query = refine.fallback_query(question, history) if not gated else question
            search = hybrid.search if mode == "hybrid" else naive.search
            trace.event("search", 1, 1)
            with trace.step("search", query=query, k=k) as step:
                retrieved = assemble.diverse(lambda depth: search(self.library, query, depth), k)
                step.outputs["hits"] = [(h.chunk_id, round(h.score, 3)) for h in retrieved]
                if mode == "hybrid":  # the documents the question names, ranked up by name
                    labels = self._labels()
                    named = sources.named_documents(question, labels)
                    if named:
                        step.outputs["named_documents"] = [labels[d][0] for d in named]
            # The cosine floor compares only passages in the question's language: the bundled
            # embedder reads one language, and a passage hybrid found through the bridge scores
            # near 0. It stays when it holds some of the question's words (translated).
            across = (
                self._found_across(question, retrieved, rs.min_similarity)
                if mode == "hybrid"
                else set()
            )
            passages = [
                h for h in retrieved if h.score >= rs.min_similarity or h.chunk_id in across
            ][: rs.max_evidence]
        if decision is None and gated and not stopped:
            decision = self.check_gate(query, trace)
            if not decision.answerable:
                passages = []
        timings["retrieve"] = round(time.monotonic() - t1 - timings.get("load_model", 0.0), 3)
        return Evidence(
            question=question,
            passages=tuple(passages),
            retrieved=tuple(retrieved),
            mode=mode,
            query=query,
            refusal=book.get("refusal").strip(),
            language=book.language,
            gate=decision,
            note=uncovered_note(decision.uncovered if decision else [], book.language),
            trace=trace,
            timings=timings,
            stopped=stopped or cancel.is_set(),
        )

    def write(
        self,
        evidence: Evidence,
        *,
        style: str | None = None,
        model: str | None = None,
        retrieval: RetrievalSettings | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        """The answer written from ``evidence`` in ``style`` (``off`` or a copy-paste style).

        With no passages the answer is the refusal sentence and the model is not called;
        otherwise the returned :class:`Answer` generates its text when iterated.
        """
        rs = retrieval or self.settings.retrieval
        style = check_style(style or rs.style)
        cancel = cancel or threading.Event()
        trace = evidence.trace if evidence.trace is not None else Trace()
        evidence = dataclasses.replace(evidence, trace=trace)
        if not evidence.passages or evidence.stopped or cancel.is_set():
            refused = not (evidence.stopped or cancel.is_set())
            name = model or (self.llm_name if self.llm_loaded else self.model_name)
            return Answer.from_evidence(
                evidence,
                [evidence.refusal] if refused else [],
                model=name,
                style=style,
                refused=refused,
                unsupported_below=rs.unsupported_below,
                cancel=cancel,
            )
        t0 = time.monotonic()
        if "load_model" not in evidence.timings:
            trace.event("load", 0, 0, "loading the language model")
        llm = self.llm(model)
        load = (
            {}
            if "load_model" in evidence.timings
            else {"load_model": round(time.monotonic() - t0, 3)}
        )
        llm.max_thinking_tokens = self.settings.llm.max_thinking_tokens  # a thought's own budget
        question = evidence.question
        check_question_length(llm, question)
        book = PromptBook(evidence.language, self.paths.prompts)
        embedder = self.library.embedder
        _stop_on(llm, cancel)  # a stalled model server's request ends at Stop
        trace.event("write", 0, 0, style)
        labels = self._labels()
        # A question the embedder cannot read (Chinese for the bundled MiniLM) is compared with the
        # evidence sentences by its words, as hybrid search ranks it.
        by_words = embedder.unknown_share(question) >= UNREADABLE
        writer = Writer(
            llm,
            book,
            max_tokens=self.settings.llm.max_answer_tokens,
            temperature=self.settings.llm.temperature,
            refusal=evidence.refusal,
            trace=trace,
            cancel=cancel,
            refine_rounds=rs.refine_rounds,
            refine_target=rs.refine_target,
            rank=word_share
            if by_words
            else lambda queries, texts: (
                embedder.embed(queries) @ embedder.embed(texts).T
            ).tolist(),
            # sentences are ranked by what the question asks, not by the words naming a document
            topic=functools.lru_cache(maxsize=8)(
                lambda q: sources.without_names(q, labels, self._passage_texts)
            ),
            across=functools.partial(self._shares_across_languages, by_words=by_words),
        )
        passages = list(evidence.passages)
        if style == "off":
            used, tokens = writer.off(question, passages)
        elif style == "cp-refine":
            used, tokens = writer.cp_refine(question, passages)
        else:
            used, tokens = writer.cp_order(question, passages, link=style == "cp-link")
        return Answer.from_evidence(
            evidence,
            with_note(tokens, evidence.note),
            model=llm.name,
            style=style,
            used=used,
            unsupported_below=rs.unsupported_below,
            cancel=cancel,
            timings=load,
        )

    def _shares_across_languages(
        self, question: str, texts: list[str], *, by_words: bool = False
    ) -> list[float] | None:
        """Word shares of the question in each text, translated where a text is in the other
        language (:meth:`~kidneytalk.retrieval.bridge.Bridge.share`); None when every text is
        in the question's language, where the embedder's cosine is the better measure. With
        ``by_words`` (a question the embedder cannot read), the texts in its own language are
        measured by :func:`~kidneytalk.copypaste.word_share`, as when all the evidence is in it."""
        if all(comparable(question, t) for t in texts):
            return None
        found = self._weighed(question)
        if found is None:
            return None
        crossing, weights = found
        shares = [crossing.share([t], weights) for t in texts]
        if by_words:
            same = [i for i, t in enumerate(texts) if comparable(question, t)]
            for i, value in zip(
                same, word_share([question], [texts[i] for i in same])[0], strict=True
            ):
                shares[i] = value
        return shares

    def _weighed(self, question: str) -> Weighed:
        """:func:`bridge.weighed` for ``question`` in the current library, kept for the next call
        (an answer asks several times; the weights are idf counts over the whole library)."""
        with self.library.reading():
            ids = self.library.searchable_doc_ids()
            key = (question, len(ids), hash(tuple(ids)))
            if self._weights_for is None or self._weights_for[0] != key:
                self._weights_for = (key, bridge.weighed(self.library, question, ids))
            return self._weights_for[1]

    def _found_across(self, question: str, hits: Sequence[Hit], floor: float) -> set[str]:
        """Hits under the cosine floor that are in the other language and hold some of the
        question's words through the dictionary: the embedder's cosine says nothing about them."""
        other = [h for h in hits if h.score < floor and not comparable(question, h.text)]
        shares = self._shares_across_languages(question, [h.text for h in other]) if other else None
        return {h.chunk_id for h, share in zip(other, shares or [], strict=False) if share > 0}

    def _labels(self) -> dict[str, tuple[str, str]]:
        """(file name, title) of each searchable document: what a question may name it by."""
        with self.library.reading():
            return self.library.document_labels(self.library.searchable_doc_ids())

    def _passage_texts(self, doc_id: str) -> list[str]:
        with self.library.reading():
            return self.library.passage_texts([doc_id], sample=sources.TOPIC_SAMPLE)

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close what the engine opened; a model passed to it stays open for its owner."""
        with self._llm_lock:
            self._drop_llm()
        if self._conversations is not None:
            self._conversations.close()
            self._conversations = None
        self.library.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_on(llm: LLM, cancel: threading.Event | None) -> None:
    """Make a model server's requests end at ``cancel`` (the answer's Stop), or at nothing.

    In process, generation checks Stop between tokens; a request to a server that
    stalls would otherwise hold it until the reply timeout (see ``ServerLLM.stop_on``).
    """
    stop_on = getattr(llm, "stop_on", None)
    if stop_on is not None:
        stop_on(cancel)


def is_model_folder(folder: str) -> bool:
    """A sentence-transformers model folder (modules.json), or a transformer's (config.json)."""
    return any((Path(folder) / f).is_file() for f in ("modules.json", "config.json"))


def check_question_length(llm: LLM, question: str) -> None:
    """A question longer than the model can take is refused with one line, never cut silently."""
    limit = min(MAX_QUESTION_TOKENS, llm.n_ctx // 4)
    used = llm.count_tokens(question)
    if used > limit:
        raise KidneyTalkError(
            f"The question is too long ({used} tokens; model {llm.name} takes at most {limit}): "
            "please shorten it to the point you want answered."
        )


UNCOVERED = {
    "en": "The library does not cover this part of the question: {parts}.",
    "zh": "资料库没有涵盖问题的这一部分：{parts}。",
}


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
