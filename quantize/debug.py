"""Per-layer int8 error analysis, for when post-training quantization misses its targets.

Needs TensorFlow (``tf.lite.experimental.QuantizationDebugger``): the int8 model is
re-converted with numeric-verify ops, the calibration windows are run through it, and
for every quantized tensor the debugger compares the int8 result with the float result
of the same op given the same (dequantized) inputs.  The table ranks layers by
``rmse / scale``: the error in units of the layer's quantization step.  A uniform
quantizer alone gives ``1 / sqrt(12) = 0.29``; layers well above ~0.5 lose more than
rounding (outliers stretching the range, a badly calibrated range, an op quantized
poorly) and are the candidates to fix: clip or normalise their activations in the
model, add calibration windows that exercise them, or retrain with quantization-aware
training.  ``mean_error`` far from 0 means a biased layer (check the bias/zero point).

Used by ``cleartune quantize ... --debug`` (writes ``NAME_int8_debug.md`` and ``.json``).
"""
from __future__ import annotations

import csv
import io as _io
import json
import math
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: ``rmse / scale`` of an ideal uniform quantizer (error uniform in one step).
IDEAL_RMSE_PER_SCALE = 1.0 / math.sqrt(12.0)
#: Layers above this many steps of RMS error are flagged.
FLAG_RMSE_PER_SCALE = 0.5
#: Windows run through the debug model (it is slow: every op is verified).
DEFAULT_DEBUG_WINDOWS = 64


def layer_statistics(converter, windows: np.ndarray) -> list[dict[str, Any]]:
    """Run the QuantizationDebugger of an int8 ``converter`` on ``windows``
    (float32 ``(n, *input_shape)``).  Returns one dict per quantized tensor, worst first:
    ``op_name, tensor_name, num_elements, scale, zero_point, range, mean_error,
    max_abs_error, rmse, rmse_per_scale, mean_abs_error, flagged``."""
    import tensorflow as tf

    def dataset():
        for w in windows:
            yield [np.asarray(w, np.float32)[None]]

    opts = tf.lite.experimental.QuantizationDebugOptions(
        layer_debug_metrics={"mean_abs_error": lambda diff: float(np.mean(np.abs(diff)))})
    with warnings.catch_warnings():
        # the debugger runs TensorFlow's own (deprecated) tf.lite.Interpreter inside; LiteRT has no debugger
        warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated", category=UserWarning)
        dbg = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=dataset,
                                                        debug_options=opts)
        dbg.run()
    buf = _io.StringIO()
    dbg.layer_statistics_dump(buf)
    buf.seek(0)
    rows = []
    for r in csv.DictReader(buf):
        def f(k, r=r):
            try:
                return float(r.get(k, "nan"))
            except ValueError:
                return float("nan")
        scale = f("scale")
        rmse = math.sqrt(f("mean_squared_error")) if f("mean_squared_error") >= 0 else float("nan")
        rps = rmse / scale if scale > 0 else float("nan")
        rows.append({"op_name": r.get("op_name", ""), "tensor_name": r.get("tensor_name", ""),
                     "num_elements": int(f("num_elements")) if not math.isnan(f("num_elements")) else None,
                     "scale": scale, "zero_point": int(f("zero_point")) if not math.isnan(f("zero_point")) else None,
                     "range": 255.0 * scale, "mean_error": f("mean_error"), "max_abs_error": f("max_abs_error"),
                     "rmse": rmse, "rmse_per_scale": rps, "mean_abs_error": f("mean_abs_error"),
                     "flagged": bool(rps > FLAG_RMSE_PER_SCALE)})
    rows.sort(key=lambda r: -(r["rmse_per_scale"] if not math.isnan(r["rmse_per_scale"]) else -1))
    return rows


def to_markdown(rows: list[dict[str, Any]], *, model: str, windows: int) -> str:
    L = [f"# Per-layer int8 error: `{model}`", "",
         f"{windows} calibration windows through the numeric-verify model.  `rmse/scale` is the RMS error in "
         f"quantization steps (ideal {IDEAL_RMSE_PER_SCALE:.2f}); layers above {FLAG_RMSE_PER_SCALE:g} are flagged.",
         "", "| op | tensor | elements | scale | range | rmse/scale | mean err | max abs err | flag |",
         "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append(f"| {r['op_name']} | `{r['tensor_name'][:60]}` | {r['num_elements']} | {r['scale']:.4g} | "
                 f"{r['range']:.4g} | {r['rmse_per_scale']:.3f} | {r['mean_error']:.3g} | {r['max_abs_error']:.3g} | "
                 f"{'**yes**' if r['flagged'] else ''} |")
    flagged = [r for r in rows if r["flagged"]]
    L += ["", f"{len(flagged)} of {len(rows)} layers flagged." if rows else "No quantized layers reported."]
    return "\n".join(L) + "\n"


def analyze_layers(model_path: str | Path, *, calib_dir: str | Path, out_dir: str | Path, name: str = "edge",
                   calib_windows: int = 500, split: str = "train", seed: int = 0,
                   debug_windows: int = DEFAULT_DEBUG_WINDOWS, quiet: bool = False) -> tuple[Path, Path]:
    """Per-layer analysis of the int8 conversion of ``model_path`` (calibrated exactly as
    :func:`cleartune.quantize.convert.quantize_model` does); writes
    ``out_dir/<name>_int8_debug.md`` and ``.json`` and returns their paths."""
    from .convert import _atomic_write, calibration_windows, export_saved_model, load_keras, make_converter, representative_fn

    model, meta, io = load_keras(model_path)
    calib = calibration_windows(calib_dir, meta=meta, n_windows=calib_windows, split=split, seed=seed, io=io)
    dbg_x = calib.windows[: max(1, min(debug_windows, calib.windows.shape[0]))]
    if not quiet:
        print(f"debug: per-layer analysis on {dbg_x.shape[0]} windows ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="cleartune_dbg_") as tmp:
        sm = export_saved_model(model, Path(tmp) / "saved_model", io=io)
        conv = make_converter(sm, "int8", representative=representative_fn(calib.windows))
        rows = layer_statistics(conv, dbg_x)
    out = Path(out_dir)
    md_path, js_path = out / f"{name}_int8_debug.md", out / f"{name}_int8_debug.json"
    doc = {"model": str(model_path), "windows": int(dbg_x.shape[0]), "ideal_rmse_per_scale": IDEAL_RMSE_PER_SCALE,
           "flag_rmse_per_scale": FLAG_RMSE_PER_SCALE, "layers": rows}
    from .report import json_safe

    _atomic_write(js_path, (json.dumps(json_safe(doc), indent=2, allow_nan=False) + "\n").encode())
    _atomic_write(md_path, to_markdown(rows, model=Path(model_path).name, windows=int(dbg_x.shape[0])).encode())
    return md_path, js_path


def worst_layers(rows: list[dict[str, Any]], n: int = 5) -> list[str]:
    """Names of the ``n`` layers with the largest ``rmse / scale``."""
    return [r["tensor_name"] for r in rows[:n]]


__all__ = ["layer_statistics", "analyze_layers", "to_markdown", "worst_layers"]
