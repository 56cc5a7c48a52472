"""The self-contained bundle (installers/kidneytalk.spec): its entry point, and a smoke test of a built one.

The smoke test runs installers/smoke-bundle.sh on dist/KidneyTalk (or $KIDNEYTALK_BUNDLE) from a clean
environment: CLI add + ask with a cited answer, then the GUI offscreen until its window is shown. It is
skipped when no bundle was built (installers/build-linux.sh builds one; installers/test.sh builds it in CI
when KIDNEYTALK_BUILD_BUNDLE=1).
"""

from __future__ import annotations

import os
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
