"""The evaluation that predicts unseen recordings: the right note per clip and per reading,
by SNR, by noise type and on the hard cases, for each system, on a leave-source-out set.

``cleartune bench accuracy`` scores every mix of a dataset folder (default
:data:`DEFAULT_DATA`, ``data/v2_eval``: guitar sources, noise packages and voices the
training pool never saw -- the JSON and markdown name both pools and their overlap).

Systems (:func:`system_table`; each gives ``(t, f0, midi)`` per clip, nan where no note):

* ``tracker``       -- the Tuner without a model (``cleartune analyze --no-denoise``);
* ``tracker+mask``  -- the Tuner with the current mask (``--int8-model``, default
  ``edge/models/edge_int8.tflite``);
* ``tracker+model`` -- the Tuner with the new model (``--model PATH``; skipped without one);
* ``harmonic_sum``  -- the strong reference (:func:`cleartune.bench.references.harmonic_sum_track`,
  8192-sample window), one reading every 4 hops like the tuner;
* ``pyin``          -- librosa.pyin (:func:`cleartune.bench.references.pyin_track`), on request.

A system that is a pipeline configuration is one line of :func:`system_table` (a
:class:`~cleartune.edge.pipeline.TunerConfig`); the Tuner runs exactly as ``cleartune
analyze`` runs it (:func:`cleartune.edge.pipeline.analyze_samples`).

Scoring (:mod:`cleartune.train.measures`, the same rule in every report):

* **per clip** -- the settled reading, as a player reads a needle: the median reading from
  0.4 s to 1.6 s after the pluck (:func:`~cleartune.train.measures.settled_reading`); the
  clip is right when it names the note nearest the true f0;
* **per reading** -- the readings that count (from ``max(onset, 0) + SETTLE_S``), each
  right or wrong; a reading with no note counts as wrong;
* wrong ones are split into **octave errors** (1+ octaves off, within 50 cents of the true
  pitch class), **the other instrument's note** (the held note of a hard case,
  ``harmonic_midi`` in the metadata), **other wrong notes** and **no note**.

Grouped by SNR (``snr_bucket``: clean, 10, 5, 0, -5 dB), by ``noise_type`` (harmonic,
environmental, mixed; clean), by SNR x noise type, and by ``hard_case``
(``same_pitch_class``: another instrument holds the guitar's pitch class in another
octave; ``tuning_a``: a held A4 440-443 Hz).  A dataset without these columns is grouped
as ``all`` and the result says which column is missing.

Per-clip results are appended to ``<out>/.accuracy.partial.jsonl`` as they are made, so an
interrupted run resumes where it stopped (same models, data and systems).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from cleartune.train.measures import (
    BOUNDARY_CENTS,
    OCTAVE_TOLERANCE_CENTS,
    SETTLE_S,
    SETTLED_FROM_S,
    SETTLED_TO_S,
    bucket_sort_key,
    reading_arrays,
    snr_bucket,
)
from cleartune.train.plots import atomic_savefig

#: The leave-source-out evaluation pool (``cleartune data build --generator v2 --holdout``).
DEFAULT_DATA = "data/v2_eval"
#: Systems run by default, in table order (``tracker+model`` only with ``--model``).
DEFAULT_SYSTEMS = ("tracker", "tracker+mask", "tracker+model", "harmonic_sum")
#: Every system :func:`system_table` knows.
ALL_SYSTEMS = DEFAULT_SYSTEMS + ("pyin",)
#: Default number of clips (0 = all, spread evenly over the SNRs when fewer).
DEFAULT_MAX_CLIPS = 0
#: The metadata columns grouped on besides the SNR, and the order of their values in tables.
NOISE_TYPES = ("clean", "harmonic", "environmental", "mixed")
HARD_CASES = ("same_pitch_class", "tuning_a")
PARTIAL_NAME = ".accuracy.partial.jsonl"
#: Issue 12's targets, per clip [%]: by SNR, harmonic noise at 0 dB, the held A, and the
#: margin of the new model over the tracker alone at 0 dB on harmonic noise [points].
TARGETS_BY_SNR = {"clean": 99.5, "10 dB": 99.0, "5 dB": 97.0, "0 dB": 95.0, "-5 dB": 85.0}
TARGET_HARMONIC_0DB = 93.0
TARGET_TUNING_A = 90.0
TARGET_MARGIN_POINTS = 10.0

Track = tuple


# -- systems ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class System:
    """One system under test: ``name``, a one-line ``what``, and either a Tuner
    configuration (``tuner``: TunerConfig fields; ``model``: its model file, which must
    exist) or a reference tracker (``reference``)."""

    name: str
    what: str
    tuner: Optional[dict] = None
    model: Optional[str] = None
    reference: Optional[str] = None

    def build(self, *, threads: int = 1) -> Callable[[np.ndarray], Track]:
        """``fn(audio float32 (n,)) -> (t, f0, midi)``."""
        from cleartune.edge.params import EDGE
        from cleartune.edge.pitch_params import PitchParams

        if self.tuner is not None:
            from cleartune.edge.pipeline import Tuner, TunerConfig, analyze_samples

            tuner = Tuner(TunerConfig(threads=threads, **self.tuner))
            return lambda x: reading_arrays(analyze_samples(x, tuner))
        every = PitchParams().reading_hops
        if self.reference == "harmonic_sum":
            from cleartune.bench.references import harmonic_sum_track

            return lambda x: harmonic_sum_track(x, sample_rate=EDGE.sample_rate, hop=EDGE.hop, every=every)
        if self.reference == "pyin":
            from cleartune.bench.references import pyin_track

            def fn(x: np.ndarray) -> Track:
                t, f0 = pyin_track(x, sample_rate=EDGE.sample_rate, hop=EDGE.hop)
                return t[::every], f0[::every]
            return fn
        raise ValueError(f"system {self.name}: nothing to run")


def system_table(*, mask_model: Optional[str | Path], model: Optional[str | Path]) -> dict[str, System]:
    """Every system, by name.  A new pipeline configuration is one more line here."""
    mask = None if mask_model is None else str(mask_model)
    new = None if model is None else str(model)
    return {
        "tracker": System("tracker", "tracker alone (analyze --no-denoise)", tuner={"denoise": False}),
        "tracker+mask": System("tracker+mask", f"tracker + the current mask ({Path(mask).name if mask else '-'})",
                               tuner={"model": mask}, model=mask),
        "tracker+model": System("tracker+model", f"tracker + the new model ({Path(new).name if new else '-'})",
                                tuner={"model": new}, model=new),
        "harmonic_sum": System("harmonic_sum", "harmonic-sum reference (8192-sample window, bench/references.py)",
                               reference="harmonic_sum"),
        "pyin": System("pyin", "librosa.pyin (frame 2048), every 4th frame", reference="pyin"),
    }


def compute_per_second(model_path: str | Path) -> dict[str, Any]:
    """What a model costs per second of audio, from its sidecar: MACs per call x calls per
    second (a mask runs every hop; a guitar-pitch model once per tracker reading)."""
    from cleartune.bench.latency import model_info
    from cleartune.edge.model_meta import load_meta
    from cleartune.edge.pitch_params import PitchParams

    info = model_info(model_path)
    meta = load_meta(model_path)
    p = meta.signal_params
    per_reading = meta.kind == "guitar-pitch"
    calls = p.sample_rate / (p.hop * (PitchParams().reading_hops if per_reading else 1))
    macs = info["macs_per_window"]
    return {**{k: info[k] for k in ("file", "model_version", "dtype", "kind", "bytes", "sha256", "params")},
            "macs_per_call": macs, "calls_per_second": calls, "runs": "once per reading" if per_reading else "every hop",
            "gmacs_per_second": macs * calls / 1e9 if macs else None}


# -- one clip -----------------------------------------------------------------------------------

def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def score_clip(t: np.ndarray, f0: np.ndarray, *, true_f0: float, onset_s: Any, midi: Optional[np.ndarray] = None,
               other_midi: Optional[float] = None) -> dict[str, Any]:
    """One system on one clip (:func:`cleartune.train.measures.score_clip`) plus ``other``:
    readings (and ``settled.other``: the settled reading) that name ``other_midi``, the held
    note of another instrument (None/nan when there is none), when that is not already an
    octave error (the same-pitch-class case: those count as octave errors)."""
    from cleartune.train.measures import judge, nearest_notes, readings_that_count
    from cleartune.train.measures import score_clip as measure

    t = np.asarray(t, np.float64)
    f0 = np.asarray(f0, np.float64)
    sc = measure(t, f0, true_f0=float(true_f0), onset_s=onset_s, notes=midi)
    sc["cents"] = [round(float(v), 4) for v in sc["cents"]]
    named = nearest_notes(f0) if midi is None else np.asarray(midi, np.float64)
    om = _float(other_midi)
    has_other = math.isfinite(om)
    sel = readings_that_count(t, onset_s=onset_s)
    if has_other:
        right, _v, octave, _c = judge(f0[sel], true_f0=float(true_f0), notes=named[sel])
        sc["other"] = int(np.sum((named[sel] == round(om)) & ~right & ~octave))
    else:
        sc["other"] = 0
    st = sc["settled"]
    st["other"] = bool(has_other and st["note"] == round(om) and not st["right"] and not st["octave"])
    return sc


# -- pooling ------------------------------------------------------------------------------------

def _stats(cs: list[dict[str, Any]], secs: list[float], audio_s: float) -> dict[str, Any]:
    """Per clip and per reading figures of one system over clips ``cs`` (score_clip dicts)."""
    n_clips = len(cs)
    n = sum(c["n"] for c in cs)
    right = sum(c["right"] for c in cs)
    voiced = sum(c["voiced"] for c in cs)
    octv = sum(c["octave"] for c in cs)
    other = sum(c.get("other", 0) for c in cs)
    st = [c["settled"] for c in cs]
    s_right = sum(s["right"] for s in st)
    s_oct = sum(s["octave"] for s in st)
    s_other = sum(s.get("other", False) for s in st)
    s_none = sum(not s["voiced"] for s in st)
    ce = np.abs(np.asarray([v for c in cs for v in c["cents"]], np.float64))
    sce = np.abs(np.asarray([s["cents"] for s in st if s["cents"] is not None], np.float64))

    def frac(a: float, b: float) -> Optional[float]:
        return a / b if b else None

    return {
        "clips": n_clips,
        "clip_accuracy": frac(s_right, n_clips), "clip_octave": frac(s_oct, n_clips),
        "clip_other_instrument": frac(s_other, n_clips),
        "clip_wrong_other": frac(n_clips - s_right - s_oct - s_other - s_none, n_clips),
        "clip_no_note": frac(s_none, n_clips),
        "clip_octave_count": int(s_oct), "clip_right_count": int(s_right),
        "clip_median_abs_cents": float(np.median(sce)) if sce.size else None,
        "readings": n, "note_accuracy": frac(right, n), "octave_errors": frac(octv, n),
        "other_instrument": frac(other, n), "wrong_other": frac(voiced - right - octv - other, n),
        "no_note": frac(n - voiced, n), "octave_readings": int(octv),
        "median_abs_cents": float(np.median(ce)) if ce.size else None,
        "p95_abs_cents": float(np.percentile(ce, 95)) if ce.size else None,
        "x_real_time": (audio_s / sum(secs)) if secs and sum(secs) > 0 else None,
    }


def group_key(rec: dict[str, Any], by: str) -> str:
    """The group of a per-clip record: ``snr`` -> its SNR bucket, ``noise_type`` /
    ``hard_case`` -> the column's value (``"all"`` when the column is missing, ``"none"``
    for an empty hard case), ``snr_noise`` -> ``"<noise type> @ <snr>"``."""
    if by == "snr":
        return rec["level"]
    if by == "snr_noise":
        return f"{rec.get('noise_type') or 'all'} @ {rec['level']}"
    v = rec.get(by)
    if v is None:
        return "all"
    return v if v != "" else "none"


def _order(by: str, keys: set[str]) -> list[str]:
    if by == "snr":
        return sorted(keys, key=bucket_sort_key)
    pref = {"noise_type": NOISE_TYPES, "hard_case": HARD_CASES + ("none",)}.get(by, ())
    if by == "snr_noise":
        return sorted(keys, key=lambda k: (pref_index(k.split(" @ ")[0]), bucket_sort_key(k.split(" @ ")[1])))
    return sorted(keys, key=lambda k: (pref.index(k) if k in pref else len(pref), k))


def pref_index(noise_type: str) -> int:
    return NOISE_TYPES.index(noise_type) if noise_type in NOISE_TYPES else len(NOISE_TYPES)


def aggregate(records: Sequence[dict[str, Any]], systems: Sequence[str], *, by: str) -> dict[str, dict[str, Any]]:
    """``{group: {system: stats}}`` over per-clip records, groups in table order (see
    :func:`group_key`), plus ``"all"`` (every record) unless ``by`` already gives only ``all``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(group_key(r, by), []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for g in _order(by, set(groups)):
        out[g] = _pool(groups[g], systems)
    if list(out) != ["all"]:
        out["all"] = _pool(list(records), systems)
    return out


def _pool(recs: list[dict[str, Any]], systems: Sequence[str]) -> dict[str, Any]:
    return {s: _stats([r["systems"][s] for r in recs if s in r["systems"]],
                      [r["seconds"][s] for r in recs if s in r.get("seconds", {})],
                      sum(r.get("audio_s", 0.0) for r in recs if s in r["systems"])) for s in systems}


# -- the run ------------------------------------------------------------------------------------

def _fingerprint(d: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _load_partial(path: Path, key: str) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    lines = path.read_text().splitlines()
    try:
        head = json.loads(lines[0]) if lines else {}
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


def _sources(d: Path, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Which sources this set uses, and (from ``dataset.json``) the pool it was drawn from,
    the training pool and their overlap: the leave-source-out statement."""
    out: dict[str, Any] = {}
    for col in ("guitar_source", "harmonic_source", "env_source"):
        if rows and col in rows[0]:
            vals: dict[str, int] = {}
            for r in rows:
                v = str(r.get(col) or "")
                if v:
                    vals[v] = vals.get(v, 0) + 1
            out[col] = dict(sorted(vals.items()))
    try:
        ds = json.loads((d / "dataset.json").read_text())
    except (OSError, ValueError):
        ds = {}
    pool, other = ds.get("pool") or {}, ds.get("other_pool") or {}
    if isinstance(pool, dict) and isinstance(other, dict) and pool.get("tags") and other.get("tags"):
        tags, otags = pool.get("tags", {}), other.get("tags", {})
        out["pool"] = pool.get("name")
        out["other_pool"] = other.get("name")
        out["pool_tags"] = tags
        out["overlap_with_other_pool"] = {k: sorted(set(tags.get(k, [])) & set(otags.get(k, []))) for k in tags}
    return out


def evaluate_dataset(data_dir: str | Path, *, mask_model: Optional[str | Path] = None, model: Optional[str | Path] = None,
                     systems: Sequence[str] = DEFAULT_SYSTEMS, max_clips: int = DEFAULT_MAX_CLIPS,
                     split: Optional[str] = None, seed: int = 0, threads: int = 1,
                     partial_dir: Optional[str | Path] = None, resume: bool = True, command: Optional[str] = None,
                     log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Score every system on (up to ``max_clips``, spread over the SNRs) mixes of
    ``data_dir`` and return the result dict (what :func:`write_accuracy` writes)."""
    from cleartune.edge.errors import DataError
    from cleartune.edge.params import EDGE
    from cleartune.provenance import provenance
    from cleartune.quantize.windows import snr_value, stratified_rows
    from cleartune.train.data.dataset import iter_examples, load_metadata

    d = Path(data_dir)
    if not (d / "metadata.csv").is_file():
        raise DataError(f"{d}: no dataset here (metadata.csv missing); pass --data DIR")
    all_rows = [r for r in load_metadata(d, split=split) if math.isfinite(_float(r.get("f0_hz")))]
    if not all_rows:
        raise DataError(f"{d}: no mixes with a known f0" + (f" in split {split!r}" if split else ""))
    srs = {r.get("sample_rate") for r in all_rows} - {None, ""}
    if srs and srs != {EDGE.sample_rate}:
        raise DataError(f"{d}: audio at {sorted(srs)} Hz, the tuner runs at {EDGE.sample_rate} Hz")
    rows = stratified_rows(all_rows, max_clips, seed=seed) if max_clips and max_clips > 0 else all_rows
    missing = [c for c in ("noise_type", "hard_case") if c not in all_rows[0]]
    for c in missing:
        log(f"accuracy: {d}/metadata.csv has no {c!r} column: per {c.replace('_', ' ')} is reported as 'all'")

    table = system_table(mask_model=mask_model, model=model)
    unknown = [s for s in systems if s not in table]
    if unknown:
        raise ValueError(f"unknown system(s) {', '.join(unknown)}: choose from {', '.join(table)}")
    chosen = [table[s] for s in systems]
    names = [s.name for s in chosen if s.tuner is None or s.model is not None or "model" not in s.tuner]
    skipped = [s.name for s in chosen if s.name not in names]
    fns = {s.name: s.build(threads=threads) for s in chosen if s.name in names}
    models = {s.name: compute_per_second(s.model) for s in chosen if s.name in names and s.model}
    settings = {"data": str(d.resolve()), "split": split, "ids": [str(r["id"]) for r in rows], "systems": names,
                "settle_s": SETTLE_S, "settled": [SETTLED_FROM_S, SETTLED_TO_S],
                "models": {k: v["sha256"] for k, v in models.items()}, "threads": threads}
    key = _fingerprint(settings)
    partial = Path(partial_dir) / PARTIAL_NAME if partial_dir is not None else None
    done = _load_partial(partial, key) if (partial is not None and resume) else {}
    if done:
        log(f"accuracy: resuming, {len(done)} of {len(rows)} clips already scored")
    fh = None
    if partial is not None:
        partial.parent.mkdir(parents=True, exist_ok=True)
        fh = open(partial, "a" if done else "w")
        if not done:
            fh.write(json.dumps({"key": key}) + "\n")
            fh.flush()
    todo = [r for r in rows if str(r["id"]) not in done]
    t_start = time.perf_counter()
    try:
        for i, (mix, _clean, _noise, row) in enumerate(iter_examples(d, rows=todo)):
            snr = snr_value(row)
            rec: dict[str, Any] = {
                "id": str(row["id"]), "snr_db": snr if math.isfinite(snr) else str(snr), "level": snr_bucket(snr),
                "f0_hz": float(row["f0_hz"]), "note": row.get("note"), "onset_s": _float(row.get("onset_s")),
                "audio_s": len(mix) / EDGE.sample_rate, "systems": {}, "seconds": {}}
            for c in ("noise_type", "hard_case", "guitar_source", "harmonic_source", "env_source"):
                if c in row:
                    rec[c] = "" if row[c] is None else str(row[c])
            other = _float(row.get("harmonic_midi")) if row.get("hard_case") else float("nan")
            x = np.asarray(mix, np.float32)
            for name in names:
                t0 = time.perf_counter()
                out = fns[name](x)
                rec["seconds"][name] = time.perf_counter() - t0
                rec["systems"][name] = score_clip(out[0], out[1], true_f0=rec["f0_hz"], onset_s=rec["onset_s"],
                                                  midi=out[2] if len(out) > 2 else None, other_midi=other)
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
    results = {by: aggregate(records, names, by=by) for by in ("snr", "noise_type", "snr_noise", "hard_case")}
    result = {
        "title": "cleartune: the right note on unseen recordings (leave-source-out)",
        "provenance": provenance(command),
        "data": {"dir": str(d), "split": split, "clips": len(rows), "clips_available": len(all_rows), "seed": seed,
                 "selection": "all" if len(rows) == len(all_rows) else "spread evenly over the SNR range (stratified)",
                 "missing_columns": missing, "sources": _sources(d, rows)},
        "rule": {"settle_s": SETTLE_S, "settled_window_s": [SETTLED_FROM_S, SETTLED_TO_S],
                 "boundary_cents": BOUNDARY_CENTS, "octave_tolerance_cents": OCTAVE_TOLERANCE_CENTS,
                 "text": (f"per clip: the settled reading (median reading {SETTLED_FROM_S:g}-{SETTLED_TO_S:g} s after "
                          f"the pluck; no note when most readings there show none) names the note nearest the true f0; "
                          f"per reading: readings from max(onset, 0) + {SETTLE_S:g} s to the end of the clip, no note = "
                          f"wrong; either neighbour is right when the truth is within {BOUNDARY_CENTS:g} cents of a "
                          f"boundary; octave error = 1+ octaves off within {OCTAVE_TOLERANCE_CENTS:g} cents of the true "
                          "pitch class; other instrument = the held note of a hard case (harmonic_midi); "
                          "cleartune.train.measures")},
        "systems": names,
        "what": {s.name: s.what for s in chosen},
        "skipped_systems": skipped,
        "models": models,
        "threads": threads,
        "results": results,
        "per_clip": [_compact(r) for r in records],
    }
    result["targets"] = evaluate_targets(result)
    return result


def _compact(rec: dict[str, Any]) -> dict[str, Any]:
    """A per-clip record for the JSON: counts, the settled reading and the median |cents|."""
    out = {k: v for k, v in rec.items() if k != "systems"}
    out["systems"] = {}
    for s, c in rec["systems"].items():
        ce = np.abs(np.asarray(c["cents"], np.float64))
        out["systems"][s] = {k: c[k] for k in ("n", "right", "voiced", "octave", "other", "settled") if k in c}
        out["systems"][s]["median_abs_cents"] = round(float(np.median(ce)), 4) if ce.size else None
    return out


def evaluate_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 12's per-clip targets for every tuner system that ran: ``[{"system", "target",
    "value" [%], "threshold", "status"}]`` (``n/a`` where the set has no such clips)."""
    res = r["results"]
    out = []

    def add(system: str, target: str, value: Optional[float], threshold: float) -> None:
        status = "n/a" if value is None else ("pass" if value >= threshold else "fail")
        out.append({"system": system, "target": target, "value": value, "threshold": threshold, "status": status})

    def pct(block: Optional[dict], s: str, key: str = "clip_accuracy") -> Optional[float]:
        v = (block or {}).get(s, {}).get(key)
        return None if v is None else 100.0 * v
    tuners = [s for s in r["systems"] if s.startswith("tracker")]
    for s in tuners:
        for lv, th in TARGETS_BY_SNR.items():
            add(s, f"per clip at {lv}", pct(res["snr"].get(lv), s), th)
        add(s, "harmonic noise at 0 dB", pct(res["snr_noise"].get("harmonic @ 0 dB"), s), TARGET_HARMONIC_0DB)
        spc = res["hard_case"].get("same_pitch_class", {}).get(s)
        out.append({"system": s, "target": "octave errors on same_pitch_class (clips)",
                    "value": None if spc is None else spc["clip_octave_count"], "threshold": 0,
                    "status": "n/a" if spc is None else ("pass" if spc["clip_octave_count"] == 0 else "fail")})
        add(s, "held A (tuning_a)", pct(res["hard_case"].get("tuning_a"), s), TARGET_TUNING_A)
    if "tracker+model" in r["systems"] and "tracker" in r["systems"]:
        h = res["snr_noise"].get("harmonic @ 0 dB")
        a, b = pct(h, "tracker+model"), pct(h, "tracker")
        add("tracker+model", "beats tracker alone at 0 dB harmonic by 10 points (margin)",
            None if a is None or b is None else a - b, TARGET_MARGIN_POINTS)
    return out


# -- writing ------------------------------------------------------------------------------------

def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _c(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.2f}"


def _table(block: dict[str, dict[str, Any]], names: Sequence[str], key: str, fmt: Callable = _pct,
           counts: bool = True) -> list[str]:
    cols = list(block)
    head = [f"{c} ({next(iter(block[c].values()))['clips']})" if counts and block[c] else c for c in cols]
    L = ["| system | " + " | ".join(head) + " |", "|---|" + "---:|" * len(cols)]
    for s in names:
        L.append(f"| {s} | " + " | ".join(fmt(block[c][s][key]) if s in block[c] else "-" for c in cols) + " |")
    return L


def to_markdown(r: dict[str, Any], *, plot_name: Optional[str] = None) -> str:
    from cleartune.provenance import markdown_block

    res, names, data = r["results"], r["systems"], r["data"]
    L = [f"# {r['title']}", "",
         f"Data: `{data['dir']}`, {data['clips']} of {data['clips_available']} clips ({data['selection']}).", ""]
    src = data.get("sources") or {}
    if src.get("pool"):
        ov = src.get("overlap_with_other_pool") or {}
        shared = {k: v for k, v in ov.items() if v}
        L += [f"Leave-source-out: pool `{src['pool']}` (training pool `{src.get('other_pool')}`); "
              + "; ".join(f"{k}: {', '.join(v)}" for k, v in (src.get("pool_tags") or {}).items())
              + ". Shared with the training pool: " + (", ".join(f"{k}: {v}" for k, v in shared.items()) if shared
                                                       else "**none**") + ".", ""]
    else:
        L += ["Leave-source-out: **not established** -- this folder's dataset.json names no source pool "
              "(data/holdout shares its sources with the training data).", ""]
    for c in data.get("missing_columns") or []:
        L += [f"Note: metadata.csv has no `{c}` column: per {c.replace('_', ' ')} is reported as `all`.", ""]
    L += ["Systems: " + "; ".join(f"`{s}` = {r['what'][s]}" for s in names) + ".", ""]
    if r["skipped_systems"]:
        L += [f"Not measured (no model given): {', '.join(r['skipped_systems'])}.", ""]
    L += [f"Rule: {r['rule']['text']}.", ""]
    missing = set(data.get("missing_columns") or [])
    L += ["## Right note per clip [%] (the settled reading) by SNR", ""] + _table(res["snr"], names, "clip_accuracy")
    if "noise_type" not in missing:
        L += ["", "## Right note per clip [%] by noise type", ""] + _table(res["noise_type"], names, "clip_accuracy")
        L += ["", "## Right note per clip [%] by noise type and SNR", ""] + _table(res["snr_noise"], names,
                                                                                  "clip_accuracy")
    if "hard_case" not in missing:
        L += ["", "## Hard cases per clip [%]", ""] + _table(res["hard_case"], names, "clip_accuracy")
        L += ["", "Octave errors per clip (count) on the hard cases:", ""] + _table(
            res["hard_case"], names, "clip_octave_count", fmt=lambda v: "-" if v is None else str(v))
    L += ["", "## Right readings [%] by SNR (per reading)", ""] + _table(res["snr"], names, "note_accuracy")
    if "noise_type" not in missing:
        L += ["", "## Right readings [%] by noise type (per reading)", ""] + _table(res["noise_type"], names,
                                                                                   "note_accuracy")
    L += ["", "## What the wrong ones show", "",
          "Per clip (settled reading) and per reading, all clips: shares of all clips / readings [%].", "",
          "| system | clips right | octave | other instrument's note | other wrong note | no note | readings right | "
          "octave | other instrument's note | other wrong note | no note | median / p95 cents (right) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    a = res["snr"]["all"]
    for s in names:
        b = a[s]
        L.append(f"| {s} | {_pct(b['clip_accuracy'])} | {_pct(b['clip_octave'])} | {_pct(b['clip_other_instrument'])} | "
                 f"{_pct(b['clip_wrong_other'])} | {_pct(b['clip_no_note'])} | {_pct(b['note_accuracy'])} | "
                 f"{_pct(b['octave_errors'])} | {_pct(b['other_instrument'])} | {_pct(b['wrong_other'])} | "
                 f"{_pct(b['no_note'])} | {_c(b['median_abs_cents'])} / {_c(b['p95_abs_cents'])} |")
    if r.get("targets"):
        L += ["", "## Issue 12's targets (per clip)", "", "| system | target | value | threshold | status |",
              "|---|---|---:|---:|---|"]
        for t in r["targets"]:
            v = "-" if t["value"] is None else (f"{t['value']:.1f}" if isinstance(t["value"], float) else str(t["value"]))
            L.append(f"| {t['system']} | {t['target']} | {v} | {t['threshold']:g} | {t['status']} |")
    L += ["", "## Compute", ""]
    if r["models"]:
        L += ["| system | model | kind | runs | MAC per call | G MAC per second of audio | bytes |", "|---|---|---|---|---:|---:|---:|"]
        for s, m in r["models"].items():
            g = "-" if m["gmacs_per_second"] is None else f"{m['gmacs_per_second']:.3f}"
            L.append(f"| {s} | `{m['file']}` ({m['model_version']}, {m['dtype']}) | {m['kind']} | {m['runs']} | "
                     f"{m['macs_per_call'] or '-':,} | {g} | {m['bytes']:,} |")
        L.append("")
    L += ["Speed during this run (times real time on this machine, "
          f"{r['threads']} interpreter thread(s); a shared machine: see `cleartune bench latency` for latency): "
          + ", ".join(f"{s} {a[s]['x_real_time']:.1f}x" for s in names if a[s]["x_real_time"]) + "."]
    if plot_name:
        L += ["", f"![accuracy]({plot_name})"]
    L += ["", "## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


STYLES = {"tracker": ("tab:gray", "o"), "tracker+mask": ("tab:orange", "D"), "tracker+model": ("tab:red", "s"),
          "harmonic_sum": ("tab:purple", "v"), "pyin": ("tab:green", "^")}


def plot_accuracy(r: dict[str, Any], path: Path) -> None:
    """Per-clip accuracy per SNR (lines) and per noise type (bars), one colour per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res, names = r["results"], r["systems"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    levels = [lv for lv in res["snr"] if lv != "all"]
    xs = np.arange(len(levels))
    for s in names:
        col, mk = STYLES.get(s, (None, "o"))
        ys = [res["snr"][lv][s]["clip_accuracy"] for lv in levels]
        axes[0].plot(xs, [np.nan if v is None else 100 * v for v in ys], marker=mk, color=col, label=s)
    axes[0].set_xticks(xs, levels)
    axes[0].set_xlabel("input SNR")
    axes[0].set_ylabel("right note per clip [%]")
    axes[0].set_title("Per clip (settled reading) by SNR")
    axes[0].set_ylim(0, 101)
    types = [k for k in res["noise_type"] if k != "all" or len(res["noise_type"]) == 1]
    w = 0.8 / max(1, len(names))
    xt = np.arange(len(types))
    for j, s in enumerate(names):
        col, _mk = STYLES.get(s, (None, "o"))
        ys = [res["noise_type"][k][s]["clip_accuracy"] for k in types]
        axes[1].bar(xt + (j - (len(names) - 1) / 2) * w, [np.nan if v is None else 100 * v for v in ys], w,
                    color=col, label=s)
    axes[1].set_xticks(xt, types)
    axes[1].set_ylabel("right note per clip [%]")
    axes[1].set_title("Per clip by noise type (all SNRs)")
    axes[1].set_ylim(0, 101)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"cleartune accuracy, {r['data']['clips']} clips of {Path(r['data']['dir']).name}")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=110)


def write_accuracy(result: dict[str, Any], out_dir: str | Path, *, stem: str = "accuracy",
                   plot: bool = True) -> dict[str, Path]:
    """``<stem>.md``, ``<stem>.json`` and ``<stem>.png`` in ``out_dir``; removes the resume
    file once the results are written."""
    from cleartune.bench.results_io import write_result

    out = Path(out_dir)
    png = out / f"{stem}.png"
    if plot:
        plot_accuracy(result, png)
    paths = write_result(result, out, stem=stem, markdown=to_markdown(result, plot_name=png.name if plot else None))
    if plot:
        paths["png"] = png
    partial = out / PARTIAL_NAME
    if partial.is_file():
        partial.unlink()
    return paths


def summary_lines(r: dict[str, Any]) -> list[str]:
    res = r["results"]
    levels = list(res["snr"])
    lines = ["  right note per clip % by SNR (" + ", ".join(levels) + "):"]
    for s in r["systems"]:
        lines.append(f"  {s:<14} " + "  ".join(_pct(res["snr"][lv][s]["clip_accuracy"]) for lv in levels)
                     + f"  | per reading {_pct(res['snr']['all'][s]['note_accuracy'])}")
    nt = [k for k in res["noise_type"] if k != "all"]
    if nt:
        lines.append("  per clip % by noise type (" + ", ".join(nt) + "):")
        for s in r["systems"]:
            lines.append(f"  {s:<14} " + "  ".join(_pct(res["noise_type"][k][s]["clip_accuracy"]) for k in nt))
    for m in r["models"].values():
        if m["gmacs_per_second"] is not None:
            lines.append(f"  compute: {m['file']} {m['gmacs_per_second']:.3f} G MAC per second of audio ({m['runs']})")
    return lines
