#!/usr/bin/env bash
# Rebuild the shipped edge denoiser from scratch (what `make model` runs):
#
#   1. data      cleartune data build        data/edge (2000 mixes) + data/holdout (held-out
#                                            instruments and voices, fixed SNRs), fixed seeds
#   2. train     cleartune train --preset edge --variant mask   -> runs/model/edge/ (6 epochs, ~30 min)
#   3. publish   edge/models/edge_float.keras + edge_float.json
#   4. quantize  cleartune quantize ...      -> edge/models/edge_int8.tflite (+ .json) ...
#   5. evaluate  cleartune evaluate          float and int8 on the holdout set -> runs/model/eval_*
#                                            (the float model's metrics go into its sidecar)
#
# Deterministic given the seeds; every step resumes or skips work already done, so an
# interrupted run is continued by running it again.  About 1.5 h on 2 CPU cores.
# Settings (environment): BIN (where cleartune is, default .venv/bin), DATA, HOLDOUT,
# RUNS, EPOCHS, SCHEDULE_EPOCHS, SEED, JOBS (data build processes), NICE (niceness, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-.venv/bin}"
CT="$BIN/cleartune"
PY="$BIN/python"
DATA="${DATA:-data/edge}"
HOLDOUT="${HOLDOUT:-data/holdout}"
RUNS="${RUNS:-runs/model}"
EPOCHS="${EPOCHS:-6}"
SCHEDULE_EPOCHS="${SCHEDULE_EPOCHS:-12}"   # the shipped model: a 12-epoch cosine schedule stopped after 6
SEED="${SEED:-0}"
JOBS="${JOBS:-2}"
NICE="${NICE:-10}"
MODELS=edge/models
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

run() { echo "+ $*" >&2; nice -n "$NICE" "$@"; }
stamp() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

[ -x "$CT" ] || { echo "make_model: $CT not found; run 'make setup' first (or set BIN)" >&2; exit 1; }
mkdir -p "$RUNS" "$MODELS"

stamp "1/5 data"
# same commands, same seeds -> the same datasets; a finished build is only checked
run "$CT" data build --out "$DATA" --n-mixes 2000 --velocities 50,75,100,120 --seed 0 --jobs "$JOBS"
run "$CT" data build --out "$HOLDOUT" --holdout --snrs clean,10,5,0,-5 --n-mixes 300 --seed 0 --jobs "$JOBS"

stamp "2/5 train (resumes from $RUNS/edge if interrupted)"
run "$CT" train --preset edge --variant mask --data "$DATA" --out "$RUNS/edge" --epochs "$EPOCHS" --schedule-epochs "$SCHEDULE_EPOCHS" --seed "$SEED" \
    --model-version "edge-mask-v1-s$SEED" --quiet

stamp "3/5 publish"
run "$PY" -m cleartune.train.publish "$RUNS/edge/model.keras" "$MODELS/edge_float.keras"

stamp "4/5 quantize"
run "$CT" quantize "$MODELS/edge_float.keras" --calib "$DATA" --out "$MODELS" --name edge

stamp "5/5 evaluate"
run "$CT" evaluate "$MODELS/edge_float.keras" --data "$HOLDOUT" --out "$RUNS/eval_float" \
    --history "$RUNS/edge/history.json" --write-metrics
run "$CT" evaluate "$MODELS/edge_int8.tflite" --data "$HOLDOUT" --out "$RUNS/eval_int8" \
    --history "$RUNS/edge/history.json"
stamp "done: $MODELS/edge_float.keras, $MODELS/edge_int8.tflite; reports in $RUNS/eval_float, $RUNS/eval_int8"
