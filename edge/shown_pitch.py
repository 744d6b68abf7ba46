"""What the player sees of the shown note: its averaged pitch, the confidence, the hysteresis.

The shown note's estimates are averaged (inverse variance, up to ``max_average_s``); a step
restarts the average, a drift (the string settling, the peg being turned) is followed along
a fitted line carried to the newest sample.  Frequencies in Hz, variances in Hz^2, times in
readings unless stated.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from .notes import CENTS_PER_OCTAVE
from .partials import PreciseEstimate
from .pitch_math import CENTS_PER_LN, cents, fast_sum, inverse_variance_mean, line_scatter
from .pitch_params import PitchParams
from .tracks import Track


def average_estimate(tr: Track, est: PreciseEstimate, p: PitchParams, *, reading: int, lag: int,
                     n_history: int, min_slope: float) -> None:
    """Add ``est`` (the newest estimate of the shown track ``tr``, made at reading index
    ``reading``; ``lag``: samples between readings) to ``tr``'s history (at most
    ``n_history`` estimates) and set the shown pitch ``tr.mean_f`` and its uncertainty
    ``tr.mean_sigma`` [Hz].

    A steady note: the inverse-variance mean of the history.  A pitch that moves by a step
    (the newest two beyond ``change_sigma`` of the rest) restarts the mean; one that drifts
    (a slope beyond ``trend_sigma`` and ``min_slope`` [cents per reading]) drops the older
    half of the history, and while the drift lasts the pitch is read off the fitted line,
    carried forward from the frames' centre to the newest sample."""
    remember(tr, est, reading=reading, lag=lag, keep=n_history)
    trend = drift(tr, p, reading=reading, min_slope=min_slope)
    if trend is not None:           # drifting: judge it on the newer half of the history
        keep = max(p.trend_min_points, len(tr.hist_f) // 2)
        tr.hist_f, tr.hist_v, tr.hist_i = tr.hist_f[-keep:], tr.hist_v[-keep:], tr.hist_i[-keep:]
        trend = drift(tr, p, reading=reading, min_slope=min_slope)
    if trend is not None:
        value, slope, var = trend
        tr.mean_f = tr.hist_f[-1] * 2.0 ** (value / CENTS_PER_OCTAVE)
        tr.mean_sigma = tr.mean_f * math.sqrt(var) / CENTS_PER_LN
        return
    if len(tr.hist_f) >= 3 and _newest_two_stepped(tr, p):
        tr.hist_f, tr.hist_v, tr.hist_i = tr.hist_f[-2:], tr.hist_v[-2:], tr.hist_i[-2:]
    m, vm = inverse_variance_mean(tr.hist_f, tr.hist_v)
    if len(tr.hist_f) >= 3:   # scatter beyond the stated uncertainties widens the error
        f = np.array(tr.hist_f)
        w = 1.0 / np.array(tr.hist_v)
        vm *= max(1.0, float(fast_sum(w * (f - m) ** 2)) / (len(f) - 1))
    tr.mean_f, tr.mean_sigma = m, math.sqrt(vm)


def remember(tr: Track, est: PreciseEstimate, *, reading: int, lag: int, keep: int) -> None:
    """Add ``est`` to ``tr``'s history: its f1 [Hz], variance [Hz^2] and when it applies
    (the centre of its frames, in readings; ``lag``: samples between readings), keeping
    the newest ``keep``."""
    tr.hist_f.append(est.f1)
    tr.hist_v.append(est.sigma ** 2 + (est.f1 * 2e-7) ** 2)
    tr.hist_i.append(reading - (est.frames[0] / 2 + est.frames[1] / 2) / lag)
    del tr.hist_f[:-keep], tr.hist_v[:-keep], tr.hist_i[:-keep]


def history_line(tr: Track, *, reading: int) -> Optional[Tuple[float, float, float, float, float]]:
    """Weighted straight line through ``tr``'s history in cents (relative to the newest
    estimate) against time (frame centres, in readings before ``reading``): (value at the
    newest sample [cents], slope [cents/reading], the value's and the slope's variance from
    the stated uncertainties [cents^2, (cents/reading)^2], and the reduced chi^2 of the
    scatter about the line, at least 1; 1 for two points), or None when degenerate."""
    n = len(tr.hist_f)
    f = np.asarray(tr.hist_f)
    c = CENTS_PER_LN * np.log(f / f[-1])
    x = np.asarray(tr.hist_i, dtype=np.float64) - reading
    w = 1.0 / (CENTS_PER_LN ** 2 * np.asarray(tr.hist_v) / (f * f))
    wx = w * x
    S0, Sx, Sxx = float(fast_sum(w)), float(fast_sum(wx)), float(fast_sum(wx * x))
    Sy, Sxy = float(fast_sum(w * c)), float(fast_sum(wx * c))
    det = S0 * Sxx - Sx * Sx
    if det <= 0:
        return None
    slope = (S0 * Sxy - Sx * Sy) / det
    value = (Sxx * Sy - Sx * Sxy) / det
    chi2 = 1.0
    if n > 2:
        res = c - value - slope * x
        chi2 = max(1.0, float(fast_sum(w * res * res)) / (n - 2))
    return value, slope, Sxx / det, S0 / det, chi2


def _newest_two_stepped(tr: Track, p: PitchParams) -> bool:
    """The newest two estimates both lie more than ``change_sigma`` and ``change_min_cents``
    from the mean of the older ones, on the same side (a step)."""
    m, vm = inverse_variance_mean(tr.hist_f[:-2], tr.hist_v[:-2])
    d = [f - m for f in tr.hist_f[-2:]]
    far = all(abs(di) > p.change_sigma * math.sqrt(vi + vm) and abs(cents(m + di, m)) > p.change_min_cents
              for di, vi in zip(d, tr.hist_v[-2:]))
    return far and d[0] * d[1] > 0


def drift(tr: Track, p: PitchParams, *, reading: int, min_slope: float) -> Optional[Tuple[float, float, float]]:
    """The line through ``tr``'s history (:func:`history_line`): (value at the newest
    sample [cents], slope [cents/reading], variance of that value [cents^2], scaled by the
    scatter) when the slope is beyond ``trend_sigma`` sigma and ``min_slope``, else None."""
    if len(tr.hist_f) < p.trend_min_points:
        return None
    line = history_line(tr, reading=reading)
    if line is None:
        return None
    value, slope, var_value, var_slope, chi2 = line
    if abs(slope) <= max(p.trend_sigma * math.sqrt(var_slope * chi2), min_slope):
        return None
    return value, slope, var_value * chi2


def confidence(p: PitchParams, salience: float, n_partials: int, sigma_hz: Optional[float],
               f: Optional[float]) -> float:
    """0..1 from the per-partial ``salience`` [dB] relative to ``min_mean_salience``, the
    partials measured, and the uncertainty ``sigma_hz`` of the shown pitch ``f`` (1 for a
    clear, steady note; without a pitch, salience and partials only)."""
    if not math.isfinite(salience):
        return 0.0
    z = (salience - p.min_mean_salience) / (0.3 * p.min_mean_salience)
    s = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
    if sigma_hz is None or f is None or not math.isfinite(sigma_hz):
        return float(s * min(1.0, n_partials / 3 + 0.3))
    sc = abs(CENTS_PER_LN * sigma_hz / f)
    st = 1.0 / (1.0 + (sc / 5.0) ** 2)
    return min(max(s * min(1.0, n_partials / 3) * (0.5 + 0.5 * st), 0.0), 1.0)


def hysteresis_cents(tr: Track, p: PitchParams) -> float:
    """How far past a note boundary the shown name holds [cents]: three times the
    uncertainty of the shown pitch, between ``min_hysteresis_cents`` and
    ``hysteresis_cents`` (a precisely known note right on a boundary still shows the side
    it is on)."""
    sig_c = CENTS_PER_LN * tr.mean_sigma / tr.mean_f if math.isfinite(tr.mean_sigma) else math.inf
    return min(p.hysteresis_cents, max(p.min_hysteresis_cents, 3.0 * sig_c))


# -- following the peg ---------------------------------------------------------------------
def is_ramp(f: list, p: PitchParams, *, min_slope: float, max_slope: float) -> bool:
    """The probes ``f`` [Hz, one per reading, ``ramp_probes`` of them] move one way: every
    step on the same side and at most ``1.5 max_slope`` [cents per reading] (a peg, not a
    jump to another note), a line's slope of at least ``min_slope`` [cents per reading] and
    a rise along it beyond ``2 follow_cents`` and four times the scatter about it (a turn
    too slow for one probe to stand out from the scatter, e.g. 5 cents in 0.4 s)."""
    n = len(f)
    if n < p.ramp_probes:
        return False
    c = CENTS_PER_LN * np.log(np.asarray(f) / f[-1])
    steps = np.diff(c)
    if not ((steps > 0).all() or (steps < 0).all()) or np.abs(steps).max() > 1.5 * max_slope:
        return False
    rms, slope = line_scatter(c)
    rise = abs(slope) * (n - 1)
    return abs(slope) >= min_slope and rise > max(2.0 * p.follow_cents, 4.0 * rms)


def motion_vote(tr: Track, probe: PreciseEstimate, p: PitchParams, *, min_slope: float, max_slope: float) -> int:
    """``tr.move_votes`` updated with ``probe`` (an estimate from the shortest frames that
    resolve the note, lag one hop: it applies about 30 ms before the newest sample).  The
    probe's distance ``d`` from the shown pitch [cents] is judged against the quiet probes
    before (``tr.probe_d``; their stated sigma overstates the scatter several times for low
    notes): less their median (short frames, and the lag of the averaged pitch behind a
    drifting note, put them a little off), beyond ``follow_cents``
    and ``follow_sigma`` times their scatter (rms about that median: the odd wild probe in
    noise widens it) it votes +-1 (above or below; votes on the same side add up); else it
    is a quiet probe and the votes are 0.  No vote before ``follow_quiet`` quiet probes,
    while their median is beyond ``follow_max_bias_cents`` (another note's partials next to
    this one's pull its short frames: they cannot be followed) or their scatter beyond
    ``follow_max_scatter_cents`` (in noise the short frames cannot tell a turn; the long
    frames' average is kept), nor for a jump beyond the
    limit by more than ``max_slope`` [cents per reading] per vote (a new pluck, another
    note: faster than a peg turns).  A smooth run of probes (:func:`is_ramp`, ``min_slope``
    [cents per reading]) counts as ``follow_readings`` votes at once."""
    d = cents(probe.f1, tr.mean_f)
    q = tr.probe_d
    limit, bias, scatter = math.inf, 0.0, math.inf
    if len(q) >= p.follow_quiet:
        bias = float(np.median(q))
        dq = np.asarray(q) - bias
        scatter = math.sqrt(float(np.dot(dq, dq)) / len(q))
        limit = max(p.follow_cents, p.follow_sigma * scatter)
    clear = scatter <= p.follow_max_scatter_cents and abs(bias) <= p.follow_max_bias_cents
    tr.probe_f.append(probe.f1)
    del tr.probe_f[:-p.ramp_probes]
    if clear and is_ramp(tr.probe_f, p, min_slope=min_slope, max_slope=max_slope):
        return (1 if tr.probe_f[-1] > tr.probe_f[0] else -1) * p.follow_readings
    if abs(d - bias) <= limit or not clear:
        q.append(d)
        del q[:-2 * p.follow_quiet]
        return 0
    d -= bias
    if abs(d) > limit + max_slope * (abs(tr.move_votes) + 1):
        return 0            # faster than a peg turns: a jump (another note, noise), not a turn
    side = 1 if d > 0 else -1
    return tr.move_votes + side if tr.move_votes * side > 0 else side


def follow_estimate(tr: Track, est: PreciseEstimate, p: PitchParams, *, reading: int, lag: int) -> float:
    """While the pitch moves: add ``est`` to ``tr``'s history (the newest ``follow_points``
    only) and show the straight line through them (:func:`history_line`) carried to the
    newest sample (a single estimate is shown as it is).  Returns the line's slope [cents
    per reading] (0 for one estimate)."""
    remember(tr, est, reading=reading, lag=lag, keep=p.follow_points)
    line = history_line(tr, reading=reading) if len(tr.hist_f) >= 2 else None
    if line is None:
        tr.mean_f, tr.mean_sigma = est.f1, est.sigma
        return 0.0
    value, slope, var_value, _, _ = line
    tr.mean_f = tr.hist_f[-1] * 2.0 ** (value / CENTS_PER_OCTAVE)
    tr.mean_sigma = tr.mean_f * math.sqrt(var_value) / CENTS_PER_LN
    return slope
