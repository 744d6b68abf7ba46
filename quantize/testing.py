"""Small fixtures for the quantization and report tests: tiny Keras models with the edge
and seed I/O (TensorFlow imported inside the builders), and a tiny dataset folder in the
documented format (``dataset.json``, ``metadata.csv``, ``mixes/``, ``clean/``, ``noise/``).

Not used by the product; kept in the package so the tests of both commands share them.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from cleartune.edge.audio_io import write_wav
from cleartune.edge.model_meta import ModelMeta
from cleartune.edge.params import EDGE, SEED, SignalParams

#: MIDI notes of the tiny dataset's clips (open strings of a guitar and a few frets).
TINY_MIDI = (40, 45, 50, 55, 59, 64, 47, 52)


def pluck(f0: float, n: int, *, sample_rate: int, onset: int = 0, seed: int = 0) -> np.ndarray:
    """A plucked-string-like tone: decaying harmonics of ``f0`` [Hz] (slightly
    inharmonic), starting at sample ``onset``; float64 ``(n,)``, peak about 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(n - onset) / sample_rate
    x = np.zeros(n - onset)
    for k in range(1, 16):
        fk = k * f0 * np.sqrt(1 + 1e-4 * k * k)
        if fk > sample_rate / 2.5:
            break
        x += np.exp(-t * (1.5 + 0.6 * k)) * np.sin(2 * np.pi * fk * t + rng.uniform(0, 2 * np.pi)) / k
    x *= 0.5 / max(np.max(np.abs(x)), 1e-9)
    return np.concatenate([np.zeros(onset), x])


def write_tiny_dataset(directory: str | Path, *, n_clips: int = 6, params: SignalParams = EDGE,
                       snrs: Sequence[float] = (-5.0, 0.0, 5.0, 10.0, 20.0, float("inf")),
                       splits: Sequence[str] = ("train", "test"), seed: int = 0,
                       write_metadata: bool = True) -> Path:
    """Write ``n_clips`` mixes per split of ``clip_samples`` samples: a pluck (MIDI from
    :data:`TINY_MIDI`) plus noise (white + a competing harmonic tone) at the SNRs given
    (cycled).  Returns the folder.  ``mix == clean + noise`` exactly (float32)."""
    from cleartune.edge.notes import midi_to_hz, midi_to_name

    d = Path(directory)
    for sub in ("mixes", "clean", "noise"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n, sr = params.clip_samples, params.sample_rate
    rows = []
    i = 0
    for split in splits:
        for j in range(n_clips):
            midi = TINY_MIDI[i % len(TINY_MIDI)]
            f0 = midi_to_hz(midi)
            onset = int(0.1 * sr)
            clean = pluck(f0, n, sample_rate=sr, onset=onset, seed=i).astype(np.float32)
            snr = float(snrs[j % len(snrs)])
            t = np.arange(n) / sr
            other = pluck(f0 * 1.33, n, sample_rate=sr, onset=0, seed=100 + i) + 0.3 * np.sin(2 * np.pi * 311.0 * t)
            noise = other + rng.standard_normal(n) * 0.3
            if np.isinf(snr):
                noise[:] = 0.0
            else:
                noise *= np.sqrt(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise ** 2) / 10 ** (snr / 10))
            noise = noise.astype(np.float32)
            mix = (clean + noise).astype(np.float32)
            noise = (mix - clean).astype(np.float32)
            cid = f"{split}{j:03d}"
            for sub, x in (("mixes", mix), ("clean", clean), ("noise", noise)):
                write_wav(d / sub / f"{cid}.wav", x, sr)
            rows.append({"id": cid, "split": split, "mix_path": f"mixes/{cid}.wav", "clean_path": f"clean/{cid}.wav",
                         "noise_path": f"noise/{cid}.wav", "guitar_file": f"synth_{midi}.wav",
                         "guitar_recording": "synth", "instrument": "synth", "midi": midi, "note": midi_to_name(midi),
                         "f0_hz": f0, "onset_s": onset / sr, "harmonic_file": "", "harmonic_offset": 0.0,
                         "harmonic_gain": 0.0, "env_file": "", "env_offset": 0.0, "env_gain": 0.0,
                         "snr_db": "inf" if np.isinf(snr) else snr, "snr_measured_db": "inf" if np.isinf(snr) else snr,
                         "sample_rate": sr, "clip_samples": n})
            i += 1
    if write_metadata:
        with open(d / "metadata.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    (d / "dataset.json").write_text(json.dumps({"signal_params": params.to_dict(), "counts": {"mixes": len(rows)},
                                                "generator": "cleartune.quantize.testing"}, indent=2))
    return d


def tiny_edge_model(*, context_frames: int = 8, params: SignalParams = EDGE, kind: str = "mask", seed: int = 0,
                    channels: int = 8):
    """A small Keras model with the edge I/O: ``(1, K, n_bins)`` -> ``(1, n_bins)``
    (sigmoid mask, or tanh for ``magnitude``): Permute, a Conv1D over frequency with the
    K frames as channels, a dilated residual Conv1D, a 1x1 head.  Weights from ``seed``."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    act = "sigmoid" if kind == "mask" else "tanh"
    inp = keras.Input((context_frames, params.n_bins), batch_size=1, name="frames")
    x = layers.Permute((2, 1))(inp)
    x = layers.Conv1D(channels, 5, padding="same", activation="relu")(x)
    y = layers.Conv1D(channels, 3, dilation_rate=2, padding="same", activation="relu")(x)
    x = layers.Add()([x, y])
    x = layers.Conv1D(1, 1, activation=act)(x)
    out = layers.Reshape((params.n_bins,))(x)
    return keras.Model(inp, out, name="tiny_edge")


def tiny_seed_model(*, params: SignalParams = SEED, seed: int = 0, filters: Sequence[int] = (4, 8)):
    """A small seed-like image autoencoder ``(1, n_bins, frames, 1)`` -> same: stride-2
    Conv2D encoder, stride-2 Conv2DTranspose decoder, an additive skip, tanh output."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((params.n_bins, params.frames_per_clip, 1), batch_size=1, name="features")
    x = inp
    enc = []
    for f in filters:
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(x)
        enc.append(x)
    for j, f in enumerate(reversed(filters)):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu")(x)
        if j == 0 and len(enc) > 1:
            x = layers.Add()([x, layers.Conv2D(f, 1)(enc[-2])])
    out = layers.Conv2D(1, 1, activation="tanh")(x)
    return keras.Model(inp, out, name="tiny_seed")


def save_keras_with_sidecar(model, path: str | Path, *, preset: str, kind: str, context_frames: int = 0,
                            params: Optional[SignalParams] = None, model_version: str = "test") -> Path:
    """Save ``model`` to ``path`` (.keras) with the sidecar the training command writes."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    model.save(p)
    params = params or (EDGE if preset == "edge" else SEED)
    meta = ModelMeta(preset=preset, kind=kind, signal_params=params, context_frames=context_frames,
                     model_version=model_version, dtype="keras")
    meta.save_for(p)
    return p


def build_tiny_edge_set(root: str | Path, *, calib_windows: int = 200,
                        variants: Sequence[str] = ("int8", "float32", "float16")) -> dict[str, Path]:
    """Tiny dataset + tiny edge Keras model + its conversions under ``root`` (needs TF).
    Returns ``{"data", "keras", "<variant>": .tflite path, ...}``."""
    from .convert import quantize_model

    root = Path(root)
    data = write_tiny_dataset(root / "data")
    keras_path = save_keras_with_sidecar(tiny_edge_model(), root / "models" / "tiny.keras", preset="edge",
                                         kind="mask", context_frames=8)
    res = quantize_model(keras_path, calib_dir=data, out_dir=root / "tflite", name="tiny",
                         calib_windows=calib_windows, variants=variants, command="pytest", quiet=True)
    out = {"data": data, "keras": keras_path}
    out.update({r.variant: r.path for r in res})
    return out
