"""Scripts behind the records: pi-check's readings parity (scripts/readings_parity.py: the
same readings pass, any difference in count, time, note or cents beyond the tolerance fails)
and README's demo block (scripts/readme_demo.py: it is what the code prints today)."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readings_parity.py"
spec = importlib.util.spec_from_file_location("readings_parity", SCRIPT)
RP = importlib.util.module_from_spec(spec)
spec.loader.exec_module(RP)

RUN = [{"t": 0.046, "note": None, "cents": None, "f0_hz": None, "confidence": 0.0},
       {"t": 0.093, "note": "E2", "cents": -2.04213, "f0_hz": 82.16, "confidence": 0.9},
       {"t": 0.139, "note": "E2", "cents": -2.03911, "f0_hz": 82.16, "confidence": 0.9}]


def _changed(i, **kw):
    return [dict(r, **kw) if j == i else dict(r) for j, r in enumerate(RUN)]


def test_the_same_readings_are_the_same():
    assert RP.compare(RUN, [dict(r) for r in RUN])[0]
    assert RP.compare(RUN, _changed(1, cents=-2.04213 + 0.0009))[0]        # within 0.001 cent


@pytest.mark.parametrize("other", [
    _changed(1, cents=-2.04213 + 0.002),      # cents beyond the tolerance
    _changed(2, note="F2"),                   # another note
    _changed(0, note="E2", cents=0.0),        # a note where there was none
    _changed(2, t=0.140),                     # another time
    RUN[:2],                                  # a reading missing
])
def test_any_difference_is_different(other):
    same, line = RP.compare(RUN, other)
    assert not same and "DIFFERENT" in line


def test_command_line_ignores_harness_lines_and_sets_exit_status(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in RUN))
    b.write_text("[run-arm64] aarch64 via qemu\n" + a.read_text())
    assert RP.main([str(a), str(b)]) == 0 and "same" in capsys.readouterr().out
    b.write_text("".join(json.dumps(r) + "\n" for r in _changed(2, note="F2")))
    assert RP.main([str(a), str(b)]) == 1


def test_readme_shows_what_make_demo_prints_today():
    """README.md's `make demo` block is the output of a real run of the current code and
    models (scripts/readme_demo.py writes it): a tracker or model change that alters the
    demo's readings must regenerate it."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "readme_demo.py"
    spec_ = importlib.util.spec_from_file_location("readme_demo", path)
    rd = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(rd)
    text = rd.README.read_text()
    assert rd.replace_block(text, rd.demo_output()) == text, "stale: run .venv/bin/python scripts/readme_demo.py"
