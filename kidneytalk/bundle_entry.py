"""Entry point of the self-contained bundles (PyInstaller, ``installers/kidneytalk.spec``).

One script, two executables in the same folder: ``kidneytalk-gui`` (a windowed
program: double-click, no terminal) opens the desktop app; ``kidneytalk`` is the
command line (``kidneytalk ask ...``; ``kidneytalk gui`` opens the app too). The
name of the executable picks the mode, so both share one analysis and one copy
of every library. Outside a bundle the same choice is made by
``KIDNEYTALK_ENTRY=gui|cli``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

ENV_ENTRY = "KIDNEYTALK_ENTRY"


def wants_gui(executable: str, env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """True when this process should open the desktop app rather than the command line."""
    choice = env.get(ENV_ENTRY, "")
    if choice in ("gui", "cli"):
        return choice == "gui"
    return Path(executable).stem.lower().endswith("-gui")


def main() -> int:
    # OCR reads pages in "spawn" child processes: in a frozen program the child is this
    # executable again, and freeze_support() makes it run the child's work and exit.
    multiprocessing.freeze_support()
    if wants_gui(sys.executable):
        from kidneytalk.ui.app import main as gui_main

        return gui_main()
    from kidneytalk.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
