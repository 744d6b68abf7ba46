"""Terminal view: render fixed readings, strobe motion, TTY redraw throttling, plain mode."""
from __future__ import annotations

import io

import pytest

from cleartune.edge.reading import Reading
from cleartune.firmware_bridge.config import RunConfig
from cleartune.firmware_bridge.outputs import make_output
from cleartune.firmware_bridge.tui import STROBE_PERIOD, TuiSink, render, render_plain, strobe_band

A2 = Reading(t=0.5, note="A2", cents=-3.14, f0_hz=109.8, confidence=0.93, midi=45)
E4 = Reading(t=0.5, note="E4", cents=1.0, f0_hz=330.0, confidence=1.0, midi=64)
SILENT = Reading.silent(0.5, confidence=0.2)


def needle_pos(line: str) -> int:
    return line.index("^")


def test_render_fixed_reading_ascii():
    lines = render(A2, width=41, phase=0.0, ascii_only=True)
    assert lines == [
        "A2      -3.1 cents   flat        conf 0.93",
        "+---------+--------^|---------+---------+",
        "####    ####    ####    ####    ####    #",
    ]


def test_render_needle_positions():
    w = 41
    assert needle_pos(render(E4, width=w, ascii_only=True)[1]) == 20          # in tune: centre
    sharp = Reading(t=0, note="E4", cents=25.0, f0_hz=1, confidence=1, midi=64)
    assert needle_pos(render(sharp, width=w, ascii_only=True)[1]) == 30      # half scale right
    way_off = Reading(t=0, note="E4", cents=-300.0, f0_hz=1, confidence=1, midi=64)
    assert needle_pos(render(way_off, width=w, ascii_only=True)[1]) == 0     # clamped
    assert "IN TUNE" in render(E4)[0] and "sharp" in render(sharp)[0]


def test_render_no_signal_and_unicode():
    lines = render(SILENT, width=21)
    assert lines[0].startswith("--") and "no signal" in lines[0] and "conf 0.20" in lines[0]
    assert "▲" not in lines[1] and set(lines[2]) == {"·"}
    assert "▲" in render(A2, width=21)[1]


def test_render_color():
    assert render(E4, color=True)[0].startswith("\x1b[32m")   # green in tune
    assert render(A2, color=True)[0].startswith("\x1b[33m")   # yellow near
    far = Reading(t=0, note="E4", cents=30.0, f0_hz=1, confidence=1, midi=64)
    assert render(far, color=True)[0].startswith("\x1b[31m")  # red
    assert all(ln.endswith("\x1b[0m") for ln in render(far, color=True))


def test_strobe_band_shifts_with_phase():
    b0 = strobe_band(0.0, 16, ascii_only=True)
    b1 = strobe_band(1.0, 16, ascii_only=True)
    assert b0 == "####    ####    " and b1 == " ####    ####   "
    assert strobe_band(float(STROBE_PERIOD), 16, ascii_only=True) == b0


def test_plain_lines():
    assert render_plain(A2) == "t=0.50 A2 -3.1 [+----+---^|----+----+] flat"
    assert render_plain(SILENT) == "t=0.50 -- no signal"
    assert render_plain(Reading(t=1, note="E4", cents=-0.01, f0_hz=1, confidence=1, midi=64)).endswith("+0.0 "
                                                                                                    "[+----+----^----+----+] in tune")


def test_not_a_tty_gives_plain_lines_without_escapes():
    buf = io.StringIO()
    sink = make_output("tui", RunConfig(), stream=buf)
    sink.write(A2)
    sink.write(SILENT)
    sink.close()
    assert buf.getvalue() == render_plain(A2) + "\n" + render_plain(SILENT) + "\n"
    assert "\x1b" not in buf.getvalue()


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_tty_redraw_in_place_and_throttle():
    buf, clock = io.StringIO(), Clock()
    sink = TuiSink(stream=buf, tty=True, color=False, fps=20.0, clock=clock)
    sink.write(A2)
    first = buf.getvalue()
    assert first.startswith("\x1b[?25l") and first.count("\x1b[2K") == 3 and "\x1b[3F" not in first
    clock.now += 0.01            # 10 ms later: over the 20 fps limit, not drawn
    sink.write(E4)
    assert sink.frames_drawn == 1
    clock.now += 0.05            # 60 ms after the first: drawn, cursor moved up 3 lines first
    sink.write(SILENT)
    assert sink.frames_drawn == 2 and buf.getvalue()[len(first):].startswith("\x1b[3F")
    clock.now += 0.001
    sink.write(E4)               # pending; close draws it and shows the cursor
    sink.close()
    out = buf.getvalue()
    assert sink.frames_drawn == 3 and out.endswith("\x1b[?25h") and "IN TUNE" in out.split("\x1b[3F")[-1]


def test_strobe_moves_with_audio_time_not_when_in_tune():
    buf = io.StringIO()
    sink = TuiSink(stream=buf, tty=False)
    for i in range(10):
        sink.write(Reading(t=i * 0.1, note="E4", cents=0.0, f0_hz=1, confidence=1, midi=64))
    assert sink._phase == pytest.approx(0.0, abs=1e-12)
    for i in range(10, 20):
        sink.write(Reading(t=i * 0.1, note="E4", cents=10.0, f0_hz=1, confidence=1, midi=64))
    assert sink._phase == pytest.approx(10.0 * 0.4 * 1.0, rel=1e-9)   # 10 steps of 0.1 s at 10 cents
    sink.write(Reading(t=2.0, note="E4", cents=-10.0, f0_hz=1, confidence=1, midi=64))
    assert sink._phase == pytest.approx(4.0 - 0.4, rel=1e-9)   # flat: back to the left
    sink.close()
