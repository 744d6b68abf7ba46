"""Before/after of two ``cleartune bench accuracy`` results: did any cell lose more than
``--max-drop`` points?

    python -m cleartune.bench.compare_accuracy BEFORE.json AFTER.json [--max-drop 1.0] [--out DIR]

Reads the ``accuracy.json`` that :func:`cleartune.bench.accuracy.write_accuracy` writes
(``results[by][group][system]`` with ``clips``, ``clip_right_count``, ``clip_accuracy``,
``readings``, ``note_accuracy``; ``per_clip`` with each clip's settled reading) and, for
every system present in both, compares per clip (the settled reading) and per reading, by
SNR, noise type, SNR x noise type and hard case.  A difference is ``after - before`` in
percentage points; a cell **drops** when its difference is below ``-max_drop``.  Each row
says how many clips (readings) the cell holds and how many points one clip is worth (a
cell of 27 clips moves 3.7 points per clip) and how many of its clips turned wrong and
right (a net change hides the churn), and the clips whose settled reading turned right or
wrong are listed.

Prints the markdown, writes ``compare.md`` and ``compare.json`` into ``--out`` (if
given), and exits 0 when no cell drops, 1 when one does, 2 on unreadable input.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

#: The groupings compared, in order: accuracy.json's ``results`` keys and their titles.
GROUPINGS = (("snr", "by SNR"), ("noise_type", "by noise type"), ("snr_noise", "by SNR x noise type"),
             ("hard_case", "by hard case"))
#: What is compared: (name, accuracy key, count key, right-count key or None).
MEASURES = (("per clip", "clip_accuracy", "clips", "clip_right_count"),
            ("per reading", "note_accuracy", "readings", None))
DEFAULT_MAX_DROP = 1.0
#: Rounding slack [points] so that a drop of exactly ``max_drop`` is not flagged.
EPS = 1e-9


class CompareError(Exception):
    """An input that is not an accuracy result (the CLI prints it as one line, exit 2)."""


def load_result(path: str | Path) -> dict[str, Any]:
    """An ``accuracy.json`` as a dict; :class:`CompareError` when it is missing or not one."""
    p = Path(path)
    try:
        r = json.loads(p.read_text())
    except OSError as e:
        raise CompareError(f"{p}: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise CompareError(f"{p}: not JSON ({e})") from None
    if not isinstance(r, dict) or not isinstance(r.get("results"), dict) or not isinstance(r.get("systems"), list):
        raise CompareError(f"{p}: not a cleartune bench accuracy result (no 'results'/'systems')")
    if not isinstance(r["results"].get("snr"), dict):
        raise CompareError(f"{p}: no results by SNR")
    return r


def _acc(stats: dict[str, Any], key: str, count_key: str, right_key: Optional[str]) -> Optional[float]:
    """Accuracy [%] of one cell; from the right count when there is one (exact), else the fraction."""
    n = stats.get(count_key)
    if right_key and stats.get(right_key) is not None and n:
        return 100.0 * stats[right_key] / n
    v = stats.get(key)
    return None if v is None else 100.0 * float(v)


def compare_cells(before: dict[str, Any], after: dict[str, Any], *, max_drop: float = DEFAULT_MAX_DROP
                  ) -> list[dict[str, Any]]:
    """One row per (system, grouping, group, measure) present in both results:
    ``{"system", "by", "group", "measure", "n_before", "n_after", "before", "after", "diff",
    "points_per_unit", "lost", "gained", "drop"}`` (percentages and points; ``diff = after -
    before``; ``lost``/``gained``: clips of a per-clip cell whose settled reading turned wrong /
    right, None per reading or without per-clip records; ``drop``: ``diff < -max_drop``)."""
    systems = [s for s in before["systems"] if s in after["systems"]]
    turned = _turned(before, after, systems)
    rows = []
    for s in systems:
        for by, _title in GROUPINGS:
            bb, ab = before["results"].get(by) or {}, after["results"].get(by) or {}
            groups = [g for g in bb if g in ab] + [g for g in ab if g not in bb]
            for g in groups:
                bs, as_ = (bb.get(g) or {}).get(s), (ab.get(g) or {}).get(s)
                for name, key, count_key, right_key in MEASURES:
                    b = None if bs is None else _acc(bs, key, count_key, right_key)
                    a = None if as_ is None else _acc(as_, key, count_key, right_key)
                    nb = None if bs is None else bs.get(count_key)
                    na = None if as_ is None else as_.get(count_key)
                    diff = None if a is None or b is None else a - b
                    n = na or nb
                    lost, gained = turned.get((s, by, g), (None, None)) if right_key else (None, None)
                    rows.append({"system": s, "by": by, "group": g, "measure": name, "n_before": nb, "n_after": na,
                                 "before": b, "after": a, "diff": diff,
                                 "points_per_unit": (100.0 / n) if n else None, "lost": lost, "gained": gained,
                                 "drop": bool(diff is not None and diff < -max_drop - EPS)})
    return rows


def _turned(before: dict[str, Any], after: dict[str, Any], systems: Sequence[str]) -> dict[tuple, tuple[int, int]]:
    """``{(system, by, group): (lost, gained)}``: clips of the cell whose settled reading turned
    wrong / right (the cell's net change hides how many clips moved); empty without ``per_clip``."""
    from cleartune.bench.accuracy import group_key

    bp = {str(c["id"]): c for c in before.get("per_clip") or []}
    out: dict[tuple, list[int]] = {}
    for c in after.get("per_clip") or []:
        b = bp.get(str(c["id"]))
        if b is None:
            continue
        for s in systems:
            bs, as_ = b.get("systems", {}).get(s), c.get("systems", {}).get(s)
            if not bs or not as_:
                continue
            br, ar = bool(bs["settled"]["right"]), bool(as_["settled"]["right"])
            for by, _title in GROUPINGS:
                for g in (group_key(c, by), "all"):
                    cell = out.setdefault((s, by, g), [0, 0])
                    cell[0] += br and not ar
                    cell[1] += ar and not br
    return {k: (v[0], v[1]) for k, v in out.items()}


def clip_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The clips whose settled reading turned wrong (``"lost"``) or right (``"gained"``), per
    system present in both, from ``per_clip`` (empty when either has none)."""
    bp = {str(c["id"]): c for c in before.get("per_clip") or []}
    ap = {str(c["id"]): c for c in after.get("per_clip") or []}
    out = []
    for s in [s for s in before["systems"] if s in after["systems"]]:
        for cid in [i for i in bp if i in ap]:
            b, a = bp[cid].get("systems", {}).get(s), ap[cid].get("systems", {}).get(s)
            if not b or not a:
                continue
            br, ar = bool(b["settled"]["right"]), bool(a["settled"]["right"])
            if br == ar:
                continue
            c = ap[cid]
            out.append({"system": s, "id": cid, "change": "gained" if ar else "lost", "level": c.get("level"),
                        "noise_type": c.get("noise_type"), "hard_case": c.get("hard_case") or "",
                        "note": c.get("note"), "f0_hz": c.get("f0_hz"),
                        "before": _settled_text(b["settled"]), "after": _settled_text(a["settled"]),
                        "readings_right": [b.get("right"), a.get("right")], "readings": [b.get("n"), a.get("n")]})
    return out


def _settled_text(st: dict[str, Any]) -> str:
    if not st.get("voiced"):
        return "no note"
    from cleartune.edge.notes import midi_to_name

    name = midi_to_name(int(st["note"])) if st.get("note") is not None else "?"
    tag = "right" if st.get("right") else ("octave" if st.get("octave") else ("other instr." if st.get("other")
                                                                               else "wrong"))
    return f"{name} ({tag})"


def _f(v: Optional[float], fmt: str = "{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def _n(r: dict[str, Any]) -> str:
    nb, na = r["n_before"], r["n_after"]
    if nb == na or nb is None or na is None:
        return str(na if na is not None else nb)
    return f"{nb} -> {na}"


def _lg(r: dict[str, Any]) -> str:
    return "-" if r.get("lost") is None else f"{r['lost']} / {r['gained']}"


def _prov(r: dict[str, Any]) -> str:
    p = r.get("provenance") or {}
    git = p.get("git") or {}
    commit = (git.get("commit") or "?")[:10]
    changed = git.get("changed") or []
    dirty = f" (+{len(changed)} uncommitted file(s): {', '.join(changed[:5])})" if changed else ""
    return f"commit `{commit}`{dirty}, {p.get('date_utc', '?')}, `{p.get('command', '?')}`"


def to_markdown(before: dict[str, Any], after: dict[str, Any], rows: Sequence[dict[str, Any]],
                changes: Sequence[dict[str, Any]], *, max_drop: float, names: Sequence[str] = ("before", "after")) -> str:
    drops = [r for r in rows if r["drop"]]
    L = ["# Accuracy before / after", "",
         f"- before: `{names[0]}`: {_prov(before)}", f"- after: `{names[1]}`: {_prov(after)}",
         f"- a cell **drops** when after - before < -{max_drop:g} points; Δ in percentage points; "
         "'1 clip =' is what one clip moves the cell (per clip) and one reading (per reading)", ""]
    bd, ad = before.get("data") or {}, after.get("data") or {}
    bids = [str(c["id"]) for c in before.get("per_clip") or []]
    aids = [str(c["id"]) for c in after.get("per_clip") or []]
    if bd.get("dir") != ad.get("dir") or bids != aids:
        L += [f"**Warning: not the same clips** (before `{bd.get('dir')}` {len(bids)} clips, after "
              f"`{ad.get('dir')}` {len(aids)} clips): differences mix the change with the data.", ""]
    else:
        L += [f"Data: `{ad.get('dir')}`, {ad.get('clips', len(aids))} clips, the same in both.", ""]
    systems = [s for s in before["systems"] if s in after["systems"]]
    only = sorted(set(before["systems"]) ^ set(after["systems"]))
    if only:
        L += [f"In one result only (not compared): {', '.join(only)}.", ""]
    for s in systems:
        for by, title in GROUPINGS:
            rs = [r for r in rows if r["system"] == s and r["by"] == by]
            if not rs:
                continue
            L += [f"## {s}: {title}", "",
                  "| group | clips | 1 clip = | per clip before | after | Δ | clips lost / gained | readings "
                  "| per reading before | after | Δ | |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for g in dict.fromkeys(r["group"] for r in rs):
                c = next(r for r in rs if r["group"] == g and r["measure"] == "per clip")
                d = next(r for r in rs if r["group"] == g and r["measure"] == "per reading")
                flag = " ".join(f"**DROP {m['measure']}**" for m in (c, d) if m["drop"])
                L.append(f"| {g} | {_n(c)} | {_f(c['points_per_unit'], '{:.2f}')} | {_f(c['before'])} | "
                         f"{_f(c['after'])} | {_f(c['diff'], '{:+.1f}')} | {_lg(c)} | {_n(d)} | {_f(d['before'])} | "
                         f"{_f(d['after'])} | {_f(d['diff'], '{:+.2f}')} | {flag} |")
            L.append("")
    if changes:
        L += ["## Clips whose settled reading changed", "",
              "| system | clip | change | SNR | noise | hard case | note | before | after | readings right before -> after |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for c in sorted(changes, key=lambda c: (c["system"], c["change"] != "lost", c["id"])):
            rr, n = c["readings_right"], c["readings"]
            L.append(f"| {c['system']} | {c['id']} | {c['change']} | {c['level']} | {c['noise_type']} | "
                     f"{c['hard_case'] or '-'} | {c['note']} | {c['before']} | {c['after']} | "
                     f"{rr[0]}/{n[0]} -> {rr[1]}/{n[1]} |")
        L.append("")
    elif before.get("per_clip") and after.get("per_clip"):
        L += ["No clip's settled reading changed between right and wrong.", ""]
    if drops:
        L += [f"**Verdict: {len(drops)} cell(s) drop more than {max_drop:g} points:** "
              + "; ".join(f"{r['system']} {r['by']}={r['group']} {r['measure']} {r['diff']:+.2f} "
                          f"({_n(r)} {'clips' if r['measure'] == 'per clip' else 'readings'})" for r in drops) + "."]
    else:
        L += [f"**Verdict: no cell drops more than {max_drop:g} points** ({len(rows)} cells, "
              f"{len(systems)} system(s)); worst "
              + (lambda w: f"{w['system']} {w['by']}={w['group']} {w['measure']} {w['diff']:+.2f}" if w else "-")(
                  min((r for r in rows if r["diff"] is not None), key=lambda r: r["diff"], default=None)) + "."]
    return "\n".join(L) + "\n"


def compare(before_path: str | Path, after_path: str | Path, *, max_drop: float = DEFAULT_MAX_DROP
            ) -> dict[str, Any]:
    """The comparison as a dict: ``rows``, ``changes``, ``drops`` (count), ``markdown``."""
    before, after = load_result(before_path), load_result(after_path)
    if not [s for s in before["systems"] if s in after["systems"]]:
        raise CompareError(f"no system in both results ({', '.join(before['systems'])} vs {', '.join(after['systems'])})")
    rows = compare_cells(before, after, max_drop=max_drop)
    changes = clip_changes(before, after)
    md = to_markdown(before, after, rows, changes, max_drop=max_drop, names=(str(before_path), str(after_path)))
    return {"before": str(before_path), "after": str(after_path), "max_drop": max_drop,
            "before_provenance": before.get("provenance"), "after_provenance": after.get("provenance"),
            "drops": sum(r["drop"] for r in rows), "rows": rows, "changes": changes, "markdown": md}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cleartune.bench.compare_accuracy",
        description="Compare two `cleartune bench accuracy` results (accuracy.json) cell by cell: per clip and per "
                    "reading, by SNR, noise type, SNR x noise type and hard case, for every system in both. "
                    "Exit 1 when a cell drops by more than --max-drop points.")
    p.add_argument("before", metavar="BEFORE.json", help="the result before the change")
    p.add_argument("after", metavar="AFTER.json", help="the result after the change")
    p.add_argument("--max-drop", type=float, default=DEFAULT_MAX_DROP, metavar="POINTS",
                   help=f"largest allowed drop of a cell in percentage points (default {DEFAULT_MAX_DROP:g})")
    p.add_argument("--out", metavar="DIR", help="also write compare.md and compare.json here")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not (math.isfinite(args.max_drop) and args.max_drop >= 0):
        print(f"error: --max-drop must be a number >= 0 (got {args.max_drop})", file=sys.stderr)
        return 2
    try:
        r = compare(args.before, args.after, max_drop=args.max_drop)
    except CompareError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(r["markdown"], end="")
    if args.out:
        from cleartune.bench.results_io import write_result

        Path(args.out).mkdir(parents=True, exist_ok=True)
        paths = write_result({k: v for k, v in r.items() if k != "markdown"}, args.out, stem="compare",
                             markdown=r["markdown"])
        print(f"wrote {paths['md']} and {paths['json']}", file=sys.stderr)
    return 1 if r["drops"] else 0


if __name__ == "__main__":
    sys.exit(main())
