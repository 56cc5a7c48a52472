"""Small typed records that flow one way through the pipeline.

parse -> ``ParsedDocument`` (``Page`` of ``Block``) -> clean -> chunk -> ``Chunk``
-> filter -> (kept ``Chunk``, ``DroppedChunk``) -> embed/store. Retrieval
returns ``Hit``; answers carry ``Citation``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

BlockKind = Literal["heading", "text", "table"]


def pages_label(first: int, last: int) -> str:
    """'p.4' or 'pp.3-4', as citations show pages."""
    return f"p.{first}" if first == last else f"pp.{first}-{last}"


@dataclass
class Block:
    """A run of text on one page with its role and the headings above it."""

    text: str
    page: int  # 1-based
    kind: BlockKind = "text"
    section: tuple[str, ...] = ()
    font_size: float = 0.0
    bold: bool = False
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    # One box per line of ``text`` (split on "\n") when the parser knows them; empty otherwise.
    lines: tuple[tuple[float, float, float, float], ...] = ()


@dataclass
class Page:
    number: int  # 1-based
    blocks: list[Block] = field(default_factory=list)
    has_text_layer: bool = True
    width: float = 0.0  # in the coordinates of the block boxes (0: unknown)
    height: float = 0.0


@dataclass
class RemovedText:
    """Text taken out of a document before chunking (never silently): what, where and why.

    ``code`` is stable data for programs (``furniture``, ``page-number``, ``notice``);
    ``reason`` is the sentence shown to people.
    """

    page: int
    text: str
    code: str
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "line",
            "code": self.code,
            "reason": self.reason,
            "pages": [self.page, self.page],
            "text": self.text,
        }


class PageStream(Protocol):
    """A long document's pages read one at a time instead of held as a list (ingest).

    Each pass (``iter``) yields the pages in order; what a pass yields is let go by the time it
    has moved on. ``close()`` lets go of what keeps the pages (a temporary file).
    """

    def __iter__(self) -> Iterator[Page]: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


@dataclass
class ParsedDocument:
    path: str
    title: str
    pages: list[Page] | PageStream  # a list, or (ingest) pages read one at a time
    page_count: int
    scanned_pages: list[int] = field(
        default_factory=list
    )  # pages with no text layer (and no OCR text)
    removed: list[RemovedText] = field(
        default_factory=list
    )  # furniture and notices the cleaner took out
    ocr_pages: list[int] = field(default_factory=list)  # pages whose text was read by OCR
    ocr_problem: str = ""  # why pages that needed OCR got no text (engine missing, failure)
    ocr_words: dict[int, list[tuple[float, float, float, float, str]]] = field(default_factory=dict)

    @property
    def needs_ocr(self) -> bool:
        """True when a real share of the pages are images with no text layer."""
        return bool(self.scanned_pages) and len(self.scanned_pages) >= max(1, self.page_count // 5)


@dataclass(frozen=True)
class Chunk:
    """A passage small enough for the embedder, with where it came from."""

    doc_id: str
    seq: int
    text: str
    page_start: int
    page_end: int
    section: tuple[str, ...] = ()
    char_start: int = 0  # span in the document's cleaned text
    char_end: int = 0
    n_tokens: int = 0

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.seq:05d}"

    @property
    def pages_label(self) -> str:
        return pages_label(self.page_start, self.page_end)


@dataclass
class DroppedChunk:
    chunk: Chunk
    reason: str


@dataclass(frozen=True)
class Hit:
    """A chunk returned by retrieval, with its source for citing."""

    chunk_id: str
    doc_id: str
    doc_name: str
    text: str
    page_start: int
    page_end: int
    section: tuple[str, ...]
    score: float  # cosine similarity (higher is closer)
    relevance: float | None = None  # the relevance judge's calibrated P(relevant), if it ran
    reason: str = ""  # the judge's one-sentence reason, for display
    queries: list[str] = field(default_factory=list)  # the search queries that found it
    ocr: bool = False  # the passage has text read by OCR from a scanned page
    also_in: list[str] = field(
        default_factory=list
    )  # "doc p.N" of near-copies collapsed into this hit

    @property
    def pages_label(self) -> str:
        return pages_label(self.page_start, self.page_end)

    @property
    def places(self) -> list[tuple[str, range]]:
        """(document name, pages) where the passage is stored, then every place ``also_in`` names:
        a copy stored once is as citable as the stored passage (issue 17)."""
        out = [(self.doc_name, range(self.page_start, self.page_end + 1))]
        for label in self.also_in:  # "name p.4" or "name pp.3-4"
            name, _, pages = label.rpartition(" ")
            first, _, last = pages.lstrip("p.").partition("-")
            if first.isdigit() and (not last or last.isdigit()):
                out.append((name, range(int(first), int(last or first) + 1)))
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.chunk_id,
            "doc_id": self.doc_id,
            "source": self.doc_name,
            "pages": list(range(self.page_start, self.page_end + 1)),
            "section": list(self.section),
            "score": round(self.score, 4),
            "relevance": None if self.relevance is None else round(self.relevance, 3),
            "reason": self.reason,
            "ocr": self.ocr,
            "also_in": self.also_in,
            "text": self.text,
        }


@dataclass(frozen=True)
class Citation:
    """``[n]`` in an answer, resolved to a document and its pages."""

    n: int
    doc_id: str
    source: str
    pages: list[int]
    chunk_id: str
    ocr: bool = False  # the passage came from OCR of a scanned page

    @classmethod
    def of(cls, n: int, hit: Hit) -> Citation:
        """``[n]`` pointing at evidence passage ``hit``."""
        return cls(
            n,
            hit.doc_id,
            hit.doc_name,
            list(range(hit.page_start, hit.page_end + 1)),
            hit.chunk_id,
            ocr=hit.ocr,
        )

    @property
    def label(self) -> str:
        return f"[{self.source} {pages_label(self.pages[0], self.pages[-1])}]"

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "source": self.source,
            "pages": self.pages,
            "chunk_id": self.chunk_id,
            "ocr": self.ocr,
        }


@dataclass
class ProgressEvent:
    """One step of a long task, for the CLI progress bar and the GUI worker."""

    stage: str  # "start", "embed", "done", "skip", "error"
    file: str = ""
    file_index: int = 0
    files_total: int = 0
    pages_done: int = 0
    pages_total: int = 0
    chunks_done: int = 0
    file_fraction: float = 0.0  # how much of the current file is done (0..1)
    message: str = ""
