"""Note names, reference pitch, the tuner's range, instrument tunings and the display modes.

Scientific pitch notation: ``C4`` is middle C, ``A4`` is the reference pitch (440 Hz by
default, MIDI 69), sharps are written ``C#4``; flats (``Db4``, ``Bb3``) and the Unicode
signs (``C♯4``, ``B♭3``) are accepted on input, output always uses sharps.

Units: frequencies in Hz, pitch differences in cents (1/100 of an equal-tempered
semitone, 1200 per octave).

:class:`NoteMapper` turns a fundamental frequency into what the display shows:

* ``mode="chromatic"``: the nearest equal-tempered note;
* ``mode="guitar"`` (alias ``"instrument"``): the nearest open string of the tuning
  (nearest in cents); tunings for guitar (6, 7 and 8 strings), bass (4, 5 and 6 strings)
  and ukulele (re-entrant G4, low G, baritone) are in :data:`TUNINGS`;
* ``mode="note"``: one fixed target note (``target="A4"``); cents are relative to it.

The tuner's range is :data:`RANGE_LOW` (B0, 30.87 Hz, a 5-string bass's low string) to
:data:`RANGE_HIGH` (C8, 4186 Hz) in every mode; :func:`in_range` says whether a
frequency lies within it (up to half a semitone outside the two end notes).

Errors a user can cause (bad note name, unknown tuning, reference pitch outside
415..466 Hz, unknown mode) raise :class:`NoteError`, which is both a
:class:`~cleartune.edge.errors.CleartuneError` (one-line CLI message) and a ``ValueError``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Optional, Sequence, Union

from .errors import CleartuneError

#: Sharps-only pitch-class names, index = MIDI number mod 12.
NOTE_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

A4_MIDI = 69
A4_DEFAULT = 440.0      # [Hz]
A4_MIN = 415.0          # [Hz] lowest accepted reference (baroque pitch)
A4_MAX = 466.0          # [Hz] highest accepted reference
CENTS_PER_OCTAVE = 1200.0
CENTS_PER_SEMITONE = 100.0
#: Lowest / highest MIDI numbers a note name may denote (C-1 .. G9).
MIDI_MIN, MIDI_MAX = 0, 127

MODES = ("chromatic", "guitar", "note")
#: Other words accepted for a mode (``--mode instrument`` = ``guitar``: any stringed
#: instrument's open strings, per ``--tuning``).
MODE_ALIASES = {"instrument": "guitar", "strings": "guitar"}

#: The tuner's range, as MIDI numbers: B0 (30.87 Hz at A4 = 440) to C8 (4186 Hz).
RANGE_LOW = 23
RANGE_HIGH = 108

_NOTE_RE = re.compile(r"^\s*([A-Ga-g])\s*(#|b|♯|♭|s|x)?\s*(-?\d+)\s*$")


class NoteError(CleartuneError, ValueError):
    """A bad note name, tuning, mode or reference pitch."""


# -- conversions --------------------------------------------------------------------------
def check_a4(a4: float) -> float:
    """Validate a reference pitch [Hz]; returns it as float.  Raises :class:`NoteError`
    outside ``[A4_MIN, A4_MAX]``."""
    try:
        v = float(a4)
    except (TypeError, ValueError):
        raise NoteError(f"reference pitch A4={a4!r} is not a number") from None
    if not (math.isfinite(v) and A4_MIN <= v <= A4_MAX):
        raise NoteError(f"reference pitch A4={a4!r} Hz is outside {A4_MIN:g}..{A4_MAX:g} Hz")
    return v


def midi_to_hz(midi: float, *, a4: float = A4_DEFAULT) -> float:
    """Equal-tempered frequency [Hz] of a (possibly fractional) MIDI number."""
    return float(a4) * 2.0 ** ((float(midi) - A4_MIDI) / 12.0)


def hz_to_midi(hz: float, *, a4: float = A4_DEFAULT) -> float:
    """Fractional MIDI number of a frequency [Hz] (> 0).  Raises ``ValueError`` for hz <= 0."""
    hz = float(hz)
    if not (hz > 0.0 and math.isfinite(hz)):
        raise ValueError(f"frequency must be a positive finite number of Hz, got {hz!r}")
    return A4_MIDI + 12.0 * math.log2(hz / float(a4))


def cents(f: float, ref: float) -> float:
    """Pitch difference ``f`` relative to ``ref`` [cents]: ``1200 * log2(f / ref)``."""
    f, ref = float(f), float(ref)
    if not (f > 0.0 and ref > 0.0):
        raise ValueError(f"cents needs positive frequencies, got {f!r} and {ref!r}")
    return CENTS_PER_OCTAVE * math.log2(f / ref)


def shift_cents(f: float, c: float) -> float:
    """Frequency ``f`` [Hz] moved by ``c`` cents."""
    return float(f) * 2.0 ** (float(c) / CENTS_PER_OCTAVE)


def in_range(f: float, *, a4: float = A4_DEFAULT) -> bool:
    """Whether frequency ``f`` [Hz] is within the tuner's range: its nearest note lies in
    ``RANGE_LOW..RANGE_HIGH`` (B0..C8) under reference ``a4`` [Hz].  False for f <= 0."""
    f = float(f)
    if not (f > 0.0 and math.isfinite(f)):
        return False
    m = hz_to_midi(f, a4=a4)
    return RANGE_LOW - 0.5 <= m < RANGE_HIGH + 0.5


def normalize_mode(mode: str) -> str:
    """A mode word as the user typed it -> one of :data:`MODES` (aliases resolved,
    case-insensitive).  Raises :class:`NoteError` for an unknown word."""
    m = str(mode).strip().lower()
    m = MODE_ALIASES.get(m, m)
    if m not in MODES:
        raise NoteError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)} "
                        f"({', '.join(f'{a} = {b}' for a, b in MODE_ALIASES.items())})")
    return m


def midi_to_name(midi: int) -> str:
    """``69 -> "A4"``, ``61 -> "C#4"``, ``40 -> "E2"``."""
    m = int(round(midi))
    if m != midi:
        raise ValueError(f"midi_to_name needs an integer MIDI number, got {midi!r}")
    return f"{NOTE_NAMES[m % 12]}{m // 12 - 1}"


def parse_note(name: str) -> int:
    """Note name -> MIDI number: ``"A4" -> 69``, ``"C#4"``/``"Db4" -> 61``, ``"E2" -> 40``.

    Case-insensitive letter; accidental ``#``/``♯`` (sharp) or ``b``/``♭`` (flat); the
    octave is required.  Raises :class:`NoteError` for anything else."""
    if not isinstance(name, str):
        raise NoteError(f"note name must be a string like 'A4', got {name!r}")
    m = _NOTE_RE.match(name)
    if not m:
        raise NoteError(f"bad note name {name!r}: expected a letter A-G, optional # or b, and an octave (e.g. 'A4', 'C#3', 'Bb2')")
    letter, acc, octave = m.group(1).upper(), m.group(2), int(m.group(3))
    shift = {None: 0, "#": 1, "♯": 1, "s": 1, "x": 2, "b": -1, "♭": -1}[acc]
    midi = (octave + 1) * 12 + _LETTER_PC[letter] + shift
    if not MIDI_MIN <= midi <= MIDI_MAX:
        raise NoteError(f"note {name!r} is outside the MIDI range {midi_to_name(MIDI_MIN)}..{midi_to_name(MIDI_MAX)}")
    return midi


def note_to_hz(name: str, *, a4: float = A4_DEFAULT) -> float:
    """Frequency [Hz] of a named note under reference ``a4``."""
    return midi_to_hz(parse_note(name), a4=a4)


def normalize_note(name: str) -> str:
    """Canonical (sharps) spelling: ``"bb3" -> "A#3"``."""
    return midi_to_name(parse_note(name))


# -- tunings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tuning:
    """An instrument tuning: a name and its open strings (MIDI numbers), in string order
    from the lowest-sounding string, except re-entrant tunings (ukulele: G4 C4 E4 A4)."""

    name: str
    midis: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.midis:
            raise NoteError(f"tuning {self.name!r} has no strings")
        object.__setattr__(self, "midis", tuple(int(m) for m in self.midis))

    @property
    def notes(self) -> tuple[str, ...]:
        """String names in string order, e.g. ``("E2", "A2", "D3", "G3", "B3", "E4")``."""
        return tuple(midi_to_name(m) for m in self.midis)

    def frequencies(self, *, a4: float = A4_DEFAULT) -> tuple[float, ...]:
        """Open-string frequencies [Hz] under reference ``a4``."""
        return tuple(midi_to_hz(m, a4=a4) for m in self.midis)

    def __str__(self) -> str:
        return f"{self.name} ({' '.join(self.notes)})"

    @classmethod
    def from_notes(cls, notes: Iterable[str], *, name: str = "custom") -> "Tuning":
        """Build from note names (any order is kept as given)."""
        names = [n for n in notes]
        if not names:
            raise NoteError("a custom tuning needs at least one note, e.g. 'D2,A2,D3,G3,B3,E4'")
        return cls(name=name, midis=tuple(parse_note(n) for n in names))


def _t(name: str, spec: str) -> Tuning:
    return Tuning(name=name, midis=tuple(parse_note(n) for n in spec.split()))


#: Named tunings (low string first; the ukulele's re-entrant G4 first as it is strung).
TUNINGS: dict[str, Tuning] = {
    t.name: t
    for t in (
        _t("standard", "E2 A2 D3 G3 B3 E4"),
        _t("drop-d", "D2 A2 D3 G3 B3 E4"),
        _t("dadgad", "D2 A2 D3 G3 A3 D4"),
        _t("half-step-down", "D#2 G#2 C#3 F#3 A#3 D#4"),
        _t("full-step-down", "D2 G2 C3 F3 A3 D4"),
        _t("open-g", "D2 G2 D3 G3 B3 D4"),
        _t("open-d", "D2 A2 D3 F#3 A3 D4"),
        _t("open-e", "E2 B2 E3 G#3 B3 E4"),
        _t("drop-c", "C2 G2 C3 F3 A3 D4"),
        _t("7-string", "B1 E2 A2 D3 G3 B3 E4"),
        _t("8-string", "F#1 B1 E2 A2 D3 G3 B3 E4"),
        _t("bass", "E1 A1 D2 G2"),
        _t("bass-5", "B0 E1 A1 D2 G2"),
        _t("bass-6", "B0 E1 A1 D2 G2 C3"),
        _t("bass-drop-d", "D1 A1 D2 G2"),
        _t("ukulele", "G4 C4 E4 A4"),
        _t("ukulele-low-g", "G3 C4 E4 A4"),
        _t("baritone-ukulele", "D3 G3 B3 E4"),
    )
}
_ALIASES = {"std": "standard", "e-standard": "standard", "dropd": "drop-d", "eb": "half-step-down",
            "e-flat": "half-step-down", "half-step": "half-step-down", "openg": "open-g", "opend": "open-d",
            "opene": "open-e", "dropc": "drop-c", "d-standard": "full-step-down",
            "7": "7-string", "7string": "7-string", "seven-string": "7-string", "guitar-7": "7-string",
            "8": "8-string", "8string": "8-string", "eight-string": "8-string", "guitar-8": "8-string",
            "bass-4": "bass", "bass4": "bass", "4-string-bass": "bass", "bass-standard": "bass",
            "bass5": "bass-5", "5-string-bass": "bass-5", "bass6": "bass-6", "6-string-bass": "bass-6",
            "uke": "ukulele", "soprano-ukulele": "ukulele", "concert-ukulele": "ukulele", "tenor-ukulele": "ukulele",
            "ukulele-low": "ukulele-low-g", "uke-low-g": "ukulele-low-g", "baritone-uke": "baritone-ukulele"}


def get_tuning(spec: Union[str, Sequence[str], Tuning]) -> Tuning:
    """A :class:`Tuning` from a name (``"standard"``, ``"drop-d"``, ``"Drop D"``, ...), a
    custom list (``"D2,A2,D3,G3,A3,D4"`` or ``"D2 A2 D3 G3 A3 D4"``), a sequence of note
    names, or a :class:`Tuning` (returned as is).  Raises :class:`NoteError`."""
    if isinstance(spec, Tuning):
        return spec
    if isinstance(spec, str):
        key = re.sub(r"[\s_]+", "-", spec.strip().lower())
        key = _ALIASES.get(key, key)
        if key in TUNINGS:
            return TUNINGS[key]
        parts = [p for p in re.split(r"[,\s;]+", spec.strip()) if p]
        if len(parts) >= 1 and all(_NOTE_RE.match(p) for p in parts):
            return Tuning.from_notes(parts)
        raise NoteError(f"unknown tuning {spec!r}: choose one of {', '.join(TUNINGS)} "
                        "or give notes like 'D2,A2,D3,G3,A3,D4'")
    try:
        names = list(spec)
    except TypeError:
        raise NoteError(f"bad tuning {spec!r}") from None
    return Tuning.from_notes([str(n) for n in names])


# -- the mapper ---------------------------------------------------------------------------
class NoteMatch(NamedTuple):
    """What the display shows for one frequency."""

    note: str          # scientific pitch notation, sharps
    midi: int          # MIDI number of ``note``
    target_hz: float   # frequency of ``note`` under the reference [Hz]
    cents: float       # f0 relative to target_hz [cents]


class NoteMapper:
    """Map a fundamental frequency to (note, midi, target_hz, cents).

    Parameters (keyword-only):
        a4:     reference pitch [Hz], 415..466.
        mode:   ``"chromatic"`` (nearest note), ``"guitar"`` or ``"instrument"`` (nearest
                string of ``tuning``), ``"note"`` (always ``target``).
        tuning: tuning name, custom note list or :class:`Tuning` (used by ``"guitar"``).
        target: note name for ``mode="note"`` (required there, e.g. ``"A4"``); given with
                another mode it is an error.
    """

    def __init__(self, *, a4: float = A4_DEFAULT, mode: str = "chromatic",
                 tuning: Union[str, Sequence[str], Tuning] = "standard", target: Optional[str] = None) -> None:
        self.a4 = check_a4(a4)
        mode = normalize_mode(mode)
        self.mode = mode
        self.tuning = get_tuning(tuning)
        if mode == "note":
            if target is None:
                raise NoteError("mode 'note' needs a target note, e.g. target='A4'")
            self.target_midi: Optional[int] = parse_note(target)
        else:
            if target is not None:
                raise NoteError(f"a target note is only used with mode 'note' (mode is {mode!r})")
            self.target_midi = None
        self._string_hz = self.tuning.frequencies(a4=self.a4)

    def __repr__(self) -> str:
        extra = f", target={midi_to_name(self.target_midi)!r}" if self.target_midi is not None else ""
        return f"NoteMapper(a4={self.a4:g}, mode={self.mode!r}, tuning={self.tuning.name!r}{extra})"

    def _match(self, f0: float, midi: int) -> NoteMatch:
        t = midi_to_hz(midi, a4=self.a4)
        return NoteMatch(midi_to_name(midi), midi, t, cents(f0, t))

    def candidates(self) -> Optional[tuple[int, ...]]:
        """The MIDI numbers this mode can show, or ``None`` for any note (chromatic)."""
        if self.mode == "guitar":
            return self.tuning.midis
        if self.mode == "note":
            return (self.target_midi,)  # type: ignore[return-value]
        return None

    def map(self, f0: float, *, prefer: Optional[int] = None, hysteresis_cents: float = 0.0) -> NoteMatch:
        """Note for ``f0`` [Hz].

        ``prefer`` (a MIDI number, e.g. the note shown last) is kept while ``f0`` is within
        ``hysteresis_cents`` of being its nearest choice, so a note sitting on a boundary
        does not flicker between neighbours.  Raises ``ValueError`` for f0 <= 0."""
        if not (f0 > 0.0 and math.isfinite(f0)):
            raise ValueError(f"f0 must be a positive finite frequency [Hz], got {f0!r}")
        h = max(0.0, float(hysteresis_cents))
        if self.mode == "note":
            return self._match(f0, self.target_midi)  # type: ignore[arg-type]
        if self.mode == "chromatic":
            m = hz_to_midi(f0, a4=self.a4)
            best = int(math.floor(m + 0.5))
            if prefer is not None and abs(m - prefer) * CENTS_PER_SEMITONE <= CENTS_PER_SEMITONE / 2 + h:
                best = int(prefer)
            best = min(max(best, MIDI_MIN), MIDI_MAX)
            return self._match(f0, best)
        # guitar: nearest string in cents
        dist = [abs(cents(f0, fs)) for fs in self._string_hz]
        i = min(range(len(dist)), key=dist.__getitem__)
        if prefer is not None and prefer in self.tuning.midis:
            j = self.tuning.midis.index(prefer)
            if dist[j] <= dist[i] + 2 * h:
                i = j
        return self._match(f0, self.tuning.midis[i])

    __call__ = map
