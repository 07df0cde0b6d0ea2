"""Pair potentials of one atom pair: the Lennard-Jones and Coulomb curves of course notebook 01.

Energy and radial force of one pair of atoms versus distance, with the per-element parameters and
mixing rule of :mod:`afmkit.physics.forcefield` (``r_m = r_half_a + r_half_b``,
``ε = sqrt(ε_a ε_b)``), evaluated by the same pair function the simulator sums over
(:func:`afmkit.physics.forcefield.lj_coulomb_pair`), so the curves are exactly its terms:

    V_LJ(r) = ε [(r_m / r)^12 − 2 (r_m / r)^6]   (thesis Eq. 1),     V_C(r) = k_e q_a q_b / r.

Forces are radial, ``F = −dV/dr``, positive = repulsive (pushing the atoms apart). Distances are
used as given (no softening). Units: Å, eV, e; forces in eV/Å. Physics only (no widgets, no
plotting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from afmkit.physics.forcefield import COULOMB_CONST, LJTable, lj_coulomb_pair, pair_parameters
from afmkit.structures.elements import atomic_number

__all__ = [
    "PairCurves",
    "coulomb_energy",
    "coulomb_force",
    "lj_energy",
    "lj_force",
    "pair_curves",
    "pair_lj_parameters",
]


def _distances(r: npt.ArrayLike) -> np.ndarray:
    """Distances as a float array, Å; ValueError unless all are positive and finite."""
    r = np.asarray(r, dtype=float)
    if not np.all(np.isfinite(r) & (r > 0)):
        raise ValueError("distances r must be positive and finite (Å)")
    return r


def lj_energy(r: npt.ArrayLike, eps: float, r_m: float) -> np.ndarray:
    """Lennard-Jones energy ``V = ε[(r_m/r)^12 − 2 (r_m/r)^6]`` (thesis Eq. 1).

    Parameters
    ----------
    r : array_like
        Distance(s), Å (> 0).
    eps : float
        Well depth ε, eV (``V(r_m) = −ε``).
    r_m : float
        Position of the minimum, Å.

    Returns
    -------
    numpy.ndarray
        Energy in eV, the shape of ``r`` (a NumPy scalar for scalar ``r``).

    Raises
    ------
    ValueError
        If a distance is not positive and finite.
    """
    r = _distances(r)
    return lj_coulomb_pair(r * r, float(r_m) ** 2, eps, 0.0, energy=True).energy[()]


def lj_force(r: npt.ArrayLike, eps: float, r_m: float) -> np.ndarray:
    """Radial Lennard-Jones force ``F = −dV/dr = (12 ε / r)[(r_m/r)^12 − (r_m/r)^6]``.

    Parameters
    ----------
    r : array_like
        Distance(s), Å (> 0).
    eps : float
        Well depth ε, eV.
    r_m : float
        Position of the minimum, Å.

    Returns
    -------
    numpy.ndarray
        Force in eV/Å, positive = repulsive (pushes the atoms apart); the shape of ``r``.

    Raises
    ------
    ValueError
        If a distance is not positive and finite.
    """
    r = _distances(r)
    return (lj_coulomb_pair(r * r, float(r_m) ** 2, eps, 0.0).f_over_r * r)[()]


def coulomb_energy(r: npt.ArrayLike, q_a: float, q_b: float) -> np.ndarray:
    """Coulomb energy ``k_e q_a q_b / r`` (k_e = 14.40 eV·Å/e², :data:`COULOMB_CONST`).

    Parameters
    ----------
    r : array_like
        Distance(s), Å (> 0).
    q_a, q_b : float
        The two point charges, e.

    Returns
    -------
    numpy.ndarray
        Energy in eV, the shape of ``r``.

    Raises
    ------
    ValueError
        If a distance is not positive and finite.
    """
    r = _distances(r)
    kqq = COULOMB_CONST * q_a * q_b
    return lj_coulomb_pair(r * r, 0.0, 0.0, kqq, energy=True).energy[()]


def coulomb_force(r: npt.ArrayLike, q_a: float, q_b: float) -> np.ndarray:
    """Radial Coulomb force ``k_e q_a q_b / r²``.

    Parameters
    ----------
    r : array_like
        Distance(s), Å (> 0).
    q_a, q_b : float
        The two point charges, e.

    Returns
    -------
    numpy.ndarray
        Force in eV/Å, positive = repulsive; the shape of ``r``.

    Raises
    ------
    ValueError
        If a distance is not positive and finite.
    """
    r = _distances(r)
    kqq = COULOMB_CONST * q_a * q_b
    return (lj_coulomb_pair(r * r, 0.0, 0.0, kqq).f_over_r * r)[()]


def pair_lj_parameters(
    element_a: str | int, element_b: str | int, table: LJTable | None = None
) -> tuple[float, float]:
    """Mixed LJ parameters of two elements, as the simulator uses them.

    ``r_m = r_half_a + r_half_b`` and ``ε = sqrt(ε_a ε_b)`` (ppafm's mixing rule).

    Parameters
    ----------
    element_a, element_b : str or int
        The two elements, by symbol or atomic number.
    table : LJTable, optional
        Per-element parameters; default the shipped table (ppafm's)
        (``afmkit/physics/data/lj_params.csv``).

    Returns
    -------
    r_m : float
        Position of the LJ minimum, Å.
    eps : float
        Well depth, eV.

    Raises
    ------
    ValueError
        If an element is unknown or has no parameters in the table.
    """
    number_a = np.array([atomic_number(element_a)])
    r_m, eps = pair_parameters(number_a, atomic_number(element_b), table)
    return float(r_m[0]), float(eps[0])


@dataclass
class PairCurves:
    """Energies and radial forces of one atom pair versus distance (from :func:`pair_curves`).

    Attributes
    ----------
    r : numpy.ndarray, shape (n,)
        Distances, Å.
    e_lj, e_coulomb : numpy.ndarray, shape (n,)
        Lennard-Jones and Coulomb energies, eV.
    f_lj, f_coulomb : numpy.ndarray, shape (n,)
        Lennard-Jones and Coulomb radial forces, eV/Å (positive = repulsive).
    r_m : float
        Position of the LJ minimum, Å.
    eps : float
        LJ well depth, eV.
    q_a, q_b : float
        The two charges, e.
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
        """LJ + Coulomb energy, eV, shape (n,)."""
        return self.e_lj + self.e_coulomb

    @property
    def f_total(self) -> np.ndarray:
        """LJ + Coulomb radial force, eV/Å, shape (n,)."""
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
    """LJ, Coulomb and total energy and force of one atom pair at distances ``r``.

    Parameters
    ----------
    r : array_like, shape (n,)
        Distances, Å (> 0).
    element_a, element_b : str or int
        The two elements (symbol or Z), e.g. a sample C and the CO tip's O.
    q_a, q_b : float
        Point charges, e.
    eps : float, optional
        Well depth override, eV (None: the mixed table value).
    r_m : float, optional
        Minimum-position override, Å (None: the mixed table value).

    Returns
    -------
    PairCurves
        The curves, with the LJ parameters used.

    Raises
    ------
    ValueError
        If a distance is not positive and finite, or an element has no LJ parameters.
    """
    r = _distances(r)
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
