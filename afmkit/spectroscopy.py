"""Pair potentials and force / frequency-shift spectroscopy: the curves behind the images.

Two jobs, both small:

* **Pair potentials** (course notebook 01): the Lennard-Jones and Coulomb energy and force of one
  pair of atoms, with the per-element parameters and mixing rule of :mod:`afmkit.forcefield`
  (``r_m = r_half_a + r_half_b``, ``ε = sqrt(ε_a ε_b)``), so the curves are exactly those the
  simulator sums over.
* **Curves at one pixel** (notebooks 02–03): Δf(z) and F_z(z) at a chosen pixel of a simulated
  stack, one call away (:func:`df_curve`, :func:`force_curve`), a single-point approach curve over a
  long height range (:func:`spectrum`), and Δf from F_z for any amplitude, f0 and k
  (:func:`df_from_force`) together with its small-amplitude limit (:func:`small_amplitude_df`).

Heights are those of :meth:`afmkit.SimulationParams.slice_heights`: the probe particle's rest
position above the reference (by default the highest nucleus). A Δf value is labelled by the lower
turning point of its oscillation, an F_z sample by the height at which it was taken.
Units: Å, eV, e, eV/Å for forces, N/m, Hz. This module is physics only (no widgets, no plotting).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from afmkit import frequency
from afmkit.elements import atomic_number
from afmkit.forcefield import (
    COULOMB_CONST,
    EV_PER_A2_IN_N_PER_M,
    LJTable,
    pair_parameters,
)

__all__ = [
    "PairCurves",
    "Spectrum",
    "coulomb_energy",
    "coulomb_force",
    "df_curve",
    "df_from_force",
    "force_curve",
    "lj_energy",
    "lj_force",
    "nearest_pixel",
    "pair_curves",
    "pair_lj_parameters",
    "sample_heights",
    "small_amplitude_df",
    "spectrum",
]


# ---------------------------------------------------------------------------------------------
# Pair potentials (thesis Eq. 1 + Coulomb)
# ---------------------------------------------------------------------------------------------
def lj_energy(r: npt.ArrayLike, eps: float, r_m: float) -> np.ndarray:
    """Lennard-Jones energy ``V = ε[(r_m/r)^12 − 2 (r_m/r)^6]`` in eV (thesis Eq. 1).

    Args:
        r: distance(s), Å (> 0).
        eps: well depth ε, eV (V(r_m) = −ε).
        r_m: position of the minimum, Å.
    """
    u6 = (r_m / np.asarray(r, dtype=float)) ** 6
    return eps * (u6 * u6 - 2.0 * u6)


def lj_force(r: npt.ArrayLike, eps: float, r_m: float) -> np.ndarray:
    """Radial Lennard-Jones force ``F = −dV/dr = (12 ε / r)[(r_m/r)^12 − (r_m/r)^6]`` in eV/Å.

    Positive = repulsive (pushes the atoms apart). ``r`` in Å, ``eps`` in eV, ``r_m`` in Å.
    """
    r = np.asarray(r, dtype=float)
    u6 = (r_m / r) ** 6
    return 12.0 * eps * (u6 * u6 - u6) / r


def coulomb_energy(r: npt.ArrayLike, q_a: float, q_b: float) -> np.ndarray:
    """Coulomb energy ``k_e q_a q_b / r`` in eV (``r`` in Å, charges in e, k_e = 14.40 eV·Å/e²)."""
    return COULOMB_CONST * q_a * q_b / np.asarray(r, dtype=float)


def coulomb_force(r: npt.ArrayLike, q_a: float, q_b: float) -> np.ndarray:
    """Radial Coulomb force ``k_e q_a q_b / r²`` in eV/Å (positive = repulsive; r in Å, q in e)."""
    r = np.asarray(r, dtype=float)
    return COULOMB_CONST * q_a * q_b / (r * r)


def pair_lj_parameters(
    element_a: str | int, element_b: str | int, table: LJTable | None = None
) -> tuple[float, float]:
    """Mixed LJ parameters ``(r_m, ε)`` (Å, eV) of two elements, as the simulator uses them.

    ``r_m = r_half_a + r_half_b`` and ``ε = sqrt(ε_a ε_b)`` (ppafm's mixing rule) from the shipped
    OPLS/AMBER table (``afmkit/data/lj_params.csv``) or ``table``. Elements by symbol or Z.
    """
    number_a = np.array([atomic_number(element_a)])
    r_m, eps = pair_parameters(number_a, atomic_number(element_b), table)
    return float(r_m[0]), float(eps[0])


@dataclass
class PairCurves:
    """Energies (eV) and radial forces (eV/Å, positive = repulsive) of one pair vs distance.

    Attributes: ``r`` (n,) Å; ``e_lj``, ``e_coulomb``, ``f_lj``, ``f_coulomb`` (n,);
    ``r_m`` (Å) and ``eps`` (eV) of the LJ part; ``q_a``, ``q_b`` charges in e.
    """

    r: np.ndarray
    e_lj: np.ndarray
    e_coulomb: np.ndarray
    f_lj: np.ndarray
    f_coulomb: np.ndarray
    r_m: float
    eps: float
    q_a: float
    q_b: float

    @property
    def e_total(self) -> np.ndarray:
        """LJ + Coulomb energy, eV."""
        return self.e_lj + self.e_coulomb

    @property
    def f_total(self) -> np.ndarray:
        """LJ + Coulomb radial force, eV/Å."""
        return self.f_lj + self.f_coulomb


def pair_curves(
    r: npt.ArrayLike,
    element_a: str | int = "C",
    element_b: str | int = "O",
    q_a: float = 0.0,
    q_b: float = 0.0,
    eps: float | None = None,
    r_m: float | None = None,
) -> PairCurves:
    """LJ, Coulomb and total energy and force of one atom pair at distances ``r`` (Å).

    Args:
        r: distances, Å.
        element_a, element_b: the two elements (symbol or Z), e.g. a sample C and the CO tip's O.
        q_a, q_b: point charges, e.
        eps: well depth override, eV (None: mixed table value).
        r_m: minimum-position override, Å (None: mixed table value).
    """
    r = np.asarray(r, dtype=float)
    r_tab, e_tab = pair_lj_parameters(element_a, element_b)
    r_m = r_tab if r_m is None else float(r_m)
    eps = e_tab if eps is None else float(eps)
    return PairCurves(
        r=r,
        e_lj=lj_energy(r, eps, r_m),
        e_coulomb=coulomb_energy(r, q_a, q_b),
        f_lj=lj_force(r, eps, r_m),
        f_coulomb=coulomb_force(r, q_a, q_b),
        r_m=r_m,
        eps=eps,
        q_a=float(q_a),
        q_b=float(q_b),
    )


# ---------------------------------------------------------------------------------------------
# Curves at one pixel
# ---------------------------------------------------------------------------------------------
def sample_heights(params: Any, n_samples: int | None = None) -> np.ndarray:
    """Heights (Å) of the F_z samples of a simulation: the PP rest position above the reference.

    Sample 0 is the highest (approach order); the last one is the closest slice's lower turning
    point (``params.z_closest`` above the top nucleus). ``n_samples`` defaults to
    ``params.df_samples``. Consistent with ``params.slice_heights()``: slice k's lower turning
    point is sample ``k + m − 1`` (m = number of Giessibl weights).
    """
    n = params.df_samples if n_samples is None else int(n_samples)
    return params.replace(n_slices=n).slice_heights()  # the same ladder, n rungs


def nearest_pixel(params: Any, center_xy: npt.ArrayLike, xy: npt.ArrayLike) -> tuple[int, int]:
    """Index ``(i, j)`` of the pixel whose tip position is closest to ``xy`` (Å).

    ``center_xy`` is the scan-window centre in Å (e.g. ``sim.last_center_xy``).
    """
    xs, ys = params.pixel_coordinates(np.asarray(center_xy, dtype=float))
    x, y = np.asarray(xy, dtype=float)[:2]
    return int(np.argmin(np.abs(xs - x))), int(np.argmin(np.abs(ys - y)))


def df_curve(
    df_stack: np.ndarray, params: Any, pixel: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Δf(z) at one pixel of a stack: ``(heights Å, Δf Hz)``, farthest first.

    Args:
        df_stack: (nx, ny, n_slices) Δf in Hz as returned by :class:`afmkit.AFMSimulator`.
        params: the :class:`afmkit.SimulationParams` of the stack (for the heights).
        pixel: ``(i, j)`` = (x index, y index), e.g. from :func:`nearest_pixel`.

    Heights are the lower turning points of the slices (``params.slice_heights()``).
    """
    stack = np.asarray(df_stack)
    i, j = pixel
    heights = params.slice_heights()
    if stack.shape[-1] != len(heights):
        raise ValueError(
            f"stack has {stack.shape[-1]} slices but params describe {len(heights)} slices"
        )
    return heights, stack[i, j, :].astype(float)


def force_curve(result: Any, params: Any, pixel: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """F_z(z) at one pixel of a :class:`afmkit.simulator.SimulationResult`: ``(heights Å, eV/Å)``.

    F_z is the vertical force of the sample on the relaxed probe particle, sample 0 the highest;
    heights from :func:`sample_heights`.
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
    """Giessibl's formula on F_z samples: ``(heights of the lower turning points Å, Δf Hz)``.

    Args:
        fz: (..., n) vertical force in eV/Å, every ``dz`` Å, approach order (index 0 highest).
        dz: sample spacing, Å.
        amplitude: zero-to-peak amplitude A, Å (0.5 = ASD-AFM's "1 Å" peak-to-peak).
        f0: resonance frequency, Hz. k_cantilever: spring constant, N/m.
        heights: (n,) heights of the samples, Å (default ``dz · (n−1 … 0)``).

    Δf value k spans samples k … k+m−1 and is labelled by the height of sample k+m−1.
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
    """Small-amplitude limit ``Δf = f0 k_ts / (2 k)`` with ``k_ts = −∂F_z/∂z`` (thesis Eq. 4), Hz.

    Args:
        fz: (n,) vertical force, eV/Å; heights: (n,) heights, Å (any order).
        f0: resonance frequency, Hz; k_cantilever: N/m.
    """
    k_ts = -np.gradient(np.asarray(fz, dtype=float), np.asarray(heights, dtype=float))
    return f0 * k_ts * EV_PER_A2_IN_N_PER_M / (2.0 * k_cantilever)


@dataclass
class Spectrum:
    """A single-point approach curve (from :func:`spectrum`).

    xy : (2,) tip position, Å. heights : (n,) F_z sample heights, Å (highest first).
    fz : (n,) vertical force, eV/Å. df_heights : (n_df,) lower turning points, Å.
    df : (n_df,) Δf, Hz. positions : (n, 3) relaxed probe-particle positions, Å (absolute).
    tip_z : (n,) tip-apex heights, Å (absolute). params : the parameters used.
    """

    xy: np.ndarray
    heights: np.ndarray
    fz: np.ndarray
    df_heights: np.ndarray
    df: np.ndarray
    positions: np.ndarray
    tip_z: np.ndarray
    params: Any


def spectrum(
    mol: Any,
    xy: npt.ArrayLike | None = None,
    params: Any = None,
    z_range: tuple[float, float] = (2.5, 8.0),
    simulator: Any = None,
) -> Spectrum:
    """Force and Δf spectroscopy at one lateral tip position: F_z(z) and Δf(z) over ``z_range``.

    Args:
        mol: the sample :class:`afmkit.Molecule`.
        xy: tip position (x, y) in Å; default above the highest atom.
        params: :class:`afmkit.SimulationParams` (probe, springs, cantilever); default ASD-AFM's.
            Its window, pixels, ``z_closest`` and ``n_slices`` are replaced.
        z_range: (lowest, highest) lower turning point of the Δf curve above the reference, Å.
        simulator: an :class:`afmkit.AFMSimulator` to reuse (its params are restored afterwards).

    Returns:
        A :class:`Spectrum`; it costs one tiny simulation (a 2 × 2 px window 0.02 Å wide).
    """
    from afmkit.simulator import AFMSimulator, SimulationParams

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
