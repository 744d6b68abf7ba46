"""Accuracy benchmark: the scoring rule on hand-made tracks, and a run on a tiny dataset
folder of synthetic notes (clean and at 0 dB) with every system, files, resume."""
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


def test_scoring_rule():
    f = 110.0
    t = np.array([0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9])
    f0 = np.array([f, f, np.nan, f * 2 ** (3 / 1200), 2 * f, f * 2 ** (100 / 1200), f * 2 ** (-4 / 1200)])
    s = A.score_clip(t, f0, true_f0=f, onset_s=0.2)
    # scored: t >= 0.35 -> 5 readings; right: 0.6 (+3 c) and 0.9 (-4 c); 0.5 has no note (wrong);
    # 0.7 an octave up (octave error); 0.8 a semitone up (wrong note)
    assert s["n"] == 5 and s["right"] == 2 and s["voiced"] == 4 and s["octave"] == 1
    assert sorted(s["cents"]) == pytest.approx([-4.0, 3.0], abs=1e-3)
    # a negative onset (the clip starts after the pluck) scores from settle_s after the clip start
    s2 = A.score_clip(t, f0, true_f0=f, onset_s=-1.0)
    assert s2["n"] == 6


def test_aggregate_pools_readings_per_level():
    recs = [{"level": "clean", "seconds": {"x": 1.0},
             "systems": {"x": {"n": 10, "right": 9, "voiced": 10, "octave": 1, "cents": [1.0, -2.0]}}},
            {"level": "clean", "seconds": {"x": 3.0}, "systems": {"x": {"n": 10, "right": 5, "voiced": 6, "octave": 0, "cents": [4.0]}}},
            {"level": "-5 dB", "seconds": {"x": 2.0}, "systems": {"x": {"n": 4, "right": 0, "voiced": 0, "octave": 0, "cents": []}}}]
    a = A.aggregate(recs, ["x"])
    assert a["levels"] == ["clean", "-5 dB"]
    c = a["by_level"]["clean"]["x"]
    assert c["note_accuracy"] == pytest.approx(14 / 20) and c["voiced"] == pytest.approx(16 / 20)
    assert c["wrong_note"] == pytest.approx(2 / 20) and c["octave_errors"] == pytest.approx(1 / 20)
    assert c["median_abs_cents"] == pytest.approx(2.0) and c["mean_s_per_clip"] == pytest.approx(2.0)
    assert a["by_level"]["-5 dB"]["x"]["median_abs_cents"] is None
    assert a["overall"]["x"]["note_accuracy"] == pytest.approx(14 / 24) and a["overall"]["x"]["readings"] == 24


def _tiny_dataset(root: Path) -> Path:
    """4 mixes: two notes, each clean and at 0 dB in pink noise, 1.6 s, in the dataset folder format."""
    sr, n = EDGE.sample_rate, int(1.6 * EDGE.sample_rate)
    rows = []
    for i, (midi, snr) in enumerate([(45, math.inf), (57, math.inf), (45, 0.0), (64, 0.0)]):
        tone = synth.plucked_string(synth.detuned_hz(midi, 12.0), duration=1.6, onset_s=0.2, seed=i)
        noise = synth.pink_noise(1.6, seed=10 + i)
        noise = np.zeros(n, np.float32) if snr == math.inf else \
            (synth.mix_at_snr(tone.audio, noise, snr) - tone.audio).astype(np.float32)
        mix = (tone.audio + noise).astype(np.float32)
        rid = f"m{i:05d}"
        for sub, x in (("mixes", mix), ("clean", tone.audio), ("noise", noise)):
            write_wav(root / sub / f"{rid}.wav", x, sr)
        rows.append({"id": rid, "split": "test", "mix_path": f"mixes/{rid}.wav", "clean_path": f"clean/{rid}.wav",
                     "noise_path": f"noise/{rid}.wav", "midi": midi, "note": "", "f0_hz": repr(tone.f1_hz), "onset_s": "0.2",
                     "snr_db": "inf" if snr == math.inf else repr(snr), "sample_rate": sr, "clip_samples": n})
    with open(root / "metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _tiny_dataset(tmp_path_factory.mktemp("holdout"))


def test_run_on_a_tiny_dataset(dataset, tmp_path):
    logs: list[str] = []
    r = A.evaluate_dataset(dataset, float_model=TINY_F, int8_model=TINY_Q, max_clips=0, partial_dir=tmp_path,
                           command="test", log=logs.append)
    res = r["results"]
    assert r["systems"] == list(A.SYSTEMS) and r["data"]["clips"] == 4
    assert res["levels"] == ["clean", "0 dB"] and res["clips_per_level"] == {"0 dB": 2, "clean": 2}
    for s in A.SYSTEMS:
        o = res["overall"][s]
        assert o["clips"] == 4 and o["readings"] > 40, s
        assert 0.0 <= o["note_accuracy"] <= 1.0
    # clean plucked notes: our tracker names them and is within a few cents
    clean = res["by_level"]["clean"]["tracker"]
    assert clean["note_accuracy"] >= 0.9 and clean["median_abs_cents"] < 3.0
    assert (tmp_path / A.PARTIAL_NAME).is_file()
    # resume: everything comes from the partial file, same numbers
    logs.clear()
    r2 = A.evaluate_dataset(dataset, float_model=TINY_F, int8_model=TINY_Q, max_clips=0, partial_dir=tmp_path,
                            command="test", log=logs.append)
    assert any("resuming, 4 of 4" in m for m in logs)
    assert r2["results"] == res
    # other settings: no resume
    logs.clear()
    A.evaluate_dataset(dataset, float_model=None, int8_model=None, systems=("tracker",), max_clips=2,
                       partial_dir=tmp_path, log=logs.append)
    assert not any("resuming" in m for m in logs)
    paths = A.write_accuracy(r, tmp_path)
    assert set(paths) == {"md", "json", "png"} and paths["png"].stat().st_size > 1000
    assert not (tmp_path / A.PARTIAL_NAME).exists()
    md = paths["md"].read_text()
    for text in ("Note accuracy [%] by SNR", "no note = wrong", "harmonic_sum", "pyin", "## Provenance", "accuracy.png"):
        assert text in md, text
    j = json.loads(paths["json"].read_text())
    assert j["rule"]["settle_s"] == A.SETTLE_S and len(j["per_clip"]) == 4


def test_systems_without_models_are_skipped(dataset):
    r = A.evaluate_dataset(dataset, float_model=None, int8_model=TINY_Q, systems=("tracker+float", "tracker+int8"),
                           max_clips=1)
    assert r["systems"] == ["tracker+int8"] and r["skipped_systems"] == ["tracker+float"]
    with pytest.raises(ValueError, match="unknown system"):
        A.make_systems(["yin"], float_model=None, int8_model=None)
