"""Descriptors: Height Map, vdW Spheres, Atomic Disks, ES Map, xyz grid (thesis §3.2)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from afmkit.physics.forcefield import COULOMB_CONST, atom_arrays, lj_coulomb_numpy
from afmkit.physics.simulator import SimulationParams, scan_center
from afmkit.structures import elements
from afmkit.structures.molecules import Molecule, camphor
from afmkit.targets import descriptors as D
from tests.conftest import benzene

ALL_MAPS = (D.height_map, D.vdw_spheres, D.atomic_disks, D.es_map)
ROT90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # +90° about z


def single_atom(z_number: int = 6, xyz=(0.0, 0.0, 0.0), charge: float = 0.0) -> Molecule:
    return Molecule([z_number], [xyz], [charge], name="atom")


def pixel_xy(params: SimulationParams, center=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = params.pixel_coordinates(center)
    return np.meshgrid(xs, ys, indexing="ij")


def brute_force_height(
    mol, params, center, iso=0.1, cutoff=2.0, dz=0.01, z_start=5.0
) -> np.ndarray:
    """Reference Height Map: march every pixel down from ``z_start`` Å above the top nucleus in
    steps of ``dz`` (Å) with the force field of :func:`lj_coulomb_numpy`, linear interpolation
    at the first Fz >= iso."""
    atoms, lj = atom_arrays(
        mol.positions, mol.numbers, mol.charges, params.probe_number, params.charge
    )
    z_top = mol.positions[:, 2].max()
    X, Y = pixel_xy(params, center)
    zs = np.arange(z_top + z_start, z_top - 2.0, -dz)
    pts = np.stack(np.broadcast_arrays(X[..., None], Y[..., None], zs), axis=-1)
    fz = lj_coulomb_numpy(pts, atoms, lj)[..., 2].astype(np.float64)  # (nx, ny, nz)
    hit = fz >= iso
    k = np.argmax(hit, axis=2)
    found = hit.any(axis=2) & (k > 0)
    k = np.maximum(k, 1)
    f0 = np.take_along_axis(fz, (k - 1)[..., None], 2)[..., 0]
    f1 = np.take_along_axis(fz, k[..., None], 2)[..., 0]
    h = zs[k - 1] - dz * (iso - f0) / (f1 - f0) - z_top
    h = np.where(found, h, np.nan)
    floor = np.nanmax(h) - cutoff
    return np.where(np.isnan(h) | (h < floor), floor, h)


# ---------------------------------------------------------------------------------------------
# shapes, defaults, grid
# ---------------------------------------------------------------------------------------------
def test_defaults_match_simulator_grid():
    mol = camphor()
    for fn in ALL_MAPS:
        out = fn(mol)
        assert out.shape == (128, 128) and out.dtype == np.float32, fn.__name__
        assert np.all(np.isfinite(out))
        # default centre = scan_center, exactly as the simulator
        np.testing.assert_array_equal(out, fn(mol, SimulationParams(), scan_center(mol)))
    classes, offsets = D.xyz_grid(mol)
    assert classes.shape == (16, 16, 2) and offsets.shape == (16, 16, 3)
    assert classes.dtype == np.float32 and offsets.dtype == np.float32


def test_maps_are_indexed_x_first_on_a_non_square_grid():
    p = SimulationParams(scan_size=(16.0, 10.0), pixels=(97, 41))
    xs, ys = p.pixel_coordinates((0.0, 0.0))
    mol = single_atom(6, (xs[70], ys[10], 0.0))
    for fn in (D.vdw_spheres, D.atomic_disks, D.height_map):
        out = fn(mol, p, (0.0, 0.0))
        assert out.shape == (97, 41)
        assert np.unravel_index(np.argmax(out), out.shape) == (70, 10), fn.__name__


def test_reference_floor_shifts_to_zero():
    mol = camphor()
    for fn, cut in ((D.height_map, 2.0), (D.vdw_spheres, 1.5)):
        top = fn(mol)
        flo = fn(mol, reference="floor")
        assert flo.min() == pytest.approx(0.0, abs=1e-6)
        assert flo.max() == pytest.approx(cut, abs=1e-5)
        np.testing.assert_allclose(flo, top - top.min(), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# single atoms: spherical cap, cone
# ---------------------------------------------------------------------------------------------
def test_single_atom_vdw_cap_profile():
    p = SimulationParams()
    xs, ys = p.pixel_coordinates((0.0, 0.0))
    centre = np.array([xs[64], ys[60], 2.3])  # nucleus exactly above a pixel centre
    mol = single_atom(7, centre)
    r_vdw = elements.vdw_radius(7)
    out = D.vdw_spheres(mol, p, (0.0, 0.0))
    assert out.max() == pytest.approx(r_vdw, abs=1e-6)  # peak +R_vdW above the nucleus
    X, Y = pixel_xy(p)
    r = np.hypot(X - centre[0], Y - centre[1])
    for ix, iy in [(64, 60), (66, 61), (60, 57), (70, 60), (64, 69), (58, 66)]:
        assert r[ix, iy] < r_vdw
        assert out[ix, iy] == pytest.approx(np.sqrt(r_vdw**2 - r[ix, iy] ** 2), abs=1e-5)
    floor = r_vdw - 1.5
    cap = np.sqrt(np.maximum(r_vdw**2 - r**2, 0.0))
    expected = np.where((r < r_vdw) & (cap > floor), cap, floor)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out[0, 0] == pytest.approx(floor)  # background = floor value


def test_vdw_radius_override():
    mol = single_atom(1, (0.0, 0.0, 0.0))
    p = SimulationParams(pixels=(129, 129))  # pixel 64 sits at the centre
    assert D.vdw_spheres(mol, p, (0.0, 0.0)).max() == pytest.approx(1.2, abs=1e-6)
    assert D.vdw_spheres(mol, p, (0.0, 0.0), radii={"H": 1.5}).max() == pytest.approx(1.5)
    assert D.vdw_spheres(mol, p, (0.0, 0.0), radii={1: 0.9}).max() == pytest.approx(0.9)
    with pytest.raises(ValueError, match="positive"):
        D.vdw_spheres(mol, p, radii={"H": -1.0})


def test_single_atom_cone():
    p = SimulationParams()
    xs, ys = p.pixel_coordinates((1.0, -2.0))
    centre = np.array([xs[40], ys[80], -3.0])
    mol = single_atom(6, centre)
    out = D.atomic_disks(mol, p, (1.0, -2.0))
    # the top atom's cone peaks at its xy position with value `cutoff` (1 Å above the cut-off)
    assert np.unravel_index(np.argmax(out), out.shape) == (40, 80)
    assert out[40, 80] == pytest.approx(D.DISK_CUTOFF)
    X, Y = pixel_xy(p, (1.0, -2.0))
    d = np.hypot(X - centre[0], Y - centre[1])
    radius = D.DISK_WIDTH_FACTOR * elements.covalent_radius(6)
    np.testing.assert_allclose(out, np.maximum(1.0 - d / radius, 0.0), atol=1e-6)
    assert np.count_nonzero(out) == np.count_nonzero(d < radius)
    # wider cones, another cut-off: peak = cutoff, zero at width_factor * r_cov
    wide = D.atomic_disks(mol, p, (1.0, -2.0), cutoff=0.5, width_factor=2.0)
    np.testing.assert_allclose(wide, 0.5 * np.maximum(1.0 - d / (2 * radius), 0.0), atol=1e-6)


def test_cone_peaks_are_atom_heights_above_cutoff_level():
    p = SimulationParams(pixels=(129, 129))
    xs, ys = p.pixel_coordinates((0.0, 0.0))
    pos = [[xs[30], ys[30], 0.0], [xs[90], ys[90], -0.4], [xs[90], ys[30], -0.9]]
    mol = Molecule([6, 8, 1], pos)
    out = D.atomic_disks(mol, p, (0.0, 0.0))
    assert out[30, 30] == pytest.approx(1.0)
    assert out[90, 90] == pytest.approx(0.6)
    assert out[90, 30] == pytest.approx(0.1)


def test_single_atom_height_map_is_round_and_matches_force_field():
    p = SimulationParams(pixels=(65, 65))
    mol = single_atom(6, (0.0, 0.0, 1.0))
    h = D.height_map(mol, p, (0.0, 0.0))
    np.testing.assert_allclose(h, h.T, atol=2e-4)
    np.testing.assert_allclose(h, h[::-1, :], atol=2e-4)
    # at the peak, the z-force on the probe particle equals the iso value
    atoms, lj = atom_arrays(mol.positions, mol.numbers, mol.charges, 8, -0.1)
    f = lj_coulomb_numpy(np.array([[0.0, 0.0, 1.0 + h[32, 32]]]), atoms, lj)[0, 2]
    assert f == pytest.approx(D.DEFAULT_ISO_FORCE, rel=1e-3)
    assert 2.7 < h.max() < 3.3  # ~ vdW contact of the O probe particle with a C atom


@pytest.mark.parametrize(
    "name, probe", [("camphor", "CO"), ("camphor", "Xe"), ("benzene", "CO"), ("tilted", "CO")]
)
def test_height_map_matches_brute_force_scan(name, probe):
    mol = {"camphor": camphor(), "benzene": benzene(), "tilted": benzene().rotated(
        np.array([[1, 0, 0], [0, np.cos(1.0), -np.sin(1.0)], [0, np.sin(1.0), np.cos(1.0)]])
    )}[name]  # fmt: skip
    p = SimulationParams(pixels=(29, 29), probe=probe)
    c = scan_center(mol)
    ref = brute_force_height(mol, p, c)
    h = D.height_map(mol, p, c)
    np.testing.assert_allclose(h, ref, atol=2e-3)


def test_height_map_of_a_cation_seen_by_a_positive_tip():
    """Net charge +1 e and the +0.3 e Xe probe: the collective Coulomb repulsion puts the surface
    far beyond any single atom's reach (5.5 Å above the top H); no pixel may be missed."""
    nh4 = Molecule(
        [7, 1, 1, 1, 1],
        [[0, 0, 0], [0, 0, 1.0], [0.94, 0, -0.33], [-0.47, 0.82, -0.33], [-0.47, -0.82, -0.33]],
        [-0.2, 0.3, 0.3, 0.3, 0.3],
        name="NH4+",
    )
    p = SimulationParams(pixels=(21, 21), probe="Xe")
    ref = brute_force_height(nh4, p, (0.0, 0.0), z_start=9.0)
    h = D.height_map(nh4, p, (0.0, 0.0))
    assert h.max() > 5.0
    np.testing.assert_allclose(h, ref, atol=2e-3)


def test_height_map_is_monotone_in_iso_force():
    mol = camphor()
    maps = {iso: D.height_map(mol, iso_force=iso) for iso in (0.03, 0.1, 0.3)}
    assert maps[0.03].max() > maps[0.1].max() > maps[0.3].max()
    # pixel by pixel: a larger repulsive iso-value is met later (lower) coming down
    for lo, hi in ((0.03, 0.1), (0.1, 0.3)):
        shown = maps[hi] > maps[hi].min()
        assert shown.sum() > 100
        assert np.all(maps[lo][shown] >= maps[hi][shown] - 1e-4)


def test_height_map_cutoff_floor():
    mol = camphor()
    h = D.height_map(mol)
    assert h.min() == pytest.approx(h.max() - 2.0, abs=1e-5)
    h1 = D.height_map(mol, cutoff=1.0)
    assert h1.min() == pytest.approx(h.max() - 1.0, abs=1e-4)
    above = h1 > h1.min()
    np.testing.assert_allclose(h1[above], h[above], atol=2e-4)


# ---------------------------------------------------------------------------------------------
# cut-offs: deep atoms vanish
# ---------------------------------------------------------------------------------------------
def with_extra_atom(mol: Molecule, xyz) -> Molecule:
    """``mol`` plus an uncharged carbon at ``xyz`` (Å)."""
    return Molecule(np.r_[mol.numbers, 6], np.r_[mol.positions, [xyz]], np.r_[mol.charges, 0.0])


def test_deep_atoms_vanish_from_every_descriptor():
    mol = camphor()
    c = scan_center(mol)
    z_top = mol.positions[:, 2].max()
    base = {fn.__name__: fn(mol, None, c) for fn in ALL_MAPS}
    grid = D.xyz_grid(mol, None, c)
    # an uncharged carbon right below the middle of the molecule, 9 Å down
    deep = with_extra_atom(mol, [c[0], c[1], z_top - 9.0])
    np.testing.assert_array_equal(D.atomic_disks(deep, None, c), base["atomic_disks"])
    np.testing.assert_array_equal(D.vdw_spheres(deep, None, c), base["vdw_spheres"])
    for a, b in zip(D.xyz_grid(deep, None, c), grid, strict=True):
        np.testing.assert_array_equal(a, b)
    # the force field still feels the extra atom (weak attraction): tiny change only
    np.testing.assert_allclose(D.height_map(deep, None, c), base["height_map"], atol=2e-3)
    np.testing.assert_allclose(D.es_map(deep, None, c), base["es_map"], atol=1e-3)


@pytest.mark.parametrize(
    "fn, depth",
    [
        (D.atomic_disks, 1.0),  # atoms more than 1 Å below the top nucleus are left out
        (D.xyz_grid, 0.7),  # z_min = -0.7 Å
        # a carbon sphere (R 1.7 Å) whose top is below the floor (top H cap 1.2 Å − 1.5 Å)
        (D.vdw_spheres, 1.7 + 1.5 - 1.2),
    ],
)
def test_atoms_just_below_each_cutoff_vanish(fn, depth):
    mol = camphor()
    c = scan_center(mol)
    z_top = mol.positions[:, 2].max()
    assert np.all(np.abs(mol.positions[:, :2] - c) < 3.0)
    spot = [c[0] + 5.2, c[1] - 4.9]  # empty part of the window, away from box edges

    def outputs(extra_depth: float | None) -> list[np.ndarray]:
        m = mol if extra_depth is None else with_extra_atom(mol, [*spot, z_top - extra_depth])
        out = fn(m, None, c)
        return list(out) if isinstance(out, tuple) else [out]

    base = outputs(None)
    for a, b in zip(outputs(depth + 0.02), base, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(outputs(depth - 0.05), base, strict=True))


def test_disks_drop_atoms_more_than_cutoff_below_top():
    mol = Molecule([6, 6], [[0.0, 0.0, 0.0], [3.0, 0.0, -1.01]])
    out = D.atomic_disks(mol, None, (0.0, 0.0))
    xs, _ = SimulationParams().pixel_coordinates((0.0, 0.0))
    assert out[np.argmin(np.abs(xs - 3.0)), :].max() == 0.0
    keep = D.atomic_disks(mol, None, (0.0, 0.0), cutoff=1.5)
    assert keep[np.argmin(np.abs(xs - 3.0)), :].max() > 0.4


# ---------------------------------------------------------------------------------------------
# ES map
# ---------------------------------------------------------------------------------------------
def test_es_map_of_a_dipole_changes_sign():
    q = 0.4
    mol = Molecule([1, 1], [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], [q, -q], name="dipole")
    p = SimulationParams(pixels=(65, 65))
    xs, _ = p.pixel_coordinates((0.0, 0.0))
    es = D.es_map(mol, p, (0.0, 0.0))
    # every point with x < 0 is closer to +q than to −q, whatever the surface height there
    assert np.all(es[xs < -1e-9] > 0) and np.all(es[xs > 1e-9] < 0)
    np.testing.assert_allclose(es[32], 0.0, atol=1e-6)  # the mid-plane x = 0
    row = es[:, 32]  # y = 0, along the dipole axis
    assert row[np.argmin(np.abs(xs + 1.0))] > 0.3 and row[np.argmin(np.abs(xs - 1.0))] < -0.3
    # the (negative) probe particle sits higher above −q than above +q: |V| is smaller there
    h = D.height_map(mol, p, (0.0, 0.0))
    assert h[np.argmin(np.abs(xs - 1.0)), 32] > h[np.argmin(np.abs(xs + 1.0)), 32]
    # swapping the charges is the mirror image x → −x of the whole system
    swapped = Molecule(mol.numbers, mol.positions, -mol.charges)
    np.testing.assert_allclose(D.es_map(swapped, p, (0.0, 0.0)), es[::-1, :], atol=1e-5)


def test_es_map_is_point_charge_potential_on_the_height_map():
    mol = camphor()
    p = SimulationParams(pixels=(40, 48))
    c = scan_center(mol)
    h = D.height_map(mol, p, c)
    es = D.es_map(mol, p, c, height=h)
    np.testing.assert_array_equal(es, D.es_map(mol, p, c))
    X, Y = pixel_xy(p, c)
    pts = np.stack([X, Y, h + mol.positions[:, 2].max()], axis=-1)
    r = np.linalg.norm(pts[:, :, None, :] - mol.positions, axis=-1)
    expected = COULOMB_CONST * (mol.charges / r).sum(axis=-1)
    np.testing.assert_allclose(es, expected, rtol=1e-4, atol=1e-6)
    # a flat surface given by hand
    flat = np.full((40, 48), 3.0)
    pts[..., 2] = 3.0 + mol.positions[:, 2].max()
    r = np.linalg.norm(pts[:, :, None, :] - mol.positions, axis=-1)
    expected = COULOMB_CONST * (mol.charges / r).sum(axis=-1)
    np.testing.assert_allclose(D.es_map(mol, p, c, height=flat), expected, rtol=1e-4, atol=1e-6)
    masked = D.es_map(mol, p, c, height=h, floor_value=0.0)
    assert np.all(masked[h == h.min()] == 0.0) and np.all(masked[h > h.min()] == es[h > h.min()])


# ---------------------------------------------------------------------------------------------
# rotations
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [64, 65])
def test_rotating_the_molecule_by_90_degrees_rotates_the_descriptors(n):
    mol = camphor()
    c = scan_center(mol)
    rotated = mol.rotated(ROT90, center=[c[0], c[1], 0.0])
    p = SimulationParams(pixels=(n, n))
    for fn, tol in ((D.vdw_spheres, 1e-5), (D.atomic_disks, 1e-5), (D.height_map, 1e-3),
                    (D.es_map, 1e-3)):  # fmt: skip
        a = fn(mol, p, c)
        b = fn(rotated, p, c)
        np.testing.assert_allclose(b, np.rot90(a), atol=tol, err_msg=fn.__name__)
    cls_a, off_a = D.xyz_grid(mol, p, c)
    cls_b, off_b = D.xyz_grid(rotated, p, c)
    np.testing.assert_array_equal(cls_b, np.rot90(cls_a))
    expected = np.rot90(off_a)[..., [1, 0, 2]] * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
    np.testing.assert_allclose(off_b, expected, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# xyz grid and decoding
# ---------------------------------------------------------------------------------------------
def reference_xyz(positions, center, boxes=16, box_size=1.0, z_min=-0.7) -> dict:
    """{(i, j): (dx, dy, dz)} by a plain loop over atoms: highest atom per box wins."""
    z_top = positions[:, 2].max()
    out: dict = {}
    for x, y, z in positions:
        if z - z_top < z_min:
            continue
        u = (x - center[0]) / box_size + boxes / 2
        v = (y - center[1]) / box_size + boxes / 2
        if not (0 <= u < boxes and 0 <= v < boxes):
            continue
        i, j = int(np.floor(u)), int(np.floor(v))
        dx = x - (center[0] + (i + 0.5 - boxes / 2) * box_size)
        dy = y - (center[1] + (j + 0.5 - boxes / 2) * box_size)
        if (i, j) not in out or z - z_top > out[(i, j)][2]:
            out[(i, j)] = (dx, dy, z - z_top)
    return out


def test_xyz_grid_matches_a_reference_loop():
    boxed, _ = one_atom_per_box()
    for mol, z_min in ((camphor(), -0.7), (camphor(), -50.0), (boxed, -0.7), (boxed, -50.0)):
        c = scan_center(mol) + np.array([0.23, -0.11])
        classes, offsets = D.xyz_grid(mol, center_xy=c, z_min=z_min)
        ref = reference_xyz(mol.positions, c, z_min=z_min)
        assert classes[..., 0].sum() == len(ref) > 0
        np.testing.assert_array_equal(classes.sum(axis=-1), 1.0)  # one-hot
        for (i, j), off in ref.items():
            assert classes[i, j, 0] == 1.0 and classes[i, j, 1] == 0.0
            np.testing.assert_allclose(offsets[i, j], off, atol=1e-6)
        empty = classes[..., 1] == 1.0
        assert np.all(offsets[empty] == 0.0)
        assert np.all(np.abs(offsets[..., :2]) <= 0.5)


def one_atom_per_box(n_atoms: int = 40, seed: int = 0) -> tuple[Molecule, np.ndarray]:
    """A molecule with every atom in its own 1 Å box of the 16 × 16 grid around (0.5, -0.25),
    at least 0.05 Å from the box edges, depths 0 … −1.5 Å (the top atom at exactly 0)."""
    rng = np.random.default_rng(seed)
    center = np.array([0.5, -0.25])
    boxes = rng.choice(256, size=n_atoms, replace=False)
    ij = np.c_[boxes // 16, boxes % 16]
    xy = center + ij - 7.5 + rng.uniform(-0.45, 0.45, size=(n_atoms, 2))
    z = -rng.uniform(0.0, 1.5, n_atoms)
    z[0] = 0.0
    mol = Molecule(rng.choice([1, 6, 7, 8], n_atoms), np.c_[xy, z + 4.2], name="boxed")
    return mol, center


def test_xyz_round_trip_returns_kept_atoms():
    mol, c = one_atom_per_box()
    z_top = mol.positions[:, 2].max()
    for z_min in (-0.7, -1.0, -2.0):
        keep = mol.positions[:, 2] - z_top >= z_min
        assert 5 < keep.sum() <= len(mol)
        classes, offsets = D.xyz_grid(mol, center_xy=c, z_min=z_min)
        assert classes[..., 0].sum() == keep.sum()
        atoms = D.decode_xyz(classes, offsets, center_xy=c)
        assert atoms.shape == (keep.sum(), 4) and np.all(atoms[:, 3] == 1.0)
        expected = mol.positions[keep] - [0.0, 0.0, z_top]
        # every decoded atom is one of the kept atoms, each kept atom is decoded once
        d = np.linalg.norm(atoms[:, None, :3] - expected[None], axis=-1)
        assert sorted(d.argmin(axis=1).tolist()) == list(range(keep.sum()))
        assert d.min(axis=1).max() < 1e-5
    # the real camphor (several atoms share boxes): decode gives the reference loop's atoms
    mol = camphor()
    c = scan_center(mol)
    ref = reference_xyz(mol.positions, c, z_min=-3.0)
    atoms = D.decode_xyz(*D.xyz_grid(mol, center_xy=c, z_min=-3.0), center_xy=c, nms_radius=0)
    expected = np.array(
        [[c[0] + i - 7.5 + dx, c[1] + j - 7.5 + dy, dz] for (i, j), (dx, dy, dz) in ref.items()]
    )
    assert len(atoms) == len(expected) > 10
    d = np.linalg.norm(atoms[:, None, :3] - expected[None], axis=-1)
    assert d.min(axis=1).max() < 1e-5 and len(set(d.argmin(axis=1).tolist())) == len(expected)


def test_xyz_same_box_deep_and_outside_atoms():
    c = (0.0, 0.0)
    pos = [
        [0.2, 0.3, 0.0],  # top atom, box (8, 8)
        [0.7, 0.8, -0.5],  # same box, lower: loses
        [-3.4, 2.2, -0.3],  # box (4, 10)
        [-3.1, 2.9, -0.1],  # same box, higher: wins
        [5.5, -5.5, -0.71],  # too deep (z_min = -0.7)
        [9.0, 0.0, 0.0],  # outside the 16 Å grid
    ]
    mol = Molecule([6] * 6, pos)
    classes, offsets = D.xyz_grid(mol, center_xy=c)
    assert classes[..., 0].sum() == 2
    np.testing.assert_allclose(offsets[8, 8], [-0.3, -0.2, 0.0], atol=1e-6)
    np.testing.assert_allclose(offsets[4, 10], [0.4, 0.4, -0.1], atol=1e-6)
    atoms = D.decode_xyz(classes, offsets, center_xy=c)
    np.testing.assert_allclose(
        sorted(atoms[:, :3].tolist()), [[-3.1, 2.9, -0.1], [0.2, 0.3, 0.0]], atol=1e-6
    )


def test_decode_threshold_sorting_and_nms():
    classes = np.zeros((16, 16, 2), np.float32)
    classes[..., 1] = 1.0
    offsets = np.zeros((16, 16, 3), np.float32)
    # two detections 0.3 Å apart across a box edge, and one far away
    classes[5, 5, 0], offsets[5, 5] = 0.9, [0.4, 0.0, -0.1]
    classes[6, 5, 0], offsets[6, 5] = 0.8, [-0.3, 0.0, -0.1]
    classes[12, 3, 0], offsets[12, 3] = 0.6, [0.0, 0.1, -0.3]
    classes[0, 0, 0] = 0.4  # below threshold
    atoms = D.decode_xyz(classes, offsets, center_xy=(1.0, 2.0))
    assert atoms.shape == (2, 4)
    np.testing.assert_allclose(atoms[:, 3], [0.9, 0.6], atol=1e-6)
    np.testing.assert_allclose(atoms[0, :3], [1.0 - 2.5 + 0.4, 2.0 - 2.5, -0.1], atol=1e-6)
    both = D.decode_xyz(classes, offsets, nms_radius=0.2)
    np.testing.assert_allclose(both[:, 3], [0.9, 0.8, 0.6], atol=1e-6)
    assert len(D.decode_xyz(classes, offsets, threshold=0.3)) == 3  # + the 0.4 box, NMS'd none
    assert len(D.decode_xyz(classes[..., 0], offsets)) == 2  # (bx, by) confidences


def test_nms_is_greedy():
    """A suppressed detection does not suppress others: A keeps, B (near A) goes, C (near B
    only) stays."""
    classes = np.zeros((16, 16), np.float32)
    offsets = np.zeros((16, 16, 3), np.float32)
    for k, (conf, dx) in enumerate(((0.9, 0.0), (0.8, 0.4), (0.7, 0.8))):
        classes[2 + k, 2] = conf
        offsets[2 + k, 2] = [dx - k, 0.0, 0.0]  # x positions 0.0, 0.4, 0.8 from box (2, 2)
    atoms = D.decode_xyz(classes, offsets)
    np.testing.assert_allclose(atoms[:, 3], [0.9, 0.7], atol=1e-6)


def test_decode_batched():
    mols = [camphor(), one_atom_per_box()[0]]
    grids = [D.xyz_grid(m, center_xy=(0.0, 0.0), z_min=-3.0) for m in mols]
    classes = np.stack([g[0] for g in grids])
    offsets = np.stack([g[1] for g in grids])
    out = D.decode_xyz(classes, offsets)
    assert isinstance(out, list) and len(out) == 2
    for got, (cl, off) in zip(out, grids, strict=True):
        np.testing.assert_array_equal(got, D.decode_xyz(cl, off))
    with pytest.raises(ValueError, match="do not match"):
        D.decode_xyz(classes[:, :8], offsets)


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_empty_molecule_is_refused():
    empty = SimpleNamespace(
        numbers=np.zeros(0, int), positions=np.zeros((0, 3)), charges=np.zeros(0), name="void"
    )
    for fn in (*ALL_MAPS, D.xyz_grid):
        with pytest.raises(ValueError, match="no atoms"):
            fn(empty)


def test_bad_grid_is_refused():
    mol = camphor()
    with pytest.raises(ValueError):
        SimulationParams(scan_size=(0.0, 16.0))
    p = SimulationParams()
    p.scan_size = (-16.0, 16.0)  # changed after validation
    for fn in ALL_MAPS:
        with pytest.raises(ValueError, match="scan_size"):
            fn(mol, p)
    p = SimulationParams()
    p.pixels = (0, 128)
    with pytest.raises(ValueError, match="pixels"):
        D.height_map(mol, p)
    for kw in ({"boxes": (0, 16)}, {"boxes": (16,)}, {"box_size": 0.0}, {"box_size": -1.0}):
        with pytest.raises(ValueError, match="box"):
            D.xyz_grid(mol, **kw)
    with pytest.raises(ValueError, match="box_size"):
        D.decode_xyz(np.zeros((16, 16, 2)), np.zeros((16, 16, 3)), box_size=0.0)


def test_molecule_outside_window_is_refused():
    mol = camphor()
    for fn in (*ALL_MAPS, D.xyz_grid):
        with pytest.raises(ValueError, match="1S-camphor.*outside"):
            fn(mol, None, (40.0, -3.0))
    # partly inside is fine
    assert D.vdw_spheres(mol, None, scan_center(mol) + [7.5, 0.0]).shape == (128, 128)


def test_bad_parameters_are_refused():
    mol = camphor()
    for iso in (0.0, -0.1, np.nan):
        with pytest.raises(ValueError, match="iso_force"):
            D.height_map(mol, iso_force=iso)
    for fn in (D.height_map, D.vdw_spheres, D.atomic_disks):
        with pytest.raises(ValueError, match="cutoff"):
            fn(mol, cutoff=0.0)
    with pytest.raises(ValueError, match="width_factor"):
        D.atomic_disks(mol, width_factor=-1.0)
    with pytest.raises(ValueError, match="reference"):
        D.vdw_spheres(mol, reference="bottom")
    with pytest.raises(ValueError, match="height"):
        D.es_map(mol, height=np.zeros((10, 10)))
    with pytest.raises(ValueError, match="center_xy"):
        D.vdw_spheres(mol, None, (np.nan, 0.0))


# ---------------------------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------------------------
def test_plot_descriptors_smoke():
    from matplotlib.figure import Figure

    from afmkit.plotting.descriptors import plot_descriptors

    mol = camphor()
    p = SimulationParams(pixels=(48, 48), n_slices=6)
    fig = plot_descriptors(mol, params=p)
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    for name in ("Atomic Disks", "vdW Spheres", "Height Map", "ES Map"):
        assert name in titles
    stack = np.random.default_rng(0).normal(size=(48, 48, 6)).astype(np.float32)
    fig = plot_descriptors(mol, stack, p)
    titles = [ax.get_title() for ax in fig.axes]
    assert sum("slice" in t for t in titles) == 3 and any("top view" in t for t in titles)
    with pytest.raises(ValueError, match="df_stack"):
        plot_descriptors(mol, stack[:10], p)
