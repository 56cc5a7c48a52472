"""Tables: found on a page and written as Markdown (:func:`page_tables`), in a helper process
so that the memory table detection leaks goes back to the OS (:class:`TableReader`).

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

from kidneytalk._lazy import LazyModule
from kidneytalk.errors import Cancelled

if TYPE_CHECKING:
    import pymupdf
else:  # imported on first use: not needed to start the desktop app
    pymupdf = LazyModule("pymupdf")

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


# ---------------------------------------------------------------- detection (in either process)
def page_tables(page: pymupdf.Page) -> list[TableFound]:
    """The tables ``find_tables`` finds on ``page`` with two rows or more: (box, Markdown)."""
    found = page.find_tables().tables
    if not found:
        return []
    raw = page.get_text("rawdict", flags=pymupdf.TEXT_MEDIABOX_CLIP)
    out: list[TableFound] = []
    for table in found:
        md = table_markdown(table, raw, page.rotation_matrix if page.rotation else None)
        if md and table.row_count >= 2:
            box = pymupdf.Rect(table.bbox)
            out.append(((box.x0, box.y0, box.x1, box.y1), md))
    return out


def table_markdown(table: Any, raw: dict, matrix: pymupdf.Matrix | None = None) -> str:
    """A table found by ``find_tables`` as Markdown rows, its first row as the header.

    Cell text is read from the page's own text lines (``rawdict``), each
    character placed in the cell holding its centre, lines kept in the order
    the page gives them and joined with ``<br>``. PyMuPDF's ``to_markdown``
    re-sorts characters by position instead, and a glyph drawn a little higher
    than its line (每 in "(二)每天需常規及足量透析") then lands on a line of its own.
    """
    rows = [[pymupdf.Rect(c) if c is not None else None for c in row.cells] for row in table.rows]
    if not rows:
        return ""
    texts: list[list[list[str]]] = [[[] for _ in row] for row in rows]  # cell -> its lines
    for block in raw.get("blocks", []):
        for line in block.get("lines", []):
            parts: dict[tuple[int, int], list[str]] = {}
            for span in line.get("spans", []):
                for ch in span.get("chars", []):
                    x0, y0, x1, y1 = ch["bbox"]
                    point = pymupdf.Point((x0 + x1) / 2, (y0 + y1) / 2)
                    if matrix is not None:  # a rotated page: cells are in unrotated coordinates
                        point = point * matrix
                    cell = _cell_at(rows, point)
                    if cell is not None:
                        parts.setdefault(cell, []).append(ch["c"])
            for (r, c), chars in parts.items():
                text = "".join(chars).strip()
                if text:
                    texts[r][c].append(text)
    width = max(len(row) for row in rows)
    lines = []
    for i, row in enumerate(texts):
        cells = ["<br>".join(t).replace("|", "\\|") for t in row] + [""] * (width - len(row))
        lines.append("|" + "|".join(cells) + "|")
        if i == 0:
            lines.append("|" + "|".join(["---"] * width) + "|")
    if not any(any(t) for row in texts for t in row):
        return ""
    return "\n".join(lines)


def _cell_at(rows: list[list[pymupdf.Rect | None]], point: pymupdf.Point) -> tuple[int, int] | None:
    """(row, column) of the cell containing ``point``, or None."""
    for r, row in enumerate(rows):
        for c, rect in enumerate(row):
            if rect is not None and point in rect:
                return r, c
    return None


# ---------------------------------------------------------------- the helper process
class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def _child(conn: Any) -> None:
    """In the table process: read the tables of each (file, page index) sent, until ``None``."""
    import signal

    from kidneytalk.memory import give_back

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
