"""Crash-safe file writing: write to a temporary name in the same directory, then rename.

A reader never sees a half-written file: either the old file (or none) or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``.

    The temporary file keeps all of ``path``'s suffixes (so ``np.savez``, h5py and Keras accept
    it) and is removed if the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base, dot, suffixes = path.name.partition(".")  # keep ".weights.h5", ".tar.gz", ...
    tmp = path.with_name(f".{base}.tmp-{uuid.uuid4().hex[:8]}{dot}{suffixes}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temporaries(directory: str | Path) -> int:
    """Delete temporary files left by interrupted :func:`atomic_path` writes; returns the count."""
    n = 0
    for tmp in Path(directory).glob(".*.tmp-*"):
        if tmp.is_file():
            tmp.unlink()
            n += 1
    return n
