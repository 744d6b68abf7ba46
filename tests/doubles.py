"""Test doubles (never installed): a pyaudio stand-in with injectable overflows and
``IOError`` hiccups (:class:`FakePyAudio`, :class:`FakeStream`) for
``MicSource(pyaudio_module=...)``, a sink that keeps the readings (:class:`ListSink`), and a
scripted guide standing in for the guitar-pitch model (:class:`FakeGuide`)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cleartune.edge.guide import GuideNote
from cleartune.edge.reading import Reading
from cleartune.edge.sources import PA_INPUT_OVERFLOWED


class FakeStream:
    """Behaves like a pyaudio input ``Stream`` (paInt16, interleaved) fed from a signal.

    ``signal``: float samples ``(n,)`` in [-1, 1] at ``rate`` [Hz], played in a loop (a
    live device never ends).  ``overflow_at``: read numbers (0-based) before which
    ``overflow_frames`` frames are lost, as when the consumer was late: the clock moves on,
    the data is skipped, and ``read(..., exception_on_overflow=True)`` raises
    ``IOError(-9981, "Input overflowed")`` like pyaudio.  ``ioerror_at``: read numbers that
    raise ``IOError(-9999, "Unanticipated host error")`` (a hiccup).  Its :meth:`clock`
    is the device time [s], to pass as ``MicSource(clock=...)``."""

    def __init__(self, signal: np.ndarray, *, rate: int, channels: int = 1, overflow_at=(), ioerror_at=(),
                 overflow_frames: Optional[int] = None):
        self.signal = np.asarray(signal, dtype=np.float64)
        if self.signal.size == 0:
            raise ValueError("FakeStream needs a non-empty signal")
        self.rate, self.channels = int(rate), int(channels)
        self.overflow_at, self.ioerror_at = set(overflow_at), set(ioerror_at)
        self.overflow_frames = overflow_frames
        self.reads = 0
        self.pos = 0            # frames consumed from the signal (incl. lost ones)
        self.lost = 0           # frames dropped by overflows
        self.active = True
        self.closed = False

    def clock(self) -> float:
        return self.pos / self.rate

    def _take(self, n: int) -> np.ndarray:
        idx = (self.pos + np.arange(n)) % len(self.signal)
        self.pos += n
        return self.signal[idx]

    def read(self, num_frames: int, exception_on_overflow: bool = True) -> bytes:
        if self.closed:
            raise OSError(-9988, "Stream closed")
        i = self.reads
        self.reads += 1
        if i in self.ioerror_at:
            raise OSError(-9999, "Unanticipated host error")
        if i in self.overflow_at:
            lost = self.overflow_frames if self.overflow_frames is not None else 8 * num_frames
            self.pos += lost
            self.lost += lost
            if exception_on_overflow:
                raise OSError(PA_INPUT_OVERFLOWED, "Input overflowed")
        x = self._take(int(num_frames))
        pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype("<i2")
        if self.channels > 1:
            pcm = np.repeat(pcm, self.channels)
        return pcm.tobytes()

    def get_read_available(self) -> int:
        return 0

    def is_active(self) -> bool:
        return self.active

    def stop_stream(self) -> None:
        self.active = False

    def close(self) -> None:
        self.closed = True


class FakePyAudio:
    """A pyaudio module stand-in: ``FakePyAudio(devices, stream)`` then pass it as
    ``MicSource(pyaudio_module=...)``.  ``devices``: list of dicts with ``name``,
    ``maxInputChannels``, ``defaultSampleRate``; ``stream``: a :class:`FakeStream` (or a
    callable ``(rate, channels, frames_per_buffer) -> stream``).  ``rejected_rates``:
    rates whose ``open`` fails, like a device that does not support them."""

    paInt16 = 8

    def __init__(self, devices: list[dict], stream: Any, *, default_index: int = 0, rejected_rates=()):
        self.devices = [dict(d) for d in devices]
        self.stream = stream
        self.default_index = default_index
        self.rejected_rates = set(rejected_rates)
        self.opened: list[dict] = []
        self.terminated = 0

    def PyAudio(self) -> "FakePyAudio":  # noqa: N802 - pyaudio's spelling
        return self

    def get_device_count(self) -> int:
        return len(self.devices)

    def get_device_info_by_index(self, i: int) -> dict:
        d = dict(self.devices[i])
        d["index"] = i
        return d

    def get_default_input_device_info(self) -> dict:
        if not self.devices:
            raise OSError(-9996, "No Default Input Device Available")
        return self.get_device_info_by_index(self.default_index)

    def open(self, *, format: int, channels: int, rate: int, input: bool, input_device_index: int,
             frames_per_buffer: int) -> Any:
        if rate in self.rejected_rates:
            raise OSError(-9997, "Invalid sample rate")
        self.opened.append(dict(format=format, channels=channels, rate=rate, device=input_device_index,
                                frames_per_buffer=frames_per_buffer))
        return self.stream(rate, channels, frames_per_buffer) if callable(self.stream) else self.stream

    def terminate(self) -> None:
        self.terminated += 1


class ListSink:
    """Collects readings in ``readings`` (tests, ``analyze``)."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.closed = False

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:
        self.readings.append(reading)

    def close(self) -> None:
        self.closed = True


class FakeGuide:
    """Stands in for the guitar-pitch model as the tracker's guide
    (:class:`~cleartune.edge.guide.Guide`): from ``onset_s`` [s] on it names MIDI note
    ``midi`` with probability ``prob`` ("no guitar" ``no_guitar``); before, it hears no guitar
    (``no_guitar`` = 1).  ``calls`` counts readings heard (``listen``), ``windows`` the
    length of each raw window it was given; reading ``i`` (1-based) is at
    ``i * reading_s`` [s]."""

    window = 4096
    midi_range = (35, 88)            # B1 .. E6, the model's range

    def __init__(self, midi: int, *, prob: float = 0.9, no_guitar: float = 0.05, onset_s: float = 0.0,
                 reading_s: float = 1024 / 22050) -> None:
        self.midi, self.prob, self.no_guitar = int(midi), float(prob), float(no_guitar)
        self.onset_s, self.reading_s = float(onset_s), float(reading_s)
        self.calls = 0
        self.windows: list[int] = []

    def listen(self, raw: np.ndarray) -> GuideNote:
        self.calls += 1
        self.windows.append(len(raw))
        if self.calls * self.reading_s < self.onset_s:
            return GuideNote(self.midi, 0.0, 1.0, 0.0)
        rest = max(0.0, 1.0 - self.prob - self.no_guitar)
        return GuideNote(self.midi, self.prob, self.no_guitar, rest)

    def reset(self) -> None:
        self.calls = 0
        self.windows = []
