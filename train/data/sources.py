"""The built-in source generator (offline, Debian packages only).

* guitar notes rendered with fluidsynth from FluidR3_GM (one MIDI file per program and
  velocity, notes 5 s apart), cut into one recording per note, with the true first-partial
  frequency MEASURED (:mod:`.f0`) on the 0.3-2.0 s part after the pluck;
* harmonic noise: FluidR3 instruments playing what a band or orchestra plays while
  warming up (long tones, scales, arpeggios, the tuning A, notes on one pitch class in
  several octaves, several instruments at once), and espeak-ng voices;
* environmental noise synthesized (:mod:`.synth_noise`), plus crowd babble from many
  overlapping espeak-ng voices.

Two disjoint pools: :data:`TRAIN_POOL` and :data:`HOLDOUT_POOL` (other guitars, other
instruments, other voices and languages, other random streams).

Work is split into jobs; each job writes its WAVs (atomically) and then one small JSON
with its records, so an interrupted generation resumes where it stopped.
Source files are float32 WAVs at the dataset's sample rate, peak 0.9.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from cleartune.edge.errors import DataError
from cleartune.edge.fileio import atomic_write_json

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: fluidsynth renders at this rate; we resample to the dataset rate with a proper filter.
RENDER_RATE = 44100
#: Guitar render layout [s]: first note-on, note spacing, note length (note-off after), pre-roll
#: kept before the pluck and length kept after it; fade at the end of each cut.
GUITAR_LEAD_S = 1.0
GUITAR_SPACING_S = 5.5
GUITAR_RING_S = 3.0
GUITAR_PRE_S = 0.5
GUITAR_POST_S = 4.0
FADE_S = 0.25
#: Where the true f0 is measured, relative to the pluck [s], and in how many sub-windows
#: the pitch drift (f0_spread_cents) is measured.
F0_WINDOW_S = (0.3, 2.0)
F0_SPREAD_PARTS = 3
SOURCE_PEAK = 0.9

GM_NAMES = {
    0: "grand_piano", 1: "bright_piano", 6: "harpsichord", 11: "vibraphone", 12: "marimba",
    16: "drawbar_organ", 18: "rock_organ", 19: "church_organ", 21: "accordion", 22: "harmonica",
    24: "nylon_guitar", 25: "steel_guitar", 26: "jazz_guitar", 27: "clean_electric_guitar",
    32: "acoustic_bass", 33: "fingered_bass", 40: "violin", 41: "viola", 42: "cello",
    43: "contrabass", 45: "pizzicato_strings", 46: "harp", 48: "string_ensemble",
    49: "slow_strings", 52: "choir_aahs", 53: "voice_oohs", 56: "trumpet", 57: "trombone",
    58: "tuba", 59: "muted_trumpet", 60: "french_horn", 61: "brass_section", 64: "soprano_sax",
    65: "alto_sax", 66: "tenor_sax", 67: "baritone_sax", 68: "oboe", 69: "english_horn",
    70: "bassoon", 71: "clarinet", 72: "piccolo", 73: "flute", 74: "recorder", 75: "pan_flute",
}
#: Playable MIDI range (low, high) per GM program.
GM_RANGE = {
    0: (21, 108), 1: (21, 108), 6: (29, 89), 11: (53, 89), 12: (45, 96), 16: (36, 96),
    18: (36, 96), 19: (24, 96), 21: (41, 89), 22: (60, 84), 32: (28, 55), 33: (28, 60),
    40: (55, 100), 41: (48, 88), 42: (36, 76), 43: (28, 60), 45: (36, 96), 46: (24, 103),
    48: (36, 96), 49: (36, 96), 52: (48, 79), 53: (48, 79), 56: (54, 86), 57: (40, 72),
    58: (28, 58), 59: (54, 86), 60: (41, 77), 61: (40, 84), 64: (56, 87), 65: (49, 81),
    66: (44, 76), 67: (36, 69), 68: (58, 91), 69: (52, 81), 70: (34, 72), 71: (50, 91),
    72: (74, 108), 73: (60, 96), 74: (60, 96), 75: (60, 96),
}

SCENE_KINDS = ("long_tones", "scale", "arpeggio", "tuning_a", "pitch_class", "ensemble")
ENV_SOURCE_KINDS = ("white", "pink", "brown", "coloured", "hum", "clicks", "wind", "fan", "babble", "room")

_TEXTS = (
    "Could everyone take their seats please, we start in five minutes.",
    "Check, check, one two, one two. Is the monitor on?",
    "Did you bring the music for the second half?",
    "I think the cello section is a little flat today.",
    "Let's take it from bar forty two, with the repeat.",
    "Coffee is in the back, the break is at eight.",
    "Has anyone seen my rosin? I left it on the stand.",
    "The conductor wants the brass a bit softer in the slow movement.",
    "Welcome everyone, thank you for coming tonight.",
    "Wie war die Probe gestern? Ich habe die Noten vergessen.",
    "Bonsoir a tous, le concert commence dans quelques minutes.",
    "Donde esta la partitura? Empezamos en el compas veinte.",
    "Siamo pronti? Ancora una volta dall'inizio, per favore.",
    "Wat een mooie zaal, de akoestiek is geweldig.",
    "Can you pass me a pencil, I need to mark the bowing.",
    "Two tickets for the evening show, please, near the front.",
    "The train was late again, so I missed the warm up.",
    "Tune to the oboe, and then we play the opening chord together.",
)

Progress = Optional[Callable[[int], None]]


@dataclass(frozen=True)
class Pool:
    """Which sound sources a build draws from.  The holdout pool shares none of them with
    the training pool (and uses other random streams for synthesized noise)."""

    name: str
    guitar_programs: tuple[int, ...]
    harmonic_programs: tuple[int, ...]
    languages: tuple[str, ...]
    variants: tuple[str, ...]
    salt: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["guitar_instruments"] = [GM_NAMES[p] for p in self.guitar_programs]
        d["harmonic_instruments"] = [GM_NAMES[p] for p in self.harmonic_programs]
        return d


TRAIN_POOL = Pool(
    name="train",
    guitar_programs=(24, 25),
    harmonic_programs=(0, 11, 16, 19, 21, 33, 40, 42, 43, 46, 48, 52, 56, 57, 60, 65, 70, 71, 73),
    languages=("en-us", "en-gb", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "ro"),
    variants=("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"),
    salt=0,
)
HOLDOUT_POOL = Pool(
    name="holdout",
    guitar_programs=(26, 27),
    harmonic_programs=(1, 6, 12, 18, 22, 32, 41, 45, 49, 53, 58, 61, 66, 68, 69, 72, 74),
    languages=("cs", "fi", "hu", "tr", "id", "sk", "hr", "ca", "en-gb-scotland", "es-419", "sw", "eu"),
    variants=("Annie", "Andy", "aunty", "belinda", "boris", "caleb", "david", "linda", "max", "Michael",
              "edward", "steph"),
    salt=1,
)
POOLS = {"train": TRAIN_POOL, "holdout": HOLDOUT_POOL}


@dataclass
class SourceRecord:
    """One source recording.  ``path`` is relative to the dataset folder for generated
    sources, absolute (or as given) for bring-your-own files."""

    path: str
    category: str                       # guitar | harmonic | environmental
    kind: str                           # guitar: "note"/"recording"; harmonic: scene kind or "voice"; env kind
    recording: str                      # group id (a recording never appears in two splits)
    instrument: str = ""
    midi: Optional[int] = None
    velocity: Optional[int] = None
    onset_s: Optional[float] = None     # pluck time in the file [s] (None: unknown)
    f0_hz: Optional[float] = None
    f0_source: str = ""
    f0_method: str = ""
    f0_spread_cents: Optional[float] = None
    pitch_class: Optional[int] = None   # harmonic scenes built on one pitch class
    reverb_s: float = 0.0               # RT60 of synthetic reverb applied [s] (0: none)
    n_samples: int = 0                  # at the dataset sample rate
    detail: str = ""                    # programs, voice, settings (free text)
    source: str = ""                    # v2: package / band / language tag (leave-source-out split)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SourceRecord":
        return cls(**d)


# -- tools --------------------------------------------------------------------------------

def check_tools(*, soundfont: Path = SOUNDFONT) -> None:
    """Raise :class:`DataError` if fluidsynth, espeak-ng or the soundfont are missing."""
    for tool, pkg in (("fluidsynth", "fluidsynth"), ("espeak-ng", "espeak-ng")):
        if shutil.which(tool) is None:
            raise DataError(f"{tool} not found; install it (apt-get install {pkg}) or bring your own folders")
    if not Path(soundfont).is_file():
        raise DataError(f"soundfont {soundfont} not found; install fluid-soundfont-gm or pass --soundfont")


def tool_versions() -> dict[str, str]:
    out = {}
    for tool, flag in (("fluidsynth", "--version"), ("espeak-ng", "--version")):
        try:
            r = subprocess.run([tool, flag], capture_output=True, text=True, timeout=20)
            out[tool] = (r.stdout.strip().splitlines() or [""])[0]
        except (OSError, subprocess.SubprocessError):
            out[tool] = "missing"
    return out


def render_midi(midi_file: Path, *, soundfont: Path, gain: float = 1.0, reverb: bool = False) -> np.ndarray:
    """Render a MIDI file with the fluidsynth CLI at :data:`RENDER_RATE`; mono float64."""
    from cleartune.edge.audio_io import read_audio

    with tempfile.TemporaryDirectory(prefix="cleartune-fs-") as td:
        wav = Path(td) / "out.wav"
        cmd = ["fluidsynth", "-ni", "-q", "-g", f"{gain:g}", "-r", str(RENDER_RATE), "-R", "1" if reverb else "0",
               "-C", "0", "-O", "float", "-T", "wav", "-F", str(wav), str(soundfont), str(midi_file)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not wav.exists():
            raise DataError(f"fluidsynth failed on {midi_file.name}: {(r.stderr or r.stdout).strip()[:200]}")
        x, sr = read_audio(wav, mono=True)
    if sr != RENDER_RATE:
        raise DataError(f"fluidsynth wrote {sr} Hz, expected {RENDER_RATE}")
    return x.astype(np.float64)


def speak(text: str, *, voice: str, speed: int, pitch: int, sample_rate: int) -> np.ndarray:
    """One espeak-ng utterance, mono float64 at ``sample_rate``."""
    from cleartune.edge.audio_io import read_audio, resample

    with tempfile.TemporaryDirectory(prefix="cleartune-es-") as td:
        wav = Path(td) / "v.wav"
        cmd = ["espeak-ng", "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "-w", str(wav), text]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not wav.exists() or wav.stat().st_size <= 44:
            raise DataError(f"espeak-ng failed for voice {voice}: {(r.stderr or r.stdout).strip()[:200]}")
        x, sr = read_audio(wav, mono=True)
    return resample(x, sr, sample_rate).astype(np.float64)


def _normalise_peak(x: np.ndarray, peak: float = SOURCE_PEAK) -> np.ndarray:
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return x * (peak / m) if m > 0 else x


def _fade_out(x: np.ndarray, n: int) -> np.ndarray:
    if n > 0 and len(x) > n:
        x = x.copy()
        x[-n:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, n)))
    return x


def _write(path: Path, x: np.ndarray, sample_rate: int) -> None:
    from cleartune.edge.audio_io import write_wav

    write_wav(path, x.astype(np.float32), sample_rate)


def _write_json(path: Path, obj: Any) -> None:
    atomic_write_json(path, obj, indent=1)


# -- jobs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One unit of generation work; ``run_job`` does it and returns its records."""

    category: str          # guitar | harmonic | voice | environmental
    index: int
    out_dir: str           # dataset folder
    sample_rate: int
    seed: int
    pool: str
    params: tuple = ()     # category-specific (hashable) settings
    soundfont: str = str(SOUNDFONT)

    @property
    def record_file(self) -> Path:
        return Path(self.out_dir) / "sources" / ".jobs" / f"{self.category}_{self.index:05d}.json"

    def rng(self) -> np.random.Generator:
        code = {"guitar": 1, "harmonic": 2, "voice": 3, "environmental": 4}[self.category]
        return np.random.default_rng([self.seed, POOLS[self.pool].salt, code, self.index])


def measure_note(x: np.ndarray, sample_rate: int, *, onset_s: float, nominal_hz: float):
    """True f0 of a plucked note (float ``(n,)``, pluck at ``onset_s``): first-partial
    frequency on the 0.3-2.0 s part, plus its drift across sub-windows [cents]."""
    from .f0 import cents, measure_f0

    a = int(round((onset_s + F0_WINDOW_S[0]) * sample_rate))
    b = int(round((onset_s + F0_WINDOW_S[1]) * sample_rate))
    est = measure_f0(x[a:b], sample_rate, f0_hint=nominal_hz)
    if est is None:
        return None, None
    edges = np.linspace(a, b, F0_SPREAD_PARTS + 1).astype(int)
    parts = [measure_f0(x[edges[i]:edges[i + 1]], sample_rate, f0_hint=est.f0_hz, search_cents=30.0)
             for i in range(F0_SPREAD_PARTS)]
    vals = [cents(p.f0_hz, est.f0_hz) for p in parts if p is not None]
    spread = (max(vals) - min(vals)) if len(vals) >= 2 else float("nan")
    return est, spread


def _guitar_job(job: Job) -> list[SourceRecord]:
    from cleartune.edge.audio_io import resample

    from .f0 import midi_to_hz
    from .midi import MidiFile

    program, velocity, notes = job.params
    name = GM_NAMES.get(program, f"gm{program}")
    sr = job.sample_rate
    m = MidiFile()
    m.program(0.0, channel=0, program=program)
    onsets = []
    for i, note in enumerate(notes):
        t = GUITAR_LEAD_S + i * GUITAR_SPACING_S
        m.note(t, duration=GUITAR_RING_S, channel=0, note=note, velocity=velocity)
        onsets.append(t)
    with tempfile.TemporaryDirectory(prefix="cleartune-mid-") as td:
        mid = Path(td) / "g.mid"
        m.save(mid, end_padding_s=GUITAR_SPACING_S)
        audio = resample(render_midi(mid, soundfont=Path(job.soundfont)), RENDER_RATE, sr).astype(np.float64)
    records = []
    for note, t in zip(notes, onsets):
        a = int(round((t - GUITAR_PRE_S) * sr))
        b = a + int(round((GUITAR_PRE_S + GUITAR_POST_S) * sr))
        seg = audio[a:b]
        if len(seg) < b - a:
            seg = np.concatenate([seg, np.zeros(b - a - len(seg))])
        seg = _normalise_peak(_fade_out(seg, int(FADE_S * sr)))
        if not np.any(seg):
            continue
        est, spread = measure_note(seg, sr, onset_s=GUITAR_PRE_S, nominal_hz=midi_to_hz(note))
        if est is None:
            continue
        rel = Path("sources") / "guitar" / name / f"p{program:03d}_v{velocity:03d}_m{note:03d}.wav"
        _write(Path(job.out_dir) / rel, seg, sr)
        records.append(SourceRecord(
            path=rel.as_posix(), category="guitar", kind="note", recording=f"{name}_v{velocity}_m{note}",
            instrument=name, midi=int(note), velocity=int(velocity), onset_s=GUITAR_PRE_S,
            f0_hz=float(est.f0_hz), f0_source="measured", f0_method=est.method,
            f0_spread_cents=None if not math.isfinite(spread) else float(spread),
            n_samples=len(seg), detail=f"fluidsynth FluidR3_GM program {program}",
        ))
    return records


# -- harmonic scenes ----------------------------------------------------------------------

def _pattern(kind: str, rng: np.random.Generator, *, lo: int, hi: int, duration: float,
             pitch_class: Optional[int]) -> list[tuple[float, float, int, int]]:
    """Notes ``(start_s, dur_s, midi, velocity)`` of one warming-up part within [lo, hi]."""
    notes: list[tuple[float, float, int, int]] = []
    t = float(rng.uniform(0.0, 1.0))
    vel = lambda: int(rng.integers(50, 121))  # noqa: E731
    if kind == "long_tones":
        while t < duration:
            d = float(rng.uniform(1.5, 5.0))
            notes.append((t, d, int(rng.integers(lo, hi + 1)), vel()))
            t += d + float(rng.uniform(0.05, 1.0))
    elif kind in ("scale", "arpeggio"):
        step = float(rng.uniform(0.1, 0.35))
        root = int(rng.integers(lo, max(lo + 1, hi - 12)))
        if kind == "scale":
            mode = [(0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), tuple(range(12))][int(rng.integers(0, 3))]
        else:
            mode = [(0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 7, 10)][int(rng.integers(0, 4))]
        octaves = int(rng.integers(1, 3))
        seq = [root + 12 * o + iv for o in range(octaves) for iv in mode] + [root + 12 * octaves]
        seq = [n for n in seq if lo <= n <= hi] or [root]
        up_down = seq + seq[-2:0:-1]
        v = vel()
        while t < duration:
            for n in up_down:
                notes.append((t, step * 0.95, n, v))
                t += step
            t += float(rng.uniform(0.3, 1.5))
    elif kind == "tuning_a":
        a_notes = [n for n in (33, 45, 57, 69, 81, 93) if lo <= n <= hi] or [int(rng.integers(lo, hi + 1))]
        while t < duration:
            d = float(rng.uniform(2.5, 6.0))
            notes.append((t, d, int(rng.choice(a_notes)), vel()))
            t += d + float(rng.uniform(0.1, 1.0))
    elif kind == "pitch_class":
        pc = int(pitch_class if pitch_class is not None else rng.integers(0, 12))
        cands = [n for n in range(lo, hi + 1) if n % 12 == pc] or [lo + (pc - lo) % 12]
        while t < duration:
            d = float(rng.uniform(0.4, 3.5))
            notes.append((t, d, int(rng.choice(cands)), vel()))
            t += d + float(rng.uniform(0.05, 0.8))
    else:
        raise ValueError(kind)
    return [n for n in notes if n[0] < duration]


def _harmonic_job(job: Job) -> list[SourceRecord]:
    from cleartune.edge.audio_io import resample

    from .midi import MidiFile
    from .synth_noise import reverb

    kind, pitch_class, duration = job.params
    pool = POOLS[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    n_inst = 1 if kind in ("long_tones", "scale", "arpeggio") else int(rng.integers(2, 5))
    programs = [int(p) for p in rng.choice(pool.harmonic_programs, size=n_inst, replace=False)]
    m = MidiFile()
    tuning_ref_cents = 1200 * math.log2(float(rng.uniform(440.0, 443.0)) / 440.0)   # orchestras tune to 440-443
    for ch, prog in enumerate(programs):
        lo, hi = GM_RANGE.get(prog, (40, 90))
        part_kind = kind
        if kind == "ensemble":
            part_kind = str(rng.choice(["long_tones", "scale", "arpeggio", "tuning_a", "pitch_class"]))
        m.program(0.0, channel=ch, program=prog)
        m.control(0.0, channel=ch, controller=7, value=int(rng.integers(70, 121)))
        # players warming up are not in tune: +-15 cents, plus the orchestra's reference for the A
        detune = float(rng.uniform(-15, 15)) + (tuning_ref_cents if part_kind == "tuning_a" else 0.0)
        m.pitch_bend(0.0, channel=ch, value=int(round(detune / 200.0 * 8192)))
        for (t, d, n, v) in _pattern(part_kind, rng, lo=lo, hi=hi, duration=duration, pitch_class=pitch_class):
            m.note(t, duration=min(d, duration - t + 0.5), channel=ch, note=n, velocity=v)
        # slow swells on held notes
        for k in range(int(duration)):
            m.control(float(k), channel=ch, controller=11, value=int(rng.integers(70, 128)))
    fs_reverb = bool(rng.random() < 0.4)
    with tempfile.TemporaryDirectory(prefix="cleartune-mid-") as td:
        mid = Path(td) / "h.mid"
        m.save(mid, end_padding_s=0.5)
        audio = resample(render_midi(mid, soundfont=Path(job.soundfont), reverb=fs_reverb), RENDER_RATE, sr)
    n = int(duration * sr)
    x = np.zeros(n)
    x[: min(n, len(audio))] = audio[:n]
    rt60 = 0.0
    if rng.random() < 0.3:
        rt60 = float(rng.uniform(0.3, 1.8))
        x = reverb(x, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.2, 0.6)))
    if not np.any(x):
        return []
    rel = Path("sources") / "harmonic" / f"scene_{job.index:05d}_{kind}.wav"
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    names = "+".join(GM_NAMES.get(p, f"gm{p}") for p in programs)
    return [SourceRecord(
        path=rel.as_posix(), category="harmonic", kind=kind, recording=rel.stem, instrument=names,
        pitch_class=pitch_class, reverb_s=rt60, n_samples=n,
        detail=f"programs {programs}; fluidsynth reverb {'on' if fs_reverb else 'off'}",
    )]


def _voice(rng: np.random.Generator, pool: Pool) -> str:
    return f"{rng.choice(pool.languages)}+{rng.choice(pool.variants)}"


def _talk(rng: np.random.Generator, pool: Pool, *, n: int, sample_rate: int, voice: Optional[str] = None) -> tuple[np.ndarray, str]:
    """Speech by one voice filling about ``n`` samples (utterances with pauses)."""
    voice = voice or _voice(rng, pool)
    speed, pitch = int(rng.integers(110, 220)), int(rng.integers(15, 90))
    out = np.zeros(n)
    t = int(rng.uniform(0, 0.8) * sample_rate)
    while t < n:
        u = speak(str(rng.choice(_TEXTS)), voice=voice, speed=speed, pitch=pitch, sample_rate=sample_rate)
        stop = min(n, t + len(u))
        out[t:stop] += u[: stop - t]
        t = stop + int(rng.uniform(0.2, 1.2) * sample_rate)
    return out, f"{voice} s{speed} p{pitch}"


def _voice_job(job: Job) -> list[SourceRecord]:
    from .synth_noise import reverb

    (duration,) = job.params
    pool = POOLS[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    n = int(duration * sr)
    x, desc = _talk(rng, pool, n=n, sample_rate=sr)
    rt60 = 0.0
    if rng.random() < 0.3:
        rt60 = float(rng.uniform(0.3, 1.5))
        x = reverb(x, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.2, 0.5)))
    if not np.any(x):
        return []
    rel = Path("sources") / "harmonic" / f"voice_{job.index:05d}.wav"
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="harmonic", kind="voice", recording=rel.stem,
                         instrument="espeak-ng", reverb_s=rt60, n_samples=n, detail=desc)]


def _babble(rng: np.random.Generator, pool: Pool, *, n: int, sample_rate: int) -> tuple[np.ndarray, str]:
    import scipy.signal

    k = int(rng.integers(6, 17))
    x = np.zeros(n)
    for _ in range(k):
        v, _desc = _talk(rng, pool, n=n, sample_rate=sample_rate)
        r = np.sqrt(np.mean(v ** 2))
        if r > 0:
            x += v / r * float(rng.uniform(0.3, 1.0))
    sos = scipy.signal.butter(2, float(rng.uniform(2500, 6000)), btype="low", fs=sample_rate, output="sos")
    return scipy.signal.sosfilt(sos, x), f"{k} voices"


def _env_job(job: Job) -> list[SourceRecord]:
    from .synth_noise import make_env_noise, reverb

    kind, duration = job.params
    pool = POOLS[job.pool]
    rng = job.rng()
    sr = job.sample_rate
    n = int(duration * sr)
    detail = ""
    if kind == "babble":
        x, detail = _babble(rng, pool, n=n, sample_rate=sr)
    elif kind == "room":
        parts = [str(p) for p in rng.choice(["pink", "brown", "hum", "clicks", "fan", "wind"], size=int(rng.integers(2, 4)), replace=False)]
        x = sum(make_env_noise(p, n, sr, rng) * 10 ** (float(rng.uniform(-15, 0)) / 20) for p in parts)
        detail = "+".join(parts)
    else:
        x = make_env_noise(kind, n, sr, rng)
    rt60 = 0.0
    if kind in ("babble", "clicks", "room") and rng.random() < 0.6 or kind not in ("hum",) and rng.random() < 0.2:
        rt60 = float(rng.uniform(0.3, 1.5))
        x = reverb(x, sr, rng, rt60_s=rt60, wet=float(rng.uniform(0.3, 0.7)))
    if not np.any(x):
        return []
    rel = Path("sources") / "environmental" / f"env_{job.index:05d}_{kind}.wav"
    _write(Path(job.out_dir) / rel, _normalise_peak(x), sr)
    return [SourceRecord(path=rel.as_posix(), category="environmental", kind=kind, recording=rel.stem,
                         instrument="synthetic", reverb_s=rt60, n_samples=n, detail=detail)]


_RUNNERS = {"guitar": _guitar_job, "harmonic": _harmonic_job, "voice": _voice_job, "environmental": _env_job}


def run_job(job: Job) -> list[dict[str, Any]]:
    """Do one job (skipping it if its record file exists) and return its records as dicts."""
    rf = job.record_file
    if rf.exists():
        try:
            return json.loads(rf.read_text())["records"]
        except (OSError, ValueError, KeyError):
            pass
    records = [r.to_dict() for r in _RUNNERS[job.category](job)]
    _write_json(rf, {"job": asdict(job), "records": records})
    return records


@dataclass
class GenerateSettings:
    """What the built-in generator makes."""

    pool: str = "train"
    notes: tuple[int, ...] = tuple(range(40, 89))        # MIDI E2..E6
    velocities: tuple[int, ...] = (60, 85, 110)
    guitar_programs: Optional[tuple[int, ...]] = None    # None: the pool's
    n_harmonic: int = 48                                  # instrument scenes
    n_voice: int = 16                                     # espeak-ng voice files
    n_env: int = 48                                       # environmental noises
    noise_seconds: float = 12.0                           # length of each noise source [s]
    soundfont: str = str(SOUNDFONT)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = list(self.notes)
        d["velocities"] = list(self.velocities)
        d["guitar_programs"] = list(self.programs())
        return d

    def programs(self) -> tuple[int, ...]:
        return tuple(self.guitar_programs) if self.guitar_programs else POOLS[self.pool].guitar_programs


def plan_jobs(settings: GenerateSettings, *, out_dir: Path, sample_rate: int, seed: int) -> list[Job]:
    """All generation jobs for ``settings`` (deterministic)."""
    common = dict(out_dir=str(out_dir), sample_rate=int(sample_rate), seed=int(seed), pool=settings.pool,
                  soundfont=str(settings.soundfont))
    jobs: list[Job] = []
    i = 0
    for prog in settings.programs():
        if prog not in GM_NAMES:
            raise DataError(f"guitar program {prog} has no name in the table; use 24-27")
        for v in settings.velocities:
            jobs.append(Job("guitar", i, params=(int(prog), int(v), tuple(int(n) for n in settings.notes)), **common))
            i += 1
    rng = np.random.default_rng([seed, POOLS[settings.pool].salt, 99])
    for k in range(settings.n_harmonic):
        # a quarter of the scenes are built on one pitch class (cycling through all twelve)
        kind = "pitch_class" if k % 4 == 3 else str(rng.choice([s for s in SCENE_KINDS if s != "pitch_class"]))
        pc = (k // 4) % 12 if kind == "pitch_class" else None
        jobs.append(Job("harmonic", k, params=(kind, pc, float(settings.noise_seconds)), **common))
    for k in range(settings.n_voice):
        jobs.append(Job("voice", k, params=(float(settings.noise_seconds),), **common))
    kinds = list(ENV_SOURCE_KINDS)
    for k in range(settings.n_env):
        if k % len(kinds) == 0:
            rng.shuffle(kinds)
        jobs.append(Job("environmental", k, params=(kinds[k % len(kinds)], float(settings.noise_seconds)), **common))
    return jobs


def run_jobs(todo: list, run: Callable[[Any], list[dict]], *, slow_category: str, jobs: int = 1,
             progress: Progress = None) -> list[list[dict]]:
    """``run(job)`` for every job of ``todo`` (its records as dicts, in job order), in ``jobs``
    worker processes when > 1, the slow ``slow_category`` jobs first so that they do not all
    end up last; ``progress(1)`` after each job."""
    results: list[list[dict]] = [[] for _ in todo]
    if jobs <= 1:
        for i, job in enumerate(todo):
            results[i] = run(job)
            if progress:
                progress(1)
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed

    order = sorted(range(len(todo)), key=lambda i: todo[i].category != slow_category)
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(run, todo[i]): i for i in order}
        for f in as_completed(futs):
            results[futs[f]] = f.result()
            if progress:
                progress(1)
    return results


def generate_sources(
    settings: GenerateSettings,
    *,
    out_dir: Path,
    sample_rate: int,
    seed: int,
    jobs: int = 1,
    progress: Progress = None,
) -> dict[str, list[SourceRecord]]:
    """Render/synthesize every source (resuming finished jobs); returns records per
    category (``guitar``, ``harmonic``, ``environmental``), in job order."""
    check_tools(soundfont=Path(settings.soundfont))
    todo = plan_jobs(settings, out_dir=out_dir, sample_rate=sample_rate, seed=seed)
    results = run_jobs(todo, run_job, slow_category="guitar", jobs=jobs, progress=progress)
    out: dict[str, list[SourceRecord]] = {"guitar": [], "harmonic": [], "environmental": []}
    for recs in results:
        for d in recs:
            r = SourceRecord.from_dict(d)
            out[r.category].append(r)
    return out


def count_jobs(settings: GenerateSettings) -> int:
    return len(settings.programs()) * len(settings.velocities) + settings.n_harmonic + settings.n_voice + settings.n_env
