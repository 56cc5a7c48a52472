"""Terminal progress for ingestion: files, pages, chunks, rate and ETA on one line."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from kidneytalk.records import ProgressEvent


def _fmt_eta(seconds: float) -> str:
    if seconds <= 0 or seconds != seconds:
        return "--:--"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Callback for :meth:`Library.add`; redraws one line on a terminal, prints lines elsewhere."""

    def __init__(self, stream: TextIO | None = None, *, width: int = 24, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = width
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._line_open = False
        self._ocr_file = ""

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if event.stage == "ocr" and not self.live and event.file != self._ocr_file:
                self._ocr_file = event.file  # once per file: OCR is slow enough to explain the wait
                print(
                    f"{event.file}: reading scanned pages with OCR…", file=self.stream, flush=True
                )
            if event.stage in ("done", "error", "skip"):
                self._clear()
                if event.message:
                    prefix = "error: " if event.stage == "error" else ""
                    print(prefix + event.message, file=self.stream, flush=True)
            if event.files_total and (self.live or event.stage == "done"):
                self._draw(event)

    def _draw(self, e: ProgressEvent) -> None:
        now = time.monotonic()
        if self.live and now - self._last_draw < 0.1 and e.stage not in ("done", "error"):
            return
        self._last_draw = now
        elapsed = max(1e-6, now - self.start)
        files_done = e.file_index if e.stage in ("done", "error", "skip") else e.file_index - 1
        frac = files_done / e.files_total
        if e.stage in ("embed", "ocr"):
            frac = (e.file_index - 1 + e.file_fraction) / e.files_total
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = e.pages_done / elapsed
        eta = elapsed / frac * (1 - frac) if frac > 0 else float("nan")
        line = (
            f"[{bar}] {files_done}/{e.files_total} files  {e.pages_done} pages  {e.chunks_done} chunks  "
            f"{rate:.1f} pages/s  ETA {_fmt_eta(eta)}  {e.file[:30]}"
        )
        if e.stage == "ocr":  # pages/s and the ETA mean little while a scan is read
            line = f"[{bar}] {files_done}/{e.files_total} files  {e.file[:30]}: {e.message}"
        if self.live:
            self.stream.write("\r" + line[:160].ljust(120))
            self.stream.flush()
            self._line_open = True

    def _clear(self) -> None:
        if self._line_open:
            self.stream.write("\r" + " " * 120 + "\r")
            self._line_open = False

    def finish(self) -> None:
        with self._lock:
            self._clear()


class EvalBar:
    """Progress callback for :func:`kidneytalk.evaluation.run_eval`; Ctrl-C stops after the current question.

    The first Ctrl-C sets :attr:`cancel` (results so far are kept and the
    report is written); a second one interrupts at once.
    """

    def __init__(self, stream: TextIO | None = None, *, width: int = 24, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.width = width
        self.cancel = threading.Event()
        self._open = False
        self._last_line = 0.0
        try:
            import signal

            self._old = signal.signal(signal.SIGINT, self._interrupt)
        except ValueError:  # not the main thread
            self._old = None

    def _interrupt(self, signum: int, frame: object) -> None:
        import signal

        if self.cancel.is_set():
            signal.signal(signal.SIGINT, self._old or signal.SIG_DFL)
            raise KeyboardInterrupt
        self.cancel.set()
        self.stream.write("\nstopping after the current question (results so far are kept)…\n")

    def __call__(self, p: object) -> None:
        done, total = getattr(p, "done", 0), max(1, getattr(p, "total", 1))
        filled = int(self.width * done / total)
        eta = getattr(p, "eta_seconds", None)
        line = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{total}  ETA {_fmt_eta(eta or 0)}  "
            f"{getattr(p, 'mode', '')} {getattr(p, 'question_id', '')}"
        )
        if self.live:
            self.stream.write("\r" + line[:150].ljust(110))
            self.stream.flush()
            self._open = True
        elif time.monotonic() - self._last_line > 30 or done == total:
            self._last_line = time.monotonic()
            print(line, file=self.stream, flush=True)

    def finish(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False
        if self._old is not None:
            import signal

            signal.signal(signal.SIGINT, self._old)
            self._old = None
