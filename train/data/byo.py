"""Bring your own folders: ``--guitar DIR --harmonic DIR --environmental DIR``.

Files: WAV (any integer/float format) or FLAC/OGG, any rate, mono or stereo (averaged),
found recursively.  Unreadable files (empty, not audio, truncated) are skipped and listed
in ONE warning line by the build.

True f0 of a guitar clip, in order of preference (``f0_source`` in the CSV):

1. ``notes.csv`` in the guitar folder with columns ``file,f0_hz`` (``file`` relative to
   the folder, or a bare file name; an optional ``onset_s`` column gives the pluck time
   in the file [s]) -> ``notes.csv``;
2. a note name in the file name (``E2``, ``A#3``, ``Bb4``, ``Fs2``): the first partial is
   measured within +-80 cents of it -> ``filename+measured`` (``filename`` if the
   measurement fails: the equal-tempered frequency, A4 = 440 Hz);
3. otherwise measured without a hint -> ``measured`` (clips where nothing is found are
   dropped and counted).

Measurements use :func:`cleartune.train.data.f0.measure_f0` on the loudest 1.5 s of the
clip.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from cleartune.edge.errors import AudioInputError, DataError

from .sources import SourceRecord

AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg")
NOTES_FILE = "notes.csv"
#: Length of the stretch (the loudest one in the clip) on which a BYO clip's f0 is measured [s].
MEASURE_SECONDS = 1.5


def audio_files(folder: Path) -> list[Path]:
    """Audio files under ``folder`` (recursive, sorted, hidden files ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and f.lower().endswith(AUDIO_EXTENSIONS):
                out.append(Path(root) / f)
    return out


def load_source(path: str | os.PathLike, *, sample_rate: int) -> np.ndarray:
    """Any supported file as mono float64 at ``sample_rate``; :class:`AudioInputError` if bad."""
    from cleartune.edge.audio_io import read_audio, resample

    x, sr = read_audio(path, mono=True)
    if not np.all(np.isfinite(x)):
        raise AudioInputError(f"{path}: contains NaN or infinite samples")
    return resample(x, sr, sample_rate).astype(np.float64)


def read_notes_csv(folder: Path) -> dict[str, dict[str, float]]:
    """``{relative path or file name: {"f0_hz": ..., "onset_s": ...}}`` from ``folder/notes.csv``."""
    p = Path(folder) / NOTES_FILE
    if not p.exists():
        return {}
    out: dict[str, dict[str, float]] = {}
    with open(p, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "file" not in reader.fieldnames or "f0_hz" not in reader.fieldnames:
            raise DataError(f"{p}: needs columns file,f0_hz")
        for i, row in enumerate(reader, start=2):
            try:
                f0 = float(row["f0_hz"])
            except (TypeError, ValueError):
                raise DataError(f"{p}:{i}: f0_hz {row.get('f0_hz')!r} is not a number") from None
            if not f0 > 0:
                raise DataError(f"{p}:{i}: f0_hz must be positive")
            entry = {"f0_hz": f0}
            if row.get("onset_s") not in (None, ""):
                entry["onset_s"] = float(row["onset_s"])
            out[row["file"].strip()] = entry
    return out


@dataclass
class Skipped:
    path: str
    reason: str


def scan_noise_folder(folder: Path, *, category: str, sample_rate: int,
                      skipped: list[Skipped], progress: Optional[Callable[[int], None]] = None) -> list[SourceRecord]:
    """One record per readable file of a harmonic or environmental folder."""
    recs = []
    for f in audio_files(folder):
        try:
            x = load_source(f, sample_rate=sample_rate)
            if not np.any(x):
                raise AudioInputError(f"{f}: digital silence")
        except AudioInputError as e:
            skipped.append(Skipped(str(f), str(e)))
            continue
        finally:
            if progress:
                progress(1)
        rel = f.relative_to(folder).as_posix()
        recs.append(SourceRecord(path=str(f), category=category, kind=f"byo:{Path(folder).name}",
                                 recording=f"{category}:{rel}", instrument=f.parent.name, n_samples=len(x)))
    return recs


@dataclass
class ByoClip:
    """One kept clip of a bring-your-own guitar recording."""

    record: SourceRecord
    start: int                     # clip start in the file [samples at the dataset rate]
    f0_hz: float
    f0_source: str
    midi: int


def scan_guitar_folder(folder: Path, *, clip_samples: int, sample_rate: int, silence_db: float,
                       skipped: list[Skipped], progress: Optional[Callable[[int], None]] = None
                       ) -> tuple[list[ByoClip], int]:
    """Split every guitar file into clips and label each with its true f0.

    Returns ``(clips, n_unlabelled)`` where ``n_unlabelled`` counts clips dropped because
    no f0 could be measured."""
    from .f0 import hz_to_midi, loudest_stretch, measure_f0, midi_to_hz, parse_note_name
    from .splitter import clip_at, split_recording

    folder = Path(folder)
    hints = read_notes_csv(folder)
    clips: list[ByoClip] = []
    unlabelled = 0
    for f in audio_files(folder):
        try:
            x = load_source(f, sample_rate=sample_rate)
        except AudioInputError as e:
            skipped.append(Skipped(str(f), str(e)))
            if progress:
                progress(1)
            continue
        rel = f.relative_to(folder).as_posix()
        hint = hints.get(rel) or hints.get(f.name)
        name_midi = parse_note_name(f.stem)
        starts = split_recording(x, clip_samples=clip_samples, silence_db=silence_db)
        if not starts:
            skipped.append(Skipped(str(f), f"{f}: no clip above {silence_db:g} dBFS"))
        rec = SourceRecord(path=str(f), category="guitar", kind="recording", recording=f"guitar:{rel}",
                           instrument=f"byo:{f.parent.name if f.parent != folder else folder.name}",
                           onset_s=(hint or {}).get("onset_s"), n_samples=len(x))
        for s in starts:
            if hint is not None:
                f0, src = hint["f0_hz"], "notes.csv"
            else:
                clip = clip_at(x, s, clip_samples)
                a, b = loudest_stretch(clip, sample_rate, seconds=MEASURE_SECONDS)
                if name_midi is not None:
                    est = measure_f0(clip[a:b], sample_rate, f0_hint=midi_to_hz(name_midi))
                    f0, src = (est.f0_hz, "filename+measured") if est else (midi_to_hz(name_midi), "filename")
                else:
                    est = measure_f0(clip[a:b], sample_rate)
                    if est is None:
                        unlabelled += 1
                        continue
                    f0, src = est.f0_hz, "measured"
            clips.append(ByoClip(record=rec, start=int(s), f0_hz=float(f0), f0_source=src,
                                 midi=int(round(hz_to_midi(f0)))))
        if progress:
            progress(1)
    return clips, unlabelled


def skipped_warning(skipped: list[Skipped], *, limit: int = 8) -> Optional[str]:
    """One warning line listing skipped files (or None)."""
    if not skipped:
        return None
    names = ", ".join(Path(s.path).name for s in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"warning: skipped {len(skipped)} input file(s) (unreadable, empty or silent): {names}{more}"


def nan_to_none(v: float) -> Optional[float]:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
