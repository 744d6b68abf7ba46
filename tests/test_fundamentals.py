"""Tuner fundamentals (issue 13): the range B0..C8, instrument tunings and modes.

Tracker behaviour on test tones (sines, forks, missing fundamentals, natural harmonics,
reed and flute tones, out-of-range tones) is in the second half of this file.
"""
import math

import pytest

from cleartune.edge.notes import (
    RANGE_HIGH, RANGE_LOW, NoteError, NoteMapper, get_tuning, in_range, midi_to_name, normalize_mode, note_to_hz,
)
from cleartune.edge.pipeline import resolve_mode


# -- range, tunings and modes (edge/notes.py) ----------------------------------------------
def test_range_is_b0_to_c8():
    assert midi_to_name(RANGE_LOW) == "B0" and midi_to_name(RANGE_HIGH) == "C8"
    assert in_range(30.87) and in_range(4186.0) and in_range(440.0)
    b0, c8 = note_to_hz("B0"), note_to_hz("C8")
    assert in_range(b0 * 2 ** (-49 / 1200)) and not in_range(b0 * 2 ** (-51 / 1200))   # A#0 side
    assert in_range(c8 * 2 ** (49 / 1200)) and not in_range(c8 * 2 ** (51 / 1200))     # C#8 side
    assert not in_range(27.5) and not in_range(7040.0)
    assert not in_range(0.0) and not in_range(-5.0) and not in_range(float("nan"))
    # the range is in notes: at A4 = 415 Hz, B0 is 29.1 Hz
    assert in_range(note_to_hz("B0", a4=415.0), a4=415.0) and not in_range(note_to_hz("B0", a4=415.0))


@pytest.mark.parametrize("name,notes", [
    ("bass", ("E1", "A1", "D2", "G2")),
    ("bass-4", ("E1", "A1", "D2", "G2")),
    ("bass-5", ("B0", "E1", "A1", "D2", "G2")),
    ("5-string bass", ("B0", "E1", "A1", "D2", "G2")),
    ("bass-6", ("B0", "E1", "A1", "D2", "G2", "C3")),
    ("7-string", ("B1", "E2", "A2", "D3", "G3", "B3", "E4")),
    ("8-string", ("F#1", "B1", "E2", "A2", "D3", "G3", "B3", "E4")),
    ("ukulele", ("G4", "C4", "E4", "A4")),          # re-entrant: the G4 string is strung first
    ("uke", ("G4", "C4", "E4", "A4")),
    ("ukulele-low-g", ("G3", "C4", "E4", "A4")),
    ("baritone-ukulele", ("D3", "G3", "B3", "E4")),
])
def test_instrument_tunings(name, notes):
    assert get_tuning(name).notes == notes


def test_instrument_mode_reads_the_nearest_string():
    bass5 = NoteMapper(mode="guitar", tuning="bass-5")
    r = bass5.map(note_to_hz("B0") * 2 ** (-12 / 1200))
    assert r.note == "B0" and r.cents == pytest.approx(-12.0, abs=1e-9)
    assert bass5.map(note_to_hz("E1") * 2 ** (30 / 1200)).note == "E1"
    uke = NoteMapper(mode="instrument", tuning="ukulele")
    assert uke.mode == "guitar" and uke.candidates() == (67, 60, 64, 69)
    r = uke.map(note_to_hz("G4") * 2 ** (7 / 1200))       # the re-entrant string, not an octave below
    assert r.note == "G4" and r.cents == pytest.approx(7.0, abs=1e-9)
    assert uke.map(note_to_hz("C4")).note == "C4"
    eight = NoteMapper(mode="guitar", tuning="8-string")
    assert eight.map(note_to_hz("F#1") * 2 ** (-20 / 1200)).note == "F#1"
    assert NoteMapper(mode="guitar", tuning="7-string").map(note_to_hz("B1")).note == "B1"


def test_mode_words():
    assert normalize_mode("Instrument") == "guitar" and normalize_mode("guitar") == "guitar"
    assert resolve_mode("instrument") == ("guitar", None)
    assert resolve_mode("guitar") == ("guitar", None)
    assert resolve_mode("A4") == ("note", "A4")
    with pytest.raises(NoteError):
        normalize_mode("banjo")
    with pytest.raises(NoteError):
        resolve_mode("banjo")
