"""Stage 3 — cut cleaned documents into passages the embedder sees whole.

Sections are split first (a chunk never mixes two sections, though a tiny
section is merged with its neighbour under the same top-level heading, unless
one of them is boilerplate such as a reference list); each section is
then split with langchain's ``RecursiveCharacterTextSplitter`` measuring length
in the *embedding model's* tokens, so no chunk is silently truncated by the
embedder. Sentence separators include CJK punctuation (。！？；).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from kidneytalk.config import ChunkSettings
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
    "",
]
# Tokens kept free for the section context that is prepended when embedding.
CONTEXT_RESERVE_TOKENS = 24

TokenCounter = Callable[[str], int]


@dataclass
class _Span:
    start: int
    end: int
    page: int


@dataclass
class _Unit:
    """Text of one section (or a few merged small ones) with per-block page spans."""

    section: tuple[str, ...]
    text: str = ""
    spans: list[_Span] = field(default_factory=list)

    def add(self, text: str, page: int) -> None:
        if self.text:
            self.text += "\n\n"
        start = len(self.text)
        self.text += text
        self.spans.append(_Span(start, len(self.text), page))

    def prefix(self, headings: Sequence[str]) -> None:
        """Put ``headings`` (one per line) before the text, keeping the page spans aligned."""
        if not headings:
            return
        head = "\n".join(headings) + "\n"
        self.text = head + self.text
        self.spans = [_Span(s.start + len(head), s.end + len(head), s.page) for s in self.spans]
        if self.spans:
            self.spans[0].start = 0

    def pages_for(self, start: int, end: int) -> tuple[int, int]:
        pages = [s.page for s in self.spans if s.start < end and s.end > start]
        if not pages:
            pages = [min(self.spans, key=lambda s: abs(s.start - start)).page]
        return min(pages), max(pages)


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
        self._measure = functools.lru_cache(maxsize=4096)(count_tokens)
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.size,
            chunk_overlap=self.overlap,
            length_function=self._measure,
            separators=SEPARATORS,
            keep_separator="end",
            add_start_index=True,
            strip_whitespace=True,
        )

    def units(self, doc: ParsedDocument) -> list[_Unit]:
        """Group body blocks by section, merging small neighbours under one top heading."""
        raw: list[_Unit] = []
        for page in doc.pages:
            for block in page.blocks:
                if block.kind == "heading":
                    continue
                if not raw or raw[-1].section != block.section:
                    raw.append(_Unit(block.section))
                raw[-1].add(block.text, block.page)
        merged: list[_Unit] = []
        merged_tokens = 0
        for unit in raw:
            tokens = self._measure(unit.text)
            prev = merged[-1] if merged else None
            tiny = min(48, self.size // 4)
            if (
                prev is not None
                and prev.section[:1] == unit.section[:1]
                and (tokens < tiny or merged_tokens < tiny)
                and not any(boilerplate_heading(u.section[-1]) for u in (prev, unit) if u.section)
                and merged_tokens + tokens <= self.size
            ):
                common = _common_prefix(prev.section, unit.section)
                # the headings the merged unit no longer carries in its section go into its text
                prev.prefix(prev.section[len(common):])
                unit.prefix(unit.section[len(common):])
                offset = len(prev.text) + 2
                prev.text += "\n\n" + unit.text
                prev.spans.extend(_Span(s.start + offset, s.end + offset, s.page) for s in unit.spans)
                prev.section = common
                merged_tokens += tokens
            else:
                merged.append(unit)
                merged_tokens = tokens
        return merged

    def chunk(self, doc_id: str, doc: ParsedDocument) -> list[Chunk]:
        chunks: list[Chunk] = []
        doc_offset = 0
        for unit in self.units(doc):
            for text, start, n_tokens in self._pieces(unit.text):
                end = start + len(text)
                first, last = unit.pages_for(start, end)
                chunks.append(
                    Chunk(
                        doc_id=doc_id,
                        seq=len(chunks),
                        text=text,
                        page_start=first,
                        page_end=last,
                        section=unit.section,
                        char_start=doc_offset + start,
                        char_end=doc_offset + end,
                        n_tokens=n_tokens,
                    )
                )
            doc_offset += len(unit.text) + 2
        return chunks

    def _pieces(self, text: str) -> Iterator[tuple[str, int, int]]:
        """(chunk text, start offset in ``text``, tokens) of one unit.

        A unit that fits is one chunk as it is; only longer ones go through
        the splitter, which measures every candidate piece (the costly part
        of chunking: most sections of an abstract or a guideline fit).
        """
        stripped = text.strip()
        n = self._measure(stripped) if stripped else 0
        if n <= self.size:
            if stripped:
                yield stripped, text.find(stripped), n
            return
        for piece in self._splitter.create_documents([text]):
            chunk = piece.page_content
            start = int(piece.metadata.get("start_index", -1))
            if start < 0:
                start = max(0, text.find(chunk[:50]))
            yield chunk, start, self._measure(chunk)


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
