"""What the live loop (``cleartune run``) needs from its configuration, as one frozen dataclass.

:class:`RunSettings` holds the input and analysis settings and the output specs.  The
runtime reads only these fields; ``cleartune.firmware_bridge.config.RunConfig`` extends it
with the outputs' own settings (serial, GPIO, terminal) and the TOML file, and is what
``cleartune run`` uses when firmware_bridge is installed (it ships in the same wheel; the
edge side does not need it to run with ``--output stdout``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class RunSettings:
    """Input / analysis settings of the live loop.  Units in brackets.

    input      ``mic``, ``mic:DEVICE``, a WAV path or ``-`` (stdin PCM)
    a4         reference pitch [Hz]
    mode       ``chromatic`` | ``guitar`` | ``note``
    tuning     tuning name or note list (mode ``guitar``)
    target     target note for mode ``note`` (e.g. ``"A4"``) or None
    model      path of a ``.tflite`` denoiser or None for the shipped one
    threads    interpreter threads or None for the runtime's default
    denoise    run the denoiser (False: tracker on the raw signal)
    duration   stop after this much audio [s] or None
    realtime   pace file input at real time
    outputs    output specs (``stdout`` without firmware_bridge; with it also ``text``,
               ``tui``, ``gpio``, ``serial:PORT``)
    """

    input: str = "mic"
    a4: float = 440.0
    mode: str = "chromatic"
    tuning: str = "standard"
    target: Optional[str] = None
    model: Optional[str] = None
    threads: Optional[int] = None
    denoise: bool = True
    duration: Optional[float] = None
    realtime: bool = False
    outputs: tuple[str, ...] = ("stdout",)
