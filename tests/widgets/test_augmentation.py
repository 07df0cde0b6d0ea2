"""Panel of notebook 06 (afmkit.widgets.augmentation): the stages equal afmkit's augment()."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from afmkit.learn import augment as A
from afmkit.widgets import augmentation as G
from afmkit.widgets.previews import preview_params

#: A render that does not simulate must stay interactive on two cores (seconds).
FAST_S = 0.5


def test_panel_is_served_by_widgets():
    import afmkit.widgets as W

    assert W.augmentation_panel is G.augmentation_panel
    assert W.augmentation_steps is G.augmentation_steps


def test_augmentation_panel_matches_augment():
    panel = G.augmentation_panel(pixels=24, n_slices=20, seed=3)
    panel.refresh()
    st = panel.stages
    ref = A.augment(panel.stack[None], np.random.default_rng(3))[0]
    np.testing.assert_allclose(st["cutouts"], ref, rtol=1e-6, atol=1e-6)
    assert st["cutouts"].shape == (24, 24, 10)
    np.testing.assert_allclose(st["normalized"].mean(axis=(0, 1)), 0.0, atol=1e-5)
    first = st["noise"].copy()
    panel.set(noise_c=0.4)
    assert panel.last_render_s < FAST_S
    assert np.std(panel.stages["noise"] - panel.stages["normalized"]) > np.std(
        first - st["normalized"]
    )
    assert panel.figure.layout.annotations[3].text == "3. + noise, c = 0.40"
    panel.set(n_window=12, n_keep=6, max_shift=0, cutout_holes=0, slice=5)
    st = panel.stages
    assert len(st["indices"]) == 6 and np.ptp(st["indices"]) <= 11
    assert st["shifts"] is None and st["boxes"] is None
    np.testing.assert_array_equal(st["cutouts"], st["noise"])
    panel.set(cutout_holes=10, cutout_p=1.0, cutout_area=5.0)
    assert (panel.stages["cutouts"] == 0).sum() > 0
    again = G.augmentation_steps(panel.stack, 3, n_window=12, n_keep=6, noise_c=0.4,
                                 max_shift=0, cutout_holes=10, cutout_p=1.0,
                                 cutout_area=(0.005, 0.05))  # fmt: skip
    np.testing.assert_array_equal(again["cutouts"], panel.stages["cutouts"])
    assert panel.last_render_s < FAST_S
    panel.set(normalize=False)
    assert panel.figure.data[4].colorbar.title.text == "Δf (Hz)"


def test_tip_sliders_resimulate_with_a_seeded_tip():
    panel = G.augmentation_panel(pixels=16, n_slices=20, seed=3)
    panel.refresh()
    untilted = panel.stack
    assert panel.params.tilt == (0.0, 0.0) and panel.params.z_closest == 2.5
    for name, unit in (("tilt_radius", "(Å)"), ("height_jitter", "(Å)")):
        assert panel.controls[name].description.endswith(unit), name
    panel.set(tilt_radius=1.0, height_jitter=0.25)  # the training data's values
    tip = panel.params
    assert 0 < np.hypot(*tip.tilt) <= 1.0 and abs(tip.z_closest - 2.5) <= 0.25
    assert np.abs(panel.stack - untilted).max() > 0.1  # Hz: re-simulated with the drawn tip
    ref = A.augment(panel.stack[None], np.random.default_rng(3))[0]
    np.testing.assert_allclose(panel.stages["cutouts"], ref, rtol=1e-6, atol=1e-6)
    drawn = panel.stack.copy()
    panel.set(noise_c=0.3)  # an augmentation slider: the same tip, no new simulation
    assert panel.params == tip and panel.last_render_s < FAST_S
    panel.set(seed=4)
    assert panel.params.tilt != tip.tilt
    panel.set(seed=3)
    assert panel.params == tip
    np.testing.assert_array_equal(panel.stack, drawn)
    again = G.augmentation_panel(pixels=16, n_slices=20, seed=3)
    again.set(tilt_radius=1.0, height_jitter=0.25)
    assert again.params == tip
    np.testing.assert_array_equal(again.stack, drawn)
    panel.set(height_jitter=0.0)  # the tilt's direction stays for one seed
    assert panel.params.tilt == tip.tilt and panel.params.z_closest == 2.5
    panel.set(tilt_radius=0.0)
    np.testing.assert_array_equal(panel.stack, untilted)


def test_drawn_tip_is_the_training_datas():
    """Panel and training data draw tips with the one function, augment.draw_tip."""
    from afmkit.learn.data import AFMDataset

    base = preview_params(16, 20)
    for seed, radius, jitter in ((0, 1.0, 0.25), (7, 0.4, 0.8)):
        dataset = SimpleNamespace(params=base, tilt_radius=radius, height_jitter=jitter)
        ref = AFMDataset._draw_tip(dataset, np.random.default_rng([seed, 0]))
        assert A.draw_tip(base, np.random.default_rng([seed, 0]), radius, jitter) == ref
        assert 0 < np.hypot(*ref.tilt) <= radius and abs(ref.z_closest - base.z_closest) <= jitter
