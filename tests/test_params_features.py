"""Signal parameters (one source of truth) and the seed's polar STFT features."""
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal

from cleartune.edge import features as F
from cleartune.edge.errors import ParamsMismatchError
from cleartune.edge.params import EDGE, SEED, SignalParams, check_compatible
from cleartune.train.variants import from_seed_image, to_seed_image


def _snr_db(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


def _band_limited_noise(n, seed=0):
    x = np.random.default_rng(seed).standard_normal(n) * 0.1
    return scipy.signal.sosfilt(scipy.signal.butter(8, 0.9, output="sos"), x)


def _plucked(f0, n, sr, seed=1):
    t = np.arange(n) / sr
    x = sum(np.exp(-t * (1 + k)) * np.sin(2 * np.pi * k * f0 * t + k) / k for k in range(1, 12) if k * f0 < sr / 2.2)
    return 0.5 * x


def test_seed_shapes():
    x = _band_limited_noise(SEED.clip_samples)
    spec = F.stft(x, params=SEED)
    assert spec.shape == (256, 512)  # frames x bins; the seed image is (512, 256, 1)
    rho, theta, _ = F.polar_features(spec, params=SEED)
    img = to_seed_image(rho, params=SEED)
    assert img.shape == (512, 256, 1)
    assert img.min() >= -1.0 and img.max() <= 1.0
    assert rho.min() == pytest.approx(-100.0) and rho.max() == pytest.approx(100.0)  # per-clip min-max
    assert theta.min() >= -1.0 and theta.max() <= 1.0
    np.testing.assert_allclose(from_seed_image(img, params=SEED), rho, atol=1e-4)


@pytest.mark.parametrize("params", [SEED, EDGE])
@pytest.mark.parametrize("kind", ["noise", "pluck"])
def test_round_trip_snr_above_60_db(params, kind):
    n = params.clip_samples
    x = _band_limited_noise(n) if kind == "noise" else _plucked(110.0, n, params.sample_rate)
    rho, theta, rng = F.polar_features(F.stft(x, params=params), params=params)
    y = F.features_to_audio(rho, theta, params=params, db_range=rng, length=n)
    assert _snr_db(x, y) > 60.0


def test_fixed_scaling_clips_and_is_frame_local():
    x = _plucked(220.0, 8192, EDGE.sample_rate)
    spec = F.stft(x, params=EDGE)
    rho, _, rng = F.polar_features(spec, params=EDGE)
    assert rng == (EDGE.db_min, EDGE.db_max)
    # one frame alone gives the same features as the whole signal (streaming == offline)
    rho5, _, _ = F.polar_features(spec[5:6], params=EDGE)
    np.testing.assert_array_equal(rho5[0], rho[5])


def test_full_scale_sine_reads_0_dbfs():
    sr = EDGE.sample_rate
    f = 100 * EDGE.bin_hz  # on a bin centre
    x = np.sin(2 * np.pi * f * np.arange(8192) / sr)
    spec = F.stft(x, params=EDGE)
    assert 20 * np.log10(np.abs(spec[10, 100])) == pytest.approx(0.0, abs=0.01)


def test_frame_spectrum_equals_stft_frame():
    x = _band_limited_noise(4096, seed=3)
    spec = F.stft(x, params=EDGE)
    k = 7
    half = EDGE.n_fft // 2
    frame = x[k * EDGE.hop - half: k * EDGE.hop + half]
    np.testing.assert_allclose(F.frame_spectrum(frame, params=EDGE), spec[k], rtol=1e-10, atol=1e-12)


def test_params_json_round_trip(tmp_path):
    p = tmp_path / "p.json"
    SEED.save(p)
    assert SignalParams.load(p) == SEED
    assert json.loads(p.read_text())["sample_rate"] == 22050


def test_mismatch_is_an_error_naming_the_field():
    other = SignalParams(name="edge", hop=512)
    with pytest.raises(ParamsMismatchError, match="hop"):
        check_compatible(other, EDGE)
    check_compatible(SignalParams(name="renamed"), EDGE)  # the name alone does not matter


def test_bad_params_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ParamsMismatchError):
        SignalParams.load(bad)
    with pytest.raises(ParamsMismatchError):
        SignalParams.load(tmp_path / "missing.json")
    bad.write_text(json.dumps({"sample_rate": 22050, "bogus": 1}))
    with pytest.raises(ParamsMismatchError, match="bogus"):
        SignalParams.load(bad)


def test_help_is_fast_and_does_not_import_tensorflow():
    code = ("import sys; from cleartune.cli import main\n"
            "for c in [[], ['data'], ['train'], ['evaluate'], ['quantize'], ['report'], ['analyze'], ['run'], ['bench'], ['service']]:\n"
            "    try: rc = main(c + ['--help'])\n"
            "    except SystemExit as e: rc = e.code\n"
            "    assert rc == 0, (c, rc)\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported by --help'\n"
            "assert 'keras' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
