"""Every result names the commit it measured: provenance() carries the checkout's commit and
the tracked files changed since, and markdown_block() prints them."""
import subprocess
from pathlib import Path

from cleartune.provenance import git_commit, markdown_block, provenance

ROOT = Path(__file__).resolve().parents[1]


def test_provenance_names_the_commit():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:  # tests copied out of a checkout (pi-check): there is no commit to name
        assert git_commit() is None
        return
    p = provenance("test")
    assert p["git"]["commit"] == head.stdout.strip()
    assert isinstance(p["git"]["changed"], list)
    md = markdown_block(p)
    assert f"- commit: {head.stdout.strip()[:12]}" in md
    p["git"] = {"commit": "0123456789abcdef", "changed": ["edge/pitch.py"]}
    assert "- commit: 0123456789ab + uncommitted changes in 1 file(s): edge/pitch.py" in markdown_block(p)
    p["git"] = None
    assert "- commit: unknown" in markdown_block(p)
