"""Giessibl's formula: analytic limits, direct quadrature, amplitude convention, OpenCL twin."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from afmkit.physics import opencl
from afmkit.physics.forcefield import EV_PER_A2_IN_N_PER_M
from afmkit.physics.frequency import df_weights, fz_to_df
from tests.conftest import requires_opencl

F0, K = 30300.0, 1800.0


def test_linear_force_gives_small_amplitude_limit():
    """Fz linear in z: Δf = f0 k_ts / (2k) exactly, with k_ts = −∂Fz/∂z (thesis Eq. 4)."""
    dz, slope = 0.1, 0.3  # Fz grows by 0.3 eV/Å per Å of height
    heights = 5.0 - dz * np.arange(40)  # approach order
    df = fz_to_df(slope * heights, dz, 0.5, F0, K)
    expected = F0 * (-slope) * EV_PER_A2_IN_N_PER_M / (2 * K)
    assert df == pytest.approx(np.full(df.shape, expected), rel=1e-5)


def test_constant_force_gives_zero():
    assert np.abs(fz_to_df(np.full(30, -0.7), 0.1, 0.5, F0, K)).max() < 1e-3


def test_matches_direct_quadrature_for_lj_force():
    """Δf from finely sampled samples equals Eq. 5 integrated by scipy.quad."""
    A, dz = 0.5, 0.005

    def force(z):  # LJ force of one atom on the probe at height z (eV/Å)
        r, eps = 3.5, 0.01
        return 12 * eps * ((r / z) ** 12 - (r / z) ** 6) / z

    def eq5(zc):
        val, _ = quad(lambda q: q * force(zc + q), -A, A, weight="alg", wvar=(-0.5, -0.5))
        return -F0 / (K * np.pi * A**2) * val * EV_PER_A2_IN_N_PER_M

    # samples from 5 Å down; slice k spans samples k..k+m-1 → centre at 5 - k dz - A
    heights = 5.0 - dz * np.arange(400)
    df = fz_to_df(force(heights), dz, A, F0, K)
    for k in (0, 100, 199):
        assert df[k] == pytest.approx(eq5(5.0 - k * dz - A), rel=2e-3)


def test_amplitude_convention():
    """A = 0.5 Å zero-to-peak at dz = 0.1 Å spans 11 samples (1 Å peak-to-peak)."""
    assert len(df_weights(0.5, 0.1, F0, K)) == 11
    assert len(df_weights(0.45, 0.1, F0, K)) == 10
    with pytest.raises(ValueError, match="amplitude"):
        df_weights(0.0, 0.1, F0, K)
    with pytest.raises(ValueError, match="Fz samples"):
        fz_to_df(np.zeros(5), 0.1, 0.5, F0, K)


@requires_opencl
def test_opencl_df_matches_numpy():
    rng = np.random.default_rng(1)
    fz = rng.normal(size=(257, 30)).astype(np.float32)
    w = df_weights(0.5, 0.1, F0, K)
    ref = fz_to_df(fz, 0.1, 0.5, F0, K)
    out = opencl.fz_to_df(opencl.get_context(), fz, w)
    assert out == pytest.approx(ref, rel=1e-4, abs=1e-3)
