"""``cleartune bench precision``: how precisely the tuner reads, proved without labels.

A recorded note drifts by a few cents over its life, so its "true" pitch is not known at
the 0.1-cent level.  A **differential** test removes that ambiguity: a recorded note
resampled by an exact rational ratio ``p/q`` (:func:`scipy.signal.resample_poly`, played
at the same sample rate) has its pitch moved by exactly ``1200 log2(q/p)`` cents at every
instant.  Both versions are read through the same streaming path
(:func:`cleartune.edge.pipeline.analyze_samples`, exactly as ``cleartune analyze``), each
settles to one reading (:func:`cleartune.train.measures.settled_reading`: the median of
the readings 0.4-1.6 s after the pluck; the resampled note's reading times are divided by
``p/q`` first, so both medians cover the same stretch of the note), and the error is the
difference of the two settled readings less the exact shift [cents].  Reported:
median, p95 and max |error| over all (note, ratio) pairs, for the default pipeline (int8
denoiser), ``--no-denoise``, the plain long-window harmonic-sum reference
(:func:`cleartune.bench.references.harmonic_sum_track`) and, where Debian's
``aubio-tools`` is installed, ``aubiopitch -p mcomb`` (2048-sample buffer, 256 hop) as an
external reference (optional; never a dependency).

The **reference-oscillator table**: sines and harmonic tones (``harmonic_series``, 30
partials) at every note of a list from B0 to C8 (the range) and E2 to E6 (a guitar), each
exactly in tune (A4 = 440.000 Hz) and detuned by +-0.1, +-1 and +-10 cents, read through
the default pipeline: the median |error| of the settled readings must be within 0.01 cent,
with the right note in every settled reading.

Results: ``precision.md`` and ``precision.json`` (command, commit, machine, date).
"""
from __future__ import annotations

import csv
import math
import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from cleartune.edge.params import EDGE
from cleartune.train.measures import SETTLED_FROM_S, SETTLED_TO_S

#: Resampling ratios p/q (the pitch moves by 1200 log2(q/p) cents): up and down, from
#: 1.7 to 34 cents.
DEFAULT_RATIOS: Tuple[Tuple[int, int], ...] = ((440, 441), (441, 440), (99, 100), (100, 99), (1000, 1001), (50, 51))
#: Recorded notes read by default (distinct guitar recordings of the dataset).
DEFAULT_MAX_NOTES = 40
#: Targets of issue 13 on recorded notes [cents]: median, p95, max |error|.
TARGETS = {"median": 0.005, "p95": 0.07, "max": 0.2}
#: The reference-oscillator table: notes, detunings [cents], kinds, tolerance [cents].
OSC_NOTES = ("B0", "E1", "A1", "E2", "A2", "D3", "G3", "B3", "E4", "A4", "E5", "E6", "A6", "C7", "C8")
OSC_DETUNE_CENTS = (0.0, -0.1, 0.1, -1.0, 1.0, -10.0, 10.0)
OSC_KINDS = ("sine", "harmonic")
OSC_TOLERANCE_CENTS = 0.01
SYSTEMS = ("default", "no-denoise", "harmonic_sum", "aubio_mcomb")
#: A pair whose settled readings differ from the exact shift by more than this [cents]
#: read a different note in one of the two (a partial, another octave): a note change,
#: counted apart from the precision figures.
NOTE_CHANGE_CENTS = 50.0


def default_data() -> str:
    """``data/v2_eval`` (the leave-source-out evaluation pool) when it is built, else ``data/holdout``."""
    return "data/v2_eval" if Path("data/v2_eval/metadata.csv").is_file() else "data/holdout"


def shift_cents(p: int, q: int) -> float:
    """The exact pitch change of resampling by ``p/q`` and playing at the same rate [cents]."""
    return 1200.0 * math.log2(q / p)


def resample(x: np.ndarray, p: int, q: int) -> np.ndarray:
    """``x`` resampled by exactly ``p/q`` (polyphase, Kaiser window): ``len(x) * p / q`` samples."""
    from scipy.signal import resample_poly

    return resample_poly(np.asarray(x, np.float64), p, q).astype(np.float32)


def settled(t: np.ndarray, f0: np.ndarray, *, onset_s: float, stretch: float = 1.0) -> float:
    """The settled reading [Hz] (:func:`cleartune.train.measures.settled_reading`) of a note
    whose pluck is at ``onset_s`` [s] in the original recording; ``stretch``: the resampled
    note's ``p/q`` (its reading times ``t`` are divided by it: the same stretch of the
    note).  nan when there is none."""
    from cleartune.train.measures import settled_reading

    f, _ = settled_reading(np.asarray(t, np.float64) / stretch, np.asarray(f0, np.float64), onset_s=onset_s)
    return f


# -- the systems: (t [s], f0 [Hz, nan = none]) of a signal at EDGE.sample_rate -------------------
Reader = Callable[[np.ndarray], Tuple[np.ndarray, np.ndarray]]


def tuner_reader(*, denoise: bool, model: Optional[str] = None, threads: int = 1) -> Reader:
    """The tuner exactly as ``cleartune analyze`` runs it (the one readings function,
    :func:`cleartune.edge.pipeline.analyze_samples`)."""
    from cleartune.edge.pipeline import Tuner, TunerConfig, analyze_samples
    from cleartune.train.measures import reading_arrays

    tuner = Tuner(TunerConfig(denoise=denoise, model=model, threads=threads))

    def read(x: np.ndarray):
        t, f0, _ = reading_arrays(analyze_samples(x, tuner))
        return t, f0

    read.describe = tuner.describe() + (f" ({tuner.notice})" if tuner.notice else "")   # type: ignore[attr-defined]
    return read


def harmonic_sum_reader() -> Reader:
    from cleartune.bench.references import harmonic_sum_track

    return lambda x: harmonic_sum_track(x, sample_rate=EDGE.sample_rate, hop=EDGE.hop)


def aubio_available() -> bool:
    return shutil.which("aubiopitch") is not None


def aubio_reader(*, method: str = "mcomb", buf: int = 2048, hop: int = 256) -> Reader:
    """``aubiopitch -p METHOD -B buf -H hop`` on a float WAV of the signal scaled to a peak
    of 0.5 (Debian's aubio-tools; an external reference only: its silence gate at its
    default -90 dB calls a quiet recording -- the clean notes peak near -30 dBFS -- unvoiced).
    Frames it calls unvoiced (0 Hz) are nan; times are the newest sample each value
    depends on: aubio prints the start of the hop just read, whose buffer ends ``hop``
    samples later (a step in pitch at sample s first shows in the value printed at
    ``s - hop`` or later; tests/test_bench_glide.py checks it)."""
    from cleartune.edge.audio_io import write_wav

    exe = shutil.which("aubiopitch")
    if exe is None:
        raise RuntimeError("aubiopitch not found (apt install aubio-tools)")

    def read(x: np.ndarray):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "x.wav"
            x = np.asarray(x, np.float32)
            write_wav(path, x * (0.5 / max(float(np.max(np.abs(x))), 1e-9)), EDGE.sample_rate)
            r = subprocess.run([exe, "-i", str(path), "-p", method, "-B", str(buf), "-H", str(hop), "-r", "0",
                                "-u", "Hz"], capture_output=True, text=True, timeout=300, check=True)
        rows = [line.split() for line in r.stdout.splitlines() if line.strip()]
        t = np.array([float(a) for a, _ in rows], np.float64) + hop / EDGE.sample_rate
        f0 = np.array([float(b) for _, b in rows], np.float64)
        f0[~(f0 > 0)] = np.nan
        return t, f0

    return read


def readers_for(systems: Sequence[str], *, model: Optional[str] = None, threads: int = 1,
                with_aubio: bool = True) -> Dict[str, Reader]:
    """The readers of ``systems`` (names of :data:`SYSTEMS`): the default pipeline (``model``,
    ``threads``), the tracker alone, the harmonic-sum reference and aubio's mcomb (left out
    when not installed or ``with_aubio`` is False)."""
    bad = [s for s in systems if s not in SYSTEMS]
    if bad:
        raise ValueError(f"unknown system(s) {', '.join(bad)}: choose from {', '.join(SYSTEMS)}")
    out: Dict[str, Reader] = {}
    for s in systems:
        if s == "default":
            out[s] = tuner_reader(denoise=True, model=model, threads=threads)
        elif s == "no-denoise":
            out[s] = tuner_reader(denoise=False)
        elif s == "harmonic_sum":
            out[s] = harmonic_sum_reader()
        elif s == "aubio_mcomb" and with_aubio and aubio_available():
            out[s] = aubio_reader()
    return out


# -- the recorded notes -------------------------------------------------------------------------
def recorded_notes(data: str | Path, *, max_notes: int = DEFAULT_MAX_NOTES, seed: int = 0,
                   after_s: float = SETTLED_TO_S * 1.05) -> List[Dict[str, Any]]:
    """Distinct guitar recordings of a dataset folder (``metadata.csv``: ``clean_path`` --
    the guitar alone, ``onset_s``, ``f0_hz``, ``guitar_recording``), at most ``max_notes``
    (0 = all), spread over the rows deterministically (``seed``).  Each: ``{"id",
    "recording", "note", "f0_hz", "onset_s", "audio"}`` at the edge sample rate.  Only
    notes with ``after_s`` [s] after the pluck inside the clip (default: the settled window,
    1.6 s, stretched by the longest default ratio 51/50)."""
    from cleartune.edge.audio_io import load_for_model
    from cleartune.edge.errors import DataError

    root = Path(data)
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise DataError(f"{root}: no metadata.csv (not a dataset folder)")
    with open(meta, newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen, picked = set(), []
    order = np.random.default_rng(seed).permutation(len(rows))
    for i in order:
        r = rows[int(i)]
        rec = r.get("guitar_recording") or r.get("guitar_file") or r.get("id")
        if rec in seen or not r.get("clean_path"):
            continue
        onset = float(r.get("onset_s") or 0.0)
        onset = max(0.0, onset if math.isfinite(onset) else 0.0)
        n = int(r.get("clip_samples") or 0)
        sr = int(r.get("sample_rate") or EDGE.sample_rate)
        if n and onset + after_s > n / sr:
            continue
        seen.add(rec)
        picked.append({"id": r.get("id", ""), "recording": rec, "note": r.get("note", ""),
                       "f0_hz": float(r.get("f0_hz") or "nan"), "onset_s": onset, "path": root / r["clean_path"]})
        if max_notes and len(picked) >= max_notes:
            break
    for p in picked:
        p["audio"] = load_for_model(p.pop("path"), EDGE.sample_rate)
    return picked


def _stats(err: Sequence[float]) -> Dict[str, Any]:
    a = np.abs(np.asarray([e for e in err if math.isfinite(e)], np.float64))
    if not len(a):
        return {"n": 0, "median": None, "p95": None, "max": None}
    return {"n": int(len(a)), "median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "max": float(a.max())}


def differential(notes: Sequence[Dict[str, Any]], readers: Dict[str, Reader], *,
                 ratios: Sequence[Tuple[int, int]] = DEFAULT_RATIOS,
                 log: Callable[[str], None] = lambda m: None) -> Dict[str, Any]:
    """The differential test over ``notes`` x ``ratios`` for each reader: per system the
    |error| statistics [cents], pairs without a settled reading, and every pair's error."""
    pairs: List[Dict[str, Any]] = []
    t0 = time.perf_counter()
    for i, n in enumerate(notes):
        x = n["audio"]
        base = {name: settled(*rd(x), onset_s=n["onset_s"]) for name, rd in readers.items()}
        for p, q in ratios:
            y = resample(x, p, q)
            stretch = p / q
            exact = shift_cents(p, q)
            row: Dict[str, Any] = {"id": n["id"], "recording": n["recording"], "note": n["note"], "p": p, "q": q,
                                   "shift_cents": exact}
            for name, rd in readers.items():
                fy = settled(*rd(y), onset_s=n["onset_s"], stretch=stretch)
                fx = base[name]
                row[name] = (1200.0 * math.log2(fy / fx) - exact) if (fx > 0 and fy > 0) else float("nan")
            pairs.append(row)
        log(f"  precision: note {i + 1}/{len(notes)} {n['note']} ({time.perf_counter() - t0:.0f} s)")
    return {"systems": {name: system_stats(pairs, name) for name in readers}, "pairs": pairs}


def system_stats(pairs: Sequence[Dict[str, Any]], name: str) -> Dict[str, Any]:
    """|error| statistics [cents] of one system over the pairs where both notes settled on
    the same note (``n``, ``median``, ``p95``, ``max``), the count of ``note_changes``
    (|error| > :data:`NOTE_CHANGE_CENTS`) and of pairs ``missing`` a settled reading, and
    the statistics over all settled pairs (``all``)."""
    errs = [float(r[name]) if r.get(name) is not None else float("nan") for r in pairs]
    settled_ = [e for e in errs if math.isfinite(e)]
    same = [e for e in settled_ if abs(e) <= NOTE_CHANGE_CENTS]
    s = _stats(same)
    s["note_changes"] = len(settled_) - len(same)
    s["missing"] = len(errs) - len(settled_)
    s["all"] = _stats(settled_)
    return s


# -- the reference oscillators ------------------------------------------------------------------
def oscillator_table(reader: Reader, *, notes: Sequence[str] = OSC_NOTES, detune: Sequence[float] = OSC_DETUNE_CENTS,
                     kinds: Sequence[str] = OSC_KINDS, a4: float = 440.0,
                     log: Callable[[str], None] = lambda m: None) -> Dict[str, Any]:
    """Each (note, detuning, kind) test tone read by ``reader``: median |error| of the
    settled readings [cents] (0.4-1.6 s after the onset) and whether every settled reading
    names the note."""
    from cleartune.edge.notes import hz_to_midi, midi_to_name, note_to_hz
    from cleartune.train import synth as S

    onset = 0.3
    rows = []
    for name in notes:
        for kind in kinds:
            for c in detune:
                f = note_to_hz(name, a4=a4) * 2.0 ** (c / 1200.0)
                x = S.sine(f, duration=2.2, onset_s=onset) if kind == "sine" else \
                    S.harmonic_series(f, duration=2.2, onset_s=onset)
                t, f0 = reader(x)
                sel = (t >= onset + SETTLED_FROM_S) & (t <= onset + SETTLED_TO_S)
                fs = f0[sel]
                ok = np.isfinite(fs)
                right = bool(ok.all() and len(fs)) and all(
                    midi_to_name(int(math.floor(hz_to_midi(v, a4=a4) + 0.5))) == name for v in fs)
                err = float(np.median(np.abs(1200.0 * np.log2(fs[ok] / f)))) if ok.any() else float("nan")
                rows.append({"note": name, "kind": kind, "detune_cents": c, "f_hz": f, "median_abs_cents": err,
                             "right_note": right, "ok": bool(right and err <= OSC_TOLERANCE_CENTS)})
        log(f"  oscillators: {name} done")
    errs = [r["median_abs_cents"] for r in rows]
    return {"rows": rows, "n": len(rows), "n_ok": sum(r["ok"] for r in rows), "worst_median_abs_cents":
            float(np.nanmax(errs)) if rows else None, "tolerance_cents": OSC_TOLERANCE_CENTS}


# -- the whole benchmark ------------------------------------------------------------------------
def measure_precision(data: str | Path, *, max_notes: int = DEFAULT_MAX_NOTES,
                      ratios: Sequence[Tuple[int, int]] = DEFAULT_RATIOS, model: Optional[str] = None,
                      threads: int = 1, with_aubio: bool = True, oscillators: bool = True, seed: int = 0,
                      command: str = "", log: Callable[[str], None] = lambda m: None) -> Dict[str, Any]:
    from cleartune.provenance import provenance

    notes = recorded_notes(data, max_notes=max_notes, seed=seed)
    if not notes:
        from cleartune.edge.errors import DataError

        raise DataError(f"{data}: no recorded note with 1.6 s after its pluck")
    readers = readers_for(SYSTEMS, model=model, threads=threads, with_aubio=with_aubio)
    log(f"precision: {len(notes)} recorded notes of {data} x {len(ratios)} ratios, systems {', '.join(readers)}")
    diff = differential(notes, readers, ratios=ratios, log=log)
    osc = {}
    if oscillators:
        for name in ("default", "no-denoise"):
            log(f"precision: reference oscillators through {name}")
            osc[name] = oscillator_table(readers[name], log=log)
    return {
        "benchmark": "precision",
        "data": str(data),
        "pipelines": {name: getattr(rd, "describe", "") for name, rd in readers.items() if hasattr(rd, "describe")},
        "notes": [{k: v for k, v in n.items() if k != "audio"} for n in notes],
        "ratios": [{"p": p, "q": q, "shift_cents": shift_cents(p, q)} for p, q in ratios],
        "settled_window_s": [SETTLED_FROM_S, SETTLED_TO_S],
        "targets_cents": TARGETS,
        "differential": diff,
        "oscillators": osc,
        "provenance": provenance(command),
    }


def _f(v: Optional[float], digits: int = 4) -> str:
    return "--" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def to_markdown(r: Dict[str, Any]) -> str:
    from cleartune.provenance import markdown_block

    d = r["differential"]
    ratios = ", ".join(f"{x['p']}/{x['q']}" for x in r["ratios"])
    shifts = ", ".join(f"{x['shift_cents']:+.3f}" for x in r["ratios"])
    L = ["# Precision: differential test on recorded notes, reference oscillators", ""]
    if r.get("remark"):
        L += [r["remark"], ""]
    L += [
         f"Data: `{r['data']}`, {len(r['notes'])} distinct recorded guitar notes (the clean guitar of each clip), "
         f"each resampled by {ratios} (exact shifts {shifts} cents).  Error = difference of "
         f"the settled readings (median {r['settled_window_s'][0]}-{r['settled_window_s'][1]} s after the pluck) "
         "less the exact shift.", "",
         "| system | pairs, same note | median | p95 | max | note changes | no settled reading | all settled pairs: "
         "median / p95 / max |", "|---|---|---|---|---|---|---|---|"]
    for name, s in d["systems"].items():
        a = s.get("all", s)
        L.append(f"| {name} | {s['n']} | {_f(s['median'])} | {_f(s['p95'])} | {_f(s['max'])} | "
                 f"{s.get('note_changes', 0)} | {s['missing']} | {_f(a['median'])} / {_f(a['p95'])} / {_f(a['max'], 1)} |")
    t = r["targets_cents"]
    pipes = r.get("pipelines", {})
    L += ["", f"|error| in cents.  Targets (issue 13): median <= {t['median']}, p95 <= {t['p95']}, max <= {t['max']}.  "
          f"A note change: one of the two settled readings names another note (|error| > {NOTE_CHANGE_CENTS:g} cents: "
          "a partial or another octave), counted apart; no settled reading: most readings 0.4-1.6 s after the "
          "pluck show no note (train.measures.settled_reading).",
          f"`default` is the tuner as `cleartune analyze` runs it by default ({pipes.get('default', '?')}), "
          f"`no-denoise` the tracker alone ({pipes.get('no-denoise', '?')}), "
          "`harmonic_sum` the plain long-window reference (bench/references.py), `aubio_mcomb` Debian's "
          "`aubiopitch -p mcomb -B 2048 -H 256` (an external reference, present when aubio-tools is installed).", ""]
    default = d["systems"].get("default", {})
    if default.get("n"):
        met = [k for k in ("median", "p95", "max") if default[k] is not None and default[k] <= t[k]]
        L.append(f"Default pipeline meets {len(met)} of 3 targets ({', '.join(met) or 'none'}).")
        L.append("")
    def err(p: Dict[str, Any]) -> float:
        v = p.get("default")
        return float("nan") if v is None else float(v)

    same = [p for p in d["pairs"] if abs(err(p)) <= NOTE_CHANGE_CENTS]
    changes = [p for p in d["pairs"] if abs(err(p)) > NOTE_CHANGE_CENTS]
    if same:
        L += ["Largest default errors on the same note: " + "; ".join(
            f"{p['note']} {p['recording']} {p['p']}/{p['q']}: {err(p):+.3f}"
            for p in sorted(same, key=lambda p: -abs(err(p)))[:5]), ""]
    if changes:
        L += ["Default note changes: " + "; ".join(
            f"{p['note']} {p['recording']} {p['p']}/{p['q']}: {err(p):+.1f}" for p in changes), ""]
    for name, o in r.get("oscillators", {}).items():
        L += [f"## Reference oscillators through `{name}`", "",
              f"{o['n_ok']} of {o['n']} tones read the right note in every settled reading with median |error| <= "
              f"{o['tolerance_cents']} cent (worst median {_f(o['worst_median_abs_cents'], 5)} cent).  Tones: sines and "
              f"30-partial harmonic tones at {', '.join(OSC_NOTES)}, each in tune at A4 = 440.000 Hz and detuned by "
              "+-0.1, +-1, +-10 cents.", "",
              "| note | worst median |error| (sine) | worst (harmonic) | all right notes |", "|---|---|---|---|---|"]
        by: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
        for row in o["rows"]:
            by.setdefault(row["note"], {}).setdefault(row["kind"], []).append(row)
        for note, kinds in by.items():
            w = {k: max((x["median_abs_cents"] for x in v), default=float("nan")) for k, v in kinds.items()}
            allr = all(x["right_note"] for v in kinds.values() for x in v)
            L.append(f"| {note} | {_f(w.get('sine'), 5)} | {_f(w.get('harmonic'), 5)} | {'yes' if allr else 'NO'} |")
        L.append("")
    L += ["## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


def write_precision(r: Dict[str, Any], out_dir: str | Path) -> Dict[str, Path]:
    from cleartune.bench.results_io import write_result

    return write_result(r, out_dir, stem="precision", markdown=to_markdown(r))


def summary_lines(r: Dict[str, Any]) -> List[str]:
    out = []
    for name, s in r["differential"]["systems"].items():
        out.append(f"  {name:13s} median {_f(s['median'])}  p95 {_f(s['p95'])}  max {_f(s['max'])} cents "
                   f"({s['n']} pairs on the same note, {s.get('note_changes', 0)} note changes, "
                   f"{s['missing']} without a settled reading)")
    for name, o in r.get("oscillators", {}).items():
        out.append(f"  oscillators through {name}: {o['n_ok']}/{o['n']} within {o['tolerance_cents']} cent "
                   f"(worst median {_f(o['worst_median_abs_cents'], 5)})")
    return out


def parse_ratios(text: Optional[str]) -> Tuple[Tuple[int, int], ...]:
    """``"440/441,99/100"`` -> ((440, 441), (99, 100)); None -> the defaults.  Raises ``ValueError``."""
    if not text:
        return DEFAULT_RATIOS
    out = []
    for part in text.split(","):
        fr = Fraction(part.strip())
        if fr <= 0 or fr == 1 or not (0.5 <= fr <= 2):
            raise ValueError(f"ratio {part!r} must be p/q between 1/2 and 2, not 1")
        out.append((fr.numerator, fr.denominator))
    return tuple(out)
