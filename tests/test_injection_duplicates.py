"""Duplicates cannot crowd out the library (issue 17): copies are collapsed before evidence assembly.

The same paragraph from two editions of a guideline, or one word repeated
through a whole document, takes one result slot; the best-ranked copy stands
for the others and names them in ``also_in``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kidneytalk.engine import Engine
from kidneytalk.records import Hit
from kidneytalk.retrieval.assemble import _shingles, collapse_duplicates, diverse, order
from tests.fixtures_pdf import write_text_pdf

ALBUMINURIA = "Albuminuria is measured as the urine albumin-to-creatinine ratio"


def hit(cid: str, doc: str, text: str, page: int = 1, score: float = 0.5) -> Hit:
    return Hit(cid, doc, f"{doc}.pdf", text, page, page, (), score)


PARAGRAPH = (
    "Metformin should be reviewed when the eGFR falls below 45 and stopped below 30 mL/min/1.73 m2. "
    "Lactic acidosis is rare but serious."
)


def test_copies_collapse_into_the_best_ranked_one():
    hits = [
        hit("a:1", "edition-2019", PARAGRAPH, page=4, score=0.9),
        hit("b:1", "other", "SGLT2 inhibitors slow the decline of kidney function.", score=0.8),
        hit(
            "c:7", "edition-2023", PARAGRAPH.replace("serious", "very serious"), page=6, score=0.7
        ),  # near copy
        hit(
            "a:9", "edition-2019", PARAGRAPH, page=9, score=0.6
        ),  # boilerplate repeated in the same file
        hit(
            "d:1",
            "other",
            "Anaemia is treated after iron deficiency has been corrected.",
            score=0.5,
        ),
    ]
    kept = collapse_duplicates(hits)
    assert [h.chunk_id for h in kept] == ["a:1", "b:1", "d:1"]
    assert kept[0].also_in == ["edition-2023.pdf p.6", "edition-2019.pdf p.9"]
    assert kept[1].also_in == [] and kept[0].to_json()["also_in"] == kept[0].also_in
    # order(): AddRep's assembly collapses too, and the freed slot goes to the next distinct passage
    assert [h.chunk_id for h in order(hits[:3], 2, extra=hits[3:])] == ["a:1", "b:1"]


def test_different_passages_on_one_topic_are_not_copies():
    a = "Metformin should be stopped when the eGFR falls below 30 mL/min/1.73 m2."
    b = "Metformin dose should be halved when the eGFR is between 30 and 45 mL/min/1.73 m2."
    assert len(collapse_duplicates([hit("x", "d", a), hit("y", "d", b)])) == 2
    assert (
        len(_shingles("二甲双胍在肾小球滤过率低于30时应停用。")) > 3
    )  # Chinese: one token per character


def test_diverse_searches_deeper_while_copies_fill_the_results():
    pool = [hit(f"junk:{i}", "junk", "albuminuria " * 50, score=0.9 - i / 1000) for i in range(300)]
    pool.insert(
        150, hit("real:1", "guide", ALBUMINURIA + " on an early morning sample.", score=0.75)
    )
    asked: list[int] = []

    def search(depth: int) -> list[Hit]:
        asked.append(depth)
        return [Hit(**{**h.__dict__, "also_in": []}) for h in pool[:depth]]

    found = diverse(search, 2)
    assert [h.chunk_id for h in found] == ["junk:0", "real:1"]
    assert asked == [8, 32, 128, 512]


# ---------------------------------------------------------------- a real library


@pytest.fixture(scope="module")
def crowded(tmp_path_factory, embedder) -> Iterator[Engine]:
    """A guideline, its second edition (same text, new title) and 10,000 repetitions of 'albuminuria'."""
    folder = tmp_path_factory.mktemp("dups")
    eng = Engine(folder / "home", embedder=embedder)
    first = write_text_pdf(
        folder / "ckd-2019.pdf", topic="chronic kidney disease", title="CKD guideline 2019"
    )
    second = write_text_pdf(
        folder / "ckd-2023.pdf", topic="chronic kidney disease", title="CKD guideline 2023"
    )
    other = write_text_pdf(folder / "anaemia.pdf", topic="renal anaemia", pages=2)
    junk = folder / "albuminuria.txt"
    junk.write_text(" ".join(["albuminuria"] * 10_000), encoding="utf-8")
    results = eng.add([first, second, other, junk])
    assert [r.status for r in results] == ["added"] * 4, [r.message for r in results]
    yield eng
    eng.close()


def test_repetitive_document_cannot_hide_the_answer(crowded: Engine):
    """10 of 10 runs: the same results, the real passage among them, one slot at most for the copies."""
    catalog = crowded.library.catalog
    [junk] = [d for d in catalog.documents() if d.name == "albuminuria.txt"]
    # its ~200 identical passages are stored once at ingest (tests/test_ingest_copies.py), the
    # other places remembered as copies; what is stored must still not crowd the results
    copies = catalog.db.execute("SELECT count(*) FROM copies WHERE doc_id=?", (junk.id,))
    assert catalog.chunk_count(junk.id) + copies.fetchone()[0] > 50, (
        "the repeated-word document must really be in the library for the test to mean anything"
    )
    runs = []
    for _ in range(10):
        hits = crowded.search("How is albuminuria measured?", k=5)
        runs.append([h.chunk_id for h in hits])
        assert len(hits) == 5
        assert any(ALBUMINURIA in h.text for h in hits), [h.text[:60] for h in hits]
        assert sum(h.doc_name == "albuminuria.txt" for h in hits) <= 1
        texts = [h.text for h in hits]
        assert len(collapse_duplicates(hits)) == len(hits), "no two results are copies"
        assert len(set(texts)) == len(texts)
    assert all(run == runs[0] for run in runs)


@pytest.mark.parametrize("mode", ["naive", "hybrid"])
def test_second_edition_is_named_not_repeated(crowded: Engine, mode: str):
    from kidneytalk.retrieval import hybrid, naive

    search = hybrid.search if mode == "hybrid" else naive.search
    raw: list[Hit] = []

    def deep(depth: int) -> list[Hit]:
        raw[:] = search(crowded.library, "When should metformin be stopped?", depth)
        return raw

    hits = diverse(deep, 4)
    names = [h.doc_name for h in hits]
    metformin = [h for h in hits if "Metformin should be reviewed" in h.text]
    assert metformin, names
    # each metformin paragraph appears once, from one edition, and names where else it is
    assert len({h.text for h in metformin}) == len(metformin)
    texts = [h.text for h in raw]
    # the second edition's paragraphs are stored once at ingest (tests/test_dedup_library.py):
    # the search finds each once, and its result names the other edition
    assert len(set(texts)) == len(texts)
    editions = [h for h in metformin if h.doc_name in ("ckd-2019.pdf", "ckd-2023.pdf")]
    assert editions, names
    for h in editions:
        other = "ckd-2023.pdf" if h.doc_name == "ckd-2019.pdf" else "ckd-2019.pdf"
        assert any(label.startswith(other) for label in h.also_in), (h.chunk_id, h.also_in)
    assert not (
        {h.doc_name for h in metformin} >= {"ckd-2019.pdf", "ckd-2023.pdf"}
        and any(a.text == b.text for a in metformin for b in metformin if a is not b)
    )


def test_cli_search_names_the_collapsed_copies(crowded: Engine, capsys):
    from kidneytalk.cli import main

    assert (
        main(
            [
                "--home",
                str(crowded.paths.config.parent),
                "search",
                "When should metformin be stopped?",
                "-k",
                "4",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "also in: ckd-20" in out, out
