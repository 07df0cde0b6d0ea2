"""Matplotlib figure of the five image descriptors of a molecule, next to its Δf stack.

:func:`plot_descriptors` draws Atomic Disks, vdW Spheres, Height Map, Electrostatic Map and the
xyz grid (thesis Figs. 10 and 11) on the simulator's pixel grid, and, when a Δf stack is given,
three of its slices and the molecule's top view, so that one can check that the descriptors put
the atoms where the Δf features are. Built on :class:`matplotlib.figure.Figure` (no ``pyplot``),
like :mod:`afmkit.plotting.figures`. Lengths in Å, images drawn with ``origin="lower"`` (+y up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from afmkit.physics.simulator import SimulationParams, scan_center
from afmkit.plotting.figures import NotebookFigure, plot_df_stack, plot_molecule_topview
from afmkit.targets import descriptors as D

__all__ = ["plot_descriptors"]

_X_LABEL = "x (Å)"
_Y_LABEL = "y (Å)"


def _image_extent(
    params: SimulationParams, center: np.ndarray
) -> tuple[float, float, float, float]:
    """``imshow`` extent in Å: outer pixel edges (the window edges are pixel centres)."""
    xs, ys = params.pixel_coordinates(center)
    hx, hy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    return (xs[0] - hx, xs[-1] + hx, ys[0] - hy, ys[-1] + hy)


def _show(ax, fig: Figure, image: np.ndarray, extent, title: str, label: str, **kw) -> None:
    im = ax.imshow(image.T, origin="lower", extent=extent, interpolation="nearest", **kw)
    ax.set_title(title)
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel(_Y_LABEL)
    ax.set_aspect("equal")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cbar.set_label(label)


def _draw_xyz(
    ax, mol: Any, center: np.ndarray, extent, boxes: tuple[int, int], box_size: float
) -> None:
    classes, offsets = D.xyz_grid(mol, center_xy=center, boxes=boxes, box_size=box_size)
    atoms = D.decode_xyz(classes, offsets, center_xy=center, box_size=box_size)
    bx, by = boxes
    x0, y0 = center - np.array([bx, by]) * box_size / 2
    ax.vlines(x0 + box_size * np.arange(bx + 1), y0, y0 + by * box_size, colors="0.8", lw=0.5)
    ax.hlines(y0 + box_size * np.arange(by + 1), x0, x0 + bx * box_size, colors="0.8", lw=0.5)
    gx = x0 + box_size * (np.arange(bx) + 0.5)
    gy = y0 + box_size * (np.arange(by) + 0.5)
    cx, cy = np.meshgrid(gx, gy, indexing="ij")
    ax.plot(cx.ravel(), cy.ravel(), ".", color="0.75", ms=1.5)
    pos = np.asarray(mol.positions)
    ax.plot(pos[:, 0], pos[:, 1], "x", color="0.6", ms=3, label="all atoms")
    # circle size ∝ height: radius 0.15 Å at z_min (−0.7 Å) to 0.5 Å at the top nucleus
    frac = np.clip(1.0 + atoms[:, 2] / -D.XYZ_Z_MIN, 0.0, 1.0)
    circles = [
        Circle((x, y), 0.15 + 0.35 * f) for (x, y), f in zip(atoms[:, :2], frac, strict=True)
    ]
    ax.add_collection(
        PatchCollection(circles, facecolors="tab:blue", edgecolors="navy", alpha=0.7, lw=0.8)
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_title(f"xyz grid ({len(atoms)} atoms)")
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel(_Y_LABEL)


def plot_descriptors(
    mol: Any,
    df_stack: np.ndarray | None = None,
    params: SimulationParams | None = None,
    center_xy: Sequence[float] | None = None,
    *,
    slices: Sequence[int] | None = None,
    title: str | None = None,
) -> Figure:
    """Figure of the five descriptors of ``mol`` and, optionally, three slices of its Δf stack.

    Panels: Atomic Disks (Å above the cut-off level), vdW Spheres and Height Map (Å relative to
    the top nucleus), Electrostatic Map (V, diverging colour map centred at 0), and the xyz grid
    (1 Å boxes; circles at the decoded atom positions, larger = higher; crosses: all atoms).
    With ``df_stack`` a second row shows the farthest, a middle and the closest Δf slice (Hz) and
    the molecule's top view, on the same axes in Å.

    Parameters
    ----------
    mol : Molecule
        :class:`afmkit.Molecule` in scan orientation (positions Å, charges e).
    df_stack : numpy.ndarray, optional
        Δf stack (nx, ny, nz) in Hz from :class:`afmkit.AFMSimulator` with the same ``params``
        and ``center_xy``; slice 0 farthest from the sample.
    params : SimulationParams, optional
        Grid and probe (default ``SimulationParams()``).
    center_xy : sequence of float, optional
        Window centre in Å (default :func:`afmkit.physics.simulator.scan_center`, as the
        simulator).
    slices : sequence of int, optional
        The Δf slice indices to show (default: first, middle, last).
    title : str, optional
        Figure title (default: the molecule's name).

    Returns
    -------
    Figure
        A ``NotebookFigure``, shown inline by Jupyter.

    Raises
    ------
    ValueError
        If ``df_stack`` does not have the pixels of ``params``.
    """
    params = SimulationParams() if params is None else params
    center = scan_center(mol) if center_xy is None else np.asarray(center_xy, dtype=float)
    extent = _image_extent(params, center)
    disks = D.atomic_disks(mol, params, center)
    spheres = D.vdw_spheres(mol, params, center)
    height = D.height_map(mol, params, center)
    es = D.es_map(mol, params, center, height=height)

    nrow = 1 if df_stack is None else 2
    fig = NotebookFigure(figsize=(19.0, 3.7 * nrow + 0.4), layout="constrained")
    axes = fig.subplots(nrow, 5, squeeze=False)
    _show(axes[0, 0], fig, disks, extent, "Atomic Disks", "Å above cut-off", cmap="viridis")
    _show(axes[0, 1], fig, spheres, extent, "vdW Spheres", "Å (top nucleus = 0)")
    _show(axes[0, 2], fig, height, extent, "Height Map", "Å (top nucleus = 0)")
    vmax = float(np.max(np.abs(es))) or 1.0
    _show(axes[0, 3], fig, es, extent, "ES Map", "potential (V)", cmap="RdBu_r", vmin=-vmax,
          vmax=vmax)  # fmt: skip
    _draw_xyz(axes[0, 4], mol, center, extent, D.XYZ_BOXES, D.XYZ_BOX_SIZE)

    if df_stack is not None:
        stack = np.asarray(df_stack)
        if stack.ndim != 3 or stack.shape[:2] != tuple(params.pixels):
            raise ValueError(
                f"df_stack must have shape ({params.pixels[0]}, {params.pixels[1]}, nz), "
                f"got {stack.shape}"
            )
        nz = stack.shape[2]
        idx = [0, nz // 2, nz - 1] if slices is None else [int(k) for k in slices]
        for ax, k in zip(axes[1, :3], idx, strict=False):
            plot_df_stack(stack, params, slices=k, ax=ax, center_xy=center)
        for ax in axes[1, len(idx) : 3]:
            ax.remove()
        plot_molecule_topview(mol, axes[1, 3], extent=extent)
        axes[1, 4].remove()
    fig.suptitle(title if title is not None else getattr(mol, "name", "") or "descriptors")
    return fig
