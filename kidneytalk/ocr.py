"""Offline OCR for pages without a usable text layer (Tesseract through PyMuPDF).

Which pages: :func:`text_layer_score` looks at what a page's text layer gives —
nothing at all on a page covered by images (a scan), or garbage: replacement and
private-use characters, or text broken into one- and two-character fragments,
often at odd angles (curved or rotated lettering). Pages that need it are
rendered in grey and read by Tesseract through MuPDF's OCR writer (as
``Page.get_textpage_ocr`` does from a colour rendering; grey misreads half as many
Chinese characters of colour scans: :func:`_ocr_text`); every other page keeps its
text layer. The decision is made per page, never per file.

Engine: Tesseract 5 from the Debian packages ``tesseract-ocr-eng``,
``-chi-sim`` and ``-chi-tra`` (chosen on ``bench/ocr.py``: see the README). PyMuPDF
carries the Tesseract library itself and only needs the language files; nothing
is downloaded, ever. When they are missing (or ``KIDNEYTALK_OCR=off``) the page
is left as it is and the document says what to install ("needs OCR").

Languages: a page is first read with the language that worked on the previous
page of the document (English to begin with); when the result does not look
like text in that language it is read again with the other one (Chinese means
``chi_tra+chi_sim``: Traditional and Simplified characters; their models read the
Latin letters and digits inside Chinese text too, and adding ``eng`` made Tesseract
read whole Chinese lines as Latin garbage: 0.838 against 0.745 character accuracy).

Positions: OCR words keep their boxes in page coordinates; they are stored with
the document (:func:`save_words`) so the page viewer can highlight a passage on a
scanned page (:func:`find_rects`) as it does with ``Page.search_for`` on a text page.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kidneytalk._lazy import LazyModule
from kidneytalk.errors import Cancelled
from kidneytalk.names import error_summary
from kidneytalk.records import ProgressEvent

if TYPE_CHECKING:
    import pymupdf
else:  # imported on first use: not needed to start the desktop app
    pymupdf = LazyModule("pymupdf")

log = logging.getLogger(__name__)

ENV_SWITCH = "KIDNEYTALK_OCR"  # "off": behave as if OCR were not installed (tests, slow machines)
ENV_INPROCESS = "KIDNEYTALK_OCR_INPROCESS"  # "1": read pages in this process (debugging)
DEFAULT_DPI = 200  # bench/results/ocr.json: 300 dpi was no more accurate and slower
ENGLISH = "eng"
CHINESE = "chi_tra+chi_sim"  # with +eng Tesseract reads some Chinese lines as English garbage
DEBIAN_PACKAGES = "tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra"
_LANG_FILES = {
    "eng": "tesseract-ocr-eng",
    "chi_sim": "tesseract-ocr-chi-sim",
    "chi_tra": "tesseract-ocr-chi-tra",
}

# text_layer_score thresholds
MIN_TEXT_CHARS = 8  # fewer non-space characters than this: no text layer to speak of
MIN_IMAGE_COVER = 0.25  # share of the page covered by images for an empty page to count as a scan
GARBAGE_SHARE = 0.5  # share of bad/fragment characters above which the text layer is garbage

WORDS_SUFFIX = ".ocr.json"

ProgressCallback = Callable[[ProgressEvent], None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


# ---------------------------------------------------------------- engine


@dataclass(frozen=True)
class OcrStatus:
    available: bool
    message: str  # why not, or which languages are missing
    tessdata: str = ""
    languages: frozenset[str] = frozenset()


def not_installed_message(missing: Sequence[str] = ()) -> str:
    what = " ".join(_LANG_FILES[m] for m in missing) if missing else DEBIAN_PACKAGES
    return (
        f"OCR is not installed: scanned pages cannot be read (install the Debian packages {what}, "
        "e.g. run installers/setup.sh as root, then 'kidneytalk reindex')"
    )


_status_cache: dict[str, OcrStatus] = {}
_status_lock = threading.Lock()


def status() -> OcrStatus:
    """Whether Tesseract's language data can be found (cached per ``TESSDATA_PREFIX``/switch)."""
    switch = os.environ.get(ENV_SWITCH, "").strip().lower()
    key = f"{switch}|{os.environ.get('TESSDATA_PREFIX', '')}"
    with _status_lock:
        if key in _status_cache:
            return _status_cache[key]
        result = _probe(switch)
        _status_cache[key] = result
        return result


def _probe(switch: str) -> OcrStatus:
    if switch in ("off", "0", "no", "false", "missing"):
        return OcrStatus(
            False,
            not_installed_message()
            if switch == "missing"
            else f"OCR is turned off ({ENV_SWITCH}={switch}): scanned pages are not read",
        )
    try:
        tessdata = pymupdf.get_tessdata()
    except Exception:  # PyMuPDF raises when no tessdata folder exists
        tessdata = ""
    if not tessdata or not Path(tessdata).is_dir():
        return OcrStatus(False, not_installed_message())
    langs = frozenset(
        p.name.removesuffix(".traineddata") for p in Path(tessdata).glob("*.traineddata")
    )
    missing = [m for m in _LANG_FILES if m not in langs]
    if "eng" in missing:
        return OcrStatus(False, not_installed_message(missing), str(tessdata), langs)
    note = f"OCR of Chinese needs {' '.join(_LANG_FILES[m] for m in missing)}" if missing else ""
    return OcrStatus(True, note, str(tessdata), langs)


def _chinese_languages(st: OcrStatus) -> str:
    parts = [lang for lang in ("chi_tra", "chi_sim") if lang in st.languages]
    return "+".join(parts)  # not +eng: it makes Tesseract read whole Chinese lines as Latin garbage


# ---------------------------------------------------------------- which pages


@dataclass(frozen=True)
class TextLayerScore:
    chars: int  # non-space characters in the text layer
    bad: int  # replacement, private-use, unassigned and control characters
    fragments: int  # characters in lines of at most two characters (letters, not numbers)
    skewed: int  # characters in lines at an angle that is not a multiple of 90°
    image_cover: float  # share of the page area covered by images

    @property
    def garbage(self) -> float:
        """Share of the text layer that is unusable (0 = clean)."""
        if not self.chars:
            return 1.0
        return min(1.0, (self.bad + max(self.fragments, self.skewed)) / self.chars)

    @property
    def needs_ocr(self) -> bool:
        if self.chars < MIN_TEXT_CHARS:
            return self.image_cover >= MIN_IMAGE_COVER
        return self.garbage >= GARBAGE_SHARE

    @property
    def reason(self) -> str:
        if self.chars < MIN_TEXT_CHARS:
            return "no text layer"
        return f"unusable text layer ({self.garbage:.0%} fragments or invalid characters)"


@functools.lru_cache(maxsize=8192)
def _bad_char(ch: str) -> bool:
    if ch == "\ufffd":
        return True
    cat = unicodedata.category(ch)
    return cat in ("Co", "Cn", "Cs") or (cat == "Cc" and ch not in "\t\n\r")


# Visible (not str.isspace) ASCII characters that _bad_char rejects: controls other than the
# whitespace ones (\t \n \v \f \r \x1c-\x1f are whitespace to str.isspace).
_ASCII_BAD = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _visible_stats(line: str) -> tuple[int, int, bool]:
    """(visible characters, invalid ones among them, whether any is a letter) of one line.

    Runs once per line of every page of every text-layer PDF, so plain ASCII lines (the
    usual case) are counted with C string methods, not character by character in Python.
    """
    words = line.split()  # str.split() and str.isspace() agree on what whitespace is
    if not words:
        return 0, 0, False
    visible = "".join(words)
    bad = len(_ASCII_BAD.findall(visible))
    if not visible.isascii():
        bad += sum(1 for ch in _NON_ASCII.findall(visible) if _bad_char(ch))
    return len(visible), bad, any(c.isalpha() for c in visible)


def text_layer_score(page: pymupdf.Page, data: dict[str, Any] | None = None) -> TextLayerScore:
    """How usable the text layer of ``page`` is (``data``: its ``get_text("dict")`` if already made)."""
    if data is None:
        data = page.get_text("dict", flags=pymupdf.TEXT_MEDIABOX_CLIP)
    chars = bad = fragments = skewed = 0
    for block in data.get("blocks", []):
        if block.get("type") != 0:
            continue
        for line in block.get("lines", []):
            text = "".join(s.get("text", "") for s in line.get("spans", []))
            n, invalid, letters = _visible_stats(text)
            if not n:
                continue
            chars += n
            bad += invalid
            if n <= 2 and letters:
                fragments += n
            dx, dy = line.get("dir", (1.0, 0.0))
            if min(abs(dx), abs(dy)) > 0.05:  # neither horizontal nor vertical
                skewed += n
    cover = 0.0
    if chars < MIN_TEXT_CHARS or bad or fragments or skewed:  # only worth computing then
        cover = image_cover(page)
    return TextLayerScore(chars, bad, fragments, skewed, cover)


def clean_text_layer(texts: Sequence[str]) -> bool:
    """A quick look at already extracted lines: enough text, hardly any invalid characters or fragments."""
    chars = bad = fragments = 0
    for text in texts:
        for line in text.split("\n"):
            n, invalid, letters = _visible_stats(line)
            chars += n
            bad += invalid
            if n <= 2 and letters:
                fragments += n
    return chars >= 4 * MIN_TEXT_CHARS and (bad + fragments) / chars < GARBAGE_SHARE / 2


def image_cover(page: pymupdf.Page) -> float:
    area = abs(page.rect)
    if not area:
        return 0.0
    covered = 0.0
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"]) & page.rect
        if not r.is_empty:
            covered += abs(r)
    return min(1.0, covered / area)


# ---------------------------------------------------------------- reading a page

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{6,}")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


# A run of vertical-stroke glyphs: a barcode, a ruled border or a hatched picture read as "IlHIIHI…".
_STROKES = re.compile(r"[IlH1|!]{8,}")


def _without_strokes(line: dict[str, Any]) -> dict[str, Any]:
    """``line`` with stroke runs cut out of its spans (the rest of the line, often real text, stays)."""
    spans = line.get("spans", [])
    if not any(_STROKES.search(s.get("text", "")) for s in spans):
        return line
    return dict(line, spans=[dict(s, text=_STROKES.sub("", s.get("text", ""))) for s in spans])


def _noise_line(text: str) -> bool:
    """OCR of a picture rather than of text: symbols, stray letters, unpronounceable runs."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return True
    cjk = sum(1 for ch in visible if _IDEOGRAPH.match(ch))
    useful = sum(1 for ch in visible if ch.isalnum() or _IDEOGRAPH.match(ch))
    if useful / len(visible) < 0.5 or (cjk and len(visible) == 1):
        return True
    if cjk:
        top = max(visible.count(ch) for ch in set(visible))
        return (
            len(visible) >= 6 and top / len(visible) > 0.3
        )  # a decorative border read as one glyph
    if len(visible) <= 2 and not "".join(visible).isdigit():
        return True
    words = _LATIN_WORD.findall(text)
    return bool(words) and all(
        _CONSONANT_RUN.search(w) or not re.search(r"[aeiouyAEIOUY]", w) for w in words
    )


def _stray_latin(text: str) -> bool:
    """On a Chinese page, a line without Chinese that has no real word, number, address or code in it."""
    if _IDEOGRAPH.search(text):
        return False
    if re.search(r"\d{2,}|@|www|http", text):
        return False
    return not any(re.search(r"[aeiouyAEIOUY]", w) for w in re.findall(r"[A-Za-z]{4,}", text))


def looks_chinese(text: str) -> float:
    """Share of CJK characters among the visible characters of ``text``."""
    visible = [ch for ch in text if not ch.isspace()]
    return sum(1 for ch in visible if _CJK.match(ch)) / len(visible) if visible else 0.0


_STOPWORDS = frozenset(
    "a an the of and or to in on at by for with from as is are was were be been not no it its this that these "
    "those which who what when if than then there their they we you your he she his her our may can should must "
    "will all any each other more most such into also but after before during per".split()
)


def looks_english(text: str) -> bool:
    """Enough words, and enough of them the commonest English ones (OCR of Chinese in English gives neither)."""
    tokens = [t.lower() for t in re.findall(r"[A-Za-z]+", text)]
    if len(tokens) < 12:
        return False
    return sum(1 for t in tokens if t in _STOPWORDS) / len(tokens) >= 0.12


@dataclass
class OcrPage:
    number: int
    languages: str
    seconds: float
    data: dict[
        str, Any
    ]  # ``get_text("dict")`` of the OCR text, noise lines removed, in reading order
    words: list[tuple[float, float, float, float, str]]

    @property
    def text(self) -> str:
        return "\n".join(
            _line_text(line) for block in self.data["blocks"] for line in block["lines"]
        )


def _line_text(line: dict[str, Any]) -> str:
    return "".join(s.get("text", "") for s in line.get("spans", []))


def _ocr_text(
    page: pymupdf.Page, languages: str, dpi: int, tessdata: str | None
) -> tuple[dict[str, Any], list]:
    """Tesseract's text of ``page``: ``get_text("dict")`` and ``get_text("words")`` of its OCR
    text, in the page's coordinates.

    As ``Page.get_textpage_ocr(full=True)`` does, but from a grey rendering of the page (handed
    to Tesseract as RGB, which MuPDF's OCR writer needs): on realdocs-dev's colour scans it
    misread half as many Chinese characters (``bench/ocr.py``: character accuracy 0.838 from
    the colour rendering, 0.911 from the grey one; the bench's English pages, grey already,
    0.999 both ways)."""
    grey = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    image = pymupdf.Pixmap(pymupdf.csRGB, grey)
    del grey
    scanned = image.pdfocr_tobytes(compress=False, language=languages, tessdata=tessdata)
    with pymupdf.open(stream=scanned, filetype="pdf") as ocr_pdf:
        ocr_page = ocr_pdf.load_page(0)
        unzoom = page.rect.width / ocr_page.rect.width
        to_page = pymupdf.Matrix(unzoom, unzoom) * page.derotation_matrix
        textpage = ocr_page.get_textpage(flags=0, matrix=to_page)
        text = ocr_page.get_text("dict", textpage=textpage)
        words = ocr_page.get_text("words", textpage=textpage)
    text.update(width=page.cropbox.width, height=page.cropbox.height)  # as get_textpage_ocr's
    return text, words


def _ocr_child(
    conn: Any, source: str, index: int, languages: str, dpi: int, tessdata: str | None
) -> None:
    """In the OCR process: read page ``index`` of ``source`` and send (ok, result or error) back."""
    try:
        with pymupdf.open(source) as doc:
            conn.send((True, _ocr_text(doc.load_page(index), languages, dpi, tessdata)))
    except BaseException as exc:  # everything goes back to the parent as a message
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _ocr_text_elsewhere(
    page: pymupdf.Page, languages: str, dpi: int, tessdata: str | None, cancel: CancelFlag | None
) -> tuple[dict[str, Any], list]:
    """:func:`_ocr_text` in a separate process.

    MuPDF holds Python's global lock while Tesseract reads a page (seconds, half a
    minute for a Chinese page on two cores): in this process that would freeze the
    desktop app's window and make Cancel wait for the page. A child process reads
    the page from the same file instead, and Cancel ends it at once. Documents not
    opened from a file are read here.
    """
    source = page.parent.name if page.parent is not None else ""
    if not source or not os.path.isfile(source) or os.environ.get(ENV_INPROCESS):
        return _ocr_text(page, languages, dpi, tessdata)
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_ocr_child, args=(sender, source, page.number, languages, dpi, tessdata), daemon=True
    )
    proc.start()
    sender.close()
    try:
        while not receiver.poll(0.1):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled during OCR")
            if not proc.is_alive() and not receiver.poll(0):
                raise RuntimeError(f"the OCR process stopped (exit code {proc.exitcode})")
        ok, payload = receiver.recv()
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(5)
        receiver.close()
    if not ok:
        raise RuntimeError(payload)
    return payload


def read_page(
    page: pymupdf.Page,
    languages: str,
    *,
    dpi: int = DEFAULT_DPI,
    tessdata: str | None = None,
    cancel: CancelFlag | None = None,
) -> OcrPage:
    """OCR the whole rendered page (in a child process); text blocks and words in page coordinates."""
    started = time.perf_counter()
    raw, words_raw = _ocr_text_elsewhere(page, languages, dpi, tessdata, cancel)
    all_text = "".join(
        _line_text(ln) for b in raw.get("blocks", []) if b.get("type") == 0 for ln in b["lines"]
    )
    chinese_page = looks_chinese(all_text) > 0.3
    blocks = []
    for block in raw.get("blocks", []):
        if block.get("type") != 0:
            continue
        lines = [_without_strokes(ln) for ln in block.get("lines", [])]
        lines = [
            ln
            for ln in lines
            if not _noise_line(_line_text(ln))
            and not (chinese_page and _stray_latin(_line_text(ln)))
        ]
        if lines:
            block = dict(block, lines=lines)
            x0 = min(ln["bbox"][0] for ln in lines)
            y0 = min(ln["bbox"][1] for ln in lines)
            x1 = max(ln["bbox"][2] for ln in lines)
            y1 = max(ln["bbox"][3] for ln in lines)
            block["bbox"] = (x0, y0, x1, y1)
            blocks.append(block)
    data = {
        "width": raw.get("width"),
        "height": raw.get("height"),
        "blocks": reading_order(blocks, page.rect.width),
    }
    kept = [pymupdf.Rect(ln["bbox"]) for b in blocks for ln in b["lines"]]
    words = []
    for w in words_raw:  # the words of the lines kept, in the order Tesseract read them
        centre = pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2)
        if w[4].strip() and any(centre in r for r in kept):
            words.append((round(w[0], 1), round(w[1], 1), round(w[2], 1), round(w[3], 1), w[4]))
    return OcrPage(page.number + 1, languages, time.perf_counter() - started, data, words)


def reading_order(blocks: list[dict[str, Any]], page_width: float) -> list[dict[str, Any]]:
    """Lines column by column: in each band between full-width lines, the left column, then the right.

    Tesseract may put lines of two columns side by side into one block; the order is
    therefore made line by line, and each run of lines in one column becomes a block.
    """
    lines = [ln for b in blocks for ln in b["lines"]]
    if len(lines) < 2:
        return blocks
    mid = page_width / 2
    margin = 0.05 * page_width
    out: list[list[dict[str, Any]]] = []
    band: list[dict[str, Any]] = []

    def flush() -> None:
        left = sorted((ln for ln in band if ln["bbox"][2] <= mid + margin), key=_centre_y)
        right = sorted((ln for ln in band if ln["bbox"][2] > mid + margin), key=_centre_y)
        for column in (left, right):
            if column:
                out.append(column)
        band.clear()

    for line in sorted(lines, key=lambda ln: (ln["bbox"][1], ln["bbox"][0])):
        x0, _, x1, _ = line["bbox"]
        if x0 < mid - margin and x1 > mid + margin:  # crosses the middle: a full-width line
            flush()
            out.append([line])
        else:
            band.append(line)
    flush()
    result: list[dict[str, Any]] = []
    for group in out:  # consecutive full-width lines form one block too
        if (
            result
            and len(group) == 1
            and len(result[-1]["lines"])
            and _full(result[-1], mid, margin)
            and _full({"lines": group}, mid, margin)
        ):
            result[-1]["lines"].append(group[0])
        else:
            result.append({"type": 0, "lines": list(group)})
    for block in result:
        block["bbox"] = (
            min(ln["bbox"][0] for ln in block["lines"]),
            min(ln["bbox"][1] for ln in block["lines"]),
            max(ln["bbox"][2] for ln in block["lines"]),
            max(ln["bbox"][3] for ln in block["lines"]),
        )
    return result


def _centre_y(line: dict[str, Any]) -> float:
    return (line["bbox"][1] + line["bbox"][3]) / 2


def _full(block: dict[str, Any], mid: float, margin: float) -> bool:
    return all(
        ln["bbox"][0] < mid - margin and ln["bbox"][2] > mid + margin for ln in block["lines"]
    )


# ---------------------------------------------------------------- per document


@dataclass
class DocumentOcr:
    """OCR for the pages of one document that need it, with progress and Cancel.

    :meth:`wanted` decides per page; :meth:`read` OCRs it (or returns None when OCR
    is unavailable or failed on that page, noting why). After parsing, the
    ``pages``, ``words`` and ``problem`` fields say what happened.
    """

    file: str = ""
    file_index: int = 0
    files_total: int = 0
    progress: ProgressCallback | None = None
    cancel: CancelFlag | None = None
    dpi: int = DEFAULT_DPI
    pages: dict[int, OcrPage] = field(default_factory=dict)
    wanted_pages: list[int] = field(default_factory=list)
    failed_pages: list[int] = field(default_factory=list)
    problem: str = ""  # why some wanted pages got no text ("" when all did)
    _language: str = ENGLISH
    _status: OcrStatus | None = None
    _page_count: int = 0

    @property
    def status(self) -> OcrStatus:
        if self._status is None:
            self._status = status()
        return self._status

    def wanted(self, page: pymupdf.Page, texts: Sequence[str] | None = None) -> bool:
        """Whether ``page`` needs OCR; ``texts``, the parser's text of the page, spares a second extraction
        when it is plainly clean (the usual case: text-layer PDFs are not slowed down)."""
        if texts is not None and clean_text_layer(texts):
            return False
        score = text_layer_score(page)
        if score.needs_ocr:
            self.wanted_pages.append(page.number + 1)
            log.debug("%s p.%d: OCR (%s)", self.file, page.number + 1, score.reason)
        return score.needs_ocr

    def read(self, page: pymupdf.Page) -> OcrPage | None:
        number = page.number + 1
        self._page_count = page.parent.page_count if page.parent is not None else 0
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(f"{self.file}: cancelled during OCR")
        st = self.status
        if not st.available:
            self.problem = st.message
            self.failed_pages.append(number)
            return None
        self._emit(number)
        try:
            result = self._read(page, st)
        except Cancelled:
            raise
        except Exception as exc:  # a page Tesseract cannot read must not lose the document
            log.warning("%s p.%d: OCR failed: %s", self.file, number, exc)
            self.problem = f"OCR failed on some pages ({error_summary(exc)})"
            self.failed_pages.append(number)
            return None
        if not result.data["blocks"]:
            return None
        self.pages[number] = result
        log.info(
            "%s p.%d: OCR %s, %d characters in %.1f s",
            self.file,
            number,
            result.languages,
            len(result.text),
            result.seconds,
        )
        return result

    def _read(self, page: pymupdf.Page, st: OcrStatus) -> OcrPage:
        chinese = _chinese_languages(st)
        first = self._language if (self._language == ENGLISH or chinese) else ENGLISH
        result = read_page(
            page,
            first if first == ENGLISH else chinese,
            dpi=self.dpi,
            tessdata=st.tessdata,
            cancel=self.cancel,
        )
        text = result.text
        if first == ENGLISH and chinese and not looks_english(text):
            other = read_page(page, chinese, dpi=self.dpi, tessdata=st.tessdata, cancel=self.cancel)
            if looks_chinese(other.text) > 0.3 or len(other.text.strip()) > len(text.strip()):
                other.seconds += result.seconds
                result = other
                self._language = CHINESE
        elif first != ENGLISH and looks_chinese(text) < 0.1:
            other = read_page(page, ENGLISH, dpi=self.dpi, tessdata=st.tessdata, cancel=self.cancel)
            if looks_english(other.text):
                other.seconds += result.seconds
                result = other
                self._language = ENGLISH
        return result

    def _emit(self, number: int) -> None:
        if self.progress is None:
            return
        done = len(self.pages) + len(self.failed_pages)
        todo = max(1, self._page_count)
        self.progress(
            ProgressEvent(
                "ocr",
                self.file,
                self.file_index,
                self.files_total,
                0,
                self._page_count,
                file_fraction=min(1.0, (number - 1) / todo),
                message=f"OCR of page {number} of {self._page_count} ({done} scanned pages read so far)",
            )
        )

    def words(self) -> dict[int, list[tuple[float, float, float, float, str]]]:
        return {n: p.words for n, p in sorted(self.pages.items())}


# ---------------------------------------------------------------- stored words and highlighting


def words_path(stored_path: str | Path) -> Path:
    return Path(str(stored_path) + WORDS_SUFFIX)


def save_words(
    stored_path: str | Path, words: dict[int, list[tuple[float, float, float, float, str]]]
) -> None:
    """Keep the OCR words of a document next to its stored copy (removed when there are none)."""
    path = words_path(stored_path)
    if not words:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".part")
    tmp.write_text(
        json.dumps(
            {"version": 1, "pages": {str(k): v for k, v in words.items()}}, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    os.replace(tmp, path)


def load_words(stored_path: str | Path) -> dict[int, list[tuple[float, float, float, float, str]]]:
    """The OCR words saved for a stored document ({} when it has none or the file is unreadable)."""
    path = words_path(stored_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {int(k): [tuple(w) for w in v] for k, v in raw.get("pages", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _norm(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def find_rects(
    words: Sequence[Sequence[Any]], passage: str, *, min_chars: int = 6
) -> list[pymupdf.Rect]:
    """Boxes of the OCR words of one page that make up ``passage`` (like ``Page.search_for``).

    The passage and the page words are compared as runs of letters and digits
    only (spaces, punctuation and case do not count, since cleaning and OCR treat
    them differently). Every stretch of the passage of at least ``min_chars`` such
    characters that occurs on the page marks the words it covers; each line of
    marked words gives one rectangle.
    """
    if not words or not passage:
        return []
    page_chars: list[str] = []
    owner: list[int] = []
    for i, w in enumerate(words):
        for ch in _norm(str(w[4])):
            page_chars.append(ch)
            owner.append(i)
    hay = "".join(page_chars)
    needle = _norm(passage)
    if not hay or len(needle) < min_chars:
        return []
    marked: set[int] = set()
    # Greedy: from each position of the passage, the longest stretch found on the page.
    pos = 0
    while pos <= len(needle) - min_chars:
        piece = needle[pos : pos + min_chars]
        at = hay.find(piece)
        if at < 0:
            pos += 1
            continue
        length = min_chars
        while pos + length < len(needle):
            nxt = hay.find(needle[pos : pos + length + 1])
            if nxt < 0:
                break
            at, length = nxt, length + 1
        marked.update(owner[at : at + length])
        pos += length
    return _merge_lines([words[i] for i in sorted(marked)])


def _merge_lines(words: Sequence[Sequence[Any]]) -> list[pymupdf.Rect]:
    """One rectangle per run of marked words on the same line."""
    rects: list[pymupdf.Rect] = []
    for w in words:
        r = pymupdf.Rect(w[0], w[1], w[2], w[3])
        if rects:
            last = rects[-1]
            overlap = min(last.y1, r.y1) - max(last.y0, r.y0)
            if overlap > 0.5 * min(last.height, r.height) and r.x0 >= last.x0 - 2:
                rects[-1] = last | r
                continue
        rects.append(r)
    return rects
