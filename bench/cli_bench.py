"""``cleartune bench``: benchmarks into ``bench/results/`` (see bench/README.md).

    cleartune bench [latency|accuracy|memory|soak|precision|glide|all] [--out bench/results] [--data data/holdout]
                    [--float-model M] [--int8-model M] [--threads 1,4] [--max-clips N] [--minutes M] ...

* ``latency``  -- per-hop and per-reading latency of every stage of the default pipeline
  (tracker + guitar-pitch model), the tracker alone, tracker + mask (float/int8) x threads
  and librosa.pyin side by side (interleaved); real-time factors, MACs and a Pi 4 estimate
  (``latency.md/json``);
* ``accuracy`` -- note accuracy / cents / octave errors vs SNR for our tuner with and without
  the denoisers, pyin and the harmonic-sum reference (``accuracy.md/json/png``);
* ``memory``   -- RSS of ``cleartune run --input FILE`` over time (``memory.json/md``);
* ``soak``     -- ``--minutes`` of generated audio through ``cleartune run``: no dropped
  windows, no exception, flat RSS (``soak.md/json``);
* ``precision`` -- differential precision on recorded notes (each resampled by exact ratios,
  the difference of the settled readings against the exact shift) for the default pipeline,
  ``--no-denoise``, the harmonic-sum reference and aubio's mcomb when installed, and the
  reference-oscillator table (``precision.md/json``);
* ``glide``    -- recorded notes bent by exact raised-cosine turns (5-25 cents over 0.4 s): share of
  readings within 3 cents during the turn, time to come and stay within 1 cent after it, and
  the stable needle (std over one second of steady tones and unbent notes) per system
  (``glide.md/json/png``);
* ``all``      -- latency, accuracy, memory and soak, in that order (the default).

Exit status: 0 when the benchmarks ran (missed speed/accuracy targets are reported, not
errors), 1 when a soak or memory check that is a correctness check failed (dropped windows,
an exception, growing memory, TensorFlow imported), 2 for bad arguments or missing inputs.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Optional

WHAT = ("latency", "accuracy", "memory", "soak", "precision", "glide", "all")
ALL = ("latency", "accuracy", "memory", "soak")
DEFAULT_OUT = "bench/results"
#: The latency audio's default dataset (accuracy's is :data:`cleartune.bench.accuracy.DEFAULT_DATA`).
LATENCY_DATA = "data/holdout"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=WHAT, default="all", help="which benchmark (default all)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="dataset folder (default: accuracy data/v2_eval, the leave-source-out pool; latency "
                             f"{LATENCY_DATA}, synthetic notes when it is missing)")
    parser.add_argument("--split", default=None, choices=("train", "val", "test"),
                        help="only mixes of this split (default: all mixes of --data)")
    parser.add_argument("--float-model", default=None, metavar="PATH",
                        help="float32 .tflite (default edge/models/edge_float32.tflite)")
    parser.add_argument("--int8-model", default=None, metavar="PATH",
                        help="int8 .tflite (default edge/models/edge_int8.tflite, the shipped mask; accuracy's "
                             "tracker+mask)")
    parser.add_argument("--threads", default="1,4", metavar="LIST",
                        help="interpreter thread counts for latency (default 1,4); accuracy, memory and soak use the first")
    parser.add_argument("--seed", type=int, default=0, help="clip selection and generated audio (default 0)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    g = parser.add_argument_group("latency")
    g.add_argument("--clips", type=int, default=8, metavar="N", help="clips streamed through the systems (default 8)")
    g.add_argument("--no-pyin", action="store_true", help="skip the librosa.pyin reference")
    parser.add_argument("--model", default=None, metavar="PATH",
                        help="the guitar-pitch model (.tflite): latency's default-pipeline systems guide@Nt, "
                             "accuracy's tracker+model (default: the shipped edge/models/guitar_pitch_int8.tflite; "
                             "skipped when there is none)")
    g = parser.add_argument_group("accuracy")
    g.add_argument("--max-clips", type=int, default=0, metavar="N",
                   help="clips scored, spread evenly over the SNRs (default 0 = all)")
    g.add_argument("--systems", default=None, metavar="LIST",
                   help="comma-separated subset of tracker,tracker+mask,tracker+model,harmonic_sum,pyin "
                        "(default all but pyin); glide: of default,no-denoise,harmonic_sum,aubio_mcomb (default all)")
    g.add_argument("--no-resume", action="store_true", help="start over instead of resuming an interrupted run")
    g = parser.add_argument_group("memory and soak")
    g.add_argument("--seconds", type=float, default=120.0, metavar="S", help="audio for the memory run (default 120)")
    g.add_argument("--interval", type=float, default=2.0, metavar="S",
                   help="RSS sampled every S seconds of processed audio (memory; default 2)")
    g.add_argument("--minutes", type=float, default=60.0, metavar="M", help="soak length in minutes of audio (default 60)")
    g.add_argument("--no-denoise", action="store_true", help="memory and soak without the denoiser")
    g.add_argument("--feed", choices=("file", "stdin"), default="file",
                   help="soak input: --input FILE (default) or the samples on stdin (--input -)")
    g = parser.add_argument_group("precision")
    g.add_argument("--max-notes", type=int, default=None, metavar="N",
                   help="distinct recorded notes of --data (precision: default 40, ~10 min here, ~20 with the "
                        "oscillators; glide: default 20; 0 = all); --data defaults to data/v2_eval if built, else "
                        "data/holdout")
    g.add_argument("--ratios", default=None, metavar="LIST",
                   help="resampling ratios p/q (default 440/441,441/440,99/100,100/99,1000/1001,50/51)")
    g.add_argument("--no-aubio", action="store_true", help="without the aubiopitch -p mcomb reference (also glide)")
    g.add_argument("--no-oscillators", action="store_true", help="without the reference-oscillator table")
    g = parser.add_argument_group("glide (also --max-notes, --systems, --no-aubio)")
    g.add_argument("--bends", default=None, metavar="LIST",
                   help="bend sizes in cents, one turn each per note (default 5,-5,10,-10,25,-25)")
    g.add_argument("--turn-s", type=float, default=0.4, metavar="S",
                   help="length of each turn in seconds (default 0.4: 25 cents peak at 98 cents/s)")
    g.add_argument("--no-steady", action="store_true", help="without the steady synthetic tones (stable needle)")


def _default_model(name: str) -> Path:
    from cleartune.edge.denoiser import MODELS_DIR

    return MODELS_DIR / name


def _resolve_model(given: Optional[str], default_name: str, *, flag: str, required: bool) -> Optional[Path]:
    from cleartune.edge.errors import ModelLoadError

    if given is not None:
        p = Path(given)
        if not p.is_file():
            raise ModelLoadError(f"{flag} {p}: no such file")
        return p
    p = _default_model(default_name)
    if p.is_file():
        return p
    if required:
        raise ModelLoadError(f"no trained model at {p}; pass {flag} PATH "
                             f"(e.g. tests/fixtures/models/tiny_mask_{'int8' if 'int8' in flag else 'float32'}.tflite)")
    return None


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces ``args`` (options that differ from the defaults)."""
    ref = argparse.ArgumentParser()
    add_arguments(ref)
    defaults = vars(ref.parse_args([]))
    parts = ["cleartune", "bench", args.what]
    for action in ref._actions:  # noqa: SLF001 - the parser's own list of options
        if not action.option_strings or action.dest == "help":
            continue
        v = getattr(args, action.dest, None)
        if v == defaults.get(action.dest):
            continue
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else action.option_strings[0]
        parts += [flag] if isinstance(v, bool) else [flag, str(v)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    from cleartune.bench.latency import parse_threads

    threads = parse_threads(args.threads)
    what = list(ALL) if args.what == "all" else [args.what]
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    out = Path(args.out)
    need_models = any(w in ("latency", "accuracy") for w in what)
    int8 = _resolve_model(args.int8_model, "edge_int8.tflite", flag="--int8-model",
                          required=not args.no_denoise or need_models)
    flt = _resolve_model(args.float_model, "edge_float32.tflite", flag="--float-model", required="latency" in what)
    cmd = _command(args)
    rc = 0
    for w in what:
        print(f"== cleartune bench {w}", flush=True)
        rc = max(rc, _RUNNERS[w](args, out=out, flt=flt, int8=int8, threads=threads, cmd=cmd, log=log))
    return rc


def _latency(args, *, out, flt, int8, threads, cmd, log) -> int:
    from cleartune.bench import latency as L

    guide = _guide_model(args.model)  # a bad --model is refused before any other work or message
    data = Path(args.data or LATENCY_DATA)
    if (data / "metadata.csv").is_file():
        clips, desc = L.dataset_clips(data, args.clips, seed=args.seed, split=args.split)
    else:
        log(f"latency: {data} has no dataset; using synthetic notes in noise")
        clips, desc = L.synthetic_clips(args.clips, seed=args.seed)
    if guide is None:
        log("latency: no guitar-pitch model shipped (edge/models/guitar_pitch_int8.tflite); "
            "the default pipeline (guide@Nt) is not measured")
    r = L.measure_latency(float_model=flt, int8_model=int8, guide_model=guide, threads=threads, clips=clips,
                          audio_desc=desc, with_pyin=not args.no_pyin, command=cmd, log=log)
    paths = L.write_latency(r, out)
    print("\n".join(L.summary_lines(r)))
    print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _guide_model(given: Optional[str]) -> Optional[Path]:
    """``--model`` (must exist), else the shipped guitar-pitch model, else None."""
    from cleartune.edge.guitar_model import DEFAULT_MODEL_NAME

    return _resolve_model(given, DEFAULT_MODEL_NAME, flag="--model", required=False)


def _accuracy(args, *, out, flt, int8, threads, cmd, log) -> int:
    from cleartune.bench import accuracy as A
    from cleartune.edge.errors import DataError

    systems = A.DEFAULT_SYSTEMS if not args.systems else tuple(s.strip() for s in args.systems.split(",") if s.strip())
    bad = [s for s in systems if s not in A.ALL_SYSTEMS]
    if bad:
        raise ValueError(f"unknown system(s) {', '.join(bad)}: choose from {', '.join(A.ALL_SYSTEMS)}")
    model = _guide_model(args.model)
    data = Path(args.data or A.DEFAULT_DATA)
    if args.data is None and not (data / "metadata.csv").is_file():
        raise DataError(f"{data}: the leave-source-out evaluation set is not built yet "
                        "(cleartune data build --generator v2 --holdout ...); pass --data DIR, e.g. data/holdout")
    r = A.evaluate_dataset(data, mask_model=int8, model=model, systems=systems, max_clips=args.max_clips,
                           split=args.split, seed=args.seed, threads=threads[0], partial_dir=out,
                           resume=not args.no_resume, command=cmd, log=log)
    paths = A.write_accuracy(r, out)
    print("\n".join(A.summary_lines(r)))
    print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _memory(args, *, out, flt, int8, threads, cmd, log) -> int:
    from cleartune.bench import memory as M

    r = M.measure_memory(model=int8, no_denoise=args.no_denoise, seconds=args.seconds, interval_s=args.interval,
                         threads=threads[0], seed=args.seed, command=cmd, log=log)
    paths = M.write_memory(r, out)
    print("\n".join(M.summary_lines(r)))
    print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    hard = [t for t in r["targets"] if t["target"].startswith(("no TensorFlow", "readings"))]
    return 1 if any(t["status"] == "fail" for t in hard) else 0


def _soak(args, *, out, flt, int8, threads, cmd, log) -> int:
    from cleartune.bench import soak as S

    r = S.run_soak(minutes=args.minutes, model=int8, no_denoise=args.no_denoise, threads=threads[0], seed=args.seed,
                   feed=args.feed, command=cmd, log=log, nice=10 if args.minutes > 5 else 0)
    paths = S.write_soak(r, out)
    print(f"  {r['line']}")
    print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    return 0 if r["ok"] else 1


def _precision(args, *, out, flt, int8, threads, cmd, log) -> int:
    from cleartune.bench import precision as P

    max_notes = P.DEFAULT_MAX_NOTES if args.max_notes is None else args.max_notes
    r = P.measure_precision(args.data or P.default_data(), max_notes=max_notes, ratios=P.parse_ratios(args.ratios),
                            threads=threads[0], with_aubio=not args.no_aubio, oscillators=not args.no_oscillators,
                            seed=args.seed, command=cmd, log=log)
    paths = P.write_precision(r, out)
    print("\n".join(P.summary_lines(r)))
    print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _glide(args, *, out, flt, int8, threads, cmd, log) -> int:
    from cleartune.bench import glide as G
    from cleartune.bench import precision as P

    systems = G.SYSTEMS if not args.systems else tuple(s.strip() for s in args.systems.split(",") if s.strip())
    bad = [s for s in systems if s not in G.SYSTEMS]
    if bad:
        raise ValueError(f"unknown system(s) {', '.join(bad)}: choose from {', '.join(G.SYSTEMS)}")
    if not (0.05 <= args.turn_s <= 2.0):
        raise ValueError(f"--turn-s {args.turn_s}: a turn lasts 0.05 to 2 seconds")
    max_notes = G.DEFAULT_MAX_NOTES if args.max_notes is None else args.max_notes
    r = G.measure_glide(args.data or P.default_data(), systems=systems, max_notes=max_notes,
                        bends=G.parse_bends(args.bends), turn_s=args.turn_s, model=args.model, threads=threads[0],
                        with_aubio=not args.no_aubio, steady=not args.no_steady, seed=args.seed, command=cmd, log=log)
    paths = G.write_glide(r, out)
    print("\n".join(G.summary_lines(r)))
    print(f"  wrote {', '.join(str(p) for p in paths.values())}")
    return 0


_RUNNERS: dict[str, Any] = {"latency": _latency, "accuracy": _accuracy, "memory": _memory, "soak": _soak,
                            "precision": _precision, "glide": _glide}
