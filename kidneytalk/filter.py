"""Stage 4 — drop passages that carry no medical knowledge, with a reason.

Rules catch boilerplate cheaply: tables of contents, reference lists,
copyright/licence lines and near-empty passages. An optional LLM agent
(``prompts/templates/filter_en.txt``) asks the model whether a passage contains
medical knowledge. Every dropped chunk is kept with its reason so the user can
see what was left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from kidneytalk.clean import CJK_CHARS, count_cjk
from kidneytalk.records import Chunk, DroppedChunk

_TOC_HEADING = re.compile(r"^\s*(table of )?contents\s*$|^\s*目\s*录\s*$|^\s*inhalt", re.I)
_REF_HEADING = re.compile(
    r"^\s*(\d+\.?\s*)?(references|bibliography|literature cited|works cited|参考文献)\s*$", re.I
)
_TOC_LINE = re.compile(r"(\.{3,}|…{2,}|\s{2,}|\t)\s*\d{1,4}\s*$|^.{3,80}\s\d{1,4}$")
_REF_ENTRY = re.compile(
    r"(^\s*\[?\d{1,3}[\].)]\s+\S)|(\bet al\b)|(\bdoi:\s*10\.)|(\b(19|20)\d{2}\s*;\s*\d+)|(\bPMID\b)",
    re.I,
)
_COPYRIGHT = re.compile(
    r"©|\(c\)\s*\d{4}|\bcopyright\b|all rights reserved|\bISBN\b|licensed under|版权所有", re.I
)

MIN_CONTENT_CHARS = 40
MIN_CJK_CHARS = 12


_NOT_ALNUM = re.compile(r"[\W_]+")


def content_size(text: str, cjk: int | None = None) -> int:
    """Letters and digits, with each CJK character counted as three (one word ~ 1.5 chars)."""
    cjk_alnum = sum(1 for ch in CJK_CHARS.findall(text) if ch.isalnum()) if cjk is None or cjk else 0
    return len(_NOT_ALNUM.sub("", text)) + 2 * cjk_alnum


def boilerplate_heading(title: str) -> str | None:
    """The reason a section with this heading is boilerplate, or ``None``."""
    if _TOC_HEADING.match(title):
        return "table of contents"
    if _REF_HEADING.match(title):
        return "reference list"
    return None


def rule_reason(chunk: Chunk) -> str | None:
    """Why a chunk is boilerplate, or ``None`` to keep it."""
    text = chunk.text.strip()
    cjk = count_cjk(text)
    size = content_size(text, cjk)
    if size < MIN_CONTENT_CHARS and cjk < MIN_CJK_CHARS:
        return "near-empty"
    if chunk.section and (reason := boilerplate_heading(chunk.section[-1])):
        return reason
    lines = [line for line in re.split(r"\n|(?<=\d)\s{2,}", text) if line.strip()]
    if len(lines) >= 4:
        toc_lines = sum(1 for line in lines if _TOC_LINE.search(line.strip()))
        if toc_lines / len(lines) >= 0.6 and _mean_words(lines) <= 12:
            return "table of contents"
    ref_hits = len(_REF_ENTRY.findall(text))
    sentences = max(1, len(re.findall(r"[.!?。](\s|$)", text)))
    if ref_hits >= 4 and ref_hits / sentences >= 0.5:
        return "reference list"
    if _COPYRIGHT.search(text) and size < 400:
        return "copyright/licence notice"
    return None


def _mean_words(lines: list[str]) -> float:
    return sum(len(line.split()) for line in lines) / max(1, len(lines))


Judge = Callable[[str], bool]


def filter_chunks(
    chunks: Iterable[Chunk], *, agent: Judge | None = None
) -> tuple[list[Chunk], list[DroppedChunk]]:
    """Split chunks into kept and dropped (with reasons); ``agent`` runs after the rules."""
    kept: list[Chunk] = []
    dropped: list[DroppedChunk] = []
    for chunk in chunks:
        reason = rule_reason(chunk)
        if reason is None and agent is not None and not agent(chunk.text):
            reason = "filter agent: no medical knowledge"
        if reason is None:
            kept.append(chunk)
        else:
            dropped.append(DroppedChunk(chunk, reason))
    return kept, dropped
