"""Running a converted file in LiteRT with float32 in and out, for the checks and the report.

:class:`Model` is :class:`cleartune.edge.litert.TFLiteModel` (same loader, interpreter and
preallocated buffers) with an int8 dequantization done in int32: ``TFLiteModel`` as first
committed subtracts the zero point in int8 arithmetic, which wraps for ``q - zp > 127``
(e.g. a sigmoid output with zero point -128 reads ``mask - 1``).  No TensorFlow here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from cleartune.edge.litert import TFLiteModel


class Model(TFLiteModel):
    """``model(x)``: ``x`` float32 of the input shape -> dequantized float32 output (a
    reused buffer: copy it to keep it).  ``invoke_only()`` runs the interpreter on the
    last input (for latency without the numpy conversions)."""

    def __init__(self, model_path: str | Path, *, num_threads: int = 1, prefer: Optional[str] = None):
        super().__init__(model_path, num_threads=num_threads, prefer=prefer)
        self._qin_f = np.zeros(self.input_shape, dtype=np.float32)

    def set_input(self, x: np.ndarray) -> None:
        """Quantize (int8) or copy ``x`` into the input tensor."""
        if self.input_dtype == np.int8:
            np.divide(np.asarray(x, dtype=np.float32), np.float32(self.in_scale), out=self._qin_f)
            np.round(self._qin_f, out=self._qin_f)
            self._qin_f += self.in_zero
            np.clip(self._qin_f, -128, 127, out=self._qin_f)
            self._qin[...] = self._qin_f
        else:
            self._qin[...] = x
        self.interpreter.set_tensor(self._in["index"], self._qin)

    def get_output(self) -> np.ndarray:
        """The last output, dequantized to float32."""
        y = self.interpreter.get_tensor(self._out["index"])
        if self.output_dtype == np.int8:
            np.subtract(y.astype(np.int32), np.int32(self.out_zero), out=self._fout, casting="unsafe")
            self._fout *= np.float32(self.out_scale)
        else:
            self._fout[...] = y
        return self._fout

    def invoke_only(self) -> None:
        self.interpreter.invoke()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.set_input(x)
        self.interpreter.invoke()
        return self.get_output()
