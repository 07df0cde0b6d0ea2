"""Where afmkit keeps files, and crash-safe writing of them.

:func:`cache_dir` is the one cache location (``$AFMKIT_CACHE_DIR`` or the user cache dir);
:func:`atomic_path` writes to a temporary name in the same directory, then renames, so a reader
never sees a half-written file: either the old file (or none) or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "cache_dir", "remove_stale_temporaries"]


def cache_dir() -> Path:
    """The afmkit cache directory: ``$AFMKIT_CACHE_DIR`` or the user cache dir (may not exist yet).

    Returns
    -------
    Path
        The directory (QM9 cache, matching libraries, molecule sets live below it).
    """
    env = os.environ.get("AFMKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("afmkit"))


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``.

    The temporary file keeps all of ``path``'s suffixes (so ``np.savez``, h5py and Keras accept
    it) and is removed if the block raises.

    Parameters
    ----------
    path : str or Path
        The final file; its parent directory is created if missing.

    Yields
    ------
    Path
        The temporary file to write; renamed to ``path`` when the block exits normally.
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
    """Delete temporary files left by interrupted :func:`atomic_path` writes.

    Parameters
    ----------
    directory : str or Path
        Directory searched (not recursively) for ``.<name>.tmp-*`` files.

    Returns
    -------
    int
        Number of files deleted.
    """
    n = 0
    for tmp in Path(directory).glob(".*.tmp-*"):
        if tmp.is_file():
            tmp.unlink()
            n += 1
    return n
