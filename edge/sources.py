"""Audio sources for the streaming runtime: files, stdin PCM and microphones.

Every source yields float32 mono blocks (full scale 1.0, shape ``(n,)``) at
``sample_rate`` (the model's rate, ``SignalParams.sample_rate`` = 22050 Hz by default).
Blocks may have any length, including 0 (a live source that had a transient fault
returns an empty block rather than blocking or raising); ``read()`` returns ``None`` at
the end of the input.  Sources are context managers; ``close()`` is idempotent.

* :class:`FileSource` -- any file :func:`cleartune.edge.audio_io.read_audio` reads (WAV
  8/16/24/32-bit integer, 32/64-bit float, mono or multichannel, any rate), resampled
  once with polyphase filtering; optional real-time pacing.
* :class:`StdinSource` -- raw interleaved PCM (``s16le``, ``s32le`` or ``f32le``) from a
  binary stream, at any rate, resampled with :class:`StreamingResampler`.
* :class:`MicSource` -- a pyaudio input device (``mic`` or ``mic:DEVICE`` by index or
  name substring), opened at the device's own rate and resampled on the fly.  Overruns
  (lost input) and transient device errors are counted and reported through a
  rate-limited warning, never raised; only a device that stays silent for
  :data:`MAX_ERROR_S` raises.

:func:`open_source` turns a ``--input`` spec (``mic[:DEVICE]``, a path, ``-``) into a source.
"""
from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Optional

import numpy as np

from .errors import AudioInputError
from .litert import quiet_stderr
from .params import EDGE

#: PortAudio's ``paInputOverflowed`` error code (pyaudio raises ``IOError(-9981, ...)``).
PA_INPUT_OVERFLOWED = -9981
#: Raw PCM formats for stdin: name -> (numpy dtype, full-scale divisor).
STDIN_FORMATS: dict[str, tuple[str, float]] = {
    "s16le": ("<i2", 32768.0),
    "s32le": ("<i4", 2147483648.0),
    "f32le": ("<f4", 1.0),
}
#: Output block of file and stdin sources [samples at the model rate] (4 hops: 46 ms).
DEFAULT_BLOCK = 4 * EDGE.hop
#: Microphone read size [s of audio]; frames per buffer = this times the device rate.  PortAudio
#: sizes its capture buffer from it: 40 ms reads leave room for the tracker's slower hops
#: (a reading every 4 hops) on a Pi without overruns, at 40 ms of added latency at most.
MIC_BUFFER_S = 0.04
#: A live device that delivers nothing for this long [s] is given up (unplugged).
MAX_ERROR_S = 5.0
#: Minimum interval between two warnings of the same kind [s].
WARN_INTERVAL_S = 5.0
#: Gap between the wall clock and the samples received that counts as lost input [s]
#: (at least two device buffers): more than scheduling jitter, less than one hop of audio lost
#: going unnoticed for long.
OVERRUN_TOLERANCE_S = 0.05
#: Clock drift between the sound card and the host [fraction] that the overrun detector absorbs.
MAX_CLOCK_DRIFT = 1e-3
#: Sample rates tried, after the device's default, when opening a microphone [Hz].
FALLBACK_RATES = (48000, 44100, 32000, 22050, 16000)


# -- resampling ---------------------------------------------------------------------------
class StreamingResampler:
    """Stateful polyphase resampler: feeding a signal in blocks of any size gives the
    same samples as ``scipy.signal.resample_poly(x, up, down)`` on the whole signal
    (same Kaiser FIR and alignment), to float precision, once :meth:`flush` is called.

    The ratio is ``Fraction(sr_to, sr_from).limit_denominator(1000)`` (as
    :func:`cleartune.edge.audio_io.resample`).  Latency: ``10 * max(up, down) / up``
    input samples (about 1 ms at 44.1/48 kHz -> 22.05 kHz)."""

    def __init__(self, sr_from: int, *, sr_to: int):
        import scipy.signal

        if int(sr_from) <= 0 or int(sr_to) <= 0:
            raise ValueError(f"sample rates must be positive, got {sr_from} -> {sr_to}")
        self.sr_from, self.sr_to = int(sr_from), int(sr_to)
        frac = Fraction(self.sr_to, self.sr_from).limit_denominator(1000)
        self.up, self.down = frac.numerator, frac.denominator
        self.passthrough = self.up == self.down
        max_rate = max(self.up, self.down)
        self._half = 10 * max_rate  # as resample_poly
        if self.passthrough:
            h = np.ones(1)
        else:
            h = scipy.signal.firwin(2 * self._half + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * self.up
        self._taps = -(-len(h) // self.up)  # taps per phase
        bank = np.zeros((self.up, self._taps))
        for phase in range(self.up):
            sub = h[phase :: self.up]
            bank[phase, : len(sub)] = sub
        self._bank = bank
        self.reset()

    def reset(self) -> None:
        """Forget all input (start of a new signal)."""
        # buf[0] holds global input index self._base; zeros stand for the signal before its start
        self._buf = np.zeros(self._taps - 1)
        self._base = -(self._taps - 1)
        self._n_in = 0       # input samples received
        self._m = 0          # next output index

    @property
    def latency_in_samples(self) -> float:
        """Input samples the output lags behind (look-ahead of the centred filter)."""
        return 0.0 if self.passthrough else self._half / self.up

    def _emit(self, m_end: int) -> np.ndarray:
        if m_end <= self._m:
            return np.zeros(0, dtype=np.float32)
        ms = np.arange(self._m, m_end, dtype=np.int64)
        p = ms * self.down + self._half
        hi = p // self.up - self._base
        phase = p % self.up
        idx = hi[:, None] - np.arange(self._taps)[None, :]
        y = np.einsum("ij,ij->i", self._bank[phase], self._buf[idx])
        self._m = m_end
        keep_from = (self._m * self.down + self._half) // self.up - (self._taps - 1) - self._base
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._base += keep_from
        return y.astype(np.float32)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feed input samples ``(n,)``; returns the output samples now complete (float32)."""
        x = np.asarray(x, dtype=np.float64).ravel()
        if self.passthrough:
            return x.astype(np.float32)
        self._buf = np.concatenate([self._buf, x])
        self._n_in += len(x)
        # output m needs inputs up to (m*down + half) // up <= n_in - 1
        m_end = max(0, (self._n_in * self.up - 1 - self._half) // self.down + 1)
        return self._emit(m_end)

    def flush(self) -> np.ndarray:
        """The remaining output (input taken as zeros after its end); total output
        length is then ``ceil(n_in * up / down)`` like ``resample_poly``."""
        if self.passthrough:
            return np.zeros(0, dtype=np.float32)
        total = -(-self._n_in * self.up // self.down)
        self._buf = np.concatenate([self._buf, np.zeros(self._half // self.up + 2)])
        return self._emit(total)


# -- warnings -----------------------------------------------------------------------------
class RateLimitedWarner:
    """Print warnings at most once per ``interval_s`` per key, with a count of the ones held back.

    ``emit`` receives one line (default: stderr with a ``cleartune: warning:`` prefix)."""

    def __init__(self, *, interval_s: float = WARN_INTERVAL_S, emit: Optional[Callable[[str], None]] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.interval_s = float(interval_s)
        self._emit = emit or (lambda line: print(f"cleartune: warning: {line}", file=sys.stderr, flush=True))
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self.emitted = 0

    def __call__(self, key: str, message: str) -> None:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        held = self._held.pop(key, 0)
        self._last[key] = now
        self.emitted += 1
        self._emit(message + (f" (+{held} more like it)" if held else ""))


# -- sources ------------------------------------------------------------------------------
class Source:
    """Base class: ``read() -> float32 block | None``, iteration, ``close()``, context manager.

    Attributes: ``sample_rate`` (output rate [Hz]), ``input_rate`` (the device's or
    file's rate [Hz]), ``name``, ``live`` (True for devices), ``overruns`` (times input was
    lost), ``errors`` (transient read errors survived)."""

    live = False

    def __init__(self, *, sample_rate: int, name: str):
        self.sample_rate = int(sample_rate)
        self.input_rate = int(sample_rate)
        self.name = name
        self.overruns = 0
        self.errors = 0
        self._closed = False

    def read(self) -> Optional[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            block = self.read()
            if block is None:
                return
            yield block

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def _close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class FileSource(Source):
    """An audio file given out in blocks of ``block`` samples at ``sample_rate``; with
    ``realtime=True`` each block is released no earlier than its time in the recording
    (as a microphone would).

    WAV files (integer or float PCM) are streamed from disk through a
    :class:`StreamingResampler`, so memory stays flat however long the recording; other
    formats (FLAC/OGG via soundfile) are read whole and resampled once.

    Raises :class:`AudioInputError` (one line) for a missing, empty or non-audio file.  A
    WAV whose data ends before its header says is read as far as it goes, with one warning
    (``warn(key, line)``, default: stderr) naming both lengths."""

    def __init__(self, path: str | Path, *, sample_rate: int = EDGE.sample_rate, block: int = DEFAULT_BLOCK,
                 realtime: bool = False, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, warn: Optional[Callable[[str, str], None]] = None):
        from . import audio_io

        super().__init__(sample_rate=sample_rate, name=str(path))
        if block <= 0:
            raise ValueError(f"block must be positive, got {block}")
        self.block = int(block)
        self._wav = None
        self._whole: Optional[np.ndarray] = None
        try:
            self._wav = audio_io.WavStream(path)
        except AudioInputError:
            self._wav = None
        if self._wav is not None and self._wav.truncated:
            w, sr = self._wav, self._wav.sample_rate
            (warn or RateLimitedWarner())(
                "truncated", f"{path}: truncated WAV: its header promises {w.promised_frames} samples "
                f"({w.promised_frames / sr:.2f} s), the file holds {w.n_frames} ({w.n_frames / sr:.2f} s); "
                "reading what is there")
        if self._wav is not None and self._wav.n_frames > 0:
            self.input_rate = self._wav.sample_rate
            self._n_in_total = self._wav.n_frames
            self._resampler = StreamingResampler(self.input_rate, sr_to=self.sample_rate)
            self._in_block = max(1, int(round(self.block * self.input_rate / self.sample_rate)))
            self._pending = np.zeros(0, dtype=np.float32)
            self._flushed = False
        else:
            if self._wav is not None:
                self._wav.close()
                self._wav = None
            x, sr = audio_io.read_audio(path, mono=True)  # one-line errors for bad files
            self.input_rate = sr
            self._whole = audio_io.resample(x, sr, self.sample_rate)
            self._n_in_total = len(x)
            if self._whole.size == 0:
                raise AudioInputError(f"{path}: too short to resample to {self.sample_rate} Hz")
        self.realtime = bool(realtime)
        self._clock, self._sleep = clock, sleep
        self._pos = 0
        self._t0: Optional[float] = None

    @property
    def duration_s(self) -> float:
        """Length of the recording [s]."""
        return self._n_in_total / self.input_rate

    def _next_block(self) -> Optional[np.ndarray]:
        if self._whole is not None:
            if self._pos >= len(self._whole):
                return None
            return self._whole[self._pos : self._pos + self.block]
        # streamed WAV: resample until a full block is ready (or the file ends)
        while len(self._pending) < self.block and not self._flushed:
            x = self._wav.read(self._in_block)
            if len(x) == 0:
                y = self._resampler.flush()
                self._flushed = True
            else:
                y = self._resampler.process(x)
            if len(y):
                self._pending = np.concatenate([self._pending, y])
        if len(self._pending) == 0:
            return None
        b, self._pending = self._pending[: self.block], self._pending[self.block :]
        return b

    def read(self) -> Optional[np.ndarray]:
        if self._closed:
            return None
        if self.realtime and self._t0 is None:
            self._t0 = self._clock()
        b = self._next_block()
        if b is None:
            return None
        if self.realtime:
            now = self._clock()
            due = self._t0 + (self._pos + len(b)) / self.sample_rate
            if due > now:
                self._sleep(due - now)
        self._pos += len(b)
        return b

    def _close(self) -> None:
        if self._wav is not None:
            self._wav.close()


class StdinSource(Source):
    """Raw interleaved PCM from a binary stream (``sys.stdin.buffer`` by default).

    ``fmt``: ``s16le``, ``s32le`` or ``f32le``; ``rate``: the stream's sample rate [Hz];
    ``channels``: interleaved channels (averaged to mono).  A trailing partial frame at
    the end of the stream is dropped."""

    live = True

    def __init__(self, stream: Optional[BinaryIO] = None, *, fmt: str = "s16le", rate: int = EDGE.sample_rate,
                 channels: int = 1, sample_rate: int = EDGE.sample_rate, block: int = DEFAULT_BLOCK):
        super().__init__(sample_rate=sample_rate, name="stdin")
        if fmt not in STDIN_FORMATS:
            raise AudioInputError(f"unknown stdin format {fmt!r}: choose one of {', '.join(STDIN_FORMATS)}")
        if int(rate) <= 0 or int(channels) <= 0:
            raise AudioInputError(f"stdin rate and channels must be positive, got {rate} Hz, {channels} channel(s)")
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._dtype, self._scale = np.dtype(STDIN_FORMATS[fmt][0]), STDIN_FORMATS[fmt][1]
        self.fmt = fmt
        self.channels = int(channels)
        self.input_rate = int(rate)
        self._frame_bytes = self._dtype.itemsize * self.channels
        in_block = max(1, int(round(block * self.input_rate / self.sample_rate)))
        self._read_bytes = in_block * self._frame_bytes
        self._resampler = StreamingResampler(self.input_rate, sr_to=self.sample_rate)
        self._rest = b""
        self._eof = False

    def _decode(self, data: bytes) -> np.ndarray:
        x = np.frombuffer(data, dtype=self._dtype).astype(np.float64)
        if self._scale != 1.0:
            x /= self._scale
        if self.channels > 1:
            x = x.reshape(-1, self.channels).mean(axis=1)
        return x

    def read(self) -> Optional[np.ndarray]:
        if self._closed or self._eof:
            return None
        data = self._stream.read(self._read_bytes)
        if not data:
            self._eof = True
            tail = self._resampler.flush()
            return tail if tail.size else None
        data = self._rest + data
        usable = len(data) - len(data) % self._frame_bytes
        self._rest = data[usable:]
        return self._resampler.process(self._decode(data[:usable]))


def _pa_error_code(e: BaseException) -> Optional[int]:
    code = getattr(e, "errno", None)
    if code is None and e.args and isinstance(e.args[0], int):
        code = e.args[0]
    return code


class MicSource(Source):
    """A pyaudio input device, captured as 16-bit mono at the device's own rate and
    resampled to ``sample_rate`` by a :class:`StreamingResampler`.

    ``device``: None (the default input), an index (``3`` or ``"3"``) or a name substring
    (case-insensitive).  An unknown device raises :class:`AudioInputError` listing the
    input devices.  Reads use ``exception_on_overflow=False``; lost input is detected by
    comparing the samples received with the clock once the read caught up with the
    device (``get_read_available() < buffer``), and counted in ``overruns``; an
    ``IOError`` from the device is counted in ``errors``, warned about (rate-limited) and
    answered with an empty block.  ``pyaudio_module``, ``clock`` and ``sleep`` are for
    tests (``tests/doubles.py``: ``FakePyAudio``)."""

    live = True

    def __init__(self, device: Optional[str | int] = None, *, sample_rate: int = EDGE.sample_rate,
                 pyaudio_module: Any = None, warn: Optional[Callable[[str, str], None]] = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 buffer_s: float = MIC_BUFFER_S):
        super().__init__(sample_rate=sample_rate, name="mic" if device is None else f"mic:{device}")
        if pyaudio_module is None:
            try:
                import pyaudio as pyaudio_module  # noqa: N813
            except Exception as e:
                raise AudioInputError(f"microphone input needs pyaudio (pip install pyaudio): {type(e).__name__}") from None
        self._pa_mod = pyaudio_module
        self._warn = warn or RateLimitedWarner()
        self._clock, self._sleep = clock, sleep
        with quiet_stderr():  # ALSA/JACK print pages of probing noise to fd 2 while PortAudio starts
            self._pa = pyaudio_module.PyAudio()
        self._stream = None
        try:
            info = self._find_device(device)
            self.device_index = int(info["index"])
            self.device_name = str(info.get("name", self.device_index))
            self._open(info, buffer_s=buffer_s)
        except BaseException:
            self._terminate()
            raise
        self._resampler = StreamingResampler(self.input_rate, sr_to=self.sample_rate)
        self._t0: Optional[float] = None
        self._frames = 0
        self._floor = 0.0
        self._last_now = 0.0
        self._error_since: Optional[float] = None
        self._tolerance = max(2 * self.frames_per_buffer, OVERRUN_TOLERANCE_S * self.input_rate)

    # -- device selection
    def input_devices(self) -> list[dict]:
        """``[{index, name, maxInputChannels, defaultSampleRate, ...}]`` of devices with inputs."""
        out = []
        for i in range(int(self._pa.get_device_count())):
            try:
                d = dict(self._pa.get_device_info_by_index(i))
            except Exception:
                continue
            if int(d.get("maxInputChannels", 0)) > 0:
                d["index"] = i
                out.append(d)
        return out

    def _find_device(self, device: Optional[str | int]) -> dict:
        devs = self.input_devices()
        if not devs:
            raise AudioInputError("no audio input devices found (is a microphone or USB sound card connected?)")
        listing = "; ".join(f"{d['index']}: {d.get('name', '?')}" for d in devs)
        if device is None or str(device).strip() == "":
            try:
                d = dict(self._pa.get_default_input_device_info())
                d.setdefault("index", int(d.get("index", devs[0]["index"])))
                if int(d.get("maxInputChannels", 0)) > 0:
                    return d
            except Exception:
                pass
            return devs[0]
        text = str(device).strip()
        if text.lstrip("-").isdigit():
            idx = int(text)
            for d in devs:
                if d["index"] == idx:
                    return d
            raise AudioInputError(f"no input device with index {idx}; input devices: {listing}")
        exact = [d for d in devs if str(d.get("name", "")).lower() == text.lower()]
        sub = [d for d in devs if text.lower() in str(d.get("name", "")).lower()]
        if exact or sub:
            return (exact or sub)[0]
        raise AudioInputError(f"no input device matching {text!r}; input devices: {listing}")

    def _open(self, info: dict, *, buffer_s: float) -> None:
        default = int(round(float(info.get("defaultSampleRate", 0) or 0)))
        rates = [r for r in dict.fromkeys([default, *FALLBACK_RATES]) if r > 0]
        last_error = "no sample rate worked"
        for rate in rates:
            fpb = max(64, int(round(buffer_s * rate)))
            try:
                self._stream = self._pa.open(format=self._pa_mod.paInt16, channels=1, rate=rate, input=True,
                                             input_device_index=int(info["index"]), frames_per_buffer=fpb)
            except Exception as e:
                last_error = (str(e).strip().splitlines() or [type(e).__name__])[0]
                continue
            self.input_rate, self.frames_per_buffer = rate, fpb
            return
        raise AudioInputError(f"cannot open input device {info['index']} ({info.get('name', '?')}): {last_error}")

    # -- reading
    def read(self) -> Optional[np.ndarray]:
        if self._closed:
            return None
        try:
            data = self._stream.read(self.frames_per_buffer, exception_on_overflow=False)
        except (OSError, IOError) as e:
            return self._on_error(e)
        self._error_since = None
        x = np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0
        self._check_gap(len(x))
        return self._resampler.process(x)

    def _on_error(self, e: BaseException) -> np.ndarray:
        now = self._clock()
        if _pa_error_code(e) == PA_INPUT_OVERFLOWED:
            self.overruns += 1
            self._warn("overrun", f"input overrun: audio was lost (total {self.overruns})")
            self._rebase()
            return np.zeros(0, dtype=np.float32)
        self.errors += 1
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if self._error_since is None:
            self._error_since = now
        elif now - self._error_since > MAX_ERROR_S:
            raise AudioInputError(f"input device {self.device_name!r} stopped delivering audio for "
                                  f"{MAX_ERROR_S:g} s ({msg})") from None
        self._warn("ioerror", f"input device error, going on: {msg} (total {self.errors})")
        self._sleep(self.frames_per_buffer / self.input_rate)  # no busy loop on a failing device
        self._rebase()
        return np.zeros(0, dtype=np.float32)

    def _rebase(self) -> None:
        self._t0 = None

    def _check_gap(self, n: int) -> None:
        """Count an overrun when, caught up with the device, fewer samples arrived than
        the clock says were recorded (the device dropped input while we were late)."""
        now = self._clock()
        if self._t0 is None:
            self._t0, self._frames, self._floor, self._last_now = now - n / self.input_rate, 0, 0.0, now
        self._frames += n
        gap = (now - self._t0) * self.input_rate - self._frames  # [frames] missing
        if gap < self._floor:
            self._floor = gap
        else:
            self._floor += min(gap - self._floor, MAX_CLOCK_DRIFT * (now - self._last_now) * self.input_rate)
        self._last_now = now
        if gap - self._floor > self._tolerance:
            try:
                backlog = int(self._stream.get_read_available())
            except Exception:
                backlog = 0
            if backlog < self.frames_per_buffer:
                self.overruns += 1
                self._floor = gap
                self._warn("overrun", f"input overrun: about {gap / self.input_rate * 1000:.0f} ms of audio "
                                      f"lost so far (total {self.overruns} overruns)")

    def _terminate(self) -> None:
        try:
            self._pa.terminate()
        except Exception:
            pass

    def _close(self) -> None:
        s, self._stream = self._stream, None
        if s is not None:
            for op in ("stop_stream", "close"):
                try:
                    getattr(s, op)()
                except Exception:
                    pass
        self._terminate()


# -- specs --------------------------------------------------------------------------------
def parse_mic_spec(spec: str) -> tuple[bool, Optional[str]]:
    """``(is a microphone spec, device)``: ``"mic" -> (True, None)`` (default device),
    ``"mic:2" -> (True, "2")``, ``"mic:USB" -> (True, "USB")``, ``"a.wav" -> (False, None)``."""
    s = str(spec)
    if s == "mic":
        return True, None
    if s.startswith("mic:"):
        return True, (s[4:].strip() or None)
    return False, None


def open_source(spec: str, *, sample_rate: int = EDGE.sample_rate, block: int = DEFAULT_BLOCK,
                realtime: bool = False, stdin: Optional[BinaryIO] = None, stdin_format: str = "s16le",
                stdin_rate: Optional[int] = None, stdin_channels: int = 1, pyaudio_module: Any = None,
                warn: Optional[Callable[[str, str], None]] = None,
                clock: Callable[[], float] = time.monotonic) -> Source:
    """Open a ``--input`` spec: ``mic`` / ``mic:DEVICE`` (index or name substring), ``-``
    (raw PCM on stdin: ``stdin_format``, ``stdin_rate`` [Hz, default ``sample_rate``],
    ``stdin_channels``) or a file path.  A file that does not exist and looks like
    neither raises :class:`AudioInputError`.  ``pyaudio_module`` and ``clock`` (the
    microphone's time base [s]) are for tests."""
    is_mic, device = parse_mic_spec(spec)
    if is_mic:
        return MicSource(device, sample_rate=sample_rate, pyaudio_module=pyaudio_module, warn=warn, clock=clock)
    if spec == "-":
        return StdinSource(stdin, fmt=stdin_format, rate=stdin_rate or sample_rate, channels=stdin_channels,
                           sample_rate=sample_rate, block=block)
    return FileSource(spec, sample_rate=sample_rate, block=block, realtime=realtime, warn=warn)


__all__ = [
    "Source", "FileSource", "StdinSource", "MicSource", "StreamingResampler",
    "RateLimitedWarner", "open_source", "parse_mic_spec", "STDIN_FORMATS", "DEFAULT_BLOCK",
]
