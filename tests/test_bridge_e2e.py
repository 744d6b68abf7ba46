"""End to end: a WAV through `cleartune run` to a serial port (loop:// in process, a pty
in a subprocess) and mock GPIO; what arrives matches `cleartune analyze --json`; SIGTERM
shuts the subprocess down cleanly (display cleared, port closed, exit 0)."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest

serial = pytest.importorskip("serial")
gpiozero = pytest.importorskip("gpiozero")

from cleartune.cli import main  # noqa: E402
from cleartune.edge.notes import parse_note  # noqa: E402
from cleartune.edge.reading import Reading  # noqa: E402
from cleartune.firmware_bridge import gpio_out, serial_out  # noqa: E402
from cleartune.firmware_bridge.gpio_out import led_levels  # noqa: E402
from cleartune.firmware_bridge.wire import FrameDecoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
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
        assert main(["analyze", wav, "--json", "--no-denoise"]) == 0
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
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    factory = MockFactory(pin_class=MockPWMPin)
    history: dict[int, list[float]] = {}
    real_close = factory.close

    def close_factory():  # the sink closes the factory it made: look at the pins first
        history.update({n: [float(s.state) for s in factory.pin(n).states] for n in (17, 27, 22)})
        real_close()

    factory.close = close_factory
    monkeypatch.setattr(gpio_out, "make_pin_factory", lambda name, **kw: factory)

    rc = main(["run", "--input", wav, "--no-denoise", "--output", "serial:loop://", "--wire", "binary",
               "--output", "gpio", "--gpio-pin-factory", "mock", "--in-tune-cents", "2"])
    assert rc == 0
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


def _reader(master, out, stop):
    while not stop.is_set():
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every slave fd is closed
                out.append(None)
                return
            if not data:
                out.append(None)
                return
            out.append(data)


def test_sigterm_in_subprocess_closes_serial_and_exits_0(tmp_path):
    from cleartune.edge.audio_io import write_wav
    from cleartune.train.synth import plucked_string

    long_wav = tmp_path / "long.wav"
    write_wav(long_wav, plucked_string(82.4, duration=8.0, sample_rate=22050)[0], 22050)
    master, slave = os.openpty()
    tty.setraw(master)
    name = os.ttyname(slave)
    chunks, stop = [], threading.Event()
    th = threading.Thread(target=_reader, args=(master, chunks, stop), daemon=True)
    th.start()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "cleartune", "run", "--input", str(long_wav), "--realtime",
                             "--no-denoise", "--output", f"serial:{name}", "--wire", "binary"],
                            cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def decoded():
            return FrameDecoder(synced=True).feed(b"".join(c for c in chunks if c))

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(decoded()) < 5 and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert len(decoded()) >= 5
        os.close(slave)  # the child has the port open now; from here only it holds the slave
        slave = None
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err.decode()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and None not in chunks:
            time.sleep(0.02)
        assert None in chunks  # the pty slave was closed: the serial port is released
        frames = decoded()
        assert frames[-1].no_signal                           # the display was cleared on shutdown
        assert [f.seq for f in frames] == list(range(len(frames)))  # nothing lost or garbled in order
        assert len(frames) < 8.0 / 0.02                       # it stopped well before the end of the file
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        th.join(2)
        if slave is not None:
            os.close(slave)
        os.close(master)
