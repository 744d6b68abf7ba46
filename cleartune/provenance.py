"""Who/what/when made a result: attached to every report and benchmark (markdown + JSON).

Standard library only; imports nothing heavy.  Versions of optional packages are read
from installed metadata, never by importing them (so a report never imports TensorFlow).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from typing import Iterable, Optional

DEFAULT_PACKAGES = ("cleartune", "numpy", "scipy", "ai-edge-litert", "tflite-runtime", "tensorflow",
                    "tensorflow-cpu", "keras", "librosa")


def package_versions(names: Iterable[str] = DEFAULT_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (absent ones are omitted)."""
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> Optional[dict]:
    """The commit of the cleartune checkout this code runs from, and the tracked files changed
    since (``{"commit": sha, "changed": [paths]}``); None for an installed wheel or without git."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args: str) -> Optional[str]:
        try:
            r = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout if r.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or os.path.realpath(top.strip()) != os.path.realpath(root):
        return None
    sha = (git("rev-parse", "HEAD") or "").strip()
    if not sha:
        return None
    status = git("status", "--porcelain", "--untracked-files=no") or ""
    return {"commit": sha, "changed": sorted(line[3:] for line in status.splitlines() if line.strip())}


def provenance(command: Optional[str] = None) -> dict:
    """Machine, OS, Python, package versions, UTC date and the command line."""
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "command": command if command is not None else " ".join(shlex.quote(a) for a in ["cleartune"] + sys.argv[1:]),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "git": git_commit(),
    }


def markdown_block(p: dict) -> str:
    """A short markdown section describing ``provenance()`` output."""
    pk = ", ".join(f"{k} {v}" for k, v in p.get("packages", {}).items())
    g = p.get("git")
    if g:
        ch = g.get("changed") or []
        commit = f"{g['commit'][:12]}" + (f" + uncommitted changes in {len(ch)} file(s): {', '.join(ch[:8])}"
                                          + (", ..." if len(ch) > 8 else "") if ch else "")
    else:
        commit = "unknown (not run from a git checkout)"
    return (f"- date: {p['date_utc']}\n- commit: {commit}\n- command: `{p['command']}`\n"
            f"- machine: {p['machine']}, {p['cpu']} ({p['cpu_count']} cores), {p['os']}\n"
            f"- python {p['python']}; {pk}\n")
