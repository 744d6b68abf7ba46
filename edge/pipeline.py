"""The tuner pipeline: samples in, :class:`~cleartune.edge.reading.Reading` s out.

One path for everything (``analyze`` on files, ``run`` live, benchmarks)::

    source block --> sanitize (NaN/inf -> 0, clip to full scale) --> DC blocker --> hop chunks
      --> raw hop --> PitchTracker --(every reading: the newest raw window)--> guide (guitar-pitch model)
                           |   <-- which note is the guitar (Note: midi, prob, no_guitar) --+
    sink.write(reading) <--+   (cents: the tracker's DSP on the raw signal)

The model a tuner runs is decided by its sidecar ``kind``:

* ``"guitar-pitch"`` (the default, ``edge/models/guitar_pitch_int8.tflite``): run once per
  tracker reading on the newest raw samples, as the tracker's guide (:mod:`.guide`): it names
  the note, the tracker measures its cents;
* ``"mask"`` / ``"magnitude"`` (``--model edge/models/edge_int8.tflite``): the streaming
  denoiser, every hop; raw and denoised hops reach the tracker aligned in time (the raw
  signal is delayed by the denoiser's latency, and reading times ``t`` [s] refer to the
  input: the delay is subtracted);
* none (``denoise=False``, ``--no-denoise``): the tracker alone.

:class:`Tuner` takes blocks of any length at the model's sample rate.  :func:`run_stream` drives a source, a tuner and a sink until
the source ends, a stop event is set or a duration is reached, with per-stage timings
(:class:`Stats`).  :func:`open_source` is re-exported from :mod:`.sources`.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import CleartuneError
from .params import EDGE, SignalParams
from .reading import Reading
from .sources import Source, open_source  # noqa: F401  (re-exported)

#: DC blocker corner [Hz]: far below the lowest guitar string (B1, 61.7 Hz on a 7-string),
#: removes a recording's DC offset within ~1/(2*pi*10 Hz) = 16 ms.
DC_CUTOFF_HZ = 10.0
#: Timings kept per stage for the statistics (the most recent ones).
STATS_CAPACITY = 1 << 16


def resolve_mode(mode: str, target: Optional[str] = None) -> tuple[str, Optional[str]]:
    """``--mode`` as the CLI takes it -> ``(mode, target)`` for :class:`~cleartune.edge.notes.NoteMapper`:
    ``chromatic`` / ``guitar`` (or ``instrument``) / ``note`` pass through, a note name (``A4``) means mode
    ``note`` with that target.  Raises :class:`~cleartune.edge.notes.NoteError` otherwise."""
    from .notes import MODE_ALIASES, MODES, normalize_mode, normalize_note

    m = str(mode).strip()
    if m.lower() in MODES or m.lower() in MODE_ALIASES:
        return normalize_mode(m), target
    try:
        return "note", normalize_note(m)
    except Exception:
        from .notes import NoteError

        raise NoteError(f"unknown mode {mode!r}: choose chromatic, guitar, note or a note name like A4") from None


@dataclass(frozen=True)
class TunerConfig:
    """What a :class:`Tuner` does.

    a4            reference pitch [Hz]
    mode          ``chromatic`` | ``guitar`` | ``note`` | a note name (= ``note`` with that target)
    tuning        tuning name or comma-separated notes (mode ``guitar``)
    target        target note (mode ``note``) or None
    model         ``.tflite`` path (its sidecar ``kind`` says how it runs: ``guitar-pitch`` as
                  the tracker's guide, ``mask``/``magnitude`` as the denoiser), or None for
                  the shipped guitar-pitch model (skipped with a notice if none is shipped)
    denoise       run a model (False: the tracker alone on the raw signal)
    threads       interpreter threads
    pitch         a ``PitchParams`` or None for the tracker's defaults
    params        signal parameters (the model's; :data:`~cleartune.edge.params.EDGE`)
    dc_cutoff_hz  DC blocker corner [Hz]; 0 disables it
    """

    a4: float = 440.0
    mode: str = "chromatic"
    tuning: str = "standard"
    target: Optional[str] = None
    model: Optional[str] = None
    denoise: bool = True
    threads: int = 1
    pitch: Any = None
    params: SignalParams = EDGE
    dc_cutoff_hz: float = DC_CUTOFF_HZ

    def note_mapper(self):
        """The :class:`~cleartune.edge.notes.NoteMapper` for a4/mode/tuning/target."""
        from .notes import NoteMapper

        mode, target = resolve_mode(self.mode, self.target)
        return NoteMapper(a4=self.a4, mode=mode, tuning=self.tuning, target=target)


class Stats:
    """Per-stage timings [s] and counters of a run.

    Stages: ``read`` (one source block), ``stft`` and ``denoise`` (one hop: framing + FFT;
    features + model + inverse), ``guide`` (one reading of the guitar-pitch model: features
    + model), ``pitch`` (one hop of the tracker, without the guide), ``output`` (one
    reading written).  The most recent :data:`STATS_CAPACITY` timings per stage are kept."""

    STAGES = ("read", "stft", "denoise", "guide", "pitch", "output")

    def __init__(self, *, capacity: int = STATS_CAPACITY):
        self.capacity = int(capacity)
        self._t = {s: np.zeros(self.capacity) for s in self.STAGES}
        self._n = {s: 0 for s in self.STAGES}
        self.counters: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        i = self._n[stage]
        self._t[stage][i % self.capacity] = seconds
        self._n[stage] = i + 1

    def count(self, stage: str) -> int:
        return self._n[stage]

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {"n", "median_ms", "p95_ms", "max_ms"}}`` for stages that ran."""
        out = {}
        for s in self.STAGES:
            n = self._n[s]
            if n == 0:
                continue
            v = self._t[s][: min(n, self.capacity)] * 1000.0
            out[s] = {"n": n, "median_ms": float(np.median(v)), "p95_ms": float(np.percentile(v, 95)),
                      "max_ms": float(v.max())}
        return out

    def format(self, *, hop_ms: Optional[float] = None) -> str:
        """A small table (several lines) for ``--stats``."""
        lines = ["stage      calls    median ms    p95 ms    max ms"]
        for s, d in self.summary().items():
            lines.append(f"{s:<8} {d['n']:>7d} {d['median_ms']:>12.3f} {d['p95_ms']:>9.3f} {d['max_ms']:>9.3f}")
        if hop_ms is not None:
            lines.append(f"(one hop of audio is {hop_ms:.2f} ms; stft/denoise/pitch are per hop, guide per reading)")
        for k, v in self.counters.items():
            lines.append(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
        return "\n".join(lines)


class _DelayLine:
    """Fixed delay of ``delay`` samples for hops of ``hop`` samples (zeros before the start)."""

    def __init__(self, delay: int, *, hop: int):
        self.delay, self.hop = int(delay), int(hop)
        self._buf = np.zeros(self.delay + self.hop, dtype=np.float32)
        self.out = np.zeros(self.hop, dtype=np.float32)
        self._w = 0

    def reset(self) -> None:
        self._buf[:] = 0.0
        self._w = 0

    def process(self, x: np.ndarray) -> np.ndarray:
        if self.delay == 0:
            self.out[:] = x
            return self.out
        n, L = self.hop, len(self._buf)
        # write the hop at w, then read the hop that starts `delay` samples earlier
        w = self._w
        first = min(n, L - w)
        self._buf[w : w + first] = x[:first]
        if first < n:
            self._buf[: n - first] = x[first:]
        r = (w - self.delay) % L
        first = min(n, L - r)
        self.out[:first] = self._buf[r : r + first]
        if first < n:
            self.out[first:] = self._buf[: n - first]
        self._w = (self._w + n) % L
        return self.out


class Tuner:
    """Samples -> readings.  ``Tuner(config)`` builds the model (per ``config`` and the
    model's sidecar kind: a guide or a denoiser) and the tracker; ``tracker`` / ``denoiser``
    / ``guide`` replace them (tests, benchmarks; a given ``tracker`` keeps its own guide).

    :meth:`process` takes float samples ``(n,)`` at ``params.sample_rate`` (any ``n``,
    including 0) and returns the readings completed by them.  NaN/inf samples are
    replaced by 0 and counted in ``nonfinite_samples``; samples are clipped to [-1, 1];
    a DC blocker removes offsets.  ``notice`` holds a one-line remark when a model was
    requested but skipped (no shipped model), else None.  ``guide``: the
    :class:`~.guide.ModelGuide` the tracker follows, or None; ``denoiser``: the
    :class:`~.denoiser.StreamingDenoiser`, or None (never both).  ``stats``, if set to a
    :class:`Stats`, receives per-hop stage timings."""

    def __init__(self, config: TunerConfig = TunerConfig(), *, tracker: Any = None, denoiser: Any = None,
                 guide: Any = None, stats: Optional[Stats] = None):
        self.config = config
        self.params = config.params
        self.hop = self.params.hop
        self.sample_rate = self.params.sample_rate
        self.stats = stats
        self.notice: Optional[str] = None
        self.denoiser, self.guide = denoiser, guide
        if denoiser is None and guide is None:
            self.denoiser, self.guide = self._make_model()
        self.notes = None
        self.tracker = tracker if tracker is not None else self._make_tracker()
        self.delay_samples = int(self.denoiser.latency_samples) if self.denoiser is not None else 0
        self._delay = _DelayLine(self.delay_samples, hop=self.hop)
        self._pending = np.zeros(self.hop, dtype=np.float32)
        self._fill = 0
        if config.dc_cutoff_hz and config.dc_cutoff_hz > 0:
            r = math.exp(-2.0 * math.pi * float(config.dc_cutoff_hz) / self.sample_rate)
            g = (1.0 + r) / 2.0  # unity gain at Nyquist
            self._dc_b, self._dc_a = np.array([g, -g]), np.array([1.0, -r])
            import scipy.signal

            self._lfilter = scipy.signal.lfilter
        else:
            self._dc_b = self._dc_a = None
        self.reset()

    # -- construction
    def _make_model(self) -> tuple[Any, Any]:
        """``(denoiser, guide)`` per the config: an explicit model runs as its sidecar kind
        says (errors raise); the shipped guitar-pitch model by default (a notice, and the
        tracker alone, when it is missing or unusable)."""
        cfg = self.config
        if not cfg.denoise:
            return None, None
        if cfg.model is not None:
            return self._load_model(cfg.model)
        from .guitar_model import DEFAULT_MODEL_NAME, default_model_path

        shipped = default_model_path()
        if shipped is None:
            self.notice = f"no guitar-pitch model shipped yet (edge/models/{DEFAULT_MODEL_NAME}); tuning the raw signal"
            return None, None
        try:
            return self._load_model(shipped)
        except CleartuneError as e:
            self.notice = f"the shipped guitar-pitch model cannot be used ({e}); tuning the raw signal"
            return None, None

    def _load_model(self, path) -> tuple[Any, Any]:
        """``(denoiser, guide)`` for the model at ``path``, by its sidecar kind."""
        from .guitar_model import KIND as GUITAR_PITCH
        from .model_meta import load_meta

        kind = load_meta(path, expected=self.params, verify_sha=False).kind
        if kind == GUITAR_PITCH:
            from .guide import ModelGuide
            from .guitar_model import GuitarPitchModel

            return None, ModelGuide(GuitarPitchModel(path, params=self.params, num_threads=self.config.threads))
        from .denoiser import StreamingDenoiser

        return StreamingDenoiser(path, num_threads=self.config.threads, params=self.params), None

    def _make_tracker(self):
        from .pitch import PitchParams, PitchTracker

        self.notes = self.config.note_mapper()
        pp = self.config.pitch if self.config.pitch is not None else PitchParams()
        return PitchTracker(sample_rate=self.sample_rate, hop=self.hop, params=pp, notes=self.notes,
                            guide=self.guide)

    def set_notes(self, **changes: Any) -> None:
        """Change a4 / mode / tuning / target while running (e.g. from a GPIO button).
        Raises :class:`~cleartune.edge.notes.NoteError` (nothing changed) for bad values."""
        config = dataclasses.replace(self.config, **changes)
        notes = config.note_mapper()  # validates before anything changes
        self.config = config
        if hasattr(self.tracker, "notes"):  # keep the tracker's history, show notes the new way
            self.tracker.notes = self.notes = notes
        else:
            self.tracker = self._make_tracker()

    def reset(self) -> None:
        """Start a new signal: clears the denoiser, tracker (and its guide), delay line and time."""
        if self.denoiser is not None:
            self.denoiser.reset()
        if hasattr(self.tracker, "reset"):
            self.tracker.reset()
        self._delay.reset()
        self._fill = 0
        self._dc_zi = np.zeros(1)
        self.samples_in = 0
        self.hops = 0
        self.nonfinite_samples = 0

    @property
    def time_s(self) -> float:
        """Audio received so far [s]."""
        return self.samples_in / self.sample_rate

    # -- the stream
    def process(self, samples: np.ndarray) -> list[Reading]:
        x = np.asarray(samples)
        if x.ndim != 1:
            raise ValueError(f"Tuner.process expects mono samples (n,), got shape {x.shape}")
        x = self._condition(x)
        out: list[Reading] = []
        i, n = 0, len(x)
        self.samples_in += n
        while i < n:
            take = min(self.hop - self._fill, n - i)
            self._pending[self._fill : self._fill + take] = x[i : i + take]
            self._fill += take
            i += take
            if self._fill == self.hop:
                self._fill = 0
                r = self._hop(self._pending)
                if r is not None:
                    out.append(r)
        return out

    def _condition(self, x: np.ndarray) -> np.ndarray:
        """A block as the tracker takes it: float32 (a copy), NaN/inf -> 0 (counted), clipped
        to [-1, 1], DC-blocked (the filter state carries over: any block length gives the same
        samples)."""
        y = np.array(x, dtype=np.float32)
        if len(y) == 0:
            return y
        finite = np.isfinite(y)
        if not finite.all():
            self.nonfinite_samples += int(len(y) - np.count_nonzero(finite))
            y[~finite] = 0.0
        np.clip(y, -1.0, 1.0, out=y)
        if self._dc_b is not None:
            y[:], self._dc_zi = self._lfilter(self._dc_b, self._dc_a, y, zi=self._dc_zi)
        return y

    def _hop(self, h: np.ndarray) -> Optional[Reading]:
        st = self.stats
        denoised = None
        if self.denoiser is not None:
            denoised = self.denoiser.process_hop(h)
            if st is not None:
                t_stft, t_model = self.denoiser.timing
                st.add("stft", t_stft)
                st.add("denoise", t_model)
        raw = self._delay.process(h)
        t0 = time.perf_counter()
        reading = self.tracker.update(raw, denoised)
        if st is not None:
            dt = time.perf_counter() - t0
            if reading is not None and self.guide is not None:
                st.add("guide", self.guide.last_seconds)
                dt -= self.guide.last_seconds
            st.add("pitch", dt)
        self.hops += 1
        if reading is not None and self.delay_samples:
            reading = dataclasses.replace(reading, t=max(0.0, float(reading.t) - self.delay_samples / self.sample_rate))
        return reading

    def describe(self) -> str:
        """One line: the model (guide, denoiser or none) and note mapping."""
        m = self.guide if self.guide is not None else self.denoiser
        what = "guide" if self.guide is not None else "denoiser"
        desc = "none" if m is None else (m.describe() if hasattr(m, "describe") else type(m).__name__)
        line = f"{what}: {desc}" if m is not None else "model: none (tracker alone)"
        return f"{line}; notes: {self.notes!r}" if self.notes is not None else line


@dataclass
class RunResult:
    """What :func:`run_stream` did: audio [samples, s], readings written, blocks read,
    source faults survived, NaN/inf samples replaced, wall-clock time [s], and what ended
    it: a stop event (``stopped``), ``max_seconds`` (``duration_reached``) or else the end
    of the input."""

    samples: int = 0
    seconds: float = 0.0
    readings: int = 0
    blocks: int = 0
    overruns: int = 0
    input_errors: int = 0
    nonfinite_samples: int = 0
    wall_s: float = 0.0
    stopped: bool = False
    duration_reached: bool = False


def run_stream(source: Source, tuner: Tuner, sink: Any, *, stop_event: Optional[threading.Event] = None,
               stats: Optional[Stats] = None, max_seconds: Optional[float] = None,
               between_blocks: Optional[Callable[[], None]] = None) -> RunResult:
    """Feed ``source`` blocks through ``tuner`` and every reading to ``sink.write(reading)``
    until the source ends, ``stop_event`` is set (checked between blocks) or
    ``max_seconds`` of audio went through.  Stage timings go to ``stats`` if given;
    ``between_blocks`` is called before every read (to apply changes requested from other
    threads).  Does not close the source or the sink."""
    res = RunResult()
    limit = None if max_seconds is None else int(round(float(max_seconds) * tuner.sample_rate))
    prev_stats, prev_nonfinite = tuner.stats, tuner.nonfinite_samples
    if stats is not None:
        tuner.stats = stats
    w0 = time.perf_counter()
    try:
        while not (stop_event is not None and stop_event.is_set()):
            if between_blocks is not None:
                between_blocks()
            t0 = time.perf_counter()
            block = source.read()
            if stats is not None:
                stats.add("read", time.perf_counter() - t0)
            if block is None:
                break
            res.blocks += 1
            if limit is not None and res.samples + len(block) >= limit:
                block = block[: limit - res.samples]
            res.samples += len(block)
            for r in tuner.process(block):
                t0 = time.perf_counter()
                sink.write(r)
                if stats is not None:
                    stats.add("output", time.perf_counter() - t0)
                res.readings += 1
            if limit is not None and res.samples >= limit:
                res.duration_reached = True
                break
        res.stopped = stop_event is not None and stop_event.is_set()
    finally:
        tuner.stats = prev_stats
        res.wall_s = time.perf_counter() - w0
        res.seconds = res.samples / tuner.sample_rate
        res.overruns = int(getattr(source, "overruns", 0))
        res.input_errors = int(getattr(source, "errors", 0))
        res.nonfinite_samples = tuner.nonfinite_samples - prev_nonfinite
        if stats is not None:  # totals over every run that used these stats
            c = stats.counters
            for key, v in (("audio_s", res.seconds), ("wall_s", res.wall_s), ("readings", res.readings),
                           ("overruns", res.overruns), ("input_errors", res.input_errors),
                           ("nonfinite_samples", res.nonfinite_samples)):
                c[key] = c.get(key, 0) + v
            c["real_time_factor"] = c["wall_s"] / c["audio_s"] if c["audio_s"] > 0 else 0.0
    return res


def analyze_samples(samples: np.ndarray, tuner: Tuner, *, block: Optional[int] = None) -> list[Reading]:
    """Readings for a whole signal at the model's rate, fed in ``block``-sample pieces
    exactly as a live stream (the tuner is reset first)."""
    from .sources import DEFAULT_BLOCK

    block = int(block or DEFAULT_BLOCK)
    tuner.reset()
    out: list[Reading] = []
    x = np.asarray(samples, dtype=np.float32)
    for i in range(0, len(x), block):
        out.extend(tuner.process(x[i : i + block]))
    return out


def guitar_salience(samples: np.ndarray, *, model: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The guitar-pitch model alone over a whole signal (what the :class:`Tuner`'s guide
    hears, without the tracker): ``(t, salience)``, ``t`` ``(n,)`` [s] the end
    of each reading's window, ``salience`` ``(n, n_pitch + 1)`` (last column: "no guitar";
    see :mod:`.guitar_model`).  ``model``: a :class:`~.guitar_model.GuitarPitchModel`, a
    ``.tflite`` path, or None for the shipped one."""
    from .guitar_model import GuitarPitchModel, salience_readings

    m = model if isinstance(model, GuitarPitchModel) else GuitarPitchModel(model)
    sal = salience_readings(m, samples)
    t = (np.arange(len(sal)) + 1) * m.fp.reading_samples / m.fp.sample_rate
    return t, sal


__all__: Sequence[str] = (
    "TunerConfig", "Tuner", "Stats", "RunResult", "run_stream", "open_source",
    "analyze_samples", "guitar_salience", "resolve_mode", "DC_CUTOFF_HZ",
)
