"""The library catalog: SQLite in the data dir.

Why SQLite and not chroma metadata: the catalog needs transactions (a document
turns "ready" in the same commit that records its chunks), cheap updates of
per-document fields (enable/disable must not rewrite thousands of vectors),
and the chunk text itself for display, citations and lexical search. Chroma
keeps only vectors keyed by chunk id with the owning ``doc_id``.

The schema is versioned in ``meta``; an unknown newer version is refused.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kidneytalk.dedup import passage_digest
from kidneytalk.errors import IndexMismatchError, KidneyTalkError, LibraryDamagedError
from kidneytalk.lexical import LEXICAL_VERSION, index_text, match_query
from kidneytalk.records import Chunk, DroppedChunk, RemovedText

SCHEMA_VERSION = 4  # v3: the copies table; v4: copies across documents (dup_key, copies' own text)
# Columns added after schema 1, added to older catalogs by ``_migrate`` (table, column, declaration).
_ADDED_COLUMNS = (
    ("documents", "ocr_pages", "INTEGER NOT NULL DEFAULT 0"),  # v2: pages read by OCR
    ("chunks", "ocr", "INTEGER NOT NULL DEFAULT 0"),  # v2: the passage has text read by OCR
    ("chunks", "dup_key", "TEXT NOT NULL DEFAULT ''"),  # v4: dedup.passage_digest of the text
    # v4: a copy keeps its own passage, to take the stored one's place (``promote``)
    ("copies", "text", "TEXT NOT NULL DEFAULT ''"),
    ("copies", "section", "TEXT NOT NULL DEFAULT '[]'"),
    ("copies", "char_start", "INTEGER NOT NULL DEFAULT 0"),
    ("copies", "char_end", "INTEGER NOT NULL DEFAULT 0"),
    ("copies", "n_tokens", "INTEGER NOT NULL DEFAULT 0"),
    ("copies", "ocr", "INTEGER NOT NULL DEFAULT 0"),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    original_path TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    pages INTEGER NOT NULL DEFAULT 0,
    scanned_pages INTEGER NOT NULL DEFAULT 0,
    needs_ocr INTEGER NOT NULL DEFAULT 0,
    chunks_kept INTEGER NOT NULL DEFAULT 0,
    chunks_dropped INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    embed_model TEXT NOT NULL DEFAULT '',
    chunk_settings TEXT NOT NULL DEFAULT '{}',
    filter_agent INTEGER NOT NULL DEFAULT 0,
    ocr_pages INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    section TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0,
    dup_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS dropped (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    section TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dropped_doc ON dropped(doc_id);
CREATE TABLE IF NOT EXISTS removed (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS removed_doc ON removed(doc_id);
CREATE TABLE IF NOT EXISTS copies (
    chunk_id TEXT NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    section TEXT NOT NULL DEFAULT '[]',
    char_start INTEGER NOT NULL DEFAULT 0,
    char_end INTEGER NOT NULL DEFAULT 0,
    n_tokens INTEGER NOT NULL DEFAULT 0,
    ocr INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS copies_chunk ON copies(chunk_id);
CREATE INDEX IF NOT EXISTS copies_doc ON copies(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, chunk_id UNINDEXED, doc_id UNINDEXED);
"""

_INSERT_COPY = """INSERT INTO copies(chunk_id, doc_id, seq, text, page_start, page_end, section,
                       char_start, char_end, n_tokens, ocr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def _passage_row(c: Chunk, ocr: int) -> tuple[object, ...]:
    """(id, doc_id, seq, text, page_start, page_end, section, char_start, char_end, n_tokens, ocr)."""
    return (
        c.id,
        c.doc_id,
        c.seq,
        c.text,
        c.page_start,
        c.page_end,
        json.dumps(list(c.section)),
        c.char_start,
        c.char_end,
        c.n_tokens,
        ocr,
    )


@dataclass(frozen=True)
class Promotion:
    """A copy taking the place of the stored passage ``old_id`` (its document is leaving or hidden)."""

    old_id: str
    old_doc: str
    copy_rowid: int
    new_doc: str
    seq: int

    @property
    def new_id(self) -> str:
        return f"{self.new_doc}:{self.seq:05d}"  # as ``Chunk.id``: ids start with their document


STATUS_INDEXING = "indexing"
STATUS_READY = "ready"
STATUS_FAILED = "failed"
STATUS_REMOVING = "removing"


def _read_only(folder: Path) -> bool:
    """True when ``folder`` is on a read-only file system or cannot be written by this user."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


# Tables a reader needs (folders.py adds the last two on first use).
_TABLES = {
    "meta",
    "documents",
    "chunks",
    "copies",
    "chunks_fts",
    "followed_folders",
    "folder_files",
}


def _current(db: sqlite3.Connection) -> bool:
    """True when the catalog needs no change to be read by this version (schema, lexical terms, tables)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables >= _TABLES:
        return False
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    return meta.get("schema_version") == str(SCHEMA_VERSION) and (
        meta.get("lexical_version") == LEXICAL_VERSION
    )


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredPassage:
    """A passage as the catalog keeps it, with its document's name (what the harness checks gold pages on)."""

    id: str
    doc_id: str
    doc_name: str
    seq: int
    text: str
    page_start: int
    page_end: int
    section: str
    ocr: bool
    # every place the passage is repeated (this document or another, stored once at ingest), in a
    # searchable document: (document name, first page, last page)
    copies: tuple[tuple[str, int, int], ...] = ()

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredPassage:
        places = row["copy_sources"] if "copy_sources" in row.keys() else None  # noqa: SIM118
        copies: list[tuple[str, int, int]] = []
        for place in str(places).split("\x1e") if places else []:
            name, _, span = place.rpartition("\x1f")
            first, _, last = span.partition("-")
            copies.append((name, int(first), int(last)))
        return cls(
            id=row["id"],
            doc_id=row["doc_id"],
            doc_name=row["doc_name"],
            seq=int(row["seq"]),
            text=row["text"],
            page_start=int(row["page_start"]),
            page_end=int(row["page_end"]),
            section=row["section"],
            ocr=bool(row["ocr"]),
            copies=tuple(copies),
        )

    @property
    def pages(self) -> range:
        return range(self.page_start, self.page_end + 1)


@dataclass
class Document:
    id: str
    name: str
    original_path: str
    stored_path: str
    sha256: str
    size: int
    title: str
    pages: int
    scanned_pages: int
    needs_ocr: bool
    chunks_kept: int
    chunks_dropped: int
    added_at: str
    updated_at: str
    status: str
    reason: str
    enabled: bool
    embed_model: str
    chunk_settings: dict
    filter_agent: bool
    ocr_pages: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Document:
        d = dict(row)
        d["needs_ocr"] = bool(d["needs_ocr"])
        d["enabled"] = bool(d["enabled"])
        d["filter_agent"] = bool(d["filter_agent"])
        d["chunk_settings"] = json.loads(d["chunk_settings"] or "{}")
        return cls(**d)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "pages": self.pages,
            "chunks_kept": self.chunks_kept,
            "chunks_dropped": self.chunks_dropped,
            "status": self.status,
            "reason": self.reason,
            "needs_ocr": self.needs_ocr,
            "scanned_pages": self.scanned_pages,
            "ocr_pages": self.ocr_pages,
            "enabled": self.enabled,
            "added_at": self.added_at,
            "embed_model": self.embed_model,
            "chunk_settings": self.chunk_settings,
            "filter_agent": self.filter_agent,
            "original_path": self.original_path,
            "stored_path": self.stored_path,
            "size": self.size,
        }


WAL_WAIT = 10.0  # seconds to wait while another process switches a new catalog to WAL (it takes ms)


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the catalog in WAL mode, waiting while another process does the same.

    Two processes opening a new library at once (two ``kidneytalk add`` started together)
    both switch it to WAL; SQLite answers the second "database is locked" at once, without
    waiting on its busy timeout (9 of 30 such three-process starts failed). So it is asked
    again until the other has finished.
    """
    deadline = time.monotonic() + WAL_WAIT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Catalog:
    """The catalog file; ``read_only`` opens it for questions only (see :meth:`_open_read_only`)."""

    def __init__(self, path: Path, *, read_only: bool = False, scratch: Path | None = None):
        self.path = path
        self.read_only = read_only
        self.copied = (
            0  # bytes copied into ``scratch`` when a read-only catalog could not be read in place
        )
        if read_only:
            self.db = self._open_read_only(scratch)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            str(path), timeout=60, isolation_level=None, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        try:
            _use_wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:  # not a database, truncated, or malformed
            self.db.close()
            if _read_only(path.parent):
                raise KidneyTalkError(
                    f"The library folder {path.parent} is read-only: KidneyTalk needs to write there even to "
                    "answer (its lock and journal); make it writable, or copy it to a writable folder."
                ) from exc
            if isinstance(exc, sqlite3.OperationalError):  # locked, I/O: not damage
                raise
            raise LibraryDamagedError(
                f"The library catalog {path} is damaged ({exc}); run 'kidneytalk doctor --repair' "
                "(it keeps a backup and rebuilds the library from the stored documents)."
            ) from exc

    def _open_read_only(self, scratch: Path | None) -> sqlite3.Connection:
        """The catalog of a read-only library, opened without writing a byte next to it.

        In place with ``mode=ro`` when SQLite can (the WAL's shared-memory file is
        there, or the file is not in WAL mode) and the catalog needs no upgrade;
        otherwise a private copy in ``scratch`` (a temporary folder the library
        removes on close), upgraded there if it is older. ``immutable=1`` is not
        used: on a share another machine may still write, and SQLite would then
        read torn pages without noticing.
        """
        try:
            db = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro",
                uri=True,
                timeout=60,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.DatabaseError:
            db = None
        if db is not None:
            db.row_factory = sqlite3.Row
            try:
                db.execute("PRAGMA query_only=ON")
                if _current(db):
                    return db
            except sqlite3.DatabaseError:
                pass  # e.g. WAL without its -shm file in a folder where it cannot be made
            db.close()
        if scratch is None:
            raise KidneyTalkError(f"The library catalog {self.path} cannot be read in place.")
        copy = scratch / self.path.name
        for suffix in ("", "-wal"):
            source = Path(str(self.path) + suffix)
            if source.is_file():
                shutil.copyfile(source, Path(str(copy) + suffix))
                self.copied += source.stat().st_size
        self.db = sqlite3.connect(
            str(copy), timeout=60, isolation_level=None, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise LibraryDamagedError(
                f"The library catalog {self.path} cannot be read ({exc}); it is on a read-only "
                "folder, so copy the library to a writable place and run 'kidneytalk doctor --repair' there."
            ) from exc
        return self.db

    def _migrate(self) -> None:
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.db.execute(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row["value"]) > SCHEMA_VERSION:
                raise IndexMismatchError(
                    f"The library at {self.path.parent} was written by a newer KidneyTalk "
                    f"(schema {row['value']}); please update KidneyTalk."
                )
            self._add_missing_columns()
            self.db.execute("CREATE INDEX IF NOT EXISTS chunks_dup ON chunks(dup_key)")
            if row is not None and int(row["value"]) < 4:
                self._backfill_copies()
            self.db.execute(
                "UPDATE meta SET value=? WHERE key='schema_version' AND CAST(value AS INTEGER) < ?",
                (str(SCHEMA_VERSION), SCHEMA_VERSION),
            )
            self._backfill_fts()

    def _backfill_copies(self) -> None:
        """Schema 3 -> 4: stored passages get their ``dup_key``; copies the text they repeat.

        A schema-3 copy was always of a passage of its own document with the same
        words, so the stored passage's text stands for its own. Passages stored
        twice across documents by an older version stay so (two vectors; search
        still shows them once) until their document is re-indexed.
        """
        rows = self.db.execute("SELECT id, text FROM chunks WHERE dup_key=''").fetchall()
        self.db.executemany(
            "UPDATE chunks SET dup_key=? WHERE id=?",
            [(passage_digest(r["text"]), r["id"]) for r in rows],
        )
        self.db.execute(
            """UPDATE copies SET (text, section, n_tokens, ocr) =
                   (SELECT c.text, c.section, c.n_tokens, c.ocr FROM chunks c WHERE c.id = copies.chunk_id)
               WHERE text='' AND EXISTS (SELECT 1 FROM chunks c WHERE c.id = copies.chunk_id)"""
        )

    def _add_missing_columns(self) -> None:
        """Bring an older catalog's tables up to this schema (new columns get their defaults)."""
        for table, column, decl in _ADDED_COLUMNS:
            have = {r["name"] for r in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def _backfill_fts(self) -> None:
        """Index chunks stored before the lexical index existed, or with other lexical terms.

        The terms (e.g. Traditional/Simplified Chinese folding) are versioned in
        ``meta``: a library indexed with another version is re-indexed from the
        chunk text here, once, inside the opening transaction.
        """
        version = self.db.execute("SELECT value FROM meta WHERE key='lexical_version'").fetchone()
        current = version is not None and version["value"] == LEXICAL_VERSION
        if current and self.db.execute("SELECT 1 FROM chunks_fts LIMIT 1").fetchone():
            return
        self.db.execute("DELETE FROM chunks_fts")
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('lexical_version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (LEXICAL_VERSION,),
        )
        rows = self.db.execute("SELECT id, doc_id, section, text FROM chunks").fetchall()
        self.db.executemany(
            "INSERT INTO chunks_fts(terms, chunk_id, doc_id) VALUES (?, ?, ?)",
            [
                (
                    index_text(" ".join(json.loads(r["section"])[-1:]) + "\n" + r["text"]),
                    r["id"],
                    r["doc_id"],
                )
                for r in rows
            ],
        )

    # ------------------------------------------------------------ plumbing
    class _Tx:
        def __init__(self, db: sqlite3.Connection):
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def transaction(self) -> Catalog._Tx:
        return Catalog._Tx(self.db)

    def close(self) -> None:
        self.db.close()

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------ documents
    def documents(self) -> list[Document]:
        rows = self.db.execute("SELECT * FROM documents ORDER BY added_at, name").fetchall()
        return [Document.from_row(r) for r in rows]

    def get(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        return Document.from_row(row) if row else None

    def by_sha(self, sha: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE sha256=?", (sha,)).fetchone()
        return Document.from_row(row) if row else None

    def insert_indexing(
        self,
        *,
        doc_id: str,
        name: str,
        original_path: str,
        stored_path: str,
        sha256: str,
        size: int,
        embed_model: str,
        chunk_settings: dict,
        filter_agent: bool,
    ) -> None:
        t = now()
        self.db.execute(
            """INSERT INTO documents(id, name, original_path, stored_path, sha256, size, added_at,
                   updated_at, status, embed_model, chunk_settings, filter_agent)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET status=excluded.status, reason='',
                   updated_at=excluded.updated_at, embed_model=excluded.embed_model,
                   chunk_settings=excluded.chunk_settings, filter_agent=excluded.filter_agent,
                   original_path=excluded.original_path,
                   stored_path=CASE WHEN excluded.stored_path != '' THEN excluded.stored_path
                                    ELSE documents.stored_path END""",
            (
                doc_id,
                name,
                original_path,
                stored_path,
                sha256,
                size,
                t,
                t,
                STATUS_INDEXING,
                embed_model,
                json.dumps(chunk_settings, sort_keys=True),
                int(filter_agent),
            ),
        )

    def set_status(self, doc_id: str, status: str, reason: str = "") -> None:
        self.db.execute(
            "UPDATE documents SET status=?, reason=?, updated_at=? WHERE id=?",
            (status, reason, now(), doc_id),
        )

    def set_origin(self, doc_id: str, *, name: str, original_path: str) -> None:
        """A document's file was renamed or moved (same content): show the new name and place."""
        self.db.execute(
            "UPDATE documents SET name=?, original_path=?, updated_at=? WHERE id=?",
            (name, original_path, now(), doc_id),
        )

    def set_enabled(self, doc_id: str, enabled: bool) -> None:
        self.db.execute(
            "UPDATE documents SET enabled=?, updated_at=? WHERE id=?", (int(enabled), now(), doc_id)
        )

    def mark_ready(
        self,
        doc_id: str,
        *,
        title: str,
        pages: int,
        scanned_pages: int,
        needs_ocr: bool,
        kept: Sequence[Chunk],
        dropped: Sequence[DroppedChunk],
        removed: Sequence[RemovedText] = (),
        ocr_pages: Sequence[int] = (),
        reason: str | None = None,
        copies: Sequence[tuple[str, Chunk]] = (),
        digests: Mapping[str, str] | None = None,
    ) -> None:
        """Record chunks and flip the document to ready in one transaction.

        ``copies``: (id of the kept passage, the repeated passage) for passages stored once;
        ``ocr_pages``: pages whose text came from OCR (chunks on them are flagged);
        ``reason``: what to say about a document that needs OCR (default: a generic note);
        ``digests``: chunk id -> :func:`~kidneytalk.dedup.passage_digest` already computed.
        """
        ocr = set(ocr_pages)
        known = digests or {}

        def from_ocr(c: Chunk) -> int:
            return int(any(p in ocr for p in range(c.page_start, c.page_end + 1)))

        kept_ids = {c.id for c in kept}
        # the document's passages: those stored here and, once each, those stored with another document
        passages = len(kept) + len({cid for cid, _ in copies if cid not in kept_ids})
        with self.transaction():
            self.clear_chunks(doc_id)
            self.db.executemany(
                """INSERT INTO chunks(id, doc_id, seq, text, page_start, page_end, section,
                       char_start, char_end, n_tokens, ocr, dup_key)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    (*_passage_row(c, from_ocr(c)), known.get(c.id) or passage_digest(c.text))
                    for c in kept
                ),
            )
            self.db.executemany(
                "INSERT INTO chunks_fts(terms, chunk_id, doc_id) VALUES (?, ?, ?)",
                (
                    (index_text(" ".join(c.section[-1:]) + "\n" + c.text), c.id, c.doc_id)
                    for c in kept
                ),
            )
            self.db.executemany(
                """INSERT INTO dropped(doc_id, seq, text, page_start, page_end, section, reason)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    (
                        d.chunk.doc_id,
                        d.chunk.seq,
                        d.chunk.text,
                        d.chunk.page_start,
                        d.chunk.page_end,
                        json.dumps(list(d.chunk.section)),
                        d.reason,
                    )
                    for d in dropped
                ),
            )
            self.db.executemany(
                _INSERT_COPY,
                ((kept_id, *_passage_row(c, from_ocr(c))[1:]) for kept_id, c in copies),
            )
            self.db.executemany(
                "INSERT INTO removed(doc_id, page, code, reason, text) VALUES (?, ?, ?, ?, ?)",
                ((doc_id, r.page, r.code, r.reason, r.text) for r in removed),
            )
            if reason is None:
                reason = (
                    "needs OCR: some pages are scanned images without text" if needs_ocr else ""
                )
            self.db.execute(
                """UPDATE documents SET status=?, reason=?, title=?, pages=?, scanned_pages=?, needs_ocr=?,
                       chunks_kept=?, chunks_dropped=?, ocr_pages=?, updated_at=? WHERE id=?""",
                (
                    STATUS_READY,
                    reason,
                    title,
                    pages,
                    scanned_pages,
                    int(needs_ocr),
                    passages,
                    len(dropped),
                    len(ocr),
                    now(),
                    doc_id,
                ),
            )

    def clear_chunks(self, doc_id: str) -> None:
        self.db.execute("DELETE FROM chunks_fts WHERE doc_id=?", (doc_id,))
        self.db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
        self.db.execute("DELETE FROM copies WHERE doc_id=?", (doc_id,))
        self.db.execute("DELETE FROM dropped WHERE doc_id=?", (doc_id,))
        self.db.execute("DELETE FROM removed WHERE doc_id=?", (doc_id,))

    def shared_count(self, doc_id: str) -> int:
        """Passages of ``doc_id`` stored once with another document (counted once each)."""
        return int(
            self.db.execute(
                """SELECT COUNT(DISTINCT x.chunk_id) FROM copies x JOIN chunks c ON c.id = x.chunk_id
                   WHERE x.doc_id=? AND c.doc_id != x.doc_id""",
                (doc_id,),
            ).fetchone()[0]
        )

    def stored_by_key(
        self, digests: Iterable[str], embed_model: str, *, exclude: str = ""
    ) -> dict[str, str]:
        """Digest -> id of a stored passage with it, among ready, enabled documents of ``embed_model``.

        Only a passage whose document is searchable takes copies: one of a disabled
        document would hide them (``exclude``: a document being re-indexed).
        """
        keys = [d for d in dict.fromkeys(digests) if d]
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            rows = self.db.execute(
                f"""SELECT c.dup_key, c.id FROM chunks c JOIN documents d ON d.id = c.doc_id
                    WHERE c.dup_key IN ({",".join("?" * len(part))}) AND d.status=? AND d.enabled=1
                      AND d.embed_model=? AND d.id != ? ORDER BY d.added_at, c.id""",
                (*part, STATUS_READY, embed_model, exclude),
            )
            for row in rows:
                out.setdefault(row["dup_key"], row["id"])
        return out

    def promotion_plan(self, leaving: Sequence[str], targets: Sequence[str]) -> list[Promotion]:
        """For each passage stored with a document of ``leaving`` that has a copy in one of
        ``targets`` (best first), the copy that takes its place (see :meth:`promote`)."""
        if not leaving or not targets:
            return []
        out: dict[str, Promotion] = {}
        rank = {d: i for i, d in enumerate(targets)}
        for i in range(0, len(leaving), 400):
            part = list(leaving[i : i + 400])
            rows = self.db.execute(
                f"""SELECT c.id AS old_id, c.doc_id AS old_doc, x.rowid AS copy_rowid, x.doc_id AS new_doc,
                           x.seq AS seq
                    FROM chunks c JOIN copies x ON x.chunk_id = c.id
                    WHERE c.doc_id IN ({",".join("?" * len(part))}) AND x.doc_id != c.doc_id
                    ORDER BY c.id, x.seq""",
                part,
            )
            for r in rows:
                if r["new_doc"] not in rank or r["new_doc"] in leaving:
                    continue
                best = out.get(r["old_id"])
                if best is None or rank[r["new_doc"]] < rank[best.new_doc]:
                    out[r["old_id"]] = Promotion(
                        r["old_id"], r["old_doc"], int(r["copy_rowid"]), r["new_doc"], int(r["seq"])
                    )
        return list(out.values())

    def promote(self, plan: Sequence[Promotion]) -> None:
        """Copies take the place of their stored passages (inside the caller's transaction).

        The copy becomes the stored passage (its own document, page and text; the
        vector under :attr:`Promotion.new_id` is the caller's to add before and the
        old one's to delete after); the old passage and every other copy become
        copies of it, so disabling the old document hides only its own places.
        """
        for p in plan:
            copy = self.db.execute("SELECT * FROM copies WHERE rowid=?", (p.copy_rowid,)).fetchone()
            old = self.db.execute("SELECT * FROM chunks WHERE id=?", (p.old_id,)).fetchone()
            if copy is None or old is None:
                continue
            text = copy["text"] or old["text"]
            section = copy["section"] if copy["text"] else old["section"]
            self.db.execute(
                """INSERT INTO chunks(id, doc_id, seq, text, page_start, page_end, section,
                       char_start, char_end, n_tokens, ocr, dup_key)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    p.new_id,
                    p.new_doc,
                    p.seq,
                    text,
                    copy["page_start"],
                    copy["page_end"],
                    section,
                    copy["char_start"],
                    copy["char_end"],
                    copy["n_tokens"] or old["n_tokens"],
                    copy["ocr"],
                    old["dup_key"],
                ),
            )
            self.db.execute(
                "INSERT INTO chunks_fts(terms, chunk_id, doc_id) VALUES (?, ?, ?)",
                (
                    index_text(" ".join(json.loads(section)[-1:]) + "\n" + text),
                    p.new_id,
                    p.new_doc,
                ),
            )
            self.db.execute("DELETE FROM copies WHERE rowid=?", (p.copy_rowid,))
            self.db.execute("UPDATE copies SET chunk_id=? WHERE chunk_id=?", (p.new_id, p.old_id))
            self.db.execute(
                _INSERT_COPY,
                (
                    p.new_id,
                    old["doc_id"],
                    old["seq"],
                    old["text"],
                    old["page_start"],
                    old["page_end"],
                    old["section"],
                    old["char_start"],
                    old["char_end"],
                    old["n_tokens"],
                    old["ocr"],
                ),
            )
            self.db.execute("DELETE FROM chunks_fts WHERE chunk_id=?", (p.old_id,))
            self.db.execute("DELETE FROM chunks WHERE id=?", (p.old_id,))

    def delete(self, doc_id: str) -> None:
        with self.transaction():
            self.clear_chunks(doc_id)
            self.db.execute("DELETE FROM documents WHERE id=?", (doc_id,))

    # ------------------------------------------------------------ chunks
    def chunks_by_ids(self, ids: Iterable[str]) -> dict[str, sqlite3.Row]:
        ids = list(ids)
        out: dict[str, sqlite3.Row] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            # every place the passage is repeated, in a searchable document: "name<US>first-last" joined by <RS>
            q = f"""SELECT c.*, d.name AS doc_name,
                        (SELECT group_concat(place, char(30)) FROM (
                             SELECT xd.name || char(31) || x.page_start || '-' || x.page_end AS place
                             FROM copies x JOIN documents xd ON xd.id = x.doc_id
                             WHERE x.chunk_id = c.id AND xd.status = 'ready' AND xd.enabled = 1
                             ORDER BY xd.added_at, x.seq)) AS copy_sources
                    FROM chunks c JOIN documents d ON d.id = c.doc_id
                    WHERE c.id IN ({",".join("?" * len(part))})"""
            for row in self.db.execute(q, part):
                out[row["id"]] = row
        return out

    def passages(self, ids: Iterable[str]) -> dict[str, StoredPassage]:
        """The stored passages with these ids (unknown ids are left out), as typed records."""
        return {cid: StoredPassage.from_row(row) for cid, row in self.chunks_by_ids(ids).items()}

    def chunk_count(self, doc_id: str) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM chunks WHERE doc_id=?", (doc_id,)).fetchone()[0]
        )

    def dropped(self, doc_id: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM dropped WHERE doc_id=? ORDER BY seq", (doc_id,)
        ).fetchall()

    def removed(self, doc_id: str) -> list[sqlite3.Row]:
        """Lines the cleaner took out of a document (page furniture, notices), in page order."""
        return self.db.execute(
            "SELECT * FROM removed WHERE doc_id=? ORDER BY page, rowid", (doc_id,)
        ).fetchall()

    def lexical_search(self, query: str, k: int, doc_ids: Sequence[str]) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) of the best ``k`` lexical matches."""
        return self.lexical_search_expr(match_query(query), k, doc_ids)

    def lexical_search_terms(
        self, terms: Sequence[str], k: int, doc_ids: Sequence[str]
    ) -> list[tuple[str, float]]:
        """As :meth:`lexical_search`, for lexical terms already made (any of them matches)."""
        expr = " OR ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms) if t)
        return self.lexical_search_expr(expr, k, doc_ids)

    def idf(self, words: Sequence[str], doc_ids: Sequence[str]) -> dict[str, float]:
        """BM25-style idf of each lexical term over the passages of ``doc_ids`` (unknown terms weigh most)."""
        if not doc_ids:
            return {w: 0.0 for w in words}
        marks = ",".join("?" * len(doc_ids))
        n = self.db.execute(
            f"SELECT COUNT(*) FROM chunks_fts WHERE doc_id IN ({marks})", list(doc_ids)
        ).fetchone()[0]
        out: dict[str, float] = {}
        for w in words:
            df = self.db.execute(
                f"SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ? AND doc_id IN ({marks})",
                ('"' + w.replace('"', '""') + '"', *doc_ids),
            ).fetchone()[0]
            out[w] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return out

    def lexical_search_expr(
        self, expr: str, k: int, doc_ids: Sequence[str]
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best ``k`` matches of an FTS5 MATCH expression."""
        if not expr or not doc_ids or k <= 0:
            return []
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(
            f"""SELECT chunk_id, bm25(chunks_fts) AS rank FROM chunks_fts
                WHERE chunks_fts MATCH ? AND doc_id IN ({marks}) ORDER BY rank LIMIT ?""",
            (expr, *doc_ids, k),
        ).fetchall()
        return [(r["chunk_id"], -float(r["rank"])) for r in rows]

    def searchable_doc_ids(self, embed_model: str) -> list[str]:
        """Ready, enabled documents indexed with ``embed_model``."""
        rows = self.db.execute(
            "SELECT id FROM documents WHERE status=? AND enabled=1 AND embed_model=?",
            (STATUS_READY, embed_model),
        ).fetchall()
        return [r["id"] for r in rows]

    def labels(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(file name, title) of each document in ``doc_ids``."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(
            f"SELECT id, name, title FROM documents WHERE id IN ({marks})", list(doc_ids)
        ).fetchall()
        return {r["id"]: (r["name"], r["title"]) for r in rows}

    def holds_text(self, glob: str, doc_ids: Sequence[str]) -> bool:
        """Whether the text of any passage of ``doc_ids`` matches the SQLite GLOB pattern ``glob``."""
        if not doc_ids:
            return False
        marks = ",".join("?" * len(doc_ids))
        row = self.db.execute(
            f"SELECT 1 FROM chunks WHERE doc_id IN ({marks}) AND text GLOB ? LIMIT 1",
            (*doc_ids, glob),
        ).fetchone()
        return row is not None

    def texts(self, doc_ids: Sequence[str], *, sample: int | None = None) -> list[str]:
        """The text of every passage of ``doc_ids``, in passage-id order (with ``sample``: at most
        that many, spread evenly, read without loading the rest)."""
        marks = ",".join("?" * len(doc_ids))
        if sample is not None:
            (count,) = self.db.execute(
                f"SELECT count(*) FROM chunks WHERE doc_id IN ({marks})", list(doc_ids)
            ).fetchone()
            step = -(-count // max(1, sample))  # every step-th passage: at most ``sample``
            if step > 1:
                return [
                    r[0]
                    for r in self.db.execute(
                        f"""SELECT text FROM (SELECT text, row_number() OVER (ORDER BY id) AS n
                            FROM chunks WHERE doc_id IN ({marks})) WHERE (n - 1) % ? = 0""",
                        [*doc_ids, step],
                    ).fetchall()
                ]
        return [
            r[0]
            for r in self.db.execute(
                f"SELECT text FROM chunks WHERE doc_id IN ({marks}) ORDER BY id", list(doc_ids)
            ).fetchall()
        ]
