"""A library on a read-only folder opens for questions and refuses every change (issue 15).

Two ways a folder is read-only, both real: a read-only bind mount of the data
folder (``mount --bind`` + ``remount,ro,bind``: what read-only media or a
read-only network share look like), and ``chmod a-w`` with the process run
without ``CAP_DAC_OVERRIDE`` (root ignores permission bits otherwise). In both,
questions are answered with citations, changes are refused with one line, and
nothing in the folder changes: not a byte, not a modification time, no lock file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk import folders
from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError
from tests.fixtures_pdf import library_problems, write_text_pdf
from tests.mounts import read_only_bind

QUESTION = "When should metformin be stopped in chronic kidney disease?"


def tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry under ``folder`` with its mode, size and modification time (ns)."""
    out = {".": _entry(folder)}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            out[str(path.relative_to(folder))] = _entry(path)
    return out


def _entry(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return st.st_mode, st.st_size, st.st_mtime_ns


def _run(cmd: list[str], *, timeout: float = 600) -> tuple[int, str, str]:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return res.returncode, res.stdout, res.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """A home with a small library of two guidelines (built once, copied by each test)."""
    root = tmp_path_factory.mktemp("read-only-src")
    home = root / "home"
    docs = [
        write_text_pdf(root / "dkd.pdf", topic="diabetic kidney disease", pages=2),
        write_text_pdf(root / "stones.pdf", topic="kidney stones", pages=2),
    ]
    with Engine(home, embedder=embedder) as eng:
        assert [r.status for r in eng.add(docs)] == ["added", "added"]
    return home


@pytest.fixture
def home(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(built, target, symlinks=True)
    return target


@pytest.fixture
def ro_mount(home: Path) -> Iterator[Path]:
    """The home's data folder as a read-only bind mount (skipped where mounting is not allowed)."""
    with read_only_bind(home / "data") as data:
        yield data


def _no_dac() -> list[str]:
    """A prefix that runs a command without the capability to ignore permission bits."""
    if os.name != "posix":
        pytest.skip("POSIX permissions only")
    if os.geteuid() != 0:
        return []  # an ordinary user obeys the mode bits already
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv not installed (util-linux)")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[Path]:
    """``chmod a-w`` on ``folder`` and all it holds, restored afterwards."""
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for path in modes:
        path.chmod(modes[path] & ~0o222)
    try:
        yield folder
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


@pytest.fixture
def ro_chmod(home: Path) -> Iterator[Path]:
    with unwritable(home / "data") as data:
        yield data


def _cli(home: Path, *args: str, prefix: list[str] | None = None) -> tuple[int, str, str]:
    return _run(
        [*(prefix or []), sys.executable, "-m", "kidneytalk.cli", "--home", str(home), *args]
    )


def _scratch_of(stderr: str) -> Path | None:
    found = re.search(r"copied \([\d.]+ MiB\) to (\S+), removed on close", stderr)
    return Path(found.group(1)) if found else None


def _check_refused(result: tuple[int, str, str], data: Path, verb: str) -> None:
    code, _out, err = result
    lines = [line for line in err.splitlines() if "refused" in line]
    assert code == 1, err
    assert len(lines) == 1 and "read-only" in lines[0] and str(data) in lines[0], err
    assert verb in lines[0], err
    assert "Traceback" not in err and "bug" not in err


def _questions_and_refusals(home: Path, data: Path, prefix: list[str], tmp_path: Path) -> None:
    before = tree(data)
    code, out, err = _cli(home, "ask", "--mode", "hybrid", "--json", QUESTION, prefix=prefix)
    assert code == 0, err
    answer = json.loads(out)
    assert not answer["refused"] and answer["citations"], answer
    assert {c["source"] for c in answer["citations"]} <= {"dkd.pdf", "stones.pdf"}
    notes = [line for line in err.splitlines() if "read-only" in line]
    assert len(notes) == 1 and "MiB" in notes[0], err  # said once, with the size copied
    scratch = _scratch_of(err)
    assert scratch is not None and not scratch.exists()  # the temporary copy is gone
    other = write_text_pdf(tmp_path / "other.pdf", topic="renal anaemia", pages=1)
    _check_refused(_cli(home, "add", str(other), prefix=prefix), data, "adding documents")
    assert tree(data) == before  # nothing written: no lock, no journal, no copy, same mtimes


@pytest.mark.model  # two CLI runs, one loads the language model: ~40 s on a busy 2-core box
def test_a_read_only_mount_answers_with_citations_and_refuses_add(
    home: Path, ro_mount: Path, tmp_path: Path
) -> None:
    _questions_and_refusals(home, ro_mount, [], tmp_path)


@pytest.mark.model
def test_a_folder_without_write_permission_answers_and_refuses_add(
    home: Path, ro_chmod: Path, tmp_path: Path
) -> None:
    _questions_and_refusals(home, ro_chmod, _no_dac(), tmp_path)


def test_every_change_is_refused_in_one_line_and_questions_still_search(
    home: Path, ro_mount: Path, embedder, tmp_path: Path
) -> None:
    before = tree(ro_mount)
    other = write_text_pdf(tmp_path / "other.pdf", topic="renal anaemia", pages=1)
    follow_me = tmp_path / "papers"
    follow_me.mkdir()
    with Engine(home, embedder=embedder) as eng:
        lib = eng.library
        assert lib.read_only == "on a read-only file system"
        assert any("read-only" in n for n in eng.settings_notices)
        assert {d.name for d in lib.documents()} == {"dkd.pdf", "stones.pdf"}
        hits = eng.search("metformin eGFR below 30", k=3)
        assert hits and hits[0].doc_name in {"dkd.pdf", "stones.pdf"}
        assert library_problems(lib) == []
        refusals = {
            "adding documents": lambda: eng.add([other]),
            "re-indexing documents": lambda: eng.reindex(),
            "removing documents": lambda: lib.remove("dkd.pdf"),
            "enabling or disabling documents": lambda: lib.set_enabled("dkd.pdf", False),
            "following a folder": lambda: folders.follow(lib, follow_me),
        }
        for verb, change in refusals.items():
            with pytest.raises(KidneyTalkError) as caught:
                change()
            message = str(caught.value)
            assert verb in message and "read-only" in message and "\n" not in message
        assert folders.followed(lib) == []
        # the user's conversations live in the config folder, per library, and work as usual
        where = eng.paths.conversations
        assert where.is_relative_to(eng.paths.config)
        assert eng.paths.evaluations.parent == where.parent  # evaluation runs beside them
        chat = eng.conversations.create("read-only chat")
        assert [c.id for c in eng.conversations.list()] == [chat.id]
        scratch = lib._scratch
        assert scratch is not None and scratch.is_dir()
    assert not scratch.exists()
    assert tree(ro_mount) == before


def test_the_cli_lists_checks_and_refuses_removal_and_repair(home: Path, ro_mount: Path) -> None:
    code, out, err = _cli(home, "list")
    assert code == 0 and "dkd.pdf" in out and "stones.pdf" in out, err
    _check_refused(_cli(home, "remove", "dkd.pdf"), ro_mount, "removing documents")
    _check_refused(_cli(home, "doctor", "--repair"), ro_mount, "repairs")
    code, out, err = _cli(home, "doctor")
    assert code == 0 and "PROBLEM" not in out, out + err


@pytest.mark.model  # the chat answers with the session's language model
def test_the_app_shows_a_read_only_library_answers_in_chat_and_refuses_adding(
    qtbot, home: Path, ro_mount: Path, embedder, llm, tmp_path: Path
) -> None:
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import Qt

    from kidneytalk.ui.main_window import MainWindow

    before = tree(ro_mount)
    engine = Engine(home, embedder=embedder, llm=llm)
    window = MainWindow(engine)
    try:
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.client.pending() == 0)  # first library snapshot arrived
        page = window.library_page
        qtbot.waitUntil(lambda: page.read_only != "")
        assert page.read_only_label.isVisible() and page.read_only_label.text() == "Read-only"
        for button in page._write_widgets():
            assert not button.isEnabled() and "read-only" in button.toolTip()
        assert page.model.rowCount() == 2 and page.model._locked  # no check box can be toggled
        said: list[str] = []
        page.message.connect(said.append)
        page.add_paths([str(write_text_pdf(tmp_path / "x.pdf", topic="renal anaemia", pages=1))])
        assert not page.adding and said and "read-only" in said[-1]

        chat = window.chat_page
        window.sidebar.setCurrentRow(1)
        chat.set_options("hybrid", "cp-order")
        chat.question.setFocus()
        qtbot.keyClicks(chat.question, QUESTION)
        qtbot.keyClick(chat.question, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not chat.asking, timeout=150_000)
        result = chat.result
        assert result is not None and not result.refused and result.details["citations"]
        assert "Sources: [" in chat.transcript.toPlainText()
        assert chat.conv is not None  # kept in the user's config folder, not in the library
        assert engine.paths.conversations.is_relative_to(engine.paths.config)
    finally:
        assert window.shutdown()
        engine.close()
    assert tree(ro_mount) == before


def test_a_home_entirely_read_only_lists_and_refuses_settings_in_one_line(home: Path) -> None:
    """Config, data and logs all read-only (KidneyTalk's folder on read-only media): no log file, still usable."""
    prefix = _no_dac()
    before = tree(home)
    with unwritable(home):
        code, out, err = _cli(home, "list", prefix=prefix)
        assert code == 0 and "dkd.pdf" in out, err
        code, out, err = _cli(home, "settings", "set", "top_k", "5", prefix=prefix)
        lines = [line for line in err.splitlines() if "Settings cannot be saved" in line]
        assert code == 1 and len(lines) == 1 and str(home / "config") in lines[0], err
        assert "Traceback" not in err and "bug" not in err
        assert tree(home) == {k: (m & ~0o222, s, t) for k, (m, s, t) in before.items()}


def test_a_new_home_on_read_only_media_is_refused_in_one_line(tmp_path: Path) -> None:
    """No library there yet and no way to make one: one line naming the folder, no traceback."""
    media = tmp_path / "media"
    media.mkdir()
    with read_only_bind(media):
        res = subprocess.run(
            [sys.executable, "-m", "kidneytalk.cli", "--home", str(media / "kt"), "list"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"cannot create its folder {media / 'kt'}" in lines[0] and "bug" not in lines[0]
