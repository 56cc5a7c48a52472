"""One window per library: a second launch is refused and brings the first window to the front."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from kidneytalk.ui.single_instance import SingleInstance, server_name

REPO = Path(__file__).resolve().parents[1]


def test_second_claim_on_the_same_library_is_refused_and_raises_the_first(qtbot, tmp_path: Path):
    first = SingleInstance(tmp_path / "lib-a" / "data")
    assert first.claim()
    second = SingleInstance(tmp_path / "lib-a" / "data")
    with qtbot.waitSignal(first.activated, timeout=5000):
        assert not second.claim()
    other = SingleInstance(tmp_path / "lib-b" / "data")  # another library is not affected
    assert other.claim()
    assert server_name(tmp_path / "lib-a" / "data") != server_name(tmp_path / "lib-b" / "data")
    first.release()
    again = SingleInstance(tmp_path / "lib-a" / "data")
    assert again.claim()  # the first window closed: the next start is the first again
    for guard in (other, again):
        guard.release()


def test_a_crashed_instance_does_not_block_the_next_start(qtbot, tmp_path: Path):
    data = tmp_path / "data"
    code = (
        "import sys, time\nfrom PySide6.QtCore import QCoreApplication\n"
        "from kidneytalk.ui.single_instance import SingleInstance\n"
        f"app = QCoreApplication([])\nguard = SingleInstance(__import__('pathlib').Path({str(data)!r}))\n"
        "print(guard.claim(), flush=True)\ntime.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "True"
        assert not SingleInstance(data).claim()  # alive: refused
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no clean-up, the socket file stays behind
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    guard = SingleInstance(data)
    assert guard.claim()
    assert guard.server is not None and guard.server.isListening()
    with qtbot.waitSignal(guard.activated, timeout=5000):
        assert not SingleInstance(data).claim()
    guard.release()


def test_second_gui_launch_exits_and_brings_the_window_forward(qtbot, tmp_path: Path):
    home = tmp_path / "home"
    guard = SingleInstance(home / "data")  # stands in for the first window
    assert guard.claim()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kidneytalk.ui.app", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        with qtbot.waitSignal(guard.activated, timeout=60000):
            pass
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        guard.release()
    assert proc.returncode == 0, err
    assert "already open on this library" in err
    assert not (home / "data" / "catalog.sqlite3").exists()  # refused before opening the library
    assert time.monotonic() - started < 60
