"""Audio sources: WAV format matrix, resampling, stdin PCM, the microphone through a fake pyaudio."""
import io
import struct

import numpy as np
import pytest
import scipy.io.wavfile
import scipy.signal
from doubles import FakePyAudio, FakeStream

from cleartune.edge.errors import AudioInputError
from cleartune.edge.params import EDGE
from cleartune.edge.sources import FileSource, MicSource, RateLimitedWarner, StdinSource, StreamingResampler, open_source, parse_mic_spec

SR = EDGE.sample_rate
#: A sine's frequency after reading + resampling must agree within this [cents].
FREQ_TOL_CENTS = 0.5


def sine(f, n, sr, amp=0.5):
    return amp * np.sin(2 * np.pi * f * np.arange(n) / sr)


def peak_hz(x, sr):
    """Frequency of the strongest spectral peak [Hz] (Hann window, quadratic interpolation of log |X|)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    X = np.abs(np.fft.rfft(x * np.hanning(n), 8 * n))
    k = int(np.argmax(X[1:-1])) + 1
    a, b, c = np.log(X[k - 1 : k + 2] + 1e-30)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / (8 * n)


def cents(f, ref):
    return 1200 * np.log2(f / ref)


def write_wav(path, x, sr, fmt, channels=1):
    """Write ``x`` (float, [-1, 1]) as a WAV of ``fmt``: u8, int16, int24, int32, float32, float64."""
    x = np.asarray(x, dtype=np.float64)
    if channels > 1:
        x = np.stack([x * (1.0 - 0.1 * c) for c in range(channels)], axis=1)
    if fmt == "int24":
        q = np.round(np.clip(x, -1, 1 - 2 ** -23) * 2 ** 23).astype(np.int32).reshape(-1)
        data = b"".join(int(v & 0xFFFFFF).to_bytes(3, "little") for v in q)
        fmt_chunk = struct.pack("<HHIIHH", 1, channels, sr, sr * 3 * channels, 3 * channels, 24)
        with open(path, "wb") as fh:
            fh.write(b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(data)) + b"WAVE")
            fh.write(b"fmt " + struct.pack("<I", 16) + fmt_chunk)
            fh.write(b"data" + struct.pack("<I", len(data)) + data)
        return
    conv = {
        "u8": lambda v: np.round(np.clip(v, -1, 127 / 128) * 128 + 128).astype(np.uint8),
        "int16": lambda v: np.round(np.clip(v, -1, 32767 / 32768) * 32768).astype(np.int16),
        "int32": lambda v: np.round(np.clip(v, -1, 1 - 2 ** -31) * 2 ** 31).astype(np.int32),
        "float32": lambda v: v.astype(np.float32),
        "float64": lambda v: v.astype(np.float64),
    }[fmt]
    scipy.io.wavfile.write(path, sr, conv(x))


@pytest.mark.parametrize("fmt,sr,channels", [
    ("u8", SR, 1), ("int16", SR, 1), ("int24", SR, 1), ("int32", SR, 1), ("float32", SR, 1), ("float64", SR, 1),
    ("int16", SR, 2), ("int24", 48000, 2), ("int16", 44100, 1), ("float32", 48000, 1), ("int16", 16000, 1),
])
def test_wav_format_matrix_is_read_and_resampled(tmp_path, fmt, sr, channels):
    f = 329.63
    n = sr  # 1 s
    p = tmp_path / f"{fmt}_{sr}_{channels}.wav"
    write_wav(p, sine(f, n, sr), sr, fmt, channels)
    with FileSource(p, block=1000) as src:
        assert src.input_rate == sr and src.sample_rate == SR
        blocks = list(src)
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    assert all(len(b) == 1000 for b in blocks[:-1])
    y = np.concatenate(blocks)
    assert abs(len(y) - SR) <= 1  # 1 s at the model's rate
    assert abs(cents(peak_hz(y[2000:-2000], SR), f)) < FREQ_TOL_CENTS
    amp = 0.5 * (1.0 - 0.1 * (channels - 1) / 2) if channels > 1 else 0.5  # channel average
    rms = np.sqrt(np.mean(y[2000:-2000] ** 2))
    assert rms == pytest.approx(amp / np.sqrt(2), rel=0.02 if fmt == "u8" else 0.005)


def test_file_source_realtime_paces_blocks(tmp_path):
    p = tmp_path / "a.wav"
    write_wav(p, sine(440, SR // 2, SR), SR, "int16")
    now = [100.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    with FileSource(p, block=2205, realtime=True, clock=lambda: now[0], sleep=sleep) as src:
        n = sum(len(b) for b in src)
    assert n == SR // 2
    # every block waits until its audio has "been recorded": total sleep = the file's duration
    assert sum(slept) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("sr_from", [44100, 48000, 16000, 8000, 96000, 32000, 22050])
def test_streaming_resampler_equals_resample_poly(sr_from):
    rng = np.random.default_rng(sr_from)
    x = rng.standard_normal(12000)
    r = StreamingResampler(sr_from, sr_to=SR)
    out, i = [], 0
    while i < len(x):
        n = int(rng.integers(0, 2500))
        out.append(r.process(x[i : i + n]))
        i += n
    out.append(r.flush())
    y = np.concatenate(out)
    ref = scipy.signal.resample_poly(x, r.up, r.down)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=5e-7)  # float32 output


def test_streaming_resampler_keeps_a_sine_frequency():
    r = StreamingResampler(48000, sr_to=SR)
    x = sine(82.41, 48000, 48000)
    y = np.concatenate([r.process(x[i : i + 960]) for i in range(0, len(x), 960)])
    assert abs(cents(peak_hz(y[1000:], SR), 82.41)) < FREQ_TOL_CENTS
    assert r.latency_in_samples < 30  # ~0.5 ms at 48 kHz


@pytest.mark.parametrize("fmt,rate,channels", [("s16le", SR, 1), ("f32le", 44100, 2), ("s32le", 48000, 1)])
def test_stdin_pcm(fmt, rate, channels):
    f = 196.0
    x = sine(f, rate, rate)
    if channels > 1:
        x = np.repeat(x, channels)
    dtype, scale = {"s16le": ("<i2", 32768.0), "f32le": ("<f4", 1.0), "s32le": ("<i4", 2 ** 31)}[fmt]
    raw = (np.round(x * scale) if scale != 1.0 else x).astype(dtype).tobytes()
    raw += b"\x01"  # a trailing partial sample is dropped, not an error
    src = StdinSource(io.BytesIO(raw), fmt=fmt, rate=rate, channels=channels)
    y = np.concatenate(list(src))
    assert src.input_rate == rate
    assert abs(len(y) - SR) <= 1
    assert abs(cents(peak_hz(y[1000:-1000], SR), f)) < FREQ_TOL_CENTS
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.005)


def test_stdin_bad_format_and_empty_stream():
    with pytest.raises(AudioInputError, match="s16le"):
        StdinSource(io.BytesIO(b""), fmt="mp3")
    assert list(StdinSource(io.BytesIO(b""))) == []


def _devices():
    return [
        {"name": "HDMI out", "maxInputChannels": 0, "defaultSampleRate": 48000.0},
        {"name": "Built-in Mic", "maxInputChannels": 2, "defaultSampleRate": 44100.0},
        {"name": "USB Audio CODEC", "maxInputChannels": 1, "defaultSampleRate": 48000.0},
    ]


def _fake(rate=48000, **kw):
    stream = FakeStream(sine(110.0, rate, rate), rate=rate, **kw)
    return FakePyAudio(_devices(), stream, default_index=1), stream


def test_mic_device_selection_by_default_index_and_name():
    pa, _ = _fake()
    with MicSource(None, pyaudio_module=pa, warn=lambda k, m: None) as m:
        assert m.device_index == 1 and m.input_rate == 44100
    pa, _ = _fake()
    with MicSource("2", pyaudio_module=pa, warn=lambda k, m: None) as m:
        assert m.device_name == "USB Audio CODEC" and m.input_rate == 48000
    pa, _ = _fake()
    with MicSource("usb", pyaudio_module=pa, warn=lambda k, m: None) as m:
        assert m.device_index == 2
    assert pa.opened[-1]["channels"] == 1 and pa.opened[-1]["rate"] == 48000


def test_mic_unknown_device_is_one_line_error_listing_inputs():
    pa, _ = _fake()
    with pytest.raises(AudioInputError) as e:
        MicSource("Behringer", pyaudio_module=pa)
    msg = str(e.value)
    assert "\n" not in msg and "Built-in Mic" in msg and "USB Audio CODEC" in msg and "HDMI" not in msg
    with pytest.raises(AudioInputError, match="index 0"):  # an output-only device is not an input
        MicSource("0", pyaudio_module=pa)
    assert pa.terminated >= 2  # pyaudio released after a failed open
    with pytest.raises(AudioInputError, match="no audio input devices"):
        MicSource(None, pyaudio_module=FakePyAudio([], None))


def test_mic_falls_back_to_another_rate():
    stream = FakeStream(sine(110.0, 48000, 48000), rate=48000)
    pa = FakePyAudio(_devices(), stream, default_index=1, rejected_rates={44100})
    with MicSource(None, pyaudio_module=pa, warn=lambda k, m: None) as m:
        assert m.input_rate == 48000


def test_mic_resamples_and_survives_overflows_and_ioerrors():
    pa, stream = _fake(overflow_at={10, 30}, ioerror_at={20, 21})
    warnings = []
    src = MicSource("USB", pyaudio_module=pa, clock=stream.clock, sleep=lambda s: None,
                    warn=lambda key, msg: warnings.append((key, msg)))
    out = [src.read() for _ in range(60)]
    src.close()
    assert stream.closed and not stream.active
    assert all(b is not None and b.dtype == np.float32 for b in out)
    assert sum(len(b) == 0 for b in out) == 2  # the two IOError hiccups gave empty blocks
    assert src.errors == 2
    assert src.overruns == 2  # both overflows noticed through the clock gap
    assert {k for k, _ in warnings} == {"overrun", "ioerror"}
    y = np.concatenate(out)
    assert abs(cents(peak_hz(y[:4000], SR), 110.0)) < FREQ_TOL_CENTS
    assert src.read() is None  # closed


def test_mic_counts_pyaudio_overflow_exceptions():
    class Raising(FakeStream):
        def read(self, num_frames, exception_on_overflow=True):
            return super().read(num_frames, exception_on_overflow=True)

    stream = Raising(sine(110.0, 48000, 48000), rate=48000, overflow_at={3})
    pa = FakePyAudio(_devices(), stream, default_index=2)
    src = MicSource(None, pyaudio_module=pa, clock=stream.clock, warn=lambda k, m: None)
    blocks = [src.read() for _ in range(6)]
    assert src.overruns == 1 and src.errors == 0
    assert len(blocks[3]) == 0


def test_mic_gives_up_on_a_dead_device():
    pa, stream = _fake(ioerror_at=set(range(10_000)))
    now = [0.0]

    def sleep(s):
        now[0] += s

    src = MicSource(None, pyaudio_module=pa, clock=lambda: now[0], sleep=sleep, warn=lambda k, m: None)
    with pytest.raises(AudioInputError, match="stopped delivering"):
        for _ in range(10_000):
            src.read()
    assert src.errors > 10


def test_rate_limited_warner():
    now = [0.0]
    lines = []
    w = RateLimitedWarner(interval_s=5.0, emit=lines.append, clock=lambda: now[0])
    for i in range(10):
        w("overrun", f"overrun {i}")
        now[0] += 1.0
    assert lines == ["overrun 0", "overrun 5 (+4 more like it)"]


def test_open_source_specs(tmp_path):
    assert parse_mic_spec("mic") == (True, None)
    assert parse_mic_spec("mic:USB Audio") == (True, "USB Audio")
    assert parse_mic_spec("take.wav") == (False, None)
    with pytest.raises(AudioInputError, match="no such file"):
        open_source(str(tmp_path / "missing.wav"))
    src = open_source("-", stdin=io.BytesIO(np.zeros(100, "<i2").tobytes()))
    assert isinstance(src, StdinSource)
    pa, _ = _fake()
    assert isinstance(open_source("mic:2", pyaudio_module=pa), MicSource)
