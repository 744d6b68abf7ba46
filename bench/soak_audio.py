"""The soak's audio: a long stretch of generated sound written chunk by chunk (never the
whole hour in memory) as a 16-bit mono WAV, for the soak test and the memory benchmark.

:func:`write_soak_wav`: plucked notes (:func:`cleartune.train.synth.plucked_string`,
E2..E6, detuned, some cut short by the next pluck), notes over noise, silences (digital
zero and a faint hiss), noise bursts (white, pink, speech-like, orchestra-like), levels
from -45 dBFS to clipping.  Deterministic for a seed.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

#: Audio generated per write [s].
CHUNK_S = 30.0
#: Pre-rendered notes and noises the generator draws from (then varies level, length, mix).
N_TONES = 32
NOISE_S = 4.0


def _wav_header(n_samples: int, sample_rate: int) -> bytes:
    """A 44-byte RIFF/WAVE header for 16-bit mono PCM of ``n_samples`` samples."""
    data = 2 * n_samples
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate,
                                                                                       2 * sample_rate, 2, 16)
            + b"data" + struct.pack("<I", data))


class _Generator:
    """Draws events (note, note in noise, silence, noise burst) into chunks of audio."""

    def __init__(self, *, sample_rate: int, seed: int):
        from cleartune.train import synth

        self.sr = sample_rate
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        self.tones = []
        for _ in range(N_TONES):
            midi = int(rng.integers(40, 89))
            tone = synth.plucked_string(synth.detuned_hz(midi, float(rng.uniform(-45, 45))), sample_rate=sample_rate,
                                        duration=float(rng.uniform(2.0, 4.0)),
                                        inharmonicity=float(10 ** rng.uniform(-5, -3.7)),
                                        brightness=float(rng.uniform(0.3, 1.2)),
                                        pluck_position=float(rng.uniform(0.08, 0.3)), seed=int(rng.integers(1 << 30)))
            self.tones.append(tone.audio.astype(np.float32))
        mk = [synth.white_noise, synth.pink_noise, synth.speech_like, synth.orchestra_like]
        self.noises = [np.asarray(f(NOISE_S, sample_rate=sample_rate, seed=int(rng.integers(1 << 30))), np.float32) for f in mk]
        for i, x in enumerate(self.noises):  # unit RMS
            self.noises[i] = x / max(1e-9, float(np.sqrt(np.mean(x.astype(np.float64) ** 2))))
        self.counts = {"notes": 0, "notes_in_noise": 0, "silences": 0, "noise_bursts": 0, "clipped_events": 0}

    def _noise(self, n: int) -> np.ndarray:
        src = self.noises[int(self.rng.integers(len(self.noises)))]
        start = int(self.rng.integers(0, max(1, len(src) - 1)))
        idx = (start + np.arange(n)) % len(src)
        return src[idx]

    def event(self) -> np.ndarray:
        rng, sr = self.rng, self.sr
        u = rng.random()
        if u < 0.45:  # a note, maybe cut short by the next one
            x = self.tones[int(rng.integers(len(self.tones)))]
            n = len(x) if rng.random() < 0.7 else int(rng.uniform(0.3, 1.5) * sr)
            g_db = float(rng.uniform(-45, 6))  # tones peak at 0.5: up to +6 dB clips
            y = x[:n] * np.float32(10 ** (g_db / 20))
            self.counts["notes"] += 1
            if rng.random() < 0.4:  # over noise at -5..20 dB SNR (noise RMS vs note RMS)
                rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) + 1e-12
                snr = float(rng.uniform(-5, 20))
                y = y + self._noise(len(y)) * np.float32(rms * 10 ** (-snr / 20))
                self.counts["notes_in_noise"] += 1
        elif u < 0.7:  # silence: digital zero or a faint hiss
            n = int(rng.uniform(0.3, 3.0) * sr)
            y = np.zeros(n, np.float32) if rng.random() < 0.5 else \
                self._noise(n) * np.float32(10 ** (rng.uniform(-90, -60) / 20))
            self.counts["silences"] += 1
        else:  # a noise burst
            n = int(rng.uniform(0.2, 2.0) * sr)
            y = self._noise(n) * np.float32(10 ** (rng.uniform(-50, 0) / 20))
            self.counts["noise_bursts"] += 1
        if np.max(np.abs(y)) > 1.0:
            self.counts["clipped_events"] += 1
        return y

    def chunk(self, n: int, carry: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [carry]
        have = len(carry)
        while have < n:
            e = self.event()
            parts.append(e)
            have += len(e)
        x = np.concatenate(parts)
        return x[:n], x[n:]


def write_soak_wav(path: str | Path, *, seconds: float, seed: int = 0, sample_rate: Optional[int] = None,
                   log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Write ``seconds`` of generated audio (see the module doc) to ``path`` as a 16-bit
    mono WAV, chunk by chunk.  Returns ``{"samples", "sample_rate", "data_offset" (bytes
    before the PCM data), "description", "events"}``."""
    from cleartune.edge.params import EDGE

    sr = int(sample_rate or EDGE.sample_rate)
    total = int(round(seconds * sr))
    if total <= 0:
        raise ValueError("the soak needs a positive duration")
    gen = _Generator(sample_rate=sr, seed=seed)
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    header = _wav_header(total, sr)
    carry = np.zeros(0, np.float32)
    chunk = int(CHUNK_S * sr)
    written = 0
    with open(tmp, "wb") as fh:
        fh.write(header)
        while written < total:
            n = min(chunk, total - written)
            x, carry = gen.chunk(n, carry)
            fh.write(np.round(np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes())
            written += n
            if written % (chunk * 20) == 0:
                log(f"soak: generated {written / sr / 60:.0f} of {total / sr / 60:.0f} min")
    os.replace(tmp, p)
    return {"samples": total, "sample_rate": sr, "data_offset": len(header), "events": dict(gen.counts),
            "description": "plucked notes E2-E6 (some cut short, 40 % over noise at -5..20 dB SNR), silences, "
                           "noise bursts (white, pink, speech-like, orchestra-like), -45 dBFS to clipping"}
