"""The learned guide (edge/guide.py): the model names the guitar's note, the tracker measures its cents.

Synthetic signals with known pitch (train.synth) and a scripted guide (doubles.FakeGuide)
injected into the tracker; the guide rules as pure functions.  The pipeline side (which
model runs, by sidecar kind) is in test_edge_pipeline.py.
"""
import math
from collections import Counter

import numpy as np
import pytest
from doubles import FakeGuide
from tracking import track

from cleartune.edge import guide as G
from cleartune.edge.guide import GuideNote, GuideParams
from cleartune.edge.notes import hz_to_midi, midi_to_name
from cleartune.edge.params import EDGE
from cleartune.edge.pitch import PitchTracker
from cleartune.train import synth as S

SR = EDGE.sample_rate
GP = GuideParams()
#: Readings judged as a player reads the needle (s after the start; the string starts at ONSET).
ONSET, SETTLED = 0.3, (0.7, 1.9)


def _midi(f):
    return int(round(hz_to_midi(f)))


def _settled_notes(readings):
    return Counter(r.note for r in readings if SETTLED[0] <= r.t <= SETTLED[1])


def _string_and_louder_tone(f_string, f_other, *, louder_db, seed=1):
    """A plucked string from ONSET on, plus a sustained harmonic tone (bowed/blown, held from
    the start) ``louder_db`` louder than the string's first half second."""
    x, f1 = S.plucked_string(f_string, duration=2.5, onset_s=ONSET, seed=seed)
    o = S.harmonic_tone(f_other, duration=2.5, rms=0.1, seed=seed + 1)
    g_rms = float(np.sqrt(np.mean(x[int(ONSET * SR):int((ONSET + 0.5) * SR)] ** 2)))
    return (x + o * (g_rms / 0.1) * 10 ** (louder_db / 20)).astype(np.float32), f1


# -- the rules as pure functions ---------------------------------------------------------------
def test_heard_note_sums_the_bins_of_a_semitone():
    """A note spread over its three bins beats a single, higher bin of another note."""
    semis = np.repeat(np.arange(4), 3)                    # 4 semitones x 3 bins
    sal = np.zeros(13)
    sal[3:6] = (0.15, 0.2, 0.15)                           # semitone 1: 0.5 in all
    sal[7] = 0.3                                           # semitone 2: one bin, the highest
    sal[12] = 0.2                                          # no guitar
    n = G.heard_note(sal, semis, midi0=40)
    assert n.midi == 41 and n.prob == pytest.approx(0.5) and n.runner_up == pytest.approx(0.3)
    assert n.no_guitar == pytest.approx(0.2)


def test_confident_is_a_majority_and_still_named_a_plurality():
    assert G.is_confident(GuideNote(45, 0.5, 0.1, 0.4), GP)
    assert not G.is_confident(GuideNote(45, 0.45, 0.1, 0.3), GP)
    assert not G.is_confident(None, GP)
    assert G.still_named(GuideNote(45, 0.45, 0.1, 0.3))
    assert not G.still_named(GuideNote(45, 0.3, 0.4, 0.1))           # "no guitar" is more likely
    assert not G.still_named(GuideNote(45, 0.3, 0.1, 0.35))          # another note is more likely


def test_names_note_spans_the_note_and_half_a_model_bin():
    a2 = G.nominal_hz(45)
    assert a2 == pytest.approx(110.0)
    assert G.names_note(a2 * 2 ** (66 / 1200), 45, GP) and G.names_note(a2 * 2 ** (-66 / 1200), 45, GP)
    assert not G.names_note(a2 * 2 ** (68 / 1200), 45, GP) and not G.names_note(2 * a2, 45, GP)


def test_guide_candidate_is_the_salience_peak_near_the_note_unless_a_candidate_names_it():
    grid = 50.0 * 2 ** (np.arange(400) * 10 / 1200)
    summed = np.full(400, 10.0)
    k = int(np.argmin(abs(grid - 112.0)))                 # the partials' peak, 30 cents sharp of A2
    summed[k] = 40.0
    sure = GuideNote(45, 0.9, 0.05, 0.05)
    assert G.guide_candidate([300.0], sure, GP, grid_hz=grid, summed=summed) == pytest.approx(grid[k])
    assert G.guide_candidate([111.0, 300.0], sure, GP, grid_hz=grid, summed=summed) is None
    assert G.guide_candidate([300.0], GuideNote(45, 0.4, 0.5, 0.1), GP, grid_hz=grid, summed=summed) is None
    # a frame too short for the note: its nominal frequency
    assert G.guide_candidate([300.0], sure, GP, grid_hz=grid, summed=np.full(400, -np.inf)) == pytest.approx(110.0)


class _Track:
    def __init__(self, f, ready=True):
        self.f, self.ready = f, ready


def _choose(tracks, shown, dsp, note, held=None):
    return G.guided_choice(tracks, shown, dsp, note, GP, ready=lambda t: t.ready, strength=lambda t: -t.f,
                           alive=lambda t: True, midi_range=(35, 88), held=held)


def test_guided_choice_follows_the_models_most_probable_note():
    g3, cs4, g3_octave = _Track(196.0), _Track(277.2), _Track(392.0)
    tracks = [g3, cs4, g3_octave]
    sure, plurality, unsure = GuideNote(55, 0.8, 0.1, 0.1), GuideNote(55, 0.4, 0.25, 0.35), GuideNote(55, 0.3, 0.6, 0.1)
    assert _choose(tracks, cs4, cs4, sure) is g3                 # the model's note takes over
    assert _choose(tracks, None, g3_octave, sure) is g3          # ... and its octave wins
    assert _choose(tracks, cs4, cs4, plurality) is g3            # a plurality takes over ...
    assert _choose(tracks, g3, cs4, plurality) is g3             # ... and holds the shown note
    assert _choose(tracks, g3, cs4, unsure) is cs4               # "no guitar" most likely: the DSP decides
    assert _choose([cs4], cs4, cs4, sure) is cs4                 # no track names the note: the DSP decides
    assert _choose([_Track(196.0, ready=False), cs4], cs4, cs4, sure) is cs4   # (only ready tracks take over)
    # a held note (shown, its track lost, the model still naming it): no other note
    assert _choose([cs4], None, cs4, sure, held=55) is None and _choose([cs4], None, cs4, plurality, held=55) is None
    assert _choose([cs4], None, cs4, unsure, held=55) is cs4
    assert _choose([cs4], None, cs4, GuideNote(61, 0.8, 0.1, 0.1), held=55) is cs4       # the model moved on
    b0 = _Track(30.87)                                           # below the model's range: it hears B1
    assert _choose([b0, _Track(61.74)], b0, b0, GuideNote(35, 0.9, 0.05, 0.05)) is b0


def test_a_note_is_held_once_shown_while_the_model_names_it():
    assert G.held_note(None, 196.0, GuideNote(55, 0.8, 0.1, 0.1), GP) == 55          # shown and confident
    assert G.held_note(None, 196.0, GuideNote(55, 0.4, 0.3, 0.3), GP) is None        # a plurality does not start it
    assert G.held_note(55, None, GuideNote(55, 0.4, 0.3, 0.3), GP) == 55             # ... but keeps it
    assert G.held_note(55, None, GuideNote(55, 0.3, 0.6, 0.1), GP) is None           # "no guitar" most likely
    assert G.held_note(55, None, GuideNote(61, 0.8, 0.1, 0.1), GP) is None           # another note now


# -- the tracker with a guide --------------------------------------------------------------------
@pytest.mark.parametrize("f_string,f_other,louder_db,heard_alone", [
    (197.7, 277.18, 6.0, "C#4"),   # G3 string 15 cents sharp, a C#4 tone 6 dB louder: the tone wins
    (145.1, 220.00, 3.0, "A3"),    # D3 string 20 cents flat, an A3 tone a fifth up
    (201.7, 277.18, 6.0, "C#4"),   # G3 25 cents sharp: the DSP loses the string for a while (its partials
])                                 # and the tone's): no note then, never the tone's
def test_guide_makes_the_tracker_read_the_guitar_under_a_louder_sustained_note(f_string, f_other, louder_db,
                                                                               heard_alone):
    x, f1 = _string_and_louder_tone(f_string, f_other, louder_db=louder_db)
    alone = _settled_notes(track(x))
    guide = FakeGuide(_midi(f_string), onset_s=ONSET)
    guided_readings = track(x, guide=guide)
    guided = _settled_notes(guided_readings)
    string = midi_to_name(_midi(f_string))
    n = sum(alone.values())
    assert n >= 20 and alone[heard_alone] >= 0.9 * n and alone[string] == 0, alone
    assert sum(guided.values()) == n and guided[string] + guided[None] == n and guided[string] >= n / 3, guided
    for r in guided_readings:               # and measures it: the string's own f1, not a nominal pitch
        if SETTLED[0] <= r.t <= SETTLED[1] and r.note == string:   # (15-25 cents off it; the louder
            assert abs(1200 * math.log2(r.f0_hz / f1)) < 4.0    # tone pulls the short frames that
                                                                # watch for a turned peg up to ~3.3)


def test_guide_is_heard_once_per_reading_on_the_newest_raw_window():
    """Every reading, silent ones too (the model's memory steps with the signal)."""
    x = np.concatenate([np.zeros(int(0.3 * SR), np.float32), S.plucked_string(110.0, duration=1.0, seed=3).audio])
    guide = FakeGuide(45)
    readings = track(x, guide=guide)
    assert guide.calls == len(readings) > 15
    assert set(guide.windows) == {FakeGuide.window}


@pytest.mark.parametrize("f0", [82.41, 110.0, 196.0, 329.63])
def test_guide_never_changes_the_cents(f0):
    """On a clean string the guided tracker measures the same f0 (< 0.01 cent) at every reading."""
    x = S.plucked_string(f0, duration=2.0, onset_s=0.1, seed=5).audio
    alone = track(x)
    guided = track(x, guide=FakeGuide(_midi(f0)))
    assert len(alone) == len(guided)
    both = [(a, g) for a, g in zip(alone, guided) if a.note is not None and g.note is not None]
    assert len(both) >= 25
    for a, g in both:
        assert a.note == g.note
        assert abs(1200 * math.log2(g.f0_hz / a.f0_hz)) < 0.01


@pytest.mark.parametrize("tone,guide_midi", [
    (lambda: S.sine(440.0, duration=2.0), 40),                    # a sine, the guide (wrongly) sure of E2
    (lambda: S.sine(440.0, duration=2.0), 57),                    # ... of A3, its octave below
    (lambda: S.tuning_fork(440.0, duration=2.0), 69),             # a fork, the guide naming it
])
def test_guide_never_makes_a_sine_read_wrong(tone, guide_midi):
    x = np.asarray(tone(), np.float32)
    alone = [r.note for r in track(x)]
    guided = [r.note for r in track(x, guide=FakeGuide(guide_midi))]
    settled = Counter(guided[len(guided) // 3:])
    assert settled["A4"] == sum(settled.values()) > 10, settled
    assert Counter(alone[len(alone) // 3:])["A4"] == sum(settled.values())


def test_no_guitar_leaves_the_tracker_as_it_was():
    """A guide hearing no guitar (or unsure) changes no reading, bit for bit."""
    x, _ = _string_and_louder_tone(196.0, 277.18, louder_db=6.0)
    alone = track(x)
    for g in (FakeGuide(55, prob=0.05, no_guitar=0.9), FakeGuide(55, prob=0.3, no_guitar=0.4)):
        assert track(x, guide=g) == alone


def test_out_of_range_notes_keep_the_dsp_reading():
    """A tone above C8 stays out of range, and a B0 string (below the model's B1) stays B0,
    however sure the guide is of its own lowest or highest note."""
    hi = np.asarray(S.sine(4434.9, duration=1.5), np.float32)            # C#8
    assert track(hi, guide=FakeGuide(88)) == track(hi)
    assert any(r.out_of_range for r in track(hi))
    b0 = S.plucked_string(30.87, duration=2.5, seed=2).audio
    alone = _settled_notes(track(b0))
    guided = _settled_notes(track(b0, guide=FakeGuide(35)))        # the model hears its octave, B1
    assert alone["B0"] >= 10 and guided == alone
    a0 = np.asarray(S.harmonic_series(27.5, duration=1.5), np.float32)     # below B0: out of range
    alone = track(a0)
    assert sum(r.out_of_range for r in alone) >= 10
    assert track(a0, guide=FakeGuide(45)) == alone                 # ... the model hearing its A2


def test_the_tracker_measures_fewer_tracks_while_the_guide_agrees():
    """While the shown note is the guide's, tracks of other notes in the model's range (which
    cannot take over) wait: fewer precise estimates per reading (speed)."""
    x, _ = _string_and_louder_tone(196.0, 277.18, louder_db=-6.0)
    measured = {}
    for name, g in (("alone", None), ("guided", FakeGuide(55, onset_s=ONSET))):
        tr = PitchTracker(guide=g)
        freqs = []
        for i in range(len(x) // EDGE.hop):
            r = tr.update(x[i * EDGE.hop:(i + 1) * EDGE.hop])
            if r is not None and SETTLED[0] <= r.t <= SETTLED[1]:
                assert r.note == "G3"
                freqs += [t.f for t in tr._tracks if not t.skipped and t.measured == tr._reading_idx]
        measured[name] = freqs
    assert all(G.names_note(f, 55, GP) for f in measured["guided"])
    assert len(measured["guided"]) < len(measured["alone"])
    assert any(not G.names_note(f, 55, GP) for f in measured["alone"])


def test_no_candidate_search_while_the_guide_names_the_shown_note(monkeypatch):
    """While the shown note is the guide's (and no note below the model's range could have it
    as a harmonic: E4 and up), the tracker does not look for other notes (speed); a low note
    (G3, possibly the octave of a B0..G1 string) keeps the search."""
    import cleartune.edge.pitch as P

    calls = []
    real = P.candidate_f0s
    monkeypatch.setattr(P, "candidate_f0s", lambda *a, **k: calls.append(1) or real(*a, **k))
    for f0, searched in ((329.63, False), (196.0, True)):
        x, _ = _string_and_louder_tone(f0, 1.5 * f0, louder_db=-6.0)
        tr = PitchTracker(guide=FakeGuide(_midi(f0), onset_s=ONSET))
        n_settled = 0
        for i in range(len(x) // EDGE.hop):
            calls.clear()
            r = tr.update(x[i * EDGE.hop:(i + 1) * EDGE.hop])
            if r is not None and SETTLED[0] <= r.t <= SETTLED[1]:
                assert r.note == midi_to_name(_midi(f0))
                n_settled += len(calls)
        assert (n_settled > 0) == searched, (f0, n_settled)
