"""``cleartune data build --generator v2``: the leave-source-out dataset with domain
randomization and the hard cases.

    training pool:  cleartune data build --generator v2 --out data/v2 --n-mixes 3000
    evaluation:     cleartune data build --generator v2 --holdout --out data/v2_eval --n-mixes 400 \\
                        --snrs clean,10,5,0,-5

Same folder format, resume and atomic writes as v1 (:mod:`.build`); sources from
:mod:`.sources_v2`; the pool (``train`` or ``eval``) shares no source tag with the other.

Per mix (deterministic from the seed and the mix index):

1. guitar: exact detune (FFT resampling) so the true f0 is uniform within +-49.9 cents of
   the note; a synthetic room (RT60, direct/reverberant ratio = distance) on most;
2. the clip window: eval clips have the pluck 0.25-1.5 s in (>= 1.6 s of guitar after it);
   training clips 0.05-1.5 s in (80 %) or up to 0.5 s before the clip starts;
3. noise of the planned type (harmonic | environmental | mixed; clean = none) and hard case
   (same_pitch_class: a held note of the guitar's pitch class in another octave; tuning_a: a
   held A at 440-443 Hz on oboe, violin or strings); sources drawn package first, then file;
   random detune of scenes/music, their own room; mains hum on some environmental parts;
4. one random microphone colouration (EQ) on guitar and noise alike; the level; the SNR
   (:func:`.noisifier.mix_at_snr`); occasional soft clipping of the mix, whose distortion is
   counted as noise (so ``mix == clean + noise`` still holds exactly).
"""
from __future__ import annotations

import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from cleartune.edge.errors import DataError

from .build import (
    FORMAT,
    FORMAT_VERSION,
    OUTPUT_DIRS,
    PARTS_DIR,
    BuildConfig,
    BuildReport,
    _atomic_text,
    _bar,
    _check_resume,
    _Context,
    _jsonable,
    _remove_stale_temporaries,
    _split_counts,
    _versions,
    _write_info,
    dir_bytes,
    make_all_mixes,
    write_metadata,
)
from .sources import SourceRecord

NOISE_TYPES = ("harmonic", "environmental", "mixed")
HARD_CASES = ("same_pitch_class", "tuning_a")
#: Share of the NOISY mixes that are each hard case.
P_HARD = 0.10
P_GUITAR_ROOM, GUITAR_RT60_S, GUITAR_WET = 0.7, (0.15, 1.5), (0.05, 0.6)
P_NOISE_ROOM, NOISE_RT60_S, NOISE_WET = 0.5, (0.2, 1.8), (0.1, 0.7)
P_MIC_EQ = 0.8
P_DETUNE_NOISE, NOISE_DETUNE_CENTS = 0.4, 35.0
P_HUM, HUM_DB = 0.15, (-20.0, -3.0)            # mains hum relative to the environmental part
P_CLIP, CLIP_DRIVE = 0.05, (1.2, 2.5)          # soft clip thr*tanh(x/thr), thr = mix peak / drive
HARMONIC_TO_ENV_DB = (-10.0, 10.0)
HARD_TO_ENV_DB = (0.0, 10.0)
EVAL_ONSET_S = (0.25, 1.5)
TRAIN_ONSET_S, P_TRAIN_LATE = (0.05, 1.5), 0.2
MAX_CENTS_OFF = 49.9
PRE_ROLL_S = 0.3
#: A noise part quieter than this [dBFS RMS, sources peak at 0.9] is drawn again (at most MAX_REDRAWS times).
SILENT_PART_DB, MAX_REDRAWS = -80.0, 8
NOISE_FLOOR_DB = 50.0


@dataclass
class SpecV2:
    index: int
    id: str
    split: str
    item: int
    snr_db: float
    noise_type: str      # clean | harmonic | environmental | mixed
    hard_case: str       # "" | same_pitch_class | tuning_a


def plan_v2(config: BuildConfig, items: list[SourceRecord], item_splits: list[str], n_mixes: int) -> list[SpecV2]:
    """Mixes per split; SNRs stratified (``config.snrs``) or uniform with a clean share;
    within each SNR the noise types are dealt in equal shares and P_HARD of the noisy mixes
    are each hard case (taken from the harmonic/mixed ones)."""
    from .split import SPLIT_NAMES

    rng = np.random.default_rng([config.seed, 55])
    by_split = {s: [i for i, sp in enumerate(item_splits) if sp == s] for s in SPLIT_NAMES}
    counts = _split_counts(n_mixes, config.fractions, {s: bool(v) for s, v in by_split.items()})
    specs: list[SpecV2] = []
    for s in SPLIT_NAMES:
        k = counts[s]
        if k == 0:
            continue
        order = _balanced_order(rng, [items[i].source for i in by_split[s]], by_split[s], k)
        if config.snrs:
            snrs = [config.snrs[i % len(config.snrs)] for i in range(k)]
        else:
            n_clean = int(round(config.clean_share * k))
            snrs = [math.inf] * n_clean + [float(v) for v in rng.uniform(config.snr_min, config.snr_max, size=k - n_clean)]
        # noise types and hard cases: per SNR group (all noisy mixes are one group when drawn uniformly)
        types = [""] * k
        hard = [""] * k
        groups: dict[Any, list[int]] = {}
        for i, v in enumerate(snrs):
            groups.setdefault(v if config.snrs else math.isfinite(v), []).append(i)
        for idx in groups.values():
            if not all(math.isfinite(snrs[i]) for i in idx):
                for i in idx:
                    types[i] = "clean"
                continue
            idx = [idx[j] for j in rng.permutation(len(idx))]
            for j, i in enumerate(idx):
                types[i] = NOISE_TYPES[j % 3]
            with_h = [i for i in idx if types[i] != "environmental"]
            n_h = int(round(P_HARD * len(idx)))
            for j, i in enumerate(with_h[: 2 * n_h]):
                hard[i] = HARD_CASES[j % 2]
        perm = rng.permutation(k)
        for j in range(k):
            q = int(perm[j])
            idx = len(specs)
            specs.append(SpecV2(index=idx, id=f"m{idx:05d}", split=s, item=order[j], snr_db=float(snrs[q]),
                                noise_type=types[q], hard_case=hard[q]))
    return specs


def _balanced_order(rng: np.random.Generator, tags: list[str], idx: list[int], k: int) -> list[int]:
    """``k`` item indices, guitar sources in turn (each source equally often), items of a
    source in shuffled rounds."""
    by_tag: dict[str, list[int]] = {}
    for t, i in zip(tags, idx):
        by_tag.setdefault(t, []).append(i)
    names = sorted(by_tag)
    queues: dict[str, list[int]] = {t: [] for t in names}
    out: list[int] = []
    while len(out) < k:
        for t in (names[j] for j in rng.permutation(len(names))):
            if not queues[t]:
                queues[t] = [by_tag[t][j] for j in rng.permutation(len(by_tag[t]))]
            out.append(queues[t].pop())
    return out[:k]


_CTX: Optional[_Context] = None


def _init_worker(ctx: _Context) -> None:
    global _CTX
    _CTX = ctx


def _run_spec(spec: SpecV2) -> dict[str, Any]:
    assert _CTX is not None
    return make_mix_v2(spec, _CTX)


def source_family(tag: str) -> str:
    """The package a tag belongs to: ``espeak-ng:fr`` -> ``espeak-ng``, ``synth:hum`` -> ``synth``."""
    return tag.split(":", 1)[0]


def _by_source(rng: np.random.Generator, recs: list[SourceRecord]) -> SourceRecord:
    """A record drawn package first (every package equally likely; espeak-ng's languages and
    the synthesis kinds count as one package each), then tag, then file."""
    fams = sorted({source_family(r.source) for r in recs})
    fam = fams[int(rng.integers(0, len(fams)))]
    tags = sorted({r.source for r in recs if source_family(r.source) == fam})
    tag = tags[int(rng.integers(0, len(tags)))]
    cands = [r for r in recs if r.source == tag]
    return cands[int(rng.integers(0, len(cands)))]


def _segment(rng: np.random.Generator, src: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """``n`` samples of ``src`` at a random offset (not nearly silent when avoidable); loops short sources."""
    from .splitter import clip_at, rms_db

    if len(src) < n:
        return np.tile(src, int(math.ceil(n / max(1, len(src)))))[:n], 0
    peak_db = 20 * math.log10(max(float(np.max(np.abs(src))), 1e-12))
    best = None
    for _ in range(8):
        off = int(rng.integers(0, len(src) - n + 1))
        seg = clip_at(src, off, n)
        lv = rms_db(seg)
        if best is None or lv > best[2]:
            best = (seg, off, lv)
        if lv >= peak_db - NOISE_FLOOR_DB:
            break
    return best[0], best[1]


def _noise_part(rng: np.random.Generator, ctx: _Context, rec: SourceRecord, n: int, *, sos, detune_ok: bool
                ) -> tuple[np.ndarray, int, float]:
    """A processed noise segment: ``(x (n,), offset [samples], room RT60 [s] or 0)``."""
    import scipy.signal

    from .detune import detune
    from .synth_noise import reverb

    sr = ctx.config.params.sample_rate
    pre = int(PRE_ROLL_S * sr)
    src = ctx.cache.get(rec.path)
    seg, off = _segment(rng, src, n + pre + pre // 2)
    if detune_ok and rng.random() < P_DETUNE_NOISE:
        seg, _ = detune(seg, float(rng.uniform(-NOISE_DETUNE_CENTS, NOISE_DETUNE_CENTS)))
        if len(seg) < n + pre:
            seg = np.concatenate([seg, np.zeros(n + pre - len(seg))])
    rt60 = 0.0
    if rng.random() < P_NOISE_ROOM:
        rt60 = float(rng.uniform(*NOISE_RT60_S))
        seg = reverb(seg, sr, rng, rt60_s=rt60, wet=float(rng.uniform(*NOISE_WET)))
    if sos is not None:
        seg = scipy.signal.sosfilt(sos, seg)
    return seg[pre:pre + n], off, rt60


def make_mix_v2(spec: SpecV2, ctx: _Context) -> dict[str, Any]:
    """Build, write and return the metadata row of one v2 mix."""
    import json

    import scipy.signal

    from cleartune.edge.audio_io import write_wav

    from .detune import detune
    from .f0 import cents, midi_to_hz, note_name
    from .noisifier import mix_at_snr, snr_db
    from .splitter import clip_at, rms_db
    from .synth_noise import hum, mic_filter, reverb

    cfg = ctx.config
    sr, n = cfg.params.sample_rate, cfg.params.clip_samples
    rng = np.random.default_rng([cfg.seed, 17, spec.index])
    rec = ctx.items[spec.item]
    x = ctx.cache.get(rec.path)
    assert rec.f0_hz is not None and rec.midi is not None and rec.onset_s is not None

    # 1. guitar: exact detune, room, microphone
    target = float(rng.uniform(-MAX_CENTS_OFF, MAX_CENTS_OFF))
    shift = target - cents(rec.f0_hz, midi_to_hz(rec.midi)) if cfg.detune_cents > 0 else 0.0
    y, ratio = detune(x, shift)
    f0 = rec.f0_hz * ratio
    rt60 = 0.0
    wet = 0.0
    if rng.random() < P_GUITAR_ROOM:
        rt60, wet = float(rng.uniform(*GUITAR_RT60_S)), float(rng.uniform(*GUITAR_WET))
        y = reverb(y, sr, rng, rt60_s=rt60, wet=wet)
    mic_sos, mic_desc = (None, "")
    if rng.random() < P_MIC_EQ:
        mic_sos, mic_desc = mic_filter(sr, rng)
        y = scipy.signal.sosfilt(mic_sos, y)
    onset_y = rec.onset_s * sr / ratio
    if cfg.holdout:
        onset_clip = float(rng.uniform(*EVAL_ONSET_S))
    elif rng.random() < P_TRAIN_LATE:
        onset_clip = float(rng.uniform(-0.5, TRAIN_ONSET_S[0]))
    else:
        onset_clip = float(rng.uniform(*TRAIN_ONSET_S))
    start_y = int(round(onset_y - onset_clip * sr))
    onset_clip = (onset_y - start_y) / sr
    clean = clip_at(y, start_y, n)
    peak = float(np.max(np.abs(clean)))
    if peak <= 0:
        raise DataError(f"{rec.path}: silent guitar clip")
    clean *= 10 ** (float(rng.uniform(*cfg.level_db)) / 20.0) / peak

    # 2. noise
    pool = ctx.pools[spec.split]
    h_rec = e_rec = None
    harm = env = None
    h_off = e_off = 0
    h_rt = e_rt = 0.0
    hum_db = math.nan
    if spec.noise_type in ("harmonic", "mixed"):
        if spec.hard_case == "same_pitch_class":
            cands = [r for r in pool["held"] if r.kind == "held_note" and r.pitch_class == rec.midi % 12 and r.midi != rec.midi]
        elif spec.hard_case == "tuning_a":
            cands = [r for r in pool["held"] if r.kind == "tuning_a"]
        else:
            cands = []
        if spec.hard_case and not cands:
            raise DataError(f"no held note for hard case {spec.hard_case} of MIDI {rec.midi}")
        for _ in range(MAX_REDRAWS):        # a nearly silent stretch (some effect presets): draw again
            h_rec = cands[int(rng.integers(0, len(cands)))] if spec.hard_case else _by_source(rng, pool["harmonic"])
            harm, h_off, h_rt = _noise_part(rng, ctx, h_rec, n, sos=mic_sos,
                                            detune_ok=not spec.hard_case and h_rec.kind != "voice")
            if rms_db(harm) > SILENT_PART_DB:
                break
    if spec.noise_type in ("environmental", "mixed"):
        for _ in range(MAX_REDRAWS):
            e_rec = _by_source(rng, pool["environmental"])
            env, e_off, e_rt = _noise_part(rng, ctx, e_rec, n, sos=mic_sos, detune_ok=False)
            if rms_db(env) > SILENT_PART_DB:
                break
        if rng.random() < P_HUM:
            hum_db = float(rng.uniform(*HUM_DB))
            hm = hum(n, sr, rng)
            if mic_sos is not None:
                hm = scipy.signal.sosfilt(mic_sos, hm)
            r_env = math.sqrt(float(np.mean(env * env))) or 1.0
            env = env + hm / (math.sqrt(float(np.mean(hm * hm))) or 1.0) * r_env * 10 ** (hum_db / 20)
    if spec.noise_type != "clean" and harm is None and env is None:
        raise DataError("no noise sources for a noisy mix")
    h2e = float(rng.uniform(*(HARD_TO_ENV_DB if spec.hard_case else HARMONIC_TO_ENV_DB)))
    res = mix_at_snr(clean, snr_db_requested=spec.snr_db, harmonic=harm, env=env, harmonic_to_env_db=h2e)
    mix32, clean32, noise32 = res.mix, res.clean, res.noise
    drive = math.nan
    if spec.noise_type != "clean" and rng.random() < P_CLIP:
        drive = float(rng.uniform(*CLIP_DRIVE))
        m = mix32.astype(np.float64)
        pk = float(np.max(np.abs(m)))
        thr = pk / drive                  # linear below thr, saturating above (a driven input stage)
        clipped = (thr * np.tanh(m / thr)).astype(np.float32)
        noise32 = (clipped - clean32).astype(np.float32)       # the distortion is noise
        mix32 = clean32 + noise32

    out = Path(cfg.out)
    rels = {k: f"{d}/{spec.id}.wav" for k, d in zip(("mix_path", "clean_path", "noise_path"), OUTPUT_DIRS)}
    write_wav(out / rels["clean_path"], clean32, sr)
    write_wav(out / rels["noise_path"], noise32, sr)
    write_wav(out / rels["mix_path"], mix32, sr)
    row = {
        "id": spec.id, "split": spec.split, **rels,
        "guitar_file": rec.path, "guitar_recording": rec.recording, "instrument": rec.instrument,
        "midi": rec.midi, "note": note_name(rec.midi), "f0_hz": f0, "f0_source": rec.f0_source,
        "f0_spread_cents": rec.f0_spread_cents, "cents_off": cents(f0, midi_to_hz(rec.midi)),
        "detune_cents": 1200.0 * math.log2(ratio), "detune_ratio": ratio, "velocity": rec.velocity,
        "guitar_level_db": 20 * math.log10(float(np.max(np.abs(clean32)))), "guitar_reverb_s": rt60,
        "guitar_wet": wet, "mic_eq": mic_desc, "clip_start_s": start_y * ratio / sr, "onset_s": onset_clip,
        "harmonic_file": h_rec.path if h_rec else "", "harmonic_kind": h_rec.kind if h_rec else "",
        "harmonic_instrument": h_rec.instrument if h_rec else "",
        "harmonic_offset": h_off / sr, "harmonic_gain": res.harmonic_gain,
        "env_file": e_rec.path if e_rec else "", "env_kind": e_rec.kind if e_rec else "",
        "env_offset": e_off / sr, "env_gain": res.env_gain,
        "snr_db": spec.snr_db, "snr_measured_db": snr_db(clean32, noise32), "peak_gain": res.peak_gain,
        "mix_peak": float(np.max(np.abs(mix32))), "sample_rate": sr, "clip_samples": n,
        "guitar_source": rec.source, "harmonic_source": h_rec.source if h_rec else "",
        "env_source": e_rec.source if e_rec else "", "noise_type": spec.noise_type, "hard_case": spec.hard_case,
        "harmonic_midi": h_rec.midi if (h_rec and spec.hard_case) else None,
        "harmonic_f0_hz": h_rec.f0_hz if (h_rec and spec.hard_case) else math.nan,
        "noise_reverb_s": max(h_rt, e_rt), "hum_db": hum_db, "clip_drive": drive,
    }
    _atomic_text(out / PARTS_DIR / f"{spec.id}.json", json.dumps(_jsonable(row)))
    return row


def _load_part(out: Path, spec: SpecV2) -> Optional[dict[str, Any]]:
    import json

    part = out / PARTS_DIR / f"{spec.id}.json"
    if not part.exists() or not all((out / d / f"{spec.id}.wav").exists() for d in OUTPUT_DIRS):
        return None
    try:
        row = json.loads(part.read_text())
    except (OSError, ValueError):
        return None
    return row if row.get("split") == spec.split else None


SOURCE_COLUMNS = ("guitar_source", "harmonic_source", "env_source")


def shared_sources(rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]]) -> set[str]:
    """Source tags (any of the three source columns) that occur in both sets of rows: empty
    for a leave-source-out pair of datasets."""
    def tags(rows):
        return {str(r[c]) for r in rows for c in SOURCE_COLUMNS if r.get(c)}
    return tags(rows_a) & tags(rows_b)


def pool_summary(recs: dict[str, list[SourceRecord]]) -> dict[str, dict[str, int]]:
    """Files per source tag, per category."""
    return {cat: dict(sorted(Counter(r.source for r in rs).items())) for cat, rs in recs.items()}


def build_dataset_v2(config: BuildConfig) -> BuildReport:
    """Build (or resume) a v2 dataset: the ``eval`` pool with ``config.holdout``, else ``train``."""
    from dataclasses import replace

    from .sources_v2 import POOLS_V2, count_jobs_v2, generate_sources_v2
    from .split import SPLIT_NAMES, assign_splits

    if config.guitar_dir or config.harmonic_dir or config.env_dir:
        raise DataError("--generator v2 makes its own sources; bring-your-own folders use the v1 builder")
    t0 = time.time()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = config.settings_dict()
    _check_resume(out, settings)
    gen = replace(config.v2, pool="eval" if config.holdout else "train")
    pool = POOLS_V2[gen.pool]
    other = POOLS_V2["train" if config.holdout else "eval"]
    info: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "complete": False, "generator": "v2",
        "signal_params": config.params.to_dict(), "preset": config.preset, "seed": config.seed,
        "settings": settings, "pool": pool.to_dict(), "other_pool": other.to_dict(), "command": config.command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
    }
    _write_info(out, info)
    _remove_stale_temporaries(out)

    bar = _bar(count_jobs_v2(gen), "sources", config.progress)
    recs = generate_sources_v2(gen, out_dir=out, sample_rate=config.params.sample_rate, seed=config.seed,
                               jobs=config.jobs, progress=bar.update if bar else None)
    if bar:
        bar.close()
    items = recs["guitar"]
    item_splits = assign_splits([[("rec", r.recording), ("note", r.instrument, r.midi)] for r in items],
                                fractions=config.fractions, seed=config.seed, salt=0)
    pools: dict[str, dict[str, list[SourceRecord]]] = {s: {"harmonic": [], "environmental": [], "held": []} for s in SPLIT_NAMES}
    shared = []
    for salt, cat in ((1, "harmonic"), (2, "environmental")):
        sp = assign_splits([[("rec", r.recording)] for r in recs[cat]], fractions=config.fractions, seed=config.seed, salt=salt)
        for r, s in zip(recs[cat], sp):
            pools[s][cat].append(r)
        for s in SPLIT_NAMES:
            if not pools[s][cat] and recs[cat]:
                pools[s][cat] = list(recs[cat])
                shared.append(f"{s}:{cat}")
    for s in SPLIT_NAMES:                   # the hard-case bank is shared by the splits of a pool
        pools[s]["held"] = list(recs["held"])
    n_mixes = config.n_mixes if config.n_mixes is not None else 200
    specs = plan_v2(config, items, item_splits, n_mixes)
    if config.progress:
        print(f"building {len(specs)} v2 mixes ({gen.pool} pool) in {out}", file=sys.stderr)
    ctx = _Context(config, items, pools)
    rows: list[Optional[dict[str, Any]]] = [_load_part(out, s) for s in specs]
    made = make_all_mixes(specs, rows, make=make_mix_v2, ctx=ctx, init_worker=_init_worker, run_spec=_run_spec,
                          jobs=config.jobs, progress=config.progress)
    write_metadata(out, rows)

    split_counts = Counter(s.split for s in specs)
    size = dir_bytes(out)
    info.update({
        "complete": True,
        "counts": {
            "mixes": len(specs), **{s: split_counts.get(s, 0) for s in SPLIT_NAMES},
            "clean_mixes": sum(1 for s in specs if s.noise_type == "clean"),
            "noise_types": dict(Counter(s.noise_type for s in specs)),
            "hard_cases": dict(Counter(s.hard_case for s in specs if s.hard_case)),
            "guitar_items": len(items), "guitar_items_per_split": dict(Counter(item_splits)),
            "sources": pool_summary(recs),
            "noise_sources_per_split": {s: {c: len(pools[s][c]) for c in pools[s]} for s in SPLIT_NAMES},
            "instruments": dict(Counter(r.instrument for r in items)),
        },
        "shared_noise_pools": shared + [f"{s}:held" for s in SPLIT_NAMES if split_counts.get(s)],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds_last_run": round(time.time() - t0, 1),
        "bytes": size, "versions": _versions(),
    })
    _write_info(out, info)
    return BuildReport(out=out, counts={"mixes": len(specs), **{s: split_counts.get(s, 0) for s in SPLIT_NAMES}},
                       seconds=time.time() - t0, bytes=size, skipped=[], made=made)
