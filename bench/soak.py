"""Soak test: a long stretch of generated audio through the real ``cleartune run`` loop,
faster than real time.

:func:`write_soak_wav` generates the audio in chunks (never the whole hour in memory) and
writes it as a 16-bit mono WAV: plucked notes (:func:`cleartune.train.synth.plucked_string`,
E2..E6, detuned, some cut short by the next pluck), notes over noise, silences (digital
zero and a faint hiss), noise bursts (white, pink, speech-like, orchestra-like), levels
from -45 dBFS to clipping.  Deterministic for a seed.

:func:`run_soak` runs ``cleartune run --input FILE`` on it (the run loop's FileSource
streams WAV files from disk) -- or, with ``feed="stdin"``, gives its samples as the stdin
of ``cleartune run --input - --stdin-format s16le`` -- in a child process
(:func:`cleartune.bench.memory.run_loop_child`) and checks:

* no exception: exit status 0, no traceback or error on stderr;
* no dropped windows: readings == (samples // hop) // reading_hops, consecutive reading
  times one reading period apart;
* RSS growth < :data:`TARGET_GROWTH_MB` from the start (after
  :data:`~cleartune.bench.memory.BASELINE_AFTER_S` of audio) to the end;
* and reports the audio duration, wall time, speed factor (audio / wall) and RSS
  start / end / peak.
"""
from __future__ import annotations

import os
import struct
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

TARGET_GROWTH_MB = 5.0
DEFAULT_MINUTES = 60.0
DEFAULT_RSS_INTERVAL_S = 10.0
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
        for i in range(N_TONES):
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


FEEDS = ("file", "stdin")


def run_soak(*, minutes: float = DEFAULT_MINUTES, model: Optional[str | Path] = None, no_denoise: bool = False,
             threads: int = 1, seed: int = 0, rss_interval_s: float = DEFAULT_RSS_INTERVAL_S, feed: str = "file",
             workdir: Optional[str | Path] = None, nice: int = 0, command: Optional[str] = None,
             log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Generate ``minutes`` of audio, stream it through ``cleartune run`` and check it (see
    the module doc).  Returns the result dict (see :func:`write_soak`); ``result["ok"]``
    says whether every check passed."""
    from cleartune.bench.latency import model_info
    from cleartune.bench.memory import BASELINE_AFTER_S, rss_figures, run_args_for, run_loop_child
    from cleartune.edge.params import EDGE
    from cleartune.edge.pitch import PitchParams
    from cleartune.provenance import provenance

    if minutes <= 0:
        raise ValueError("--minutes must be positive")
    if feed not in FEEDS:
        raise ValueError(f"feed must be one of {', '.join(FEEDS)}, not {feed!r}")
    seconds = 60.0 * float(minutes)
    with tempfile.TemporaryDirectory(prefix="cleartune-soak-", dir=workdir) as tmp:
        wav = Path(tmp) / "soak.wav"
        t0 = time.perf_counter()
        gen = write_soak_wav(wav, seconds=seconds, seed=seed, log=log)
        gen_s = time.perf_counter() - t0
        log(f"soak: {minutes:g} min of audio generated in {gen_s:.0f} s ({wav.stat().st_size / 2**20:.0f} MB WAV); "
            "streaming it through cleartune run")
        tuner_args = run_args_for(model=model, no_denoise=no_denoise, threads=threads)
        if feed == "file":
            run_args, stdin = ["--input", str(wav), *tuner_args], None
        else:
            run_args = ["--input", "-", "--stdin-format", "s16le", "--stdin-rate", str(gen["sample_rate"]), *tuner_args]
            stdin = wav
        res = run_loop_child(run_args, stdin_path=stdin, stdin_offset=gen["data_offset"], interval_s=rss_interval_s,
                             on_progress=lambda t, n: log(f"soak: {t / 60:.1f} min of audio, {n} readings"),
                             progress_every_s=max(60.0, seconds / 10), nice=nice)
    hop, sr = EDGE.hop, EDGE.sample_rate
    rh = PitchParams().reading_hops
    expected = (gen["samples"] // hop) // rh
    period = rh * hop / sr
    figs = rss_figures(res["samples"], baseline_after_s=BASELINE_AFTER_S)
    child = res["child"]
    hwm_kb = (child.get("status_kb") or {}).get("VmHWM")
    audio_s = gen["samples"] / sr
    bad_err = [l for l in res["stderr_tail"] if "Traceback" in l or "error" in l.lower()]
    # t is rounded to 1 ms in the JSON lines
    gaps_ok = res["readings"] < 2 or (res["max_gap_s"] <= period + 0.0015 and res["min_gap_s"] >= period - 0.0015)
    checks = {
        "exit_status_0": res["rc"] == 0,
        "no_errors_on_stderr": not bad_err,
        "readings_as_expected": res["readings"] == expected,
        "reading_period_regular": bool(gaps_ok),
        "rss_growth_below_target": figs["growth_mb"] is not None and figs["growth_mb"] < TARGET_GROWTH_MB,
        "no_tensorflow": bool(child) and not (child.get("heavy_modules") or res["tf_libraries_mapped"]),
    }
    result = {
        "title": "cleartune: soak test",
        "provenance": provenance(command),
        "audio": {"minutes": minutes, "seconds": audio_s, "samples": gen["samples"], "events": gen["events"],
                  "generator": gen["description"], "seed": seed, "generation_s": gen_s,
                  "fed_as": "a 16-bit WAV file: cleartune run --input FILE" if feed == "file" else
                  "the PCM of a 16-bit WAV file on the stdin of cleartune run --input - --stdin-format s16le"},
        "model": model_info(model) if (model is not None and not no_denoise) else None,
        "denoise": not no_denoise,
        "threads": threads,
        "command": "cleartune " + " ".join(res["command"]) + (" < soak.wav (PCM part)" if feed == "stdin" else ""),
        "wall_s": res["wall_s"],
        "speed_factor": audio_s / res["wall_s"] if res["wall_s"] > 0 else None,
        "readings": res["readings"],
        "expected_readings": expected,
        "reading_period_s": period,
        "max_gap_s": res["max_gap_s"],
        "min_gap_s": res["min_gap_s"],
        "rc": res["rc"],
        "stderr_tail": res["stderr_tail"],
        "rss": {**figs, "vmhwm_mb": None if hwm_kb is None else hwm_kb / 1024.0},
        "rss_samples": [{"audio_s": round(s[0], 2), "wall_s": round(s[1], 2), "rss_mb": round(s[2], 3)} for s in res["samples"]],
        "checks": checks,
        "ok": all(checks.values()),
    }
    result["line"] = report_line(result)
    return result


def report_line(r: dict[str, Any]) -> str:
    """One line with the figures."""
    rs = r["rss"]

    def f(v, nd=1):
        return "-" if v is None else f"{v:.{nd}f}"

    return (f"soak {'PASS' if r['ok'] else 'FAIL'}: {r['audio']['seconds'] / 60:.1f} min of audio in {r['wall_s']:.0f} s wall "
            f"({f(r['speed_factor'])}x real time), readings {r['readings']}/{r['expected_readings']}, exit {r['rc']}, "
            f"RSS start {f(rs['start_mb'])} MB, end {f(rs['end_mb'])} MB, peak {f(rs['peak_mb'])} MB "
            f"(VmHWM {f(rs['vmhwm_mb'])}), growth {f(rs['growth_mb'], 2)} MB"
            + ("" if r["ok"] else "; failed: " + ", ".join(k for k, v in r["checks"].items() if not v)))


def _f(v, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def to_markdown(r: dict[str, Any]) -> str:
    from cleartune.provenance import markdown_block

    f = _f
    m = r["model"]
    rs = r["rss"]
    gaps = "-" if r["min_gap_s"] is None else f"{1000 * r['min_gap_s']:.1f} to {1000 * r['max_gap_s']:.1f}"
    L = [f"# {r['title']}", "", f"**{r['line']}**", "",
         f"Audio: {r['audio']['minutes']:g} min generated (seed {r['audio']['seed']}): {r['audio']['generator']}; "
         f"events {r['audio']['events']}.  Fed as: {r['audio']['fed_as']}.  Denoiser: "
         + (f"`{m['file']}` ({m['model_version']}, {m['dtype']})" if m else "none") + f", {r['threads']} thread(s).", "",
         f"Command: `{r['command']}`", "", "## Checks", "", "| check | result |", "|---|---|"]
    for k, v in r["checks"].items():
        L.append(f"| {k.replace('_', ' ')} | {'pass' if v else '**FAIL**'} |")
    L += ["", "## Figures", "",
          f"- processed audio: {r['audio']['seconds']:.1f} s; wall time {r['wall_s']:.1f} s (child start-up included); "
          f"speed {r['speed_factor']:.1f}x real time",
          f"- readings: {r['readings']} (expected {r['expected_readings']}); reading period {1000 * r['reading_period_s']:.2f} ms, "
          f"observed gaps {gaps} ms",
          f"- RSS: start {f(rs['start_mb'])} MB (after {f(rs['baseline_at_s'])} s of audio), end {f(rs['end_mb'])} MB, "
          f"peak {f(rs['peak_mb'])} MB, VmHWM {f(rs['vmhwm_mb'])} MB; growth {f(rs['growth_mb'], 2)} MB; "
          f"slope {f(rs['slope_mb_per_hour'], 2)} MB per hour of audio",
          f"- exit status {r['rc']}; stderr: {' / '.join(r['stderr_tail']) or 'empty'}", "",
          "## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


def write_soak(result: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """``soak.md`` and ``soak.json`` in ``out_dir``."""
    from .results_io import write_result

    return write_result(result, out_dir, stem="soak", markdown=to_markdown(result))
