"""Mounts for tests that need a real small disk or a real read-only folder (root only; skipped otherwise)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def mount(*argv: str) -> str:
    """Run ``mount``; "" on success, else its one-line error."""
    res = subprocess.run(["mount", *argv], capture_output=True, text=True)
    return "" if res.returncode == 0 else (res.stderr.strip() or f"mount exited {res.returncode}")


@contextlib.contextmanager
def read_only_bind(folder: Path) -> Iterator[Path]:
    """``folder`` bind-mounted read-only over itself for the block (the test is skipped if it cannot be)."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    why = mount("--bind", str(folder), str(folder)) or mount("-o", "remount,ro,bind", str(folder))
    if why:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        pytest.skip(f"cannot make a read-only bind mount here: {why}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
