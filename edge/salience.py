"""Candidate fundamentals: harmonic salience on a log-spaced f0 grid.

Subharmonic summation: each grid f0 adds (dB above the noise - ``missing_penalty_db``) at
its partials below ``salience_band_hz``, so expected partials that are missing count
against it (the octave below loses) and a candidate explaining every other partial loses
to the true f0.  The strongest peaks of the summed salience (fair to rich low notes) and
of the per-partial mean (fair to high notes with few partials) are the candidates, each
moved to a sub-multiple that explains nearly as much with partials of its own (a weak
fundamental puts the peak an octave or twelfth up); a peak above ``summed_fmax`` is no
candidate (in noise, upper partials sum up to false notes there).  The strongest spectral
peak is a candidate of its own when it is no partial of those, or only of a sub-multiple
that nothing else supports (:func:`add_lone_peak`: a sine, a tuning fork, any tone above
``summed_fmax``).  A frame only looks for f0s whose partials it resolves (``resolve_bins``):
the lowest notes wait for a longer frame.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import numpy as np

from .notes import CENTS_PER_OCTAVE
from .pitch_math import CENTS_PER_LN, cents, fast_max, fast_sum
from .pitch_params import PitchParams

#: max-filter radii [bins] a partial's position tolerance is rounded up to
_RADII = (0, 1, 2, 4, 8, 16)


class SalienceGrid:
    """The f0 grid (``grid``, Hz, ``n_grid`` values ``grid_cents`` apart from ``fmin``) and,
    for each grid f0, the FFT bins of its partials (``n_fft`` bins of ``bin_hz``, analysed
    up to ``band_hi``), per frame length the max-filter radius that covers each partial's
    position tolerance, and the partial weights."""

    def __init__(self, params: PitchParams, *, sample_rate: int, n_fft: int, band_hi: int,
                 frame_lens: Sequence[int]) -> None:
        p = self.params = params
        self.band_hi, bin_hz = band_hi, sample_rate / n_fft
        n_grid = int(math.floor(CENTS_PER_OCTAVE * math.log2(p.fmax / p.fmin) / p.grid_cents)) + 1
        self.grid = p.fmin * 2.0 ** (np.arange(n_grid) * p.grid_cents / CENTS_PER_OCTAVE)
        k = np.arange(1, p.max_salience_partials + 1, dtype=np.float64)
        fk = self.grid[:, None] * k[None, :] * np.sqrt(1 + p.prior_inharmonicity * k ** 2)[None, :]
        n_k = np.clip(np.floor(p.salience_band_hz / self.grid), p.min_salience_partials, p.max_salience_partials)
        valid = (fk <= min(p.max_partial_hz, 0.45 * sample_rate)) & (k[None, :] <= n_k[:, None])
        idx = np.rint(fk / bin_hz).astype(np.int64)
        idx[~valid] = band_hi                            # points at a zero
        w = np.where(fk <= 1500.0, 1.0, np.clip(1.0 - 0.5 * (fk - 1500.0) / 3500.0, 0.5, 1.0))
        self.weights = np.where(valid, w, 0.0)            # (n_grid, n_partials)
        self.weight_sums = np.maximum(self.weights.sum(axis=1), 1e-9)
        # the max-filtered spectra live in the rows of one zero-padded buffer, so a
        # candidate's values are one gather at precomputed flat indices (for speed)
        self._pad = _RADII[-1]
        n_row = band_hi + 1 + 2 * self._pad
        self._filtered = np.zeros((len(_RADII), n_row))
        radius_rows = self._radius_rows(fk, k, bin_hz, n_fft, frame_lens)
        self._flat = {w: rows * n_row + (self._pad + idx) for w, rows in radius_rows.items()}
        # for the sub-multiple test: partials of each grid f0 off / on multiples of 2, 3
        self.own = {d: valid & (k[None, :] % d != 0) for d in (2, 3)}
        self.shared = {d: valid & (k[None, :] % d == 0) for d in (2, 3)}
        self.n_own = {d: m.sum(axis=1).tolist() for d, m in self.own.items()}
        self.n_shared = {d: m.sum(axis=1).tolist() for d, m in self.shared.items()}
        # per frame length, the grid f0s too low for it to resolve their partials
        self.n_unresolved = {w: int(np.searchsorted(self.grid, p.resolve_bins * sample_rate / w))
                             for w in frame_lens}
        # candidates by per-partial salience only up to mean_salience_fmax
        self.n_per_partial = int(np.searchsorted(self.grid, p.mean_salience_fmax))
        self.bin_hz = bin_hz

    def _radius_rows(self, fk: np.ndarray, k: np.ndarray, bin_hz: float, n_fft: int, frame_lens: Sequence[int]):
        """Per frame length, the row of ``_RADII`` covering each partial's position tolerance
        (half the grid spacing, 2 cents and the prior inharmonicity, less the reach of the
        frame's main lobe): {frame_len: (n_grid, n_partials) int}."""
        p = self.params
        tol_cents = p.grid_cents / 2 + 2.0 + CENTS_PER_LN * 0.5 * p.prior_inharmonicity * k ** 2
        tol_bins = fk * (tol_cents[None, :] / CENTS_PER_LN) / bin_hz
        radii = np.array(_RADII)
        rows = {}
        for w in frame_lens:
            reach = n_fft / w                           # a peak stays near its top over +-1 frame bin
            need = np.maximum(tol_bins - reach, 0.0)
            rows[w] = np.minimum(np.searchsorted(radii, need), len(radii) - 1)
        return rows

    def salience(self, above_floor: np.ndarray, frame_len: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``above_floor``: dB above the noise, (band_hi + 1,), of a ``frame_len`` frame ->
        (summed salience (n_grid,), per-partial salience (n_grid,) [dB], the per-partial
        values (n_grid, n_partials) [dB]): each partial takes the max of ``above_floor`` over
        its tolerance, less ``missing_penalty_db``, weighted."""
        # Row i of the buffer holds the map (its last bin zeroed) max-filtered over +-_RADII[i]
        # bins, zero beyond the band (scipy.ndimage.maximum_filter1d, mode "constant").  For
        # speed the filters are built incrementally (the max over +-2r is the larger of the
        # max over +-r at -r and +r), exact since max is.
        buf, P, L = self._filtered, self._pad, self.band_hi + 1
        n = buf.shape[1]
        buf[0, P:P + L - 1] = above_floor[: L - 1]
        buf[0, P + L - 1] = 0.0
        np.maximum(np.maximum(buf[0, :-2], buf[0, 1:-1]), buf[0, 2:], out=buf[1, 1:-1])
        for i in range(2, len(_RADII)):
            r = _RADII[i - 1]           # radius of row i - 1; row i has 2 r
            np.maximum(buf[i - 1, r:n - 3 * r], buf[i - 1, 3 * r:n - r], out=buf[i, 2 * r:n - 2 * r])
        buf[:, P + L - 1] = 0.0
        values = buf.take(self._flat[frame_len])
        summed = fast_sum(self.weights * (values - self.params.missing_penalty_db), axis=1)
        per_partial = summed / self.weight_sums
        n_low = self.n_unresolved[frame_len]    # f0s whose partials this frame cannot separate
        if n_low:
            summed[:n_low] = -np.inf
            per_partial[:n_low] = -np.inf
        return summed, per_partial, values

    def position(self, f: float) -> float:
        """Fractional grid index of ``f`` [Hz]."""
        return CENTS_PER_OCTAVE * math.log2(f / self.params.fmin) / self.params.grid_cents

    def near(self, salience: List[float], f: float) -> float:
        """Largest salience within two grid steps of ``f`` (``salience`` as a list: fast)."""
        i = int(round(self.position(f)))
        lo, hi = max(0, i - 2), min(len(salience), i + 3)
        if lo >= hi:
            return -math.inf
        return max(salience[lo:hi])


def candidate_f0s(grid: SalienceGrid, summed: np.ndarray, per_partial: np.ndarray,
                  values: np.ndarray) -> List[float]:
    """Candidate f0s [Hz] from :meth:`SalienceGrid.salience`'s three outputs: the
    ``n_candidates`` strongest peaks of the summed and of the per-partial salience, each
    moved to a sub-multiple when that explains nearly as much with partials of its own; those
    above ``summed_fmax`` are left out."""
    p = grid.params
    out: List[float] = []
    summed_l = summed.tolist()
    _add_peaks(grid, summed, summed_l, summed_l, values, p.candidate_salience * p.min_salience, out)
    per_partial = per_partial.copy()
    per_partial[grid.n_per_partial:] = -np.inf
    _add_peaks(grid, per_partial, per_partial.tolist(), summed_l, values,
               p.candidate_salience * p.min_mean_salience, out)
    return out


def add_lone_peak(grid: SalienceGrid, above_floor: np.ndarray, out: List[float]) -> None:
    """Append to ``out`` the strongest peak of ``above_floor`` (dB above the noise per FFT
    bin) within ``fmin..fmax`` as a candidate of its own when it stands
    ``single_partial_snr_db`` above the floor and is no partial of a candidate already in
    ``out`` (a candidate it is partial ``k > 1`` of counts only with another partial of its
    own: else it is a sub-multiple of this peak, e.g. 880 Hz for a 1760 Hz sine): a sine or
    a tuning fork has one partial, which the salience of a note with many expected partials
    (all but one missing) does not find."""
    p = grid.params
    lo = max(1, int(p.fmin / grid.bin_hz))
    hi = min(len(above_floor) - 1, int(p.fmax / grid.bin_hz) + 1)
    seg = above_floor[lo:hi]
    if len(seg) < 3:
        return
    j = int(seg.argmax())
    top = float(seg[j])
    if top < p.single_partial_snr_db:
        return
    e = j                           # the centre of a flat (clipped) top
    while e + 1 < len(seg) and seg[e + 1] == top:
        e += 1
    f = (lo + 0.5 * (j + e)) * grid.bin_hz
    for g in out:
        k = round(f / g)
        if (k >= 1 and abs(cents(f, k * g)) < p.match_cents
                and (k == 1 or _has_other_partial(grid, above_floor, g, k))):
            return
    out.append(f)


def _has_other_partial(grid: SalienceGrid, above_floor: np.ndarray, g: float, k: int) -> bool:
    """Whether a partial of ``g`` [Hz] other than its ``k``-th (one of 1 .. k + 1) stands
    ``min_partial_snr_db`` above the floor in ``above_floor``: ``g`` is then a note of its own,
    not a sub-multiple that only the strongest peak (its ``k``-th partial) put there."""
    p = grid.params
    n = len(above_floor)
    for m in range(1, k + 2):
        b = int(round(m * g / grid.bin_hz))
        if m != k and b + 1 < n and float(fast_max(above_floor[max(b - 1, 0):b + 2])) >= p.min_partial_snr_db:
            return True
    return False


def _add_peaks(grid: SalienceGrid, score: np.ndarray, score_l: List[float], summed: List[float],
               values: np.ndarray, floor: float, out: List[float]) -> None:
    """Append to ``out`` the frequencies of up to ``n_candidates`` peaks of ``score`` (also
    as the list ``score_l``) at least ``floor`` high and ``candidate_spacing_cents`` apart
    (``summed``: the summed salience as a list)."""
    p = grid.params
    work = score.copy()
    guard = int(round(p.candidate_spacing_cents / p.grid_cents))
    for _ in range(p.n_candidates):
        i = int(work.argmax())
        if not float(work[i]) >= floor:
            break
        f = float(p.fmin * 2.0 ** ((i + _vertex_offset(score_l, i)) * p.grid_cents / CENTS_PER_OCTAVE))
        work[max(0, i - guard):i + guard + 1] = -np.inf
        j = _submultiple_index(grid, summed, values, f)
        if j is not None:
            f = f / j[0]
            work[max(0, j[1] - guard):j[1] + guard + 1] = -np.inf
        if f <= p.summed_fmax and all(abs(cents(f, g)) > p.candidate_spacing_cents for g in out):
            out.append(f)           # (above summed_fmax: a noisy spectrum's partials, no note)


def _vertex_offset(score: List[float], i: int) -> float:
    """Offset [grid steps, within +-0.5] of the parabola through the peak ``i`` and its
    neighbours (0 at an end or where they do not bend down)."""
    if 0 < i < len(score) - 1:
        a, b, c = score[i - 1], score[i], score[i + 1]
        den = a - 2 * b + c
        if -math.inf < den < 0:     # (a neighbour below a frame's resolution is -inf)
            return min(max(0.5 * (a - c) / den, -0.5), 0.5)
    return 0.0


def _submultiple_index(grid: SalienceGrid, summed: List[float], values: np.ndarray, f: float):
    """(divisor 2 or 3, grid index of f / divisor) when ``f / divisor`` has at least
    ``submultiple_ratio`` of the salience at ``f`` and partials of its own between ``f``'s
    (their mean value at least 0.4 x that of the shared ones, and above
    ``missing_penalty_db``), else None."""
    p = grid.params
    s = grid.near(summed, f)
    for div in (2, 3):
        fs = f / div
        if fs < p.fmin:
            continue
        j = int(round(grid.position(fs)))
        if not -math.inf < summed[j] or grid.near(summed, fs) < p.submultiple_ratio * s:
            continue
        n_own, n_shared = grid.n_own[div][j], grid.n_shared[div][j]
        if n_own and n_shared:
            row = values[j]
            own_mean = fast_sum(row[grid.own[div][j]]) / n_own          # (np.mean)
            if (own_mean >= 0.4 * (fast_sum(row[grid.shared[div][j]]) / n_shared)
                    and own_mean > p.missing_penalty_db):
                return div, j
    return None
