"""Panel of notebook 05 (afmkit.widgets.descriptors): every slider, no re-simulation."""

from __future__ import annotations

import numpy as np

from afmkit.structures.catalogue import CATALOGUE
from afmkit.widgets import descriptors as D
from afmkit.widgets.molecules import molecule_picker_panel

#: A render that does not simulate must stay interactive on two cores (seconds).
FAST_S = 0.5
#: A render that runs one preview simulation (new molecule or view), seconds.
SIM_S = 2.0


def test_panel_is_served_by_widgets_and_offers_the_catalogue():
    import afmkit.widgets as W

    assert W.descriptor_panel is D.descriptor_panel
    assert W.PRESET_MOLECULES is D.PRESET_MOLECULES is CATALOGUE


def test_descriptor_panel_moves_every_slider_without_resimulating():
    panel = D.descriptor_panel(pixels=24, n_slices=12)
    assert list(panel.controls["molecule"].options) == list(CATALOGUE)
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
    assert panel.figure.layout.annotations[4].text.endswith("32×32 boxes)")  # 0.5 Å boxes
    panel.set(view=2)
    assert panel.stack is not stack and panel.last_render_s < SIM_S


def test_descriptor_panel_follows_a_picker():
    picker = molecule_picker_panel()
    panel = D.descriptor_panel(picker, pixels=16, n_slices=4)
    assert panel.values()["molecule"] == "your molecule"
    panel.refresh()
    assert panel.rotated.formula == "C10H16O"
    picker.set(source="xyz")
    assert panel.rotated.formula == "CH2O"
