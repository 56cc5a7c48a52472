"""Reasoning models: the thought is kept apart from the answer everywhere the answer is used.

A reasoning model is simulated over the real bundled SmolLM2 weights: its
GGUF is loaded with a DeepSeek-R1 distill's template (the generation prompt
ends with ``<think>\\n``) and its output is steered by a GBNF grammar into
``thought</think>answer``, so the real ``LocalLLM`` streams a real think block.
Pure parsing (streams cut anywhere, templates, families, settings) is checked
without a model.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kidneytalk import cli
from kidneytalk.answer import Answer, Evidence
from kidneytalk.chat_templates import GEMMA_TEMPLATE, template_family
from kidneytalk.config import Settings
from kidneytalk.conversations import ConversationStore, Message, to_markdown
from kidneytalk.cpu import runnable_others, threads_for_load, usable_cpus
from kidneytalk.engine import Engine, sample_document
from kidneytalk.errors import SettingsError
from kidneytalk.evaluation import run_eval
from kidneytalk.evaluation.runner import load_results
from kidneytalk.llm import LocalLLM, resolve_gpu_layers, where_it_runs
from kidneytalk.models import bundled_model_path
from kidneytalk.reasoning import (
    CUT_MARK,
    THINK,
    ReasoningSplitter,
    ThinkingBudget,
    closed_thought,
    detect,
    split_reasoning,
    split_stream,
    stream_within_budget,
    thought_was_cut,
)
from kidneytalk.records import Hit

R1_TEMPLATE = (  # the shape of the DeepSeek-R1 distills' template: history answers lose their thought
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}<｜User｜>{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}<｜Assistant｜>{{ m['content'].split('</think>')[-1] }}<｜end▁of▁sentence｜>"
    "{% else %}{{ m['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<｜Assistant｜><think>\n{% endif %}"
)
QWEN3_TAIL = (
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and "
    "enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}"
)
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
)
LLAMA3 = "<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>"

THOUGHT = "Reasoning first: the primer passages mention"
# The prompt opened the block; the model writes its thought, closes it, then a cited answer.
STEER = (
    'root ::= "'
    + THOUGHT
    + ' " [a-z ]{3,30} "\\n</think>\\n\\n" "Metformin " [a-z ,]{3,50} " [1]."'
)
RAW = "<think>\nThe passage [1] says metformin stops below 30.\n</think>\n\nStop metformin when eGFR is below 30 [1]."


# ---------------------------------------------------------------- parsing (no model)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_a_stream_cut_anywhere_splits_into_the_same_thought_and_answer(size: int) -> None:
    pieces = [RAW[i : i + size] for i in range(0, len(RAW), size)]
    parts = list(split_stream(pieces))
    thought = "".join(t for kind, t in parts if kind == "reasoning")
    answer = "".join(t for kind, t in parts if kind == "answer")
    assert thought.strip() == "The passage [1] says metformin stops below 30."
    assert answer == "Stop metformin when eGFR is below 30 [1]."
    assert split_reasoning(RAW) == (thought.strip(), answer)


def test_replies_without_a_think_block_are_all_answer_and_odd_endings_are_handled() -> None:
    assert list(split_stream(["<", "5 mg daily [1]."])) == [("answer", "<5 mg daily [1].")]
    assert split_reasoning("Plain answer [2].") == ("", "Plain answer [2].")
    assert split_reasoning("<think>ran out of tokens while thinking") == (
        "ran out of tokens while thinking",
        "",
    )
    # A closing tag whose opening the backend did not announce: everything before it was thought.
    assert split_reasoning("the prompt opened it\n</think>\nAnswer [1].") == (
        "the prompt opened it",
        "Answer [1].",
    )
    splitter = ReasoningSplitter()
    assert (
        splitter.feed("<thi") == []
        and splitter.feed("nking>hm") == [("reasoning", "hm")]
        and splitter.thinking
    )
    assert splitter.feed(" ok</thin") == [
        ("reasoning", " ok")
    ]  # a closing tag may be arriving: held back
    assert splitter.feed("king> Yes.") == [("answer", "Yes.")] and not splitter.thinking


def test_templates_declare_thinking_and_name_their_family() -> None:
    r1 = detect(R1_TEMPLATE, "<｜User｜>q<｜Assistant｜><think>\n")
    assert r1.tags == THINK and r1.opens_in_prompt and not r1.switch
    assert (
        closed_thought(r1, "<｜Assistant｜><think>\n") == "<｜Assistant｜><think>\n\n</think>\n\n"
    )
    qwen3 = detect(CHATML + QWEN3_TAIL, "<|im_start|>assistant\n")
    assert qwen3.tags == THINK and not qwen3.opens_in_prompt and qwen3.switch == "enable_thinking"
    assert closed_thought(qwen3, "A:") == "A:<think>\n\n</think>\n\n"
    assert not detect(CHATML).declared and not detect(None).declared
    assert template_family(R1_TEMPLATE) == "DeepSeek-R1 (reasoning)"
    assert template_family(CHATML + QWEN3_TAIL) == "ChatML (reasoning)"
    assert template_family(CHATML) == "ChatML"
    assert template_family(LLAMA3) == "Llama 3"
    assert template_family(GEMMA_TEMPLATE) == "Gemma"
    assert template_family(None, "gemma3") == "Gemma (built in: the file has no template)"
    assert template_family(None, "llama") == "none (plain text layout)"


def _hit() -> Hit:
    return Hit(
        chunk_id="d:1",
        doc_id="d",
        doc_name="primer.pdf",
        text="Stop metformin when eGFR is below 30.",
        page_start=2,
        page_end=2,
        section=(),
        score=0.8,
    )


def _scripted(pieces: Sequence[str]) -> Answer:
    """An answer over a scripted stream: what any backend's raw text looks like."""
    evidence = Evidence("When to stop metformin?", passages=(_hit(),), retrieved=(_hit(),))
    return Answer.from_evidence(evidence, pieces, model="scripted")


def test_an_answer_keeps_the_thought_out_of_text_citations_checks_and_extractiveness() -> None:
    answer = _scripted([RAW[i : i + 4] for i in range(0, len(RAW), 4)])
    streamed = "".join(answer)
    assert streamed == answer.text() == "Stop metformin when eGFR is below 30 [1]."
    assert answer.reasoning == "The passage [1] says metformin stops below 30."
    assert [c.text for c in answer.checks] == ["Stop metformin when eGFR is below 30 [1]."]
    assert answer.extractiveness().answer_tokens == len(
        "Stop metformin when eGFR is below 30".split()
    )
    data = answer.to_json()
    assert data["reasoning"] == answer.reasoning and "passage [1] says" not in json.dumps(
        {k: v for k, v in data.items() if k != "reasoning"}
    )
    # Events replay the same split once the answer is complete.
    replay = list(answer.events())
    assert (
        replay[0] == ("reasoning", answer.reasoning)
        and "".join(t for _, t in replay[1:]) == answer.text()
    )


def test_the_export_leaves_the_thought_out_unless_asked(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    try:
        conv = store.create()
        answer = _scripted([RAW])
        store.append(conv, Message("user", answer.question))
        store.append(conv, Message("assistant", answer.text(), details=answer.to_json()))
        conv = store.get(conv.id)
        assert "metformin stops below 30" not in json.dumps(conv.history())
        assert "metformin stops below 30" not in to_markdown(conv)
        assert "> The passage [1] says metformin stops below 30." in to_markdown(
            conv, reasoning=True
        )
    finally:
        store.close()


def test_cli_prints_the_thought_only_with_show_reasoning(capsys) -> None:
    cli.stream_answer(_scripted([RAW]), None)
    hidden = capsys.readouterr().out
    assert (
        "metformin stops below 30" not in hidden
        and "Stop metformin when eGFR is below 30 [1]." in hidden
    )
    cli.stream_answer(_scripted([RAW]), None, show_reasoning=True)
    shown = capsys.readouterr().out
    assert (
        shown.index("[reasoning")
        < shown.index("metformin stops below 30")
        < shown.index("[answer]")
    )
    assert shown.index("[answer]") < shown.index("Stop metformin when eGFR")


def test_gpu_layers_setting_accepts_auto_zero_or_a_count() -> None:
    s = Settings()
    assert s.llm.n_gpu_layers == "auto"
    assert s.with_value("llm.n_gpu_layers", "0").llm.n_gpu_layers == 0
    assert s.with_value("llm.n_gpu_layers", "20").llm.n_gpu_layers == 20
    assert s.with_value("llm.n_gpu_layers", "auto").llm.n_gpu_layers == "auto"
    for bad in ("-1", "gpu", 2.5):
        with pytest.raises(SettingsError, match="llm.n_gpu_layers"):
            s.with_value("llm.n_gpu_layers", bad)
    repaired, problems = Settings.checked({"llm": {"n_gpu_layers": "many"}})
    assert repaired.llm.n_gpu_layers == "auto" and "llm.n_gpu_layers" in problems[0]
    assert (
        resolve_gpu_layers("auto", supported=True) == -1
        and resolve_gpu_layers("auto", supported=False) == 0
    )
    assert resolve_gpu_layers(12, supported=False) == 12
    assert where_it_runs(0, 30, supported=True) == "CPU"
    assert where_it_runs(-1, 30, supported=True) == "GPU (all 30 layers)"
    assert where_it_runs(12, 30, supported=True) == "GPU (12 of 30 layers, the rest on CPU)"
    assert where_it_runs(12, 30, supported=False) == "CPU"


# ---------------------------------------------------------------- a steered reasoning model (real weights)
class SteeredThinker(LocalLLM):
    """SmolLM2 with an R1 template whose free answers are forced through ``thought</think>answer``.

    Every prompt the model is given is recorded, to prove no thought is sent back.
    """

    prompts: list[str]
    steer = STEER

    def stream(self, messages, *, grammar=None, **kwargs) -> Iterator[str]:
        self.prompts.append(self.format_prompt(messages, thinking=True))
        yield from super().stream(messages, grammar=grammar or self.steer, **kwargs)

    def _tokens(self, prompt: str) -> list[int]:
        self.prompts.append(prompt)
        return super()._tokens(prompt)

    def _generate(self, tokens: list[int], **kwargs: Any) -> Iterator[str]:
        # The answer resumed after a cut thought is generated without the reply's grammar; the
        # free 135M model then often echoes its prompt, so it is steered to a cited answer too.
        if (
            kwargs.get("grammar") is None
            and self.prompts
            and self.prompts[-1].endswith("\n</think>\n\n")
        ):
            kwargs["grammar"] = RESUMED_STEER
        return super()._generate(tokens, **kwargs)


@pytest.fixture(scope="module")
def thinker() -> Iterator[SteeredThinker]:
    path = bundled_model_path()
    if path is None:
        pytest.skip("bundled SmolLM2 model not installed")
    model = SteeredThinker(path, n_ctx=2048, name="smollm2-r1-template", chat_template=R1_TEMPLATE)
    model.prompts = []
    yield model
    model.close()


@pytest.fixture
def thinking_engine(tmp_path: Path, embedder, thinker: SteeredThinker) -> Iterator[Engine]:
    eng = Engine(tmp_path / "home", embedder=embedder, llm=thinker)
    eng.settings = eng.settings.replace(
        top_k=2,
        llm=dataclasses.replace(eng.settings.llm, max_answer_tokens=64),
        retrieval=dataclasses.replace(eng.settings.retrieval, gate=False, max_evidence=2),
    )
    yield eng
    eng.close()


@pytest.mark.model
def test_a_thinking_model_answers_after_its_thought_and_the_thought_is_never_sent_back(
    thinking_engine: Engine, thinker: SteeredThinker
) -> None:
    assert thinker.family == "DeepSeek-R1 (reasoning)" and thinker.reasoning.opens_in_prompt
    assert thinking_engine.add([sample_document()])[0].status == "added"
    question = "When should metformin be stopped in chronic kidney disease?"
    first = thinking_engine.ask(question, mode="naive", style="off")
    pieces = list(first)
    assert pieces and THOUGHT not in "".join(pieces) and "think>" not in "".join(pieces)
    assert first.reasoning.startswith(THOUGHT)
    text = first.text()
    assert text.startswith("Metformin ") and text.endswith("[1].") and THOUGHT not in text
    assert [c.n for c in first.citations] == [1]
    assert all(THOUGHT not in c.text for c in first.checks)
    assert first.to_json()["answer"] == text and first.to_json()["reasoning"] == first.reasoning

    history = [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
    thinker.prompts.clear()
    follow = thinking_engine.ask(
        "And what about the dose?", history=history, mode="naive", style="off"
    )
    assert follow.text() and follow.reasoning.startswith(THOUGHT)
    assert thinker.prompts and not any(first.reasoning in p for p in thinker.prompts)

    # One-token decisions read the answer's first token, after an empty think block.
    msgs = [
        {"role": "user", "content": "Is metformin stopped below an eGFR of 30? Answer yes or no."}
    ]
    assert thinker.format_prompt(msgs).endswith("<｜Assistant｜><think>\n\n</think>\n\n")
    thinker.prompts.clear()
    p = thinker.yes_probability(msgs)
    assert 0.0 < p < 1.0 and thinker.prompts[-1].endswith("</think>\n\n")
    assert thinker.choose(msgs, ["yes", "no"]) in ("yes", "no")
    assert THOUGHT not in thinker.complete(msgs, max_tokens=16)


@pytest.mark.model
def test_the_evaluation_reads_the_letter_after_the_thought(
    thinking_engine: Engine, tmp_path: Path
) -> None:
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps(
            {
                "id": "t1",
                "question": "Is metformin stopped when eGFR falls below 30?",
                "options": {"A": "yes", "B": "no"},
                "answer": "A",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    run_eval(thinking_engine, qfile, modes=("no-rag",), style="off", out_dir=tmp_path / "out")
    (rec,) = load_results(tmp_path / "out")
    assert rec["reasoning"].startswith(THOUGHT) and THOUGHT not in rec["text"]
    assert rec["text"].startswith("Metformin ")
    assert rec["method"] == "logprob" and rec["prediction"][0] in "AB"


@pytest.mark.model
def test_an_undeclared_thinker_thinks_within_its_budget_before_a_one_token_decision(
    llm: LocalLLM, monkeypatch
) -> None:
    msgs = [{"role": "user", "content": "Is the kidney an organ? A. yes B. no"}]
    scored: list[str] = []
    weights = llm._weights
    monkeypatch.setattr(llm, "_weights", lambda prompt: scored.append(prompt) or weights(prompt))
    plain = llm.label_probabilities(msgs, ["A", "B"], answer_prefix="Answer:")
    assert llm.last_thought == "" and scored == [
        llm.format_prompt(msgs) + "Answer:"
    ]  # SmolLM2 opens no thought
    # A model whose most likely first token is <think>: it thinks (within the budget), the letter is read after.
    monkeypatch.setattr(llm, "_opens_thought", lambda w: THINK)
    monkeypatch.setattr(llm, "think_budget", 12)
    scored.clear()
    after = llm.label_probabilities(msgs, ["A", "B"], answer_prefix="Answer:")
    thought = llm.last_thought
    assert thought and len(llm._llama.tokenize(thought.encode(), add_bos=False)) <= 13
    assert scored[-1].startswith(llm.format_prompt(msgs) + "<think>")
    assert scored[-1].endswith(thought + "\n</think>\n\nAnswer:")
    assert after != plain and sum(after.values()) == pytest.approx(1.0)


# ---------------------------------------------------------------- the thought's own budget
def test_a_thought_over_its_budget_is_closed_with_a_note_and_the_answer_gets_its_own_budget() -> (
    None
):
    # One token per piece; the prompt opened the block (R1), so the thought starts at once.
    pieces = iter(
        ["I", " think", " about", " kidneys", " a", " lot", "</think>", "Never", " reached"]
    )
    budget = ThinkingBudget(4, 3, opened=THINK)
    resumed: list[str] = []

    def resume(thought: str) -> Iterator[str]:
        resumed.append(thought)
        return iter(["Stop", " below", " 30", " [1]."])

    raw = "<think>" + "".join(stream_within_budget(pieces, budget, resume))
    assert resumed == [
        "I think about kidneys\n</think>\n\n"
    ]  # the model is given the closing tag only
    assert budget.cut and budget.thought_tokens == 4
    reasoning, answer = split_reasoning(raw)
    assert reasoning.startswith("I think about kidneys") and thought_was_cut(reasoning)
    assert "budget of 4 tokens" in reasoning and answer == "Stop below 30 [1]."
    # The answer's budget is counted apart: a thought within budget costs the answer nothing.
    budget = ThinkingBudget(10, 2, opened=THINK)
    text = "".join(
        stream_within_budget(iter(["a", " b", "</think>", "Yes", ".", " More"]), budget, None)
    )
    assert text == "a b</think>Yes." and (budget.thought_tokens, budget.answer_tokens) == (3, 2)
    assert not budget.cut and not thought_was_cut(split_reasoning("<think>" + text)[0])
    # A model that does not think: every token is the answer's.
    budget = ThinkingBudget(1, 3)
    assert "".join(
        stream_within_budget(iter(["Plain", " reply", " here", " extra"]), budget, None)
    ) == ("Plain reply here")
    assert (budget.thought_tokens, budget.answer_tokens) == (0, 3)


def test_the_thinking_budget_is_a_validated_setting() -> None:
    s = Settings()
    assert s.llm.max_thinking_tokens == 1024
    assert s.with_value("llm.max_thinking_tokens", "64").llm.max_thinking_tokens == 64
    for bad in ("0", "-5", "many"):
        with pytest.raises(SettingsError, match="llm.max_thinking_tokens"):
            s.with_value("llm.max_thinking_tokens", bad)


RESUMED_STEER = 'root ::= "Metformin " [a-z ,]{3,50} " [1]."'  # the answer after a cut thought
LONG_STEER = (  # a thought far longer than its budget, then the cited answer
    'root ::= "'
    + THOUGHT
    + ' " [a-z ]{300,400} "\\n</think>\\n\\n" "Metformin " [a-z ,]{3,50} " [1]."'
)


@pytest.mark.model
def test_a_real_thought_cut_at_its_budget_still_leaves_the_answer_its_tokens(
    thinking_engine: Engine, thinker: SteeredThinker, monkeypatch
) -> None:
    monkeypatch.setattr(thinker, "steer", LONG_STEER)
    thinking_engine.settings = thinking_engine.settings.with_value("llm.max_thinking_tokens", "16")
    assert thinking_engine.settings.llm.max_answer_tokens == 64
    assert thinking_engine.add([sample_document()])[0].status in ("added", "unchanged")
    answer = thinking_engine.ask(
        "When should metformin be stopped in chronic kidney disease?", mode="naive", style="off"
    )
    text = answer.text()
    budget = thinker.last_budget
    assert thinker.max_thinking_tokens == 16 and budget is not None and budget.cut
    assert budget.thought_tokens == 16 and 0 < budget.answer_tokens <= 64
    assert answer.reasoning.startswith("Reasoning first") and thought_was_cut(answer.reasoning)
    assert "budget of 16 tokens" in answer.to_json()["reasoning"]
    # Under the old shared budget the 300+ character thought would have taken all 64 tokens.
    assert text and "Reasoning first" not in text and CUT_MARK not in text and "think>" not in text
    assert thinker.prompts[-1].endswith(
        "\n</think>\n\n"
    )  # the answer was written after the closed thought

    # Within its budget the thought is kept whole and nothing says it was cut.
    monkeypatch.setattr(thinker, "steer", STEER)
    thinking_engine.settings = thinking_engine.settings.with_value("llm.max_thinking_tokens", "200")
    whole = thinking_engine.ask("When should metformin be stopped?", mode="naive", style="off")
    assert whole.text().startswith("Metformin ") and whole.reasoning.startswith(THOUGHT)
    assert not thought_was_cut(whole.reasoning) and thinker.last_budget is not None
    assert not thinker.last_budget.cut and thinker.last_budget.thought_tokens < 200


# ---------------------------------------------------------------- threads under load
def test_threads_follow_the_free_cores(tmp_path: Path) -> None:
    assert threads_for_load(2, 0, cpus=2) == 2
    assert (
        threads_for_load(2, 1, cpus=2) == 1
    )  # one busy program on two cores: one thread, on the free core
    assert threads_for_load(2, 9, cpus=2) == 1  # never fewer than one
    assert (
        threads_for_load(4, 2, cpus=8) == 4
    )  # hyper-threads free: still one thread per physical core
    assert threads_for_load(2, None, cpus=2) == 2  # load unknown (not Linux): all of them
    fake = tmp_path / "loadavg"
    fake.write_text("9.1 8.0 7.5 7/300 12345\n")
    assert (
        0 <= runnable_others(loadavg=fake) <= 6
    )  # 7 runnable, this test's own thread(s) taken off
    assert runnable_others(loadavg=tmp_path / "missing") is None


@pytest.mark.model
def test_llama_threads_step_aside_for_busy_programs(llm: LocalLLM) -> None:
    hogs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\nend = time.monotonic() + 60\n"
                "while time.monotonic() < end:\n    pass\n",
            ]
        )
        for _ in range(usable_cpus())
    ]
    try:
        time.sleep(0.5)
        assert llm.adapt_threads() == 1  # every core has a busy program: one thread
        pieces = list(
            llm.stream([{"role": "user", "content": "Say hello."}], max_tokens=4, temperature=0.0)
        )
        assert pieces and llm.threads == 1
        fixed = LocalLLM(llm.path, n_ctx=512, n_threads=2)  # a count the user set is kept
        try:
            assert fixed.adapt_threads() == 2
        finally:
            fixed.close()
    finally:
        for p in hogs:
            p.kill()
            p.wait()


@pytest.mark.model
def test_a_template_switch_turns_thinking_off_for_decisions_and_on_for_answers() -> None:
    path = bundled_model_path()
    if path is None:
        pytest.skip("bundled SmolLM2 model not installed")
    with LocalLLM(path, n_ctx=512, chat_template=CHATML + QWEN3_TAIL) as qwen3_like:
        assert (
            qwen3_like.reasoning.switch == "enable_thinking"
            and not qwen3_like.reasoning.opens_in_prompt
        )
        msgs = [{"role": "user", "content": "Is the kidney an organ?"}]
        assert qwen3_like.format_prompt(msgs, thinking=True).endswith("<|im_start|>assistant\n")
        closed = qwen3_like.format_prompt(msgs)
        assert closed.endswith(
            "<|im_start|>assistant\n<think>\n\n</think>\n\n"
        )  # written by the template itself
        assert closed.count("<think>") == 1 and closed == qwen3_like._render(
            msgs, enable_thinking=False
        )
