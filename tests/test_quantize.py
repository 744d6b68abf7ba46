"""int8 post-training quantization: conversion, checks, sidecars, errors.

Tiny models with the edge I/O ((1, 8, 512) -> (1, 512) sigmoid mask) and a seed-like
conv / transposed-conv image model, calibrated on a tiny synthetic dataset.
"""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cleartune.edge.errors import CleartuneError, DataError, ModelLoadError, ParamsMismatchError
from cleartune.edge.model_meta import ModelMeta, load_meta, sha256_file, sidecar_path
from cleartune.edge.params import EDGE, SEED
from cleartune.quantize import testing as T
from cleartune.quantize.tflite_info import OpInfo, TFLiteInfo, check_builtin_only, check_int8, inspect_tflite

# The tiny edge model (quantize.testing.tiny_edge_model): Conv1D(8, k=5) over 512 bins with
# K=8 frames as channels, a dilated Conv1D(8, k=3), a 1x1 Conv1D to 1 channel.
TINY_EDGE_MACS = 512 * 5 * 8 * 8 + 512 * 3 * 8 * 8 + 512 * 8 * 1

# Tolerances, int8 vs float32 TFLite on held-out feature windows (test clips, other notes
# than the calibration clips).  The mask output has scale 1/256 (sigmoid range [0, 1] in
# 256 steps); input rounding (step ~0.007 on [-1, 1]) and each of the 4 requantized layers
# add about 0.3 step RMS, so about one output step of RMS error is expected: RMSE <= 0.005
# (1.3 steps; measured 0.0024) and 99.9 % of outputs within 0.015 (4 steps; measured
# 0.006).  A few values may be off by more where a held-out window drives an activation
# beyond its calibrated range (clipped): max <= 0.06 (15 steps; measured 0.045).
INT8_RMSE_TOL = 0.005
INT8_P999_TOL = 0.015
INT8_MAX_TOL = 0.06
# float16 weights: relative error ~5e-4 per weight -> outputs within 2e-3.
FLOAT16_MAX_TOL = 2e-3
# float32 TFLite vs Keras: the same arithmetic up to summation order.
FLOAT32_MAX_TOL = 1e-5


@pytest.fixture(scope="module")
def edge_set(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return T.build_tiny_edge_set(tmp_path_factory.mktemp("qedge"))


@pytest.fixture(scope="module")
def windows(edge_set):
    """Feature windows of the test clips (not the calibration clips)."""
    from cleartune.quantize.windows import clip_features
    from cleartune.train.data.dataset import iter_examples

    meta = load_meta(edge_set["int8"])
    xs = [clip_features(mix, meta=meta).inputs[::4] for mix, _c, _n, _r in iter_examples(edge_set["data"], split="test")]
    return np.concatenate(xs).astype(np.float32)


def _run(path, xs):
    from cleartune.quantize.runtime import Model

    m = Model(path)
    return np.stack([np.array(m(x[None]))[0] for x in xs])


@pytest.mark.tf
def test_int8_is_full_integer_without_flex(edge_set):
    info = inspect_tflite(edge_set["int8"])
    assert info.input["dtype"] == "int8" and info.output["dtype"] == "int8"
    assert info.input["shape"] == [1, 8, 512] and info.output["shape"] == [1, 512]
    assert info.flex_ops == [] and info.non_int8_ops() == []
    assert "CONV_2D" in info.op_counts and "LOGISTIC" in info.op_counts
    check_int8(info)  # does not raise
    assert info.macs == TINY_EDGE_MACS
    # the float32 file has float ops: the int8 check must refuse it
    with pytest.raises(ModelLoadError, match="not a full-integer int8 model"):
        check_int8(inspect_tflite(edge_set["float32"]))


@pytest.mark.tf
def test_interpreter_agrees_with_the_parsed_file(edge_set):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(edge_set["int8"]))
    it.allocate_tensors()
    d_in, d_out = it.get_input_details()[0], it.get_output_details()[0]
    assert d_in["dtype"] == np.int8 and d_out["dtype"] == np.int8
    meta = load_meta(edge_set["int8"])
    assert meta.input["scale"] == pytest.approx(d_in["quantization"][0], rel=1e-7)
    assert meta.input["zero_point"] == d_in["quantization"][1]
    assert meta.output["scale"] == pytest.approx(d_out["quantization"][0], rel=1e-7)
    assert meta.output["zero_point"] == d_out["quantization"][1]


@pytest.mark.tf
def test_int8_matches_float_within_tolerance(edge_set, windows):
    yf = _run(edge_set["float32"], windows)
    yq = _run(edge_set["int8"], windows)
    y16 = _run(edge_set["float16"], windows)
    d = yq.astype(np.float64) - yf
    assert windows.shape[0] >= 100
    assert np.sqrt(np.mean(d * d)) <= INT8_RMSE_TOL
    assert np.percentile(np.abs(d), 99.9) <= INT8_P999_TOL
    assert np.max(np.abs(d)) <= INT8_MAX_TOL
    assert np.max(np.abs(y16 - yf)) <= FLOAT16_MAX_TOL
    assert yq.min() >= 0.0 and yq.max() <= 1.0  # a sigmoid mask stays a mask


@pytest.mark.tf
def test_float32_matches_keras(edge_set, windows):
    import keras

    model = keras.models.load_model(edge_set["keras"], compile=False)
    xs = windows[:32]
    yk = np.concatenate([np.asarray(model(x[None], training=False)) for x in xs])
    assert np.max(np.abs(_run(edge_set["float32"], xs) - yk)) <= FLOAT32_MAX_TOL


@pytest.mark.tf
def test_sidecar_round_trip(edge_set):
    for variant in ("int8", "float32", "float16"):
        p = edge_set[variant]
        meta = load_meta(p, expected=EDGE)
        assert meta.dtype == variant and meta.preset == "edge" and meta.kind == "mask" and meta.context_frames == 8
        assert meta.sha256 == sha256_file(p) and meta.bytes == p.stat().st_size and meta.file == p.name
        assert meta.macs_per_inference == TINY_EDGE_MACS and meta.params > 0 and meta.command == "pytest"
        assert meta.extra["source"]["sha256"] == sha256_file(edge_set["keras"])
        again = ModelMeta.from_dict(json.loads(sidecar_path(p).read_text()))
        assert again.to_dict() == meta.to_dict()
    q = load_meta(edge_set["int8"])
    assert q.extra["calibration"]["windows"] == 200 and q.extra["calibration"]["split"] == "train"
    assert q.extra["converter"]["ops"] == "TFLITE_BUILTINS_INT8"
    assert q.extra["check"]["vs_float32"]["max_abs"] <= INT8_MAX_TOL
    assert all(p.stat().st_size < 1_000_000 for k, p in edge_set.items() if k in ("int8", "float32", "float16"))


@pytest.mark.tf
def test_tampered_file_and_params_are_refused(edge_set, tmp_path):
    src = edge_set["int8"]
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(sidecar_path(src), sidecar_path(dst))
    data = bytearray(dst.read_bytes())
    data[len(data) // 2] ^= 0x55
    dst.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256"):
        load_meta(dst)
    shutil.copy(src, dst)
    side = json.loads(sidecar_path(dst).read_text())
    side["signal_params"]["hop"] = 512
    sidecar_path(dst).write_text(json.dumps(side))
    with pytest.raises(ParamsMismatchError, match="hop"):
        load_meta(dst, expected=EDGE)
    sidecar_path(dst).unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        load_meta(dst)


@pytest.mark.tf
def test_seed_image_model_with_transposed_convs(tmp_path):
    pytest.importorskip("tensorflow")
    from cleartune.quantize.convert import quantize_model
    from cleartune.quantize.windows import clip_features
    from cleartune.train.data.dataset import iter_examples

    data = T.write_tiny_dataset(tmp_path / "data", n_clips=4, params=SEED)
    k = T.save_keras_with_sidecar(T.tiny_seed_model(), tmp_path / "seed.keras", preset="seed", kind="magnitude")
    res = quantize_model(k, calib_dir=data, out_dir=tmp_path / "out", name="seed", calib_windows=16,
                         variants=["int8", "float32"], quiet=True)
    q = {r.variant: r for r in res}
    info = q["int8"].info
    assert info.op_counts.get("TRANSPOSE_CONV") == 2
    check_int8(info)
    assert info.input["shape"] == [1, 512, 256, 1]
    meta = load_meta(q["int8"].path, expected=SEED)
    xs = np.concatenate([clip_features(m, meta=meta).inputs for m, _c, _n, _r in iter_examples(data, split="test")])
    d = _run(q["int8"].path, xs).astype(np.float64) - _run(q["float32"].path, xs)
    # tanh output, scale ~1/128: a few steps through 5 requantized layers
    assert np.sqrt(np.mean(d * d)) <= 0.02 and np.max(np.abs(d)) <= 0.08


def test_op_checks_flag_flex_and_float_ops():
    flex = TFLiteInfo(path="m.tflite", bytes=1, ops=[OpInfo("FlexRFFT", [((1, 8), "FLOAT32")], [((1, 5), "COMPLEX64")],
                                                           custom=True)],
                      input={"dtype": "int8"}, output={"dtype": "int8"}, macs=0, const_params=0)
    with pytest.raises(ModelLoadError, match="Flex"):
        check_builtin_only(flex)
    with pytest.raises(ModelLoadError, match="Flex/custom ops"):
        check_int8(flex)
    mixed = TFLiteInfo(path="m.tflite", bytes=1, ops=[OpInfo("CONV_2D", [((1, 4), "INT8")], [((1, 4), "FLOAT32")])],
                       input={"dtype": "int8"}, output={"dtype": "float32"}, macs=0, const_params=0)
    with pytest.raises(ModelLoadError, match=r"output is float32.*CONV_2D\(FLOAT32\)"):
        check_int8(mixed)


def test_not_a_tflite_file(tmp_path):
    p = tmp_path / "x.tflite"
    p.write_bytes(b"this is not a flatbuffer at all")
    with pytest.raises(ModelLoadError, match="not a TFLite file"):
        inspect_tflite(p)
    with pytest.raises(ModelLoadError, match="not found"):
        inspect_tflite(tmp_path / "missing.tflite")


def test_calibration_windows_cover_the_snr_range(tmp_path):
    from cleartune.quantize.convert import calibration_windows

    data = T.write_tiny_dataset(tmp_path / "data", n_clips=6)
    meta = ModelMeta(preset="edge", kind="mask", signal_params=EDGE, context_frames=8)
    cal = calibration_windows(data, meta=meta, n_windows=100)
    assert cal.windows.shape == (100, 8, 512) and cal.windows.dtype == np.float32
    assert cal.windows.min() >= -1.0 and cal.windows.max() <= 1.0
    assert cal.split == "train" and cal.clips == 6
    assert sorted(cal.snr_db) == [-5.0, 0.0, 5.0, 10.0, 20.0, float("inf")]
    with pytest.raises(DataError, match="too few"):
        calibration_windows(data, meta=meta, n_windows=4)
    (data / "metadata.csv").unlink()
    with pytest.raises(DataError, match="metadata.csv"):
        calibration_windows(data, meta=meta, n_windows=100)


def test_edge_windows_are_the_last_k_frames_newest_last():
    from cleartune.edge import features as F
    from cleartune.quantize.windows import clip_features

    x = T.pluck(110.0, 8192, sample_rate=EDGE.sample_rate, onset=1000)
    meta = ModelMeta(preset="edge", kind="mask", signal_params=EDGE, context_frames=8)
    inp = clip_features(x, meta=meta).inputs
    rho, _, _ = F.polar_features(F.stft(x, params=EDGE), params=EDGE)
    assert inp.shape == (8192 // EDGE.hop, 8, 512)
    np.testing.assert_allclose(inp[20], rho[13:21] / EDGE.feature_max, atol=1e-6)
    # before the start: silence (rho = feature_min)
    np.testing.assert_allclose(inp[0, :7], EDGE.feature_min / EDGE.feature_max)
    np.testing.assert_allclose(inp[0, 7], rho[0] / EDGE.feature_max, atol=1e-6)


def _cli(*args, cwd=None):
    code = ("import sys\nfrom cleartune.cli import main\nrc = main(sys.argv[1:])\n"
            "print('TF_IMPORTED' if 'tensorflow' in sys.modules else 'NO_TF')\nsys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_quantize_help_does_not_import_tensorflow():
    r = _cli("quantize", "--help")
    assert r.returncode == 0 and "--calib" in r.stdout
    r = _cli("report", "--help")
    assert r.returncode == 0 and "--int8" in r.stdout


def _one_line_error(r):
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert len(err) == 1, r.stderr
    assert "NO_TF" in r.stdout  # failed before any TensorFlow import
    return err[0]


def test_quantize_bad_inputs_give_one_line_errors(tmp_path):
    data = T.write_tiny_dataset(tmp_path / "data", n_clips=2)
    assert "model file not found" in _one_line_error(_cli("quantize", str(tmp_path / "nope.keras"), "--calib", str(data),
                                                          "--out", str(tmp_path / "o")))
    bogus = tmp_path / "m.keras"
    bogus.write_bytes(b"PK\x03\x04 not really a keras zip")
    assert "metadata m.json is missing" in _one_line_error(_cli("quantize", str(bogus), "--calib", str(data),
                                                                "--out", str(tmp_path / "o")))
    ModelMeta(preset="edge", kind="mask", signal_params=EDGE, context_frames=8, dtype="keras").save_for(bogus)
    nodata = tmp_path / "empty"
    nodata.mkdir()
    assert "metadata.csv: not found" in _one_line_error(_cli("quantize", str(bogus), "--calib", str(nodata),
                                                             "--out", str(tmp_path / "o")))
    wav = tmp_path / "m.tflite"
    wav.write_bytes(b"RIFF....WAVE")
    assert "expected a Keras model file" in _one_line_error(_cli("quantize", str(wav), "--calib", str(data),
                                                                 "--out", str(tmp_path / "o")))
    # a sidecar whose kind this package cannot feed
    ModelMeta(preset="edge", kind="weird", signal_params=EDGE, context_frames=8).save_for(bogus)
    assert "kind 'weird'" in _one_line_error(_cli("quantize", str(bogus), "--calib", str(data), "--out", str(tmp_path / "o")))


@pytest.mark.tf
def test_quantize_keras_file_that_does_not_load(tmp_path):
    pytest.importorskip("tensorflow")
    from cleartune.quantize.convert import load_keras

    bogus = tmp_path / "m.keras"
    bogus.write_bytes(b"PK\x03\x04 not really a keras zip")
    ModelMeta(preset="edge", kind="mask", signal_params=EDGE, context_frames=8, dtype="keras").save_for(bogus)
    with pytest.raises(ModelLoadError, match="Keras cannot load it") as e:
        load_keras(bogus)
    assert "\n" not in str(e.value)


@pytest.mark.tf
def test_keras_shape_must_match_sidecar(tmp_path):
    pytest.importorskip("tensorflow")
    from cleartune.quantize.convert import load_keras

    k = T.save_keras_with_sidecar(T.tiny_edge_model(context_frames=4), tmp_path / "m.keras", preset="edge",
                                  kind="mask", context_frames=8)
    with pytest.raises(ModelLoadError, match="does not match its sidecar"):
        load_keras(k)
    assert issubclass(ModelLoadError, CleartuneError)


@pytest.mark.tf
def test_per_layer_debug_analysis(edge_set, tmp_path):
    from cleartune.quantize.debug import IDEAL_RMSE_PER_SCALE, analyze_layers

    md, js = analyze_layers(edge_set["keras"], calib_dir=edge_set["data"], out_dir=tmp_path, name="tiny",
                            calib_windows=100, debug_windows=16, quiet=True)
    doc = json.loads(js.read_text())
    layers = doc["layers"]
    assert doc["windows"] == 16 and len(layers) >= 4
    assert {"CONV_2D", "LOGISTIC"} <= {r["op_name"] for r in layers}
    conv = [r for r in layers if r["op_name"] == "CONV_2D"]
    # a well-calibrated conv loses about one uniform rounding step: rmse/scale near 1/sqrt(12)
    assert all(0.05 < r["rmse_per_scale"] < 1.0 for r in conv)
    assert abs(np.median([r["rmse_per_scale"] for r in conv]) - IDEAL_RMSE_PER_SCALE) < 0.15
    ranked = [r["rmse_per_scale"] for r in layers if r["rmse_per_scale"] is not None]
    assert ranked == sorted(ranked, reverse=True)
    assert "rmse/scale" in md.read_text()
