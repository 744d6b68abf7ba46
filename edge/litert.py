"""Loading a .tflite model: ai-edge-litert first, then tflite-runtime, then tf.lite.

:class:`TFLiteModel` wraps an interpreter with float-in/float-out calls that quantize and
dequantize int8 tensors with the model's own scales, into preallocated buffers.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from .errors import ModelLoadError

#: (module, attribute path, backend name) in order of preference.
BACKENDS: Sequence[tuple[str, str, str]] = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow.lite.python.interpreter", "Interpreter", "tf.lite"),  # tf.lite.Interpreter (the "tensorflow.lite" package lacks it)
)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block, to hide C libraries' chatter
    (TFLite delegate notices, ALSA probing).  Python exceptions are unaffected; does
    nothing where fd 2 cannot be duplicated."""
    saved = None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)


def interpreter_class(prefer: Optional[str] = None):
    """Return ``(Interpreter class, backend name)`` of the first importable backend
    (``prefer`` names one to try first).  Raises :class:`ModelLoadError` if none is installed."""
    order = list(BACKENDS)
    if prefer:
        order.sort(key=lambda b: b[2] != prefer)
    errors = []
    for mod, attr, name in order:
        try:
            cls = getattr(importlib.import_module(mod), attr)
            return cls, name
        except Exception as e:  # ImportError, or a broken install (numpy ABI, ...)
            errors.append(f"{name}: {type(e).__name__}")
    raise ModelLoadError("no TFLite interpreter installed (pip install ai-edge-litert); tried " + ", ".join(errors))


def make_interpreter(model_path: str | Path, *, num_threads: int = 1, prefer: Optional[str] = None):
    """Load ``model_path`` and allocate tensors.  Returns ``(interpreter, backend_name)``."""
    p = Path(model_path)
    if not p.is_file():
        raise ModelLoadError(f"{p}: model file not found")
    cls, name = interpreter_class(prefer)
    try:
        with quiet_stderr(), warnings.catch_warnings():  # the runtime prints "INFO: Created ... XNNPACK delegate" on fd 2
            # tf.lite is the last resort (only when neither LiteRT nor tflite-runtime is installed, --verbose
            # names it): its deprecation notice in favour of LiteRT is not the user's to act on here
            warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated", category=UserWarning)
            interp = cls(model_path=str(p), num_threads=int(num_threads))
            interp.allocate_tensors()
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"{p}: not a valid TFLite model ({first})") from None
    return interp, name


class TFLiteModel:
    """One-input, one-output TFLite model with float32 in and out.

    ``model(x)`` quantizes ``x`` (float32, the input tensor's shape) when the input is
    int8, invokes, and returns the dequantized output (a view of a reused buffer: copy
    it if you keep it)."""

    def __init__(self, model_path: str | Path, *, num_threads: int = 1, prefer: Optional[str] = None):
        self.path = Path(model_path)
        self.interpreter, self.backend = make_interpreter(model_path, num_threads=num_threads, prefer=prefer)
        ins, outs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise ModelLoadError(f"{self.path}: expected one input and one output, got {len(ins)} and {len(outs)}")
        self._in, self._out = ins[0], outs[0]
        self.input_shape = tuple(int(s) for s in self._in["shape"])
        self.output_shape = tuple(int(s) for s in self._out["shape"])
        self.input_dtype = np.dtype(self._in["dtype"])
        self.output_dtype = np.dtype(self._out["dtype"])
        self.in_scale, self.in_zero = self._qparams(self._in)
        self.out_scale, self.out_zero = self._qparams(self._out)
        self._qin = np.zeros(self.input_shape, dtype=self.input_dtype)
        self._fin = np.zeros(self.input_shape, dtype=np.float32)  # quantization scratch
        self._fout = np.zeros(self.output_shape, dtype=np.float32)

    @staticmethod
    def _qparams(detail) -> tuple[float, int]:
        scale, zero = detail.get("quantization", (0.0, 0))
        return float(scale), int(zero)

    @property
    def is_quantized(self) -> bool:
        return self.input_dtype == np.int8

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.input_dtype == np.int8:
            # round(x / scale) + zero, clipped to int8, in preallocated buffers (no allocation per call)
            q = self._fin
            q[...] = x
            np.divide(q, np.float32(self.in_scale), out=q)
            np.round(q, out=q)
            np.add(q, np.float32(self.in_zero), out=q)
            np.clip(q, -128, 127, out=q)
            np.copyto(self._qin, q, casting="unsafe")
        else:
            self._qin[...] = x
        self.interpreter.set_tensor(self._in["index"], self._qin)
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self._out["index"])
        if self.output_dtype == np.int8:
            # convert first: int8 arithmetic would wrap (127 - (-128) overflows int8)
            np.copyto(self._fout, y, casting="unsafe")
            self._fout -= np.float32(self.out_zero)
            self._fout *= np.float32(self.out_scale)
        else:
            self._fout[...] = y
        return self._fout
