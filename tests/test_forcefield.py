"""Force field: physics of the pair potential, the LJ table, and NumPy ↔ OpenCL agreement."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_opencl

from afmkit import opencl
from afmkit.forcefield import (
    COULOMB_CONST,
    Grid,
    MissingLJParametersError,
    atom_arrays,
    compute_forcefield_numpy,
    lj_coulomb_numpy,
    load_lj_table,
    pair_parameters,
)


def test_table_has_light_and_heavy_elements():
    table = load_lj_table()
    r, e = table.lookup(np.array([1, 6, 7, 8, 9, 14, 15, 16, 17, 35, 54]))
    assert np.all(r > 1.0) and np.all(r < 3.5) and np.all(e > 0)
    # carbon, as in OPLS/AMBER: r_m/2 = 1.908 Å, eps = 0.003729 eV
    assert table.lookup(np.array([6]))[0][0] == pytest.approx(1.908)
    assert table.lookup(np.array([6]))[1][0] == pytest.approx(0.003729)


def test_mixing_rule():
    r_ij, eps_ij = pair_parameters(np.array([6, 1]), probe_number=8)
    assert r_ij == pytest.approx([1.908 + 1.6612, 1.487 + 1.6612])
    assert eps_ij == pytest.approx(np.sqrt(np.array([0.003729, 0.000681]) * 0.009106))


def test_missing_parameters_named(tmp_path):
    path = tmp_path / "lj.csv"
    path.write_text("Z,symbol,r_half,eps\n6,C,1.9,0.0037\n8,O,1.66,0.0091\n")
    table = load_lj_table(path)
    with pytest.raises(MissingLJParametersError, match=r"\[1\]"):
        table.lookup(np.array([6, 1]))


def test_malformed_table(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Z,symbol,r_half,eps\n6,C,abc,0.0037\n")
    with pytest.raises(ValueError, match="malformed"):
        load_lj_table(path)


def test_lj_minimum_and_coulomb_single_atom():
    """One neutral atom: energy −eps at r_ij and zero force there; Coulomb alone gives k q Q / r."""
    r_ij, eps = 3.5, 0.01
    atoms = np.array([[0, 0, 0, 0]], dtype=np.float32)
    lj = np.array([[r_ij**2, eps]], dtype=np.float32)
    out = lj_coulomb_numpy(np.array([[0, 0, r_ij]]), atoms, lj)[0]
    assert out[3] == pytest.approx(-eps, rel=1e-4)
    assert abs(out[2]) < 1e-6
    # repulsive closer, attractive farther (force along +z pushes the probe away)
    assert lj_coulomb_numpy(np.array([[0, 0, 3.0]]), atoms, lj)[0, 2] > 0
    assert lj_coulomb_numpy(np.array([[0, 0, 4.0]]), atoms, lj)[0, 2] < 0
    kqq = COULOMB_CONST * 0.2 * -0.1
    charged = np.array([[0, 0, 0, kqq]], dtype=np.float32)
    no_lj = np.array([[1.0, 0.0]], dtype=np.float32)
    e = lj_coulomb_numpy(np.array([[0, 0, 5.0]]), charged, no_lj)[0]
    assert e[3] == pytest.approx(kqq / 5.0, rel=1e-4)
    assert e[2] == pytest.approx(kqq / 25.0, rel=1e-4)


def test_force_is_minus_gradient_of_energy(benzene_mol):
    atoms, lj = atom_arrays(
        benzene_mol.positions, benzene_mol.numbers, benzene_mol.charges, 8, -0.1
    )
    p = np.array([[0.3, 0.7, 3.2]])
    h = 1e-4
    grad = [
        (
            lj_coulomb_numpy(p + h * e, atoms, lj)[0, 3]
            - lj_coulomb_numpy(p - h * e, atoms, lj)[0, 3]
        )
        / (2 * h)
        for e in np.eye(3)
    ]
    f = lj_coulomb_numpy(p, atoms, lj)[0, :3]
    assert f == pytest.approx(-np.array(grad), rel=2e-2, abs=1e-5)


def test_grid_covering():
    g = Grid.covering(np.array([0, 0, 0.0]), np.array([1.0, 2.0, 0.35]), 0.1)
    assert g.shape == (11, 21, 5)
    x, y, z = g.axes()
    assert z[-1] >= 0.35 - 1e-9
    with pytest.raises(ValueError):
        Grid.covering(np.zeros(3), np.zeros(3), 0.1)


@requires_opencl
@pytest.mark.parametrize("z", [0.0, -0.37])
def test_opencl_forcefield_matches_numpy(camphor_mol, z):
    pos = camphor_mol.positions - [0, 0, camphor_mol.positions[:, 2].max() - z]
    atoms, lj = atom_arrays(pos, camphor_mol.numbers, camphor_mol.charges, 8, -0.1)
    grid = Grid.covering(np.array([-6, -5, 2.0]), np.array([6, 5.5, 5.0]), 0.1)
    ref = compute_forcefield_numpy(grid, atoms, lj)
    ff, _ = opencl.forcefield(opencl.get_context(), grid, atoms, lj)
    scale = np.abs(ref.data).max(axis=(0, 1, 2))
    assert np.all(np.abs(ff.data - ref.data).max(axis=(0, 1, 2)) / scale < 1e-4)
    assert ff.force.shape == grid.shape + (3,)
