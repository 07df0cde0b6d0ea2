"""Probe-particle relaxation over a tabulated force field (NumPy reference of ``kernels/relax.cl``).

The probe particle (PP) hangs below the tip apex on two springs (Hapala et al., PRB 90, 085421;
thesis Fig. 9): lateral springs ``k_lat`` pull its (x, y) offset from the apex towards the rest
offset (the *tilt*), and a radial spring ``k_rad`` keeps its distance from the apex at the rest
length. The tip approaches the sample in steps of ``dz``; at every step the PP relaxes by FIRE
(Bitzek et al., PRL 97, 170201), and the vertical force of the sample on the relaxed PP is
recorded. Each height starts from a warm guess: the displacement PP − apex extrapolated linearly
from the two previous relaxed heights (the second height from the first one's displacement), which
halves the FIRE steps against restarting from the previous position.

Units: Å, eV, forces in eV/Å. Spring constants are N/m at the API
(:class:`afmkit.SimulationParams`) and eV/Å² here, named ``k_lat_ev`` and ``k_rad_ev``
(1 eV/Å² = 16.02 N/m). FIRE's constants live in :class:`FireSettings`, the one place both this
module and the OpenCL kernel (:func:`afmkit.physics.opencl.relax`) take them from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from afmkit.physics.forcefield import ForceField

__all__ = [
    "FireSettings",
    "GRID_CLAMP",
    "interpolate",
    "relax_numpy",
    "spring_force",
]

#: Interpolation clamps positions to [0, n − GRID_CLAMP] grid cells along each axis, so the far
#: corner of the trilinear stencil stays inside the grid (shared with ``kernels/relax.cl``).
GRID_CLAMP = 1.001


@dataclass(frozen=True)
class FireSettings:
    """FIRE minimiser settings (Bitzek et al. 2006; defaults as ppafm's OpenCL relaxation).

    Time is in the model's units (PP mass 1, forces in eV/Å, lengths in Å). At every step with
    ``v · F > 0`` the velocity is mixed towards the force by ``alpha``, the time step grows by
    ``f_inc`` (at most ``dt``) and ``alpha`` shrinks by ``f_alpha``; otherwise the velocity is
    zeroed, the time step shrinks by ``f_dec`` (at least ``dt_min``) and ``alpha`` is reset.

    Attributes
    ----------
    dt : float
        Largest (and initial) time step. Default 0.5.
    alpha : float
        Initial velocity-mixing (damping) parameter, in [0, 1). Default 0.1.
    max_iter : int
        Largest number of FIRE steps per tip height. Default 128.
    force_tol : float
        Convergence threshold on |F| (sample + springs), eV/Å. Default 1e-4 (|F|² < 1e-8).
    f_inc : float
        Time-step growth factor after a downhill step (> 1). Default 1.1.
    f_dec : float
        Time-step shrink factor after an uphill step, in (0, 1). Default 0.5.
    f_alpha : float
        ``alpha`` shrink factor after a downhill step, in (0, 1]. Default 0.99.
    dt_min_fraction : float
        Smallest time step as a fraction of ``dt``, in (0, 1]. Default 0.1.
    """

    dt: float = 0.5
    alpha: float = 0.1
    max_iter: int = 128
    force_tol: float = 1e-4
    f_inc: float = 1.1
    f_dec: float = 0.5
    f_alpha: float = 0.99
    dt_min_fraction: float = 0.1

    @property
    def dt_min(self) -> float:
        """Smallest time step, ``dt_min_fraction · dt``."""
        return self.dt_min_fraction * self.dt

    def validate(self) -> None:
        """Check every setting.

        Raises
        ------
        ValueError
            Naming the settings if one is out of range or not finite.
        """
        values = np.array(
            [self.dt, self.alpha, self.force_tol, self.f_inc, self.f_dec, self.f_alpha,
             self.dt_min_fraction],
            dtype=float,
        )  # fmt: skip
        ok = (
            np.all(np.isfinite(values))
            and int(self.max_iter) == self.max_iter
            and self.max_iter >= 1
            and self.dt > 0
            and self.force_tol > 0
            and 0 <= self.alpha < 1
            and self.f_inc >= 1
            and 0 < self.f_dec < 1
            and 0 < self.f_alpha <= 1
            and 0 < self.dt_min_fraction <= 1
        )
        if not ok:
            raise ValueError(f"invalid FIRE settings {self}")


def interpolate(ff: ForceField, pos: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of the tabulated force field.

    Positions outside the grid take the value at the nearest edge (as the OpenCL kernel does).

    Parameters
    ----------
    ff : ForceField
        The tabulated force field.
    pos : numpy.ndarray, shape (P, 3)
        Positions, Å.

    Returns
    -------
    numpy.ndarray, float32, shape (P, 4)
        (Fx, Fy, Fz) in eV/Å and E in eV at each position.
    """
    nx, ny, nz = ff.grid.shape
    g = (pos - np.asarray(ff.grid.origin)) / ff.grid.step
    g = np.clip(g, 0.0, np.array([nx, ny, nz]) - GRID_CLAMP)
    i = np.floor(g).astype(np.int64)
    t = (g - i).astype(np.float32)
    flat = ff.data.reshape(-1, 4)
    i0 = (i[:, 2] * ny + i[:, 1]) * nx + i[:, 0]
    sy, sz = nx, nx * ny
    tx, ty, tz = t[:, 0:1], t[:, 1:2], t[:, 2:3]

    def lerp(a, b, w):
        return a + (b - a) * w

    c00 = lerp(flat[i0], flat[i0 + 1], tx)
    c10 = lerp(flat[i0 + sy], flat[i0 + sy + 1], tx)
    c01 = lerp(flat[i0 + sz], flat[i0 + sz + 1], tx)
    c11 = lerp(flat[i0 + sz + sy], flat[i0 + sz + sy + 1], tx)
    return lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz)


def spring_force(d: np.ndarray, rest: np.ndarray, k_lat_ev: float, k_rad_ev: float) -> np.ndarray:
    """Force of the tip springs on the probe particle.

    Parameters
    ----------
    d : numpy.ndarray, shape (P, 3)
        Offsets PP − apex, Å.
    rest : numpy.ndarray, shape (4,)
        (x, y, z, length): rest offset of the PP from the apex and rest length, Å.
    k_lat_ev : float
        Lateral spring constant, eV/Å².
    k_rad_ev : float
        Radial spring constant, eV/Å².

    Returns
    -------
    numpy.ndarray, shape (P, 3)
        Spring force on the PP, eV/Å.
    """
    r = np.linalg.norm(d, axis=1, keepdims=True)
    f = d * (-k_rad_ev * (r - rest[3]) / r)
    f[:, 0] -= k_lat_ev * (d[:, 0] - rest[0])
    f[:, 1] -= k_lat_ev * (d[:, 1] - rest[1])
    return f


def relax_numpy(
    ff: ForceField,
    tips_xy: np.ndarray,
    z_top: float,
    dz: float,
    n_samples: int,
    rest: np.ndarray,
    k_lat_ev: float,
    k_rad_ev: float,
    fire: FireSettings | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approach the tip over every pixel and relax the PP at each height (vectorised over pixels).

    Parameters
    ----------
    ff : ForceField
        The tabulated sample force field.
    tips_xy : numpy.ndarray, shape (P, 2)
        Tip-apex positions, Å.
    z_top : float
        Apex height of the first (highest) sample, Å; later samples are ``dz`` lower each.
    dz : float
        Approach step, Å.
    n_samples : int
        Number of heights.
    rest : numpy.ndarray, shape (4,)
        PP rest offset from the apex (x, y, z) and rest length, Å.
    k_lat_ev, k_rad_ev : float
        Lateral and radial spring constants, eV/Å².
    fire : FireSettings, optional
        Minimiser settings; default ``FireSettings()``.

    Returns
    -------
    fz : numpy.ndarray, float32, shape (P, n_samples)
        Vertical force of the sample on the relaxed PP, eV/Å.
    positions : numpy.ndarray, float32, shape (P, n_samples, 3)
        Relaxed PP positions, Å.
    """
    fire = FireSettings() if fire is None else fire
    tips_xy = np.asarray(tips_xy, dtype=np.float32)
    rest = np.asarray(rest, dtype=np.float32)
    n_px = len(tips_xy)
    tip = np.empty((n_px, 3), dtype=np.float32)
    tip[:, :2] = tips_xy
    tip[:, 2] = z_top
    pos = tip + rest[:3]
    d_prev = pos - tip
    fz = np.empty((n_px, n_samples), dtype=np.float32)
    out_pos = np.empty((n_px, n_samples, 3), dtype=np.float32)
    f2_conv = fire.force_tol**2
    for s in range(n_samples):
        v = np.zeros_like(pos)
        dt = np.full((n_px, 1), fire.dt, dtype=np.float32)
        alpha = np.full((n_px, 1), fire.alpha, dtype=np.float32)
        fe = interpolate(ff, pos)
        active = np.arange(n_px)
        for _ in range(fire.max_iter):
            f = fe[active, :3] + spring_force(pos[active] - tip[active], rest, k_lat_ev, k_rad_ev)
            ff2 = np.einsum("pk,pk->p", f, f)
            moving = ff2 >= f2_conv
            if not moving.any():
                break
            active, f, ff2 = active[moving], f[moving], ff2[moving, None]
            va, dta, al = v[active], dt[active], alpha[active]
            vf = np.einsum("pk,pk->p", va, f)[:, None]
            up = vf > 0
            vv = np.einsum("pk,pk->p", va, va)[:, None]
            va = np.where(up, va * (1 - al) + f * (al * np.sqrt(vv / ff2)), 0.0)
            dta = np.where(
                up, np.minimum(dta * fire.f_inc, fire.dt), np.maximum(dta * fire.f_dec, fire.dt_min)
            )
            al = np.where(up, al * fire.f_alpha, fire.alpha)
            va = va + f * dta
            pos[active] += va * dta
            v[active], dt[active], alpha[active] = va, dta, al
            fe[active] = interpolate(ff, pos[active])
        fz[:, s] = fe[:, 2]
        out_pos[:, s] = pos
        # warm start: extrapolate the displacement PP − apex linearly from the last two heights
        d = pos - tip
        d_next = 2 * d - d_prev if s > 0 else d
        d_prev = d
        tip[:, 2] -= dz
        pos = tip + d_next
    return fz, out_pos
