"""Copy a trained model and its sidecar to where it ships (``edge/models/edge_float.keras``).

    python -m cleartune.train.publish runs/edge/model.keras edge/models/edge_float.keras

The sidecar is rewritten for the new file name (``file``, ``sha256``, ``bytes``); the
copy is atomic.  Refuses a model over ``max_bytes`` (the shipped files stay small).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence

from cleartune.edge.errors import CleartuneError, ModelLoadError
from cleartune.edge.model_meta import load_meta

#: Largest model file shipped in the package [bytes].
MAX_BYTES = 1_000_000


def publish(src: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> Path:
    """Copy ``src`` (+ sidecar) to ``dest`` (+ sidecar).  Returns the new sidecar path."""
    src, dest = Path(src), Path(dest)
    meta = load_meta(src)
    if src.suffix != dest.suffix:
        raise ModelLoadError(f"{dest}: keep the model's extension {src.suffix}")
    size = src.stat().st_size
    if size > max_bytes:
        raise ModelLoadError(f"{src}: {size:,} bytes, over the {max_bytes:,} bytes a shipped model may have")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.partial{dest.suffix}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return meta.save_for(dest)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cleartune.train.publish", description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dest")
    args = ap.parse_args(argv)
    try:
        sc = publish(args.src, args.dest)
    except CleartuneError as e:
        print(f"publish: error: {e}", file=sys.stderr)
        return 2
    print(f"published {args.dest} (+ {sc.name})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
