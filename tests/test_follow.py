"""Follows the peg, holds still (issue 13): the shown pitch follows a string whose pitch is
turned while it rings, and does not wander while it holds.

Synthetic strings with an exactly known pitch curve (phase = the integral of f); the
recorded-note figures are in ``cleartune bench glide`` (bench/results/glide.md).
"""
import math

import numpy as np
import pytest
from tracking import track

from cleartune.edge import shown_pitch as SP
from cleartune.edge.params import EDGE
from cleartune.edge.pitch import PitchParams
from cleartune.edge.tracks import Track

SR = EDGE.sample_rate
TURN_AT, TURN_S = 1.0, 0.4


def bend_cents(t, cents, *, start=TURN_AT, turn=TURN_S):
    """Raised-cosine turn of ``cents`` over ``turn`` seconds from ``start`` [cents]."""
    u = np.clip((np.asarray(t, np.float64) - start) / turn, 0.0, 1.0)
    return cents / 2.0 * (1.0 - np.cos(np.pi * u))


def string(f0, cents=0.0, *, seconds=2.6, n_partials=12, seed=0):
    """A decaying harmonic string at ``f0`` [Hz] from 0.05 s, turned by ``cents`` (see
    :func:`bend_cents`); its exact f1 at every sample."""
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * 2.0 ** (bend_cents(t, cents) / 1200.0)
    phase = 2 * np.pi * np.cumsum(f) / SR
    rng = np.random.default_rng(seed)
    x = np.zeros_like(t)
    for k in range(1, n_partials + 1):
        if k * f0 > 0.4 * SR:
            break
        x += np.exp(-t * (0.8 + 0.15 * k)) / k * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    on = t >= 0.05
    x = np.where(on, x, 0.0) * 0.3
    return x.astype(np.float32), f


def _errors(readings, f):
    t = np.array([r.t for r in readings])
    got = np.array([r.f0_hz if r.f0_hz else np.nan for r in readings], np.float64)
    idx = np.minimum((t * SR).astype(int) - 1, len(f) - 1)      # a reading's t: its newest sample
    return t, 1200 * np.log2(got / f[idx])


@pytest.mark.parametrize("f0,cents", [(110.0, 25.0), (196.0, -25.0), (329.63, 10.0), (82.41, -10.0), (246.94, 5.0)])
def test_the_needle_follows_a_turned_peg(f0, cents):
    """Turns of 5-25 cents over 0.4 s (up to 98 cents/s): >= 85 % of the readings during the
    turn within 3 cents of the moving pitch, and every reading from 60 ms after it ends
    within 1 cent."""
    x, f = string(f0, cents)
    t, err = _errors(track(x), f)
    during = (t >= TURN_AT) & (t <= TURN_AT + TURN_S)
    ok = np.abs(np.nan_to_num(err[during], nan=99.0)) <= 3.0
    assert ok.mean() >= 0.85, np.round(err[during], 2)
    after = (t >= TURN_AT + TURN_S + 0.06) & (t <= TURN_AT + TURN_S + 0.8)
    assert after.sum() >= 15
    assert np.all(np.abs(np.nan_to_num(err[after], nan=99.0)) <= 1.0), np.round(err[after], 2)


@pytest.mark.parametrize("f0", [110.0, 196.0, 440.0])
def test_the_needle_holds_still_on_a_steady_string(f0):
    """No turn: the shown pitch over one second (0.6-1.6 s) wanders by at most 0.02 cent (std)."""
    x, f = string(f0, 0.0)
    t, err = _errors(track(x), f)
    hold = (t >= 0.6) & (t <= 1.6)
    assert np.isfinite(err[hold]).all() and hold.sum() >= 20
    assert np.std(err[hold]) <= 0.02, np.std(err[hold])


# -- the rules as pure functions ----------------------------------------------------------------
class _Probe:
    def __init__(self, f1):
        self.f1 = f1


def _track_at(f=200.0, quiet=(0.1, -0.1, 0.05, -0.05)):
    tr = Track(f, born=0, start=0, onset_born=True)
    tr.mean_f, tr.mean_sigma = f, 0.001
    tr.probe_d = list(quiet)
    return tr


def _hz(c, f=200.0):
    return f * 2 ** (c / 1200)


P = PitchParams()
SLOPES = dict(min_slope=0.93, max_slope=4.64)     # 20 and 100 cents/s at 21.5 readings/s


def test_two_probes_beyond_the_scatter_on_one_side_are_a_turn():
    tr = _track_at()
    tr.move_votes = SP.motion_vote(tr, _Probe(_hz(2.0)), P, **SLOPES)
    assert tr.move_votes == 1
    tr.move_votes = SP.motion_vote(tr, _Probe(_hz(3.5)), P, **SLOPES)
    assert tr.move_votes == 2
    tr2 = _track_at()                      # other side: starts over
    tr2.move_votes = SP.motion_vote(tr2, _Probe(_hz(2.0)), P, **SLOPES)
    assert SP.motion_vote(tr2, _Probe(_hz(-2.0)), P, **SLOPES) == -1


def test_a_quiet_probe_votes_nothing_and_joins_the_scatter():
    tr = _track_at()
    assert SP.motion_vote(tr, _Probe(_hz(0.3)), P, **SLOPES) == 0
    assert len(tr.probe_d) == 5 and tr.probe_d[-1] == pytest.approx(0.3, abs=1e-6)


def test_no_vote_before_the_scatter_is_known_nor_for_a_jump_nor_under_a_pulled_short_frame():
    assert SP.motion_vote(_track_at(quiet=(0.1,)), _Probe(_hz(2.0)), P, **SLOPES) == 0   # too few quiet
    assert SP.motion_vote(_track_at(), _Probe(_hz(12.0)), P, **SLOPES) == 0              # a jump, not a peg
    pulled = (-5.0, -5.2, -4.9, -5.1)                                                   # short frames 5 cents off
    assert SP.motion_vote(_track_at(quiet=pulled), _Probe(_hz(-1.0)), P, **SLOPES) == 0


def test_a_ramp_is_a_smooth_one_way_run_of_probes():
    ramp = [_hz(c) for c in (0.0, 1.0, 2.1, 3.1)]
    assert SP.is_ramp(ramp, P, **SLOPES)
    assert not SP.is_ramp([_hz(c) for c in (0.0, 0.8, 0.5, 2.6)], P, **SLOPES)      # not one way
    assert not SP.is_ramp([_hz(c) for c in (0.0, 0.1, 9.0, 9.2)], P, **SLOPES)      # a jump
    assert not SP.is_ramp([_hz(c) for c in (0.0, 0.1, 0.2, 0.3)], P, **SLOPES)      # too slow
    assert not SP.is_ramp(ramp[:3], P, **SLOPES)                                    # too few


def test_the_line_is_carried_to_the_newest_sample():
    """Two estimates 1 reading apart rising 4 cents: shown 4 cents above the newest estimate's
    pitch when it applies one reading before the newest sample."""
    tr = _track_at()

    class E:
        def __init__(self, f1):
            self.f1, self.sigma, self.frames = f1, 0.01, (1024, 1024)

    SP.follow_estimate(tr, E(_hz(0.0)), P, reading=10, lag=1024)
    slope = SP.follow_estimate(tr, E(_hz(4.0)), P, reading=11, lag=1024)
    assert slope == pytest.approx(4.0, abs=1e-6)
    assert 1200 * math.log2(tr.mean_f / 200.0) == pytest.approx(8.0, abs=1e-6)


def test_a_slow_ramp_of_probes_is_a_turn_though_no_probe_stands_out():
    """A slow turn (5 cents in 0.4 s) creeps into the scatter of the quiet probes: the ramp of
    the newest probes calls it at once."""
    tr = _track_at(quiet=(0.9, -0.9, 0.8, -0.8))          # scatter ~0.85: the limit is ~3.4 cents
    votes = [SP.motion_vote(tr, _Probe(_hz(c)), P, **SLOPES) for c in (0.0, 1.0, 2.0, 3.0)]
    assert votes[:3] == [0, 0, 0] and abs(votes[3]) >= P.follow_readings


def test_no_turn_is_judged_when_the_short_frames_scatter_noise():
    """Quiet probes scattered beyond follow_max_scatter_cents (noise): the short frames cannot
    tell a turn, neither by one far probe nor by a ramp; the averaged pitch is kept."""
    noisy = (1.5, -1.6, 1.4, -1.5, 1.6, -1.4)
    tr = _track_at(quiet=noisy)
    for c in (8.0, 9.0):
        tr.move_votes = SP.motion_vote(tr, _Probe(_hz(c)), P, **SLOPES)
        assert tr.move_votes == 0
    tr = _track_at(quiet=noisy)
    votes = [SP.motion_vote(tr, _Probe(_hz(c)), P, **SLOPES) for c in (0.0, 2.0, 4.0, 6.0)]
    assert votes == [0, 0, 0, 0]
