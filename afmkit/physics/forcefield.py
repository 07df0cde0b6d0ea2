"""Lennard-Jones + Coulomb force field of a sample acting on the probe particle.

The probe particle (PP) interacts with every sample atom i through

    V_i(r) = eps_ij [ (r_ij / r)^12 - 2 (r_ij / r)^6 ]  +  k_e q_i Q_PP / r

with the mixing rule ``r_ij = r_half_i + r_half_PP`` and ``eps_ij = sqrt(eps_i eps_PP)`` (the
convention of the Probe Particle Model and ppafm), ``k_e = 14.3996 eV Å / e²``.
The per-element table (``afmkit/physics/data/lj_params.csv``) is ppafm's, so that both codes
simulate the same physics. It is not one force field: OPLS/AMBER for 13 light elements (H He Li
B C N O F Ne P S Cl Ar, all of QM9's; thesis ref. 39), GROMOS for Si, ppafm's OPLS-like values
for Be, Br, I and Xe, Batsanov vdW radii with a placeholder ε = 0.01 eV for most metals, and
placeholders elsewhere (its ``source`` column).

One function computes these pair terms in NumPy, :func:`lj_coulomb_pair` (force over distance as
a function of r², optionally its derivative and the energy, into preallocated buffers); the force
field (:func:`lj_coulomb_numpy`), the descriptors and the pair-potential curves all call it, and
the OpenCL kernel ``kernels/forcefield.cl`` is its twin (tested against it).

The force field is tabulated on a regular 3D grid (:class:`Grid`) that only covers the volume the
probe particle can visit; every atom contributes at every grid point (no periodic images), so
atoms outside the box are still felt. Units: Å, eV, e; forces in eV/Å.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from afmkit.structures.elements import MAX_Z, symbol

__all__ = [
    "COULOMB_CONST",
    "EV_PER_A2_IN_N_PER_M",
    "ForceField",
    "Grid",
    "LJTable",
    "MissingLJParametersError",
    "PairTerms",
    "PairWorkspace",
    "R2_SOFTENING",
    "atom_arrays",
    "compute_forcefield_numpy",
    "lj_coulomb_numpy",
    "lj_coulomb_pair",
    "lj_table_csv",
    "load_lj_table",
    "pair_parameters",
]

#: Coulomb constant k_e, eV·Å/e².
COULOMB_CONST = 14.3996454
#: 1 eV/Å² expressed in N/m (spring constants: N/m at the API, eV/Å² inside).
EV_PER_A2_IN_N_PER_M = 16.0217662
#: Softening added to r² (Å²) so a grid point on a nucleus stays finite (also passed to the
#: OpenCL kernel as a build option).
R2_SOFTENING = 1e-4


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
    row_source : dict of int to str
        Atomic number → where that row's values come from (the CSV's optional ``source``
        column, e.g. "OPLS/AMBER"); empty if the file has no such column.
    """

    r_half: np.ndarray
    eps: np.ndarray
    source: str
    row_source: dict[int, str] = field(default_factory=dict)

    def lookup(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Parameters of the given elements.

        Parameters
        ----------
        numbers : numpy.ndarray, shape (N,)
            Atomic numbers.

        Returns
        -------
        r_half : numpy.ndarray, shape (N,)
            Half the LJ minimum distance, Å.
        eps : numpy.ndarray, shape (N,)
            Well depth, eV.

        Raises
        ------
        MissingLJParametersError
            Naming the atomic numbers that have no parameters.
        """
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
    """Read a Lennard-Jones table (cached).

    Parameters
    ----------
    path : str or Path, optional
        CSV file with columns ``Z, symbol, r_half, eps`` (radii in Å, well depths in eV; lines
        starting with '#' are comments). None reads the shipped table (ppafm's).

    Returns
    -------
    LJTable
        The table.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the table is malformed, empty, or holds a non-positive radius or negative depth.
    """
    if path is None:
        text = resources.files("afmkit.physics").joinpath("data/lj_params.csv").read_text()
        source = "afmkit/physics/data/lj_params.csv (ppafm's table; per-row sources inside)"
    else:
        text = Path(path).read_text()
        source = str(path)
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(rows)
    entries = []
    row_source = {}
    for row in reader:
        try:
            entries.append((int(row["Z"]), float(row["r_half"]), float(row["eps"])))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed Lennard-Jones table {source}: row {row}") from err
        if (row.get("source") or "").strip():
            row_source[int(row["Z"])] = row["source"].strip()
    if not entries:
        raise ValueError(f"Lennard-Jones table {source} has no rows")
    for z, r, e in entries:
        if not 1 <= z <= MAX_Z:
            raise ValueError(f"Lennard-Jones table {source}: Z={z} is not an element (1–{MAX_Z})")
        if not (np.isfinite(r) and np.isfinite(e)) or r <= 0 or e < 0:
            raise ValueError(
                f"Lennard-Jones table {source}: invalid r_half/eps for Z={z} (r_half must be a "
                f"finite positive radius in Å, eps a finite depth >= 0 in eV; got {r}, {e})"
            )
    zmax = max(z for z, _, _ in entries)
    r_half = np.full(zmax + 1, np.nan)
    eps = np.full(zmax + 1, np.nan)
    for z, r, e in entries:
        r_half[z], eps[z] = r, e
    return LJTable(r_half=r_half, eps=eps, source=source, row_source=row_source)


def lj_table_csv(table: LJTable, comment: str = "") -> str:
    """``table`` as the CSV text :func:`load_lj_table` reads (exact round trip).

    Parameters
    ----------
    table : LJTable
        The parameters (Å, eV) and per-row sources.
    comment : str
        Written first, each line prefixed with ``# ``.

    Returns
    -------
    str
        Comment lines, then ``Z,symbol,r_half,eps,source`` rows for every element with values
        (numbers written with ``repr`` so they read back bit for bit).
    """
    out = io.StringIO()
    for line in comment.splitlines():
        out.write(f"# {line}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Z", "symbol", "r_half", "eps", "source"])
    for z in range(1, len(table.r_half)):
        if np.isnan(table.r_half[z]) or np.isnan(table.eps[z]):
            continue
        writer.writerow([z, symbol(z), repr(float(table.r_half[z])), repr(float(table.eps[z])),
                         table.row_source.get(z, "")])  # fmt: skip
    return out.getvalue()


def pair_parameters(
    numbers: np.ndarray, probe_number: int, table: LJTable | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mixed LJ parameters of each sample atom with the probe particle.

    ``r_ij = r_half_i + r_half_PP`` and ``eps_ij = sqrt(eps_i * eps_PP)``.

    Parameters
    ----------
    numbers : numpy.ndarray, shape (N,)
        Atomic numbers of the sample atoms.
    probe_number : int
        Atomic number whose parameters the probe particle uses (8 for CO, 54 for Xe).
    table : LJTable, optional
        Default the shipped table (ppafm's).

    Returns
    -------
    r_ij : numpy.ndarray, shape (N,)
        Position of the LJ minimum, Å.
    eps_ij : numpy.ndarray, shape (N,)
        Well depth, eV.

    Raises
    ------
    MissingLJParametersError
        If an element has no parameters.
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
        """The smallest grid with spacing ``step`` whose points span ``lower..upper``.

        Parameters
        ----------
        lower, upper : numpy.ndarray, shape (3,)
            Corners of the box, Å.
        step : float
            Grid spacing, Å.

        Returns
        -------
        Grid
            Origin at ``lower``.

        Raises
        ------
        ValueError
            If ``step`` is not positive or the box is empty.
        """
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
        """Number of grid points, nx · ny · nz."""
        return int(np.prod(self.shape))

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates of the grid lines.

        Returns
        -------
        tuple of numpy.ndarray
            x (nx,), y (ny,), z (nz,), Å.
        """
        pairs = zip(self.origin, self.shape, strict=True)
        return tuple(o + self.step * np.arange(n) for o, n in pairs)

    def points(self) -> np.ndarray:
        """All grid points.

        Returns
        -------
        numpy.ndarray, shape (nz, ny, nx, 3)
            (x, y, z) in Å; x runs fastest in memory.
        """
        x, y, z = self.axes()
        zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
        return np.stack([xx, yy, zz], axis=-1)


class ForceField:
    """A force field tabulated on a :class:`Grid`.

    The OpenCL backend keeps the table on the device and hands out a force field whose ``data``
    is copied to the host only when first read (``fetch``), so a simulation that only wants Δf
    never pays for the copy.

    Parameters
    ----------
    grid : Grid
        Where the values are.
    data : np.ndarray, float32, shape (nz, ny, nx, 4), optional
        (Fx, Fy, Fz, E) at each grid point: force on the probe particle in eV/Å and its energy
        in eV.
    fetch : callable, optional
        Called without arguments to produce ``data`` on first access, if ``data`` is not given.

    Attributes
    ----------
    grid : Grid
        Where the values are.
    data : np.ndarray, float32, shape (nz, ny, nx, 4)
        The table (fetched on first access if it lives on a device).
    """

    def __init__(self, grid: Grid, data: np.ndarray | None = None, fetch=None) -> None:
        if data is None and fetch is None:
            raise ValueError("ForceField needs data or a fetch function")
        self.grid = grid
        self._data = data
        self._fetch = fetch

    @property
    def data(self) -> np.ndarray:
        """(Fx, Fy, Fz, E) per grid point, float32 (nz, ny, nx, 4), eV/Å and eV."""
        if self._data is None:
            self._data = self._fetch()
            self._fetch = None
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._data, self._fetch = value, None

    @property
    def on_host(self) -> bool:
        """Whether ``data`` is already in host memory (False: it will be copied on access)."""
        return self._data is not None

    def __repr__(self) -> str:
        where = "host" if self.on_host else "device"
        return f"ForceField(grid={self.grid!r}, on {where})"

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

    Parameters
    ----------
    positions : numpy.ndarray, shape (N, 3)
        Atom positions, Å.
    numbers : numpy.ndarray, shape (N,)
        Atomic numbers.
    charges : numpy.ndarray, shape (N,)
        Partial charges, e.
    probe_number : int
        Atomic number whose LJ parameters the probe particle uses.
    probe_charge : float
        Charge of the probe particle, e.
    table : LJTable, optional
        Default the shipped table (ppafm's).

    Returns
    -------
    atoms : numpy.ndarray, float32, shape (N, 4)
        x, y, z in Å and ``k_e q_i Q_PP`` in eV·Å.
    lj : numpy.ndarray, float32, shape (N, 2)
        ``r_ij²`` in Å² and ``eps_ij`` in eV.

    Raises
    ------
    MissingLJParametersError
        If an element has no parameters.
    """
    r_ij, eps_ij = pair_parameters(numbers, probe_number, table)
    atoms = np.empty((len(numbers), 4), dtype=np.float32)
    atoms[:, :3] = positions
    atoms[:, 3] = COULOMB_CONST * np.asarray(charges) * probe_charge
    lj = np.stack([r_ij**2, eps_ij], axis=1).astype(np.float32)
    return atoms, lj


class PairTerms(NamedTuple):
    """What :func:`lj_coulomb_pair` returns for each probe–atom pair.

    Attributes
    ----------
    f_over_r : numpy.ndarray
        Radial force divided by the distance, ``|F| / r`` in eV/Å² (positive = repulsive). The
        force on the probe particle is ``f_over_r * (r_probe − r_atom)`` in eV/Å.
    df_over_r_dr2 : numpy.ndarray or None
        Its derivative ``d(|F|/r) / d(r²)`` in eV/Å⁴, or None if not requested.
    energy : numpy.ndarray or None
        Pair energy ``V`` in eV, or None if not requested.
    """

    f_over_r: np.ndarray
    df_over_r_dr2: np.ndarray | None
    energy: np.ndarray | None


class PairWorkspace:
    """Preallocated scratch arrays for :func:`lj_coulomb_pair`, reused across calls.

    Hot loops (the Height Map root finder evaluates the force tens of times per map) spend more
    time allocating and page-faulting (M, N) temporaries than computing; with a workspace every
    pair-array operation writes into views of buffers allocated once, in one block: first
    ``extra`` for the caller, then the pair function's: 3 for ``|F|/r`` alone, 5 with the
    derivative, 6 with the energy.

    Parameters
    ----------
    shape : tuple of int
        Largest pair-array shape, e.g. (M, N) for M probe positions and N atoms. A call may use
        fewer leading rows, shape (m, N) with m <= M.
    dtype : numpy dtype, optional
        Floating type of the buffers (and of the results), default float32.
    derivative : bool, optional
        Room for ``lj_coulomb_pair(..., derivative=True)``.
    energy : bool, optional
        Room for ``lj_coulomb_pair(..., energy=True)``.
    extra : int, optional
        Number of additional buffers of ``shape`` for the caller (:meth:`extra_views`).

    Attributes
    ----------
    shape : tuple of int
        The largest pair-array shape.
    dtype : numpy.dtype
        Floating type of the buffers.
    n_extra, n_pair : int
        Number of the caller's buffers and of the pair function's.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        dtype: npt.DTypeLike = np.float32,
        *,
        derivative: bool = False,
        energy: bool = False,
        extra: int = 0,
    ) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.n_pair = 6 if energy else 5 if derivative else 3
        self.n_extra = int(extra)
        self._buffers = np.empty((self.n_extra + self.n_pair, *self.shape), dtype=self.dtype)
        self._last: tuple = (None, ())  # the views of the last shape asked for
        self._eps: tuple = (None, None, None)  # (eps object, 12 ε, 48 ε) of the last call

    def scaled_eps(self, eps: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``12 ε`` and ``48 ε`` (eV), remembered for the ``eps`` object of the last call.

        Hot loops call :func:`lj_coulomb_pair` with the same per-atom ``eps`` array many times;
        scaling it once saves two small allocations per call. Do not modify ``eps`` in place
        while a workspace uses it.

        Parameters
        ----------
        eps : array_like
            LJ well depths, eV.

        Returns
        -------
        eps12, eps48 : numpy.ndarray
            ``12 ε`` and ``4 · 12 ε``, the shape of ``eps``.
        """
        if self._eps[0] is not eps:
            eps12 = np.multiply(eps, 12.0)
            self._eps = (eps, eps12, np.multiply(eps12, 4.0))
        return self._eps[1], self._eps[2]

    def views(self, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """All buffers cut to ``shape`` (their leading rows).

        The ``extra`` ones first, then the pair function's (the first of those receives r²).

        Parameters
        ----------
        shape : tuple of int
            Pair-array shape of one call: the workspace shape, or fewer leading rows.

        Returns
        -------
        tuple of numpy.ndarray
            Contiguous arrays of ``shape``.

        Raises
        ------
        ValueError
            If ``shape`` does not fit the workspace.
        """
        shape = tuple(shape)
        if shape != self._last[0]:
            full = self.shape
            if shape == full:
                views = tuple(self._buffers)
            elif len(shape) == len(full) and shape[1:] == full[1:] and shape[0] <= full[0]:
                views = tuple(b[: shape[0]] for b in self._buffers)
            else:
                raise ValueError(f"pair arrays of shape {shape} do not fit a workspace of {full}")
            self._last = (shape, views)
        return self._last[1]

    def r2(self, shape: tuple[int, ...]) -> np.ndarray:
        """The buffer to write r² (Å²) into before calling :func:`lj_coulomb_pair`.

        The call reads r² from it and overwrites it with 1/r².

        Parameters
        ----------
        shape : tuple of int
            Pair-array shape of the coming call.

        Returns
        -------
        numpy.ndarray
            A view of ``shape``, uninitialised.
        """
        return self.views(shape)[self.n_extra]

    def extra_views(self, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """The caller's ``extra`` buffers cut to ``shape``.

        :func:`lj_coulomb_pair` never touches them.

        Parameters
        ----------
        shape : tuple of int
            Pair-array shape, as for :meth:`views`.

        Returns
        -------
        tuple of numpy.ndarray
            ``extra`` contiguous arrays of ``shape``.
        """
        return self.views(shape)[: self.n_extra]


def lj_coulomb_pair(
    r2: npt.ArrayLike,
    r2_m: npt.ArrayLike,
    eps: npt.ArrayLike,
    kqq: npt.ArrayLike,
    *,
    derivative: bool = False,
    energy: bool = False,
    out: np.ndarray | None = None,
    work: PairWorkspace | None = None,
) -> PairTerms:
    """Lennard-Jones + Coulomb interaction of probe–atom pairs, from their squared distances.

    The one NumPy home of the pair force; the force field (:func:`lj_coulomb_numpy`), the
    descriptors (:mod:`afmkit.targets.descriptors`) and the pair-potential curves
    (:mod:`afmkit.physics.pair_potentials`) call it, and ``kernels/forcefield.cl`` is its OpenCL
    twin. With ``u = (r_m / r)^6``::

        V       = ε (u² − 2u) + k_e q Q / r                               eV
        |F| / r = [12 ε (u² − u) + k_e q Q / r] / r²                      eV/Å²
        d(|F|/r) / d(r²) = [12 ε (4u − 7u²) − 1.5 k_e q Q / r] / r⁴      eV/Å⁴

    All arguments broadcast against each other (e.g. ``r2`` (M, N) and per-atom (N,)
    parameters). The distances are used as given: add a softening to ``r2`` where a probe can sit
    on a nucleus (:data:`R2_SOFTENING`).

    Parameters
    ----------
    r2 : array_like
        Squared probe–atom distances, Å² (> 0). With ``work``, it must have the full pair shape
        and may be ``work.r2(shape)`` (then it is overwritten).
    r2_m : array_like
        Squared position of the LJ minimum ``r_m²``, Å² (0 for no LJ term).
    eps : array_like
        LJ well depth ε, eV (``V(r_m) = −ε``; 0 for no LJ term).
    kqq : array_like
        Coulomb constant times both charges ``k_e q Q``, eV·Å (0 for no Coulomb term).
    derivative : bool, optional
        Also compute ``d(|F|/r) / d(r²)``.
    energy : bool, optional
        Also compute the energy ``V``.
    out : numpy.ndarray, optional
        Array of the broadcast shape to receive ``|F|/r``.
    work : PairWorkspace, optional
        Scratch buffers; without one, the temporaries are allocated. The derivative and energy
        (and ``|F|/r`` when ``out`` is None) are then views of its buffers, valid until the next
        call with the same workspace.

    Returns
    -------
    PairTerms
        ``(f_over_r, df_over_r_dr2, energy)``, each of the broadcast shape (None where not
        requested); the floating type of the inputs, or the workspace's.

    Raises
    ------
    ValueError
        If ``work`` lacks room for the requested terms or does not fit the pair shape.
    """
    if type(r2) is not np.ndarray or r2.dtype.kind != "f":
        r2 = np.asarray(r2)
        r2 = r2 if r2.dtype.kind == "f" else r2.astype(np.float64)
    if work is not None:  # r2 has the pair shape (written into work.r2(shape))
        need = 6 if energy else 5 if derivative else 3
        if work.n_pair < need:
            raise ValueError(
                "the PairWorkspace has no room for the derivative or energy: create it with "
                "derivative=True or energy=True"
            )
        # roles: s, u, then g (|F|/r only) or w, c, g, e; (r_m / r)² goes to g or w
        buffers = work.views(r2.shape)[work.n_extra :]
        s, u = buffers[0], buffers[1]
        g = buffers[2] if need == 3 else buffers[4]
        eps12, eps48 = work.scaled_eps(eps)
    else:
        shape = np.broadcast(r2, r2_m, eps, kqq).shape
        dtype = np.result_type(r2, r2_m, eps, kqq, 1.0)
        s, u, g = (np.empty(shape, dtype) for _ in range(3))
        buffers = None
        eps12 = np.multiply(eps, 12.0)
        eps48 = np.multiply(eps12, 4.0)
    if out is not None:
        g = out
    full = derivative or energy
    if full:
        w, c = (np.empty_like(s), np.empty_like(s)) if buffers is None else buffers[2:4]
    t = w if full else g
    np.reciprocal(r2, out=s)  # 1 / r²
    np.multiply(s, r2_m, out=t)  # (r_m / r)²
    np.multiply(t, t, out=u)
    u *= t  # u = (r_m / r)^6
    if not full:
        np.multiply(u, u, out=g)
        g -= u
        g *= eps12
        np.sqrt(s, out=u)
        u *= kqq  # k q Q / r
        g += u
        g *= s
        return PairTerms(g, None, None)
    np.sqrt(s, out=c)
    c *= kqq  # k q Q / r
    np.multiply(u, u, out=w)  # u²
    e = None
    if energy:
        e = np.empty_like(s) if buffers is None else buffers[5]
        np.subtract(w, u, out=e)
        e -= u
        e *= eps
        e += c
    np.subtract(w, u, out=g)
    g *= eps12
    g += c
    g *= s  # |F| / r
    if not derivative:
        return PairTerms(g, None, e)
    # 12 ε (4u − 7u²) computed as 48 ε (u − 1.75 u²): one pass less, the same float bits
    w *= 1.75
    u -= w
    u *= eps48
    c *= 1.5
    u -= c
    u *= s
    u *= s  # d(|F|/r) / d(r²)
    return PairTerms(g, u, e)


def lj_coulomb_numpy(
    points: np.ndarray, atoms: np.ndarray, lj: np.ndarray, chunk: int = 1 << 14
) -> np.ndarray:
    """Force and energy on a probe particle at ``points``, summed over all atoms (NumPy).

    The reference of the OpenCL kernel ``lj_coulomb_grid``: every pair through
    :func:`lj_coulomb_pair`, with :data:`R2_SOFTENING` added to r², in float64.

    Parameters
    ----------
    points : numpy.ndarray, shape (..., 3)
        Positions of the probe particle, Å.
    atoms : numpy.ndarray, shape (N, 4)
        x, y, z in Å and ``k_e q_i Q_PP`` in eV·Å, from :func:`atom_arrays`.
    lj : numpy.ndarray, shape (N, 2)
        ``r_ij²`` in Å² and ``eps_ij`` in eV, from :func:`atom_arrays`.
    chunk : int, optional
        Number of points evaluated at once (bounds memory to about ``10 × chunk × N`` doubles).

    Returns
    -------
    numpy.ndarray, float32, shape (..., 4)
        (Fx, Fy, Fz) on the probe particle in eV/Å and its energy E in eV.
    """
    flat = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pos = atoms[:, :3].astype(np.float64)
    kqq = atoms[:, 3].astype(np.float64)
    r2ij = lj[:, 0].astype(np.float64)
    eps = lj[:, 1].astype(np.float64)
    out = np.empty((len(flat), 4), dtype=np.float32)
    work = PairWorkspace((min(chunk, len(flat)), len(pos)), np.float64, energy=True)
    for start in range(0, len(flat), chunk):
        d = flat[start : start + chunk, None, :] - pos[None, :, :]  # (M, N, 3)
        r2 = work.r2(d.shape[:2])
        np.einsum("mnk,mnk->mn", d, d, out=r2)
        r2 += R2_SOFTENING
        pair = lj_coulomb_pair(r2, r2ij, eps, kqq, energy=True, work=work)
        out[start : start + chunk, :3] = np.einsum("mn,mnk->mk", pair.f_over_r, d)
        out[start : start + chunk, 3] = pair.energy.sum(axis=1)
    return out.reshape(np.shape(points)[:-1] + (4,))


def compute_forcefield_numpy(grid: Grid, atoms: np.ndarray, lj: np.ndarray) -> ForceField:
    """Tabulate the LJ + Coulomb force field on ``grid`` with NumPy (reference implementation).

    Parameters
    ----------
    grid : Grid
        The grid, Å.
    atoms, lj : numpy.ndarray, shapes (N, 4) and (N, 2)
        Per-atom arrays from :func:`atom_arrays`.

    Returns
    -------
    ForceField
        (Fx, Fy, Fz) in eV/Å and E in eV at every grid point.
    """
    return ForceField(grid, lj_coulomb_numpy(grid.points(), atoms, lj))

