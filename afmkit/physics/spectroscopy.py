"""Force and frequency-shift spectroscopy: the curves at one pixel (course notebooks 02–03).

Δf(z) and F_z(z) at a chosen pixel of a simulated stack, one call away (:func:`df_curve`,
:func:`force_curve`, with :func:`nearest_pixel` to find the pixel above a point), a single-point
approach curve over a long height range (:func:`spectrum`), and Δf from F_z for any amplitude, f0
and k (:func:`df_from_force`) together with its small-amplitude limit (:func:`small_amplitude_df`).
The pair-potential curves of notebook 01 live in :mod:`afmkit.physics.pair_potentials`.

Heights are those of :meth:`afmkit.SimulationParams.slice_heights`: the probe particle's rest
position above the reference (by default the highest nucleus). A Δf value is labelled by the lower
turning point of its oscillation, an F_z sample by the height at which it was taken.
Units: Å, eV, e, eV/Å for forces, N/m for spring constants, Hz. Physics only (no widgets, no
plotting).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from afmkit.physics import frequency
from afmkit.physics.forcefield import EV_PER_A2_IN_N_PER_M
from afmkit.physics.simulator import AFMSimulator, SimulationParams, SimulationResult
from afmkit.structures.molecules import Molecule

__all__ = [
    "Spectrum",
    "df_curve",
    "df_from_force",
    "force_curve",
    "nearest_pixel",
    "sample_heights",
    "small_amplitude_df",
    "spectrum",
]


def sample_heights(params: SimulationParams, n_samples: int | None = None) -> np.ndarray:
    """Heights of the F_z samples of a simulation: the PP rest position above the reference.

    Sample 0 is the highest (approach order); the last one is the closest slice's lower turning
    point (``params.z_closest`` above the top nucleus). Consistent with
    ``params.slice_heights()``: slice k's lower turning point is sample ``k + m − 1``
    (m = number of Giessibl weights).

    Parameters
    ----------
    params : SimulationParams
        The parameters of the simulation.
    n_samples : int, optional
        Number of samples; default ``params.df_samples``.

    Returns
    -------
    numpy.ndarray, shape (n_samples,)
        Heights in Å, highest first, ``params.dz`` apart.
    """
    n = params.df_samples if n_samples is None else int(n_samples)
    return params.replace(n_slices=n).slice_heights()  # the same ladder, n rungs


def nearest_pixel(
    params: SimulationParams, center_xy: npt.ArrayLike, xy: npt.ArrayLike
) -> tuple[int, int]:
    """Index of the pixel whose tip position is closest to a point.

    Parameters
    ----------
    params : SimulationParams
        Scan window and pixels.
    center_xy : array_like, shape (2,)
        Scan-window centre, Å (e.g. ``sim.last_center_xy``).
    xy : array_like, shape (2,) or (3,)
        The point, Å (a z component is ignored).

    Returns
    -------
    tuple of int
        ``(i, j)`` = (x index, y index).
    """
    xs, ys = params.pixel_coordinates(np.asarray(center_xy, dtype=float))
    x, y = np.asarray(xy, dtype=float)[:2]
    return int(np.argmin(np.abs(xs - x))), int(np.argmin(np.abs(ys - y)))


def df_curve(
    df_stack: np.ndarray, params: SimulationParams, pixel: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Δf(z) at one pixel of a stack, farthest slice first.

    Parameters
    ----------
    df_stack : numpy.ndarray, shape (nx, ny, n_slices)
        Δf in Hz as returned by :class:`afmkit.AFMSimulator`.
    params : SimulationParams
        The parameters of the stack (for the heights).
    pixel : tuple of int
        ``(i, j)`` = (x index, y index), e.g. from :func:`nearest_pixel`.

    Returns
    -------
    heights : numpy.ndarray, shape (n_slices,)
        Lower turning points of the slices (``params.slice_heights()``), Å.
    df : numpy.ndarray, shape (n_slices,)
        Δf, Hz (float64).

    Raises
    ------
    ValueError
        If the stack's number of slices does not match ``params``.
    """
    stack = np.asarray(df_stack)
    i, j = pixel
    heights = params.slice_heights()
    if stack.shape[-1] != len(heights):
        raise ValueError(
            f"stack has {stack.shape[-1]} slices but params describe {len(heights)} slices"
        )
    return heights, stack[i, j, :].astype(float)


def force_curve(
    result: SimulationResult, params: SimulationParams, pixel: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """F_z(z) at one pixel of a simulation: the vertical force on the relaxed probe particle.

    Parameters
    ----------
    result : SimulationResult
        From :meth:`afmkit.AFMSimulator.run`.
    params : SimulationParams
        The parameters of the simulation (for the heights).
    pixel : tuple of int
        ``(i, j)`` = (x index, y index).

    Returns
    -------
    heights : numpy.ndarray, shape (n_samples,)
        Sample heights (:func:`sample_heights`), Å, highest first.
    fz : numpy.ndarray, shape (n_samples,)
        Vertical force of the sample on the relaxed probe particle, eV/Å (float64).
    """
    fz = np.asarray(result.fz)
    i, j = pixel
    return sample_heights(params, fz.shape[-1]), fz[i, j, :].astype(float)


def df_from_force(
    fz: npt.ArrayLike,
    dz: float,
    amplitude: float,
    f0: float,
    k_cantilever: float,
    heights: npt.ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Giessibl's formula on F_z samples (thesis Eq. 5).

    Δf value k spans samples k … k+m−1 and is labelled by the height of sample k+m−1, the lower
    turning point of its oscillation.

    Parameters
    ----------
    fz : array_like, shape (..., n)
        Vertical force in eV/Å, every ``dz`` Å, approach order (index 0 highest).
    dz : float
        Sample spacing, Å.
    amplitude : float
        Zero-to-peak amplitude A, Å (0.5 = ASD-AFM's "1 Å" peak-to-peak).
    f0 : float
        Resonance frequency, Hz.
    k_cantilever : float
        Cantilever spring constant, N/m.
    heights : array_like, shape (n,), optional
        Heights of the samples, Å (default ``dz · (n−1 … 0)``).

    Returns
    -------
    heights : numpy.ndarray, shape (n − m + 1,)
        Lower turning points of the Δf values, Å.
    df : numpy.ndarray, shape (..., n − m + 1)
        Δf, Hz (float64).

    Raises
    ------
    ValueError
        If there are fewer samples than the oscillation spans, or ``amplitude``/``dz`` is not
        positive.
    """
    fz = np.asarray(fz, dtype=float)
    n = fz.shape[-1]
    h = dz * np.arange(n - 1, -1, -1) if heights is None else np.asarray(heights, dtype=float)
    df = frequency.fz_to_df(fz, dz, amplitude, f0, k_cantilever).astype(float)
    m = n - df.shape[-1] + 1
    return h[m - 1 :], df


def small_amplitude_df(
    fz: npt.ArrayLike, heights: npt.ArrayLike, f0: float, k_cantilever: float
) -> np.ndarray:
    """Small-amplitude limit ``Δf = f0 k_ts / (2 k)`` with ``k_ts = −∂F_z/∂z`` (thesis Eq. 4).

    Parameters
    ----------
    fz : array_like, shape (n,)
        Vertical force, eV/Å.
    heights : array_like, shape (n,)
        Heights of the samples, Å (any order).
    f0 : float
        Resonance frequency, Hz.
    k_cantilever : float
        Cantilever spring constant, N/m.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Δf, Hz.
    """
    k_ts_ev = -np.gradient(np.asarray(fz, dtype=float), np.asarray(heights, dtype=float))  # eV/Å²
    return f0 * k_ts_ev * EV_PER_A2_IN_N_PER_M / (2.0 * k_cantilever)


@dataclass
class Spectrum:
    """A single-point approach curve (from :func:`spectrum`).

    Attributes
    ----------
    xy : numpy.ndarray, shape (2,)
        Tip position, Å.
    heights : numpy.ndarray, shape (n,)
        F_z sample heights above the reference, Å (highest first).
    fz : numpy.ndarray, shape (n,)
        Vertical force on the relaxed probe particle, eV/Å.
    df_heights : numpy.ndarray, shape (n_df,)
        Lower turning points of the Δf values, Å.
    df : numpy.ndarray, shape (n_df,)
        Δf, Hz.
    positions : numpy.ndarray, shape (n, 3)
        Relaxed probe-particle positions, Å (absolute).
    tip_z : numpy.ndarray, shape (n,)
        Tip-apex heights, Å (absolute).
    params : SimulationParams
        The parameters used.
    """

    xy: np.ndarray
    heights: np.ndarray
    fz: np.ndarray
    df_heights: np.ndarray
    df: np.ndarray
    positions: np.ndarray
    tip_z: np.ndarray
    params: SimulationParams


def spectrum(
    mol: Molecule,
    xy: npt.ArrayLike | None = None,
    params: SimulationParams | None = None,
    z_range: tuple[float, float] = (2.5, 8.0),
    simulator: AFMSimulator | None = None,
) -> Spectrum:
    """Force and Δf spectroscopy at one lateral tip position: F_z(z) and Δf(z) over ``z_range``.

    It costs one tiny simulation (a 2 × 2 px window 0.02 Å wide).

    Parameters
    ----------
    mol : Molecule
        The sample (:class:`afmkit.Molecule`).
    xy : array_like, shape (2,), optional
        Tip position (x, y), Å; default above the highest atom.
    params : SimulationParams, optional
        Probe, springs and cantilever; default ASD-AFM's. Its window, pixels, ``z_closest`` and
        ``n_slices`` are replaced.
    z_range : tuple of float
        (lowest, highest) lower turning point of the Δf curve above the reference, Å.
    simulator : AFMSimulator, optional
        A simulator to reuse (its params are restored afterwards).

    Returns
    -------
    Spectrum
        The curves and the relaxed probe positions.

    Raises
    ------
    ValueError
        If ``z_range`` is not (low, high) with high > low, or the molecule is invalid.
    """
    params = params or SimulationParams()
    lo, hi = (float(v) for v in z_range)
    if not hi > lo:
        raise ValueError(f"z_range must be (low, high) with high > low, got {z_range} Å")
    pos = np.asarray(mol.positions, dtype=float)
    xy = pos[int(np.argmax(pos[:, 2])), :2] if xy is None else np.asarray(xy, dtype=float)[:2]
    n_slices = int(round((hi - lo) / params.dz)) + 1
    p = params.replace(
        scan_size=(0.02, 0.02), pixels=(2, 2), n_slices=n_slices, z_closest=lo, ff_margin=1.0
    )
    sim = simulator if simulator is not None else AFMSimulator(p)
    old = sim.params
    sim.params = p
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*wider than the.*scan window")
            res = sim.run(mol, center_xy=xy, store_positions=True)
    finally:
        sim.params = old
    heights = sample_heights(p, res.fz.shape[-1])
    df_heights = p.slice_heights()
    return Spectrum(
        xy=xy,
        heights=heights,
        fz=res.fz[0, 0].astype(float),
        df_heights=df_heights,
        df=res.df[0, 0].astype(float),
        positions=res.positions[0, 0].astype(float),
        tip_z=np.asarray(res.tip_z, dtype=float),
        params=p,
    )
