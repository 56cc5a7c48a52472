"""Logging to a rotating file in the log dir.

Document text is only ever logged at DEBUG; INFO and above carry file names,
ids and counts. Every message is one line: newlines, control characters and
undecodable bytes (e.g. in a file name) are escaped, so a name can neither
split a log line nor stop the log (tracebacks keep their lines).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from typing import Any

from kidneytalk.config import Paths
from kidneytalk.names import safe_text

LOG_FILE = "kidneytalk.log"


class OneLineFormatter(logging.Formatter):
    """Escapes what could split or break a log line in the message and the traceback's lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = safe_text(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return "\n".join(safe_text(line) for line in super().formatException(ei).split("\n"))


_handler: logging.Handler | None = None
_handler_path = ""


def setup_logging(paths: Paths, level: str | int | None = None) -> str:
    """Send KidneyTalk's log to a rotating file in ``paths.logs``; return the log path.

    One file handler per process: opening another home moves the log there. A log folder
    that cannot be written (all of KidneyTalk's folders on read-only media) means no log
    file, not a failure: "" is returned.
    """
    global _handler, _handler_path
    log_path = str(paths.logs / LOG_FILE)
    root = logging.getLogger("kidneytalk")
    root.setLevel(level or os.environ.get("KIDNEYTALK_LOG_LEVEL", "INFO"))
    if log_path != _handler_path:
        try:
            paths.logs.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                log_path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
            )
        except OSError:
            if _handler is None and not root.handlers:  # not Python's last resort: the terminal
                root.addHandler(logging.NullHandler())  # gets one line per problem from the caller
            return ""
        if _handler is not None:
            root.removeHandler(_handler)
            _handler.close()
        _handler = handler
        _handler.setFormatter(
            OneLineFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        root.addHandler(_handler)
        _handler_path = log_path
    return log_path
