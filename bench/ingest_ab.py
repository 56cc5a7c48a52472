"""A/B of KidneyTalk's ingest: a base commit against the working tree, in alternating runs.

On this project's VMs one run of the ingest benchmark varies by ±15% from the next, more than
most changes. Comparing two versions in runs that alternate (base, new, new, base, ...), each in
a fresh process and a fresh library, puts both under the same drift, and the paired differences
say whether a change helped.

The base is checked out into a temporary git worktree and imported ahead of the editable
install (``PYTHONPATH``): ``kidneytalk`` (the core: parse, clean, chunk, ingest, embed, store) is
the base's; ``kidneytalk.retrieval``, ``.ui`` and ``.prompts`` still come from the working tree,
which the ingest does not use. Each run is ``bench/ingest.py --phase ours`` (model loaded and
warmed before the clock) on the 30 PubMedQA digests.

    .venv/bin/python bench/ingest_ab.py --base 841334a --runs 6 [--avx2] \
        --out bench/results/ingest-ab-<what>-<date>.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import (  # bench/ is not a package: its directory is on sys.path above
    AVX2_ENV,
    CONTENDED_CORES,
    DEFAULT_CORPUS,
    DEFAULT_QUESTIONS,
    REPO,
    RESULTS,
    cpu_info,
    run_phase,
)


def _commit(ref: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def _run(side: str, path: str, args: argparse.Namespace, work: Path, n: int) -> dict[str, Any]:
    saved = os.environ.get("PYTHONPATH")
    if path:
        os.environ["PYTHONPATH"] = path
    else:
        os.environ.pop("PYTHONPATH", None)
    try:
        home = work / f"{side}-{n}"
        r = run_phase("ours", args, work, Path(args.corpus), home)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return {k: r[k] for k in ("seconds", "cpu_seconds", "other_load_cores", "precision", "chunks")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="commit to compare with (default HEAD~1)")
    parser.add_argument("--runs", type=int, default=6, help="runs of each side")
    parser.add_argument("--avx2", action="store_true", help="embed as an AVX2-only CPU would")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--out", help="result JSON (default: bench/results/ingest-ab.json)")
    args = parser.parse_args()
    # what run_phase expects of bench/ingest.py's arguments
    args.questions, args.repeat, args.wait_quiet = str(DEFAULT_QUESTIONS), 1, 0.0
    if args.avx2:
        os.environ.update(AVX2_ENV)
    base = _commit(args.base)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="kt-ab-") as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), base],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        work = Path(tmp) / "work"
        work.mkdir()
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
        try:
            for i in range(args.runs):
                order = ("base", "new") if i % 2 == 0 else ("new", "base")
                for side in order:
                    r = _run(side, str(tree) if side == "base" else "", args, work, i)
                    runs[side].append(r)
                    print(f"[ab] run {i + 1}/{args.runs} {side}: {r['seconds']:.2f} s", flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False
            )
    base_s = [r["seconds"] for r in runs["base"]]
    new_s = [r["seconds"] for r in runs["new"]]
    diffs = [n - b for b, n in zip(base_s, new_s, strict=True)]
    loads = [r["other_load_cores"] for side in runs.values() for r in side]
    result = {
        "benchmark": "ingest-ab",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "bench/ingest_ab.py " + " ".join(sys.argv[1:]),
        "base": base,
        "new": "working tree at " + _commit("HEAD") + (" with changes" if dirty else ""),
        "machine": {"cpu": cpu_info(), "forced": AVX2_ENV if args.avx2 else {}},
        "busy": max(loads) > CONTENDED_CORES,
        "max_other_load_cores": max(loads),
        "corpus": args.corpus,
        "runs": runs,
        "median_seconds": {"base": statistics.median(base_s), "new": statistics.median(new_s)},
        "median_paired_difference_s": statistics.median(diffs),
        "new_faster_in": sum(d < 0 for d in diffs),
        "pairs": len(diffs),
        "speed_ratio_new_over_base": statistics.median(base_s) / statistics.median(new_s),
    }
    out = Path(args.out) if args.out else RESULTS / "ingest-ab.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"median base {result['median_seconds']['base']:.2f} s, new {result['median_seconds']['new']:.2f} s; "
        f"paired difference {result['median_paired_difference_s']:+.2f} s, new faster in "
        f"{result['new_faster_in']} of {len(diffs)}; written to {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
