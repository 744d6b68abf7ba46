"""``cleartune train``: train the denoiser (seed or edge preset) on a dataset folder.

Resumes automatically when OUT already holds a checkpoint of the same configuration.
With ``TF_CONFIG`` set it trains with ``MultiWorkerMirroredStrategy`` (run the same
command on every worker).  TensorFlow is imported only inside :func:`run`.
"""
from __future__ import annotations

import argparse
import shlex
import sys


def _gain(s: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected LO,HI in dB, e.g. -24,6") from None
    if hi < lo:
        raise argparse.ArgumentTypeError("LO must not exceed HI")
    return lo, hi


def _dilations(s: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, e.g. 1,2,4,8,16") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=("seed", "edge", "pitch"), default="edge",
                        help="seed: the write-up's (512, 256) image autoencoder; edge: the streaming Pi model (default); "
                             "pitch: the guitar-pitch salience model (train/pitch_training.py; uses --epochs, "
                             "--batch-size, --steps-per-epoch, --max-examples, --seed, --schedule-epochs, "
                             "--learning-rate, --channels, --model-version)")
    parser.add_argument("--variant", choices=("mask", "magnitude", "polar", "complex"), default=None,
                        help="output representation (edge default: mask; seed: magnitude or polar, default magnitude)")
    parser.add_argument("--data", required=True, metavar="DIR", help="dataset folder (cleartune data build --out DIR)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (model.keras, model.json, checkpoint, history)")
    parser.add_argument("--epochs", type=int, default=10, help="total epochs (default 10); a resumed run continues to this count")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch (default: edge 128, seed 8)")
    parser.add_argument("--steps-per-epoch", type=int, default=None,
                        help="steps per epoch (default: edge: every clip's frames once per 4 hops; seed: every clip once)")
    parser.add_argument("--max-examples", type=int, default=None, help="use at most N training mixes (fixed subset)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; training is deterministic given it (default 0)")
    parser.add_argument("--schedule-epochs", type=int, default=None,
                        help="length of the cosine learning-rate decay in epochs (default: --epochs)")
    parser.add_argument("--learning-rate", type=float, default=None, help="initial Adam rate, cosine decay (default: edge 1e-3, seed 2e-4)")
    parser.add_argument("--clean-fraction", type=float, default=0.1,
                        help="fraction of training examples fed clean (noise-free), target unchanged (default 0.1)")
    parser.add_argument("--gain-db", type=_gain, default=(-24.0, 6.0), metavar="LO,HI",
                        help="random level change of edge examples in dB (default -24,6)")
    parser.add_argument("--no-gain", action="store_true", help="no level augmentation")
    parser.add_argument("--eq-db", type=float, default=6.0,
                        help="edge: largest random smooth spectral colouring in dB (default 6; 0: none)")
    parser.add_argument("--suppression-weight", type=float, default=1.0,
                        help="mask/magnitude loss: weight of removing guitar (estimate below target) vs leaving noise (default 1)")
    parser.add_argument("--clip-norm", type=float, default=None,
                        help="clip gradients to this global norm (default: off; 1 guards against a collapse "
                             "with a strong --suppression-weight)")
    parser.add_argument("--context-frames", type=int, default=None, help="edge: K frames of input (default 8)")
    parser.add_argument("--channels", type=int, default=None, help="edge: trunk width (default 40)")
    parser.add_argument("--time-channels", type=int, default=None,
                        help="edge: linear temporal filters applied to the K frames first (default 0: none)")
    parser.add_argument("--dilations", type=_dilations, default=None, help="edge: dilations of the residual blocks (default 1,2,4,8,16)")
    parser.add_argument("--model-version", default=None, help="version string stored in the sidecar (default PRESET-VARIANT-sSEED)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (one line per epoch)")


def config_from_args(args: argparse.Namespace):
    from cleartune.train.models import EdgeConfig
    from cleartune.train.training import TrainConfig

    variant = args.variant or ("mask" if args.preset == "edge" else "magnitude")
    ec = EdgeConfig()
    changes = {}
    if args.context_frames is not None:
        changes["context_frames"] = args.context_frames
    if args.channels is not None:
        changes["channels"] = args.channels
    if args.dilations is not None:
        changes["dilations"] = args.dilations
    if args.time_channels is not None:
        changes["time_channels"] = args.time_channels
    if changes:
        import dataclasses

        ec = dataclasses.replace(ec, **changes)
    return TrainConfig(preset=args.preset, variant=variant, epochs=args.epochs, batch_size=args.batch_size,
                       steps_per_epoch=args.steps_per_epoch, max_examples=args.max_examples, seed=args.seed,
                       learning_rate=args.learning_rate, clean_fraction=args.clean_fraction,
                       gain_db=None if args.no_gain else args.gain_db, eq_db=args.eq_db,
                       suppression_weight=args.suppression_weight, clip_norm=args.clip_norm,
                       schedule_epochs=args.schedule_epochs, edge=ec, model_version=args.model_version)


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.preset == "pitch":
        from cleartune.train.pitch_training import run_train_cli

        return run_train_cli(args)
    from cleartune.train.training import train

    cfg = config_from_args(args).resolved()
    command = " ".join(shlex.quote(a) for a in ["cleartune"] + sys.argv[1:])
    s = train(args.data, args.out, cfg, verbose=0 if args.quiet else 1, command=command)
    m = s["metrics"]
    if m:
        print(f"done: {s['epochs_done']} epochs, val feature MSE {m.get('val_feat_mse', float('nan')):.5f} "
              f"(rho/100 scale; seed target 0.001) -> {s['model']}")
    return 0
