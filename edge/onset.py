"""Onset detection for the pitch tracker: when was the string plucked?

An onset is a jump of band energies (24 log-spaced bands from 70 Hz to 5 kHz, the mean of
the ``top_bands`` largest rises in dB) relative to the last two readings; it is then placed
at the hop with the largest energy rise among the last frame's hops.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np
import scipy.fft

from .pitch_math import fast_cumsum, fast_sum
from .spectrum import SampleRing

#: hop energies kept to place an onset (more than a frame's worth of hops)
_N_HOP_ENERGIES = 64


class OnsetDetector:
    """Band-energy flux on frames of ``frame_len`` samples, checked once per reading.

    ``flux_db``: the mean rise of the ``top_bands`` most risen bands that marks an onset [dB].
    After :meth:`detect` found one, ``onset_sample`` is its absolute sample and
    ``onset_reading`` the reading index it was found at."""

    def __init__(self, *, sample_rate: int, hop: int, frame_len: int, flux_db: float, top_bands: int) -> None:
        self.hop, self.frame_len = hop, frame_len
        self.flux_db, self.top_bands = flux_db, top_bands
        self._hann = np.hanning(frame_len + 2)[1:-1]
        edges = np.geomspace(70.0, min(5000.0, 0.45 * sample_rate), 25)
        e = np.unique(np.clip(np.rint(edges / (sample_rate / frame_len)).astype(int), 1, frame_len // 2))
        self._lo, self._hi = e[:-1], e[1:]
        self._width = np.maximum(e[1:] - e[:-1], 1)
        self._cumulative = np.zeros(frame_len // 2 + 2)   # 0, then the cumulative band power
        self._hop_energy = np.zeros(_N_HOP_ENERGIES)       # energies of the last hops
        self.reset()

    def reset(self) -> None:
        self._hop_energy.fill(0.0)
        self._band_history: List[np.ndarray] = []
        self.onset_sample: Optional[int] = None
        self.onset_reading = -10 ** 9

    def add_hop(self, x: np.ndarray, hop_index: int) -> None:
        """Note the energy of hop number ``hop_index`` (``x``: its samples)."""
        self._hop_energy[hop_index % _N_HOP_ENERGIES] = float(np.dot(x, x))

    def band_levels_db(self, frame: np.ndarray) -> np.ndarray:
        """Mean power per bin of each band [dB] of a ``frame_len``-sample frame."""
        P = np.abs(scipy.fft.rfft(frame * self._hann)) ** 2
        cs = self._cumulative
        fast_cumsum(P, out=cs[1:])
        return 10 * np.log10(np.maximum((cs[self._hi] - cs[self._lo]) / self._width, 1e-14))

    def detect(self, ring: SampleRing, *, reading_index: int, n_hops: int) -> bool:
        """Whether the newest frame of ``ring`` starts a note (``n_hops``: hops fed so far);
        at most one onset every other reading."""
        band = self.band_levels_db(ring.last(self.frame_len))
        hist = self._band_history
        onset = False
        if len(hist) >= 2:
            ref = np.maximum(hist[-1], hist[-2])
            rise = band - ref
            rise = np.sort(np.minimum(np.maximum(rise, 0.0, out=rise), 30.0, out=rise))  # (np.clip)
            top = rise[-self.top_bands:]                           # a high note lifts few bands
            flux = float(fast_sum(top)) / len(top)                 # (np.mean)
            onset = flux > self.flux_db and reading_index - self.onset_reading > 1
        hist.append(band)
        del hist[:-2]
        if onset:
            self.onset_reading = reading_index
            self.onset_sample = self._locate(n_hops)
        return onset

    def _locate(self, n_hops: int) -> int:
        """Absolute sample of the largest hop-energy rise within the last frame."""
        n, n_samples = _N_HOP_ENERGIES, n_hops * self.hop
        h = min(n - 3, self.frame_len // self.hop + 1, n_hops - 2)
        if h < 1:
            return n_samples - self.frame_len
        idx = (n_hops - 1 - np.arange(h + 2)) % n                   # newest first
        e = 10 * np.log10(self._hop_energy[idx] + 1e-14)
        rise = e[:h] - np.maximum(e[1:h + 1], e[2:h + 2])          # hop i vs the two before it
        i = int(np.argmax(rise))
        return n_samples - (i + 1) * self.hop
