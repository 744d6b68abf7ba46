"""Mixing a clean guitar clip with harmonic and environmental noise at an exact SNR
(the seed's noisifier).

    SNR = 10 * log10(sum(clean**2) / sum(noise**2))     over the whole clip [dB]

``noise = harmonic_gain * harmonic + env_gain * env`` (the raw source segments as read),
scaled so the SNR is the requested one; if any of clean, noise or mix would peak above
``peak_limit`` all three are scaled by one common gain (the SNR does not change).  The
float32 outputs satisfy ``mix == clean + noise`` exactly (the sum is done in float32).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

#: Common peak limit of clean, noise and mix (full scale 1.0).
PEAK_LIMIT = 0.99


def snr_db(clean: np.ndarray, noise: np.ndarray) -> float:
    """``10 log10(sum clean^2 / sum noise^2)`` in float64 [dB]; ``inf`` for silent noise."""
    c = float(np.sum(np.square(np.asarray(clean, dtype=np.float64))))
    n = float(np.sum(np.square(np.asarray(noise, dtype=np.float64))))
    if n == 0.0:
        return math.inf
    if c == 0.0:
        return -math.inf
    return 10.0 * math.log10(c / n)


@dataclass
class MixResult:
    mix: np.ndarray             # float32 (n,)
    clean: np.ndarray           # float32 (n,)
    noise: np.ndarray           # float32 (n,)
    harmonic_gain: float        # gain applied to the harmonic segment (0: none)
    env_gain: float             # gain applied to the environmental segment (0: none)
    peak_gain: float            # common gain applied to avoid clipping (1: none)
    snr_measured_db: float      # on the float32 clean and noise


def mix_at_snr(
    clean: np.ndarray,
    *,
    snr_db_requested: float,
    harmonic: Optional[np.ndarray] = None,
    env: Optional[np.ndarray] = None,
    harmonic_to_env_db: float = 0.0,
    peak_limit: float = PEAK_LIMIT,
) -> MixResult:
    """Mix ``clean`` (``(n,)``) with the given noise segments (``(n,)`` each, or None) at
    ``snr_db_requested`` dB (``inf``: no noise).  ``harmonic_to_env_db`` is the level of the
    harmonic part relative to the environmental part (RMS over the clip) when both are given."""
    c = np.asarray(clean, dtype=np.float64)
    if not np.any(c):
        raise ValueError("clean clip is silent; the SNR is undefined")
    parts = []
    for seg, rel in ((harmonic, harmonic_to_env_db), (env, 0.0)):
        if seg is None:
            parts.append(None)
            continue
        s = np.asarray(seg, dtype=np.float64)
        if s.shape != c.shape:
            raise ValueError(f"noise segment shape {s.shape} != clean shape {c.shape}")
        r = math.sqrt(float(np.mean(s * s)))
        parts.append((s, 10 ** (rel / 20.0) / r) if r > 0 else None)
    h_gain = e_gain = 0.0
    noise = np.zeros_like(c)
    if math.isfinite(snr_db_requested) and any(p is not None for p in parts):
        raw = sum(w * s for (s, w) in (p for p in parts if p is not None))
        g = math.sqrt(float(np.sum(c * c)) / (float(np.sum(raw * raw)) * 10 ** (snr_db_requested / 10.0)))
        noise = g * raw
        h_gain = g * parts[0][1] if parts[0] is not None else 0.0
        e_gain = g * parts[1][1] if parts[1] is not None else 0.0
    elif snr_db_requested != math.inf and not math.isfinite(snr_db_requested):
        raise ValueError(f"SNR must be finite or +inf, not {snr_db_requested}")
    peak = max(float(np.max(np.abs(c))), float(np.max(np.abs(noise))), float(np.max(np.abs(c + noise))))
    k = peak_limit / peak if peak > peak_limit else 1.0
    c32 = (c * k).astype(np.float32)
    n32 = (noise * k).astype(np.float32)
    m32 = c32 + n32
    return MixResult(mix=m32, clean=c32, noise=n32, harmonic_gain=h_gain * k, env_gain=e_gain * k,
                     peak_gain=k, snr_measured_db=snr_db(c32, n32))
