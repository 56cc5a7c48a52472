"""Followed folders: library folders that stay in sync with the library.

A followed folder is remembered in the library's catalog (tables
``followed_folders`` and ``folder_files``, created on first use; an older
KidneyTalk ignores them). ``folder_files`` records, for every file of a
followed folder that is in the library, its size, modification time and
SHA-256 and the document it became. A sync is two steps:

* :func:`scan` reads the folder only (no library writes, no models): files
  whose size and modification time are unchanged are not even read; the
  others are hashed. A file whose content is already tracked under another
  name was *renamed or moved*: only its name and place are updated, nothing
  is embedded again. The GUI runs it in a thread of its own, so a folder on a
  network drive that hangs never holds up answers.
* :func:`apply` makes the library match: new and changed files go through
  the ordinary ingest pipeline (:meth:`Library.add`, with its lock and
  crash recovery); renames update the catalog; deleted files are removed
  only when the caller says so (``remove_deleted``: True, False to keep the
  documents and forget the files, None to leave them pending and ask).

Safety: a folder that is missing, unreadable, or lists no document at all
while documents from it are tracked (an unmounted network drive often leaves
an empty mount point) is *unavailable*: nothing is removed, the status says
so, and the next sync retries. A listing that hit an error part-way removes
nothing either.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kidneytalk import catalog as cat
from kidneytalk.errors import KidneyTalkError
from kidneytalk.ingest import ProgressCallback, file_sha256
from kidneytalk.library import Library
from kidneytalk.names import safe_text, shown_path
from kidneytalk.parse import is_supported
from kidneytalk.vocabulary import RemoveDeleted

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS followed_folders (
    path TEXT PRIMARY KEY,
    added_at TEXT NOT NULL,
    last_sync TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS folder_files (
    folder TEXT NOT NULL,
    rel TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    owned INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (folder, rel)
);
CREATE INDEX IF NOT EXISTS folder_files_doc ON folder_files(doc_id);
"""

# Folder status words (the GUI translates them; the message after them stays as it is).
OK = "ok"
UNAVAILABLE = "unavailable"
NOT_SCANNED = ""


@dataclass(frozen=True)
class FollowedFolder:
    """A folder the library follows, with the outcome of its last sync."""

    path: str
    added_at: str
    last_sync: str = ""
    status: str = NOT_SCANNED  # ok | unavailable | "" (not synced yet)
    message: str = ""
    files: int = 0  # files of it in the library

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrackedFile:
    """A file of a followed folder and the document it became."""

    folder: str
    rel: str
    sha256: str
    size: int
    mtime_ns: int
    doc_id: str
    owned: bool  # the sync brought the document in (one added by hand is never removed by a sync)


@dataclass(frozen=True)
class SeenFile:
    """A file found by :func:`scan`: where it is and what it holds."""

    rel: str
    path: Path
    size: int
    mtime_ns: int
    sha256: str


@dataclass
class FolderChanges:
    """What :func:`scan` found in one folder, compared with what the library has from it."""

    folder: str
    available: bool = True
    problem: str = ""
    new: list[SeenFile] = field(default_factory=list)
    changed: list[tuple[TrackedFile, SeenFile]] = field(default_factory=list)
    moved: list[tuple[TrackedFile, SeenFile]] = field(default_factory=list)
    touched: list[tuple[TrackedFile, SeenFile]] = field(
        default_factory=list
    )  # same content, new time
    deleted: list[TrackedFile] = field(default_factory=list)
    unchanged: int = 0
    unreadable: list[str] = field(default_factory=list)
    # The folder and every subfolder the listing went through (hidden ones skipped): what a
    # file-system watcher must watch to see a file appear anywhere in the folder, since an
    # inotify watch is not recursive.
    directories: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.new or self.changed or self.moved or self.touched or self.deleted)


@dataclass
class SyncReport:
    """What :func:`apply` did to the library for one folder."""

    folder: str
    available: bool = True
    problem: str = ""
    added: list[str] = field(default_factory=list)
    existing: list[str] = field(
        default_factory=list
    )  # new files whose content the library already had
    updated: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)  # deleted files whose documents were kept
    pending: list[str] = field(default_factory=list)  # deleted files waiting for a decision
    failed: list[str] = field(default_factory=list)  # one message per file
    unchanged: int = 0

    def summary(self) -> str:
        """One line for the terminal, the log and the status bar."""
        if not self.available:
            return (
                f"{self.folder}: folder unavailable ({self.problem}); nothing changed, will retry"
            )
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.moved)} renamed",
            f"{len(self.removed)} removed",
        ]
        if self.existing:
            parts.append(f"{len(self.existing)} already in the library")
        if self.forgotten:
            parts.append(f"{len(self.forgotten)} deleted from the folder but kept in the library")
        if self.pending:
            parts.append(f"{len(self.pending)} deleted from the folder (still in the library)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        problem = f" ({self.problem})" if self.problem else ""
        return f"{self.folder}: " + ", ".join(parts) + f", {self.unchanged} unchanged{problem}"

    def to_json(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["moved"] = [list(m) for m in self.moved]
        return out


# ---------------------------------------------------------------- storage
class FolderStore:
    """The followed folders of one library and their files, in the library's catalog file.

    Writes are made by :func:`follow`, :func:`unfollow` and :func:`apply` under
    the library's write lock; reads need no lock (SQLite WAL).
    """

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.db.executescript(_SCHEMA)

    @classmethod
    def open(cls, catalog_path: Path) -> FolderStore:
        """A connection of its own (e.g. for a scanning thread); close it with :meth:`close`."""
        db = sqlite3.connect(
            str(catalog_path), timeout=60, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def folders(self) -> list[FollowedFolder]:
        rows = self.db.execute(
            """SELECT f.*, (SELECT COUNT(*) FROM folder_files x WHERE x.folder = f.path) AS files
               FROM followed_folders f ORDER BY f.path"""
        ).fetchall()
        return [
            FollowedFolder(
                r["path"], r["added_at"], r["last_sync"], r["status"], r["message"], r["files"]
            )
            for r in rows
        ]

    def tracked(self, folder: str) -> dict[str, TrackedFile]:
        rows = self.db.execute("SELECT * FROM folder_files WHERE folder=?", (folder,)).fetchall()
        return {
            r["rel"]: TrackedFile(
                r["folder"],
                r["rel"],
                r["sha256"],
                r["size"],
                r["mtime_ns"],
                r["doc_id"],
                bool(r["owned"]),
            )
            for r in rows
        }

    def references(self, doc_id: str) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM folder_files WHERE doc_id=?", (doc_id,)
            ).fetchone()[0]
        )

    def owns(self, doc_id: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM folder_files WHERE doc_id=? AND owned=1", (doc_id,)
            ).fetchone()
            is not None
        )

    def track(self, folder: str, seen: SeenFile, doc_id: str, owned: bool) -> None:
        self.db.execute(
            """INSERT INTO folder_files(folder, rel, sha256, size, mtime_ns, doc_id, owned) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(folder, rel) DO UPDATE SET sha256=excluded.sha256, size=excluded.size,
                   mtime_ns=excluded.mtime_ns, doc_id=excluded.doc_id, owned=excluded.owned""",
            (folder, seen.rel, seen.sha256, seen.size, seen.mtime_ns, doc_id, int(owned)),
        )

    def forget(self, folder: str, rel: str) -> None:
        self.db.execute("DELETE FROM folder_files WHERE folder=? AND rel=?", (folder, rel))

    def set_status(self, folder: str, status: str, message: str) -> None:
        self.db.execute(
            "UPDATE followed_folders SET status=?, message=?, last_sync=? WHERE path=?",
            (status, message, cat.now(), folder),
        )


def folder_key(path: str | os.PathLike[str]) -> str:
    """How a folder is named in the catalog: absolute, symlinks resolved."""
    return shown_path(Path(path).expanduser().resolve())


def followed(library: Library) -> list[FollowedFolder]:
    return FolderStore(library.catalog.db).folders()


def follow(library: Library, path: str | os.PathLike[str]) -> FollowedFolder:
    """Start following a folder (its files are added at the next :func:`sync`)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise KidneyTalkError(f"{shown_path(folder)} is not a folder.")
    key = folder_key(folder)
    data = library.paths.data.resolve()
    holds_data = data.is_relative_to(key) and not any(
        p.startswith(".") for p in data.relative_to(key).parts
    )
    if holds_data or Path(key).is_relative_to(data):
        raise KidneyTalkError(
            f"{key} holds KidneyTalk's own library folder; follow a folder of documents instead."
        )
    store = FolderStore(library.catalog.db)
    with library.writing("following a folder"):
        for other in store.folders():
            if other.path == key:
                return other
            if Path(key).is_relative_to(other.path) or Path(other.path).is_relative_to(key):
                raise KidneyTalkError(
                    f"{key} overlaps the followed folder {other.path}; unfollow that one first."
                )
        store.db.execute(
            "INSERT INTO followed_folders(path, added_at) VALUES (?, ?)", (key, cat.now())
        )
    log.info("following %s", key)
    return next(f for f in store.folders() if f.path == key)


def unfollow(
    library: Library, path: str | os.PathLike[str], *, remove_documents: bool = False
) -> list[str]:
    """Stop following a folder; its documents stay unless ``remove_documents``. Returns the removed doc ids."""
    store = FolderStore(library.catalog.db)
    known = {f.path: f for f in store.folders()}
    key = str(path) if str(path) in known else folder_key(path)
    if key not in known:
        raise KidneyTalkError(
            f"{safe_text(str(path))} is not a followed folder (see 'kidneytalk folders list')."
        )
    removed: list[str] = []
    with library.writing("unfollowing a folder"):
        rows = store.tracked(key).values()
        store.db.execute("DELETE FROM folder_files WHERE folder=?", (key,))
        store.db.execute("DELETE FROM followed_folders WHERE path=?", (key,))
        if remove_documents:
            for t in rows:
                if (
                    t.owned
                    and not store.references(t.doc_id)
                    and library.catalog.get(t.doc_id) is not None
                ):
                    library.remove(t.doc_id)
                    removed.append(t.doc_id)
    log.info("unfollowed %s (%d documents removed)", key, len(removed))
    return removed


# ---------------------------------------------------------------- scanning
def _is_text(name: str) -> bool:
    """False for a name holding bytes that are not UTF-8 (kept by Python as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _listing(
    folder: Path,
) -> tuple[dict[str, tuple[Path, os.stat_result]], list[str], list[str]]:
    """Supported regular files under ``folder`` (hidden ones skipped) by relative path, listing
    errors, and the folders listed (``folder`` first, then its subfolders)."""
    errors: list[str] = []
    found: dict[str, tuple[Path, os.stat_result]] = {}
    directories: list[str] = []

    def failed(exc: OSError) -> None:
        errors.append(
            f"{shown_path(exc.filename or folder)}: {safe_text(exc.strerror or str(exc))}"
        )

    for root, dirs, names in os.walk(folder, onerror=failed):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if _is_text(
            root
        ):  # Qt names watched folders by text: an undecodable name cannot be watched
            directories.append(root)
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith(".") or not is_supported(path):
                continue
            try:
                st = path.stat()
            except OSError as exc:
                failed(exc)
                continue
            if not path.is_file():
                continue
            rel = path.relative_to(folder).as_posix()
            found[safe_text(rel)] = (path, st)
    return found, errors, directories


def scan(
    folder: str, tracked: dict[str, TrackedFile], cancel: threading.Event | None = None
) -> FolderChanges:
    """Compare ``folder`` with the files the library has from it (reads files, writes nothing)."""
    changes = FolderChanges(folder)
    root = Path(folder)
    try:
        if not root.is_dir():
            changes.available, changes.problem = False, "not found; is the drive connected?"
            return changes
        listing, errors, changes.directories = _listing(root)
    except OSError as exc:
        changes.available, changes.problem = False, safe_text(exc.strerror or str(exc))
        return changes
    if not listing and errors:
        changes.available, changes.problem = False, errors[0]
        return changes
    if not listing and tracked:
        changes.available = False
        changes.problem = (
            "it holds no documents now; an unmounted drive looks like this, so nothing is removed"
        )
        return changes
    by_sha: dict[str, list[TrackedFile]] = {}
    for t in tracked.values():
        if t.rel not in listing:
            by_sha.setdefault(t.sha256, []).append(t)
    for rel, (path, st) in listing.items():
        if cancel is not None and cancel.is_set():
            break
        old = tracked.get(rel)
        if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
            changes.unchanged += 1
            continue
        try:
            sha = file_sha256(path)
        except OSError as exc:
            changes.unreadable.append(f"{safe_text(rel)}: {safe_text(exc.strerror or str(exc))}")
            errors.append(rel)
            continue
        seen = SeenFile(rel, path, st.st_size, st.st_mtime_ns, sha)
        if old is not None:
            (changes.touched if old.sha256 == sha else changes.changed).append((old, seen))
        elif by_sha.get(sha):
            changes.moved.append((by_sha[sha].pop(), seen))
        else:
            changes.new.append(seen)
    if errors or (cancel is not None and cancel.is_set()):
        if errors:
            changes.problem = (
                f"{len(errors)} entries could not be read; nothing is removed this time"
            )
        return changes  # a partial listing must never look like deleted files
    changes.deleted = [t for group in by_sha.values() for t in group]
    return changes


def scan_all(store: FolderStore, cancel: threading.Event | None = None) -> list[FolderChanges]:
    """:func:`scan` every followed folder."""
    return [scan(f.path, store.tracked(f.path), cancel) for f in store.folders()]


# ---------------------------------------------------------------- applying
def policy(setting: RemoveDeleted) -> bool | None:
    """``folders.remove_deleted`` as :func:`apply` takes it: always → True, never → False, ask → None."""
    return {"always": True, "never": False}.get(setting)


def apply(
    library: Library,
    changes: FolderChanges,
    *,
    remove_deleted: bool | None,
    add: Callable[..., list] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> SyncReport:
    """Make the library match what :func:`scan` found in one folder.

    Args:
        remove_deleted: True removes the documents of deleted files (never one
            that was in the library before the folder was followed, nor one
            another followed file still holds); False keeps them and forgets
            the files; None leaves them pending (reported, asked again next time).
        add: how to ingest files (default :meth:`Library.add`; the engine passes
            its own to apply the filter-agent setting).
    """
    store = FolderStore(library.catalog.db)
    folder = changes.folder
    report = SyncReport(folder, changes.available, changes.problem, unchanged=changes.unchanged)
    report.failed.extend(changes.unreadable)
    if not changes.available:
        with library.writing("syncing folders"):
            store.set_status(folder, UNAVAILABLE, changes.problem)
        return report
    if folder not in {f.path for f in store.folders()}:
        return report  # unfollowed meanwhile
    with library.writing("syncing folders"):
        for old, seen in changes.touched:
            store.track(folder, seen, old.doc_id, old.owned)
        for old, seen in changes.moved:
            store.forget(folder, old.rel)
            store.track(folder, seen, old.doc_id, old.owned)
            doc = library.catalog.get(old.doc_id)
            if doc is not None and doc.name == safe_text(Path(old.rel).name):
                library.catalog.set_origin(
                    doc.id, name=safe_text(seen.path.name), original_path=shown_path(seen.path)
                )
            report.moved.append((old.rel, seen.rel))
    _ingest(library, store, folder, changes, report, add or library.add, progress, cancel)
    with library.writing("syncing folders"):
        for t in changes.deleted:
            if (Path(folder) / t.rel).exists():
                continue  # back meanwhile: the next scan looks at it again
            if remove_deleted is None:
                report.pending.append(t.rel)
                continue
            store.forget(folder, t.rel)
            if (
                remove_deleted
                and t.owned
                and not store.references(t.doc_id)
                and library.catalog.get(t.doc_id)
            ):
                library.remove(t.doc_id)
                report.removed.append(t.rel)
            else:
                report.forgotten.append(t.rel)
        store.set_status(folder, OK, report.summary().removeprefix(f"{folder}: "))
    log.info("sync %s", report.summary())
    return report


def _ingest(
    library: Library,
    store: FolderStore,
    folder: str,
    changes: FolderChanges,
    report: SyncReport,
    add: Callable[..., list],
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> None:
    """Index new and changed files through the ordinary pipeline, then record what each became."""
    todo = [(None, s) for s in changes.new] + list(changes.changed)
    if not todo:
        return
    before = {s.sha256: library.catalog.by_sha(s.sha256) for _, s in todo}
    results = add([s.path for _, s in todo], progress=progress, cancel=cancel)
    messages = {r.path: r.message for r in results if r.failed}
    with library.writing("syncing folders"):
        for old, seen in todo:
            doc = library.catalog.by_sha(seen.sha256)
            if doc is None or doc.status not in (cat.STATUS_READY, cat.STATUS_FAILED):
                # cancelled, the file changed again meanwhile, or it failed with nothing recorded
                # (no room to read it): the next sync takes it
                if shown_path(seen.path) in messages:
                    report.failed.append(messages[shown_path(seen.path)])
                continue
            prior = before[seen.sha256]
            owned = prior is None or prior.status != cat.STATUS_READY or store.owns(doc.id)
            store.track(folder, seen, doc.id, owned)
            if doc.status == cat.STATUS_FAILED:
                report.failed.append(
                    messages.get(shown_path(seen.path), f"{seen.rel}: {doc.reason}")
                )
                continue
            if old is None:
                (report.added if owned else report.existing).append(seen.rel)
                continue
            report.updated.append(seen.rel)
            if (
                old.doc_id != doc.id
                and old.owned
                and not store.references(old.doc_id)
                and library.catalog.get(old.doc_id) is not None
            ):
                library.remove(old.doc_id)  # the previous version of the file


def sync(
    library: Library,
    *,
    remove_deleted: bool | None,
    folders: Iterable[str] | None = None,
    add: Callable[..., list] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[SyncReport]:
    """Scan and apply every followed folder (or those named in ``folders``)."""
    store = FolderStore(library.catalog.db)
    wanted = None if folders is None else {folder_key(f) for f in folders} | set(folders)
    listed = store.folders()
    if wanted is not None and not wanted & {f.path for f in listed}:
        raise KidneyTalkError(
            f"{', '.join(sorted(map(safe_text, map(str, folders or []))))} is not a followed "
            "folder (see 'kidneytalk folders list')."
        )
    reports = []
    for f in listed:
        if wanted is not None and f.path not in wanted:
            continue
        changes = scan(f.path, store.tracked(f.path), cancel)
        reports.append(
            apply(
                library,
                changes,
                remove_deleted=remove_deleted,
                add=add,
                progress=progress,
                cancel=cancel,
            )
        )
    return reports


__all__ = [
    "FolderChanges",
    "FolderStore",
    "FollowedFolder",
    "SeenFile",
    "SyncReport",
    "TrackedFile",
    "apply",
    "follow",
    "followed",
    "policy",
    "scan",
    "scan_all",
    "sync",
    "unfollow",
]
