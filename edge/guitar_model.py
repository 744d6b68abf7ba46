"""The guitar-pitch model at runtime: raw samples in, a salience over pitch out, once per reading.

:class:`GuitarPitchModel` loads ``edge/models/guitar_pitch_int8.tflite`` (or another
``.tflite`` of sidecar kind ``"guitar-pitch"``) through :mod:`.litert`, checks its sidecar
(sha256, :class:`~.params.SignalParams`, :class:`~.guitar_features.GuitarFeatureParams`),
and holds the recurrent state between calls.  Per tracker reading::

    sal = model.step(raw_window)   # the newest >= fp.window raw samples (fewer at the start)
    sal[:fp.n_pitch]               # salience (probability) of each pitch bin,
                                   #   bin j = MIDI fp.pitch_lo + j / fp.bins_per_semitone
    sal[fp.no_guitar_index]        # probability that no guitar note is sounding
    model.note(sal)                # -> (nearest MIDI note of the best pitch bin, its
                                   #     semitone's summed probability, no-guitar probability)
    model.reset()                  # a new signal (state and onset memory cleared)

The model is one step of a recurrent network: its single int8 input is
``[features.ravel(), state]`` and its output ``[salience, new state]``
(``extra.state_size`` in the sidecar).  :func:`salience_readings` runs a whole signal
(reading ``r`` at sample ``(r + 1) * fp.reading_samples``), for evaluating the model alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from .errors import ModelLoadError
from .guitar_features import GuitarFeatureParams, StreamingFeatures, check_feature_params, feature_params_for
from .params import EDGE, SignalParams

#: Sidecar kind of a guitar-pitch model.
KIND = "guitar-pitch"
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_NAME = "guitar_pitch_int8.tflite"


def default_model_path() -> Optional[Path]:
    p = MODELS_DIR / DEFAULT_MODEL_NAME
    return p if p.is_file() else None


class Note(NamedTuple):
    midi: int            # nearest MIDI note of the most salient pitch bin
    prob: float          # summed probability of the bins of that semitone
    no_guitar: float     # probability of "no guitar"


def note_of(sal: np.ndarray, fp: GuitarFeatureParams) -> Note:
    """The note a salience vector ``(n_pitch + 1,)`` names (argmax over the pitch bins)."""
    p = np.asarray(sal, dtype=np.float64)
    j = int(np.argmax(p[: fp.n_pitch]))
    midi = int(round(fp.pitch_lo + j / fp.bins_per_semitone))
    mids = fp.pitch_midi()
    prob = float(p[: fp.n_pitch][np.round(mids).astype(int) == midi].sum())
    return Note(midi, prob, float(p[fp.no_guitar_index]))


class GuitarPitchModel:
    """Streaming guitar-pitch salience (see the module docstring)."""

    def __init__(self, model_path: Optional[str | Path] = None, *, params: SignalParams = EDGE,
                 features: Optional[GuitarFeatureParams] = None, num_threads: int = 1, prefer: Optional[str] = None):
        from .litert import TFLiteModel
        from .model_meta import load_meta

        if model_path is None:
            model_path = default_model_path()
            if model_path is None:
                raise ModelLoadError(f"no guitar-pitch model shipped ({MODELS_DIR / DEFAULT_MODEL_NAME} is missing)")
        self.path = Path(model_path)
        if self.path.suffix.lower() != ".tflite":
            raise ModelLoadError(f"{self.path}: the edge runtime runs .tflite models, not {self.path.suffix or 'this file'}")
        self.meta = load_meta(self.path, expected=params)
        if self.meta.kind != KIND:
            raise ModelLoadError(f"{self.path}: model kind {self.meta.kind!r} is not a {KIND} model")
        fd = self.meta.extra.get("guitar_features")
        if not isinstance(fd, dict):
            raise ModelLoadError(f"{self.path}: sidecar lacks extra.guitar_features")
        self.fp = GuitarFeatureParams.from_dict(fd)
        check_feature_params(self.fp, features or feature_params_for(params), what=f"model {self.path.name}")
        self.state_size = int(self.meta.extra.get("state_size", 0))
        self.model = TFLiteModel(self.path, num_threads=max(1, int(num_threads)), prefer=prefer)
        nf = self.fp.n_bins * self.fp.channels
        n_out = self.fp.n_pitch + 1
        if self.model.input_shape != (1, nf + self.state_size) or self.model.output_shape != (1, n_out + self.state_size):
            raise ModelLoadError(f"{self.path}: model maps {list(self.model.input_shape)} -> {list(self.model.output_shape)}, "
                                 f"sidecar says [1, {nf + self.state_size}] -> [1, {n_out + self.state_size}]")
        self.backend = self.model.backend
        self._nf, self._nout = nf, n_out
        self._x = np.zeros((1, nf + self.state_size), np.float32)
        self._sal = np.zeros(n_out, np.float32)
        self.features = StreamingFeatures(self.fp)
        self.reset()

    def reset(self) -> None:
        """Start a new signal: zero state, no previous reading."""
        self._x[0, self._nf:] = 0.0
        self.features.reset()

    @property
    def state(self) -> np.ndarray:
        """The recurrent state carried to the next call ``(state_size,)`` (a copy)."""
        return self._x[0, self._nf:].copy()

    def step(self, raw_window: np.ndarray) -> np.ndarray:
        """One reading: the newest raw samples (at least ``fp.window`` of them, or all there
        are at the start) -> salience ``(n_pitch + 1,)`` float32 (a reused buffer)."""
        f = self.features.push(raw_window)
        self._x[0, : self._nf] = f.ravel()
        y = self.model(self._x)
        self._sal[:] = y[0, : self._nout]
        self._x[0, self._nf:] = y[0, self._nout:]
        return self._sal

    def note(self, sal: Optional[np.ndarray] = None) -> Note:
        return note_of(self._sal if sal is None else sal, self.fp)

    def describe(self) -> str:
        return (f"{self.path.name} ({self.meta.model_version}, {KIND}, {self.meta.dtype}, state {self.state_size}, "
                f"{self.backend})")


def salience_readings(model: GuitarPitchModel, x: np.ndarray) -> np.ndarray:
    """Run ``model`` over a whole signal ``x``: ``(n_readings, n_pitch + 1)`` float32, reading
    ``r`` seeing the samples before ``(r + 1) * reading_samples``.  Resets before and after."""
    fp = model.fp
    x = np.asarray(x, dtype=np.float32).ravel()
    n = len(x) // fp.reading_samples
    out = np.empty((n, fp.n_pitch + 1), np.float32)
    model.reset()
    for r in range(n):
        e = (r + 1) * fp.reading_samples
        out[r] = model.step(x[max(0, e - fp.window): e])
    model.reset()
    return out
