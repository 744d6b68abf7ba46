"""Resident memory of the running edge loop over time: ``cleartune run`` in a child process.

:func:`run_loop_child` starts ``cleartune run ... --output stdout`` (the real command, via
:func:`cleartune.cli.main`) in a fresh Python, reads its JSON lines as they come and, every
``interval_s`` of processed audio (the readings' ``t``), reads the child's ``VmRSS`` from
``/proc/PID/status`` -- the same figure the child would read from ``/proc/self/status``.
When the loop ends the child itself reports its ``VmHWM`` (peak RSS of its whole life),
its final ``VmRSS`` and whether TensorFlow or Keras got imported.  The parent also checks
``/proc/PID/maps`` for a TensorFlow shared library while the loop runs.

:func:`measure_memory` runs it on generated audio (:func:`cleartune.bench.soak_audio.write_soak_wav`:
notes, silences, noise bursts, varied levels) given as ``--input FILE`` (the run loop's
FileSource) and reports the samples, the peak and the growth.  Targets: peak <= :data:`TARGET_PEAK_MB`, growth <=
:data:`TARGET_GROWTH_MB` (flat).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

TARGET_PEAK_MB = 150.0
TARGET_GROWTH_MB = 5.0
DEFAULT_SECONDS = 120.0
DEFAULT_INTERVAL_S = 2.0
#: Audio processed before the growth baseline is taken [s] (interpreter arenas, caches warm up).
BASELINE_AFTER_S = 10.0

#: What the child runs: the ``cleartune`` command itself, then a report line on stderr.
CHILD_CODE = r"""
import json, sys
from cleartune.cli import main
rc = main(sys.argv[1:])
st = {}
try:
    with open('/proc/self/status') as fh:
        for line in fh:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'VmHWM', 'VmPeak', 'VmSize'):
                st[k] = int(v.split()[0])
except OSError:
    pass
mods = [m for m in ('tensorflow', 'keras', 'tf_keras') if m in sys.modules]
sys.stderr.write('\n__cleartune_bench__ ' + json.dumps({'rc': rc, 'status_kb': st, 'heavy_modules': mods}) + '\n')
sys.stderr.flush()
sys.exit(rc)
"""
MARKER = "__cleartune_bench__ "


def proc_status_kb(pid: int | str = "self") -> dict[str, int]:
    """``VmRSS``, ``VmHWM``, ... of a process from ``/proc/PID/status`` [kB] (empty where
    there is no /proc, or the process is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                k, _, v = line.partition(":")
                if k.startswith("Vm") and v.strip().endswith("kB"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def rss_mb(pid: int | str = "self") -> Optional[float]:
    """Resident set size [MB = 2**20 bytes] of ``pid`` (VmRSS), or None."""
    kb = proc_status_kb(pid).get("VmRSS")
    return None if kb is None else kb / 1024.0


def _maps_mention(pid: int, needles: Sequence[str] = ("tensorflow", "libtensorflow", "keras")) -> list[str]:
    found = set()
    try:
        with open(f"/proc/{pid}/maps") as fh:
            for line in fh:
                low = line.lower()
                for n in needles:
                    if n in low:
                        found.add(line.split()[-1])
    except OSError:
        pass
    return sorted(found)


def run_loop_child(run_args: Sequence[str], *, stdin_path: Optional[str | Path] = None, stdin_offset: int = 0,
                   interval_s: float = DEFAULT_INTERVAL_S, timeout_s: Optional[float] = None,
                   on_progress: Optional[Callable[[float, int], None]] = None, progress_every_s: float = 60.0,
                   nice: int = 0) -> dict[str, Any]:
    """Run ``cleartune run <run_args> --output stdout`` in a child Python and watch it.

    ``stdin_path``: a file given to the child as stdin from byte ``stdin_offset`` (for
    ``--input -``).  Returns ``{"rc", "readings", "t_first", "t_last", "max_gap_s",
    "min_gap_s", "samples": [[audio_s, wall_s, rss_mb], ...], "child": {...}, "stderr_tail",
    "wall_s", "tf_libraries_mapped", "bad_lines"}``."""
    import threading

    args = [sys.executable, "-c", CHILD_CODE, "run", *run_args, "--output", "stdout"]
    env = dict(os.environ)
    env.pop("CLEARTUNE_DEBUG", None)
    env["PYTHONUNBUFFERED"] = "1"
    stdin = open(stdin_path, "rb") if stdin_path is not None else subprocess.DEVNULL
    if stdin_path is not None and stdin_offset:
        stdin.seek(stdin_offset)
    err = tempfile.TemporaryFile(mode="w+b")
    pre = (lambda: os.nice(nice)) if nice else None
    w0 = time.perf_counter()
    proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=err, env=env, preexec_fn=pre)
    killer = None
    if timeout_s is not None:
        killer = threading.Timer(timeout_s, proc.kill)
        killer.daemon = True
        killer.start()
    samples: list[list[float]] = []
    n = bad = 0
    t_first = t_last = None
    max_gap = 0.0
    min_gap = math.inf
    next_sample = float(interval_s)
    next_progress = float(progress_every_s)
    tf_maps: list[str] = []
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                t = float(json.loads(raw)["t"])
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            if n == 0:
                t_first = t
                tf_maps = _maps_mention(proc.pid)
            else:
                gap = t - t_last
                max_gap, min_gap = max(max_gap, gap), min(min_gap, gap)
            n += 1
            t_last = t
            if t >= next_sample:
                mb = rss_mb(proc.pid)
                if mb is not None:
                    samples.append([t, time.perf_counter() - w0, mb])
                next_sample += interval_s
            if on_progress is not None and t >= next_progress:
                on_progress(t, n)
                next_progress += progress_every_s
        proc.wait()
    finally:
        if killer is not None:
            killer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if stdin_path is not None:
            stdin.close()
    wall = time.perf_counter() - w0
    err.seek(0)
    text = err.read().decode("utf-8", "replace")
    err.close()
    child: dict[str, Any] = {}
    rest = []
    for line in text.splitlines():
        if line.startswith(MARKER):
            try:
                child = json.loads(line[len(MARKER):])
            except ValueError:
                pass
        elif line.strip():
            rest.append(line)
    return {"rc": proc.returncode, "readings": n, "t_first": t_first, "t_last": t_last,
            "max_gap_s": max_gap if n > 1 else None, "min_gap_s": min_gap if n > 1 else None,
            "samples": samples, "child": child, "stderr_tail": rest[-20:], "wall_s": wall,
            "tf_libraries_mapped": tf_maps, "bad_lines": bad, "command": args[3:]}


def rss_figures(samples: Sequence[Sequence[float]], *, baseline_after_s: float = BASELINE_AFTER_S) -> dict[str, Any]:
    """Start (first sample at or after ``baseline_after_s`` of audio), end (last sample),
    peak, growth (end - start) and the slope of a straight line through the samples after
    the baseline [MB per hour of audio]."""
    import numpy as np

    if not samples:
        return {"start_mb": None, "end_mb": None, "peak_mb": None, "min_mb": None, "growth_mb": None,
                "slope_mb_per_hour": None, "samples": 0, "baseline_at_s": None}
    a = np.asarray(samples, np.float64)
    after = a[a[:, 0] >= baseline_after_s]
    if len(after) == 0:
        after = a
    start, end = float(after[0, 2]), float(a[-1, 2])
    slope = None
    if len(after) >= 3 and after[-1, 0] > after[0, 0]:
        slope = float(np.polyfit(after[:, 0], after[:, 2], 1)[0] * 3600.0)
    return {"start_mb": start, "end_mb": end, "peak_mb": float(a[:, 2].max()), "min_mb": float(a[:, 2].min()),
            "growth_mb": end - start, "slope_mb_per_hour": slope, "samples": int(len(a)),
            "baseline_at_s": float(after[0, 0])}


def run_args_for(*, model: Optional[str | Path], no_denoise: bool, threads: int = 1) -> list[str]:
    """The tuner flags of ``cleartune run`` for a model (or none)."""
    args = ["--threads", str(int(threads))]
    if no_denoise:
        args.append("--no-denoise")
    elif model is not None:
        args += ["--model", str(model)]
    return args


def measure_memory(*, model: Optional[str | Path], no_denoise: bool = False, seconds: float = DEFAULT_SECONDS,
                   interval_s: float = DEFAULT_INTERVAL_S, threads: int = 1, seed: int = 0,
                   command: Optional[str] = None, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """RSS of ``cleartune run --input FILE`` over ``seconds`` of generated audio, sampled
    every ``interval_s`` of processed audio.  Returns the result dict (see :func:`write_memory`)."""
    from cleartune.bench.latency import model_info
    from cleartune.bench.soak_audio import write_soak_wav
    from cleartune.edge.params import EDGE
    from cleartune.edge.pitch import PitchParams
    from cleartune.provenance import provenance

    if seconds <= 0 or interval_s <= 0:
        raise ValueError("--seconds and --interval must be positive")
    with tempfile.TemporaryDirectory(prefix="cleartune-bench-mem-") as tmp:
        wav = Path(tmp) / "memory.wav"
        gen = write_soak_wav(wav, seconds=seconds, seed=seed)
        log(f"memory: {seconds:g} s of generated audio; cleartune run --input FILE in a child process")
        run_args = ["--input", str(wav), *run_args_for(model=model, no_denoise=no_denoise, threads=threads)]
        res = run_loop_child(run_args, interval_s=interval_s)
    n_samples = gen["samples"]
    expected = (n_samples // EDGE.hop) // PitchParams().reading_hops
    figs = rss_figures(res["samples"])
    child = res["child"]
    hwm = child.get("status_kb", {}).get("VmHWM")
    peak = max(x for x in (figs["peak_mb"], None if hwm is None else hwm / 1024.0) if x is not None) \
        if (figs["peak_mb"] is not None or hwm is not None) else None
    result = {
        "title": "cleartune: resident memory of the run loop",
        "provenance": provenance(command),
        "what": "cleartune run --input FILE --output stdout in a child process; VmRSS from /proc/PID/status every "
                f"{interval_s:g} s of processed audio; VmHWM reported by the child at exit",
        "audio": {"seconds": n_samples / EDGE.sample_rate, "generator": gen["description"], "format": "16-bit WAV",
                  "note": f"a {(44 + 2 * n_samples) / 2**20:.1f} MB file read by the run loop's FileSource"},
        "model": model_info(model) if (model is not None and not no_denoise) else None,
        "denoise": not no_denoise,
        "threads": threads,
        "child": {"rc": res["rc"], "readings": res["readings"], "expected_readings": expected,
                  "wall_s": res["wall_s"], "heavy_modules_imported": child.get("heavy_modules"),
                  "tf_libraries_mapped": res["tf_libraries_mapped"], "status_at_exit_kb": child.get("status_kb"),
                  "stderr_tail": res["stderr_tail"], "command": "cleartune " + " ".join(res["command"])},
        "rss": {**figs, "vmhwm_mb": None if hwm is None else hwm / 1024.0, "peak_overall_mb": peak},
        "samples": [{"audio_s": round(s[0], 3), "wall_s": round(s[1], 3), "rss_mb": round(s[2], 3)} for s in res["samples"]],
    }
    result["targets"] = [
        _target("peak RSS (max of samples and VmHWM)", peak, TARGET_PEAK_MB, "MB"),
        _target(f"RSS growth (end - start; start after {BASELINE_AFTER_S:g} s of audio)", figs["growth_mb"],
                TARGET_GROWTH_MB, "MB"),
        {"target": "no TensorFlow in the child", "value": (child.get("heavy_modules") or []) + res["tf_libraries_mapped"],
         "threshold": "none", "unit": "", "status": "pass" if not ((child.get("heavy_modules") or []) or res["tf_libraries_mapped"])
         and child else ("n/a" if not child else "fail"), "note": ""},
        {"target": "readings == expected (no dropped windows)", "value": res["readings"], "threshold": expected, "unit": "",
         "status": "pass" if res["readings"] == expected and res["rc"] == 0 else "fail", "note": ""},
    ]
    return result


def _target(name: str, value: Optional[float], threshold: float, unit: str) -> dict[str, Any]:
    status = "n/a" if value is None else ("pass" if value <= threshold else "fail")
    return {"target": name, "value": value, "threshold": threshold, "unit": unit, "status": status, "note": ""}


def _f(v, nd: int = 1) -> str:
    if v is None:
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def to_markdown(r: dict[str, Any]) -> str:
    from cleartune.provenance import markdown_block

    rs, c = r["rss"], r["child"]
    m = r["model"]
    L = [f"# {r['title']}", "", f"{r['what']}.", "",
         f"Audio: {r['audio']['seconds']:.0f} s, {r['audio']['generator']} ({r['audio']['format']}); "
         f"{r['audio']['note']}.  Denoiser: " + (f"`{m['file']}` ({m['model_version']}, {m['dtype']})" if m else "none")
         + f", {r['threads']} thread(s).  Command: `{c['command']}`.", "",
         "## Targets", "", "| target | value | threshold | status |", "|---|---|---|---|"]
    for t in r["targets"]:
        v = t["value"]
        vs = (", ".join(v) or "none") if isinstance(v, list) else f"{_f(v, 2)} {t['unit']}"
        th = t["threshold"] if isinstance(t["threshold"], str) else f"<= {t['threshold']:g} {t['unit']}" \
            if "expected" not in t["target"] else f"== {t['threshold']}"
        L.append(f"| {t['target']} | {vs} | {th} | **{t['status']}** |")
    L += ["", "## RSS", "",
          f"- start (after {_f(rs['baseline_at_s'])} s of audio): {_f(rs['start_mb'])} MB; end: {_f(rs['end_mb'])} MB; "
          f"growth: {_f(rs['growth_mb'], 2)} MB; slope: {_f(rs['slope_mb_per_hour'], 2)} MB per hour of audio",
          f"- peak of the samples: {_f(rs['peak_mb'])} MB; VmHWM (whole life of the child, start-up included): "
          f"{_f(rs['vmhwm_mb'])} MB",
          f"- {rs['samples']} samples; child exit status {c['rc']}, {c['readings']} readings (expected "
          f"{c['expected_readings']}), {c['wall_s']:.1f} s wall", "",
          "| audio s | wall s | RSS MB |", "|---|---|---|"]
    S = r["samples"]
    step = max(1, len(S) // 30)
    for s in S[::step] + ([S[-1]] if S and (len(S) - 1) % step else []):
        L.append(f"| {s['audio_s']:.1f} | {s['wall_s']:.1f} | {s['rss_mb']:.1f} |")
    L += ["", "## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


def write_memory(result: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """``memory.json`` and ``memory.md`` in ``out_dir``."""
    from .results_io import write_result

    return write_result(result, out_dir, stem="memory", markdown=to_markdown(result))


def summary_lines(r: dict[str, Any]) -> list[str]:
    rs = r["rss"]
    lines = [f"  RSS start {_f(rs['start_mb'])} MB, end {_f(rs['end_mb'])} MB, peak {_f(rs['peak_overall_mb'])} MB "
             f"(VmHWM {_f(rs['vmhwm_mb'])}), growth {_f(rs['growth_mb'], 2)} MB over {r['audio']['seconds']:.0f} s of audio"]
    for t in r["targets"]:
        lines.append(f"  target: {t['target']}: {t['status']}")
    return lines
