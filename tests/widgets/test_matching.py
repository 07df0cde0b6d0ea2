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
