"""Float vs int8: per-window latency in LiteRT and the accuracy lost to quantization.

Runs on an edge-only install: numpy, scipy, LiteRT and :mod:`cleartune.edge`; never
TensorFlow (matplotlib only for the optional plot, imported lazily).

What is measured (:func:`make_report`):

* **latency** [ms] of one window (quantize the input, invoke, dequantize the output:
  what the runtime pays per hop) for each model at each thread count, all interpreters
  measured side by side in one loop (interleaved, the order rotated every window) after
  a warm-up, over ``windows`` real feature windows of the dataset: median, p95, mean;
* **size** (file bytes) and **MACs per window** (from the graph, :mod:`.tflite_info`);
* **accuracy per input-SNR bucket**, both models applied to every frame of the test
  clips (:func:`cleartune.quantize.windows.denoise_offline`): mean squared error of the
  scaled features (``rho / feature_max``) int8 vs float and each vs clean, and of the raw
  model outputs int8 vs float; SI-SDR [dB] against the clean guitar (and of the noisy
  mix) of the audio of the product path -- :class:`cleartune.edge.denoiser.StreamingDenoiser`
  when it runs the model's kind (checked against the offline computation), else the
  offline inverse; and the tuner (:class:`cleartune.edge.pipeline.Tuner` with the
  streaming denoiser, or the offline audio replayed, through
  :func:`cleartune.edge.pipeline.analyze_samples`): note accuracy [%] of the readings that
  count, median and p95 absolute cents error of the readings with the right note, and the
  median |cents(int8) - cents(float)| of paired readings -- every measure (SI-SDR, SNR
  bucket, settle rule, right note) from :mod:`cleartune.train.measures`;
* **targets** (pass/fail): SI-SDR drop <= 0.5 dB, note accuracy drop <= 1 point,
  median cents change <= 0.1 cent, int8 median latency <= float at 1 thread.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from cleartune.edge.errors import DataError, ModelLoadError
from cleartune.edge.fileio import atomic_write_text
from cleartune.edge.model_meta import ModelMeta, load_meta
from cleartune.edge.params import check_compatible

# every measure is defined once, in cleartune.train.measures (imported here for this module's users)
from cleartune.train.measures import (  # noqa: E402
    SETTLE_S,
    SI_SDR_CAP_DB,
    bucket_sort_key,
    counts_from,
    judge,
    reading_arrays,
    replay_tuner,
    score_clip,
    si_sdr,
    snr_bucket,
)
from cleartune.train.plots import atomic_savefig

from . import tflite_info
from .windows import ModelIO, check_shapes, denoise_offline, feature_view, model_io, snr_value, stratified_rows

#: Targets: (key, description, threshold).
TARGET_SI_SDR_DROP_DB = 0.5
TARGET_NOTE_ACC_DROP_POINTS = 1.0
TARGET_MEDIAN_CENTS_CHANGE = 0.1
DEFAULT_WINDOWS = 200
DEFAULT_THREADS = (1, 4)
DEFAULT_CLIPS = 60


# -- small metrics ----------------------------------------------------------------------------

def mse(a: np.ndarray, b: np.ndarray) -> float:
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(np.mean(d * d))


def percentile(xs: Sequence[float], q: float) -> Optional[float]:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return float(np.percentile(xs, q)) if xs else None


# -- models ------------------------------------------------------------------------------------

@dataclass
class Variant:
    """One model file under test."""

    label: str                 # "float" or "int8"
    path: Path
    meta: ModelMeta
    info: tflite_info.TFLiteInfo
    io: ModelIO


def load_variant(path: str | Path, *, label: str) -> Variant:
    """Open a ``.tflite`` and its sidecar with every check (file type, sha256, shapes,
    quantization parameters as recorded).  One-line :class:`ModelLoadError` otherwise."""
    p = tflite_info.check_tflite_file(path)
    info = tflite_info.inspect_tflite(p)
    meta = load_meta(p, verify_sha=True)
    io = model_io(meta)
    if info.n_inputs != 1 or info.n_outputs != 1:
        raise ModelLoadError(f"{p}: expected one input and one output, got {info.n_inputs} and {info.n_outputs}")
    check_shapes(io, input_shape=info.input["shape"], output_shape=info.output["shape"], what=str(p))
    for side in ("input", "output"):
        rec = getattr(meta, side) or {}
        act = getattr(info, side)
        if rec and rec.get("dtype") and rec.get("dtype") != act["dtype"]:
            raise ModelLoadError(f"{p}: sidecar says {side} {rec.get('dtype')}, the file has {act['dtype']}")
        if rec and act["dtype"] == "int8" and not math.isclose(float(rec.get("scale", 0.0)), act["scale"], rel_tol=1e-6):
            raise ModelLoadError(f"{p}: sidecar {side} scale {rec.get('scale')} differs from the file's {act['scale']}")
    tflite_info.check_builtin_only(info)
    return Variant(label=label, path=p, meta=meta, info=info, io=io)


def check_pair(flt: Variant, q: Variant) -> None:
    """The two files must be the same model: same preset, kind, context and signal params
    (:class:`~cleartune.edge.errors.ParamsMismatchError` names the differing fields), and,
    when both sidecars record it, the same source Keras model."""
    if q.info.input.get("dtype") != "int8":
        raise ModelLoadError(f"{q.path}: --int8 model has {q.info.input.get('dtype')} input, not int8")
    tflite_info.check_int8(q.info)
    if flt.info.input.get("dtype") == "int8":
        raise ModelLoadError(f"{flt.path}: --float model is an int8 model")
    check_compatible(q.meta.signal_params, flt.meta.signal_params, what=f"int8 model {q.path.name}")
    for f in ("preset", "kind", "context_frames"):
        a, b = getattr(flt.meta, f), getattr(q.meta, f)
        if a != b:
            raise ModelLoadError(f"{flt.path.name} and {q.path.name} differ in {f} ({a!r} vs {b!r}): not the same model")
    sa = (flt.meta.extra or {}).get("source", {}).get("sha256")
    sb = (q.meta.extra or {}).get("source", {}).get("sha256")
    if sa and sb and sa != sb:
        raise ModelLoadError(f"{flt.path.name} and {q.path.name} were converted from different Keras models")


def _model(path: Path, threads: int):
    from .runtime import Model

    return Model(path, num_threads=threads)


# -- latency -----------------------------------------------------------------------------------

def measure_latency(variants: Sequence[Variant], windows: np.ndarray, *, threads: Sequence[int] = DEFAULT_THREADS,
                    warmup: int = 20) -> dict[str, dict[str, Any]]:
    """Per-window latency [ms] of every (variant, threads) pair, measured interleaved.

    ``windows``: float32 ``(n, *input_shape)``.  Each window goes through every
    interpreter in a rotating order; ``warmup`` rounds first are not recorded.  Returns
    ``{"<label>@<t>t": {"label", "threads", "n", "median_ms", "p95_ms", "mean_ms", "min_ms"}}``."""
    runners = []
    for v in variants:
        for t in threads:
            runners.append((f"{v.label}@{t}t", v.label, int(t), _model(v.path, int(t))))
    times: dict[str, list[int]] = {k: [] for k, *_ in runners}
    n = windows.shape[0]
    x = np.empty((1,) + windows.shape[1:], dtype=np.float32)
    clock = time.perf_counter_ns
    for i in range(-warmup, n):
        x[0] = windows[i % n]
        r = (i + warmup) % len(runners)
        for key, _label, _t, m in runners[r:] + runners[:r]:
            t0 = clock()
            m(x)
            t1 = clock()
            if i >= 0:
                times[key].append(t1 - t0)
    out = {}
    for key, label, t, _m in runners:
        ms = np.asarray(times[key], np.float64) / 1e6
        out[key] = {"label": label, "threads": t, "n": int(ms.size), "median_ms": float(np.median(ms)),
                    "p95_ms": float(np.percentile(ms, 95)), "mean_ms": float(ms.mean()), "min_ms": float(ms.min())}
    return out


# -- the tuner ---------------------------------------------------------------------------------

def tuner_readings(raw: np.ndarray, denoised: Optional[np.ndarray], *, meta: ModelMeta, tuner: Any = None) -> list:
    """The tuner's readings for a clip ``raw`` (the noisy mix, float, the model's rate):
    :func:`cleartune.edge.pipeline.analyze_samples` through ``tuner`` (e.g. one with a
    streaming denoiser: the product path), else through a Tuner that replays ``denoised``
    (aligned with ``raw``, or None) in place of the streaming denoiser
    (:func:`cleartune.train.measures.replay_tuner`)."""
    from cleartune.edge.pipeline import analyze_samples

    if tuner is None:
        tuner = replay_tuner(denoised, params=meta.signal_params)
    return analyze_samples(np.asarray(raw, np.float32), tuner)


def streaming_available(io: ModelIO) -> bool:
    """True when :class:`cleartune.edge.denoiser.StreamingDenoiser` runs this kind of model."""
    from cleartune.edge.denoiser import STREAMING_KINDS

    return io.preset == "edge" and io.kind in STREAMING_KINDS


def score_readings(readings: Sequence, *, row: dict[str, Any]) -> dict[str, Any]:
    """Readings of one clip against its truth, scored as every report scores them
    (:func:`cleartune.train.measures.score_clip`: the readings that count, from
    ``max(onset, 0) + SETTLE_S``; right when naming the note nearest the true ``f0_hz``;
    a reading without a note counts as wrong; cents errors of the right readings).
    Returns ``{"n", "correct", "cents_abs": [...], "by_t": {t: signed cents}}`` (``by_t``
    pairs the readings of two runs on the same clip)."""
    f0 = float(row.get("f0_hz") or float("nan"))
    if not (math.isfinite(f0) and f0 > 0):
        return {"n": 0, "correct": 0, "cents_abs": [], "by_t": {}}
    t, f, midi = reading_arrays(list(readings))
    sc = score_clip(t, f, true_f0=f0, onset_s=row.get("onset_s"), notes=midi)
    sel = t >= counts_from(row.get("onset_s"))
    right, _v, _o, cents = judge(f[sel], true_f0=f0, notes=midi[sel])
    by_t = {round(float(tt), 4): float(c) for tt, ok, c in zip(t[sel], right, cents) if ok}
    return {"n": sc["n"], "correct": sc["right"], "cents_abs": [abs(c) for c in sc["cents"]], "by_t": by_t}


# -- the report --------------------------------------------------------------------------------

def _rows(data_dir: Path, *, split: str, clips: int, meta: ModelMeta, seed: int) -> list[dict[str, Any]]:
    from cleartune.train.data.dataset import load_metadata

    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: dataset folder not found")
    rows = load_metadata(data_dir, split=split)
    if not rows:
        raise DataError(f"{data_dir}/metadata.csv has no mixes in split {split!r}")
    p = meta.signal_params
    srs = {r.get("sample_rate") for r in rows} - {None}
    if srs and srs != {p.sample_rate}:
        raise DataError(f"{data_dir}: audio at {sorted(srs)} Hz but the models expect {p.sample_rate} Hz")
    return stratified_rows(rows, clips, seed=seed) if clips > 0 else rows


def _latency_windows(samples: list[np.ndarray], n: int, *, seed: int) -> np.ndarray:
    """``n`` windows drawn from the per-clip samples (``(m_i, *input_shape)`` each)."""
    pool = np.concatenate(samples) if samples else np.zeros((0,))
    if pool.shape[0] == 0:
        raise DataError("no feature windows to time")
    rng = np.random.default_rng(seed)
    pick = rng.choice(pool.shape[0], size=n, replace=pool.shape[0] < n)
    return np.ascontiguousarray(pool[pick], dtype=np.float32)


def make_report(float_path: str | Path, int8_path: str | Path, *, data_dir: str | Path, split: str = "test",
                windows: int = DEFAULT_WINDOWS, threads: Sequence[int] = DEFAULT_THREADS, clips: int = DEFAULT_CLIPS,
                seed: int = 0, command: Optional[str] = None, quiet: bool = False) -> dict[str, Any]:
    """Measure everything (see the module docstring) and return the report as a dict
    (the JSON written by :func:`write_report`)."""
    from cleartune.edge import features as F
    from cleartune.provenance import provenance
    from cleartune.train.data.dataset import load_example

    if windows < 1:
        raise ValueError("--windows must be >= 1")
    threads = [int(t) for t in threads]
    if not threads or min(threads) < 1:
        raise ValueError("--threads must list positive thread counts")
    flt = load_variant(float_path, label="float")
    q = load_variant(int8_path, label="int8")
    check_pair(flt, q)
    meta, io = flt.meta, flt.io
    d = Path(data_dir)
    rows = _rows(d, split=split, clips=clips, meta=meta, seed=seed)
    log = (lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    log(f"report: {len(rows)} clips of {d} ({split})")

    p = meta.signal_params
    m_f, m_q = _model(flt.path, 1), _model(q.path, 1)
    streaming = streaming_available(io)
    denoisers: dict[str, Any] = {}
    tuners: dict[str, Any] = {}
    if streaming:
        from cleartune.edge.denoiser import StreamingDenoiser

        denoisers = {v.label: StreamingDenoiser(v.path, num_threads=1, params=p) for v in (flt, q)}
        from cleartune.edge.pipeline import Tuner, TunerConfig

        tuners = {v.label: Tuner(TunerConfig(model=str(v.path), params=p, threads=1)) for v in (flt, q)}
    path_desc = ("streaming: edge.denoiser.StreamingDenoiser" + (" + edge.pipeline.Tuner" if tuners else "")
                 if streaming else ("offline: model on every frame window, features.istft" if io.preset == "edge"
                                    else "offline: model on each clip image, features.istft"))
    log(f"report: denoising path {path_desc}")
    per_clip: list[dict[str, Any]] = []
    clip_inputs: list[np.ndarray] = []
    rng_w = np.random.default_rng(seed + 1)
    per_clip_w = int(math.ceil(windows / max(1, len(rows)))) + 1
    tuner_raw: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        mix, clean, _noise = load_example(d, row)
        res_f = denoise_offline(m_f, mix, meta=meta, io=io)
        res_q = denoise_offline(m_q, mix, meta=meta, io=io)
        clip = res_f["clip"]
        # a few windows of every clip for the timing (copies: the inputs are strided views)
        take = rng_w.choice(clip.inputs.shape[0], size=min(per_clip_w, clip.inputs.shape[0]), replace=False)
        clip_inputs.append(np.array(clip.inputs[np.sort(take)], dtype=np.float32))
        audio = {"float": res_f["audio"], "int8": res_q["audio"]}
        rec: dict[str, Any] = {"id": row.get("id"), "snr_db": snr_value(row), "bucket": snr_bucket(snr_value(row))}
        if denoisers:
            streamed = {lab: np.asarray(den.denoise(mix), np.float64) for lab, den in denoisers.items()}
            # the offline inverse has no frames past the end: compare all but the last n_fft / 2 samples
            body = slice(0, max(1, len(mix) - p.n_fft // 2))
            rec["streaming_vs_offline_max_abs"] = max(float(np.max(np.abs(streamed[lab][body] - audio[lab][body])))
                                                      for lab in streamed)
            audio = streamed
        clean_spec = F.stft(clean, params=p)
        fv_c = feature_view(clean_spec, meta=meta, db_range=clip.db_range)
        fv_f = feature_view(res_f["spec"], meta=meta, db_range=clip.db_range)
        fv_q = feature_view(res_q["spec"], meta=meta, db_range=clip.db_range)
        fv_n = feature_view(clip.spec, meta=meta, db_range=clip.db_range)
        rec.update({
            "output_mse_int8_vs_float": mse(res_q["outputs"], res_f["outputs"]),
            "output_max_abs_int8_vs_float": float(np.max(np.abs(res_q["outputs"] - res_f["outputs"]))),
            "feature_mse_int8_vs_float": mse(fv_q, fv_f), "feature_mse_float_vs_clean": mse(fv_f, fv_c),
            "feature_mse_int8_vs_clean": mse(fv_q, fv_c), "feature_mse_noisy_vs_clean": mse(fv_n, fv_c),
            "si_sdr_noisy_db": None if snr_value(row) == math.inf else si_sdr(clean, mix),
            "si_sdr_float_db": si_sdr(clean, audio["float"]), "si_sdr_int8_db": si_sdr(clean, audio["int8"]),
        })
        sc = {"noisy": score_readings(tuner_readings(mix, None, meta=meta), row=row)}
        for lab in ("float", "int8"):
            sc[lab] = score_readings(tuner_readings(mix, audio[lab], meta=meta, tuner=tuners.get(lab)), row=row)
        tuner_raw[str(row.get("id"))] = sc
        for lab in ("noisy", "float", "int8"):
            rec[f"tuner_{lab}_readings"] = sc[lab]["n"]
            rec[f"tuner_{lab}_correct"] = sc[lab]["correct"]
        per_clip.append(rec)
        if not quiet and (i + 1) % 10 == 0:
            log(f"report: {i + 1}/{len(rows)} clips")

    log(f"report: timing {windows} windows x {len(threads)} thread settings x 2 models (interleaved)")
    lat_windows = _latency_windows(clip_inputs, windows, seed=seed)
    latency = measure_latency([flt, q], lat_windows, threads=threads, warmup=max(20, windows // 10))

    buckets = aggregate(per_clip, tuner_raw, rows=rows)
    models = {v.label: {"path": str(v.path), "bytes": v.info.bytes, "macs_per_window": v.info.macs,
                        "params": v.meta.params, "dtype": v.meta.dtype, "model_version": v.meta.model_version,
                        "sha256": v.meta.sha256, "input": v.info.input, "output": v.info.output,
                        "op_counts": v.info.op_counts} for v in (flt, q)}
    report = {
        "title": "cleartune: float vs int8",
        "provenance": provenance(command),
        "models": models,
        "model": {"preset": meta.preset, "kind": meta.kind, "context_frames": meta.context_frames,
                  "signal_params": meta.signal_params.to_dict(),
                  "hop_ms": 1000.0 * meta.signal_params.hop / meta.signal_params.sample_rate},
        "data": {"dir": str(d), "split": split, "clips": len(rows), "seed": seed},
        "denoising_path": path_desc,
        "latency": {"windows": int(lat_windows.shape[0]), "threads": threads, "interleaved": True,
                    "includes": "input quantization, invoke, output dequantization", "results": latency},
        "accuracy": {"buckets": buckets["buckets"], "overall": buckets["overall"], "tuner": True,
                     "settle_s": SETTLE_S, "si_sdr_cap_db": SI_SDR_CAP_DB},
        "per_clip": per_clip,
    }
    report["targets"] = evaluate_targets(report)
    return report


def _mean(xs) -> Optional[float]:
    xs = [float(x) for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.mean(xs)) if xs else None


def _summarise(recs: list[dict[str, Any]], tuner: Optional[list[dict[str, Any]]]) -> dict[str, Any]:
    s: dict[str, Any] = {"clips": len(recs)}
    for k in ("output_mse_int8_vs_float", "feature_mse_int8_vs_float", "feature_mse_float_vs_clean",
              "feature_mse_int8_vs_clean", "feature_mse_noisy_vs_clean", "si_sdr_noisy_db", "si_sdr_float_db",
              "si_sdr_int8_db"):
        s[k] = _mean(r[k] for r in recs)
    s["output_max_abs_int8_vs_float"] = max((r["output_max_abs_int8_vs_float"] for r in recs), default=None)
    if any("streaming_vs_offline_max_abs" in r for r in recs):
        s["streaming_vs_offline_max_abs"] = max(r.get("streaming_vs_offline_max_abs", 0.0) for r in recs)
    s["si_sdr_drop_db"] = _mean(r["si_sdr_float_db"] - r["si_sdr_int8_db"] for r in recs)
    if tuner is not None:
        for lab in ("noisy", "float", "int8"):
            n = sum(t[lab]["n"] for t in tuner)
            c = sum(t[lab]["correct"] for t in tuner)
            errs = [e for t in tuner for e in t[lab]["cents_abs"]]
            s[f"note_acc_{lab}_pct"] = 100.0 * c / n if n else None
            s[f"cents_median_{lab}"] = percentile(errs, 50)
            s[f"cents_p95_{lab}"] = percentile(errs, 95)
            s[f"readings_{lab}"] = n
        paired = [abs(t["int8"]["by_t"][k] - t["float"]["by_t"][k]) for t in tuner for k in t["float"]["by_t"]
                  if k in t["int8"]["by_t"]]
        s["cents_diff_median_int8_vs_float"] = percentile(paired, 50)
        s["cents_diff_p95_int8_vs_float"] = percentile(paired, 95)
        a, b = s.get("note_acc_float_pct"), s.get("note_acc_int8_pct")
        s["note_acc_drop_points"] = (a - b) if a is not None and b is not None else None
        a, b = s.get("cents_median_float"), s.get("cents_median_int8")
        s["cents_median_change"] = abs(b - a) if a is not None and b is not None else None
    return s


def aggregate(per_clip: list[dict[str, Any]], tuner_raw: Optional[dict[str, dict[str, Any]]], *,
              rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-bucket and overall summaries of the per-clip records."""
    out: dict[str, Any] = {}
    by: dict[str, list[int]] = {}
    for i, r in enumerate(per_clip):
        by.setdefault(r["bucket"], []).append(i)
    for b in sorted(by, key=bucket_sort_key):
        idx = by[b]
        tn = [tuner_raw[str(per_clip[i]["id"])] for i in idx] if tuner_raw is not None else None
        out[b] = _summarise([per_clip[i] for i in idx], tn)
    tn_all = list(tuner_raw.values()) if tuner_raw is not None else None
    return {"buckets": out, "overall": _summarise(per_clip, tn_all)}


def evaluate_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The four targets with value, threshold and status ("pass", "fail" or "n/a")."""
    ov = report["accuracy"]["overall"]
    lat = report["latency"]["results"]

    def item(name, value, threshold, ok_fn, unit, note=""):
        status = "n/a" if value is None else ("pass" if ok_fn(value) else "fail")
        return {"target": name, "value": value, "threshold": threshold, "unit": unit, "status": status, "note": note}

    f1, q1 = lat.get("float@1t"), lat.get("int8@1t")
    lat_ratio = (q1["median_ms"] / f1["median_ms"]) if f1 and q1 and f1["median_ms"] > 0 else None
    return [
        item("SI-SDR drop (float - int8, mean over clips)", ov.get("si_sdr_drop_db"), TARGET_SI_SDR_DROP_DB,
             lambda v: v <= TARGET_SI_SDR_DROP_DB, "dB"),
        item("note accuracy drop (float - int8)", ov.get("note_acc_drop_points"), TARGET_NOTE_ACC_DROP_POINTS,
             lambda v: v <= TARGET_NOTE_ACC_DROP_POINTS, "points"),
        item("median abs cents error change", ov.get("cents_median_change"), TARGET_MEDIAN_CENTS_CHANGE,
             lambda v: v <= TARGET_MEDIAN_CENTS_CHANGE, "cents"),
        item("int8 / float median latency at 1 thread", lat_ratio, 1.0, lambda v: v <= 1.0, "ratio",
             "" if lat_ratio is not None else "1 thread not measured"),
    ]


# -- writing -----------------------------------------------------------------------------------

def _fmt(v, nd=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return f"{int(v):,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if v != 0 and (abs(v) < 10 ** -nd or abs(v) >= 1e6):
            return f"{v:.2e}"
        return f"{v:.{nd}f}"
    return str(v)


def to_markdown(report: dict[str, Any], *, plot_note: str = "") -> str:
    """The report as markdown."""
    from cleartune.provenance import markdown_block

    L: list[str] = [f"# {report['title']}", ""]
    m = report["model"]
    L += [f"Model: preset `{m['preset']}`, kind `{m['kind']}`, context {m['context_frames']} frames, "
          f"hop {m['hop_ms']:.2f} ms.  Data: `{report['data']['dir']}` split `{report['data']['split']}`, "
          f"{report['data']['clips']} clips.", "", f"Denoising path: {report['denoising_path']}"
          + (f" (max |streaming - offline| {report['accuracy']['overall']['streaming_vs_offline_max_abs']:.2e})"
             if "streaming_vs_offline_max_abs" in report["accuracy"]["overall"] else "") + ".", ""]
    L += ["## Targets", "", "| target | value | threshold | status |", "|---|---|---|---|"]
    for t in report["targets"]:
        note = f" ({t['note']})" if t.get("note") else ""
        L.append(f"| {t['target']} | {_fmt(t['value'])} {t['unit']} | <= {t['threshold']:g} | **{t['status']}**{note} |")
    L += ["", "## Models", "", "| model | file | bytes | MACs / window | params | input | output |", "|---|---|---|---|---|---|---|"]
    for lab, v in report["models"].items():
        def io_s(d):
            return f"{d['dtype']} {d['shape']}" + (f" s={d['scale']:.4g} zp={d['zero_point']}" if d['dtype'] == 'int8' else "")
        L.append(f"| {lab} | `{Path(v['path']).name}` | {v['bytes']:,} | {v['macs_per_window']:,} | "
                 f"{_fmt(v['params'])} | {io_s(v['input'])} | {io_s(v['output'])} |")
    lat = report["latency"]
    L += ["", f"## Latency per window (LiteRT, {lat['windows']} windows, interleaved; {lat['includes']})", "",
          "| model | threads | median ms | p95 ms | mean ms | min ms |", "|---|---|---|---|---|---|"]
    for r in lat["results"].values():
        L.append(f"| {r['label']} | {r['threads']} | {_fmt(r['median_ms'])} | {_fmt(r['p95_ms'])} | "
                 f"{_fmt(r['mean_ms'])} | {_fmt(r['min_ms'])} |")
    cores = report["provenance"].get("cpu_count") or 0
    over = [t for t in lat["threads"] if cores and t > cores]
    if over:
        L += ["", f"Note: {over} thread(s) exceed the {cores} cores of this machine; those timings show "
                  "oversubscription, not the device's multi-core speed."]
    acc = report["accuracy"]
    L += ["", "## Accuracy by input SNR", "",
          "Feature MSE on `rho / feature_max` ([-1, 1]); SI-SDR of the denoised audio against the clean guitar.", "",
          "| SNR | clips | feat MSE int8 vs float | feat MSE float vs clean | feat MSE int8 vs clean | "
          "SI-SDR noisy dB | SI-SDR float dB | SI-SDR int8 dB | SI-SDR drop dB |",
          "|---|---|---|---|---|---|---|---|---|"]
    rows = list(acc["buckets"].items()) + [("all", acc["overall"])]
    for b, s in rows:
        L.append(f"| {b} | {s['clips']} | {_fmt(s['feature_mse_int8_vs_float'], 5)} | {_fmt(s['feature_mse_float_vs_clean'], 5)} | "
                 f"{_fmt(s['feature_mse_int8_vs_clean'], 5)} | {_fmt(s['si_sdr_noisy_db'], 2)} | {_fmt(s['si_sdr_float_db'], 2)} | "
                 f"{_fmt(s['si_sdr_int8_db'], 2)} | {_fmt(s['si_sdr_drop_db'], 3)} |")
    if acc["tuner"]:
        L += ["", f"## Tuner (readings from max(onset, 0) + {acc['settle_s']:g} s; right = the note nearest the true f0; "
              "no note counts as wrong)", "",
              "| SNR | readings | note acc noisy % | note acc float % | note acc int8 % | median cents float | "
              "median cents int8 | p95 cents float | p95 cents int8 | median paired abs(int8 - float) cents |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for b, s in rows:
            L.append(f"| {b} | {s.get('readings_float')} | {_fmt(s.get('note_acc_noisy_pct'), 1)} | "
                     f"{_fmt(s.get('note_acc_float_pct'), 1)} | {_fmt(s.get('note_acc_int8_pct'), 1)} | "
                     f"{_fmt(s.get('cents_median_float'), 2)} | {_fmt(s.get('cents_median_int8'), 2)} | "
                     f"{_fmt(s.get('cents_p95_float'), 2)} | {_fmt(s.get('cents_p95_int8'), 2)} | "
                     f"{_fmt(s.get('cents_diff_median_int8_vs_float'), 3)} |")
    if any(t["status"] == "fail" for t in report["targets"]):
        L += ["", "Some targets are missed: `cleartune quantize MODEL.keras --calib DATA --out DIR --debug` writes a "
                  "per-layer error analysis (needs TensorFlow) to find the layers that lose the most."]
    L += ["", "## Provenance", "", markdown_block(report["provenance"]).rstrip()]
    if plot_note:
        L += ["", plot_note]
    return "\n".join(L) + "\n"


#: The atomic text writer (edge/fileio), under the names the benchmarks import.
_atomic_text = atomic_write_text


def plot_report(report: dict[str, Any], path: Path) -> Optional[str]:
    """Latency and accuracy figure (PNG).  Returns None, or a note when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        return f"Plot skipped: matplotlib is not available ({type(e).__name__})."
    acc = report["accuracy"]
    n_panels = 3 if acc["tuner"] else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 4.2))
    ax = axes[0]
    res = report["latency"]["results"]
    labels = [f"{r['label']}\n{r['threads']} thr" for r in res.values()]
    med = [r["median_ms"] for r in res.values()]
    p95 = [r["p95_ms"] for r in res.values()]
    colors = ["tab:blue" if r["label"] == "float" else "tab:orange" for r in res.values()]
    xs = np.arange(len(labels))
    ax.bar(xs, med, color=colors)
    ax.errorbar(xs, med, yerr=[np.zeros(len(med)), np.subtract(p95, med)], fmt="none", ecolor="k", capsize=4)
    ax.set_xticks(xs, labels)
    ax.set_ylabel("ms per window (median, bar to p95)")
    ax.set_title("LiteRT latency")
    b_names = list(acc["buckets"])
    bx = np.arange(len(b_names))
    ax = axes[1]
    for off, key, lab, col in ((-0.27, "si_sdr_noisy_db", "noisy", "tab:gray"), (0.0, "si_sdr_float_db", "float", "tab:blue"),
                               (0.27, "si_sdr_int8_db", "int8", "tab:orange")):
        vals = [acc["buckets"][b][key] if acc["buckets"][b][key] is not None else np.nan for b in b_names]
        ax.bar(bx + off, vals, width=0.27, label=lab, color=col)
    ax.set_xticks(bx, b_names, rotation=20)
    ax.set_ylabel("SI-SDR [dB]")
    ax.set_title("SI-SDR by input SNR")
    ax.legend()
    if acc["tuner"]:
        ax = axes[2]
        for off, lab, col in ((-0.27, "noisy", "tab:gray"), (0.0, "float", "tab:blue"), (0.27, "int8", "tab:orange")):
            vals = [acc["buckets"][b].get(f"note_acc_{lab}_pct") for b in b_names]
            ax.bar(bx + off, [np.nan if v is None else v for v in vals], width=0.27, label=lab, color=col)
        ax.set_xticks(bx, b_names, rotation=20)
        ax.set_ylabel("note accuracy [%]")
        ax.set_ylim(0, 100)
        ax.set_title("Tuner note accuracy")
        ax.legend()
    fig.suptitle(f"{report['model']['preset']}/{report['model']['kind']}: float vs int8")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    return None


def write_report(report: dict[str, Any], out_dir: str | Path, *, stem: str = "report", plot: bool = True) -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.json`` and ``<stem>.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / f"{stem}.md", "json": out / f"{stem}.json", "png": out / f"{stem}.png"}
    note = plot_report(report, paths["png"]) if plot else "Plot not requested."
    if note:
        paths.pop("png")
        report.setdefault("notes", []).append(note)
    _atomic_text(paths["json"], json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n")
    _atomic_text(paths["md"], to_markdown(report, plot_note=note or f"![float vs int8]({paths['png'].name})"))
    return paths


def json_safe(o):
    """Plain-JSON copy of ``o``: numpy scalars to Python, NaN to null, infinities to
    the strings "inf"/"-inf" (a clean mix has SNR inf), paths to strings."""
    if isinstance(o, dict):
        return {str(k): json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_safe(v) for v in o]
    if isinstance(o, np.ndarray):
        return [json_safe(v) for v in o.tolist()]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        f = float(o)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(o, Path):
        return str(o)
    return o
