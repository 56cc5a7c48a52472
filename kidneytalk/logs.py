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
_configured: set[str] = set()


def setup_logging(paths: Paths, level: str | int | None = None) -> str:
    """Attach a rotating file handler for ``paths.logs`` once; return the log path."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    log_path = str(paths.logs / LOG_FILE)
    root = logging.getLogger("kidneytalk")
    lvl = level or os.environ.get("KIDNEYTALK_LOG_LEVEL", "INFO")
    root.setLevel(lvl)
    if log_path not in _configured:
        handler = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
        )
        root.addHandler(handler)
        _configured.add(log_path)
    return log_path
