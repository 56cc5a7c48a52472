"""PyInstaller runtime hook (installers/kidneytalk.spec): load llama.cpp's CPU code for this CPU.

The bundle's llama.cpp is built with GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS
(installers/build-llama-wheel.sh): its CPU code is one library per CPU family,
``llama_cpp/lib/libggml-cpu-<variant>.so`` (x64, sse42, sandybridge, haswell,
skylakex, icelake, zen4, ...), and ggml loads the best one the CPU supports. But
ggml looks for them only beside the executable and in the current folder, and
llama-cpp-python 0.3.36 does not tell it where its libraries are
(abetlen/llama-cpp-python#2069), so the bundle would find no CPU backend at all.
This hook runs before any KidneyTalk code and points ggml at the folder
(``ggml_backend_load_all_from_path``); llama.cpp then finds the backend
registered and loads nothing more itself (the same ``libggml`` is shared: it is
loaded once, under its SONAME).

A bundle whose llama.cpp has the CPU code built in (no ``*ggml-cpu-*`` variant
files: macOS with Metal, or a native build) is left alone.
``KIDNEYTALK_LLAMA_BACKEND_LOG=1`` lets ggml print which library it loaded
("load_backend: loaded CPU backend from .../libggml-cpu-haswell.so"), which
installers/smoke-bundle.sh checks.
"""

import ctypes
import os
import sys
from pathlib import Path


def _load_llama_backends() -> None:
    lib = Path(getattr(sys, "_MEIPASS", "")) / "llama_cpp" / "lib"
    if not lib.is_dir() or not any(lib.glob("*ggml-cpu-*")):
        return
    names = {"win32": ["ggml.dll"], "darwin": ["libggml.dylib"]}.get(
        sys.platform, ["libggml.so.0", "libggml.so"]
    )
    path = next((lib / n for n in names if (lib / n).is_file()), None)
    if path is None:
        return
    if sys.platform == "win32":
        os.add_dll_directory(str(lib))  # ggml.dll needs ggml-base.dll beside it
    try:
        ggml = ctypes.CDLL(str(path))
    except OSError as exc:  # llama_cpp reports its own failure to load, with more context
        print(f"kidneytalk: could not load {path}: {exc}", file=sys.stderr)
        return
    log_callback = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    quiet = log_callback(lambda level, text, data: None)
    verbose = os.environ.get("KIDNEYTALK_LLAMA_BACKEND_LOG", "") not in ("", "0")
    ggml.ggml_log_set.argtypes = [log_callback, ctypes.c_void_p]
    ggml.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    if not verbose:
        ggml.ggml_log_set(quiet, None)
    ggml.ggml_backend_load_all_from_path(os.fsencode(lib))
    if not verbose:
        ggml.ggml_log_set(
            log_callback(), None
        )  # ggml's own logger again, until llama_cpp sets its own


_load_llama_backends()
