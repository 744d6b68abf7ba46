"""``cleartune report --float F.tflite --int8 Q.tflite --data DIR``: float vs int8 latency
and accuracy drop (markdown + JSON + PNG).  Runs without TensorFlow; matplotlib is
imported only for the plot."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _threads(s: str) -> list[int]:
    try:
        out = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated thread counts, got {s!r}") from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be >= 1, got {s!r}")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--float", dest="float_model", required=True, metavar="F.tflite",
                        help="the float model (float32 or float16 .tflite with its sidecar)")
    parser.add_argument("--int8", dest="int8_model", required=True, metavar="Q.tflite",
                        help="the int8 model (.tflite with its sidecar)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (cleartune data build)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="split to measure (default: test)")
    parser.add_argument("--out", metavar="DIR",
                        help="write NAME_report.md/.json/.png here (default: print the markdown only)")
    parser.add_argument("--windows", type=int, default=200, metavar="N",
                        help="windows timed per model and thread count, after warm-up (default: 200)")
    parser.add_argument("--threads", type=_threads, default=[1, 4], metavar="1,4",
                        help="LiteRT thread counts to time (default: 1,4)")
    parser.add_argument("--clips", type=int, default=60, metavar="N",
                        help="clips scored for accuracy, spread over the SNR range (0 = all; default: 60)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for choosing clips and windows")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    from .report import make_report, to_markdown, write_report

    command = " ".join(shlex.quote(a) for a in ["cleartune"] + sys.argv[1:])
    report = make_report(args.float_model, args.int8_model, data_dir=args.data, split=args.split,
                         windows=args.windows, threads=args.threads, clips=args.clips, seed=args.seed,
                         command=command, quiet=args.quiet)
    if args.out:
        stem = Path(args.int8_model).stem
        stem = (stem[: -len("_int8")] if stem.endswith("_int8") else stem) + "_report"
        paths = write_report(report, args.out, stem=stem, plot=not args.no_plot)
        for p in paths.values():
            print(p)
    else:
        print(to_markdown(report), end="")
    for t in report["targets"]:
        v = "-" if t["value"] is None else f"{t['value']:.4g}"
        print(f"{t['status'].upper():4}  {t['target']}: {v} {t['unit']} (<= {t['threshold']:g})"
              + (f" [{t['note']}]" if t.get("note") else ""), file=sys.stderr)
    return 0
