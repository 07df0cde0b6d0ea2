"""Orientation matching: geometry helpers, the search, the library cache, bad input, accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import benzene

from afmkit import df_matching, matching
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


# ---------------------------------------------------------------------------------------------
# Δf evidence: heights, correlation, on-demand simulations, confidence, bad input
# ---------------------------------------------------------------------------------------------
def test_ladder_holds_the_dsh_stack_and_every_height_offset():
    params = SimulationParams()
    lad = df_matching.ladder(params, (-0.4, 0.4), (0.0, 0.3, 0.6))
    assert lad.params.n_slices == 24 and lad.params.z_closest == pytest.approx(2.1)
    heights = lad.params.slice_heights()
    np.testing.assert_allclose(heights[lad.dsh_slices], params.slice_heights(), atol=1e-9)
    np.testing.assert_allclose(lad.df_heights, np.round(np.arange(1.0, -0.45, -0.1), 6))
    np.testing.assert_allclose(heights[lad.df_slices] - params.z_closest, lad.df_heights,
                               atol=1e-9)
    np.testing.assert_allclose(lad.height_offsets, np.round(np.arange(-0.4, 0.45, 0.1), 6))
    with pytest.raises(ValueError, match="contain 0"):
        df_matching.ladder(params, (0.1, 0.4))


def test_experiment_heights_and_compared_slices():
    h10 = df_matching.experiment_slice_heights(10)
    np.testing.assert_allclose(h10, [1.4, 1.2, 1.1, 0.9, 0.8, 0.6, 0.5, 0.3, 0.2, 0.0])
    assert df_matching.compared_slices(h10).tolist() == [9, 7, 5]
    np.testing.assert_allclose(df_matching.experiment_slice_heights(4), [0.3, 0.2, 0.1, 0.0])
    with pytest.raises(ValueError, match="at least 7 slices"):
        df_matching.compared_slices(df_matching.experiment_slice_heights(4))


def test_slice_correlator_finds_a_known_shift_at_every_offset():
    rng = np.random.default_rng(0)
    lib = np.zeros((2, 4, 32, 32))
    lib[..., 8:24, 8:24] = rng.normal(size=(2, 4, 16, 16))  # nothing wraps round when shifted
    exp = np.roll(lib[1, [1, 2]], (3, -2), axis=(1, 2))  # exp(p) = lib(p - d), d = (3, -2)
    corr = df_matching.SliceCorrelator(lib, max_px=5, remove_plane=False)
    refs = df_matching.prepare_images(exp, remove_plane=False)
    scores, shifts = corr.scores(refs, np.array([[0, 1], [1, 2], [2, 3]]))
    assert scores.shape == (2, 3) and scores[1, 1] == pytest.approx(1.0, abs=1e-3)  # float32 FFT
    assert np.unravel_index(scores.argmax(), scores.shape) == (1, 1)
    assert shifts[1, 1].tolist() == [-3, 2]  # library(p + d') ≈ exp(p): d' = −d
    # the same through pair_scores, one reference for every row
    spectra = corr.reference_spectra(refs)[None]
    pair, _ = corr.pair_scores(spectra, np.array([1, 0]), np.array([0, 0]),
                               np.array([[1, 2]]))
    assert pair[0, 0] == pytest.approx(scores[1, 1], abs=1e-5)


def test_pooled_pixels_sit_at_block_centres():
    params = SimulationParams()
    pooled = df_matching._pooled_params(params, 2)
    xs, _ = params.pixel_coordinates()
    pxs, _ = pooled.pixel_coordinates()
    np.testing.assert_allclose(pxs, xs.reshape(-1, 2).mean(axis=1), atol=1e-9)


@pytest.mark.slow
def test_tip_scorer_sub_ladder_matches_the_full_ladder():
    params = SimulationParams()
    lad = df_matching.ladder(params)
    geometry = camphor().rotated(random_rotations(1, np.random.default_rng(5))[0])
    # an "experiment": the nominal tip 0.2 Å higher than nominal
    from afmkit.simulator import AFMSimulator

    exp = AFMSimulator(params.replace(z_closest=params.z_closest + 0.2))(geometry)
    heights = df_matching.experiment_slice_heights(20)
    picked = df_matching.compared_slices(heights)
    scorer = df_matching.TipScorer(exp[:, :, picked].transpose(2, 0, 1), heights[picked], lad)
    full = scorer.fit(geometry, [(params.k_lat, params.charge)])
    near = scorer.fit(geometry, [(params.k_lat, params.charge)], scorer.near(0.2))
    assert full.height_offset == pytest.approx(0.2) and near.height_offset == pytest.approx(0.2)
    assert near.score == pytest.approx(full.score, abs=2e-3) and full.score > 0.97
    np.testing.assert_allclose(full.shift, 0.0, atol=0.3)


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


@pytest.mark.slow
def test_df_matching_recovers_a_turned_orientation_with_another_tip_and_height():
    from afmkit.simulator import AFMSimulator

    lib = build_library(n_orientations=40, progress=False, cache=False)
    truth = rotation_z(40.0) @ lib.rotations[11]
    params = lib.params.replace(k_lat=0.32, probe_charge=-0.06, z_closest=2.7)
    stack = AFMSimulator(params)(camphor().rotated(truth))[:, :, [5, 7, 8, 10, 11, 13, 14, 16,
                                                                    17, 19]]
    result = match(stack, library=lib, method="df", top_k=3, n_rescore=3, refine_top=1)
    assert orientation_error(result.rotations[0], truth) < 8.0
    assert result.height_offsets[0] == pytest.approx(0.2, abs=0.15)
    assert result.scores[0] > 0.9 and result.confidence > 0.5
