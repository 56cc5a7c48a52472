"""AddRep stage 2 — divergent thinking: N new questions from other angles.

Given the question and the first-round evidence, the model proposes distinct
questions; each is searched with a small k to raise recall. Output is parsed
line by line; duplicates of the question or of each other are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kidneytalk.llm_base import LLM
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit

TOKENS_PER_QUESTION = 32  # a short question; parse_questions drops anything over 200 characters
_NUMBERED = re.compile(r"^\s*(?:\d+[.)、:]|[-*•])\s*(.+?)\s*$")


def evidence_digest(hits: Sequence[Hit], max_chars: int = 240, limit: int = 3) -> str:
    return (
        "\n".join(f"- {' '.join(h.text.split())[:max_chars]}" for h in hits[:limit])
        or "- (nothing yet)"
    )


def parse_questions(text: str, question: str, n: int) -> list[str]:
    out: list[str] = []
    seen = {_norm(question)}
    for line in text.splitlines():
        m = _NUMBERED.match(line)
        candidate = (m.group(1) if m else line).strip()
        # a question, not copied evidence or chatter
        if len(candidate) < 8 or len(candidate) > 200 or not candidate.endswith(("?", "？")):
            continue
        key = _norm(candidate)
        if key in seen:
            continue
        seen.add(key)
        out.append(candidate)
        if len(out) == n:
            break
    return out


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def divergent_questions(
    llm: LLM, prompts: PromptBook, question: str, evidence: Sequence[Hit], n: int
) -> list[str]:
    if n <= 0:
        return []
    prompt = prompts.render("divergent", question=question, evidence=evidence_digest(evidence), n=n)
    # stop where a question n+1 would begin: the model often goes on listing, which costs time for nothing
    raw = llm.complete(
        [{"role": "user", "content": prompt}],
        max_tokens=TOKENS_PER_QUESTION * n + 8,
        temperature=0.3,
        stop=[f"\n{n + 1}.", f"\n{n + 1})"],
    )
    return parse_questions(raw, question, n)
