#!/usr/bin/env python3
"""Summarize a `make model` run into a record (markdown): when each step ran, the training
curves' last epochs, the evaluation lines, and whether each produced model file is
byte-identical to the one shipped in a reference checkout.

    python scripts/make_model_record.py LOG --built CLONE [--shipped REPO] [--out train/results/make_model.md]

LOG: the run's stdout+stderr (`make model > LOG 2>&1`, optionally under `/usr/bin/time -v`);
CLONE: the clean checkout it ran in (its edge/models/ are the products); REPO: the checkout
whose committed edge/models/ are the shipped models (default: this repository).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

MODEL_FILES = ("edge_int8.tflite", "edge_float16.tflite", "edge_float32.tflite", "edge_float.keras",
               "guitar_pitch_int8.tflite", "guitar_pitch_float.keras")


def sha256(path: Path) -> str | None:
    from cleartune.edge.model_meta import sha256_file

    return sha256_file(path) if path.is_file() else None


def shipped_sha256(repo: Path, name: str) -> str | None:
    """sha256 of edge/models/NAME as committed at the repository's HEAD."""
    r = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:edge/models/{name}"], capture_output=True)
    return hashlib.sha256(r.stdout).hexdigest() if r.returncode == 0 else None


def keras_weights_sha256(path: Path) -> str | None:
    """sha256 of the weights inside a .keras zip (the zip also holds a save date and object ids)."""
    import zipfile

    if not path.is_file():
        return None
    with zipfile.ZipFile(path) as z:
        return hashlib.sha256(z.read("model.weights.h5")).hexdigest()


def cpu_name() -> str:
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return f"{ln.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or "cpu ?"


def run_start(line: str | None) -> float | None:
    """The run's start (``start 2026-12-06T06:45:18Z ...``) as a POSIX time."""
    m = re.search(r"start (\S+Z)", line or "")
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() if m else None


def parse_log(text: str) -> dict:
    lines = [ln.rstrip() for ln in re.split(r"[\r\n]+", text)]
    return {
        "start": next((ln for ln in lines if ln.startswith("start ")), None),
        "end": next((ln for ln in lines if ln.startswith("rc=")), None),
        "steps": [ln[3:] for ln in lines if ln.startswith("== ")],
        "epochs": [ln for ln in lines if re.match(r"^epoch \d+/\d+", ln)],
        "results": [ln.strip() for ln in lines if re.search(r"clips: feature MSE|accuracy|MAC|bytes", ln)
                    and not ln.strip().startswith(("evaluated", "features", "+ "))
                    and not re.search(r"\((k?bytes)\)", ln)],                 # (/usr/bin/time -v's own lines)
        "wall": next((ln.split(": ", 1)[1] for ln in lines if "Elapsed (wall clock)" in ln), None),
        "rss": next((ln.split(": ", 1)[1] for ln in lines if "Maximum resident set size" in ln), None),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", type=Path)
    ap.add_argument("--built", type=Path, required=True, metavar="CLONE", help="the clean checkout make model ran in")
    ap.add_argument("--shipped", type=Path, default=Path(__file__).resolve().parents[1], metavar="REPO",
                    help="the checkout whose committed edge/models are the shipped models (default: this repository)")
    ap.add_argument("--out", type=Path, default=None, help="write the record here (default: stdout)")
    a = ap.parse_args(argv)
    if not a.log.is_file():
        print(f"make_model_record: {a.log}: no such log", file=sys.stderr)
        return 2
    info = parse_log(a.log.read_text(errors="replace"))
    commit = subprocess.run(["git", "-C", str(a.built), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = [f"# `make model` from a clean checkout: {commit[:12]}", "",
           f"- log: `{a.log}` ({info['start'] or 'start ?'}; {info['end'] or 'still running or killed'})",
           "- command: `make model` (scripts/make_model.sh) in a fresh `git clone` with no data/ or runs/",
           f"- wall time: {info['wall'] or '?'}; peak RSS {info['rss'] or '?'} kB",
           f"- machine: {platform.machine()}, {cpu_name()}, {platform.platform()}",
           f"- record written {datetime.now(timezone.utc).isoformat(timespec='seconds')}", "",
           "## Steps (UTC start times)", ""]
    out += [f"- {s}" for s in info["steps"]]
    out += ["", "## Training (last epochs of each run)", ""]
    out += [f"    {e}" for e in info["epochs"][-18:]]
    out += ["", "## Products against the shipped models", "",
            "| file | built sha256 | shipped sha256 | identical |", "|---|---|---|---|"]
    started = run_start(info["start"])
    for name in MODEL_FILES:
        path = a.built / "edge/models" / name
        made = path.is_file() and (started is None or path.stat().st_mtime >= started)
        built, shipped = (sha256(path) if made else None), shipped_sha256(a.shipped, name)
        same = "yes" if built and built == shipped else ("not built (yet)" if built is None else "no")
        if name.endswith(".keras") and built and same == "no":
            w1 = keras_weights_sha256(a.built / "edge/models" / name)
            import tempfile

            with tempfile.TemporaryDirectory() as d:
                p = Path(d) / name
                p.write_bytes(subprocess.run(["git", "-C", str(a.shipped), "show", f"HEAD:edge/models/{name}"],
                                             capture_output=True).stdout)
                w2 = keras_weights_sha256(p)
            same = "weights yes (zip differs: save date, object ids)" if w1 == w2 else "no"
        out.append(f"| {name} | {(built or '--')[:16]} | {(shipped or '--')[:16]} | {same} |")
    out += ["", "## Evaluation lines", ""] + [f"    {r}" for r in info["results"][-12:]]
    text = "\n".join(out) + "\n"
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
        print(f"wrote {a.out}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
