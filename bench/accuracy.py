"""Note accuracy and cents error versus SNR on a held-out dataset, for our tuner (alone,
with the float denoiser, with the int8 denoiser) and the references (librosa.pyin, the
plain harmonic-sum tracker).

Systems (each a function ``clip -> (t, f0[, midi])``, nan where no note is shown):

* ``tracker``        -- :class:`~cleartune.edge.pipeline.Tuner` without the denoiser (``--no-denoise``);
* ``tracker+float``  -- the Tuner with the float32 model through the streaming denoiser;
* ``tracker+int8``   -- the same with the int8 model (the product);
* ``pyin``           -- :func:`cleartune.bench.references.pyin_track`, sampled at the tuner's reading rate;
* ``harmonic_sum``   -- :func:`cleartune.bench.references.harmonic_sum_track` (8192-sample window), idem.

The Tuner runs exactly as ``cleartune analyze`` / ``run`` do (blocks of 4 hops, DC
blocker, delay line; reading times refer to the input).

Scoring rule (one rule for every system, :func:`cleartune.train.measures.score_clip`):
readings with ``max(onset_s, 0) + SETTLE_S <= t`` to the end of the clip are scored (the
note's sustained part); a reading is right when the note it names -- the note our tuner
shows (``Reading.midi``), the nearest equal-tempered note of the f0 (A4 = 440 Hz) for the
references -- is the nearest note of the clip's true f0 (``f0_hz``; when the truth lies
within ``measures.BOUNDARY_CENTS`` of a note boundary either neighbour counts); a
reading without a note counts as wrong.  Cents errors [|cents|] are taken on the right readings only;
an octave error is a reading 1+ octaves off within 50 cents of the true pitch class.
Readings are pooled over the clips of an SNR level (clean, 10, 5, 0, -5 dB for the
holdout set).

Per-clip results are appended to ``<out>/.accuracy.partial.jsonl`` as they are made, so an
interrupted run resumes where it stopped (same models, data and settings).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from cleartune.train.measures import BOUNDARY_CENTS, SETTLE_S, bucket_sort_key, reading_arrays, snr_bucket
from cleartune.train.plots import atomic_savefig

#: The systems, in table order.
SYSTEMS = ("tracker", "tracker+float", "tracker+int8", "pyin", "harmonic_sum")
#: Default number of clips (spread evenly over the SNR levels); ~10-15 min on a busy 2-core machine.
DEFAULT_MAX_CLIPS = 300                 # all of data/holdout (60 per SNR): fewer makes per-SNR figures noisy
PARTIAL_NAME = ".accuracy.partial.jsonl"


# -- systems ------------------------------------------------------------------------------------

def make_systems(names: Sequence[str], *, float_model: Optional[str], int8_model: Optional[str],
                 threads: int = 1, reading_hops: Optional[int] = None) -> dict[str, Callable[[np.ndarray], tuple]]:
    """``{name: fn(audio float32 (n,)) -> (t, f0)}`` for the requested systems."""
    from cleartune.edge.params import EDGE
    from cleartune.edge.pipeline import Tuner, TunerConfig, analyze_samples
    from cleartune.edge.pitch import PitchParams

    sr, hop = EDGE.sample_rate, EDGE.hop
    rh = reading_hops or PitchParams().reading_hops
    fns: dict[str, Callable[[np.ndarray], tuple]] = {}

    def tuner_fn(model: Optional[str]):
        tuner = Tuner(TunerConfig(model=model, denoise=model is not None, threads=threads))

        return lambda x: reading_arrays(analyze_samples(x, tuner))

    for name in names:
        if name == "tracker":
            fns[name] = tuner_fn(None)
        elif name in ("tracker+float", "tracker+int8"):
            path = float_model if name.endswith("float") else int8_model
            if path is None:
                continue
            fns[name] = tuner_fn(str(path))
        elif name == "pyin":
            from cleartune.bench.references import pyin_track

            def fn(x: np.ndarray):
                t, f0 = pyin_track(x, sample_rate=sr, hop=hop)
                return t[::rh], f0[::rh]
            fns[name] = fn
        elif name == "harmonic_sum":
            from cleartune.bench.references import harmonic_sum_track

            fns[name] = lambda x: harmonic_sum_track(x, sample_rate=sr, hop=hop, every=rh)
        else:
            raise ValueError(f"unknown system {name!r}: choose from {', '.join(SYSTEMS)}")
    return fns


# -- per clip -----------------------------------------------------------------------------------

def score_clip(t: np.ndarray, f0: np.ndarray, *, true_f0: float, onset_s: float,
               midi: Optional[np.ndarray] = None) -> dict[str, Any]:
    """Counts for one system on one clip (:func:`cleartune.train.measures.score_clip`):
    ``midi`` are the notes the system names (MIDI numbers, nan for none), else the nearest
    note of ``f0`` is taken.  Returns ``{"n", "right", "voiced", "octave", "cents": [signed
    cents of right readings], "settled": {...}}``."""
    from cleartune.train.measures import score_clip as measure

    sc = measure(np.asarray(t, np.float64), np.asarray(f0, np.float64), true_f0=float(true_f0), onset_s=onset_s,
                 notes=midi)
    sc["cents"] = [round(float(v), 4) for v in sc["cents"]]
    return sc


def aggregate(records: Sequence[dict[str, Any]], systems: Sequence[str]) -> dict[str, Any]:
    """Pool per-clip counts by SNR level and overall: per system note accuracy, voiced
    and wrong-note fractions, octave errors, median / p95 |cents| and counts."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault(r["level"], []).append(r)
    levels = sorted(by, key=bucket_sort_key)

    def pool(recs: list[dict[str, Any]]) -> dict[str, Any]:
        out = {}
        for s in systems:
            cs = [r["systems"][s] for r in recs if s in r["systems"]]
            n = sum(c["n"] for c in cs)
            right = sum(c["right"] for c in cs)
            voiced = sum(c["voiced"] for c in cs)
            octv = sum(c["octave"] for c in cs)
            ce = np.abs(np.asarray([v for c in cs for v in c["cents"]], np.float64))
            out[s] = {"clips": len(cs), "readings": n,
                      "note_accuracy": right / n if n else None,
                      "voiced": voiced / n if n else None,
                      "wrong_note": (voiced - right) / n if n else None,
                      "octave_errors": octv / n if n else None,
                      "median_abs_cents": float(np.median(ce)) if ce.size else None,
                      "p95_abs_cents": float(np.percentile(ce, 95)) if ce.size else None,
                      "mean_s_per_clip": float(np.mean([r["seconds"][s] for r in recs if s in r.get("seconds", {})]))
                      if recs else None}
        return out

    return {"levels": levels, "by_level": {lv: pool(by[lv]) for lv in levels}, "overall": pool(list(records)),
            "clips_per_level": {lv: len(by[lv]) for lv in levels}}


def _boundary_cents() -> float:
    return BOUNDARY_CENTS


def _fingerprint(d: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _load_partial(path: Path, key: str) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    with open(path) as fh:
        lines = fh.read().splitlines()
    if not lines:
        return done
    try:
        head = json.loads(lines[0])
    except ValueError:
        return done
    if head.get("key") != key:
        return done
    for line in lines[1:]:
        try:
            rec = json.loads(line)
        except ValueError:  # a line cut by an interruption
            continue
        done[str(rec["id"])] = rec
    return done


def evaluate_dataset(data_dir: str | Path, *, float_model: Optional[str | Path], int8_model: Optional[str | Path],
                     systems: Sequence[str] = SYSTEMS, max_clips: int = DEFAULT_MAX_CLIPS, split: Optional[str] = None,
                     seed: int = 0, threads: int = 1, partial_dir: Optional[str | Path] = None,
                     resume: bool = True, command: Optional[str] = None,
                     log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Score every system on (up to ``max_clips``, spread over the SNRs) mixes of
    ``data_dir`` and return the result dict (what :func:`write_accuracy` writes)."""
    from cleartune.bench.latency import model_info
    from cleartune.edge.errors import DataError
    from cleartune.provenance import provenance
    from cleartune.quantize.windows import snr_value, stratified_rows
    from cleartune.train.data.dataset import iter_examples, load_metadata, signal_params

    d = Path(data_dir)
    if not (d / "metadata.csv").is_file():
        raise DataError(f"{d}: no dataset here (metadata.csv missing); pass --data DIR")
    from cleartune.edge.params import EDGE, check_compatible

    try:
        check_compatible(signal_params(d), EDGE, what=f"dataset {d}")
    except DataError:
        pass  # no dataset.json: the clips' sample rate is checked on reading
    all_rows = [r for r in load_metadata(d, split=split) if math.isfinite(float(r.get("f0_hz") or float("nan")))]
    if not all_rows:
        raise DataError(f"{d}: no mixes with a known f0" + (f" in split {split!r}" if split else ""))
    rows = stratified_rows(all_rows, max_clips, seed=seed) if max_clips and max_clips > 0 else all_rows

    fns = make_systems(systems, float_model=None if float_model is None else str(float_model),
                       int8_model=None if int8_model is None else str(int8_model), threads=threads)
    names = [s for s in systems if s in fns]
    skipped = [s for s in systems if s not in fns]
    models = {lab: model_info(p) for lab, p in (("float", float_model), ("int8", int8_model)) if p is not None}
    settings = {"data": str(d.resolve()), "split": split, "ids": [str(r["id"]) for r in rows], "systems": names,
                "settle_s": SETTLE_S, "models": {k: v["sha256"] for k, v in models.items()}, "threads": threads}
    key = _fingerprint(settings)
    partial = Path(partial_dir) / PARTIAL_NAME if partial_dir is not None else None
    done = _load_partial(partial, key) if (partial is not None and resume) else {}
    if done:
        log(f"accuracy: resuming, {len(done)} of {len(rows)} clips already scored")
    fh = None
    if partial is not None:
        partial.parent.mkdir(parents=True, exist_ok=True)
        if done:
            fh = open(partial, "a")
        else:
            fh = open(partial, "w")
            fh.write(json.dumps({"key": key}) + "\n")
            fh.flush()
    records: list[dict[str, Any]] = []
    todo = [r for r in rows if str(r["id"]) not in done]
    t_start = time.perf_counter()
    try:
        for i, (mix, _clean, _noise, row) in enumerate(iter_examples(d, rows=todo)):
            snr = snr_value(row)
            rec: dict[str, Any] = {"id": str(row["id"]), "snr_db": snr if math.isfinite(snr) else str(snr),
                                   "level": snr_bucket(snr), "f0_hz": float(row["f0_hz"]), "note": row.get("note"),
                                   "onset_s": float(row.get("onset_s") or 0.0), "instrument": row.get("instrument"),
                                   "systems": {}, "seconds": {}}
            x = np.asarray(mix, np.float32)
            for name in names:
                t0 = time.perf_counter()
                out = fns[name](x)
                rec["seconds"][name] = time.perf_counter() - t0
                rec["systems"][name] = score_clip(out[0], out[1], true_f0=rec["f0_hz"], onset_s=rec["onset_s"],
                                                  midi=out[2] if len(out) > 2 else None)
            done[rec["id"]] = rec
            if fh is not None:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
            if (i + 1) % 10 == 0 or i + 1 == len(todo):
                el = time.perf_counter() - t_start
                log(f"accuracy: {len(done)}/{len(rows)} clips ({el:.0f} s, ~{el / (i + 1) * (len(todo) - i - 1):.0f} s left)")
    finally:
        if fh is not None:
            fh.close()
    records = [done[str(r["id"])] for r in rows]
    agg = aggregate(records, names)
    result = {
        "title": "cleartune: tuner accuracy versus SNR",
        "provenance": provenance(command),
        "data": {"dir": str(d), "split": split, "clips": len(rows), "clips_available": len(all_rows), "seed": seed,
                 "selection": "all" if len(rows) == len(all_rows) else "spread evenly over the SNR range (stratified)",
                 "levels": "nearest multiple of 5 dB (cleartune.train.measures.snr_bucket)"},
        "rule": {"settle_s": SETTLE_S,
                 "boundary_cents": _boundary_cents(),
                 "text": (f"readings from max(onset, 0) + {SETTLE_S:g} s to the end of the clip; right = the note "
                          "named (the tuner's displayed note; the nearest equal-tempered note of f0, A4 440 Hz, for "
                          "pyin and harmonic_sum) is the nearest note of the true f0 (either neighbour when the truth "
                          f"is within {_boundary_cents():g} cents of a boundary); no note = wrong; |cents| of f0 vs "
                          "the true f0 on right readings; octave error = 1+ octaves off within 50 cents of the true "
                          "pitch class; readings pooled per SNR level")},
        "systems": names,
        "skipped_systems": skipped,
        "models": models,
        "threads": threads,
        "results": agg,
        "per_clip": [_compact(r) for r in records],
    }
    return result


def _compact(rec: dict[str, Any]) -> dict[str, Any]:
    """A per-clip record for the JSON: counts and the median |cents| instead of every reading's cents."""
    out = {k: v for k, v in rec.items() if k != "systems"}
    out["systems"] = {}
    for s, c in rec["systems"].items():
        ce = np.abs(np.asarray(c["cents"], np.float64))
        out["systems"][s] = {k: c[k] for k in ("n", "right", "voiced", "octave")}
        out["systems"][s]["median_abs_cents"] = round(float(np.median(ce)), 4) if ce.size else None
    return out


# -- writing ------------------------------------------------------------------------------------

def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _c(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.2f}"


def to_markdown(r: dict[str, Any], *, plot_name: Optional[str] = None) -> str:
    from cleartune.provenance import markdown_block

    res = r["results"]
    levels = res["levels"]
    names = r["systems"]
    L = [f"# {r['title']}", "",
         f"Data: `{r['data']['dir']}`, {r['data']['clips']} of {r['data']['clips_available']} clips "
         f"({r['data']['selection']}); clips per SNR level: "
         + ", ".join(f"{lv} {n}" for lv, n in res["clips_per_level"].items()) + ".", "",
         f"Rule: {r['rule']['text']}.", ""]
    if r["models"]:
        L += ["Models: " + "; ".join(f"{lab} `{m['file']}` ({m['model_version']}, {m['dtype']})" for lab, m in r["models"].items())
              + f"; {r['threads']} interpreter thread(s).", ""]
    if r["skipped_systems"]:
        L += [f"Not measured (no model given): {', '.join(r['skipped_systems'])}.", ""]
    L += ["## Note accuracy [%] by SNR", "", "| system | " + " | ".join(levels) + " | all |", "|---|" + "---|" * (len(levels) + 1)]
    for s in names:
        L.append(f"| {s} | " + " | ".join(_pct(res["by_level"][lv][s]["note_accuracy"]) for lv in levels)
                 + f" | {_pct(res['overall'][s]['note_accuracy'])} |")
    L += ["", "## Median absolute cents error (right-note readings) by SNR", "",
          "| system | " + " | ".join(levels) + " | all |", "|---|" + "---|" * (len(levels) + 1)]
    for s in names:
        L.append(f"| {s} | " + " | ".join(_c(res["by_level"][lv][s]["median_abs_cents"]) for lv in levels)
                 + f" | {_c(res['overall'][s]['median_abs_cents'])} |")
    L += ["", "## Details", "",
          "| SNR | system | readings | note acc % | no note % | wrong note % | octave err % | median cents | p95 cents | s / clip |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for lv in levels + ["all"]:
        block = res["overall"] if lv == "all" else res["by_level"][lv]
        for s in names:
            b = block[s]
            nonote = None if b["voiced"] is None else 1.0 - b["voiced"]
            L.append(f"| {lv} | {s} | {b['readings']} | {_pct(b['note_accuracy'])} | {_pct(nonote)} | {_pct(b['wrong_note'])} | "
                     f"{_pct(b['octave_errors'])} | {_c(b['median_abs_cents'])} | {_c(b['p95_abs_cents'])} | "
                     f"{_c(b['mean_s_per_clip'])} |")
    if plot_name:
        L += ["", f"![accuracy vs SNR]({plot_name})"]
    L += ["", "## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


def plot_accuracy(r: dict[str, Any], path: Path) -> Optional[str]:
    """Note accuracy and median cents vs SNR, one line per system (PNG).  Returns None, or
    a note when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        return f"Plot skipped: matplotlib is not available ({type(e).__name__})."
    res = r["results"]
    levels = res["levels"]
    xs = np.arange(len(levels))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"tracker": ("tab:gray", "o"), "tracker+float": ("tab:blue", "s"), "tracker+int8": ("tab:orange", "D"),
              "pyin": ("tab:green", "^"), "harmonic_sum": ("tab:purple", "v")}
    for s in r["systems"]:
        col, mk = styles.get(s, (None, "o"))
        acc = [res["by_level"][lv][s]["note_accuracy"] for lv in levels]
        axes[0].plot(xs, [np.nan if v is None else 100 * v for v in acc], marker=mk, color=col, label=s)
        ce = [res["by_level"][lv][s]["median_abs_cents"] for lv in levels]
        axes[1].plot(xs, [np.nan if v is None else v for v in ce], marker=mk, color=col, label=s)
    for ax, yl, title in ((axes[0], "note accuracy [%]", "Right note (no note = wrong)"),
                          (axes[1], "median |cents error| (right notes)", "Cents error")):
        ax.set_xticks(xs, levels)
        ax.set_xlabel("input SNR")
        ax.set_ylabel(yl)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0, 100)
    axes[1].set_yscale("log")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"cleartune accuracy vs SNR ({r['data']['clips']} clips of {Path(r['data']['dir']).name})")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)
    return None


def write_accuracy(result: dict[str, Any], out_dir: str | Path, *, plot: bool = True) -> dict[str, Path]:
    """``accuracy.md``, ``accuracy.json`` and ``accuracy.png`` in ``out_dir``; removes the
    resume file once the results are written."""
    from cleartune.quantize.report import atomic_write_text, json_safe

    out = Path(out_dir)
    paths = {"md": out / "accuracy.md", "json": out / "accuracy.json", "png": out / "accuracy.png"}
    note = plot_accuracy(result, paths["png"]) if plot else "plot not requested"
    if note:
        paths.pop("png")
        result.setdefault("notes", []).append(note)
    atomic_write_text(paths["json"], json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
    atomic_write_text(paths["md"], to_markdown(result, plot_name=None if note else paths["png"].name))
    partial = out / PARTIAL_NAME
    if partial.is_file():
        partial.unlink()
    return paths


def summary_lines(r: dict[str, Any]) -> list[str]:
    res = r["results"]
    lines = ["  note accuracy % by SNR (" + ", ".join(res["levels"]) + ", all):"]
    for s in r["systems"]:
        lines.append(f"  {s:<14} " + "  ".join(_pct(res["by_level"][lv][s]["note_accuracy"]) for lv in res["levels"])
                     + f"  | {_pct(res['overall'][s]['note_accuracy'])}; median cents {_c(res['overall'][s]['median_abs_cents'])}")
    return lines
