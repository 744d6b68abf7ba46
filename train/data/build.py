"""``cleartune data build``: sources -> clips -> split -> mixes -> metadata.

    config = BuildConfig(out=Path("data/small"), params=EDGE, n_mixes=200)
    report = build_dataset_v1(config)   # or builder.build_dataset (picks the generator)

Steps (each resumable; an interrupted build leaves no half-written file):

1. sources: each of guitar / harmonic / environmental comes from the user's folder when
   given, else from the built-in generator (:mod:`.sources`);
2. guitar clips: generated notes give one item per note (the clip window is drawn per
   mix around the pluck); bring-your-own recordings are cut by :mod:`.splitter`;
3. split: guitar items grouped by recording AND (instrument, MIDI note), noise files by
   file (:mod:`.split`), so no recording, no note of an instrument and no noise file is in
   two splits;
4. mixes (deterministic from the seed and the mix index): detune by exact FFT resampling,
   optional synthetic room, random level, harmonic + environmental noise at the SNR
   (:mod:`.noisifier`); three float32 WAVs, then the row (``.parts/ID.json``);
5. ``metadata.csv`` and ``dataset.json`` (atomic).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from cleartune.edge.errors import DataError
from cleartune.edge.fileio import atomic_write_text
from cleartune.edge.params import SignalParams

from . import dataset as ds
from .sources import POOLS, GenerateSettings, SourceRecord

FORMAT = "cleartune-dataset"
FORMAT_VERSION = 1
PARTS_DIR = ".parts"
OUTPUT_DIRS = ("mixes", "clean", "noise")
#: Mix-time randomisation defaults.
DEFAULT_LEVEL_DB = (-35.0, -3.0)      # clean-clip peak [dBFS]
P_GUITAR_REVERB = 0.25
GUITAR_RT60_S = (0.2, 1.2)
P_MIC_EQ = 0.5                        # random microphone/room colouration of guitar and noise
MIC_PREROLL_S = 0.2                   # noise filtered from this long before its segment [s]
P_PITCH_CLASS = 0.3                   # harmonic scene on the guitar's own pitch class, when one exists
HARMONIC_TO_ENV_DB = (-10.0, 10.0)
P_ENV_ONLY, P_HARMONIC_ONLY = 0.15, 0.15
#: A noise segment more than this far below its source's peak level [dB] is redrawn.
NOISE_SEGMENT_FLOOR_DB = 50.0
#: Largest |cents| a mix's true f0 may sit from its note (keeps the note label unambiguous).
MAX_CENTS_OFF = 49.9
CACHE_BYTES = 768 * 2 ** 20
#: Permissions of the text files we write (mkstemp would leave them 0600).
FILE_MODE = 0o644


@dataclass
class BuildConfig:
    """Everything that defines a dataset (plus ``jobs``/``progress``/``command``, which do not)."""

    out: Path
    params: SignalParams
    preset: str = "edge"
    n_mixes: Optional[int] = None              # None: 200 generated, one per clip for BYO guitars
    seed: int = 0
    snr_min: float = -5.0
    snr_max: float = 20.0
    snrs: Optional[tuple[float, ...]] = None   # stratified fixed SNRs (inf = clean)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    detune_cents: float = 50.0                 # true f0 uniform within +-this of the note
    level_db: tuple[float, float] = DEFAULT_LEVEL_DB
    silence_db: float = -60.0
    guitar_dir: Optional[Path] = None
    harmonic_dir: Optional[Path] = None
    env_dir: Optional[Path] = None
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    holdout: bool = False
    p_guitar_reverb: float = P_GUITAR_REVERB
    p_pitch_class: float = P_PITCH_CLASS
    p_mic_eq: float = P_MIC_EQ
    generator: str = "v1"                      # "v2": sources_v2 + build_v2 (leave-source-out pools)
    v2: Any = None                             # sources_v2.GenerateV2 (generator v2)
    clean_share: float = 0.0                   # v2: share of clean mixes when SNRs are drawn uniformly
    jobs: int = 1
    progress: bool = True
    command: str = ""

    def __post_init__(self) -> None:
        if self.holdout and self.generate.pool != "holdout":
            self.generate = replace(self.generate, pool="holdout")

    def settings_dict(self) -> dict[str, Any]:
        """The settings that define the content (compared when resuming)."""
        gen = self.generate.to_dict()
        gen.pop("extra", None)
        return _jsonable({
            "preset": self.preset, "clip_samples": self.params.clip_samples, "sample_rate": self.params.sample_rate,
            "n_mixes": self.n_mixes, "seed": self.seed, "snr_min": self.snr_min, "snr_max": self.snr_max,
            "snrs": list(self.snrs) if self.snrs is not None else None, "split": list(self.fractions),
            "detune_cents": self.detune_cents, "level_db": list(self.level_db), "silence_db": self.silence_db,
            "guitar_dir": str(self.guitar_dir) if self.guitar_dir else None,
            "harmonic_dir": str(self.harmonic_dir) if self.harmonic_dir else None,
            "environmental_dir": str(self.env_dir) if self.env_dir else None,
            "generate": gen, "holdout": self.holdout, "p_guitar_reverb": self.p_guitar_reverb,
            "p_pitch_class": self.p_pitch_class, "p_mic_eq": self.p_mic_eq,
            # only v2 builds carry these (a v1 folder's stored settings stay comparable)
            **({"generator": "v2", "v2": self.v2.to_dict(), "clean_share": self.clean_share}
               if self.generator == "v2" else {}),
        })


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON (inf written as the string 'inf') so stored and new settings compare equal."""
    def conv(o):
        if isinstance(o, float) and math.isinf(o):
            return "inf" if o > 0 else "-inf"
        if isinstance(o, dict):
            return {str(k): conv(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [conv(v) for v in o]
        return o
    return json.loads(json.dumps(conv(obj)))


@dataclass
class GuitarItem:
    """A guitar clip source: a generated note (``start`` None: window drawn per mix) or a
    kept clip of a BYO recording (``start`` in samples)."""

    record: SourceRecord
    start: Optional[int]
    f0_hz: float
    f0_source: str
    midi: int


@dataclass
class MixSpec:
    index: int
    id: str
    split: str
    item: int
    snr_db: float


@dataclass
class BuildReport:
    out: Path
    counts: dict[str, int]
    seconds: float
    bytes: int
    skipped: list[str]
    made: int            # mixes written by this run (the rest were resumed)


# -- helpers -----------------------------------------------------------------------------

def _atomic_text(path: Path, text: str) -> None:
    atomic_write_text(path, text, mode=FILE_MODE)


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="", file=sys.stderr, dynamic_ncols=True, leave=True)


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def default_n_mixes(config: BuildConfig, n_byo_clips: Optional[int]) -> int:
    if config.n_mixes is not None:
        return int(config.n_mixes)
    return int(n_byo_clips) if n_byo_clips is not None else 200


def estimate_bytes(config: BuildConfig, *, n_mixes: int) -> dict[str, int]:
    """Rough disk use [bytes]: three float32 WAVs per mix plus generated sources."""
    from .sources import GUITAR_POST_S, GUITAR_PRE_S

    sr = config.params.sample_rate
    per_mix = 3 * (4 * config.params.clip_samples + 80) + 1500   # WAVs + row
    g = config.generate
    guitar = 0 if config.guitar_dir else len(g.programs()) * len(g.velocities) * len(g.notes) * int(4 * sr * (GUITAR_PRE_S + GUITAR_POST_S))
    noise = int(4 * sr * g.noise_seconds) * ((0 if config.harmonic_dir else g.n_harmonic + g.n_voice) + (0 if config.env_dir else g.n_env))
    return {"mixes": per_mix * n_mixes, "sources": guitar + noise, "total": per_mix * n_mixes + guitar + noise}


class _Cache:
    """Decoded sources, least recently used dropped beyond a byte budget."""

    def __init__(self, *, out: Path, sample_rate: int, budget: int = CACHE_BYTES):
        self.out, self.sr, self.budget = out, sample_rate, budget
        self.data: OrderedDict[str, np.ndarray] = OrderedDict()
        self.used = 0

    def get(self, path: str) -> np.ndarray:
        if path in self.data:
            self.data.move_to_end(path)
            return self.data[path]
        from .byo import load_source

        p = Path(path)
        x = load_source(p if p.is_absolute() else self.out / p, sample_rate=self.sr)
        self.data[path] = x
        self.used += x.nbytes
        while self.used > self.budget and len(self.data) > 1:
            _, old = self.data.popitem(last=False)
            self.used -= old.nbytes
        return x


# -- the mix ------------------------------------------------------------------------------

class _Context:
    def __init__(self, config: BuildConfig, items: list[GuitarItem], pools: dict[str, dict[str, list[SourceRecord]]]):
        self.config = config
        self.items = items
        self.pools = pools
        self.cache = _Cache(out=Path(config.out), sample_rate=config.params.sample_rate)


_CTX: Optional[_Context] = None


def _init_worker(ctx: _Context) -> None:
    global _CTX
    _CTX = ctx


def _noise_segment(rng: np.random.Generator, ctx: _Context, rec: SourceRecord, n: int,
                   *, sos: Optional[np.ndarray] = None) -> tuple[np.ndarray, int]:
    """A segment of ``n`` samples of a noise source at a random offset (redrawn if nearly
    silent), filtered by ``sos`` (the mix's microphone colouration) with a pre-roll so the
    filter has settled.  Returns ``(segment, offset)``."""
    seg, off = _raw_noise_segment(rng, ctx, rec, n)
    if sos is None:
        return seg, off
    import scipy.signal

    from .splitter import clip_at

    src = ctx.cache.get(rec.path)
    pre = min(off, int(MIC_PREROLL_S * ctx.config.params.sample_rate))
    longer = clip_at(src, off - pre, n + pre) if len(src) >= n else np.concatenate([np.zeros(pre), seg])
    return scipy.signal.sosfilt(sos, longer)[pre:], off


def _raw_noise_segment(rng: np.random.Generator, ctx: _Context, rec: SourceRecord, n: int) -> tuple[np.ndarray, int]:
    from .splitter import clip_at, rms_db

    src = ctx.cache.get(rec.path)
    if len(src) < n:
        reps = int(math.ceil(n / len(src)))
        return np.tile(src, reps)[:n], 0
    peak_db = 20 * math.log10(max(float(np.max(np.abs(src))), 1e-12))
    best = None
    for _ in range(8):
        off = int(rng.integers(0, len(src) - n + 1))
        seg = clip_at(src, off, n)
        lv = rms_db(seg)
        if best is None or lv > best[2]:
            best = (seg, off, lv)
        if lv >= peak_db - NOISE_SEGMENT_FLOOR_DB:
            break
    return best[0], best[1]


def _pick_harmonic(rng: np.random.Generator, ctx: _Context, pool: list[SourceRecord], pitch_class: int) -> SourceRecord:
    matching = [r for r in pool if r.pitch_class == pitch_class]
    if matching and rng.random() < ctx.config.p_pitch_class:
        return matching[int(rng.integers(0, len(matching)))]
    return pool[int(rng.integers(0, len(pool)))]


def make_mix(spec: MixSpec, ctx: _Context) -> dict[str, Any]:
    """Build, write and return the metadata row of one mix (deterministic from the seed)."""
    import scipy.signal

    from cleartune.edge.audio_io import write_wav

    from .detune import detune
    from .f0 import cents, midi_to_hz, note_name
    from .noisifier import mix_at_snr
    from .splitter import clip_at, note_clip_start
    from .synth_noise import mic_filter, reverb

    cfg = ctx.config
    sr, n = cfg.params.sample_rate, cfg.params.clip_samples
    rng = np.random.default_rng([cfg.seed, 7, spec.index])
    item = ctx.items[spec.item]
    rec = item.record
    x = ctx.cache.get(rec.path)

    # 1. the guitar: exact detune by FFT resampling of the whole note (or the clip with margins)
    off_cents = cents(item.f0_hz, midi_to_hz(item.midi))
    if cfg.detune_cents > 0:
        lim = min(cfg.detune_cents, MAX_CENTS_OFF)
        shift = float(rng.uniform(-lim, lim)) - off_cents
    else:
        shift = 0.0
    if item.start is None:
        seg_start, seg = 0, x
    else:
        margin = n // 8
        seg_start = item.start - margin
        seg = clip_at(x, seg_start, n + 2 * margin)
    y, ratio = detune(seg, shift)                   # ratio = N / M exactly
    N, M = len(seg), len(y)
    f0 = item.f0_hz * ratio
    rt60 = 0.0
    if rec.reverb_s == 0 and rng.random() < cfg.p_guitar_reverb:
        rt60 = float(rng.uniform(*GUITAR_RT60_S))
        y = reverb(y, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.15, 0.5)))
    mic_sos, mic_desc = (None, "")
    if rng.random() < cfg.p_mic_eq:
        mic_sos, mic_desc = mic_filter(sr, rng)
        y = scipy.signal.sosfilt(mic_sos, y)
    onset_file = rec.onset_s * sr if rec.onset_s is not None else None
    if item.start is None:
        start_y = note_clip_start((onset_file - seg_start) * M / N, clip_samples=n, sample_rate=sr, rng=rng)
    else:
        start_y = int(round((n // 8) * M / N))
    clean = clip_at(y, start_y, n)
    peak = float(np.max(np.abs(clean)))
    if peak <= 0:
        raise DataError(f"{rec.path}: silent guitar clip at {start_y}")
    clean *= 10 ** (float(rng.uniform(*cfg.level_db)) / 20.0) / peak
    onset_clip = ((onset_file - seg_start) * M / N - start_y) / sr if onset_file is not None else float("nan")
    clip_start_s = (seg_start + start_y * N / M) / sr

    # 2. the noise
    pool = ctx.pools[spec.split]
    harm_rec = env_rec = None
    harm = env = None
    h_off = e_off = 0
    if math.isfinite(spec.snr_db):
        u = rng.random()
        want_e = u < P_ENV_ONLY or u >= P_ENV_ONLY + P_HARMONIC_ONLY
        want_h = u >= P_ENV_ONLY
        if want_h and not pool["harmonic"]:
            want_h, want_e = False, True
        if want_e and not pool["environmental"]:
            want_e, want_h = False, bool(pool["harmonic"])
        if want_h:
            harm_rec = _pick_harmonic(rng, ctx, pool["harmonic"], item.midi % 12)
            harm, h_off = _noise_segment(rng, ctx, harm_rec, n, sos=mic_sos)
        if want_e:
            env_rec = pool["environmental"][int(rng.integers(0, len(pool["environmental"])))]
            env, e_off = _noise_segment(rng, ctx, env_rec, n, sos=mic_sos)
        if harm is None and env is None:
            raise DataError("no noise sources for a noisy mix")
    h2e = float(rng.uniform(*HARMONIC_TO_ENV_DB))
    res = mix_at_snr(clean, snr_db_requested=spec.snr_db, harmonic=harm, env=env, harmonic_to_env_db=h2e)

    out = Path(cfg.out)
    rels = {k: f"{d}/{spec.id}.wav" for k, d in zip(("mix_path", "clean_path", "noise_path"), OUTPUT_DIRS)}
    write_wav(out / rels["clean_path"], res.clean, sr)
    write_wav(out / rels["noise_path"], res.noise, sr)
    write_wav(out / rels["mix_path"], res.mix, sr)
    final_off = cents(f0, midi_to_hz(item.midi))
    row = {
        "id": spec.id, "split": spec.split, **rels,
        "guitar_file": rec.path, "guitar_recording": rec.recording, "instrument": rec.instrument,
        "midi": item.midi, "note": note_name(item.midi), "f0_hz": f0, "f0_source": item.f0_source,
        "f0_spread_cents": rec.f0_spread_cents, "cents_off": final_off,
        "detune_cents": 1200.0 * math.log2(ratio), "detune_ratio": ratio, "velocity": rec.velocity,
        "guitar_level_db": 20 * math.log10(float(np.max(np.abs(res.clean)))), "guitar_reverb_s": rt60, "mic_eq": mic_desc,
        "clip_start_s": clip_start_s, "onset_s": onset_clip,
        "harmonic_file": harm_rec.path if harm_rec else "", "harmonic_kind": harm_rec.kind if harm_rec else "",
        "harmonic_instrument": harm_rec.instrument if harm_rec else "",
        "harmonic_offset": h_off / sr, "harmonic_gain": res.harmonic_gain,
        "env_file": env_rec.path if env_rec else "", "env_kind": env_rec.kind if env_rec else "",
        "env_offset": e_off / sr, "env_gain": res.env_gain,
        "snr_db": spec.snr_db, "snr_measured_db": res.snr_measured_db, "peak_gain": res.peak_gain,
        "mix_peak": float(np.max(np.abs(res.mix))), "sample_rate": sr, "clip_samples": n,
    }
    part = out / PARTS_DIR / f"{spec.id}.json"
    _atomic_text(part, json.dumps(_jsonable(row)))
    return row


def _run_spec(spec: MixSpec) -> dict[str, Any]:
    assert _CTX is not None
    return make_mix(spec, _CTX)


def _load_part(out: Path, spec: MixSpec) -> Optional[dict[str, Any]]:
    part = out / PARTS_DIR / f"{spec.id}.json"
    if not part.exists():
        return None
    if not all((out / d / f"{spec.id}.wav").exists() for d in OUTPUT_DIRS):
        return None
    try:
        row = json.loads(part.read_text())
    except (OSError, ValueError):
        return None
    return row if row.get("split") == spec.split else None


# -- planning -----------------------------------------------------------------------------

def _split_counts(n: int, fractions: tuple[float, float, float], available: dict[str, bool]) -> dict[str, int]:
    from .split import SPLIT_NAMES

    fr = {s: f for s, f in zip(SPLIT_NAMES, fractions) if f > 0 and available.get(s)}
    if not fr:
        raise DataError("no guitar clips in any split with a non-zero share")
    tot = sum(fr.values())
    raw = {s: n * f / tot for s, f in fr.items()}
    counts = {s: int(math.floor(v)) for s, v in raw.items()}
    for s in sorted(raw, key=lambda s: raw[s] - counts[s], reverse=True)[: n - sum(counts.values())]:
        counts[s] += 1
    return {s: counts.get(s, 0) for s in SPLIT_NAMES}


def plan_mixes(config: BuildConfig, items: list[GuitarItem], item_splits: list[str], n_mixes: int) -> list[MixSpec]:
    """The mixes to build: per split, items cycled in shuffled rounds; SNRs drawn uniformly
    or stratified over ``config.snrs`` (equal counts, shuffled)."""
    from .split import SPLIT_NAMES

    rng = np.random.default_rng([config.seed, 5])
    by_split = {s: [i for i, sp in enumerate(item_splits) if sp == s] for s in SPLIT_NAMES}
    counts = _split_counts(n_mixes, config.fractions, {s: bool(v) for s, v in by_split.items()})
    specs: list[MixSpec] = []
    for s in SPLIT_NAMES:
        k = counts[s]
        if k == 0:
            continue
        order: list[int] = []
        while len(order) < k:
            order.extend(int(i) for i in rng.permutation(by_split[s]))
        if config.snrs:
            snrs = [config.snrs[i % len(config.snrs)] for i in range(k)]
            snrs = [snrs[i] for i in rng.permutation(k)]
        else:
            snrs = [float(v) for v in rng.uniform(config.snr_min, config.snr_max, size=k)]
        for j in range(k):
            idx = len(specs)
            specs.append(MixSpec(index=idx, id=f"m{idx:05d}", split=s, item=order[j], snr_db=float(snrs[j])))
    return specs


# -- the build ----------------------------------------------------------------------------

def _check_resume(out: Path, settings: dict[str, Any]) -> None:
    info_p = out / ds.INFO_FILE
    if not info_p.exists():
        return
    try:
        old = json.loads(info_p.read_text())
    except (OSError, ValueError):
        raise DataError(f"{info_p}: unreadable; remove the folder or use --overwrite") from None
    if old.get("settings") != settings:
        diff = sorted(k for k in set(old.get("settings", {})) | set(settings)
                      if old.get("settings", {}).get(k) != settings.get(k))
        raise DataError(f"{out} holds a dataset built with other settings ({', '.join(diff)}); "
                        f"use another --out or --overwrite")


def remove_outputs(out: Path) -> None:
    """Delete what a build writes in ``out`` (and only that)."""
    for d in (*OUTPUT_DIRS, "sources", PARTS_DIR):
        if (out / d).is_dir():
            shutil.rmtree(out / d)
    for f in (ds.METADATA_FILE, ds.INFO_FILE):
        if (out / f).exists():
            (out / f).unlink()


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files left by a killed build (atomic writes are ``.NAME.*.tmp``)."""
    for p in out.rglob(".*.tmp"):
        try:
            p.unlink()
        except OSError:
            pass


def _write_info(out: Path, info: dict[str, Any]) -> None:
    _atomic_text(out / ds.INFO_FILE, json.dumps(_jsonable(info), indent=2) + "\n")


def _versions() -> dict[str, str]:
    import platform

    import scipy

    from cleartune import __version__

    from .sources import tool_versions

    v = {"cleartune": __version__, "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__}
    v.update(tool_versions())
    return v


def collect_sources(config: BuildConfig, *, skipped: list) -> tuple[list[GuitarItem], dict[str, list[SourceRecord]], int]:
    """Sources of all three categories (generated and/or bring-your-own) and the guitar items."""
    from .byo import scan_guitar_folder, scan_noise_folder
    from .sources import count_jobs, generate_sources

    params = config.params
    out = Path(config.out)
    gen = replace(config.generate)
    if config.guitar_dir:
        gen = replace(gen, velocities=())
    if config.harmonic_dir:
        gen = replace(gen, n_harmonic=0, n_voice=0)
    if config.env_dir:
        gen = replace(gen, n_env=0)
    recs: dict[str, list[SourceRecord]] = {"guitar": [], "harmonic": [], "environmental": []}
    n_jobs = count_jobs(gen)
    if n_jobs:
        bar = _bar(n_jobs, "sources", config.progress)
        recs = generate_sources(gen, out_dir=out, sample_rate=params.sample_rate, seed=config.seed,
                                jobs=config.jobs, progress=bar.update if bar else None)
        if bar:
            bar.close()
    items: list[GuitarItem] = [GuitarItem(record=r, start=None, f0_hz=float(r.f0_hz), f0_source=r.f0_source, midi=int(r.midi))
                               for r in recs["guitar"]]
    unlabelled = 0
    for cat, folder in (("harmonic", config.harmonic_dir), ("environmental", config.env_dir)):
        if folder:
            from .byo import audio_files

            bar = _bar(len(audio_files(Path(folder))), f"scan {cat}", config.progress)
            recs[cat] = scan_noise_folder(Path(folder), category=cat, sample_rate=params.sample_rate,
                                          skipped=skipped, progress=bar.update if bar else None)
            if bar:
                bar.close()
    if config.guitar_dir:
        from .byo import audio_files

        bar = _bar(len(audio_files(Path(config.guitar_dir))), "scan guitar", config.progress)
        clips, unlabelled = scan_guitar_folder(Path(config.guitar_dir), clip_samples=params.clip_samples,
                                               sample_rate=params.sample_rate, silence_db=config.silence_db,
                                               skipped=skipped, progress=bar.update if bar else None)
        if bar:
            bar.close()
        items = [GuitarItem(record=c.record, start=c.start, f0_hz=c.f0_hz, f0_source=c.f0_source, midi=c.midi)
                 for c in clips]
        recs["guitar"] = list({id(c.record): c.record for c in clips}.values())
    if not items:
        raise DataError("no usable guitar clips (all inputs unreadable, silent or unlabelled)")
    for cat in ("harmonic", "environmental"):
        if not recs[cat] and (config.snrs is None or any(math.isfinite(s) for s in config.snrs)):
            other = "environmental" if cat == "harmonic" else "harmonic"
            if not recs[other]:
                raise DataError("no usable noise files (all inputs unreadable or silent)")
    return items, recs, unlabelled


def make_all_mixes(specs: list, rows: list, *, make, ctx, init_worker, run_spec, jobs: int,
                   progress: bool) -> int:
    """Fill ``rows`` (one per spec, ``spec.index``; None = not made yet, else a resumed row)
    with ``make(spec, ctx)``, in ``jobs`` worker processes (``init_worker(ctx)`` once per
    worker, ``run_spec(spec)`` per mix) when there is more than one to make; a progress bar.
    Returns how many were made."""
    todo = [s for s, r in zip(specs, rows) if r is None]
    bar = _bar(len(specs), "mixes", progress)
    if bar:
        bar.update(len(specs) - len(todo))
    if jobs <= 1 or len(todo) < 2:
        for s in todo:
            rows[s.index] = make(s, ctx)
            if bar:
                bar.update(1)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, initializer=init_worker, initargs=(ctx,)) as ex:
            for s, row in zip(todo, ex.map(run_spec, todo, chunksize=4)):
                rows[s.index] = row
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    return len(todo)


def write_metadata(out: Path, rows: list) -> None:
    """``out/metadata.csv`` from the mixes' rows (all made), atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ds.COLUMNS)
    for r in rows:
        assert r is not None
        w.writerow([ds.format_value(_unjson(k, r.get(k))) for k in ds.COLUMNS])
    _atomic_text(out / ds.METADATA_FILE, buf.getvalue())


def build_dataset_v1(config: BuildConfig) -> BuildReport:
    """Build (or resume) the v1 dataset described by ``config`` in ``config.out``
    (:func:`cleartune.train.data.builder.build_dataset` picks the generator)."""
    from .byo import skipped_warning
    from .split import SPLIT_NAMES, assign_splits

    t0 = time.time()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = config.settings_dict()
    _check_resume(out, settings)
    pool = POOLS[config.generate.pool]
    info: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "complete": False,
        "signal_params": config.params.to_dict(), "preset": config.preset, "seed": config.seed,
        "settings": settings, "pool": pool.to_dict(), "command": config.command,
        "source_origin": {
            "guitar": f"folder {config.guitar_dir}" if config.guitar_dir else "generated",
            "harmonic": f"folder {config.harmonic_dir}" if config.harmonic_dir else "generated",
            "environmental": f"folder {config.env_dir}" if config.env_dir else "generated",
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
    }
    _write_info(out, info)
    _remove_stale_temporaries(out)

    skipped: list = []
    items, recs, unlabelled = collect_sources(config, skipped=skipped)
    warning = skipped_warning(skipped)
    if warning:
        print(warning, file=sys.stderr)

    # split: guitar items by recording and by (instrument, note); noise by file
    item_splits = assign_splits([[("rec", it.record.recording), ("note", it.record.instrument, it.midi)] for it in items],
                                fractions=config.fractions, seed=config.seed, salt=0)
    pools: dict[str, dict[str, list[SourceRecord]]] = {s: {"harmonic": [], "environmental": []} for s in SPLIT_NAMES}
    shared = []
    for salt, cat in ((1, "harmonic"), (2, "environmental")):
        sp = assign_splits([[("rec", r.recording)] for r in recs[cat]], fractions=config.fractions, seed=config.seed, salt=salt)
        for r, s in zip(recs[cat], sp):
            pools[s][cat].append(r)
        for s in SPLIT_NAMES:
            if not pools[s][cat] and recs[cat]:
                pools[s][cat] = list(recs[cat])     # too few files to keep this split's pool apart
                shared.append(f"{s}:{cat}")

    n_mixes = default_n_mixes(config, len(items) if config.guitar_dir else None)
    specs = plan_mixes(config, items, item_splits, n_mixes)
    est = estimate_bytes(config, n_mixes=len(specs))
    if config.progress:
        print(f"building {len(specs)} mixes in {out} (estimated size {est['total'] / 1e6:.0f} MB)", file=sys.stderr)

    ctx = _Context(config, items, pools)
    rows: list[Optional[dict[str, Any]]] = [_load_part(out, s) for s in specs]
    made = make_all_mixes(specs, rows, make=make_mix, ctx=ctx, init_worker=_init_worker, run_spec=_run_spec,
                          jobs=config.jobs, progress=config.progress)
    write_metadata(out, rows)

    split_counts = Counter(s.split for s in specs)
    size = dir_bytes(out)
    info.update({
        "complete": True,
        "counts": {
            "mixes": len(specs), **{s: split_counts.get(s, 0) for s in SPLIT_NAMES},
            "clean_mixes": sum(1 for s in specs if not math.isfinite(s.snr_db)),
            "guitar_items": len(items),
            "guitar_items_per_split": dict(Counter(item_splits)),
            "guitar_recordings": len({it.record.recording for it in items}),
            "harmonic_sources": len(recs["harmonic"]), "environmental_sources": len(recs["environmental"]),
            "noise_sources_per_split": {s: {c: len(pools[s][c]) for c in pools[s]} for s in SPLIT_NAMES},
            "instruments": dict(Counter(it.record.instrument for it in items)),
            "notes": len({(it.record.instrument, it.midi) for it in items}),
        },
        "shared_noise_pools": shared,
        "skipped_files": [{"path": s.path, "reason": s.reason} for s in skipped],
        "unlabelled_clips": unlabelled,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds_last_run": round(time.time() - t0, 1),
        "bytes": size, "estimated_bytes": est["total"],
        "versions": _versions(),
    })
    _write_info(out, info)
    return BuildReport(out=out, counts={"mixes": len(specs), **{s: split_counts.get(s, 0) for s in SPLIT_NAMES}},
                       seconds=time.time() - t0, bytes=size, skipped=[s.path for s in skipped], made=made)


def _unjson(key: str, v: Any) -> Any:
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    return v
