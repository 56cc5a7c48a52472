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
    # Entries run together as a journal's last page is cut: one sentence in four has a locator.
    vancouver = (
        "Kidney Med Rev. 2004;9:112e15 (in chinese). 12. Wang Q, Li HM. Oral iron in adults on "
        "haemodialysis. Chin J Nephrol. 2004; 9: 201e4. 13. Zhou B. Study of anaemia and "
        "inflammation in dialysis. J Ren Res 2006;11:85e9. 14. Wang Q, Li HM. Iron indices in "
        "patients with chronic kidney disease. World J Nephrol 2007;13:530e3. 15."
    )
    bmc = (
        "1. Okafor J, Banda A: Quality management in a district hospital: an evaluation. Int J "
        "Hosp Qual 2006, 19:516-532. 2. Phiri L, et al: Sustaining quality of kidney care. "
        "Lusaka: Health Press; 2002. 3. Mwale M: Sample size in interview studies. Berlin: "
        "Forum; 2010."
    )
    assert rule_reason(chunk(vancouver)) == "reference list"
    assert rule_reason(chunk(bmc)) == "reference list"
    # A passage with a long enough finding before the first entries is kept (answers skip the entries).
    findings = " ".join([clinical] * 3)
    assert (
        rule_reason(chunk(f"{findings} REFERENCES 1. Wang Q, Li HM. Title. Gut 2005;7:4-9."))
        is None
    )
    # Numbered clinical steps with acronyms and a leaflet's web address are not references.
    steps = (
        "1. Measure ACR, eGFR and potassium before starting an ACE inhibitor. 2. Check BP at home "
        "twice a day for a week. 3. Visit www.kidney.org for a diary to record your readings."
    )
    assert rule_reason(chunk(steps)) is None


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
