#!/usr/bin/env bash
# The Raspberry Pi proof, under emulation: an aarch64 Debian bookworm CPython 3.11 (what
# Raspberry Pi OS Bookworm runs) via qemu-user with a Cortex-A72 (Pi 4; PI=5 for A76).
#   1. cleartune + its edge dependencies install on aarch64 from wheels, without TensorFlow;
#   2. the edge and firmware_bridge tests pass there;
#   3. the default pipeline (the shipped guitar-pitch model guiding the tracker) reads the demo
#      recording the same on aarch64 as on this machine (every reading's note; cents to 0.001);
#   4. every shipped int8 model gives bit-identical outputs on aarch64 and on this machine.
# Timings under emulation mean nothing; correctness does.
#
# Writes the record bench/results/pi-check.md (PI_CHECK_OUT=...): date, commit, qemu CPU,
# what was installed (with versions), the test summary and the int8 comparison.
#
# The emulation harness is scripts/arm64/run-arm64.sh (ARM64_TOOL=... for another one); it
# needs the Debian package qemu-user-static (installed here when run as root or with sudo)
# and keeps its aarch64 sysroot and pip environments in /tmp/arm64-cache (ARM64_CACHE).
# Resumable: each step that passed is remembered for this exact tree (commit + uncommitted
# changes + untracked files) in /tmp/cleartune-pi-check (PI_WORK) and skipped on a rerun;
# PI_FRESH=1 redoes all.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
TOOL="$(realpath -m "${ARM64_TOOL:-scripts/arm64/run-arm64.sh}")"
PI="${PI:-4}"
PY="$(realpath -ms "${VENV:-.venv}/bin/python")"
OUT="$(realpath -m "${PI_CHECK_OUT:-bench/results/pi-check.md}")"
case "$PI" in 4) CPU=cortex-a72 BOARD="Raspberry Pi 4" ;; 5) CPU=cortex-a76 BOARD="Raspberry Pi 5" ;;
  *) echo "pi-check: PI must be 4 or 5" >&2; exit 2 ;; esac
[ -x "$TOOL" ] || { echo "pi-check: $TOOL not found (set ARM64_TOOL)" >&2; exit 1; }
if ! command -v qemu-aarch64-static >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else
    echo "pi-check: needs qemu-user-static: sudo apt-get install qemu-user-static" >&2; exit 1; fi
  echo "pi-check: installing qemu-user-static"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
fi
[ -x "$PY" ] || scripts/setup.sh edge

# --- which tree is checked: the commit plus any uncommitted change to tracked files
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
changed=$(git status --porcelain --untracked-files=no 2>/dev/null | cut -c4- | tr '\n' ' ' || true)
# (the key covers what the wheel and the tests are made of, not the results this check writes)
src=(cleartune edge firmware_bridge train quantize bench tests scripts pyproject.toml
     ':(exclude)bench/results' ':(exclude)quantize/results')
key=$(
  { echo "$commit pi$PI"; git diff HEAD -- "${src[@]}" 2>/dev/null || true
    git ls-files -o --exclude-standard -z -- "${src[@]}" 2>/dev/null | xargs -0 -r sha256sum 2>/dev/null || true
  } | sha256sum | cut -c1-16)
work="${PI_WORK:-/tmp/cleartune-pi-check}/$key"
[ "${PI_FRESH:-0}" = 1 ] && rm -rf "$work"
mkdir -p "$work"
t_start=$(date +%s)

write_record() {  # $1 = PASSED | FAILED (at ...)
  local tmp="$OUT.tmp" qemu_v sysroot="${ARM64_CACHE:-/tmp/arm64-cache}/sysroot"
  qemu_v=$(qemu-aarch64-static --version 2>/dev/null | head -1 || echo "?")
  mkdir -p "$(dirname "$OUT")"
  {
    echo "# pi-check: cleartune's edge side on emulated aarch64 ($BOARD)"
    echo
    echo "Result: **$1**"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ) (this run took $(( $(date +%s) - t_start )) s; steps that had passed for the same tree were reused)"
    echo "- commit: $commit${changed:+ + uncommitted changes in: $changed}"
    echo "- command: \`make pi-check\` (scripts/pi_check.sh, PI=$PI)"
    echo "- host: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- emulation: $qemu_v, \`-cpu $CPU\` ($BOARD), Debian bookworm arm64 sysroot (scripts/arm64/run-arm64.sh)"
    echo
    echo "## 1. install on aarch64 (pip under emulation, wheels only)"
    echo
    if [ -f "$work/versions.txt" ]; then
      echo '```'; cat "$work/install.log" 2>/dev/null | grep -v '^\[run-arm64\]' | tail -3; echo '```'
      echo
      echo "Installed into the aarch64 environment (pip): $(grep -v '^debian ' "$work/versions.txt" | tr '\n' ' ')"
      echo
      echo "From Debian bookworm arm64 (as on Raspberry Pi OS): $(grep '^debian ' "$work/versions.txt" | cut -d' ' -f2- | tr '\n' ' ')"
    else echo "not reached"; fi
    echo
    echo "## 2. edge and firmware_bridge tests on aarch64"
    echo
    if [ -f "$work/tests.log" ]; then
      echo "Files: $(cat "$work/tests.files" 2>/dev/null)"
      echo
      echo '```'; grep -E '^(FAILED|ERROR|SKIPPED)|[0-9]+ (passed|failed)' "$work/tests.log" | tail -15; echo '```'
    else echo "not reached"; fi
    echo
    echo "## 3. readings parity: \`cleartune analyze --json edge/demo/demo.wav\` (default pipeline), aarch64 vs $(uname -m)"
    echo
    if [ -f "$work/readings.log" ]; then echo '```'; grep -v '^\[run-arm64\]' "$work/readings.log"; echo '```'
    else echo "not reached"; fi
    echo
    echo "## 4. int8 parity: every shipped int8 model, fixed inputs, aarch64 vs $(uname -m)"
    echo
    if [ -f "$work/parity.log" ]; then echo '```'; grep -v '^\[run-arm64\]' "$work/parity.log"; echo '```'
    else echo "not reached"; fi
  } > "$tmp"
  mv -f "$tmp" "$OUT"
  echo "pi-check: record written to ${OUT#"$REPO"/}"
}

step() {  # step NAME CMD...: run CMD once per tree, output to $work/NAME.log
  local name=$1 rc; shift
  if [ -f "$work/$name.ok" ]; then echo "   (passed before for this tree: reused; PI_FRESH=1 redoes it)"; return 0; fi
  set +e; "$@" 2>&1 | tee "$work/$name.log"; rc=${PIPESTATUS[0]}; set -e
  if [ "$rc" != 0 ]; then
    write_record "FAILED at step '$name' (log: $work/$name.log)"
    echo "pi-check: FAILED at step '$name' (log: $work/$name.log)" >&2
    exit 1
  fi
  touch "$work/$name.ok"
}

echo "== 1. build the cleartune wheel (pure Python) and install it on aarch64 with the edge extra's wheels"
# The edge extra minus pyaudio: on the Pi, PyAudio comes from Debian's python3-pyaudio
# (present in the emulated system, as with `apt install python3-pyaudio` on the Pi) or is
# built from source with portaudio19-dev; there is no aarch64 wheel of it on PyPI.
edge_deps=$("$PY" - <<'PYEOF'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["edge"]
print(" ".join(d.replace(" ", "") for d in deps if not re.match(r"(?i)pyaudio|tomli", d)))
PYEOF
)
build_wheel() { rm -rf "$work/wheel"; "$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/wheel" "$REPO" >/dev/null; ls "$work"/wheel/cleartune-*.whl; }
step wheel build_wheel
whl=$(ls "$work"/wheel/cleartune-*.whl)
echo "   edge deps: $edge_deps"
# The dependencies' environment is cached by the harness (keyed on these specs, so it is built
# once); this tree's cleartune wheel is installed on its own, with pip under emulation, into
# $work/site, which the runs below put on the path.
specs="$edge_deps pytest"
arm() { (cd "$work" && "$TOOL" --pi "$PI" --pip "$specs" --path "$work/site" -- "$@"); }  # outside the checkout: its cleartune/ would shadow the wheel
install_wheel() {
  rm -rf "$work/site"
  (cd "$work" && "$TOOL" --pi "$PI" --pip "$specs" -- -m pip install -q --no-deps --no-compile \
     --disable-pip-version-check --target "$work/site" "$whl") || return 1
  arm -c "
import importlib.util, platform, sys, cleartune, cleartune.edge.pipeline, cleartune.firmware_bridge.outputs, pyaudio
assert platform.machine() == 'aarch64', platform.machine()
assert cleartune.__file__.startswith('$work/site/'), cleartune.__file__
assert importlib.util.find_spec('tensorflow') is None, 'tensorflow must not be installed on the edge'
print('aarch64 install ok:', platform.machine(), 'CPython', sys.version.split()[0], '- cleartune', cleartune.__version__,
      'from its wheel, without tensorflow; pyaudio', pyaudio.__version__)
"
}
step install install_wheel
list_versions() {
  local envpy envdir
  envpy=$("$TOOL" --pi "$PI" --pip "$specs" --print-python)
  envdir=$(dirname "$(dirname "$envpy")")
  # pip's own records: NAME-VERSION.dist-info (the dependencies' environment, then this wheel)
  find "$envdir/lib/python3.11/site-packages" "$work/site" -maxdepth 1 -name '*.dist-info' -printf '%f\n' \
    | sed -E 's/\.dist-info$//; s/-([^-]+)$/==\1/' | sort -f
  # Debian packages unpacked into the sysroot (python, pyaudio, portaudio)
  grep -E '^(python3\.11|python3-pyaudio|libportaudio2)_' "${ARM64_CACHE:-/tmp/arm64-cache}/sysroot/.unpacked" \
    | sed -E 's/_arm64\.deb$//; s/^([^_]+)_(.*)$/debian \1=\2/; s/%3a/:/g'
}
list_versions > "$work/versions.txt"
echo "   $(wc -l < "$work/versions.txt") packages (see the record)"

echo "== 2. edge and firmware_bridge tests on aarch64"
tests=${PI_TESTS:-$(ls tests/test_params_features.py tests/test_edge_*.py tests/test_notes.py tests/test_pitch*.py tests/test_synth.py \
        tests/test_bridge*.py tests/test_serial*.py tests/test_gpio*.py tests/test_wire*.py tests/test_tui*.py 2>/dev/null | tr '\n' ' ')}
echo "$tests" > "$work/tests.files"
# run from a copy outside the checkout (no cleartune/ folder there), so the tests import the installed wheel
# (with the data files the tests read: the demo recording, the wire-format spec, the example config)
rm -rf "$work/src" && mkdir -p "$work/src" && cp -r "$REPO/tests" "$REPO/edge" "$REPO/firmware_bridge" "$work/src/"
# the test markers of pyproject.toml (the copy has no pyproject; an unknown mark is a warning)
"$PY" - "$REPO/pyproject.toml" > "$work/src/pytest.ini" <<'PYEOF'
import sys, tomllib
marks = tomllib.load(open(sys.argv[1], "rb"))["tool"]["pytest"]["ini_options"].get("markers", [])
print("[pytest]\nmarkers =\n" + "".join(f"    {m}\n" for m in marks))
PYEOF
# shellcheck disable=SC2086  # the test files: word splitting intended
run_tests() { (cd "$work/src" && "$TOOL" --pi "$PI" --pip "$specs" --path "$work/site" -- -m pytest -q -rs -p no:cacheprovider -m "not tf" $tests); }
step tests run_tests

echo "== 3. readings parity: the default pipeline on the demo recording, aarch64 vs $(uname -m)"
readings() {
  "$PY" -m cleartune analyze --json "$REPO/edge/demo/demo.wav" > "$work/readings.x86.jsonl" || return 1
  arm -m cleartune analyze --json "$REPO/edge/demo/demo.wav" > "$work/readings.arm.jsonl" || return 1
  "$PY" "$REPO/scripts/readings_parity.py" "$work/readings.x86.jsonl" "$work/readings.arm.jsonl"
}
step readings readings

echo "== 4. int8 parity: every shipped int8 model, fixed inputs, aarch64 vs $(uname -m)"
models=$(ls "$REPO"/edge/models/*int8*.tflite 2>/dev/null || true)
parity() {
  local model name rc=0
  for model in $models; do
    name=$(basename "$model" .tflite)
    echo "$(uname -m): $("$PY" "$REPO/scripts/int8_parity.py" "$model" --out "$work/$name.x86.npy")"
    echo "aarch64: $(arm "$REPO/scripts/int8_parity.py" "$model" --out "$work/$name.arm.npy")"
    "$PY" - "$work/$name.x86.npy" "$work/$name.arm.npy" "$(basename "$model")" "$(sha256sum "$model" | cut -c1-16)" <<'PYEOF' || rc=1
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
same = a.shape == b.shape and np.array_equal(a, b)
what = "int8 outputs" if a.dtype == np.int8 else "output bytes"
print(f"{sys.argv[3]} (sha256 {sys.argv[4]}...): {a[0].size * len(a)} {what} from {a.shape[0]} fixed windows, "
      f"bit-identical: {same}, max |diff| = {np.abs(a.astype(int) - b.astype(int)).max() if a.shape == b.shape else 'shape differs'}")
if a.shape == b.shape and not same:
    where = np.argwhere(a != b)
    print(f"   {len(where)} output(s) differ: " + ", ".join(
        f"window {w[0]}, output element {w[-1]}: {a[tuple(w)]} vs {b[tuple(w)]}" for w in where[:8]))
sys.exit(0 if same else 1)
PYEOF
  done
  return $rc
}
[ -n "$models" ] || { write_record "FAILED: no int8 model in edge/models"; exit 1; }
step parity parity
write_record "PASSED (Pi $PI emulation)"
echo "pi-check: all passed (Pi $PI emulation)"
