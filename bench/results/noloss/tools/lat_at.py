"""``cleartune bench latency --no-pyin --threads 1 --quiet`` from checkout ROOT (its code and its
shipped models), for side-by-side timings of two checkouts on the same quiet machine.

    python lat_at.py ROOT OUT"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rootfinder  # noqa: E402

root = rootfinder.install(sys.argv[1])

from cleartune.cli import main  # noqa: E402

rc = main(["bench", "latency", "--out", sys.argv[2], "--no-pyin", "--threads", "1", "--quiet"])
print(f"cleartune modules outside {root}: {rootfinder.outside(root) or 'none'}", file=sys.stderr)
sys.exit(rc)
