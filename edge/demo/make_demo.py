"""Regenerate the demo recording and its golden output.

    python edge/demo/make_demo.py            # demo.wav (needs fluidsynth + FluidR3_GM.sf2), then the golden
    python edge/demo/make_demo.py --golden   # only demo.golden.jsonl, from the committed demo.wav

``demo.wav``: the six open strings of standard tuning (E2 A2 D3 G3 B3 E4) plucked one
after the other on FluidR3's steel-string acoustic guitar (General MIDI program 25, 0-based),
rendered by fluidsynth (chorus off: it wobbles the pitch; reverb on) at the model's
sample rate.  Two strings are detuned with pitch bend: A2 by ``-15`` cents and B3 by
``+9`` cents (:data:`DETUNE_CENTS`; the sample set's own tuning adds its own few cents).
Seeded pink noise at -50 dBFS RMS is added; peak normalised to -3 dBFS; 16-bit mono WAV.

``demo.golden.jsonl``: ``cleartune analyze demo.wav --json --no-denoise``, what the
golden test (tests/test_edge_demo.py) compares against.  Regenerate it only when a
change to the tracker is meant to change the readings.
"""
from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WAV = HERE / "demo.wav"
GOLDEN = HERE / "demo.golden.jsonl"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PROGRAM = 25                     # GM "Acoustic Guitar (steel)", 0-based
STRINGS = (40, 45, 50, 55, 59, 64)  # E2 A2 D3 G3 B3 E4 (MIDI)
DETUNE_CENTS = {45: -15.0, 59: +9.0}
NOTE_S = 1.25                    # [s] each string rings
GAP_S = 0.15                     # [s] between strings
LEAD_S = 0.3                     # [s] silence (noise) before the first pluck
TAIL_S = 0.4                     # [s] after the last
VELOCITY = 100
BEND_RANGE_CENTS = 200.0         # GM default pitch-bend range: +-2 semitones
TICKS_PER_BEAT = 480
US_PER_BEAT = 500_000            # 120 bpm: 960 ticks per second
NOISE_DBFS = -50.0               # [dBFS RMS] pink noise
PEAK_DBFS = -3.0
SEED = 2024


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def _ticks(seconds: float) -> int:
    return int(round(seconds * TICKS_PER_BEAT * 1e6 / US_PER_BEAT))


def midi_file() -> bytes:
    """A type-0 standard MIDI file: program change, then per string a pitch bend, note on, note off."""
    ev: list[tuple[int, bytes]] = [(0, b"\xff\x51\x03" + US_PER_BEAT.to_bytes(3, "big")), (0, bytes([0xC0, PROGRAM]))]
    t = LEAD_S
    for note in STRINGS:
        bend = int(round(8192 + DETUNE_CENTS.get(note, 0.0) / BEND_RANGE_CENTS * 8192))
        ev.append((_ticks(t) - 1 if t > 0 else 0, bytes([0xE0, bend & 0x7F, bend >> 7])))
        ev.append((_ticks(t), bytes([0x90, note, VELOCITY])))
        ev.append((_ticks(t + NOTE_S), bytes([0x80, note, 0])))
        t += NOTE_S + GAP_S
    ev.append((_ticks(t + TAIL_S), b"\xff\x2f\x00"))
    ev.sort(key=lambda e: e[0])
    track, last = b"", 0
    for tick, data in ev:
        track += _varlen(tick - last) + data
        last = tick
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def pink_noise(n: int, *, rms_dbfs: float, seed: int) -> np.ndarray:
    """Seeded 1/f noise, ``n`` samples at ``rms_dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x * (10 ** (rms_dbfs / 20) / np.sqrt(np.mean(x ** 2)))


def render(out: Path) -> None:
    from cleartune.edge.audio_io import read_audio, write_wav
    from cleartune.edge.params import EDGE

    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        raise SystemExit("needs fluidsynth and FluidR3_GM.sf2 (apt-get install fluidsynth fluid-soundfont-gm)")
    sr = EDGE.sample_rate
    with tempfile.TemporaryDirectory() as d:
        mid, wav = Path(d) / "demo.mid", Path(d) / "demo_raw.wav"
        mid.write_bytes(midi_file())
        subprocess.run(["fluidsynth", "-n", "-i", "-q", "-C", "0", "-R", "1", "-g", "0.8", "-r", str(sr),
                        "-O", "s16", "-T", "wav", "-F", str(wav), str(SOUNDFONT), str(mid)],
                       check=True, capture_output=True)
        x, got_sr = read_audio(wav, mono=True)
    if got_sr != sr:
        raise SystemExit(f"fluidsynth rendered {got_sr} Hz, wanted {sr}")
    n = int(round((LEAD_S + len(STRINGS) * (NOTE_S + GAP_S) + TAIL_S) * sr))
    x = np.concatenate([x.astype(np.float64), np.zeros(max(0, n - len(x)))])[:n]
    x *= 10 ** (PEAK_DBFS / 20) / np.max(np.abs(x))
    x += pink_noise(n, rms_dbfs=NOISE_DBFS, seed=SEED)
    write_wav(out, np.clip(x, -1, 1), sr, subtype="int16")
    out.chmod(0o644)  # package data: readable by everyone
    print(f"wrote {out} ({out.stat().st_size} bytes, {n / sr:.2f} s)")


def golden(wav: Path, out: Path) -> None:
    """``cleartune analyze WAV --json --no-denoise`` into ``out`` (atomically)."""
    r = subprocess.run([sys.executable, "-m", "cleartune", "analyze", str(wav), "--json", "--no-denoise"],
                       capture_output=True, text=True, check=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(r.stdout)
    tmp.replace(out)
    print(f"wrote {out} ({len(r.stdout.splitlines())} readings)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--golden", action="store_true", help="only regenerate the golden output from demo.wav")
    a = ap.parse_args(argv)
    if not a.golden:
        render(WAV)
    golden(WAV, GOLDEN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
