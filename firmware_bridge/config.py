"""Run configuration: a TOML file merged with command-line flags (flags win).

``cleartune run`` builds its parser with its own input/analysis flags and calls
:func:`add_output_arguments` for the output flags; :func:`resolve_run_config` then turns
the parsed ``args`` into one frozen :class:`RunConfig`::

    defaults  <  TOML file (--config FILE)  <  flags given on the command line

Every TOML key is documented in ``cleartune.example.toml`` next to this module.  Unknown
sections or keys and wrong types raise :class:`ConfigError` with a one-line message that
names the file and the key.

Analysis flags (``--input --a4 --mode --tuning --target --model --threads --no-denoise
--duration --realtime``) belong to the runtime's parser; they are read here with
``getattr`` and count as *given* when they are not ``None`` and differ from the parser's
default (so a parser default never hides a value from the TOML file).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

from cleartune.edge.run_settings import RunSettings

from .errors import ConfigError

#: A GPIO pin as gpiozero takes it: a BCM number (17) or a name ("GPIO17", "BOARD11").
Pin = Union[int, str]

WIRE_FORMATS = ("text", "binary")
BUTTON_ACTIONS = ("mode", "a4")
PIN_FACTORIES = ("lgpio", "rpigpio", "pigpio", "native", "mock")
OUTPUT_KINDS = ("stdout", "text", "tui", "gpio", "serial")

#: Default path of the service's configuration file.
DEFAULT_CONFIG_PATH = "/etc/cleartune/cleartune.toml"
#: Environment variable naming a config file when --config is not given.
CONFIG_ENV = "CLEARTUNE_CONFIG"
#: The parser is stored in the namespace under this name so parser defaults are known.
_PARSER_KEY = "_cleartune_run_parser"


@dataclass(frozen=True)
class RunConfig(RunSettings):
    """Everything ``cleartune run`` needs.  Units in brackets.

    Input / analysis (``input a4 mode tuning target model threads denoise duration
    realtime``) and ``outputs`` (the output specs: ``stdout``, ``text``, ``tui``, ``gpio``,
    ``serial:PORT``): :class:`cleartune.edge.run_settings.RunSettings`, documented there.

    Outputs:
        in_tune_cents  half-width of the in-tune window [cents]
        wire, baud   serial wire format (``text`` | ``binary``) and speed [baud]
        serial_write_timeout  [s] per write; serial_queue  readings kept while the port is slow/away
        serial_sequence       put a sequence byte in binary frames
        serial_reconnect_min / _max  reconnect backoff bounds [s]
        gpio_*       pin factory, LED pins (flat / in tune / sharp), PWM brightness,
                     full-scale deviation for PWM [cents], button pin and action
        a4_choices   reference pitches [Hz] the button cycles through (action ``a4``)
        tui_fps      terminal redraw limit [frames/s]
        config_path  the TOML file that was read, or None
    """

    # outputs (input / analysis fields and `outputs`: RunSettings)
    in_tune_cents: float = 2.0
    # serial
    wire: str = "text"
    baud: int = 115200
    serial_write_timeout: float = 0.2
    serial_queue: int = 32
    serial_sequence: bool = True
    serial_reconnect_min: float = 0.2
    serial_reconnect_max: float = 5.0
    # gpio
    gpio_pin_factory: Optional[str] = None
    gpio_flat: Pin = 17
    gpio_in_tune: Pin = 27
    gpio_sharp: Pin = 22
    gpio_pwm: bool = False
    gpio_full_scale_cents: float = 50.0
    gpio_button: Optional[Pin] = None
    gpio_button_action: str = "mode"
    a4_choices: tuple[float, ...] = (440.0, 442.0, 432.0)
    # terminal
    tui_fps: float = 20.0
    # provenance
    config_path: Optional[str] = None

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with some fields changed (validated again)."""
        return validate(dataclasses.replace(self, **changes))


# -- TOML schema -------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _conv_float(v: Any) -> Optional[float]:
    return float(v) if _is_num(v) else None


def _conv_int(v: Any) -> Optional[int]:
    return int(v) if _is_int(v) else None


def _conv_str(v: Any) -> Optional[str]:
    return v if isinstance(v, str) else None


def _conv_bool(v: Any) -> Optional[bool]:
    return v if isinstance(v, bool) else None


def _conv_pin(v: Any) -> Optional[Pin]:
    if _is_int(v):
        return int(v)
    if isinstance(v, str) and v.strip():
        return parse_pin(v)
    return None


def _conv_outputs(v: Any) -> Optional[tuple[str, ...]]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return tuple(v)
    return None


def _conv_float_list(v: Any) -> Optional[tuple[float, ...]]:
    if isinstance(v, list) and v and all(_is_num(x) for x in v):
        return tuple(float(x) for x in v)
    return None


_TYPE_NAMES = {_conv_float: "a number", _conv_int: "an integer", _conv_str: "a string",
               _conv_bool: "true or false", _conv_pin: "a pin number or name (17, \"GPIO17\")",
               _conv_outputs: "a list of output specs", _conv_float_list: "a list of numbers"}

#: (section, key) -> (RunConfig field, converter).  Keep cleartune.example.toml in step.
SCHEMA: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    ("input", "device"): ("input", _conv_str),
    ("analysis", "a4"): ("a4", _conv_float),
    ("analysis", "mode"): ("mode", _conv_str),
    ("analysis", "tuning"): ("tuning", _conv_str),
    ("analysis", "target"): ("target", _conv_str),
    ("analysis", "model"): ("model", _conv_str),
    ("analysis", "threads"): ("threads", _conv_int),
    ("analysis", "denoise"): ("denoise", _conv_bool),
    ("output", "outputs"): ("outputs", _conv_outputs),
    ("output", "in_tune_cents"): ("in_tune_cents", _conv_float),
    ("serial", "wire"): ("wire", _conv_str),
    ("serial", "baud"): ("baud", _conv_int),
    ("serial", "write_timeout"): ("serial_write_timeout", _conv_float),
    ("serial", "queue"): ("serial_queue", _conv_int),
    ("serial", "sequence"): ("serial_sequence", _conv_bool),
    ("serial", "reconnect_min"): ("serial_reconnect_min", _conv_float),
    ("serial", "reconnect_max"): ("serial_reconnect_max", _conv_float),
    ("gpio", "pin_factory"): ("gpio_pin_factory", _conv_str),
    ("gpio", "flat"): ("gpio_flat", _conv_pin),
    ("gpio", "in_tune"): ("gpio_in_tune", _conv_pin),
    ("gpio", "sharp"): ("gpio_sharp", _conv_pin),
    ("gpio", "pwm"): ("gpio_pwm", _conv_bool),
    ("gpio", "full_scale_cents"): ("gpio_full_scale_cents", _conv_float),
    ("gpio", "button"): ("gpio_button", _conv_pin),
    ("gpio", "button_action"): ("gpio_button_action", _conv_str),
    ("gpio", "a4_choices"): ("a4_choices", _conv_float_list),
    ("tui", "fps"): ("tui_fps", _conv_float),
}
SECTIONS = tuple(dict.fromkeys(s for s, _ in SCHEMA))


def parse_pin(text: str) -> Pin:
    """``"17" -> 17``; ``"GPIO17"``, ``"BOARD11"`` stay names (gpiozero resolves them)."""
    t = str(text).strip()
    if t.isdigit():
        return int(t)
    if not t:
        raise ConfigError("empty GPIO pin")
    return t


def parse_output_spec(spec: str) -> tuple[str, Optional[str]]:
    """``"serial:/dev/ttyUSB0" -> ("serial", "/dev/ttyUSB0")``, ``"gpio" -> ("gpio", None)``.

    ``serial:`` takes any pyserial URL too (``serial:loop://``, ``serial:rfc2217://host:port``).
    ``json`` is accepted as a synonym of ``stdout``.  Raises :class:`OutputSpecError`."""
    from .errors import OutputSpecError

    s = str(spec).strip()
    kind, sep, arg = s.partition(":")
    kind = kind.strip().lower()
    if kind == "json":
        kind = "stdout"
    if kind not in OUTPUT_KINDS:
        raise OutputSpecError(f"unknown output {spec!r}: choose stdout, text, tui, gpio or serial:PORT")
    if kind == "serial":
        if not arg.strip():
            raise OutputSpecError(f"output {spec!r} needs a port, e.g. serial:/dev/ttyUSB0")
        return kind, arg.strip()
    if sep:
        raise OutputSpecError(f"output {kind!r} takes no argument (got {spec!r})")
    return kind, None


def validate(cfg: RunConfig, *, where: str = "") -> RunConfig:
    """Check value ranges; raises :class:`ConfigError` naming ``where`` (a file) if given."""
    pre = f"{where}: " if where else ""

    def bad(msg: str) -> ConfigError:
        return ConfigError(pre + msg)

    if cfg.wire not in WIRE_FORMATS:
        raise bad(f"wire must be one of {', '.join(WIRE_FORMATS)}, not {cfg.wire!r}")
    if cfg.baud <= 0:
        raise bad(f"baud must be positive, not {cfg.baud}")
    if not cfg.in_tune_cents > 0:
        raise bad(f"in_tune_cents must be > 0 cents, not {cfg.in_tune_cents}")
    if not 0 < cfg.serial_write_timeout <= 10:
        raise bad(f"serial write_timeout must be in (0, 10] s, not {cfg.serial_write_timeout}")
    if not 1 <= cfg.serial_queue <= 10000:
        raise bad(f"serial queue must be 1..10000 readings, not {cfg.serial_queue}")
    if not 0 < cfg.serial_reconnect_min <= cfg.serial_reconnect_max:
        raise bad("serial reconnect_min must be > 0 and <= reconnect_max [s]")
    if cfg.gpio_pin_factory is not None and cfg.gpio_pin_factory not in PIN_FACTORIES:
        raise bad(f"gpio pin_factory must be one of {', '.join(PIN_FACTORIES)}, not {cfg.gpio_pin_factory!r}")
    if cfg.gpio_button_action not in BUTTON_ACTIONS:
        raise bad(f"gpio button_action must be one of {', '.join(BUTTON_ACTIONS)}, not {cfg.gpio_button_action!r}")
    if not cfg.gpio_full_scale_cents > 0:
        raise bad(f"gpio full_scale_cents must be > 0, not {cfg.gpio_full_scale_cents}")
    pins = [p for p in (cfg.gpio_flat, cfg.gpio_in_tune, cfg.gpio_sharp, cfg.gpio_button) if p is not None]
    if len(set(pins)) != len(pins):
        raise bad(f"gpio pins must differ, got {pins}")
    if not 0 < cfg.tui_fps <= 60:
        raise bad(f"tui fps must be in (0, 60], not {cfg.tui_fps}")
    if cfg.threads is not None and cfg.threads < 1:
        raise bad(f"threads must be >= 1, not {cfg.threads}")
    if cfg.duration is not None and not cfg.duration > 0:
        raise bad(f"duration must be > 0 s, not {cfg.duration}")
    if not cfg.outputs:
        raise bad("at least one output is needed")
    for spec in cfg.outputs:
        try:
            parse_output_spec(spec)
        except ConfigError as e:
            raise bad(str(e)) from None
    return cfg


# -- TOML loading ------------------------------------------------------------------------
def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError("reading a TOML config needs the 'tomli' package on Python < 3.11") from None
    return tomllib.loads(text)


def load_toml(path: Union[str, Path]) -> dict[str, Any]:
    """Read a config file into ``{RunConfig field: value}`` (only keys present in the file).

    Raises :class:`ConfigError` (one line) for a missing/unreadable file, TOML syntax
    errors, unknown sections or keys, and wrong types."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {p}: cannot read it ({type(e).__name__})") from None
    try:
        data = _toml_loads(text)
    except ConfigError:
        raise
    except Exception as e:  # tomllib.TOMLDecodeError
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"config file {p}: not valid TOML ({msg})") from None
    return config_from_mapping(data, where=str(p))


def config_from_mapping(data: Mapping[str, Any], *, where: str = "config") -> dict[str, Any]:
    """Check a parsed TOML document against :data:`SCHEMA`; returns ``{field: value}``."""
    out: dict[str, Any] = {}
    for section, body in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{where}: unknown section [{section}] (known: {', '.join(SECTIONS)})")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: '{section}' must be a [section] table")
        for key, value in body.items():
            entry = SCHEMA.get((section, key))
            if entry is None:
                known = ", ".join(k for s, k in SCHEMA if s == section)
                raise ConfigError(f"{where}: unknown key '{section}.{key}' (known in [{section}]: {known})")
            fname, conv = entry
            try:
                v = conv(value)
            except ConfigError as e:
                raise ConfigError(f"{where}: '{section}.{key}': {e}") from None
            if v is None:
                raise ConfigError(f"{where}: '{section}.{key}' must be {_TYPE_NAMES[conv]}, "
                                  f"not {type(value).__name__} {value!r}")
            out[fname] = v
    return out


# -- argparse ----------------------------------------------------------------------------
def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the output and config flags to ``cleartune run``'s parser.

    Every flag defaults to ``None`` ("not given") so the TOML file can supply it.  The
    input/analysis flags are *not* added here; the runtime's parser owns them."""
    g = parser.add_argument_group("outputs and configuration")
    g.add_argument("--config", metavar="FILE", default=None,
                   help=f"TOML config file (keys: cleartune.example.toml; ${CONFIG_ENV} if not given); "
                        "flags override it")
    g.add_argument("--output", "-o", metavar="SPEC", action="append", default=None,
                   help="where readings go, repeatable: stdout (JSON lines, default), text, tui, gpio, "
                        "serial:PORT (e.g. serial:/dev/ttyUSB0, serial:loop://)")
    g.add_argument("--wire", choices=WIRE_FORMATS, default=None,
                   help="serial wire format: text lines 'A2 -3.1 0.93' or binary COBS frames (default text)")
    g.add_argument("--baud", type=int, metavar="N", default=None, help="serial speed [baud] (default 115200)")
    g.add_argument("--serial-write-timeout", type=float, metavar="S", default=None,
                   help="serial write timeout [s] (default 0.2)")
    g.add_argument("--in-tune-cents", type=float, metavar="C", default=None,
                   help="half-width of the in-tune window [cents] (default 2)")
    g.add_argument("--gpio-pin-factory", choices=PIN_FACTORIES, default=None,
                   help="gpiozero pin factory (default: $GPIOZERO_PIN_FACTORY or gpiozero's choice; "
                        "lgpio on Raspberry Pi OS Bookworm / Pi 5)")
    g.add_argument("--gpio-flat", type=parse_pin, metavar="PIN", default=None, help="LED for flat (default BCM 17)")
    g.add_argument("--gpio-in-tune", type=parse_pin, metavar="PIN", default=None,
                   help="LED for in tune (default BCM 27)")
    g.add_argument("--gpio-sharp", type=parse_pin, metavar="PIN", default=None, help="LED for sharp (default BCM 22)")
    g.add_argument("--gpio-pwm", action=argparse.BooleanOptionalAction, default=None,
                   help="dim the flat/sharp LEDs with the deviation (PWM)")
    g.add_argument("--gpio-button", type=parse_pin, metavar="PIN", default=None,
                   help="push button (to ground) that cycles the mode or the reference pitch")
    g.add_argument("--gpio-button-action", choices=BUTTON_ACTIONS, default=None,
                   help="what the button cycles (default mode)")
    g.add_argument("--tui-fps", type=float, metavar="FPS", default=None, help="terminal redraw limit (default 20)")
    parser.set_defaults(**{_PARSER_KEY: parser})


#: our flag dest -> RunConfig field
_OUTPUT_FLAGS = {
    "wire": "wire", "baud": "baud", "serial_write_timeout": "serial_write_timeout",
    "in_tune_cents": "in_tune_cents", "gpio_pin_factory": "gpio_pin_factory", "gpio_flat": "gpio_flat",
    "gpio_in_tune": "gpio_in_tune", "gpio_sharp": "gpio_sharp", "gpio_pwm": "gpio_pwm",
    "gpio_button": "gpio_button", "gpio_button_action": "gpio_button_action", "tui_fps": "tui_fps",
}
#: the runtime's flag dest -> RunConfig field
_ANALYSIS_FLAGS = {
    "input": "input", "a4": "a4", "mode": "mode", "tuning": "tuning", "target": "target", "model": "model",
    "threads": "threads", "duration": "duration", "realtime": "realtime",
}


def _given(args: argparse.Namespace, dest: str) -> tuple[bool, Any]:
    """(was the flag given, its value).  ``None``/absent is never given; with a known parser
    a value equal to the parser default is treated as not given."""
    if not hasattr(args, dest):
        return False, None
    v = getattr(args, dest)
    if v is None:
        return False, None
    parser = getattr(args, _PARSER_KEY, None)
    if parser is not None:
        try:
            if v == parser.get_default(dest):
                return False, v
        except Exception:  # pragma: no cover - defensive
            pass
    elif v is False:
        return False, v
    return True, v


def resolve_run_config(args: argparse.Namespace, *, environ: Optional[Mapping[str, str]] = None) -> RunConfig:
    """Merge defaults, the TOML file (``--config`` or ``$CLEARTUNE_CONFIG``) and the flags.

    Raises :class:`ConfigError` for a bad file or bad values."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = getattr(args, "config", None) or env.get(CONFIG_ENV) or None
    if path:
        from_file = load_toml(path)
        try:
            validate(RunConfig(**from_file), where=str(path))
        except TypeError as e:  # pragma: no cover - schema and dataclass out of step
            raise ConfigError(f"{path}: {e}") from None
        values.update(from_file)
        values["config_path"] = str(path)
    for dest, fname in _ANALYSIS_FLAGS.items():
        given, v = _given(args, dest)
        if given:
            values[fname] = v
    # denoise: the runtime may use --no-denoise (store_true) or --denoise/--no-denoise
    if getattr(args, "no_denoise", False) is True:
        values["denoise"] = False
    elif isinstance(getattr(args, "denoise", None), bool):
        given, v = _given(args, "denoise")
        if given:
            values["denoise"] = bool(v)
    for dest, fname in _OUTPUT_FLAGS.items():
        v = getattr(args, dest, None)
        if v is not None:
            values[fname] = v
    outs = getattr(args, "output", None)
    if outs:
        values["outputs"] = tuple(outs)
    for k in ("a4", "in_tune_cents", "serial_write_timeout", "tui_fps", "duration"):
        if k in values and values[k] is not None:
            values[k] = float(values[k])
    try:
        cfg = RunConfig(**values)
    except TypeError as e:  # pragma: no cover - schema and dataclass out of step
        raise ConfigError(f"bad configuration: {e}") from None
    return validate(cfg)


def config_to_toml(cfg: RunConfig) -> str:
    """The config as a TOML document (every key of :data:`SCHEMA`; None values commented)."""
    lines: list[str] = []
    d = dataclasses.asdict(cfg)
    for section in SECTIONS:
        lines.append(f"[{section}]")
        for (s, key), (fname, _) in SCHEMA.items():
            if s != section:
                continue
            v = d[fname]
            if v is None:
                lines.append(f"# {key} =")
            else:
                lines.append(f"{key} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")
