"""Exception types of the firmware bridge; all are :class:`CleartuneError` subclasses, so the
CLI prints their (one-line) message without a traceback."""
from __future__ import annotations

from cleartune.edge.errors import CleartuneError


class BridgeError(CleartuneError):
    """Base class for output, wire-format and service errors."""


class ConfigError(BridgeError, ValueError):
    """A bad configuration file or flag: unknown key, wrong type, value out of range."""


class OutputSpecError(ConfigError):
    """An ``--output`` spec that is not one of stdout, text, tui, gpio, serial:PORT."""


class WireError(BridgeError, ValueError):
    """A value that cannot be put on the wire, or a frame that cannot be parsed."""


class SerialOutputError(BridgeError):
    """The serial output cannot be used at all (pyserial missing, bad port spec)."""


class GpioError(BridgeError):
    """GPIO cannot be used: gpiozero missing, unknown pin factory, bad or busy pin."""


class ServiceError(BridgeError):
    """The systemd service cannot be installed or queried (not root, no systemctl, ...)."""
