"""Train/val/test assignment that never leaks: items sharing any group key (a source
recording, an (instrument, MIDI note) pair) always land in the same split.

Connected components of the "shares a key" relation are found with union-find, shuffled
deterministically from the seed, and dealt greedily to the split furthest below its
target share (every split with a non-zero share gets at least one group when there are
enough groups).
"""
from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

SPLIT_NAMES = ("train", "val", "test")


def connected_groups(keys_per_item: Sequence[Sequence[Hashable]]) -> list[int]:
    """Group id per item: items that share a key (transitively) share a group."""
    parent = list(range(len(keys_per_item)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Hashable, int] = {}
    for i, keys in enumerate(keys_per_item):
        for k in keys:
            j = owner.setdefault(k, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = [find(i) for i in range(len(keys_per_item))]
    remap: dict[int, int] = {}
    return [remap.setdefault(r, len(remap)) for r in roots]


def parse_fractions(text: str) -> tuple[float, float, float]:
    """'80,10,10' (or '0.8,0.1,0.1') -> normalised (train, val, test) fractions."""
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"split must be three numbers like 80,10,10, not {text!r}") from None
    if len(vals) != 3 or any(v < 0 for v in vals) or sum(vals) <= 0:
        raise ValueError(f"split must be three non-negative numbers like 80,10,10, not {text!r}")
    s = sum(vals)
    return (vals[0] / s, vals[1] / s, vals[2] / s)


def assign_splits(
    keys_per_item: Sequence[Sequence[Hashable]],
    *,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    salt: int = 0,
) -> list[str]:
    """Split name per item (``train``/``val``/``test``), deterministic from ``seed`` (and
    ``salt``, to draw independent assignments for different kinds of items)."""
    groups = connected_groups(keys_per_item)
    n_groups = max(groups) + 1 if groups else 0
    sizes = np.bincount(groups, minlength=n_groups) if groups else np.zeros(0, int)
    order = np.random.default_rng([seed, salt, 4242]).permutation(n_groups)
    total = float(len(keys_per_item))
    active = [i for i, f in enumerate(fractions) if f > 0]
    counts = np.zeros(3)
    group_split = np.full(n_groups, -1)
    rest = list(order)
    # one group for each active split first (smallest share first), when there are enough
    if n_groups >= len(active):
        for s in sorted(active, key=lambda i: fractions[i]):
            g = rest.pop(0)
            group_split[g] = s
            counts[s] += sizes[g]
    for g in rest:
        deficit = [(fractions[s] * total - counts[s], -s) for s in active]
        s = -max(deficit)[1]
        group_split[g] = s
        counts[s] += sizes[g]
    return [SPLIT_NAMES[group_split[g]] for g in groups]
