#!/usr/bin/env bash
# The Raspberry Pi proof, under emulation: an aarch64 Debian bookworm CPython 3.11 (what
# Raspberry Pi OS Bookworm runs) via qemu-user with a Cortex-A72 (Pi 4; PI=5 for A76).
#   1. cleartune + its edge dependencies install on aarch64 from wheels, without TensorFlow;
#   2. the edge and firmware_bridge tests pass there;
#   3. the shipped int8 model gives bit-identical outputs on aarch64 and on this machine.
# Timings under emulation mean nothing; correctness does.  Needs ../shared/tools/arm64
# (or ARM64_TOOL=path/to/run-arm64.sh) and the Debian package qemu-user-static.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL="$(realpath -m "${ARM64_TOOL:-../shared/tools/arm64/run-arm64.sh}")"
REPO="$PWD"
PI="${PI:-4}"
PY="$(realpath -ms "${VENV:-.venv}/bin/python")"
[ -x "$TOOL" ] || { echo "pi-check: $TOOL not found (set ARM64_TOOL)" >&2; exit 1; }
if ! command -v qemu-aarch64-static >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq qemu-user-static >/dev/null
  else echo "pi-check: needs qemu-user-static: sudo apt-get install qemu-user-static" >&2; exit 1; fi
fi
[ -x "$PY" ] || scripts/setup.sh edge

work=$(mktemp -d /tmp/cleartune-pi.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== 1. build the cleartune wheel (pure Python) and install it on aarch64 with the edge extra's wheels"
"$PY" -m pip wheel -q --no-deps -w "$work/wheel" . >/dev/null
whl=$(ls "$work"/wheel/cleartune-*.whl)
# The edge extra minus pyaudio: on the Pi, PyAudio comes from Debian's python3-pyaudio
# (present in the emulated system, as with `apt install python3-pyaudio` on the Pi) or is
# built from source with portaudio19-dev; there is no aarch64 wheel of it on PyPI.
edge_deps=$("$PY" - <<'PYEOF'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["edge"]
print(" ".join(d.replace(" ", "") for d in deps if not re.match(r"(?i)pyaudio|tomli", d)))
PYEOF
)
echo "   edge deps: $edge_deps"
specs="$edge_deps pytest $whl"
# run from outside the checkout: its cleartune/ folder would shadow the installed package
cd "$work"
"$TOOL" --pi "$PI" --pip "$specs" -- -c "
import importlib.util, platform, cleartune, cleartune.edge.pipeline, cleartune.firmware_bridge.outputs, pyaudio
assert platform.machine() == 'aarch64', platform.machine()
assert importlib.util.find_spec('tensorflow') is None, 'tensorflow must not be installed on the edge'
print('aarch64 install ok: cleartune', cleartune.__version__, 'without tensorflow; pyaudio', pyaudio.__version__)
"

echo "== 2. edge and firmware_bridge tests on aarch64"
tests=${PI_TESTS:-$(cd "$REPO" && ls tests/test_params_features.py tests/test_edge_*.py tests/test_notes.py tests/test_pitch*.py tests/test_synth.py \
        tests/test_bridge*.py tests/test_serial*.py tests/test_gpio*.py tests/test_wire*.py tests/test_tui*.py 2>/dev/null | tr '\n' ' ')}
# run from a copy outside the checkout (no cleartune/ folder there), so the tests import the installed wheel
# (with the data files the tests read: the demo recording, the wire-format spec, the example config)
mkdir -p "$work/src" && cp -r "$REPO/tests" "$REPO/edge" "$REPO/firmware_bridge" "$work/src/"
(cd "$work/src" && "$TOOL" --pi "$PI" --pip "$specs" -- -m pytest -q -p no:cacheprovider -m "not tf" $tests)

echo "== 3. int8 parity: shipped model, fixed inputs, aarch64 vs $(uname -m)"
model="$REPO/edge/models/edge_int8.tflite"
if [ -f "$model" ]; then
  "$PY" "$REPO/scripts/int8_parity.py" "$model" --out "$work/x86.npy"
  "$TOOL" --pi "$PI" --pip "$specs" -- "$REPO/scripts/int8_parity.py" "$model" --out "$work/arm.npy"
  "$PY" - "$work/x86.npy" "$work/arm.npy" <<'PYEOF'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
same = np.array_equal(a, b)
print(f"int8 outputs: {a.size} values, identical: {same}, max |diff| = {np.abs(a.astype(int) - b.astype(int)).max()}")
sys.exit(0 if same else 1)
PYEOF
else
  echo "   no $model shipped yet: skipped"
fi
echo "pi-check: all passed (Pi $PI emulation)"
