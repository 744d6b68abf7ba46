"""The ``cleartune`` command: thin argument parsing, one library call per subcommand.

Subcommands live in small modules (``<package>/cli_<name>.py``) exposing
``add_arguments(parser)`` and ``run(args) -> int``.  Those modules import nothing heavy
at import time, so every ``--help`` answers fast and never imports TensorFlow.
Errors derived from :class:`cleartune.edge.errors.CleartuneError` (and I/O errors) are
printed as one line; set ``CLEARTUNE_DEBUG=1`` for the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Optional, Sequence

from . import __version__

#: name -> (module, one-line help).  The module is imported only when the subcommand runs.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "data": ("cleartune.train.data.cli_data", "build a training set (built-in generator or your own folders)"),
    "train": ("cleartune.train.cli_train", "train the denoiser (seed or edge preset)"),
    "evaluate": ("cleartune.train.cli_evaluate", "evaluate a trained model: MSE, SI-SDR, tuner accuracy, plots"),
    "quantize": ("cleartune.quantize.cli_quantize", "convert a Keras model to int8 (and float) TFLite"),
    "report": ("cleartune.quantize.cli_report", "float vs int8: per-window latency and accuracy drop"),
    "analyze": ("cleartune.edge.cli_analyze", "read note and cents from audio files (the streaming path, offline)"),
    "run": ("cleartune.firmware_bridge.cli_run", "the live tuner loop: mic/file/stdin to stdout/serial/GPIO/terminal"),
    "bench": ("cleartune.bench.cli_bench", "benchmarks: per-stage latency, accuracy vs SNR, memory, soak"),
    "service": ("cleartune.firmware_bridge.cli_service", "install or show the headless systemd service"),
}


def _load(name: str):
    mod_name, _ = SUBCOMMANDS[name]
    return importlib.import_module(mod_name)


def build_parser(selected: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cleartune",
        description="cleartune: a guitar tuner that reads the right note and cents in a noisy room.",
        epilog="Run 'cleartune COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"cleartune {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        if name == selected:
            _load(name).add_arguments(p)
    return parser


def _selected(argv: Sequence[str]) -> Optional[str]:
    for a in argv:
        if a in SUBCOMMANDS:
            return a
        if not a.startswith("-"):
            return None
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = _selected(argv)
    try:
        parser = build_parser(selected)
    except ImportError as e:  # a subcommand's optional dependency is missing
        print(f"cleartune: error: {e} (install the matching extra, e.g. pip install 'cleartune[train]')", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from cleartune.edge.errors import CleartuneError

    try:
        rc = _load(args.command).run(args)
        return int(rc or 0)
    except KeyboardInterrupt:
        print("cleartune: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except (CleartuneError, OSError, ValueError, ImportError) as e:
        if os.environ.get("CLEARTUNE_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"cleartune {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except Exception as e:  # never a traceback for users; CLEARTUNE_DEBUG=1 shows it
        if os.environ.get("CLEARTUNE_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"cleartune {args.command}: internal error: {type(e).__name__}: {msg} (CLEARTUNE_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
