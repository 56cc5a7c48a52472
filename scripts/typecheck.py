"""Type-check the package as it is installed: ``kidneytalk`` with ``ui/``, ``retrieval/``, ``prompts/`` inside.

The source tree keeps ``ui/``, ``retrieval/`` and ``prompts/`` at the top level and setuptools maps
them to ``kidneytalk.ui/.retrieval/.prompts`` (``[tool.setuptools.package-dir]``). mypy cannot follow
that mapping, so it would see ``kidneytalk.retrieval`` as missing and every call across the seam as
``Any``. This script lays out the installed package as symbolic links in a scratch folder, runs mypy on
it with the project's configuration, and prints the messages with the source tree's paths.

Usage: ``python scripts/typecheck.py [extra mypy arguments]``; exit status is mypy's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED = {
    "ui": "ui",
    "retrieval": "retrieval",
    "prompts": "prompts",
}  # kidneytalk.<key> lives in <value>/


def _installed_layout(dest: Path) -> Path:
    pkg = dest / "kidneytalk"
    pkg.mkdir()
    for entry in (ROOT / "kidneytalk").iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for sub, folder in MAPPED.items():
        (pkg / sub).symlink_to(ROOT / folder)
    return pkg


def _source_path(line: str) -> str:
    """``kidneytalk/retrieval/gate.py:3: error`` -> ``retrieval/gate.py:3: error``."""
    for sub, folder in MAPPED.items():
        prefix = f"kidneytalk/{sub}/"
        if line.startswith(prefix):
            return folder + "/" + line[len(prefix) :]
    return line


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="kidneytalk-typecheck-") as tmp:
        _installed_layout(Path(tmp))
        cmd = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            # its own cache: a plain mypy run from the source tree caches kidneytalk.retrieval
            # as missing, and this run then reported it missing too
            str(ROOT / ".mypy_cache" / "installed-layout"),
            "-p",
            "kidneytalk",
            *argv,
        ]
        env = dict(os.environ, MYPYPATH="")
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        print(_source_path(line))
    sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
