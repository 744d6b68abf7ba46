"""The shipped demo recording: golden output, and what a listener hears in it.

edge/demo/demo.wav holds the six open strings of standard tuning (E2 A2 D3 G3 B3 E4,
fluidsynth FluidR3 steel guitar) with A2 detuned by about -15 cents and B3 by about +7
(the pitch bend of make_demo.py plus the sample set's own tuning, measured on the file by
partial peak fitting: E2 -2, A2 -15, D3 -1, G3 -1, B3 +7, E4 -1 cents, +-2).
If a tracker change is meant to change the readings, regenerate the golden with
``python edge/demo/make_demo.py --golden``."""
import json
from pathlib import Path

import pytest

from cleartune.cli import main
from cleartune.edge.cli_analyze import summarize
from cleartune.edge.reading import Reading

DEMO = Path(__file__).resolve().parents[1] / "edge" / "demo"
WAV, GOLDEN = DEMO / "demo.wav", DEMO / "demo.golden.jsonl"
#: Cents may differ from the golden by this much (float differences across machines/libraries).
GOLDEN_CENTS_TOL = 0.5
#: Reading times must agree within this [s] (they are multiples of the reading interval).
GOLDEN_T_TOL = 0.001
#: Demo strings and their measured detuning [cents], and the tolerance of the listener check.
EXPECTED = [("E2", -2.0), ("A2", -15.0), ("D3", -1.0), ("G3", -1.0), ("B3", +7.0), ("E4", -1.0)]
HEARD_CENTS_TOL = 4.0


def _analyze(*flags: str) -> list:
    """``cleartune analyze demo.wav --json FLAGS`` -> its readings (dicts)."""
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["analyze", str(WAV), "--json", *flags])
    assert rc == 0
    return [json.loads(ln) for ln in buf.getvalue().splitlines()]


@pytest.fixture(scope="module")
def demo_readings():
    return _analyze("--no-denoise")


def test_demo_files_are_small_and_present():
    assert WAV.is_file() and WAV.stat().st_size < 500_000
    from cleartune.edge.audio_io import read_audio

    x, sr = read_audio(WAV)
    assert sr == 22050 and 6.0 <= len(x) / sr <= 10.0
    assert GOLDEN.is_file()


def test_demo_matches_golden(demo_readings):
    golden = [json.loads(ln) for ln in GOLDEN.read_text().splitlines()]
    hint = "if the tracker changed on purpose: python edge/demo/make_demo.py --golden"
    assert len(demo_readings) == len(golden), hint
    for got, want in zip(demo_readings, golden):
        assert got["t"] == pytest.approx(want["t"], abs=GOLDEN_T_TOL), hint
        assert got["note"] == want["note"], f"t={want['t']}: {got['note']} != {want['note']} ({hint})"
        if want["note"] is not None:
            assert got["cents"] == pytest.approx(want["cents"], abs=GOLDEN_CENTS_TOL), f"t={want['t']} ({hint})"


def test_demo_has_at_least_ten_readings_per_second(demo_readings):
    from cleartune.edge.audio_io import read_audio

    x, sr = read_audio(WAV)
    assert len(demo_readings) >= 10 * len(x) / sr - 1


def _assert_strings_heard(readings: list) -> None:
    """The six strings, in order, each held >= 0.3 s at its measured detuning."""
    rs = [Reading(t=r["t"], note=r["note"], cents=r["cents"], f0_hz=r["f0_hz"]) for r in readings]
    segs = [s for s in summarize(rs) if s.end - s.start >= 0.3]
    assert [s.note for s in segs] == [n for n, _ in EXPECTED]
    for s, (note, c) in zip(segs, EXPECTED):
        assert s.cents == pytest.approx(c, abs=HEARD_CENTS_TOL), note


def test_demo_strings_are_heard_in_order_with_their_detuning(demo_readings):
    _assert_strings_heard(demo_readings)


@pytest.fixture(scope="module")
def demo_readings_default():
    """The default path: the shipped guitar-pitch model guiding the tracker."""
    from cleartune.edge import guitar_model

    if guitar_model.default_model_path() is None:
        pytest.skip("no guitar-pitch model shipped")
    return _analyze()


def test_demo_with_the_shipped_model(demo_readings_default):
    """The default path: the same six strings and detunings, and at most two stray readings
    (a pluck's first reading may name its octave or the last string's partial)."""
    _assert_strings_heard(demo_readings_default)
    names = {n for n, _ in EXPECTED}
    stray = [r for r in demo_readings_default if r["note"] is not None and r["note"] not in names]
    assert len(stray) <= 2, stray
