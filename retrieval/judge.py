"""AddRep stage 4 — relevance judgement by the LLM, cheaply.

Each candidate costs one forward pass, not a free-text generation: the
probability of "yes" vs "no" as the reply's first token (``LLM.
yes_probability``). The question comes before the passage in the prompt, so
llama.cpp reuses the KV cache for everything up to the passage.

Small models are biased towards one answer whatever the passage, so the
probability is calibrated against a content-free passage (Zhao et al., 2021,
"Calibrate Before Use"): P(yes|passage)/P(yes|none) against
P(no|passage)/P(no|none). Even calibrated, the bundled 135M model separates
relevant from other passages barely better than chance (pairwise AUC 0.54,
bench/results/query.json), so AddRep lets it remove a first-search hit only
when it is sure (see ``addrep.run``). A short reason is generated separately
(:meth:`Judge.reason`), only for passages that reach the evidence.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from kidneytalk.errors import Cancelled
from kidneytalk.llm_base import LLM
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit
from kidneytalk.trace import Trace

NULL_PASSAGE = "(no passage)"
MAX_PASSAGE_TOKENS = 320
REASON_TOKENS = 32


@dataclass(frozen=True)
class Judgement:
    hit: Hit
    p_yes: float
    relevance: float  # calibrated
    relevant: bool
    reason: str = ""


def _messages(prompts: PromptBook, question: str, passage: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": prompts.get("judge_system").strip()},
        {"role": "user", "content": prompts.render("judge", question=question, passage=passage)},
    ]


def calibrate(p: float, p_null: float) -> float:
    p_null = min(max(p_null, 1e-4), 1 - 1e-4)
    yes, no = p / p_null, (1 - p) / (1 - p_null)
    return yes / (yes + no) if yes + no > 0 else 0.5


class Judge:
    """Scores passages against one question, one forward pass each, calibrated once per question."""

    def __init__(self, llm: LLM, prompts: PromptBook, question: str):
        self.llm, self.prompts, self.question = llm, prompts, question
        self._p_null: float | None = None

    def _passage_messages(self, hit: Hit) -> list[dict[str, str]]:
        return _messages(
            self.prompts, self.question, self.llm.truncate(hit.text, MAX_PASSAGE_TOKENS)
        )

    def score(self, hit: Hit) -> tuple[float, float]:
        """(raw P(yes), calibrated relevance) of ``hit`` for the question."""
        if self._p_null is None:
            self._p_null = self.llm.yes_probability(
                _messages(self.prompts, self.question, NULL_PASSAGE)
            )
        p = self.llm.yes_probability(self._passage_messages(hit))
        return p, calibrate(p, self._p_null)

    def reason(self, hit: Hit, relevant: bool) -> str:
        """One short generated sentence, begun with the verdict ("Yes, because …")."""
        yes_word, no_word, because = (
            ("是", "否", "，因为") if self.prompts.language == "zh" else ("Yes", "No", ", because")
        )
        lead = yes_word if relevant else no_word
        prompt = self.llm.format_prompt(self._passage_messages(hit)) + lead + because
        text = self.llm.continue_prompt(prompt, max_tokens=REASON_TOKENS, stop=["\n", ".", "。"])
        return f"{lead}{because}{text.rstrip()}".strip() + (
            "。" if self.prompts.language == "zh" else "."
        )


def judge(
    llm: LLM,
    prompts: PromptBook,
    question: str,
    candidates: Sequence[Hit],
    *,
    threshold: float = 0.5,
    reasons: str = "kept",
    trace: Trace | None = None,
    cancel: threading.Event | None = None,
) -> list[Judgement]:
    """A verdict for every candidate at ``threshold`` (reasons for ``kept``, ``all`` or ``none``)."""
    j = Judge(llm, prompts, question)
    out: list[Judgement] = []
    for i, hit in enumerate(candidates, start=1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("stopped")
        if trace:
            trace.event("judge", i, len(candidates))
        p, rel = j.score(hit)
        relevant = rel >= threshold
        if reasons == "all" or (reasons == "kept" and relevant):
            reason = j.reason(hit, relevant)
        else:
            reason = "" if relevant else f"Judged not relevant (calibrated P = {rel:.2f})."
        out.append(Judgement(hit, p, rel, relevant, reason))
    return out
