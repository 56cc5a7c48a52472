"""Tables are read by a recycled helper process (kidneytalk.tables): same Markdown as in this
process, a fresh child after RECYCLE_PAGES pages or a crash, Cancel ends it at once, and a
document without tables starts none."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pymupdf
import pytest

from kidneytalk import tables
from kidneytalk.errors import Cancelled
from kidneytalk.parse import parse_file
from kidneytalk.tables import TableReader, page_tables
from tests.fixtures_pdf import write_table_pdf


def _table_pdf(path: Path, pages: int = 2) -> Path:
    return write_table_pdf(path, pages=pages, body=True)


def test_child_reads_the_same_tables_and_is_replaced_after_its_pages(tmp_path, monkeypatch):
    pdf = _table_pdf(tmp_path / "tables.pdf", pages=3)
    monkeypatch.setattr(tables, "RECYCLE_PAGES", 2)
    with pymupdf.open(pdf) as doc, TableReader() as reader:
        here = [page_tables(page) for page in doc]
        there = [reader.read(page) for page in doc]
        assert not reader.inprocess
        assert reader.processes == 2  # pages 1-2 in the first child, page 3 in a new one
    assert there == here
    assert all(len(found) == 1 and "|G3a|45-59|" in found[0][1].replace(" ", "") for found in here)


def test_a_child_that_dies_is_replaced_and_the_page_keeps_its_text(tmp_path):
    pdf = _table_pdf(tmp_path / "tables.pdf")
    with pymupdf.open(pdf) as doc, TableReader() as reader:
        assert reader.read(doc[0])
        reader._proc.kill()  # as a crash in find_tables would
        reader._proc.join(5)
        assert reader.read(doc[1])  # a new child reads the next page
        assert reader.processes == 2


@pytest.mark.skipif(sys.platform == "win32", reason="stops the helper with SIGSTOP")
def test_cancel_ends_a_helper_stuck_on_a_page_at_once(tmp_path):
    pdf = _table_pdf(tmp_path / "tables.pdf")
    cancel = threading.Event()
    with pymupdf.open(pdf) as doc, TableReader(cancel=cancel) as reader:
        assert reader.read(doc[0])
        helper = reader._proc
        os.kill(helper.pid, signal.SIGSTOP)  # it will not answer the next page
        threading.Timer(0.5, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            reader.read(doc[1])
        assert time.monotonic() - started < 5
        assert reader._proc is None and not helper.is_alive()  # killed, not left running
        with pytest.raises(Cancelled):  # and none is started once cancelled
            reader.read(doc[1])
        assert reader.processes == 1


@pytest.mark.skipif(sys.platform == "win32", reason="stops the helper with SIGSTOP")
def test_a_page_that_takes_too_long_keeps_its_text_and_the_next_gets_a_new_helper(
    tmp_path, monkeypatch
):
    pdf = _table_pdf(tmp_path / "tables.pdf")
    with pymupdf.open(pdf) as doc, TableReader() as reader:
        assert reader.read(doc[0])
        helper = reader._proc
        os.kill(helper.pid, signal.SIGSTOP)  # as a find_tables that never returns
        # a short wait only for the stopped page: the pages read before and after it may take
        # more than a second on a busy machine
        monkeypatch.setattr(tables, "PAGE_TIMEOUT", 1.0)
        assert reader.read(doc[1]) == []
        assert not helper.is_alive()
        monkeypatch.undo()
        assert reader.read(doc[1]) and reader.processes == 2


def test_parse_reads_tables_through_the_child_and_text_pages_start_none(tmp_path, monkeypatch):
    started: list[int] = []
    start = TableReader._start

    def counted(self: TableReader) -> bool:
        started.append(1)
        return start(self)

    monkeypatch.setattr(TableReader, "_start", counted)
    parsed = parse_file(_table_pdf(tmp_path / "tables.pdf"))
    assert [b.kind for b in parsed.pages[0].blocks].count("table") == 1
    assert started == [1]  # one child for the document's two table pages

    text = pymupdf.open()
    text.new_page().insert_text((50, 72), "Only prose here, no table at all.", fontsize=11)
    text.save(tmp_path / "prose.pdf")
    started.clear()
    assert parse_file(tmp_path / "prose.pdf").pages[0].blocks
    assert started == []


def test_in_process_when_asked_or_when_the_document_has_no_file(tmp_path, monkeypatch):
    pdf = _table_pdf(tmp_path / "tables.pdf")
    monkeypatch.setenv(tables.ENV_INPROCESS, "1")
    with pymupdf.open(pdf) as doc, TableReader() as reader:
        assert reader.read(doc[0]) == page_tables(doc[0])
        assert reader.processes == 0
    monkeypatch.delenv(tables.ENV_INPROCESS)
    with pymupdf.open("pdf", pdf.read_bytes()) as doc, TableReader() as reader:  # from memory
        assert reader.read(doc[0]) == page_tables(doc[0])
        assert reader.processes == 0


def test_one_helper_serves_a_batch_and_a_file_it_cannot_open_is_read_here(tmp_path):
    first, second = _table_pdf(tmp_path / "a.pdf"), _table_pdf(tmp_path / "b.pdf")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a PDF at all")
    with TableReader() as reader:
        assert [b.kind for b in parse_file(first, tables=reader).pages[0].blocks].count("table")
        with pymupdf.open(second) as doc:
            os.replace(junk, second)  # the helper cannot open it; this process has it open
            assert reader.read(doc[0]) == page_tables(doc[0])
        assert reader.processes == 1 and not reader.inprocess


def test_a_helper_that_does_not_start_leaves_the_tables_to_this_process(tmp_path, monkeypatch):
    pdf = _table_pdf(tmp_path / "tables.pdf")

    def dead(self: TableReader, timeout: float) -> tuple[bool, str]:
        raise EOFError("exit code 1")  # as a frozen program without freeze_support would

    monkeypatch.setattr(TableReader, "_receive", dead)
    with pymupdf.open(pdf) as doc, TableReader() as reader:
        assert reader.read(doc[0]) == page_tables(doc[0])
        assert reader.inprocess and reader._proc is None
        assert reader.read(doc[1]) and reader.processes == 1
