"""Reading and writing audio files, resampling.  Numpy/scipy only (soundfile, if
installed, adds FLAC/OGG).

All samples are float32 in [-1, 1] (full scale), shape ``(n,)`` for mono or
``(n, channels)``; sample rates in Hz.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

from .errors import AudioInputError


def _int_to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(x.dtype, np.integer):
        return (x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))).astype(np.float32)
    return x.astype(np.float32)


def read_audio(path: str | os.PathLike, *, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read a WAV (8/16/24/32-bit integer or 32/64-bit float, any channel count, any rate)
    or, with soundfile installed, FLAC/OGG.  Returns ``(samples float32, sample_rate)``;
    with ``mono=True`` channels are averaged.

    Raises :class:`AudioInputError` with a one-line message for a missing, empty,
    truncated or non-audio file."""
    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"{p}: no such file")
    if p.is_dir():
        raise AudioInputError(f"{p}: is a directory, not an audio file")
    size = p.stat().st_size
    if size == 0:
        raise AudioInputError(f"{p}: empty file")
    with open(p, "rb") as fh:
        head = fh.read(12)
    x = None
    sr = 0
    if head[:4] in (b"RIFF", b"RIFX", b"RF64"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sr, x = scipy.io.wavfile.read(p, mmap=False)
        except Exception as e:  # scipy raises ValueError/EOFError/... for broken files
            x = _read_with_soundfile(p, reason=str(e))
            if x is None:
                raise AudioInputError(f"{p}: unreadable or truncated WAV ({_short(e)})") from None
            x, sr = x
        else:
            x = _int_to_float(np.asarray(x))
    else:
        got = _read_with_soundfile(p, reason="not a WAV file")
        if got is None:
            raise AudioInputError(f"{p}: not an audio file this build can read (WAV; FLAC/OGG need the soundfile package)")
        x, sr = got
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        raise AudioInputError(f"{p}: contains no samples")
    if sr <= 0:
        raise AudioInputError(f"{p}: invalid sample rate {sr}")
    if mono and x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float64).astype(np.float32)
    return x, int(sr)


def _short(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


def _read_with_soundfile(p: Path, *, reason: str):
    try:
        import soundfile  # optional
    except Exception:
        return None
    try:
        x, sr = soundfile.read(str(p), dtype="float32", always_2d=False)
    except Exception:
        return None
    return np.asarray(x, dtype=np.float32), int(sr)


def write_wav(path: str | os.PathLike, x: np.ndarray, sample_rate: int, *, subtype: str = "float32") -> None:
    """Write a WAV atomically (temporary file then rename: never a half-written file).

    ``subtype``: ``"float32"`` (exact) or ``"int16"`` (clipped to [-1, 1])."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    x = np.asarray(x)
    if subtype == "int16":
        data = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
    elif subtype == "float32":
        data = x.astype(np.float32)
    else:
        raise ValueError(f"unknown subtype {subtype!r}")
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            scipy.io.wavfile.write(fh, int(sample_rate), data)
        os.chmod(tmp, 0o644 & ~_umask())  # mkstemp makes 0600; a WAV is meant to be shared
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly) along axis 0; float32 out."""
    if int(sr_from) == int(sr_to):
        return np.asarray(x, dtype=np.float32)
    frac = Fraction(int(sr_to), int(sr_from)).limit_denominator(1000)
    y = scipy.signal.resample_poly(np.asarray(x, dtype=np.float64), frac.numerator, frac.denominator, axis=0)
    return y.astype(np.float32)


def load_for_model(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Read any supported file as mono float32 at ``sample_rate`` (resampling if needed)."""
    x, sr = read_audio(path, mono=True)
    return resample(x, sr, sample_rate)
