"""Interactive plotly figures of notebooks 04–06, built once and redrawn in place.

The panels of :mod:`afmkit.widgets.molecules`, :mod:`afmkit.widgets.descriptors` and
:mod:`afmkit.widgets.augmentation` wrap these figures in a ``plotly.graph_objects.FigureWidget``
and call the matching ``update_…`` function on every render (a few ms), so a moved slider never
rebuilds a figure.

Figures (each ``…_figure`` returns an empty ``plotly.graph_objects.Figure``; its
``update_…`` twin fills it):

* :func:`rotation_figure` / :func:`update_rotation_figure` — thesis Eq. 25: candidate viewing
  directions on the unit sphere coloured by their score S, the sorted scores, the top view of
  one kept view and its closest Δf slice.
* :func:`descriptor_figure` / :func:`update_descriptor_figure` — the five descriptors of thesis
  §3.2 next to two Δf slices and the top view of the molecule.
* :func:`augmentation_figure` / :func:`update_augmentation_figure` — the five augmentation steps
  of thesis §3.4 on one slice.

Helpers shared by plotly figures: :func:`topview_traces` and :func:`update_topview` (a molecule
seen from the tip), :func:`heatmap_trace`, :func:`colorbar_beside`, :func:`axes_equal`,
:func:`set_subplot_title`. Lengths in Å, Δf in Hz.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from afmkit.physics.simulator import SimulationParams
from afmkit.plotting.figures import cpk_color, find_bonds
from afmkit.structures import elements

__all__ = [
    "image_row",
    "augmentation_figure",
    "axes_equal",
    "colorbar_beside",
    "descriptor_figure",
    "heatmap_trace",
    "rotation_figure",
    "set_subplot_title",
    "topview_traces",
    "update_augmentation_figure",
    "update_descriptor_figure",
    "update_rotation_figure",
    "update_topview",
]

_FIG_MARGIN = {"l": 40, "r": 10, "t": 40, "b": 40}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def topview_traces(mol: Any, size_px: float = 14.0) -> tuple[Any, Any]:
    """Plotly traces of a molecule seen from the tip: bonds (lines) and atoms (CPK markers).

    Atoms are drawn from the lowest to the highest (the tip meets the last ones first); marker
    size ∝ covalent radius; hover text gives element and height z − z_top (Å).

    Parameters
    ----------
    mol
        An :class:`afmkit.Molecule` (positions in Å).
    size_px
        Marker size of a carbon atom, pixels.

    Returns
    -------
    tuple
        ``(bonds, atoms)``: two ``plotly.graph_objects.Scatter`` traces in Å.
    """
    import plotly.graph_objects as go

    bonds, atoms = go.Scatter(), go.Scatter()
    update_topview(bonds, atoms, mol, size_px)
    return bonds, atoms


def update_topview(bonds: Any, atoms: Any, mol: Any, size_px: float = 14.0) -> None:
    """Redraw the two traces of :func:`topview_traces` in place for ``mol``.

    Parameters
    ----------
    bonds, atoms
        The ``Scatter`` traces (e.g. ``figure.data[i]`` of a ``FigureWidget``).
    mol
        An :class:`afmkit.Molecule` (positions in Å).
    size_px
        Marker size of a carbon atom, pixels.
    """
    pos = np.asarray(mol.positions, dtype=float)
    pairs = find_bonds(mol.numbers, pos)
    bx = np.full((len(pairs), 3), np.nan)
    by = np.full((len(pairs), 3), np.nan)
    if len(pairs):
        bx[:, :2], by[:, :2] = pos[pairs, 0], pos[pairs, 1]
    order = np.argsort(pos[:, 2], kind="stable")
    z_rel = pos[:, 2] - pos[:, 2].max()
    radii = np.atleast_1d(elements.covalent_radius(mol.numbers))
    symbols = mol.symbols
    bonds.update(
        x=bx.ravel(), y=by.ravel(), mode="lines", line={"color": "#444", "width": 2},
        hoverinfo="skip", showlegend=False,
    )  # fmt: skip
    atoms.update(
        x=pos[order, 0],
        y=pos[order, 1],
        mode="markers",
        marker={
            "color": [cpk_color(z) for z in mol.numbers[order]],
            "size": size_px * radii[order] / 0.76,
            "line": {"color": "black", "width": 1},
        },
        text=[f"{symbols[i]}  z − z_top = {z_rel[i]:.2f} Å" for i in order],
        hoverinfo="text",
        showlegend=False,
    )


def axes_equal(
    fig: Any,
    row: int,
    col: int,
    x_title: str,
    y_title: str,
    rng: Sequence[float] | None = None,
) -> None:
    """Label a 2-D subplot's axes and give it equal x/y scales (optionally fixed ranges).

    Parameters
    ----------
    fig
        A figure made with ``plotly.subplots.make_subplots``.
    row, col
        The subplot (1-based).
    x_title, y_title
        Axis titles, with units.
    rng
        Optional ``(x0, x1, y0, y1)`` axis ranges.
    """
    sub = fig.get_subplot(row, col)
    anchor = sub.yaxis.anchor  # e.g. "x3"
    fig.update_xaxes(title_text=x_title, row=row, col=col, constrain="domain")
    fig.update_yaxes(
        title_text=y_title, row=row, col=col, scaleanchor=anchor, scaleratio=1,
        constrain="domain",
    )  # fmt: skip
    if rng is not None:
        fig.update_xaxes(range=list(rng[:2]), row=row, col=col)
        fig.update_yaxes(range=list(rng[2:]), row=row, col=col)


def colorbar_beside(fig: Any, row: int, col: int, title: str) -> dict:
    """Colour-bar settings that put a heatmap's bar just right of its subplot.

    Parameters
    ----------
    fig
        A figure made with ``plotly.subplots.make_subplots``.
    row, col
        The subplot (1-based).
    title
        Colour-bar title, with the unit.

    Returns
    -------
    dict
        The ``colorbar`` argument of ``plotly.graph_objects.Heatmap``.
    """
    sub = fig.get_subplot(row, col)
    x0, x1 = sub.xaxis.domain
    y0, y1 = sub.yaxis.domain
    return {
        "x": x1 + 0.002,
        "y": (y0 + y1) / 2,
        "len": (y1 - y0) * 0.9,
        "thickness": 8,
        "title": {"text": title, "side": "right", "font": {"size": 10}},
        "tickfont": {"size": 9},
    }


def set_subplot_title(fig: Any, index: int, text: str) -> None:
    """Set the title of subplot number ``index`` (0-based, in ``subplot_titles`` order).

    Parameters
    ----------
    fig
        A figure made with ``plotly.subplots.make_subplots(subplot_titles=...)``.
    index
        Position of the title among the subplot titles.
    text
        The new title.
    """
    fig.layout.annotations[index].text = text


def heatmap_trace(xs: np.ndarray, ys: np.ndarray, colorscale: str = "gray", **kw: Any) -> Any:
    """An all-zero heatmap on the pixel grid ``xs`` × ``ys`` (Å), to be filled later.

    Parameters
    ----------
    xs, ys
        Pixel centres along x and y, Å.
    colorscale
        Plotly colour scale name.
    **kw
        Further ``plotly.graph_objects.Heatmap`` arguments (e.g. ``colorbar``).

    Returns
    -------
    plotly.graph_objects.Heatmap
        z of shape (len(ys), len(xs)); hover shows x, y (Å) and the value.
    """
    import plotly.graph_objects as go

    return go.Heatmap(
        x=xs,
        y=ys,
        z=np.zeros((len(ys), len(xs))),
        colorscale=colorscale,
        hovertemplate="x %{x:.2f} Å<br>y %{y:.2f} Å<br>%{z:.3g}<extra></extra>",
        **kw,
    )


def image_row(
    images: dict[str, np.ndarray],
    xs: np.ndarray,
    ys: np.ndarray,
    title: str,
    shared_scale: bool = True,
    unit: str = "Å",
) -> Any:
    """Images side by side on one pixel grid, e.g. a target descriptor and models' predictions.

    Parameters
    ----------
    images : dict of str to numpy.ndarray, each shape (len(xs), len(ys))
        Subplot title → image in afmkit's axis order (x, y).
    xs, ys : numpy.ndarray
        Pixel centres along x and y, Å; drawn relative to the window centre.
    title : str
        Figure title.
    shared_scale : bool, optional
        One colour scale for all images (from 0 to the first image's maximum), with one colour
        bar; otherwise each image has its own scale and no colour bar.
    unit : str, optional
        Colour-bar title (the images' unit).

    Returns
    -------
    plotly.graph_objects.Figure
        One row, ``len(images)`` columns, equal x/y scales.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(images)
    fig = make_subplots(rows=1, cols=n, subplot_titles=list(images), horizontal_spacing=0.04)
    first = next(iter(images.values()))
    scale = {"zmin": 0.0, "zmax": float(np.max(first))} if shared_scale else {}
    for col, image in enumerate(images.values(), start=1):
        fig.add_trace(
            go.Heatmap(z=np.asarray(image).T, x=xs - xs.mean(), y=ys - ys.mean(),
                       showscale=shared_scale and col == n, colorbar_title=unit, **scale),
            row=1, col=col,
        )  # fmt: skip
    fig.update_yaxes(scaleanchor="x")
    fig.update_layout(height=340, width=320 * n, title=title)
    return fig


def _style_annotations(fig: Any) -> None:
    for ann in fig.layout.annotations:
        ann.font = {"size": 12}


# ---------------------------------------------------------------------------------------------
# viewing directions (Eq. 25)
# ---------------------------------------------------------------------------------------------
def rotation_figure(mol: Any, preview_pixels: int = 48) -> Any:
    """Empty figure of the viewing-direction panel: sphere, scores, top view, Δf preview.

    Parameters
    ----------
    mol
        Molecule drawn in the top view until the first update.
    preview_pixels
        Pixels per side of the Δf preview (the default 16 × 16 Å window).

    Returns
    -------
    plotly.graph_objects.Figure
        Seven traces: candidate directions (3-D markers coloured by S), kept directions (open
        circles), the shown direction (red line), the sorted scores (bars), bonds and atoms of
        the top view, and the Δf heatmap (x − x_c, y − y_c in Å).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=4,
        specs=[[{"type": "scene"}, {"type": "xy"}, {"type": "xy"}, {"type": "xy"}]],
        subplot_titles=("directions d (colour: S)", "scores, sorted", "top view", "Δf preview"),
        column_widths=[0.3, 0.22, 0.24, 0.24],
        horizontal_spacing=0.08,
    )
    fig.add_trace(
        go.Scatter3d(
            mode="markers", name="candidates",
            marker={"size": 3, "colorscale": "Viridis", "color": [0.0],
                    "colorbar": {"title": {"text": "S"}, "x": 0.29, "len": 0.8, "thickness": 8}},
            hovertemplate="S = %{marker.color:.2f}<extra>candidate</extra>",
        ),  # fmt: skip
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter3d(
            mode="markers", name="kept",
            marker={"size": 6, "color": "rgba(0,0,0,0)", "line": {"color": "black", "width": 2},
                    "symbol": "circle-open"},
            hoverinfo="skip",
        ),  # fmt: skip
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter3d(mode="lines+markers", name="shown view", marker={"size": 5, "color": "red"},
                     line={"color": "red", "width": 5}, hoverinfo="skip"),
        row=1,
        col=1,
    )  # fmt: skip
    fig.add_trace(go.Bar(name="scores", showlegend=False), row=1, col=2)
    bonds, atoms = topview_traces(mol)
    fig.add_trace(bonds, row=1, col=3)
    fig.add_trace(atoms, row=1, col=3)
    xs, ys = SimulationParams(pixels=(preview_pixels, preview_pixels)).pixel_coordinates()
    fig.add_trace(
        heatmap_trace(xs, ys, colorbar=colorbar_beside(fig, 1, 4, "Δf (Hz)"), showscale=True),
        row=1,
        col=4,
    )
    fig.update_scenes(
        xaxis_title="d_x", yaxis_title="d_y", zaxis_title="d_z", aspectmode="cube",
        xaxis_range=[-1.1, 1.1], yaxis_range=[-1.1, 1.1], zaxis_range=[-1.1, 1.1],
    )  # fmt: skip
    fig.update_xaxes(title_text="rank", row=1, col=2)
    fig.update_yaxes(title_text="S (Eq. 25, dimensionless)", row=1, col=2)
    axes_equal(fig, 1, 3, "x (Å)", "y (Å)")
    axes_equal(fig, 1, 4, "x − x_c (Å)", "y − y_c (Å)")
    fig.update_layout(
        height=360, width=1150, margin=_FIG_MARGIN, showlegend=False, bargap=0.05,
        scene_camera={"eye": {"x": 1.4, "y": 1.4, "z": 0.9}},
    )  # fmt: skip
    return fig


def update_rotation_figure(
    figure: Any,
    directions: np.ndarray,
    scores: np.ndarray,
    n_kept: int,
    rank: int,
    rotated: Any,
    stack: np.ndarray | None = None,
) -> None:
    """Redraw a :func:`rotation_figure` in place.

    Parameters
    ----------
    figure
        The figure (or a ``FigureWidget`` made from it).
    directions
        (n, 3) candidate viewing directions, unit vectors.
    scores
        (n,) their Eq. 25 scores S (dimensionless).
    n_kept
        How many of the best directions are kept (blue bars, open circles).
    rank
        Rank of the shown view among the kept ones (0 = best; red).
    rotated
        The molecule turned into the shown view (its top view is drawn).
    stack
        Its Δf stack (nx, ny, nz) in Hz, slice 0 farthest; the closest slice is drawn, or the
        heatmap is hidden when None.
    """
    dirs = np.asarray(directions, dtype=float)
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    order = np.argsort(-scores, kind="stable")
    kept = order[:n_kept]
    chosen = kept[rank]
    colours = np.where(np.arange(n) < n_kept, "#1f77b4", "#c7c7c7")
    colours[rank] = "red"
    with figure.batch_update():
        cand, keep_tr, view_tr, bars, bonds_tr, atoms_tr, heat = figure.data
        cand.update(x=dirs[:, 0], y=dirs[:, 1], z=dirs[:, 2], marker={"color": scores})
        keep_tr.update(x=dirs[kept, 0], y=dirs[kept, 1], z=dirs[kept, 2])
        d = dirs[chosen]
        view_tr.update(x=[0, d[0]], y=[0, d[1]], z=[0, d[2]])
        bars.update(x=np.arange(n), y=scores[order], marker={"color": colours})
        update_topview(bonds_tr, atoms_tr, rotated)
        heat.visible = stack is not None
        if stack is not None:
            heat.z = stack[:, :, -1].T
        set_subplot_title(figure, 2, f"top view {rank} (S = {scores[chosen]:.2f})")
        set_subplot_title(figure, 3, "Δf preview, closest slice" if stack is not None else "")


# ---------------------------------------------------------------------------------------------
# descriptors
# ---------------------------------------------------------------------------------------------
_DESCRIPTOR_TITLES = (
    "Atomic Disks", "vdW Spheres", "Height Map", "ES Map",
    "xyz grid", "Δf slice", "Δf closest slice", "top view",
)  # fmt: skip


def descriptor_figure(mol: Any, pixels: int = 64) -> Any:
    """Empty figure of the descriptor panel: four descriptor maps, the xyz grid, Δf, top view.

    Parameters
    ----------
    mol
        Molecule drawn in the top view until the first update.
    pixels
        Pixels per side of the default 16 × 16 Å window.

    Returns
    -------
    plotly.graph_objects.Figure
        A 2 × 4 grid with eleven traces: Atomic Disks (Å above the cut-off), vdW Spheres and
        Height Map (Å, top nucleus = 0), ES Map (V); the xyz box edges, all atoms and the atoms
        the xyz grid encodes; two Δf heatmaps (Hz); bonds and atoms of the top view.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=4, subplot_titles=_DESCRIPTOR_TITLES,
                        horizontal_spacing=0.1, vertical_spacing=0.14)  # fmt: skip
    xs, ys = SimulationParams(pixels=(pixels, pixels)).pixel_coordinates()
    cbar_titles = ["Å above cut-off", "Å (top nucleus = 0)", "Å (top nucleus = 0)", "V"]
    scales = ["Viridis", "gray", "gray", "RdBu_r"]
    for c in range(4):
        fig.add_trace(
            heatmap_trace(xs, ys, scales[c],
                          colorbar=colorbar_beside(fig, 1, c + 1, cbar_titles[c])),
            row=1,
            col=c + 1,
        )  # fmt: skip
    fig.add_trace(go.Scatter(mode="lines", line={"color": "#ccc", "width": 1},
                             hoverinfo="skip"), row=2, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(mode="markers", marker={"symbol": "x", "color": "#999", "size": 5},
                             hoverinfo="skip", name="all atoms"), row=2, col=1)  # fmt: skip
    fig.add_trace(
        go.Scatter(mode="markers", name="xyz atoms",
                   marker={"color": "rgba(31,119,180,0.7)", "line": {"color": "navy", "width": 1}},
                   hovertemplate="x %{x:.2f} Å, y %{y:.2f} Å<br>%{text}<extra></extra>"),
        row=2, col=1,
    )  # fmt: skip
    for c in (2, 3):
        fig.add_trace(
            heatmap_trace(xs, ys, colorbar=colorbar_beside(fig, 2, c, "Δf (Hz)")), row=2, col=c
        )
    bonds, atoms = topview_traces(mol, size_px=10)
    fig.add_trace(bonds, row=2, col=4)
    fig.add_trace(atoms, row=2, col=4)
    for r in (1, 2):
        for c in (1, 2, 3, 4):
            axes_equal(fig, r, c, "x (Å)", "y (Å)")
    fig.update_layout(height=640, width=1150, margin=_FIG_MARGIN, showlegend=False)
    _style_annotations(fig)
    return fig


def _grid_lines(center: np.ndarray, boxes: int, size: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the xyz box edges as one polyline with NaN breaks (Å)."""
    half = boxes * size / 2
    edges = np.arange(boxes + 1) * size - half
    xs, ys = [], []
    for e in edges:
        xs += [center[0] + e, center[0] + e, np.nan, center[0] - half, center[0] + half, np.nan]
        ys += [center[1] - half, center[1] + half, np.nan, center[1] + e, center[1] + e, np.nan]
    return np.array(xs), np.array(ys)


def update_descriptor_figure(
    figure: Any,
    mol: Any,
    descriptors: Mapping[str, np.ndarray],
    stack: np.ndarray,
    slice_index: int,
    params: SimulationParams,
    center: np.ndarray,
    settings: Mapping[str, float],
) -> None:
    """Redraw a :func:`descriptor_figure` in place.

    Parameters
    ----------
    figure
        The figure (or a ``FigureWidget`` made from it).
    mol
        The molecule in scan orientation (positions in Å).
    descriptors
        ``"disks"``, ``"spheres"``, ``"height"`` (nx, ny) in Å, ``"es"`` (nx, ny) in V and
        ``"xyz_atoms"`` (M, ≥3): the atoms the xyz grid encodes, x, y in Å and z in Å below
        the top nucleus.
    stack
        (nx, ny, nz) Δf in Hz, slice 0 farthest.
    slice_index
        The Δf slice drawn beside the closest one.
    params
        The simulation parameters of the grid (pixel coordinates, slice heights).
    center
        Scan-window centre (x, y), Å.
    settings
        The descriptor settings shown in the titles: ``disk_width`` (× r_cov),
        ``disk_cutoff`` (Å), ``vdw_scale`` (× R_vdW), ``vdw_cutoff`` (Å), ``iso_force``
        (eV/Å), ``height_cutoff`` (Å), ``box_size`` and ``z_min`` (Å) of the xyz grid.
    """
    s = settings
    cx, cy = params.pixel_coordinates(center)
    k = min(int(slice_index), stack.shape[-1] - 1)
    heights = params.slice_heights()
    es_max = float(np.max(np.abs(descriptors["es"]))) or 1.0
    size = float(s["box_size"])
    nbox = max(1, int(round(params.scan_size[0] / size)))
    gx, gy = _grid_lines(center, nbox, size)
    pos = np.asarray(mol.positions)
    found = np.asarray(descriptors["xyz_atoms"])
    frac = np.clip(1.0 + found[:, 2] / -float(s["z_min"]), 0.0, 1.0)
    with figure.batch_update():
        tr = figure.data
        for i, name in enumerate(("disks", "spheres", "height", "es")):
            tr[i].update(x=cx, y=cy, z=descriptors[name].T)
        tr[3].update(zmin=-es_max, zmax=es_max)
        tr[4].update(x=gx, y=gy)
        tr[5].update(x=pos[:, 0], y=pos[:, 1])
        tr[6].update(
            x=found[:, 0], y=found[:, 1], marker={"size": 6 + 12 * frac},
            text=[f"z − z_top = {z:.2f} Å" for z in found[:, 2]],
        )  # fmt: skip
        tr[7].update(x=cx, y=cy, z=stack[:, :, k].T)
        tr[8].update(x=cx, y=cy, z=stack[:, :, -1].T)
        update_topview(tr[9], tr[10], mol, size_px=10)
        rng = [cx[0], cx[-1], cy[0], cy[-1]]
        for r, c in ((2, 1), (2, 4)):
            figure.update_xaxes(range=rng[:2], row=r, col=c)
            figure.update_yaxes(range=rng[2:], row=r, col=c)
        set_subplot_title(figure, 0, f"Atomic Disks ({s['disk_width']:.2f} r_cov, "
                                     f"cut {s['disk_cutoff']:.1f} Å)")  # fmt: skip
        set_subplot_title(figure, 1, f"vdW Spheres ({s['vdw_scale']:.2f} R_vdW, "
                                     f"cut {s['vdw_cutoff']:.1f} Å)")  # fmt: skip
        set_subplot_title(figure, 2, f"Height Map (F_z = {s['iso_force']:.2f} eV/Å, "
                                     f"cut {s['height_cutoff']:.1f} Å)")  # fmt: skip
        set_subplot_title(figure, 4, f"xyz grid ({len(found)} atoms, {nbox}×{nbox} boxes)")
        set_subplot_title(figure, 5, f"Δf slice {k} (PP {heights[k]:.1f} Å above top)")
        set_subplot_title(figure, 6, f"Δf closest (PP {heights[-1]:.1f} Å above top)")


# ---------------------------------------------------------------------------------------------
# augmentation
# ---------------------------------------------------------------------------------------------
_AUGMENTATION_TITLES = ("1. kept slices", "slice as simulated", "2. normalised", "3. + noise",
                        "4. shifted", "5. cutouts")  # fmt: skip


def augmentation_figure(pixels: int = 64) -> Any:
    """Empty figure of the augmentation panel: kept slices and one slice after every step.

    Parameters
    ----------
    pixels
        Pixels per side of the images.

    Returns
    -------
    plotly.graph_objects.Figure
        A 2 × 3 grid: which slices were kept (three marker traces: simulated, kept, shown), then
        five heatmaps in pixel coordinates: the slice as simulated (Hz), normalised, with noise,
        shifted, with cutouts (σ units).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=3, subplot_titles=_AUGMENTATION_TITLES,
                        horizontal_spacing=0.13, vertical_spacing=0.16)  # fmt: skip
    fig.add_trace(go.Scatter(mode="markers", marker={"color": "#ccc", "size": 8},
                             name="simulated"), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(mode="markers", marker={"color": "#1f77b4", "size": 10},
                             name="kept"), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(mode="markers", marker={"color": "red", "size": 14,
                                                     "symbol": "circle-open"},
                             name="shown"), row=1, col=1)  # fmt: skip
    fig.update_xaxes(title_text="slice index (0 = farthest)", row=1, col=1)
    fig.update_yaxes(title_text="kept?", tickvals=[0, 1], ticktext=["no", "yes"],
                     range=[-0.5, 1.5], row=1, col=1)  # fmt: skip
    pix = np.arange(pixels)
    units = ["Δf (Hz)", "σ units", "σ units", "σ units", "σ units"]
    cells = [(1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    for (r, c), unit in zip(cells, units, strict=True):
        heat = heatmap_trace(pix, pix, colorbar=colorbar_beside(fig, r, c, unit))
        heat.hovertemplate = "x %{x} px<br>y %{y} px<br>%{z:.3g}<extra></extra>"
        fig.add_trace(heat, row=r, col=c)
        axes_equal(fig, r, c, "x (px)", "y (px)")
    fig.update_layout(height=620, width=1000, margin=_FIG_MARGIN, showlegend=False)
    _style_annotations(fig)
    return fig


def update_augmentation_figure(
    figure: Any,
    stack: np.ndarray,
    stages: Mapping[str, Any],
    shown: int,
    normalized: bool = True,
    noise_c: float = 0.1,
) -> None:
    """Redraw an :func:`augmentation_figure` in place.

    Parameters
    ----------
    figure
        The figure (or a ``FigureWidget`` made from it).
    stack
        (nx, ny, nz) Δf stack as simulated, Hz.
    stages
        The stages of :func:`afmkit.widgets.augmentation.augmentation_steps`: ``"indices"``
        (kept slice indices), ``"normalized"``, ``"noise"``, ``"shifted"``, ``"cutouts"``
        (nx, ny, k), ``"shifts"`` ((k, 2) px or None) and ``"boxes"`` ((k, holes, 5) or None).
    shown
        Which kept slice to draw (0 = farthest kept).
    normalized
        Whether the slices were normalised (σ units) or not (Hz), for the colour-bar titles.
    noise_c
        Noise strength c of Eq. 33, for the title.
    """
    n_slices = stack.shape[-1]
    idx = np.asarray(stages["indices"])
    k = min(int(shown), len(idx) - 1)
    kept = np.isin(np.arange(n_slices), idx).astype(float)
    unit = "σ units" if normalized else "Δf (Hz)"
    with figure.batch_update():
        tr = figure.data
        tr[0].update(x=np.arange(n_slices), y=kept)
        tr[1].update(x=idx, y=np.ones(len(idx)))
        tr[2].update(x=[idx[k]], y=[1.0])
        images = [stack[:, :, idx[k]]] + [
            stages[s][:, :, k] for s in ("normalized", "noise", "shifted", "cutouts")
        ]
        for i, img in enumerate(images):
            tr[3 + i].z = img.T
            if i > 0:
                tr[3 + i].colorbar.title.text = unit
        shift = stages["shifts"][k] if stages["shifts"] is not None else (0, 0)
        n_rect = int(stages["boxes"][k, :, 4].sum()) if stages["boxes"] is not None else 0
        set_subplot_title(figure, 1, f"slice {idx[k]} as simulated")
        set_subplot_title(figure, 2, "2. normalised" if normalized else "2. (not normalised)")
        set_subplot_title(figure, 3, f"3. + noise, c = {float(noise_c):.2f}")
        set_subplot_title(figure, 4, f"4. shifted by ({shift[0]:+d}, {shift[1]:+d}) px")
        set_subplot_title(figure, 5, f"5. cutouts ({n_rect} rectangles)")
