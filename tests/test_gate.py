"""The relevance gate: off-library questions are refused in every mode, in-library ones answered.

Real PDFs (two shared PubMedQA digests), real chromadb, the real MiniLM and
SmolLM2; the calibration is the one shipped in the package unless a test
fits its own.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kidneytalk.cli import main
from kidneytalk.copypaste import evidence_sentences, is_meta_text, misread
from kidneytalk.engine import sample_document
from kidneytalk.lexical import found_terms
from kidneytalk.records import Hit
from kidneytalk.retrieval.gate import (
    CALIBRATION_FILE,
    DEFAULT_CALIBRATION,
    FEATURES,
    ITERATIONS,
    L2,
    LEGACY_FEATURES,
    TOPICAL_MARGIN,
    Calibration,
    answering_rule,
    cjk_share,
    content_terms,
    find_calibration,
    fit,
    lexical_terms,
    offtopic_questions,
    split_parts,
)
from tests.conftest import shared_pdf

OFF_TOPIC = "Who won the 1998 football World Cup final?"
IN_LIBRARY = "Is oral endotracheal intubation efficacy impaired in the helicopter environment?"


@pytest.fixture
def small_library(home: Path) -> Path:
    """A real library of two PubMedQA digests (helicopter intubation; day-surgery quality assurance)."""
    assert main(["--home", str(home), "add", str(shared_pdf(12)), str(shared_pdf(15))]) == 0
    return home


def ask_json(home: Path, capsys, question: str, *args: str) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "ask", question, "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- pure parts
def test_question_parts_and_content_words():
    assert split_parts(
        "When should metformin be stopped in CKD? Who won the 1998 World Cup final?"
    ) == ["When should metformin be stopped in CKD?", "Who won the 1998 World Cup final?"]
    assert split_parts("What are the sodium and potassium targets in dialysis?") == [
        "What are the sodium and potassium targets in dialysis?"
    ]
    assert split_parts(
        "How is metformin dosed in CKD and what is the eGFR threshold for SGLT2 inhibitors?"
    ) == ["How is metformin dosed in CKD", "what is the eGFR threshold for SGLT2 inhibitors?"]
    # a quoted title is not cut at its question mark; an apostrophe does not open a quote
    chart = "Using the AHA 'What Is High Blood Pressure?' chart, where does 134/78 mm Hg fall?"
    assert split_parts(chart) == [chart]
    two = "Is the “Is it safe?” leaflet about kidney biopsy bleeding? What heparin dose suits dialysis?"
    assert split_parts(two) == [
        "Is the “Is it safe?” leaflet about kidney biopsy bleeding?",
        "What heparin dose suits dialysis?",
    ]
    assert split_parts(
        "What is the authors' view on screening? What iron dose do children get?"
    ) == [
        "What is the authors' view on screening?",
        "What iron dose do children get?",
    ]
    assert content_terms("What is the eGFR threshold for metformin in patients?") == [
        "egfr",
        "threshold",
        "metformin",
    ]
    # what a user types around the question, and their own values, are no topic
    assert content_terms("my bp is 126/78, is that normal or already high? thanks") == [
        "bp",
        "normal",
        "high",
    ]
    assert content_terms("whats the egfr threshold for stage g3a, 45 or 60?") == [
        "egfr",
        "threshold",
        "stage",
        "g3a",
    ]
    assert content_terms("renal US findings, IM or IV?") == ["renal", "us", "findings", "im", "iv"]
    assert len(offtopic_questions("fit")) >= 50 and len(offtopic_questions("test")) >= 40
    assert not set(offtopic_questions("fit")) & set(offtopic_questions("test"))


def test_fit_separates_and_round_trips(tmp_path: Path):
    rows = [
        {"margin": m, "lexical": lx, "soft": 0.2 + lx / 2}
        for m, lx in [
            (0.5, 0.9),
            (0.4, 0.8),
            (0.35, 0.6),
            (0.3, 0.9),
            (0.0, 0.1),
            (0.05, 0.3),
            (0.1, 0.2),
            (-0.05, 0.0),
        ]
    ]
    cal = fit(rows, [1, 1, 1, 1, 0, 0, 0, 0], embed_model="test-model")
    assert all(w > 0 for w in cal.weights)
    assert (
        cal.probability({"margin": 0.45, "lexical": 0.8, "soft": 0.6})
        > 0.9
        > 0.1
        > cal.probability({"margin": 0.0, "lexical": 0.1, "soft": 0.25})
    )
    cal.save(tmp_path / CALIBRATION_FILE)
    again = Calibration.load(tmp_path / CALIBRATION_FILE)
    assert (
        again is not None
        and again.weights == pytest.approx(cal.weights)
        and again.embed_model == "test-model"
    )
    with pytest.raises(ValueError):
        fit(rows[:4], [1, 1, 1, 1], embed_model="x")


def toy_fit(**rules: Any) -> Calibration:
    """A calibration fitted on four made-up rows and six CJK ones, plus ``rules``' data."""
    rows = [
        {"margin": m, "lexical": lx, "soft": 0.2 + lx / 2}
        for m, lx in [(0.5, 0.9), (0.4, 0.8), (0.0, 0.1), (0.05, 0.3)]
    ]
    cjk_rows = [{"margin": 0.3, "lexical": lx} for lx in (0.7, 0.5, 0.6, 0.05, 0.1, 0.0)]
    return fit(
        rows,
        [1, 1, 0, 0],
        embed_model="test-model",
        cjk_rows=cjk_rows,
        cjk_labels=[1, 1, 1, 0, 0, 0],
        **rules,
    )


def test_cjk_questions_are_decided_on_their_bigrams_alone(tmp_path: Path):
    question = "腎臟切片檢查後，切片部位以砂袋加壓止血的做法為何？"
    assert cjk_share(question) == 1.0 and cjk_share("What is the eGFR in CKD (慢性腎病)?") < 0.5
    words = lexical_terms(question)
    assert "切片" in words and "肾脏" in words  # folded to Simplified
    assert (
        not [w for w in words if len(w) < 2] and "为何" not in words
    )  # no single characters, no question phrase
    assert lexical_terms("What is the eGFR threshold for metformin?") == [
        "egfr",
        "threshold",
        "metformin",
    ]
    cal = toy_fit()
    assert cal.cjk_weight is not None and cal.cjk_weight > 0
    # for a CJK question the margin does not count, only its words
    high, low = (
        {"margin": 0.9, "lexical": 0.05, "soft": 0.0, "cjk": 1.0},
        {"margin": -0.2, "lexical": 0.6, "soft": 0.0, "cjk": 1.0},
    )
    assert cal.probability(high) < 0.5 < cal.probability(low)
    assert cal.probability({**high, "cjk": 0.0}) > cal.probability(
        high
    )  # an English question: the margin counts
    cal.save(tmp_path / CALIBRATION_FILE)
    again = Calibration.load(tmp_path / CALIBRATION_FILE)
    assert again is not None and again.cjk_bias == pytest.approx(cal.cjk_bias)
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    assert (
        shipped is not None and shipped.cjk_weight is not None
    )  # the shipped calibration has the CJK rule


def test_the_rule_on_topical_words_only_turns_refusals_into_answers(tmp_path: Path):
    """Its boundary is above every off-topic question it was fitted on, and it decides CJK questions only."""
    topical = [{"topical": t} for t in (0.9, 0.8, 0.3, 0.0, 0.05, 0.45)]
    cal = toy_fit(topical_rows=topical, topical_labels=[1, 1, 1, 0, 0, 0])
    assert cal.topical_weight is not None and cal.topical_weight > 0
    assert cal.topical_bias is not None
    assert -cal.topical_bias / cal.topical_weight > 0.45  # above the highest off-topic question
    cjk = {"margin": 0.0, "lexical": 0.05, "soft": 0.0, "cjk": 1.0}
    assert (
        cal.probability({**cjk, "topical": 0.95}) > 0.5 > cal.probability({**cjk, "topical": 0.4})
    )
    assert (
        cal.probability({**cjk, "lexical": 0.7, "topical": 0.0}) > 0.5
    )  # the bigram rule still answers
    english = {"margin": 0.0, "lexical": 0.1, "soft": 0.25, "cjk": 0.0, "topical": 1.0}
    assert cal.probability(english) < 0.5  # not for questions the main rule decides
    cal.save(tmp_path / CALIBRATION_FILE)
    again = Calibration.load(tmp_path / CALIBRATION_FILE)
    assert again is not None and again.topical_bias == pytest.approx(cal.topical_bias)
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    assert shipped is not None and shipped.topical_weight is not None


def test_an_answering_rule_needs_a_feature_that_rises_with_answerability():
    """A weight of 0 would put every question at P = 0.5, which answers (a library whose CJK text
    has no Chinese words gives every pseudo-question a topical share of 0)."""
    flat = [{"topical": 0.0}] * 6
    assert answering_rule(flat, [1, 1, 1, 0, 0, 0], "topical", TOPICAL_MARGIN, L2, ITERATIONS) == [
        None,
        None,
    ]
    rising = [{"topical": t} for t in (0.9, 0.8, 0.7, 0.0, 0.1, 0.2)]
    weight, bias = answering_rule(
        rising, [1, 1, 1, 0, 0, 0], "topical", TOPICAL_MARGIN, L2, ITERATIONS
    )
    assert weight is not None and bias is not None and -bias / weight > 0.2


def test_a_calibration_without_the_topical_rule_gets_the_shipped_one(tmp_path: Path):
    """One written by `kidneytalk calibrate` before the rule existed, with the shipped CJK rule."""
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    assert shipped is not None and shipped.topical_weight is not None
    own = dataclasses.replace(
        shipped,
        topical_weight=None,
        topical_bias=None,
        weights=(9.0, 4.0),
        features=LEGACY_FEATURES,
    )
    own.save(tmp_path / CALIBRATION_FILE)
    cal, warning = find_calibration(shipped.embed_model, tmp_path)
    assert warning == "" and cal.source == str(tmp_path / CALIBRATION_FILE)
    assert cal.weights == (9.0, 4.0) and cal.topical_weight == shipped.topical_weight
    # A CJK rule of the user's own (fitted on a Chinese library) is left as it is.
    dataclasses.replace(own, cjk_bias=-2.0).save(tmp_path / CALIBRATION_FILE)
    assert find_calibration(shipped.embed_model, tmp_path)[0].topical_weight is None


def test_an_uncalibrated_embedding_model_asks_for_calibration(tmp_path: Path):
    cal, warning = find_calibration("some-other-model-0123456789", tmp_path)
    assert "re-calibrate: run `kidneytalk calibrate`" in warning
    assert cal.source == "fallback"
    # the fallback is cautious: a middling match is refused
    assert cal.probability({"margin": 0.25, "lexical": 0.5}) < 0.5
    Calibration("some-other-model-0123456789", (10.0, 4.0), -6.0, features=LEGACY_FEATURES).save(
        tmp_path / CALIBRATION_FILE
    )
    cal, warning = find_calibration("some-other-model-0123456789", tmp_path)
    assert warning == "" and cal.source == str(tmp_path / CALIBRATION_FILE)
    # a calibration fitted before the gate's measures changed is used, and asks to be refitted
    path = tmp_path / CALIBRATION_FILE
    raw = json.loads(path.read_text())
    assert raw["measures"] == 2
    del raw["measures"]  # as written before 2026-12-06
    path.write_text(json.dumps(raw))
    cal, warning = find_calibration("some-other-model-0123456789", tmp_path)
    assert cal.source == str(path) and cal.measures == 1
    assert "fitted before its measures changed: re-calibrate" in warning
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    assert shipped is not None and find_calibration(shipped.embed_model, None)[1] == ""


def one_passage(text: str, name: str = "leaflet.pdf", *, ocr: bool = False) -> Hit:
    """``text`` as the one passage of a search hit."""
    return Hit(
        chunk_id="c1",
        doc_id="d",
        doc_name=name,
        text=text,
        page_start=1,
        page_end=1,
        section=(),
        score=1.0,
        ocr=ocr,
    )


def test_misread_chinese_from_a_scan_is_never_quoted():
    read = "透析前請勿進食過多高鉀水果。手術後請保持傷口乾燥，紗布至少包紮二十四小時。"
    misread_too = (
        read + "透忻莉請匆進良過多高鉀水杲。"
    )  # what a poor scan gives for the first sentence

    scanned = [s.text for s in evidence_sentences([one_passage(misread_too, ocr=True)])]
    assert scanned == [
        "透析前請勿進食過多高鉀水果。",
        "手術後請保持傷口乾燥，紗布至少包紮二十四小時。",
    ]
    # a text layer is what the document says: quoted whatever it reads like
    assert len(evidence_sentences([one_passage(misread_too)])) == 3
    assert not misread("Keep the wound dry.") and not misread("高血鉀症")  # too short to tell
    # characters standing alone between punctuation or abbreviations are words as written
    assert not misread("「鉀」「磷」「鈉」「鈣」「鎂」要限制。")
    assert not misread("K、P、Na、Ca 過高或過低都要注意。")


def test_document_meta_text_is_never_quotable():
    text = sample_document().read_text(encoding="utf-8")
    quotable = [s.text for s in evidence_sentences([one_passage(text, "ckd-primer.md")])]
    assert not any(
        "written for the KidneyTalk project" in s or "clinical guideline" in s for s in quotable
    )
    assert any("Metformin dose should be reviewed" in s for s in quotable)
    for meta in (
        "This leaflet was prepared by the renal unit of St Elsewhere.",
        "This article is distributed under the terms of the Creative Commons Attribution License.",
        "It is not intended as a substitute for professional medical advice.",
        "© 2025 American Heart Association, Inc. All rights reserved.",
        # bibliographic references, as leaflets and journals print them
        "王鈞渝、孫嘉慧、賴昭弟(2022)．創新產品：安心保腎袋．福祉科技與服務管理學刊，10(4)，336-347。",
        "DOI： 10.6340/KD.2016.28(4).01",
        "Smith J, Jones K. Iron in CKD. J Am Soc Nephrol 2010;21(3):123-9.",
        "參考資料",
        "衛生福利部國民健康署（2019）．慢性腎臟病防治手冊．",
    ):
        assert is_meta_text(meta), meta
    for statement in (
        "Metformin should be stopped when the eGFR falls below 30 mL/min/1.73 m².",
        "The hazard ratio was 1.05 (0.97-1.13) after adjustment for age (model 2).",
        "Participants were followed from 1988 (baseline) to 2010 (n = 1,800).",
        "Mean age was 62 (12), 45–80 years.",  # statistics, not volume(issue), pages
        "Calcium 9 (2), 8-10 mg/dL is normal.",
        "美國心臟學會(2017)．新指引將高血壓定義為130/80 mmHg以上。",  # a source cited in a statement
    ):
        assert not is_meta_text(statement), statement


# ---------------------------------------------------------------- real library, every mode
@pytest.mark.model
def test_off_topic_question_is_refused_in_every_mode(small_library: Path, capsys):
    for mode in ("naive", "hybrid", "addrep"):
        answer = ask_json(small_library, capsys, OFF_TOPIC, "--mode", mode)
        assert answer["refused"] is True, mode
        assert answer["answer"] == "The library does not contain the answer to this question."
        assert answer["citations"] == [] and answer["chunks"] == []
        gate = answer["gate"]
        assert gate["answerable"] is False and gate["probability"] < gate["threshold"]
        assert {"margin", "lexical", "cosine"} <= set(gate["features"])
        assert gate["warning"] == ""
        assert any(step["stage"] == "gate" for step in answer["trace"])


@pytest.mark.model
def test_in_library_question_is_answered_with_citations(small_library: Path, capsys):
    answer = ask_json(small_library, capsys, IN_LIBRARY, "--mode", "hybrid")
    assert answer["refused"] is False
    assert (
        answer["gate"]["answerable"] is True
        and answer["gate"]["probability"] >= answer["gate"]["threshold"]
    )
    assert answer["citations"] and answer["citations"][0]["source"] == "dev-digest-012.pdf"
    assert "written for" not in answer["answer"]


@pytest.mark.model
def test_the_part_the_library_does_not_cover_is_named(small_library: Path, capsys):
    answer = ask_json(small_library, capsys, f"{IN_LIBRARY} {OFF_TOPIC}", "--mode", "hybrid")
    assert answer["refused"] is False
    assert answer["gate"]["uncovered"] == [OFF_TOPIC]
    assert answer["answer"].endswith(
        "The library does not cover this part of the question: "
        "“Who won the 1998 football World Cup final”."
    )
    assert answer["citations"]
    assert all(
        "World Cup" not in s["text"] for s in answer["sentences"]
    )  # the note is not a checked claim


@pytest.mark.model
def test_calibrate_writes_the_users_calibration(small_library: Path, capsys):
    capsys.readouterr()
    assert main(["--home", str(small_library), "calibrate", "-n", "30", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    path = small_library / "config" / CALIBRATION_FILE
    assert Path(result["path"]) == path and path.exists()
    saved = json.loads(path.read_text())
    assert saved["embed_model"] == result["embed_model"] and saved["fitted_on"]["documents"] == 2
    assert saved["fitted_on"]["n_answerable"] >= 20 and saved["weights"][0] > 0
    # A library without Chinese keeps the shipped rules for Chinese questions, the topical one too.
    shipped = json.loads(DEFAULT_CALIBRATION.read_text())
    assert saved["cjk_bias"] == shipped["cjk_bias"]
    assert saved["topical_weight"] == shipped["topical_weight"]
    answer = ask_json(small_library, capsys, OFF_TOPIC, "--mode", "naive")
    assert answer["refused"] and answer["gate"]["calibration"] == str(path)


@pytest.mark.model
def test_a_changed_embedding_model_asks_to_recalibrate(home: Path, tmp_path: Path, capsys):
    """The same MiniLM weights under a changed config make another embedding model id (as a new model would)."""
    from kidneytalk.embed import bundled_embedding_model

    source = bundled_embedding_model()
    other = tmp_path / "other-minilm"
    shutil.copytree(
        source,
        other,
        ignore=lambda folder, names: ["config.json"] if Path(folder) == source else [],
        copy_function=lambda src, dst: Path(dst).symlink_to(src),
    )
    config = json.loads((source / "config.json").read_text())
    config["kidneytalk_test_variant"] = 1
    (other / "config.json").write_text(json.dumps(config))
    assert main(["--home", str(home), "settings", "set", "embedding_model", str(other)]) == 0
    assert main(["--home", str(home), "add", str(shared_pdf(12))]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "ask", OFF_TOPIC, "--mode", "naive"]) == 0
    err = capsys.readouterr().err
    assert "re-calibrate: run `kidneytalk calibrate`" in err
    assert main(["--home", str(home), "calibrate", "-n", "15"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "ask", OFF_TOPIC, "--mode", "naive"]) == 0
    assert "re-calibrate" not in capsys.readouterr().err


def test_copied_sentences_must_answer_the_question(embedder):
    """On the sample primer: the metformin sentence answers, the CKD definition beside it does not."""
    import threading

    from kidneytalk.copypaste import Writer
    from kidneytalk.trace import Trace

    text = sample_document().read_text(encoding="utf-8")
    hit = Hit(
        chunk_id="c1",
        doc_id="d",
        doc_name="ckd-primer.md",
        text=text,
        page_start=1,
        page_end=1,
        section=(),
        score=1.0,
    )
    writer = Writer(
        None,
        None,
        max_tokens=64,
        temperature=0.0,
        refusal="",
        trace=Trace(),  # type: ignore[arg-type]
        cancel=threading.Event(),
        rank=lambda qs, ts: (embedder.embed(qs) @ embedder.embed(ts).T).tolist(),
    )
    question = "When should metformin be stopped in chronic kidney disease?"
    listed = writer.listed_sentences(question, [hit])
    by_text = {s.text[:30]: s for s in listed}
    metformin = by_text["Metformin dose should be revie"]
    definition = by_text["Chronic kidney disease (CKD) i"]
    kept = writer.keep_relevant(question, [definition, metformin], listed)
    assert kept == [metformin]  # the definition is dropped, the direct answer comes first
    step = writer.trace.steps[-1]
    assert step.stage == "relevance" and [c["kept"] for c in step.outputs["chosen"]] == [
        False,
        True,
    ]


def test_a_chinese_question_keeps_the_sentences_with_what_it_asks_not_its_everyday_characters():
    """The bundled embedder cannot read Chinese: sentences are compared by the question's
    characters, each weighing how specific it (or the question's word it lies in, 抽血) is, so
    that 可以 ("may") or 的 share nothing, and how rare it is among the sentences."""
    import threading

    from kidneytalk.copypaste import EvidenceSentence, Writer, focus_stems, word_share
    from kidneytalk.trace import Trace

    question = "有做瘻管的那隻手可以量血壓或抽血嗎？"
    answer = "瘻管手術後，該側手臂不可量血壓或抽血。"
    others = ["多吃蔬菜水果可以補充鉀離子。", "抗凝血藥物在檢查前需停用兩天。"]
    [shares] = word_share([question], [answer, *others])
    assert shares[0] == 1.0 and shares[1] == 0.0 and 0 < shares[2] < 0.2  # 血 alone, of 抽血
    # its focus is a character only the answer has, never 可 of 可以 (the rarest before)
    assert focus_stems(question, [answer, *others]) <= set(answer) - set("可以")
    # a sentence sharing only everyday characters is not close, even when none is closer
    assert word_share(["腎臟切片後多久可以吃東西？"], ["可以多喝水。", "腎臟切片後要平躺。"]) == [
        [0.0, 1.0]
    ]
    # a question in Simplified meets a leaflet in Traditional
    assert word_share(["肾脏切片后要平躺吗？"], ["腎臟切片後要平躺。"]) == [[1.0]]
    writer = Writer(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        max_tokens=64,
        temperature=0.0,
        refusal="",
        trace=Trace(),  # type: ignore[arg-type]
        cancel=threading.Event(),
        rank=word_share,
    )
    listed = [EvidenceSentence(f"S{i}", 1, t) for i, t in enumerate([*others, answer], 1)]
    assert [s.text for s in writer.keep_relevant(question, listed, listed)] == [answer]


def test_refusal_table_counts_off_library_questions_right_only_when_refused():
    from kidneytalk.evaluation.metrics import summarize

    recs = [
        {
            "id": "in1",
            "mode": "hybrid",
            "answer": ["A"],
            "tags": [],
            "has_gold": True,
            "refused": False,
            "gold_rank": 1,
        },
        {
            "id": "in2",
            "mode": "hybrid",
            "answer": ["A"],
            "tags": [],
            "has_gold": True,
            "refused": True,
        },
        {
            "id": "off1",
            "mode": "hybrid",
            "answer": ["A"],
            "tags": ["off-library"],
            "has_gold": False,
            "refused": True,
        },
        {
            "id": "off2",
            "mode": "hybrid",
            "answer": ["A"],
            "tags": [],
            "has_gold": False,
            "refused": False,
        },
    ]
    table = summarize(recs)["per_mode"]["hybrid"]["refusal"]
    assert table["correct_refusal_rate"] == 0.5 and table["false_refusal_rate"] == 0.5
    assert (table["off_library"], table["in_library"], table["answered_hit_rate"]) == (2, 2, 1.0)


def test_retrieval_only_evaluation_runs_the_gate(engine, tmp_path: Path):
    from kidneytalk.evaluation.runner import load_results, run_eval

    engine.add([shared_pdf(12)])
    rows = [
        {
            "id": "in",
            "question": IN_LIBRARY,
            "options": {"A": "yes", "B": "no"},
            "answer": "A",
            "gold_source": "dev-digest-012.pdf",
            "gold_pages": [3, 4],
        },
        {
            "id": "off",
            "question": OFF_TOPIC,
            "options": {"A": "France", "B": "Brazil"},
            "answer": "A",
            "gold_source": None,
            "tags": ["off-library"],
        },
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    summary = run_eval(
        engine, qfile, modes=("hybrid",), retrieval_only=True, out_dir=tmp_path / "out"
    )
    recs = {r["id"]: r for r in load_results(tmp_path / "out")}
    assert (
        recs["off"]["refused"]
        and recs["off"]["gate"]["answerable"] is False
        and recs["off"]["evidence"] == []
    )
    assert not recs["in"]["refused"] and recs["in"]["gold_rank"] == 1
    table = summary.per_mode["hybrid"]["refusal"]
    assert (table["off_library_refused"], table["in_library_refused"]) == (1, 0)
    assert "Refusals" in (tmp_path / "out" / "report.md").read_text()

    # a refitted gate refuses differently: its run does not continue the old one's records
    from dataclasses import replace

    from kidneytalk.errors import KidneyTalkError

    engine.gate._calibration = replace(
        engine.gate.calibration, bias=engine.gate.calibration.bias + 1
    )
    with pytest.raises(KidneyTalkError, match="changed: gate"):
        run_eval(engine, qfile, modes=("hybrid",), retrieval_only=True, out_dir=tmp_path / "out")


def test_the_rule_on_bridged_words_answers_nothing_the_fit_refused(tmp_path: Path):
    rows = [
        {"margin": m, "lexical": lx, "soft": 0.2 + lx / 2}
        for m, lx in [(0.5, 0.9), (0.4, 0.8), (0.0, 0.1), (0.05, 0.3)]
    ]
    positives = [0.3, 1.5, 2.0, 2.5, 3.0]
    negatives = [0.0, 0.0, 0.2, 0.4, 1.1]  # one off-topic question with much bridged evidence
    cal = fit(
        rows,
        [1, 1, 0, 0],
        embed_model="test-model",
        cross_rows=[{"bridged": b} for b in positives + negatives],
        cross_labels=[1] * len(positives) + [0] * len(negatives),
    )
    assert cal.cross_weight is not None and cal.cross_weight > 0
    base = {"margin": -0.1, "lexical": 0.1, "soft": 0.25, "cjk": 0.0}
    p = {b: cal.probability({**base, "bridged": b}) for b in (0.0, 1.1, 1.2, 2.0)}
    assert p[1.1] < cal.threshold <= p[1.2] < p[2.0]  # raised above the highest negative
    assert p[0.0] == cal.probability(base)  # no bridged evidence: the other rules decide
    cal.save(tmp_path / "c.json")
    loaded = Calibration.load(tmp_path / "c.json")
    assert loaded is not None and (loaded.cross_weight, loaded.cross_bias) == (
        round(cal.cross_weight, 6),
        round(cal.cross_bias, 6),
    )
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    assert shipped is not None and shipped.cross_weight is not None


def test_questions_in_the_evidence_are_never_quoted_as_answers():
    """The AHA leaflet's heading "What should my blood pressure be?" came first in an answer about
    hypertensive crisis: a question asks, it does not answer."""
    english = (
        "What should my blood pressure be? Normal blood pressure is below 120/80 mm Hg for adults. "
        "Is it dangerous? A reading higher than 180/120 mm Hg is a hypertensive crisis that needs care at once."
    )
    chinese = "什麼是高血鉀？血液中鉀離子濃度大於5.5meq/L，就稱為高血鉀。"
    hits = [
        Hit("c1", "d", "aha.pdf", english, 1, 1, (), 1.0),
        Hit("c2", "e", "eda.pdf", chinese, 1, 1, (), 1.0),
    ]
    quoted = [s.text for s in evidence_sentences(hits)]
    assert quoted == [
        "Normal blood pressure is below 120/80 mm Hg for adults.",
        "A reading higher than 180/120 mm Hg is a hypertensive crisis that needs care at once.",
        "血液中鉀離子濃度大於5.5meq/L，就稱為高血鉀。",
    ], quoted
    # a statement just before a Chinese question is its own sentence, and kept
    joined = Hit(
        "c3",
        "d",
        "x.pdf",
        "Dialysis is needed at an eGFR of 5.5 or less. 什麼是高血鉀？",
        1,
        1,
        (),
        1.0,
    )
    assert len(evidence_sentences([joined])) == 1


def test_a_joined_word_is_found_where_its_parts_stand_in_a_row():
    texts = ["Keywords: Humans; Mass Casualty Incidents; Triage", "casualty lists of a mass"]
    assert found_terms(["mass-casualty", "triage", "surge"], texts) == {"mass-casualty", "triage"}
    # as the index matches it: the parts in a row, not anywhere in the passages
    assert found_terms(["mass-casualty"], ["mass screening", "one casualty"]) == set()
    assert found_terms(["t-cell", "1.5"], ["T cell counts fell by 1.5 mg"]) == {"t-cell", "1.5"}
    assert found_terms(["mg/dl"], ["血鉀 5.5 mg-dl以上"]) == {"mg/dl"}  # beside CJK too


def test_the_gate_counts_a_hyphenated_question_word_its_passage_spells_apart(
    engine, tmp_path: Path
):
    doc = tmp_path / "triage.md"
    doc.write_text(
        "# Hospital triage\n\nDuring mass casualty incidents the emergency department opens a "
        "second triage area at the main entrance, and arriving victims are sorted by urgency.\n",
        encoding="utf-8",
    )
    engine.add([doc])
    features, _, missing = engine.gate.measure(
        "How are mass-casualty victims sorted at the entrance?"
    )
    assert "mass-casualty" not in missing
    assert missing == []
    assert features["lexical"] == pytest.approx(1.0)


def test_the_gate_measures_a_paraphrase_by_its_meaning_not_only_its_words(engine, tmp_path: Path):
    """``soft``: the question's content words matched in meaning by the embedder's token vectors.
    "oral intake" and "abdominal operation" are not the passage's words, but close to them."""
    doc = tmp_path / "recovery.md"
    doc.write_text(
        "# Recovery after surgery\n\nPatients resumed feeding on the first day after laparoscopic "
        "surgery, and most tolerated a normal diet by the second day.\n\n# Wound care\n\nThe "
        "dressing is changed every two days and the stitches are removed after ten days.\n\n"
        "# Pain\n\nPain was treated with paracetamol and, when needed, a short course of opioids.\n",
        encoding="utf-8",
    )
    engine.add([doc])
    measure = {
        name: engine.gate.measure(q)[0]
        for name, q in {
            "words": "When do patients resume feeding after laparoscopic surgery?",
            "paraphrase": "Can oral intake start soon after an abdominal operation?",
            "offtopic": OFF_TOPIC,
        }.items()
    }
    assert measure["paraphrase"]["lexical"] < 0.1  # its words are hardly there ...
    assert (
        measure["paraphrase"]["soft"] > measure["offtopic"]["soft"] + 0.25
    )  # ... their meaning is
    assert measure["words"]["soft"] > measure["paraphrase"]["soft"]
    assert engine.gate.measure("腎臟切片後多久可以吃東西？")[0]["soft"] == 0.0  # read by its words
    decision = engine.gate.decide("Can oral intake start soon after an abdominal operation?")
    assert "in meaning" in decision.reason


def test_soft_weighs_the_words_of_a_one_passage_library(embedder, tmp_path: Path):
    """A token every passage holds still weighs (BM25's idf): in a library of one short leaflet,
    a question in its words matches it closely, it is not scored on its missing words alone."""
    from kidneytalk.engine import Engine

    doc = tmp_path / "leaflet.md"
    doc.write_text(
        "Patients resume feeding on the first day after laparoscopic surgery.\n", encoding="utf-8"
    )
    with Engine(tmp_path / "one", embedder=embedder) as engine:
        engine.add([doc])
        features = engine.gate.measure(
            "When do patients resume feeding after laparoscopic surgery?"
        )
    assert features[0]["soft"] > 0.8, features[0]


def test_a_calibration_from_before_the_soft_feature_still_decides(tmp_path: Path):
    """A user's calibration of the margin and the lexical share (before ``soft``) is used as it
    is; one whose weights do not match its features is not read."""
    assert (*LEGACY_FEATURES, "soft") == FEATURES
    old = Calibration("some-model-0123456789", (9.0, 4.0), -5.5, features=LEGACY_FEATURES)
    old.save(tmp_path / CALIBRATION_FILE)
    cal, warning = find_calibration("some-model-0123456789", tmp_path)
    assert warning == "" and cal.features == LEGACY_FEATURES
    row = {"margin": 0.5, "lexical": 0.9, "soft": 0.0, "cjk": 0.0}
    assert cal.probability(row) == pytest.approx(old.probability(row))
    assert cal.probability(row) > 0.5
    with pytest.raises(ValueError, match="one weight per feature"):
        Calibration("some-model-0123456789", (9.0, 4.0), -5.5)
    broken = json.loads((tmp_path / CALIBRATION_FILE).read_text())
    broken["weights"].append(1.0)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps(broken))
    assert find_calibration("some-model-0123456789", tmp_path)[0].source == "fallback"


def test_a_follow_up_is_read_with_the_question_before_it_but_needs_its_own_words_covered(engine):
    # Alone, "How many were placed in the esophagus?" names no topic the library covers; after
    # the helicopter question it asks about that study. An off-library follow-up is not let
    # through by the covered question before it.
    engine.add([shared_pdf(12), shared_pdf(15)])
    history = [
        {"role": "user", "content": IN_LIBRARY},
        {"role": "assistant", "content": "Yes: in-flight intubation took longer [1]."},
    ]
    follow_up = "How many were placed in the esophagus?"
    assert not engine.gate.decide(follow_up).answerable
    for mode in ("naive", "hybrid"):
        evidence = engine.retrieve(follow_up, history=history, mode=mode)
        gate = evidence.gate
        assert gate is not None and gate.answerable and gate.context == IN_LIBRARY, mode
        assert "read with the conversation's questions before it" in gate.reason
        assert evidence.query == f"{IN_LIBRARY} {follow_up}"  # searched with it too
        assert evidence.passages and evidence.passages[0].doc_name == "dev-digest-012.pdf"

        for off in ("What is the capital of Mongolia?", OFF_TOPIC):
            evidence = engine.retrieve(off, history=history, mode=mode)
            assert evidence.gate is not None and not evidence.gate.answerable, (mode, off)
            assert evidence.passages == ()

    # a follow-up in two parts is read part by part: the part not covered is named
    both = "How long did the nurses take on the stretcher, and who won the 1998 football World Cup final?"
    assert not engine.gate.decide(both).answerable
    decision = engine.gate.decide_follow_up(both, IN_LIBRARY)
    assert decision.answerable and decision.context == IN_LIBRARY
    assert decision.uncovered == ["who won the 1998 football World Cup final?"]
    # a follow-up of a follow-up keeps the topic: read with the two questions before it
    chained = [
        *history,
        {"role": "user", "content": follow_up},
        {"role": "assistant", "content": "Two."},
    ]
    evidence = engine.retrieve("Why?", history=chained, mode="naive")
    assert evidence.gate is not None and evidence.gate.answerable
    assert evidence.gate.context == f"{IN_LIBRARY} {follow_up}"
    # "Why?" has no words of its own, in English or Chinese: it asks the earlier question again
    for why in ("Why?", "為什麼？"):
        decision = engine.gate.decide_follow_up(why, IN_LIBRARY)
        assert decision.answerable and decision.context == IN_LIBRARY, why
    # without the gate, a short follow-up is searched with the question before it
    from dataclasses import replace

    off = replace(engine.settings.retrieval, gate=False)
    evidence = engine.retrieve(follow_up, history=history, mode="hybrid", retrieval=off)
    assert evidence.gate is None and evidence.query == f"{IN_LIBRARY} {follow_up}"
    # a follow-up covered alone is searched alone
    evidence = engine.retrieve(IN_LIBRARY, history=history, mode="naive")
    assert (
        evidence.gate is not None and evidence.gate.context == "" and evidence.query == IN_LIBRARY
    )
