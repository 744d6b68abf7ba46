"""What is inside a ``.tflite`` file, without TensorFlow: operators, tensor types, input and
output quantization, multiply-accumulates (MACs) and parameter count.

The flatbuffer is parsed with the schema module that ships with ai-edge-litert
(``ai_edge_litert.schema_py_generated``, needs ``flatbuffers``); when that is not
available the interpreter's op details are used instead (no MAC count for custom ops).
Both paths see the model's own graph, before any delegate (XNNPACK) rewrites it.

MACs count the multiply-accumulates of the linear layers only (CONV_2D,
DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED, BATCH_MATMUL, CONV_3D) for one
invocation (batch 1); element-wise ops are ignored.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from cleartune.edge.errors import ModelLoadError

#: TFLite flatbuffer file identifier (bytes 4..8 of the file).
TFLITE_IDENTIFIER = b"TFL3"

#: Tensor types an int8 model's operators may touch: int8 activations and weights,
#: int32 biases, shapes and indices (int64/bool only for shape arithmetic).
INT8_ALLOWED_TYPES = frozenset({"INT8", "INT32", "INT64", "BOOL"})

_SCHEMA_MODULES = ("ai_edge_litert.schema_py_generated", "tflite_runtime.schema_py_generated",
                   "tensorflow.lite.python.schema_py_generated")


@dataclass
class OpInfo:
    """One operator: its name (``CONV_2D``, or ``Flex...``/custom code for custom ops),
    the shapes and type names of its input and output tensors, and its MACs."""

    name: str
    inputs: list[tuple[tuple[int, ...], str]]
    outputs: list[tuple[tuple[int, ...], str]]
    custom: bool = False
    macs: int = 0


@dataclass
class TFLiteInfo:
    """Summary of a ``.tflite`` file (see :func:`inspect_tflite`)."""

    path: str
    bytes: int
    ops: list[OpInfo]
    input: dict[str, Any]
    output: dict[str, Any]
    macs: int
    const_params: int
    n_inputs: int = 1
    n_outputs: int = 1
    source: str = "flatbuffer"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def op_counts(self) -> dict[str, int]:
        """``{op name: count}``, sorted by name."""
        out: dict[str, int] = {}
        for o in self.ops:
            out[o.name] = out.get(o.name, 0) + 1
        return dict(sorted(out.items()))

    @property
    def flex_ops(self) -> list[str]:
        """Names of Select-TF (Flex) and other custom ops (a pure-builtin model has none)."""
        return sorted({o.name for o in self.ops if o.custom or o.name.startswith("Flex")})

    def non_int8_ops(self) -> list[str]:
        """``"OP(type)"`` for every operator touching a tensor type other than
        int8/int32/int64/bool (e.g. a float32 op left by the converter)."""
        bad = []
        for o in self.ops:
            types = {t for _, t in o.inputs + o.outputs if t} - INT8_ALLOWED_TYPES
            if types:
                bad.append(f"{o.name}({','.join(sorted(types))})")
        return sorted(set(bad))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "op_counts": self.op_counts, "input": self.input,
                "output": self.output, "macs": self.macs, "const_params": self.const_params,
                "flex_ops": self.flex_ops, "non_int8_ops": self.non_int8_ops(), "source": self.source}


def check_tflite_file(path: str | Path) -> Path:
    """Raise :class:`ModelLoadError` (one line) unless ``path`` is an existing TFLite flatbuffer."""
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"{p}: model file not found")
    if p.is_dir():
        raise ModelLoadError(f"{p}: is a directory, not a .tflite file")
    with open(p, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise ModelLoadError(f"{p}: not a TFLite file (no {TFLITE_IDENTIFIER.decode()} identifier)")
    return p


def _schema():
    for name in _SCHEMA_MODULES:
        try:
            return importlib.import_module(name)
        except Exception:
            continue
    return None


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def _prod(shape) -> int:
    return int(np.prod([int(s) for s in shape], dtype=np.int64)) if len(shape) else 1


def op_macs(name: str, inputs: list[tuple[tuple[int, ...], str]], outputs: list[tuple[tuple[int, ...], str]]) -> int:
    """Multiply-accumulates of one operator from its tensor shapes (0 for non-linear ops).

    Layouts are TFLite's: conv filters ``(out_c, kh, kw, in_c)``, depthwise
    ``(1, kh, kw, out_c)``, transposed conv inputs ``(output_shape, weights(out_c, kh, kw,
    in_c), input)``, fully connected weights ``(units, in)``, conv3d ``(kd, kh, kw, in_c, out_c)``."""
    try:
        if not outputs:
            return 0
        out = outputs[0][0]
        if name == "CONV_2D":
            f = inputs[1][0]
            return _prod(out) * f[1] * f[2] * f[3]
        if name == "DEPTHWISE_CONV_2D":
            f = inputs[1][0]
            return _prod(out) * f[1] * f[2]
        if name == "TRANSPOSE_CONV":
            f, x = inputs[1][0], inputs[2][0]
            return _prod(x) * f[0] * f[1] * f[2]
        if name == "FULLY_CONNECTED":
            w = inputs[1][0]
            return _prod(out) * w[-1]
        if name == "BATCH_MATMUL":
            a = inputs[0][0]
            return _prod(out) * a[-1]
        if name == "CONV_3D":
            f = inputs[1][0]
            return _prod(out) * f[0] * f[1] * f[2] * f[3]
    except (IndexError, TypeError):
        return 0
    return 0


def _io_detail(tensor, type_names) -> dict[str, Any]:
    shape = [int(s) for s in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
    d: dict[str, Any] = {"shape": shape, "dtype": type_names.get(tensor.Type(), "?").lower(),
                         "scale": 0.0, "zero_point": 0}
    q = tensor.Quantization()
    if q is not None and q.ScaleLength() == 1:
        d["scale"] = float(q.ScaleAsNumpy()[0])
        d["zero_point"] = int(q.ZeroPointAsNumpy()[0]) if q.ZeroPointLength() else 0
    return d


def _inspect_flatbuffer(p: Path, buf: bytes, schema) -> TFLiteInfo:
    model = schema.Model.GetRootAs(buf, 0)
    op_names = _enum_names(schema.BuiltinOperator)
    type_names = _enum_names(schema.TensorType)
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        name = op_names.get(code, f"BUILTIN_{code}")
        custom = name == "CUSTOM"
        if custom:
            cc = oc.CustomCode()
            name = cc.decode() if cc else "CUSTOM"
        codes.append((name, custom))
    if model.SubgraphsLength() < 1:
        raise ModelLoadError(f"{p}: TFLite file has no subgraph")
    sg = model.Subgraphs(0)

    def tinfo(idx: int) -> tuple[tuple[int, ...], str]:
        if idx < 0:
            return ((), "")
        t = sg.Tensors(int(idx))
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        return shape, type_names.get(t.Type(), "?")

    ops = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        name, custom = codes[op.OpcodeIndex()]
        ins = [tinfo(j) for j in (op.InputsAsNumpy() if op.InputsLength() else [])]
        outs = [tinfo(j) for j in (op.OutputsAsNumpy() if op.OutputsLength() else [])]
        ops.append(OpInfo(name=name, inputs=ins, outputs=outs, custom=custom, macs=op_macs(name, ins, outs)))
    const_params = 0
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        b = t.Buffer()
        if b > 0 and b < model.BuffersLength():
            buffer = model.Buffers(b)
            if buffer.DataLength() > 0 or buffer.Size() > 0:
                const_params += _prod(t.ShapeAsNumpy()) if t.ShapeLength() else 1
    n_in, n_out = sg.InputsLength(), sg.OutputsLength()
    inp = _io_detail(sg.Tensors(int(sg.Inputs(0))), type_names) if n_in else {}
    out = _io_detail(sg.Tensors(int(sg.Outputs(0))), type_names) if n_out else {}
    return TFLiteInfo(path=str(p), bytes=len(buf), ops=ops, input=inp, output=out,
                      macs=sum(o.macs for o in ops), const_params=const_params, n_inputs=n_in, n_outputs=n_out,
                      source="flatbuffer")


def _inspect_interpreter(p: Path) -> TFLiteInfo:
    from cleartune.edge.litert import interpreter_class

    cls, _ = interpreter_class()
    try:
        try:
            mod = importlib.import_module(cls.__module__)
            interp = cls(model_path=str(p), experimental_op_resolver_type=mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        except (AttributeError, TypeError):
            interp = cls(model_path=str(p))
        interp.allocate_tensors()
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"{p}: not a valid TFLite model ({first})") from None
    tensors = {t["index"]: t for t in interp.get_tensor_details()}

    def tinfo(idx: int):
        t = tensors.get(int(idx))
        if t is None:
            return ((), "")
        return tuple(int(s) for s in t["shape"]), np.dtype(t["dtype"]).name.upper()

    ops = []
    for od in interp._get_ops_details():
        ins = [tinfo(j) for j in od["inputs"]]
        outs = [tinfo(j) for j in od["outputs"]]
        ops.append(OpInfo(name=od["op_name"], inputs=ins, outputs=outs, custom=od["op_name"].startswith("Flex"),
                          macs=op_macs(od["op_name"], ins, outs)))

    def io(d):
        scale, zero = d.get("quantization", (0.0, 0))
        return {"shape": [int(s) for s in d["shape"]], "dtype": np.dtype(d["dtype"]).name, "scale": float(scale),
                "zero_point": int(zero)}

    ins, outs = interp.get_input_details(), interp.get_output_details()
    return TFLiteInfo(path=str(p), bytes=p.stat().st_size, ops=ops, input=io(ins[0]) if ins else {},
                      output=io(outs[0]) if outs else {}, macs=sum(o.macs for o in ops), const_params=0,
                      n_inputs=len(ins), n_outputs=len(outs), source="interpreter")


def inspect_tflite(path: str | Path, *, schema: Optional[Any] = None) -> TFLiteInfo:
    """Parse ``path`` and summarise it.  Raises :class:`ModelLoadError` with a one-line
    message for a missing file, a file that is not a TFLite flatbuffer, or a broken one."""
    p = check_tflite_file(path)
    buf = p.read_bytes()
    schema = schema if schema is not None else _schema()
    if schema is None:
        return _inspect_interpreter(p)
    try:
        return _inspect_flatbuffer(p, buf, schema)
    except ModelLoadError:
        raise
    except Exception as e:  # a truncated or corrupt flatbuffer
        raise ModelLoadError(f"{p}: corrupt TFLite file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None


def check_int8(info: TFLiteInfo) -> None:
    """Raise :class:`ModelLoadError` unless ``info`` is a full-integer model: int8 input
    and output, builtin ops only (no Flex/custom), no operator touching float tensors."""
    problems = []
    if info.input.get("dtype") != "int8":
        problems.append(f"input is {info.input.get('dtype')}")
    if info.output.get("dtype") != "int8":
        problems.append(f"output is {info.output.get('dtype')}")
    if info.flex_ops:
        problems.append(f"Flex/custom ops {info.flex_ops}")
    bad = info.non_int8_ops()
    if bad:
        problems.append(f"non-int8 ops {bad[:6]}{' ...' if len(bad) > 6 else ''}")
    if problems:
        raise ModelLoadError(f"{info.path}: not a full-integer int8 model: " + "; ".join(problems))


def check_builtin_only(info: TFLiteInfo) -> None:
    """Raise :class:`ModelLoadError` if the model needs Flex (select TF) or custom ops."""
    if info.flex_ops:
        raise ModelLoadError(f"{info.path}: needs Flex/custom ops {info.flex_ops} (not available in LiteRT on the Pi)")
