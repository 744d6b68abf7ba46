"""GPIO output on gpiozero's MockFactory: LED states for given readings, PWM levels, button,
pins released on close, pin factory selection."""
from __future__ import annotations

import time

import gpiozero  # the edge extra's: missing, it fails the test
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from cleartune.edge.reading import Reading
from cleartune.firmware_bridge.config import RunConfig
from cleartune.firmware_bridge.errors import GpioError
from cleartune.firmware_bridge.gpio_out import (
    GpioSink,
    led_levels,
    make_button_handler,
    make_pin_factory,
)
from cleartune.firmware_bridge.outputs import make_output

FLAT, IN_TUNE, SHARP, BUTTON = 17, 27, 22, 26


def R(cents, note="E2"):
    return Reading(t=0.0, note=note, cents=cents, f0_hz=82.4, confidence=0.9, midi=40)


def wait_until(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not pred():
        time.sleep(0.002)
    return pred()


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


def states(f):
    return tuple(float(f.pin(p).state) for p in (FLAT, IN_TUNE, SHARP))


@pytest.mark.parametrize("reading, expected", [
    (R(-10.0), (1.0, 0.0, 0.0)),
    (R(-2.5), (1.0, 0.0, 0.0)),
    (R(-2.0), (0.0, 1.0, 0.0)),
    (R(0.0), (0.0, 1.0, 0.0)),
    (R(1.99), (0.0, 1.0, 0.0)),
    (R(2.01), (0.0, 0.0, 1.0)),
    (R(45.0), (0.0, 0.0, 1.0)),
    (Reading.silent(0.0, confidence=0.5), (0.0, 0.0, 0.0)),
])
def test_led_states(factory, reading, expected):
    sink = GpioSink(pin_factory=factory)
    sink.write(R(30.0))  # some previous state
    sink.write(reading)
    assert states(factory) == expected
    sink.close()


def test_in_tune_window_configurable_via_make_output(factory):
    cfg = RunConfig(in_tune_cents=5.0, outputs=("gpio",))
    sink = make_output("gpio", cfg, pin_factory=factory)
    sink.write(R(-4.0))
    assert states(factory) == (0.0, 1.0, 0.0)
    sink.write(R(-6.0))
    assert states(factory) == (1.0, 0.0, 0.0)
    sink.close()


def test_pwm_brightness_follows_deviation(factory):
    sink = GpioSink(pin_factory=factory, pwm=True, full_scale_cents=40.0)
    sink.write(R(-10.0))
    assert states(factory) == pytest.approx((0.25, 0.0, 0.0), abs=1e-9)
    sink.write(R(20.0))
    assert states(factory) == pytest.approx((0.0, 0.0, 0.5), abs=1e-9)
    sink.write(R(400.0))
    assert states(factory) == pytest.approx((0.0, 0.0, 1.0), abs=1e-9)
    sink.write(R(1.0))
    assert states(factory) == pytest.approx((0.0, 1.0, 0.0), abs=1e-9)
    sink.write(R(-2.2))  # just outside: dimmest visible level, not dark
    assert states(factory)[0] == pytest.approx(0.055, abs=1e-9)
    sink.close()


def test_led_levels_pure():
    assert led_levels(R(float("nan"))) == (0.0, 0.0, 0.0)
    assert led_levels(R(-3.0), pwm=True, full_scale_cents=50.0, min_brightness=0.1) == pytest.approx((0.1, 0, 0))


def test_custom_pins_and_names(factory):
    sink = GpioSink(flat=5, in_tune="GPIO6", sharp="BCM13", pin_factory=factory)
    sink.write(R(9.0))
    assert float(factory.pin(13).state) == 1.0 and float(factory.pin(5).state) == 0.0
    sink.close()


def test_pins_released_on_close(factory):
    sink = GpioSink(pin_factory=factory, button=BUTTON)
    sink.write(R(-10.0))
    sink.close()
    sink.close()  # idempotent
    sink.write(R(10.0))  # ignored after close
    assert states(factory) == (0.0, 0.0, 0.0)
    assert all(led.closed for led in sink.leds) and sink.button.closed
    again = [gpiozero.LED(p, pin_factory=factory) for p in (FLAT, IN_TUNE, SHARP, BUTTON)]  # free again
    for d in again:
        d.close()


def test_pin_in_use_is_a_one_line_gpio_error(factory):
    busy = gpiozero.LED(FLAT, pin_factory=factory)
    with pytest.raises(GpioError) as ei:
        GpioSink(pin_factory=factory)
    assert "\n" not in str(ei.value)
    busy.close()
    # the LEDs that were created before the failure were released
    GpioSink(pin_factory=factory).close()


def test_button_cycles_mode_and_a4(factory):
    applied = []
    cfg = RunConfig(gpio_button=BUTTON, target="A4", mode="chromatic")
    sink = make_output("gpio", cfg, pin_factory=factory,
                       on_button=make_button_handler(cfg, lambda k, v: applied.append((k, v))))
    pin = factory.pin(BUTTON)
    for _ in range(4):
        pin.drive_low()
        time.sleep(0.06)  # longer than the 50 ms debounce
        pin.drive_high()
        time.sleep(0.06)
    assert wait_until(lambda: len(applied) == 4)
    assert applied == [("mode", "guitar"), ("mode", "note"), ("mode", "chromatic"), ("mode", "guitar")]
    assert sink.presses == 4
    sink.close()

    got = []
    press = make_button_handler(RunConfig(gpio_button_action="a4", a4=442.0, a4_choices=(440.0, 442.0, 432.0)),
                                lambda k, v: got.append((k, v)))
    for _ in range(3):
        press()
    assert got == [("a4", 432.0), ("a4", 440.0), ("a4", 442.0)]


def test_failing_button_handler_is_contained(factory):
    def boom():
        raise RuntimeError("nope")

    sink = GpioSink(pin_factory=factory, button=BUTTON, on_button=boom)
    sink._pressed()
    assert sink.presses == 1
    sink.close()


def test_pin_factory_selection(monkeypatch):
    assert make_pin_factory(None, environ={}) is None
    f = make_pin_factory(None, environ={"GPIOZERO_PIN_FACTORY": "mock"})
    assert isinstance(f, MockFactory)
    f.close()
    f = make_pin_factory("mock")
    assert isinstance(f, MockFactory) and f.pin_class is MockPWMPin
    f.close()
    with pytest.raises(GpioError, match="unknown GPIO pin factory"):
        make_pin_factory("banana")


def test_named_mock_factory_owned_and_closed():
    sink = GpioSink(pin_factory="mock", pwm=True)
    sink.write(R(-25.0))
    assert sink.leds[0].value == pytest.approx(0.5)
    sink.close()
    assert sink.leds[0].closed
