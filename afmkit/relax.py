"""Probe-particle relaxation over a tabulated force field (NumPy reference of ``kernels/relax.cl``).

The probe particle (PP) hangs below the tip apex on two springs (Hapala et al., PRB 90, 085421;
thesis Fig. 9): lateral springs ``k_lat`` pull its (x, y) offset from the apex towards the rest
offset (the *tilt*), and a radial spring ``k_rad`` keeps its distance from the apex at the rest
length. The tip approaches the sample in steps of ``dz``; at every step the PP relaxes by FIRE
(Bitzek et al., PRL 97, 170201) starting from its previous position, and the vertical force of the
sample on the relaxed PP is recorded. Units: Å, eV, spring constants in eV/Å², forces in eV/Å.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from afmkit.forcefield import ForceField


@dataclass(frozen=True)
class FireSettings:
    """FIRE minimiser settings (defaults as ppafm's OpenCL relaxation).

    dt : maximal time step (model units, PP mass 1).
    alpha : initial velocity-mixing (damping) parameter.
    max_iter : maximal FIRE steps per tip height.
    force_tol : convergence threshold on |F|, eV/Å.
    """

    dt: float = 0.5
    alpha: float = 0.1
    max_iter: int = 128
    force_tol: float = 1e-4


def interpolate(ff: ForceField, pos: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of (Fx, Fy, Fz, E) at positions ``pos`` (P, 3) in Å → (P, 4).

    Positions outside the grid take the value at the nearest edge (as the OpenCL kernel does).
    """
    nx, ny, nz = ff.grid.shape
    g = (pos - np.asarray(ff.grid.origin)) / ff.grid.step
    g = np.clip(g, 0.0, np.array([nx, ny, nz]) - 1.001)
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


def spring_force(d: np.ndarray, rest: np.ndarray, k_lat: float, k_rad: float) -> np.ndarray:
    """Force of the tip springs on the PP for offsets ``d`` = PP − apex, shape (P, 3), Å.

    ``rest`` = (x, y, z, length): rest offset of the PP from the apex and rest length, Å.
    ``k_lat``, ``k_rad`` in eV/Å². Returns (P, 3) in eV/Å.
    """
    r = np.linalg.norm(d, axis=1, keepdims=True)
    f = d * (-k_rad * (r - rest[3]) / r)
    f[:, 0] -= k_lat * (d[:, 0] - rest[0])
    f[:, 1] -= k_lat * (d[:, 1] - rest[1])
    return f


def relax_numpy(
    ff: ForceField,
    tips_xy: np.ndarray,
    z_top: float,
    dz: float,
    n_samples: int,
    rest: np.ndarray,
    k_lat: float,
    k_rad: float,
    fire: FireSettings = FireSettings(),
) -> tuple[np.ndarray, np.ndarray]:
    """Approach the tip over every pixel and relax the PP at each height (vectorised over pixels).

    Parameters
    ----------
    ff : the tabulated sample force field.
    tips_xy : (P, 2) tip-apex positions, Å.
    z_top : apex height of the first (highest) sample, Å; later samples are ``dz`` lower each.
    n_samples : number of heights.
    rest : (4,) PP rest offset from the apex (x, y, z) and rest length, Å.
    k_lat, k_rad : spring constants, eV/Å².

    Returns
    -------
    fz : float32 (P, n_samples), vertical force of the sample on the relaxed PP, eV/Å.
    positions : float32 (P, n_samples, 3), relaxed PP positions, Å.
    """
    tips_xy = np.asarray(tips_xy, dtype=np.float32)
    rest = np.asarray(rest, dtype=np.float32)
    n_px = len(tips_xy)
    tip = np.empty((n_px, 3), dtype=np.float32)
    tip[:, :2] = tips_xy
    tip[:, 2] = z_top
    pos = tip + rest[:3]
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
            f = fe[active, :3] + spring_force(pos[active] - tip[active], rest, k_lat, k_rad)
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
            dta = np.where(up, np.minimum(dta * 1.1, fire.dt), np.maximum(dta * 0.5, 0.1 * fire.dt))
            al = np.where(up, al * 0.99, fire.alpha)
            va = va + f * dta
            pos[active] += va * dta
            v[active], dt[active], alpha[active] = va, dta, al
            fe[active] = interpolate(ff, pos[active])
        fz[:, s] = fe[:, 2]
        out_pos[:, s] = pos
        tip[:, 2] -= dz
        pos[:, 2] -= dz
    return fz, out_pos
