"""Run ppafm, the field's reference Probe Particle code, with the parameters of a SimulationParams.

ppafm (PyPI ``ppafm``, MIT; installed by the ``test`` extra) is used only to cross-check afmkit:
same molecule, same parameters → images that agree. What has to be matched:

* **LJ table and mixing rule**: afmkit ships ppafm's per-element table; both mix
  ``r_ij = r_i + r_PP`` and ``eps_ij = sqrt(eps_i eps_PP)``; the probe particle is O for CO,
  Xe for Xe.
* **Tip charge**: ppafm's AFMulator defaults to a quadrupole-like set of point charges; afmkit's
  CO tip is a −0.1 e monopole (ASD-AFM), so ppafm gets ``Qs = [q, 0, 0, 0]``, ``QZs = 0``.
* **Springs and rest position**: ``tipStiffness = [k_lat, k_lat, 0, k_rad]`` N/m and
  ``tipR0 = [tilt_x, tilt_y, rest_length]`` (ppafm puts the PP at ``-sqrt(L² - tx² - ty²)`` below
  the apex, as afmkit does).
* **Heights**: ppafm's ``scan_window`` z values are tip-apex heights; its scan starts at ``z_max``
  and takes ``scan_dim[2]`` steps of ``(z_max - z_min) / scan_dim[2]``. afmkit's heights are PP rest
  positions, so ``z_max`` = afmkit's first apex height.
* **Amplitude**: ppafm's ``df_steps`` samples span ``(df_steps - 1) dz`` peak-to-peak and its
  weights treat them as ``-A…A``; afmkit's A = 0.5 Å at dz = 0.1 Å uses 11 samples, i.e.
  ``df_steps = 11`` (both: 1 Å peak-to-peak).
* **Grid**: both tabulate at 0.1 Å (``pixPerAngstrome = 10``) and interpolate trilinearly; no
  periodic images (``npbc = (0, 0, 0)``).
* **Pixels**: both put the window edges on pixel centres (``linspace`` inclusive).
"""

from __future__ import annotations

import numpy as np

from afmkit.physics.simulator import SimulationParams, lowest_rest_height, scan_center
from afmkit.structures.molecules import Molecule

__all__ = [
    "compare_stacks",
    "make_afmulator",
    "ppafm_simulate",
]


def make_afmulator(params: SimulationParams, mol: Molecule, center_xy=None):
    """A ppafm ``AFMulator`` set up to reproduce ``AFMSimulator(params)(mol)``.

    Parameters
    ----------
    params : SimulationParams
        The afmkit parameters to translate (shipped LJ table only).
    mol : Molecule
        The sample in scan orientation (for the heights and the window centre).
    center_xy : array_like, shape (2,), optional
        Scan-window centre, Å; default :func:`~afmkit.physics.simulator.scan_center`.

    Returns
    -------
    ppafm.ocl.AFMulator.AFMulator
        The configured simulator.

    Raises
    ------
    ImportError
        If ppafm is not installed (``pip install 'ppafm[opencl]'``).
    ValueError
        If ``params.lj_table`` is not None.
    """
    from ppafm.ocl import oclUtils
    from ppafm.ocl.AFMulator import AFMulator

    if params.lj_table is not None:
        raise ValueError("the ppafm bridge only supports the shipped LJ table (lj_table=None)")
    oclUtils.init_env(i_platform=0)
    center = scan_center(mol) if center_xy is None else np.asarray(center_xy, dtype=float)
    rest = params.rest_offset()
    n_samples = params.df_samples
    z_max = lowest_rest_height(mol, params) + (n_samples - 1) * params.dz - rest[2]
    z_min = z_max - n_samples * params.dz
    half = np.asarray(params.scan_size) / 2
    window = ((*(center - half), z_min), (*(center + half), z_max))
    return AFMulator(
        pixPerAngstrome=int(round(1.0 / params.ff_step)),
        scan_dim=(*params.pixels, n_samples),
        scan_window=window,
        iZPP=params.probe_number,
        QZs=[0.0, 0.0, 0.0, 0.0],
        Qs=[params.charge, 0.0, 0.0, 0.0],
        df_steps=n_samples - params.n_slices + 1,
        tipR0=[params.tilt[0], params.tilt[1], params.rest_length],
        tipStiffness=[params.k_lat, params.k_lat, 0.0, params.k_rad],
        npbc=(0, 0, 0),
        f0Cantilever=params.f0,
        kCantilever=params.k_cantilever,
    )


def ppafm_simulate(
    mol: Molecule, params: SimulationParams, center_xy=None, afmulator=None
) -> np.ndarray:
    """Δf stack of ``mol`` from ppafm.

    Parameters
    ----------
    mol : Molecule
        The sample in scan orientation.
    params : SimulationParams
        The afmkit parameters to reproduce.
    center_xy : array_like, shape (2,), optional
        Scan-window centre, Å; default :func:`~afmkit.physics.simulator.scan_center`.
    afmulator : ppafm AFMulator, optional
        One from :func:`make_afmulator`, to reuse.

    Returns
    -------
    numpy.ndarray, float32, shape (nx, ny, n_slices)
        Δf in Hz, slice 0 farthest.

    Raises
    ------
    ImportError
        If ppafm is not installed.
    """
    afm = afmulator or make_afmulator(params, mol, center_xy)
    xyz = np.asarray(mol.positions, dtype=np.float64)
    out = afm(xyz, np.asarray(mol.numbers, dtype=np.int32), np.asarray(mol.charges, np.float64))
    return np.asarray(out, dtype=np.float32)


def compare_stacks(a: np.ndarray, b: np.ndarray) -> dict:
    """Per-slice agreement of two stacks: Pearson r and relative RMS difference.

    Parameters
    ----------
    a : numpy.ndarray, shape (nx, ny, nz)
        The stack to judge (e.g. afmkit's Δf, Hz).
    b : numpy.ndarray, shape (nx, ny, nz)
        The reference (e.g. ppafm's Δf, Hz).

    Returns
    -------
    dict
        ``pearson`` (nz,) correlation per slice, and ``rel_rms`` (nz,)
        ``rms(a_k − b_k) / rms(b_k)``.
    """
    a = a.reshape(-1, a.shape[-1]).astype(np.float64)
    b = b.reshape(-1, b.shape[-1]).astype(np.float64)
    ac, bc = a - a.mean(axis=0), b - b.mean(axis=0)
    r = (ac * bc).sum(axis=0) / np.sqrt((ac**2).sum(axis=0) * (bc**2).sum(axis=0))
    rel = np.sqrt(((a - b) ** 2).mean(axis=0)) / np.sqrt((b**2).mean(axis=0))
    return {"pearson": r, "rel_rms": rel}
