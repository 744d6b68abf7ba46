"""What every output is: the :class:`Sink` protocol the runtime writes readings to, and
:class:`BaseSink` (context manager, idempotent ``close``) that the outputs build on.

Its own module so that :mod:`.outputs` (which picks an output) and the outputs it imports
lazily (:mod:`.serial_out`, :mod:`.gpio_out`, :mod:`.tui`) do not import each other.
"""
from __future__ import annotations

import threading
from typing import Any, Optional, Protocol, runtime_checkable

from cleartune.edge.reading import Reading


@runtime_checkable
class Sink(Protocol):
    """What the runtime writes readings to."""

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None: ...

    def close(self) -> None: ...


class BaseSink:
    """Context manager and idempotent :meth:`close` (subclasses implement ``_close``)."""

    def __init__(self) -> None:
        self._closed = False
        self._close_lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        """Flush and release; safe to call more than once and from a signal handler's thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._close()

    def _close(self) -> None:
        pass

    def __enter__(self) -> "BaseSink":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
