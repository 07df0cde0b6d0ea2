"""Probe relaxation: springs, FIRE convergence, NumPy ↔ OpenCL agreement."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import opencl
from afmkit.physics.forcefield import ForceField, Grid
from afmkit.physics.relax import FireSettings, interpolate, relax_numpy, spring_force
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from tests.conftest import requires_opencl


def test_spring_force_zero_at_rest_and_restoring():
    rest = np.array([0.3, -0.2, -np.sqrt(9 - 0.13), 3.0])
    assert np.abs(spring_force(rest[None, :3].copy(), rest, 0.02, 1.9)).max() < 1e-12
    pushed = rest[None, :3] + [[0.5, 0, 0]]
    assert spring_force(pushed, rest, 0.02, 1.9)[0, 0] < 0
    longer = rest[None, :3] * 1.1
    f = spring_force(longer, rest, 0.02, 1.9)[0]
    assert np.dot(f, rest[:3]) < 0  # pulls back towards the apex


def test_interpolation_is_exact_for_linear_fields():
    grid = Grid((-1.0, -2.0, 0.5), 0.1, (21, 41, 11))
    pts = grid.points()
    data = np.concatenate([pts, pts.sum(-1, keepdims=True)], axis=-1).astype(np.float32)
    ff = ForceField(grid, data)
    q = np.random.default_rng(0).uniform([-0.9, -1.9, 0.6], [0.9, 1.9, 1.4], size=(50, 3))
    assert interpolate(ff, q)[:, :3] == pytest.approx(q, abs=1e-5)


def test_free_probe_stays_at_rest():
    grid = Grid((-3.0, -3.0, 0.0), 0.1, (61, 61, 41))
    ff = ForceField(grid, np.zeros(grid.shape[::-1] + (4,), np.float32))
    rest = np.array([0.2, 0.1, -np.sqrt(9 - 0.05), 3.0])
    fz, pos = relax_numpy(ff, np.zeros((3, 2)), 6.0, 0.1, 5, rest, 0.0156, 1.87)
    assert np.abs(fz).max() == 0
    assert pos[0, -1] == pytest.approx([0.2, 0.1, 6.0 - 0.4 + rest[2]], abs=1e-5)


def test_relaxed_probe_is_in_equilibrium(camphor_mol):
    """At the recorded positions the sample force balances the springs (|F| < tolerance)."""
    p = SimulationParams(pixels=(12, 12), scan_size=(6, 6), n_slices=6)
    sim = AFMSimulator(p, backend="numpy")
    res = sim.run(camphor_mol, store_positions=True)
    pos = res.positions.reshape(-1, p.df_samples, 3)
    xs, ys = p.pixel_coordinates(res.center_xy)
    tips = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    k = -1  # closest approach: strongest forces
    tip = np.c_[tips, np.full(len(tips), res.tip_z[k])]
    f = interpolate(res.forcefield, pos[:, k])[:, :3] + spring_force(
        pos[:, k] - tip, p.rest_offset(), p.k_lat_ev(), p.k_rad_ev()
    )
    assert np.median(np.linalg.norm(f, axis=1)) < p.fire.force_tol
    assert np.quantile(np.linalg.norm(f, axis=1), 0.95) < 10 * p.fire.force_tol
    # the probe is deflected sideways near atoms (the mechanism behind sharp bond contrast)
    lateral = np.linalg.norm(pos[:, k, :2] - tips, axis=1)
    assert lateral.max() > 0.05


@requires_opencl
def test_opencl_relaxation_matches_numpy(camphor_mol):
    p = SimulationParams(pixels=(24, 20), scan_size=(8, 7), n_slices=8, tilt=(0.3, -0.4))
    ref = AFMSimulator(p, backend="numpy").run(camphor_mol, store_positions=True)
    sim = AFMSimulator(p, backend="opencl")
    ff, buf = sim.compute_forcefield(camphor_mol)
    xs, ys = p.pixel_coordinates(ref.center_xy)
    fz, pos, _ = opencl.relax(
        sim._ctx, ff, buf, xs, ys, float(ref.tip_z[0]), p.dz, p.df_samples, p.rest_offset(),
        p.k_lat_ev(), p.k_rad_ev(), p.fire, store_positions=True,
    )  # fmt: skip
    # float32 FIRE paths differ in rounding; the relaxed states must agree
    err = np.abs(fz.reshape(ref.fz.shape) - ref.fz) / np.abs(ref.fz).max()
    assert err.max() < 1e-2 and np.median(err) < 1e-4
    # |F| < 1e-4 eV/Å with k_lat = 0.0156 eV/Å² leaves each path ~0.006 Å from the true minimum
    dpos = np.abs(pos[..., :3].reshape(ref.positions.shape) - ref.positions)
    assert dpos.max() < 0.03 and np.median(dpos) < 1e-3


@requires_opencl
def test_opencl_relaxation_with_idle_lanes_and_uploaded_field(camphor_mol):
    """A pixel count that is no multiple of the kernel's lanes, and a host field uploaded."""
    p = SimulationParams(pixels=(13, 11), scan_size=(8, 7), n_slices=4, tilt=(-0.2, 0.5))
    assert (13 * 11) % opencl.PX_PER_ITEM != 0
    ref = AFMSimulator(p, backend="numpy").run(camphor_mol, store_positions=True)
    sim = AFMSimulator(p, backend="opencl")
    ff, buf = sim.compute_forcefield(camphor_mol)
    xs, ys = p.pixel_coordinates(ref.center_xy)
    args = (xs, ys, float(ref.tip_z[0]), p.dz, p.df_samples, p.rest_offset(), p.k_lat_ev(),
            p.k_rad_ev(), p.fire)  # fmt: skip
    fz, pos, _ = opencl.relax(sim._ctx, ff, buf, *args, store_positions=True)
    host = ForceField(ff.grid, np.array(ff.data))  # a field that lives on the host only
    fz2, pos2, _ = opencl.relax(sim._ctx, host, None, *args, store_positions=True)
    assert np.array_equal(fz, fz2) and np.array_equal(pos, pos2)
    err = np.abs(fz.reshape(ref.fz.shape) - ref.fz) / np.abs(ref.fz).max()
    assert err.max() < 1e-2 and np.median(err) < 1e-4
    dpos = np.abs(pos[..., :3].reshape(ref.positions.shape) - ref.positions)
    assert dpos.max() < 0.03 and np.median(dpos) < 1e-3
    # the fourth component is the energy at the relaxed position
    e = interpolate(ff, pos[..., :3].reshape(-1, 3))[:, 3]
    assert np.allclose(pos[..., 3].ravel(), e, rtol=1e-4, atol=1e-6)


def test_fire_settings_validated():
    with pytest.raises(ValueError, match="FIRE"):
        SimulationParams(fire=FireSettings(max_iter=0))


@pytest.mark.parametrize(
    "bad",
    [{"max_iter": 0}, {"dt": -0.1}, {"alpha": 1.0}, {"f_inc": 0.9}, {"f_dec": 1.0},
     {"f_alpha": 0.0}, {"dt_min_fraction": 0.0}, {"force_tol": float("nan")}],
)  # fmt: skip
def test_every_fire_constant_is_validated(bad):
    with pytest.raises(ValueError, match="FIRE"):
        FireSettings(**bad).validate()


def test_relax_kernel_holds_no_fire_literals():
    """The FIRE constants reach the kernel as arguments from FireSettings, never as literals."""
    from importlib import resources

    src = resources.files("afmkit.physics").joinpath("kernels/relax.cl").read_text()
    for name in ("dt_max", "dt_min", "f_inc", "f_dec", "alpha0", "f_alpha", "max_iter", "f2_conv"):
        assert f" {name}," in src  # a kernel argument
    for literal in ("1.1f", "0.5f", "0.1f", "0.99f", "1.001f"):
        assert literal not in src, literal


@requires_opencl
def test_opencl_relaxation_uses_the_same_fire_settings(camphor_mol):
    """Non-default FIRE constants change both relaxations the same way."""
    fire = FireSettings(dt=0.3, alpha=0.2, f_inc=1.05, f_dec=0.6, f_alpha=0.95,
                        dt_min_fraction=0.2, max_iter=6)  # fmt: skip
    p = SimulationParams(pixels=(12, 10), scan_size=(8, 7), n_slices=3, fire=fire)
    ref = AFMSimulator(p, backend="numpy").run(camphor_mol, store_positions=True)
    got = AFMSimulator(p, backend="opencl").run(camphor_mol, store_positions=True)
    default = AFMSimulator(p.replace(fire=FireSettings(max_iter=6)), backend="numpy").run(
        camphor_mol, store_positions=True
    )
    # 6 steps do not converge: the positions are the FIRE path itself, so they show the settings
    assert np.abs(got.positions - ref.positions).max() < 1e-3
    assert np.abs(default.positions - ref.positions).max() > 1e-2
