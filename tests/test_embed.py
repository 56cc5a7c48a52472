"""The embedding backends: int8 ONNX export made locally, chosen by CPU features, guarded against fp32."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from kidneytalk.cli import main
from kidneytalk.config import Paths, Settings
from kidneytalk.cpu import cpu_flags, has_native_bf16, physical_cores
from kidneytalk.embed import (
    INT8_FILE,
    MANIFEST,
    Embedder,
    bundled_embedding_model,
    choose_precision,
    model_fingerprint,
)
from kidneytalk.errors import KidneyTalkError, ModelError

AVX2_ONLY = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c"})
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_vnni", "avx512_bf16"}

SENTENCES = [
    "Chronic kidney disease is staged by eGFR and albuminuria.",
    "Metformin should be avoided when the eGFR falls below 30 ml/min/1.73 m2.",
    "Oral endotracheal intubation in the helicopter environment had a lower success rate.",
    "Patients on peritoneal dialysis may develop peritonitis; cloudy effluent is the first sign.",
    "Hyperkalaemia above 6.5 mmol/l with ECG changes needs calcium gluconate at once.",
    "The trial randomised 4,304 adults to dapagliflozin or placebo for a median of 2.4 years.",
    "腎臟切片檢查後應臥床休息，並觀察尿液顏色。",
    "The museum opens at nine and the café serves lunch until two.",
]


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    emb = Embedder(precision="fp32")
    yield emb
    emb.close()


@pytest.fixture(scope="module")
def int8_auto(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """``auto`` on an injected AVX2-only CPU: the int8 export, made in a fresh cache."""
    emb = Embedder(
        precision="auto", cache_dir=tmp_path_factory.mktemp("embed-cache"), flags=AVX2_ONLY
    )
    yield emb
    emb.close()


def test_auto_picks_int8_on_a_cpu_without_bf16(int8_auto: Embedder):
    assert choose_precision("auto", flags=AVX2_ONLY, onnx_ok=True) == "int8"
    # Native bf16 is as fast as int8 and closer to fp32 (bench/results/embed-quality.json).
    assert choose_precision("auto", flags=AVX512_BF16, onnx_ok=True) == "bf16"
    assert choose_precision("auto", flags=AVX512_BF16, onnx_ok=False) == "bf16"
    assert choose_precision("auto", flags=AVX2_ONLY, onnx_ok=False) == "fp32"
    assert choose_precision("fp32", flags=AVX512_BF16) == "fp32"
    # The real Embedder follows the injected CPU and really runs the ONNX export.
    assert int8_auto.precision == "int8"
    assert int8_auto.export_dir is not None and (int8_auto.export_dir / INT8_FILE).is_file()
    manifest = json.loads((int8_auto.export_dir / MANIFEST).read_text())
    assert manifest["accepted"] and manifest["probe_cosine_mean"] >= 0.99
    assert manifest["source"] == str(bundled_embedding_model().resolve())


def test_int8_vectors_match_fp32(int8_auto: Embedder, fp32: Embedder):
    a = fp32.embed(SENTENCES)
    b = int8_auto.embed(SENTENCES)
    assert b.shape == a.shape == (len(SENTENCES), 384) and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.98, cosine
    # Same nearest neighbour for each sentence among the others, as with fp32.
    sa, sb = a @ a.T - 2 * np.eye(len(a)), b @ b.T - 2 * np.eye(len(b))
    assert (sa.argmax(axis=1) == sb.argmax(axis=1)).all()
    # Repeatable, and a query embedded alone (as at search time) stays close to its batched vector:
    # dynamic quantisation scales activations per batch, so batch mates move a vector a little.
    np.testing.assert_array_equal(int8_auto.embed(SENTENCES), b)
    one = int8_auto.embed_query(SENTENCES[3])
    assert float(one @ b[3]) > 0.99 and float(one @ a[3]) > 0.99
    assert int8_auto.embed([]).shape == (0, 384)


def test_token_vectors_are_the_transformer_outputs_of_each_token(
    int8_auto: Embedder, fp32: Embedder
):
    """The gate's ``soft`` feature reads the tokens' contextual vectors: one unit vector per token
    of :meth:`Embedder.token_ids` (no special or padding tokens), alike in int8 and fp32."""
    texts = [*SENTENCES[:3], SENTENCES[6], " ".join(SENTENCES[:6] * 20)]  # Chinese; too long
    ids = fp32.token_ids(texts)
    assert len(ids[3]) < 5  # MiniLM reads 3 of its 22 characters: its [UNK]s are left out
    assert len(ids[4]) == fp32.max_tokens - 2  # cut as embed() cuts it, [CLS] and [SEP] left out
    for emb in (fp32, int8_auto):
        got = emb.token_vectors(texts)
        assert [i for i, _ in got] == ids
        for i, v in got:
            assert v.shape == (len(i), 384) and v.dtype == np.float32
            np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    a, b = fp32.token_vectors(texts[:1])[0][1], int8_auto.token_vectors(texts[:1])[0][1]
    assert (a * b).sum(axis=1).mean() > 0.95
    assert fp32.tokenizer.convert_ids_to_tokens(ids[0])[:3] == ["chronic", "kidney", "disease"]


def test_bad_precision_values_are_refused(tmp_path: Path, capsys):
    with pytest.raises(KidneyTalkError, match="embedding_precision"):
        Settings().with_value("embedding_precision", "int4")
    with pytest.raises(KidneyTalkError, match="embedding_precision"):
        Settings.from_dict({"embedding_precision": "fast"}).validate()
    with pytest.raises(ModelError, match="Unknown embedding precision 'onnx'"):
        choose_precision("onnx")
    with pytest.raises(ModelError, match="Unknown embedding precision"):
        Embedder(precision="fp16")
    # The CLI refuses it with one line (a usage error), and the settings file keeps the old value.
    home = tmp_path / "home"
    assert main(["--home", str(home), "settings", "set", "embedding_precision", "int4"]) == 2
    assert "embedding_precision" in capsys.readouterr().err
    assert main(["--home", str(home), "settings", "set", "embedding_precision", "int8"]) == 0
    assert Settings.load(Paths.resolve(home)).embedding_precision == "int8"
    # A hand-edited settings file with a bad value falls back to the default for it, with a notice.
    (Paths.resolve(home).config / "settings.json").write_text(
        json.dumps({"embedding_precision": "turbo"})
    )
    notices: list[str] = []
    assert Settings.load(Paths.resolve(home), notices).embedding_precision == "auto"
    assert any("embedding_precision" in n for n in notices)


def _user_model_copy(dest: Path) -> Path:
    """A user's own sentence-transformers folder: the bundled files, big weights linked."""
    src = bundled_embedding_model()
    for f in src.rglob("*"):
        target = dest / f.relative_to(src)
        if f.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif f.stat().st_size > 1 << 20:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(f, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    return dest


def test_export_is_remade_when_the_model_folder_changes(tmp_path: Path, fp32: Embedder):
    folder = _user_model_copy(tmp_path / "my-minilm")
    cache = tmp_path / "cache"
    first = Embedder(folder, precision="int8", cache_dir=cache)
    assert first.precision == "int8" and first.export_dir is not None
    old_dir = first.export_dir
    created = json.loads((old_dir / MANIFEST).read_text())["created"]
    vec = first.embed(SENTENCES[:2])
    first.close()
    # Unchanged folder: the export is reused, not made again.
    again = Embedder(folder, precision="int8", cache_dir=cache)
    assert (
        again.export_dir == old_dir
        and json.loads((old_dir / MANIFEST).read_text())["created"] == created
    )
    again.close()
    # A changed file in the folder: new fingerprint, fresh export, the stale one removed.
    before = model_fingerprint(folder)
    with (folder / "README.md").open("a", encoding="utf-8") as fh:
        fh.write("\nFine-tuned locally.\n")
    assert model_fingerprint(folder) != before
    changed = Embedder(folder, precision="int8", cache_dir=cache)
    assert changed.precision == "int8" and changed.export_dir not in (None, old_dir)
    assert not old_dir.exists()
    assert [p.name for p in cache.iterdir()] == [changed.export_dir.name]
    np.testing.assert_allclose(changed.embed(SENTENCES[:2]), vec, atol=1e-5)
    assert float((fp32.embed(SENTENCES[:2]) * vec).sum(axis=1).min()) >= 0.98
    changed.close()


def test_rejected_or_broken_export_falls_back_to_fp32(tmp_path: Path, caplog, fp32: Embedder):
    folder = bundled_embedding_model()
    cache = tmp_path / "cache"
    target = cache / f"{folder.name}-{model_fingerprint(folder)}"
    target.mkdir(parents=True)
    (target / MANIFEST).write_text(json.dumps({"accepted": False, "probe_cosine_mean": 0.93}))
    with caplog.at_level(logging.WARNING, logger="kidneytalk.embed"):
        emb = Embedder(precision="int8", cache_dir=cache)
    assert emb.precision == "fp32" and emb.export_dir is None
    assert "drifts from fp32" in caplog.text
    np.testing.assert_allclose(emb.embed(SENTENCES[:2]), fp32.embed(SENTENCES[:2]), atol=1e-5)
    emb.close()
    # An accepted manifest whose model file is gone: fp32 with a log line, not a crash.
    (target / MANIFEST).write_text(
        json.dumps({"accepted": True, "inputs": ["input_ids", "attention_mask"]})
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kidneytalk.embed"):
        emb = Embedder(precision="int8", cache_dir=cache)
    assert emb.precision == "fp32" and "int8 embedder unavailable" in caplog.text
    emb.close()


CPUINFO_2C4T = "".join(
    f"processor\t: {i}\nvendor_id\t: AuthenticAMD\nmodel name\t: Test CPU\nphysical id\t: 0\n"
    f"core id\t\t: {i // 2}\nflags\t\t: fpu sse avx avx2 fma\n\n"
    for i in range(4)
)


def test_cpu_probe_reads_flags_and_physical_cores(monkeypatch):
    assert cpu_flags(CPUINFO_2C4T) == {"fpu", "sse", "avx", "avx2", "fma"}
    assert not has_native_bf16(cpu_flags(CPUINFO_2C4T))
    assert physical_cores(CPUINFO_2C4T, usable=4) == 2  # 4 hyper-threads on 2 cores
    assert physical_cores(CPUINFO_2C4T, usable=1) == 1  # a 1-CPU affinity mask wins
    assert physical_cores("", usable=3) == 3  # unknown layout: the usable CPUs
    monkeypatch.setenv("KIDNEYTALK_CPU_FLAGS", "avx avx2 avx512_bf16")
    assert has_native_bf16() and choose_precision("auto", onnx_ok=True) == "bf16"
    monkeypatch.setenv("KIDNEYTALK_CPU_FLAGS", "avx avx2 fma")
    assert not has_native_bf16() and choose_precision("auto", onnx_ok=True) == "int8"


def test_traced_passes_are_padded_to_few_shapes_with_the_same_vectors(fp32: Embedder, monkeypatch):
    """Passes go to the traced transformer padded to a multiple of SHAPE_STEP tokens (oneDNN
    keeps kernels per input shape); the padding is masked out, so the vectors do not change."""
    import random

    from kidneytalk import embed

    assert embed.shape_length(1, 256) == 32 and embed.shape_length(33, 256) == 64
    assert embed.shape_length(250, 256) == 256 and embed.shape_length(250, 250) == 250
    assert embed.shape_length(256, 256) == 256
    rnd = random.Random(3)
    words = [w for s in SENTENCES for w in s.split()]
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 220))) for _ in range(200)]
    assert fp32._traced is not None
    module = fp32._traced.module
    shapes: list[tuple[int, int]] = []

    def recording(**inputs):
        shapes.append(tuple(inputs["input_ids"].shape))
        return module(**inputs)

    monkeypatch.setattr(fp32._traced, "module", recording)
    padded = fp32.embed(texts)
    lengths = {length for _, length in shapes}
    assert lengths and all(n % embed.SHAPE_STEP == 0 or n == fp32.max_tokens for n in lengths)
    assert all(n * length <= embed.MAX_BATCH_TOKENS for n, length in shapes if n > 1)
    monkeypatch.setattr(embed, "shape_length", lambda n, longest: n)  # each pass's own longest
    shapes.clear()
    exact = fp32.embed(texts)
    assert any(length % embed.SHAPE_STEP for _, length in shapes)  # the padding did something
    np.testing.assert_allclose(padded, exact, atol=1e-5)


def test_export_cache_lives_in_the_config_folder_unless_moved(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KIDNEYTALK_EMBED_CACHE", raising=False)
    paths = Paths.resolve(tmp_path / "home")
    assert paths.embed_cache == paths.config / "cache" / "embedder"
    monkeypatch.setenv("KIDNEYTALK_EMBED_CACHE", str(tmp_path / "shared"))
    assert Paths.resolve(tmp_path / "home").embed_cache == tmp_path / "shared"


def test_pytorch_runs_the_transformer_traced_with_the_eager_vectors(fp32: Embedder, monkeypatch):
    """The traced transformer (it runs without holding the GIL) gives the eager model's vectors;
    a model that does not trace runs eagerly, with the same vectors."""
    import torch

    assert fp32.precision == "fp32" and fp32._traced is not None
    traced = fp32.embed(SENTENCES)
    eager = fp32._model.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=True)
    assert traced.dtype == np.float32 and traced.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(traced, eager, atol=1e-5)
    assert float(fp32.embed_query(SENTENCES[1]) @ traced[1]) > 0.9999

    def no_trace(*args, **kwargs):
        raise RuntimeError("this architecture does not trace")

    monkeypatch.setattr(torch.jit, "trace", no_trace)
    emb = Embedder(precision="fp32")
    try:
        assert emb._traced is None
        np.testing.assert_allclose(emb.embed(SENTENCES), eager, atol=1e-5)
    finally:
        emb.close()
