"""The chunker counts the pieces it tries from one tokenisation of their section: counts and
chunks must be exactly those of tokenising every piece on its own."""

from __future__ import annotations

import random

from kidneytalk.chunk import Chunker, _TokenContext
from kidneytalk.clean import clean_document
from kidneytalk.config import ChunkSettings
from kidneytalk.parse import parse_file
from kidneytalk.records import Block, Page, ParsedDocument
from tests.conftest import shared_pdf

# Words that tokenise differently from their parts, punctuation of several scripts, accents,
# CJK, a control character the tokenizer deletes (it joins the words around it), a word over
# the tokenizer's 100-character limit, non-breaking and ideographic spaces.
_PIECES = [
    "eGFR",
    "<30",
    "mL/min/1.73m²",
    "café-au-lait",
    "naïve",
    "Ångström",
    "慢性肾脏病",
    "患者应定期监测血压。",
    "（见表1）",
    "don't",
    "x\x00y",
    "zero\u200bwidth",
    "a" * 120,
    "SGLT2-inhibitors,",
    "p<0.001;",
    "…",
    "«quoted»",
    "\u00a0",
    "\u3000",
    "1,234.5",
    "##hash",
    "e\u0301tude",
]


def _random_text(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(words):
        out.append(
            rng.choice(_PIECES)
            if rng.random() < 0.3
            else rng.choice(["kidney", "renal", "dialysis", "the", "of"])
        )
        out.append(rng.choice([" ", " ", " ", "\n", "\n\n", ". ", ", ", "", "。", "\t"]))
    return "".join(out)


def test_counts_from_the_section_equal_counting_each_piece(embedder):
    counter = embedder.token_counter()
    assert counter.token_starts("kidney") is not None  # the bundled tokenizer is BERT-style
    rng = random.Random(12)
    counted = 0
    for _ in range(40):
        text = _random_text(rng, 120)
        context = _TokenContext(text, counter.token_starts(text))
        assert context.count(text) == counter(text)
        cuts = [i for i, ch in enumerate(text) if not ch.isalnum()] + [len(text)]
        for _ in range(60):
            if rng.random() < 0.5:  # anywhere (mostly inside words: tokenised on their own)
                a = rng.randrange(len(text))
                b = rng.randrange(a, len(text) + 1)
            else:  # at or beside a space or punctuation, as the splitter cuts
                a, b = sorted(rng.sample(cuts, 2))
                a, b = a + rng.choice((0, 1)), b + rng.choice((0, 1))
            n = context.count(text[a:b])
            if n is not None:
                counted += 1
                assert n == counter(text[a:b]), repr(text[a:b])
    assert counted > 800  # most pieces are counted from the section, not tokenised again


def test_chunks_are_those_of_a_counter_without_offsets(embedder):
    counter = embedder.token_counter()
    settings = ChunkSettings(60, 12)
    fast = Chunker(counter, settings, embedder.max_tokens)
    plain = Chunker(lambda text: counter(text), settings, embedder.max_tokens)
    rng = random.Random(5)
    pages = [
        Page(
            number=n,
            blocks=[
                Block(_random_text(rng, 90), n, "text", (f"Section {n // 2}",)) for _ in range(3)
            ],
        )
        for n in range(1, 7)
    ]
    docs = [
        ParsedDocument("random.txt", "random", pages, len(pages)),
        clean_document(parse_file(shared_pdf(3))),
    ]
    for doc in docs:
        assert fast.chunk("d", doc) == plain.chunk("d", doc)
