"""Local GGUF language model over llama-cpp-python.

Any chat GGUF works: the chat template is the one stored in the file. Tokens
stream from :meth:`LocalLLM.stream`, which stops as soon as a ``cancel`` event
is set. Prompts are budgeted so prompt + answer never exceed ``n_ctx``.
A llama.cpp context is not thread-safe: one thread owns one ``LocalLLM``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kidneytalk.errors import ContextOverflowError, ModelError
from kidneytalk.gguf import GGUFInfo, read_gguf

log = logging.getLogger(__name__)

Message = dict[str, str]
_PER_MESSAGE_OVERHEAD = 8  # role markers and separators, when no template is at hand


class LocalLLM:
    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 0,
        seed: int = 42,
        name: str = "",
    ):
        self.path = Path(path)
        self.info: GGUFInfo = read_gguf(self.path)  # clear error before llama.cpp sees it
        self.name = name or self.path.stem
        if self.info.context_length:
            n_ctx = min(n_ctx, self.info.context_length)
        threads = n_threads or max(1, (os.cpu_count() or 2))
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError("llama-cpp-python is not installed; run the README set-up command.") from exc
        try:
            self._llama = Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=min(512, n_ctx),
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Cannot load model {self.path.name}: {exc}") from exc
        self.n_ctx = self._llama.n_ctx()
        self._formatter = self._make_formatter()
        log.info("loaded %s (%s, %s, n_ctx %d, %d threads)", self.path.name, self.info.architecture,
                 self.info.quantization, self.n_ctx, threads)

    def _make_formatter(self):  # noqa: ANN202
        """The GGUF's own chat template, to count prompt tokens exactly."""
        template = self._llama.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        try:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def token_text(key: str) -> str:
                tid = self._llama.metadata.get(key)
                if tid is None:
                    return ""
                return self._llama.detokenize([int(tid)], special=True).decode("utf-8", errors="ignore")

            return Jinja2ChatFormatter(
                template=template,
                eos_token=token_text("tokenizer.ggml.eos_token_id"),
                bos_token=token_text("tokenizer.ggml.bos_token_id"),
            )
        except Exception:  # pragma: no cover - exotic templates fall back to an estimate
            log.debug("chat template not usable for counting", exc_info=True)
            return None

    # ------------------------------------------------------------ counting
    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_messages(self, messages: Sequence[Message]) -> int:
        if self._formatter is not None:
            try:
                prompt = self._formatter(messages=list(messages)).prompt
                return len(self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
            except Exception:
                log.debug("template render failed; estimating", exc_info=True)
        return sum(self.count_tokens(m["content"]) + _PER_MESSAGE_OVERHEAD for m in messages) + 4

    def truncate(self, text: str, max_tokens: int) -> str:
        """The start of ``text`` that fits in ``max_tokens``."""
        tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        if len(tokens) <= max_tokens:
            return text
        return self._llama.detokenize(tokens[:max_tokens]).decode("utf-8", errors="ignore")

    def check_fits(self, messages: Sequence[Message], max_tokens: int) -> int:
        """Answer tokens available after the prompt; raises if not even a short answer fits."""
        used = self.count_messages(messages)
        room = self.n_ctx - used
        if room < min(32, max_tokens):
            raise ContextOverflowError(
                f"The prompt needs {used} tokens but model {self.name} has a {self.n_ctx}-token context."
            )
        return min(max_tokens, room)

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
        """Yield answer text pieces as they are generated; stops early on ``cancel``."""
        max_tokens = self.check_fits(messages, max_tokens)
        kwargs: dict[str, Any] = {}
        if grammar:
            from llama_cpp import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
        pieces: Any = self._llama.create_chat_completion(
            messages=list(messages),  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=temperature,
            repeat_penalty=repeat_penalty,
            stream=True,
            stop=list(stop) if stop else None,
            **kwargs,
        )
        try:
            for piece in pieces:
                if cancel is not None and cancel.is_set():
                    break
                delta: Any = piece["choices"][0].get("delta", {})  # type: ignore[index,union-attr]
                text = delta.get("content")
                if text:
                    yield text
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()

    def format_prompt(self, messages: Sequence[Message]) -> str:
        """The exact prompt text for ``messages``, ending where the assistant's reply begins."""
        if self._formatter is not None:
            try:
                return str(self._formatter(messages=list(messages)).prompt)
            except Exception:
                log.debug("template render failed; using a plain layout", exc_info=True)
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nAssistant:"

    def _eval_prompt(self, prompt: str) -> None:
        """Evaluate ``prompt`` into the KV cache, reusing the longest cached prefix."""
        llama = self._llama
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= self.n_ctx:
            raise ContextOverflowError(
                f"The prompt needs {len(tokens)} tokens but model {self.name} has a {self.n_ctx}-token context."
            )
        cached = llama.input_ids[: llama.n_tokens].tolist()
        prefix = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            prefix += 1
        prefix = min(prefix, len(tokens) - 1)  # always decode at least one token for fresh logits
        llama.n_tokens = prefix
        llama.eval(tokens[prefix:])

    def yes_probability(self, messages: Sequence[Message], *, answer_prefix: str = "") -> float:
        """P(yes) / (P(yes) + P(no)) for the reply's first token: one forward pass, no sampling.

        Messages that share their beginning (e.g. the same question, different
        passages) reuse the KV cache for that shared prefix.
        """
        import numpy as np

        self._eval_prompt(self.format_prompt(messages) + answer_prefix)
        logits = np.ctypeslib.as_array(self._llama._ctx.get_logits(), shape=(self._llama.n_vocab(),))
        yes_ids, no_ids = self._yes_no_ids()
        top = float(logits.max())
        p = np.exp(logits - top)
        yes, no = float(p[yes_ids].sum()), float(p[no_ids].sum())
        return yes / (yes + no) if yes + no > 0 else 0.5

    def _yes_no_ids(self) -> tuple[list[int], list[int]]:
        if not hasattr(self, "_yn"):
            def first_ids(words: list[str]) -> list[int]:
                ids = set()
                for w in words:
                    toks = self._llama.tokenize(w.encode("utf-8"), add_bos=False, special=False)
                    if toks:
                        ids.add(toks[0])
                return sorted(ids)

            yes = first_ids(["yes", "Yes", " yes", " Yes", "YES", "是"])
            no = first_ids(["no", "No", " no", " No", "NO", "否"])
            self._yn = ([i for i in yes if i not in no], [i for i in no if i not in yes])
        return self._yn

    def continue_prompt(self, prompt: str, *, max_tokens: int = 32, stop: Sequence[str] = ("\n",),
                        grammar: str | None = None, temperature: float = 0.0) -> str:
        """Raw completion of an already formatted prompt (reuses the cached prefix)."""
        kwargs: dict[str, Any] = {}
        if grammar:
            from llama_cpp import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
        n_prompt = len(self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        max_tokens = min(max_tokens, self.n_ctx - n_prompt - 1)
        if max_tokens < 1:
            raise ContextOverflowError(f"The prompt does not fit model {self.name}'s {self.n_ctx}-token context.")
        out: Any = self._llama.create_completion(
            prompt=prompt, max_tokens=max_tokens, temperature=temperature, stop=list(stop),
            repeat_penalty=1.1, **kwargs,
        )
        return str(out["choices"][0]["text"])

    def complete(self, messages: Sequence[Message], **kwargs: object) -> str:
        return "".join(self.stream(messages, **kwargs))  # type: ignore[arg-type]

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> str:
        """One of ``options``, forced by a GBNF grammar (works even for tiny models)."""
        alternatives = " | ".join('"' + o.replace('"', '\\"') + '"' for o in options)
        text = self.complete(messages, max_tokens=8, temperature=0.0, grammar=f"root ::= {alternatives}")
        text = text.strip()
        return text if text in options else options[-1]

    def close(self) -> None:
        llama = getattr(self, "_llama", None)
        if llama is not None:
            llama.close()
            self._llama = None  # type: ignore[assignment]

    def __enter__(self) -> LocalLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
