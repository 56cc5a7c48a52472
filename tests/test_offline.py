"""KidneyTalk works with no network at all, and its core never needs Qt.

The end-to-end test runs the real CLI (`add` then `ask` with the bundled models)
inside a fresh network namespace (`unshare -n`: not even loopback is up).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kidneytalk.config import LLMSettings, Paths, Settings
from tests.fixtures_pdf import write_text_pdf

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything KidneyTalk must set itself."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "KIDNEYTALK_HOME" and not k.startswith(("HF_", "TRANSFORMERS_"))
    }
    env.update(extra)
    return env


def _can_unshare_network() -> str:
    """'' when `unshare -n` works here, else why not."""
    if shutil.which("unshare") is None:
        return "the unshare tool is not installed"
    try:
        res = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"unshare -n cannot run: {exc}"
    if res.returncode != 0:
        return f"unshare -n needs CAP_SYS_ADMIN (root or user namespaces): {res.stderr.strip()}"
    return ""


def run_without_network(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "-n", *argv], capture_output=True, text=True, timeout=timeout, env=_clean_env()
    )


def test_import_forces_the_offline_switches_even_against_the_environment():
    import kidneytalk  # noqa: F401

    for var in OFFLINE_VARS:
        assert os.environ[var] == "1"
    probe = "import os, kidneytalk; print(os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'])"
    res = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(HF_HUB_OFFLINE="0", TRANSFORMERS_OFFLINE="0"),
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["1", "1"]


def test_core_and_cli_import_and_run_with_pyside6_blocked(tmp_path: Path):
    script = textwrap.dedent(
        """
        import importlib.abc, sys

        class NoQt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "shiboken6"):
                    raise ImportError(f"blocked for this test: {name}")
                return None

        sys.meta_path.insert(0, NoQt())
        import kidneytalk, kidneytalk.engine, kidneytalk.cli, kidneytalk.retrieval, kidneytalk.library
        from kidneytalk.retrieval import naive
        from kidneytalk.cli import main

        assert main(["--home", sys.argv[1], "list"]) == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
        assert not loaded, loaded
        print("core ok without Qt")
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=300,
        env=_clean_env(),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "core ok without Qt" in res.stdout
    assert "The library is empty" in res.stdout


@pytest.mark.parametrize(
    "mode",
    [
        "naive",  # one LLM call: the quick end-to-end proof
        pytest.param("addrep", marks=pytest.mark.slow),  # the default mode: several agent calls
    ],
)
@pytest.mark.model  # the CLI subprocess loads it
def test_add_and_ask_work_inside_a_network_namespace_without_network(mode: str, tmp_path: Path):
    why_not = _can_unshare_network()
    if why_not:
        pytest.skip(why_not)
    no_net = run_without_network(
        sys.executable,
        "-c",
        "import socket\n"
        "try:\n    socket.create_connection(('1.1.1.1', 443), timeout=3)\nexcept OSError:\n    print('no network')",
    )
    assert no_net.stdout.strip() == "no network", "the namespace must really be offline"

    home = tmp_path / "home"
    # a short answer keeps the test quick; the model and the whole pipeline are the real ones
    Settings().replace(llm=LLMSettings(max_answer_tokens=96)).save(Paths.resolve(home).ensure())
    pdf = write_text_pdf(tmp_path / "metformin-ckd.pdf", topic="diabetic kidney disease", pages=4)
    cli = (sys.executable, "-m", "kidneytalk.cli", "--home", str(home))

    added = run_without_network(*cli, "add", str(pdf))
    assert added.returncode == 0, added.stderr
    assert "metformin-ckd.pdf: added as" in added.stderr

    asked = run_without_network(
        *cli, "ask", "--mode", mode, "Below which eGFR should metformin be stopped?"
    )
    assert asked.returncode == 0, asked.stderr
    out = asked.stdout
    assert "The library does not contain the answer" not in out
    marker = next(
        (m for m in ("\nSources:", "\nThe model gave no citation markers") if m in out), None
    )
    assert marker, f"no sources listed:\n{out}"
    answer, _, sources = out.partition(marker)
    assert answer.strip(), out
    assert "metformin-ckd.pdf p." in sources, out
