"""The CLI contract: commands, exit codes and the documented --json fields."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kidneytalk.cli import main
from tests.conftest import shared_pdf


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.model  # the CLI subprocess loads it
def test_add_list_search_ask_json_contract(home: Path):
    added = run(home, "add", str(shared_pdf(12)), "--json")
    assert added.returncode == 0, added.stderr
    [res] = json.loads(added.stdout)
    assert res["status"] == "added" and res["doc_id"]

    docs = json.loads(run(home, "list", "--json").stdout)
    assert {
        "id",
        "name",
        "pages",
        "chunks_kept",
        "chunks_dropped",
        "status",
        "reason",
        "enabled",
        "added_at",
        "embed_model",
        "chunk_settings",
        "needs_ocr",
    } <= set(docs[0])
    assert docs[0]["status"] == "ready"

    found = json.loads(run(home, "search", "helicopter intubation", "-k", "2", "--json").stdout)
    assert len(found["chunks"]) == 2
    assert {"id", "source", "pages", "section", "score", "text"} <= set(found["chunks"][0])
    assert found["chunks"][0]["source"] == "dev-digest-012.pdf"

    asked = run(home, "ask", "Is intubation impaired in the helicopter environment?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert {"answer", "citations", "chunks", "refused", "model", "timings"} <= set(answer)
    assert answer["answer"] and not answer["refused"]
    assert answer["chunks"] and answer["chunks"][0]["source"] == "dev-digest-012.pdf"
    for c in answer["citations"]:
        assert {"n", "source", "pages", "doc_id", "chunk_id"} <= set(c)

    again = run(home, "add", str(shared_pdf(12)))
    assert again.returncode == 0 and "already in library" in again.stderr


def test_ask_on_empty_library_refuses_without_loading_the_model(home: Path, capsys):
    # unmarked: the conftest guard fails this test if the language model is loaded
    assert main(["--home", str(home), "ask", "What is the eGFR threshold for metformin?"]) == 0
    out = capsys.readouterr().out
    assert "The library does not contain the answer" in out


def test_user_errors_are_one_line_without_traceback(home: Path):
    res = run(home, "remove", "no-such-doc")
    assert res.returncode == 1
    assert (
        res.stderr.strip()
        == "kidneytalk: No document 'no-such-doc' in the library (see 'kidneytalk list')."
    )
    res = run(home, "ask", "   ")
    assert (
        res.returncode == 1
        and "Please type a question" in res.stderr
        and "Traceback" not in res.stderr
    )


@pytest.mark.model  # in-process, through the demo command
def test_terminal_demo_answers_from_the_sample_document(home: Path):
    res = run(home, "start")  # no DISPLAY in tests: the terminal demo runs
    assert res.returncode == 0, res.stderr
    assert "ckd-primer.md: added" in res.stdout
    assert "Question: When should metformin be stopped" in res.stdout
    assert "ckd-primer.md p.1" in res.stdout  # sources listed


def test_settings_set_persists_and_rejects_bad_values(home: Path, capsys):
    assert main(["--home", str(home), "settings", "set", "llm.n_threads", "3"]) == 0
    assert main(["--home", str(home), "settings", "set", "retrieval.style", "cp-link"]) == 0
    assert (
        main(["--home", str(home), "settings", "set", "llm.n_threads", "three"]) == 2
    )  # usage error
    assert main(["--home", str(home), "settings", "set", "llm.nope", "1"]) == 2
    capsys.readouterr()
    assert main(["--home", str(home), "settings"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["llm"]["n_threads"] == 3 and shown["retrieval"]["style"] == "cp-link"
