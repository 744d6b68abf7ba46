"""``cleartune evaluate MODEL --data DIR --out DIR``: report on a trained denoiser.

MODEL is a ``.keras`` or a ``.tflite`` file with its ``.json`` sidecar.  Writes
``report.md``, ``report.json`` and PNGs (see :mod:`cleartune.train.evaluation`).
TensorFlow is imported only inside :func:`run`, and only for ``.keras`` models.
"""
from __future__ import annotations

import argparse
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file: .keras or .tflite (with its .json sidecar)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (cleartune data build --out DIR)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="split to evaluate (default test)")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder")
    parser.add_argument("--max-examples", type=int, default=None, help="evaluate at most N clips (a fixed subset)")
    parser.add_argument("--clean-inputs", type=int, default=20, metavar="N",
                        help="also feed the clean guitar of N clips alone (bucket 'clean') if the split has no clean mixes (default 20)")
    parser.add_argument("--no-pitch", action="store_true", help="skip the downstream tuner metrics")
    parser.add_argument("--listen", type=int, default=3, help="listening examples to write (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="TFLite interpreter threads (default 1)")
    parser.add_argument("--history", default=None, metavar="JSON", help="training history (default: history.json next to MODEL)")
    parser.add_argument("--write-metrics", action="store_true", help="store the summary metrics in the model's sidecar")


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from cleartune.train.evaluation import evaluate_model

    def prog(i, n):
        if i == n or i % 25 == 0:
            print(f"  evaluated {i}/{n} clips", file=sys.stderr, flush=True)

    command = " ".join(shlex.quote(a) for a in ["cleartune"] + sys.argv[1:])
    r = evaluate_model(args.model, args.data, split=args.split, out_dir=args.out, max_examples=args.max_examples,
                       pitch=not args.no_pitch, listen=args.listen, num_threads=args.threads,
                       write_metrics=args.write_metrics, history=args.history, clean_inputs=args.clean_inputs,
                       command=command, progress=prog)
    a = r["buckets"]["all"]
    line = (f"{r['n_clips']} clips: feature MSE {r['feat_mse_denoised']:.5f} (noisy {r['feat_mse_noisy']:.5f}; "
            f"seed target < 0.001), SI-SDR gain {a['si_sdr_improvement'] if a['si_sdr_improvement'] is not None else float('nan'):+.1f} dB")
    if r["pitch"]:
        line += (f", note accuracy {a['tuner_raw']['note_accuracy']:.1%} alone -> "
                 f"{a['tuner_denoised']['note_accuracy']:.1%} with the denoiser")
    print(line)
    print(f"report: {os.path.join(args.out, 'report.md')}")
    return 0
