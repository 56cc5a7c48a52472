"""Reasoning ("thinking") models: keep their thought apart from their answer.

Models such as the DeepSeek-R1 distills and Qwen3 write their reasoning first,
between think tags (``<think>…</think>``), then the answer. The reasoning is
not evidence-backed text: it must never reach citation checks,
extractiveness, the conversation history sent back to the model, exports or
the evaluation's answer extraction. It is kept, separately, for the user who
asks to see it.

The contract with every LLM backend (in-process GGUF, model server): a
backend's stream yields the model's raw text with think blocks *explicit*.
When the prompt itself opened the block (DeepSeek-R1 templates end the
generation prompt with ``<think>\\n``), the backend yields the opening tag
first, so a consumer needs nothing but the text. :class:`ReasoningSplitter`
separates a stream as it arrives; :func:`split_reasoning` does the same for a
finished text and is the final word (it also catches a closing tag whose
opening the backend did not announce).

:func:`detect` reads a chat template for declared think tags, whether the
generation prompt already opens the block, and whether the template has a
switch to turn thinking off (Qwen3's ``enable_thinking``); one-token decisions
use :func:`closed_thought` to start the reply after an empty think block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["reasoning", "answer"]


@dataclass(frozen=True)
class ThinkTags:
    open: str
    close: str


THINK = ThinkTags("<think>", "</think>")
KNOWN_TAGS: tuple[ThinkTags, ...] = (
    THINK,
    ThinkTags("<thinking>", "</thinking>"),
    ThinkTags("<reasoning>", "</reasoning>"),
    ThinkTags("◁think▷", "◁/think▷"),
)
"""Think tags recognised in any model's output, declared or not."""


@dataclass(frozen=True)
class ReasoningInfo:
    """What a chat template says about thinking."""

    tags: ThinkTags | None = (
        None  # declared in the template; None: not a (declared) reasoning model
    )
    opens_in_prompt: bool = False  # the generation prompt ends inside an opened think block
    switch: str = (
        ""  # template variable that turns thinking off (e.g. "enable_thinking"), "" if none
    )

    @property
    def declared(self) -> bool:
        return self.tags is not None


def detect(template: str | None, generation_prompt: str = "") -> ReasoningInfo:
    """Think tags declared in ``template``; ``generation_prompt`` is the template rendered for one question."""
    if not template:
        return ReasoningInfo()
    tags = next((t for t in KNOWN_TAGS if t.open in template and t.close in template), None)
    if (
        tags is None
    ):  # e.g. a template that only opens the block, or only strips it from the history
        tags = next((t for t in KNOWN_TAGS if t.open in template or t.close in template), None)
    if tags is None:
        return ReasoningInfo()
    switch = "enable_thinking" if "enable_thinking" in template else ""
    return ReasoningInfo(tags, generation_prompt.rstrip().endswith(tags.open), switch)


def closed_thought(info: ReasoningInfo, prompt: str) -> str:
    """``prompt`` continued with an empty think block, so the reply's first token is the answer's.

    The same text Qwen3's template writes for ``enable_thinking=False``
    (``<think>\\n\\n</think>\\n\\n``); a prompt already closed that way is returned as is.
    """
    tags = info.tags
    if tags is None or prompt.rstrip().endswith(tags.close):
        return prompt
    if info.opens_in_prompt or prompt.rstrip().endswith(tags.open):
        return prompt.rstrip() + "\n\n" + tags.close + "\n\n"
    return prompt + tags.open + "\n\n" + tags.close + "\n\n"


def _partial_suffix(text: str, tags: Iterable[str]) -> int:
    """Length of the longest end of ``text`` that could be the start of one of ``tags``."""
    best = 0
    for tag in tags:
        for n in range(min(len(tag) - 1, len(text)), best, -1):
            if tag.startswith(text[-n:]):
                best = n
                break
    return best


class ReasoningSplitter:
    """Separates a stream of text pieces into reasoning and answer, as they arrive.

    ``feed`` returns ``(kind, text)`` parts ready to show. Leading whitespace
    is held until it is known whether a think block opens; a tag split across
    pieces is held until it is complete. Only a block at the start of the
    reply is reasoning (a model that writes ``<think>`` mid-answer is quoting).
    """

    def __init__(self, tags: Iterable[ThinkTags] = KNOWN_TAGS):
        self.tags = tuple(tags)
        self._state = "start"  # start | opened | thinking | after | answer
        self._tag: ThinkTags | None = None
        self._buf = ""

    def feed(self, piece: str) -> list[tuple[Kind, str]]:
        self._buf += piece
        out: list[tuple[Kind, str]] = []
        while self._buf:
            if self._state == "start":
                lead = self._buf.lstrip()
                tag = next((t for t in self.tags if lead.startswith(t.open)), None)
                if tag is not None:
                    self._tag, self._state = tag, "opened"
                    self._buf = lead[len(tag.open) :]
                    continue
                if not lead or any(t.open.startswith(lead) for t in self.tags):
                    break  # still could be an opening tag
                self._state = "answer"
                continue
            if self._state == "thinking":
                assert self._tag is not None
                at = self._buf.find(self._tag.close)
                if at >= 0:
                    if at:
                        out.append(("reasoning", self._buf[:at]))
                    self._buf = self._buf[at + len(self._tag.close) :]
                    self._state = "after"
                    continue
                keep = _partial_suffix(self._buf, [self._tag.close])
                if len(self._buf) > keep:
                    out.append(("reasoning", self._buf[: len(self._buf) - keep]))
                    self._buf = self._buf[len(self._buf) - keep :]
                break
            if self._state in ("opened", "after"):  # whitespace right after a tag is dropped
                self._buf = self._buf.lstrip()
                if self._buf:
                    self._state = "thinking" if self._state == "opened" else "answer"
                continue
            out.append(("answer", self._buf))
            self._buf = ""
        return out

    def close(self) -> list[tuple[Kind, str]]:
        """Whatever is still held back, once the stream has ended."""
        rest, self._buf = self._buf, ""
        if not rest:
            return []
        if self._state == "thinking":
            return [("reasoning", rest)]
        return [] if self._state in ("opened", "after") or not rest.strip() else [("answer", rest)]

    @property
    def thinking(self) -> bool:
        """True while inside the think block."""
        return self._state in ("opened", "thinking")


DEFAULT_THINKING_TOKENS = 1024
"""Tokens a reasoning model may think before its thought is cut (``llm.max_thinking_tokens``)."""
CUT_MARK = "[thought cut:"


def cut_note(budget: int) -> str:
    """The line that ends a thought cut at its budget (shown with the reasoning, never in the answer)."""
    return f"{CUT_MARK} it reached its budget of {budget} tokens (setting llm.max_thinking_tokens)]"


def thought_was_cut(reasoning: str) -> bool:
    """True when ``reasoning`` ends with :func:`cut_note` (the model was stopped mid-thought)."""
    return CUT_MARK in reasoning[-200:]


class ThinkingBudget:
    """Counts a streamed reply's tokens in its thought and in its answer separately.

    A backend feeds every generated token's text to :meth:`count`; when
    :attr:`thought_over` is true it stops, closes the thought with
    :meth:`closing` and goes on to write the answer with the answer's own
    budget (:attr:`answer_over`). Thinking therefore never eats the answer's tokens.
    """

    def __init__(self, thinking: int, answer: int, *, opened: ThinkTags | None = None):
        self.thinking, self.answer = max(0, thinking), max(1, answer)
        self.thought_tokens = self.answer_tokens = 0
        self.cut = False
        self._splitter = ReasoningSplitter()
        if opened is not None:
            self._splitter.feed(opened.open)

    @property
    def in_thought(self) -> bool:
        return self._splitter.thinking

    @property
    def tags(self) -> ThinkTags | None:
        return self._splitter._tag

    def count(self, piece: str) -> None:
        """Count one generated token's text in the thought or in the answer."""
        before = self._splitter.thinking
        parts = self._splitter.feed(piece)
        if before or self._splitter.thinking or any(k == "reasoning" for k, _ in parts):
            self.thought_tokens += 1
        else:
            self.answer_tokens += 1

    @property
    def thought_over(self) -> bool:
        return self._splitter.thinking and self.thought_tokens >= self.thinking

    @property
    def answer_over(self) -> bool:
        return self.answer_tokens >= self.answer

    def closing(self) -> tuple[str, str]:
        """``(shown, fed)``: the text that ends the cut thought for the reader, and for the model.

        The reader sees :func:`cut_note` inside the thought; the model is only
        given the closing tag, then writes its answer.
        """
        tags = self.tags or THINK
        self.cut = True
        shown = "\n" + cut_note(self.thinking) + "\n" + tags.close + "\n\n"
        return shown, "\n" + tags.close + "\n\n"


def stream_within_budget(
    pieces: Iterator[str],
    budget: ThinkingBudget,
    resume: Callable[[str], Iterator[str]] | None,
    cancel: threading.Event | None = None,
) -> Iterator[str]:
    """``pieces`` (one token each) with the thought and the answer each held to its own budget.

    When the thought reaches its budget, generation stops, the thought is
    closed (:meth:`ThinkingBudget.closing`) and ``resume`` is called with the
    text generated so far plus the closing tag, to write the answer; without
    ``resume`` the reply ends there.
    """
    generated: list[str] = []
    try:
        for piece in pieces:
            budget.count(piece)
            generated.append(piece)
            yield piece
            if budget.thought_over or budget.answer_over:
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    if not budget.thought_over or (cancel is not None and cancel.is_set()):
        return
    shown, fed = budget.closing()
    yield shown
    if resume is not None:
        for piece in resume("".join(generated).rstrip() + fed):
            budget.answer_tokens += 1
            yield piece


def split_stream(
    pieces: Iterable[str], tags: Iterable[ThinkTags] = KNOWN_TAGS
) -> Iterator[tuple[Kind, str]]:
    """``(kind, text)`` for each part of a raw stream, as soon as it is known."""
    splitter = ReasoningSplitter(tags)
    for piece in pieces:
        yield from splitter.feed(piece)
    yield from splitter.close()


def split_reasoning(text: str, tags: Iterable[ThinkTags] = KNOWN_TAGS) -> tuple[str, str]:
    """``(reasoning, answer)`` of a finished reply; both stripped.

    A leading think block is reasoning (unterminated: all of it, the model ran
    out of tokens while thinking). A closing tag with no opening one means the
    prompt opened the block: everything before it is reasoning.
    """
    tags = tuple(tags)
    lead = text.lstrip()
    for t in tags:
        if lead.startswith(t.open):
            body = lead[len(t.open) :]
            reasoning, sep, answer = body.partition(t.close)
            return reasoning.strip(), answer.strip() if sep else ""
    for t in tags:
        at = text.find(t.close)
        if at >= 0 and t.open not in text[:at]:
            return text[:at].strip(), text[at + len(t.close) :].strip()
    return "", text.strip()


def strip_reasoning(text: str, tags: Iterable[ThinkTags] = KNOWN_TAGS) -> str:
    """The answer of a finished reply, without its reasoning."""
    return split_reasoning(text, tags)[1]


def opening_tag(text: str, tags: Iterable[ThinkTags] = KNOWN_TAGS) -> ThinkTags | None:
    """The think tags whose opening ``text`` (a first generated token) begins, if any."""
    lead = text.strip()
    if not lead:
        return None
    return next((t for t in tags if t.open.startswith(lead) or lead.startswith(t.open)), None)


__all__ = [
    "KNOWN_TAGS",
    "CUT_MARK",
    "DEFAULT_THINKING_TOKENS",
    "THINK",
    "ReasoningInfo",
    "ReasoningSplitter",
    "ThinkTags",
    "ThinkingBudget",
    "closed_thought",
    "cut_note",
    "detect",
    "opening_tag",
    "split_reasoning",
    "split_stream",
    "stream_within_budget",
    "strip_reasoning",
    "thought_was_cut",
]
