"""Viewing directions and Eq. 25 rotation selection."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.targets.rotations import (
    random_rotations,
    rotation_angle,
    rotation_scores,
    rotation_to_z,
    select_rotations,
    sphere_points,
    uniform_rotations,
)
from tests.conftest import benzene


def is_rotation(r: np.ndarray) -> bool:
    eye = np.einsum("...ji,...jk->...ik", r, r)
    return np.allclose(eye, np.eye(3), atol=1e-10) and np.allclose(np.linalg.det(r), 1.0)


def test_sphere_points_are_unit_and_spread():
    p = sphere_points(100)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0)
    assert np.abs(p.mean(axis=0)).max() < 0.02  # no preferred direction
    d = np.linalg.norm(p[:, None] - p[None], axis=-1) + 10 * np.eye(100)
    nearest = d.min(axis=1)
    assert nearest.min() > 0.5 * nearest.mean()  # no clumps


def test_rotations_map_directions_to_z():
    d = np.r_[sphere_points(50), [[0, 0, -1.0], [0, 0, 1.0]]]
    rot = rotation_to_z(d)
    assert is_rotation(rot)
    assert np.allclose(np.einsum("nij,nj->ni", rot, d), [0, 0, 1], atol=1e-10)
    assert is_rotation(uniform_rotations(20, roll=0.7))


def test_random_rotations_uniform():
    rot = random_rotations(4000, np.random.default_rng(0))
    assert is_rotation(rot)
    # the image of z is uniform on the sphere: mean ~0, z-component uniform in [-1, 1]
    z = rot[:, :, 2]
    assert np.abs(z.mean(axis=0)).max() < 0.05
    assert np.histogram(z[:, 2], bins=4, range=(-1, 1))[0].min() > 900


def test_rotation_angle():
    a = uniform_rotations(5)
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    assert rotation_angle(a, turn @ a) == pytest.approx(np.full(5, 30.0))
    assert rotation_angle(a, a) == pytest.approx(np.zeros(5), abs=1e-5)


def test_planar_molecule_prefers_face_on_views():
    mol = benzene()  # in the xy plane: its normal is ±z
    rot, scores = select_rotations(mol, n=100, n_best=10)
    view_dirs = rot[:, 2, :]  # the direction that ends up along +z
    assert np.all(np.abs(view_dirs[:2, 2]) > 0.95)  # the best views look along the normal
    assert np.all(np.diff(scores) <= 0)
    face_on = rotation_scores(mol, np.eye(3)[None])[0]
    assert face_on == pytest.approx(12.0)  # all 12 atoms at the top
    # the lattice has no exact pole: its best view is ~8° off the normal
    assert 0.6 * face_on < scores[0] <= face_on
    edge_on = rotation_scores(mol, rotation_to_z(np.array([[1.0, 0, 0]])))[0]
    assert edge_on < 0.5 * scores[0]


def test_score_depends_on_beta_and_validates():
    mol = benzene().rotated(uniform_rotations(3)[1])
    r = uniform_rotations(10)
    assert np.all(rotation_scores(mol, r, beta=0.5) >= rotation_scores(mol, r, beta=2.0))
    with pytest.raises(ValueError):
        rotation_scores(mol, r, beta=0)
    with pytest.raises(ValueError):
        select_rotations(mol, n=10, n_best=11)


def test_lay_flat_puts_a_planar_molecule_in_the_xy_plane():
    from afmkit.targets.rotations import lay_flat

    tilted = benzene().rotated(random_rotations(1, np.random.default_rng(5))[0])
    flat = lay_flat(tilted)
    assert np.ptp(flat.positions[:, 2]) < 1e-9
    assert np.ptp(flat.positions[:, 0]) > 4.0
