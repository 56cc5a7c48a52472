"""Keeps followed folders in sync while the app runs, without ever blocking it.

Two steps, as in :mod:`kidneytalk.folders`:

* the *scan* (listing, hashing new or changed files) runs in a plain thread
  of its own with its own catalog connection: a folder on a network drive
  that hangs or vanishes holds up neither the window nor answers;
* when a scan finds changes, applying them (ingest, rename, remove) is
  queued on the engine worker like any other library write.

A scan runs at start (the catch-up for changes made while the app was
closed), a couple of seconds after a followed folder or any of its subfolders
changes (``QFileSystemWatcher``), every ``folders.poll_seconds`` (what the
watcher misses: network drives, a drive coming back, files rewritten in place),
and on request.

The watcher is not recursive (inotify watches one directory), so every
subfolder a scan lists is watched too, and the list follows each scan: a new
subfolder is watched from the scan its creation triggers (and one more scan
then looks for files written into it before its watch was in place), a
renamed one under its new name, a deleted one not at all.
Files deleted from a folder are removed per ``folders.remove_deleted``; with
"ask" the page asks (:attr:`FolderWatcher.deletions_found`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from kidneytalk import folders
from kidneytalk.folders import FolderChanges, FolderStore, FollowedFolder, SyncReport

from .workers import EngineClient, Job, JobContext

log = logging.getLogger("kidneytalk.ui.folders")

SYNC = "sync_folders"
FOLLOW = "follow_folder"
UNFOLLOW = "unfollow_folder"
_DEBOUNCE_MS = 2000
# inotify watches are a per-user kernel resource (fs.inotify.max_user_watches, often 8192 shared
# with every other program): past this many folders the deepest ones are left to the poll.
MAX_WATCHED_DIRECTORIES = 2000


class FolderWatcher(QObject):
    """Signals:
    folders_changed(list[FollowedFolder], dict[str, str]): the followed folders and what to say about each
        (``"ok"``, ``"syncing"``, ``"unavailable: why"``) — shown by the Library page.
    deletions_found(list[FolderChanges]): files were deleted and the setting says to ask; answer with
        :meth:`apply`.
    synced(list[SyncReport]): changes were applied.
    failed(str): following or unfollowing a folder failed (the message, for a dialog).
    """

    folders_changed = Signal(list, dict)
    deletions_found = Signal(list)
    synced = Signal(list)
    failed = Signal(str)
    _scanned = Signal(list, list)  # from the scan thread: (folders, changes)

    def __init__(self, client: EngineClient, parent: QObject | None = None):
        super().__init__(parent)
        self.client = client
        self.catalog_path = client.engine.paths.catalog
        self.folders: list[FollowedFolder] = []
        self.states: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._again = False
        self._applying = False
        self._asking = False
        self._declined: set[tuple[str, str]] = (
            set()
        )  # deleted files the user chose to decide on later
        self._stop = threading.Event()
        self._fs = QFileSystemWatcher(self)
        self._fs.directoryChanged.connect(lambda _path: self.schedule())
        self._capped = False
        self._unwatchable: set[str] = set()  # folders the watcher refused (left to the poll)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.scan_now)
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.scan_now)
        self._scanned.connect(self._on_scanned)

    # ------------------------------------------------------------ control
    def start(self, poll_seconds: int) -> None:
        """Catch up now, then keep watching (never on a read-only library: nothing could be synced)."""
        if self.client.engine.library.read_only:
            return
        self._poll.start(max(2, poll_seconds) * 1000)
        self.scan_now()

    def stop(self) -> None:
        self._stop.set()
        self._poll.stop()
        self._debounce.stop()

    def watched_directories(self) -> list[str]:
        """The folders the file-system watcher watches now: the followed ones and their subfolders."""
        return sorted(self._fs.directories())

    def schedule(self) -> None:
        """Scan soon (a burst of file events becomes one scan)."""
        self._debounce.start()

    def scan_now(self) -> None:
        if self._stop.is_set():
            return
        if (self._thread is not None and self._thread.is_alive()) or self._applying or self._asking:
            self._again = True
            return
        self._again = False
        self._thread = threading.Thread(
            target=self._scan, name="kidneytalk-folder-scan", daemon=True
        )
        self._thread.start()

    def follow(self, path: str) -> None:
        self._change_folders(
            Job(FOLLOW, lambda ctx: folders.follow(ctx.engine.library, path), writes_library=True)
        )

    def unfollow(self, path: str, remove_documents: bool = False) -> None:
        self._change_folders(
            Job(
                UNFOLLOW,
                lambda ctx: folders.unfollow(
                    ctx.engine.library, path, remove_documents=remove_documents
                ),
                writes_library=True,
            )
        )

    def _change_folders(self, job: Job[Any]) -> None:
        """Follow/unfollow on the engine thread; then scan (statuses, and what changed meanwhile)."""
        self.client.start(
            job,
            done=lambda _result: self.scan_now(),
            failed=self._on_folders_failed,
        )

    def _on_folders_failed(self, message: str) -> None:
        self.failed.emit(message)
        self.scan_now()

    def apply(self, changes: list[FolderChanges], remove_deleted: bool | None) -> None:
        """Queue the library writes for what a scan found (on the engine thread).

        ``remove_deleted`` None (the user said "later"): deleted files stay pending and are not asked
        about again in this session.
        """
        self._asking = False
        if remove_deleted is None:
            self._declined |= {(c.folder, t.rel) for c in changes for t in c.deleted}
        self._applying = True
        stop = self._stop

        def sync(ctx: JobContext) -> list[SyncReport]:
            return [
                folders.apply(
                    ctx.engine.library,
                    c,
                    remove_deleted=remove_deleted,
                    add=ctx.engine.add,
                    progress=ctx.progress,
                    cancel=ctx.cancel,
                )
                for c in changes
            ]

        self._set_states({c.folder: "syncing" for c in changes if c.has_changes})
        self.client.start(
            Job(SYNC, sync, cancel=stop, writes_library=True),
            done=self._on_synced,
            failed=lambda _message: self._on_synced(
                []
            ),  # logged by the worker; the next scan retries
        )

    # ------------------------------------------------------------ internals

    def _scan(self) -> None:
        try:
            store = FolderStore.open(self.catalog_path)
            try:
                listed = store.folders()
                changes = [folders.scan(f.path, store.tracked(f.path), self._stop) for f in listed]
            finally:
                store.close()
        except Exception:  # never let a scan take the app down; the next poll tries again
            log.exception("scanning the followed folders failed")
            listed, changes = [], []
        if not self._stop.is_set():
            self._scanned.emit(listed, changes)

    def _on_scanned(self, listed: list[FollowedFolder], changes: list[FolderChanges]) -> None:
        self.folders = listed
        self._watch(listed, changes)
        states = {}
        for c in changes:
            states[c.folder] = "ok" if c.available else f"unavailable: {c.problem}"
        self.states = states
        self.folders_changed.emit(self.folders, dict(self.states))
        # a folder going away or coming back is recorded too (its status), but only when that is news
        before = {f.path: f.status for f in listed}
        todo = [
            c
            for c in changes
            if c.has_changes
            or (
                before.get(c.folder) != folders.OK
                if c.available
                else before.get(c.folder) != folders.UNAVAILABLE
            )
        ]
        if not todo:
            if self._again:
                self.scan_now()
            return
        setting = self.client.settings.folders.remove_deleted
        if setting == "ask" and any(
            (c.folder, t.rel) not in self._declined for c in todo for t in c.deleted
        ):
            self._asking = True
            self.deletions_found.emit(todo)
            return
        if setting == "ask" and not any(
            c.new
            or c.changed
            or c.moved
            or c.touched
            or not c.available
            or before.get(c.folder) != folders.OK  # back after being unavailable: record it
            for c in todo
        ):
            if self._again:
                self.scan_now()
            return  # only deletions the user will decide on later
        self.apply(todo, folders.policy(setting))

    def _watch(self, listed: list[FollowedFolder], changes: list[FolderChanges]) -> None:
        """Watch each available followed folder and every subfolder its scan listed, nothing else."""
        followed = {f.path for f in listed}
        wanted: set[str] = set()
        for c in changes:
            if c.available and c.folder in followed:
                wanted.update(c.directories or [c.folder])
        # shallow folders first, so a cap leaves the deepest ones to the poll
        ordered = sorted(wanted, key=lambda d: (len(Path(d).parts), d))
        if len(ordered) > MAX_WATCHED_DIRECTORIES:
            if not self._capped:
                log.info(
                    "watching %d of %d followed folders and subfolders; the others are polled",
                    MAX_WATCHED_DIRECTORIES,
                    len(ordered),
                )
            self._capped = True
            ordered = ordered[:MAX_WATCHED_DIRECTORIES]
        watched = set(self._fs.directories())
        gone = watched - set(ordered)
        if gone:
            self._fs.removePaths(sorted(gone))
        self._unwatchable &= wanted  # one that went away and came back is tried again
        fresh = [d for d in ordered if d not in watched and d not in self._unwatchable]
        if not fresh:
            return
        failed = self._fs.addPaths(fresh)
        if failed:
            self._unwatchable.update(failed)
            log.info("cannot watch %d folders (left to the poll), e.g. %s", len(failed), failed[0])
        if watched and set(fresh) - set(failed):
            # a folder created while watching: files may have been written into it before its
            # watch was in place, and no event will tell of them
            self.schedule()

    def _set_states(self, states: dict[str, str]) -> None:
        self.states.update(states)
        self.folders_changed.emit(self.folders, dict(self.states))

    def _on_synced(self, reports: list[SyncReport]) -> None:
        self._applying = False
        if reports:
            self.synced.emit(reports)
        self.scan_now()  # statuses, and anything that changed meanwhile
