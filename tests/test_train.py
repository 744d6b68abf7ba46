"""Training: feature cache, batches, losses, the loop (smoke, resume, determinism), SIGTERM, CLI."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cleartune.edge import features as F
from cleartune.edge.params import EDGE, SEED

CLIP = 16384           # 64 frames: small and fast
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from cleartune.train.toyset import make_toy_dataset

    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "data", n=10, seed=5, clip_samples=CLIP)


# -- no TensorFlow -----------------------------------------------------------------------------

def test_feature_cache_matches_edge_features_and_is_reused(toy):
    from cleartune.train.data.dataset import load_example
    from cleartune.train.featcache import load_features

    fs = load_features(toy, split="train", params=EDGE)
    assert fs.mix_rho.shape == (6, CLIP // EDGE.hop, EDGE.n_bins) and fs.mix_rho.dtype == np.float16
    mix, clean, _ = load_example(toy, fs.rows[2])
    rho, theta, _ = F.polar_features(F.stft(mix, params=EDGE), params=EDGE)
    np.testing.assert_allclose(fs.mix_rho[2], rho, atol=0.07)          # float16 at |rho| <= 100
    np.testing.assert_allclose(fs.mix_theta[2], theta, atol=1e-3)
    crho = F.polar_features(F.stft(clean, params=EDGE), params=EDGE)[0]
    np.testing.assert_allclose(fs.clean_rho[2], crho, atol=0.07)
    again = load_features(toy, split="train", params=EDGE)
    assert again.path == fs.path
    sub = load_features(toy, split="train", params=EDGE, max_examples=3)
    assert len(sub) == 3 and sub.path != fs.path


def test_seed_cache_refuses_clips_of_another_length(toy):
    from cleartune.edge.errors import DataError
    from cleartune.train.featcache import load_features

    with pytest.raises(DataError, match="clips are"):
        load_features(toy, split="train", params=SEED)          # 16384-sample clips, the seed needs 65536


def test_edge_windows_pad_with_silence_and_align(toy):
    from cleartune.train.batches import EdgeSampler
    from cleartune.train.featcache import load_features

    fs = load_features(toy, split="train", params=EDGE)
    s = EdgeSampler(fs, variant="magnitude", context_frames=8, batch_size=4, seed=0)
    x, y = s.examples(np.array([1, 1]), np.array([2, 30]))
    assert x.shape == (2, 8, 512) and y.shape == (2, 1024)
    np.testing.assert_array_equal(x[0, :5], -1.0)                     # frames -5..-1: silence
    np.testing.assert_allclose(x[0, 5:], np.asarray(fs.mix_rho[1, 0:3], np.float32) / 100.0)
    np.testing.assert_allclose(x[1, -1], y[1, :512])                   # newest frame = the target's noisy frame
    np.testing.assert_allclose(y[1, 512:], np.asarray(fs.clean_rho[1, 30], np.float32) / 100.0)


def test_augmentation_shifts_mix_and_clean_together(toy):
    from cleartune.train.batches import EdgeSampler
    from cleartune.train.featcache import load_features

    fs = load_features(toy, split="train", params=EDGE)
    s = EdgeSampler(fs, variant="mask", context_frames=4, batch_size=256, seed=3, clean_fraction=0.5, gain_db=(-10, -10))
    x, y = s.batch(0, 0)
    x2, y2 = s.batch(0, 0)
    np.testing.assert_array_equal(x, x2)                                # a pure function of (seed, epoch, step)
    assert not np.array_equal(s.batch(1, 0)[0], x)
    clean_like = np.all(np.isclose(y[:, :512], y[:, 512:], atol=1e-6), axis=1)
    assert 0.3 < clean_like.mean() < 0.8                                  # ~half fed clean
    assert np.all(y >= -1.0) and np.all(y <= 1.0)
    # level only: -10 dB = -20 rho units = -0.2 of the scaled input (clipped at -1), same for mix and clean
    flat = EdgeSampler(fs, variant="magnitude", context_frames=4, batch_size=8, seed=3, clean_fraction=0.0,
                       gain_db=(-10, -10), eq_db=0.0)
    clips, frames = np.arange(4), np.array([10, 20, 30, 40])
    xa, ya = flat.examples(clips, frames, rng=np.random.default_rng(0))
    xr, yr = flat.examples(clips, frames)
    np.testing.assert_allclose(xa, np.maximum(xr - 0.2, -1.0), atol=1e-6)
    np.testing.assert_allclose(ya, np.maximum(yr - 0.2, -1.0), atol=1e-6)
    # colour: one smooth curve per example, identical on the noisy and clean frames where neither clips
    eq = EdgeSampler(fs, variant="magnitude", context_frames=4, batch_size=8, seed=3, clean_fraction=0.0,
                     gain_db=None, eq_db=6.0)
    xe, ye = eq.examples(clips, frames, rng=np.random.default_rng(1))
    dn, dc = ye[:, :512] - yr[:, :512], ye[:, 512:] - yr[:, 512:]
    ok = (yr[:, :512] > -0.85) & (yr[:, 512:] > -0.85) & (yr[:, :512] < 0.0)
    np.testing.assert_allclose(dn[ok], dc[ok], atol=1e-5)
    assert 0.0 < np.abs(dn[ok]).max() <= 0.12 + 1e-6                       # <= 6 dB = 0.12 scaled
    assert np.abs(np.diff(dn, axis=1)[ok[:, 1:] & ok[:, :-1]]).max() < 0.01    # smooth over bins


def test_variant_outputs_round_trip():
    """The ideal outputs of every variant give back the clean spectrum."""
    from cleartune.train.variants import COMPRESS, compressed, model_targets, output_to_spectrum

    rng = np.random.default_rng(0)
    clean = (rng.standard_normal((5, 512)) + 1j * rng.standard_normal((5, 512))) * 0.01
    noisy = clean + (rng.standard_normal((5, 512)) + 1j * rng.standard_normal((5, 512))) * 0.003
    c_rho, c_th, _ = F.polar_features(clean, params=EDGE)
    n_rho, n_th, _ = F.polar_features(noisy, params=EDGE)
    mask = np.minimum(np.abs(clean) / np.abs(noisy), 1.0)
    est = output_to_spectrum(mask, noisy, variant="mask", params=EDGE)
    np.testing.assert_allclose(np.abs(est)[np.abs(clean) <= np.abs(noisy)], np.abs(clean)[np.abs(clean) <= np.abs(noisy)], rtol=1e-9)
    mag = output_to_spectrum(c_rho / 100.0, noisy, variant="magnitude", params=EDGE)
    np.testing.assert_allclose(np.abs(mag), np.abs(clean), rtol=1e-4)
    pol = output_to_spectrum(np.stack([c_rho / 100.0, c_th], -1), noisy, variant="polar", params=EDGE)
    np.testing.assert_allclose(pol, clean, rtol=1e-4, atol=1e-9)
    cpx = output_to_spectrum(compressed(c_rho, c_th, params=EDGE), noisy, variant="complex", params=EDGE)
    np.testing.assert_allclose(cpx, clean, rtol=1e-4, atol=1e-9)
    assert model_targets(n_rho, n_th, c_rho, c_th, variant="mask", params=EDGE).shape == (5, 1024)
    assert 0 < COMPRESS < 1


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom cleartune.cli import main\n"
            "for c in ('train', 'evaluate'):\n"
            "    try:\n        main([c, '--help'])\n    except SystemExit:\n        pass\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "--preset" in r.stdout and "--write-metrics" in r.stdout


# -- TensorFlow ----------------------------------------------------------------------------------

def _cfg(**kw):
    from cleartune.train.models import EdgeConfig
    from cleartune.train.training import TrainConfig

    base = dict(preset="edge", variant="mask", epochs=2, batch_size=16, steps_per_epoch=6, seed=1, val_examples=64,
                edge=EdgeConfig(context_frames=4, channels=8, dilations=(1, 2), head_channels=8))
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.tf
def test_losses_prefer_the_ideal_output_and_weigh_suppression():
    from cleartune.train.variants import make_feature_mse, make_loss, model_targets

    rng = np.random.default_rng(4)
    clean = (rng.standard_normal((64, 512)) + 1j * rng.standard_normal((64, 512))) * 0.01
    noise = (rng.standard_normal((64, 512)) + 1j * rng.standard_normal((64, 512))) * 0.005
    n_rho, n_th, _ = F.polar_features(clean + noise, params=EDGE)
    c_rho, c_th, _ = F.polar_features(clean, params=EDGE)
    y = model_targets(n_rho, n_th, c_rho, c_th, variant="mask", params=EDGE)
    irm = np.minimum(np.abs(clean) / np.abs(clean + noise), 1.0).astype(np.float32)
    loss1 = make_loss("mask", params=EDGE)
    loss4 = make_loss("mask", params=EDGE, suppression_weight=4.0)

    def at(f, m):
        return float(np.mean(np.asarray(f(y, np.clip(m, 0, 1).astype(np.float32)))))

    assert at(loss1, irm) < 0.2 * at(loss1, np.ones_like(irm))
    assert at(loss1, irm) < 0.2 * at(loss1, np.zeros_like(irm))
    feat = make_feature_mse("mask", params=EDGE)
    assert at(feat, irm) < 0.5 * at(feat, np.ones_like(irm))              # the seed metric: below the noisy input (measured 0.36 x)
    ok = (irm > 0.3) & (irm < 0.7)
    lo, hi = np.where(ok, irm - 0.2, irm), np.where(ok, irm + 0.2, irm)
    # symmetric weight: errors of either sign cost about the same; weight 4: removing costs ~4 x more
    r1 = (at(loss1, lo) - at(loss1, irm)) / (at(loss1, hi) - at(loss1, irm))
    r4 = (at(loss4, lo) - at(loss4, irm)) / (at(loss4, hi) - at(loss4, irm))
    assert 0.5 < r1 < 2.5 and r4 > 2.5 * r1
    mag = make_loss("magnitude", params=EDGE)
    assert float(np.mean(np.asarray(mag(y, (c_rho / 100).astype(np.float32))))) < 1e-6


@pytest.mark.tf
def test_smoke_training_lowers_the_loss_and_writes_everything(toy, tmp_path):
    from cleartune.edge.model_meta import load_meta
    from cleartune.train.training import train

    s = train(toy, tmp_path, _cfg(epochs=3, steps_per_epoch=15, learning_rate=1e-2), verbose=0, log=lambda m: None)
    h = s["history"]
    assert h["epoch"] == [1, 2, 3]
    assert h["loss"][-1] < 0.8 * h["loss"][0]              # measured: 0.140 -> 0.092
    assert h["val_loss"][-1] < 0.9 * h["val_loss"][0]      # measured: 0.140 -> 0.092
    for f in ("model.keras", "model.json", "history.json", "training_curve.png", "checkpoint.npz"):
        assert (tmp_path / f).is_file(), f
    meta = load_meta(tmp_path / "model.keras", expected=EDGE)
    assert meta.kind == "mask" and meta.preset == "edge" and meta.context_frames == 4
    assert meta.input["shape"] == [1, 4, 512] and meta.output["shape"] == [1, 512]
    assert meta.params == s["params"] and meta.macs_per_inference == s["macs"] > 0
    assert meta.metrics["val_feat_mse"] == pytest.approx(h["val_feat_mse"][-1])
    assert json.loads((tmp_path / "history.json").read_text())["epoch"] == [1, 2, 3]


@pytest.mark.tf
def test_resume_continues_the_epoch_count_and_matches_an_uninterrupted_run(toy, tmp_path):
    import keras

    from cleartune.edge.errors import CleartuneError
    from cleartune.train.training import CHECKPOINT, read_checkpoint_state, train

    quiet = dict(verbose=0, log=lambda m: None)
    a = train(toy, tmp_path / "a", _cfg(epochs=2), **quiet)

    def stop(epoch, history):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(toy, tmp_path / "b", _cfg(epochs=2), on_epoch_end=stop, **quiet)
    assert read_checkpoint_state(tmp_path / "b" / CHECKPOINT)["epoch"] == 1
    assert not (tmp_path / "b" / "model.keras").exists()
    b = train(toy, tmp_path / "b", _cfg(epochs=2), **quiet)
    assert b["resumed_from"] == 1 and b["history"]["epoch"] == [1, 2]
    # same batches, same optimizer state, deterministic ops: the resumed run (same seed, two trainings)
    # ends bit-exactly where the straight one does
    assert b["history"]["loss"] == a["history"]["loss"]
    wa = keras.models.load_model(tmp_path / "a" / "model.keras", compile=False).get_weights()
    wb = keras.models.load_model(tmp_path / "b" / "model.keras", compile=False).get_weights()
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)
    more = train(toy, tmp_path / "b", _cfg(epochs=3), **quiet)          # asking for more epochs continues
    assert more["resumed_from"] == 2 and more["history"]["epoch"] == [1, 2, 3]
    with pytest.raises(CleartuneError, match="another configuration"):
        train(toy, tmp_path / "b", _cfg(epochs=4, variant="magnitude"), **quiet)


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.timeout(600)  # two training runs in subprocesses: up to ~85 s under load here
def test_sigterm_stops_cleanly_and_the_rerun_resumes(toy, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "cleartune", "train", "--data", str(toy), "--out", str(out), "--epochs", "50",
           "--batch-size", "16", "--steps-per-epoch", "4", "--context-frames", "4", "--channels", "8",
           "--dilations", "1,2", "--quiet", "--seed", "2"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not (out / "checkpoint.npz").is_file():
            time.sleep(0.2)
        assert (out / "checkpoint.npz").is_file(), "no checkpoint written"
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        text, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, text[-2000:]
    assert "resume" in text
    from cleartune.train.training import CHECKPOINT, read_checkpoint_state

    done = read_checkpoint_state(out / CHECKPOINT)["epoch"]
    assert 1 <= done < 50
    r = subprocess.run(cmd[:9] + [str(done + 1)] + cmd[10:], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"resuming from {out / CHECKPOINT} after epoch {done}" in r.stdout
    assert read_checkpoint_state(out / CHECKPOINT)["epoch"] == done + 1
