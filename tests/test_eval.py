"""The exam evaluation harness: question files, letter extraction, refusals, resume, metrics, report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kidneytalk.errors import KidneyTalkError
from kidneytalk.evaluation import load_questions, mcnemar_exact, run_eval, write_report
from kidneytalk.evaluation.extract import choice_messages, choose, subsets_grammar
from kidneytalk.evaluation.metrics import bootstrap_ci, summarize
from kidneytalk.evaluation.runner import load_results, select
from tests.conftest import QUESTIONS, shared_pdf


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def pubmedqa_rows(source: str, n: int) -> list[str]:
    if not QUESTIONS.exists():
        pytest.skip("shared questions not found")
    rows = [
        line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if f'"{source}"' in line
    ]
    return rows[:n]


# ---------------------------------------------------------------- parsing
def test_jsonl_malformed_rows_are_reported_by_line_and_skipped(tmp_path: Path):
    good = {
        "id": "q1",
        "question": "Is it?",
        "options": {"A": "yes", "B": "no", "C": "maybe"},
        "answer": "A",
        "gold_source": "d.pdf",
        "gold_pages": [3, 4],
        "tags": ["t1"],
    }
    multi = {
        "id": "q2",
        "question": "Which two?",
        "options": {"A": "w", "B": "x", "C": "y", "D": "z"},
        "answer": ["C", "A"],
    }
    file = write(
        tmp_path / "q.jsonl",
        "\n".join(
            [
                json.dumps(good),
                "{not json",
                "",
                json.dumps(
                    {"id": "q3", "options": {"A": "a", "B": "b"}, "answer": "A"}
                ),  # no question
                json.dumps(
                    {"id": "q4", "question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "E"}
                ),  # not an option
                json.dumps(multi),
                json.dumps(good),  # duplicate id
            ]
        )
        + "\n",
    )
    questions, problems = load_questions(file)
    assert [q.id for q in questions] == ["q1", "q2"]
    assert (
        questions[0].answer == ("A",)
        and questions[0].gold_pages == (3, 4)
        and questions[0].tags == ("t1",)
    )
    assert questions[1].answer == ("A", "C") and questions[1].multiple
    assert [p.line for p in problems] == [2, 4, 5, 7]
    assert "JSON" in problems[0].message and "question" in problems[1].message
    assert "'E'" in problems[2].message and "duplicate" in problems[3].message


def test_csv_options_answer_letters_and_extra_columns_as_tags(tmp_path: Path):
    file = write(
        tmp_path / "bank.csv",
        (
            "question,A,B,C,D,E,answer,topic,year\n"
            "Which drug is renally cleared?,metformin,propranolol,,,,A,pharmacology,2021\n"
            '"A question with a comma, on\ntwo lines",x,y,z,,,"A,C",glomerular,\n'
            "Missing answer?,a,b,c,d,e,,misc,2020\n"
            "Only one option?,a,,,,,A,misc,2020\n"
        ),
    )
    questions, problems = load_questions(file)
    assert [q.options for q in questions] == [
        {"A": "metformin", "B": "propranolol"},
        {"A": "x", "B": "y", "C": "z"},
    ]
    assert questions[0].tags == ("topic:pharmacology", "year:2021")
    assert questions[1].answer == ("A", "C") and questions[1].tags == ("topic:glomerular",)
    assert [(p.line, "answer" in p.message or "option" in p.message) for p in problems] == [
        (5, True),
        (6, True),
    ]


def test_sample_is_a_stable_prefix_so_larger_runs_extend_smaller_ones():
    qs = list(range(50))
    assert select(qs, sample=20, seed=3)[:10] == select(qs, sample=10, seed=3)  # type: ignore[arg-type]
    assert select(qs, limit=5) == [0, 1, 2, 3, 4]  # type: ignore[arg-type]


def test_missing_question_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(KidneyTalkError, match="not found"):
        load_questions(tmp_path / "nope.jsonl")


# ---------------------------------------------------------------- metrics
def test_mcnemar_exact_on_a_known_table_and_bootstrap_ci():
    # b=1, c=9: p = 2 * (C(10,0) + C(10,1)) / 2**10
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(5, 5) == 1.0
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values)
    assert lo < 0.3 < hi and lo > 0.18 and hi < 0.42


def test_summary_counts_refusals_as_wrong_and_compares_with_majority():
    recs = []
    for i in range(10):
        gold = ["A"] if i < 7 else ["B"]
        recs.append(
            {
                "id": f"q{i}",
                "mode": "naive",
                "answer": gold,
                "correct": i < 5,
                "refused": False,
                "tags": ["x"],
            }
        )
        recs.append(
            {
                "id": f"q{i}",
                "mode": "addrep",
                "answer": gold,
                "correct": i < 3,
                "refused": 3 <= i < 6,
                "tags": [],
            }
        )
    s = summarize(recs)
    assert s["per_mode"]["naive"]["accuracy"] == 0.5
    assert s["per_mode"]["addrep"]["refusal_rate"] == 0.3
    assert s["per_mode"]["addrep"]["accuracy_answered"] == pytest.approx(3 / 7)
    assert s["majority"] == {"answer": ["A"], "accuracy": 0.7, "n": 10}
    assert s["comparisons"]["addrep"]["vs_naive"]["only_reference_correct"] == 2
    assert s["per_tag"]["x"]["naive"] == {"n": 10, "accuracy": 0.5}


# ---------------------------------------------------------------- extraction (real model)
def test_letters_are_extracted_from_the_real_tiny_model(llm, tmp_path: Path):
    from kidneytalk.prompts import PromptBook  # type: ignore[attr-defined]

    book = PromptBook("en")
    file = write(
        tmp_path / "q.jsonl",
        "\n".join(
            [
                json.dumps(
                    {
                        "id": "s",
                        "question": "Is the kidney an organ?",
                        "options": {"A": "yes", "B": "no", "C": "maybe"},
                        "answer": "A",
                    }
                ),
                json.dumps(
                    {
                        "id": "m",
                        "question": "Which are electrolytes?",
                        "options": {"A": "sodium", "B": "potassium", "C": "glucose", "D": "urea"},
                        "answer": ["A", "B"],
                    }
                ),
            ]
        ),
    )
    single, multi = load_questions(file)[0]
    msgs = choice_messages(book, llm, single, notes="The kidney is an organ [1].", rag=True)
    by_prob = choose(llm, book, msgs, single)
    assert by_prob.method == "logprob" and by_prob.letters[0] in "ABC"
    assert sum(by_prob.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
    by_grammar = choose(llm, book, msgs, single, method="grammar")
    assert (
        by_grammar.method == "grammar"
        and len(by_grammar.letters) == 1
        and by_grammar.letters[0] in "ABC"
    )
    picked = choose(llm, book, choice_messages(book, llm, multi), multi)
    assert picked.method == "grammar" and picked.letters and set(picked.letters) <= set("ABCD")
    assert picked.letters == sorted(set(picked.letters))
    assert '"A, B, C, D"' in subsets_grammar(list("ABCD"), multiple=True)


# ---------------------------------------------------------------- runs
def test_empty_library_counts_refusals_not_wrong_letters(engine_llm, tmp_path: Path):
    qfile = write(tmp_path / "q.jsonl", "\n".join(pubmedqa_rows("dev-digest-012.pdf", 2)) + "\n")
    summary = run_eval(
        engine_llm, qfile, modes=("no-rag", "naive"), style="cp-order", out_dir=tmp_path / "out"
    )
    recs = load_results(tmp_path / "out")
    naive = [r for r in recs if r["mode"] == "naive"]
    assert len(naive) == 2 and all(
        r["refused"] and r["prediction"] is None and not r["correct"] for r in naive
    )
    assert summary.per_mode["naive"]["refusal_rate"] == 1.0
    no_rag = [r for r in recs if r["mode"] == "no-rag"]
    assert all(
        not r["refused"] and r["prediction"][0] in "ABC" for r in no_rag
    )  # the LLM alone still answers


def test_cancelled_run_resumes_without_duplicates_and_writes_a_self_contained_report(
    engine_llm, tmp_path: Path
):
    engine_llm.add([shared_pdf(12)])
    qfile = write(tmp_path / "q.jsonl", "\n".join(pubmedqa_rows("dev-digest-012.pdf", 2)) + "\n")
    out = tmp_path / "out"
    cancel = threading.Event()
    seen = []

    def stop_after_first(p):
        seen.append(p)
        if p.done >= 1:
            cancel.set()

    first = run_eval(
        engine_llm,
        qfile,
        modes=("no-rag", "naive"),
        style="cp-order",
        out_dir=out,
        progress=stop_after_first,
        cancel=cancel,
    )
    assert not first.complete and len(load_results(out)) == 1
    with open(
        out / "results.jsonl", "a", encoding="utf-8"
    ) as fh:  # a crash mid-write leaves half a line
        fh.write('{"id": "half')

    with pytest.raises(KidneyTalkError, match="style"):
        run_eval(engine_llm, qfile, modes=("no-rag", "naive"), style="off", out_dir=out)

    progress = []
    done = run_eval(
        engine_llm,
        qfile,
        modes=("no-rag", "naive"),
        style="cp-order",
        out_dir=out,
        progress=progress.append,
    )
    assert (
        done.complete and progress[0].resumed == 1 and progress[-1].done == progress[-1].total == 4
    )
    recs = load_results(out)
    assert sorted((r["id"], r["mode"]) for r in recs) == sorted(
        {(r["id"], r["mode"]) for r in recs}
    )
    assert len(recs) == 4
    naive = [r for r in recs if r["mode"] == "naive"]
    assert all(
        r["evidence"] and r["gold_rank"] == 1 for r in naive
    )  # the gold page is retrieved first
    assert all(r["refused"] or r["prediction"][0] in "ABC" for r in naive)

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["per_mode"]) == {"no-rag", "naive"}
    assert {
        "accuracy",
        "accuracy_ci",
        "refusal_rate",
        "hit_rate",
        "latency_p50",
        "latency_p95",
        "tokens_mean",
    } <= set(summary["per_mode"]["naive"])
    assert "vs_naive" in summary["comparisons"]["no-rag"] and "majority" in summary
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("src='data:image/png;base64,") >= 3
    assert not re.search(
        r"(src|href)=['\"]?(https?:|/|\w+\.(png|css|js))", html
    )  # nothing outside the file
    assert "Accuracy per mode" in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "plots" / "accuracy.png").stat().st_size > 1000
    rebuilt = write_report(out)
    assert rebuilt.per_mode["naive"]["n"] == 2


def test_cli_eval_retrieval_only_and_bad_mode(home: Path, tmp_path: Path):
    qfile = write(
        tmp_path / "q.jsonl", "\n".join(pubmedqa_rows("dev-digest-012.pdf", 2)) + "\n{oops\n"
    )
    out = tmp_path / "ret"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kidneytalk.cli",
                "--home",
                str(home),
                "eval",
                str(qfile),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )

    bad = cli("--modes", "naive,bogus")
    assert bad.returncode == 1 and "bogus" in bad.stderr
    res = cli("--modes", "naive,hybrid", "--retrieval-only", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    assert "line 3" in res.stderr  # the malformed row is named and skipped
    data = json.loads(res.stdout)
    assert data["per_mode"]["naive"]["hit_rate"] == 0.0  # empty library: nothing retrieved
    assert data["problems"] == [{"line": 3, "message": data["problems"][0]["message"]}]
    assert (out / "report.html").exists() and len(load_results(out)) == 4


def test_choice_prompt_renders_exactly(llm):
    from kidneytalk.prompts import PromptBook  # type: ignore[attr-defined]

    q = load_questions_from_rows(
        [{"id": "x", "question": "Is it?", "options": {"A": "yes", "B": "no"}, "answer": "A"}]
    )
    msgs = choice_messages(PromptBook("en"), llm, q, notes="It is [1].", rag=True)
    assert msgs[1]["content"] == (
        "What the library says: It is [1].\n\nQuestion: Is it?\nOptions:\nA. yes\nB. no\n\n"
        "Reply with the letter of the one correct option."
    )
    assert choice_messages(PromptBook("zh"), llm, q)[1]["content"].startswith("题目：Is it?")


def load_questions_from_rows(rows: list[dict]):
    from kidneytalk.evaluation.questions import _question, _Row

    return _question(_Row(1, rows[0]))
