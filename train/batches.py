"""Training batches from cached features (numpy; fed to ``tf.data``).

Edge preset: an example is a (clip, frame ``t``) pair; the input is the ``K`` noisy frames
``t-K+1 .. t`` (frames before the clip start read as silence: rho = feature_min, theta 0,
what the runtime's zero-filled ring buffer gives), the target the clean frame ``t``.
Augmentation (training only, both seeded):

* level: the same random gain (``gain_db``, uniform, dB) is applied to mix and clean by
  shifting rho and clipping to the fixed range, so the model sees the quiet and loud
  inputs a real microphone gives (the fixed dB scaling makes level matter);
* colour: the same random smooth spectral curve (three cosines over the bins, at most
  ``eq_db`` dB) is added to mix and clean: other microphones, rooms and guitars colour
  the spectrum differently from the training recordings;
* clean examples: a fraction ``clean_fraction`` of examples feed the *clean* frames as
  input with the clean target (the mask must stay ~1 on a clean guitar).

Seed preset: an example is a whole clip image ``(n_bins, n_frames, C)`` (per-clip scaling,
so a level change would not alter it); only the clean-example augmentation applies.

Every batch is a pure function of ``(seed, epoch, step)``: training is reproducible and
a resumed run sees the same batches as an uninterrupted one.
"""
from __future__ import annotations

from typing import Iterator, Optional

import numpy as np

from cleartune.edge.params import SignalParams
from cleartune.train.featcache import FeatureSet
from cleartune.train.variants import model_inputs, model_targets

DEFAULT_GAIN_DB = (-24.0, 6.0)
DEFAULT_CLEAN_FRACTION = 0.1
DEFAULT_EQ_DB = 6.0


def gather_windows(rho: np.ndarray, clips: np.ndarray, frames: np.ndarray, *, context: int,
                   fill: float) -> np.ndarray:
    """``rho[clips[i], frames[i]-context+1 .. frames[i]]`` -> ``(B, context, n_bins)`` float32,
    ``fill`` before the clip start."""
    idx = frames[:, None] + np.arange(-context + 1, 1)[None, :]
    out = np.asarray(rho[clips[:, None], np.maximum(idx, 0)], dtype=np.float32)
    out[idx < 0] = fill
    return out


class EdgeSampler:
    """Batches ``(x, y)`` for the edge preset (shapes from :mod:`cleartune.train.variants`)."""

    def __init__(self, fs: FeatureSet, *, variant: str, context_frames: int, batch_size: int, seed: int,
                 clean_fraction: float = DEFAULT_CLEAN_FRACTION, gain_db: Optional[tuple[float, float]] = DEFAULT_GAIN_DB,
                 eq_db: float = DEFAULT_EQ_DB):
        if len(fs) == 0:
            raise ValueError("no examples to sample from")
        self.fs, self.variant, self.k, self.batch_size, self.seed = fs, variant, int(context_frames), int(batch_size), int(seed)
        self.clean_fraction = float(clean_fraction)
        self.gain_db = gain_db
        self.eq_db = float(eq_db)
        self.params: SignalParams = fs.params

    def examples(self, clips: np.ndarray, frames: np.ndarray, *, rng: Optional[np.random.Generator] = None):
        """``(x, y)`` for explicit (clip, frame) pairs; augmentation only if ``rng`` is given."""
        p, fs, k = self.params, self.fs, self.k
        clips = np.asarray(clips, np.int64)
        frames = np.asarray(frames, np.int64)
        n_rho = gather_windows(fs.mix_rho, clips, frames, context=k, fill=p.feature_min)
        n_th = gather_windows(fs.mix_theta, clips, frames, context=k, fill=0.0)
        c_rho = np.asarray(fs.clean_rho[clips, frames], np.float32)
        c_th = np.asarray(fs.clean_theta[clips, frames], np.float32)
        if rng is not None:
            if self.clean_fraction > 0:
                use_clean = rng.random(len(clips)) < self.clean_fraction
                if use_clean.any():
                    sel = np.flatnonzero(use_clean)
                    n_rho[sel] = gather_windows(fs.clean_rho, clips[sel], frames[sel], context=k, fill=p.feature_min)
                    n_th[sel] = gather_windows(fs.clean_theta, clips[sel], frames[sel], context=k, fill=0.0)
            shift = np.zeros((len(clips), p.n_bins), np.float32)                  # dB per example and bin
            if self.gain_db is not None:
                shift += rng.uniform(self.gain_db[0], self.gain_db[1], size=(len(clips), 1)).astype(np.float32)
            if self.eq_db > 0:
                u = np.linspace(0.0, 1.0, p.n_bins, dtype=np.float32)[None, :]
                amp = rng.uniform(-1, 1, size=(len(clips), 3)).astype(np.float32) * (self.eq_db / 3)
                ph = rng.uniform(0, 2 * np.pi, size=(len(clips), 3)).astype(np.float32)
                for j in range(3):
                    shift += amp[:, j:j + 1] * np.cos(np.pi * (j + 1) * u + ph[:, j:j + 1])
            if self.gain_db is not None or self.eq_db > 0:
                shift *= (p.feature_max - p.feature_min) / (p.db_max - p.db_min)   # dB -> rho units
                n_rho = np.clip(n_rho + shift[:, None, :], p.feature_min, p.feature_max)
                c_rho = np.clip(c_rho + shift, p.feature_min, p.feature_max)
        x = model_inputs(n_rho, n_th, variant=self.variant, params=p)
        y = model_targets(n_rho[:, -1], n_th[:, -1], c_rho, c_th, variant=self.variant, params=p)
        return x, y

    def batch(self, epoch: int, step: int, *, shard: int = 0):
        rng = np.random.default_rng([self.seed, int(epoch), int(step), int(shard)])
        clips = rng.integers(0, len(self.fs), size=self.batch_size)
        frames = rng.integers(0, self.fs.n_frames, size=self.batch_size)
        return self.examples(clips, frames, rng=rng)

    def epoch(self, epoch: int, steps: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for s in range(steps):
            yield self.batch(epoch, s)

    def fixed_set(self, n: int, *, seed: int = 0):
        """A fixed evaluation set of ``n`` (clip, frame) examples, no augmentation."""
        rng = np.random.default_rng([seed, 7919])
        clips = rng.integers(0, len(self.fs), size=n)
        frames = rng.integers(0, self.fs.n_frames, size=n)
        return self.examples(clips, frames)


def seed_images(fs: FeatureSet, clips: np.ndarray, *, variant: str, clean: bool) -> np.ndarray:
    """Seed-preset images ``(B, n_bins, n_frames, C)`` in [-1, 1] of the mix (or clean) of ``clips``."""
    p = fs.params
    rho = fs.clean_rho if clean else fs.mix_rho
    th = fs.clean_theta if clean else fs.mix_theta
    r = np.asarray(rho[clips], np.float32).transpose(0, 2, 1) / p.feature_max
    if variant == "magnitude":
        return r[..., None]
    t = np.asarray(th[clips], np.float32).transpose(0, 2, 1)
    return np.stack([r, t], axis=-1)


class SeedSampler:
    """Batches of whole-clip images for the seed preset: x = mix image, y = clean image."""

    def __init__(self, fs: FeatureSet, *, variant: str, batch_size: int, seed: int,
                 clean_fraction: float = DEFAULT_CLEAN_FRACTION):
        if len(fs) == 0:
            raise ValueError("no examples to sample from")
        self.fs, self.variant, self.batch_size, self.seed = fs, variant, int(batch_size), int(seed)
        self.clean_fraction = float(clean_fraction)
        self.params = fs.params

    def examples(self, clips: np.ndarray, *, rng: Optional[np.random.Generator] = None):
        clips = np.asarray(clips, np.int64)
        x = seed_images(self.fs, clips, variant=self.variant, clean=False)
        y = seed_images(self.fs, clips, variant=self.variant, clean=True)
        if rng is not None and self.clean_fraction > 0:
            sel = rng.random(len(clips)) < self.clean_fraction
            x[sel] = y[sel]
        return x, y

    def batch(self, epoch: int, step: int, *, shard: int = 0):
        rng = np.random.default_rng([self.seed, int(epoch), int(step), int(shard)])
        return self.examples(rng.integers(0, len(self.fs), size=self.batch_size), rng=rng)

    def epoch(self, epoch: int, steps: int):
        for s in range(steps):
            yield self.batch(epoch, s)

    def fixed_set(self, n: int, *, seed: int = 0):
        n = min(int(n), len(self.fs))
        return self.examples(np.arange(n))
