"""Text in documents is quoted material, never instructions to the model.

Sentences that address the model ("ignore previous instructions", "you are
now…", "system prompt") are removed from the evidence shown to it and can
never be copied into an answer.
"""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier) (?:instructions|prompts?|rules)"
    r"|disregard (?:all |the )?(?:previous|prior|above) "
    r"|you are now (?:a|an|in) "
    r"|(?:reveal|print|show) (?:your|the) (?:system )?prompt"
    r"|\bsystem prompt\b|\bjailbreak\b"
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
