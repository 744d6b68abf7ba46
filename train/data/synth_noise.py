"""Synthesized environmental noise and a simple synthetic reverb (numpy/scipy only).

Every generator takes ``n`` (samples), ``sample_rate`` [Hz] and a ``numpy.random.Generator``
and returns float64 ``(n,)`` normalised to RMS 1 (callers scale).  Kinds:

* ``white`` / ``pink`` / ``brown`` / ``coloured`` - 1/f^alpha noise (alpha 0, 1, 2, random)
  with slow level drift;
* ``hum`` - mains hum at 50 or 60 Hz with harmonics (some buzzy), drifting slightly;
* ``clicks`` - knocks, taps and clicks (damped resonances, noise bursts) at random times;
* ``wind`` - low-passed noise with slow gusty amplitude modulation;
* ``fan`` - HVAC/fan: low-passed pink noise plus a jittering blade-pass tone and harmonics;
* ``babble`` (crowd) is assembled from espeak-ng voices in :mod:`.sources`.

:func:`reverb` convolves with a decaying-noise impulse response (frequency-dependent
decay, a few early reflections); it is applied to some noises and some guitars.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.fft
import scipy.signal

ENV_KINDS = ("white", "pink", "brown", "coloured", "hum", "clicks", "wind", "fan")


def _rms_normalise(x: np.ndarray) -> np.ndarray:
    r = float(np.sqrt(np.mean(np.square(x))))
    return x / r if r > 0 else x


def _smooth_random(n: int, sample_rate: int, rng: np.random.Generator, *, rate_hz: float) -> np.ndarray:
    """A smooth random curve (~N(0,1)) with variations at about ``rate_hz``, shape ``(n,)``."""
    n_knots = max(4, int(math.ceil(n / sample_rate * rate_hz)) + 3)
    knots = rng.standard_normal(n_knots)
    xs = np.linspace(0, n_knots - 1, n)
    # cubic-ish smoothing: linear interpolation of a smoothed knot sequence
    k = np.convolve(knots, [0.25, 0.5, 0.25], mode="same") * 1.6
    return np.interp(xs, np.arange(n_knots), k)


def coloured_noise(n: int, sample_rate: int, rng: np.random.Generator, *, alpha: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f^alpha (0 white, 1 pink, 2 brown), RMS 1, DC removed."""
    spec = scipy.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    shape = np.ones_like(f)
    shape[1:] = (f[1:] / f[1]) ** (-alpha / 2.0)
    shape[0] = 0.0
    # below 20 Hz nothing a microphone would pass
    shape[f < 20.0] *= (f[f < 20.0] / 20.0) ** 2
    return _rms_normalise(scipy.fft.irfft(spec * shape, n))


def _level_drift(n: int, sample_rate: int, rng: np.random.Generator, *, depth_db: float, rate_hz: float) -> np.ndarray:
    return 10 ** (depth_db * _smooth_random(n, sample_rate, rng, rate_hz=rate_hz) / 20.0)


def hum(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 or 60 Hz (+-0.3 %), harmonics with random amplitudes up to ~2 kHz."""
    mains = float(rng.choice([50.0, 60.0])) * (1.0 + rng.uniform(-0.003, 0.003))
    t = np.arange(n) / sample_rate
    buzzy = rng.random() < 0.4
    n_harm = int(min(40 if buzzy else 8, (sample_rate / 2 * 0.9) // mains))
    drift = 1.0 + 0.0005 * _smooth_random(n, sample_rate, rng, rate_hz=0.2)
    phase = 2 * np.pi * mains * np.cumsum(drift) / sample_rate
    x = np.zeros(n)
    for k in range(1, n_harm + 1):
        amp = rng.uniform(0.2, 1.0) * (k ** (-0.7 if buzzy else -1.5))
        if not buzzy and k % 2 == 1 and k > 1:
            amp *= 0.3
        x += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    x += 0.02 * coloured_noise(n, sample_rate, rng, alpha=1.0)
    del t
    return _rms_normalise(x)


def clicks(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Knocks (damped low resonances), taps and clicks at Poisson times (0.3-4 per second)."""
    rate = rng.uniform(0.3, 4.0)
    count = max(1, rng.poisson(rate * n / sample_rate))
    x = np.zeros(n)
    for _ in range(count):
        at = int(rng.integers(0, n))
        kind = rng.random()
        if kind < 0.45:      # knock: damped resonance 60-500 Hz
            f = rng.uniform(60, 500)
            dur = rng.uniform(0.05, 0.3)
            tt = np.arange(int(dur * sample_rate)) / sample_rate
            ev = np.sin(2 * np.pi * f * tt) * np.exp(-tt / (dur / 5))
        elif kind < 0.8:     # tap: short filtered noise burst
            dur = rng.uniform(0.005, 0.04)
            m = max(8, int(dur * sample_rate))
            top = min(8000.0, 0.45 * sample_rate)
            lo, hi = sorted(rng.uniform(200, top / 1.5, 2))
            sos = scipy.signal.butter(2, [lo, max(hi, lo * 1.5)], btype="band", fs=sample_rate, output="sos")
            ev = scipy.signal.sosfilt(sos, rng.standard_normal(m)) * np.exp(-np.arange(m) / (m / 4))
        else:                # click: a few samples
            m = int(rng.integers(1, 6))
            ev = rng.choice([-1.0, 1.0]) * np.hanning(m + 2)[1:-1]
        ev = ev / (np.max(np.abs(ev)) + 1e-12) * rng.uniform(0.2, 1.0)
        stop = min(n, at + len(ev))
        x[at:stop] += ev[: stop - at]
    x += 1e-3 * coloured_noise(n, sample_rate, rng, alpha=1.0)
    return _rms_normalise(x)


def wind(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Gusty wind: low-passed noise (cutoff 150-900 Hz) with slow random amplitude modulation."""
    cutoff = rng.uniform(150, 900)
    sos = scipy.signal.butter(2, cutoff, btype="low", fs=sample_rate, output="sos")
    x = scipy.signal.sosfilt(sos, rng.standard_normal(n))
    gust = np.exp(0.9 * _smooth_random(n, sample_rate, rng, rate_hz=rng.uniform(0.1, 1.0)))
    return _rms_normalise(x * gust)


def fan(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """HVAC/fan: low-passed pink noise plus a blade-pass tone (80-300 Hz) and harmonics."""
    base = coloured_noise(n, sample_rate, rng, alpha=rng.uniform(0.5, 1.5))
    sos = scipy.signal.butter(2, rng.uniform(800, 3000), btype="low", fs=sample_rate, output="sos")
    base = _rms_normalise(scipy.signal.sosfilt(sos, base))
    f = rng.uniform(80, 300)
    jitter = 1.0 + 0.003 * _smooth_random(n, sample_rate, rng, rate_hz=0.5)
    phase = 2 * np.pi * f * np.cumsum(jitter) / sample_rate
    tone = sum(rng.uniform(0.1, 1.0) / k * np.sin(k * phase + rng.uniform(0, 6.3)) for k in range(1, 5))
    return _rms_normalise(base + rng.uniform(0.05, 0.5) * _rms_normalise(tone))


def make_env_noise(kind: str, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One environmental noise of ``kind`` (see :data:`ENV_KINDS`), RMS 1, shape ``(n,)``."""
    if kind in ("white", "pink", "brown", "coloured"):
        alpha = {"white": 0.0, "pink": 1.0, "brown": 2.0}.get(kind, None)
        if alpha is None:
            alpha = rng.uniform(0.0, 2.0)
        x = coloured_noise(n, sample_rate, rng, alpha=alpha)
        return _rms_normalise(x * _level_drift(n, sample_rate, rng, depth_db=3.0, rate_hz=0.3))
    if kind == "hum":
        return hum(n, sample_rate, rng)
    if kind == "clicks":
        return clicks(n, sample_rate, rng)
    if kind == "wind":
        return wind(n, sample_rate, rng)
    if kind == "fan":
        return fan(n, sample_rate, rng)
    raise ValueError(f"unknown environmental noise kind {kind!r}; choose from {ENV_KINDS}")


def reverb_ir(sample_rate: int, rng: np.random.Generator, *, rt60_s: float) -> np.ndarray:
    """A synthetic room impulse response: direct path, a few early reflections (< 50 ms)
    and a decaying-noise tail whose highs decay twice as fast; unit energy, ``(m,)``."""
    m = max(16, int(rt60_s * sample_rate))
    t = np.arange(m) / sample_rate
    tau = rt60_s / math.log(1000.0)            # 60 dB decay in rt60_s
    low_sos = scipy.signal.butter(1, 1500, btype="low", fs=sample_rate, output="sos")
    noise = rng.standard_normal(m)
    low = scipy.signal.sosfilt(low_sos, noise)
    high = noise - low
    tail = low * np.exp(-t / tau) + high * np.exp(-t / (tau / 2))
    onset = int(rng.uniform(0.005, 0.02) * sample_rate)      # initial time gap
    tail[:onset] = 0.0
    ir = tail * 0.5
    ir[0] = 1.0
    for _ in range(int(rng.integers(2, 7))):
        d = int(rng.uniform(0.002, 0.05) * sample_rate)
        if d < m:
            ir[d] += rng.uniform(-0.6, 0.6)
    return ir / np.sqrt(np.sum(ir ** 2))


def reverb(x: np.ndarray, sample_rate: int, rng: np.random.Generator, *, rt60_s: float, wet: float) -> np.ndarray:
    """``x`` (``(n,)``) in a synthetic room: ``(1 - wet) * x + wet * (x * ir)``, same length,
    RMS preserved.  Pitch is untouched (linear time-invariant)."""
    x = np.asarray(x, dtype=np.float64)
    ir = reverb_ir(sample_rate, rng, rt60_s=rt60_s)
    y = scipy.signal.fftconvolve(x, ir)[: len(x)]
    out = (1.0 - wet) * x + wet * y
    r_in = np.sqrt(np.mean(x ** 2))
    r_out = np.sqrt(np.mean(out ** 2))
    return out * (r_in / r_out) if r_out > 0 else out


def _peaking_sos(f0: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """RBJ peaking-EQ biquad as one second-order section."""
    a = 10 ** (gain_db / 40.0)
    w0 = 2 * math.pi * f0 / sample_rate
    alpha = math.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * math.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * math.cos(w0), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def mic_filter(sample_rate: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A random microphone/room colouration: high-pass 30-150 Hz, sometimes a low-pass at
    4-10 kHz, one or two peaking bands (+-6 dB, 150-5000 Hz).  Returns ``(sos, description)``."""
    import scipy.signal

    hp = float(rng.uniform(30, 150))
    secs = [scipy.signal.butter(2, hp, btype="high", fs=sample_rate, output="sos")]
    desc = [f"hp{hp:.0f}"]
    if rng.random() < 0.5:
        lp = float(rng.uniform(4000, min(10000, 0.45 * sample_rate)))
        secs.append(scipy.signal.butter(2, lp, btype="low", fs=sample_rate, output="sos"))
        desc.append(f"lp{lp:.0f}")
    for _ in range(int(rng.integers(1, 3))):
        f = float(np.exp(rng.uniform(np.log(150), np.log(5000))))
        g = float(rng.uniform(-6, 6))
        secs.append(_peaking_sos(f, g, float(rng.uniform(0.7, 2.5)), sample_rate))
        desc.append(f"pk{f:.0f}:{g:+.1f}")
    return np.concatenate(secs, axis=0), "/".join(desc)
