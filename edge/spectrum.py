"""Spectra for the pitch tracker: ring buffers, windowed FFT frames, the noise floor.

All spectra are of Hann-windowed frames of ``frame_len`` samples zero-padded to ``n_fft``,
scaled so that a full-scale sine has magnitude 1 (0 dBFS) at its peak.  Bin ``i`` is at
``i * sample_rate / n_fft`` Hz; only bins ``0..band_hi`` (up to ``max_partial_hz``) are
analysed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
import scipy.fft

from .pitch_math import fast_max

#: mean of exponentially distributed noise power over its 20th percentile [dB]
#: (10*log10(1 / -ln(0.8))): converts the percentile floor into a mean noise level.
P20_TO_MEAN_DB = 6.51


class SampleRing:
    """Last ``n`` samples, stored twice so the newest ``m <= n`` are one contiguous view."""

    def __init__(self, n: int, hop: int) -> None:
        self.n, self.hop = n, hop
        self.buf = np.zeros(2 * n, dtype=np.float64)
        self.pos = 0

    def reset(self) -> None:
        self.buf.fill(0.0)
        self.pos = 0

    def push(self, x: np.ndarray) -> None:
        """Append one hop (``hop`` samples)."""
        p = self.pos
        self.buf[p:p + self.hop] = x
        self.buf[p + self.n:p + self.n + self.hop] = x
        self.pos = (p + self.hop) % self.n

    def last(self, m: int, *, lag: int = 0) -> np.ndarray:
        """The ``m`` samples ending ``lag`` samples before the newest (a view)."""
        end = self.pos + self.n - lag
        return self.buf[end - m:end]


@dataclass
class Spectrum:
    """One analysed frame (``n_bins = band_hi + 1`` except ``X``)."""

    X: np.ndarray         # complex (n_fft // 2 + 1,), full-scale sine = 1
    mag: np.ndarray       # |X| of bins 0..band_hi
    level_db: np.ndarray  # 20 log10 |X| [dB]
    noise_db: np.ndarray  # mean noise level per bin [dB]
    snr_db: np.ndarray    # level_db - noise_db [dB]


class NoiseFloor:
    """Mean noise level [dB] per bin of a spectrum of ``n_bins`` bins: the 20th percentile of
    blocks of ``block`` bins, median-smoothed over three blocks, interpolated between block
    centres, and at least ``dynamic_range_db`` below the strongest bin (of the band, or
    ``peak_db`` when given: the strongest of the whole spectrum)."""

    def __init__(self, n_bins: int, block: int, *, dynamic_range_db: float) -> None:
        self.block, self.dynamic_range_db = block, dynamic_range_db
        self.n_blocks = (n_bins + block - 1) // block
        # buffers and interpolation positions (for speed)
        self._seg = np.empty(self.n_blocks * block)
        self._q3 = np.empty(self.n_blocks + 2)          # block floors with their ends repeated
        self._centres = (np.arange(self.n_blocks) + 0.5) * block
        self._bins = np.arange(n_bins)

    def __call__(self, level_db: np.ndarray, *, peak_db: float = -math.inf) -> np.ndarray:
        """``level_db``: (n_bins,) [dB] -> mean noise level per bin, (n_bins,) [dB]."""
        nb, blk, seg = self.n_blocks, self.block, self._seg
        m = len(level_db)
        seg[:m] = level_db
        seg[m:] = level_db[-1]
        q = np.partition(seg.reshape(nb, blk), blk // 5, axis=1)[:, blk // 5]
        if nb >= 3:  # median of three neighbouring blocks
            q3 = self._q3               # q with its first and last block repeated
            q3[1:-1] = q
            q3[0], q3[-1] = q[0], q[-1]
            a, b, c = q3[:-2], q, q3[2:]
            q = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
        noise = np.interp(self._bins[:m], self._centres, q) + P20_TO_MEAN_DB
        # nothing more than dynamic_range_db below the strongest peak counts (clean
        # signals would otherwise show window sidelobes as partials; a tone above the band
        # would show the rounding noise of the FFT)
        return np.maximum(noise, max(float(fast_max(level_db)), peak_db) - self.dynamic_range_db)


class FrameAnalyser:
    """Windowed, zero-padded FFTs of the frame lengths ``frame_lens`` [samples] and their
    analysis (level, noise floor, SNR) up to bin ``band_hi``."""

    def __init__(self, frame_lens: Sequence[int], n_fft: int, band_hi: int, noise: NoiseFloor) -> None:
        self.n_fft, self.band_hi, self.noise = n_fft, band_hi, noise
        self._hann = {w: np.hanning(w + 2)[1:-1] for w in frame_lens}   # symmetric, no zero ends
        self._norm = {w: 2.0 / float(np.sum(self._hann[w])) for w in frame_lens}
        self._buf = {w: np.zeros(n_fft) for w in frame_lens}              # zero-padded frames

    def fft(self, ring: SampleRing, frame_len: int, *, end: int = 0) -> np.ndarray:
        """Spectrum X of the ``frame_len`` samples ending ``end`` samples before the newest."""
        buf = self._buf[frame_len]      # windowed frame written into a zero-padded buffer
        np.multiply(ring.last(frame_len, lag=end), self._hann[frame_len], out=buf[:frame_len])
        X = scipy.fft.rfft(buf)
        X *= self._norm[frame_len]
        return X

    def analyse(self, X: np.ndarray) -> Spectrum:
        """Level, noise floor and SNR of the bins ``0..band_hi`` of ``X``."""
        mag = np.abs(X[: self.band_hi + 1])
        level_db = 20.0 * np.log10(mag + 1e-12)
        above = X[self.band_hi + 1:]                # (a tone above the band, e.g. 7 kHz)
        peak_db = 20.0 * math.log10(float(fast_max(np.abs(above))) + 1e-12) if len(above) else -math.inf
        noise_db = self.noise(level_db, peak_db=peak_db)
        return Spectrum(X, mag, level_db, noise_db, level_db - noise_db)


def db_above_floor(spec: Spectrum, *, margin_db: float, clip_db: float) -> np.ndarray:
    """dB above the noise floor plus ``margin_db``, clipped to ``[0, clip_db]``: (n_bins,),
    a new array."""
    C = spec.level_db - (spec.noise_db + margin_db)
    return np.minimum(np.maximum(C, 0.0, out=C), clip_db, out=C)      # np.clip, faster


FrameKey = Tuple[str, int]      # (signal "raw" | "den", frame length [samples])


class ReadingSpectra:
    """The spectra one reading needs, each computed once.  ``rings``: the signals by name;
    ``previous``: the newest frames of the previous reading, which are this reading's frames
    ending ``reading_lag`` samples before the newest."""

    def __init__(self, analyser: FrameAnalyser, rings: Dict[str, SampleRing],
                 previous: Dict[FrameKey, np.ndarray], *, reading_lag: int) -> None:
        self.analyser, self.rings = analyser, rings
        self._frames = {(which, w, reading_lag): X for (which, w), X in previous.items()}
        self._analysed: Dict[Tuple[str, int, int], Spectrum] = {}

    def frame(self, which: str, frame_len: int, *, end: int = 0) -> np.ndarray:
        """Complex spectrum of the ``frame_len`` samples of ``which`` ending ``end`` samples
        before the newest."""
        key = (which, frame_len, end)
        X = self._frames.get(key)
        if X is None:
            X = self._frames[key] = self.analyser.fft(self.rings[which], frame_len, end=end)
        return X

    def analysed(self, which: str, frame_len: int, *, end: int = 0) -> Spectrum:
        """:meth:`frame`, analysed (level, noise floor, SNR)."""
        key = (which, frame_len, end)
        S = self._analysed.get(key)
        if S is None:
            S = self._analysed[key] = self.analyser.analyse(self.frame(which, frame_len, end=end))
        return S

    def newest_frames(self) -> Dict[FrameKey, np.ndarray]:
        """The analysed frames ending at the newest sample (the next reading's lagged ones)."""
        return {(which, w): S.X for (which, w, end), S in self._analysed.items() if end == 0}
