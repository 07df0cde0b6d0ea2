"""Orientation matching (afmkit.experiments.matching): geometry helpers, the descriptor search,
the library cache, confidence, bad input, accuracy.

The Δf evidence (afmkit.experiments.df_matching) is tested in test_df_matching.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.experiments import matching
from afmkit.experiments.matching import (
    build_library,
    exact_descriptors,
    match,
    match_descriptor,
    orientation_error,
    rotation_z,
    symmetry_rotations,
)
from afmkit.experiments.published import camphor_standin, camphor_standin_truth
from afmkit.plotting.matching import plot_matches
from afmkit.structures.molecules import camphor
from afmkit.targets.rotations import random_rotations
from tests.conftest import benzene


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
    assert set(result.timings) == {
        "predict", "descriptor search", "df search", "tip search", "orientation refinement"
    }
    assert result.method == matching.DEFAULT_METHOD
    assert 0.0 <= result.confidence <= 1.0 and isinstance(result.ambiguous, bool)
    assert result.height_offsets.shape == (3,) and result.tips.shape == (3, 2)
    summary = result.to_dict()
    assert summary["matches"][0]["rank"] == 1 and "verdict" in summary
    assert np.all(np.diff(result.scores) <= 0)
    np.testing.assert_allclose(
        result.geometries[0].positions, camphor().rotated(result.rotations[0]).positions
    )
    fig = plot_matches({1: stack}, {1: result}, lib, simulate=False)
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


# ---------------------------------------------------------------------------------------------
# confidence, bad input, the library cache
# ---------------------------------------------------------------------------------------------


def test_confidence_adds_up_orientations_that_are_the_same_answer():
    rot = random_rotations(3, np.random.default_rng(1))
    near = rotation_z(5.0) @ rot[0]
    rotations = np.stack([rot[0], near, rot[1], rot[2]])
    p = matching.orientation_probabilities(rotations, np.array([0.9, 0.89, 0.5, 0.4]), 0.01)
    assert p[0] == pytest.approx(p[1]) and p[0] > 0.99 and p[2] < 0.01
    flat = matching.orientation_probabilities(rotations, np.array([0.9, 0.2, 0.9, 0.1]), 0.01)
    assert flat[0] == pytest.approx(flat[2], abs=1e-6) and flat[0] < 0.6
    result = matching.MatchResult(
        rotations=rotations[[0, 2, 3]], scores=np.array([0.9, 0.9, 0.1]), geometries=[],
        library_index=np.zeros(3, int), inplane_deg=np.zeros(3), shifts=np.zeros((3, 2)),
        experiment_descriptors=np.zeros((3, 4, 4)), probabilities=flat[[0, 2, 3]],
        candidate_rotations=rotations, candidate_scores=np.array([0.9, 0.2, 0.9, 0.1]),
    )
    assert result.runner_up == 1 and result.ambiguous and "ambiguous" in result.verdict()
    sure = matching.set_confidence(result, 1e-4)  # a sharp temperature: still a tie
    assert sure.ambiguous
    # calibration on perfect answers prefers a sharp temperature
    good = matching.MatchResult(
        rotations=rotations[[0, 2]], scores=np.array([0.9, 0.8]), geometries=[],
        library_index=np.zeros(2, int), inplane_deg=np.zeros(2), shifts=np.zeros((2, 2)),
        experiment_descriptors=np.zeros((3, 4, 4)),
        candidate_rotations=rotations[[0, 2]], candidate_scores=np.array([0.9, 0.8]),
    )
    t = matching.calibrate_temperature([good] * 3, np.stack([rot[0]] * 3))
    assert t < 0.02


def test_match_rejects_unknown_methods_and_short_stacks_before_any_simulation(monkeypatch):
    def no_library(*args, **kwargs):
        raise AssertionError("the library must not be built for bad input")

    monkeypatch.setattr(matching, "build_library", no_library)
    stack = camphor_standin()[1]
    with pytest.raises(ValueError, match="method must be one of"):
        match(stack, n_orientations=3, method="magic")
    with pytest.raises(ValueError, match="at least 7 slices"):
        match(stack, n_orientations=3, method="df", slice_heights=np.arange(10)[::-1] * 0.05)
    with pytest.raises(ValueError, match="one height per slice"):
        match(stack, n_orientations=3, slice_heights=[0.0, 0.1])
    chain = type(camphor())([6] * 20, np.c_[np.arange(20) * 1.5, np.zeros(20), np.zeros(20)],
                            np.zeros(20), name="C20 chain")
    with pytest.raises(ValueError, match="would not fit"):
        match(stack, n_orientations=3, molecule=chain)


@pytest.mark.slow
def test_corrupt_cached_library_is_rebuilt_with_one_warning(tmp_path):
    first = build_library(n_orientations=3, directory=tmp_path, progress=False)
    (path,) = tmp_path.glob("library-*.npz")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.warns(RuntimeWarning, match="unreadable"):
        again = build_library(n_orientations=3, directory=tmp_path, progress=False)
    np.testing.assert_allclose(again.stacks, first.stacks, atol=1e-2)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert first.stacks.shape == (3, 15, 64, 64)
    with np.load(path) as f:
        assert f["stacks"].dtype == np.float16


