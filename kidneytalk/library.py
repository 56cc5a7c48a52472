"""The document library: list, resolve, search, enable/disable, remove; add and re-index.

Adding and re-indexing run the ingest pipeline (:class:`kidneytalk.ingest.IngestRun`);
this module owns the library on disk — catalog, vectors, the lock — and its
consistency rules:

* a document turns ``ready`` only in the same SQLite commit that records its
  chunks, after all its vectors are in chroma;
* every write holds the exclusive library lock (:meth:`Library.writing`) and
  sets ``writer_active`` in the catalog; a writer that finds it set knows the
  previous one died (e.g. SIGKILL) and first rolls back: half-indexed
  documents lose their partial vectors and are marked failed ("interrupted"),
  half-removed ones are finished, and vectors without a ready or indexing
  document are deleted;
* adding the same file again finishes an interrupted or failed document;
* a passage several documents share is stored once; before its owner goes
  (removed, disabled, re-indexed) a copy in another document takes its place
  (:meth:`Library.promote_away`).

A library folder KidneyTalk cannot write (read-only media, a read-only network
share, no permission) opens for questions only: nothing is created or changed
in it (no lock file, no journal), the catalog is read in place with SQLite's
``mode=ro`` or from a private copy, the vector store (chromadb cannot open a
folder it cannot write) from a copy in a temporary folder removed on close,
and every change is refused with one line (:meth:`Library.check_writable`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from kidneytalk import catalog as cat
from kidneytalk._lazy import import_in_background
from kidneytalk.catalog import Catalog, Document, StoredPassage
from kidneytalk.chunk import embed_text
from kidneytalk.config import Paths, Settings, read_only_reason
from kidneytalk.embed import Embedder, embedding_model_id
from kidneytalk.errors import DocumentError, DocumentNotFoundError, KidneyTalkError
from kidneytalk.filter import Judge
from kidneytalk.ingest import AddResult, IngestRun, ProgressCallback, expand_inputs
from kidneytalk.lock import LibraryLock
from kidneytalk.ocr import words_path
from kidneytalk.records import Chunk, ProgressEvent
from kidneytalk.search import SCRIPT_GLOBS, Ranking, Script
from kidneytalk.store import VectorStore

log = logging.getLogger(__name__)


class Library:
    """One library on disk; opens catalog and vectors lazily, closes them explicitly."""

    def __init__(self, paths: Paths, settings: Settings, *, embedder: Embedder | None = None):
        self.paths = paths.ensure()
        self.settings = settings
        self._embedder = embedder
        self._owns_embedder = embedder is None  # one passed in is borrowed: its owner closes it
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
            if not self.read_only:  # what adding needs next, imported while the model loads
                import_in_background("pymupdf", "langchain_text_splitters")
            self._embedder = Embedder(
                self.settings.embedding_model or None,
                precision=self.settings.embedding_precision,
                batch_size=self.settings.embed_batch_size,
                cache_dir=self.paths.embed_cache,
            )
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        """Whether the embedding model is in memory already (the first add or search loads it)."""
        return self._embedder is not None

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

    def close_store(self) -> None:
        """Close the vector store; the next use opens it again (e.g. after its folder was moved)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def close(self) -> None:
        """Close the vector store, the catalog and the embedder this library loaded."""
        self.close_store()
        if self._embedder is not None and self._owns_embedder:
            self._embedder.close()
            self._embedder = None
        self.catalog.close()
        if self._scratch is not None:
            self._cleanup()  # the read-only library's temporary copies

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ locking
    @contextlib.contextmanager
    def reading(self, on_wait: Callable[[str], None] | None = None) -> Iterator[Library]:
        """Shared lock for searches; picks up writes made by other processes."""
        with self.lock.hold(exclusive=False, what="searching", on_wait=on_wait):
            self._refresh_if_changed()
            yield self

    @contextlib.contextmanager
    def writing(self, what: str, on_wait: Callable[[str], None] | None = None) -> Iterator[Library]:
        """Exclusive lock; recovers from a writer that died, bumps the generation on exit.

        Re-entrant: a scope opened inside another is part of the outer one's write.
        An unexpected error (anything but a :class:`KidneyTalkError`) leaves
        ``writer_active`` set, so the next writer rolls back what this one left.
        """
        self.check_writable(what)
        outer = not self.lock.held
        with self.lock.hold(exclusive=True, what=what, on_wait=on_wait):
            if not outer:
                yield self
                return
            self._refresh_if_changed()
            self._recover()
            self.catalog.set_meta("writer_active", f"pid {os.getpid()}: {what}")
            clean = False
            try:
                yield self
                clean = True
            except KidneyTalkError:
                clean = True
                raise
            finally:
                gen = str(int(self.catalog.get_meta("generation", "0")) + 1)
                with self.catalog.transaction():
                    self.catalog.set_meta("generation", gen)
                    if clean:
                        self.catalog.set_meta("writer_active", "")
                self._generation = gen

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
                self.promote_away(doc.id)
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

    def token_vectors(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        return self.embedder.token_vectors(texts)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.embedder.token_ids(texts)

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

    def document_labels(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        return self.catalog.labels(doc_ids)

    def passage_texts(self, doc_ids: Sequence[str], *, sample: int | None = None) -> list[str]:
        return self.catalog.texts(doc_ids, sample=sample)

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
            self.promote_away(
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

    def promote_away(self, doc_id: str, *, during: Callable[[], None] | None = None) -> None:
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

    def _finish_remove(self, doc: Document) -> None:
        self.promote_away(doc.id)  # done by ``remove``; again when recovery finishes a removal
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
            if progress is not None:
                progress(ProgressEvent("error" if r.failed else "skip", r.path, message=r.message))
        run = IngestRun(
            self, filter_agent=filter_agent, progress=progress, cancel=cancel, on_wait=on_wait
        )
        return results + run.run(files)

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
        run = IngestRun(
            self, filter_agent=filter_agent, progress=progress, cancel=cancel, force=True
        )
        return missing + run.run(files)


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


__all__ = ["AddResult", "Library", "DocumentError", "ProgressCallback", "describe_status"]
