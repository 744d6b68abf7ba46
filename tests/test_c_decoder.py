"""The C decoder (firmware_bridge/c/cleartune_frame.h) against the Python encoder/decoder.

Compiled with gcc -std=c99 -Wall -Wextra -Werror, plus -fsanitize=address,undefined wherever
a probe program builds and runs with them (then a sanitizer report fails the test); every
valid frame must decode to the same fields as Python, garbage must never crash it and it
must resynchronise exactly like the Python decoder."""
from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from cleartune.edge.notes import midi_to_name
from cleartune.edge.reading import Reading
from cleartune.firmware_bridge.wire import FrameDecoder, encode_frame, frame_from_reading

C_DIR = Path(__file__).resolve().parents[1] / "firmware_bridge" / "c"
CC = shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wconversion", "-Wshadow", "-O1", "-g"]


SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
PROBE = "#include <stdlib.h>\nint main(void){char *p = malloc(4); p[0] = 1; int r = p[0] - 1; free(p); return r;}\n"


def sanitizers_supported(tmp: Path) -> bool:
    """True when this gcc builds AND runs an ASan/UBSan program (a tiny probe, not our code)."""
    src, exe = tmp / "probe.c", tmp / "probe"
    src.write_text(PROBE)
    if subprocess.run([CC, *SAN, "-o", str(exe), str(src)], capture_output=True).returncode != 0:
        return False
    return subprocess.run([str(exe)], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> list[str]:
    """The decoder harness, built with ASan/UBSan wherever the toolchain supports them: then a
    compile error or a failed self-test under the sanitizers fails the tests (no fallback)."""
    tmp = tmp_path_factory.mktemp("cdec")
    out = tmp / "test_decoder"
    san = SAN if sanitizers_supported(tmp) else []
    r = subprocess.run([CC, *WARN, *san, "-o", str(out), str(C_DIR / "test_decoder.c")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [str(out)]


def run_c(harness, data: bytes, *args: str) -> tuple[list[tuple], tuple[int, ...]]:
    r = subprocess.run([*harness, *args], input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert not r.stderr, r.stderr.decode(errors="replace")
    frames, stats = [], None
    for line in r.stdout.decode().splitlines():
        p = line.split()
        if p[0] == "F":
            frames.append((int(p[1]), int(p[2]), int(p[3]), int(p[4]), int(p[5]), p[6], p[7]))
        elif p[0] == "S":
            stats = tuple(int(x) for x in p[1:])
    assert stats is not None
    return frames, stats


def as_tuple(f) -> tuple:
    return (255 if f.midi is None else f.midi, f.cents_x100, f.conf_u8, f.flags, -1 if f.seq is None else f.seq)


def c_cents_text(x100: int) -> str:
    """Display rounding of ct_format_cents: half away from zero, one decimal, '+0.0' never '-0.0'."""
    t = (abs(x100) + 5) // 10
    sign = "-" if x100 < 0 and t else "+"
    return f"{sign}{t // 10}.{t % 10}"


def random_readings(n: int, seed: int) -> list[Reading]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if rng.random() < 0.2:
            out.append(Reading.silent(i * 0.05, confidence=rng.random()))
            continue
        midi = rng.randrange(0, 128)
        cents = rng.choice([rng.uniform(-50, 50), rng.uniform(-400, 400), 0.0, -2.0, 2.0, 327.67, -327.67])
        out.append(Reading(t=i * 0.05, note=midi_to_name(midi), cents=cents, f0_hz=440.0,
                           confidence=rng.choice([rng.random(), 0.0, 1.0, 1.2, float("nan")]), midi=midi))
    return out


def test_selftest(harness):
    assert subprocess.run([*harness, "--selftest"]).returncode == 0


def test_every_valid_frame_matches_python(harness):
    readings = random_readings(2000, 1)
    seqs = [(i & 0xFF) if i % 3 else None for i in range(len(readings))]
    stream = b"".join(encode_frame(r, seq=s, in_tune_cents=2.5) for r, s in zip(readings, seqs))
    expected = [frame_from_reading(r, seq=s, in_tune_cents=2.5) for r, s in zip(readings, seqs)]
    frames, stats = run_c(harness, stream, "--synced", "--chunk", "7")
    assert stats == (len(readings), 0, 0, 0)
    assert [f[:5] for f in frames] == [as_tuple(e) for e in expected]
    for f, e in zip(frames, expected):
        assert f[5] == (e.note if e.midi is not None else "-")
        assert f[6] == (c_cents_text(e.cents_x100) if e.midi is not None else "-")
    # sanity of the decoded values themselves
    some = next(i for i, r in enumerate(readings) if r.note is not None and abs(r.cents) < 50)
    assert frames[some][1] / 100 == pytest.approx(readings[some].cents, abs=0.005)


def _python_reference(stream: bytes, *, synced: bool):
    dec = FrameDecoder(synced=synced)
    frames = dec.feed(stream)
    return [as_tuple(f) for f in frames], (dec.frames, dec.errors, dec.overflows, dec.skipped)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_garbage_and_resync_same_as_python(harness, seed):
    rng = random.Random(seed)
    readings = random_readings(400, seed)
    stream = bytearray(bytes(rng.randrange(256) for _ in range(13)))  # start mid-garbage
    for i, r in enumerate(readings):
        roll = rng.random()
        if roll < 0.1:
            stream += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
        elif roll < 0.15:
            frame = bytearray(encode_frame(r, seq=i & 0xFF))
            frame[rng.randrange(len(frame) - 1)] ^= 1 << rng.randrange(8)  # a bit flip
            stream += frame
            continue
        elif roll < 0.18:
            stream += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(11, 60)))  # overlong run
        stream += encode_frame(r, seq=i & 0xFF)
    last = Reading(t=99.0, note="E2", cents=-1.5, f0_hz=82.3, confidence=0.8, midi=40)
    stream += encode_frame(last, seq=200) + encode_frame(last, seq=201)  # the first may absorb garbage
    data = bytes(stream)
    for synced in (False, True):
        want_frames, want_stats = _python_reference(data, synced=synced)
        frames, stats = run_c(harness, data, *(["--synced"] if synced else []), "--chunk", "5")
        assert [f[:5] for f in frames] == want_frames
        assert stats == want_stats
    # and it did resynchronise: most frames came through, and the last one always does
    assert len(want_frames) >= 0.75 * len(readings)
    assert want_frames[-1] == as_tuple(frame_from_reading(last, seq=201))


def test_random_bytes_never_crash(harness):
    rng = random.Random(7)
    for n in (0, 1, 11, 5000):
        data = bytes(rng.randrange(256) for _ in range(n))
        frames, stats = run_c(harness, data)
        want_frames, want_stats = _python_reference(data, synced=False)
        assert [f[:5] for f in frames] == want_frames and stats == want_stats
    # mostly zeros and small numbers: many tiny bodies
    data = bytes(rng.choice([0, 0, 1, 2, 3, 0xFF]) for _ in range(20000))
    frames, stats = run_c(harness, data)
    assert stats == _python_reference(data, synced=False)[1]


def test_mid_frame_start(harness):
    readings = random_readings(20, 11)
    stream = b"".join(encode_frame(r, seq=i) for i, r in enumerate(readings))
    frames, stats = run_c(harness, stream[4:])
    assert [f[:5] for f in frames] == [as_tuple(frame_from_reading(r, seq=i)) for i, r in enumerate(readings)][1:]
    assert stats[3] > 0 and stats[1] == 0


def test_display_helpers_match_python(harness):
    r = subprocess.run([*harness, "--names"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    names, cents = {}, {}
    for line in r.stdout.splitlines():
        k, a, b = line.split()
        (names if k == "N" else cents)[int(a)] = b
    assert all(names[m] == midi_to_name(m) for m in range(128)) and names[255] == "-"
    assert len(cents) > 2000
    assert all(v == c_cents_text(x) for x, v in cents.items())
    assert cents[-314] == "-3.1" and cents[-4] == "+0.0" and cents[5] == "+0.1" and cents[32767] == "+327.7"


def test_header_compiles_as_cxx_and_sketch_compiles(tmp_path):
    """The sketch is C++: check the header and the .ino against stub Arduino headers."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("no g++")
    (tmp_path / "LiquidCrystal.h").write_text(
        "#pragma once\n#include <stdint.h>\n"
        "struct LiquidCrystal { LiquidCrystal(int,int,int,int,int,int){}\n"
        "  void begin(int,int){} void setCursor(int,int){} void print(char){} void print(const char*){} };\n")
    (tmp_path / "Arduino.h").write_text(
        "#pragma once\n#define HIGH 1\n#define LOW 0\n#define OUTPUT 1\n"
        "inline void pinMode(int,int){} inline void digitalWrite(int,int){} inline unsigned long millis(){return 0;}\n"
        "struct SerialStub { void begin(long){} int available(){return 0;} int read(){return -1;} };\n"
        "static SerialStub Serial;\n")
    main = tmp_path / "sketch.cpp"
    main.write_text('#include "Arduino.h"\n#include "%s"\nint main(){setup(); loop(); return 0;}\n'
                    % (C_DIR / "example_display.ino"))
    r = subprocess.run([cxx, "-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path),
                        "-I", str(C_DIR), "-fsyntax-only", str(main)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
