"""Orientation matching: geometry helpers, the search, the library cache, bad input, accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import benzene

from afmkit import matching
from afmkit.datasets import camphor_standin, camphor_standin_truth
from afmkit.descriptors import vdw_spheres
from afmkit.matching import (
    build_library,
    exact_descriptors,
    match,
    match_descriptor,
    orientation_error,
    rotate_image,
    rotation_z,
    symmetry_rotations,
)
from afmkit.molecules import camphor
from afmkit.rotations import random_rotations
from afmkit.simulator import SimulationParams


def test_rotate_image_turns_counter_clockwise_about_the_centre():
    img = np.zeros((9, 9))
    img[8, 4] = 1.0  # on the +x axis (axis 0 = x)
    turned = rotate_image(img, 90.0)
    assert np.unravel_index(turned.argmax(), turned.shape) == (4, 8)  # now on +y
    np.testing.assert_allclose(rotate_image(img, 0.0), img)


def test_turning_the_molecule_turns_its_descriptor():
    mol = camphor()
    params = SimulationParams(pixels=(96, 96))
    base = mol.rotated(random_rotations(1, np.random.default_rng(3))[0])
    turned = base.rotated(rotation_z(40.0)[()])
    a = vdw_spheres(base, params, center_xy=base.positions[:, :2].mean(0), reference="floor")
    b = vdw_spheres(turned, params, center_xy=turned.positions[:, :2].mean(0), reference="floor")
    r = np.corrcoef(rotate_image(a, 40.0).ravel(), b.ravel())[0, 1]
    assert r > 0.97


def test_symmetry_and_orientation_error():
    assert len(symmetry_rotations(camphor())) == 1  # C1
    sym = symmetry_rotations(benzene())
    assert len(sym) == 4  # identity + three C2 about the principal axes
    R = random_rotations(3, np.random.default_rng(0))
    for s in sym:
        np.testing.assert_allclose(orientation_error(R, R @ s, sym), 0.0, atol=1e-5)
    assert orientation_error(R[0], R[1]) > 1.0
    np.testing.assert_allclose(orientation_error(rotation_z(30.0) @ R[0], R[0]), 30.0, atol=1e-6)


def test_search_recovers_orientations_from_exact_descriptors():
    lib = build_library(n_orientations=150, source="exact", cache=False)
    params = lib.params
    truths = random_rotations(4, np.random.default_rng(11))
    results = [
        match_descriptor(exact_descriptors(camphor().rotated(r), params), lib, 3) for r in truths
    ]
    acc = matching.accuracy(results, truths)
    assert acc["top3"] == 1.0, acc
    for res in results:
        assert np.all(np.diff(res.scores) <= 0) and res.scores[0] <= 1.0 + 1e-5
        assert res.rotations.shape == (3, 3, 3) and len(res.geometries) == 3


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lib")
    return build_library(n_orientations=6, directory=directory, progress=False), directory


@pytest.mark.slow
def test_match_on_a_reduced_library_with_the_pretrained_model(small_library):
    lib, directory = small_library
    assert len(list(directory.glob("library-*.npz"))) == 1
    again = build_library(n_orientations=6, directory=directory, progress=False)
    np.testing.assert_allclose(again.descriptors, lib.descriptors, atol=1e-2)  # float16 cache
    stack = camphor_standin()[1]
    result = match(stack, library=lib, top_k=3)
    assert result.rotations.shape == (3, 3, 3)
    assert result.experiment_descriptor.shape == (128, 128)
    assert set(result.timings) == {"predict", "descriptor search", "df search", "tip search"}
    assert np.all(np.diff(result.scores) <= 0)
    np.testing.assert_allclose(
        result.geometries[0].positions, camphor().rotated(result.rotations[0]).positions
    )
    fig = matching.plot_matches({1: stack}, {1: result}, lib, simulate=False)
    assert len(fig.axes) == 6


@pytest.mark.slow
def test_interrupted_library_build_resumes(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = matching.predict_descriptors

    def flaky(model, stacks, batch_size=10):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(model, stacks, batch_size)

    monkeypatch.setattr(matching, "predict_descriptors", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_library(n_orientations=4, directory=tmp_path, chunk=2, progress=False)
    assert len(list(tmp_path.glob("library-*.partial.npz"))) == 1
    assert not list(tmp_path.glob("library-*[0-9a-f].npz"))
    lib = build_library(n_orientations=4, directory=tmp_path, chunk=2, progress=False)
    assert calls["n"] == 3  # only the missing chunk was simulated
    assert lib.descriptors.shape == (4, 3, 128, 128)
    assert not list(tmp_path.glob("*.partial.npz"))


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        (np.zeros((64, 64, 10)), "64 × 64 pixels"),
        (np.zeros((128, 128)), "one stack"),
        (np.zeros((128, 128, 5)) + np.arange(5), "needs at least 10"),
        (np.full((128, 128, 10), np.nan), "NaN"),
        (np.ones((128, 128, 10)), "constant"),
    ],
)
def test_match_rejects_bad_stacks_before_any_simulation(stack, message, monkeypatch):
    def no_library(*args, **kwargs):
        raise AssertionError("the library must not be built for a bad stack")

    monkeypatch.setattr(matching, "build_library", no_library)
    with pytest.raises(ValueError, match=message):
        match(stack, n_orientations=3)


def test_standin_truth_is_far_from_a_trivial_answer():
    # the stand-in's orientations are spread out: no single orientation is within 15° of most
    rot = camphor_standin_truth().rotations
    errors = orientation_error(rot[:, None], rot[None, :])
    assert np.mean(errors[np.triu_indices(len(rot), 1)] < 15.0) < 0.2


@pytest.mark.slow
def test_matching_panel_follows_its_controls(small_library):
    from afmkit.widgets import matching_panel

    lib, _ = small_library
    stacks = {n: s for n, s in camphor_standin().items() if n <= 2}
    results = {n: match(s, library=lib, top_k=2) for n, s in stacks.items()}
    truth = camphor_standin_truth().rotations
    panel = matching_panel(stacks, results, lib, truth={1: truth[0], 2: truth[1]})
    panel.refresh()
    first = (panel.outputs[0].children[1].children[1].value, panel.outputs[1].value)
    assert "from the true orientation" in first[1]
    panel.set(experiment=2, rank=2)
    second = (panel.outputs[0].children[1].children[1].value, panel.outputs[1].value)
    assert first[0] != second[0] and first[1] != second[1]
    assert panel.renders >= 2 and panel.last_render_s < 2.0
    with pytest.raises(ValueError, match="match result for every"):
        matching_panel({**stacks, 9: stacks[1]}, results, lib)


def test_channel_choice_is_validated():
    lib = build_library(n_orientations=3, source="exact", cache=False)
    desc = exact_descriptors(camphor(), lib.params)
    with pytest.raises(ValueError, match="subset of"):
        match_descriptor(desc, lib, channels=("bogus",))
    with pytest.raises(ValueError, match="3 channels"):
        match_descriptor(desc[1], lib)
    both = match_descriptor(desc, lib, 2, channels=("vdw_spheres", "height_map"))
    assert both.channels == ("vdw_spheres", "height_map")
    assert both.experiment_descriptor.shape == (128, 128)
    assert match_descriptor(desc, lib, 2).channels == ("vdw_spheres",)
