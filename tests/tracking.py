"""The bare tracker over a whole signal, for tests of the tracker itself (never installed;
the one readings-of-a-signal function of the product is
:func:`cleartune.edge.pipeline.analyze_samples`, which adds the Tuner's DC blocker, model and
block feeding)."""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from cleartune.edge import guide as G
from cleartune.edge.notes import NoteMapper
from cleartune.edge.params import EDGE
from cleartune.edge.pitch import PitchParams, PitchTracker
from cleartune.edge.reading import Reading


def track(x: np.ndarray, *, sample_rate: int = EDGE.sample_rate, hop: int = EDGE.hop,
          params: Optional[PitchParams] = None, notes: Optional[NoteMapper] = None,
          denoised: Optional[np.ndarray] = None, guide: Optional[G.Guide] = None) -> List[Reading]:
    """Run a fresh :class:`PitchTracker` over a whole mono signal ``x`` (float ``(n,)``;
    a trailing partial hop is dropped) and return its readings in time order (``guide``: see
    :class:`PitchTracker`)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    d = None if denoised is None else np.asarray(denoised, dtype=np.float64).ravel()
    if d is not None and d.shape != x.shape:
        raise ValueError(f"denoised signal shape {d.shape} differs from the raw {x.shape}")
    tr = PitchTracker(sample_rate=sample_rate, hop=hop, params=params or PitchParams(), notes=notes, guide=guide)
    out: List[Reading] = []
    for i in range(len(x) // hop):
        s = slice(i * hop, (i + 1) * hop)
        r = tr.update(x[s], None if d is None else d[s])
        if r is not None:
            out.append(r)
    return out
