"""Giving freed memory back to the operating system between ingest steps.

glibc's ``malloc`` keeps memory that Python, PyTorch and MuPDF free in its heaps (one per
thread that allocated it) for reuse; memory freed in the middle of a heap is not returned.
Embedding batches of different shapes, one after another, leave such holes behind, and the
resident size of the process climbs although nothing more is held: embedding the 4,677 chunks of
a generated 1,000-page PDF (bf16 PyTorch, 256 per call) took RSS from 625 to 1,108 MiB (peak
1,230) while the Python objects alive stayed under 45 MiB; with ``malloc_trim`` after each call
the same embedder stayed at 507-524 MiB where it had climbed 628 -> 747 (bench/results/memory.json,
``findings``). It costs a few milliseconds, so it runs between calls, not inside them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc only (musl has none)
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def give_back() -> bool:
    """Return the C heap's free memory to the OS (glibc); False where that is not possible."""
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        trim(0)
    except OSError as exc:  # pragma: no cover - a libc without a working malloc_trim
        log.debug("malloc_trim failed: %s", exc)
        return False
    return True
