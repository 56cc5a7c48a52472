"""Documents a question names ("the AHA fact sheet"): found by their file names and titles."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from kidneytalk.retrieval import hybrid
from kidneytalk.retrieval.sources import named_documents, without_kind_words, without_names

LIBRARY = {
    "aha": ("en_booklet_AHA_high-blood-pressure.pdf", "What is High Blood Pressure?"),
    "kdigo-p": ("KDIGO2024-CKD_pediatricians.pdf", "Key Takeaways Pediatricians"),
    "kdigo-n": ("KDIGO2024-CKD_nephrologists-evaluation.pdf", "Key Takeaways Nephrologists"),
    "eda": ("zh-TW_leaflet_EDA_kidney-biopsy-aftercare.pdf", ""),
    "dialysis": ("HA-1-0077(1)血液透析.pdf", "血液透析衛教單"),
}


def test_a_question_naming_a_document_finds_it_by_name_and_title():
    assert named_documents(
        "What sodium limit does the AHA high blood pressure fact sheet give?", LIBRARY
    ) == ["aha"]
    assert named_documents(
        "Per the KDIGO 2024 pediatric takeaways, when should transition start?", LIBRARY
    ) == ["kdigo-p"]  # "pediatric" meets "pediatricians" as a prefix
    assert named_documents("In the E-DA kidney biopsy leaflet, how long is bed rest?", LIBRARY) == [
        "eda"
    ]  # "E-DA" meets "EDA"
    assert named_documents("血液透析衛教單說瘻管何時可以使用？", LIBRARY) == ["dialysis"]


def test_one_word_or_words_every_name_shares_name_nothing():
    assert named_documents("What does KDIGO say about potassium?", LIBRARY) == []
    assert named_documents("What sodium limit does the AHA fact sheet give?", LIBRARY) == []
    assert named_documents("Which takeaways does KDIGO give?", LIBRARY) == ["kdigo-p", "kdigo-n"]
    digests = {
        f"d{i}": (f"dev-digest-00{i}.pdf", f"Abstracts Digest - Volume {i}") for i in range(4)
    }
    assert named_documents("Which abstracts in the digest volume discuss sepsis?", digests) == []
    assert named_documents("What is the capital of Australia?", LIBRARY) == []
    assert named_documents("AHA blood pressure", {"aha": LIBRARY["aha"]}) == []  # one document
    # one Chinese word is one word, though it holds two overlapping bigrams (腎臟, 臟病)
    leaflets = {"ckd": ("腎臟病衛教.pdf", ""), "hd": ("血液透析.pdf", ""), "x": ("飲食.pdf", "")}
    assert named_documents("腎臟病要注意什麼？", leaflets) == []
    # at most three documents are named, however many titles share the question's words
    many = {f"d{i}": (f"chronic-kidney-disease-diet-leaflet-{i}.pdf", "") for i in range(8)}
    many.update({f"o{i}": (f"other-{i}.pdf", "") for i in range(10)})
    assert len(named_documents("What does the chronic kidney disease diet leaflet say?", many)) == 3


def test_british_spelling_meets_american_in_names():
    library = {
        "a": ("hemodialysis-leaflet.pdf", ""),
        "b": ("anemia-guideline.pdf", ""),
        "c": ("thyroid.pdf", ""),
    }
    assert named_documents("What does the haemodialysis leaflet say?", library) == ["a"]


def test_sentences_are_ranked_by_the_question_less_the_words_naming_a_document():
    assert (
        without_names(
            "What sodium intake does the AHA high blood pressure fact sheet suggest?", LIBRARY
        )
        == "What sodium intake does the fact sheet suggest"
    )
    assert without_names(
        "Per the E-DA kidney biopsy leaflet, how long must patients rest in bed?", LIBRARY
    ) == ("Per the how long must patients rest in bed")
    # unchanged: no document named, or too little would be left
    plain = "What sodium intake is advised in CKD?"
    assert without_names(plain, LIBRARY) == plain
    short = "Summarise the AHA high blood pressure booklet."
    assert without_names(short, LIBRARY) == short


def test_words_for_a_kind_of_document_ask_for_no_content():
    assert without_kind_words("What does the fact sheet say about sodium?") == (
        "What does the   say about sodium?"
    )
    assert without_kind_words("Per the E-DA Leaflets, how long is bed rest?") == (
        "Per the E-DA  , how long is bed rest?"
    )
    # 卫教单 ("the education leaflet") goes; its characters no longer make 单列 with 列为
    assert without_kind_words("下列哪一项被卫教单列为低血钾的原因？") == (
        "下列哪一项被 列为低血钾的原因？"
    )
    for kept in ("Where is the leaflet?", "What is a handout?", "The tables of the review?"):
        assert without_kind_words(kept) == kept  # nothing else asked, or no such word
    assert (
        without_kind_words("Is a booklet-style menu allowed?") != "Is a booklet-style menu allowed?"
    )


def _pdf(path: Path, pages: list[str]) -> Path:
    doc = pymupdf.open()
    for text in pages:
        doc.new_page().insert_textbox(pymupdf.Rect(72, 72, 520, 700), text, fontsize=12)
    doc.save(path)
    return path


def test_the_named_document_answers_before_a_closer_passage_of_another(engine, tmp_path: Path):
    """Two real documents on salt; the question names the fact sheet, whose page says it less directly."""
    sheet = _pdf(
        tmp_path / "heart-association_blood-pressure_fact-sheet.pdf",
        [
            "Lifestyle changes help to control blood pressure.",
            "Try to consume less than 1,500 mg a day of salt, and read food labels.",
        ],
    )
    children = _pdf(
        tmp_path / "renal-unit_children-diet.pdf",
        [
            "Daily sodium intake for children with kidney disease should stay below "
            "the recommended daily intake for their age.",
            "Protein intake should not be restricted in children with kidney disease.",
        ],
    )
    engine.add([sheet, children])
    question = (
        "What daily sodium intake does the heart association fact sheet advise staying below?"
    )
    hits = hybrid.search(engine.library, question, k=4)
    assert hits[0].doc_name == sheet.name and "1,500" in hits[0].text, [h.text for h in hits]
    # The gate does not look for the naming words in the passages (a name is not in the text).
    decision = engine.gate.decide(question)
    assert decision.answerable, decision.reason
    assert not {"heart", "association", "fact", "sheet"} & set(decision.parts[0].missing_terms)
    # The trace says which document the question named.
    trace = engine.retrieve(question, mode="hybrid").trace
    search = next(s for s in trace.to_json() if s["stage"] == "search")
    assert search["outputs"]["named_documents"] == [sheet.name]
    # Control: asked without naming it, the children's page is closer.
    plain = hybrid.search(engine.library, "What daily sodium intake should one stay below?", k=4)
    assert plain[0].doc_name == children.name, [h.text for h in plain]


def test_a_named_documents_title_line_is_not_listed_as_the_answer(embedder):
    """The title line holds every word that names the document; the answer holds what is asked."""
    import threading

    from kidneytalk.copypaste import Writer
    from kidneytalk.prompts import PromptBook
    from kidneytalk.records import Hit
    from kidneytalk.trace import Trace

    title = (
        "Top 10 Takeaways for Nephrologists on Evaluation of People with or at Risk of CKD from the "
        "KDIGO 2024 Clinical Practice Guideline for the Evaluation and Management of Chronic Kidney "
        "Disease."
    )
    answer = (
        "Point-of-care tests (POCT) for creatinine (blood and saliva) and urine albumin measurement "
        "are available, and if adequately quality-assured, are accurate enough to use in CKD evaluation."
    )
    other = "Estimating GFR from creatinine and cystatin C improves accuracy of staging."
    hit = Hit("c", "kdigo-n", LIBRARY["kdigo-n"][0], f"{title} {other} {answer}", 1, 1, (), 0.5)
    question = (
        "Per the KDIGO 2024 nephrologist evaluation takeaways, point-of-care tests for creatinine "
        "are available using which sample types?"
    )

    def rank(queries: list[str], texts: list[str]) -> list[list[float]]:
        return (embedder.embed(queries) @ embedder.embed(texts).T).tolist()

    def listed(topic=None) -> list[str]:
        writer = Writer(
            None,  # type: ignore[arg-type]  # listing sentences asks no model
            PromptBook("en"),
            max_tokens=64,
            temperature=0.0,
            refusal="",
            trace=Trace(),
            cancel=threading.Event(),
            rank=rank,
            topic=topic,
        )
        return [s.text for s in writer.listed_sentences(question, [hit])]

    assert listed(lambda q: without_names(q, LIBRARY))[0] == answer
    assert listed()[0] == title  # control: ranked by the whole question, the title line leads
