"""stdout (JSON lines) and text outputs, multi-output, sink lifecycle."""
from __future__ import annotations

import io
import json

import pytest

from cleartune.edge.reading import Reading
from cleartune.firmware_bridge.config import RunConfig
from cleartune.firmware_bridge.errors import OutputSpecError
from cleartune.firmware_bridge.outputs import MultiSink, Sink, make_output, make_outputs
from cleartune.firmware_bridge.wire import format_text_line, parse_text_line

R1 = Reading(t=0.52, note="A2", cents=-3.12, f0_hz=109.80, confidence=0.93, midi=45)
R0 = Reading.silent(0.75, confidence=0.1)


def test_stdout_json_lines(capsys):
    with make_output("stdout", RunConfig()) as sink:
        assert isinstance(sink, Sink)
        sink.write(R1)
        sink.write(R0, file="b.wav")
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x) for x in lines] == [
        {"t": 0.52, "note": "A2", "cents": -3.12, "f0_hz": 109.8, "confidence": 0.93},
        {"file": "b.wav", "t": 0.75, "note": None, "cents": None, "f0_hz": None, "confidence": 0.1},
    ]
    assert lines[0] == R1.to_json()


def test_text_lines():
    buf = io.StringIO()
    sink = make_output("text", RunConfig(), stream=buf)
    sink.write(R1)
    sink.write(R0)
    sink.write(Reading(t=1.0, note="E4", cents=12.349, f0_hz=330.0, confidence=1.0, midi=64))
    sink.write(Reading(t=1.1, note="E4", cents=-0.04, f0_hz=330.0, confidence=0.5, midi=64))
    sink.close()
    sink.close()  # idempotent
    sink.write(R1)  # ignored after close
    assert buf.getvalue() == "A2 -3.1 0.93\n- 0.10\nE4 +12.3 1.00\nE4 +0.0 0.50\n"
    p = parse_text_line("A2 -3.1 0.93")
    assert p.note == "A2" and p.cents == pytest.approx(-3.1, abs=1e-9) and p.confidence == pytest.approx(0.93)
    assert parse_text_line(format_text_line(R0)).note is None


def test_multi_output_writes_all_and_closes_all():
    a, b = io.StringIO(), io.StringIO()
    cfg = RunConfig(outputs=("stdout", "text"))
    sink = make_outputs(cfg, stream=a)
    assert isinstance(sink, MultiSink) and len(sink.sinks) == 2
    sink.sinks[1]._stream = b
    sink.write(R1)
    sink.close()
    assert json.loads(a.getvalue())["note"] == "A2"
    assert b.getvalue() == "A2 -3.1 0.93\n"
    assert all(s.closed for s in sink.sinks)


def test_single_output_is_returned_as_is():
    sink = make_outputs(RunConfig(outputs=("text",)), stream=io.StringIO())
    assert not isinstance(sink, MultiSink)
    sink.close()


def test_bad_spec():
    with pytest.raises(OutputSpecError, match="unknown output"):
        make_output("printer", RunConfig())
