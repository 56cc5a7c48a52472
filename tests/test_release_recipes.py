"""The Windows and macOS recipes, which cannot run here, checked against the Linux build that does
(issue 14, point 3: the same spec, entry points and data-file lists; an .exe installer and a .dmg).

Nothing is built: the workflow, the Inno Setup script, the disk-image script, the desktop entry
and the spec are read, and every name one of them gives another must match. The shell scripts
are parsed by bash. What a runner would do beyond that is untested (installers/README.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kidneytalk.bundle_entry import wants_gui

REPO = Path(__file__).resolve().parents[1]
INSTALLERS = REPO / "installers"
WORKFLOW = REPO / ".github" / "workflows" / "build.yml"
SPEC = (INSTALLERS / "kidneytalk.spec").read_text(encoding="utf-8")


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _executables() -> dict[str, bool]:
    """{name: console} of the executables the spec builds."""
    found = dict(re.findall(r'_exe\("([\w-]+)", console=(True|False)\)', SPEC))
    return {name: console == "True" for name, console in found.items()}


def test_the_spec_builds_one_windowed_app_and_one_console_cli_from_the_same_entry() -> None:
    assert _executables() == {"kidneytalk-gui": False, "kidneytalk": True}
    assert SPEC.count("Analysis(") == 1  # one analysis, one data-file list, for every platform
    assert '"bundle_entry.py"' in SPEC
    for exe in ("kidneytalk-gui", "kidneytalk-gui.exe"):
        assert wants_gui(exe, {})
    assert not wants_gui("kidneytalk.exe", {})
    # the only platform branches: the icon format and the macOS .app
    assert set(re.findall(r"\bIS_(?:WIN|MAC)\b", SPEC)) == {"IS_WIN", "IS_MAC"}
    assert 'name="KidneyTalk.app"' in SPEC and '"CFBundleExecutable": "kidneytalk-gui"' in SPEC
    for icon in ("kidneytalk.ico", "kidneytalk.icns", "kidneytalk.png"):
        assert icon in SPEC and (INSTALLERS / icon).stat().st_size > 1000


def test_the_workflow_builds_checks_and_packages_on_linux_windows_and_macos() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    jobs = flow["jobs"]
    assert {name: job["runs-on"] for name, job in jobs.items()} == {
        "linux": "ubuntu-22.04",
        "windows": "windows-latest",
        "macos": "macos-latest",
    }
    for name, job in jobs.items():
        run = _runs(job)
        # every platform: the same build script (build-linux.sh wraps it) and the same smoke test
        assert "installers/build-bundle.sh" in run or "installers/build-linux.sh" in run, name
        assert "installers/smoke-bundle.sh dist/KidneyTalk" in run, name
        for script in re.findall(r"installers/[\w./-]+\.(?:sh|iss|txt)", run):
            assert (REPO / script).is_file(), (name, script)
    artefacts = {name: job["steps"][-1]["with"]["path"] for name, job in jobs.items()}
    assert artefacts == {
        "linux": "dist/KidneyTalk-linux-*.tar.gz",
        "windows": "dist/KidneyTalk-Setup-*.exe",
        "macos": "dist/KidneyTalk-*.dmg",
    }
    assert "--archive" in _runs(jobs["linux"])  # build-linux.sh --archive makes the .tar.gz
    assert "ISCC.exe" in _runs(jobs["windows"]) and "installers/windows/kidneytalk.iss" in _runs(
        jobs["windows"]
    )
    assert "installers/macos/make-dmg.sh" in _runs(jobs["macos"])


def test_the_windows_installer_packs_the_folder_the_spec_makes_and_starts_its_gui() -> None:
    iss = (INSTALLERS / "windows" / "kidneytalk.iss").read_text(encoding="utf-8")
    assert 'Source: "..\\..\\dist\\KidneyTalk\\*"' in iss  # COLLECT(name="KidneyTalk")
    assert 'name="KidneyTalk")' in SPEC
    assert "OutputBaseFilename=KidneyTalk-Setup-{#AppVersion}" in iss
    assert "OutputDir=..\\..\\dist" in iss
    started = set(re.findall(r"\{app\}\\([\w-]+\.exe)", iss))
    assert started == {"kidneytalk-gui.exe"} and "kidneytalk-gui" in _executables()
    assert "SetupIconFile=..\\kidneytalk.ico" in iss and (INSTALLERS / "kidneytalk.ico").is_file()


def test_the_disk_image_wraps_the_app_the_spec_makes() -> None:
    dmg = (INSTALLERS / "macos" / "make-dmg.sh").read_text(encoding="utf-8")
    assert "dist/KidneyTalk.app" in dmg and 'dmg="dist/KidneyTalk-$version-macos-' in dmg
    assert "ln -s /Applications" in dmg and "hdiutil create" in dmg


def test_the_linux_desktop_entry_starts_the_windowed_app_with_its_icon(tmp_path: Path) -> None:
    entry = (INSTALLERS / "linux" / "kidneytalk.desktop").read_text(encoding="utf-8")
    fields = dict(line.split("=", 1) for line in entry.splitlines()[1:] if "=" in line)
    assert fields["Exec"] == fields["TryExec"] == "kidneytalk-gui" and fields["Terminal"] == "false"
    assert fields["Icon"] == "kidneytalk" and (INSTALLERS / "kidneytalk.png").is_file()
    build = (INSTALLERS / "build-linux.sh").read_text(encoding="utf-8")
    assert "cp installers/linux/kidneytalk.desktop installers/kidneytalk.png" in build
    assert "installers/linux/install-desktop-entry.sh" in build
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed (apt: desktop-file-utils)")
    res = subprocess.run(
        ["desktop-file-validate", str(INSTALLERS / "linux" / "kidneytalk.desktop")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


@pytest.mark.parametrize(
    "script",
    sorted(p.relative_to(REPO).as_posix() for p in INSTALLERS.rglob("*.sh")),
)
def test_every_installer_script_parses(script: str) -> None:
    res = subprocess.run(["bash", "-n", str(REPO / script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
