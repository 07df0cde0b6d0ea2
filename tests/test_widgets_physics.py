"""Physics panels (notebooks 01–03) and the spectroscopy helpers behind them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import benzene

from afmkit import AFMSimulator, SimulationParams, spectroscopy
from afmkit.forcefield import COULOMB_CONST, pair_parameters
from afmkit.panels import physics

RENDER_LIMIT_S = 2.0  # generous: the target is < 0.5 s on two cores


def _images(panel) -> list:
    found = []
    for out in panel.outputs:
        found.extend(getattr(out, "children", ()) or [out])
    return [im for im in found if getattr(im, "format", None) == "png"]


# --- pair potentials -------------------------------------------------------------------------
def test_lj_minimum_depth_and_force():
    eps, r_m = 0.01, 3.5
    assert spectroscopy.lj_energy(r_m, eps, r_m) == pytest.approx(-eps)
    assert spectroscopy.lj_force(r_m, eps, r_m) == pytest.approx(0.0, abs=1e-12)
    r = np.linspace(2.8, 8.0, 200)
    e = spectroscopy.lj_energy(r, eps, r_m)
    assert r[np.argmin(e)] == pytest.approx(r_m, abs=0.03)
    h = 1e-5
    numeric = -(spectroscopy.lj_energy(r + h, eps, r_m) - spectroscopy.lj_energy(r - h, eps, r_m))
    np.testing.assert_allclose(spectroscopy.lj_force(r, eps, r_m), numeric / (2 * h), atol=1e-8)
    assert spectroscopy.lj_force(3.0, eps, r_m) > 0  # repulsive inside r_m


def test_coulomb_and_mixing_rule():
    assert spectroscopy.coulomb_energy(2.0, 0.5, -0.1) == pytest.approx(COULOMB_CONST * -0.025)
    assert spectroscopy.coulomb_force(2.0, 0.5, 0.5) == pytest.approx(COULOMB_CONST * 0.25 / 4)
    r_m, eps = spectroscopy.pair_lj_parameters("C", "O")
    r_ref, e_ref = pair_parameters(np.array([6]), 8)
    assert (r_m, eps) == pytest.approx((r_ref[0], e_ref[0]))
    assert spectroscopy.pair_lj_parameters(6, 8) == pytest.approx((r_m, eps))
    c = spectroscopy.pair_curves(np.array([3.0, 4.0]), "C", "O", 0.2, -0.1, eps=0.02)
    assert c.eps == 0.02 and c.r_m == pytest.approx(r_m)
    np.testing.assert_allclose(c.e_total, c.e_lj + c.e_coulomb)
    np.testing.assert_allclose(c.f_coulomb, COULOMB_CONST * -0.02 / np.array([9.0, 16.0]))


# --- curves at a pixel -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run():
    params = SimulationParams(pixels=(16, 16), n_slices=5)
    sim = AFMSimulator(params)
    return sim, params, sim.run(benzene(), store_positions=True)


def test_df_and_force_curves_match_the_stack(small_run):
    sim, params, res = small_run
    heights, df = spectroscopy.df_curve(res.df, params, (3, 7))
    np.testing.assert_array_equal(df, res.df[3, 7, :])
    np.testing.assert_allclose(heights, params.slice_heights())
    hz, fz = spectroscopy.force_curve(res, params, (3, 7))
    np.testing.assert_array_equal(fz, res.fz[3, 7, :])
    m = len(params.df_weights())
    np.testing.assert_allclose(hz[m - 1 :], params.slice_heights())  # lower turning points
    h_df, df2 = spectroscopy.df_from_force(
        fz, params.dz, params.amplitude, params.f0, params.k_cantilever, hz
    )
    np.testing.assert_allclose(h_df, heights)
    np.testing.assert_allclose(df2, df, rtol=1e-4, atol=1e-4)
    i, j = spectroscopy.nearest_pixel(params, res.center_xy, res.center_xy + [-8.0, 8.0])
    assert (i, j) == (0, 15)
    with pytest.raises(ValueError, match="slices"):
        spectroscopy.df_curve(res.df[..., :3], params, (0, 0))


def test_small_amplitude_limit():
    z = np.arange(80, -1, -1) * 0.1 + 2.0  # highest first, 0.1 Å
    fz = -0.05 * np.exp(-(z - 2.0) / 0.8)  # attractive, eV/Å
    h, df = spectroscopy.df_from_force(fz, 0.1, 0.05, 30300.0, 1800.0, z)
    limit = spectroscopy.small_amplitude_df(fz, z, 30300.0, 1800.0)
    centre = h + 0.05
    expected = np.interp(centre, z[::-1], limit[::-1])
    np.testing.assert_allclose(df[5:-5], expected[5:-5], rtol=0.02)
    assert np.all(df < 0)  # attraction that grows on approach: negative Δf


def test_spectrum_single_point():
    mol = benzene()
    s = spectroscopy.spectrum(mol, xy=(0.0, 0.0), z_range=(2.5, 4.0))
    assert s.df_heights[0] == pytest.approx(4.0) and s.df_heights[-1] == pytest.approx(2.5)
    assert s.heights[-1] == pytest.approx(2.5) and len(s.fz) == len(s.heights)
    _, df = spectroscopy.df_from_force(s.fz, 0.1, 0.5, 30300.0, 1800.0, s.heights)
    np.testing.assert_allclose(df, s.df, rtol=1e-4, atol=1e-4)
    assert s.positions.shape == (len(s.heights), 3)
    with pytest.raises(ValueError, match="z_range"):
        spectroscopy.spectrum(mol, z_range=(3.0, 2.0))


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
    r_m, eps = spectroscopy.pair_lj_parameters("H", "O")
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


def test_relaxation_panel_and_plot(small_run):
    _, params, res = small_run
    fig = physics.plot_relaxation(res, params, benzene(), slice_index=-1, stride=3)
    assert fig.axes[0].get_xlabel() == "x (Å)"
    panel = physics.relaxation_panel(benzene(), pixels=16, n_slices=2)
    panel.refresh()
    (image,) = _images(panel)
    before = image.value
    panel.set(k_lat=0.8)
    assert image.value != before and panel.last_render_s < RENDER_LIMIT_S
    no_pos = type(res)(**{**res.__dict__, "positions": None})
    with pytest.raises(ValueError, match="store_positions"):
        physics.plot_relaxation(no_pos, params)


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


def test_molecule_helpers():
    mol = physics.example_molecule("pyridine (QM9)")
    pos = mol.positions - mol.positions.mean(axis=0)
    assert np.ptp(pos[:, 2]) < 0.05  # turned face-on
    pdb = physics.molecule_pdb(mol)
    assert pdb.count("HETATM") == len(mol) and pdb.endswith("END\n")
    with pytest.raises(KeyError, match="unknown example molecule"):
        physics.example_molecule("unobtainium")
    assert physics.molecule_view(mol) is not None
