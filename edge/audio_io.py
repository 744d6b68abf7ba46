"""Reading and writing audio files, resampling.  Numpy/scipy only (soundfile, if
installed, adds FLAC/OGG).

All samples are float32 in [-1, 1] (full scale), shape ``(n,)`` for mono or
``(n, channels)``; sample rates in Hz.
"""
from __future__ import annotations

import os
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

from .errors import AudioInputError
from .fileio import atomic_path


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
    with atomic_path(p) as tmp:
        scipy.io.wavfile.write(tmp, int(sample_rate), data)


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


class WavStream:
    """A WAV file read in blocks without loading it whole: PCM 8/16/24/32-bit integer and
    32/64-bit float (plain and WAVE_FORMAT_EXTENSIBLE), any channel count and rate.

    ``read(n)`` returns up to ``n`` frames as float32 mono ``(m,)`` (channels averaged),
    an empty array at the end.  Raises :class:`AudioInputError` (one line) for a missing,
    empty or non-WAV file or an unsupported encoding.  A truncated data chunk (the header
    promises ``promised_frames``, the file holds fewer) is read as far as it goes:
    ``n_frames`` is what is there and :attr:`truncated` is true.  Context manager."""

    _PCM, _FLOAT, _EXT = 1, 3, 0xFFFE

    def __init__(self, path: str | os.PathLike):
        import struct

        self.path = Path(path)
        if not self.path.is_file():
            raise AudioInputError(f"{self.path}: no such file")
        self._fh = open(self.path, "rb")
        try:
            head = self._fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise AudioInputError(f"{self.path}: not a RIFF/WAVE file")
            fmt = None
            while True:
                ch = self._fh.read(8)
                if len(ch) < 8:
                    raise AudioInputError(f"{self.path}: no audio data chunk (truncated WAV?)")
                cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
                if cid == b"fmt ":
                    fmt = self._fh.read(size)
                    if size % 2:
                        self._fh.read(1)
                elif cid == b"data":
                    break
                else:
                    self._fh.seek(size + (size % 2), 1)
            if fmt is None or len(fmt) < 16:
                raise AudioInputError(f"{self.path}: WAV without a format chunk")
            tag, ch_n, sr, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
            if tag == self._EXT and len(fmt) >= 26:
                tag = struct.unpack("<H", fmt[24:26])[0]
            if tag not in (self._PCM, self._FLOAT) or ch_n < 1 or sr <= 0:
                raise AudioInputError(f"{self.path}: unsupported WAV encoding (format {tag}, {ch_n} ch, {sr} Hz)")
            width = bits // 8
            if (tag == self._PCM and width not in (1, 2, 3, 4)) or (tag == self._FLOAT and width not in (4, 8)):
                raise AudioInputError(f"{self.path}: unsupported WAV sample size {bits} bits")
            self.sample_rate, self.channels, self._width, self._float = int(sr), int(ch_n), width, tag == self._FLOAT
            self._align = width * ch_n
            avail = self.path.stat().st_size - self._fh.tell()
            self.promised_frames = size // self._align
            self.n_frames = max(0, min(size, avail)) // self._align
            self._left = self.n_frames
        except BaseException:
            self._fh.close()
            raise

    def read(self, n: int) -> np.ndarray:
        n = max(0, min(int(n), self._left))
        raw = self._fh.read(n * self._align)
        m = len(raw) // self._align
        self._left = 0 if m < n else self._left - m
        raw = raw[: m * self._align]
        w = self._width
        if self._float:
            x = np.frombuffer(raw, dtype="<f4" if w == 4 else "<f8").astype(np.float32)
        elif w == 1:
            x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
        elif w == 3:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            v = np.where(v >= 1 << 23, v - (1 << 24), v)
            x = (v / float(1 << 23)).astype(np.float32)
        else:
            x = (np.frombuffer(raw, dtype="<i2" if w == 2 else "<i4").astype(np.float64) / float(1 << (8 * w - 1))).astype(np.float32)
        if self.channels > 1:
            x = x.reshape(-1, self.channels).mean(axis=1, dtype=np.float64).astype(np.float32)
        return x

    @property
    def truncated(self) -> bool:
        """The header promises more frames than the file holds."""
        return self.n_frames < self.promised_frames

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "WavStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
