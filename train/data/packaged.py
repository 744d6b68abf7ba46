"""The Debian packages the v2 generator may use (issue 12's list; all other packaged audio is
reserved for independent evaluation), where their files are, and decoding them.

Files are listed with ``dpkg -L`` (the package must be installed); ``.pk3`` archives (zip) are
opened and their Ogg members listed as ``ARCHIVE.pk3::member.ogg``.  Decoding uses
python-soundfile (libsndfile reads Ogg Vorbis and MP3), mono, resampled to the dataset rate.
"""
from __future__ import annotations

import io
import subprocess
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np

from cleartune.edge.errors import DataError

SOUNDFONTS = {
    "fluidr3_gm": ("fluid-soundfont-gm", "/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    "fluidr3_gs": ("fluid-soundfont-gs", "/usr/share/sounds/sf2/FluidR3_GS.sf2"),
    "opl3": ("opl3-soundfont", "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2"),
}
#: Recorded music (harmonic noise).
MUSIC_PACKAGES = ("ufoai-music", "nexuiz-music", "hyperrogue-music", "singularity-music", "drascula-music",
                  "planetblupi-music-ogg", "asc-music")
#: Recorded speech: source tag -> package.
SPEECH_PACKAGES = {"asterisk-fr": "asterisk-core-sounds-fr-wav", "asterisk-it": "asterisk-core-sounds-it-wav",
                   "asterisk-ru": "asterisk-core-sounds-ru-wav"}
#: Recorded sound effects (environmental noise).
EFFECT_PACKAGES = ("boswars-data", "colobot-common-sounds")
#: Every package the generator reads, for scripts/setup.sh and the dataset card.
ALLOWED_PACKAGES = tuple(sorted({p for p, _ in SOUNDFONTS.values()} | set(MUSIC_PACKAGES)
                                | set(SPEECH_PACKAGES.values()) | set(EFFECT_PACKAGES)))
AUDIO_EXT = (".ogg", ".mp3", ".wav", ".flac")
#: colobot-common-sounds holds both music (music/) and effects (sounds/).
SUBSETS = {"colobot-common-sounds:music": ("colobot-common-sounds", "/music/"),
           "colobot-common-sounds:effects": ("colobot-common-sounds", "/sounds/")}


@dataclass(frozen=True)
class PackagedFile:
    package: str
    path: str             # file, or ARCHIVE.pk3::member
    seconds: float


@lru_cache(maxsize=None)
def package_files(package: str) -> tuple[str, ...]:
    """Audio files installed by ``package`` (dpkg -L), pk3 members expanded; sorted."""
    try:
        r = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise DataError(f"cannot list package {package}: {e}") from None
    if r.returncode != 0:
        raise DataError(f"package {package} is not installed (apt-get install {package}; see scripts/setup.sh)")
    out = []
    for line in r.stdout.splitlines():
        p = Path(line)
        if not p.is_file():
            continue
        if p.suffix.lower() == ".pk3":
            with zipfile.ZipFile(p) as z:
                out.extend(f"{p}::{m}" for m in z.namelist() if m.lower().endswith(AUDIO_EXT))
        elif p.suffix.lower() in AUDIO_EXT:
            out.append(str(p))
    return tuple(sorted(set(out)))


def _open(path: str):
    import soundfile as sf

    if "::" in path:
        arc, member = path.split("::", 1)
        with zipfile.ZipFile(arc) as z:
            return sf.SoundFile(io.BytesIO(z.read(member)))
    return sf.SoundFile(path)


def file_seconds(path: str) -> float:
    """Duration of one packaged file [s] (0 when unreadable)."""
    try:
        with _open(path) as f:
            return f.frames / float(f.samplerate)
    except Exception:  # noqa: BLE001 - a broken packaged file is skipped, not fatal
        return 0.0


def inventory(source: str, *, min_seconds: float = 0.0) -> list[PackagedFile]:
    """Readable files of a package (or a ``SUBSETS`` key) at least ``min_seconds`` long."""
    package, part = SUBSETS.get(source, (source, ""))
    files = [f for f in package_files(package) if part in f]
    out = []
    for f in files:
        s = file_seconds(f)
        if s > 0 and s >= min_seconds:
            out.append(PackagedFile(package=source, path=f, seconds=s))
    if not out:
        raise DataError(f"no readable audio in package {package}{' ' + part if part else ''}")
    return out


def read_excerpt(path: str, *, sample_rate: int, start_s: float = 0.0, seconds: Optional[float] = None) -> np.ndarray:
    """Mono float64 excerpt of a packaged file at ``sample_rate`` (whole file when ``seconds`` is None)."""
    from cleartune.edge.audio_io import resample

    try:
        with _open(path) as f:
            sr = f.samplerate
            a = int(start_s * sr)
            if a > 0:
                f.seek(min(a, max(0, f.frames - 1)))
            n = -1 if seconds is None else int(seconds * sr)
            x = f.read(n, dtype="float32", always_2d=True)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{path}: cannot decode ({e})") from None
    x = x.mean(axis=1)
    return resample(x, sr, sample_rate).astype(np.float64)
