"""What the rest of KidneyTalk needs from a language model, whichever backend runs it.

Two backends satisfy :class:`LLM`: :class:`kidneytalk.llm.LocalLLM` (a GGUF in
this process) and :class:`kidneytalk.llm_server.ServerLLM` (an OpenAI-compatible
model server the user configured). Retrieval, answer writing and the evaluation
annotate this protocol, never a backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

Message = dict[str, str]
THIS_COMPUTER = "this computer"


class LLM(Protocol):
    name: str
    n_ctx: int
    max_thinking_tokens: int  # a reasoning model's thought, counted apart from the answer's tokens

    def count_tokens(self, text: str) -> int: ...

    def count_messages(self, messages: Sequence[Message]) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...

    def format_prompt(self, messages: Sequence[Message], *, thinking: bool = False) -> str: ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.1,
        cancel: threading.Event | None = None,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
        repeat_penalty: float = 1.15,
    ) -> Iterator[str]: ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.1,
        cancel: threading.Event | None = None,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
        repeat_penalty: float = 1.15,
    ) -> str: ...

    def continue_prompt(
        self,
        prompt: str,
        *,
        max_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        grammar: str | None = None,
        temperature: float = 0.0,
    ) -> str: ...

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> str: ...

    def yes_probability(self, messages: Sequence[Message], *, answer_prefix: str = "") -> float: ...

    def label_probabilities(
        self, messages: Sequence[Message], labels: Sequence[str], *, answer_prefix: str = ""
    ) -> dict[str, float]: ...

    def close(self) -> None: ...


def location(llm: object) -> str:
    """Where ``llm`` runs: "this computer" or the model server's host:port."""
    return str(getattr(llm, "where", THIS_COMPUTER))
