"""KidneyTalk against a real model server: ``python -m llama_cpp.server`` with the bundled SmolLM2.

The fixture starts the server on a free loopback port (the ``llama-cpp-python[server]``
packages), waits until it answers and stops it after the module. Through it run
add → ask in every retrieval mode and answer style → a small evaluation, each
compared with the in-process backend on the same questions; and a CLI process
with a socket audit hook proves the only host contacted is the configured server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk.vocabulary import MODES, STYLES
from tests.conftest import QUESTIONS, REPO, shared_pdf

pytestmark = pytest.mark.model
SOURCE = "dev-digest-012.pdf"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[str]:
    """URL of ``python -m llama_cpp.server`` serving the bundled GGUF on 127.0.0.1 (stopped afterwards)."""
    from kidneytalk.cpu import physical_cores
    from kidneytalk.llm_server import llama_cpp_server
    from kidneytalk.models import bundled_model_path

    model = bundled_model_path()
    if model is None:
        pytest.skip("bundled SmolLM2 model not installed")
    missing = [
        m
        for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        pytest.fail(
            f"llama-cpp-python[server] packages missing: {', '.join(missing)} (see pyproject.toml)"
        )
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_cpp_server(model, n_ctx=4096, threads=physical_cores(), log_file=log) as url:
        yield url


def _question() -> str:
    if not QUESTIONS.exists():
        pytest.skip("shared questions not found")
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("gold_source") == SOURCE:
            return str(row["question"])
    pytest.skip(f"no question about {SOURCE}")


@pytest.fixture(scope="module")
def both(tmp_path_factory, llama_server: str, embedder, llm):
    """(engine using the server, engine using the in-process model) over the same one-PDF library."""
    from kidneytalk.engine import Engine

    pdf = shared_pdf(12)
    served = Engine(tmp_path_factory.mktemp("served"), embedder=embedder)
    served.models.add_server(
        "loopback", llama_server, timeout=900
    )  # a busy 2-core box reads prompts slowly
    served.models.set_default("loopback")
    local = Engine(tmp_path_factory.mktemp("local"), embedder=embedder, llm=llm)
    for engine in (served, local):
        engine.add([pdf], filter_agent=False)
    yield served, local
    for engine in (served, local):
        engine.close()


@pytest.mark.slow  # about 2 minutes on an idle 2-core machine: 6 answers through HTTP and 3 in process
def test_every_mode_and_style_answers_through_the_server_as_in_process(both):
    served, local = both
    question = _question()
    llm = served.llm()
    assert (
        type(llm).__name__ == "ServerLLM"
        and llm.where.startswith("127.0.0.1:")
        and llm.n_ctx == 4096
    )
    for mode in MODES:
        theirs = local.ask(question, mode=mode, style="cp-order")
        theirs.text()
        # every style once (with hybrid, the cheap mode), every mode with the default style
        for style in STYLES if mode == "hybrid" else ("cp-order",):
            answer = served.ask(question, mode=mode, style=style)
            text = answer.text()
            assert answer.model == "loopback" and not answer.refused, (mode, style)
            assert text.strip() and answer.citations, (mode, style, text)
            assert {h.doc_id for h in answer.evidence} == {h.doc_id for h in theirs.evidence}
            if mode != "addrep":  # search alone: the very same passages in the same order
                assert [h.chunk_id for h in answer.retrieved] == [
                    h.chunk_id for h in theirs.retrieved
                ]
            else:  # the judge reads the same top log-probabilities: the same best passage is kept
                assert answer.evidence[0].chunk_id in {h.chunk_id for h in theirs.evidence}, mode


@pytest.mark.slow  # about a minute on an idle 2-core machine
def test_a_small_evaluation_runs_through_the_server(both, tmp_path: Path):
    from kidneytalk.evaluation import run_eval
    from kidneytalk.evaluation.runner import load_results

    served, local = both
    rows = [
        line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if f'"{SOURCE}"' in line
    ][:2]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(rows) + "\n", encoding="utf-8")
    modes = ("no-rag", "naive", "addrep")
    done = run_eval(served, qfile, modes=modes, style="cp-order", out_dir=tmp_path / "served")
    assert done.complete
    ours = {(r["id"], r["mode"]): r for r in load_results(tmp_path / "served")}
    run_eval(local, qfile, modes=modes[:2], style="cp-order", out_dir=tmp_path / "local")
    theirs = {(r["id"], r["mode"]): r for r in load_results(tmp_path / "local")}
    assert len(ours) == 6 and all(
        r["prediction"] and r["prediction"][0] in "ABC" for r in ours.values()
    )
    for key, rec in theirs.items():
        # The letter is read from the server's log-probabilities after a prompt laid out without the
        # model's template (llama_cpp.server does not publish it), so it may differ from in-process;
        # retrieval may not.
        assert ours[key]["method"] == rec["method"] == "logprob" and ours[key]["probabilities"], key
        if key[1] == "naive":
            assert ours[key]["gold_rank"] == rec["gold_rank"] == 1


AUDIT = textwrap.dedent("""
    import json, sys
    seen = []
    def hook(event, args):
        if event == "socket.connect":
            seen.append(["connect", repr(args[1])])
        elif event == "socket.getaddrinfo":
            seen.append(["resolve", repr(args[0])])
    sys.addaudithook(hook)
    from kidneytalk.cli import main
    home, url, pdf, question, qfile, out = sys.argv[1:7]
    codes = [main(["--home", home, *argv]) for argv in (
        ["models", "add-server", "ward-server", url, "--timeout", "900"], ["models", "default", "ward-server"],
        ["add", pdf], ["ask", "--mode", "addrep", question],
        ["eval", qfile, "--modes", "no-rag,naive", "--limit", "1", "--out", out])]
    print(json.dumps({"codes": codes, "seen": seen}))
""")


@pytest.mark.slow  # a CLI process loading the embedder, then an AddRep answer and an eval over HTTP
def test_the_cli_connects_to_nothing_but_the_configured_server(llama_server: str, tmp_path: Path):
    from kidneytalk.evaluation.runner import load_results

    port = int(llama_server.rsplit(":", 1)[1])
    env = {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}
    question = _question()  # skips when the shared questions are missing
    qfile = tmp_path / "q.jsonl"
    [row] = [
        line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if f'"{SOURCE}"' in line
    ][:1]
    qfile.write_text(row + "\n", encoding="utf-8")
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            AUDIT,
            str(tmp_path / "home"),
            llama_server,
            str(shared_pdf(12)),
            question,
            str(qfile),
            str(tmp_path / "eval"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0, 0]
    results = load_results(tmp_path / "eval")  # `kidneytalk eval` through the server, too
    assert {r["mode"] for r in results} == {"no-rag", "naive"}
    assert all(r["prediction"] and r["method"] == "logprob" for r in results)
    connects = {addr for kind, addr in report["seen"] if kind == "connect"}
    assert connects == {repr(("127.0.0.1", port))}, report["seen"]  # asked it, and nothing else
    assert {addr for kind, addr in report["seen"] if kind == "resolve"} <= {repr("127.0.0.1")}


def test_the_context_of_llama_cpp_server_is_read_from_its_overflow_reply(tmp_path: Path):
    """llama_cpp.server reports no context size; it states it when a prompt overflows it."""
    from kidneytalk.llm_server import ServerLLM, llama_cpp_server
    from kidneytalk.models import bundled_model_path

    model = bundled_model_path()
    if model is None:
        pytest.skip("bundled SmolLM2 model not installed")
    with llama_cpp_server(model, n_ctx=1536, log_file=tmp_path / "server.log") as url:
        server = ServerLLM(url)
        assert server.kind == "openai" and server.n_ctx == 1536  # not the 4096 assumed before
        assert ServerLLM(url, n_ctx=1024).n_ctx == 1024  # a context the user set wins
        assert ServerLLM(url, max_ctx=1200).n_ctx == 1200  # and the cap still applies
        # The probe was refused before evaluation: the server answers at once afterwards.
        msgs = [{"role": "user", "content": "Is the kidney an organ? Answer yes or no."}]
        assert server.complete(msgs, max_tokens=4, temperature=0.0).strip()
    (tmp_path / "server.log").unlink(missing_ok=True)
