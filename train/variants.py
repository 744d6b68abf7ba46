"""What each model variant sees, predicts and is trained on.

All variants of the edge model take the last ``K`` noisy frames and describe the newest
clean frame; they differ in the output representation (the seed's "next steps"):

``mask``       ratio mask ``m`` in [0, 1] (sigmoid) per bin; clean estimate ``m * X`` keeps
               the noisy phase.  Runtime kind ``"mask"``.
``magnitude``  the clean rho / feature_max in [-1, 1] (tanh), generative, with the noisy
               phase.  Runtime kind ``"magnitude"`` (``features.rho_to_magnitude``).
``polar``      the seed's polar pair: clean rho / feature_max and theta (phase / pi), both
               tanh; input rho and theta of the K frames.
``complex``    real and imaginary parts, power-law compressed: ``|X|**COMPRESS * exp(j
               angle X)`` (values in [-1, 1], well scaled for int8 unlike the raw
               spectrum's 100 dB range); input the same of the K frames.

Inputs (numpy, what the runtime computes each hop): ``(B, K, n_bins)`` rho / feature_max for
one-channel variants, ``(B, K, n_bins, 2)`` for two-channel ones.

Training loss (``make_loss``): the mean squared error of power-law compressed magnitudes
``|S|**COMPRESS`` (which weighs the loud bins, the partials the tuner needs, more than the
dB scale does) *plus*, for ``magnitude``/``polar``/``complex``, the mean squared error of
the scaled features (rho / feature_max, the seed's metric; both terms have comparable
size) and, for ``mask``, the MSE between the mask and the ideal ratio mask
``min(|S| / |X|, 1)``.  (The dB-domain feature MSE is not used to train the mask: its
gradient through ``log(mask)`` drives the sigmoid into saturation, mask ~ 0 everywhere,
from which nothing recovers.)  ``polar`` adds the MSE of theta, ``complex`` that of the
compressed real/imaginary parts.  The seed preset trains on plain MSE of its image, as
written.  The seed's metric, feature MSE, is reported for every variant.
"""
from __future__ import annotations

import numpy as np

from cleartune.edge import features as F
from cleartune.edge.params import SignalParams

#: Power-law compression of magnitudes in the loss and of the complex variant's values.
COMPRESS = 0.3
#: Weight of the compressed-magnitude term of the loss.
COMPRESSED_WEIGHT = 1.0
#: Floor of the mask inside the log (the fixed range is 100 dB: -120 dB is below it).
MASK_FLOOR = 1e-6
#: Default weight of over-suppression (estimate below the clean target) against residual
#: noise (estimate above it) in the mask and magnitude losses.
SUPPRESSION_WEIGHT = 1.0

ONE_CHANNEL = ("mask", "magnitude")
TWO_CHANNEL = ("polar", "complex")


# -- numpy: inputs, targets, outputs -----------------------------------------------------
def to_seed_image(feat: np.ndarray, *, params: SignalParams) -> np.ndarray:
    """(n_frames, n_bins) features -> the seed model's (n_bins, n_frames, 1) image in [-1, 1]
    (frequency on the first axis as in the seed's (512, 256, 1) input)."""
    return (np.asarray(feat, dtype=np.float32).T[..., None] / params.feature_max).astype(np.float32)


def from_seed_image(img: np.ndarray, *, params: SignalParams) -> np.ndarray:
    """Inverse of :func:`to_seed_image`."""
    return (np.asarray(img, dtype=np.float32)[..., 0].T * params.feature_max).astype(np.float32)


def rho_to_db(rho: np.ndarray, *, params: SignalParams) -> np.ndarray:
    """rho (feature units, [-100, 100]) -> dBFS with the fixed range."""
    return ((np.asarray(rho, np.float32) - params.feature_min) / (params.feature_max - params.feature_min)
            * (params.db_max - params.db_min) + params.db_min)


def compressed(rho: np.ndarray, theta: np.ndarray, *, params: SignalParams) -> np.ndarray:
    """rho, theta (feature units) -> compressed real/imaginary pair, shape ``rho.shape + (2,)``."""
    mag = 10.0 ** (rho_to_db(rho, params=params) * (COMPRESS / 20.0))
    ang = np.pi * np.asarray(theta, np.float32)
    return np.stack([mag * np.cos(ang), mag * np.sin(ang)], axis=-1).astype(np.float32)


def model_inputs(rho: np.ndarray, theta: np.ndarray, *, variant: str, params: SignalParams) -> np.ndarray:
    """Noisy frames -> model input.  ``rho``/``theta``: ``(..., K, n_bins)`` in feature units."""
    if variant in ONE_CHANNEL:
        return (np.asarray(rho, np.float32) / params.feature_max).astype(np.float32)
    if variant == "polar":
        return np.stack([np.asarray(rho, np.float32) / params.feature_max, np.asarray(theta, np.float32)], axis=-1)
    if variant == "complex":
        return compressed(rho, theta, params=params)
    raise ValueError(f"unknown variant {variant!r}")


def model_targets(noisy_rho: np.ndarray, noisy_theta: np.ndarray, clean_rho: np.ndarray, clean_theta: np.ndarray,
                  *, variant: str, params: SignalParams) -> np.ndarray:
    """Training targets for the newest frame (arrays ``(B, n_bins)`` in feature units).

    ``mask``/``magnitude``: ``(B, 2 * n_bins)`` = [noisy rho, clean rho] / feature_max (the
    mask loss needs the noisy frame); ``polar``: ``(B, n_bins, 2)`` clean [rho / feature_max,
    theta]; ``complex``: ``(B, n_bins, 2)`` compressed clean real/imaginary."""
    fm = params.feature_max
    if variant in ONE_CHANNEL:
        return np.concatenate([np.asarray(noisy_rho, np.float32) / fm, np.asarray(clean_rho, np.float32) / fm], axis=-1)
    if variant == "polar":
        return np.stack([np.asarray(clean_rho, np.float32) / fm, np.asarray(clean_theta, np.float32)], axis=-1)
    if variant == "complex":
        return compressed(clean_rho, clean_theta, params=params)
    raise ValueError(f"unknown variant {variant!r}")


def output_to_spectrum(out: np.ndarray, noisy: np.ndarray, *, variant: str, params: SignalParams) -> np.ndarray:
    """Model output for frames -> complex clean spectrum estimate (dBFS-normalised like ``features.stft``).

    ``out``: ``(n, n_bins)`` or ``(n, n_bins, 2)``; ``noisy``: the noisy complex frames ``(n, n_bins)``."""
    out = np.asarray(out, np.float64)
    noisy = np.asarray(noisy)
    if variant == "mask":
        return np.clip(out, 0.0, 1.0) * noisy
    if variant == "magnitude":
        mag = F.rho_to_magnitude(np.clip(out, -1, 1) * params.feature_max, params=params)
        return mag * np.exp(1j * np.angle(noisy))
    if variant == "polar":
        mag = F.rho_to_magnitude(np.clip(out[..., 0], -1, 1) * params.feature_max, params=params)
        return mag * np.exp(1j * np.pi * np.clip(out[..., 1], -1, 1))
    if variant == "complex":
        c = out[..., 0] + 1j * out[..., 1]
        return np.abs(c) ** (1.0 / COMPRESS) * np.exp(1j * np.angle(c))
    raise ValueError(f"unknown variant {variant!r}")


# -- keras: losses and the seed metric -----------------------------------------------------

def _db(r, params: SignalParams):
    """r = rho / feature_max -> dBFS (keras ops)."""
    fm = params.feature_max
    return (r * fm - params.feature_min) / (params.feature_max - params.feature_min) * (params.db_max - params.db_min) + params.db_min


def _r(db, params: SignalParams):
    """dBFS -> rho / feature_max, clipped to the fixed range (keras ops)."""
    from keras import ops

    db = ops.clip(db, params.db_min, params.db_max)
    return ((db - params.db_min) / (params.db_max - params.db_min) * (params.feature_max - params.feature_min)
            + params.feature_min) / params.feature_max


def _comp(db):
    from keras import ops

    return ops.power(10.0, db * (COMPRESS / 20.0))


def _estimate(variant: str, y_true, y_pred, params: SignalParams):
    """(estimated dB, clean dB) of the newest frame, ``(B, n_bins)`` each (keras ops)."""
    from keras import ops

    nb = params.n_bins
    if variant == "mask":
        db_n = _db(y_true[:, :nb], params)
        est = db_n + 20.0 * ops.log10(ops.maximum(y_pred, MASK_FLOOR))
        return est, _db(y_true[:, nb:], params)
    if variant == "magnitude":
        return _db(y_pred, params), _db(y_true[:, nb:], params)
    if variant == "polar":
        return _db(y_pred[..., 0], params), _db(y_true[..., 0], params)
    if variant == "complex":
        def db_of(c):
            mag_c = ops.sqrt(c[..., 0] ** 2 + c[..., 1] ** 2 + 1e-12)
            return (20.0 / COMPRESS) * ops.log10(ops.maximum(mag_c, 1e-12))
        return db_of(y_pred), db_of(y_true)
    raise ValueError(f"unknown variant {variant!r}")


def make_loss(variant: str, *, params: SignalParams, preset: str = "edge",
              suppression_weight: float = SUPPRESSION_WEIGHT):
    """The training loss ``loss(y_true, y_pred) -> (B,)`` of a variant (see the module docstring).

    ``suppression_weight`` (mask and magnitude): squared errors where the estimate is *below*
    its target (a guitar partial removed) count this many times those above it (noise
    left in).  A tuner locks onto the wrong octave when partials go missing, while some
    residual noise costs little."""
    from keras import ops

    a = float(suppression_weight)

    def sq(err):
        if a == 1.0:
            return ops.square(err)
        return ops.square(err) * ops.where(err < 0, a, 1.0)

    if preset == "seed":
        def seed_mse(y_true, y_pred):
            return ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))
        return seed_mse

    nb = params.n_bins

    def loss(y_true, y_pred):
        est_db, clean_db = _estimate(variant, y_true, y_pred, params)
        comp = ops.mean(sq(_comp(ops.minimum(est_db, params.db_max)) - _comp(clean_db)), axis=-1)
        if variant == "mask":
            # mask approximation: the ideal ratio mask |S| / |X| (1 where both are at the floor)
            irm = ops.minimum(ops.power(10.0, (clean_db - _db(y_true[:, :nb], params)) / 20.0), 1.0)
            first = ops.mean(sq(y_pred - irm), axis=-1)
        else:
            first = ops.mean(sq(_r(est_db, params) - _r(clean_db, params)), axis=-1)
        total = first + COMPRESSED_WEIGHT * comp
        if variant == "polar":
            total = total + ops.mean(ops.square(y_pred[..., 1] - y_true[..., 1]), axis=-1)
        elif variant == "complex":
            total = total + ops.mean(ops.square(y_pred - y_true), axis=(-2, -1))
        return total

    loss.__name__ = f"{variant}_loss"
    return loss


def make_feature_mse(variant: str, *, params: SignalParams, preset: str = "edge"):
    """The seed's metric: MSE of the estimated vs clean rho / feature_max (in [-1, 1])."""
    from keras import ops

    if preset == "seed":
        def feat_mse(y_true, y_pred):
            return ops.mean(ops.square(y_true[..., 0] - y_pred[..., 0]), axis=(1, 2))
        return feat_mse

    def feat_mse(y_true, y_pred):
        est_db, clean_db = _estimate(variant, y_true, y_pred, params)
        return ops.mean(ops.square(_r(est_db, params) - _r(clean_db, params)), axis=-1)

    return feat_mse
