"""Wire formats: CRC, COBS, binary frame and text line round trips, streaming decoder."""
from __future__ import annotations

import math
import random
import struct

import pytest

from cleartune.edge.reading import Reading
from cleartune.firmware_bridge import wire
from cleartune.firmware_bridge.errors import WireError
from cleartune.firmware_bridge.wire import (
    FLAG_CLAMPED,
    FLAG_HAS_SEQ,
    FLAG_IN_TUNE,
    FLAG_NO_SIGNAL,
    FrameDecoder,
    cobs_decode,
    cobs_encode,
    crc16_ccitt_false,
    decode_frame,
    encode_frame,
    encode_payload,
    format_text_line,
    frame_from_reading,
    parse_text_line,
)


def test_crc_check_value():
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue check value of CRC-16/CCITT-FALSE
    assert crc16_ccitt_false(b"") == 0xFFFF


@pytest.mark.parametrize("n", [0, 1, 2, 9, 253, 254, 255, 256, 508, 600])
def test_cobs_round_trip(n):
    rng = random.Random(n)
    for zeros in (0.0, 0.3, 1.0):
        data = bytes(0 if rng.random() < zeros else rng.randrange(1, 256) for _ in range(n))
        enc = cobs_encode(data)
        assert 0 not in enc
        assert len(enc) <= n + 1 + n // 254 + 1
        assert cobs_decode(enc) == data


def test_cobs_rejects_malformed():
    with pytest.raises(WireError):
        cobs_decode(b"\x05\x01\x02")  # block runs past the end
    with pytest.raises(WireError):
        cobs_decode(b"\x03\x00\x01")


def test_frame_layout_is_as_documented():
    r = Reading(t=0, note="A2", cents=-3.14, f0_hz=109.8, confidence=0.93, midi=45)
    f = encode_frame(r, seq=7)
    assert f.endswith(b"\x00") and 0 not in f[:-1] and len(f) <= wire.MAX_ENCODED + 1
    raw = cobs_decode(f[:-1])
    payload, crc = raw[:-2], struct.unpack("<H", raw[-2:])[0]
    assert crc == crc16_ccitt_false(payload)
    assert payload == bytes([1, 45]) + struct.pack("<h", -314) + bytes([237, FLAG_HAS_SEQ, 7])


CASES = [
    Reading(t=0, note="A2", cents=-3.14, f0_hz=109.8, confidence=0.93, midi=45),
    Reading(t=0, note="E2", cents=0.0, f0_hz=82.4, confidence=1.0, midi=40),
    Reading(t=0, note="E2", cents=-2.0, f0_hz=82.4, confidence=0.5, midi=40),   # window edge: in tune
    Reading(t=0, note="E2", cents=2.004, f0_hz=82.4, confidence=0.5, midi=40),  # just outside
    Reading(t=0, note="C-1", cents=-50.0, f0_hz=8.0, confidence=0.0, midi=0),
    Reading(t=0, note="G9", cents=50.0, f0_hz=12500.0, confidence=1.0, midi=127),
    Reading(t=0, note="A4", cents=327.67, f0_hz=530.0, confidence=0.2, midi=69),
    Reading(t=0, note="A4", cents=-1000.0, f0_hz=250.0, confidence=0.2, midi=69),
    Reading(t=0, note="A4", cents=1e9, f0_hz=250.0, confidence=1.7, midi=69),
    Reading.silent(0.0),
    Reading.silent(0.0, confidence=float("nan")),
    Reading(t=0, note="C#4", cents=5.0, f0_hz=278.0, confidence=0.4),   # midi from the name
    Reading(t=0, note="Bb3", cents=-5.0, f0_hz=232.0, confidence=0.4),  # flats accepted
]


@pytest.mark.parametrize("r", CASES)
@pytest.mark.parametrize("seq", [None, 0, 255])
def test_binary_round_trip(r, seq):
    f = decode_frame(encode_frame(r, seq=seq)[:-1])
    assert f == frame_from_reading(r, seq=seq)
    assert f.seq == seq and bool(f.flags & FLAG_HAS_SEQ) == (seq is not None)
    if r.note is None:
        assert f.midi is None and f.cents is None and f.no_signal and not f.in_tune
    else:
        assert f.note == {"Bb3": "A#3"}.get(r.note, r.note)
        assert not f.no_signal
        if abs(r.cents) <= 327.67:
            assert f.cents == pytest.approx(r.cents, abs=0.005) and not f.clamped
        else:
            assert f.clamped and f.cents_x100 == math.copysign(32767, r.cents)
        assert f.in_tune == (abs(r.cents) <= 2.0)
    c = r.confidence if math.isfinite(r.confidence) else 0.0
    assert f.confidence == pytest.approx(min(1.0, max(0.0, c)), abs=0.5 / 255 + 1e-12)


def test_in_tune_window_is_configurable():
    r = Reading(t=0, note="E2", cents=4.0, f0_hz=82.4, confidence=1.0, midi=40)
    assert not decode_frame(encode_frame(r)[:-1]).in_tune
    assert decode_frame(encode_frame(r, in_tune_cents=5.0)[:-1]).in_tune


def test_flag_values():
    assert (FLAG_IN_TUNE, FLAG_NO_SIGNAL, FLAG_CLAMPED, FLAG_HAS_SEQ) == (1, 2, 4, 8)


@pytest.mark.parametrize("payload, why", [
    (bytes([2, 45, 0, 0, 10, 0]), "version"),
    (bytes([1, 45, 0, 0, 10, 0x10]), "flag"),
    (bytes([1, 200, 0, 0, 10, 0]), "MIDI"),
    (bytes([1, 45, 0, 0, 10, FLAG_HAS_SEQ]), "expected 7"),
    (bytes([1, 45, 0, 0, 10, 0, 9]), "expected 6"),
    (bytes([1, 45, 0]), "short"),
])
def test_bad_payloads_rejected(payload, why):
    with pytest.raises(WireError, match=why):
        decode_frame(encode_payload(payload)[:-1])


def test_crc_mismatch_rejected_and_counted():
    f = bytearray(encode_frame(CASES[0], seq=1))
    f[3] ^= 0x01 if f[3] != 0x01 else 0x03
    dec = FrameDecoder(synced=True)
    assert dec.feed(bytes(f)) == [] and dec.errors == 1
    assert dec.feed(encode_frame(CASES[1])) == [frame_from_reading(CASES[1])]


def test_decoder_any_chunking():
    frames = [frame_from_reading(r, seq=i) for i, r in enumerate(CASES)]
    stream = b"".join(encode_frame(r, seq=i) for i, r in enumerate(CASES))
    rng = random.Random(5)
    for _ in range(20):
        dec, got, i = FrameDecoder(synced=True), [], 0
        while i < len(stream):
            n = rng.randrange(1, 16)
            got += dec.feed(stream[i:i + n])
            i += n
        assert got == frames and dec.errors == 0


def test_decoder_mid_stream_and_overflow():
    stream = wire.encode_readings(CASES)
    dec = FrameDecoder()  # unsynchronised: starts inside frame 0
    got = dec.feed(stream[3:])
    assert got == [frame_from_reading(r, seq=i) for i, r in enumerate(CASES)][1:]
    dec2 = FrameDecoder(synced=True)
    assert dec2.feed(b"\x01" * 500 + b"\x00" + stream) == [frame_from_reading(r, seq=i) for i, r in enumerate(CASES)]
    assert dec2.overflows == 1


def test_random_garbage_never_raises():
    rng = random.Random(99)
    dec = FrameDecoder()
    for _ in range(200):
        dec.feed(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
    good = encode_frame(CASES[0], seq=3)
    assert dec.feed(b"\x00" + good) == [frame_from_reading(CASES[0], seq=3)]


@pytest.mark.parametrize("r, line", [
    (CASES[0], "A2 -3.1 0.93\n"),
    (CASES[1], "E2 +0.0 1.00\n"),
    (Reading(t=0, note="E2", cents=-0.04, f0_hz=82.4, confidence=1.0, midi=40), "E2 +0.0 1.00\n"),
    (CASES[7], "A4 -1000.0 0.20\n"),
    (Reading.silent(0.0), "- 0.00\n"),
    (Reading.silent(0.0, confidence=float("nan")), "- 0.00\n"),
    (Reading.silent(0.0, confidence=0.456), "- 0.46\n"),
])
def test_text_lines(r, line):
    assert format_text_line(r) == line
    p = parse_text_line(line)
    assert p.note == r.note
    if r.note is not None:
        assert p.cents == pytest.approx(r.cents, abs=0.05 + 1e-9)


def test_text_parse_rejects_junk():
    for bad in ("", "A2", "A2 x 0.9", "- x"):
        with pytest.raises(WireError):
            parse_text_line(bad)


def test_documented_example_bytes():
    """The worked example in WIRE_FORMAT.md."""
    from pathlib import Path

    r = Reading(t=0, note="A2", cents=-3.14, f0_hz=109.8, confidence=0.93, midi=45)
    frame = encode_frame(r, seq=7)
    assert frame.hex(" ") == "0a 01 2d c6 fe ed 08 07 e0 ea 00"
    doc = (Path(__file__).resolve().parents[1] / "firmware_bridge" / "WIRE_FORMAT.md").read_text()
    assert frame.hex(" ") in doc and "0xeae0" in doc
