"""Δf evidence for orientation matching (afmkit.experiments.df_matching): image turning, the z
ladder and experiment heights, FFT correlation, on-demand tip simulations, and Δf matching end to
end through afmkit.experiments.matching.match(method="df")."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.experiments import df_matching
from afmkit.experiments.df_matching import rotate_image
from afmkit.experiments.matching import build_library, match, orientation_error, rotation_z
from afmkit.physics.simulator import SimulationParams
from afmkit.structures.molecules import camphor
from afmkit.targets.descriptors import vdw_spheres
from afmkit.targets.rotations import random_rotations


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
    from afmkit.physics.simulator import AFMSimulator

    exp = AFMSimulator(params.replace(z_closest=params.z_closest + 0.2))(geometry)
    heights = df_matching.experiment_slice_heights(20)
    picked = df_matching.compared_slices(heights)
    scorer = df_matching.TipScorer(exp[:, :, picked].transpose(2, 0, 1), heights[picked], lad)
    full = scorer.fit(geometry, [(params.k_lat, params.charge)])
    near = scorer.fit(geometry, [(params.k_lat, params.charge)], scorer.near(0.2))
    assert full.height_offset == pytest.approx(0.2) and near.height_offset == pytest.approx(0.2)
    assert near.score == pytest.approx(full.score, abs=2e-3) and full.score > 0.97
    np.testing.assert_allclose(full.shift, 0.0, atol=0.3)


@pytest.mark.slow
def test_df_matching_recovers_a_turned_orientation_with_another_tip_and_height():
    from afmkit.physics.simulator import AFMSimulator

    lib = build_library(n_orientations=40, progress=False, cache=False)
    truth = rotation_z(40.0) @ lib.rotations[11]
    params = lib.params.replace(k_lat=0.32, probe_charge=-0.06, z_closest=2.7)
    stack = AFMSimulator(params)(camphor().rotated(truth))[:, :, [5, 7, 8, 10, 11, 13, 14, 16,
                                                                    17, 19]]
    result = match(stack, library=lib, method="df", top_k=3, n_rescore=3, refine_top=1)
    assert orientation_error(result.rotations[0], truth) < 8.0
    assert result.height_offsets[0] == pytest.approx(0.2, abs=0.15)
    assert result.scores[0] > 0.9 and result.confidence > 0.5
