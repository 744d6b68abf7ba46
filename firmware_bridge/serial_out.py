"""Serial output: readings to a serial port (or any pyserial URL) without ever blocking the
audio loop.

:class:`SerialSink.write` encodes the reading (text line or binary frame, ``wire.py``)
and puts the bytes in a bounded queue (the oldest entry is dropped when it is full); a
background thread writes them.  When the port fails (USB adapter unplugged: pyserial
raises ``SerialException``/``OSError``) the thread closes it and reopens it with
exponential backoff (``reconnect_min`` doubling to ``reconnect_max`` seconds) until it is
back; meanwhile only the newest ``queue_size`` readings are kept.  A port that is not there
at start is treated the same way (logged once as a warning), so the service can start
before the adapter is plugged in.

:meth:`SerialSink.close` is idempotent and quick: the thread drains what is queued (if
connected), sends a final "nothing to show" reading so the display clears
(``clear_on_close``), closes the port and is joined with a timeout of about
``close_timeout`` + ``write_timeout`` seconds.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
from typing import Any, Callable, Optional

from cleartune.edge.reading import Reading

from .config import RunConfig
from .errors import SerialOutputError
from .sink import BaseSink
from .wire import DEFAULT_IN_TUNE_CENTS, encode_frame, format_text_line

log = logging.getLogger("cleartune.firmware_bridge.serial")

#: Opens a port: ``factory(port, *, baudrate, write_timeout) -> object with write/close``.
SerialFactory = Callable[..., Any]


def open_serial(port: str, *, baudrate: int, write_timeout: float) -> Any:
    """Open ``port`` (a device path or any pyserial URL such as ``loop://``) with pyserial.

    ``write_timeout`` [s]; reads never block (``timeout=0``)."""
    try:
        import serial
    except ImportError:  # pragma: no cover - pyserial is a dependency of the edge extra
        raise SerialOutputError("the serial output needs pyserial (pip install 'cleartune[edge]')") from None
    return serial.serial_for_url(port, baudrate=baudrate, write_timeout=write_timeout, timeout=0)


def check_port_spec(port: str) -> None:
    """Reject a ``scheme://`` URL pyserial has no handler for (a typo would otherwise be
    retried forever); device paths are not checked: an adapter may be plugged in later."""
    if "://" not in port:
        return
    scheme = port.split("://", 1)[0].lower()
    import importlib

    try:
        importlib.import_module(f"serial.urlhandler.protocol_{scheme}")
    except ImportError:
        raise SerialOutputError(f"serial port {port!r}: pyserial has no '{scheme}://' handler "
                                "(use a device path like /dev/ttyUSB0 or loop://, socket://, rfc2217://)") from None


def _serial_errors() -> tuple[type[BaseException], ...]:
    try:
        import serial

        return (serial.SerialException, OSError)
    except ImportError:  # pragma: no cover
        return (OSError,)


def _timeout_error() -> Optional[type[BaseException]]:
    try:
        import serial

        return serial.SerialTimeoutException
    except ImportError:  # pragma: no cover
        return None


class SerialSink(BaseSink):
    """Readings to a serial port from a background thread.

    port            device path (``/dev/ttyUSB0``, ``/dev/serial0``) or pyserial URL (``loop://``)
    baud            speed [baud];  wire  ``"text"`` or ``"binary"``
    write_timeout   per write [s];  queue_size  readings kept while the port is slow/away
    sequence        binary frames carry a sequence byte (counts every reading written to
                    the queue, so a receiver sees drops as gaps)
    in_tune_cents   in-tune flag window [cents]
    reconnect_min / reconnect_max   backoff bounds [s]
    clear_on_close  send a no-note reading before closing
    close_timeout   how long close() lets the thread drain [s]
    serial_factory  opener, default :func:`open_serial` (tests pass fakes)

    Counters (read any time): ``written``, ``dropped`` (queue overflow), ``timeouts``
    (write timed out; that reading is lost), ``failures`` (port errors), ``connects``.
    """

    def __init__(self, port: str, *, baud: int = 115200, wire: str = "text", write_timeout: float = 0.2,
                 queue_size: int = 32, sequence: bool = True, in_tune_cents: float = DEFAULT_IN_TUNE_CENTS,
                 reconnect_min: float = 0.2, reconnect_max: float = 5.0, clear_on_close: bool = True,
                 close_timeout: float = 1.0, serial_factory: Optional[SerialFactory] = None) -> None:
        super().__init__()
        if wire not in ("text", "binary"):
            raise SerialOutputError(f"unknown wire format {wire!r}: choose text or binary")
        if queue_size < 1:
            raise SerialOutputError("serial queue_size must be >= 1")
        if not port:
            raise SerialOutputError("serial output needs a port, e.g. serial:/dev/ttyUSB0")
        self.port_name = port
        self.baud = int(baud)
        self.wire = wire
        self.write_timeout = float(write_timeout)
        self.sequence = bool(sequence)
        self.in_tune_cents = float(in_tune_cents)
        self.reconnect_min = float(reconnect_min)
        self.reconnect_max = float(max(reconnect_max, reconnect_min))
        self.clear_on_close = bool(clear_on_close)
        self.close_timeout = float(close_timeout)
        self._factory = serial_factory or open_serial
        self._errors = _serial_errors()
        self._timeout_exc = _timeout_error()
        if serial_factory is None:  # fail early and clearly: pyserial missing, unknown URL scheme
            try:
                import serial  # noqa: F401
            except ImportError:  # pragma: no cover
                raise SerialOutputError("the serial output needs pyserial (pip install 'cleartune[edge]')") from None
            check_port_spec(port)

        self._queue: collections.deque[bytes] = collections.deque(maxlen=int(queue_size))
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._busy = False
        self._seq = 0
        self._port: Any = None
        self.connected = threading.Event()
        self.written = 0
        self.dropped = 0
        self.timeouts = 0
        self.failures = 0
        self.connects = 0
        self._warned = False
        self._thread = threading.Thread(target=self._run, name=f"cleartune-serial[{port}]", daemon=True)
        self._thread.start()

    @classmethod
    def from_config(cls, port: str, config: RunConfig, *,
                    serial_factory: Optional[SerialFactory] = None) -> "SerialSink":
        return cls(port, baud=config.baud, wire=config.wire, write_timeout=config.serial_write_timeout,
                   queue_size=config.serial_queue, sequence=config.serial_sequence,
                   in_tune_cents=config.in_tune_cents, reconnect_min=config.serial_reconnect_min,
                   reconnect_max=config.serial_reconnect_max, serial_factory=serial_factory)

    # -- caller side (the audio loop) -------------------------------------------------------
    def encode(self, reading: Reading) -> bytes:
        """The bytes one reading becomes on this sink's wire (advances the sequence)."""
        if self.wire == "text":
            return format_text_line(reading).encode("ascii", "replace")
        seq = self._seq if self.sequence else None
        self._seq = (self._seq + 1) & 0xFF
        return encode_frame(reading, seq=seq, in_tune_cents=self.in_tune_cents)

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:
        """Queue one reading; never blocks on the port (drops the oldest when full)."""
        if self._closed:
            return
        data = self.encode(reading)
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(data)
            self._cond.notify()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "timeouts": self.timeouts,
                "failures": self.failures, "connects": self.connects, "queued": self.queued}

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the queue is empty and no write is in progress (True) or ``timeout``
        [s] passes (False).  For tests and orderly shutdown; the audio loop never calls it."""
        with self._cond:
            return self._cond.wait_for(lambda: (not self._queue and not self._busy) or not self._thread.is_alive(),
                                       timeout)

    # -- writer thread ----------------------------------------------------------------------
    def _open(self) -> bool:
        try:
            self._port = self._factory(self.port_name, baudrate=self.baud, write_timeout=self.write_timeout)
        except SerialOutputError:
            raise
        except Exception as e:  # SerialException, OSError, ValueError from a bad URL
            self._port = None
            if not self._warned:
                log.warning("serial %s not available (%s); retrying in the background", self.port_name,
                            str(e).splitlines()[0] if str(e) else type(e).__name__)
                self._warned = True
            else:
                log.debug("serial %s still not available: %s", self.port_name, e)
            return False
        self.connects += 1
        self._warned = False
        if self.connects == 1:
            log.info("serial %s open (%d baud, %s)", self.port_name, self.baud, self.wire)
        else:
            log.warning("serial %s reconnected", self.port_name)
        self.connected.set()
        return True

    def _drop_port(self) -> None:
        port, self._port = self._port, None
        self.connected.clear()
        if port is not None:
            try:
                port.close()
            except Exception:
                pass

    def _write_bytes(self, data: bytes) -> None:
        port = self._port
        if port is None:
            return
        try:
            port.write(data)
            self.written += 1
        except Exception as e:
            if self._timeout_exc is not None and isinstance(e, self._timeout_exc):
                self.timeouts += 1
                log.debug("serial %s write timed out; reading dropped", self.port_name)
                return
            if isinstance(e, queue.Full):  # pyserial's loop:// with a full buffer: like a timeout
                self.timeouts += 1
                log.debug("serial %s buffer full; reading dropped", self.port_name)
                return
            # SerialException/OSError (unplugged), or anything unexpected from a driver:
            # count it, close the port and let the loop reconnect; the writer never dies.
            self.failures += 1
            log.warning("serial %s failed (%s); reconnecting", self.port_name,
                        str(e).splitlines()[0] if str(e) else type(e).__name__)
            self._drop_port()

    def _run(self) -> None:
        backoff = self.reconnect_min
        try:
            while not self._stop.is_set():
                if self._port is None:
                    if not self._open():
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2.0, self.reconnect_max)
                        continue
                    backoff = self.reconnect_min
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._stop.is_set())
                    if not self._queue:
                        continue
                    data = self._queue.popleft()
                    self._busy = True
                try:
                    self._write_bytes(data)
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
            self._shutdown()
        except Exception as e:  # never let the thread die silently
            log.error("serial %s writer stopped: %s: %s", self.port_name, type(e).__name__, e)
            self._drop_port()
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _shutdown(self) -> None:
        """In the thread after stop: drain (only if connected), clear the display, close."""
        if self._port is not None:
            while self._port is not None:
                with self._cond:
                    if not self._queue:
                        break
                    data = self._queue.popleft()
                self._write_bytes(data)
            if self._port is not None and self.clear_on_close:
                self._write_bytes(self.encode(Reading.silent(0.0)))
            if self._port is not None:
                try:
                    flush = getattr(self._port, "flush", None)
                    if flush is not None:
                        flush()
                except Exception:
                    pass
        self._drop_port()

    def _close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(self.close_timeout + self.write_timeout)
        if self._thread.is_alive():  # stuck in a write: close the port under it
            log.warning("serial %s did not drain in time; closing it", self.port_name)
            self._drop_port()
            self._thread.join(self.write_timeout)
