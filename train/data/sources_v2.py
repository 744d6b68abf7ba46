"""The v2 source generator (``cleartune data build --generator v2``): every source tagged with
the package (or parameter band, language, synthesis kind) it comes from, and two pools that
share NO source: ``train`` (training and validation) and ``eval`` (``--holdout``).

Sources (all decoded / rendered once into ``DIR/sources/`` at the dataset rate, float32 WAV):

* guitars: GM programs 24-31 of a soundfont rendered with fluidsynth (true f0 measured, as
  in v1) and the physically modelled string (:mod:`.physmod`, exact f0) of one parameter band;
* harmonic noise: soundfont scenes of other instruments with vibrato (CC1), tremolo (CC11
  LFO), random detune (pitch bend) and swells; recorded music excerpts; recorded speech
  tracks (asterisk prompts) and espeak-ng voices; a bank of HELD NOTES for the hard cases
  (every pitch class in several octaves, and the tuning A at 440-443 Hz on oboe, violin and
  strings);
* environmental noise: recorded sound-effect tracks, FluidR3_GS effect presets, synthesized
  noise (:mod:`.synth_noise`) of the pool's kinds.

Every job writes its WAVs then a small JSON of records (``sources/.jobs/``): an interrupted
generation resumes.
"""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from cleartune.edge.errors import DataError

from .packaged import SOUNDFONTS, SPEECH_PACKAGES, inventory, read_excerpt
from .sources import (
    F0_WINDOW_S,
    GM_NAMES,
    GM_RANGE,
    RENDER_RATE,
    SourceRecord,
    _fade_out,
    _normalise_peak,
    _pattern,
    _talk,
    _write,
    _write_json,
    render_midi,
)

GUITAR_PROGRAMS = tuple(range(24, 32))
V2_GUITAR_NAMES = {24: "nylon_guitar", 25: "steel_guitar", 26: "jazz_guitar", 27: "clean_electric_guitar",
                   28: "muted_guitar", 29: "overdrive_guitar", 30: "distortion_guitar", 31: "guitar_harmonics"}
#: Guitar render layout [s] (longer than v1: 4 s clips with the pluck up to 1.5 s in).
PRE_S, POST_S, SPACING_S, RING_S = 0.5, 5.5, 6.5, 4.5
HELD_S = 9.0                 # length of a held-note file [s]
TUNING_A_PROGRAMS = (68, 40, 48)   # oboe, violin, strings
#: Non-guitar programs for scenes and held notes.
SCENE_PROGRAMS = tuple(p for p in sorted(GM_RANGE) if p not in GUITAR_PROGRAMS)
SCENE_KINDS = ("long_tones", "scale", "arpeggio", "tuning_a", "pitch_class", "ensemble")
GS_SFX = ((1, 122), (3, 122), (4, 122), (2, 122), (5, 126), (6, 125), (7, 125), (1, 125), (3, 125),
          (5, 125), (4, 126), (2, 124), (3, 124), (1, 123), (3, 123), (2, 123), (1, 126), (5, 124), (5, 122))
MIN_MUSIC_S = 5.0
#: Largest |measured - nominal| of a soundfont guitar note; beyond it the note is dropped [cents].
MAX_NOMINAL_CENTS = 60.0
#: A note whose unhinted pitch is the octave above is kept when its fundamental is at most this
#: far under the strongest partial [dB].
WEAK_FUNDAMENTAL_DB = 30.0
#: ... and the note is below this [Hz] (low strings; above it an octave-up reading means the
#: preset sounds elsewhere, e.g. FluidR3's "guitar harmonics").
WEAK_FUNDAMENTAL_MAX_HZ = 200.0


@dataclass(frozen=True)
class PoolV2:
    """The sources of one pool.  Tags (``source`` of each record) never repeat across pools."""

    name: str
    guitar_soundfonts: tuple[str, ...]
    physmod_band: str
    scene_soundfont: str
    music: tuple[str, ...]
    speech: tuple[str, ...]
    languages: tuple[str, ...]
    variants: tuple[str, ...]
    effects: tuple[str, ...]
    gs_sfx: bool
    synth_kinds: tuple[str, ...]
    salt: int

    def tags(self) -> dict[str, list[str]]:
        """Source tags this pool may produce, per column."""
        return {
            "guitar_source": [*self.guitar_soundfonts, f"physmod_{self.physmod_band}"],
            "harmonic_source": [self.scene_soundfont, *self.music, *self.speech,
                                *(f"espeak-ng:{lang}" for lang in self.languages)],
            "env_source": [*self.effects, *(["fluidr3_gs"] if self.gs_sfx else []),
                           *(f"synth:{k}" for k in self.synth_kinds)],
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = self.tags()
        return d


TRAIN_V2 = PoolV2(
    name="train", guitar_soundfonts=("fluidr3_gm",), physmod_band="a", scene_soundfont="fluidr3_gm",
    music=("ufoai-music", "nexuiz-music", "hyperrogue-music", "drascula-music", "planetblupi-music-ogg"),
    speech=("asterisk-fr", "asterisk-it"),
    languages=("en-us", "en-gb", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "ro"),
    variants=("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"),
    effects=("boswars-data",), gs_sfx=True,
    synth_kinds=("white", "pink", "brown", "hum", "clicks", "wind", "babble"), salt=20,
)
EVAL_V2 = PoolV2(
    name="eval", guitar_soundfonts=("opl3",), physmod_band="b", scene_soundfont="opl3",
    music=("singularity-music", "asc-music", "colobot-common-sounds:music"),
    speech=("asterisk-ru",),
    languages=("cs", "fi", "hu", "tr", "sk", "hr"),
    variants=("Annie", "Andy", "aunty", "belinda", "boris", "caleb", "david", "linda", "max", "Michael",
              "edward", "steph"),
    effects=("colobot-common-sounds:effects",), gs_sfx=False,
    synth_kinds=("coloured", "fan", "room"), salt=21,
)
POOLS_V2 = {"train": TRAIN_V2, "eval": EVAL_V2}


@dataclass
class GenerateV2:
    """What the v2 generator makes (per pool)."""

    pool: str = "train"
    notes: tuple[int, ...] = tuple(range(35, 89))       # MIDI B1..E6
    velocities: tuple[int, ...] = (70, 110)             # soundfont guitars
    guitar_programs: tuple[int, ...] = GUITAR_PROGRAMS  # GM programs rendered from the pool's soundfont
    note_stride: int = 1                                # program i renders notes[i % s::s] (1: every note)
    physmod_per_note: int = 4                           # physical strings per note
    n_scenes: int = 60
    n_music: int = 60                                   # music excerpts (spread over the pool's packages)
    n_speech: int = 24                                  # recorded speech tracks
    n_espeak: int = 16
    n_effects: int = 40                                 # recorded effect tracks
    n_gs_sfx: int = 12
    n_synth: int = 28
    held_octaves: int = 3                               # held notes per pitch class
    held_pitch_classes: tuple[int, ...] = tuple(range(12))
    n_tuning_a: int = 12
    noise_seconds: float = 12.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = list(self.notes)
        d["velocities"] = list(self.velocities)
        d["held_pitch_classes"] = list(self.held_pitch_classes)
        d["guitar_programs"] = list(self.guitar_programs)
        # defaults are left out, so the stored settings of earlier builds stay comparable
        if self.guitar_programs == GUITAR_PROGRAMS:
            d.pop("guitar_programs")
        if tuple(self.held_pitch_classes) == tuple(range(12)):
            d.pop("held_pitch_classes")
        return d


def default_v2(pool: str) -> "GenerateV2":
    """The v2 source counts of a pool (the eval pool needs fewer: 400 mixes, not 3000)."""
    if pool == "eval":
        return GenerateV2(pool="eval", velocities=(70, 110), note_stride=2, physmod_per_note=2, n_scenes=30, n_music=45, n_speech=12,
                          n_espeak=12, n_effects=30, n_gs_sfx=0, n_synth=18)
    return GenerateV2(pool="train", n_scenes=80, n_music=100, n_speech=24, n_espeak=24, n_effects=40,
                      n_gs_sfx=16, n_synth=28)


@dataclass(frozen=True)
class JobV2:
    category: str       # guitar_sf | physmod | scene | held | music | speech | espeak | effects | gs_sfx | synth
    index: int
    out_dir: str
    sample_rate: int
    seed: int
    pool: str
    params: tuple = ()

    @property
    def record_file(self) -> Path:
        return Path(self.out_dir) / "sources" / ".jobs" / f"v2_{self.pool}_{self.category}_{self.index:05d}.json"

    def rng(self) -> np.random.Generator:
        code = sum(ord(c) * (i + 1) for i, c in enumerate(self.category))
        return np.random.default_rng([self.seed, POOLS_V2[self.pool].salt, code, self.index])


def _sf_path(tag: str) -> Path:
    return Path(SOUNDFONTS[tag][1])


def _rel(*parts: str) -> Path:
    return Path("sources").joinpath(*parts)


# -- guitars ------------------------------------------------------------------------------

def _guitar_sf_job(job: JobV2) -> list[SourceRecord]:
    from cleartune.edge.audio_io import resample

    from .f0 import cents, measure_f0, midi_to_hz
    from .midi import MidiFile

    tag, program, velocity, notes = job.params
    name = V2_GUITAR_NAMES[program]
    sr = job.sample_rate
    m = MidiFile()
    m.program(0.0, channel=0, program=program)
    onsets = []
    for i, note in enumerate(notes):
        t = 1.0 + i * SPACING_S
        m.note(t, duration=RING_S, channel=0, note=note, velocity=velocity)
        onsets.append(t)
    with tempfile.TemporaryDirectory(prefix="cleartune-mid-") as td:
        mid = Path(td) / "g.mid"
        m.save(mid, end_padding_s=SPACING_S)
        audio = resample(render_midi(mid, soundfont=_sf_path(tag)), RENDER_RATE, sr).astype(np.float64)
    records = []
    for note, t in zip(notes, onsets):
        a = int(round((t - PRE_S) * sr))
        b = a + int(round((PRE_S + POST_S) * sr))
        seg = audio[a:b]
        if len(seg) < b - a:
            seg = np.concatenate([seg, np.zeros(b - a - len(seg))])
        seg = _normalise_peak(_fade_out(seg, int(0.25 * sr)))
        if not np.any(seg):
            continue
        nominal = midi_to_hz(note)
        # the true f0 on 0.3-2.0 s after the pluck (as v1, without v1's drift sub-windows: 2 of
        # the estimator's 5 runs per note)
        stretch = seg[int((PRE_S + F0_WINDOW_S[0]) * sr):int((PRE_S + F0_WINDOW_S[1]) * sr)]
        est = measure_f0(stretch, sr, f0_hint=nominal)
        spread = math.nan
        if est is None or abs(cents(est.f0_hz, nominal)) > MAX_NOMINAL_CENTS:
            continue
        # the sounding pitch must be the note, not an octave or two up (FluidR3's "guitar
        # harmonics"): the unhinted estimate agrees, or, on a low note, finds the octave above
        # while the fundamental is measured directly and at most WEAK_FUNDAMENTAL_DB under the
        # strongest partial (low nylon/steel notes: ~20-25 dB under the octave, as on real guitars)
        free = measure_f0(stretch, sr)
        if free is None:
            continue
        off = cents(free.f0_hz, est.f0_hz)
        weak_ok = (nominal < WEAK_FUNDAMENTAL_MAX_HZ and abs(off - 1200.0) <= MAX_NOMINAL_CENTS
                   and est.method == "partial1" and est.partials[0].amp_db >= -WEAK_FUNDAMENTAL_DB)
        if abs(off) > MAX_NOMINAL_CENTS and not weak_ok:
            continue
        rel = _rel("guitar", tag, name, f"p{program:03d}_v{velocity:03d}_m{note:03d}.wav")
        _write(Path(job.out_dir) / rel, seg, sr)
        records.append(SourceRecord(
            path=rel.as_posix(), category="guitar", kind="note", recording=f"{tag}_{name}_v{velocity}_m{note}",
            instrument=name, midi=int(note), velocity=int(velocity), onset_s=PRE_S, f0_hz=float(est.f0_hz),
            f0_source="measured", f0_method=est.method,
            f0_spread_cents=None if not math.isfinite(spread) else float(spread), n_samples=len(seg),
            detail=f"fluidsynth {tag} program {program}", source=tag,
        ))
    return records


def _physmod_job(job: JobV2) -> list[SourceRecord]:
    from .f0 import midi_to_hz
    from .physmod import pluck, random_string

    band, note, k = job.params
    rng = job.rng()
    sr = job.sample_rate
    # the true f0 anywhere within +-50 cents of the note (the mix detunes it again, exactly)
    f0 = midi_to_hz(note) * 2 ** (float(rng.uniform(-45, 45)) / 1200)
    velocity = int(rng.integers(40, 128))
    p = random_string(f0, band=band, velocity=velocity, rng=rng)
    x, info = pluck(p, sr, seconds=PRE_S + POST_S, pre_s=PRE_S)
    x = _normalise_peak(_fade_out(x, int(0.25 * sr)))
    tag = f"physmod_{band}"
    rel = _rel("guitar", tag, f"m{note:03d}_{k}.wav")
    _write(Path(job.out_dir) / rel, x, sr)
    detail = json.dumps({**p.to_dict(), **{k2: float(v) for k2, v in info.items()}})
    return [SourceRecord(path=rel.as_posix(), category="guitar", kind="note", recording=f"{tag}_m{note}_{k}",
                         instrument=f"physmod_{band}", midi=int(note), velocity=velocity, onset_s=PRE_S,
                         f0_hz=float(f0), f0_source="exact", f0_method="physmod", f0_spread_cents=0.0,
                         n_samples=len(x), detail=detail, source=tag)]


# -- harmonic: soundfont scenes with vibrato / tremolo / swells ----------------------------

def _expressive(m, rng: np.random.Generator, *, channel: int, duration: float) -> str:
    """Vibrato (mod wheel), tremolo (expression LFO) and swells on one channel; returns a description."""
    vib = int(rng.integers(0, 90)) if rng.random() < 0.7 else 0
    m.control(0.0, channel=channel, controller=1, value=vib)
    trem_hz = float(rng.uniform(3.0, 7.0)) if rng.random() < 0.4 else 0.0
    trem_depth = float(rng.uniform(0.1, 0.4))
    swell_hz = float(rng.uniform(0.1, 0.5))
    t = 0.0
    while t < duration:
        lv = 0.75 + 0.25 * math.sin(2 * math.pi * swell_hz * t + 1.0)
        if trem_hz:
            lv *= 1.0 - trem_depth * 0.5 * (1 + math.sin(2 * math.pi * trem_hz * t))
        m.control(t, channel=channel, controller=11, value=max(1, min(127, int(round(127 * lv)))))
        t += 0.04 if trem_hz else 0.2
    return f"vib{vib}" + (f"/trem{trem_hz:.1f}" if trem_hz else "")


def _scene_job(job: JobV2) -> list[SourceRecord]:
    from cleartune.edge.audio_io import resample

    from .midi import MidiFile
    from .synth_noise import reverb

    kind, pitch_class, duration = job.params
    pool = POOLS_V2[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    n_inst = 1 if kind in ("long_tones", "scale", "arpeggio") else int(rng.integers(2, 5))
    programs = [int(p) for p in rng.choice(SCENE_PROGRAMS, size=n_inst, replace=False)]
    m = MidiFile()
    ref = 1200 * math.log2(float(rng.uniform(440.0, 443.0)) / 440.0)
    descs = []
    for ch, prog in enumerate(programs):
        lo, hi = GM_RANGE.get(prog, (40, 90))
        part = kind if kind != "ensemble" else str(rng.choice(["long_tones", "scale", "arpeggio", "tuning_a", "pitch_class"]))
        m.program(0.0, channel=ch, program=prog)
        m.control(0.0, channel=ch, controller=7, value=int(rng.integers(70, 121)))
        detune = float(rng.uniform(-25, 25)) + (ref if part == "tuning_a" else 0.0)
        m.pitch_bend(0.0, channel=ch, value=int(round(detune / 200.0 * 8192)))
        descs.append(_expressive(m, rng, channel=ch, duration=duration))
        for (t, d, n, v) in _pattern(part, rng, lo=lo, hi=hi, duration=duration, pitch_class=pitch_class):
            m.note(t, duration=min(d, duration - t + 0.5), channel=ch, note=n, velocity=v)
    fs_reverb = bool(rng.random() < 0.4)
    with tempfile.TemporaryDirectory(prefix="cleartune-mid-") as td:
        mid = Path(td) / "h.mid"
        m.save(mid, end_padding_s=0.5)
        audio = resample(render_midi(mid, soundfont=_sf_path(pool.scene_soundfont), reverb=fs_reverb), RENDER_RATE, sr)
    n = int(duration * sr)
    x = np.zeros(n)
    x[: min(n, len(audio))] = audio[:n]
    rt60 = 0.0
    if rng.random() < 0.3:
        rt60 = float(rng.uniform(0.3, 1.8))
        x = reverb(x, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.2, 0.6)))
    if not np.any(x):
        return []
    rel = _rel("harmonic", pool.scene_soundfont, f"scene_{job.index:05d}_{kind}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="harmonic", kind=kind, recording=f"{pool.scene_soundfont}_{rel.stem}",
                         instrument="+".join(GM_NAMES.get(p, f"gm{p}") for p in programs), pitch_class=pitch_class,
                         reverb_s=rt60, n_samples=n, detail=f"programs {programs}; {' '.join(descs)}",
                         source=pool.scene_soundfont)]


def _held_job(job: JobV2) -> list[SourceRecord]:
    """Held notes of one instrument for the hard cases: ``notes`` (MIDI) each HELD_S long,
    with vibrato/swell; the pitch (measured, then moved exactly by FFT resampling) is the
    note detuned by up to +-20 cents, or for the tuning A 440-443 Hz (in its octave)."""
    from cleartune.edge.audio_io import resample

    from .detune import detune
    from .f0 import cents, measure_f0, midi_to_hz
    from .midi import MidiFile

    kind, program, notes = job.params
    pool = POOLS_V2[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    records = []
    for i, note in enumerate(notes):
        m = MidiFile()
        m.program(0.0, channel=0, program=program)
        if kind == "tuning_a":
            f_target = float(rng.uniform(440.0, 443.0)) * 2 ** ((note - 69) / 12)
        else:
            f_target = midi_to_hz(note) * 2 ** (float(rng.uniform(-20, 20)) / 1200)
        bend = 1200 * math.log2(f_target / midi_to_hz(note))
        m.pitch_bend(0.0, channel=0, value=int(round(bend / 200.0 * 8192)))
        desc = _expressive(m, rng, channel=0, duration=HELD_S)
        t0 = float(rng.uniform(0.0, 0.5))
        # the player re-bows/breathes: 1-3 long notes on the same pitch
        t = t0
        while t < HELD_S - 0.5:
            d = float(rng.uniform(2.5, HELD_S))
            m.note(t, duration=min(d, HELD_S - t), channel=0, note=int(note), velocity=int(rng.integers(60, 121)))
            t += d + float(rng.uniform(0.05, 0.4))
        with tempfile.TemporaryDirectory(prefix="cleartune-mid-") as td:
            mid = Path(td) / "n.mid"
            m.save(mid, end_padding_s=0.3)
            audio = resample(render_midi(mid, soundfont=_sf_path(pool.scene_soundfont)), RENDER_RATE, sr)
        n = int(HELD_S * sr)
        x = np.zeros(n)
        x[: min(n, len(audio))] = audio[:n]
        if not np.any(x):
            continue
        # soundfont samples are a few cents off (and the bend is rounded): measure the held
        # pitch and move it exactly onto the target by FFT resampling
        est = measure_f0(x[int(1.0 * sr):int((HELD_S - 1.0) * sr)], sr, f0_hint=f_target, search_cents=80.0)
        if est is None:
            continue
        y, ratio = detune(x, cents(f_target, est.f0_hz))
        x = np.zeros(n)
        x[: min(n, len(y))] = y[:n]
        f_target = est.f0_hz * ratio
        name = GM_NAMES.get(program, f"gm{program}")
        rel = _rel("harmonic", "held", f"{kind}_{job.index:03d}_{i}_{name}_m{note}.wav")
        _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
        records.append(SourceRecord(path=rel.as_posix(), category="held", kind=kind,
                                    recording=f"{pool.scene_soundfont}_{rel.stem}", instrument=name, midi=int(note),
                                    f0_hz=float(f_target), f0_source="measured", pitch_class=int(note) % 12,
                                    n_samples=n, detail=f"bend {bend:+.1f} c; {desc}", source=pool.scene_soundfont))
    return records


# -- recorded music, speech, effects --------------------------------------------------------

def _music_job(job: JobV2) -> list[SourceRecord]:
    (package, duration) = job.params
    rng = job.rng()
    sr = job.sample_rate
    files = inventory(package, min_seconds=MIN_MUSIC_S)
    w = np.array([f.seconds for f in files])
    f = files[int(rng.choice(len(files), p=w / w.sum()))]
    start = float(rng.uniform(0, max(0.0, f.seconds - duration)))
    x = read_excerpt(f.path, sample_rate=sr, start_s=start, seconds=duration)
    n = int(duration * sr)
    if len(x) < n:                         # a short track: loop it
        x = np.tile(x, int(math.ceil(n / max(1, len(x)))))[:n]
    if not np.any(x):
        return []
    rel = _rel("harmonic", "music", package.replace(":", "_"), f"music_{job.index:05d}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x[:n]), sr)
    return [SourceRecord(path=rel.as_posix(), category="harmonic", kind="music", recording=f.path,
                         instrument=package, n_samples=n, detail=f"{f.path} @ {start:.1f} s", source=package)]


def _sequence(rng: np.random.Generator, files: list, *, n: int, sr: int, gap_s: tuple[float, float],
              gain_db: tuple[float, float]) -> tuple[np.ndarray, list[str]]:
    """Random files of ``files`` one after another (random gaps and gains) filling ``n`` samples."""
    out = np.zeros(n)
    used = []
    t = int(rng.uniform(0, 0.5) * sr)
    while t < n:
        f = files[int(rng.integers(0, len(files)))]
        x = read_excerpt(f.path, sample_rate=sr, seconds=min(f.seconds, n / sr))
        pk = float(np.max(np.abs(x))) if x.size else 0.0
        if pk > 0:
            x = x / pk * 10 ** (float(rng.uniform(*gain_db)) / 20)
            stop = min(n, t + len(x))
            out[t:stop] += x[: stop - t]
            used.append(Path(f.path.split("::")[-1]).name)
        t += len(x) + int(rng.uniform(*gap_s) * sr)
    return out, used


def _speech_job(job: JobV2) -> list[SourceRecord]:
    (tag, duration) = job.params
    rng = job.rng()
    sr = job.sample_rate
    files = inventory(SPEECH_PACKAGES[tag], min_seconds=0.3)
    n = int(duration * sr)
    x, used = _sequence(rng, files, n=n, sr=sr, gap_s=(0.1, 1.0), gain_db=(-6, 0))
    if not np.any(x):
        return []
    rel = _rel("harmonic", "speech", tag, f"speech_{job.index:05d}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="harmonic", kind="voice", recording=rel.stem + "_" + tag,
                         instrument=tag, n_samples=n, detail=" ".join(used[:40]), source=tag)]


def _espeak_job(job: JobV2) -> list[SourceRecord]:
    from .synth_noise import reverb

    (lang, duration) = job.params
    pool = POOLS_V2[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    n = int(duration * sr)
    voice = f"{lang}+{rng.choice(pool.variants)}"
    x, desc = _talk(rng, None, n=n, sample_rate=sr, voice=voice)
    rt60 = 0.0
    if rng.random() < 0.3:
        rt60 = float(rng.uniform(0.3, 1.5))
        x = reverb(x, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.2, 0.5)))
    if not np.any(x):
        return []
    rel = _rel("harmonic", "espeak", f"voice_{job.index:05d}_{lang}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="harmonic", kind="voice", recording=f"espeak_{job.pool}_{job.index}",
                         instrument="espeak-ng", reverb_s=rt60, n_samples=n, detail=desc, source=f"espeak-ng:{lang}")]


def _effects_job(job: JobV2) -> list[SourceRecord]:
    (package, duration) = job.params
    rng = job.rng()
    sr = job.sample_rate
    files = inventory(package, min_seconds=0.05)
    n = int(duration * sr)
    x, used = _sequence(rng, files, n=n, sr=sr, gap_s=(0.0, 2.5), gain_db=(-20, 0))
    if not np.any(x):
        return []
    rel = _rel("environmental", package.replace(":", "_"), f"effects_{job.index:05d}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="environmental", kind="effects",
                         recording=f"{package}_{job.index}", instrument=package, n_samples=n,
                         detail=" ".join(used[:40]), source=package)]


def _gs_sfx_job(job: JobV2) -> list[SourceRecord]:
    from cleartune.edge.audio_io import resample

    from .midi import MidiFile

    (duration,) = job.params
    rng = job.rng()
    sr = job.sample_rate
    m = MidiFile()
    chosen = [GS_SFX[int(i)] for i in rng.choice(len(GS_SFX), size=int(rng.integers(1, 4)), replace=False)]
    for ch, (bank, prog) in enumerate(chosen):
        m.control(0.0, channel=ch, controller=0, value=bank)
        m.program(0.0, channel=ch, program=prog)
        t = float(rng.uniform(0, 1.0))
        while t < duration:
            d = float(rng.uniform(0.3, 5.0))
            m.note(t, duration=min(d, duration - t), channel=ch, note=int(rng.integers(48, 73)), velocity=int(rng.integers(50, 127)))
            t += d + float(rng.uniform(0.0, 2.0))
    with tempfile.TemporaryDirectory(prefix="cleartune-mid-") as td:
        mid = Path(td) / "s.mid"
        m.save(mid, end_padding_s=0.3)
        audio = resample(render_midi(mid, soundfont=_sf_path("fluidr3_gs")), RENDER_RATE, sr)
    n = int(duration * sr)
    x = np.zeros(n)
    x[: min(n, len(audio))] = audio[:n]
    if not np.any(x):
        return []
    rel = _rel("environmental", "fluidr3_gs", f"sfx_{job.index:05d}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="environmental", kind="sfx", recording=f"gs_sfx_{job.index}",
                         instrument="fluidr3_gs", n_samples=n, detail=f"bank/program {chosen}", source="fluidr3_gs")]


def _synth_job(job: JobV2) -> list[SourceRecord]:
    import scipy.signal

    from .synth_noise import coloured_noise, make_env_noise, reverb

    kind, duration = job.params
    pool = POOLS_V2[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    n = int(duration * sr)
    detail = ""
    if kind == "babble":
        k = int(rng.integers(6, 17))
        x = np.zeros(n)
        for _ in range(k):
            v, _d = _talk(rng, None, n=n, sample_rate=sr, voice=f"{rng.choice(pool.languages)}+{rng.choice(pool.variants)}")
            r = np.sqrt(np.mean(v ** 2))
            if r > 0:
                x += v / r * float(rng.uniform(0.3, 1.0))
        x = scipy.signal.sosfilt(scipy.signal.butter(2, float(rng.uniform(2500, 6000)), btype="low", fs=sr, output="sos"), x)
        detail = f"{k} espeak-ng voices"
    elif kind == "room":
        parts = [str(p) for p in rng.choice(["coloured", "fan"], size=2, replace=False)]
        x = sum(make_env_noise(p, n, sr, rng) * 10 ** (float(rng.uniform(-15, 0)) / 20) for p in parts)
        detail = "+".join(parts)
    elif kind == "coloured":
        alpha = float(rng.uniform(0.3, 1.7))
        x = coloured_noise(n, sr, rng, alpha=alpha)
        detail = f"alpha {alpha:.2f}"
    else:
        x = make_env_noise(kind, n, sr, rng)
    rt60 = 0.0
    if kind != "hum" and rng.random() < 0.3:
        rt60 = float(rng.uniform(0.3, 1.5))
        x = reverb(x, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.3, 0.7)))
    if not np.any(x):
        return []
    rel = _rel("environmental", "synth", f"env_{job.index:05d}_{kind}.wav")
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="environmental", kind=kind, recording=f"synth_{job.pool}_{job.index}",
                         instrument="synthetic", reverb_s=rt60, n_samples=n, detail=detail, source=f"synth:{kind}")]


_RUNNERS: dict[str, Callable[[JobV2], list[SourceRecord]]] = {
    "guitar_sf": _guitar_sf_job, "physmod": _physmod_job, "scene": _scene_job, "held": _held_job,
    "music": _music_job, "speech": _speech_job, "espeak": _espeak_job, "effects": _effects_job,
    "gs_sfx": _gs_sfx_job, "synth": _synth_job,
}


def run_job(job: JobV2) -> list[dict[str, Any]]:
    rf = job.record_file
    if rf.exists():
        try:
            return json.loads(rf.read_text())["records"]
        except (OSError, ValueError, KeyError):
            pass
    records = [r.to_dict() for r in _RUNNERS[job.category](job)]
    _write_json(rf, {"job": asdict(job), "records": records})
    return records


def plan_jobs(g: GenerateV2, *, out_dir: Path, sample_rate: int, seed: int) -> list[JobV2]:
    pool = POOLS_V2[g.pool]
    c = dict(out_dir=str(out_dir), sample_rate=int(sample_rate), seed=int(seed), pool=g.pool)
    jobs: list[JobV2] = []
    notes = tuple(int(n) for n in g.notes)
    i = 0
    for tag in pool.guitar_soundfonts:
        for pi, prog in enumerate(g.guitar_programs):
            if prog not in V2_GUITAR_NAMES:
                raise DataError(f"guitar program {prog} is not a GM guitar (24-31)")
            s = max(1, int(g.note_stride))
            prog_notes = notes[pi % s::s]
            # each note once per program; the velocities take turns along the notes
            for vi, v in enumerate(g.velocities):
                part = prog_notes[vi::len(g.velocities)]
                if part:
                    jobs.append(JobV2("guitar_sf", i, params=(tag, prog, int(v), part), **c))
                    i += 1
    i = 0
    for note in notes:
        for k in range(g.physmod_per_note):
            jobs.append(JobV2("physmod", i, params=(pool.physmod_band, note, k), **c))
            i += 1
    rng = np.random.default_rng([seed, pool.salt, 99])
    for k in range(g.n_scenes):
        kind = "pitch_class" if k % 4 == 3 else str(rng.choice([s for s in SCENE_KINDS if s != "pitch_class"]))
        pc = (k // 4) % 12 if kind == "pitch_class" else None
        jobs.append(JobV2("scene", k, params=(kind, pc, float(g.noise_seconds)), **c))
    # held notes: every pitch class in `held_octaves` octaves (one instrument per job), the tuning A
    i = 0
    for pc in range(12):
        if pc not in g.held_pitch_classes:
            continue
        progs = [int(p) for p in rng.choice(SCENE_PROGRAMS, size=g.held_octaves, replace=False)]
        used: set[int] = set()
        for prog in progs:
            lo, hi = GM_RANGE.get(prog, (40, 90))
            cands = [n for n in range(max(lo, 36), min(hi, 96) + 1) if n % 12 == pc] or [48 + pc]
            fresh = [n for n in cands if n not in used] or [n for n in range(36 + pc, 97, 12) if n not in used]
            note = int(rng.choice(fresh))          # distinct octaves: a guitar note always has another one
            used.add(note)
            jobs.append(JobV2("held", i, params=("held_note", prog, (note,)), **c))
            i += 1
    for k in range(g.n_tuning_a):
        prog = TUNING_A_PROGRAMS[k % len(TUNING_A_PROGRAMS)]
        lo, hi = GM_RANGE.get(prog, (40, 90))
        a_notes = [n for n in (45, 57, 69, 81) if lo <= n <= hi]
        jobs.append(JobV2("held", i, params=("tuning_a", prog, (int(a_notes[k // 3 % len(a_notes)]),)), **c))
        i += 1
    for k in range(g.n_music):
        jobs.append(JobV2("music", k, params=(pool.music[k % len(pool.music)], float(g.noise_seconds)), **c))
    for k in range(g.n_speech):
        jobs.append(JobV2("speech", k, params=(pool.speech[k % len(pool.speech)], float(g.noise_seconds)), **c))
    for k in range(g.n_espeak):
        jobs.append(JobV2("espeak", k, params=(pool.languages[k % len(pool.languages)], float(g.noise_seconds)), **c))
    for k in range(g.n_effects):
        jobs.append(JobV2("effects", k, params=(pool.effects[k % len(pool.effects)], float(g.noise_seconds)), **c))
    if pool.gs_sfx:
        for k in range(g.n_gs_sfx):
            jobs.append(JobV2("gs_sfx", k, params=(float(g.noise_seconds),), **c))
    for k in range(g.n_synth):
        jobs.append(JobV2("synth", k, params=(pool.synth_kinds[k % len(pool.synth_kinds)], float(g.noise_seconds)), **c))
    return jobs


def generate_sources_v2(g: GenerateV2, *, out_dir: Path, sample_rate: int, seed: int, jobs: int = 1,
                        progress: Optional[Callable[[int], None]] = None) -> dict[str, list[SourceRecord]]:
    """Render / decode every source of pool ``g.pool`` (resuming finished jobs); records per
    category: ``guitar``, ``harmonic``, ``held`` (hard-case notes), ``environmental``."""
    from .sources import check_tools, run_jobs

    for tag in {*POOLS_V2[g.pool].guitar_soundfonts, POOLS_V2[g.pool].scene_soundfont}:
        check_tools(soundfont=_sf_path(tag))
    todo = plan_jobs(g, out_dir=out_dir, sample_rate=sample_rate, seed=seed)
    results = run_jobs(todo, run_job, slow_category="guitar_sf", jobs=jobs, progress=progress)
    out: dict[str, list[SourceRecord]] = {"guitar": [], "harmonic": [], "held": [], "environmental": []}
    for recs in results:
        for d in recs:
            r = SourceRecord.from_dict(d)
            out[r.category].append(r)
    for cat in ("guitar", "harmonic", "held", "environmental"):
        if not out[cat] and cat != "held":
            raise DataError(f"the v2 generator made no {cat} sources")
    return out


def estimate_source_bytes(g: GenerateV2, jobs: list[JobV2], *, sample_rate: int) -> int:
    """Rough size of the rendered sources [bytes] (float32 WAVs; every guitar note kept)."""
    sec = 0.0
    for j in jobs:
        if j.category == "guitar_sf":
            sec += len(j.params[3]) * (PRE_S + POST_S)
        elif j.category == "physmod":
            sec += PRE_S + POST_S
        elif j.category == "held":
            sec += HELD_S * len(j.params[2])
        else:
            sec += g.noise_seconds
    return int(sec * sample_rate * 4)


def count_jobs_v2(g: GenerateV2) -> int:
    return len(plan_jobs(g, out_dir=Path("."), sample_rate=1, seed=0))
