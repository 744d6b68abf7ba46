"""Hop-by-hop centred STFT frames, identical to :func:`cleartune.edge.features.stft`.

Feed ``hop`` samples at a time; once enough samples have arrived, every call returns the
spectrum of the next centred frame: frame ``k`` covers samples
``[k*hop - n_fft//2, k*hop + n_fft//2)`` (zeros before the start), windowed, rFFT'd,
normalised to dBFS and cut to ``n_bins`` -- bit for bit what ``features.stft`` gives for
row ``k`` of the whole signal.  Frame ``k`` is complete ``lookahead_hops`` hops after
hop ``k`` arrived (2 for the edge preset: the frame's second half).

No allocation per frame: a double-written ring buffer keeps the newest samples
contiguous, and the window product and FFT go into preallocated arrays.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from . import features
from .params import EDGE, SignalParams


def _rfft_into(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``rfft(x)`` written into ``out`` (numpy >= 2 supports ``out``; older numpy copies)."""
    try:
        return np.fft.rfft(x, out=out)
    except TypeError:  # numpy < 2: no out argument
        out[:] = scipy.fft.rfft(x)
        return out


def _irfft_into(spec: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """``irfft(spec, n)`` written into ``out`` (see :func:`_rfft_into`)."""
    try:
        return np.fft.irfft(spec, n=n, out=out)
    except TypeError:  # numpy < 2
        out[:] = scipy.fft.irfft(spec, n=n)
        return out


class Framer:
    """Streaming centred STFT.

    ``push(hop_samples)`` takes exactly ``params.hop`` samples (any float dtype) and
    returns the complex ``(n_bins,)`` spectrum of frame ``index`` (a view of an internal
    buffer, overwritten by the next call: copy it to keep it), or ``None`` while the first
    frame is still incomplete.  ``frame`` holds that frame's windowed samples ``(n_fft,)``."""

    def __init__(self, *, params: SignalParams = EDGE):
        self.params = params
        self.hop, self.n_fft, self.half = params.hop, params.n_fft, params.n_fft // 2
        #: hops between the arrival of hop ``k`` and the completion of frame ``k``
        self.lookahead_hops = -(-self.half // self.hop)
        #: samples received after the newest complete frame's last sample (0 when half % hop == 0)
        self._after = self.lookahead_hops * self.hop - self.half
        self._len = self.n_fft + self._after
        self._ring = np.zeros(2 * self._len)
        self._window = features.window(params)
        self._norm = features.spectrum_norm(params)
        self.frame = np.zeros(self.n_fft)
        self._full = np.zeros(self.n_fft // 2 + 1, dtype=np.complex128)
        self.spectrum = self._full[: params.n_bins]
        self.reset()

    def reset(self) -> None:
        """Forget everything (the next sample is sample 0 of a new signal)."""
        self._ring[:] = 0.0
        self._w = 0              # ring slot of the next sample
        self.received = 0        # samples pushed
        self.index = -1          # frame last returned

    @property
    def lag_samples(self) -> int:
        """Samples between a frame's centre and the newest sample when it is returned
        (``n_fft // 2`` + any padding to a whole hop)."""
        return self.half + self._after

    def _write(self, x: np.ndarray) -> None:
        n, L, w = len(x), self._len, self._w
        first = min(n, L - w)
        self._ring[w : w + first] = x[:first]
        self._ring[w + L : w + L + first] = x[:first]
        if first < n:
            rest = n - first
            self._ring[:rest] = x[first:]
            self._ring[L : L + rest] = x[first:]
        self._w = (w + n) % L

    def push(self, hop_samples: np.ndarray) -> np.ndarray | None:
        x = np.asarray(hop_samples)
        if x.shape != (self.hop,):
            raise ValueError(f"Framer.push expects ({self.hop},) samples, got shape {x.shape}")
        self._write(x)
        self.received += self.hop
        if self.received < self.half + self._after:
            return None
        # the newest L samples are ring[w : w + L]; the frame is their first n_fft
        start = self._w
        np.multiply(self._ring[start : start + self.n_fft], self._window, out=self.frame)
        _rfft_into(self.frame, self._full)
        self.spectrum *= self._norm
        self.index += 1
        return self.spectrum


class OverlapAdd:
    """Streaming inverse of :class:`Framer`, normalised like :func:`features.istft`
    (windowed overlap-add divided by the summed squared window of the frames present).

    ``add(spectrum)`` takes frame ``k``'s complex ``(n_bins,)`` spectrum (frames in
    order from 0) and returns the ``hop`` output samples ``[k*hop - n_fft//2,
    (k+1)*hop - n_fft//2)`` of the signal, which no later frame touches; samples before
    the signal start (negative indices) are returned as 0.  The result is a view of an
    internal float64 buffer."""

    def __init__(self, *, params: SignalParams = EDGE):
        self.params = params
        self.hop, self.n_fft, self.half = params.hop, params.n_fft, params.n_fft // 2
        self._window = features.window(params)
        self._wsq = self._window * self._window
        self._norm = features.spectrum_norm(params)
        self._full = np.zeros(self.n_fft // 2 + 1, dtype=np.complex128)
        self._frame = np.zeros(self.n_fft)
        self._acc = np.zeros(self.n_fft)
        self._wsum = np.zeros(self.n_fft)
        self.out = np.zeros(self.hop)
        self._ok = np.zeros(self.hop, dtype=bool)
        self.reset()

    def reset(self) -> None:
        self._acc[:] = 0.0
        self._wsum[:] = 0.0
        self._p = 0          # ring slot of the oldest pending sample (= frame k's first sample)
        self.index = -1      # frame last added

    def _ring_add(self, src: np.ndarray, dst: np.ndarray) -> None:
        n, p = self.n_fft, self._p
        first = n - p
        np.add(dst[p:], src[:first], out=dst[p:])
        if p:
            np.add(dst[:p], src[first:], out=dst[:p])

    def _take(self, buf: np.ndarray, out: np.ndarray) -> None:
        """Copy the ``hop`` oldest samples of ring ``buf`` into ``out`` and zero them."""
        p, h, n = self._p, self.hop, self.n_fft
        first = min(h, n - p)
        out[:first] = buf[p : p + first]
        buf[p : p + first] = 0.0
        if first < h:
            out[first:] = buf[: h - first]
            buf[: h - first] = 0.0

    def add(self, spectrum: np.ndarray) -> np.ndarray:
        nb = self.params.n_bins
        np.divide(spectrum, self._norm, out=self._full[:nb])
        self._full[nb:] = 0.0
        _irfft_into(self._full, self.n_fft, self._frame)
        self._frame *= self._window
        self._ring_add(self._frame, self._acc)
        self._ring_add(self._wsq, self._wsum)
        self.index += 1
        wsum = self._frame[: self.hop]  # scratch: the frame is consumed
        self._take(self._acc, self.out)
        self._take(self._wsum, wsum)
        np.greater(wsum, 1e-8, out=self._ok)
        np.divide(self.out, wsum, out=self.out, where=self._ok)
        np.multiply(self.out, self._ok, out=self.out)  # 0 where no window covers the sample
        start = self.index * self.hop - self.half  # signal index of out[0]
        if start < 0:
            self.out[: min(self.hop, -start)] = 0.0
        self._p = (self._p + self.hop) % self.n_fft
        return self.out
