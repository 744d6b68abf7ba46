"""A minimal Standard MIDI File (format 0) writer, stdlib only.

Times are in seconds.  The file uses 1000 ticks per quarter note and a tempo of one
quarter note per second, so one tick is exactly 1 ms and an event written at ``t`` seconds
sounds at ``round(t * 1000)`` ms.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from cleartune.edge.fileio import atomic_write_bytes

#: MIDI ticks per second with the tempo written by :class:`MidiFile` (1 tick = 1 ms).
TICKS_PER_SECOND = 1000
_TEMPO_US_PER_QUARTER = 1_000_000


def _vlq(n: int) -> bytes:
    """Variable-length quantity (big-endian base-128, continuation bit set on all but last)."""
    if n < 0:
        raise ValueError("negative delta time")
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _check7(name: str, v: int) -> int:
    v = int(v)
    if not 0 <= v <= 127:
        raise ValueError(f"{name}={v} outside 0..127")
    return v


@dataclass
class MidiFile:
    """Collects channel events and writes a format-0 SMF.

    ``channel`` is 0..15 (9 is GM percussion); ``note``/``velocity``/``program``/values 0..127."""

    events: list[tuple[int, int, bytes]] = field(default_factory=list)  # (tick, order, data)

    def _add(self, t: float, data: bytes) -> None:
        if t < 0:
            raise ValueError(f"event time {t} s is negative")
        self.events.append((int(round(t * TICKS_PER_SECOND)), len(self.events), data))

    def program(self, t: float, *, channel: int, program: int) -> None:
        self._add(t, bytes([0xC0 | (channel & 0x0F), _check7("program", program)]))

    def control(self, t: float, *, channel: int, controller: int, value: int) -> None:
        self._add(t, bytes([0xB0 | (channel & 0x0F), _check7("controller", controller), _check7("value", value)]))

    def pitch_bend(self, t: float, *, channel: int, value: int) -> None:
        """``value`` in -8192..8191 (0 = no bend; the GM default range is +-2 semitones)."""
        v = int(value) + 8192
        if not 0 <= v <= 16383:
            raise ValueError(f"pitch bend {value} outside -8192..8191")
        self._add(t, bytes([0xE0 | (channel & 0x0F), v & 0x7F, (v >> 7) & 0x7F]))

    def note(self, t: float, *, duration: float, channel: int, note: int, velocity: int) -> None:
        """A note from ``t`` to ``t + duration`` seconds."""
        if duration <= 0:
            raise ValueError("note duration must be positive")
        n = _check7("note", note)
        self._add(t, bytes([0x90 | (channel & 0x0F), n, max(1, _check7("velocity", velocity))]))
        self._add(t + duration, bytes([0x80 | (channel & 0x0F), n, 0]))

    def end_time(self) -> float:
        return max((e[0] for e in self.events), default=0) / TICKS_PER_SECOND

    def to_bytes(self, *, end_padding_s: float = 0.0) -> bytes:
        # note-offs sort before note-ons at the same tick so repeated notes retrigger
        def key(e):
            tick, order, data = e
            return (tick, 0 if (data[0] & 0xF0) == 0x80 else 1, order)

        track = bytearray()
        track += _vlq(0) + b"\xff\x51\x03" + _TEMPO_US_PER_QUARTER.to_bytes(3, "big")
        last = 0
        for tick, _order, data in sorted(self.events, key=key):
            track += _vlq(tick - last) + data
            last = tick
        end_tick = max(last, int(round((self.end_time() + end_padding_s) * TICKS_PER_SECOND)))
        track += _vlq(end_tick - last) + b"\xff\x2f\x00"
        header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_SECOND)
        return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)

    def save(self, path: str | os.PathLike, *, end_padding_s: float = 0.0) -> None:
        """Write atomically."""
        atomic_write_bytes(path, self.to_bytes(end_padding_s=end_padding_s))
