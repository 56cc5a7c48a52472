"""AddRep stage 4 — relevance judgement by the LLM, cheaply.

Each candidate costs one forward pass, not a free-text generation: the
probability of "yes" vs "no" as the reply's first token (``LocalLLM.
yes_probability``). The question comes before the passage in the prompt, so
llama.cpp reuses the KV cache for everything up to the passage.

Small models are biased towards one answer whatever the passage, so the
probability is calibrated against a content-free passage (Zhao et al., 2021,
"Calibrate Before Use"): P(yes|passage)/P(yes|none) against
P(no|passage)/P(no|none). A short reason is generated only where asked
(by default for kept passages, which are the ones shown to the user).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from kidneytalk.errors import Cancelled
from kidneytalk.llm import LocalLLM
from kidneytalk.prompts import PromptBook  # type: ignore[attr-defined]
from kidneytalk.records import Hit
from kidneytalk.retrieval.trace import Trace

NULL_PASSAGE = "(no passage)"
MAX_PASSAGE_TOKENS = 320


@dataclass
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


def judge(
    llm: LocalLLM,
    prompts: PromptBook,
    question: str,
    candidates: Sequence[Hit],
    *,
    threshold: float = 0.5,
    reasons: str = "kept",
    trace: Trace | None = None,
    cancel: threading.Event | None = None,
) -> list[Judgement]:
    p_null = llm.yes_probability(_messages(prompts, question, NULL_PASSAGE))
    out: list[Judgement] = []
    yes_word, no_word, because = ("是", "否", "，因为") if prompts.language == "zh" else ("Yes", "No", ", because")
    for i, hit in enumerate(candidates, start=1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("stopped")
        if trace:
            trace.event("judge", i, len(candidates))
        messages = _messages(prompts, question, llm.truncate(hit.text, MAX_PASSAGE_TOKENS))
        p = llm.yes_probability(messages)
        rel = calibrate(p, p_null)
        verdict = Judgement(hit, p, rel, rel >= threshold)
        if reasons == "all" or (reasons == "kept" and verdict.relevant):
            lead = yes_word if verdict.relevant else no_word
            text = llm.continue_prompt(llm.format_prompt(messages) + lead + because, max_tokens=32, stop=["\n", ".", "。"])
            verdict.reason = f"{lead}{because}{text.rstrip()}".strip() + ("。" if prompts.language == "zh" else ".")
        elif not verdict.relevant:
            verdict.reason = f"Judged not relevant (calibrated P = {rel:.2f})."
        out.append(verdict)
    return out
