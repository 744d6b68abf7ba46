"""Run configuration of ``cleartune run``: defaults < a TOML file (``--config FILE``) < flags.

Every setting is declared once, as a field of :class:`RunConfig` made with :func:`setting`:
its type and default (the dataclass field), its TOML key, its flag and ``--help`` line (the
help names the default), the check of its value, and the :class:`Kind` that reads it from
TOML and from the command line.  :data:`SCHEMA` (the TOML keys), the flags
(:func:`add_setting_flags`, :func:`add_output_arguments`), :func:`validate`,
:func:`resolve_run_config` and :func:`config_to_toml` are derived from these fields.

Every TOML key is documented in ``cleartune.example.toml`` next to this module.  Unknown
sections or keys, wrong types and values out of range raise :class:`ConfigError` with a
one-line message that names the file and the key.

The tuning flags (``--a4 --mode --tuning --target --model --threads --no-denoise``) are
shared with ``cleartune analyze`` and added by
:func:`cleartune.edge.cli_analyze.add_tuner_arguments`; their settings here name the flag
only to read it.  A flag counts as *given* when it is not ``None`` and differs from the
parser's default (so a parser default never hides a value from the TOML file).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

from cleartune.edge.notes import A4_DEFAULT

from .errors import ConfigError, OutputSpecError

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


# -- kinds of values ---------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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


@dataclass(frozen=True)
class Kind:
    """How one type of setting is read and shown.

    name       what a TOML value must be, for messages ("a number")
    from_toml  TOML value -> setting value, or None when the value has the wrong type
    from_flag  argparse ``type`` of its flag (None: the string as given)
    from_args  parsed flag value -> setting value
    show       the default as ``--help`` names it
    """

    name: str
    from_toml: Callable[[Any], Any]
    from_flag: Optional[Callable[[str], Any]] = None
    from_args: Callable[[Any], Any] = lambda v: v
    show: Callable[[Any], str] = str


def _pin_from_toml(v: Any) -> Optional[Pin]:
    if _is_int(v):
        return int(v)
    if isinstance(v, str) and v.strip():
        return parse_pin(v)
    return None


NUMBER = Kind("a number", lambda v: float(v) if _is_num(v) else None, float, float, lambda v: f"{v:g}")
INTEGER = Kind("an integer", lambda v: int(v) if _is_int(v) else None, int)
TEXT = Kind("a string", lambda v: v if isinstance(v, str) else None)
SWITCH = Kind("true or false", lambda v: v if isinstance(v, bool) else None)
PIN = Kind('a pin number or name (17, "GPIO17")', _pin_from_toml, parse_pin,
           show=lambda v: f"BCM {v}" if _is_int(v) else str(v))
OUTPUT_SPECS = Kind("a list of output specs",
                    lambda v: (v,) if isinstance(v, str) else
                    tuple(v) if isinstance(v, list) and v and all(isinstance(x, str) for x in v) else None,
                    from_args=tuple)
NUMBERS = Kind("a list of numbers",
               lambda v: tuple(float(x) for x in v) if isinstance(v, list) and v and all(_is_num(x) for x in v)
               else None)


# -- checks: value -> what is wrong with it, or None -------------------------------------
Check = Callable[[Any], Optional[str]]


def _above(low: float, unit: str = "") -> Check:
    return lambda v: None if v > low else f"must be > {low:g}{unit}, not {v!r}"


def _within(low: float, high: float, unit: str = "", *, low_open: bool = True) -> Check:
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}]{unit}"
    return lambda v: None if (low < v if low_open else low <= v) and v <= high else f"must be in {shown}, not {v!r}"


def _check_outputs(specs: Sequence[str]) -> Optional[str]:
    if not specs:
        return "at least one output is needed"
    for spec in specs:
        try:
            parse_output_spec(spec)
        except ConfigError as e:
            return str(e)
    return None


# -- the settings ------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One run setting, as declared by :func:`setting` (see there)."""

    kind: Kind
    help: str
    toml: Optional[tuple[str, str]] = None
    flag: Optional[str] = None
    shared_flag: bool = False
    show_default: bool = True
    choices: Optional[tuple[Any, ...]] = None
    check: Optional[Check] = None
    flag_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def dest(self) -> Optional[str]:
        """The argparse attribute of :attr:`flag`."""
        return None if self.flag is None else self.flag.lstrip("-").replace("-", "_")

    def label(self, name: str) -> str:
        """How messages name the setting: its TOML key, else its flag, else the field."""
        return ".".join(self.toml) if self.toml else self.flag or name


def setting(default: Any, kind: Kind, help: str, *, toml: Optional[str] = None, flag: Optional[str] = None,
            shared_flag: bool = False, show_default: bool = True, choices: Optional[tuple[Any, ...]] = None,
            check: Optional[Check] = None, **flag_options: Any) -> Any:
    """Declare a :class:`RunConfig` field and everything about it.

    ``default`` and ``kind`` (how TOML and flag values are read); ``help`` one line with
    units in brackets, the flag's ``--help`` (`` (default X)`` is added unless
    ``show_default`` is False or the default is None or a switch); ``toml`` the key
    ``"section.key"`` or None; ``flag`` the command-line flag or None; ``shared_flag``:
    the flag is added by :func:`cleartune.edge.cli_analyze.add_tuner_arguments` (shared
    with ``analyze``), only read here (a ``--no-X`` flag sets the setting to False);
    ``choices`` the allowed values (flag and check); ``check`` a value -> problem (or
    None) function; ``flag_options`` go to ``add_argument`` (``short``, ``metavar``,
    ``action``)."""
    meta = Setting(kind=kind, help=help, toml=tuple(toml.split(".")) if toml else None, flag=flag,
                   shared_flag=shared_flag, show_default=show_default, choices=choices, check=check,
                   flag_options=flag_options)
    return dataclasses.field(default=default, metadata={"setting": meta})


@dataclass(frozen=True)
class RunConfig:
    """Everything ``cleartune run`` needs; each field is one setting, its help text in
    :func:`setting` (units in brackets).  ``config_path`` is the TOML file that was read,
    or None."""

    # input / analysis
    input: str = setting("mic", TEXT, "mic (default input device), mic:DEVICE (index or name part), a WAV file, "
                         "or - (raw PCM on stdin)", toml="input.device", flag="--input", short="-i",
                         metavar="SOURCE")
    a4: float = setting(A4_DEFAULT, NUMBER, "reference pitch [Hz]", toml="analysis.a4", flag="--a4",
                        shared_flag=True)
    mode: str = setting("chromatic", TEXT, "chromatic | guitar | note | a note name", toml="analysis.mode",
                        flag="--mode", shared_flag=True)
    tuning: str = setting("standard", TEXT, "tuning name or notes (mode guitar)", toml="analysis.tuning",
                          flag="--tuning", shared_flag=True)
    target: Optional[str] = setting(None, TEXT, "target note of mode note, e.g. A4", toml="analysis.target",
                                    flag="--target", shared_flag=True)
    model: Optional[str] = setting(None, TEXT, "model .tflite (its sidecar kind says how it runs: guitar-pitch "
                                   "guides the tracker, mask denoises), None for the shipped guitar-pitch model",
                                   toml="analysis.model", flag="--model", shared_flag=True)
    threads: Optional[int] = setting(None, INTEGER, "interpreter threads, None for the runtime's default (1)",
                                     toml="analysis.threads", flag="--threads", shared_flag=True, check=_above(0))
    denoise: bool = setting(True, SWITCH, "run the model (False: the tracker alone on the raw signal)",
                            toml="analysis.denoise", flag="--no-denoise", shared_flag=True)
    duration: Optional[float] = setting(None, NUMBER, "stop after S seconds of audio", flag="--duration",
                                        check=_above(0, " s"), metavar="S")
    realtime: bool = setting(False, SWITCH, "play a file input at real-time speed", flag="--realtime",
                             action="store_true")
    # outputs
    outputs: tuple[str, ...] = setting(
        ("stdout",), OUTPUT_SPECS, "where readings go, repeatable: stdout (JSON lines, default), text, tui, gpio, "
        "serial:PORT (e.g. serial:/dev/ttyUSB0, serial:loop://)", toml="output.outputs", flag="--output",
        show_default=False, check=_check_outputs, short="-o", metavar="SPEC", action="append")
    wire: str = setting("text", TEXT, "serial wire format: text lines 'A2 -3.1 0.93' or binary COBS frames",
                        toml="serial.wire", flag="--wire", choices=WIRE_FORMATS)
    baud: int = setting(115200, INTEGER, "serial speed [baud]", toml="serial.baud", flag="--baud", check=_above(0),
                        metavar="N")
    serial_write_timeout: float = setting(0.2, NUMBER, "serial write timeout [s]", toml="serial.write_timeout",
                                          flag="--serial-write-timeout", check=_within(0, 10, " s"), metavar="S")
    in_tune_cents: float = setting(2.0, NUMBER, "half-width of the in-tune window [cents]",
                                   toml="output.in_tune_cents", flag="--in-tune-cents", check=_above(0, " cents"),
                                   metavar="C")
    serial_queue: int = setting(32, INTEGER, "readings kept while the port is slow or away",
                                toml="serial.queue", check=_within(1, 10000, " readings", low_open=False))
    serial_sequence: bool = setting(True, SWITCH, "a sequence byte in binary frames", toml="serial.sequence")
    serial_reconnect_min: float = setting(0.2, NUMBER, "first reconnect delay [s]", toml="serial.reconnect_min",
                                          check=_above(0, " s"))
    serial_reconnect_max: float = setting(5.0, NUMBER, "longest reconnect delay [s]", toml="serial.reconnect_max",
                                          check=_above(0, " s"))
    gpio_pin_factory: Optional[str] = setting(
        None, TEXT, "gpiozero pin factory (default: $GPIOZERO_PIN_FACTORY or gpiozero's choice; "
        "lgpio on Raspberry Pi OS Bookworm / Pi 5)", toml="gpio.pin_factory", flag="--gpio-pin-factory",
        choices=PIN_FACTORIES)
    gpio_flat: Pin = setting(17, PIN, "LED for flat", toml="gpio.flat", flag="--gpio-flat", metavar="PIN")
    gpio_in_tune: Pin = setting(27, PIN, "LED for in tune", toml="gpio.in_tune", flag="--gpio-in-tune",
                                metavar="PIN")
    gpio_sharp: Pin = setting(22, PIN, "LED for sharp", toml="gpio.sharp", flag="--gpio-sharp", metavar="PIN")
    gpio_pwm: bool = setting(False, SWITCH, "dim the flat/sharp LEDs with the deviation (PWM)", toml="gpio.pwm",
                             flag="--gpio-pwm", action=argparse.BooleanOptionalAction)
    gpio_full_scale_cents: float = setting(50.0, NUMBER, "deviation at full PWM brightness [cents]",
                                           toml="gpio.full_scale_cents", check=_above(0, " cents"))
    gpio_button: Optional[Pin] = setting(None, PIN, "push button (to ground) that cycles the mode or the reference "
                                         "pitch", toml="gpio.button", flag="--gpio-button", metavar="PIN")
    gpio_button_action: str = setting("mode", TEXT, "what the button cycles", toml="gpio.button_action",
                                      flag="--gpio-button-action", choices=BUTTON_ACTIONS)
    a4_choices: tuple[float, ...] = setting((440.0, 442.0, 432.0), NUMBERS,
                                            "reference pitches [Hz] the button cycles through (action a4)",
                                            toml="gpio.a4_choices")
    tui_fps: float = setting(20.0, NUMBER, "terminal redraw limit", toml="tui.fps", flag="--tui-fps",
                             check=_within(0, 60, " frames/s"), metavar="FPS")
    # provenance (not a setting)
    config_path: Optional[str] = None

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with some fields changed (validated again)."""
        return validate(dataclasses.replace(self, **changes))


def settings() -> Iterator[tuple[str, Any, Setting]]:
    """``(field name, default, Setting)`` of every setting, in declaration order."""
    for f in dataclasses.fields(RunConfig):
        if "setting" in f.metadata:
            yield f.name, f.default, f.metadata["setting"]


#: (section, key) -> (RunConfig field, TOML reader): the keys of the TOML file.
SCHEMA: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    s.toml: (name, s.kind.from_toml) for name, _, s in settings() if s.toml}
SECTIONS = tuple(dict.fromkeys(section for section, _ in SCHEMA))
_KINDS = {s.toml: s.kind for _, _, s in settings() if s.toml}


def validate(cfg: RunConfig, *, where: str = "") -> RunConfig:
    """Check every setting's value (its ``choices`` and ``check``) and the settings that
    depend on each other; raises :class:`ConfigError` naming ``where`` (a file) if given."""
    pre = f"{where}: " if where else ""
    for name, _, s in settings():
        v = getattr(cfg, name)
        if v is None:
            continue
        problem = None
        if s.choices is not None and v not in s.choices:
            problem = f"must be one of {', '.join(s.choices)}, not {v!r}"
        elif s.check is not None:
            problem = s.check(v)
        if problem:
            raise ConfigError(f"{pre}{s.label(name)}: {problem}")
    if cfg.serial_reconnect_min > cfg.serial_reconnect_max:
        raise ConfigError(f"{pre}serial.reconnect_min must be <= serial.reconnect_max [s], "
                          f"not {cfg.serial_reconnect_min!r} > {cfg.serial_reconnect_max!r}")
    pins = [p for p in (cfg.gpio_flat, cfg.gpio_in_tune, cfg.gpio_sharp, cfg.gpio_button) if p is not None]
    if len(set(pins)) != len(pins):
        raise ConfigError(f"{pre}gpio pins must differ, got {pins}")
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
                raise ConfigError(f"{where}: '{section}.{key}' must be {_KINDS[section, key].name}, "
                                  f"not {type(value).__name__} {value!r}")
            out[fname] = v
    return out


# -- argparse ----------------------------------------------------------------------------
def add_setting_flags(group: Any, names: Optional[Sequence[str]] = None) -> None:
    """Add the flags of the settings ``names`` (default: every setting with a flag of its
    own) to an argparse group, skipping flags the parser already has.  Every flag
    defaults to ``None`` ("not given") so the TOML file can supply the value; the help
    names the setting's default."""
    have = set(group._option_string_actions)  # noqa: SLF001 - shared with the parser
    for name, default, s in settings():
        if s.flag is None or s.shared_flag or s.flag in have or (names is not None and name not in names):
            continue
        opts = dict(s.flag_options)
        flags = [s.flag] + ([opts.pop("short")] if "short" in opts else [])
        help_ = s.help
        if s.show_default and default is not None and s.kind is not SWITCH:
            help_ += f" (default {s.kind.show(default)})"
        if s.choices is not None:
            opts["choices"] = s.choices
        if s.kind.from_flag is not None and "action" not in opts:
            opts["type"] = s.kind.from_flag
        group.add_argument(*flags, default=None, help=help_, **opts)


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and the flags of every setting the parser does not have yet (the
    outputs' settings, after the caller's input flags) to ``cleartune run``'s parser."""
    g = parser.add_argument_group("outputs and configuration")
    g.add_argument("--config", metavar="FILE", default=None,
                   help=f"TOML config file (keys: cleartune.example.toml; ${CONFIG_ENV} if not given); "
                        "flags override it")
    add_setting_flags(g)
    parser.set_defaults(**{_PARSER_KEY: parser})


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
        if v == parser.get_default(dest):
            return False, v
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
        validate(RunConfig(**from_file), where=str(path))
        values.update(from_file)
        values["config_path"] = str(path)
    for name, _, s in settings():
        if s.flag is None:
            continue
        given, v = _given(args, s.dest)
        if given:
            values[name] = (not v) if s.flag.startswith("--no-") else s.kind.from_args(v)
    return validate(RunConfig(**values))


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
