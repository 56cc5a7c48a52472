"""The model-server backend against the documented differences of vLLM, Ollama and llama-server.

Ollama's server is in no package registry the test machine reaches, and vLLM
is set up apart (``scripts/setup-vllm.sh``; tested for real, when set up, by
``tests/test_server_vllm.py``), so for every test run each is a small real HTTP
server on loopback that behaves as their documentation, source and (for vLLM)
the real server say, difference by difference:

- vLLM: ``/v1/models`` entries ``owned_by: "vllm"`` with ``max_model_len``;
  ``/tokenize`` takes ``prompt`` (or chat ``messages``, rendered with the template
  vLLM does not publish) and answers ``count``/``tokens``, ``/detokenize``
  answers ``prompt``; constraints are ``structured_outputs`` (``guided_grammar``
  before v0.12) and the penalty is ``repetition_penalty`` (unknown fields are
  ignored, so a wrong name would silently do nothing); reasoning arrives apart
  in ``reasoning_content``.
- Ollama: no ``/props``, no tokenizer, ``/api/version``; unknown fields ignored;
  no log-probabilities on older versions; every ``/v1/completions`` prompt is
  put through the model's template (raw continuations need ``/api/generate``
  with ``raw``); reasoning arrives in ``reasoning``; prompts beyond its context
  (2048 tokens by default) are cut without a word.
- llama-server with a reasoning template: the thought's own budget is enforced
  over the network, and the answer is continued through ``/v1/completions``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from kidneytalk.answer import Answer
from kidneytalk.llm_server import OLLAMA_CONTEXT, ServerLLM
from kidneytalk.reasoning import thought_was_cut
from tests.test_server_errors import fake_server, reply

WORDS = {"Potassium": 1, " should": 2, " be": 3, " checked": 4, ".": 5}
R1 = (
    "{{ bos_token }}{% for m in messages %}<｜User｜>{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)


def sse(h: BaseHTTPRequestHandler, deltas: list[dict], *, chat: bool = True) -> None:
    """A streamed reply: one event per delta (one token each), then [DONE]."""
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream")
    h.end_headers()
    try:
        for d in deltas:
            choice = {"index": 0, "delta": d} if chat else {"index": 0, "text": d["content"]}
            h.wfile.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
            h.wfile.flush()
        h.wfile.write(b"data: [DONE]\n\n")
    except OSError:
        pass  # the client hung up
    h.close_connection = True


def _answer(llm: ServerLLM, content: str = "When is metformin stopped?") -> Answer:
    return Answer(
        question=content,
        evidence=[],
        retrieved=[],
        model=llm.name,
        _tokens=llm.stream([{"role": "user", "content": content}], max_tokens=20),
    )


# ---------------------------------------------------------------- vLLM
def vllm() -> Callable[[BaseHTTPRequestHandler, str, dict], None]:
    def handle(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            model = {"id": "Qwen/QwQ-32B", "owned_by": "vllm", "max_model_len": 8192}
            return reply(h, 200, {"object": "list", "data": [model]})
        if path == "/tokenize":
            if "prompt" not in body:  # vLLM's TokenizeCompletionRequest needs it
                return reply(h, 400, {"object": "error", "message": "prompt: Field required"})
            ids = [WORDS.get(" " + w if i else w, 9) for i, w in enumerate(body["prompt"].split())]
            return reply(h, 200, {"count": len(ids), "max_model_len": 8192, "tokens": ids})
        if path == "/detokenize":
            names = {v: k for k, v in WORDS.items()}
            return reply(h, 200, {"prompt": "".join(names[t] for t in body["tokens"])})
        if path == "/v1/chat/completions":
            if body.get("logprobs"):
                top = [{"token": "Yes", "logprob": -0.2}, {"token": "No", "logprob": -1.8}]
                first = {"token": "Yes", "logprob": -0.2, "top_logprobs": top}
                message = {"role": "assistant", "content": "Yes"}
                choice = {"index": 0, "message": message, "logprobs": {"content": [first]}}
                return reply(h, 200, {"choices": [choice]})
            if body.get("structured_outputs"):
                return sse(h, [{"content": "yes"}])
            return sse(
                h,
                [{"role": "assistant", "content": ""}]
                + [{"reasoning_content": w} for w in ("The", " label", " says", " so.")]
                + [{"content": w} for w in ("Stop", " below", " 30", " [1].")],
            )
        reply(h, 404, {"detail": "Not Found"})

    return handle


def test_vllm_tokenizes_constrains_and_reasons_the_way_vllm_documents_it() -> None:
    with fake_server(vllm()) as (url, seen):
        llm = ServerLLM(url + "/v1")
        assert llm.kind == "vllm" and llm.model_id == "Qwen/QwQ-32B" and llm.n_ctx == 8192
        assert (
            llm.count_tokens("Potassium should be checked") == 4
        )  # the real tokenizer, not a guess
        assert llm.truncate("Potassium should be checked", 2) == "Potassium should"
        msgs = [{"role": "user", "content": "Is this relevant?"}]
        assert 0.8 < llm.yes_probability(msgs) < 0.85  # exp(-0.2) / (exp(-0.2) + exp(-1.8))
        assert llm.choose(msgs, ["yes", "no"]) == "yes"
        answer = _answer(llm)
        assert answer.text() == "Stop below 30 [1]." and answer.reasoning == "The label says so."
    posts = [b for p, b in seen if p == "/v1/chat/completions"]
    constrained = next(b for b in posts if b.get("structured_outputs"))
    assert constrained["structured_outputs"] == {"grammar": 'root ::= "yes" | "no"'}
    assert constrained["guided_grammar"] == 'root ::= "yes" | "no"'  # vLLM before v0.12
    streamed = posts[-1]
    assert streamed["repetition_penalty"] == 1.15
    for ignored_by_vllm in ("grammar", "repeat_penalty", "reasoning_format"):
        assert not any(ignored_by_vllm in b for b in posts), ignored_by_vllm
    assert not any(p == "/api/version" for p, _ in seen)  # known from /v1/models: no probing


def test_vllm_renders_prompts_with_its_own_template_and_adds_no_second_bos() -> None:
    """As the real vLLM does (tests/test_server_vllm.py): /tokenize takes chat messages."""
    chatml = "<|im_start|>{role}\n{content}<|im_end|>\n"

    def handle(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            model = {"id": "smollm2", "owned_by": "vllm", "max_model_len": 3072}
            return reply(h, 200, {"object": "list", "data": [model]})
        if path == "/tokenize":  # one token per character, so /detokenize can undo it
            if "messages" in body:
                text = "".join(chatml.format(**m) for m in body["messages"])
                if body.get("chat_template_kwargs", {}).get("enable_thinking") is False:
                    text += "<think>\n\n</think>\n\n"
                text += "<|im_start|>assistant\n" if body["add_generation_prompt"] else ""
            else:
                text = body["prompt"]
            return reply(h, 200, {"count": len(text), "tokens": [ord(c) for c in text]})
        if path == "/detokenize":
            return reply(h, 200, {"prompt": "".join(chr(t) for t in body["tokens"])})
        if path == "/v1/completions":
            top = [{" A": -0.1, " B": -2.5}]
            choice = {"index": 0, "text": " A", "logprobs": {"top_logprobs": top}}
            return reply(h, 200, {"choices": [choice]})
        reply(h, 404, {"detail": "Not Found"})

    with fake_server(handle) as (url, seen):
        llm = ServerLLM(url)
        msgs = [{"role": "user", "content": "Is it A or B?"}]
        prompt = "<|im_start|>user\nIs it A or B?<|im_end|>\n<|im_start|>assistant\n"
        assert llm.n_ctx == 3072 and llm.format_prompt(msgs) == prompt
        assert llm.count_messages(msgs) == len(prompt)  # counted by the server, not estimated
        probs = llm.label_probabilities(msgs, ["A", "B"], answer_prefix="Answer:")
        assert probs["A"] > 0.9
    scored = next(b for p, b in seen if p == "/v1/completions")
    assert scored["prompt"] == prompt + "Answer:"  # the server's template, not "User: …"
    assert scored["add_special_tokens"] is False  # the rendered prompt already begins as it must
    chats = [b for p, b in seen if p == "/tokenize" and "messages" in b]
    assert chats and all(b["add_generation_prompt"] for b in chats)


def test_llama_cpp_python_server_context_is_read_from_its_overflow_reply() -> None:
    """python -m llama_cpp.server reports no n_ctx, but states it for a prompt that overflows it."""

    def handle(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            model = {"id": "model.gguf", "object": "model", "owned_by": "me", "permissions": []}
            return reply(h, 200, {"object": "list", "data": [model]})
        if path == "/v1/completions":
            n = len(body["prompt"].split())
            message = (
                "This model's maximum context length is 1536 tokens, however you requested "
                f"{n + 1} tokens ({n} in your prompt; 1 for the completion)."
            )
            error = {"message": message, "type": "invalid_request_error"}
            return reply(h, 400, {"error": {**error, "code": "context_length_exceeded"}})
        reply(h, 404, {"detail": "Not Found"})

    with fake_server(handle) as (url, seen):
        assert ServerLLM(url).n_ctx == 1536
        probes = [b for p, b in seen if p == "/v1/completions"]
        assert len(probes) == 1 and probes[0]["max_tokens"] == 1
        assert ServerLLM(url, n_ctx=1024).n_ctx == 1024
        assert len([p for p, _ in seen if p == "/v1/completions"]) == 1  # a set context: no probe


# ---------------------------------------------------------------- Ollama
def ollama() -> Callable[[BaseHTTPRequestHandler, str, dict], None]:
    def handle(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            model = {"id": "deepseek-r1:8b", "object": "model", "owned_by": "library"}
            return reply(h, 200, {"object": "list", "data": [model]})
        if path == "/api/version":
            return reply(h, 200, {"version": "0.11.4"})
        if path == "/api/generate":
            assert body["raw"] is True and body["stream"] is False
            return reply(h, 200, {"model": body["model"], "response": " C", "done": True})
        if path == "/v1/chat/completions":
            question = body["messages"][-1]["content"]
            if not body.get("stream"):  # logprobs asked for: this version has none
                message = {"role": "assistant", "content": "Yes"}
                return reply(h, 200, {"choices": [{"index": 0, "message": message}]})
            if "relevant" in question:
                return sse(h, [{"role": "assistant", "content": "Yes, it is."}])
            return sse(
                h,
                [{"role": "assistant", "content": "", "reasoning": w} for w in ("Think", "ing.")]
                + [{"role": "assistant", "content": w} for w in ("Stop", " below", " 30.")],
            )
        reply(h, 404, {"error": "404 page not found"})

    return handle


def test_ollama_is_recognised_and_its_silent_limits_are_respected(caplog) -> None:
    caplog.set_level(logging.WARNING, "kidneytalk.llm_server")
    with fake_server(ollama()) as (url, seen):
        llm = ServerLLM(url + "/v1")
        assert llm.kind == "ollama" and llm.n_ctx == OLLAMA_CONTEXT == 2048
        assert "cuts prompts longer than its context" in caplog.text
        assert ServerLLM(url, n_ctx=8192).n_ctx == 8192  # a context the user set wins
        text = "Potassium should be checked within two weeks. " * 10
        assert llm.count_tokens(text) >= len(text) / 3  # estimated on the high side
        msgs = [{"role": "user", "content": "Is this relevant?"}]
        assert llm.yes_probability(msgs) == 1.0  # no logprobs: a strictly read reply
        # A reply begun by KidneyTalk ("Answer:") is continued raw, never through /v1/completions,
        # which Ollama would wrap in the model's template a second time.
        probs = llm.label_probabilities(msgs, ["A", "B", "C"], answer_prefix="Answer:")
        assert probs == {"A": 0.0, "B": 0.0, "C": 1.0}
        answer = _answer(llm)
        assert answer.text() == "Stop below 30." and answer.reasoning == "Thinking."
    paths = [p for p, _ in seen]
    assert "/tokenize" not in paths and "/extras/tokenize" not in paths  # it has none: not asked
    assert "/v1/completions" not in paths and "/api/generate" in paths
    generate = next(b for p, b in seen if p == "/api/generate")
    assert generate["prompt"].endswith("Answer:") and generate["options"]["num_predict"] >= 1
    for body in (b for p, b in seen if p == "/v1/chat/completions"):
        assert not {"grammar", "repeat_penalty", "reasoning_format"} & set(body)  # ignored there


# ---------------------------------------------------------------- llama-server: the thought's budget
def test_a_server_side_thought_is_cut_at_its_budget_and_the_answer_continued() -> None:
    def llama_server(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            return reply(h, 200, {"object": "list", "data": [{"id": "r1-distill"}]})
        if path == "/props":
            settings = {"n_ctx": 4096}
            return reply(h, 200, {"chat_template": R1, "default_generation_settings": settings})
        if path == "/tokenize":
            return reply(h, 200, {"tokens": list(range(len(body["content"].split())))})
        if path == "/v1/chat/completions":  # thinks on and on, one token per event
            return sse(h, [{"content": f" step{i}"} for i in range(200)])
        if path == "/v1/completions":
            return sse(h, [{"content": w} for w in ("Stop", " below", " 30.")], chat=False)
        reply(h, 404, {"detail": "Not Found"})

    with fake_server(llama_server) as (url, seen):
        llm = ServerLLM(url)
        assert llm.kind == "llama.cpp" and llm.reasoning.opens_in_prompt
        llm.max_thinking_tokens = 5
        answer = _answer(llm)
        assert answer.text() == "Stop below 30."
        assert answer.reasoning.startswith("step0 step1 step2 step3 step4")
        assert thought_was_cut(answer.reasoning) and "budget of 5 tokens" in answer.reasoning
        budget = llm.last_budget
        assert budget is not None and budget.cut
        assert (budget.thought_tokens, budget.answer_tokens) == (5, 3)
    chat = next(b for p, b in seen if p == "/v1/chat/completions")
    assert chat["max_tokens"] == 20 + 5 and chat["reasoning_format"] == "none"
    more = next(b for p, b in seen if p == "/v1/completions")
    assert more["prompt"].endswith("<think>\n step0 step1 step2 step3 step4\n</think>\n\n")
    assert more["max_tokens"] == 20 and more["stream"] is True
