"""Test PDFs generated at test time with pymupdf (no binary fixtures in the repo).

Every builder writes one file and returns its path. Texts are built from a
``topic`` so two documents made with different topics have different bytes
(the library de-duplicates by SHA-256) and different content.

``library_problems`` checks a library built from them against the consistency
rules of ``kidneytalk/library.py``; the fault-tolerance tests share it.
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path
from typing import TYPE_CHECKING

import pymupdf

from kidneytalk.catalog import STATUS_FAILED, STATUS_READY

if TYPE_CHECKING:
    from kidneytalk.library import Library

PAGE_W, PAGE_H = 595, 842  # A4 in points
MARGIN = 56

_SENTENCES = (
    "In chronic kidney disease the estimated glomerular filtration rate guides the dose of {topic}.",
    "Patients with an eGFR below 30 mL/min/1.73 m2 need closer monitoring of serum potassium and creatinine.",
    "Albuminuria is measured as the urine albumin-to-creatinine ratio on an early morning sample.",
    "Blood pressure targets for adults with {topic} are usually a systolic pressure below 120 mmHg when tolerated.",
    "Metformin should be reviewed when the eGFR falls below 45 and stopped below 30 mL/min/1.73 m2.",
    "SGLT2 inhibitors slow the decline of kidney function and reduce the risk of heart failure in {topic}.",
    "Anaemia of chronic kidney disease is treated after iron deficiency has been corrected.",
    "Dietary protein intake of 0.8 g/kg/day is suggested for adults with {topic} who are not on dialysis.",
    "Referral to a nephrologist is advised when the kidney function declines quickly or {topic} progresses.",
    "Hyperkalaemia above 6.0 mmol/L is a medical emergency and needs an electrocardiogram at once.",
)


def body_paragraph(topic: str, page: int, para: int) -> str:
    """A few distinct clinical-sounding sentences for one paragraph."""
    start = (page * 3 + para) % len(_SENTENCES)
    picked = [_SENTENCES[(start + i) % len(_SENTENCES)].format(topic=topic) for i in range(3)]
    return f"Note {page}.{para} on {topic}: " + " ".join(picked)


def write_text_pdf(
    path: Path,
    *,
    topic: str = "diabetic kidney disease",
    pages: int = 4,
    paragraphs: int = 3,
    title: str | None = None,
) -> Path:
    """A normal PDF: a running header, one heading per page, body text and 'Page n of N' footers."""
    title = title or f"Guideline on {topic}"
    doc = pymupdf.open()
    doc.set_metadata({"title": title})
    for n in range(1, pages + 1):
        page = doc.new_page(width=PAGE_W, height=PAGE_H)
        page.insert_text(
            (MARGIN, 30), f"{title} - clinical practice guideline", fontsize=8, fontname="helv"
        )
        page.insert_text(
            (MARGIN, 80), f"{n}. Section {n}: {topic} care", fontsize=16, fontname="hebo"
        )
        y = 110
        for p in range(paragraphs):
            rect = pymupdf.Rect(MARGIN, y, PAGE_W - MARGIN, y + 160)
            page.insert_textbox(rect, body_paragraph(topic, n, p), fontsize=10, fontname="helv")
            y += 170
        page.insert_text(
            (PAGE_W / 2 - 30, PAGE_H - 30), f"Page {n} of {pages}", fontsize=8, fontname="helv"
        )
    _save(doc, path)
    return path


def write_big_pdf(path: Path, *, pages: int = 500, topic: str = "kidney transplantation") -> Path:
    """A long text PDF (hundreds of pages), built in a second or two."""
    return write_text_pdf(path, topic=topic, pages=pages, paragraphs=2)


GFR_ROWS = [("Category", "GFR"), ("G1", ">= 90"), ("G2", "60-89"), ("G3a", "45-59")]


def write_table_pdf(path: Path, *, pages: int = 1, body: bool = False) -> Path:
    """Pages with a captioned, ruled GFR table (``GFR_ROWS``); with ``body``, a line of prose
    under it."""
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page()
        page.insert_text((50, 50), f"Table {n + 1}. GFR categories", fontsize=11)
        x0, y0, w, h = 50, 70, 150, 22
        for r, row in enumerate(GFR_ROWS):
            for c, cell in enumerate(row):
                rect = pymupdf.Rect(x0 + c * w, y0 + r * h, x0 + (c + 1) * w, y0 + (r + 1) * h)
                page.draw_rect(rect, color=(0, 0, 0), width=0.8)
                page.insert_text((rect.x0 + 4, rect.y1 - 6), cell, fontsize=10)
        if body:
            page.insert_text((50, 300), "Body text below the table on this page.", fontsize=10)
    doc.save(path)
    doc.close()
    return path


def write_corrupt_pdf(path: Path) -> Path:
    """A '%PDF' header, a dangling catalog object and random bytes: nothing a parser can repair."""
    junk = random.Random(1234).randbytes(4096)
    path.write_bytes(
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        + junk
        + b"\n%%EOF\n"
    )
    return path


def write_encrypted_pdf(
    path: Path, *, user_pw: str = "secret-user", owner_pw: str = "secret-owner"
) -> Path:
    """A text PDF that needs a password to open (AES-256)."""
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_textbox(
        pymupdf.Rect(MARGIN, MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN),
        body_paragraph("confidential nephrology", 1, 0) * 3,
        fontsize=11,
        fontname="helv",
    )
    doc.save(
        str(path),
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw=user_pw,
        owner_pw=owner_pw,
        permissions=pymupdf.PDF_PERM_PRINT,
    )
    doc.close()
    return path


def write_scanned_pdf(path: Path, *, pages: int = 2) -> Path:
    """Pages that are only pictures of text (like a scan): no text layer at all."""
    src = pymupdf.open()
    page = src.new_page(width=PAGE_W, height=PAGE_H)
    page.insert_textbox(
        pymupdf.Rect(MARGIN, MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN),
        "\n\n".join(body_paragraph("scanned dialysis notes", 1, p) for p in range(3)),
        fontsize=12,
        fontname="helv",
    )
    pix = page.get_pixmap(dpi=60)
    png = pix.tobytes("png")
    src.close()
    doc = pymupdf.open()
    for _ in range(pages):
        out = doc.new_page(width=PAGE_W, height=PAGE_H)
        out.insert_image(out.rect, stream=png)
    _save(doc, path)
    return path


def raw_pdf(path: Path, objects: list[bytes], *, root: int = 1, xref: bool = True) -> Path:
    """A PDF written by hand from numbered object bodies (object i+1 = objects[i])."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    start = out.tell()
    if xref:
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        for off in offsets:
            out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, root, start)
    )
    path.write_bytes(out.getvalue())
    return path


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def write_tiny_pages_pdf(path: Path, *, pages: int = 10_000) -> Path:
    """``pages`` tiny pages of one distinct line each, written by hand (a fraction of a second)."""
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        HELVETICA,
    ]
    for i in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 60] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * i)
        )
        line = b"Page %d: serum potassium %d.%d mmol/L, eGFR %d." % (
            i + 1,
            3 + i % 3,
            i % 10,
            15 + i % 80,
        )
        objects.append(stream(b"", b"BT /F1 7 Tf 8 30 Td (" + line + b") Tj ET"))
    return raw_pdf(path, objects)


def write_dense_page_pdf(path: Path, *, chars: int = 1_000_000) -> Path:
    """One large page holding ``chars`` characters of distinct clinical sentences in a 2.2 pt font."""
    paragraphs: list[str] = []
    total = 0
    while total < chars:
        paragraphs.append(body_paragraph(f"case {len(paragraphs)}", len(paragraphs), 0))
        total += len(paragraphs[-1]) + 1
    text = " ".join(paragraphs)[:chars]
    lines = [text[i : i + 1100] for i in range(0, len(text), 1100)]
    doc = pymupdf.open()
    page = doc.new_page(width=3000, height=3000)
    page.insert_text((5, 5), "\n".join(lines), fontsize=2.2, fontname="helv", lineheight=1.1)
    _save(doc, path)
    return path


def write_empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _save(doc: pymupdf.Document, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path), garbage=0, deflate=True)
    doc.close()


# ---------------------------------------------------------------- checking a library built from them


def library_problems(library: Library, *, after_clean_exit: bool = True) -> list[str]:
    """Every way the catalog, the vector store and the stored copies disagree ([] when consistent).

    The rules are those of ``kidneytalk/library.py``: a ready document has exactly its
    catalog chunks as vectors and a stored copy; nothing else has vectors. With
    ``after_clean_exit`` no document may be caught half-way (indexing/removing) and
    no writer may be marked active.
    """
    problems: list[str] = []
    catalog, store = library.catalog, library.store
    docs = catalog.documents()
    ready = {d.id for d in docs if d.status == STATUS_READY}
    vector_ids = store.ids()
    chunk_ids = {r[0] for r in catalog.db.execute("SELECT id FROM chunks")}
    for doc in docs:
        in_catalog, in_store = catalog.chunk_count(doc.id), store.count_doc(doc.id)
        if doc.status == STATUS_READY:
            # chunks_kept counts the passages stored with another document too (once each)
            if not in_catalog == in_store == doc.chunks_kept - catalog.shared_count(doc.id):
                problems.append(
                    f"ready {doc.id} ({doc.name}): chunks_kept={doc.chunks_kept}, "
                    f"catalog chunks={in_catalog}, vectors={in_store}"
                )
            if not (doc.stored_path and Path(doc.stored_path).exists()):
                problems.append(
                    f"ready {doc.id} ({doc.name}): stored copy missing ({doc.stored_path!r})"
                )
            elif _sha256(Path(doc.stored_path)) != doc.sha256:
                problems.append(
                    f"ready {doc.id} ({doc.name}): the stored copy is not the content that was read "
                    f"(sha256 {_sha256(Path(doc.stored_path))[:12]}, catalog {doc.sha256[:12]})"
                )
        elif doc.status == STATUS_FAILED:
            if in_catalog or in_store:
                problems.append(
                    f"failed {doc.id} ({doc.name}): {in_catalog} chunks, {in_store} vectors left"
                )
        elif after_clean_exit:
            problems.append(f"{doc.id} ({doc.name}) left in status {doc.status!r}")
    orphans = [i for i in vector_ids if i.split(":", 1)[0] not in ready]
    if orphans:
        problems.append(f"{len(orphans)} vectors of no ready document, e.g. {orphans[:3]}")
    ready_chunks = {i for i in chunk_ids if i.split(":", 1)[0] in ready}
    if ready_chunks != set(vector_ids) - set(orphans):
        missing = sorted(ready_chunks - set(vector_ids))[:3]
        extra = sorted(set(vector_ids) - set(orphans) - ready_chunks)[:3]
        problems.append(
            f"chunk ids and vector ids differ: missing vectors {missing}, vectors without chunk {extra}"
        )
    if len(vector_ids) != len(set(vector_ids)):
        problems.append("duplicate vector ids")
    if after_clean_exit and catalog.get_meta("writer_active"):
        problems.append(f"writer_active still set: {catalog.get_meta('writer_active')!r}")
    return problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
