"""Features of a dataset split, computed once with :mod:`cleartune.edge.features` (the one
feature code the Pi runs) and cached as ``.npy`` files so training epochs are fast.

A cache folder holds, for the ``N`` mixes of one split, arrays of shape
``(N, n_frames, n_bins)`` (float16, memory-mapped when read):

    mix_rho, clean_rho       scaled dB magnitude in [feature_min, feature_max] ([-100, 100])
    mix_theta, clean_theta   phase / pi in [-1, 1]

plus ``db_range.npy`` ``(N, 2, 2)`` float32 (``[mix, clean] x [lo, hi]`` dBFS, the per-clip
ranges of the seed preset or the fixed range of the edge preset), ``rows.json`` (the
metadata rows) and ``cache.json`` (what it was built from).  float16 keeps rho to
0.06 (0.03 dB) and theta to 5e-4: far below what the models resolve.

The cache lives in ``DATA/cache/<key>`` (or, if the dataset folder is read-only, in a
fallback folder the caller gives) and is written atomically (a temporary folder renamed
into place), so concurrent builders and interrupted builds never leave a broken cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from cleartune.edge import features as F
from cleartune.edge.errors import DataError
from cleartune.edge.params import SignalParams

CACHE_VERSION = 1
ARRAYS = ("mix_rho", "clean_rho", "mix_theta", "clean_theta")


@dataclass
class FeatureSet:
    """Cached features of one split (arrays ``(N, n_frames, n_bins)`` float16)."""

    params: SignalParams
    rows: list[dict[str, Any]]
    mix_rho: np.ndarray
    clean_rho: np.ndarray
    mix_theta: np.ndarray
    clean_theta: np.ndarray
    db_range: np.ndarray          # (N, 2, 2) float32: [mix, clean] x [lo, hi] dBFS
    path: Optional[Path] = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_frames(self) -> int:
        return int(self.mix_rho.shape[1])

    def subset(self, idx: Sequence[int]) -> "FeatureSet":
        idx = np.asarray(idx, dtype=np.int64)
        return FeatureSet(self.params, [self.rows[i] for i in idx], self.mix_rho[idx], self.clean_rho[idx],
                          self.mix_theta[idx], self.clean_theta[idx], self.db_range[idx], self.path)


def clip_features(mix: np.ndarray, clean: np.ndarray, *, params: SignalParams) -> dict[str, np.ndarray]:
    """Features of one clip: ``mix_rho, clean_rho, mix_theta, clean_theta`` float32
    ``(len // hop, n_bins)`` and ``db_range`` ``(2, 2)`` float32."""
    out: dict[str, np.ndarray] = {}
    ranges = []
    for name, x in (("mix", mix), ("clean", clean)):
        rho, theta, rng = F.polar_features(F.stft(x, params=params), params=params)
        out[f"{name}_rho"], out[f"{name}_theta"] = rho, theta
        ranges.append([rng.lo, rng.hi])
    out["db_range"] = np.asarray(ranges, dtype=np.float32)
    return out


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _rows(data_dir: Path, split: Optional[str]) -> list[dict[str, Any]]:
    from cleartune.train.data.dataset import load_metadata

    return load_metadata(data_dir, split=split)


def dataset_sample_rate(data_dir: str | os.PathLike) -> Optional[int]:
    """Sample rate of a dataset folder (from ``dataset.json``), or None if unknown."""
    p = Path(data_dir) / "dataset.json"
    try:
        d = json.loads(p.read_text())
        return int(d["signal_params"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cache_key(data_dir: str | os.PathLike, *, split: Optional[str], params: SignalParams,
              max_examples: Optional[int]) -> str:
    """Folder name of the cache: preset, params fingerprint, split, count and a hash of the metadata."""
    meta = Path(data_dir) / "metadata.csv"
    if not meta.is_file():
        raise DataError(f"{meta}: not found (is {data_dir} a dataset built by 'cleartune data build'?)")
    h = hashlib.sha256(f"{CACHE_VERSION}:{_file_sha(meta)}".encode()).hexdigest()[:10]
    n = "all" if max_examples is None else str(int(max_examples))
    return f"{params.name}-{params.fingerprint()}-{split or 'all'}-{n}-{h}"


def _select(rows: list[dict[str, Any]], max_examples: Optional[int]) -> list[dict[str, Any]]:
    """The first ``max_examples`` rows in a fixed, metadata-independent shuffled order
    (sorted by a hash of the id), so a subset spreads over notes, noises and SNRs."""
    if max_examples is None or max_examples >= len(rows):
        return rows
    order = sorted(rows, key=lambda r: hashlib.sha256(str(r["id"]).encode()).hexdigest())
    keep = {id(r) for r in order[: int(max_examples)]}
    return [r for r in rows if id(r) in keep]


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".probe"):
            pass
        return True
    except OSError:
        return False


def load_features(data_dir: str | os.PathLike, *, split: Optional[str], params: SignalParams,
                  max_examples: Optional[int] = None, fallback_dir: Optional[str | os.PathLike] = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> FeatureSet:
    """Features of ``split`` (``train``/``val``/``test``, None for all) of the dataset at
    ``data_dir``, building the cache on first use.

    ``max_examples`` keeps a fixed pseudo-random subset.  Raises :class:`DataError` if the
    split is empty, or the dataset's sample rate or clip length does not fit ``params``."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: dataset folder not found")
    sr = dataset_sample_rate(data_dir)
    if sr is not None and sr != params.sample_rate:
        raise DataError(f"{data_dir}: built at {sr} Hz, the {params.name} preset needs {params.sample_rate} Hz")
    key = cache_key(data_dir, split=split, params=params, max_examples=max_examples)
    roots = [data_dir / "cache"]
    if fallback_dir is not None:
        roots.append(Path(fallback_dir) / "cache")
    for root in roots:
        if (root / key / "cache.json").is_file():
            return _open(root / key, params)
    root = next((r for r in roots if _writable(r)), None)
    if root is None:
        raise DataError(f"no writable folder for the feature cache (tried {', '.join(map(str, roots))})")
    rows = _select(_rows(data_dir, split), max_examples)
    if not rows:
        raise DataError(f"{data_dir}: split {split!r} has no examples")
    _build(data_dir, rows, root / key, params=params, progress=progress)
    return _open(root / key, params)


def _build(data_dir: Path, rows: list[dict[str, Any]], dest: Path, *, params: SignalParams,
           progress: Optional[Callable[[int, int], None]]) -> None:
    from cleartune.train.data.dataset import iter_examples

    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        n = len(rows)
        arrays: dict[str, np.ndarray] = {}
        ranges = np.zeros((n, 2, 2), np.float32)
        t0 = time.time()
        for i, (mix, clean, _noise, row) in enumerate(iter_examples(data_dir, rows=rows)):
            if i == 0:
                n_frames = F.n_frames_for(len(mix), params=params)
                if params.db_scaling == "per_clip" and len(mix) != params.clip_samples:
                    raise DataError(f"{data_dir}: clips are {len(mix)} samples, the {params.name} preset needs "
                                    f"{params.clip_samples}")
                for a in ARRAYS:
                    arrays[a] = np.lib.format.open_memmap(tmp / f"{a}.npy", mode="w+", dtype=np.float16,
                                                          shape=(n, n_frames, params.n_bins))
            elif F.n_frames_for(len(mix), params=params) != n_frames:
                raise DataError(f"{data_dir}: clip {row['id']} has {len(mix)} samples, unlike the others")
            f = clip_features(mix, clean, params=params)
            for a in ARRAYS:
                arrays[a][i] = f[a]
            ranges[i] = f["db_range"]
            if progress is not None:
                progress(i + 1, n)
        for a in arrays.values():
            a.flush()
        del arrays
        np.save(tmp / "db_range.npy", ranges)
        (tmp / "rows.json").write_text(json.dumps(rows, default=_json_default))
        info = {"version": CACHE_VERSION, "data_dir": str(data_dir), "n": n, "signal_params": params.to_dict(),
                "seconds": round(time.time() - t0, 1)}
        (tmp / "cache.json").write_text(json.dumps(info, indent=2) + "\n")
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / "cache.json").is_file():   # someone else finished first: keep theirs
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


def _open(path: Path, params: SignalParams) -> FeatureSet:
    try:
        info = json.loads((path / "cache.json").read_text())
        stored = SignalParams.from_dict(info["signal_params"])
        arrays = {a: np.load(path / f"{a}.npy", mmap_mode="r") for a in ARRAYS}
        ranges = np.load(path / "db_range.npy")
        rows = json.loads((path / "rows.json").read_text())
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: broken feature cache ({e}); delete the folder to rebuild it") from None
    if stored.fingerprint() != params.fingerprint():
        raise DataError(f"{path}: feature cache made with other signal parameters; delete it to rebuild")
    return FeatureSet(params, rows, arrays["mix_rho"], arrays["clean_rho"], arrays["mix_theta"],
                      arrays["clean_theta"], ranges, path)
