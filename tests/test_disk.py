"""A full disk and a read-only library (issue 15): one clear line, nothing lost, consistent after.

The library lives on a small tmpfs mounted for the test (root or CAP_SYS_ADMIN
needed; skipped otherwise). A filler file takes the free space away; adding a
document then fails before anything is written, naming the folder; after the
filler is gone the same add succeeds. Adding to a read-only bind mount of the
data folder is refused with one line naming it (questions on it: tests/test_read_only.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk import ingest as ingest_module
from kidneytalk.engine import Engine
from tests.fixtures_pdf import library_problems, write_big_pdf, write_text_pdf
from tests.mounts import mount, read_only_bind


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    why = mount("-t", "tmpfs", "-o", "size=100m", "tmpfs", str(where))
    if why:
        pytest.skip(f"cannot mount a tmpfs here: {why}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free."""
    filler = disk / "filler.bin"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        todo = max(0, free - leave)
        while todo > 0:
            f.write(chunk[: min(len(chunk), todo)])
            todo -= len(chunk)
    return filler


def test_add_on_a_nearly_full_disk_is_refused_with_the_folder_named_and_succeeds_after(
    small_disk: Path, tmp_path: Path, embedder
):
    home = small_disk / "home"
    small = write_text_pdf(tmp_path / "small.pdf", topic="renal anaemia", pages=2)
    big = write_big_pdf(tmp_path / "big.pdf", pages=40)
    with Engine(home, embedder=embedder) as eng:
        assert [r.status for r in eng.add([small])] == ["added"]
        filler = fill(small_disk, 40 << 20)  # less than the margin the vector store needs
        [result] = eng.add([big])
        assert result.status == "failed"
        assert "not enough space in" in result.message and str(eng.paths.data) in result.message
        assert "\n" not in result.message
        assert library_problems(eng.library) == []
        assert [d.name for d in eng.library.documents()] == ["small.pdf"]
        assert eng.search("renal anaemia", k=2)
        filler.unlink()
        [again] = eng.add([big])
        assert again.status == "added", again.message
        assert library_problems(eng.library) == []
    # the library opens again (a vector store written to a full disk could not) and answers searches
    with Engine(home, embedder=embedder) as eng:
        assert sorted(d.name for d in eng.library.documents()) == ["big.pdf", "small.pdf"]
        assert eng.search("kidney transplantation", k=2)


def test_the_cli_prints_one_line_for_a_full_disk(
    small_disk: Path, tmp_path: Path, monkeypatch, capsys
):
    from kidneytalk.cli import main

    home = small_disk / "home"
    small = write_text_pdf(tmp_path / "small.pdf", topic="renal anaemia", pages=2)
    fill(small_disk, 30 << 20)
    assert main(["--home", str(home), "add", str(small)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "not enough space" in line]
    assert len(lines) == 1 and "small.pdf" in lines[0], err
    assert "Traceback" not in err


def test_space_check_arithmetic(tmp_path: Path):
    assert ingest_module.space_problem(tmp_path, 0, margin=0) == ""
    free = shutil.disk_usage(tmp_path).free
    msg = ingest_module.space_problem(tmp_path, free, margin=1)
    assert msg.startswith(f"not enough space in {tmp_path}") and "MiB free" in msg


def test_a_read_only_library_is_refused_with_one_line_and_nothing_lost(tmp_path: Path, embedder):
    home = tmp_path / "home"
    small = write_text_pdf(tmp_path / "small.pdf", topic="renal anaemia", pages=2)
    with Engine(home, embedder=embedder) as eng:
        assert [r.status for r in eng.add([small])] == ["added"]
        data = eng.paths.data
    with read_only_bind(data):
        other = write_text_pdf(tmp_path / "other.pdf", topic="kidney stones", pages=2)
        res = subprocess.run(
            [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), "add", str(other)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode != 0
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert any("read-only" in line and str(data) in line for line in lines), res.stderr
        assert "Traceback" not in res.stderr and "bug" not in res.stderr
    with Engine(home, embedder=embedder) as eng:  # writable again: nothing was lost
        assert [d.name for d in eng.library.documents()] == ["small.pdf"]
        assert library_problems(eng.library) == []
