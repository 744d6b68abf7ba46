"""Reading a built dataset folder (``cleartune data build --out DIR``): the cheap Python API
for training and evaluation.

    from cleartune.train.data.dataset import load_metadata, iter_examples, load_info

    rows = load_metadata("data/small")                 # list[dict], one per mix
    for mix, clean, noise, row in iter_examples("data/small", split="train"):
        ...                                            # float32 (clip_samples,) arrays

Rows are plain dicts keyed by the CSV column names (see ``train/data/README.md``), with
values converted to Python types: ints for ``midi``/``velocity``/..., floats for
``f0_hz``/``snr_db``/... (``inf`` for a clean mix, ``nan`` for an empty cell), strings
otherwise.  Nothing here builds features or tf.data pipelines.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from cleartune.edge.errors import DataError

METADATA_FILE = "metadata.csv"
INFO_FILE = "dataset.json"
SPLITS = ("train", "val", "test")

#: Every metadata column, in file order.  Documented in train/data/README.md.
COLUMNS: tuple[str, ...] = (
    "id", "split", "mix_path", "clean_path", "noise_path",
    "guitar_file", "guitar_recording", "instrument", "midi", "note", "f0_hz", "f0_source",
    "f0_spread_cents", "cents_off", "detune_cents", "detune_ratio", "velocity", "guitar_level_db", "guitar_reverb_s",
    "mic_eq", "clip_start_s", "onset_s",
    "harmonic_file", "harmonic_kind", "harmonic_instrument", "harmonic_offset", "harmonic_gain",
    "env_file", "env_kind", "env_offset", "env_gain",
    "snr_db", "snr_measured_db", "peak_gain", "mix_peak", "sample_rate", "clip_samples",
    # v2 generator (empty for v1 builds)
    "guitar_source", "harmonic_source", "env_source", "noise_type", "hard_case", "harmonic_midi", "harmonic_f0_hz",
    "guitar_wet", "noise_reverb_s", "hum_db", "clip_drive",
)

_INT_COLUMNS = frozenset({"midi", "velocity", "sample_rate", "clip_samples", "harmonic_midi"})
_FLOAT_COLUMNS = frozenset({
    "f0_hz", "f0_spread_cents", "cents_off", "detune_cents", "detune_ratio", "guitar_level_db", "guitar_reverb_s",
    "clip_start_s", "onset_s", "harmonic_offset", "harmonic_gain", "env_offset", "env_gain",
    "snr_db", "snr_measured_db", "peak_gain", "mix_peak",
    "harmonic_f0_hz", "guitar_wet", "noise_reverb_s", "hum_db", "clip_drive",
})


def _convert(key: str, value: str) -> Any:
    if key in _INT_COLUMNS:
        if value == "":
            return None
        try:
            return int(value)
        except ValueError:
            return int(float(value))
    if key in _FLOAT_COLUMNS:
        return float("nan") if value == "" else float(value)
    return value


def format_value(value: Any) -> str:
    """How a row value is written to the CSV (floats with enough digits to round-trip
    the quantities that matter: 1e-9 relative)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(round(value, 10)) if abs(value) >= 1e-6 else f"{value:.10g}"
    return str(value)


def load_info(directory: str | os.PathLike) -> dict[str, Any]:
    """The dataset's ``dataset.json`` as a dict (signal params under ``"signal_params"``)."""
    p = Path(directory) / INFO_FILE
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise DataError(f"{p}: not found (is {directory} a dataset built by 'cleartune data build'?)") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{p}: unreadable ({e})") from None


def signal_params(directory: str | os.PathLike):
    """The :class:`cleartune.edge.params.SignalParams` the dataset was built for."""
    from cleartune.edge.params import SignalParams

    return SignalParams.from_dict(load_info(directory)["signal_params"])


def read_metadata_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Parse a metadata CSV into typed dict rows (missing file -> :class:`DataError`)."""
    p = Path(path)
    try:
        with open(p, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in ("id", "split", "mix_path", "clean_path", "noise_path") if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{p}: missing column(s) {missing}")
            return [{k: _convert(k, v if v is not None else "") for k, v in r.items()} for r in reader]
    except FileNotFoundError:
        raise DataError(f"{p}: not found (build the dataset with 'cleartune data build --out {p.parent}')") from None


def load_metadata(directory: str | os.PathLike, *, split: Optional[str | Sequence[str]] = None) -> list[dict[str, Any]]:
    """All rows of ``DIR/metadata.csv`` (optionally only those of ``split``: a name or a
    list of names from ``train``/``val``/``test``), in file order."""
    rows = read_metadata_csv(Path(directory) / METADATA_FILE)
    if split is None:
        return rows
    wanted = {split} if isinstance(split, str) else set(split)
    bad = wanted - set(SPLITS)
    if bad:
        raise DataError(f"unknown split(s) {sorted(bad)}; choose from {list(SPLITS)}")
    return [r for r in rows if r["split"] in wanted]


def _read(path: Path, *, expect_sr: int | None, expect_len: int | None) -> np.ndarray:
    from cleartune.edge.audio_io import read_audio

    x, sr = read_audio(path, mono=True)
    if expect_sr is not None and sr != expect_sr:
        raise DataError(f"{path}: sample rate {sr} Hz, metadata says {expect_sr} Hz")
    if expect_len is not None and len(x) != expect_len:
        raise DataError(f"{path}: {len(x)} samples, metadata says {expect_len}")
    return x


def load_example(directory: str | os.PathLike, row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mix, clean, noise)`` of one row: float32 arrays of shape ``(clip_samples,)``,
    full scale 1.0, with ``mix == clean + noise`` exactly (float32)."""
    d = Path(directory)
    sr = row.get("sample_rate")
    n = row.get("clip_samples")
    return tuple(_read(d / row[k], expect_sr=sr, expect_len=n) for k in ("mix_path", "clean_path", "noise_path"))  # type: ignore[return-value]


def iter_examples(
    directory: str | os.PathLike,
    *,
    split: Optional[str | Sequence[str]] = None,
    rows: Optional[Sequence[dict[str, Any]]] = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]]:
    """Yield ``(mix, clean, noise, row)`` for every mix (of ``split``, or of the given
    ``rows``), in metadata order.  Arrays are float32 ``(clip_samples,)``."""
    if rows is None:
        rows = load_metadata(directory, split=split)
    for row in rows:
        mix, clean, noise = load_example(directory, row)
        yield mix, clean, noise, row


def load_arrays(
    directory: str | os.PathLike, *, split: Optional[str | Sequence[str]] = None
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Convenience: ``(mixes, cleans, rows)`` stacked as float32 ``(n_mixes, clip_samples)``
    (memory: 2 * n * clip_samples * 4 bytes, ~0.5 MB per mix for 2**16-sample clips)."""
    rows = load_metadata(directory, split=split)
    if not rows:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), []
    n = int(rows[0]["clip_samples"])
    mixes = np.empty((len(rows), n), np.float32)
    cleans = np.empty((len(rows), n), np.float32)
    for i, (mix, clean, _noise, _row) in enumerate(iter_examples(directory, rows=rows)):
        mixes[i] = mix
        cleans[i] = clean
    return mixes, cleans, rows
