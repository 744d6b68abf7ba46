"""End to end: a WAV through `cleartune run` (the default pipeline, with the shipped
guitar-pitch model) to a serial port (loop://) and mock GPIO; what arrives matches `cleartune analyze
--json`.  Shutdown on SIGINT/SIGTERM in a real process: tests/test_shutdown.py."""
from __future__ import annotations

import json

import pytest
import serial  # pyserial and gpiozero are the edge extra's: missing, they fail the test
from gpiozero.pins.mock import MockFactory, MockPWMPin

from cleartune.cli import main
from cleartune.edge.notes import parse_note
from cleartune.edge.reading import Reading
from cleartune.firmware_bridge import gpio_out, serial_out
from cleartune.firmware_bridge.gpio_out import led_levels
from cleartune.firmware_bridge.wire import FrameDecoder

CENTS_OFF = -5.0  # [cents] the synthetic A2 is this flat


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> str:
    from cleartune.edge.audio_io import write_wav
    from cleartune.train.synth import plucked_string

    tone = plucked_string(110.0 * 2 ** (CENTS_OFF / 1200), duration=1.5, sample_rate=22050)
    p = tmp_path_factory.mktemp("e2e") / "a2.wav"
    write_wav(p, tone[0], 22050)
    return str(p)


@pytest.fixture(scope="module")
def analyzed(wav) -> list[dict]:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["analyze", wav, "--json"]) == 0  # the default pipeline: the shipped guitar-pitch model
    rows = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert len(rows) >= 10 and any(r["note"] == "A2" for r in rows)
    return rows


def test_run_to_loop_serial_and_mock_gpio_matches_analyze(wav, analyzed, monkeypatch, capsys):
    recorded = bytearray()
    ports = []

    def spy_open(port, *, baudrate, write_timeout):
        p = serial.serial_for_url(port, baudrate=baudrate, write_timeout=write_timeout, timeout=0)
        orig = p.write

        def write(data):
            recorded.extend(data)
            return orig(data)

        p.write = write
        ports.append(p)
        return p

    monkeypatch.setattr(serial_out, "open_serial", spy_open)
    factory = MockFactory(pin_class=MockPWMPin)
    history: dict[int, list[float]] = {}
    real_close = factory.close

    def close_factory():  # the sink closes the factory it made: look at the pins first
        history.update({n: [float(s.state) for s in factory.pin(n).states] for n in (17, 27, 22)})
        real_close()

    factory.close = close_factory
    monkeypatch.setattr(gpio_out, "make_pin_factory", lambda name, **kw: factory)

    rc = main(["run", "--input", wav, "--output", "serial:loop://", "--wire", "binary",
               "--output", "gpio", "--gpio-pin-factory", "mock", "--in-tune-cents", "2", "--verbose"])
    assert rc == 0
    from cleartune.edge.guitar_model import DEFAULT_MODEL_NAME, default_model_path

    err = capsys.readouterr().err   # the default pipeline ran: the shipped guitar-pitch model, once it ships
    assert (f"guide: {DEFAULT_MODEL_NAME}" if default_model_path() else "model: none (tracker alone)") in err
    assert ports and not ports[0].is_open  # closed at the end

    frames = FrameDecoder(synced=True).feed(bytes(recorded))
    assert len(frames) == len(analyzed) + 1          # + the clearing frame sent on close
    assert frames[-1].no_signal
    for i, (f, row) in enumerate(zip(frames, analyzed)):
        assert f.seq == i
        if row["note"] is None:
            assert f.midi is None and f.no_signal
        else:
            assert f.midi == parse_note(row["note"])
            assert abs(f.cents_x100 / 100 - row["cents"]) <= 0.0051
            assert f.in_tune == (abs(row["cents"]) <= 2.0)
        assert abs(f.conf_u8 - row["confidence"] * 255) <= 0.65
    tuned = [f for f in frames if f.midi == 45]
    assert tuned and all(abs(f.cents - CENTS_OFF) < 1.5 for f in tuned[len(tuned) // 4:])

    # the LEDs went through exactly the states the readings call for, then off
    readings = [Reading(t=r["t"], note=r["note"], cents=r["cents"], f0_hz=r["f0_hz"], confidence=r["confidence"])
                for r in analyzed]
    for k, pin in enumerate((17, 27, 22)):
        want = [0.0]
        for r in readings:
            v = led_levels(r, in_tune_cents=2.0)[k]
            if v != want[-1]:
                want.append(v)
        if want[-1] != 0.0:
            want.append(0.0)
        assert history[pin] == want, (pin, history[pin], want)
    factory.reset()
