"""Stage 4 — drop passages that carry no medical knowledge, with a reason.

Rules catch boilerplate cheaply: tables of contents, reference lists,
copyright/licence passages and near-empty passages. A passage is dropped by the
copyright or near-empty rules only when no *substantive sentence* is left in it
(see :func:`has_substantive_sentence`): notices inside a passage were already cut
out by the cleaner (``kidneytalk.clean.cut_notices``), so a notice never costs
the text around it. An optional LLM agent (``prompts/templates/filter_en.txt``)
asks the model whether a passage contains medical knowledge. Every dropped chunk
is kept with its reason (and a stable code, :func:`reason_code`) so the user can
see what was left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from kidneytalk.bibliography import reference_spans
from kidneytalk.clean import CJK_CHARS, NOTICE, count_cjk, cut_notices
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
_IN_TEXT_CITATION = re.compile(r"\([^()]*\b(?:19|20)\d{2}[a-z]?\b[^()]*\)")
_COPYRIGHT = re.compile(
    r"©|\(c\)\s*\d{4}|\bcopyright\b|all rights reserved|\bISBN\b|licensed under|版权所有", re.I
)

MIN_CONTENT_CHARS = 40
# A passage that is at least this share reference-list entries (kidneytalk.bibliography), with
# under REFERENCE_REST letters and digits of other text beside them, is a reference list.
REFERENCE_SHARE = 0.5
REFERENCE_REST = 300
MIN_CJK_CHARS = 12
# A substantive sentence: at least this many words of two or more letters (or CJK characters).
MIN_SENTENCE_WORDS = 3
MIN_SENTENCE_CJK = 6
_WORD = re.compile(r"[^\W\d_]{2,}")
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|(?<=[。！？；])|\n+")

REASON_CODES = {
    "near-empty": "near-empty",
    "table of contents": "toc",
    "reference list": "references",
    "copyright/licence notice": "notice",
    "filter agent: no medical knowledge": "agent",
}


def reason_code(reason: str) -> str:
    """The stable code of a drop reason (for programs and the GUI)."""
    return REASON_CODES.get(reason, "other")


def has_substantive_sentence(text: str) -> bool:
    """True when some sentence of ``text`` says something: 3+ words or 6+ CJK characters,
    and is not a copyright/licence notice."""
    for sentence in _SENTENCES.split(text):
        if not sentence.strip() or NOTICE.search(sentence):
            continue
        if (
            count_cjk(sentence) >= MIN_SENTENCE_CJK
            or len(_WORD.findall(sentence)) >= MIN_SENTENCE_WORDS
        ):
            return True
    return False


_NOT_ALNUM = re.compile(r"[\W_]+")


def content_size(text: str, cjk: int | None = None) -> int:
    """Letters and digits, with each CJK character counted as three (one word ~ 1.5 chars)."""
    cjk_alnum = (
        sum(1 for ch in CJK_CHARS.findall(text) if ch.isalnum()) if cjk is None or cjk else 0
    )
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
    if size < MIN_CONTENT_CHARS and cjk < MIN_CJK_CHARS and not has_substantive_sentence(text):
        return "near-empty"
    if chunk.section and (reason := boilerplate_heading(chunk.section[-1])):
        return reason
    lines = [line for line in re.split(r"\n|(?<=\d)\s{2,}", text) if line.strip()]
    if len(lines) >= 4:
        toc_lines = sum(1 for line in lines if _TOC_LINE.search(line.strip()))
        if toc_lines / len(lines) >= 0.6 and _mean_words(lines) <= 12:
            return "table of contents"
    # In-text citations such as "(Johansson et al., 2012)" belong to body text, not to reference lists.
    ref_hits = len(_REF_ENTRY.findall(_IN_TEXT_CITATION.sub(" ", text)))
    sentences = max(1, len(re.findall(r"[.!?。](\s|$)", text)))
    if (ref_hits >= 4 and ref_hits / sentences >= 0.5) or _mostly_references(text):
        return "reference list"
    if _COPYRIGHT.search(text) and not has_substantive_sentence(cut_notices(text)[0]):
        return "copyright/licence notice"
    return None


def _mostly_references(text: str) -> bool:
    """Reference-list entries run together ("… 2004;9:112. 12. Wang Q, Li HM. Title. …"), with
    little other text beside them (see :data:`REFERENCE_SHARE`)."""
    spans = reference_spans(text)
    if not spans:
        return False
    inside = sum(content_size(text[a:b]) for a, b in spans)
    outside = content_size(text) - inside
    return inside >= REFERENCE_SHARE * (inside + outside) and outside < REFERENCE_REST


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
