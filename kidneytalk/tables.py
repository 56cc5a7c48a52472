"""Table detection in a helper process, so that its memory goes back to the OS.

PyMuPDF's ``find_tables`` leaks native memory: on real journal pages about 0.4 MiB per
page it looks at, which neither closing the document nor ``malloc_trim`` gives back (300
pages of two-column articles: RSS +586 MiB at its highest during parsing and +174 MiB after
the document was closed and the heap trimmed; the Python objects alive stayed under 10 MiB).
A long guideline full of tables would take the ingest past its memory budget page by page.

So table pages are read by a child process (``spawn``) that opens the same file, and is
replaced after :data:`RECYCLE_PAGES` pages: what it leaked goes when it exits. One child
serves a whole ingest batch (starting one costs ~0.4 s). Only pages where a table is likely
get here (``parse._table_likely``), so a batch without tables starts no process. The child
also keeps a crash or a hang in table detection (a malformed page) from taking the app with
it: that page keeps its text, as if it had no table. Documents not opened from a file, and
``KIDNEYTALK_TABLES_INPROCESS=1`` (debugging), read tables in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from typing import TYPE_CHECKING, Any, Protocol

from kidneytalk.errors import Cancelled

if TYPE_CHECKING:
    import pymupdf

log = logging.getLogger(__name__)

ENV_INPROCESS = "KIDNEYTALK_TABLES_INPROCESS"
# pages a child reads before it is replaced: its peak RSS is ~0.4 GiB whatever this is (importing
# PyMuPDF and the first page's tables take most of it), and each start costs ~0.4 s
RECYCLE_PAGES = 32
_POLL = 0.1  # seconds between looks at Cancel while a page is read
# a page whose tables take longer is given up (the helper is killed; the page keeps its text):
# the slowest table page measured took 7 s, a typical one under 1 s
PAGE_TIMEOUT = 120.0
_START_TIMEOUT = 60.0  # seconds for a helper to say it has started
_RELEASE = "release"  # request: close the open document (its file is not held)
_CANNOT_OPEN = "cannot open the file"  # answer: read this page in the app instead

TableFound = tuple[tuple[float, float, float, float], str]  # (box, Markdown rows)


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def _child(conn: Any) -> None:
    """In the table process: read the tables of each (file, page index) sent, until ``None``."""
    import signal

    import pymupdf

    from kidneytalk.memory import give_back
    from kidneytalk.parse import page_tables

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to act on
    conn.send((True, "ready"))  # started: a death from now on is a page's
    doc: Any = None
    try:
        while (request := conn.recv()) is not None:
            if request == _RELEASE:
                if doc is not None:
                    doc.close()
                    doc = None
                continue
            source, index = request
            try:
                if doc is None or doc.name != source:
                    if doc is not None:
                        doc.close()
                        doc = None
                    doc = pymupdf.open(source)
            except Exception as exc:
                conn.send((False, f"{_CANNOT_OPEN}: {type(exc).__name__}: {exc}"))
                continue
            try:
                conn.send((True, page_tables(doc.load_page(index))))
            except Exception as exc:  # this page's problem: the next one is read
                conn.send((False, f"{type(exc).__name__}: {exc}"))
            give_back()  # what the page freed (helper at its highest: 417 -> 356 MiB)
    except (EOFError, KeyboardInterrupt):  # the parent went away or stopped us
        pass
    finally:
        if doc is not None:
            doc.close()
        conn.close()


class TableReader:
    """The tables of PDF pages, read by a recycled child process (see the module).

    One reader serves a whole ingest batch (one child start for many documents, not one
    each); :func:`kidneytalk.parse.parse_file` makes its own when given none. ``close()``
    ends the child: a reader left idle holds a process of a few hundred MiB.
    """

    def __init__(self, cancel: CancelFlag | None = None):
        self.cancel = cancel
        self.inprocess = os.environ.get(ENV_INPROCESS) == "1"
        self._proc: Any = None  # multiprocessing.Process
        self._conn: Any = None
        self._served = 0  # pages the current child has read
        self._ready = False  # the current child has said it started
        self.processes = 0  # children started (tests and benchmarks look)

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, page: pymupdf.Page) -> list[TableFound]:
        """The tables found on ``page`` (box, Markdown); [] when detection failed on it."""
        from kidneytalk.parse import page_tables

        source = page.parent.name if page.parent is not None else ""
        if self.inprocess or not source or not os.path.isfile(source):
            return page_tables(page)  # a document not opened from a file is read here
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled while reading tables")
        if self._proc is not None and (self._served >= RECYCLE_PAGES or not self._proc.is_alive()):
            self.close()
        if self._proc is None and not self._start():
            return page_tables(page)
        if not self._ready:
            try:
                ok, why = self._receive(_START_TIMEOUT)
            except (EOFError, OSError, TimeoutError) as exc:
                ok, why = False, str(exc) or type(exc).__name__
            if not ok:  # it could not start (its imports failed, no room for a process):
                # tables are read here from now on
                log.warning("tables are read in this process: the helper did not start (%s)", why)
                self.close(kill=True)
                self.inprocess = True
                return page_tables(page)
            self._ready = True
        self._served += 1
        try:
            self._conn.send((source, page.number))
            ok, payload = self._receive(PAGE_TIMEOUT)
        except (EOFError, OSError, TimeoutError) as exc:  # it died or hung on this page: the
            # page keeps its text, and the next one gets a new helper
            why = str(exc) or f"no answer in {PAGE_TIMEOUT:.0f} s"
            log.warning("page %d: table detection stopped (%s)", page.number + 1, why)
            self.close(kill=True)
            return []
        if not ok:
            if str(payload).startswith(_CANNOT_OPEN):  # (gone since this process opened it)
                return page_tables(page)
            log.debug("page %d: table detection failed: %s", page.number + 1, payload)
            return []
        return [(tuple(box), md) for box, md in payload]

    def _receive(self, timeout: float) -> tuple[bool, Any]:
        """The child's next message; Cancel kills it, its death is an EOFError and no message
        in ``timeout`` seconds a TimeoutError."""
        deadline = time.monotonic() + timeout
        while not self._conn.poll(_POLL):
            if self.cancel is not None and self.cancel.is_set():
                self.close(kill=True)
                raise Cancelled("cancelled while reading tables")
            if not self._proc.is_alive() and not self._conn.poll(0):
                raise EOFError(f"exit code {self._proc.exitcode}")
            if time.monotonic() > deadline:
                raise TimeoutError
        message: tuple[bool, Any] = self._conn.recv()
        return message

    def release(self) -> None:
        """Let the helper close the document it has open (the caller is done with it): its file
        is not held (on Windows, locked) while other files are read."""
        if self._proc is not None and self._ready:
            try:
                self._conn.send(_RELEASE)
            except (OSError, EOFError, ValueError):
                self.close(kill=True)

    def _start(self) -> bool:
        """Start a child; False (and tables read here from now on) when none can be started."""
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_child, args=(theirs,), name="kidneytalk-tables", daemon=True)
        try:
            proc.start()
        except Exception as exc:  # e.g. a script without a __main__ guard, or no more processes
            log.warning("tables are read in this process: no helper process (%s)", exc)
            mine.close()
            self.inprocess = True
            return False
        finally:
            theirs.close()
        self._proc, self._conn = proc, mine
        self._served = 0
        self._ready = False
        self.processes += 1
        return True

    def close(self, kill: bool = False) -> None:
        """End the child (asked to stop, or killed), if there is one."""
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if proc is None:
            return
        try:
            if not kill and proc.is_alive():
                conn.send(None)
                proc.join(5)
        except (OSError, EOFError, ValueError):
            pass
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            conn.close()
