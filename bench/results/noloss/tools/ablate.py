"""``cleartune bench accuracy --systems tracker`` from checkout ROOT with one part of 84e3ffc
switched off, to see which part a loss comes from (edge/ is not edited: the switch is a
monkeypatch in this process).

    python ablate.py ROOT ABLATION [bench accuracy args...]

ABLATION (comma-separated):
  no_lone_peak    the strongest spectral peak is no candidate of its own (salience.add_lone_peak)
  no_one_partial  a lone clear first partial is no note (tracks.has_clear_first_partial -> False)
  old_range       PitchParams(fmin=60, fmax=1400): the range looked at before 84e3ffc
  no_bass_rule    PitchParams(bass_fundamental_hz=0): a note below C2 needs no fundamental
  no_resolve      PitchParams(resolve_bins=0): every frame looks for and measures every note
  no_mean_fmax    PitchParams(mean_salience_fmax=1e9): per-partial salience candidates at any f0
  no_subharm_rule a note with 2+ partials needs none of partials 1-3 (pitch.has_enough_partials as before,
                  plus the one-partial note)"""
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rootfinder  # noqa: E402

root = rootfinder.install(sys.argv[1])
ablations = [a for a in sys.argv[2].split(",") if a]
sys.argv = ["cleartune", "bench", "accuracy"] + sys.argv[3:]

import cleartune.bench.accuracy as acc  # noqa: E402
import cleartune.edge.pitch as pitch  # noqa: E402
import cleartune.edge.tracks as tracks  # noqa: E402
from cleartune.cli import main  # noqa: E402
from cleartune.edge.pitch_params import PitchParams  # noqa: E402

params = {}
for a in ablations:
    if a == "no_lone_peak":
        pitch.add_lone_peak = lambda *args, **kw: None
    elif a == "no_one_partial":
        tracks.has_clear_first_partial = lambda est, p: False
    elif a == "old_range":
        params.update(fmin=60.0, fmax=1400.0)
    elif a == "no_bass_rule":
        params.update(bass_fundamental_hz=0.0)
    elif a == "no_resolve":
        params.update(resolve_bins=0.0)
    elif a == "no_mean_fmax":
        params.update(mean_salience_fmax=1e9)
    elif a == "no_subharm_rule":
        pitch.has_enough_partials = lambda est, p: bool(
            est.n >= p.min_partials or (est.n == 1 and tracks.has_clear_first_partial(est, p)))
    else:
        sys.exit(f"unknown ablation {a!r}")
if params:
    rootfinder.tracker_with(acc, dataclasses.replace(PitchParams(), **params))
print(f"[ablate] {ablations} params={params} pitch={pitch.__file__}", file=sys.stderr, flush=True)
rc = main()
print(f"[ablate] cleartune modules outside {root}: {rootfinder.outside(root) or 'none'}", file=sys.stderr)
sys.exit(rc)
