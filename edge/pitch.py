"""The pitch tracker: note and cents from a stream of audio hops.

:class:`PitchTracker` is fed exactly ``hop`` new samples per call (``update``) and returns a
:class:`~cleartune.edge.reading.Reading` every ``PitchParams.reading_hops`` calls (21.5
readings per second with hop 256 at 22050 Hz).  Between readings a call only copies the
hop into a ring buffer; all analysis happens on reading hops, one step per module:

1. :mod:`~cleartune.edge.spectrum`: the newest frame (Hann window, zero-padded), its noise
   floor and "dB above the noise" map.  The frame grows with the age of the shown note or
   of the last onset (93 -> 186 -> 372 ms at 22050 Hz).
2. :mod:`~cleartune.edge.onset`: plucks, from jumps of band energies.
3. :mod:`~cleartune.edge.salience`: candidate f0s by harmonic summation on a log grid.
4. :mod:`~cleartune.edge.tracks`: candidates become note hypotheses (tracks), which are
   measured, moved to the real note when they are its sub-harmonic, or dropped; one is shown.
5. :mod:`~cleartune.edge.partials`: each measured track's precise f1 and inharmonicity, from
   the phase advance of its partials between two frames that start after the note's onset
   (a pluck is read 60-110 ms after it starts).
6. :mod:`~cleartune.edge.shown_pitch`: the shown note's estimates averaged, its confidence,
   and the hysteresis of its name.
7. Following the peg: each reading an estimate of the shown note from the shortest frames
   that resolve it watches for a turned peg (``shown_pitch.motion_vote``); while the pitch
   moves, the shown pitch follows a line through the newest short-frame estimates
   (``shown_pitch.follow_estimate``), and when it holds again the frames start after the
   turn and grow (93 -> 372 ms) as after a pluck.  In noise (short frames that scatter) no
   turn is judged and the long frames' average is kept.

Settings: :class:`~cleartune.edge.pitch_params.PitchParams` (re-exported here).

**The guide.**  With a guide (``PitchTracker(guide=...)``: the guitar-pitch model, once per
reading on the newest raw samples) the model names the guitar's note and the DSP measures
it: the note becomes a candidate, the track naming it is measured first and is shown
(the octave it names wins), and while it is shown the tracks of other notes wait.  The
guide never changes a frequency; without a confident note the DSP decides as before (rules
and parameters: :mod:`~cleartune.edge.guide`).

**Range and test tones.**  Candidates are looked for from an octave below B0 to D8
(``fmin``, ``fmax``); a shown note outside B0..C8 (:func:`~cleartune.edge.notes.in_range`)
gives a null reading with ``out_of_range`` set, never a wrong octave.  A frame only looks
for and measures notes whose partials it resolves (``resolve_bins`` periods): B0 waits for
a 4096-sample frame, its first reading comes about 0.3 s after the onset (E1 0.16 s).  One
partial is a note when it is strong and steady (a sine, a tuning fork, a flute); below C2
(``bass_fundamental_hz``) a note needs its fundamental.

**Raw and denoised.**  With a denoised signal (``update(raw, denoised)``) the candidate map
is the bin-wise maximum of the raw and denoised "dB above the noise" maps: the denoiser
removes noise, but a small mask also thins out weak guitar partials (a low string's
fundamental and odd partials), which the raw signal still has.  The precise estimates (and
with them the octave and sub-harmonic checks) use the raw signal, whose partials keep their
true levels and phases; onsets are detected on the denoised signal.

Only numpy and scipy; per hop just a copy into the ring buffer.
"""
from __future__ import annotations

import math
from typing import List, Optional

import numpy as np

from . import guide as G
from . import shown_pitch
from .notes import NoteMapper, in_range
from .onset import OnsetDetector
from .params import EDGE
from .partials import FrameGeometry, PreciseEstimate, precise_estimate
from .pitch_math import TINY, cents, fast_max, fast_sum, pow2_samples
from .pitch_params import PitchParams
from .reading import Reading
from .salience import SalienceGrid, add_lone_peak, candidate_f0s
from .spectrum import FrameAnalyser, NoiseFloor, ReadingSpectra, SampleRing, db_above_floor
from .tracks import (
    Track,
    choose_shown,
    ghost_multiple,
    has_enough_partials,
    is_ready,
    may_stay_shown,
    measurement_order,
    record_estimate,
    strength,
    surviving_tracks,
)

__all__ = ["PitchParams", "PitchTracker"]


def frame_pair_choices(windows: tuple, reading_lag: int, hop: int) -> tuple:
    """(frame length, lag) [samples] for precise estimates, best first: the frames ``windows``
    longest first, each with the lags ``reading_lag`` then ``hop`` up to half its length."""
    pairs = []
    for w in sorted(windows, reverse=True):
        for lag in (reading_lag, hop):
            if lag <= w // 2 and (w, lag) not in pairs:
                pairs.append((w, lag))
    return tuple(pairs)


def checked_hop(x: np.ndarray, hop: int, shape_error: str) -> np.ndarray:
    """One hop of ``hop`` samples as an array (``ValueError`` with ``shape_error`` otherwise),
    non-finite samples set to 0 (a glitch must not poison the ring buffer)."""
    x = np.asarray(x)
    if x.shape != (hop,):
        raise ValueError(shape_error.format(hop, x.shape))
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return x


class PitchTracker:
    """Streaming pitch tracker; see the module docstring.

    sample_rate  [Hz]; hop: samples per ``update`` call; params: :class:`PitchParams`;
    notes: the :class:`~cleartune.edge.notes.NoteMapper` naming the readings; guide: a
    :class:`~cleartune.edge.guide.Guide` (the guitar-pitch model) heard every reading, which
    names the guitar's note (:mod:`~cleartune.edge.guide`; None: the DSP alone decides)."""

    def __init__(self, *, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop,
                 params: PitchParams = PitchParams(), notes: Optional[NoteMapper] = None,
                 guide: Optional["G.Guide"] = None, guide_params: Optional[G.GuideParams] = None) -> None:
        if sample_rate <= 0 or hop <= 0:
            raise ValueError("sample_rate and hop must be positive")
        self.sr, self.hop, self.p = int(sample_rate), int(hop), params
        self.notes = notes if notes is not None else NoteMapper()
        p = params
        if p.fmax >= 0.45 * self.sr:
            raise ValueError(f"fmax={p.fmax} Hz is too high for sample_rate {self.sr}")
        self.windows = tuple(sorted({pow2_samples(w * self.sr) for w in p.windows_s}))
        self.n_fft = max(pow2_samples(p.n_fft_s * self.sr), self.windows[-1])
        self.lag = p.reading_hops * self.hop                  # samples between readings
        self._frame_pairs = frame_pair_choices(self.windows, self.lag, self.hop)
        self.guide, self.gp = guide, guide_params if guide_params is not None else G.GuideParams()
        self._guide_range = getattr(guide, "midi_range", None)
        need = max(self.windows[-1], int(getattr(guide, "window", 0)))        # (the guide's window too)
        ring = self._ring_len = int(math.ceil((need + self.lag) / self.hop)) * self.hop
        self._rings = {"raw": SampleRing(ring, self.hop), "den": SampleRing(ring, self.hop)}
        bin_hz = self.sr / self.n_fft
        band_hi = min(int(p.max_partial_hz / bin_hz) + 2, self.n_fft // 2)
        self._geometry = FrameGeometry(self.sr, self.n_fft, band_hi, bin_hz)
        noise = NoiseFloor(band_hi + 1, max(8, pow2_samples(64.0 / bin_hz)),    # blocks of ~64-100 Hz
                           dynamic_range_db=p.dynamic_range_db)
        self._analyser = FrameAnalyser(self.windows, self.n_fft, band_hi, noise)
        self._grid = SalienceGrid(p, sample_rate=self.sr, n_fft=self.n_fft, band_hi=band_hi,
                                  frame_lens=self.windows)
        onset_frame = min(self.windows[0] * 2 if len(self.windows) > 1 else self.windows[0], self.windows[-1])
        self._onsets = OnsetDetector(sample_rate=self.sr, hop=self.hop, frame_len=onset_frame,
                                     flux_db=p.onset_flux_db, top_bands=p.onset_top_bands)
        self._margin = int(round(p.onset_margin_s * self.sr))
        self._attack = int(round(p.attack_s * self.sr))
        self._short_frame = self.windows[1] if len(self.windows) > 1 else self.windows[0]
        self._n_history = max(1, int(round(p.max_average_s * self.sr / self.lag)))
        self._max_glide = p.max_glide_cents_s * self.lag / self.sr     # [cents per reading]
        self._min_trend = p.min_trend_cents_s * self.lag / self.sr     # [cents per reading]
        self._still_slope = p.still_cents_s * self.lag / self.sr       # [cents per reading]
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new stream)."""
        for ring in self._rings.values():
            ring.reset()
        self._onsets.reset()
        self._n_hops = 0
        self._have_den = False
        self._reading_idx = 0
        self._prev: dict = {}                 # (signal, frame) -> spectrum X of the last reading
        self._tracks: List[Track] = []
        self._shown: Optional[Track] = None
        self._shown_midi: Optional[int] = None
        self.guide_note: Optional[G.GuideNote] = None      # what the guide heard at the latest reading
        self._guide_held: Optional[int] = None               # the guide's note held (guide.held_note)
        self._guide_f: Optional[float] = None                # the guide's candidate this reading [Hz]
        if self.guide is not None:
            self.guide.reset()

    # -- streaming API ---------------------------------------------------------------------
    def update(self, raw_hop: np.ndarray, denoised_hop: Optional[np.ndarray] = None) -> Optional[Reading]:
        """Feed one hop (``hop`` samples, float, full scale 1.0) of raw audio and, when a
        denoiser runs, the time-aligned denoised hop (give it always or never).  Returns a
        :class:`Reading` every ``reading_hops`` calls, else None.  Non-finite samples are
        taken as 0.  Raises ``ValueError`` for a wrong length."""
        raw_hop = checked_hop(raw_hop, self.hop, "update expects {} samples, got shape {}")
        self._rings["raw"].push(raw_hop)
        onset_hop = raw_hop
        if denoised_hop is not None:
            denoised_hop = checked_hop(denoised_hop, self.hop, "denoised hop must have {} samples, got shape {}")
            self._rings["den"].push(denoised_hop)
            self._have_den = True
            onset_hop = denoised_hop
        elif self._have_den:
            self._rings["den"].push(raw_hop)
        self._onsets.add_hop(onset_hop, self._n_hops)
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

    # -- the reading -----------------------------------------------------------------------
    def _reading(self) -> Reading:
        t = self.t
        self._reading_idx += 1
        if self.guide is not None:       # every reading (its memory steps with the signal)
            self.guide_note = self.guide.listen(self._rings["raw"].last(self.guide.window))
        decision = "den" if self._have_den else "raw"
        self._onsets.detect(self._rings[decision], reading_index=self._reading_idx, n_hops=self._n_hops)
        if 10 * math.log10(self._level() + TINY) < self.p.silence_dbfs:
            self._tracks, self._shown, self._shown_midi = [], None, None
            self._prev = {}
            return Reading.silent(t, 0.0)
        spectra = ReadingSpectra(self._analyser, self._rings, self._prev, reading_lag=self.lag)
        W = self._decision_window()
        C = self._candidate_map(spectra, W)
        summed, per_partial, values = self._grid.salience(C, W)
        candidates: List[float] = []
        if G.looks_for_candidates(self._shown, self.guide_note, self.gp, midi_range=self._guide_range):
            candidates = candidate_f0s(self._grid, summed, per_partial, values)
            add_lone_peak(self._grid, C, candidates)
        f_guide = G.guide_candidate(candidates + [tr.f for tr in self._tracks], self.guide_note, self.gp,
                                    grid_hz=self._grid.grid, summed=summed)
        if f_guide is not None:
            candidates.append(f_guide)
        self._guide_f = f_guide
        if self._shown is not None and self._shown.moving:    # (its frames: the shortest, newest)
            self._shown.still_from = self.n_samples - sum(self._shortest_pair(self._shown))
        self._update_tracks(candidates, per_partial, W, spectra, summed=summed)
        for tr in self._tracks:
            if tr.moving and (tr.misses or tr.unsteady or tr is not self._shown):
                tr.stop_following()     # short frames lost it: a false alarm (noise), as before
        shown = self._choose()
        if shown is not None and shown.misses == 0 and shown.last_est is not None:
            self._show_pitch(shown, spectra)
        self._prev = spectra.newest_frames()
        if shown is None:
            best = float(fast_max(per_partial)) if len(per_partial) else -math.inf
            return Reading.silent(t, min(0.5, shown_pitch.confidence(self.p, best, 0, None, None)))
        return self._shown_reading(t, shown)

    def _show_pitch(self, tr: Track, spectra: ReadingSpectra) -> None:
        """The shown pitch of ``tr`` from its newest estimate: averaged while it holds
        (:func:`~cleartune.edge.shown_pitch.average_estimate`), followed along a line through
        the newest short-frame estimates while it moves (a peg being turned:
        :func:`~cleartune.edge.shown_pitch.follow_estimate`).  The move is seen by an
        estimate from the shortest frames (:func:`~cleartune.edge.shown_pitch.motion_vote`);
        when the line flattens, frames start after the move and grow again."""
        p, idx = self.p, self._reading_idx
        short = self._shortest_pair(tr)
        if not tr.moving and tr.hist_f:
            est = tr.last_est
            probe = est if est.frames == short else self._estimate(tr, spectra, frames=short)
            ok = probe is not None and has_enough_partials(probe, p)
            tr.move_votes = shown_pitch.motion_vote(tr, probe, p, min_slope=2 * self._still_slope,
                                                             max_slope=self._max_glide) if ok else 0
            if abs(tr.move_votes) >= p.follow_readings:
                tr.start_following(probe, still_from=self.n_samples - sum(short))
        if tr.moving:
            slope = shown_pitch.follow_estimate(tr, tr.last_est, p, reading=idx, lag=self.lag)
            if len(tr.hist_f) >= 2 and abs(slope) <= self._still_slope:
                tr.moving = False
                tr.still_from = self.n_samples - sum(short)
                tr.hist_f, tr.hist_v, tr.hist_i = [], [], []
            return
        shown_pitch.average_estimate(tr, tr.last_est, p, reading=idx, lag=self.lag,
                                     n_history=self._n_history, min_slope=self._min_trend)

    def _min_frame(self, tr: Track) -> float:
        """The shortest frame [samples] that resolves ``tr``'s partials (``resolve_bins``
        periods): a frame shorter would let them leak into each other."""
        return self.p.resolve_bins * self.sr / tr.f

    def _shortest_frame(self, tr: Track) -> int:
        """The shortest of the frames that resolve ``tr``'s partials [samples]."""
        w_min = self._min_frame(tr)
        return min((w for w in self.windows if w >= w_min), default=self.windows[-1])

    def _shortest_pair(self, tr: Track) -> tuple:
        """(frame length, lag) [samples] of ``tr``'s quickest estimate: the shortest frame
        that resolves its partials, lagged one hop."""
        return self._shortest_frame(tr), self.hop

    def _level(self) -> float:
        """Mean power of the last reading's samples (the larger of raw and denoised)."""
        x = self._rings["raw"].last(self.lag)
        level = float(fast_sum(x * x)) / self.lag            # = np.mean(x ** 2), less overhead
        if self._have_den:
            x = self._rings["den"].last(self.lag)
            level = max(level, float(fast_sum(x * x)) / self.lag)
        return level

    def _candidate_map(self, spectra: ReadingSpectra, W: int) -> np.ndarray:
        """dB above the noise of the newest ``W``-sample frame; with a denoised signal the
        bin-wise maximum of the denoised and the raw map (a partial counts where it stands
        out in either: the denoiser lowers the noise, but may also thin out weak guitar
        partials, which the raw signal still has)."""
        p = self.p
        C = db_above_floor(spectra.analysed("den" if self._have_den else "raw", W),
                           margin_db=p.noise_margin_db, clip_db=p.clip_db)
        if self._have_den:
            np.maximum(C, db_above_floor(spectra.analysed("raw", W), margin_db=p.noise_margin_db,
                                         clip_db=p.clip_db), out=C)
        return C

    def _shown_reading(self, t: float, shown: Track) -> Reading:
        sal, n = shown.salience, shown.n
        if shown.clear_first:   # a clear first partial (a sine, a fork) is as sure as a full series
            sal, n = max(sal, 2.0 * self.p.min_mean_salience), max(n, 3)
        conf = shown_pitch.confidence(self.p, sal, n, shown.mean_sigma, shown.mean_f)
        if shown.misses:
            conf *= 0.5
        if not in_range(shown.mean_f, a4=self.notes.a4):
            # a clear tone below B0 or above C8: no note (never a wrong octave), and says so
            self._shown_midi = None
            return Reading(t=t, confidence=conf, out_of_range=True)
        m = self.notes.map(shown.mean_f, prefer=self._shown_midi,
                           hysteresis_cents=shown_pitch.hysteresis_cents(shown, self.p))
        self._shown_midi = m.midi
        return Reading(t=t, note=m.note, cents=m.cents, f0_hz=shown.mean_f, confidence=conf, midi=m.midi,
                       target_hz=m.target_hz)

    def _decision_window(self) -> int:
        """Frame length for the candidate spectrum: grows with the age of the shown note
        (or of the last onset) so a new pluck is seen quickly."""
        if self._shown is not None:
            age = self.n_samples - self._shown.start
        elif self._onsets.onset_sample is not None:
            age = self.n_samples - self._onsets.onset_sample
        else:
            age = 10 ** 9
        W = self.windows[1] if len(self.windows) > 1 else self.windows[0]
        for w in self.windows:
            if w <= age + self.lag:
                W = max(W, w)
        return W

    # -- tracks ----------------------------------------------------------------------------
    def _update_tracks(self, candidates: List[float], per_partial: np.ndarray, W: int,
                       spectra: ReadingSpectra, *, summed: Optional[np.ndarray] = None) -> None:
        """Birth of tracks for new candidates, precise estimates of up to ``max_estimates``
        tracks, then pruning."""
        p, idx = self.p, self._reading_idx
        salience = per_partial.tolist()            # (scalar look-ups are faster on a list)
        self._add_tracks(candidates, salience, W)
        summed_l = summed.tolist() if summed is not None else None
        for tr in self._tracks:
            tr.salience = self._grid.near(salience, tr.f)
            tr.summed = self._grid.near(summed_l, tr.f) if summed_l is not None else -math.inf
        order = G.guided_order(measurement_order(self._tracks, self._shown, idx), self.guide_note, self.gp)
        measure = G.tracks_to_measure(order, self._shown, self.guide_note, self.gp, budget=p.max_estimates,
                                      midi_range=self._guide_range)
        for tr in order:
            tr.skipped = True
        for tr in measure:
            tr.skipped, tr.measured = False, idx
            if tr.n_est == 0 and self._frames_after_start(tr) is None:
                tr.waited += 1      # too young for frames that resolve its partials: not a miss
                continue
            self._measure_track(tr, spectra)
        self._tracks = surviving_tracks(self._tracks, self._shown, p, idx)
        if self._shown is not None and self._shown not in self._tracks:
            self._shown = None

    def _add_tracks(self, candidates: List[float], salience: List[float], W: int) -> None:
        """New tracks for the candidates no track follows, most salient first (the guide's
        note before all; one more right after an onset: a pluck may bring two); a track born
        right after an onset starts there, else it was present in the ``W``-sample frame that
        found it."""
        p, idx, onsets = self.p, self._reading_idx, self._onsets
        fresh = idx - onsets.onset_reading <= p.onset_birth_readings
        new = [f for f in candidates if not any(abs(cents(f, tr.f)) < p.match_cents for tr in self._tracks)]
        new.sort(key=lambda f: (f == self._guide_f, self._grid.near(salience, f)), reverse=True)
        for f in new[: p.max_new_tracks + (1 if fresh else 0)]:
            if fresh and onsets.onset_sample is not None:
                start, onset_born = onsets.onset_sample, True
            else:
                start, onset_born = self.n_samples - W // 2, False
            self._tracks.append(Track(f, born=idx, start=start, onset_born=onset_born))

    def _measure_track(self, tr: Track, spectra: ReadingSpectra) -> None:
        """One precise estimate of ``tr`` (two for a fresh pluck: one from frames a hop
        earlier lets the steadiness check pass one reading sooner); a sub-harmonic of a real
        note becomes that note."""
        p = self.p
        early = self._estimate(tr, spectra, end=self.hop) if tr.n_est == 0 and tr.onset_born else None
        est = self._estimate(tr, spectra)
        if (early is not None and est is not None and early.n >= p.min_partials
                and abs(cents(early.f1, est.f1)) <= p.early_step_cents):
            tr.recent.append(early.f1)
            tr.n_est += 1
        if est is None or not has_enough_partials(est, p):
            tr.misses += 1
            tr.last_est = None
            return
        m = ghost_multiple(est, tr, p)
        if m:
            tr.reset_to(est.f1 * m * math.sqrt((1 + est.B * m * m) / (1 + est.B)))
            tr.last_est = None
            if tr is self._shown:
                self._shown_midi = None
            return
        record_estimate(tr, est, p, max_slope=self._max_glide, long_frame=self.windows[-1] // 2)

    def _estimate(self, tr: Track, spectra: ReadingSpectra, *, end: int = 0,
                  frames: Optional[tuple] = None) -> Optional[PreciseEstimate]:
        """Precise estimate of ``tr`` on the raw signal from frames ending ``end`` samples
        before the newest (``frames``: (frame length, lag), else the longest that fit after
        the note's start); None while the note is too young for any frame pair."""
        frames = frames or self._frames_after_start(tr, end=end)
        if frames is None:
            return None
        W, lag = frames
        B, B_known = tr.inharmonicity(self.p.prior_inharmonicity)
        return precise_estimate(spectra.analysed("raw", W, end=end), spectra.frame("raw", W, end=lag + end),
                                self._geometry, self.p, frame_len=W, lag=lag, f_guess=tr.f, B=B,
                                B_known=B_known, tracked=tr.n_est > 0)

    def _frames_after_start(self, tr: Track, *, end: int = 0):
        """(frame length, lag) with both frames (ending ``end`` samples before the newest)
        after the track's start, or None (too young).  Long frames wait until they can skip
        the attack (a plucked string starts sharp), except the shortest frame that resolves
        a low note; a frame shorter than ``resolve_bins`` periods of the note is never used
        (its partials would leak into each other)."""
        age = self.n_samples - tr.start - self._margin - end
        still = self.n_samples - tr.still_from - end          # (since a moving pitch held)
        w_min, shortest = self._min_frame(tr), self._shortest_frame(tr)
        for w, lag in self._frame_pairs:
            if w < w_min:
                break
            if w + lag + end > self._ring_len:
                continue        # (an early estimate of a note that waited: not that far back)
            skip = self._attack if w > max(self._short_frame, shortest) else 0
            if w + lag <= min(age - skip, still):
                return w, lag
        return None

    def _choose(self) -> Optional[Track]:
        p, idx = self.p, self._reading_idx
        cur = choose_shown(self._tracks, self._shown, p, idx)
        if self.guide_note is not None:
            cur = G.guided_choice(self._tracks, self._shown, cur, self.guide_note, self.gp,
                                  ready=lambda tr: is_ready(tr, p), strength=lambda tr: strength(tr, p, idx),
                                  alive=lambda tr: may_stay_shown(tr, p),
                                  midi_range=self._guide_range, held=self._guide_held)
            self._guide_held = G.held_note(self._guide_held, None if cur is None else cur.f, self.guide_note, self.gp)
        if cur is not self._shown:
            self._shown_midi = None
        self._shown = cur
        return cur
