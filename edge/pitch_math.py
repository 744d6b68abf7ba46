"""Numeric helpers shared by the pitch tracker's steps (cents, fast reductions)."""
from __future__ import annotations

import math
from typing import Dict, Tuple

import numpy as np

from .notes import CENTS_PER_OCTAVE

#: cents per unit of natural log of a frequency ratio (1200 / ln 2).
CENTS_PER_LN = CENTS_PER_OCTAVE / math.log(2.0)
#: added to powers before a logarithm or a division (no -inf, no division by zero).
TINY = 1e-20
# For speed on small arrays: the ufunc reductions behind ndarray.sum / max / min and
# np.cumsum, without their Python wrappers (the same computation, bit for bit).
fast_sum, fast_max, fast_min = np.add.reduce, np.maximum.reduce, np.minimum.reduce
fast_cumsum = np.add.accumulate


def cents(f: float, ref: float) -> float:
    """Interval from ``ref`` to ``f`` (both Hz) [cents]."""
    return CENTS_PER_LN * math.log(f / ref)


def pow2_samples(n: float) -> int:
    """The power of two nearest ``n`` samples (on a log scale), at least 16."""
    return int(2 ** max(4, round(math.log2(max(n, 16)))))


def wrap_phase(p: np.ndarray) -> np.ndarray:
    """Phases [rad] wrapped into [-pi, pi)."""
    return (p + np.pi) % (2 * np.pi) - np.pi


_CENTRED: Dict[int, Tuple[np.ndarray, float]] = {}


def centred_index(n: int) -> Tuple[np.ndarray, float]:
    """(x = 0..n-1 less its mean, x . x), cached (they are needed every reading)."""
    r = _CENTRED.get(n)
    if r is None:
        x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        r = _CENTRED[n] = (x, np.dot(x, x))
    return r


def line_scatter(c: np.ndarray) -> Tuple[float, float]:
    """(rms deviation from the least-squares straight line, slope per index) of ``n >= 3``
    equally spaced values ``c`` (cents -> cents and cents per step)."""
    n = len(c)
    x, xx = centred_index(n)
    slope = float(np.dot(x, c) / xx)
    res = c - fast_sum(c) / n - slope * x           # (= c - c.mean() - slope x)
    return math.sqrt(fast_sum(res * res) / (n - 2)), slope


def inverse_variance_mean(values, variances) -> Tuple[float, float]:
    """Inverse-variance weighted mean of ``values`` and its variance (same units, squared)."""
    fa = np.asarray(values)
    w = 1.0 / np.asarray(variances)
    sw = float(fast_sum(w))
    return float(fast_sum(w * fa)) / sw, 1.0 / sw
