"""Wire formats for readings leaving the Pi (specification: ``WIRE_FORMAT.md``).

Text lines (people, simple displays)::

    A2 -3.1 0.93\\n      note, cents (one decimal, signed), confidence (two decimals)
    - 0.00\\n            nothing to show, then the confidence

Binary frames (microcontrollers): payload ::

    0 version   uint8   = 1
    1 midi      uint8   MIDI note 0..127, 0xFF = no note
    2 cents     int16   little-endian, cents x 100, clamped to +-32767 (0 when no note)
    4 conf      uint8   round(confidence x 255)
    5 flags     uint8   bit0 in tune, bit1 no signal, bit2 cents clamped, bit3 seq present
    6 seq       uint8   only when flags bit3 is set; increments by one per frame, wraps
    then CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0) over the
    payload, little-endian; the whole (payload + CRC) is COBS-encoded and followed by 0x00.

A receiver that starts mid-stream drops bytes until the next 0x00 and then decodes every
frame whose COBS structure, length, version and CRC are right.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Iterable, Optional

from cleartune.edge.reading import Reading

from .errors import WireError

WIRE_VERSION = 1
NO_NOTE = 0xFF
CENTS_SCALE = 100            # cents are sent as int16 hundredths of a cent
CENTS_LIMIT = 32767          # [cents x 100] clamp (+-327.67 cents)
CONF_SCALE = 255             # confidence 0..1 -> 0..255

FLAG_IN_TUNE = 0x01
FLAG_NO_SIGNAL = 0x02
FLAG_CLAMPED = 0x04
FLAG_HAS_SEQ = 0x08
FLAGS_KNOWN = FLAG_IN_TUNE | FLAG_NO_SIGNAL | FLAG_CLAMPED | FLAG_HAS_SEQ

PAYLOAD_LEN = 6              # without the sequence byte
CRC_LEN = 2
MAX_PAYLOAD = PAYLOAD_LEN + 1
#: Longest COBS-encoded frame body (without the 0x00 delimiter): one overhead byte per 254.
MAX_ENCODED = MAX_PAYLOAD + CRC_LEN + 1
DELIMITER = b"\x00"

DEFAULT_IN_TUNE_CENTS = 2.0  # [cents] the in-tune window half-width


# -- CRC and COBS ------------------------------------------------------------------------
def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        table.append(c & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt_false(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0
    (check value of ``b"123456789"`` is 0x29B1)."""
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result has no zero bytes (delimiter not added)."""
    out = bytearray(b"\x00")
    code_i, code = 0, 1
    for b in data:
        if b == 0:
            out[code_i] = code
            code_i, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_i] = code
                code_i, code = len(out), 1
                out.append(0)
    out[code_i] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`.  Raises :class:`WireError` on a malformed block."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise WireError("zero byte inside a COBS block")
        i += 1
        end = i + code - 1
        if end > n:
            raise WireError("COBS block runs past the end of the frame")
        chunk = data[i:end]
        if 0 in chunk:
            raise WireError("zero byte inside a COBS block")
        out += chunk
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


# -- values ------------------------------------------------------------------------------
def reading_midi(reading: Reading) -> Optional[int]:
    """MIDI number of a reading's note (``reading.midi`` or parsed from ``reading.note``)."""
    if reading.note is None:
        return None
    if reading.midi is not None:
        return int(reading.midi)
    from cleartune.edge.notes import parse_note

    return parse_note(reading.note)


def _finite(x: Optional[float]) -> bool:
    return x is not None and math.isfinite(float(x))


def is_in_tune(reading: Reading, *, in_tune_cents: float = DEFAULT_IN_TUNE_CENTS) -> bool:
    """True when a note is shown and ``|cents| <= in_tune_cents``."""
    return reading.note is not None and _finite(reading.cents) and abs(float(reading.cents)) <= in_tune_cents


def confidence_u8(confidence: float) -> int:
    """0..1 -> 0..255 (clamped; NaN -> 0)."""
    c = float(confidence)
    if not math.isfinite(c):
        return 0
    return int(round(min(1.0, max(0.0, c)) * CONF_SCALE))


# -- text lines --------------------------------------------------------------------------
def format_text_line(reading: Reading) -> str:
    """``"A2 -3.1 0.93\\n"``; ``"- 0.00\\n"`` when nothing is shown.  Cents are signed,
    one decimal (``+0.0`` never ``-0.0``); confidence two decimals, clamped to 0..1."""
    conf = min(1.0, max(0.0, float(reading.confidence))) if math.isfinite(float(reading.confidence)) else 0.0
    if reading.note is None or not _finite(reading.cents):
        return f"- {conf:.2f}\n"
    c = round(float(reading.cents), 1)
    if c == 0:
        c = 0.0
    return f"{reading.note} {c:+.1f} {conf:.2f}\n"


@dataclass(frozen=True)
class TextReading:
    """A parsed text line: note (None for ``-``), cents [cents] or None, confidence 0..1."""

    note: Optional[str]
    cents: Optional[float]
    confidence: float


def parse_text_line(line: str) -> TextReading:
    """Inverse of :func:`format_text_line` (to one decimal).  Raises :class:`WireError`."""
    parts = line.strip().split()
    try:
        if len(parts) == 2 and parts[0] == "-":
            return TextReading(None, None, float(parts[1]))
        if len(parts) == 3:
            return TextReading(parts[0], float(parts[1]), float(parts[2]))
    except ValueError:
        pass
    raise WireError(f"not a reading line: {line.strip()[:40]!r}")


# -- binary frames -----------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """One decoded binary frame.

    midi        MIDI note or None;  cents_x100  int16 [cents x 100] (0 when no note)
    conf_u8     confidence 0..255;   flags      bit field (FLAG_*)
    seq         sequence byte or None;  version  wire version
    """

    midi: Optional[int]
    cents_x100: int
    conf_u8: int
    flags: int
    seq: Optional[int] = None
    version: int = WIRE_VERSION

    @property
    def cents(self) -> Optional[float]:
        """[cents] or None when no note."""
        return None if self.midi is None else self.cents_x100 / CENTS_SCALE

    @property
    def confidence(self) -> float:
        return self.conf_u8 / CONF_SCALE

    @property
    def in_tune(self) -> bool:
        return bool(self.flags & FLAG_IN_TUNE)

    @property
    def no_signal(self) -> bool:
        return bool(self.flags & FLAG_NO_SIGNAL)

    @property
    def clamped(self) -> bool:
        return bool(self.flags & FLAG_CLAMPED)

    @property
    def note(self) -> Optional[str]:
        """Note name with sharps (``"C#4"``) or None."""
        if self.midi is None:
            return None
        from cleartune.edge.notes import midi_to_name

        return midi_to_name(self.midi)


def frame_from_reading(reading: Reading, *, seq: Optional[int] = None,
                       in_tune_cents: float = DEFAULT_IN_TUNE_CENTS) -> Frame:
    """The :class:`Frame` a reading becomes (what :func:`encode_frame` puts on the wire)."""
    midi = reading_midi(reading)
    flags = 0
    cx = 0
    if midi is None or not _finite(reading.cents):
        midi = None
        flags |= FLAG_NO_SIGNAL
    else:
        if not 0 <= midi <= 127:
            raise WireError(f"MIDI note {midi} is outside 0..127")
        cx = int(round(float(reading.cents) * CENTS_SCALE))
        if abs(cx) > CENTS_LIMIT:
            cx = CENTS_LIMIT if cx > 0 else -CENTS_LIMIT
            flags |= FLAG_CLAMPED
        if is_in_tune(reading, in_tune_cents=in_tune_cents):
            flags |= FLAG_IN_TUNE
    if seq is not None:
        if not 0 <= int(seq) <= 255:
            raise WireError(f"sequence byte {seq} is outside 0..255")
        flags |= FLAG_HAS_SEQ
        seq = int(seq)
    return Frame(midi=midi, cents_x100=cx, conf_u8=confidence_u8(reading.confidence), flags=flags, seq=seq)


def frame_payload(frame: Frame) -> bytes:
    """Payload bytes (before CRC and COBS) of a frame."""
    midi = NO_NOTE if frame.midi is None else frame.midi
    p = struct.pack("<BBhBB", frame.version, midi, frame.cents_x100, frame.conf_u8, frame.flags)
    if frame.flags & FLAG_HAS_SEQ:
        p += bytes([frame.seq or 0])
    return p


def encode_payload(payload: bytes) -> bytes:
    """Payload -> COBS(payload + CRC16 little-endian) + 0x00."""
    crc = crc16_ccitt_false(payload)
    return cobs_encode(payload + struct.pack("<H", crc)) + DELIMITER


def encode_frame(reading: Reading, *, seq: Optional[int] = None,
                 in_tune_cents: float = DEFAULT_IN_TUNE_CENTS) -> bytes:
    """One reading as a complete binary frame, delimiter included (at most 11 bytes)."""
    return encode_payload(frame_payload(frame_from_reading(reading, seq=seq, in_tune_cents=in_tune_cents)))


def parse_payload(payload: bytes) -> Frame:
    """Payload (CRC already checked and removed) -> :class:`Frame`.  Raises :class:`WireError`."""
    if len(payload) < PAYLOAD_LEN:
        raise WireError(f"frame payload too short ({len(payload)} bytes)")
    version, midi, cx, conf, flags = struct.unpack_from("<BBhBB", payload)
    if version != WIRE_VERSION:
        raise WireError(f"unsupported wire version {version}")
    want = PAYLOAD_LEN + (1 if flags & FLAG_HAS_SEQ else 0)
    if len(payload) != want:
        raise WireError(f"frame payload has {len(payload)} bytes, expected {want}")
    if flags & ~FLAGS_KNOWN:
        raise WireError(f"unknown flag bits 0x{flags & ~FLAGS_KNOWN:02x}")
    if midi != NO_NOTE and midi > 127:
        raise WireError(f"MIDI note {midi} is outside 0..127")
    seq = payload[PAYLOAD_LEN] if flags & FLAG_HAS_SEQ else None
    return Frame(midi=None if midi == NO_NOTE else midi, cents_x100=cx, conf_u8=conf, flags=flags,
                 seq=seq, version=version)


def decode_frame(body: bytes) -> Frame:
    """One COBS frame body (without the 0x00) -> :class:`Frame`.  Raises :class:`WireError`."""
    if len(body) > MAX_ENCODED:
        raise WireError(f"frame too long ({len(body)} bytes)")
    raw = cobs_decode(body)
    if len(raw) < PAYLOAD_LEN + CRC_LEN:
        raise WireError(f"frame too short ({len(raw)} bytes)")
    payload, crc_bytes = raw[:-CRC_LEN], raw[-CRC_LEN:]
    if struct.unpack("<H", crc_bytes)[0] != crc16_ccitt_false(payload):
        raise WireError("CRC mismatch")
    return parse_payload(payload)


class FrameDecoder:
    """Streaming decoder: :meth:`feed` takes byte chunks of any size and returns the frames
    completed by them.  Bytes before the first delimiter are discarded (the receiver may
    have started mid-frame); bad frames are counted, never raised.

    Counters: ``frames`` (good), ``errors`` (bad COBS, CRC, length, version, flags),
    ``overflows`` (runs longer than any frame, dropped until the next delimiter),
    ``skipped`` (bytes dropped while synchronising)."""

    def __init__(self, *, synced: bool = False) -> None:
        self._buf = bytearray()
        self._synced = bool(synced)
        self._overflow = False
        self.frames = 0
        self.errors = 0
        self.overflows = 0
        self.skipped = 0
        self.last_error: Optional[str] = None

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        for b in bytes(data):
            if b != 0:
                if not self._synced:
                    self.skipped += 1
                elif not self._overflow:
                    if len(self._buf) >= MAX_ENCODED:
                        self._overflow = True
                        self.overflows += 1
                        self._buf.clear()
                    else:
                        self._buf.append(b)
                continue
            # delimiter
            if not self._synced:
                self._synced = True
            elif self._overflow:
                self._overflow = False
            elif self._buf:
                try:
                    out.append(decode_frame(bytes(self._buf)))
                    self.frames += 1
                except WireError as e:
                    self.errors += 1
                    self.last_error = str(e)
            self._buf.clear()
        return out


def decode_stream(data: bytes, *, synced: bool = True) -> list[Frame]:
    """All good frames in ``data`` (convenience for tests and tools)."""
    return FrameDecoder(synced=synced).feed(data)


def encode_readings(readings: Iterable[Reading], *, sequence: bool = True,
                    in_tune_cents: float = DEFAULT_IN_TUNE_CENTS) -> bytes:
    """Frames for several readings, sequence bytes 0, 1, 2, ... when ``sequence``."""
    return b"".join(encode_frame(r, seq=(i & 0xFF) if sequence else None, in_tune_cents=in_tune_cents)
                    for i, r in enumerate(readings))
