"""Memory benchmark: RSS of `cleartune run --input FILE` in a child process, sampled over
processed audio; /proc parsing; the growth figures."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cleartune.bench import memory as M

TINY_INT8 = Path(__file__).parent / "fixtures" / "models" / "tiny_mask_int8.tflite"


def test_proc_status_of_this_process():
    st = M.proc_status_kb()
    assert st["VmRSS"] > 1000 and st["VmHWM"] >= st["VmRSS"]
    assert M.rss_mb() == pytest.approx(M.proc_status_kb()["VmRSS"] / 1024, rel=0.2)
    assert M.proc_status_kb(2 ** 22 + 12345) == {} and M.rss_mb(2 ** 22 + 12345) is None


def test_rss_figures():
    samples = [[2.0, 0.1, 50.0], [4.0, 0.2, 80.0], [12.0, 0.3, 81.0], [14.0, 0.4, 81.5], [16.0, 0.5, 82.0]]
    f = M.rss_figures(samples, baseline_after_s=10.0)
    assert f["start_mb"] == 81.0 and f["end_mb"] == 82.0 and f["growth_mb"] == pytest.approx(1.0)
    assert f["peak_mb"] == 82.0 and f["min_mb"] == 50.0 and f["baseline_at_s"] == 12.0
    assert f["slope_mb_per_hour"] == pytest.approx(0.25 * 3600, rel=1e-6)
    assert M.rss_figures([])["growth_mb"] is None


def test_memory_of_the_run_loop(tmp_path):
    r = M.measure_memory(model=TINY_INT8, seconds=20.0, interval_s=1.0, command="test")
    c, rs = r["child"], r["rss"]
    assert c["rc"] == 0 and c["readings"] == c["expected_readings"] > 0
    assert c["heavy_modules_imported"] == [] and c["tf_libraries_mapped"] == []
    assert c["command"].startswith("cleartune run --input ") and "--model" in c["command"]
    assert rs["samples"] >= 18 and len(r["samples"]) == rs["samples"]          # one per second of audio
    assert [s["audio_s"] for s in r["samples"]] == sorted(s["audio_s"] for s in r["samples"])
    assert 10.0 < rs["start_mb"] <= rs["peak_mb"] <= rs["vmhwm_mb"] + 0.5
    assert abs(rs["growth_mb"]) < M.TARGET_GROWTH_MB
    assert {t["status"] for t in r["targets"]} <= {"pass", "fail"} and r["targets"][2]["status"] == "pass"
    assert r["targets"][3]["status"] == "pass"
    paths = M.write_memory(r, tmp_path)
    j = json.loads(paths["json"].read_text())
    assert j["samples"] == r["samples"] and "VmHWM" in paths["md"].read_text()
