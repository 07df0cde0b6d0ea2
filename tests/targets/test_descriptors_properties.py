"""Property-based tests of the descriptors: for random molecules on small grids every map is
finite, of the grid's shape and within its documented bounds; malformed arguments give a clear
ValueError/TypeError, never a crash deep inside NumPy."""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from afmkit.physics.simulator import PROBES, SimulationParams
from afmkit.structures.elements import atomic_number, vdw_radius
from afmkit.structures.molecules import Molecule
from afmkit.targets import descriptors as D
from tests.strategies import assert_clear_error, junk, junk_arrays, molecules, no_hang


@st.composite
def grids(draw) -> SimulationParams:
    """Small pixel grids (2–24 px a side) over 4–16 Å windows, CO or Xe probe."""
    return SimulationParams(
        scan_size=(draw(st.floats(4.0, 16.0)), draw(st.floats(4.0, 16.0))),
        pixels=(draw(st.integers(2, 24)), draw(st.integers(2, 24))),
        probe=draw(st.sampled_from(sorted(PROBES))),
        probe_charge=draw(st.none() | st.floats(-0.3, 0.3)),
    )


def _assert_map(a: np.ndarray, params: SimulationParams) -> None:
    assert a.shape == tuple(params.pixels) and a.dtype == np.float32
    assert np.all(np.isfinite(a)), "non-finite pixels"


# ---------------------------------------------------------------------------------------------
# random molecules: finite maps within their bounds
# ---------------------------------------------------------------------------------------------
def _nearest_pixel(params: SimulationParams, center, xy) -> float:
    xs, ys = params.pixel_coordinates(center)
    return float(np.hypot(np.abs(xs - xy[0]).min(), np.abs(ys - xy[1]).min()))


@settings(max_examples=60)
@given(
    mol=molecules(extent=2.0),
    params=grids(),
    cutoff=st.floats(0.2, 3.0),
    centered=st.booleans(),
)
def test_height_map_is_finite_and_floored(mol, params, cutoff, centered):
    top_atom = mol.positions[np.argmax(mol.positions[:, 2])]
    center = top_atom[:2] if centered else None
    try:
        with no_hang(30):
            top = D.height_map(mol, params, center, cutoff=cutoff)
            floor = D.height_map(mol, params, center, cutoff=cutoff, reference="floor")
    except ValueError as err:
        # a coarse grid may have no pixel over the surface (2 px over 16 Å: pixels 8 Å away)
        assert "isosurface" in str(err)
        from afmkit.physics.simulator import scan_center

        c = scan_center(mol) if center is None else center
        assert _nearest_pixel(params, c, top_atom) > 1.0, "a pixel 1 Å from the top atom"
        return
    _assert_map(top, params)
    _assert_map(floor, params)
    assert floor.min() >= 0.0
    np.testing.assert_allclose(floor.max(), cutoff, rtol=1e-5)
    np.testing.assert_allclose(top - floor, top.max() - cutoff, atol=1e-4)


@settings(max_examples=80)
@given(
    mol=molecules(extent=3.0),
    params=grids(),
    cutoff=st.floats(0.2, 3.0),
    radii=st.none() | st.dictionaries(st.sampled_from(["H", "c", 8, "16"]), st.floats(0.3, 3.0)),
)
def test_vdw_spheres_stay_below_the_highest_sphere_top(mol, params, cutoff, radii):
    center = mol.positions[0, :2]
    r = vdw_radius(mol.numbers)
    for key, value in (radii or {}).items():
        r = np.where(mol.numbers == atomic_number(key), value, r)
    try:
        v = D.vdw_spheres(mol, params, center, cutoff=cutoff, radii=radii)
    except ValueError as err:
        # a coarse grid may have no pixel inside any sphere
        assert "covers any pixel" in str(err)
        near = [_nearest_pixel(params, center, p) for p in mol.positions]
        assert np.all(np.array(near) >= r - 1e-6)
        return
    _assert_map(v, params)
    top = (mol.positions[:, 2] - mol.positions[:, 2].max() + r).max()
    assert v.max() <= top + 1e-4
    assert v.min() >= v.max() - cutoff - 1e-4
    f = D.vdw_spheres(mol, params, center, cutoff=cutoff, radii=radii, reference="floor")
    np.testing.assert_allclose(f.max(), cutoff, rtol=1e-5)


@settings(max_examples=80)
@given(
    mol=molecules(extent=3.0),
    params=grids(),
    cutoff=st.floats(0.1, 3.0),
    width=st.floats(0.2, 3.0),
)
def test_atomic_disks_lie_between_zero_and_the_cutoff(mol, params, cutoff, width):
    a = D.atomic_disks(mol, params, mol.positions[0, :2], cutoff=cutoff, width_factor=width)
    _assert_map(a, params)
    assert a.min() >= 0.0 and a.max() <= cutoff * (1 + 1e-5)


@settings(max_examples=40)
@given(mol=molecules(extent=2.0), params=grids(), floor_value=st.none() | st.floats(-1, 1))
def test_es_map_is_finite(mol, params, floor_value):
    center = mol.positions[np.argmax(mol.positions[:, 2]), :2]
    if _nearest_pixel(params, center, center) > 1.0:
        params = params.replace(pixels=(25, 25))  # a pixel over the top atom: a surface exists
    h = D.height_map(mol, params, center)
    v = D.es_map(mol, params, center, height=h, floor_value=floor_value)
    _assert_map(v, params)
    if not mol.charges.any():  # no charges: no potential (or the floor value)
        assert np.all((v == 0) | (v == np.float32(floor_value or 0.0)))


@settings(max_examples=100)
@given(
    mol=molecules(extent=8.0),
    boxes=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    box_size=st.floats(0.3, 2.0),
    z_min=st.floats(-5.0, 0.0),
)
def test_xyz_grid_is_one_hot_and_decodes_to_its_atoms(mol, boxes, box_size, z_min):
    center = mol.positions[0, :2]
    classes, offsets = D.xyz_grid(mol, None, center, boxes=boxes, box_size=box_size, z_min=z_min)
    assert classes.shape == (*boxes, 2) and offsets.shape == (*boxes, 3)
    assert classes.dtype == offsets.dtype == np.float32
    np.testing.assert_array_equal(classes.sum(axis=-1), 1.0)
    atom = classes[..., 0] == 1
    assert atom.sum() <= len(mol)
    assert np.all(np.abs(offsets[..., :2]) <= box_size / 2 + 1e-5)
    assert np.all(offsets[atom, 2] >= z_min - 1e-5) and np.all(offsets[atom, 2] <= 1e-6)
    assert np.all(offsets[~atom] == 0)
    found = D.decode_xyz(classes, offsets, nms_radius=0, center_xy=center, box_size=box_size)
    assert found.shape == (atom.sum(), 4)
    rel = mol.positions - [0, 0, mol.positions[:, 2].max()]
    for x, y, z, conf in found:  # every decoded atom is one of the molecule's atoms
        d = np.abs(rel - [x, y, z]).max(axis=1)
        assert d.min() < 1e-3 and conf == 1.0


# ---------------------------------------------------------------------------------------------
# malformed arguments
# ---------------------------------------------------------------------------------------------
SMALL = SimulationParams(pixels=(6, 6), scan_size=(6.0, 6.0))
MOL = Molecule([6, 8, 1], [[0.0, 0.0, 0.0], [1.2, 0.0, 0.3], [-0.9, 0.4, -0.2]], [-0.2, -0.1, 0.3])


def _call_or_error(fn, *args, **kwargs):
    try:
        with no_hang(30):
            out = fn(*args, **kwargs)
    except Exception as err:  # the type is the property under test
        assert_clear_error(err)
        return None
    return out


def _finite_outputs(out) -> None:
    if out is None:
        return
    for a in out if isinstance(out, tuple) else (out,):
        assert np.all(np.isfinite(a))


MAPS = [D.height_map, D.vdw_spheres, D.atomic_disks, D.es_map]


@settings(max_examples=150)
@given(
    fn=st.sampled_from(MAPS + [D.xyz_grid]),
    center=st.none() | junk | junk_arrays(max_dims=2) | st.tuples(st.floats(), st.floats()),
)
def test_any_window_centre_gives_a_map_or_a_clear_error(fn, center):
    _finite_outputs(_call_or_error(fn, MOL, SMALL, center))


keys = st.one_of(st.none(), st.booleans(), st.integers(-3, 100), st.floats(), st.text(max_size=3))
KEYWORDS = {
    D.height_map: {"iso_force": junk, "cutoff": junk, "reference": junk},
    D.vdw_spheres: {"cutoff": junk, "reference": junk,
                    "radii": st.none() | st.dictionaries(keys, junk, max_size=2)},
    D.atomic_disks: {"cutoff": junk, "width_factor": junk,
                     "radii": st.none() | st.dictionaries(keys, junk, max_size=2)},
    D.es_map: {"height": st.none() | junk | junk_arrays(max_dims=3) | hnp.arrays(
        np.float64, (6, 6), elements=st.floats()), "floor_value": junk, "iso_force": junk},
    D.xyz_grid: {"boxes": junk | st.tuples(st.integers(-2, 30), st.integers(-2, 30)),
                 "box_size": junk, "z_min": junk},
}


@st.composite
def keyword_junk(draw):
    fn = draw(st.sampled_from(list(KEYWORDS)))
    names = draw(st.lists(st.sampled_from(sorted(KEYWORDS[fn])), min_size=1, unique=True))
    return fn, {n: draw(KEYWORDS[fn][n]) for n in names}


@settings(max_examples=300)
@given(call=keyword_junk())
def test_junk_keywords_give_a_map_or_a_clear_error(call):
    fn, kwargs = call
    _finite_outputs(_call_or_error(fn, MOL, SMALL, **kwargs))


@settings(max_examples=150)
@given(
    classes=junk_arrays(max_dims=5) | hnp.arrays(np.float32, st.sampled_from(
        [(4, 4, 2), (4, 4), (2, 4, 4, 2), (4, 4, 1), (4, 4, 3), (2, 4, 4)]),
        elements=st.floats(width=32)),
    offsets=junk_arrays(max_dims=5) | hnp.arrays(np.float32, st.sampled_from(
        [(4, 4, 3), (2, 4, 4, 3), (4, 4, 2)]), elements=st.floats(-2, 2, width=32)),
    threshold=st.floats() | junk,
    nms_radius=st.floats() | junk,
    center_xy=st.just((0.0, 0.0)) | junk | st.tuples(st.floats(), st.floats()),
    box_size=st.just(1.0) | junk,
)
def test_decode_xyz_gives_atom_lists_or_a_clear_error(
    classes, offsets, threshold, nms_radius, center_xy, box_size
):
    out = _call_or_error(D.decode_xyz, classes, offsets, threshold, nms_radius, center_xy,
                         box_size)
    if out is None:
        return
    for atoms in out if isinstance(out, list) else [out]:
        assert atoms.ndim == 2 and atoms.shape[1] == 4
        assert np.all(np.diff(atoms[:, 3]) <= 0) or np.isnan(atoms[:, 3]).any()


@settings(max_examples=80)
@given(mol=st.one_of(
    st.builds(types.SimpleNamespace, numbers=junk_arrays(min_dims=1, max_dims=1),
              positions=junk_arrays(min_dims=2, max_dims=2), charges=junk_arrays(max_dims=1)),
    st.builds(types.SimpleNamespace, numbers=st.just(np.array([6, 300])),
              positions=st.just(np.zeros((2, 3)))),
), fn=st.sampled_from(MAPS + [D.xyz_grid]))
def test_molecule_look_alikes_give_a_map_or_a_clear_error(mol, fn):
    _finite_outputs(_call_or_error(fn, mol, SMALL))


# ---------------------------------------------------------------------------------------------
# known bugs (afmkit/targets is owned by another change): each proposed fix is in the reason
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params", ["16x16", {"pixels": (8, 8)}])
def test_params_of_the_wrong_type_are_a_type_error(params):
    for fn in MAPS + [D.xyz_grid]:
        with pytest.raises(TypeError, match="SimulationParams"):
            fn(MOL, params)


@pytest.mark.parametrize(("fn", "kwargs"), [
    (D.atomic_disks, {"width_factor": 1e-300}),
    (D.atomic_disks, {"radii": {"C": 1e-300}}),
    (D.vdw_spheres, {"radii": {"C": 1e300}}),
    (D.vdw_spheres, {"radii": {"C": 1e20}}),
    (D.vdw_spheres, {"cutoff": 1e300}),
])
def test_absurd_lengths_give_finite_maps_or_a_value_error_naming_them(fn, kwargs):
    grid = SimulationParams(pixels=(5, 5), scan_size=(4.0, 4.0))  # a pixel on the C atom
    try:
        out = fn(MOL, grid, (0.0, 0.0), **kwargs)
    except ValueError as err:
        assert any(k in str(err) for k in ("radius", "cutoff", "width_factor")), str(err)
        return
    assert np.all(np.isfinite(out))
