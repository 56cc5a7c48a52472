"""Read a GGUF file's metadata without loading the weights.

Enough of the format (v2/v3) to report architecture, parameter count,
quantisation, context length and the KV-cache shape, which is what the model
list shows and what the RAM check needs. Large arrays (the vocabulary) are
skipped, not kept.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from kidneytalk.errors import ModelError

# general.file_type -> llama.cpp's name for it
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4",
}
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_KEEP_ARRAY_MAX = 64  # arrays longer than this (vocabularies) are skipped


@dataclass
class GGUFInfo:
    path: Path
    architecture: str
    name: str
    parameters: int
    quantization: str
    context_length: int
    file_size: int
    n_layers: int = 0
    n_embd: int = 0
    n_head: int = 0
    n_head_kv: int = 0
    has_chat_template: bool = False
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    def kv_cache_bytes(self, n_ctx: int) -> int:
        """f16 K and V for every layer at ``n_ctx`` tokens."""
        if not (self.n_layers and self.n_embd and self.n_head):
            return 0
        head_dim = self.n_embd // self.n_head
        return 2 * 2 * self.n_layers * n_ctx * (self.n_head_kv or self.n_head) * head_dim

    @property
    def parameters_label(self) -> str:
        p = self.parameters
        return f"{p / 1e9:.1f}B" if p >= 1e9 else f"{p / 1e6:.0f}M"


def _read(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise EOFError("truncated GGUF header")
    return struct.unpack(fmt, data)[0]


def _read_string(fh: BinaryIO) -> str:
    n = _read(fh, "<Q")
    if n > 1 << 26:
        raise ValueError("implausible string length")
    return fh.read(n).decode("utf-8", errors="replace")


def _read_value(fh: BinaryIO, vtype: int) -> Any:
    if vtype in _SCALARS:
        return _read(fh, _SCALARS[vtype])
    if vtype == _STRING:
        return _read_string(fh)
    if vtype == _ARRAY:
        itype = _read(fh, "<I")
        count = _read(fh, "<Q")
        if count <= _KEEP_ARRAY_MAX:
            return [_read_value(fh, itype) for _ in range(count)]
        if itype in _SCALARS:  # skip fixed-size items in one seek
            fh.seek(struct.calcsize(_SCALARS[itype]) * count, 1)
        else:
            for _ in range(count):
                _read_value(fh, itype)
        return f"<array of {count}>"
    raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf(path: str | Path) -> GGUFInfo:
    """Metadata of a GGUF model file; :class:`ModelError` naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"Model file not found: {path}")
    try:
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelError(f"{path.name} is not a GGUF model file")
            version = _read(fh, "<I")
            if version < 2:
                raise ModelError(
                    f"{path.name}: GGUF version {version} is too old; convert the model again"
                )
            n_tensors = _read(fh, "<Q")
            n_kv = _read(fh, "<Q")
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _read_string(fh)
                meta[key] = _read_value(fh, _read(fh, "<I"))
            params = 0
            for _ in range(n_tensors):
                _read_string(fh)
                n_dims = _read(fh, "<I")
                count = 1
                for _ in range(n_dims):
                    count *= _read(fh, "<Q")
                _read(fh, "<I")  # tensor type
                _read(fh, "<Q")  # offset
                params += count
    except ModelError:
        raise
    except (OSError, EOFError, ValueError, struct.error) as exc:
        raise ModelError(f"{path.name}: damaged or unreadable GGUF file ({exc})") from exc
    arch = str(meta.get("general.architecture", "unknown"))

    def arch_int(key: str) -> int:
        v = meta.get(f"{arch}.{key}", 0)
        return (
            int(v[0]) if isinstance(v, list) and v else int(v) if isinstance(v, int | float) else 0
        )

    return GGUFInfo(
        path=path,
        architecture=arch,
        name=str(meta.get("general.name", path.stem)),
        parameters=params,
        quantization=FILE_TYPES.get(int(meta.get("general.file_type", -1)), "unknown"),
        context_length=arch_int("context_length"),
        file_size=path.stat().st_size,
        n_layers=arch_int("block_count"),
        n_embd=arch_int("embedding_length"),
        n_head=arch_int("attention.head_count"),
        n_head_kv=arch_int("attention.head_count_kv"),
        has_chat_template="tokenizer.chat_template" in meta,
        metadata=meta,
    )
