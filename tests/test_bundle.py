"""The self-contained bundle (installers/kidneytalk.spec): its entry point, and a smoke test of a built one.

The smoke test runs installers/smoke-bundle.sh on dist/KidneyTalk (or $KIDNEYTALK_BUNDLE) from a clean
environment: CLI add + ask with a cited answer, on x86-64 the portable llama.cpp (its CPU variant libraries,
and an answer from a copy of the bundle without those above Haswell), then the GUI offscreen until its
window is shown. It is skipped when no bundle was built (installers/build-linux.sh builds one;
installers/test.sh builds it in CI when KIDNEYTALK_BUILD_BUNDLE=1).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kidneytalk.bundle_entry import wants_gui

REPO = Path(__file__).resolve().parents[1]
BUNDLE = Path(os.environ.get("KIDNEYTALK_BUNDLE", REPO / "dist" / "KidneyTalk"))


def test_entry_is_chosen_by_the_executable_name_or_the_environment():
    assert wants_gui("/opt/KidneyTalk/kidneytalk-gui", {})
    assert wants_gui(r"C:\Program Files\KidneyTalk\kidneytalk-gui.exe", {})
    assert not wants_gui("/opt/KidneyTalk/kidneytalk", {})
    assert not wants_gui(r"C:\Program Files\KidneyTalk\kidneytalk.exe", {})
    assert wants_gui("/usr/bin/python3", {"KIDNEYTALK_ENTRY": "gui"})
    assert not wants_gui("/opt/KidneyTalk/kidneytalk-gui", {"KIDNEYTALK_ENTRY": "cli"})


def test_bundle_entry_runs_the_cli_from_source(tmp_path: Path):
    res = subprocess.run(
        [sys.executable, "-m", "kidneytalk.bundle_entry", "--home", str(tmp_path), "list"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KIDNEYTALK_ENTRY": "cli"},
    )
    assert res.returncode == 0, res.stderr
    assert "The library is empty." in res.stdout


def test_gui_exits_when_shown_and_says_so(tmp_path: Path):
    """The flag the bundle smoke test relies on: window shown, time printed, app quits by itself."""
    env = {
        **os.environ,
        "KIDNEYTALK_ENTRY": "gui",
        "KIDNEYTALK_EXIT_WHEN_SHOWN": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "KIDNEYTALK_HOME": str(tmp_path),
    }
    res = subprocess.run(
        [sys.executable, "-m", "kidneytalk.bundle_entry"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert re.search(r"^kidneytalk-gui: window shown at \d+\.\d{3}$", res.stdout, re.M), (
        res.stdout + res.stderr
    )


@pytest.mark.slow
def test_built_bundle_smoke():
    if not (BUNDLE / "kidneytalk").exists():
        pytest.skip(f"no bundle at {BUNDLE} (build one with installers/build-linux.sh)")
    res = subprocess.run(
        ["bash", str(REPO / "installers" / "smoke-bundle.sh"), str(BUNDLE)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(res.stdout)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "bundle smoke: cited answer from" in res.stdout
    assert "bundle smoke: GUI window usable" in res.stdout
    assert "bundle smoke: OK" in res.stdout
    if sys.platform.startswith("linux"):  # the .desktop entry and icon, installed into a menu
        assert "bundle smoke: desktop entry and icon installed into the menu" in res.stdout
    if (
        platform.machine().lower() in ("x86_64", "amd64")
        and os.environ.get("KIDNEYTALK_PORTABLE_LLAMA") != "0"
    ):
        # llama.cpp for any x86-64 CPU: the variants are there, and a copy without those above Haswell answers
        assert "bundle smoke: llama.cpp CPU variants: " in res.stdout
        assert "bundle smoke: without the variants above haswell: loaded " in res.stdout


# ---------------------------------------------------------------- the portable llama.cpp
# installers/build-llama-wheel.sh caches its wheel here; build-bundle.sh builds it on x86-64.
PORTABLE_WHEELS = sorted((REPO / "build" / "llama-cpp").glob("*/llama_cpp_python-*.whl"))
HOOK = REPO / "installers" / "pyi_rth_llama_backends.py"
# The x86-64 variants a CPU without AVX-512 can run (ggml/src/CMakeLists.txt's list, up to Haswell).
UP_TO_HASWELL = {"x64", "sse42", "sandybridge", "ivybridge", "piledriver", "haswell"}

# Run in a fresh interpreter as the bundle starts: the runtime hook with sys._MEIPASS set to the
# unpacked wheel, then llama_cpp from there (not the .venv's), the bundled model, a few tokens.
_GENERATE = """
import runpy, sys
root, hook, model = sys.argv[1:4]
sys._MEIPASS = root
runpy.run_path(hook)
sys.path.insert(0, root)
import llama_cpp
assert llama_cpp.__file__.startswith(root), llama_cpp.__file__
llm = llama_cpp.Llama(model_path=model, n_ctx=256, n_threads=1, verbose=False)
out = llm("The kidneys filter the", max_tokens=6, temperature=0.0)
print("TEXT:" + out["choices"][0]["text"].replace("\\n", " "))
"""


def _variant_loaded(stderr: str) -> str:
    found = re.findall(r"loaded CPU backend from \S*ggml-cpu-([\w.]+)\.(?:so|dll)", stderr)
    assert found, stderr
    return found[-1]


@pytest.mark.model
@pytest.mark.skipif(
    not PORTABLE_WHEELS, reason="no portable llama-cpp-python wheel under build/llama-cpp"
)
def test_portable_llama_loads_the_best_cpu_variant_and_runs_without_the_higher_ones(tmp_path: Path):
    """The portable wheel and the bundle's runtime hook, without PyInstaller: every variant is in the
    wheel, the hook makes ggml load one, and with only the variants up to Haswell left (a CPU without
    AVX-512) the bundled model still generates text."""
    import zipfile

    from kidneytalk.models import bundled_model_path

    model = bundled_model_path()
    if model is None:
        pytest.skip("bundled SmolLM2 model not installed")
    root = tmp_path / "_internal"
    with zipfile.ZipFile(PORTABLE_WHEELS[-1]) as wheel:
        wheel.extractall(root)
    lib = root / "llama_cpp" / "lib"
    variants = {
        m.group(1)
        for f in lib.iterdir()
        if (m := re.match(r"(?:lib)?ggml-cpu-(.+)\.(?:so|dll)$", f.name))
    }
    assert {"x64", "haswell", "skylakex", "icelake"} <= variants, variants

    def generate() -> tuple[str, str]:
        res = subprocess.run(
            [sys.executable, "-c", _GENERATE, str(root), str(HOOK), str(model)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "KIDNEYTALK_LLAMA_BACKEND_LOG": "1"},
        )
        assert res.returncode == 0, res.stderr[-3000:]
        text = res.stdout.split("TEXT:", 1)[1].strip()
        assert text, res.stdout
        return _variant_loaded(res.stderr), text

    best, _ = generate()
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if re.search(r"\bavx2\b", cpu):
        assert best != "x64", "the plain x86-64 code was chosen on an AVX2 CPU"
    for f in lib.iterdir():
        m = re.match(r"(?:lib)?ggml-cpu-(.+)\.(?:so|dll)$", f.name)
        if m and m.group(1) not in UP_TO_HASWELL:
            f.unlink()
    older, _ = generate()
    assert older in UP_TO_HASWELL
    if all(re.search(rf"\b{flag}\b", cpu) for flag in ("avx2", "fma", "f16c", "bmi2")):
        assert older == "haswell"
