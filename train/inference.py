"""Running a trained denoiser offline on whole clips: ``.keras`` (TensorFlow) or ``.tflite``
(through :mod:`cleartune.edge.litert`), for evaluation and reports.

For the edge preset this is exactly what the streaming runtime computes (the model on
each frame's window of the last K frames of ``features.stft``), batched: the streaming
denoiser (``edge/denoiser.py``) equals it to float precision.

    den = OfflineDenoiser("edge/models/edge_float.keras")
    est = den.spectrum(mix)               # complex (n_frames, n_bins) clean estimate
    y = den.audio(mix)                    # float64 (len(mix),) denoised audio, aligned with mix
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from cleartune.edge import features as F
from cleartune.edge.errors import ModelLoadError
from cleartune.edge.model_meta import ModelMeta, load_meta
from cleartune.train.batches import gather_windows
from cleartune.train.variants import from_seed_image, model_inputs, output_to_spectrum, to_seed_image

#: Frames per Keras call for edge models.
KERAS_BATCH = 1024


def variant_of(meta: ModelMeta) -> str:
    """The variant name of a sidecar's ``kind`` (``seed-polar`` -> ``polar``)."""
    k = meta.kind
    return k[len("seed-"):] if k.startswith("seed-") else k


def _flexible_batch(model):
    """A copy of a Keras model with the batch dimension free (the saved one is batch 1)."""
    import keras

    cfg = model.get_config()
    changed = False
    for layer in cfg.get("layers", []):
        if layer.get("class_name") == "InputLayer":
            c = layer["config"]
            shape = c.get("batch_shape") or c.get("batch_input_shape")
            if shape and shape[0] is not None:
                key = "batch_shape" if "batch_shape" in c else "batch_input_shape"
                c[key] = [None] + list(shape[1:])
                changed = True
    if not changed:
        return model
    m = keras.Model.from_config(cfg)
    m.set_weights(model.get_weights())
    return m


class OfflineDenoiser:
    """A model file (``.keras`` or ``.tflite``, with its sidecar) applied to whole clips.

    Attributes: ``meta`` (sidecar), ``preset``, ``variant``, ``params``, ``context_frames``,
    ``is_tflite``, ``keras_model`` (the Keras model, batch free; None for TFLite)."""

    def __init__(self, model_path: str | Path, *, num_threads: int = 1):
        self.path = Path(model_path)
        self.meta = load_meta(self.path)
        self.preset = self.meta.preset
        self.variant = variant_of(self.meta)
        self.params = self.meta.signal_params
        self.context_frames = int(self.meta.context_frames)
        self.is_tflite = self.path.suffix.lower() == ".tflite"
        self.keras_model = None
        self._tfl = None
        if self.is_tflite:
            from cleartune.edge.litert import TFLiteModel

            self._tfl = TFLiteModel(self.path, num_threads=num_threads)
        elif self.path.suffix.lower() == ".keras":
            import keras

            try:
                self.keras_model = _flexible_batch(keras.models.load_model(self.path, compile=False))
            except Exception as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise ModelLoadError(f"{self.path}: cannot load the Keras model ({first})") from None
        else:
            raise ModelLoadError(f"{self.path}: expected a .keras or .tflite model")

    # -- raw model calls --------------------------------------------------------------------
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Model outputs for a batch of inputs ``(n, ...)`` (TFLite: one call per item)."""
        x = np.asarray(x, np.float32)
        if self._tfl is not None:
            out = np.empty((len(x),) + self._tfl.output_shape[1:], np.float32)
            for i in range(len(x)):
                out[i] = self._tfl(x[i:i + 1])[0]
            return out
        outs = [np.asarray(self.keras_model(x[i:i + KERAS_BATCH], training=False))
                for i in range(0, len(x), KERAS_BATCH if self.preset == "edge" else 4)]
        return np.concatenate(outs, axis=0)

    def edge_inputs(self, noisy_spec: np.ndarray) -> np.ndarray:
        """Inputs ``(n_frames, K, n_bins[, 2])`` for every frame of a noisy spectrum (edge)."""
        p = self.params
        rho, theta, _ = F.polar_features(noisy_spec, params=p)
        n = len(rho)
        frames = np.arange(n)
        clips = np.zeros(n, np.int64)
        r = gather_windows(rho[None], clips, frames, context=self.context_frames, fill=p.feature_min)
        t = gather_windows(theta[None], clips, frames, context=self.context_frames, fill=0.0)
        return model_inputs(r, t, variant=self.variant, params=p)

    def seed_input(self, noisy_spec: np.ndarray):
        """The seed image ``(1, n_bins, n_frames, C)`` and the clip's dB range."""
        p = self.params
        rho, theta, rng = F.polar_features(noisy_spec, params=p)
        img = to_seed_image(rho, params=p)
        if self.variant == "polar":
            img = np.concatenate([img, theta.T[..., None].astype(np.float32)], axis=-1)
        return img[None], rng

    # -- clips ------------------------------------------------------------------------------
    def spectrum(self, mix: np.ndarray, *, return_output: bool = False):
        """Clean-spectrum estimate ``(len(mix) // hop, n_bins)`` complex of a noisy clip."""
        p = self.params
        noisy = F.stft(mix, params=p)
        if self.preset == "edge":
            out = self.predict(self.edge_inputs(noisy))
            est = output_to_spectrum(out, noisy, variant=self.variant, params=p)
        else:
            if noisy.shape[0] != p.frames_per_clip:
                raise ModelLoadError(f"the seed model takes clips of {p.clip_samples} samples, got {len(mix)}")
            img, rng = self.seed_input(noisy)
            out = self.predict(img)[0]
            rho = from_seed_image(out[..., :1], params=p)
            # the clean clip's own dB range is unknown at inference: invert with the mix's
            if self.variant == "polar":
                theta = out[..., 1].T
                est = F.features_to_spectrum(rho, theta, params=p, db_range=rng)
            else:
                est = F.rho_to_magnitude(rho, params=p, db_range=rng) * np.exp(1j * np.angle(noisy))
        return (est, out) if return_output else est

    def audio(self, mix: np.ndarray) -> np.ndarray:
        """Denoised audio, float64, aligned with (and as long as) ``mix``."""
        return F.istft(self.spectrum(mix), params=self.params, length=len(mix))

    def latent(self, mixes: list[np.ndarray]) -> Optional[np.ndarray]:
        """Seed Keras models: latent vectors ``(n, latent_dim)`` of the clips; else None."""
        if self.keras_model is None or self.preset != "seed":
            return None
        import keras

        try:
            layer = self.keras_model.get_layer("latent")
        except ValueError:
            return None
        enc = keras.Model(self.keras_model.inputs[0], layer.output)
        imgs = np.concatenate([self.seed_input(F.stft(m, params=self.params))[0] for m in mixes], axis=0)
        return np.concatenate([np.asarray(enc(imgs[i:i + 4], training=False)) for i in range(0, len(imgs), 4)], axis=0)
