"""Panel of notebook 05: the five descriptors next to Δf slices of the same molecule.

:func:`descriptor_panel` puts a molecule into one of its best Eq. 25 views, simulates it once on a
preview grid (cached, :func:`afmkit.widgets.previews.preview_stack`) and recomputes the
descriptors (:mod:`afmkit.targets.descriptors`) whenever a slider moves; the figure is
:func:`afmkit.plotting.interactive.descriptor_figure`, redrawn in place.

``PRESET_MOLECULES`` is kept for compatibility: it is the molecule catalogue,
:data:`afmkit.structures.catalogue.CATALOGUE`.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.physics.simulator import scan_center
from afmkit.plotting.interactive import descriptor_figure, update_descriptor_figure
from afmkit.structures import elements
from afmkit.structures.catalogue import CATALOGUE
from afmkit.structures.molecules import Molecule
from afmkit.targets import descriptors as D
from afmkit.widgets.core import Panel, dropdown, int_slider, slider
from afmkit.widgets.previews import (
    MoleculeChoice,
    best_view,
    molecule_key,
    preview_params,
    preview_stack,
)

__all__ = ["PRESET_MOLECULES", "descriptor_panel"]

#: The molecules the panel offers: the catalogue (label → :class:`CatalogueEntry
#: <afmkit.structures.catalogue.CatalogueEntry>`); kept under its old name.
PRESET_MOLECULES = CATALOGUE


def _vdw_radii(numbers: np.ndarray, scale: float) -> dict[int, float]:
    zs = np.unique(numbers)
    return {int(z): float(scale * elements.vdw_radius(int(z))) for z in zs}


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

    Controls (units in the labels): ``molecule``, ``view`` (Eq. 25 rank), ``iso_force`` (eV/Å)
    and ``height_cutoff`` (Å) of the Height Map (the ES Map is evaluated on that surface),
    ``vdw_scale`` (× R_vdW) and ``vdw_cutoff`` (Å), ``disk_width`` (× r_cov) and
    ``disk_cutoff`` (Å), ``es_floor_zero`` (ES Map background set to 0 V, as ppafm),
    ``box_size`` (Å) and ``z_min`` (Å) of the xyz grid, ``slice`` (which Δf slice to show).

    Parameters
    ----------
    molecule
        An extra molecule (or a :func:`~afmkit.widgets.molecules.molecule_picker_panel` to
        follow, offered as "your molecule") offered first, before the catalogue molecules.
    pixels
        Pixels per side of the grid (descriptors and Δf), e.g. 32 quick, 128 full.
    n_slices
        Number of Δf slices (0.1 Å apart; slice 0 farthest, last closest).

    Returns
    -------
    Panel
        Attributes added: ``descriptors`` (dict name → array of the last render), ``stack``
        (the Δf stack in Hz), ``rotated`` (the molecule in scan orientation), ``figure``.
    """
    import plotly.graph_objects as go

    choice = MoleculeChoice(molecule)
    controls = {
        "molecule": dropdown("molecule", choice.labels, choice.first),
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
    figure = go.FigureWidget(descriptor_figure(choice.get(choice.first), pixels))
    info = w.HTML()
    params = preview_params(pixels, n_slices)
    state: dict[str, Any] = {"key": None}

    def render(v: dict[str, Any]) -> None:
        mol0 = choice.get(v["molecule"])
        rot_key = (molecule_key(mol0), int(v["view"]))
        if rot_key != state["key"]:
            state["rotated"] = best_view(mol0, int(v["view"]))
            state["key"] = rot_key
        mol = state["rotated"]
        stack = preview_stack(mol, pixels, n_slices)
        center = scan_center(mol)
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
        update_descriptor_figure(figure, mol, out, stack, k, params, center, v)
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
            lambda _m: panel.refresh() if choice.follows(panel.controls["molecule"].value)
            else None
        )  # fmt: skip
    return panel
