"""AddRep never ranks below its base search (issue 16).

A real library (a PDF generated with pymupdf, the bundled MiniLM embedder,
chromadb, BM25) and a scripted language model with the ``LocalLLM``
interface: the real 135M model writes whatever divergent questions it likes,
so it could not be made to point at a chosen passage. The script writes one
divergent question that matches another passage word for word, and a judge
that loves that passage and is unsure of the exact match — the situation in
which the old merge (best similarity to *any* query) put the divergent
passage first and ``max_evidence`` cut the exact match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import pymupdf
import pytest

from kidneytalk.config import RetrievalSettings
from kidneytalk.engine import Engine
from kidneytalk.records import Hit
from kidneytalk.retrieval import addrep, assemble, hybrid
from kidneytalk.trace import Trace

QUESTION = (
    "What is the starting dose of tolvaptan for autosomal dominant polycystic kidney disease?"
)
EXACT = (
    "Tolvaptan dosing. The starting dose of tolvaptan for autosomal dominant polycystic kidney disease "
    "is 45 mg on waking and 15 mg eight hours later, titrated every week as tolerated."
)
DIVERGENT = (
    "How often must liver enzymes be checked in patients who take a vasopressin antagonist "
    "because of the risk of drug-induced liver injury?"
)
ELSEWHERE = (
    "Liver safety. Liver enzymes must be checked in patients who take a vasopressin antagonist "
    "because of the risk of drug-induced liver injury: monthly for 18 months, then every 3 months."
)
FILLER = (
    "Peritoneal dialysis. Peritonitis in peritoneal dialysis is diagnosed from cloudy effluent, abdominal pain "
    "and a raised effluent white cell count.",
    "Kidney biopsy aftercare. After a kidney biopsy the patient lies flat for several hours and the urine is "
    "watched for blood.",
    "Anaemia. Anaemia of chronic kidney disease is treated with an erythropoiesis-stimulating agent after iron "
    "deficiency has been corrected.",
    "Blood pressure. A systolic target below 120 mmHg is suggested for adults with chronic kidney disease when "
    "tolerated.",
)


class ScriptedLLM:
    """The part of ``LocalLLM`` AddRep uses, answering from a script instead of a model."""

    name = "scripted"

    def __init__(self, divergent: Sequence[str], p_yes: dict[str, float]):
        self.divergent = list(divergent)
        self.p_yes = p_yes  # passage marker -> P(yes); the content-free passage gets 0.5
        self.judged: list[str] = []

    def complete(self, messages: Sequence[dict[str, str]], **kwargs: object) -> str:
        return "\n".join(f"{i}. {q}" for i, q in enumerate(self.divergent, start=1))

    def yes_probability(
        self, messages: Sequence[dict[str, str]], *, answer_prefix: str = ""
    ) -> float:
        text = messages[-1]["content"]
        for marker, p in self.p_yes.items():
            if marker in text:
                self.judged.append(marker)
                return p
        return 0.5

    def truncate(self, text: str, max_tokens: int) -> str:
        return text

    def format_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        return "\n".join(m["content"] for m in messages)

    def continue_prompt(self, prompt: str, **kwargs: object) -> str:
        return " it names the dose"


def write_pdf(path: Path) -> Path:
    """One topic per page, so each passage is its own chunk on its own page."""
    doc = pymupdf.open()
    for text in (EXACT, ELSEWHERE, *FILLER):
        page = doc.new_page(width=595, height=842)
        heading, _, body = text.partition(". ")
        page.insert_text((56, 80), heading, fontsize=16, fontname="hebo")
        page.insert_textbox(pymupdf.Rect(56, 110, 539, 400), body, fontsize=11, fontname="helv")
    doc.save(path)
    doc.close()
    return path


@pytest.fixture(scope="module")
def lib(tmp_path_factory, embedder) -> Iterator[Engine]:
    tmp = tmp_path_factory.mktemp("addrep-ranking")
    eng = Engine(tmp / "home", embedder=embedder)
    [added] = eng.add([write_pdf(tmp / "adpkd.pdf")])
    assert added.status == "added", added.message
    yield eng
    eng.close()


def settings(**changes: object) -> RetrievalSettings:
    base = RetrievalSettings(
        k_first=2, n_divergent=1, k_divergent=1, max_evidence=1, judge_reasons="none"
    )
    return dataclasses.replace(base, **changes)


def page_of(hit: Hit) -> int:
    return hit.page_start


def test_a_divergent_passage_cannot_push_the_exact_match_out_of_the_evidence(lib: Engine):
    first = hybrid.search(lib.library, QUESTION, 2)
    found = hybrid.search(lib.library, DIVERGENT, 1)
    # The set-up the old merge got wrong: the divergent question finds page 2 closer than
    # the user's question finds its exact match on page 1, and the judge prefers page 2.
    assert page_of(first[0]) == 1 and page_of(found[0]) == 2
    assert 2 not in {page_of(h) for h in first}
    assert found[0].score > first[0].score
    book = lib.prompt_book(QUESTION)

    def ask(**changes: object) -> tuple[list[Hit], Trace, ScriptedLLM]:
        llm = ScriptedLLM([DIVERGENT], {"45 mg on waking": 0.2, "monthly for 18 months": 0.99})
        trace = Trace()
        _, evidence = addrep.run(
            lib.library, llm, book, settings(k_first=1, **changes), QUESTION, trace=trace
        )
        return evidence, trace, llm

    # Room for one more passage: the divergent find is added after the exact match.
    evidence, trace, llm = ask(max_evidence=2)
    assert [page_of(h) for h in evidence] == [1, 2]
    assert evidence[1].chunk_id == found[0].chunk_id and evidence[1].relevance == pytest.approx(
        0.99
    )
    assert llm.judged == ["monthly for 18 months"]  # the first search's hit needs no verdict
    merge = next(s for s in trace.steps if s.stage == "merge")
    assert (merge.outputs["base"], merge.outputs["added"]) == (1, 1)
    after = addrep.stage_ids(trace)  # what the per-stage reports count
    assert found[0].chunk_id not in after["search"] and found[0].chunk_id in after["divergent"]
    assert after["assemble"] == [evidence[0].chunk_id, found[0].chunk_id]

    # No room: the exact match stays, whatever the judge thinks of either passage.
    evidence, trace, _ = ask(max_evidence=1)
    assert [page_of(h) for h in evidence] == [1]
    assert next(
        s for s in trace.steps if s.stage == "divergent"
    ).skipped  # it could not have changed anything
    # Even when the first hit is judged and divergent questions run anyway (trust_base off).
    evidence, trace, llm = ask(max_evidence=1, trust_base=False)
    assert [page_of(h) for h in evidence] == [1]
    assert addrep.stage_ids(trace)["merge"][-1] == found[0].chunk_id
    assert llm.judged == ["45 mg on waking"]


def test_divergent_passages_come_after_every_base_hit_scored_against_the_users_question(
    lib: Engine,
):
    llm = ScriptedLLM([DIVERGENT], {"45 mg on waking": 0.2, "monthly for 18 months": 0.99})
    s = settings(max_evidence=6, min_similarity=0.0)
    trace = Trace()
    _, evidence = addrep.run(lib.library, llm, lib.prompt_book(QUESTION), s, QUESTION, trace=trace)

    first = [
        cid for cid, _ in next(st for st in trace.steps if st.stage == "search").outputs["hits"]
    ]
    assert [h.chunk_id for h in evidence[: len(first)]] == first  # base order untouched
    extra = evidence[len(first) :]
    assert [page_of(h) for h in extra] == [2]
    own_score = hybrid.search(lib.library, DIVERGENT, 1)[0].score
    to_question = addrep.similarities(lib.library, QUESTION, [extra[0].chunk_id])[extra[0].chunk_id]
    assert extra[0].score == pytest.approx(to_question) and extra[0].score < own_score
    assert extra[0].queries == [DIVERGENT]
    assert evidence[0].queries[0] == QUESTION


def test_the_judge_removes_a_base_hit_only_when_it_is_sure(lib: Engine):
    book = lib.prompt_book(QUESTION)
    sure = ScriptedLLM([], {"45 mg on waking": 0.01})
    _, kept = addrep.run(lib.library, sure, book, settings(divergent=False), QUESTION)
    assert [page_of(h) for h in kept] == [
        1
    ] and sure.judged == []  # trusted: kept as hybrid keeps it
    assert kept[0].relevance is None and "first search" in kept[0].reason

    # trust_base off: the best first hit survives an unsure judge, not a sure one.
    unsure = ScriptedLLM([], {"45 mg on waking": 0.15})
    _, kept = addrep.run(
        lib.library, unsure, book, settings(divergent=False, trust_base=False), QUESTION
    )
    assert [page_of(h) for h in kept] == [1]
    assert kept[0].relevance == pytest.approx(0.15) and "unsure" in kept[0].reason
    _, kept = addrep.run(
        lib.library,
        sure,
        book,
        settings(divergent=False, trust_base=False, max_evidence=2),
        QUESTION,
    )
    assert 1 not in [page_of(h) for h in kept]


def test_divergent_passages_are_not_judged_when_the_evidence_is_full(lib: Engine):
    llm = ScriptedLLM([DIVERGENT], {"45 mg on waking": 0.9, "monthly for 18 months": 0.99})
    trace = Trace()
    addrep.run(
        lib.library,
        llm,
        lib.prompt_book(QUESTION),
        settings(k_first=1, trust_base=False),
        QUESTION,
        trace=trace,
    )
    judge = next(s for s in trace.steps if s.stage == "judge")
    assert llm.judged == ["45 mg on waking"]
    assert judge.outputs["not_judged"] == 1


def hit(cid: str, score: float) -> Hit:
    return Hit(
        chunk_id=cid,
        doc_id="d",
        doc_name="d.pdf",
        text=cid,
        page_start=1,
        page_end=1,
        section=(),
        score=score,
    )


def test_merge_returns_new_records_and_rescores_divergent_finds():
    first = [hit("a", 0.5), hit("b", 0.7)]  # hybrid order: a before b, though b is closer by cosine
    found = [("q2", [hit("c", 0.95), hit("a", 0.9)]), ("q3", [hit("d", 0.8)])]
    merged = addrep.merge(first, found, {"c": 0.4, "d": 0.6}, 0.3, query="q1")

    assert [h.chunk_id for h in merged.all] == ["a", "b", "d", "c"]
    assert [h.score for h in merged.all] == [0.5, 0.7, 0.6, 0.4]
    assert merged.all[0].queries == ["q1", "q2"] and merged.all[3].queries == ["q2"]
    assert (
        first[0].score == 0.5 and first[0].queries == [] and found[0][1][0].score == 0.95
    )  # inputs untouched
    assert (
        addrep.merge(first, found, {"c": 0.4, "d": 0.6}, 0.55).below_threshold == 2
    )  # a (base) and c (divergent)


def test_assembly_fills_the_evidence_with_base_hits_first():
    base, extra = [hit("a", 0.3), hit("b", 0.6)], [hit("c", 0.9)]
    assert [h.chunk_id for h in assemble.order(base, 2, extra=extra)] == ["a", "b"]
    assert [h.chunk_id for h in assemble.order(base, 3, extra=extra)] == ["a", "b", "c"]


def test_the_evaluation_report_counts_gold_passages_per_stage():
    from kidneytalk.evaluation.metrics import summarize
    from kidneytalk.evaluation.report import _tables

    def rec(i: int, stages: dict[str, int]) -> dict[str, object]:
        return {
            "id": f"q{i}",
            "mode": "addrep",
            "answer": ["A"],
            "has_gold": True,
            "gold_rank": 1,
            "source_rank": 1,
            "evidence": ["c"],
            "latency": 1.0,
            "stage_gold": stages,
        }

    records = [
        rec(0, {"search": 1, "divergent": 2, "merge": 2, "judge": 1, "assemble": 1}),
        rec(1, {"search": 0, "divergent": 1, "merge": 1, "judge": 1, "assemble": 0}),
    ]
    s = summarize(records)
    stages = s["per_mode"]["addrep"]["stage_gold"]
    assert stages["search"] == {"questions_with_gold": 1, "added": 1, "removed": 0}
    assert stages["divergent"] == {"questions_with_gold": 2, "added": 2, "removed": 0}
    assert stages["judge"]["removed"] == 1 and stages["assemble"] == {
        "questions_with_gold": 1,
        "added": 0,
        "removed": 1,
    }
    [table] = [t for t in _tables(s) if t[0] == "addrep: gold passages per stage"]
    assert table[2][0] == ["search", "1", "1", "0"]
