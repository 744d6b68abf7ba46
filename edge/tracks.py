"""Note hypotheses ("tracks") followed from reading to reading, and which one is shown.

Each candidate f0 not yet followed becomes a :class:`Track`; every reading up to
``max_estimates`` tracks get a precise estimate (:mod:`~cleartune.edge.partials`).  Tracks
that lose their partials, glide (voices) or turn out to be the sub-harmonic of a real note
are dropped or moved to that note.  The shown track is kept while it lasts; a fresh pluck
clearly stronger (``switch_db``) or any far stronger note (``dominant_db``) takes over, and
so does the note an octave (twelfth) below when its own partials add energy.  A track is
shown only once it is *ready*: measured often enough, steady, with sharp peaks and salient
enough.  Frequencies in Hz, reading indices count readings, samples are absolute.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np

from .partials import PreciseEstimate
from .pitch_math import CENTS_PER_LN, cents, fast_max, fast_sum, line_scatter
from .pitch_params import PitchParams


class Track:
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
        self.salience = -math.inf         # per-partial salience at its frequency [dB]
        self.summed = -math.inf           # summed salience at its frequency [dB]
        self.B_history: List[float] = []  # fitted inharmonicities from long frames
        self.B_last: Optional[float] = None   # the latest fitted inharmonicity
        self.hist_f: List[float] = []     # estimates averaged for the shown pitch [Hz]
        self.hist_v: List[float] = []     # their variances [Hz^2]
        self.hist_i: List[float] = []     # when each applies [readings]
        self.mean_f = f                   # the shown pitch [Hz] (shown_pitch.average_estimate)
        self.mean_sigma = math.inf        # its uncertainty [Hz]
        self.unsteady = 0                 # consecutive unsteady readings
        self.own_seen = 0                 # estimates with clear odd partials (not an octave ghost)
        self.sigma_cents = 0.0            # uncertainty of the latest estimate [cents]
        self.spread_cents = 0.0           # frequency spread across its peaks' bins [cents]
        self.last_est: Optional[PreciseEstimate] = None
        self.skipped = False              # not measured this reading (too many tracks)
        self.measured = -10 ** 9          # reading index of its latest estimate
        self.waited = 0                   # readings it was too young to be measured
        self.clear_first = False          # its latest estimate has a strong, steady first partial
        self.has_first = False            # its latest estimate measured the first partial
        self.first_frame = 0              # frame length of its first estimate [samples]
        self.moving = False               # the pitch is moving (a peg turned): shown_pitch.follow
        self.still_from = start           # frames of its estimates start after this sample
        self.move_votes = 0               # readings in a row the short frames saw it move (signed)
        self.probe_d: List[float] = []    # how far the quiet short-frame estimates lay [cents]
        self.probe_f: List[float] = []    # the newest short-frame estimates [Hz]
        self._before_move: tuple = ()      # what start_following replaced

    def reset_to(self, f: float) -> None:
        """Start over at frequency ``f`` [Hz] (keeps birth and start)."""
        self.f = f
        self.misses = 0
        self.n_est = 0
        self.recent = []
        self.B_history = []
        self.B_last = None
        self.hist_f, self.hist_v, self.hist_i = [], [], []
        self.mean_f, self.mean_sigma = f, math.inf
        self.unsteady = 0
        self.own_seen = 0
        self.moving, self.move_votes, self.probe_d, self.probe_f = False, 0, [], []

    def start_following(self, probe: PreciseEstimate, *, still_from: int) -> None:
        """The pitch moves (a peg turned, seen by ``probe``, an estimate from the shortest
        frames): from here estimates come from frames after ``still_from`` [sample] and the
        shown pitch follows them (``shown_pitch.follow_estimate``); what it was averaging is
        kept for :meth:`stop_following`."""
        self._before_move = (self.hist_f, self.hist_v, self.hist_i, self.mean_f, self.mean_sigma,
                             self.still_from, self.recent)
        self.moving, self.move_votes, self.unsteady, self.probe_d, self.probe_f = True, 0, 0, [], []
        self.hist_f, self.hist_v, self.hist_i = [], [], []
        self.recent = [probe.f1]           # (steadiness judged on the short frames from here)
        self.last_est = probe
        self.still_from = still_from

    def stop_following(self) -> None:
        """A move the short frames could not follow (noise, not a peg): back to the averaged
        pitch and the frames of before, as if it had not been seen."""
        (self.hist_f, self.hist_v, self.hist_i, self.mean_f, self.mean_sigma,
         self.still_from, self.recent) = self._before_move
        self.moving, self.move_votes, self.unsteady, self.misses = False, 0, 0, 0

    def inharmonicity(self, default: float) -> Tuple[float, bool]:
        """Inharmonicity to predict partials with, and whether it was measured."""
        if len(self.B_history) >= 3:  # the median (np.median, done on a short list)
            h = sorted(self.B_history)
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
        c = CENTS_PER_LN * np.log(np.asarray(self.recent) / self.recent[-1])
        if n == 2:
            return abs(float(c[1] - c[0])), float(c[1] - c[0])
        return line_scatter(c)


# -- judging one track ---------------------------------------------------------------------
def is_steady(tr: Track, p: PitchParams, *, max_slope: float) -> bool:
    """The pitch holds still or moves smoothly and slowly (a string, perhaps being tuned),
    unlike a voice (glides, vibrato, jitter).  Two estimates must agree within
    ``first_step_cents``; more must lie on a line (rms ``steady_rms_cents``, or three times
    their own uncertainty in noise, at most ``max_steady_rms_cents``) rising or falling by
    at most ``max_slope`` [cents per reading] (``max_glide_cents_s`` at the reading rate)."""
    rms, slope = tr.steadiness()
    if len(tr.recent) == 2:
        return rms <= (1.5 * max_slope if tr.moving else p.first_step_cents)
    if tr.moving:       # a peg turned: a smooth curve, up to half again the glide rate
        return rms <= p.max_steady_rms_cents and abs(slope) <= 1.5 * max_slope
    tol = min(max(p.steady_rms_cents, 3.0 * tr.sigma_cents), p.max_steady_rms_cents)
    return rms <= tol and abs(slope) <= max_slope


def is_ready(tr: Track, p: PitchParams) -> bool:
    """Present, steady and established enough to be shown."""
    need = p.onset_confirm_readings if tr.onset_born else p.confirm_readings
    return (not tr.skipped and tr.misses == 0 and tr.n_est >= need and tr.unsteady == 0
            and tr.spread_cents <= p.ready_spread_cents
            and (tr.salience >= p.min_mean_salience or tr.clear_first)
            and (tr.f >= p.bass_fundamental_hz or tr.has_first))


def strength(tr: Track, p: PitchParams, reading: int, *, bonus: bool = True) -> float:
    """How likely a track is the instrument [dB]: partial energy, less a penalty for
    partials missing from its series (sub-octave ghosts), plus a bonus for a fresh pluck
    (``reading``: the current reading index)."""
    s = tr.energy_db + 20.0 * math.log10(max(tr.frac, 0.05))
    if bonus and tr.onset_born and reading - tr.born <= p.challenge_readings:
        s += p.onset_bonus_db
    return s


def ghost_multiple(est: PreciseEstimate, tr: Track, p: PitchParams) -> int:
    """m > 1 when the estimate looks like a sub-harmonic f/m of a real note: at least two
    partials on multiples of m, a negligible share of the measured power between them, and
    none of those within ``ghost_partial_db`` of the strongest on a multiple (largest m
    first).  A track that has shown clear odd partials of its own (``own_seen``) is
    trusted: low guitar strings can have weak odd partials that fade into the noise as the
    note decays.  Else 0."""
    if est.n < 2 or tr.own_seen >= p.own_evidence:
        return 0
    total = float(fast_sum(est.power))
    for m in range(p.max_ghost_multiple, 1, -1):
        if est.f1 * m > p.fmax * 1.03:
            continue
        on = (est.k % m) == 0
        # octaves need the strictest test: low strings have weak odd partials
        share = p.ghost_power_fraction * (1.0 if m == 2 else p.ghost_share_above_octave)
        if (np.count_nonzero(on) >= 2 and float(fast_sum(est.power[~on])) < share * total
                and (on.all() or float(fast_max(est.power[~on])) < float(fast_max(est.power[on]))
                     * 10.0 ** (-p.ghost_partial_db / 10.0))):
            return m
    return 0


def has_enough_partials(est: PreciseEstimate, p: PitchParams) -> bool:
    """Enough partials for a note: ``min_partials``, one of them among the first three (a
    string may lack its fundamental and octave, not also its twelfth: else it is a
    sub-harmonic of a real note) unless noise covers the places of those three (the floor
    there within ``subharmonic_clear_db`` of the strongest measured partial: in noise a
    note's lowest partials are often masked, and the rule would show its 4th partial), or
    the first partial alone when it
    stands ``single_partial_snr_db`` above the noise and its peak is that of a steady
    sinusoid (a sine, a tuning fork, a flute or whistle far above its weak upper partials)."""
    if est.n >= p.min_partials:
        return float(est.k[0]) <= 3 or est.low_gap_db < p.subharmonic_clear_db
    return est.n == 1 and has_clear_first_partial(est, p)


def has_clear_first_partial(est: PreciseEstimate, p: PitchParams) -> bool:
    """The first partial was measured ``single_partial_snr_db`` above the noise, and the
    peaks are those of steady sinusoids (spread at most ``single_spread_cents``): a tone
    clear enough to show however few of its expected partials it has (a sine, a fork)."""
    return bool(len(est.k) and est.k[0] == 1 and float(est.snr_db[0]) >= p.single_partial_snr_db
                and est.spread_cents <= p.single_spread_cents)


def has_own_odd_partials(est: PreciseEstimate, p: PitchParams) -> bool:
    """The estimate shows odd partials clearly above the noise, carrying at least
    ``ghost_power_fraction`` of the power (evidence against an octave ghost)."""
    odd = (est.k % 2) == 1
    return bool((est.snr_db[odd] >= p.own_partial_snr_db).any() and not odd.all()
                and float(fast_sum(est.power[odd])) >= p.ghost_power_fraction * float(fast_sum(est.power)))


# -- updating the tracks (birth / measure / prune) -----------------------------------------
def record_estimate(tr: Track, est: PreciseEstimate, p: PitchParams, *, max_slope: float,
                    long_frame: int) -> None:
    """Take a (real, not ghost) precise estimate into ``tr`` (``max_slope``: see
    :func:`is_steady`); fitted inharmonicities from
    frames of at least ``long_frame`` samples enter the track's B history."""
    tr.misses = 0
    tr.last_est = est
    if has_own_odd_partials(est, p):
        tr.own_seen += 1
    tr.n_est += 1
    if (tr.onset_born and len(tr.recent) == 1 and est.frames[0] > tr.first_frame
            and abs(cents(est.f1, tr.recent[0])) > p.first_step_cents):
        tr.recent = []          # a pluck's first estimate, from a short frame in the attack: superseded
    tr.first_frame = tr.first_frame or est.frames[0]
    tr.f = est.f1
    tr.recent.append(est.f1)
    del tr.recent[:-p.steady_readings]
    if not tr.moving:       # (short frames in a turn see less of the note: its standing holds)
        tr.energy_db = est.energy_db
        tr.frac = est.n / max(est.n_expected, 1)
    tr.sigma_cents = CENTS_PER_LN * est.sigma / est.f1
    tr.spread_cents = est.spread_cents
    tr.n = est.n
    tr.clear_first = has_clear_first_partial(est, p)
    tr.has_first = bool(len(est.k) and est.k[0] == 1)
    tr.unsteady = 0 if is_steady(tr, p, max_slope=max_slope) else tr.unsteady + 1
    if est.B_rejected:      # its B numbered the partials wrongly: measured afresh from here
        tr.B_history.clear()
        tr.B_last = None
    if est.B_fitted:
        tr.B_last = est.B
    if est.B_fitted and est.frames[0] >= long_frame:
        tr.B_history.append(est.B)
        del tr.B_history[:-9]


def measurement_order(tracks: List[Track], shown: Optional[Track], reading: int) -> List[Track]:
    """Tracks in the order they get a precise estimate: the shown note, then those waiting
    longest (new ones first), then the strongest."""
    return sorted(tracks, key=lambda x: (x is shown, x.n_est == 0, min(reading - x.measured, 2), x.energy_db),
                  reverse=True)


def surviving_tracks(tracks: List[Track], shown: Optional[Track], p: PitchParams, reading: int) -> List[Track]:
    """Drop tracks that are gone, unsteady (gliding voices), never measured, or duplicates
    (the older is kept); at most ``max_tracks`` remain (the shown one and the strongest)."""
    keep: List[Track] = []
    for tr in sorted(tracks, key=lambda x: x.born):
        if tr.misses >= p.release_readings or tr.unsteady >= p.release_readings:
            continue
        if tr.n_est == 0 and reading - tr.born - tr.waited >= p.release_readings:
            continue
        if any(abs(cents(tr.f, o.f)) < p.match_cents for o in keep):
            continue
        keep.append(tr)
    if len(keep) > p.max_tracks:
        keep.sort(key=lambda x: (x is shown, strength(x, p, reading)), reverse=True)
        keep = keep[: p.max_tracks]
    return keep


# -- which track is shown ------------------------------------------------------------------
def choose_shown(tracks: List[Track], shown: Optional[Track], p: PitchParams, reading: int) -> Optional[Track]:
    """The track to show: keep the shown one while it lasts; a freshly plucked, clearly
    stronger note, or any far stronger one, takes over (strength: :func:`strength`), or the
    note an octave (twelfth) below; otherwise the best ready track."""
    cur = shown if shown is not None and may_stay_shown(shown, p) else None
    if cur is not None:
        cur = _challenger(tracks, cur, p, reading) or _track_below(tracks, cur, p) or cur
    if cur is None:
        ready = [tr for tr in tracks if is_ready(tr, p) and not _pending_below(tracks, tr, p)]
        if ready:
            cur = max(ready, key=lambda tr: strength(tr, p, reading))
    return cur


def may_stay_shown(tr: Track, p: PitchParams) -> bool:
    """The shown track may stay shown (while no other takes over): a young note must stay
    steady; an established one may falter for fewer than ``release_readings`` readings."""
    return tr.unsteady < p.release_readings and not (tr.unsteady and tr.n_est < p.established_readings)


def _pending_below(tracks: List[Track], tr: Track, p: PitchParams) -> bool:
    """A track not yet ready of which ``tr`` is a partial: measured and far stronger
    (``dominant_db``), or still too young to be measured and clearly
    more salient (summed, by ``min_salience``: it explains more partials).  ``tr`` is then not shown first: it waits for that note (a low
    note's partials are a harmonic series of their own, and its frames are longer)."""
    for o in tracks:
        if o is tr or o.f >= tr.f or is_ready(o, p):
            continue
        if abs(cents(tr.f, round(tr.f / o.f) * o.f)) >= p.match_cents:
            continue
        if not o.n_est:
            if o.waited and o.summed >= tr.summed + p.min_salience:
                return True
        elif o.f < p.bass_fundamental_hz and not o.has_first:
            continue            # (it cannot be shown: is_ready)
        elif o.energy_db >= tr.energy_db + p.dominant_db:
            return True
    return False


def _challenger(tracks: List[Track], cur: Track, p: PitchParams, reading: int) -> Optional[Track]:
    """The strongest ready track that takes over from ``cur``: a fresh pluck ``switch_db``
    stronger, or any track ``dominant_db`` stronger; else None."""
    cur_score = strength(cur, p, reading, bonus=False)
    rivals = [tr for tr in tracks if tr is not cur and is_ready(tr, p) and (
        (tr.onset_born and reading - tr.born <= p.challenge_readings
         and strength(tr, p, reading, bonus=False) >= cur_score + p.switch_db)
        or strength(tr, p, reading, bonus=False) >= cur_score + p.dominant_db)]
    return max(rivals, key=lambda tr: strength(tr, p, reading)) if rivals else None


def _track_below(tracks: List[Track], cur: Track, p: PitchParams) -> Optional[Track]:
    """A ready track an octave or twelfth below ``cur`` whose own partials add energy, or
    that explains its series as fully (``cur`` is then its upper partial); else None.
    Right after a pluck one estimate with partials of its own is evidence enough: the first
    readings of a low string often show its octave."""
    young = cur.onset_born and cur.n_est < p.established_readings
    for tr in tracks:
        if tr is cur or not is_ready(tr, p) or tr.own_seen < (1 if young and tr.onset_born else p.own_evidence):
            continue
        if not (tr.energy_db >= cur.energy_db + 1.0
                or (tr.energy_db >= cur.energy_db - 1.0 and tr.frac >= max(0.5, cur.frac))):
            continue
        if any(abs(cents(cur.f, m * tr.f)) < p.match_cents for m in (2, 3)):
            return tr
    return None
