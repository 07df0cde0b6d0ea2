"""Panel of notebook 06 (afmkit.widgets.augmentation): the stages equal afmkit's augment()."""

from __future__ import annotations

import numpy as np

from afmkit.learn import augment as A
from afmkit.widgets import augmentation as G

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
