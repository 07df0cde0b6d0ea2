"""Pseudo-experiments: simulated stacks made to look like measured ones, with known truth.

A real experiment differs from afmkit's training simulations in ways the matcher must survive:
an unknown tip (lateral stiffness, CO charge, probe length, a tilt), an unknown absolute height,
noise, thermal drift between the constant-height images, and scan-line artefacts (each line of
a raster scan has its own offset; sometimes the tip changes for a few lines). This module adds
each of these to a simulation, seeded, so a matcher can be scored against the true orientation.
``scripts/make_camphor_standin.py`` uses it to make the stand-in shipped in
``afmkit/experiments/data``.
``scripts/make_camphor_ppafm_standin.py`` makes a second one with ppafm, an independent
simulator, and tips and artefact strengths scattered more widely (:func:`make_ppafm_standin`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from afmkit.fileio import atomic_path
from afmkit.learn.augment import default_height_indices
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import Molecule
from afmkit.targets.rotations import random_rotations

__all__ = [
    "ARTEFACT_JITTER",
    "Artefacts",
    "PPAFM_TIP",
    "TipPerturbation",
    "add_experiment_artefacts",
    "draw_artefacts",
    "drift",
    "make_ppafm_standin",
    "make_standin",
    "ppafm_pseudo_experiment",
    "ppafm_version",
    "pseudo_experiment",
    "quantize",
    "save_standin",
    "scan_line_artefacts",
]


@dataclass(frozen=True)
class TipPerturbation:
    """Ranges the stand-in's tips are drawn from (uniform). Units: N/m, e, Å.

    The matcher's library uses the defaults of :class:`SimulationParams` (k_lat 0.25 N/m,
    CO charge −0.1 e, rest length 3 Å, no tilt, closest slice 2.5 Å above the top atom).

    Attributes
    ----------
    k_lat : tuple of float
        (low, high) lateral spring constant, N/m.
    probe_charge : tuple of float
        (low, high) probe-particle charge, e.
    rest_length : tuple of float
        (low, high) probe rest length, Å.
    tilt_max : float
        Radius of the disc the tip tilt is drawn from, Å.
    z_offset : tuple of float
        (low, high) offset added to ``z_closest``, Å.
    """

    k_lat: tuple[float, float] = (0.18, 0.40)
    probe_charge: tuple[float, float] = (-0.16, -0.04)
    rest_length: tuple[float, float] = (2.8, 3.3)
    tilt_max: float = 0.5
    z_offset: tuple[float, float] = (-0.1, 0.4)


@dataclass(frozen=True)
class Artefacts:
    """Strengths of the experiment-like artefacts, relative to each slice's Δf standard deviation.

    Attributes
    ----------
    noise : float
        White noise σ.
    correlated_noise : float
        σ of noise smoothed over ``correlation_px`` pixels.
    correlation_px : float
        Correlation length of that noise, px.
    line_offsets : float
        σ of one random offset per scan line (rows along x).
    streaks : float
        Expected number of tip-change streaks per slice (a line segment with a large offset).
    streak_strength : float
        Offset of a streak.
    drift_px : float
        σ of the random-walk drift between consecutive slices, px.
    background : float
        Amplitude of a linear background plane across the image.
    """

    noise: float = 0.06
    correlated_noise: float = 0.06
    correlation_px: float = 3.0
    line_offsets: float = 0.05
    streaks: float = 0.4
    streak_strength: float = 0.6
    drift_px: float = 0.6
    background: float = 0.15


def drift(stack: np.ndarray, rng: np.random.Generator, sigma_px: float) -> np.ndarray:
    """Shift each slice by a random walk in xy, the closest slice fixed (thermal drift).

    Shifts are sub-pixel (linear interpolation), with the nearest edge value filling in.

    Parameters
    ----------
    stack : numpy.ndarray
        (nx, ny, nz) Δf stack, Hz.
    rng : numpy.random.Generator
        Seeded generator.
    sigma_px : float
        σ of each step of the walk, px.

    Returns
    -------
    numpy.ndarray
        New float32 (nx, ny, nz) stack.
    """
    nz = stack.shape[2]
    steps = rng.normal(0.0, sigma_px, size=(nz, 2))
    steps[-1] = 0.0
    path = np.cumsum(steps[::-1], axis=0)[::-1]  # walk from the closest slice upwards
    out = np.empty_like(stack, dtype=np.float32)
    for k in range(nz):
        out[:, :, k] = ndimage.shift(stack[:, :, k], path[k], order=1, mode="nearest")
    return out


def scan_line_artefacts(
    stack: np.ndarray, rng: np.random.Generator, line_sigma: float, streaks: float, strength: float
) -> np.ndarray:
    """Add one random offset per scan line (a row along x at fixed y) and tip-change streaks.

    Parameters
    ----------
    stack : numpy.ndarray
        (nx, ny, nz) Δf stack, Hz.
    rng : numpy.random.Generator
        Seeded generator.
    line_sigma : float
        σ of the per-line offsets, in units of each slice's standard deviation.
    streaks : float
        Expected number of streaks per slice (Poisson).
    strength : float
        Offset of a streak, in units of the slice's standard deviation.

    Returns
    -------
    numpy.ndarray
        New float32 (nx, ny, nz) stack.
    """
    nx, ny, nz = stack.shape
    scale = stack.std(axis=(0, 1))
    out = stack.astype(np.float32, copy=True)
    out += (rng.normal(0.0, line_sigma, size=(1, ny, nz)) * scale).astype(np.float32)
    for k in range(nz):
        for _ in range(rng.poisson(streaks)):
            y = rng.integers(0, ny)
            x0 = rng.integers(0, nx // 2)
            x1 = rng.integers(x0 + nx // 8, nx + 1)
            out[x0:x1, y, k] += np.float32(strength * scale[k] * rng.choice([-1.0, 1.0]))
    return out


def add_experiment_artefacts(
    stack: np.ndarray, rng: np.random.Generator, artefacts: Artefacts | None = None
) -> np.ndarray:
    """Drift, scan-line offsets and streaks, white and correlated noise and a background plane.

    Parameters
    ----------
    stack : numpy.ndarray
        (nx, ny, nz) Δf stack, Hz.
    rng : numpy.random.Generator
        Seeded generator.
    artefacts : Artefacts, optional
        Strengths (default :class:`Artefacts` ()).

    Returns
    -------
    numpy.ndarray
        New float32 stack of the same shape, Hz.
    """
    a = artefacts or Artefacts()
    out = drift(np.asarray(stack, dtype=np.float32), rng, a.drift_px)
    out = scan_line_artefacts(out, rng, a.line_offsets, a.streaks, a.streak_strength)
    nx, ny, nz = out.shape
    scale = out.std(axis=(0, 1))
    white = rng.normal(0.0, a.noise, size=out.shape)
    smooth = ndimage.gaussian_filter(
        rng.normal(size=out.shape), sigma=(a.correlation_px, a.correlation_px, 0)
    )
    smooth *= a.correlated_noise / max(float(smooth.std()), 1e-12)
    gx, gy = rng.normal(0.0, a.background, size=2)
    x = np.linspace(-0.5, 0.5, nx)[:, None, None]
    y = np.linspace(-0.5, 0.5, ny)[None, :, None]
    out += ((white + smooth + gx * x + gy * y) * scale).astype(np.float32)
    return out


def pseudo_experiment(
    mol: Molecule,
    rotation: np.ndarray,
    rng: np.random.Generator,
    perturbation: TipPerturbation | None = None,
    artefacts: Artefacts | None = None,
    base: SimulationParams | None = None,
    n_keep: int = 10,
) -> tuple[np.ndarray, dict]:
    """One pseudo-experiment of ``mol.rotated(rotation)``.

    Draws a tip and height offset from ``perturbation``, simulates 20 slices (dz 0.1 Å), keeps
    ``n_keep`` of the closest 15 like the inference pre-processing, then adds artefacts.

    Parameters
    ----------
    mol : Molecule
        The molecule in its reference orientation.
    rotation : numpy.ndarray
        (3, 3) rotation; the imaged geometry is ``mol.rotated(rotation)``.
    rng : numpy.random.Generator
        Random generator for the tip and the artefacts.
    perturbation : TipPerturbation, optional
        Tip ranges (N/m, e, Å); default :class:`TipPerturbation` ().
    artefacts : Artefacts, optional
        Artefact strengths; default :class:`Artefacts` ().
    base : SimulationParams, optional
        Simulation parameters the tip is drawn around.
    n_keep : int
        Slices kept.

    Returns
    -------
    stack : numpy.ndarray
        float32 (nx, ny, n_keep) Δf in Hz, slice 0 farthest.
    info : dict
        The drawn parameters: k_lat N/m, probe_charge e, rest_length Å, tilt [x, y] Å,
        z_offset Å and ``artefacts`` (dict of strengths).
    """
    base = base or SimulationParams()
    info = _draw_tip(rng, perturbation or TipPerturbation())
    params = _tip_params(base, info)
    stack = AFMSimulator(params)(mol.rotated(rotation))
    info["artefacts"] = asdict(artefacts or Artefacts())
    return _keep_and_spoil(stack, rng, artefacts, n_keep), info


def _keep_and_spoil(
    stack: np.ndarray, rng: np.random.Generator, artefacts: Artefacts | None, n_keep: int
) -> np.ndarray:
    """Keep ``n_keep`` of the closest 15 slices, then add the artefacts.

    The slices are those of the inference pre-processing
    (:func:`afmkit.learn.augment.default_height_indices`).
    """
    stack = stack[:, :, default_height_indices(stack.shape[2], 15, n_keep)]
    return add_experiment_artefacts(stack, rng, artefacts)


def make_standin(
    mol: Molecule, n: int, seed: int, experiment=None, **options
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``n`` pseudo-experiments of ``mol`` in uniformly random orientations, seeded.

    Experiment ``i`` uses the ``i``-th stream of ``np.random.SeedSequence(seed).spawn(n)``, so it
    does not depend on ``n``: its rotation, then the draws of ``experiment`` (default
    :func:`pseudo_experiment`; :func:`ppafm_pseudo_experiment` for the ppafm set), which gets
    ``options``.

    Parameters
    ----------
    mol : Molecule
        The molecule in its reference orientation.
    n : int
        Number of pseudo-experiments.
    seed : int
        Seed of the whole set.
    experiment : callable, optional
        ``experiment(mol, rotation, rng, **options) -> (stack, info)``.
    **options
        Passed to ``experiment``.

    Returns
    -------
    stacks : numpy.ndarray
        (n, nx, ny, 10) float32 Δf, Hz.
    rotations : numpy.ndarray
        (n, 3, 3) rotations.
    infos : list of dict
        The drawn parameters of each pseudo-experiment.
    """
    experiment = experiment or pseudo_experiment
    stacks, rotations, infos = [], [], []
    for child in np.random.SeedSequence(seed).spawn(n):
        rng = np.random.default_rng(child)
        rotation = random_rotations(1, rng)[0]
        stack, info = experiment(mol, rotation, rng, **options)
        stacks.append(stack)
        rotations.append(rotation)
        infos.append(info)
    return np.stack(stacks), np.stack(rotations), infos


def save_standin(
    stacks: np.ndarray, rotations: np.ndarray, infos: list[dict], seed: int,
    path: Path, truth_path: Path,
) -> None:
    """Write a stand-in set the way :func:`afmkit.experiments.published.camphor_standin` reads it.

    The stacks go 8-bit per slice (:func:`quantize`) into ``path``, the truth (rotations, drawn
    parameters as JSON, seed) into ``truth_path``; both atomically, numbered 1, 2, …

    Parameters
    ----------
    stacks : numpy.ndarray
        (n, nx, ny, nz) Δf stacks, Hz.
    rotations : numpy.ndarray
        (n, 3, 3) true rotations.
    infos : list of dict
        The drawn parameters of each pseudo-experiment (JSON-serialisable).
    seed : int
        Seed of the generating script.
    path, truth_path : Path
        The stacks file and the truth file (``.npz``).
    """
    q, lo, hi = quantize(stacks)
    numbers = np.arange(1, len(stacks) + 1)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, stacks_u8=q, lo=lo, hi=hi, numbers=numbers)
    with atomic_path(truth_path) as tmp:
        np.savez_compressed(
            tmp, rotations=rotations, params_json=json.dumps(infos), seed=seed, numbers=numbers
        )


def quantize(stacks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantise stacks to 8 bits per slice; the value is lo + q (hi − lo) / 255.

    Parameters
    ----------
    stacks : numpy.ndarray
        (n, nx, ny, nz) Δf stacks, Hz.

    Returns
    -------
    q : numpy.ndarray
        (n, nx, ny, nz) uint8.
    lo, hi : numpy.ndarray
        (n, nz) float32 minimum and maximum of each slice, Hz.
    """
    lo = stacks.min(axis=(1, 2)).astype(np.float32)
    hi = stacks.max(axis=(1, 2)).astype(np.float32)
    span = np.maximum(hi - lo, 1e-12)
    q = np.rint((stacks - lo[:, None, None, :]) / span[:, None, None, :] * 255.0)
    return np.clip(q, 0, 255).astype(np.uint8), lo, hi


# ---------------------------------------------------------------------------------------------
# a second stand-in made with ppafm, an independent simulator
# ---------------------------------------------------------------------------------------------
#: Tip ranges of the ppafm stand-in (uniform; units N/m, e, Å): wider than
#: :class:`TipPerturbation`'s defaults, a height offset of ±0.3 Å around ``z_closest``.
PPAFM_TIP = TipPerturbation(
    k_lat=(0.15, 0.40),
    probe_charge=(-0.2, 0.0),
    rest_length=(2.8, 3.3),
    tilt_max=0.5,
    z_offset=(-0.3, 0.3),
)
#: Each artefact strength of the ppafm stand-in is the :class:`Artefacts` default times a factor
#: drawn uniformly from this range, per pseudo-experiment (``correlation_px`` is kept).
ARTEFACT_JITTER = (0.5, 1.5)
#: Fields of :class:`Artefacts` that :data:`ARTEFACT_JITTER` scales.
_ARTEFACT_STRENGTHS = (
    "noise",
    "correlated_noise",
    "line_offsets",
    "streaks",
    "streak_strength",
    "drift_px",
    "background",
)


def _draw_tip(rng: np.random.Generator, p: TipPerturbation) -> dict:
    """Tip and height offset drawn from ``p`` (units N/m, e, Å), in a fixed order of draws."""
    tilt_r = p.tilt_max * np.sqrt(rng.random())
    tilt_phi = rng.uniform(0.0, 2.0 * np.pi)
    return {
        "k_lat": float(rng.uniform(*p.k_lat)),
        "probe_charge": float(rng.uniform(*p.probe_charge)),
        "rest_length": float(rng.uniform(*p.rest_length)),
        "tilt": [float(tilt_r * np.cos(tilt_phi)), float(tilt_r * np.sin(tilt_phi))],
        "z_offset": float(rng.uniform(*p.z_offset)),
    }


def _tip_params(base: SimulationParams, tip: dict) -> SimulationParams:
    """``base`` with a drawn tip (see :func:`_draw_tip`) and its height offset applied."""
    return base.replace(
        k_lat=tip["k_lat"],
        probe_charge=tip["probe_charge"],
        rest_length=tip["rest_length"],
        tilt=tuple(tip["tilt"]),
        z_closest=base.z_closest + tip["z_offset"],
    )


def draw_artefacts(
    rng: np.random.Generator,
    base: Artefacts | None = None,
    jitter: tuple[float, float] = ARTEFACT_JITTER,
) -> Artefacts:
    """Artefact strengths scattered around ``base``.

    Parameters
    ----------
    rng : numpy.random.Generator
        One uniform draw per strength, in the order of the fields.
    base : Artefacts, optional
        The central strengths; default :class:`Artefacts` ().
    jitter : tuple of float
        ``(low, high)`` range of the factor each strength is multiplied by.

    Returns
    -------
    Artefacts
        Every strength (noise, line offsets, streaks, drift in px, background; all relative to
        each slice's Δf std except ``drift_px``) scaled; ``correlation_px`` unchanged.
    """
    base = base or Artefacts()
    factors = rng.uniform(*jitter, size=len(_ARTEFACT_STRENGTHS))
    scaled = zip(_ARTEFACT_STRENGTHS, factors, strict=True)
    return replace(base, **{name: float(getattr(base, name) * f) for name, f in scaled})


def ppafm_version() -> str:
    """Name and version of the installed ppafm.

    Returns
    -------
    str
        ``"ppafm <version>"``.

    Raises
    ------
    ImportError
        If ppafm is not installed.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ppafm {version('ppafm')}"
    except PackageNotFoundError as exc:
        raise ImportError("ppafm is not installed (pip install 'ppafm[opencl]')") from exc


def ppafm_pseudo_experiment(
    mol: Molecule,
    rotation: np.ndarray,
    rng: np.random.Generator,
    perturbation: TipPerturbation | None = None,
    artefacts: Artefacts | None = None,
    base: SimulationParams | None = None,
    n_keep: int = 10,
) -> tuple[np.ndarray, dict]:
    """One pseudo-experiment of ``mol.rotated(rotation)`` simulated with ppafm.

    Draws a tip and a height offset from ``perturbation`` (default :data:`PPAFM_TIP`) and
    artefact strengths around ``artefacts`` (:func:`draw_artefacts`), simulates ``base`` (default
    :class:`SimulationParams` (): 20 slices, dz 0.1 Å) with those fields replaced through
    :func:`afmkit.physics.ppafm_bridge.ppafm_simulate`, keeps ``n_keep`` of the closest 15 slices
    (:func:`afmkit.learn.augment.default_height_indices`) and adds the artefacts.

    ppafm's Δf is left as ppafm gives it: 10/11 of afmkit's for the same force (its
    discretised Giessibl weights, see ``tests/physics/test_ppafm_bridge.py``), a genuine
    simulator difference.

    Parameters
    ----------
    mol : Molecule
        The molecule in its reference orientation.
    rotation : numpy.ndarray
        (3, 3) rotation; the imaged geometry is ``mol.rotated(rotation)``.
    rng : numpy.random.Generator
        Random generator for the tip, the artefact strengths and the artefacts.
    perturbation : TipPerturbation, optional
        Tip ranges (N/m, e, Å).
    artefacts : Artefacts, optional
        Central artefact strengths.
    base : SimulationParams, optional
        Simulation parameters the tip is drawn around.
    n_keep : int
        Slices kept.

    Returns
    -------
    stack : numpy.ndarray
        float32 (nx, ny, n_keep) Δf in Hz (slice 0 farthest).
    info : dict
        The drawn parameters: k_lat N/m, probe_charge e, rest_length Å, tilt [x, y] Å,
        z_offset Å (added to ``base.z_closest``), ``artefacts`` (dict of strengths) and
        ``simulator`` ("ppafm <version>").

    Raises
    ------
    ImportError
        ppafm is not installed.
    """
    from afmkit.physics.ppafm_bridge import ppafm_simulate

    simulator = ppafm_version()
    base = base or SimulationParams()
    info = _draw_tip(rng, perturbation or PPAFM_TIP)
    drawn = draw_artefacts(rng, artefacts)
    params = _tip_params(base, info)
    stack = ppafm_simulate(mol.rotated(rotation), params)
    info["artefacts"] = asdict(drawn)
    info["simulator"] = simulator
    return _keep_and_spoil(stack, rng, drawn, n_keep), info


def make_ppafm_standin(
    mol: Molecule, n: int, seed: int, base: SimulationParams | None = None
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``n`` ppafm pseudo-experiments of ``mol`` in uniformly random orientations, seeded.

    Experiment ``i`` uses the ``i``-th stream of ``np.random.SeedSequence(seed).spawn(n)``, so it
    does not depend on ``n``: its rotation, then :func:`ppafm_pseudo_experiment`'s draws.

    Parameters
    ----------
    mol : Molecule
        The molecule in its reference orientation.
    n : int
        Number of pseudo-experiments.
    seed : int
        Seed of the whole set.
    base : SimulationParams, optional
        Simulation parameters the tips are drawn around; default :class:`SimulationParams` ().

    Returns
    -------
    stacks : numpy.ndarray
        (n, nx, ny, 10) float32 Δf in Hz.
    rotations : numpy.ndarray
        (n, 3, 3) rotations.
    infos : list of dict
        The drawn parameters of each (see :func:`ppafm_pseudo_experiment`).

    Raises
    ------
    ImportError
        If ppafm is not installed.
    """
    return make_standin(mol, n, seed, ppafm_pseudo_experiment, base=base)
