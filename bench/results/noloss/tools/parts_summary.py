"""Summarise parts_probe.py's before/after dumps beside two accuracy results.

    python parts_summary.py BEFORE_PARTS.jsonl AFTER_PARTS.jsonl BEFORE.json AFTER.json > parts.md

1. Noise read as a note: the tracker alone on the noise alone of each noisy clip, before and
   after: clips whose settled reading shows a note, and the share of readings that show one.
2. The clips whose settled mix reading turned wrong, each with what the noise alone and the
   guitar alone read after the change: the wrong note came from the noise (noise read as a
   note), from the guitar (the guitar alone misread), or only from the two together."""
import json
import math
import sys
from collections import defaultdict

NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def name(m):
    return "no note" if m is None else f"{NAMES[int(m) % 12]}{int(m) // 12 - 1}"


def hz(m):
    return 440.0 * 2 ** ((m - 69) / 12)


def level(snr):
    v = float(snr) if snr not in (None, "") else math.inf
    return "clean" if not math.isfinite(v) else f"{v:g} dB"


def load(p):
    return {r["id"]: r for r in map(json.loads, open(p))}


bp, ap = load(sys.argv[1]), load(sys.argv[2])
bacc, aacc = (json.load(open(p)) for p in sys.argv[3:5])
L = ["## Noise read as a note (the tracker alone on the noise alone)", "",
     "Settled: the clip's settled reading shows a note (any note is wrong: there is no guitar). Readings: share of the "
     "readings the bench counts that show a note.", "",
     "| noise type | SNR of its mix | clips | settled on a note before | after | readings with a note before [%] | after [%] |",
     "|---|---|---:|---:|---:|---:|---:|"]
groups = defaultdict(list)
for cid, a in ap.items():
    if "noise" in a and "noise" in bp.get(cid, {}):
        groups[(a["noise_type"], level(a["snr_db"]))].append(cid)
        groups[(a["noise_type"], "all")].append(cid)
        groups[("all", "all")].append(cid)
order = sorted(groups, key=lambda k: (k[0] == "all", k[0], k[1] == "all", k[1]))


def settled(d, ids):
    return sum(d[i]["noise"]["settled_note"] is not None for i in ids)


def share(d, ids):
    n = sum(d[i]["noise"]["n"] for i in ids)
    return 100.0 * sum(d[i]["noise"]["shown"] for i in ids) / n if n else float("nan")


for k in order:
    ids = groups[k]
    L.append(f"| {k[0]} | {k[1]} | {len(ids)} | {settled(bp, ids)} | {settled(ap, ids)} | {share(bp, ids):.1f} | {share(ap, ids):.1f} |")

L += ["", "Settled notes outside the old tracker's range (60-1400 Hz; the new one looks at 15 Hz-D8, shows B0-C8). "
      "No clip of this set has its guitar's f0 there, so every such reading is wrong:", "",
      "| part | settled above 1400 Hz before | after | settled below 60 Hz before | after |", "|---|---:|---:|---:|---:|"]
for part in ("noise", "clean", "mix"):
    def outside(d, above, part=part):
        n = 0
        for r in d.values():
            m = (r.get(part) or {}).get("settled_note")
            n += m is not None and (hz(m) > 1400 if above else hz(m) < 60)
        return n
    L.append(f"| {dict(noise='noise alone', clean='guitar alone', mix='mix')[part]} | {outside(bp, True)} | "
             f"{outside(ap, True)} | {outside(bp, False)} | {outside(ap, False)} |")

L += ["", "## The guitar alone (clean part of every clip)", ""]
for tag, d in (("before", bp), ("after", ap)):
    ok = sum(d[i]["clean"]["settled_note"] is not None and
             abs(d[i]["clean"]["settled_note"] - (69 + 12 * math.log2(d[i]["f0_hz"] / 440))) <= 0.5 + 1e-9 for i in d)
    L.append(f"- {tag}: {ok}/{len(d)} clips settle on the nearest note of the true f0 "
             "(a rough check: the bench's rule also accepts either neighbour within its boundary band)")

bpc = {c["id"]: c for c in bacc["per_clip"]}
apc = {c["id"]: c for c in aacc["per_clip"]}
L += ["", "## Clips lost (settled mix reading right before, wrong after): where the wrong reading comes from", "",
      "| clip | SNR | noise | hard case | note | after: mix | noise alone after (before) | guitar alone after (before) | "
      "source of the wrong reading | wrong note outside the old 60-1400 Hz range |",
      "|---|---|---|---|---|---|---|---|---|---|"]
causes = defaultdict(int)
for cid in apc:
    b, a = bpc[cid]["systems"]["tracker"]["settled"], apc[cid]["systems"]["tracker"]["settled"]
    if not (b["right"] and not a["right"]):
        continue
    A, B = ap[cid], bp[cid]
    mix_note = a["note"] if a["voiced"] else None
    nz = A.get("noise", {}).get("settled_note")
    nzb = B.get("noise", {}).get("settled_note")
    cl, clb = A["clean"]["settled_note"], B["clean"]["settled_note"]
    true = round(69 + 12 * math.log2(A["f0_hz"] / 440))
    if mix_note is None:
        cause = ("no note in the mix (the guitar alone reads right)" if cl == true
                 else "no note in the mix; the guitar alone is not read right either")
    elif nz is not None and nz == mix_note:
        cause = ("the noise's own note wins (the noise alone settles on it, before too)" if nzb == mix_note
                 else "the noise's own note wins (the noise alone settles on it, not before)")
    elif cl is not None and cl == mix_note:
        cause = "the guitar alone is misread the same way"
    elif "noise" in A and str(int(mix_note)) in A["noise"]["top_notes"]:
        cause = "the noise's own note wins (among the noise alone's readings)"
    else:
        cause = "only guitar + noise together"
    causes[cause] += 1
    out = "" if mix_note is None else ("yes" if not 60 <= hz(mix_note) <= 1400 else "")
    L.append(f"| {cid} | {apc[cid]['level']} | {apc[cid].get('noise_type')} | {apc[cid].get('hard_case') or '-'} | "
             f"{apc[cid]['note']} | {name(mix_note)} | {name(nz) if 'noise' in A else '-'} "
             f"({name(nzb) if 'noise' in B else '-'}) | {name(cl)} ({name(clb)}) | {cause} | {out} |")
L += ["", "Lost clips by source: " + "; ".join(f"{k}: {v}" for k, v in sorted(causes.items(), key=lambda kv: -kv[1])) + "."]
if len(sys.argv) > 5:  # sine_probe.py's dump of the after tracker
    sp = load(sys.argv[5])
    L += ["", "## Readings shown from one partial (the path 84e3ffc opened), after", ""]
    for part, what in (("mix", "mixes"), ("noise", "noise alone")):
        rs = [r[part] for r in sp.values() if part in r]
        shown, single = sum(r["shown"] for r in rs), sum(r["single"] for r in rs)
        sw, wrong = sum(r["single_wrong"] for r in rs), sum(r["wrong"] for r in rs)
        L.append(f"- {what} ({len(rs)} clips): {single} of {shown} readings showing a note come from one partial "
                 f"({100.0 * single / max(shown, 1):.1f} %); {sw} of the {wrong} wrong readings shown do")
    lost = [cid for cid in apc if bpc[cid]["systems"]["tracker"]["settled"]["right"]
            and not apc[cid]["systems"]["tracker"]["settled"]["right"]]
    sw = sum(sp[c]["mix"]["single_wrong"] for c in lost)
    wr = sum(sp[c]["mix"]["wrong"] for c in lost)
    L.append(f"- the {len(lost)} lost clips' mixes: {sw} of their {wr} wrong readings shown come from one partial; "
             "by clip: " + ", ".join(f"{c} {sp[c]['mix']['single_wrong']}/{sp[c]['mix']['wrong']}" for c in lost
                                    if sp[c]["mix"]["single_wrong"]))
print("\n".join(L))
