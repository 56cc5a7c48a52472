"""What the CPU can do: instruction-set flags and physical cores (Linux ``/proc/cpuinfo``).

Used to pick the embedding backend (bf16 needs AVX512-BF16 or AMX; int8 runs
everywhere) and llama.cpp's thread count (physical cores, not hyper-threads).
Every probe takes its input as an argument so tests can inject another CPU.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
LOADAVG = Path("/proc/loadavg")
# Flags worth recording with a benchmark: vector width, int8 dot products, bf16.
INTERESTING_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)


@lru_cache(maxsize=1)
def _cpuinfo_text() -> str:
    try:
        return CPUINFO.read_text(errors="ignore")
    except OSError:
        return ""


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The instruction-set flags of the first CPU (empty when unknown, e.g. not Linux).

    ``KIDNEYTALK_CPU_FLAGS`` (space-separated) replaces the real flags, to make
    the backend choice of another CPU (e.g. ``"avx avx2 fma"``) on this one.
    """
    if cpuinfo is None and os.environ.get("KIDNEYTALK_CPU_FLAGS") is not None:
        return frozenset(os.environ["KIDNEYTALK_CPU_FLAGS"].split())
    text = _cpuinfo_text() if cpuinfo is None else cpuinfo
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def has_native_bf16(flags: frozenset[str] | set[str] | None = None) -> bool:
    """True when the CPU computes bf16 in hardware (AVX512-BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return bool({"avx512_bf16", "amx_bf16"} & set(flags))


def usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def physical_cores(cpuinfo: str | None = None, usable: int | None = None) -> int:
    """Physical cores this process can use: distinct (physical id, core id) pairs, at most ``usable``.

    Hyper-threads share one core's arithmetic units, so compute-bound code
    (llama.cpp, matrix products) gains nothing from them and loses to the
    contention. Falls back to the usable logical CPUs when /proc/cpuinfo does
    not say (other systems, some VMs).
    """
    usable = usable_cpus() if usable is None else usable
    text = _cpuinfo_text() if cpuinfo is None else cpuinfo
    cores: set[tuple[str, str]] = set()
    phys = core = ""
    for line in text.splitlines() + [""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            phys = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not key:  # blank line: end of one processor's block
            if core:
                cores.add((phys, core))
            phys = core = ""
    if not cores:
        return usable
    return max(1, min(len(cores), usable))


def runnable_others(samples: int = 3, loadavg: Path = LOADAVG) -> int | None:
    """Threads of other processes ready to run right now; None when the system does not say (not Linux).

    The fourth field of ``/proc/loadavg`` counts runnable threads at this
    instant; this process's own runnable threads (the reader, llama.cpp's
    workers still spinning) are taken off. The least of a few readings a
    millisecond apart ignores a passing spike.
    """
    counts = []
    for i in range(samples):
        try:
            counts.append(int(loadavg.read_text().split()[3].split("/")[0]))
        except (OSError, IndexError, ValueError):
            return None
        if i + 1 < samples:
            time.sleep(0.001)
    return max(0, min(counts) - _own_runnable())


def _own_runnable() -> int:
    """Threads of this process in state R (running or ready), at least 1: the caller."""
    n = 0
    try:
        for task in Path("/proc/self/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            if stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] == "R":
                n += 1
    except OSError:
        pass
    return max(1, n)


def threads_for_load(max_threads: int, others: int | None, cpus: int | None = None) -> int:
    """llama.cpp threads that each find a free core: at most ``max_threads``, at least one.

    llama.cpp's threads meet at a barrier after every layer and spin while they
    wait, so one thread that shares its core with another busy process holds
    all the others back: on 2 cores with the machine busy, 2 threads wrote an
    answer in 89-130 s and 1 thread in 12-15 s (bench/results/load.json).
    """
    if others is None:
        return max_threads
    cpus = usable_cpus() if cpus is None else cpus
    return max(1, min(max_threads, cpus - others))


# Nice value of the thread that parses the next files while the current ones are embedded.
BACKGROUND_NICENESS = 10


def yield_to_embedding(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Lower the calling thread's scheduling priority (Linux: a thread is a task of its own).

    The embedder's threads meet after every operation, so a parsing thread that takes one of
    their cores holds the whole batch back; at a lower priority it runs in the gaps the
    embedder leaves (it waits between batches and operations) and on idle cores. False where
    the platform cannot lower one thread (it then runs at the process's priority, as before).
    """
    if not hasattr(os, "setpriority") or platform.system() != "Linux":
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), niceness))
    except OSError:
        return False
    return True


# Python's default is 5 ms. While ingesting, the embedding thread needs the GIL for a moment
# between the model's operations and batches; a parsing thread (pure Python for much of its work)
# could hold it that long each time while the embedder's cores sat idle. Measured on the 30
# PubMedQA digests, 2 cores, alternating runs: 8-11% faster in a first set (int8 ONNX and bf16
# PyTorch), within the noise in a second (int8); never measurably slower.
INGEST_SWITCH_INTERVAL = 0.0005
_handoff_lock = threading.Lock()
_handoff: dict[str, float] = {"depth": 0, "saved": 0.0}


@contextlib.contextmanager
def quick_gil_handoff(interval: float = INGEST_SWITCH_INTERVAL) -> Iterator[None]:
    """Let threads hand the GIL to each other every ``interval`` seconds while inside (process-wide;
    nested and overlapping uses restore the original interval when the last one leaves)."""
    with _handoff_lock:
        if _handoff["depth"] == 0:
            _handoff["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, _handoff["saved"]))
        _handoff["depth"] += 1
    try:
        yield
    finally:
        with _handoff_lock:
            _handoff["depth"] -= 1
            if _handoff["depth"] == 0:
                sys.setswitchinterval(_handoff["saved"])


def cpu_summary(cpuinfo: str | None = None) -> dict[str, Any]:
    """CPU model, core counts and the flags that matter for speed: recorded with every benchmark."""
    text = _cpuinfo_text() if cpuinfo is None else cpuinfo
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    flags = cpu_flags(text)
    info: dict[str, Any] = {
        "model_name": fields.get("model name", platform.processor() or "?"),
        "vendor": fields.get("vendor_id", "?"),
        "family": fields.get("cpu family", "?"),
        "model": fields.get("model", "?"),
        "machine": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "physical_cores": physical_cores(text),
        "flags": sorted(flags & set(INTERESTING_FLAGS)),
        "native_bf16": has_native_bf16(flags),
        "avx512f": "avx512f" in flags,
        "forced": {
            k: os.environ[k]
            for k in (
                "ATEN_CPU_CAPABILITY",
                "ONEDNN_MAX_CPU_ISA",
                "MKL_ENABLE_INSTRUCTIONS",
                "KIDNEYTALK_CPU_FLAGS",
            )
            if k in os.environ
        },
    }
    try:
        import torch

        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:
        pass
    return info
