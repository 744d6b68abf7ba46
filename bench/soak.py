"""Soak test: a long stretch of generated audio through the real ``cleartune run`` loop,
faster than real time.

:func:`~cleartune.bench.soak_audio.write_soak_wav` generates the audio (notes, notes over
noise, silences, noise bursts, -45 dBFS to clipping; see :mod:`cleartune.bench.soak_audio`).

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

import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from .soak_audio import write_soak_wav

TARGET_GROWTH_MB = 5.0
DEFAULT_MINUTES = 60.0
DEFAULT_RSS_INTERVAL_S = 10.0
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
    bad_err = [ln for ln in res["stderr_tail"] if "Traceback" in ln or "error" in ln.lower()]
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
