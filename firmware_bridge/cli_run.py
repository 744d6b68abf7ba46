"""``cleartune run``: the live tuner loop, headless.

    cleartune run --input mic[:DEVICE] | FILE | - --output stdout|text|tui|gpio|serial:PORT ...

Input (``--input``): the default microphone, ``mic:DEVICE`` (index or name substring),
a WAV file (``--realtime`` paces it like a live source) or ``-`` (raw PCM on stdin,
``--stdin-format/--stdin-rate/--stdin-channels``).  Settings come from the defaults, a
TOML file (``--config FILE``) and the flags (:mod:`.config`); readings go to the outputs
of :mod:`.outputs`.

SIGINT / SIGTERM stop the loop cleanly (source and outputs closed, exit status 0; a
second signal interrupts at once).  Transient input faults (overruns, device errors)
are counted, warned about at most every few seconds, and survived.  ``--stats`` prints
per-stage latency (median, p95), overruns and the real-time factor at exit.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, Optional

from .config import RunConfig, add_output_arguments, add_setting_flags, resolve_run_config

#: Modes the GPIO button cycles through (``note`` joins when a target is configured).
BUTTON_MODES = ("chromatic", "guitar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cleartune.edge.cli_analyze import add_tuner_arguments
    from cleartune.edge.sources import STDIN_FORMATS

    g = parser.add_argument_group("input")
    add_setting_flags(g, ["input"])
    g.add_argument("--stdin-format", choices=sorted(STDIN_FORMATS), default="s16le",
                   help="sample format of --input - (default s16le)")
    g.add_argument("--stdin-rate", type=int, default=None, metavar="HZ",
                   help="sample rate of --input - [Hz] (default: the model's, 22050)")
    g.add_argument("--stdin-channels", type=int, default=1, metavar="N",
                   help="interleaved channels of --input - (averaged; default 1)")
    add_setting_flags(g, ["duration", "realtime"])
    add_output_arguments(parser)
    add_tuner_arguments(parser, defaults=False)
    parser.add_argument("--stats", action="store_true", help="per-stage latency (median, p95) and overruns at exit")
    parser.add_argument("--verbose", "-v", action="store_true", help="setup details on stderr")


class _Button:
    """GPIO button presses (from gpiozero's thread) become note-mapping changes applied
    by the main loop between blocks."""

    def __init__(self, cfg: RunConfig, tuner: Any, *, err):
        self.cfg, self.tuner, self.err = cfg, tuner, err
        self._pressed = threading.Event()

    def press(self) -> None:
        self._pressed.set()

    def apply(self) -> None:
        if not self._pressed.is_set():
            return
        self._pressed.clear()
        tc = self.tuner.config
        if self.cfg.gpio_button_action == "a4":
            choices = list(self.cfg.a4_choices or (tc.a4,))
            nxt = choices[(choices.index(tc.a4) + 1) % len(choices)] if tc.a4 in choices else choices[0]
            self.tuner.set_notes(a4=float(nxt))
            print(f"cleartune run: A4 = {nxt:g} Hz", file=self.err, flush=True)
            return
        modes = list(BUTTON_MODES) + (["note"] if tc.target else [])
        nxt = modes[(modes.index(tc.mode) + 1) % len(modes)] if tc.mode in modes else modes[0]
        self.tuner.set_notes(mode=nxt)
        print(f"cleartune run: mode {nxt}", file=self.err, flush=True)


def _install_signals(stop: threading.Event) -> dict:
    """SIGINT/SIGTERM set ``stop``; a second one raises KeyboardInterrupt.  Returns the
    previous handlers (empty when not in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        old[sig] = signal.signal(sig, handler)
    return old


def _restore_signals(old: dict) -> None:
    for sig, h in old.items():
        try:
            signal.signal(sig, h)
        except (ValueError, TypeError):
            pass


def run(args: argparse.Namespace, *, stop_event: Optional[threading.Event] = None,
        pyaudio_module: Any = None, stdin: Any = None, clock: Any = None) -> int:
    """Run the loop.  ``stop_event``, ``pyaudio_module``, ``stdin`` and ``clock`` (the
    microphone's time base) are for tests."""
    from cleartune.edge.pipeline import Stats, Tuner, TunerConfig, resolve_mode, run_stream
    from cleartune.edge.sources import RateLimitedWarner, open_source

    from .outputs import make_outputs

    err = sys.stderr
    cfg = resolve_run_config(args)
    mode, target = resolve_mode(cfg.mode, cfg.target)
    threads = cfg.threads if cfg.threads is not None else 1
    tcfg = TunerConfig(a4=float(cfg.a4), mode=mode, tuning=cfg.tuning, target=target, model=cfg.model,
                       denoise=bool(cfg.denoise), threads=threads)
    tuner = Tuner(tcfg)
    if tuner.notice:
        print(f"cleartune run: note: {tuner.notice}", file=err, flush=True)
    if args.verbose:
        print(f"cleartune run: {tuner.describe()}", file=err, flush=True)
    warner = RateLimitedWarner(emit=lambda line: print(f"cleartune run: warning: {line}", file=err, flush=True))
    stdin_rate = args.stdin_rate if args.stdin_rate is not None else tcfg.params.sample_rate
    if args.stdin_channels < 1 or stdin_rate <= 0:
        raise ValueError("--stdin-rate and --stdin-channels must be positive")
    stats = Stats() if args.stats else None
    stop = stop_event if stop_event is not None else threading.Event()
    button = _Button(cfg, tuner, err=err)
    old = _install_signals(stop)
    source = sink = None
    try:
        source = open_source(cfg.input, sample_rate=tcfg.params.sample_rate, realtime=bool(cfg.realtime),
                             stdin=stdin if stdin is not None else (sys.stdin.buffer if cfg.input == "-" else None),
                             stdin_format=args.stdin_format, stdin_rate=stdin_rate,
                             stdin_channels=args.stdin_channels, pyaudio_module=pyaudio_module, warn=warner,
                             **({"clock": clock} if clock is not None else {}))
        if args.verbose:
            print(f"cleartune run: input {source.name} at {source.input_rate} Hz -> {source.sample_rate} Hz",
                  file=err, flush=True)
        sink = make_outputs(cfg, on_button=button.press)
        res = run_stream(source, tuner, sink, stop_event=stop, stats=stats, max_seconds=cfg.duration,
                         between_blocks=button.apply)
    finally:
        for thing in (source, sink):
            if thing is not None:
                try:
                    thing.close()
                except Exception as e:  # closing must not hide the real outcome
                    print(f"cleartune run: warning: closing {type(thing).__name__}: {e}", file=err)
        _restore_signals(old)
    if stats is not None:
        print(stats.format(hop_ms=1000.0 * tcfg.params.hop / tcfg.params.sample_rate), file=err, flush=True)
    elif res.overruns or res.input_errors:
        print(f"cleartune run: {res.overruns} input overruns, {res.input_errors} input errors survived",
              file=err, flush=True)
    if args.verbose:
        why = "stopped" if res.stopped else "duration reached" if res.duration_reached else "input ended"
        print(f"cleartune run: {why} after {res.seconds:.2f} s of audio, {res.readings} readings", file=err, flush=True)
    return 0
