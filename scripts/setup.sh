#!/usr/bin/env bash
# Set up cleartune on a fresh Debian/Ubuntu machine: system packages (apt, as root or via
# sudo), then a virtual environment in .venv with the package installed in editable mode.
#
#   scripts/setup.sh edge   # what a Pi needs: numpy, scipy, LiteRT, pyaudio, pyserial, gpiozero
#   scripts/setup.sh all    # + TensorFlow, plots and the test tools (train, dev extras)
#
# Idempotent: a second run only checks.  PYTHON=python3.11 picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
PY="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

apt_pkgs=(python3-venv python3-dev gcc portaudio19-dev)
if [ "$what" = all ]; then
  # the built-in data generator and its tests: guitars from a soundfont, voices, audio tools
  apt_pkgs+=(fluidsynth fluid-soundfont-gm espeak-ng sox)
  # generator v2 (issue 12's list; any other packaged audio is reserved for independent evaluation):
  # soundfonts, recorded speech, music (Ogg/MP3, decoded by python-soundfile) and sound effects
  apt_pkgs+=(fluid-soundfont-gs opl3-soundfont
             asterisk-core-sounds-fr-wav asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav
             ufoai-music nexuiz-music hyperrogue-music singularity-music drascula-music
             planetblupi-music-ogg asc-music boswars-data colobot-common-sounds)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3-venv is only needed when the chosen interpreter has no working venv
if "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv}"); missing=("${missing[@]/python3-dev}")
fi
read -r -a missing <<< "${missing[*]:-}"
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run as root (or with sudo): apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pip's output goes to a log file; on failure its tail is shown with the file's name
log="$VENV/setup-pip.log"
quiet() {  # quiet CMD...: run CMD, output appended to $log; on failure show its tail
  if ! "$@" >>"$log" 2>&1; then
    tail -n 25 "$log" >&2
    echo "setup: failed: $* (full log: $log)" >&2
    exit 1
  fi
}
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
  : >"$log"
  quiet "$VENV/bin/pip" install --upgrade pip
fi
extras="edge"
[ "$what" = all ] && extras="edge,train,dev"
stamp="$VENV/.cleartune-$extras-$(sha256sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing cleartune[$extras] into $VENV (first time: a few minutes; log: $log)"
  quiet "$VENV/bin/pip" install --disable-pip-version-check -e ".[$extras]"
  touch "$stamp"
fi
