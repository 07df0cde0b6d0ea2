"""Physics panels (notebooks 01–03) and the spectroscopy helpers behind them."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import pair_potentials as pp
from afmkit.physics.forcefield import load_lj_table
from afmkit.physics.simulator import AFMSimulator, SimulationParams
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

    for name in ("lj_panel", "ppm_panel", "relaxation_panel", "frequency_panel", "lj_table_editor"):
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


def test_ppm_panel_advanced_section():
    panel = physics.ppm_panel(benzene(), pixels=16, n_slices=3)
    assert panel.advanced.selected_index is None  # collapsed
    assert "advanced (scan window, pixels, slices)" in panel.advanced.titles
    inside = panel.advanced.children[0].children
    for name in ("scan_x", "scan_y", "pixels_x", "pixels_y", "n_slices", "dz"):
        assert panel.controls[name] in inside, name
        assert "(" in panel.controls[name].description or name == "n_slices"  # a unit
    panel.refresh()
    forcefield = panel.state["result"].forcefield
    panel.set(pixels_x=20, pixels_y=12)  # finer pixels: the cached force field is reused
    assert panel.state["params"].pixels == (20, 12)
    assert panel.state["stack"].shape == (20, 12, 3)
    assert panel.state["result"].forcefield is forcefield
    panel.set(scan_x=12.0, scan_y=10.0, n_slices=5, dz=0.15)
    params = panel.state["params"]
    assert params.scan_size == (12.0, 10.0) and params.n_slices == 5 and params.dz == 0.15
    assert panel.state["stack"].shape == (20, 12, 5)
    assert panel.state["result"].forcefield is not forcefield  # a new window: a new field
    assert panel.controls["slice"].max == 4 and panel.controls["slice"].value == 4
    np.testing.assert_allclose(params.slice_heights()[-2:], [2.65, 2.5])
    preview = _images(panel)[0]
    assert preview.layout.width == "320px" and preview.layout.height == "267px"  # 12 × 10 Å
    panel.set(slice=1, n_slices=2)  # fewer slices than the slice shown: clipped, no error
    assert panel.state["error"] is None and panel.values()["slice"] == 1
    assert panel.last_render_s < RENDER_LIMIT_S


def test_ppm_panel_says_when_atoms_lie_outside_the_window():
    panel = physics.ppm_panel(benzene(), pixels=12, n_slices=2)
    panel.set(scan_x=2.0)  # a 2 × 16 Å strip: two C atoms lie in it
    assert "atoms lie outside the image" in panel.outputs[1].value  # the simulator's warning
    panel.set(scan_y=2.0)  # 2 × 2 Å: all of benzene's atoms lie outside; still simulated
    assert panel.state["error"] is None and "12 atoms lie outside" in panel.outputs[1].value
    panel.set(scan_x=16.0, scan_y=16.0)
    assert panel.state["error"] is None and "outside" not in panel.outputs[1].value


def test_ppm_panel_simulates_with_the_edited_lj_table(tmp_path, monkeypatch):
    monkeypatch.setenv("AFMKIT_CACHE_DIR", str(tmp_path))
    panel = physics.ppm_panel(benzene(), pixels=12, n_slices=2)
    panel.refresh()
    editor = panel.lj_editor
    assert editor.widget in panel.advanced.children
    assert set(editor.fields) == {"H", "C", "O"}  # benzene + the CO probe's O
    ppafm = load_lj_table()
    assert editor.fields["C"]["eps"].value == ppafm.eps[6]
    assert editor.fields["O"]["r_half"].value == ppafm.r_half[8]
    original = panel.state["stack"].copy()
    editor.fields["C"]["eps"].value = 0.02  # a deeper C well: more attraction
    path = panel.state["params"].lj_table
    assert path is not None and path.parent == tmp_path / "lj_tables"
    assert load_lj_table(path).eps[6] == 0.02 and load_lj_table(path).r_half[6] == ppafm.r_half[6]
    assert np.abs(panel.state["stack"] - original).max() > 0.1  # Hz
    assert "edited (C)" in panel.outputs[1].value
    editor.fields["H"]["r_half"].value = 1.2
    assert load_lj_table(panel.state["params"].lj_table).r_half[1] == 1.2
    edited, renders = panel.state["stack"].copy(), panel.renders
    for bad in (-0.01, 0.0, float("nan"), float("inf")):
        editor.fields["C"]["eps"].value = bad
        assert "must be a finite number &gt; 0" in editor.message.value, bad
        assert editor.fields["C"]["eps"].value == 0.02  # the last good value is back
    assert panel.renders == renders
    np.testing.assert_array_equal(panel.state["stack"], edited)
    editor.reset_button.click()
    assert panel.state["params"].lj_table is None and editor.edits == {}
    assert editor.fields["C"]["eps"].value == ppafm.eps[6]
    assert editor.fields["H"]["r_half"].value == ppafm.r_half[1]
    np.testing.assert_allclose(panel.state["stack"], original, atol=1e-4)


def test_lj_table_editor(tmp_path):
    editor = physics.lj_table_editor(["N", "C"], probe="Xe")
    assert list(editor.fields) == ["C", "N", "Xe"]
    assert editor.grid.children[4 + 2 * 4].value == "Xe (probe)"  # header, C, N, then Xe
    calls = []
    editor.on_change(lambda: calls.append(1))
    assert editor.table_file(tmp_path) is None and editor.table is load_lj_table()
    editor.fields["N"]["eps"].value = 0.01
    editor.fields["N"]["r_half"].value = 1.7
    assert editor.edits == {"N": (1.7, 0.01)} and len(calls) == 2
    path = editor.table_file(tmp_path)
    assert editor.table_file(tmp_path) == path  # the same edits, the same file
    assert [f.name for f in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    read = load_lj_table(path)
    np.testing.assert_array_equal(read.r_half, editor.table.r_half)
    np.testing.assert_array_equal(read.eps, editor.table.eps)
    assert "edited" in path.read_text() and "OPLS/AMBER" in path.read_text()
    base = SimulationParams(pixels=(8, 8), n_slices=1)
    assert editor.params(base, tmp_path).lj_table == path
    pyridine = physics.example_molecule("pyridine (QM9)")
    df = AFMSimulator(editor.params(base, tmp_path))(pyridine)
    assert np.abs(df - AFMSimulator(base)(pyridine)).max() > 0.01  # Hz
    editor.show(benzene(), probe="CO")  # N's row is hidden, its edit kept
    assert list(editor.fields) == ["H", "C", "O"] and editor.edits == {"N": (1.7, 0.01)}
    editor.fields["C"]["eps"].value = 0.005
    editor.fields["C"]["eps"].value = float(load_lj_table().eps[6])  # back to ppafm's: no edit
    assert editor.edits == {"N": (1.7, 0.01)} and len(calls) == 4
    editor.reset()
    assert editor.edits == {} and editor.params(base, tmp_path).lj_table is None
    assert len(calls) == 5
    editor.reset()  # nothing to reset: nobody is told
    assert len(calls) == 5


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
