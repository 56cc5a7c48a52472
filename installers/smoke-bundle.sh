#!/usr/bin/env bash
# Smoke test of a built bundle, run as a new user would: a clean environment (env -i, PATH=/usr/bin:/bin,
# HOME in a temp folder, no .venv), nothing but the bundle folder, and no network where unshare allows.
#   bash installers/smoke-bundle.sh [BUNDLE_DIR]      # default dist/KidneyTalk
# 1. CLI: add a PubMedQA digest PDF from ../shared (or the bundled sample when shared/ is absent),
#    ask a question with --json and check a cited answer from that document;
# 2. GUI: start kidneytalk-gui offscreen with KIDNEYTALK_EXIT_WHEN_SHOWN=1, check the main window
#    was shown and report the time from launch to a usable window.
# Prints one "bundle smoke: ..." line per check and exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="$(cd "${1:-dist/KidneyTalk}" && pwd)"
exe=""; [ -f "$bundle/kidneytalk.exe" ] && exe=".exe"  # Windows (Git Bash)
[ -x "$bundle/kidneytalk$exe" ] && [ -x "$bundle/kidneytalk-gui$exe" ] || { echo "bundle smoke: no bundle at $bundle" >&2; exit 1; }
cli="$bundle/kidneytalk$exe"
# The double-click program; on Windows a windowed program has no stdout, so the console one opens the app there.
gui=("$bundle/kidneytalk-gui$exe"); [ -n "$exe" ] && gui=("$cli" gui)
limit=(); command -v timeout >/dev/null 2>&1 && limit=(timeout 300)  # macOS has no timeout(1)
check_py="${CHECK_PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/run"

keep=()  # Windows cannot start a program without these
[ -n "$exe" ] && keep=(SYSTEMROOT="${SYSTEMROOT:-C:\\Windows}" WINDIR="${WINDIR:-C:\\Windows}" TEMP="$tmp/run" TMP="$tmp/run")
# No network where one can be taken away (Linux with util-linux's unshare and user namespaces): every
# run below is in a network namespace of its own, with no interface up, so a connection attempt fails.
nonet=()
if [ "$(uname -s)" = Linux ] && command -v unshare >/dev/null 2>&1 && unshare -rn true 2>/dev/null; then
  nonet=(unshare -rn)
  echo "bundle smoke: no network (every run in its own network namespace: unshare -rn)"
fi
clean() {  # run a command with nothing of this shell's environment (and no network, see above)
  ${nonet[@]+"${nonet[@]}"} env -i PATH=/usr/bin:/bin HOME="$tmp/home" LANG=C.UTF-8 TMPDIR="$tmp/run" \
    ${keep[@]+"${keep[@]}"} "$@"
}

# A document and a question about it: a shared PubMedQA digest when shared/ is next to the checkout.
pdf=""
for d in ../shared ../../shared ../../../shared; do
  [ -f "$d/eval/pubmedqa-dev/corpus/dev-digest-012.pdf" ] && { pdf="$(cd "$d" && pwd)/eval/pubmedqa-dev/corpus/dev-digest-012.pdf"; break; }
done
if [ -n "$pdf" ]; then
  doc="$pdf"; source_name="dev-digest-012.pdf"
  question="Is oral endotracheal intubation efficacy impaired in the helicopter environment?"
else
  doc="$(find "$bundle" -path '*kidneytalk/sample/ckd-primer.md' | head -1)"; source_name="ckd-primer.md"
  question="How is chronic kidney disease staged?"
fi

t0=$(date +%s.%N)
clean "$cli" add "$doc" > "$tmp/add.out" 2> "$tmp/add.err" || { cat "$tmp/add.err" >&2; echo "bundle smoke: FAILED: add" >&2; exit 1; }
t1=$(date +%s.%N)
clean "$cli" ask --json "$question" > "$tmp/ask.json" 2> "$tmp/ask.err" || { cat "$tmp/ask.err" >&2; echo "bundle smoke: FAILED: ask" >&2; exit 1; }
t2=$(date +%s.%N)
"$check_py" - "$tmp/ask.json" "$source_name" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1], encoding="utf-8"))
source = sys.argv[2]
assert answer["answer"].strip() and not answer["refused"], f"no answer: {answer['answer']!r}"
assert answer["citations"], "the answer cites nothing"
assert all(c["source"] == source and c["pages"] for c in answer["citations"]), answer["citations"]
assert "[1]" in answer["answer_with_sources"] or "[" in answer["answer"], "no citation marker in the answer"
print(f"bundle smoke: cited answer from {source} pages {sorted({p for c in answer['citations'] for p in c['pages']})}: "
      f"{answer['answer'][:100]!r}")
PY
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
echo "bundle smoke: CLI add $(secs "$t0" "$t1") s, ask $(secs "$t1" "$t2") s ($source_name)"

# Tables are read by a helper process (kidneytalk/tables.py); in a frozen program that process is the
# bundle's executable again. A ruled table made here must come out as Markdown rows, read by the helper.
"$check_py" - "$tmp/table.pdf" <<'PY'
import sys
import pymupdf
doc = pymupdf.open()
page = doc.new_page()
page.insert_text((50, 50), "Table 1. GFR categories", fontsize=11)
for r, row in enumerate([("Category", "GFR"), ("G1", ">= 90"), ("G2", "60-89"), ("G3a", "45-59")]):
    for c, cell in enumerate(row):
        rect = pymupdf.Rect(50 + c * 150, 70 + r * 22, 200 + c * 150, 92 + r * 22)
        page.draw_rect(rect, color=(0, 0, 0), width=0.8)
        page.insert_text((rect.x0 + 4, rect.y1 - 6), cell, fontsize=10)
doc.save(sys.argv[1])
PY
clean ${limit[@]+"${limit[@]}"} "$cli" add "$tmp/table.pdf" > "$tmp/table.out" 2> "$tmp/table.err" || { cat "$tmp/table.err" >&2; echo "bundle smoke: FAILED: add a table PDF" >&2; exit 1; }
"$check_py" - "$tmp/home" <<'PY'
import pathlib, sqlite3, sys
home = pathlib.Path(sys.argv[1])
catalog = next(home.rglob("catalog.sqlite3"))
texts = [t for (t,) in sqlite3.connect(catalog).execute("SELECT text FROM chunks")]
assert any("|G3a|45-59|" in t.replace(" ", "") for t in texts), "the table did not become Markdown rows"
logs = "".join(p.read_text(errors="replace") for p in home.rglob("*.log"))
assert "helper did not start" not in logs and "no helper process" not in logs, "the table helper did not run"
print("bundle smoke: table read as Markdown rows by the helper process")
PY

# llama.cpp for any CPU of the family (installers/build-llama-wheel.sh; x86-64 Linux and Windows): the CPU
# variant libraries are in the bundle, the best one for this CPU is loaded, and a copy of the bundle without
# the variants above Haswell (AVX2) - what a CPU without AVX-512 can use - still answers.
lib="$(find "$bundle" -type d -path '*llama_cpp/lib' | head -1)"
variants=$(ls "$lib" | sed -n 's/^\(lib\)\{0,1\}ggml-cpu-\(.*\)\.\(so\|dll\)$/\2/p' | sort | tr '\n' ' ')
loaded() {  # the CPU backend library ggml loaded, from its log line (installers/pyi_rth_llama_backends.py)
  sed -n 's/.*loaded CPU backend from .*ggml-cpu-\([A-Za-z0-9_.]*\)\.\(so\|dll\)$/\1/p' "$1" | tail -1
}
case "$(uname -m)" in x86_64|amd64|AMD64) want_portable="${KIDNEYTALK_PORTABLE_LLAMA:-1}" ;; *) want_portable=0 ;; esac
if [ "$want_portable" = 1 ]; then
  for v in x64 sse42 haswell skylakex icelake; do
    case " $variants" in *" $v "*) ;; *) echo "bundle smoke: FAILED: no ggml-cpu-$v library in $lib (has: $variants)" >&2; exit 1 ;; esac
  done
  clean KIDNEYTALK_LLAMA_BACKEND_LOG=1 "$cli" --help > /dev/null 2> "$tmp/backend.err" || true
  best=$(loaded "$tmp/backend.err")
  [ -n "$best" ] || { cat "$tmp/backend.err" >&2; echo "bundle smoke: FAILED: no CPU backend loaded" >&2; exit 1; }
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null && [ "$best" = x64 ]; then
    echo "bundle smoke: FAILED: the plain x86-64 backend was loaded on an AVX2 CPU" >&2; exit 1
  fi
  echo "bundle smoke: llama.cpp CPU variants: ${variants% }; loaded here: $best"
  # the copy: hard links (no disk space) where the file system allows them
  cp -al "$bundle" "$tmp/older-cpu" 2>/dev/null || cp -a "$bundle" "$tmp/older-cpu"
  older_lib="$tmp/older-cpu/${lib#"$bundle"/}"
  for v in $variants; do
    case "$v" in x64|sse42|sandybridge|ivybridge|piledriver|haswell) ;; *) rm -f "$older_lib"/*ggml-cpu-"$v".* ;; esac
  done
  t3=$(date +%s.%N)
  clean KIDNEYTALK_LLAMA_BACKEND_LOG=1 "$tmp/older-cpu/kidneytalk$exe" ask --json "$question" > "$tmp/ask-older.json" 2> "$tmp/ask-older.err" \
    || { cat "$tmp/ask-older.err" >&2; echo "bundle smoke: FAILED: ask without the variants above haswell" >&2; exit 1; }
  t4=$(date +%s.%N)
  older=$(loaded "$tmp/ask-older.err")
  case "$older" in x64|sse42|sandybridge|ivybridge|piledriver|haswell) ;;
    *) cat "$tmp/ask-older.err" >&2; echo "bundle smoke: FAILED: loaded '$older' from the copy without the higher variants" >&2; exit 1 ;;
  esac
  "$check_py" -c 'import json, sys; a = json.load(open(sys.argv[1], encoding="utf-8")); assert a["answer"].strip() and a["citations"], a' \
    "$tmp/ask-older.json" || { echo "bundle smoke: FAILED: no cited answer without the variants above haswell" >&2; exit 1; }
  echo "bundle smoke: without the variants above haswell: loaded $older, cited answer in $(secs "$t3" "$t4") s"
  rm -rf "$tmp/older-cpu"
fi

# The library is in the temp HOME's platform folders, not in the bundle (Windows: the user's AppData).
if [ -z "$exe" ]; then
  find "$tmp/home" -name 'chroma.sqlite3' | grep -q . || { echo "bundle smoke: FAILED: no library under the temp HOME" >&2; exit 1; }
fi

# Linux: the desktop entry and icon are in the folder (build-linux.sh), and install-desktop-entry.sh puts a
# valid menu entry that starts this folder's kidneytalk-gui, with the icon, into the (temporary) user's menu.
if [ -z "$exe" ] && [ "$(uname -s)" = Linux ]; then
  for f in kidneytalk.desktop kidneytalk.png install-desktop-entry.sh; do
    [ -f "$bundle/$f" ] || { echo "bundle smoke: FAILED: no $f in $bundle (built by build-linux.sh?)" >&2; exit 1; }
  done
  clean "$bundle/install-desktop-entry.sh" > /dev/null || { echo "bundle smoke: FAILED: install-desktop-entry.sh" >&2; exit 1; }
  entry="$tmp/home/.local/share/applications/kidneytalk.desktop"
  [ -f "$entry" ] && [ -f "$tmp/home/.local/share/icons/hicolor/256x256/apps/kidneytalk.png" ] \
    || { echo "bundle smoke: FAILED: no menu entry or icon installed" >&2; exit 1; }
  grep -qxF "Exec=\"$bundle/kidneytalk-gui\"" "$entry" && grep -qxF "Icon=$bundle/kidneytalk.png" "$entry" \
    || { cat "$entry" >&2; echo "bundle smoke: FAILED: the menu entry does not start this bundle" >&2; exit 1; }
  if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$entry" >&2 || { echo "bundle smoke: FAILED: desktop-file-validate" >&2; exit 1; }
  fi
  echo "bundle smoke: desktop entry and icon installed into the menu, starting $bundle/kidneytalk-gui"
fi

g0=$(date +%s.%N)
clean QT_QPA_PLATFORM=offscreen KIDNEYTALK_EXIT_WHEN_SHOWN=1 ${limit[@]+"${limit[@]}"} "${gui[@]}" > "$tmp/gui.out" 2> "$tmp/gui.err" \
  || { cat "$tmp/gui.out" "$tmp/gui.err" >&2; echo "bundle smoke: FAILED: the GUI did not start and quit" >&2; exit 1; }
g1=$(date +%s.%N)
shown=$(sed -n 's/^kidneytalk-gui: window shown at \([0-9.]*\)$/\1/p' "$tmp/gui.out")
[ -n "$shown" ] || { cat "$tmp/gui.out" "$tmp/gui.err" >&2; echo "bundle smoke: FAILED: the main window was not shown" >&2; exit 1; }
echo "bundle smoke: GUI window usable $(secs "$g0" "$shown") s after launch (exited after $(secs "$g0" "$g1") s)"
echo "bundle smoke: OK ($bundle, $(du -sh "$bundle" | cut -f1))"
