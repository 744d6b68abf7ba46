"""Terminal view (``--output tui``): a needle and a strobe-like band, redrawn in place.

On a TTY the view is three lines redrawn with ANSI escapes at most ``fps`` times per second
(readings in between still move the strobe); when the stream is not a TTY (a pipe, a
log, journald) each reading is one plain line with a small needle instead, no escapes.

The strobe band moves like a strobe tuner's disc: to the right when sharp, to the left
when flat, standing still in tune; its speed is ``STROBE_CHARS_PER_S_PER_CENT`` x cents
characters per second of *audio time* (reading ``t``), so a file replays the same way.

:func:`render` and :func:`render_plain` are pure (fixed readings -> fixed text) and tested.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Callable, Optional, TextIO

from cleartune.edge.reading import Reading

from .sink import BaseSink
from .wire import DEFAULT_IN_TUNE_CENTS

RANGE_CENTS = 50.0                 # [cents] needle full scale (half a semitone)
STROBE_CHARS_PER_S_PER_CENT = 0.4  # [chars / s / cent] strobe band speed
STROBE_PERIOD = 8                  # [chars] one light + dark cycle of the band
NEAR_CENTS = 10.0                  # [cents] yellow between in-tune and this
DEFAULT_WIDTH = 41                 # [chars] needle track (odd: a centre column)

_GREEN, _YELLOW, _RED, _DIM, _RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[2m", "\x1b[0m"


def _track(cents: Optional[float], width: int, *, ascii_only: bool) -> str:
    """Needle track ``width`` chars: centre mark, needle at cents (clamped to the scale)."""
    mid = width // 2
    base = ["-" if ascii_only else "─"] * width
    for k in (0, width // 4, mid, width - 1 - width // 4, width - 1):
        base[k] = "+" if ascii_only else "┼"
    base[mid] = "|" if ascii_only else "│"
    if cents is not None:
        c = max(-RANGE_CENTS, min(RANGE_CENTS, cents))
        pos = mid + int(round(c / RANGE_CENTS * mid))
        base[pos] = "^" if ascii_only else "▲"
    return "".join(base)


def strobe_band(phase: float, width: int, *, ascii_only: bool = False, still: bool = False) -> str:
    """A band of period :data:`STROBE_PERIOD` shifted by ``phase`` [chars]; ``still`` for no signal."""
    if still:
        return (" " if ascii_only else "·") * width
    on, off = ("#", " ") if ascii_only else ("█", "░")
    shift = int(math.floor(phase)) % STROBE_PERIOD
    half = STROBE_PERIOD // 2
    return "".join(on if (i - shift) % STROBE_PERIOD < half else off for i in range(width))


def _color(cents: Optional[float], in_tune_cents: float) -> str:
    if cents is None:
        return _DIM
    a = abs(cents)
    return _GREEN if a <= in_tune_cents else _YELLOW if a <= NEAR_CENTS else _RED


def _cents_or_none(reading: Reading) -> Optional[float]:
    if reading.note is None or reading.cents is None or not math.isfinite(float(reading.cents)):
        return None
    return float(reading.cents)


def _no_note(reading: Reading) -> str:
    """What the view says without a note: a clear tone outside B0..C8, or nothing."""
    return "out of range" if reading.out_of_range else "no signal"


def render(reading: Reading, *, width: int = DEFAULT_WIDTH, phase: float = 0.0,
           in_tune_cents: float = DEFAULT_IN_TUNE_CENTS, color: bool = False, ascii_only: bool = False) -> list[str]:
    """The three lines of the TTY view (without escapes for cursor movement)::

        A2      -3.1 cents   flat        conf 0.93
        ┼─────────┼──────▲───│─────────┼─────────┼
        ████░░░░████░░░░████░░░░████░░░░████░░░░█
    """
    c = _cents_or_none(reading)
    conf = float(reading.confidence) if math.isfinite(float(reading.confidence)) else 0.0
    if c is None:
        head = f"{'--':<6}{'':>11}   {_no_note(reading):<11} conf {conf:.2f}"
    else:
        state = "IN TUNE" if abs(c) <= in_tune_cents else ("flat" if c < 0 else "sharp")
        rc = round(c, 1) or 0.0
        head = f"{reading.note:<6}{rc:>+6.1f} cents   {state:<11} conf {conf:.2f}"
    lines = [head, _track(c, width, ascii_only=ascii_only),
             strobe_band(phase, width, ascii_only=ascii_only, still=c is None)]
    if color:
        col = _color(c, in_tune_cents)
        lines = [col + ln + _RESET for ln in lines]
    return lines


def render_plain(reading: Reading, *, width: int = 21, in_tune_cents: float = DEFAULT_IN_TUNE_CENTS) -> str:
    """One line for non-TTY streams: ``t=1.25 A2 -3.1 [----------|^--------] flat``."""
    c = _cents_or_none(reading)
    t = f"t={float(reading.t):.2f}"
    if c is None:
        return f"{t} -- {_no_note(reading)}"
    state = "in tune" if abs(c) <= in_tune_cents else ("flat" if c < 0 else "sharp")
    rc = round(c, 1) or 0.0
    return f"{t} {reading.note} {rc:+.1f} [{_track(c, width, ascii_only=True)}] {state}"


def _stream_is_utf8(stream: TextIO) -> bool:
    enc = getattr(stream, "encoding", None) or ""
    return enc.lower().replace("-", "") in ("utf8", "utf8sig")


class TuiSink(BaseSink):
    """Terminal view sink.  ``stream`` defaults to stdout; ``tty`` forces the mode (default:
    ``stream.isatty()``); ``width`` [chars] of the needle track (default: 41, less in a
    narrow terminal); ``fps`` redraw limit; ``clock`` (monotonic seconds) for tests."""

    def __init__(self, *, stream: Optional[TextIO] = None, in_tune_cents: float = DEFAULT_IN_TUNE_CENTS,
                 fps: float = 20.0, width: Optional[int] = None, tty: Optional[bool] = None,
                 color: Optional[bool] = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._stream = stream
        s = self.stream
        self.tty = bool(tty) if tty is not None else bool(getattr(s, "isatty", lambda: False)())
        self.color = (self.tty and "NO_COLOR" not in os.environ) if color is None else bool(color)
        self.ascii_only = not _stream_is_utf8(s)
        self.in_tune_cents = float(in_tune_cents)
        self.min_interval = 1.0 / float(fps)
        if width is None:  # fit a narrow terminal: the header needs about 41 columns anyway
            import shutil

            cols = shutil.get_terminal_size((DEFAULT_WIDTH + 1, 24)).columns if self.tty else DEFAULT_WIDTH + 1
            width = max(11, min(DEFAULT_WIDTH, cols - 1))
        self.width = int(width)
        self._clock = clock
        self._phase = 0.0
        self._last_t: Optional[float] = None
        self._last_draw: Optional[float] = None
        self._drawn_lines = 0
        self._pending: Optional[Reading] = None
        self.frames_drawn = 0

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def _advance(self, reading: Reading) -> None:
        c = _cents_or_none(reading)
        t = float(reading.t)
        if self._last_t is not None and c is not None:
            dt = min(0.5, max(0.0, t - self._last_t))
            self._phase += c * STROBE_CHARS_PER_S_PER_CENT * dt
        self._last_t = t

    def _draw(self, reading: Reading) -> None:
        lines = render(reading, width=self.width, phase=self._phase, in_tune_cents=self.in_tune_cents,
                       color=self.color, ascii_only=self.ascii_only)
        out = []
        if self._drawn_lines == 0:
            out.append("\x1b[?25l")  # hide the cursor while drawing
        else:
            out.append(f"\x1b[{self._drawn_lines}F")  # back to the first line of the view
        out.extend("\x1b[2K" + ln + "\n" for ln in lines)
        s = self.stream
        s.write("".join(out))
        s.flush()
        self._drawn_lines = len(lines)
        self.frames_drawn += 1
        self._pending = None

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:
        if self._closed:
            return
        self._advance(reading)
        if not self.tty:
            line = render_plain(reading, in_tune_cents=self.in_tune_cents)
            s = self.stream
            s.write((f"{file}: " if file else "") + line + "\n")
            s.flush()
            return
        now = self._clock()
        if self._last_draw is not None and now - self._last_draw < self.min_interval:
            self._pending = reading
            return
        self._last_draw = now
        self._draw(reading)

    def _close(self) -> None:
        try:
            if self.tty:
                if self._pending is not None:
                    self._draw(self._pending)
                if self._drawn_lines:
                    self.stream.write("\x1b[?25h")  # show the cursor again
            self.stream.flush()
        except (OSError, ValueError):
            pass
