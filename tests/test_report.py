"""The float-vs-int8 report: every field on a tiny model and dataset, no TensorFlow import,
one-line errors for bad inputs."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cleartune.edge.errors import ModelLoadError, ParamsMismatchError
from cleartune.edge.model_meta import sidecar_path
from cleartune.quantize import report as R
from cleartune.quantize import testing as T

# slow under load (a shared 2-core machine took up to ~105 s for one test here); a hang still fails
pytestmark = pytest.mark.timeout(600)


def _cli(*args):
    """Run ``cleartune ARGS`` in a fresh interpreter; stdout ends with whether TF got imported."""
    code = ("import sys\nfrom cleartune.cli import main\nrc = main(sys.argv[1:])\n"
            "print('TF_IMPORTED' if 'tensorflow' in sys.modules else 'NO_TF')\nsys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def edge_set(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return T.build_tiny_edge_set(tmp_path_factory.mktemp("redge"), variants=("int8", "float32"))


@pytest.fixture(scope="module")
def report_run(edge_set, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    r = _cli("report", "--float", str(edge_set["float32"]), "--int8", str(edge_set["int8"]), "--data",
             str(edge_set["data"]), "--out", str(out), "--windows", "200", "--threads", "1,4", "--quiet")
    return r, out


@pytest.mark.tf
def test_report_writes_every_field_without_tensorflow(report_run):
    r, out = report_run
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "NO_TF"
    md, js, png = out / "tiny_report.md", out / "tiny_report.json", out / "tiny_report.png"
    assert md.is_file() and js.is_file() and png.is_file() and png.stat().st_size > 1000
    rep = json.loads(js.read_text())
    # provenance
    for k in ("date_utc", "command", "machine", "cpu", "cpu_count", "python", "packages"):
        assert rep["provenance"][k] not in (None, "")
    assert "report" in rep["provenance"]["command"]
    # latency: both models at 1 and 4 threads, >= 200 windows each, interleaved
    lat = rep["latency"]
    assert lat["interleaved"] is True and lat["windows"] == 200 and lat["threads"] == [1, 4]
    assert set(lat["results"]) == {"float@1t", "float@4t", "int8@1t", "int8@4t"}
    for v in lat["results"].values():
        assert v["n"] == 200
        assert 0 < v["min_ms"] <= v["median_ms"] <= v["p95_ms"]
    # size and MACs
    for lab in ("float", "int8"):
        m = rep["models"][lab]
        assert m["bytes"] > 0 and m["macs_per_window"] == 266_240 and m["params"] > 0
    assert rep["models"]["int8"]["input"]["dtype"] == "int8"
    # accuracy per SNR bucket: the tiny dataset has one test clip in each bucket
    assert list(rep["accuracy"]["buckets"]) == ["clean", "20 dB", "10 dB", "5 dB", "0 dB", "-5 dB"]   # measures.snr_bucket
    keys = ("clips", "output_mse_int8_vs_float", "feature_mse_int8_vs_float", "feature_mse_float_vs_clean",
            "feature_mse_int8_vs_clean", "feature_mse_noisy_vs_clean", "si_sdr_float_db", "si_sdr_int8_db",
            "si_sdr_drop_db")
    for b, s in list(rep["accuracy"]["buckets"].items()) + [("all", rep["accuracy"]["overall"])]:
        for k in keys:
            assert isinstance(s[k], (int, float)), (b, k, s[k])
    ov = rep["accuracy"]["overall"]
    assert ov["clips"] == 6
    # int8 is close to float: its feature error is far below the denoiser's own error
    assert ov["feature_mse_int8_vs_float"] < 0.01 * ov["feature_mse_float_vs_clean"]
    assert abs(ov["si_sdr_drop_db"]) < 0.5
    assert rep["accuracy"]["buckets"]["clean"]["si_sdr_noisy_db"] is None  # mix == clean: not meaningful
    if rep["denoising_path"].startswith("streaming"):   # the product path equals the offline computation
        assert ov["streaming_vs_offline_max_abs"] < 1e-5
    # the tuner section is always there (the tracker is part of the package)
    assert rep["accuracy"]["tuner"] is True and rep["accuracy"]["settle_s"] == 0.15
    for k in ("note_acc_float_pct", "note_acc_int8_pct", "cents_median_float", "cents_median_int8",
              "cents_p95_float", "cents_p95_int8", "note_acc_drop_points", "cents_median_change"):
        assert k in ov
    # targets with status
    assert [t["status"] in ("pass", "fail", "n/a") for t in rep["targets"]] == [True] * 4
    assert rep["targets"][0]["status"] == "pass"
    assert rep["targets"][3]["value"] == pytest.approx(lat["results"]["int8@1t"]["median_ms"]
                                                       / lat["results"]["float@1t"]["median_ms"])
    assert len(rep["per_clip"]) == 6
    text = md.read_text()
    for needle in ("## Targets", "## Latency per window", "## Accuracy by input SNR", "## Provenance", "tiny_report.png",
                   "int8 | 1 |", "float | 4 |"):
        assert needle in text
    # pass/fail lines on stderr, one per target
    assert sum(ln.split()[0] in ("PASS", "FAIL", "N/A") for ln in r.stderr.splitlines() if ln.strip()) == 4


@pytest.mark.tf
def test_report_refuses_mismatched_models(edge_set, tmp_path):
    flt, q = edge_set["float32"], edge_set["int8"]
    # swapped: the int8 slot gets a float model
    with pytest.raises(ModelLoadError, match="not int8"):
        R.check_pair(R.load_variant(q, label="float"), R.load_variant(flt, label="int8"))
    # different signal params in one sidecar
    q2 = tmp_path / q.name
    shutil.copy(q, q2)
    side = json.loads(sidecar_path(q).read_text())
    side["signal_params"]["n_fft"] = 2048
    sidecar_path(q2).write_text(json.dumps(side))
    with pytest.raises(ParamsMismatchError, match="n_fft"):
        R.check_pair(R.load_variant(flt, label="float"), R.load_variant(q2, label="int8"))
    # a sidecar recording another input scale than the file
    side = json.loads(sidecar_path(q).read_text())
    side["input"]["scale"] *= 2
    sidecar_path(q2).write_text(json.dumps(side))
    with pytest.raises(ModelLoadError, match="scale"):
        R.load_variant(q2, label="int8")
    # a tampered byte
    shutil.copy(sidecar_path(q), sidecar_path(q2))
    data = bytearray(q.read_bytes())
    data[-20] ^= 0x01
    q2.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256"):
        R.load_variant(q2, label="int8")


def _one_line_error(r):
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(err) == 1, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "NO_TF"
    return err[0]


@pytest.mark.tf
def test_report_bad_inputs_give_one_line_errors(edge_set, tmp_path):
    flt, q, data = str(edge_set["float32"]), str(edge_set["int8"]), edge_set["data"]
    base = ["report", "--float", flt, "--int8", q, "--data", str(data), "--windows", "5", "--quiet"]
    assert "model file not found" in _one_line_error(_cli(*base[:2], str(tmp_path / "nope.tflite"), *base[3:]))
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    assert "not a TFLite file" in _one_line_error(_cli(*base[:4], str(junk), *base[5:]))
    lone = tmp_path / "lone.tflite"
    shutil.copy(q, lone)
    assert "lone.json is missing" in _one_line_error(_cli(*base[:4], str(lone), *base[5:]))
    nodata = tmp_path / "nodata"
    nodata.mkdir()
    assert "metadata.csv: not found" in _one_line_error(_cli(*base[:6], str(nodata), *base[7:]))
    # wrong-shape data: audio at another sample rate than the model's
    other = tmp_path / "sr16k"
    shutil.copytree(data, other)
    meta_csv = other / "metadata.csv"
    meta_csv.write_text(meta_csv.read_text().replace(",22050,", ",16000,"))
    assert "16000" in _one_line_error(_cli(*base[:6], str(other), *base[7:]))


def test_report_on_missing_files_without_models(tmp_path):
    """No TensorFlow needed to fail cleanly."""
    junk = tmp_path / "a.tflite"
    junk.write_text("hello")
    with pytest.raises(ModelLoadError, match="not a TFLite file"):
        R.load_variant(junk, label="float")
    with pytest.raises(ModelLoadError, match="not found"):
        R.load_variant(tmp_path / "b.tflite", label="float")


def test_report_scores_with_the_shared_measures():
    """The report's per-clip tuner score is cleartune.train.measures' rule (settle rule,
    right note, cents), not a copy: readings before max(onset, 0) + SETTLE_S do not count."""
    from cleartune.edge.reading import Reading

    def rd(t, midi, f):
        return Reading(t=t, f0_hz=f, note="A2" if midi == 45 else "x", midi=midi, cents=0.0, target_hz=f, confidence=1.0)

    f = 110.0
    rs = [rd(0.1, 45, f), rd(0.2, 57, 2 * f), rd(0.4, 45, f * 2 ** (2 / 1200)), rd(0.5, 46, 116.0)]
    sc = R.score_readings(rs, row={"f0_hz": str(f), "onset_s": "0.1"})
    assert sc["n"] == 2 and sc["correct"] == 1                 # t >= 0.25: 0.4 (right), 0.5 (wrong)
    assert sc["cents_abs"] == pytest.approx([2.0]) and list(sc["by_t"]) == [0.4]
    assert R.score_readings(rs, row={"f0_hz": str(f), "onset_s": "-1"})["n"] == 3    # from 0.15 s
    assert R.si_sdr is __import__("cleartune.train.measures", fromlist=["si_sdr"]).si_sdr


def test_json_safe_handles_inf_nan_numpy():
    out = R.json_safe({"a": math.inf, "b": math.nan, "c": np.float32(1.5), "d": [np.int64(3), Path("x")]})
    assert out == {"a": "inf", "b": None, "c": 1.5, "d": [3, "x"]}
    json.dumps(out, allow_nan=False)


def test_targets_evaluation():
    rep = {"accuracy": {"tuner": True, "overall": {"si_sdr_drop_db": 0.2, "note_acc_drop_points": 1.5,
                                                    "cents_median_change": 0.05}},
           "latency": {"results": {"float@1t": {"median_ms": 2.0}, "int8@1t": {"median_ms": 1.0}}}}
    st = [t["status"] for t in R.evaluate_targets(rep)]
    assert st == ["pass", "fail", "pass", "pass"]
    rep["accuracy"] = {"tuner": True, "overall": {"si_sdr_drop_db": 0.7}}
    rep["latency"]["results"]["int8@1t"]["median_ms"] = 3.0
    assert [t["status"] for t in R.evaluate_targets(rep)] == ["fail", "n/a", "n/a", "fail"]
