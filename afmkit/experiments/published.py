"""Experimental AFM data: the published 1S-camphor stacks and an offline blind stand-in.

**Published data** (Alldritt et al., Sci. Adv. 2020; Zenodo record 10562769, file
``afm_camphor.tar.gz``, CC-BY 4.0): constant-height Δf stacks of 1S-camphor on Cu(111),
experiments 1, 3, 4, 6 and 7, one NumPy file ``<n>.npy`` each, shape (1, 128, 128, 10).
The files store the image axes **transposed**, as (batch, y, x, slice); afmkit's convention is
(x, y, slice), so :func:`load_camphor_experiments` swaps the two image axes. Slice 0 is the
farthest from the sample, as in every afmkit stack. Values are the measured Δf (Hz).

:func:`fetch_camphor_experiments` downloads the archive (checking Zenodo's published MD5 and the
contents), and without a network raises :class:`DatasetUnavailableError` saying how to get it
by hand. **Stand-ins**: :func:`camphor_standin` returns pseudo-experiments shipped with the
package; their true orientations, :func:`camphor_standin_truth`, live in a separate file and are
meant for scoring only. Two sets ship (:data:`STANDIN_KINDS`), chosen with ``kind``:

* ``"afmkit"`` (default): simulated by afmkit (``scripts/make_camphor_standin.py``, seed 2020);
* ``"ppafm"``: simulated by ppafm, an independent Probe Particle code, with tips and artefact
  strengths drawn more widely (``scripts/make_camphor_ppafm_standin.py``, seed 2026). Its Δf is
  ppafm's, 10/11 of afmkit's for the same force; matching normalises each slice.

See :mod:`afmkit.experiments.pseudo` for what is perturbed.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from afmkit.fileio import atomic_path, download, file_digest

__all__ = [
    "CAMPHOR_ARCHIVE",
    "CAMPHOR_EXPERIMENTS",
    "CAMPHOR_STACK_SHAPE",
    "CAMPHOR_URL",
    "DatasetUnavailableError",
    "PPAFM_STANDIN_PATH",
    "PPAFM_STANDIN_TRUTH_PATH",
    "STANDIN_KINDS",
    "STANDIN_PATH",
    "STANDIN_TRUTH_PATH",
    "StandinTruth",
    "ZENODO_API",
    "ZENODO_RECORD",
    "camphor_standin",
    "camphor_standin_truth",
    "check_stack",
    "fetch_camphor_experiments",
    "load_camphor_experiments",
    "write_published_format",
]

#: Zenodo record of the ASD-AFM data (molecules and experimental camphor stacks).
ZENODO_RECORD = "10562769"
#: Zenodo's JSON description of the record (file names, sizes, MD5 checksums, links).
ZENODO_API = f"https://zenodo.org/api/records/{ZENODO_RECORD}"
#: The archive with the experimental stacks.
CAMPHOR_ARCHIVE = "afm_camphor.tar.gz"
#: Direct download address of :data:`CAMPHOR_ARCHIVE`.
CAMPHOR_URL = f"https://zenodo.org/records/{ZENODO_RECORD}/files/{CAMPHOR_ARCHIVE}?download=1"
#: Experiment numbers in the published set.
CAMPHOR_EXPERIMENTS = (1, 3, 4, 6, 7)
#: Shape of one experimental stack in afmkit's axis order (x, y, slice).
CAMPHOR_STACK_SHAPE = (128, 128, 10)

_DATA_DIR = Path(__file__).resolve().parent / "data"
#: The shipped afmkit-simulated stand-in stacks (8-bit per slice).
STANDIN_PATH = _DATA_DIR / "camphor_standin.npz"
#: Their true orientations and parameters (for scoring only).
STANDIN_TRUTH_PATH = _DATA_DIR / "camphor_standin_truth.npz"
#: The shipped ppafm-simulated stand-in stacks (8-bit per slice).
PPAFM_STANDIN_PATH = _DATA_DIR / "camphor_ppafm_standin.npz"
#: Their true orientations and parameters (for scoring only).
PPAFM_STANDIN_TRUTH_PATH = _DATA_DIR / "camphor_ppafm_standin_truth.npz"
#: Shipped stand-in sets, by the simulator that made them (``kind`` of :func:`camphor_standin`).
STANDIN_KINDS = ("afmkit", "ppafm")
#: kind → (stacks file, truth file, generating script).
_STANDIN_FILES = {
    "afmkit": (STANDIN_PATH, STANDIN_TRUTH_PATH, "scripts/make_camphor_standin.py"),
    "ppafm": (
        PPAFM_STANDIN_PATH,
        PPAFM_STANDIN_TRUTH_PATH,
        "scripts/make_camphor_ppafm_standin.py",
    ),
}

_EXP_NAME = re.compile(r"(?:^|/)(\d+)\.npy$")


class DatasetUnavailableError(OSError):
    """Experimental data are neither on disk nor downloadable; the message says how to get them."""


def _manual_instructions(dest: Path) -> str:
    return (
        f"Download {CAMPHOR_URL} by hand (or from https://doi.org/10.5281/zenodo.{ZENODO_RECORD}),"
        f" put {CAMPHOR_ARCHIVE} into {dest} and call "
        f"afmkit.experiments.published.load_camphor_experiments({str(dest)!r}) (it reads the "
        ".tar.gz or its extracted .npy files). Offline, "
        "afmkit.experiments.published.camphor_standin() gives pseudo-experiments with known "
        "orientations."
    )


def check_stack(stack: np.ndarray, name: str = "stack", shape: tuple | None = None) -> np.ndarray:
    """Validate one Δf stack (nx, ny, nz) and return it as float32.

    Parameters
    ----------
    stack : array_like
        One Δf stack (nx, ny, n_slices) in Hz; a leading batch axis of length 1 is dropped.
    name : str
        What to call it in error messages.
    shape : tuple of int, optional
        The exact shape required.

    Returns
    -------
    numpy.ndarray
        float32 (nx, ny, n_slices).

    Raises
    ------
    ValueError
        For a wrong rank or shape (naming the expected one), an empty stack, non-numeric data,
        or NaN/Inf values (with their count).
    """
    a = np.asarray(stack)
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"{name} must be one stack of shape (nx, ny, n_slices), got {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    a = a.astype(np.float32, copy=False)
    bad = int(a.size - np.count_nonzero(np.isfinite(a)))
    if bad:
        raise ValueError(f"{name} contains {bad} NaN/Inf values; clean or crop it first")
    return a


def _from_published(array: np.ndarray, name: str) -> np.ndarray:
    """(1, y, x, z) or (y, x, z) as stored → (x, y, z) float32, validated."""
    a = np.asarray(array)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"{name}: expected (1, 128, 128, 10) as published, got {a.shape}")
    return check_stack(np.ascontiguousarray(a.transpose(1, 0, 2)), name)


def _find_archive(path: Path) -> Path | None:
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        return path
    if path.is_dir():
        candidate = path / CAMPHOR_ARCHIVE
        if candidate.is_file():
            return candidate
    return None


def _npy_files(path: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for p in sorted(path.rglob("*.npy")):
        m = _EXP_NAME.search(p.as_posix())
        if m and p.is_file():
            found.setdefault(int(m.group(1)), p)
    return found


def _read_npy(source: Path | IO[bytes], name: str) -> np.ndarray:
    """``np.load`` of one ``.npy`` file; an empty or damaged file raises ValueError naming it."""
    try:
        return np.load(source, allow_pickle=False)
    except (ValueError, EOFError, OSError) as err:
        what = f"{type(err).__name__}: {err}"
        raise ValueError(f"{name} is not a readable .npy file ({what})") from err


def load_camphor_experiments(path: str | Path) -> dict[int, np.ndarray]:
    """The published 1S-camphor stacks (experimental data), by experiment number.

    Parameters
    ----------
    path : str or Path
        The directory with the extracted archive (``<n>.npy`` files anywhere below it), or the
        ``afm_camphor.tar.gz`` file itself, or a directory holding that file.

    Returns
    -------
    dict of int to numpy.ndarray
        ``{experiment number: Δf stack}``, each float32 (128, 128, 10) in Hz, axes (x, y,
        slice) (the stored (y, x) order is transposed), slice 0 farthest from the sample.

    Raises
    ------
    DatasetUnavailableError
        ``path`` does not exist or holds no experiment files.
    ValueError
        A file has the wrong shape or NaN/Inf values.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetUnavailableError(
            f"no camphor data at {path} (missing directory). {_manual_instructions(path)}"
        )
    out: dict[int, np.ndarray] = {}
    npys = _npy_files(path) if path.is_dir() else {}
    if npys:
        for number, file in npys.items():
            out[number] = _from_published(_read_npy(file, str(file)), file.name)
    elif (archive := _find_archive(path)) is not None:
        try:
            for number, name, data in _archive_experiments(archive):
                array = _read_npy(io.BytesIO(data.read()), f"{archive}: {name}")
                out.setdefault(number, _from_published(array, name))
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            raise ValueError(
                f"{archive} is not a readable tar archive ({type(err).__name__}: {err})"
            ) from err
    if not out:
        raise DatasetUnavailableError(
            f"{path} holds no experiment files (<n>.npy or {CAMPHOR_ARCHIVE}). "
            + _manual_instructions(path if path.is_dir() else path.parent)
        )
    return dict(sorted(out.items()))


def _record_entry(api_url: str, timeout: float) -> dict:
    with urllib.request.urlopen(api_url, timeout=timeout) as response:
        record = json.load(response)
    for entry in record.get("files", []):
        if entry.get("key") == CAMPHOR_ARCHIVE:
            return entry
    raise DatasetUnavailableError(f"Zenodo record {api_url} lists no {CAMPHOR_ARCHIVE}")


def fetch_camphor_experiments(
    dest: str | Path,
    api_url: str = ZENODO_API,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download, verify and extract the published camphor stacks into ``dest``.

    Steps: ask Zenodo's API for the archive's size, MD5 and link; download to a temporary file
    (with a progress bar); check the MD5; rename; extract the ``.npy`` files (no links, no paths
    outside ``dest``); load them once with :func:`load_camphor_experiments` to check shapes.
    Does nothing but the check when ``dest`` already holds the data.

    Parameters
    ----------
    dest : str or Path
        Directory for the archive and the extracted files (created if needed).
    api_url : str
        Zenodo record API address (tests point it to a local server).
    timeout : float
        Network timeout, s.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Path
        ``dest``; pass it to :func:`load_camphor_experiments`.

    Raises
    ------
    DatasetUnavailableError
        No network / the download failed / checksum mismatch; the message explains how to
        download the file by hand.
    ValueError
        An extracted file has the wrong shape or NaN/Inf values.
    """
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    if _npy_files(dest):
        load_camphor_experiments(dest)
        return dest
    archive = dest / CAMPHOR_ARCHIVE
    try:
        entry = _record_entry(api_url, timeout)
        expected_md5 = str(entry.get("checksum", "")).removeprefix("md5:")
        link = entry.get("links", {}).get("self") or CAMPHOR_URL
        if not archive.is_file() or (expected_md5 and file_digest(archive, "md5") != expected_md5):
            download(link, archive, timeout=timeout, size=int(entry.get("size", 0)) or None,
                     progress=progress)
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        if isinstance(exc, DatasetUnavailableError):
            raise
        raise DatasetUnavailableError(
            f"could not download the camphor experiments ({type(exc).__name__}: {exc}). "
            + _manual_instructions(dest)
        ) from exc
    if expected_md5 and (got := file_digest(archive, "md5")) != expected_md5:
        bad = archive.with_name(archive.name + ".corrupt")
        archive.replace(bad)
        raise DatasetUnavailableError(
            f"{CAMPHOR_ARCHIVE}: MD5 {got} differs from Zenodo's {expected_md5} (kept as {bad}). "
            + _manual_instructions(dest)
        )
    _extract_npys(archive, dest)
    load_camphor_experiments(dest)
    return dest


def _archive_experiments(archive: Path) -> Iterator[tuple[int, str, IO[bytes]]]:
    """``(experiment number, member name, open file)`` for each regular ``<n>.npy`` member.

    Links, directories and other files of the archive are skipped (nothing is extracted).
    """
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            m = _EXP_NAME.search(member.name)
            if m and member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                yield int(m.group(1)), member.name, data


def _extract_npys(archive: Path, dest: Path) -> None:
    """Extract only regular ``<n>.npy`` files, flattened into ``dest`` (safe against ``..``)."""
    for number, _, source in _archive_experiments(archive):
        with atomic_path(dest / f"{number}.npy") as tmp, open(tmp, "wb") as out:
            shutil.copyfileobj(source, out)


def write_published_format(stacks: Mapping[int, np.ndarray], directory: str | Path) -> Path:
    """Write stacks (x, y, slice) as the published files do: ``<n>.npy``, (1, y, x, slice).

    Used by the tests and by anyone who wants to feed their own experimental data through the
    loader.

    Parameters
    ----------
    stacks : mapping of int to array_like
        ``{experiment number: Δf stack (nx, ny, n_slices) in Hz}``.
    directory : str or Path
        Where the files go (created if needed); each is written atomically.

    Returns
    -------
    Path
        ``directory``.

    Raises
    ------
    ValueError
        For a stack :func:`check_stack` rejects.
    """
    directory = Path(directory)
    checked = {}
    for number, stack in stacks.items():  # check every stack before writing any file
        try:
            key = int(number)
        except (TypeError, ValueError):
            raise ValueError(f"experiment numbers must be integers, got {number!r}") from None
        checked[key] = check_stack(stack, f"experiment {number}")
    directory.mkdir(parents=True, exist_ok=True)
    for number, a in checked.items():
        with atomic_path(directory / f"{number}.npy") as tmp:
            np.save(tmp, a.transpose(1, 0, 2)[None])
    return directory


# ---------------------------------------------------------------------------------------------
# the offline stand-in
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StandinTruth:
    """Ground truth of the stand-in, for scoring only.

    Attributes
    ----------
    rotations : numpy.ndarray
        (n, 3, 3) rotations R with ``camphor().rotated(R)`` = the imaged geometry.
    params : list of dict
        Per pseudo-experiment, the perturbed simulation parameters (k_lat N/m, probe_charge e,
        rest_length Å, tilt Å, z_offset Å) and artefact strengths; the ppafm set adds
        ``simulator`` (e.g. ``"ppafm 0.4.1"``).
    seed : int
        Seed of the generating script.
    """

    rotations: np.ndarray
    params: list[dict]
    seed: int


def _dequantize(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    scale = (hi - lo) / 255.0
    return (q.astype(np.float32) * scale[:, None, None, :] + lo[:, None, None, :]).astype(
        np.float32
    )


def _standin_files(kind: str) -> tuple[Path, Path, str]:
    try:
        return _STANDIN_FILES[kind]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown stand-in kind {kind!r}; choose one of {', '.join(STANDIN_KINDS)}"
        ) from None


def _standin_path(path: str | Path | None, kind: str, truth: bool) -> Path:
    """``path``, or the shipped stand-in (``truth``: its truth file) of ``kind``.

    Raises :class:`DatasetUnavailableError` naming the script that makes a missing file.
    """
    stacks, truths, script = _standin_files(kind)
    path = Path(path) if path is not None else (truths if truth else stacks)
    if not path.is_file():
        what = "stand-in truth file" if truth else "stand-in file"
        raise DatasetUnavailableError(f"{kind} {what} {path} is missing; run `python {script}`")
    return path


def camphor_standin(
    path: str | Path | None = None, *, kind: str = "afmkit"
) -> dict[int, np.ndarray]:
    """The shipped blind pseudo-experiments of 1S-camphor, by number (1, 2, …).

    They were simulated in orientations unknown to the matcher with perturbed tip parameters,
    another height offset, noise, drift between slices and scan-line artefacts, then stored as
    8-bit per slice.

    Parameters
    ----------
    path : str or Path, optional
        The ``.npz`` file to read; default the shipped file of ``kind``.
    kind : {"afmkit", "ppafm"}
        Which shipped set (:data:`STANDIN_KINDS`): ``"afmkit"`` (simulated by afmkit) or
        ``"ppafm"`` (simulated by ppafm, Δf 10/11 of afmkit's for the same force).

    Returns
    -------
    dict of int to numpy.ndarray
        ``{number: stack}``: each a float32 Δf stack (128, 128, 10) in Hz, axes (x, y, slice),
        slice 0 farthest — the same form as :func:`load_camphor_experiments` returns.

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`STANDIN_KINDS`.
    DatasetUnavailableError
        The file is missing; the message names the script that makes it.
    """
    path = _standin_path(path, kind, truth=False)
    try:
        with np.load(path, allow_pickle=False) as f:
            stacks = _dequantize(f["stacks_u8"], f["lo"], f["hi"])
            numbers = [int(n) for n in f["numbers"]]
        if stacks.ndim != 4 or len(numbers) != len(stacks):
            raise ValueError(f"{len(numbers)} numbers for stacks of shape {stacks.shape}")
        return {n: check_stack(stacks[i], f"stand-in {n}") for i, n in enumerate(numbers)}
    except (KeyError, ValueError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a stand-in file ({type(err).__name__}: {err})") from err


def camphor_standin_truth(path: str | Path | None = None, *, kind: str = "afmkit") -> StandinTruth:
    """True orientations of :func:`camphor_standin` — for scoring a matcher, never as input.

    Parameters
    ----------
    path : str or Path, optional
        The truth ``.npz`` file to read; default the shipped truth file of ``kind``.
    kind : {"afmkit", "ppafm"}
        Which shipped set (:data:`STANDIN_KINDS`), as for :func:`camphor_standin`.

    Returns
    -------
    StandinTruth
        The (n, 3, 3) rotations, the drawn parameters (Å, e, N/m) and the seed.

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`STANDIN_KINDS`.
    DatasetUnavailableError
        The file is missing; the message names the script that makes it.
    """
    path = _standin_path(path, kind, truth=True)
    try:
        with np.load(path, allow_pickle=False) as f:
            truth = StandinTruth(
                rotations=np.asarray(f["rotations"], dtype=np.float64),
                params=json.loads(str(f["params_json"])),
                seed=int(f["seed"]),
            )
        r = truth.rotations
        if r.ndim != 3 or r.shape[1:] != (3, 3) or not np.all(np.isfinite(r)):
            raise ValueError(f"rotations must be finite (n, 3, 3), got shape {r.shape}")
        if not isinstance(truth.params, list):
            raise ValueError(f"params_json must hold a list, got {type(truth.params).__name__}")
    except (KeyError, ValueError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as err:
        what = f"{type(err).__name__}: {err}"
        raise ValueError(f"{path} is not a stand-in truth file ({what})") from err
    return truth
