"""The seed's polar STFT features, computed with scipy, and their exact inverse.

Shapes: for a signal of ``L`` samples, ``stft`` returns complex ``(L // hop, n_bins)``
(frames first); for the seed clip that is ``(256, 512)``.  ``polar_features`` returns
``rho`` (scaled dB magnitude, ``[-100, 100]``) and ``theta`` (phase / pi, ``[-1, 1]``),
both ``(n_frames, n_bins)`` float32.  Models see ``(n_bins, n_frames, 1) / feature_max``
for the seed preset (``cleartune.train.variants.to_seed_image``), i.e. (512, 256, 1) in
``[-1, 1]``.

The single-frame function :func:`frame_spectrum` is what the streaming edge runtime
calls on every hop; :func:`stft` is the same computation over a whole signal, so the
features the models were trained on are exactly those computed on the Pi.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import scipy.fft
import scipy.signal

from .params import SignalParams

#: Smallest magnitude considered (-200 dBFS) before taking the log.
MAG_EPS = 1e-10


@lru_cache(maxsize=16)
def _window(name: str, n_fft: int) -> np.ndarray:
    w = scipy.signal.get_window(name, n_fft, fftbins=True).astype(np.float64)
    w.setflags(write=False)
    return w


def window(params: SignalParams) -> np.ndarray:
    """The analysis window (periodic, read-only), shape ``(n_fft,)``."""
    return _window(params.window, params.n_fft)


def spectrum_norm(params: SignalParams) -> float:
    """Factor applied to the raw rFFT so a full-scale sine reads magnitude 1 (0 dBFS)."""
    return 2.0 / float(np.sum(window(params)))


def frame_spectrum(frame: np.ndarray, *, params: SignalParams, out: np.ndarray | None = None) -> np.ndarray:
    """Spectrum of one frame of ``n_fft`` samples: complex ``(n_bins,)``, normalised (dBFS).

    ``out``, if given, receives the result (no allocation beyond scipy's FFT work)."""
    spec = scipy.fft.rfft(frame * window(params))[: params.n_bins]
    spec *= spectrum_norm(params)
    if out is not None:
        out[:] = spec
        return out
    return spec


def n_frames_for(n_samples: int, *, params: SignalParams) -> int:
    """Number of centred frames for a signal of ``n_samples`` samples: ``n_samples // hop``."""
    return n_samples // params.hop


def stft(x: np.ndarray, *, params: SignalParams) -> np.ndarray:
    """Centred STFT of a mono signal ``x`` (float, full scale 1.0).

    Returns complex128 ``(n_frames, n_bins)`` with ``n_frames = len(x) // hop``; frame
    ``k`` is centred on sample ``k * hop`` (zeros before the start and after the end)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"stft expects a mono 1-D signal, got shape {x.shape}")
    n = n_frames_for(len(x), params=params)
    half = params.n_fft // 2
    padded = np.concatenate([np.zeros(half), x, np.zeros(half)])
    # One frame at a time with the very function the streaming edge calls per hop, so
    # offline and streaming features are bit-identical on every platform (a batched FFT
    # rounds differently on aarch64).
    spec = np.empty((n, params.n_bins), dtype=np.complex128)
    for k in range(n):
        frame_spectrum(padded[k * params.hop : k * params.hop + params.n_fft], params=params, out=spec[k])
    return spec


def istft(spec: np.ndarray, *, params: SignalParams, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` by weighted overlap-add (least squares).

    Dropped bins (Nyquist) are taken as zero.  ``length`` defaults to ``n_frames * hop``.
    Exact (to float precision) for signals without Nyquist content."""
    spec = np.asarray(spec)
    n, nb = spec.shape
    if nb != params.n_bins:
        raise ValueError(f"expected {params.n_bins} bins, got {nb}")
    length = n * params.hop if length is None else int(length)
    full = np.zeros((n, params.n_fft // 2 + 1), dtype=np.complex128)
    full[:, :nb] = spec / spectrum_norm(params)
    frames = scipy.fft.irfft(full, n=params.n_fft, axis=1)
    w = window(params)
    half = params.n_fft // 2
    total = (n - 1) * params.hop + params.n_fft
    total = max(total, length + params.n_fft)
    y = np.zeros(total)
    wsum = np.zeros(total)
    for k in range(n):
        s = k * params.hop
        y[s : s + params.n_fft] += frames[k] * w
        wsum[s : s + params.n_fft] += w * w
    ok = wsum > 1e-8
    y[ok] /= wsum[ok]
    y[~ok] = 0.0
    return y[half : half + length]


class DbRange(NamedTuple):
    """The dB range [dBFS] a magnitude spectrogram was scaled with."""

    lo: float
    hi: float


def polar_features(spec: np.ndarray, *, params: SignalParams) -> tuple[np.ndarray, np.ndarray, DbRange]:
    """Complex spectrum -> (rho, theta, db_range).

    ``rho``: magnitude in dBFS, min-max scaled to ``[feature_min, feature_max]``;
    ``theta``: phase / pi in ``[-1, 1]``; both float32, shape of ``spec``.
    With ``db_scaling == "per_clip"`` the range is the clip's own min and max (the seed);
    with ``"fixed"`` it is ``[db_min, db_max]`` and values outside are clipped."""
    db = 20.0 * np.log10(np.maximum(np.abs(spec), MAG_EPS))
    if params.db_scaling == "per_clip":
        lo, hi = float(db.min()), float(db.max())
        if hi - lo < 1e-6:
            hi = lo + 1e-6
    else:
        lo, hi = params.db_min, params.db_max
        db = np.clip(db, lo, hi)
    rng = params.feature_max - params.feature_min
    rho = (db - lo) / (hi - lo) * rng + params.feature_min
    theta = np.angle(spec) / np.pi
    return rho.astype(np.float32), theta.astype(np.float32), DbRange(lo, hi)


def db_to_rho(db: np.ndarray, *, params: SignalParams, db_range: DbRange | None = None) -> np.ndarray:
    """Scale dBFS values to rho with a fixed range (or ``db_range``), clipping."""
    lo, hi = db_range if db_range is not None else (params.db_min, params.db_max)
    db = np.clip(db, lo, hi)
    return ((db - lo) / (hi - lo) * (params.feature_max - params.feature_min) + params.feature_min).astype(np.float32)


def rho_to_magnitude(rho: np.ndarray, *, params: SignalParams, db_range: DbRange | None = None) -> np.ndarray:
    """Inverse of the rho scaling: linear magnitude (1.0 = full-scale sine)."""
    lo, hi = db_range if db_range is not None else (params.db_min, params.db_max)
    db = (np.asarray(rho, dtype=np.float64) - params.feature_min) / (params.feature_max - params.feature_min) * (hi - lo) + lo
    return 10.0 ** (db / 20.0)


def features_to_spectrum(rho: np.ndarray, theta: np.ndarray, *, params: SignalParams, db_range: DbRange | None = None) -> np.ndarray:
    """Inverse of :func:`polar_features`: complex spectrum from (rho, theta)."""
    mag = rho_to_magnitude(rho, params=params, db_range=db_range)
    return mag * np.exp(1j * np.pi * np.asarray(theta, dtype=np.float64))


def features_to_audio(rho: np.ndarray, theta: np.ndarray, *, params: SignalParams, db_range: DbRange | None = None,
                      length: int | None = None) -> np.ndarray:
    """(rho, theta) -> waveform (float64): the exact inverse of ``polar_features(stft(x))``."""
    return istft(features_to_spectrum(rho, theta, params=params, db_range=db_range), params=params, length=length)

