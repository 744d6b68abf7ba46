"""A physically modelled plucked string (extended Karplus-Strong / single-loop waveguide)
with its first-partial frequency known exactly.

The string is one feedback loop of an integer delay ``L`` and three filters:

* loss: ``g (1 - p) / (1 - p z^-1)`` -- a per-period gain ``g`` (sets the decay time at f0)
  and a one-pole low-pass ``p`` (higher partials decay faster: frequency-dependent damping);
* stiffness: ``M`` identical first-order allpasses ``(a + z^-1) / (1 + a z^-1)``, ``a < 0``:
  the loop delay falls with frequency, so partial ``k`` lies above ``k * f0`` (inharmonicity,
  as in a stiff string); ``a = 0`` or ``M = 0`` is a harmonic string;
* tuning: a first-order Thiran allpass ``(eta + z^-1) / (1 + eta z^-1)`` (fractional delay
  0.5-1.5 samples) chosen so that the loop's pole nearest f0 sits EXACTLY at f0: the pole of
  ``1 - H(z) z^-L`` is found by Newton's method and the allpass re-solved until its angle is
  within 1e-7 cent of the request (the pole angle is the frequency of the free decay, which is
  what the offline estimator (:mod:`.f0`) measures).

The loop is linear and time-invariant, so the whole string is one IIR filter
``A(z) / (A(z) - B(z) z^-L)`` run by ``scipy.signal.lfilter``.  It is excited by one period of
band-limited noise mixed with a smooth pluck shape, comb-filtered at the pluck position
``beta`` (``1 - z^-round(beta L)``: the partials with a node at the pluck point vanish); the
output goes through a few random body resonances (peaking biquads) and gets a short burst of
pick noise at the pluck.
"""
from __future__ import annotations

import cmath
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.optimize
import scipy.signal

#: Largest error of the pole's frequency against the request after tuning [cents].
TUNE_TOL_CENTS = 1e-7
#: Largest loop gain (reached at DC): keeps the loop stable; bright, high strings then ring shorter.
MAX_DC_GAIN = 0.999


@dataclass(frozen=True)
class StringParams:
    """One plucked string.  Units in the names; ``seed`` draws the excitation and pick noise."""

    f0_hz: float                     # first-partial frequency (exact)
    t60_s: float = 4.0               # decay time of the first partial [s]
    brightness_p: float = 0.2        # loss low-pass pole 0..0.9 (higher: partials die faster)
    stiffness_a: float = -0.3        # dispersion allpass coefficient (-0.9..0; 0: harmonic)
    stiffness_sections: int = 4      # number of dispersion allpasses
    pluck_beta: float = 0.2          # pluck position along the string (0..0.5)
    excitation_cutoff: float = 0.5   # excitation low-pass, fraction of Nyquist (velocity: brighter)
    body: tuple = ()                 # ((freq_hz, q, gain_db), ...) peaking resonances
    pick_db: float = -30.0           # pick noise level relative to the excitation peak [dB]
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _poly_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.convolve(a, b)


def _loop_filter(p: StringParams, sample_rate: int, eta: float, stiff_sections: int, stiff_a: float) -> tuple[np.ndarray, np.ndarray]:
    """``(B, A)`` of the loop filter without the integer delay (polynomials in z^-1)."""
    w0 = 2 * math.pi * p.f0_hz / sample_rate
    lp_mag = (1.0 - p.brightness_p) / abs(1.0 - p.brightness_p * cmath.exp(-1j * w0))
    # loop gain at f0 gives the first partial's T60, but the loop must stay below 1 at DC
    g = min(10.0 ** (-3.0 / (p.t60_s * p.f0_hz)) / lp_mag, MAX_DC_GAIN)
    B = np.array([g * (1.0 - p.brightness_p)])
    A = np.array([1.0, -p.brightness_p])
    for _ in range(stiff_sections):
        B = _poly_mul(B, np.array([stiff_a, 1.0]))
        A = _poly_mul(A, np.array([1.0, stiff_a]))
    B = _poly_mul(B, np.array([eta, 1.0]))
    A = _poly_mul(A, np.array([1.0, eta]))
    return B, A


def _phase_delay(b: np.ndarray, a: np.ndarray, w: float) -> float:
    """Phase delay of ``b/a`` at ``w`` [samples] (continuous phase assumed small)."""
    z = cmath.exp(-1j * w)
    h = np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    return -cmath.phase(h) / w


def _thiran_delay(eta: float, w: float) -> float:
    """Phase delay of ``(eta + z^-1) / (1 + eta z^-1)`` at ``w`` [samples]."""
    z = cmath.exp(-1j * w)
    h = (eta + z) / (1.0 + eta * z)
    ph = cmath.phase(h)
    if ph > 0:
        ph -= 2 * math.pi
    return -ph / w


def _allpass_delay(a: float, sections: int, w: float) -> float:
    if sections == 0:
        return 0.0
    z = cmath.exp(-1j * w)
    ph = cmath.phase((a + z) / (1.0 + a * z))
    if ph > 0:
        ph -= 2 * math.pi
    return -ph / w * sections


def _pole_near(B: np.ndarray, A: np.ndarray, L: int, w0: float) -> complex:
    """Root of ``A(z) - B(z) z^-L`` (polynomials in z^-1) nearest ``exp(i w0)``: Newton in ``u = z^-1``."""
    # F(u) = A(u) - B(u) u^L
    u = cmath.exp(-1j * w0)
    a_r, b_r = A[::-1], B[::-1]
    da, db = np.polyder(a_r), np.polyder(b_r)
    for _ in range(60):
        Au, Bu = np.polyval(a_r, u), np.polyval(b_r, u)
        F = Au - Bu * u ** L
        dF = np.polyval(da, u) - (np.polyval(db, u) * u ** L + Bu * L * u ** (L - 1))
        step = F / dF
        u -= step
        if abs(step) < 1e-15:
            break
    return 1.0 / u


def design_loop(p: StringParams, sample_rate: int) -> tuple[np.ndarray, np.ndarray, int, dict[str, float]]:
    """The string's loop: ``(B, A, L, info)`` with the pole at exactly ``p.f0_hz``.

    ``info``: ``eta``, ``sections`` and ``a`` actually used (the stiffness is reduced when
    the filters would not fit in one period at high notes), and ``pole_cents`` (the error
    left, ~1e-9), ``t60_s`` (decay time of the first partial, from the pole's radius)."""
    w0 = 2 * math.pi * p.f0_hz / sample_rate
    if not 0 < w0 < math.pi / 2:
        raise ValueError(f"f0 {p.f0_hz} Hz out of range for {sample_rate} Hz")
    period = 2 * math.pi / w0
    sections, a = int(p.stiffness_sections), float(p.stiffness_a)
    loss_delay = _phase_delay(np.array([1.0 - p.brightness_p]), np.array([1.0, -p.brightness_p]), w0)
    # shrink the stiffness until the filters leave at least 2.5 samples for the integer delay
    while sections > 0 and period - loss_delay - _allpass_delay(a, sections, w0) - 1.5 < 1.0:
        if sections > 1:
            sections -= 1
        else:
            a *= 0.5
            if abs(a) < 1e-3:
                sections, a = 0, 0.0
    target = w0
    eta = 0.0
    L = 0
    for _ in range(12):
        need = 2 * math.pi / target - loss_delay - _allpass_delay(a, sections, target)
        L = int(math.floor(need - 0.5))
        frac = need - L                                     # 0.5 .. 1.5
        eta = scipy.optimize.brentq(lambda e, target=target, frac=frac: _thiran_delay(e, target) - frac,
                                    -0.999, 0.999, xtol=1e-15)
        B, A = _loop_filter(p, sample_rate, eta, sections, a)
        pole = _pole_near(B, A, L, w0)
        w_pole = cmath.phase(pole)
        err_cents = 1200 * math.log2(w_pole / w0)
        if abs(err_cents) < TUNE_TOL_CENTS:
            break
        target *= w0 / w_pole
    t60 = 3.0 * math.log(10) / (-math.log(abs(pole)) * sample_rate) if abs(pole) < 1 else math.inf
    return B, A, L, {"eta": eta, "sections": sections, "a": a, "pole_cents": err_cents, "t60_s": t60}


def _excitation(p: StringParams, L: int, rng: np.random.Generator) -> np.ndarray:
    n = L + 2
    noise = rng.standard_normal(n)
    cut = min(max(p.excitation_cutoff, 0.02), 0.98)
    b, a = scipy.signal.butter(2, cut)
    noise = scipy.signal.filtfilt(b, a, noise, padlen=min(3 * max(len(a), len(b)), n - 1))
    t = np.linspace(0, 1, n)
    shape = np.minimum(t / max(p.pluck_beta, 1e-3), (1 - t) / max(1 - p.pluck_beta, 1e-3))   # triangular pluck
    e = 0.6 * shape / (np.max(np.abs(shape)) or 1) + 0.4 * noise / (np.max(np.abs(noise)) or 1)
    e -= np.mean(e)
    d = max(1, int(round(p.pluck_beta * L)))
    comb = e.copy()
    comb[d:] -= e[:-d]
    return comb


def _peaking(f_hz: float, q: float, gain_db: float, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    A = 10 ** (gain_db / 40.0)
    w = 2 * math.pi * f_hz / sample_rate
    alpha = math.sin(w) / (2 * q)
    b = np.array([1 + alpha * A, -2 * math.cos(w), 1 - alpha * A])
    a = np.array([1 + alpha / A, -2 * math.cos(w), 1 - alpha / A])
    return b / a[0], a / a[0]


def pluck(p: StringParams, sample_rate: int, *, seconds: float, pre_s: float = 0.0) -> tuple[np.ndarray, dict[str, float]]:
    """Render the string: ``pre_s`` of silence, then the pluck, ``seconds`` long in all.

    Returns ``(x, info)``: float64 ``(round(seconds*sample_rate),)`` (peak 1) and
    :func:`design_loop`'s info."""
    rng = np.random.default_rng([int(p.seed), 1717])
    B, A, L, info = design_loop(p, sample_rate)
    n = int(round(seconds * sample_rate))
    start = int(round(pre_s * sample_rate))
    exc = _excitation(p, L, rng)
    x = np.zeros(n)
    x[start:start + len(exc)] = exc[: max(0, n - start)]
    den = np.zeros(max(len(A), L + len(B)))
    den[: len(A)] += A
    den[L:L + len(B)] -= B
    y = scipy.signal.lfilter(A, den, x)
    for f, q, gdb in p.body:
        if f < 0.45 * sample_rate:
            b, a = _peaking(float(f), float(q), float(gdb), sample_rate)
            y = scipy.signal.lfilter(b, a, y)
    # pick noise: a few ms of high-passed noise at the pluck
    k = int(rng.integers(int(0.003 * sample_rate), int(0.015 * sample_rate)))
    burst = rng.standard_normal(k) * np.exp(-np.arange(k) / (k / 4))
    bh, ah = scipy.signal.butter(2, min(0.95, 2000.0 / (sample_rate / 2)), btype="high")
    burst = scipy.signal.lfilter(bh, ah, burst)
    peak = float(np.max(np.abs(y))) or 1.0
    y[start:start + k] += burst[: max(0, n - start)] / (np.max(np.abs(burst)) or 1) * peak * 10 ** (p.pick_db / 20)
    m = float(np.max(np.abs(y)))
    return (y / m if m > 0 else y), info


# -- random strings: the training band and the held-out band --------------------------------

#: Parameter bands ``name -> {param: (lo, hi) or list of (lo, hi)}``.  Band "b" (evaluation
#: only) plucks nearer the middle of the fret range (beta 0.16-0.23), with more stiffness and
#: darker loss, and other body resonances; band "a" (training) covers the rest.
BANDS: dict[str, dict[str, Any]] = {
    "a": {"pluck_beta": [(0.05, 0.16), (0.23, 0.45)], "stiffness_a": (-0.45, 0.0), "stiffness_sections": (1, 6),
          "brightness_p": (0.05, 0.45), "t60_at_e2_s": (3.0, 9.0), "body_hz": (80.0, 600.0)},
    "b": {"pluck_beta": [(0.16, 0.23)], "stiffness_a": (-0.7, -0.45), "stiffness_sections": (2, 8),
          "brightness_p": (0.45, 0.65), "t60_at_e2_s": (2.0, 6.0), "body_hz": (600.0, 1400.0)},
}


def _uniform(rng: np.random.Generator, spec) -> float:
    if isinstance(spec, list):
        widths = np.array([b - a for a, b in spec])
        i = int(rng.choice(len(spec), p=widths / widths.sum()))
        return float(rng.uniform(*spec[i]))
    return float(rng.uniform(*spec))


def random_string(f0_hz: float, *, band: str, velocity: int, rng: np.random.Generator) -> StringParams:
    """A random string of parameter band ``band`` (``'a'`` train, ``'b'`` held out)."""
    b = BANDS[band]
    lo_s, hi_s = b["stiffness_sections"]
    t60_e2 = _uniform(rng, b["t60_at_e2_s"])
    t60 = max(0.8, t60_e2 * (82.41 / f0_hz) ** 0.5)          # high notes ring shorter
    n_body = int(rng.integers(2, 5))
    body = []
    for i in range(n_body):
        f = float(rng.uniform(*b["body_hz"])) * (1.0 if i < 2 else float(rng.uniform(2.0, 5.0)))
        body.append((f, float(rng.uniform(4.0, 25.0)), float(rng.uniform(2.0, 10.0))))
    return StringParams(
        # the loss filter acts once per period: scale it down for high notes so they still ring
        f0_hz=float(f0_hz), t60_s=t60, brightness_p=_uniform(rng, b["brightness_p"]) * min(1.0, 196.0 / f0_hz),
        # the same allpass disperses a short period more: scale it down for high notes too
        stiffness_a=_uniform(rng, b["stiffness_a"]) * min(1.0, 196.0 / f0_hz), stiffness_sections=int(rng.integers(lo_s, hi_s + 1)),
        pluck_beta=_uniform(rng, b["pluck_beta"]),
        excitation_cutoff=0.15 + 0.75 * (velocity / 127.0) * float(rng.uniform(0.7, 1.0)),
        body=tuple(body), pick_db=float(rng.uniform(-40.0, -18.0)), seed=int(rng.integers(0, 2 ** 31)),
    )
