"""The model-server backend against servers that misbehave, without loading a model.

Each test runs a small real HTTP server on 127.0.0.1 (``http.server`` in a
thread): one that is down, one that answers junk, one that never replies, one
that rejects the key, and an OpenAI-compatible one with no log-probabilities,
no tokenizer and no grammar support, so every fallback path is exercised.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kidneytalk.config import Paths
from kidneytalk.errors import ContextOverflowError, ModelError
from kidneytalk.llm_server import ServerLLM, estimate_tokens, parse_url
from kidneytalk.models import ModelRegistry

Handler = Callable[[BaseHTTPRequestHandler, str, dict], None]
MODELS = {"object": "list", "data": [{"id": "tiny", "object": "model"}]}


@contextmanager
def fake_server(handle: Handler) -> Iterator[tuple[str, list[tuple[str, dict]]]]:
    """(URL, requests seen) of a real HTTP server on loopback answering with ``handle``."""
    seen: list[tuple[str, dict]] = []

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> dict:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n)) if n else {}

        def do_GET(self) -> None:
            seen.append((self.path, {"auth": self.headers.get("Authorization", "")}))
            handle(self, self.path, {})

        def do_POST(self) -> None:
            body = self._body()
            seen.append((self.path, body))
            handle(self, self.path, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def reply(
    h: BaseHTTPRequestHandler, status: int, body: bytes | dict, kind: str = "application/json"
) -> None:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    h.send_response(status)
    h.send_header("Content-Type", kind)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- failures: one clear line naming the host
def test_a_server_that_is_down_is_named_and_does_not_hang():
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(ModelError, match=f"127.0.0.1:{port} refused the connection") as err:
        ServerLLM(f"http://127.0.0.1:{port}/v1")
    assert time.monotonic() - t0 < 5 and "\n" not in str(err.value)


def test_garbage_replies_are_reported_not_parsed():
    def junk(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        reply(h, 200, b"<html>router login page</html>", "text/html")

    with (
        fake_server(junk) as (url, _),
        pytest.raises(ModelError, match="unexpected reply to /v1/models") as err,
    ):
        ServerLLM(url)
    assert url.removeprefix("http://") in str(err.value)

    def junk_stream(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            return reply(h, 200, MODELS)
        if path == "/v1/chat/completions":
            return reply(
                h,
                200,
                b'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\ndata: }{\n\n',
                "text/event-stream",
            )
        reply(h, 404, {"error": "not found"})

    with fake_server(junk_stream) as (url, _):
        llm = ServerLLM(url)
        pieces: list[str] = []
        with pytest.raises(ModelError, match="unexpected reply to /v1/chat/completions"):
            for piece in llm.stream([{"role": "user", "content": "hello"}], max_tokens=40):
                pieces.append(piece)
        assert pieces == ["Hi"]


def test_a_server_that_never_replies_times_out_with_a_clear_message():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # connections complete (backlog) but nobody ever answers
    port = listener.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(ModelError, match=f"127.0.0.1:{port} did not reply within 1 s"):
            ServerLLM(f"http://127.0.0.1:{port}", read_timeout=1.0)
        assert time.monotonic() - t0 < 4
    finally:
        listener.close()


def test_http_errors_and_a_wrong_key_name_the_host_and_never_show_the_key(tmp_path: Path, caplog):
    secret = "sk-very-secret-123"
    key = tmp_path / "key.txt"
    key.write_text(secret + "\n")

    def guarded(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if h.headers.get("Authorization") != "Bearer right-key":
            return reply(h, 401, {"error": {"message": "Invalid API key"}})
        reply(h, 200, MODELS)

    caplog.set_level(logging.DEBUG)
    with (
        fake_server(guarded) as (url, seen),
        pytest.raises(ModelError, match="refused the API key") as err,
    ):
        ServerLLM(url, api_key_file=key)
    assert seen[0][1]["auth"] == f"Bearer {secret}"  # sent to the server, and only there
    assert secret not in str(err.value) and secret not in caplog.text

    def broken(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            return reply(h, 200, MODELS)
        if path == "/v1/chat/completions":
            return reply(h, 500, {"error": {"message": "CUDA out of memory"}})
        reply(h, 404, {"detail": "Not Found"})

    with fake_server(broken) as (url, _):
        llm = ServerLLM(url)
        with pytest.raises(
            ModelError, match=r"answered HTTP 500 to /v1/chat/completions: CUDA out of memory"
        ):
            llm.complete([{"role": "user", "content": "hi"}])
    with pytest.raises(ModelError, match="Cannot read the API key file"):
        ServerLLM("http://127.0.0.1:1", api_key_file=tmp_path / "missing.txt")


# ---------------------------------------------------------------- fallbacks of a plain OpenAI-compatible server
def plain_openai(script: dict[str, str], delay: float = 0.0) -> Handler:
    """No logprobs, no tokenizer, no /props; grammar rejected with 422; replies scripted by question."""

    def handle(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            return reply(h, 200, MODELS)
        if path not in ("/v1/chat/completions", "/v1/completions"):
            return reply(h, 404, {"detail": "Not Found"})
        if "grammar" in body or "repeat_penalty" in body:
            return reply(h, 422, {"detail": "extra fields not permitted"})
        prompt = body.get("prompt") or body["messages"][-1]["content"]
        text = next((v for k, v in script.items() if k in prompt), "I am not sure.")
        if not body.get("stream"):
            choice = (
                {"message": {"role": "assistant", "content": text}}
                if "messages" in body
                else {"text": text}
            )
            return reply(h, 200, {"choices": [{"index": 0, **choice, "finish_reason": "stop"}]})
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        try:
            for word in text.split(" ") * (1000 if delay else 1):
                event = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
                h.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                h.wfile.flush()
                time.sleep(delay)
            h.wfile.write(b"data: [DONE]\n\n")
        except OSError:
            pass  # the client hung up
        h.close_connection = True

    return handle


def test_decisions_fall_back_to_strictly_read_replies_when_the_server_has_no_logprobs():
    script = {"relevant": "Yes, it is.", "unrelated": "no", "Pick": "B. because", "Answer:": " C"}
    with fake_server(plain_openai(script)) as (url, seen):
        llm = ServerLLM(url, n_ctx=2048)
        assert llm.n_ctx == 2048 and llm.where == url.removeprefix("http://")
        assert llm.yes_probability([{"role": "user", "content": "Is this relevant?"}]) == 1.0
        assert llm.yes_probability([{"role": "user", "content": "Is this unrelated?"}]) == 0.0
        assert (
            llm.yes_probability([{"role": "user", "content": "Something else?"}]) == 0.5
        )  # no verdict: unsure
        probs = llm.label_probabilities([{"role": "user", "content": "Pick one"}], ["A", "B", "C"])
        assert probs == {"A": 0.0, "B": 1.0, "C": 0.0}
        probs = llm.label_probabilities(
            [{"role": "user", "content": "Q"}], ["A", "B", "C"], answer_prefix="Answer:"
        )
        assert probs == {"A": 0.0, "B": 0.0, "C": 1.0}
        assert (
            llm.choose([{"role": "user", "content": "Is this relevant?"}], ["yes", "no"]) == "yes"
        )
    asked = [b for p, b in seen if p in ("/v1/chat/completions", "/v1/completions")]
    assert (
        asked[0].get("logprobs") is True and asked[0].get("top_logprobs") == 20
    )  # asked for them first
    assert not any(b.get("logprobs") for b in asked[1:])  # then stopped asking
    assert (
        any(b.get("grammar") for _, b in seen) and not llm._extras
    )  # grammar tried once, then dropped


def test_without_a_tokenizer_the_estimate_keeps_prompts_inside_the_context():
    with fake_server(plain_openai({})) as (url, _):
        llm = ServerLLM(url, n_ctx=600)
        text = "Potassium should be checked within two weeks. " * 40
        assert llm.count_tokens(text) == estimate_tokens(text) >= len(text) / 3
        assert estimate_tokens("肾脏") == 2  # one token per CJK character, never fewer
        cut = llm.truncate(text, 100)
        assert text.startswith(cut) and estimate_tokens(cut) <= 100 < estimate_tokens(
            cut + text[len(cut) :][:3]
        )
        with pytest.raises(ContextOverflowError, match="600-token context"):
            llm.complete([{"role": "user", "content": text * 2}])


def test_cancel_closes_a_stream_at_once():
    with fake_server(plain_openai({"essay": "kidneys filter blood"}, delay=0.3)) as (url, _):
        llm = ServerLLM(url)
        cancel = threading.Event()
        pieces = []
        t0 = time.monotonic()
        for piece in llm.stream(
            [{"role": "user", "content": "Write an essay"}], max_tokens=400, cancel=cancel
        ):
            pieces.append(piece)
            if len(pieces) == 2:
                cancel.set()
                stopped = time.monotonic()
        assert len(pieces) == 2 and time.monotonic() - stopped < 0.5 and time.monotonic() - t0 < 5


def test_a_server_publishing_its_template_gets_exact_prompts():
    props = {
        "chat_template": "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}",
        "default_generation_settings": {"n_ctx": 8192},
    }

    def llama_server(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/v1/models":
            return reply(h, 200, MODELS)
        if path == "/props":
            return reply(h, 200, props)
        if path == "/tokenize":
            return reply(h, 200, {"tokens": list(range(len(body["content"].split())))})
        reply(h, 404, {"error": "not found"})

    with fake_server(llama_server) as (url, _):
        llm = ServerLLM(url, max_ctx=4096)
        assert llm.n_ctx == 4096  # the server's 8192, capped by the settings
        assert (
            llm.format_prompt([{"role": "user", "content": "hi there"}])
            == "<|user|>hi there\n<|assistant|>"
        )
        assert llm.count_tokens("one two three") == 3
        # the rendered prompt "<|user|>a b c\n<|assistant|>" is tokenized: exact, no estimated margin
        assert llm.count_messages([{"role": "user", "content": "a b c"}]) == 4


# ---------------------------------------------------------------- configuration
def test_add_server_checks_the_url_and_stores_only_the_key_file(tmp_path: Path):
    paths = Paths.resolve(tmp_path / "home").ensure()
    reg = ModelRegistry(paths)
    key = tmp_path / "key"
    key.write_text("sk-secret-xyz")
    for bad in ("ftp://gpu:21", "gpu-server:8080", "http://"):
        with pytest.raises(ModelError, match="must start with http"):
            reg.add_server("gpu", bad)
    with pytest.raises(ModelError, match="Cannot read the API key file"):
        reg.add_server("gpu", "http://gpu.local:8080", api_key_file=tmp_path / "nope")
    entry = reg.add_server(
        "GPU Server", "https://gpu.local/v1", api_key_file=key, model_id="qwen", n_ctx=8192
    )
    assert (entry.name, entry.where, entry.is_server) == ("gpu-server", "gpu.local:443", True)
    assert "sk-secret-xyz" not in paths.models_file.read_text()
    assert parse_url("http://10.0.0.5:8000/v1/") == ("http", "10.0.0.5", 8000, "")
    with pytest.raises(ModelError, match="has no GGUF file"):
        entry.info()
    assert reg.set_default("gpu-server").url == "https://gpu.local/v1"


def test_cli_add_server_lists_where_it_runs_and_a_down_server_fails_ask_in_one_line(
    tmp_path: Path, capsys
):
    from kidneytalk.cli import main

    home = str(tmp_path / "home")
    port = free_port()
    assert (
        main(
            [
                "--home",
                home,
                "models",
                "add-server",
                "ward",
                f"http://127.0.0.1:{port}",
                "--n-ctx",
                "2048",
            ]
        )
        == 0
    )
    assert f"runs on 127.0.0.1:{port}" in capsys.readouterr().out
    assert main(["--home", home, "models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["ward"]["where"] == f"127.0.0.1:{port}" and rows["ward"]["n_ctx"] == 2048
    assert rows["smollm2-135m-instruct"]["where"] == "this computer"
    assert main(["--home", home, "models", "default", "ward"]) == 0
    capsys.readouterr()
    assert main(["--home", home, "models", "add-server", "bad", "file:///etc/passwd"]) == 1
    assert "must start with http" in capsys.readouterr().err
    from kidneytalk.engine import sample_document

    assert (
        main(["--home", home, "add", str(sample_document())]) == 0
    )  # a covered question reaches the model
    capsys.readouterr()
    t0 = time.monotonic()
    assert (
        main(["--home", home, "ask", "--mode", "naive", "When should metformin be stopped?"]) == 1
    )
    err = capsys.readouterr().err.strip()
    assert (
        err == f"kidneytalk: Model server 127.0.0.1:{port} refused the connection; is it running?"
    )
    assert time.monotonic() - t0 < 60
