"""The seed autoencoder's report (issue 16): what a long training run of the write-up's model
reaches, and what it is worth to the tuner next to the shipped edge model.

    python -m cleartune.train.seed_report --run runs/seed_long \\
        --eval runs/seed_long/eval_test --edge-eval runs/seed_long/eval_edge \\
        --quant runs/seed_long/quant/seed_report.json --out train/results/seed

It gathers what the other tools measured and adds only what they lack:

* ``--run``: the training folder (``history.json``, ``model.json``, ``checkpoint.npz``) ->
  the learning curve against steps and a power-law trend of the validation feature MSE
  (:func:`fit_power_law`, :func:`steps_to_reach`): how many steps the trend needs to reach
  the write-up's aim (test MSE < 0.001), and what that costs at the measured step time;
* ``--eval``: ``cleartune evaluate`` of the seed model on the test split (``report.json``,
  PNGs, ``listen/``) -> test feature MSE per SNR against the aim, SI-SDR, the latent
  space (mean and std per dimension; :func:`unused_latent`), spectrograms, listening WAVs;
* ``--edge-eval``: ``cleartune evaluate`` of the edge model on the same split (same clips,
  same tracker, checked) -> the tuner's note accuracy alone, with the edge model, with the
  seed model (:func:`tuner_rows`);
* ``--quant``: ``cleartune report`` of the seed model's float32 and int8 TFLite files (JSON)
  -> size, MACs, latency per 3 s window on this machine, the float-vs-int8 drop; the
  Raspberry Pi 4 estimate from MACs (:func:`pi4_seconds`).

Writes ``README.md``, ``summary.json``, ``history.json``, ``latent.json`` and the figures
to ``--out``.  numpy + matplotlib; TensorFlow only with ``--model`` (decoder weights for the
latent analysis).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

#: The write-up's aim for the test feature MSE (rho / 100 in [-1, 1]).
MSE_AIM = 0.001
#: A latent dimension is unused when its std over the split is below this fraction of the
#: median std of all dimensions (the latent layer is linear: no dead units, only idle ones).
UNUSED_REL_STD = 0.01
#: Int8 MAC rates of one Cortex-A72 core assumed for the Raspberry Pi 4 estimate [MAC/s].
PI4_MACS_PER_S = (1e9, 2e9)
#: The write-up's count of unused latent dimensions.
SEED_UNUSED = (9, 256)


# -- trend -------------------------------------------------------------------------------------

def fit_power_law(steps: Sequence[float], mse: Sequence[float], *, skip: int = 1) -> dict[str, float]:
    """Least-squares fit of ``mse = a * steps ** -b`` in log-log space over the points after
    the first ``skip`` (the initial transient).  Returns ``{"a", "b", "n", "r2"}``; raises
    ValueError with fewer than 2 usable points (positive steps and MSE)."""
    s = np.asarray(steps, np.float64)[skip:]
    m = np.asarray(mse, np.float64)[skip:]
    ok = (s > 0) & (m > 0) & np.isfinite(s) & np.isfinite(m)
    s, m = s[ok], m[ok]
    if len(s) < 2:
        raise ValueError("a power-law fit needs at least 2 points with positive steps and MSE")
    x, y = np.log(s), np.log(m)
    slope, icpt = np.polyfit(x, y, 1)
    pred = icpt + slope * x
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {"a": float(math.exp(icpt)), "b": float(-slope), "n": int(len(s)),
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")}


def steps_to_reach(fit: dict[str, float], target: float) -> float:
    """Steps at which the fitted ``a * steps ** -b`` falls to ``target``; ``inf`` when the
    trend does not fall (``b <= 0``)."""
    a, b = fit["a"], fit["b"]
    if b <= 0:
        return float("inf")
    return float((a / target) ** (1.0 / b))


# -- latent space ------------------------------------------------------------------------------

def unused_latent(std: Sequence[float], *, rel: float = UNUSED_REL_STD) -> np.ndarray:
    """Boolean mask of unused latent dimensions: std over the split below ``rel`` times the
    median std of all dimensions."""
    s = np.asarray(std, np.float64)
    med = float(np.median(s)) if len(s) else 0.0
    return s < rel * med


def latent_summary(mean: Sequence[float], std: Sequence[float], *,
                   decoder_norm: Optional[Sequence[float]] = None) -> dict[str, Any]:
    """Counts of unused dimensions under :data:`UNUSED_REL_STD` and looser thresholds; with
    ``decoder_norm`` (the L2 norm of each dimension's row of the next Dense kernel) also of
    the *effect* ``std * norm`` (a dimension that varies but that the decoder ignores is
    unused too)."""
    mean = np.asarray(mean, np.float64)
    std = np.asarray(std, np.float64)
    out: dict[str, Any] = {"dims": int(len(std)), "rule": f"std < {UNUSED_REL_STD:g} x median std over the split",
                           "unused": int(unused_latent(std).sum()),
                           "unused_at": {f"{r:g}": int(unused_latent(std, rel=r).sum()) for r in (0.01, 0.05, 0.1, 0.25)},
                           "std_median": float(np.median(std)), "std_min": float(std.min()), "std_max": float(std.max()),
                           "mean_abs_median": float(np.median(np.abs(mean))),
                           "unused_dims": [int(i) for i in np.flatnonzero(unused_latent(std))]}
    if decoder_norm is not None:
        eff = std * np.asarray(decoder_norm, np.float64)
        out["effect_unused"] = int(unused_latent(eff).sum())
        out["effect_unused_at"] = {f"{r:g}": int(unused_latent(eff, rel=r).sum()) for r in (0.01, 0.05, 0.1, 0.25)}
    return out


# -- where the error lives ---------------------------------------------------------------------

#: Bands of a clean bin's level below the clip's loudest bin [dB] for :func:`error_bands`.
LEVEL_BANDS_DB = (0.0, -30.0, -60.0, -100.0, -float("inf"))


def error_bands(out_imgs: Sequence[np.ndarray], clean_imgs: Sequence[np.ndarray], ranges: Sequence[tuple[float, float]],
                *, bands: Sequence[float] = LEVEL_BANDS_DB) -> list[dict[str, float]]:
    """Where the feature MSE comes from: clean bins grouped by their level below the clip's
    loudest bin (dB, from the clean image and the clean clip's dB range ``(lo, hi)``, the
    per-clip scaling).  Per band ``[hi_db, lo_db)``: the share of bins, the share of the
    summed squared error and the MSE inside the band.  Images in [-1, 1], any equal shapes."""
    sq, rel = [], []
    for o, c, (lo, hi) in zip(out_imgs, clean_imgs, ranges):
        c = np.asarray(c, np.float64)
        sq.append(((np.asarray(o, np.float64) - c) ** 2).ravel())
        rel.append(((c + 1.0) / 2.0 * (hi - lo) + lo - hi).ravel())
    sq_a, rel_a = np.concatenate(sq), np.concatenate(rel)
    total = float(sq_a.sum()) or 1.0
    out = []
    for top, bottom in zip(bands[:-1], bands[1:]):
        sel = (rel_a <= top) & (rel_a > bottom) if top == bands[0] else (rel_a < top) & (rel_a >= bottom)
        n = int(sel.sum())
        out.append({"from_db": float(top), "to_db": float(bottom), "bins": n / len(rel_a),
                    "error_share": float(sq_a[sel].sum()) / total, "mse": float(sq_a[sel].mean()) if n else float("nan")})
    return out


def model_error_bands(model_path: str | Path, data_dir: str | Path, *, split: str = "test", clips: int = 20) -> dict[str, Any]:
    """:func:`error_bands` of a seed model on the first ``clips`` clips of ``split`` (the
    evaluation's fixed subset order)."""
    from cleartune.edge import features as F
    from cleartune.train.data.dataset import load_example, load_metadata
    from cleartune.train.featcache import _select
    from cleartune.train.inference import OfflineDenoiser
    from cleartune.train.variants import to_seed_image

    den = OfflineDenoiser(model_path)
    p = den.params
    rows = _select(load_metadata(data_dir, split=split), clips)
    outs, cleans, ranges = [], [], []
    for row in rows:
        mix, clean, _ = load_example(data_dir, row)
        _, out = den.spectrum(mix, return_output=True)
        rho, _, rng = F.polar_features(F.stft(clean, params=p), params=p)
        outs.append(out[..., 0])
        cleans.append(to_seed_image(rho, params=p)[..., 0])
        ranges.append((rng.lo, rng.hi))
    return {"clips": len(rows), "split": split, "bands": error_bands(outs, cleans, ranges),
            "clean_range_db_median": float(np.median([hi - lo for lo, hi in ranges]))}


# -- cost --------------------------------------------------------------------------------------

def pi4_seconds(macs: float, rates: Sequence[float] = PI4_MACS_PER_S) -> tuple[float, ...]:
    """Seconds of one Cortex-A72 core per inference of ``macs`` MACs at each int8 rate [MAC/s]."""
    return tuple(float(macs) / r for r in rates)


# -- tuner -------------------------------------------------------------------------------------

def _clip_key(c: dict[str, Any]) -> tuple[str, bool]:
    return str(c["id"]), bool(c.get("clean_input", False))


def tuner_rows(seed_report: dict[str, Any], edge_report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per SNR bucket (and ``all``, noisy mixes only): note accuracy (right readings /
    readings that count) and the share of clips whose settled reading is right, of the
    tracker alone, with the edge model and with the seed model in front, from two
    ``cleartune evaluate`` reports of the same split, over the clips both scored (a
    ``--max-examples`` subset is a prefix of a larger one).  Raises ValueError when the
    reports ran different trackers, share no clip, or the tracker alone reads a shared clip
    differently (then the tuner code changed between them)."""
    if not (seed_report.get("pitch") and edge_report.get("pitch")):
        raise ValueError("both evaluations need the tuner metrics (run without --no-pitch)")
    hs, he = seed_report.get("tracker_source_sha256"), edge_report.get("tracker_source_sha256")
    if hs != he:
        raise ValueError(f"the evaluations ran different trackers ({hs} vs {he}): rerun them with the same code")
    edge = {_clip_key(c): c for c in edge_report.get("clips", [])}
    common = [c for c in seed_report.get("clips", []) if _clip_key(c) in edge]
    if not common:
        raise ValueError("the evaluations share no clip (same --data and --split needed)")
    groups: dict[str, list[tuple[dict, dict]]] = {}
    for c in common:
        e = edge[_clip_key(c)]
        a, b = c["tuner_raw"], e["tuner_raw"]
        if (a["n"], a["right"]) != (b["n"], b["right"]):
            raise ValueError(f"clip {c['id']}: the tracker alone reads differently in the two evaluations")
        groups.setdefault(c["bucket"], []).append((c, e))
        if not c.get("clean_input"):
            groups.setdefault("all", []).append((c, e))

    def acc(pairs, which, key):
        n = sum(p[which][key]["n"] for p in pairs)
        return sum(p[which][key]["right"] for p in pairs) / n if n else None

    def settled(pairs, which, key):
        v = [p[which][key].get("settled_right") for p in pairs]
        v = [bool(x) for x in v if x is not None]
        return sum(v) / len(v) if v else None

    from cleartune.train.measures import bucket_sort_key

    rows = []
    for b in sorted(groups, key=bucket_sort_key):
        g = groups[b]
        rows.append({"bucket": b, "n": len(g), "alone": acc(g, 0, "tuner_raw"), "edge": acc(g, 1, "tuner_denoised"),
                     "seed": acc(g, 0, "tuner_denoised"),
                     "settled": {"alone": settled(g, 0, "tuner_raw"), "edge": settled(g, 1, "tuner_denoised"),
                                 "seed": settled(g, 0, "tuner_denoised")}})
    return rows


# -- figures -----------------------------------------------------------------------------------

def plot_curve(history: dict[str, list], *, steps_per_epoch: int, fit: Optional[dict[str, float]],
               target: float, path: Path, title: str) -> None:
    """Train and validation feature MSE against training steps (log-log), the power-law trend
    extended to the aim, and the aim."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cleartune.train.plots import atomic_savefig

    ep = np.asarray(history["epoch"], np.float64)
    steps = ep * steps_per_epoch
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    ax.plot(steps, history["feat_mse"], "-o", ms=3, label="train (mean over the epoch)")
    ax.plot(steps, history["val_feat_mse"], "-s", ms=3, label="validation (fixed clips)")
    ax.axhline(target, color="gray", ls="--", lw=0.8, label=f"aim {target:g}")
    if fit is not None:
        s_end = min(steps_to_reach(fit, target), steps[-1] * 1e4)
        xs = np.geomspace(max(steps[0], 1.0), max(s_end, steps[-1]) * 1.1, 200)
        ax.plot(xs, fit["a"] * xs ** -fit["b"], ":", color="tab:red",
                label=f"trend {fit['a']:.3g} * steps^-{fit['b']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"training steps (batch {history.get('batch_size', '?')})")
    ax.set_ylabel("feature MSE (rho/100 in [-1, 1])")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("learning curve and its trend", fontsize=9)
    ax = axes[1]
    hours = np.cumsum(np.asarray(history.get("seconds", [0] * len(ep)), np.float64)) / 3600.0
    ax.plot(hours, history["feat_mse"], "-o", ms=3, label="train")
    ax.plot(hours, history["val_feat_mse"], "-s", ms=3, label="validation")
    ax.set_xlabel("wall-clock hours of training (epochs' own time)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("against time on this machine", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path)


def plot_latent(mean: np.ndarray, std: np.ndarray, *, unused: np.ndarray, path: Path, title: str,
                effect: Optional[np.ndarray] = None) -> None:
    """Mean and std per latent dimension (unused ones red), and the sorted relative stds
    (std / median std) against the threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cleartune.train.plots import atomic_savefig

    d = np.arange(len(mean))
    colours = np.where(unused, "tab:red", "tab:blue")
    fig, axes = plt.subplots(3, 1, figsize=(12, 8))
    axes[0].bar(d, mean, color=colours)
    axes[0].set_ylabel("mean")
    axes[1].bar(d, std, color=colours)
    axes[1].set_ylabel("std")
    axes[1].set_xlabel("latent dimension (red: unused)")
    med = float(np.median(std))
    axes[2].semilogy(np.sort(std / med), ".-", ms=3, label="std / median std, sorted")
    if effect is not None:
        axes[2].semilogy(np.sort(effect / np.median(effect)), ".-", ms=3,
                         label="std x |decoder row| / its median, sorted")
    axes[2].axhline(UNUSED_REL_STD, color="tab:red", ls="--", lw=0.8, label=f"unused below {UNUSED_REL_STD:g}")
    axes[2].set_xlabel("rank")
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_savefig(fig, path)


# -- the report --------------------------------------------------------------------------------

def _f(v, spec=".4f", none="–") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return none
    return format(v, spec)


def _pct(v) -> str:
    return _f(None if v is None else 100.0 * v, ".1f")


def decoder_norms(model_path: str | Path) -> Optional[np.ndarray]:
    """L2 norm of each latent dimension's row of the Dense layer after ``latent`` (the
    ``expand`` layer of the seed model); None if there is none."""
    import keras

    m = keras.models.load_model(model_path, compile=False)
    lat = m.get_layer("latent")
    for layer in m.layers:
        ws = layer.get_weights()
        if ws and ws[0].ndim == 2 and ws[0].shape[0] == lat.units and layer is not lat:
            return np.linalg.norm(ws[0], axis=1)
    return None


def build_report(*, run: Path, eval_dir: Path, edge_eval: Optional[Path], quant: Optional[Path], out: Path,
                 model: Optional[Path] = None, listen: int = 2, notes: Sequence[str] = (),
                 train_command: Optional[str] = None, error_clips: int = 0, data: Optional[Path] = None,
                 command: str = "") -> dict[str, Any]:
    """Write the report (see the module docstring) and return its summary dict."""
    from cleartune.edge.fileio import atomic_write_text
    from cleartune.edge.model_meta import sha256_file
    from cleartune.provenance import provenance

    out.mkdir(parents=True, exist_ok=True)
    history = json.loads((run / "history.json").read_text())
    meta = json.loads((run / "model.json").read_text()) if (run / "model.json").is_file() else {}
    metrics = meta.get("metrics", {})
    cfg = (meta.get("extra") or {}).get("train_config", {})
    spe = int(metrics.get("steps_per_epoch") or cfg.get("steps_per_epoch") or 1)
    batch = int(metrics.get("batch_size") or cfg.get("batch_size") or 8)
    history = dict(history, batch_size=batch)
    n_ep = len(history["epoch"])
    steps = np.asarray(history["epoch"], np.float64) * spe
    secs = float(np.sum(history.get("seconds", [])))
    s_per_step = secs / (n_ep * spe) if n_ep else float("nan")
    ev = json.loads((eval_dir / "report.json").read_text())
    summ: dict[str, Any] = {"run": str(run), "epochs": n_ep, "steps_per_epoch": spe, "batch_size": batch,
                            "steps": int(n_ep * spe), "examples_seen": int(n_ep * spe * batch),
                            "training_seconds": round(secs, 1), "seconds_per_step": s_per_step,
                            "train_config": cfg, "train_command": train_command or meta.get("command"),
                            "train_mixes": ((meta.get("extra") or {}).get("data") or {}).get("train_mixes"),
                            "final_val_feat_mse": history["val_feat_mse"][-1] if n_ep else None,
                            "final_train_feat_mse": history["feat_mse"][-1] if n_ep else None,
                            "test_feat_mse": ev.get("feat_mse_denoised"), "test_feat_mse_noisy": ev.get("feat_mse_noisy"),
                            "aim": MSE_AIM, "test_clips": ev.get("n_clips")}
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")

    # trend
    fit = fit_val = None
    skip = 1 if n_ep >= 4 else 0
    try:
        fit_val = fit_power_law(steps, history["val_feat_mse"], skip=skip)
        fit = fit_power_law(steps, history["feat_mse"], skip=skip)
    except ValueError:
        pass
    if fit_val is not None:
        need = steps_to_reach(fit_val, MSE_AIM)
        summ["trend_val"] = dict(fit_val, steps_to_aim=need, hours_to_aim_here=need * s_per_step / 3600.0,
                                 epochs_of_train_split=need * batch / max(1, summ["train_mixes"] or 1))
    if fit is not None:
        summ["trend_train"] = dict(fit, steps_to_aim=steps_to_reach(fit, MSE_AIM))
    plot_curve(history, steps_per_epoch=spe, fit=fit_val, target=MSE_AIM, path=out / "training_curve.png",
               title=f"seed autoencoder: {summ['steps']} steps of {batch} ({secs / 3600:.2f} h of training)")

    # latent
    la = ev.get("latent") or {}
    if "mean" in la:
        mean, std = np.asarray(la["mean"]), np.asarray(la["std"])
        dn = decoder_norms(model) if model is not None else None
        summ["latent"] = latent_summary(mean, std, decoder_norm=dn)
        eff = None if dn is None else std * dn
        plot_latent(mean, std, unused=unused_latent(std), effect=eff, path=out / "latent.png",
                    title=f"latent space over the {ev.get('split')} split: {summ['latent']['unused']} of "
                          f"{len(std)} dimensions unused (std < {UNUSED_REL_STD:g} x median)")
        (out / "latent.json").write_text(json.dumps({"rule": summ["latent"]["rule"], "mean": mean.round(5).tolist(),
                                                     "std": std.round(5).tolist(),
                                                     "decoder_row_norm": None if dn is None else dn.round(5).tolist()}) + "\n")

    if model is not None and error_clips > 0:
        summ["error_bands"] = model_error_bands(model, data or ev.get("data"), split=ev.get("split", "test"),
                                                clips=error_clips)

    # figures and listening examples from the evaluation
    for name in ("spectrograms.png", "by_snr.png"):
        if (eval_dir / name).is_file():
            shutil.copyfile(eval_dir / name, out / name)
    wavs = sorted((eval_dir / "listen").glob("*.wav")) if (eval_dir / "listen").is_dir() else []
    ids = []
    for w in wavs:
        cid = w.stem.rsplit("_", 1)[0]
        if cid not in ids:
            ids.append(cid)
    keep = set(ids[: max(0, int(listen))])
    (out / "listen").mkdir(exist_ok=True)
    listen_files = []
    for w in wavs:
        if w.stem.rsplit("_", 1)[0] in keep:
            shutil.copyfile(w, out / "listen" / w.name)
            listen_files.append(f"listen/{w.name}")

    # tuner
    rows = None
    edge = None
    if edge_eval is not None:
        edge = json.loads((edge_eval / "report.json").read_text())
        rows = tuner_rows(ev, edge)
        summ["tuner"] = rows
        summ["edge_model"] = {k: edge.get(k) for k in ("model", "model_version", "dtype", "params", "macs_per_inference",
                                                       "feat_mse_denoised")}
    # int8
    q = None
    if quant is not None:
        q = json.loads(quant.read_text())
        models = {}
        for lab, v in q.get("models", {}).items():
            p = Path(v["path"])
            models[lab] = {"file": str(p), "bytes": v.get("bytes"), "macs_per_window": v.get("macs_per_window"),
                           "params": v.get("params"), "sha256": sha256_file(p) if p.is_file() else None}
        summ["int8"] = {"models": models, "latency": q.get("latency", {}), "overall": q.get("accuracy", {}).get("overall"),
                        "clips": q.get("data", {}).get("clips")}
    macs = ev.get("macs_per_inference") or meta.get("macs_per_inference")
    if macs:
        summ["macs_per_window"] = int(macs)
        summ["pi4_seconds_per_window_one_core"] = pi4_seconds(macs)
    summ["provenance"] = provenance(command or None)
    atomic_write_text(out / "summary.json", json.dumps(summ, indent=1, default=float) + "\n")
    atomic_write_text(out / "README.md", _markdown(summ, ev=ev, edge=edge, q=q, listen_files=listen_files, notes=notes))
    return summ


def _markdown(s: dict[str, Any], *, ev: dict[str, Any], edge: Optional[dict[str, Any]], q: Optional[dict[str, Any]],
              listen_files: list[str], notes: Sequence[str]) -> str:
    from cleartune.provenance import markdown_block

    L = ["# The seed autoencoder, trained for real (issue 16)", ""]
    L += [f"Made by `python -m cleartune.train.seed_report` from the run `{s['run']}`, its test-split evaluation "
          f"`{ev.get('model')}` on `{ev.get('data')}` and the int8 report.  Numbers in this file are generated; the "
          "discussion is in [`train/README.md`](../../README.md#the-seed-model-trained-for-real-issue-16).", ""]
    for n in notes:
        L.append(f"- {n}")
    if notes:
        L.append("")
    L += ["## The run", ""]
    L.append(f"- command: `{s.get('train_command')}`")
    L.append(f"- {s['epochs']} epochs x {s['steps_per_epoch']} steps of {s['batch_size']} = {s['steps']:,} steps, "
             f"{s['examples_seen']:,} examples; {s['training_seconds'] / 3600:.2f} h of epochs "
             f"({s['seconds_per_step']:.2f} s per step, validation included)")
    c = s.get("train_config") or {}
    L.append(f"- learning rate {c.get('learning_rate')} (Adam, cosine over {c.get('schedule_epochs')} epochs, "
             f"floor 5 %), gradient clipping {c.get('clip_norm')}, clean inputs {c.get('clean_fraction')}")
    L.append(f"- final: train feature MSE {_f(s['final_train_feat_mse'])}, validation {_f(s['final_val_feat_mse'])} "
             f"(the training loop's fixed validation clips), **test {_f(s['test_feat_mse'])}** on {s['test_clips']} clips "
             f"(noisy input {_f(s['test_feat_mse_noisy'])}); aim < {s['aim']}: "
             f"**{'met' if (s['test_feat_mse'] or 1) < s['aim'] else 'not met'}**")
    L += ["", "![learning curve](training_curve.png)", ""]
    tv = s.get("trend_val")
    if tv:
        L.append(f"Trend (validation, epochs 2..{s['epochs']}): MSE = {tv['a']:.4g} * steps^-{tv['b']:.3f} "
                 f"(R^2 {tv['r2']:.2f}, {tv['n']} points).  Reaching {s['aim']} along it takes "
                 f"{tv['steps_to_aim']:.3g} steps = {tv['hours_to_aim_here']:.3g} h at this run's step time "
                 f"= {tv['epochs_of_train_split']:.3g} passes over the {s.get('train_mixes', '?')} training clips.  "
                 "A power law without a floor is the optimistic reading: it assumes nothing stops the fall.")
        tt = s.get("trend_train")
        if tt:
            L.append(f"(Training MSE: {tt['a']:.4g} * steps^-{tt['b']:.3f}, R^2 {tt['r2']:.2f}, aim at {tt['steps_to_aim']:.3g} steps.)")
    L += ["", "## Test feature MSE and SI-SDR per SNR", "",
          "Feature MSE of the model's output image against the clean clip's image (per-clip scaled rho/100, the "
          "write-up's metric); SI-SDR of the audio (predicted magnitude with the mix's dB range and phase) against the "
          "clean guitar.  `clean`: the clean guitar of some clips fed alone (not in `all`).", "",
          "| SNR | clips | feat MSE noisy | feat MSE seed | vs aim 0.001 | SI-SDR noisy dB | SI-SDR seed dB | gain dB |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for b, d in ev["buckets"].items():
        fm = d.get("feat_mse_denoised")
        L.append(f"| {b} | {d.get('n')} | {_f(d.get('feat_mse_noisy'))} | {_f(fm)} | "
                 f"{_f(None if fm is None else fm / MSE_AIM, '.0f')}x | {_f(d.get('si_sdr_noisy'), '.1f')} | "
                 f"{_f(d.get('si_sdr_denoised'), '.1f')} | {_f(d.get('si_sdr_improvement'), '+.1f')} |")
    eb = s.get("error_bands")
    if eb:
        L += ["", f"Where the test error lives ({eb['clips']} clips; clean bins by their level below the clip's loudest "
                  f"bin; the clean clips' per-clip dB range has median {eb['clean_range_db_median']:.0f} dB, down to "
                  "the -200 dB floor of digital silence):", "",
              "| clean level below the clip peak | share of bins | share of squared error | MSE in band |",
              "|---|---:|---:|---:|"]
        for b in eb["bands"]:
            L.append(f"| {b['from_db']:g} .. {b['to_db']:g} dB | {100 * b['bins']:.1f} % | {100 * b['error_share']:.1f} % | "
                     f"{_f(b['mse'])} |")
    L += ["", "![by SNR](by_snr.png)", "", "![spectrograms](spectrograms.png)", ""]
    if listen_files:
        L.append("Listening examples (16-bit, noisy / seed output / clean): "
                 + ", ".join(f"[{Path(f).name}]({f})" for f in listen_files))
        L.append("")
    la = s.get("latent")
    if la:
        L += ["## Latent space", ""]
        L.append(f"Over the {ev.get('split')} split ({la['dims']} dimensions; mean and std per dimension in "
                 f"[latent.json](latent.json)): **{la['unused']} of {la['dims']} unused** by the rule {la['rule']}; "
                 f"the write-up found {SEED_UNUSED[0]} of {SEED_UNUSED[1]}.  Looser thresholds (fraction of the median "
                 f"std): " + ", ".join(f"{k}: {v}" for k, v in la["unused_at"].items()) + ".  "
                 f"std median {la['std_median']:.4g} (min {la['std_min']:.4g}, max {la['std_max']:.4g}); "
                 f"median |mean| {la['mean_abs_median']:.4g}.")
        if "effect_unused" in la:
            L.append(f"Weighted by the decoder (std x the norm of the dimension's row in the next Dense kernel): "
                     f"{la['effect_unused']} unused; looser: " + ", ".join(f"{k}: {v}" for k, v in la["effect_unused_at"].items()) + ".")
        L += ["", "![latent](latent.png)", ""]
    rows = s.get("tuner")
    if rows:
        L += ["## The tuner with it in front", "",
              f"Note accuracy (readings naming the right note / readings that count) on the "
              f"{next((r['n'] for r in rows if r['bucket'] == 'all'), '?')} test clips both evaluations scored, same tracker "
              f"code (source sha256 {ev.get('tracker_source_sha256')}); edge model: "
              f"`{(s.get('edge_model') or {}).get('model')}` ({(s.get('edge_model') or {}).get('dtype')}).", "",
              "| SNR | clips | tracker alone | + edge model | + seed model |", "|---|---:|---:|---:|---:|"]
        for r in rows:
            L.append(f"| {r['bucket']} | {r['n']} | {_pct(r['alone'])} % | {_pct(r['edge'])} % | {_pct(r['seed'])} % |")
        if any(r["settled"].get("alone") is not None for r in rows):
            L += ["", "Settled reading per clip (what a player reads off the needle), right:", "",
                  "| SNR | tracker alone | + edge | + seed |", "|---|---:|---:|---:|"]
            for r in rows:
                st = r["settled"]
                L.append(f"| {r['bucket']} | {_pct(st.get('alone'))} % | {_pct(st.get('edge'))} % | {_pct(st.get('seed'))} % |")
        L.append("")
    i8 = s.get("int8")
    if i8:
        L += ["## int8, size, MACs, latency", ""]
        L += ["| model | bytes | MACs per 3 s window | sha256 |", "|---|---:|---:|---|"]
        for lab, m in i8["models"].items():
            L.append(f"| {lab} `{Path(m['file']).name}` | {m['bytes']:,} | {m['macs_per_window']:,} | `{(m['sha256'] or '')[:16]}` |")
        ov = i8.get("overall") or {}
        L += ["", f"Float32 vs int8 TFLite on {i8.get('clips')} test clips: feature MSE vs clean "
                  f"{_f(ov.get('feature_mse_float_vs_clean'))} -> {_f(ov.get('feature_mse_int8_vs_clean'))}, "
                  f"int8 vs float {_f(ov.get('feature_mse_int8_vs_float'), '.2e')}; SI-SDR {_f(ov.get('si_sdr_float_db'), '.2f')} -> "
                  f"{_f(ov.get('si_sdr_int8_db'), '.2f')} dB (drop {_f(ov.get('si_sdr_drop_db'), '+.2f')} dB); "
                  f"note accuracy {_f(ov.get('note_acc_float_pct'), '.1f')} -> {_f(ov.get('note_acc_int8_pct'), '.1f')} %.", ""]
        lat = i8.get("latency") or {}
        if lat.get("results"):
            L += [f"Latency per 3 s window on this machine (LiteRT, {lat.get('windows')} windows, interleaved):", "",
                  "| model | threads | median ms | p95 ms |", "|---|---:|---:|---:|"]
            for r in lat["results"].values():
                L.append(f"| {r['label']} | {r['threads']} | {_f(r['median_ms'], '.0f')} | {_f(r['p95_ms'], '.0f')} |")
            L.append("")
    if s.get("macs_per_window"):
        lo, hi = s["pi4_seconds_per_window_one_core"][1], s["pi4_seconds_per_window_one_core"][0]
        L.append(f"Raspberry Pi 4 estimate: {s['macs_per_window'] / 1e9:.2f} G MAC per 3 s window at 1-2 G MAC/s per "
                 f"Cortex-A72 core (int8) = {lo:.1f}-{hi:.1f} s per window on one core, {lo / 4:.2f}-{hi / 4:.2f} s on "
                 "four if it parallelised perfectly; the seed also needs the whole 2.97 s clip before it can start.")
        L.append("")
    L += ["## Provenance", "", markdown_block(s["provenance"]), ""]
    return "\n".join(L)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import shlex

    ap = argparse.ArgumentParser(prog="python -m cleartune.train.seed_report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, type=Path, help="training folder (history.json, model.json)")
    ap.add_argument("--eval", required=True, type=Path, help="cleartune evaluate folder of the seed model (test split)")
    ap.add_argument("--edge-eval", type=Path, default=None, help="cleartune evaluate folder of the edge model, same split")
    ap.add_argument("--quant", type=Path, default=None, help="cleartune report JSON of the seed float32/int8 TFLite files")
    ap.add_argument("--model", type=Path, default=None, help="the seed .keras (decoder weights for the latent analysis)")
    ap.add_argument("--listen", type=int, default=2, help="listening examples to copy (default 2)")
    ap.add_argument("--note", action="append", default=[], help="a line for the report (repeatable)")
    ap.add_argument("--train-command", default=None, help="the training command to show (default: the sidecar's)")
    ap.add_argument("--error-clips", type=int, default=0, help="with --model: where the feature error lives, on N test clips")
    ap.add_argument("--data", type=Path, default=None, help="dataset for --error-clips (default: the evaluation's)")
    ap.add_argument("--out", required=True, type=Path, help="report folder")
    a = ap.parse_args(argv)
    from cleartune.edge.errors import CleartuneError

    for p in [a.run / "history.json", a.eval / "report.json"] + ([a.edge_eval / "report.json"] if a.edge_eval else []) \
            + ([a.quant] if a.quant else []):
        if not p.is_file():
            print(f"seed_report: {p}: not found", file=sys.stderr)
            return 2
    cmd = " ".join(shlex.quote(x) for x in ["python", "-m", "cleartune.train.seed_report"] + list(argv or sys.argv[1:]))
    try:
        s = build_report(run=a.run, eval_dir=a.eval, edge_eval=a.edge_eval, quant=a.quant, out=a.out, model=a.model,
                         listen=a.listen, notes=a.note, train_command=a.train_command, error_clips=a.error_clips,
                         data=a.data, command=cmd)
    except (ValueError, CleartuneError) as e:
        print(f"seed_report: {e}", file=sys.stderr)
        return 2
    print(f"test feature MSE {_f(s['test_feat_mse'])} (aim {MSE_AIM}); report: {a.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
