"""Output sinks: where readings go.

A sink has ``write(reading, *, file=None)`` and ``close()`` (quick, idempotent) and is a
context manager.  :func:`make_output` builds one from a spec:

=================  ==========================================================
``stdout``         JSON lines (``Reading.to_json``), flushed per line
``text``           text lines ``A2 -3.1 0.93`` on stdout (the serial text format)
``tui``            a needle and strobe view redrawn in place (plain lines if not a TTY)
``gpio``           three LEDs flat / in tune / sharp, optional PWM and button
``serial:PORT``    a serial port or pyserial URL, ``--wire text|binary``; writes from
                   a background thread, reconnects, never blocks the caller
=================  ==========================================================

Serial, GPIO and terminal modules are imported only when such an output is made.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Iterable, Optional, TextIO

from cleartune.edge.reading import Reading

from .config import RunConfig, parse_output_spec
from .errors import BridgeError
from .sink import BaseSink, Sink
from .wire import format_text_line

log = logging.getLogger("cleartune.firmware_bridge")


class _StreamSink(BaseSink):
    """Lines to a text stream (``sys.stdout`` looked up at write time by default)."""

    def __init__(self, *, stream: Optional[TextIO] = None) -> None:
        super().__init__()
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def _line(self, reading: Reading, file: Optional[str]) -> str:  # pragma: no cover
        raise NotImplementedError

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:
        if self._closed:
            return
        s = self.stream
        s.write(self._line(reading, file))
        s.flush()

    def _close(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):  # closed or broken pipe at shutdown
            pass


class StdoutSink(_StreamSink):
    """JSON lines, the contract of ``edge/reading.py`` (``file`` key when given)."""

    def _line(self, reading: Reading, file: Optional[str]) -> str:
        return reading.to_json(file=file) + "\n"


class TextSink(_StreamSink):
    """Text lines ``A2 -3.1 0.93`` / ``- 0.00`` (prefixed ``file: `` when a file is given)."""

    def _line(self, reading: Reading, file: Optional[str]) -> str:
        line = format_text_line(reading)
        return f"{file}: {line}" if file is not None else line


class MultiSink(BaseSink):
    """Several sinks as one; :meth:`close` closes them all even if one fails."""

    def __init__(self, sinks: Iterable[Sink]) -> None:
        super().__init__()
        self.sinks = list(sinks)

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:
        if self._closed:
            return
        for s in self.sinks:
            s.write(reading, file=file)

    def _close(self) -> None:
        first: Optional[BaseException] = None
        for s in reversed(self.sinks):
            try:
                s.close()
            except Exception as e:  # keep closing the others
                log.warning("closing %s failed: %s", type(s).__name__, e)
                first = first or e
        if first is not None:
            raise first


def make_output(spec: str, config: Optional[RunConfig] = None, *, stream: Optional[TextIO] = None,
                on_button: Optional[Callable[[], None]] = None, serial_factory: Optional[Callable[..., Any]] = None,
                pin_factory: Any = None) -> BaseSink:
    """Build one sink from ``spec`` (see the module doc).

    ``config`` supplies wire format, baud, pins, in-tune window, ...  (defaults if None).
    ``stream`` replaces stdout for ``stdout``/``text``/``tui``; ``on_button`` is called
    (from gpiozero's thread) when the GPIO button is pressed; ``serial_factory`` and
    ``pin_factory`` are for tests (a pyserial-like opener, a gpiozero pin factory).
    Raises :class:`~cleartune.firmware_bridge.errors.OutputSpecError` for a bad spec."""
    cfg = config if config is not None else RunConfig()
    kind, arg = parse_output_spec(spec)
    if kind == "stdout":
        return StdoutSink(stream=stream)
    if kind == "text":
        return TextSink(stream=stream)
    if kind == "tui":
        from .tui import TuiSink

        return TuiSink(stream=stream, in_tune_cents=cfg.in_tune_cents, fps=cfg.tui_fps)
    if kind == "gpio":
        from .gpio_out import GpioSink

        return GpioSink.from_config(cfg, pin_factory=pin_factory, on_button=on_button)
    if kind == "serial":
        from .serial_out import SerialSink

        assert arg is not None
        return SerialSink.from_config(arg, cfg, serial_factory=serial_factory)
    raise BridgeError(f"output {kind!r} is not implemented")  # pragma: no cover


def make_outputs(config: RunConfig, *, specs: Optional[Iterable[str]] = None, **kwargs: Any) -> BaseSink:
    """All outputs of ``config.outputs`` (or ``specs``) as one sink; a single output is
    returned as is.  If one output fails to open, those already opened are closed."""
    specs = list(config.outputs if specs is None else specs)
    sinks: list[BaseSink] = []
    try:
        for spec in specs:
            sinks.append(make_output(spec, config, **kwargs))
    except BaseException:
        for s in reversed(sinks):
            try:
                s.close()
            except Exception:
                pass
        raise
    return sinks[0] if len(sinks) == 1 else MultiSink(sinks)
