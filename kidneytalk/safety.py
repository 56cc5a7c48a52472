"""Text in documents is quoted material, never instructions to the model.

Sentences that address the model ("ignore previous instructions", "you are
now…", "system prompt") are removed from the evidence shown to it and can
never be copied into an answer.
"""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"ignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier)\s+(?:instructions|prompts?|rules)"
    r"|disregard\s+(?:all\s+|the\s+)?(?:previous|prior|above)\s"
    r"|you\s+are\s+now\s+(?:a|an|in)\s"
    r"|(?:reveal|print|show)\s+(?:your|the)\s+(?:system\s+)?prompt"
    r"|\bsystem\s+prompt\b|\bjailbreak\b"
    r"|忽略(?:之前|以上|前面)的(?:所有)?(?:指令|指示|提示)",
    re.IGNORECASE,
)
REMOVED = "[text addressed to the AI removed]"


def looks_like_instruction(sentence: str) -> bool:
    return bool(INJECTION.search(sentence))


def strip_instructions(text: str) -> str:
    """Replace the sentences of ``text`` that address the model."""
    from kidneytalk.citations import split_sentences

    if not INJECTION.search(text):
        return text
    return " ".join(REMOVED if looks_like_instruction(s) else s for s in split_sentences(text))
