"""The QM9 molecule set (B3LYP geometries in Å, Mulliken charges in e), memory-mapped from a cache.

The CSV files come with the ``qm9pack`` package; :func:`build_qm9_cache` parses them once into
flat NumPy arrays under ``<cache dir>/qm9-v1`` (atomically, resumable after an interruption) and
:func:`qm9` gives indexed access: ``qm9(i)`` is one :class:`~afmkit.structures.molecules.Molecule`,
``qm9()`` the whole :class:`QM9Dataset`.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from afmkit.fileio import cache_dir
from afmkit.structures.elements import SYMBOLS
from afmkit.structures.molecules import Molecule

__all__ = [
    "QM9_CACHE_FORMAT",
    "QM9Dataset",
    "build_qm9_cache",
    "qm9",
    "qm9_cache_path",
    "qm9_source_csvs",
]

#: Version of the cache layout; a cache of another version is rebuilt.
QM9_CACHE_FORMAT = 1
_QM9_DIRNAME = f"qm9-v{QM9_CACHE_FORMAT}"
_QM9_ARRAYS = ("numbers", "positions", "charges", "offsets", "ids", "smiles")
_QM9_COLUMNS = ("Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", "Mulliken_pop")
_QM9_CHUNK = 4096
_STALE_TMP_SECONDS = 3600.0
_DELETE_BRACKETS = str.maketrans("", "", "[]'\" \t")
_QM9_SYMBOL_Z = {s: z for z, s in enumerate(SYMBOLS) if s}


def qm9_cache_path() -> Path:
    """Directory of the QM9 cache: ``<cache dir>/qm9-v1``.

    ``<cache dir>`` is ``$AFMKIT_CACHE_DIR`` if set, else
    ``platformdirs.user_cache_dir("afmkit")`` (:func:`afmkit.fileio.cache_dir`).

    Returns
    -------
    Path
        The directory; it may not exist yet (:func:`build_qm9_cache` creates it).
    """
    return cache_dir() / _QM9_DIRNAME


def qm9_source_csvs() -> list[Path]:
    """Paths of the QM9 CSV files shipped by ``qm9pack`` (``qm9_part1..3.csv``).

    Returns
    -------
    list of Path
        The three CSV files.

    Raises
    ------
    ModuleNotFoundError
        If ``qm9pack`` is not installed.
    FileNotFoundError
        If its data files are missing.
    """
    import importlib.util

    spec = importlib.util.find_spec("qm9pack")  # locate without importing (it imports pandas)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("QM9 needs the 'qm9pack' package (pip install qm9pack)")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    paths = [data / f"qm9_part{k}.csv" for k in (1, 2, 3)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"qm9pack data files missing: {missing}")
    return paths


class _BadRow(ValueError):
    pass


def _parse_qm9_row(
    nat_s: str, el_s: str, xyz_s: str, mul_s: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow, careful parse of one QM9 row (used only when a chunk fails the fast path)."""
    try:
        n = int(nat_s)
    except ValueError:
        raise _BadRow(f"N_atoms {nat_s!r} is not an integer") from None
    syms = [t for t in el_s.translate(_DELETE_BRACKETS).split(",") if t]
    bad = [s for s in syms if s not in _QM9_SYMBOL_Z]
    if bad:
        raise _BadRow(f"unknown element {bad[0]!r}")
    try:
        xyz = np.array([t for t in xyz_s.translate(_DELETE_BRACKETS).split(",") if t], float)
        q = np.array([t for t in mul_s.translate(_DELETE_BRACKETS).split(",") if t], float)
    except ValueError as e:
        raise _BadRow(f"non-numeric value: {e}") from None
    if not (len(syms) == n and xyz.size == 3 * n and q.size == n):
        raise _BadRow(
            f"N_atoms={n} but {len(syms)} elements, {xyz.size} coordinates, {q.size} charges"
        )
    if n == 0:
        raise _BadRow("no atoms")
    if not (np.isfinite(xyz).all() and np.isfinite(q).all()):
        raise _BadRow("non-finite coordinate or charge")
    z = np.array([_QM9_SYMBOL_Z[s] for s in syms], dtype=np.uint8)
    return z, xyz.reshape(n, 3), q


def _parse_qm9_chunk(
    rows: list[tuple[str, int, str, str, str, str, str, str]],
    skipped: list[dict[str, Any]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Parse a chunk of CSV rows at once (bulk string joins + one float conversion).

    rows: (file, line, Index, SMILES, N_atoms, Elements, XYZ_Ang, Mulliken_pop).
    Returns numbers (M,) uint8, positions (M, 3), charges (M,), counts (n,), ids (n,), smiles.
    """
    try:
        nat = np.array([r[4] for r in rows], dtype=np.int64)
        ids = np.array([r[2] for r in rows], dtype=np.int64)
        el = ",".join(r[5] for r in rows).translate(_DELETE_BRACKETS).split(",")
        xyz = ",".join(r[6] for r in rows).translate(_DELETE_BRACKETS).split(",")
        mul = ",".join(r[7] for r in rows).translate(_DELETE_BRACKETS).split(",")
        # per-molecule counts must match N_atoms exactly (a global match could hide swaps)
        n_el = np.array([r[5].count(",") + 1 for r in rows])
        n_xyz = np.array([r[6].count(",") + 1 for r in rows])
        n_mul = np.array([r[7].count(",") + 1 for r in rows])
        if not (
            np.all(nat > 0)
            and np.array_equal(n_el, nat)
            and np.array_equal(n_xyz, 3 * nat)
            and np.array_equal(n_mul, nat)
            and len(el) == nat.sum()
        ):
            raise _BadRow("count mismatch")
        uniq, inv = np.unique(np.array(el), return_inverse=True)
        uz = np.array([_QM9_SYMBOL_Z.get(str(s), 0) for s in uniq], dtype=np.uint8)
        if np.any(uz == 0):
            raise _BadRow("unknown element")
        numbers = uz[inv.reshape(-1)]
        pos = np.array(xyz, dtype=np.float64).reshape(-1, 3)
        q = np.array(mul, dtype=np.float64)
        if not (np.isfinite(pos).all() and np.isfinite(q).all()):
            raise _BadRow("non-finite values")
        return numbers, pos, q, nat, ids, [r[3] for r in rows]
    except (ValueError, _BadRow):
        pass
    # slow path: row by row, skipping (and recording) bad rows
    zs, ps, qs, ns, idl, smi = [], [], [], [], [], []
    for fname, line, id_s, smiles, nat_s, el_s, xyz_s, mul_s in rows:
        try:
            try:
                qid = int(id_s)
            except ValueError:
                raise _BadRow(f"Index {id_s!r} is not an integer") from None
            z, p, q = _parse_qm9_row(nat_s, el_s, xyz_s, mul_s)
        except _BadRow as e:
            skipped.append({"file": fname, "line": line, "index": id_s, "reason": str(e)})
            continue
        zs.append(z)
        ps.append(p)
        qs.append(q)
        ns.append(len(z))
        idl.append(qid)
        smi.append(smiles)
    if not zs:
        return (
            np.zeros(0, np.uint8), np.zeros((0, 3)), np.zeros(0),
            np.zeros(0, np.int64), np.zeros(0, np.int64), [],
        )  # fmt: skip
    return (
        np.concatenate(zs), np.concatenate(ps), np.concatenate(qs),
        np.array(ns, np.int64), np.array(idl, np.int64), smi,
    )  # fmt: skip


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while buf := f.read(1 << 24):
            n += buf.count(b"\n")
    return n


def _save_array(directory: Path, name: str, arr: np.ndarray) -> None:
    """Write one cache array (``<name>.npy``) and flush it to disk."""
    with open(directory / f"{name}.npy", "wb") as f:
        np.save(f, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _cleanup_stale(root: Path) -> None:
    """Remove temp dirs of crashed builds (older than an hour) and replaced old caches."""
    now = time.time()
    for p in root.glob(f".{_QM9_DIRNAME}.*"):
        try:
            if ".old-" in p.name or now - p.stat().st_mtime > _STALE_TMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        with open(path / "meta.json", encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if meta.get("format") != QM9_CACHE_FORMAT:
        return None
    if not all((path / f"{a}.npy").is_file() for a in _QM9_ARRAYS):
        return None
    return meta


def _sources_changed(meta: dict[str, Any]) -> bool:
    """True if a recorded source CSV still exists but its size changed (e.g. qm9pack update)."""
    for s in meta.get("sources", []):
        try:
            if os.stat(s["path"]).st_size != s["size"]:
                return True
        except OSError:
            continue
    return False


def build_qm9_cache(
    force: bool = False,
    *,
    csv_paths: Sequence[str | os.PathLike[str]] | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> Path:
    """Build the memory-mappable QM9 cache (once) and return its directory.

    The cache (:func:`qm9_cache_path`) holds ``numbers.npy`` (M,) uint8, ``positions.npy``
    (M, 3) float32 in Å, ``charges.npy`` (M,) float32 Mulliken charges in e, ``offsets.npy``
    (n+1,) int64 (atoms of molecule i are ``offsets[i]:offsets[i+1]``), ``ids.npy`` (n,)
    int32 QM9 indices, ``smiles.npy`` (n,) ASCII bytes and ``meta.json``. M is the total atom
    count, n the number of molecules.

    The cache is built in a temporary directory next to the target and moved into place
    with one ``os.rename``: a crash never leaves a half-written cache, and concurrent
    builders cannot corrupt it (the first to finish wins, the others use its result).
    Temp dirs of crashed builds are removed by later builds once they are an hour old.

    Parameters
    ----------
    force : bool
        Rebuild even if a current cache exists.
    csv_paths : sequence of str or PathLike, optional
        Source CSV files (qm9pack's column layout); default qm9pack's ``qm9_part1..3.csv``.
    limit : int, optional
        Only the first ``limit`` rows (for tests and quick trials). The cache then holds a
        partial molecule set, recorded in ``meta.json``; :func:`qm9` warns when it uses one.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        The cache directory.

    Raises
    ------
    ValueError
        If ``limit`` < 1, a file is not a qm9pack CSV, or no molecule could be read.
    ModuleNotFoundError, FileNotFoundError
        If the default source files (qm9pack) are unavailable.
    """
    target = qm9_cache_path()
    root = target.parent
    if not force:
        meta = _read_meta(target)
        if meta is not None and not _sources_changed(meta):
            return target
    # an existing directory here is invalid, stale or to be forced away: replace it
    replace = force or target.exists()
    root.mkdir(parents=True, exist_ok=True)
    _cleanup_stale(root)
    paths = [Path(p) for p in csv_paths] if csv_paths is not None else qm9_source_csvs()
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")

    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{_QM9_DIRNAME}.tmp-", dir=root))
    try:
        meta = _build_qm9_into(tmp, paths, limit, progress)
        meta["build_seconds"] = round(time.perf_counter() - t0, 3)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a cache may be shared (AFMKIT_CACHE_DIR)
        with open(tmp / "meta.json", "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if meta["skipped"]:
            warnings.warn(
                f"QM9 cache: skipped {len(meta['skipped'])} malformed rows "
                f"(listed in {target / 'meta.json'})",
                stacklevel=2,
            )
        old = None
        if replace and target.exists():
            old = root / f".{_QM9_DIRNAME}.old-{uuid.uuid4().hex}"
            try:
                os.rename(target, old)
            except OSError:
                old = None
        try:
            os.rename(tmp, target)
        except OSError:
            # another builder finished first: use its (complete) cache, drop ours
            if _read_meta(target) is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _open_dataset.cache_clear()
    return target


def _build_qm9_into(
    tmp: Path, paths: list[Path], limit: int | None, progress: bool
) -> dict[str, Any]:
    from tqdm.auto import tqdm

    total = sum(max(_count_lines(p) - 1, 0) for p in paths)
    if limit is not None:
        total = min(total, limit)
    numbers, positions, charges, counts, ids, smiles = [], [], [], [], [], []
    skipped: list[dict[str, Any]] = []
    nrows = 0

    def flush(chunk: list) -> None:
        z, p, q, n, i, s = _parse_qm9_chunk(chunk, skipped)
        numbers.append(z)
        positions.append(p.astype(np.float32))
        charges.append(q.astype(np.float32))
        counts.append(n)
        ids.append(i)
        smiles.extend(s)
        bar.update(len(chunk))

    with tqdm(total=total, unit="mol", desc="Building QM9 cache", disable=not progress) as bar:
        for path in paths:
            if limit is not None and nrows >= limit:
                break
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                try:
                    header = next(reader)
                except StopIteration:
                    continue
                try:
                    cols = [header.index(c) for c in _QM9_COLUMNS]
                except ValueError:
                    raise ValueError(
                        f"{path}: not a qm9pack CSV (needs columns {_QM9_COLUMNS})"
                    ) from None
                width = max(cols) + 1
                chunk: list[tuple[str, int, str, str, str, str, str, str]] = []
                fname = str(path)
                for row in reader:
                    if limit is not None and nrows >= limit:
                        break
                    nrows += 1
                    if len(row) < width:
                        skipped.append(
                            {"file": fname, "line": reader.line_num, "index": "",
                             "reason": f"only {len(row)} columns"}
                        )  # fmt: skip
                        bar.update(1)
                        continue
                    chunk.append((fname, reader.line_num, *(row[c] for c in cols)))
                    if len(chunk) >= _QM9_CHUNK:
                        flush(chunk)
                        chunk = []
                if chunk:
                    flush(chunk)

    n_per = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    if n_per.size == 0:
        raise ValueError(f"no molecules could be read from {[str(p) for p in paths]}")
    offsets = np.zeros(n_per.size + 1, dtype=np.int64)
    np.cumsum(n_per, out=offsets[1:])
    id_arr = np.concatenate(ids)
    if id_arr.max() > np.iinfo(np.int32).max:
        raise ValueError("QM9 index does not fit int32")
    _save_array(tmp, "numbers", np.concatenate(numbers))
    _save_array(tmp, "positions", np.concatenate(positions))
    _save_array(tmp, "charges", np.concatenate(charges))
    _save_array(tmp, "offsets", offsets)
    _save_array(tmp, "ids", id_arr.astype(np.int32))
    try:  # QM9 SMILES are ASCII: store as bytes (4x smaller than str)
        smiles_arr = np.array([x.encode("ascii") for x in smiles], dtype=np.bytes_)
    except UnicodeEncodeError:
        smiles_arr = np.array(smiles, dtype=np.str_)
    _save_array(tmp, "smiles", smiles_arr)
    try:
        from importlib.metadata import version

        qm9pack_version = version("qm9pack")
    except Exception:
        qm9pack_version = None
    return {
        "format": QM9_CACHE_FORMAT,
        "n_molecules": int(n_per.size),
        "n_atoms": int(offsets[-1]),
        "rows_read": nrows,
        "limit": limit,
        "partial": limit is not None,
        "sources": [{"path": str(p), "size": p.stat().st_size} for p in paths],
        "qm9pack_version": qm9pack_version,
        "skipped": skipped,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "units": {"positions": "angstrom", "charges": "e (Mulliken, B3LYP/6-31G(2df,p))"},
    }


class QM9Dataset:
    """Lazy, memory-mapped view of the QM9 cache; items are :class:`Molecule`.

    Supports ``len()``, ``ds[i]`` (negative i allowed), ``ds[a:b]`` (a list), iteration,
    :meth:`smiles`, :meth:`qm9_id` and :meth:`find`. Positions in Å (DFT B3LYP, stored as
    float32), charges are Mulliken charges in e (float32). Molecule ``i`` is named
    ``"qm9-%06d" % qm9_id(i)``.

    Parameters
    ----------
    path : str or PathLike
        Cache directory made by :func:`build_qm9_cache`.

    Raises
    ------
    FileNotFoundError
        If ``path`` holds no valid cache.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta = _read_meta(self.path)
        if meta is None:
            raise FileNotFoundError(f"no valid QM9 cache at {self.path}")
        self.meta: dict[str, Any] = meta
        load = functools.partial(np.load, mmap_mode="r", allow_pickle=False)
        self._numbers = load(self.path / "numbers.npy")
        self._positions = load(self.path / "positions.npy")
        self._charges = load(self.path / "charges.npy")
        self._offsets = np.load(self.path / "offsets.npy")
        self._ids = np.load(self.path / "ids.npy")
        self._smiles = load(self.path / "smiles.npy")
        self._n = int(self._ids.shape[0])
        self._sorted = bool(np.all(np.diff(self._ids) > 0))

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        part = ", partial" if self.meta.get("partial") else ""
        return f"QM9Dataset({self._n} molecules{part}, path={str(self.path)!r})"

    def _index(self, i: int | np.integer) -> int:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"QM9 index must be an integer or slice, got {type(i).__name__}")
        j = int(i)
        if j < 0:
            j += self._n
        if not 0 <= j < self._n:
            raise IndexError(f"QM9 index {int(i)} out of range for {self._n} molecules")
        return j

    def __getitem__(self, i: int | slice) -> Molecule | list[Molecule]:
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._n))]
        return self._get(self._index(i))

    def _get(self, j: int) -> Molecule:
        a, b = int(self._offsets[j]), int(self._offsets[j + 1])
        return Molecule._trusted(
            self._numbers[a:b].astype(np.int64),
            self._positions[a:b].astype(np.float64),
            self._charges[a:b].astype(np.float64),
            f"qm9-{int(self._ids[j]):06d}",
        )

    def __iter__(self) -> Iterator[Molecule]:
        for j in range(self._n):
            yield self._get(j)

    def smiles(self, i: int) -> str:
        """SMILES of molecule ``i``, as given by QM9 (GDB-17 SMILES).

        Parameters
        ----------
        i : int
            0-based position (negative counts from the end).

        Returns
        -------
        str
            The SMILES string.

        Raises
        ------
        IndexError
            If ``i`` is out of range.
        """
        v = self._smiles[self._index(i)]
        return v.decode("ascii") if isinstance(v, bytes) else str(v)

    def qm9_id(self, i: int) -> int:
        """QM9 index of molecule ``i``: the number in ``dsgdb9nsd_NNNNNN.xyz``.

        Parameters
        ----------
        i : int
            0-based position (negative counts from the end).

        Returns
        -------
        int
            The QM9 index, 1..133885.

        Raises
        ------
        IndexError
            If ``i`` is out of range.
        """
        return int(self._ids[self._index(i)])

    def n_atoms(self, i: int) -> int:
        """Number of atoms of molecule ``i``.

        Parameters
        ----------
        i : int
            0-based position (negative counts from the end).

        Returns
        -------
        int
            The atom count, hydrogens included.

        Raises
        ------
        IndexError
            If ``i`` is out of range.
        """
        j = self._index(i)
        return int(self._offsets[j + 1] - self._offsets[j])

    @property
    def ids(self) -> np.ndarray:
        """QM9 indices of all molecules, in cache order: int32 array of shape (n,)."""
        return self._ids

    def find(self, qm9_id: int) -> int:
        """0-based position of the molecule with QM9 index ``qm9_id``.

        Parameters
        ----------
        qm9_id : int
            The QM9 index (1..133885).

        Returns
        -------
        int
            The position ``i`` with ``self.qm9_id(i) == qm9_id``.

        Raises
        ------
        KeyError
            If no molecule has that QM9 index (about 3k of 133,885 are not in qm9pack).
        """
        qid = int(qm9_id)
        if self._sorted:
            j = int(np.searchsorted(self._ids, qid))
            if j < self._n and int(self._ids[j]) == qid:
                return j
        else:
            hit = np.flatnonzero(self._ids == qid)
            if hit.size:
                return int(hit[0])
        raise KeyError(f"QM9 index {qid} is not in the data set")


@functools.lru_cache(maxsize=4)
def _open_dataset(path: str, mtime_ns: int) -> QM9Dataset | None:
    """Open (and remember) the cache at ``path``; None if it is invalid or stale."""
    try:
        ds = QM9Dataset(path)
    except (OSError, ValueError):
        return None
    return None if _sources_changed(ds.meta) else ds


def qm9(index: int | None = None, *, qm9_id: int | None = None) -> Molecule | QM9Dataset:
    """QM9 molecules (DFT B3LYP geometries in Å, Mulliken charges in e) from ``qm9pack``.

    The first call builds a compact memory-mapped cache (:func:`build_qm9_cache`, about
    5 s, progress bar); later calls open it in milliseconds. qm9pack holds 130,831 of
    QM9's 133,885 molecules (the 3,054 that failed QM9's own consistency check are absent),
    so a position and a QM9 index differ: ``qm9(923)`` is the 924th molecule present, phenol,
    whose QM9 index is 949 (``qm9(qm9_id=949)``, named ``"qm9-000949"``).

    Parameters
    ----------
    index : int, optional
        0-based position in the molecule set (negative counts from the end), or None.
    qm9_id : int, optional
        QM9's own 1-based molecule index (the number in its file names and in the molecule's
        name); give this or ``index``, not both.

    Returns
    -------
    Molecule or QM9Dataset
        The molecule at ``index`` (named e.g. ``"qm9-000001"`` after its QM9 index), or the
        whole molecule set as a lazy :class:`QM9Dataset` when ``index`` is None.

    Raises
    ------
    IndexError
        ``index`` out of range.
    KeyError
        ``qm9_id`` not in the set (e.g. one of the 3,054 molecules qm9pack leaves out).
    ValueError
        If both ``index`` and ``qm9_id`` are given.
    """
    if index is not None and qm9_id is not None:
        raise ValueError("give a position (index) or a QM9 index (qm9_id), not both")
    path = qm9_cache_path()
    ds = None
    try:
        ds = _open_dataset(str(path), (path / "meta.json").stat().st_mtime_ns)
    except OSError:
        pass
    if ds is None:
        build_qm9_cache()
        ds = _open_dataset(str(path), (path / "meta.json").stat().st_mtime_ns)
        if ds is None:  # pragma: no cover - only if the fresh cache is unreadable
            raise RuntimeError(f"could not open the QM9 cache at {path}")
    if ds.meta.get("partial"):
        warnings.warn(
            f"QM9 cache is partial ({len(ds)} molecules, limit={ds.meta.get('limit')}); "
            "call afmkit.structures.qm9.build_qm9_cache(force=True) for the full set",
            stacklevel=2,
        )
    if qm9_id is not None:
        return ds[ds.find(qm9_id)]
    if index is None:
        return ds
    return ds[index]
