"""Training the denoiser: a ``tf.distribute`` custom loop with per-epoch atomic checkpoints.

``train(data_dir, out_dir, config)`` trains the ``seed`` or ``edge`` preset on a dataset
folder and writes to ``out_dir``:

    model.keras, model.json     the model (fixed batch 1 input, what is exported) and its sidecar
    history.json, training_curve.png
    checkpoint.npz              model + optimizer state + history after the last whole epoch

Resuming: if ``out_dir`` holds a checkpoint of the same configuration, training continues
after its epoch (an interrupted run loses at most the epoch in progress; Ctrl-C and
SIGTERM stop cleanly).  Batches are a pure function of ``(seed, epoch, step)`` and ops are
deterministic (``tf.config.experimental.enable_op_determinism``), so a run is reproducible
given its seed, resumed or not.

Distribution: the default strategy on one machine; with ``TF_CONFIG`` set,
``MultiWorkerMirroredStrategy`` (every worker runs the same command; worker 0, or the
``chief``, writes the outputs; ``out_dir`` and the data must be on a shared filesystem).
Each worker draws the same global batches and the input pipeline shards them
(``AutoShardPolicy.DATA``), so N workers compute what one computes.  The loop is a
custom one (``strategy.run``) because ``Model.fit`` of Keras 3.15 fails under
``MultiWorkerMirroredStrategy`` (it reduces the input tuple and scalar metrics with
``axis=0``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from cleartune.edge.errors import CleartuneError, DataError
from cleartune.edge.fileio import atomic_write_text
from cleartune.edge.model_meta import ModelMeta
from cleartune.edge.params import SignalParams
from cleartune.edge.params import preset as preset_params
from cleartune.train.models import SEED_VARIANTS, VARIANTS, EdgeConfig
from cleartune.train.plots import atomic_savefig

CHECKPOINT = "checkpoint.npz"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
CURVE_FILE = "training_curve.png"

#: Defaults per preset: (batch size, learning rate, validation examples).
PRESET_DEFAULTS = {"edge": (128, 1e-3, 2048), "seed": (8, 2e-4, 16)}
#: Edge epochs sample each clip's frames once every this many hops on average.
EDGE_FRAME_STRIDE = 4


@dataclass
class TrainConfig:
    """What to train.  ``None`` fields take the preset's default."""

    preset: str = "edge"
    variant: str = "mask"
    epochs: int = 10
    batch_size: Optional[int] = None
    steps_per_epoch: Optional[int] = None
    max_examples: Optional[int] = None        # cap on training mixes (a fixed pseudo-random subset)
    seed: int = 0
    learning_rate: Optional[float] = None
    clean_fraction: float = 0.1
    gain_db: Optional[tuple[float, float]] = (-24.0, 6.0)
    eq_db: float = 6.0
    suppression_weight: float = 1.0
    clip_norm: Optional[float] = None         # Adam gradient clipping (global norm); None: off
    schedule_epochs: Optional[int] = None     # cosine decay length (default: epochs)
    val_examples: Optional[int] = None
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    model_version: Optional[str] = None

    def resolved(self) -> "TrainConfig":
        if self.preset not in PRESET_DEFAULTS:
            raise ValueError(f"unknown preset {self.preset!r}; choose seed or edge")
        allowed = SEED_VARIANTS if self.preset == "seed" else tuple(VARIANTS)
        if self.variant not in allowed:
            raise ValueError(f"variant {self.variant!r} is not available for the {self.preset} preset; choose one of {list(allowed)}")
        b, lr, nv = PRESET_DEFAULTS[self.preset]
        c = dataclasses.replace(self, batch_size=self.batch_size or b, learning_rate=self.learning_rate or lr,
                                val_examples=self.val_examples or nv,
                                model_version=self.model_version or f"{self.preset}-{self.variant}-s{self.seed}")
        if c.epochs < 1 or c.batch_size < 1:
            raise ValueError("epochs and batch size must be >= 1")
        if not 0.0 <= c.clean_fraction <= 1.0:
            raise ValueError("clean fraction must be in [0, 1]")
        return c

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["edge"] = self.edge.to_dict()
        d["gain_db"] = list(self.gain_db) if self.gain_db is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        d = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        d["edge"] = EdgeConfig.from_dict(d.get("edge", {}))
        if d.get("gain_db") is not None:
            d["gain_db"] = tuple(d["gain_db"])
        return cls(**d)

    def identity(self) -> dict[str, Any]:
        """Fields a resumed run must share with its checkpoint (all but epochs, the schedule
        length and the version)."""
        d = self.to_dict()
        for k in ("epochs", "schedule_epochs", "model_version"):
            d.pop(k)
        return d


# -- distribution ------------------------------------------------------------------------

@dataclass
class WorkerInfo:
    is_chief: bool = True
    index: int = 0
    count: int = 1


def worker_info() -> WorkerInfo:
    """Who this process is under ``TF_CONFIG`` (one chief, several workers)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return WorkerInfo()
    try:
        cfg = json.loads(raw)
        cluster, task = cfg.get("cluster", {}), cfg.get("task", {})
        ttype, index = task.get("type", "worker"), int(task.get("index", 0))
    except (ValueError, AttributeError, TypeError):
        raise CleartuneError("TF_CONFIG is not valid JSON with 'cluster' and 'task'") from None
    n = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    chief = ttype == "chief" or (ttype == "worker" and index == 0 and not cluster.get("chief"))
    return WorkerInfo(is_chief=chief, index=index, count=max(n, 1))


def make_strategy():
    """``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` is set, else the default strategy."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


# -- files -----------------------------------------------------------------------------------

_atomic_write_text = atomic_write_text


def save_checkpoint(path: Path, *, model, optimizer, state: dict[str, Any]) -> None:
    """Model weights, optimizer variables and ``state`` (JSON) in one ``.npz``, written atomically."""
    arrays = {f"w{i:04d}": np.asarray(w) for i, w in enumerate(model.get_weights())}
    arrays.update({f"o{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)})
    arrays["state"] = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_checkpoint_state(path: Path) -> Optional[dict[str, Any]]:
    """The state dict of a checkpoint, or None if there is none.  Raises on a corrupt file."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            return json.loads(bytes(z["state"]).decode())
    except Exception as e:
        raise CleartuneError(f"{path}: unreadable checkpoint ({type(e).__name__}); delete it to start over") from None


def load_checkpoint(path: Path, *, model, optimizer) -> dict[str, Any]:
    with np.load(path) as z:
        ws = [z[k] for k in sorted(k for k in z.files if k.startswith("w"))]
        os_ = [z[k] for k in sorted(k for k in z.files if k.startswith("o"))]
        state = json.loads(bytes(z["state"]).decode())
    model.set_weights(ws)
    if len(os_) != len(optimizer.variables):
        raise CleartuneError(f"{path}: optimizer state does not fit the model; delete it to start over")
    for v, a in zip(optimizer.variables, os_):
        v.assign(a)
    return state


class _Terminate(Exception):
    pass


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt in the main thread (so it stops like Ctrl-C)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# -- data ------------------------------------------------------------------------------------

def load_training_data(data_dir, cfg: TrainConfig, *, params: SignalParams, out_dir: Path, log: Callable[[str], None]):
    """Feature sets of the train and val splits (val falls back to train if empty)."""
    from cleartune.train.featcache import load_features

    def prog(i, n):
        if i == n or i % 200 == 0:
            log(f"  features {i}/{n}")

    train_fs = load_features(data_dir, split="train", params=params, max_examples=cfg.max_examples,
                             fallback_dir=out_dir, progress=prog)
    try:
        val_fs = load_features(data_dir, split="val", params=params, fallback_dir=out_dir, progress=prog)
    except DataError as e:
        if "no examples" not in str(e):
            raise
        log("warning: the dataset has no val split; validating on training examples")
        val_fs = train_fs
    return train_fs, val_fs


def make_samplers(train_fs, val_fs, cfg: TrainConfig):
    from cleartune.train.batches import EdgeSampler, SeedSampler

    if cfg.preset == "edge":
        tr = EdgeSampler(train_fs, variant=cfg.variant, context_frames=cfg.edge.context_frames,
                         batch_size=cfg.batch_size, seed=cfg.seed, clean_fraction=cfg.clean_fraction, gain_db=cfg.gain_db,
                         eq_db=cfg.eq_db)
        va = EdgeSampler(val_fs, variant=cfg.variant, context_frames=cfg.edge.context_frames,
                         batch_size=cfg.batch_size, seed=cfg.seed)
        steps = cfg.steps_per_epoch or max(1, math.ceil(len(train_fs) * train_fs.n_frames / (cfg.batch_size * EDGE_FRAME_STRIDE)))
    else:
        tr = SeedSampler(train_fs, variant=cfg.variant, batch_size=cfg.batch_size, seed=cfg.seed,
                         clean_fraction=cfg.clean_fraction)
        va = SeedSampler(val_fs, variant=cfg.variant, batch_size=cfg.batch_size, seed=cfg.seed)
        steps = cfg.steps_per_epoch or max(1, math.ceil(len(train_fs) / cfg.batch_size))
    return tr, va, steps


# -- the loop --------------------------------------------------------------------------------

def _history_plot(history: dict[str, list], path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ep = history.get("epoch", [])
    for ax, key in zip(axes, ("loss", "feat_mse")):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            ys = history.get(prefix + key, [])
            if ys:
                ax.plot(ep[: len(ys)], ys, style, ms=3, label=(prefix or "train_") + key)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[1].axhline(0.001, color="gray", ls="--", lw=0.8)
    axes[1].set_title("feature MSE (rho/100 in [-1,1]); seed target 0.001", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)


def build_model(cfg: TrainConfig, *, params: SignalParams, batch_size: Optional[int] = None):
    from cleartune.train.models import build

    return build(cfg.preset, variant=cfg.variant, params=params, edge_config=cfg.edge, batch_size=batch_size)


def sidecar_for(cfg: TrainConfig, *, params: SignalParams, cost, metrics: dict, command: str,
                data_info: dict) -> ModelMeta:
    """The :class:`ModelMeta` of a trained model (what its input and output mean included)."""
    nb = params.n_bins
    if cfg.preset == "edge":
        k = cfg.edge.context_frames
        two = cfg.variant in ("polar", "complex")
        in_shape = [1, k, nb, 2] if two else [1, k, nb]
        out_shape = [1, nb, 2] if two else [1, nb]
        kind = cfg.variant
    else:
        c = VARIANTS[cfg.variant][0]
        k = 0
        in_shape = out_shape = [1, nb, params.frames_per_clip, c]
        kind = f"seed-{cfg.variant}"
    meanings = {
        "mask": "ratio mask in [0, 1] for the newest frame; multiply the noisy complex frame spectrum",
        "magnitude": "clean rho / feature_max in [-1, 1] for the newest frame; use with the noisy phase",
        "polar": "clean [rho / feature_max, theta = phase / pi] for the newest frame",
        "complex": "power-law compressed clean [real, imag] (|S|**0.3 * exp(j angle S)) for the newest frame",
    }
    inputs = {
        "mask": "rho / feature_max of the last K frames (fixed dB range), newest last",
        "magnitude": "rho / feature_max of the last K frames (fixed dB range), newest last",
        "polar": "[rho / feature_max, theta] of the last K frames, newest last",
        "complex": "compressed [real, imag] of the last K frames, newest last",
    }
    if cfg.preset == "seed":
        inp = "per-clip scaled features image (n_bins, frames, C) / feature_max: rho" + (", theta" if cfg.variant == "polar" else "")
        outp = "clean features image in the same scaling"
    else:
        inp, outp = inputs[cfg.variant], meanings[cfg.variant]
    from cleartune.train.variants import COMPRESS

    return ModelMeta(
        preset=cfg.preset, kind=kind, signal_params=params, context_frames=k, model_version=cfg.model_version,
        dtype="keras", input={"shape": in_shape, "dtype": "float32", "meaning": inp},
        output={"shape": out_shape, "dtype": "float32", "meaning": outp},
        macs_per_inference=int(cost.macs), params=int(cost.params), metrics=metrics,
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        command=command,
        extra={"variant": cfg.variant, "train_config": cfg.to_dict(), "data": data_info, "compress": COMPRESS,
               "algorithmic_latency_s": params.frame_latency_s if cfg.preset == "edge" else None},
    )


def _data_info(data_dir, train_fs, val_fs) -> dict[str, Any]:
    info: dict[str, Any] = {"dir": str(data_dir), "train_mixes": len(train_fs), "val_mixes": len(val_fs),
                            "frames_per_mix": train_fs.n_frames}
    try:
        d = json.loads((Path(data_dir) / "dataset.json").read_text())
        for k in ("seed", "counts", "command", "generator", "build_time", "created"):
            if k in d:
                info[f"dataset_{k}"] = d[k]
    except (OSError, ValueError):
        pass
    return info


def train(data_dir, out_dir, config: TrainConfig, *, verbose: int = 1, command: str = "",
          log: Optional[Callable[[str], None]] = None,
          on_epoch_end: Optional[Callable[[int, dict], None]] = None) -> dict[str, Any]:
    """Train (or resume) and write the outputs listed in the module docstring.

    ``on_epoch_end(epoch, history)`` is called after each epoch's checkpoint is written.

    Returns a summary dict (``epochs_done``, ``history``, ``metrics``, ``model``, ``params``,
    ``macs``, ``resumed_from``).  Raises :class:`CleartuneError` for a mismatched
    checkpoint; ``KeyboardInterrupt`` on Ctrl-C/SIGTERM (the last whole epoch is saved)."""
    import keras
    import tensorflow as tf

    from cleartune.train.models import check_edge_budget, model_cost
    from cleartune.train.variants import make_feature_mse, make_loss

    cfg = config.resolved()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wi = worker_info()
    say = log or (lambda s: print(s, flush=True))
    if not wi.is_chief:
        verbose = 0
        say = (lambda s: None) if log is None else log
    params = preset_params(cfg.preset)
    ckpt_path = out / CHECKPOINT

    state = read_checkpoint_state(ckpt_path)
    if state is not None:
        stored = TrainConfig.from_dict(state["config"]).identity()
        if stored != cfg.identity():
            diff = sorted(k for k in stored if stored[k] != cfg.identity().get(k))
            raise CleartuneError(f"{out} holds a checkpoint of another configuration (differs in {', '.join(diff)}); "
                                 f"use another --out or delete {ckpt_path}")
        if state["epoch"] >= cfg.epochs and (out / MODEL_FILE).is_file():
            say(f"{out}: already trained for {state['epoch']} epochs (ask for more with --epochs)")
            return {"epochs_done": state["epoch"], "history": state["history"], "metrics": state.get("metrics", {}),
                    "model": str(out / MODEL_FILE), "resumed_from": state["epoch"], "params": None, "macs": None}

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    strategy = make_strategy()

    train_fs, val_fs = load_training_data(data_dir, cfg, params=params, out_dir=out, log=say)
    tr, va, steps = make_samplers(train_fs, val_fs, cfg)
    if cfg.batch_size % strategy.num_replicas_in_sync:
        raise CleartuneError(f"batch size {cfg.batch_size} is not divisible by the {strategy.num_replicas_in_sync} replicas")
    x_val, y_val = va.fixed_set(cfg.val_examples, seed=cfg.seed)

    with strategy.scope():
        model = build_model(cfg, params=params)
        sched = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=(cfg.schedule_epochs or cfg.epochs) * steps,
                                                       alpha=0.05)
        optimizer = keras.optimizers.Adam(sched, global_clipnorm=cfg.clip_norm)
        optimizer.build(model.trainable_variables)
    cost = model_cost(model)
    if cfg.preset == "edge":
        check_edge_budget(cost)
    say(f"{model.name}: {cost.params:,} parameters, {cost.macs:,} MAC per "
        f"{'hop' if cfg.preset == 'edge' else 'clip'} ({cost.macs / 1e6:.1f} M)")
    if verbose:
        say(cost.table())
    say(f"data: {len(train_fs)} training mixes x {train_fs.n_frames} frames, {len(val_fs)} validation mixes; "
        f"{steps} steps of {cfg.batch_size} per epoch; replicas: {strategy.num_replicas_in_sync}")

    history: dict[str, list] = {"epoch": [], "loss": [], "feat_mse": [], "val_loss": [], "val_feat_mse": [], "seconds": []}
    start = 0
    resumed_from = None
    if state is not None:
        state = load_checkpoint(ckpt_path, model=model, optimizer=optimizer)
        start = int(state["epoch"])
        history = state["history"]
        resumed_from = start
        say(f"resuming from {ckpt_path} after epoch {start}")

    loss_fn = make_loss(cfg.variant, params=params, preset=cfg.preset,
                        suppression_weight=cfg.suppression_weight if cfg.variant in ("mask", "magnitude") else 1.0)
    feat_fn = make_feature_mse(cfg.variant, params=params, preset=cfg.preset)
    gb = cfg.batch_size

    x0, y0 = tr.batch(0, 0)

    def gen():
        e = start
        while True:
            for s in range(steps):
                yield tr.batch(e, s)
            e += 1

    spec = (tf.TensorSpec((None,) + x0.shape[1:], tf.float32), tf.TensorSpec((None,) + y0.shape[1:], tf.float32))
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(2)
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    opts.deterministic = True
    ds = ds.with_options(opts)
    it = iter(strategy.experimental_distribute_dataset(ds))

    @tf.function
    def train_step(iterator):
        def step_fn(x, y):
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                per = loss_fn(y, pred)
                loss = tf.nn.compute_average_loss(per, global_batch_size=gb)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return tf.reduce_sum(per), tf.reduce_sum(feat_fn(y, pred))
        s_loss, s_feat = strategy.run(step_fn, args=next(iterator))
        return (strategy.reduce("SUM", s_loss, axis=None) / gb, strategy.reduce("SUM", s_feat, axis=None) / gb)

    @tf.function
    def eval_step(x, y):
        pred = model(x, training=False)
        return tf.reduce_sum(loss_fn(y, pred)), tf.reduce_sum(feat_fn(y, pred))

    def evaluate_val():
        tl = tf_ = 0.0
        eb = max(gb, 64) if cfg.preset == "edge" else gb
        for i in range(0, len(x_val), eb):
            a, b = eval_step(tf.constant(x_val[i:i + eb]), tf.constant(y_val[i:i + eb]))
            tl += float(a)
            tf_ += float(b)
        return tl / len(x_val), tf_ / len(x_val)

    interval = 0.05 if sys.stdout.isatty() else 60.0
    epoch = start
    with _sigterm_as_interrupt():
        try:
            for epoch in range(start, cfg.epochs):
                t0 = time.time()
                if verbose:
                    say(f"Epoch {epoch + 1}/{cfg.epochs}")
                bar = keras.utils.Progbar(steps, verbose=1 if verbose else 0, interval=interval,
                                          stateful_metrics=["loss", "feat_mse"])
                s_loss = s_feat = 0.0
                for s in range(steps):
                    step_loss, f = train_step(it)
                    s_loss += float(step_loss)
                    s_feat += float(f)
                    bar.update(s + 1, [("loss", s_loss / (s + 1)), ("feat_mse", s_feat / (s + 1))])
                vl, vf = evaluate_val()
                dt = time.time() - t0
                for k, v in (("epoch", epoch + 1), ("loss", s_loss / steps), ("feat_mse", s_feat / steps),
                             ("val_loss", vl), ("val_feat_mse", vf), ("seconds", round(dt, 2))):
                    history[k].append(v)
                say(f"epoch {epoch + 1}/{cfg.epochs}: loss {s_loss / steps:.5f} feat_mse {s_feat / steps:.5f} "
                    f"val_loss {vl:.5f} val_feat_mse {vf:.5f} ({dt:.0f} s)")
                if wi.is_chief:
                    save_checkpoint(ckpt_path, model=model, optimizer=optimizer,
                                    state={"epoch": epoch + 1, "history": history, "config": cfg.to_dict()})
                    _atomic_write_text(out / HISTORY_FILE, json.dumps(history, indent=1) + "\n")
                if on_epoch_end is not None:
                    on_epoch_end(epoch + 1, history)
        except KeyboardInterrupt:
            say(f"interrupted during epoch {epoch + 1}; rerun the same command to resume after epoch "
                f"{len(history['epoch'])}")
            raise

    metrics = {"train_loss": history["loss"][-1], "train_feat_mse": history["feat_mse"][-1],
               "val_loss": history["val_loss"][-1], "val_feat_mse": history["val_feat_mse"][-1],
               "epochs": len(history["epoch"]), "steps_per_epoch": steps, "batch_size": cfg.batch_size,
               "feature_scale": "rho / feature_max in [-1, 1] (features/100)"}
    summary = {"epochs_done": len(history["epoch"]), "history": history, "metrics": metrics,
               "model": str(out / MODEL_FILE), "params": cost.params, "macs": cost.macs, "resumed_from": resumed_from}
    if wi.is_chief:
        export = build_model(cfg, params=params, batch_size=1)
        export.set_weights(model.get_weights())
        tmp = out / ".model.partial.keras"
        export.save(tmp)
        os.replace(tmp, out / MODEL_FILE)
        meta = sidecar_for(cfg, params=params, cost=cost, metrics=metrics, command=command,
                           data_info=_data_info(data_dir, train_fs, val_fs))
        meta.save_for(out / MODEL_FILE)
        _atomic_write_text(out / HISTORY_FILE, json.dumps(history, indent=1) + "\n")
        _history_plot(history, out / CURVE_FILE, title=f"{cfg.model_version}: {len(train_fs)} mixes")
        save_checkpoint(ckpt_path, model=model, optimizer=optimizer,
                        state={"epoch": len(history["epoch"]), "history": history, "config": cfg.to_dict(),
                               "metrics": metrics})
        say(f"wrote {out / MODEL_FILE} (+ model.json, {HISTORY_FILE}, {CURVE_FILE})")
    return summary
