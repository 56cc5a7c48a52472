"""Heavy libraries imported on first use, so that starting the desktop app does not wait for them.

``pymupdf`` (with its layout analyser, about a second of imports) and the text splitters are
needed to add documents or show a page, not to open the window.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for module ``name``; the first attribute read imports it (Python's import lock
    makes that safe from any thread)."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r}, {state}>"


def import_in_background(*names: str) -> None:
    """Import ``names`` on a daemon thread (while a model loads, say), so that their first use
    does not wait for them; an import that fails is left for that first use to report."""
    import threading

    def work() -> None:
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # reported where the module is used
                return

    threading.Thread(target=work, name="kidneytalk-imports", daemon=True).start()
