"""Settings of the pitch tracker (:class:`~cleartune.edge.pitch.PitchTracker`).

One frozen dataclass; each step's module (``spectrum``, ``onset``, ``salience``, ``partials``,
``tracks``, ``shown_pitch``) reads the fields it needs.  Times in seconds, frequencies in Hz,
levels in dB.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class PitchParams:
    """Tracker settings.  Times in seconds, frequencies in Hz, levels in dB."""

    # range and cadence
    fmin: float = 15.0                     # lowest first partial looked for: an octave below the
                                           # range's B0 (30.87 Hz), so a tone below the range is
                                           # seen there (out of range), not read an octave up
    fmax: float = 4700.0                   # highest first partial looked for (D8, above C8 = 4186 Hz)
    resolve_bins: float = 3.0              # a note's partials lie this many frame bins (sample
                                           # rate / frame) apart in the frames it is looked for
                                           # and measured in: B0 needs 4096 samples (186 ms)
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
    mean_salience_fmax: float = 1800.0     # candidates by per-partial salience up to this f0
                                           # (above, one or two partials of a rich low note look
                                           # like a high note; a high note is found by its summed
                                           # salience or as the lone strongest peak)
    max_salience_partials: int = 12        # ... and at most this many
    summed_fmax: float = 1400.0            # a salience peak above this (E6 and a bend) is no
                                           # candidate: there a noisy spectrum's or a rich
                                           # note's upper partials sum up to a false note; a
                                           # tone above comes in as the lone strongest peak
    max_partial_hz: float = 5000.0         # partials above this are ignored
    clip_db: float = 30.0                  # dB above the noise are clipped here (log compression)
    dynamic_range_db: float = 60.0         # the floor is at most this far below the strongest peak
    noise_margin_db: float = 3.0           # "above floor" means this far above the mean noise
    missing_penalty_db: float = 4.0        # subtracted per expected partial (missing ones cost)
    submultiple_ratio: float = 0.85        # f/2, f/3 win if their salience is >= this x the winner's
    prior_inharmonicity: float = 4e-5      # B assumed before it is measured
    max_inharmonicity: float = 1e-3        # a fitted B outside [0, this] is not believed
    inharmonic_suspect: float = 1e-4       # a B this large that explains at most this share of
    stiff_max_share: float = 0.25          # ... the partials looked for loses to a full harmonic
    harmonic_min_share: float = 0.75       # ... series (this share of them) that explains twice
    inharmonic_min_gain: int = 2           # ... and this many more partials
    inharmonic_max_shift_cents: float = 10.0   # ... within this of its f1 (partials.harmonic_alternative)
    # precise estimate
    n_precise_partials: int = 24           # partials measured per estimate (at most)
    min_partial_snr_db: float = 6.0        # a partial must stand this far above the mean noise
    search_cents: float = 25.0             # partial search half-width around a coarse guess
    track_cents: float = 6.0               # ... around a prediction from measured partials
    # decisions
    silence_dbfs: float = -90.0            # RMS below this is silence (digital silence, dither)
    min_salience: float = 25.0             # summed salience (dB above floor) of a candidate peak
    min_mean_salience: float = 5.0         # least salience per partial for a note [dB]
    min_partials: int = 2                  # least partials measured for a note ...
    single_partial_snr_db: float = 20.0    # ... or the first alone, this far above the noise
    single_spread_cents: float = 0.5       # ... and this sharp (a steady sinusoid: a sine, a
                                           # tuning fork, a flute or whistle)
    bass_fundamental_hz: float = 65.0      # a note below this (below drop-C's C2) is shown only
                                           # with its first partial measured: a sub-octave of a
                                           # string (with another string ringing) explains its
                                           # partials too
    subharmonic_clear_db: float = 30.0     # a note without partials 1-3 is a sub-harmonic when
                                           # the noise floor at their places lies this far
                                           # below its strongest partial (nearer: noise may
                                           # cover them)
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
    ready_spread_cents: float = 3.0        # a note is first shown only when its peaks are this
                                           # sharp (frequency spread across a peak's bins)
    # following the peg (a pitch that moves while the string rings)
    follow_cents: float = 1.0              # the shortest frames' estimate this far from the shown
    follow_sigma: float = 4.0              # ... pitch (and this many times the rms scatter of
    follow_quiet: int = 4                  # ... at least this many quiet ones before) ...
    follow_max_bias_cents: float = 3.0     # ... (not when their median is this far off ...
    follow_max_scatter_cents: float = 1.2  # ... or their scatter this large: noise) ...
    follow_readings: int = 2               # ... this many readings in a row, on the same side,
                                           # means the peg is turning: short frames, a line
                                           # through the newest estimates, no averaging
    ramp_probes: int = 4                   # ... or this many in a row rise (or fall) smoothly
    follow_points: int = 2                 # estimates in that line (the newest)
    still_cents_s: float = 10.0            # the turn ends when the line is flatter than this
                                           # [cents/s]; frames then start after it (growing again)
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
