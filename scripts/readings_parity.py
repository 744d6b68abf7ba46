#!/usr/bin/env python3
"""Compare two runs of ``cleartune analyze --json`` (JSON lines, one per reading) of the same
recording, e.g. on aarch64 and on x86 (scripts/pi_check.sh, step 3).

The same when both have the same number of readings, every reading has the same time and
note, and the cents of the readings that show a note differ by at most ``--cents-tol``
(default 0.001: the contract's printed precision).  Lines that are not JSON objects (a
harness's own messages) are ignored.  Prints one line; exit status 0 when the same, 1 when not.

    python scripts/readings_parity.py A.jsonl B.jsonl [--cents-tol C]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Sequence, Tuple


def readings(lines: Sequence[str]) -> List[dict]:
    """The readings among ``lines`` (JSON objects only)."""
    return [json.loads(ln) for ln in lines if ln.lstrip().startswith("{")]


def compare(a: Sequence[dict], b: Sequence[dict], *, cents_tol: float = 0.001) -> Tuple[bool, str]:
    """(same, one-line summary) of two runs' readings ``a`` and ``b`` (see the module)."""
    notes = len(a) == len(b) and all(x["t"] == y["t"] and x["note"] == y["note"] for x, y in zip(a, b))
    dc = max((abs(x["cents"] - y["cents"]) for x, y in zip(a, b)
              if x.get("cents") is not None and y.get("cents") is not None), default=0.0)
    same = notes and dc <= cents_tol
    return same, (f"{len(a)} readings ({sum(x['note'] is not None for x in a)} with a note) vs {len(b)}: "
                  f"same times and notes: {notes}, max |cents diff| = {dc:.6f} (limit {cents_tol:g}): "
                  f"{'same' if same else 'DIFFERENT'}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--cents-tol", type=float, default=0.001)
    args = ap.parse_args(argv)
    with open(args.a) as fa, open(args.b) as fb:
        same, line = compare(readings(fa.readlines()), readings(fb.readlines()), cents_tol=args.cents_tol)
    print(line)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
