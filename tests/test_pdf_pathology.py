"""PDF pathology in one batch (issue 15): each file is read or fails alone with one line naming it.

The files are generated here: encrypted (AES-256), zero pages, truncated in
the middle, a page tree claiming a million pages, a page whose one image
inflates to 400 MB, JavaScript on open with an attached executable, a broken
cross-reference table, and a PDF that is really a ZIP. A normal PDF goes in
the same batch and must be added; the whole batch must finish within a
generous bound, and the library must stay consistent.
"""

from __future__ import annotations

import io
import time
import zipfile
import zlib
from pathlib import Path

import pymupdf
import pytest

from kidneytalk.engine import Engine
from tests.fixtures_pdf import (
    library_problems,
    raw_pdf,
    stream,
    write_encrypted_pdf,
    write_text_pdf,
)

BOUND_SECONDS = 240  # the whole batch on a busy 2-core machine (a quiet run takes a fraction)


def zero_pages(path: Path) -> Path:
    return raw_pdf(
        path, [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def million_pages(path: Path) -> Path:
    """A page tree whose /Count claims 1,000,000 pages while one page exists."""
    content = stream(b"", b"BT /F1 12 Tf 72 720 Td (Albuminuria is measured in urine.) Tj ET")
    return raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            content,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
    )


def image_bomb(path: Path) -> Path:
    """One page drawing a 20,000 x 20,000 grey image: 400 MB once inflated, 0.4 MB on disk."""
    side = 20_000
    packed = zlib.compressobj(9)
    data = (
        b"".join(packed.compress(b"\0" * side * 500) for _ in range(side // 500)) + packed.flush()
    )
    image = stream(
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side),
        data,
    )
    return raw_pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
            stream(b"", b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
            image,
        ],
    )


def javascript_and_attachment(path: Path) -> Path:
    """Readable text, JavaScript run on open and an attached 'setup.exe': the text is what counts."""
    write_text_pdf(path.with_suffix(".base.pdf"), topic="kidney stones", pages=2)
    doc = pymupdf.open(path.with_suffix(".base.pdf"))
    doc.embfile_add("setup.exe", b"MZ" + b"\0" * 1000, filename="setup.exe")
    js = doc.get_new_xref()
    doc.update_object(js, "<< /S /JavaScript /JS (app.alert\\('hello'\\);) >>")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{js} 0 R")
    doc.save(path)
    doc.close()
    path.with_suffix(".base.pdf").unlink()
    return path


def truncated(path: Path) -> Path:
    full = write_text_pdf(
        path.with_suffix(".full.pdf"), topic="polycystic kidney disease", pages=3
    ).read_bytes()
    path.with_suffix(".full.pdf").unlink()
    path.write_bytes(full[: len(full) // 2])
    return path


def broken_xref(path: Path) -> Path:
    """A good PDF whose xref offsets all point to the wrong place (MuPDF rebuilds it from the objects)."""
    data = bytearray(
        write_text_pdf(
            path.with_suffix(".ok.pdf"), topic="nephrotic syndrome", pages=2
        ).read_bytes()
    )
    path.with_suffix(".ok.pdf").unlink()
    at = data.rfind(b"xref")
    if at > 0:
        tail = data[at:].replace(b" 00000 n", b" 00000 x")
        data[at:] = tail
        data[at + 5 : at + 40] = b"9" * 35
    path.write_bytes(bytes(data))
    return path


def zip_named_pdf(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document>not a pdf</w:document>")
    path.write_bytes(buf.getvalue())
    return path


CASES = {
    "encrypted.pdf": write_encrypted_pdf,
    "zero-pages.pdf": zero_pages,
    "truncated.pdf": truncated,
    "million-pages.pdf": million_pages,
    "image-bomb.pdf": image_bomb,
    "javascript-attachment.pdf": javascript_and_attachment,
    "broken-xref.pdf": broken_xref,
    "report.docx.pdf": zip_named_pdf,
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("pathology")
    files = [make(folder / name) for name, make in CASES.items()]
    good = write_text_pdf(folder / "good.pdf", topic="diabetic kidney disease", pages=2)
    eng = Engine(folder / "home", embedder=embedder)
    started = time.monotonic()
    results = eng.add([*files, good])
    elapsed = time.monotonic() - started
    yield eng, {Path(r.path).name: r for r in results}, elapsed
    eng.close()


def test_the_batch_finishes_in_bound_and_the_good_file_is_added(batch):
    eng, results, elapsed = batch
    assert elapsed < BOUND_SECONDS, f"batch took {elapsed:.0f} s"
    assert results["good.pdf"].status == "added"
    assert set(results) == {*CASES, "good.pdf"}
    assert library_problems(eng.library) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_file_is_read_or_fails_alone_with_one_line_naming_it(batch, name: str):
    eng, results, _ = batch
    result = results[name]
    assert result.status in ("added", "failed"), result.message
    assert "\n" not in result.message and name in result.message
    assert "Traceback" not in result.message
    if result.status == "failed":
        assert len(result.message) < 400


def test_what_must_fail_fails_and_what_can_be_read_is_read(batch):
    _, results, _ = batch
    for name in ("encrypted.pdf", "zero-pages.pdf", "report.docx.pdf"):
        assert results[name].status == "failed", results[name].message
    assert (
        "password" in results["encrypted.pdf"].message.lower()
        or "encrypt" in results["encrypted.pdf"].message.lower()
    )
    for name in ("javascript-attachment.pdf", "broken-xref.pdf"):
        assert results[name].status == "added", results[name].message
    hits = batch[0].search("kidney stones", k=3)
    assert any(h.doc_name == "javascript-attachment.pdf" for h in hits)
    assert all("app.alert" not in h.text and "setup.exe" not in h.text for h in hits)
