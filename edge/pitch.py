"""The pitch tracker: note and cents from a stream of audio hops.

:class:`PitchTracker` is fed exactly ``hop`` new samples per call (``update``) and returns a
:class:`~cleartune.edge.reading.Reading` every ``PitchParams.reading_hops`` calls (21.5
readings per second with hop 256 at 22050 Hz).  Between readings a call only copies the
hop into a ring buffer; all analysis happens on reading hops.

How a reading is made (frequencies in Hz, frames in samples, levels in dB):

1. **Spectrum.**  The newest ``W`` samples (Hann window, zero-padded to ``n_fft``) of the
   signal (raw and denoised: see below); ``W`` grows with the
   age of the shown note or of the last onset (93 -> 186 -> 372 ms at 22050 Hz).  A noise
   floor per frequency (the 20th percentile of blocks of bins, at most
   ``dynamic_range_db`` below the strongest peak) turns it into "dB above the noise",
   clipped at ``clip_db`` (log compression).
2. **Candidates.**  Subharmonic summation on a log-spaced f0 grid (``grid_cents``): each
   candidate adds (dB above noise - ``missing_penalty_db``) at its partials below
   ``salience_band_hz``, so expected partials that are missing count against it (the
   octave below loses) and a candidate explaining every other partial loses to the true
   f0.  The strongest peaks of the summed salience (fair to rich low notes) and of the
   per-partial mean (fair to high notes with few partials) are candidates, each moved to
   a sub-multiple that explains nearly as much with partials of its own (a weak
   fundamental puts the peak an octave or twelfth up).
3. **Tracks.**  Every candidate not yet followed becomes a *track* (a note hypothesis;
   "onset-born" when it appears right after an onset -- a jump of band energies).  Each
   reading every track (up to ``max_estimates``, the shown one first) gets a precise
   estimate; tracks that lose their partials, glide (voices), or turn out to be the
   sub-harmonic of a real note (nearly no power between the octave partials) are dropped
   or moved to that note.
4. **Precise estimate.**  Partial ``k`` is looked for near ``k f1 sqrt((1+B k^2)/(1+B))``
   and its frequency measured from the phase advance of its FFT bins between two frames a
   known lag apart (a phase vocoder; unbiased for a decaying sinusoid); both frames start
   after the note's onset, so frame and lag grow with its age (a pluck is read 60-110 ms
   after it starts).  ``(f_k / k)^2 = a + b k^2`` is fitted by weighted least squares
   (weights from each partial's SNR, outliers dropped): the first partial -- what a
   strobe tuner locks to -- is ``f1 = sqrt(a + b)``, the inharmonicity ``B = b / a``.
5. **Which note.**  The shown track is kept while it lasts; a fresh pluck clearly stronger
   (``switch_db``) or any far stronger note (``dominant_db``) takes over, and so does the
   note an octave (twelfth) below when its own partials add energy (low strings have weak
   fundamentals and odd partials).  A track is shown only once it is *ready*: measured
   ``confirm_readings`` times (``onset_confirm_readings`` for a pluck), steady (two
   estimates within ``first_step_cents``, then on a straight line no steeper than
   ``max_glide_cents_s``: a string being tuned, not a voice), with sharp peaks
   (``ready_spread_cents``) and salient enough (``min_mean_salience``).
6. **Averaging and display.**  The shown note's estimates are averaged (inverse variance,
   up to ``max_average_s``); a step restarts the average, a drift (the string settling,
   the peg being turned) is followed along a fitted line carried to the newest sample.
   The name has hysteresis (three times the uncertainty of the shown pitch, between
   ``min_hysteresis_cents`` and ``hysteresis_cents``) so it does not flicker on a boundary.

**Raw and denoised.**  With a denoised signal (``update(raw, denoised)``) the two play
different parts (defaults ``fuse_spectra="max"``, ``measure_on="raw"``): the candidate
spectrum is the bin-wise maximum of the two "dB above the noise" maps -- the denoiser
removes noise, but a small mask also thins out weak guitar partials (a low string's
fundamental and odd partials), and a tracker that saw only the denoised signal then
reads the octave above; the precise estimates (and with them the octave and
sub-harmonic checks) use the raw signal, whose partials keep their true levels and
phases.  Onsets are detected on the denoised signal.  ``fuse_spectra="denoised",
measure_on="best"`` gives the earlier behaviour (everything on the denoised signal, the
shown note also measured on the raw one and the smaller uncertainty kept): better with a
near-perfect denoiser (``tests/test_pitch.py::test_denoised_signal_decides``), worse with
the shipped mask, whose thinned partials it reads as an octave
(``tests/test_pitch_noise.py::test_thinned_denoised_signal_does_not_lift_the_octave``).
On real mixes with the shipped int8 model the defaults read 0.6 points more right notes
overall (300 holdout + 200 data/edge test mixes: 85.4 against 84.8 %; the -5 dB figures of
the two halves of the holdout disagree in sign, so that level is within the noise).

Only numpy and scipy; per hop just a copy into the ring buffer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import scipy.fft

from .notes import CENTS_PER_OCTAVE, NoteMapper
from .params import EDGE
from .reading import Reading

#: cents per unit of natural log of a frequency ratio (1200 / ln 2).
_CENTS_PER_LN = CENTS_PER_OCTAVE / math.log(2.0)
_TINY = 1e-20
#: mean of exponentially distributed noise power over its 20th percentile [dB]
#: (10*log10(1 / -ln(0.8))): converts the percentile floor into a mean noise level.
_P20_TO_MEAN_DB = 6.51
# For speed on small arrays: the ufunc reductions behind ndarray.sum / max / min and
# np.cumsum, without their Python wrappers (the same computation, bit for bit).
_sum, _max, _min = np.add.reduce, np.maximum.reduce, np.minimum.reduce
_cumsum = np.add.accumulate


@dataclass(frozen=True)
class PitchParams:
    """Tracker settings.  Times in seconds, frequencies in Hz, levels in dB."""

    # range and cadence
    fmin: float = 60.0                     # lowest first partial (below drop-C's C2 = 65.4 Hz)
    fmax: float = 1400.0                   # highest first partial (E6 = 1318.5 Hz)
    reading_hops: int = 4                  # a reading every this many hops (21.5/s at 256 @ 22050)
    # analysis frames, rounded to powers of two of samples
    windows_s: Tuple[float, ...] = (0.046, 0.093, 0.186, 0.372)   # frame lengths by note age
    n_fft_s: float = 0.372                 # zero-padded FFT length (>= the longest frame)
    onset_margin_s: float = 0.008          # frames start this long after an onset (pick noise)
    attack_s: float = 0.1                  # ... frames longer than the second shortest this long
    # candidate salience
    grid_cents: float = 10.0               # f0 grid spacing
    salience_band_hz: float = 1500.0       # partials summed per candidate: those below this ...
    min_salience_partials: int = 3         # ... but at least this many
    max_salience_partials: int = 12        # ... and at most this many
    max_partial_hz: float = 5000.0         # partials above this are ignored
    clip_db: float = 30.0                  # dB above the noise are clipped here (log compression)
    dynamic_range_db: float = 60.0         # the floor is at most this far below the strongest peak
    noise_margin_db: float = 3.0           # "above floor" means this far above the mean noise
    missing_penalty_db: float = 4.0        # subtracted per expected partial (missing ones cost)
    submultiple_ratio: float = 0.85        # f/2, f/3 win if their salience is >= this x the winner's
    prior_inharmonicity: float = 4e-5      # B assumed before it is measured
    max_inharmonicity: float = 1e-3        # a fitted B outside [0, this] is not believed
    # precise estimate
    n_precise_partials: int = 24           # partials measured per estimate (at most)
    min_partial_snr_db: float = 6.0        # a partial must stand this far above the mean noise
    search_cents: float = 25.0             # partial search half-width around a coarse guess
    track_cents: float = 6.0               # ... around a prediction from measured partials
    # decisions
    silence_dbfs: float = -90.0            # RMS below this is silence (digital silence, dither)
    min_salience: float = 25.0             # summed salience (dB above floor) of a candidate peak
    min_mean_salience: float = 5.0         # least salience per partial for a note [dB]
    min_partials: int = 2                  # least partials measured for a note
    n_candidates: int = 2                  # peaks of each salience considered per reading
    candidate_spacing_cents: float = 60.0  # ... at least this far apart
    candidate_salience: float = 0.5        # ... with at least this x min_(mean_)salience
    match_cents: float = 40.0              # a peak this close to a track continues it
    max_estimates: int = 3                 # precise estimates per reading (the rest wait a turn)
    max_new_tracks: int = 3                # new note hypotheses per reading (one more at an onset)
    max_tracks: int = 5                    # note hypotheses followed at once
    confirm_readings: int = 3              # precise estimates before a track can be shown
    onset_confirm_readings: int = 2        # ... for a track that started at an onset
    onset_birth_readings: int = 3          # a track appearing this soon after an onset started there
    challenge_readings: int = 10           # a fresh pluck may take over for this many readings ...
    switch_db: float = 3.0                 # ... if its partials are this much stronger
    dominant_db: float = 10.0              # any note this much stronger takes over
    onset_bonus_db: float = 3.0            # score bonus of a freshly plucked track
    release_readings: int = 3              # readings without the note before it is dropped
    established_readings: int = 6          # before this many estimates one unsteady reading drops it
    ghost_power_fraction: float = 0.04     # a track with less than this share of its partial
                                           # power off multiples of m, the strongest of them
    ghost_partial_db: float = 22.0         # this far below the strongest on them, is a
                                           # sub-harmonic ghost ...
    ghost_share_above_octave: float = 2.5  # (the share is this much larger for m > 2)
    max_ghost_multiple: int = 8            # (m up to this)
    own_partial_snr_db: float = 15.0       # ... unless it showed odd partials (this far above
    own_evidence: int = 2                  # the noise, with that share) this often
    onset_flux_db: float = 6.0             # band-energy jump [dB] (mean of the largest
    onset_top_bands: int = 6               # ... this many of 24 bands) that marks an onset
    steady_readings: int = 5               # precise estimates judged for steadiness
    early_step_cents: float = 1.0          # a pluck's first two estimates (one hop apart) agree this well
    first_step_cents: float = 4.0          # the first two estimates of a note agree this well
    steady_rms_cents: float = 1.5          # later ones lie this close to a straight line
    max_steady_rms_cents: float = 4.0      # ... (or 3 sigma, up to this) ...
    max_glide_cents_s: float = 100.0       # ... changing at most this fast (peg turning)
    # with a denoised signal (see "Raw and denoised" in the module docstring)
    fuse_spectra: str = "max"              # candidate spectrum: "max" of raw and denoised, or "denoised"
    measure_on: str = "raw"                # precise estimates on "raw", or on the denoised signal
                                           # (the shown note also on the raw one, the better kept: "best")
    ready_spread_cents: float = 3.0        # a note is first shown only when its peaks are this
                                           # sharp (frequency spread across a peak's bins)
    # averaging and display
    max_average_s: float = 1.5             # the shown pitch averages up to this much history
    change_sigma: float = 5.0              # a step: the newest two estimates this many sigma ...
    change_min_cents: float = 1.0          # ... and this far from the rest
    trend_sigma: float = 4.0               # a drift is a slope beyond this many sigma ...
    min_trend_cents_s: float = 0.2         # ... and this fast
    trend_min_points: int = 4              # estimates needed to judge a drift
    hysteresis_cents: float = 6.0          # the shown note holds this far past a boundary ...
    min_hysteresis_cents: float = 0.5      # ... or 3 sigma of the shown pitch, if more than this

    def __post_init__(self) -> None:
        if not 0 < self.fmin < self.fmax:
            raise ValueError(f"need 0 < fmin < fmax, got {self.fmin}, {self.fmax}")
        if self.reading_hops < 1:
            raise ValueError("reading_hops must be >= 1")
        if not self.windows_s or any(w <= 0 for w in self.windows_s):
            raise ValueError("windows_s must be positive")
        if self.n_fft_s < max(self.windows_s) * 0.99:
            raise ValueError("n_fft_s must be at least the longest window")
        if self.fuse_spectra not in ("denoised", "max"):
            raise ValueError(f"fuse_spectra must be 'denoised' or 'max', got {self.fuse_spectra!r}")
        if self.measure_on not in ("best", "raw"):
            raise ValueError(f"measure_on must be 'best' or 'raw', got {self.measure_on!r}")


def _pow2(n: float) -> int:
    return int(2 ** max(4, round(math.log2(max(n, 16)))))


def _princarg(p: np.ndarray) -> np.ndarray:
    return (p + np.pi) % (2 * np.pi) - np.pi


def _cents(f: float, ref: float) -> float:
    return _CENTS_PER_LN * math.log(f / ref)


_CENTRED: dict = {}


def _centred(n: int) -> Tuple[np.ndarray, float]:
    """(x = 0..n-1 less its mean, x . x), cached (they are needed every reading)."""
    r = _CENTRED.get(n)
    if r is None:
        x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        r = _CENTRED[n] = (x, np.dot(x, x))
    return r


class _Ring:
    """Last ``n`` samples, stored twice so the newest ``m <= n`` are one contiguous view."""

    def __init__(self, n: int, hop: int) -> None:
        self.n, self.hop = n, hop
        self.buf = np.zeros(2 * n, dtype=np.float64)
        self.pos = 0

    def reset(self) -> None:
        self.buf.fill(0.0)
        self.pos = 0

    def push(self, x: np.ndarray) -> None:
        p = self.pos
        self.buf[p:p + self.hop] = x
        self.buf[p + self.n:p + self.n + self.hop] = x
        self.pos = (p + self.hop) % self.n

    def last(self, m: int, *, lag: int = 0) -> np.ndarray:
        """The ``m`` samples ending ``lag`` samples before the newest (a view)."""
        end = self.pos + self.n - lag
        return self.buf[end - m:end]


@dataclass
class _Precise:
    f1: float           # first partial [Hz]
    sigma: float        # its standard uncertainty [Hz]
    B: float            # inharmonicity (fitted, or the prior when not fitted)
    B_fitted: bool
    n: int              # partials used
    n_expected: int     # partials looked for
    energy_db: float    # power of the measured partials [dB re full-scale sine]
    cfg: Tuple[int, int]  # (frame, lag) [samples]
    k: np.ndarray       # partial numbers measured
    power: np.ndarray   # their powers [linear]
    spread_cents: float  # power-weighted frequency disagreement across each peak's bins [cents]
    snr_db: np.ndarray  # SNR of each measured partial [dB above the mean noise]


@dataclass
class _Spec:
    """A spectrum with what the analysis needs of it."""

    X: np.ndarray       # complex (n_bins,), dBFS-normalised
    mag: np.ndarray     # |X| up to the analysis band
    pdb: np.ndarray     # 20 log10 |X| [dB]
    noise_db: np.ndarray  # mean noise level per bin [dB]
    snr_db: np.ndarray  # pdb - noise_db [dB]


class _Track:
    """A pitched source followed from reading to reading (a note hypothesis)."""

    def __init__(self, f: float, *, born: int, start: int, onset_born: bool) -> None:
        self.f = f                        # current frequency: precise f1 once measured [Hz]
        self.born = born                  # reading index it appeared at
        self.start = start                # absolute sample its note began (frames start after)
        self.onset_born = onset_born      # appeared right after an onset (a pluck)
        self.misses = 0                   # consecutive readings without a precise estimate
        self.n_est = 0                    # precise estimates so far
        self.recent: List[float] = []     # latest precise f1 estimates
        self.energy_db = -math.inf        # power of its measured partials [dB]
        self.frac = 0.0                   # partials found / looked for
        self.n = 0                        # partials measured in the latest estimate
        self.sal = -math.inf              # per-partial salience at its frequency [dB]
        self.B_hist: List[float] = []     # fitted inharmonicities from long frames
        self.B_last: Optional[float] = None   # the latest fitted inharmonicity
        self.hist_f: List[float] = []     # estimates averaged for the shown pitch [Hz]
        self.hist_v: List[float] = []     # their variances [Hz^2]
        self.hist_i: List[float] = []    # when each applies [readings]
        self.mean_f = f
        self.mean_sigma = math.inf
        self.unsteady = 0                 # consecutive unsteady readings
        self.own_seen = 0                 # estimates with clear odd partials (not an octave ghost)
        self.sigma_cents = 0.0            # uncertainty of the latest estimate [cents]
        self.spread_cents = 0.0           # frequency spread across its peaks' bins [cents]
        self.last_est: Optional[_Precise] = None
        self.skipped = False              # not measured this reading (too many tracks)
        self.measured = -10 ** 9          # reading index of its latest estimate

    def reset_to(self, f: float) -> None:
        """Start over at frequency ``f`` [Hz] (keeps birth and start)."""
        self.f = f
        self.misses = 0
        self.n_est = 0
        self.recent = []
        self.B_hist = []
        self.B_last = None
        self.hist_f, self.hist_v, self.hist_i = [], [], []
        self.mean_f, self.mean_sigma = f, math.inf
        self.unsteady = 0
        self.own_seen = 0

    def B_prior(self, default: float) -> Tuple[float, bool]:
        """Inharmonicity to predict partials with, and whether it was measured."""
        if len(self.B_hist) >= 3:     # the median (np.median, done on a short list)
            h = sorted(self.B_hist)
            m = len(h) // 2
            return (h[m] if len(h) % 2 else (h[m - 1] + h[m]) / 2), True
        if self.B_last is not None:
            return self.B_last, True
        return default, False

    def steadiness(self) -> Tuple[float, float]:
        """(rms deviation from a straight line [cents], slope [cents per reading]) of the
        latest precise estimates; a single step when there are two; (inf, inf) with fewer."""
        n = len(self.recent)
        if n < 2:
            return math.inf, math.inf
        c = _CENTS_PER_LN * np.log(np.asarray(self.recent) / self.recent[-1])
        if n == 2:
            return abs(float(c[1] - c[0])), float(c[1] - c[0])
        x, xx = _centred(n)
        slope = float(np.dot(x, c) / xx)
        res = c - _sum(c) / n - slope * x           # (= c - c.mean() - slope x)
        return math.sqrt(_sum(res * res) / (n - 2)), slope


class PitchTracker:
    """Streaming pitch tracker; see the module docstring.

    sample_rate  [Hz]; hop: samples per ``update`` call; params: :class:`PitchParams`;
    notes: the :class:`~cleartune.edge.notes.NoteMapper` naming the readings."""

    def __init__(self, *, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop,
                 params: PitchParams = PitchParams(), notes: Optional[NoteMapper] = None) -> None:
        if sample_rate <= 0 or hop <= 0:
            raise ValueError("sample_rate and hop must be positive")
        self.sr = int(sample_rate)
        self.hop = int(hop)
        self.p = params
        self.notes = notes if notes is not None else NoteMapper()
        p = params
        if p.fmax >= 0.45 * self.sr:
            raise ValueError(f"fmax={p.fmax} Hz is too high for sample_rate {self.sr}")
        self.windows = tuple(sorted({_pow2(w * self.sr) for w in p.windows_s}))
        self.n_fft = max(_pow2(p.n_fft_s * self.sr), self.windows[-1])
        self.lag = p.reading_hops * self.hop                  # samples between readings
        # precise-estimate configurations (frame, lag), best first; lag <= frame / 2
        cfgs = []
        for w in sorted(self.windows, reverse=True):
            for lag in (self.lag, self.hop):
                if lag <= w // 2 and (w, lag) not in cfgs:
                    cfgs.append((w, lag))
        self._cfgs = tuple(cfgs)
        ring = self.windows[-1] + self.lag
        ring = int(math.ceil(ring / self.hop)) * self.hop
        self._raw = _Ring(ring, self.hop)
        self._den = _Ring(ring, self.hop)
        self._hann = {w: np.hanning(w + 2)[1:-1] for w in self.windows}   # symmetric, no zero ends
        self._norm = {w: 2.0 / float(np.sum(self._hann[w])) for w in self.windows}
        self.bin_hz = self.sr / self.n_fft
        self._band_hi = min(int(p.max_partial_hz / self.bin_hz) + 2, self.n_fft // 2)
        self._margin = int(round(p.onset_margin_s * self.sr))
        self._attack = int(round(p.attack_s * self.sr))
        self._short_frame = self.windows[1] if len(self.windows) > 1 else self.windows[0]
        self._n_hist = max(1, int(round(p.max_average_s * self.sr / self.lag)))
        self._aranges = np.arange(self.n_fft // 2)
        self._pm1 = np.array([-1, 0, 1])[None, :]
        # (the tables and buffers below only save work per reading; see their users)
        self._k_arange = {n: np.arange(1, n + 1, dtype=np.float64)
                          for n in {4, 6, 10, p.n_precise_partials}}   # partial numbers per pass
        self._fft_buf = {w: np.zeros(self.n_fft) for w in self.windows}  # zero-padded frames
        self._build_salience_tables()
        self._blk = max(8, _pow2(64.0 / self.bin_hz))   # noise-floor blocks of ~64-100 Hz
        self._n_blk = (self._band_hi + 1 + self._blk - 1) // self._blk
        self._build_noise_tables()
        self._build_onset_bands()
        self._hop_e = np.zeros(64)                      # energies of the last hops (onset timing)
        self.reset()

    # -- precomputed tables ----------------------------------------------------------------
    def _build_salience_tables(self) -> None:
        """Grid of candidate f0s; for each, the FFT bins of its partials and, per frame
        length, which max-filter radius covers the position tolerance (grid spacing plus
        inharmonicity, less the reach of the frame's main lobe)."""
        p = self.p
        n_grid = int(math.floor(CENTS_PER_OCTAVE * math.log2(p.fmax / p.fmin) / p.grid_cents)) + 1
        self.grid = p.fmin * 2.0 ** (np.arange(n_grid) * p.grid_cents / CENTS_PER_OCTAVE)
        k = np.arange(1, p.max_salience_partials + 1, dtype=np.float64)
        B0 = p.prior_inharmonicity
        fk = self.grid[:, None] * k[None, :] * np.sqrt(1 + B0 * k ** 2)[None, :]
        n_k = np.clip(np.floor(p.salience_band_hz / self.grid), p.min_salience_partials, p.max_salience_partials)
        valid = (fk <= min(p.max_partial_hz, 0.45 * self.sr)) & (k[None, :] <= n_k[:, None])
        tol_cents = p.grid_cents / 2 + 2.0 + _CENTS_PER_LN * 0.5 * B0 * k ** 2
        tol_bins = fk * (tol_cents[None, :] / _CENTS_PER_LN) / self.bin_hz
        self._radii = (0, 1, 2, 4, 8, 16)
        radii = np.array(self._radii)
        self._sal_sel = {}
        for w in self.windows:
            reach = self.n_fft / w                      # a peak stays near its top over +-1 frame bin
            need = np.maximum(tol_bins - reach, 0.0)
            self._sal_sel[w] = np.minimum(np.searchsorted(radii, need), len(radii) - 1)
        idx = np.rint(fk / self.bin_hz).astype(np.int64)
        idx[~valid] = self._band_hi                      # points at a zero
        self._sal_idx = idx
        w = np.where(fk <= 1500.0, 1.0, np.clip(1.0 - 0.5 * (fk - 1500.0) / 3500.0, 0.5, 1.0))
        self._sal_w = np.where(valid, w, 0.0)
        self._sal_wsum = np.maximum(self._sal_w.sum(axis=1), 1e-9)
        self._sal_k = np.broadcast_to(k, fk.shape)
        # for speed: the max-filtered spectra live in the rows of one zero-padded buffer
        # (_salience), so a candidate's values are one gather at precomputed flat indices
        self._sal_pad = int(radii[-1])
        n_row = self._band_hi + 1 + 2 * self._sal_pad
        self._sal_buf = np.zeros((len(radii), n_row))
        self._sal_flat = {w: sel * n_row + (self._sal_pad + idx) for w, sel in self._sal_sel.items()}
        # for the sub-multiple test (_peaks): partials of each grid f0 off / on multiples of 2, 3
        self._sal_own = {d: valid & (k[None, :] % d != 0) for d in (2, 3)}
        self._sal_shared = {d: valid & (k[None, :] % d == 0) for d in (2, 3)}
        self._sal_n_own = {d: m.sum(axis=1).tolist() for d, m in self._sal_own.items()}
        self._sal_n_shared = {d: m.sum(axis=1).tolist() for d, m in self._sal_shared.items()}

    def _build_noise_tables(self) -> None:
        """Buffers and interpolation positions of :meth:`_noise_db` (for speed)."""
        nb, blk, m = self._n_blk, self._blk, self._band_hi + 1
        self._nz_seg = np.empty(nb * blk)
        self._nz_q3 = np.empty(nb + 2)                  # block floors with their ends repeated
        self._nz_centres = (np.arange(nb) + 0.5) * blk
        self._nz_bins = np.arange(m)

    def _build_onset_bands(self) -> None:
        w = self.windows[0] * 2 if len(self.windows) > 1 else self.windows[0]
        w = min(w, self.windows[-1])
        self._on_w = w
        self._on_hann = np.hanning(w + 2)[1:-1]
        edges = np.geomspace(70.0, min(5000.0, 0.45 * self.sr), 25)
        self._on_edges = e = np.unique(np.clip(np.rint(edges / (self.sr / w)).astype(int), 1, w // 2))
        self._on_lo, self._on_hi = e[:-1], e[1:]
        self._on_width = np.maximum(e[1:] - e[:-1], 1)
        self._on_cs = np.zeros(w // 2 + 2)              # 0, then the cumulative band power

    # -- state -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (a new stream)."""
        self._raw.reset()
        self._den.reset()
        self._hop_e.fill(0.0)
        self._n_hops = 0
        self._have_den = False
        self._reading_idx = 0
        self._prev: dict = {}                 # (signal, frame) -> spectrum X of the last reading
        self._band_hist: List[np.ndarray] = []
        self._onset_sample: Optional[int] = None   # absolute sample of the last onset
        self._onset_reading = -10 ** 9
        self._tracks: List[_Track] = []
        self._shown: Optional[_Track] = None
        self._shown_midi: Optional[int] = None

    # -- streaming API ---------------------------------------------------------------------
    def update(self, raw_hop: np.ndarray, denoised_hop: Optional[np.ndarray] = None) -> Optional[Reading]:
        """Feed one hop (``hop`` samples, float, full scale 1.0) of raw audio and, when a
        denoiser runs, the time-aligned denoised hop (give it always or never).  Returns a
        :class:`Reading` every ``reading_hops`` calls, else None.  Non-finite samples are
        taken as 0.  Raises ``ValueError`` for a wrong length."""
        raw_hop = np.asarray(raw_hop)
        if raw_hop.shape != (self.hop,):
            raise ValueError(f"update expects {self.hop} samples, got shape {raw_hop.shape}")
        if not np.isfinite(raw_hop).all():     # a glitch must not poison the ring buffer
            raw_hop = np.nan_to_num(raw_hop, nan=0.0, posinf=0.0, neginf=0.0)
        self._raw.push(raw_hop)
        dec = raw_hop
        if denoised_hop is not None:
            denoised_hop = np.asarray(denoised_hop)
            if denoised_hop.shape != (self.hop,):
                raise ValueError(f"denoised hop must have {self.hop} samples, got shape {denoised_hop.shape}")
            if not np.isfinite(denoised_hop).all():
                denoised_hop = np.nan_to_num(denoised_hop, nan=0.0, posinf=0.0, neginf=0.0)
            self._den.push(denoised_hop)
            self._have_den = True
            dec = denoised_hop
        elif self._have_den:
            self._den.push(raw_hop)
        self._hop_e[self._n_hops % len(self._hop_e)] = float(np.dot(dec, dec))
        self._n_hops += 1
        if self._n_hops % self.p.reading_hops:
            return None
        return self._reading()

    @property
    def t(self) -> float:
        """Seconds from the start of the input to the newest sample."""
        return self._n_hops * self.hop / self.sr

    @property
    def n_samples(self) -> int:
        """Samples fed so far."""
        return self._n_hops * self.hop

    # -- spectra ---------------------------------------------------------------------------
    def _fft(self, ring: _Ring, W: int, *, lag: int = 0) -> np.ndarray:
        buf = self._fft_buf[W]          # windowed frame written into a zero-padded buffer
        np.multiply(ring.last(W, lag=lag), self._hann[W], out=buf[:W])
        X = scipy.fft.rfft(buf)
        X *= self._norm[W]
        return X

    def _frame(self, which: str, W: int, end: int, cache: dict) -> np.ndarray:
        """Spectrum of the ``W`` samples ending ``end`` samples before the newest, computed
        once per reading (the previous reading's frames are seeded into ``cache`` at
        ``end = lag``, :meth:`_reading`)."""
        key = ("X", which, W, end)
        X = cache.get(key)
        if X is None:
            X = cache[key] = self._fft(self._den if which == "den" else self._raw, W, lag=end)
        return X

    def _spec(self, which: str, W: int, cache: dict, *, offset: int = 0) -> _Spec:
        """Analysed spectrum of the ``W`` samples ending ``offset`` samples before the newest."""
        key = (which, W, offset)
        S = cache.get(key)
        if S is None:
            X = self._frame(which, W, offset, cache)
            mag = np.abs(X[: self._band_hi + 1])
            pdb = 20.0 * np.log10(mag + 1e-12)
            noise_db = self._noise_db(pdb)
            S = cache[key] = _Spec(X, mag, pdb, noise_db, pdb - noise_db)
        return S

    def _above_floor(self, S: _Spec) -> np.ndarray:
        """dB above the noise floor plus ``noise_margin_db``, clipped to ``[0, clip_db]`` (a new array)."""
        C = S.pdb - (S.noise_db + self.p.noise_margin_db)
        return np.minimum(np.maximum(C, 0.0, out=C), self.p.clip_db, out=C)      # np.clip, faster

    def _lagged(self, which: str, W: int, lag: int, cache: dict, *, offset: int = 0) -> np.ndarray:
        """Spectrum of the frame ``lag`` samples before the one ending ``offset`` before the
        newest (the previous reading's when it used the same frame)."""
        return self._frame(which, W, lag + offset, cache)

    def _noise_db(self, pdb: np.ndarray) -> np.ndarray:
        """Mean noise level [dB] per bin: 20th percentile of blocks of bins, smoothed, and
        at least ``dynamic_range_db`` below the strongest bin."""
        nb, blk = self._n_blk, self._blk
        seg = self._nz_seg
        m = len(pdb)
        seg[:m] = pdb
        seg[m:] = pdb[-1]
        q = np.partition(seg.reshape(nb, blk), blk // 5, axis=1)[:, blk // 5]
        if nb >= 3:  # median of three neighbouring blocks
            q3 = self._nz_q3            # q with its first and last block repeated
            q3[1:-1] = q
            q3[0], q3[-1] = q[0], q[-1]
            a, b, c = q3[:-2], q, q3[2:]
            q = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
        noise = np.interp(self._nz_bins[:m], self._nz_centres, q) + _P20_TO_MEAN_DB
        # nothing more than dynamic_range_db below the strongest peak counts (clean
        # signals would otherwise show window sidelobes as partials)
        return np.maximum(noise, float(_max(pdb)) - self.p.dynamic_range_db)

    # -- the reading ---------------------------------------------------------------------------
    def _reading(self) -> Reading:
        p = self.p
        t = self.t
        self._reading_idx += 1
        dec = "den" if self._have_den else "raw"
        self._detect_onset(self._den if self._have_den else self._raw)
        x = self._raw.last(self.lag)
        level = float(_sum(x * x)) / self.lag            # = np.mean(x ** 2), less overhead
        if self._have_den:
            x = self._den.last(self.lag)
            level = max(level, float(_sum(x * x)) / self.lag)
        if 10 * math.log10(level + _TINY) < p.silence_dbfs:
            self._tracks, self._shown, self._shown_midi = [], None, None
            self._prev = {}
            return Reading.silent(t, 0.0)

        # spectra of this reading; the previous reading's frames are this one's lagged frames
        cache: dict = {("X", which, w, self.lag): X for (which, w), X in self._prev.items()}
        W = self._decision_window()
        C = self._above_floor(self._spec(dec, W, cache))
        if self._have_den and p.fuse_spectra == "max":
            # a partial counts where it stands out in either signal: the denoiser lowers
            # the noise, but may also thin out weak guitar partials (a low string's
            # fundamental, its odd partials), which the raw signal still has
            np.maximum(C, self._above_floor(self._spec("raw", W, cache)), out=C)
        sal, saln = self._salience(C, W)
        cands = self._candidates(sal, saln)
        self._update_tracks(cands, saln, W, cache)
        shown = self._choose()
        est_shown = None
        if shown is not None and shown.misses == 0 and shown.last_est is not None:
            est_shown = shown.last_est
            if self._have_den and p.measure_on == "best":   # it may be better on the raw signal
                raw_est = self._estimate(shown, "raw", cache)
                if raw_est is not None and raw_est.n >= p.min_partials and raw_est.sigma < est_shown.sigma:
                    est_shown = raw_est
            self._average(shown, est_shown)
        self._prev = {(k[0], k[1]): v.X for k, v in cache.items() if len(k) == 3 and k[2] == 0}

        best_sal = float(_max(saln)) if len(saln) else -math.inf
        if shown is None:
            return Reading.silent(t, min(0.5, self._conf(best_sal, 0, None, None)))
        conf = self._conf(shown.sal, shown.n, shown.mean_sigma, shown.mean_f)
        if shown.misses:
            conf *= 0.5
        # hysteresis: three times the uncertainty of the shown pitch, within limits (a
        # precisely known note right on a boundary still shows the side it is on)
        sig_c = _CENTS_PER_LN * shown.mean_sigma / shown.mean_f if math.isfinite(shown.mean_sigma) else math.inf
        hyst = min(p.hysteresis_cents, max(p.min_hysteresis_cents, 3.0 * sig_c))
        m = self.notes.map(shown.mean_f, prefer=self._shown_midi, hysteresis_cents=hyst)
        self._shown_midi = m.midi
        return Reading(t=t, note=m.note, cents=m.cents, f0_hz=shown.mean_f, confidence=conf, midi=m.midi,
                       target_hz=m.target_hz)

    # -- onsets and windows ---------------------------------------------------------------------
    def _decision_window(self) -> int:
        """Frame length for the candidate spectrum: grows with the age of the shown note
        (or of the last onset) so a new pluck is seen quickly."""
        if self._shown is not None:
            age = self.n_samples - self._shown.start
        elif self._onset_sample is not None:
            age = self.n_samples - self._onset_sample
        else:
            age = 10 ** 9
        W = self.windows[1] if len(self.windows) > 1 else self.windows[0]
        for w in self.windows:
            if w <= age + self.lag:
                W = max(W, w)
        return W

    def _detect_onset(self, ring: _Ring) -> bool:
        """A jump of band energies (24 log-spaced bands, the mean of the largest rises)
        relative to the last two readings; sets the onset sample
        (the hop with the largest energy rise among the last frame's hops)."""
        w = self._on_w
        x = ring.last(w) * self._on_hann
        P = np.abs(scipy.fft.rfft(x)) ** 2
        cs = self._on_cs                # [0, cumsum(P)]
        _cumsum(P, out=cs[1:])
        band = 10 * np.log10(np.maximum((cs[self._on_hi] - cs[self._on_lo]) / self._on_width, 1e-14))
        hist = self._band_hist
        onset = False
        if len(hist) >= 2:
            ref = np.maximum(hist[-1], hist[-2])
            rise = band - ref
            rise = np.sort(np.minimum(np.maximum(rise, 0.0, out=rise), 30.0, out=rise))  # (np.clip)
            top = rise[-self.p.onset_top_bands:]                  # a high note lifts few bands
            flux = float(_sum(top)) / len(top)                     # (np.mean)
            onset = flux > self.p.onset_flux_db and self._reading_idx - self._onset_reading > 1
        hist.append(band)
        del hist[:-2]
        if onset:
            self._onset_reading = self._reading_idx
            self._onset_sample = self._locate_onset(w)
        return onset

    def _locate_onset(self, span: int) -> int:
        """Absolute sample of the largest hop-energy rise within the last ``span`` samples."""
        n = len(self._hop_e)
        h = min(n - 3, span // self.hop + 1, self._n_hops - 2)
        if h < 1:
            return self.n_samples - span
        idx = (self._n_hops - 1 - np.arange(h + 2)) % n          # newest first
        e = 10 * np.log10(self._hop_e[idx] + 1e-14)
        rise = e[:h] - np.maximum(e[1:h + 1], e[2:h + 2])          # hop i vs the two before it
        i = int(np.argmax(rise))
        return self.n_samples - (i + 1) * self.hop

    # -- candidates ----------------------------------------------------------------------------
    def _salience(self, C: np.ndarray, W: int) -> Tuple[np.ndarray, np.ndarray]:
        """Salience per grid f0: sum over its partials of (dB above floor, max over a
        tolerance neighbourhood) minus the missing-partial penalty, and the same per
        partial (weighted mean).  Keeps the per-partial values (``self._sal_vals``,
        (n_grid, n_partials)) for the octave checks."""
        # Row i of the buffer holds C (its last bin zeroed) max-filtered over +-radii[i]
        # bins, zero beyond the band (scipy.ndimage.maximum_filter1d, mode "constant").  For
        # speed the filters are built incrementally (radii 0, 1, 2, 4, 8, 16: the max over
        # +-2r is the larger of the max over +-r at -r and +r), exact since max is.
        buf, P, L = self._sal_buf, self._sal_pad, self._band_hi + 1
        n = buf.shape[1]
        buf[0, P:P + L - 1] = C[: L - 1]
        buf[0, P + L - 1] = 0.0
        np.maximum(np.maximum(buf[0, :-2], buf[0, 1:-1]), buf[0, 2:], out=buf[1, 1:-1])
        for i in range(2, len(self._radii)):
            r = self._radii[i - 1]      # radius of row i - 1; row i has 2 r
            np.maximum(buf[i - 1, r:n - 3 * r], buf[i - 1, 3 * r:n - r], out=buf[i, 2 * r:n - 2 * r])
        buf[:, P + L - 1] = 0.0
        vals = buf.take(self._sal_flat[W])
        self._sal_vals = vals
        sal = _sum(self._sal_w * (vals - self.p.missing_penalty_db), axis=1)
        return sal, sal / self._sal_wsum

    def _grid_pos(self, f: float) -> float:
        return CENTS_PER_OCTAVE * math.log2(f / self.p.fmin) / self.p.grid_cents

    def _salience_at(self, sal: List[float], f: float) -> float:
        """Largest salience within two grid steps of ``f`` (``sal`` as a list: fast)."""
        i = int(round(self._grid_pos(f)))
        lo, hi = max(0, i - 2), min(len(sal), i + 3)
        if lo >= hi:
            return -math.inf
        return max(sal[lo:hi])

    def _candidates(self, sal: np.ndarray, saln: np.ndarray) -> List[float]:
        """Candidate f0s [Hz]: the strongest peaks of the summed salience (favours rich
        low notes) and of the per-partial salience (fair to high notes with few partials),
        each moved to a sub-multiple that explains nearly as much and has its own partials
        between the peak's (a weak fundamental puts the peak an octave or twelfth up)."""
        p = self.p
        out: List[float] = []
        sal_l = sal.tolist()
        self._peaks(sal, sal_l, sal_l, p.n_candidates, p.candidate_salience * p.min_salience, out)
        self._peaks(saln, saln.tolist(), sal_l, p.n_candidates, p.candidate_salience * p.min_mean_salience, out)
        return out

    def _peaks(self, score: np.ndarray, score_l: List[float], sal: List[float], n: int, floor: float,
               out: List[float]) -> None:
        """(``score_l``, ``sal``: the salience as lists, for fast scalar access.)"""
        p = self.p
        work = score.copy()
        guard = int(round(p.candidate_spacing_cents / p.grid_cents))
        for _ in range(n):
            i = int(work.argmax())
            s = float(work[i])
            if not s >= floor:
                break
            d = 0.0
            if 0 < i < len(score_l) - 1:
                a, b, c = score_l[i - 1], score_l[i], score_l[i + 1]
                den = a - 2 * b + c
                if den < 0:
                    d = min(max(0.5 * (a - c) / den, -0.5), 0.5)
            f = float(p.fmin * 2.0 ** ((i + d) * p.grid_cents / CENTS_PER_OCTAVE))
            work[max(0, i - guard):i + guard + 1] = -np.inf
            s = self._salience_at(sal, f)
            for div in (2, 3):
                fs = f / div
                if fs < p.fmin:
                    continue
                j = int(round(self._grid_pos(fs)))
                ss = self._salience_at(sal, fs)
                if ss < p.submultiple_ratio * s:
                    continue
                n_own, n_shared = self._sal_n_own[div][j], self._sal_n_shared[div][j]
                if n_own and n_shared:
                    vals = self._sal_vals[j]
                    m_own = _sum(vals[self._sal_own[div][j]]) / n_own          # (np.mean)
                    if (m_own >= 0.4 * (_sum(vals[self._sal_shared[div][j]]) / n_shared)
                            and m_own > p.missing_penalty_db):
                        f = fs
                        work[max(0, j - guard):j + guard + 1] = -np.inf
                        break
            if all(abs(_cents(f, g)) > p.candidate_spacing_cents for g in out):
                out.append(f)

    # -- tracks ------------------------------------------------------------------------------
    def _update_tracks(self, cands: List[float], saln: np.ndarray, W: int, cache: dict) -> None:
        p = self.p
        idx = self._reading_idx
        fresh = idx - self._onset_reading <= p.onset_birth_readings
        new = [f for f in cands if not any(abs(_cents(f, tr.f)) < p.match_cents for tr in self._tracks)]
        saln = saln.tolist()            # (scalar look-ups are faster on a list)
        new.sort(key=lambda f: self._salience_at(saln, f), reverse=True)
        for f in new[: p.max_new_tracks + (1 if fresh else 0)]:      # a pluck may bring two
            if fresh and self._onset_sample is not None:
                start, ob = self._onset_sample, True
            else:   # unknown start: it was present in the frame that found it
                start, ob = self.n_samples - W // 2, False
            self._tracks.append(_Track(f, born=idx, start=start, onset_born=ob))
        dec = "den" if self._have_den and self.p.measure_on != "raw" else "raw"
        for tr in self._tracks:
            tr.sal = self._salience_at(saln, tr.f)
        # measure the shown note, then those waiting longest (new ones first), then the
        # strongest, up to max_estimates; the rest wait a turn
        order = sorted(self._tracks, key=lambda x: (x is self._shown, x.n_est == 0, min(idx - x.measured, 2),
                                                    x.energy_db), reverse=True)
        for tr in order[p.max_estimates:]:
            tr.skipped = True
        for tr in order[: p.max_estimates]:
            tr.skipped = False
            tr.measured = idx
            if tr.n_est == 0 and tr.onset_born:
                # a fresh pluck: a second estimate from frames one hop earlier lets the
                # steadiness check (two estimates) pass one reading sooner
                early = self._estimate(tr, dec, cache, offset=self.hop)
            else:
                early = None
            est = self._estimate(tr, dec, cache)
            if (early is not None and est is not None and early.n >= p.min_partials
                    and abs(_cents(early.f1, est.f1)) <= p.early_step_cents):
                tr.recent.append(early.f1)
                tr.n_est += 1
            if est is None or est.n < p.min_partials:
                tr.misses += 1
                tr.last_est = None
                continue
            m = self._ghost_multiple(est, tr)
            if m:   # a sub-harmonic of a real note: become that note
                tr.reset_to(est.f1 * m * math.sqrt((1 + est.B * m * m) / (1 + est.B)))
                tr.last_est = None
                if tr is self._shown:
                    self._shown_midi = None
                continue
            tr.misses = 0
            tr.last_est = est
            odd = (est.k % 2) == 1
            if ((est.snr_db[odd] >= p.own_partial_snr_db).any() and not odd.all()
                    and float(_sum(est.power[odd])) >= p.ghost_power_fraction * float(_sum(est.power))):
                tr.own_seen += 1
            tr.n_est += 1
            tr.f = est.f1
            tr.recent.append(est.f1)
            del tr.recent[:-p.steady_readings]
            tr.energy_db = est.energy_db
            tr.sigma_cents = _CENTS_PER_LN * est.sigma / est.f1
            tr.spread_cents = est.spread_cents
            tr.n = est.n
            tr.frac = est.n / max(est.n_expected, 1)
            tr.unsteady = 0 if self._steady(tr) else tr.unsteady + 1
            if est.B_fitted:
                tr.B_last = est.B
            if est.B_fitted and est.cfg[0] >= self.windows[-1] // 2:
                tr.B_hist.append(est.B)
                del tr.B_hist[:-9]
        # prune: gone, unsteady (gliding voices), duplicates (keep the older)
        keep: List[_Track] = []
        for tr in sorted(self._tracks, key=lambda x: x.born):
            if tr.misses >= p.release_readings or tr.unsteady >= p.release_readings:
                continue
            if tr.n_est == 0 and idx - tr.born >= p.release_readings:
                continue
            if any(abs(_cents(tr.f, o.f)) < p.match_cents for o in keep):
                continue
            keep.append(tr)
        if len(keep) > p.max_tracks:
            keep.sort(key=lambda x: (x is self._shown, self._score(x)), reverse=True)
            keep = keep[: p.max_tracks]
        self._tracks = keep
        if self._shown is not None and self._shown not in keep:
            self._shown = None

    def _ghost_multiple(self, est: _Precise, tr: _Track) -> int:
        """m > 1 when the estimate looks like a sub-harmonic f/m of a real note: at least
        two partials on multiples of m, a negligible share of the measured power between
        them, and none of those within ``ghost_partial_db`` of the strongest on a multiple
        (largest m first).  A track that has shown clear odd partials of its own
        (``own_seen``) is trusted: low guitar strings can have weak odd partials that fade
        into the noise as the note decays.  Else 0."""
        if est.n < 2 or tr.own_seen >= self.p.own_evidence:
            return 0
        total = float(_sum(est.power))
        for m in range(self.p.max_ghost_multiple, 1, -1):
            if est.f1 * m > self.p.fmax * 1.03:
                continue
            on = (est.k % m) == 0
            # octaves need the strictest test: low strings have weak odd partials
            share = self.p.ghost_power_fraction * (1.0 if m == 2 else self.p.ghost_share_above_octave)
            if (np.count_nonzero(on) >= 2 and float(_sum(est.power[~on])) < share * total
                    and (on.all() or float(_max(est.power[~on])) < float(_max(est.power[on]))
                         * 10.0 ** (-self.p.ghost_partial_db / 10.0))):
                return m
        return 0

    def _ready(self, tr: _Track) -> bool:
        """Present, steady and established enough to be shown."""
        need = self.p.onset_confirm_readings if tr.onset_born else self.p.confirm_readings
        return (not tr.skipped and tr.misses == 0 and tr.n_est >= need and tr.unsteady == 0
                and tr.spread_cents <= self.p.ready_spread_cents
                and tr.sal >= self.p.min_mean_salience)

    def _steady(self, tr: _Track) -> bool:
        """The pitch holds still or moves smoothly and slowly (a string, perhaps being
        tuned), unlike a voice (glides, vibrato, jitter).  Two estimates must agree within
        ``first_step_cents``; more must lie on a line (rms ``steady_rms_cents``, or three
        times their own uncertainty in noise, at most ``max_steady_rms_cents``) rising or
        falling by at most
        ``max_glide_cents_s``."""
        p = self.p
        rms, slope = tr.steadiness()
        if len(tr.recent) == 2:
            return rms <= p.first_step_cents
        tol = min(max(p.steady_rms_cents, 3.0 * tr.sigma_cents), p.max_steady_rms_cents)
        return rms <= tol and abs(slope) <= p.max_glide_cents_s * self.lag / self.sr

    def _score(self, tr: _Track, *, bonus: bool = True) -> float:
        """How likely a track is the instrument: partial energy, less a penalty for
        partials missing from its series (sub-octave ghosts), plus a bonus for a fresh pluck."""
        s = tr.energy_db + 20.0 * math.log10(max(tr.frac, 0.05))
        if bonus and tr.onset_born and self._reading_idx - tr.born <= self.p.challenge_readings:
            s += self.p.onset_bonus_db
        return s

    def _choose(self) -> Optional[_Track]:
        """The track to show: keep the shown one while it lasts; a freshly plucked, clearly
        stronger note, or any far stronger one, takes over (strength: :meth:`_score`);
        otherwise the best ready track."""
        p = self.p
        cur = self._shown
        if cur is not None and (cur.unsteady >= p.release_readings
                                or (cur.unsteady and cur.n_est < p.established_readings)):
            cur = None          # a young note must stay steady; an established one may falter
        if cur is not None:
            cur_score = self._score(cur, bonus=False)
            rivals = [tr for tr in self._tracks if tr is not cur and self._ready(tr) and (
                (tr.onset_born and self._reading_idx - tr.born <= p.challenge_readings
                 and self._score(tr, bonus=False) >= cur_score + p.switch_db)
                or self._score(tr, bonus=False) >= cur_score + p.dominant_db)]
            if rivals:
                cur = max(rivals, key=self._score)
            else:   # the shown note may be the upper octave (twelfth) of a ready track
                # (right after a pluck, one estimate with partials of its own is evidence
                # enough: the first readings of a low string often show its octave)
                young = cur.onset_born and cur.n_est < p.established_readings
                for tr in self._tracks:
                    if tr is cur or not self._ready(tr) or tr.own_seen < (1 if young and tr.onset_born else p.own_evidence):
                        continue
                    # its own (odd) partials add energy, or it explains its series as fully
                    if not (tr.energy_db >= cur.energy_db + 1.0
                            or (tr.energy_db >= cur.energy_db - 1.0 and tr.frac >= max(0.5, cur.frac))):
                        continue
                    if any(abs(_cents(cur.f, m * tr.f)) < p.match_cents for m in (2, 3)):
                        cur = tr
                        break
        if cur is None:
            ready = [tr for tr in self._tracks if self._ready(tr)]
            if ready:
                cur = max(ready, key=self._score)
        if cur is not self._shown:
            self._shown_midi = None
        self._shown = cur
        return cur

    # -- precise estimate ---------------------------------------------------------------------
    def _config(self, tr: _Track, *, offset: int = 0) -> Optional[Tuple[int, int]]:
        """(frame, lag) with both frames (ending ``offset`` samples before the newest)
        after the track's start, or None (too young)."""
        age = self.n_samples - tr.start - self._margin - offset
        for w, lag in self._cfgs:
            # long frames wait until they can skip the attack (a plucked string starts sharp)
            skip = self._attack if w > self._short_frame else 0
            if w + lag <= age - skip:
                return w, lag
        return None

    def _estimate(self, tr: _Track, which: str, cache: dict, *, offset: int = 0) -> Optional[_Precise]:
        """Precise estimate of ``tr`` from frames ending ``offset`` samples before the newest."""
        cfg = self._config(tr, offset=offset)
        if cfg is None:
            return None
        W, lag = cfg
        S = self._spec(which, W, cache, offset=offset)
        Xp = self._lagged(which, W, lag, cache, offset=offset)
        B, B_known = tr.B_prior(self.p.prior_inharmonicity)
        return self._precise(S, Xp, W, lag, tr.f, B=B, B_known=B_known, tracked=tr.n_est > 0)

    def _measure(self, S: _Spec, Xp: np.ndarray, W: int, lag: int, k: np.ndarray, fk: np.ndarray,
                 tol_hz: np.ndarray):
        """Locate and measure partials ``k`` predicted at ``fk`` +- ``tol_hz``.  Returns
        (k, f [Hz], var [Hz^2], power [linear, full-scale sine = 1], spread, snr [dB]) of
        the ones found; ``spread`` is the relative disagreement of the frequencies measured on the
        three bins around a peak (zero for a steady sinusoid, large for a gliding or
        vibrating one)."""
        mag, hi_bin = S.mag, self._band_hi - 1
        lobe = self.n_fft / W                                    # FFT bins per frame bin
        c = fk / self.bin_hz
        tb = np.maximum(tol_hz / self.bin_hz, lobe)
        lo = (c - tb).astype(np.int64)
        np.minimum(np.maximum(lo, 1, out=lo), hi_bin, out=lo)    # (np.clip is slower)
        hi = (c + tb + 1.0).astype(np.int64)
        np.minimum(np.maximum(hi, 1, out=hi), hi_bin, out=hi)
        # the strongest bin j in [lo, hi] (the first of equals)
        d = hi - lo
        ar = self._aranges[: int(_max(d)) + 1]
        vals = np.where(ar <= d[:, None], mag.take(lo[:, None] + ar, mode="clip"), -1.0)
        am = vals.argmax(axis=1)
        j = lo + am
        snr_db = S.snr_db[j]
        # a peak strictly inside the range (being the strongest there it is a local maximum)
        ok = (am > 0) & (am < d) & (snr_db >= self.p.min_partial_snr_db)
        if not ok.any():
            return k[:0], fk[:0], fk[:0], fk[:0], fk[:0], fk[:0]
        # (computed for all partials and selected once at the end: fewer numpy calls)
        bins = j[:, None] + self._pm1
        P = S.X[bins] * np.conj(Xp[bins])
        dev = _princarg(np.arctan2(P.imag, P.real) - (2 * np.pi * lag / self.n_fft) * bins)  # np.angle
        fb = (bins + dev * (self.n_fft / (2 * np.pi * lag))) * self.bin_hz
        wts = np.abs(P) + _TINY
        f = _sum(fb * wts, axis=1) / _sum(wts, axis=1)
        ok &= np.abs(f - fk) <= tol_hz + 0.5 * lobe * self.bin_hz
        sel = np.flatnonzero(ok)
        f, fb, snr_db, j = f[sel], fb[sel], snr_db[sel], j[sel]
        spread = (_max(fb, axis=1) - _min(fb, axis=1)) / f     # a steady sinusoid: ~0
        fac = self.sr / (2 * np.pi * lag)
        var = fac * fac * 10 ** (-np.minimum(snr_db, 60.0) / 10) + (f * 1e-7) ** 2
        return k[sel], f, var, mag[j] ** 2, spread, snr_db

    def _precise(self, S: _Spec, Xp: np.ndarray, W: int, lag: int, f_guess: float, *, B: float,
                 B_known: bool, tracked: bool) -> Optional[_Precise]:
        """Partials of the note near ``f_guess`` measured by phase advance between the
        frames ``S`` (newest) and ``Xp`` (``lag`` samples earlier), then the model fit.
        ``B``: inharmonicity to predict partials with (``B_known``: measured before);
        ``tracked``: ``f_guess`` is a precise estimate (narrow search)."""
        p = self.p
        f_max = min(p.max_partial_hz, 0.45 * self.sr)
        f1 = f_guess
        # passes: a few low partials around the guess, then more from the fitted model
        if tracked and B_known:
            k_limits: Tuple[int, ...] = (p.n_precise_partials,)
        elif B_known or tracked:
            k_limits = (6, p.n_precise_partials)
        else:
            k_limits = (4, 10, p.n_precise_partials)
        fitted = None
        ks = fs = vs = pw = sp = sn = np.zeros(0)
        n_expected = 0
        for n_pass, k_lim in enumerate(k_limits):
            k = self._k_arange[k_lim]
            fk = k * f1 * np.sqrt((1 + B * k * k) / (1 + B))
            keep = fk <= f_max
            if not keep.all():
                k, fk = k[keep], fk[keep]
            if len(k) == 0:
                break
            n_expected = len(k)
            tol_c = p.track_cents if (tracked or n_pass > 0) else p.search_cents
            # (a scalar where it is the same for all partials)
            if not B_known and fitted is None:
                tol_c = tol_c + _CENTS_PER_LN * 0.5 * 1.5e-4 * k * k
            elif not B_known:
                tol_c = tol_c + _CENTS_PER_LN * 0.5 * 5e-5 * np.maximum(k * k - k_limits[n_pass - 1] ** 2, 0)
            tol_hz = np.minimum(fk * tol_c / _CENTS_PER_LN, 0.3 * f1)
            ks, fs, vs, pw, sp, sn = self._measure(S, Xp, W, lag, k, fk, tol_hz)
            if len(ks) == 0:
                return None
            keep, fitted = self._reject(ks, fs, vs, B)
            if keep is not None:
                ks, fs, vs, pw, sp, sn = ks[keep], fs[keep], vs[keep], pw[keep], sp[keep], sn[keep]
            if fitted is None:          # (else _reject's last fit is of exactly these partials)
                fitted = self._fit(ks, fs, vs, B)
            f1, B = fitted[0], fitted[2]
            if fk[-1] >= f_max * 0.999:
                break
        if fitted is None:
            return None
        f1, sig, Bf, fit_B, _ = fitted
        pw_sum = _sum(pw)
        energy = 10.0 * math.log10(float(pw_sum) + _TINY)
        spread = _CENTS_PER_LN * float(_sum(pw * sp) / (pw_sum + _TINY))
        return _Precise(f1=f1, sigma=sig, B=Bf, B_fitted=fit_B, n=len(ks), n_expected=n_expected,
                        energy_db=energy, cfg=(W, lag), k=ks, power=pw, spread_cents=spread, snr_db=sn)

    def _reject(self, k: np.ndarray, f: np.ndarray, v: np.ndarray, B: float):
        """Which partials to keep: drop those that disagree with the model fitted to
        all (more than 2 cents and 5 sigma off), at most a third of them, worst first; a
        second round judges the rest against the model fitted without them.  Returns (mask
        of the kept ones, or None for all; :meth:`_fit` of the kept ones when it was made,
        else None)."""
        keep = None
        kk, ff, vv = k, f, v
        for _ in range(2):
            n = len(kk)
            if n <= 2:
                break
            fit = self._fit(kk, ff, vv, B)
            f1, Bf = fit[0], fit[2]
            r = np.abs(_CENTS_PER_LN * np.log(ff / (kk * f1 * np.sqrt((1 + Bf * kk * kk) / (1 + Bf)))))
            z = r / np.maximum(_CENTS_PER_LN * np.sqrt(vv) / ff, 1e-9)
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

    def _fit(self, k: np.ndarray, f: np.ndarray, v: np.ndarray, B_prior: float):
        """Weighted least squares of ``(f_k/k)^2 = a + b k^2`` -> (f1, sigma_f1, B, fitted,
        reduced chi-square).
        With fewer than three partials (or k < 3, or an implausible B) B is fixed to
        ``B_prior`` and only ``a`` is fitted."""
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
            S0, S1, S2 = float(_sum(w)), float(_sum(wx)), float(wx @ x)
            Sy, Sxy = float(w @ y), float(wx @ y)
            det = S0 * S2 - S1 * S1
            if det > 0:
                a = (S2 * Sy - S1 * Sxy) / det
                b = (S0 * Sxy - S1 * Sy) / det
                Bf = b / a if a > 0 else -1.0
                if 0.0 <= Bf <= self.p.max_inharmonicity:
                    res = y - a - b * x
                    chi2 = float(w @ (res * res)) / max(n - 2, 1)
                    var = (S2 - 2 * S1 + S0) / det * max(1.0, chi2)
                    f1 = math.sqrt(a + b)
                    return f1, math.sqrt(var) / (2 * f1), float(Bf), True, chi2
        g = 1.0 + B_prior * x
        wg = w * g
        sw = float(wg @ g)
        a = float(wg @ y) / sw
        var_a = 1.0 / sw
        chi2 = 0.0
        if n >= 2:
            res = y - a * g
            chi2 = float(w @ (res * res)) / (n - 1)
            var_a *= max(1.0, chi2)
        f1 = math.sqrt(a * (1 + B_prior))
        return f1, math.sqrt(var_a * (1 + B_prior)) / (2 * f1), float(B_prior), False, chi2

    # -- averaging and confidence ---------------------------------------------------------------
    def _average(self, tr: _Track, est: _Precise) -> None:
        """The shown pitch from the shown track's recent estimates, into ``tr.mean_f`` and
        ``tr.mean_sigma`` [Hz].

        A steady note: the inverse-variance mean of up to ``max_average_s`` of estimates.
        A pitch that moves by a step (the newest two beyond ``change_sigma`` of the rest)
        restarts the mean; one that drifts (a significant slope over the history: the string settling
        after the pluck, the peg being turned) drops the older half of the history, and
        while the drift lasts the pitch is read off the fitted line, carried forward from
        the frames' centre to the newest sample."""
        p = self.p
        v = est.sigma ** 2 + (est.f1 * 2e-7) ** 2
        tr.hist_f.append(est.f1)
        tr.hist_v.append(v)
        # when the estimate applies: the centre of its frames [readings]
        tr.hist_i.append(self._reading_idx - (est.cfg[0] / 2 + est.cfg[1] / 2) / self.lag)
        del tr.hist_f[:-self._n_hist], tr.hist_v[:-self._n_hist], tr.hist_i[:-self._n_hist]
        trend = self._trend(tr)
        if trend is not None:           # drifting: judge it on the newer half of the history
            keep = max(p.trend_min_points, len(tr.hist_f) // 2)
            tr.hist_f, tr.hist_v, tr.hist_i = tr.hist_f[-keep:], tr.hist_v[-keep:], tr.hist_i[-keep:]
            trend = self._trend(tr)
        if trend is not None:
            value, slope, var = trend
            tr.mean_f = tr.hist_f[-1] * 2.0 ** (value / CENTS_PER_OCTAVE)
            tr.mean_sigma = tr.mean_f * math.sqrt(var) / _CENTS_PER_LN
            return
        if len(tr.hist_f) >= 3:         # a step: the newest two both far from the rest
            m, vm = _wmean(tr.hist_f[:-2], tr.hist_v[:-2])
            d = [f - m for f in tr.hist_f[-2:]]
            far = all(abs(di) > p.change_sigma * math.sqrt(vi + vm) and abs(_cents(m + di, m)) > p.change_min_cents
                      for di, vi in zip(d, tr.hist_v[-2:]))
            if far and d[0] * d[1] > 0:
                tr.hist_f, tr.hist_v, tr.hist_i = tr.hist_f[-2:], tr.hist_v[-2:], tr.hist_i[-2:]
        m, vm = _wmean(tr.hist_f, tr.hist_v)
        if len(tr.hist_f) >= 3:   # scatter beyond the stated uncertainties widens the error
            f = np.array(tr.hist_f)
            w = 1.0 / np.array(tr.hist_v)
            vm *= max(1.0, float(_sum(w * (f - m) ** 2)) / (len(f) - 1))
        tr.mean_f, tr.mean_sigma = m, math.sqrt(vm)

    def _trend(self, tr: _Track) -> Optional[Tuple[float, float, float]]:
        """Weighted straight line through the history in cents (relative to the newest
        estimate) against time (frame centres, in readings): (value now, at the newest
        sample [cents], slope [cents/reading], variance of that value [cents^2]) when the
        slope is significant, else None."""
        n = len(tr.hist_f)
        if n < self.p.trend_min_points:
            return None
        f = np.asarray(tr.hist_f)
        c = _CENTS_PER_LN * np.log(f / f[-1])
        x = np.asarray(tr.hist_i, dtype=np.float64) - self._reading_idx
        w = 1.0 / (_CENTS_PER_LN ** 2 * np.asarray(tr.hist_v) / (f * f))
        wx = w * x
        S0, Sx, Sxx = float(_sum(w)), float(_sum(wx)), float(_sum(wx * x))
        Sy, Sxy = float(_sum(w * c)), float(_sum(wx * c))
        det = S0 * Sxx - Sx * Sx
        if det <= 0:
            return None
        slope = (S0 * Sxy - Sx * Sy) / det
        value = (Sxx * Sy - Sx * Sxy) / det
        res = c - value - slope * x
        chi2 = max(1.0, float(_sum(w * res * res)) / (n - 2))
        var_slope = S0 / det * chi2
        if abs(slope) <= max(self.p.trend_sigma * math.sqrt(var_slope),
                             self.p.min_trend_cents_s * self.lag / self.sr):
            return None
        return value, slope, Sxx / det * chi2

    def _conf(self, sal: float, n_partials: int, sigma_hz: Optional[float], f: Optional[float]) -> float:
        """0..1: per-partial salience relative to the note threshold, partials measured, and the
        uncertainty of the shown pitch (1 for a clear, steady note)."""
        if not math.isfinite(sal):
            return 0.0
        z = (sal - self.p.min_mean_salience) / (0.3 * self.p.min_mean_salience)
        s = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        if sigma_hz is None or f is None or not math.isfinite(sigma_hz):
            return float(s * min(1.0, n_partials / 3 + 0.3))
        sc = abs(_CENTS_PER_LN * sigma_hz / f)
        st = 1.0 / (1.0 + (sc / 5.0) ** 2)
        return min(max(s * min(1.0, n_partials / 3) * (0.5 + 0.5 * st), 0.0), 1.0)


def _wmean(f: List[float], v: List[float]) -> Tuple[float, float]:
    """Inverse-variance weighted mean and its variance."""
    fa = np.asarray(f)
    w = 1.0 / np.asarray(v)
    sw = float(_sum(w))
    return float(_sum(w * fa)) / sw, 1.0 / sw


def track(x: np.ndarray, *, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop,
          params: PitchParams = PitchParams(), notes: Optional[NoteMapper] = None,
          denoised: Optional[np.ndarray] = None) -> List[Reading]:
    """Run a fresh :class:`PitchTracker` over a whole mono signal ``x`` (float ``(n,)``;
    a trailing partial hop is dropped) and return its readings in time order."""
    x = np.asarray(x, dtype=np.float64).ravel()
    d = None if denoised is None else np.asarray(denoised, dtype=np.float64).ravel()
    if d is not None and d.shape != x.shape:
        raise ValueError(f"denoised signal shape {d.shape} differs from the raw {x.shape}")
    tr = PitchTracker(sample_rate=sample_rate, hop=hop, params=params, notes=notes)
    out: List[Reading] = []
    for i in range(len(x) // hop):
        s = slice(i * hop, (i + 1) * hop)
        r = tr.update(x[s], None if d is None else d[s])
        if r is not None:
            out.append(r)
    return out
