"""``cleartune`` CLI from checkout ROOT: ``python run_at.py ROOT bench accuracy ...`` (prints which
files the package, the tracker and the bench were loaded from, and checks at exit that no
cleartune module came from elsewhere)."""
import atexit
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rootfinder  # noqa: E402

root = rootfinder.install(sys.argv[1])
sys.argv = ["cleartune"] + sys.argv[2:]
import cleartune  # noqa: E402
import cleartune.bench.accuracy as _a  # noqa: E402
import cleartune.edge.pitch as _p  # noqa: E402
from cleartune.cli import main  # noqa: E402

print(f"[run_at] cleartune={cleartune.__file__} pitch={_p.__file__} bench.accuracy={_a.__file__}", file=sys.stderr,
      flush=True)
atexit.register(lambda: print(f"[run_at] cleartune modules outside {root}: {rootfinder.outside(root) or 'none'}",
                              file=sys.stderr, flush=True))
sys.exit(main())
