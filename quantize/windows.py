"""Model inputs from audio, and model outputs back to spectra: the offline application of
a denoiser, computed with :mod:`cleartune.edge.features` exactly as the runtime does.

No TensorFlow here (the report runs on an edge-only install).

Presets (from the model's sidecar, :class:`cleartune.edge.model_meta.ModelMeta`):

``edge``  one inference per STFT frame.  The input of frame ``k`` is the window of the
          last ``K = context_frames`` frames ``k-K+1 .. k`` (newest last) of the noisy
          features with the fixed dB range, turned into the model's input by
          :func:`cleartune.train.variants.model_inputs` (``rho / feature_max``,
          ``(K, n_bins)``; two-channel kinds ``(K, n_bins, 2)``) -- the function training
          uses.  Frames before the start of the signal are silence (``rho = feature_min``,
          ``theta = 0``).  The output describes frame ``k`` and becomes a spectrum with
          :func:`cleartune.train.variants.output_to_spectrum`:

          * ``mask``: ratio mask in [0, 1] multiplying the noisy complex spectrum;
          * ``magnitude``: clean ``rho / feature_max``, noisy phase;
          * ``polar``: clean ``rho / feature_max`` and ``theta``;
          * ``complex``: power-compressed clean real and imaginary parts.

``seed``  one inference per clip: ``variants.to_seed_image`` of the per-clip scaled
          ``rho`` (and ``theta`` as a second channel), ``(n_bins, frames_per_clip, C)``;
          the output is the clean image in the same scaling (the mix's dB range).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from cleartune.edge import features as F
from cleartune.edge.errors import DataError, ModelLoadError
from cleartune.edge.model_meta import ModelMeta
from cleartune.train.variants import from_seed_image, to_seed_image

EDGE_KINDS = ("mask", "magnitude", "polar", "complex")
SEED_KINDS = ("magnitude", "polar", "seed-magnitude", "seed-polar")


@dataclass(frozen=True)
class ModelIO:
    """What a model computes, from its sidecar: ``preset`` ("edge"/"seed"), ``kind``,
    ``context_frames`` K (edge), ``channels`` (1 or 2 features per bin) and the input shape
    without the batch axis."""

    preset: str
    kind: str
    context_frames: int
    channels: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


def model_io(meta: ModelMeta) -> ModelIO:
    """Check that ``meta`` describes a model this module can feed and return its I/O.
    Raises :class:`ModelLoadError` for an unknown preset/kind or a bad context length."""
    p = meta.signal_params
    kind = meta.kind
    if meta.preset == "edge":
        if kind not in EDGE_KINDS:
            raise ModelLoadError(f"edge model kind {kind!r} is not supported here (supported: {', '.join(EDGE_KINDS)})")
        k = int(meta.context_frames)
        if k < 1:
            raise ModelLoadError(f"edge model sidecar has context_frames={k}; need >= 1")
        c = 2 if kind in ("polar", "complex") else 1
        ins = (k, p.n_bins) if c == 1 else (k, p.n_bins, 2)
        outs = (p.n_bins,) if c == 1 else (p.n_bins, 2)
        return ModelIO("edge", kind, k, c, ins, outs)
    if meta.preset == "seed":
        if kind not in SEED_KINDS:
            raise ModelLoadError(f"seed model kind {kind!r} is not supported here (supported: {', '.join(SEED_KINDS)})")
        c = 2 if kind.endswith("polar") else 1
        shape = (p.n_bins, p.frames_per_clip, c)
        return ModelIO("seed", kind, 0, c, shape, shape)
    raise ModelLoadError(f"unknown preset {meta.preset!r} in the model sidecar (edge or seed)")


def check_shapes(io: ModelIO, *, input_shape: Sequence[int], output_shape: Sequence[int], what: str) -> None:
    """Raise :class:`ModelLoadError` unless a model's (batch-1) shapes fit its sidecar."""
    ins = tuple(int(s) for s in input_shape)
    outs = tuple(int(s) for s in output_shape)
    if ins[1:] != io.input_shape or (ins[0] not in (1, -1, 0)):
        raise ModelLoadError(f"{what}: input shape {list(ins)} does not match its sidecar "
                             f"({io.preset}/{io.kind}, expected {[1, *io.input_shape]})")
    if outs[1:] != io.output_shape:
        raise ModelLoadError(f"{what}: output shape {list(outs)} does not match its sidecar "
                             f"({io.preset}/{io.kind}, expected {[1, *io.output_shape]})")


@dataclass
class ClipFeatures:
    """Features of one noisy clip: ``spec`` complex ``(n_frames, n_bins)``, the model
    ``inputs`` ``(n_inferences, *input_shape)`` float32 and the dB range used."""

    spec: np.ndarray
    inputs: np.ndarray
    db_range: F.DbRange


def edge_windows(feat: np.ndarray, *, context_frames: int, pad: float) -> np.ndarray:
    """``(n_frames, n_bins)`` features -> ``(n_frames, K, n_bins)`` windows of the last K
    frames (newest last), frames before the start filled with ``pad``.  Returns a
    read-only strided view (no copy)."""
    k = int(context_frames)
    head = np.full((k - 1,) + feat.shape[1:], pad, dtype=np.float32)
    padded = np.concatenate([head, np.asarray(feat, dtype=np.float32)], axis=0)
    win = np.lib.stride_tricks.sliding_window_view(padded, k, axis=0)       # (n, n_bins, K)
    return np.moveaxis(win, -1, 1)                                          # (n, K, n_bins)


def clip_features(mix: np.ndarray, *, meta: ModelMeta, io: Optional[ModelIO] = None) -> ClipFeatures:
    """Model inputs for one noisy clip ``mix`` (float, full scale 1.0, the model's sample
    rate).  Edge: one window per frame, ``(len(mix) // hop, *input_shape)``; seed: one
    image, ``(1, n_bins, frames_per_clip, C)`` (the clip must be ``clip_samples`` long)."""
    io = io or model_io(meta)
    p = meta.signal_params
    mix = np.asarray(mix, dtype=np.float64)
    if mix.ndim != 1:
        raise DataError(f"expected a mono clip, got shape {mix.shape}")
    if io.preset == "seed" and len(mix) != p.clip_samples:
        raise DataError(f"seed model needs clips of {p.clip_samples} samples, got {len(mix)}")
    if len(mix) < p.hop:
        raise DataError(f"clip of {len(mix)} samples is shorter than one hop ({p.hop})")
    spec = F.stft(mix, params=p)
    rho, theta, rng = F.polar_features(spec, params=p)
    if io.preset == "edge":
        from cleartune.train.variants import model_inputs

        rho_w = edge_windows(rho, context_frames=io.context_frames, pad=p.feature_min)
        theta_w = edge_windows(theta, context_frames=io.context_frames, pad=0.0)
        inputs = model_inputs(rho_w, theta_w, variant=io.kind, params=p)
    else:
        img = to_seed_image(rho, params=p)
        if io.channels == 2:
            img = np.concatenate([img, theta.T[..., None].astype(np.float32)], axis=-1)
        inputs = img[None]
    return ClipFeatures(spec=spec, inputs=inputs, db_range=rng)


def run_model(call: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """Apply a batch-1 model ``call(x (1, ...)) -> y (1, ...)`` to every row of ``inputs``
    (``(n, ...)``).  Returns float32 ``(n, *output_shape)``."""
    outs = None
    buf = np.empty((1,) + inputs.shape[1:], dtype=np.float32)
    for i in range(inputs.shape[0]):
        buf[0] = inputs[i]
        y = np.asarray(call(buf))
        if outs is None:
            outs = np.empty((inputs.shape[0],) + y.shape[1:], dtype=np.float32)
        outs[i] = y[0]
    return outs if outs is not None else np.zeros((0,), np.float32)


def outputs_to_spectrum(outputs: np.ndarray, *, clip: ClipFeatures, meta: ModelMeta,
                        io: Optional[ModelIO] = None) -> np.ndarray:
    """Model outputs of a clip -> denoised complex spectrum ``(n_frames, n_bins)``.

    ``outputs``: edge ``(n_frames, n_bins[, 2])``; seed ``(1, n_bins, frames, C)``."""
    io = io or model_io(meta)
    p = meta.signal_params
    spec = clip.spec
    if io.preset == "edge":
        from cleartune.train.variants import output_to_spectrum

        return output_to_spectrum(outputs, spec, variant=io.kind, params=p)
    img = outputs[0]
    rho = from_seed_image(np.clip(img[..., :1], -1.0, 1.0), params=p)
    mag = F.rho_to_magnitude(rho, params=p, db_range=clip.db_range)
    if io.channels == 2:
        theta = np.clip(img[..., 1].T, -1.0, 1.0).astype(np.float64)
        return mag * np.exp(1j * np.pi * theta)
    return mag * np.exp(1j * np.angle(spec))


def feature_view(spec: np.ndarray, *, meta: ModelMeta, db_range: Optional[F.DbRange] = None) -> np.ndarray:
    """Scaled magnitude features ``rho / feature_max`` in [-1, 1], ``(n_frames, n_bins)``,
    of a spectrum, with the model's scaling (fixed range, or ``db_range`` for the seed:
    the mix's per-clip range, so a clean and a denoised spectrum are compared on one scale)."""
    p = meta.signal_params
    db = 20.0 * np.log10(np.maximum(np.abs(spec), F.MAG_EPS))
    rng = db_range if (p.db_scaling == "per_clip" and db_range is not None) else None
    return F.db_to_rho(db, params=p, db_range=rng) / np.float32(p.feature_max)


def denoise_offline(call: Callable[[np.ndarray], np.ndarray], mix: np.ndarray, *, meta: ModelMeta,
                    io: Optional[ModelIO] = None) -> dict[str, Any]:
    """Run a model over a clip the way the runtime does and invert to audio.

    Returns ``{"outputs": model outputs, "spec": denoised complex (n_frames, n_bins),
    "audio": float64 (len(mix),), "clip": ClipFeatures}``."""
    io = io or model_io(meta)
    clip = clip_features(mix, meta=meta, io=io)
    out = run_model(call, clip.inputs)
    spec = outputs_to_spectrum(out, clip=clip, meta=meta, io=io)
    audio = F.istft(spec, params=meta.signal_params, length=len(mix))
    return {"outputs": out, "spec": spec, "audio": audio, "clip": clip}


# -- picking clips and windows across SNRs -------------------------------------------------

def snr_value(row: dict[str, Any]) -> float:
    """A row's requested SNR [dB] (``inf`` for a clean mix, ``nan`` when unknown)."""
    v = row.get("snr_db", float("nan"))
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def stratified_rows(rows: Sequence[dict[str, Any]], n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Up to ``n`` rows spread evenly over the SNR range: rows are sorted by SNR, cut into
    ``n`` equal groups and one row drawn from each (all rows when ``n >= len(rows)``)."""
    rows = list(rows)
    if n >= len(rows):
        return rows
    rng = np.random.default_rng(seed)
    key = [(-math.inf if math.isnan(snr_value(r)) else snr_value(r)) for r in rows]
    order = np.argsort(np.asarray(key), kind="stable")
    groups = np.array_split(order, n)
    return [rows[int(rng.choice(g))] for g in groups if len(g)]
