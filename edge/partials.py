"""The precise f0 estimate: partials measured by phase advance, an inharmonic series fitted.

Partial ``k`` of a string is looked for near ``k f1 sqrt((1 + B k^2) / (1 + B))`` and its
frequency measured from the phase advance of its FFT bins between two frames ``lag``
samples apart (a phase vocoder; unbiased for a decaying sinusoid).  ``(f_k / k)^2 = a + b k^2``
is then fitted by weighted least squares (weights from each partial's SNR, outliers
dropped): the first partial -- what a strobe tuner locks to -- is ``f1 = sqrt(a + b)``, the
inharmonicity ``B = b / a``.  Frequencies in Hz, variances in Hz^2, powers linear
(full-scale sine = 1), levels in dB.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np

from .pitch_math import CENTS_PER_LN, TINY, fast_max, fast_min, fast_sum, wrap_phase
from .pitch_params import PitchParams
from .spectrum import Spectrum

_NEIGHBOURS = np.array([-1, 0, 1])[None, :]
_PARTIAL_NUMBERS: Dict[int, np.ndarray] = {}


def _partial_numbers(n: int) -> np.ndarray:
    """1.0 .. n as float64 (cached; not to be written to)."""
    k = _PARTIAL_NUMBERS.get(n)
    if k is None:
        k = _PARTIAL_NUMBERS[n] = np.arange(1, n + 1, dtype=np.float64)
    return k


@dataclass(frozen=True)
class FrameGeometry:
    """What the measurement needs to know of the spectra: ``sample_rate`` [Hz], ``n_fft``
    (bins of ``bin_hz = sample_rate / n_fft``), ``band_hi`` (last analysed bin)."""

    sample_rate: int
    n_fft: int
    band_hi: int
    bin_hz: float


class Partials(NamedTuple):
    """Measured partials, each field (n,): partial numbers ``k``, frequencies ``f``, their
    variances ``var``, powers ``power``, relative frequency ``spread`` across each peak's three
    bins (0 for a steady sinusoid, large for a gliding or vibrating one), ``snr_db`` above
    the mean noise."""

    k: np.ndarray
    f: np.ndarray
    var: np.ndarray
    power: np.ndarray
    spread: np.ndarray
    snr_db: np.ndarray

    def subset(self, keep: np.ndarray) -> "Partials":
        return Partials(*(a[keep] for a in self))


class SeriesFit(NamedTuple):
    """An inharmonic series fitted to partials: first partial ``f1`` and its standard
    uncertainty ``sigma`` [Hz], inharmonicity ``B``, whether B was ``fitted`` (else the
    prior), reduced chi-square ``chi2``."""

    f1: float
    sigma: float
    B: float
    fitted: bool
    chi2: float


@dataclass
class PreciseEstimate:
    """A note measured on one pair of frames."""

    f1: float           # first partial [Hz]
    sigma: float        # its standard uncertainty [Hz]
    B: float            # inharmonicity (fitted, or the prior when not fitted)
    B_fitted: bool
    n: int              # partials used
    n_expected: int     # partials looked for
    energy_db: float    # power of the measured partials [dB re full-scale sine]
    frames: Tuple[int, int]  # (frame length, lag) [samples]
    k: np.ndarray       # partial numbers measured
    power: np.ndarray   # their powers [linear]
    spread_cents: float  # power-weighted frequency disagreement across each peak's bins [cents]
    snr_db: np.ndarray  # SNR of each measured partial [dB above the mean noise]
    low_gap_db: float = math.inf   # without partials 1-3: how far the noise floor at their
                                   # places lies below the strongest measured partial [dB]
                                   # (inf when one of them was measured)
    B_rejected: bool = False       # a fitted B lost to the harmonic series (harmonic_alternative)


def partial_hz(k: np.ndarray, f1: float, B: float) -> np.ndarray:
    """Frequencies [Hz] of partials ``k`` of a stiff string whose first partial is ``f1``
    [Hz] and inharmonicity ``B``: ``k f1 sqrt((1 + B k^2) / (1 + B))``."""
    return k * f1 * np.sqrt((1 + B * k * k) / (1 + B))


def _strongest_bins(spec: Spectrum, geo: FrameGeometry, frame_len: int, fk: np.ndarray, tol_hz: np.ndarray):
    """For each predicted partial ``fk`` +- ``tol_hz`` (at least a main lobe): the strongest
    bin in that range (the first of equals), its offset from the range's start and the
    range's width [bins] (all (n,) int)."""
    lobe = geo.n_fft / frame_len                             # FFT bins per frame bin
    c = fk / geo.bin_hz
    tb = np.maximum(tol_hz / geo.bin_hz, lobe)
    hi_bin = geo.band_hi - 1
    lo = (c - tb).astype(np.int64)
    np.minimum(np.maximum(lo, 1, out=lo), hi_bin, out=lo)    # (np.clip is slower)
    hi = (c + tb + 1.0).astype(np.int64)
    np.minimum(np.maximum(hi, 1, out=hi), hi_bin, out=hi)
    d = hi - lo
    ar = np.arange(int(fast_max(d)) + 1)
    vals = np.where(ar <= d[:, None], spec.mag.take(lo[:, None] + ar, mode="clip"), -1.0)
    am = vals.argmax(axis=1)
    return lo + am, am, d


def measure_partials(spec: Spectrum, lagged: np.ndarray, geo: FrameGeometry, *, frame_len: int, lag: int,
                     k: np.ndarray, fk: np.ndarray, tol_hz: np.ndarray, min_snr_db: float) -> Partials:
    """Locate and measure partials ``k`` predicted at ``fk`` +- ``tol_hz`` (all (n,)) in the
    newest frame ``spec`` and ``lagged``, the complex spectrum of the frame ``lag`` samples
    earlier (both ``frame_len`` long).  A partial counts where its peak is a local maximum
    at least ``min_snr_db`` above the noise and its measured frequency within the range."""
    j, am, d = _strongest_bins(spec, geo, frame_len, fk, tol_hz)
    snr_db = spec.snr_db[j]
    # a peak strictly inside the range (being the strongest there it is a local maximum)
    ok = (am > 0) & (am < d) & (snr_db >= min_snr_db)
    if not ok.any():
        return Partials(k[:0], fk[:0], fk[:0], fk[:0], fk[:0], fk[:0])
    # (computed for all partials and selected once at the end: fewer numpy calls)
    n_fft, bin_hz = geo.n_fft, geo.bin_hz
    bins = j[:, None] + _NEIGHBOURS
    P = spec.X[bins] * np.conj(lagged[bins])
    dev = wrap_phase(np.arctan2(P.imag, P.real) - (2 * np.pi * lag / n_fft) * bins)  # np.angle
    fb = (bins + dev * (n_fft / (2 * np.pi * lag))) * bin_hz
    wts = np.abs(P) + TINY
    f = fast_sum(fb * wts, axis=1) / fast_sum(wts, axis=1)
    ok &= np.abs(f - fk) <= tol_hz + 0.5 * (n_fft / frame_len) * bin_hz
    sel = np.flatnonzero(ok)
    f, fb, snr_db, j = f[sel], fb[sel], snr_db[sel], j[sel]
    spread = (fast_max(fb, axis=1) - fast_min(fb, axis=1)) / f     # a steady sinusoid: ~0
    fac = geo.sample_rate / (2 * np.pi * lag)
    var = fac * fac * 10 ** (-np.minimum(snr_db, 60.0) / 10) + (f * 1e-7) ** 2
    return Partials(k[sel], f, var, spec.mag[j] ** 2, spread, snr_db)


def fit_series(k: np.ndarray, f: np.ndarray, v: np.ndarray, *, B_prior: float, max_B: float) -> SeriesFit:
    """Weighted least squares of ``(f_k/k)^2 = a + b k^2`` to partials ``k`` at ``f`` [Hz]
    with variances ``v`` [Hz^2] (all (n,)).  With fewer than three partials (or k < 3, or a
    B outside ``[0, max_B]``) B is fixed to ``B_prior`` and only ``a`` is fitted (a slightly
    negative fitted B: fixed to 0 or ``B_prior``, whichever fits clearly better)."""
    x = k * k
    y = f / k
    y *= y                          # (f / k) ** 2
    w = 2.0 * f / x
    w *= w
    w *= v
    np.divide(1.0, w, out=w)        # 1 / ((2 f / k^2)^2 v)
    n = len(k)
    if n >= 3 and k[-1] >= 3:
        wx = w * x
        S0, S1, S2 = float(fast_sum(w)), float(fast_sum(wx)), float(wx @ x)
        Sy, Sxy = float(w @ y), float(wx @ y)
        det = S0 * S2 - S1 * S1
        if det > 0:
            a = (S2 * Sy - S1 * Sxy) / det
            b = (S0 * Sxy - S1 * Sy) / det
            Bf = b / a if a > 0 else -1.0
            if -max_B <= Bf < 0.0 < B_prior:
                # a harmonic tone (a reed, a voice, an oscillator) or a string measured in
                # noise: B = 0 where it fits clearly better than the prior (with the prior a
                # harmonic tone reads several cents flat)
                harmonic, prior = _fit_fixed_B(x, y, w, 0.0), _fit_fixed_B(x, y, w, B_prior)
                return harmonic if harmonic.chi2 < 0.5 * prior.chi2 else prior
            if 0.0 <= Bf <= max_B:
                res = y - a - b * x
                chi2 = float(w @ (res * res)) / max(n - 2, 1)
                var = (S2 - 2 * S1 + S0) / det * max(1.0, chi2)
                f1 = math.sqrt(a + b)
                return SeriesFit(f1, math.sqrt(var) / (2 * f1), float(Bf), True, chi2)
    return _fit_fixed_B(x, y, w, B_prior)


def _fit_fixed_B(x: np.ndarray, y: np.ndarray, w: np.ndarray, B: float) -> SeriesFit:
    """``y = a (1 + B x)`` with ``B`` fixed (``x = k^2``, ``y = (f/k)^2``, weights ``w``)."""
    n = len(x)
    g = 1.0 + B * x
    wg = w * g
    sw = float(wg @ g)
    a = float(wg @ y) / sw
    var_a = 1.0 / sw
    chi2 = 0.0
    if n >= 2:
        res = y - a * g
        chi2 = float(w @ (res * res)) / (n - 1)
        var_a *= max(1.0, chi2)
    f1 = math.sqrt(a * (1 + B))
    return SeriesFit(f1, math.sqrt(var_a * (1 + B)) / (2 * f1), float(B), False, chi2)


def reject_outliers(k: np.ndarray, f: np.ndarray, v: np.ndarray, *, B: float,
                    max_B: float) -> Tuple[Optional[np.ndarray], Optional[SeriesFit]]:
    """Which partials to keep: drop those that disagree with the series fitted to all (more
    than 2 cents and 5 sigma off), at most a third of them, worst first; a second round
    judges the rest against the series fitted without them.  Returns (mask of the kept ones,
    or None for all; :func:`fit_series` of the kept ones when it was made, else None)."""
    keep = None
    kk, ff, vv = k, f, v
    for _ in range(2):
        n = len(kk)
        if n <= 2:
            break
        fit = fit_series(kk, ff, vv, B_prior=B, max_B=max_B)
        f1, Bf = fit.f1, fit.B
        r = np.abs(CENTS_PER_LN * np.log(ff / (kk * f1 * np.sqrt((1 + Bf * kk * kk) / (1 + Bf)))))
        z = r / np.maximum(CENTS_PER_LN * np.sqrt(vv) / ff, 1e-9)
        bad = (r > 2.0) & (z > 5.0)
        if not bad.any():
            return keep, fit
        worst = np.argsort(-np.where(bad, z, -1.0))[: min(int(np.count_nonzero(bad)), max(1, n // 3))]
        if keep is None:
            keep = np.ones(len(k), bool)
            keep[worst] = False
        else:
            keep[np.flatnonzero(keep)[worst]] = False
        kk, ff, vv = k[keep], f[keep], v[keep]
    return keep, None


def _search_passes(p: PitchParams, *, tracked: bool, B_known: bool) -> Tuple[int, ...]:
    """Partials searched per pass: a few low ones around a coarse guess, then more from the
    fitted series (one pass when both the pitch and B are known)."""
    if tracked and B_known:
        return (p.n_precise_partials,)
    if B_known or tracked:
        return (6, p.n_precise_partials)
    return (4, 10, p.n_precise_partials)


def _tolerance_cents(p: PitchParams, k: np.ndarray, passes: Tuple[int, ...], n_pass: int, *,
                     tracked: bool, B_known: bool, fitted: bool):
    """Search half-width per partial [cents] (a scalar where it is the same for all): wide
    around a coarse guess, narrow around a prediction; widened for partials beyond those an
    unknown B was fitted to."""
    tol_c = p.track_cents if (tracked or n_pass > 0) else p.search_cents
    if not B_known and not fitted:
        tol_c = tol_c + CENTS_PER_LN * 0.5 * 1.5e-4 * k * k
    elif not B_known:
        tol_c = tol_c + CENTS_PER_LN * 0.5 * 5e-5 * np.maximum(k * k - passes[n_pass - 1] ** 2, 0)
    return tol_c


def precise_estimate(spec: Spectrum, lagged: np.ndarray, geo: FrameGeometry, p: PitchParams, *,
                     frame_len: int, lag: int, f_guess: float, B: float, B_known: bool,
                     tracked: bool) -> Optional[PreciseEstimate]:
    """Partials of the note near ``f_guess`` [Hz] measured by phase advance between the
    frames ``spec`` (newest) and ``lagged`` (``lag`` samples earlier), then the series fit;
    None when no partial is found.  ``B``: inharmonicity to predict partials with
    (``B_known``: measured before); ``tracked``: ``f_guess`` is a precise estimate (narrow
    search).  A large inharmonicity (fitted here or known from the track) that explains few
    of the partials looked for is checked against the harmonic series
    (:func:`harmonic_alternative`)."""
    search = partial(_search_series, spec, lagged, geo, p, frame_len=frame_len, lag=lag)
    est = search(f_guess=f_guess, B=B, B_known=B_known, tracked=tracked, max_B=p.max_inharmonicity)
    if est is not None and est.B >= p.inharmonic_suspect and est.n <= p.stiff_max_share * est.n_expected:
        alt = search(f_guess=f_guess, B=0.0, B_known=True, tracked=False, max_B=0.0)
        if harmonic_alternative(est, alt, p):
            alt.B_rejected = True
            return alt
    return est


def harmonic_alternative(stiff: PreciseEstimate, harmonic: Optional[PreciseEstimate], p: PitchParams) -> bool:
    """The harmonic series (B = 0) near the same pitch (within ``inharmonic_max_shift_cents``)
    is a full one (at least ``harmonic_min_share`` of the partials looked for) and explains
    clearly more partials than the inharmonic one (twice as many, and at least
    ``inharmonic_min_gain`` more): the large B came from a wrong numbering of a few partials
    (partial k + 1 taken for k at high k: B ~ 2 / k^3; the search windows then placed where
    no partial is), not from a stiff string, whose own series explains more of its partials
    than the harmonic one.  Only a clear case counts: a harmonic series found farther away,
    or only part of one, is another source (an orchestra's note beside the string) or noise."""
    return (harmonic is not None and harmonic.n >= p.harmonic_min_share * harmonic.n_expected
            and harmonic.n >= max(2 * stiff.n, stiff.n + p.inharmonic_min_gain)
            and abs(CENTS_PER_LN * math.log(harmonic.f1 / stiff.f1)) <= p.inharmonic_max_shift_cents)


def _search_series(spec: Spectrum, lagged: np.ndarray, geo: FrameGeometry, p: PitchParams, *,
                   frame_len: int, lag: int, f_guess: float, B: float, B_known: bool, tracked: bool,
                   max_B: float) -> Optional[PreciseEstimate]:
    """The partial search of :func:`precise_estimate` with fitted inharmonicities limited to
    ``[0, max_B]`` (0: the harmonic series)."""
    f_max = min(p.max_partial_hz, 0.45 * geo.sample_rate)
    f1 = f_guess
    passes = _search_passes(p, tracked=tracked, B_known=B_known)
    fitted = None
    parts = None
    n_expected = 0
    for n_pass, k_lim in enumerate(passes):
        k = _partial_numbers(k_lim)
        fk = partial_hz(k, f1, B)
        keep = fk <= f_max
        if not keep.all():
            k, fk = k[keep], fk[keep]
        if len(k) == 0:
            break
        n_expected = len(k)
        tol_c = _tolerance_cents(p, k, passes, n_pass, tracked=tracked, B_known=B_known, fitted=fitted is not None)
        tol_hz = np.minimum(fk * tol_c / CENTS_PER_LN, 0.3 * f1)
        parts = measure_partials(spec, lagged, geo, frame_len=frame_len, lag=lag, k=k, fk=fk, tol_hz=tol_hz,
                                 min_snr_db=p.min_partial_snr_db)
        if len(parts.k) == 0:
            return None
        keep, fitted = reject_outliers(parts.k, parts.f, parts.var, B=B, max_B=max_B)
        if keep is not None:
            parts = parts.subset(keep)
        if fitted is None:          # (else reject_outliers' last fit is of exactly these partials)
            fitted = fit_series(parts.k, parts.f, parts.var, B_prior=B, max_B=max_B)
        f1, B = fitted.f1, fitted.B
        if fk[-1] >= f_max * 0.999:
            break
    if fitted is None:
        return None
    est = _estimate_of(fitted, parts, n_expected, (frame_len, lag))
    if est.k[0] > 3:
        est.low_gap_db = _low_gap_db(spec, geo, f1=f1, B=B, power=parts.power)
    return est


def _low_gap_db(spec: Spectrum, geo: FrameGeometry, *, f1: float, B: float, power: np.ndarray) -> float:
    """How far [dB] the noise floor of ``spec`` at partials 1-3 of ``f1`` [Hz]
    (inharmonicity ``B``) lies below the strongest of ``power`` (the measured partials,
    linear): large where those partials would stand out were they there, small where noise
    covers their places (then their absence says nothing)."""
    k = _partial_numbers(3)
    fk = partial_hz(k, f1, B)
    j = np.minimum(np.rint(fk / geo.bin_hz).astype(np.int64), geo.band_hi)
    return 10.0 * math.log10(float(fast_max(power)) + TINY) - float(fast_max(spec.noise_db[j]))


def _estimate_of(fit: SeriesFit, parts: Partials, n_expected: int, frames: Tuple[int, int]) -> PreciseEstimate:
    """The :class:`PreciseEstimate` of a series fitted to ``parts``."""
    pw_sum = fast_sum(parts.power)
    energy = 10.0 * math.log10(float(pw_sum) + TINY)
    spread = CENTS_PER_LN * float(fast_sum(parts.power * parts.spread) / (pw_sum + TINY))
    return PreciseEstimate(f1=fit.f1, sigma=fit.sigma, B=fit.B, B_fitted=fit.fitted, n=len(parts.k),
                           n_expected=n_expected, energy_db=energy, frames=frames, k=parts.k, power=parts.power,
                           spread_cents=spread, snr_db=parts.snr_db)
