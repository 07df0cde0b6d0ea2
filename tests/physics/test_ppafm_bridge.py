"""Cross-check against ppafm, the field's reference Probe Particle code (``test`` extra).

The same molecules are simulated with afmkit and with ppafm's OpenCL ``AFMulator`` under identical
parameters (full default size: 128 × 128 px, 20 slices, CO tip). What had to be matched is set up in
:mod:`afmkit.physics.ppafm_bridge` and listed in its docstring:

* LJ table: afmkit ships ppafm's per-element OPLS/AMBER table; mixing rule r_ij = r_i + r_PP,
  eps_ij = sqrt(eps_i eps_PP); the CO probe particle uses O's parameters.
* Tip charge: a −0.1 e monopole on the probe particle (ppafm: ``Qs=[-0.1,0,0,0]``, ``QZs=0``), not
  ppafm's default quadrupole.
* Springs, rest length and tilt: ``tipStiffness=[k_lat,k_lat,0,k_rad]``, ``tipR0=[tx,ty,L]``.
* Grid: 0.1 Å in both, trilinear interpolation, no periodic images (``npbc=(0,0,0)``).
* Heights: ppafm's ``scan_window`` z is the tip apex; afmkit's heights are PP rest positions, so
  ppafm's z_max = afmkit's first apex height = lowest rest height + 2.9 Å + 3 Å.
* Amplitude: afmkit A = 0.5 Å (zero-to-peak) ≡ ppafm ``df_steps = 11`` at dz = 0.1 Å (1 Å
  peak-to-peak between the first and last samples).

One difference is *not* a parameter: ppafm's discretised Giessibl weights
(``common.get_simple_df_weight``) divide by ``n·dz`` where the sampled span is ``(n − 1)·dz``, so
its Δf is (n − 1)/n = 10/11 of the exact value for a linear force (test below); afmkit's weights
are exact there. The images are therefore compared after scaling ppafm by n/(n − 1); the raw
comparison must still correlate.
"""

from __future__ import annotations

import numpy as np
import ppafm.common as ppafm_common  # installed by the test extra
import pytest

from afmkit.physics import ppafm_bridge as bridge
from afmkit.physics.frequency import df_weights
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.qm9 import qm9
from tests.conftest import requires_opencl

# pyridine (planar, QM9 id 215) and a cage molecule with N and O (QM9 id 51176, O=CCC12CCCC1N2)
QM9_POSITIONS = (209, 50010)


def test_ppafm_df_weights_are_low_by_n_minus_1_over_n():
    n, dz, f0, k = 11, 0.1, 30300.0, 1800.0
    ppafm_w = ppafm_common.get_simple_df_weight(n, dz=dz) * ppafm_common.eVA_Nm * f0 / k
    ours = df_weights(0.5, dz, f0, k)
    fz = 0.25 * dz * np.arange(n)[::-1]  # linear in height: k_ts = −0.25 eV/Å²
    exact = f0 * (-0.25) * 16.0217662 / (2 * k)
    assert (ours * fz).sum() == pytest.approx(exact, rel=1e-6)
    assert (ppafm_w * fz).sum() == pytest.approx(exact * (n - 1) / n, rel=1e-6)


@pytest.fixture(scope="module")
def molecules(camphor_mol):
    return [camphor_mol] + [qm9(i) for i in QM9_POSITIONS]


@pytest.fixture(scope="module")
def camphor_mol():
    from afmkit.structures.molecules import camphor

    return camphor()


@requires_opencl
def test_afmkit_agrees_with_ppafm(molecules):
    params = SimulationParams()
    n = params.df_samples - params.n_slices + 1
    sim = AFMSimulator(params, backend="opencl")
    for mol in molecules:
        ours = sim(mol)
        ref = bridge.ppafm_simulate(mol, params)
        assert ref.shape == ours.shape == (128, 128, 20)
        raw = bridge.compare_stacks(ours, ref)
        assert raw["pearson"].min() >= 0.98, (mol.name, raw["pearson"])
        fixed = bridge.compare_stacks(ours, ref * n / (n - 1))
        assert fixed["pearson"].min() >= 0.98, (mol.name, fixed["pearson"])
        assert fixed["rel_rms"].max() <= 0.10, (mol.name, fixed["rel_rms"])
        # the closest slices are in the repulsive regime in both codes
        assert ours[..., -1].max() > 1.0 and ref[..., -1].max() > 1.0


@requires_opencl
def test_agreement_holds_for_xe_tip_and_tilt(camphor_mol):
    params = SimulationParams(probe="Xe", tilt=(0.4, -0.3), pixels=(64, 64))
    ours = AFMSimulator(params, backend="opencl")(camphor_mol)
    ref = bridge.ppafm_simulate(camphor_mol, params) * 11 / 10
    cmp = bridge.compare_stacks(ours, ref)
    assert cmp["pearson"].min() >= 0.98 and cmp["rel_rms"].max() <= 0.10, cmp
