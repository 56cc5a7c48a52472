"""No passage exceeds the character cap or the embedder's window, whatever the text (issue 17).

The cap (``MAX_CHUNK_CHARS`` characters per token of the chunk size: 3,200 for
MiniLM's 200-token passages) is far above what real text needs —
``bench/char_cap.py`` measured at most 6.8 characters per token over 1,147
passages of 41 real PDFs, longest passage 1,183 characters — so it cuts only
text the tokenizer squeezes into a few tokens.
"""

from __future__ import annotations

import pytest

from kidneytalk.chunk import MAX_CHUNK_CHARS, Chunker, embed_text
from kidneytalk.clean import clean_document
from kidneytalk.config import ChunkSettings
from kidneytalk.parse import parse_file
from kidneytalk.records import Block, Page, ParsedDocument
from tests.conftest import shared_pdf

PATHOLOGICAL = {
    "run without separators": "x" * 100_000,
    "CJK without punctuation": "腎臟病患者應定期檢查腎絲球過濾率與尿蛋白" * 2_000,
    "long unknown words": " ".join(["q" * 150] * 1_000),  # each over WordPiece's 100 characters
}


@pytest.mark.parametrize("kind", sorted(PATHOLOGICAL))
def test_every_passage_of_pathological_text_is_within_the_caps_and_all_text_is_kept(
    embedder, kind: str
) -> None:
    text = PATHOLOGICAL[kind]
    chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
    doc = ParsedDocument("x.txt", "x", [Page(1, [Block(text, 1, "text", ())])], 1)
    chunks = chunker.chunk("doc", doc)
    cap = chunker.size * MAX_CHUNK_CHARS
    count = embedder.token_counter()
    for c in chunks:
        assert len(c.text) <= cap and c.n_tokens <= chunker.size
        assert count(embed_text(c)) + 2 <= embedder.max_tokens  # the embedder sees it whole
        assert text[c.char_start : c.char_end] == c.text
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.char_start : c.char_end] = b"\1" * (c.char_end - c.char_start)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


def test_real_passages_never_come_near_the_character_cap(embedder) -> None:
    chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
    chunks = chunker.chunk("doc", clean_document(parse_file(shared_pdf(1))))
    assert chunks
    assert max(len(c.text) / max(1, c.n_tokens) for c in chunks) < MAX_CHUNK_CHARS / 2
