"""Cutting guitar recordings into fixed-length clips (the seed's splitter), dropping
near-silent ones.

Clips are ``clip_samples`` long (``SignalParams.clip_samples``: 2**16 at 22050 Hz for
the seed preset).  Positions are sample indices at the dataset sample rate; a clip may
start before 0 or end after the recording, the missing part is zeros.
"""
from __future__ import annotations

import math

import numpy as np

#: Default: a clip whose RMS is below this [dBFS] is near-silent and dropped.
SILENCE_DB = -60.0
#: ... and so is a clip more than this many dB below the recording's loudest clip.
RELATIVE_DB = 40.0


def rms_db(x: np.ndarray) -> float:
    """RMS level of ``x`` [dBFS] (-inf for digital silence)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return -math.inf
    r = math.sqrt(float(np.mean(x * x)))
    return 20.0 * math.log10(r) if r > 0 else -math.inf


def clip_at(x: np.ndarray, start: int, clip_samples: int) -> np.ndarray:
    """``x[start : start + clip_samples]`` with zeros where it runs off either end
    (float64 ``(clip_samples,)``)."""
    out = np.zeros(clip_samples, dtype=np.float64)
    a, b = max(0, start), min(len(x), start + clip_samples)
    if b > a:
        out[a - start : b - start] = x[a:b]
    return out


def split_recording(
    x: np.ndarray,
    *,
    clip_samples: int,
    silence_db: float = SILENCE_DB,
    relative_db: float = RELATIVE_DB,
    min_fraction: float = 0.5,
) -> list[int]:
    """Start indices of the consecutive, non-overlapping clips of recording ``x`` (``(n,)``)
    worth keeping.

    A trailing partial clip (and a recording shorter than one clip) is kept, zero-padded,
    when it holds at least ``min_fraction`` of a clip.  Clips quieter than ``silence_db``
    dBFS RMS, or more than ``relative_db`` below the loudest clip, are dropped."""
    n = len(x)
    starts = list(range(0, max(n - clip_samples + 1, 0), clip_samples))
    tail = (starts[-1] + clip_samples) if starts else 0
    if n - tail >= min_fraction * clip_samples:
        starts.append(tail)
    if not starts:
        return []
    levels = [rms_db(clip_at(x, s, clip_samples)) for s in starts]
    top = max(levels)
    return [s for s, lv in zip(starts, levels) if lv >= silence_db and lv >= top - relative_db]


def note_clip_start(onset: float, *, clip_samples: int, sample_rate: int, rng: np.random.Generator,
                    p_after: float = 0.75) -> int:
    """Where to start a clip around a pluck at sample ``onset``: with probability
    ``p_after`` the pluck falls 0.05-0.6 s into the clip (at most half-way into it),
    otherwise the clip starts up to 0.5 s after the pluck (the tuner joins a ringing note)."""
    half = 0.5 * clip_samples / sample_rate
    if rng.random() < p_after:
        pos = rng.uniform(min(0.05, half / 2), min(0.6, half))
    else:
        pos = rng.uniform(-0.5, min(0.05, half / 2))
    return int(round(onset - pos * sample_rate))
