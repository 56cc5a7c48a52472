"""One desktop window per library: a second launch brings the first window to the front.

Who is first is decided by an exclusive ``flock`` on ``app.lock`` in the
library's data folder: the kernel drops it when the process ends, even by a
crash or SIGKILL, so a dead KidneyTalk never blocks the next start. The first
instance also listens on a local socket named from a hash of the data folder
(a leftover socket file from a crash is removed before listening); a second
launch on the same library connects to it, asks it to show its window, and
quits. Two different libraries never meet: their names differ.

Where ``fcntl`` is missing (Windows), the local server alone decides (named
pipes leave nothing behind after a crash).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("kidneytalk.ui")

LOCK_FILE = "app.lock"
_SHOW = b"show\n"
_TIMEOUT_MS = 1000


def server_name(data: Path) -> str:
    """The local socket's name for the library in ``data`` (per user, per folder, short enough for sun_path)."""
    key = f"{os.getuid() if hasattr(os, 'getuid') else os.getlogin()}:{data.expanduser().resolve()}"
    return "kidneytalk-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]


class SingleInstance(QObject):
    """Claim the library for this process; ``activated`` fires when another launch asks for the window."""

    activated = Signal()

    def __init__(self, data: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.data = data
        self.name = server_name(data)
        self.server: QLocalServer | None = None
        self._fd: int | None = None

    def claim(self) -> bool:
        """True when this process is the library's only window; False after asking the first one to show itself."""
        if not self._lock():
            self._notify_first()
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            if fcntl is None and self._notify_first():
                return False  # Windows: a live first instance owns the pipe
            QLocalServer.removeServer(
                self.name
            )  # left behind by a crash (we hold the lock: nobody uses it)
            if not server.listen(self.name):
                log.warning(
                    "single-instance socket %s: %s; a second window will not be noticed",
                    self.name,
                    server.errorString(),
                )
                return True
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self._fd is not None:
            os.close(self._fd)  # also releases the flock
            self._fd = None

    # ------------------------------------------------------------ internals
    def _lock(self) -> bool:
        if fcntl is None:
            return True
        try:
            self.data.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.data / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # a read-only library folder: the local server alone decides
            log.info("no single-instance lock in %s (%s)", self.data, exc.strerror)
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _notify_first(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(_TIMEOUT_MS):
            return False
        socket.write(_SHOW)
        socket.flush()
        socket.waitForBytesWritten(_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def _on_connection(self) -> None:
        """Read the one short request of a second launch (it writes at once, then hangs up)."""
        assert self.server is not None
        while (conn := self.server.nextPendingConnection()) is not None:
            arrived = conn.bytesAvailable() > 0 or conn.waitForReadyRead(_TIMEOUT_MS)
            if arrived and bytes(conn.readAll().data()).startswith(_SHOW.strip()):
                self.activated.emit()
            conn.abort()
