"""The AFM simulator: force field → probe relaxation → Δf stack (Probe Particle Model).

Geometry conventions (see :class:`SimulationParams`):

* The scan window is centred on the molecule's xy centre (midpoint of its xy bounding box) unless a
  centre is given. Pixel (i, j) is the tip apex at ``x0 + i·Δx, y0 + j·Δy``; the window edges are
  pixel centres (``np.linspace`` inclusive, as ppafm).
* **Heights** are those of the probe particle's *rest* position (the apex minus the rest offset)
  above a reference: by default the highest nucleus. ``z_closest`` is the lower turning point of the
  oscillation in the closest slice. Slice k (0 = farthest) has its lower turning point at
  ``z_closest + (n_slices − 1 − k)·dz`` and its upper turning point ``2·amplitude`` higher.
* The output is float32 (nx, ny, n_slices) in Hz, slice 0 farthest from the sample.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from afmkit.physics import frequency
from afmkit.physics.forcefield import (
    EV_PER_A2_IN_N_PER_M,
    ForceField,
    Grid,
    atom_arrays,
    compute_forcefield_numpy,
    load_lj_table,
)
from afmkit.physics.relax import FireSettings, relax_numpy
from afmkit.structures.molecules import Molecule, checked_arrays

__all__ = [
    "AFMSimulator",
    "PROBES",
    "SimulationParams",
    "SimulationResult",
    "atoms_outside_window",
    "lowest_rest_height",
    "MAX_DF_SAMPLES",
    "MAX_DF_WEIGHT",
    "MAX_FORCEFIELD_POINTS",
    "MAX_PIXEL_SAMPLES",
    "scan_center",
    "window_center",
]

#: Largest Δf weight (Hz per eV/Å) accepted: a realistic cantilever gives ~1e2; far above,
#: float32 Δf stacks overflow.
MAX_DF_WEIGHT = 1e12
#: Largest number of F_z samples per pixel (2 · amplitude / dz + n_slices) a simulation accepts.
MAX_DF_SAMPLES = 10_000
#: Largest pixels × F_z samples (the relaxed-force array) a simulation accepts.
MAX_PIXEL_SAMPLES = 100_000_000
#: Largest force-field grid (points) a simulation accepts (≈ 8 GB of float4 at the limit).
MAX_FORCEFIELD_POINTS = 500_000_000

#: Probe particles: element whose LJ parameters the PP uses, and its default charge (e).
PROBES = {
    # CO tip: an O probe particle with a −0.1 e monopole, as in ASD-AFM (Alldritt et al. 2020).
    "CO": {"number": 8, "charge": -0.1},
    # Xe tip: a positively charged Xe probe particle (+0.3 e, the value of ppafm's Xe examples).
    "Xe": {"number": 54, "charge": 0.3},
}


@dataclass
class SimulationParams:
    """All parameters of one AFM simulation. Units: Å, Hz, N/m, e.

    Spring constants are N/m here; the simulator converts them to eV/Å² with :meth:`k_lat_ev`
    and :meth:`k_rad_ev` (the names say the unit wherever the value is converted).

    Parameters
    ----------
    scan_size : tuple of 2 floats
        Scan geometry: (width x, width y) of the scan window, Å. Default 16 × 16 (ASD-AFM).
    pixels : tuple of 2 ints
        (nx, ny) pixels. Default 128 × 128.
    n_slices : int
        Number of Δf slices (constant-height images). Default 20.
    dz : float
        Spacing of the slices and of the approach steps, Å. Default 0.1.
    z_closest : float
        Height of the probe particle's rest position at the lower turning point of the closest
        slice, above the reference, Å. Default 2.5 Å above the top nucleus: the closest slices
        reach the repulsive regime (bright atoms and bonds, as in the thesis).
    height_reference : str
        ``"nucleus"`` (heights above the highest nucleus) or ``"vdw"`` (z_closest is ignored;
        the closest lower turning point is ``vdw_offset`` above the vdW surface of the atom with
        the highest z + R_vdW; safer for large atoms like S, Cl, Br).
    vdw_offset : float
        See ``height_reference``, Å. Default 0.8.
    amplitude : float
        Cantilever (Giessibl's formula): zero-to-peak oscillation amplitude A, Å. Default 0.5 =
        ASD-AFM's and ppafm's "1 Å", which is peak-to-peak.
    f0 : float
        Resonance frequency, Hz. Default 30300.
    k_cantilever : float
        Cantilever spring constant, N/m. Default 1800.
    probe : str
        Probe particle: ``"CO"`` (O particle, −0.1 e) or ``"Xe"`` (+0.3 e).
    probe_charge : float or None
        Charge of the probe particle, e; None = the probe's default.
    k_lat : float
        Lateral spring constant, N/m. Default 0.25 (ppafm OpenCL default; its CPU code: 0.5).
    k_rad : float
        Radial spring constant, N/m. Default 30 (ppafm OpenCL default; its CPU code: 20).
    rest_length : float
        Distance of the PP from the tip apex at rest, Å. Default 3 (ppafm OpenCL; CPU code: 4).
    tilt : tuple of 2 floats
        (tx, ty) lateral offset of the PP's rest position from the apex, Å (|tilt| <
        rest_length). Default (0, 0); data generation draws it within a 1 Å circle.
    ff_step : float
        Numerics: force-field grid spacing, Å. Default 0.1.
    ff_margin : float
        Lateral margin of the force-field box beyond the scan window, Å. Default 2.
    lj_table : str or Path or None
        Path of a Lennard-Jones CSV table, or None for the shipped table (ppafm's).
    fire : FireSettings
        FIRE minimiser settings (time steps, damping, step limit, force tolerance in eV/Å),
        shared by the NumPy and OpenCL relaxations.

    Raises
    ------
    ValueError
        Naming the first invalid parameter.
    """

    scan_size: tuple[float, float] = (16.0, 16.0)
    pixels: tuple[int, int] = (128, 128)
    n_slices: int = 20
    dz: float = 0.1
    z_closest: float = 2.5
    height_reference: str = "nucleus"
    vdw_offset: float = 0.8
    amplitude: float = 0.5
    f0: float = 30300.0
    k_cantilever: float = 1800.0
    probe: str = "CO"
    probe_charge: float | None = None
    k_lat: float = 0.25
    k_rad: float = 30.0
    rest_length: float = 3.0
    tilt: tuple[float, float] = (0.0, 0.0)
    ff_step: float = 0.1
    ff_margin: float = 2.0
    lj_table: str | Path | None = None
    fire: FireSettings = field(default_factory=FireSettings)

    def __post_init__(self) -> None:
        self.scan_size = tuple(float(s) for s in self.scan_size)
        self.pixels = tuple(_whole_number("pixels", p) for p in self.pixels)
        self.n_slices = _whole_number("n_slices", self.n_slices)
        self.tilt = tuple(float(t) for t in self.tilt)
        self.validate()

    def validate(self) -> None:
        """Check every parameter (called on construction).

        Raises
        ------
        ValueError
            Naming the first invalid parameter.
        """

        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"invalid SimulationParams: {msg}")

        def finite(*names: str) -> None:
            for name in names:
                value = np.asarray(getattr(self, name), dtype=float)
                need(bool(np.all(np.isfinite(value))), f"{name} must be finite, got {value}")

        finite(
            "scan_size",
            "dz",
            "z_closest",
            "vdw_offset",
            "amplitude",
            "f0",
            "k_cantilever",
            "k_lat",
            "k_rad",
            "rest_length",
            "tilt",
            "ff_step",
            "ff_margin",
        )
        need(
            len(self.scan_size) == 2 and min(self.scan_size) > 0,
            f"scan_size must be two positive widths in Å, got {self.scan_size}",
        )
        need(
            len(self.pixels) == 2 and min(self.pixels) >= 2,
            f"pixels must be two integers >= 2, got {self.pixels}",
        )
        need(self.n_slices >= 1, f"n_slices must be >= 1, got {self.n_slices}")
        need(self.dz > 0, f"dz must be positive (Å), got {self.dz}")
        need(
            self.amplitude > 0,
            f"amplitude must be positive (Å, zero-to-peak), got {self.amplitude}",
        )
        need(self.f0 > 0, f"f0 must be positive (Hz), got {self.f0}")
        need(self.k_cantilever > 0, f"k_cantilever must be positive (N/m), got {self.k_cantilever}")
        need(self.k_lat >= 0, f"k_lat must be >= 0 (N/m), got {self.k_lat}")
        need(self.k_rad > 0, f"k_rad must be positive (N/m), got {self.k_rad}")
        need(self.rest_length > 0, f"rest_length must be positive (Å), got {self.rest_length}")
        need(
            len(self.tilt) == 2 and np.hypot(*self.tilt) < self.rest_length,
            f"tilt {self.tilt} Å must be two numbers shorter than rest_length",
        )
        need(self.probe in PROBES, f"probe must be one of {sorted(PROBES)}, got {self.probe!r}")
        need(
            self.probe_charge is None or np.isfinite(self.probe_charge),
            f"probe_charge must be finite, got {self.probe_charge}",
        )
        need(
            self.height_reference in ("nucleus", "vdw"),
            f"height_reference must be 'nucleus' or 'vdw', not {self.height_reference!r}",
        )
        need(0 < self.ff_step <= 0.5, f"ff_step must be in (0, 0.5] Å, got {self.ff_step}")
        need(self.ff_margin >= 0, f"ff_margin must be >= 0 (Å), got {self.ff_margin}")
        need(isinstance(self.fire, FireSettings), f"fire must be FireSettings, got {self.fire!r}")
        self.fire.validate()
        self._check_sizes(need)  # before df_weights(), which allocates 2 · amplitude / dz floats
        weights = np.abs(self.df_weights())
        need(
            bool(np.all(np.isfinite(weights))) and weights.max() <= MAX_DF_WEIGHT,
            f"f0 = {self.f0} Hz, k_cantilever = {self.k_cantilever} N/m and amplitude = "
            f"{self.amplitude} Å give Δf weights up to {weights.max():.1e} Hz per eV/Å "
            f"(at most {MAX_DF_WEIGHT:.0e}: the float32 Δf would overflow)",
        )
        load_lj_table(self.lj_table)  # a bad table path or file fails here, not mid-simulation

    def _check_sizes(self, need) -> None:
        """Refuse sizes that could only end in a MemoryError (or an OOM kill) when simulating."""
        need(
            self.df_samples <= MAX_DF_SAMPLES,
            f"amplitude {self.amplitude} Å at dz {self.dz} Å needs {self.df_samples} F_z samples "
            f"per pixel (at most {MAX_DF_SAMPLES})",
        )
        nx, ny = self.pixels
        need(
            nx * ny * self.df_samples <= MAX_PIXEL_SAMPLES,
            f"pixels {self.pixels} × {self.df_samples} F_z samples exceed {MAX_PIXEL_SAMPLES:.0e}",
        )
        side = (np.asarray(self.scan_size) + 2 * self.ff_margin + 2 * np.abs(self.tilt))
        depth = self.df_samples * self.dz + 1.6
        points = np.prod(side / self.ff_step + 1) * (depth / self.ff_step + 1)
        need(
            points <= MAX_FORCEFIELD_POINTS,
            f"ff_step {self.ff_step} Å over this window is a force-field grid of {points:.1e} "
            f"points (at most {MAX_FORCEFIELD_POINTS:.0e}): use a larger ff_step",
        )

    def replace(self, **changes) -> SimulationParams:
        """A copy with some fields changed.

        Parameters
        ----------
        **changes
            New field values.

        Returns
        -------
        SimulationParams
            The validated copy.

        Raises
        ------
        ValueError
            If a changed value is invalid.
        """
        return dataclasses.replace(self, **changes)

    # --- derived quantities -------------------------------------------------------------
    @property
    def probe_number(self) -> int:
        """Atomic number whose LJ parameters the probe particle uses."""
        return PROBES[self.probe]["number"]

    @property
    def charge(self) -> float:
        """Probe-particle charge in e (``probe_charge`` or the probe's default)."""
        return PROBES[self.probe]["charge"] if self.probe_charge is None else self.probe_charge

    @property
    def df_samples(self) -> int:
        """Number of approach steps (Fz samples) needed for ``n_slices`` Δf slices."""
        return self.n_slices + frequency.weight_count(self.amplitude, self.dz) - 1

    def df_weights(self) -> np.ndarray:
        """Weights of Giessibl's formula for these parameters.

        Returns
        -------
        numpy.ndarray, shape (m,)
            Hz per eV/Å (see :func:`afmkit.physics.frequency.df_weights`).
        """
        return frequency.df_weights(self.amplitude, self.dz, self.f0, self.k_cantilever)

    def rest_offset(self) -> np.ndarray:
        """Rest offset of the PP from the tip apex, and the rest length.

        Returns
        -------
        numpy.ndarray, shape (4,)
            (x, y, z, length), Å; z < 0 (the PP hangs below the apex).
        """
        tx, ty = self.tilt
        return np.array(
            [tx, ty, -np.sqrt(self.rest_length**2 - tx * tx - ty * ty), self.rest_length]
        )

    def slice_heights(self) -> np.ndarray:
        """Lower-turning-point height of each slice above the reference.

        With ``height_reference="vdw"`` the values are relative to the lowest one's absolute height
        ``R_vdW + vdw_offset`` above the top atom's nucleus.

        Returns
        -------
        numpy.ndarray, shape (n_slices,)
            Heights in Å, index 0 farthest from the sample.
        """
        z0 = self.z_closest if self.height_reference == "nucleus" else 0.0
        return z0 + self.dz * np.arange(self.n_slices - 1, -1, -1)

    def pixel_coordinates(self, center_xy=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
        """Tip-apex x and y coordinates of the pixel columns and rows.

        Parameters
        ----------
        center_xy : array_like, shape (2,)
            Scan-window centre, Å.

        Returns
        -------
        xs : numpy.ndarray, shape (nx,)
            x of each pixel column, Å (the window edges are pixel centres).
        ys : numpy.ndarray, shape (ny,)
            y of each pixel row, Å.
        """
        cx, cy = center_xy
        (wx, wy), (nx, ny) = self.scan_size, self.pixels
        return (
            np.linspace(cx - wx / 2, cx + wx / 2, nx),
            np.linspace(cy - wy / 2, cy + wy / 2, ny),
        )

    def extent(self, center_xy=(0.0, 0.0)) -> tuple[float, float, float, float]:
        """Corners of the scan window, for ``imshow(extent=...)``.

        Parameters
        ----------
        center_xy : array_like, shape (2,)
            Scan-window centre, Å.

        Returns
        -------
        tuple of 4 floats
            (x0, x1, y0, y1), Å.
        """
        xs, ys = self.pixel_coordinates(center_xy)
        return (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))

    def k_lat_ev(self) -> float:
        """Lateral spring constant converted from N/m.

        Returns
        -------
        float
            ``k_lat`` in eV/Å².
        """
        return self.k_lat / EV_PER_A2_IN_N_PER_M

    def k_rad_ev(self) -> float:
        """Radial spring constant converted from N/m.

        Returns
        -------
        float
            ``k_rad`` in eV/Å².
        """
        return self.k_rad / EV_PER_A2_IN_N_PER_M


def _whole_number(name: str, value) -> int:
    """``value`` as an int, or ValueError naming the parameter if it is not a whole number."""
    try:
        ok = float(value).is_integer()
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"invalid SimulationParams: {name} must be whole numbers, got {value!r}")
    return int(value)


def window_center(mol: Molecule, center_xy=None) -> np.ndarray:
    """The scan-window centre to use: ``center_xy`` checked, or :func:`scan_center` of ``mol``.

    Parameters
    ----------
    mol : Molecule
        The sample, already checked (:func:`~afmkit.structures.molecules.checked_arrays`).
    center_xy : array_like, shape (2,), optional
        Requested centre, Å.

    Returns
    -------
    numpy.ndarray, float64, shape (2,)
        (x, y), Å.

    Raises
    ------
    ValueError
        For a ``center_xy`` that is not two finite numbers.
    """
    if center_xy is None:
        return scan_center(mol)
    try:
        center = np.asarray(center_xy, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"center_xy must be two finite numbers (Å), got {center_xy!r}") from err
    if center.shape != (2,) or not np.all(np.isfinite(center)):
        raise ValueError(f"center_xy must be two finite numbers (Å), got {center_xy!r}")
    return center


def scan_center(mol: Molecule) -> np.ndarray:
    """Default scan-window centre: the midpoint of the molecule's xy bounding box.

    Parameters
    ----------
    mol : Molecule
        The sample.

    Returns
    -------
    numpy.ndarray, shape (2,)
        (x, y), Å.
    """
    xy = np.asarray(mol.positions)[:, :2]
    return (xy.min(axis=0) + xy.max(axis=0)) / 2


def lowest_rest_height(mol: Molecule, params: SimulationParams) -> float:
    """Absolute height of the PP rest position at the closest slice's lower turning point.

    Parameters
    ----------
    mol : Molecule
        The sample in scan orientation.
    params : SimulationParams
        ``height_reference``, ``z_closest`` and ``vdw_offset`` are used.

    Returns
    -------
    float
        z, Å (absolute).
    """
    z = np.asarray(mol.positions)[:, 2]
    if params.height_reference == "nucleus":
        return float(z.max() + params.z_closest)
    from afmkit.structures.elements import vdw_radius

    top = np.asarray(z + vdw_radius(mol.numbers))
    i = int(np.argmax(top))
    return float(top[i] + params.vdw_offset)


@dataclass
class SimulationResult:
    """Everything one simulation produced (from :meth:`AFMSimulator.run`).

    Attributes
    ----------
    df : numpy.ndarray, float32, shape (nx, ny, n_slices)
        Δf in Hz, slice 0 farthest.
    fz : numpy.ndarray, float32, shape (nx, ny, n_samples)
        Vertical force on the relaxed PP in eV/Å, approach order.
    tip_z : numpy.ndarray, shape (n_samples,)
        Apex heights of the approach steps, Å (absolute).
    positions : numpy.ndarray, float32, shape (nx, ny, n_samples, 3), or None
        Relaxed PP positions, Å.
    forcefield : ForceField
        The tabulated force field.
    center_xy : numpy.ndarray, shape (2,)
        Scan-window centre, Å.
    timings : dict
        Seconds per stage (``forcefield``, ``relax+df``, ``total``).
    """

    df: np.ndarray
    fz: np.ndarray
    tip_z: np.ndarray
    positions: np.ndarray | None
    forcefield: ForceField
    center_xy: np.ndarray
    timings: dict


class AFMSimulator:
    """Simulate constant-height AFM Δf stacks of molecules with the Probe Particle Model.

    Call ``sim(mol)`` → float32 (nx, ny, n_slices) Δf in Hz, slice 0 farthest from the sample.

    Parameters
    ----------
    params : SimulationParams, optional
        Defaults: 16 × 16 Å, 128 × 128 px, 20 slices, CO tip.
    backend : str
        ``"auto"`` (OpenCL if available, else NumPy with one warning per process), ``"opencl"``
        (error if unavailable) or ``"numpy"`` (the vectorised reference).

    Raises
    ------
    ValueError
        If ``backend`` is unknown.
    OpenCLUnavailableError
        With ``backend="opencl"`` when no OpenCL device can be used.
    """

    def __init__(self, params: SimulationParams | None = None, backend: str = "auto") -> None:
        self.params = params if params is not None else SimulationParams()
        if backend not in ("auto", "opencl", "numpy"):
            raise ValueError(f"backend must be 'auto', 'opencl' or 'numpy', got {backend!r}")
        self._ctx = None
        if backend in ("auto", "opencl"):
            from afmkit.physics import opencl

            try:
                self._ctx = opencl.get_context()
            except opencl.OpenCLUnavailableError as err:
                if backend == "opencl":
                    raise
                _warn_fallback(str(err))
        self.backend = "opencl" if self._ctx is not None else "numpy"
        self.last_center_xy: np.ndarray | None = None
        self._ff_cache: tuple | None = None

    @property
    def device_name(self) -> str:
        """The OpenCL device in use, or ``'NumPy (CPU)'``."""
        return self._ctx.device_name if self._ctx is not None else "NumPy (CPU)"

    def __call__(self, mol: Molecule, center_xy=None) -> np.ndarray:
        """Δf stack of ``mol``; see :meth:`run`.

        Parameters
        ----------
        mol : Molecule
            The sample in scan orientation.
        center_xy : array_like, shape (2,), optional
            Scan-window centre, Å; default :func:`scan_center`.

        Returns
        -------
        numpy.ndarray, float32, shape (nx, ny, n_slices)
            Δf in Hz, slice 0 farthest.
        """
        return self.run(mol, center_xy=center_xy).df

    # ------------------------------------------------------------------------------------
    def forcefield_grid(self, mol: Molecule, center_xy=None) -> Grid:
        """The force-field box: the volume the PP can visit for this molecule and window.

        Parameters
        ----------
        mol : Molecule
            The sample in scan orientation.
        center_xy : array_like, shape (2,), optional
            Scan-window centre, Å; default :func:`scan_center`.

        Returns
        -------
        Grid
            Spacing ``params.ff_step`` Å.
        """
        p = self.params
        center = window_center(mol, center_xy)
        half = np.asarray(p.scan_size) / 2 + p.ff_margin + np.abs(p.tilt)
        z_low = lowest_rest_height(mol, p)
        z_high = z_low + (p.df_samples - 1) * p.dz
        lower = np.array([*(center - half), z_low - 1.0])
        upper = np.array([*(center + half), z_high + 0.6])
        return Grid.covering(lower, upper, p.ff_step)

    def compute_forcefield(self, mol: Molecule, center_xy=None):
        """Tabulate the force field for ``mol`` (cached for the last molecule and parameters).

        Parameters
        ----------
        mol : Molecule
            The sample in scan orientation.
        center_xy : array_like, shape (2,), optional
            Scan-window centre, Å; default :func:`scan_center`.

        Returns
        -------
        forcefield : ForceField
            The tabulated field (eV/Å, eV).
        buffer : pyopencl.Buffer or None
            The same data on the OpenCL device, or None with the NumPy backend.

        Raises
        ------
        ValueError
            If the molecule is invalid or an element has no LJ parameters.
        """
        p = self.params
        checked_arrays(mol, "simulating")
        grid = self.forcefield_grid(mol, center_xy)
        sample = (np.asarray(mol.numbers), mol.positions, mol.charges)
        key = (*(a.tobytes() for a in sample), grid, p.probe_number, p.charge, p.lj_table)
        if self._ff_cache is not None and self._ff_cache[0] == key:
            return self._ff_cache[1], self._ff_cache[2]
        atoms, lj = atom_arrays(
            mol.positions,
            mol.numbers,
            mol.charges,
            p.probe_number,
            p.charge,
            load_lj_table(p.lj_table),
        )
        if self._ctx is not None:
            from afmkit.physics import opencl

            ff, buf = opencl.forcefield(self._ctx, grid, atoms, lj)
        else:
            ff, buf = compute_forcefield_numpy(grid, atoms, lj), None
        self._ff_cache = (key, ff, buf)
        return ff, buf

    def run(self, mol: Molecule, center_xy=None, store_positions: bool = False) -> SimulationResult:
        """Simulate ``mol`` and return all intermediate results.

        Parameters
        ----------
        mol : Molecule
            The sample in scan orientation.
        center_xy : array_like, shape (2,), optional
            Scan-window centre, Å; default :func:`scan_center`.
        store_positions : bool, optional
            Also keep the relaxed probe-particle positions.

        Returns
        -------
        SimulationResult
            Δf, F_z, heights, positions, force field, timings.

        Raises
        ------
        ValueError
            If the molecule is invalid or an element has no LJ parameters.
        """
        p = self.params
        t0 = time.perf_counter()
        checked_arrays(mol, "simulating")
        center = window_center(mol, center_xy)
        _warn_if_too_wide(mol, p, center)
        ff, buf = self.compute_forcefield(mol, center)
        t1 = time.perf_counter()
        xs, ys = p.pixel_coordinates(center)
        rest = p.rest_offset()
        n_samples = p.df_samples
        z_top = lowest_rest_height(mol, p) + (n_samples - 1) * p.dz - rest[2]
        weights = p.df_weights()
        nx, ny = len(xs), len(ys)
        if self._ctx is not None:
            from afmkit.physics import opencl

            fz, pos, df = opencl.relax(
                self._ctx,
                ff,
                buf,
                xs,
                ys,
                z_top,
                p.dz,
                n_samples,
                rest,
                p.k_lat_ev(),
                p.k_rad_ev(),
                p.fire,
                store_positions=store_positions,
                df_weights=weights,
            )
            pos = None if pos is None else pos[..., :3]
        else:
            tips = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2)
            fz, pos = relax_numpy(
                ff, tips, z_top, p.dz, n_samples, rest, p.k_lat_ev(), p.k_rad_ev(), p.fire
            )
            df = frequency.fz_to_df(fz, p.dz, p.amplitude, p.f0, p.k_cantilever)
            pos = pos if store_positions else None
        t2 = time.perf_counter()
        self.last_center_xy = center
        return SimulationResult(
            df=df.reshape(nx, ny, -1),
            fz=fz.reshape(nx, ny, n_samples),
            tip_z=z_top - p.dz * np.arange(n_samples),
            positions=None if pos is None else pos.reshape(nx, ny, n_samples, 3),
            forcefield=ff,
            center_xy=center,
            timings={"forcefield": t1 - t0, "relax+df": t2 - t1, "total": t2 - t0},
        )


def atoms_outside_window(
    mol: Molecule, params: SimulationParams, center: npt.ArrayLike
) -> np.ndarray:
    """Which atoms lie outside the scan window (by their x, y).

    Parameters
    ----------
    mol : Molecule
        The sample in scan orientation (positions in Å).
    params : SimulationParams
        ``scan_size`` (Å) is used.
    center : array_like, shape (2,)
        Window centre (x, y), Å.

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
        True for an atom outside the image. Its forces still count (the force field sums over
        every atom); a window where all are True shows no atom (``afmkit simulate`` refuses it).
    """
    xy = np.asarray(mol.positions)[:, :2]
    half = np.asarray(params.scan_size) / 2
    return np.any(np.abs(xy - np.asarray(center, dtype=float)) > half, axis=1)


def _warn_if_too_wide(mol, params: SimulationParams, center: np.ndarray) -> None:
    outside = atoms_outside_window(mol, params, center)
    xy = np.asarray(mol.positions)[:, :2]
    half = np.asarray(params.scan_size) / 2
    if outside.any():
        span = xy.max(axis=0) - xy.min(axis=0)
        warnings.warn(
            f"{getattr(mol, 'name', '') or 'molecule'} spans {span[0]:.1f} × {span[1]:.1f} Å, "
            f"wider than the {half[0] * 2:.1f} × {half[1] * 2:.1f} Å scan window: "
            f"{int(outside.sum())} atoms lie outside the image. Their forces are still included "
            "(the force field sums over all atoms); enlarge scan_size to see them.",
            stacklevel=3,
        )


@functools.cache
def _warn_fallback(reason: str) -> None:
    """Warn that the NumPy backend replaces OpenCL, once per process.

    :func:`functools.cache` remembers the call, so a second simulator in the same process (same
    reason: OpenCL's availability does not change) stays silent; no module state is mutated.
    """
    warnings.warn(
        f"OpenCL is not available ({reason}); using the NumPy backend, which is much slower. "
        "Install pyopencl[pocl] for a CPU OpenCL device.",
        RuntimeWarning,
        stacklevel=3,
    )
