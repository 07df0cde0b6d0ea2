"""Where afmkit keeps files, and crash-safe writing of them.

:func:`cache_dir` is the one cache location (``$AFMKIT_CACHE_DIR`` or the user cache dir);
:func:`atomic_path` writes to a temporary name in the same directory, then renames, so a reader
never sees a half-written file: either the old file (or none) or the complete new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "cache_dir", "download", "file_digest", "remove_stale_temporaries"]


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


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or Path
        The file.
    algorithm : str, optional
        A :mod:`hashlib` name, e.g. ``"sha256"`` or ``"md5"``.

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str,
    target: str | Path,
    *,
    timeout: float,
    size: int | None = None,
    progress: bool = False,
) -> None:
    """Fetch ``url`` into ``target`` atomically (a failed download leaves no file).

    Parameters
    ----------
    url : str
        The address.
    target : str or Path
        Where the file goes (its folder is created).
    timeout : float
        Seconds to wait for the server.
    size : int, optional
        Expected size in bytes for the progress bar (default: the Content-Length header).
    progress : bool, optional
        Show a progress bar.

    Raises
    ------
    urllib.error.URLError, OSError
        When the download fails.
    """
    from tqdm.auto import tqdm

    with atomic_path(target) as tmp, urllib.request.urlopen(url, timeout=timeout) as response:
        total = size or int(response.headers.get("Content-Length", 0)) or None
        with (
            open(tmp, "wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, disable=not progress) as bar,
        ):
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))

