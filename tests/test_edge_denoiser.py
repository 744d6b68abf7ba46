"""The streaming denoiser against the offline computation, and its loading errors.

Uses the tiny committed models in tests/fixtures/models (made by make_tiny_models.py with
TensorFlow; these tests need only the LiteRT interpreter)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cleartune.edge import denoiser as D
from cleartune.edge import features as F
from cleartune.edge.errors import ModelLoadError, ParamsMismatchError
from cleartune.edge.litert import TFLiteModel
from cleartune.edge.model_meta import sha256_file
from cleartune.edge.params import EDGE, SignalParams

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"
INT8 = MODELS / "tiny_mask_int8.tflite"
FLOAT = MODELS / "tiny_mask_float32.tflite"
MAGNITUDE = MODELS / "tiny_magnitude_float32.tflite"
#: streaming vs offline, relative to the signal's peak: float32 rounding of the output only
REL_TOL = 1e-6


def _signal(seconds=1.0, seed=0):
    sr = EDGE.sample_rate
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    x = 0.4 * np.exp(-1.5 * t) * sum(np.sin(2 * np.pi * k * 110.0 * t) / k for k in range(1, 8))
    return (x + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def offline(x, model_path, *, kind, k):
    """The model on every frame's K-frame window of features.stft (silence before the
    start), applied per kind, then features.istft -- written independently of the runtime."""
    spec = F.stft(x, params=EDGE)
    rho, theta, _ = F.polar_features(spec, params=EDGE)
    feats = rho / np.float32(EDGE.feature_max)
    silence = np.full((k - 1, EDGE.n_bins), EDGE.feature_min / EDGE.feature_max, dtype=np.float32)
    padded = np.concatenate([silence, feats])
    model = TFLiteModel(model_path)
    out = np.array([model(padded[i : i + k][None])[0].copy() for i in range(len(spec))])
    if kind == "mask":
        clean = spec * out
    else:
        clean = F.features_to_spectrum(out * EDGE.feature_max, theta, params=EDGE)
    return F.istft(clean, params=EDGE, length=len(x)), out


@pytest.mark.parametrize("path", [INT8, FLOAT, MAGNITUDE], ids=lambda p: p.stem)
def test_streaming_equals_offline(path):
    x = _signal()
    d = D.StreamingDenoiser(path)
    assert d.backend in ("ai-edge-litert", "tflite-runtime", "tf.lite")
    assert d.latency_samples == EDGE.n_fft - EDGE.hop
    ref, model_out = offline(x, path, kind=d.kind, k=d.context_frames)
    assert model_out.std() > 0.05  # the model's output varies: a misaligned window would show
    # hop by hop, by hand: output sample n is input sample n - latency
    hops = len(x) // EDGE.hop
    y = np.concatenate([d.process_hop(x[j * EDGE.hop : (j + 1) * EDGE.hop]).copy() for j in range(hops)])
    lat = d.latency_samples
    assert np.all(y[:lat] == 0.0)
    n = hops * EDGE.hop - lat - EDGE.n_fft // 2  # the offline tail has frames the stream has not seen yet
    peak = np.abs(ref).max()
    np.testing.assert_allclose(y[lat : lat + n], ref[:n], rtol=0, atol=REL_TOL * peak)
    # the whole-signal helper removes the latency and keeps the length
    z = d.denoise(x)
    assert z.shape == x.shape and z.dtype == np.float32
    np.testing.assert_allclose(z[:n], ref[:n], rtol=0, atol=REL_TOL * peak)


@pytest.mark.tf
def test_tf_lite_fallback_is_silent_and_equal():
    """tf.lite is the last resort (no LiteRT, no tflite-runtime): same outputs, and its
    deprecation notice is not passed on to the user."""
    import warnings

    pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).standard_normal(TFLiteModel(INT8).input_shape).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tfl = TFLiteModel(INT8, prefer="tf.lite")
        y = tfl(x).copy()
    assert tfl.backend == "tf.lite"
    assert not [w for w in caught if "deprecated" in str(w.message)], [str(w.message) for w in caught]
    ref = TFLiteModel(INT8)
    assert ref.backend != "tf.lite" and np.array_equal(ref(x), y)


def test_int8_and_float_models_agree_roughly():
    x = _signal(0.5)
    a = D.StreamingDenoiser(INT8).denoise(x)
    b = D.StreamingDenoiser(FLOAT).denoise(x)
    # int8 quantization of the same weights: close, not equal (explicit, loose bound)
    assert np.sqrt(np.mean((a - b) ** 2)) < 0.05 * np.sqrt(np.mean(b ** 2))
    assert not np.array_equal(a, b)


def test_default_model_path(monkeypatch, tmp_path):
    monkeypatch.setattr(D, "MODELS_DIR", tmp_path)
    assert D.default_model_path() is None
    with pytest.raises(ModelLoadError, match="no denoiser model shipped"):
        D.StreamingDenoiser()
    shutil.copy(INT8, tmp_path / D.DEFAULT_MODEL_NAME)
    shutil.copy(INT8.with_suffix(".json"), tmp_path / "edge_int8.json")
    d = D.StreamingDenoiser()
    assert d.path == tmp_path / D.DEFAULT_MODEL_NAME and d.meta.dtype == "int8"


def _copy(tmp_path, src=INT8):
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def _one_line(e):
    msg = str(e.value)
    assert msg and "\n" not in msg
    return msg


def test_sidecar_signal_params_mismatch_names_the_field(tmp_path):
    p = _copy(tmp_path)
    side = p.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["signal_params"]["hop"] = 512
    side.write_text(json.dumps(meta))
    with pytest.raises(ParamsMismatchError) as e:
        D.StreamingDenoiser(p)
    assert "hop" in _one_line(e)
    # and a runtime computing other params refuses the matching model
    with pytest.raises(ParamsMismatchError, match="n_fft"):
        D.StreamingDenoiser(INT8, params=SignalParams(name="edge", n_fft=2048, n_bins=512))


def test_missing_sidecar(tmp_path):
    p = _copy(tmp_path)
    p.with_suffix(".json").unlink()
    with pytest.raises(ModelLoadError) as e:
        D.StreamingDenoiser(p)
    assert "sidecar" in _one_line(e)


@pytest.mark.parametrize("damage", ["truncate", "flip", "flip_and_sha_removed", "garbage_with_matching_sha"])
def test_corrupt_or_truncated_model(tmp_path, damage):
    p = _copy(tmp_path)
    data = bytearray(p.read_bytes())
    if damage == "truncate":
        p.write_bytes(bytes(data[: len(data) // 2]))
    elif damage.startswith("flip"):
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))
        if damage == "flip_and_sha_removed":  # no checksum is refused like a wrong one
            side = p.with_suffix(".json")
            meta = json.loads(side.read_text())
            del meta["sha256"]
            side.write_text(json.dumps(meta))
    else:  # a broken file whose sidecar was (wrongly) regenerated: the interpreter must refuse it
        p.write_bytes(b"this is not a flatbuffer" * 10)
        side = p.with_suffix(".json")
        meta = json.loads(side.read_text())
        meta["sha256"] = sha256_file(p)
        side.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError) as e:
        D.StreamingDenoiser(p)
    msg = _one_line(e)
    assert ("sha256" in msg) if damage != "garbage_with_matching_sha" else ("not a valid TFLite model" in msg)


def test_wrong_kind_shape_and_suffix(tmp_path):
    p = _copy(tmp_path)
    side = p.with_suffix(".json")
    meta = json.loads(side.read_text())
    for field, value, match in (("kind", "seed-polar", "does not stream"), ("context_frames", 8, r"\[1, 8, 512\]"),
                                ("context_frames", 0, "context_frames")):
        bad = dict(meta, **{field: value})
        side.write_text(json.dumps(bad))
        with pytest.raises(ModelLoadError, match=match):
            D.StreamingDenoiser(p)
    with pytest.raises(ModelLoadError, match="not found"):
        D.StreamingDenoiser(tmp_path / "nope.tflite")
    with pytest.raises(ModelLoadError, match=".keras"):
        D.StreamingDenoiser(tmp_path / "model.keras")


def test_reset_restarts_the_stream():
    x = _signal(0.3)
    d = D.StreamingDenoiser(FLOAT)
    a = d.denoise(x)
    d.process_hop(np.ones(EDGE.hop, dtype=np.float32))  # leave state behind
    d.reset()
    hops = len(x) // EDGE.hop
    y = np.concatenate([d.process_hop(x[j * EDGE.hop : (j + 1) * EDGE.hop]).copy() for j in range(hops)])
    lat = d.latency_samples
    np.testing.assert_array_equal(y[lat:], a[: hops * EDGE.hop - lat])
