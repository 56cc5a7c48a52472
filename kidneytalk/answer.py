"""Grounded answers: evidence -> prompt within the context budget -> streamed text.

An :class:`Answer` is lazy, like a ``Response`` in simonw/llm: iterate it to
stream tokens, or call :meth:`Answer.text` to wait for the whole answer. After
generation, ``[n]`` markers are resolved to citations (document + pages).
When no evidence exists the answer is the refusal sentence, and the model is
not called at all. A reasoning model's think block is split off as it streams
(:mod:`kidneytalk.reasoning`): it is kept in :attr:`Answer.reasoning`, never in
the text that citations, checks, history and exports read.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kidneytalk.citations import MARKER
from kidneytalk.errors import Cancelled
from kidneytalk.reasoning import Kind, ReasoningSplitter, split_reasoning
from kidneytalk.records import Citation, Hit
from kidneytalk.safety import has_instructions, looks_like_instruction, neutralise

MAX_QUESTION_TOKENS = 512


def format_context(hits: Sequence[Hit]) -> str:
    """Numbered passages; role tags, the passages' own ``[n]`` and text addressed to the AI are neutralised."""
    return "\n\n".join(
        f"[{i}] ({h.doc_name} {h.pages_label})\n{neutralise(h.text)}"
        for i, h in enumerate(hits, start=1)
    )


def resolve_citations(text: str, evidence: Sequence[Hit]) -> list[Citation]:
    """Citations for every valid ``[n]`` in ``text``, in order of first use."""
    out: list[Citation] = []
    seen: set[int] = set()
    for match in MARKER.finditer(text):
        for part in re.split(r"\s*[,，、]\s*", match.group(1)):
            n = int(part)
            if 1 <= n <= len(evidence) and n not in seen:
                seen.add(n)
                out.append(Citation.of(n, evidence[n - 1]))
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

    return MARKER.sub(sub, text)


def is_refusal(text: str, refusal: str) -> bool:
    """The one rule: a reply is a refusal when the refusal sentence opens it.

    Case and spacing are ignored and a short lead-in ("Answer: ", "Sorry.") is allowed: the
    sentence's first 40 characters must appear within the reply's first 120.
    """
    if not refusal.strip() or not text.strip():
        return False

    def norm(s: str) -> str:
        return " ".join(s.split()).lower()

    return norm(refusal)[:40] in norm(text)[:120]


@dataclass(frozen=True)
class Evidence:
    """What retrieval found for one question: the input of writing (:meth:`Engine.write`).

    ``passages`` are what the writer may use (empty: the answer is the refusal
    sentence); ``retrieved`` is everything the search returned, for display.
    """

    question: str
    passages: tuple[Hit, ...] = ()
    retrieved: tuple[Hit, ...] = ()
    mode: str = "naive"
    query: str = ""  # what was searched (AddRep's refined question); "" = the question
    refusal: str = ""  # the refusal sentence in the question's language
    language: str = "en"
    gate: Any = None  # the relevance gate's decision (kidneytalk.retrieval.gate.GateDecision)
    note: str = ""  # KidneyTalk's sentence on parts of the question the library does not cover
    trace: Any = None  # kidneytalk.trace.Trace of the retrieval steps
    timings: Mapping[str, float] = field(default_factory=dict)
    stopped: bool = False  # retrieval was cancelled: nothing is written, and it is not a refusal


@dataclass
class Answer:
    """A streamed answer with its evidence, verified citations, extractiveness and trace.

    Iterate it for text pieces as they are produced, or call :meth:`text`.
    Everything derived from the text (citations, sentence checks,
    extractiveness) is computed once the answer is complete.
    """

    question: str
    evidence: list[Hit]
    retrieved: list[Hit]
    model: str
    mode: str = "naive"
    style: str = "off"
    query: str = ""
    refusal: str = ""
    refused: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    trace: Any = None
    unsupported_below: float = 0.5
    gate: Any = None  # the relevance gate's decision (kidneytalk.retrieval.gate.GateDecision)
    note: str = (
        ""  # KidneyTalk's own closing sentence (parts of the question not covered); not checked
    )
    _tokens: Iterator[str] | None = None  # the model's raw text, think block included
    _chunks: list[str] = field(default_factory=list)
    _done: bool = False
    _checks: list[Any] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    reasoning: str = ""  # a reasoning model's thought (complete once the answer is)

    @classmethod
    def from_evidence(
        cls,
        evidence: Evidence,
        tokens: Iterable[str],
        *,
        model: str,
        style: str = "off",
        used: Sequence[Hit] | None = None,
        refused: bool = False,
        unsupported_below: float = 0.5,
        cancel: threading.Event | None = None,
        timings: Mapping[str, float] | None = None,
    ) -> Answer:
        """The answer that streams ``tokens``, written from ``used`` (default: all the evidence's passages)."""
        return cls(
            question=evidence.question,
            evidence=list(evidence.passages if used is None else used),
            retrieved=list(evidence.retrieved),
            model=model,
            mode=evidence.mode,
            style=style,
            query=evidence.query,
            refusal=evidence.refusal,
            refused=refused,
            timings={**evidence.timings, **(timings or {})},
            trace=evidence.trace,
            unsupported_below=unsupported_below,
            gate=evidence.gate,
            note=evidence.note,
            _tokens=iter(tokens),
            cancel=cancel or threading.Event(),
        )

    def __iter__(self) -> Iterator[str]:
        """The answer's text pieces as they are generated (the reasoning is not among them)."""
        for kind, piece in self.events():
            if kind == "answer":
                yield piece

    def events(self) -> Iterator[tuple[Kind, str]]:
        """``("reasoning" | "answer", piece)`` as generated: what a view shows while the model thinks."""
        if self._done:
            if self.reasoning:
                yield "reasoning", self.reasoning
            yield from (("answer", c) for c in self._chunks)
            return
        start = time.monotonic()
        first = None
        assert self._tokens is not None
        raw: list[str] = []
        thought: list[str] = []
        splitter = ReasoningSplitter()
        try:
            try:
                for piece in self._tokens:
                    raw.append(piece)
                    for kind, part in splitter.feed(piece):
                        if kind == "answer":
                            if first is None:
                                first = time.monotonic() - start
                            self._chunks.append(part)
                        else:
                            thought.append(part)
                        yield kind, part
            except Cancelled:  # Stop ended a model server's request: the answer ends here
                if not self.cancel.is_set():
                    raise
            for kind, part in splitter.close():
                (self._chunks if kind == "answer" else thought).append(part)
                yield kind, part
        finally:
            self._done = True
            self.timings["write"] = round(time.monotonic() - start, 3)
            if first is not None:
                self.timings["first_token"] = round(first, 3)
            reasoning, answer = split_reasoning("".join(raw))
            if (
                thought or reasoning
            ):  # the finished text is the final word (a closing tag with no opening one)
                self.reasoning = reasoning or "".join(thought).strip()
                if answer != "".join(self._chunks).strip():
                    self._chunks[:] = [answer] if answer else []
                self.timings["reasoning_chars"] = len(self.reasoning)
            text = "".join(self._chunks).strip()
            if is_refusal(text, self.refusal):
                self.refused = True

    @property
    def done(self) -> bool:
        return self._done

    @property
    def stopped(self) -> bool:
        return self.cancel.is_set()

    def text(self) -> str:
        for _ in self:
            pass
        return "".join(self._chunks).strip()

    def body(self) -> str:
        """The answer without KidneyTalk's note on uncovered parts (what citations and copying are checked on)."""
        text = self.text()
        if self.note and text.endswith(self.note):
            text = text[: -len(self.note)].rstrip()
        return text

    @property
    def citations(self) -> list[Citation]:
        """Citations the answer uses (written by the model or inferred by verification)."""
        text = self.text()
        out = resolve_citations(text, self.evidence)
        have = {c.n for c in out}
        for check in self.checks:
            for n in check.inferred:
                if n not in have:
                    have.add(n)
                    out.append(Citation.of(n, self.evidence[n - 1]))
        return out

    @property
    def checks(self) -> list[Any]:
        """Per-sentence citation verification (see ``kidneytalk.citations``)."""
        if self._checks is None:
            from kidneytalk.citations import verify

            text = self.body()
            self._checks = (
                []
                if self.refused
                else verify(text, self.evidence, threshold=self.unsupported_below)
            )
            for check in self._checks:  # text addressed to the AI is never presented as sourced
                if looks_like_instruction(check.text):
                    check.supported, check.inferred = False, []
        return self._checks

    @property
    def unsupported(self) -> list[str]:
        return [c.text for c in self.checks if not c.supported]

    def extractiveness(self) -> Any:
        from kidneytalk.extractive import extractiveness

        return extractiveness(MARKER.sub(" ", self.body()), [h.text for h in self.evidence])

    def display_text(self) -> str:
        """The answer with ``[n]`` replaced by ``[document p.N]``."""
        return with_source_labels(self.text(), self.evidence)

    def to_json(self) -> dict[str, object]:
        text = self.text()
        return {
            "question": self.question,
            "query": self.query or self.question,
            "mode": self.mode,
            "style": self.style,
            "answer": text,
            "answer_with_sources": self.display_text(),
            "refused": self.refused,
            "stopped": self.stopped,
            "model": self.model,
            "citations": [c.to_json() for c in self.citations],
            "sentences": [c.to_json() for c in self.checks],
            "unsupported": self.unsupported,
            "extractiveness": None if self.refused else self.extractiveness().to_json(),
            "chunks": [
                dict(h.to_json(), n=i, instructions=has_instructions(h.text))
                for i, h in enumerate(self.evidence, start=1)
            ],
            "timings": self.timings,
            "trace": self.trace.to_json() if self.trace is not None else [],
            "gate": self.gate.to_json() if self.gate is not None else None,
            "reasoning": self.reasoning,
        }
