"""Import ``cleartune`` from another checkout ROOT with /work/main/.venv's python.

The venv's editable install maps ``cleartune.*`` to /work/main (a meta-path finder); this
puts a finder that maps the same packages (pyproject's ``package-dir``) to ROOT first."""
from __future__ import annotations

import sys
from importlib.util import spec_from_file_location
from pathlib import Path

DIRS = {"cleartune": "cleartune", "cleartune.edge": "edge", "cleartune.train": "train",
        "cleartune.train.data": "train/data", "cleartune.quantize": "quantize",
        "cleartune.firmware_bridge": "firmware_bridge", "cleartune.bench": "bench"}


def install(root: str | Path) -> Path:
    root = Path(root).resolve()

    class RootFinder:
        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            if fullname in DIRS:
                d = root / DIRS[fullname]
                return spec_from_file_location(fullname, d / "__init__.py", submodule_search_locations=[str(d)])
            return None

    sys.meta_path.insert(0, RootFinder)
    return root


def outside(root: Path) -> list[str]:
    """The loaded cleartune modules whose file is not under ``root`` (should be none)."""
    return [m for m, mod in list(sys.modules.items()) if m.startswith("cleartune") and getattr(mod, "__file__", None)
            and not str(Path(mod.__file__).resolve()).startswith(str(root) + "/")]


def tracker_with(acc, pp) -> None:
    """Make the accuracy bench's ``tracker`` system (module ``acc``) run with PitchParams ``pp``."""
    import dataclasses

    table = acc.system_table

    def patched(**kw):
        t = table(**kw)
        t["tracker"] = dataclasses.replace(t["tracker"], tuner={"denoise": False, "pitch": pp})
        return t

    acc.system_table = patched
