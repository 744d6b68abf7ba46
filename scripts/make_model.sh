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
#   6. pitch data  cleartune data build --generator v2   data/v2 (training pool) + data/v2_eval
#                                            (leave-source-out evaluation pool, fixed SNRs)
#   7. pitch train cleartune train --preset pitch  -> runs/model/pitch/ (the guitar-pitch salience model)
#   8. pitch ship  python -m cleartune.quantize.guitar_pitch (int8 PTQ) -> edge/models/guitar_pitch_int8.tflite,
#                  python -m cleartune.train.publish (float .keras), model-alone evaluation -> runs/model/pitch_eval
#                  (its settled figures go into both sidecars)
#
# PITCH_ONLY=1 runs steps 6-8 only (the guitar-pitch model), DENOISER_ONLY=1 steps 1-5 only.
# Deterministic given the seeds; every step resumes or skips work already done, so an
# interrupted run is continued by running it again.  About 1.5 h on 2 CPU cores.
# Settings (environment): BIN (where cleartune is, default .venv/bin), DATA, HOLDOUT,
# RUNS, EPOCHS, SCHEDULE_EPOCHS, SEED, JOBS (data build processes), NICE (niceness, default 10),
# PITCH_DATA, PITCH_EVAL, PITCH_EPOCHS.
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

PITCH_DATA="${PITCH_DATA:-data/v2}"
PITCH_EVAL="${PITCH_EVAL:-data/v2_eval}"
PITCH_EPOCHS="${PITCH_EPOCHS:-12}"

[ -x "$CT" ] || { echo "make_model: $CT not found; run 'make setup' first (or set BIN)" >&2; exit 1; }
mkdir -p "$RUNS" "$MODELS"

if [ "${PITCH_ONLY:-0}" != 1 ]; then

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
fi

if [ "${DENOISER_ONLY:-0}" != 1 ]; then
stamp "6/8 guitar-pitch data (v2 training pool and leave-source-out evaluation pool)"
run "$CT" data build --generator v2 --out "$PITCH_DATA" --n-mixes 3000 --split 90,10,0 --snr-min -10 --snr-max 20 \
    --clip-seconds 4 --jobs "$JOBS"
run "$CT" data build --generator v2 --holdout --out "$PITCH_EVAL" --n-mixes 400 --snrs clean,10,5,0,-5 \
    --guitar-programs 24,25,26,27,28,29,30 \
    --clip-seconds 4 --jobs "$JOBS"

stamp "7/8 guitar-pitch train (resumes from $RUNS/pitch if interrupted)"
# the shipped run: 5 epochs of a 7-epoch cosine schedule, then resumed to 12 epochs on a 12-epoch
# schedule (the machine got faster); both commands are deterministic, a finished phase is skipped
run "$CT" train --preset pitch --data "$PITCH_DATA" --out "$RUNS/pitch" --epochs 5 --schedule-epochs 7 \
    --seed "$SEED" --model-version "guitar-pitch-v1-s$SEED"
run "$CT" train --preset pitch --data "$PITCH_DATA" --out "$RUNS/pitch" --epochs "$PITCH_EPOCHS" \
    --schedule-epochs "$PITCH_EPOCHS" --seed "$SEED" --model-version "guitar-pitch-v1-s$SEED"

stamp "8/8 guitar-pitch ship: int8 PTQ, float copy, model-alone evaluation"
run "$PY" -m cleartune.quantize.guitar_pitch "$RUNS/pitch/model.keras" --data "$PITCH_DATA" \
    --out "$MODELS/guitar_pitch_int8.tflite"
run "$PY" -m cleartune.train.publish "$RUNS/pitch/model.keras" "$MODELS/guitar_pitch_float.keras"
run "$PY" -m cleartune.train.pitch_training evaluate "$MODELS/guitar_pitch_float.keras" \
    --int8 "$MODELS/guitar_pitch_int8.tflite" --data "$PITCH_EVAL" --split test --out "$RUNS/pitch_eval" --write-metrics
stamp "done: $MODELS/guitar_pitch_int8.tflite (+ float .keras); report in $RUNS/pitch_eval/report.md"
fi
