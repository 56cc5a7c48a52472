"""Checks shared by the tests that run a real model server (llama-server, vLLM) with a
DeepSeek-R1-shaped chat template: the thought is kept out of the answer and cut at its budget."""

from __future__ import annotations

from collections.abc import Iterator

from kidneytalk.answer import Answer
from kidneytalk.llm_server import ServerLLM
from kidneytalk.reasoning import ThinkingBudget, thought_was_cut
from tests.test_reasoning import LONG_STEER, STEER, THOUGHT


def served_answer(pieces: Iterator[str]) -> Answer:
    """An answer read from a server's stream (no evidence: only the text and thought are checked)."""
    return Answer(question="q", evidence=[], retrieved=[], model="served", _tokens=pieces)


def check_the_thought_is_kept_apart_and_budgeted(
    server: ServerLLM, msgs: list[dict[str, str]]
) -> ThinkingBudget:
    """Steered replies: a short thought stays out of the answer; a long one is cut at 16 tokens and
    the answer still gets its own; decisions start after an empty think block. The last budget."""
    q = [{"role": "user", "content": "When should metformin be stopped?"}]
    whole = served_answer(server.stream(q, max_tokens=64, temperature=0.0, grammar=STEER))
    assert whole.text().startswith("Metformin ") and whole.text().endswith("[1].")
    assert whole.reasoning.startswith(THOUGHT) and not thought_was_cut(whole.reasoning)
    assert "think>" not in whole.text()
    # A thought longer than its budget is cut there; the answer still gets its own tokens.
    server.max_thinking_tokens = 16
    cut = served_answer(server.stream(q, max_tokens=24, temperature=0.0, grammar=LONG_STEER))
    text = cut.text()  # the whole stream: the thought is known after it
    assert cut.reasoning.startswith("Reasoning first") and thought_was_cut(cut.reasoning)
    assert text and "Reasoning first" not in text and "think>" not in text
    budget = server.last_budget
    assert budget is not None and budget.cut and budget.thought_tokens == 16
    # Decisions start after an empty think block and still read log-probabilities.
    assert server.format_prompt(msgs).endswith("<｜Assistant｜><think>\n\n</think>\n\n")
    assert 0.0 < server.yes_probability(msgs) < 1.0 and server._logprobs
    return budget
