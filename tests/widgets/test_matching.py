"""The matching panel of notebook 11 (afmkit.widgets.matching)."""

from __future__ import annotations

import pytest

from afmkit.experiments.matching import match
from afmkit.experiments.published import camphor_standin, camphor_standin_truth


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


@pytest.mark.slow
def test_match_search_panel_runs_a_search_with_its_controls(small_library):
    import numpy as np

    from afmkit.widgets import match_search_panel

    lib, _ = small_library
    stacks = {n: s for n, s in camphor_standin().items() if n <= 2}
    truth = camphor_standin_truth().rotations
    panel = match_search_panel(stacks, library=lib, truth={1: truth[0], 2: truth[1]})
    assert panel.controls["n_orientations"].value == len(lib)
    panel.set(experiment=2, method="descriptors", angle_step=15.0, refine_step=12.0,
              max_shift=2.0, top_k=3, channels=("vdw_spheres", "height_map"))  # fmt: skip
    assert panel.controls["n_rescore"].disabled and not panel.controls["channels"].disabled
    options = panel.search_options()
    assert options["channels"] == ("vdw_spheres", "height_map") and options["top_k"] == 3
    assert panel.start() and panel.join(300), panel.status.value
    result = panel.result
    assert panel.job.error is None and result is not None and len(result.scores) == 3
    assert result.method == "descriptors" and result.channels == ("vdw_spheres", "height_map")
    expected = match(stacks[2], library=lib, method="descriptors", angle_step=15.0,
                     refine_step=12.0, max_shift=2.0, top_k=3,
                     channels=("vdw_spheres", "height_map"))  # fmt: skip
    # the same search (the DSH prediction differs in the last float32 digits between threads)
    np.testing.assert_array_equal(result.library_index, expected.library_index)
    np.testing.assert_allclose(result.scores, expected.scores, atol=2e-3)
    assert "confidence of the best match" in panel.table.value
    assert panel.table.value.count("<tr>") == 4 and "°</td>" in panel.table.value
    assert "matched in" in panel.status.value and panel.browser_box.children

    panel.set(refine_step=10.0, angle_step=5.0)  # refined step clamped to the coarse one
    assert panel.search_options()["refine_step"] == 5.0
    panel.set(method="df")
    assert panel.controls["channels"].disabled and not panel.controls["n_rescore"].disabled
    with pytest.raises(ValueError, match="at least one experiment"):
        match_search_panel({}, library=lib)
