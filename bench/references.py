"""Reference pitch trackers and the note-accuracy evaluation that compares them with ours.

* :func:`pyin_track`: librosa's probabilistic YIN (imported lazily), fmin/fmax spanning the
  guitar (60-1400 Hz).
* :func:`harmonic_sum_track`: the strong reference, a long-window harmonic-sum tracker as a
  user who writes their own would: 8192-sample Hann window ending at each reading, noise-
  whitened dB spectrum, harmonic sum over 8 partials (weights 1/sqrt(k)), interpolated partial
  peaks; textbook defaults, not tuned on an evaluation set.
* :func:`ours_track`: our Tuner run over a signal
  (:func:`cleartune.edge.pipeline.analyze_samples`, as ``cleartune analyze`` runs it), as
  ``(times, f0, midi)`` arrays.
* :func:`evaluate` / :func:`evaluate_items`: note accuracy (right note name), median /
  p95 absolute cents error (on readings with the right note), octave errors and voiced
  fraction for a list of ``(audio, true f0, onset)`` items, per tracker -- scored by the
  measures of :mod:`cleartune.train.measures` (settle rule, right note).

Every tracker here returns ``(t, f0)``: ``t`` float64 ``(n,)`` seconds (the time of the
newest sample a value depends on, or the frame centre for pyin), ``f0`` float64 ``(n,)``
Hz with ``nan`` where the tracker says "no note".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from cleartune.edge.params import EDGE
from cleartune.train.measures import SETTLE_S, judge, readings_that_count

#: Guitar range used by the references [Hz].
GUITAR_FMIN = 60.0
GUITAR_FMAX = 1400.0
#: librosa.pyin's frame [samples] (its default at 22050 Hz).
PYIN_FRAME = 2048

Track = Tuple[np.ndarray, np.ndarray]
Tracker = Callable[[np.ndarray], Track]


# -- references ---------------------------------------------------------------------------
def pyin_track(x: np.ndarray, *, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop,
               fmin: float = GUITAR_FMIN, fmax: float = GUITAR_FMAX, frame_length: int = PYIN_FRAME,
               center: bool = True) -> Track:
    """librosa.pyin f0 per hop (``nan`` when unvoiced); frames centred on ``k * hop`` (``center``),
    else frame ``k`` starts at ``k * hop`` (``(len(x) - frame_length) // hop + 1`` frames: what a
    streaming tuner built on pyin computes on the newest samples)."""
    import librosa  # lazy: heavy, and only a benchmark dependency

    x = np.asarray(x, dtype=np.float32).ravel()
    f0, voiced, _ = librosa.pyin(x, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame_length,
                                 hop_length=hop, center=center)
    f0 = np.where(voiced, f0, np.nan).astype(np.float64)
    t = (np.arange(len(f0)) * hop + (0 if center else frame_length // 2)) / sample_rate
    return t, f0


#: The harmonic-sum reference's defaults: window [samples at 22050 Hz], partials summed,
#: zero padding, the noise-floor block [bins], and how far above the floor a partial must
#: rise to count [dB] (and how many must).
HS_WINDOW = 8192
HS_PARTIALS = 8
HS_PAD = 2
HS_FLOOR_BLOCK = 64
HS_PARTIAL_DB = 6.0
HS_MIN_PARTIALS = 2


def _noise_floor_db(ldb: np.ndarray, block: int) -> np.ndarray:
    """Per-bin noise floor [dB] of log spectra ``ldb`` ``(frames, bins)``: the median of each
    block of ``block`` bins (a partial's peak fills a few bins of a block), linearly
    interpolated between block centres."""
    n, nb = ldb.shape
    m = nb // block
    med = np.median(ldb[:, : m * block].reshape(n, m, block), axis=2)
    centres = (np.arange(m) + 0.5) * block
    return np.stack([np.interp(np.arange(nb), centres, row) for row in med])


def harmonic_sum_track(x: np.ndarray, *, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop,
                       window: int = HS_WINDOW, fmin: float = GUITAR_FMIN, fmax: float = GUITAR_FMAX,
                       n_partials: int = HS_PARTIALS, grid_cents: float = 10.0, gate_dbfs: float = -90.0,
                       every: int = 1) -> Track:
    """A strong long-window harmonic-sum tracker, as a user who writes their own would
    (causal: each frame ends at its reading; one reading every ``every`` hops, like the tuner).

    Per reading: the newest ``window`` samples (8192 = 0.37 s at 22050 Hz), Hann window,
    magnitude spectrum zero-padded ``HS_PAD`` x, in dB, whitened by its noise floor
    (:func:`_noise_floor_db`: what rises above the noise is what counts, so a candidate an
    octave below gains nothing from its odd multiples, which fall on noise); salience of
    each candidate f0 on a ``grid_cents`` grid from ``fmin`` to ``fmax``: the sum over its
    first ``n_partials`` partials of the dB above the floor (0 below it, linear
    interpolation between bins), weighted ``1/sqrt(k)``; the best candidate, then its frequency
    from the interpolated peaks of its partials (parabolic on the dB spectrum, ``f_k / k``
    averaged with weights = dB above the floor, partials 1-3 that rise ``HS_PARTIAL_DB``
    above it).  No note (``nan``) when the newest 4 hops are below ``gate_dbfs`` (digital
    silence, the tuner's own silence level) or fewer
    than ``HS_MIN_PARTIALS`` of the best candidate's partials rise ``HS_PARTIAL_DB`` above
    the floor.  Defaults are textbook values, not tuned on an evaluation set."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n_fft = HS_PAD * window
    df = sample_rate / n_fft
    win = np.hanning(window)
    n_grid = int(1200 * math.log2(fmax / fmin) / grid_cents) + 1
    grid = fmin * 2.0 ** (np.arange(n_grid) * grid_cents / 1200)
    k = np.arange(1, n_partials + 1)
    pos = grid[:, None] * k[None, :] / df
    valid = pos < n_fft // 2 - 1
    pos = np.where(valid, pos, 0.0)
    i0 = np.floor(pos).astype(int)
    frac = pos - i0
    wk = np.where(valid, 1.0 / np.sqrt(k)[None, :], 0.0)
    padded = np.concatenate([np.zeros(window), x])
    hops = np.arange(every, len(x) // hop + 1, every)
    t = hops * hop / sample_rate
    f0 = np.full(len(hops), np.nan)
    chunk = 32
    for c0 in range(0, len(hops), chunk):
        hh = hops[c0:c0 + chunk]
        idx = (hh * hop)[:, None] + np.arange(window)[None, :]     # frame ends at hh*hop (in padded coords)
        frames = padded[idx]
        rms_db = 10 * np.log10(np.mean(frames[:, -hop * 4:] ** 2, axis=1) + 1e-20)
        ldb = 20 * np.log10(np.abs(np.fft.rfft(frames * win, n=n_fft, axis=1)) + 1e-12)
        above = np.maximum(ldb - _noise_floor_db(ldb, HS_FLOOR_BLOCK), 0.0)
        at = above[:, i0] * (1 - frac)[None] + above[:, i0 + 1] * frac[None]      # (frames, grid, partials)
        sal = np.sum(wk[None] * at, axis=2)
        best = np.argmax(sal, axis=1)
        for r, b in enumerate(best):
            if rms_db[r] < gate_dbfs or np.sum(at[r, b] >= HS_PARTIAL_DB) < HS_MIN_PARTIALS:
                continue
            f0[c0 + r] = _refine(ldb[r], above[r], grid[b], df=df)
    return t, f0


def _refine(ldb: np.ndarray, above: np.ndarray, f: float, *, df: float) -> float:
    """``f`` [Hz] refined from the interpolated peaks of its partials 1-3 (see
    :func:`harmonic_sum_track`)."""
    ests, wts = [], []
    for k in (1, 2, 3):
        c = k * f / df
        lo, hi = int(c * 2 ** (-30 / 1200)), int(math.ceil(c * 2 ** (30 / 1200)))   # +-30 cents
        if lo < 1 or hi >= len(ldb) - 1:
            continue
        j = lo + int(np.argmax(ldb[lo:hi + 1]))
        if above[j] < HS_PARTIAL_DB or j in (lo, hi):
            continue
        a, b_, c_ = ldb[j - 1], ldb[j], ldb[j + 1]
        den = a - 2 * b_ + c_
        d = 0.5 * (a - c_) / den if den < 0 else 0.0
        ests.append((j + d) * df / k)
        wts.append(above[j])
    return float(np.average(ests, weights=wts)) if ests else float(f)


def ours_track(x: np.ndarray, *, denoised: Optional[np.ndarray] = None, params=None):
    """Our Tuner over ``x`` (float ``(n,)`` at 22050 Hz) as ``(t, f0, midi)``: ``nan`` where
    no note is shown; ``midi`` is the MIDI number of the note *shown* (which, with
    hysteresis, may be the neighbour of the note nearest ``f0`` right on a boundary).
    ``denoised`` (aligned, or None) is fed to the tracker beside the raw signal;
    ``params``: ``PitchParams`` (None: the defaults)."""
    from cleartune.edge.pipeline import analyze_samples
    from cleartune.train.measures import reading_arrays, replay_tuner

    return reading_arrays(analyze_samples(x, replay_tuner(denoised, pitch=params)))


# -- evaluation ---------------------------------------------------------------------------
@dataclass
class Item:
    """One evaluation signal: mono ``audio`` float ``(n,)``, the true first-partial
    frequency ``f0_hz`` and the time the note starts ``onset_s`` [s]."""

    audio: np.ndarray
    f0_hz: float
    onset_s: float = 0.0
    name: str = ""
    denoised: Optional[np.ndarray] = None


@dataclass
class Scores:
    """Scores of one tracker over a set of items (readings pooled).

    note_accuracy   fraction of scored readings naming the right note (no note = wrong;
                    within BOUNDARY_CENTS of a boundary either neighbour is right)
    voiced          fraction of scored readings with a note
    wrong_note      fraction of scored readings naming a wrong note
    octave_errors   fraction of scored readings an octave (or more) off, same pitch class
    median_cents, p95_cents  absolute error [cents] over readings with the right note
    n               number of scored readings
    """

    note_accuracy: float
    voiced: float
    wrong_note: float
    octave_errors: float
    median_cents: float
    p95_cents: float
    n: int
    per_item_accuracy: List[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v)
             for k, v in self.__dict__.items() if k != "per_item_accuracy"}
        return d


def score_track(t: np.ndarray, f0: np.ndarray, *, true_f0: float, onset_s: float, settle_s: float = SETTLE_S,
                until_s: Optional[float] = None, a4: float = 440.0, midi: Optional[np.ndarray] = None):
    """Per-reading outcomes (:func:`cleartune.train.measures.judge`) of one track over the
    readings with ``onset_s + settle_s <= t (<= until_s)``: (right, voiced, octave, cents_error)."""
    t = np.asarray(t, dtype=np.float64)
    sel = t >= onset_s + settle_s
    if until_s is not None:
        sel &= t <= until_s
    return judge(np.asarray(f0, np.float64)[sel], true_f0=true_f0, a4=a4,
                 notes=None if midi is None else np.asarray(midi, np.float64)[sel])


def evaluate(items: Sequence[Item], trackers: Mapping[str, Tracker], *, until_s: Optional[float] = None,
             a4: float = 440.0, progress: bool = False) -> Dict[str, Scores]:
    """Run every tracker on every item and pool the readings that count
    (:func:`cleartune.train.measures.readings_that_count`, to ``until_s``, default the end)
    into :class:`Scores` per tracker.

    ``trackers`` maps a name to ``fn(item) -> (t, f0)`` or ``(t, f0, midi)`` (the notes the
    tracker names) -- use :func:`tracker_fns` for the standard three (ours, harmonic_sum,
    pyin)."""
    acc: Dict[str, dict] = {name: dict(right=[], voiced=[], octave=[], cents=[], per=[]) for name in trackers}
    for i, it in enumerate(items):
        if progress:
            print(f"\r  item {i + 1}/{len(items)}", end="", flush=True)
        for name, fn in trackers.items():
            out = fn(it)
            sel = readings_that_count(out[0], onset_s=it.onset_s)
            if until_s is not None:
                sel &= np.asarray(out[0]) <= until_s
            midi = out[2] if len(out) > 2 else None
            r, v, o, c = judge(np.asarray(out[1], np.float64)[sel], true_f0=it.f0_hz, a4=a4,
                               notes=None if midi is None else np.asarray(midi, np.float64)[sel])
            a = acc[name]
            a["right"].append(r)
            a["voiced"].append(v)
            a["octave"].append(o)
            a["cents"].append(c)
            a["per"].append(float(np.mean(r)) if len(r) else float("nan"))
    if progress:
        print()
    out: Dict[str, Scores] = {}
    for name, a in acc.items():
        right = np.concatenate(a["right"]) if a["right"] else np.zeros(0, bool)
        voiced = np.concatenate(a["voiced"]) if a["voiced"] else np.zeros(0, bool)
        octave = np.concatenate(a["octave"]) if a["octave"] else np.zeros(0, bool)
        cents = np.concatenate(a["cents"]) if a["cents"] else np.zeros(0)
        ce = np.abs(cents[np.isfinite(cents)])
        n = len(right)
        out[name] = Scores(
            note_accuracy=float(np.mean(right)) if n else float("nan"),
            voiced=float(np.mean(voiced)) if n else float("nan"),
            wrong_note=float(np.mean(voiced & ~right)) if n else float("nan"),
            octave_errors=float(np.mean(octave)) if n else float("nan"),
            median_cents=float(np.median(ce)) if len(ce) else float("nan"),
            p95_cents=float(np.percentile(ce, 95)) if len(ce) else float("nan"),
            n=n, per_item_accuracy=a["per"])
    return out


def tracker_fns(*, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop, names: Iterable[str] = ("ours", "harmonic_sum", "pyin"),
                reading_every: int = 4, use_denoised: bool = False) -> Dict[str, Callable[[Item], Track]]:
    """The standard trackers as ``fn(item) -> (t, f0)``.  The references are sampled every
    ``reading_every`` hops (the tuner's reading rate) so all are scored on the same times."""
    fns: Dict[str, Callable[[Item], Track]] = {}
    for name in names:
        if name == "ours":
            fns[name] = lambda it: ours_track(it.audio, denoised=it.denoised if use_denoised else None)
        elif name == "harmonic_sum":
            fns[name] = lambda it: harmonic_sum_track(it.audio, sample_rate=sample_rate, hop=hop, every=reading_every)
        elif name == "pyin":
            def _p(it: Item) -> Track:
                t, f = pyin_track(it.audio, sample_rate=sample_rate, hop=hop)
                return t[::reading_every], f[::reading_every]
            fns[name] = _p
        else:
            raise ValueError(f"unknown tracker {name!r}: choose ours, harmonic_sum, pyin")
    return fns


def format_table(scores: Mapping[str, Scores], *, title: str = "") -> str:
    """A markdown table of :class:`Scores` per tracker."""
    lines = []
    if title:
        lines.append(f"**{title}**\n")
    lines.append("| tracker | note acc | voiced | wrong note | octave err | median cents | p95 cents | readings |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for name, s in scores.items():
        lines.append(f"| {name} | {s.note_accuracy:.3f} | {s.voiced:.3f} | {s.wrong_note:.3f} | {s.octave_errors:.3f} "
                     f"| {s.median_cents:.3f} | {s.p95_cents:.3f} | {s.n} |")
    return "\n".join(lines)


# -- synthetic evaluation set -------------------------------------------------------------
NOISE_KINDS = ("orchestra", "speech", "babble", "pink", "white")


def make_noise(kind: str, duration: float, *, sample_rate: int = EDGE.sample_rate, seed=0) -> np.ndarray:
    """One of :data:`NOISE_KINDS` from :mod:`cleartune.train.synth`."""
    from cleartune.train import synth

    if kind == "orchestra":
        return synth.orchestra_like(duration, sample_rate=sample_rate, seed=seed)
    if kind == "speech":
        return synth.speech_like(duration, sample_rate=sample_rate, seed=seed)
    if kind == "babble":
        return synth.babble(duration, sample_rate=sample_rate, seed=seed)
    if kind == "pink":
        return synth.pink_noise(duration, sample_rate=sample_rate, seed=seed)
    if kind == "white":
        return synth.white_noise(duration, sample_rate=sample_rate, seed=seed)
    raise ValueError(f"unknown noise kind {kind!r}: choose one of {', '.join(NOISE_KINDS)}")


def synthetic_items(*, snr_db: float, n: int = 24, kinds: Sequence[str] = ("orchestra", "speech", "babble", "pink"),
                    duration: float = 3.0, sample_rate: int = EDGE.sample_rate, seed: int = 0,
                    midi_range: Tuple[int, int] = (40, 88)) -> List[Item]:
    """``n`` guitar-like notes (random note in ``midi_range``, detuned +-50 cents, random
    inharmonicity, brightness, pluck position, onset 0.2-0.8 s) mixed with the noise
    kinds in turn at ``snr_db`` (power over the whole clip)."""
    from cleartune.train import synth

    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        midi = int(rng.integers(midi_range[0], midi_range[1] + 1))
        cents = float(rng.uniform(-50, 50))
        onset = float(rng.uniform(0.2, 0.8))
        tone = synth.plucked_string(synth.detuned_hz(midi, cents), sample_rate=sample_rate, duration=duration,
                                    inharmonicity=float(10 ** rng.uniform(-5, -3.7)),
                                    brightness=float(rng.uniform(0.3, 1.2)),
                                    pluck_position=float(rng.uniform(0.08, 0.3)), onset_s=onset,
                                    seed=int(rng.integers(2 ** 31)))
        kind = kinds[i % len(kinds)]
        noise = make_noise(kind, duration, sample_rate=sample_rate, seed=int(rng.integers(2 ** 31)))
        mix = synth.mix_at_snr(tone.audio, noise, snr_db)
        items.append(Item(mix, tone.f1_hz, onset, name=f"{kind}-{i}"))
    return items


# -- comparisons ---------------------------------------------------------------------------
def dataset_items(folder: str, *, limit: Optional[int] = None, split: Optional[str] = None,
                  use_denoised: bool = False) -> List[Item]:
    """Items from a built dataset folder (``metadata.csv`` with ``mix_path, f0_hz, onset_s,
    snr_db``): the noisy mixes, the true f0, the onset (clipped at 0 for clips that start
    mid-note).  ``Item.snr_db`` is set from the metadata."""
    import csv
    from pathlib import Path

    from cleartune.edge.audio_io import load_for_model
    from cleartune.edge.errors import DataError

    root = Path(folder)
    meta = root / "metadata.csv"
    if not meta.exists():
        raise DataError(f"{root}: no metadata.csv (not a dataset folder)")
    with open(meta, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if split is not None:
        rows = [r for r in rows if r.get("split") == split]
    rows = rows[:limit] if limit is not None else rows
    items = []
    for r in rows:
        x = load_for_model(root / r["mix_path"], EDGE.sample_rate)
        onset = float(r.get("onset_s") or 0.0)
        it = Item(x, float(r["f0_hz"]), max(0.0, onset if math.isfinite(onset) else 0.0), name=r.get("id", ""))
        it.snr_db = float(r.get("snr_db") or "nan")      # type: ignore[attr-defined]
        items.append(it)
    return items


def compare(items: Sequence[Item], *, trackers: Sequence[str] = ("ours", "harmonic_sum", "pyin"),
            by_snr: bool = True, progress: bool = False) -> Dict[str, Dict[str, Scores]]:
    """Scores per tracker, overall (key ``"all"``) and, with ``by_snr``, per SNR level
    (items grouped by ``Item.snr_db`` rounded to whole dB, key ``"<snr> dB"``)."""
    fns = tracker_fns(names=trackers)
    out = {"all": evaluate(items, fns, progress=progress)}
    if by_snr:
        levels: Dict[str, List[Item]] = {}
        for it in items:
            s = getattr(it, "snr_db", float("nan"))
            key = "clean" if not math.isfinite(s) else f"{s:.0f} dB"
            levels.setdefault(key, []).append(it)
        if len(levels) > 1:
            for key, its in levels.items():
                out[key] = evaluate(its, fns)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m cleartune.bench.references``: compare the trackers on synthetic mixes
    (``--snr``) and/or a dataset folder (``--dataset``); prints markdown tables."""
    import argparse
    import time

    ap = argparse.ArgumentParser(prog="python -m cleartune.bench.references", description=main.__doc__)
    ap.add_argument("--snr", type=float, nargs="*", default=[5.0, 0.0, -5.0], help="synthetic mixes at these SNRs [dB]")
    ap.add_argument("--n", type=int, default=24, help="synthetic notes per SNR")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dataset", help="a dataset folder (metadata.csv + mixes/)")
    ap.add_argument("--limit", type=int, help="at most this many dataset clips")
    ap.add_argument("--trackers", default="ours,harmonic_sum,pyin")
    args = ap.parse_args(argv)
    names = [s.strip() for s in args.trackers.split(",") if s.strip()]
    for snr in args.snr:
        t0 = time.time()
        items = synthetic_items(snr_db=snr, n=args.n, seed=args.seed)
        res = evaluate(items, tracker_fns(names=names))
        print(format_table(res, title=f"synthetic, {snr:g} dB SNR, {len(items)} notes ({time.time() - t0:.0f} s)"))
        print()
    if args.dataset:
        t0 = time.time()
        items = dataset_items(args.dataset, limit=args.limit)
        res = compare(items, trackers=names)
        for key, sc in res.items():
            n_clips = len(next(iter(sc.values())).per_item_accuracy)
            print(format_table(sc, title=f"{args.dataset}: {key}, {n_clips} clips"))
            print()
        print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
