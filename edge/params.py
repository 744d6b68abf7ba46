"""One source of truth for signal parameters.

Every feature the models see is computed from a :class:`SignalParams`.  The params are
saved next to every trained model and every ``.tflite`` file (``<model>.json`` sidecar),
and :func:`check_compatible` refuses to run a model whose stored params differ from the
caller's, naming the fields that differ.

Conventions (units in brackets):

* frames are *centred*: frame ``k`` covers samples ``[k*hop - n_fft//2, k*hop + n_fft//2)``
  of the signal, zeros before the start.  A signal of ``L`` samples gives ``L // hop``
  frames; for the seed clip (2**16 samples, hop 256) that is 256 frames.
* only bins ``0 .. n_bins-1`` are kept; with ``n_fft = 1024`` and ``n_bins = 512`` the
  513th (Nyquist, 11025 Hz) bin is dropped and set to zero on inversion.
* spectra are normalised by ``2 / sum(window)`` so a full-scale sine reads 0 dB
  (dBFS); magnitude in dB is min-max scaled to ``[feature_min, feature_max]``
  (= [-100, 100]) and phase is divided by pi to ``[-1, 1]``.
* ``db_scaling = "per_clip"`` (the seed) takes min and max from each clip (they are
  returned with the features so the inverse is exact); ``"fixed"`` (the streaming edge
  model) uses ``[db_min, db_max]`` for every frame, clipping outside it, because a
  streaming model never sees a whole clip.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ParamsMismatchError

PARAMS_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SignalParams:
    """Signal and feature parameters shared by data, training, quantization and the edge."""

    name: str = "edge"
    sample_rate: int = 22050          # [Hz]
    n_fft: int = 1024                 # [samples] STFT window length
    hop: int = 256                    # [samples] between frames
    window: str = "hann"              # scipy.signal.get_window name, periodic
    n_bins: int = 512                 # bins kept (0 .. n_bins-1); Nyquist dropped
    clip_samples: int = 65536         # [samples] training clip (2**16 as the seed)
    db_scaling: str = "fixed"         # "fixed" or "per_clip"
    db_min: float = -100.0            # [dBFS] fixed-range floor
    db_max: float = 0.0               # [dBFS] fixed-range ceiling
    feature_min: float = -100.0       # scaled magnitude range
    feature_max: float = 100.0
    schema: int = PARAMS_SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.n_bins > self.n_fft // 2 + 1:
            raise ValueError(f"n_bins={self.n_bins} exceeds n_fft//2+1={self.n_fft // 2 + 1}")
        if self.db_scaling not in ("fixed", "per_clip"):
            raise ValueError(f"db_scaling must be 'fixed' or 'per_clip', not {self.db_scaling!r}")
        if self.db_max <= self.db_min or self.feature_max <= self.feature_min:
            raise ValueError("empty dB or feature range")
        if self.hop <= 0 or self.n_fft <= 0 or self.hop > self.n_fft:
            raise ValueError("need 0 < hop <= n_fft")

    # -- derived quantities -------------------------------------------------
    @property
    def frames_per_clip(self) -> int:
        """Frames in one training clip (256 for the seed)."""
        return self.clip_samples // self.hop

    @property
    def bin_hz(self) -> float:
        """Width of one STFT bin [Hz]."""
        return self.sample_rate / self.n_fft

    @property
    def frame_latency_s(self) -> float:
        """Algorithmic latency of one frame [s]: a frame is complete n_fft//2 after its centre."""
        return (self.n_fft // 2) / self.sample_rate

    # -- serialisation ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SignalParams":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ParamsMismatchError(f"unknown signal parameter(s) {sorted(unknown)}: made by a newer cleartune?")
        try:
            return cls(**dict(d))
        except (TypeError, ValueError) as e:
            raise ParamsMismatchError(f"invalid signal parameters: {e}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def fingerprint(self) -> str:
        """Short hash of the feature-defining fields (not the name)."""
        d = self.to_dict()
        d.pop("name")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "SignalParams":
        try:
            d = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ParamsMismatchError(f"{path}: signal parameter file not found") from None
        except (OSError, ValueError) as e:
            raise ParamsMismatchError(f"{path}: cannot read signal parameters ({e})") from None
        if isinstance(d, dict) and "signal_params" in d:
            d = d["signal_params"]
        if not isinstance(d, dict):
            raise ParamsMismatchError(f"{path}: signal parameters must be a JSON object")
        return cls.from_dict(d)


def diff(a: SignalParams, b: SignalParams) -> dict[str, tuple[Any, Any]]:
    """Fields (other than ``name``) whose values differ: ``{field: (a_value, b_value)}``."""
    da, db = a.to_dict(), b.to_dict()
    return {k: (da[k], db[k]) for k in da if k != "name" and da[k] != db[k]}


def check_compatible(stored: SignalParams, expected: SignalParams, *, what: str = "model") -> None:
    """Raise :class:`ParamsMismatchError` if ``stored`` (a model's) differs from ``expected``
    (what the caller computes).  Never silent."""
    d = diff(stored, expected)
    if d:
        parts = ", ".join(f"{k}: {what} has {v[0]!r}, runtime computes {v[1]!r}" for k, v in sorted(d.items()))
        raise ParamsMismatchError(f"{what} was trained on different signal parameters ({parts})")


#: The seed's research preset: 2**16-sample clips, (512, 256) features, per-clip dB scaling.
SEED = SignalParams(name="seed", db_scaling="per_clip")
#: The streaming edge preset: same STFT, fixed dB range so frames can be scaled one at a time.
EDGE = SignalParams(name="edge", db_scaling="fixed")

PRESETS: dict[str, SignalParams] = {"seed": SEED, "edge": EDGE}


def preset(name: str) -> SignalParams:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
