"""GGUF metadata, the model registry and the llama.cpp wrapper, on the bundled SmolLM2 model."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import threading as _threading
from pathlib import Path

import pytest

from kidneytalk.config import Paths
from kidneytalk.copypaste import Writer
from kidneytalk.errors import ContextOverflowError, ModelError
from kidneytalk.gguf import read_gguf
from kidneytalk.models import ModelRegistry, bundled_model_path, fit
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit
from kidneytalk.trace import Trace


def test_gguf_metadata_of_bundled_model():
    path = bundled_model_path()
    assert path is not None and path.name.endswith(".gguf")
    info = read_gguf(path)
    assert info.architecture == "llama"
    assert 120e6 < info.parameters < 150e6
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.has_chat_template
    assert info.kv_cache_bytes(4096) > 0


def test_not_a_gguf_file_is_refused_with_its_name(tmp_path: Path):
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello")
    with pytest.raises(ModelError, match="notes.gguf is not a GGUF model file"):
        read_gguf(bad)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(bundled_model_path().read_bytes()[:1000])
    with pytest.raises(ModelError, match="cut.gguf"):
        read_gguf(truncated)


def test_registry_add_list_default(tmp_path: Path):
    paths = Paths.resolve(tmp_path).ensure()
    reg = ModelRegistry(paths)
    assert reg.default_name() == "smollm2-135m-instruct"
    copy = tmp_path / "My Model.Q4.gguf"
    copy.write_bytes(bundled_model_path().read_bytes())
    entry, info = reg.add(copy)
    assert entry.name == "my-model.q4"
    names = [e.name for e in reg.entries()]
    assert (
        names[0] == "smollm2-135m-instruct" and names[-1] == "my-model.q4"
    )  # bundled first, then added
    assert set(names[1:-1]) <= {"gemma3-270m"}
    reg.set_default("my-model.q4")
    assert reg.default_name() == "my-model.q4"
    with pytest.raises(ModelError, match="Unknown model 'nope'"):
        reg.get("nope")


def test_ram_fit_warns_when_the_model_cannot_fit():
    info = read_gguf(bundled_model_path())
    assert fit(info, 4096).ok  # 135M fits on any machine that runs this test
    info.file_size = 1 << 45  # pretend a 32 TB file
    check = fit(info, 4096)
    assert not check.ok and "needs about" in check.warning("huge")


def test_models_cli_list_json(tmp_path: Path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kidneytalk.cli",
            "--home",
            str(tmp_path),
            "models",
            "list",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.stdout)
    assert rows[0]["name"] == "smollm2-135m-instruct" and rows[0]["default"] is True
    assert rows[0]["quantization"] == "Q4_1" and rows[0]["fits_in_memory"] is True


def test_streams_tokens_and_cancels_mid_generation(llm):
    messages = [{"role": "user", "content": "Write a long story about a kidney."}]
    pieces = list(llm.stream(messages, max_tokens=40, temperature=0.0))
    assert len(pieces) > 5
    cancel = threading.Event()
    got = []
    for piece in llm.stream(messages, max_tokens=200, cancel=cancel):
        got.append(piece)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3


def test_grammar_forces_one_of_the_options(llm):
    """The grammar, not choose()'s fallback, makes the reply an option: the raw completion is one."""
    messages = [{"role": "user", "content": "Is the kidney an organ? Answer yes or no."}]
    free = llm.complete(messages, max_tokens=8, temperature=0.0).strip()
    assert free not in ("yes", "no")  # left alone, the model writes a sentence
    raw = llm.complete(messages, max_tokens=8, temperature=0.0, grammar='root ::= "yes" | "no"')
    assert raw in ("yes", "no")
    assert llm.choose(messages, ["yes", "no"]) == raw


def test_prompt_budget_never_overflows_context(llm):
    hit = Hit(
        "d:00001",
        "d",
        "doc.pdf",
        "Potassium should be checked after starting an ACE inhibitor. " * 40,
        1,
        1,
        (),
        0.9,
    )
    hits = [hit] * 12
    writer = Writer(
        llm,
        PromptBook(),
        max_tokens=512,
        temperature=0.0,
        refusal="No answer.",
        trace=Trace(),
        cancel=_threading.Event(),
    )
    kept = writer.fit(hits, lambda hs: writer.off_messages("When is potassium checked?", hs), 512)
    used = llm.count_messages(writer.off_messages("When is potassium checked?", kept))
    assert 0 < len(kept) < len(hits)
    assert used + 512 <= llm.n_ctx
    with pytest.raises(ContextOverflowError):
        list(llm.stream([{"role": "user", "content": "word " * 5000}], max_tokens=64))


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.model
def test_removing_the_model_a_setting_names_leaves_later_questions_working(tmp_path: Path):
    """models add X --name other; settings set llm.model other; models remove other; ask ... works."""
    from kidneytalk.engine import sample_document

    home = tmp_path / "home"
    copy = tmp_path / "other.gguf"
    copy.symlink_to(bundled_model_path())
    assert _cli(home, "models", "add", str(copy), "--name", "other").returncode == 0
    res = _cli(home, "settings", "set", "llm.model", "other")
    assert res.returncode == 0, res.stderr
    assert json.loads(_cli(home, "settings", "show").stdout)["llm"]["model"] == "other"
    assert _cli(home, "models", "remove", "other").returncode == 0
    assert (
        json.loads(_cli(home, "settings", "show").stdout)["llm"]["model"] == ""
    )  # cleared with the model
    assert _cli(home, "add", str(sample_document())).returncode == 0
    res = _cli(home, "ask", "When should metformin be stopped?", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["model"] == "smollm2-135m-instruct"


def test_a_setting_naming_an_unknown_model_is_refused_and_a_stale_one_falls_back(tmp_path: Path):
    from kidneytalk.engine import Engine

    home = tmp_path / "home"
    res = _cli(home, "settings", "set", "llm.model", "no-such-model")
    assert res.returncode == 2 and "llm.model must name a known model" in res.stderr
    assert res.stderr.count("\n") == 1
    settings_file = home / "config" / "settings.json"
    assert not settings_file.exists() or "no-such-model" not in settings_file.read_text()
    # A model file deleted while the app was closed: the setting still names it, questions use the default.
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(json.dumps({"llm": {"model": "gone"}}))
    with Engine(home) as engine:
        assert engine.settings.llm.model == "gone"
        assert engine.model_name == "smollm2-135m-instruct"
    rows = json.loads(_cli(home, "models", "list", "--json").stdout)
    assert [r["name"] for r in rows if r["default"]] == ["smollm2-135m-instruct"]
