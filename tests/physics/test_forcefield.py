"""Force field: the one pair function, the LJ table, and NumPy ↔ OpenCL agreement."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import forcefield as ff
from afmkit.physics import opencl
from afmkit.physics.forcefield import (
    COULOMB_CONST,
    R2_SOFTENING,
    ForceField,
    Grid,
    MissingLJParametersError,
    PairWorkspace,
    atom_arrays,
    compute_forcefield_numpy,
    lj_coulomb_numpy,
    lj_coulomb_pair,
    load_lj_table,
    pair_parameters,
)
from tests.conftest import requires_opencl


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


# --- the one pair function -------------------------------------------------------------------
def test_pair_function_terms_and_derivatives():
    """|F|/r · r = −dV/dr, and d(|F|/r)/d(r²) matches a finite difference."""
    r = np.linspace(2.5, 9.0, 300)
    r2m, eps, kqq = 3.6**2, 0.008, COULOMB_CONST * 0.2 * -0.1
    pair = lj_coulomb_pair(r * r, r2m, eps, kqq, derivative=True, energy=True)
    u = (np.sqrt(r2m) / r) ** 6
    np.testing.assert_allclose(pair.energy, eps * (u * u - 2 * u) + kqq / r, rtol=1e-12)
    h = 1e-6
    up = lj_coulomb_pair((r + h) ** 2, r2m, eps, kqq, energy=True).energy
    down = lj_coulomb_pair((r - h) ** 2, r2m, eps, kqq, energy=True).energy
    np.testing.assert_allclose(pair.f_over_r * r, -(up - down) / (2 * h), rtol=1e-6, atol=1e-10)
    h2 = 1e-5
    g_up = lj_coulomb_pair(r * r + h2, r2m, eps, kqq).f_over_r
    g_down = lj_coulomb_pair(r * r - h2, r2m, eps, kqq).f_over_r
    numeric = (g_up - g_down) / (2 * h2)
    np.testing.assert_allclose(pair.df_over_r_dr2, numeric, rtol=1e-5, atol=1e-12)
    # the g-only path gives the same numbers as the full one
    np.testing.assert_array_equal(lj_coulomb_pair(r * r, r2m, eps, kqq).f_over_r, pair.f_over_r)


def test_pair_function_workspace_and_out_match_allocating_path():
    rng = np.random.default_rng(1)
    r2 = rng.uniform(4.0, 40.0, (50, 7)).astype(np.float32)
    r2m = rng.uniform(9.0, 13.0, 7).astype(np.float32)
    eps = rng.uniform(0.001, 0.01, 7).astype(np.float32)
    kqq = rng.uniform(-0.3, 0.3, 7).astype(np.float32)
    ref = lj_coulomb_pair(r2, r2m, eps, kqq, derivative=True, energy=True)
    assert ref.f_over_r.dtype == np.float32 and ref.f_over_r.shape == (50, 7)
    work = PairWorkspace((80, 7), np.float32, derivative=True, energy=True, extra=1)
    buf = work.r2((50, 7))
    buf[...] = r2
    out = np.empty((50, 7), np.float32)
    got = lj_coulomb_pair(buf, r2m, eps, kqq, derivative=True, energy=True, out=out, work=work)
    assert got.f_over_r is out
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_array_equal(a, b)
    (extra,) = work.extra_views((50, 7))
    assert extra.shape == (50, 7) and not np.shares_memory(extra, got.f_over_r)
    with pytest.raises(ValueError, match="room"):
        lj_coulomb_pair(r2, r2m, eps, kqq, derivative=True, work=PairWorkspace((50, 7)))
    with pytest.raises(ValueError, match="fit"):
        lj_coulomb_pair(np.ones((90, 7)), r2m, eps, kqq, work=work)


def test_pair_function_is_what_the_grid_sums(benzene_mol):
    """lj_coulomb_numpy = Σ over atoms of lj_coulomb_pair at the softened distance."""
    atoms, lj = atom_arrays(
        benzene_mol.positions, benzene_mol.numbers, benzene_mol.charges, 54, 0.3
    )
    p = np.array([[0.4, -0.2, 3.1], [1.39, 0.0, 0.0]])  # the second sits on a nucleus
    d = p[:, None, :] - atoms[None, :, :3].astype(np.float64)
    r2 = (d * d).sum(-1) + R2_SOFTENING
    pair = lj_coulomb_pair(r2, lj[:, 0].astype(float), lj[:, 1].astype(float),
                           atoms[:, 3].astype(float), energy=True)  # fmt: skip
    expected = np.c_[np.einsum("mn,mnk->mk", pair.f_over_r, d), pair.energy.sum(1)]
    got = lj_coulomb_numpy(p, atoms, lj)
    np.testing.assert_allclose(got, expected.astype(np.float32), rtol=1e-6)
    assert np.all(np.isfinite(got))


@requires_opencl
def test_opencl_kernel_is_the_twin_of_the_pair_function(benzene_mol):
    """The kernel with a charged Xe probe, on a grid with a point on a carbon nucleus
    (softening from Python via -DR2_SOFTENING)."""
    atoms, lj = atom_arrays(
        benzene_mol.positions, benzene_mol.numbers, benzene_mol.charges, 54, 0.3
    )
    grid = Grid.covering(np.array([-3.01, -3.0, 0.0]), np.array([3.0, 3.0, 1.5]), 0.1)
    assert np.abs(grid.points()[0, 30, 44] - benzene_mol.positions[0]).max() < 1e-9
    ref = compute_forcefield_numpy(grid, atoms, lj)
    ff, _ = opencl.forcefield(opencl.get_context(), grid, atoms, lj)
    far = grid.points()[..., 2] > 1.0  # away from the (softened) singularities
    scale = np.abs(ref.data[far]).max(axis=0)
    assert np.all(np.abs(ff.data[far] - ref.data[far]).max(axis=0) / scale < 1e-4)
    assert np.all(np.isfinite(ff.data))
    assert f"-DR2_SOFTENING={R2_SOFTENING!r}f" in opencl._BUILD_OPTIONS


@requires_opencl
def test_opencl_forcefield_stays_on_the_device_until_read(benzene_mol):
    """No host copy unless asked: ``data`` is fetched (and laid out x fastest) on first access."""
    mol = benzene_mol
    atoms, lj = atom_arrays(mol.positions, mol.numbers, mol.charges, 8, -0.1)
    grid = Grid.covering(np.array([-3.0, -2.5, 2.5]), np.array([3.0, 2.8, 4.0]), 0.1)
    ff, buf = opencl.forcefield(opencl.get_context(), grid, atoms, lj)
    assert not ff.on_host and "device" in repr(ff)
    assert buf.size == np.prod(grid.shape) * 16
    ref = compute_forcefield_numpy(grid, atoms, lj)
    assert ff.data.shape == ref.data.shape and ff.on_host
    assert ff.data is ff.data  # fetched once
    scale = np.abs(ref.data).max(axis=(0, 1, 2))
    assert np.all(np.abs(ff.data - ref.data).max(axis=(0, 1, 2)) / scale < 1e-4)
    with pytest.raises(ValueError, match="data or a fetch"):
        ForceField(grid)


def test_lj_table_csv_round_trips_with_row_sources(tmp_path):
    shipped = ff.load_lj_table()
    assert shipped.row_source[6] == "OPLS/AMBER" and shipped.row_source[14] == "GROMOS"
    path = tmp_path / "copy.csv"
    path.write_text(ff.lj_table_csv(shipped, comment="a copy\nof ppafm's table"))
    assert path.read_text().startswith("# a copy\n# of ppafm's table\nZ,symbol,r_half,eps,source")
    again = ff.load_lj_table(path)
    np.testing.assert_array_equal(again.r_half, shipped.r_half)
    np.testing.assert_array_equal(again.eps, shipped.eps)
    assert again.row_source == shipped.row_source
