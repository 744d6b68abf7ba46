"""``cleartune bench glide`` (bench/glide.py): exact bends, the differential truth and the
follow / settle / stable-needle figures, on synthetic signals and hand-made readings."""
import argparse
import csv
import json
import math

import numpy as np
import pytest

from cleartune.bench import glide as G
from cleartune.bench import precision as P
from cleartune.edge.audio_io import write_wav
from cleartune.train import synth as S

SR = S.DEFAULT_SAMPLE_RATE


def chirp(f0: float, n: int, *, cents_per_s: float = 0.0, onset: int = 0) -> np.ndarray:
    """A sine whose pitch moves linearly in cents (exact phase integral); zeros before ``onset``."""
    t = np.arange(n - onset) / SR
    k = cents_per_s * math.log(2) / 1200
    phase = 2 * np.pi * f0 * (t if k == 0 else np.expm1(k * t) / k)
    return np.concatenate([np.zeros(onset), np.sin(phase)])


def test_bend_curve_endpoints_and_rate():
    t = np.linspace(0, 2, 200001)
    c = G.bend_curve(t, start_s=0.6, turn_s=0.4, cents=25.0)
    assert np.all(c[t <= 0.6] == 0) and np.allclose(c[t >= 1.0], 25.0)
    assert G.bend_curve(np.array([0.8]), start_s=0.6, turn_s=0.4, cents=25.0)[0] == pytest.approx(12.5)
    assert np.all(np.diff(c) >= -1e-12)                               # monotonic
    rate = np.diff(c) / np.diff(t)
    assert rate.max() == pytest.approx(G.peak_rate(turn_s=0.4, cents=25.0), rel=1e-4)
    assert G.peak_rate(turn_s=0.4, cents=-25.0) == pytest.approx(98.17, abs=0.01)
    assert t[np.argmax(rate)] == pytest.approx(0.8, abs=1e-4)         # steepest in the middle
    down = G.bend_curve(t, start_s=0.6, turn_s=0.4, cents=-10.0)
    assert down[-1] == pytest.approx(-10.0) and down.min() == pytest.approx(-10.0)


def test_warp_by_a_constant_is_the_sine_at_the_shifted_pitch():
    f, cents = 440.0, 17.0
    n = int(1.5 * SR)
    x = np.sin(2 * np.pi * f * np.arange(n) / SR)
    y = G.warp(x, np.full(n, cents))
    assert len(y) == pytest.approx((n - 1) / 2 ** (cents / 1200) + 1, abs=1)
    ref = np.sin(2 * np.pi * f * 2 ** (cents / 1200) * np.arange(len(y)) / SR)
    m = slice(100, len(y) - 100)
    rel = np.sqrt(np.mean((y[m] - ref[m]) ** 2) / np.mean(ref[m] ** 2))
    assert rel < 1e-3
    down = G.warp(x, np.full(n, -cents))           # lower: longer than x would allow -> cut at x's end
    assert len(down) == n


@pytest.mark.parametrize("cents", [25.0, -10.0])
def test_warp_by_a_bend_has_the_expected_instantaneous_frequency(cents):
    from scipy.signal import hilbert

    f, n = 330.0, int(2.5 * SR)
    x = np.sin(2 * np.pi * f * np.arange(n) / SR)
    c = G.bend_of(n, start_s=0.8, turn_s=0.4, cents=cents)
    y = G.warp(x, c)
    ph = np.unwrap(np.angle(hilbert(y)))
    w = 220                                         # 10 ms
    idx = np.arange(int(0.3 * SR), int(1.8 * SR), 37)
    f_inst = (ph[idx + w] - ph[idx]) / (2 * np.pi * w / SR)
    expected = f * 2 ** (G.bend_curve((idx + w / 2) / SR, start_s=0.8, turn_s=0.4, cents=cents) / 1200)
    err = 1200 * np.log2(f_inst / expected)
    assert np.max(np.abs(err)) < 0.05
    inside = (idx / SR > 0.85) & (idx / SR < 1.15)
    assert np.ptp(expected[inside]) > 0.5 * abs(cents) * f / 1731   # (the bend is really there)


def _handmade(cents=25.0, drift=40.0, null_at=None):
    """x readings every 1024 samples of a pitch drifting ``drift`` c/s, and the exact readings
    of the bent note every 256 samples: (tx, fx, ty, fy, phi, c)."""
    n = 3 * SR
    c = G.bend_of(n, start_s=1.0, turn_s=0.4, cents=cents)
    phi = G.phase_map(c)
    tx = np.arange(1, n // 1024) * 1024 / SR
    fx = 200 * 2 ** (drift * tx / 1200)
    if null_at is not None:
        fx[null_at] = np.nan
    ty = np.arange(8, n // 256 - 8) * 256 / SR
    u = np.interp(ty * SR, np.arange(n), phi) / SR
    fy = 200 * 2 ** ((drift * u + np.interp(ty * SR, np.arange(n), c)) / 1200)
    return tx, fx, ty, fy, phi, c


def test_differential_truth_is_x_at_phi_plus_the_bend():
    tx, fx, ty, fy, phi, c = _handmade()
    truth = G.differential_truth(ty, tx=tx, fx=fx, phi=phi, c=c)
    err = G.errors_cents(fy, truth)
    scored = np.isfinite(truth)
    assert scored.mean() > 0.95
    assert np.max(np.abs(err[scored])) < 1e-6
    # phi(t) runs ahead of t after an upward bend: without it the truth would be off by the drift
    late = ty > 2.0
    assert np.all(phi[(ty[late] * SR).astype(int)] / SR - ty[late] > 0.01)
    # a reading of x without a note leaves the readings of y around phi(t) unscored
    tx, fx, ty, fy, phi, c = _handmade(null_at=40)
    truth = G.differential_truth(ty, tx=tx, fx=fx, phi=phi, c=c)
    u = np.interp(ty * SR, np.arange(len(phi)), phi) / SR
    near = (u > tx[39]) & (u < tx[41])
    assert near.any() and not np.isfinite(truth[near]).any()
    assert np.isfinite(truth[~near & (u > tx[0]) & (u < tx[-1])]).all()


def test_within_share_counts_null_readings_as_misses():
    t = np.arange(10) * 0.05
    err = np.array([9, 0.5, -2.9, np.nan, 3.5, 1, 1, 0, 9, 9], float)
    scored = np.ones(10, bool)
    scored[5] = False                                  # no truth: not counted at all
    share, hits, n = G.within_share(t, err, scored, start_s=0.05, end_s=0.36, tol=3.0)
    assert (hits, n) == (4, 6) and share == pytest.approx(4 / 6)   # 0.5 -2.9 [nan] [3.5] (no truth) 1 0
    assert math.isnan(G.within_share(t, err, scored, start_s=5, end_s=6)[0])


def test_settle_time_rules():
    t = 1.0 + np.arange(20) * 0.05                    # the turn ends at 1.0
    ok = np.zeros(20)
    scored = np.ones(20, bool)
    assert G.settle_time(t, ok, scored, end_s=1.0, after_s=0.8) == 0.0
    e = ok.copy()
    e[[0, 3]] = [5.0, 1.2]                             # off at 1.0 and 1.15: stays within from 1.20
    assert G.settle_time(t, e, scored, end_s=1.0, after_s=0.8) == pytest.approx(0.20)
    e = ok.copy()
    e[2] = np.nan                                      # no note is not settled
    assert G.settle_time(t, e, scored, end_s=1.0, after_s=0.8) == pytest.approx(0.15)
    e = ok.copy()
    e[16] = 2.0                                        # 1.80: the last reading in the window
    assert G.settle_time(t, e, scored, end_s=1.0, after_s=0.8) == math.inf
    e[17:] = 50.0                                      # past the window: not watched
    e[16] = 0.0
    assert G.settle_time(t, e, scored, end_s=1.0, after_s=0.8) == 0.0
    e = ok.copy()
    e[4] = 3.0
    s2 = scored.copy()
    s2[4] = False                                      # unscored readings are neither good nor bad
    assert G.settle_time(t, e, s2, end_s=1.0, after_s=0.8) == 0.0
    assert math.isnan(G.settle_time(t, ok, np.zeros(20, bool), end_s=1.0))


def test_needle_std_only_readings_with_a_note():
    t = np.arange(40) * 0.05
    f = 440 * 2 ** (np.where(np.arange(40) % 2, 0.1, -0.1) / 1200)
    f[10] = np.nan
    s, n_note, n_all = G.needle_std(t, f, from_s=0.5, length_s=1.0)
    assert n_all == 21 and n_note == 20 and s == pytest.approx(0.1, abs=1e-6)
    assert math.isnan(G.needle_std(t[:1], f[:1], from_s=0.0)[0])


def _oracle(lag_s: float = 0.0):
    """A reader that knows the instantaneous frequency (analytic signal over the newest 10 ms),
    a reading every 256 samples, reported ``lag_s`` late."""
    from scipy.signal import hilbert

    def read(x):
        a = hilbert(np.asarray(x, np.float64))
        ph = np.unwrap(np.angle(a))
        n = np.arange(512, len(x), 256)
        f = (ph[n] - ph[n - 220]) / (2 * np.pi * 220 / SR)
        f[np.abs(a[n]) < 0.1] = np.nan
        return n / SR + lag_s, f
    return read


def test_glide_note_scores_a_perfect_reader_perfect_and_a_lagging_one_not():
    """An (almost) lag-free reader of a note drifting 100 c/s follows every bend; one whose
    readings come 100 ms late misses the turn and settles late -- the truth must use phi(t)
    (the drift), the sign of c, and the reading times."""
    x = chirp(196.0, int(3.2 * SR), cents_per_s=100.0, onset=int(0.3 * SR))
    g = G.glide_note(x, onset_s=0.3, readers={"oracle": _oracle(), "late": _oracle(0.1)}, bends=(25.0, -10.0),
                     keep_traces=(25.0,))
    for row in g["bends"]:
        o, late = row["systems"]["oracle"], row["systems"]["late"]
        assert o["turn_readings"] >= 30 and o["within_turn"] == 1.0, row
        assert o["settle_s"] <= 0.02 and o["watched_s"] >= 0.75, row
        assert late["settle_s"] > (G.TARGETS["settle_s"] if abs(row["cents"]) >= 25 else 0.02), row
    big = g["bends"][0]["systems"]["late"]
    assert big["within_turn"] < 0.6
    assert g["stable"]["oracle"]["readings_with_note"] >= 80
    assert g["traces"] and set(g["traces"][0]["systems"]) == {"oracle", "late"}
    assert g["traces"][0]["systems"]["oracle"]["no_note_t"] == []     # (a perfect reader always shows a note)


@pytest.mark.skipif(not P.aubio_available(), reason="aubiopitch (Debian aubio-tools) not installed")
def test_aubio_reading_times_are_the_newest_sample():
    """A step in pitch at 1.0 s: aubio's readings before it read the old pitch, and the first
    reading at or after it already moves (its time is the newest sample, not the frame end)."""
    n = 2 * SR
    t = np.arange(n) / SR
    f = np.where(t < 1.0, 440.0, 466.16)
    x = (0.5 * np.sin(2 * np.pi * np.cumsum(f) / SR)).astype(np.float32)
    tr, fr = P.aubio_reader()(x)
    before = (tr < 1.0) & (tr > 0.3)
    assert np.all(np.abs(1200 * np.log2(fr[before] / 440.0)) < 0.01)
    first = int(np.flatnonzero(tr >= 1.0)[0])
    assert tr[first] < 1.0 + 256 / SR
    assert abs(1200 * np.log2(fr[first] / 440.0)) > 0.05


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """One recorded-like note (a plucked string) as a dataset folder."""
    root = tmp_path_factory.mktemp("glide")
    (root / "clean").mkdir()
    x, f1 = S.plucked_string(S.detuned_hz(57, 4.0), duration=2.6, onset_s=0.3, seed=1)
    write_wav(root / "clean" / "m0.wav", x, SR)
    row = {"id": "m0", "split": "test", "clean_path": "clean/m0.wav", "guitar_recording": "r0", "note": "A3",
           "f0_hz": f1, "onset_s": 0.3, "sample_rate": SR, "clip_samples": len(x)}
    with open(root / "metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(row))
        w.writeheader()
        w.writerow(row)
    return root


def test_measure_and_write_glide(dataset, tmp_path):
    r = G.measure_glide(dataset, systems=("no-denoise",), bends=(25.0,), steady=False, command="cleartune bench glide")
    s = r["systems"]["no-denoise"]
    assert s["follow"]["bends"] == 1 and s["follow"]["turn_readings"] >= 5
    assert s["recorded"]["items"] == 1 and s["recorded"]["readings"] >= 15
    assert [t["pass"] for t in s["targets"]][2] is None            # no steady tones: not judged
    paths = G.write_glide(r, tmp_path)
    md = paths["md"].read_text()
    assert "cleartune bench glide" in md and "## Targets (issue 13)" in md and "| no-denoise |" in md
    assert json.loads(paths["json"].read_text())["systems"]["no-denoise"]["follow"]["bends"] == 1
    assert paths["png"].stat().st_size > 10_000


def test_cli_glide_rejects_bad_input(dataset, tmp_path):
    from cleartune.bench import cli_bench

    p = argparse.ArgumentParser()
    cli_bench.add_arguments(p)
    for argv, msg in ((["glide", "--systems", "default,nope"], "unknown system"),
                      (["glide", "--bends", "5,0"], "non-zero"), (["glide", "--turn-s", "0"], "--turn-s")):
        args = p.parse_args(argv + ["--data", str(dataset), "--out", str(tmp_path), "--no-denoise"])
        with pytest.raises(ValueError, match=msg):
            cli_bench.run(args)
    assert G.parse_bends("5, -25") == (5.0, -25.0) and G.parse_bends(None) == G.DEFAULT_BENDS


def test_follow_stats_with_bends_that_never_settle():
    rows = [{"systems": {"s": {"within_turn": w, "turn_hits": h, "turn_readings": 10, "settle_s": tau}}}
            for w, h, tau in ((0.5, 5, 0.02), (1.0, 10, math.inf), (0.2, 2, 0.3), (0.6, 6, math.inf),
                              (0.9, 9, float("nan")))]
    rows[1]["systems"]["s"]["watched_s"] = 0.1                        # never settled, but the note died
    rows[3]["systems"]["s"]["watched_s"] = 0.75
    f = G.follow_stats(rows, "s")
    assert f["within_turn_pooled"] == pytest.approx(32 / 50) and f["within_turn_median"] == pytest.approx(0.6)
    assert f["settle_median_s"] == pytest.approx((0.3 + math.inf) / 2) and f["settle_p90_s"] == math.inf
    assert f["never_settled"] == 2 and f["never_short"] == 1 and f["settle_unscored"] == 1
    assert f["settle_within_target"] == pytest.approx(0.25)
