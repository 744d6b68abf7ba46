"""Figures for reports, training and benchmarks, saved atomically (temporary file, then
rename, as :mod:`cleartune.edge.fileio` writes every file).  matplotlib comes with the
``train`` and ``dev`` extras; the Pi never plots, so this lives outside ``edge/``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cleartune.edge.fileio import atomic_path


def atomic_savefig(fig: Any, path: str | os.PathLike, *, dpi: int = 100) -> None:
    """Save a matplotlib figure atomically (format from the extension) and close it.
    Duck-typed: matplotlib is imported only to close the figure, by the caller's install."""
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=dpi, format=p.suffix.lstrip(".") or "png")
    import matplotlib.pyplot as plt

    plt.close(fig)
