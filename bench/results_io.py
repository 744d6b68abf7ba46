"""Writing one benchmark result: ``<stem>.json`` (to compare) and ``<stem>.md`` (to read)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_result(result: dict[str, Any], out_dir: str | Path, *, stem: str, markdown: str) -> dict[str, Path]:
    """Write ``result`` as JSON (NaN-safe) and ``markdown`` into ``out_dir``, atomically.
    Returns ``{"md": path, "json": path}``."""
    from cleartune.edge.fileio import atomic_write_text
    from cleartune.quantize.report import json_safe

    out = Path(out_dir)
    paths = {"md": out / f"{stem}.md", "json": out / f"{stem}.json"}
    atomic_write_text(paths["json"], json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")
    atomic_write_text(paths["md"], markdown)
    return paths
