"""Which shown readings of the B0..C8 tracker (84e3ffc and later) come from its one-partial path.

    python sine_probe.py ROOT DATA OUT.jsonl

Wraps ``PitchTracker._shown_reading`` of checkout ROOT to note, for every reading that shows
a note, whether the shown track's latest estimate measured one partial only (``n == 1``: the
path 84e3ffc opened, "one strong steady partial is a note") and whether its first partial is
clear (``clear_first``).  Per clip, on the mix and on the noise alone: the readings the
accuracy bench counts, those showing a note, those shown from one partial, and those
shown from one partial that are wrong (not the guitar's note per the bench's rule)."""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rootfinder  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("root")
ap.add_argument("data")
ap.add_argument("out")
args = ap.parse_args()
root = rootfinder.install(args.root)

import numpy as np  # noqa: E402

import cleartune.edge.pitch as P  # noqa: E402
from cleartune.edge.pipeline import Tuner, TunerConfig, analyze_samples  # noqa: E402
from cleartune.train.data.dataset import iter_examples, load_metadata  # noqa: E402
from cleartune.train.measures import judge, reading_arrays, readings_that_count  # noqa: E402

TAGS: list = []
_orig = P.PitchTracker._shown_reading


def _tagged(self, t, shown):
    r = _orig(self, t, shown)
    TAGS.append((r.t, int(shown.n), bool(shown.clear_first)))
    return r


P.PitchTracker._shown_reading = _tagged
print(f"[sine_probe] pitch={P.__file__}", file=sys.stderr, flush=True)
rows = load_metadata(Path(args.data))
tuner = Tuner(TunerConfig(denoise=False))
t0 = time.perf_counter()
with open(args.out, "w") as fh:
    for i, (mix, _clean, noise, row) in enumerate(iter_examples(Path(args.data), rows=rows)):
        rec = {"id": str(row["id"]), "f0_hz": float(row["f0_hz"])}
        onset = float(row["onset_s"]) if row.get("onset_s") not in (None, "") else float("nan")
        for part, x in (("mix", mix), ("noise", noise)):
            if part == "noise" and not np.any(noise):
                continue
            TAGS.clear()
            t, f0, midi = reading_arrays(analyze_samples(np.asarray(x, np.float32), tuner))
            one = {round(tt, 6) for tt, n, _c in TAGS if n == 1}
            sel = readings_that_count(t, onset_s=onset)
            shown = np.isfinite(f0) & sel
            single = np.array([round(float(tt), 6) in one for tt in t]) & shown
            right = np.zeros(len(t), bool)
            right[sel] = judge(f0[sel], true_f0=rec["f0_hz"], notes=midi[sel])[0]
            rec[part] = {"n": int(sel.sum()), "shown": int(shown.sum()), "single": int(single.sum()),
                         "single_wrong": int((single & ~right).sum()), "wrong": int((shown & ~right).sum())}
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
        if (i + 1) % 40 == 0:
            print(f"sine_probe: {i + 1}/{len(rows)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
print(f"[sine_probe] cleartune modules outside {root}: {rootfinder.outside(root) or 'none'}", file=sys.stderr)
