"""Accuracy of several ``cleartune bench accuracy`` runs pooled over several datasets/splits
(e.g. data/v2 val + a train sample, whose SNRs are continuous: 5-dB buckets), as
differences against a baseline, per clip (settled reading right) and per reading, by SNR,
noise type and hard case; the rows below -1 point counted; then the share of readings right /
octave / other note / no note at 5 .. -10 dB.  Each run is one or more accuracy.json joined
by '+' (their per_clip lists are pooled; clips are matched by id).

    python pool_table.py BASE.json[+BASE2.json] NAME=A.json[+A2.json] ..."""
import json
import sys
from collections import defaultdict

SNRS = ("clean", "20 dB", "15 dB", "10 dB", "5 dB", "0 dB", "-5 dB", "-10 dB")
COLS = [("snr", s) for s in SNRS] + [("noise", n) for n in ("harmonic", "environmental", "mixed")] + \
       [("hard", h) for h in ("same_pitch_class", "tuning_a")] + [("all", "all")]


def load(spec):
    clips = {}
    for p in spec.split("+"):
        for c in json.load(open(p))["per_clip"]:
            clips[c["id"]] = c
    return clips


def cells(clips):
    acc = defaultdict(lambda: [0, 0, 0, 0, 0, 0])   # clips, right clips, readings, right, octave, voiced
    for c in clips.values():
        t = c["systems"]["tracker"]
        for k in (("snr", c["level"]), ("noise", c["noise_type"]), ("hard", c["hard_case"] or "none"), ("all", "all")):
            a = acc[k]
            a[0] += 1
            a[1] += bool(t["settled"].get("right"))
            a[2] += t["n"]
            a[3] += t["right"]
            a[4] += t["octave"]
            a[5] += t["voiced"]
    return acc


def main():
    base = load(sys.argv[1])
    runs = [(a.rsplit("=", 1)[0], load(a.rsplit("=", 1)[1])) for a in sys.argv[2:]]
    B = cells(base)
    print(f"baseline {sys.argv[1]}: {len(base)} clips; cells: after - before, per clip / per reading [points]\n")
    print("| run | " + " | ".join(f"{g} ({B[(k, g)][0]})" for k, g in COLS) + " | clips lost / gained | rows < -1 |")
    print("|---|" + "---:|" * (len(COLS) + 2))
    print("| baseline (%) | " + " | ".join(f"{100 * B[c][1] / B[c][0]:.1f} / {100 * B[c][3] / B[c][2]:.1f}" for c in COLS)
          + " | | |")
    for name, v in runs:
        common = set(v) & set(base)
        V, Bc = cells({i: v[i] for i in common}), cells({i: base[i] for i in common})
        parts, drops = [], 0
        for c in COLS:
            dc = 100 * (V[c][1] / V[c][0] - Bc[c][1] / Bc[c][0])
            dr = 100 * (V[c][3] / V[c][2] - Bc[c][3] / Bc[c][2])
            drops += (c != ("all", "all")) * ((dc < -1) + (dr < -1))
            parts.append(f"{dc:+.1f} / {dr:+.1f}")
        right = lambda d, i: bool(d[i]["systems"]["tracker"]["settled"].get("right"))  # noqa: E731
        lost = sum(1 for i in common if right(base, i) and not right(v, i))
        gained = sum(1 for i in common if not right(base, i) and right(v, i))
        print(f"| {name} ({len(common)}) | " + " | ".join(parts) + f" | {lost} / {gained} | {drops} |")
    print("\nreadings at 5 .. -10 dB: right / octave / other note / no note [%]\n")
    print("| run | " + " | ".join(SNRS[4:]) + " |")
    print("|---|" + "---:|" * 4)
    for name, v in [("baseline", base)] + runs:
        C = cells(v)
        row = []
        for s in SNRS[4:]:
            n, r, o, vo = C[("snr", s)][2], C[("snr", s)][3], C[("snr", s)][4], C[("snr", s)][5]
            row.append(f"{100 * r / n:.1f} / {100 * o / n:.1f} / {100 * (vo - r - o) / n:.1f} / {100 * (n - vo) / n:.1f}")
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
