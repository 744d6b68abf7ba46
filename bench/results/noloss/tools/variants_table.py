"""One table: several accuracy results against one baseline (per clip and per reading by SNR,
the cells that drop, clips lost / gained), through compare_accuracy.

    python variants_table.py BASE.json NAME=RESULT.json ... [--max-drop 1]"""
import sys

from cleartune.bench.compare_accuracy import compare

args = [a for a in sys.argv[1:] if not a.startswith("--")]
max_drop = float(sys.argv[sys.argv.index("--max-drop") + 1]) if "--max-drop" in sys.argv else 1.0
args = [a for a in args if a != str(max_drop) and a != f"{max_drop:g}"]
base, variants = args[0], [a.split("=", 1) for a in args[1:]]
LEVELS = ("clean", "10 dB", "5 dB", "0 dB", "-5 dB", "all")
print("| variant | " + " | ".join(f"{lv} clip / reading" for lv in LEVELS)
      + " | harmonic @ -5 dB | same_pitch_class | clips lost / gained | cells dropping > 1 |")
print("|---|" + "---:|" * (len(LEVELS) + 4))
for name, path in variants:
    r = compare(base, path, max_drop=max_drop)
    rows = r["rows"]

    def cell(by, g, m, rows=rows):
        return next(x for x in rows if x["by"] == by and x["group"] == g and x["measure"] == m and x["system"] == "tracker")
    def pair(by, g):
        return f"{cell(by, g, 'per clip')['diff']:+.1f} / {cell(by, g, 'per reading')['diff']:+.2f}"
    parts = [pair("snr", lv) for lv in LEVELS]
    h, s = pair("snr_noise", "harmonic @ -5 dB"), pair("hard_case", "same_pitch_class")
    a = cell("snr", "all", "per clip")
    print(f"| {name} | " + " | ".join(parts) + f" | {h} | {s} | {a['lost']} / {a['gained']} | {r['drops']} |")
