"""Bad input never stops a batch: each bad file is named once with its reason, the rest is added.

Real generated PDFs, the real bundled embedder and chromadb in a temp home.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from kidneytalk.engine import Engine
from kidneytalk.library import Library
from tests.fixtures_pdf import (
    library_problems,
    write_big_pdf,
    write_corrupt_pdf,
    write_empty_file,
    write_encrypted_pdf,
    write_scanned_pdf,
    write_text_pdf,
)


def run_cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def lines_naming(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if name in line]


def assert_consistent(library: Library) -> None:
    problems = library_problems(library)
    assert not problems, "library inconsistent:\n" + "\n".join(problems)


# ---------------------------------------------------------------- one batch, many kinds of bad input


def test_batch_of_bad_files_names_each_one_and_still_adds_the_good_one(tmp_path: Path):
    src = tmp_path / "in"
    src.mkdir()
    good = write_text_pdf(src / "good.pdf", topic="lupus nephritis")
    bad = {
        "corrupt.pdf": (
            write_corrupt_pdf(src / "corrupt.pdf"),
            ("damaged", "no pages", "not a valid"),
        ),
        "locked.pdf": (write_encrypted_pdf(src / "locked.pdf"), ("password",)),
        "empty.pdf": (write_empty_file(src / "empty.pdf"), ("empty",)),
        "report.docx": (src / "report.docx", ("unsupported",)),
        "setup.exe": (src / "setup.exe", ("unsupported",)),
        "missing.pdf": (src / "missing.pdf", ("no such file",)),
    }
    (src / "report.docx").write_bytes(b"PK\x03\x04 not really a word file")
    (src / "setup.exe").write_bytes(b"MZ\x90\x00\x03\x00\x00\x00")
    home = tmp_path / "home"

    res = run_cli(home, "add", str(good), *(str(path) for path, _ in bad.values()))

    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Traceback" not in out
    [good_line] = lines_naming(out, "good.pdf")
    assert "added as" in good_line
    for name, (_, reasons) in bad.items():
        named = lines_naming(out, name)
        assert len(named) == 1, f"{name} should get exactly one line, got {named}\n{out}"
        assert any(r in named[0].lower() for r in reasons), named[0]
    assert "1 added, 0 already in library, 6 failed" in res.stderr

    listing = run_cli(home, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    docs = {d["name"]: d for d in json.loads(listing.stdout)}
    assert docs["good.pdf"]["status"] == "ready" and docs["good.pdf"]["chunks_kept"] > 0
    for name in ("corrupt.pdf", "locked.pdf", "empty.pdf"):
        assert docs[name]["status"] == "failed", docs[name]
        assert any(r in docs[name]["reason"].lower() for r in bad[name][1]), docs[name]
        assert docs[name]["chunks_kept"] == 0 and not docs[name]["stored_path"]
    assert "missing.pdf" not in docs  # nothing to record: there is no file
    # unsupported files named explicitly are recorded as failed (or not at all), never as documents
    for name in ("report.docx", "setup.exe"):
        if name in docs:
            assert docs[name]["status"] == "failed", docs[name]
            assert "unsupported" in docs[name]["reason"], docs[name]
    stored = sorted(p.name for p in (home / "data" / "documents").iterdir())
    assert stored == [f"{docs['good.pdf']['id']}.pdf"], (
        "only the good document is copied into the library"
    )

    with _open_library(home) as lib:
        assert_consistent(lib)


def _open_library(home: Path) -> Library:
    from kidneytalk.config import Paths, Settings

    return Library(Paths.resolve(home), Settings())


# ---------------------------------------------------------------- a folder of thousands of files


def _fill_messy_folder(root: Path, *, texts: int, empties: int, junk: int) -> dict[str, int]:
    """Tiny distinct .txt notes, empty and blank .txt files, unsupported junk, hidden files, nesting."""
    for i in range(texts):
        sub = root / f"ward-{i % 7}" / ("archive" if i % 5 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note-{i:04d}.txt").write_text(
            f"Note {i}: serum potassium {3 + i % 30 / 10:.1f} mmol/L and eGFR {15 + i % 80} in patient {i * 7919}.\n"
        )
    for i in range(empties):
        name = f"blank-{i:03d}.txt"
        (root / name).write_text("" if i % 2 else "   \n\n  \t\n")
    kinds = (".bin", ".docx", ".exe", ".jpg", ".xlsx", "")
    for i in range(junk):
        (root / f"junk-{i:04d}{kinds[i % len(kinds)]}").write_bytes(os.urandom(8))
    for i in range(20):  # hidden files and folders are ignored silently
        (root / f".DS_Store-{i}").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD.txt").write_text("ref: refs/heads/main\n")
    (root / "binary.txt").write_bytes(b"\x00\x01\x02 looks like text by name only \x00" * 4)
    (root / "dangling.txt").symlink_to(root / "does-not-exist.txt")
    return {"texts": texts, "empties": empties, "junk": junk}


def _run_messy_folder(embedder, tmp_path: Path, texts: int, empties: int, junk: int) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    _fill_messy_folder(folder, texts=texts, empties=empties, junk=junk)
    with Engine(tmp_path / "home", embedder=embedder) as engine:
        started = time.monotonic()
        results = engine.add([folder])
        elapsed = time.monotonic() - started
        print(f"{texts + empties + junk + 2} files in {elapsed:.1f} s")

        by_status = Counter(r.status for r in results)
        assert by_status["added"] == texts, by_status
        # the dangling link is either skipped (not a regular file) or fails (cannot be read)
        assert by_status["skipped"] + by_status["failed"] == junk + empties + 2, by_status
        assert by_status["failed"] in (empties + 1, empties + 2), by_status  # + binary.txt
        assert len(results) == texts + empties + junk + 2, (
            "every visible file is reported exactly once"
        )
        assert not any(".DS_Store" in r.path or ".git" in r.path for r in results)
        for r in results:
            assert Path(r.path).name in r.message, r
        failed = {Path(r.path).name: r.message for r in results if r.failed}
        assert "binary" in failed["binary.txt"]
        [dangling] = [r for r in results if Path(r.path).name == "dangling.txt"]
        assert "not a regular file" in dangling.message or "cannot read" in dangling.message
        assert all(
            ("empty" in m or "no text" in m) for n, m in failed.items() if n.startswith("blank-")
        )

        docs = engine.library.documents()
        assert sum(d.status == "ready" for d in docs) == texts
        assert_consistent(engine.library)
        [hit] = engine.search("serum potassium and eGFR in patient 7919", k=1)
        assert hit.doc_name.endswith(".txt")


def test_folder_with_two_thousand_files_finishes_reports_each_and_stays_consistent(
    embedder, tmp_path: Path
):
    _run_messy_folder(embedder, tmp_path, texts=150, empties=50, junk=1800)


@pytest.mark.slow
def test_folder_with_two_thousand_text_notes_finishes_and_stays_consistent(
    embedder, tmp_path: Path
):
    _run_messy_folder(embedder, tmp_path, texts=2000, empties=100, junk=300)


def test_a_named_pipe_in_a_folder_does_not_hang_the_batch(engine, tmp_path: Path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_text_pdf(folder / "a-guideline.pdf", topic="polycystic kidney disease", pages=2)
    fifo = folder / "b-pipe.txt"
    os.mkfifo(fifo)
    results: list = []
    worker = threading.Thread(target=lambda: results.extend(engine.add([folder])), daemon=True)
    worker.start()
    worker.join(timeout=10)
    hung = worker.is_alive()
    if hung:  # unblock the reader so the test can clean up: opening the write end lets it see EOF
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        worker.join(timeout=30)
    assert not hung, "add hung on a named pipe"
    assert {Path(r.path).name: r.status for r in results}["a-guideline.pdf"] == "added"
    assert {Path(r.path).name: r.status for r in results}["b-pipe.txt"] in ("skipped", "failed")


def test_file_that_vanishes_mid_batch_fails_alone(engine, tmp_path: Path):
    folder = tmp_path / "usb-stick"
    first = write_text_pdf(folder / "a-first.pdf", topic="glomerulonephritis", pages=6)
    vanishing = write_text_pdf(folder / "b-vanishing.pdf", topic="renal cell carcinoma", pages=2)
    write_text_pdf(folder / "c-last.pdf", topic="urinary tract infection", pages=2)

    def unplug_while_the_first_is_embedded(event) -> None:
        if event.stage == "embed" and event.file == first.name and vanishing.exists():
            time.sleep(0.5)  # the prepare thread, two files ahead, has read b-vanishing.pdf by now
            vanishing.unlink()

    try:
        results = engine.add([folder], progress=unplug_while_the_first_is_embedded)
    finally:
        problems = library_problems(engine.library)
    statuses = {Path(r.path).name: r.status for r in results}
    assert statuses == {"a-first.pdf": "added", "b-vanishing.pdf": "failed", "c-last.pdf": "added"}
    assert "b-vanishing.pdf" in [r for r in results if r.failed][0].message
    assert problems == []


def test_file_that_vanishes_last_in_a_batch_leaves_nothing_half_indexed(engine, tmp_path: Path):
    folder = tmp_path / "usb-stick"
    first = write_text_pdf(folder / "a-first.pdf", topic="glomerulonephritis", pages=6)
    vanishing = write_text_pdf(folder / "b-vanishing.pdf", topic="renal cell carcinoma", pages=2)

    def unplug_while_the_first_is_embedded(event) -> None:
        if event.stage == "embed" and event.file == first.name and vanishing.exists():
            time.sleep(0.5)
            vanishing.unlink()

    results = engine.add([folder], progress=unplug_while_the_first_is_embedded)

    assert [r.status for r in results] == ["added", "failed"]
    # what `kidneytalk list` shows right after the command, with no later write to tidy up
    assert library_problems(engine.library) == []
    doc = next((d for d in engine.library.documents() if d.name == "b-vanishing.pdf"), None)
    if doc is not None:  # recorded as failed, with the real reason
        assert doc.status == "failed" and "interrupted" not in doc.reason, doc


# ---------------------------------------------------------------- scanned, huge, duplicate


def test_scanned_image_only_pdf_is_marked_needs_ocr_with_a_clear_message(
    engine, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("KIDNEYTALK_OCR", "missing")  # OCR itself: tests/test_ocr.py
    scan = write_scanned_pdf(tmp_path / "scanned-letter.pdf", pages=2)
    [res] = engine.add([scan])
    assert res.status == "added" and res.chunks_kept == 0
    assert "scanned-letter.pdf" in res.message
    assert "2 of 2 pages are scanned images" in res.message and "needs OCR" in res.message
    [doc] = engine.library.documents()
    assert doc.needs_ocr and doc.scanned_pages == 2 and doc.pages == 2
    assert "needs OCR" in doc.reason
    assert engine.search("dialysis notes") == []
    assert_consistent(engine.library)


def test_five_hundred_page_pdf_ingests_with_page_citations(engine, tmp_path: Path):
    started = time.monotonic()
    big = write_big_pdf(tmp_path / "transplant-handbook.pdf", pages=500)
    generated = time.monotonic()
    [res] = engine.add([big])
    print(
        f"500 pages: generated in {generated - started:.1f} s, ingested in {time.monotonic() - generated:.1f} s"
    )
    assert res.status == "added", res.message
    [doc] = engine.library.documents()
    assert doc.pages == 500 and doc.status == "ready"
    assert doc.chunks_kept >= 500
    assert_consistent(engine.library)
    texts = [r[0] for r in engine.library.catalog.db.execute("SELECT text FROM chunks")]
    assert not any(re.search(r"Page \d+ of 500", t) for t in texts), (
        "page-number footers are removed"
    )
    assert not any("clinical practice guideline" in t for t in texts), (
        "the running header is removed"
    )
    rows = engine.library.catalog.db.execute(
        "SELECT text, page_start, page_end FROM chunks"
    ).fetchall()
    cited = 0
    # every "Note <page>.<para>" sits on a page the chunk cites
    for text, first_page, last_page in rows:
        for page in re.findall(r"Note (\d+)\.\d", text):
            assert first_page <= int(page) <= last_page, (first_page, last_page, text[:60])
            cited += 1
    assert cited >= 1000
    hits = engine.search("kidney transplantation dietary protein intake", k=3)
    assert hits and all(h.doc_name == "transplant-handbook.pdf" for h in hits)


def test_same_content_under_another_name_is_already_in_library(engine, tmp_path: Path):
    first = write_text_pdf(tmp_path / "kdigo-2024.pdf", topic="anaemia in CKD")
    copy = tmp_path / "downloads" / "kdigo-2024 (1).pdf"
    copy.parent.mkdir()
    shutil.copyfile(first, copy)
    [added] = engine.add([first])
    stored_before = sorted(engine.library.paths.documents.iterdir())
    vectors_before = engine.library.store.ids()

    again, renamed = engine.add([first, copy])

    for res in (again, renamed):
        assert res.status == "exists", res
        assert "already in library as kdigo-2024.pdf" in res.message and res.doc_id == added.doc_id
    [doc] = engine.library.documents()
    assert doc.name == "kdigo-2024.pdf" and doc.original_path == str(first.resolve())
    assert sorted(engine.library.paths.documents.iterdir()) == stored_before
    assert sorted(engine.library.store.ids()) == sorted(vectors_before)


def test_same_content_twice_in_one_batch_is_added_once(engine, tmp_path: Path):
    first = write_text_pdf(tmp_path / "kdigo-2024.pdf", topic="anaemia in CKD")
    copy = tmp_path / "kdigo-2024-copy.pdf"
    shutil.copyfile(first, copy)

    results = engine.add([first, copy])

    assert [r.status for r in results] == ["added", "exists"], [r.message for r in results]
    assert "already in library as kdigo-2024.pdf" in results[1].message
    [doc] = engine.library.documents()
    assert doc.original_path == str(first.resolve())


# ---------------------------------------------------------------- remove and disable


def test_remove_deletes_vectors_chunks_and_the_stored_copy(engine, tmp_path: Path):
    keep = write_text_pdf(tmp_path / "keep.pdf", topic="hyperkalaemia")
    gone = write_text_pdf(tmp_path / "gone.pdf", topic="nephrotic syndrome")
    engine.add([keep, gone])
    doc = engine.library.resolve("gone.pdf")
    assert engine.library.store.count_doc(doc.id) == doc.chunks_kept > 0
    stored = Path(doc.stored_path)
    assert stored.exists()

    engine.library.remove("gone.pdf")

    assert engine.library.store.count_doc(doc.id) == 0
    assert engine.library.catalog.chunk_count(doc.id) == 0
    assert not stored.exists()
    assert [d.name for d in engine.library.documents()] == ["keep.pdf"]
    assert all(h.doc_id != doc.id for h in engine.search("nephrotic syndrome care", k=10))
    assert_consistent(engine.library)


def test_disabled_document_never_reaches_search(engine, tmp_path: Path):
    on = write_text_pdf(tmp_path / "on.pdf", topic="hyperkalaemia")
    off = write_text_pdf(tmp_path / "off.pdf", topic="nephrotic syndrome")
    engine.add([on, off])
    off_id = engine.library.resolve("off.pdf").id
    assert any(h.doc_id == off_id for h in engine.search("nephrotic syndrome care", k=10))

    engine.library.set_enabled("off.pdf", False)

    hits = engine.search("nephrotic syndrome care", k=20)
    assert hits and all(h.doc_name == "on.pdf" for h in hits)
    assert engine.library.store.count_doc(off_id) > 0, (
        "disabling keeps the vectors (enable is instant)"
    )
    engine.library.set_enabled(off_id, True)
    assert any(h.doc_id == off_id for h in engine.search("nephrotic syndrome care", k=10))
