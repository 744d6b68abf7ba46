"""The sidecar that ships with every model file (``model.tflite`` -> ``model.json``,
``model.keras`` -> ``model.json`` too when alone in a folder; see :func:`sidecar_path`).

It carries the signal parameters the model was trained on, what the model computes,
its version, the int8 input/output quantization, metrics, and the sha256 of the model
file.  The edge loader refuses a model without it, with no sha256 or a different one (corrupt
or truncated file) or with signal parameters other than the runtime's.

Format (JSON)::

    {
      "format": "cleartune-model", "format_version": 1,
      "model_version": "edge-mask-v1",          # free text, bumped on retrain
      "preset": "edge",                          # or "seed"
      "kind": "mask",                            # mask | magnitude | polar | complex | seed-polar
      "context_frames": 8,                       # K frames in (edge); 0 for the seed image model
      "signal_params": {...},                    # SignalParams.to_dict()
      "file": "model.tflite", "sha256": "...", "bytes": 123456,
      "dtype": "int8",                           # float32 | float16 | int8 | keras
      "input":  {"shape": [1, 8, 512], "dtype": "int8", "scale": 0.0078, "zero_point": 0},
      "output": {"shape": [1, 512], "dtype": "int8", "scale": 0.0039, "zero_point": -128},
      "macs_per_inference": 9000000, "params": 120000,
      "metrics": {...}, "created": "2026-11-25T15:00:00Z", "command": "cleartune quantize ..."
    }
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import ModelLoadError
from .params import SignalParams, check_compatible

FORMAT = "cleartune-model"
FORMAT_VERSION = 1


def sidecar_path(model_path: str | Path) -> Path:
    """``foo.tflite`` -> ``foo.json``."""
    p = Path(model_path)
    return p.with_suffix(".json")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class ModelMeta:
    preset: str
    kind: str
    signal_params: SignalParams
    context_frames: int = 0
    model_version: str = "dev"
    dtype: str = "float32"
    file: str = ""
    sha256: str = ""
    bytes: int = 0
    input: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    macs_per_inference: Optional[int] = None
    params: Optional[int] = None
    metrics: dict = field(default_factory=dict)
    created: str = ""
    command: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "model_version": self.model_version, "preset": self.preset, "kind": self.kind,
            "context_frames": self.context_frames, "signal_params": self.signal_params.to_dict(),
            "file": self.file, "sha256": self.sha256, "bytes": self.bytes, "dtype": self.dtype,
            "input": self.input, "output": self.output,
            "macs_per_inference": self.macs_per_inference, "params": self.params,
            "metrics": self.metrics, "created": self.created, "command": self.command,
        }
        if self.extra:
            d["extra"] = self.extra
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str = "sidecar") -> "ModelMeta":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ModelLoadError(f"{where}: not a cleartune model sidecar")
        if int(d.get("format_version", 0)) > FORMAT_VERSION:
            raise ModelLoadError(f"{where}: sidecar format {d.get('format_version')} is newer than this cleartune understands")
        try:
            return cls(
                preset=d["preset"], kind=d["kind"], signal_params=SignalParams.from_dict(d["signal_params"]),
                context_frames=int(d.get("context_frames", 0)), model_version=d.get("model_version", "dev"),
                dtype=d.get("dtype", "float32"), file=d.get("file", ""), sha256=d.get("sha256", ""),
                bytes=int(d.get("bytes", 0)), input=d.get("input", {}), output=d.get("output", {}),
                macs_per_inference=d.get("macs_per_inference"), params=d.get("params"),
                metrics=d.get("metrics", {}), created=d.get("created", ""), command=d.get("command", ""),
                extra=d.get("extra", {}),
            )
        except KeyError as e:
            raise ModelLoadError(f"{where}: sidecar lacks field {e}") from None

    def save_for(self, model_path: str | Path) -> Path:
        """Fill file/sha256/bytes from ``model_path`` and write the sidecar next to it."""
        mp = Path(model_path)
        if mp.is_file():
            self.file, self.sha256, self.bytes = mp.name, sha256_file(mp), mp.stat().st_size
        sp = sidecar_path(mp)
        tmp = sp.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        tmp.replace(sp)
        return sp


def load_meta(model_path: str | Path, *, expected: Optional[SignalParams] = None, verify_sha: bool = True) -> ModelMeta:
    """Read and check the sidecar of ``model_path``.

    Raises :class:`ModelLoadError` if the model or its sidecar is missing or unreadable,
    or if the sidecar has no sha256 or the model file's sha256 differs (corrupt/truncated); raises
    :class:`~cleartune.edge.errors.ParamsMismatchError` if ``expected`` is given and differs."""
    mp = Path(model_path)
    if not mp.exists():
        raise ModelLoadError(f"{mp}: model file not found")
    sp = sidecar_path(mp)
    if not sp.exists():
        raise ModelLoadError(f"{mp}: its metadata {sp.name} is missing (a model ships with its sidecar)")
    try:
        d = json.loads(sp.read_text())
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{sp}: unreadable sidecar ({e})") from None
    meta = ModelMeta.from_dict(d, where=str(sp))
    if verify_sha and mp.is_file():
        if not meta.sha256:
            raise ModelLoadError(f"{mp}: its sidecar {sp.name} has no sha256, so the file cannot be checked "
                                 "(a model ships with the sha256 of its file)")
        if sha256_file(mp) != meta.sha256:
            raise ModelLoadError(f"{mp}: sha256 differs from its sidecar: the file is corrupt, truncated or was replaced")
    if expected is not None:
        check_compatible(meta.signal_params, expected, what=f"model {mp.name}")
    return meta


def add_metrics(model_path: str | Path, metrics: dict[str, Any]) -> Path:
    """Merge ``metrics`` into the ``metrics`` of ``model_path``'s sidecar (checked as
    :func:`load_meta` checks it; the model file is untouched); returns the sidecar's path."""
    meta = load_meta(model_path)
    meta.metrics = {**meta.metrics, **metrics}
    return meta.save_for(model_path)
