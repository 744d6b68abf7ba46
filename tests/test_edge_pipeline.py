"""The Tuner and run_stream: alignment, block-size invariance, bad samples, live faults."""
import threading
from pathlib import Path

import numpy as np
import pytest
from doubles import FakePyAudio, FakeStream, ListSink

from cleartune.edge import guitar_model as GM
from cleartune.edge.errors import ModelLoadError
from cleartune.edge.notes import NoteError
from cleartune.edge.params import EDGE
from cleartune.edge.pipeline import Stats, Tuner, TunerConfig, analyze_samples, resolve_mode, run_stream
from cleartune.edge.reading import Reading
from cleartune.edge.sources import MicSource

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"
FLOAT = MODELS / "tiny_mask_float32.tflite"
GUITAR = MODELS / "tiny_guitar_pitch_int8.tflite"      # a development guitar-pitch model (2.1 M MAC per call)
SR, HOP = EDGE.sample_rate, EDGE.hop
LATENCY = EDGE.n_fft - EDGE.hop
#: Readings the product promises per second of audio.
MIN_READINGS_PER_S = 10


class Recorder:
    """Stand-in tracker: keeps every hop it is given, a reading every 4 hops."""

    def __init__(self, every=4):
        self.every = every
        self.raw, self.den = [], []

    def update(self, raw, den=None):
        assert raw.shape == (HOP,) and np.all(np.isfinite(raw))
        self.raw.append(np.array(raw, dtype=np.float64))
        self.den.append(None if den is None else np.array(den, dtype=np.float64))
        n = len(self.raw)
        if n % self.every == 0:
            return Reading(t=n * HOP / SR, note="A2", cents=0.0, f0_hz=110.0, confidence=1.0)
        return None

    def reset(self):
        self.raw, self.den = [], []


def _tone(seconds, f=110.0, amp=0.3):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 6))).astype(np.float32)


def test_raw_is_delayed_to_align_with_denoised():
    x = _tone(0.5)
    rec = Recorder()
    tuner = Tuner(TunerConfig(model=str(FLOAT), dc_cutoff_hz=0), tracker=rec)
    assert tuner.delay_samples == LATENCY
    ones = np.ones((1, EDGE.n_bins), dtype=np.float32)
    tuner.denoiser.model = lambda window: ones  # identity mask: denoised == input, delayed by the latency
    readings = analyze_samples(x, tuner, block=1000)
    raw, den = np.concatenate(rec.raw), np.concatenate(rec.den)
    n = len(raw)
    assert n == (len(x) // HOP) * HOP
    expect = np.concatenate([np.zeros(LATENCY), x])[:n]
    np.testing.assert_array_equal(raw, expect.astype(np.float32))
    skip = LATENCY + EDGE.n_fft  # the abrupt start has Nyquist content the n_bins cut drops
    np.testing.assert_allclose(den[skip:], raw[skip:], atol=1e-6)
    # reading times refer to the input: the tracker's time minus the delay
    assert readings[0].t == pytest.approx(4 * HOP / SR - LATENCY / SR)


def test_without_denoiser_raw_is_not_delayed():
    x = _tone(0.2)
    rec = Recorder()
    tuner = Tuner(TunerConfig(denoise=False, dc_cutoff_hz=0), tracker=rec)
    readings = analyze_samples(x, tuner)
    assert tuner.denoiser is None and tuner.delay_samples == 0 and tuner.notice is None
    assert all(d is None for d in rec.den)
    np.testing.assert_array_equal(np.concatenate(rec.raw), x[: len(rec.raw) * HOP])
    assert readings[0].t == pytest.approx(4 * HOP / SR)


@pytest.mark.parametrize("block", [1, 7, 256, 1000, 4410])
def test_any_block_length_gives_the_same_hops(block):
    x = _tone(0.3)
    whole, rec = Recorder(), Recorder()
    analyze_samples(x, Tuner(TunerConfig(model=str(FLOAT)), tracker=whole), block=len(x))
    analyze_samples(x, Tuner(TunerConfig(model=str(FLOAT)), tracker=rec), block=block)
    assert len(rec.raw) == len(whole.raw) == len(x) // HOP
    np.testing.assert_array_equal(np.concatenate(rec.raw), np.concatenate(whole.raw))
    np.testing.assert_array_equal(np.concatenate(rec.den), np.concatenate(whole.den))


def test_nonfinite_samples_become_zero_and_are_counted():
    x = _tone(0.3)
    x[1000:1100] = np.nan
    x[2000] = np.inf
    x[3000] = -np.inf
    rec = Recorder()
    tuner = Tuner(TunerConfig(model=str(FLOAT)), tracker=rec)
    analyze_samples(x, tuner)  # Recorder asserts that every hop it sees is finite
    assert tuner.nonfinite_samples == 102
    assert all(np.all(np.isfinite(d)) for d in rec.den)


def test_clipping_and_dc_offset_are_tamed():
    x = 4.0 * _tone(1.0) + 0.5  # way over full scale, and a DC offset
    rec = Recorder()
    analyze_samples(x, Tuner(TunerConfig(denoise=False), tracker=rec))
    raw = np.concatenate(rec.raw)
    # clipped to full scale first; the DC blocker that follows can at most double a clipped swing
    assert np.abs(x).max() > 2.0 and np.abs(raw).max() <= 2.0
    assert abs(raw[SR // 2 :].mean()) < 0.01  # the DC blocker removed the offset after its settling time


def test_resolve_mode():
    assert resolve_mode("guitar") == ("guitar", None)
    assert resolve_mode("Chromatic") == ("chromatic", None)
    assert resolve_mode("a4") == ("note", "A4")
    assert resolve_mode("Bb3") == ("note", "A#3")
    with pytest.raises(NoteError, match="unknown mode"):
        resolve_mode("loud")


def _ship_guitar_model(monkeypatch, where: Path) -> Path:
    """Make the fixture guitar-pitch model the shipped one (edge/models/ moved to ``where``)."""
    import shutil

    monkeypatch.setattr(GM, "MODELS_DIR", where)
    dst = where / GM.DEFAULT_MODEL_NAME
    shutil.copy(GUITAR, dst)
    shutil.copy(GUITAR.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_missing_shipped_model_is_a_notice_but_an_explicit_one_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(GM, "MODELS_DIR", tmp_path)
    t = Tuner(TunerConfig(), tracker=Recorder())
    assert t.denoiser is None and t.guide is None and "no guitar-pitch model shipped" in t.notice
    (tmp_path / GM.DEFAULT_MODEL_NAME).write_bytes(b"broken")
    t = Tuner(TunerConfig(), tracker=Recorder())
    assert t.guide is None and "cannot be used" in t.notice and "\n" not in t.notice
    with pytest.raises(ModelLoadError):
        Tuner(TunerConfig(model=str(tmp_path / "missing.tflite")), tracker=Recorder())


def test_default_runs_the_shipped_guitar_pitch_model_once_per_reading(monkeypatch, tmp_path):
    """The default pipeline: the shipped guitar-pitch model guides the tracker (no mask, no
    delay), heard once per reading on the newest raw window."""
    from cleartune.edge.guide import ModelGuide
    from cleartune.train import synth

    _ship_guitar_model(monkeypatch, tmp_path)
    stats = Stats()
    tuner = Tuner(TunerConfig(), stats=stats)
    assert isinstance(tuner.guide, ModelGuide) and tuner.tracker.guide is tuner.guide
    assert tuner.denoiser is None and tuner.delay_samples == 0 and tuner.notice is None
    assert tuner.describe().startswith(f"guide: {GM.DEFAULT_MODEL_NAME}")
    x, _ = synth.plucked_string(110.0, duration=1.5)
    readings = analyze_samples(x, tuner)
    assert len(readings) == len(x) // (4 * HOP) and stats.count("guide") == len(readings)
    assert tuner.tracker.guide_note is not None and 35 <= tuner.tracker.guide_note.midi <= 88
    assert [r.t for r in readings] == [r.t for r in analyze_samples(x, Tuner(TunerConfig(denoise=False)))]


def test_the_model_kind_decides_how_it_runs(monkeypatch, tmp_path):
    """A mask from an explicit path denoises every hop (raw delayed to match); a guitar-pitch
    model from an explicit path guides; --no-denoise runs no model even when one is shipped."""
    _ship_guitar_model(monkeypatch, tmp_path)
    mask = Tuner(TunerConfig(model=str(FLOAT)))
    assert mask.denoiser is not None and mask.guide is None and mask.delay_samples == LATENCY
    assert mask.tracker.guide is None and mask.describe().startswith("denoiser: ")
    guided = Tuner(TunerConfig(model=str(GUITAR)))
    assert guided.guide is not None and guided.denoiser is None and guided.delay_samples == 0
    alone = Tuner(TunerConfig(denoise=False))
    assert alone.guide is None and alone.denoiser is None and alone.tracker.guide is None and alone.notice is None


def test_run_stream_from_a_faulty_microphone_keeps_going():
    rate = 48000
    stream = FakeStream(_tone(1.0, amp=0.2).astype(np.float64).repeat(1)[: SR], rate=rate,
                        overflow_at={5, 40}, ioerror_at={20})
    pa = FakePyAudio([{"name": "USB mic", "maxInputChannels": 1, "defaultSampleRate": float(rate)}], stream)
    warnings = []
    src = MicSource(None, pyaudio_module=pa, clock=stream.clock, sleep=lambda s: None,
                    warn=lambda k, m: warnings.append(k))
    sink, stats = ListSink(), Stats()
    tuner = Tuner(TunerConfig(model=str(FLOAT)), tracker=Recorder())
    with src:
        res = run_stream(src, tuner, sink, stats=stats, max_seconds=2.0)
    assert res.seconds == pytest.approx(2.0, abs=1e-9) and res.duration_reached and not res.stopped
    assert res.overruns == 2 and res.input_errors == 1
    assert res.readings == len(sink.readings) >= 2.0 * MIN_READINGS_PER_S
    assert "ioerror" in warnings and "overrun" in warnings
    summary = stats.summary()
    assert set(summary) == {"read", "stft", "denoise", "pitch", "output"}
    assert all(d["p95_ms"] >= d["median_ms"] >= 0 for d in summary.values())
    assert stats.counters["overruns"] == 2
    text = stats.format(hop_ms=1000 * HOP / SR)
    assert "denoise" in text and "p95" in text


def test_run_stream_stops_on_event_and_calls_between_blocks():
    class Endless:
        overruns = errors = 0

        def read(self):
            return np.zeros(500, dtype=np.float32)

    stop = threading.Event()
    calls = []

    class StopAfter(ListSink):
        def write(self, reading, *, file=None):
            super().write(reading)
            if len(self.readings) == 5:
                stop.set()

    sink = StopAfter()
    res = run_stream(Endless(), Tuner(TunerConfig(denoise=False), tracker=Recorder()), sink, stop_event=stop,
                     between_blocks=lambda: calls.append(1))
    assert res.stopped and not res.duration_reached
    assert len(sink.readings) >= 5 and len(calls) == res.blocks


# -- with the real tracker -------------------------------------------------------------------
def test_real_tracker_reads_the_note_at_ten_readings_per_second_or_more():
    from cleartune.train import synth

    x, f1 = synth.plucked_string(110.0, duration=2.0)
    x = np.clip(3.0 * x + 0.2, -1.0, 1.0)  # clipped and offset
    x[SR : SR + 50] = np.nan
    tuner = Tuner(TunerConfig(model=str(FLOAT)))
    readings = analyze_samples(x, tuner)
    assert len(readings) / 2.0 >= MIN_READINGS_PER_S
    notes = [r.note for r in readings if r.note is not None]
    assert len(notes) > len(readings) // 2
    assert max(set(notes), key=notes.count) == "A2"
    assert tuner.nonfinite_samples == 50


def test_set_notes_changes_the_mapping_live():
    from cleartune.train import synth

    x, _ = synth.plucked_string(110.0, duration=1.0)
    tuner = Tuner(TunerConfig(denoise=False))
    tuner.set_notes(a4=442.0)
    r = [r for r in analyze_samples(x, tuner) if r.note is not None]
    assert r and r[-1].note == "A2" and r[-1].target_hz == pytest.approx(110.5)
    with pytest.raises(NoteError):
        tuner.set_notes(a4=1000.0)
    assert tuner.config.a4 == 442.0  # a refused change leaves everything as it was
