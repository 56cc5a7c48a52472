"""Stage 3 — cut cleaned documents into passages the embedder sees whole.

Sections are split first (a chunk never mixes two sections, though a tiny
section is merged with its neighbour under the same top-level heading, unless
one of them is boilerplate such as a reference list); each section is
then split with langchain's ``RecursiveCharacterTextSplitter`` measuring length
in the *embedding model's* tokens, so no chunk is silently truncated by the
embedder. Sentence separators include CJK punctuation (。！？；).

Work is linear in the text whatever its shape: a line longer than
:data:`LINE_LIMIT` characters (a log export, minified text, one 5 MB line) is
cut into segments on a hard boundary (the last space or sentence end before the
limit, else the limit itself), each cut into greedy windows with a few
tokenizer calls per passage instead of one per word; a piece with no
separator left is cut by a bounded search instead of character by character;
chunk offsets are found near the previous chunk rather than by scanning the
text; and nothing measures the tokens of a text far too long to be one
passage. A passage is also capped in characters (:data:`MAX_CHUNK_CHARS` per
token of the chunk size), so runs of long "words" that tokenise to a few
unknown tokens cannot make one enormous passage.

Repeated passages of one document (boilerplate on every page, a word repeated
through a whole file) are stored once: :func:`collapse_copies` keeps the first
and returns the others as copies, which the catalog remembers so results can
say where else the passage occurs. A passage another document already holds
(same text up to layout: :mod:`kidneytalk.dedup`) is stored once too, at the
store step; copies that differ in words are collapsed at search time
(``retrieval/assemble.py``).
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kidneytalk.config import ChunkSettings
from kidneytalk.errors import Cancelled
from kidneytalk.filter import boilerplate_heading
from kidneytalk.records import Chunk, ParsedDocument

SEPARATORS = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    ". ",
    "? ",
    "! ",
    "; ",
    ": ",
    ", ",
    "，",
    "、",
    " ",
]
# Tokens kept free for the section context that is prepended when embedding.
CONTEXT_RESERVE_TOKENS = 24
# A line (text between newlines) longer than this is cut into segments chunked separately.
LINE_LIMIT = 20_000
# Characters a passage may hold per token of the chunk size (English runs ~5 per token).
MAX_CHUNK_CHARS = 16
# A text longer than this many characters per token of the chunk size is never measured
# whole: it cannot be one passage (or only if made of "words" the cap above cuts anyway).
_UNMEASURED_CHARS = MAX_CHUNK_CHARS
# Longer texts are not tokenised whole to count their pieces (bounded memory for the offsets).
_CONTEXT_MAX_CHARS = 200_000
_SOFT_BREAK = re.compile(r"[\s。！？；，、.!?;:,]")

TokenCounter = Callable[[str], int]


def _tokenizer_splits_at(ch: str) -> bool:
    """A BERT pre-tokenizer always cuts words at ``ch``: its whitespace and punctuation."""
    if ch in " \t\n\r":
        return True
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    category = unicodedata.category(ch)
    return category == "Zs" or category.startswith("P")


class _TokenContext:
    """One tokenisation of a text (its tokens' start offsets), to count the tokens of pieces of it.

    A piece that begins and ends where the tokenizer cuts words anyway has exactly the
    tokens of the text that start inside it (``FastTokenCounter.token_starts``); any other
    piece (or one not found in the text) is tokenised on its own, so counts never differ.
    """

    def __init__(self, text: str, starts: list[int]):
        self.text, self.starts, self.hint = text, starts, 0

    def _cut(self, at: int) -> bool:
        text = self.text
        return (
            at == 0
            or at == len(text)
            or _tokenizer_splits_at(text[at - 1])
            or _tokenizer_splits_at(text[at])
        )

    def count(self, piece: str) -> int | None:
        text = self.text
        at = text.find(piece, self.hint)  # pieces are measured in order, mostly
        if at < 0:
            at = text.find(piece, 0, self.hint + len(piece))
        end = at + len(piece)
        if at < 0 or not piece or not (self._cut(at) and self._cut(end)):
            return None
        self.hint = at
        return bisect.bisect_left(self.starts, end) - bisect.bisect_left(self.starts, at)


class CancelFlag(Protocol):
    """Anything with ``is_set()``, e.g. a :class:`threading.Event`."""

    def is_set(self) -> bool: ...


@dataclass
class _Span:
    start: int
    end: int
    page: int


@dataclass
class _Unit:
    """Text of one section (or a few merged small ones) with per-block page spans."""

    section: tuple[str, ...]
    spans: list[_Span] = field(default_factory=list)
    _parts: list[str] = field(default_factory=list)
    _length: int = 0
    _text: str | None = None

    def add(self, text: str, page: int) -> None:
        """Append a block (collected as parts and joined once: no quadratic string growth)."""
        if self._length:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        self._text = None
        self.spans.append(_Span(start, self._length, page))

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._parts)
            self._parts = [self._text]
        return self._text

    def __len__(self) -> int:
        return self._length

    def prefix(self, headings: Sequence[str]) -> None:
        """Put ``headings`` (one per line) before the text, keeping the page spans aligned."""
        if not headings:
            return
        head = "\n".join(headings) + "\n"
        text = head + self.text
        self._parts, self._length, self._text = [text], len(text), text
        self.spans = [_Span(s.start + len(head), s.end + len(head), s.page) for s in self.spans]
        if self.spans:
            self.spans[0].start = 0
        self._starts_cache: list[int] | None = None

    def pages_for(self, start: int, end: int) -> tuple[int, int]:
        """First and last page of the span [start, end) (spans are in order: a bisect, not a scan)."""
        starts = [s.start for s in self.spans] if len(self.spans) < 64 else self._starts()
        i = max(0, bisect.bisect_right(starts, start) - 1)
        if self.spans[i].end <= start and i + 1 < len(self.spans):
            i += 1  # start falls in the gap between two blocks
        j = max(i, bisect.bisect_left(starts, end) - 1)
        pages = [s.page for s in self.spans[i : j + 1]]
        return min(pages), max(pages)

    def _starts(self) -> list[int]:
        cached = getattr(self, "_starts_cache", None)
        if cached is None or len(cached) != len(self.spans):
            cached = [s.start for s in self.spans]
            self._starts_cache = cached
        return cached


def effective_size(settings: ChunkSettings, max_tokens: int) -> tuple[int, int]:
    """Chunk size and overlap in tokens, capped to what the embedder accepts."""
    size = max(16, min(settings.size_tokens, max_tokens - CONTEXT_RESERVE_TOKENS))
    overlap = max(0, min(settings.overlap_tokens, size // 2))
    return size, overlap


class Chunker:
    """Token-measured, section-aware chunking for one embedding model."""

    def __init__(self, count_tokens: TokenCounter, settings: ChunkSettings, max_tokens: int):
        self.count_tokens = count_tokens
        self.size, self.overlap = effective_size(settings, max_tokens)
        # The splitter measures the same pieces several times (when splitting, then when
        # merging): remember the last few thousand.
        self._cancel: CancelFlag | None = None
        # With a BERT-style tokenizer a section is tokenised once and the pieces the splitter
        # tries are counted from it (_TokenContext): a third of the tokenizer work.
        self._starts_of: Callable[[str], list[int] | None] | None = getattr(
            count_tokens, "token_starts", None
        )
        self._known: dict[str, int] = {}  # tokens of this document's sections
        self._section_starts: dict[str, list[int]] = {}  # ... of those too long for one chunk
        self._context: _TokenContext | None = None
        self._measure = functools.lru_cache(maxsize=4096)(self._count)
        # imported here: about a second of imports the desktop app does not wait for at start
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.size,
            chunk_overlap=self.overlap,
            length_function=self._measure,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def _count(self, text: str) -> int:
        """Tokens of ``text``; also where a long split notices Cancel (it measures all the time)."""
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("cancelled while cutting passages")
        known = self._known.get(text)
        if known is not None:
            return known
        if self._context is not None and (n := self._context.count(text)) is not None:
            return n
        return self.count_tokens(text)

    def _section_tokens(self, text: str) -> int:
        """Tokens of a section's text; its token offsets are kept when it must be split."""
        starts = (
            self._starts_of(text)
            if self._starts_of is not None and len(text) <= _CONTEXT_MAX_CHARS
            else None
        )
        if starts is None:
            return self._measure(text)
        self._known[text] = len(starts)
        if len(starts) > self.size:
            self._section_starts[text] = starts
        return len(starts)

    def units(self, doc: ParsedDocument, *, consume: bool = False) -> list[_Unit]:
        """Group body blocks by section, merging small neighbours under one top heading.

        With ``consume``, each page gives up its blocks once their text is in the units (the
        blocks' boxes and lines are not held while the document is cut).
        """
        return list(self._units(doc, consume))

    def _units(self, doc: ParsedDocument, consume: bool) -> Iterator[_Unit]:
        """:meth:`units` one at a time, each as soon as the pages read so far settle it."""
        merged: _Unit | None = None
        merged_tokens = 0
        for unit in _sections(doc, consume):
            tokens = (
                self._section_tokens(unit.text)
                if len(unit) <= self.size * _UNMEASURED_CHARS
                else self.size + 1
            )
            tiny = min(48, self.size // 4)
            if (
                merged is not None
                and merged.section[:1] == unit.section[:1]
                and (tokens < tiny or merged_tokens < tiny)
                and not any(boilerplate_heading(u.section[-1]) for u in (merged, unit) if u.section)
                and merged_tokens + tokens <= self.size
            ):
                common = _common_prefix(merged.section, unit.section)
                # the headings the merged unit no longer carries in its section go into its text
                merged.prefix(merged.section[len(common) :])
                unit.prefix(unit.section[len(common) :])
                for span in unit.spans:  # the merged unit is small: re-adding its blocks is cheap
                    merged.add(unit.text[span.start : span.end], span.page)
                merged.section = common
                merged_tokens += tokens
                del unit  # in ``merged`` now: not held while it is cut
            else:
                if merged is not None:
                    yield merged
                merged = unit
                merged_tokens = tokens
        if merged is not None:
            yield merged

    def chunk(
        self,
        doc_id: str,
        doc: ParsedDocument,
        *,
        cancel: CancelFlag | None = None,
        consume: bool = False,
    ) -> list[Chunk]:
        """The passages of ``doc``; :class:`Cancelled` soon after ``cancel`` is set.

        With ``consume`` (ingest: the caller is done with the pages), ``doc.pages`` lose their
        blocks as they are read and each section's text is let go once it is cut, so a long
        document is held about once (as passages) instead of three times (blocks, sections,
        passages).
        """
        self._cancel = cancel
        try:
            return self._chunk(doc_id, doc, consume)
        finally:
            self._cancel = None
            self._known.clear()
            self._section_starts.clear()

    def _chunk(self, doc_id: str, doc: ParsedDocument, consume: bool = False) -> list[Chunk]:
        cancel = self._cancel
        chunks: list[Chunk] = []
        doc_offset = 0
        for unit in self._units(doc, consume):  # each is let go once cut
            text = unit.text
            for seg_start, seg_end, long_line in _segments(text):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled while cutting passages")
                segment = text[seg_start:seg_end]
                pieces = self._windows(segment) if long_line else self._pieces(segment)
                for piece, start, n_tokens in pieces:
                    start += seg_start
                    end = start + len(piece)
                    first, last = unit.pages_for(start, end)
                    chunks.append(
                        Chunk(
                            doc_id=doc_id,
                            seq=len(chunks),
                            text=piece,
                            page_start=first,
                            page_end=last,
                            section=unit.section,
                            char_start=doc_offset + start,
                            char_end=doc_offset + end,
                            n_tokens=n_tokens,
                        )
                    )
            doc_offset += len(text) + 2
            if consume:
                self._known.pop(text, None)
        return chunks

    def _pieces(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(chunk text, start offset in ``text``, tokens) of one unit (or segment of a long line).

        A unit that fits is one chunk as it is; only longer ones go through
        the splitter, which measures every candidate piece (the costly part
        of chunking: most sections of an abstract or a guideline fit).
        """
        stripped = text.strip()
        max_chars = self.size * MAX_CHUNK_CHARS
        n = self._measure(stripped) if stripped and len(stripped) <= max_chars else self.size + 1
        if n <= self.size:
            if stripped:
                yield stripped, text.find(stripped), n
            return
        starts = self._section_starts.pop(text, None)
        if starts is None and self._starts_of is not None and len(text) <= _CONTEXT_MAX_CHARS:
            starts = self._starts_of(text)
        self._context = _TokenContext(text, starts) if starts is not None else None
        try:
            yield from self._split(text, max_chars)
        finally:
            self._context = None

    def _split(self, text: str, max_chars: int) -> Iterator[tuple[str, int, int]]:
        prev_start, prev_end = -1, 0
        for chunk in self._splitter.split_text(text):
            start = _locate(text, chunk, prev_start, prev_end)
            prev_start, prev_end = start, start + len(chunk)
            if len(chunk) > max_chars or self._measure(chunk) > self.size:
                yield from self._hard_cut(chunk, start)  # no separator left inside: cut by length
                continue
            yield chunk, start, self._measure(chunk)

    def _windows(self, text: str) -> Iterator[tuple[str, int, int]]:
        """Passages of a piece of an over-long line: greedy windows ending at a space or punctuation.

        The splitter would measure every word of such a line (a 5 MB line is a
        million tokenizer calls); here each passage costs two or three, and
        consecutive passages overlap by about ``overlap`` tokens as elsewhere.
        """
        n = len(text)
        max_chars = self.size * MAX_CHUNK_CHARS
        probe = text[: min(n, 2000)]
        chars_per_token = len(probe) / max(1, self._count(probe))
        pos = 0
        while pos < n:
            while pos < n and text[pos].isspace():
                pos += 1
            if pos >= n:
                return
            # a window sized from the characters per token seen so far: usually fits at once
            k = max(1, min(n - pos, max_chars, int(self.size * chars_per_token * 0.9)))
            tokens = self._count(text[pos : pos + k])
            while tokens > self.size and k > 1:
                k = max(1, min(k - 1, int(k * self.size / tokens * 0.9)))
                tokens = self._count(text[pos : pos + k])
            end = pos + k
            if end < n:  # end at the last break in the window's second half, if there is one
                for match in _SOFT_BREAK.finditer(text, pos + k // 2, end):
                    end = match.end()
            piece = text[pos:end].rstrip()
            if piece:
                n_tokens = self._count(piece) if end != pos + k else tokens
                chars_per_token = 0.5 * chars_per_token + 0.5 * len(piece) / max(1, n_tokens)
                yield piece, pos, n_tokens
            if end >= n:
                return
            back = end - (end - pos) * self.overlap // max(self.size, 1)
            restart = end
            for match in _SOFT_BREAK.finditer(text, back, end):
                restart = match.end()
                break
            pos = restart if pos < restart < end else end

    def _hard_cut(self, text: str, offset: int) -> Iterator[tuple[str, int, int]]:
        """Cut a piece without separators into passages that fit, each with a few measurements.

        The length is estimated from the tokens of the longest allowed window
        and shrunk until it fits (two or three tokenizer calls per passage,
        not one per character).
        """
        pos = 0
        max_chars = self.size * MAX_CHUNK_CHARS
        while pos < len(text):
            k = min(len(text) - pos, max_chars)
            tokens = self._count(text[pos : pos + k])
            while tokens > self.size and k > 1:
                k = max(1, min(k - 1, int(k * self.size / tokens * 0.95)))
                tokens = self._count(text[pos : pos + k])
            piece = text[pos : pos + k]
            stripped = piece.strip()
            if stripped:
                yield stripped, offset + pos + piece.find(stripped), self._measure(stripped)
            pos += k


def _sections(doc: ParsedDocument, consume: bool) -> Iterator[_Unit]:
    """Body blocks grouped by section in reading order, each group once the next one starts
    (with ``consume``, each page gives up its blocks once they are grouped)."""
    unit: _Unit | None = None
    for page in doc.pages:
        for block in page.blocks:
            if block.kind == "heading":
                continue
            if unit is None or unit.section != block.section:
                if unit is not None:
                    yield unit
                unit = _Unit(block.section)
            unit.add(block.text, block.page)
        if consume:
            page.blocks = []
    if unit is not None:
        yield unit


def _segments(text: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, from a long line) of the parts of ``text`` chunked separately.

    Text with ordinary lines is one segment, chunked as before. A line longer
    than :data:`LINE_LIMIT` is cut into pieces at the last space or
    punctuation of the window before the limit (its last tenth), else at the
    limit; the text around it stays in segments of its own.
    """
    n = len(text)
    start = pos = 0
    while n > LINE_LIMIT and pos < n:
        newline = text.find("\n", pos)
        end = n if newline < 0 else newline
        if end - pos > LINE_LIMIT:
            if pos > start:
                yield start, pos, False
            line_pos = pos
            while end - line_pos > LINE_LIMIT:
                limit = line_pos + LINE_LIMIT
                cut = limit
                for match in _SOFT_BREAK.finditer(text, limit - LINE_LIMIT // 10, limit):
                    cut = match.end()
                yield line_pos, cut, True
                line_pos = cut
            yield line_pos, end, True
            start = end
        pos = end + 1
    if start < n or n == 0:
        yield start, n, False


def _locate(text: str, chunk: str, prev_start: int, prev_end: int) -> int:
    """Where ``chunk`` starts: after the previous chunk's start and by its end (chunks overlap).

    The search is bounded to that window, so finding every chunk of a text is
    linear in the text (a failed unbounded ``find`` rescans the whole text).
    """
    lo = prev_start + 1
    hi = max(lo, prev_end) + 64 + len(chunk)
    found = text.find(chunk, lo, hi)
    if found < 0:
        found = text.find(chunk, lo, max(lo, prev_end) + LINE_LIMIT + len(chunk))
    return found if found >= 0 else max(0, min(prev_end, len(text) - len(chunk)))


_WORDS = re.compile(r"\w+")


def copy_key(text: str) -> str:
    """What two passages share when they are copies: their words, case and punctuation aside."""
    return " ".join(_WORDS.findall(text.lower()))


def collapse_copies(chunks: Sequence[Chunk]) -> tuple[list[Chunk], list[tuple[str, Chunk]]]:
    """The first of each set of passages with the same words, and (id of the kept one, copy) for the rest.

    Linear (one dictionary look-up per passage). A passage without words (digits-only
    tables keep theirs: digits are words here) is never a copy.
    """
    first: dict[str, str] = {}
    kept: list[Chunk] = []
    copies: list[tuple[str, Chunk]] = []
    for chunk in chunks:
        key = copy_key(chunk.text)
        if key and key in first:
            copies.append((first[key], chunk))
            continue
        if key:
            first[key] = chunk.id
        kept.append(chunk)
    return kept, copies


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> tuple[str, ...]:
    out = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        out.append(x)
    return tuple(out)


def embed_text(chunk: Chunk) -> str:
    """What the embedder sees: the nearest headings as context, then the passage."""
    if not chunk.section:
        return chunk.text
    context = " > ".join(chunk.section[-2:])[:120]
    return f"{context}\n{chunk.text}"
