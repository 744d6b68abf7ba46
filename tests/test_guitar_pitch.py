"""The guitar-pitch model: one feature code for training and the edge, the one-step export
equals the unrolled training model, the int8 file loads through LiteRT with its sidecar
checked, and a tiny trained model names the note of a synthetic string."""
import json
import shutil

import numpy as np
import pytest

from cleartune.edge.errors import ModelLoadError, ParamsMismatchError
from cleartune.edge.guitar_features import GuitarFeatureParams, StreamingFeatures, feature_params_for, reading_end_samples, signal_features
from cleartune.train.pitch_data import load_pitch_set, reading_labels
from cleartune.train.toyset import make_toy_dataset

# slow under load (a shared 2-core machine took up to ~105 s for one test here); a hang still fails
pytestmark = pytest.mark.timeout(600)

CLIP = 16384
TINY = dict(channels=8, local=4, hidden=4, head=8)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_dataset(tmp_path_factory.mktemp("gp_toy"), n=48, seed=2, clip_samples=CLIP,
                            snrs=(float("inf"),), splits=(0.85, 0.15))


def test_features_train_cache_equal_edge_streaming(toy):
    """The cached training features of a clip are what the edge runtime computes reading by
    reading from the raw samples (float16 cache: 1e-3)."""
    from cleartune.train.data.dataset import load_example

    fp = feature_params_for()
    ds = load_pitch_set(toy, split="train", fp=fp, max_examples=3)
    row = ds.rows[1]
    mix, _clean, _noise = load_example(toy, row)
    sf = StreamingFeatures(fp)
    ends = reading_end_samples(ds.n_readings, fp)
    edge = np.stack([sf.push(mix[max(0, e - fp.window):e]) for e in ends])
    assert edge.shape == ds.mix[1].shape == (CLIP // fp.reading_samples, fp.n_bins, 2)
    assert np.max(np.abs(edge - ds.mix[1].astype(np.float32))) < 1e-3
    assert np.array_equal(edge, signal_features(mix, fp))
    assert edge[..., 0].max() == 1.0 and edge[..., 1].max() > 0.5        # normalised spectrum; the pluck's onset


def test_features_ignore_level_and_read_silence_as_zero():
    fp = feature_params_for()
    rng = np.random.default_rng(0)
    t = np.arange(8 * fp.reading_samples) / fp.sample_rate
    x = sum(np.sin(2 * np.pi * 196.0 * k * t) / k for k in range(1, 8)) * 0.3 + rng.standard_normal(t.size) * 1e-3
    a, b = signal_features(x, fp), signal_features(x * 0.01, fp)     # -40 dB: still above floor_dbfs
    assert np.max(np.abs(a[:, :, 0] - b[:, :, 0])) < 1e-4
    assert np.max(np.abs(a[1:] - b[1:])) < 1e-4       # (the first onset is a rise above digital silence)
    assert not signal_features(np.zeros(4 * fp.reading_samples), fp).any()


def test_feature_params_come_from_the_tracker():
    from cleartune.edge.params import EDGE

    try:
        from cleartune.edge.pitch_params import PitchParams
    except ImportError:
        from cleartune.edge.pitch import PitchParams
    fp = feature_params_for(EDGE)
    assert fp.reading_samples == PitchParams().reading_hops * EDGE.hop
    assert fp.sample_rate == EDGE.sample_rate
    assert fp.pitch_midi()[0] <= 35 and fp.pitch_midi()[-1] >= 88          # B1 .. E6
    assert GuitarFeatureParams.from_dict(fp.to_dict()) == fp


def test_labels_follow_onset_and_decay():
    fp = feature_params_for()
    sr = fp.sample_rate
    n = 40 * fp.reading_samples
    t = np.arange(n) / sr
    onset = 0.3
    clean = np.where(t >= onset, np.exp(-(t - onset) * 6.0) * np.sin(2 * np.pi * 110 * t), 0.0)
    lab = reading_labels(clean, f0_hz=110.0, onset_s=onset, fp=fp)
    te = reading_end_samples(len(lab), fp) / sr
    assert np.isnan(lab[te < onset]).all()
    assert np.allclose(lab[(te > onset + 0.05) & (te < onset + 0.5)], 45.0, atol=1e-4)
    assert np.isnan(lab[-1])                           # 6 /s decay: 35 dB down after ~0.7 s


# -- TensorFlow ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf_mod():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return pytest.importorskip("tensorflow")


@pytest.mark.tf
def test_step_model_equals_unrolled_training_model(tf_mod):
    from cleartune.train.pitch_model import PitchLayers, PitchModelConfig, build_step_model
    from cleartune.train.pitch_training import run_step_model

    fp = feature_params_for()
    tf_mod.keras.utils.set_random_seed(1)
    pl = PitchLayers(fp, PitchModelConfig(**TINY))
    step = build_step_model(pl)
    x = np.random.default_rng(0).random((2, 10, fp.n_bins, 2)).astype(np.float32)
    logits, _ = pl.unroll(tf_mod.constant(x))
    want = tf_mod.nn.softmax(logits).numpy()
    for b in range(2):
        got = run_step_model(step, x[b], hidden=pl.state_size)
        assert np.allclose(got, want[b], atol=1e-5)
    # the state matters: restarting it at every reading gives other outputs
    fresh = np.stack([run_step_model(step, x[0][i:i + 1], hidden=pl.state_size)[0] for i in range(10)])
    assert np.max(np.abs(fresh[1:] - want[0][1:])) > 1e-3


@pytest.fixture(scope="module")
def trained(toy, tf_mod, tmp_path_factory):
    from cleartune.quantize.guitar_pitch import export_int8
    from cleartune.train.pitch_model import PitchModelConfig
    from cleartune.train.pitch_training import PitchTrainConfig, train_pitch

    run = tmp_path_factory.mktemp("gp_run")
    cfg = PitchTrainConfig(epochs=8, batch_size=8, learning_rate=1e-2, model=PitchModelConfig(**TINY))
    train_pitch(toy, run, cfg, threads=1, log=lambda s: None)
    tfl = export_int8(run / "model.keras", data_dir=toy, out_path=run / "gp_int8.tflite", n_clips=8, log=lambda s: None)
    return run, tfl


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.timeout(900)         # trains the tiny model (module fixture): ~1-3 min on 2 shared cores
def test_int8_model_loads_with_sidecar_checks(trained, tmp_path):
    from cleartune.edge.guitar_model import GuitarPitchModel
    from cleartune.quantize import tflite_info

    _run, tfl = trained
    info = tflite_info.inspect_tflite(tfl)
    tflite_info.check_int8(info)
    m = GuitarPitchModel(tfl)
    fp = m.fp
    assert m.model.is_quantized and m.state_size == fp.n_pitch * TINY["hidden"]
    rng = np.random.default_rng(0)
    s0 = m.step(rng.standard_normal(fp.window) * 0.1).copy()
    assert s0.shape == (fp.n_pitch + 1,) and abs(s0.sum() - 1.0) < 0.05
    h1 = m.state
    m.step(rng.standard_normal(fp.window) * 0.1)
    assert np.any(h1 != 0) and np.any(m.state != h1)
    m.reset()
    assert not m.state.any()

    def edited(name, change):
        d = tmp_path / name
        d.mkdir()
        p = d / tfl.name
        shutil.copyfile(tfl, p)
        side = json.loads(tfl.with_suffix(".json").read_text())
        change(side)
        p.with_suffix(".json").write_text(json.dumps(side))
        return p

    with pytest.raises(ParamsMismatchError, match="window"):
        GuitarPitchModel(edited("feat", lambda s: s["extra"]["guitar_features"].update(window=2048)))
    with pytest.raises(ParamsMismatchError, match="n_fft"):
        GuitarPitchModel(edited("sig", lambda s: s["signal_params"].update(n_fft=2048)))
    with pytest.raises(ModelLoadError, match="kind"):
        GuitarPitchModel(edited("kind", lambda s: s.update(kind="mask")))
    bad = edited("sha", lambda s: None)
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(ModelLoadError, match="sha256"):
        GuitarPitchModel(bad)


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_trained_tiny_model_names_a_synthetic_string(trained):
    """int8 model through the edge runtime (pipeline.guitar_salience): silence before the
    pluck reads "no guitar", the settled reading names the string's note."""
    from cleartune.edge.guitar_model import GuitarPitchModel, note_of
    from cleartune.edge.pipeline import guitar_salience
    from cleartune.train.synth import plucked_string

    _run, tfl = trained
    m = GuitarPitchModel(tfl)
    fp = m.fp
    onset = 0.2
    for midi in (45, 57, 64):
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        tone = plucked_string(f0, sample_rate=fp.sample_rate, duration=1.2, onset_s=onset, seed=midi)
        x = np.asarray(tone.audio, np.float64)
        t, sal = guitar_salience(x, model=m)
        assert sal[0].argmax() == fp.no_guitar_index                   # before the pluck
        sel = (t >= onset + 0.15) & (t <= onset + 0.8)
        notes = [note_of(s, fp).midi for s in sal[sel]]
        assert int(np.median(notes)) == midi, (midi, notes)
        assert np.mean(np.array(notes) == midi) >= 0.8


def test_eval_metrics_keeps_each_systems_figures():
    """The sidecar summary takes the named system's settled figures, keyed by the data folder."""
    from cleartune.train.pitch_training import eval_metrics

    res = {"data": "data/v2_eval", "float_int8_argmax_within_1_bin": 0.97891,
           "table": {"clean": {"float_settled": 96.25, "int8_settled": 92.5},
                     "all": {"float_settled": 90.5, "int8_settled": 90.2}}}
    assert eval_metrics(res, system="int8", command="c") == {
        "v2_eval_settled_pct": {"clean": 92.5, "all": 90.2},
        "v2_eval_float_int8_argmax_within_1_bin": 0.9789, "v2_eval_command": "c"}
    assert eval_metrics(res, system="float", command="c")["v2_eval_settled_pct"] == {"clean": 96.2, "all": 90.5}


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_evaluate_writes_each_systems_figures_into_its_sidecar(trained, toy, tmp_path):
    """``evaluate --write-metrics`` (what make model runs): the float figures go into the float
    model's sidecar, the int8 figures into the int8 model's, with the command; both still load."""
    from cleartune.edge.guitar_model import GuitarPitchModel
    from cleartune.edge.model_meta import load_meta
    from cleartune.train.pitch_training import main

    run, tfl = trained
    d = tmp_path / "m"
    d.mkdir()
    for p in (run / "model.keras", tfl):
        shutil.copyfile(p, d / p.name)
        shutil.copyfile(p.with_suffix(".json"), d / p.with_suffix(".json").name)
    keras, int8 = d / "model.keras", d / tfl.name
    argv = ["evaluate", str(keras), "--int8", str(int8), "--data", str(toy), "--split", "train",
            "--max-clips", "6", "--out", str(tmp_path / "eval"), "--write-metrics"]
    assert main(argv) == 0
    res = json.loads((tmp_path / "eval" / "report.json").read_text())
    key = f"{toy.name}_settled_pct"
    for path, system in ((keras, "float"), (int8, "int8")):
        m = load_meta(path).metrics
        assert m[key] == {g: round(r[f"{system}_settled"], 1) for g, r in res["table"].items()}
        assert "--write-metrics" in m[f"{toy.name}_command"]
    assert load_meta(int8).metrics[key]["all"] == round(res["table"]["all"]["int8_settled"], 1)
    GuitarPitchModel(int8)  # the checksum still holds: the model file is untouched
