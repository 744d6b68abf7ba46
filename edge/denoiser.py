"""The streaming denoiser: one hop of noisy audio in, one hop of denoised audio out.

Per hop (``params.hop`` samples):

1. :class:`~cleartune.edge.framer.Framer` gives the newest centred frame's spectrum
   (exactly a row of ``features.stft``);
2. its scaled features, ``rho / feature_max`` in ``[-1, 1]`` with the fixed dB range (as
   ``features.polar_features``), are written into a ``(1, K, n_bins)`` window of the last
   ``K = context_frames`` frames, newest last; before the signal starts the window holds
   the features of silence (``feature_min / feature_max`` = -1), which is what
   ``features.stft`` of the zeros before the start gives;
3. the model (``.tflite`` through :class:`~cleartune.edge.litert.TFLiteModel`) maps the
   window to ``(1, n_bins)`` for the newest frame, applied per the sidecar ``kind``:

   * ``"mask"``: a ratio mask in ``[0, 1]`` multiplied onto the noisy complex spectrum;
   * ``"magnitude"``: the clean ``rho / feature_max``, turned back into a magnitude
     (``features.rho_to_magnitude``) with the noisy phase;

4. :class:`~cleartune.edge.framer.OverlapAdd` inverts it, normalised like
   ``features.istft``, giving ``hop`` denoised samples.

The output lags the input by :attr:`StreamingDenoiser.latency_samples` (``n_fft - hop`` =
768 samples, 35 ms, for the edge preset): output sample ``n`` is denoised input sample
``n - latency_samples`` (zeros before the start).  The result equals the offline
computation (the model on every frame's window of ``features.stft``, then
``features.istft``) to float precision.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from . import features
from .errors import ModelLoadError
from .framer import Framer, OverlapAdd
from .params import EDGE, SignalParams

#: Model kinds the streaming denoiser runs.
STREAMING_KINDS = ("mask", "magnitude")
#: Where the shipped model lives, relative to this package.
MODELS_DIR = Path(__file__).resolve().parent / "models"
#: The shipped model's file name (its sidecar is the same name with ``.json``).
DEFAULT_MODEL_NAME = "edge_int8.tflite"


def default_model_path() -> Optional[Path]:
    """The shipped model (``edge/models/edge_int8.tflite``) if it is there, else None."""
    p = MODELS_DIR / DEFAULT_MODEL_NAME
    return p if p.is_file() else None


class StreamingDenoiser:
    """Denoise a stream hop by hop with a ``.tflite`` edge model and its sidecar.

    ``model_path``: a ``.tflite`` file (its ``.json`` sidecar next to it) or None for the
    shipped model.  ``num_threads``: interpreter threads.  ``params``: the signal
    parameters the runtime computes; a model made with others is refused
    (:class:`~cleartune.edge.errors.ParamsMismatchError`), as is a missing, corrupt or
    truncated model or sidecar (:class:`~cleartune.edge.errors.ModelLoadError`).

    Attributes: ``meta`` (the sidecar), ``kind``, ``context_frames``, ``backend`` (the
    interpreter used, e.g. ``"ai-edge-litert"``), ``latency_samples``, ``path``, and
    ``timing`` (seconds spent in the last hop's STFT and model+inverse)."""

    def __init__(self, model_path: Optional[str | Path] = None, *, num_threads: int = 1,
                 params: SignalParams = EDGE, prefer: Optional[str] = None):
        from .litert import TFLiteModel
        from .model_meta import load_meta

        if model_path is None:
            model_path = default_model_path()
            if model_path is None:
                raise ModelLoadError(f"no denoiser model shipped ({MODELS_DIR / DEFAULT_MODEL_NAME} is missing); "
                                     "pass a model path or run without denoising")
        self.path = Path(model_path)
        if self.path.suffix.lower() != ".tflite":
            raise ModelLoadError(f"{self.path}: the edge runtime runs .tflite models, not {self.path.suffix or 'this file'}")
        self.params = params
        self.meta = load_meta(self.path, expected=params)
        self.kind = self.meta.kind
        if self.kind not in STREAMING_KINDS:
            raise ModelLoadError(f"{self.path}: model kind {self.kind!r} does not stream "
                                 f"(the edge runtime runs {' or '.join(STREAMING_KINDS)} models)")
        self.context_frames = int(self.meta.context_frames)
        if self.context_frames < 1:
            raise ModelLoadError(f"{self.path}: sidecar context_frames must be >= 1, got {self.context_frames}")
        self.model = TFLiteModel(self.path, num_threads=max(1, int(num_threads)), prefer=prefer)
        self.backend = self.model.backend
        k, nb = self.context_frames, params.n_bins
        if self.model.input_shape != (1, k, nb) or self.model.output_shape != (1, nb):
            raise ModelLoadError(f"{self.path}: model maps {list(self.model.input_shape)} -> "
                                 f"{list(self.model.output_shape)}, sidecar says [1, {k}, {nb}] -> [1, {nb}]")
        self.hop = params.hop
        self.framer = Framer(params=params)
        self.ola = OverlapAdd(params=params)
        #: output sample n is input sample n - latency_samples
        self.latency_samples = self.framer.lookahead_hops * self.hop - self.hop + params.n_fft // 2
        self._silence = np.float32(params.feature_min) / np.float32(params.feature_max)
        # context ring written twice so the newest K frames are always contiguous
        self._ring = np.empty((2 * k, nb), dtype=np.float32)
        self._slot = 0
        self._db = np.zeros(nb)                       # float64 scratch: |X| -> dB -> rho
        self._rho = np.zeros(nb, dtype=np.float32)
        self._den = np.zeros(nb, dtype=np.complex128)
        self._mag = np.zeros(nb)
        self._nz = np.zeros(nb, dtype=bool)
        self._out = np.zeros(self.hop, dtype=np.float32)
        self._db_lo, self._db_hi = float(params.db_min), float(params.db_max)
        self._frange = float(params.feature_max - params.feature_min)
        self.timing = (0.0, 0.0)
        self.reset()

    def reset(self) -> None:
        """Start a new signal (zeros before it)."""
        self.framer.reset()
        self.ola.reset()
        self._ring.fill(self._silence)
        self._slot = 0
        self._out[:] = 0.0

    # -- the hot path ----------------------------------------------------------------------
    def _features_into_context(self, spec: np.ndarray) -> np.ndarray:
        """Scaled features of ``spec`` (as ``polar_features(...)[0] / feature_max``) as the
        newest frame of the context; returns the ``(K, n_bins)`` window (a view)."""
        p, db, rho = self.params, self._db, self._rho
        np.abs(spec, out=db)
        np.maximum(db, features.MAG_EPS, out=db)
        np.log10(db, out=db)
        np.multiply(db, 20.0, out=db)
        np.clip(db, self._db_lo, self._db_hi, out=db)
        np.subtract(db, self._db_lo, out=db)
        np.divide(db, self._db_hi - self._db_lo, out=db)
        np.multiply(db, self._frange, out=db)
        np.add(db, p.feature_min, out=db)
        np.copyto(rho, db, casting="same_kind")
        np.divide(rho, np.float32(p.feature_max), out=rho)
        k, s = self.context_frames, self._slot
        self._ring[s] = rho
        self._ring[s + k] = rho
        self._slot = (s + 1) % k
        return self._ring[s + 1 : s + 1 + k]

    def _apply(self, y: np.ndarray, spec: np.ndarray) -> np.ndarray:
        """Model output ``(n_bins,)`` applied to the noisy spectrum -> clean spectrum."""
        den = self._den
        if self.kind == "mask":
            np.multiply(spec, y, out=den)
            return den
        # magnitude: rho/feature_max -> dB -> linear magnitude, noisy phase (angle 0 where |X| = 0)
        p, mag = self.params, self._mag
        np.multiply(y, p.feature_max, out=mag)
        np.subtract(mag, p.feature_min, out=mag)
        np.divide(mag, self._frange, out=mag)
        np.multiply(mag, self._db_hi - self._db_lo, out=mag)
        np.add(mag, self._db_lo, out=mag)
        np.divide(mag, 20.0, out=mag)
        np.power(10.0, mag, out=mag)
        absx = self._db  # scratch
        np.abs(spec, out=absx)
        np.greater(absx, 0.0, out=self._nz)
        den[:] = 1.0
        np.divide(spec, absx, out=den, where=self._nz)
        np.multiply(den, mag, out=den)
        return den

    def process_hop(self, hop_samples: np.ndarray) -> np.ndarray:
        """Denoise one hop: ``(hop,)`` samples in, ``(hop,)`` float32 samples out (a view
        of an internal buffer, overwritten by the next call), delayed by ``latency_samples``."""
        t0 = time.perf_counter()
        spec = self.framer.push(hop_samples)
        t1 = time.perf_counter()
        if spec is None:  # the first frame is not complete yet: output is before the start
            self._out[:] = 0.0
            self.timing = (t1 - t0, 0.0)
            return self._out
        window = self._features_into_context(spec)
        y = self.model(window[None])
        clean = self._apply(y[0], spec)
        np.copyto(self._out, self.ola.add(clean), casting="same_kind")
        self.timing = (t1 - t0, time.perf_counter() - t1)
        return self._out

    # -- whole signals -----------------------------------------------------------------------
    def denoise(self, x: np.ndarray) -> np.ndarray:
        """Run the streaming path over a whole signal ``(n,)`` and return ``(n,)`` float32
        denoised samples aligned with ``x`` (the latency removed by feeding zeros after the
        end).  Resets the stream before and after."""
        x = np.asarray(x, dtype=np.float32).ravel()
        self.reset()
        n = len(x)
        total = n + self.latency_samples
        hops = -(-total // self.hop)
        padded = np.zeros(hops * self.hop, dtype=np.float32)
        padded[:n] = x
        out = np.empty(hops * self.hop, dtype=np.float32)
        for j in range(hops):
            out[j * self.hop : (j + 1) * self.hop] = self.process_hop(padded[j * self.hop : (j + 1) * self.hop])
        self.reset()
        return out[self.latency_samples : self.latency_samples + n]

    def describe(self) -> str:
        """One line: file, kind, dtype, context, backend."""
        return (f"{self.path.name} ({self.meta.model_version}, {self.kind}, {self.meta.dtype}, "
                f"{self.context_frames} frames context, {self.backend}, latency {self.latency_samples} samples)")
