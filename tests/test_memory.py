"""Bounded memory while embedding: padded-token batches, freed memory handed back (issue 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kidneytalk import embed as embed_mod
from kidneytalk.embed import MAX_BATCH_TOKENS, Embedder, token_batches
from kidneytalk.memory import give_back


def test_token_batches_keep_both_bounds_and_every_text_once():
    lengths = [256, 12, 256, 40, 180, 256, 7, 100, 256, 256, 30, 64]
    batches = token_batches(lengths, max_texts=4, max_tokens=600)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # longest first
    for b in batches:
        assert len(b) <= 4
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 600
    # 256-token texts two at a time (the fifth with the 180), short ones four at a time
    assert [len(b) for b in batches] == [2, 2, 2, 4, 2]
    assert token_batches([], 4, 600) == []
    assert token_batches([900], 4, 600) == [[0]]  # longer than the budget alone: still embedded


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    emb = Embedder(precision="fp32", batch_size=64)
    yield emb
    emb.close()


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "eager"])
def test_torch_passes_stay_within_the_token_budget_and_vectors_do_not_change(
    fp32: Embedder, monkeypatch: pytest.MonkeyPatch, traced: bool
):
    words = "glomerular filtration albuminuria dialysis potassium transplant".split()
    texts = [" ".join(words[j % 6] for j in range(n)) for n in (230, 3, 120, 230, 9, 60) * 6]
    lengths = fp32.padded_lengths(texts)
    assert max(lengths) == fp32.max_tokens  # some texts fill the model's window
    if traced:
        assert fp32._traced is not None
    else:  # a model that does not trace: sentence-transformers' own encode, pass by pass
        monkeypatch.setattr(fp32, "_traced", None)

    passes: list[int] = []
    with monkeypatch.context() as m:
        if traced:
            pooled = embed_mod._pooled

            def counting_traced(model: object, encoder: object, batch: list[str]) -> object:
                passes.append(len(batch) * max(fp32.padded_lengths(batch)))
                return pooled(model, encoder, batch)

            m.setattr(embed_mod, "_pooled", counting_traced)
        else:
            encode = fp32._model.encode

            def counting(batch: list[str], **kw: object) -> object:
                passes.append(len(batch) * max(fp32.padded_lengths(batch)))
                return encode(batch, **kw)

            m.setattr(fp32._model, "encode", counting)
        together = fp32.embed(texts)
    assert len(passes) > 1
    assert max(passes) <= MAX_BATCH_TOKENS
    alone = np.stack([fp32.embed([t])[0] for t in texts[:6]])
    assert together.shape == (len(texts), fp32.dimension)
    np.testing.assert_allclose(together[:6], alone, atol=1e-5)  # right rows, same vectors
    np.testing.assert_allclose(together[6:12], together[:6], atol=1e-5)


def test_freed_memory_is_handed_back_after_a_batch(monkeypatch: pytest.MonkeyPatch, fp32: Embedder):
    assert give_back()  # glibc Linux: malloc_trim is there
    calls: list[int] = []
    monkeypatch.setattr(embed_mod, "give_back", lambda: calls.append(1) or True)
    fp32.embed(["one passage", "another passage"])
    fp32.embed_query("a question")  # one text: nothing to hand back
    assert calls == [1]


# ---------------------------------------------------------------- a long document is not held twice


def _long_doc(tmp_path):
    from kidneytalk.parse import parse_file
    from tests.fixtures_pdf import write_text_pdf

    return parse_file(write_text_pdf(tmp_path / "long.pdf", pages=40, paragraphs=3))


def test_cleaning_lets_go_of_each_raw_page_once_its_clean_copy_is_made(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """Raw blocks alive + cleaned blocks made stay within one document plus one page: the raw
    and the cleaned document are never both held whole (checked on live objects, not RSS)."""
    import weakref

    from kidneytalk import clean

    raw = _long_doc(tmp_path)
    refs = [weakref.ref(b) for p in raw.pages for b in p.blocks]
    per_page = max(len(p.blocks) for p in raw.pages)
    held: list[int] = []
    join = clean.join_lines

    def counting(text: str) -> str:
        held.append(sum(r() is not None for r in refs) + len(held))
        return join(text)

    monkeypatch.setattr(clean, "join_lines", counting)
    cleaned = clean.clean_document(raw, consume=True)
    assert len(held) > len(raw.pages)  # every page was cleaned block by block
    assert max(held) <= len(refs) + per_page
    assert all(not p.blocks for p in raw.pages)
    assert sum(len(p.blocks) for p in cleaned.pages) > len(raw.pages)


def test_cleaning_without_consume_keeps_the_input_whole(tmp_path):
    from kidneytalk.clean import clean_document

    raw = _long_doc(tmp_path)
    blocks = [len(p.blocks) for p in raw.pages]
    clean_document(raw)
    assert [len(p.blocks) for p in raw.pages] == blocks  # callers that keep the parse see it intact


def test_the_chunker_cuts_one_section_at_a_time_and_lets_go_of_the_pages(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """With consume the pages give up their blocks as the sections are gathered, a section is cut
    as soon as the pages after it settle it (the first before the last page is read), and each is
    let go once cut: at most the section being cut and the next are alive; the passages do not
    change."""
    import weakref

    from kidneytalk import chunk as chunk_mod
    from kidneytalk.clean import clean_document
    from kidneytalk.config import ChunkSettings

    doc = clean_document(_long_doc(tmp_path))
    expected = chunk_mod.Chunker(lambda t: len(t.split()), ChunkSettings(), 256).chunk("d", doc)

    chunker = chunk_mod.Chunker(lambda t: len(t.split()), ChunkSettings(), 256)
    blocks = [weakref.ref(b) for p in doc.pages for b in p.blocks]
    units: list[weakref.ref] = []
    sections = chunk_mod._sections

    def tracked(d, consume):
        for unit in sections(d, consume):
            units.append(weakref.ref(unit))
            yield unit

    alive: list[int] = []
    blocks_alive: list[int] = []
    segments = chunk_mod._segments

    def counting(text: str):
        alive.append(sum(r() is not None for r in units))
        blocks_alive.append(sum(r() is not None for r in blocks))
        return segments(text)

    monkeypatch.setattr(chunk_mod, "_sections", tracked)
    monkeypatch.setattr(chunk_mod, "_segments", counting)
    got = chunker.chunk("d", doc, consume=True)
    assert len(units) > 10
    assert (
        max(alive) <= 2 and alive[-1] == 1
    )  # one section at a time (and the next), the last alone
    assert blocks_alive[0] > len(blocks) // 2  # the first is cut while most pages are unread
    assert blocks_alive[-1] == 0
    assert all(not p.blocks for p in doc.pages)
    assert got == expected


# the page file has no name (O_TMPFILE): it is seen through this process's open descriptors
needs_proc = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd (Linux)"
)


def _page_files() -> list[str]:
    """This process's open unlinked temporary files (as the page files are: with O_TMPFILE they
    have no name at all)."""
    import os
    import tempfile

    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(tempfile.gettempdir()) and target.endswith("(deleted)"):
            out.append(target)
    return out


def _blocks(pages) -> list[tuple]:
    return [(b.page, b.kind, b.text, b.section, b.bbox, b.lines) for p in pages for b in p.blocks]


@needs_proc
def test_a_streamed_document_is_read_once_and_rebuilt_page_by_page(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """Ingest's path (``stream``): the pages come from a temporary file one at a time, pass after
    pass, the same as the parsed list; cleaning and cutting them gives the same passages and
    removed lines while only a page or two are alive; closing lets go of the file."""
    import weakref

    from kidneytalk import chunk as chunk_mod
    from kidneytalk import parse
    from kidneytalk.clean import clean_document
    from kidneytalk.config import ChunkSettings
    from tests.fixtures_pdf import write_text_pdf

    pdf = write_text_pdf(tmp_path / "long.pdf", pages=40, paragraphs=3)
    listed = parse.parse_file(pdf)
    before = _page_files()  # (a list: its file is closed)
    reads: list[int] = []
    read_page = parse._read_page
    monkeypatch.setattr(parse, "_read_page", lambda *a, **k: reads.append(1) or read_page(*a, **k))
    streamed = parse.parse_file(pdf, stream=True)
    assert not isinstance(streamed.pages, list) and len(streamed.pages) == 40
    assert _blocks(streamed.pages) == _blocks(listed.pages) == _blocks(streamed.pages)
    assert len(reads) == 40  # each page read from the PDF once, however many passes
    assert len(_page_files()) == len(before) + 1

    words = lambda t: len(t.split())  # noqa: E731
    expected_doc = clean_document(listed)
    expected = chunk_mod.Chunker(words, ChunkSettings(), 256).chunk("d", expected_doc)

    made: list[weakref.ref] = []

    class Tracked(parse.Page):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(weakref.ref(self))

    monkeypatch.setattr(parse, "Page", Tracked)
    alive: list[int] = []
    segments = chunk_mod._segments

    def counting(text: str):
        alive.append(sum(r() is not None for r in made))
        return segments(text)

    monkeypatch.setattr(chunk_mod, "_segments", counting)
    cleaned = clean_document(streamed, consume=True)
    got = chunk_mod.Chunker(words, ChunkSettings(), 256).chunk("d", cleaned, consume=True)
    assert got == expected
    assert cleaned.removed == expected_doc.removed and len(cleaned.removed) >= 80  # header, footer
    assert len(made) == 4 * 40  # rebuilt on each pass (furniture: two; cleaning), + the copies
    assert max(alive) <= 3  # never the document: the page being cut, and one or two read ahead
    with pytest.raises(RuntimeError, match="read once"):  # not silently no pages the second time
        list(cleaned.pages)
    cleaned.pages.close()
    assert _page_files() == before


@needs_proc
def test_the_page_file_goes_where_it_is_told_and_is_closed_when_it_cannot_be_written(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    import errno
    import os

    from kidneytalk import parse
    from kidneytalk.errors import WorkSpaceError
    from tests.fixtures_pdf import write_text_pdf

    pdf = write_text_pdf(tmp_path / "doc.pdf", pages=5)
    here = tmp_path / "library"
    parsed = parse.parse_file(pdf, stream=True, spill_dir=here)
    fd = parsed.pages._file.fileno()  # type: ignore[union-attr]
    assert os.readlink(f"/proc/self/fd/{fd}").startswith(str(here))
    parsed.pages.close()  # type: ignore[union-attr]

    before = _page_files()
    flush_calls: list[int] = []

    class Full:  # the first write to the disk happens at the flush: the disk is full then
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def flush(self):
            flush_calls.append(1)
            raise OSError(errno.ENOSPC, "No space left on device")

    made = parse.tempfile.TemporaryFile
    monkeypatch.setattr(parse.tempfile, "TemporaryFile", lambda *a, **k: Full(made(*a, **k)))
    with pytest.raises(WorkSpaceError, match="doc.pdf: not read.*No space left on device"):
        parse.parse_file(pdf, stream=True)
    assert flush_calls and _page_files() == before  # the half-written file is closed
