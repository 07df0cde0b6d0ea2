"""Panels for molecules, viewing directions, descriptors and augmentation (notebooks 04–06).

Panels (each returns an :class:`afmkit.panels.core.Panel`; import them from
:mod:`afmkit.widgets`):

:func:`molecule_picker_panel`
    Choose a molecule: 1S-camphor, a QM9 index, a SMILES string (RDKit) or pasted .xyz text;
    shows its formula, charges and an nglview 3D view. ``panel.molecule`` is the current choice.
:func:`rotation_panel`
    Thesis Eq. 25: candidate viewing directions on a sphere coloured by their score S, the
    sorted scores with the kept ones highlighted, the top view of one chosen view and a small
    AFM preview of it.
:func:`descriptor_panel`
    The five descriptors (Atomic Disks, vdW Spheres, Height Map, ES Map, xyz) side by side with
    Δf slices of the same molecule, with a slider for every cut-off and width.
:func:`augmentation_panel`
    The five augmentation steps of thesis §3.4 with their strengths, before and after each step.

Helpers: :func:`load_molecule`, :func:`to_rdkit`, :func:`molecule_view` (nglview),
:func:`preview_stack` (cached low-resolution simulation), :func:`topview_traces` (plotly).

Speed: figures are plotly ``FigureWidget`` objects built once and updated in place (a few ms per
update); simulations use a preview grid (``pixels`` px, force-field step 0.2 Å instead of 0.1 Å:
Δf images correlate with the 0.1 Å ones to > 0.999) and are cached per molecule and
orientation, so moving a descriptor or augmentation slider never re-simulates.
"""

from __future__ import annotations

import functools
import io
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit import augment as A
from afmkit import descriptors as D
from afmkit import elements
from afmkit.molecules import Molecule, camphor, from_smiles, qm9, read_xyz
from afmkit.panels.core import Panel, dropdown, int_slider, slider
from afmkit.plotting import cpk_color, find_bonds
from afmkit.rotations import rotation_scores, select_rotations, uniform_rotations
from afmkit.simulator import AFMSimulator, SimulationParams, scan_center

__all__ = [
    "PRESET_MOLECULES",
    "augmentation_panel",
    "augmentation_steps",
    "descriptor_panel",
    "load_molecule",
    "molecule_picker_panel",
    "molecule_view",
    "preview_stack",
    "rotation_panel",
    "to_rdkit",
    "topview_traces",
]

#: Force-field grid step of the preview simulations, Å (the full simulator uses 0.1 Å).
PREVIEW_FF_STEP = 0.2

#: Molecules offered by the descriptor and augmentation panels: label → (source, QM9 index).
PRESET_MOLECULES: dict[str, tuple[str, int]] = {
    "1S-camphor": ("camphor", 0),
    "QM9 1000 (imidazole carbaldehyde)": ("qm9", 1000),
    "QM9 130000 (difluoropyridone)": ("qm9", 130000),
    "QM9 50000 (bicyclic formamide)": ("qm9", 50000),
}

DEFAULT_XYZ = """4
formaldehyde (plain xyz: no charges)
C   0.000   0.000   0.000
O   0.000   0.000   1.205
H   0.000   0.943  -0.587
H   0.000  -0.943  -0.587
"""

_SOURCES = [
    ("1S-camphor", "camphor"),
    ("QM9 (index)", "qm9"),
    ("SMILES (RDKit)", "smiles"),
    (".xyz text", "xyz"),
]
_FIG_MARGIN = {"l": 40, "r": 10, "t": 40, "b": 40}


# ---------------------------------------------------------------------------------------------
# molecules
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _smiles_molecule(smiles: str) -> Molecule:
    return from_smiles(smiles)


def load_molecule(
    source: str, qm9_index: int = 0, smiles: str = "", xyz_text: str = ""
) -> Molecule:
    """A molecule from one of the picker's sources.

    Args:
        source: ``"camphor"`` (1S-camphor, MMFF94 charges), ``"qm9"`` (DFT geometry, Mulliken
            charges), ``"smiles"`` (RDKit ETKDG + MMFF94, MMFF94 charges) or ``"xyz"`` (text of an
            .xyz file; plain, with a charge column, or extended xyz).
        qm9_index: 0-based position in QM9 (``source="qm9"``).
        smiles: SMILES string (``source="smiles"``); results are cached per string.
        xyz_text: contents of an .xyz file (``source="xyz"``).

    Returns:
        The :class:`afmkit.Molecule` (positions in Å, charges in e).

    Raises:
        ValueError: unknown source, invalid SMILES or malformed xyz text.
        IndexError: QM9 index out of range.
    """
    if source == "camphor":
        return camphor()
    if source == "qm9":
        return qm9(int(qm9_index))
    if source == "smiles":
        if not smiles.strip():
            raise ValueError("type a SMILES string, e.g. c1ccccc1O")
        return _smiles_molecule(smiles.strip()).copy()
    if source == "xyz":
        return read_xyz(io.StringIO(xyz_text))
    raise ValueError(f"unknown molecule source {source!r}; use one of {[s for _, s in _SOURCES]}")


def _preset(label: str) -> Molecule:
    source, index = PRESET_MOLECULES[label]
    return load_molecule(source, qm9_index=index)


def _mol_key(mol: Molecule) -> tuple:
    """Hashable identity of a molecule's content (name, elements, positions to 1e-6 Å)."""
    pos = np.round(np.asarray(mol.positions, dtype=float), 6)
    return (mol.name, mol.numbers.tobytes(), pos.tobytes(), mol.charges.tobytes())


def to_rdkit(mol: Molecule) -> Any:
    """RDKit molecule with ``mol``'s atoms and 3D positions (Å); bonds guessed from distances.

    Bonds come from RDKit's ``DetermineConnectivity`` (covalent radii); bond orders are not
    assigned. Used for nglview's 3D views.
    """
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    rw = Chem.RWMol()
    for z in mol.numbers:
        rw.AddAtom(Chem.Atom(int(z)))
    conf = Chem.Conformer(len(mol))
    for i, p in enumerate(np.asarray(mol.positions, dtype=float)):
        conf.SetAtomPosition(i, p.tolist())
    rw.AddConformer(conf, assignId=True)
    out = rw.GetMol()
    try:
        rdDetermineBonds.DetermineConnectivity(out)
    except Exception:  # pragma: no cover - unusual geometries: show atoms without bonds
        pass
    return out


def molecule_view(
    mol: Molecule, direction: np.ndarray | None = None, height_px: int = 300
) -> Any:
    """An nglview 3D ball-and-stick view of ``mol`` (positions in Å).

    Args:
        mol: the molecule.
        direction: optional viewing direction (unit vector); an orange arrow is drawn from
            6 Å to 3.5 Å from the centroid along it, where the tip sits, pointing at the molecule.
        height_px: widget height on screen, pixels.

    Returns:
        An ``nglview.NGLWidget`` (constructs fine without a browser).
    """
    import nglview

    view = nglview.show_rdkit(to_rdkit(mol))
    view.clear_representations()
    view.add_ball_and_stick(multipleBond=False)
    if direction is not None:
        d = np.asarray(direction, dtype=float)
        d = d / np.linalg.norm(d)
        c = np.asarray(mol.positions, dtype=float).mean(axis=0)
        view.shape.add_arrow((c + 6.0 * d).tolist(), (c + 3.5 * d).tolist(), [1, 0.5, 0], 0.3)
    view.layout = w.Layout(height=f"{height_px}px")  # nglview 3 takes the output width
    return view


def _replace_view(box: w.Box, view: w.Widget) -> None:
    """Put ``view`` into ``box``, closing the view it replaces."""
    old = list(box.children)
    box.children = (view,)
    for child in old:
        child.close()


def _molecule_info(mol: Molecule) -> str:
    pos = np.asarray(mol.positions)
    span = np.ptp(pos, axis=0)
    q = mol.charges
    charge_note = (
        "no charges (all 0 e)"
        if not np.any(q)
        else f"charges {q.min():+.2f} … {q.max():+.2f} e (total {q.sum():+.2f} e)"
    )
    return (
        f"<b>{mol.name or 'molecule'}</b>: {mol.formula}, {len(mol)} atoms; "
        f"extent {span[0]:.1f} × {span[1]:.1f} × {span[2]:.1f} Å; {charge_note}"
    )


# ---------------------------------------------------------------------------------------------
# simulation previews
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _preview_simulator(pixels: int, n_slices: int, ff_step: float) -> AFMSimulator:
    params = SimulationParams(pixels=(pixels, pixels), n_slices=n_slices, ff_step=ff_step)
    return AFMSimulator(params)


_STACKS: OrderedDict[tuple, np.ndarray] = OrderedDict()
_STACK_CACHE_SIZE = 64


def preview_stack(
    mol: Molecule, pixels: int = 48, n_slices: int = 20, ff_step: float = PREVIEW_FF_STEP
) -> np.ndarray:
    """Δf stack of ``mol`` as it is oriented, on a preview grid; cached per molecule content.

    Args:
        mol: molecule in scan orientation (the tip looks down −z).
        pixels: pixels per side of the default 16 × 16 Å window.
        n_slices: number of Δf slices (0.1 Å apart, slice 0 farthest).
        ff_step: force-field grid step, Å (0.2 Å for previews; the default simulator uses 0.1).

    Returns:
        float32 (pixels, pixels, n_slices) Δf in Hz, window centred by
        :func:`afmkit.simulator.scan_center`. The cached array is returned (do not modify it).
    """
    key = (_mol_key(mol), int(pixels), int(n_slices), float(ff_step))
    if key in _STACKS:
        _STACKS.move_to_end(key)
        return _STACKS[key]
    sim = _preview_simulator(int(pixels), int(n_slices), float(ff_step))
    stack = sim(mol, center_xy=scan_center(mol))
    stack.setflags(write=False)
    _STACKS[key] = stack
    while len(_STACKS) > _STACK_CACHE_SIZE:
        _STACKS.popitem(last=False)
    return stack


_VIEWS: OrderedDict[tuple, np.ndarray] = OrderedDict()


def _best_view(mol: Molecule, rank: int, n_views: int = 10) -> Molecule:
    """``mol`` rotated into its Eq. 25 view number ``rank`` (0 = best of 100 directions)."""
    key = (_mol_key(mol), n_views)
    if key not in _VIEWS:
        _VIEWS[key] = select_rotations(mol, n=100, n_best=n_views)[0]
        while len(_VIEWS) > _STACK_CACHE_SIZE:
            _VIEWS.popitem(last=False)
    rots = _VIEWS[key]
    out = mol.rotated(rots[min(rank, len(rots) - 1)])
    out.name = f"{mol.name} (view {rank})"
    return out


# ---------------------------------------------------------------------------------------------
# plotly helpers
# ---------------------------------------------------------------------------------------------
def topview_traces(mol: Molecule, size_px: float = 14.0) -> tuple[Any, Any]:
    """Plotly traces of a molecule seen from the tip: bonds (lines) and atoms (CPK markers).

    Atoms are drawn from the lowest to the highest (the tip meets the last ones first); marker
    size ∝ covalent radius; hover text gives element and height z − z_top (Å).

    Returns:
        ``(bonds, atoms)``: two ``plotly.graph_objects.Scatter`` traces in Å.
    """
    import plotly.graph_objects as go

    bonds, atoms = go.Scatter(), go.Scatter()
    _update_topview(bonds, atoms, mol, size_px)
    return bonds, atoms


def _update_topview(bonds: Any, atoms: Any, mol: Molecule, size_px: float = 14.0) -> None:
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


def _axes_equal(fig: Any, row: int, col: int, x_title: str, y_title: str, rng=None) -> None:
    """Label a 2-D subplot's axes and give it equal x/y scales (optionally fixed ranges)."""
    sub = fig.get_subplot(row, col)
    anchor = sub.yaxis.anchor  # e.g. "x3"
    fig.update_xaxes(title_text=x_title, row=row, col=col, constrain="domain")
    fig.update_yaxes(
        title_text=y_title, row=row, col=col, scaleanchor=anchor, scaleratio=1,
        constrain="domain",
    )  # fmt: skip
    if rng is not None:
        fig.update_xaxes(range=rng[:2], row=row, col=col)
        fig.update_yaxes(range=rng[2:], row=row, col=col)


def _colorbar(fig: Any, row: int, col: int, title: str) -> dict:
    """Colour-bar settings that put a heatmap's bar just right of its subplot."""
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


def _set_title(fig: Any, index: int, text: str) -> None:
    fig.layout.annotations[index].text = text


def _heatmap(xs: np.ndarray, ys: np.ndarray, colorscale: str = "gray", **kw: Any) -> Any:
    import plotly.graph_objects as go

    return go.Heatmap(
        x=xs,
        y=ys,
        z=np.zeros((len(ys), len(xs))),
        colorscale=colorscale,
        hovertemplate="x %{x:.2f} Å<br>y %{y:.2f} Å<br>%{z:.3g}<extra></extra>",
        **kw,
    )


# ---------------------------------------------------------------------------------------------
# 1. molecule picker
# ---------------------------------------------------------------------------------------------
def molecule_picker_panel(
    source: str = "camphor",
    qm9_index: int = 1000,
    smiles: str = "O=C1C=CC(=O)C=C1",
    xyz_text: str = DEFAULT_XYZ,
) -> Panel:
    """Choose a molecule and look at it in 3D (nglview).

    Controls: ``source`` (camphor / QM9 index / SMILES via RDKit / .xyz text), ``qm9_index``,
    ``smiles``, ``xyz``. Outputs: a line with formula, size (Å) and charges (e), and an nglview
    ball-and-stick view.

    Attributes added to the panel: ``molecule`` (the current :class:`afmkit.Molecule`),
    ``error`` (the last loading error message, or ``""``), ``view_box`` (the box holding the
    3D view), ``on_molecule(callback)`` (``callback(mol)`` is called after every new choice;
    other panels use it to follow the picker).
    """
    controls = {
        "source": dropdown("molecule from", _SOURCES, source),
        "qm9_index": w.BoundedIntText(
            value=qm9_index, min=0, max=130830, description="QM9 index (0-based)",
            style={"description_width": "initial"}, layout={"width": "360px"},
        ),  # fmt: skip
        "smiles": w.Text(
            value=smiles, description="SMILES", continuous_update=False,
            style={"description_width": "initial"}, layout={"width": "360px"},
        ),  # fmt: skip
        "xyz": w.Textarea(
            value=xyz_text, description=".xyz (Å)", continuous_update=False,
            style={"description_width": "initial"}, layout={"width": "360px", "height": "130px"},
        ),  # fmt: skip
    }
    info = w.HTML()
    view_box = w.Box(layout={"width": "350px", "min_height": "300px"})
    listeners: list[Callable[[Molecule], Any]] = []
    state: dict[str, Any] = {"key": None}

    def render(v: dict[str, Any]) -> None:
        try:
            mol = load_molecule(v["source"], v["qm9_index"], v["smiles"], v["xyz"])
        except (ValueError, IndexError) as exc:
            panel.error = f"{type(exc).__name__}: {exc}"
            info.value = f"<span style='color:#b00'>{panel.error}</span> (kept the last molecule)"
            return
        panel.error = ""
        info.value = _molecule_info(mol)
        key = _mol_key(mol)
        if key == state["key"]:
            return
        state["key"] = key
        panel.molecule = mol
        _replace_view(view_box, molecule_view(mol))
        for callback in listeners:
            callback(mol)

    panel = Panel(controls, render, [info, view_box], title="Molecule picker")
    panel.molecule = camphor()
    panel.error = ""
    panel.view_box = view_box
    panel.on_molecule = listeners.append
    panel.refresh()
    return panel


def _follow(source: Molecule | Panel | None, default: Callable[[], Molecule]) -> Molecule:
    if source is None:
        return default()
    if isinstance(source, Molecule):
        return source
    mol = getattr(source, "molecule", None)
    if not isinstance(mol, Molecule):
        raise TypeError("molecule must be an afmkit.Molecule or a molecule_picker_panel()")
    return mol


# ---------------------------------------------------------------------------------------------
# 2. viewing directions (Eq. 25)
# ---------------------------------------------------------------------------------------------
def rotation_panel(
    molecule: Molecule | Panel | None = None,
    *,
    n_candidates: int = 100,
    n_best: int = 20,
    beta: float = 1.0,
    preview_pixels: int = 48,
    preview: bool = True,
    show_3d: bool = True,
) -> Panel:
    """Thesis Eq. 25: which viewing directions does the data set keep?

    For ``n_candidates`` near-uniform directions d (Fibonacci sphere), the molecule is rotated so
    that d points up (towards the tip) and scored with S = Σ_i exp(−β (z_close − z_i)); the
    ``n_best`` highest scores are kept.

    Args:
        molecule: an :class:`afmkit.Molecule`, or a :func:`molecule_picker_panel` to follow
            (the panel re-renders when the picker's molecule changes). Default 1S-camphor.
        n_candidates, n_best, beta: initial slider values (count, count, 1/Å).
        preview_pixels: pixels per side of the AFM preview (16 × 16 Å window).
        preview: initial state of the "AFM preview" check box.
        show_3d: add an nglview 3D view with an arrow along the chosen direction.

    Controls: ``n_candidates``, ``n_best``, ``beta`` (1/Å), ``view`` (rank among the kept
    directions, 0 = best), ``preview`` (check box). Outputs: one plotly figure (directions on
    the unit sphere coloured by S; sorted scores; top view of the chosen view; closest Δf slice
    of it), a text line, and optionally the 3D view.

    Attributes added: ``rotations`` (n_best, 3, 3) and ``scores`` (n_best,) of the kept views,
    best first; ``rotated`` (the molecule in the chosen view); ``stack`` (its preview Δf stack
    in Hz, or None); ``figure`` (the plotly ``FigureWidget``).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    controls = {
        "n_candidates": int_slider("candidate directions", n_candidates, 10, 400, 10),
        "n_best": int_slider("kept directions", n_best, 1, 60),
        "beta": slider("β", beta, 0.1, 4.0, 0.1, "1/Å"),
        "view": int_slider("shown view (rank, 0 = best)", 0, 0, 59),
        "preview": w.Checkbox(value=preview, description="AFM preview (closest slice)"),
    }
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
    bonds, atoms = topview_traces(camphor())
    fig.add_trace(bonds, row=1, col=3)
    fig.add_trace(atoms, row=1, col=3)
    p0 = SimulationParams(pixels=(preview_pixels, preview_pixels))
    xs, ys = p0.pixel_coordinates()
    fig.add_trace(
        _heatmap(xs, ys, colorbar=_colorbar(fig, 1, 4, "Δf (Hz)"), showscale=True), row=1, col=4
    )
    fig.update_scenes(
        xaxis_title="d_x", yaxis_title="d_y", zaxis_title="d_z", aspectmode="cube",
        xaxis_range=[-1.1, 1.1], yaxis_range=[-1.1, 1.1], zaxis_range=[-1.1, 1.1],
    )  # fmt: skip
    fig.update_xaxes(title_text="rank", row=1, col=2)
    fig.update_yaxes(title_text="S (Eq. 25, dimensionless)", row=1, col=2)
    _axes_equal(fig, 1, 3, "x (Å)", "y (Å)")
    _axes_equal(fig, 1, 4, "x − x_c (Å)", "y − y_c (Å)")
    fig.update_layout(
        height=360, width=1150, margin=_FIG_MARGIN, showlegend=False, bargap=0.05,
        scene_camera={"eye": {"x": 1.4, "y": 1.4, "z": 0.9}},
    )  # fmt: skip
    figure = go.FigureWidget(fig)
    info = w.HTML()
    view_box = w.Box(layout={"width": "350px"})
    outputs: list[w.Widget] = [figure, info] + ([view_box] if show_3d else [])
    state: dict[str, Any] = {"mol": _follow(molecule, camphor)}

    def render(v: dict[str, Any]) -> None:
        mol = state["mol"]
        n = int(v["n_candidates"])
        k_best = min(int(v["n_best"]), n)
        beta_v = float(v["beta"])
        rank = min(int(v["view"]), k_best - 1)
        rots = uniform_rotations(n)
        scores = rotation_scores(mol, rots, beta_v)
        order = np.argsort(-scores, kind="stable")
        kept = order[:k_best]
        dirs = rots[:, 2, :]  # R maps d onto +z, so d is R's third row
        chosen = kept[rank]
        rotated = mol.rotated(rots[chosen])
        rotated.name = f"{mol.name} (view {rank})"
        panel.rotations, panel.scores = rots[kept], scores[kept]
        panel.rotated = rotated
        stack = preview_stack(rotated, preview_pixels, 10) if v["preview"] else None
        panel.stack = stack
        colours = np.where(np.arange(n) < k_best, "#1f77b4", "#c7c7c7")
        colours[rank] = "red"
        with figure.batch_update():
            cand, keep_tr, view_tr, bars, bonds_tr, atoms_tr, heat = figure.data
            cand.update(x=dirs[:, 0], y=dirs[:, 1], z=dirs[:, 2], marker={"color": scores})
            keep_tr.update(x=dirs[kept, 0], y=dirs[kept, 1], z=dirs[kept, 2])
            d = dirs[chosen]
            view_tr.update(x=[0, d[0]], y=[0, d[1]], z=[0, d[2]])
            bars.update(x=np.arange(n), y=scores[order], marker={"color": colours})
            _update_topview(bonds_tr, atoms_tr, rotated)
            heat.visible = stack is not None
            if stack is not None:
                heat.z = stack[:, :, -1].T
            _set_title(figure, 2, f"top view {rank} (S = {scores[chosen]:.2f})")
            _set_title(figure, 3, "Δf preview, closest slice" if stack is not None else "")
        info.value = (
            f"{mol.name}: kept {k_best} of {n} directions, S from {scores[kept].min():.2f} to "
            f"{scores[kept].max():.2f} (all: {scores.min():.2f} … {scores.max():.2f}); "
            f"shown view {rank}: d = ({d[0]:+.2f}, {d[1]:+.2f}, {d[2]:+.2f})"
        )
        if show_3d:
            _replace_view(view_box, molecule_view(mol, direction=d))

    panel = Panel(controls, render, outputs, title="Viewing directions (thesis Eq. 25)")
    panel.figure = figure
    panel.rotations = panel.scores = panel.rotated = panel.stack = None
    if isinstance(molecule, Panel) and hasattr(molecule, "on_molecule"):

        def follow(mol: Molecule) -> None:
            state["mol"] = mol
            panel.refresh()

        molecule.on_molecule(follow)
    return panel


# ---------------------------------------------------------------------------------------------
# 3. descriptors
# ---------------------------------------------------------------------------------------------
def _molecule_options(molecule: Molecule | Panel | None) -> tuple[list[str], dict[str, Any]]:
    labels = list(PRESET_MOLECULES)
    extra: dict[str, Any] = {}
    if molecule is not None:
        name = "your molecule"
        labels.insert(0, name)
        extra[name] = molecule
    return labels, extra


def _get_molecule(label: str, extra: dict[str, Any]) -> Molecule:
    if label in extra:
        return _follow(extra[label], camphor)
    return _preset(label)


def _vdw_radii(numbers: np.ndarray, scale: float) -> dict[int, float]:
    zs = np.unique(numbers)
    return {int(z): float(scale * elements.vdw_radius(int(z))) for z in zs}


def _grid_lines(center: np.ndarray, boxes: int, size: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the xyz box edges as one polyline with NaN breaks (Å)."""
    half = boxes * size / 2
    edges = np.arange(boxes + 1) * size - half
    xs, ys = [], []
    for e in edges:
        xs += [center[0] + e, center[0] + e, np.nan, center[0] - half, center[0] + half, np.nan]
        ys += [center[1] - half, center[1] + half, np.nan, center[1] + e, center[1] + e, np.nan]
    return np.array(xs), np.array(ys)


def descriptor_panel(
    molecule: Molecule | Panel | None = None,
    *,
    pixels: int = 64,
    n_slices: int = 20,
) -> Panel:
    """The five descriptors of thesis §3.2 next to Δf slices of the same molecule.

    The molecule is put into one of its 10 best Eq. 25 views, simulated once on a preview grid
    (``pixels`` × ``pixels`` over 16 × 16 Å, ``n_slices`` slices; cached per molecule and view)
    and its descriptors are recomputed on the same pixel grid whenever a slider moves.

    Args:
        molecule: an extra molecule (or a :func:`molecule_picker_panel` to follow) offered as
            "your molecule" beside the presets (1S-camphor and three QM9 molecules).
        pixels: pixels per side of the grid (descriptors and Δf), e.g. 32 quick, 128 full.
        n_slices: number of Δf slices (0.1 Å apart; slice 0 farthest, last closest).

    Controls (units in the labels): ``molecule``, ``view`` (Eq. 25 rank), ``iso_force`` (eV/Å)
    and ``height_cutoff`` (Å) of the Height Map (the ES Map is evaluated on that surface),
    ``vdw_scale`` (× R_vdW) and ``vdw_cutoff`` (Å), ``disk_width`` (× r_cov) and
    ``disk_cutoff`` (Å), ``es_floor_zero`` (ES Map background set to 0 V, as ppafm),
    ``box_size`` (Å) and ``z_min`` (Å) of the xyz grid, ``slice`` (which Δf slice to show).

    Attributes added: ``descriptors`` (dict name → array of the last render), ``stack`` (the
    Δf stack in Hz), ``rotated`` (the molecule in scan orientation), ``figure``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels, extra = _molecule_options(molecule)
    controls = {
        "molecule": dropdown("molecule", labels, labels[0]),
        "view": int_slider("view (Eq. 25 rank)", 0, 0, 9),
        "iso_force": slider("Height Map iso-force F_z", D.DEFAULT_ISO_FORCE, 0.02, 0.5, 0.01,
                            "eV/Å"),
        "height_cutoff": slider("Height Map cut-off", D.HEIGHT_CUTOFF, 0.3, 4.0, 0.1, "Å"),
        "vdw_scale": slider("vdW radius scale", 1.0, 0.5, 1.5, 0.05, "× R_vdW"),
        "vdw_cutoff": slider("vdW Spheres cut-off", D.VDW_CUTOFF, 0.3, 4.0, 0.1, "Å"),
        "disk_width": slider("disk width", D.DISK_WIDTH_FACTOR, 0.3, 2.5, 0.05, "× r_cov"),
        "disk_cutoff": slider("disk cut-off", D.DISK_CUTOFF, 0.2, 3.0, 0.1, "Å"),
        "es_floor_zero": w.Checkbox(value=False, description="ES Map: background = 0 V"),
        "box_size": slider("xyz box size", D.XYZ_BOX_SIZE, 0.5, 2.0, 0.25, "Å"),
        "z_min": slider("xyz z_min", D.XYZ_Z_MIN, -2.0, -0.1, 0.1, "Å"),
        "slice": int_slider("Δf slice (0 = farthest)", n_slices // 2, 0, n_slices - 1),
    }  # fmt: skip
    titles = (
        "Atomic Disks", "vdW Spheres", "Height Map", "ES Map",
        "xyz grid", "Δf slice", "Δf closest slice", "top view",
    )  # fmt: skip
    fig = make_subplots(rows=2, cols=4, subplot_titles=titles, horizontal_spacing=0.1,
                        vertical_spacing=0.14)  # fmt: skip
    p0 = SimulationParams(pixels=(pixels, pixels))
    xs, ys = p0.pixel_coordinates()
    cbar_titles = ["Å above cut-off", "Å (top nucleus = 0)", "Å (top nucleus = 0)", "V"]
    scales = ["Viridis", "gray", "gray", "RdBu_r"]
    for c in range(4):
        fig.add_trace(
            _heatmap(xs, ys, scales[c], colorbar=_colorbar(fig, 1, c + 1, cbar_titles[c])),
            row=1,
            col=c + 1,
        )
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
        fig.add_trace(_heatmap(xs, ys, colorbar=_colorbar(fig, 2, c, "Δf (Hz)")), row=2, col=c)
    bonds, atoms = topview_traces(camphor(), size_px=10)
    fig.add_trace(bonds, row=2, col=4)
    fig.add_trace(atoms, row=2, col=4)
    for r in (1, 2):
        for c in (1, 2, 3, 4):
            _axes_equal(fig, r, c, "x (Å)", "y (Å)")
    fig.update_layout(height=640, width=1150, margin=_FIG_MARGIN, showlegend=False)
    for ann in fig.layout.annotations:
        ann.font = {"size": 12}
    figure = go.FigureWidget(fig)
    info = w.HTML()
    state: dict[str, Any] = {"key": None}

    def render(v: dict[str, Any]) -> None:
        mol0 = _get_molecule(v["molecule"], extra)
        rot_key = (_mol_key(mol0), int(v["view"]))
        if rot_key != state["key"]:
            state["rotated"] = _best_view(mol0, int(v["view"]))
            state["key"] = rot_key
        mol = state["rotated"]
        stack = preview_stack(mol, pixels, n_slices)
        params = _preview_simulator(pixels, n_slices, PREVIEW_FF_STEP).params
        center = scan_center(mol)
        cx, cy = params.pixel_coordinates(center)
        height = D.height_map(mol, params, center, iso_force=v["iso_force"],
                              cutoff=v["height_cutoff"])  # fmt: skip
        radii = _vdw_radii(mol.numbers, v["vdw_scale"])
        out = {
            "disks": D.atomic_disks(mol, params, center, cutoff=v["disk_cutoff"],
                                    width_factor=v["disk_width"]),
            "spheres": D.vdw_spheres(mol, params, center, cutoff=v["vdw_cutoff"], radii=radii),
            "height": height,
            "es": D.es_map(mol, params, center, height=height,
                           floor_value=0.0 if v["es_floor_zero"] else None),
        }  # fmt: skip
        size = float(v["box_size"])
        nbox = max(1, int(round(params.scan_size[0] / size)))
        classes, offsets = D.xyz_grid(mol, params, center, boxes=(nbox, nbox), box_size=size,
                                      z_min=v["z_min"])  # fmt: skip
        found = D.decode_xyz(classes, offsets, center_xy=center, box_size=size)
        out["xyz_classes"], out["xyz_offsets"], out["xyz_atoms"] = classes, offsets, found
        k = min(int(v["slice"]), n_slices - 1)
        heights = params.slice_heights()
        es_max = float(np.max(np.abs(out["es"]))) or 1.0
        gx, gy = _grid_lines(center, nbox, size)
        pos = np.asarray(mol.positions)
        frac = np.clip(1.0 + found[:, 2] / -float(v["z_min"]), 0.0, 1.0)
        with figure.batch_update():
            tr = figure.data
            for i, name in enumerate(("disks", "spheres", "height", "es")):
                tr[i].update(x=cx, y=cy, z=out[name].T)
            tr[3].update(zmin=-es_max, zmax=es_max)
            tr[4].update(x=gx, y=gy)
            tr[5].update(x=pos[:, 0], y=pos[:, 1])
            tr[6].update(
                x=found[:, 0], y=found[:, 1], marker={"size": 6 + 12 * frac},
                text=[f"z − z_top = {z:.2f} Å" for z in found[:, 2]],
            )  # fmt: skip
            tr[7].update(x=cx, y=cy, z=stack[:, :, k].T)
            tr[8].update(x=cx, y=cy, z=stack[:, :, -1].T)
            _update_topview(tr[9], tr[10], mol, size_px=10)
            rng = [cx[0], cx[-1], cy[0], cy[-1]]
            for r, c in ((2, 1), (2, 4)):
                figure.update_xaxes(range=rng[:2], row=r, col=c)
                figure.update_yaxes(range=rng[2:], row=r, col=c)
            _set_title(figure, 0, f"Atomic Disks ({v['disk_width']:.2f} r_cov, "
                                  f"cut {v['disk_cutoff']:.1f} Å)")
            _set_title(figure, 1, f"vdW Spheres ({v['vdw_scale']:.2f} R_vdW, "
                                  f"cut {v['vdw_cutoff']:.1f} Å)")
            _set_title(figure, 2, f"Height Map (F_z = {v['iso_force']:.2f} eV/Å, "
                                  f"cut {v['height_cutoff']:.1f} Å)")
            _set_title(figure, 4, f"xyz grid ({len(found)} atoms, {nbox}×{nbox} boxes)")
            _set_title(figure, 5, f"Δf slice {k} (PP {heights[k]:.1f} Å above top)")
            _set_title(figure, 6, f"Δf closest (PP {heights[-1]:.1f} Å above top)")
        panel.descriptors, panel.stack, panel.rotated = out, stack, mol
        info.value = (
            f"{mol.name}, {mol.formula}: grid {pixels}×{pixels} px over "
            f"{params.scan_size[0]:.0f}×{params.scan_size[1]:.0f} Å; Δf range of slice {k}: "
            f"{stack[:, :, k].min():.2f} … {stack[:, :, k].max():.2f} Hz; "
            f"ES Map {out['es'].min():+.3f} … {out['es'].max():+.3f} V"
        )

    panel = Panel(controls, render, [figure, info], title="Descriptors (thesis §3.2)")
    panel.figure = figure
    panel.descriptors, panel.stack, panel.rotated = {}, None, None
    if isinstance(molecule, Panel) and hasattr(molecule, "on_molecule"):
        molecule.on_molecule(
            lambda _m: panel.refresh() if panel.controls["molecule"].value in extra else None
        )
    return panel


# ---------------------------------------------------------------------------------------------
# 4. augmentation
# ---------------------------------------------------------------------------------------------
def augmentation_steps(
    stack: np.ndarray,
    seed: int = 0,
    *,
    n_window: int = 15,
    n_keep: int = 10,
    normalize: bool = True,
    noise_c: float = 0.1,
    max_shift: int = 3,
    cutout_holes: int = 5,
    cutout_p: float = 0.2,
    cutout_area: tuple[float, float] = (0.001, 0.01),
) -> dict[str, Any]:
    """Run the thesis's five augmentation steps (§3.4) on one stack, keeping every stage.

    Draws the random numbers in the same order as :func:`afmkit.augment.augment` with the same
    seed, so ``stages["cutouts"]`` equals ``augment(stack[None], default_rng(seed), ...)[0]``
    (with ``cutout=cutout_holes > 0``).

    Args:
        stack: (nx, ny, nz) Δf stack in Hz, slice 0 farthest.
        seed: seed of the ``numpy.random.Generator``.
        n_window, n_keep: scan-height randomisation (contiguous window, kept slices).
        normalize: per-slice normalisation (mean 0, std 1).
        noise_c: noise strength c of Eq. 33 (dimensionless; 0 = off).
        max_shift: largest per-slice shift, pixels (0 = off).
        cutout_holes, cutout_p, cutout_area: cutout attempts per slice, probability of each,
            (min, max) area as a fraction of the slice.

    Returns:
        dict with the (nx, ny, k) stages ``"heights"``, ``"normalized"``, ``"noise"``,
        ``"shifted"``, ``"cutouts"``, and ``"indices"`` (kept slice indices), ``"shifts"``
        ((k, 2) px or None), ``"boxes"`` ((k, holes, 5) or None).
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(stack, dtype=np.float32)[None]
    out: dict[str, Any] = {}
    h, idx = A.select_heights(X, rng, n_window, n_keep, return_indices=True)
    out["indices"] = idx[0]
    out["heights"] = h[0]
    x = A.normalize_slices(h) if normalize else h
    out["normalized"] = x[0]
    x = A.add_noise(x, rng, noise_c) if noise_c > 0 else x
    out["noise"] = x[0]
    out["shifts"] = None
    if max_shift > 0:
        x, shifts = A.shift_slices(x, rng, max_shift, return_shifts=True)
        out["shifts"] = shifts[0]
    out["shifted"] = x[0]
    out["boxes"] = None
    if cutout_holes > 0:
        x, boxes = A.cutouts(x, rng, cutout_holes, cutout_p, cutout_area, return_boxes=True)
        out["boxes"] = boxes[0]
    out["cutouts"] = x[0]
    return out


def augmentation_panel(
    molecule: Molecule | Panel | None = None,
    *,
    pixels: int = 64,
    n_slices: int = 20,
    seed: int = 0,
) -> Panel:
    """Thesis §3.4: the five augmentation steps, each with its strength, before and after.

    The molecule (default 1S-camphor, best Eq. 25 view) is simulated once on a preview grid
    (cached); every render re-runs :func:`augmentation_steps` with ``numpy.random.default_rng``
    seeded by the ``seed`` control, so the same settings always give the same images.

    Args:
        molecule: molecule (or :func:`molecule_picker_panel` to follow), put into its best view.
        pixels: pixels per side of the 16 × 16 Å window.
        n_slices: simulated slices (thesis: 20).
        seed: initial seed.

    Controls: ``seed``, ``n_window`` and ``n_keep`` (slices), ``normalize``, ``noise_c``
    (dimensionless, Eq. 33), ``max_shift`` (px), ``cutout_holes`` (count), ``cutout_p``
    (probability), ``cutout_area`` (largest rectangle, % of the slice), ``slice`` (which kept
    slice to show). Outputs: the kept slice indices and five images: the chosen slice as
    simulated (Hz), normalised, with noise, shifted, with cutouts.

    Attributes added: ``stages`` (the dict of :func:`augmentation_steps`), ``stack`` (input,
    Hz), ``figure``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    controls = {
        "seed": int_slider("seed", seed, 0, 99),
        "n_window": int_slider("1. height window", min(15, n_slices), 1, n_slices, unit="slices"),
        "n_keep": int_slider("1. kept slices", min(10, n_slices), 1, n_slices, unit="slices"),
        "normalize": w.Checkbox(value=True, description="2. normalise each slice"),
        "noise_c": slider("3. noise strength c", 0.1, 0.0, 0.5, 0.01, "× slice range"),
        "max_shift": int_slider("4. max shift", 3, 0, 8, unit="px"),
        "cutout_holes": int_slider("5. cutout attempts", 5, 0, 20, unit="per slice"),
        "cutout_p": slider("5. cutout probability", 0.2, 0.0, 1.0, 0.05),
        "cutout_area": slider("5. cutout max area", 1.0, 0.1, 5.0, 0.1, "% of slice"),
        "slice": int_slider("shown kept slice (0 = farthest)", 9, 0, n_slices - 1),
    }
    titles = ("1. kept slices", "slice as simulated", "2. normalised", "3. + noise",
              "4. shifted", "5. cutouts")  # fmt: skip
    fig = make_subplots(rows=2, cols=3, subplot_titles=titles, horizontal_spacing=0.13,
                        vertical_spacing=0.16)  # fmt: skip
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
        heat = _heatmap(pix, pix, colorbar=_colorbar(fig, r, c, unit))
        heat.hovertemplate = "x %{x} px<br>y %{y} px<br>%{z:.3g}<extra></extra>"
        fig.add_trace(heat, row=r, col=c)
        _axes_equal(fig, r, c, "x (px)", "y (px)")
    fig.update_layout(height=620, width=1000, margin=_FIG_MARGIN, showlegend=False)
    for ann in fig.layout.annotations:
        ann.font = {"size": 12}
    figure = go.FigureWidget(fig)
    info = w.HTML()
    state: dict[str, Any] = {"mol": molecule, "key": None}

    def render(v: dict[str, Any]) -> None:
        mol0 = _follow(state["mol"], camphor)
        if _mol_key(mol0) != state["key"]:
            state["rotated"] = _best_view(mol0, 0)
            state["key"] = _mol_key(mol0)
        stack = preview_stack(state["rotated"], pixels, n_slices)
        n_window = int(v["n_window"])
        n_keep = min(int(v["n_keep"]), n_window)
        area = float(v["cutout_area"]) / 100.0
        normalize = bool(v["normalize"])
        st = augmentation_steps(
            stack, int(v["seed"]), n_window=n_window, n_keep=n_keep,
            normalize=normalize, noise_c=float(v["noise_c"]),
            max_shift=int(v["max_shift"]), cutout_holes=int(v["cutout_holes"]),
            cutout_p=float(v["cutout_p"]), cutout_area=(area / 10.0, area),
        )  # fmt: skip
        k = min(int(v["slice"]), n_keep - 1)
        idx = st["indices"]
        kept = np.isin(np.arange(n_slices), idx).astype(float)
        unit = "σ units" if normalize else "Δf (Hz)"
        with figure.batch_update():
            tr = figure.data
            tr[0].update(x=np.arange(n_slices), y=kept)
            tr[1].update(x=idx, y=np.ones(len(idx)))
            tr[2].update(x=[idx[k]], y=[1.0])
            images = [stack[:, :, idx[k]]] + [
                st[s][:, :, k] for s in ("normalized", "noise", "shifted", "cutouts")
            ]
            for i, img in enumerate(images):
                tr[3 + i].z = img.T
                if i > 0:
                    tr[3 + i].colorbar.title.text = unit
            shift = st["shifts"][k] if st["shifts"] is not None else (0, 0)
            n_rect = int(st["boxes"][k, :, 4].sum()) if st["boxes"] is not None else 0
            _set_title(figure, 1, f"slice {idx[k]} as simulated")
            _set_title(figure, 2, "2. normalised" if normalize else "2. (not normalised)")
            _set_title(figure, 3, f"3. + noise, c = {float(v['noise_c']):.2f}")
            _set_title(figure, 4, f"4. shifted by ({shift[0]:+d}, {shift[1]:+d}) px")
            _set_title(figure, 5, f"5. cutouts ({n_rect} rectangles)")
        panel.stages, panel.stack = st, stack
        clipped = " (kept slices clipped to the window)" if int(v["n_keep"]) > n_window else ""
        info.value = (
            f"{state['rotated'].name}: {pixels}×{pixels} px, {n_slices} slices; kept slices "
            f"{idx.tolist()}{clipped}; showing kept slice {k} = simulated slice {idx[k]}"
        )

    panel = Panel(controls, render, [figure, info], title="Augmentation (thesis §3.4)")
    panel.figure = figure
    panel.stages, panel.stack = {}, None
    if isinstance(molecule, Panel) and hasattr(molecule, "on_molecule"):
        molecule.on_molecule(lambda _m: panel.refresh())
    return panel
