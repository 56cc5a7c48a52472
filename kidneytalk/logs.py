"""Logging to a rotating file in the log dir.

Document text is only ever logged at DEBUG; INFO and above carry file names,
ids and counts.
"""

from __future__ import annotations

import logging
import logging.handlers
import os

from kidneytalk.config import Paths

LOG_FILE = "kidneytalk.log"
_handler: logging.Handler | None = None
_handler_path = ""


def setup_logging(paths: Paths, level: str | int | None = None) -> str:
    """Send KidneyTalk's log to a rotating file in ``paths.logs``; return the log path.

    One file handler per process: opening another home moves the log there.
    """
    global _handler, _handler_path
    paths.logs.mkdir(parents=True, exist_ok=True)
    log_path = str(paths.logs / LOG_FILE)
    root = logging.getLogger("kidneytalk")
    root.setLevel(level or os.environ.get("KIDNEYTALK_LOG_LEVEL", "INFO"))
    if log_path != _handler_path:
        if _handler is not None:
            root.removeHandler(_handler)
            _handler.close()
        _handler = logging.handlers.RotatingFileHandler(log_path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        _handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
        root.addHandler(_handler)
        _handler_path = log_path
    return log_path
