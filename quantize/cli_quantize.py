"""``cleartune quantize MODEL.keras --calib DATA_DIR --out DIR``: int8 (full-integer) and
float TFLite files with sidecars.  TensorFlow is imported only inside :func:`run`."""
from __future__ import annotations

import argparse
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.keras", help="trained Keras model (its sidecar MODEL.json next to it)")
    parser.add_argument("--calib", required=True, metavar="DATA_DIR",
                        help="dataset folder (cleartune data build) whose training mixes calibrate the int8 ranges")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder for the .tflite files and sidecars")
    parser.add_argument("--name", default="edge", help="file name stem: DIR/NAME_int8.tflite ... (default: edge)")
    parser.add_argument("--calib-windows", type=int, default=500, metavar="N",
                        help="representative windows, spread over all SNRs (default: 500)")
    parser.add_argument("--calib-split", default="train", choices=("train", "val", "test"),
                        help="split the calibration windows come from (default: train)")
    parser.add_argument("--variants", default="int8,float32,float16",
                        help="comma-separated subset of int8,float32,float16,dynamic (default: int8,float32,float16)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for choosing calibration windows")
    parser.add_argument("--debug", action="store_true",
                        help="also write a per-layer int8 error analysis (NAME_int8_debug.md/.json; slow)")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    from .convert import quantize_model

    command = " ".join(shlex.quote(a) for a in ["cleartune"] + sys.argv[1:])
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    results = quantize_model(args.model, calib_dir=args.calib, out_dir=args.out, name=args.name,
                             calib_windows=args.calib_windows, variants=variants, split=args.calib_split,
                             seed=args.seed, command=command, quiet=args.quiet)
    for r in results:
        vs = r.check.get("vs_float32") or r.check.get("vs_keras")
        ref = "float32" if "vs_float32" in r.check else "Keras"
        print(f"{r.path}  {r.info.bytes:>9,} bytes  {r.info.macs:>12,} MACs  in {r.info.input['dtype']} "
              f"out {r.info.output['dtype']}  max|diff| vs {ref} {vs['max_abs']:.4f}")
    if args.debug:
        from .debug import analyze_layers

        md, _js = analyze_layers(args.model, calib_dir=args.calib, out_dir=args.out, name=args.name,
                                 calib_windows=args.calib_windows, split=args.calib_split, seed=args.seed,
                                 quiet=args.quiet)
        print(f"per-layer analysis: {md}")
    return 0
