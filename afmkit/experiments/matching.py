"""Match an experimental Δf stack to simulated orientations of a molecule (thesis §4.1, Fig. 17).

The thesis simulates many orientations of 1S-camphor, predicts the vdW Spheres descriptor of
each simulation and of each experimental stack with the DSH model, and ranks the simulations by
cross-correlation. afmkit offers that method and goes further (``match(..., method=...)``):

* ``"descriptors"`` — the thesis's method, with a library of viewing directions × in-plane
  angles: ``n_orientations`` near-uniform directions are simulated once each; the in-plane turn
  is searched at match time by turning the *experiment's* image (500 directions × 36 angles,
  refined to 2°, span ≈ 18,000 orientations for the price of 500 simulations). NCC over xy
  shifts by FFT, first on down-sampled images for all candidates, then at full resolution.
* ``"df"`` — Δf evidence (:mod:`afmkit.experiments.df_matching`): high-passed Δf slices against
  the library's simulated slices over shifts, angles and scan-height offsets, then a tip search
  and a local orientation refinement on the best candidates, simulated on demand.
* ``"hybrid"`` (default) — candidates from both searches, re-ranked on Δf like ``"df"``.

Every :class:`MatchResult` carries a calibrated confidence (softmax over the scored candidates,
temperature fitted on the stand-ins) and an ambiguity flag. The library (predicted descriptors
and simulated Δf slices) is cached on disk, keyed by the molecule, simulation parameters, z
ladder, model weights and ``n_orientations``; an interrupted build resumes and a corrupt file is
rebuilt.

Public names: :func:`match`, :func:`match_descriptor`, :func:`build_library`,
:class:`OrientationLibrary`, :class:`MatchResult`, :func:`accuracy`, :func:`orientation_error`,
:func:`symmetry_rotations`, :func:`orientation_probabilities`, :func:`calibrate_temperature`,
:func:`set_confidence`, :func:`check_experiment`, :data:`METHODS` (figures:
:func:`afmkit.plotting.matching.plot_matches`).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from afmkit.experiments.df_matching import (
    COMPARE_HEIGHTS,
    DOWNSAMPLE,
    HEIGHT_RANGE,
    TIP_VARIANTS,
    Candidates,
    Ladder,
    TipScorer,
    compared_slices,
    df_search,
    downsample,
    experiment_slice_heights,
    ladder,
    refine_orientation,
    rotate_image,
    search_orientations,
)
from afmkit.experiments.published import check_stack
from afmkit.fileio import atomic_path, cache_dir
from afmkit.learn.augment import preprocess
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import Molecule, camphor
from afmkit.targets.rotations import rotation_angle, rotation_to_z, sphere_points

__all__ = [
    "AMBIGUITY_RATIO",
    "CHANNELS",
    "DEFAULT_CHANNELS",
    "DEFAULT_METHOD",
    "DEFAULT_MODEL",
    "LIBRARY_FORMAT",
    "METHODS",
    "MatchResult",
    "OrientationLibrary",
    "SAME_ORIENTATION_DEG",
    "TEMPERATURES",
    "accuracy",
    "build_library",
    "calibrate_temperature",
    "check_experiment",
    "exact_descriptors",
    "library_directory",
    "library_key",
    "match",
    "match_descriptor",
    "matched_params",
    "orientation_error",
    "orientation_probabilities",
    "predict_descriptors",
    "rotation_z",
    "set_confidence",
    "symmetry_rotations",
]

#: Bump when the cached library's content or layout changes.
LIBRARY_FORMAT = 3
#: Default pretrained model whose descriptors drive the matching.
DEFAULT_MODEL = "dsh-light"
#: The DSH model's outputs, stored for every library entry in this order.
CHANNELS = ("atomic_disks", "vdw_spheres", "height_map")
#: Descriptors compared by default: the thesis's vdW Spheres. With exact descriptors the Height
#: Map alone would match better (it breaks near-180° look-alikes), but the DSH-predicted Height
#: Map depends on the unknown scan height and did worse on the stand-in (see :func:`match`).
DEFAULT_CHANNELS = ("vdw_spheres",)


# ---------------------------------------------------------------------------------------------
# small geometry helpers
# ---------------------------------------------------------------------------------------------
def rotation_z(angle_deg: float | np.ndarray) -> np.ndarray:
    """Rotation(s) about z by ``angle_deg``, counter-clockwise seen from +z.

    Parameters
    ----------
    angle_deg : float or numpy.ndarray
        Angle(s) in degrees, any shape (…).

    Returns
    -------
    numpy.ndarray
        Rotation matrices, shape (…, 3, 3).
    """
    a = np.radians(np.asarray(angle_deg, dtype=float))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*a.shape, 3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = c, -s, s, c
    out[..., 2, 2] = 1.0
    return out


def symmetry_rotations(mol: Molecule, tolerance: float = 0.25) -> np.ndarray:
    """Proper rotations that map ``mol`` onto itself (about its centroid), (n_sym, 3, 3).

    Candidates are the four 180° turns about the principal axes of the (element-weighted)
    inertia tensor — the symmetry operations of any molecule whose principal moments differ.
    A candidate counts if every atom lands within ``tolerance`` Å of an atom of the same
    element. Symmetric tops (two equal moments, e.g. benzene) have more symmetry than this
    finds; the identity is always included. 1S-camphor (C1) has only the identity.

    Parameters
    ----------
    mol : Molecule
        The molecule (positions in Å).
    tolerance : float
        Largest distance between a moved atom and an atom of the same element, Å.

    Returns
    -------
    numpy.ndarray
        (n_sym, 3, 3) rotations, the identity first.
    """
    pos = np.asarray(mol.positions, dtype=float)
    numbers = np.asarray(mol.numbers)
    centred = pos - pos.mean(axis=0)
    weights = numbers.astype(float)
    inertia = np.einsum("n,nij->ij", weights, np.eye(3)[None] * (centred**2).sum(1)[:, None, None])
    inertia -= np.einsum("n,ni,nj->ij", weights, centred, centred)
    _, axes = np.linalg.eigh(inertia)
    found = [np.eye(3)]
    for signs in ((1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
        candidate = axes @ np.diag(signs) @ axes.T
        moved = centred @ candidate.T
        d = np.linalg.norm(moved[:, None, :] - centred[None, :, :], axis=2)
        d[numbers[:, None] != numbers[None, :]] = np.inf
        if np.all(d.min(axis=1) < tolerance):
            found.append(candidate)
    return np.stack(found)


def orientation_error(
    predicted: np.ndarray, true: np.ndarray, symmetries: np.ndarray | None = None
) -> np.ndarray:
    """Smallest rotation angle (degrees) between predicted and true orientations.

    Parameters
    ----------
    predicted, true : numpy.ndarray
        (…, 3, 3) rotations acting as ``mol.rotated(R)``; broadcast against each other.
    symmetries : numpy.ndarray, optional
        (n_sym, 3, 3) symmetry rotations (see :func:`symmetry_rotations`); orientations that
        give the same structure then count as equal.

    Returns
    -------
    numpy.ndarray
        Angles in degrees, shape (…).
    """
    sym = np.eye(3)[None] if symmetries is None else np.asarray(symmetries)
    true = np.asarray(true)
    angles = [rotation_angle(np.asarray(predicted), true @ s) for s in sym]
    return np.min(np.stack(angles), axis=0)


# ---------------------------------------------------------------------------------------------
# the library of simulated orientations
# ---------------------------------------------------------------------------------------------
@dataclass
class OrientationLibrary:
    """Simulated viewing directions of one molecule and their descriptor images.

    Attributes
    ----------
    molecule : Molecule
        The molecule in its own frame (not rotated).
    rotations : numpy.ndarray
        (N, 3, 3) base rotations; ``molecule.rotated(rotations[i])`` was simulated.
    descriptors : numpy.ndarray
        (N, 3, nx, ny) float32 descriptor images in :data:`CHANNELS` order (Atomic Disks, vdW
        Spheres and Height Map; the last two in Å above the floor).
    params : SimulationParams
        Simulation parameters of every library stack.
    source : str
        ``"model"`` (DSH predictions) or ``"exact"`` (computed from the geometry).
    key : str
        Cache key (hash of everything above that defines the content).
    stacks : numpy.ndarray or None
        (N, S, nx/2, ny/2) float32 simulated Δf slices (Hz), 2 × 2-pixel averages, at the
        heights ``ladder.df_heights`` (farthest first); None for an exact library.
    ladder : Ladder or None
        The z ladder of the simulations (:func:`afmkit.experiments.df_matching.ladder`).
    cache : dict
        Prepared spectra kept between searches (filled on first use).
    """

    molecule: Molecule
    rotations: np.ndarray
    descriptors: np.ndarray
    params: SimulationParams
    source: str
    key: str
    stacks: np.ndarray | None = None
    ladder: Ladder | None = None
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.rotations)

    def channel(self, name: str) -> np.ndarray:
        """The images of one descriptor.

        Parameters
        ----------
        name : str
            One of :data:`CHANNELS`, e.g. ``"vdw_spheres"``.

        Returns
        -------
        numpy.ndarray
            (N, nx, ny) images.

        Raises
        ------
        ValueError
            For an unknown channel.
        """
        return self.descriptors[:, _channel_index([name])[0]]


def _channel_index(channels: Any) -> list[int]:
    names = [channels] if isinstance(channels, str) else list(channels)
    unknown = [c for c in names if c not in CHANNELS]
    if unknown or not names:
        raise ValueError(f"channels must be a non-empty subset of {CHANNELS}, got {names}")
    return [CHANNELS.index(c) for c in names]


def _params_dict(params: SimulationParams) -> dict:
    d = asdict(params)
    d["lj_table"] = str(d["lj_table"]) if d["lj_table"] is not None else None
    return d


def _model_digest(model: Any) -> str:
    h = hashlib.sha1()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:16]


def library_key(
    mol: Molecule,
    n_orientations: int,
    params: SimulationParams,
    source: str,
    model: Any,
    lad: Ladder | None = None,
) -> str:
    """Hash naming a library on disk (molecule, directions, parameters, z ladder, model weights).

    Parameters
    ----------
    mol : Molecule
        The molecule (numbers, positions in Å and charges in e are hashed).
    n_orientations : int
        Number of viewing directions.
    params : SimulationParams
        Nominal simulation parameters.
    source : {"model", "exact"}
        Where the descriptors come from.
    model : keras.Model or None
        The DSH model (its weights are hashed).
    lad : Ladder, optional
        The z ladder of the simulations.

    Returns
    -------
    str
        20 hexadecimal characters.
    """
    h = hashlib.sha1()
    heights = None if lad is None else [lad.df_heights.tolist(), lad.height_offsets.tolist()]
    h.update(json.dumps([LIBRARY_FORMAT, n_orientations, source, _params_dict(params), heights],
                        sort_keys=True, default=str).encode())
    h.update(np.asarray(mol.numbers, dtype=np.int64).tobytes())
    h.update(np.round(np.asarray(mol.positions, dtype=np.float64), 6).tobytes())
    h.update(np.round(np.asarray(mol.charges, dtype=np.float64), 6).tobytes())
    if model is not None:
        h.update(_model_digest(model).encode())
    return h.hexdigest()[:20]


def library_directory(directory: str | Path | None = None) -> Path:
    """Where libraries are cached: ``directory`` or ``<afmkit cache dir>/matching``.

    Parameters
    ----------
    directory : str or Path, optional
        An explicit directory.

    Returns
    -------
    Path
        The directory (it may not exist yet).
    """
    return Path(directory) if directory is not None else cache_dir() / "matching"


def _resolve_model(model: Any) -> Any:
    if model is None or isinstance(model, str):
        from afmkit.learn.models import load_pretrained

        return load_pretrained(model or DEFAULT_MODEL)
    return model


def predict_descriptors(model: Any, stacks: np.ndarray, batch_size: int = 10) -> np.ndarray:
    """Descriptors predicted by a DSH ``model`` for Δf stacks.

    Stacks with more slices than the model takes are reduced like at inference
    (:func:`afmkit.learn.augment.preprocess`); every slice is normalised.

    Parameters
    ----------
    model : keras.Model
        A DSH model.
    stacks : numpy.ndarray
        (B, nx, ny, nz) Δf stacks, Hz.
    batch_size : int
        Samples per prediction step.

    Returns
    -------
    numpy.ndarray
        (B, 3, nx, ny) float32 in :data:`CHANNELS` order (Atomic Disks; vdW Spheres and Height
        Map in Å).

    Raises
    ------
    ValueError
        If the model lacks a DSH output, or for a batch the model rejects.
    """
    from afmkit.learn.models import predict

    X = preprocess(np.asarray(stacks, dtype=np.float32), n_keep=int(model.inputs[0].shape[-1]))
    out = predict(model, X, batch_size=batch_size)
    missing = [c for c in CHANNELS if c not in out]
    if missing:
        raise ValueError(f"model {model.name!r} lacks outputs {missing} (a DSH model has them)")
    return np.stack([out[c] for c in CHANNELS], axis=1).astype(np.float32)


def exact_descriptors(mol: Molecule, params: SimulationParams | None = None) -> np.ndarray:
    """The exact :data:`CHANNELS` descriptors of ``mol`` as it lies: what a perfect model predicts.

    Floor-referenced like the DSH model's targets.

    Parameters
    ----------
    mol : Molecule
        The molecule in scan orientation (positions in Å).
    params : SimulationParams, optional
        Scan window and pixels (default :class:`SimulationParams` ()).

    Returns
    -------
    numpy.ndarray
        (3, nx, ny) float32; vdW Spheres and Height Map in Å above their floor.
    """
    from afmkit.targets import descriptors as D

    params = params or SimulationParams()
    return np.stack(
        [
            D.atomic_disks(mol, params),
            D.vdw_spheres(mol, params, reference="floor"),
            D.height_map(mol, params, reference="floor"),
        ]
    ).astype(np.float32)


def _exact_descriptors(mol: Molecule, rotations: np.ndarray, params: SimulationParams):
    return np.stack([exact_descriptors(mol.rotated(r), params) for r in rotations])


def _read_cached(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Arrays ``names`` of a cached .npz, or None if it is corrupt or truncated.

    A bad file gets one warning and is removed; the caller then rebuilds it.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {n: np.asarray(f[n]) for n in names}
        if any(not np.all(np.isfinite(a)) for a in out.values()):
            raise ValueError("non-finite values")
        return out
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        warnings.warn(
            f"cached matching library {path} is unreadable ({type(err).__name__}: {err}); "
            "it is deleted and rebuilt",
            RuntimeWarning,
            stacklevel=3,
        )
        path.unlink(missing_ok=True)
        return None


def build_library(
    molecule: Molecule | None = None,
    n_orientations: int = 500,
    model: Any = None,
    params: SimulationParams | None = None,
    *,
    source: str = "model",
    cache: bool = True,
    directory: str | Path | None = None,
    chunk: int = 20,
    progress: bool = True,
    height_range: tuple[float, float] = HEIGHT_RANGE,
    compare_heights: tuple[float, ...] = COMPARE_HEIGHTS,
) -> OrientationLibrary:
    """Simulate near-uniform viewing directions of ``molecule`` into an orientation library.

    Keeps, for each of ``n_orientations`` directions, the DSH model's descriptors
    (``source="model"``) and the simulated Δf slices that Δf matching compares; or
    (``source="exact"``) only the exact descriptors, no simulation — an upper bound for what a
    perfect model could do.

    Each direction is simulated once on a z ladder (:func:`afmkit.experiments.df_matching.ladder`)
    that holds both the nominal ``params`` stack for the DSH model and the Δf slices of every
    searched height offset; descriptors and 2 × 2-averaged Δf slices are stored in float16
    (≈ 110 MB for 500 directions with the defaults, half of it Δf). Takes ≈ 0.45 s per direction
    on a 2-core CPU with PoCL (≈ 4 min for 500), once.

    Parameters
    ----------
    molecule : Molecule, optional
        Default 1S-camphor.
    n_orientations : int
        Number of viewing directions (Fibonacci sphere).
    model : keras.Model or str, optional
        A DSH Keras model or the name of a pretrained set; default ``"dsh-light"``.
    params : SimulationParams, optional
        Nominal simulation parameters; default :class:`SimulationParams` (128×128×20, CO).
    source : {"model", "exact"}
        Descriptors predicted by the model from simulations, or exact from the geometry.
    cache : bool
        Read/write the library under :func:`library_directory`; a partial build is saved every
        ``chunk`` directions and resumed; a corrupt cache file is rebuilt (one warning).
    directory : str or Path, optional
        Cache directory instead of the default.
    chunk : int
        Directions simulated between checkpoints.
    progress : bool
        Show a tqdm progress bar.
    height_range : tuple of float
        See :func:`afmkit.experiments.df_matching.ladder` (Å).
    compare_heights : tuple of float
        See :func:`afmkit.experiments.df_matching.ladder` (Å).

    Returns
    -------
    OrientationLibrary
        The library (float32 arrays in memory).

    Raises
    ------
    ValueError
        For ``n_orientations`` < 1, an unknown ``source``, an invalid molecule or one that
        would not fit the scan window in some orientation.
    """
    from tqdm.auto import tqdm

    if n_orientations < 1:
        raise ValueError(f"n_orientations must be ≥ 1, got {n_orientations}")
    if source not in ("model", "exact"):
        raise ValueError(f"source must be 'model' or 'exact', got {source!r}")
    mol = molecule if molecule is not None else camphor()
    params = params or SimulationParams()
    _check_fits_window(mol, params)
    net = _resolve_model(model) if source == "model" else None
    lad = ladder(params, height_range, compare_heights) if source == "model" else None
    rotations = rotation_to_z(sphere_points(n_orientations))
    key = library_key(mol, n_orientations, params, source, net, lad)
    folder = library_directory(directory)
    final = folder / f"library-{key}.npz"
    partial = folder / f"library-{key}.partial.npz"
    names = ("descriptors",) if source == "exact" else ("descriptors", "stacks")

    def made(arrays: dict[str, np.ndarray]) -> OrientationLibrary:
        stacks = arrays.get("stacks")
        return OrientationLibrary(
            mol, rotations, arrays["descriptors"].astype(np.float32), params, source, key,
            stacks=None if stacks is None else stacks.astype(np.float32), ladder=lad,
        )

    if cache and final.is_file():
        cached = _read_cached(final, names)
        if cached is not None and len(cached["descriptors"]) == n_orientations:
            return made(cached)
    if source == "exact":
        lib = made({"descriptors": _exact_descriptors(mol, rotations, params)})
    else:
        done: dict[str, list[np.ndarray]] = {n: [] for n in names}
        if cache and partial.is_file():
            cached = _read_cached(partial, names)
            if cached is not None:
                done = {n: list(cached[n]) for n in names}
        sim = AFMSimulator(lad.params)
        with tqdm(total=n_orientations, initial=len(done["descriptors"]),
                  desc="simulating orientations", disable=not progress) as bar:
            while len(done["descriptors"]) < n_orientations:
                first = len(done["descriptors"])
                batch = rotations[first: first + chunk]
                stacks = np.stack([sim(mol.rotated(r)) for r in batch])
                done["descriptors"].extend(predict_descriptors(net, stacks[..., lad.dsh_slices]))
                df = downsample(stacks[..., lad.df_slices].transpose(0, 3, 1, 2), DOWNSAMPLE)
                done["stacks"].extend(df.astype(np.float16))
                bar.update(len(batch))
                if cache and len(done["descriptors"]) < n_orientations:
                    with atomic_path(partial) as tmp:
                        np.savez(tmp, **{n: np.stack(v).astype(np.float16)
                                         for n, v in done.items()})
        lib = made({n: np.stack(v) for n, v in done.items()})
    if cache:
        arrays = {"descriptors": lib.descriptors.astype(np.float16), "rotations": rotations}
        if lib.stacks is not None:
            arrays["stacks"] = lib.stacks.astype(np.float16)
        with atomic_path(final) as tmp:
            np.savez(tmp, **arrays)
        partial.unlink(missing_ok=True)
    return lib


def _check_fits_window(mol: Molecule, params: SimulationParams) -> None:
    """Raise ValueError if ``mol`` in some orientation would not fit the scan window."""
    from afmkit.structures.molecules import checked_arrays

    checked_arrays(mol, "matching")
    pos = np.asarray(mol.positions, dtype=float)
    radius = float(np.linalg.norm(pos - pos.mean(axis=0), axis=1).max())
    half = min(params.scan_size) / 2
    if radius > half:
        raise ValueError(
            f"{mol.name or 'the molecule'} reaches {radius:.1f} Å from its centre; in some "
            f"orientations it would not fit the {params.scan_size[0]:g} × {params.scan_size[1]:g}"
            f" Å scan window (half width {half:.1f} Å). Enlarge params.scan_size to at least "
            f"{2 * radius + 2:.0f} Å (and pixels in proportion)"
        )


# ---------------------------------------------------------------------------------------------
# normalised cross-correlation over shifts and in-plane angles
# ---------------------------------------------------------------------------------------------
#: Matching methods: the thesis's descriptor comparison, Δf comparison with tip and height
#: search, and both (candidates from each search, re-ranked on Δf with the tip search).
METHODS = ("hybrid", "descriptors", "df")
#: The method :func:`match` uses unless told (the one that measured best, see the README).
DEFAULT_METHOD = "hybrid"
#: Softmax temperatures of the confidence, per method, fitted on the two stand-ins by
#: :func:`calibrate_temperature` (``benchmarks/bench_matching.py --calibrate``).
TEMPERATURES = {"descriptors": 0.0055, "df": 0.0033, "hybrid": 0.0021}
#: Orientations closer than this (degrees) count as the same answer (accuracy, confidence).
SAME_ORIENTATION_DEG = 15.0
#: A match is *ambiguous* when an orientation > 15° from the best has at least this share of
#: the best one's probability.
AMBIGUITY_RATIO = 0.5


@dataclass
class MatchResult:
    """The best orientations for one experimental stack, best first.

    Attributes
    ----------
    rotations : numpy.ndarray
        (k, 3, 3) orientations; ``geometries[j] = molecule.rotated(rotations[j])``.
    scores : numpy.ndarray
        (k,) the final score of each: NCC (≤ 1) of the descriptors (``"descriptors"``) or of
        the Δf slices with the best tip and height (``"df"``, ``"hybrid"``).
    geometries : list of Molecule
        The k molecules in scan orientation (Å).
    library_index : numpy.ndarray
        (k,) index of the viewing direction in the library the match started from (before any
        local orientation refinement).
    inplane_deg : numpy.ndarray
        (k,) in-plane turn about the tip axis added to that direction, degrees (before
        refinement; ``rotations`` are the refined orientations).
    shifts : numpy.ndarray
        (k, 2) xy offset of the match, Å (simulated image ≈ experiment moved by it).
    experiment_descriptors : numpy.ndarray
        (3, nx, ny) DSH-predicted descriptors of the experiment, :data:`CHANNELS` order.
    channels : tuple of str
        The descriptors compared by the descriptor search.
    timings : dict of str to float
        Seconds per stage (``predict``, ``descriptor search``, ``df search``, ``tip search``).
    method : str
        The method used (:data:`METHODS`).
    probabilities : numpy.ndarray or None
        (k,) calibrated probability that the orientation is right (within 15°), from a
        softmax over all scored candidates (:data:`TEMPERATURES`).
    height_offsets : numpy.ndarray or None
        (k,) offset of the experiment's closest slice from the nominal ``z_closest``, Å (None
        for the descriptor method).
    tips : numpy.ndarray or None
        (k, 2) best tip variant (lateral stiffness N/m, probe charge e), None if not fitted.
    candidate_rotations, candidate_scores : numpy.ndarray or None
        Every candidate scored in the final stage, (n, 3, 3) and (n,) with n ≥ k, for
        re-calibration.
    temperature : float or None
        The softmax temperature used.
    """

    rotations: np.ndarray
    scores: np.ndarray
    geometries: list[Molecule]
    library_index: np.ndarray
    inplane_deg: np.ndarray
    shifts: np.ndarray
    experiment_descriptors: np.ndarray
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    timings: dict[str, float] = field(default_factory=dict)
    method: str = "descriptors"
    probabilities: np.ndarray | None = None
    height_offsets: np.ndarray | None = None
    tips: np.ndarray | None = None
    candidate_rotations: np.ndarray | None = None
    candidate_scores: np.ndarray | None = None
    temperature: float | None = None

    @property
    def experiment_descriptor(self) -> np.ndarray:
        """The experiment's vdW Spheres (nx, ny), Å — the thesis's matching descriptor."""
        return self.experiment_descriptors[CHANNELS.index("vdw_spheres")]

    @property
    def confidence(self) -> float:
        """Calibrated probability that the best orientation is within 15° of the truth."""
        return float(self.probabilities[0]) if self.probabilities is not None else float("nan")

    @property
    def runner_up(self) -> int | None:
        """0-based index (in ``rotations``) of the best orientation > 15° from the best, or None."""
        far = orientation_error(self.rotations[1:], self.rotations[0]) > SAME_ORIENTATION_DEG
        return int(np.argmax(far)) + 1 if far.any() else None

    @property
    def ambiguous(self) -> bool:
        """Whether an orientation > 15° away is nearly as probable as the best.

        True when its probability is ≥ :data:`AMBIGUITY_RATIO` of the best one's: the data do
        not decide between them.
        """
        j = self.runner_up
        if j is None or self.probabilities is None:
            return False
        return bool(self.probabilities[j] >= AMBIGUITY_RATIO * self.probabilities[0])

    def verdict(self) -> str:
        """One line for people: the confidence in words.

        Sure (≥ 95 %), likely (≥ 70 %), uncertain (≥ 40 %), a guess, or ambiguous. Measured on
        the stand-ins (hybrid): of the top answers whose runner-up > 15° away scored within
        0.006 NCC, 9 of 10 were right, and a confidence of 0.9 there is calibrated, not "sure".

        Returns
        -------
        str
            E.g. ``"confidence 97%: sure"``.
        """
        c = self.confidence
        if self.ambiguous:
            word = f"ambiguous (rank {self.runner_up + 1} is > 15° away and nearly as likely)"
        elif c >= 0.95:
            word = "sure"
        elif c >= 0.7:
            word = "likely"
        elif c >= 0.4:
            word = "uncertain"
        else:
            word = "a guess"
        return f"confidence {c:.0%}: {word}"

    def matched_descriptor(
        self, library: OrientationLibrary, rank: int = 0, channel: str = "vdw_spheres"
    ) -> np.ndarray:
        """Descriptor ``channel`` of match ``rank``, turned in-plane like the match.

        Parameters
        ----------
        library : OrientationLibrary
            The library the match came from.
        rank : int
            0-based rank of the match.
        channel : str
            One of :data:`CHANNELS`.

        Returns
        -------
        numpy.ndarray
            (nx, ny) image.
        """
        return rotate_image(
            library.channel(channel)[self.library_index[rank]], float(self.inplane_deg[rank])
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (rotations as nested lists, angles in degrees, lengths in Å).

        Returns
        -------
        dict
            ``method``, ``confidence``, ``ambiguous``, ``verdict``, one entry per match in
            ``matches`` and ``timings_s``.
        """

        def arr(a: np.ndarray | None) -> Any:
            return None if a is None else np.round(np.asarray(a, dtype=float), 6).tolist()

        return {
            "method": self.method,
            "confidence": self.confidence,
            "ambiguous": self.ambiguous,
            "verdict": self.verdict(),
            "matches": [
                {
                    "rank": j + 1,
                    "rotation": arr(self.rotations[j]),
                    "score": float(self.scores[j]),
                    "probability": None if self.probabilities is None
                    else float(self.probabilities[j]),
                    "library_index": int(self.library_index[j]),
                    "inplane_deg": float(self.inplane_deg[j]),
                    "shift_A": arr(self.shifts[j]),
                    "height_offset_A": None if self.height_offsets is None
                    else float(self.height_offsets[j]),
                    "tip_k_lat_N_per_m": None if self.tips is None else float(self.tips[j, 0]),
                    "tip_charge_e": None if self.tips is None else float(self.tips[j, 1]),
                }
                for j in range(len(self.scores))
            ],
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


def orientation_probabilities(
    rotations: np.ndarray, scores: np.ndarray, temperature: float,
    same_deg: float = SAME_ORIENTATION_DEG,
) -> np.ndarray:
    """Probability of each candidate orientation being right within ``same_deg``.

    A softmax of ``scores / temperature`` over all candidates, summed over the candidates that
    lie within ``same_deg`` of each one (they are the same answer).

    Parameters
    ----------
    rotations : numpy.ndarray
        (n, 3, 3) candidate orientations.
    scores : numpy.ndarray
        (n,) their scores (NCC).
    temperature : float
        Softmax temperature (:data:`TEMPERATURES`).
    same_deg : float
        Orientations closer than this count as the same answer, degrees.

    Returns
    -------
    numpy.ndarray
        (n,) probabilities in [0, 1].
    """
    s = np.asarray(scores, dtype=float)
    if len(s) == 0:
        return s
    w = np.exp((s - s.max()) / max(float(temperature), 1e-9))
    w /= w.sum()
    close = orientation_error(rotations[:, None], rotations[None, :]) <= same_deg
    return np.clip(close.astype(float) @ w, 0.0, 1.0)


def calibrate_temperature(
    results: list[MatchResult], true_rotations: np.ndarray,
    symmetries: np.ndarray | None = None,
) -> float:
    """Softmax temperature whose top-1 confidences best predict that the top-1 answer is right.

    Right means within 15° of the truth; the temperature minimises the binary cross-entropy
    over a log-spaced grid. Use it with :func:`set_confidence`.

    Parameters
    ----------
    results : list of MatchResult
        Matches of experiments with known orientations.
    true_rotations : numpy.ndarray
        (n, 3, 3) true orientations, one per result.
    symmetries : numpy.ndarray, optional
        Symmetry rotations of the molecule (:func:`symmetry_rotations`).

    Returns
    -------
    float
        The temperature.
    """
    correct = np.array([
        orientation_error(r.rotations[0], t, symmetries) <= SAME_ORIENTATION_DEG
        for r, t in zip(results, true_rotations, strict=True)
    ], dtype=float)
    grid = np.geomspace(1e-3, 0.3, 121)
    losses = []
    for t in grid:
        p = np.array([
            orientation_probabilities(r.candidate_rotations, r.candidate_scores, t)[0]
            for r in results
        ])
        p = np.clip(p, 1e-4, 1 - 1e-4)
        losses.append(-np.mean(correct * np.log(p) + (1 - correct) * np.log(1 - p)))
    return float(grid[int(np.argmin(losses))])


def set_confidence(result: MatchResult, temperature: float) -> MatchResult:
    """Recompute ``result.probabilities`` with another temperature, in place.

    Parameters
    ----------
    result : MatchResult
        A result with ``candidate_rotations`` and ``candidate_scores``.
    temperature : float
        The new softmax temperature.

    Returns
    -------
    MatchResult
        ``result`` itself.
    """
    p = orientation_probabilities(result.candidate_rotations, result.candidate_scores,
                                  temperature)
    order = [int(np.argmin(orientation_error(result.candidate_rotations, r))) for r in
             result.rotations]
    result.probabilities = p[order]
    result.temperature = float(temperature)
    return result


def check_experiment(
    exp_stack: Any,
    params: SimulationParams,
    n_keep: int,
    slice_heights: Any = None,
    method: str = DEFAULT_METHOD,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate an experimental stack for :func:`match` (callers may check before a long build).

    Parameters
    ----------
    exp_stack : array_like
        Experimental Δf stack (nx, ny, n_slices), Hz.
    params : SimulationParams
        The library's simulation parameters (pixels, dz).
    n_keep : int
        Slices the model takes.
    slice_heights : array_like, optional
        (n_slices,) heights of the slices above the closest one, Å; default
        :func:`afmkit.experiments.df_matching.experiment_slice_heights`.
    method : str
        One of :data:`METHODS`.

    Returns
    -------
    stack : numpy.ndarray
        float32 (nx, ny, n_slices), Hz.
    heights : numpy.ndarray
        (n_slices,) slice heights above the closest slice, Å.
    compared : numpy.ndarray or None
        Indices of the compared slices, or None for the descriptor method.

    Raises
    ------
    ValueError
        For a wrong rank or pixel count, fewer than ``n_keep`` slices, NaN/Inf, a constant
        stack, a ``slice_heights`` of the wrong length, or (Δf methods) no slice near a
        compared height (the message names the minimum slice count).
    """
    a = check_stack(exp_stack, "experimental stack")
    if a.shape[:2] != tuple(params.pixels):
        raise ValueError(
            f"experimental stack has {a.shape[0]} × {a.shape[1]} pixels; the library and the model "
            f"use {params.pixels[0]} × {params.pixels[1]} (shape (nx, ny, n_slices)); resample it"
        )
    if a.shape[2] < n_keep:
        raise ValueError(
            f"experimental stack has {a.shape[2]} slices; the model needs at least {n_keep}"
        )
    if float(a.std()) == 0.0:
        raise ValueError("experimental stack is constant; nothing to match")
    heights = (
        experiment_slice_heights(a.shape[2], params.dz)
        if slice_heights is None else np.asarray(slice_heights, dtype=float)
    )
    if heights.shape != (a.shape[2],):
        raise ValueError(
            f"slice_heights needs one height per slice ({a.shape[2]}), got {heights.shape}"
        )
    if not np.all(np.isfinite(heights)):
        raise ValueError(f"slice_heights must be finite (Å), got {heights.tolist()}")
    compared = compared_slices(heights) if method != "descriptors" else None
    return a, heights, compared


def _check_search_options(
    params: SimulationParams, top_k: Any, angle_step: Any, refine_step: Any, max_shift: Any,
    n_refine: Any, temperature: Any, n_rescore: Any = 1, refine_top: Any = 0,
) -> None:
    """ValueError/TypeError for search options out of range, before any long computation."""
    for name, value, low in (("top_k", top_k, 1), ("n_refine", n_refine, 1),
                             ("n_rescore", n_rescore, 1), ("refine_top", refine_top, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    if not 0.1 <= angle_step <= 360:
        raise ValueError(f"angle_step must be in [0.1, 360] degrees, got {angle_step!r}")
    if not angle_step / 100 <= refine_step <= angle_step:
        raise ValueError(
            f"refine_step must be in [angle_step / 100, angle_step] degrees, got {refine_step!r}"
        )
    half = min(params.scan_size) / 2
    if not 0 <= max_shift <= half:
        raise ValueError(f"max_shift must be in [0, {half:g}] Å (half the window), got {max_shift}")
    if temperature is not None and not 0 < temperature < np.inf:
        raise ValueError(f"temperature must be positive and finite, got {temperature!r}")


def match(
    exp_stack: np.ndarray,
    model: Any = None,
    n_orientations: int = 500,
    top_k: int = 5,
    *,
    method: str = DEFAULT_METHOD,
    library: OrientationLibrary | None = None,
    molecule: Molecule | None = None,
    params: SimulationParams | None = None,
    slice_heights: np.ndarray | None = None,
    angle_step: float = 10.0,
    refine_step: float = 2.0,
    max_shift: float = 3.0,
    n_refine: int = 40,
    channels: tuple[str, ...] = DEFAULT_CHANNELS,
    n_rescore: int = 6,
    tips: tuple[tuple[float, float], ...] = TIP_VARIANTS,
    refine_top: int = 3,
    temperature: float | None = None,
    progress: bool = True,
) -> MatchResult:
    """Rank orientations of ``molecule`` (default 1S-camphor) by how well they explain a stack.

    Methods (``method``):

    * ``"descriptors"`` — the thesis (§4.1): the DSH model predicts the experiment's vdW Spheres,
      compared by NCC with the library's over xy shifts and in-plane angles.
    * ``"df"`` — the experiment's Δf slices (closest, +0.3 Å, +0.6 Å), high-passed, against the
      library's simulated slices over shifts, angles and scan-height offsets
      (:func:`afmkit.experiments.df_matching.df_search`); the ``n_rescore`` best are simulated
      again with each tip variant in ``tips`` (each slice free to drift a pixel), the
      ``refine_top`` best of those get their orientation refined by small turns, and all are
      ranked by their best score.
    * ``"hybrid"`` (default) — candidates from both searches (half each), re-ranked on Δf with
      the tip and height search: the descriptors bring robustness to the tip, Δf the deeper
      atoms that tell look-alike orientations apart.

    Parameters
    ----------
    exp_stack : numpy.ndarray
        Experimental Δf stack (nx, ny, n_slices), Hz, axes (x, y, slice), slice 0 farthest
        (e.g. from :func:`afmkit.experiments.published.load_camphor_experiments`).
    model : keras.Model or str, optional
        DSH model or pretrained name (default ``"dsh-light"``).
    n_orientations : int
        Viewing directions in the library (built and cached on first use).
    top_k : int
        How many orientations to return.
    method : {"hybrid", "descriptors", "df"}
        One of :data:`METHODS`.
    library : OrientationLibrary, optional
        A ready library (then ``molecule``/``params``/``n_orientations`` are taken from it).
    molecule : Molecule, optional
        The molecule (default 1S-camphor); ignored with ``library``.
    params : SimulationParams, optional
        Nominal simulation parameters of the library; ignored with ``library``.
    slice_heights : numpy.ndarray, optional
        (n_slices,) heights of the experiment's slices above its closest slice, Å; default
        :func:`afmkit.experiments.df_matching.experiment_slice_heights`.
    angle_step : float
        In-plane angle step of the coarse search, degrees.
    refine_step : float
        Angle step of the refinement around the best coarse candidates, degrees.
    max_shift : float
        Largest xy offset between experiment and simulation, Å.
    n_refine : int
        Candidate directions refined at full resolution in each search.
    channels : tuple of str
        Descriptors compared by the descriptor search (subset of :data:`CHANNELS`). Default:
        the vdW Spheres, as in the thesis.
    n_rescore : int
        Candidates re-simulated with every tip variant (``"df"``, ``"hybrid"``).
    tips : tuple of (float, float)
        (lateral stiffness N/m, probe charge e) variants of the re-scoring.
    refine_top : int
        How many of the best re-scored candidates get their orientation refined locally
        (:func:`afmkit.experiments.df_matching.refine_orientation`; 0 = none).
    temperature : float, optional
        Softmax temperature of the confidence; default ``TEMPERATURES[method]``.
    progress : bool
        Progress bar while building the library.

    Returns
    -------
    MatchResult
        The ``top_k`` best orientations, scores, geometries and a calibrated confidence.

    Raises
    ------
    ValueError
        Unknown method, wrong stack shape or pixel count, too few slices for the model or the
        height search, NaN/Inf, constant stack, molecule too large.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    tip_array = np.asarray(tips, dtype=float) if isinstance(tips, (list, tuple)) else np.empty(0)
    if tip_array.ndim != 2 or tip_array.shape[1] != 2 or not np.all(np.isfinite(tip_array)):
        raise ValueError("tips must name at least one (k_lat N/m, probe charge e) variant")
    _channel_index(channels)
    sim_params = library.params if library is not None else params or SimulationParams()
    _check_search_options(sim_params, top_k, angle_step, refine_step, max_shift, n_refine,
                          temperature, n_rescore, refine_top)
    net = _resolve_model(model)
    n_keep = int(net.inputs[0].shape[-1])
    # before any long library build
    stack, heights, compared = check_experiment(exp_stack, sim_params, n_keep, slice_heights,
                                                method)
    if library is None:
        mol = molecule if molecule is not None else camphor()
        _check_fits_window(mol, sim_params)
        library = build_library(mol, n_orientations, net, sim_params, progress=progress)
    if method != "descriptors" and library.stacks is None:
        raise ValueError(f"method {method!r} needs a library with simulated Δf slices "
                         "(source='model'), not an exact-descriptor library")

    timings: dict[str, float] = {}
    start = time.perf_counter()
    exp_desc = predict_descriptors(net, stack[None])[0]
    timings["predict"] = time.perf_counter() - start
    options = dict(angle_step=angle_step, refine_step=refine_step, max_shift=max_shift,
                   n_refine=max(n_refine, top_k))
    found = []
    if method in ("descriptors", "hybrid"):
        start = time.perf_counter()
        found.append(_descriptor_search(exp_desc, library, channels, **options))
        timings["descriptor search"] = time.perf_counter() - start
    exp_slices = stack[:, :, compared].transpose(2, 0, 1) if compared is not None else None
    if method in ("df", "hybrid"):
        start = time.perf_counter()
        found.append(df_search(exp_slices, heights[compared], library.stacks, library.ladder,
                               _pixel(sim_params), cache=library.cache.setdefault("df", {}),
                               **options))
        timings["df search"] = time.perf_counter() - start
    if method == "descriptors":
        return _descriptor_result(found[0], library, exp_desc, channels, top_k, timings,
                                  temperature)
    start = time.perf_counter()
    cand = _pool_candidates(found, library, n_rescore)
    rotations = rotation_z(cand.inplane_deg) @ library.rotations[cand.library_index]
    scorer = TipScorer(exp_slices, heights[compared], library.ladder, max_shift=max_shift)
    fits = [scorer.fit(library.molecule.rotated(r), tips) for r in rotations]
    timings["tip search"] = time.perf_counter() - start
    start = time.perf_counter()
    best_first = np.argsort([-f.score for f in fits])
    for i in best_first[:refine_top]:
        rotations[i], fits[i] = refine_orientation(scorer, library.molecule, rotations[i], fits[i])
    timings["orientation refinement"] = time.perf_counter() - start
    order = np.argsort([-f.score for f in fits])
    cand = cand.take(order)
    fits = [fits[i] for i in order]
    cand.scores = np.array([f.score for f in fits])
    cand.tip = np.array([f.tip for f in fits], dtype=float)
    cand.height_offset = np.array([f.height_offset for f in fits])
    shifts = np.array([f.shift for f in fits], dtype=float)
    return _make_result(cand, rotations[order], shifts, library, exp_desc, channels, timings,
                        method, temperature, top_k, fitted=True)


def _pixel(params: SimulationParams) -> float:
    """Pixel size along x of ``params``'s scan window, Å."""
    return float(params.scan_size[0]) / (params.pixels[0] - 1)


def _make_result(
    cand: Candidates, rotations: np.ndarray, shifts: np.ndarray, library: OrientationLibrary,
    exp_desc: np.ndarray, channels: tuple[str, ...], timings: dict[str, float], method: str,
    temperature: float | None, top_k: int, fitted: bool,
) -> MatchResult:
    """The :class:`MatchResult` of ranked candidates (best first).

    ``rotations`` (n, 3, 3) and ``shifts`` (n, 2) Å are the final ones; ``fitted``: tips and
    heights were fitted.
    """
    t = TEMPERATURES[method] if temperature is None else float(temperature)
    probs = orientation_probabilities(rotations, cand.scores, t)
    k = min(top_k, len(cand))
    return MatchResult(
        rotations=rotations[:k],
        scores=np.asarray(cand.scores[:k], dtype=float),
        geometries=[library.molecule.rotated(r) for r in rotations[:k]],
        library_index=cand.library_index[:k],
        inplane_deg=cand.inplane_deg[:k],
        shifts=shifts[:k],
        experiment_descriptors=exp_desc,
        channels=tuple(channels),
        timings=timings,
        method=method,
        probabilities=probs[:k],
        height_offsets=cand.height_offset[:k] if fitted else None,
        tips=cand.tip[:k] if fitted else None,
        candidate_rotations=rotations,
        candidate_scores=np.asarray(cand.scores, dtype=float),
        temperature=t,
    )


def _pool_candidates(
    found: list[Candidates], library: OrientationLibrary, n_total: int
) -> Candidates:
    """Up to ``n_total`` distinct candidates taken in turn from each search's ranking.

    Best first; a candidate within 10° of one already taken is skipped.
    """
    rotations = [rotation_z(c.inplane_deg) @ library.rotations[c.library_index] for c in found]
    picked: list[tuple[int, int]] = []
    taken: list[np.ndarray] = []
    position = [0] * len(found)
    while len(picked) < n_total and any(p < len(c) for p, c in zip(position, found, strict=True)):
        for s, c in enumerate(found):
            while position[s] < len(c):
                j = position[s]
                position[s] += 1
                r = rotations[s][j]
                if not taken or orientation_error(np.stack(taken), r).min() > 10.0:
                    picked.append((s, j))
                    taken.append(r)
                    break
            if len(picked) >= n_total:
                break
    fields = Candidates.__dataclass_fields__
    return Candidates(*(
        np.stack([np.asarray(getattr(found[s], f))[j] for s, j in picked]) for f in fields
    ))


def match_descriptor(
    exp_desc: np.ndarray,
    library: OrientationLibrary,
    top_k: int = 5,
    *,
    angle_step: float = 10.0,
    refine_step: float = 2.0,
    max_shift: float = 3.0,
    n_refine: int = 40,
    channels: tuple[str, ...] = DEFAULT_CHANNELS,
    temperature: float | None = None,
) -> MatchResult:
    """The descriptor search of :func:`match` for ready descriptors of an experiment.

    Coarse: every library direction × in-plane angles every ``angle_step``° on 2× down-sampled
    images; fine: the ``n_refine`` best directions at full resolution, angles ±``angle_step``
    around their best coarse angle every ``refine_step``°. NCC allows shifts ≤ ``max_shift`` Å.

    Parameters
    ----------
    exp_desc : numpy.ndarray
        (3, nx, ny) descriptors in :data:`CHANNELS` order (e.g. from
        :func:`predict_descriptors` or :func:`exact_descriptors`), Å.
    library : OrientationLibrary
        The library to search.
    top_k : int
        How many orientations to return.
    angle_step, refine_step : float
        Coarse and fine in-plane angle steps, degrees.
    max_shift : float
        Largest xy offset, Å.
    n_refine : int
        Directions refined at full resolution.
    channels : tuple of str
        Descriptors compared (subset of :data:`CHANNELS`).
    temperature : float, optional
        Softmax temperature; default ``TEMPERATURES["descriptors"]``.

    Returns
    -------
    MatchResult
        The ``top_k`` best orientations.

    Raises
    ------
    ValueError
        If ``exp_desc`` does not match the library's descriptor shape, ``top_k`` < 1, or
        ``channels`` is not a subset of :data:`CHANNELS`.
    """
    all_desc = np.asarray(exp_desc, dtype=np.float32)
    if all_desc.shape != library.descriptors.shape[1:]:
        raise ValueError(
            f"descriptor shape {all_desc.shape} differs from the library's "
            f"{library.descriptors.shape[1:]} ({len(CHANNELS)} channels: {CHANNELS})"
        )
    _check_search_options(library.params, top_k, angle_step, refine_step, max_shift, n_refine,
                          temperature)
    start = time.perf_counter()
    cand = _descriptor_search(all_desc, library, channels, angle_step=angle_step,
                              refine_step=refine_step, max_shift=max_shift,
                              n_refine=max(n_refine, top_k))
    timings = {"descriptor search": time.perf_counter() - start}
    return _descriptor_result(cand, library, all_desc, channels, top_k, timings, temperature)


def _descriptor_result(
    cand: Candidates, library: OrientationLibrary, exp_desc: np.ndarray,
    channels: tuple[str, ...], top_k: int, timings: dict[str, float],
    temperature: float | None,
) -> MatchResult:
    rotations = rotation_z(cand.inplane_deg) @ library.rotations[cand.library_index]
    # shift d (in the de-rotated frame): library(p + d) ≈ rot(−θ) exp(p); back in the lab frame
    shifts = np.einsum("kij,kj->ki", rotation_z(cand.inplane_deg)[:, :2, :2],
                       cand.shift_px) * _pixel(library.params)
    return _make_result(cand, rotations, shifts, library, exp_desc, channels, timings,
                        "descriptors", temperature, top_k, fitted=False)


def _descriptor_search(
    exp_desc: np.ndarray, library: OrientationLibrary, channels: tuple[str, ...], **options
) -> Candidates:
    picked = _channel_index(channels)
    return search_orientations(
        np.asarray(exp_desc, dtype=np.float32)[picked], library.descriptors[:, picked],
        np.arange(len(picked))[None], _pixel(library.params), remove_plane=False,
        cache=library.cache.setdefault(("descriptors", *picked), {}), **options,
    )


# ---------------------------------------------------------------------------------------------
# scoring against known truth, and figures
# ---------------------------------------------------------------------------------------------
def accuracy(
    results: list[MatchResult],
    true_rotations: np.ndarray,
    symmetries: np.ndarray | None = None,
    threshold_deg: float = 15.0,
) -> dict[str, Any]:
    """Share of matches whose top-1 / best-of-top-3 orientation is within ``threshold_deg``.

    Parameters
    ----------
    results : list of MatchResult
        The matches.
    true_rotations : numpy.ndarray
        (n, 3, 3) true orientations, one per result.
    symmetries : numpy.ndarray, optional
        Symmetry rotations of the molecule (:func:`symmetry_rotations`).
    threshold_deg : float
        Largest error that counts as right, degrees.

    Returns
    -------
    dict
        ``top1`` and ``top3`` (shares), ``errors_top1`` and ``errors_top3`` ((n,) degrees) and
        ``n``.
    """
    err1, err3 = [], []
    for result, true in zip(results, true_rotations, strict=True):
        errors = orientation_error(result.rotations, true, symmetries)
        err1.append(float(errors[0]))
        err3.append(float(errors[:3].min()))
    e1, e3 = np.array(err1), np.array(err3)
    return {
        "top1": float(np.mean(e1 <= threshold_deg)),
        "top3": float(np.mean(e3 <= threshold_deg)),
        "errors_top1": e1,
        "errors_top3": e3,
        "n": len(results),
    }


def matched_params(result: MatchResult, library: OrientationLibrary, rank: int = 0):
    """Simulation parameters of match ``rank``.

    The library's nominal parameters with the fitted tip (lateral stiffness, probe charge) and
    height offset, where the method fitted them.

    Parameters
    ----------
    result : MatchResult
        The match.
    library : OrientationLibrary
        The library it came from.
    rank : int
        0-based rank of the match.

    Returns
    -------
    SimulationParams
        Parameters that re-simulate the match (k_lat N/m, probe_charge e, heights Å).
    """
    params = library.params
    if result.tips is not None and np.all(np.isfinite(result.tips[rank])):
        k, q = (float(v) for v in result.tips[rank])
        params = params.replace(k_lat=k, probe_charge=q)
    if result.height_offsets is not None and np.isfinite(result.height_offsets[rank]):
        h = float(result.height_offsets[rank])
        params = params.replace(z_closest=params.z_closest + h, vdw_offset=params.vdw_offset + h)
    return params
