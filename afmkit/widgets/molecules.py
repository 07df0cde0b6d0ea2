"""Panels of notebook 04: choose a molecule, look at it in 3D, and its viewing directions.

Panels (each returns an :class:`afmkit.widgets.core.Panel`; import them from
:mod:`afmkit.widgets`):

:func:`molecule_picker_panel`
    Choose a molecule: 1S-camphor, a QM9 index, a SMILES string (RDKit) or pasted .xyz text;
    shows its formula, charges and an nglview 3D view. ``panel.molecule`` is the current choice;
    the rotation, descriptor and augmentation panels can follow it.
:func:`rotation_panel`
    Thesis Eq. 25: candidate viewing directions on a sphere coloured by their score S, the
    sorted scores with the kept ones highlighted, the top view of one chosen view and a small
    AFM preview of it (figure: :func:`afmkit.plotting.interactive.rotation_figure`).

Helpers: :func:`molecule_view` (nglview 3D view, used by every notebook), :func:`to_rdkit`,
:func:`molecule_pdb`. Also importable from here for compatibility:
:func:`~afmkit.structures.catalogue.load_molecule`,
:func:`~afmkit.widgets.previews.preview_stack` and
:func:`~afmkit.plotting.interactive.topview_traces`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.plotting.interactive import rotation_figure, topview_traces, update_rotation_figure
from afmkit.structures import elements
from afmkit.structures.catalogue import DEFAULT_MOLECULE, example_molecule, load_molecule
from afmkit.structures.molecules import Molecule
from afmkit.targets.rotations import rotation_scores, uniform_rotations
from afmkit.widgets.core import Panel, dropdown, int_slider, slider
from afmkit.widgets.previews import follow_molecule, molecule_key, preview_stack

__all__ = [
    "load_molecule",
    "molecule_pdb",
    "molecule_picker_panel",
    "molecule_view",
    "preview_stack",
    "rotation_panel",
    "to_rdkit",
    "topview_traces",
]

#: Initial text of the picker's .xyz box.
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


# ---------------------------------------------------------------------------------------------
# 3D views
# ---------------------------------------------------------------------------------------------
def to_rdkit(mol: Molecule) -> Any:
    """RDKit molecule with ``mol``'s atoms and 3D positions (Å); bonds guessed from distances.

    Bonds come from RDKit's ``DetermineConnectivity`` (covalent radii); bond orders are not
    assigned. Used for nglview's 3D views.

    Parameters
    ----------
    mol
        The molecule.

    Returns
    -------
    rdkit.Chem.Mol
        One conformer with the positions in Å.
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


def molecule_pdb(mol: Molecule) -> str:
    """The molecule as PDB text (HETATM records; positions Å), e.g. for nglview.

    Parameters
    ----------
    mol
        The molecule.

    Returns
    -------
    str
        One HETATM line per atom and a closing ``END`` line.
    """
    lines = []
    for k, (z, (x, y, zz)) in enumerate(zip(mol.numbers, mol.positions, strict=True), start=1):
        sym = elements.symbol(int(z))
        name = f"{sym}{k}"[:4]
        lines.append(
            f"HETATM{k:5d} {name:<4s} MOL A   1    {x:8.3f}{y:8.3f}{zz:8.3f}  1.00  0.00"
            f"          {sym:>2s}"
        )
    return "\n".join([*lines, "END"]) + "\n"


def molecule_view(
    mol: Molecule, direction: np.ndarray | None = None, height_px: int = 300
) -> Any:
    """An nglview 3D ball-and-stick view of ``mol`` (positions in Å).

    Parameters
    ----------
    mol
        The molecule.
    direction
        Optional viewing direction (unit vector); an orange arrow is drawn from 6 Å to 3.5 Å
        from the centroid along it, where the tip sits, pointing at the molecule.
    height_px
        Widget height on screen, pixels.

    Returns
    -------
    nglview.NGLWidget
        The view (constructs fine without a browser).
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
    ball-and-stick view. Molecules are built by
    :func:`afmkit.structures.catalogue.load_molecule`.

    Parameters
    ----------
    source
        Initial source: ``"camphor"``, ``"qm9"``, ``"smiles"`` or ``"xyz"``.
    qm9_index
        Initial QM9 index (0-based).
    smiles
        Initial SMILES string (default p-benzoquinone).
    xyz_text
        Initial .xyz text (default formaldehyde without charges).

    Returns
    -------
    Panel
        Rendered once. Attributes added: ``molecule`` (the current :class:`afmkit.Molecule`),
        ``error`` (the last loading error message, or ``""``), ``view_box`` (the box holding
        the 3D view), ``on_molecule(callback)`` (``callback(mol)`` is called after every new
        choice; other panels use it to follow the picker).
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
        key = molecule_key(mol)
        if key == state["key"]:
            return
        state["key"] = key
        panel.molecule = mol
        _replace_view(view_box, molecule_view(mol))
        for callback in listeners:
            callback(mol)

    panel = Panel(controls, render, [info, view_box], title="Molecule picker")
    panel.molecule = example_molecule(DEFAULT_MOLECULE)
    panel.error = ""
    panel.view_box = view_box
    panel.on_molecule = listeners.append
    panel.refresh()
    return panel


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
    """Thesis Eq. 25: the viewing directions a data set keeps, and why.

    For ``n_candidates`` near-uniform directions d (Fibonacci sphere), the molecule is rotated so
    that d points up (towards the tip) and scored with S = Σ_i exp(−β (z_close − z_i)); the
    ``n_best`` highest scores are kept.

    Controls: ``n_candidates``, ``n_best``, ``beta`` (1/Å), ``view`` (rank among the kept
    directions, 0 = best), ``preview`` (check box). Outputs: one plotly figure (directions on
    the unit sphere coloured by S; sorted scores; top view of the chosen view; closest Δf slice
    of it), a text line, and optionally the 3D view.

    Parameters
    ----------
    molecule
        An :class:`afmkit.Molecule`, or a :func:`molecule_picker_panel` to follow (the panel
        re-renders when the picker's molecule changes). Default 1S-camphor.
    n_candidates, n_best
        Initial numbers of candidate and kept directions.
    beta
        Initial β of Eq. 25, 1/Å.
    preview_pixels
        Pixels per side of the AFM preview (16 × 16 Å window).
    preview
        Initial state of the "AFM preview" check box.
    show_3d
        Add an nglview 3D view with an arrow along the chosen direction.

    Returns
    -------
    Panel
        Attributes added: ``rotations`` (n_best, 3, 3) and ``scores`` (n_best,) of the kept
        views, best first; ``rotated`` (the molecule in the chosen view); ``stack`` (its preview
        Δf stack in Hz, or None); ``figure`` (the plotly ``FigureWidget``).
    """
    import plotly.graph_objects as go

    controls = {
        "n_candidates": int_slider("candidate directions", n_candidates, 10, 400, 10),
        "n_best": int_slider("kept directions", n_best, 1, 60),
        "beta": slider("β", beta, 0.1, 4.0, 0.1, "1/Å"),
        "view": int_slider("shown view (rank, 0 = best)", 0, 0, 59),
        "preview": w.Checkbox(value=preview, description="AFM preview (closest slice)"),
    }
    state: dict[str, Any] = {"mol": follow_molecule(molecule)}
    figure = go.FigureWidget(rotation_figure(state["mol"], preview_pixels))
    info = w.HTML()
    view_box = w.Box(layout={"width": "350px"})
    outputs: list[w.Widget] = [figure, info] + ([view_box] if show_3d else [])

    def render(v: dict[str, Any]) -> None:
        mol = state["mol"]
        n = int(v["n_candidates"])
        k_best = min(int(v["n_best"]), n)
        rank = min(int(v["view"]), k_best - 1)
        rots = uniform_rotations(n)
        scores = rotation_scores(mol, rots, float(v["beta"]))
        kept = np.argsort(-scores, kind="stable")[:k_best]
        dirs = rots[:, 2, :]  # R maps d onto +z, so d is R's third row
        chosen = kept[rank]
        rotated = mol.rotated(rots[chosen])
        rotated.name = f"{mol.name} (view {rank})"
        panel.rotations, panel.scores = rots[kept], scores[kept]
        panel.rotated = rotated
        stack = preview_stack(rotated, preview_pixels, 10) if v["preview"] else None
        panel.stack = stack
        update_rotation_figure(figure, dirs, scores, k_best, rank, rotated, stack)
        d = dirs[chosen]
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
