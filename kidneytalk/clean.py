"""Stage 2 — clean parsed pages.

Removes running headers/footers and page numbers (lines that repeat at the top
or bottom of many pages), joins words hyphenated across line breaks, and
normalises whitespace. CJK text is joined without inserted spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import replace

from kidneytalk.records import Block, Page, ParsedDocument

_EDGE_BLOCKS = 2  # how many blocks at the top and bottom of a page can be furniture
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:page|p\.|seite|第)?\s*\d{1,4}\s*(?:(?:/|of|von)\s*\d{1,4})?\s*(?:页)?\s*(?:[-–—])?\s*$",
    re.IGNORECASE,
)
_HYPHEN_BREAK = re.compile(r"(?<=[a-zà-ÿ])-\n(?=[a-zà-ÿ])")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")


def is_cjk(ch: str) -> bool:
    """True for Han, Kana, Hangul and CJK punctuation."""
    if not ch:
        return False
    code = ord(ch)
    return (
        0x3000 <= code <= 0x303F
        or 0x3040 <= code <= 0x30FF
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x2FA1F
    )


CJK_CHARS = re.compile("[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                       "\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]")  # the ranges of is_cjk


def count_cjk(text: str) -> int:
    return len(CJK_CHARS.findall(text))


def _furniture_key(text: str) -> str:
    """Normalise a line so 'Page 3 of 12' and 'Page 4 of 12' compare equal."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def find_furniture(pages: list[Page]) -> set[str]:
    """Running headers/footers: texts at page edges repeating on at least half the pages.

    A text repeats either exactly, or with only its numbers changing (``Page 3``,
    ``12 | Guideline``) for short non-heading lines; a heading such as
    ``PMID 123`` that merely has the same shape is not furniture.
    """
    if len(pages) < 2:
        return set()
    exact: Counter[str] = Counter()
    shaped: Counter[str] = Counter()
    for page in pages:
        blocks = [b for b in page.blocks if b.kind != "table" and b.text.strip()]
        edges = blocks[:_EDGE_BLOCKS] + blocks[-_EDGE_BLOCKS:]
        for key in {_exact_key(b.text) for b in edges}:
            exact[key] += 1
        for key in {_furniture_key(b.text) for b in edges if b.kind != "heading" and len(b.text) <= 100}:
            shaped[key] += 1
    threshold = max(2, (len(pages) + 1) // 2)
    return {k for k, n in exact.items() if n >= threshold} | {k for k, n in shaped.items() if n >= threshold}


def _exact_key(text: str) -> str:
    return " ".join(text.lower().split())


def _is_furniture(block: Block, furniture: set[str]) -> bool:
    if _exact_key(block.text) in furniture:
        return True
    return block.kind != "heading" and len(block.text) <= 100 and _furniture_key(block.text) in furniture


def join_lines(text: str) -> str:
    """Join a block's visual lines into flowing text, undoing hyphenation."""
    text = unicodedata.normalize("NFC", text).replace("\r", "")
    text = _HYPHEN_BREAK.sub("", text)
    out: list[str] = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if not line:
            continue
        if out and not (is_cjk(out[-1][-1]) and is_cjk(line[0])):
            out.append(" ")
        out.append(line)
    return "".join(out)


def clean_text(text: str) -> str:
    """Normalise whitespace within text (tables keep their line structure)."""
    lines = [_SPACES.sub(" ", line).rstrip() for line in text.replace("\r", "").split("\n")]
    return "\n".join(line for line in lines if line.strip())


def clean_document(doc: ParsedDocument) -> ParsedDocument:
    """Return a copy of ``doc`` without page furniture and with tidy text."""
    furniture = find_furniture(doc.pages)
    pages: list[Page] = []
    for page in doc.pages:
        blocks: list[Block] = []
        n = len(page.blocks)
        for i, block in enumerate(page.blocks):
            at_edge = i < _EDGE_BLOCKS or i >= n - _EDGE_BLOCKS
            if (
                block.kind != "table"
                and at_edge
                and (_is_furniture(block, furniture) or (len(block.text) <= 64 and _PAGE_NUMBER.match(block.text)))
            ):
                continue
            text = clean_text(block.text) if block.kind == "table" else join_lines(block.text)
            if text:
                section = tuple(s for s in block.section if _exact_key(s) not in furniture)
                blocks.append(replace(block, text=text, section=section))
        pages.append(replace(page, blocks=blocks))
    return replace(doc, pages=pages)
