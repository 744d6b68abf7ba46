"""The precise estimate (edge/partials.py): a wrongly numbered inharmonic series loses to the
harmonic one, a stiff string keeps its own."""
import dataclasses
import math

import numpy as np
import pytest

from cleartune.edge.params import EDGE
from cleartune.edge.pitch import PitchParams, PitchTracker
from cleartune.edge.spectrum import ReadingSpectra
from cleartune.edge.tracks import Track, record_estimate

SR, HOP = EDGE.sample_rate, EDGE.hop
F0 = 223.5          # A3, 4.7 cents flat


def _tone(B: float, *, n_partials: int = 22, seconds: float = 1.0) -> np.ndarray:
    """Partials k f1 sqrt(1 + B k^2) / sqrt(1 + B) with amplitudes 1/k."""
    t = np.arange(int(seconds * SR)) / SR
    return 0.1 * sum(np.sin(2 * np.pi * k * F0 * math.sqrt((1 + B * k * k) / (1 + B)) * t + k) / k
                     for k in range(1, n_partials + 1))


def _estimate(x: np.ndarray, *, known_B: float, off_cents: float, params: PitchParams | None = None):
    """The tracker's precise estimate of a track at F0 + ``off_cents`` whose inharmonicity
    history says ``known_B`` (five long-frame fits), on the newest frames of ``x``."""
    tk = PitchTracker(sample_rate=SR, hop=HOP, params=params or PitchParams())
    for i in range(len(x) // HOP):
        tk.update(x[i * HOP:(i + 1) * HOP])
    tr = Track(F0 * 2 ** (off_cents / 1200), born=0, start=0, onset_born=False)
    tr.n_est, tr.B_history = 5, [known_B] * 5
    return tr, tk._estimate(tr, ReadingSpectra(tk._analyser, tk._rings, {}, reading_lag=tk.lag))


def test_a_wrong_inharmonicity_loses_to_the_harmonic_series():
    """A harmonic tone (an FM or distortion guitar) whose track learned B = 3.7e-4 from a
    misnumbered partial: searched with that B only a few partials are found and f1 reads
    cents off (the lock seen on a recorded OPL3 A3: 4.8 cents flat on every reading); the
    harmonic series explains all of them and reads f1 exactly, and the track forgets its B."""
    x = _tone(0.0)
    tr, est = _estimate(x, known_B=3.7e-4, off_cents=-4.8)
    assert est.B_rejected and not est.B_fitted and est.n == 22
    assert abs(1200 * math.log2(est.f1 / F0)) < 0.01
    record_estimate(tr, est, PitchParams(), max_slope=5.0, long_frame=4096)
    assert tr.B_history == [] and tr.inharmonicity(4e-5) == (4e-5, False)
    off = dataclasses.replace(PitchParams(), stiff_max_share=0.0)     # the check switched off
    _tr, locked = _estimate(x, known_B=3.7e-4, off_cents=-4.8, params=off)
    assert locked.n <= 4 and abs(1200 * math.log2(locked.f1 / F0)) > 1.0


@pytest.mark.parametrize("B,n_partials", [(1e-4, 22), (3e-4, 22), (1e-4, 5), (3e-4, 5)])
def test_a_stiff_string_keeps_its_inharmonicity(B, n_partials):
    """A stiff string's own B explains its partials better than the harmonic series: kept,
    also when it shows few of the partials looked for (5 of 22: the harmonic series is tried
    and loses)."""
    _tr, est = _estimate(_tone(B, n_partials=n_partials), known_B=B, off_cents=0.0)
    assert not est.B_rejected and est.B_fitted and est.B == pytest.approx(B, rel=0.05)
    assert est.n >= n_partials - 1 and abs(1200 * math.log2(est.f1 / F0)) < 0.01
