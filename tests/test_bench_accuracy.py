"""Accuracy benchmark (the leave-source-out evaluation): per-clip settled reading, octave and
other-instrument counting, grouping by noise type and hard case on hand-made tracks, and a
run on a tiny dataset folder of synthetic notes with files, resume and missing columns."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from cleartune.bench import accuracy as A
from cleartune.edge.audio_io import write_wav
from cleartune.edge.params import EDGE
from cleartune.train import synth

MODELS = Path(__file__).parent / "fixtures" / "models"
TINY_F, TINY_Q = MODELS / "tiny_mask_float32.tflite", MODELS / "tiny_mask_int8.tflite"


def _track(pattern: list[tuple[float, float, float]], *, step: float = 0.0464, end: float = 3.0):
    """Reading times every ``step`` s to ``end`` and f0 per reading: ``pattern`` = [(from_s,
    to_s, f0)] (nan = no note), later entries win."""
    t = np.arange(1, int(end / step)) * step
    f0 = np.full(len(t), np.nan)
    for a, b, f in pattern:
        f0[(t >= a) & (t < b)] = f
    return t, f0


def test_per_clip_is_the_settled_reading():
    f = 110.0
    onset = 0.3
    # right from the pluck to 1.0 s after it, then another instrument's note (E3 = 52) to the end
    t, f0 = _track([(0.0, 3.0, f * 2 ** (7 / 12)), (onset, onset + 1.0, f)])
    sc = A.score_clip(t, f0, true_f0=f, onset_s=onset, other_midi=52)
    n = int(np.sum(t >= onset + 0.15))
    assert sc["n"] == n and 0 < sc["right"] < n / 2                         # per reading: mostly wrong
    assert sc["other"] == n - sc["right"] and sc["octave"] == 0             # ... all of it the other note
    assert sc["settled"]["right"] and sc["settled"]["note"] == 45            # per clip: right (needle 0.4-1.6 s)
    # the other note takes over 0.8 s after the pluck: the median of 0.4-1.6 s is the other note
    t, f0 = _track([(0.0, 3.0, f * 2 ** (7 / 12)), (onset, onset + 0.8, f)])
    sc = A.score_clip(t, f0, true_f0=f, onset_s=onset, other_midi=52)
    assert not sc["settled"]["right"] and sc["settled"]["other"] and sc["settled"]["note"] == 52


def test_octave_errors_are_counted_not_as_the_other_instrument():
    f = 110.0
    t, f0 = _track([(0.0, 3.0, 2 * f)])                                     # the held note an octave up wins
    sc = A.score_clip(t, f0, true_f0=f, onset_s=0.2, other_midi=57)
    assert sc["settled"]["octave"] and not sc["settled"]["other"] and not sc["settled"]["right"]
    assert sc["octave"] == sc["n"] and sc["other"] == 0
    recs = [_rec("a", "harmonic", "same_pitch_class", sc), _rec("b", "harmonic", "same_pitch_class", _right(f)),
            _rec("c", "environmental", "", _right(f))]
    hc = A.aggregate(recs, ["x"], by="hard_case")
    assert list(hc) == ["same_pitch_class", "none", "all"]
    assert hc["same_pitch_class"]["x"]["clip_octave_count"] == 1 and hc["same_pitch_class"]["x"]["clip_accuracy"] == 0.5
    assert hc["none"]["x"]["clip_octave_count"] == 0
    r = {"systems": ["tracker"], "results": {
        "snr": A.aggregate(_as("tracker", recs), ["tracker"], by="snr"),
        "snr_noise": A.aggregate(_as("tracker", recs), ["tracker"], by="snr_noise"),
        "hard_case": A.aggregate(_as("tracker", recs), ["tracker"], by="hard_case")}}
    tg = {t["target"]: t for t in A.evaluate_targets(r)}
    assert tg["octave errors on same_pitch_class (clips)"]["value"] == 1
    assert tg["octave errors on same_pitch_class (clips)"]["status"] == "fail"
    assert tg["held A (tuning_a)"]["status"] == "n/a" and tg["harmonic noise at 0 dB"]["value"] == 50.0


def _right(f: float) -> dict:
    t, f0 = _track([(0.0, 3.0, f)])
    return A.score_clip(t, f0, true_f0=f, onset_s=0.2)


def _rec(rid: str, noise_type, hard_case, sc: dict, level: str = "0 dB") -> dict:
    r = {"id": rid, "level": level, "audio_s": 3.0, "systems": {"x": sc}, "seconds": {"x": 0.1}}
    if noise_type is not None:
        r["noise_type"] = noise_type
    if hard_case is not None:
        r["hard_case"] = hard_case
    return r


def _as(name: str, recs: list) -> list:
    return [{**r, "systems": {name: r["systems"]["x"]}, "seconds": {name: r["seconds"]["x"]}} for r in recs]


def test_grouping_by_noise_type_and_snr():
    f = 220.0
    t, wrong = _track([(0.0, 3.0, f * 2 ** (5 / 12))])
    bad = A.score_clip(t, wrong, true_f0=f, onset_s=0.2)
    # right only while the needle is read (0.4-1.6 s after the pluck), wrong for most readings: right per clip
    t, late = _track([(0.0, 3.0, f * 2 ** (5 / 12)), (0.55, 1.6, f)])
    needle = A.score_clip(t, late, true_f0=f, onset_s=0.2)
    assert needle["right"] < needle["n"] / 2 and needle["settled"]["right"]
    recs = [_rec("1", "harmonic", "", bad), _rec("2", "harmonic", "", _right(f)), _rec("3", "mixed", "", bad),
            _rec("7", "harmonic", "", needle),
            _rec("4", "environmental", "", _right(f)), _rec("5", "clean", "", _right(f), level="clean"),
            _rec("6", "environmental", "", _right(f), level="-5 dB")]
    nt = A.aggregate(recs, ["x"], by="noise_type")
    assert list(nt) == ["clean", "harmonic", "environmental", "mixed", "all"]
    assert [nt[k]["x"]["clip_accuracy"] for k in nt] == [1.0, pytest.approx(2 / 3), 1.0, 0.0, 5 / 7]
    assert nt["harmonic"]["x"]["clips"] == 3 and nt["harmonic"]["x"]["clip_wrong_other"] == pytest.approx(1 / 3)
    assert nt["harmonic"]["x"]["note_accuracy"] < 0.5                      # per reading tells another story
    sn = A.aggregate(recs, ["x"], by="snr_noise")
    assert sn["harmonic @ 0 dB"]["x"]["clip_accuracy"] == pytest.approx(2 / 3)
    assert sn["environmental @ -5 dB"]["x"]["clips"] == 1
    assert list(A.aggregate(recs, ["x"], by="snr")) == ["clean", "0 dB", "-5 dB", "all"]
    # a dataset without the column: one group, "all"
    plain = [_rec(r["id"], None, None, r["systems"]["x"], level=r["level"]) for r in recs]
    assert list(A.aggregate(plain, ["x"], by="noise_type")) == ["all"]
    assert A.aggregate(plain, ["x"], by="noise_type")["all"]["x"]["clips"] == 7


#: The tiny set: (guitar MIDI, SNR, noise type, hard case, the other instrument's MIDI or None).
TINY = [(45, math.inf, "clean", "", None), (57, math.inf, "clean", "", None), (45, 0.0, "environmental", "", None),
        (64, 0.0, "harmonic", "", 59), (50, 0.0, "harmonic", "same_pitch_class", 62), (52, 0.0, "mixed", "", 47)]


def _tiny_dataset(root: Path) -> Path:
    """6 mixes of 1.6 s in the dataset folder format with the v2 columns: plucked notes clean,
    in pink noise (environmental), under another held note (harmonic; one an octave up of the
    guitar's pitch class: same_pitch_class), and both (mixed)."""
    sr, n = EDGE.sample_rate, int(1.6 * EDGE.sample_rate)
    rows = []
    for i, (midi, snr, kind, hard, other) in enumerate(TINY):
        tone = synth.plucked_string(synth.detuned_hz(midi, 12.0), duration=1.6, onset_s=0.2, seed=i)
        noise = np.zeros(n, np.float32)
        if kind in ("environmental", "mixed"):
            noise = noise + synth.pink_noise(1.6, seed=10 + i)[:n]
        if kind in ("harmonic", "mixed"):
            noise = noise + synth.plucked_string(synth.detuned_hz(other, 0.0), duration=1.6, onset_s=0.0,
                                                 seed=20 + i).audio[:n]
        if snr != math.inf:
            noise = (synth.mix_at_snr(tone.audio, noise, snr) - tone.audio).astype(np.float32)
        mix = (tone.audio + noise).astype(np.float32)
        rid = f"m{i:05d}"
        for sub, x in (("mixes", mix), ("clean", tone.audio), ("noise", noise)):
            write_wav(root / sub / f"{rid}.wav", x, sr)
        rows.append({"id": rid, "split": "test", "mix_path": f"mixes/{rid}.wav", "clean_path": f"clean/{rid}.wav",
                     "noise_path": f"noise/{rid}.wav", "midi": midi, "note": "", "f0_hz": repr(tone.f1_hz), "onset_s": "0.2",
                     "snr_db": "inf" if snr == math.inf else repr(snr), "sample_rate": sr, "clip_samples": n,
                     "noise_type": kind, "hard_case": hard, "harmonic_midi": "" if other is None else other})
    _write_meta(root, rows)
    # the same clips without the v2 columns (an older dataset folder)
    old = root / "old"
    old.mkdir()
    for sub in ("mixes", "clean", "noise"):
        (old / sub).symlink_to(root / sub)
    _write_meta(old, [{k: v for k, v in r.items() if k not in ("noise_type", "hard_case", "harmonic_midi")} for r in rows])
    return root


def _write_meta(root: Path, rows: list) -> None:
    with open(root / "metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _tiny_dataset(tmp_path_factory.mktemp("v2_eval"))


def test_run_on_a_tiny_dataset(dataset, tmp_path):
    logs: list[str] = []
    kw = dict(mask_model=TINY_Q, model=TINY_Q, max_clips=0, partial_dir=tmp_path, command="test", log=logs.append)
    r = A.evaluate_dataset(dataset, **kw)
    res = r["results"]
    assert r["systems"] == list(A.DEFAULT_SYSTEMS) and r["data"]["clips"] == 6 and not r["data"]["missing_columns"]
    assert not any("column" in m for m in logs)
    assert list(res["snr"]) == ["clean", "0 dB", "all"]
    assert list(res["noise_type"]) == ["clean", "harmonic", "environmental", "mixed", "all"]
    assert list(res["hard_case"]) == ["same_pitch_class", "none", "all"]
    assert res["noise_type"]["harmonic"]["tracker"]["clips"] == 2 and res["snr_noise"]["harmonic @ 0 dB"]["tracker"]["clips"] == 2
    for s in A.DEFAULT_SYSTEMS:
        o = res["snr"]["all"][s]
        assert o["clips"] == 6 and o["readings"] > 60, s
        assert 0.0 <= o["clip_accuracy"] <= 1.0 and 0.0 <= o["note_accuracy"] <= 1.0
    # clean plucked notes: the tracker and the reference name them, the tracker within a few cents
    for s in ("tracker", "harmonic_sum"):
        assert res["snr"]["clean"][s]["clip_accuracy"] == 1.0, s
    assert res["snr"]["clean"]["tracker"]["median_abs_cents"] < 3.0
    # the mask's cost per second of audio, from its sidecar: MACs per hop x 86.1 hops per second
    m = r["models"]["tracker+mask"]
    assert m["runs"] == "every hop" and m["gmacs_per_second"] == pytest.approx(m["macs_per_call"] * 22050 / 256 / 1e9)
    assert {t["system"] for t in r["targets"]} == {"tracker", "tracker+mask", "tracker+model"}
    assert (tmp_path / A.PARTIAL_NAME).is_file()
    # resume: everything comes from the partial file, same numbers
    logs.clear()
    r2 = A.evaluate_dataset(dataset, **kw)
    assert any("resuming, 6 of 6" in m for m in logs)
    assert r2["results"] == res
    paths = A.write_accuracy(r, tmp_path)
    assert set(paths) == {"md", "json", "png"} and paths["png"].stat().st_size > 1000
    assert not (tmp_path / A.PARTIAL_NAME).exists()
    md = paths["md"].read_text()
    for text in ("Right note per clip [%] (the settled reading) by SNR", "by noise type", "Hard cases", "no note = wrong",
                 "harmonic_sum", "octave", "not established", "G MAC per second", "## Provenance", "accuracy.png"):
        assert text in md, text
    j = json.loads(paths["json"].read_text())
    assert j["rule"]["settle_s"] == 0.15 and j["rule"]["settled_window_s"] == [0.4, 1.6] and len(j["per_clip"]) == 6
    assert j["per_clip"][0]["noise_type"] == "clean" and "settled" in j["per_clip"][0]["systems"]["tracker"]


def test_missing_columns_are_said_and_grouped_as_all(dataset, tmp_path):
    logs: list[str] = []
    r = A.evaluate_dataset(dataset / "old", mask_model=None, systems=("tracker",), max_clips=3, log=logs.append)
    assert r["data"]["missing_columns"] == ["noise_type", "hard_case"]
    assert sum("no 'noise_type' column" in m or "no 'hard_case' column" in m for m in logs) == 2
    assert list(r["results"]["noise_type"]) == ["all"] and r["results"]["noise_type"]["all"]["tracker"]["clips"] == 3
    assert "no `noise_type` column" in A.to_markdown(r)


def test_systems_without_models_are_skipped(dataset):
    r = A.evaluate_dataset(dataset, mask_model=TINY_Q, model=None, systems=("tracker+mask", "tracker+model"),
                           max_clips=1)
    assert r["systems"] == ["tracker+mask"] and r["skipped_systems"] == ["tracker+model"]
    with pytest.raises(ValueError, match="unknown system"):
        A.evaluate_dataset(dataset, systems=("yin",), max_clips=1)
