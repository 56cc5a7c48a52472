"""Chunk and filter stages: token-measured, section-aware chunks; boilerplate dropped with reasons."""

from __future__ import annotations

from kidneytalk.chunk import Chunker, embed_text
from kidneytalk.clean import clean_document
from kidneytalk.config import ChunkSettings
from kidneytalk.filter import filter_chunks, rule_reason
from kidneytalk.parse import parse_file
from kidneytalk.records import Block, Chunk, Page, ParsedDocument
from tests.conftest import shared_pdf


def chunker_for(embedder, size=200, overlap=40) -> Chunker:
    return Chunker(embedder.token_counter(), ChunkSettings(size, overlap), embedder.max_tokens)


def test_chunks_fit_the_embedder_window_and_know_their_pages(embedder):
    doc = clean_document(parse_file(shared_pdf(3)))
    chunks = chunker_for(embedder).chunk("doc1", doc)
    assert len(chunks) > 10
    for c in chunks:
        # what the embedder sees (section context + text) is never truncated
        assert embedder.count_tokens(embed_text(c)) + 2 <= embedder.max_tokens
        assert 1 <= c.page_start <= c.page_end <= doc.page_count
        assert c.section and c.section[0].startswith("PMID")
        assert c.char_end - c.char_start == len(c.text)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_long_section_is_split_with_overlap_and_sections_never_mix(embedder):
    sentence = "Sodium-glucose cotransporter-2 inhibitors reduce the risk of kidney failure in chronic kidney disease. "
    blocks = [Block(sentence * 6, 1, "text", ("Therapy",)) for _ in range(4)]
    blocks.append(
        Block(
            "Anaemia is common in advanced chronic kidney disease and needs treatment with iron.",
            2,
            "text",
            ("Anaemia",),
        )
    )
    doc = ParsedDocument("x.pdf", "x", [Page(1, blocks[:4]), Page(2, blocks[4:])], 2)
    chunks = chunker_for(embedder, size=80, overlap=20).chunk("d", doc)
    therapy = [c for c in chunks if c.section == ("Therapy",)]
    assert len(therapy) >= 4
    assert all(c.n_tokens <= 80 for c in chunks)
    # neighbouring chunks overlap (the end of one reappears at the start of the next)
    assert any(a.text[-40:] in b.text for a, b in zip(therapy, therapy[1:], strict=False))
    anaemia = [c for c in chunks if "Anaemia is common" in c.text]
    assert len(anaemia) == 1 and anaemia[0].section == ("Anaemia",) and anaemia[0].page_start == 2
    assert not any("Anaemia is common" in c.text and "Sodium" in c.text for c in chunks)


def test_cjk_text_splits_at_chinese_sentence_ends(embedder):
    text = "慢性肾脏病是指肾脏结构或功能异常超过三个月。" * 30
    doc = ParsedDocument("zh.md", "zh", [Page(1, [Block(text, 1, "text", ("定义",))])], 1)
    chunks = chunker_for(embedder, size=60, overlap=0).chunk("z", doc)
    assert len(chunks) > 2
    assert all(c.text.endswith("。") for c in chunks)
    assert "".join(c.text for c in chunks) == text


def chunk(text: str, section=("Body",)) -> Chunk:
    return Chunk("d", 0, text, 1, 1, section)


def test_rules_drop_boilerplate_with_reasons():
    toc = "\n".join(f"{i}. Chapter title number {i} ........ {i * 7}" for i in range(1, 9))
    refs = " ".join(
        f"[{i}] Smith J, Jones K, et al. Outcomes of dialysis. Kidney Int. 2019;95:{i}12-{i}20."
        for i in range(1, 7)
    )
    assert rule_reason(chunk(toc)) == "table of contents"
    assert rule_reason(chunk(refs)) == "reference list"
    assert (
        rule_reason(
            chunk(
                "Smith J. Outcomes of dialysis in older adults. Kidney Int 2019.",
                section=("References",),
            )
        )
        == "reference list"
    )
    assert (
        rule_reason(chunk("© 2024 Kidney Society. All rights reserved. ISBN 978-1-23"))
        == "copyright/licence notice"
    )
    assert rule_reason(chunk("Page 12")) == "near-empty"
    clinical = "Metformin should be stopped when the eGFR falls below 30 mL/min/1.73 m² because of the risk of lactic acidosis."
    assert rule_reason(chunk(clinical)) is None
    assert rule_reason(chunk("慢性肾脏病患者应定期监测血钾和血肌酐水平。")) is None


def test_agent_runs_after_rules_and_its_drops_are_recorded():
    asked: list[str] = []

    def judge(text: str) -> bool:
        asked.append(text)
        return "kidney" in text

    medical = chunk(
        "The kidney filters about 180 litres of plasma per day in a healthy adult person."
    )
    other = chunk("The conference dinner will be served in the main hall at seven in the evening.")
    kept, dropped = filter_chunks([medical, other, chunk("Page 3")], agent=judge)
    assert kept == [medical]
    assert [d.reason for d in dropped] == ["filter agent: no medical knowledge", "near-empty"]
    assert len(asked) == 2  # the near-empty chunk never reached the agent
