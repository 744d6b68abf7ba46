"""Run configuration: TOML + flags merging, bad config files, output specs."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cleartune.firmware_bridge.config import (
    RunConfig,
    add_output_arguments,
    config_to_toml,
    load_toml,
    parse_output_spec,
    resolve_run_config,
)
from cleartune.firmware_bridge.errors import ConfigError, OutputSpecError

EXAMPLE = Path(__file__).resolve().parents[1] / "firmware_bridge" / "cleartune.example.toml"


def runtime_parser() -> argparse.ArgumentParser:
    """A stand-in for cleartune run's parser: its own analysis flags, then ours."""
    p = argparse.ArgumentParser()
    p.add_argument("--input", default="mic")
    p.add_argument("--a4", type=float, default=440.0)
    p.add_argument("--mode", default="chromatic")
    p.add_argument("--tuning", default="standard")
    p.add_argument("--target", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-denoise", action="store_true")
    p.add_argument("--duration", type=float, default=None)
    p.add_argument("--realtime", action="store_true")
    add_output_arguments(p)
    return p


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_defaults_without_config():
    cfg = resolve_run_config(runtime_parser().parse_args([]), environ={})
    assert cfg == RunConfig()
    assert cfg.outputs == ("stdout",) and cfg.in_tune_cents == 2.0 and cfg.wire == "text"


def test_toml_then_flags_win(tmp_path):
    p = write(tmp_path, """
[input]
device = "mic:2"
[analysis]
a4 = 442
mode = "guitar"
denoise = false
[output]
outputs = ["serial:/dev/ttyUSB0", "gpio"]
in_tune_cents = 3.0
[serial]
wire = "binary"
baud = 9600
[gpio]
flat = 5
in_tune = "GPIO6"
pwm = true
""")
    cfg = resolve_run_config(runtime_parser().parse_args(["--config", str(p)]), environ={})
    assert cfg.input == "mic:2" and cfg.a4 == 442.0 and cfg.mode == "guitar" and cfg.denoise is False
    assert cfg.outputs == ("serial:/dev/ttyUSB0", "gpio")
    assert cfg.in_tune_cents == 3.0 and cfg.wire == "binary" and cfg.baud == 9600
    assert cfg.gpio_flat == 5 and cfg.gpio_in_tune == "GPIO6" and cfg.gpio_sharp == 22 and cfg.gpio_pwm is True
    assert cfg.config_path == str(p)

    args = runtime_parser().parse_args(["--config", str(p), "--a4", "432", "--output", "text", "--wire", "text",
                                        "--baud", "115200", "--gpio-flat", "12", "--no-gpio-pwm",
                                        "--input", "x.wav", "--in-tune-cents", "1.5"])
    cfg = resolve_run_config(args, environ={})
    assert cfg.a4 == 432.0 and cfg.outputs == ("text",) and cfg.wire == "text" and cfg.baud == 115200
    assert cfg.gpio_flat == 12 and cfg.gpio_pwm is False and cfg.input == "x.wav" and cfg.in_tune_cents == 1.5
    assert cfg.mode == "guitar"  # not given as a flag: the file's value stays


def test_parser_default_does_not_hide_file_value(tmp_path):
    p = write(tmp_path, "[analysis]\na4 = 415\n")
    cfg = resolve_run_config(runtime_parser().parse_args(["--config", str(p)]), environ={})
    assert cfg.a4 == 415.0


def test_config_from_environment(tmp_path):
    p = write(tmp_path, "[serial]\nwire = \"binary\"\n")
    cfg = resolve_run_config(runtime_parser().parse_args([]), environ={"CLEARTUNE_CONFIG": str(p)})
    assert cfg.wire == "binary"


def test_repeated_output_flags():
    cfg = resolve_run_config(runtime_parser().parse_args(["-o", "serial:loop://", "-o", "gpio"]), environ={})
    assert cfg.outputs == ("serial:loop://", "gpio")


@pytest.mark.parametrize("text, words", [
    ("[serial]\nbuad = 9600\n", ["unknown key", "serial.buad"]),
    ("[seriall]\nbaud = 9600\n", ["unknown section", "seriall"]),
    ("[serial]\nbaud = \"fast\"\n", ["serial.baud", "integer"]),
    ("[analysis]\na4 = true\n", ["analysis.a4", "number"]),
    ("[output]\noutputs = [1, 2]\n", ["output.outputs", "list"]),
    ("[serial]\nwire = \"morse\"\n", ["wire", "morse"]),
    ("[output]\noutputs = [\"printer\"]\n", ["printer"]),
    ("[gpio]\nflat = 5\nsharp = 5\n", ["pins must differ"]),
    ("baud = 9600\n", ["baud", "section"]),
    ("[serial\nbaud = 1\n", ["not valid TOML"]),
])
def test_bad_config_one_line_error(tmp_path, text, words):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as ei:
        resolve_run_config(runtime_parser().parse_args(["--config", str(p)]), environ={})
    msg = str(ei.value)
    assert "\n" not in msg and str(p) in msg
    for w in words:
        assert w in msg


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_toml(tmp_path / "nope.toml")


def test_bad_flag_value():
    with pytest.raises(ConfigError, match="in_tune_cents"):
        resolve_run_config(runtime_parser().parse_args(["--in-tune-cents", "0"]), environ={})


def test_output_specs():
    assert parse_output_spec("serial:/dev/ttyUSB0") == ("serial", "/dev/ttyUSB0")
    assert parse_output_spec("serial:loop://") == ("serial", "loop://")
    assert parse_output_spec("GPIO") == ("gpio", None)
    assert parse_output_spec("json") == ("stdout", None)
    for bad in ("serial", "serial:", "gpio:3", "lcd"):
        with pytest.raises(OutputSpecError):
            parse_output_spec(bad)


def test_example_file_is_complete_and_valid():
    """Every schema key is documented in cleartune.example.toml and the file loads."""
    from cleartune.firmware_bridge.config import SCHEMA

    values = load_toml(EXAMPLE)
    text = EXAMPLE.read_text()
    for section, key in SCHEMA:
        assert f"[{section}]" in text
        assert f"\n{key} =" in text or f"\n# {key} =" in text, (section, key)
    cfg = RunConfig(**values)
    assert cfg.outputs and cfg.wire in ("text", "binary")


def test_config_to_toml_round_trip(tmp_path):
    cfg = RunConfig(a4=442.0, outputs=("gpio", "serial:/dev/ttyAMA0"), wire="binary", gpio_button=26,
                    target="A4", mode="note")
    p = tmp_path / "rt.toml"
    p.write_text(config_to_toml(cfg))
    assert RunConfig(**load_toml(p)) == cfg


def test_flags_schema_and_checks_come_from_the_one_declaration():
    """Each setting is declared once (a RunConfig field): its TOML key, its flag with the
    default named in --help, and its check all follow from that declaration."""
    from cleartune.firmware_bridge import cli_run
    from cleartune.firmware_bridge.config import SCHEMA, SWITCH, settings

    parser = argparse.ArgumentParser()
    cli_run.add_arguments(parser)
    flags = parser._option_string_actions
    seen = set()
    for name, default, s in settings():
        assert name not in seen
        seen.add(name)
        if s.toml:
            assert SCHEMA[s.toml][0] == name
        if s.flag is None:
            continue
        action = flags[s.flag]  # every declared flag is on cleartune run's parser
        assert action.dest == s.dest
        if s.shared_flag:
            continue
        assert action.default is None  # "not given": the TOML file can supply it
        if s.show_default and default is not None and s.kind is not SWITCH:
            assert action.help.endswith(f" (default {s.kind.show(default)})"), (name, action.help)
        if s.choices:
            assert tuple(action.choices) == s.choices
            with pytest.raises(ConfigError, match=re.escape(s.label(name))):
                RunConfig(**{name: "no-such-choice"}).replace()
    assert set(SCHEMA) == {s.toml for _, _, s in settings() if s.toml}
    assert "(default 115200)" in flags["--baud"].help and "(default BCM 17)" in flags["--gpio-flat"].help
