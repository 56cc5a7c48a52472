"""Embedding beside a busy Python thread: the transformer traced (TorchScript) vs run eagerly.

During an ingest the parsing thread runs Python beside the embedding thread. Run eagerly, every
one of the transformer's operations is dispatched from Python and needs the GIL, so it waits for
that thread; the traced graph runs in C++ without the GIL (``kidneytalk.embed._TracedEncoder``).

Embeds the same 256 PubMedQA passages (text blocks of the first 10 dev digests, shuffled with
seed 0) with the PyTorch backend of this CPU (bf16 where native, else fp32): alone, and beside a
thread looping in pure Python, traced and eager in turn, ``--turns`` times (best kept). Also the
cosine of both to eager fp32. A pure-Python thread at the same priority also takes one of the
two cores: "beside" is slower either way, the traced/eager gap is the GIL's share.

    .venv/bin/python bench/embed_beside_python.py [--turns 3] [--out bench/results/embed-beside-python.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "eval" / "pubmedqa-dev" / "corpus"


def passages(n: int = 256) -> list[str]:
    import pymupdf

    texts: list[str] = []
    for pdf in sorted(CORPUS.glob("*.pdf"))[:10]:
        with pymupdf.open(pdf) as doc:
            for page in doc:
                texts += [b[4] for b in page.get_text("blocks") if len(b[4]) > 40]
    random.Random(0).shuffle(texts)
    return texts[:n]


def busy_python(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(range(2000))


def timed(fn, beside: bool) -> tuple[float, float]:
    stop = threading.Event()
    other = threading.Thread(target=busy_python, args=(stop,)) if beside else None
    if other:
        other.start()
    t, c = time.perf_counter(), time.process_time()
    try:
        fn()
    finally:
        stop.set()
        if other:
            other.join()
    return time.perf_counter() - t, time.process_time() - c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/embed-beside-python.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from kidneytalk.cpu import cpu_summary, has_native_bf16
    from kidneytalk.embed import Embedder

    texts = passages()
    precision = "bf16" if has_native_bf16() else "fp32"
    emb = Embedder(precision=precision)
    traced_encoder = emb._traced
    if traced_encoder is None:
        raise SystemExit("the bundled model did not trace here")
    reference = Embedder(precision="fp32")
    reference._traced = None  # eager fp32: the reference vectors
    want = reference.embed(texts)
    reference.close()

    def run(traced: bool) -> np.ndarray:
        emb._traced = traced_encoder if traced else None
        return emb.embed(texts)

    cosine = {
        name: {"min": float((v * want).sum(1).min()), "mean": float((v * want).sum(1).mean())}
        for name, v in (("traced", run(True)), ("eager", run(False)))
    }
    rows: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.turns):
        for traced in (True, False):
            for beside in (False, True):
                wall, cpu = timed(lambda traced=traced: run(traced), beside)
                key = f"{'traced' if traced else 'eager'}, {'beside a Python thread' if beside else 'alone'}"
                rows.setdefault(key, []).append(
                    {"seconds": round(wall, 3), "cpu_seconds": round(cpu, 3)}
                )
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in rows.items()}
    load = os.getloadavg()[0]
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu_summary(),
        "machine": f"load average {load:.2f} at the end on {os.cpu_count()} CPUs",
        "command": f"python bench/embed_beside_python.py --turns {args.turns}",
        "precision": precision,
        "passages": len(texts),
        "cosine_to_eager_fp32": cosine,
        "best_of_turns": best,
        "turns": rows,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for k, v in best.items():
        print(f"{k}: {v['seconds']:.2f} s ({v['cpu_seconds']:.2f} cpu-s)")
    print("cosine to eager fp32:", {k: round(v["min"], 5) for k, v in cosine.items()})


if __name__ == "__main__":
    main()
