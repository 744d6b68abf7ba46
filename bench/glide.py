"""``cleartune bench glide``: does the needle follow the peg, and hold still when the pitch holds?

Tuning is a gesture: pluck, turn the peg, watch the needle follow while the string rings.
This benchmark bends recorded notes by an **exact**, known curve and scores every reading
against a **differential** truth, as ``cleartune bench precision`` does for constant shifts.

* **Exact bends** (:func:`bend_curve`, :func:`warp`): a raised-cosine turn of ``D`` cents
  over ``turn_s`` seconds starting ``TURN_AFTER_ONSET_S`` after the pluck,
  ``c(t) = D/2 (1 - cos(pi (t - start) / turn))`` inside the turn, 0 before, ``D`` after
  (peak rate ``pi D / (2 turn)`` cents/s: 25 cents over 0.4 s = 98 c/s).  The note ``x`` is
  played back with a time-varying rate ``r(n) = 2**(c(n)/1200)``: ``y[n] = x(phi(n))``,
  ``phi`` the running integral of ``r`` (:func:`phase_map`), ``x`` evaluated between its
  samples by band-limited (Kaiser-windowed sinc) interpolation.  The pitch of ``y`` at time
  ``t`` is then exactly the pitch of ``x`` at time ``phi(t)`` times ``r(t)``, at every instant.
* **Truth is differential** (:func:`differential_truth`): ``x`` and ``y`` are read through
  the same reader; the truth for a reading of ``y`` at time ``t`` (a reading's time is its
  newest sample) is ``x``'s reading at time ``phi(t)`` (interpolated linearly in cents
  between its two neighbouring readings, both showing a note and at most ``NEAR_S`` apart)
  plus ``c(t)``.  Readings of ``y`` without such a truth are not scored; a scored reading
  that shows no note is a miss.  Error = reading - truth [cents].  A reading that lags the
  turn is wrong by the lag: what a player sees.
* **During the turn** (:func:`within_share`): the share of scored readings in
  ``[start, start + turn]`` within ``WITHIN_TURN_CENTS`` (3) of the truth.
* **After the turn** (:func:`settle_time`): the smallest ``tau >= 0`` such that every scored
  reading from ``end + tau`` to ``end + AFTER_S`` (0.8 s) shows a note within
  ``SETTLE_CENTS`` (1) of the truth, taken at a reading (the first of the final run of good
  readings; 0 when all are good; inf when the last one is bad).
* **Stable needle** (:func:`needle_std`): the standard deviation of the readings' cents over
  one second from ``STABLE_FROM_S`` after the onset, only readings that show a note: steady
  sines and harmonic tones (:mod:`cleartune.train.synth`) at E2, A2, A4, E4, E5, and the
  unbent recorded notes.

Systems: ``default`` (the tuner as ``cleartune analyze`` runs it), ``no-denoise``,
``harmonic_sum`` and ``aubio_mcomb`` (when Debian's aubio-tools is installed) -- the readers of
:mod:`cleartune.bench.precision`.  Results: ``glide.md``, ``glide.json``, ``glide.png``.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from cleartune.bench.precision import SYSTEMS, Reader
from cleartune.edge.params import EDGE

#: Bend sizes D [cents] per note, the turn's length [s] and where it starts [s after the pluck].
DEFAULT_BENDS: Tuple[float, ...] = (5.0, -5.0, 10.0, -10.0, 25.0, -25.0)
TURN_S = 0.4
TURN_AFTER_ONSET_S = 0.6
#: After the turn: how long the settle rule watches [s].
AFTER_S = 0.8
#: Recorded notes read by default.
DEFAULT_MAX_NOTES = 20
#: Scoring tolerances [cents]: during the turn, and "settled" after it.
WITHIN_TURN_CENTS = 3.0
SETTLE_CENTS = 1.0
#: A bend that never settles while its note is read for less than this after the turn [s]
#: (the note dies: the unbent note's readings stop) is counted apart ("never, short").
SHORT_WATCH_S = 0.4
#: The truth needs x's two neighbouring readings around phi(t) at most this far apart [s].
NEAR_S = 0.1
#: Stable needle: the one-second window, from this long after the onset [s].
STABLE_FROM_S = 0.5
STABLE_LEN_S = 1.0
STEADY_NOTES = ("E2", "A2", "A4", "E4", "E5")
STEADY_KINDS = ("sine", "harmonic")
STEADY_ONSET_S = 0.3
#: Targets of issue 13.
TARGETS = {"settle_s": 0.060, "within_turn": 0.85, "max_rate_cents_per_s": 100.0, "steady_std_cents": 0.02,
           "recorded_std_cents": 0.3}
#: The band-limited interpolator: zero crossings of the sinc on each side, cutoff (a fraction
#: of Nyquist) and the Kaiser window's beta.
SINC_ZEROS = 32
SINC_CUTOFF = 0.9
KAISER_BETA = 8.6


# -- exact bends ----------------------------------------------------------------------------------
def bend_curve(t: np.ndarray, *, start_s: float, turn_s: float, cents: float) -> np.ndarray:
    """The bend ``c(t)`` [cents] at times ``t`` [s]: 0 before ``start_s``, the raised cosine
    ``cents/2 (1 - cos(pi (t - start_s) / turn_s))`` inside the turn, ``cents`` after it."""
    t = np.asarray(t, np.float64)
    u = np.clip((t - start_s) / turn_s, 0.0, 1.0)
    return 0.5 * cents * (1.0 - np.cos(np.pi * u))


def peak_rate(*, turn_s: float, cents: float) -> float:
    """The bend's steepest rate [cents/s], at the middle of the turn: ``pi |D| / (2 turn)``."""
    return math.pi * abs(cents) / (2.0 * turn_s)


def phase_map(c: np.ndarray) -> np.ndarray:
    """``phi(n)`` [samples of x] for a bend sampled per output sample ``c`` [cents] ``(n,)``:
    the running integral of ``r = 2**(c/1200)`` with ``phi(0) = 0`` (trapezoidal: ``phi(n) =
    phi(n-1) + (r(n-1) + r(n)) / 2``, so ``phi'(n) = r(n)`` to second order).  float64 ``(n,)``."""
    r = 2.0 ** (np.asarray(c, np.float64) / 1200.0)
    phi = np.zeros(len(r))
    if len(r) > 1:
        phi[1:] = np.cumsum(0.5 * (r[1:] + r[:-1]))
    return phi


def interpolate(x: np.ndarray, pos: np.ndarray, *, zeros: int = SINC_ZEROS, cutoff: float = SINC_CUTOFF,
                beta: float = KAISER_BETA, chunk: int = 4096) -> np.ndarray:
    """``x`` ``(m,)`` evaluated at fractional sample positions ``pos`` ``(n,)`` by band-limited
    interpolation: a sinc low-passed at ``cutoff`` x Nyquist, ``zeros`` zero crossings on each
    side, Kaiser window (``beta``); zeros outside ``x``.  float64 ``(n,)``."""
    from scipy.special import i0

    x = np.asarray(x, np.float64)
    pos = np.asarray(pos, np.float64)
    half = zeros / cutoff                        # the kernel's half width [samples]
    k_lo, k_hi = -int(math.ceil(half)), int(math.ceil(half)) + 1
    offs = np.arange(k_lo, k_hi)
    pad = len(offs) + 1
    xp = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    norm = 1.0 / i0(beta)
    out = np.empty(len(pos))
    for a in range(0, len(pos), chunk):
        p = pos[a:a + chunk]
        base = np.floor(p).astype(np.int64)
        d = (p - base)[:, None] - offs[None, :]          # distance from each tap [samples]
        inside = np.abs(d) < half
        w = i0(beta * np.sqrt(np.clip(1.0 - (d / half) ** 2, 0.0, 1.0))) * norm
        h = np.where(inside, cutoff * np.sinc(cutoff * d) * w, 0.0)
        idx = np.clip(base[:, None] + offs[None, :] + pad, 0, len(xp) - 1)
        out[a:a + chunk] = np.sum(h * xp[idx], axis=1)
    return out


def warp(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``x`` ``(m,)`` bent by ``c`` [cents per output sample, ``(>= n,)``]: ``y[n] = x(phi(n))``
    (:func:`phase_map`, :func:`interpolate`), for every ``n`` with ``phi(n)`` inside ``x``.
    The pitch of ``y`` at ``n`` is the pitch of ``x`` at ``phi(n)`` times ``2**(c(n)/1200)``.
    float32 ``(n,)``."""
    x = np.asarray(x)
    phi = phase_map(c)
    n = int(np.searchsorted(phi, len(x) - 1, side="right"))
    return interpolate(x, phi[:n]).astype(np.float32)


def bend_of(n_samples: int, *, start_s: float, turn_s: float, cents: float,
            sample_rate: int = EDGE.sample_rate) -> np.ndarray:
    """:func:`bend_curve` at every sample ``0..n_samples-1`` [cents]."""
    return bend_curve(np.arange(n_samples) / sample_rate, start_s=start_s, turn_s=turn_s, cents=cents)


# -- the differential truth and the figures ----------------------------------------------------------
def _cents(f: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1200.0 * np.log2(np.asarray(f, np.float64) / 440.0)


def differential_truth(ty: np.ndarray, *, tx: np.ndarray, fx: np.ndarray, phi: np.ndarray, c: np.ndarray,
                       sample_rate: int = EDGE.sample_rate, near_s: float = NEAR_S) -> np.ndarray:
    """The truth [Hz] for readings of the bent note at times ``ty`` [s]: ``x``'s reading
    (``tx`` [s], ``fx`` [Hz, nan = none]) at time ``phi(ty)``, linear in cents between its two
    neighbouring readings (both with a note, at most ``near_s`` apart), plus ``c(ty)``
    [cents].  ``phi`` [samples of x] and ``c`` [cents] per sample of the bent note (beyond
    their end: held).  nan where there is no truth.  ``(len(ty),)``."""
    ty = np.asarray(ty, np.float64)
    tx = np.asarray(tx, np.float64)
    cx = _cents(fx)
    n = ty * sample_rate
    grid = np.arange(len(phi), dtype=np.float64)
    u = np.interp(n, grid, phi) / sample_rate                 # x's time at each reading of y [s]
    if len(phi) and np.any(n > grid[-1]):                      # held past the end: slope r
        over = n > grid[-1]
        u[over] = (phi[-1] + (n[over] - grid[-1]) * 2.0 ** (c[-1] / 1200.0)) / sample_rate
    cy = np.interp(n, grid, c)
    j = np.searchsorted(tx, u, side="right")                  # tx[j-1] <= u < tx[j]
    out = np.full(len(ty), np.nan)
    ok = (j >= 1) & (j < len(tx))
    i0, i1 = np.clip(j - 1, 0, max(len(tx) - 1, 0)), np.clip(j, 0, max(len(tx) - 1, 0))
    if not len(tx):
        return out
    ok &= np.isfinite(cx[i0]) & np.isfinite(cx[i1]) & (tx[i1] - tx[i0] <= near_s)
    exact = (j >= 1) & (np.abs(tx[i0] - u) < 1e-12) & np.isfinite(cx[i0])   # on a reading (also the last)
    span = np.where(tx[i1] > tx[i0], tx[i1] - tx[i0], 1.0)
    w = np.clip((u - tx[i0]) / span, 0.0, 1.0)
    cu = np.where(exact, cx[i0], (1 - w) * cx[i0] + w * cx[i1])
    sel = ok | exact
    out[sel] = 440.0 * 2.0 ** ((cu[sel] + cy[sel]) / 1200.0)
    return out


def errors_cents(fy: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Reading - truth [cents]; nan where either is missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1200.0 * np.log2(np.asarray(fy, np.float64) / np.asarray(truth, np.float64))


def within_share(t: np.ndarray, err: np.ndarray, scored: np.ndarray, *, start_s: float, end_s: float,
                 tol: float = WITHIN_TURN_CENTS) -> Tuple[float, int, int]:
    """Among the scored readings with ``start_s <= t <= end_s``: ``(share within tol, hits, n)``;
    a scored reading with no note (``err`` nan) is a miss.  Share nan when ``n == 0``."""
    t = np.asarray(t, np.float64)
    sel = np.asarray(scored, bool) & (t >= start_s) & (t <= end_s)
    e = np.asarray(err, np.float64)[sel]
    n = int(sel.sum())
    hits = int(np.sum(np.isfinite(e) & (np.abs(e) <= tol)))
    return (hits / n if n else float("nan")), hits, n


def settle_time(t: np.ndarray, err: np.ndarray, scored: np.ndarray, *, end_s: float, after_s: float = AFTER_S,
                tol: float = SETTLE_CENTS) -> float:
    """Seconds after ``end_s`` from which every scored reading up to ``end_s + after_s`` shows
    a note within ``tol`` cents (``err`` nan = no note = bad): 0 when all are good, else the
    time of the first reading after the last bad one less ``end_s``; inf when the last
    reading is bad; nan when no reading in the window is scored."""
    t = np.asarray(t, np.float64)
    sel = np.asarray(scored, bool) & (t >= end_s) & (t <= end_s + after_s)
    tw = t[sel]
    e = np.asarray(err, np.float64)[sel]
    if not len(tw):
        return float("nan")
    good = np.isfinite(e) & (np.abs(e) <= tol)
    if good.all():
        return 0.0
    last_bad = int(np.flatnonzero(~good)[-1])
    if last_bad == len(tw) - 1:
        return float("inf")
    return float(tw[last_bad + 1] - end_s)


def needle_std(t: np.ndarray, f0: np.ndarray, *, from_s: float, length_s: float = STABLE_LEN_S) -> Tuple[float, int, int]:
    """The standard deviation [cents] of the readings with a note in ``[from_s, from_s +
    length_s]``: ``(std, readings with a note, readings)``; nan with fewer than 2."""
    t = np.asarray(t, np.float64)
    sel = (t >= from_s) & (t <= from_s + length_s)
    c = _cents(np.asarray(f0, np.float64)[sel])
    c = c[np.isfinite(c)]
    return (float(np.std(c)) if len(c) >= 2 else float("nan")), int(len(c)), int(sel.sum())


# -- one note ------------------------------------------------------------------------------------------
def glide_note(x: np.ndarray, *, onset_s: float, readers: Dict[str, Reader], bends: Sequence[float] = DEFAULT_BENDS,
               turn_s: float = TURN_S, sample_rate: int = EDGE.sample_rate,
               keep_traces: Sequence[float] = ()) -> Dict[str, Any]:
    """One recorded note ``x`` (pluck at ``onset_s`` [s]) bent by each of ``bends`` [cents]:
    per bend and system the share within 3 cents during the turn and the settle time; per
    system the stable-needle std of the unbent note.  ``keep_traces``: bends whose readings
    are kept for the figure."""
    start = onset_s + TURN_AFTER_ONSET_S
    end = start + turn_s
    read_x = {name: rd(x) for name, rd in readers.items()}
    stable = {}
    for name, (tx, fx) in read_x.items():
        s, n_note, n_all = needle_std(tx, fx, from_s=onset_s + STABLE_FROM_S)
        stable[name] = {"std_cents": s, "readings_with_note": n_note, "readings": n_all}
    rows, traces = [], []
    for d in bends:
        c = bend_of(len(x), start_s=start, turn_s=turn_s, cents=d, sample_rate=sample_rate)
        phi = phase_map(c)
        y = warp(x, c)
        row: Dict[str, Any] = {"cents": float(d), "peak_rate_cents_per_s": peak_rate(turn_s=turn_s, cents=d),
                               "start_s": start, "end_s": end, "systems": {}}
        tr: Dict[str, Any] = {"cents": float(d), "start_s": start, "end_s": end, "systems": {}}
        for name, rd in readers.items():
            ty, fy = rd(y)
            tx, fx = read_x[name]
            truth = differential_truth(ty, tx=tx, fx=fx, phi=phi, c=c, sample_rate=sample_rate)
            scored = np.isfinite(truth)
            err = errors_cents(fy, truth)
            share, hits, n = within_share(ty, err, scored, start_s=start, end_s=end)
            tau = settle_time(ty, err, scored, end_s=end)
            after = scored & (ty >= end) & (ty <= end + AFTER_S)
            row["systems"][name] = {"within_turn": share, "turn_hits": hits, "turn_readings": n, "settle_s": tau,
                                    "watched_s": float(ty[after].max() - end) if after.any() else float("nan"),
                                    "scored": int(scored.sum()), "readings": int(len(ty))}
            if d in keep_traces:
                win = (ty >= start - 0.3) & (ty <= end + AFTER_S)
                # the bend as the system reads it: reading - x's reading at phi(t) [cents]
                bend_read = err + bend_curve(ty, start_s=start, turn_s=turn_s, cents=d)
                miss = win & scored & ~np.isfinite(fy)
                tr["systems"][name] = {"t": ty[win].tolist(), "bend_cents": bend_read[win].tolist(),
                                       "no_note_t": ty[miss].tolist()}
        rows.append(row)
        if d in keep_traces:
            traces.append(tr)
    return {"bends": rows, "stable": stable, "traces": traces}


# -- steady synthetic tones ------------------------------------------------------------------------------
def steady_tones(readers: Dict[str, Reader], *, notes: Sequence[str] = STEADY_NOTES,
                 kinds: Sequence[str] = STEADY_KINDS, log: Callable[[str], None] = lambda m: None) -> List[Dict[str, Any]]:
    """Stable needle on steady tones (:func:`cleartune.train.synth.sine` /
    ``harmonic_series``, onset ``STEADY_ONSET_S``): per tone and system the std [cents] of the
    readings over one second from ``STABLE_FROM_S`` after the onset."""
    from cleartune.edge.notes import note_to_hz
    from cleartune.train import synth as S

    rows = []
    for note in notes:
        for kind in kinds:
            f = note_to_hz(note)
            dur = STEADY_ONSET_S + STABLE_FROM_S + STABLE_LEN_S + 0.3
            x = S.sine(f, duration=dur, onset_s=STEADY_ONSET_S) if kind == "sine" else \
                S.harmonic_series(f, duration=dur, onset_s=STEADY_ONSET_S)
            row: Dict[str, Any] = {"note": note, "kind": kind, "f_hz": f, "systems": {}}
            for name, rd in readers.items():
                s, n_note, n_all = needle_std(*rd(x), from_s=STEADY_ONSET_S + STABLE_FROM_S)
                row["systems"][name] = {"std_cents": s, "readings_with_note": n_note, "readings": n_all}
            rows.append(row)
        log(f"  glide: steady tones {note} done")
    return rows


# -- summaries -------------------------------------------------------------------------------------------
def _fin(v: Sequence[float]) -> np.ndarray:
    a = np.asarray([x for x in v if x is not None], np.float64)
    return a[np.isfinite(a)]


def follow_stats(rows: Sequence[Dict[str, Any]], name: str) -> Dict[str, Any]:
    """Per system over bend rows: during the turn (median share over bends, pooled share,
    readings) and after it (settle median, p90 -- a bend's own value, never ones count --,
    share <= the 60 ms target, never settled -- and of those, how many had their note read for less
    than ``SHORT_WATCH_S`` after the turn --, bends without a scored reading after the turn)."""
    per = [r["systems"][name] for r in rows if name in r["systems"]]
    shares = _fin([p["within_turn"] for p in per])
    hits = sum(p["turn_hits"] for p in per)
    n = sum(p["turn_readings"] for p in per)
    taus = np.asarray([p["settle_s"] for p in per], np.float64)
    measured = taus[~np.isnan(taus)]
    return {
        "bends": len(per),
        "within_turn_median": float(np.median(shares)) if len(shares) else None,
        "within_turn_pooled": hits / n if n else None,
        "turn_readings": n,
        "settle_median_s": float(np.median(measured)) if len(measured) else None,
        "settle_p90_s": float(np.percentile(measured, 90, method="higher")) if len(measured) else None,
        "settle_within_target": float(np.mean(measured <= TARGETS["settle_s"])) if len(measured) else None,
        "never_settled": int(np.sum(np.isinf(measured))),
        "never_short": int(sum(1 for p in per if math.isinf(p["settle_s"])
                               and not (p.get("watched_s", math.inf) >= SHORT_WATCH_S))),
        "settle_unscored": int(np.sum(np.isnan(taus))),
    }


def std_stats(entries: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Median and max std [cents] over tones or notes, with the counts: items with a std,
    items, readings with a note, readings."""
    s = _fin([e["std_cents"] for e in entries])
    return {"median": float(np.median(s)) if len(s) else None, "max": float(s.max()) if len(s) else None,
            "n": int(len(s)), "items": len(entries), "readings_with_note": sum(e["readings_with_note"] for e in entries),
            "readings": sum(e["readings"] for e in entries)}


def targets_for(f: Dict[str, Any], steady: Dict[str, Any], recorded: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The issue-13 targets for one system: ``{"target", "value", "pass"}`` each."""
    def chk(v, ok):
        return None if v is None else bool(ok(v))

    T = TARGETS
    return [
        {"target": f"within {SETTLE_CENTS:g} cent <= {T['settle_s'] * 1000:.0f} ms after the turn (median settle)",
         "value": f["settle_median_s"], "pass": chk(f["settle_median_s"], lambda v: v <= T["settle_s"])},
        {"target": f">= {T['within_turn'] * 100:.0f} % within {WITHIN_TURN_CENTS:g} cents during the turn (pooled)",
         "value": f["within_turn_pooled"], "pass": chk(f["within_turn_pooled"], lambda v: v >= T["within_turn"])},
        {"target": f"steady tone std <= {T['steady_std_cents']} cent (max over tones)",
         "value": steady.get("max"), "pass": chk(steady.get("max"), lambda v: v <= T["steady_std_cents"])},
        {"target": f"recorded note std <= {T['recorded_std_cents']} cent (median over notes)",
         "value": recorded.get("median"), "pass": chk(recorded.get("median"), lambda v: v <= T["recorded_std_cents"])},
    ]


# -- the whole benchmark -----------------------------------------------------------------------------------
def measure_glide(data: str | Path, *, systems: Sequence[str] = SYSTEMS, max_notes: int = DEFAULT_MAX_NOTES,
                  bends: Sequence[float] = DEFAULT_BENDS, turn_s: float = TURN_S, model: Optional[str] = None,
                  threads: int = 1, with_aubio: bool = True, steady: bool = True, seed: int = 0, command: str = "",
                  log: Callable[[str], None] = lambda m: None) -> Dict[str, Any]:
    from cleartune.bench import precision as P
    from cleartune.edge.errors import DataError
    from cleartune.provenance import provenance

    readers = P.readers_for(systems, model=model, threads=threads, with_aubio=with_aubio)
    if not readers:
        raise ValueError("no system to run (aubio_mcomb alone needs aubiopitch: apt install aubio-tools)")
    need = TURN_AFTER_ONSET_S + turn_s + AFTER_S + 0.1
    notes = P.recorded_notes(data, max_notes=max_notes, seed=seed, after_s=max(need, STABLE_FROM_S + STABLE_LEN_S))
    if not notes:
        raise DataError(f"{data}: no recorded note with {need:.1f} s after its pluck")
    bends = [float(b) for b in bends]
    examples = _example_keys(len(notes), bends)
    log(f"glide: {len(notes)} recorded notes of {data} x bends {', '.join(f'{b:+g}' for b in bends)} cents over "
        f"{turn_s} s, systems {', '.join(readers)}")
    rows: List[Dict[str, Any]] = []
    stable_rec: Dict[str, List[Dict[str, Any]]] = {name: [] for name in readers}
    traces: List[Dict[str, Any]] = []
    t0 = time.perf_counter()
    for i, n in enumerate(notes):
        keep = [d for (k, d) in examples if k == i]
        g = glide_note(n["audio"], onset_s=n["onset_s"], readers=readers, bends=bends, turn_s=turn_s, keep_traces=keep)
        for r in g["bends"]:
            r.update({"id": n["id"], "recording": n["recording"], "note": n["note"]})
            rows.append(r)
        for name, s in g["stable"].items():
            stable_rec[name].append({"id": n["id"], "note": n["note"], **s})
        for tr in g["traces"]:
            tr.update({"id": n["id"], "recording": n["recording"], "note": n["note"]})
            traces.append(tr)
        log(f"  glide: note {i + 1}/{len(notes)} {n['note']} ({time.perf_counter() - t0:.0f} s)")
    steady_rows = steady_tones(readers, log=log) if steady else []
    summary: Dict[str, Any] = {}
    for name in readers:
        f = follow_stats(rows, name)
        st = std_stats([r["systems"][name] for r in steady_rows])
        rec = std_stats(stable_rec[name])
        by_size = {}
        for d in sorted({abs(b) for b in bends}):
            by_size[f"{d:g}"] = follow_stats([r for r in rows if abs(r["cents"]) == d], name)
            by_size[f"{d:g}"]["peak_rate_cents_per_s"] = peak_rate(turn_s=turn_s, cents=d)
        summary[name] = {"follow": f, "by_size": by_size, "steady": st, "recorded": rec,
                         "targets": targets_for(f, st, rec)}
    return {
        "benchmark": "glide",
        "data": str(data),
        "pipelines": {name: getattr(rd, "describe", "") for name, rd in readers.items() if hasattr(rd, "describe")},
        "notes": [{k: v for k, v in n.items() if k != "audio"} for n in notes],
        "bends_cents": bends,
        "turn_s": turn_s,
        "turn_after_onset_s": TURN_AFTER_ONSET_S,
        "after_s": AFTER_S,
        "tolerances_cents": {"within_turn": WITHIN_TURN_CENTS, "settle": SETTLE_CENTS},
        "stable_window_s": [STABLE_FROM_S, STABLE_FROM_S + STABLE_LEN_S],
        "targets": TARGETS,
        "systems": summary,
        "rows": rows,
        "stable_recorded": stable_rec,
        "steady_tones": steady_rows,
        "traces": traces,
        "provenance": provenance(command),
    }


def _example_keys(n_notes: int, bends: Sequence[float]) -> List[Tuple[int, float]]:
    """Up to three (note index, bend) pairs for the figure: the largest bend up and down on
    the first note, and a mid-sized one on the second."""
    ups = sorted((b for b in bends if b > 0), reverse=True)
    downs = sorted(b for b in bends if b < 0)
    out: List[Tuple[int, float]] = []
    if ups:
        out.append((0, ups[0]))
    if downs:
        out.append((0, downs[0]))
    mids = sorted(bends, key=abs)
    if n_notes > 1 and mids:
        out.append((1, mids[len(mids) // 2]))
    return out[:3]


# -- output ------------------------------------------------------------------------------------------------
def _f(v: Optional[float], digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "--"
    if math.isinf(v):
        return "never"
    return f"{v:.{digits}f}"


def _pct(v: Optional[float]) -> str:
    return "--" if v is None or not math.isfinite(v) else f"{100 * v:.0f} %"


def _ms(v: Optional[float]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "--"
    return "never" if math.isinf(v) else f"{1000 * v:.0f} ms"


def to_markdown(r: Dict[str, Any]) -> str:
    from cleartune.provenance import markdown_block

    S = r["systems"]
    names = list(S)
    bends = ", ".join(f"{b:+g}" for b in r["bends_cents"])
    rates = sorted({round(peak_rate(turn_s=r["turn_s"], cents=b)) for b in r["bends_cents"]})
    L = ["# Glide: does the needle follow the peg, and hold still when the pitch holds?", ""]
    if r.get("remark"):
        L += [r["remark"], ""]
    L += [
        f"Data: `{r['data']}`, {len(r['notes'])} distinct recorded guitar notes (the clean guitar of each clip).  "
        f"Each is bent by {bends} cents: a raised-cosine turn of {r['turn_s']} s starting "
        f"{r['turn_after_onset_s']} s after the pluck (peak rates {', '.join(str(x) for x in rates)} cents/s), "
        "made exactly by time-varying resampling (y[n] = x(phi(n)), phi the running integral of 2^(c/1200), "
        f"Kaiser-windowed sinc interpolation, {SINC_ZEROS} zero crossings a side).  The pitch of the bent note at "
        "time t is exactly the pitch of the note at phi(t) plus c(t) cents, so the truth is differential: "
        "each system's own reading of the unbent note at phi(t) (linear in cents between its neighbouring "
        f"readings, both with a note, at most {NEAR_S} s apart), plus c(t).  Readings without such a truth are not "
        "scored; a scored reading without a note is a miss.  A reading's time is its newest sample, so a reading "
        "that lags the turn is wrong by its lag: what a player sees.", "",
        f"*During the turn*: share of scored readings in [start, end] within {WITHIN_TURN_CENTS:g} cents of the "
        f"truth.  *After the turn*: settle time = smallest tau >= 0 such that every scored reading from end + tau to "
        f"end + {r['after_s']} s shows a note within {SETTLE_CENTS:g} cent (taken at a reading; never = the last "
        "scored reading is off; in brackets, how many of those had their note read -- the unbent note's readings "
        f"showing a note -- for less than {SHORT_WATCH_S} s after the turn: the note died).  "
        "*Stable needle*: standard deviation of the readings' cents over one second from "
        f"{STABLE_FROM_S} s after the onset (only readings with a note count): steady sines and 30-partial harmonic "
        f"tones at {', '.join(STEADY_NOTES)} (A4 = 440 Hz), and the unbent recorded notes.", "",
        "## Targets (issue 13)", "",
        "| target | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    nt = len(next(iter(S.values()))["targets"]) if S else 0
    for k in range(nt):
        tgt = next(iter(S.values()))["targets"][k]["target"]
        cells = []
        for name in names:
            t = S[name]["targets"][k]
            v = t["value"]
            val = _ms(v) if k == 0 else (_pct(v) if k == 1 else _f(v, 4))
            cells.append(f"{val} {'pass' if t['pass'] else ('--' if t['pass'] is None else 'miss')}")
        L.append(f"| {tgt} | " + " | ".join(cells) + " |")
    L += ["", "## Follows the peg", "",
          "| system | bends | during the turn: median share within 3 c | pooled (readings) | settle median | p90 | "
          f"settled <= 60 ms | never settled (note read < {SHORT_WATCH_S} s after) | no scored reading after |",
          "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        f = S[name]["follow"]
        L.append(f"| {name} | {f['bends']} | {_pct(f['within_turn_median'])} | {_pct(f['within_turn_pooled'])} "
                 f"({f['turn_readings']}) | {_ms(f['settle_median_s'])} | {_ms(f['settle_p90_s'])} | "
                 f"{_pct(f['settle_within_target'])} | {f['never_settled']} ({f.get('never_short', 0)}) | "
                 f"{f['settle_unscored']} |")
    L += ["", "Per bend size (up and down pooled):", "",
          "| system | D [cents] | peak rate [c/s] | bends | within 3 c: median / pooled | settle median | p90 | "
          "<= 60 ms | never |", "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        for d, f in S[name]["by_size"].items():
            L.append(f"| {name} | {d} | {f['peak_rate_cents_per_s']:.0f} | {f['bends']} | "
                     f"{_pct(f['within_turn_median'])} / {_pct(f['within_turn_pooled'])} | {_ms(f['settle_median_s'])} | "
                     f"{_ms(f['settle_p90_s'])} | {_pct(f['settle_within_target'])} | {f['never_settled']} |")
    L += ["", "## Stable needle", "",
          "| system | steady tones: median / max std [cents] | tones (readings with a note / in window) | "
          "recorded notes: median / max std [cents] | notes (readings with a note / in window) |",
          "|---|---|---|---|---|"]
    for name in names:
        st, rc = S[name]["steady"], S[name]["recorded"]
        L.append(f"| {name} | {_f(st['median'], 5)} / {_f(st['max'], 5)} | {st['n']} of {st['items']} "
                 f"({st['readings_with_note']} / {st['readings']}) | {_f(rc['median'], 4)} / {_f(rc['max'], 4)} | "
                 f"{rc['n']} of {rc['items']} ({rc['readings_with_note']} / {rc['readings']}) |")
    if r.get("steady_tones"):
        L += ["", "Steady tones, std [cents] per tone:", "",
              "| tone | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for row in r["steady_tones"]:
            L.append(f"| {row['kind']} {row['note']} | " + " | ".join(
                _f(row["systems"][n]["std_cents"], 5) for n in names if n in row["systems"]) + " |")
    pipes = r.get("pipelines", {})
    L += ["", f"`default` is the tuner as `cleartune analyze` runs it by default ({pipes.get('default', '--')}); "
          f"`no-denoise` the tracker alone ({pipes.get('no-denoise', '--')}); `harmonic_sum` the plain long-window "
          "reference (bench/references.py, a reading every hop); `aubio_mcomb` Debian's "
          "`aubiopitch -p mcomb -B 2048 -H 256` (an external reference, when aubio-tools is installed).  Each system "
          "reads at its own rate; the figure `glide.png` shows example bends as each system reads them.", "",
          "## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


def plot_glide(r: Dict[str, Any], path: str | Path) -> Optional[Path]:
    """``glide.png``: for each example bend, the truth c(t) and each system's reading minus
    its reading of the unbent note at phi(t) [cents] vs time.  None without traces."""
    if not r.get("traces"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cleartune.train.plots import atomic_savefig

    trs = r["traces"]
    fig, axes = plt.subplots(1, len(trs), figsize=(5.2 * len(trs), 4.0), squeeze=False)
    style = {"default": dict(marker="o", ms=6, mfc="none", mew=1.2, lw=0.8),
             "no-denoise": dict(marker="s", ms=3, lw=0.6), "harmonic_sum": dict(marker="^", ms=3, lw=0.6),
             "aubio_mcomb": dict(marker=".", ms=3, lw=0.6)}
    for ax, tr in zip(axes[0], trs):
        s, e, d = tr["start_s"], tr["end_s"], tr["cents"]
        tt = np.linspace(s - 0.3, e + r["after_s"], 800)
        ax.axvspan(0, e - s, color="0.9")
        c = bend_curve(tt, start_s=s, turn_s=r["turn_s"], cents=d)
        ax.plot(tt - s, c, "k-", lw=1.5, label="truth c(t)")
        ax.fill_between(tt - s, c - SETTLE_CENTS, c + SETTLE_CENTS, where=tt >= e, color="k", alpha=0.08)
        lo, hi = min(0, d) - max(4.0, 0.3 * abs(d)), max(0, d) + max(4.0, 0.3 * abs(d))
        seen = np.concatenate([np.asarray(v["bend_cents"], np.float64) for v in tr["systems"].values()] + [[0.0]])
        seen = seen[np.isfinite(seen)]
        lo = max(min(lo, float(seen.min()) - 2), min(0, d) - 30)       # (off-scale beyond 30 cents)
        hi = min(max(hi, float(seen.max()) + 2), max(0, d) + 30)
        for k, (name, v) in enumerate(tr["systems"].items()):
            t = np.asarray(v["t"], np.float64)
            b = np.asarray(v["bend_cents"], np.float64)
            line, = ax.plot(t - s, b, label=name, **style.get(name, dict(marker="x", ms=3, lw=0.6)))
            nn = np.asarray(v.get("no_note_t", []), np.float64)
            if len(nn):     # scored readings that show no note: ticks along the bottom
                ax.plot(nn - s, np.full(len(nn), lo + 0.04 * (hi - lo) * (k + 1)), "|", color=line.get_color(), ms=6)
        ax.set_title(f"{tr['note']} {tr['recording']}: {d:+g} c over {r['turn_s']} s", fontsize=9)
        ax.set_xlabel("time from the turn's start [s]  (ticks at the bottom: no note shown)")
        ax.set_ylim(lo, hi)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("reading - reading of the unbent note at phi(t) [cents]")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    p = Path(path)
    atomic_savefig(fig, p, dpi=110)
    return p


def write_glide(r: Dict[str, Any], out_dir: str | Path, *, plot: bool = True) -> Dict[str, Path]:
    from cleartune.bench.results_io import write_result

    paths = write_result(r, out_dir, stem="glide", markdown=to_markdown(r))
    if plot:
        p = plot_glide(r, Path(out_dir) / "glide.png")
        if p is not None:
            paths["png"] = p
    return paths


def summary_lines(r: Dict[str, Any]) -> List[str]:
    out = []
    for name, s in r["systems"].items():
        f, st, rc = s["follow"], s["steady"], s["recorded"]
        passed = sum(1 for t in s["targets"] if t["pass"])
        out.append(f"  {name:13s} turn {_pct(f['within_turn_pooled'])} within 3 c, settle median "
                   f"{_ms(f['settle_median_s'])} p90 {_ms(f['settle_p90_s'])} ({_pct(f['settle_within_target'])} "
                   f"<= 60 ms), steady std max {_f(st['max'], 4)}, recorded std median {_f(rc['median'], 3)} c; "
                   f"{passed}/{len(s['targets'])} targets")
    return out


def parse_bends(text: Optional[str]) -> Tuple[float, ...]:
    """``"5,-5,25"`` -> (5.0, -5.0, 25.0); None -> the defaults.  Raises ``ValueError``."""
    if not text:
        return DEFAULT_BENDS
    out = []
    for part in text.split(","):
        try:
            v = float(part.strip())
        except ValueError:
            raise ValueError(f"--bends: {part.strip()!r} is not a number of cents") from None
        if not math.isfinite(v) or v == 0 or abs(v) > 200:
            raise ValueError(f"--bends: {part.strip()!r} must be a non-zero bend within +-200 cents")
        out.append(v)
    return tuple(out)
