"""Force and Δf curves at one pixel (notebooks 02–03)."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import spectroscopy
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from tests.conftest import benzene


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


def test_spectrum_restores_a_reused_simulator(small_run):
    sim, params, _ = small_run
    s = spectroscopy.spectrum(benzene(), xy=(0.5, 0.0), z_range=(3.0, 3.5), simulator=sim)
    assert sim.params is params and len(s.df) == 6
