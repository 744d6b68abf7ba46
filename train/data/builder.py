"""``build_dataset(config)``: build (or resume) a dataset with the generator ``config.generator``
names ("v1": :mod:`.build`, "v2": :mod:`.build_v2`, the leave-source-out pools).  Its own
module so that neither builder imports the other (build_v2 reuses build's helpers)."""
from __future__ import annotations

from .build import BuildConfig, BuildReport, build_dataset_v1
from .build_v2 import build_dataset_v2


def build_dataset(config: BuildConfig) -> BuildReport:
    """Build (or resume) the dataset described by ``config`` in ``config.out``."""
    if config.generator == "v2":
        return build_dataset_v2(config)
    return build_dataset_v1(config)
