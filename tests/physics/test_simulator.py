"""AFMSimulator: defaults, conventions, backends, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import afmkit
from afmkit.physics import opencl, simulator
from afmkit.physics.simulator import AFMSimulator, SimulationParams, atoms_outside_window
from afmkit.structures.molecules import Molecule
from tests.conftest import benzene, requires_opencl

SMALL = {"pixels": (32, 32), "scan_size": (10.0, 10.0)}


def test_defaults_reproduce_asd_afm():
    p = SimulationParams()
    assert p.scan_size == (16.0, 16.0) and p.pixels == (128, 128)
    assert p.n_slices == 20 and p.dz == 0.1 and p.amplitude == 0.5  # 1 Å peak-to-peak
    assert (p.probe, p.charge, p.k_lat, p.k_rad, p.rest_length) == ("CO", -0.1, 0.25, 30.0, 3.0)
    assert p.slice_heights()[0] == pytest.approx(p.z_closest + 1.9)
    assert p.slice_heights()[-1] == pytest.approx(2.5)
    assert p.df_samples == 30


@requires_opencl
def test_default_stack_shape_order_and_contrast(camphor_mol):
    df = afmkit.AFMSimulator()(camphor_mol)
    assert df.shape == (128, 128, 20) and df.dtype == np.float32
    # far slice: weak and attractive; closest slice: reaches the repulsive regime (bright atoms)
    assert df[..., 0].mean() < 0 and np.abs(df[..., 0]).max() < 3
    assert df[..., -1].max() > 1.0
    assert np.abs(df[..., -1]).max() > 2 * np.abs(df[..., 0]).max()


@requires_opencl
def test_numpy_and_opencl_backends_agree(camphor_mol):
    p = SimulationParams(**SMALL, n_slices=10)
    a = AFMSimulator(p, backend="numpy")(camphor_mol)
    b = AFMSimulator(p, backend="opencl")(camphor_mol)
    assert np.abs(a - b).max() / np.abs(a).max() < 5e-3
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9999


def test_translation_invariance(benzene_mol):
    """The window follows the molecule: shifting it in x, y, z leaves the image unchanged."""
    sim = AFMSimulator(SimulationParams(**SMALL, n_slices=4), backend="numpy")
    a = sim(benzene_mol)
    b = sim(benzene_mol.translated([3.2, -1.7, 0.9]))
    # only the force-field grid moves relative to the atoms: trilinear interpolation error
    assert np.abs(a - b).max() < 5e-3 * np.abs(a).max()


def test_rotation_by_90_degrees_rotates_image(benzene_mol):
    p = SimulationParams(pixels=(33, 33), scan_size=(10.0, 10.0), n_slices=3)
    mol = benzene_mol.rotated(np.eye(3))
    rot = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])  # +90° about z
    sim = AFMSimulator(p, backend="numpy")
    a, b = sim(mol, center_xy=(0, 0)), sim(mol.rotated(rot, center=np.zeros(3)), center_xy=(0, 0))
    # (x, y) -> (-y, x): b[i, j] = a[j, n-1-i]
    assert np.abs(np.rot90(a, k=1, axes=(0, 1)) - b).max() < 2e-2 * np.abs(a).max()


def test_xe_probe_and_charge_sign(benzene_mol):
    p = SimulationParams(**SMALL, n_slices=3)
    co = AFMSimulator(p, backend="numpy")(benzene_mol)
    xe = AFMSimulator(p.replace(probe="Xe"), backend="numpy")(benzene_mol)
    assert p.replace(probe="Xe").charge == pytest.approx(0.3)
    assert not np.allclose(co, xe)


def test_vdw_height_reference():
    p = SimulationParams(height_reference="vdw")
    mol = benzene()
    # top atom by z + R_vdW: C (1.70 Å) over H (1.10/1.20 Å) at equal z
    assert simulator.lowest_rest_height(mol, p) == pytest.approx(1.70 + 0.8, abs=0.01)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k_lat": -0.1}, "k_lat"),
        ({"k_rad": 0}, "k_rad"),
        ({"amplitude": 0}, "amplitude"),
        ({"pixels": (1, 128)}, "pixels"),
        ({"scan_size": (16, -1)}, "scan_size"),
        ({"dz": float("nan")}, "dz"),
        ({"probe": "Cu"}, "probe"),
        ({"tilt": (3.0, 1.0)}, "tilt"),
        ({"n_slices": 0}, "n_slices"),
        ({"height_reference": "sky"}, "height_reference"),
        ({"f0": -1}, "f0"),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimulationParams(**kwargs)


def test_bad_molecules(benzene_mol):
    sim = AFMSimulator(SimulationParams(**SMALL), backend="numpy")
    with pytest.raises(ValueError, match="no atoms"):
        Molecule([], np.zeros((0, 3)))
    mol = benzene_mol.copy()
    mol.positions[2, 1] = np.nan  # corrupted after construction
    with pytest.raises(ValueError, match="NaN"):
        sim(mol)
    with pytest.raises(ValueError):
        AFMSimulator(backend="cuda")


def test_missing_lj_parameters_are_reported(tmp_path, benzene_mol):
    path = tmp_path / "lj.csv"
    path.write_text("Z,symbol,r_half,eps\n6,C,1.9,0.0037\n8,O,1.66,0.0091\n")
    sim = AFMSimulator(SimulationParams(**SMALL, lj_table=path), backend="numpy")
    with pytest.raises(ValueError, match="Lennard-Jones"):
        sim(benzene_mol)


def test_wide_molecule_warns():
    chain = Molecule([6] * 12, np.c_[np.arange(12) * 1.5, np.zeros(12), np.zeros(12)])
    sim = AFMSimulator(SimulationParams(**SMALL, n_slices=2), backend="numpy")
    with pytest.warns(UserWarning, match="wider than"):
        df = sim(chain)
    assert np.isfinite(df).all()


def test_atoms_outside_the_window():
    """Two atoms 20 Å apart, a 10 Å window between them: both outside, still simulated."""
    pair = Molecule([6, 6], [[-10.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    params = SimulationParams(**SMALL, n_slices=2)
    assert atoms_outside_window(pair, params, (0.0, 0.0)).tolist() == [True, True]
    assert atoms_outside_window(pair, params, (-8.0, 0.0)).tolist() == [False, True]
    with pytest.warns(UserWarning, match="2 atoms lie outside"):
        df = AFMSimulator(params, backend="numpy")(pair)
    assert np.isfinite(df).all()


def test_fallback_to_numpy_warns_once(monkeypatch, benzene_mol):
    def broken():
        raise opencl.OpenCLUnavailableError("no OpenCL platform found (test)")

    monkeypatch.setattr(opencl, "get_context", broken)
    simulator._warn_fallback.cache_clear()  # a fresh process: nothing warned yet
    with pytest.warns(RuntimeWarning, match="NumPy backend"):
        sim = AFMSimulator(SimulationParams(**SMALL, n_slices=2))
    assert sim.backend == "numpy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AFMSimulator(SimulationParams(**SMALL, n_slices=2))  # no second warning
    with pytest.raises(opencl.OpenCLUnavailableError):
        AFMSimulator(backend="opencl")
    assert np.isfinite(sim(benzene_mol)).all()


@requires_opencl
def test_forcefield_cache_and_preview_call(camphor_mol):
    sim = AFMSimulator(SimulationParams(pixels=(64, 64), n_slices=3))
    first = sim.run(camphor_mol)
    again = sim.run(camphor_mol)
    assert again.forcefield is first.forcefield
    assert np.array_equal(first.df, again.df)
    moved = camphor_mol.translated([0, 0, 0.1])
    assert sim.run(moved).forcefield is not first.forcefield
