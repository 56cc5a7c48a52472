"""Stage 1 — parse a file into pages of typed blocks with section paths.

PDF (and whatever else pymupdf opens: EPUB, XPS, ...) is read page by page.
Headings are found from font size and weight relative to the body text, tables
are turned into Markdown with ``find_tables``, and pages with no text layer are
counted so the document can be marked "needs OCR". Plain text and Markdown are
read directly (Markdown ``#`` headings give the section path).
"""

from __future__ import annotations

import logging
import pickle
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kidneytalk._lazy import LazyModule
from kidneytalk.clean import LIST_START as _LIST_START
from kidneytalk.errors import DocumentError, KidneyTalkError, UnsupportedFileError, WorkSpaceError
from kidneytalk.records import Block, BlockKind, Page, ParsedDocument
from kidneytalk.tables import TableReader, page_tables

if TYPE_CHECKING:
    import pymupdf

    from kidneytalk.ocr import DocumentOcr
else:  # imported on first use: not needed to start the desktop app
    pymupdf = LazyModule("pymupdf")

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
PYMUPDF_SUFFIXES = {".pdf", ".epub", ".xps", ".oxps", ".cbz", ".fb2", ".mobi"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | PYMUPDF_SUFFIXES

# Where table detection ran and what it cost (read by bench/audit.py; reset freely).
TABLE_STATS: dict[str, float] = {"pages": 0, "seconds": 0.0, "tables": 0}

_BOLD_FLAG = 1 << 4
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MAX_HEADING_CHARS = 160


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def parse_file(
    path: str | Path,
    *,
    ocr: DocumentOcr | None = None,
    tables: TableReader | None = None,
    stream: bool = False,
    spill_dir: Path | None = None,
) -> ParsedDocument:
    """Parse one file; raises :class:`DocumentError` with the file named on failure.

    With ``ocr``, pages without a usable text layer are read by OCR (:mod:`kidneytalk.ocr`).
    ``tables`` reads the tables of pages that may have some (one for a batch of files); without
    it, the file gets a reader of its own. With ``stream`` (ingest), a PDF's ``pages`` are a
    :class:`~kidneytalk.records.PageStream` that rebuilds them one at a time from a temporary
    file (the caller closes it) instead of a list: a long document is not held in memory. The file
    is made in ``spill_dir`` (ingest: the library's folder, private and on the library's disk;
    default: the system's temporary folder); no room for it is a :class:`WorkSpaceError`.
    """
    parsed = _parse_file(path, ocr, tables, spill_dir)
    if not stream and not isinstance(parsed.pages, list):
        source = parsed.pages
        try:
            parsed.pages = list(source)
        finally:
            source.close()
    return parsed


def _parse_file(
    path: str | Path, ocr: DocumentOcr | None, tables: TableReader | None, spill_dir: Path | None
) -> ParsedDocument:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileError(
            f"{path.name}: unsupported file type '{suffix or '(none)'}' "
            f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if size == 0:
        raise DocumentError(f"{path.name}: file is empty")
    if suffix in TEXT_SUFFIXES | MARKDOWN_SUFFIXES:
        return _parse_text(path, markdown=suffix in MARKDOWN_SUFFIXES)
    if tables is not None:
        try:
            return _parse_with_pymupdf(path, ocr, tables, spill_dir)
        finally:
            tables.release()
    with TableReader(cancel=ocr.cancel if ocr is not None else None) as own:
        return _parse_with_pymupdf(path, ocr, own, spill_dir)


# ---------------------------------------------------------------- plain text


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "utf-16", "gb18030", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and raw[:2] not in (b"\xff\xfe", b"\xfe\xff"):
            continue
        return text
    raise DocumentError(f"{path.name}: cannot decode text")


def _parse_text(path: Path, *, markdown: bool) -> ParsedDocument:
    text = _read_text(path)
    if _looks_binary(text):
        raise DocumentError(f"{path.name}: looks like a binary file, not text")
    if not text.strip():
        raise DocumentError(f"{path.name}: file has no text")
    # Form feeds are page breaks in plain-text exports; otherwise one page.
    page_texts = text.split("\f")
    pages: list[Page] = []
    stack: list[tuple[int, str]] = []
    title = path.stem
    for number, page_text in enumerate(page_texts, start=1):
        page = Page(number=number)
        for para in re.split(r"\n\s*\n", page_text):
            para = para.strip("\n")
            if not para.strip():
                continue
            lines = para.split("\n")
            heading = _MD_HEADING.match(lines[0]) if markdown else None
            if heading:
                level = len(heading.group(1))
                title_text = heading.group(2).strip()
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, title_text))
                if level == 1 and title == path.stem:
                    title = title_text
                page.blocks.append(Block(title_text, number, "heading", tuple(t for _, t in stack)))
                lines = lines[1:]
                if not lines:
                    continue
            body = "\n".join(lines)
            kind: BlockKind = "table" if markdown and _looks_like_md_table(lines) else "text"
            page.blocks.append(Block(body, number, kind, tuple(t for _, t in stack)))
        pages.append(page)
    return ParsedDocument(str(path), title, pages, len(pages))


_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")  # tabs, line and page breaks, terminal colours


def _looks_binary(text: str, sample: int = 65_536) -> bool:
    """A NUL, or more than 10% control characters in the first ``sample`` characters.

    Random bytes without a NUL decode (as Latin-1) to about 24% C0/C1 controls; text,
    even a coloured terminal log, has next to none.
    """
    head = text[:sample]
    if "\x00" in text:
        return True
    controls = sum(
        1 for ch in head if (ch < " " or "\x7f" <= ch <= "\x9f") and ch not in _TEXT_CONTROLS
    )
    return controls > len(head) // 10


def _looks_like_md_table(lines: list[str]) -> bool:
    return len(lines) >= 2 and all(line.strip().startswith("|") for line in lines[:2])


# ---------------------------------------------------------------- pymupdf


def _open(path: Path) -> pymupdf.Document:
    try:
        doc = pymupdf.open(path)
    except pymupdf.EmptyFileError as exc:
        raise DocumentError(f"{path.name}: file is empty") from exc
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        if path.suffix.lower() == ".pdf" and (kind := _not_pdf(path)):
            raise DocumentError(
                f"{path.name}: not a PDF: {kind}; save it as PDF and add that"
            ) from exc
        raise DocumentError(f"{path.name}: damaged or not a valid document ({exc})") from exc
    if doc.needs_pass:
        doc.close()
        raise DocumentError(
            f"{path.name}: password-protected; remove the password (e.g. print to PDF) and add it again"
        )
    if doc.page_count == 0:
        doc.close()
        raise DocumentError(f"{path.name}: damaged or empty document (no readable pages)")
    return doc


def _not_pdf(path: Path) -> str:
    """What a '.pdf' that MuPDF cannot open really is, when its first bytes say it is no PDF ('' otherwise)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError:
        return ""
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive (a Word or other Office file renamed?)"
    if b"%PDF" not in head:
        return "it has no PDF header (binary data or another kind of file renamed?)"
    return ""


def _parse_with_pymupdf(
    path: Path,
    ocr: DocumentOcr | None = None,
    tables: TableReader | None = None,
    spill_dir: Path | None = None,
) -> ParsedDocument:
    """Read every page once (text, tables, OCR where needed) into a :class:`_SpilledPages`; the
    pages are built from it on each pass, so a long document is not held in memory."""
    spilled = _SpilledPages(path.name, spill_dir)
    try:
        doc = _open(path)
    except BaseException:
        spilled.close()
        raise
    try:
        scanned: list[int] = []
        unreadable: list[str] = []  # why each broken page could not be read
        for index in range(doc.page_count):
            size = (0.0, 0.0)
            try:
                page = doc.load_page(index)
                size = _text_space_size(page)
                infos, no_text, has_images = _read_page(
                    page, index + 1, size[0] if page.rotation == 0 else 0.0, tables
                )
                if (
                    ocr is not None
                    and ocr.wanted(page, [i["text"] for i in infos])
                    and (read := ocr.read(page)) is not None
                ):
                    infos = [run for block in read.data["blocks"] for run in _ocr_runs(block)]
                    no_text, has_images = not infos, True
            except KidneyTalkError:  # cancelled during OCR
                raise
            except Exception as exc:  # one broken page must not lose the document
                log.warning("%s: page %d unreadable: %s", path.name, index + 1, exc)
                unreadable.append(" ".join(str(exc).split())[:120] or type(exc).__name__)
                infos, no_text, has_images = [], True, False
            if no_text and has_images:
                scanned.append(index + 1)
            spilled.add(infos, no_text, size)
            del infos
        if unreadable and len(unreadable) == doc.page_count:
            raise DocumentError(
                f"{path.name}: damaged document: no page could be read ({unreadable[0]})"
            )
        title = (doc.metadata or {}).get("title") or path.stem
        page_count = doc.page_count
        spilled.finish()
    except pymupdf.FileDataError as exc:
        spilled.close()
        raise DocumentError(f"{path.name}: damaged document ({exc})") from exc
    except BaseException:
        spilled.close()
        raise
    finally:
        doc.close()
    parsed = ParsedDocument(str(path), title, spilled, page_count, scanned)
    if ocr is not None:
        parsed.ocr_pages = sorted(ocr.pages)
        parsed.ocr_problem = ocr.problem
        parsed.ocr_words = ocr.words()
    return parsed


class _SpilledPages:
    """The pages of a PDF-like document as read (block infos), kept in a temporary file.

    Reading a page (text, tables, OCR) is the costly part and is done once; a pass rebuilds the
    pages from the file one at a time, with the heading levels found from the whole document's
    font sizes, so what is held is one page (and the pages under a heading with no text yet),
    not the document. Passes may overlap: each keeps its own place in the file.
    """

    def __init__(self, name: str, directory: Path | None = None) -> None:
        self._name = name
        self._dir = directory
        try:
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(prefix="kidneytalk-pages-", dir=directory)  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise self._no_room(exc) from exc
        self._count = 0
        self._sizes: Counter[float] = Counter()  # font size -> characters set in it
        self._styles: Counter[tuple[float, bool]] = Counter()  # heading-like lines per style
        self._levels: dict[tuple[float, bool], int] = {}

    def add(self, infos: list[dict], no_text: bool, size: tuple[float, float]) -> None:
        for info in infos:
            if info.get("ocr"):  # no font: neither body text's size nor a heading's style
                continue
            self._sizes[info["size"]] += len(info["text"])
            if info.get("table") is None and _heading_text_ok(info["text"]):
                self._styles[(info["size"], info["bold"])] += 1
        try:
            pickle.dump((infos, no_text, size), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise self._no_room(exc) from exc
        self._count += 1

    def finish(self) -> None:
        """All pages are read: which styles are headings."""
        body_size = self._sizes.most_common(1)[0][0] if self._sizes else 10.0
        self._levels = _heading_levels(self._styles, body_size)
        try:
            self._file.flush()
        except OSError as exc:
            raise self._no_room(exc) from exc

    def _no_room(self, exc: OSError) -> WorkSpaceError:
        where = self._dir if self._dir is not None else Path(tempfile.gettempdir())
        why = exc.strerror or str(exc)
        return WorkSpaceError(
            f"{self._name}: not read: its pages could not be kept in a temporary file in {where} "
            f"({why}); free some space there and add it again"
        )

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        self._file.close()

    def __iter__(self) -> Iterator[Page]:
        stack: list[tuple[int, str]] = []
        # id(stack entry) -> its heading block, while no text is under it
        bodiless: dict[int, Block] = {}
        held: list[Page] = []  # pages whose heading may yet turn out to have no text under it
        offset = 0
        for number in range(1, self._count + 1):
            try:
                self._file.seek(offset)
                infos, no_text, (width, height) = pickle.load(self._file)
                offset = self._file.tell()
            except OSError as exc:
                raise self._no_room(exc) from exc
            page = Page(number=number, has_text_layer=not no_text, width=width, height=height)
            for info in infos:
                if info.get("table") is not None:
                    page.blocks.append(
                        Block(
                            info["table"],
                            number,
                            "table",
                            tuple(t for _, t in stack),
                            bbox=info["bbox"],
                        )
                    )
                    bodiless.clear()
                    continue
                level = None if info.get("ocr") else self._levels.get((info["size"], info["bold"]))
                if level is not None and _heading_text_ok(info["text"]):
                    while stack and stack[-1][0] >= level:
                        _keep_as_text(bodiless.pop(id(stack.pop()), None))
                    stack.append((level, " ".join(info["text"].split())))
                    kind: BlockKind = "heading"
                else:
                    kind = "text"
                    bodiless.clear()
                block = Block(
                    info["text"],
                    number,
                    kind,
                    tuple(t for _, t in stack),
                    font_size=info["size"],
                    bold=info["bold"],
                    bbox=info["bbox"],
                    lines=tuple(info.get("lines", ())),
                )
                page.blocks.append(block)
                if kind == "heading":
                    bodiless[id(stack[-1])] = block
            del infos
            held.append(page)
            if not bodiless:
                yield from held
                held = []
        for block in bodiless.values():
            _keep_as_text(block)
        yield from held


def _keep_as_text(block: Block | None) -> None:
    """A heading with no text under it (a figure title, an author line, a wrapped title's
    second line) would only live in a section path that the next heading replaces: keep
    its words as text."""
    if block is not None:
        block.kind = "text"


def _heading_text_ok(text: str) -> bool:
    flat = " ".join(text.split())
    return 0 < len(flat) <= _MAX_HEADING_CHARS and any(ch.isalpha() for ch in flat)


def _heading_levels(
    styles: Counter[tuple[float, bool]], body_size: float
) -> dict[tuple[float, bool], int]:
    """Map (font size, bold) styles that look like headings (``styles``: how many heading-like
    lines each has) to levels 1, 2, 3..."""
    candidates = []
    for (size, bold), _count in styles.items():
        if size >= body_size * 1.15 or (bold and size >= body_size * 0.99):
            candidates.append((size, bold))
    # Bigger first; at equal size bold outranks regular.
    candidates.sort(key=lambda s: (-s[0], not s[1]))
    return {style: level for level, style in enumerate(candidates[:4], start=1)}


_TABLE_CAPTION = re.compile(r"^\s*(?:table|tab\.|tabelle|tableau|表)\s*\d", re.IGNORECASE)
_MIN_TABLE_ROWS = 4  # rows of 3+ separate text runs side by side
_MIN_GRID_EDGES = 32  # straight ruling (lines, rectangles) of a grid table drawn without curves
_CURVES_PER_EDGE = 5  # more curves than this per straight edge: a figure or poster, not a table
_MAX_CURVES = 1000  # vector artwork (a poster, a chart); only a caption makes a table likely there


def _table_likely(drawings: list[dict], data: dict) -> bool:
    """Cheap test for "this page probably has a ruled or aligned table".

    A table needs vector drawings, and then either a "Table N" caption line, or
    several rows of three or more text runs side by side (in the reading
    direction of the text, so rotated tables count) on a page whose drawings are
    mostly straight and not heavy artwork, or a grid of straight
    lines/rectangles with no curves at all.
    """
    straight = curves = 0
    for drawing in drawings:
        for item in drawing.get("items", ()):
            if item[0] == "re" or (
                item[0] == "l"
                and (abs(item[1][0] - item[2][0]) < 1 or abs(item[1][1] - item[2][1]) < 1)
            ):
                straight += 1  # rectangles and horizontal/vertical rules
            elif item[0] == "c":
                curves += 1
    rows: dict[int, list[tuple[float, float]]] = {}
    for block in data.get("blocks", []):
        for line in block.get("lines", ()):
            text = "".join(span.get("text", "") for span in line.get("spans", ())).strip()
            if not text:
                continue
            if _TABLE_CAPTION.match(text):
                return True
            x0, y0, x1, y1 = line["bbox"]
            dx, dy = line.get("dir", (1.0, 0.0))
            if abs(dx) >= abs(dy):
                rows.setdefault(round((y0 + y1) / 6), []).append((x0, x1))
            else:
                rows.setdefault(-round((x0 + x1) / 6) - 1, []).append((y0, y1))
    if curves == 0 and straight >= _MIN_GRID_EDGES:
        return True
    if curves > _CURVES_PER_EDGE * max(straight, 1) or curves > _MAX_CURVES:
        return False
    return sum(1 for runs in rows.values() if _separate_runs(runs) >= 3) >= _MIN_TABLE_ROWS


def _separate_runs(runs: list[tuple[float, float]], gap: float = 8.0) -> int:
    runs.sort()
    count, end = 1, runs[0][1]
    for start, stop in runs[1:]:
        if start > end + gap:
            count += 1
        end = max(end, stop)
    return count


def _read_page(
    page: pymupdf.Page, number: int, width: float = 0.0, tables: TableReader | None = None
) -> tuple[list[dict], bool, bool]:
    """Block infos (text, size, bold, bbox or a Markdown table) of one page, whether it has no
    text, and (then) whether it has images (``tables`` reads its tables when it may have some;
    else this process does)."""
    tables_md: list[tuple[pymupdf.Rect, str]] = []
    drawings = page.get_cdrawings()  # (before get_text: cheaper in this order)
    data = page.get_text(
        "dict", flags=pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
    )
    # find_tables is costly (about a second per page): run it only where a table is likely.
    if drawings and _table_likely(drawings, data):
        started = time.perf_counter()
        try:
            found = tables.read(page) if tables is not None else page_tables(page)
            tables_md = [(pymupdf.Rect(box), md) for box, md in found]
        except KidneyTalkError:  # cancelled
            raise
        except Exception as exc:
            log.debug("page %d: table detection failed: %s", number, exc)
        TABLE_STATS["pages"] += 1
        TABLE_STATS["tables"] += len(tables_md)
        TABLE_STATS["seconds"] += time.perf_counter() - started

    infos: list[dict] = []
    emitted_tables: set[int] = set()
    for block in data.get("blocks", []):
        if block.get("type") != 0:
            continue
        rect = pymupdf.Rect(block["bbox"])
        in_table = next(
            (
                i
                for i, (trect, _) in enumerate(tables_md)
                if trect.intersects(rect) and _mostly_inside(rect, trect)
            ),
            None,
        )
        if in_table is not None:
            if in_table not in emitted_tables:
                emitted_tables.add(in_table)
                infos.append(
                    {
                        "table": tables_md[in_table][1],
                        "bbox": _rect_tuple(tables_md[in_table][0]),
                        "text": "",
                        "size": 0.0,
                        "bold": False,
                    }
                )
            continue
        # Split a block where the font style changes (heading followed by body).
        for run in _style_runs(block):
            infos.append(run)
    for i, (trect, md) in enumerate(tables_md):
        if i not in emitted_tables:
            infos.append(
                {"table": md, "bbox": _rect_tuple(trect), "text": "", "size": 0.0, "bold": False}
            )
    if width > 0:  # an unrotated page (rotated ones keep the content-stream order)
        infos = column_order(infos, width)
    no_text = not any(info["text"].strip() or info.get("table") for info in infos)
    has_images = bool(page.get_images(full=False)) if no_text else False
    return infos, no_text, has_images


_GUTTER_SLACK = 0.02  # share of the page width a column block may reach past the middle
_MIN_COLUMN_BLOCKS = 3
_MAX_SPANNING_SHARE = 0.35  # more text across the middle than this: not a two-column page


def column_order(infos: list[dict], width: float) -> list[dict]:
    """Blocks of a two-column page in reading order: column by column.

    The page is cut into bands at the blocks that span the middle (titles,
    full-width tables and figures); in each band the left column is read before
    the right one, each from top to bottom. Pages that are not two-column (too
    few blocks on either side, or mostly full-width text) keep the order of the
    content stream.
    """
    if width <= 0 or len(infos) < 2 * _MIN_COLUMN_BLOCKS:
        return infos
    mid, slack = width / 2, width * _GUTTER_SLACK
    sides: list[str] = []
    chars = {"L": 0, "R": 0, "F": 0}
    for info in infos:
        x0, _y0, x1, _y1 = info["bbox"]
        side = "L" if x1 <= mid + slack else "R" if x0 >= mid - slack else "F"
        sides.append(side)
        chars[side] += len(info["text"]) + len(info.get("table") or "")
    if (
        sides.count("L") < _MIN_COLUMN_BLOCKS
        or sides.count("R") < _MIN_COLUMN_BLOCKS
        or chars["F"] > _MAX_SPANNING_SHARE * max(1, sum(chars.values()))
    ):
        return infos
    spanning = sorted(
        (info["bbox"][1], i)
        for i, (info, side) in enumerate(zip(infos, sides, strict=True))
        if side == "F"
    )
    cuts = [y for y, _ in spanning]

    def band(info: dict) -> int:
        centre = (info["bbox"][1] + info["bbox"][3]) / 2
        return sum(1 for y in cuts if y <= centre)

    order: list[tuple[int, int, float, int]] = []  # (band, rank in band, top, original index)
    for i, (info, side) in enumerate(zip(infos, sides, strict=True)):
        if side == "F":
            order.append((band(info), 0, info["bbox"][1], i))
        else:
            order.append((band(info), 1 if side == "L" else 2, info["bbox"][1], i))
    return [infos[i] for *_, i in sorted(order)]


def _text_space_size(page: pymupdf.Page) -> tuple[float, float]:
    """Width and height of the space ``get_text`` coordinates live in (unrotated page)."""
    rect = page.rect
    if page.rotation % 180 == 90:
        return rect.height, rect.width
    return rect.width, rect.height


def _rect_tuple(rect: pymupdf.Rect) -> tuple[float, float, float, float]:
    return (rect.x0, rect.y0, rect.x1, rect.y1)


def _mostly_inside(inner: pymupdf.Rect, outer: pymupdf.Rect) -> bool:
    inter = pymupdf.Rect(inner) & outer
    area = inner.get_area()
    return area == 0 or inter.get_area() / area > 0.6


def _ocr_runs(block: dict) -> list[dict]:
    """An OCR'd text block's lines as paragraphs: one, and a new one at each line that starts a
    list item ("2.", "(一)", "※"). Marked ``ocr``: never a heading, nor counted among the
    document's type sizes.

    OCR text has no font. The sizes MuPDF gives its lines come from each line's box and vary
    from 5 to 35 points inside one paragraph of a scanned leaflet, so grouping its lines by
    style (:func:`_style_runs`) made every line a paragraph, many of them headings: a sentence
    broken over two lines ("紗布包紮至少24小時，才可" / "移開") was cut in two.
    """
    runs: list[dict] = []
    for line in block.get("lines", []):
        text = "".join(s.get("text", "") for s in line.get("spans", []))
        if not text.strip():
            continue
        if runs and not _LIST_START.match(text):
            _extend_run(runs[-1], text, line["bbox"])
        else:
            box = tuple(line["bbox"])
            runs.append(
                {"text": text, "size": 0.0, "bold": False, "bbox": box, "lines": [box], "ocr": True}
            )
    return runs


def _extend_run(run: dict, text: str, bbox: Sequence[float]) -> None:
    """Add a line (its text and box) to the end of ``run``."""
    box = tuple(bbox)
    run["text"] += "\n" + text
    r = run["bbox"]
    run["bbox"] = (min(r[0], box[0]), min(r[1], box[1]), max(r[2], box[2]), max(r[3], box[3]))
    run["lines"].append(box)


def _style_runs(block: dict) -> list[dict]:
    """Group a text block's lines into runs of one dominant (size, bold) style."""
    runs: list[dict] = []
    for line in block.get("lines", []):
        spans = [s for s in line.get("spans", []) if s.get("text", "").strip()]
        if not spans:
            continue
        text = "".join(s["text"] for s in line["spans"])
        weight: Counter[tuple[float, bool]] = Counter()
        for s in spans:
            weight[
                (round(s["size"], 1), bool(s["flags"] & _BOLD_FLAG) or "Bold" in s.get("font", ""))
            ] += len(s["text"])
        size, bold = weight.most_common(1)[0][0]
        if runs and runs[-1]["size"] == size and runs[-1]["bold"] == bold:
            _extend_run(runs[-1], text, line["bbox"])
        else:
            runs.append(
                {
                    "text": text,
                    "size": size,
                    "bold": bold,
                    "bbox": tuple(line["bbox"]),
                    "lines": [tuple(line["bbox"])],
                }
            )
    return runs
