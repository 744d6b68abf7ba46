"""SIGINT and SIGTERM stop `cleartune run` cleanly, in a real process.

The input never ends (raw PCM on a stdin pipe that is fed and never closed), so the process
can only stop because of the signal.  After the signal: the loop stops, closes its outputs
and reports within a second (the process then exits with status 0; the interpreter's own
teardown of scipy and LiteRT is left out of that second: on a loaded 2-core machine it alone
took 1-3 s), no traceback, every reading it made is on stdout as a complete JSON line (as many as it says it
made), the serial port (a pty) got every frame in order plus the clearing frame and was
closed, and the GPIO LEDs (a mock pin factory) were switched off and released.  The default
pipeline runs, with the shipped guitar-pitch model."""
from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from cleartune.edge.params import EDGE
from cleartune.firmware_bridge.wire import FrameDecoder
from cleartune.train.synth import plucked_string

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).resolve().parent / "_mock_gpio_child.py"
SR = EDGE.sample_rate
KEYS = {"t", "note", "cents", "f0_hz", "confidence"}
STOP_WITHIN_S = 1.0  # [s] from the signal to "stopped after ..." (loop ended, outputs closed)
EXIT_WITHIN_S = 10.0  # [s] from the signal to the process's exit


def _pcm_loop() -> bytes:
    """One second of s16le: a plucked A2, 4 cents sharp (so the in-tune LED stays dark and the sharp one lights)."""
    x, _ = plucked_string(110.0 * 2 ** (4 / 1200), duration=1.0, sample_rate=SR)
    return (np.clip(np.asarray(x), -1, 32767 / 32768) * 32768).astype("<i2").tobytes()


def _feed(pipe, stop: threading.Event) -> None:
    """Write the loop to ``pipe`` at about twice real time until ``stop``; never close it first."""
    data, chunk = _pcm_loop(), 2048 * 2
    t0, sent = time.monotonic(), 0
    try:
        while not stop.is_set():
            for i in range(0, len(data), chunk):
                pipe.write(data[i:i + chunk])
                pipe.flush()
                sent += chunk
                ahead = sent / (2 * 2 * SR) - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
                if stop.is_set():
                    return
    except (BrokenPipeError, ValueError, OSError):
        return  # the child has gone


def _read_pty(master: int, out: list, stop: threading.Event) -> None:
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


def _collect(stream, lines: list, times: list) -> None:
    for line in iter(stream.readline, ""):
        lines.append(line)
        times.append(time.monotonic())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_never_ending_input_cleanly(sig, tmp_path):
    state = tmp_path / "gpio.json"
    master, slave = os.openpty()
    tty.setraw(master)
    port = os.ttyname(slave)
    chunks: list = []
    out_lines: list[str] = []
    err_lines: list[str] = []
    err_times: list[float] = []
    stop = threading.Event()
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(state), "run", "--input", "-", "--stdin-rate", str(SR),
         "--output", "stdout", "--output", f"serial:{port}", "--wire", "binary",
         "--output", "gpio", "--gpio-pin-factory", "mock", "--in-tune-cents", "2", "--verbose", "--stats"],
        cwd=str(ROOT), env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    import io

    threads = [threading.Thread(target=_feed, args=(proc.stdin, stop), daemon=True),
               threading.Thread(target=_read_pty, args=(master, chunks, stop), daemon=True),
               threading.Thread(target=_collect, args=(io.TextIOWrapper(proc.stdout), out_lines, []), daemon=True),
               threading.Thread(target=_collect, args=(io.TextIOWrapper(proc.stderr), err_lines, err_times),
                                daemon=True)]
    for th in threads:
        th.start()

    def frames():
        return FrameDecoder(synced=True).feed(b"".join(c for c in chunks if c))

    try:
        deadline = time.monotonic() + 90  # the model loads, then readings stream
        while time.monotonic() < deadline and proc.poll() is None and not (
                len(out_lines) >= 40 and any('"A2"' in ln for ln in out_lines) and len(frames()) >= 20):
            time.sleep(0.05)
        assert proc.poll() is None, "".join(err_lines)
        assert len(out_lines) >= 40, "".join(err_lines)
        os.close(slave)  # from here only the child holds the port
        slave = None
        t_sig = time.monotonic()
        proc.send_signal(sig)
        try:
            proc.wait(timeout=EXIT_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sig.name}: still running {EXIT_WITHIN_S:.0f} s after the signal")
        for th in threads[2:]:
            th.join(5)
        err = "".join(err_lines)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "real_time_factor" in err  # --stats still printed at exit
        # it stopped because of the signal, within a second, and says how many readings it made
        said = [i for i, ln in enumerate(err_lines) if re.search(r"stopped after [0-9.]+ s of audio, \d+ readings", ln)]
        assert said, err
        took = err_times[said[0]] - t_sig
        assert took < STOP_WITHIN_S, f"{sig.name}: stopped {took:.2f} s after the signal"
        n = int(re.search(r"(\d+) readings", err_lines[said[0]]).group(1))
        # stdout: exactly those readings, each a complete JSON line, none lost at the end
        assert out_lines and all(ln.endswith("\n") for ln in out_lines)
        rows = [json.loads(ln) for ln in out_lines]
        assert len(rows) == n
        assert all(set(r) == KEYS for r in rows)
        period = (rows[-1]["t"] - rows[0]["t"]) / (n - 1)  # evenly spaced: none missing in between
        assert all(abs(b["t"] - a["t"] - period) < 2e-3 for a, b in zip(rows, rows[1:]))  # t has 3 decimals
        # serial: every reading in order, then the clearing frame; the port was closed
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and None not in chunks:
            time.sleep(0.02)
        assert None in chunks, "the serial port (pty) was not closed"
        fr = frames()
        assert [f.seq for f in fr] == [i & 0xFF for i in range(len(fr))]
        assert len(fr) == n + 1 and fr[-1].no_signal
        for f, r in zip(fr, rows):
            assert (f.midi is None) == (r["note"] is None)
        # GPIO: the sink closed its pin factory with every LED off; the sharp LED had been on
        assert state.is_file(), "the GPIO output was not closed"
        pins = json.loads(state.read_text())
        assert all(levels[-1] == 0.0 for levels in pins.values()), pins
        assert max(pins["22"]) > 0.0, pins
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for th in threads:
            th.join(2)
        if slave is not None:
            os.close(slave)
        os.close(master)
