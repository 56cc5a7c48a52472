"""Inter-process lock on a library: writers exclusive, readers shared.

``fcntl.flock`` is released by the kernel when a process dies (even by
SIGKILL), so a crash never leaves a stale lock. The holder writes who it is
next to the lock so a waiting process can say what it is waiting for.

A lock on a read-only library (``read_only=True``) never creates or writes a
file there: a reader takes a shared ``flock`` on the existing lock file opened
read-only (so a writer on the same machine is not caught mid-commit), or no
lock at all when there is none; a writer is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from kidneytalk.errors import LibraryBusyError


class LibraryLock:
    def __init__(self, path: Path, *, timeout: float = 600.0, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self.owner_path = path.with_suffix(".owner")
        self.timeout = timeout
        self._fd: int | None = None
        self._depth = 0
        self._mode = 0

    @property
    def held(self) -> bool:
        """Whether this process holds the lock now (in any scope, shared or exclusive)."""
        return self._depth > 0

    def holder(self) -> str:
        try:
            info = json.loads(self.owner_path.read_text())
            return f"pid {info['pid']} ({info['what']}, since {info['since']})"
        except (OSError, ValueError, KeyError):
            return "another KidneyTalk process"

    @contextlib.contextmanager
    def hold(
        self, *, exclusive: bool, what: str = "", on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the lock; re-entrant within one process (a shared hold may not upgrade)."""
        if self._depth:
            if exclusive and self._mode != fcntl.LOCK_EX:
                raise RuntimeError("cannot upgrade a shared library lock to exclusive")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if self.read_only:
            if exclusive:
                raise RuntimeError("a read-only library cannot be locked for writing")
            yield from self._hold_read_only(on_wait)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            self._acquire(fd, mode, on_wait)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._mode, self._depth = fd, mode, 1
        with contextlib.suppress(OSError):
            self.owner_path.write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "what": what or ("writing" if exclusive else "reading"),
                        "since": time.strftime("%H:%M:%S"),
                    }
                )
            )
        try:
            yield
        finally:
            self._depth = 0
            self._fd = None
            self._clear_owner()
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _hold_read_only(self, on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """A shared hold that writes nothing: the existing lock file opened read-only, if any."""
        try:
            fd: int | None = os.open(self.path, os.O_RDONLY)
        except OSError:
            fd = None  # never written on this medium: nobody to wait for
        if fd is not None:
            try:
                self._acquire(fd, fcntl.LOCK_SH, on_wait)
            except BaseException:
                os.close(fd)
                raise
        self._fd, self._mode, self._depth = fd, fcntl.LOCK_SH, 1
        try:
            yield
        finally:
            self._depth = 0
            self._fd = None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _clear_owner(self) -> None:
        """Forget who held the lock, if it was us (another reader may have written since)."""
        try:
            if json.loads(self.owner_path.read_text()).get("pid") == os.getpid():
                self.owner_path.unlink()
        except (OSError, ValueError):
            pass

    def _acquire(self, fd: int, mode: int, on_wait: Callable[[str], None] | None) -> None:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = self.holder()
        if on_wait:
            on_wait(f"The library is in use by {holder}; waiting up to {int(self.timeout)} s...")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                continue
        raise LibraryBusyError(
            f"The library at {self.path.parent} is in use by {holder}; try again when it has finished."
        )
