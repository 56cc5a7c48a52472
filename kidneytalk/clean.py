"""Stage 2 — clean parsed pages.

Removes running headers/footers, page numbers and stamps (lines that repeat in
the top or bottom band of many pages, numbers ignored, or at the same place on
most pages) line by line, cuts copyright/licence sentences out of the text
around them, joins words hyphenated across line breaks, and normalises
whitespace. CJK text is joined without inserted spaces. Everything taken out
is listed in ``ParsedDocument.removed`` with a code and a reason, so nothing
disappears silently.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from kidneytalk.records import Block, Page, PageStream, ParsedDocument, RemovedText

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


CJK_CHARS = re.compile(
    "[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
    "\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f]"
)  # the ranges of is_cjk


def count_cjk(text: str) -> int:
    return len(CJK_CHARS.findall(text))


def _furniture_key(text: str) -> str:
    """Normalise a line so 'Page 3 of 12' and 'Page 4 of 12' compare equal."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _exact_key(text: str) -> str:
    return " ".join(text.lower().split())


# ---------------------------------------------------------------- running headers and footers
#
# A line is furniture when the same text (numbers ignored, so "Page 3 of 78" and
# "Page 4 of 78" or a bare "272" and "273" match) sits in the top or bottom band of
# at least ``_MIN_SHARE`` of the pages, at about the same distance from that edge.
# A "stamp" is the same text at the same place (anywhere on the page) on most pages.
# Lines are removed one by one: a footer that shares a block with body text never
# takes the body text with it.

_BAND = 0.12  # share of the page height at the top and at the bottom where running lines live
_Y_TOL = 0.025  # how far (share of page height) a running line may move from page to page
_MIN_SHARE = 0.3  # furniture repeats on at least this share of the pages (and on 2 pages at least)
_STAMP_SHARE = 0.5
_EXPLICIT_PAGE_NUMBER = re.compile(
    r"^\s*(?:(?:page|p\.|seite|pagina|página)\s*\d{1,4}(?:\s*(?:/|of|von|de)\s*\d{1,4})?"
    r"|\d{1,4}\s*(?:/|of)\s*\d{1,4}"
    r"|[-–—]\s*\d{1,4}\s*[-–—]"
    r"|第\s*\d{1,4}\s*[页頁](?:\s*[,，/]?\s*共\s*\d{1,4}\s*[页頁])?)\s*$",
    re.IGNORECASE,
)


_CAPTION_LABEL = re.compile(
    r"^\s*(?:fig(?:ure)?|table|box|panel|chart|appendix|图|圖|表)\s*\.?\s*[\dIVX]", re.I
)


@dataclass(slots=True)
class _Line:
    """What the furniture rules need of one line, without its text (a long document's candidate
    lines are all held until every page has been seen)."""

    page: int  # index into the page list
    number: int  # the page's number
    block: int
    line: int
    key: int  # hash of its _furniture_key
    exact: int  # hash of its _exact_key
    x: float  # left edge, share of the page width
    top: float  # share of page height from the top edge to the line's centre
    bottom: float  # share of page height from the line's centre to the bottom edge
    heading: bool
    words: bool  # has a letter or digit (bullets and rules are neither removed nor kept)
    label: bool  # a caption label ("Figure 2"): only the same text counts as the same line
    page_number: bool  # reads as a page number ("Page 3 of 12", "- 4 -")


def _block_lines(block: Block) -> list[tuple[str, tuple[float, float, float, float]]]:
    texts = block.text.split("\n")
    boxes = block.lines if len(block.lines) == len(texts) else (block.bbox,) * len(texts)
    return list(zip(texts, boxes, strict=True))


def _page_extent(page: Page) -> tuple[float, float]:
    """Width and height of the page (from the parser, or the furthest box as a fallback)."""
    if page.width > 0 and page.height > 0:
        return page.width, page.height
    x1 = max((b.bbox[2] for b in page.blocks), default=0.0)
    y1 = max((b.bbox[3] for b in page.blocks), default=0.0)
    return x1, y1


@dataclass
class _Candidates:
    """What the furniture scan gathers from the pages: the lines that may be furniture, and what
    deciding needs."""

    lines: list[_Line] = field(default_factory=list)
    n_pages: int = 0  # pages with blocks
    positions: bool = False  # some block has a box (PDF pages)


def _candidate_lines(pages: Iterable[Page]) -> _Candidates:
    """Lines that may be furniture: those of blocks reaching into the top/bottom bands, and
    one-line blocks elsewhere whose exact text repeats often enough to be a stamp.

    Two passes over ``pages``: the first counts the one-line blocks' texts (hashed) and the
    pages, so the second keeps only the lines that can be furniture (a long document of one-line
    blocks is not held line by line).
    """
    found = _Candidates()
    repeats: Counter[int] = Counter()  # one-line blocks' text (hashed): picks the stamp lines
    for page in pages:
        if page.blocks:
            found.n_pages += 1
        for block in page.blocks:
            if block.bbox[3] > 0:
                found.positions = True
            if block.kind != "table" and "\n" not in block.text:
                repeats[hash(block.text.strip())] += 1
    if not found.positions:
        return found
    stamp_threshold = _stamp_threshold(found.n_pages)
    for pi, page in enumerate(pages):
        width, height = _page_extent(page)
        if height <= 0:
            continue
        top_band, bottom_band = height * _BAND, height * (1 - _BAND)
        for bi, block in enumerate(page.blocks):
            if block.kind == "table":
                continue
            x0, y0, _x1, y1 = block.bbox
            edge = y0 < top_band or y1 > bottom_band
            if not edge and (
                "\n" in block.text or repeats[hash(block.text.strip())] < stamp_threshold
            ):
                continue
            heading = block.kind == "heading"
            for li, (text, box) in enumerate(_block_lines(block)):
                text = text.strip()
                if not text:
                    continue
                centre = (box[1] + box[3]) / 2
                found.lines.append(
                    _Line(
                        pi,
                        page.number,
                        bi,
                        li,
                        hash(_furniture_key(text)),
                        hash(_exact_key(text)),
                        box[0] / max(width, 1.0),
                        centre / height,
                        (height - centre) / height,
                        heading,
                        any(ch.isalnum() for ch in text),
                        _CAPTION_LABEL.match(text) is not None,
                        _EXPLICIT_PAGE_NUMBER.match(text) is not None,
                    )
                )
    return found


def _stamp_threshold(n_pages: int) -> int:
    return max(3, math.ceil(_STAMP_SHARE * n_pages))


def find_furniture_lines(found: _Candidates) -> dict[tuple[int, int, int], tuple[str, str]]:
    """(page index, block index, line index) -> (code, reason) of each line that is page
    furniture, among the candidates :func:`_candidate_lines` gathered.

    Needs line positions (PDF pages); see the module notes for the rules.
    """
    n_pages = found.n_pages
    threshold = max(2, math.ceil(_MIN_SHARE * n_pages))
    stamp_threshold = _stamp_threshold(n_pages)
    lines = found.lines
    by_key: defaultdict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_key[line.key].append(line)
    decided: dict[tuple[int, int, int], tuple[str, str]] = {}
    for line in lines:
        if not line.words:
            continue  # bullets and rules: nothing to remove or keep
        where = (line.page, line.block, line.line)
        band = "top" if line.top < _BAND else "bottom" if line.bottom < _BAND else ""
        same = by_key[line.key]
        if line.heading or line.label:
            # "PMID 123" headings and "Figure 2" / "Figure 3" labels only have the same shape
            same = [o for o in same if o.exact == line.exact]
        if band:
            dist = line.top if band == "top" else line.bottom
            pages_there = {
                o.page for o in same if abs((o.top if band == "top" else o.bottom) - dist) <= _Y_TOL
            }
            if len(pages_there) >= threshold:
                decided[where] = (
                    "furniture",
                    f"running {'header' if band == 'top' else 'footer'} "
                    f"(on {len(pages_there)} of {n_pages} pages)",
                )
                continue
            if line.page_number:
                decided[where] = ("page-number", "page number")
                continue
        if len(same) >= stamp_threshold:
            pages_there = {
                o.page
                for o in same
                if abs(o.top - line.top) <= _Y_TOL and abs(o.x - line.x) <= _Y_TOL
            }
            if len(pages_there) >= stamp_threshold:
                decided[where] = (
                    "furniture",
                    f"stamp repeated in the same place (on {len(pages_there)} of {n_pages} pages)",
                )
    return decided


def find_furniture(pages: Iterable[Page]) -> set[str]:
    """Running headers/footers of pages without line positions (plain text): edge blocks repeating
    on at least half the pages.

    A text repeats either exactly, or with only its numbers changing (``Page 3``,
    ``12 | Guideline``) for short non-heading lines; a heading such as
    ``PMID 123`` that merely has the same shape is not furniture.
    """
    exact: Counter[str] = Counter()
    shaped: Counter[str] = Counter()
    count = 0
    for page in pages:
        count += 1
        blocks = [b for b in page.blocks if b.kind != "table" and b.text.strip()]
        edges = blocks[:_EDGE_BLOCKS] + blocks[-_EDGE_BLOCKS:]
        for key in {_exact_key(b.text) for b in edges}:
            exact[key] += 1
        for key in {
            _furniture_key(b.text) for b in edges if b.kind != "heading" and len(b.text) <= 100
        }:
            shaped[key] += 1
    if count < 2:
        return set()
    threshold = max(2, (count + 1) // 2)
    return {k for k, n in exact.items() if n >= threshold} | {
        k for k, n in shaped.items() if n >= threshold
    }


def _is_furniture(block: Block, furniture: set[str]) -> bool:
    if _exact_key(block.text) in furniture:
        return True
    return (
        block.kind != "heading"
        and len(block.text) <= 100
        and _furniture_key(block.text) in furniture
    )


# ---------------------------------------------------------------- copyright and licence notices

NOTICE = re.compile(
    r"[©\u20dd]|\(c\)\s*(?:19|20)\d{2}|\bcopyright\s*(?:©|\(c\)|(?:19|20)\d{2})|all rights reserved|\blicensee\b"
    r"|creative commons (?:attribution|licen[cs]e)|open[- ]access article distributed|distributed under the terms of"
    r"|permits unrestricted use|unauthori[sz]ed use|notice of rights|licensed under"
    r"|版权所有|版權所有|著作權人|著作权人|不得轉載|不得转载",
    re.IGNORECASE,
)
_MAX_NOTICE_CHARS = 400
_SENTENCE_BREAK = re.compile(r"((?<=[.!?])\s+(?=\S)|(?<=[。！？]))")


_NOTICE_HINTS = (
    "©",
    "\u20dd",
    "(c)",
    "copyright",
    "rights reserved",
    "licensee",
    "creative commons",
    "distributed under",
    "unrestricted use",
    "unauthori",
    "notice of rights",
    "licensed under",
    "版权所有",
    "版權所有",
    "著作權人",
    "著作权人",
    "不得轉載",
    "不得转载",
)


_NOTICE_HINT = re.compile("|".join(re.escape(h) for h in _NOTICE_HINTS))


def _may_have_notice(text: str) -> bool:
    """Fast literal pre-check before the (slower) notice pattern."""
    return _NOTICE_HINT.search(text.lower()) is not None


def cut_notices(text: str) -> tuple[str, list[str]]:
    """``text`` without its copyright/licence sentences, and those sentences.

    Only sentences that carry a notice marker (©, "All rights reserved", a
    licence, ...) and are not long are cut; everything around them stays.
    """
    if not _may_have_notice(text) or not NOTICE.search(text):
        return text, []
    parts = _SENTENCE_BREAK.split(text)
    kept: list[str] = []
    cut: list[str] = []
    for i in range(0, len(parts), 2):
        sentence = parts[i]
        sep = parts[i + 1] if i + 1 < len(parts) else ""
        if sentence.strip() and NOTICE.search(sentence) and len(sentence) <= _MAX_NOTICE_CHARS:
            cut.append(sentence.strip())
        else:
            kept.append(sentence + sep)
    return "".join(kept).strip(), cut


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


def clean_document(doc: ParsedDocument, *, consume: bool = False) -> ParsedDocument:
    """Return a copy of ``doc`` without page furniture and notices, with tidy text.

    Everything taken out is listed in the copy's ``removed`` (line, page, why). With
    ``consume`` (the caller is done with ``doc``), each page of ``doc`` loses its blocks as soon
    as its cleaned copy is made, so a long document is not held twice (raw and cleaned) while
    it is cleaned.

    A document whose pages are a :class:`~kidneytalk.records.PageStream` is read once to find
    its furniture; the copy's pages are then cleaned one at a time as they are read (once: the
    copy's ``removed`` is complete when they all have been), and closing them closes ``doc``'s.
    """
    found = _candidate_lines(doc.pages)
    if found.positions:
        lines = find_furniture_lines(found)
        furniture: set[str] = set()
        removed_keys = {
            line.exact
            for line in found.lines
            if lines.get((line.page, line.block, line.line), ("",))[0] == "furniture"
        }
    else:
        lines = {}
        furniture = find_furniture(doc.pages)
        removed_keys = {hash(k) for k in furniture}
    edge_rule = not found.positions
    del found
    removed: list[RemovedText] = list(doc.removed)
    cleaned = _clean_pages(doc.pages, lines, edge_rule, furniture, removed_keys, removed, consume)
    if isinstance(doc.pages, list):
        return replace(doc, pages=list(cleaned), removed=removed)
    return replace(doc, pages=_CleanedPages(doc.pages, cleaned), removed=removed)


class _CleanedPages:
    """The cleaned pages of a :class:`~kidneytalk.records.PageStream`, made as they are read
    (one pass)."""

    def __init__(self, source: PageStream, pages: Iterator[Page]):
        self._source, self._pages = source, pages
        self._read = False

    def __iter__(self) -> Iterator[Page]:
        if self._read:  # a second pass would find nothing: say so instead of giving no pages
            raise RuntimeError("a stream's cleaned pages can be read once only")
        self._read = True
        return self._pages

    def __len__(self) -> int:
        return len(self._source)

    def close(self) -> None:
        self._source.close()


def _clean_pages(
    pages: Iterable[Page],
    lines: dict[tuple[int, int, int], tuple[str, str]],
    edge_rule: bool,
    furniture: set[str],
    removed_keys: set[int],
    removed: list[RemovedText],
    consume: bool,
) -> Iterator[Page]:
    """Each page without its furniture (``lines`` by position, else the edge-block texts in
    ``furniture`` with ``edge_rule``) and notices; what is taken out is added to ``removed``."""
    for pi, page in enumerate(pages):
        blocks: list[Block] = []
        n = len(page.blocks)
        for bi, block in enumerate(page.blocks):
            if block.kind != "table" and edge_rule:
                at_edge = bi < _EDGE_BLOCKS or bi >= n - _EDGE_BLOCKS
                page_number = (
                    len(block.text) <= 64 and _PAGE_NUMBER.match(block.text) is not None
                )  # long: regex backtracks
                if at_edge and (_is_furniture(block, furniture) or page_number):
                    code = "page-number" if page_number else "furniture"
                    removed.append(
                        RemovedText(
                            page.number,
                            join_lines(block.text),
                            code,
                            "page number" if code == "page-number" else "running header/footer",
                        )
                    )
                    continue
            if block.kind != "table" and lines:
                block = _without_lines(block, page.number, pi, bi, lines, removed)
                if not block.text.strip():
                    continue
            if block.kind == "table":
                text = clean_text(block.text)
            else:
                text = join_lines(block.text)
                if block.kind == "text":
                    text, notices = cut_notices(text)
                    removed.extend(
                        RemovedText(page.number, t, "notice", "copyright/licence notice")
                        for t in notices
                    )
            if text:
                section = block.section
                if removed_keys and section:
                    section = tuple(s for s in section if hash(_exact_key(s)) not in removed_keys)
                blocks.append(replace(block, text=text, section=section))
        cleaned = replace(page, blocks=join_wrapped_lines(blocks))
        if consume:
            page.blocks = []
        yield cleaned


# Some PDFs make each printed line a block of its own (a Chinese leaflet: "…取得三小段的腎" /
# "臟組織送檢…"; a booklet from Word: "… checked in 6 to 8 weeks to make sure" / "the prescribed
# dose is adequate"): sentence splitting, search terms and passages then break at every line end.
_CJK_ENDS = "。！？；：」』）)】!?;:"  # a line ending in these ends its sentence or heading
# a line that starts a list item: "三、", "(一)", "2.", a bullet (in any script)
LIST_START = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+\s*[.、．)）]|[•●■◆▪‧·※★☆-])"
)
# a list item: Word's second-level bullet is a lower-case "o" ("o Due to surgery …")
_LATIN_ITEM = re.compile(r"^(?:o|[a-z][.)])\s")
_WORD_BREAK = re.compile(r"(?<=[a-z])-$")  # "treat-" / "ment": a word hyphenated at the line end


def join_wrapped_lines(blocks: list[Block]) -> list[Block]:
    """Text blocks that are wrapped lines of one paragraph, joined into one block.

    A block continues the one before when that one stops mid-sentence at its
    column's right edge and the next sits at most one line height below and
    starts near its left edge: up to two characters right of it (a hanging
    indent under a list item's text) or three left (back to the margin from a
    first-line indent). In Chinese the line before
    ends in a CJK character or comma and the next starts with a CJK character
    that is not a list marker ("三、", "(一)", "2."); the two join without a
    space. In other scripts the line before has no closing punctuation and the
    next starts with a lower-case letter; English lines end ragged, so the edge
    may be up to eight line heights away.
    """
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        joint = _continues(prev, block, blocks) if prev is not None else None
        if prev is None or joint is None:
            out.append(block)
            continue
        head = prev.text.rstrip()
        if joint == " " and _WORD_BREAK.search(head):
            head, joint = head[:-1], ""
        out[-1] = replace(
            prev,
            text=head + joint + block.text.lstrip(),
            bbox=(
                min(prev.bbox[0], block.bbox[0]),
                min(prev.bbox[1], block.bbox[1]),
                max(prev.bbox[2], block.bbox[2]),
                max(prev.bbox[3], block.bbox[3]),
            ),
            lines=prev.lines + block.lines if prev.lines and block.lines else (),
        )
    return out


def _continues(prev: Block, block: Block, page: list[Block]) -> str | None:
    """The text joining ``block`` to ``prev`` when it continues its paragraph, else None."""
    if prev.kind != "text" or block.kind != "text" or prev.section != block.section:
        return None
    a, b = prev.text.rstrip(), block.text.lstrip()
    if not a or not b:
        return None
    if is_cjk(b[0]):
        if a[-1] in _CJK_ENDS or not CJK_CHARS.match(b[0]) or b[0] in _CJK_ENDS:
            return None
        if LIST_START.match(b):
            return None
        if not (is_cjk(a[-1]) or (a[-1] in ",、" and CJK_CHARS.search(a))):  # OCR: "，" as ","
            return None
        joint, slack = "", 2.0
    elif (
        b[0].islower()
        and (a[-1].isalnum() or a[-1] in ",-")
        and not is_cjk(a[-1])
        and not _LATIN_ITEM.match(b)
    ):
        joint, slack = " ", 8.0
    else:
        return None
    last = prev.lines[-1] if prev.lines else prev.bbox
    first = block.lines[0] if block.lines else block.bbox
    height = last[3] - last[1]
    # OCR's line boxes are loose and may overlap the next line's by up to half a line
    if height <= 0 or not -height / 2 <= first[1] - last[3] <= height:
        return None
    # the column's right edge: the furthest right any block reaches that overlaps this one across
    right = max(
        (o.bbox[2] for o in page if o.bbox[0] < last[2] and o.bbox[2] > last[0]),
        default=last[2],
    )
    if last[2] < right - slack * height:
        return None
    # the next line starts near the block's left edge: at most two characters right of it (a
    # hanging indent), or back to the margin from a first-line indent, not across the page
    if not prev.bbox[0] - 3 * height <= first[0] <= prev.bbox[0] + 2 * height:
        return None
    return joint


def _without_lines(
    block: Block,
    number: int,
    pi: int,
    bi: int,
    lines: dict[tuple[int, int, int], tuple[str, str]],
    removed: list[RemovedText],
) -> Block:
    """``block`` without its furniture lines (recorded in ``removed``)."""
    keep: list[tuple[str, tuple[float, float, float, float]]] = []
    for li, (text, box) in enumerate(_block_lines(block)):
        why = lines.get((pi, bi, li))
        if why is None:
            keep.append((text, box))
        else:
            removed.append(RemovedText(number, text.strip(), *why))
    if len(keep) == len(block.text.split("\n")):
        return block
    boxes = tuple(box for _, box in keep) if block.lines else ()
    return replace(block, text="\n".join(t for t, _ in keep), lines=boxes)
