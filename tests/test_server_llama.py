"""KidneyTalk against a real llama.cpp ``llama-server`` (the C++ server, not llama_cpp.server).

``llama-server`` is not installed by the set-up (building it takes half an hour on
two cores): ``scripts/build-llama-server.sh`` builds it from the llama.cpp that
the installed llama-cpp-python vendors. These tests use it when
``KIDNEYTALK_LLAMA_SERVER`` names it or it is on PATH, and are skipped otherwise.

Proved against the real server: its ``/props`` chat template is the one prompts
are written with (identical to the in-process rendering), its ``/tokenize``
counts, its log-probabilities for one-token decisions, streaming, a reasoning
template's think block (the thought kept apart, and cut at its own budget with
the answer continued through ``/v1/completions``), and the bundled gemma3-270m
served with KidneyTalk's Gemma template.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk.chat_templates import GEMMA_TEMPLATE, template_family
from kidneytalk.cpu import physical_cores
from kidneytalk.engine import Engine, sample_document
from kidneytalk.llm import LocalLLM
from kidneytalk.llm_server import ServerLLM, find_llama_server, llama_server
from kidneytalk.models import bundled_model_path
from tests.served_reasoning import check_the_thought_is_kept_apart_and_budgeted
from tests.test_reasoning import R1_TEMPLATE

BINARY = find_llama_server()
pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        BINARY is None,
        reason="llama-server not found: build it with scripts/build-llama-server.sh, then set "
        "KIDNEYTALK_LLAMA_SERVER=/path/to/llama-server (or put it on PATH)",
    ),
]
MSGS = [{"role": "user", "content": "Is the kidney an organ? Answer yes or no."}]
READ = 600  # a busy 2-core machine reads prompts slowly


def _model(name: str = "smollm2-135m-instruct") -> Path:
    path = bundled_model_path(name)
    if path is None:
        pytest.skip(f"bundled model {name} not installed")
    return path


@pytest.fixture(scope="module")
def smol_url(tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_server(_model(), n_ctx=2048, threads=physical_cores(), log_file=log) as url:
        yield url


def test_smollm2_served_by_llama_server_is_prompted_counted_and_scored_as_in_process(
    smol_url: str, llm: LocalLLM
) -> None:
    server = ServerLLM(smol_url, read_timeout=READ)
    assert server.kind == "llama.cpp" and server.n_ctx == 2048  # from /props
    # The chat template comes from /props and renders exactly what the in-process model renders.
    assert server._template == llm.template and template_family(server._template) == llm.family
    assert server.format_prompt(MSGS) == llm.format_prompt(MSGS)
    text = "Potassium should be checked within two weeks of starting an ACE inhibitor."
    assert server.count_tokens(text) == llm.count_tokens(text)  # its /tokenize, not an estimate
    assert abs(server.count_messages(MSGS) - llm.count_messages(MSGS)) <= 1  # BOS at most
    assert server.truncate(text, 5) == llm.truncate(text, 5)
    # One-token decisions read the server's log-probabilities (n_probs), as in process.
    p_server, p_local = server.yes_probability(MSGS), llm.yes_probability(MSGS)
    assert server._logprobs and 0.0 < p_server < 1.0 and abs(p_server - p_local) < 0.05
    labels = ["A", "B"]
    msgs = [{"role": "user", "content": "Is the kidney an organ? A. yes B. no"}]
    served = server.label_probabilities(msgs, labels, answer_prefix="Answer:")
    local = llm.label_probabilities(msgs, labels, answer_prefix="Answer:")
    assert max(served, key=served.__getitem__) == max(local, key=local.__getitem__)
    # Streaming: pieces as they come, adding up to the reply the server gives unstreamed. (Not
    # compared with the in-process text: SmolLM2's first token is a near tie, "No" 0.26 against
    # "The" 0.23, which the two builds' rounding can tip either way.)
    greedy = {"max_tokens": 12, "temperature": 0.0, "repeat_penalty": 1.0}
    pieces = list(server.stream(MSGS, **greedy))
    assert len(pieces) >= 6 and server.last_budget is not None
    assert server.last_budget.answer_tokens == len(pieces) <= 12
    whole = server._request("POST", "/v1/chat/completions", {"messages": MSGS, **greedy})
    assert "".join(pieces) == whole["choices"][0]["message"]["content"]


def test_an_engine_answers_with_citations_through_llama_server(
    smol_url: str, tmp_path: Path, embedder
) -> None:
    engine = Engine(tmp_path / "home", embedder=embedder)
    try:
        engine.models.add_server("ward", smol_url, timeout=READ)
        engine.models.set_default("ward")
        assert engine.add([sample_document()])[0].status == "added"
        answer = engine.ask(
            "When should metformin be stopped in chronic kidney disease?",
            mode="naive",
            style="cp-order",
        )
        assert answer.text() and not answer.refused and answer.citations
        assert isinstance(engine.llm(), ServerLLM) and engine.llm().kind == "llama.cpp"
    finally:
        engine.close()


@pytest.mark.slow  # ~75 s on a busy 2-core machine: a second server, two steered replies
def test_a_reasoning_template_served_by_llama_server_keeps_and_budgets_the_thought(
    tmp_path: Path,
) -> None:
    with llama_server(
        _model(),
        n_ctx=2048,
        threads=physical_cores(),
        chat_template=R1_TEMPLATE,
        log_file=tmp_path / "server.log",
    ) as url:
        server = ServerLLM(url, read_timeout=READ)
        assert template_family(server._template) == "DeepSeek-R1 (reasoning)"
        assert server.reasoning.opens_in_prompt
        budget = check_the_thought_is_kept_apart_and_budgeted(server, MSGS)
        assert 0 < budget.answer_tokens <= 24
    (tmp_path / "server.log").unlink(missing_ok=True)


def test_gemma_served_by_llama_server_with_kidneytalks_gemma_template(tmp_path: Path) -> None:
    gemma = _model("gemma3-270m")
    with (
        llama_server(
            gemma,
            n_ctx=2048,
            threads=physical_cores(),
            chat_template=GEMMA_TEMPLATE,  # the file has none; llama-server would serve ChatML
            log_file=tmp_path / "server.log",
        ) as url,
        LocalLLM(gemma, n_ctx=2048, name="gemma3-270m") as local,
    ):
        server = ServerLLM(url, read_timeout=READ)
        assert template_family(server._template) == "Gemma"
        assert server.format_prompt(MSGS) == local.format_prompt(MSGS)
        assert abs(server.count_messages(MSGS) - local.count_messages(MSGS)) <= 1
        reply = server.complete(MSGS, max_tokens=16, temperature=0.0)
        assert reply.strip() and "<start_of_turn>" not in reply
        p = server.yes_probability(MSGS)
        assert server._logprobs and 0.0 <= p <= 1.0
        # The server gives its top 20 first tokens only ("No" is not among them here: 1.0),
        # in process every token counts (0.81): the same verdict.
        assert (p > 0.5) == (local.yes_probability(MSGS) > 0.5)
