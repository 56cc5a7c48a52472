"""Answer latency on a quiet machine vs. with CPU-bound processes running beside it.

Run (a few minutes)::

    .venv/bin/python bench/load.py                      # 5 questions, 1 competing process
    .venv/bin/python bench/load.py --questions 10 --hogs 1 --threads 0,1
    .venv/bin/python bench/load.py --mode addrep        # the default GUI mode (slower)

A fresh library (tmp home) gets the first ``--pdfs`` PubMedQA digests; the
bundled LLM is loaded and warmed up once per thread count; then the same
questions (whose gold digest is in the library) are answered twice: with no
extra load, and while ``--hogs`` CPU-bound Python processes spin (each exits on
its own after ``--hog-seconds`` even if this script dies). Reported: latency of
each answer (retrieval + the full generated text), median and p90 per
condition, and loaded/quiet ratios (issue 13 target: <= 3x). ``--threads``
lists llama.cpp thread counts to compare (0 = KidneyTalk's default: the
physical cores, fewer while other processes keep cores busy; a number is
fixed, which is how llama.cpp ran before that adaptation). ``--hogs -1``
starts one CPU-bound process per usable core. Other processes' CPU use is recorded for every condition: on a
shared machine the "quiet" numbers are not quiet, and the result says so.
Results: ``bench/results/load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from ingest import DEFAULT_CORPUS, DEFAULT_QUESTIONS, Clock, cpu_info, list_pdfs  # noqa: E402

RESULTS = REPO / "bench" / "results"
TARGET_RATIO = 3.0
HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def start_hogs(n: int, seconds: float) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=seconds)]) for _ in range(n)]


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for p in hogs:
        p.terminate()
    for p in hogs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def answer_once(engine: Any, question: str, mode: str) -> dict[str, Any]:
    load = os.getloadavg()[0]
    with Clock() as clock:
        answer = engine.ask(question, mode=mode)
        text = answer.text()
    return {
        "seconds": clock.seconds,
        "cpu_seconds": clock.cpu_seconds,
        "other_load_cores": clock.other_load_cores,
        "refused": answer.refused,
        "chars": len(text),
        "timings": dict(answer.timings),
        "loadavg_1min_before": round(load, 2),
        "llama_threads_after": engine.llm().threads,
    }


def stats(runs: list[dict[str, Any]]) -> dict[str, Any]:
    secs = sorted(r["seconds"] for r in runs)
    return {
        "n": len(secs),
        "median_s": statistics.median(secs),
        "p90_s": secs[int(0.9 * (len(secs) - 1))],
        "mean_s": statistics.fmean(secs),
        "other_load_cores_mean": statistics.fmean(r["other_load_cores"] for r in runs),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from kidneytalk.config import LLMSettings, Paths, Settings
    from kidneytalk.cpu import physical_cores, usable_cpus
    from kidneytalk.engine import Engine

    pdfs = list_pdfs(Path(args.corpus))[: args.pdfs]
    names = {p.name for p in pdfs}
    rows = [
        json.loads(line)
        for line in Path(args.questions_file).read_text().splitlines()
        if line.strip()
    ]
    questions = [q["question"] for q in rows if q.get("gold_source") in names][: args.questions]
    thread_counts = [int(t) for t in args.threads.split(",")]
    if args.hogs < 0:
        args.hogs = usable_cpus()
    out: dict[str, Any] = {"by_threads": {}}
    with tempfile.TemporaryDirectory(prefix="kt-load-") as tmp:
        home = Path(tmp) / "home"
        with Engine(home=home) as engine:
            t0 = time.perf_counter()
            engine.add([str(p) for p in pdfs])
            out["ingest_seconds"] = time.perf_counter() - t0
            out["embedding_precision"] = engine.library.embedder.precision
        for threads in thread_counts:
            Settings(llm=LLMSettings(n_threads=threads)).save(Paths.resolve(home))
            with Engine(home=home) as engine:
                engine.llm()
                engine.ask(questions[0], mode=args.mode).text()  # warm-up
                result: dict[str, Any] = {"n_threads": threads or physical_cores()}
                for condition in ("quiet", "loaded"):
                    hogs = start_hogs(args.hogs, args.hog_seconds) if condition == "loaded" else []
                    try:
                        time.sleep(0.5 if hogs else 0)
                        runs = [answer_once(engine, q, args.mode) for q in questions]
                    finally:
                        stop_hogs(hogs)
                    result[condition] = {"runs": runs, **stats(runs)}
                    out["by_threads"][str(threads)] = result
                    # Keep what was measured even if the run is stopped before the end.
                    partial = Path(args.out).with_suffix(".partial.json")
                    partial.write_text(
                        json.dumps({"partial": True, "cpu": cpu_info(), **out}, indent=2) + "\n",
                        encoding="utf-8",
                    )
                    print(
                        f"[load] threads {result['n_threads']} {condition}: median "
                        f"{result[condition]['median_s']:.2f} s (others {result[condition]['other_load_cores_mean']:.2f} cores)",
                        flush=True,
                    )
                q, lo = result["quiet"], result["loaded"]
                result["ratio_median"] = lo["median_s"] / q["median_s"]
                result["ratio_p90"] = lo["p90_s"] / q["p90_s"]
                result["ok"] = result["ratio_median"] <= TARGET_RATIO
                out["by_threads"][str(threads)] = result
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--questions-file", default=str(DEFAULT_QUESTIONS))
    parser.add_argument(
        "--pdfs", type=int, default=5, help="digests in the library (default %(default)s)"
    )
    parser.add_argument(
        "--questions", type=int, default=5, help="questions per condition (default %(default)s)"
    )
    parser.add_argument("--mode", default="naive", choices=["naive", "hybrid", "addrep"])
    parser.add_argument(
        "--hogs", type=int, default=1, help="CPU-bound processes during 'loaded' (default 1)"
    )
    parser.add_argument(
        "--hog-seconds", type=float, default=900, help="each hog exits after this long regardless"
    )
    parser.add_argument(
        "--threads", default="0", help="comma-separated llama.cpp thread counts (0 = default)"
    )
    parser.add_argument("--out", default=str(RESULTS / "load.json"))
    parser.add_argument(
        "--note", default="", help="recorded with the results (e.g. what else the machine ran)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    result = run(args)
    loads = [
        c["other_load_cores_mean"] for r in result["by_threads"].values() for c in (r["quiet"],)
    ]
    report = {
        "benchmark": "load",
        "date": started,
        "machine": {"cpu": cpu_info()},
        "busy": max(loads) > 0.25,
        "note": "'quiet' is only as quiet as the machine: see quiet.other_load_cores_mean"
        + (f"; args.note: {args.note}" if args.note else ""),
        "mode": args.mode,
        "hogs": args.hogs,
        "target_ratio": TARGET_RATIO,
        **result,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    Path(args.out).with_suffix(".partial.json").unlink(missing_ok=True)
    for threads, r in result["by_threads"].items():
        print(
            f"threads {r['n_threads']} ({threads}): quiet median {r['quiet']['median_s']:.2f} s, "
            f"with {args.hogs} CPU hog(s) {r['loaded']['median_s']:.2f} s -> x{r['ratio_median']:.2f} "
            f"[{'OK' if r['ok'] else 'MISS'} <= {TARGET_RATIO}]"
        )
    print(f"results written to {args.out}" + ("  (machine was BUSY)" if report["busy"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
