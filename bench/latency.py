"""Per-window latency of every stage of the edge loop, float vs int8, 1 vs 4 threads, with
the references (the tracker without the denoiser, librosa.pyin) -- all side by side.

What one *window* is: one hop of ``params.hop`` samples (256 at 22050 Hz = 11.6 ms of
audio); the runtime does a fixed amount of work per hop and a tracker analysis every
``PitchParams.reading_hops`` hops.

How it is measured (:func:`measure_latency`):

* the audio (test clips of a dataset folder, or synthetic notes in noise) is written to
  a temporary WAV and read back block by block through the run loop's
  :class:`~cleartune.edge.sources.FileSource` (**audio read**, per block of
  ``DEFAULT_BLOCK`` samples, also quoted per hop);
* every block is cut into hops; every hop goes through every *system* -- a
  :class:`~cleartune.edge.pipeline.Tuner` with no model (the tracker alone), the
  **default pipeline** (the tracker guided by the guitar-pitch model, ``guide@Nt``: the
  model loaded by ``Tuner`` by its sidecar kind, as ``cleartune run`` loads it) and the
  tracker + mask denoiser, one per (model, threads) -- in an order rotated every hop
  (interleaved: machine noise hits all alike).  Per hop and system: **STFT** (the framer,
  from ``StreamingDenoiser.timing``), **denoiser** (features + model + inverse, idem),
  **guide** (the guitar-pitch model's call once per reading, ``ModelGuide.listen``: its
  features, the interpreter call, the note; timed by wrapping the guide, its features
  and its interpreter from the bench side), **pitch** (``PitchTracker.update`` less the
  guide's call inside it, timed by a thin wrapper: all hops = amortized cost, and the
  reading hops alone = cost per reading), and the **whole pipeline** (``Tuner.process``
  of the hop: sanitising, DC blocker, denoiser, delay line, tracker and its guide), per
  hop and per reading; the **real-time factor** is seconds of audio per second of
  pipeline time (hop / mean time per hop);
* every reading is written to two sinks of :mod:`cleartune.firmware_bridge.outputs`:
  a JSON line (``stdout`` sink on ``/dev/null``, flushed per line) and a binary serial
  frame to a ``loop://`` port (the caller's cost: encode + queue; a background thread
  writes) -- **output**, per reading;
* **librosa.pyin** (:func:`cleartune.bench.references.pyin_track`, same hop, frame 2048) is
  measured two ways, both compared with the edge pipeline per hop:

  - *offline, amortized*: on every whole clip as the stream passes it, time / output frames
    (one frame per hop) -- pyin's best case, which a live tuner cannot have (it needs the
    whole recording);
  - *streaming, per window*: what a live tuner built on pyin must do -- at every reading
    (every ``reading_hops`` hops) pyin on the newest ``frame + (reading_hops - 1) * hop``
    samples (uncentred: exactly the ``reading_hops`` new frames), time / ``reading_hops``.

Figures: median and p95 (and the mean, which is what a real-time loop must sustain) in
milliseconds, after a warm-up that is not recorded.  MACs per call per model (a mask: one
call per hop; the guitar-pitch model: one per reading) from the sidecar
(``macs_per_inference``) or counted from the graph (:mod:`cleartune.quantize.tflite_info`),
with a Raspberry Pi 4 estimate at an assumed int8 LiteRT throughput of
:data:`PI4_GMACS_PER_CORE` GMAC/s per Cortex-A72 core.  Every system's readings are
hashed (:func:`readings_digest`): the default pipeline's digest is that of
``analyze_samples`` with ``Tuner(TunerConfig())`` on the same audio.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

#: Assumed int8 throughput of LiteRT (XNNPACK) on one Cortex-A72 core (Raspberry Pi 4),
#: low and high end [GMAC/s].  An assumption, stated with every estimate, not a measurement.
PI4_GMACS_PER_CORE = (1.0, 2.0)
#: Targets.
TARGET_PIPELINE_MEDIAN_MS = 5.0     # whole pipeline per hop, median, 1 thread (int8 mask; the default pipeline)
TARGET_PYIN_SPEEDUP = 10.0          # pipeline at least this many times faster than pyin per window
DEFAULT_CLIPS = 8
DEFAULT_THREADS = (1, 4)
#: Audio at the start of the stream that is processed but not recorded [s].
WARMUP_S = 2.0


# -- small helpers -------------------------------------------------------------------------------

def summarize_ms(ns: Sequence[float]) -> dict[str, Any]:
    """``{"n", "median_ms", "p95_ms", "mean_ms", "max_ms"}`` of durations given in ns."""
    a = np.asarray(ns, dtype=np.float64) / 1e6
    if a.size == 0:
        return {"n": 0, "median_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    return {"n": int(a.size), "median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
            "mean_ms": float(a.mean()), "max_ms": float(a.max())}


def parse_threads(text: str | Sequence[int]) -> list[int]:
    """``"1,4"`` -> ``[1, 4]`` (positive, unique, in order)."""
    items = text if not isinstance(text, str) else [s for s in text.replace(" ", "").split(",") if s]
    out: list[int] = []
    for s in items:
        try:
            v = int(s)
        except (TypeError, ValueError):
            raise ValueError(f"--threads takes comma-separated positive integers, not {text!r}") from None
        if v < 1:
            raise ValueError(f"--threads must be positive, got {v}")
        if v not in out:
            out.append(v)
    if not out:
        raise ValueError("--threads is empty")
    return out


def model_info(path: str | Path) -> dict[str, Any]:
    """File, version, dtype, kind, bytes, sha256 and MACs per window of a ``.tflite`` model
    (sidecar ``macs_per_inference``, else counted from the graph)."""
    from cleartune.edge.model_meta import load_meta

    p = Path(path)
    meta = load_meta(p, verify_sha=True)
    macs, source = meta.macs_per_inference, "sidecar macs_per_inference"
    if not macs:
        from cleartune.quantize import tflite_info

        macs, source = int(tflite_info.inspect_tflite(p).macs), "counted from the graph (quantize.tflite_info)"
    info = {"path": str(p), "file": p.name, "model_version": meta.model_version, "dtype": meta.dtype, "kind": meta.kind,
            "context_frames": meta.context_frames, "bytes": p.stat().st_size, "sha256": meta.sha256,
            "params": meta.params, "macs_per_window": int(macs) if macs else None, "macs_source": source}
    info["pi4_estimate"] = pi4_estimate(info["macs_per_window"])
    return info


def pi4_estimate(macs: Optional[int], *, hop_ms: Optional[float] = None,
                 calls_per_s: Optional[float] = None) -> Optional[dict[str, Any]]:
    """Model time per call on one Pi 4 core from a MAC count, at the assumed throughputs
    :data:`PI4_GMACS_PER_CORE` [ms]; the share of a hop of audio one call takes; and, with
    ``calls_per_s`` (calls per second of audio: a mask one per hop, the guitar-pitch model
    one per reading), the share of the audio's duration the model takes (1 = real time)."""
    if not macs:
        return None
    from cleartune.edge.params import EDGE

    hop_ms = hop_ms if hop_ms is not None else 1000.0 * EDGE.hop / EDGE.sample_rate
    lo, hi = PI4_GMACS_PER_CORE
    slow, fast = macs / (lo * 1e9) * 1e3, macs / (hi * 1e9) * 1e3
    extra = {} if calls_per_s is None else {
        "calls_per_second": calls_per_s,
        "share_of_audio_range": [fast * calls_per_s / 1e3, slow * calls_per_s / 1e3]}
    return {"assumed_gmacs_per_core": [lo, hi], "ms_per_window_range": [fast, slow],
            "share_of_hop_range": [fast / hop_ms, slow / hop_ms], **extra,
            "note": f"MACs / ({lo:g}-{hi:g} GMAC/s per Cortex-A72 core, int8 LiteRT): an assumption, "
                    "not a measurement; invoke overhead and the non-model stages come on top"}


class _Clock:
    """Sums the wall time [ns] and the number of the calls it times until :meth:`take`."""

    def __init__(self) -> None:
        self.ns = 0
        self.calls = 0

    def take(self) -> tuple[int, int]:
        out = (self.ns, self.calls)
        self.ns = self.calls = 0
        return out


class _TimedCall:
    """A callable (or a bound method) that adds the time of every call to a :class:`_Clock`;
    other attributes are the wrapped object's."""

    def __init__(self, fn: Callable, clock: _Clock):
        self._fn, self._clock = fn, clock

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter_ns()
        try:
            return self._fn(*args, **kwargs)
        finally:
            self._clock.ns += time.perf_counter_ns() - t0
            self._clock.calls += 1

    def __getattr__(self, name: str):
        return getattr(self._fn, name)


class _TimedGuide:
    """Wraps the tracker's guide (a :class:`~cleartune.edge.guide.ModelGuide`): times every
    ``listen`` (the guitar-pitch model's whole call: features, interpreter, note) and, inside
    it, its :class:`~cleartune.edge.guitar_model.GuitarPitchModel`'s feature computation
    (``features.push``) and interpreter call (``model(x)``: quantize, invoke, dequantize),
    by wrapping those two objects of the model in place.  Other attributes are the guide's."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.listen_clock, self.features_clock, self.invoke_clock = _Clock(), _Clock(), _Clock()
        self.listen = _TimedCall(inner.listen, self.listen_clock)
        gm = inner.model
        gm.features.push = _TimedCall(gm.features.push, self.features_clock)
        gm.model = _TimedCall(gm.model, self.invoke_clock)

    def take(self) -> tuple[int, int, int, int]:
        """``(calls, listen ns, features ns, interpreter ns)`` since the last take."""
        ns, calls = self.listen_clock.take()
        return calls, ns, self.features_clock.take()[0], self.invoke_clock.take()[0]

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


class _TimedTracker:
    """Wraps a tracker: times every ``update`` (ns) and notes whether it returned a reading.
    With a ``guide`` (:class:`_TimedGuide`, the one the tracker calls), the guide's calls
    during the update are recorded per hop and subtracted from the tracker's time (``ns``:
    the tracker's own work)."""

    def __init__(self, inner: Any, guide: Optional[_TimedGuide] = None):
        self.inner = inner
        self.guide = guide
        self.notes = getattr(inner, "notes", None)
        self.recording = False
        self.ns: list[int] = []
        self.is_reading: list[bool] = []
        self.guide_calls: list[int] = []
        self.guide_ns: list[int] = []
        self.guide_features_ns: list[int] = []
        self.guide_invoke_ns: list[int] = []

    def update(self, raw_hop: np.ndarray, denoised_hop: Optional[np.ndarray] = None):
        t0 = time.perf_counter_ns()
        r = self.inner.update(raw_hop, denoised_hop)
        dt = time.perf_counter_ns() - t0
        calls, g_ns, f_ns, i_ns = self.guide.take() if self.guide is not None else (0, 0, 0, 0)
        if self.recording:
            self.ns.append(dt - g_ns)
            self.is_reading.append(r is not None)
            self.guide_calls.append(calls)
            self.guide_ns.append(g_ns)
            self.guide_features_ns.append(f_ns)
            self.guide_invoke_ns.append(i_ns)
        return r

    def reset(self) -> None:
        self.inner.reset()


def _hash_readings(readings: Sequence[Any], h: Any) -> None:
    for r in readings:
        h.update(repr(dataclasses.astuple(r)).encode())


def readings_digest(readings: Sequence[Any]) -> str:
    """A short sha256 of readings (every field of each, in order): equal digests, the same
    readings (a result's ``readings_digest`` per system, over the whole stream)."""
    h = hashlib.sha256()
    _hash_readings(readings, h)
    return h.hexdigest()[:16]


@dataclass
class _System:
    key: str
    label: str          # "no-denoise", "float", "int8", "guide"
    threads: Optional[int]
    tuner: Any
    tracker: _TimedTracker
    total_ns: list = field(default_factory=list)
    stft_ns: list = field(default_factory=list)
    model_ns: list = field(default_factory=list)
    readings: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


def _make_system(key: str, label: str, threads: Optional[int], model: Optional[str], params) -> _System:
    """A Tuner with a timed tracker: no model (``model`` None), a mask denoiser, or
    (``label`` ``"guide"``) the tracker guided by a guitar-pitch model, loaded as the
    pipeline loads it (``Tuner`` by the sidecar kind) and timed from the outside."""
    from cleartune.edge.errors import ModelLoadError
    from cleartune.edge.pipeline import Tuner, TunerConfig
    from cleartune.edge.pitch import PitchParams, PitchTracker

    cfg = TunerConfig(model=model, denoise=model is not None, threads=threads or 1, params=params)
    guide = None
    if label == "guide":
        built = Tuner(cfg)              # the model as the pipeline builds it (its kind decides)
        if built.guide is None:
            raise ModelLoadError(f"{model}: not a guitar-pitch model (sidecar kind), cannot guide the tracker")
        guide = _TimedGuide(built.guide)
    tracker = _TimedTracker(PitchTracker(sample_rate=params.sample_rate, hop=params.hop, params=PitchParams(),
                                         notes=cfg.note_mapper(), guide=guide), guide=guide)
    tuner = Tuner(cfg, tracker=tracker, guide=guide)
    if label in ("float", "int8") and tuner.denoiser is None:
        raise ModelLoadError(f"{model}: the denoiser did not load (a {label} mask model is expected)")
    return _System(key=key, label=label, threads=threads, tuner=tuner, tracker=tracker)


# -- audio ---------------------------------------------------------------------------------------

def dataset_clips(data_dir: str | Path, n: int, *, seed: int = 0, split: Optional[str] = None) -> tuple[list[np.ndarray], str]:
    """``n`` mixes of a dataset folder spread over its SNR range (float32 clips) and a description."""
    from cleartune.quantize.windows import stratified_rows
    from cleartune.train.data.dataset import iter_examples, load_metadata

    d = Path(data_dir)
    rows = load_metadata(d, split=split)
    if not rows:
        from cleartune.edge.errors import DataError

        raise DataError(f"{d}: no mixes" + (f" in split {split!r}" if split else ""))
    rows = stratified_rows(rows, n, seed=seed)
    clips = [np.asarray(mix, np.float32) for mix, _c, _n, _r in iter_examples(d, rows=rows)]
    snrs = sorted({float(r.get("snr_db", float("nan"))) for r in rows})
    return clips, f"{len(clips)} mixes of {d} (SNRs {', '.join('clean' if s == math.inf else f'{s:g}' for s in snrs)} dB)"


def synthetic_clips(n: int, *, seconds: float = 3.0, seed: int = 0, sample_rate: Optional[int] = None) -> tuple[list[np.ndarray], str]:
    """``n`` synthetic plucked notes (E2..E6) in noise at 0-10 dB SNR (when no dataset is given)."""
    from cleartune.edge.params import EDGE
    from cleartune.train import synth

    sr = sample_rate or EDGE.sample_rate
    rng = np.random.default_rng(seed)
    noises = (synth.pink_noise, synth.white_noise, synth.babble)
    clips = []
    for i in range(n):
        midi = int(rng.integers(40, 89))
        tone = synth.plucked_string(synth.detuned_hz(midi, float(rng.uniform(-40, 40))), sample_rate=sr,
                                    duration=seconds, onset_s=float(rng.uniform(0.1, 0.5)), seed=int(rng.integers(1 << 30)))
        noise = noises[i % len(noises)](seconds, sample_rate=sr, seed=int(rng.integers(1 << 30)))
        clips.append(np.asarray(synth.mix_at_snr(tone.audio, noise, float(rng.uniform(0, 10))), np.float32))
    return clips, f"{n} synthetic plucked notes in noise (0-10 dB SNR), {seconds:g} s each"


# -- the measurement -----------------------------------------------------------------------------

def measure_latency(*, float_model: Optional[str | Path], int8_model: Optional[str | Path],
                    guide_model: Optional[str | Path] = None,
                    threads: Sequence[int] = DEFAULT_THREADS, clips: Optional[list[np.ndarray]] = None,
                    audio_desc: str = "", with_pyin: bool = True, warmup_s: float = WARMUP_S,
                    command: Optional[str] = None, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Measure every stage for every system side by side (see the module docstring) and
    return the result dict (what :func:`write_latency` writes).  ``clips``: float32 mono
    clips at the models' rate (default: 8 synthetic ones).  ``guide_model``: the
    guitar-pitch model of the default pipeline (systems ``guide@Nt``; the CLI passes the
    shipped one), None: not measured."""
    from cleartune.bench.references import GUITAR_FMAX, GUITAR_FMIN, PYIN_FRAME, pyin_track
    from cleartune.edge import audio_io
    from cleartune.edge.params import EDGE
    from cleartune.edge.pitch import PitchParams
    from cleartune.edge.sources import DEFAULT_BLOCK, FileSource
    from cleartune.provenance import provenance

    params = EDGE
    hop, sr = params.hop, params.sample_rate
    hop_ms = 1000.0 * hop / sr
    threads = parse_threads(threads)
    if clips is None:
        clips, audio_desc = synthetic_clips(DEFAULT_CLIPS)
    rh = PitchParams().reading_hops
    models: dict[str, dict[str, Any]] = {}
    for label, path in (("guide", guide_model), ("float", float_model), ("int8", int8_model)):
        if path is not None:
            m = models[label] = model_info(path)
            m["calls_per"] = "reading" if label == "guide" else "hop"
            per_s = sr / hop / (rh if label == "guide" else 1)
            m["pi4_estimate"] = pi4_estimate(m["macs_per_window"], hop_ms=hop_ms, calls_per_s=per_s)

    systems = [_make_system("no-denoise", "no-denoise", None, None, params)]
    for t in threads:
        for label in ("guide", "float", "int8"):
            if label in models:
                systems.append(_make_system(f"{label}@{t}t", label, t, models[label]["path"], params))
    log(f"latency: systems {', '.join(s.key for s in systems)}" + (" + librosa.pyin" if with_pyin else ""))

    sinks = _make_sinks()
    pyin_win = PYIN_FRAME + (rh - 1) * hop       # a live pyin tuner's input: the newest rh frames
    pyin_fn = pyin_live = None
    if with_pyin:
        pyin_fn = lambda x: pyin_track(x, sample_rate=sr, hop=hop)  # noqa: E731
        pyin_live = lambda x: pyin_track(x, sample_rate=sr, hop=hop, center=False)  # noqa: E731

    audio = np.concatenate(clips).astype(np.float32)
    bounds = np.cumsum([len(c) for c in clips])
    warm_hops = int(math.ceil(warmup_s * sr / hop))
    read_ns: list[int] = []
    pyin_frame_ns: list[float] = []
    pyin_stream_ns: list[float] = []      # per hop: one streaming pyin call / reading_hops
    out_ns: dict[str, list[int]] = {k: [] for k in sinks}
    with tempfile.TemporaryDirectory(prefix="cleartune-bench-") as tmp:
        wav = Path(tmp) / "latency.wav"
        audio_io.write_wav(wav, audio, sr, subtype="float32")
        if pyin_fn is not None:  # warm librosa up (imports, numba compilation): not recorded
            pyin_fn(clips[0][: sr])
        src = FileSource(str(wav), sample_rate=sr, block=DEFAULT_BLOCK)
        n_hop = 0
        clip_i = 0
        rot = 0

        def run_pyin(i: int, upto: int) -> int:
            while i < len(clips) and upto >= bounds[i]:
                if pyin_fn is not None and bounds[i] > warm_hops * hop:
                    t0 = time.perf_counter_ns()
                    _t, f0 = pyin_fn(clips[i])
                    pyin_frame_ns.append((time.perf_counter_ns() - t0) / max(1, len(f0)))
                i += 1
                log(f"latency: clip {i}/{len(clips)}")
            return i

        try:
            while True:
                t0 = time.perf_counter_ns()
                block = src.read()
                dt = time.perf_counter_ns() - t0
                if block is None:
                    break
                recording = n_hop >= warm_hops
                if recording:
                    read_ns.append(dt)
                for j in range(len(block) // hop):
                    h = block[j * hop:(j + 1) * hop]
                    rec = n_hop >= warm_hops
                    order = systems[rot:] + systems[:rot]
                    rot = (rot + 1) % len(systems)
                    for s in order:
                        s.tracker.recording = rec
                        t0 = time.perf_counter_ns()
                        readings = s.tuner.process(h)
                        dt = time.perf_counter_ns() - t0
                        if rec:
                            s.total_ns.append(dt)
                            if s.tuner.denoiser is not None:
                                st, mt = s.tuner.denoiser.timing
                                s.stft_ns.append(st * 1e9)
                                s.model_ns.append(mt * 1e9)
                        _hash_readings(readings, s.digest)
                        for r in readings:
                            s.readings += 1
                            for name, sink in sinks.items():
                                t0 = time.perf_counter_ns()
                                sink.write(r)
                                dt = time.perf_counter_ns() - t0
                                if rec:
                                    out_ns[name].append(dt)
                    n_hop += 1
                    if pyin_live is not None and rec and n_hop % rh == 0 and n_hop * hop >= pyin_win:
                        # a live pyin tuner: the newest reading_hops frames, once per reading
                        seg = audio[n_hop * hop - pyin_win:n_hop * hop]
                        t0 = time.perf_counter_ns()
                        pyin_live(seg)
                        pyin_stream_ns.append((time.perf_counter_ns() - t0) / rh)
                # the clips the stream has passed: pyin on each (its cost per output frame), in step with the stream
                clip_i = run_pyin(clip_i, n_hop * hop)
            run_pyin(clip_i, len(audio))  # the end of the stream (a trailing partial hop is not processed)
        finally:
            src.close()
            serial_stats = _close_sinks(sinks)
    block_hops = DEFAULT_BLOCK // hop
    sysres: dict[str, Any] = {}
    for s in systems:
        tk = s.tracker
        pitch = np.asarray(tk.ns, np.float64)
        is_r = np.asarray(tk.is_reading, bool)
        total = np.asarray(s.total_ns, np.float64)
        tot = summarize_ms(total)
        g_calls = np.asarray(tk.guide_calls, np.int64)
        guided = tk.guide is not None
        g_hops = g_calls > 0
        sysres[s.key] = {
            "label": s.label, "threads": s.threads, "hops": len(s.total_ns), "readings": s.readings,
            "denoiser": s.tuner.denoiser.describe() if s.tuner.denoiser is not None else None,
            "guide": s.tuner.guide.describe() if guided else None,
            "stft": summarize_ms(s.stft_ns) if s.stft_ns else None,
            "denoise": summarize_ms(s.model_ns) if s.model_ns else None,
            # the guitar-pitch model's call, on the hops where the tracker called it (once per reading)
            "guide_calls": int(g_calls.sum()) if guided else None,
            "guide_calls_on_reading_hops": int(g_calls[is_r].sum()) if guided else None,
            "guide_per_reading": summarize_ms(np.asarray(tk.guide_ns, np.float64)[g_hops]) if guided else None,
            "guide_features_per_reading": summarize_ms(np.asarray(tk.guide_features_ns, np.float64)[g_hops]) if guided else None,
            "guide_invoke_per_reading": summarize_ms(np.asarray(tk.guide_invoke_ns, np.float64)[g_hops]) if guided else None,
            "guide_amortized_per_hop_ms": (float(np.sum(tk.guide_ns)) / 1e6 / max(1, len(tk.guide_ns))) if guided else None,
            # the tracker's own work (a guide's call subtracted)
            "pitch_per_hop": summarize_ms(pitch),
            "pitch_per_reading": summarize_ms(pitch[is_r]),
            "pitch_between_readings": summarize_ms(pitch[~is_r]),
            "total_per_hop": tot,
            "total_per_reading": summarize_ms(total[is_r]),
            "total_between_readings": summarize_ms(total[~is_r]),
            "real_time_share": (tot["mean_ms"] / hop_ms) if tot["mean_ms"] is not None else None,
            # seconds of audio per second of compute (hops x hop / summed Tuner.process time)
            "real_time_factor": (len(total) * hop / sr) / (float(total.sum()) / 1e9) if total.sum() > 0 else None,
            "readings_digest": s.digest.hexdigest()[:16],
        }
    read = summarize_ms(read_ns)
    shared = {
        "read_per_block": read,
        "read_per_hop": {k: (v / block_hops if isinstance(v, float) else v) for k, v in read.items()},
        "block_samples": DEFAULT_BLOCK,
        "output": {name: summarize_ms(v) for name, v in out_ns.items()},
        "serial_sink": serial_stats,
    }
    pyin = {"per_frame": summarize_ms(pyin_frame_ns), "clips": len(pyin_frame_ns),
            "what": f"librosa.pyin (bench.references.pyin_track: fmin {GUITAR_FMIN:g}, fmax {GUITAR_FMAX:g} Hz, "
                    f"frame {PYIN_FRAME}, hop {hop}) over a whole clip, time / output frames",
            "streaming_per_hop": summarize_ms(pyin_stream_ns), "streaming_calls": len(pyin_stream_ns),
            "streaming_what": f"librosa.pyin on the newest {pyin_win} samples (uncentred, {rh} frames) at every "
                              f"reading, time / {rh} hops"} if with_pyin else None
    result = {
        "title": "cleartune: per-window latency",
        "provenance": provenance(command),
        "audio": {"description": audio_desc, "seconds": len(audio) / sr, "clips": len(clips),
                  "warmup_s": warmup_s, "recorded_hops": max(0, n_hop - warm_hops)},
        "params": {"sample_rate": sr, "hop": hop, "hop_ms": hop_ms, "reading_hops": rh,
                   "reading_ms": hop_ms * rh, "block_samples": DEFAULT_BLOCK},
        "interleaved": True,
        "models": models,
        "systems": sysres,
        "shared": shared,
        "pyin": pyin,
    }
    result["ratios"] = _ratios(result)
    result["targets"] = _targets(result)
    return result


def _make_sinks() -> dict[str, Any]:
    """The two outputs timed per reading: JSON line to /dev/null, binary frame to loop://."""
    devnull = open(os.devnull, "w")
    from cleartune.firmware_bridge.config import RunConfig
    from cleartune.firmware_bridge.outputs import make_output

    sinks = {"json_line": make_output("stdout", RunConfig(), stream=devnull)}
    sinks["json_line"]._bench_stream = devnull
    try:
        drain = _LoopDrain()
        sinks["serial_binary_loop"] = make_output("serial:loop://", RunConfig(wire="binary", outputs=("serial:loop://",)),
                                                  serial_factory=drain)
        sinks["serial_binary_loop"]._bench_drain = drain
    except Exception as e:  # pyserial missing: say so in the result
        print(f"cleartune bench: note: serial output not timed ({e})", file=sys.stderr)
    return sinks


class _LoopDrain:
    """Opens the pyserial ``loop://`` port for the serial sink and reads it back from a
    daemon thread (the far end of the cable), so its 4 kB buffer never fills."""

    def __init__(self) -> None:
        self.port: Any = None
        self.received = 0
        self._stop = None

    def __call__(self, port: str, *, baudrate: int, write_timeout: float):
        import threading

        import serial

        self.port = serial.serial_for_url(port, baudrate=baudrate, write_timeout=write_timeout, timeout=0.05)
        self._stop = threading.Event()
        threading.Thread(target=self._drain, name="bench-loop-drain", daemon=True).start()
        return self.port

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self.received += len(self.port.read(4096))
            except Exception:
                return

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()


def _close_sinks(sinks: dict[str, Any]) -> Optional[dict[str, Any]]:
    stats = None
    for s in sinks.values():
        if hasattr(s, "wait_idle"):
            s.wait_idle(2.0)
        s.close()
        if hasattr(s, "stats"):
            stats = s.stats()
        drain = getattr(s, "_bench_drain", None)
        if drain is not None:
            drain.stop()
            if stats is not None:
                stats["bytes_received_at_far_end"] = drain.received
        stream = getattr(s, "_bench_stream", None)
        if stream is not None:
            stream.close()
    return stats


def _get(d: Optional[dict], *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k)
    return d


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b is not None and b > 0 else None


def _ratios(r: dict[str, Any]) -> dict[str, Any]:
    S = r["systems"]
    out: dict[str, Any] = {}
    pyin_mean = _get(r.get("pyin"), "per_frame", "mean_ms")
    pyin_med = _get(r.get("pyin"), "per_frame", "median_ms")
    pyin_stream = _get(r.get("pyin"), "streaming_per_hop", "mean_ms")
    for key, s in S.items():
        mean, med = s["total_per_hop"]["mean_ms"], s["total_per_hop"]["median_ms"]
        out[key] = {
            "pyin_over_pipeline_mean": _ratio(pyin_mean, mean),
            "pyin_over_pipeline_median": _ratio(pyin_med, med),
            "pyin_streaming_over_pipeline_mean": _ratio(pyin_stream, mean),
            "vs_no_denoise_mean": _ratio(mean, S["no-denoise"]["total_per_hop"]["mean_ms"]),
            "denoiser_overhead_mean_ms": (mean - S["no-denoise"]["total_per_hop"]["mean_ms"]) if key != "no-denoise" else 0.0,
        }
    for t in sorted({s["threads"] for s in S.values() if s["threads"]}):
        f, q, g = S.get(f"float@{t}t"), S.get(f"int8@{t}t"), S.get(f"guide@{t}t")
        if f and q:
            out[f"int8_over_float_denoise_median@{t}t"] = _ratio(q["denoise"]["median_ms"], f["denoise"]["median_ms"])
        if g and q:  # the default pipeline against tracker + int8 mask, same threads
            out[f"guide_over_int8_pipeline_mean@{t}t"] = _ratio(g["total_per_hop"]["mean_ms"], q["total_per_hop"]["mean_ms"])
    for lab in ("float", "int8"):
        ts = sorted(s["threads"] for s in S.values() if s["label"] == lab)
        if len(ts) > 1:
            a, b = S[f"{lab}@{ts[0]}t"], S[f"{lab}@{ts[-1]}t"]
            out[f"{lab}_denoise_median_{ts[-1]}t_over_{ts[0]}t"] = _ratio(b["denoise"]["median_ms"], a["denoise"]["median_ms"])
    ts = sorted(s["threads"] for s in S.values() if s["label"] == "guide")
    if len(ts) > 1:
        a, b = S[f"guide@{ts[0]}t"], S[f"guide@{ts[-1]}t"]
        out[f"guide_median_{ts[-1]}t_over_{ts[0]}t"] = _ratio(b["guide_per_reading"]["median_ms"],
                                                               a["guide_per_reading"]["median_ms"])
    return out


def _targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    S = r["systems"]
    q1 = S.get("int8@1t")

    def item(name, value, threshold, ok, unit, note=""):
        status = "n/a" if value is None else ("pass" if ok(value) else "fail")
        return {"target": name, "value": value, "threshold": threshold, "unit": unit, "status": status, "note": note}

    g1 = S.get("guide@1t")
    med = _get(q1, "total_per_hop", "median_ms")
    spd = _get(r["ratios"], "int8@1t", "pyin_over_pipeline_mean")
    spd_stream = _get(r["ratios"], "int8@1t", "pyin_streaming_over_pipeline_mean")
    g_med = _get(g1, "total_per_hop", "median_ms")
    g_stream = _get(r["ratios"], "guide@1t", "pyin_streaming_over_pipeline_mean")
    no_g = "" if g1 else "no guitar-pitch model measured at 1 thread"
    return [
        item("edge pipeline per hop (STFT + int8 denoiser + pitch, Tuner.process), median at 1 thread", med,
             TARGET_PIPELINE_MEDIAN_MS, lambda v: v <= TARGET_PIPELINE_MEDIAN_MS, "ms",
             "" if q1 else "no int8 model measured at 1 thread"),
        item("librosa.pyin streaming (per reading window, per hop) / edge pipeline per hop (int8, 1 thread, means)",
             spd_stream, TARGET_PYIN_SPEEDUP, lambda v: v >= TARGET_PYIN_SPEEDUP, "x faster",
             "" if r.get("pyin") else "pyin not measured"),
        item("librosa.pyin offline per frame (whole clip, amortized: pyin's best case) / edge pipeline per hop "
             "(int8, 1 thread, means)", spd,
             TARGET_PYIN_SPEEDUP, lambda v: v >= TARGET_PYIN_SPEEDUP, "x faster",
             "" if r.get("pyin") else "pyin not measured"),
        # the default pipeline (cleartune run): the tracker guided by the guitar-pitch model
        item("default pipeline per hop (tracker + guitar-pitch model, Tuner.process), median at 1 thread", g_med,
             TARGET_PIPELINE_MEDIAN_MS, lambda v: v <= TARGET_PIPELINE_MEDIAN_MS, "ms", no_g),
        item("librosa.pyin streaming (per reading window, per hop) / default pipeline per hop (1 thread, means)",
             g_stream, TARGET_PYIN_SPEEDUP, lambda v: v >= TARGET_PYIN_SPEEDUP, "x faster",
             no_g or ("" if r.get("pyin") else "pyin not measured")),
    ]


# -- writing -------------------------------------------------------------------------------------

def _f(v, nd: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _mp(d: Optional[dict], nd: int = 3) -> str:
    """``median / p95`` of a summary."""
    if not d or d.get("median_ms") is None:
        return "-"
    return f"{d['median_ms']:.{nd}f} / {d['p95_ms']:.{nd}f}"


def to_markdown(r: dict[str, Any]) -> str:
    from cleartune.provenance import markdown_block

    p, S, sh = r["params"], r["systems"], r["shared"]
    keys = list(S)
    L = [f"# {r['title']}", "",
         f"One window = one hop of {p['hop']} samples at {p['sample_rate']} Hz = **{p['hop_ms']:.2f} ms of audio**; "
         f"a reading every {p['reading_hops']} hops ({p['reading_ms']:.1f} ms).  Audio: {r['audio']['description']}, "
         f"{r['audio']['seconds']:.1f} s through the run loop's FileSource (blocks of {p['block_samples']} samples); "
         f"the first {r['audio']['warmup_s']:g} s are warm-up, {r['audio']['recorded_hops']} hops recorded per system.  "
         "All systems are fed the same hops, the order rotated every hop (interleaved).  "
         "Systems: `no-denoise` = the tracker alone; `guide@Nt` = **the default pipeline** (`cleartune run`: the "
         "tracker guided by the guitar-pitch model, once per reading); `float@Nt` / `int8@Nt` = the tracker + "
         "the mask denoiser (every hop); N = interpreter threads.", "",
         "## Targets", "", "| target | value | threshold | status |", "|---|---|---|---|"]
    for t in r["targets"]:
        op = ">=" if "faster" in t["unit"] else "<="
        note = f" ({t['note']})" if t["note"] else ""
        L.append(f"| {t['target']} | {_f(t['value'], 2)} {t['unit']} | {op} {t['threshold']:g} | **{t['status']}**{note} |")
    L += ["", "## Per reading and real time, side by side", "",
          f"One reading = {p['reading_hops']} hops = {p['reading_ms']:.1f} ms of audio.  Milliseconds, median / p95; "
          "real-time factor = seconds of audio per second of pipeline time (Tuner.process, all recorded hops).", "",
          "| system | model call, per reading | tracker, per reading | **whole pipeline, per reading** | "
          "whole pipeline, per hop | mean per hop | real-time factor |", "|---|---|---|---|---|---|---|"]
    for k in keys:
        s = S[k]
        call = (_mp(s.get("guide_per_reading")) + " (guide)" if s.get("guide_per_reading") else
                (f"{_mp(s['denoise'])} per hop, {p['reading_hops']} hops (mask)" if s["denoise"] else "-"))
        rtf = s.get("real_time_factor")
        L.append(f"| {k} | {call} | {_mp(s['pitch_per_reading'])} | **{_mp(s.get('total_per_reading'))}** | "
                 f"{_mp(s['total_per_hop'])} | {_f(s['total_per_hop']['mean_ms'])} | "
                 f"{'-' if rtf is None else f'{rtf:.1f}x'} |")
    L += ["", "## Stages, milliseconds: median / p95", "",
          "| stage | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]

    def row(name: str, get) -> None:
        L.append(f"| {name} | " + " | ".join(get(S[k]) for k in keys) + " |")

    rd, out = sh["read_per_hop"], sh["output"]
    row("audio read, per hop (FileSource block / " + str(p["block_samples"] // p["hop"]) + ")", lambda s: _mp(rd, 4))
    row("STFT (framer), per hop", lambda s: _mp(s["stft"]))
    row("denoiser (features + model + inverse), per hop", lambda s: _mp(s["denoise"]))
    if any(S[k].get("guide_per_reading") for k in keys):
        row("guide: features, per reading", lambda s: _mp(s.get("guide_features_per_reading")))
        row("guide: interpreter call, per reading", lambda s: _mp(s.get("guide_invoke_per_reading")))
        row("guide: whole call (features + interpreter + note), per reading", lambda s: _mp(s.get("guide_per_reading")))
        row("guide, amortized per hop (mean)", lambda s: _f(s.get("guide_amortized_per_hop_ms")))
    row("pitch (tracker, a guide's call excluded), per hop (all hops)", lambda s: _mp(s["pitch_per_hop"]))
    row("pitch, amortized per hop (mean)", lambda s: _f(s["pitch_per_hop"]["mean_ms"]))
    row("pitch, per reading (reading hops)", lambda s: _mp(s["pitch_per_reading"]))
    if "json_line" in out:
        row("output: JSON line, per reading", lambda s: _mp(out["json_line"], 4))
    if "serial_binary_loop" in out:
        row("output: binary frame to serial loop://, per reading", lambda s: _mp(out["serial_binary_loop"], 4))
    row("**whole pipeline per hop** (Tuner.process)", lambda s: "**" + _mp(s["total_per_hop"]) + "**")
    row("whole pipeline, per reading (reading hops)", lambda s: _mp(s.get("total_per_reading")))
    row("whole pipeline, between readings", lambda s: _mp(s.get("total_between_readings")))
    row("whole pipeline, mean per hop (amortized)", lambda s: _f(s["total_per_hop"]["mean_ms"]))
    row("whole pipeline, mean / hop of audio", lambda s: f"{100 * s['real_time_share']:.1f} %" if s["real_time_share"] else "-")
    row("real-time factor (s of audio / s of compute)",
        lambda s: f"{s['real_time_factor']:.1f}x" if s.get("real_time_factor") else "-")
    if r.get("pyin"):
        pf = r["pyin"]["per_frame"]
        L += ["", f"Reference: **librosa.pyin** per output frame (same hop, {r['pyin']['clips']} clips, whole clip "
                  f"time / frames): median {_f(pf['median_ms'])} ms, p95 {_f(pf['p95_ms'])} ms, mean {_f(pf['mean_ms'])} ms."]
        ps = r["pyin"].get("streaming_per_hop")
        if ps and ps.get("median_ms") is not None:
            L += ["", f"Reference: **librosa.pyin streaming** ({r['pyin']['streaming_what']}; {r['pyin']['streaming_calls']} "
                      f"calls), per hop: median {_f(ps['median_ms'])} ms, p95 {_f(ps['p95_ms'])} ms, mean {_f(ps['mean_ms'])} ms "
                      f"(one call: {_f(ps['median_ms'] * p['reading_hops'], 1)} ms median for a reading every "
                      f"{p['reading_ms']:.1f} ms)."]
    L += ["", "## Ratios (same run, interleaved)", "", "| system | pyin streaming / pipeline (means) | "
          "pyin offline / pipeline (means) | pyin offline / pipeline (medians) | "
          "pipeline / no-denoise (means) | model overhead ms (means) |", "|---|---|---|---|---|---|"]
    for k in keys:
        q = r["ratios"][k]
        L.append(f"| {k} | {_f(q.get('pyin_streaming_over_pipeline_mean'), 1)} | "
                 f"{_f(q['pyin_over_pipeline_mean'], 1)} | {_f(q['pyin_over_pipeline_median'], 1)} | "
                 f"{_f(q['vs_no_denoise_mean'], 2)} | {_f(q['denoiser_overhead_mean_ms'])} |")
    extra = [(k, v) for k, v in r["ratios"].items() if not isinstance(v, dict)]
    if extra:
        L += [""] + [f"- {k}: {_f(v, 2)}" for k, v in extra]
    if r["models"]:
        L += ["", "## Models: MACs per call and a Raspberry Pi 4 estimate", "",
              "| model | file | bytes | one call per | MACs / call | MAC source | Pi 4 model time / call (1 core) | "
              "share of a hop, per call | share of the audio (calls / s) |",
              "|---|---|---|---|---|---|---|---|---|"]
        for lab, m in r["models"].items():
            e = m.get("pi4_estimate")
            est = f"{e['ms_per_window_range'][0]:.3f}-{e['ms_per_window_range'][1]:.3f} ms" if e else "-"
            share = f"{100 * e['share_of_hop_range'][0]:.1f}-{100 * e['share_of_hop_range'][1]:.1f} %" if e else "-"
            audio = (f"{100 * e['share_of_audio_range'][0]:.1f}-{100 * e['share_of_audio_range'][1]:.1f} % "
                     f"({e['calls_per_second']:.1f})" if e and e.get("share_of_audio_range") else "-")
            per = m.get("calls_per", "hop")
            L.append(f"| {lab} ({m['model_version']}, {m['dtype']}) | `{m['file']}` | {m['bytes']:,} | {per} | "
                     f"{m['macs_per_window']:,} | {m['macs_source']} | {est} | {share} | {audio} |" if m["macs_per_window"] else
                     f"| {lab} | `{m['file']}` | {m['bytes']:,} | {per} | - | - | - | - | - |")
        lo, hi = PI4_GMACS_PER_CORE
        L += ["", f"Pi 4 estimate = MACs / ({lo:g} to {hi:g} GMAC/s), the assumed int8 LiteRT throughput of one "
                  "Cortex-A72 core -- an assumption, not a measurement; it covers the model only (invoke overhead, "
                  "the STFT or the guide's features, the tracker and Python come on top; measure on the device with "
                  "this command).  A mask runs every hop; the guitar-pitch model (guide) once per reading."]
    ss = sh.get("serial_sink")
    if ss:
        L += ["", f"Serial sink after the run: {ss}."]
    L += ["", "## Provenance", "", markdown_block(r["provenance"]).rstrip(), ""]
    return "\n".join(L)


def write_latency(result: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """``latency.md`` and ``latency.json`` in ``out_dir`` (written atomically)."""
    from .results_io import write_result

    return write_result(result, out_dir, stem="latency", markdown=to_markdown(result))


def summary_lines(r: dict[str, Any]) -> list[str]:
    """A few lines for the terminal."""
    S = r["systems"]
    lines = []
    for k, s in S.items():
        t = s["total_per_hop"]
        rtf = s.get("real_time_factor")
        lines.append(f"  {k:<11} per hop: median {_f(t['median_ms'])} ms, p95 {_f(t['p95_ms'])} ms, mean {_f(t['mean_ms'])} ms"
                     + (f"; denoiser median {_f(s['denoise']['median_ms'])} ms" if s["denoise"] else "")
                     + (f"; guide per reading median {_f(s['guide_per_reading']['median_ms'])} ms"
                        if s.get("guide_per_reading") else "")
                     + f"; pitch per reading median {_f(s['pitch_per_reading']['median_ms'])} ms"
                     + (f"; per reading median {_f(_get(s, 'total_per_reading', 'median_ms'))} ms"
                        f"; {rtf:.1f}x real time" if rtf else ""))
    if r.get("pyin"):
        lines.append(f"  pyin per frame: median {_f(r['pyin']['per_frame']['median_ms'])} ms offline (amortized), "
                     f"{_f(_get(r['pyin'], 'streaming_per_hop', 'median_ms'))} ms per hop streaming")
    for t in r["targets"]:
        lines.append(f"  target: {t['target']}: {_f(t['value'], 2)} {t['unit']} -> {t['status']}")
    return lines
