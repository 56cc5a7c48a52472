"""One-word decisions through a model server that gives no log-probabilities (issue 13, point 3):
AddRep's relevance judge, and the ingest filter agent.

The server is a small real HTTP server on loopback shaped like llama-server
started without log-probabilities: it has ``/props`` and ``/tokenize`` and
takes a GBNF ``grammar``, but its replies carry no ``logprobs``. The judge must
then get its yes/no from a reply constrained to exactly "yes" or "no", and
still rank, calibrate and explain the passages. No model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from kidneytalk.engine import Engine, sample_document
from kidneytalk.llm_server import ServerLLM
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit
from kidneytalk.retrieval.judge import judge
from tests.test_server_errors import fake_server, reply

YES_NO = 'root ::= "yes" | "no"'
ON_TOPIC = "Serum potassium should be checked within one week of starting an ACE inhibitor."
OFF_TOPIC = "The hospital car park opens at six in the morning."


def _hit(n: int, text: str) -> Hit:
    return Hit(f"doc:{n:05d}", "doc", "guideline.pdf", text, n, n, (), 0.5)


def no_logprobs_llama_server(
    handle_log: list[dict], says_yes: Callable[[str], bool] = lambda prompt: ON_TOPIC in prompt
):
    def handle(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            return reply(h, 200, {"object": "list", "data": [{"id": "ward-model"}]})
        if path == "/props":
            return reply(h, 200, {"default_generation_settings": {"n_ctx": 4096}})
        if path == "/tokenize":
            return reply(h, 200, {"tokens": list(range(len(body["content"].split())))})
        if path == "/v1/completions":  # the judge's reason, begun with its verdict
            return reply(h, 200, {"choices": [{"index": 0, "text": " it names potassium"}]})
        if path != "/v1/chat/completions":
            return reply(h, 404, {"error": "not found"})
        handle_log.append(body)
        prompt = body["messages"][-1]["content"]
        verdict = "yes" if says_yes(prompt) else "no"
        if not body.get("stream"):  # the log-probabilities request: answered without any
            message = {"role": "assistant", "content": verdict}
            return reply(h, 200, {"choices": [{"index": 0, "message": message}]})
        # unconstrained, a model would chat; only the grammar keeps the reply to one word
        text = verdict if body.get("grammar") == YES_NO else f"Well, I think {verdict}, because"
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        event = {"choices": [{"index": 0, "delta": {"content": text}}]}
        h.wfile.write(f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode())
        h.close_connection = True

    return handle


def test_the_judge_falls_back_to_a_constrained_yes_or_no_without_logprobs() -> None:
    asked: list[dict] = []
    with fake_server(no_logprobs_llama_server(asked)) as (url, _):
        llm = ServerLLM(url)
        assert llm.kind == "llama.cpp"
        question = "When should potassium be checked after starting an ACE inhibitor?"
        verdicts = judge(llm, PromptBook(), question, [_hit(1, OFF_TOPIC), _hit(2, ON_TOPIC)])
    by_text = {v.hit.text: v for v in verdicts}
    on, off = by_text[ON_TOPIC], by_text[OFF_TOPIC]
    assert on.relevant and on.p_yes == 1.0 and on.relevance > 0.99
    assert not off.relevant and off.p_yes == 0.0 and off.relevance < 0.01
    assert on.reason == "Yes, because it names potassium."  # kept passages get their reason
    assert off.reason.startswith("Judged not relevant")
    # log-probabilities were asked for once, found missing and not asked for again; every verdict
    # after that came from a reply held to "yes" | "no" by the grammar
    with_logprobs = [b for b in asked if b.get("logprobs")]
    constrained = [b for b in asked if b.get("stream")]
    assert len(with_logprobs) == 1 and not llm._logprobs
    assert len(constrained) == 3  # the content-free passage, then the two candidates
    assert all(b["grammar"] == YES_NO for b in constrained)


def test_the_ingest_filter_agent_decides_through_a_model_server(engine: Engine) -> None:
    """Adding with the filter agent on asks the configured server about every passage."""
    asked: list[dict] = []
    # the server's verdict: only the sample's opening paragraph (about the document) is no knowledge
    with fake_server(
        no_logprobs_llama_server(asked, lambda p: "ships with KidneyTalk" not in p)
    ) as (
        url,
        _,
    ):
        engine.models.add_server("ward", url)
        engine.set_default_model("ward")
        [added] = engine.add([sample_document()], filter_agent=True)
    assert added.status == "added" and added.chunks_kept >= 5, added
    reasons = [row["reason"] for row in engine.library.dropped(added.doc_id)]
    assert "filter agent: no medical knowledge" in reasons
    asked_about = [b for b in asked if b.get("grammar") == YES_NO]
    assert len(asked_about) >= added.chunks_kept  # every passage the rules kept went to the server
