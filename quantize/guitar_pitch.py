"""int8 PTQ of the guitar-pitch model (``train/pitch_model.py``): one step, one int8 input
``[features, state]`` and one int8 output ``[salience, state]``, full-integer builtins.

    python -m cleartune.quantize.guitar_pitch runs/pitch/model.keras --data data/v2 --out edge/models/guitar_pitch_int8.tflite

The representative set is (features, state) pairs collected by running the float model
over training clips with its state carried, so the state's int8 range is the one it
reaches in use.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from cleartune.edge.errors import CleartuneError


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def export_int8(model_path, *, data_dir, out_path, n_clips: int = 64, per_clip: int = 8, seed: int = 0,
                command: str = "", log: Callable[[str], None] = print) -> Path:
    """int8 PTQ of the one-step model: the representative set is (features, state) pairs
    collected by running the float model over ``n_clips`` training clips (mix, clean and
    noise-only), ``per_clip`` readings of each.  Writes ``out_path`` + sidecar."""
    from cleartune.train.pitch_data import load_pitch_set
    from cleartune.train.pitch_training import load_step, run_step_model

    from . import tflite_info
    from .convert import convert_keras

    step, meta, fp = load_step(model_path)
    hidden = int(meta.extra["state_size"])
    ts = load_pitch_set(data_dir, split="train", fp=fp, seed=seed)
    rng = np.random.default_rng(seed)
    clips = rng.choice(len(ts), size=min(n_clips, len(ts)), replace=False)
    reps = []
    for j, i in enumerate(clips):
        v = ("mix", "mix", "clean", "noise")[j % 4]
        col: list = []
        run_step_model(step, ts.variant(v)[i], hidden=hidden, collect=col)
        pick = rng.choice(len(col), size=min(per_clip, len(col)), replace=False)
        reps.extend(col[k] for k in sorted(pick))
    reps = np.stack(reps)
    log(f"export: {len(reps)} representative (features, state) inputs from {len(clips)} clips")
    blob = convert_keras(step, "int8", representative=reps[:, None])
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    from cleartune.edge.fileio import atomic_write_bytes

    atomic_write_bytes(out, blob)
    info = tflite_info.inspect_tflite(out)
    m = dataclasses.replace(meta, dtype="int8", input={**info.input, "meaning": meta.input.get("meaning")},
                            output={**info.output, "meaning": meta.output.get("meaning")},
                            macs_per_inference=int(info.macs), created=_now(), command=command or meta.command,
                            extra={**meta.extra, "op_counts": info.op_counts,
                                   "source": {"file": Path(model_path).name, "model_version": meta.model_version},
                                   "calibration": {"data": str(data_dir), "clips": int(len(clips)),
                                                   "inputs": int(len(reps))}})
    m.save_for(out)
    log(f"export: wrote {out} ({info.bytes:,} bytes, {info.macs:,} MAC per call, ops {info.op_counts})")
    return out



def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cleartune.quantize.guitar_pitch", description=__doc__.splitlines()[0])
    ap.add_argument("model", help="trained model.keras (+ sidecar) of cleartune train --preset pitch")
    ap.add_argument("--data", required=True, help="dataset whose training clips calibrate")
    ap.add_argument("--out", required=True, help="output .tflite path (its sidecar is written next to it)")
    ap.add_argument("--clips", type=int, default=64, help="training clips run for the representative set (default 64)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cmd = " ".join(["python -m cleartune.quantize.guitar_pitch"] + list(sys.argv[1:] if argv is None else argv))
    try:
        export_int8(args.model, data_dir=args.data, out_path=args.out, n_clips=args.clips, seed=args.seed, command=cmd)
    except CleartuneError as e:
        print(f"guitar_pitch: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
