"""Where the in-process model runs: its default thread count and the "auto" GPU offload (issue 13, point 2).

This machine has no GPU and as many physical cores as logical CPUs, so the
choices are checked by giving the code another machine's answers: a CPU with
hyper-threads (more logical CPUs than physical cores) and a llama-cpp-python
build that reports a GPU backend. llama.cpp ignores layers it is asked to
offload without a GPU backend, so the real bundled model still loads.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kidneytalk.llm as llm_module
from kidneytalk.engine import Engine
from kidneytalk.llm import LocalLLM
from kidneytalk.models import bundled_model_path

pytestmark = pytest.mark.model


def _model() -> Path:
    path = bundled_model_path()
    if path is None:
        pytest.skip("bundled SmolLM2 model not installed")
    return path


def test_default_threads_are_the_physical_cores_not_the_logical_cpus(monkeypatch) -> None:
    # a hyper-threaded laptop: 8 logical CPUs on 4 cores
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(llm_module, "physical_cores", lambda: 4)
    with LocalLLM(_model(), n_ctx=512) as llm:
        assert (llm.max_threads, llm.threads) == (4, 4)
        assert llm._llama.context_params.n_threads == 4  # what llama.cpp was given
    with LocalLLM(_model(), n_ctx=512, n_threads=3) as fixed:  # llm.n_threads set by the user
        assert (fixed.max_threads, fixed.threads) == (3, 3)


@pytest.mark.parametrize(
    ("supported", "setting", "layers", "where"),
    [
        (True, "auto", 0x7FFFFFFF, "GPU (all {n} layers)"),  # llama.cpp's "every layer"
        (False, "auto", 0, "CPU"),
        (True, "0", 0, "CPU"),
        (True, "12", 12, "GPU (12 of {n} layers, the rest on CPU)"),
    ],
)
def test_the_engine_offloads_every_layer_on_auto_when_the_build_has_a_gpu_backend(
    tmp_path: Path, monkeypatch, supported: bool, setting: str, layers: int, where: str
) -> None:
    monkeypatch.setattr(llm_module, "gpu_offload_supported", lambda: supported)
    engine = Engine(tmp_path / "home")
    try:
        engine.save_settings(engine.settings.with_value("llm.n_gpu_layers", setting))
        llm = engine.llm()
        assert isinstance(llm, LocalLLM)
        assert llm._llama.model_params.n_gpu_layers == layers  # what llama.cpp was asked for
        assert llm.device == where.format(n=llm.info.n_layers)
    finally:
        engine.close()
