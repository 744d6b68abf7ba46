"""Who/what/when made a result: attached to every report and benchmark (markdown + JSON).

Standard library only; imports nothing heavy.  Versions of optional packages are read
from installed metadata, never by importing them (so a report never imports TensorFlow).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
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
    }


def markdown_block(p: dict) -> str:
    """A short markdown section describing ``provenance()`` output."""
    pk = ", ".join(f"{k} {v}" for k, v in p.get("packages", {}).items())
    return (f"- date: {p['date_utc']}\n- command: `{p['command']}`\n"
            f"- machine: {p['machine']}, {p['cpu']} ({p['cpu_count']} cores), {p['os']}\n"
            f"- python {p['python']}; {pk}\n")
