"""Evaluating a trained denoiser on a dataset split: markdown + JSON + PNG report.

``evaluate_model(model_path, data_dir, split="test", out_dir=...)`` measures, per clip and
per SNR bucket (``clean`` for noise-free mixes):

* the seed's metric: MSE of the scaled features, ``rho / feature_max`` = features/100 in
  ``[-1, 1]``, of the denoised estimate against the clean clip (target < 0.001), and of the
  noisy mix as the baseline.  Edge models: fixed dB range; seed models: the seed's
  per-clip scaled image (model output vs the clean image);
* SI-SDR [dB] of the noisy and the denoised audio against the clean guitar, and the
  improvement; the ``clean`` bucket (noise-free mixes, or the clean guitar of some clips
  fed alone) shows what the denoiser does to a clean note;
* the downstream tuner (the :class:`cleartune.edge.pipeline.Tuner` as ``analyze`` runs it,
  through :func:`cleartune.edge.pipeline.analyze_samples`) without and with the denoised
  audio: note accuracy (readings naming the right note / readings that count, from
  :func:`cleartune.train.measures.counts_from` to the end of the clip; the right note is
  the one nearest the clip's true f0, A4 = 440 Hz, :func:`~cleartune.train.measures.judge`),
  the share of readings showing a wrong note, median and 95th percentile of |cents error|
  of the right-note readings against the clip's true f0, and the share of clips whose
  settled reading (:func:`~cleartune.train.measures.settled_reading`) is right;
* seed models (Keras): the latent space (mean and std per dimension over the split, the
  number of unused dimensions, a plot).

It also draws the training curves (``history.json`` next to the model), noisy/denoised/
clean spectrograms of a few clips and writes listening WAVs of them.  A ``.tflite`` model
works too (through :mod:`cleartune.edge.litert`), which is how the int8 model is checked.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from cleartune.edge import features as F
from cleartune.edge.errors import DataError
from cleartune.train.measures import SETTLE_S, SETTLED_FROM_S, SETTLED_TO_S, bucket_sort_key, reading_arrays, si_sdr, snr_bucket
from cleartune.train.plots import atomic_savefig
from cleartune.train.variants import to_seed_image

#: The seed write-up's target for the feature MSE (features/100).
SEED_MSE_TARGET = 0.001
#: A latent dimension whose std over the split is below this fraction of the median std is unused.
UNUSED_LATENT_REL_STD = 0.01
#: Clips whose clean guitar is also fed alone (bucket "clean") when the split has no clean mixes.
CLEAN_INPUTS = 20
#: Spectrogram pictures and listening examples.
N_PICTURES = 3


# -- the tuner -------------------------------------------------------------------------------

def tracker_version() -> Optional[str]:
    """sha256 (12 hex digits) of the pitch tracker's source as imported: reports made with
    different tracker code are not comparable."""
    import hashlib
    import inspect

    from cleartune.edge import pitch

    try:
        return hashlib.sha256(inspect.getsource(pitch).encode()).hexdigest()[:12]
    except (OSError, TypeError):  # no source file (a frozen install)
        return None


def score_readings(readings: list, *, f0_hz: float, onset_s: float) -> dict[str, Any]:
    """Counts and cents errors of one clip's readings (:func:`cleartune.train.measures.score_clip`):
    ``{"n", "shown", "right", "cents": [|cents| of the right readings], "settled_right"}``."""
    from cleartune.train.measures import score_clip

    t, f0, midi = reading_arrays(readings)
    sc = score_clip(t, f0, true_f0=f0_hz, onset_s=onset_s, notes=midi)
    return {"n": sc["n"], "shown": sc["voiced"], "right": sc["right"], "cents": [abs(c) for c in sc["cents"]],
            "settled_right": sc["settled"]["right"]}


def _agg_tuner(scores: list[dict[str, Any]]) -> dict[str, Any]:
    n = sum(s["n"] for s in scores)
    shown = sum(s["shown"] for s in scores)
    right = sum(s["right"] for s in scores)
    cents = np.concatenate([np.asarray(s["cents"], np.float64) for s in scores]) if scores else np.zeros(0)
    return {"readings": n, "note_accuracy": right / n if n else None, "shown_rate": shown / n if n else None,
            "clip_accuracy": sum(s["settled_right"] for s in scores) / len(scores) if scores else None,
            "wrong_rate": (shown - right) / n if n else None,
            "cents_median": float(np.median(cents)) if len(cents) else None,
            "cents_p95": float(np.percentile(cents, 95)) if len(cents) else None}


# -- pictures --------------------------------------------------------------------------------

def _savefig(fig, path: Path) -> None:
    atomic_savefig(fig, path, dpi=100)


def _plot_buckets(buckets: dict[str, dict], path: Path, *, title: str) -> None:
    import matplotlib.pyplot as plt

    labels = list(buckets)
    x = np.arange(len(labels))
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    ax = axes[0]
    noisy = [buckets[b]["si_sdr_noisy"] if buckets[b]["si_sdr_noisy"] is not None else np.nan for b in labels]
    den = [buckets[b]["si_sdr_denoised"] if buckets[b]["si_sdr_denoised"] is not None else np.nan for b in labels]
    ax.bar(x - 0.2, noisy, 0.4, label="noisy")
    ax.bar(x + 0.2, den, 0.4, label="denoised")
    ax.set_title("SI-SDR [dB] (mean)")
    ax = axes[1]
    for key, lab in (("tuner_raw", "tuner alone"), ("tuner_denoised", "with denoiser")):
        ys = [buckets[b][key]["note_accuracy"] if buckets[b].get(key) and buckets[b][key]["note_accuracy"] is not None
              else np.nan for b in labels]
        ax.plot(x, ys, "-o", label=lab)
    ax.set_ylim(0, 1.02)
    ax.set_title("tuner note accuracy")
    ax = axes[2]
    for key, lab in (("tuner_raw", "tuner alone"), ("tuner_denoised", "with denoiser")):
        ys = [buckets[b][key]["cents_median"] if buckets[b].get(key) and buckets[b][key]["cents_median"] is not None
              else np.nan for b in labels]
        ax.plot(x, ys, "-o", label=lab)
    ax.set_yscale("log")
    ax.set_title("median |cents error| (right notes)")
    for ax in axes:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=30, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _savefig(fig, path)


def _plot_spectrograms(examples: list[dict], path: Path, *, params) -> None:
    import matplotlib.pyplot as plt

    n = len(examples)
    fig, axes = plt.subplots(n, 3, figsize=(13, 2.8 * n), squeeze=False)
    extent = None
    for i, ex in enumerate(examples):
        for j, key in enumerate(("noisy", "denoised", "clean")):
            db = 20 * np.log10(np.maximum(np.abs(ex[key]), 1e-10)).T
            frames = db.shape[1]
            extent = (0, frames * params.hop / params.sample_rate, 0, params.n_bins * params.bin_hz / 1000)
            ax = axes[i, j]
            ax.imshow(db, origin="lower", aspect="auto", vmin=-100, vmax=0, extent=extent, cmap="magma")
            ax.set_ylim(0, 5)
            ax.set_title(f"{ex['id']} ({ex['bucket']}, {ex['note']}): {key}", fontsize=8)
            ax.set_xlabel("s", fontsize=7)
            ax.set_ylabel("kHz", fontsize=7)
    fig.tight_layout()
    _savefig(fig, path)


def _plot_latent(mean: np.ndarray, std: np.ndarray, unused: np.ndarray, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(12, 5), sharex=True)
    d = np.arange(len(mean))
    axes[0].bar(d, mean, color=np.where(unused, "tab:red", "tab:blue"))
    axes[0].set_ylabel("mean")
    axes[1].bar(d, std, color=np.where(unused, "tab:red", "tab:blue"))
    axes[1].set_ylabel("std")
    axes[1].set_xlabel("latent dimension (red: unused)")
    fig.suptitle(f"latent space over the split: {int(unused.sum())} of {len(mean)} dimensions unused", fontsize=10)
    fig.tight_layout()
    _savefig(fig, path)


# -- the evaluation --------------------------------------------------------------------------

def _fmt(v, spec=".2f", none="–") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return none
    return format(v, spec)


def _mean(xs) -> Optional[float]:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return float(np.mean(xs)) if xs else None


def evaluate_model(model_path: str | os.PathLike, data_dir: str | os.PathLike, *, split: str = "test",
                   out_dir: str | os.PathLike, max_examples: Optional[int] = None, pitch: bool = True,
                   listen: int = N_PICTURES, num_threads: int = 1, write_metrics: bool = False,
                   clean_inputs: int = CLEAN_INPUTS,
                   history: Optional[str | os.PathLike] = None, command: str = "",
                   progress: Optional[Callable[[int, int], None]] = None) -> dict[str, Any]:
    """Evaluate ``model_path`` (``.keras`` or ``.tflite`` with its sidecar) on ``split`` of
    the dataset at ``data_dir``; write ``report.md``, ``report.json``, ``by_snr.png``,
    ``spectrograms.png``, ``training_curve.png`` (if a ``history.json`` is next to the
    model, or given), ``latent.png`` (seed) and ``listen/*.wav`` to ``out_dir``.

    If the split has no noise-free mixes, the clean guitar of the first ``clean_inputs``
    clips is also fed through the denoiser alone (bucket ``clean``): the denoiser must
    leave a clean note intact (the tuner stays as precise as without it).
    ``pitch=False`` (or a missing ``cleartune.edge.pitch``) skips the tuner metrics;
    ``write_metrics=True`` stores the summary metrics in the model's sidecar.
    Returns the report as a dict (also ``report.json``)."""
    import matplotlib

    from cleartune.edge.audio_io import write_wav
    from cleartune.edge.pipeline import analyze_samples
    from cleartune.provenance import provenance
    from cleartune.train.data.dataset import load_example, load_metadata
    from cleartune.train.featcache import _select
    from cleartune.train.inference import OfflineDenoiser
    from cleartune.train.measures import replay_tuner

    matplotlib.use("Agg")

    t_start = time.time()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    den = OfflineDenoiser(model_path, num_threads=num_threads)
    p = den.params
    rows = _select(load_metadata(data_dir, split=split), max_examples)
    if not rows:
        raise DataError(f"{data_dir}: split {split!r} has no examples")
    sr = rows[0].get("sample_rate") or p.sample_rate
    if int(sr) != p.sample_rate:
        raise DataError(f"{data_dir}: mixes at {sr} Hz, the model needs {p.sample_rate} Hz")
    do_pitch = bool(pitch) and den.preset in ("edge", "seed")
    pitch_note = None if pitch else "tuner metrics not requested (--no-pitch)"

    clips: list[dict[str, Any]] = []
    pictures: list[dict] = []
    latent_mixes: list[np.ndarray] = []
    picture_buckets: set[str] = set()
    has_clean = any(snr_bucket(r.get("snr_db")) == "clean" for r in rows)
    jobs = [(r, False) for r in rows]
    if not has_clean and clean_inputs > 0:
        jobs += [(r, True) for r in rows[: int(clean_inputs)]]
    for i, (row, clean_input) in enumerate(jobs):
        mix, clean, _noise = load_example(data_dir, row)
        if clean_input:
            mix = clean
            bucket = "clean"
        else:
            bucket = snr_bucket(row.get("snr_db"))
        noisy_spec = F.stft(mix, params=p)
        clean_spec = F.stft(clean, params=p)
        est_spec, out_raw = den.spectrum(mix, return_output=True)
        y = F.istft(est_spec, params=p, length=len(mix))
        if den.preset == "seed":
            c_img = to_seed_image(F.polar_features(clean_spec, params=p)[0], params=p)[..., 0]
            n_img = to_seed_image(F.polar_features(noisy_spec, params=p)[0], params=p)[..., 0]
            feat_d = float(np.mean((out_raw[..., 0] - c_img) ** 2))
            feat_n = float(np.mean((n_img - c_img) ** 2))
            latent_mixes.append(mix)
        else:
            c_rho = F.polar_features(clean_spec, params=p)[0] / p.feature_max
            feat_d = float(np.mean((F.polar_features(est_spec, params=p)[0] / p.feature_max - c_rho) ** 2))
            feat_n = float(np.mean((F.polar_features(noisy_spec, params=p)[0] / p.feature_max - c_rho) ** 2))
        # a noise-free mix has no noisy SI-SDR worth averaging (it is the cap)
        s_n = None if clean_input or snr_bucket(row.get("snr_db")) == "clean" else si_sdr(clean, mix)
        s_d = si_sdr(clean, y)
        s_n = None if s_n is None or math.isnan(s_n) else s_n
        s_d = None if math.isnan(s_d) else s_d
        rec: dict[str, Any] = {"id": row["id"], "bucket": bucket, "clean_input": clean_input,
                               "snr_db": float("inf") if clean_input else row.get("snr_db"), "midi": row.get("midi"),
                               "f0_hz": row.get("f0_hz"), "feat_mse_noisy": feat_n, "feat_mse_denoised": feat_d,
                               "si_sdr_noisy": s_n, "si_sdr_denoised": s_d,
                               "si_sdr_improvement": (s_d - s_n) if s_n is not None and s_d is not None else None}
        f0 = float(row.get("f0_hz") or float("nan"))
        if do_pitch and math.isfinite(f0) and f0 > 0:
            kw = dict(f0_hz=f0, onset_s=row.get("onset_s"))
            rec["tuner_raw"] = score_readings(analyze_samples(mix, replay_tuner(params=p)), **kw)
            rec["tuner_denoised"] = score_readings(analyze_samples(mix, replay_tuner(y, params=p)), **kw)
        clips.append(rec)
        if len(pictures) < N_PICTURES and bucket not in picture_buckets:
            picture_buckets.add(bucket)
            pictures.append({"id": row["id"], "bucket": bucket, "note": row.get("note", ""), "noisy": noisy_spec,
                             "denoised": est_spec, "clean": clean_spec, "audio": (mix, y, clean)})
        if progress is not None:
            progress(i + 1, len(jobs))

    # -- aggregate per bucket
    labels = sorted({c["bucket"] for c in clips}, key=bucket_sort_key)
    buckets: dict[str, dict[str, Any]] = {}
    for b in labels + ["all"]:
        cs = [c for c in clips if (not c["clean_input"] if b == "all" else c["bucket"] == b)]
        noisy_only = [c for c in cs if c["bucket"] != "clean"]
        d: dict[str, Any] = {
            "n": len(cs),
            "feat_mse_noisy": _mean(c["feat_mse_noisy"] for c in cs),
            "feat_mse_denoised": _mean(c["feat_mse_denoised"] for c in cs),
            "si_sdr_noisy": _mean(c["si_sdr_noisy"] for c in noisy_only),
            "si_sdr_denoised": _mean(c["si_sdr_denoised"] for c in (noisy_only if b == "all" else cs)),
            "si_sdr_improvement": _mean(c["si_sdr_improvement"] for c in noisy_only),
        }
        if do_pitch:
            d["tuner_raw"] = _agg_tuner([c["tuner_raw"] for c in cs if "tuner_raw" in c])
            d["tuner_denoised"] = _agg_tuner([c["tuner_denoised"] for c in cs if "tuner_denoised" in c])
        buckets[b] = d

    report: dict[str, Any] = {
        "model": str(model_path), "preset": den.preset, "kind": den.meta.kind, "variant": den.variant,
        "dtype": den.meta.dtype, "model_version": den.meta.model_version, "params": den.meta.params,
        "macs_per_inference": den.meta.macs_per_inference, "context_frames": den.context_frames,
        "data": str(data_dir), "split": split, "n_clips": sum(not c["clean_input"] for c in clips),
        "n_clean_inputs": sum(c["clean_input"] for c in clips),
        "feature_scale": "rho / feature_max = features/100, in [-1, 1]"
                         + (" (per-clip dB range, the seed image)" if den.preset == "seed" else " (fixed dB range)"),
        "seed_mse_target": SEED_MSE_TARGET,
        "feat_mse_denoised": buckets["all"]["feat_mse_denoised"], "feat_mse_noisy": buckets["all"]["feat_mse_noisy"],
        "meets_seed_target": (buckets["all"]["feat_mse_denoised"] or 1.0) < SEED_MSE_TARGET,
        "buckets": buckets, "pitch": do_pitch, "pitch_note": pitch_note, "settle_s": SETTLE_S,
        "tracker_source_sha256": tracker_version() if do_pitch else None,
        "clips": clips, "files": {},
    }

    # -- latent analysis (seed)
    if den.preset == "seed":
        lat = den.latent(latent_mixes)
        if lat is not None:
            mean, std = lat.mean(axis=0), lat.std(axis=0)
            med = float(np.median(std)) if len(std) else 0.0
            unused = std < UNUSED_LATENT_REL_STD * max(med, 1e-12)
            _plot_latent(mean, std, unused, out / "latent.png")
            report["latent"] = {"dims": int(lat.shape[1]), "unused": int(unused.sum()),
                                "unused_rule": f"std over the split < {UNUSED_LATENT_REL_STD} x median std",
                                "mean": mean.round(5).tolist(), "std": std.round(5).tolist()}
            report["files"]["latent"] = "latent.png"
        else:
            report["latent"] = {"note": "latent analysis needs the Keras seed model"}

    # -- pictures, listening, curves
    title = f"{Path(model_path).name} on {Path(data_dir).name}/{split} ({len(clips)} clips)"
    _plot_buckets({b: buckets[b] for b in labels}, out / "by_snr.png", title=title)
    report["files"]["by_snr"] = "by_snr.png"
    if pictures:
        _plot_spectrograms(pictures, out / "spectrograms.png", params=p)
        report["files"]["spectrograms"] = "spectrograms.png"
    listen_files = []
    for ex in pictures[: max(0, int(listen))]:
        for name, x in zip(("noisy", "denoised", "clean"), ex["audio"]):
            rel = f"listen/{ex['id']}_{name}.wav"
            peak = max(float(np.max(np.abs(ex["audio"][0]))), 1e-9)
            write_wav(out / rel, np.asarray(x) / max(peak, 1.0), p.sample_rate, subtype="int16")
            listen_files.append(rel)
    report["files"]["listen"] = listen_files
    hist_path = Path(history) if history else Path(model_path).parent / "history.json"
    if hist_path.is_file():
        try:
            from cleartune.train.training import _history_plot

            _history_plot(json.loads(hist_path.read_text()), out / "training_curve.png", title=f"training: {hist_path}")
            report["files"]["training_curve"] = "training_curve.png"
        except (OSError, ValueError, KeyError):
            pass
    report["seconds"] = round(time.time() - t_start, 1)
    report["provenance"] = provenance(command or None)

    (out / "report.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    (out / "report.md").write_text(_markdown(report, labels))
    if write_metrics:
        from cleartune.edge.model_meta import add_metrics

        add_metrics(model_path, summary_metrics(report))
    return report


def summary_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers stored in a model's sidecar."""
    m: dict[str, Any] = {"eval_data": report["data"], "eval_split": report["split"], "eval_clips": report["n_clips"],
                         "feat_mse": report["feat_mse_denoised"], "feat_mse_noisy": report["feat_mse_noisy"],
                         "feature_scale": report["feature_scale"]}
    for b, d in report["buckets"].items():
        m[f"si_sdr_improvement[{b}]"] = d["si_sdr_improvement"]
        if report["pitch"]:
            m[f"note_accuracy_raw[{b}]"] = d["tuner_raw"]["note_accuracy"]
            m[f"note_accuracy_denoised[{b}]"] = d["tuner_denoised"]["note_accuracy"]
    return m


def _markdown(r: dict[str, Any], labels: list[str]) -> str:
    from cleartune.provenance import markdown_block

    L = [f"# Denoiser evaluation: `{Path(r['model']).name}`", ""]
    L.append(f"- model: `{r['model']}` ({r['preset']} preset, kind `{r['kind']}`, {r['dtype']}, version "
             f"`{r['model_version']}`, {_fmt(r['params'], ',d')} parameters, {_fmt(r['macs_per_inference'], ',d')} MAC "
             f"per inference)")
    L.append(f"- data: `{r['data']}`, split `{r['split']}`, {r['n_clips']} clips"
             + (f" (+ the clean guitar of {r['n_clean_inputs']} of them fed alone: bucket `clean`; not in `all`)"
                if r.get("n_clean_inputs") else ""))
    L.append("")
    L.append("## The seed's metric")
    L.append("")
    L.append(f"Feature MSE on the {r['split']} split, scale {r['feature_scale']}: denoised "
             f"**{_fmt(r['feat_mse_denoised'], '.5f')}** (noisy input: {_fmt(r['feat_mse_noisy'], '.5f')}); "
             f"the seed's target is < {r['seed_mse_target']}: "
             f"{'met' if r['meets_seed_target'] else 'not met'}.")
    L.append("")
    L.append("## Per SNR bucket")
    L.append("")
    head = "| bucket | n | feat MSE noisy | feat MSE denoised | SI-SDR noisy | SI-SDR denoised | SI-SDR gain |"
    sep = "|---|---:|---:|---:|---:|---:|---:|"
    if r["pitch"]:
        head += (" clips right alone | clips right denoised | note acc. alone | note acc. denoised | wrong alone |"
                 " wrong denoised | median / p95 cents alone | median / p95 cents denoised |")
        sep += "---:|---:|---:|---:|---:|---:|---:|---:|"
    L += [head, sep]
    for b in labels + ["all"]:
        d = r["buckets"][b]
        line = (f"| {b} | {d['n']} | {_fmt(d['feat_mse_noisy'], '.4f')} | {_fmt(d['feat_mse_denoised'], '.4f')} | "
                f"{_fmt(d['si_sdr_noisy'], '.1f')} | {_fmt(d['si_sdr_denoised'], '.1f')} | "
                f"{_fmt(d['si_sdr_improvement'], '+.1f')} |")
        if r["pitch"]:
            a, t = d["tuner_raw"], d["tuner_denoised"]
            line += (f" {_fmt(a['clip_accuracy'], '.1%')} | {_fmt(t['clip_accuracy'], '.1%')} |"
                     f" {_fmt(a['note_accuracy'], '.1%')} | {_fmt(t['note_accuracy'], '.1%')} | "
                     f"{_fmt(a['wrong_rate'], '.1%')} | {_fmt(t['wrong_rate'], '.1%')} | "
                     f"{_fmt(a['cents_median'], '.2f')} / {_fmt(a['cents_p95'], '.2f')} | "
                     f"{_fmt(t['cents_median'], '.2f')} / {_fmt(t['cents_p95'], '.2f')} |")
        L.append(line)
    L.append("")
    L.append("SI-SDR in dB against the clean guitar (mean over clips; the `clean` bucket has no noisy SI-SDR: the "
             "denoised value there shows how much the denoiser alters a clean note).")
    if r["pitch"]:
        L.append(f"Tuner: `cleartune.edge.pipeline.Tuner` (tracker source sha256 {r.get('tracker_source_sha256')}) on the "
                 f"mix alone, and on the mix with the time-aligned denoised audio; clips right = the settled reading "
                 f"(median reading {SETTLED_FROM_S:g}-{SETTLED_TO_S:g} s after the pluck) names the note nearest the true "
                 f"f0; readings from max(onset, 0) + {r['settle_s']:g} s to the end of each clip; note accuracy = "
                 f"readings naming the note nearest the true f0 / readings; cents errors of the right-note readings "
                 f"against the clip's true f0 (`cleartune.train.measures`).")
    elif r.get("pitch_note"):
        L.append(f"Tuner metrics skipped: {r['pitch_note']}.")
    if "latent" in r:
        L += ["", "## Latent space (seed)", ""]
        la = r["latent"]
        if "dims" in la:
            L.append(f"{la['unused']} of {la['dims']} latent dimensions unused ({la['unused_rule']}); "
                     f"![latent](latent.png)")
        else:
            L.append(la["note"])
    L += ["", "## Figures", ""]
    for key, f in r["files"].items():
        if key == "listen":
            continue
        L.append(f"- {key}: ![{key}]({f})")
    if r["files"].get("listen"):
        L.append("- listening examples: " + ", ".join(f"[{Path(f).name}]({f})" for f in r["files"]["listen"]))
    L += ["", "## Provenance", "", markdown_block(r["provenance"]), f"- evaluation took {r['seconds']} s", ""]
    return "\n".join(L)
