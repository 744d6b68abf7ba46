"""The learned guide: which note is the guitar, from the guitar-pitch model; the tracker keeps the cents.

The guitar-pitch model (:mod:`.guitar_model`) hears *which* sound is the guitar (a plucked
string: a common onset of harmonic partials, then a free decay) but measures pitch only to a
third of a semitone; the DSP tracker (:mod:`.pitch`) measures cents to 0.01 cent but cannot
tell a guitar from an oboe.  The guide joins them, once per tracker reading::

    note = guide.listen(raw_window)        # GuideNote(midi, prob, no_guitar, runner_up)
    still_named(note)                      # the model names a guitar note: a plurality
    is_confident(note, gp)                 # ... and is sure of it: a majority
    looks_for_candidates(shown, note, ...) # (speed) no search for other notes while it agrees
    guide_candidate(cands, note, ...)      # (a) the model's note becomes a candidate f0
    guided_order(order, note, gp)          # the track naming the note is measured first
    tracks_to_measure(order, ...)          # (speed) fewer precise estimates while it agrees
    guided_choice(tracks, shown, dsp, ...) # (b) the track naming the model's note is shown

The model's note is the semitone of highest summed probability over its pitch bins
(:func:`heard_note`).  It *names* a guitar note while that note is the single most probable
outcome (a plurality over the other notes and "no guitar", :func:`still_named`): the track
naming it is shown.  It is *sure* of it (:func:`is_confident`) when the note holds
``min_prob`` of the probability (0.5: more than everything else together): only then does
the note become a candidate of its own, start a hold, and let the other tracks wait.

Rules (parameters in :class:`GuideParams`):

(a) A confident note with no candidate within ``agree_cents`` of it becomes a candidate: the
    strongest peak of the summed salience within ``agree_cents`` of the note (its nominal
    frequency if none), so the precise estimate measures it on the raw signal.
(b) Among the tracks ready to be shown, those *naming* the model's note (f within
    ``agree_cents`` of the note's nominal frequency) win: the shown track keeps its place
    while it names the note (a louder, sustained note of another instrument cannot take over),
    and a ready track naming the note replaces a shown one that does not (this also settles
    an octave ambiguity: the octave the model names wins).  Once shown, the note is *held*
    while the model keeps naming it: if its track is lost (a decaying string under louder
    instruments), no note is shown rather than another one, until a track naming it is
    ready again.  The tracks are measured in an
    order that puts the one naming the note first (a weak string is measured every reading).
(c) The guide never touches a frequency: the shown pitch is the DSP's estimate of the chosen
    track, on the raw signal, exactly as without a guide.
(d) Without a named note ("no guitar" most probable), when no ready track names
    the note, and while a track below the model's range (B1..E6) has the model's note among
    its harmonics (a B0 string the model hears as its octave B1), the DSP's choice stands:
    sines, tuning forks and notes outside the guitar's range read as without a guide.

Only pure functions here, plus :class:`ModelGuide`, the adapter the tracker calls.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, List, NamedTuple, Optional, Protocol, Sequence

import numpy as np

#: The model's pitch bins are referenced to A4 = 440 Hz (GuitarFeatureParams.midi_hz).
MODEL_A4_HZ = 440.0

__all__ = ["GuideParams", "Guide", "GuideNote", "ModelGuide", "heard_note", "is_confident", "still_named",
           "nominal_hz", "names_note", "below_guide_range",
           "looks_for_candidates", "guide_candidate", "guided_order", "tracks_to_measure", "guided_choice",
           "held_note"]


@dataclass(frozen=True)
class GuideParams:
    """How the tracker follows the model (probabilities 0..1, cents).

    min_prob         the model is sure of its note when the note holds at least this much of
                     the probability (0.5: more than all other notes and "no guitar" together):
                     the note is then a candidate, starts a hold, and the other tracks wait
    agree_cents      a frequency names the model's note within this distance of the note's
                     nominal frequency: half a semitone (the note's own range) plus half a
                     model bin (3 bins per semitone: 100 / 6 cents), the model's resolution
    guided_estimates precise estimates per reading while the shown track names the model's
                     confident note and no track outside the model's range is in play (the
                     tracker's ``max_estimates`` otherwise): the other tracks cannot take over,
                     they wait (with their estimates) until the model's note changes
    """

    min_prob: float = 0.5
    agree_cents: float = 50.0 + 100.0 / 6.0
    guided_estimates: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.min_prob <= 1.0:
            raise ValueError("min_prob must be in (0, 1]")
        if not 0.0 < self.agree_cents < 100.0:
            raise ValueError("agree_cents must be in (0, 100): a frequency names one note at most")
        if self.guided_estimates < 1:
            raise ValueError("guided_estimates must be >= 1 (the shown track is always measured)")


class GuideNote(NamedTuple):
    """What the model hears at one reading: the most probable semitone ``midi`` (MIDI), its
    summed probability ``prob``, the probability of "no guitar" ``no_guitar``, and that of
    the second most probable semitone ``runner_up`` (all 0..1)."""

    midi: int
    prob: float
    no_guitar: float
    runner_up: float = 0.0


class Guide(Protocol):
    """What the tracker calls once per reading: ``window`` [samples] raw samples wanted,
    ``listen(raw)`` with the newest ``window`` raw samples (float, full scale 1.0) ->
    :class:`GuideNote` or None, and ``reset()`` (a new signal)."""

    window: int
    midi_range: tuple[int, int]     # the lowest and highest MIDI note the guide can name

    def listen(self, raw: np.ndarray) -> Optional[GuideNote]: ...

    def reset(self) -> None: ...


# -- the rules (pure functions) ------------------------------------------------------------------

def heard_note(salience: np.ndarray, semitone_of_bin: np.ndarray, *, midi0: int) -> GuideNote:
    """The model's output ``salience`` ``(n_pitch + 1,)`` (probabilities; the last one: "no
    guitar") -> :class:`GuideNote`.  ``semitone_of_bin`` ``(n_pitch,)`` int >= 0: the nearest
    semitone of each pitch bin, counted from MIDI ``midi0``.  A note's probability is the sum
    over its bins (the model spreads a note over neighbouring bins)."""
    n_pitch = len(semitone_of_bin)
    sums = np.bincount(semitone_of_bin, weights=salience[:n_pitch])
    j = int(np.argmax(sums))
    best = float(sums[j])
    sums[j] = -1.0
    return GuideNote(midi0 + j, best, float(salience[n_pitch]), max(float(sums.max()), 0.0))


def is_confident(note: Optional[GuideNote], gp: GuideParams) -> bool:
    """The model names a guitar note: its semitone holds ``min_prob`` of the probability
    (None: no guide, False)."""
    return note is not None and note.prob >= gp.min_prob


def still_named(note: Optional[GuideNote]) -> bool:
    """The model's note is still the single most probable outcome (more probable than any
    other note and than "no guitar"): enough to keep a track naming it shown."""
    return note is not None and note.prob > max(note.no_guitar, note.runner_up)


def nominal_hz(midi: int) -> float:
    """Nominal frequency [Hz] of MIDI note ``midi`` on the model's pitch axis (A4 = 440 Hz)."""
    return MODEL_A4_HZ * 2.0 ** ((midi - 69) / 12.0)


def names_note(f_hz: float, midi: int, gp: GuideParams) -> bool:
    """``f_hz`` lies within ``agree_cents`` of MIDI note ``midi`` (it is that note, as the
    model hears notes)."""
    return f_hz > 0 and abs(1200.0 * math.log2(f_hz / nominal_hz(midi))) <= gp.agree_cents


def below_guide_range(tracks: Sequence, note: GuideNote, midi_range: Optional[tuple[int, int]],
                      gp: GuideParams, *, max_harmonic: int = 4) -> bool:
    """A track (``.f`` [Hz]) lies below the guide's ``midi_range`` and the guide's note is one
    of its harmonics 2..``max_harmonic`` (the model cannot name that note, and names the
    harmonic it hears instead; 4: the model's range starts two octaves above the tracker's)."""
    if midi_range is None:
        return False
    f_lo = nominal_hz(midi_range[0]) / 2.0 ** (gp.agree_cents / 1200.0)
    return any(tr.f < f_lo and any(names_note(k * tr.f, note.midi, gp) for k in range(2, max_harmonic + 1))
               for tr in tracks)


def guide_candidate(candidates: Sequence[float], note: Optional[GuideNote], gp: GuideParams, *,
                    grid_hz: np.ndarray, summed: np.ndarray) -> Optional[float]:
    """Rule (a): the f0 [Hz] to add to ``candidates`` for a confident ``note`` that none of
    them names, else None.  ``grid_hz`` ``(n,)`` is the salience grid [Hz] and ``summed``
    ``(n,)`` its summed salience [dB] this reading: the candidate is the grid point of
    highest summed salience within ``agree_cents`` of the note (where the partials are),
    or the nominal frequency when none there is finite (a frame too short for the note)."""
    if not is_confident(note, gp):
        return None
    if any(names_note(f, note.midi, gp) for f in candidates):
        return None
    f0 = nominal_hz(note.midi)
    r = 2.0 ** (gp.agree_cents / 1200.0)
    lo, hi = int(np.searchsorted(grid_hz, f0 / r)), int(np.searchsorted(grid_hz, f0 * r, side="right"))
    if hi > lo:
        seg = summed[lo:hi]
        j = int(np.argmax(seg))
        if math.isfinite(float(seg[j])):
            return float(grid_hz[lo + j])
    return f0


def tracks_to_measure(order: Sequence, shown, note: Optional[GuideNote], gp: GuideParams, *,
                      midi_range: Optional[tuple[int, int]] = None, budget: int) -> List:
    """The tracks that get a precise estimate this reading, from ``order`` (best first): the
    first ``budget``; while the shown track names the model's confident note, only those that
    can still change the choice (:func:`guided_choice`): ``guided_estimates`` of the tracks
    naming the note, and the tracks below the guide's ``midi_range`` of which the note is a
    harmonic (:func:`below_guide_range`), at most ``budget``.  (Speed: the others cannot take
    over while the model is sure, so they wait.)"""
    if shown is None or not is_confident(note, gp) or not names_note(shown.f, note.midi, gp):
        return list(order[:budget])
    naming = [tr for tr in order if names_note(tr.f, note.midi, gp)][: gp.guided_estimates]
    return [tr for tr in order if tr in naming or below_guide_range((tr,), note, midi_range, gp)][:budget]


def looks_for_candidates(shown, note: Optional[GuideNote], gp: GuideParams, *,
                         midi_range: Optional[tuple[int, int]] = None, max_harmonic: int = 4) -> bool:
    """Whether the tracker looks for new candidate f0s this reading: not while the shown track
    (``.f`` [Hz]) names the model's confident note, unless that note could be a harmonic
    (2..``max_harmonic``) of a note below the guide's ``midi_range`` (which only the DSP can
    find).  (Speed: no other note could take over.)"""
    if shown is None or not is_confident(note, gp) or not names_note(shown.f, note.midi, gp):
        return True
    return midi_range is not None and nominal_hz(note.midi) / max_harmonic < nominal_hz(midi_range[0])


def guided_order(order: Sequence, note: Optional[GuideNote], gp: GuideParams) -> List:
    """The tracks in the order they get a precise estimate: with a confident ``note``, those
    naming it first (the guitar's note is measured every reading, however weak it is against
    louder notes), the others in their ``order``; without one, ``order`` unchanged."""
    if not is_confident(note, gp):
        return list(order)
    first = [tr for tr in order if names_note(tr.f, note.midi, gp)]
    return first + [tr for tr in order if not names_note(tr.f, note.midi, gp)] if first else list(order)


def held_note(held: Optional[int], chosen_f: Optional[float], note: Optional[GuideNote], gp: GuideParams) -> Optional[int]:
    """The note the guide holds after a reading: the model's note (MIDI) once the chosen track
    (frequency ``chosen_f`` [Hz], None: nothing shown) names it while the model is confident,
    kept (``held``) while that note stays :func:`still_named`; else None.  While a note is
    held no other note is shown (:func:`guided_choice`): a string that fades into the noise
    under a louder instrument shows no note rather than the instrument's."""
    if note is None or not still_named(note):
        return None
    if chosen_f is not None and is_confident(note, gp) and names_note(chosen_f, note.midi, gp):
        return note.midi
    return held if held == note.midi else None


def guided_choice(tracks: Sequence, shown, dsp_choice, note: Optional[GuideNote], gp: GuideParams, *,
                  ready: Callable[[object], bool], strength: Callable[[object], float],
                  alive: Callable[[object], bool], midi_range: Optional[tuple[int, int]] = None,
                  held: Optional[int] = None):
    """Rule (b): the track to show, given the DSP's own choice ``dsp_choice`` (may be None).

    Tracks have ``.f`` [Hz]; ``ready(tr)``: may be shown (measured, steady); ``alive(tr)``:
    the shown track may stay shown; ``strength(tr)``: the DSP's score.  While the model
    names ``note`` (:func:`still_named`, a plurality): the DSP's choice if it names the note;
    else the shown track while it names the note and stays alive; else the strongest ready
    track naming the note; else (no track names it) the DSP's choice.  (A plurality suffices:
    after a new pluck the model's memory keeps the last string ringing as a strong second
    for a while, e.g. E2 0.42 / A2 0.48 on the demo's A2.)  While the note is ``held`` (:func:`held_note`)
    and no track naming it can be shown: no track (None), never another note.  Otherwise, and
    while a track below the guide's ``midi_range`` has the note among its harmonics: the
    DSP's choice (rule d)."""
    if note is None or not still_named(note):
        return dsp_choice
    if below_guide_range(tracks, note, midi_range, gp):
        return dsp_choice
    m = note.midi
    if dsp_choice is not None and names_note(dsp_choice.f, m, gp):
        return dsp_choice
    if shown is not None and shown in tracks and names_note(shown.f, m, gp) and alive(shown):
        return shown
    fallback = None if held == m else dsp_choice
    agree: List = [tr for tr in tracks if names_note(tr.f, m, gp) and ready(tr)]
    if agree:
        return max(agree, key=strength)
    return fallback


# -- the model as a guide ---------------------------------------------------------------------------

class ModelGuide:
    """The guitar-pitch model as the tracker's :class:`Guide`: ``listen(raw)`` runs one step
    of ``model`` (a :class:`~.guitar_model.GuitarPitchModel`) on the newest ``window`` raw
    samples and returns its :class:`GuideNote` (:func:`heard_note`).  ``last_seconds``: wall
    time of the last call [s] (features + model); ``salience``: the last salience vector (a
    reused buffer)."""

    def __init__(self, model) -> None:
        self.model = model
        fp = model.fp
        self.window = int(fp.window)
        self.reading_samples = int(fp.reading_samples)
        semis = np.round(fp.pitch_midi()).astype(int)
        self._midi0 = int(semis.min())
        self._semitone = semis - self._midi0
        self.midi_range = (self._midi0, int(semis.max()))
        self.last_seconds = 0.0
        self.salience: Optional[np.ndarray] = None

    def listen(self, raw: np.ndarray) -> GuideNote:
        t0 = time.perf_counter()
        self.salience = self.model.step(raw)
        note = heard_note(self.salience, self._semitone, midi0=self._midi0)
        self.last_seconds = time.perf_counter() - t0
        return note

    def reset(self) -> None:
        self.model.reset()

    def describe(self) -> str:
        return self.model.describe() if hasattr(self.model, "describe") else type(self.model).__name__
