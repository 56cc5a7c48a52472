"""Chinese: Simplified questions find Traditional passages (and back) in lexical search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kidneytalk.catalog import Catalog
from kidneytalk.chunk import Chunker
from kidneytalk.clean import clean_document
from kidneytalk.config import ChunkSettings
from kidneytalk.lexical import LEXICAL_VERSION, fold, index_text, match_query, terms
from kidneytalk.parse import parse_file
from tests.conftest import SHARED

REALDOCS = SHARED / "eval" / "realdocs-dev" if (SHARED / "eval" / "realdocs-dev").is_dir() else None


def test_traditional_and_simplified_fold_to_the_same_terms():
    assert terms("慢性腎臟病患者應控制血壓") == terms("慢性肾脏病患者应控制血压")
    assert fold("腎臟") == "肾脏" and fold("肾脏") == "肾脏"
    assert terms("ＡＣＲ １２") == ["acr", "12"]  # full-width forms fold too
    assert terms("SGLT2-inhibitor eGFR") == [
        "sglt2-inhibitor",
        "sglt2",
        "inhibitor",
        "egfr",
    ]  # English unchanged


def _catalog_with(tmp_path: Path, docs: dict[str, list[tuple[int, str]]]) -> Catalog:
    """A real catalog holding passages (doc id -> (page, text)) as ready documents."""
    from kidneytalk.records import Chunk

    cat = Catalog(tmp_path / "catalog.sqlite3")
    for doc_id, pages in docs.items():
        with cat.transaction():
            cat.insert_indexing(
                doc_id=doc_id,
                name=f"{doc_id}.pdf",
                original_path="",
                stored_path="",
                sha256=doc_id,
                size=1,
                embed_model="m",
                chunk_settings={},
                filter_agent=False,
            )
        kept = [
            Chunk(
                doc_id=doc_id,
                seq=i,
                text=text,
                page_start=page,
                page_end=page,
                section=(),
                char_start=0,
                char_end=len(text),
                n_tokens=len(text),
            )
            for i, (page, text) in enumerate(pages)
        ]
        cat.mark_ready(
            doc_id,
            title="",
            pages=max(p for p, _ in pages),
            scanned_pages=0,
            needs_ocr=False,
            kept=kept,
            dropped=[],
        )
    return cat


def test_a_simplified_query_finds_a_traditional_passage_and_back(tmp_path):
    cat = _catalog_with(
        tmp_path,
        {
            "trad": [(1, "腎臟切片檢查後應臥床休息，傷口以砂袋加壓止血。")],
            "simp": [(1, "高血钾时应避免食用含钾高的蔬菜与水果。")],
            "other": [(1, "Metformin should be stopped when eGFR falls below 30.")],
        },
    )
    ids = ["trad", "simp", "other"]
    assert cat.lexical_search("肾脏切片检查后如何止血", 3, ids)[0][0].startswith("trad")
    assert cat.lexical_search("高血鉀應避免哪些蔬菜", 3, ids)[0][0].startswith("simp")
    cat.close()


def test_an_old_lexical_index_is_rebuilt_with_folding_when_the_catalog_opens(tmp_path):
    cat = _catalog_with(tmp_path, {"trad": [(1, "慢性腎臟病的飲食原則")]})
    # make it look like a library indexed before folding existed
    cat.db.execute("UPDATE chunks_fts SET terms = ?", (" ".join(["慢性", "腎臟", "飲食"]),))
    cat.db.execute("UPDATE meta SET value = '1' WHERE key = 'lexical_version'")
    assert cat.lexical_search("肾脏", 3, ["trad"]) == []
    cat.close()
    reopened = Catalog(tmp_path / "catalog.sqlite3")
    assert reopened.get_meta("lexical_version") == LEXICAL_VERSION
    assert [cid.split(":")[0] for cid, _ in reopened.lexical_search("肾脏 饮食", 3, ["trad"])] == [
        "trad"
    ]
    reopened.close()


def _leaflets() -> list[Path]:
    if REALDOCS is None:
        pytest.skip("shared realdocs-dev data not found")
    found = sorted((REALDOCS / "pdfs").glob("zh-TW_leaflet_EDA_*.pdf"))
    if not found:
        pytest.skip("Traditional-Chinese leaflets with a text layer not found")
    return found


def _gold_hits(tmp_path: Path, leaflets: list[Path]) -> tuple[int, list[float]]:
    """(questions whose gold page is in the top 3, the best gold passage's BM25 score per question)."""
    chunker = Chunker(len, ChunkSettings(200, 40), 256)  # characters as tokens: no model needed
    from kidneytalk.records import Chunk

    tmp_path.mkdir()
    docs: dict[str, list[tuple[int, str]]] = {}
    for path in leaflets:
        pieces: list[Chunk] = chunker.chunk(path.stem, clean_document(parse_file(path)))
        docs[path.name] = [(c.page_start, c.text) for c in pieces]
    assert all(docs.values()), "the leaflets have a text layer"
    cat = _catalog_with(tmp_path, docs)
    questions = [
        json.loads(line)
        for line in (REALDOCS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    simplified = [
        q for q in questions if "zh-Hans" in q.get("tags", []) and q.get("gold_source") in docs
    ]
    assert simplified, "realdocs-dev has Simplified questions about the Traditional leaflets"
    page_of = {
        row["id"]: (row["doc_id"], row["page_start"])
        for row in cat.db.execute("SELECT id, doc_id, page_start FROM chunks")
    }
    hits = 0
    scores = []
    for q in simplified:
        ranked = cat.lexical_search(q["question"], 1000, list(docs))
        gold = [
            score
            for cid, score in ranked
            if page_of[cid][0] == q["gold_source"] and page_of[cid][1] in q["gold_pages"]
        ]
        hits += any(
            page_of[cid][0] == q["gold_source"] and page_of[cid][1] in q["gold_pages"]
            for cid, _ in ranked[:3]
        )
        scores.append(max(gold, default=0.0))
    cat.close()
    return hits, scores


def test_simplified_questions_find_the_real_traditional_leaflets_gold_page(tmp_path, monkeypatch):
    """The realdocs-dev questions written in Simplified characters hit their Traditional leaflet's page (top 3)."""
    leaflets = _leaflets()
    hits, scores = _gold_hits(tmp_path / "folded", leaflets)
    assert hits == len(scores), f"{hits}/{len(scores)} Simplified questions found their gold page"
    # the control: without folding fewer of each question's terms match its gold passage
    import kidneytalk.lexical as lexical

    monkeypatch.setattr(lexical, "_t2s", lambda: None)
    _, unfolded = _gold_hits(tmp_path / "unfolded", leaflets)
    assert all(f > u for f, u in zip(scores, unfolded, strict=True)), (scores, unfolded)


def test_lexical_terms_are_linear_for_large_text():
    import time

    text = ("慢性腎臟病 eGFR 30 ml/min " * 40_000) + ("word " * 200_000)
    started = time.monotonic()
    out = index_text(text)
    assert out and time.monotonic() - started < 30  # ~2 MB: a second or two when idle
    assert match_query("腎臟 kidney") == '"肾" OR "脏" OR "肾脏" OR "kidney"'


def test_chinese_sentences_split_after_closing_quotes_and_runs_of_marks():
    from kidneytalk.citations import split_sentences

    assert split_sentences("醫師說：「請停藥。」然後回診！真的嗎？！是的。[1] 第二句话?好的") == [
        "醫師說：「請停藥。」",
        "然後回診！",
        "真的嗎？！",
        "是的 [1]。",
        "第二句话?",
        "好的",
    ]
    assert split_sentences("高血钾时应避免香蕉；低血钾时应补充钾（见表一）。") == [
        "高血钾时应避免香蕉；",
        "低血钾时应补充钾（见表一）。",
    ]
    # English is unchanged, a decimal point never ends a Chinese sentence
    assert split_sentences("Stop below 30. [1] Check yearly.") == [
        "Stop below 30 [1].",
        "Check yearly.",
    ]
    assert split_sentences("每日剂量2.5毫克。") == ["每日剂量2.5毫克。"]
