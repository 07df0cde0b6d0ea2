"""Physics panels (notebooks 01–03) and the spectroscopy helpers behind them."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import pair_potentials as pp
from afmkit.plotting.physics import plot_relaxation
from afmkit.structures.catalogue import CATALOGUE
from afmkit.widgets import physics
from tests.conftest import benzene

RENDER_LIMIT_S = 2.0  # generous: the target is < 0.5 s on two cores


def _images(panel) -> list:
    found = []
    for out in panel.outputs:
        found.extend(getattr(out, "children", ()) or [out])
    return [im for im in found if getattr(im, "format", None) == "png"]


# --- panels ----------------------------------------------------------------------------------
def test_panels_served_by_widgets():
    import afmkit.widgets as widgets

    for name in ("lj_panel", "ppm_panel", "relaxation_panel", "frequency_panel"):
        assert name in widgets.panel_names()
        assert getattr(widgets, name) is getattr(physics, name)


def test_lj_panel_moves():
    panel = physics.lj_panel()
    panel.refresh()
    (image,) = _images(panel)
    before = image.value
    panel.set(q_a=0.3)
    assert image.value != before and panel.last_render_s < RENDER_LIMIT_S
    panel.set(element_a="H")
    r_m, eps = pp.pair_lj_parameters("H", "O")
    assert panel.controls["eps"].value == pytest.approx(eps, abs=1e-4)
    assert panel.controls["r_m"].value == pytest.approx(r_m, abs=0.01)
    assert "afmkit-lj-panel" in panel.widget._dom_classes


def test_ppm_panel_sliders_change_the_image():
    panel = physics.ppm_panel(pixels=32, n_slices=4)
    assert "afmkit-ppm-panel" in panel.widget._dom_classes
    preview = _images(panel)[0]
    assert "afmkit-ppm-preview" in preview._dom_classes
    assert "afmkit-control-k_lat" in panel.controls["k_lat"]._dom_classes
    panel.refresh()  # warm-up: force field + OpenCL kernels
    assert panel.state["stack"].shape == (32, 32, 4)
    seen = {preview.value}
    for change in ({"k_lat": 0.6}, {"tilt_x": 0.5}, {"slice": 0}):
        panel.set(**change)
        assert panel.last_render_s < RENDER_LIMIT_S, change
        assert preview.value not in seen, change
        seen.add(preview.value)
    panel.set(probe="Xe")
    assert panel.controls["probe_charge"].value == pytest.approx(0.3)
    assert panel.state["params"].probe == "Xe"


def test_ppm_panel_given_molecule():
    mol = benzene()
    panel = physics.ppm_panel(mol, pixels=24, n_slices=2)
    panel.refresh()
    assert panel.values()["molecule"] == "benzene"
    assert panel.state["molecule"] is mol


def test_relaxation_panel():
    panel = physics.relaxation_panel(benzene(), pixels=16, n_slices=2)
    panel.refresh()
    (image,) = _images(panel)
    before = image.value
    panel.set(k_lat=0.8)
    assert image.value != before and panel.last_render_s < RENDER_LIMIT_S


def test_frequency_panel_reuses_the_force():
    panel = physics.frequency_panel(benzene(), pixels=16, height_span=4.0, max_amplitude=1.0)
    panel.refresh()
    result = panel.state["result"]
    image = _images(panel)[0]
    before = image.value
    panel.set(amplitude=0.9)
    assert image.value != before and panel.last_render_s < RENDER_LIMIT_S
    assert panel.state["result"] is result  # no new simulation for a cantilever change
    panel.set(k_cantilever=100.0, height=3.0)
    assert panel.state["result"] is result


def test_panels_offer_the_catalogue():
    panel = physics.ppm_panel(pixels=16, n_slices=2)
    assert list(panel.controls["molecule"].options) == list(CATALOGUE)
    assert panel.values()["molecule"] == "1S-camphor"
    given = benzene()
    given.name = "pyridine (QM9)"  # a catalogue label: the given molecule is told apart
    panel = physics.relaxation_panel(given, pixels=16, n_slices=2)
    assert panel.controls["molecule"].options[0] == "pyridine (QM9) (given)"


def test_compatibility_names():
    assert physics.PPM_MOLECULES is CATALOGUE
    assert physics.plot_relaxation is plot_relaxation
    mol = physics.example_molecule("pyridine (QM9)")
    pos = mol.positions - mol.positions.mean(axis=0)
    assert np.ptp(pos[:, 2]) < 0.05  # turned face-on
    assert physics.PPM_MOLECULES["pyridine (QM9)"]().formula == "C5H5N"  # entries still build
