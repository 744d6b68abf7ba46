"""Test signals with a known pitch, and the noises a tuner meets (for tests and benchmarks;
the Pi never needs them, so they live outside ``edge/``).

All functions return float32 mono audio at ``sample_rate`` [Hz] (full scale 1.0) and are
deterministic for a given ``seed``.  Durations and times in seconds, frequencies in Hz.

* :func:`plucked_string`: a guitar-like note.  Partial ``k`` sits at
  ``k * f0 * sqrt(1 + B k^2)`` (stiff-string inharmonicity ``B``), so the *first partial*
  -- what the tuner reports -- is at ``f0 * sqrt(1 + B)``; that is the returned truth.
  Partial amplitudes follow the pluck position (some partials vanish), a spectral tilt,
  a small random "body" ripple, and low strings get a fundamental 10-20 dB below
  partials 2/3 (as with real guitar bodies and microphones).  Higher partials decay
  faster; a filtered-noise pick transient marks the onset.
* noise makers: :func:`white_noise`, :func:`pink_noise`, :func:`speech_like` (a gliding,
  syllabic harmonic voice with formants and vibrato), :func:`babble` (crowd: several
  voices over pink noise), :func:`orchestra_like` (held and moving harmonic tones,
  including a held A440 as in an orchestra tuning up).
* :func:`mix_at_snr`: scale a noise to a signal-to-noise ratio and add it.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence

import numpy as np

from cleartune.edge.notes import A4_DEFAULT, midi_to_hz
from cleartune.edge.params import EDGE

#: Default sample rate [Hz] (the edge preset's).
DEFAULT_SAMPLE_RATE = EDGE.sample_rate


class Tone(NamedTuple):
    """A synthesised note: ``audio`` float32 ``(n,)`` and the true first-partial
    frequency ``f1_hz`` [Hz] (unpacks as ``audio, f1 = plucked_string(...)``)."""

    audio: np.ndarray
    f1_hz: float


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _n_samples(duration: float, sample_rate: int) -> int:
    if not (duration > 0 and math.isfinite(duration)):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    return int(round(duration * sample_rate))


def default_fundamental_db(f0: float) -> Optional[float]:
    """Level of the first partial relative to the stronger of partials 2 and 3 [dB] that
    :func:`plucked_string` uses by default: -15 dB below 110 Hz (E2, A2 strings), -8 dB
    up to 150 Hz, natural (None) above."""
    if f0 < 115.0:
        return -15.0
    if f0 < 150.0:
        return -8.0
    return None


def plucked_string(
    f0: float,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    duration: float = 2.0,
    inharmonicity: float = 5e-5,
    decay: Optional[float] = None,
    decay_slope: float = 0.15,
    n_partials: Optional[int] = None,
    brightness: float = 0.8,
    pluck_position: float = 0.18,
    fundamental_db: Optional[float] | str = "auto",
    body_ripple_db: float = 3.0,
    transient_db: float = -12.0,
    attack_glide_cents: float = 0.0,
    attack_glide_tau: float = 0.08,
    beat_hz: float = 0.0,
    onset_s: float = 0.0,
    amplitude: float = 0.5,
    seed=0,
) -> Tone:
    """A plucked-string note.

    f0                 string frequency [Hz] (before inharmonicity); partial k at
                       ``k f0 sqrt(1 + B k^2)``.
    inharmonicity      B (typical guitar strings 1e-5 .. 3e-4).
    decay              time constant of the first partial [s]; default 3 s at E2 falling
                       to 0.75 s at E6.  Partial k decays with ``decay / (1 + decay_slope (k-1))``.
    n_partials         number of partials (default: all below 0.45 sample_rate, at most 40).
    brightness         spectral tilt: amplitude ~ k^-(2 - brightness) (0 dull .. 1.5 bright).
    pluck_position     fraction of the string length from the bridge (partials at multiples
                       of 1/pluck_position vanish).
    fundamental_db     level of partial 1 relative to max(partial 2, partial 3) [dB]:
                       ``"auto"`` (:func:`default_fundamental_db`), None (natural) or a number.
    body_ripple_db     random per-partial level ripple (std, dB) imitating body resonances.
    transient_db       level of the pick noise burst relative to the note's peak [dB]
                       (None or -inf for none).
    attack_glide_cents pitch is this many cents sharp at the pluck, relaxing with
                       ``attack_glide_tau`` [s] (tension modulation); the truth is the steady pitch.
    beat_hz            split of each partial into two polarisations [Hz] (beating); 0 = none.
    onset_s            silence before the pluck [s].
    amplitude          peak level of the note (full scale 1.0).

    Returns :class:`Tone` ``(audio float32 (round(duration*sample_rate),), f1_hz)`` with
    ``f1_hz = f0 sqrt(1 + B)``."""
    if not (f0 > 0 and math.isfinite(f0)):
        raise ValueError(f"f0 must be a positive frequency [Hz], got {f0!r}")
    if inharmonicity < 0:
        raise ValueError(f"inharmonicity must be >= 0, got {inharmonicity!r}")
    if not 0.0 < pluck_position < 1.0:
        raise ValueError(f"pluck_position must be in (0, 1), got {pluck_position!r}")
    if onset_s < 0 or onset_s >= duration:
        raise ValueError(f"onset_s must be in [0, duration), got {onset_s!r}")
    rng = _rng(seed)
    n = _n_samples(duration, sample_rate)
    B = float(inharmonicity)
    nyq_limit = 0.45 * sample_rate
    k_all = np.arange(1, 41)
    fk_all = k_all * f0 * np.sqrt(1.0 + B * k_all ** 2)
    k_max = int(np.sum(fk_all < nyq_limit))
    if n_partials is not None:
        k_max = min(k_max, int(n_partials))
    if k_max < 1:
        raise ValueError(f"f0={f0} Hz has no partial below {nyq_limit:.0f} Hz")
    k = np.arange(1, k_max + 1, dtype=np.float64)
    fk = k * f0 * np.sqrt(1.0 + B * k ** 2)

    # amplitudes: pluck position comb, tilt, body ripple, weak fundamental
    amp = np.abs(np.sin(np.pi * k * pluck_position)) * k ** -(2.0 - float(brightness))
    amp = np.maximum(amp, 1e-3 * amp.max())
    if body_ripple_db:
        amp = amp * 10.0 ** (rng.normal(0.0, body_ripple_db, k_max) / 20.0)
    fdb = default_fundamental_db(f0) if fundamental_db == "auto" else fundamental_db
    if fdb is not None and k_max >= 2:
        ref = amp[1:3].max()
        amp[0] = ref * 10.0 ** (float(fdb) / 20.0)
    amp = amp / amp.max()

    tau1 = float(decay) if decay is not None else float(np.clip(3.0 * math.sqrt(82.4 / f0), 0.6, 3.0))
    tau = tau1 / (1.0 + decay_slope * (k - 1))

    n0 = int(round(onset_s * sample_rate))
    m = n - n0
    t = np.arange(m) / sample_rate
    # common pitch trajectory (attack glide), integrated to a phase in cycles per Hz of f
    if attack_glide_cents:
        ratio = 2.0 ** (attack_glide_cents * np.exp(-t / attack_glide_tau) / 1200.0)
        cyc = np.concatenate([[0.0], np.cumsum(ratio[:-1])]) / sample_rate
    else:
        cyc = t
    phases0 = rng.uniform(0, 2 * np.pi, k_max)
    attack = np.minimum(1.0, t / 0.002)  # 2 ms ramp: no click
    y = np.zeros(m)
    for i in range(k_max):
        ph = 2 * np.pi * fk[i] * cyc + phases0[i]
        s = np.sin(ph)
        if beat_hz:
            s = 0.5 * (s + np.sin(ph + 2 * np.pi * beat_hz * t + rng.uniform(0, 2 * np.pi)))
        y += amp[i] * np.exp(-t / tau[i]) * s
    y *= attack
    if transient_db is not None and math.isfinite(transient_db):
        nt = min(m, int(0.05 * sample_rate))
        burst = rng.standard_normal(nt) * np.exp(-np.arange(nt) / (0.006 * sample_rate))
        # brighten: first difference (high-pass) then normalise
        burst = np.diff(burst, prepend=0.0)
        burst *= 10.0 ** (transient_db / 20.0) * np.max(np.abs(y)) / (np.max(np.abs(burst)) + 1e-12)
        y[:nt] += burst
    peak = np.max(np.abs(y))
    y *= amplitude / (peak + 1e-12)
    out = np.zeros(n, dtype=np.float32)
    out[n0:] = y
    return Tone(out, float(f0 * math.sqrt(1.0 + B)))


# -- noises -------------------------------------------------------------------------------
def white_noise(duration: float, *, sample_rate: int = DEFAULT_SAMPLE_RATE, rms: float = 0.1, seed=0) -> np.ndarray:
    """Gaussian white noise with the given RMS, float32 ``(n,)``."""
    n = _n_samples(duration, sample_rate)
    return (_rng(seed).standard_normal(n) * rms).astype(np.float32)


def pink_noise(duration: float, *, sample_rate: int = DEFAULT_SAMPLE_RATE, rms: float = 0.1, seed=0) -> np.ndarray:
    """1/f (pink) noise, flat below 20 Hz, with the given RMS, float32 ``(n,)``."""
    n = _n_samples(duration, sample_rate)
    spec = np.fft.rfft(_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spec /= np.sqrt(np.maximum(f, 20.0))
    x = np.fft.irfft(spec, n)
    return (x * rms / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


#: Vowel formants (F1, F2, F3) [Hz] of a few vowels.
_VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480], [570, 840, 2410],
                    [300, 870, 2240], [660, 1720, 2410], [490, 1350, 1690]], dtype=np.float64)


def _smooth_random(n: int, *, n_knots: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    knots = rng.normal(0.0, scale, max(2, n_knots))
    return np.interp(np.linspace(0, len(knots) - 1, n), np.arange(len(knots)), knots)


def speech_like(duration: float, *, sample_rate: int = DEFAULT_SAMPLE_RATE, f0: Optional[float] = None,
                glide_semitones: float = 3.0, vibrato_cents: float = 40.0, vibrato_hz: float = 5.5,
                syllable_s: float = 0.22, rms: float = 0.1, seed=0) -> np.ndarray:
    """A speech-like voice: a harmonic source whose f0 glides (intonation contour,
    +- ``glide_semitones``), wobbles (``vibrato_cents`` at ``vibrato_hz``) and jitters,
    shaped by moving vowel formants and chopped into syllables of about ``syllable_s``
    seconds with short pauses and fricative noise.  float32 ``(n,)`` with the given RMS.

    ``f0`` is the speaker's mean pitch [Hz] (default: random 90-260 Hz)."""
    rng = _rng(seed)
    n = _n_samples(duration, sample_rate)
    t = np.arange(n) / sample_rate
    base = float(f0) if f0 is not None else float(rng.uniform(90.0, 260.0))
    n_syl = max(2, int(duration / syllable_s))
    contour = _smooth_random(n, n_knots=n_syl + 1, rng=rng, scale=glide_semitones * 100.0 / 2)
    contour += -150.0 * t / duration  # declination [cents]
    contour += vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t + rng.uniform(0, 2 * np.pi))
    contour += _smooth_random(n, n_knots=int(duration * 60) + 2, rng=rng, scale=8.0)  # jitter
    finst = base * 2.0 ** (contour / 1200.0)
    cyc = np.cumsum(finst) / sample_rate
    # syllable envelope and vowel per syllable
    env = np.zeros(n)
    vowel_idx = np.zeros(n, dtype=int)
    pos = 0
    while pos < n:
        L = int(rng.uniform(0.6, 1.4) * syllable_s * sample_rate)
        gap = int(rng.uniform(0.02, 0.12) * sample_rate)
        seg = min(L, n - pos)
        w = np.sin(np.pi * np.arange(seg) / max(seg, 1)) ** 0.6
        env[pos:pos + seg] = w * rng.uniform(0.5, 1.0)
        vowel_idx[pos:pos + seg] = rng.integers(len(_VOWELS))
        pos += L + gap
    # formant tracks, smoothed between syllables (~30 ms)
    fm = _VOWELS[vowel_idx]
    ks = max(1, int(0.03 * sample_rate))
    kern = np.ones(ks) / ks
    fm = np.stack([np.convolve(fm[:, j], kern, mode="same") for j in range(3)], axis=1)
    y = np.zeros(n)
    n_h = int(4000.0 / base)
    bw = np.array([80.0, 100.0, 140.0])
    for h in range(1, n_h + 1):
        fh = h * finst
        gain = np.zeros(n)
        for j in range(3):
            gain += (1.0 / (1 + ((fh - fm[:, j]) / bw[j]) ** 2)) * (0.9 ** j)
        gain = gain + 0.02
        y += gain / h ** 0.7 * np.sin(2 * np.pi * h * cyc)
    y *= env
    # fricatives: bursts of high-passed noise at some syllable boundaries
    fric = np.diff(rng.standard_normal(n), prepend=0.0)
    fric_env = np.clip(_smooth_random(n, n_knots=n_syl * 2, rng=rng, scale=1.0) - 1.0, 0, None)
    y += 0.3 * fric * fric_env * np.std(y) / (np.std(fric) + 1e-12)
    return (y * rms / (np.sqrt(np.mean(y ** 2)) + 1e-12)).astype(np.float32)


def babble(duration: float, *, sample_rate: int = DEFAULT_SAMPLE_RATE, n_voices: int = 6, pink_db: float = -6.0,
           rms: float = 0.1, seed=0) -> np.ndarray:
    """Crowd noise: ``n_voices`` :func:`speech_like` voices over pink noise ``pink_db``
    below the voices.  float32 ``(n,)`` with the given RMS."""
    rng = _rng(seed)
    y = sum(speech_like(duration, sample_rate=sample_rate, rms=1.0, seed=rng) * rng.uniform(0.4, 1.0)
            for _ in range(n_voices))
    y = y / np.sqrt(np.mean(y ** 2))
    y = y + pink_noise(duration, sample_rate=sample_rate, rms=10 ** (pink_db / 20), seed=rng)
    return (y * rms / (np.sqrt(np.mean(y ** 2)) + 1e-12)).astype(np.float32)


def harmonic_tone(f0: float, *, duration: float, sample_rate: int = DEFAULT_SAMPLE_RATE, tilt: float = 1.0,
                  odd_only: bool = False, vibrato_cents: float = 0.0, vibrato_hz: float = 5.5, attack_s: float = 0.08,
                  rms: float = 0.1, seed=0) -> np.ndarray:
    """A sustained harmonic instrument tone (bowed/blown): partials ``k`` at ``k f0``
    with amplitude ``k^-tilt`` (only odd k for a clarinet-like tone), optional vibrato,
    soft attack and release.  float32 ``(n,)`` with the given RMS."""
    rng = _rng(seed)
    n = _n_samples(duration, sample_rate)
    t = np.arange(n) / sample_rate
    cents_dev = vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t + rng.uniform(0, 2 * np.pi)) if vibrato_cents else 0.0
    finst = f0 * 2.0 ** (np.asarray(cents_dev) / 1200.0) * np.ones(n)
    cyc = np.cumsum(finst) / sample_rate
    y = np.zeros(n)
    for k in range(1, int(0.45 * sample_rate / f0) + 1):
        if odd_only and k % 2 == 0:
            continue
        y += k ** -tilt * 10 ** (rng.normal(0, 2.0) / 20) * np.sin(2 * np.pi * k * cyc + rng.uniform(0, 2 * np.pi))
    ramp = max(1, int(attack_s * sample_rate))
    env = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / ramp)
    y *= env
    return (y * rms / (np.sqrt(np.mean(y ** 2)) + 1e-12)).astype(np.float32)


def orchestra_like(duration: float, *, sample_rate: int = DEFAULT_SAMPLE_RATE, n_held: int = 3, n_runs: int = 2,
                   include_a440: bool = True, a4: float = A4_DEFAULT, rms: float = 0.1, seed=0) -> np.ndarray:
    """An orchestra warming up: ``n_held`` held harmonic tones forming a chord (tones of a
    random major or minor triad spread over G2..A5, some with vibrato, some clarinet-like),
    ``n_runs`` players running scales/arpeggios (a new note every 0.1-0.3 s), and, with
    ``include_a440``, a held oboe-like A4 at ``a4`` Hz.  Entries are staggered.  float32
    ``(n,)`` with the given RMS."""
    rng = _rng(seed)
    n = _n_samples(duration, sample_rate)
    y = np.zeros(n)

    def place(sig: np.ndarray, start: int, gain: float) -> None:
        end = min(n, start + len(sig))
        y[start:end] += gain * sig[: end - start]

    if include_a440:
        d = duration * rng.uniform(0.7, 1.0)
        s = harmonic_tone(a4, duration=d, sample_rate=sample_rate, tilt=0.7, vibrato_cents=rng.uniform(0, 8), rms=1.0, seed=rng)
        place(s, int(rng.uniform(0, duration - d + 1e-9) * sample_rate), 1.0)
    root = int(rng.integers(0, 12))
    triad = (0, 4, 7) if rng.random() < 0.5 else (0, 3, 7)
    chord = [m for m in range(43, 82) if (m - root) % 12 in triad]
    for _ in range(n_held):
        midi = int(rng.choice(chord))
        d = duration * rng.uniform(0.3, 1.0)
        s = harmonic_tone(midi_to_hz(midi, a4=a4), duration=d, sample_rate=sample_rate, tilt=rng.uniform(0.7, 1.6),
                          odd_only=bool(rng.random() < 0.25), vibrato_cents=rng.choice([0.0, rng.uniform(10, 35)]),
                          rms=1.0, seed=rng)
        place(s, int(rng.uniform(0, duration - d + 1e-9) * sample_rate), rng.uniform(0.4, 1.0))
    for _ in range(n_runs):
        pos = int(rng.uniform(0, 0.3) * duration * sample_rate)
        midi = int(rng.integers(48, 76))
        step = int(rng.choice([1, 2, 2, 3, 4]))
        direction = 1
        gain = rng.uniform(0.3, 0.8)
        tilt = rng.uniform(0.8, 1.5)
        while pos < n:
            d = rng.uniform(0.1, 0.3)
            s = harmonic_tone(midi_to_hz(midi, a4=a4), duration=d + 0.03, sample_rate=sample_rate, tilt=tilt, attack_s=0.015,
                              rms=1.0, seed=rng)
            place(s, pos, gain)
            pos += int(d * sample_rate)
            midi += direction * step
            if midi > 84 or midi < 40 or rng.random() < 0.1:
                direction = -direction
    return (y * rms / (np.sqrt(np.mean(y ** 2)) + 1e-12)).astype(np.float32)


def fit_length(noise: np.ndarray, n: int) -> np.ndarray:
    """Noise cut or tiled to ``n`` samples."""
    noise = np.asarray(noise, dtype=np.float64).ravel()
    if noise.size == 0:
        raise ValueError("empty noise signal")
    if noise.size >= n:
        return noise[:n]
    return np.tile(noise, int(math.ceil(n / noise.size)))[:n]


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + g * noise`` with ``g`` chosen so that mean power of clean over mean power
    of ``g * noise`` (both over the whole length of ``clean``) is ``snr_db`` [dB].  The
    noise is cut or tiled to the length of ``clean``.  float32 ``(len(clean),)``.

    Raises ``ValueError`` for a silent clean signal or noise."""
    c = np.asarray(clean, dtype=np.float64).ravel()
    nz = fit_length(noise, c.size)
    pc, pn = float(np.mean(c ** 2)), float(np.mean(nz ** 2))
    if pc <= 0 or pn <= 0:
        raise ValueError("mix_at_snr needs a non-silent clean signal and noise")
    g = math.sqrt(pc / (pn * 10.0 ** (float(snr_db) / 10.0)))
    return (c + g * nz).astype(np.float32)


def detuned_hz(note_midi: float, cents_off: float, *, a4: float = A4_DEFAULT) -> float:
    """Frequency [Hz] of MIDI note ``note_midi`` detuned by ``cents_off`` cents."""
    return midi_to_hz(note_midi, a4=a4) * 2.0 ** (cents_off / 1200.0)


def guitar_midis(low: int = 40, high: int = 88) -> Sequence[int]:
    """MIDI numbers a guitar plays in standard tuning (E2 = 40 .. E6 = 88)."""
    return range(low, high + 1)


# -- test tones (a tuner's calibration signals; issue 13) ----------------------------------
def periodic_tone(f0: float, *, duration: float = 2.0, amplitudes: Sequence[float] = (1.0,), onset_s: float = 0.3,
                  decay_s: Optional[float] = None, peak: float = 0.3, sample_rate: int = DEFAULT_SAMPLE_RATE,
                  seed=0) -> np.ndarray:
    """A steady periodic tone with exactly known pitch: partial ``k`` (1-based) at exactly
    ``k * f0`` [Hz] with relative amplitude ``amplitudes[k - 1]`` (0 leaves it out: a missing
    fundamental is ``(0, 1, 0.5, ...)``), random phases, silence before ``onset_s`` [s],
    an exponential decay with time constant ``decay_s`` [s] (None: steady), scaled to
    ``peak`` of full scale.  Partials at or above 0.45 x the sample rate are left out.
    float32 ``(n,)``.  ``(1.0,)`` is a sine."""
    rng = _rng(seed)
    n = _n_samples(duration, sample_rate)
    t = np.arange(n) / sample_rate
    y = np.zeros(n)
    for k, a in enumerate(amplitudes, start=1):
        if a and k * f0 < 0.45 * sample_rate:
            y += a * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    if decay_s:
        y *= np.exp(-t / decay_s)
    y *= peak / (np.max(np.abs(y)) + 1e-12)
    return np.concatenate([np.zeros(int(round(onset_s * sample_rate))), y]).astype(np.float32)


def sine(f0: float, **kw) -> np.ndarray:
    """A sine at ``f0`` [Hz] (a tone generator; :func:`periodic_tone` keywords)."""
    return periodic_tone(f0, amplitudes=(1.0,), **kw)


def tuning_fork(f0: float, **kw) -> np.ndarray:
    """A struck tuning fork: a sine with a faint octave (-30 dB), decaying over 3 s."""
    kw.setdefault("decay_s", 3.0)
    return periodic_tone(f0, amplitudes=(1.0, 10 ** (-30 / 20)), **kw)


def harmonic_series(f0: float, *, n: int = 30, tilt: float = 1.0, fundamental: float = 1.0, odd_only: bool = False,
                    **kw) -> np.ndarray:
    """``n`` partials at amplitude ``k^-tilt``; the first scaled by ``fundamental`` (0: a
    missing fundamental, 0.1: a weak one, -20 dB); ``odd_only``: a reed (clarinet-like)."""
    amps = [0.0 if (odd_only and k % 2 == 0) else k ** -tilt for k in range(1, n + 1)]
    amps[0] *= fundamental
    return periodic_tone(f0, amplitudes=tuple(amps), **kw)


def flute(f0: float, **kw) -> np.ndarray:
    """A flute- or whistle-like tone: a strong fundamental, weak upper partials (-14, -22, -30 dB)."""
    return periodic_tone(f0, amplitudes=(1.0, 0.2, 0.08, 0.03), **kw)


def natural_harmonic(open_f0: float, fret: int, **kw) -> Tone:
    """A guitar string's natural harmonic: touched over the 12th, 7th or 5th fret, the
    string sounds its 2nd, 3rd or 4th partial (and their multiples), ringing like a pluck
    (decay 1.5 s, partials k^-1.5).  Returns ``Tone(audio, f1_hz)`` with the sounding pitch
    ``m * open_f0``."""
    m = {12: 2, 7: 3, 5: 4, 19: 3, 24: 4}.get(int(fret))
    if m is None:
        raise ValueError(f"natural harmonics here are at frets 5, 7, 12 (19, 24), got {fret!r}")
    kw.setdefault("decay_s", 1.5)
    f = m * open_f0
    return Tone(harmonic_series(f, n=12, tilt=1.5, **kw), f)
