"""Keras model -> int8 (full-integer), float32 and float16 TFLite files with sidecars.

TensorFlow is imported inside the functions that need it.

How (each step is a lesson measured on this project's machines):

* the Keras model is exported with ``model.export(dir, format="tf_saved_model",
  input_signature=[TensorSpec((1, ...), float32)])`` and converted with
  ``TFLiteConverter.from_saved_model(dir)``: a fixed batch of 1, and a graph that matches
  Keras (``from_concrete_functions`` silently produced wrong graphs);
* int8: ``TFLITE_BUILTINS_INT8`` only (no Flex/select-TF ops, no float fallback), int8
  input and output; the representative dataset is a few hundred windows of the training
  mixes spread over the whole SNR range (too few windows hurt transposed convolutions),
  computed with :mod:`cleartune.quantize.windows` (= :mod:`cleartune.edge.features`
  exactly as the runtime computes them);
* every converted file is checked: opened in LiteRT, op list parsed (no Flex/custom op;
  for int8 no op touching a float tensor, int8 input and output), the float32 file
  compared with Keras on calibration windows (a wrong graph fails loudly) and the int8
  and float16 files measured against the float32 one (recorded in the sidecar).
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from cleartune.edge.errors import DataError, ModelLoadError
from cleartune.edge.fileio import atomic_write_bytes
from cleartune.edge.model_meta import ModelMeta, load_meta, sha256_file, sidecar_path

from . import tflite_info
from .windows import ModelIO, check_shapes, clip_features, model_io, snr_value, stratified_rows

VARIANTS = ("int8", "float32", "float16", "dynamic")
DEFAULT_VARIANTS = ("int8", "float32", "float16")
DEFAULT_CALIB_WINDOWS = 500
#: Fewer calibration windows than this is refused (ranges of transposed convolutions and
#: of rare loud frames are then badly estimated).
MIN_CALIB_WINDOWS = 16
#: Largest |float32 TFLite - Keras| accepted on calibration windows (outputs are in
#: [-1, 1]; float32 kernels reorder sums, so ~1e-6 is typical; 1e-3 flags a wrong graph).
FLOAT32_MATCH_ATOL = 1e-3
#: Windows used to compare the converted files with each other.
CHECK_WINDOWS = 64


def _log(msg: str, *, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if "error" in ln.lower():
            return ln[:300]
    return (lines[0] if lines else type(e).__name__)[:300]


def _quiet_tf_env() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# -- loading ---------------------------------------------------------------------------------

def keras_meta(model_path: str | Path) -> tuple[ModelMeta, ModelIO]:
    """Check a ``.keras`` path and read its sidecar (no TensorFlow): ``(ModelMeta, ModelIO)``.
    One-line :class:`ModelLoadError` for a missing file, a non-.keras path, a missing or
    unreadable sidecar, or a preset/kind this package cannot feed."""
    p = Path(model_path)
    if not p.exists():
        raise ModelLoadError(f"{p}: model file not found")
    if p.is_dir() or p.suffix != ".keras":
        raise ModelLoadError(f"{p}: expected a Keras model file (.keras)")
    meta = load_meta(p, verify_sha=True)
    return meta, model_io(meta)


def load_keras(model_path: str | Path):
    """Load a ``.keras`` model and its sidecar (``<model>.json``).

    Returns ``(keras model, ModelMeta, ModelIO)``.  One-line :class:`ModelLoadError` for
    the cases of :func:`keras_meta`, a file Keras cannot read, or shapes that differ from
    what the sidecar says."""
    p = Path(model_path)
    meta, io = keras_meta(p)
    _quiet_tf_env()
    try:
        import keras
    except ImportError as e:
        raise ModelLoadError(f"cannot import Keras ({e}); install the train extra: pip install 'cleartune[train]'") from None
    try:
        model = keras.models.load_model(p, compile=False)
    except Exception as e:
        raise ModelLoadError(f"{p}: Keras cannot load it ({_first_line(e)})") from None
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelLoadError(f"{p}: expected one input and one output, got {len(model.inputs)} and {len(model.outputs)}")
    ins = [1 if s is None else int(s) for s in model.inputs[0].shape]
    outs = [1 if s is None else int(s) for s in model.outputs[0].shape]
    check_shapes(io, input_shape=ins, output_shape=outs, what=str(p))
    return model, meta, io


# -- calibration -------------------------------------------------------------------------------

@dataclass
class Calibration:
    """Representative inputs ``windows`` float32 ``(n, *input_shape)`` and where they came from."""

    windows: np.ndarray
    clips: int
    split: str
    snr_db: list[float] = field(default_factory=list)     # requested SNR of each clip used

    def summary(self, data_dir: str | Path) -> dict[str, Any]:
        finite = [s for s in self.snr_db if math.isfinite(s)]
        return {"data": str(data_dir), "split": self.split, "windows": int(self.windows.shape[0]), "clips": self.clips,
                "snr_db_min": min(finite) if finite else None, "snr_db_max": max(finite) if finite else None,
                "clean_clips": sum(1 for s in self.snr_db if s == math.inf)}


def calibration_windows(data_dir: str | Path, *, meta: ModelMeta, n_windows: int = DEFAULT_CALIB_WINDOWS,
                        split: str = "train", seed: int = 0, io: Optional[ModelIO] = None) -> Calibration:
    """``n_windows`` model inputs from the mixes of ``split`` (all splits if it is empty),
    spread over the SNR range: clips are chosen one per SNR group
    (:func:`~cleartune.quantize.windows.stratified_rows`).  Edge preset: ``n_windows / 2``
    clips (16 at least, or all), and from each the window of its loudest frame plus
    frames drawn at random.  The loudest frames matter because int8 ranges are the
    min/max seen in calibration: measured on data/edge, 500 random windows left a few
    loud test frames outside a layer's range (mask errors up to 0.47), one loudest
    window per clip brought the worst error to 0.08 for ~15 % more RMS error.

    Raises :class:`DataError` for a folder without ``metadata.csv``, audio at another
    sample rate than the model's, or a clip of the wrong length for the seed model."""
    from cleartune.train.data.dataset import load_example, load_metadata

    io = io or model_io(meta)
    p = meta.signal_params
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError(f"{d}: calibration data folder not found")
    if n_windows < MIN_CALIB_WINDOWS:
        raise DataError(f"--calib-windows {n_windows} is too few; use at least {MIN_CALIB_WINDOWS} (a few hundred is right)")
    rows = load_metadata(d, split=split)
    used_split = split
    if not rows:
        rows = load_metadata(d)
        used_split = "all"
    if not rows:
        raise DataError(f"{d}/metadata.csv lists no mixes")
    _check_rows(rows, params=p, preset=io.preset, where=d)
    if io.preset == "seed":
        n_clips, per_clip = min(n_windows, len(rows)), 1
    else:
        n_clips = min(len(rows), max(16, n_windows // 2))
        per_clip = int(math.ceil(n_windows / n_clips))
    chosen = stratified_rows(rows, n_clips, seed=seed)
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    snrs = []
    for row in chosen:
        mix, _clean, _noise = load_example(d, row)
        cf = clip_features(mix, meta=meta, io=io)
        feats = cf.inputs
        if io.preset == "edge":
            loudest = int(np.argmax(np.sum(np.abs(cf.spec) ** 2, axis=1)))
            rest = np.delete(np.arange(feats.shape[0]), loudest)
            extra = rng.choice(rest, size=min(per_clip - 1, rest.size), replace=False) if per_clip > 1 else []
            idx = [loudest, *(int(i) for i in extra)]
        else:
            idx = list(range(min(per_clip, feats.shape[0])))
        out.extend(np.asarray(feats[i], dtype=np.float32) for i in sorted(idx))
        snrs.append(snr_value(row))
    windows = np.stack(out)[:n_windows] if out else np.zeros((0,) + io.input_shape, np.float32)
    rng.shuffle(windows)
    return Calibration(windows=np.ascontiguousarray(windows), clips=len(chosen), split=used_split, snr_db=snrs)


def _check_rows(rows, *, params, preset: str, where) -> None:
    srs = {r.get("sample_rate") for r in rows} - {None}
    if srs and srs != {params.sample_rate}:
        raise DataError(f"{where}: audio at {sorted(srs)} Hz but the model expects {params.sample_rate} Hz")
    if preset == "seed":
        lens = {r.get("clip_samples") for r in rows} - {None}
        if lens and lens != {params.clip_samples}:
            raise DataError(f"{where}: clips of {sorted(lens)} samples but the seed model expects {params.clip_samples}")


# -- conversion --------------------------------------------------------------------------------

def export_saved_model(model, directory: str | Path, *, io: ModelIO) -> Path:
    """Export ``model`` as a SavedModel with a fixed batch-1 float32 signature."""
    import tensorflow as tf

    d = Path(directory)
    spec = tf.TensorSpec((1,) + tuple(io.input_shape), tf.float32)
    try:
        model.export(str(d), format="tf_saved_model", input_signature=[spec], verbose=False)
    except TypeError:  # older Keras without verbose=
        model.export(str(d), format="tf_saved_model", input_signature=[spec])
    return d


def make_converter(saved_model_dir: str | Path, variant: str, *, representative: Optional[Callable] = None):
    """A configured ``tf.lite.TFLiteConverter`` for ``variant`` (int8/float32/float16/dynamic)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "int8":
        if representative is None:
            raise ValueError("int8 conversion needs a representative dataset")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    elif variant == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant != "float32":
        raise ValueError(f"unknown variant {variant!r}; choose from {list(VARIANTS)}")
    return conv


def representative_fn(windows: np.ndarray) -> Callable:
    """Generator factory for ``converter.representative_dataset``: batch-1 float32 inputs."""
    def gen():
        for w in windows:
            yield [np.asarray(w, dtype=np.float32)[None]]
    return gen


def _atomic_write(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data)


def _run_tflite(path: Path, windows: np.ndarray) -> np.ndarray:
    from .runtime import Model

    m = Model(path, num_threads=1)
    return np.stack([np.array(m(w[None]), copy=True)[0] for w in windows])


def _err(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return {"max_abs": float(np.max(np.abs(d))), "rmse": float(np.sqrt(np.mean(d * d))),
            "mean_abs": float(np.mean(np.abs(d)))}


@dataclass
class Converted:
    variant: str
    path: Path
    sidecar: Path
    info: tflite_info.TFLiteInfo
    check: dict[str, Any]


def quantize_model(model_path: str | Path, *, calib_dir: str | Path, out_dir: str | Path, name: str = "edge",
                   calib_windows: int = DEFAULT_CALIB_WINDOWS, variants: Sequence[str] = DEFAULT_VARIANTS,
                   split: str = "train", seed: int = 0, command: str = "", quiet: bool = False) -> list[Converted]:
    """Convert ``model_path`` (``.keras`` + sidecar) into ``out_dir/<name>_<variant>.tflite``
    files with sidecars.  Returns one :class:`Converted` per variant, in the order given.

    Fails (one-line :class:`ModelLoadError`/:class:`DataError`) on bad inputs, on a
    conversion error, on Flex/custom ops, on an int8 file that is not full-integer, and on
    a float32 file that does not match Keras within :data:`FLOAT32_MATCH_ATOL`."""
    variants = list(dict.fromkeys(variants))
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        raise ValueError(f"unknown variant(s) {bad}; choose from {list(VARIANTS)}")
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"invalid --name {name!r}")
    meta, io = keras_meta(model_path)          # cheap checks first: no TensorFlow yet
    calib = calibration_windows(calib_dir, meta=meta, n_windows=calib_windows, split=split, seed=seed, io=io)
    _log(f"quantize: {calib.windows.shape[0]} calibration windows from {calib.clips} clips ({calib.split})", quiet=quiet)
    model, meta, io = load_keras(model_path)
    params_count = int(model.count_params())
    _log(f"quantize: {model_path}: {meta.preset}/{meta.kind}, input {[1, *io.input_shape]}, {params_count:,} parameters",
         quiet=quiet)
    check_n = min(CHECK_WINDOWS, calib.windows.shape[0])
    check_x = calib.windows[:check_n]
    keras_y = np.concatenate([np.asarray(model(check_x[i:i + 1], training=False)) for i in range(check_n)])

    import tensorflow as tf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[Converted] = []
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    src = Path(model_path)
    outputs: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="cleartune_sm_") as tmp:
        sm = export_saved_model(model, Path(tmp) / "saved_model", io=io)
        # float32 first: the reference the others are measured against
        order = sorted(variants, key=lambda v: v != "float32")
        for variant in order:
            _log(f"quantize: converting {variant} ...", quiet=quiet)
            conv = make_converter(sm, variant, representative=representative_fn(calib.windows))
            try:
                blob = conv.convert()
            except Exception as e:
                raise ModelLoadError(f"TFLite conversion to {variant} failed: {_first_line(e)}") from None
            path = out / f"{name}_{variant}.tflite"
            _atomic_write(path, blob)
            info = tflite_info.inspect_tflite(path)
            tflite_info.check_builtin_only(info)
            if variant == "int8":
                tflite_info.check_int8(info)
            check_shapes(io, input_shape=info.input["shape"], output_shape=info.output["shape"], what=str(path))
            y = _run_tflite(path, check_x)
            outputs[variant] = y
            check: dict[str, Any] = {"windows": check_n, "vs_keras": _err(y, keras_y)}
            if variant == "float32" and check["vs_keras"]["max_abs"] > FLOAT32_MATCH_ATOL:
                raise ModelLoadError(f"{path}: float32 TFLite differs from Keras by {check['vs_keras']['max_abs']:.3g} "
                                     f"(> {FLOAT32_MATCH_ATOL:g}): the converted graph is wrong")
            if variant != "float32" and "float32" in outputs:
                check["vs_float32"] = _err(y, outputs["float32"])
            sidecar = _write_sidecar(path, meta=meta, variant=variant, info=info, params_count=params_count,
                                     calib=calib, calib_dir=calib_dir, src=src, created=created, command=command,
                                     check=check, tf_version=tf.__version__)
            _log(f"quantize: wrote {path} ({info.bytes:,} bytes, {info.macs:,} MACs, "
                 f"max |diff| vs Keras {check['vs_keras']['max_abs']:.3g})", quiet=quiet)
            results.append(Converted(variant=variant, path=path, sidecar=sidecar, info=info, check=check))
    by = {r.variant: r for r in results}
    return [by[v] for v in variants]


def _io_record(actual: dict, keras_side: dict) -> dict:
    """The converted tensor's shape/dtype/scale/zero point, plus the Keras sidecar's
    description of what it means (when recorded)."""
    rec = dict(actual)
    if isinstance(keras_side, dict) and keras_side.get("meaning"):
        rec["meaning"] = keras_side["meaning"]
    return rec


def _write_sidecar(path: Path, *, meta: ModelMeta, variant: str, info, params_count: int, calib: Calibration,
                   calib_dir, src: Path, created: str, command: str, check: dict, tf_version: str) -> Path:
    # MACs of the graph itself (identical across variants: same layers)
    m = ModelMeta(
        preset=meta.preset, kind=meta.kind, signal_params=meta.signal_params, context_frames=meta.context_frames,
        model_version=meta.model_version, dtype=variant, input=_io_record(info.input, meta.input),
        output=_io_record(info.output, meta.output),
        macs_per_inference=int(info.macs), params=params_count, metrics={}, created=created, command=command,
        extra={
            "source": {"file": src.name, "sha256": sha256_file(src), "model_version": meta.model_version,
                       "metrics": meta.metrics},
            "calibration": calib.summary(calib_dir) if variant == "int8" else None,
            "converter": {"tensorflow": tf_version, "from": "saved_model", "batch": 1,
                          "ops": "TFLITE_BUILTINS_INT8" if variant == "int8" else "TFLITE_BUILTINS"},
            "op_counts": info.op_counts,
            "check": check,
        },
    )
    if m.extra["calibration"] is None:
        del m.extra["calibration"]
    return m.save_for(path)


def convert_keras(model, variant: str, *, representative: Optional[np.ndarray] = None) -> bytes:
    """Convert a single-input Keras ``model`` with a fixed input shape (batch included) to
    TFLite bytes (``variant`` as :func:`make_converter`; int8 needs ``representative``:
    float32 ``(n, *input_shape)``).  The file is checked: builtin ops only, and for int8
    full-integer with int8 input and output.  Used for models whose calibration inputs are
    not feature windows of a dataset (the guitar-pitch model: features and recurrent state)."""
    _quiet_tf_env()
    shape = tuple(1 if s is None else int(s) for s in model.inputs[0].shape)
    reps = None if representative is None else np.asarray(representative, np.float32).reshape((-1,) + shape[1:])
    io = ModelIO(preset="", kind="", context_frames=0, channels=1, input_shape=shape[1:], output_shape=())
    with tempfile.TemporaryDirectory(prefix="cleartune_sm_") as tmp:
        sm = export_saved_model(model, Path(tmp) / "saved_model", io=io)
        conv = make_converter(sm, variant, representative=None if reps is None else representative_fn(reps))
        try:
            blob = conv.convert()
        except Exception as e:
            raise ModelLoadError(f"TFLite conversion to {variant} failed: {_first_line(e)}") from None
        p = Path(tmp) / "m.tflite"
        p.write_bytes(blob)
        info = tflite_info.inspect_tflite(p)
        tflite_info.check_builtin_only(info)
        if variant == "int8":
            tflite_info.check_int8(info)
    return blob


def load_tflite_meta(path: str | Path, *, verify_sha: bool = True) -> ModelMeta:
    """The sidecar of a converted file, checked (sha256, format); one-line errors."""
    p = tflite_info.check_tflite_file(path)
    return load_meta(p, verify_sha=verify_sha)


__all__ = ["quantize_model", "convert_keras", "calibration_windows", "load_keras", "keras_meta", "make_converter", "export_saved_model",
           "representative_fn", "load_tflite_meta", "sidecar_path", "VARIANTS", "DEFAULT_VARIANTS"]
