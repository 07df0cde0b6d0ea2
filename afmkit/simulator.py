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
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from afmkit import frequency
from afmkit.forcefield import (
    EV_PER_A2_IN_N_PER_M,
    ForceField,
    Grid,
    atom_arrays,
    compute_forcefield_numpy,
    load_lj_table,
)
from afmkit.molecules import checked_arrays
from afmkit.relax import FireSettings, relax_numpy

# Probe particles: element whose LJ parameters the PP uses, and its default charge (e).
PROBES = {
    # CO tip: an O probe particle with a −0.1 e monopole, as in ASD-AFM (Alldritt et al. 2020).
    "CO": {"number": 8, "charge": -0.1},
    # Xe tip: a positively charged Xe probe particle (+0.3 e, the value of ppafm's Xe examples).
    "Xe": {"number": 54, "charge": 0.3},
}

_fallback_warned = False


@dataclass
class SimulationParams:
    """All parameters of one AFM simulation. Units: Å, Hz, N/m, e.

    Scan geometry
        scan_size : (width x, width y) of the scan window, Å. Default 16 × 16 (ASD-AFM).
        pixels : (nx, ny) pixels. Default 128 × 128.
        n_slices : number of Δf slices (constant-height images). Default 20.
        dz : spacing of the slices and of the approach steps, Å. Default 0.1.
        z_closest : height of the probe particle's rest position at the lower turning point of
            the closest slice, above the reference, Å. Default 2.5 Å above the top nucleus: the
            closest slices reach the repulsive regime (bright atoms and bonds, as in the thesis).
        height_reference : ``"nucleus"`` (heights above the highest nucleus) or ``"vdw"``
            (z_closest is ignored; the closest lower turning point is ``vdw_offset`` above the vdW
            surface of the atom with the highest z + R_vdW; safer for large atoms like S, Cl, Br).
        vdw_offset : see ``height_reference``, Å. Default 0.8.

    Cantilever (Giessibl's formula)
        amplitude : zero-to-peak oscillation amplitude A, Å. Default 0.5 = ASD-AFM's and ppafm's
            "1 Å" which is peak-to-peak.
        f0 : resonance frequency, Hz. Default 30300.
        k_cantilever : spring constant, N/m. Default 1800.

    Probe particle
        probe : ``"CO"`` (O particle, −0.1 e) or ``"Xe"`` (+0.3 e).
        probe_charge : charge of the probe particle, e; None = the probe's default.
        k_lat : lateral spring constant, N/m. Default 0.25 (ppafm OpenCL default; its CPU
            code: 0.5).
        k_rad : radial spring constant, N/m. Default 30 (ppafm OpenCL default; its CPU code: 20).
        rest_length : distance of the PP from the tip apex at rest, Å. Default 3 (ppafm OpenCL;
            CPU code: 4).
        tilt : (tx, ty) lateral offset of the PP's rest position from the apex, Å (|tilt| <
            rest_length). Default (0, 0); data generation draws it within a 1 Å circle.

    Numerics
        ff_step : force-field grid spacing, Å. Default 0.1.
        ff_margin : lateral margin of the force-field box beyond the scan window, Å. Default 2.
        lj_table : path of a Lennard-Jones CSV table, or None for the shipped OPLS/AMBER table.
        fire : FIRE minimiser settings (time step, damping, max steps, force tolerance eV/Å).
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
        self.pixels = tuple(int(p) for p in self.pixels)
        self.tilt = tuple(float(t) for t in self.tilt)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first invalid parameter."""

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
        need(
            self.fire.max_iter >= 1
            and self.fire.dt > 0
            and self.fire.force_tol > 0
            and 0 <= self.fire.alpha < 1,
            f"invalid FIRE settings {self.fire}",
        )
        load_lj_table(self.lj_table)  # a bad table path or file fails here, not mid-simulation

    def replace(self, **changes) -> SimulationParams:
        """A copy with some fields changed (validated)."""
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
        return self.n_slices + len(self.df_weights()) - 1

    def df_weights(self) -> np.ndarray:
        """Weights of Giessibl's formula for these parameters (see :mod:`afmkit.frequency`)."""
        return frequency.df_weights(self.amplitude, self.dz, self.f0, self.k_cantilever)

    def rest_offset(self) -> np.ndarray:
        """(x, y, z, length): rest offset of the PP from the tip apex and the rest length, Å."""
        tx, ty = self.tilt
        return np.array(
            [tx, ty, -np.sqrt(self.rest_length**2 - tx * tx - ty * ty), self.rest_length]
        )

    def slice_heights(self) -> np.ndarray:
        """Lower-turning-point height of each slice above the reference, Å (index 0 farthest).

        With ``height_reference="vdw"`` the values are relative to the lowest one's absolute height
        ``R_vdW + vdw_offset`` above the top atom's nucleus.
        """
        z0 = self.z_closest if self.height_reference == "nucleus" else 0.0
        return z0 + self.dz * np.arange(self.n_slices - 1, -1, -1)

    def pixel_coordinates(self, center_xy=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
        """Tip-apex x and y coordinates of the pixel columns and rows, Å: (nx,), (ny,)."""
        cx, cy = center_xy
        (wx, wy), (nx, ny) = self.scan_size, self.pixels
        return (
            np.linspace(cx - wx / 2, cx + wx / 2, nx),
            np.linspace(cy - wy / 2, cy + wy / 2, ny),
        )

    def extent(self, center_xy=(0.0, 0.0)) -> tuple[float, float, float, float]:
        """(x0, x1, y0, y1) of the scan window in Å, for ``imshow(extent=...)``."""
        xs, ys = self.pixel_coordinates(center_xy)
        return (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))

    def k_lat_ev(self) -> float:
        """Lateral spring in eV/Å²."""
        return self.k_lat / EV_PER_A2_IN_N_PER_M

    def k_rad_ev(self) -> float:
        """Radial spring in eV/Å²."""
        return self.k_rad / EV_PER_A2_IN_N_PER_M


def scan_center(mol) -> np.ndarray:
    """Default scan-window centre: the midpoint of the molecule's xy bounding box, Å, shape (2,)."""
    xy = np.asarray(mol.positions)[:, :2]
    return (xy.min(axis=0) + xy.max(axis=0)) / 2


def lowest_rest_height(mol, params: SimulationParams) -> float:
    """Absolute z (Å) of the PP rest position at the closest slice's lower turning point."""
    z = np.asarray(mol.positions)[:, 2]
    if params.height_reference == "nucleus":
        return float(z.max() + params.z_closest)
    from afmkit.elements import vdw_radius

    top = np.asarray(z + vdw_radius(mol.numbers))
    i = int(np.argmax(top))
    return float(top[i] + params.vdw_offset)


@dataclass
class SimulationResult:
    """Everything one simulation produced (from :meth:`AFMSimulator.run`).

    df : float32 (nx, ny, n_slices) Δf in Hz, slice 0 farthest.
    fz : float32 (nx, ny, n_samples) vertical force on the relaxed PP in eV/Å, approach order.
    tip_z : (n_samples,) apex heights of the approach steps, Å (absolute).
    positions : float32 (nx, ny, n_samples, 3) relaxed PP positions, Å, or None.
    forcefield : the tabulated :class:`ForceField`.
    center_xy : scan-window centre, Å. timings : seconds per stage.
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

    Parameters
    ----------
    params : SimulationParams or None (defaults: 16 × 16 Å, 128 × 128 px, 20 slices, CO tip).
    backend : ``"auto"`` (OpenCL if available, else NumPy with one warning), ``"opencl"`` (error
        if unavailable) or ``"numpy"`` (the vectorised reference).

    Call ``sim(mol)`` → float32 (nx, ny, n_slices) Δf in Hz, slice 0 farthest from the sample.
    """

    def __init__(self, params: SimulationParams | None = None, backend: str = "auto") -> None:
        self.params = params if params is not None else SimulationParams()
        if backend not in ("auto", "opencl", "numpy"):
            raise ValueError(f"backend must be 'auto', 'opencl' or 'numpy', got {backend!r}")
        self._ctx = None
        if backend in ("auto", "opencl"):
            from afmkit import opencl

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
        """The OpenCL device in use, or 'NumPy (CPU)'."""
        return self._ctx.device_name if self._ctx is not None else "NumPy (CPU)"

    def __call__(self, mol, center_xy=None) -> np.ndarray:
        """Δf stack of ``mol``: float32 (nx, ny, n_slices) in Hz, slice 0 farthest."""
        return self.run(mol, center_xy=center_xy).df

    # ------------------------------------------------------------------------------------
    def forcefield_grid(self, mol, center_xy=None) -> Grid:
        """The force-field box: the volume the PP can visit for this molecule and window."""
        p = self.params
        center = scan_center(mol) if center_xy is None else np.asarray(center_xy, dtype=float)
        half = np.asarray(p.scan_size) / 2 + p.ff_margin + np.abs(p.tilt)
        z_low = lowest_rest_height(mol, p)
        z_high = z_low + (p.df_samples - 1) * p.dz
        lower = np.array([*(center - half), z_low - 1.0])
        upper = np.array([*(center + half), z_high + 0.6])
        return Grid.covering(lower, upper, p.ff_step)

    def compute_forcefield(self, mol, center_xy=None):
        """Tabulate the force field for ``mol`` (cached for the last molecule and parameters)."""
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
            from afmkit import opencl

            ff, buf = opencl.forcefield(self._ctx, grid, atoms, lj)
        else:
            ff, buf = compute_forcefield_numpy(grid, atoms, lj), None
        self._ff_cache = (key, ff, buf)
        return ff, buf

    def run(self, mol, center_xy=None, store_positions: bool = False) -> SimulationResult:
        """Simulate ``mol`` and return all intermediate results (see :class:`SimulationResult`)."""
        p = self.params
        t0 = time.perf_counter()
        center = scan_center(mol) if center_xy is None else np.asarray(center_xy, dtype=float)
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
            from afmkit import opencl

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
                p.fire.dt,
                p.fire.alpha,
                p.fire.max_iter,
                p.fire.force_tol**2,
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


def _warn_if_too_wide(mol, params: SimulationParams, center: np.ndarray) -> None:
    xy = np.asarray(mol.positions)[:, :2]
    half = np.asarray(params.scan_size) / 2
    outside = np.any(np.abs(xy - center) > half, axis=1)
    if outside.any():
        span = xy.max(axis=0) - xy.min(axis=0)
        warnings.warn(
            f"{getattr(mol, 'name', '') or 'molecule'} spans {span[0]:.1f} × {span[1]:.1f} Å, "
            f"wider than the {half[0] * 2:.1f} × {half[1] * 2:.1f} Å scan window: "
            f"{int(outside.sum())} atoms lie outside the image. Their forces are still included "
            "(the force field sums over all atoms); enlarge scan_size to see them.",
            stacklevel=3,
        )


def _warn_fallback(reason: str) -> None:
    global _fallback_warned
    if not _fallback_warned:
        warnings.warn(
            f"OpenCL is not available ({reason}); using the NumPy backend, which is much slower. "
            "Install pyopencl[pocl] for a CPU OpenCL device.",
            RuntimeWarning,
            stacklevel=3,
        )
        _fallback_warned = True
