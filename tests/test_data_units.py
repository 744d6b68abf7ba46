"""Unit tests of the dataset pipeline's pieces (no fluidsynth needed): f0 estimator,
exact detune, splitter, noisifier, leak-free splits, MIDI writer, pools, CLI parsing."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from cleartune.train.data import f0 as f0mod
from cleartune.train.data.detune import detune
from cleartune.train.data.f0 import cents, hz_to_midi, measure_f0, midi_to_hz, note_name, parse_note_name
from cleartune.train.data.midi import MidiFile, _vlq
from cleartune.train.data.noisifier import mix_at_snr, snr_db
from cleartune.train.data.split import assign_splits, connected_groups, parse_fractions
from cleartune.train.data.splitter import clip_at, split_recording

SR = 22050


def plucked(f0: float, *, seconds: float = 1.7, sr: int = SR, b: float = 1e-4, fund_amp: float = 0.3,
            noise: float = 1e-3, seed: int = 0, phase0: float = 0.0) -> np.ndarray:
    """Guitar-like tone: partials k*f0*sqrt((1+B k^2)/(1+B)) (partial 1 exactly f0), decaying."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    for k in range(1, 16):
        fk = k * f0 * math.sqrt((1 + b * k * k) / (1 + b))
        if fk >= sr / 2 * 0.95:
            break
        amp = fund_amp if k == 1 else 1.0 / k
        x += amp * np.exp(-t * (1.0 + 0.3 * k)) * np.sin(2 * np.pi * fk * t + phase0 + 0.7 * k)
    return x + noise * rng.standard_normal(len(t))


# -- f0 estimator ------------------------------------------------------------------------

@pytest.mark.parametrize("f0", [82.4069, 97.1234, 146.83, 246.94, 329.63, 523.25, 880.0, 1318.51])
def test_f0_estimator_precise_on_known_tones(f0):
    x = plucked(f0, seed=int(f0))
    est = measure_f0(x, SR, f0_hint=f0 * 2 ** (30 / 1200))        # a hint 30 cents off
    assert est is not None and est.method == "partial1"
    assert abs(cents(est.f0_hz, f0)) < 0.05
    blind = measure_f0(x, SR)                                      # no hint: right octave too
    assert blind is not None and abs(cents(blind.f0_hz, f0)) < 0.05


def test_f0_estimator_reports_inharmonicity_and_uses_upper_partials_when_fundamental_missing():
    f0 = 110.0
    x = plucked(f0, b=0.0, fund_amp=0.0, noise=0.0)                # no fundamental at all
    est = measure_f0(x, SR, f0_hint=f0)
    assert est is not None and est.method == "partials23"
    assert abs(cents(est.f0_hz, f0)) < 0.05
    y = plucked(f0, b=4e-4)
    e2 = measure_f0(y, SR, f0_hint=f0)
    expected = cents(2 * math.sqrt((1 + 4 * 4e-4) / (1 + 4e-4)), 2.0)   # partial 2 above 2*f1
    assert abs(e2.inharmonicity_cents - expected) < 0.05


def test_f0_estimator_none_on_silence_and_noise_robust():
    assert measure_f0(np.zeros(SR), SR) is None
    rng = np.random.default_rng(1)
    x = plucked(196.0, noise=0.0) + 0.02 * rng.standard_normal(int(1.7 * SR))   # ~25 dB SNR
    est = measure_f0(x, SR, f0_hint=196.0)
    assert abs(cents(est.f0_hz, 196.0)) < 0.3


def test_note_helpers():
    assert note_name(40) == "E2" and note_name(69) == "A4" and note_name(61) == "C#4"
    assert midi_to_hz(69) == pytest.approx(440.0) and hz_to_midi(82.4069) == pytest.approx(40.0, abs=1e-4)
    assert parse_note_name("guitar_E2_soft") == 40
    assert parse_note_name("A#3.wav") == 58 and parse_note_name("take-Bb4") == 70 and parse_note_name("Fs2") == 42
    assert parse_note_name("Track2") is None and parse_note_name("recording") is None


# -- detune --------------------------------------------------------------------------------

@pytest.mark.parametrize("shift", [-49.0, -12.3, 7.77, 50.0])
def test_detune_by_fft_resampling_gives_exact_ratio(shift):
    n = int(2.5 * SR)
    t = np.arange(n) / SR
    f = 123.45
    env = np.exp(-t * 2.0) * np.minimum(1.0, t / 0.01)
    env[-2000:] *= np.linspace(1, 0, 2000)                          # silent at both ends
    x = sum(env * np.sin(2 * np.pi * k * f * t) / k for k in (1, 2, 3))
    y, ratio = detune(x, shift)
    assert ratio == n / len(y)                                       # exact, by construction
    assert abs(cents(ratio, 1.0) - shift) < 1200 / (n * math.log(2)) # within one sample of length
    a, b = int(0.3 * SR), int(2.0 * SR)
    est_x = measure_f0(x[a:b], SR, f0_hint=f)
    est_y = measure_f0(y[int(a / ratio):int(b / ratio)], SR, f0_hint=f * ratio)
    assert abs(cents(est_y.f0_hz / est_x.f0_hz, ratio)) < 0.01


def test_detune_zero_is_identity():
    x = np.random.default_rng(0).standard_normal(1000)
    y, r = detune(x, 0.0)
    assert r == 1.0 and np.array_equal(x, y)


# -- splitter ------------------------------------------------------------------------------

def test_splitter_drops_silence_and_pads_tail():
    n = 1000
    x = np.concatenate([0.5 * np.ones(n), np.zeros(n), 0.5 * np.ones(n), 0.5 * np.ones(n // 2 + 10)])
    starts = split_recording(x, clip_samples=n)
    assert starts == [0, 2 * n, 3 * n]                               # silent clip 2 dropped, tail kept
    assert np.count_nonzero(clip_at(x, 3 * n, n)) == n // 2 + 10
    assert split_recording(np.zeros(5000), clip_samples=n) == []
    assert split_recording(1e-4 * np.ones(5000), clip_samples=n) == []   # -80 dBFS: near-silent


def test_clip_at_pads_both_ends():
    x = np.arange(1, 11, dtype=float)
    c = clip_at(x, -3, 6)
    assert list(c) == [0, 0, 0, 1, 2, 3]
    assert list(clip_at(x, 8, 4)) == [9, 10, 0, 0]


# -- noisifier ----------------------------------------------------------------------------

@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.3, 20.0])
def test_mix_exact_snr_and_sum(snr):
    rng = np.random.default_rng(int(snr * 10) + 100)
    clean = 0.3 * plucked(220.0, seconds=1.0, noise=0.0)
    h = rng.standard_normal(len(clean))
    e = 0.01 * rng.standard_normal(len(clean))
    r = mix_at_snr(clean, snr_db_requested=snr, harmonic=h, env=e, harmonic_to_env_db=3.0)
    assert r.mix.dtype == np.float32 and np.array_equal(r.mix, r.clean + r.noise)
    assert abs(snr_db(r.clean, r.noise) - snr) < 0.05 and abs(r.snr_measured_db - snr) < 0.05
    assert np.max(np.abs(r.mix)) <= 0.99 + 1e-6
    # the reported gains reproduce the noise from the raw segments
    assert np.allclose(r.noise, r.harmonic_gain * h + r.env_gain * e, atol=1e-6)
    rms_h, rms_e = (float(np.sqrt(np.mean(x ** 2))) for x in (r.harmonic_gain * h, r.env_gain * e))
    assert 20 * math.log10(rms_h / rms_e) == pytest.approx(3.0, abs=1e-6)


def test_mix_peak_limit_scales_all_three_and_keeps_snr():
    clean = 0.95 * np.sin(np.linspace(0, 200, 5000))
    noise = np.random.default_rng(0).standard_normal(5000)
    r = mix_at_snr(clean, snr_db_requested=-5.0, env=noise)
    assert r.peak_gain < 1.0 and np.max(np.abs(r.mix)) <= 0.99 + 1e-6
    assert abs(r.snr_measured_db + 5.0) < 0.05


def test_mix_clean_inf_has_zero_noise():
    clean = 0.5 * np.sin(np.linspace(0, 100, 3000))
    r = mix_at_snr(clean, snr_db_requested=math.inf, harmonic=np.ones(3000))
    assert not np.any(r.noise) and r.snr_measured_db == math.inf and r.harmonic_gain == 0.0


# -- splits ----------------------------------------------------------------------------------

def test_splits_never_leak_groups():
    rng = np.random.default_rng(0)
    keys = []
    for _ in range(300):
        inst = int(rng.integers(0, 3))
        midi = int(rng.integers(40, 89))
        rec = f"rec{int(rng.integers(0, 120))}"
        keys.append([("rec", rec), ("note", inst, midi)])
    sp = assign_splits(keys, fractions=(0.8, 0.1, 0.1), seed=5)
    owner: dict = {}
    for ks, s in zip(keys, sp):
        for k in ks:
            assert owner.setdefault(k, s) == s
    assert sp == assign_splits(keys, fractions=(0.8, 0.1, 0.1), seed=5)
    assert set(sp) <= {"train", "val", "test"}


def test_split_fractions_and_minimum_one_group():
    keys = [[("rec", i)] for i in range(1000)]
    sp = assign_splits(keys, fractions=(0.8, 0.1, 0.1), seed=1)
    assert abs(sp.count("train") - 800) <= 1 and abs(sp.count("val") - 100) <= 1
    few = assign_splits([[("rec", i)] for i in range(3)], fractions=(0.8, 0.1, 0.1), seed=1)
    assert sorted(few) == ["test", "train", "val"]
    assert connected_groups([[1], [2], [1, 3], [3], [4]]) == [0, 1, 0, 0, 2]
    assert parse_fractions("80,10,10") == pytest.approx((0.8, 0.1, 0.1))
    with pytest.raises(ValueError):
        parse_fractions("80,20")


# -- MIDI ------------------------------------------------------------------------------------

def test_midi_writer_layout():
    assert _vlq(0) == b"\x00" and _vlq(127) == b"\x7f" and _vlq(128) == b"\x81\x00" and _vlq(0x3FFF) == b"\xff\x7f"
    m = MidiFile()
    m.program(0.0, channel=0, program=25)
    m.note(0.5, duration=3.0, channel=0, note=40, velocity=100)
    data = m.to_bytes()
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, 1000)
    assert data[14:18] == b"MTrk" and struct.unpack(">I", data[18:22])[0] == len(data) - 22
    body = data[22:]
    assert b"\xc0\x19" in body and b"\x90\x28\x64" in body and b"\x80\x28\x00" in body and body.endswith(b"\xff\x2f\x00")
    # note-on 500 ms after the program change: delta 500 ticks = VLQ 0x83 0x74
    assert b"\x83\x74\x90\x28\x64" in body
    with pytest.raises(ValueError):
        m.note(0.0, duration=1.0, channel=0, note=128, velocity=1)


# -- pools and CLI parsing -------------------------------------------------------------------

def test_holdout_pool_is_disjoint():
    from cleartune.train.data.sources import GM_NAMES, GM_RANGE, HOLDOUT_POOL, TRAIN_POOL

    a, b = TRAIN_POOL, HOLDOUT_POOL
    assert not set(a.guitar_programs) & set(b.guitar_programs)
    assert not set(a.harmonic_programs) & set(b.harmonic_programs)
    assert not set(a.languages) & set(b.languages) and not {v.lower() for v in a.variants} & {v.lower() for v in b.variants}
    assert a.salt != b.salt and set(b.guitar_programs) == {26, 27}
    for p in a.harmonic_programs + b.harmonic_programs:
        assert p in GM_NAMES and p in GM_RANGE and not 24 <= p <= 31       # no guitars in the noise


def test_cli_parsers():
    from cleartune.train.data.cli_data import parse_int_list, parse_snrs

    assert parse_int_list("40-43,50") == (40, 41, 42, 43, 50)
    assert parse_snrs("clean,10,5,0,-5") == (math.inf, 10.0, 5.0, 0.0, -5.0)
    assert parse_snrs("inf") == (math.inf,)
    with pytest.raises(ValueError):
        parse_snrs("loud")
    with pytest.raises(ValueError):
        parse_int_list("a-b")


def test_f0_module_constants_consistent():
    assert f0mod.A4_HZ == 440.0 and note_name(round(hz_to_midi(f0mod.midi_to_hz(88)))) == "E6"


def test_mic_filter_and_reverb_are_stable_and_keep_pitch():
    import scipy.signal

    from cleartune.train.data.synth_noise import mic_filter, reverb

    x = plucked(220.0, noise=0.0)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        sos, desc = mic_filter(SR, rng)
        assert desc.startswith("hp")
        for sec in sos:                                         # every pole inside the unit circle
            assert np.all(np.abs(np.roots(sec[3:])) < 1.0)
        y = scipy.signal.sosfilt(sos, x)
        assert np.all(np.isfinite(y))
    y = reverb(x, SR, np.random.default_rng(0), rt60_s=0.8, wet=0.4)
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=1e-9)
    a, b = int(0.3 * SR), int(1.7 * SR)
    assert abs(cents(measure_f0(y[a:b], SR, f0_hint=220.0).f0_hz, measure_f0(x[a:b], SR, f0_hint=220.0).f0_hz)) < 0.3


def test_env_noises_are_finite_at_any_rate():
    from cleartune.train.data.synth_noise import ENV_KINDS, make_env_noise

    for sr in (8000, 22050):
        for k in ENV_KINDS:
            x = make_env_noise(k, sr, sr, np.random.default_rng(3))
            assert x.shape == (sr,) and np.all(np.isfinite(x))
            assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0, rel=1e-6)
