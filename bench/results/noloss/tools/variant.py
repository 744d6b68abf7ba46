"""``cleartune bench accuracy --systems tracker`` from checkout ROOT with PitchParams fields set
(a variant of the tracker's settings, chosen on data/v2; edge/ files are not touched here).

    python variant.py ROOT FIELD=VALUE[,FIELD=VALUE...] [bench accuracy args...]"""
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rootfinder  # noqa: E402

root = rootfinder.install(sys.argv[1])
fields = dict(kv.split("=", 1) for kv in sys.argv[2].split(",") if kv)
sys.argv = ["cleartune", "bench", "accuracy"] + sys.argv[3:]

import cleartune.bench.accuracy as acc  # noqa: E402
import cleartune.edge.pitch as pitch  # noqa: E402
from cleartune.cli import main  # noqa: E402
from cleartune.edge.pitch_params import PitchParams  # noqa: E402

base = PitchParams()
params = {k: type(getattr(base, k))(float(v)) for k, v in fields.items()}
rootfinder.tracker_with(acc, dataclasses.replace(base, **params))
print(f"[variant] params={params} pitch={pitch.__file__}", file=sys.stderr, flush=True)
rc = main()
print(f"[variant] cleartune modules outside {root}: {rootfinder.outside(root) or 'none'}", file=sys.stderr)
sys.exit(rc)
