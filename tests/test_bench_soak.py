"""Soak: a 1-minute version of `cleartune bench soak` (generated audio streamed through the
real `cleartune run` loop in a child process), the generator, and a failing child."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cleartune.bench import memory, soak
from cleartune.bench.soak_audio import write_soak_wav
from cleartune.cli import main
from cleartune.edge.audio_io import read_audio
from cleartune.edge.params import EDGE
from cleartune.edge.pitch import PitchParams

TINY_INT8 = Path(__file__).parent / "fixtures" / "models" / "tiny_mask_int8.tflite"


def test_one_minute_soak_through_the_cli(tmp_path, capsys):
    rc = main(["bench", "soak", "--minutes", "1", "--int8-model", str(TINY_INT8), "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    r = json.loads((tmp_path / "soak.json").read_text())
    assert rc == 0, out
    expected = (60 * EDGE.sample_rate // EDGE.hop) // PitchParams().reading_hops
    assert r["expected_readings"] == expected
    assert r["readings"] == expected                       # no dropped windows
    assert r["rc"] == 0 and r["ok"] is True
    assert all(r["checks"].values()), r["checks"]
    assert r["rss"]["growth_mb"] < soak.TARGET_GROWTH_MB
    assert r["rss"]["start_mb"] > 10 and r["rss"]["peak_mb"] >= r["rss"]["start_mb"]
    assert len(r["rss_samples"]) >= 5                      # every 10 s of audio
    assert r["audio"]["seconds"] == 60.0 and r["model"]["file"] == TINY_INT8.name
    assert r["provenance"]["command"].startswith("cleartune bench soak")
    assert "soak PASS" in out and "soak PASS" in (tmp_path / "soak.md").read_text()


def test_generator_is_a_valid_deterministic_wav(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    ga = write_soak_wav(a, seconds=40.0, seed=3)
    write_soak_wav(b, seconds=40.0, seed=3)
    assert a.read_bytes() == b.read_bytes()
    x, sr = read_audio(a)
    assert sr == EDGE.sample_rate and len(x) == ga["samples"] == 40 * EDGE.sample_rate
    assert ga["data_offset"] == 44 and a.stat().st_size == 44 + 2 * ga["samples"]
    ev = ga["events"]
    assert ev["notes"] > 3 and ev["silences"] > 0 and ev["noise_bursts"] > 0
    assert np.max(np.abs(x)) > 0.5                          # loud parts
    assert np.mean(x == 0.0) > 0.005                        # digital silence too


def test_a_failing_loop_is_reported(tmp_path):
    res = memory.run_loop_child(["--input", str(tmp_path / "missing.wav")], interval_s=1.0, timeout_s=60)
    assert res["rc"] == 2 and res["readings"] == 0
    assert any("missing.wav" in line for line in res["stderr_tail"])
    assert res["child"]["rc"] == 2 and res["child"]["heavy_modules"] == []


def test_short_soak_on_stdin_without_denoiser():
    r = soak.run_soak(minutes=0.25, no_denoise=True, feed="stdin", rss_interval_s=2.0)
    assert r["ok"], r["line"]
    assert r["readings"] == r["expected_readings"] == (15 * EDGE.sample_rate // EDGE.hop) // PitchParams().reading_hops
    assert r["model"] is None and "--no-denoise" in r["command"] and "--input -" in r["command"]
