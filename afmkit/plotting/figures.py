"""Matplotlib figures for AFM data: Δf stacks and molecule top views.

Every function here builds on :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so
it runs headless and leaks no global figures in batch jobs. New figures are
:class:`NotebookFigure` objects, which Jupyter shows as PNG when they are the last expression of a
cell (or with ``display(fig)``), whether or not ``pyplot`` was imported.

Conventions (see ``afmkit.physics.simulator``):

* a Δf stack is an array ``(nx, ny, nz)`` in Hz; index ``[i, j, k]`` is x-pixel ``i``,
  y-pixel ``j``, slice ``k``; slice 0 is the farthest from the sample, the last the closest;
* lengths are in Å; images are drawn with ``origin="lower"`` so that +y points up.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from afmkit.structures import elements

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "BOND_TOLERANCE",
    "CPK_COLORS",
    "NotebookFigure",
    "choose_slices",
    "cpk_color",
    "find_bonds",
    "plot_df_stack",
    "plot_molecule_topview",
    "plot_simulation",
]

#: CPK colours (Jmol palette) by atomic number; other elements are drawn in pink.
CPK_COLORS: dict[int, str] = {
    1: "#FFFFFF",  # H
    2: "#D9FFFF",  # He
    3: "#CC80FF",  # Li
    5: "#FFB5B5",  # B
    6: "#909090",  # C
    7: "#3050F8",  # N
    8: "#FF0D0D",  # O
    9: "#90E050",  # F
    10: "#B3E3F5",  # Ne
    11: "#AB5CF2",  # Na
    12: "#8AFF00",  # Mg
    13: "#BFA6A6",  # Al
    14: "#F0C8A0",  # Si
    15: "#FF8000",  # P
    16: "#FFFF30",  # S
    17: "#1FF01F",  # Cl
    18: "#80D1E3",  # Ar
    19: "#8F40D4",  # K
    20: "#3DFF00",  # Ca
    26: "#E06633",  # Fe
    29: "#C88033",  # Cu
    30: "#7D80B0",  # Zn
    35: "#A62929",  # Br
    47: "#C0C0C0",  # Ag
    53: "#940094",  # I
    54: "#429EB0",  # Xe
    79: "#FFD123",  # Au
}
_UNKNOWN_COLOR = "#FF1493"

#: Two atoms are bonded when closer than this factor times the sum of their covalent radii.
BOND_TOLERANCE = 1.15

_DF_LABEL = "Δf (Hz)"
_X_LABEL = "x (Å)"
_Y_LABEL = "y (Å)"


class NotebookFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that Jupyter displays as PNG without ``pyplot``.

    A plain ``Figure`` only gets an image representation once the inline backend is active
    (``%matplotlib inline`` or importing ``pyplot``); this one always has ``_repr_png_``.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def cpk_color(z: int) -> str:
    """The CPK (Jmol) colour of an element.

    Parameters
    ----------
    z : int
        Atomic number.

    Returns
    -------
    str
        Hex colour, e.g. ``"#909090"`` for carbon; pink for elements not in :data:`CPK_COLORS`.
    """
    return CPK_COLORS.get(int(z), _UNKNOWN_COLOR)


def _covalent_radii(numbers: np.ndarray) -> np.ndarray:
    """Covalent radii (Å) for an array of atomic numbers, shape ``(N,)``."""
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    return np.atleast_1d(np.asarray(elements.covalent_radius(z), dtype=float))


def find_bonds(
    numbers: np.ndarray, positions: np.ndarray, tolerance: float = BOND_TOLERANCE
) -> np.ndarray:
    """Bonds from geometry alone.

    Parameters
    ----------
    numbers : numpy.ndarray
        Atomic numbers, shape ``(N,)``.
    positions : numpy.ndarray
        Cartesian coordinates in Å, shape ``(N, 3)``.
    tolerance : float
        Atoms ``i < j`` are bonded when their distance is below
        ``tolerance * (r_cov[i] + r_cov[j])`` (covalent radii in Å).

    Returns
    -------
    numpy.ndarray
        Integer array ``(n_bonds, 2)`` of atom index pairs ``i < j``.
    """
    numbers = np.asarray(numbers)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    if len(pos) < 2:
        return np.zeros((0, 2), dtype=int)
    radii = _covalent_radii(numbers)
    dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    cutoff = tolerance * (radii[:, None] + radii[None, :])
    i, j = np.nonzero(np.triu(dist < cutoff, k=1))
    return np.stack([i, j], axis=1)


def choose_slices(n_slices: int, n_show: int = 10) -> list[int]:
    """Pick up to ``n_show`` evenly spaced slice indices that always include the closest one.

    With 20 slices and ``n_show=10`` this is every second slice, 1, 3, …, 19.

    Parameters
    ----------
    n_slices : int
        Number of slices in the stack (slice 0 farthest from the sample).
    n_show : int
        How many slices to show at most.

    Returns
    -------
    list of int
        Increasing slice indices.
    """
    if n_slices <= 0:
        return []
    if n_slices <= n_show:
        return list(range(n_slices))
    step = math.ceil(n_slices / n_show)
    return sorted(range(n_slices - 1, -1, -step))[-n_show:]


def _root_figure(fig: Figure | SubFigure) -> Figure:
    """The top-level :class:`Figure` that ``fig`` (a figure or sub-figure) belongs to."""
    root = fig.figure
    while isinstance(root, SubFigure):  # matplotlib versions differ in what .figure returns
        root = root.figure
    return root


def _slice_heights(params: Any, nz: int) -> np.ndarray | None:
    """Slice heights (Å) from ``params`` when they match the stack depth, else ``None``."""
    if params is None or not hasattr(params, "slice_heights"):
        return None
    heights = np.asarray(params.slice_heights(), dtype=float)
    return heights if heights.shape == (nz,) else None


def _extent(
    params: Any, center_xy: Sequence[float] | None, nx: int, ny: int
) -> tuple[tuple[float, float, float, float], bool]:
    """``imshow`` extent (outer pixel edges) in Å, or in pixels when ``params`` is ``None``.

    ``params.extent`` gives the coordinates of the first and last pixel *centres* (the scan
    window's edges are pixel centres, as in ppafm); the image reaches half a pixel further.
    Returns the extent and whether it is in Å.
    """
    if params is None or not hasattr(params, "extent"):
        return (-0.5, nx - 0.5, -0.5, ny - 0.5), False
    center = (0.0, 0.0) if center_xy is None else (float(center_xy[0]), float(center_xy[1]))
    x0, x1, y0, y1 = (float(v) for v in params.extent(center))
    hx = 0.5 * (x1 - x0) / (nx - 1) if nx > 1 else 0.0
    hy = 0.5 * (y1 - y0) / (ny - 1) if ny > 1 else 0.0
    return (x0 - hx, x1 + hx, y0 - hy, y1 + hy), True


def plot_df_stack(
    stack: np.ndarray,
    params: Any = None,
    slices: int | Sequence[int] | None = None,
    *,
    fig: Figure | SubFigure | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    center_xy: Sequence[float] | None = None,
    heights: Sequence[float] | None = None,
    cmap: str = "gray",
    shared_scale: bool = False,
    ncols: int = 5,
) -> Figure:
    """Draw slices of a frequency-shift stack as images, one panel per slice.

    Parameters
    ----------
    stack : numpy.ndarray
        Δf in Hz, shape ``(nx, ny, nz)``; ``[i, j, k]`` = x-pixel ``i``, y-pixel ``j``, slice
        ``k`` (slice 0 farthest from the sample, the last one closest). A 2-D image is one
        slice.
    params : SimulationParams, optional
        The :class:`afmkit.SimulationParams` the stack was made with; gives the image extent in
        Å (``params.extent``) and the slice heights in Å (``params.slice_heights``). Without
        it, axes are in pixels and panels are titled by slice index.
    slices : int or sequence of int, optional
        Slice indices to draw; default: up to 10 evenly spaced slices ending with the closest
        one (all of them if the stack has 10 or fewer).
    fig : Figure or SubFigure, optional
        Figure or sub-figure to draw the panel grid into; a new figure if omitted.
    ax : Axes, optional
        Draw a single slice into these axes instead of a grid (``slices`` must then name one
        slice; default the closest).
    title : str, optional
        Figure title (``suptitle``).
    center_xy : sequence of float, optional
        Scan-window centre in Å (e.g. ``sim.last_center_xy``); default ``(0, 0)``.
    heights : sequence of float, optional
        Slice heights in Å to print in the panel titles, overriding ``params.slice_heights()``
        (e.g. for a stack cropped by augmentation).
    cmap : str
        Matplotlib colour map.
    shared_scale : bool
        One colour scale and colour bar for all panels (default: one per panel, since far
        slices have much weaker contrast than close ones).
    ncols : int
        Panels per row.

    Returns
    -------
    Figure
        The top-level :class:`~matplotlib.figure.Figure`.

    Raises
    ------
    ValueError
        For a stack that is not 2-D or 3-D, slice indices out of range, several slices with
        ``ax``, or ``heights`` of the wrong length.
    """
    stack = np.asarray(stack)
    if stack.ndim == 2:
        stack = stack[:, :, None]
    if stack.ndim != 3:
        raise ValueError(f"stack must have shape (nx, ny, nz), got {stack.shape}")
    nx, ny, nz = stack.shape

    if slices is None:
        idx = [nz - 1] if ax is not None else choose_slices(nz)
    elif isinstance(slices, (int, np.integer)):
        idx = [int(slices)]
    else:
        idx = [int(k) for k in slices]
    idx = [k + nz if k < 0 else k for k in idx]
    if not idx or any(not 0 <= k < nz for k in idx):
        raise ValueError(f"slice indices {slices!r} out of range for {nz} slices")
    if ax is not None and len(idx) != 1:
        raise ValueError("with ax=..., slices must select exactly one slice")

    z = np.asarray(heights, dtype=float) if heights is not None else _slice_heights(params, nz)
    if z is not None and z.shape != (nz,):
        raise ValueError(f"heights must have length {nz}, got {z.shape}")
    extent, in_angstrom = _extent(params, center_xy, nx, ny)
    xlabel, ylabel = (_X_LABEL, _Y_LABEL) if in_angstrom else ("x (px)", "y (px)")

    if ax is not None:
        host = ax.figure
        axes = [ax]
    else:
        if fig is None:
            ncol = min(ncols, len(idx))
            nrow = math.ceil(len(idx) / ncol)
            fig = NotebookFigure(figsize=(2.9 * ncol, 2.6 * nrow + 0.4), layout="constrained")
        host = fig
        ncol = min(ncols, len(idx))
        nrow = math.ceil(len(idx) / ncol)
        grid = fig.subplots(nrow, ncol, squeeze=False)
        axes = list(grid.ravel())
        for extra in axes[len(idx) :]:
            extra.remove()
        axes = axes[: len(idx)]

    vmin = vmax = None
    if shared_scale:
        sel = stack[:, :, idx]
        vmin, vmax = float(np.nanmin(sel)), float(np.nanmax(sel))

    image = None
    for a, k in zip(axes, idx, strict=True):
        image = a.imshow(
            stack[:, :, k].T,
            origin="lower",
            extent=extent,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        a.set_title(f"z = {z[k]:.2f} Å (slice {k})" if z is not None else f"slice {k}")
        a.set_xlabel(xlabel)
        a.set_ylabel(ylabel)
        a.set_aspect("equal")
        if not shared_scale:
            cbar = host.colorbar(image, ax=a, fraction=0.046, pad=0.03)
            cbar.set_label(_DF_LABEL)
    if shared_scale and image is not None:
        cbar = host.colorbar(image, ax=axes, shrink=0.9)
        cbar.set_label(_DF_LABEL)
    if title:
        host.suptitle(title)
    return _root_figure(host)


def plot_molecule_topview(
    mol: Any,
    ax: Axes,
    *,
    extent: Sequence[float] | None = None,
    title: str | None = None,
    legend: bool = True,
    bond_tolerance: float = BOND_TOLERANCE,
) -> Axes:
    """Ball-and-stick view of a molecule seen from the tip (looking down −z).

    Atoms are CPK-coloured discs (radius ``0.5 r_cov + 0.1`` Å), drawn from the lowest to the
    highest so the atoms the tip meets first are on top; bonds join atoms closer than
    ``bond_tolerance`` × the sum of their covalent radii.

    Parameters
    ----------
    mol : Molecule
        A :class:`afmkit.Molecule` (needs ``numbers`` (N,) and ``positions`` (N, 3) in Å;
        ``name`` is used as default title).
    ax : Axes
        Matplotlib axes to draw into.
    extent : sequence of float, optional
        ``(x0, x1, y0, y1)`` axis limits in Å, e.g. the scan window
        ``params.extent(sim.last_center_xy)``; default: the molecule plus 1 Å margin.
    title : str, optional
        Axes title; default the molecule's name.
    legend : bool
        Add a legend of the elements present.
    bond_tolerance : float
        Bond criterion factor (dimensionless).

    Returns
    -------
    Axes
        ``ax``.
    """
    numbers = np.asarray(mol.numbers).astype(int)
    pos = np.asarray(mol.positions, dtype=float).reshape(-1, 3)

    bonds = find_bonds(numbers, pos, bond_tolerance)
    if len(bonds):
        segments = pos[bonds][:, :, :2]
        ax.add_collection(LineCollection(segments, colors="0.25", linewidths=2.0, zorder=1))

    radii = 0.5 * _covalent_radii(numbers) + 0.1
    order = np.argsort(pos[:, 2], kind="stable")
    discs = [Circle((pos[i, 0], pos[i, 1]), radii[i]) for i in order]
    colours = [cpk_color(numbers[i]) for i in order]
    ax.add_collection(
        PatchCollection(discs, facecolors=colours, edgecolors="black", linewidths=0.6, zorder=2)
    )

    if extent is not None:
        x0, x1, y0, y1 = (float(v) for v in extent)
    elif len(pos):
        x0, y0 = pos[:, :2].min(axis=0) - 1.0
        x1, y1 = pos[:, :2].max(axis=0) + 1.0
    else:
        x0, x1, y0, y1 = -1.0, 1.0, -1.0, 1.0
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel(_X_LABEL)
    ax.set_ylabel(_Y_LABEL)
    name = getattr(mol, "name", None)
    ax.set_title(title if title is not None else (name or "molecule") + " (top view)")

    if legend and len(numbers):
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markerfacecolor=cpk_color(z),
                markeredgecolor="black",
                markersize=8,
                label=elements.symbol(int(z)),
            )
            for z in sorted(set(numbers.tolist()))
        ]
        ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.8)
    return ax


def plot_simulation(
    mol: Any,
    stack: np.ndarray,
    params: Any,
    *,
    center_xy: Sequence[float] | None = None,
    slices: Sequence[int] | None = None,
    title: str | None = None,
    shared_scale: bool = False,
) -> Figure:
    """One figure with the molecule's top view on the left and its Δf stack on the right.

    Parameters
    ----------
    mol : Molecule
        The simulated :class:`afmkit.Molecule` (positions in Å).
    stack : numpy.ndarray
        Δf in Hz, shape ``(nx, ny, nz)`` (see :func:`plot_df_stack`).
    params : SimulationParams
        The :class:`afmkit.SimulationParams` used for the simulation.
    center_xy : sequence of float, optional
        Scan-window centre in Å, e.g. ``sim.last_center_xy``; default ``(0, 0)``.
    slices : sequence of int, optional
        Slice indices to show (default: up to 10, ending with the closest).
    title : str, optional
        Figure title; default the molecule's name.
    shared_scale : bool
        One Δf colour scale for all slices.

    Returns
    -------
    NotebookFigure
        The figure.
    """
    nz = np.asarray(stack).shape[-1]
    idx = choose_slices(nz) if slices is None else list(slices)
    ncol = min(5, len(idx))
    nrow = math.ceil(len(idx) / ncol)
    panel_h = 2.6 * nrow + 0.4
    fig = NotebookFigure(
        figsize=(max(4.5, panel_h) + 2.9 * ncol, panel_h + 0.3), layout="constrained"
    )
    left, right = fig.subfigures(1, 2, width_ratios=[max(4.5, panel_h), 2.9 * ncol])
    nx, ny = np.asarray(stack).shape[:2]
    extent, in_angstrom = _extent(params, center_xy, nx, ny)
    plot_molecule_topview(mol, left.subplots(), extent=extent if in_angstrom else None)
    plot_df_stack(stack, params, idx, fig=right, center_xy=center_xy, shared_scale=shared_scale)
    fig.suptitle(title if title is not None else getattr(mol, "name", "") or "simulation")
    return fig
