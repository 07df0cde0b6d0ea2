"""Viewing directions: near-uniform directions on a sphere, and the choice of the best ones.

A rotation matrix ``R`` turns a molecule into *scan orientation*: ``mol.rotated(R)`` puts the chosen
viewing direction along +z, so the tip, which looks down −z from above, sees the side of the
molecule that faced that direction. Rotations are about the molecule's centroid.

Thesis §3.1, Eq. 25: of ~100 near-uniform directions, keep the 20–30 that maximise

    S = Σ_i exp(−β (z_top − z_i)),        β = 1.0 Å⁻¹,

where z_top is the z of the atom closest to the tip, so atoms near the tip count most and views
that show many atoms at once (e.g. a planar molecule seen face-on) win.
"""

from __future__ import annotations

import numpy as np

from afmkit.structures.molecules import lay_flat  # a rotation too, so it is public here

__all__ = [
    "GOLDEN_ANGLE",
    "lay_flat",
    "random_rotations",
    "rotation_angle",
    "rotation_scores",
    "rotation_to_z",
    "select_rotations",
    "sphere_points",
    "uniform_rotations",
]

#: The golden angle, rad: azimuth step of the Fibonacci lattice.
GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))


def sphere_points(n: int = 100) -> np.ndarray:
    """Near-uniformly spread unit vectors (Fibonacci lattice).

    Parameters
    ----------
    n : int
        Number of directions (≥ 1).

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        Unit vectors, z running from near +1 to near −1.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"need at least one direction, got n={n}")
    i = np.arange(n)
    z = 1.0 - (2.0 * i + 1.0) / n
    r = np.sqrt(1.0 - z * z)
    phi = GOLDEN_ANGLE * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def rotation_to_z(directions: np.ndarray) -> np.ndarray:
    """Rotation matrices that map each direction onto +z.

    The smallest rotation is used (about the axis d × z), so the result is deterministic; the
    antipode −z is handled with a 180° turn about x.

    Parameters
    ----------
    directions : numpy.ndarray, shape (n, 3) or (3,)
        Directions (normalised here; must be non-zero).

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        Rotation matrices R with ``R @ d = |d|⁻¹ d ↦ (0, 0, 1)``.
    """
    d = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(d, z)  # rotation axis × sin(angle)
    c = d @ z  # cos(angle)
    vx = np.zeros((len(d), 3, 3))
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx[:, 1, 0], vx[:, 2, 0], vx[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(c > -1 + 1e-12, 1.0 / (1.0 + c), 0.0)
    rot = np.eye(3) + vx + (vx @ vx) * k[:, None, None]
    flip = c <= -1 + 1e-12
    rot[flip] = np.diag([1.0, -1.0, -1.0])
    return rot


def uniform_rotations(n: int = 100, roll: float = 0.0) -> np.ndarray:
    """Rotations that bring ``n`` near-uniform directions to +z, then turn about z.

    Parameters
    ----------
    n : int
        Number of directions (:func:`sphere_points`).
    roll : float
        Final turn about z, rad.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        Rotation matrices.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    rot = rotation_to_z(sphere_points(n))
    if roll:
        c, s = np.cos(roll), np.sin(roll)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ rot
    return rot


def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """Rotations drawn uniformly from SO(3) (random unit quaternions).

    Parameters
    ----------
    n : int
        Number of rotations.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        Rotation matrices.
    """
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def rotation_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle of the rotation taking ``a`` to ``b``.

    Parameters
    ----------
    a, b : numpy.ndarray, shape (..., 3, 3)
        Rotation matrices; leading axes broadcast.

    Returns
    -------
    numpy.ndarray, shape (...)
        Angle of ``aᵀ b`` in degrees, in [0, 180].
    """
    rel = np.einsum("...ji,...jk->...ik", a, b)  # aᵀ b
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def rotation_scores(mol, rotations: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Eq. 25 score of each rotation: S = Σ exp(−β (z_top − z_i)).

    Rotations are about the centroid; translations do not change S.

    Parameters
    ----------
    mol : Molecule
        The molecule (positions in Å).
    rotations : numpy.ndarray, shape (n, 3, 3)
        Rotation matrices.
    beta : float
        Decay constant β, 1/Å (> 0).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Scores (dimensionless, ≥ 1).

    Raises
    ------
    ValueError
        If ``beta`` is not positive or the molecule has no atoms.
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive (1/Å), got {beta}")
    pos = np.asarray(mol.positions, dtype=np.float64)
    if len(pos) == 0:
        raise ValueError("cannot score rotations of a molecule with no atoms")
    z = np.einsum("nk,rk->rn", pos - pos.mean(axis=0), np.asarray(rotations)[:, 2, :])
    return np.exp(-beta * (z.max(axis=1, keepdims=True) - z)).sum(axis=1)


def select_rotations(
    mol, n: int = 100, n_best: int = 20, beta: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_best`` of ``n`` near-uniform viewing rotations with the highest Eq. 25 score.

    Apply one with ``mol.rotated(rotations[k])``.

    Parameters
    ----------
    mol : Molecule
        The molecule (positions in Å).
    n : int
        Number of candidate directions (:func:`uniform_rotations`).
    n_best : int
        Number kept, 1 ≤ n_best ≤ n.
    beta : float
        Decay constant β of Eq. 25, 1/Å.

    Returns
    -------
    rotations : numpy.ndarray, shape (n_best, 3, 3)
        Rotation matrices, best first.
    scores : numpy.ndarray, shape (n_best,)
        Their scores.

    Raises
    ------
    ValueError
        If ``n_best`` is out of range, ``beta`` is not positive or the molecule has no atoms.
    """
    if not 1 <= n_best <= n:
        raise ValueError(f"n_best must be between 1 and n={n}, got {n_best}")
    rot = uniform_rotations(n)
    scores = rotation_scores(mol, rot, beta)
    best = np.argsort(-scores, kind="stable")[:n_best]
    return rot[best], scores[best]
