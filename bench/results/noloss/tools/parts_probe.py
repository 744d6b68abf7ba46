"""The tracker alone (``analyze --no-denoise``) of checkout ROOT on the parts of each mix of a
dataset: the noise alone and the guitar alone (``noise/ID.wav``, ``clean/ID.wav``).

    python parts_probe.py ROOT DATA OUT.jsonl [--ids m00001,m00002]

Per clip and part: readings that count (those the accuracy bench scores), how many show a
note, and the settled reading (:func:`cleartune.train.measures.settled_reading`).  On the
noise alone every shown note is noise read as a note."""
import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import rootfinder  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("root")
ap.add_argument("data")
ap.add_argument("out")
ap.add_argument("--ids", default="")
args = ap.parse_args()
root = rootfinder.install(args.root)

import numpy as np  # noqa: E402

import cleartune.edge.pitch as _p  # noqa: E402
from cleartune.edge.pipeline import Tuner, TunerConfig, analyze_samples  # noqa: E402
from cleartune.train.data.dataset import iter_examples, load_metadata  # noqa: E402
from cleartune.train.measures import judge, reading_arrays, readings_that_count, settled_reading  # noqa: E402

print(f"[parts_probe] pitch={_p.__file__}", file=sys.stderr, flush=True)
rows = load_metadata(Path(args.data))
if args.ids:
    want = set(args.ids.split(","))
    rows = [r for r in rows if str(r["id"]) in want]
tuner = Tuner(TunerConfig(denoise=False))
t0 = time.perf_counter()
with open(args.out, "w") as fh:
    for i, (mix, clean, noise, row) in enumerate(iter_examples(Path(args.data), rows=rows)):
        rec = {"id": str(row["id"]), "note": row.get("note"), "f0_hz": float(row["f0_hz"]),
               "noise_type": row.get("noise_type"), "hard_case": row.get("hard_case") or "",
               "snr_db": row.get("snr_db")}
        onset = float(row["onset_s"]) if row.get("onset_s") not in (None, "") else float("nan")
        for part, x in (("mix", mix), ("clean", clean), ("noise", noise)):
            if part == "noise" and not np.any(noise):
                continue
            t, f0, midi = reading_arrays(analyze_samples(np.asarray(x, np.float32), tuner))
            sel = readings_that_count(t, onset_s=onset)
            shown = np.isfinite(f0[sel])
            sf, sn = settled_reading(t, f0, onset_s=onset, notes=midi)
            right = judge(f0[sel], true_f0=rec["f0_hz"], notes=midi[sel])[0]
            notes, counts = np.unique(midi[sel][shown], return_counts=True)
            rec[part] = {"n": int(sel.sum()), "shown": int(shown.sum()), "right": int(right.sum()),
                         "settled_note": None if not math.isfinite(sn) else int(sn),
                         "top_notes": {str(int(k)): int(v) for k, v in sorted(zip(notes, counts), key=lambda kv: -kv[1])[:3]}}
        fh.write(json.dumps(rec) + "\n")
        fh.flush()
        if (i + 1) % 20 == 0:
            print(f"parts_probe: {i + 1}/{len(rows)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
print(f"[parts_probe] cleartune modules outside {root}: {rootfinder.outside(root) or 'none'}", file=sys.stderr)
