"""Regenerate the `make demo` output shown in README.md from a real run.

    .venv/bin/python scripts/readme_demo.py           # rewrite the block in README.md
    .venv/bin/python scripts/readme_demo.py --check   # exit 1 if README.md is stale

Runs `cleartune analyze edge/demo/demo.wav` (what `make demo` runs, from the repository root)
and puts its output into the fenced block that follows the marker line
``<!-- demo output: scripts/readme_demo.py -->`` in README.md.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- demo output: scripts/readme_demo.py -->"


def demo_output() -> str:
    exe = Path(sys.executable).with_name("cleartune")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cleartune"]
    r = subprocess.run([*cmd, "analyze", "edge/demo/demo.wav"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"readme_demo: cleartune analyze failed:\n{r.stderr}")
    return r.stdout.rstrip("\n") + "\n"


def replace_block(text: str, output: str) -> str:
    i = text.find(MARKER)
    if i < 0:
        sys.exit(f"readme_demo: {README.name} has no line {MARKER}")
    start = text.index("```\n", i) + 4
    end = text.index("```", start)
    return text[:start] + output + text[end:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 when README.md is stale")
    a = ap.parse_args()
    old = README.read_text()
    new = replace_block(old, demo_output())
    if a.check:
        if new != old:
            print("readme_demo: README.md's demo output is stale (run scripts/readme_demo.py)", file=sys.stderr)
            return 1
        return 0
    if new != old:
        tmp = README.with_suffix(".md.tmp")
        tmp.write_text(new)
        tmp.replace(README)
        print("readme_demo: README.md updated")
    else:
        print("readme_demo: README.md already current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
