"""Match an experimental Δf stack to simulated orientations of a molecule (thesis §4.1, Fig. 17).

The thesis simulates many orientations of 1S-camphor, predicts the vdW Spheres descriptor of
each simulation and of each experimental stack with the DSH model, and ranks the simulations by
cross-correlation. afmkit does the same with two refinements:

* **Library of viewing directions × in-plane angles.** ``n_orientations`` near-uniform
  directions (the molecular axis that faces the tip) are simulated once each; the in-plane turn
  about the tip axis is searched at match time by rotating the *experiment's* descriptor image
  (with no tip tilt, a turn of the molecule about z is a turn of the image). 500 random
  rotations of SO(3) lie ≈ 19° apart on average, too coarse for a 15° criterion; 500 directions
  × 36 angles (10°, refined to 2°) span ≈ 18,000 orientations for the price of 500 simulations.
* **Normalised cross-correlation over xy shifts by FFT**, first on 2× down-sampled images for
  all candidates, then at full resolution with finer angles for the best ones.

The library (predicted descriptors and rotations) is cached on disk, keyed by the molecule,
simulation parameters, model weights and ``n_orientations``; an interrupted build resumes.

Public names: :func:`match`, :func:`build_library`, :class:`OrientationLibrary`,
:class:`MatchResult`, :func:`orientation_error`, :func:`symmetry_rotations`,
:func:`plot_matches`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from afmkit.atomic import atomic_path
from afmkit.augment import preprocess
from afmkit.datasets import check_stack
from afmkit.molecules import Molecule, cache_dir, camphor
from afmkit.rotations import rotation_angle, rotation_to_z, sphere_points
from afmkit.simulator import AFMSimulator, SimulationParams, scan_center

#: Bump when the cached library's content or layout changes.
LIBRARY_FORMAT = 2
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
    """Rotation(s) by ``angle_deg`` (degrees, counter-clockwise seen from +z) about z, (…, 3, 3)."""
    a = np.radians(np.asarray(angle_deg, dtype=float))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((*a.shape, 3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1] = c, -s, s, c
    out[..., 2, 2] = 1.0
    return out


def rotate_image(image: np.ndarray, angle_deg: float, fill: float = 0.0) -> np.ndarray:
    """Turn an image (nx, ny) — axis 0 = x, axis 1 = y — by ``angle_deg`` counter-clockwise
    about its centre (bilinear). Turning the molecule by ``rotation_z(θ)`` turns its AFM image
    and descriptors by ``rotate_image(·, θ)`` (exactly so for a tip without tilt)."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    inverse = np.array([[c, s], [-s, c]])  # output → input coordinates: R(−θ)
    centre = (np.array(image.shape, dtype=float) - 1.0) / 2.0
    return ndimage.affine_transform(
        image, inverse, offset=centre - inverse @ centre, order=1, mode="constant", cval=fill
    )


def symmetry_rotations(mol: Molecule, tolerance: float = 0.25) -> np.ndarray:
    """Proper rotations that map ``mol`` onto itself (about its centroid), (n_sym, 3, 3).

    Candidates are the four 180° turns about the principal axes of the (element-weighted)
    inertia tensor — the symmetry operations of any molecule whose principal moments differ.
    A candidate counts if every atom lands within ``tolerance`` Å of an atom of the same
    element. Symmetric tops (two equal moments, e.g. benzene) have more symmetry than this
    finds; the identity is always included. 1S-camphor (C1) has only the identity.
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
    """Smallest rotation angle (degrees) between predicted and true orientations, (…).

    ``predicted``/``true`` (…, 3, 3) act as ``mol.rotated(R)``; ``symmetries`` (see
    :func:`symmetry_rotations`) makes orientations that give the same structure equal.
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

    Attributes:
        molecule: the molecule in its own frame (not rotated).
        rotations: (N, 3, 3) base rotations; ``molecule.rotated(rotations[i])`` was simulated.
        descriptors: (N, 3, nx, ny) float32 descriptor images in :data:`CHANNELS` order
            (Atomic Disks, vdW Spheres and Height Map; the last two in Å above the floor).
        params: simulation parameters of every library stack.
        source: ``"model"`` (DSH predictions) or ``"exact"`` (computed from the geometry).
        key: cache key (hash of everything above that defines the content).
    """

    molecule: Molecule
    rotations: np.ndarray
    descriptors: np.ndarray
    params: SimulationParams
    source: str
    key: str

    def __len__(self) -> int:
        return len(self.rotations)

    def channel(self, name: str) -> np.ndarray:
        """The (N, nx, ny) images of one descriptor, e.g. ``"vdw_spheres"``."""
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
    mol: Molecule, n_orientations: int, params: SimulationParams, source: str, model: Any
) -> str:
    """Hash naming a library on disk (molecule, directions, parameters, model weights)."""
    h = hashlib.sha1()
    h.update(json.dumps([LIBRARY_FORMAT, n_orientations, source, _params_dict(params)],
                        sort_keys=True, default=str).encode())
    h.update(np.asarray(mol.numbers, dtype=np.int64).tobytes())
    h.update(np.round(np.asarray(mol.positions, dtype=np.float64), 6).tobytes())
    h.update(np.round(np.asarray(mol.charges, dtype=np.float64), 6).tobytes())
    if model is not None:
        h.update(_model_digest(model).encode())
    return h.hexdigest()[:20]


def library_directory(directory: str | Path | None = None) -> Path:
    """Where libraries are cached: ``directory`` or ``<afmkit cache dir>/matching``."""
    return Path(directory) if directory is not None else cache_dir() / "matching"


def _resolve_model(model: Any) -> Any:
    if model is None or isinstance(model, str):
        from afmkit.models import load_pretrained

        return load_pretrained(model or DEFAULT_MODEL)
    return model


def predict_descriptors(model: Any, stacks: np.ndarray, batch_size: int = 10) -> np.ndarray:
    """Descriptors predicted by a DSH ``model`` for stacks (B, nx, ny, nz) → (B, 3, nx, ny)
    in :data:`CHANNELS` order (Atomic Disks; vdW Spheres and Height Map in Å).

    Stacks with more slices than the model takes are reduced like at inference
    (:func:`afmkit.augment.preprocess`); every slice is normalised.
    """
    from afmkit.models import predict

    X = preprocess(np.asarray(stacks, dtype=np.float32), n_keep=int(model.inputs[0].shape[-1]))
    out = predict(model, X, batch_size=batch_size)
    missing = [c for c in CHANNELS if c not in out]
    if missing:
        raise ValueError(f"model {model.name!r} lacks outputs {missing} (a DSH model has them)")
    return np.stack([out[c] for c in CHANNELS], axis=1).astype(np.float32)


def exact_descriptors(mol: Molecule, params: SimulationParams | None = None) -> np.ndarray:
    """The exact :data:`CHANNELS` descriptors of ``mol`` as it lies, (3, nx, ny), floor-referenced
    like the DSH model's targets — what a perfect model would predict."""
    from afmkit import descriptors as D

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
) -> OrientationLibrary:
    """Simulate ``n_orientations`` near-uniform viewing directions of ``molecule`` and describe
    each with the DSH model's vdW Spheres (``source="model"``) or the exact descriptor
    (``source="exact"``, no simulation; an upper bound for what a perfect model could do).

    Args:
        molecule: default 1S-camphor.
        n_orientations: number of viewing directions (Fibonacci sphere).
        model: a DSH Keras model or the name of a pretrained set; default ``"dsh-light"``.
        params: simulation parameters; default :class:`SimulationParams` (128×128×20, CO).
        cache: read/write the library under :func:`library_directory`; a partial build is saved
            every ``chunk`` directions and resumed.
        directory: cache directory instead of the default.
        chunk: directions simulated between checkpoints.
        progress: tqdm progress bar.

    Takes ≈ 0.5 s per direction on a 2-core CPU with PoCL (4 min for 500), once.
    """
    from tqdm.auto import tqdm

    if n_orientations < 1:
        raise ValueError(f"n_orientations must be ≥ 1, got {n_orientations}")
    if source not in ("model", "exact"):
        raise ValueError(f"source must be 'model' or 'exact', got {source!r}")
    mol = molecule if molecule is not None else camphor()
    params = params or SimulationParams()
    net = _resolve_model(model) if source == "model" else None
    rotations = rotation_to_z(sphere_points(n_orientations))
    key = library_key(mol, n_orientations, params, source, net)
    folder = library_directory(directory)
    final = folder / f"library-{key}.npz"
    partial = folder / f"library-{key}.partial.npz"

    def made(descriptors: np.ndarray) -> OrientationLibrary:
        return OrientationLibrary(mol, rotations, descriptors.astype(np.float32), params, source,
                                  key)

    if cache and final.is_file():
        with np.load(final, allow_pickle=False) as f:
            return made(f["descriptors"])
    if source == "exact":
        lib = made(_exact_descriptors(mol, rotations, params))
    else:
        done: list[np.ndarray] = []
        if cache and partial.is_file():
            with np.load(partial, allow_pickle=False) as f:
                done = list(f["descriptors"].astype(np.float32))
        sim = AFMSimulator(params)
        with tqdm(total=n_orientations, initial=len(done), desc="simulating orientations",
                  disable=not progress) as bar:
            while len(done) < n_orientations:
                batch = rotations[len(done): len(done) + chunk]
                stacks = np.stack([sim(mol.rotated(r)) for r in batch])
                done.extend(predict_descriptors(net, stacks))
                bar.update(len(batch))
                if cache and len(done) < n_orientations:
                    with atomic_path(partial) as tmp:
                        np.savez(tmp, descriptors=np.stack(done).astype(np.float16))
        lib = made(np.stack(done))
    if cache:
        with atomic_path(final) as tmp:
            np.savez(tmp, descriptors=lib.descriptors.astype(np.float16), rotations=rotations)
        partial.unlink(missing_ok=True)
    return lib


# ---------------------------------------------------------------------------------------------
# normalised cross-correlation over shifts and in-plane angles
# ---------------------------------------------------------------------------------------------
def _downsample(images: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return images
    *lead, nx, ny = images.shape
    nx2, ny2 = nx // factor, ny // factor
    cut = images[..., : nx2 * factor, : ny2 * factor]
    return cut.reshape(*lead, nx2, factor, ny2, factor).mean(axis=(-3, -1))


def _normalised(images: np.ndarray) -> np.ndarray:
    """Zero mean, unit norm per image (…, nx, ny); flat images stay zero."""
    x = images - images.mean(axis=(-2, -1), keepdims=True)
    norm = np.sqrt((x * x).sum(axis=(-2, -1), keepdims=True))
    return np.where(norm > 0, x / np.where(norm > 0, norm, 1.0), 0.0).astype(np.float32)


def _rotate_channels(images: np.ndarray, angle_deg: float) -> np.ndarray:
    """:func:`rotate_image` applied to each channel of (C, nx, ny)."""
    return np.stack([rotate_image(im, angle_deg) for im in images])


class _Correlator:
    """FFT cross-correlation of one multi-channel reference against many images.

    ``images`` (N, C, nx, ny); the score of a shift is the mean over channels of each channel's
    normalised cross-correlation at that shift (one shift for all channels), shifts ≤ ``max_px``.
    """

    def __init__(self, images: np.ndarray, max_px: int) -> None:
        nx, ny = images.shape[-2:]
        self.max_px = int(max_px)
        self.shape = (sfft.next_fast_len(nx + self.max_px), sfft.next_fast_len(ny + self.max_px))
        self.spectra = sfft.rfft2(_normalised(images), s=self.shape, workers=-1)

    def best(self, reference: np.ndarray, rows: np.ndarray | None = None):
        """Max NCC over shifts for each image (or ``rows`` of them): (scores, shifts px (n, 2)).

        ``reference`` (C, nx, ny). A shift ``d`` means ``image(p + d) ≈ reference(p)``.
        """
        ref = sfft.rfft2(_normalised(reference), s=self.shape, workers=-1)
        spectra = self.spectra if rows is None else self.spectra[rows]
        product = (spectra * np.conj(ref)[None]).mean(axis=1)  # mean over channels
        corr = sfft.irfft2(product, s=self.shape, workers=-1)
        m = self.max_px
        idx = np.r_[0 : m + 1, -m:0]
        window = corr[:, idx][:, :, idx]  # (n, 2m+1, 2m+1), shifts in idx order
        flat = window.reshape(len(window), -1).argmax(axis=1)
        ix, iy = np.unravel_index(flat, window.shape[1:])
        shifts = np.stack([idx[ix], idx[iy]], axis=1)
        return window.reshape(len(window), -1)[np.arange(len(window)), flat], shifts


@dataclass
class MatchResult:
    """The best orientations for one experimental stack, best first.

    Attributes:
        rotations: (k, 3, 3) orientations; ``geometries[j] = molecule.rotated(rotations[j])``.
        scores: (k,) normalised cross-correlation (mean over ``channels``, ≤ 1).
        geometries: the k molecules in scan orientation (Å).
        library_index: (k,) index of the viewing direction in the library.
        inplane_deg: (k,) in-plane turn about the tip axis added to that direction, degrees.
        shifts: (k, 2) xy offset of the match, Å (simulated image ≈ experiment moved by it).
        experiment_descriptors: (3, nx, ny) descriptors of the experiment, :data:`CHANNELS`.
        channels: the descriptors that were compared.
        timings: seconds for ``predict``, ``coarse`` search, ``refine``.
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

    @property
    def experiment_descriptor(self) -> np.ndarray:
        """The experiment's vdW Spheres (nx, ny), Å — the thesis's matching descriptor."""
        return self.experiment_descriptors[CHANNELS.index("vdw_spheres")]

    def matched_descriptor(
        self, library: OrientationLibrary, rank: int = 0, channel: str = "vdw_spheres"
    ) -> np.ndarray:
        """Descriptor ``channel`` of match ``rank``, turned in-plane like the match, (nx, ny)."""
        return rotate_image(
            library.channel(channel)[self.library_index[rank]], float(self.inplane_deg[rank])
        )


def _check_experiment(stack: Any, params: SimulationParams, n_keep: int) -> np.ndarray:
    a = check_stack(stack, "experimental stack")
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
    return a


def match(
    exp_stack: np.ndarray,
    model: Any = None,
    n_orientations: int = 500,
    top_k: int = 5,
    *,
    library: OrientationLibrary | None = None,
    molecule: Molecule | None = None,
    params: SimulationParams | None = None,
    angle_step: float = 10.0,
    refine_step: float = 2.0,
    max_shift: float = 3.0,
    n_refine: int = 40,
    channels: tuple[str, ...] = DEFAULT_CHANNELS,
    progress: bool = True,
) -> MatchResult:
    """Rank orientations of ``molecule`` (default 1S-camphor) by how well they explain a stack.

    Args:
        exp_stack: experimental Δf stack (nx, ny, n_slices), Hz, axes (x, y, slice), slice 0
            farthest (e.g. from :func:`afmkit.datasets.load_camphor_experiments`).
        model: DSH model or pretrained name (default ``"dsh-light"``).
        n_orientations: viewing directions in the library (built and cached on first use).
        top_k: how many orientations to return.
        library: a ready :class:`OrientationLibrary` (then ``molecule``/``params``/
            ``n_orientations`` are taken from it).
        angle_step: in-plane angle step of the coarse search, degrees.
        refine_step: angle step of the refinement around the best coarse candidates, degrees.
        max_shift: largest xy offset between experiment and simulation, Å.
        n_refine: candidate directions refined at full resolution.
        channels: descriptors compared (subset of :data:`CHANNELS`; scores are the mean NCC of
            the channels at one common shift). Default: the vdW Spheres, as in the thesis.
            Measured on the stand-in (500 directions, dsh-light): top-1/top-3 within 15° were
            40/50 % for vdW Spheres, 20/40 % for the Height Map, 40/50 % for both, 30/50 % for
            all three; with exact descriptors the Height Map is best (its predicted version
            shifts with the unknown scan height).
        progress: progress bar while building the library.

    Returns:
        :class:`MatchResult` with the ``top_k`` best orientations, scores, geometries.

    Raises:
        ValueError: wrong stack shape or pixel count, too few slices, NaN/Inf, constant stack.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be ≥ 1, got {top_k}")
    _channel_index(channels)
    net = _resolve_model(model)
    n_keep = int(net.inputs[0].shape[-1])
    sim_params = library.params if library is not None else params or SimulationParams()
    stack = _check_experiment(exp_stack, sim_params, n_keep)  # before any long library build
    if library is None:
        library = build_library(molecule, n_orientations, net, sim_params, progress=progress)

    start = time.perf_counter()
    exp_desc = predict_descriptors(net, stack[None])[0]
    predict_s = time.perf_counter() - start
    result = match_descriptor(
        exp_desc, library, top_k, angle_step=angle_step, refine_step=refine_step,
        max_shift=max_shift, n_refine=n_refine, channels=channels,
    )
    result.timings = {"predict": predict_s, **result.timings}
    return result


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
) -> MatchResult:
    """The search of :func:`match` for ready descriptors ``exp_desc`` (3, nx, ny) in
    :data:`CHANNELS` order (e.g. from :func:`predict_descriptors` or :func:`exact_descriptors`).

    Coarse: every library direction × in-plane angles every ``angle_step``° on 2× down-sampled
    images; fine: the ``n_refine`` best directions at full resolution, angles ±``angle_step``
    around their best coarse angle every ``refine_step``°. NCC allows shifts ≤ ``max_shift`` Å.
    """
    all_desc = np.asarray(exp_desc, dtype=np.float32)
    if all_desc.shape != library.descriptors.shape[1:]:
        raise ValueError(
            f"descriptor shape {all_desc.shape} differs from the library's "
            f"{library.descriptors.shape[1:]} ({len(CHANNELS)} channels: {CHANNELS})"
        )
    if top_k < 1:
        raise ValueError(f"top_k must be ≥ 1, got {top_k}")
    picked = _channel_index(channels)
    exp_desc = all_desc[picked]
    lib_desc = library.descriptors[:, picked]
    params = library.params
    timings: dict[str, float] = {}
    pixel = float(params.scan_size[0]) / (params.pixels[0] - 1)
    start = time.perf_counter()
    factor = 2
    coarse = _Correlator(
        _downsample(lib_desc, factor), round(max_shift / (pixel * factor))
    )
    angles = np.arange(0.0, 360.0, angle_step)
    coarse_scores = np.stack(
        [coarse.best(_downsample(_rotate_channels(exp_desc, -a), factor))[0] for a in angles],
        axis=1,
    )  # (N, n_angles)
    timings["coarse"] = time.perf_counter() - start

    start = time.perf_counter()
    best_angle = angles[coarse_scores.argmax(axis=1)]
    order = np.argsort(-coarse_scores.max(axis=1))[: max(n_refine, top_k)]
    fine = _Correlator(lib_desc[order], round(max_shift / pixel))
    offsets = np.arange(-angle_step, angle_step + 1e-9, refine_step)
    best_score = np.full(len(order), -np.inf)
    best_theta = np.zeros(len(order))
    best_shift = np.zeros((len(order), 2))
    candidates = np.round((best_angle[order][:, None] + offsets[None]) % 360.0, 6)  # (rows, k)
    for theta in np.unique(candidates):
        rows = np.flatnonzero((candidates == theta).any(axis=1))
        ref = _rotate_channels(exp_desc, -theta)
        scores, shifts = fine.best(ref, rows)
        better = scores > best_score[rows]
        best_score[rows[better]] = scores[better]
        best_theta[rows[better]] = theta
        best_shift[rows[better]] = shifts[better]
    timings["refine"] = time.perf_counter() - start

    ranked = np.argsort(-best_score)[:top_k]
    index = order[ranked]
    theta = best_theta[ranked]
    rotations = rotation_z(theta) @ library.rotations[index]
    # shift d (in the de-rotated frame): library(p + d) ≈ rot(−θ) exp(p); back in the lab frame
    shifts = np.einsum("kij,kj->ki", rotation_z(theta)[:, :2, :2], best_shift[ranked]) * pixel
    return MatchResult(
        rotations=rotations,
        scores=best_score[ranked],
        geometries=[library.molecule.rotated(r) for r in rotations],
        library_index=index,
        inplane_deg=theta,
        shifts=shifts,
        experiment_descriptors=all_desc,
        channels=tuple(channels),
        timings=timings,
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

    Returns ``{"top1", "top3", "errors_top1" (deg), "errors_top3" (deg), "n"}``.
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


def plot_matches(
    experiments: dict[Any, np.ndarray],
    results: dict[Any, MatchResult],
    library: OrientationLibrary,
    slices: tuple[int, ...] | None = None,
    simulate: bool = True,
):
    """Thesis-Fig.-17-style rows, one per experiment: experiment slices (far, middle, close),
    predicted vdW Spheres of the experiment and of the best match, the matched geometry seen
    from the tip, and (``simulate=True``) the best match's simulated slices.

    Returns a :class:`afmkit.plotting.NotebookFigure`.
    """
    from afmkit.plotting import NotebookFigure, plot_molecule_topview

    names = list(experiments)
    n_exp_slices = next(iter(experiments.values())).shape[2]
    picks = slices or (0, n_exp_slices // 2, n_exp_slices - 1)
    sim = AFMSimulator(library.params) if simulate else None
    cols = len(picks) * (2 if simulate else 1) + 3
    fig = NotebookFigure(figsize=(1.9 * cols, 2.0 * len(names)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(names), cols))
    for row, name in enumerate(names):
        result = results[name]
        stack = experiments[name]
        ax = axes[row]
        for j, k in enumerate(picks):
            ax[j].imshow(stack[:, :, k].T, origin="lower", cmap="gray")
            ax[j].set_title(f"exp {name}, slice {k}", fontsize=8)
        c = len(picks)
        ax[c].imshow(result.experiment_descriptor.T, origin="lower", cmap="viridis")
        ax[c].set_title("exp vdW Spheres", fontsize=8)
        ax[c + 1].imshow(result.matched_descriptor(library).T, origin="lower", cmap="viridis")
        ax[c + 1].set_title(f"match, NCC {result.scores[0]:.2f}", fontsize=8)
        geometry = result.geometries[0]
        plot_molecule_topview(geometry, ax[c + 2], title="geometry", legend=False,
                              extent=library.params.extent(scan_center(geometry)))
        if sim is not None:
            sim_stack = preprocess(sim(result.geometries[0])[None], normalize=False)[0]
            for j, k in enumerate(picks):
                ax[c + 3 + j].imshow(sim_stack[:, :, k].T, origin="lower", cmap="gray")
                ax[c + 3 + j].set_title(f"sim, slice {k}", fontsize=8)
        for a in ax:
            a.set_xticks([])
            a.set_yticks([])
    return fig
