"""``cleartune analyze FILE [FILE ...]``: note and cents from recordings, offline.

Every file goes through exactly the live path (:class:`~cleartune.edge.sources.FileSource`
blocks -> :class:`~cleartune.edge.pipeline.Tuner` -> readings); only the sink differs.
Output: a compact per-file summary of the notes heard (default), every reading as a
text line (``--verbose``), or JSON lines per :mod:`cleartune.edge.reading` (``--json``;
with several files each line carries ``file``).  A file that cannot be read gets a
one-line error on stderr, the others are still analysed, and the exit status is 1.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

#: A note shorter than this many readings is not listed in the summary.
MIN_SEGMENT_READINGS = 3
#: Readings without a note (or another note) that may interrupt a segment [readings].
MAX_SEGMENT_GAP = 2


def add_tuner_arguments(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """The analysis flags shared by ``analyze`` and ``run``.  With ``defaults=False`` they
    default to None (so a config file can supply them; the help names the built-in
    default).  Flags the parser already has are skipped."""
    have = set(parser._option_string_actions)  # noqa: SLF001 - do not clash with flags added elsewhere
    g = parser.add_argument_group("tuning")

    def add(flag: str, *, default, help: str, **kw) -> None:
        if flag in have:
            return
        if default is not None:
            help = f"{help} (default {default})"
            default = default if defaults else None
        g.add_argument(flag, default=default, help=help, **kw)

    add("--a4", type=float, default=440.0, metavar="HZ", help="reference pitch [Hz]")
    add("--mode", default="chromatic", metavar="MODE",
        help="chromatic (B0..C8), guitar or instrument (nearest string of --tuning), note (--target) "
             "or a note name such as A4")
    add("--tuning", default="standard", metavar="TUNING",
        help="tuning name (standard, drop-d, dadgad, 7-string, 8-string, bass, bass-5, bass-6, ukulele, "
             'ukulele-low-g, baritone-ukulele, ...) or notes "D2,A2,D3,G3,B3,E4"')
    add("--target", default=None, metavar="NOTE", help="target note for --mode note")
    add("--model", default=None, metavar="PATH",
        help="model .tflite (its .json sidecar beside it says how it runs: kind guitar-pitch names the note "
             "for the tracker once per reading, kind mask denoises every hop, e.g. edge/models/edge_int8.tflite); "
             "default: the shipped guitar-pitch model")
    if "--no-denoise" not in have:
        g.add_argument("--no-denoise", action="store_true", help="the tracker alone on the raw signal, no model")
    add("--threads", type=int, default=1, metavar="N", help="interpreter threads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV of any format and rate)")
    parser.add_argument("--json", action="store_true", help="JSON lines, one per reading (file key with several files)")
    add_tuner_arguments(parser)
    parser.add_argument("--block", type=int, default=None, metavar="N",
                        help="samples per block fed to the tuner (default 4 hops)")
    parser.add_argument("--verbose", "-v", action="store_true", help="every reading as a text line, and setup details")
    parser.add_argument("--stats", action="store_true", help="per-stage timings (median, p95) on stderr at the end")


@dataclass(frozen=True)
class Segment:
    """A stretch of readings showing one note: times [s], note, median cents and f0 [Hz]."""

    start: float
    end: float
    note: str
    cents: float
    f0_hz: float
    n: int


def summarize(readings: Sequence, *, min_readings: int = MIN_SEGMENT_READINGS,
              max_gap: int = MAX_SEGMENT_GAP) -> list[Segment]:
    """Group readings into note segments (a note held, interruptions of at most
    ``max_gap`` readings allowed); segments shorter than ``min_readings`` are dropped."""
    import numpy as np

    segs: list[Segment] = []
    cur: list = []
    gap = 0

    def close() -> None:
        if len(cur) >= min_readings:
            c = np.array([float(r.cents) for r in cur])
            f = np.array([float(r.f0_hz) for r in cur])
            segs.append(Segment(float(cur[0].t), float(cur[-1].t), cur[0].note, float(np.median(c)),
                                float(np.median(f)), len(cur)))

    for r in readings:
        if r.note is None:  # a short dropout does not end a note
            if cur:
                gap += 1
                if gap > max_gap:
                    close()
                    cur, gap = [], 0
            continue
        if cur and r.note != cur[0].note:
            close()
            cur = []
        cur.append(r)
        gap = 0
    close()
    return segs


def format_reading(r, *, file: Optional[str] = None) -> str:
    """One text line: time, note, cents, f0, confidence."""
    pre = f"{file}  " if file else ""
    if r.note is None:
        what = "out of range" if r.out_of_range else ""
        return f"{pre}{r.t:8.3f} s   -- {what:<32} conf {r.confidence:.2f}"
    return f"{pre}{r.t:8.3f} s   {r.note:<4} {r.cents:+7.2f} cents  {r.f0_hz:9.3f} Hz  conf {r.confidence:.2f}"


def format_summary(name: str, readings: Sequence, *, seconds: float) -> str:
    """Several lines: the file, how many readings, then one line per note segment."""
    with_note = sum(1 for r in readings if r.note is not None)
    lines = [f"{name}: {seconds:.2f} s, {len(readings)} readings ({with_note} with a note)"]
    segs = summarize(readings)
    n_out = sum(1 for r in readings if r.out_of_range)
    if not segs:
        lines.append("  out of range (a tone below B0 or above C8)" if n_out >= MIN_SEGMENT_READINGS
                     else "  no note detected")
    elif n_out >= MIN_SEGMENT_READINGS:
        lines.append(f"  ({n_out} readings out of range: a tone below B0 or above C8)")
    for s in segs:
        lines.append(f"  {s.start:7.2f}-{s.end:7.2f} s  {s.note:<4} {s.cents:+7.1f} cents  {s.f0_hz:9.2f} Hz")
    return "\n".join(lines)


class _Sink:
    def __init__(self, *, out, as_json: bool, verbose: bool, file: Optional[str]):
        self.out, self.as_json, self.verbose, self.file = out, as_json, verbose, file
        self.readings: list = []

    def write(self, reading, *, file: Optional[str] = None) -> None:
        self.readings.append(reading)
        if self.as_json:
            self.out.write(reading.to_json(file=self.file) + "\n")
        elif self.verbose:
            self.out.write(format_reading(reading, file=self.file) + "\n")

    def close(self) -> None:
        self.out.flush()


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


def run(args: argparse.Namespace) -> int:
    from .errors import CleartuneError
    from .pipeline import Stats, Tuner, TunerConfig, resolve_mode, run_stream
    from .sources import DEFAULT_BLOCK, FileSource

    err, out = sys.stderr, sys.stdout
    mode, target = resolve_mode(args.mode, args.target)
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.block is not None and args.block < 1:
        raise ValueError(f"--block must be >= 1, got {args.block}")
    cfg = TunerConfig(a4=args.a4, mode=mode, tuning=args.tuning, target=target, model=args.model,
                      denoise=not args.no_denoise, threads=args.threads or 1)
    tuner = Tuner(cfg)
    if tuner.notice:
        print(f"cleartune analyze: note: {tuner.notice}", file=err)
    if args.verbose:
        print(f"cleartune analyze: {tuner.describe()}", file=err)
    stats = Stats() if args.stats else None
    several = len(args.files) > 1
    rc = 0
    for path in args.files:
        try:
            source = FileSource(path, sample_rate=cfg.params.sample_rate, block=args.block or DEFAULT_BLOCK,
                                warn=lambda _key, line: print(f"cleartune analyze: warning: {line}", file=err))
        except (CleartuneError, OSError) as e:
            print(f"cleartune analyze: error: {_one_line(e)}", file=err)
            rc = 1
            continue
        tuner.reset()
        sink = _Sink(out=out, as_json=args.json, verbose=args.verbose, file=path if several else None)
        with source:
            if args.verbose and source.input_rate != source.sample_rate:
                print(f"cleartune analyze: {path}: resampled {source.input_rate} -> {source.sample_rate} Hz", file=err)
            res = run_stream(source, tuner, sink, stats=stats)
        sink.close()
        if res.nonfinite_samples:
            print(f"cleartune analyze: warning: {path}: {res.nonfinite_samples} NaN/inf samples replaced by silence",
                  file=err)
        if not args.json:
            out.write(format_summary(path, sink.readings, seconds=res.seconds) + "\n")
            out.flush()
    if stats is not None:
        print(stats.format(hop_ms=1000.0 * cfg.params.hop / cfg.params.sample_rate), file=err)
    return rc
