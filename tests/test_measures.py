"""The measures every report uses (cleartune.train.measures): SI-SDR and its cap, SNR
buckets, the settle rule, the right note, the settled (per-clip) reading, and the one
"readings of a signal" path (edge.pipeline.analyze_samples) with replayed denoised audio."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cleartune.train import measures as M


def test_si_sdr_known_values_and_cap():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(20000)
    n = rng.standard_normal(20000)
    s, n = s - s.mean(), n - n.mean()                        # si_sdr removes the means
    n -= s * np.dot(n, s) / np.dot(s, s)                     # exactly orthogonal noise
    for snr in (-5.0, 0.0, 20.0):
        x = s + n * math.sqrt(np.dot(s, s) / np.dot(n, n) / 10 ** (snr / 10))
        assert M.si_sdr(s, x) == pytest.approx(snr, abs=1e-6)
        assert M.si_sdr(s, 3.0 * x) == pytest.approx(snr, abs=1e-6)     # scale-invariant
    assert M.si_sdr(s, 0.3 * s) == M.SI_SDR_CAP_DB == 100.0             # perfect: the cap, not inf
    assert M.si_sdr(s, s + 1e-9 * n) == M.SI_SDR_CAP_DB                 # 180 dB -> capped
    assert M.si_sdr(s, n) == -M.SI_SDR_CAP_DB                           # orthogonal: -cap
    assert M.si_sdr(s, np.zeros_like(s)) == -M.SI_SDR_CAP_DB            # silent estimate
    assert math.isnan(M.si_sdr(np.zeros(10), s[:10]))                  # silent reference: undefined


def test_snr_bucket_edges():
    cases = {math.inf: "clean", 10.0: "10 dB", 7.5: "10 dB", 7.49: "5 dB", 2.5: "5 dB", 2.49: "0 dB",
             0.0: "0 dB", -2.5: "0 dB", -2.51: "-5 dB", -5.0: "-5 dB", -7.6: "-10 dB", 20.0: "20 dB",
             "inf": "clean", "5": "5 dB", None: "unknown", math.nan: "unknown", "": "unknown"}
    assert {k: M.snr_bucket(k) for k in cases} == cases
    labels = ["-5 dB", "unknown", "10 dB", "clean", "0 dB", "5 dB"]
    assert sorted(labels, key=M.bucket_sort_key) == ["clean", "10 dB", "5 dB", "0 dB", "-5 dB", "unknown"]


def test_settle_rule():
    assert M.SETTLE_S == 0.15
    t = np.array([0.0, 0.1, 0.149, 0.15, 0.3, 0.44, 0.45, 2.0])
    assert M.readings_that_count(t, onset_s=0.0).tolist() == [False, False, False, True, True, True, True, True]
    assert M.readings_that_count(t, onset_s=0.3).tolist() == [False] * 6 + [True, True]
    # a clip that starts mid-note (negative onset) counts from SETTLE_S after its start; nan/None = 0
    for onset in (-1.0, None, math.nan, "x"):
        assert M.counts_from(onset) == pytest.approx(0.15)


def test_right_note_boundary_and_octave():
    f = 110.0                                               # A2 = MIDI 45
    f0 = np.array([np.nan, f, f * 2 ** (40 / 1200), f * 2 ** (60 / 1200), 2 * f, f / 2 * 2 ** (30 / 1200),
                   f * 2 ** (700 / 1200), 4 * f * 2 ** (-60 / 1200)])
    right, voiced, octave, cents = M.judge(f0, true_f0=f)
    assert right.tolist() == [False, True, True, False, False, False, False, False]
    assert voiced.tolist() == [False] + [True] * 7
    assert octave.tolist() == [False, False, False, False, True, True, False, False]   # -60 c off 2 oct: not
    assert cents[2] == pytest.approx(40.0) and np.isnan(cents[3])
    # a named note overrides the nearest one
    r, *_ = M.judge(np.array([117.0, 117.0]), true_f0=f, notes=np.array([45.0, 46.0]))
    assert r.tolist() == [True, False]
    # the truth within BOUNDARY_CENTS of a boundary: both neighbours are right, not the note beyond
    fb = f * 2 ** (49 / 1200)
    assert M.right_notes(fb) == (45, 46) and M.right_notes(f * 2 ** (46 / 1200)) == (45, None)
    r, *_ = M.judge(np.full(3, fb), true_f0=fb, notes=np.array([45.0, 46.0, 47.0]))
    assert r.tolist() == [True, True, False]


def test_settled_reading_is_the_median_reading_04_to_16_s_after_the_pluck():
    f = 110.0
    t = np.arange(1, 80) * 0.0464                            # readings every 46.4 ms, 3.7 s
    f0 = np.full(len(t), f)
    onset = 0.5
    # before the window: octave flashes; after it: another instrument; inside: mostly right
    f0[t < onset + 0.4] = 2 * f
    f0[t > onset + 1.6] = f * 2 ** (500 / 1200)
    inside = np.flatnonzero((t >= onset + 0.4) & (t <= onset + 1.6))
    f0[inside[:10]] = f * 2 ** (700 / 1200)                  # 10 of 26 inside read a fifth up
    sf, note = M.settled_reading(t, f0, onset_s=onset)
    assert sf == f and note == 45
    sc = M.score_clip(t, f0, true_f0=f * 2 ** (2 / 1200), onset_s=onset)
    assert sc["settled"]["right"] and sc["settled"]["cents"] == pytest.approx(-2.0)
    assert sc["n"] == int(np.sum(t >= onset + M.SETTLE_S)) and sc["right"] < sc["n"]
    # a majority inside the window wrong -> the settled reading is wrong
    f0[inside[:16]] = f * 2 ** (700 / 1200)
    assert M.settled_reading(t, f0, onset_s=onset)[1] == 52
    # an even count takes the lower middle reading (a real reading, never between two notes)
    t2, f2 = np.array([1.0, 1.1]), np.array([f, 2 * f])
    assert M.settled_reading(t2, f2, onset_s=0.0) == (f, 45.0)
    # most readings inside show no note -> no note; half -> the shown ones
    f3 = np.array([f, np.nan, np.nan])
    assert all(math.isnan(v) for v in M.settled_reading(np.array([1.0, 1.1, 1.2]), f3, onset_s=0.0))
    assert M.settled_reading(np.array([1.0, 1.1]), np.array([np.nan, f]), onset_s=0.0) == (f, 45.0)
    # no reading in the window -> no note (wrong), and a clip that starts mid-note still settles
    assert all(math.isnan(v) for v in M.settled_reading(np.array([0.2, 2.5]), np.array([f, f]), onset_s=0.0))
    assert M.settled_reading(np.array([0.1, 0.3, 0.6]), np.array([2 * f, f, f]), onset_s=-0.3)[0] == f
    sc = M.score_clip(np.array([1.0]), np.array([np.nan]), true_f0=f, onset_s=0.0)
    assert sc["settled"] == {"f0_hz": None, "note": None, "voiced": False, "right": False, "octave": False,
                             "cents": None}


def test_replayed_denoised_audio_reaches_the_tracker():
    """replay_tuner + analyze_samples: the one path; the replayed signal is what the tracker
    sees beside the raw one; without one it equals ``analyze --no-denoise``."""
    from cleartune.edge.pipeline import Tuner, TunerConfig, analyze_samples
    from cleartune.train import synth

    x, f1 = synth.plucked_string(synth.detuned_hz(57, 0.0), duration=1.2, onset_s=0.1, seed=1)
    raw = M.reading_arrays(analyze_samples(x, M.replay_tuner()))
    ref = M.reading_arrays(analyze_samples(x, Tuner(TunerConfig(denoise=False))))
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(raw, ref))   # same as analyze --no-denoise
    assert np.nanmedian(raw[2][raw[0] > 0.4]) == 57
    # a replayed silence (a mask that removed everything) reaches the tracker and changes its readings
    other = M.reading_arrays(analyze_samples(x, M.replay_tuner(np.zeros_like(x))))
    assert not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(raw, other))
