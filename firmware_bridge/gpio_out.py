"""GPIO output: three LEDs (flat / in tune / sharp) and an optional push button, with gpiozero.

Wiring (BCM numbers, defaults): flat 17, in tune 27, sharp 22; each LED from the pin
through ~330 ohm to ground.  Button (optional) between its pin and ground; the internal
pull-up is used.

* a reading with a note lights exactly one LED: flat when ``cents < -in_tune_cents``,
  sharp when ``cents > in_tune_cents``, in tune otherwise; no note: all off.
* ``pwm=True`` dims the flat/sharp LED with the deviation: brightness
  ``clamp(|cents| / full_scale_cents, min_brightness, 1)``.
* each button press calls ``on_button()`` (in gpiozero's callback thread); use
  :func:`make_button_handler` to cycle the mode or the reference pitch.

The pin factory is explicit: ``pin_factory="lgpio"`` (Raspberry Pi OS Bookworm, Pi 5),
``"rpigpio"``, ``"pigpio"``, ``"native"``, ``"mock"`` (no hardware; PWM-capable mock pins),
a gpiozero ``Factory`` object, or ``None``: ``$GPIOZERO_PIN_FACTORY`` if set, otherwise
gpiozero's own choice.  :meth:`GpioSink.close` turns the LEDs off and releases every pin
(and closes the factory if this sink created it); it is idempotent.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable, Optional, Sequence

from cleartune.edge.reading import Reading

from .config import Pin, RunConfig
from .errors import GpioError
from .sink import BaseSink
from .wire import DEFAULT_IN_TUNE_CENTS

log = logging.getLogger("cleartune.firmware_bridge.gpio")

_FACTORIES = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "pigpio": ("gpiozero.pins.pigpio", "PiGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
    "mock": ("gpiozero.pins.mock", "MockFactory"),
}
PIN_FACTORY_ENV = "GPIOZERO_PIN_FACTORY"
BUTTON_BOUNCE_S = 0.05          # [s] debounce of the push button
MIN_BRIGHTNESS = 0.05           # [0..1] dimmest visible PWM level


def make_pin_factory(name: Optional[str], *, environ: Optional[dict] = None) -> Any:
    """A gpiozero pin factory by name, or ``None`` (let gpiozero choose) when ``name`` is None
    and ``$GPIOZERO_PIN_FACTORY`` is unset.  ``"mock"`` gives a MockFactory with PWM-capable
    pins.  Raises :class:`GpioError` when the library for that factory is missing."""
    env = os.environ if environ is None else environ
    key = name if name is not None else env.get(PIN_FACTORY_ENV)
    if key is None or key == "":
        return None
    key = str(key).strip().lower()
    if key not in _FACTORIES:
        raise GpioError(f"unknown GPIO pin factory {key!r}: choose one of {', '.join(_FACTORIES)}")
    mod_name, cls_name = _FACTORIES[key]
    try:
        import importlib

        cls = getattr(importlib.import_module(mod_name), cls_name)
        if key == "mock":
            from gpiozero.pins.mock import MockPWMPin

            return cls(pin_class=MockPWMPin)
        return cls()
    except ImportError as e:
        raise GpioError(f"GPIO pin factory {key!r} is not available ({e}); on Raspberry Pi OS install "
                        "python3-lgpio, elsewhere use --gpio-pin-factory mock") from None
    except Exception as e:
        raise GpioError(f"GPIO pin factory {key!r} failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                        ) from None


def led_levels(reading: Reading, *, in_tune_cents: float = DEFAULT_IN_TUNE_CENTS, pwm: bool = False,
               full_scale_cents: float = 50.0, min_brightness: float = MIN_BRIGHTNESS) -> tuple[float, float, float]:
    """(flat, in tune, sharp) LED levels 0..1 for a reading (pure; what the pins are set to)."""
    if reading.note is None or reading.cents is None:
        return (0.0, 0.0, 0.0)
    c = float(reading.cents)
    if c != c:  # NaN
        return (0.0, 0.0, 0.0)
    if abs(c) <= in_tune_cents:
        return (0.0, 1.0, 0.0)
    level = 1.0
    if pwm:
        level = min(1.0, max(min_brightness, abs(c) / full_scale_cents))
    return (level, 0.0, 0.0) if c < 0 else (0.0, 0.0, level)


class GpioSink(BaseSink):
    """Readings to three LEDs; optional PWM and button (see the module doc).

    flat, in_tune, sharp   LED pins (BCM number or name)
    in_tune_cents          in-tune half-window [cents]
    pwm                    dim flat/sharp with the deviation; full_scale_cents [cents] = full brightness
    button                 button pin or None; on_button  called on each press
    pin_factory            name, gpiozero Factory, or None (see :func:`make_pin_factory`)
    """

    def __init__(self, *, flat: Pin = 17, in_tune: Pin = 27, sharp: Pin = 22,
                 in_tune_cents: float = DEFAULT_IN_TUNE_CENTS, pwm: bool = False, full_scale_cents: float = 50.0,
                 button: Optional[Pin] = None, on_button: Optional[Callable[[], None]] = None,
                 pin_factory: Any = None) -> None:
        super().__init__()
        try:
            import gpiozero
        except ImportError:  # pragma: no cover - gpiozero is a dependency of the edge extra
            raise GpioError("the GPIO output needs gpiozero (pip install 'cleartune[edge]')") from None
        self.in_tune_cents = float(in_tune_cents)
        self.pwm = bool(pwm)
        self.full_scale_cents = float(full_scale_cents)
        self.on_button = on_button
        self.presses = 0
        self._lock = threading.Lock()
        self._last: Optional[tuple[float, float, float]] = None
        if isinstance(pin_factory, str) or pin_factory is None:
            self._factory = make_pin_factory(pin_factory)
            self._own_factory = self._factory is not None
        else:
            self._factory, self._own_factory = pin_factory, False
        self._devices: list[Any] = []
        self.button = None
        try:
            cls = gpiozero.PWMLED if self.pwm else gpiozero.LED
            self.leds = tuple(self._add(cls(p, pin_factory=self._factory)) for p in (flat, in_tune, sharp))
            if button is not None:
                self.button = self._add(gpiozero.Button(button, pull_up=True, bounce_time=BUTTON_BOUNCE_S,
                                                        pin_factory=self._factory))
                self.button.when_pressed = self._pressed
        except GpioError:
            self._release()
            raise
        except Exception as e:  # BadPinFactory, PinInvalidPin, GPIOPinInUse, PinPWMUnsupported, ...
            self._release()
            msg = str(e).splitlines()[0] if str(e) else ""
            hint = " (no GPIO here? use --gpio-pin-factory mock)" if "factory" in type(e).__name__.lower() else ""
            raise GpioError(f"GPIO setup failed: {type(e).__name__}: {msg}{hint}") from None
        log.info("gpio LEDs flat=%s in_tune=%s sharp=%s%s%s", flat, in_tune, sharp, " (pwm)" if self.pwm else "",
                 f", button={button}" if button is not None else "")

    @classmethod
    def from_config(cls, config: RunConfig, *, pin_factory: Any = None,
                    on_button: Optional[Callable[[], None]] = None) -> "GpioSink":
        return cls(flat=config.gpio_flat, in_tune=config.gpio_in_tune, sharp=config.gpio_sharp,
                   in_tune_cents=config.in_tune_cents, pwm=config.gpio_pwm,
                   full_scale_cents=config.gpio_full_scale_cents, button=config.gpio_button, on_button=on_button,
                   pin_factory=pin_factory if pin_factory is not None else config.gpio_pin_factory)

    def _add(self, dev: Any) -> Any:
        self._devices.append(dev)
        return dev

    def _pressed(self) -> None:
        self.presses += 1
        cb = self.on_button
        if cb is None:
            return
        try:
            cb()
        except Exception as e:  # a failing handler must not kill gpiozero's thread
            log.warning("button handler failed: %s: %s", type(e).__name__, e)

    def levels(self, reading: Reading) -> tuple[float, float, float]:
        return led_levels(reading, in_tune_cents=self.in_tune_cents, pwm=self.pwm,
                          full_scale_cents=self.full_scale_cents)

    def write(self, reading: Reading, *, file: Optional[str] = None) -> None:
        if self._closed:
            return
        lv = self.levels(reading)
        with self._lock:
            if lv == self._last or self._closed:
                return
            for led, v in zip(self.leds, lv):
                if self.pwm:
                    led.value = v
                elif v > 0:
                    led.on()
                else:
                    led.off()
            self._last = lv

    def _release(self) -> None:
        for dev in reversed(self._devices):
            try:
                if hasattr(dev, "off"):
                    dev.off()
            except Exception:
                pass
            try:
                dev.close()
            except Exception as e:
                log.debug("closing %r failed: %s", dev, e)
        self._devices.clear()
        if self._own_factory and self._factory is not None:
            try:
                self._factory.close()
            except Exception:
                pass

    def _close(self) -> None:
        with self._lock:
            self._release()


def make_button_handler(config: RunConfig, apply: Callable[[str, Any], None]) -> Callable[[], None]:
    """A button callback that cycles ``config.gpio_button_action``:

    * ``"mode"``: chromatic -> guitar -> note (only if ``config.target`` is set) -> ...
    * ``"a4"``: through ``config.a4_choices`` [Hz]

    starting after the configured value; each press calls ``apply("mode", value)`` or
    ``apply("a4", value)``.  ``apply`` runs in gpiozero's thread and must be thread-safe
    (e.g. set a field the audio loop reads before the next block)."""
    if config.gpio_button_action == "a4":
        values: Sequence[Any] = list(config.a4_choices)
        current: Any = float(config.a4)
        key = "a4"
    else:
        values = ["chromatic", "guitar"] + (["note"] if config.target else [])
        current = config.mode
        key = "mode"
    state = {"i": values.index(current) if current in values else -1}
    lock = threading.Lock()

    def press() -> None:
        with lock:
            state["i"] = (state["i"] + 1) % len(values)
            v = values[state["i"]]
        log.info("button: %s -> %s", key, v)
        apply(key, v)

    return press
