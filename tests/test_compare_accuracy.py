"""bench/compare_accuracy.py: before/after of two accuracy results, cell by cell.

The results are built with the accuracy bench's own pooling (``aggregate``, ``_compact``),
so the format read here is the one ``cleartune bench accuracy`` writes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cleartune.bench.accuracy import _compact, aggregate
from cleartune.bench.compare_accuracy import compare, compare_cells, main

LEVELS = ("clean", "10 dB", "5 dB", "0 dB", "-5 dB")
NOISES = ("harmonic", "environmental", "mixed")
N_READ = 10


def _score(settled_right: bool, n_right: int) -> dict:
    return {"n": N_READ, "right": n_right, "voiced": N_READ, "octave": 0, "other": 0, "cents": [0.1] * n_right,
            "settled": {"f0_hz": 110.0, "note": 45 if settled_right else 57, "voiced": True, "right": settled_right,
                        "octave": not settled_right, "cents": 0.1, "other": False}}


def _clips(per_cell: int = 4) -> list[dict]:
    """Clip specs: per (level, noise type) ``per_cell`` clips, 3 of 4 settled right, 8 of 10 readings right;
    the first clip of each cell is a same_pitch_class hard case."""
    out, k = [], 0
    for lv in LEVELS:
        for nt in (("clean",) if lv == "clean" else NOISES):
            for j in range(per_cell):
                out.append({"id": f"m{k:05d}", "level": lv, "noise_type": nt,
                            "hard_case": "same_pitch_class" if j == 0 else "", "settled_right": j != 1, "n_right": 8})
                k += 1
    return out


def _result(clips: list[dict], *, commit: str = "a" * 40, systems=("tracker",)) -> dict:
    records = [{"id": c["id"], "level": c["level"], "noise_type": c["noise_type"], "hard_case": c["hard_case"],
                "note": "A2", "f0_hz": 110.0, "onset_s": 0.5, "audio_s": 3.0,
                "systems": {s: _score(c["settled_right"], c["n_right"]) for s in systems},
                "seconds": {s: 0.1 for s in systems}} for c in clips]
    results = {by: aggregate(records, list(systems), by=by) for by in ("snr", "noise_type", "snr_noise", "hard_case")}
    return {"title": "t", "provenance": {"date_utc": "2026-12-06T00:00:00+00:00", "command": "cleartune bench accuracy",
                                         "git": {"commit": commit, "changed": []}},
            "data": {"dir": "data/v2_eval", "clips": len(clips)}, "systems": list(systems), "results": results,
            "per_clip": [_compact(r) for r in records]}


def _write(tmp_path, name: str, r: dict) -> str:
    p = tmp_path / name
    p.write_text(json.dumps(r))
    return str(p)


def _pair(tmp_path, before: list[dict], after: list[dict], **kw):
    return _write(tmp_path, "before.json", _result(before, **kw)), _write(tmp_path, "after.json", _result(after, **kw))


def _cell(rows, by, group, measure="per clip", system="tracker"):
    return next(r for r in rows if r["by"] == by and r["group"] == group and r["measure"] == measure
                and r["system"] == system)


def test_identical_results_pass(tmp_path, capsys):
    b, a = _pair(tmp_path, _clips(), _clips())
    assert main([b, a]) == 0
    out = capsys.readouterr().out
    assert "DROP" not in out and "no cell drops more than 1 points" in out


def test_a_lost_clip_is_a_drop_with_its_sign_and_size(tmp_path, capsys):
    before, after = _clips(), _clips()
    lost = next(c for c in after if c["level"] == "0 dB" and c["noise_type"] == "harmonic" and c["settled_right"])
    lost["settled_right"] = False
    b, a = _pair(tmp_path, before, after)
    r = compare(b, a)
    c = _cell(r["rows"], "snr_noise", "harmonic @ 0 dB")
    assert c["before"] == pytest.approx(75.0) and c["after"] == pytest.approx(50.0)
    assert c["diff"] == pytest.approx(-25.0) and c["drop"] and (c["lost"], c["gained"]) == (1, 0)
    snr = _cell(r["rows"], "snr", "0 dB")  # 12 clips: one clip is 8.33 points
    assert snr["diff"] == pytest.approx(-100 / 12) and snr["drop"] and snr["n_after"] == 12
    assert not _cell(r["rows"], "snr", "10 dB")["drop"]
    assert main([b, a]) == 1
    out = capsys.readouterr().out
    assert "**DROP per clip**" in out and "Verdict:" in out
    assert [ch["id"] for ch in r["changes"]] == [lost["id"]] and r["changes"][0]["change"] == "lost"


def test_an_improvement_is_not_a_drop(tmp_path):
    before, after = _clips(), _clips()
    for c in after:
        c["settled_right"], c["n_right"] = True, 10
    b, a = _pair(tmp_path, before, after)
    r = compare(b, a)
    assert r["drops"] == 0 and _cell(r["rows"], "snr", "all")["diff"] == pytest.approx(25.0)
    assert {ch["change"] for ch in r["changes"]} == {"gained"}
    assert main([b, a]) == 0


def test_the_limit_is_respected(tmp_path):
    """One clip of 100 lost in the 'clean' cell (not a hard case): exactly 1 point (not a drop at
    --max-drop 1); two clips: 2 points (a drop at 1, not at 2)."""
    before = _clips(per_cell=100)
    one, two = _clips(per_cell=100), _clips(per_cell=100)
    right = [i for i, c in enumerate(before) if c["level"] == "clean" and c["settled_right"] and not c["hard_case"]]
    one[right[0]]["settled_right"] = False
    two[right[0]]["settled_right"] = two[right[1]]["settled_right"] = False
    b = _write(tmp_path, "b.json", _result(before))
    a1, a2 = _write(tmp_path, "a1.json", _result(one)), _write(tmp_path, "a2.json", _result(two))
    c1 = _cell(compare(b, a1)["rows"], "snr", "clean")
    assert c1["diff"] == pytest.approx(-1.0) and not c1["drop"]
    assert main([b, a1]) == 0
    assert main([b, a2]) == 1
    assert main([b, a2, "--max-drop", "2"]) == 0
    assert main([b, a2, "--max-drop", "0.5"]) == 1


def test_a_per_reading_drop_alone_is_flagged(tmp_path, capsys):
    before, after = _clips(), _clips()
    for c in after:
        if c["level"] == "-5 dB" and c["noise_type"] == "mixed":
            c["n_right"] = 6  # 80 % -> 60 % of readings, settled readings unchanged
    b, a = _pair(tmp_path, before, after)
    r = compare(b, a)
    assert not _cell(r["rows"], "snr_noise", "mixed @ -5 dB")["drop"]
    pr = _cell(r["rows"], "snr_noise", "mixed @ -5 dB", "per reading")
    assert pr["diff"] == pytest.approx(-20.0) and pr["drop"] and pr["n_after"] == 4 * N_READ
    assert main([b, a]) == 1
    assert "**DROP per reading**" in capsys.readouterr().out


def test_every_grouping_is_compared(tmp_path):
    """A loss spread so that each SNR keeps its count but one noise type / hard case loses."""
    before, after = _clips(), _clips()
    for c in after:  # every harmonic same_pitch_class clip goes wrong, every mixed wrong one goes right
        if c["noise_type"] == "harmonic" and c["hard_case"]:
            c["settled_right"] = False
        if c["noise_type"] == "mixed" and not c["settled_right"]:
            c["settled_right"] = True
    b, a = _pair(tmp_path, before, after)
    rows = compare(b, a)["rows"]
    assert all(not _cell(rows, "snr", lv)["drop"] for lv in LEVELS)
    assert _cell(rows, "noise_type", "harmonic")["drop"]
    assert _cell(rows, "hard_case", "same_pitch_class")["drop"]
    assert _cell(rows, "snr_noise", "harmonic @ 5 dB")["drop"]
    assert main([b, a]) == 1


def test_clip_counts_and_points_per_clip_are_stated(tmp_path, capsys):
    clips = _clips(per_cell=27)
    b, a = _pair(tmp_path, clips, clips)
    rows = compare(b, a)["rows"]
    c = _cell(rows, "snr_noise", "harmonic @ 0 dB")
    assert c["n_before"] == c["n_after"] == 27 and c["points_per_unit"] == pytest.approx(100 / 27)
    main([b, a])
    out = capsys.readouterr().out
    assert "| harmonic @ 0 dB | 27 | 3.70 |" in out
    assert "Data: `data/v2_eval`, " in out


def test_only_systems_in_both_are_compared(tmp_path, capsys):
    b = _write(tmp_path, "b.json", _result(_clips(), systems=("tracker", "harmonic_sum")))
    a = _write(tmp_path, "a.json", _result(_clips(), systems=("tracker",)))
    rows = compare_cells(json.loads(open(b).read()), json.loads(open(a).read()))
    assert {r["system"] for r in rows} == {"tracker"}
    assert main([b, a]) == 0
    assert "In one result only (not compared): harmonic_sum" in capsys.readouterr().out


def test_out_writes_markdown_and_json(tmp_path):
    before, after = _clips(), _clips()
    after[0]["settled_right"] = not after[0]["settled_right"]
    b, a = _pair(tmp_path, before, after)
    out = tmp_path / "cmp"
    rc = main([b, a, "--out", str(out)])
    saved = json.loads((out / "compare.json").read_text())
    assert rc == (1 if saved["drops"] else 0)
    assert saved["before_provenance"]["git"]["commit"] == "a" * 40
    assert (out / "compare.md").read_text().startswith("# Accuracy before / after")


@pytest.mark.parametrize("content", ["not json", json.dumps({"a": 1}), None])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, content):
    good = _write(tmp_path, "good.json", _result(_clips()))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main([str(bad), good]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


def test_help_runs_as_a_module():
    r = subprocess.run([sys.executable, "-m", "cleartune.bench.compare_accuracy", "--help"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "--max-drop" in r.stdout and "BEFORE.json" in r.stdout


def test_churn_is_counted_where_the_net_change_hides_it(tmp_path, capsys):
    """One clip of a cell turns wrong and another right: no net change, 1 lost / 1 gained."""
    before, after = _clips(), _clips()
    cell = [c for c in after if c["level"] == "5 dB" and c["noise_type"] == "environmental"]
    wrong = next(c for c in cell if not c["settled_right"])
    right = next(c for c in cell if c["settled_right"] and not c["hard_case"])
    wrong["settled_right"], right["settled_right"] = True, False
    b, a = _pair(tmp_path, before, after)
    rows = compare(b, a)["rows"]
    c = _cell(rows, "snr_noise", "environmental @ 5 dB")
    assert c["diff"] == pytest.approx(0.0) and (c["lost"], c["gained"]) == (1, 1) and not c["drop"]
    assert (_cell(rows, "snr", "10 dB")["lost"], _cell(rows, "snr", "10 dB")["gained"]) == (0, 0)
    assert _cell(rows, "snr", "5 dB", "per reading")["lost"] is None
    main([b, a])
    assert "| environmental @ 5 dB | 4 | 25.00 | 75.0 | 75.0 | +0.0 | 1 / 1 |" in capsys.readouterr().out

