"""``cleartune data build|info``: make a training set, or describe one.

Examples::

    cleartune data build --out data/small --n-mixes 200                 # built-in generator
    cleartune data build --out data/holdout --holdout --snrs clean,10,5,0,-5 --n-mixes 300
    cleartune data build --out data/mine --guitar G/ --harmonic H/ --environmental E/
    cleartune data info data/small
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys

_DEF_NOTES = "40-88"


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: X)`` only where there is a default and the help text does not
    already describe it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS or "default" in text:
            return text
        return super()._get_help_string(action)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    b = sub.add_parser(
        "build",
        help="build (or resume) a dataset folder: mixes/, clean/, noise/, metadata.csv, dataset.json",
        description="Build a dataset: guitar clips mixed with harmonic and environmental noise at a known SNR, "
                    "with the guitar's true f0.  Each of guitar/harmonic/environmental comes from your folder when "
                    "given, else from the built-in offline generator (fluidsynth + FluidR3_GM, espeak-ng, "
                    "synthesized noise).  Re-running the same command resumes an interrupted build.",
        formatter_class=_Formatter,
    )
    b.add_argument("--out", required=True, metavar="DIR", help="dataset folder to create or resume")
    b.add_argument("--preset", choices=("seed", "edge"), default="edge", help="signal parameters (edge/params.py)")
    b.add_argument("--clip-seconds", type=float, default=None, metavar="S",
                   help="clip length (rounded to whole hops); default: the preset's clip_samples (2**16 samples)")
    b.add_argument("--n-mixes", type=int, default=None, metavar="N",
                   help="number of mixes (default: 200 with the generator, one per clip for --guitar)")
    b.add_argument("--seed", type=int, default=0, help="random seed: same seed and options give the same dataset")
    b.add_argument("--snr-min", type=float, default=-5.0, help="lowest SNR [dB] (uniform draw)")
    b.add_argument("--snr-max", type=float, default=20.0, help="highest SNR [dB] (uniform draw)")
    b.add_argument("--snrs", default=None, metavar="LIST",
                   help="fixed SNRs [dB], stratified (equal counts per split), e.g. clean,10,5,0,-5; "
                        "'clean' or 'inf' means no noise.  Overrides --snr-min/--snr-max")
    b.add_argument("--split", default=None, metavar="TRAIN,VAL,TEST",
                   help="split shares (default 80,10,10; 0,0,100 with --holdout)")
    b.add_argument("--guitar", default=None, metavar="DIR",
                   help="your guitar recordings (WAV/FLAC, any rate; f0 from DIR/notes.csv, a note name in the file "
                        "name, or measured)")
    b.add_argument("--harmonic", default=None, metavar="DIR", help="your harmonic noise (instruments, voices)")
    b.add_argument("--environmental", default=None, metavar="DIR", help="your environmental noise")
    b.add_argument("--generate", action="store_true",
                   help="generate the categories not given as folders (the default; accepted for clarity)")
    b.add_argument("--holdout", action="store_true",
                   help="draw from the disjoint evaluation pool: v1 -- guitars GM 26/27 (jazz, clean electric), "
                        "other instruments, other espeak-ng voices and languages, other noise streams; "
                        "v2 -- the v2 evaluation pool (see --generator)")
    b.add_argument("--generator", choices=("v1", "v2"), default="v1",
                   help="v2: leave-source-out pools (training: FluidR3 GM/GS, physical strings band a, five music "
                        "packages, asterisk fr/it, boswars; --holdout: OPL3, physical strings band b, singularity/asc/"
                        "colobot music, asterisk ru, colobot effects), domain randomization and hard cases "
                        "(train/data/README.md)")
    b.add_argument("--clean-share", type=float, default=None, metavar="F",
                   help="v2: share of clean mixes when SNRs are drawn uniformly (default 0.1)")
    b.add_argument("--physmod-per-note", type=int, default=None, metavar="N",
                   help="v2: physically modelled strings per note (default 4, 2 with --holdout)")
    g = b.add_argument_group("built-in generator")
    g.add_argument("--notes", default=None, metavar="LIST",
                   help="guitar MIDI notes: ranges and/or numbers, e.g. 40-88 or 40,45,50 (default 40-88; v2 35-88)")
    g.add_argument("--velocities", default=None, metavar="LIST",
                   help="MIDI velocities of the guitar plucks (default 60,85,110; v2 70,110, taking turns along the notes)")
    g.add_argument("--guitar-programs", default=None, metavar="LIST",
                   help="GM guitar programs (default: 24,25 for training, 26,27 with --holdout)")
    g.add_argument("--n-harmonic", type=int, default=None, metavar="N",
                   help="instrument scenes (default: n_mixes/10, 12..300)")
    g.add_argument("--n-voice", type=int, default=None, metavar="N", help="espeak-ng voice files (default: scenes/3)")
    g.add_argument("--n-env", type=int, default=None, metavar="N",
                   help="environmental noise files (default: n_mixes/10, 12..300)")
    g.add_argument("--noise-seconds", type=float, default=12.0, metavar="S", help="length of each noise source")
    g.add_argument("--soundfont", default=None, metavar="SF2", help="soundfont (default: /usr/share/sounds/sf2/FluidR3_GM.sf2)")
    m = b.add_argument_group("mixing")
    m.add_argument("--detune-cents", type=float, default=50.0, metavar="C",
                   help="the true f0 lies uniformly within +-C cents of its note (exact FFT resampling; 0: no detune)")
    m.add_argument("--level-db", default="-35,-3", metavar="LO,HI", help="clean clip peak range [dBFS]")
    m.add_argument("--silence-db", type=float, default=-60.0, metavar="DB",
                   help="drop guitar clips quieter than this RMS [dBFS]")
    b.add_argument("--jobs", type=int, default=1, help="worker processes")
    b.add_argument("--overwrite", action="store_true", help="delete an existing dataset in --out first")
    b.add_argument("--dry-run", action="store_true", help="print the plan and the estimated size, build nothing")
    b.add_argument("--quiet", action="store_true", help="no progress bars")

    i = sub.add_parser("info", help="summarise a dataset folder", description="Summarise a dataset folder.")
    i.add_argument("dir", metavar="DIR", help="dataset folder")
    c = sub.add_parser("card", help="dataset card: markdown tables (sources per split, counts, hours, SNR and "
                                    "noise-type histograms) and a PNG",
                       description="Print the dataset card of one or more v2 dataset folders as markdown "
                                   "(the tables of train/data/README.md) and optionally write its plot.")
    c.add_argument("dirs", nargs="+", metavar="DIR", help="dataset folders (e.g. data/v2 data/v2_eval)")
    c.add_argument("--png", default=None, metavar="PATH", help="also write the histograms as a PNG (matplotlib)")
    parser.set_defaults(_data_parser=parser)


def parse_int_list(text: str) -> tuple[int, ...]:
    """'40-43,50' -> (40, 41, 42, 43, 50)."""
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise ValueError(f"expected numbers or ranges like 40-88, not {text!r}") from None
    if not out:
        raise ValueError(f"empty list {text!r}")
    return tuple(out)


def parse_snrs(text: str) -> tuple[float, ...]:
    vals = []
    for p in text.split(","):
        p = p.strip().lower()
        if p in ("clean", "inf", "+inf"):
            vals.append(math.inf)
        else:
            try:
                vals.append(float(p))
            except ValueError:
                raise ValueError(f"--snrs expects numbers or 'clean', not {p!r}") from None
            if not math.isfinite(vals[-1]):
                raise ValueError(f"--snrs: {p!r} is not a usable SNR")
    if not vals:
        raise ValueError("--snrs is empty")
    return tuple(vals)


def config_from_args(args: argparse.Namespace):
    """A :class:`BuildConfig` from parsed ``build`` arguments."""
    from dataclasses import replace
    from pathlib import Path

    from cleartune.edge.params import preset

    from .build import BuildConfig
    from .sources import SOUNDFONT, GenerateSettings
    from .split import parse_fractions

    params = preset(args.preset)
    if args.clip_seconds is not None:
        if args.clip_seconds <= 0:
            raise ValueError("--clip-seconds must be positive")
        hops = max(1, int(round(args.clip_seconds * params.sample_rate / params.hop)))
        params = replace(params, clip_samples=hops * params.hop)
    if args.n_mixes is not None and args.n_mixes < 1:
        raise ValueError("--n-mixes must be at least 1")
    if args.snr_min > args.snr_max:
        raise ValueError("--snr-min is above --snr-max")
    if not 0 <= args.detune_cents <= 50:
        raise ValueError("--detune-cents must be within 0..50")
    if args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    lo_hi = [float(v) for v in args.level_db.split(",")]
    if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1] or lo_hi[1] > 0:
        raise ValueError("--level-db must be LO,HI with LO <= HI <= 0")
    fractions = parse_fractions(args.split if args.split else ("0,0,100" if args.holdout else "80,10,10"))
    n_ref = args.n_mixes if args.n_mixes is not None else 200
    n_harm = args.n_harmonic if args.n_harmonic is not None else min(300, max(12, n_ref // 10))
    n_env = args.n_env if args.n_env is not None else min(300, max(12, n_ref // 10))
    n_voice = args.n_voice if args.n_voice is not None else max(4, n_harm // 3)
    for name, v in (("--n-harmonic", n_harm), ("--n-env", n_env), ("--n-voice", n_voice)):
        if v < 0:
            raise ValueError(f"{name} must be >= 0")
    v2 = args.generator == "v2"
    notes = parse_int_list(args.notes or ("35-88" if v2 else _DEF_NOTES))
    if any(not 21 <= n <= 108 for n in notes):
        raise ValueError("--notes must be MIDI numbers within 21..108")
    vel = parse_int_list(args.velocities or ("60,85,110" if not v2 else "70,110"))
    if any(not 1 <= v <= 127 for v in vel):
        raise ValueError("--velocities must be within 1..127")
    gen = GenerateSettings(
        pool="holdout" if args.holdout else "train", notes=notes, velocities=vel,
        guitar_programs=parse_int_list(args.guitar_programs) if args.guitar_programs else None,
        n_harmonic=n_harm, n_voice=n_voice, n_env=n_env, noise_seconds=float(args.noise_seconds),
        soundfont=str(args.soundfont or SOUNDFONT),
    )
    if args.noise_seconds <= 0:
        raise ValueError("--noise-seconds must be positive")
    v2_settings = None
    clean_share = 0.0
    if v2:
        from .sources_v2 import default_v2

        v2_settings = replace(default_v2("eval" if args.holdout else "train"), notes=notes, velocities=vel,
                              noise_seconds=float(args.noise_seconds))
        if args.physmod_per_note is not None:
            if args.physmod_per_note < 0:
                raise ValueError("--physmod-per-note must be >= 0")
            v2_settings = replace(v2_settings, physmod_per_note=int(args.physmod_per_note))
        clean_share = 0.1 if args.clean_share is None else float(args.clean_share)
        if not 0 <= clean_share <= 1:
            raise ValueError("--clean-share must be within 0..1")
        if args.guitar or args.harmonic or args.environmental:
            raise ValueError("--generator v2 makes its own sources; --guitar/--harmonic/--environmental use v1")
        v1_only = [f for f, v in (("--n-harmonic", args.n_harmonic), ("--n-voice", args.n_voice), ("--n-env", args.n_env),
                                  ("--soundfont", args.soundfont)) if v is not None]
        if v1_only:
            raise ValueError(f"{', '.join(v1_only)}: not used by --generator v2 (its source counts are per pool)")
        if args.guitar_programs:
            v2_settings = replace(v2_settings, guitar_programs=parse_int_list(args.guitar_programs))
            if any(not 24 <= p <= 31 for p in v2_settings.guitar_programs):
                raise ValueError("--guitar-programs must be GM guitars within 24..31")
    elif args.clean_share is not None or args.physmod_per_note is not None:
        raise ValueError("--clean-share and --physmod-per-note need --generator v2")
    return BuildConfig(
        generator=args.generator, v2=v2_settings, clean_share=clean_share,
        out=Path(args.out), params=params, preset=args.preset, n_mixes=args.n_mixes, seed=int(args.seed),
        snr_min=float(args.snr_min), snr_max=float(args.snr_max),
        snrs=parse_snrs(args.snrs) if args.snrs else None, fractions=fractions,
        detune_cents=float(args.detune_cents), level_db=(lo_hi[0], lo_hi[1]), silence_db=float(args.silence_db),
        guitar_dir=Path(args.guitar) if args.guitar else None,
        harmonic_dir=Path(args.harmonic) if args.harmonic else None,
        env_dir=Path(args.environmental) if args.environmental else None,
        generate=gen, holdout=bool(args.holdout), jobs=int(args.jobs), progress=not args.quiet,
        command=_command_line(),
    )


def _command_line() -> str:
    """The command as typed (``cleartune ...``), or the program's argv when called otherwise."""
    from pathlib import Path

    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if prog.startswith("cleartune"):
        prog = "cleartune"
    return " ".join([prog, *(shlex.quote(a) for a in sys.argv[1:])])


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


def _build(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .build import default_n_mixes, estimate_bytes, remove_outputs
    from .builder import build_dataset

    config = config_from_args(args)
    if args.dry_run:
        n = default_n_mixes(config, None) if not config.guitar_dir else (config.n_mixes or 0)
        est = estimate_bytes(config, n_mixes=n)
        if config.generator == "v2":
            from .sources_v2 import estimate_source_bytes, plan_jobs

            g = replace(config.v2, pool="eval" if config.holdout else "train")
            jobs = plan_jobs(g, out_dir=config.out, sample_rate=config.params.sample_rate, seed=config.seed)
            src = estimate_source_bytes(g, jobs, sample_rate=config.params.sample_rate)
            est = {"mixes": est["mixes"], "sources": src, "total": est["mixes"] + src}
            print(f"generator v2, {g.pool} pool: {len(jobs)} source jobs")
        print(f"{n or 'one per clip'} mixes of {config.params.clip_samples} samples at {config.params.sample_rate} Hz "
              f"({config.params.clip_samples / config.params.sample_rate:.2f} s) into {config.out}")
        print(f"estimated size: {_fmt_bytes(est['total'])} (mixes {_fmt_bytes(est['mixes'])}, "
              f"generated sources {_fmt_bytes(est['sources'])})")
        return 0
    if args.overwrite and config.out.exists():
        remove_outputs(config.out)
    rep = build_dataset(config)
    parts = ", ".join(f"{k} {v}" for k, v in rep.counts.items() if k != "mixes")
    print(f"{config.out}: {rep.counts['mixes']} mixes ({parts}); {rep.made} made now; "
          f"{_fmt_bytes(rep.bytes)}; {rep.seconds:.0f} s")
    return 0


def _info(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from .build import dir_bytes
    from .dataset import load_info, load_metadata

    info = load_info(args.dir)
    rows = load_metadata(args.dir)
    sp = info.get("signal_params", {})
    print(f"{args.dir}: {len(rows)} mixes, preset {info.get('preset')}, {sp.get('sample_rate')} Hz, "
          f"clip {sp.get('clip_samples')} samples, seed {info.get('seed')}, pool {info.get('pool', {}).get('name')}"
          f"{'' if info.get('complete') else ' (INCOMPLETE)'}")
    for s in ("train", "val", "test"):
        rs = [r for r in rows if r["split"] == s]
        if not rs:
            continue
        snr = np.array([r["snr_db"] for r in rs], float)
        fin = snr[np.isfinite(snr)]
        f0 = np.array([r["f0_hz"] for r in rs], float)
        insts = sorted({r["instrument"] for r in rs})
        snr_txt = f"SNR {fin.min():.1f}..{fin.max():.1f} dB" if fin.size else "no noisy mixes"
        print(f"  {s:5s} {len(rs):6d} mixes  {len({(r['instrument'], r['midi']) for r in rs}):4d} notes  "
              f"f0 {f0.min():.1f}..{f0.max():.1f} Hz  {snr_txt}  clean {int(np.sum(~np.isfinite(snr)))}  "
              f"instruments {', '.join(insts)}")
    if any(r.get("guitar_source") for r in rows):          # generator v2: the pool's sources and noise mix
        from collections import Counter

        for col in ("guitar_source", "harmonic_source", "env_source", "noise_type", "hard_case"):
            c = Counter(r[col] for r in rows if r[col])
            print(f"  {col}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    err = np.array([abs(r["snr_measured_db"] - r["snr_db"]) for r in rows if math.isfinite(r["snr_db"])
                    and not (isinstance(r.get("clip_drive"), float) and math.isfinite(r["clip_drive"]))])
    if err.size:
        print(f"  SNR check: max |measured - requested| = {err.max():.2e} dB (soft-clipped mixes left out)")
    print(f"  size on disk {_fmt_bytes(dir_bytes(Path(args.dir)))}; built {info.get('finished', '?')} "
          f"in {info.get('build_seconds_last_run', '?')} s (last run)")
    if info.get("skipped_files"):
        print(f"  skipped input files: {len(info['skipped_files'])}")
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "data_command", None) == "build":
        return _build(args)
    if getattr(args, "data_command", None) == "info":
        return _info(args)
    if getattr(args, "data_command", None) == "card":
        from .card import card_markdown, card_png

        text, groups = card_markdown(args.dirs)
        print(text, end="")
        if args.png:
            card_png(groups, args.png)
            print(f"\n![dataset card]({args.png})")
        return 0
    args._data_parser.print_help(sys.stderr)
    return 2
