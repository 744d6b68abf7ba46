"""The streaming framer and overlap-add: bit-exact against features.stft / features.istft."""
import numpy as np
import pytest
import scipy.fft

from cleartune.edge import features as F
from cleartune.edge.framer import Framer, OverlapAdd
from cleartune.edge.params import EDGE, SignalParams

#: Parameter sets: the edge preset and one where n_fft/2 is not a multiple of hop.
PARAMS = [EDGE, SignalParams(name="odd", n_fft=1000, hop=300, n_bins=500)]


def _signal(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / EDGE.sample_rate
    return (0.3 * np.sin(2 * np.pi * 110 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: p.name)
def test_framer_is_bit_exact_with_stft(params):
    x = _signal(params.hop * 40)
    spec = F.stft(x, params=params)
    fr = Framer(params=params)
    got = []
    for j in range(len(x) // params.hop):
        s = fr.push(x[j * params.hop : (j + 1) * params.hop])
        if j < fr.lookahead_hops - 1:
            assert s is None
        else:
            assert s is not None and fr.index == j - fr.lookahead_hops + 1
            got.append(s.copy())
    got = np.array(got)
    n = len(got)
    assert n == len(spec) - fr.lookahead_hops + 1  # the last frames need samples after the end
    # the framer computes exactly features.frame_spectrum of each centred frame: bit-exact everywhere
    half = params.n_fft // 2
    padded = np.concatenate([np.zeros(half), x.astype(np.float64), np.zeros(half)])
    frames = np.array([padded[k * params.hop : k * params.hop + params.n_fft] for k in range(n)])
    single = np.array([F.frame_spectrum(f, params=params) for f in frames])
    assert np.array_equal(got, single)
    # features.stft transforms all frames in one batched FFT call.  Where the platform's FFT
    # rounds a batch like single transforms (x86-64) the framer equals stft bit for bit; where
    # it does not (aarch64: pocketfft's SIMD batches use fused multiply-adds) to float rounding.
    windowed = frames * F.window(params)
    batch_is_single = np.array_equal(scipy.fft.rfft(windowed, axis=1),
                                     np.array([scipy.fft.rfft(w) for w in windowed]))
    if batch_is_single:
        assert np.array_equal(got, spec[:n])
    np.testing.assert_allclose(got, spec[:n], rtol=1e-12, atol=1e-15)
    assert fr.lag_samples >= params.n_fft // 2


def test_framer_reuses_its_buffers():
    fr = Framer()
    x = _signal(EDGE.hop * 4)
    outs = [fr.push(x[j * EDGE.hop : (j + 1) * EDGE.hop]) for j in range(4)]
    assert outs[0] is None
    assert outs[1] is outs[2] is outs[3]  # one preallocated spectrum, overwritten in place
    with pytest.raises(ValueError, match="256"):
        fr.push(np.zeros(100))
    fr.reset()
    assert fr.received == 0 and fr.index == -1


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: p.name)
def test_overlap_add_equals_istft(params):
    x = _signal(params.hop * 40, seed=2)
    spec = F.stft(x, params=params)
    rng = np.random.default_rng(3)
    spec = spec * rng.uniform(0, 1, spec.shape)  # an arbitrary mask: the inverse is no longer trivial
    ola = OverlapAdd(params=params)
    out = np.concatenate([ola.add(s).copy() for s in spec])
    half = params.n_fft // 2
    ref = F.istft(spec, params=params)
    # out[i] is signal sample i - n_fft//2; samples before the start come out as zeros
    assert np.all(out[:half] == 0.0)
    n = len(out) - half
    np.testing.assert_allclose(out[half:], ref[:n], rtol=0, atol=1e-12)


def test_round_trip_through_framer_and_overlap_add_is_identity():
    t = np.arange(EDGE.hop * 30) / EDGE.sample_rate
    x = sum(a * np.sin(2 * np.pi * f * t + f) for a, f in ((0.3, 110.0), (0.2, 441.0), (0.1, 1234.5)))
    fr, ola = Framer(), OverlapAdd()
    out = []
    for j in range(len(x) // EDGE.hop):
        s = fr.push(x[j * EDGE.hop : (j + 1) * EDGE.hop])
        out.append(ola.add(s).copy() if s is not None else np.zeros(EDGE.hop))
    y = np.concatenate(out)
    latency = EDGE.n_fft - EDGE.hop
    # band-limited content (no Nyquist) comes back exactly, delayed by n_fft - hop (after the
    # first frame: the abrupt start has Nyquist content, which the n_bins cut drops)
    skip = EDGE.n_fft
    np.testing.assert_allclose(y[latency + skip :], x[skip : len(x) - latency], atol=1e-9)
    assert np.all(y[:latency] == 0.0)
