"""Desktop app start-up: seconds from launch until the main window is shown and its event loop runs.

The app is started as a user would (``python -m kidneytalk.ui.app --home <library>``, the module
behind ``kidneytalk-gui``), offscreen (``QT_QPA_PLATFORM=offscreen``), on a library that already
holds documents (by default the 30 PubMedQA digests, added once before the runs). The app's
``KIDNEYTALK_EXIT_WHEN_SHOWN=1`` hook prints ``window shown at <unix time>`` from a zero-delay
timer after ``window.show()``, i.e. once the event loop has run, and closes the window; the time
from just before the process is started to that line is one run. Models load in the engine thread
after the window is shown and are not part of it.

    .venv/bin/python bench/startup.py [--runs 5] [--corpus DIR] [--out bench/results/startup.json]

The result records the median and every run, the CPU (``kidneytalk.cpu``), the date and how
busy the machine was (cores used by other processes during each run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import (
    CONTENDED_CORES,
    DEFAULT_CORPUS,
    RESULTS,
    cpu_busy_seconds,
    list_pdfs,
)

from kidneytalk.cpu import cpu_summary

TARGET_SECONDS = 3.0
SHOWN = re.compile(r"window (shown|NOT shown) at ([0-9.]+)")


def populate(home: Path, corpus: Path, limit: int) -> dict[str, Any]:
    """Add ``limit`` PDFs of ``corpus`` to the library in ``home`` (through the CLI)."""
    pdfs = list_pdfs(corpus)[:limit]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), "add", *map(str, pdfs)],
        capture_output=True,
        text=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    if proc.returncode != 0:
        raise SystemExit(f"could not build the library: {proc.stderr[-2000:]}")
    return {"documents": len(pdfs), "seconds": time.perf_counter() - started}


def _process_cpu_seconds(pid: int) -> float:
    """user+sys CPU time of a running process so far (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(home: Path, timeout: float) -> dict[str, Any]:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        KIDNEYTALK_EXIT_WHEN_SHOWN="1",
        HF_HUB_OFFLINE="1",
    )
    busy0 = cpu_busy_seconds()
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kidneytalk.ui.app", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    shown_at = None
    visible = False
    assert proc.stdout is not None
    for line in proc.stdout:  # the marker line comes before the app shuts down
        match = SHOWN.search(line)
        if match:
            shown_at, visible = float(match.group(2)), match.group(1) == "shown"
            break
    busy = cpu_busy_seconds() - busy0
    own = _process_cpu_seconds(proc.pid)
    seconds = (shown_at - started) if shown_at is not None else float("nan")
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    if shown_at is None:
        raise SystemExit(
            f"the app did not report its window (exit {proc.returncode}): {err[-2000:]}"
        )
    others = max(0.0, busy - own) / max(seconds, 1e-9)
    return {
        "seconds": seconds,
        "app_cpu_seconds": own,
        "visible": visible,
        "exit_code": proc.returncode,
        "other_load_cores": others,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--documents", type=int, default=30, help="PDFs added to the library")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", default=str(RESULTS / "startup.json"))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kt-startup-") as tmp:
        home = Path(tmp) / "home"
        library = populate(home, Path(args.corpus), args.documents)
        print(f"[startup] library of {library['documents']} documents ready", flush=True)
        one_run(home, args.timeout)  # unmeasured: first start writes caches (fonts, .pyc)
        runs = []
        for i in range(args.runs):
            run = one_run(home, args.timeout)
            runs.append(run)
            print(
                f"[startup] run {i + 1}/{args.runs}: window usable after {run['seconds']:.2f} s "
                f"({run['app_cpu_seconds']:.2f} cpu-s; others used {run['other_load_cores']:.1f} cores)",
                flush=True,
            )
    median = statistics.median(r["seconds"] for r in runs)
    loads = [r["other_load_cores"] for r in runs]
    result = {
        "benchmark": "startup",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "busy": max(loads) > CONTENDED_CORES,
        "max_other_load_cores": max(loads),
        "machine": {"cpu": cpu_summary()},
        "what": "launch (python -m kidneytalk.ui.app, offscreen) until the main window is shown "
        "and a zero-delay timer has fired in its event loop; models load afterwards",
        "library": library,
        "runs": runs,
        "median_seconds": median,
        "min_seconds": min(r["seconds"] for r in runs),
        "target_seconds": TARGET_SECONDS,
        "ok": median <= TARGET_SECONDS and all(r["visible"] for r in runs),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"median {median:.2f} s over {len(runs)} runs (target <= {TARGET_SECONDS} s; "
        f"{'BUSY' if result['busy'] else 'quiet'} machine) -> {out}"
    )
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
