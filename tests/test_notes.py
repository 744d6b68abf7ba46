"""Note naming, cents, reference pitch, tunings and display modes (edge/notes.py)."""
import math

import pytest

from cleartune.edge.errors import CleartuneError
from cleartune.edge.notes import (
    TUNINGS,
    NoteError,
    NoteMapper,
    Tuning,
    cents,
    get_tuning,
    hz_to_midi,
    midi_to_hz,
    midi_to_name,
    normalize_note,
    note_to_hz,
    parse_note,
    shift_cents,
)


@pytest.mark.parametrize("name,midi", [("A4", 69), ("C4", 60), ("C#4", 61), ("Db4", 61), ("E2", 40), ("A2", 45),
                                       ("E4", 64), ("E6", 88), ("B3", 59), ("bb3", 58), ("C♯4", 61), ("B♭3", 58),
                                       ("C-1", 0), ("Cb4", 59), ("B#3", 60)])
def test_parse_note(name, midi):
    assert parse_note(name) == midi


@pytest.mark.parametrize("midi,name", [(69, "A4"), (60, "C4"), (61, "C#4"), (40, "E2"), (88, "E6"), (0, "C-1"), (70, "A#4")])
def test_midi_to_name(midi, name):
    assert midi_to_name(midi) == name
    assert parse_note(name) == midi


@pytest.mark.parametrize("bad", ["", "H4", "A", "A#", "4", "A44x", "X#2", "A 4 4", "G#9x", "C10"])
def test_bad_note_names(bad):
    with pytest.raises(NoteError):
        parse_note(bad)


def test_note_error_is_user_error_and_value_error():
    with pytest.raises(CleartuneError):
        parse_note("Q3")
    with pytest.raises(ValueError):
        parse_note("Q3")


def test_frequencies_and_cents():
    assert midi_to_hz(69) == pytest.approx(440.0, abs=1e-12)
    assert note_to_hz("E2") == pytest.approx(82.406889, abs=1e-5)
    assert note_to_hz("E6") == pytest.approx(1318.510228, abs=1e-5)
    assert note_to_hz("A4", a4=432.0) == pytest.approx(432.0, abs=1e-12)
    assert hz_to_midi(440.0) == pytest.approx(69.0, abs=1e-12)
    assert hz_to_midi(261.6255653) == pytest.approx(60.0, abs=1e-8)
    assert cents(880.0, 440.0) == pytest.approx(1200.0, abs=1e-9)
    assert cents(440.0 * 2 ** (1 / 1200), 440.0) == pytest.approx(1.0, abs=1e-9)
    assert shift_cents(440.0, -1200) == pytest.approx(220.0, abs=1e-9)
    assert normalize_note("Eb2") == "D#2"
    with pytest.raises(ValueError):
        hz_to_midi(0.0)
    with pytest.raises(ValueError):
        cents(-1.0, 440.0)


def test_chromatic_mapping():
    m = NoteMapper()
    r = m.map(440.0 * 2 ** (10 / 1200))
    assert (r.note, r.midi) == ("A4", 69)
    assert r.target_hz == pytest.approx(440.0, abs=1e-9)
    assert r.cents == pytest.approx(10.0, abs=1e-9)
    r = m.map(note_to_hz("E2") * 2 ** (-30 / 1200))
    assert r.note == "E2" and r.cents == pytest.approx(-30.0, abs=1e-9)
    # just past the boundary goes to the neighbour...
    r = m.map(440.0 * 2 ** (51 / 1200))
    assert r.note == "A#4" and r.cents == pytest.approx(-49.0, abs=1e-9)
    # ...unless the previous note is preferred within the hysteresis
    r = m.map(440.0 * 2 ** (51 / 1200), prefer=69, hysteresis_cents=5.0)
    assert r.note == "A4" and r.cents == pytest.approx(51.0, abs=1e-9)
    r = m.map(440.0 * 2 ** (56 / 1200), prefer=69, hysteresis_cents=5.0)
    assert r.note == "A#4"
    with pytest.raises(ValueError):
        m.map(0.0)
    with pytest.raises(ValueError):
        m.map(float("nan"))


def test_reference_pitch_range():
    m = NoteMapper(a4=432.0)
    r = m.map(432.0)
    assert r.note == "A4" and abs(r.cents) < 1e-9
    r = m.map(440.0)
    assert r.note == "A4" and r.cents == pytest.approx(1200 * math.log2(440 / 432), abs=1e-9)
    NoteMapper(a4=415.0)
    NoteMapper(a4=466.0)
    for bad in (414.9, 466.1, 0.0, float("nan"), "abc"):
        with pytest.raises(NoteError):
            NoteMapper(a4=bad)


def test_tunings():
    assert TUNINGS["standard"].notes == ("E2", "A2", "D3", "G3", "B3", "E4")
    assert get_tuning("drop-d").notes == ("D2", "A2", "D3", "G3", "B3", "E4")
    assert get_tuning("Drop D").notes == ("D2", "A2", "D3", "G3", "B3", "E4")
    assert get_tuning("DADGAD").notes == ("D2", "A2", "D3", "G3", "A3", "D4")
    assert get_tuning("half_step_down").notes == ("D#2", "G#2", "C#3", "F#3", "A#3", "D#4")
    assert get_tuning("open-g").notes == ("D2", "G2", "D3", "G3", "B3", "D4")
    c1 = get_tuning("D2,A2,D3,G3,A3,D4")
    c2 = get_tuning("D2 A2 D3 G3 A3 D4")
    c3 = get_tuning(["D2", "A2", "D3", "G3", "A3", "D4"])
    assert c1 == c2 == c3 and c1.name == "custom" and c1.midis == (38, 45, 50, 55, 57, 62)
    assert get_tuning(c1) is c1
    with pytest.raises(AttributeError):
        c1.name = "x"  # frozen
    assert isinstance(c1, Tuning)
    assert get_tuning("standard").frequencies()[1] == pytest.approx(110.0, abs=1e-9)
    for bad in ("banjo", "D2,A2,Q3", "", []):
        with pytest.raises(NoteError):
            get_tuning(bad)


def test_guitar_mode_nearest_string():
    m = NoteMapper(mode="guitar")
    r = m.map(note_to_hz("A2") * 2 ** (120 / 1200))     # A#2+20: still nearest A2 string
    assert r.note == "A2" and r.cents == pytest.approx(120.0, abs=1e-9)
    r = m.map(note_to_hz("E2") * 2 ** (-40 / 1200))
    assert r.note == "E2" and r.cents == pytest.approx(-40.0, abs=1e-9)
    r = m.map(note_to_hz("B3") * 2 ** (300 / 1200))     # D4: between B3 (+300) and E4 (-200)
    assert r.note == "E4"
    r = NoteMapper(mode="guitar", tuning="drop-d").map(note_to_hz("D2"))
    assert r.note == "D2" and abs(r.cents) < 1e-9
    # midpoint between A2 and D3 is +250 cents above A2; hysteresis keeps the preferred string
    f = note_to_hz("A2") * 2 ** (255 / 1200)
    assert m.map(f).note == "D3"
    assert m.map(f, prefer=45, hysteresis_cents=10).note == "A2"
    assert m.candidates() == (40, 45, 50, 55, 59, 64)


def test_note_mode():
    m = NoteMapper(mode="note", target="A4")
    r = m.map(450.0)
    assert r.note == "A4" and r.cents == pytest.approx(1200 * math.log2(450 / 440), abs=1e-9)
    r = m.map(220.0)
    assert r.note == "A4" and r.cents == pytest.approx(-1200.0, abs=1e-9)
    assert NoteMapper(mode="note", target="Bb3").map(233.0).note == "A#3"
    with pytest.raises(NoteError):
        NoteMapper(mode="note")
    with pytest.raises(NoteError):
        NoteMapper(mode="note", target="Z9")
    with pytest.raises(NoteError):
        NoteMapper(mode="chromatic", target="A4")
    with pytest.raises(NoteError):
        NoteMapper(mode="banjo")
