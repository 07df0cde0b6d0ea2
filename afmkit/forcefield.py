"""Lennard-Jones + Coulomb force field of a sample acting on the probe particle.

The probe particle (PP) interacts with every sample atom i through

    V_i(r) = eps_ij [ (r_ij / r)^12 - 2 (r_ij / r)^6 ]  +  k_e q_i Q_PP / r

with the mixing rule ``r_ij = r_half_i + r_half_PP`` and ``eps_ij = sqrt(eps_i eps_PP)`` (the
convention of the Probe Particle Model and ppafm), ``k_e = 14.3996 eV Å / e²``.
The per-element table (``afmkit/data/lj_params.csv``) holds the OPLS/AMBER values (thesis ref. 39)
as distributed with ppafm, so that both codes simulate the same physics.

The force field is tabulated on a regular 3D grid (:class:`Grid`) that only covers the volume the
probe particle can visit; every atom contributes at every grid point (no periodic images), so
atoms outside the box are still felt. Units: Å, eV, e; forces in eV/Å.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

COULOMB_CONST = 14.3996454  # k_e in eV·Å/e²
EV_PER_A2_IN_N_PER_M = 16.0217662  # 1 eV/Å² expressed in N/m
R2_SOFTENING = 1e-4  # Å², added to r² so a grid point on a nucleus stays finite


class MissingLJParametersError(ValueError):
    """An element has no Lennard-Jones parameters in the table in use."""


@dataclass(frozen=True)
class LJTable:
    """Per-element Lennard-Jones parameters.

    Attributes
    ----------
    r_half : np.ndarray, shape (Zmax + 1,)
        Half of the LJ minimum distance r_m for each atomic number, Å (NaN where unknown).
    eps : np.ndarray, shape (Zmax + 1,)
        LJ well depth per atomic number, eV (NaN where unknown).
    source : str
        Where the table was read from.
    """

    r_half: np.ndarray
    eps: np.ndarray
    source: str

    def lookup(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(r_half, eps)`` arrays (Å, eV) for atomic ``numbers`` of shape (N,)."""
        numbers = np.asarray(numbers, dtype=np.int64)
        bad = (numbers < 0) | (numbers >= len(self.r_half))
        if not bad.any():
            bad = np.isnan(self.r_half[numbers]) | np.isnan(self.eps[numbers])
        if bad.any():
            missing = sorted({int(z) for z in numbers[bad]})
            raise MissingLJParametersError(
                f"no Lennard-Jones parameters for atomic number(s) {missing} in {self.source}"
            )
        return self.r_half[numbers], self.eps[numbers]


@functools.lru_cache(maxsize=8)
def load_lj_table(path: str | Path | None = None) -> LJTable:
    """Read a Lennard-Jones table (CSV with columns ``Z, symbol, r_half, eps``; '#' comments).

    ``path=None`` reads the shipped OPLS/AMBER table. Radii in Å, well depths in eV.
    """
    if path is None:
        text = resources.files("afmkit").joinpath("data/lj_params.csv").read_text()
        source = "afmkit/data/lj_params.csv (OPLS/AMBER, as in ppafm)"
    else:
        text = Path(path).read_text()
        source = str(path)
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(rows)
    entries = []
    for row in reader:
        try:
            entries.append((int(row["Z"]), float(row["r_half"]), float(row["eps"])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed Lennard-Jones table {source}: row {row}") from err
    if not entries:
        raise ValueError(f"Lennard-Jones table {source} has no rows")
    zmax = max(z for z, _, _ in entries)
    r_half = np.full(zmax + 1, np.nan)
    eps = np.full(zmax + 1, np.nan)
    for z, r, e in entries:
        if r <= 0 or e < 0:
            raise ValueError(f"Lennard-Jones table {source}: invalid r_half/eps for Z={z}")
        r_half[z], eps[z] = r, e
    return LJTable(r_half=r_half, eps=eps, source=source)


def pair_parameters(
    numbers: np.ndarray, probe_number: int, table: LJTable | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mixed LJ parameters of each sample atom with the probe particle.

    Returns ``(r_ij, eps_ij)``, shape (N,) each, in Å and eV:
    ``r_ij = r_half_i + r_half_PP``, ``eps_ij = sqrt(eps_i * eps_PP)``.
    """
    table = table or load_lj_table()
    r_i, e_i = table.lookup(numbers)
    r_p, e_p = table.lookup(np.array([probe_number]))
    return r_i + r_p[0], np.sqrt(e_i * e_p[0])


@dataclass(frozen=True)
class Grid:
    """A regular 3D grid: point (ix, iy, iz) sits at ``origin + (ix, iy, iz) * step``.

    Attributes
    ----------
    origin : tuple of 3 floats
        Position of grid point (0, 0, 0), Å.
    step : float
        Grid spacing, Å (the same along x, y and z).
    shape : tuple of 3 ints
        Number of points (nx, ny, nz).
    """

    origin: tuple[float, float, float]
    step: float
    shape: tuple[int, int, int]

    @classmethod
    def covering(cls, lower: np.ndarray, upper: np.ndarray, step: float) -> Grid:
        """The smallest grid with spacing ``step`` (Å) whose points span ``lower..upper`` (Å)."""
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
        if step <= 0:
            raise ValueError(f"grid step must be positive, got {step} Å")
        if np.any(upper <= lower):
            raise ValueError(f"empty grid box: lower {lower} Å, upper {upper} Å")
        shape = np.ceil((upper - lower) / step - 1e-9).astype(int) + 1
        return cls(tuple(lower.tolist()), float(step), tuple(int(n) for n in shape))

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates of the grid lines along x, y, z (Å)."""
        pairs = zip(self.origin, self.shape, strict=True)
        return tuple(o + self.step * np.arange(n) for o, n in pairs)

    def points(self) -> np.ndarray:
        """All grid points, shape (nz, ny, nx, 3) in Å (x runs fastest in memory)."""
        x, y, z = self.axes()
        zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
        return np.stack([xx, yy, zz], axis=-1)


@dataclass
class ForceField:
    """A force field tabulated on a :class:`Grid`.

    Attributes
    ----------
    grid : Grid
    data : np.ndarray, float32, shape (nz, ny, nx, 4)
        (Fx, Fy, Fz, E) at each grid point: force on the probe particle in eV/Å and its
        energy in eV.
    """

    grid: Grid
    data: np.ndarray

    @property
    def force(self) -> np.ndarray:
        """Force on the probe particle, shape (nx, ny, nz, 3), eV/Å (a view in x, y, z order)."""
        return self.data[..., :3].transpose(2, 1, 0, 3)

    @property
    def energy(self) -> np.ndarray:
        """Energy of the probe particle, shape (nx, ny, nz), eV (a view)."""
        return self.data[..., 3].transpose(2, 1, 0)


def atom_arrays(
    positions: np.ndarray,
    numbers: np.ndarray,
    charges: np.ndarray,
    probe_number: int,
    probe_charge: float,
    table: LJTable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pack a sample into the per-atom arrays the kernels use.

    Returns
    -------
    atoms : float32 (N, 4)
        x, y, z in Å and ``k_e q_i Q_PP`` in eV·Å.
    lj : float32 (N, 2)
        ``r_ij²`` in Å² and ``eps_ij`` in eV.
    """
    r_ij, eps_ij = pair_parameters(numbers, probe_number, table)
    atoms = np.empty((len(numbers), 4), dtype=np.float32)
    atoms[:, :3] = positions
    atoms[:, 3] = COULOMB_CONST * np.asarray(charges) * probe_charge
    lj = np.stack([r_ij**2, eps_ij], axis=1).astype(np.float32)
    return atoms, lj


def lj_coulomb_numpy(
    points: np.ndarray, atoms: np.ndarray, lj: np.ndarray, chunk: int = 1 << 14
) -> np.ndarray:
    """Force and energy on a probe particle at ``points`` (NumPy reference).

    Parameters
    ----------
    points : (..., 3) positions of the probe particle, Å.
    atoms, lj : per-atom arrays from :func:`atom_arrays`.
    chunk : number of points evaluated at once (bounds memory to ``chunk × N`` doubles).

    Returns
    -------
    np.ndarray, float32, shape (..., 4): (Fx, Fy, Fz) in eV/Å and E in eV.
    """
    flat = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pos = atoms[:, :3].astype(np.float64)
    kqq = atoms[:, 3].astype(np.float64)
    r2ij = lj[:, 0].astype(np.float64)
    eps = lj[:, 1].astype(np.float64)
    out = np.empty((len(flat), 4), dtype=np.float32)
    for start in range(0, len(flat), chunk):
        d = flat[start : start + chunk, None, :] - pos[None, :, :]  # (M, N, 3)
        ir2 = 1.0 / (np.einsum("mnk,mnk->mn", d, d) + R2_SOFTENING)
        u3 = (r2ij * ir2) ** 3
        ir = np.sqrt(ir2)
        e_lj = eps * (u3 * u3 - 2.0 * u3)
        e_el = kqq * ir
        fr = (12.0 * eps * (u3 * u3 - u3) + e_el) * ir2  # |F|/r for each pair
        out[start : start + chunk, :3] = np.einsum("mn,mnk->mk", fr, d)
        out[start : start + chunk, 3] = (e_lj + e_el).sum(axis=1)
    return out.reshape(np.shape(points)[:-1] + (4,))


def compute_forcefield_numpy(grid: Grid, atoms: np.ndarray, lj: np.ndarray) -> ForceField:
    """Tabulate the LJ + Coulomb force field on ``grid`` with NumPy (reference implementation)."""
    return ForceField(grid, lj_coulomb_numpy(grid.points(), atoms, lj))


def compute_forcefield_opencl(grid: Grid, atoms: np.ndarray, lj: np.ndarray, ctx=None):
    """Tabulate the force field with the OpenCL kernel ``forcefield.cl``.

    Returns ``(ForceField, device_buffer)``: the host copy and the OpenCL buffer that holds it
    (float4 per point, x fastest), so the relaxation can use it without another upload.
    """
    from afmkit import opencl

    ctx = ctx or opencl.get_context()
    return opencl.forcefield(ctx, grid, atoms, lj)
