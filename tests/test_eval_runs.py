"""Run folders: what the desktop app lists, reopens and continues (kidneytalk.evaluation.runs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kidneytalk.evaluation.runs import (
    EvalRequest,
    count_results,
    earlier_runs,
    read_request,
    saved_summary,
)


def _run_folder(folder: Path, run: dict[str, object], records: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    lines = [json.dumps(r) for r in records] + ['{"id": "c", "mo']  # the last cut off by a crash
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_a_sampled_run_without_a_request_is_continued_with_its_seed(tmp_path: Path) -> None:
    folder = _run_folder(
        tmp_path / "run-a",
        {"order": "shuffled (seed 7)", "style": "cp-order", "model": "m1"},
        [{"id": "q1", "mode": "hybrid"}, {"id": "q2", "mode": "naive"}],
    )
    assert read_request(folder) == EvalRequest(
        modes=["naive", "hybrid"], style="cp-order", model="m1", limit=None, sample=2, seed=7
    )
    assert count_results(folder) == 3  # lines written, the cut-off one included


def test_a_run_in_file_order_asks_for_the_questions_already_answered(tmp_path: Path) -> None:
    folder = _run_folder(
        tmp_path / "run-b",
        {"order": "file order", "retrieval_only": True},
        [{"id": "q1", "mode": "addrep"}],
    )
    request = read_request(folder)
    assert (request.limit, request.sample, request.seed) == (1, None, 0)
    assert request.modes == ["addrep"] and request.retrieval_only


def test_the_saved_request_wins_and_runs_are_listed_newest_first(tmp_path: Path) -> None:
    old = _run_folder(tmp_path / "old", {"order": "file order"}, [{"id": "q1", "mode": "naive"}])
    new = _run_folder(tmp_path / "new", {"order": "file order"}, [{"id": "q1", "mode": "naive"}])
    os.utime(old / "results.jsonl", (1_000_000, 1_000_000))
    os.utime(old / "run.json", (1_000_000, 1_000_000))
    (tmp_path / "not-a-run").mkdir()
    asked = EvalRequest(questions="/q.jsonl", modes=["no-rag"], limit=5, seed=3)
    asked.save(new)
    assert read_request(new) == asked
    assert earlier_runs(tmp_path) == [new, old]
    assert saved_summary(new) is None  # not reported yet
    (new / "summary.json").write_text(json.dumps({"per_mode": {"naive": {"n": 1}}}))
    summary = saved_summary(new)
    assert summary is not None and summary.per_mode == {"naive": {"n": 1}}
    assert summary.out_dir == new and summary.report_html is None and summary.complete
