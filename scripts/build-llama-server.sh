#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (the OpenAI-compatible HTTP model server) from the
# llama.cpp source vendored in the llama-cpp-python source distribution that KidneyTalk
# pins, so the server and the in-process backend run the same llama.cpp.
#
# Not part of installers/setup.sh: the build takes 20-40 minutes on a 2-core machine.
# KidneyTalk does not need it (its in-process backend and `python -m llama_cpp.server`
# cover a single desk); build it for a department server, or to run the real-llama-server
# tests (tests/test_server_llama.py picks it up from KIDNEYTALK_LLAMA_SERVER or PATH).
#
# Usage: scripts/build-llama-server.sh [BUILD_DIR]   (default: ~/.cache/kidneytalk/llama-server)
# Environment: PYTHON (the venv's python, default .venv/bin/python), JOBS (default 2),
#              CMAKE_EXTRA (more cmake flags, e.g. "-DGGML_CUDA=ON" or "-DGGML_VULKAN=ON").
# Prints the path of the built binary on its last line.
#
# Network: `pip download` fetches the llama-cpp-python sdist from PyPI once (skip it by
# putting llama_cpp_python-<version>.tar.gz in BUILD_DIR). The build itself downloads
# nothing: the web UI is neither built (npm) nor fetched (Hugging Face) and HTTPS is off.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
jobs="${JOBS:-2}"
build_root="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/kidneytalk/llama-server}"

version="$("$python" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')"
mkdir -p "$build_root"
cd "$build_root"
sdist="llama_cpp_python-$version.tar.gz"
if [ ! -f "$sdist" ]; then
    "$python" -m pip download "llama-cpp-python==$version" --no-deps --no-binary :all: -d .
fi
src="llama_cpp_python-$version/vendor/llama.cpp"
[ -d "$src" ] || tar xzf "$sdist"

cmake -S "$src" -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    ${CMAKE_EXTRA:-}
nice -n 10 cmake --build build --target llama-server -j "$jobs"
echo "$build_root/build/bin/llama-server"
