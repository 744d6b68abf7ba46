"""Training and model-alone evaluation of the guitar-pitch model (int8 export: quantize/guitar_pitch.py).

    cleartune train --preset pitch --data DATA --out RUN --epochs N     # -> RUN/model.keras (+ .json)
    python -m cleartune.quantize.guitar_pitch RUN/model.keras --data DATA --out edge/models/guitar_pitch_int8.tflite
    python -m cleartune.train.pitch_training evaluate RUN/model.keras [--int8 X.tflite] --data EVAL --split test --out DIR

Training unrolls the recurrent model over whole clips (every reading of a clip, the state
starting at zero as at the runtime's reset) with softmax cross-entropy against soft pitch
targets / "no guitar" (:mod:`cleartune.train.pitch_data`).  Adam, cosine decay; batches are
a pure function of (seed, epoch, step) and TF ops are deterministic, so a run is
reproducible given its seed; a checkpoint (weights, optimizer, history) is written
atomically after every epoch and a rerun of the same command resumes after it.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from cleartune.edge.errors import CleartuneError, DataError
from cleartune.edge.fileio import atomic_write_text
from cleartune.edge.guitar_features import GuitarFeatureParams, feature_params_for
from cleartune.edge.model_meta import ModelMeta, load_meta
from cleartune.edge.params import EDGE
from cleartune.train.pitch_model import MAX_MACS_PER_CALL, PitchModelConfig
from cleartune.train.plots import atomic_savefig

KIND = "guitar-pitch"
#: The first right reading must come this soon after the pluck [s] (issue 12).
FIRST_RIGHT_S = 0.15
CHECKPOINT = "checkpoint.npz"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
CURVE_FILE = "training_curve.png"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class PitchTrainConfig:
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 2e-3
    seed: int = 0
    max_examples: Optional[int] = None
    steps_per_epoch: Optional[int] = None
    schedule_epochs: Optional[int] = None
    clean_fraction: float = 0.1
    noise_fraction: float = 0.15
    val_examples: int = 256
    clip_norm: float = 1.0
    model: PitchModelConfig = field(default_factory=PitchModelConfig)
    model_version: Optional[str] = None

    def resolved(self) -> "PitchTrainConfig":
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch size must be >= 1")
        return dataclasses.replace(self, model_version=self.model_version or f"guitar-pitch-v1-s{self.seed}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PitchTrainConfig":
        d = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        d["model"] = PitchModelConfig.from_dict(d.get("model", {}))
        return cls(**d)

    def identity(self) -> dict[str, Any]:
        d = self.to_dict()
        for k in ("epochs", "schedule_epochs", "model_version", "val_examples"):
            d.pop(k)
        return d


def _setup_tf(threads: int = 2):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    return tf


def reading_accuracy(probs: np.ndarray, target: np.ndarray, fp: GuitarFeatureParams) -> dict[str, float]:
    """Per reading: ``note`` = share of guitar readings whose argmax (over all classes) names
    the true note; ``pitch`` = the same over the pitch bins only; ``none`` = share of
    no-guitar readings whose argmax is "no guitar"."""
    p = np.asarray(probs).reshape(-1, fp.n_pitch + 1)
    t = np.asarray(target).reshape(-1)
    g = np.isfinite(t)
    am = p.argmax(-1)
    ap = p[:, : fp.n_pitch].argmax(-1)
    mids = np.round(fp.pitch_midi()).astype(int)
    tn = np.round(np.where(g, t, 0)).astype(int)
    note = g & (am < fp.n_pitch) & (mids[np.minimum(am, fp.n_pitch - 1)] == tn)
    pitch = g & (mids[ap] == tn)
    return {"note": float(note.sum() / max(g.sum(), 1)), "pitch": float(pitch.sum() / max(g.sum(), 1)),
            "none": float(((am == fp.n_pitch) & ~g).sum() / max((~g).sum(), 1))}


def _plot_history(history: dict[str, list], path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ep = history.get("epoch", [])
    for key, style in (("loss", "-o"), ("val_loss", "-s")):
        if history.get(key):
            axes[0].plot(ep[: len(history[key])], history[key], style, ms=3, label=key)
    axes[0].set_yscale("log")
    axes[0].set_title("cross-entropy", fontsize=9)
    for key in ("val_note", "val_pitch", "val_none"):
        if history.get(key):
            axes[1].plot(ep[: len(history[key])], history[key], "-o", ms=3, label=key)
    axes[1].set_title("validation per reading (mix)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def _save_ckpt(path: Path, pl, opt, state: dict) -> None:
    arrays = {f"w{i:04d}": np.asarray(w) for i, w in enumerate(pl.get_weights())}
    arrays.update({f"o{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(opt.variables)})
    arrays["state"] = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_ckpt_state(path: Path) -> Optional[dict]:
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            return json.loads(bytes(z["state"]).decode())
    except Exception as e:
        raise CleartuneError(f"{path}: unreadable checkpoint ({type(e).__name__}); delete it to start over") from None


def _restore(path: Path, pl, opt) -> None:
    with np.load(path) as z:
        ws = [z[k] for k in sorted(k for k in z.files if k.startswith("w"))]
        os_ = [z[k] for k in sorted(k for k in z.files if k.startswith("o"))]
    pl.set_weights(ws)
    if len(os_) != len(opt.variables):
        raise CleartuneError(f"{path}: optimizer state does not fit the model; delete it to start over")
    for v, a in zip(opt.variables, os_):
        v.assign(a)


def sidecar(cfg: PitchTrainConfig, *, fp: GuitarFeatureParams, cost, metrics: dict, command: str,
            data_info: dict, dtype: str = "keras") -> ModelMeta:
    nf = fp.n_bins * fp.channels
    h = fp.n_pitch * cfg.model.hidden
    return ModelMeta(
        preset="edge", kind=KIND, signal_params=EDGE, context_frames=0, model_version=cfg.model_version or "dev",
        dtype=dtype,
        input={"shape": [1, nf + h], "dtype": "float32",
               "meaning": f"[guitar_features (n_bins={fp.n_bins}, 2) ravelled, "
                          f"GRU state (n_pitch={fp.n_pitch}, {cfg.model.hidden}) ravelled]"},
        output={"shape": [1, fp.n_pitch + 1 + h], "dtype": "float32",
                "meaning": f"[salience softmax over {fp.n_pitch} pitch bins (MIDI pitch_lo + j/bins_per_semitone) "
                           f"+ 'no guitar' (last), new GRU state (n_pitch, {cfg.model.hidden}) ravelled]"},
        macs_per_inference=int(cost.macs), params=int(cost.params), metrics=metrics, created=_now(), command=command,
        extra={"guitar_features": fp.to_dict(), "state_size": h, "model_config": cfg.model.to_dict(),
               "train_config": cfg.to_dict(), "data": data_info, "calls_per_second": fp.sample_rate / fp.reading_samples,
               "macs_per_second": int(cost.macs * fp.sample_rate / fp.reading_samples),
               "algorithmic_latency_s": fp.reading_s},
    )


def train_pitch(data_dir, out_dir, cfg: PitchTrainConfig, *, command: str = "", threads: int = 2,
                log: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Train (or resume) the guitar-pitch model; writes model.keras + model.json (the one-step
    export model), checkpoint.npz, history.json, training_curve.png into ``out_dir``."""
    cfg = cfg.resolved()
    say = log or (lambda s: print(s, flush=True))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CHECKPOINT
    state = _load_ckpt_state(ckpt)
    if state is not None:
        stored = PitchTrainConfig.from_dict(state["config"]).identity()
        if stored != cfg.identity():
            diff = sorted(k for k in stored if stored[k] != cfg.identity().get(k))
            raise CleartuneError(f"{out} holds a checkpoint of another configuration (differs in {', '.join(diff)}); "
                                 f"use another --out or delete {ckpt}")
        if state["epoch"] >= cfg.epochs and (out / MODEL_FILE).is_file():
            say(f"{out}: already trained for {state['epoch']} epochs (ask for more with --epochs)")
            return {"epochs_done": state["epoch"], "history": state["history"], "model": str(out / MODEL_FILE)}

    from cleartune.train.pitch_data import ClipSampler, load_pitch_set

    fp = feature_params_for(EDGE)

    def prog(i, n):
        if i == n or i % 200 == 0:
            say(f"  features {i}/{n}")

    train_set = load_pitch_set(data_dir, split="train", fp=fp, max_examples=cfg.max_examples, seed=cfg.seed, progress=prog)
    try:
        val_set = load_pitch_set(data_dir, split="val", fp=fp, max_examples=cfg.val_examples, seed=cfg.seed, progress=prog)
    except DataError:
        say("warning: no val split; validating on training clips")
        val_set = train_set
    tf = _setup_tf(threads)                       # after the data checks: a bad folder fails fast
    import keras

    from cleartune.train.pitch_model import PitchLayers, build_step_model
    from cleartune.train.pitch_model import cost as model_cost

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    pl = PitchLayers(fp, cfg.model)
    c = model_cost(pl)
    if c.macs > MAX_MACS_PER_CALL:
        raise CleartuneError(f"model needs {c.macs:,} MAC per call, over the budget of {MAX_MACS_PER_CALL:,}")
    say(c.table())
    sampler = ClipSampler(train_set, batch_size=cfg.batch_size, seed=cfg.seed, clean_fraction=cfg.clean_fraction,
                          noise_fraction=cfg.noise_fraction)
    steps = cfg.steps_per_epoch or sampler.steps_per_epoch()
    total = steps * (cfg.schedule_epochs or cfg.epochs)
    sched = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=total, alpha=0.05)
    opt = keras.optimizers.Adam(sched, global_clipnorm=cfg.clip_norm)
    opt.build(pl.trainable_variables)
    history: dict[str, list] = {"epoch": [], "loss": [], "val_loss": [], "val_note": [], "val_pitch": [], "val_none": [],
                                "seconds": []}
    start = 0
    if state is not None:
        _restore(ckpt, pl, opt)
        history, start = state["history"], int(state["epoch"])
        say(f"resuming after epoch {start}")
    variables = pl.trainable_variables

    @tf.function(reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits, _ = pl.unroll(x, training=True)
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits))
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
        return loss

    @tf.function(reduce_retracing=True)
    def predict(x):
        logits, _ = pl.unroll(x)
        return logits

    from cleartune.train.pitch_data import soft_targets

    def validate() -> dict[str, float]:
        losses, probs = [], []
        for i in range(0, len(val_set), 32):
            x = np.asarray(val_set.mix[i:i + 32], np.float32)
            y = soft_targets(val_set.target[i:i + 32], fp)
            lg = predict(tf.constant(x)).numpy()
            losses.append(float(tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, lg))) * len(x))
            probs.append(tf.nn.softmax(lg).numpy())
        acc = reading_accuracy(np.concatenate(probs), val_set.target, fp)
        return {"val_loss": sum(losses) / len(val_set), **{f"val_{k}": v for k, v in acc.items()}}

    data_info = {"dir": str(data_dir), "train_mixes": len(train_set), "val_mixes": len(val_set),
                 "readings_per_clip": train_set.n_readings}
    say(f"training: {len(train_set)} clips x {train_set.n_readings} readings, {steps} steps of {cfg.batch_size} per epoch, "
        f"epochs {start + 1}..{cfg.epochs}")
    try:
        for epoch in range(start, cfg.epochs):
            t0 = time.time()
            tot = 0.0
            for s in range(steps):
                x, y = sampler.batch(epoch, s)
                tot += float(train_step(tf.constant(x), tf.constant(y)))
                if (s + 1) % max(1, steps // 10) == 0 or s + 1 == steps:
                    say(f"  epoch {epoch + 1} step {s + 1}/{steps} loss {tot / (s + 1):.4f} ({time.time() - t0:.0f} s)")
            v = validate()
            history["epoch"].append(epoch + 1)
            history["loss"].append(tot / steps)
            for k in ("val_loss", "val_note", "val_pitch", "val_none"):
                history[k].append(v[k])
            history["seconds"].append(time.time() - t0)
            say(f"epoch {epoch + 1}/{cfg.epochs}: loss {tot / steps:.4f} val_loss {v['val_loss']:.4f} "
                f"val note {v['val_note']:.3f} pitch {v['val_pitch']:.3f} none {v['val_none']:.3f} "
                f"({time.time() - t0:.0f} s)")
            _save_ckpt(ckpt, pl, opt, {"epoch": epoch + 1, "config": cfg.to_dict(), "history": history})
            atomic_write_text(out / HISTORY_FILE, json.dumps(history, indent=1) + "\n")
            _plot_history(history, out / CURVE_FILE, title=f"guitar-pitch {cfg.model_version}")
    except KeyboardInterrupt:
        say(f"interrupted: the last whole epoch is in {ckpt}; rerun the same command to resume")
        raise
    metrics = {k: history[k][-1] for k in ("val_loss", "val_note", "val_pitch", "val_none")} if history["epoch"] else {}
    step = build_step_model(pl)
    meta = sidecar(cfg, fp=fp, cost=c, metrics=metrics, command=command, data_info=data_info)
    mp = out / MODEL_FILE
    tmp = out / ".model.partial.keras"
    step.save(tmp)
    os.replace(tmp, mp)
    meta.save_for(mp)
    say(f"wrote {mp} ({c.params:,} parameters, {c.macs:,} MAC per call)")
    return {"epochs_done": cfg.epochs, "history": history, "model": str(mp), "metrics": metrics}


# -- the step model and its int8 export -----------------------------------------------------------

def load_step(model_path):
    """``(keras step model, ModelMeta, GuitarFeatureParams)`` of a trained ``.keras``."""
    _setup_tf()
    import keras

    meta = load_meta(model_path, expected=EDGE)
    if meta.kind != KIND:
        raise CleartuneError(f"{model_path}: kind {meta.kind!r}, not {KIND}")
    fp = GuitarFeatureParams.from_dict(meta.extra["guitar_features"])
    return keras.models.load_model(model_path, compile=False), meta, fp


def run_step_model(step, feats: np.ndarray, *, hidden: int, h0: Optional[np.ndarray] = None,
                   collect: Optional[list] = None) -> np.ndarray:
    """Run the one-step Keras model over the readings ``feats`` (T, n_bins, 2) carrying the
    state: ``(T, n_pitch + 1)`` salience.  ``collect`` receives the step inputs."""
    import tensorflow as tf

    h = np.zeros((1, hidden), np.float32) if h0 is None else h0
    outs = []
    fn = tf.function(lambda x: step(x, training=False))
    for f in feats:
        x = np.concatenate([np.asarray(f, np.float32).ravel()[None], h], axis=1)
        if collect is not None:
            collect.append(x[0])
        y = fn(tf.constant(x)).numpy()
        n = y.shape[1] - hidden
        outs.append(y[0, :n])
        h = y[:, n:]
    return np.stack(outs)


# -- evaluation of the model alone ---------------------------------------------------------------

def _clip_scores(probs: np.ndarray, row: dict, target: np.ndarray, fp: GuitarFeatureParams) -> dict[str, Any]:
    from cleartune.train.measures import score_clip

    n = probs.shape[0]
    t = (np.arange(n) + 1) * fp.reading_samples / fp.sample_rate
    j = probs[:, : fp.n_pitch].argmax(-1)
    mids = fp.pitch_midi()[j]
    f0 = 440.0 * 2.0 ** ((mids - 69.0) / 12.0)
    notes = np.round(mids)
    s = score_clip(t, f0, true_f0=float(row["f0_hz"]), onset_s=row.get("onset_s"), notes=notes)
    acc = reading_accuracy(probs, target, fp)
    on = float(row.get("onset_s") or 0.0)
    early = (t > on) & (t <= on + FIRST_RIGHT_S)
    first = bool(on >= 0 and np.any(notes[early] == round(69 + 12 * math.log2(float(row["f0_hz"]) / 440.0))))
    return {"first_right": first, "first_n": bool(on >= 0 and early.any()),
            "settled_right": s["settled"]["right"], "settled_voiced": s["settled"]["voiced"],
            "settled_octave": s["settled"]["octave"], "reading_right": s["right"], "readings": s["n"],
            "note_acc": acc["note"], "n_guitar": int(np.isfinite(target).sum())}


def evaluate(model_path, *, data_dir, split: str = "test", out_dir=None, int8_path=None, max_clips: Optional[int] = None,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """The model alone on a split: per clip the settled note (median of the argmax-pitch
    readings 0.4-1.6 s after the pluck, :func:`cleartune.train.measures.score_clip`) and per
    reading accuracy, by SNR bucket and noise type; float Keras and (``int8_path``) the int8
    TFLite run by the edge runtime; their agreement.  Writes report.md / report.json."""
    import tensorflow as tf

    from cleartune.edge.guitar_model import GuitarPitchModel
    from cleartune.train.data.dataset import load_example
    from cleartune.train.measures import bucket_sort_key, snr_bucket
    from cleartune.train.pitch_data import load_pitch_set, noise_type

    step, meta, fp = load_step(model_path)
    ds = load_pitch_set(data_dir, split=split, fp=fp, max_examples=max_clips)
    from cleartune.train.pitch_model import PitchLayers

    pl = PitchLayers(fp, PitchModelConfig.from_dict(meta.extra["model_config"]))
    pl.set_weights(_weights_from_step(step))
    predict = tf.function(lambda x: pl.unroll(x)[0])
    systems = {"float": []}
    int8 = GuitarPitchModel(int8_path) if int8_path else None
    if int8:
        systems["int8"] = []
    agree, agree_n, maxdiff = 0, 0, 0.0
    for i0 in range(0, len(ds), 16):
        x = np.asarray(ds.mix[i0:i0 + 16], np.float32)
        pf = tf.nn.softmax(predict(tf.constant(x))).numpy()
        for k in range(len(x)):
            i = i0 + k
            row = ds.rows[i]
            systems["float"].append(_clip_scores(pf[k], row, ds.target[i], fp))
            if int8:
                from cleartune.edge.guitar_model import salience_readings

                mix, _c, _n = load_example(data_dir, row)
                pq = salience_readings(int8, mix)
                systems["int8"].append(_clip_scores(pq, row, ds.target[i], fp))
                a, b = pf[k].argmax(-1), pq.argmax(-1)
                agree += int((np.abs(a - b) <= 1).sum())
                agree_n += len(a)
                maxdiff = max(maxdiff, float(np.abs(pf[k] - pq).max()))
        log(f"  evaluated {min(i0 + 16, len(ds))}/{len(ds)}")
    groups: dict[str, list[int]] = {"all": list(range(len(ds)))}
    for i, r in enumerate(ds.rows):
        groups.setdefault(snr_bucket(r.get("snr_db")), []).append(i)
        groups.setdefault("noise: " + noise_type(r), []).append(i)
        for hk in ("hard_case", "case"):
            if r.get(hk):
                groups.setdefault(f"case: {r[hk]}", []).append(i)
    order = sorted(groups, key=lambda g: (g.startswith("noise"), g.startswith("case"),
                                          bucket_sort_key(g) if not g.startswith(("noise", "case")) else (0, 0), g))
    table: dict[str, dict[str, Any]] = {}
    for g in order:
        idx = groups[g]
        table[g] = {"clips": len(idx)}
        for name, sc in systems.items():
            s = [sc[i] for i in idx]
            table[g][f"{name}_settled"] = 100.0 * sum(x["settled_right"] for x in s) / max(len(s), 1)
            table[g][f"{name}_octave"] = sum(x["settled_octave"] for x in s)
            nf = sum(x["first_n"] for x in s)
            table[g][f"{name}_first"] = 100.0 * sum(x["first_right"] for x in s) / max(nf, 1)
            tot = sum(x["readings"] for x in s)
            table[g][f"{name}_reading"] = 100.0 * sum(x["reading_right"] for x in s) / max(tot, 1)
    res = {"model": str(model_path), "int8": str(int8_path) if int8_path else None, "data": str(data_dir), "split": split,
           "clips": len(ds), "table": table, "created": _now(),
           "float_int8_argmax_within_1_bin": (agree / agree_n) if agree_n else None,
           "float_int8_max_abs_prob_diff": maxdiff if int8 else None}
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "report.json", json.dumps(res, indent=1) + "\n")
        atomic_write_text(out / "report.md", report_markdown(res) + "\n")
    return res


def eval_metrics(res: dict[str, Any], *, system: str, command: str) -> dict[str, Any]:
    """The sidecar's summary of an :func:`evaluate` result for one system ("float" or "int8"):
    ``<data>_settled_pct`` per group, the float/int8 agreement and the command, keyed by the
    evaluation set's folder name (e.g. ``v2_eval_settled_pct``)."""
    name = Path(res["data"]).name
    m: dict[str, Any] = {f"{name}_settled_pct": {g: round(r[f"{system}_settled"], 1) for g, r in res["table"].items()}}
    if res.get("float_int8_argmax_within_1_bin") is not None:
        m[f"{name}_float_int8_argmax_within_1_bin"] = round(res["float_int8_argmax_within_1_bin"], 4)
    m[f"{name}_command"] = command
    return m


def report_markdown(res: dict[str, Any]) -> str:
    names = ["float"] + (["int8"] if res.get("int8") else [])
    head = "| group | clips | " + " | ".join(f"{n} settled % | {n} per reading % | {n} right within 150 ms % | {n} octave"
                                            for n in names) + " |"
    sep = "|---|---:|" + "---:|---:|---:|---:|" * len(names)
    lines = [f"Model alone on {res['data']} ({res['split']}, {res['clips']} clips): settled note = median of the "
             f"salience-argmax notes 0.4-1.6 s after the pluck; per reading from onset + 0.15 s; "
             f"right within 150 ms: a reading up to 0.15 s after the pluck names the note; octave: settled octave errors.", "", head, sep]
    for g, r in res["table"].items():
        cells = " | ".join(f"{r[f'{n}_settled']:.1f} | {r[f'{n}_reading']:.1f} | {r[f'{n}_first']:.1f} | {r[f'{n}_octave']}"
                           for n in names)
        lines.append(f"| {g} | {r['clips']} | {cells} |")
    if res.get("int8"):
        lines += ["", f"float vs int8: argmax within one bin on {100 * res['float_int8_argmax_within_1_bin']:.1f} % of "
                      f"readings; max |prob diff| {res['float_int8_max_abs_prob_diff']:.3f}"]
    return "\n".join(lines)


def _weights_from_step(step) -> list[np.ndarray]:
    """The (frontend, cell, head) weights inside a loaded one-step model, in PitchLayers order."""
    out = []
    for name in ("frontend", "cell", "head"):
        out.extend(step.get_layer(name).get_weights())
    return out


# -- command line ---------------------------------------------------------------------------------

def config_from_args(args) -> PitchTrainConfig:
    kw: dict[str, Any] = {"epochs": args.epochs, "seed": args.seed}
    for a, k in (("batch_size", "batch_size"), ("learning_rate", "learning_rate"), ("max_examples", "max_examples"),
                 ("steps_per_epoch", "steps_per_epoch"), ("schedule_epochs", "schedule_epochs"),
                 ("model_version", "model_version")):
        v = getattr(args, a, None)
        if v is not None:
            kw[k] = v
    mc = {}
    if getattr(args, "channels", None):
        mc["channels"] = args.channels
    return PitchTrainConfig(model=PitchModelConfig(**mc), **kw)


def run_train_cli(args) -> int:
    cfg = config_from_args(args)
    command = " ".join(shlex.quote(a) for a in ["cleartune"] + sys.argv[1:])
    s = train_pitch(args.data, args.out, cfg, command=command, threads=getattr(args, "threads", 2) or 2)
    m = s.get("metrics") or {}
    if m:
        print(f"done: {s['epochs_done']} epochs, val per-reading note accuracy {m.get('val_note', float('nan')):.3f} -> {s['model']}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cleartune.train.pitch_training",
                                 description="model-alone evaluation of the guitar-pitch model")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("evaluate", help="the model alone on a split: settled note and per reading, by SNR and noise type")
    v.add_argument("model")
    v.add_argument("--int8", default=None, help="also run this .tflite through the edge runtime")
    v.add_argument("--data", required=True)
    v.add_argument("--split", default="test")
    v.add_argument("--max-clips", type=int, default=None)
    v.add_argument("--out", required=True)
    v.add_argument("--write-metrics", action="store_true",
                   help="store the settled figures in the models' sidecars (float figures in the float model's, "
                        "int8 figures in the int8 model's)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "evaluate":
            res = evaluate(args.model, data_dir=args.data, split=args.split, out_dir=args.out, int8_path=args.int8,
                           max_clips=args.max_clips)
            print(report_markdown(res))
            if args.write_metrics:
                command = " ".join(shlex.quote(a) for a in ["python", "-m", "cleartune.train.pitch_training"]
                                   + list(sys.argv[1:] if argv is None else argv))
                from cleartune.edge.model_meta import add_metrics

                for path, system in ((args.model, "float"), (args.int8, "int8")):
                    if path:
                        add_metrics(path, eval_metrics(res, system=system, command=command))
    except CleartuneError as err:
        print(f"pitch_training: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
