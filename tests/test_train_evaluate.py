"""`cleartune evaluate`: every report field on tiny models (edge .keras and .tflite, seed with latent analysis)."""
import json

import pytest

from cleartune.edge.params import SEED

# slow under load (a shared 2-core machine took up to ~105 s for one test here); a hang still fails
pytestmark = [pytest.mark.tf, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def edge_model(tmp_path_factory):
    from cleartune.train.models import EdgeConfig
    from cleartune.train.toyset import make_toy_dataset
    from cleartune.train.training import TrainConfig, train

    root = tmp_path_factory.mktemp("ev")
    data = make_toy_dataset(root / "data", n=10, seed=21, clip_samples=32768, snrs=(0.0, 10.0, float("inf")))
    cfg = TrainConfig(preset="edge", variant="mask", epochs=1, batch_size=16, steps_per_epoch=5, seed=0,
                      val_examples=32, edge=EdgeConfig(context_frames=4, channels=8, dilations=(1, 2), head_channels=8))
    train(data, root / "model", cfg, verbose=0, log=lambda m: None)
    return data, root / "model" / "model.keras"


def _check_report(r, out, *, pitch):
    assert r["n_clips"] == 2 and r["split"] == "test"
    assert set(r["buckets"]) >= {"all"} and len(r["buckets"]) >= 2
    for key in ("feat_mse_denoised", "feat_mse_noisy", "seed_mse_target", "meets_seed_target", "feature_scale"):
        assert key in r
    assert 0 <= r["feat_mse_denoised"] < 4 and r["feature_scale"].startswith("rho / feature_max")
    for b, d in r["buckets"].items():
        for key in ("n", "feat_mse_noisy", "feat_mse_denoised", "si_sdr_noisy", "si_sdr_denoised", "si_sdr_improvement"):
            assert key in d, (b, key)
        if pitch:
            for t in ("tuner_raw", "tuner_denoised"):
                assert set(d[t]) == {"readings", "note_accuracy", "shown_rate", "wrong_rate", "cents_median", "cents_p95",
                                     "clip_accuracy"}
                assert d[t]["readings"] > 0 and 0 <= d[t]["note_accuracy"] <= 1
    a = r["buckets"]["all"]
    assert a["si_sdr_improvement"] == pytest.approx(a["si_sdr_denoised"] - a["si_sdr_noisy"], abs=1e-6)
    for f in ("report.md", "report.json", "by_snr.png", "spectrograms.png", "training_curve.png"):
        assert (out / f).is_file() and (out / f).stat().st_size > 100, f
    assert len(r["files"]["listen"]) == 6 and all((out / f).is_file() for f in r["files"]["listen"])
    md = (out / "report.md").read_text()
    assert "seed's target is < 0.001" in md and "| all |" in md
    assert json.loads((out / "report.json").read_text())["n_clips"] == 2


def test_evaluate_keras_edge_model(edge_model, tmp_path):
    from cleartune.edge.model_meta import load_meta
    from cleartune.train.evaluation import evaluate_model

    data, model = edge_model
    r = evaluate_model(model, data, split="test", out_dir=tmp_path, listen=2, write_metrics=True)
    _check_report(r, tmp_path, pitch=True)
    assert r["pitch"] is True and r["settle_s"] == 0.15
    for key in ("tuner_raw", "tuner_denoised"):
        assert 0.0 <= r["buckets"]["all"][key]["clip_accuracy"] <= 1.0
    meta = load_meta(model)                       # sidecar still valid (sha) and now holds the metrics
    assert meta.metrics["feat_mse"] == pytest.approx(r["feat_mse_denoised"])
    from cleartune.train.compare import table

    md = table([r, r], ["first", "second"]).splitlines()
    assert len(md) == 4 and md[2].startswith("| first |") and md[3].startswith("| second |")
    assert "SI-SDR gain all" in md[0] and f"{r['feat_mse_denoised']:.4f}" in md[2]
    if r["pitch"]:
        assert r["tracker_source_sha256"] and "note acc. all" in md[0]


def test_evaluate_tflite_equals_keras(edge_model, tmp_path):
    import keras
    import tensorflow as tf

    from cleartune.edge.model_meta import load_meta
    from cleartune.train.evaluation import evaluate_model

    data, model = edge_model
    m = keras.models.load_model(model, compile=False)
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    tfl = tmp_path / "m.tflite"
    tfl.write_bytes(conv.convert())
    meta = load_meta(model)
    meta.dtype = "float32"
    meta.save_for(tfl)
    rk = evaluate_model(model, data, split="test", out_dir=tmp_path / "k", pitch=False, listen=0)
    rt = evaluate_model(tfl, data, split="test", out_dir=tmp_path / "t", pitch=False, listen=0)
    assert rt["pitch"] is False and "no-pitch" in rt["pitch_note"]
    assert rt["feat_mse_denoised"] == pytest.approx(rk["feat_mse_denoised"], rel=1e-3, abs=1e-6)
    assert rt["buckets"]["all"]["si_sdr_denoised"] == pytest.approx(rk["buckets"]["all"]["si_sdr_denoised"], abs=0.01)


def test_evaluate_seed_model_latent_analysis(tmp_path):
    from cleartune.train.evaluation import evaluate_model
    from cleartune.train.models import build_seed, model_cost
    from cleartune.train.toyset import make_toy_dataset
    from cleartune.train.training import TrainConfig, sidecar_for

    data = make_toy_dataset(tmp_path / "data", n=4, seed=2, splits=(0.5, 0.0), snrs=(0.0, float("inf")))
    m = build_seed(variant="polar", filters=(4, 4, 4, 4, 4, 4, 8), latent=16, batch_size=1)   # thin seed: fast
    path = tmp_path / "seed" / "model.keras"
    path.parent.mkdir()
    m.save(path)
    cfg = TrainConfig(preset="seed", variant="polar").resolved()
    sidecar_for(cfg, params=SEED, cost=model_cost(m), metrics={}, command="test", data_info={}).save_for(path)
    r = evaluate_model(path, data, split="test", out_dir=tmp_path / "rep", pitch=False, listen=1)
    assert r["preset"] == "seed" and r["kind"] == "seed-polar" and r["n_clips"] == 2
    la = r["latent"]
    assert la["dims"] == 16 and 0 <= la["unused"] <= 16 and len(la["mean"]) == len(la["std"]) == 16
    assert (tmp_path / "rep" / "latent.png").is_file()
    assert "per-clip" in r["feature_scale"]
    assert "Latent space" in (tmp_path / "rep" / "report.md").read_text()

