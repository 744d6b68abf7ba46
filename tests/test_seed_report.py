"""The seed report's own arithmetic (cleartune.train.seed_report): the power-law trend of the
learning curve, the unused-latent rule, the tuner table's consistency checks, and the
report written from fake run / evaluation files."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cleartune.train import seed_report as R


def test_power_law_fit_recovers_a_and_b_and_the_steps_to_the_aim():
    steps = np.arange(1, 13) * 50.0
    mse = 3.0 * steps ** -0.4
    mse[0] *= 5.0                                    # the transient the fit skips
    fit = R.fit_power_law(steps, mse, skip=1)
    assert fit["a"] == pytest.approx(3.0, rel=1e-9)
    assert fit["b"] == pytest.approx(0.4, rel=1e-9)
    assert fit["n"] == 11 and fit["r2"] == pytest.approx(1.0)
    need = R.steps_to_reach(fit, 0.001)
    assert 3.0 * need ** -0.4 == pytest.approx(0.001, rel=1e-9)
    assert R.steps_to_reach({"a": 1.0, "b": 0.0}, 0.001) == math.inf        # flat: never
    assert R.steps_to_reach({"a": 1.0, "b": -0.1}, 0.001) == math.inf       # rising: never
    with pytest.raises(ValueError):
        R.fit_power_law([100.0, 200.0], [0.1, 0.09], skip=1)


def test_unused_latent_is_relative_to_the_median_std():
    std = np.ones(256)
    std[[3, 50, 77]] = 0.009          # below 1 % of the median (1.0)
    std[[4, 5]] = 0.011               # just above
    assert R.unused_latent(std).sum() == 3
    assert list(np.flatnonzero(R.unused_latent(std))) == [3, 50, 77]
    assert R.unused_latent(std * 1e-4).sum() == 3                       # scale-free
    assert R.unused_latent(std, rel=0.05).sum() == 5
    skew = np.ones(256)
    skew[200:] = 1000.0               # a few loud dimensions move the mean, not the median
    skew[:2] = 0.5
    assert R.unused_latent(skew).sum() == 0
    s = R.latent_summary(np.zeros(256), std, decoder_norm=np.where(np.arange(256) == 9, 0.0, 1.0))
    assert s["unused"] == 3 and s["dims"] == 256 and s["unused_dims"] == [3, 50, 77]
    assert s["effect_unused"] == 4                   # dim 9 varies, but the decoder ignores it


def _clip(i, bucket, alone, den, *, clean_input=False, n=10):
    return {"id": i, "bucket": bucket, "clean_input": clean_input,
            "tuner_raw": {"n": n, "shown": n, "right": alone, "settled_right": alone > n // 2},
            "tuner_denoised": {"n": n, "shown": n, "right": den, "settled_right": den > n // 2}}


def _report(clips, *, tracker="abc"):
    b = {"n": len(clips), "feat_mse_noisy": 0.2, "feat_mse_denoised": 0.05, "si_sdr_noisy": 1.0,
         "si_sdr_denoised": 2.0, "si_sdr_improvement": 1.0}
    return {"pitch": True, "tracker_source_sha256": tracker, "buckets": {"0 dB": b, "all": dict(b)}, "clips": clips}


SEED = [_clip("a", "0 dB", 8, 4), _clip("b", "10 dB", 10, 10), _clip("a", "clean", 9, 3, clean_input=True)]
EDGE = [_clip("a", "0 dB", 8, 9), _clip("b", "10 dB", 10, 10), _clip("a", "clean", 9, 9, clean_input=True),
        _clip("c", "0 dB", 2, 2)]


def test_tuner_rows_put_alone_edge_and_seed_side_by_side_on_the_common_clips():
    rows = {r["bucket"]: r for r in R.tuner_rows(_report(SEED), _report(EDGE))}
    assert list(rows) == ["clean", "10 dB", "0 dB", "all"]
    assert rows["0 dB"]["n"] == 1                      # clip c: only the edge evaluation scored it
    assert (rows["0 dB"]["alone"], rows["0 dB"]["edge"], rows["0 dB"]["seed"]) == (0.8, 0.9, 0.4)
    assert rows["all"]["n"] == 2                       # the clean input is not in "all"
    assert (rows["all"]["alone"], rows["all"]["edge"], rows["all"]["seed"]) == (0.9, 0.95, 0.7)
    assert rows["clean"]["seed"] == pytest.approx(0.3)
    assert rows["all"]["settled"] == {"alone": 1.0, "edge": 1.0, "seed": 0.5}


@pytest.mark.parametrize("edge", [_report(EDGE, tracker="other"), _report([_clip("z", "0 dB", 8, 9)]),
                                  _report([_clip("a", "0 dB", 7, 9)])])
def test_tuner_rows_refuse_evaluations_that_are_not_comparable(edge):
    with pytest.raises(ValueError):
        R.tuner_rows(_report(SEED), edge)


def test_build_report_writes_the_aim_the_latent_count_and_the_curve(tmp_path):
    run, ev, ee, out = tmp_path / "run", tmp_path / "ev", tmp_path / "ee", tmp_path / "out"
    for d in (run, ev, ee, ev / "listen"):
        d.mkdir()
    ep = list(range(1, 9))
    val = [0.5 * (e * 50) ** -0.3 for e in ep]
    (run / "history.json").write_text(json.dumps({"epoch": ep, "loss": val, "feat_mse": val, "val_loss": val,
                                                  "val_feat_mse": val, "seconds": [600.0] * 8}))
    (run / "model.json").write_text(json.dumps({"command": "cleartune train --preset seed", "macs_per_inference": 3_197_108_224,
                                                "metrics": {"steps_per_epoch": 50, "batch_size": 8},
                                                "extra": {"train_config": {"learning_rate": 5e-4}, "data": {"train_mixes": 2080}}}))
    std = np.ones(256)
    std[:7] = 1e-4
    seed = _report(SEED)
    seed.update({"model": "runs/x/model.keras", "data": "data/seed", "split": "test", "n_clips": 2,
                 "feat_mse_denoised": 0.05, "feat_mse_noisy": 0.2, "macs_per_inference": 3_197_108_224,
                 "latent": {"mean": [0.0] * 256, "std": std.tolist()}})
    (ev / "report.json").write_text(json.dumps(seed))
    (ee / "report.json").write_text(json.dumps(_report(EDGE)))
    for i in ("x1", "x2", "x3"):
        for k in ("noisy", "denoised", "clean"):
            (ev / "listen" / f"{i}_{k}.wav").write_bytes(b"RIFF")
    s = R.build_report(run=run, eval_dir=ev, edge_eval=ee, quant=None, out=out, listen=2)
    md = (out / "README.md").read_text()
    assert s["latent"]["unused"] == 7
    assert "**7 of 256 unused**" in md and "9 of 256" in md
    assert "**test 0.0500**" in md and "not met" in md
    assert s["trend_val"]["b"] == pytest.approx(0.3, rel=1e-6)
    assert s["trend_val"]["steps_to_aim"] == pytest.approx((0.5 / 0.001) ** (1 / 0.3), rel=1e-6)
    assert s["steps"] == 400 and s["examples_seen"] == 3200
    assert (out / "training_curve.png").stat().st_size > 1000 and (out / "latent.png").is_file()
    assert sorted(p.name for p in (out / "listen").iterdir()) == sorted(f"{i}_{k}.wav" for i in ("x1", "x2")
                                                                        for k in ("noisy", "denoised", "clean"))
    assert "| all | 2 | 90.0 % | 95.0 % | 70.0 % |" in md
    assert s["pi4_seconds_per_window_one_core"] == pytest.approx((3.197108224, 1.598554112))


def test_error_bands_split_the_squared_error_by_clean_level():
    lo, hi = -200.0, -20.0                                   # a 180 dB per-clip range
    def to_img(db):
        return (np.asarray(db) - lo) / (hi - lo) * 2.0 - 1.0

    clean = to_img([-20.0, -40.0, -70.0, -150.0])            # 0, -20, -50, -130 dB below the peak
    out = clean + np.array([0.0, 0.1, 0.0, 0.3])
    bands = R.error_bands([out], [clean], [(lo, hi)])
    assert [b["bins"] for b in bands] == [0.5, 0.25, 0.0, 0.25]
    assert bands[0]["error_share"] == pytest.approx(0.01 / 0.10)
    assert bands[3]["error_share"] == pytest.approx(0.09 / 0.10)
    assert bands[3]["mse"] == pytest.approx(0.09)
    assert math.isnan(bands[2]["mse"])
