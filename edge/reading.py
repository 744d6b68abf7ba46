"""The tuner's output record, shared by the edge runtime and every output in firmware_bridge.

JSON-lines contract (kept stable; evaluation reads it)::

    {"file": "a.wav", "t": 0.52, "note": "A2", "cents": -3.124, "f0_hz": 109.80232, "confidence": 0.93}

``file`` only when several inputs are given; ``note``, ``cents`` and ``f0_hz`` are all
``null`` when nothing should be shown.  Digits that carry the tracker's precision:
``cents`` to :data:`CENTS_DECIMALS` (0.001 cent), ``f0_hz`` to :data:`F0_DECIMALS`
(rounding below 0.0003 cent even at B0, 30.87 Hz).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Optional

#: Decimals of ``cents`` in JSON (0.001 cent).
CENTS_DECIMALS = 3
#: Decimals of ``f0_hz`` in JSON: 0.5e-5 Hz is 0.00028 cent at B0 (30.87 Hz), less above.
F0_DECIMALS = 5


@dataclass(frozen=True)
class Reading:
    """One tuner reading.

    t          seconds from the start of the input [s]
    note       scientific pitch notation ("A2"; C4 = middle C) or None
    cents      deviation of ``f0_hz`` from the note (or target) [cents] or None
    f0_hz      estimated fundamental [Hz] or None
    confidence 0..1, how sure the tracker is that a guitar note is present
    midi       MIDI number of ``note`` (A4 = 69) or None
    target_hz  frequency of ``note`` under the current reference pitch [Hz] or None
    out_of_range  True when a clear tone is heard outside the tuner's range (B0..C8,
               :func:`~cleartune.edge.notes.in_range`): ``note`` is then None, and text
               outputs say "out of range" (not part of the JSON contract)
    """

    t: float
    note: Optional[str] = None
    cents: Optional[float] = None
    f0_hz: Optional[float] = None
    confidence: float = 0.0
    midi: Optional[int] = None
    target_hz: Optional[float] = None
    out_of_range: bool = False

    @property
    def has_note(self) -> bool:
        return self.note is not None

    def to_dict(self, *, file: Optional[str] = None) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if file is not None:
            d["file"] = file
        d["t"] = round(float(self.t), 3)
        if self.note is None:
            d.update(note=None, cents=None, f0_hz=None)
        else:
            d.update(note=self.note, cents=round(float(self.cents), CENTS_DECIMALS),
                     f0_hz=round(float(self.f0_hz), F0_DECIMALS))
        c = float(self.confidence)
        d["confidence"] = round(c if math.isfinite(c) else 0.0, 3)
        return d

    def to_json(self, *, file: Optional[str] = None) -> str:
        return json.dumps(self.to_dict(file=file))

    @classmethod
    def silent(cls, t: float, confidence: float = 0.0) -> "Reading":
        return cls(t=t, confidence=confidence)
