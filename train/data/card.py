"""The dataset card: markdown tables (sources per split, counts, hours, SNR and noise-type
histograms, hard cases) and one PNG, from the ``metadata.csv`` and ``dataset.json`` of one or
more built dataset folders.

    cleartune data card data/v2 data/v2_eval --png train/data/card_v2.png > card.md
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

SNR_EDGES = (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
NOISE_TYPES = ("clean", "harmonic", "environmental", "mixed")


def _snr_bin(v: float) -> str:
    if not math.isfinite(v):
        return "clean"
    for lo, hi in zip(SNR_EDGES[:-1], SNR_EDGES[1:]):
        if lo <= v < hi or (hi == SNR_EDGES[-1] and v == hi):
            return f"{lo:+.0f}..{hi:+.0f}"
    return "other"


def _groups(name: str, rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    splits = [s for s in ("train", "val", "test") if any(r["split"] == s for r in rows)]
    return [(f"{name}/{s}", [r for r in rows if r["split"] == s]) for s in splits]


def _table(header: Sequence[str], body: list[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def card_markdown(dirs: Sequence[str | Path]) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """Markdown of the card for the datasets in ``dirs``; also the rows per ``name/split``."""
    from .dataset import load_info, load_metadata

    parts: list[str] = []
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    summary = []
    for d in dirs:
        info = load_info(d)
        rows = load_metadata(d)
        name = Path(d).name
        sp = info["signal_params"]
        clip_s = int(info["settings"]["clip_samples"]) / float(sp["sample_rate"])
        pool = info.get("pool", {}).get("name", "?")
        for g, rs in _groups(name, rows):
            groups.append((g, rs))
            summary.append([g, pool, len(rs), f"{len(rs) * clip_s / 3600:.2f}", f"{clip_s:.2f}",
                            len({r["guitar_recording"] for r in rs}), info.get("build_seconds_last_run", "")])
    parts.append("### Counts\n\n" + _table(["dataset/split", "pool", "mixes", "hours", "clip [s]", "guitar recordings",
                                            "build s (last run)"], summary))
    for col, title in (("guitar_source", "Guitar sources"), ("harmonic_source", "Harmonic-noise sources"),
                       ("env_source", "Environmental-noise sources")):
        keys = sorted({r[col] for _, rs in groups for r in rs if r[col]})
        body = [[k, *(sum(1 for r in rs if r[col] == k) for _, rs in groups)] for k in keys]
        parts.append(f"### {title} (mixes)\n\n" + _table([col, *(g for g, _ in groups)], body))
    bins = ["clean", *(f"{a:+.0f}..{b:+.0f}" for a, b in zip(SNR_EDGES[:-1], SNR_EDGES[1:]))]
    body = [[b, *(sum(1 for r in rs if _snr_bin(r["snr_db"]) == b) for _, rs in groups)] for b in bins]
    parts.append("### SNR (requested, dB)\n\n" + _table(["SNR", *(g for g, _ in groups)], body))
    body = [[t, *(sum(1 for r in rs if r["noise_type"] == t) for _, rs in groups)] for t in NOISE_TYPES]
    body += [[f"hard: {h}", *(sum(1 for r in rs if r["hard_case"] == h) for _, rs in groups)]
             for h in ("same_pitch_class", "tuning_a")]
    parts.append("### Noise types and hard cases (mixes)\n\n" + _table(["noise", *(g for g, _ in groups)], body))
    return "\n\n".join(parts) + "\n", dict(groups)


def card_png(groups: dict[str, list[dict[str, Any]]], path: str | Path) -> None:
    """SNR histogram, noise types and guitar sources per dataset/split (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(groups)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    w = 0.8 / max(1, len(names))
    bins = ["clean", *(f"{a:+.0f}..{b:+.0f}" for a, b in zip(SNR_EDGES[:-1], SNR_EDGES[1:]))]
    for ax, keys, fn, title in (
        (axes[0], bins, lambda r: _snr_bin(r["snr_db"]), "requested SNR [dB]"),
        (axes[1], [*NOISE_TYPES, "same_pitch_class", "tuning_a"],
         None, "noise type / hard case"),
        (axes[2], sorted({r["guitar_source"] for rs in groups.values() for r in rs}),
         lambda r: r["guitar_source"], "guitar source"),
    ):
        x = np.arange(len(keys))
        for i, g in enumerate(names):
            rs = groups[g]
            if fn is None:
                c = Counter(r["noise_type"] for r in rs) + Counter(r["hard_case"] for r in rs if r["hard_case"])
            else:
                c = Counter(fn(r) for r in rs)
            share = [100.0 * c.get(k, 0) / max(1, len(rs)) for k in keys]
            ax.bar(x + (i - (len(names) - 1) / 2) * w, share, w, label=f"{g} ({len(rs)})")
        ax.set_xticks(x, keys, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("% of mixes")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(names), fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
