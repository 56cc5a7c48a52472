"""Bounded work for any text: pathological inputs finish in time proportional to their size.

Each input goes through the real ingest stages (parse, clean, chunk, filter,
lexical terms) with the bundled embedder's tokenizer. Times are bounded
generously (the machine may be busy) and, more tellingly, the 5 MB input may
take at most ~25 times as long as the 0.5 MB one (linear work gives ~10,
the old quadratic chunker well over 100).
"""

from __future__ import annotations

import random
import string
import threading
import time
from pathlib import Path

import pytest

from kidneytalk.chunk import LINE_LIMIT, MAX_CHUNK_CHARS, Chunker
from kidneytalk.clean import clean_document
from kidneytalk.cli import main
from kidneytalk.config import ChunkSettings
from kidneytalk.errors import Cancelled
from kidneytalk.filter import filter_chunks
from kidneytalk.lexical import index_text
from kidneytalk.parse import parse_file

MB = 1_000_000


def one_line_of_words(size: int, seed: int = 1) -> str:
    """Ordinary-looking words from a large vocabulary, no newline, no sentence end."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 11))) for _ in range(50_000)
    ]
    words: list[str] = []
    n = 0
    while n < size:
        w = rng.choice(vocab)
        words.append(w)
        n += len(w) + 1
    return " ".join(words)[:size]


def one_repeated_token(size: int, seed: int = 0) -> str:
    return ("albuminuria " * (size // 12 + 1))[:size]


def random_unicode(size: int, seed: int = 3) -> str:
    """Characters from many scripts (Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Thai, CJK, Hangul,
    emoji, combining marks), with spaces and the odd newline."""
    rng = random.Random(seed)
    ranges = [
        (0x21, 0x7E),
        (0xC0, 0x24F),
        (0x370, 0x3FF),
        (0x400, 0x4FF),
        (0x590, 0x5FF),
        (0x600, 0x6FF),
        (0x900, 0x97F),
        (0xE00, 0xE7F),
        (0x3040, 0x30FF),
        (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3),
        (0x1F300, 0x1F6FF),
        (0x300, 0x36F),
    ]
    out: list[str] = []
    for _ in range(size):
        r = rng.random()
        if r < 0.12:
            out.append(" ")
        elif r < 0.1205:
            out.append("\n")
        else:
            lo, hi = rng.choice(ranges)
            out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def ingest_stages(path: Path, embedder) -> tuple[float, int]:
    """Seconds for parse + clean + chunk + filter + lexical terms of one file, and the passages made."""
    chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
    started = time.monotonic()
    doc = clean_document(parse_file(path))
    chunks = chunker.chunk("doc", doc)
    kept, _ = filter_chunks(chunks)
    for c in kept:
        index_text(c.text)
    seconds = time.monotonic() - started
    for c in chunks:
        assert c.n_tokens <= chunker.size and len(c.text) <= chunker.size * MAX_CHUNK_CHARS
    return seconds, len(chunks)


@pytest.mark.slow
@pytest.mark.parametrize("make", [one_line_of_words, one_repeated_token, random_unicode])
def test_pathological_text_is_processed_in_linear_time(tmp_path, embedder, make):
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text(make(MB // 2), encoding="utf-8")
    big.write_text(make(5 * MB), encoding="utf-8")
    t_small, n_small = ingest_stages(small, embedder)
    t_big, n_big = ingest_stages(big, embedder)
    assert n_big >= 5 * n_small  # it really was cut into passages
    assert t_big < 300, f"5 MB took {t_big:.0f} s"
    assert t_big < 25 * t_small + 10, f"0.5 MB: {t_small:.1f} s, 5 MB: {t_big:.1f} s: not linear"


def test_a_long_line_is_cut_on_a_hard_boundary_and_offsets_stay_exact(embedder, tmp_path):
    text = one_line_of_words(3 * LINE_LIMIT + 123)
    path = tmp_path / "line.txt"
    path.write_text(text, encoding="utf-8")
    doc = clean_document(parse_file(path))
    chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
    chunks = chunker.chunk("doc", doc)
    body = doc.pages[0].blocks[0].text
    for c in chunks:
        assert body[c.char_start : c.char_end] == c.text  # the stored span is the passage
        assert c.n_tokens <= chunker.size
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts) and chunks[-1].char_end == len(body.rstrip())
    covered = sum(len(c.text) for c in chunks)
    assert covered >= len(body) * 0.95  # nothing lost (overlap only adds)


def test_a_run_without_separators_is_cut_by_length_not_character_by_character(embedder):
    from kidneytalk.records import Block, Page, ParsedDocument

    blob = "x" * 400_000  # one "word": the tokenizer sees a few unknown tokens
    doc = ParsedDocument("blob.txt", "blob", [Page(1, [Block(blob, 1, "text", ())])], 1)
    chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
    started = time.monotonic()
    chunks = chunker.chunk("doc", doc)
    assert time.monotonic() - started < 30
    assert all(len(c.text) <= chunker.size * MAX_CHUNK_CHARS for c in chunks)
    assert sum(len(c.text) for c in chunks) == len(blob)


def test_cancel_stops_chunking_a_huge_text_within_a_second_or_two(embedder):
    from kidneytalk.records import Block, Page, ParsedDocument

    text = one_line_of_words(5 * MB)
    doc = ParsedDocument("big.txt", "big", [Page(1, [Block(text, 1, "text", ())])], 1)
    chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
    cancel = threading.Event()
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(len(chunker.chunk("doc", doc, cancel=cancel)))
        except Cancelled as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.5)
    cancel.set()
    asked = time.monotonic()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert isinstance(outcome[0], Cancelled), "5 MB cannot be chunked in half a second"
    assert time.monotonic() - asked < 3


def test_a_5mb_single_line_text_file_is_refused_at_once_with_a_clear_message(tmp_path, capsys):
    big = tmp_path / "longline5mb.txt"
    big.write_text(one_line_of_words(5 * MB), encoding="utf-8")
    small = tmp_path / "note.txt"
    small.write_text(
        "Metformin is reviewed when eGFR falls below 30 ml/min. " * 5, encoding="utf-8"
    )
    home = tmp_path / "home"
    started = time.monotonic()
    code = main(["--home", str(home), "add", str(big), "--json"])
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 1 and took < 60
    assert "longline5mb.txt: 5.0 MB of text is over the 2 MB limit" in out
    assert "kidneytalk settings set max_text_mb 0" in out


def test_a_huge_run_of_spaces_does_not_make_the_page_number_pattern_backtrack(embedder, tmp_path):
    """The page-number pattern backtracks quadratically on long whitespace: it only sees short blocks."""
    path = tmp_path / "spaces.txt"
    path.write_text(
        "Kidney function.\n\n" + " " * 200_000 + "x\n\nMetformin dose is reviewed below eGFR 30.\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    seconds, n = ingest_stages(path, embedder)
    assert (
        time.monotonic() - started < 30 and n >= 1
    )  # before the fix: hours (12 s for 20,000 spaces)


def test_cancel_during_add_of_a_huge_text_file_returns_quickly_and_keeps_nothing(engine, tmp_path):
    big = tmp_path / "longline5mb.txt"
    big.write_text(one_line_of_words(5 * MB), encoding="utf-8")
    engine.update_settings(engine.settings.with_value("max_text_mb", 0))  # allowed: no limit
    cancel = threading.Event()
    results: list = []
    thread = threading.Thread(target=lambda: results.extend(engine.add([big], cancel=cancel)))
    thread.start()
    time.sleep(0.5)  # hashing, parsing and cutting passages are under way
    cancel.set()
    asked = time.monotonic()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 5, (
        "Cancel must be noticed within a few seconds (busy machine)"
    )
    assert [r.status for r in results] == ["cancelled"]
    assert engine.library.documents() == []
