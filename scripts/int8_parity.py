"""Run an int8 .tflite on fixed, deterministic inputs and save its raw outputs.

Used by scripts/pi_check.sh to compare aarch64 (emulated Pi) with x86 bit for bit.  Every
input tensor is set (a model with state inputs too), every output is kept: the saved array
holds, per window, the bytes of all outputs in order (int8 outputs are their values).
usage: python int8_parity.py MODEL.tflite --out OUT.npy [--n 64]
"""
import argparse

import numpy as np


def fixed_input(shape, dtype, k: int, salt: int) -> np.ndarray:
    """Deterministic values without an RNG (identical on every platform / numpy version)."""
    n = int(np.prod(shape))
    v = (np.arange(n, dtype=np.int64) * (2 * k + 7 + salt) + k * k + salt) % 251 - 125
    if np.issubdtype(np.dtype(dtype), np.integer):
        return v.astype(dtype).reshape(shape)
    return (v / 125.0).astype(dtype).reshape(shape)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=64, help="number of fixed input windows")
    a = ap.parse_args()
    from cleartune.edge.litert import make_interpreter

    interp, backend = make_interpreter(a.model, num_threads=1)
    ins, outs = interp.get_input_details(), interp.get_output_details()
    rows = []
    for k in range(a.n):
        for j, d in enumerate(ins):
            interp.set_tensor(d["index"], fixed_input(tuple(d["shape"]), d["dtype"], k, salt=3 * j))
        interp.invoke()
        got = [interp.get_tensor(d["index"]).copy() for d in outs]
        if len(got) == 1 and got[0].dtype == np.int8:
            rows.append(got[0])
        else:
            rows.append(np.concatenate([np.frombuffer(g.tobytes(), dtype=np.uint8) for g in got]))
    y = np.stack(rows)
    np.save(a.out, y)
    kinds = ", ".join(f"{tuple(int(s) for s in d['shape'])} {np.dtype(d['dtype']).name}" for d in outs)
    print(f"{backend}: {a.n} windows, {len(ins)} input(s), output(s) {kinds}, checksum {int(y.astype(np.int64).sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
