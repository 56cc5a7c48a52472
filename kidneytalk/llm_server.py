"""A language model served over the OpenAI-compatible HTTP API (llama-server, vLLM, Ollama…).

:class:`ServerLLM` offers what :class:`kidneytalk.llm_base.LLM` asks for, with
the standard library only (``http.client``): chat replies stream as
server-sent events, one-token decisions read ``logprobs``/``top_logprobs``
when the server offers them and otherwise fall back to a constrained
generation (a GBNF grammar when the server accepts one, else a short reply
parsed strictly). Tokens are counted with the server's tokenize endpoint when
it has one, else estimated on the high side, so a prompt never overflows the
context. Every failure (down, refused, timeout, HTTP error, garbage) is a
:class:`ModelError` naming the host; the API key is read from a file and never
logged. The only host contacted is the one in the URL.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import math
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kidneytalk.errors import Cancelled, ContextOverflowError, ModelError
from kidneytalk.llm_base import Message
from kidneytalk.reasoning import (
    DEFAULT_THINKING_TOKENS,
    THINK,
    ReasoningInfo,
    ThinkingBudget,
    closed_thought,
    detect,
    stream_within_budget,
    strip_reasoning,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0
TOP_LOGPROBS = 20
_MESSAGE_OVERHEAD = 8  # template tokens around one message, counted when the template is unknown
_PROMPT_OVERHEAD = 48  # a default system prompt some templates add, plus the reply header
OLLAMA_CONTEXT = 2048  # Ollama's smallest default context; it cuts longer prompts silently
_PROBE_TOKENS = 1 << 17  # longer than any context llama_cpp.server is likely to be given
_VLLM_EXTRAS = ("structured_outputs", "guided_grammar", "repetition_penalty")
_YES = {"yes", "是"}
_NO = {"no", "否"}


def estimate_tokens(text: str) -> int:
    """A count no real tokenizer exceeds by much: 1 token per 3 ASCII characters, 1 per other character."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / 3) + (len(text) - ascii_chars)


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, base path without a trailing /v1) of a model server URL; ModelError if unusable."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(
            f"Model server URL '{url}' must start with http:// or https:// and name a host."
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ModelError(f"Model server URL '{url}' has an invalid port.") from exc
    base = parts.path.rstrip("/")
    if base.endswith("/v1"):
        base = base[:-3]
    return parts.scheme, parts.hostname, port, base


def read_api_key(path: str | Path | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ModelError(f"Cannot read the API key file {path}: {exc.strerror or exc}") from exc


class ServerLLM:
    """A model on an OpenAI-compatible server; thread-safe (one HTTP connection per request)."""

    max_thinking_tokens = (
        DEFAULT_THINKING_TOKENS  # a streamed answer's thought (llm.max_thinking_tokens)
    )
    last_budget: ThinkingBudget | None = (
        None  # the last streamed reply's thought and answer token counts
    )
    # The current answer's Stop (see stop_on): every request made while it is set ends at once.
    stop_event: threading.Event | None = None

    def __init__(
        self,
        url: str,
        *,
        name: str = "",
        model_id: str = "",
        n_ctx: int = 0,
        api_key_file: str | Path | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        max_ctx: int = 0,
    ):
        """``n_ctx`` (a per-server setting) wins over what the server reports; ``max_ctx`` caps both."""
        self.url = url
        self._scheme, self._host, self._port, self._base = parse_url(url)
        self.where = f"{self._host}:{self._port}"
        self.name = name or self.where
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._key = read_api_key(api_key_file)
        self._extras = (
            True  # grammar / repeat_penalty accepted (False after the server rejected them)
        )
        self._logprobs = True  # False once a reply came without log-probabilities
        self._tokenize: str | None = None  # "" when the server has no tokenize endpoint
        self._closed = False
        models = self._get_json("/v1/models")
        data = models.get("data") if isinstance(models, dict) else None
        if not isinstance(data, list):
            raise self._garbage("/v1/models")
        ids = [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]
        if model_id and ids and model_id not in ids:
            raise ModelError(
                f"Model server {self.where} has no model '{model_id}' (it serves: {', '.join(ids)})."
            )
        self.model_id = model_id or (ids[0] if ids else "")
        props = self._props()
        self._template = str(props.get("chat_template") or "")
        self._bos, self._eos = str(props.get("bos_token") or ""), str(props.get("eos_token") or "")
        self.kind = self._kind(props, data)
        # vLLM keeps its template to itself but renders messages with it (/tokenize, /detokenize)
        self._renders = self.kind == "vllm"
        rendered = self._render([{"role": "user", "content": "?"}])
        # a template kept by the server shows its think tags in what it renders, if anywhere
        self.reasoning: ReasoningInfo = detect(
            self._template or (rendered if self._renders else ""), rendered
        )
        if self.kind == "ollama":
            self._tokenize = ""  # Ollama has no tokenize endpoint: counts are estimated
        served = _served_context(props, data, self.model_id)
        if not served and not n_ctx and self.kind == "openai" and _llama_cpp_python(data):
            served = self._overflow_context()
        default = OLLAMA_CONTEXT if self.kind == "ollama" else 4096
        ctx = n_ctx or served or default
        self.n_ctx = min(ctx, max_ctx) if max_ctx else ctx
        if self.kind == "ollama" and not n_ctx:
            log.warning(
                "model server %s is Ollama, which cuts prompts longer than its context without "
                "saying so; KidneyTalk keeps prompts within %d tokens (set the server's context "
                "length to OLLAMA_CONTEXT_LENGTH to use more)",
                self.where,
                self.n_ctx,
            )
        log.info(
            "model server %s (%s): model %s, n_ctx %d (server reports %s)",
            self.where,
            self.kind,
            self.model_id,
            self.n_ctx,
            served or "nothing",
        )

    def _kind(self, props: dict, models: list) -> str:
        """Which server this is: "llama.cpp" (has /props), "vllm", "ollama" or "openai" (anything else).

        Their documented differences: vLLM takes constraints as ``structured_outputs``
        (``guided_grammar`` before v0.12) and ``repetition_penalty``, and tokenizes a
        ``prompt``; Ollama ignores fields it does not know (no grammar, no
        repeat_penalty), has no tokenizer endpoint, templates every ``/v1/completions``
        prompt (raw continuations go to its own ``/api/generate``) and sends reasoning
        as ``reasoning``.
        """
        if props.get("chat_template") or props.get("default_generation_settings"):
            return "llama.cpp"
        if any(isinstance(m, dict) and m.get("owned_by") == "vllm" for m in models):
            return "vllm"
        try:
            version = self._get_json("/api/version")
        except ModelError:
            return "openai"
        return "ollama" if isinstance(version, dict) and "version" in version else "openai"

    def stop_on(self, cancel: threading.Event | None) -> None:
        """Requests from now on end as soon as ``cancel`` is set (the engine passes each answer's Stop).

        Streamed replies then end quietly; any other request raises :class:`Cancelled`.
        A stalled server would otherwise hold a Stop until the reply timeout
        (a judge verdict, a copy-paste selection: requests that stream nothing).
        """
        self.stop_event = cancel

    # ------------------------------------------------------------ HTTP
    def _garbage(self, path: str) -> ModelError:
        return ModelError(
            f"Model server {self.where} sent an unexpected reply to {path} "
            "(is the URL an OpenAI-compatible server?)."
        )

    def _connect(self, timeout: float | None = None) -> http.client.HTTPConnection:
        if self._closed:
            raise ModelError(f"The connection to model server {self.where} was closed.")
        conn: http.client.HTTPConnection
        if self._scheme == "https":
            conn = http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=self.connect_timeout,
                context=ssl.create_default_context(),
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            raise ModelError(
                f"Model server {self.where} did not answer within {self.connect_timeout:g} s; "
                "is it running and reachable?"
            ) from exc
        except ConnectionRefusedError as exc:
            raise ModelError(
                f"Model server {self.where} refused the connection; is it running?"
            ) from exc
        except socket.gaierror as exc:
            raise ModelError(f"Cannot find model server host {self._host}.") from exc
        except ssl.SSLError as exc:
            raise ModelError(
                f"Secure connection to model server {self.where} failed: {exc.reason}."
            ) from exc
        except OSError as exc:
            raise ModelError(
                f"Cannot reach model server {self.where}: {exc.strerror or exc}."
            ) from exc
        assert conn.sock is not None
        conn.sock.settimeout(timeout or self.read_timeout)
        return conn

    def _headers(self, body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream"}
        if body:
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _open(
        self,
        method: str,
        path: str,
        payload: dict | None = None,
        timeout: float | None = None,
        *,
        cancel: threading.Event | None = None,
        done: threading.Event | None = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """A connection and its response with a 2xx status; ModelError (naming the host) otherwise.

        With ``cancel``, the connection is shut as soon as it is set, until ``done`` is
        set (:class:`Cancelled` if that happens before the response arrives).
        """
        conn = self._connect(timeout)
        if cancel is not None and done is not None:
            threading.Thread(
                target=_hang_up_on_cancel,
                args=(conn.sock, cancel, done),
                daemon=True,
                name="kt-server-cancel",
            ).start()
        try:
            body = json.dumps(payload).encode("utf-8") if payload is not None else None
            conn.request(
                method, self._base + path, body=body, headers=self._headers(body is not None)
            )
            resp = conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise ModelError(
                f"Model server {self.where} did not reply within {timeout or self.read_timeout:g} s."
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if cancel is not None and cancel.is_set():
                raise Cancelled("stopped") from exc
            raise ModelError(
                f"Model server {self.where} closed the connection ({type(exc).__name__})."
            ) from exc
        if resp.status >= 400:
            try:
                detail = resp.read(2000).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                detail = ""
            finally:
                conn.close()
            raise _http_error(self.where, path, resp.status, detail)
        return conn, resp

    def _request(
        self, method: str, path: str, payload: dict | None = None, timeout: float | None = None
    ) -> Any:
        stop = self.stop_event
        if stop is not None and stop.is_set():
            raise Cancelled("stopped")
        done = threading.Event()
        try:
            conn, resp = self._open(method, path, payload, timeout, cancel=stop, done=done)
            try:
                raw = resp.read()
            except TimeoutError as exc:
                raise ModelError(
                    f"Model server {self.where} did not reply within "
                    f"{timeout or self.read_timeout:g} s."
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                if stop is not None and stop.is_set():
                    raise Cancelled("stopped") from exc
                raise ModelError(
                    f"Model server {self.where} closed the connection ({type(exc).__name__})."
                ) from exc
            finally:
                conn.close()
        finally:
            done.set()
        if stop is not None and stop.is_set():
            raise Cancelled("stopped")  # a reply cut short may still have parsed
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise self._garbage(path) from exc

    def _get_json(self, path: str) -> Any:
        return self._request("GET", path, timeout=min(self.read_timeout, 30.0))

    def _post(self, path: str, payload: dict) -> Any:
        """POST, retrying once without llama.cpp's extra fields if the server rejects them."""
        try:
            return self._request("POST", path, payload)
        except _Rejected:
            if not self._drop_extras(payload):
                raise
            return self._request("POST", path, payload)

    def _drop_extras(self, payload: dict) -> bool:
        extras = [
            k
            for k in ("grammar", "repeat_penalty", "reasoning_format", *_VLLM_EXTRAS)
            if k in payload
        ]
        for k in extras:
            del payload[k]
        if extras:
            self._extras = False
            log.info(
                "model server %s rejected %s; using plain requests", self.where, ", ".join(extras)
            )
        return bool(extras)

    def _props(self) -> dict:
        """llama-server's /props (chat template, context size); {} for servers without it."""
        try:
            props = self._get_json("/props")
        except ModelError:
            return {}
        return props if isinstance(props, dict) else {}

    # ------------------------------------------------------------ counting
    def _tokens(self, text: str) -> list[int] | None:
        """Token ids from the server's tokenize endpoint, or None when it has none."""
        routes = [self._tokenize] if self._tokenize else ["/extras/tokenize", "/tokenize"]
        if self._tokenize == "":
            return None
        for route in routes:
            # llama.cpp reads "content", vLLM "prompt", llama_cpp.server "input"
            payload = (
                {"input": text}
                if route == "/extras/tokenize"
                else {"content": text, "prompt": text, "add_special_tokens": False}
            )
            try:
                reply = self._request("POST", route, {**payload, "model": self.model_id})
            except (_NotFound, _Rejected):
                continue
            tokens = reply.get("tokens") if isinstance(reply, dict) else None
            if isinstance(tokens, list):
                self._tokenize = route
                return [int(t) if not isinstance(t, dict) else int(t.get("id", 0)) for t in tokens]
            raise self._garbage(route)
        self._tokenize = ""
        return None

    def count_tokens(self, text: str) -> int:
        tokens = self._tokens(text)
        return len(tokens) if tokens is not None else estimate_tokens(text)

    def count_messages(self, messages: Sequence[Message]) -> int:
        if self._template:
            return self.count_tokens(self.format_prompt(messages))
        if self._renders:
            tokens = self._chat_tokens(messages, {})
            if tokens is not None:
                return len(tokens)
        text = "\n".join(m["content"] for m in messages)
        return self.count_tokens(text) + _MESSAGE_OVERHEAD * len(messages) + _PROMPT_OVERHEAD

    def truncate(self, text: str, max_tokens: int) -> str:
        """The start of ``text`` that fits in ``max_tokens``."""
        tokens = self._tokens(text)
        if tokens is not None:
            if len(tokens) <= max_tokens:
                return text
            route = "/extras/detokenize" if self._tokenize == "/extras/tokenize" else "/detokenize"
            try:
                reply = self._request(
                    "POST", route, {"tokens": tokens[:max_tokens], "model": self.model_id}
                )
                out = (
                    reply.get("text", reply.get("content", reply.get("prompt")))
                    if isinstance(reply, dict)
                    else None
                )
                if isinstance(out, str):
                    return out
            except _NotFound:
                pass
        if estimate_tokens(text) <= max_tokens:
            return text
        lo, hi = 0, len(text)  # the longest prefix whose estimate fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if estimate_tokens(text[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]

    def _room(self, used: int, want: int, min_room: int) -> int:
        room = self.n_ctx - used
        if room < min_room + 1:
            raise ContextOverflowError(
                f"The prompt needs {used} tokens but model {self.name} has a {self.n_ctx}-token context."
            )
        return min(want, room - 1)

    # ------------------------------------------------------------ prompts
    def format_prompt(self, messages: Sequence[Message], *, thinking: bool = False) -> str:
        """The prompt text for ``messages`` (the server's template when it publishes one).

        As for :class:`kidneytalk.llm.LocalLLM`, a reasoning template's reply
        begins after an empty think block unless ``thinking``.
        """
        info = self.reasoning
        if thinking or not info.declared:
            return self._render(messages)
        prompt = self._render(messages, **({info.switch: False} if info.switch else {}))
        return closed_thought(info, prompt)

    def _render(self, messages: Sequence[Message], **variables: object) -> str:
        if self._template:
            try:
                from jinja2.sandbox import ImmutableSandboxedEnvironment

                env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
                return env.from_string(self._template).render(
                    messages=list(messages),
                    add_generation_prompt=True,
                    bos_token=self._bos,
                    eos_token=self._eos,
                    **variables,
                )
            except Exception:
                log.debug("server template not usable; using a plain layout", exc_info=True)
        if self._renders:
            tokens = self._chat_tokens(messages, variables)
            if tokens is not None:
                reply = self._request(
                    "POST", "/detokenize", {"model": self.model_id, "tokens": tokens}
                )
                if isinstance(reply, dict) and isinstance(reply.get("prompt"), str):
                    return str(reply["prompt"])
                raise self._garbage("/detokenize")
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nAssistant:"

    def _chat_tokens(self, messages: Sequence[Message], variables: dict) -> list[int] | None:
        """Token ids of ``messages`` through the server's own chat template (vLLM), None if it cannot.

        The prompt a chat request would get, reply header included; ``variables``
        go to the template (``enable_thinking``...).
        """
        payload: dict[str, Any] = {"model": self.model_id, "messages": [dict(m) for m in messages]}
        payload.update(add_generation_prompt=True, add_special_tokens=False)
        if variables:
            payload["chat_template_kwargs"] = dict(variables)
        try:
            reply = self._request("POST", "/tokenize", payload)
        except (_NotFound, _Rejected):
            log.info(
                "model server %s does not render chat messages; using a plain layout", self.where
            )
            self._renders = False
            return None
        tokens = reply.get("tokens") if isinstance(reply, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
            raise self._garbage("/tokenize")
        return tokens

    def _prompt(self, prompt: str) -> dict[str, Any]:
        """The request fields of a prompt for ``/v1/completions``.

        A prompt rendered by vLLM already holds the template's special tokens
        (a BOS among them), so vLLM must not add its own.
        """
        return {"prompt": prompt, **({"add_special_tokens": False} if self._renders else {})}

    def _overflow_context(self) -> int:
        """The context of ``python -m llama_cpp.server``, which states it only when a prompt overflows it.

        A prompt of ``_PROBE_TOKENS`` tokens is refused before any of it is
        evaluated ("This model's maximum context length is N tokens…"); a
        server whose context is larger still takes it (0 is returned then,
        and the probe cost one long prompt).
        """
        payload = {"model": self.model_id, "prompt": " a" * _PROBE_TOKENS, "max_tokens": 1}
        try:
            self._request("POST", "/v1/completions", payload)
        except ContextOverflowError as exc:
            found = re.search(r"maximum context length is (\d+) tokens", str(exc))
            return int(found.group(1)) if found else 0
        except ModelError:
            return 0
        return 0

    def _payload(
        self,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
        grammar: str | None,
        repeat_penalty: float | None,
    ) -> dict:
        payload: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if self.model_id:
            payload["model"] = self.model_id
        if stop:
            payload["stop"] = list(stop)[:4]
        if not self._extras or self.kind == "ollama":  # Ollama would ignore them silently
            return payload
        if self.kind == "vllm":  # GBNF is a dialect of the EBNF vLLM's grammar backend reads
            if grammar:
                payload["structured_outputs"] = {"grammar": grammar}
                payload["guided_grammar"] = grammar
            if repeat_penalty is not None:
                payload["repetition_penalty"] = repeat_penalty
            return payload
        if grammar:
            payload["grammar"] = grammar
        if repeat_penalty is not None:
            payload["repeat_penalty"] = repeat_penalty
        return payload

    # ------------------------------------------------------------ generation
    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.1,
        cancel: threading.Event | None = None,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
        repeat_penalty: float = 1.15,
    ) -> Iterator[str]:
        """Yield reply pieces as the server sends them; ``cancel`` closes the connection at once.

        A reasoning model's think block is explicit in the text whether the
        server sends it inline or apart (``reasoning_content``); the thought
        has its own budget (``max_thinking_tokens``) as for
        :meth:`kidneytalk.llm.LocalLLM.stream`. A thought cut at its budget is
        continued into the answer through ``/v1/completions`` when the
        server's template is known, else the reply ends with the thought.
        """
        used = self.count_messages(messages)
        max_tokens = self._room(used, max_tokens, min(32, max_tokens))
        info = self.reasoning
        opened = info.tags if info.tags is not None and info.opens_in_prompt else None
        budget = ThinkingBudget(self.max_thinking_tokens, max_tokens, opened=opened)
        self.last_budget = budget
        payload = self._payload(
            self._room(used, max_tokens + budget.thinking, 1),
            temperature,
            stop,
            grammar,
            repeat_penalty,
        )
        payload.update(messages=[dict(m) for m in messages], stream=True)
        if self._extras and self.kind in ("llama.cpp", "openai"):
            payload["reasoning_format"] = "none"  # llama-server: the think block stays in the text

        def resume(thought: str) -> Iterator[str]:
            prompt = self.format_prompt(messages, thinking=True) + thought
            log.info("thought cut at %d tokens; writing the answer", budget.thought_tokens)
            more = self._payload(
                self._room(self.count_tokens(prompt), max_tokens, 1),
                temperature,
                stop,
                None,
                repeat_penalty,
            )
            more.update(self._prompt(prompt), stream=True)
            return self._stream("/v1/completions", more, cancel, opened=None)

        if opened is not None:
            yield opened.open
        yield from stream_within_budget(
            self._stream("/v1/chat/completions", payload, cancel, opened=opened),
            budget,
            resume if self._template or self._renders else None,
            cancel,
        )

    def _stream(
        self,
        path: str,
        payload: dict,
        cancel: threading.Event | None,
        *,
        opened: object = None,
    ) -> Iterator[str]:
        """The reply's text pieces; reasoning sent apart is put back between think tags.

        ``opened``: the prompt opened a think block (its tag was already yielded).
        """
        cancel = cancel or self.stop_event
        if cancel is not None and cancel.is_set():
            return
        done = threading.Event()
        try:
            try:
                conn, resp = self._open("POST", path, payload, cancel=cancel, done=done)
            except _Rejected:
                if not self._drop_extras(payload):
                    raise
                conn, resp = self._open("POST", path, payload, cancel=cancel, done=done)
        except Cancelled:
            done.set()
            return  # stopped before the server began its reply
        except BaseException:
            done.set()
            raise
        thinking = False  # inside a think block the server sent apart
        try:
            for raw in resp:
                if cancel is not None and cancel.is_set():
                    return
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith(":") or not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                thought, piece = self._piece(path, data)
                if thought:
                    if not thinking and opened is None:
                        yield THINK.open
                    thinking = True
                    yield thought
                if piece:
                    if thinking:
                        yield THINK.close + "\n\n"
                        thinking = False
                    yield piece
        except TimeoutError as exc:
            raise ModelError(
                f"Model server {self.where} stopped sending for {self.read_timeout:g} s."
            ) from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if cancel is not None and cancel.is_set():
                return
            raise ModelError(
                f"Model server {self.where} broke off its reply ({type(exc).__name__})."
            ) from exc
        finally:
            done.set()
            conn.close()

    def _piece(self, path: str, data: str) -> tuple[str, str]:
        """``(reasoning, text)`` of one streamed event (reasoning: what a server sent apart)."""
        try:
            event = json.loads(data)
        except ValueError as exc:
            raise self._garbage(path) from exc
        if not isinstance(event, dict):
            raise self._garbage(path)
        if "error" in event:
            raise ModelError(f"Model server {self.where} failed: {_error_text(event['error'])}")
        choices = event.get("choices")
        if not isinstance(choices, list):
            raise self._garbage(path)
        if not choices or not isinstance(choices[0], dict):
            return "", ""
        choice = choices[0]
        delta = choice.get("delta")
        if isinstance(delta, dict):
            # llama-server and vLLM name it reasoning_content, Ollama and newer vLLM reasoning
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            text = delta.get("content")
        else:
            thought, text = None, choice.get("text")
        return (
            thought if isinstance(thought, str) else "",
            text if isinstance(text, str) else "",
        )

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.1,
        cancel: threading.Event | None = None,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
        repeat_penalty: float = 1.15,
    ) -> str:
        """The whole reply without a reasoning model's think block (see :mod:`kidneytalk.reasoning`)."""
        text = "".join(
            self.stream(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                cancel=cancel,
                grammar=grammar,
                stop=stop,
                repeat_penalty=repeat_penalty,
            )
        )
        return strip_reasoning(text)

    def continue_prompt(
        self,
        prompt: str,
        *,
        max_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        grammar: str | None = None,
        temperature: float = 0.0,
    ) -> str:
        """Completion of an already formatted prompt (``/v1/completions``; Ollama's ``/api/generate``).

        Ollama applies the model's template to a ``/v1/completions`` prompt, so
        a raw continuation goes to its own API with ``raw`` set.
        """
        max_tokens = self._room(self.count_tokens(prompt), max_tokens, 1)
        if self.kind == "ollama":
            options: dict[str, Any] = {
                "num_predict": max_tokens,
                "temperature": temperature,
                "repeat_penalty": 1.1,
            }
            if stop:
                options["stop"] = list(stop)
            body = {"model": self.model_id, "prompt": prompt, "raw": True, "stream": False}
            reply = self._post("/api/generate", {**body, "options": options})
            text = reply.get("response") if isinstance(reply, dict) else None
            if not isinstance(text, str):
                raise self._garbage("/api/generate")
            return text
        payload = self._payload(max_tokens, temperature, stop, grammar, 1.1)
        payload.update(self._prompt(prompt))
        reply = self._post("/v1/completions", payload)
        return self._text(reply, "/v1/completions")

    def _text(self, reply: Any, path: str) -> str:
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"] if "message" in choice else choice["text"]
        except (KeyError, IndexError, TypeError) as exc:
            raise self._garbage(path) from exc
        return text if isinstance(text, str) else ""

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> str:
        """One of ``options``: forced by a grammar when the server takes one, else read strictly."""
        return self._constrained(messages, "", options) or options[-1]

    # ------------------------------------------------------------ one-token decisions
    def _first_token_logprobs(
        self, messages: Sequence[Message], answer_prefix: str
    ) -> dict[str, float] | None:
        """{token text: log-probability} of the reply's first token, None when the server gives none."""
        if not self._logprobs:
            return None
        if self.kind == "ollama" and answer_prefix:
            return None  # Ollama templates /v1/completions prompts: no raw prompt to score
        if answer_prefix or self._template:
            prompt = self.format_prompt(messages) + answer_prefix
            self._room(self.count_tokens(prompt), 1, 1)
            payload = self._payload(1, 0.0, None, None, None)
            payload.update(self._prompt(prompt), logprobs=TOP_LOGPROBS)
            path = "/v1/completions"
        else:
            self._room(self.count_messages(messages), 1, 1)
            payload = self._payload(1, 0.0, None, None, None)
            payload.update(
                messages=[dict(m) for m in messages], logprobs=True, top_logprobs=TOP_LOGPROBS
            )
            path = "/v1/chat/completions"
        try:
            reply = self._request("POST", path, payload)
        except _Rejected:
            self._logprobs = False
            return None
        top = _top_logprobs(reply)
        if top is None:
            log.info(
                "model server %s gives no log-probabilities; using constrained replies", self.where
            )
            self._logprobs = False
        return top

    def yes_probability(self, messages: Sequence[Message], *, answer_prefix: str = "") -> float:
        """P(yes) / (P(yes) + P(no)) for the reply's first token (1 or 0 from a constrained reply otherwise)."""
        top = self._first_token_logprobs(messages, answer_prefix)
        if top:
            yes = sum(math.exp(lp) for tok, lp in top.items() if tok.strip().lower() in _YES)
            no = sum(math.exp(lp) for tok, lp in top.items() if tok.strip().lower() in _NO)
            if yes + no > 0:
                return yes / (yes + no)
        return {"yes": 1.0, "no": 0.0}.get(
            self._constrained(messages, answer_prefix, ["yes", "no"]), 0.5
        )

    def label_probabilities(
        self, messages: Sequence[Message], labels: Sequence[str], *, answer_prefix: str = ""
    ) -> dict[str, float]:
        """P(label) for the reply's next token renormalised over ``labels`` (one-hot from a constrained reply)."""
        top = self._first_token_logprobs(messages, answer_prefix)
        if top:
            mass = {
                label: sum(math.exp(lp) for tok, lp in top.items() if tok.strip() == label)
                for label in labels
            }
            total = sum(mass.values())
            if total > 0:
                return {k: v / total for k, v in mass.items()}
        picked = self._constrained(messages, answer_prefix, labels)
        if not picked:
            return {label: 1 / len(labels) for label in labels}
        return {label: float(label == picked) for label in labels}

    def _constrained(
        self, messages: Sequence[Message], answer_prefix: str, options: Sequence[str]
    ) -> str:
        """The option a short (grammar-constrained when possible) reply names, "" when it names none."""
        alternatives = " | ".join('"' + o.replace('"', '\\"') + '"' for o in options)
        grammar = f"root ::= {alternatives}"
        if answer_prefix:
            text = self.continue_prompt(
                self.format_prompt(messages) + answer_prefix,
                max_tokens=8,
                stop=["\n"],
                grammar=grammar,
            )
        else:
            text = self.complete(messages, max_tokens=8, temperature=0.0, grammar=grammar)
        return _strict_option(text, options)

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> ServerLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Rejected(ModelError):
    """HTTP 400/422: the server did not accept a field of the request."""


class _NotFound(ModelError):
    """HTTP 404/405: the server has no such endpoint."""


def _http_error(where: str, path: str, status: int, detail: str) -> ModelError:
    text = detail
    try:
        parsed = json.loads(detail)
        if isinstance(parsed, dict):
            text = _error_text(parsed.get("error", parsed.get("detail", parsed)))
    except ValueError:
        pass
    text = " ".join(str(text).split())[:200]
    if status in (401, 403):
        return ModelError(
            f"Model server {where} refused the API key (HTTP {status}); check --api-key-file."
        )
    if status in (404, 405):
        return _NotFound(f"Model server {where} has no {path} (HTTP {status}).")
    if "context" in text.lower() and ("exceed" in text.lower() or "length" in text.lower()):
        return ContextOverflowError(
            f"Model server {where}: the prompt does not fit the model's context ({text})."
        )
    if status in (400, 422):
        return _Rejected(
            f"Model server {where} rejected the request to {path} (HTTP {status}): {text}"
        )
    return ModelError(
        f"Model server {where} answered HTTP {status} to {path}: {text or 'no detail'}"
    )


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)
    return str(error)


def _hang_up_on_cancel(
    sock: socket.socket | None, cancel: threading.Event, done: threading.Event
) -> None:
    """Shut the socket as soon as ``cancel`` is set, so a blocked read returns at once.

    The socket is taken when the connection opens: for a reply without a length
    (read until the server closes) ``http.client`` hands the socket to the response
    and forgets it (``conn.sock`` is None), yet the read still blocks on it.
    """
    while not done.wait(0.05):
        if cancel.is_set():
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return


def _served_context(props: dict, models: list, model_id: str) -> int:
    """The context size a server reports (llama-server /props, vLLM max_model_len, llama.cpp meta)."""
    settings = props.get("default_generation_settings")
    if isinstance(settings, dict) and isinstance(settings.get("n_ctx"), int):
        return int(settings["n_ctx"])
    for m in models:
        if not isinstance(m, dict) or (model_id and m.get("id") != model_id):
            continue
        for value in (
            m.get("max_model_len"),
            (m.get("meta") or {}).get("n_ctx_train") if isinstance(m.get("meta"), dict) else None,
        ):
            if isinstance(value, int) and value > 0:
                return value
    return 0


def _llama_cpp_python(models: list) -> bool:
    """Whether ``/v1/models`` came from ``python -m llama_cpp.server`` (its entries are owned by "me")."""
    return bool(models) and all(isinstance(m, dict) and m.get("owned_by") == "me" for m in models)


def _top_logprobs(reply: Any) -> dict[str, float] | None:
    """The first token's alternatives from a chat or completion reply with logprobs, else None."""
    try:
        lp = reply["choices"][0].get("logprobs")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    if not isinstance(lp, dict):
        return None
    content = lp.get("content")
    if isinstance(content, list) and content:  # chat format
        first = content[0]
        out = {
            str(t.get("token", "")): float(t["logprob"])
            for t in first.get("top_logprobs") or []
            if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)
        }
        if isinstance(first.get("logprob"), int | float):
            out.setdefault(str(first.get("token")), float(first["logprob"]))
        return out or None
    top = lp.get("top_logprobs")
    if isinstance(top, list) and top and isinstance(top[0], dict):  # completions format
        return {str(k): float(v) for k, v in top[0].items() if isinstance(v, int | float)} or None
    return None


def _strict_option(text: str, options: Sequence[str]) -> str:
    """The option ``text`` is (or begins with, as a whole word), ignoring case and punctuation; "" if none."""
    cleaned = text.strip().strip("\"'*.,:;!。，").strip()
    for option in options:
        if cleaned == option:
            return option
    lowered = cleaned.lower()
    for option in options:
        o = option.lower()
        if lowered == o or (lowered.startswith(o) and not lowered[len(o) : len(o) + 1].isalnum()):
            return option
    return ""


def _die_with_parent() -> None:
    """In the child before exec (Linux): killed when the parent dies, so a killed test run leaves no server."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serve(
    command: list[str],
    port: int,
    what: str,
    log_file: str | Path | None,
    wait: float,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``command`` (a model server on 127.0.0.1:``port``); its URL once it answers, stopped on exit.

    ``env``: variables added to this process's environment for it.
    """
    out = open(log_file or os.devnull, "wb")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env} if env else None,
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        start_new_session=True,  # its own process group: a server's workers are stopped with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            if proc.poll() is not None:
                raise ModelError(
                    f"{what} exited with code {proc.returncode} (see {log_file or 'its log'})."
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
                ServerLLM(url, read_timeout=10).close()
                break
            except (OSError, ModelError):
                if time.monotonic() > deadline:
                    raise ModelError(f"{what} did not answer within {wait:g} s.") from None
                time.sleep(0.5)
        yield url
    finally:
        _stop_group(proc)
        out.close()


def _stop_group(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Stop a server started in its own process group, and every process it started (vLLM's workers)."""
    import signal

    def signal_group(sig: int) -> bool:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False  # the group is gone
        return True

    signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()
        if not signal_group(0):
            break
        time.sleep(0.2)
    else:
        signal_group(signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def llama_cpp_server(
    model: str | Path,
    *,
    n_ctx: int = 4096,
    threads: int = 1,
    log_file: str | Path | None = None,
    wait: float = 180.0,
) -> Iterator[str]:
    """URL of ``python -m llama_cpp.server`` serving ``model`` on a free 127.0.0.1 port, stopped on exit.

    For the tests and the benchmark (it needs the ``llama-cpp-python[server]`` packages).
    """
    port = _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    command += ["--n_threads", str(threads), "--n_threads_batch", str(threads), "--seed", "42"]
    with _serve(command, port, "llama_cpp.server", log_file, wait) as url:
        yield url


def find_llama_server() -> Path | None:
    """llama.cpp's ``llama-server``: ``KIDNEYTALK_LLAMA_SERVER`` if set, else the one on PATH.

    Built by ``scripts/build-llama-server.sh``; KidneyTalk itself never needs it.
    """
    import shutil

    named = os.environ.get("KIDNEYTALK_LLAMA_SERVER", "")
    found = named or shutil.which("llama-server")
    if not found:
        return None
    path = Path(found).expanduser()
    return path if path.is_file() and os.access(path, os.X_OK) else None


@contextlib.contextmanager
def llama_server(
    model: str | Path,
    *,
    binary: str | Path | None = None,
    n_ctx: int = 4096,
    threads: int = 1,
    chat_template: str | None = None,
    log_file: str | Path | None = None,
    wait: float = 180.0,
) -> Iterator[str]:
    """URL of llama.cpp's ``llama-server`` serving ``model`` on a free 127.0.0.1 port, stopped on exit.

    One slot (``--parallel 1``), so the whole context is one conversation's, as
    in process. ``chat_template`` (Jinja text) replaces the file's, e.g. for a GGUF
    without one, which llama-server would otherwise serve as ChatML. For the tests
    and the benchmark.
    """
    binary = binary or find_llama_server()
    if binary is None:
        raise ModelError("llama-server not found: set KIDNEYTALK_LLAMA_SERVER or put it on PATH.")
    port = _free_port()
    command = [str(binary), "--model", str(model), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--ctx-size", str(n_ctx), "--parallel", "1", "--seed", "42"]
    command += ["--threads", str(threads), "--threads-batch", str(threads)]
    with contextlib.ExitStack() as stack:
        if chat_template is not None:
            command += [
                "--jinja",
                "--chat-template-file",
                str(_template_file(stack, chat_template)),
            ]
        yield stack.enter_context(_serve(command, port, "llama-server", log_file, wait))


def find_vllm() -> Path | None:
    """vLLM's ``vllm`` command named by ``KIDNEYTALK_VLLM`` (the launcher ``scripts/setup-vllm.sh`` writes).

    KidneyTalk itself never needs it.
    """
    named = os.environ.get("KIDNEYTALK_VLLM", "")
    if not named:
        return None
    path = Path(named).expanduser()
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_vllm_model() -> Path | None:
    """The bundled SmolLM2 as a Hugging Face folder for vLLM: ``KIDNEYTALK_VLLM_MODEL``, else the
    ``smollm2-135m-instruct`` folder ``scripts/setup-vllm.sh`` puts beside its launcher."""
    named = os.environ.get("KIDNEYTALK_VLLM_MODEL", "")
    binary = find_vllm()
    folder = Path(named).expanduser() if named else None
    if folder is None and binary is not None:
        folder = binary.parent / "smollm2-135m-instruct"
    return folder if folder is not None and (folder / "config.json").is_file() else None


@contextlib.contextmanager
def vllm_server(
    model: str | Path,
    *,
    binary: str | Path | None = None,
    name: str = "smollm2-135m-instruct",
    n_ctx: int = 4096,
    kv_cache_gib: int = 1,
    chat_template: str | None = None,
    log_file: str | Path | None = None,
    wait: float = 900.0,
) -> Iterator[str]:
    """URL of ``vllm serve`` (CPU) serving the Hugging Face folder ``model`` on a free 127.0.0.1 port.

    Kept small for a laptop: ``kv_cache_gib`` of KV cache (``VLLM_CPU_KVCACHE_SPACE``),
    ``--max-model-len n_ctx``, eager mode (no compilation at start), float32 (the
    dequantized weights as they are), four sequences at most. Offline: nothing is
    fetched from a hub and no usage statistics are sent. For the tests and the
    benchmark; stopped on exit. ``chat_template`` (Jinja text) replaces the folder's.
    """
    binary = binary or find_vllm()
    if binary is None:
        raise ModelError("vllm not found: run scripts/setup-vllm.sh and set KIDNEYTALK_VLLM.")
    port = _free_port()
    command = [str(binary), "serve", str(model), "--served-model-name", name]
    command += ["--host", "127.0.0.1", "--port", str(port), "--dtype", "float32"]
    command += ["--max-model-len", str(n_ctx), "--enforce-eager", "--max-num-seqs", "4"]
    command += ["--seed", "42"]
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    env = {**offline, "DO_NOT_TRACK": "1", "VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib)}
    with contextlib.ExitStack() as stack:
        if chat_template is not None:
            command += ["--chat-template", str(_template_file(stack, chat_template))]
        yield stack.enter_context(_serve(command, port, "vllm", log_file, wait, env=env))


def _template_file(stack: contextlib.ExitStack, template: str) -> Path:
    """``template`` in a file that lasts as long as ``stack``."""
    import tempfile

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kt-template-")))
    (folder / "template.jinja").write_text(template, encoding="utf-8")
    return folder / "template.jinja"
