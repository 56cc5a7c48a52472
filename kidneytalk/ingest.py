"""The ingest run: files in, parsed, cleaned, chunked, filtered, embedded and stored.

One :class:`IngestRun` is one ``Library.add`` or ``Library.reindex`` call. The
stages run in order — parse, clean, chunk, filter, embed, store — with parsing
overlapped with embedding (a producer thread, at a lower priority, prepares files
a few ahead and feeds a small queue). Embedding batches span files, so a folder
of small documents is embedded in full batches rather than a short batch per
file; each batch runs on an embedding thread, outside the library lock, while
this thread stores the files already embedded under the write lock, in input order:
the files whose vectors came back together in one short step, with one write to the
vector store (:meth:`IngestRun._store_together`; one file alone: :meth:`IngestRun.store`).

Any file fails alone: a name that is not valid UTF-8 or holds newlines or
control characters is shown escaped (:mod:`kidneytalk.names`) in results,
the catalog and the log; a file over the size or page limits in the settings
is refused before any work starts; Cancel reaches the chunker and OCR
mid-file. The library-wide consistency rules (what ``ready`` means, recovery
after a writer died) are in :mod:`kidneytalk.library`.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from kidneytalk import catalog as cat
from kidneytalk.catalog import Document
from kidneytalk.chunk import CancelFlag, Chunker, collapse_copies, embed_text
from kidneytalk.clean import clean_document
from kidneytalk.cpu import quick_gil_handoff, yield_to_embedding
from kidneytalk.dedup import passage_digest
from kidneytalk.errors import Cancelled, KidneyTalkError, WorkSpaceError
from kidneytalk.filter import Judge, filter_chunks
from kidneytalk.memory import give_back
from kidneytalk.names import error_summary, safe_text, shown, shown_path
from kidneytalk.ocr import DocumentOcr, save_words
from kidneytalk.parse import (
    MARKDOWN_SUFFIXES,
    PYMUPDF_SUFFIXES,
    TEXT_SUFFIXES,
    is_supported,
    parse_file,
)
from kidneytalk.records import Chunk, DroppedChunk, ParsedDocument, ProgressEvent
from kidneytalk.tables import TableReader

if TYPE_CHECKING:
    from kidneytalk.config import Settings
    from kidneytalk.library import Library

log = logging.getLogger(__name__)

ProgressCallback = Callable[[ProgressEvent], None]
_EMBED_BATCH = (
    256  # chunks per embedding call (across files); progress and cancel checks between calls
)
# How far the parsing thread may run ahead of the run: files (each holds only its passages' text
# by then) and passages queued (four groups; the run itself holds up to two more, one being
# embedded and one gathered, and one long file may pass the budget). When a group's vectors come
# back, the next group is already gathered, so the embedder never waits for parsing. With 8
# files (about 220 PubMedQA passages, less than one group) parsing stopped for the length of a
# whole group and the embedder then waited for it: 0.1-0.25 s gaps between groups.
_PREPARE_AHEAD = 64
_PREPARE_AHEAD_CHUNKS = 4 * _EMBED_BATCH
_IDLE_POLL = 0.05  # s: how often the run looks at the embedder while the next file is read


@dataclass
class AddResult:
    """Outcome of one input file: added, exists, failed, skipped or cancelled."""

    path: str
    status: str
    message: str
    doc_id: str = ""
    chunks_kept: int = 0
    chunks_dropped: int = 0
    pages: int = 0

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class _Prepared:
    path: Path
    sha: str = ""
    size: int = 0
    parsed: ParsedDocument | None = None
    chunks: list[Chunk] = field(default_factory=list)
    dropped: list[DroppedChunk] = field(default_factory=list)
    copies: list[tuple[str, Chunk]] = field(default_factory=list)  # (kept id, repeat) stored once
    # passages already stored with another document (same normalised text): not embedded
    elsewhere: list[Chunk] = field(default_factory=list)
    # chunk id -> dedup.passage_digest of its text, computed once on the preparing thread
    digests: dict[str, str] = field(default_factory=dict)
    error: str = ""
    # the error is this computer's (no room to read the file), not the file's: not recorded as a
    # failed document, so a followed folder tries it again
    transient: bool = False
    skip: str = ""  # "exists" when already ready in the library
    existing: Document | None = None
    index: int = 0  # 1-based position in the batch
    agent_filtered: bool = False
    vectors: np.ndarray | None = None
    scheduled: int = 0  # chunks handed to the embedder so far
    embedded: int = 0  # chunks with vectors so far

    def digest(self, chunk: Chunk) -> str:
        """The catalog's ``dup_key`` of ``chunk`` (:func:`kidneytalk.dedup.passage_digest`)."""
        found = self.digests.get(chunk.id)
        if found is None:
            found = self.digests[chunk.id] = passage_digest(chunk.text)
        return found

    @property
    def embedding_done(self) -> bool:
        return self.embedded >= len(self.chunks)

    @property
    def pages(self) -> int:
        return self.parsed.page_count if self.parsed is not None else 0


@dataclass
class _Staged:
    """A file written up to its vectors: its ``indexing`` row, its passages and their vectors."""

    prep: _Prepared
    doc_id: str
    stored: Path  # the library's copy of the file
    existing: Document | None
    kept: list[Chunk]
    vectors: np.ndarray | None
    copies: list[tuple[str, Chunk]]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expand_inputs(inputs: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[AddResult]]:
    """Files to ingest (folders recursively, sorted) and results for bad inputs."""
    files: list[Path] = []
    problems: list[AddResult] = []
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw).expanduser()
        if not path.exists():
            problems.append(
                AddResult(shown_path(path), "failed", f"{shown_path(path)}: no such file or folder")
            )
            continue
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    child = Path(root) / name
                    if name.startswith("."):
                        continue
                    if (
                        not child.is_file()
                    ):  # FIFOs, sockets, devices, dangling links: never open them
                        problems.append(
                            AddResult(
                                shown_path(child),
                                "skipped",
                                f"{shown(child)}: skipped (not a regular file)",
                            )
                        )
                    elif not is_supported(child):
                        problems.append(
                            AddResult(
                                shown_path(child),
                                "skipped",
                                f"{shown(child)}: skipped (unsupported file type)",
                            )
                        )
                    elif child.resolve() not in seen:
                        seen.add(child.resolve())
                        files.append(child)
        elif not path.is_file():
            problems.append(
                AddResult(shown_path(path), "failed", f"{shown_path(path)}: not a regular file")
            )
        elif not is_supported(path):
            problems.append(
                AddResult(
                    shown_path(path),
                    "failed",
                    f"{shown(path)}: unsupported file type "
                    f"'{shown(path.suffix.lower()) or '(none)'}'",
                )
            )
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            files.append(path)
    return files, problems


# Room kept free on the library's disk: the vector store and the catalog need space to open and to
# commit (chromadb left on a full disk cannot even be opened again), logs and conversations some more.
SPACE_MARGIN = 64 * 1024 * 1024
BYTES_PER_PASSAGE = 32 * 1024  # vector, HNSW links, text in the catalog and the lexical index, WAL


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC, or SQLite's / chromadb's way of saying the same."""
    return getattr(exc, "errno", None) == errno.ENOSPC or any(
        m in str(exc).lower() for m in ("disk is full", "no space left")
    )


def space_problem(folder: Path, needed: int, margin: int = SPACE_MARGIN) -> str:
    """'not enough space in <folder> …' when storing ``needed`` bytes would leave less than ``margin``."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    if free - needed >= margin:
        return ""
    mib = 1024 * 1024
    return (
        f"not enough space in {folder} ({free // mib} MiB free; about {(needed + margin) // mib} MiB "
        "needed to store it safely): free some space and add it again"
    )


def over_limits(settings: Settings, path: Path, size: int) -> str:
    """Why ``path`` is refused before any work starts (size or page limits in the settings), or ''."""
    s = settings
    suffix = path.suffix.lower()
    text_file = suffix in TEXT_SUFFIXES | MARKDOWN_SUFFIXES
    limit_mb, key = (s.max_text_mb, "max_text_mb") if text_file else (s.max_file_mb, "max_file_mb")
    if limit_mb and size > limit_mb * 1_000_000:
        what = " of text" if text_file else ""
        return (
            f"{shown(path)}: {size / 1_000_000:.1f} MB{what} is over the {limit_mb} MB limit for one file "
            f"(to add it anyway: kidneytalk settings set {key} 0)"
        )
    if s.max_pages and suffix in PYMUPDF_SUFFIXES:
        pages = _page_count(path)
        if pages is not None and pages > s.max_pages:
            return (
                f"{shown(path)}: {pages} pages is over the {s.max_pages}-page limit for one file "
                "(to add it anyway: kidneytalk settings set max_pages 0)"
            )
    return ""


class IngestRun:
    """One ``add``/``reindex`` call: files prepared ahead, embedded in batches across files,
    stored under the write lock as their vectors come back, with results in input order."""

    def __init__(
        self,
        lib: Library,
        *,
        filter_agent: Judge | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        force: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ):
        self.lib, self.filter_agent, self.progress, self.cancel = (
            lib,
            filter_agent,
            progress,
            cancel,
        )
        self.force, self.on_wait = force, on_wait
        # in input order; the head is stored as soon as it is embedded
        self.pending: list[_Prepared] = []
        self.results: list[AddResult] = []
        self.total = self.pages_done = self.chunks_done = 0
        # the group being embedded on the embedding thread, and its vectors to come
        self._inflight: tuple[list[tuple[_Prepared, int, int]], Future[np.ndarray]] | None = None
        self._embedding: ThreadPoolExecutor | None = None
        self._parsing_failed = ""  # why the parsing thread stopped before the last file, if it did

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def unembedded(self) -> int:
        """Chunks of the pending files not yet handed to the embedder."""
        return sum(len(p.chunks) - p.scheduled for p in self.pending if self._embeds(p))

    @staticmethod
    def _embeds(prep: _Prepared) -> bool:
        return not prep.skip and not prep.error and prep.parsed is not None

    def _event(self, prep: _Prepared, stage: str, **changes: object) -> ProgressEvent:
        event = ProgressEvent(
            stage, shown(prep.path), prep.index, self.total, self.pages_done, 0, self.chunks_done
        )
        return _with(event, **changes) if changes else event

    def embed_next(self) -> None:
        """Hand the next ``_EMBED_BATCH`` chunks of the pending files (whichever files they belong
        to) to the embedding thread, then take the vectors of the group before it.

        The caller stores the files those vectors finish while the new group is embedded.
        """
        group: list[tuple[_Prepared, int, int]] = []
        room = _EMBED_BATCH
        for prep in self.pending:
            todo = len(prep.chunks) - prep.scheduled if self._embeds(prep) else 0
            if todo > 0 and room > 0:
                n = min(todo, room)
                group.append((prep, prep.scheduled, prep.scheduled + n))
                prep.scheduled += n
                room -= n
        previous, self._inflight = self._inflight, None
        if group:
            first = group[0][0]
            _emit(
                self.progress,
                self._event(
                    first,
                    "embed",
                    pages_total=first.pages,
                    file_fraction=first.embedded / len(first.chunks),
                    message=f"{len(first.chunks)} chunks",
                ),
            )
            texts = [embed_text(c) for prep, a, b in group for c in prep.chunks[a:b]]
            if self._embedding is None:
                self._embedding = ThreadPoolExecutor(1, thread_name_prefix="kidneytalk-embed")
            embed = self.lib.embedder.embed
            self._inflight = (group, self._embedding.submit(embed, texts, cancel=self.cancelled))
        if previous is not None:
            self._take_vectors(*previous)

    def _take_vectors(
        self, group: list[tuple[_Prepared, int, int]], future: Future[np.ndarray]
    ) -> None:
        try:
            vectors = future.result()  # an embedding error is raised here, in the run's thread
        except Cancelled:
            return  # stopped mid-group: these files are not stored
        offset = 0
        for prep, a, b in group:
            if prep.vectors is None:
                prep.vectors = np.empty((len(prep.chunks), vectors.shape[1]), dtype=np.float32)
            prep.vectors[a:b] = vectors[offset : offset + b - a]
            offset += b - a
            prep.embedded = b
            fraction = b / len(prep.chunks)
            _emit(
                self.progress,
                self._event(
                    prep,
                    "embed",
                    pages_done=self.pages_done + int(prep.pages * fraction),
                    pages_total=prep.pages,
                    chunks_done=self.chunks_done + b,
                    file_fraction=fraction,
                ),
            )

    def _settle(self) -> None:
        """Wait for the embedding thread to finish the group it holds and shut it down (after a
        Cancel its vectors are not used): nothing of this run embeds after it returns."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            try:
                inflight[1].result()
            except Exception:
                log.debug("embedding after a cancel or an error failed", exc_info=True)
        if self._embedding is not None:
            self._embedding.shutdown(wait=True)
            self._embedding = None

    def store_finished(self) -> None:
        """Store, in input order, the files at the head of the queue whose vectors are all there."""
        done: list[_Prepared] = []
        while self.pending and (
            not self._embeds(self.pending[0]) or self.pending[0].embedding_done
        ):
            if self.cancelled() and self._embeds(self.pending[0]):
                break  # stopped: keep nothing more
            done.append(self.pending.pop(0))
        together: list[_Prepared] = []
        for k, prep in enumerate(done):
            if prep.skip == "exists" and prep.existing is not None:
                left = self._finish(together)
                together = []
                if left:  # stopped by a Cancel: these and the rest, in order, are not stored
                    self.pending[:0] = left + done[k:]
                    return
                msg = f"{shown(prep.path)}: already in library as {prep.existing.name} ({prep.existing.id})"
                self._report(
                    prep, AddResult(shown_path(prep.path), "exists", msg, prep.existing.id)
                )
                continue
            together.append(prep)
        self.pending[:0] = self._finish(together)

    def _finish(self, preps: list[_Prepared]) -> list[_Prepared]:
        """Store ``preps`` (embedded, in input order) in one hold of the write lock; those not
        stored because of a Cancel are returned (they are reported as not kept)."""
        if not preps:
            return []
        with self.lib.writing("adding documents", self.on_wait):
            results = self._store_together(preps)
        for prep, result in zip(preps, results, strict=False):
            prep.vectors = None
            self._report(prep, result)
        return preps[len(results) :]

    def _report(self, prep: _Prepared, result: AddResult) -> None:
        self.results.append(result)
        self.pages_done += result.pages
        self.chunks_done += result.chunks_kept
        stage = "skip" if result.status == "exists" and prep.skip else "done"
        _emit(
            self.progress,
            self._event(prep, "error" if result.failed else stage, message=result.message),
        )

    def _store_together(self, preps: list[_Prepared]) -> list[AddResult]:
        """Store ``preps`` with one vector-store write for all of them (under the write lock);
        their results, in order: fewer than ``preps`` after a Cancel (the rest are not stored).

        Each write to the vector store costs about 15 ms whatever its size, as much as storing
        the passages of a short file: the new files whose vectors came back together are
        written up to their vectors one by one, their vectors go in at once, and then each is
        marked ready, in input order. A file already in the catalog (re-indexed, or the same
        content earlier in this group) is stored on its own, after those before it. When
        anything fails, the files not yet ready are undone and stored one by one, so a file
        that cannot be stored fails alone, as it would have on its own.
        """
        results: list[AddResult | None] = [None] * len(preps)
        staged: list[tuple[int, _Staged]] = []  # written up to their vectors, not ready yet
        keys: dict[str, str] = {}  # passage digest -> id, of the passages staged so far
        try:
            for i, prep in enumerate(preps):
                if self.cancelled() and self._embeds(prep):
                    break  # stopped: what is staged is stored, nothing after it
                if prep.sha and self.lib.catalog.by_sha(prep.sha) is not None:
                    self._flush(staged, results)
                    keys.clear()
                    results[i] = self._store_one(prep)
                    continue
                out = self._stage(prep, keys)
                if isinstance(out, AddResult):
                    results[i] = out
                else:
                    staged.append((i, out))
            self._flush(staged, results)
        except Exception:
            log.warning(
                "storing %d files together failed: storing them one by one",
                len(preps),
                exc_info=True,
            )
            self._undo(s for _, s in staged)
            for i, prep in enumerate(preps):
                if results[i] is None:
                    if self.cancelled() and self._embeds(prep):
                        break
                    results[i] = self._store_one(prep)
        done = list(itertools.takewhile(lambda r: r is not None, results))
        return cast(list[AddResult], done)

    def _undo(self, staged: Iterable[_Staged]) -> None:
        """Take back the vectors of staged files that are still ``indexing`` (not made ready):
        each is then stored again on its own, as a file seen before."""
        for s in staged:
            try:
                doc = self.lib.catalog.by_sha(s.prep.sha)
                if doc is not None and doc.status == cat.STATUS_INDEXING:
                    self.lib.store.delete_doc(s.doc_id)
            except Exception:  # storing it again deletes them too, or fails it alone
                log.warning("could not undo %s", shown_path(s.prep.path), exc_info=True)

    def _flush(self, staged: list[tuple[int, _Staged]], results: list[AddResult | None]) -> None:
        """Write the vectors of the ``staged`` files at once, then mark each ready (in order)."""
        if not staged:
            return
        self._write_vectors([s for _, s in staged])
        while staged:  # each leaves the list once ready: what is left is undone on a failure
            i, s = staged[0]
            results[i] = self._complete(s)
            staged.pop(0)

    def _write_vectors(self, staged: list[_Staged]) -> None:
        """The vectors of the ``staged`` files, in one write to the vector store."""
        with_vectors = [s for s in staged if s.kept]
        if with_vectors:
            self.lib.store.add(
                [c.id for s in with_vectors for c in s.kept],
                [s.doc_id for s in with_vectors for _ in s.kept],
                np.concatenate([s.vectors for s in with_vectors if s.vectors is not None]),
            )

    def _store_one(self, prep: _Prepared) -> AddResult:
        """Store one file on its own; an error of the disk or the catalog fails it alone."""
        try:
            return self.store(prep)
        except OSError as exc:  # e.g. the file vanished or the disk is full: this file fails alone
            return self._fail_storing(prep, exc)
        except Exception as exc:  # e.g. text SQLite refuses, or the vector store's disk is full
            if not isinstance(exc, ValueError | sqlite3.Error) and not _disk_full(exc):
                raise
            log.exception("could not store %s", shown_path(prep.path))
            return self._fail_storing(
                prep,
                OSError(errno.ENOSPC, "disk full")
                if _disk_full(exc)
                else OSError(f"{type(exc).__name__}: {safe_text(str(exc))}"),
            )

    def _collapse_stored(
        self, prep: _Prepared, doc_id: str, keys: dict[str, str] | None = None
    ) -> tuple[list[Chunk], np.ndarray | None, list[tuple[str, Chunk]]]:
        """The passages to store for ``prep`` (with their vectors) and (stored id, copy) for the rest.

        A passage whose normalised text (:func:`kidneytalk.dedup.passage_key`) is already
        stored with a searchable document, or earlier in this one, becomes a copy. Checked
        again here, under the write lock: a passage stored since the file was prepared
        (earlier in the batch) is caught, and one matched then whose stored passage has
        gone since is embedded now. ``keys`` (digest -> id): passages of files staged before this
        one in the same write, not in the catalog yet; this file's stored passages are added.
        """
        vectors = {c.id: i for i, c in enumerate(prep.chunks)}
        candidates = sorted([*prep.chunks, *prep.elsewhere], key=lambda c: c.seq)
        digests = {c.id: prep.digest(c) for c in candidates}
        found = self.lib.catalog.stored_by_key(
            digests.values(), self.lib.embed_model_id, exclude=doc_id
        )
        if keys:
            found = {**{d: keys[d] for d in digests.values() if d in keys}, **found}
        own: dict[str, str] = {}
        redirect: dict[str, str] = {}  # a passage of this file that is a copy -> where it is stored
        kept: list[Chunk] = []
        copies: list[tuple[str, Chunk]] = []
        for c in candidates:
            digest = digests[c.id]
            target = found.get(digest) or own.get(digest) if digest else None
            if target:
                copies.append((target, c))
                redirect[c.id] = target
                continue
            if digest:
                own[digest] = c.id
            kept.append(c)
        copies += [(redirect.get(first, first), c) for first, c in prep.copies]
        if keys is not None:
            keys.update(own)
        late = [c for c in kept if c.id not in vectors]
        if not kept:
            return kept, None, copies
        assert prep.vectors is not None or late
        dim = prep.vectors.shape[1] if prep.vectors is not None else 0
        fresh = self.lib.embedder.embed([embed_text(c) for c in late]) if late else None
        if fresh is not None:
            dim = fresh.shape[1]
        out = np.empty((len(kept), dim), dtype=np.float32)
        at = {c.id: i for i, c in enumerate(late)}
        for row, c in enumerate(kept):
            if c.id in vectors:
                assert prep.vectors is not None
                out[row] = prep.vectors[vectors[c.id]]
            else:
                assert fresh is not None
                out[row] = fresh[at[c.id]]
        return kept, out, copies

    def _skip_stored(self, prep: _Prepared) -> None:
        """Set aside (not to embed) the prepared passages already stored with a searchable document."""
        if not prep.chunks or prep.skip or prep.error:
            return
        exclude = prep.existing.id if prep.existing else prep.sha[:12]
        digests = [prep.digest(c) for c in prep.chunks]
        found = self.lib.catalog.stored_by_key(digests, self.lib.embed_model_id, exclude=exclude)
        if found:
            prep.elsewhere = [c for c, d in zip(prep.chunks, digests, strict=True) if d in found]
            prep.chunks = [c for c, d in zip(prep.chunks, digests, strict=True) if d not in found]

    def prepare(
        self,
        path: Path,
        chunker: Chunker,
        known: Callable[[str], Document | None],
        cancel: CancelFlag | None = None,
        ocr: DocumentOcr | None = None,
        tables: TableReader | None = None,
    ) -> _Prepared:
        """Hash, parse (OCR where a page needs it; ``tables``: the batch's table reader), clean,
        chunk and rule-filter one file (no library writes)."""
        prep = _Prepared(path)
        name = shown(path)
        try:
            prep.size = path.stat().st_size
            too_big = over_limits(self.lib.settings, path, prep.size)
            if too_big:
                prep.error = too_big
                return prep
            prep.sha = file_sha256(path)
            existing = known(prep.sha)
            prep.existing = existing
            if existing and existing.status == cat.STATUS_READY and not self.force:
                prep.skip = "exists"
                return prep
            # Pages are read once into a temporary file, then go through cleaning and cutting one
            # at a time (each stage lets go of what it has read): a long document is held as its
            # passages only, not as raw blocks, cleaned blocks and sections too.
            parsed = parse_file(
                path,
                ocr=ocr or DocumentOcr(file=path.name),
                tables=tables,
                stream=True,
                spill_dir=self.lib.paths.data,  # private, and on the disk the library needs room on
            )
            try:
                parsed = clean_document(parsed, consume=True)
                prep.parsed = parsed
                doc_id = existing.id if existing else prep.sha[:12]
                prep.chunks = chunker.chunk(doc_id, parsed, cancel=cancel, consume=True)
            finally:
                if not isinstance(parsed.pages, list):
                    parsed.pages.close()
            prep.chunks, prep.dropped = filter_chunks(prep.chunks)
            prep.chunks, prep.copies = collapse_copies(prep.chunks)  # before embedding: once each
            # dedup keys: worked out here, in the embedder's gaps, not under the write lock
            for c in prep.chunks:
                prep.digest(c)
            if not prep.chunks and not parsed.needs_ocr:
                prep.error = f"{name}: no usable text found"
            # the chunks hold the text now: the pages' blocks are not kept while the file waits
            # for the embedder (a long document would otherwise be held twice, up to
            # _PREPARE_AHEAD files at a time)
            parsed.pages = []
            give_back()  # what parsing freed (MuPDF's and Python's) goes back to the OS
        except WorkSpaceError as exc:  # no room here to read it: nothing recorded against the file
            prep.error, prep.transient = safe_text(str(exc)), True
        except KidneyTalkError as exc:
            prep.error = safe_text(str(exc))
        except OSError as exc:
            prep.error = f"{name}: cannot read file ({safe_text(exc.strerror or str(exc))})"
        except Exception as exc:  # a parser crash on one file must not stop the batch
            log.exception("unexpected error preparing %s", shown_path(path))
            prep.error = f"{name}: could not be read ({error_summary(exc)})"
        return prep

    def _prepared_stream(
        self, files: list[Path], stop: threading.Event
    ) -> Iterator[_Prepared | None]:
        """Prepare files in a background thread, ahead of the consumer by up to ``_PREPARE_AHEAD``
        files and ``_PREPARE_AHEAD_CHUNKS`` passages (OCR reports progress from it).

        Yields ``None`` when the consumer would have to wait for the next file, and again every
        ``_IDLE_POLL`` seconds while it is not ready, so the consumer can feed the embedder and store
        finished files meanwhile instead of idling until a full batch has gathered.
        """
        chunker = Chunker(
            self.lib.embedder.token_counter(), self.lib.settings.chunk, self.lib.embedder.max_tokens
        )
        q: queue.Queue[_Prepared | None] = queue.Queue(maxsize=_PREPARE_AHEAD)
        room = threading.Condition()
        queued = [0]  # passages prepared and not yet taken by the consumer

        def work() -> None:
            db: sqlite3.Connection | None = None
            tables = TableReader(cancel=_Either(stop, self.cancel))  # one helper for the batch

            def known(sha: str) -> Document | None:
                assert db is not None
                row = db.execute("SELECT * FROM documents WHERE sha256=?", (sha,)).fetchone()
                return Document.from_row(row) if row else None

            try:  # whatever fails here, the consumer gets its end marker and does not wait on
                yield_to_embedding()  # parse in the gaps the embedder leaves, not on its cores
                db = sqlite3.connect(str(self.lib.paths.catalog), timeout=60)
                db.row_factory = sqlite3.Row
                either = _Either(stop, self.cancel)
                for index, path in enumerate(files, start=1):
                    if either.is_set():
                        break
                    ocr = DocumentOcr(
                        file=shown(path),
                        file_index=index,
                        files_total=len(files),
                        progress=self.progress,
                        cancel=either,
                    )
                    prep = self.prepare(path, chunker, known, either, ocr, tables)
                    with room:
                        queued[0] += len(prep.chunks)
                    q.put(prep)
                    with room:
                        ahead = queued[0] >= _PREPARE_AHEAD_CHUNKS
                    if ahead:  # an idle helper would hold a few hundred MiB while this waits
                        tables.close()
                    with room:  # far enough ahead: parse on when the consumer has taken some
                        while queued[0] >= _PREPARE_AHEAD_CHUNKS and not either.is_set():
                            room.wait(_IDLE_POLL)
            except Exception as exc:  # a file's own errors are caught in prepare(): not one of them
                log.exception("the parsing thread stopped")
                self._parsing_failed = error_summary(exc)
            finally:
                tables.close()  # an idle helper would hold a few hundred MiB
                if db is not None:
                    db.close()
                q.put(None)

        thread = threading.Thread(target=work, name="kidneytalk-prepare", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    # nothing prepared yet: the consumer may feed the embedder and store what
                    # it has finished, then asks again
                    yield None
                    try:
                        item = q.get(timeout=_IDLE_POLL)
                    except queue.Empty:
                        continue
                if item is None:
                    break
                with room:
                    queued[0] -= len(item.chunks)
                    room.notify()
                yield item
        finally:
            stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                try:
                    q.get(timeout=0.1)
                except queue.Empty:
                    pass

    def run(self, files: list[Path]) -> list[AddResult]:
        """Ingest ``files``; each fails alone, and after a Cancel nothing more is written."""
        if not files:
            return []
        self.total = len(files)
        started = time.monotonic()
        _emit(
            self.progress,
            ProgressEvent(
                "start",
                files_total=len(files),
                message="" if self.lib.embedder_loaded else "loading the embedding model",
            ),
        )
        stop = threading.Event()
        try:
            with quick_gil_handoff():  # the embedding thread is not kept waiting for the GIL
                seen = self._run(files, stop)
        finally:
            self._settle()
        # only after a cancel: embedded partly or not at all, nothing written
        for prep in self.pending:
            self.results.append(
                AddResult(
                    shown_path(prep.path),
                    "cancelled",
                    f"{shown(prep.path)}: cancelled; nothing was kept",
                )
            )
        for path in files[seen:]:
            if self._parsing_failed and not self.cancelled():  # not read: nothing was written
                msg = f"{shown(path)}: not read (reading stopped: {self._parsing_failed})"
                self.results.append(AddResult(shown_path(path), "failed", msg))
                continue
            self.results.append(
                AddResult(shown_path(path), "cancelled", f"{shown(path)}: cancelled")
            )
        log.info("ingested %d files in %.1f s", len(files), time.monotonic() - started)
        return self.results

    def _run(self, files: list[Path], stop: threading.Event) -> int:
        """Prepare, embed and store ``files`` until done or cancelled; how many were taken up."""
        seen = 0
        for prep in self._prepared_stream(files, stop):
            if prep is None:
                # The next file is not ready (OCR, a long document): keep the embedder busy and
                # store the files it has finished, so the files before it are searchable (and
                # kept if the user cancels) without waiting for it.
                self._while_waiting()
                continue
            seen += 1
            prep.index = seen
            if self.cancelled():
                seen -= 1
                break
            agent = self.filter_agent
            if agent is not None and prep.chunks and not prep.skip and not prep.error:
                prep.chunks, agent_dropped = filter_chunks(prep.chunks, agent=agent)
                prep.dropped = sorted(prep.dropped + agent_dropped, key=lambda d: d.chunk.seq)
                prep.agent_filtered = True
            self._skip_stored(prep)
            self.pending.append(prep)
            while self.unembedded() >= _EMBED_BATCH and not self.cancelled():
                self.embed_next()
                self.store_finished()  # while the group just handed over is embedded
            self.store_finished()
        stop.set()
        self._drain()
        return seen

    def _while_waiting(self) -> None:
        """While the next file is read, without blocking: hand the passages gathered so far to an
        idle embedder, and take (and store) the vectors of a group it has finished. A group still
        being embedded is not waited for (the passages gathered meanwhile make a fuller group)."""
        if self.cancelled():
            return
        if self._inflight is None:
            if self.unembedded():
                self.embed_next()  # nothing to wait for: it only hands over a group
        elif self._inflight[1].done():
            self.embed_next()  # hands over what is gathered (if any), takes the finished vectors
            self.store_finished()

    def _drain(self) -> None:
        """Embed and store every pending file (unless cancelled): nothing waits on the embedder."""
        while (self.unembedded() or self._inflight is not None) and not self.cancelled():
            self.embed_next()
            self.store_finished()

    def store(self, prep: _Prepared) -> AddResult:
        """Copy, store the vectors of and mark ready one embedded file (under the write lock)."""
        staged = self._stage(prep)
        if isinstance(staged, AddResult):
            return staged
        self._write_vectors([staged])
        return self._complete(staged)

    def _stage(self, prep: _Prepared, keys: dict[str, str] | None = None) -> _Staged | AddResult:
        """Write one embedded file up to its vectors: its catalog row (``indexing``), its copy in
        the library and which passages it stores; or its result if it is not stored.

        ``keys``: passages of files staged before it in the same write (digest -> id), which
        it refers to instead of storing them again; its own are added.
        """
        path = prep.path
        name = shown(path)
        existing = self.lib.catalog.by_sha(prep.sha) if prep.sha else None
        if existing and existing.status == cat.STATUS_READY and not self.force:
            # the same content earlier in this batch (or by another process) got there first
            msg = f"{name}: already in library as {existing.name} ({existing.id})"
            return AddResult(shown_path(path), "exists", msg, existing.id)
        if prep.error:
            if prep.sha and not prep.transient:
                doc_id = existing.id if existing else prep.sha[:12]
                self._record_failure(doc_id, prep, prep.error)
            log.warning("failed: %s", prep.error)
            return AddResult(
                shown_path(path), "failed", prep.error, prep.sha[:12] if prep.sha else ""
            )
        assert prep.parsed is not None
        short = space_problem(self.lib.paths.data, prep.size + len(prep.chunks) * BYTES_PER_PASSAGE)
        if short:  # refused before anything is written: the library stays as it was
            log.warning("%s: %s", name, short)
            return AddResult(shown_path(path), "failed", f"{name}: {short}")
        doc_id = existing.id if existing else prep.sha[:12]
        suffix = path.suffix.lower() if path.suffix.isascii() and path.suffix.isprintable() else ""
        stored = self.lib.paths.documents / f"{doc_id}{suffix}"

        def indexing() -> None:
            self.lib.catalog.insert_indexing(
                doc_id=doc_id,
                name=existing.name if existing else name,
                original_path=shown_path(path.resolve()),
                stored_path=str(stored),
                sha256=prep.sha,
                size=prep.size,
                embed_model=self.lib.embedder.model_id,
                chunk_settings=self.lib.settings.chunk.as_dict(),
                filter_agent=prep.agent_filtered,
            )

        if existing:  # re-indexed: passages other documents share move to them before these go
            self.lib.promote_away(doc_id, during=indexing)
        else:
            with self.lib.catalog.transaction():
                indexing()
        kept, vectors, copies = self._collapse_stored(prep, doc_id, keys)
        if existing:
            self.lib.store.delete_doc(doc_id)
        if not stored.exists():
            stored.parent.mkdir(parents=True, exist_ok=True)
            tmp = stored.with_suffix(stored.suffix + ".part")
            shutil.copyfile(path, tmp)
            if file_sha256(tmp) != prep.sha:  # changed since it was hashed and parsed: keep nothing
                tmp.unlink()
                raise OSError(errno.EBUSY, "it changed while it was being read; add it again")
            os.replace(tmp, stored)
        return _Staged(prep, doc_id, stored, existing, kept, vectors, copies)

    def _complete(self, staged: _Staged) -> AddResult:
        """Mark a staged file ready (its vectors stored): its passages, then its result."""
        prep, doc_id, kept, copies = staged.prep, staged.doc_id, staged.kept, staged.copies
        path, name, dropped = prep.path, shown(prep.path), prep.dropped
        assert prep.parsed is not None
        parsed = prep.parsed
        save_words(staged.stored, parsed.ocr_words)
        self.lib.catalog.mark_ready(
            doc_id,
            title=safe_text(parsed.title),
            pages=parsed.page_count,
            scanned_pages=len(parsed.scanned_pages),
            needs_ocr=parsed.needs_ocr,
            kept=kept,
            dropped=dropped,
            removed=parsed.removed,
            ocr_pages=parsed.ocr_pages,
            copies=copies,
            digests=prep.digests,
            reason=f"needs OCR: {parsed.ocr_problem}"
            if parsed.needs_ocr and parsed.ocr_problem
            else None,
        )
        note = ""
        mine = {c.id for c in kept}
        elsewhere = {first for first, _ in copies if first not in mine}
        repeats = sum(first in mine for first, _ in copies)
        if elsewhere:
            note += f"; {len(elsewhere)} passages already in the library from other documents, stored once"
        if repeats:
            note += f"; {repeats} repeated passages stored once"
        if parsed.ocr_pages:
            note += f"; {len(parsed.ocr_pages)} scanned pages read by OCR"
        if parsed.needs_ocr:
            why = parsed.ocr_problem or "OCR found no text on them"
            note += (
                f"; {len(parsed.scanned_pages)} of {parsed.page_count} pages are scanned images without text "
                f"(needs OCR: {why}; those pages are not searchable)"
            )
        existing = staged.existing
        verb = "re-indexed" if existing and existing.status == cat.STATUS_READY else "added"
        passages = len(kept) + len(elsewhere)
        pages = f"{parsed.page_count} page" + ("" if parsed.page_count == 1 else "s")
        chunks = f"{passages} chunk" + ("" if passages == 1 else "s")
        msg = f"{name}: {verb} as {doc_id} ({pages}, {chunks} kept, {len(dropped)} dropped{note})"
        log.info(msg)
        return AddResult(
            shown_path(path), "added", msg, doc_id, passages, len(dropped), parsed.page_count
        )

    def _fail_storing(self, prep: _Prepared, exc: OSError) -> AddResult:
        """Undo a half-stored file while still under the write lock, and record why it failed."""
        log.warning("failed storing %s: %s", shown_path(prep.path), exc)
        msg = f"{shown(prep.path)}: could not be stored ({safe_text(exc.strerror or str(exc))})"
        if _disk_full(exc):
            msg = f"{shown(prep.path)}: not enough space in {self.lib.paths.data}: free some space and add it again"
        doc = self.lib.catalog.by_sha(prep.sha) if prep.sha else None
        if doc is None or doc.status != cat.STATUS_INDEXING:
            return AddResult(shown_path(prep.path), "failed", msg)
        self.lib.store.delete_doc(doc.id)
        with self.lib.catalog.transaction():
            self.lib.catalog.clear_chunks(doc.id)
            self.lib.catalog.set_status(doc.id, cat.STATUS_FAILED, msg)
        if doc.stored_path:
            Path(doc.stored_path + ".part").unlink(missing_ok=True)
        return AddResult(shown_path(prep.path), "failed", msg, doc.id)

    def _record_failure(self, doc_id: str, prep: _Prepared, reason: str) -> None:
        with self.lib.catalog.transaction():
            self.lib.catalog.insert_indexing(
                doc_id=doc_id,
                name=shown(prep.path),
                original_path=shown_path(prep.path.resolve()),
                stored_path="",
                sha256=prep.sha,
                size=prep.size,
                embed_model="",
                chunk_settings=self.lib.settings.chunk.as_dict(),
                filter_agent=False,
            )
            self.lib.catalog.set_status(doc_id, cat.STATUS_FAILED, reason)


class _Either:
    """Set when either event is: the user's Cancel or the ingest loop stopping (what OCR and the chunker check)."""

    def __init__(self, *events: threading.Event | None):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def _page_count(path: Path) -> int | None:
    """Pages of a PDF-like file, read from its catalogue only (None when it cannot be opened here)."""
    import pymupdf

    try:
        with pymupdf.open(path) as doc:
            return int(doc.page_count)
    except Exception:  # the parser reports unreadable files with its own message
        return None


def _emit(progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)


def _with(event: ProgressEvent, **changes: object) -> ProgressEvent:
    return replace(event, **changes)  # type: ignore[arg-type]
