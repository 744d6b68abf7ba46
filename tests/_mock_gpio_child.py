"""Run ``cleartune ...`` in this process with a recording gpiozero MockFactory, for tests that
need a real process (signals) and still want to see the GPIO pins.

    python tests/_mock_gpio_child.py STATE.json run --input - --output gpio ...

``--gpio-pin-factory mock`` picks the factory; when the sink closes it, the history of pins
17, 27 and 22 (``[level, ...]``) is written to STATE.json, so a missing file means the
GPIO output was never closed."""
import json
import os
import sys

from gpiozero.pins.mock import MockFactory, MockPWMPin

from cleartune.cli import main
from cleartune.firmware_bridge import gpio_out

PINS = (17, 27, 22)  # flat, in tune, sharp (the defaults)


def recording_factory(name, **kw):
    assert name == "mock", name
    factory = MockFactory(pin_class=MockPWMPin)
    real_close = factory.close

    def close():
        states = {str(n): [float(s.state) for s in factory.pin(n).states] for n in PINS}
        tmp = state_file + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(states, fh)
        os.replace(tmp, state_file)
        real_close()

    factory.close = close
    return factory


if __name__ == "__main__":
    state_file = sys.argv[1]
    gpio_out.make_pin_factory = recording_factory
    sys.exit(main(sys.argv[2:]))
