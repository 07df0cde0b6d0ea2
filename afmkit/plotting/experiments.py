"""Figures of a measurement: its slices, the drift between them, and what the models read in it.

* :func:`slices_figure`: a row of Δf slices of a stack (far → close), in Å.
* :func:`drift_figure`: the lateral drift of every slice against the closest one, Å.
* :func:`analysis_figure`: the closest Δf slice with the xyz model's atoms on it, then the DSH
  descriptors (and the ES map when the ES model ran) — what ``afmkit predict`` writes.

All return a :class:`~afmkit.plotting.figures.NotebookFigure` (shown inline by Jupyter, saved
with ``fig.savefig``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from afmkit.experiments.analysis import ExperimentAnalysis
from afmkit.plotting.figures import NotebookFigure

__all__ = ["analysis_figure", "drift_figure", "slices_figure"]

#: Title, unit and colour map of every map an analysis may hold.
_MAP_STYLE = {
    "atomic_disks": ("Atomic Disks", "", "viridis"),
    "vdw_spheres": ("vdW Spheres", "Å", "gray"),
    "height_map": ("Height Map", "Å", "gray"),
    "es_map": ("ES Map", "V", "RdBu_r"),
    "es_height_map": ("Height Map (ES model)", "Å", "gray"),
}


def _extent(shape: tuple[int, int], pixel_size: Sequence[float]) -> list[float]:
    """The imshow extent (x0, x1, y0, y1) in Å with the origin at the window's centre."""
    hx = pixel_size[0] * (shape[0] - 1) / 2
    hy = pixel_size[1] * (shape[1] - 1) / 2
    return [-hx, hx, -hy, hy]


def slices_figure(
    df: np.ndarray,
    pixel_size: float | Sequence[float],
    heights: np.ndarray | None = None,
    picks: Sequence[int] | None = None,
    title: str = "",
) -> NotebookFigure:
    """A row of Δf slices (far → close), each on its own grey scale.

    Parameters
    ----------
    df : numpy.ndarray
        (nx, ny, n_slices) Δf, Hz, slice 0 farthest.
    pixel_size : float or (float, float)
        Pixel pitch, Å.
    heights : numpy.ndarray, optional
        (n_slices,) height of each slice above the closest one, Å, for the titles.
    picks : sequence of int, optional
        Slices to show (default: up to 5 spread from far to close).
    title : str
        Figure title.

    Returns
    -------
    NotebookFigure
        The figure.
    """
    df = np.asarray(df, dtype=float)
    size = np.broadcast_to(np.asarray(pixel_size, dtype=float), (2,))
    n = df.shape[2]
    picks = list(picks) if picks is not None else sorted(set(np.linspace(0, n - 1, min(n, 5))
                                                             .round().astype(int)))  # fmt: skip
    fig = NotebookFigure(figsize=(2.4 * len(picks), 2.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(picks)))
    extent = _extent(df.shape[:2], size)
    for ax, k in zip(axes, picks, strict=True):
        ax.imshow(df[:, :, k].T, origin="lower", cmap="gray", extent=extent)
        label = f"slice {k}" + (f", +{heights[k]:.2f} Å" if heights is not None else "")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("x (Å)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("y (Å)", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def drift_figure(
    shifts: np.ndarray, heights: np.ndarray | None = None, title: str = "drift between slices"
) -> NotebookFigure:
    """The lateral drift of every slice, Å, against slice index (or height).

    Parameters
    ----------
    shifts : numpy.ndarray
        (n_slices, 2) x, y drift of each slice, Å (as estimated by the preparation).
    heights : numpy.ndarray, optional
        (n_slices,) slice heights above the closest slice, Å: the x axis when given.
    title : str
        Axes title.

    Returns
    -------
    NotebookFigure
        The figure.
    """
    shifts = np.asarray(shifts, dtype=float)
    x = np.asarray(heights, dtype=float) if heights is not None else np.arange(len(shifts))
    fig = NotebookFigure(figsize=(4.6, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, shifts[:, 0], "o-", label="x")
    ax.plot(x, shifts[:, 1], "s-", label="y")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("height above the closest slice (Å)" if heights is not None else "slice")
    ax.set_ylabel("drift (Å)")
    if heights is not None:
        ax.invert_xaxis()  # far → close, as measured
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def analysis_figure(
    analysis: ExperimentAnalysis, df_closest: np.ndarray | None = None, title: str = ""
) -> NotebookFigure:
    """The models' reading of a measurement in one row.

    The closest Δf slice (if given) with the xyz model's atoms (circles, colour = depth below
    the top atom), then every descriptor map of ``analysis``.

    Parameters
    ----------
    analysis : ExperimentAnalysis
        From :func:`afmkit.experiments.analysis.analyse_experiment`.
    df_closest : numpy.ndarray, optional
        (nx, ny) closest prepared Δf slice, Hz.
    title : str
        Figure title.

    Returns
    -------
    NotebookFigure
        The figure.
    """
    maps = [k for k in _MAP_STYLE if k in analysis.descriptors]
    n = len(maps) + (df_closest is not None or analysis.atoms is not None)
    fig = NotebookFigure(figsize=(2.8 * max(n, 1), 3.0), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(1, max(n, 1))))
    extent = list(analysis.extent)
    if df_closest is not None or analysis.atoms is not None:
        ax = axes.pop(0)
        if df_closest is not None:
            ax.imshow(np.asarray(df_closest).T, origin="lower", cmap="gray", extent=extent)
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        if analysis.atoms is not None and len(analysis.atoms):
            a = analysis.atoms
            points = ax.scatter(a[:, 0], a[:, 1], c=a[:, 2], cmap="plasma", vmin=-0.7, vmax=0.0,
                                s=40, edgecolors="white", linewidths=0.8)  # fmt: skip
            fig.colorbar(points, ax=ax, shrink=0.8, label="z below top atom (Å)")
        count = 0 if analysis.atoms is None else len(analysis.atoms)
        ax.set_title(f"closest Δf slice, {count} atoms (p > {analysis.threshold:g})", fontsize=9)
        ax.set_xlabel("x (Å)", fontsize=8)
        ax.set_ylabel("y (Å)", fontsize=8)
    for ax, key in zip(axes, maps, strict=True):
        name, unit, cmap = _MAP_STYLE[key]
        image = analysis.descriptors[key]
        kwargs = {}
        if key == "es_map":
            lim = float(np.abs(image).max()) or 1.0
            kwargs = {"vmin": -lim, "vmax": lim}
        im = ax.imshow(image.T, origin="lower", cmap=cmap, extent=extent, **kwargs)
        fig.colorbar(im, ax=ax, shrink=0.8, label=unit or None)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("x (Å)", fontsize=8)
    for ax in fig.axes:
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
