"""Exact detuning by FFT resampling.

Resampling a whole note of ``N`` samples to ``M`` samples in the frequency domain
(``scipy.signal.resample``) and playing it back at the same rate multiplies every
frequency by exactly ``N / M``: the FFT treats the note as one period of a periodic
signal, and resampling keeps the number of cycles of every component while the length
changes.  (The note must start and end near silence, or be tapered, so the implied
periodic extension has no jump.)  MIDI pitch bend is not used: FluidSynth rounds it to
whole cents.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.signal


def resampled_length(n: int, shift_cents: float) -> int:
    """Length ``M`` that shifts a signal of ``n`` samples by about ``shift_cents``."""
    return max(1, int(round(n / 2.0 ** (shift_cents / 1200.0))))


def detune(x: np.ndarray, shift_cents: float) -> tuple[np.ndarray, float]:
    """Shift every frequency of ``x`` (float ``(N,)``) by about ``shift_cents``.

    Returns ``(y, ratio)``: ``y`` float64 ``(M,)`` and the exact frequency ratio
    ``ratio = N / M`` (the applied shift is ``1200 * log2(ratio)`` cents, within
    ``~1200 / (N ln 2)`` cents of the request).  Durations scale by ``1 / ratio``."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if shift_cents == 0 or n == 0:
        return x.copy(), 1.0
    m = resampled_length(n, shift_cents)
    if m == n:
        return x.copy(), 1.0
    return scipy.signal.resample(x, m), n / m


def cents_of_ratio(ratio: float) -> float:
    return 1200.0 * math.log2(ratio)
