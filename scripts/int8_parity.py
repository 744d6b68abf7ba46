"""Run an int8 .tflite on fixed, deterministic inputs and save the raw int8 outputs.

Used by scripts/pi_check.sh to compare aarch64 (emulated Pi) with x86 bit for bit.
usage: python int8_parity.py MODEL.tflite --out OUT.npy [--n 64]
"""
import argparse

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=64, help="number of fixed input windows")
    a = ap.parse_args()
    from cleartune.edge.litert import make_interpreter

    interp, backend = make_interpreter(a.model, num_threads=1)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    shape = tuple(inp["shape"])
    n_in = int(np.prod(shape))
    # deterministic int8 inputs without an RNG (identical on every platform / numpy version)
    outs = []
    for k in range(a.n):
        x = ((np.arange(n_in, dtype=np.int64) * (2 * k + 7) + k * k) % 251 - 125).astype(inp["dtype"]).reshape(shape)
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).copy())
    y = np.stack(outs)
    np.save(a.out, y)
    print(f"{backend}: {a.n} windows, output {y.shape} {y.dtype}, checksum {int(y.astype(np.int64).sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
