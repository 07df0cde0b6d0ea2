"""Panels of notebooks 04–06 (afmkit.panels.structures): defaults, moved controls, render times."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit import augment as A
from afmkit.molecules import Molecule
from afmkit.panels import structures as S
from afmkit.rotations import select_rotations

#: A render that does not simulate must stay interactive on two cores (seconds).
FAST_S = 0.5
#: A render that runs one preview simulation (new molecule or view), seconds.
SIM_S = 2.0


def test_panels_are_served_by_widgets():
    import afmkit.widgets as W

    for name in ("molecule_picker_panel", "rotation_panel", "descriptor_panel",
                 "augmentation_panel"):  # fmt: skip
        assert getattr(W, name) is getattr(S, name)


def test_load_molecule_sources():
    assert S.load_molecule("camphor").formula == "C10H16O"
    assert len(S.load_molecule("xyz", xyz_text=S.DEFAULT_XYZ)) == 4
    with pytest.raises(ValueError, match="unknown molecule source"):
        S.load_molecule("pdb")
    rd = S.to_rdkit(S.load_molecule("camphor"))
    assert rd.GetNumAtoms() == 27 and rd.GetNumBonds() == 28


def test_molecule_picker_panel():
    panel = S.molecule_picker_panel()
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
    picker = S.molecule_picker_panel()
    panel = S.rotation_panel(picker, preview_pixels=24, show_3d=True)
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
    panel.set(preview=False)
    assert panel.stack is None and panel.last_render_s < FAST_S
    assert panel.figure.data[-1].visible is False
    picker.set(source="xyz")  # the rotation panel follows the picker
    assert panel.rotated.formula == "CH2O"


def test_descriptor_panel_moves_every_slider_without_resimulating():
    panel = S.descriptor_panel(pixels=24, n_slices=12)
    panel.refresh()
    stack = panel.stack
    assert stack.shape == (24, 24, 12)
    before = {k: np.array(v, copy=True) for k, v in panel.descriptors.items()
              if isinstance(v, np.ndarray)}  # fmt: skip
    moves = {
        "iso_force": (0.3, "height"),
        "height_cutoff": (1.0, "height"),
        "vdw_scale": (0.8, "spheres"),
        "vdw_cutoff": (0.6, "spheres"),
        "disk_width": (2.0, "disks"),
        "disk_cutoff": (2.5, "disks"),
        "es_floor_zero": (True, "es"),
        "box_size": (0.5, "xyz_classes"),
        "z_min": (-2.0, "xyz_atoms"),
    }
    for name, (value, changed) in moves.items():
        panel.set(**{name: value})
        new = panel.descriptors[changed]
        old = before[changed]
        assert new.shape != old.shape or not np.allclose(new, old), name
        assert panel.stack is stack, f"moving {name} re-simulated"
        assert panel.last_render_s < FAST_S, name
    heat = panel.figure.data[7]
    panel.set(slice=0)
    np.testing.assert_allclose(heat.z, stack[:, :, 0].T)
    panel.set(view=2)
    assert panel.stack is not stack and panel.last_render_s < SIM_S


def test_augmentation_panel_matches_augment():
    panel = S.augmentation_panel(pixels=24, n_slices=20, seed=3)
    panel.refresh()
    st = panel.stages
    ref = A.augment(panel.stack[None], np.random.default_rng(3))[0]
    np.testing.assert_allclose(st["cutouts"], ref, rtol=1e-6, atol=1e-6)
    assert st["cutouts"].shape == (24, 24, 10)
    np.testing.assert_allclose(st["normalized"].mean(axis=(0, 1)), 0.0, atol=1e-5)
    first = st["noise"].copy()
    panel.set(noise_c=0.4)
    assert panel.last_render_s < FAST_S
    assert np.std(panel.stages["noise"] - panel.stages["normalized"]) > np.std(
        first - st["normalized"]
    )
    panel.set(n_window=12, n_keep=6, max_shift=0, cutout_holes=0, slice=5)
    st = panel.stages
    assert len(st["indices"]) == 6 and np.ptp(st["indices"]) <= 11
    assert st["shifts"] is None and st["boxes"] is None
    np.testing.assert_array_equal(st["cutouts"], st["noise"])
    panel.set(cutout_holes=10, cutout_p=1.0, cutout_area=5.0)
    assert (panel.stages["cutouts"] == 0).sum() > 0
    again = S.augmentation_steps(panel.stack, 3, n_window=12, n_keep=6, noise_c=0.4,
                                 max_shift=0, cutout_holes=10, cutout_p=1.0,
                                 cutout_area=(0.005, 0.05))  # fmt: skip
    np.testing.assert_array_equal(again["cutouts"], panel.stages["cutouts"])
    assert panel.last_render_s < FAST_S
