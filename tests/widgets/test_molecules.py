"""Panels of notebook 04 (afmkit.widgets.molecules): picker, viewing directions, 3D views."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.structures.molecules import Molecule
from afmkit.targets.rotations import select_rotations
from afmkit.widgets import molecules as M
from tests.conftest import benzene

#: A render that does not simulate must stay interactive on two cores (seconds).
FAST_S = 0.5
#: A render that runs one preview simulation (new molecule or view), seconds.
SIM_S = 2.0


def test_panels_are_served_by_widgets():
    import afmkit.widgets as W

    for name in ("molecule_picker_panel", "rotation_panel", "molecule_view"):
        assert getattr(W, name) is getattr(M, name)


def test_load_molecule_sources_and_rdkit():
    assert M.load_molecule("camphor").formula == "C10H16O"
    assert len(M.load_molecule("xyz", xyz_text=M.DEFAULT_XYZ)) == 4
    with pytest.raises(ValueError, match="unknown molecule source"):
        M.load_molecule("pdb")
    rd = M.to_rdkit(M.load_molecule("camphor"))
    assert rd.GetNumAtoms() == 27 and rd.GetNumBonds() == 28


def test_molecule_pdb_and_view():
    mol = benzene()
    pdb = M.molecule_pdb(mol)
    assert pdb.count("HETATM") == len(mol) and pdb.endswith("END\n")
    assert M.molecule_view(mol) is not None
    assert M.molecule_view(mol, direction=np.array([0.0, 0.0, 2.0])) is not None


def test_molecule_picker_panel():
    panel = M.molecule_picker_panel()
    assert panel.renders == 1 and panel.molecule.formula == "C10H16O"
    first_view = panel.view_box.children[0]
    seen: list[Molecule] = []
    panel.on_molecule(seen.append)
    panel.set(source="smiles")  # default SMILES: p-benzoquinone
    assert panel.molecule.formula == "C6H4O2" and panel.error == ""
    assert panel.view_box.children[0] is not first_view
    panel.set(smiles="not a smiles((")
    assert "invalid SMILES" in panel.error and panel.molecule.formula == "C6H4O2"
    panel.set(source="xyz")
    assert panel.molecule.formula == "CH2O" and len(seen) == 2
    assert panel.last_render_s < FAST_S


def test_rotation_panel_follows_eq25_and_picker():
    picker = M.molecule_picker_panel()
    panel = M.rotation_panel(picker, preview_pixels=24, show_3d=True)
    panel.refresh()
    rots, scores = select_rotations(picker.molecule, 100, 20)
    np.testing.assert_allclose(panel.scores, scores)
    np.testing.assert_allclose(panel.rotations, rots)
    assert panel.stack.shape == (24, 24, 10)
    old = panel.rotated.positions.copy()
    panel.set(n_best=5, beta=2.0, view=3)
    assert panel.rotations.shape == (5, 3, 3) and np.all(np.diff(panel.scores) <= 0)
    assert not np.allclose(panel.rotated.positions, old)
    assert panel.last_render_s < SIM_S
    assert panel.figure.layout.annotations[2].text.startswith("top view 3")
    panel.set(preview=False)
    assert panel.stack is None and panel.last_render_s < FAST_S
    assert panel.figure.data[-1].visible is False
    picker.set(source="xyz")  # the rotation panel follows the picker
    assert panel.rotated.formula == "CH2O"
