"""Local GGUF language model over llama-cpp-python.

Any chat GGUF works: the chat template is the one stored in the file. Tokens
stream from :meth:`LocalLLM.stream`, which stops as soon as a ``cancel`` event
is set. Prompts are budgeted so prompt + answer never exceed ``n_ctx``.
A llama.cpp context is not thread-safe: one thread owns one ``LocalLLM``.

Reasoning models (think tags declared in the template, see
:mod:`kidneytalk.reasoning`): :meth:`LocalLLM.stream` lets them think and
yields the think block explicitly (its opening tag too, when the prompt
opened it); :meth:`LocalLLM.format_prompt`, :meth:`LocalLLM.complete` and the
one-token decisions start the reply after an empty think block. A model that
thinks without declaring it gets ``think_budget`` tokens to finish its
thought before a one-token decision is read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kidneytalk.chat_templates import fallback_template, template_family
from kidneytalk.cpu import physical_cores, runnable_others, threads_for_load
from kidneytalk.errors import ContextOverflowError, ModelError
from kidneytalk.gguf import GGUFInfo, read_gguf
from kidneytalk.reasoning import (
    DEFAULT_THINKING_TOKENS,
    KNOWN_TAGS,
    ReasoningInfo,
    ThinkingBudget,
    ThinkTags,
    closed_thought,
    detect,
    stream_within_budget,
    strip_reasoning,
)
from kidneytalk.safety import defuse_special, special_pattern

log = logging.getLogger(__name__)

Message = dict[str, str]
_PREFILL_STEP = 256  # tokens read between checks of the cancel flag
_LOAD_CHECK_EVERY = 16  # generated tokens between checks of how busy the machine is


def gpu_offload_supported() -> bool:
    """True when the installed llama-cpp-python was built with a GPU backend (CUDA, Metal, Vulkan…)."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except (ImportError, AttributeError, OSError):
        return False


def resolve_gpu_layers(setting: int | str, *, supported: bool | None = None) -> int:
    """Layers to offload for the ``llm.n_gpu_layers`` setting: "auto" is all of them when a GPU backend exists.

    An explicit count is kept as is (llama.cpp ignores it without a GPU backend);
    -1 is llama.cpp's "every layer".
    """
    if setting != "auto":
        return max(0, int(setting))
    supported = gpu_offload_supported() if supported is None else supported
    return -1 if supported else 0


def where_it_runs(gpu_layers: int, n_layers: int, *, supported: bool | None = None) -> str:
    """ "CPU" or "GPU (n of N layers)", as the Models page and the log say it."""
    supported = gpu_offload_supported() if supported is None else supported
    if gpu_layers == 0 or not supported:
        return "CPU"
    if gpu_layers < 0 or (n_layers and gpu_layers > n_layers):
        return f"GPU (all {n_layers} layers)" if n_layers else "GPU (all layers)"
    return f"GPU ({gpu_layers} of {n_layers} layers, the rest on CPU)"


class LocalLLM:
    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 0,
        seed: int = 42,
        name: str = "",
        n_gpu_layers: int = 0,
        chat_template: str | None = None,
    ):
        self.path = Path(path)
        self.info: GGUFInfo = read_gguf(self.path)  # clear error before llama.cpp sees it
        self.name = name or self.path.stem
        self.n_gpu_layers = n_gpu_layers
        if self.info.context_length:
            n_ctx = min(n_ctx, self.info.context_length)
        # Physical cores, not logical CPUs: llama.cpp's threads wait for each other at every
        # layer, so a second hyper-thread on a busy core slows every token down.
        threads = n_threads or physical_cores()
        # Automatic threads follow the machine's load (see adapt_threads); a count the user set is kept.
        self.max_threads, self.threads, self._auto_threads = threads, threads, not n_threads
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(
                "llama-cpp-python is not installed; run the README set-up command."
            ) from exc
        try:
            self._llama = Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=min(512, n_ctx),
                n_gpu_layers=n_gpu_layers,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Cannot load model {self.path.name}: {exc}") from exc
        self.n_ctx = self._llama.n_ctx()
        file_template = self._llama.metadata.get("tokenizer.chat_template") or None
        self.template: str | None = (
            chat_template or file_template or fallback_template(self.info.architecture)
        )
        self.family = template_family(chat_template or file_template, self.info.architecture)
        self._formatter = self._make_formatter()
        self._specials = special_pattern(self._special_strings())
        self._add_bos = (
            bool(self._llama._model.add_bos_token()) if hasattr(self._llama, "_model") else False
        )
        bos = self._llama.token_bos()
        self._bos_text = (
            self._llama.detokenize([bos], special=True).decode("utf-8", "ignore")
            if bos >= 0
            else ""
        )
        self.reasoning: ReasoningInfo = detect(
            self.template, self._render([{"role": "user", "content": "?"}])
        )
        self.last_thought = (
            ""  # the thought read before the last one-token decision (undeclared thinkers)
        )
        self.device = where_it_runs(n_gpu_layers, self.info.n_layers)
        log.info(
            "loaded %s (%s, %s, %s template, n_ctx %d, %d threads, %s)",
            self.path.name,
            self.info.architecture,
            self.info.quantization,
            self.family,
            self.n_ctx,
            threads,
            self.device,
        )

    def _make_formatter(self) -> Any:
        """The GGUF's own chat template, to count prompt tokens exactly."""
        template = self.template
        if not template:
            return None
        try:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def token_text(key: str) -> str:
                tid = self._llama.metadata.get(key)
                if tid is None:
                    return ""
                return self._llama.detokenize([int(tid)], special=True).decode(
                    "utf-8", errors="ignore"
                )

            return Jinja2ChatFormatter(
                template=template,
                eos_token=token_text("tokenizer.ggml.eos_token_id"),
                bos_token=token_text("tokenizer.ggml.bos_token_id"),
            )
        except Exception:  # pragma: no cover - exotic templates fall back to an estimate
            log.debug("chat template not usable for counting", exc_info=True)
            return None

    def _special_strings(self) -> list[str]:
        """Text of every control/user-defined token: what ``tokenize(special=True)`` turns into one."""
        try:
            import llama_cpp

            vocab = llama_cpp.llama_model_get_vocab(self._llama._model.model)
            flags = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
            ids = [
                i
                for i in range(self._llama.n_vocab())
                if llama_cpp.llama_vocab_get_attr(vocab, i) & flags
            ]
        except (AttributeError, TypeError):  # pragma: no cover - older llama-cpp-python
            ids = [int(t) for k, t in self._llama.metadata.items() if k.endswith("_token_id")]
        return [self._llama.detokenize([i], special=True).decode("utf-8", "ignore") for i in ids]

    # ------------------------------------------------------------ counting
    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_messages(self, messages: Sequence[Message]) -> int:
        return len(self._tokens(self.format_prompt(messages)))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The start of ``text`` that fits in ``max_tokens``."""
        tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        if len(tokens) <= max_tokens:
            return text
        return self._llama.detokenize(tokens[:max_tokens]).decode("utf-8", errors="ignore")

    # ------------------------------------------------------------ generation
    think_budget = 256  # tokens an undeclared thinker may think before a one-token decision
    max_thinking_tokens = (
        DEFAULT_THINKING_TOKENS  # a streamed answer's thought (llm.max_thinking_tokens)
    )
    last_budget: ThinkingBudget | None = (
        None  # the last streamed reply's thought and answer token counts
    )

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
        """Yield answer text pieces as they are generated.

        ``cancel`` is honoured while the prompt is read (batch by batch) as well
        as between generated tokens, so Stop is quick even for long prompts.
        A reasoning model thinks first; its think block is part of the text,
        opening tag included (see :mod:`kidneytalk.reasoning`). The thought has
        its own budget (``max_thinking_tokens``), counted apart from the
        answer's ``max_tokens``: a thought that reaches it is closed with a note
        saying so, and the model goes on to write its answer (without
        ``grammar``, which constrained the whole reply).
        """
        info = self.reasoning
        opened = info.tags if info.tags is not None and info.opens_in_prompt else None
        prompt = self.format_prompt(messages, thinking=True)
        budget = ThinkingBudget(self.max_thinking_tokens, max_tokens, opened=opened)
        self.last_budget = budget
        min_room = min(32, max_tokens)

        def generate(text: str, limit: int, constrain: str | None) -> Iterator[str]:
            return self._generate(
                self._tokens(text),
                max_tokens=limit,
                temperature=temperature,
                cancel=cancel,
                grammar=constrain,
                stop=stop,
                repeat_penalty=repeat_penalty,
                min_room=min_room,
            )

        def resume(thought: str) -> Iterator[str]:
            log.info("thought cut at %d tokens; writing the answer", budget.thought_tokens)
            return generate(prompt + thought, max_tokens, None)

        if opened is not None:
            yield opened.open
        yield from stream_within_budget(
            generate(prompt, max_tokens + budget.thinking, grammar), budget, resume, cancel
        )

    def continue_prompt(
        self,
        prompt: str,
        *,
        max_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        grammar: str | None = None,
        temperature: float = 0.0,
    ) -> str:
        """Completion of an already formatted prompt (e.g. a reply begun with "Yes, because")."""
        return "".join(
            self._generate(
                self._tokens(prompt),
                max_tokens=max_tokens,
                temperature=temperature,
                grammar=grammar,
                stop=stop,
                repeat_penalty=1.1,
                min_room=1,
            )
        )

    def _generate(
        self,
        tokens: list[int],
        *,
        max_tokens: int,
        temperature: float,
        min_room: int,
        cancel: threading.Event | None = None,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
        repeat_penalty: float = 1.1,
    ) -> Iterator[str]:
        room = self.n_ctx - len(tokens)
        if room < min_room + 1:
            raise ContextOverflowError(
                f"The prompt needs {len(tokens)} tokens but model {self.name} has a {self.n_ctx}-token context."
            )
        if not self._prefill(tokens, cancel):
            return
        kwargs: dict[str, Any] = {}
        if grammar:
            from llama_cpp import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
        pieces: Any = self._llama.create_completion(
            prompt=tokens,
            max_tokens=min(max_tokens, room - 1),
            temperature=temperature,
            repeat_penalty=repeat_penalty,
            stream=True,
            stop=list(stop or ()),
            **kwargs,
        )
        try:
            for n, piece in enumerate(pieces, start=1):
                if cancel is not None and cancel.is_set():
                    break
                if n % _LOAD_CHECK_EVERY == 0:
                    self.adapt_threads()
                text = piece["choices"][0].get("text")
                if text:
                    yield text
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()

    def format_prompt(self, messages: Sequence[Message], *, thinking: bool = False) -> str:
        """The exact prompt text for ``messages``, ending where the assistant's reply begins.

        For a reasoning model the reply begins after an empty think block
        (through the template's own switch when it has one), so text appended
        to this prompt is the answer's; ``thinking=True`` lets the model think.
        """
        info = self.reasoning if hasattr(self, "reasoning") else ReasoningInfo()
        if thinking or not info.declared:
            return self._render(messages)
        prompt = self._render(messages, **({info.switch: False} if info.switch else {}))
        return closed_thought(info, prompt)

    def _render(self, messages: Sequence[Message], **variables: object) -> str:
        """The template's rendering of ``messages`` (special-token strings inside them defused first,
        so a role tag in a PDF or a question never becomes a control token: only the template makes them)."""
        messages = [
            {**m, "content": defuse_special(m["content"], self._specials)} for m in messages
        ]
        if self._formatter is not None:
            try:
                return str(self._formatter(messages=list(messages), **variables).prompt)
            except Exception:
                log.debug("template render failed; using a plain layout", exc_info=True)
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nAssistant:"

    def _tokens(self, prompt: str) -> list[int]:
        """Tokens of a formatted prompt; BOS is added unless the template already wrote it."""
        add_bos = self._add_bos and not (self._bos_text and prompt.startswith(self._bos_text))
        return list(self._llama.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True))

    def _prefill(self, tokens: list[int], cancel: threading.Event | None = None) -> bool:
        """Evaluate ``tokens`` into the KV cache reusing the cached prefix; False if cancelled.

        At least the last token is always decoded, so fresh logits are available.
        """
        llama = self._llama
        self.adapt_threads()
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
        prefix = min(prefix, len(tokens) - 1)
        llama.n_tokens = prefix
        step = max(1, min(llama.n_batch, _PREFILL_STEP))
        for start in range(prefix, len(tokens), step):
            if cancel is not None and cancel.is_set():
                llama.n_tokens = start
                return False
            llama.eval(tokens[start : start + step])
        return True

    def adapt_threads(self) -> int:
        """Use only as many threads as there are cores free right now (automatic threads only).

        Checked before each prompt and every few generated tokens: another
        CPU-bound process on the machine then costs a proportional slowdown,
        not the collapse of threads spinning at llama.cpp's barriers while one
        of them waits for its core.
        """
        if not self._auto_threads:
            return self.threads
        wanted = threads_for_load(self.max_threads, runnable_others())
        if wanted != self.threads:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self._llama._ctx.ctx, wanted, wanted)
            log.debug("llama.cpp threads %d -> %d (machine load)", self.threads, wanted)
            self.threads = wanted
        return wanted

    def yes_probability(self, messages: Sequence[Message], *, answer_prefix: str = "") -> float:
        """P(yes) / (P(yes) + P(no)) for the reply's first token: one forward pass, no sampling.

        Messages that share their beginning (e.g. the same question, different
        passages) reuse the KV cache for that shared prefix.
        """
        p = self._next_token_weights(messages, answer_prefix)
        yes_ids, no_ids = self._yes_no_ids()
        yes, no = float(p[yes_ids].sum()), float(p[no_ids].sum())
        return yes / (yes + no) if yes + no > 0 else 0.5

    def label_probabilities(
        self, messages: Sequence[Message], labels: Sequence[str], *, answer_prefix: str = ""
    ) -> dict[str, float]:
        """P(label) for the reply's next token, renormalised over ``labels`` (e.g. option letters).

        One forward pass, no sampling: the answer of even a tiny model is read
        from its logits, with or without a leading space.
        """
        p = self._next_token_weights(messages, answer_prefix)
        ids: dict[str, set[int]] = {}
        for label in labels:
            ids[label] = {
                toks[0]
                for variant in (label, " " + label)
                if (
                    toks := self._llama.tokenize(
                        variant.encode("utf-8"), add_bos=False, special=False
                    )
                )
            }
        shared = {i for a in labels for b in labels if a != b for i in ids[a] & ids[b]}
        mass = {label: float(sum(p[i] for i in ids[label] - shared)) for label in labels}
        total = sum(mass.values())
        return {k: (v / total if total > 0 else 1 / len(labels)) for k, v in mass.items()}

    def _next_token_weights(self, messages: Sequence[Message], answer_prefix: str) -> Any:
        """Unnormalised probabilities (exp of the logits) of the reply's first answer token.

        One forward pass; a reasoning model's reply starts after an empty think
        block (:meth:`format_prompt`). A model that thinks without declaring it
        (its most likely first token opens a think block) thinks first, within
        ``think_budget`` tokens, and the token after its closing tag is read.
        """
        prompt = self.format_prompt(messages)
        self.last_thought = ""
        weights = self._weights(prompt + answer_prefix)
        tags = None if self.reasoning.declared else self._opens_thought(weights)
        if tags is None:
            return weights
        thought = "".join(
            self._generate(
                self._tokens(prompt + tags.open),
                max_tokens=self.think_budget,
                temperature=0.0,
                min_room=1,
                stop=[tags.close],
            )
        )
        self.last_thought = thought.strip()
        return self._weights(
            prompt + tags.open + thought.rstrip() + "\n" + tags.close + "\n\n" + answer_prefix
        )

    def _weights(self, prompt: str) -> Any:
        import numpy as np

        self._prefill(self._tokens(prompt))
        logits = np.ctypeslib.as_array(
            self._llama._ctx.get_logits(), shape=(self._llama.n_vocab(),)
        )
        return np.exp(logits - float(logits.max()))

    def _opens_thought(self, weights: Any) -> ThinkTags | None:
        """The think tags whose opening is the most likely next token (a model that starts thinking)."""
        text = (
            self._llama.detokenize([int(weights.argmax())], special=True)
            .decode("utf-8", "ignore")
            .strip()
        )
        return next((t for t in KNOWN_TAGS if text and text == t.open), None)

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
        """The whole reply, without reasoning: a reasoning model answers after an empty think block.

        For the agents' short tasks (refined queries, divergent questions,
        drafts), which want the answer and not the model's thought.
        """
        text = "".join(
            self._generate(
                self._tokens(self.format_prompt(messages)),
                max_tokens=max_tokens,
                temperature=temperature,
                cancel=cancel,
                grammar=grammar,
                stop=stop,
                repeat_penalty=repeat_penalty,
                min_room=min(32, max_tokens),
            )
        )
        return strip_reasoning(text)

    def choose(self, messages: Sequence[Message], options: Sequence[str]) -> str:
        """One of ``options``, forced by a GBNF grammar (works even for tiny models)."""
        alternatives = " | ".join('"' + o.replace('"', '\\"') + '"' for o in options)
        text = self.complete(
            messages, max_tokens=8, temperature=0.0, grammar=f"root ::= {alternatives}"
        )
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
