"""The pitch tracker (edge/pitch.py) on synthetic guitar-like notes with known pitch.

Tolerances are the product requirements: median |error| <= 0.1 cent and p95 <= 0.5 cent
from 0.5 s after the pluck, no octave errors on the low strings, first stable reading
within 150 ms, nothing shown for silence, noise or a voice, no flicker on a boundary.
"""
import dataclasses
import math

import numpy as np
import pytest
from tracking import track

from cleartune.edge.notes import NoteMapper, hz_to_midi, midi_to_name
from cleartune.edge.params import EDGE
from cleartune.edge.pitch import PitchParams, PitchTracker
from cleartune.edge.reading import Reading
from cleartune.train import synth as S

SR, HOP = EDGE.sample_rate, EDGE.hop
READING_S = PitchParams().reading_hops * HOP / SR


def _true_name(f1):
    return midi_to_name(int(math.floor(hz_to_midi(f1) + 0.5)))


def _cents(f, ref):
    return 1200.0 * np.log2(np.asarray(f, dtype=np.float64) / ref)


def _first_stable(readings, name, onset):
    """Seconds from the onset to the first reading after which every reading shows
    ``name`` (inf if never)."""
    ok = [r.note == name for r in readings]
    i = len(ok)
    while i > 0 and ok[i - 1]:
        i -= 1
    if i == len(ok) or readings[i].t < onset:
        return math.inf
    return readings[i].t - onset


# -- API ------------------------------------------------------------------------------------
def test_update_cadence_time_and_reset():
    tr = PitchTracker(sample_rate=SR, hop=HOP)
    x, _ = S.plucked_string(196.0, duration=0.5, seed=0)
    out = [tr.update(x[i * HOP:(i + 1) * HOP]) for i in range(len(x) // HOP)]
    got = [(i, r) for i, r in enumerate(out) if r is not None]
    n = PitchParams().reading_hops
    assert [i for i, _ in got] == list(range(n - 1, len(out), n))
    for i, r in got:
        assert isinstance(r, Reading)
        assert r.t == pytest.approx((i + 1) * HOP / SR, abs=1e-12)
        assert 0.0 <= r.confidence <= 1.0
    assert tr.t == pytest.approx(len(out) * HOP / SR)
    tr.reset()
    assert tr.t == 0.0
    first = [tr.update(np.zeros(HOP)) for _ in range(n)]
    assert first[-1] is not None and first[-1].t == pytest.approx(n * HOP / SR) and first[-1].note is None


def test_update_rejects_wrong_lengths():
    tr = PitchTracker(sample_rate=SR, hop=HOP)
    with pytest.raises(ValueError):
        tr.update(np.zeros(HOP + 1))
    with pytest.raises(ValueError):
        tr.update(np.zeros(HOP), np.zeros(HOP - 1))
    with pytest.raises(ValueError):
        PitchTracker(sample_rate=SR, hop=HOP, params=PitchParams(fmax=20000.0))
    with pytest.raises(ValueError):
        PitchParams(fmin=500.0, fmax=400.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PitchParams().fmin = 50.0  # frozen


def test_reading_rate_at_least_ten_per_second():
    assert 1.0 / READING_S >= 10.0


# -- precision ------------------------------------------------------------------------------
NOTES = [40, 43, 45, 48, 50, 53, 55, 57, 59, 62, 64, 67, 69, 72, 76, 81, 84, 88]   # E2 .. E6


@pytest.mark.parametrize("midi", NOTES)
def test_precision_steady_note(midi):
    rng = np.random.default_rng(midi)
    onset = 0.2 + rng.uniform(0, READING_S)
    x, f1 = S.plucked_string(S.detuned_hz(midi, rng.uniform(-50, 50)), duration=1.8, onset_s=onset,
                             inharmonicity=10 ** rng.uniform(-5, -3.7), brightness=rng.uniform(0.4, 1.2),
                             pluck_position=rng.uniform(0.1, 0.3), seed=int(rng.integers(1 << 30)))
    readings = [r for r in track(x) if r.t >= onset + 0.5]
    assert len(readings) >= 20
    assert all(r.note == _true_name(f1) for r in readings)
    err = np.abs(_cents([r.f0_hz for r in readings], f1))
    assert np.median(err) <= 0.1
    assert np.percentile(err, 95) <= 0.5
    # the reported cents are relative to the named note
    r = readings[-1]
    assert r.cents == pytest.approx(float(_cents(r.f0_hz, r.target_hz)), abs=1e-9)


def test_precision_with_attack_pitch_glide():
    """Strings are sharp right after a hard pluck; the glide must not bias the average."""
    x, f1 = S.plucked_string(S.detuned_hz(45, -23.0), duration=1.6, onset_s=0.2, attack_glide_cents=12.0,
                             attack_glide_tau=0.08, seed=5)
    readings = [r for r in track(x) if r.t >= 0.7]
    err = np.abs(_cents([r.f0_hz for r in readings], f1))
    assert np.median(err) <= 0.1 and np.percentile(err, 95) <= 0.5


@pytest.mark.parametrize("midi,fund_db,pluck", [(40, -20.0, 0.12), (40, -15.0, 0.25), (40, -12.0, 0.5 - 1e-3),
                                                (45, -20.0, 0.15), (45, -15.0, 0.3), (38, -18.0, 0.2)])
def test_no_octave_errors_low_strings_weak_fundamental(midi, fund_db, pluck):
    x, f1 = S.plucked_string(S.detuned_hz(midi, 13.0), duration=2.5, onset_s=0.2, fundamental_db=fund_db,
                             pluck_position=pluck, inharmonicity=1e-4, seed=midi)
    shown = [r for r in track(x) if r.note is not None]
    assert shown, "no note shown"
    assert all(r.note == _true_name(f1) for r in shown)
    assert all(abs(_cents(r.f0_hz, f1)) < 5.0 for r in shown)


# -- speed ------------------------------------------------------------------------------------
def test_first_stable_reading_within_150ms():
    rng = np.random.default_rng(11)
    lat = []
    for midi in (40, 45, 50, 55, 59, 64, 69, 76, 84, 88):
        for _ in range(2):
            onset = 0.3 + rng.uniform(0.0, READING_S)       # any phase against the reading clock
            x, f1 = S.plucked_string(S.detuned_hz(midi, rng.uniform(-45, 45)), duration=1.0, onset_s=onset,
                                     seed=int(rng.integers(1 << 30)))
            lat.append(_first_stable(track(x), _true_name(f1), onset))
    assert max(lat) <= 0.150, lat


# -- nothing when there is no note ------------------------------------------------------------
def _note_fraction(x):
    rs = track(x)
    return float(np.mean([r.note is not None for r in rs]))


def test_null_for_silence_and_noise():
    assert _note_fraction(np.zeros(3 * SR, np.float32)) == 0.0
    for seed in range(3):
        assert _note_fraction(S.white_noise(3.0, rms=0.1, seed=seed)) == 0.0
        assert _note_fraction(S.white_noise(3.0, rms=1e-3, seed=seed)) == 0.0
        assert _note_fraction(S.pink_noise(3.0, rms=0.1, seed=seed)) == 0.0


def test_null_for_speech_like_voice():
    fr = [_note_fraction(S.speech_like(3.0, seed=s)) for s in range(5)]
    assert np.mean(fr) <= 0.10, fr
    assert max(fr) <= 0.30, fr


def test_silence_after_note_returns_to_null():
    x, _ = S.plucked_string(220.0, duration=1.0, onset_s=0.1, seed=1)
    x = np.concatenate([x, np.zeros(SR, np.float32)])
    rs = track(x)
    assert any(r.note == "A3" for r in rs if r.t < 1.0)
    assert all(r.note is None for r in rs if r.t > 1.2)


# -- display stability ---------------------------------------------------------------------
@pytest.mark.parametrize("cents_off", [48.0, -48.0, 49.5])
def test_no_flicker_near_boundary(cents_off):
    x, f1 = S.plucked_string(S.detuned_hz(57, cents_off), duration=2.5, onset_s=0.2, seed=3)
    noisy = S.mix_at_snr(x, S.white_noise(2.5, seed=4), 20.0)
    for sig in (x, noisy):
        notes = [r.note for r in track(sig) if r.note is not None]
        assert len(notes) > 20
        assert set(notes) == {_true_name(f1)}


def _glide(f_start, cents_per_s, *, duration, onset, seed=0):
    """A decaying harmonic string whose pitch glides linearly in cents (peg turning).
    Returns (audio, f(t) function)."""
    t = np.arange(int(duration * SR)) / SR
    tt = np.maximum(t - onset, 0.0)
    ratio = 2.0 ** (cents_per_s * tt / 1200.0)
    phase = 2 * np.pi * f_start * np.cumsum(ratio) / SR
    rng = np.random.default_rng(seed)
    y = sum(k ** -1.0 * np.exp(-tt * (0.6 + 0.2 * k)) * np.sin(k * phase + rng.uniform(0, 6.3)) for k in range(1, 9))
    y = np.where(t >= onset, y, 0.0) * 0.3
    return y.astype(np.float32), lambda tq: f_start * 2.0 ** (cents_per_s * max(tq - onset, 0.0) / 1200.0)


def test_follows_peg_turning():
    """Turning the peg at 30 cents/s: once the frames have grown (0.6 s after the pluck)
    the reading keeps up with the pitch."""
    x, f_of_t = _glide(S.detuned_hz(50, -30.0), 30.0, duration=2.5, onset=0.2)
    rs = [r for r in track(x) if r.t > 0.8 and r.note is not None]
    assert len(rs) > 30
    lag_err = [abs(float(_cents(r.f0_hz, f_of_t(r.t)))) for r in rs]
    assert np.median(lag_err) <= 3.0 and max(lag_err) <= 8.0
    # it went from D3-30 to D3+39: the shown name stays D3 throughout
    assert {r.note for r in rs} == {"D3"}


def test_new_pluck_replaces_ringing_note():
    a, _ = S.plucked_string(S.detuned_hz(45, 0.0), duration=3.0, onset_s=0.1, seed=1)
    d, fd = S.plucked_string(S.detuned_hz(50, 10.0), duration=3.0, onset_s=1.5, seed=2)
    rs = track(a + d)
    assert all(r.note == "A2" for r in rs if 0.4 < r.t < 1.5 and r.note is not None)
    assert _first_stable(rs, _true_name(fd), 1.5) <= 0.15


# -- confidence, modes, denoised input -----------------------------------------------------------
def test_confidence_meaningful():
    x, _ = S.plucked_string(147.0, duration=2.0, onset_s=0.2, seed=2)
    clean = [r.confidence for r in track(x) if r.t > 0.7]
    noisy = [r.confidence for r in track(S.mix_at_snr(x, S.pink_noise(2.0, seed=3), -5.0)) if r.t > 0.7]
    silent = [r.confidence for r in track(np.zeros(SR, np.float32))]
    assert min(clean) >= 0.8
    assert np.median(noisy) < np.median(clean)
    assert max(silent) == 0.0


def test_guitar_mode_names_strings():
    x, f1 = S.plucked_string(S.detuned_hz(47, 0.0), duration=1.5, onset_s=0.1, seed=4)   # B2
    rs = [r for r in track(x, notes=NoteMapper(mode="guitar")) if r.t > 0.5]
    assert {r.note for r in rs} == {"A2"}
    assert all(r.cents == pytest.approx(200.0, abs=0.5) for r in rs)


def test_denoised_signal_decides():
    """A perfect denoiser (the clean note) fixes a mix the raw signal alone gets wrong: the
    onsets and the candidate map come from the denoised signal too (here either one is
    enough), while the precise estimates stay on the raw one.  (Not every such mix is
    fixed: at -8 dB, or for other notes and noise seeds, a perfect denoiser often does not
    help, since the partials are measured on the raw signal; this case is one it does.)"""
    clean, f1 = S.plucked_string(S.detuned_hz(64, 20.0), duration=3.0, onset_s=0.3, seed=6)
    noise = S.orchestra_like(3.0, seed=8)
    mix = S.mix_at_snr(clean, noise, -3.0)
    name = _true_name(f1)
    with_den = [r for r in track(mix, denoised=clean) if r.t > 0.6]
    acc_den = np.mean([r.note == name for r in with_den])
    acc_raw = np.mean([r.note == name for r in track(mix) if r.t > 0.6])
    assert acc_den >= 0.95 and acc_raw <= 0.6      # (the raw signal alone: 56 % right)
    err = np.abs(_cents([r.f0_hz for r in with_den if r.note == name], f1))
    assert np.median(err) <= 0.5


def test_robust_to_glitches_clipping_and_dc():
    """Non-finite samples, clipping and DC offset: no exceptions or warnings, still the note."""
    import warnings

    x, f1 = S.plucked_string(S.detuned_hz(45, 5.0), duration=1.5, onset_s=0.1, seed=0)
    x = x.astype(np.float64)
    x[5000:5100] = np.nan
    x[9000] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loud = np.clip(np.nan_to_num(x, nan=0.0, posinf=0.0) * 50.0, -1.0, 1.0) + 0.3
        for sig in (x, loud, np.zeros(SR), np.full(SR, 0.5)):
            rs = track(sig)
            assert all(0.0 <= r.confidence <= 1.0 for r in rs)
    assert {r.note for r in track(x) if r.t > 0.8} == {"A2"}
    assert all(r.note is None for r in track(np.full(SR, 0.5)))


@pytest.mark.parametrize("sr,hop", [(44100, 512), (16000, 256)])
def test_other_sample_rates(sr, hop):
    """Frames are set in seconds, so other rates and hops work the same."""
    for midi in (40, 69):
        x, f1 = S.plucked_string(S.detuned_hz(midi, 17.0), sample_rate=sr, duration=1.5, onset_s=0.2, seed=midi)
        late = [r for r in track(x, sample_rate=sr, hop=hop) if r.t > 0.7]
        assert late and all(r.note == _true_name(f1) for r in late)
        assert np.median(np.abs(_cents([r.f0_hz for r in late], f1))) <= 0.1
