"""A document page rendered inside the app, with a passage highlighted.

PyMuPDF renders the page of the library's own copy of the document to an
image; the passage is found on the page with ``Page.search_for`` sentence by
sentence (falling back to runs of a few words, since cleaning joined
hyphenated words and lines), and the rectangles are painted over the image.
On a page read by OCR the words and boxes saved with the document are searched
instead (:func:`kidneytalk.ocr.find_rects`), so a scanned page is highlighted too.
Rendering a page takes a few milliseconds and never touches the engine, so it
runs in the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kidneytalk._lazy import LazyModule
from kidneytalk.citations import split_sentences
from kidneytalk.clean import CJK_CHARS
from kidneytalk.ocr import find_rects, load_words

if TYPE_CHECKING:
    import pymupdf
else:  # imported by the engine thread's warm-up, not before the window shows
    pymupdf = LazyModule("pymupdf")

log = logging.getLogger("kidneytalk.ui")

RENDER_ZOOM = 2.0  # 144 dpi: sharp when scaled down to the panel, and on high-DPI screens
HIGHLIGHT = QColor(255, 200, 0, 96)
HIGHLIGHT_EDGE = QColor(230, 150, 0, 200)
_WINDOW_WORDS = 6  # fallback search: runs of this many words
_MIN_NEEDLE = 12  # characters; shorter runs match by chance
_CJK_WINDOW = 8  # Chinese characters per run in the fallback search
_MIN_CJK_NEEDLE = 4  # a run of four Chinese characters rarely repeats on a page


def passage_rects(page: pymupdf.Page, text: str) -> list[pymupdf.Rect]:
    """Where ``text`` (a passage of cleaned document text) lies on ``page``."""
    rects: list[pymupdf.Rect] = []
    for sentence in split_sentences(text):
        hits = page.search_for(sentence) if len(sentence) >= _MIN_NEEDLE else []
        if not hits:
            hits = [r for piece in _pieces(sentence) for r in page.search_for(piece)]
        rects += hits
    return _merged(rects)


def _merged(rects: list[pymupdf.Rect]) -> list[pymupdf.Rect]:
    """Boxes on one line that overlap or touch as one box (overlapping pieces find parts twice,
    and translucent boxes painted over each other would show darker)."""
    lines: list[list[pymupdf.Rect]] = []  # boxes grouped by line, top to bottom
    for r in sorted(rects, key=lambda r: (r.y0 + r.y1) / 2):
        line = lines[-1] if lines else None
        if line and abs((line[0].y0 + line[0].y1) - (r.y0 + r.y1)) / 2 <= line[0].height / 2:
            line.append(r)
        else:
            lines.append([r])
    out: list[pymupdf.Rect] = []
    for line in lines:
        start = len(out)
        for r in sorted(line, key=lambda r: r.x0):  # left to right: each box meets the last one
            if len(out) > start and r.x0 <= out[-1].x1 + 1:
                out[-1] = out[-1] | r
            else:
                out.append(pymupdf.Rect(r))
    return out


def _pieces(sentence: str) -> list[str]:
    """Shorter runs of a sentence the page did not hold whole (cleaning joined its lines):
    runs of a few words, or for Chinese, which has no spaces, overlapping runs of characters
    (one of them fits within each printed line)."""
    if CJK_CHARS.search(sentence) and len(sentence.split()) < _WINDOW_WORDS:
        step = _CJK_WINDOW // 2
        runs = [sentence[k : k + _CJK_WINDOW] for k in range(0, max(1, len(sentence) - step), step)]
        return [r for r in runs if len(r.strip()) >= _MIN_CJK_NEEDLE]
    words = sentence.split()
    runs = [" ".join(words[k : k + _WINDOW_WORDS]) for k in range(0, len(words), _WINDOW_WORDS)]
    return [r for r in runs if len(r) >= _MIN_NEEDLE]


def render_page(
    path: str | Path, number: int, passages: Sequence[str] = ()
) -> tuple[QImage, int, int]:
    """Page ``number`` (1-based) of ``path`` as an image with ``passages`` highlighted.

    Returns the image, the page count and how many highlight rectangles were drawn.
    Raises ``RuntimeError``/``ValueError`` (PyMuPDF) or ``OSError`` when the file cannot be read.
    """
    with pymupdf.open(str(path)) as doc:
        count = doc.page_count
        number = min(max(1, number), count)
        page = doc[number - 1]
        pix = page.get_pixmap(matrix=pymupdf.Matrix(RENDER_ZOOM, RENDER_ZOOM), alpha=False)
        fmt = QImage.Format.Format_RGB888 if pix.n == 3 else QImage.Format.Format_Grayscale8
        image = QImage(pix.samples, pix.width, pix.height, pix.stride, fmt).convertToFormat(
            QImage.Format.Format_RGB32
        )  # a deep copy: ``pix`` is freed with the document
        ocr_words = load_words(path).get(number) if passages else None
        if ocr_words:  # a scanned page: its text layer (if any) is not what was indexed
            rects = [r for text in passages for r in find_rects(ocr_words, text)]
        else:
            rects = [r for text in passages for r in passage_rects(page, text)]
    top = min((r.y0 for r in rects), default=0.0) * RENDER_ZOOM
    image.setText("highlight_top", str(top))  # where the passage starts, for scrolling to it
    if rects:
        painter = QPainter(image)
        painter.setPen(HIGHLIGHT_EDGE)
        painter.setBrush(HIGHLIGHT)
        for r in rects:
            painter.drawRect(
                QRectF(
                    r.x0 * RENDER_ZOOM,
                    r.y0 * RENDER_ZOOM,
                    r.width * RENDER_ZOOM,
                    r.height * RENDER_ZOOM,
                )
            )
        painter.end()
    return image, count, len(rects)


class PageView(QWidget):
    """One page of a document, fitted to the width, with page buttons; the passage is highlighted.

    ``show_document(path, page, passages)`` opens it; the page buttons move
    through the document keeping the highlight search. ``pixmap`` is the
    current rendering (null when nothing could be shown).
    """

    page_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pageView")
        self.path = ""
        self.page = 0
        self.page_count = 0
        self.highlights = 0
        self.passages: list[str] = []
        self._image = QImage()
        self.pixmap = QPixmap()

        self.prev_button = QToolButton()
        self.prev_button.setText("‹")
        self.prev_button.clicked.connect(lambda: self.go(self.page - 1))
        self.next_button = QToolButton()
        self.next_button.setText("›")
        self.next_button.clicked.connect(lambda: self.go(self.page + 1))
        self.page_box = QSpinBox()
        self.page_box.setObjectName("pageBox")
        self.page_box.setKeyboardTracking(False)
        self.page_box.valueChanged.connect(lambda value: value != self.page and self.go(value))
        self.page_label = QLabel("")
        self.page_label.setObjectName("hintLabel")
        nav = QHBoxLayout()
        nav.setContentsMargins(0, 0, 0, 0)
        nav.addWidget(self.prev_button)
        nav.addWidget(self.page_box)
        nav.addWidget(self.page_label, 1)
        nav.addWidget(self.next_button)

        self.image_label = QLabel()
        self.image_label.setObjectName("pageImage")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image_label.setWordWrap(True)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("pageScroll")
        self.scroll_area.setWidget(self.image_label)
        self.scroll_area.setWidgetResizable(False)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(nav)
        layout.addWidget(self.scroll_area, 1)
        for key, step in (
            (QKeySequence.StandardKey.MoveToPreviousPage, -1),
            (QKeySequence.StandardKey.MoveToNextPage, 1),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda step=step: self.go(self.page + step))
        self.retranslate()
        self.clear()

    def retranslate(self) -> None:
        self.prev_button.setToolTip(self.tr("Previous page (Page Up)"))
        self.next_button.setToolTip(self.tr("Next page (Page Down)"))
        self.page_box.setPrefix(self.tr("Page "))
        self.page_box.setToolTip(self.tr("Type a page number and press Enter"))
        if self.page_count:
            self._update_nav()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def clear(self, message: str = "") -> None:
        self.path, self.page, self.page_count, self.highlights = "", 0, 0, 0
        self._image = QImage()
        self.pixmap = QPixmap()
        self._show_message(message)

    def _show_message(self, message: str) -> None:
        self.pixmap = QPixmap()
        self.image_label.setPixmap(QPixmap())
        self.image_label.setText(message)
        self._scroll_bars(False)  # a message is wrapped to the view: nothing to scroll to
        self.image_label.resize(self.scroll_area.viewport().size())
        self._update_nav()

    def _scroll_bars(self, on: bool) -> None:
        policy = (
            Qt.ScrollBarPolicy.ScrollBarAsNeeded if on else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.scroll_area.setHorizontalScrollBarPolicy(policy)
        self.scroll_area.setVerticalScrollBarPolicy(policy)

    def show_document(self, path: str | Path, page: int = 1, passages: Sequence[str] = ()) -> bool:
        """Open ``path`` at ``page`` with ``passages`` highlighted; False (and a message) on failure."""
        self.path = str(path)
        self.page_count = 0
        self.passages = [p for p in passages if p.strip()]
        return self.go(page)

    def go(self, page: int) -> bool:
        if not self.path:
            return False
        if self.page_count and not 1 <= page <= self.page_count:
            return False
        if not Path(self.path).exists():
            self._show_message(
                self.tr(
                    "The library's copy of this document is missing, so its page cannot be shown."
                )
            )
            return False
        try:
            image, count, rects = render_page(self.path, page, self.passages)
        except Exception as exc:  # a damaged or unsupported file: say so where the page would be
            log.warning("could not render %s page %s: %s", self.path, page, exc)
            self._show_message(
                self.tr("This page cannot be shown (%1).").replace(
                    "%1", f"{type(exc).__name__}: {exc}"
                )
            )
            return False
        self._image, self.page_count, self.highlights = image, count, rects
        self.page = min(max(1, page), count)
        self.image_label.setText("")
        self._scroll_bars(True)
        self._fit()
        self.page_changed.emit(self.page)
        return True

    def _fit(self) -> None:
        if self._image.isNull():
            return
        # the scroll area's width less its frame and a vertical scroll bar: no horizontal bar, ever
        bar = self.scroll_area.verticalScrollBar().sizeHint().width()
        width = max(120, self.scroll_area.width() - 2 * self.scroll_area.frameWidth() - bar - 2)
        ratio = self.devicePixelRatioF()
        scaled = self._image.scaledToWidth(
            int(width * ratio), Qt.TransformationMode.SmoothTransformation
        )
        self.pixmap = QPixmap.fromImage(scaled)
        self.pixmap.setDevicePixelRatio(ratio)
        self.image_label.setPixmap(self.pixmap)
        self.image_label.resize(width, int(scaled.height() / ratio))
        self._update_nav()
        if self.highlights:  # bring the passage into view, a little context above it
            top = float(self._image.text("highlight_top") or 0) * width / self._image.width()
            self.scroll_area.verticalScrollBar().setValue(max(0, int(top) - 40))

    def _update_nav(self) -> None:
        has = self.page_count > 0
        for w in (self.prev_button, self.next_button, self.page_box, self.page_label):
            w.setVisible(has)
        self.prev_button.setEnabled(has and self.page > 1)
        self.next_button.setEnabled(has and self.page < self.page_count)
        self.page_box.setEnabled(has)
        self.page_box.blockSignals(True)
        self.page_box.setRange(1 if has else 0, max(self.page_count, 0))
        self.page_box.setValue(self.page)
        self.page_box.blockSignals(False)
        if has:
            mark = (
                ""
                if not self.passages
                else (
                    self.tr(" · passage highlighted")
                    if self.highlights
                    else self.tr(" · passage not on this page")
                )
            )
            self.page_label.setText(self.tr("of %1").replace("%1", str(self.page_count)) + mark)
        else:
            self.page_label.setText("")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._image.isNull():
            self.image_label.resize(self.scroll_area.viewport().size())
        else:
            self._fit()


class PageDialog(QDialog):
    """A document page in its own window (Library → Open at page, evidence → Open larger)."""

    def __init__(
        self,
        path: str | Path,
        page: int = 1,
        passages: Sequence[str] = (),
        *,
        title: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("pageDialog")
        self.setWindowTitle(title or Path(path).name)
        self.resize(720, 860)
        self.view = PageView()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.view.show_document(path, page, passages)
