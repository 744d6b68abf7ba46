"""Serial output: loop:// and pty round trips, mid-stream start, garbage, unplug/replug,
write timeouts, a stuck port, close."""
from __future__ import annotations

import os
import random
import select
import threading
import time

import pytest
import serial  # pyserial, the edge extra's: missing, it fails the test

from cleartune.edge.reading import Reading
from cleartune.firmware_bridge.config import RunConfig
from cleartune.firmware_bridge.outputs import make_output
from cleartune.firmware_bridge.serial_out import SerialSink
from cleartune.firmware_bridge.wire import (
    FrameDecoder,
    frame_from_reading,
    parse_text_line,
)

READINGS = [
    Reading(t=0.1, note="A2", cents=-3.14, f0_hz=109.8, confidence=0.93, midi=45),
    Reading.silent(0.2, confidence=0.05),
    Reading(t=0.3, note="E4", cents=1.99, f0_hz=330.0, confidence=1.0, midi=64),
    Reading(t=0.4, note="C-1", cents=-49.99, f0_hz=8.0, confidence=0.0, midi=0),
    Reading(t=0.5, note="G9", cents=49.99, f0_hz=12500.0, confidence=0.5, midi=127),
    Reading(t=0.6, note="A4", cents=-400.0, f0_hz=350.0, confidence=0.7, midi=69),  # clamps
]


def wait_until(pred, timeout=5.0):
    """Poll ``pred`` (a synchronisation helper, not a timing assertion)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.002)
    return pred()


class LoopFactory:
    """Opens pyserial loop:// ports and remembers them so the test can read back."""

    def __init__(self):
        self.ports = []

    def __call__(self, port, *, baudrate, write_timeout):
        p = serial.serial_for_url(port, baudrate=baudrate, write_timeout=write_timeout, timeout=0)
        self.ports.append(p)
        return p


def read_all(port) -> bytes:
    out = b""
    while port.in_waiting:
        out += port.read(port.in_waiting)
    return out


def test_loop_text_lines():
    fac = LoopFactory()
    cfg = RunConfig(wire="text", outputs=("serial:loop://",))
    sink = make_output("serial:loop://", cfg, serial_factory=fac)
    for r in READINGS[:3]:
        sink.write(r)
    assert sink.wait_idle(5.0)
    data = read_all(fac.ports[0])
    sink.close()
    assert data == b"A2 -3.1 0.93\n- 0.05\nE4 +2.0 1.00\n"
    assert [parse_text_line(x).note for x in data.decode().splitlines()] == ["A2", None, "E4"]


def test_loop_binary_round_trip():
    fac = LoopFactory()
    sink = SerialSink("loop://", wire="binary", serial_factory=fac, in_tune_cents=2.0)
    for r in READINGS:
        sink.write(r)
    assert sink.wait_idle(5.0)
    frames = FrameDecoder(synced=True).feed(read_all(fac.ports[0]))
    sink.close()
    assert frames == [frame_from_reading(r, seq=i, in_tune_cents=2.0) for i, r in enumerate(READINGS)]
    assert frames[0].midi == 45 and frames[0].cents == pytest.approx(-3.14, abs=0.005)
    assert frames[1].no_signal and frames[1].midi is None
    assert frames[2].in_tune and not frames[0].in_tune
    assert frames[5].clamped and frames[5].cents_x100 == -32767
    assert fac.ports[0].is_open is False


def test_default_opener_loop_url_and_clear_on_close():
    """Through pyserial's own serial_for_url; close() sends a final no-note frame."""
    seen = {}

    def spy(port, *, baudrate, write_timeout):
        from cleartune.firmware_bridge.serial_out import open_serial

        p = open_serial(port, baudrate=baudrate, write_timeout=write_timeout)
        orig_close, buf = p.close, bytearray()
        orig_write = p.write

        def write(data):
            buf.extend(data)
            return orig_write(data)

        p.write = write
        seen["port"], seen["buf"], seen["close"] = p, buf, orig_close
        return p

    sink = SerialSink("loop://", wire="binary", serial_factory=spy, baud=9600)
    sink.write(READINGS[0])
    sink.close()
    sink.close()
    frames = FrameDecoder(synced=True).feed(bytes(seen["buf"]))
    assert len(frames) == 2 and frames[0].midi == 45 and frames[1].no_signal
    assert not seen["port"].is_open


def _pty_reader(master: int, stop: threading.Event, out: bytearray) -> None:
    while not stop.is_set():
        r, _, _ = select.select([master], [], [], 0.02)
        if r:
            try:
                out.extend(os.read(master, 4096))
            except OSError:
                return


def test_pty_pair_mid_stream_reader():
    """A real pyserial Serial on the pty slave; the reader joins in the middle of a frame."""
    import tty

    master, slave = os.openpty()
    tty.setraw(master)
    name = os.ttyname(slave)
    got = bytearray()
    stop = threading.Event()
    th = threading.Thread(target=_pty_reader, args=(master, stop, got), daemon=True)
    th.start()
    try:
        sink = SerialSink(name, wire="binary", baud=115200, clear_on_close=False, queue_size=64)
        assert sink.connected.wait(5.0)
        many = [READINGS[i % len(READINGS)] for i in range(40)]
        for r in many:
            sink.write(r)
        assert sink.wait_idle(5.0)
        assert wait_until(lambda: len(FrameDecoder(synced=True).feed(bytes(got))) >= len(many))
        sink.close()
        stream = bytes(got)
        assert FrameDecoder(synced=True).feed(stream) == [
            frame_from_reading(r, seq=i) for i, r in enumerate(many)]
        # a receiver that starts 4 bytes into the stream: the first frame is lost, the rest decode
        dec = FrameDecoder()
        frames = []
        for i in range(4, len(stream), 3):  # arbitrary chunking
            frames += dec.feed(stream[i:i + 3])
        assert frames == [frame_from_reading(r, seq=i) for i, r in enumerate(many)][1:]
        assert dec.skipped > 0 and dec.errors == 0
    finally:
        stop.set()
        th.join(2)
        os.close(slave)
        os.close(master)


def test_garbage_on_the_line_resyncs():
    rng = random.Random(1234)
    sink_frames, stream = [], bytearray()
    corrupted = set()
    from cleartune.firmware_bridge.wire import encode_frame

    for i in range(300):
        r = READINGS[i % len(READINGS)]
        if i % 7 == 3:  # garbage before this frame: it may spoil this frame only
            stream += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            corrupted.add(i)
        stream += encode_frame(r, seq=i & 0xFF)
        sink_frames.append(frame_from_reading(r, seq=i & 0xFF))
    dec = FrameDecoder(synced=True)  # the receiver was listening from the start
    got = []
    for j in range(0, len(stream), 5):
        got += dec.feed(bytes(stream[j:j + 5]))
    expected_clean = [f for i, f in enumerate(sink_frames) if i not in corrupted]
    # every uncorrupted frame arrives, in order; nothing invented (all decoded frames were sent)
    it = iter(got)
    assert all(any(g == f for g in it) for f in expected_clean)
    assert set(got) <= set(sink_frames)
    assert len(got) >= len(expected_clean)
    assert dec.errors + dec.overflows > 0


class FakePort:
    def __init__(self, world):
        self.world = world
        self.is_open = True

    def write(self, data):
        if not self.world.plugged or not self.is_open:
            raise serial.SerialException("write failed: [Errno 5] Input/output error")
        if self.world.timeout_next:
            self.world.timeout_next -= 1
            raise serial.SerialTimeoutException("Write timeout")
        if self.world.block is not None:
            self.world.block.wait()
            if not self.is_open:
                raise serial.SerialException("port closed")
        self.world.received.extend(data)
        return len(data)

    def flush(self):
        pass

    def close(self):
        self.is_open = False
        if self.world.block is not None:
            self.world.block.set()


class FakeWorld:
    """A USB serial adapter that can be unplugged and plugged in again."""

    def __init__(self, *, plugged=True):
        self.plugged = plugged
        self.opens = 0
        self.failed_opens = 0
        self.received = bytearray()
        self.timeout_next = 0
        self.block = None

    def factory(self, port, *, baudrate, write_timeout):
        if not self.plugged:
            self.failed_opens += 1
            raise serial.SerialException(f"could not open port {port}: No such file or directory")
        self.opens += 1
        return FakePort(self)


def text_lines(world):
    return bytes(world.received).decode().splitlines()


def test_unplug_and_replug():
    world = FakeWorld()
    sink = SerialSink("/dev/ttyUSB0", wire="text", serial_factory=world.factory, reconnect_min=0.005,
                      reconnect_max=0.02, queue_size=4, clear_on_close=False)
    r = READINGS[0]
    sink.write(r)
    assert wait_until(lambda: sink.written == 1)
    world.plugged = False
    for i in range(20):  # the caller keeps writing while the adapter is away: never raises
        sink.write(Reading(t=float(i), note="E2", cents=float(i), f0_hz=82.4, confidence=0.9, midi=40))
    assert wait_until(lambda: sink.failures == 1 and world.failed_opens >= 2)
    assert not sink.connected.is_set()
    world.plugged = True
    assert wait_until(lambda: sink.connects == 2 and sink.queued == 0)
    assert sink.wait_idle(5.0)
    sink.close()
    lines = text_lines(world)
    # the first line went out; after the replug only the newest readings (queue of 4) remain
    assert lines[0] == "A2 -3.1 0.93"
    assert lines[-1] == "E2 +19.0 0.90"
    assert 2 <= len(lines) <= 1 + 4
    assert sink.dropped >= 20 - 4 - 1
    assert not sink._thread.is_alive()


def test_port_absent_at_start_then_appears():
    world = FakeWorld(plugged=False)
    sink = SerialSink("/dev/ttyUSB0", wire="binary", serial_factory=world.factory, reconnect_min=0.005,
                      reconnect_max=0.01, clear_on_close=False)
    sink.write(READINGS[0])
    assert wait_until(lambda: world.failed_opens >= 3)
    world.plugged = True
    assert wait_until(lambda: sink.written == 1)
    sink.close()
    assert FrameDecoder(synced=True).feed(bytes(world.received)) == [frame_from_reading(READINGS[0], seq=0)]


def test_write_timeout_drops_one_reading_keeps_port():
    world = FakeWorld()
    world.timeout_next = 1
    sink = SerialSink("/dev/ttyUSB0", wire="text", serial_factory=world.factory, clear_on_close=False)
    sink.write(READINGS[0])
    sink.write(READINGS[2])
    assert sink.wait_idle(5.0)
    sink.close()
    assert sink.timeouts == 1 and sink.failures == 0 and world.opens == 1
    assert text_lines(world) == ["E4 +2.0 1.00"]


def test_stuck_port_never_blocks_writer_and_close_returns():
    world = FakeWorld()
    world.block = threading.Event()
    sink = SerialSink("/dev/ttyUSB0", wire="text", serial_factory=world.factory, queue_size=8,
                      write_timeout=0.05, close_timeout=0.05)
    for i in range(1000):
        sink.write(READINGS[i % 3])
    assert sink.queued <= 8
    assert wait_until(lambda: sink.dropped >= 1000 - 8 - 1)
    sink.close()
    assert not sink._thread.is_alive()
    assert sink.closed


def test_close_while_unplugged_returns():
    world = FakeWorld(plugged=False)
    sink = SerialSink("/dev/ttyUSB0", serial_factory=world.factory, reconnect_min=0.5, reconnect_max=5.0)
    sink.write(READINGS[0])
    sink.close()
    assert not sink._thread.is_alive() and world.opens == 0


def test_bad_wire_format():
    from cleartune.firmware_bridge.errors import SerialOutputError

    with pytest.raises(SerialOutputError, match="wire"):
        SerialSink("loop://", wire="morse")


def test_unknown_url_scheme_fails_early():
    from cleartune.firmware_bridge.errors import SerialOutputError

    with pytest.raises(SerialOutputError, match="no 'lopp://' handler"):
        make_output("serial:lopp://", RunConfig())


def test_full_loop_buffer_drops_readings_and_the_writer_survives():
    """pyserial's loop:// raises queue.Full when nobody reads it: readings are dropped
    (counted as timeouts), the writer thread keeps running and later readings go out."""
    import queue as _queue
    import time as _time

    from cleartune.edge.reading import Reading
    from cleartune.firmware_bridge.serial_out import SerialSink

    class FullOnce:
        def __init__(self):
            self.calls, self.data = 0, []

        def write(self, b):
            self.calls += 1
            if self.calls == 1:
                raise _queue.Full()
            self.data.append(bytes(b))
            return len(b)

        def flush(self):
            pass

        def close(self):
            pass

    port = FullOnce()
    sink = SerialSink("fake", serial_factory=lambda *a, **k: port)
    try:
        sink.write(Reading(t=0.0, note="A4", cents=1.0, f0_hz=440.25, confidence=0.9, midi=69, target_hz=440.0))
        deadline = _time.monotonic() + 5
        while port.calls < 1 and _time.monotonic() < deadline:
            _time.sleep(0.01)
        sink.write(Reading(t=0.1, note="A4", cents=2.0, f0_hz=440.5, confidence=0.9, midi=69, target_hz=440.0))
        while not port.data and _time.monotonic() < deadline:
            _time.sleep(0.01)
    finally:
        sink.close()
    assert sink.timeouts == 1
    assert port.data, "the writer thread died after queue.Full"
