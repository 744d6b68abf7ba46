"""Input features and output layout of the guitar-pitch model: one source of truth.

The guitar-pitch model (``edge/guitar_model.py`` runs it, ``train/pitch_model.py`` trains
it) is called once per tracker reading, i.e. every ``reading_samples`` =
``PitchParams.reading_hops * SignalParams.hop`` samples (1024 at the edge preset, 46 ms).
Reading ``r`` of a signal sees the ``window`` samples ending at sample
``end_r = (r + 1) * reading_samples`` (zeros before the start): no look-ahead, so the
algorithmic latency is at most one reading interval.

Per reading (:func:`spectra_db`, :func:`frame_features`):

1. a Hann window of ``window`` samples (4096 = 186 ms: resolves the partials of B1),
   rFFT, power normalised so a full-scale sine reads 0 dBFS;
2. a log-frequency spectrum: ``n_bins`` bins, ``bins_per_semitone`` per semitone from
   MIDI ``midi_lo`` (bin ``i`` is centred on MIDI ``midi_lo + i / bins_per_semitone``),
   each a triangular average of the linear power bins between its neighbours (linear
   interpolation where the log bins are narrower than the linear ones), in dB;
3. normalised per frame so that level does not matter: ``ref = max(frame max,
   floor_dbfs)``; ``spec = clip((dB - ref) / range_db + 1, 0, 1)`` (the loudest bin reads 1,
   ``range_db`` below it 0; digital silence reads 0 everywhere);
4. onset channel: ``clip((dBf_r - dBf_{r-1}) / onset_db, 0, 1)`` where ``dBf`` is the dB
   floored at ``ref - range_db`` (per-bin rise since the previous reading).

Features: float32 ``(n_bins, 2)`` per reading (``[spec, onset]``), ``(n_readings, n_bins,
2)`` for a signal.  The model's output is a salience over ``n_pitch`` pitch bins, bin
``j`` centred on MIDI ``pitch_lo + j / bins_per_semitone``, plus a last "no guitar" class.

:class:`GuitarFeatureParams` is stored in the model's sidecar (``extra.guitar_features``)
and checked at load (:func:`check_feature_params`), like ``SignalParams``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Optional

import numpy as np
import scipy.fft

from .errors import ParamsMismatchError
from .params import EDGE, SignalParams


def default_reading_samples(params: SignalParams = EDGE) -> int:
    """Samples between tracker readings: ``PitchParams.reading_hops * params.hop``."""
    try:
        from .pitch_params import PitchParams
    except ImportError:
        from .pitch import PitchParams

    return int(PitchParams().reading_hops) * int(params.hop)


@dataclass(frozen=True)
class GuitarFeatureParams:
    """Feature and output-layout parameters of the guitar-pitch model (units in brackets)."""

    sample_rate: int = EDGE.sample_rate   # [Hz]
    reading_samples: int = dataclasses.field(default_factory=default_reading_samples)  # [samples] between readings
    window: int = 4096                    # [samples] Hann window ending at the reading
    midi_lo: float = 23.0                 # MIDI of log bin 0 (B0, 30.9 Hz)
    bins_per_semitone: int = 3
    n_bins: int = 288                     # log bins: MIDI 23 .. 118.67 (6.9 kHz)
    range_db: float = 60.0                # [dB] normalised range below the frame's loudest bin
    floor_dbfs: float = -90.0             # [dBFS] reference floor: quieter frames read as faint
    onset_db: float = 30.0                # [dB] per-bin rise that reads 1 on the onset channel
    pitch_lo: float = 34.0 + 2.0 / 3.0    # MIDI of salience bin 0 (B1 - 1/3 semitone)
    n_pitch: int = 162                    # salience bins: MIDI 34.67 .. 88.33 (B1 .. E6, 3 per semitone)
    channels: int = 2                     # [spec, onset]

    def __post_init__(self) -> None:
        if self.window < 2 or self.reading_samples < 1 or self.n_bins < 2 or self.bins_per_semitone < 1:
            raise ValueError("invalid guitar feature parameters")
        if self.midi_hz(self.midi_lo + (self.n_bins - 1) / self.bins_per_semitone) >= self.sample_rate / 2:
            raise ValueError("log bins above Nyquist")

    # -- layout -----------------------------------------------------------------------------
    @staticmethod
    def midi_hz(midi: float) -> float:
        return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)

    def bin_midi(self) -> np.ndarray:
        """MIDI of each log feature bin, ``(n_bins,)``."""
        return self.midi_lo + np.arange(self.n_bins) / self.bins_per_semitone

    def pitch_midi(self) -> np.ndarray:
        """MIDI of each salience bin, ``(n_pitch,)``."""
        return self.pitch_lo + np.arange(self.n_pitch) / self.bins_per_semitone

    @property
    def pitch_offset(self) -> int:
        """Index of salience bin 0 in the feature bins."""
        off = (self.pitch_lo - self.midi_lo) * self.bins_per_semitone
        if abs(off - round(off)) > 1e-6:
            raise ValueError("pitch_lo must fall on a feature bin")
        return int(round(off))

    @property
    def no_guitar_index(self) -> int:
        """Index of the "no guitar" class in the salience vector (the last one)."""
        return self.n_pitch

    @property
    def reading_s(self) -> float:
        return self.reading_samples / self.sample_rate

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GuitarFeatureParams":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ParamsMismatchError(f"unknown guitar feature parameter(s) {sorted(unknown)}: made by a newer cleartune?")
        try:
            return cls(**dict(d))
        except (TypeError, ValueError) as e:
            raise ParamsMismatchError(f"invalid guitar feature parameters: {e}") from None


def feature_params_for(params: SignalParams = EDGE) -> GuitarFeatureParams:
    """The runtime's feature parameters for ``params`` (sample rate and reading cadence
    taken from the signal parameters and the tracker's ``PitchParams``)."""
    return GuitarFeatureParams(sample_rate=params.sample_rate, reading_samples=default_reading_samples(params))


def check_feature_params(stored: GuitarFeatureParams, expected: GuitarFeatureParams, *, what: str = "model") -> None:
    """Raise :class:`ParamsMismatchError` naming the fields where ``stored`` differs."""
    a, b = stored.to_dict(), expected.to_dict()
    bad = sorted(k for k in a if a[k] != b[k])
    if bad:
        parts = ", ".join(f"{k}: {what} has {a[k]!r}, runtime computes {b[k]!r}" for k in bad)
        raise ParamsMismatchError(f"{what} was trained on different guitar features ({parts})")


# -- the computation ----------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _tables(fp: GuitarFeatureParams) -> tuple[np.ndarray, np.ndarray, int]:
    """(Hann window (W,), filterbank (n_lin, n_bins) float64, n_lin) for ``fp`` (read-only)."""
    w = np.hanning(fp.window + 1)[:-1]            # periodic Hann
    norm = 2.0 / w.sum()
    w = w * norm                                  # full-scale sine -> magnitude 1
    lin_hz = np.arange(fp.window // 2 + 1) * fp.sample_rate / fp.window
    mids = fp.bin_midi()
    fc = 440.0 * 2.0 ** ((mids - 69.0) / 12.0)
    step = 1.0 / fp.bins_per_semitone
    fl = 440.0 * 2.0 ** ((mids - step - 69.0) / 12.0)
    fh = 440.0 * 2.0 ** ((mids + step - 69.0) / 12.0)
    n_lin = int(np.searchsorted(lin_hz, fh[-1])) + 2
    fb = np.zeros((n_lin, fp.n_bins))
    df = lin_hz[1]
    for i in range(fp.n_bins):
        if fh[i] - fl[i] < 2 * df:                # narrower than the linear bins: interpolate at fc
            x = fc[i] / df
            k = int(math.floor(x))
            fb[k, i] += 1.0 - (x - k)
            fb[k + 1, i] += x - k
        else:                                     # triangle over the linear bins between neighbours
            f = lin_hz[:n_lin]
            tri = np.minimum((f - fl[i]) / (fc[i] - fl[i]), (fh[i] - f) / (fh[i] - fc[i]))
            tri = np.maximum(tri, 0.0)
            fb[:, i] = tri / tri.sum()
    w.setflags(write=False)
    fb.setflags(write=False)
    return w, fb, n_lin


#: Power floor before the log [linear power]: -200 dBFS.
POWER_EPS = 1e-20


def spectra_db(frames: np.ndarray, fp: GuitarFeatureParams) -> np.ndarray:
    """Log-frequency power spectrum [dBFS] of ``frames`` ``(..., window)`` -> ``(..., n_bins)``
    float64 (a full-scale sine in one bin reads about 0 dB)."""
    w, fb, n_lin = _tables(fp)
    spec = scipy.fft.rfft(np.asarray(frames, dtype=np.float64) * w, axis=-1)[..., :n_lin]
    power = spec.real ** 2 + spec.imag ** 2
    return 10.0 * np.log10(power @ fb + POWER_EPS)


def frame_features(db: np.ndarray, prev_db: Optional[np.ndarray], fp: GuitarFeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Normalise spectra: ``db`` ``(..., n_bins)`` [dBFS] and the previous reading's floored dB
    (``None``: the signal starts here, treated as digital silence) ->
    ``(features (..., n_bins, 2) float32, floored dB (..., n_bins))`` (pass the second to the
    next call as ``prev_db``)."""
    ref = np.maximum(db.max(axis=-1, keepdims=True), fp.floor_dbfs)
    floored = np.maximum(db, ref - fp.range_db)
    spec = np.clip((db - ref) / fp.range_db + 1.0, 0.0, 1.0)
    if prev_db is None:
        prev_db = np.full_like(floored, fp.floor_dbfs - fp.range_db)
    onset = np.clip((floored - prev_db) / fp.onset_db, 0.0, 1.0)
    return np.stack([spec, onset], axis=-1).astype(np.float32), floored


def n_readings(n_samples: int, fp: GuitarFeatureParams) -> int:
    """Readings of a signal of ``n_samples`` samples: ``n_samples // reading_samples``."""
    return int(n_samples) // fp.reading_samples


def reading_end_samples(n: int, fp: GuitarFeatureParams) -> np.ndarray:
    """Sample index (exclusive end) of the window of each of ``n`` readings."""
    return (np.arange(n) + 1) * fp.reading_samples


def signal_features(x: np.ndarray, fp: GuitarFeatureParams) -> np.ndarray:
    """Features of every reading of a mono signal ``x`` (float, full scale 1.0):
    float32 ``(n_readings(len(x)), n_bins, 2)``; reading ``r`` sees ``x[end_r - window : end_r]``
    (zeros before the start).  The same arithmetic as :class:`StreamingFeatures`."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = n_readings(len(x), fp)
    if n == 0:
        return np.zeros((0, fp.n_bins, fp.channels), np.float32)
    padded = np.concatenate([np.zeros(fp.window), x[: n * fp.reading_samples]])
    ends = reading_end_samples(n, fp) + fp.window
    idx = ends[:, None] - fp.window + np.arange(fp.window)[None, :]
    db = spectra_db(padded[idx], fp)
    feats = np.empty((n, fp.n_bins, fp.channels), np.float32)
    prev = None
    for r in range(n):                            # the streaming recursion, reading by reading
        feats[r], prev = frame_features(db[r], prev, fp)
    return feats


class StreamingFeatures:
    """Per-reading features from the newest raw samples (what the edge runtime calls).

    ``push(window)``: the last ``fp.window`` raw samples ``(window,)`` (fewer: zeros are
    prepended, the start of a signal) -> features ``(n_bins, 2)`` float32.  ``reset()``
    starts a new signal."""

    def __init__(self, fp: GuitarFeatureParams):
        self.fp = fp
        self._buf = np.zeros(fp.window)
        self._prev: Optional[np.ndarray] = None

    def reset(self) -> None:
        self._prev = None

    def push(self, window: np.ndarray) -> np.ndarray:
        w = np.asarray(window, dtype=np.float64).ravel()
        n = self.fp.window
        if w.size >= n:
            self._buf[:] = w[-n:]
        else:
            self._buf[: n - w.size] = 0.0
            self._buf[n - w.size:] = w
        db = spectra_db(self._buf[None], self.fp)[0]
        feats, self._prev = frame_features(db, self._prev, self.fp)
        return feats
