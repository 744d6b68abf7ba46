"""Test signals with known pitch (train/synth.py)."""
import math

import numpy as np
import pytest

from cleartune.train import synth as S

SR = S.DEFAULT_SAMPLE_RATE


def _partial_freqs(x, sr, f_guess, k_max):
    """Partial frequencies by a long zero-padded Blackman FFT and log-parabolic peaks."""
    n = 1 << 21
    X = np.abs(np.fft.rfft(x * np.blackman(len(x)), n))
    out = []
    for k in range(1, k_max + 1):
        lo, hi = int(k * f_guess * 0.985 * n / sr), int(k * f_guess * 1.03 * n / sr)
        i = lo + int(np.argmax(X[lo:hi]))
        a, b, c = np.log(X[i - 1:i + 2])
        out.append((i + 0.5 * (a - c) / (a - 2 * b + c)) * sr / n)
    return np.array(out)


def test_plucked_string_truth_and_inharmonicity():
    B = 2e-4
    x, f1 = S.plucked_string(110.0, duration=2.0, inharmonicity=B, fundamental_db=None, body_ripple_db=0.0,
                             transient_db=None, seed=1)
    assert x.dtype == np.float32 and x.shape == (2 * SR,)
    assert f1 == pytest.approx(110.0 * math.sqrt(1 + B), rel=1e-12)
    fk = _partial_freqs(x[SR // 4:].astype(np.float64), SR, 110.0, 6)
    k = np.arange(1, 7)
    expect = k * 110.0 * np.sqrt(1 + B * k ** 2)
    assert np.max(np.abs(1200 * np.log2(fk / expect))) < 0.05      # cents
    assert abs(1200 * np.log2(fk[0] / f1)) < 0.05


def test_weak_fundamental_on_low_strings():
    x, f1 = S.plucked_string(82.41, duration=1.5, seed=3)   # E2, default "auto" fundamental level
    seg = x[SR // 4: SR // 4 + 16384].astype(np.float64)
    X = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    f = np.fft.rfftfreq(len(seg), 1 / SR)

    def level(fr):
        m = np.abs(f - fr) < 3.0
        return 20 * np.log10(X[m].max())
    l1, l2, l3 = level(f1), level(2 * f1), level(3 * f1)
    assert 10.0 <= max(l2, l3) - l1 <= 20.0


def test_onset_silence_amplitude_and_determinism():
    x, _ = S.plucked_string(196.0, duration=1.0, onset_s=0.25, amplitude=0.3, seed=7)
    y, _ = S.plucked_string(196.0, duration=1.0, onset_s=0.25, amplitude=0.3, seed=7)
    assert np.array_equal(x, y)
    n0 = int(0.25 * SR)
    assert np.all(x[:n0] == 0.0)
    assert np.max(np.abs(x)) == pytest.approx(0.3, rel=1e-5)
    # decays: the last 0.1 s is well below the first 0.1 s after the onset
    early = np.sqrt(np.mean(x[n0:n0 + SR // 10] ** 2))
    late = np.sqrt(np.mean(x[-SR // 10:] ** 2))
    assert late < 0.7 * early


def test_plucked_string_errors():
    with pytest.raises(ValueError):
        S.plucked_string(-1.0)
    with pytest.raises(ValueError):
        S.plucked_string(110.0, onset_s=5.0, duration=1.0)
    with pytest.raises(ValueError):
        S.plucked_string(110.0, pluck_position=1.5)


@pytest.mark.parametrize("fn", [S.white_noise, S.pink_noise, S.speech_like, S.babble, S.orchestra_like])
def test_noise_makers_rms_and_shape(fn):
    x = fn(1.0, rms=0.05, seed=2)
    assert x.dtype == np.float32 and x.shape == (SR,)
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(0.05, rel=1e-3)
    assert np.all(np.isfinite(x))


def test_pink_noise_slope():
    x = S.pink_noise(4.0, seed=0).astype(np.float64)
    P = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    lo = P[(f > 100) & (f < 200)].mean()
    hi = P[(f > 1600) & (f < 3200)].mean()
    assert 10 * np.log10(lo / hi) == pytest.approx(12.0, abs=1.5)   # 3 dB/octave over 4 octaves


def test_speech_like_glides():
    """The voice's pitch moves: its strongest low partial wanders by more than a semitone."""
    x = S.speech_like(2.0, f0=150.0, vibrato_cents=0.0, seed=4).astype(np.float64)
    peaks = []
    for s in range(0, len(x) - 4096, 2048):
        seg = x[s:s + 4096] * np.hanning(4096)
        X = np.abs(np.fft.rfft(seg, 1 << 15))
        f = np.fft.rfftfreq(1 << 15, 1 / SR)
        m = (f > 90) & (f < 300)
        if X[m].max() > 1e-3 * X.max():
            peaks.append(f[m][np.argmax(X[m])])
    c = 1200 * np.log2(np.array(peaks) / np.median(peaks))
    assert c.max() - c.min() > 100.0


def test_orchestra_has_a440():
    x = S.orchestra_like(3.0, n_held=0, n_runs=0, include_a440=True, seed=1).astype(np.float64)
    X = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1 / SR)
    assert abs(f[np.argmax(X)] - 440.0) < 2.0


def test_mix_at_snr():
    clean, _ = S.plucked_string(220.0, duration=1.0, seed=0)
    noise = S.white_noise(0.5, seed=1)              # shorter: tiled
    for snr in (5.0, 0.0, -5.0):
        mix = S.mix_at_snr(clean, noise, snr)
        n = mix.astype(np.float64) - clean
        got = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(n ** 2))
        assert got == pytest.approx(snr, abs=0.01)
    with pytest.raises(ValueError):
        S.mix_at_snr(np.zeros(100), noise, 0.0)
