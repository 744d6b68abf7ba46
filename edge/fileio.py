"""Atomic file writes: a temporary file in the target folder, then ``os.replace``, so an
interrupted job never leaves a half-written file under the final name.  Standard library
only; used by every part of cleartune that writes results, models or data (figures:
``cleartune.train.plots.atomic_savefig``)."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

#: Mode of written files (mkstemp's 0600 would hide them from other users and services).
FILE_MODE = 0o644


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, mode: int = FILE_MODE) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``
    (with ``mode``), on error it is removed.  For writers that want a file name
    (``savefig``, ``np.save``, ...)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp" + p.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str, *, mode: int = FILE_MODE) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    with atomic_path(path, mode=mode) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int = 2, mode: int = FILE_MODE) -> None:
    """Write ``obj`` as JSON (with a final newline) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n", mode=mode)

