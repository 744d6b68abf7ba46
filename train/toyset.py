"""A tiny synthetic dataset in the ``cleartune data build`` folder format, for tests and
smoke runs of training and evaluation (the real data comes from ``cleartune data build``).

Guitar: a plucked harmonic tone (decaying partials, slight inharmonicity) of a known
MIDI note and f0 starting at ``onset_s``.  Noise: a steady harmonic interferer at another
pitch (with vibrato) plus coloured broadband noise, scaled to the requested SNR.  Some
mixes are clean (``snr_db = inf``).  ``mix == clean + noise`` exactly in float32.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import scipy.signal

from cleartune.edge.audio_io import write_wav
from cleartune.edge.params import EDGE, SignalParams

COLUMNS = ("id", "split", "mix_path", "clean_path", "noise_path", "instrument", "midi", "note", "f0_hz",
           "onset_s", "snr_db", "snr_measured_db", "sample_rate", "clip_samples")
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _note(midi: int) -> str:
    return f"{_NAMES[midi % 12]}{midi // 12 - 1}"


def pluck(f0: float, n: int, sr: int, *, onset: int, rng: np.random.Generator) -> np.ndarray:
    """A plucked-string-like tone ``(n,)`` float64 starting at sample ``onset``."""
    t = np.arange(n - onset) / sr
    x = np.zeros(n - onset)
    b = 1e-4 * rng.uniform(0.2, 1.0)        # inharmonicity
    for k in range(1, 30):
        fk = k * f0 * np.sqrt(1 + b * k * k)
        if fk > sr * 0.45:
            break
        amp = rng.uniform(0.3, 1.0) / k ** rng.uniform(0.6, 1.3)
        x += amp * np.exp(-t * (0.8 + 0.4 * k) * rng.uniform(0.5, 1.5)) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 6.3))
    out = np.zeros(n)
    out[onset:] = x
    return out


def interferer(n: int, sr: int, *, rng: np.random.Generator) -> np.ndarray:
    """Harmonic interferer (random pitch, vibrato) plus coloured noise, ``(n,)`` float64."""
    t = np.arange(n) / sr
    f0 = 440.0 * 2 ** ((rng.integers(45, 84) - 69) / 12)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))) / sr
    h = sum(np.sin(k * phase) / k for k in range(1, 8) if k * f0 < sr * 0.45)
    b, a = scipy.signal.butter(2, rng.uniform(0.05, 0.5))
    w = scipy.signal.lfilter(b, a, rng.standard_normal(n))
    w /= np.std(w) + 1e-12
    h = h / (np.std(h) + 1e-12)
    return rng.uniform(0.3, 1.0) * h + rng.uniform(0.2, 1.0) * w


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return repr(v) if np.isfinite(v) else ("inf" if v > 0 else "-inf")
    return str(v)


def make_toy_dataset(out_dir: str | os.PathLike, *, n: int = 24, seed: int = 0, params: SignalParams = EDGE,
                     clip_samples: int | None = None, snrs: tuple[float, ...] = (-5.0, 0.0, 5.0, 10.0, float("inf")),
                     splits: tuple[float, float] = (0.6, 0.2)) -> Path:
    """Write ``n`` mixes to ``out_dir`` (dataset.json, metadata.csv, mixes/, clean/, noise/).

    ``splits``: fractions of train and val (the rest is test); ``clip_samples`` defaults to
    ``params.clip_samples``."""
    out = Path(out_dir)
    sr = params.sample_rate
    L = int(clip_samples or params.clip_samples)
    rng = np.random.default_rng(seed)
    rows = []
    n_train = int(round(n * splits[0]))
    n_val = int(round(n * splits[1]))
    for i in range(n):
        split = "train" if i < n_train else ("val" if i < n_train + n_val else "test")
        midi = int(rng.integers(40, 77))
        f0 = 440.0 * 2 ** ((midi - 69) / 12) * 2 ** (rng.uniform(-30, 30) / 1200)
        onset = int(rng.uniform(0.05, 0.25) * L)
        clean = pluck(f0, L, sr, onset=onset, rng=rng)
        clean *= 10 ** (rng.uniform(-20, -6) / 20) / (np.max(np.abs(clean)) + 1e-12)
        snr = float(snrs[i % len(snrs)])
        if np.isinf(snr):
            noise = np.zeros(L)
        else:
            noise = interferer(L, sr, rng=rng)
            p_clean = np.mean(clean[onset:] ** 2)
            noise *= np.sqrt(p_clean / (np.mean(noise ** 2) * 10 ** (snr / 10)))
        clean32, noise32 = clean.astype(np.float32), noise.astype(np.float32)
        mix32 = clean32 + noise32
        peak = float(np.max(np.abs(mix32)))
        if peak > 0.99:
            g = np.float32(0.99 / peak)
            clean32, noise32 = clean32 * g, noise32 * g
            mix32 = clean32 + noise32
        noise32 = mix32 - clean32  # exact: mix == clean + noise in float32
        iid = f"toy{i:05d}"
        for sub, x in (("mixes", mix32), ("clean", clean32), ("noise", noise32)):
            write_wav(out / sub / f"{iid}.wav", x, sr)
        pn = float(np.mean(noise32.astype(np.float64) ** 2))
        measured = float("inf") if pn == 0 else 10 * np.log10(np.mean(clean32[onset:].astype(np.float64) ** 2) / pn)
        rows.append({"id": iid, "split": split, "mix_path": f"mixes/{iid}.wav", "clean_path": f"clean/{iid}.wav",
                     "noise_path": f"noise/{iid}.wav", "instrument": "toy-pluck", "midi": midi, "note": _note(midi),
                     "f0_hz": f0, "onset_s": onset / sr, "snr_db": snr, "snr_measured_db": measured,
                     "sample_rate": sr, "clip_samples": L})
    with open(out / "metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(v) for k, v in r.items()})
    info = {"signal_params": params.to_dict(), "generator": "cleartune.train.toyset", "seed": seed,
            "counts": {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}}
    (out / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    return out
