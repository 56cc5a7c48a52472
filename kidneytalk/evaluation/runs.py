"""Run folders of the harness, as the desktop app lists, reopens and continues them.

A run folder holds ``results.jsonl`` (one record per finished question and mode),
``run.json`` (what the run was made with, see :mod:`.runner`) and, once reported,
``summary.json`` and ``report.html``. The desktop app also keeps its form there
(``request.json``), so continuing an earlier run asks for the same thing again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kidneytalk.vocabulary import EVAL_MODES

from .runner import RESULTS_FILE, RUN_FILE, EvalSummary, order_seed

REQUEST_FILE = "request.json"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class EvalRequest:
    """One evaluation run as the desktop app asks for it, saved in ``request.json``."""

    questions: str = ""
    modes: list[str] = field(default_factory=lambda: ["naive"])
    style: str = "off"
    model: str = ""  # "" = the default model
    limit: int | None = None  # the first N questions (None: all)
    sample: int | None = None  # N questions drawn at random with ``seed`` (None: file order)
    seed: int = 0
    retrieval_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRequest:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def save(self, folder: Path) -> None:
        """Keep the request with the results (``request.json``)."""
        (folder / REQUEST_FILE).write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")


def is_run_folder(folder: Path) -> bool:
    """The folder holds results or a run record of the harness."""
    return (folder / RESULTS_FILE).exists() or (folder / RUN_FILE).exists()


def count_results(folder: Path) -> int:
    """Finished (question, mode) pairs in a run folder."""
    try:
        with (folder / RESULTS_FILE).open(encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def earlier_runs(root: Path) -> list[Path]:
    """Run folders under ``root``, the most recently written first."""
    if not root.is_dir():
        return []
    runs = [d for d in root.iterdir() if d.is_dir() and is_run_folder(d)]
    return sorted(
        runs,
        key=lambda d: max(
            (d / f).stat().st_mtime for f in (RESULTS_FILE, RUN_FILE) if (d / f).exists()
        ),
        reverse=True,
    )


def read_request(folder: Path) -> EvalRequest:
    """What a run folder was made with: its ``request.json``, else inferred from ``run.json`` and the results.

    An inferred request has no question file, and asks for the questions already
    answered (so continuing finishes them; a larger number extends the run).
    """
    try:
        return EvalRequest.from_json(
            json.loads((folder / REQUEST_FILE).read_text(encoding="utf-8"))
        )
    except (OSError, ValueError, TypeError):
        pass
    try:
        run = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run = {}
    modes: list[str] = []
    ids: set[str] = set()
    try:
        lines = (folder / RESULTS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut off by a crash
        if isinstance(rec, dict) and "mode" in rec:
            modes += [] if rec["mode"] in modes else [rec["mode"]]
            ids.add(str(rec.get("id")))
    seed = order_seed(run)
    n = len(ids) or None
    return EvalRequest(
        modes=[m for m in EVAL_MODES if m in modes] or ["naive"],
        style=str(run.get("style") or "off"),
        model=str(run.get("model") or ""),
        limit=n if seed is None else None,
        sample=None if seed is None else n,
        seed=seed or 0,
        retrieval_only=bool(run.get("retrieval_only")),
    )


def saved_summary(folder: Path) -> EvalSummary | None:
    """The last report of a run folder, or None when it has none yet."""
    try:
        data = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    html = folder / "report.html"
    return EvalSummary(
        folder,
        dict(data.get("per_mode") or {}),
        summary=data,
        report_html=html if html.exists() else None,
    )
