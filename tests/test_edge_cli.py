"""``cleartune analyze`` and ``cleartune run``: output formats, bad inputs, live faults, signals.

In-process through cleartune.cli.main (capsys), plus a few subprocess checks for what
only a real process shows (no traceback on stderr); SIGINT/SIGTERM: tests/test_shutdown.py."""
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
from doubles import FakePyAudio, FakeStream

from cleartune.cli import build_parser, main
from cleartune.edge import guitar_model as GM
from cleartune.edge.errors import AudioInputError
from cleartune.edge.params import EDGE
from cleartune.firmware_bridge import cli_run

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"
FLOAT = MODELS / "tiny_mask_float32.tflite"
SR = EDGE.sample_rate
MIN_READINGS_PER_S = 10
KEYS = {"t", "note", "cents", "f0_hz", "confidence"}


def pluck(f0=110.0, seconds=1.5, sr=SR):
    from cleartune.train import synth

    x, _ = synth.plucked_string(f0, duration=seconds, sample_rate=sr)
    return x


def write(path, x, sr=SR, dtype=np.int16):
    x = np.asarray(x, dtype=np.float64)
    data = np.round(np.clip(x, -1, 32767 / 32768) * 32768).astype(np.int16) if dtype == np.int16 else x.astype(dtype)
    scipy.io.wavfile.write(path, sr, data)
    return str(path)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    d = tmp_path_factory.mktemp("wavs")
    return {"a2": write(d / "a2.wav", pluck(110.0)), "e2": write(d / "e2.wav", pluck(82.41)), "dir": d}


def lines_of(text):
    return [json.loads(ln) for ln in text.splitlines() if ln.strip()]


def majority_note(rows):
    notes = [r["note"] for r in rows if r["note"] is not None]
    return max(set(notes), key=notes.count) if notes else None


def assert_one_line_error(err):
    assert "Traceback" not in err
    errs = [ln for ln in err.splitlines() if "error" in ln]
    assert errs and all(ln.startswith("cleartune analyze: error:") or ln.startswith("cleartune run: error:")
                        for ln in errs)


# -- analyze -----------------------------------------------------------------------------------
def test_analyze_json(wavs, capsys):
    rc = main(["analyze", wavs["a2"], "--json", "--no-denoise"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows = lines_of(out)
    assert rows and all(set(r) == KEYS for r in rows)
    assert len(rows) / 1.5 >= MIN_READINGS_PER_S
    assert majority_note(rows) == "A2"
    assert all(r["t"] >= 0 for r in rows) and [r["t"] for r in rows] == sorted(r["t"] for r in rows)


def test_analyze_several_files_with_a_bad_one(wavs, capsys, tmp_path):
    missing = str(tmp_path / "missing.wav")
    rc = main(["analyze", wavs["a2"], missing, wavs["e2"], "--json", "--model", str(FLOAT)])
    out, err = capsys.readouterr()
    assert rc == 1
    rows = lines_of(out)
    assert {r["file"] for r in rows} == {wavs["a2"], wavs["e2"]}
    assert majority_note([r for r in rows if r["file"] == wavs["e2"]]) == "E2"
    assert_one_line_error(err)
    assert "missing.wav" in err and len([ln for ln in err.splitlines() if "error" in ln]) == 1


def _bad_file(kind, d):
    p = d / f"{kind}.wav"
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("this is not audio, just text named .wav\n" * 20)
    elif kind == "truncated_header":
        p.write_bytes(b"RIFF\x24\x08\x00\x00WAVEfmt ")
    elif kind == "directory":
        p.mkdir()
    elif kind == "no_samples":
        scipy.io.wavfile.write(p, SR, np.zeros(0, dtype=np.int16))
    return str(p)


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated_header", "directory", "no_samples"])
def test_analyze_bad_inputs_are_one_line_errors(kind, tmp_path, capsys):
    path = str(tmp_path / "missing.wav") if kind == "missing" else _bad_file(kind, tmp_path)
    rc = main(["analyze", path, "--no-denoise"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert_one_line_error(err)
    assert out == ""


def test_analyze_truncated_data_still_reads_what_is_there(wavs, tmp_path, capsys):
    data = Path(wavs["a2"]).read_bytes()
    p = tmp_path / "cut.wav"
    p.write_bytes(data[: len(data) // 2])  # header promises more samples than there are
    rc = main(["analyze", str(p), "--json", "--no-denoise"])
    out, err = capsys.readouterr()
    assert rc == 0 and "Traceback" not in err
    assert majority_note(lines_of(out)) == "A2"  # read up to the cut
    # one warning naming both lengths: what the header promises and what the file holds
    n_all = round(1.5 * SR)
    n_held = (len(data) // 2 - 44) // 2
    warns = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warns) == 1 and "truncated WAV" in warns[0], err
    assert f"promises {n_all} samples (1.50 s)" in warns[0] and f"holds {n_held} ({n_held / SR:.2f} s)" in warns[0]
    assert lines_of(out)[-1]["t"] > n_held / SR - 0.1  # all that is there, not 0 s


def test_analyze_nan_and_inf_samples(tmp_path, capsys):
    x = pluck(110.0, 1.0).astype(np.float32)
    x[: SR // 2] = np.nan
    x[SR // 2 : SR // 2 + 10] = np.inf
    p = write(tmp_path / "nan.wav", x, dtype=np.float32)
    rc = main(["analyze", p, "--json", "--model", str(FLOAT)])
    out, err = capsys.readouterr()
    assert rc == 0
    rows = lines_of(out)
    first_half = [r for r in rows if r["t"] < 0.4]
    assert first_half and all(r["note"] is None and r["cents"] is None for r in first_half)
    assert "NaN/inf samples replaced" in err and str(SR // 2 + 10) in err


@pytest.mark.parametrize("case", ["clipped", "dc_offset", "rate_44100", "rate_8000_stereo", "float64"])
def test_analyze_awkward_but_valid_files(case, tmp_path, capsys):
    f0 = 146.83  # D3
    if case == "clipped":
        p = write(tmp_path / "c.wav", np.clip(4.0 * pluck(f0), -1, 1))
    elif case == "dc_offset":
        p = write(tmp_path / "c.wav", 0.5 * pluck(f0) + 0.4)
    elif case == "rate_44100":
        p = write(tmp_path / "c.wav", pluck(f0, sr=44100), sr=44100)
    elif case == "rate_8000_stereo":
        x = pluck(f0, sr=8000)
        p = write(tmp_path / "c.wav", np.stack([x, 0.8 * x], axis=1), sr=8000)
    else:
        p = write(tmp_path / "c.wav", pluck(f0), dtype=np.float64)
    rc = main(["analyze", p, "--json", "--no-denoise"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows = lines_of(out)
    assert len(rows) / 1.5 >= MIN_READINGS_PER_S
    assert majority_note(rows) == "D3"


def test_analyze_summary_and_verbose(wavs, capsys):
    rc = main(["analyze", wavs["a2"], "--no-denoise"])
    out, _ = capsys.readouterr()
    assert rc == 0
    head, *segs = out.splitlines()
    assert head.startswith(wavs["a2"]) and "readings" in head
    assert any(" A2 " in s and "cents" in s for s in segs)
    rc = main(["analyze", wavs["a2"], "--no-denoise", "--verbose", "--mode", "guitar"])
    out, err = capsys.readouterr()
    assert rc == 0 and "notes:" in err
    assert sum(" s   A2 " in ln for ln in out.splitlines()) >= 10


def test_analyze_stats_and_model(wavs, capsys):
    rc = main(["analyze", wavs["a2"], "--json", "--model", str(FLOAT), "--stats", "--threads", "2"])
    out, err = capsys.readouterr()
    assert rc == 0
    for stage in ("read", "stft", "denoise", "pitch", "output"):
        assert any(ln.startswith(stage) for ln in err.splitlines()), err
    assert "real_time_factor" in err


def test_analyze_bad_model_and_bad_options(wavs, tmp_path, capsys):
    assert main(["analyze", wavs["a2"], "--model", str(tmp_path / "none.tflite")]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "model file not found" in err
    assert main(["analyze", wavs["a2"], "--mode", "loud"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "unknown mode" in err
    assert main(["analyze", wavs["a2"], "--a4", "500"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "A4" in err


def test_analyze_without_shipped_model_notes_it(wavs, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(GM, "MODELS_DIR", tmp_path)
    rc = main(["analyze", wavs["a2"], "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and lines_of(out)
    assert err.startswith("cleartune analyze: note: no guitar-pitch model shipped") and err.count("\n") == 1


def test_analyze_mode_note(wavs, capsys):
    rc = main(["analyze", wavs["a2"], "--json", "--no-denoise", "--mode", "A4"])
    rows = lines_of(capsys.readouterr()[0])
    assert rc == 0 and majority_note(rows) == "A4"
    cents = [r["cents"] for r in rows if r["note"] == "A4"]
    assert np.median(cents) == pytest.approx(-2400, abs=30)  # two octaves below the target


def test_analyze_subprocess_has_no_traceback(wavs, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    r = subprocess.run([sys.executable, "-m", "cleartune", "analyze", str(bad), wavs["e2"], "--json",
                        "--no-denoise"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1 and "bad.wav" in r.stderr
    assert majority_note(lines_of(r.stdout)) == "E2"


# -- run ---------------------------------------------------------------------------------------
def _args(argv):
    return build_parser("run").parse_args(["run", *argv])


def test_run_file_to_stdout_with_duration(wavs, capsys):
    rc = main(["run", "--input", wavs["a2"], "--no-denoise", "--duration", "1.0", "--output", "stdout"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rows = lines_of(out)
    assert rows and all(set(r) == KEYS for r in rows)
    assert max(r["t"] for r in rows) <= 1.0
    assert len(rows) >= 1.0 * MIN_READINGS_PER_S - 1


def test_run_stdin_pcm(capsys):
    x = pluck(110.0, 1.0, sr=44100)
    raw = np.round(np.repeat(x, 2) * 32767).astype("<i2").tobytes()
    args = _args(["--input", "-", "--stdin-rate", "44100", "--stdin-channels", "2", "--no-denoise"])
    rc = cli_run.run(args, stdin=io.BytesIO(raw))
    rows = lines_of(capsys.readouterr()[0])
    assert rc == 0 and majority_note(rows) == "A2"


def test_run_microphone_with_faults_and_stats(capsys):
    rate = 48000
    stream = FakeStream(pluck(110.0, 1.0, sr=rate), rate=rate, overflow_at={5, 30}, ioerror_at={15})
    pa = FakePyAudio([{"name": "USB Audio", "maxInputChannels": 1, "defaultSampleRate": float(rate)}], stream)
    args = _args(["--input", "mic:usb", "--model", str(FLOAT), "--duration", "2", "--stats"])
    rc = cli_run.run(args, pyaudio_module=pa, clock=stream.clock)
    out, err = capsys.readouterr()
    assert rc == 0
    assert stream.closed  # the device was released
    assert len(lines_of(out)) >= 2 * MIN_READINGS_PER_S
    assert "overruns: 2" in err and "input_errors: 1" in err
    assert "warning: input device error" in err
    assert any(ln.startswith("denoise") for ln in err.splitlines())


def test_run_unknown_microphone_is_one_line_error():
    pa = FakePyAudio([{"name": "Built-in", "maxInputChannels": 1, "defaultSampleRate": 44100.0}], None)
    with pytest.raises(AudioInputError, match="Built-in"):
        cli_run.run(_args(["--input", "mic:zoom", "--no-denoise"]), pyaudio_module=pa)


def test_run_bad_config_and_output(wavs, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[analysis]\nloudness = 3\n")
    assert main(["run", "--input", wavs["a2"], "--config", str(cfg)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "loudness" in err
    assert main(["run", "--input", wavs["a2"], "--output", "carrier-pigeon"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1


def test_run_config_file_supplies_settings(wavs, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[analysis]\nmode = "guitar"\ndenoise = false\n[output]\noutputs = ["stdout"]\n')
    rc = main(["run", "--input", wavs["e2"], "--config", str(cfg), "--duration", "1"])
    out, err = capsys.readouterr()
    assert rc == 0 and "note:" not in err  # denoise = false: no notice about a missing model
    assert majority_note(lines_of(out)) == "E2"


def test_gpio_button_cycles_mode_or_reference_pitch():
    from types import SimpleNamespace

    from cleartune.edge.pipeline import Tuner, TunerConfig

    class Tracker:
        notes = None

        def update(self, raw, den=None):
            return None

    err = io.StringIO()
    tuner = Tuner(TunerConfig(denoise=False), tracker=Tracker())
    b = cli_run._Button(SimpleNamespace(gpio_button_action="mode"), tuner, err=err)
    b.apply()  # nothing pressed: nothing changes
    assert tuner.config.mode == "chromatic"
    b.press()
    b.apply()
    assert tuner.config.mode == "guitar" and tuner.tracker.notes.mode == "guitar"
    b.press()
    b.apply()
    assert tuner.config.mode == "chromatic"
    b = cli_run._Button(SimpleNamespace(gpio_button_action="a4", a4_choices=(440.0, 442.0, 432.0)), tuner, err=err)
    for want in (442.0, 432.0, 440.0):
        b.press()
        b.apply()
        assert tuner.config.a4 == want and tuner.tracker.notes.a4 == want
    assert err.getvalue().splitlines() == ["cleartune run: mode guitar", "cleartune run: mode chromatic",
                                           "cleartune run: A4 = 442 Hz", "cleartune run: A4 = 432 Hz",
                                           "cleartune run: A4 = 440 Hz"]
