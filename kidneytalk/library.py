"""The document library: add, list, remove, enable/disable, re-index.

Ingestion runs the stages in order — parse, clean, chunk, filter, embed,
store — with parsing overlapped with embedding (a producer thread feeds a
small queue). Embedding batches span files, so a folder of small documents
is embedded in full batches rather than a short batch per file, and it runs
outside the library lock; each file is then stored under the lock in one
short step. Consistency rules:

* a document turns ``ready`` only in the same SQLite commit that records its
  chunks, after all its vectors are in chroma;
* every write holds the exclusive library lock and sets ``writer_active`` in
  the catalog; a writer that finds it set knows the previous one died (e.g.
  SIGKILL) and first rolls back: half-indexed documents lose their partial
  vectors and are marked failed ("interrupted"), half-removed ones are
  finished, and vectors without a ready or indexing document are deleted;
* adding the same file again finishes an interrupted or failed document.

Any file fails alone: a name that is not valid UTF-8 or holds newlines or
control characters is shown escaped (:mod:`kidneytalk.names`) in results,
the catalog and the log; a file over the size or page limits in the settings
is refused before any work starts; Cancel reaches the chunker mid-file.

A library folder KidneyTalk cannot write (read-only media, a read-only network
share, no permission) opens for questions only: nothing is created or changed
in it (no lock file, no journal), the catalog is read in place with SQLite's
``mode=ro`` or from a private copy, the vector store (chromadb cannot open a
folder it cannot write) from a copy in a temporary folder removed on close,
and every change is refused with one line (:meth:`Library.check_writable`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np

from kidneytalk import catalog as cat
from kidneytalk.catalog import Catalog, Document, StoredPassage
from kidneytalk.chunk import CancelFlag, Chunker, collapse_copies, embed_text
from kidneytalk.clean import clean_document
from kidneytalk.config import Paths, Settings, read_only_reason
from kidneytalk.dedup import passage_digest
from kidneytalk.embed import Embedder, embedding_model_id
from kidneytalk.errors import DocumentError, DocumentNotFoundError, KidneyTalkError
from kidneytalk.filter import Judge, filter_chunks
from kidneytalk.lock import LibraryLock
from kidneytalk.memory import give_back
from kidneytalk.names import safe_text, shown, shown_path
from kidneytalk.ocr import DocumentOcr, save_words, words_path
from kidneytalk.parse import (
    MARKDOWN_SUFFIXES,
    PYMUPDF_SUFFIXES,
    TEXT_SUFFIXES,
    is_supported,
    parse_file,
)
from kidneytalk.records import Chunk, DroppedChunk, ParsedDocument, ProgressEvent
from kidneytalk.search import SCRIPT_GLOBS, Ranking, Script
from kidneytalk.store import VectorStore

log = logging.getLogger(__name__)

ProgressCallback = Callable[[ProgressEvent], None]
_EMBED_BATCH = (
    256  # chunks per embedding call (across files); progress and cancel checks between calls
)
_PREPARE_AHEAD = 8  # prepared files queued ahead of the embedder


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
    error: str = ""
    skip: str = ""  # "exists" when already ready in the library
    existing: Document | None = None
    index: int = 0  # 1-based position in the batch
    agent_filtered: bool = False
    vectors: np.ndarray | None = None
    embedded: int = 0  # chunks with vectors so far

    @property
    def embedding_done(self) -> bool:
        return self.embedded >= len(self.chunks)

    @property
    def pages(self) -> int:
        return self.parsed.page_count if self.parsed is not None else 0


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


class Library:
    """One library on disk; opens catalog and vectors lazily, closes them explicitly."""

    def __init__(self, paths: Paths, settings: Settings, *, embedder: Embedder | None = None):
        self.paths = paths.ensure()
        self.settings = settings
        self._embedder = embedder
        self.read_only = read_only_reason(paths.data)  # why the folder cannot be written, or ""
        self.notices: list[str] = []  # what to tell the user once at start (a read-only library)
        self._scratch: Path | None = None
        self._chroma = paths.chroma
        self.lock = LibraryLock(paths.lock, read_only=bool(self.read_only))
        self._store: VectorStore | None = None
        if self.read_only:
            self.catalog = self._open_read_only()
        else:
            self.catalog = Catalog(paths.catalog)
        self._generation = self.catalog.get_meta("generation", "0")

    def _open_read_only(self) -> Catalog:
        """Catalog and vectors of a read-only library, read under its shared lock when it has one."""
        scratch = Path(tempfile.mkdtemp(prefix="kidneytalk-read-only-"))
        self._scratch = scratch
        self._cleanup = weakref.finalize(self, shutil.rmtree, scratch, True)
        with self.lock.hold(exclusive=False, what="opening read-only"):
            catalog = Catalog(self.paths.catalog, read_only=True, scratch=scratch)
            copied = catalog.copied + self._snapshot_vectors()
        note = (
            f"The library folder {self.paths.data} is read-only ({self.read_only}): it answers "
            "questions, but adding, removing and re-indexing are off"
        )
        if copied:
            note += (
                f"; its index was copied ({copied / 1024 / 1024:.1f} MiB) to {scratch}, removed on "
                "close, since the vector store cannot be opened read-only"
            )
        self.notices.append(note + ".")
        log.warning(note)
        return catalog

    def _snapshot_vectors(self) -> int:
        """Copy the vector store into the scratch folder (chromadb writes even to read); bytes copied."""
        assert self._scratch is not None
        if self._store is not None:
            self._store.close()
            self._store = None
        target = self._scratch / "chroma"
        shutil.rmtree(target, ignore_errors=True)
        self._chroma = target
        if not self.paths.chroma.is_dir():
            return 0
        shutil.copytree(self.paths.chroma, target, copy_function=shutil.copyfile)
        copied = 0
        for path in [target, *target.rglob("*")]:  # folders keep the source's modes: writable again
            if path.is_dir():
                path.chmod(0o700)
            else:
                copied += path.stat().st_size
        return copied

    def check_writable(self, verb: str) -> None:
        """One clear line when this library cannot be changed (``verb``: what was asked, e.g. 'adding documents')."""
        if self.read_only:
            raise KidneyTalkError(
                f"The library folder {self.paths.data} is read-only ({self.read_only}): {verb} refused; "
                "it answers questions only (copy the folder to a writable place to change it)."
            )

    # ------------------------------------------------------------ resources
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(
                self.settings.embedding_model or None,
                precision=self.settings.embedding_precision,
                batch_size=self.settings.embed_batch_size,
                cache_dir=self.paths.embed_cache,
            )
        return self._embedder

    @property
    def embed_model_id(self) -> str:
        """Id of the configured embedding model, without loading it."""
        if self._embedder is not None:
            return self._embedder.model_id
        return embedding_model_id(self.settings.embedding_model or None)

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = VectorStore(self._chroma, self.embed_model_id)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self.catalog.close()
        if self._scratch is not None:
            self._cleanup()  # the read-only library's temporary copies

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ locking
    def reading(self, on_wait: Callable[[str], None] | None = None) -> _ReadScope:
        """Shared lock for searches; picks up writes made by other processes."""
        return _ReadScope(self, on_wait)

    def writing(self, what: str, on_wait: Callable[[str], None] | None = None) -> _WriteScope:
        """Exclusive lock; recovers from a writer that died, bumps the generation on exit."""
        self.check_writable(what)
        return _WriteScope(self, what, on_wait)

    def _refresh_if_changed(self) -> None:
        gen = self.catalog.get_meta("generation", "0")
        if gen != self._generation:
            self._generation = gen
            if (
                self.read_only
            ):  # written elsewhere (e.g. on the share's server): copy the vectors anew
                self._snapshot_vectors()
            elif self._store is not None:
                self._store.reopen()

    def _recover(self) -> None:
        """Undo what a writer that died left behind. Runs under the exclusive lock."""
        if not self.catalog.get_meta("writer_active"):
            return
        log.warning(
            "previous writer did not finish (%s); recovering",
            self.catalog.get_meta("writer_active"),
        )
        valid: set[str] = set()
        for doc in self.catalog.documents():
            if doc.status == cat.STATUS_INDEXING:
                self._promote_away(doc.id)
                self.store.delete_doc(doc.id)
                with self.catalog.transaction():
                    self.catalog.clear_chunks(doc.id)
                    self.catalog.set_status(
                        doc.id, cat.STATUS_FAILED, "interrupted; add the file again to finish"
                    )
            elif doc.status == cat.STATUS_REMOVING:
                self._finish_remove(doc)
            elif doc.status == cat.STATUS_READY:
                valid.add(doc.id)
        passages = {r[0] for r in self.catalog.db.execute("SELECT id FROM chunks")}
        # vectors of no ready document, and those of a passage that moved or was never committed
        orphans = [
            i for i in self.store.ids() if i.split(":", 1)[0] not in valid or i not in passages
        ]
        if orphans:
            log.warning("deleting %d orphan vectors", len(orphans))
            self.store.delete_ids(orphans)
        self.catalog.set_meta("writer_active", "")

    # ------------------------------------------------------------ queries
    def documents(self) -> list[Document]:
        return self.catalog.documents()

    def resolve(self, ref: str) -> Document:
        """A document by id, unique id prefix, or file name."""
        docs = self.catalog.documents()
        for doc in docs:
            if doc.id == ref:
                return doc
        matches = [d for d in docs if len(ref) >= 4 and d.id.startswith(ref)]
        if not matches:
            matches = [d for d in docs if d.name == ref] or [
                d for d in docs if d.name.lower() == ref.lower()
            ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise DocumentNotFoundError(
                f"No document '{ref}' in the library (see 'kidneytalk list')."
            )
        names = ", ".join(f"{d.id} {d.name}" for d in matches[:5])
        raise DocumentNotFoundError(f"'{ref}' matches several documents ({names}); use the id.")

    def is_stale(self, doc: Document) -> bool:
        """Indexed with another embedding model than the current one."""
        return doc.status == cat.STATUS_READY and doc.embed_model != self.embed_model_id

    def reindex_hint(self, doc: Document) -> str:
        """Why a ready document should be re-indexed with the current settings, or ''."""
        if doc.status != cat.STATUS_READY:
            return ""
        if self.is_stale(doc):
            return "indexed with another embedding model; not searchable until re-indexed"
        if doc.chunk_settings and doc.chunk_settings != self.settings.chunk.as_dict():
            return "chunk settings changed; re-index to apply them"
        return ""

    def searchable_doc_ids(self) -> list[str]:
        return self.catalog.searchable_doc_ids(self.embed_model_id)

    # ------------------------------------------------------------ search (kidneytalk.search.SearchIndex)
    # Retrieval reaches the store, the catalog and the embedder only through these.
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed_query(text)

    def unknown_share(self, text: str) -> float:
        return self.embedder.unknown_share(text)

    def dense(self, vector: np.ndarray, k: int, doc_ids: Sequence[str]) -> Ranking:
        return self.store.query(vector, k, doc_ids)

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        return self.store.similarities(vector, ids)

    def lexical(self, text: str, k: int, doc_ids: Sequence[str]) -> Ranking:
        return self.catalog.lexical_search(text, k, doc_ids)

    def lexical_any(self, terms: Sequence[str], k: int, doc_ids: Sequence[str]) -> Ranking:
        return self.catalog.lexical_search_terms(terms, k, doc_ids)

    def idf(self, terms: Sequence[str], doc_ids: Sequence[str]) -> dict[str, float]:
        return self.catalog.idf(terms, doc_ids)

    def holds_script(self, script: Script, doc_ids: Sequence[str]) -> bool:
        # Chinese passages hold CJK characters; English ones a run of Latin letters.
        return self.catalog.holds_text(SCRIPT_GLOBS[script], doc_ids)

    def passages(self, ids: Sequence[str]) -> dict[str, StoredPassage]:
        return self.catalog.passages(ids)

    def passage_texts(self, doc_ids: Sequence[str]) -> list[str]:
        return self.catalog.texts(doc_ids)

    def dropped(self, ref: str) -> list[sqlite3.Row]:
        return self.catalog.dropped(self.resolve(ref).id)

    def removed(self, ref: str) -> list[sqlite3.Row]:
        """Lines taken out before chunking (running headers/footers, page numbers, notices)."""
        return self.catalog.removed(self.resolve(ref).id)

    # ------------------------------------------------------------ changes
    def set_enabled(self, ref: str, enabled: bool) -> Document:
        self.check_writable("enabling or disabling documents")
        with self.writing("enable" if enabled else "disable"):
            doc = self.resolve(ref)
            after = {d.id: (enabled if d.id == doc.id else d.enabled) for d in self.documents()}
            # passages of hidden documents move to a copy in a searchable one, if they have one
            self._promote(
                [d for d, on in after.items() if not on],
                self._copy_targets(lambda d: after[d.id], hidden_too=False),
                during=lambda: self.catalog.set_enabled(doc.id, enabled),
            )
            return self.resolve(doc.id)

    def remove(self, ref: str) -> Document:
        self.check_writable("removing documents")
        with self.writing("remove"):
            doc = self.resolve(ref)
            self._promote_away(
                doc.id, during=lambda: self.catalog.set_status(doc.id, cat.STATUS_REMOVING)
            )
            self._finish_remove(doc)
            return doc

    # ------------------------------------------------------------ passages shared by documents
    def _copy_targets(
        self, enabled: Callable[[Document], bool], *, hidden_too: bool = True
    ) -> list[str]:
        """Ready documents of the current embedding model that may hold a stored passage, searchable first."""
        docs = [
            d
            for d in self.documents()
            if d.status == cat.STATUS_READY and d.embed_model == self.embed_model_id
        ]
        hidden = [d.id for d in docs if not enabled(d)] if hidden_too else []
        return [d.id for d in docs if enabled(d)] + hidden

    def _promote_away(self, doc_id: str, *, during: Callable[[], None] | None = None) -> None:
        """Before ``doc_id``'s passages go (removed, re-indexed): their copies elsewhere take their place."""
        targets = [d for d in self._copy_targets(lambda d: d.enabled) if d != doc_id]
        self._promote([doc_id], targets, during=during)

    def _promote(
        self, leaving: Sequence[str], targets: Sequence[str], *, during: Callable[[], None] | None
    ) -> None:
        """Move passages stored with ``leaving`` documents to a copy in ``targets``, crash-consistently.

        The promoted copies' vectors are added first (under ids no catalog row names yet:
        search skips them, recovery deletes them), then one catalog transaction runs
        ``during`` (the change that hides or drops ``leaving``) and moves the passages,
        then the old vectors are deleted (until then, vectors of a passage no longer in
        the catalog: skipped by search, deleted by recovery). A reader sees the passage
        before or after, never neither.
        """
        plan = self.catalog.promotion_plan(leaving, targets)
        if plan:
            vectors = self.store.vectors([p.old_id for p in plan])
            missing = [p.old_id for p in plan if p.old_id not in vectors]
            if missing:  # should not happen (a vector lost); the stored text is embedded again
                rows = self.catalog.chunks_by_ids(missing)
                again = [
                    Chunk(r["doc_id"], r["seq"], r["text"], 0, 0, tuple(json.loads(r["section"])))
                    for r in rows.values()
                ]
                vectors.update(
                    zip(rows, self.embedder.embed([embed_text(c) for c in again]), strict=True)
                )
            plan = [p for p in plan if p.old_id in vectors]
        if plan:
            self.store.add(
                [p.new_id for p in plan],
                [p.new_doc for p in plan],
                np.stack([vectors[p.old_id] for p in plan]),
            )
            log.info("%d passages moved to a copy in another document", len(plan))
        with self.catalog.transaction():
            if during is not None:
                during()
            self.catalog.promote(plan)
        if plan:
            self.store.delete_ids([p.old_id for p in plan])

    def _collapse_stored(
        self, prep: _Prepared, doc_id: str
    ) -> tuple[list[Chunk], np.ndarray | None, list[tuple[str, Chunk]]]:
        """The passages to store for ``prep`` (with their vectors) and (stored id, copy) for the rest.

        A passage whose normalised text (:func:`kidneytalk.dedup.passage_key`) is already
        stored with a searchable document, or earlier in this one, becomes a copy. Checked
        again here, under the write lock: a passage stored since the file was prepared
        (earlier in the batch) is caught, and one matched then whose stored passage has
        gone since is embedded now.
        """
        vectors = {c.id: i for i, c in enumerate(prep.chunks)}
        candidates = sorted([*prep.chunks, *prep.elsewhere], key=lambda c: c.seq)
        digests = {c.id: passage_digest(c.text) for c in candidates}
        found = self.catalog.stored_by_key(digests.values(), self.embed_model_id, exclude=doc_id)
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
        late = [c for c in kept if c.id not in vectors]
        if not kept:
            return kept, None, copies
        assert prep.vectors is not None or late
        dim = prep.vectors.shape[1] if prep.vectors is not None else 0
        fresh = self.embedder.embed([embed_text(c) for c in late]) if late else None
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
        digests = [passage_digest(c.text) for c in prep.chunks]
        found = self.catalog.stored_by_key(digests, self.embed_model_id, exclude=exclude)
        if found:
            prep.elsewhere = [c for c, d in zip(prep.chunks, digests, strict=True) if d in found]
            prep.chunks = [c for c, d in zip(prep.chunks, digests, strict=True) if d not in found]

    def _finish_remove(self, doc: Document) -> None:
        self._promote_away(doc.id)  # done by ``remove``; again when recovery finishes a removal
        self.store.delete_doc(doc.id)
        self.catalog.delete(doc.id)
        if doc.stored_path:
            Path(doc.stored_path).unlink(missing_ok=True)
            words_path(doc.stored_path).unlink(missing_ok=True)
        log.info("removed %s (%s)", doc.id, doc.name)

    def add(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        *,
        filter_agent: Judge | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> list[AddResult]:
        """Ingest files and folders; bad files fail alone and the batch goes on."""
        self.check_writable("adding documents")
        files, results = expand_inputs(inputs)
        for r in results:
            _emit(
                progress, ProgressEvent("error" if r.failed else "skip", r.path, message=r.message)
            )
        results.extend(
            self._ingest(
                files, filter_agent=filter_agent, progress=progress, cancel=cancel, on_wait=on_wait
            )
        )
        return results

    def reindex(
        self,
        refs: Sequence[str] | None = None,
        *,
        filter_agent: Judge | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[AddResult]:
        """Re-run the pipeline from the stored copies (all documents when ``refs`` is None)."""
        self.check_writable("re-indexing documents")
        docs = [self.resolve(r) for r in refs] if refs else self.catalog.documents()
        files = [
            Path(d.stored_path) for d in docs if d.stored_path and Path(d.stored_path).exists()
        ]
        missing = [
            AddResult(
                d.name, "failed", f"{d.name}: stored copy is missing; remove and add it again"
            )
            for d in docs
            if not (d.stored_path and Path(d.stored_path).exists())
        ]
        return missing + self._ingest(
            files, filter_agent=filter_agent, progress=progress, cancel=cancel, force=True
        )

    # ------------------------------------------------------------ pipeline
    def prepare(
        self,
        path: Path,
        chunker: Chunker,
        known: Callable[[str], Document | None],
        force: bool,
        cancel: CancelFlag | None = None,
        ocr: DocumentOcr | None = None,
    ) -> _Prepared:
        """Hash, parse (OCR where a page needs it), clean, chunk and rule-filter one file (no library writes)."""
        prep = _Prepared(path)
        name = shown(path)
        try:
            prep.size = path.stat().st_size
            too_big = self.over_limits(path, prep.size)
            if too_big:
                prep.error = too_big
                return prep
            prep.sha = file_sha256(path)
            existing = known(prep.sha)
            prep.existing = existing
            if existing and existing.status == cat.STATUS_READY and not force:
                prep.skip = "exists"
                return prep
            parsed = clean_document(parse_file(path, ocr=ocr or DocumentOcr(file=path.name)))
            prep.parsed = parsed
            doc_id = existing.id if existing else prep.sha[:12]
            prep.chunks = chunker.chunk(doc_id, parsed, cancel=cancel)
            prep.chunks, prep.dropped = filter_chunks(prep.chunks)
            prep.chunks, prep.copies = collapse_copies(prep.chunks)  # before embedding: once each
            if not prep.chunks and not parsed.needs_ocr:
                prep.error = f"{name}: no usable text found"
            # the chunks hold the text now: the pages' blocks are not kept while the file waits
            # for the embedder (a long document would otherwise be held twice, up to
            # _PREPARE_AHEAD files at a time)
            parsed.pages = []
            give_back()  # what parsing freed (MuPDF's and Python's) goes back to the OS
        except KidneyTalkError as exc:
            prep.error = safe_text(str(exc))
        except OSError as exc:
            prep.error = f"{name}: cannot read file ({safe_text(exc.strerror or str(exc))})"
        except Exception as exc:  # a parser crash on one file must not stop the batch
            log.exception("unexpected error preparing %s", shown_path(path))
            prep.error = f"{name}: could not be read ({type(exc).__name__}: {safe_text(str(exc))})"
        return prep

    def over_limits(self, path: Path, size: int) -> str:
        """Why ``path`` is refused before any work starts (size or page limits in the settings), or ''."""
        s = self.settings
        suffix = path.suffix.lower()
        text_file = suffix in TEXT_SUFFIXES | MARKDOWN_SUFFIXES
        limit_mb, key = (
            (s.max_text_mb, "max_text_mb") if text_file else (s.max_file_mb, "max_file_mb")
        )
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

    def _prepared_stream(
        self,
        files: list[Path],
        force: bool,
        stop: threading.Event,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[_Prepared | None]:
        """Prepare files in a background thread, a few ahead of the consumer (OCR reports progress from it).

        Yields ``None`` (once) each time the consumer would have to wait for the next file, so it can
        embed the chunks it already holds instead of idling until a full batch has gathered.
        """
        chunker = Chunker(
            self.embedder.token_counter(), self.settings.chunk, self.embedder.max_tokens
        )
        q: queue.Queue[_Prepared | None] = queue.Queue(maxsize=_PREPARE_AHEAD)

        def work() -> None:
            db = sqlite3.connect(str(self.paths.catalog), timeout=60)
            db.row_factory = sqlite3.Row

            def known(sha: str) -> Document | None:
                row = db.execute("SELECT * FROM documents WHERE sha256=?", (sha,)).fetchone()
                return Document.from_row(row) if row else None

            try:
                either = _Either(stop, cancel)
                for index, path in enumerate(files, start=1):
                    if either.is_set():
                        break
                    ocr = DocumentOcr(
                        file=shown(path),
                        file_index=index,
                        files_total=len(files),
                        progress=progress,
                        cancel=either,
                    )
                    q.put(self.prepare(path, chunker, known, force, either, ocr))
            finally:
                db.close()
                q.put(None)

        thread = threading.Thread(target=work, name="kidneytalk-prepare", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    yield None  # nothing prepared yet: the consumer may embed what it holds
                    item = q.get()
                if item is None:
                    break
                yield item
        finally:
            stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                try:
                    q.get(timeout=0.1)
                except queue.Empty:
                    pass

    def _ingest(
        self,
        files: list[Path],
        *,
        filter_agent: Judge | None,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        force: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> list[AddResult]:
        if not files:
            return []
        run = _IngestRun(self, len(files), progress, cancel, force, on_wait)
        started = time.monotonic()
        _emit(
            progress,
            ProgressEvent(
                "start",
                files_total=len(files),
                message="loading the embedding model" if self._embedder is None else "",
            ),
        )
        stop = threading.Event()
        seen = 0
        for prep in self._prepared_stream(files, force, stop, progress, cancel):
            if prep is None:  # the next file is not ready: embed what is waiting meanwhile
                if run.unembedded() and not run.cancelled():
                    run.embed_next()
                    run.store_finished()
                continue
            seen += 1
            prep.index = seen
            if run.cancelled():
                seen -= 1
                break
            if filter_agent is not None and prep.chunks and not prep.skip and not prep.error:
                prep.chunks, agent_dropped = filter_chunks(prep.chunks, agent=filter_agent)
                prep.dropped = sorted(prep.dropped + agent_dropped, key=lambda d: d.chunk.seq)
                prep.agent_filtered = True
            self._skip_stored(prep)
            run.pending.append(prep)
            while run.unembedded() >= _EMBED_BATCH and not run.cancelled():
                run.embed_next()
            run.store_finished()
        stop.set()
        while run.unembedded() and not run.cancelled():
            run.embed_next()
        run.store_finished()
        for (
            prep
        ) in run.pending:  # only after a cancel: embedded partly or not at all, nothing written
            run.results.append(
                AddResult(
                    shown_path(prep.path),
                    "cancelled",
                    f"{shown(prep.path)}: cancelled; nothing was kept",
                )
            )
        for path in files[seen:]:
            run.results.append(
                AddResult(shown_path(path), "cancelled", f"{shown(path)}: cancelled")
            )
        log.info("ingested %d files in %.1f s", len(files), time.monotonic() - started)
        return run.results

    def _store_prepared(self, prep: _Prepared, force: bool = False) -> AddResult:
        """Copy, store the vectors of and mark ready one embedded file (under the write lock)."""
        path = prep.path
        name = shown(path)
        existing = self.catalog.by_sha(prep.sha) if prep.sha else None
        if existing and existing.status == cat.STATUS_READY and not force:
            # the same content earlier in this batch (or by another process) got there first
            msg = f"{name}: already in library as {existing.name} ({existing.id})"
            return AddResult(shown_path(path), "exists", msg, existing.id)
        if prep.error:
            if prep.sha:
                doc_id = existing.id if existing else prep.sha[:12]
                self._record_failure(doc_id, prep, prep.error)
            log.warning("failed: %s", prep.error)
            return AddResult(
                shown_path(path), "failed", prep.error, prep.sha[:12] if prep.sha else ""
            )
        assert prep.parsed is not None
        short = space_problem(self.paths.data, prep.size + len(prep.chunks) * BYTES_PER_PASSAGE)
        if short:  # refused before anything is written: the library stays as it was
            log.warning("%s: %s", name, short)
            return AddResult(shown_path(path), "failed", f"{name}: {short}")
        doc_id = existing.id if existing else prep.sha[:12]
        suffix = path.suffix.lower() if path.suffix.isascii() and path.suffix.isprintable() else ""
        stored = self.paths.documents / f"{doc_id}{suffix}"
        dropped = prep.dropped

        def indexing() -> None:
            self.catalog.insert_indexing(
                doc_id=doc_id,
                name=existing.name if existing else name,
                original_path=shown_path(path.resolve()),
                stored_path=str(stored),
                sha256=prep.sha,
                size=prep.size,
                embed_model=self.embedder.model_id,
                chunk_settings=self.settings.chunk.as_dict(),
                filter_agent=prep.agent_filtered,
            )

        if existing:  # re-indexed: passages other documents share move to them before these go
            self._promote_away(doc_id, during=indexing)
        else:
            with self.catalog.transaction():
                indexing()
        kept, vectors, copies = self._collapse_stored(prep, doc_id)
        if existing:
            self.store.delete_doc(doc_id)
        if not stored.exists():
            stored.parent.mkdir(parents=True, exist_ok=True)
            tmp = stored.with_suffix(stored.suffix + ".part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, stored)
        if kept:
            assert vectors is not None
            self.store.add([c.id for c in kept], [doc_id] * len(kept), vectors)
        parsed = prep.parsed
        save_words(stored, parsed.ocr_words)
        self.catalog.mark_ready(
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
        verb = "re-indexed" if existing and existing.status == cat.STATUS_READY else "added"
        passages = len(kept) + len(elsewhere)
        msg = f"{name}: {verb} as {doc_id} ({parsed.page_count} pages, {passages} chunks kept, {len(dropped)} dropped{note})"
        log.info(msg)
        return AddResult(
            shown_path(path), "added", msg, doc_id, passages, len(dropped), parsed.page_count
        )

    def _fail_storing(self, prep: _Prepared, exc: OSError) -> AddResult:
        """Undo a half-stored file while still under the write lock, and record why it failed."""
        log.warning("failed storing %s: %s", shown_path(prep.path), exc)
        msg = f"{shown(prep.path)}: could not be stored ({safe_text(exc.strerror or str(exc))})"
        if _disk_full(exc):
            msg = f"{shown(prep.path)}: not enough space in {self.paths.data}: free some space and add it again"
        doc = self.catalog.by_sha(prep.sha) if prep.sha else None
        if doc is None or doc.status != cat.STATUS_INDEXING:
            return AddResult(shown_path(prep.path), "failed", msg)
        self.store.delete_doc(doc.id)
        with self.catalog.transaction():
            self.catalog.clear_chunks(doc.id)
            self.catalog.set_status(doc.id, cat.STATUS_FAILED, msg)
        if doc.stored_path:
            Path(doc.stored_path + ".part").unlink(missing_ok=True)
        return AddResult(shown_path(prep.path), "failed", msg, doc.id)

    def _record_failure(self, doc_id: str, prep: _Prepared, reason: str) -> None:
        with self.catalog.transaction():
            self.catalog.insert_indexing(
                doc_id=doc_id,
                name=shown(prep.path),
                original_path=shown_path(prep.path.resolve()),
                stored_path="",
                sha256=prep.sha,
                size=prep.size,
                embed_model="",
                chunk_settings=self.settings.chunk.as_dict(),
                filter_agent=False,
            )
            self.catalog.set_status(doc_id, cat.STATUS_FAILED, reason)


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


class _IngestRun:
    """One ``add``/``reindex`` call: files waiting for vectors, counters, results in input order."""

    def __init__(
        self,
        lib: Library,
        total: int,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        force: bool,
        on_wait: Callable[[str], None] | None,
    ):
        self.lib, self.total, self.progress, self.cancel = lib, total, progress, cancel
        self.force, self.on_wait = force, on_wait
        self.pending: list[
            _Prepared
        ] = []  # in input order; the head is stored as soon as it is embedded
        self.results: list[AddResult] = []
        self.pages_done = self.chunks_done = 0

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def unembedded(self) -> int:
        return sum(len(p.chunks) - p.embedded for p in self.pending if self._embeds(p))

    @staticmethod
    def _embeds(prep: _Prepared) -> bool:
        return not prep.skip and not prep.error and prep.parsed is not None

    def _event(self, prep: _Prepared, stage: str, **changes: object) -> ProgressEvent:
        event = ProgressEvent(
            stage, shown(prep.path), prep.index, self.total, self.pages_done, 0, self.chunks_done
        )
        return _with(event, **changes) if changes else event

    def embed_next(self) -> None:
        """Embed the next ``_EMBED_BATCH`` chunks of the pending files, whichever files they belong to."""
        group: list[tuple[_Prepared, int, int]] = []
        room = _EMBED_BATCH
        for prep in self.pending:
            todo = len(prep.chunks) - prep.embedded if self._embeds(prep) else 0
            if todo > 0 and room > 0:
                n = min(todo, room)
                group.append((prep, prep.embedded, prep.embedded + n))
                room -= n
        if not group:
            return
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
        vectors = self.lib.embedder.embed(
            [embed_text(c) for prep, a, b in group for c in prep.chunks[a:b]]
        )
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

    def store_finished(self) -> None:
        """Store, in input order, the files at the head of the queue whose vectors are all there."""
        while self.pending and (
            not self._embeds(self.pending[0]) or self.pending[0].embedding_done
        ):
            if self.cancelled() and self._embeds(self.pending[0]):
                return  # stopped: keep nothing more
            self._finish(self.pending.pop(0))

    def _finish(self, prep: _Prepared) -> None:
        lib = self.lib
        if prep.skip == "exists" and prep.existing is not None:
            msg = f"{shown(prep.path)}: already in library as {prep.existing.name} ({prep.existing.id})"
            self.results.append(AddResult(shown_path(prep.path), "exists", msg, prep.existing.id))
            _emit(self.progress, self._event(prep, "skip", message=msg))
            return
        with lib.writing("adding documents", self.on_wait):
            try:
                result = lib._store_prepared(prep, self.force)
            except (
                OSError
            ) as exc:  # e.g. the file vanished or the disk is full: this file fails alone
                result = lib._fail_storing(prep, exc)
            except (
                Exception
            ) as exc:  # e.g. text SQLite refuses, or the vector store's disk is full: fails alone
                if not isinstance(exc, ValueError | sqlite3.Error) and not _disk_full(exc):
                    raise
                log.exception("could not store %s", shown_path(prep.path))
                result = lib._fail_storing(
                    prep,
                    OSError(errno.ENOSPC, "disk full")
                    if _disk_full(exc)
                    else OSError(f"{type(exc).__name__}: {safe_text(str(exc))}"),
                )
        prep.vectors = None
        self.results.append(result)
        self.pages_done += result.pages
        self.chunks_done += result.chunks_kept
        _emit(
            self.progress,
            self._event(prep, "error" if result.failed else "done", message=result.message),
        )


class _Either:
    """Set when either event is: the user's Cancel or the ingest loop stopping (what OCR and the chunker check)."""

    def __init__(self, *events: threading.Event | None):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class _ReadScope:
    def __init__(self, lib: Library, on_wait: Callable[[str], None] | None):
        self.lib, self.on_wait = lib, on_wait
        self._cm: contextlib.AbstractContextManager[None] | None = None

    def __enter__(self) -> Library:
        self._cm = self.lib.lock.hold(exclusive=False, what="searching", on_wait=self.on_wait)
        self._cm.__enter__()
        self.lib._refresh_if_changed()
        return self.lib

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._cm is not None
        self._cm.__exit__(exc_type, exc, tb)


class _WriteScope:
    def __init__(self, lib: Library, what: str, on_wait: Callable[[str], None] | None):
        self.lib, self.what, self.on_wait = lib, what, on_wait
        self._cm: contextlib.AbstractContextManager[None] | None = None
        self._outer = False

    def __enter__(self) -> Library:
        lib = self.lib
        self._outer = lib.lock._depth == 0
        self._cm = lib.lock.hold(exclusive=True, what=self.what, on_wait=self.on_wait)
        self._cm.__enter__()
        if self._outer:
            lib._refresh_if_changed()
            lib._recover()
            lib.catalog.set_meta("writer_active", f"pid {os.getpid()}: {self.what}")
        return lib

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lib = self.lib
        try:
            if self._outer:
                # An unexpected error leaves ``writer_active`` set: the next writer rolls back.
                clean = exc_type is None or issubclass(exc_type, KidneyTalkError)
                gen = str(int(lib.catalog.get_meta("generation", "0")) + 1)
                with lib.catalog.transaction():
                    lib.catalog.set_meta("generation", gen)
                    if clean:
                        lib.catalog.set_meta("writer_active", "")
                lib._generation = gen
        finally:
            assert self._cm is not None
            self._cm.__exit__(exc_type, exc, tb)


def describe_status(doc: Document, hint: str = "") -> tuple[str, str]:
    """What to tell the user about a document's state, and how serious it is.

    Returns (text, severity) with severity one of ok, warn, error, busy; ``hint``
    is :meth:`Library.reindex_hint`. Shared by the CLI and the desktop app.
    """
    if doc.status == cat.STATUS_READY:
        if hint:
            return f"ready · {hint}", "warn"
        if doc.needs_ocr:
            why = (
                doc.reason.removeprefix("needs OCR: ")
                if doc.reason.startswith("needs OCR: ")
                else ""
            )
            return (
                f"ready · needs OCR ({doc.scanned_pages} of {doc.pages} pages are scans without text"
                + (f"; {why}" if why and "some pages are scanned" not in why else "")
                + ")"
            ), "warn"
        if doc.ocr_pages:
            return f"ready · {doc.ocr_pages} of {doc.pages} pages read by OCR", "ok"
        return "ready", "ok"
    if doc.status == cat.STATUS_FAILED:
        reason = doc.reason.removeprefix(f"{doc.name}: ")  # the row already names the file
        return (f"failed: {reason}" if reason else "failed"), "error"
    if doc.status == cat.STATUS_INDEXING:
        return "indexing…", "busy"
    if doc.status == cat.STATUS_REMOVING:
        return "removing…", "busy"
    return doc.status, "ok"


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
    from dataclasses import replace

    return replace(event, **changes)  # type: ignore[arg-type]


__all__ = ["AddResult", "Library", "DocumentError", "expand_inputs"]
