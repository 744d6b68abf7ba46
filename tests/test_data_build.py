"""End-to-end tests of ``cleartune data build`` on tiny datasets (a few notes, short
clips, a handful of mixes): files and CSV, SNR on the written files, f0 labels, split
leakage, determinism, resume after an interruption, stratified/clean SNRs, bring-your-own
folders with broken files, the CLI."""
from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cleartune.edge.errors import DataError
from cleartune.edge.params import EDGE
from cleartune.train.data import build as build_mod
from cleartune.train.data.build import BuildConfig
from cleartune.train.data.builder import build_dataset
from cleartune.train.data.dataset import COLUMNS, iter_examples, load_info, load_metadata
from cleartune.train.data.f0 import cents, hz_to_midi, midi_to_hz, note_name
from cleartune.train.data.noisifier import snr_db
from cleartune.train.data.sources import GenerateSettings

needs_tools = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or shutil.which("espeak-ng") is None
    or not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists(),
    reason="fluidsynth, espeak-ng and fluid-soundfont-gm are needed for the built-in generator",
)

CLIP_S = 0.75
REQUIRED = ("id split mix_path clean_path noise_path guitar_file guitar_recording instrument midi note f0_hz "
            "onset_s harmonic_file harmonic_offset harmonic_gain env_file env_offset env_gain snr_db "
            "snr_measured_db").split()


def tiny_config(out: Path, **kw) -> BuildConfig:
    params = replace(EDGE, clip_samples=int(CLIP_S * EDGE.sample_rate) // EDGE.hop * EDGE.hop)
    gen = GenerateSettings(notes=(40, 52, 64, 76, 88), velocities=(100,), guitar_programs=(25,),
                           n_harmonic=3, n_voice=1, n_env=3, noise_seconds=3.0)
    base = dict(out=out, params=params, n_mixes=10, seed=7, generate=gen, progress=False)
    base.update(kw)
    return BuildConfig(**base)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    if shutil.which("fluidsynth") is None or shutil.which("espeak-ng") is None:
        pytest.skip("fluidsynth/espeak-ng missing")
    out = tmp_path_factory.mktemp("data") / "tiny"
    report = build_dataset(tiny_config(out))
    return out, report


@needs_tools
def test_build_writes_files_and_metadata(tiny):
    out, report = tiny
    rows = load_metadata(out)
    assert report.made == 10 and len(rows) == 10
    header = (out / "metadata.csv").read_text().splitlines()[0].split(",")
    assert tuple(header) == COLUMNS and set(REQUIRED) <= set(header)
    info = load_info(out)
    assert info["complete"] and info["counts"]["mixes"] == 10 and info["seed"] == 7
    assert info["signal_params"]["clip_samples"] == rows[0]["clip_samples"]
    assert info["pool"]["name"] == "train" and "versions" in info and info["bytes"] > 0
    n = info["signal_params"]["clip_samples"]
    for mix, clean, noise, row in iter_examples(out):
        assert mix.dtype == np.float32 and mix.shape == (n,)
        assert np.array_equal(mix, clean + noise)                       # exact, float32
        measured = snr_db(clean, noise)                                 # on the written files
        assert abs(measured - row["snr_db"]) < 0.05
        assert abs(measured - row["snr_measured_db"]) < 1e-6
        assert -5.0 <= row["snr_db"] <= 20.0
        assert np.max(np.abs(mix)) <= 0.99 + 1e-6
        # the label: true first-partial f0 within +-50 cents of its (nearest) note
        assert row["midi"] == round(hz_to_midi(row["f0_hz"])) and row["note"] == note_name(row["midi"])
        assert abs(cents(row["f0_hz"], midi_to_hz(row["midi"]))) < 50.0
        assert row["cents_off"] == pytest.approx(cents(row["f0_hz"], midi_to_hz(row["midi"])), abs=1e-6)
        assert row["detune_cents"] == pytest.approx(1200 * math.log2(row["detune_ratio"]), abs=1e-6)
        assert row["f0_source"] == "measured" and row["instrument"] == "steel_guitar" and row["velocity"] == 100
        assert row["guitar_level_db"] <= -2.9
        assert row["harmonic_file"] or row["env_file"]
        for key in ("harmonic_file", "env_file"):
            if row[key]:
                assert (out / row[key]).exists()
        assert (out / row["guitar_file"]).exists()


@needs_tools
def test_clean_clip_really_has_the_labelled_f0(tiny):
    from cleartune.train.data.f0 import measure_f0

    out, _ = tiny
    checked = 0
    for _mix, clean, _noise, row in iter_examples(out):
        if row["guitar_reverb_s"] == 0 and 0 <= row["onset_s"] and row["onset_s"] + 0.45 < CLIP_S:
            sr = row["sample_rate"]
            a = int((row["onset_s"] + 0.1) * sr)
            est = measure_f0(clean[a:].astype(np.float64), sr, f0_hint=row["f0_hz"])
            # the label is measured on 0.3-2.0 s after the pluck; soundfont notes drift a few cents
            assert abs(cents(est.f0_hz, row["f0_hz"])) < 8.0
            checked += 1
    assert checked >= 1


@needs_tools
def test_splits_do_not_leak(tiny):
    out, _ = tiny
    rows = load_metadata(out)
    for key in (lambda r: r["guitar_recording"], lambda r: (r["instrument"], r["midi"]),
                lambda r: r["harmonic_file"], lambda r: r["env_file"]):
        owner: dict = {}
        for r in rows:
            k = key(r)
            if k:
                assert owner.setdefault(k, r["split"]) == r["split"], k
    info = load_info(out)
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    assert info["counts"]["train"] == 8 and info["counts"]["val"] == 1 and info["counts"]["test"] == 1


@needs_tools
def test_build_is_deterministic_from_the_seed(tiny, tmp_path):
    out, _ = tiny
    again = tmp_path / "again"
    build_dataset(tiny_config(again))
    assert (again / "metadata.csv").read_text() == (out / "metadata.csv").read_text()
    for rel in ("mixes/m00000.wav", "clean/m00003.wav", "noise/m00009.wav"):
        assert (again / rel).read_bytes() == (out / rel).read_bytes()
    # worker processes give the same result
    par = tmp_path / "par"
    shutil.copytree(out / "sources", par / "sources")
    build_dataset(tiny_config(par, jobs=2))
    assert (par / "metadata.csv").read_text() == (out / "metadata.csv").read_text()
    assert (par / "mixes/m00004.wav").read_bytes() == (out / "mixes/m00004.wav").read_bytes()
    # another seed, another dataset (reusing the rendered sources to stay fast)
    other = tmp_path / "other"
    shutil.copytree(out / "sources", other / "sources")
    build_dataset(tiny_config(other, seed=8))
    assert (other / "metadata.csv").read_text() != (out / "metadata.csv").read_text()


@needs_tools
def test_resume_after_interruption(tiny, tmp_path, monkeypatch):
    out, _ = tiny
    work = tmp_path / "resume"
    shutil.copytree(out / "sources", work / "sources")
    calls = {"n": 0}
    real = build_mod.make_mix

    def flaky(spec, ctx):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(spec, ctx)

    monkeypatch.setattr(build_mod, "make_mix", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(tiny_config(work))
    assert not (work / "metadata.csv").exists() and not load_info(work)["complete"]
    assert len(list((work / ".parts").glob("*.json"))) == 3
    assert not list(work.rglob(".*.tmp"))                               # nothing half-written
    (work / "mixes" / ".m00005.wav.x.tmp").write_bytes(b"junk from a killed run")
    monkeypatch.setattr(build_mod, "make_mix", real)
    rep = build_dataset(tiny_config(work))
    assert rep.made == 7                                                 # the 3 complete mixes skipped
    assert (work / "metadata.csv").read_text() == (out / "metadata.csv").read_text()
    assert not list(work.rglob(".*.tmp"))
    # a mix whose WAV went missing is remade
    (work / "noise" / "m00002.wav").unlink()
    assert build_dataset(tiny_config(work)).made == 1
    # other settings in the same folder are refused
    with pytest.raises(DataError, match="other settings"):
        build_dataset(tiny_config(work, seed=99))


@needs_tools
def test_stratified_and_clean_snrs(tiny, tmp_path):
    out, _ = tiny
    work = tmp_path / "strat"
    shutil.copytree(out / "sources", work / "sources")
    build_dataset(tiny_config(work, snrs=(math.inf, 0.0), n_mixes=8, fractions=(0.0, 0.0, 1.0)))
    rows = load_metadata(work)
    assert {r["split"] for r in rows} == {"test"}
    assert sorted(r["snr_db"] for r in rows) == [0.0] * 4 + [math.inf] * 4
    for mix, clean, noise, row in iter_examples(work):
        if math.isinf(row["snr_db"]):
            assert not np.any(noise) and np.array_equal(mix, clean)
            assert row["snr_measured_db"] == math.inf and row["harmonic_file"] == "" and row["env_file"] == ""
        else:
            assert abs(snr_db(clean, noise)) < 0.05
    assert load_info(work)["counts"]["clean_mixes"] == 4


# -- bring your own folders ------------------------------------------------------------------

def _tone(f0: float, *, seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return sum(0.5 / k * np.exp(-t * (0.8 + 0.2 * k)) * np.sin(2 * np.pi * k * f0 * t + k) for k in range(1, 6))


def _write_pcm16_stereo(path: Path, x: np.ndarray, sr: int) -> None:
    import scipy.io.wavfile

    pcm = np.round(np.clip(np.stack([x, 0.8 * x], axis=1), -1, 1) * 32767).astype(np.int16)
    scipy.io.wavfile.write(path, sr, pcm)


def test_bring_your_own_folders_with_broken_files(tmp_path, capsys):
    import scipy.io.wavfile
    import soundfile

    g, h, e = tmp_path / "guitar", tmp_path / "harm", tmp_path / "env"
    for d in (g, h, e):
        d.mkdir()
    _write_pcm16_stereo(g / "steel_A2.wav", _tone(110.0 * 2 ** (7 / 1200), seconds=2.2, sr=44100), 44100)
    scipy.io.wavfile.write(g / "take1.wav", 22050, _tone(196.0, seconds=1.6, sr=22050).astype(np.float32))
    soundfile.write(g / "take2.flac", _tone(146.9, seconds=1.6, sr=48000), 48000)
    (g / "notes.csv").write_text("file,f0_hz\ntake2.flac,146.9\n")
    (g / "empty.wav").write_bytes(b"")
    (g / "readme.wav").write_text("this is not audio\n")
    good = (g / "take1.wav").read_bytes()
    (g / "truncated.wav").write_bytes(good[:30])
    rng = np.random.default_rng(0)
    soundfile.write(h / "band.flac", 0.3 * np.stack([_tone(261.6, seconds=3, sr=48000)] * 2, axis=1), 48000)
    scipy.io.wavfile.write(h / "voice.wav", 16000, (0.2 * rng.standard_normal(16000 * 3)).astype(np.float32))
    scipy.io.wavfile.write(e / "hum.wav", 22050, (0.1 * np.sin(np.arange(22050 * 3) * 2 * np.pi * 50 / 22050)).astype(np.float32))
    scipy.io.wavfile.write(e / "hiss.wav", 8000, (0.1 * rng.standard_normal(8000 * 3) * 32767).astype(np.int16))
    (e / "broken.wav").write_bytes(b"RIFF\x00\x00")

    out = tmp_path / "byo"
    params = replace(EDGE, clip_samples=22016)
    cfg = BuildConfig(out=out, params=params, n_mixes=6, seed=1, guitar_dir=g, harmonic_dir=h, env_dir=e,
                      progress=False)
    build_dataset(cfg)
    err = [ln for ln in capsys.readouterr().err.splitlines() if "skipped" in ln]
    assert len(err) == 1 and "skipped 4 " in err[0]
    for name in ("empty.wav", "readme.wav", "truncated.wav", "broken.wav"):
        assert name in err[0]
    info = load_info(out)
    assert len(info["skipped_files"]) == 4 and not list(out.glob("sources/*"))
    rows = load_metadata(out)
    truth = {"steel_A2.wav": 110.0 * 2 ** (7 / 1200), "take1.wav": 196.0, "take2.flac": 146.9}
    sources = {}
    for mix, clean, noise, r in iter_examples(out):
        assert np.array_equal(mix, clean + noise) and abs(snr_db(clean, noise) - r["snr_db"]) < 0.05
        name = Path(r["guitar_file"]).name
        sources[name] = r["f0_source"]
        true_f0 = truth[name] * r["detune_ratio"]
        tol = 1e-6 if r["f0_source"] == "notes.csv" else 0.05
        assert abs(cents(r["f0_hz"], true_f0)) < tol, (name, r["f0_source"])
        assert abs(r["cents_off"]) < 50.0
        assert r["harmonic_file"] == "" or Path(r["harmonic_file"]).parent == h
    assert sources.get("take2.flac", "notes.csv") == "notes.csv"
    assert sources.get("steel_A2.wav", "filename+measured") == "filename+measured"
    assert sources.get("take1.wav", "measured") == "measured"
    assert len({r["guitar_recording"] for r in rows}) >= 2


def test_byo_all_guitar_files_bad_is_a_clear_error(tmp_path):
    g = tmp_path / "g"
    g.mkdir()
    (g / "a.wav").write_bytes(b"")
    e = tmp_path / "e"
    e.mkdir()
    import scipy.io.wavfile

    scipy.io.wavfile.write(e / "n.wav", 22050, np.ones(22050, np.float32) * 0.1)
    cfg = BuildConfig(out=tmp_path / "o", params=EDGE, guitar_dir=g, harmonic_dir=e, env_dir=e, progress=False)
    with pytest.raises(DataError, match="no usable guitar"):
        build_dataset(cfg)


# -- CLI --------------------------------------------------------------------------------------

def test_cli_help_dry_run_and_errors(tmp_path, capsys):
    from cleartune.cli import main

    with pytest.raises(SystemExit) as ex:
        main(["data", "build", "--help"])
    assert ex.value.code == 0 and "--snrs" in capsys.readouterr().out
    assert main(["data", "build", "--out", str(tmp_path / "x"), "--n-mixes", "2600", "--preset", "seed", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "estimated size" in text and "GB" in text and not (tmp_path / "x").exists()
    assert main(["data", "build", "--out", str(tmp_path / "y"), "--snr-min", "5", "--snr-max", "0"]) == 2
    assert "snr-min" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path / "nothing")]) == 2
    assert "not found" in capsys.readouterr().err


@needs_tools
def test_cli_info(tiny, capsys):
    from cleartune.cli import main

    out, _ = tiny
    assert main(["data", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "10 mixes" in text and "train" in text and "SNR check" in text
