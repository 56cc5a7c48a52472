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
from collections.abc import Callable, Sequence
from pathlib import Path

from kidneytalk import prompts  # type: ignore[attr-defined]  # package-dir mapped
from kidneytalk.answer import MAX_QUESTION_TOKENS, Answer, build_prompt
from kidneytalk.config import Paths, Settings
from kidneytalk.embed import Embedder
from kidneytalk.errors import KidneyTalkError
from kidneytalk.library import AddResult, Library, ProgressCallback
from kidneytalk.llm import LocalLLM
from kidneytalk.logs import setup_logging
from kidneytalk.models import ModelRegistry, fit
from kidneytalk.records import Hit
from kidneytalk.retrieval import naive

log = logging.getLogger(__name__)

# Cosine similarity below which a passage is treated as unrelated to the
# question (all-MiniLM-L6-v2 puts unrelated text around 0.0-0.15).
MIN_RELEVANCE = 0.2


class Engine:
    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        llm: LocalLLM | None = None,
    ):
        self.paths = Paths.resolve(home).ensure()
        self.log_path = setup_logging(self.paths)
        self.settings = settings or Settings.load(self.paths)
        self.library = Library(self.paths, self.settings, embedder=embedder)
        self.models = ModelRegistry(self.paths)
        self._llm = llm
        self._llm_name = llm.name if llm else ""
        self._llm_lock = threading.Lock()

    # ------------------------------------------------------------ models
    def llm(self, name: str | None = None, *, on_warning: Callable[[str], None] | None = None) -> LocalLLM:
        """The loaded LLM, (re)loading when another model is asked for."""
        wanted = name or self.settings.llm.model or self.models.default_name()
        with self._llm_lock:
            if self._llm is not None and (not name or self._llm_name == wanted):
                return self._llm
            entry = self.models.get(wanted)
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

    def filter_agent(self) -> Callable[[str], bool]:
        """LLM judge for the ingestion filter: does a passage contain medical knowledge?"""
        llm = self.llm()
        template = prompts.load("filter", language=self.settings.language, overrides=self.paths.prompts)

        def judge(passage: str) -> bool:
            text = llm.truncate(passage, 400)
            reply = llm.choose([{"role": "user", "content": prompts.render(template, passage=text)}], ["yes", "no"])
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
    def refusal_text(self) -> str:
        return prompts.load("refusal", language=self.settings.language, overrides=self.paths.prompts).strip()

    def ask(self, question: str, *, model: str | None = None, k: int | None = None) -> Answer:
        """Plain RAG: retrieve, keep passages that look related, answer with ``[n]`` citations."""
        question = question.strip()
        if not question:
            raise KidneyTalkError("Please type a question.")
        t0 = time.monotonic()
        llm = self.llm(model)
        t1 = time.monotonic()
        question = llm.truncate(question, MAX_QUESTION_TOKENS)
        retrieved = self.search(question, k)
        t2 = time.monotonic()
        evidence = [h for h in retrieved if h.score >= MIN_RELEVANCE]
        timings = {"load_model": round(t1 - t0, 3), "retrieve": round(t2 - t1, 3)}
        answer = Answer(question=question, evidence=[], retrieved=retrieved, model=llm.name, timings=timings)
        if not evidence:
            answer.refused = True
            answer._tokens = iter([self.refusal_text()])
            return answer
        parts = build_prompt(
            question, evidence, count_messages=llm.count_messages, n_ctx=llm.n_ctx,
            answer_tokens=self.settings.llm.max_answer_tokens, language=self.settings.language,
            overrides=self.paths.prompts,
        )
        answer.evidence = parts.evidence
        messages = [{"role": "system", "content": parts.system}, {"role": "user", "content": parts.user}]
        answer._tokens = llm.stream(
            messages, max_tokens=self.settings.llm.max_answer_tokens,
            temperature=self.settings.llm.temperature, cancel=answer.cancel,
        )
        return answer

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None
        self.library.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_document() -> Path:
    """The small sample document shipped for the terminal demo."""
    return Path(__file__).parent / "sample" / "ckd-primer.md"
