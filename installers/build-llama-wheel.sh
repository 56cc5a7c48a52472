#!/usr/bin/env bash
# A portable llama-cpp-python wheel for the bundle: llama.cpp compiled for any CPU of the family, not
# only the build machine's (.venv's own build uses llama.cpp's default -march=native, which is right for
# running from source but would crash with "illegal instruction" on an older CPU than the build machine's).
#   PY=.venv/bin/python bash installers/build-llama-wheel.sh     # prints the wheel's path (progress on stderr)
# The CPU code is built once per variant (x64, sse42, sandybridge, haswell, skylakex, icelake, zen4, ...:
# libggml-cpu-<variant>.so) and llama.cpp loads the best one the CPU supports when it starts.
# The same llama-cpp-python version as PY's is built, from its PyPI source, and cached in build/llama-cpp/<version>-<key>/ where the key covers the flags, the machine
# architecture and this script: a second run with the same inputs only prints the path.
# LLAMA_PORTABLE_CMAKE_ARGS replaces the flags (e.g. Apple silicon: empty, Metal is the default there).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
flags="${LLAMA_PORTABLE_CMAKE_ARGS--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON}"
# The version PY has (the one the app was tested with), else the one installers/constraints.txt pins.
version=$("$PY" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' 2>/dev/null \
  || sed -n 's/^llama[-_]cpp[-_]python==//Ip' installers/constraints.txt)
[ -n "$version" ] || { echo "No llama-cpp-python version: install it in $PY or pin it in installers/constraints.txt" >&2; exit 1; }
# llama-cpp-python puts into llama_cpp/lib the libraries it names (ggml-cpu among them); the per-CPU
# variants are separate targets (ggml-cpu-haswell, ...) it does not know, which only llama.cpp's own rule
# installs, into a bin/ folder outside the package where nothing looks for them. Install every ggml-cpu-*
# library target into llama_cpp/lib beside the others, with the same $ORIGIN run path.
patch=$(cat <<'CMAKE'

# Added by KidneyTalk's installers/build-llama-wheel.sh: the CPU backend variants (GGML_CPU_ALL_VARIANTS).
if (LLAMA_BUILD)
    get_property(_kt_ggml_targets DIRECTORY vendor/llama.cpp/ggml/src PROPERTY BUILDSYSTEM_TARGETS)
    foreach(_kt_target IN LISTS _kt_ggml_targets)
        get_target_property(_kt_type ${_kt_target} TYPE)
        if (_kt_target MATCHES "^ggml-cpu-" AND _kt_type MATCHES "^(MODULE|SHARED)_LIBRARY$")
            llama_cpp_python_install_target(${_kt_target})
        endif()
    endforeach()
endif()
CMAKE
)
key=$(printf '%s\n' "$flags" "$(uname -sm)" "$patch" | sha256sum | cut -c1-12)
out="build/llama-cpp/$version-$key"
if compgen -G "$out/llama_cpp_python-*.whl" >/dev/null; then
  echo "Portable llama-cpp-python $version: cached" >&2
  ls "$out"/llama_cpp_python-*.whl
  exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
sdist_dir=build/llama-cpp/sdist
if ! compgen -G "$sdist_dir/llama_cpp_python-$version.tar.gz" >/dev/null; then
  "$PY" -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$sdist_dir"
fi
src="build/llama-cpp/src-$version-$key"
rm -rf "$src" "$out.partial" && mkdir -p "$src" "$out.partial"
tar -xzf "$sdist_dir/llama_cpp_python-$version.tar.gz" -C "$src" --strip-components=1
printf '%s\n' "$patch" >> "$src/CMakeLists.txt"

echo "Building a portable llama-cpp-python $version wheel ($flags); about 30 minutes on 2 cores..." >&2
start=$(date +%s)
# --no-cache-dir: pip's wheel cache is keyed by the source, not by CMAKE_ARGS, and would hand back .venv's native build.
CMAKE_ARGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
  nice -n "${KIDNEYTALK_BUILD_NICE:-15}" "$PY" -m pip wheel -q --no-deps --no-cache-dir -w "$out.partial" "./$src" \
  > "$out.partial/build.log" 2>&1 || { tail -50 "$out.partial/build.log" >&2; echo "The portable llama-cpp-python build failed (log: $out.partial/build.log)" >&2; exit 1; }
wheel=$(ls "$out.partial"/llama_cpp_python-*.whl)
variants=$("$PY" -c 'import sys, zipfile; print(sum(n.startswith("llama_cpp/lib/") and "ggml-cpu-" in n for n in zipfile.ZipFile(sys.argv[1]).namelist()))' "$wheel")
case "$flags" in *GGML_CPU_ALL_VARIANTS=ON*)
  [ "$variants" -ge 2 ] || { echo "The portable wheel holds $variants CPU backend variants: $wheel" >&2; exit 1; } ;;
esac
rm -rf "$out" "$src" && mv "$out.partial" "$out"
echo "Portable llama-cpp-python $version built in $(( $(date +%s) - start )) s ($variants CPU variant libraries)" >&2
ls "$out"/llama_cpp_python-*.whl
