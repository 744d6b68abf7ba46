"""Training data of the guitar-pitch model: per-reading features and labels of a dataset split,
cached, and batches of whole clips (a pure function of (seed, epoch, step)).

Labels (one per reading, :func:`reading_labels`): the true pitch (MIDI, float, from the
metadata's ``f0_hz``) while the guitar sounds, NaN ("no guitar") otherwise.  A reading is
"guitar" when its window end is at least :data:`LABEL_AFTER_ONSET_S` after the onset and
the clean guitar's RMS over the last :data:`LABEL_RMS_SAMPLES` samples is within
:data:`AUDIBLE_DB` of the clip's loudest such RMS and above :data:`AUDIBLE_FLOOR_DBFS`
("still clearly audible", from the clean WAV).  Noise-only inputs are "no guitar" throughout.

Cache (``DATA/cache/pitch-<key>/``, written atomically): ``mix.npy``, ``clean.npy``,
``noise.npy`` float16 ``(N, T, n_bins, 2)`` (the features of
:func:`cleartune.edge.guitar_features.signal_features`), ``target.npy`` float32 ``(N, T)``,
``rows.json``, ``cache.json``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from cleartune.edge.errors import DataError
from cleartune.edge.guitar_features import GuitarFeatureParams, reading_end_samples, signal_features

CACHE_VERSION = 1
LABEL_AFTER_ONSET_S = 0.01      # [s] the pluck must be this far inside the window
LABEL_RMS_SAMPLES = 2048        # [samples] clean RMS window ending at the reading
AUDIBLE_DB = 35.0               # [dB] below the clip's loudest clean RMS: died away
AUDIBLE_FLOOR_DBFS = -75.0      # [dBFS] clean RMS below this: not audible
VARIANTS = ("mix", "clean", "noise")


def true_midi(f0_hz: float) -> float:
    return 69.0 + 12.0 * math.log2(float(f0_hz) / 440.0)


def reading_labels(clean: np.ndarray, *, f0_hz: float, onset_s: float, fp: GuitarFeatureParams) -> np.ndarray:
    """Per-reading targets ``(n_readings,)`` float32: MIDI of the guitar, NaN = no guitar."""
    x = np.asarray(clean, np.float64).ravel()
    n = len(x) // fp.reading_samples
    ends = reading_end_samples(n, fp)
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    lo = np.maximum(ends - LABEL_RMS_SAMPLES, 0)
    rms_db = 10 * np.log10((c2[ends] - c2[lo]) / LABEL_RMS_SAMPLES + 1e-20)
    onset = float(onset_s) if onset_s is not None and math.isfinite(float(onset_s)) else 0.0
    after = ends >= (onset + LABEL_AFTER_ONSET_S) * fp.sample_rate
    peak = rms_db[after].max() if after.any() else -np.inf
    on = after & (rms_db >= peak - AUDIBLE_DB) & (rms_db >= AUDIBLE_FLOOR_DBFS)
    m = true_midi(f0_hz) if f0_hz and float(f0_hz) > 0 else np.nan
    return np.where(on, m, np.nan).astype(np.float32)


def noise_type(row: dict[str, Any]) -> str:
    """``clean`` / ``harmonic`` / ``environmental`` / ``mixed`` (the metadata's ``noise_type``
    when the dataset has one)."""
    nt = row.get("noise_type")
    if isinstance(nt, str) and nt:
        return nt
    snr = row.get("snr_db")
    try:
        if float(snr) == math.inf:
            return "clean"
    except (TypeError, ValueError):
        pass
    h = bool(row.get("harmonic_file")) and float(row.get("harmonic_gain") or 0) > 0
    e = bool(row.get("env_file")) and float(row.get("env_gain") or 0) > 0
    return "mixed" if h and e else "harmonic" if h else "environmental" if e else "clean"


@dataclass
class PitchSet:
    """Cached features and labels of one split."""

    fp: GuitarFeatureParams
    rows: list[dict[str, Any]]
    mix: np.ndarray
    clean: np.ndarray
    noise: np.ndarray
    target: np.ndarray
    path: Optional[Path] = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_readings(self) -> int:
        return int(self.target.shape[1])

    def variant(self, name: str) -> np.ndarray:
        return {"mix": self.mix, "clean": self.clean, "noise": self.noise}[name]


def _key(data_dir: Path, split: str, rows: list[dict], fp: GuitarFeatureParams) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(fp.to_dict(), sort_keys=True).encode())
    h.update(json.dumps([r["id"] for r in rows]).encode())
    h.update((data_dir / "metadata.csv").read_bytes())
    h.update(f"{CACHE_VERSION}/{LABEL_AFTER_ONSET_S}/{LABEL_RMS_SAMPLES}/{AUDIBLE_DB}/{AUDIBLE_FLOOR_DBFS}".encode())
    return f"pitch-{split}-{len(rows)}-{h.hexdigest()[:12]}"


def _select(rows: list[dict], max_examples: Optional[int], seed: int) -> list[dict]:
    if max_examples is None or max_examples >= len(rows):
        return rows
    idx = np.sort(np.random.default_rng(seed).choice(len(rows), size=max_examples, replace=False))
    return [rows[i] for i in idx]


def load_pitch_set(data_dir: str | os.PathLike, *, split: str, fp: GuitarFeatureParams,
                   max_examples: Optional[int] = None, seed: int = 0, cache_root: Optional[Path] = None,
                   progress: Optional[Callable[[int, int], None]] = None) -> PitchSet:
    """Features and labels of ``split`` (built once, then memory-mapped from the cache)."""
    from cleartune.train.data.dataset import load_example, load_metadata

    d = Path(data_dir)
    if not (d / "metadata.csv").is_file():
        raise DataError(f"{d}: not a dataset folder (no metadata.csv)")
    rows = _select(load_metadata(d, split=split), max_examples, seed)
    if not rows:
        raise DataError(f"{d}: split {split!r} has no examples")
    srs = {int(r.get("sample_rate") or fp.sample_rate) for r in rows}
    if srs != {fp.sample_rate}:
        raise DataError(f"{d}: audio at {sorted(srs)} Hz but the model expects {fp.sample_rate} Hz")
    root = cache_root or (d / "cache")
    cdir = root / _key(d, split, rows, fp)
    if not (cdir / "cache.json").is_file():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{cdir.name}.", dir=root))
        try:
            n = len(rows)
            arrs = None
            target = None
            for i, row in enumerate(rows):
                mix, clean, noise = load_example(d, row)
                fs = [signal_features(v, fp) for v in (mix, clean, noise)]
                lab = reading_labels(clean, f0_hz=row.get("f0_hz"), onset_s=row.get("onset_s"), fp=fp)
                if arrs is None:
                    t = fs[0].shape[0]
                    arrs = [np.lib.format.open_memmap(tmp / f"{v}.npy", mode="w+", dtype=np.float16,
                                                      shape=(n, t, fp.n_bins, fp.channels)) for v in VARIANTS]
                    target = np.zeros((n, t), np.float32)
                if fs[0].shape[0] != arrs[0].shape[1]:
                    raise DataError(f"{d}: clips of different lengths ({row['id']})")
                for a, f in zip(arrs, fs):
                    a[i] = f
                target[i] = lab
                if progress:
                    progress(i + 1, n)
            for a in arrs:
                a.flush()
            del arrs
            np.save(tmp / "target.npy", target)
            (tmp / "rows.json").write_text(json.dumps(rows, default=str))
            (tmp / "cache.json").write_text(json.dumps({"version": CACHE_VERSION, "data": str(d), "split": split,
                                                        "n": n, "features": fp.to_dict()}))
            try:
                os.replace(tmp, cdir)
            except OSError:           # another builder finished first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    arrays = {v: np.load(cdir / f"{v}.npy", mmap_mode="r") for v in VARIANTS}
    return PitchSet(fp=fp, rows=rows, target=np.load(cdir / "target.npy"), path=cdir, **arrays)


def soft_targets(target: np.ndarray, fp: GuitarFeatureParams, *, sigma_bins: float = 1.0) -> np.ndarray:
    """``(..., )`` MIDI / NaN -> ``(..., n_pitch + 1)`` float32 distributions: a Gaussian of
    ``sigma_bins`` pitch bins around the true pitch (normalised), or one-hot "no guitar"."""
    t = np.asarray(target, np.float32)
    mids = fp.pitch_midi().astype(np.float32)
    out = np.zeros(t.shape + (fp.n_pitch + 1,), np.float32)
    ok = np.isfinite(t)
    d = (mids - np.where(ok, t, 0.0)[..., None]) * fp.bins_per_semitone / sigma_bins
    g = np.exp(-0.5 * d * d)
    s = g.sum(axis=-1, keepdims=True)
    good = ok & (s[..., 0] > 1e-3)                 # a pitch outside the salience range: no label
    out[..., : fp.n_pitch] = np.where(good[..., None], g / np.maximum(s, 1e-12), 0.0)
    out[..., fp.n_pitch] = np.where(ok, 0.0, 1.0)
    return out


@dataclass
class ClipSampler:
    """Batches of whole clips: ``batch(epoch, step) -> (features (B, T, n_bins, 2) float32,
    soft targets (B, T, n_pitch + 1) float32)``, a pure function of ``(seed, epoch, step)``.
    Each clip is fed as its mix, its clean guitar (``clean_fraction``) or its noise alone
    (``noise_fraction``, all "no guitar")."""

    data: PitchSet
    batch_size: int
    seed: int = 0
    clean_fraction: float = 0.1
    noise_fraction: float = 0.15

    def batch(self, epoch: int, step: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch, step])
        idx = rng.integers(0, len(self.data), size=self.batch_size)
        u = rng.random(self.batch_size)
        xs, ys = [], []
        for i, v in zip(idx, u):
            if v < self.noise_fraction:
                xs.append(self.data.noise[i])
                ys.append(np.full(self.data.n_readings, np.nan, np.float32))
            elif v < self.noise_fraction + self.clean_fraction:
                xs.append(self.data.clean[i])
                ys.append(self.data.target[i])
            else:
                xs.append(self.data.mix[i])
                ys.append(self.data.target[i])
        return np.stack(xs).astype(np.float32), soft_targets(np.stack(ys), self.data.fp)

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.data) / self.batch_size))
