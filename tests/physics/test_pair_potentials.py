"""Pair-potential curves (notebook 01): the terms of the one pair function, per element pair."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import pair_potentials as pp
from afmkit.physics.forcefield import COULOMB_CONST, lj_coulomb_pair, pair_parameters


def test_lj_minimum_depth_and_force():
    eps, r_m = 0.01, 3.5
    assert pp.lj_energy(r_m, eps, r_m) == pytest.approx(-eps)
    assert pp.lj_force(r_m, eps, r_m) == pytest.approx(0.0, abs=1e-12)
    assert np.ndim(pp.lj_force(r_m, eps, r_m)) == 0  # scalar in, scalar out
    r = np.linspace(2.8, 8.0, 200)
    e = pp.lj_energy(r, eps, r_m)
    assert r[np.argmin(e)] == pytest.approx(r_m, abs=0.03)
    h = 1e-5
    numeric = -(pp.lj_energy(r + h, eps, r_m) - pp.lj_energy(r - h, eps, r_m))
    np.testing.assert_allclose(pp.lj_force(r, eps, r_m), numeric / (2 * h), atol=1e-8)
    assert pp.lj_force(3.0, eps, r_m) > 0  # repulsive inside r_m
    u6 = (r_m / r) ** 6  # thesis Eq. 1, written out
    np.testing.assert_allclose(e, eps * (u6 * u6 - 2 * u6), rtol=1e-12)
    np.testing.assert_allclose(pp.lj_force(r, eps, r_m), 12 * eps * (u6 * u6 - u6) / r, rtol=1e-12)


def test_coulomb_and_mixing_rule():
    assert pp.coulomb_energy(2.0, 0.5, -0.1) == pytest.approx(COULOMB_CONST * -0.025)
    assert pp.coulomb_force(2.0, 0.5, 0.5) == pytest.approx(COULOMB_CONST * 0.25 / 4)
    r_m, eps = pp.pair_lj_parameters("C", "O")
    r_ref, e_ref = pair_parameters(np.array([6]), 8)
    assert (r_m, eps) == pytest.approx((r_ref[0], e_ref[0]))
    assert pp.pair_lj_parameters(6, 8) == pytest.approx((r_m, eps))
    c = pp.pair_curves(np.array([3.0, 4.0]), "C", "O", 0.2, -0.1, eps=0.02)
    assert c.eps == 0.02 and c.r_m == pytest.approx(r_m)
    np.testing.assert_allclose(c.e_total, c.e_lj + c.e_coulomb)
    np.testing.assert_allclose(c.f_coulomb, COULOMB_CONST * -0.02 / np.array([9.0, 16.0]))


def test_curves_are_the_pair_function_the_simulator_sums():
    r = np.linspace(2.5, 7.0, 50)
    c = pp.pair_curves(r, "N", "Xe", q_a=-0.3, q_b=0.3)
    kqq = COULOMB_CONST * -0.3 * 0.3
    pair = lj_coulomb_pair(r * r, c.r_m**2, c.eps, kqq, energy=True)
    np.testing.assert_allclose(c.e_total, pair.energy, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c.f_total, pair.f_over_r * r, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("r", [0.0, -1.0, np.nan, [3.0, np.inf]])
def test_bad_distances_are_refused(r):
    with pytest.raises(ValueError, match="positive"):
        pp.lj_energy(r, 0.01, 3.5)
    with pytest.raises(ValueError, match="positive"):
        pp.pair_curves(np.atleast_1d(r))
