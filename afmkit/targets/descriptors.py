"""Image descriptors of a molecule: the learning targets of the thesis (§3.2, Figs. 10 and 11).

Every descriptor is computed for a molecule that is already rotated into scan orientation (the tip
looks down −z; the *top atom* is the one with the largest z) on the same pixel grid as the
simulator's Δf images, so that ``descriptor[ix, iy]`` and ``df[ix, iy, :]`` describe the same
tip position:

* ``params`` (:class:`~afmkit.physics.simulator.SimulationParams`, default
  ``SimulationParams()``) gives the window size ``scan_size`` (Å) and ``pixels`` (nx, ny):
  16 × 16 Å at 128 × 128 px;
* ``center_xy`` (Å) is the window centre, default :func:`~afmkit.physics.simulator.scan_center`
  (the midpoint of the molecule's xy bounding box), as in
  :class:`~afmkit.physics.simulator.AFMSimulator`;
* pixel ``(ix, iy)`` sits at ``params.pixel_coordinates(center_xy)`` → ``(xs[ix], ys[iy])``; the
  window edges are pixel centres (``np.linspace`` inclusive, as the simulator and ppafm).

Maps are float32 of shape (nx, ny), indexed ``[ix, iy]`` (x first), like the Δf stack
(nx, ny, nz). **Heights are in Å relative to the top nucleus** (``z − max_i z_i``): 0 is the
height of the highest nucleus, positive values lie above it (Height Map, vdW Spheres, xyz dz).
The exception is the Atomic Disks map, whose zero is its cut-off level (1 Å below the top
nucleus), so that empty pixels are 0; the ES Map is in volts.

Descriptors
-----------
:func:`height_map`
    Isosurface ``Fz = iso_force`` of the probe particle's z-force in the simulator's LJ + Coulomb
    force field, met coming down from above (thesis: "constant-force image with a rigid tip").
:func:`vdw_spheres`
    Height of the highest van der Waals sphere surface (spherical caps of radius R_vdW).
:func:`atomic_disks`
    Cones at the atoms' xy positions, radius ∝ covalent radius, peak value ∝ atom height.
:func:`es_map`
    Point-charge electrostatic potential (V) of the partial charges on the Height Map surface.
:func:`xyz_grid` / :func:`decode_xyz`
    16 × 16 boxes of 1 Å: one-hot [atom, background] classes and (dx, dy, dz) offsets of the
    highest atom in each box, and the way back to an atom list (threshold + NMS).

Cut-off floors: the Height Map and vdW Spheres keep heights only down to ``cutoff`` Å below the
map's own maximum; everything lower (and background without a surface) is set to the *floor value*
``max − cutoff`` rather than 0, so the map stays a height in Å relative to the top nucleus and is
continuous at the cut-off. The thesis's networks learn maps whose zero is the cut-off level
(ReLU outputs, thesis §3.3): pass ``reference="floor"`` (or subtract ``map.min()``) for those.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from afmkit.physics.forcefield import (
    COULOMB_CONST,
    R2_SOFTENING,
    PairWorkspace,
    atom_arrays,
    lj_coulomb_pair,
    load_lj_table,
)
from afmkit.physics.simulator import SimulationParams, window_center
from afmkit.structures import elements
from afmkit.structures.molecules import checked_arrays, molecule_label

__all__ = [
    "DEFAULT_ISO_FORCE",
    "DISK_CUTOFF",
    "DISK_WIDTH_FACTOR",
    "LENGTH_RANGE",
    "HEIGHT_CUTOFF",
    "NMS_RADIUS",
    "VDW_CUTOFF",
    "XYZ_BOXES",
    "XYZ_BOX_SIZE",
    "XYZ_Z_MIN",
    "atomic_disks",
    "decode_xyz",
    "es_map",
    "height_map",
    "vdw_spheres",
    "xyz_grid",
]

#: Height Map iso-value of the repulsive z-force on the probe particle, eV/Å. ppafm's
#: ``ml.AuxMap.HeightMap`` (the thesis group's code) uses 0.1; with the CO tip the surface then
#: lies 2.56 Å above a lone H nucleus, 3.03 Å above C, 2.91 Å above O and 3.41 Å above Br, within
#: 0.2 Å of the PP–atom vdW contact distance R_vdW(O) + R_vdW(atom) (Bondi; 0.1–0.2 Å inside it
#: for H–F): the onset of Pauli repulsion, near the heights the closest Δf slices probe.
DEFAULT_ISO_FORCE = 0.1
#: Height Map cut-off below the map's maximum, Å (thesis §3.2).
HEIGHT_CUTOFF = 2.0
#: vdW Spheres cut-off below the map's maximum, Å (thesis §3.2).
VDW_CUTOFF = 1.5
#: Atomic Disks: atoms more than this far below the top nucleus are left out, Å (thesis §3.2).
DISK_CUTOFF = 1.0
#: Atomic Disks cone radius in units of the covalent radius (ppafm's ``AtomicDisks``: 1, i.e. the
#: cone reaches zero at the covalent radius, 0.76 Å for carbon).
DISK_WIDTH_FACTOR = 1.0
#: xyz descriptor: number of boxes (x, y), box edge in Å, and depth cut-off below the top nucleus
#: in Å (thesis §3.2, Fig. 11).
XYZ_BOXES = (16, 16)
XYZ_BOX_SIZE = 1.0
XYZ_Z_MIN = -0.7
#: Non-maximum suppression radius for decoding xyz predictions, Å (thesis §4).
NMS_RADIUS = 0.5

Reference = Literal["top", "floor"]

# Height Map root finder: exponent p of the power transform F^(-1/p) that makes the repulsive
# force close to linear in z; largest downward step per iteration before the surface is
# bracketed (Å); margin added to the single-atom iso radius for the per-pixel upper bound (Å);
# how far below that bound the search starts (Å; start points found inside the surface are
# raised again); convergence tolerance (Å); iteration limit.
_POWER = 12.0
_MAX_STEP = 0.4
_BOUND_MARGIN = 0.6
_START_DROP = 0.5
_TOL = 1e-4
_MAX_ITER = 40


# ---------------------------------------------------------------------------------------------
# common input handling
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    """A molecule on a pixel grid, in coordinates relative to the window centre and top nucleus.

    ``x``, ``y`` of atoms and pixels are relative to ``center``; atom ``z`` is relative to
    ``z_top`` (so the top nucleus has z = 0).
    """

    name: str
    numbers: np.ndarray  # (N,) int
    charges: np.ndarray  # (N,) float64, e
    pos: np.ndarray  # (N, 3) float64, Å, relative
    center: np.ndarray  # (2,) float64, Å, absolute
    z_top: float  # Å, absolute
    px: np.ndarray  # (nx,) float64, Å, relative
    py: np.ndarray  # (ny,) float64, Å, relative
    params: SimulationParams


@functools.lru_cache(maxsize=1)
def _default_params() -> SimulationParams:
    """One shared ``SimulationParams()`` (never modified here; building one validates it)."""
    return SimulationParams()


def _check_params(params: SimulationParams | None) -> SimulationParams:
    params = _default_params() if params is None else params
    if not isinstance(params, SimulationParams):
        raise TypeError(f"params must be a SimulationParams, got {type(params).__name__}")
    size = np.asarray(params.scan_size, dtype=np.float64)
    pix = np.asarray(params.pixels)
    if size.shape != (2,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
        raise ValueError(f"scan_size must be two positive widths in Å, got {params.scan_size}")
    if pix.shape != (2,) or pix.dtype.kind not in "iu" or np.any(pix < 2):
        raise ValueError(f"pixels must be two integers >= 2, got {params.pixels}")
    return params


def _frame(mol: Any, params: SimulationParams | None, center_xy: npt.ArrayLike | None) -> _Frame:
    numbers, positions, charges = checked_arrays(mol, "computing descriptors")
    params = _check_params(params)
    center = window_center(mol, center_xy)
    xs, ys = params.pixel_coordinates((0.0, 0.0))
    _check_inside(mol, positions, center, xs[0], xs[-1], ys[0], ys[-1])
    z_top = float(positions[:, 2].max())
    pos = positions - np.array([center[0], center[1], z_top])
    return _Frame(molecule_label(mol), numbers, charges, pos, center, z_top, xs, ys, params)


def _check_inside(
    mol: Any, positions: np.ndarray, center: np.ndarray, x0: float, x1: float, y0: float, y1: float
) -> None:
    """ValueError unless at least one atom's xy lies inside the window (relative bounds, Å)."""
    rel = positions[:, :2] - center
    inside = (rel[:, 0] >= x0) & (rel[:, 0] <= x1) & (rel[:, 1] >= y0) & (rel[:, 1] <= y1)
    if not inside.any():
        lo = rel.min(axis=0) + center
        hi = rel.max(axis=0) + center
        raise ValueError(
            f"{molecule_label(mol)} lies outside the scan window: its atoms span x {lo[0]:.2f}..."
            f"{hi[0]:.2f} Å, y {lo[1]:.2f}...{hi[1]:.2f} Å, but the window is x "
            f"{center[0] + x0:.2f}...{center[0] + x1:.2f} Å, y {center[1] + y0:.2f}..."
            f"{center[1] + y1:.2f} Å (centre {center[0]:.2f}, {center[1]:.2f}); "
            "pass center_xy=None to centre the window on the molecule"
        )


def _lateral_d2(frame: _Frame, atom_idx: np.ndarray | None = None) -> np.ndarray:
    """Squared lateral pixel–atom distances, float32 (nx, ny, N'), Å²."""
    pos = frame.pos if atom_idx is None else frame.pos[atom_idx]
    dx2 = np.square(frame.px[:, None] - pos[:, 0]).astype(np.float32)
    dy2 = np.square(frame.py[:, None] - pos[:, 1]).astype(np.float32)
    return dx2[:, None, :] + dy2[None, :, :]


#: Range accepted for lengths (Å) and factors given to the descriptors: wide enough for any
#: molecule, narrow enough that float32 pixel arithmetic neither underflows nor overflows.
LENGTH_RANGE = (1e-3, 1e3)


def _check_cutoff(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {value!r}") from err
    low, high = LENGTH_RANGE
    if not np.isfinite(value) or not low <= value <= high:
        what = "a positive factor" if name == "width_factor" else "a positive length"
        unit = "" if name == "width_factor" else " Å"
        raise ValueError(f"{name} must be {what} from {low:g} to {high:g}{unit}, got {value}")
    return value


def _check_reference(reference: str) -> None:
    if reference not in ("top", "floor"):
        raise ValueError(f"reference must be 'top' or 'floor', got {reference!r}")


def _apply_floor(h: np.ndarray, cutoff: float, reference: Reference) -> np.ndarray:
    """Floor ``h`` (NaN = no surface) at ``max − cutoff``; optionally shift the floor to 0."""
    floor = np.nanmax(h) - cutoff
    out = np.where(np.isnan(h) | (h < floor), floor, h)
    if reference == "floor":
        out = out - floor
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Height Map
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pairs:
    """Per-atom force-field constants (float32, (N,)): z (relative), r_ij², ε_ij, k_e q_i Q."""

    z: np.ndarray
    r2ij: np.ndarray
    eps: np.ndarray
    kqq: np.ndarray


def _workspace(m: int, n: int) -> PairWorkspace:
    """Scratch arrays for :func:`_fz_dfz` over (m, n) pairs, float32.

    The pair function's buffers, with its derivative, and two extra for dz and dz².

    Allocating and freeing (M, N) temporaries on every iteration costs more than the arithmetic
    (large blocks are returned to the OS on free and page-fault again on the next allocation), so
    every pair-array operation writes into views of these buffers.
    """
    return PairWorkspace((m, n), np.float32, derivative=True, extra=2)


def _fz_dfz(
    z: np.ndarray, d2: np.ndarray, at: _Pairs, work: PairWorkspace | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Z-force on the PP and its z-derivative at heights ``z`` (M,), float32.

    ``d2`` (M, N) holds the squared lateral pixel–atom distances (softening included). Returns
    (Fz (M,) eV/Å, dFz/dz (M,) eV/Å²), from :func:`~afmkit.physics.forcefield.lj_coulomb_pair`:
    ``Fz = Σ g dz`` and ``dFz/dz = Σ g + 2 Σ (dg/dr²) dz²`` with ``g = |F|/r``.
    """
    shape = (len(z), d2.shape[1])
    work = _workspace(*shape) if work is None else work
    dz, dz2, r2 = work.views(shape)[:3]  # the two extra, then r² (read by lj_coulomb_pair)
    np.subtract(z[:, None], at.z, out=dz)
    np.multiply(dz, dz, out=dz2)
    np.add(d2, dz2, out=r2)
    pair = lj_coulomb_pair(r2, at.r2ij, at.eps, at.kqq, derivative=True, work=work)
    fz = np.einsum("mn,mn->m", pair.f_over_r, dz)
    dfz = pair.f_over_r.sum(axis=1)
    dfz += 2.0 * np.einsum("mn,mn->m", pair.df_over_r_dr2, dz2)
    return fz, dfz


def _fz_at(z: float, d2: np.ndarray, at: _Pairs, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Z-force on the PP (eV/Å, float32 (M,)) at one height ``z`` (Å, relative).

    Evaluated over the pixels ``rows`` (M,) of ``d2`` (P, N) (squared lateral distances,
    softening included); chunked, with reused scratch arrays.
    """
    m, n = len(rows), d2.shape[1]
    out = np.empty(m, dtype=np.float32)
    dz = np.float32(z) - at.z  # (N,)
    dz2 = dz * dz
    work = PairWorkspace((min(chunk, m), n), np.float32)
    for start in range(0, m, chunk):
        k = min(chunk, m - start)
        r2 = work.r2((k, n))
        np.take(d2, rows[start : start + k], axis=0, out=r2)
        r2 += dz2
        pair = lj_coulomb_pair(r2, at.r2ij, at.eps, at.kqq, work=work)
        out[start : start + k] = pair.f_over_r @ dz
    return out


def _single_atom_iso_radius(at: _Pairs, iso: float, r_max: float = 15.0) -> np.ndarray:
    """Largest distance (Å) at which one atom's radial force on the PP alone equals ``iso``."""
    r = np.arange(r_max, 0.3, -0.01)
    col = (slice(None), None)
    pair = lj_coulomb_pair(r * r, at.r2ij[col], at.eps[col], at.kqq[col])
    f = pair.f_over_r * r  # (N, R) radial force, eV/Å
    reached = f >= iso
    k = np.argmax(reached, axis=1)  # first (largest r) index where F_r >= iso
    k = np.maximum(k, 1)
    rows = np.arange(len(k))
    f0, f1 = f[rows, k - 1], f[rows, k]
    t = np.clip((iso - f0) / np.where(f1 != f0, f1 - f0, 1.0), 0.0, 1.0)
    out = r[k - 1] + t * (r[k] - r[k - 1])
    out[reached[:, 0]] = r_max
    return out


def _solve_surface(
    d2: np.ndarray, z0: np.ndarray, at: _Pairs, iso: float, z_stop: float
) -> np.ndarray:
    """Highest z with Fz(z) = iso below the start heights ``z0`` (M,), per pixel.

    Vectorised over pixels: start points inside the surface are first raised by 0.5 Å until
    they are above it; then Newton steps on ``F^(-1/p)`` (close to linear in z for a repulsive
    power-law force), at most :data:`_MAX_STEP` Å downwards while nothing is bracketed, and false
    position whenever a Newton step would leave the bracket; converged pixels leave the active
    set. Pixels whose surface lies below ``z_stop`` get NaN. ``d2`` (M, N) float32 is
    overwritten. Returns float64 (M,) heights relative to the top nucleus.
    """
    m = len(z0)
    result = np.full(m, np.nan)
    if m == 0:
        return result
    work = _workspace(m, d2.shape[1])
    idx = np.arange(m)
    z = z0.astype(np.float32)
    f, df = _fz_dfz(z, d2, at, work)
    # Make sure every start point is above the surface (collective repulsion of several atoms can
    # lift the surface above the single-atom estimate): raise by 0.5, 1, 2, ... Å.
    for k in range(10):
        inside = np.flatnonzero(f >= iso)
        if inside.size == 0:
            break
        z[inside] += 0.5 * 2**k
        f[inside], df[inside] = _fz_dfz(z[inside], d2[inside], at, work)
    hi = z.copy()  # lowest height known to be above the surface (F < iso) ...
    f_hi = f.copy()  # ... and F there
    lo = np.full(m, -np.inf, dtype=np.float32)  # highest height known to be inside (F >= iso)
    f_lo = np.zeros(m, dtype=np.float32)
    inv_p = 1.0 / _POWER
    alive = m
    for _ in range(_MAX_ITER):
        above = f < iso
        hi = np.where(above, z, hi)
        f_hi = np.where(above, f, f_hi)
        lo = np.where(above, lo, z)
        f_lo = np.where(above, f_lo, f)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.maximum(f, 1e-30) / iso
            step = _POWER * f * (1.0 - ratio**inv_p) / df
            # false position inside the bracket, kept 5 % of its width away from either end
            # (np.minimum/np.maximum: the same numbers as np.clip, without its Python overhead)
            t = np.minimum(np.maximum((f_lo - iso) / (f_lo - f_hi), 0.05), 0.95)
        good = (f > 0) & (df < 0) & np.isfinite(step)
        step = np.where(good, step, np.where(above, -_MAX_STEP, _MAX_STEP))
        step = np.minimum(np.maximum(step, -_MAX_STEP), _MAX_STEP)
        z_new = z + step
        bracketed = np.isfinite(lo)
        # above the stop level, look at the stop level itself before going below it
        z_new = np.where(~bracketed & (z > z_stop) & (z_new < z_stop), z_stop - _TOL, z_new)
        outside = bracketed & ((z_new <= lo) | (z_new >= hi))
        lo_finite = np.where(bracketed, lo, hi)
        z_new = np.where(outside, lo_finite + t * (hi - lo_finite), z_new)
        done = (np.abs(z_new - z) < _TOL) | (bracketed & (hi - lo < _TOL))
        lost = ~bracketed & (hi < z_stop)  # marched below z_stop: surface (if any) is lower
        found = done & ~lost
        result[idx[found]] = z_new[found]
        keep = ~(done | lost)
        if not keep.any():
            return result
        n_keep = int(keep.sum())
        if n_keep < alive:  # compact the pixel rows in place (rows only move forward)
            d2[:n_keep] = d2[:alive][keep]
            alive = n_keep
        idx, z, lo, hi = idx[keep], z_new[keep], lo[keep], hi[keep]
        f_lo, f_hi = f_lo[keep], f_hi[keep]
        f, df = _fz_dfz(z, d2[:alive], at, work)
    result[idx] = np.where(np.isfinite(lo), 0.5 * (lo + hi), np.nan)  # not converged: bracket
    return result


def height_map(
    mol: Any,
    params: SimulationParams | None = None,
    center_xy: npt.ArrayLike | None = None,
    *,
    iso_force: float = DEFAULT_ISO_FORCE,
    cutoff: float = HEIGHT_CUTOFF,
    reference: Reference = "top",
) -> np.ndarray:
    """Height Map: isosurface of the z-force on the probe particle (thesis §3.2, Fig. 10c).

    For every pixel, the height z(x, y) of the probe particle (PP) where the z-component of the
    sample's force on it first reaches ``iso_force`` when coming down from above: the image a
    rigid tip would record in constant-force mode. The force field is the simulator's (Lennard-
    Jones + Coulomb between the PP, element ``params.probe_number`` with charge
    ``params.charge``, and every atom; OPLS table ``params.lj_table``), evaluated exactly (not
    interpolated from a grid) at the PP position.

    Parameters
    ----------
    mol
        :class:`~afmkit.structures.molecules.Molecule` in scan orientation (tip above, looking
        down −z).
    params
        Grid (``scan_size`` Å, ``pixels``) and probe; default ``SimulationParams()`` (16 × 16 Å,
        128 × 128 px, CO tip: O particle with −0.1 e).
    center_xy
        Window centre (x, y) in Å; default :func:`~afmkit.physics.simulator.scan_center` (as the
        simulator).
    iso_force
        Iso-value of the repulsive z-force, eV/Å (> 0). Default 0.1, ppafm's ``HeightMap`` value:
        with the CO tip the surface sits 2.56 Å above a lone hydrogen and 3.03 Å above a lone
        carbon, within 0.2 Å of the PP–atom van der Waals contact distance (see
        :data:`DEFAULT_ISO_FORCE`). Larger values give a lower surface.
    cutoff
        Pixels whose surface is more than ``cutoff`` Å below the map's maximum, or that have no
        surface at all, are set to the floor value ``max − cutoff`` (thesis: 2 Å).
    reference
        ``"top"`` (default): heights in Å relative to the top nucleus (PP height − max_i z_i);
        ``"floor"``: shifted so that the floor is 0 (the thesis's network targets).

    Returns
    -------
    numpy.ndarray
        float32 (nx, ny): PP height of the isosurface in Å relative to the top nucleus (or to the
        floor), indexed ``[ix, iy]``.

    Raises
    ------
    ValueError
        No atoms, no atom inside the window, invalid grid, non-positive ``iso_force``/``cutoff``.

    Notes
    -----
    All pixels are solved at once, never looping over pixels or atoms: each starts just below
    an upper bound built from single-atom iso radii (raised where several atoms push the surface
    higher), then safeguarded Newton steps on ``Fz^(-1/12)`` (nearly linear in z for the r⁻¹³
    repulsion) converge to 1e-4 Å in 2–5 steps, false position keeping them inside the bracket.
    Pixels whose bound stays below the cut-off are not solved, unless Fz at the cut-off level
    already reaches the iso-value there (checked for every such pixel; this catches collective
    long-range forces, e.g. a charged molecule seen by a charged tip). Every atom contributes to
    every force evaluation. Agreement with a brute-force 0.005 Å march: ≈ 2e-5 Å. Speed: ≈ 10 ms
    for 30 atoms at 128 × 128 px on one CPU core.
    """
    frame = _frame(mol, params, center_xy)
    iso = float(iso_force)
    if not np.isfinite(iso) or iso <= 0:
        raise ValueError(f"iso_force must be a positive (repulsive) force in eV/Å, got {iso_force}")
    cutoff = _check_cutoff("cutoff", cutoff)
    _check_reference(reference)
    h = _height_relative(frame, iso, cutoff)
    return _apply_floor(h, cutoff, reference)


def _height_relative(frame: _Frame, iso: float, cutoff: float) -> np.ndarray:
    """Unfloored isosurface heights (nx, ny), float64, relative to the top nucleus.

    NaN = below the cut-off or no surface.
    """
    params = frame.params
    atoms, lj = atom_arrays(
        frame.pos,
        frame.numbers,
        frame.charges,
        params.probe_number,
        params.charge,
        load_lj_table(params.lj_table),
    )
    at = _Pairs(
        z=atoms[:, 2].copy(),
        r2ij=lj[:, 0].copy(),
        eps=lj[:, 1].copy(),
        kqq=atoms[:, 3].copy(),
    )
    nx, ny = len(frame.px), len(frame.py)
    d2 = _lateral_d2(frame).reshape(nx * ny, -1)  # (P, N) squared lateral distances, Å²
    d2 += np.float32(R2_SOFTENING)
    # Upper bound of each pixel's surface: the highest sphere of radius (single-atom iso radius
    # + margin) over it. Phase 1 solves an 8 × 8 patch below the top of the highest such sphere
    # to get a lower bound ``best`` of the map maximum; then only the atoms whose bounding sphere
    # reaches above ``best − cutoff`` shape the bound, and only pixels whose bound does are
    # solved (all atoms exert forces in every evaluation).
    r_bound = _single_atom_iso_radius(at, iso) + _BOUND_MARGIN
    tops = frame.pos[:, 2] + r_bound
    k = int(np.argmax(tops))
    ix0 = int(np.clip(np.searchsorted(frame.px, frame.pos[k, 0]) - 4, 0, max(nx - 8, 0)))
    iy0 = int(np.clip(np.searchsorted(frame.py, frame.pos[k, 1]) - 4, 0, max(ny - 8, 0)))
    patch = np.arange(ix0, min(ix0 + 8, nx))[:, None] * ny + np.arange(iy0, min(iy0 + 8, ny))
    patch = patch.ravel()

    def bound(rows: np.ndarray, r2: np.ndarray) -> np.ndarray:
        """Highest bounding-sphere top over pixels with squared distances ``rows`` (M, N).

        Atoms with ``r2 < 0`` are ignored; -inf where no sphere covers the pixel.
        """
        cap = np.subtract(r2, rows)
        with np.errstate(invalid="ignore"):
            np.sqrt(cap, out=cap)  # NaN outside the sphere
        cap += at.z
        top = np.fmax.reduce(cap, axis=1)
        return np.where(np.isnan(top), -np.inf, top)

    r2_bound = (r_bound**2).astype(np.float32)
    h = np.full(nx * ny, np.nan)
    z_patch = bound(d2[patch], r2_bound)
    ok = np.isfinite(z_patch)
    z_low = float(at.z.min()) - 20.0
    h[patch[ok]] = _solve_surface(d2[patch[ok]], z_patch[ok] - _START_DROP, at, iso, z_low)
    best = float(np.nanmax(h[patch])) if np.isfinite(h[patch]).any() else -np.inf
    level = best - cutoff
    z_up = bound(d2, np.where(tops >= level, r2_bound, np.float32(-1.0)))
    solved = z_up >= level
    solved[patch] = False
    todo = np.flatnonzero(solved)
    h[todo] = _solve_surface(d2[todo], z_up[todo] - _START_DROP, at, iso, level)
    # Check: a pixel left out above has no surface above the final cut-off level unless Fz there
    # already reaches the iso-value (possible when many atoms' long-range forces add up, e.g. the
    # Coulomb repulsion of a charged molecule); solve those from above the map's maximum.
    solved[patch] = True
    if not np.isfinite(h).any():
        raise ValueError(
            f"no point of the Fz = {iso} eV/Å isosurface found for {frame.name} in the window"
        )
    top = np.nanmax(h)
    level = top - cutoff
    rest = np.flatnonzero(~solved)
    if rest.size:
        rest = rest[_fz_at(level, d2, at, rest) >= iso]
        if rest.size:
            start = np.full(rest.size, top + 0.5)
            h[rest] = _solve_surface(d2[rest], start, at, iso, level)
    if not np.isfinite(h).any():
        raise ValueError(
            f"no point of the Fz = {iso} eV/Å isosurface found for {frame.name} in the window"
        )
    return h.reshape(nx, ny)


# ---------------------------------------------------------------------------------------------
# vdW Spheres
# ---------------------------------------------------------------------------------------------
def _radii_for(
    numbers: np.ndarray, default: np.ndarray, radii: Mapping[int | str, float] | None
) -> np.ndarray:
    out = np.asarray(default, dtype=np.float64).copy()
    if radii:
        for key, value in radii.items():
            z = elements.atomic_number(key)
            out[numbers == z] = _check_cutoff(f"radius for element {key!r}", value)
    return out


def vdw_spheres(
    mol: Any,
    params: SimulationParams | None = None,
    center_xy: npt.ArrayLike | None = None,
    *,
    cutoff: float = VDW_CUTOFF,
    radii: Mapping[int | str, float] | None = None,
    reference: Reference = "top",
) -> np.ndarray:
    """Van der Waals Spheres: height of the highest vdW sphere surface (thesis §3.2, Fig. 10b).

    Pixel value ``max_i (z_i + sqrt(R_i² − d_i²)) − z_top`` over the atoms whose sphere covers
    the pixel (``d_i``: lateral pixel–atom distance); a lone atom is a spherical cap peaking at
    ``+R_vdW`` above its nucleus.

    Parameters
    ----------
    mol, params, center_xy
        Molecule in scan orientation, grid, and window centre (Å); see :func:`height_map`.
    cutoff
        Pixels more than ``cutoff`` Å below the map's maximum, and background pixels that no
        sphere covers, take the floor value ``max − cutoff`` (thesis: 1.5 Å).
    radii
        Per-element radius overrides in Å, e.g. ``{"H": 1.1, 6: 1.7}``; other elements use
        :func:`afmkit.structures.elements.vdw_radius` (Bondi 1964).
    reference
        ``"top"`` (default): Å relative to the top nucleus; ``"floor"``: floor shifted to 0.

    Returns
    -------
    numpy.ndarray
        float32 (nx, ny), heights in Å relative to the top nucleus (or the floor).

    Raises
    ------
    ValueError
        No atoms, no atom inside the window, invalid grid, non-positive ``cutoff`` or radius, or
        no sphere covering any pixel.
    """
    frame = _frame(mol, params, center_xy)
    cutoff = _check_cutoff("cutoff", cutoff)
    _check_reference(reference)
    r = _radii_for(frame.numbers, elements.vdw_radius(frame.numbers), radii)
    tops = frame.pos[:, 2] + r
    # Lower bound of the map maximum: the top sphere's cap at the pixel nearest to its centre.
    # Atoms whose sphere top is below (that bound − cutoff) cannot reach above the floor.
    k = int(np.argmax(tops))
    ix = int(np.argmin(np.abs(frame.px - frame.pos[k, 0])))
    iy = int(np.argmin(np.abs(frame.py - frame.pos[k, 1])))
    dk2 = (frame.px[ix] - frame.pos[k, 0]) ** 2 + (frame.py[iy] - frame.pos[k, 1]) ** 2
    bound = frame.pos[k, 2] + np.sqrt(max(r[k] ** 2 - dk2, 0.0)) if dk2 < r[k] ** 2 else -np.inf
    sel = np.flatnonzero(tops >= bound - cutoff)
    cap = _lateral_d2(frame, sel)  # (nx, ny, N') Å², then R² − d², then the cap heights
    np.subtract((r[sel] ** 2).astype(np.float32), cap, out=cap)
    with np.errstate(invalid="ignore"):
        np.sqrt(cap, out=cap)  # NaN outside the sphere
    cap += frame.pos[sel, 2].astype(np.float32)
    h = np.fmax.reduce(cap, axis=2)  # NaN where no sphere covers the pixel
    if not np.isfinite(h).any():
        raise ValueError(f"no vdW sphere of {frame.name} covers any pixel of the window")
    return _apply_floor(h, cutoff, reference)


# ---------------------------------------------------------------------------------------------
# Atomic Disks
# ---------------------------------------------------------------------------------------------
def atomic_disks(
    mol: Any,
    params: SimulationParams | None = None,
    center_xy: npt.ArrayLike | None = None,
    *,
    cutoff: float = DISK_CUTOFF,
    width_factor: float = DISK_WIDTH_FACTOR,
    radii: Mapping[int | str, float] | None = None,
) -> np.ndarray:
    """Atomic Disks: cones at the atoms' xy positions (thesis §3.2, Fig. 10a).

    Atom i contributes ``(z_i − z_top + cutoff) · (1 − d_i / (width_factor · r_cov,i))`` within
    its cone radius ``width_factor · r_cov,i`` (``d_i``: lateral pixel–atom distance), i.e. a
    cone peaking at its xy position with the atom's height measured from the cut-off level: the
    top atom peaks at ``cutoff`` (1 Å), an atom ``cutoff`` Å below it at 0. Overlapping cones:
    the maximum. Atoms more than ``cutoff`` Å below the top nucleus are left out; background 0.

    Parameters
    ----------
    mol, params, center_xy
        Molecule in scan orientation, grid, and window centre (Å); see :func:`height_map`.
    cutoff
        Depth below the top nucleus (Å) at which atoms are left out; also the zero level of the
        map (thesis: 1 Å).
    width_factor
        Cone radius in units of the covalent radius (dimensionless). Default 1.0 as ppafm's
        ``AtomicDisks``: a carbon cone (r_cov 0.76 Å) is ≈ 12 px wide at 0.125 Å/px, so the
        disks of bonded atoms (1.1–1.5 Å apart) stay separate, as in the thesis's Fig. 10a.
    radii
        Per-element covalent-radius overrides in Å (default: Cordero et al. 2008 via
        :func:`afmkit.structures.elements.covalent_radius`).

    Returns
    -------
    numpy.ndarray
        float32 (nx, ny), Å above the cut-off level ``z_top − cutoff`` (≥ 0).

    Raises
    ------
    ValueError
        No atoms, no atom inside the window, invalid grid, non-positive ``cutoff``,
        ``width_factor`` or radius.
    """
    frame = _frame(mol, params, center_xy)
    cutoff = _check_cutoff("cutoff", cutoff)
    width_factor = _check_cutoff("width_factor", width_factor)
    sel = np.flatnonzero(frame.pos[:, 2] + cutoff > 0)  # the top atom is always kept
    r_cone = width_factor * _radii_for(
        frame.numbers[sel], elements.covalent_radius(frame.numbers[sel]), radii
    )
    peak = (frame.pos[sel, 2] + cutoff).astype(np.float32)
    cone = _lateral_d2(frame, sel)
    np.sqrt(cone, out=cone)  # lateral distance d, Å
    cone *= -peak / r_cone.astype(np.float32)
    cone += peak  # peak · (1 − d / r_cone)
    out = np.max(cone, axis=2)
    np.maximum(out, 0.0, out=out)
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Electrostatic Map
# ---------------------------------------------------------------------------------------------
def es_map(
    mol: Any,
    params: SimulationParams | None = None,
    center_xy: npt.ArrayLike | None = None,
    *,
    height: np.ndarray | None = None,
    iso_force: float = DEFAULT_ISO_FORCE,
    cutoff: float = HEIGHT_CUTOFF,
    floor_value: float | None = None,
) -> np.ndarray:
    """Electrostatic Map: point-charge potential on the Height Map surface (thesis Fig. 10d).

    ``V(p) = k_e Σ_i q_i / |p − r_i|`` in volts (``k_e`` = 14.3996 V·Å/e, as
    :data:`afmkit.physics.forcefield.COULOMB_CONST`) at ``p = (x, y, z_top + height[ix, iy])``,
    where ``height`` is :func:`height_map` of the molecule (relative to the top nucleus, floored).
    Floored background pixels are evaluated on the floor plane, so the map is continuous.

    Parameters
    ----------
    mol, params, center_xy
        Molecule in scan orientation (``charges`` in e), grid, and window centre (Å).
    height
        A precomputed ``height_map(mol, params, center_xy)`` (float (nx, ny), Å relative to the
        top nucleus), to avoid computing it twice; default: computed with ``iso_force`` and
        ``cutoff``.
    iso_force, cutoff
        Passed to :func:`height_map` when ``height`` is None (eV/Å, Å).
    floor_value
        If given, pixels where the height map sits at its floor get this value instead (ppafm's
        ``ESMap`` uses 0).

    Returns
    -------
    numpy.ndarray
        float32 (nx, ny), electrostatic potential in V.

    Raises
    ------
    ValueError
        As :func:`height_map`, or ``height`` of the wrong shape or not finite.
    """
    frame = _frame(mol, params, center_xy)
    nx, ny = len(frame.px), len(frame.py)
    if height is None:
        height = height_map(mol, params, center_xy, iso_force=iso_force, cutoff=cutoff)
    height = np.asarray(height, dtype=np.float64)
    if height.shape != (nx, ny):
        raise ValueError(f"height must have the grid's shape ({nx}, {ny}), got {height.shape}")
    if not np.all(np.isfinite(height)):
        raise ValueError("height contains NaN or infinite values")
    r2 = _lateral_d2(frame)
    dz = height.astype(np.float32)[:, :, None] - frame.pos[:, 2].astype(np.float32)
    np.multiply(dz, dz, out=dz)
    r2 += dz
    r2 += np.float32(R2_SOFTENING)
    np.sqrt(r2, out=r2)
    np.reciprocal(r2, out=r2)  # 1 / r
    v = r2 @ (COULOMB_CONST * frame.charges).astype(np.float32)
    if floor_value is not None:
        v = np.where(height <= height.min(), np.float32(floor_value), v)
    return v.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# xyz descriptor
# ---------------------------------------------------------------------------------------------
def _check_boxes(boxes: Sequence[int], box_size: float) -> tuple[int, int, float]:
    b = np.asarray(boxes)
    if b.shape != (2,) or b.dtype.kind not in "iu" or np.any(b < 1):
        raise ValueError(f"boxes must be two positive integers, got {boxes!r}")
    size = float(box_size)
    if not np.isfinite(size) or size <= 0:
        raise ValueError(f"box_size must be a positive number of Å, got {box_size!r}")
    return int(b[0]), int(b[1]), size


def xyz_grid(
    mol: Any,
    params: SimulationParams | None = None,
    center_xy: npt.ArrayLike | None = None,
    *,
    boxes: Sequence[int] = XYZ_BOXES,
    box_size: float = XYZ_BOX_SIZE,
    z_min: float = XYZ_Z_MIN,
) -> tuple[np.ndarray, np.ndarray]:
    """The xyz descriptor: atoms assigned to a grid of boxes (thesis §3.2, Fig. 11).

    ``boxes[0] × boxes[1]`` square boxes of ``box_size`` = s Å tile a window centred on
    ``center_xy``; box (i, j) has its centre at
    ``center + ((i − (bx − 1)/2)·s, (j − (by − 1)/2)·s)`` and covers
    ``[centre − s/2, centre + s/2)`` in x and y. Each atom with ``z − z_top ≥ z_min`` and xy
    inside the grid goes to the box containing it; when several atoms share a box, the highest
    (largest z) wins.

    Parameters
    ----------
    mol, center_xy
        Molecule in scan orientation and window centre (Å; default as the simulator).
    params
        Accepted for the same call signature as the other descriptors and for the default
        centre; the grid extent is ``boxes × box_size`` (default 16 × 1 Å = the default 16 Å
        scan window), not ``params.scan_size``.
    boxes
        Number of boxes along x and y. Default (16, 16).
    box_size
        Box edge, Å. Default 1.0.
    z_min
        Atoms more than ``−z_min`` Å below the top nucleus are dropped (Å; default −0.7).

    Returns
    -------
    classes : numpy.ndarray
        float32 (bx, by, 2): one-hot ``[atom, background]``.
    offsets : numpy.ndarray
        float32 (bx, by, 3): ``(dx, dy, dz)`` of the box's atom in Å; dx, dy from the box centre,
        dz = z_atom − z_top (the box centre has z 0). Zero for background boxes.

    Raises
    ------
    ValueError
        No atoms, invalid ``boxes``/``box_size``/``z_min``/centre, or no atom inside the grid.
    """
    numbers, positions, _ = checked_arrays(mol, "computing descriptors")
    if params is not None:
        _check_params(params)
    bx, by, s = _check_boxes(boxes, box_size)
    z_min = float(z_min)
    if not np.isfinite(z_min):
        raise ValueError(f"z_min must be finite (Å), got {z_min}")
    center = window_center(mol, center_xy)
    half = np.array([bx, by]) * s / 2
    rel = positions[:, :2] - center
    # half-open window [−half, half); atoms exactly on the upper edge fall outside
    inside_any = (rel >= -half) & (rel < half)
    if not inside_any.all(axis=1).any():
        _check_inside(mol, positions, center, -half[0], half[0], -half[1], half[1])
        raise ValueError(f"{molecule_label(mol)} has no atom inside the xyz grid window")
    dz = positions[:, 2] - positions[:, 2].max()
    keep = inside_any.all(axis=1) & (dz >= z_min)
    ij = np.floor((rel[keep] + half) / s).astype(np.int64)
    ij = np.minimum(ij, [bx - 1, by - 1])  # guard against rounding at the upper edge
    z_kept = dz[keep]
    box_centre = (ij + 0.5) * s - half
    off = np.c_[rel[keep] - box_centre, z_kept]
    # highest atom per box: order by z ascending so that the last write (the highest) wins
    order = np.argsort(z_kept, kind="stable")
    flat = ij[order, 0] * by + ij[order, 1]
    classes = np.zeros((bx * by, 2), dtype=np.float32)
    offsets = np.zeros((bx * by, 3), dtype=np.float32)
    classes[:, 1] = 1.0
    offsets[flat] = off[order]
    classes[flat, 0] = 1.0
    classes[flat, 1] = 0.0
    return classes.reshape(bx, by, 2), offsets.reshape(bx, by, 3)


def _nms(points: np.ndarray, radius: float) -> np.ndarray:
    """Greedy non-maximum suppression of ``points`` (M, 3) sorted by decreasing confidence.

    Returns the boolean mask of the kept ones (a point is dropped when it lies closer than
    ``radius`` Å to a kept, more confident point). Vectorised in rounds; each round decides at
    least one point.
    """
    m = len(points)
    if m == 0 or radius <= 0:
        return np.ones(m, dtype=bool)
    d2 = np.sum((points[:, None, :] - points[None, :, :]) ** 2, axis=-1)
    close_before = (d2 < radius * radius) & np.tri(m, m, -1, dtype=bool)  # [i, j]: j < i
    keep = np.zeros(m, dtype=bool)
    undecided = np.ones(m, dtype=bool)
    while undecided.any():
        ready = undecided & ~np.any(close_before & undecided[None, :], axis=1)
        keep[ready] = ~np.any(close_before[ready] & keep[None, :], axis=1)
        undecided[ready] = False
    return keep


def decode_xyz(
    classes: npt.ArrayLike,
    offsets: npt.ArrayLike,
    threshold: float = 0.5,
    nms_radius: float = NMS_RADIUS,
    center_xy: npt.ArrayLike = (0.0, 0.0),
    box_size: float = XYZ_BOX_SIZE,
) -> np.ndarray | list[np.ndarray]:
    """Atom list from an xyz descriptor or a prediction of it.

    Parameters
    ----------
    classes
        (bx, by, 2) ``[atom, background]`` scores (one-hot, probabilities or confidences), or
        (bx, by) / (bx, by, 1) atom confidences; batched: a leading batch axis.
    offsets
        (bx, by, 3) ``(dx, dy, dz)`` in Å (see :func:`xyz_grid`); batched: (B, bx, by, 3).
    threshold
        Boxes whose atom confidence exceeds this value give an atom.
    nms_radius
        Non-maximum suppression: an atom closer than this (Å, 3D distance) to a more confident
        kept atom is dropped (thesis: 0.5 Å). 0 disables it.
    center_xy
        Centre of the box grid in Å (the ``center_xy`` the descriptor was made with, e.g.
        ``scan_center(mol)``), so that x, y come out absolute.
    box_size
        Box edge, Å.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        float64 (M, 4): x, y (absolute, Å), z (Å relative to the top nucleus) and confidence,
        sorted by decreasing confidence; a list of such arrays for batched input.

    Raises
    ------
    ValueError
        If the shapes of ``classes`` and ``offsets`` do not match, or ``box_size``/``center_xy``
        is invalid.
    """
    cls = np.asarray(classes, dtype=np.float64)
    off = np.asarray(offsets, dtype=np.float64)
    if off.ndim not in (3, 4) or off.shape[-1] != 3:
        raise ValueError(f"offsets must be (bx, by, 3) or (B, bx, by, 3), got {off.shape}")
    batched = off.ndim == 4
    if not batched:
        cls, off = cls[None], off[None]
    if cls.ndim == 3:  # (B, bx, by) confidences
        cls = cls[..., None]
    if cls.ndim != 4 or cls.shape[:3] != off.shape[:3] or cls.shape[-1] not in (1, 2):
        raise ValueError(
            f"classes {np.shape(classes)} do not match offsets {np.shape(offsets)}: expected "
            "(..., bx, by, 2) class scores or (..., bx, by) atom confidences"
        )
    s = float(box_size)
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"box_size must be a positive number of Å, got {box_size!r}")
    c = np.asarray(center_xy, dtype=np.float64)
    if c.shape != (2,) or not np.all(np.isfinite(c)):
        raise ValueError(f"center_xy must be two finite numbers (Å), got {center_xy!r}")
    _, bx, by, _ = off.shape
    gx = c[0] + (np.arange(bx) - (bx - 1) / 2) * s
    gy = c[1] + (np.arange(by) - (by - 1) / 2) * s
    conf_all = cls[..., 0]
    out = []
    for conf, o in zip(conf_all, off, strict=True):
        i, j = np.nonzero(conf > threshold)
        p = np.c_[gx[i] + o[i, j, 0], gy[j] + o[i, j, 1], o[i, j, 2]]
        w = conf[i, j]
        order = np.argsort(-w, kind="stable")
        p, w = p[order], w[order]
        kept = _nms(p, float(nms_radius))
        out.append(np.c_[p[kept], w[kept]])
    return out if batched else out[0]
