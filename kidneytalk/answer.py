"""Grounded answers: evidence -> prompt within the context budget -> streamed text.

An :class:`Answer` is lazy, like a ``Response`` in simonw/llm: iterate it to
stream tokens, or call :meth:`Answer.text` to wait for the whole answer. After
generation, ``[n]`` markers are resolved to citations (document + pages).
When no evidence exists the answer is the refusal sentence, and the model is
not called at all.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from kidneytalk import prompts  # type: ignore[attr-defined]  # package-dir mapped
from kidneytalk.records import Citation, Hit

_MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]")
MAX_QUESTION_TOKENS = 512


@dataclass
class PromptParts:
    system: str
    user: str
    evidence: list[Hit]  # the hits that made it into the prompt, numbered 1..n


def format_context(hits: Sequence[Hit]) -> str:
    return "\n\n".join(f"[{i}] ({h.doc_name} {h.pages_label})\n{h.text}" for i, h in enumerate(hits, start=1))


def build_prompt(
    question: str,
    hits: Sequence[Hit],
    *,
    count_messages: Callable[[list[dict[str, str]]], int],
    n_ctx: int,
    answer_tokens: int,
    language: str = "en",
    overrides=None,  # noqa: ANN001
) -> PromptParts:
    """Fill the templates with as many of ``hits`` (best first) as fit the context."""
    refusal = prompts.load("refusal", language=language, overrides=overrides).strip()
    system = prompts.render(prompts.load("answer_system", language=language, overrides=overrides), refusal=refusal)
    user_t = prompts.load("answer_user", language=language, overrides=overrides)
    budget = n_ctx - answer_tokens
    kept = list(hits)
    while True:
        user = prompts.render(user_t, context=format_context(kept), question=question)
        used = count_messages([{"role": "system", "content": system}, {"role": "user", "content": user}])
        if used <= budget or not kept:
            return PromptParts(system, user, kept)
        kept.pop()  # drop the weakest passage until it fits


def resolve_citations(text: str, evidence: Sequence[Hit]) -> list[Citation]:
    """Citations for every valid ``[n]`` in ``text``, in order of first use."""
    out: list[Citation] = []
    seen: set[int] = set()
    for match in _MARKER.finditer(text):
        for part in re.split(r"\s*[,，、]\s*", match.group(1)):
            n = int(part)
            if 1 <= n <= len(evidence) and n not in seen:
                seen.add(n)
                hit = evidence[n - 1]
                out.append(Citation(n, hit.doc_id, hit.doc_name, list(range(hit.page_start, hit.page_end + 1)), hit.chunk_id))
    return out


def with_source_labels(text: str, evidence: Sequence[Hit]) -> str:
    """Rewrite ``[n]`` markers as ``[doc p.N]`` for plain-text display."""

    def sub(match: re.Match[str]) -> str:
        labels = []
        for part in re.split(r"\s*[,，、]\s*", match.group(1)):
            n = int(part)
            if 1 <= n <= len(evidence):
                h = evidence[n - 1]
                labels.append(f"{h.doc_name} {h.pages_label}")
        return "[" + "; ".join(labels) + "]" if labels else ""

    return _MARKER.sub(sub, text)


@dataclass
class Answer:
    """A streamed answer with its evidence and citations."""

    question: str
    evidence: list[Hit]
    retrieved: list[Hit]
    model: str
    refused: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    _tokens: Iterator[str] | None = None
    _chunks: list[str] = field(default_factory=list)
    _done: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[str]:
        if self._done:
            yield from self._chunks
            return
        start = time.monotonic()
        first = None
        assert self._tokens is not None
        for piece in self._tokens:
            if first is None:
                first = time.monotonic() - start
            self._chunks.append(piece)
            yield piece
        self._done = True
        self.timings["generate"] = round(time.monotonic() - start, 3)
        if first is not None:
            self.timings["first_token"] = round(first, 3)

    def text(self) -> str:
        for _ in self:
            pass
        return "".join(self._chunks).strip()

    @property
    def citations(self) -> list[Citation]:
        return resolve_citations(self.text(), self.evidence)

    def display_text(self) -> str:
        """The answer with ``[n]`` replaced by ``[document p.N]``."""
        return with_source_labels(self.text(), self.evidence)

    def to_json(self) -> dict[str, object]:
        text = self.text()
        return {
            "question": self.question,
            "answer": text,
            "answer_with_sources": self.display_text(),
            "refused": self.refused,
            "model": self.model,
            "citations": [c.to_json() for c in self.citations],
            "chunks": [dict(h.to_json(), n=i) for i, h in enumerate(self.evidence, start=1)],
            "timings": self.timings,
        }
