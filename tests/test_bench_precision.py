"""``cleartune bench precision`` (bench/precision.py): the differential test and the
reference-oscillator table, on small synthetic inputs."""
import csv
import math

import numpy as np
import pytest

from cleartune.bench import precision as P
from cleartune.edge.audio_io import write_wav
from cleartune.train import synth as S

SR = S.DEFAULT_SAMPLE_RATE


def test_exact_shift_and_ratios():
    assert P.shift_cents(440, 441) == pytest.approx(1200 * math.log2(441 / 440), abs=1e-12)
    assert P.shift_cents(441, 440) == pytest.approx(-P.shift_cents(440, 441), abs=1e-12)
    assert P.parse_ratios("440/441, 99/100") == ((440, 441), (99, 100))
    assert P.parse_ratios(None) == P.DEFAULT_RATIOS
    for bad in ("1/1", "3/1", "0/5", "x"):
        with pytest.raises(ValueError):
            P.parse_ratios(bad)


def test_resampling_moves_a_sine_by_exactly_the_shift():
    """A sine resampled by 50/51 reads 1200 log2(51/50) cents higher, to 0.01 cent."""
    read = P.tuner_reader(denoise=False)
    x = S.sine(220.0, duration=2.5, onset_s=0.3)
    y = P.resample(x, 50, 51)
    assert len(y) == pytest.approx(len(x) * 50 / 51, abs=1)
    fx = P.settled(*read(x), onset_s=0.3)
    fy = P.settled(*read(y), onset_s=0.3, stretch=50 / 51)
    assert fx == pytest.approx(220.0, rel=1e-7)
    assert 1200 * math.log2(fy / fx) == pytest.approx(P.shift_cents(50, 51), abs=0.01)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two recorded-like notes (plucked strings with a settling drift) as a dataset folder."""
    root = tmp_path_factory.mktemp("prec")
    (root / "clean").mkdir()
    rows = []
    for i, (midi, onset) in enumerate(((45, 0.3), (57, 0.5))):
        x, f1 = S.plucked_string(S.detuned_hz(midi, 7.0), duration=2.6, onset_s=onset, attack_glide_cents=6.0,
                                 seed=i)
        write_wav(root / "clean" / f"m{i}.wav", x, SR)
        rows.append({"id": f"m{i}", "split": "test", "clean_path": f"clean/m{i}.wav", "guitar_recording": f"r{i}",
                     "note": str(midi), "f0_hz": f1, "onset_s": onset, "sample_rate": SR, "clip_samples": len(x)})
    with open(root / "metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def test_differential_on_recorded_notes(dataset):
    notes = P.recorded_notes(dataset, max_notes=0)
    assert [n["id"] for n in sorted(notes, key=lambda n: n["id"])] == ["m0", "m1"]
    readers = {"no-denoise": P.tuner_reader(denoise=False), "harmonic_sum": P.harmonic_sum_reader()}
    r = P.differential(notes, readers, ratios=((440, 441), (51, 50)))
    s = r["systems"]["no-denoise"]
    assert s["n"] == 4 and s["missing"] == 0
    assert s["max"] <= 0.05, r["pairs"]            # the tracker follows an exact shift
    assert r["systems"]["harmonic_sum"]["n"] == 4
    assert all(p["shift_cents"] == pytest.approx(P.shift_cents(p["p"], p["q"])) for p in r["pairs"])


def test_differential_catches_a_wrong_shift(dataset, monkeypatch):
    """If the resampling were not the ratio the shift assumes (here q/p instead of p/q),
    the errors are twice the shift: the benchmark would show it."""
    notes = P.recorded_notes(dataset, max_notes=1)
    real = P.resample
    monkeypatch.setattr(P, "resample", lambda x, p, q: real(x, q, p))
    r = P.differential(notes, {"no-denoise": P.tuner_reader(denoise=False)}, ratios=((99, 100),))
    assert r["systems"]["no-denoise"]["median"] == pytest.approx(2 * abs(P.shift_cents(99, 100)), abs=0.1)


def test_oscillator_table_and_report(dataset, tmp_path):
    read = P.tuner_reader(denoise=False)
    osc = P.oscillator_table(read, notes=("B0", "A4", "C8"), detune=(0.0, 0.1, -10.0), kinds=("sine", "harmonic"))
    assert osc["n"] == 18 and osc["n_ok"] == 18, [r for r in osc["rows"] if not r["ok"]]
    assert osc["worst_median_abs_cents"] <= P.OSC_TOLERANCE_CENTS
    # a reader that is 0.02 cent sharp fails the 0.01-cent tolerance
    sharp = P.oscillator_table(lambda x: (lambda t, f: (t, f * 2 ** (0.02 / 1200)))(*read(x)), notes=("A4",),
                               detune=(0.0,), kinds=("sine",))
    assert sharp["n_ok"] == 0
    notes = P.recorded_notes(dataset, max_notes=1)
    diff = P.differential(notes, {"no-denoise": read}, ratios=((440, 441),))
    from cleartune.provenance import provenance

    r = {"benchmark": "precision", "data": str(dataset), "notes": [{k: v for k, v in n.items() if k != "audio"}
                                                                  for n in notes],
         "ratios": [{"p": 440, "q": 441, "shift_cents": P.shift_cents(440, 441)}], "settled_window_s": [0.4, 1.6],
         "targets_cents": P.TARGETS, "differential": diff, "oscillators": {"no-denoise": osc},
         "provenance": provenance("cleartune bench precision")}
    paths = P.write_precision(r, tmp_path)
    md = paths["md"].read_text()
    assert "| no-denoise | 1 |" in md and "Reference oscillators" in md and "Provenance" in md
    assert "cleartune bench precision" in md
    import json

    assert json.loads(paths["json"].read_text())["differential"]["systems"]["no-denoise"]["n"] == 1


@pytest.mark.skipif(not P.aubio_available(), reason="aubio-tools (an optional external reference) not installed")
def test_aubio_reference_reads_a_sine():
    t, f0 = P.aubio_reader()(S.sine(440.0, duration=2.0))
    assert np.nanmedian(f0[t > 1.0]) == pytest.approx(440.0, rel=1e-3)



def test_settled_readings_cover_the_same_stretch_of_a_drifting_note():
    """Readings of a note drifting 20 cents/s and of the same note resampled by 50/51
    (times x 50/51, pitch x 51/50): mapping the resampled note's reading times back
    (t / (p/q)) makes both medians come from the same moment of the note (without it
    they differ by ~0.4 cent)."""
    t = np.arange(1, 600) * 0.005                              # reading times [s]
    f = 196.0 * 2 ** (20.0 * t / 1200)                         # the drifting note's readings
    s = 50 / 51
    fx = P.settled(t, f, onset_s=0.3)
    fy = P.settled(t * s, f / s, onset_s=0.3, stretch=s)
    assert 1200 * math.log2(fy / fx) == pytest.approx(P.shift_cents(50, 51), abs=0.01)
