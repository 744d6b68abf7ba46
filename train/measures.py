"""How cleartune scores itself: each measure defined once, used by every report.

``cleartune evaluate`` (:mod:`cleartune.train.evaluation`), the float-vs-int8 report
(:mod:`cleartune.quantize.report`) and the benchmarks (:mod:`cleartune.bench.accuracy`,
:mod:`cleartune.bench.references`) all import these, so the same model gets the same
figures everywhere.  numpy and :mod:`cleartune.edge` only (the quantize report runs on an
edge-only install).

* :func:`si_sdr` -- scale-invariant SDR [dB], capped at +-:data:`SI_SDR_CAP_DB`.
* :func:`snr_bucket` -- the SNR level a mix is reported under (nearest multiple of
  :data:`SNR_STEP_DB`; ``clean`` / ``unknown``), :func:`bucket_sort_key` their order.
* The settle rule: :func:`counts_from` / :func:`readings_that_count` -- the readings of
  a clip that are scored start :data:`SETTLE_S` after the pluck (or the clip start).
* The settled reading (:func:`settled_reading`) -- what a player reads off the needle
  for one clip: the median reading from :data:`SETTLED_FROM_S` to :data:`SETTLED_TO_S`
  after the pluck.
* True-note arithmetic (:func:`right_notes`, :func:`nearest_notes`, :func:`judge`) on
  :mod:`cleartune.edge.notes`: a reading is right when it names the note nearest the
  true f0 (either neighbour within :data:`BOUNDARY_CENTS` of a boundary).
* The readings of a signal are :func:`cleartune.edge.pipeline.analyze_samples` -- the
  Tuner exactly as ``cleartune analyze`` runs it; :func:`replay_tuner` builds one that is
  fed audio denoised beforehand, :func:`reading_arrays` turns readings into ``(t, f0, midi)``.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from cleartune.edge.notes import A4_DEFAULT, CENTS_PER_OCTAVE, CENTS_PER_SEMITONE, hz_to_midi

# -- SI-SDR ---------------------------------------------------------------------------------

#: SI-SDR is reported within +-this [dB]: a perfect estimate reads +100, a silent or
#: orthogonal one -100 (finite, so that means over clips and JSON stay defined).
SI_SDR_CAP_DB = 100.0


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio [dB] of ``estimate`` against
    ``reference`` (both ``(n,)``, means removed here), clipped to
    ``[-SI_SDR_CAP_DB, SI_SDR_CAP_DB]``; ``nan`` for a silent reference (undefined)."""
    r = np.asarray(reference, np.float64)
    e = np.asarray(estimate, np.float64)
    r = r - r.mean()
    e = e - e.mean()
    rr = float(np.dot(r, r))
    if rr <= 0.0:
        return float("nan")
    target = (float(np.dot(e, r)) / rr) * r
    noise = e - target
    tt, nn = float(np.dot(target, target)), float(np.dot(noise, noise))
    if tt <= 0.0:  # nothing of the reference in the estimate (silent or orthogonal)
        return -SI_SDR_CAP_DB
    if nn <= 0.0:
        return SI_SDR_CAP_DB
    return float(np.clip(10.0 * math.log10(tt / nn), -SI_SDR_CAP_DB, SI_SDR_CAP_DB))


# -- SNR buckets ----------------------------------------------------------------------------

#: Mixes are reported at the nearest multiple of this [dB] (issue 12's levels: 10, 5, 0, -5).
SNR_STEP_DB = 5.0


def snr_bucket(snr_db: Any) -> str:
    """The SNR level a mix is reported under: ``"clean"`` for ``inf`` (no noise),
    ``"unknown"`` for None / nan / text, else the nearest multiple of
    :data:`SNR_STEP_DB` as ``"<level> dB"`` (half-way rounds up: 2.5 -> ``"5 dB"``,
    -2.5 -> ``"0 dB"``)."""
    try:
        v = float(snr_db)
    except (TypeError, ValueError):
        return "unknown"
    if math.isnan(v):
        return "unknown"
    if v == math.inf:
        return "clean"
    if v == -math.inf:
        return "unknown"
    level = SNR_STEP_DB * math.floor(v / SNR_STEP_DB + 0.5)
    return f"{level + 0.0:g} dB"


def bucket_sort_key(label: str) -> tuple:
    """Order of bucket labels in tables: ``clean`` first, then falling SNR, ``unknown`` and
    anything else (``all``) last."""
    if label == "clean":
        return (0, 0.0)
    try:
        return (1, -float(label.split()[0]))
    except (ValueError, IndexError):
        return (2, 0.0) if label == "unknown" else (3, 0.0)


# -- the settle rule ------------------------------------------------------------------------

#: Readings of a clip count from this long after the pluck [s] (after the clip start when
#: the clip starts mid-note): the tuner promises its first right reading within 150 ms.
SETTLE_S = 0.15
#: The settled reading of a clip is the median reading this long after the pluck [s]
#: (issue 12: as a player reads a needle, 0.4 s to 1.6 s after the pluck).
SETTLED_FROM_S = 0.4
SETTLED_TO_S = 1.6


def _onset(onset_s: Any) -> float:
    try:
        v = float(onset_s)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def counts_from(onset_s: Any) -> float:
    """The time [s] from which a clip's readings count: ``max(onset, 0) + SETTLE_S``
    (a missing / nan onset is 0: the clip start)."""
    return max(_onset(onset_s), 0.0) + SETTLE_S


def readings_that_count(t: np.ndarray, *, onset_s: Any) -> np.ndarray:
    """Boolean mask over reading times ``t`` [s]: the readings scored for a clip whose
    pluck is at ``onset_s`` [s] (see :func:`counts_from`)."""
    return np.asarray(t, np.float64) >= counts_from(onset_s)


# -- true notes -----------------------------------------------------------------------------

#: A true pitch this close to the boundary between two notes [cents] makes either name right
#: (the truth is not known better than that).
BOUNDARY_CENTS = 3.0
#: An octave error is a reading 1+ octaves off the truth and within this of its pitch class [cents].
OCTAVE_TOLERANCE_CENTS = 50.0


def right_notes(true_f0_hz: float, *, a4: float = A4_DEFAULT) -> tuple[int, Optional[int]]:
    """The notes (MIDI numbers) a tuner may name for a true f0 [Hz]: the nearest one, and
    the neighbour across the nearer boundary when the truth lies within
    :data:`BOUNDARY_CENTS` of it (else None)."""
    m = hz_to_midi(true_f0_hz, a4=a4)
    note = int(math.floor(m + 0.5))
    other = note + (1 if m > note else -1)
    near = abs(abs(m - note) - 0.5) * CENTS_PER_SEMITONE <= BOUNDARY_CENTS
    return note, (other if near else None)


def nearest_notes(f0_hz: np.ndarray, *, a4: float = A4_DEFAULT) -> np.ndarray:
    """Nearest equal-tempered notes (MIDI numbers, float) of ``f0_hz`` [Hz]; nan where
    ``f0_hz`` is nan / not positive."""
    f = np.asarray(f0_hz, np.float64)
    out = np.full(f.shape, np.nan)
    ok = np.isfinite(f) & (f > 0)
    out[ok] = [math.floor(hz_to_midi(v, a4=a4) + 0.5) for v in f[ok]]
    return out


def judge(f0_hz: np.ndarray, *, true_f0: float, notes: Optional[np.ndarray] = None,
          a4: float = A4_DEFAULT) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Outcome of each reading against the truth: ``(right, voiced, octave, cents)``.

    ``f0_hz``: ``(n,)`` readings [Hz], nan = no note shown (counts as wrong); ``notes``:
    the MIDI numbers the system names (nan = none), else the nearest notes of ``f0_hz``.
    ``right``: names a note of :func:`right_notes`; ``octave``: shows a note 1+ octaves off
    within :data:`OCTAVE_TOLERANCE_CENTS` of the true pitch class; ``cents``: signed
    cents of ``f0_hz`` against ``true_f0`` on right readings, nan elsewhere."""
    f = np.asarray(f0_hz, np.float64)
    named = nearest_notes(f, a4=a4) if notes is None else np.asarray(notes, np.float64)
    note, other = right_notes(true_f0, a4=a4)
    voiced = np.isfinite(f) & np.isfinite(named)
    right = voiced & ((named == note) | ((named == other) if other is not None else False))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = CENTS_PER_OCTAVE * np.log2(f / true_f0)
    octs = np.where(voiced, np.round(c / CENTS_PER_OCTAVE), 0.0)
    octave = voiced & (octs != 0) & (np.abs(c - CENTS_PER_OCTAVE * octs) < OCTAVE_TOLERANCE_CENTS)
    return right, voiced, octave, np.where(right, c, np.nan)


# -- the settled reading --------------------------------------------------------------------

def settled_reading(t: np.ndarray, f0_hz: np.ndarray, *, onset_s: Any,
                    notes: Optional[np.ndarray] = None) -> tuple[float, float]:
    """What a player reads off the needle for one clip: ``(f0 [Hz], note)`` of the median
    reading among those from ``onset + SETTLED_FROM_S`` to ``onset + SETTLED_TO_S`` that
    count (:func:`readings_that_count`).

    The median is taken over the readings that show a note, by f0; for an even number the
    lower of the two middle readings (an actual reading, never a frequency between two
    notes).  ``(nan, nan)`` -- no note -- when the window holds no reading or when most
    of its readings show no note.  ``notes``: the MIDI numbers the system names (else the
    nearest notes of f0)."""
    t = np.asarray(t, np.float64)
    f = np.asarray(f0_hz, np.float64)
    named = nearest_notes(f) if notes is None else np.asarray(notes, np.float64)
    on = _onset(onset_s)
    sel = readings_that_count(t, onset_s=onset_s) & (t >= on + SETTLED_FROM_S) & (t <= on + SETTLED_TO_S)
    if not sel.any():
        return float("nan"), float("nan")
    fw, nw = f[sel], named[sel]
    voiced = np.isfinite(fw) & np.isfinite(nw)
    if not voiced.any() or 2 * int(voiced.sum()) < int(sel.sum()):
        return float("nan"), float("nan")
    fv, nv = fw[voiced], nw[voiced]
    order = np.argsort(fv, kind="stable")
    k = order[(len(fv) - 1) // 2]
    return float(fv[k]), float(nv[k])


# -- readings ---------------------------------------------------------------------------------

def reading_arrays(readings: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t [s], f0 [Hz], midi)`` float64 arrays of :class:`~cleartune.edge.reading.Reading` s:
    nan where a reading shows no note (``f0`` and ``midi`` of the note shown)."""
    shown = [r.note is not None and r.f0_hz is not None for r in readings]
    t = np.array([r.t for r in readings], np.float64)
    f0 = np.array([r.f0_hz if ok else np.nan for r, ok in zip(readings, shown)], np.float64)
    midi = np.array([r.midi if ok and r.midi is not None else np.nan for r, ok in zip(readings, shown)], np.float64)
    return t, f0, midi


class ReplayDenoiser:
    """Stands in for the streaming denoiser inside :class:`cleartune.edge.pipeline.Tuner`:
    returns, hop by hop, audio denoised beforehand (``(n,)``, aligned with the input: no
    latency).  ``Tuner(TunerConfig(denoise=False), denoiser=ReplayDenoiser(y, hop=256))``."""

    latency_samples = 0
    timing = (0.0, 0.0)

    def __init__(self, audio: np.ndarray, *, hop: int):
        self.audio = np.asarray(audio, np.float32)
        self.hop = int(hop)
        self.pos = 0
        self._buf = np.zeros(self.hop, np.float32)

    def reset(self) -> None:
        self.pos = 0

    def process_hop(self, _raw_hop: np.ndarray) -> np.ndarray:
        seg = self.audio[self.pos:self.pos + self.hop]
        self._buf[:] = 0.0
        self._buf[: len(seg)] = seg
        self.pos += self.hop
        return self._buf

    def describe(self) -> str:
        return "offline-denoised audio (replayed)"


def replay_tuner(denoised: Optional[np.ndarray] = None, *, params: Any = None, pitch: Any = None):
    """A :class:`~cleartune.edge.pipeline.Tuner` (sanitising, DC blocker, tracker, chromatic
    notes) without its own denoiser: ``denoised`` (aligned with the input, or None) is
    replayed in its place.  Feed it with :func:`cleartune.edge.pipeline.analyze_samples`,
    the one "readings of a signal" function.  ``pitch``: ``PitchParams`` (None: defaults)."""
    from cleartune.edge.params import EDGE
    from cleartune.edge.pipeline import Tuner, TunerConfig

    p = params if params is not None else EDGE
    den = None if denoised is None else ReplayDenoiser(denoised, hop=p.hop)
    return Tuner(TunerConfig(params=p, denoise=False, pitch=pitch), denoiser=den)


# -- one clip ---------------------------------------------------------------------------------

def score_clip(t: np.ndarray, f0_hz: np.ndarray, *, true_f0: float, onset_s: Any,
               notes: Optional[np.ndarray] = None, a4: float = A4_DEFAULT) -> dict[str, Any]:
    """One system's readings of one clip against its truth.

    ``t`` [s], ``f0_hz`` [Hz] (nan = no note), ``notes`` (MIDI numbers named, nan = none;
    None: the nearest notes of ``f0_hz``).  Per reading, over the readings that count
    (:func:`readings_that_count`): ``n``, ``right``, ``voiced`` (a note shown), ``octave``
    (octave errors), ``cents`` (signed cents of the right readings, list).  Per clip:
    ``settled`` = ``{"f0_hz", "note", "voiced", "right", "octave", "cents"}`` of
    :func:`settled_reading` (``cents`` None unless right)."""
    t = np.asarray(t, np.float64)
    f = np.asarray(f0_hz, np.float64)
    nn = None if notes is None else np.asarray(notes, np.float64)
    sel = readings_that_count(t, onset_s=onset_s)
    right, voiced, octave, cents = judge(f[sel], true_f0=true_f0, notes=None if nn is None else nn[sel], a4=a4)
    sf, sn = settled_reading(t, f, onset_s=onset_s, notes=nn)
    r1, v1, o1, c1 = judge(np.array([sf]), true_f0=true_f0, notes=np.array([sn]), a4=a4)
    return {"n": int(sel.sum()), "right": int(right.sum()), "voiced": int(voiced.sum()), "octave": int(octave.sum()),
            "cents": [float(c) for c in cents[np.isfinite(cents)]],
            "settled": {"f0_hz": None if not math.isfinite(sf) else sf, "note": None if not math.isfinite(sn) else int(sn),
                        "voiced": bool(v1[0]), "right": bool(r1[0]), "octave": bool(o1[0]),
                        "cents": float(c1[0]) if r1[0] else None}}
