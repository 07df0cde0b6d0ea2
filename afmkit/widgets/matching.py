"""Widget panel for notebook 11: browse experiment-to-simulation matches.

:func:`matching_panel` shows, for a chosen experiment and match rank, one Δf slice of the
experiment, the vdW Spheres predicted for it, the matched library descriptor (turned like the
match), and the matched geometry seen from the tip — thesis Fig. 17 one row at a time — with
the match score and, for the stand-in, the angle to the true orientation.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.experiments.matching import MatchResult, OrientationLibrary, orientation_error
from afmkit.physics.simulator import scan_center
from afmkit.widgets.core import (
    Panel,
    array_png,
    dropdown,
    image_widget,
    int_slider,
    topview_png,
)

__all__ = ["matching_panel"]


def matching_panel(
    experiments: dict[Any, np.ndarray],
    results: dict[Any, MatchResult],
    library: OrientationLibrary,
    truth: dict[Any, np.ndarray] | None = None,
) -> Panel:
    """Browse matches: experiment, rank (1 = best) and Δf slice.

    Parameters
    ----------
    experiments
        Name → Δf stack (nx, ny, nz), Hz.
    results
        Name → :class:`afmkit.experiments.matching.MatchResult` for the same names.
    library
        The :class:`afmkit.experiments.matching.OrientationLibrary` the results refer to.
    truth
        Optional name → true rotation (3, 3) (stand-in only) to show the angle error, degrees.

    Returns
    -------
    Panel
        Root CSS class ``afmkit-matching-panel``.

    Raises
    ------
    ValueError
        If an experiment has no match result.
    """
    names = list(experiments)
    if not names or set(names) - set(results):
        raise ValueError("matching_panel needs a match result for every experiment")
    k = len(next(iter(results.values())).scores)
    n_slices = next(iter(experiments.values())).shape[2]
    controls = {
        "experiment": dropdown("experiment", names, names[0]),
        "rank": int_slider("match rank", 1, 1, k),
        "slice": int_slider("Δf slice (0 = far)", n_slices - 1, 0, n_slices - 1),
    }
    images = {key: image_widget(200) for key in ("afm", "exp", "sim", "geometry")}
    captions = {
        "afm": "experiment Δf",
        "exp": "predicted vdW Spheres",
        "sim": "matched simulation",
        "geometry": "matched geometry",
    }
    info = w.HTML()
    cells = [w.VBox([w.HTML(f"<small>{captions[key]}</small>"), img]) for key, img in
             images.items()]

    def render(v: dict[str, Any]) -> None:
        result = results[v["experiment"]]
        rank = v["rank"] - 1
        stack = experiments[v["experiment"]]
        images["afm"].value = array_png(stack[:, :, v["slice"]].T, cmap="gray")
        lo = float(result.experiment_descriptor.min())
        hi = float(max(result.experiment_descriptor.max(), lo + 1e-6))
        images["exp"].value = array_png(result.experiment_descriptor.T, "viridis", lo, hi)
        images["sim"].value = array_png(result.matched_descriptor(library, rank).T, "viridis")
        geometry = result.geometries[rank]
        extent = library.params.extent(scan_center(geometry))
        images["geometry"].value = topview_png(
            geometry, extent, title=f"rank {rank + 1}", legend=False, size_in=2.6
        )
        text = (
            f"{result.method} score <b>{result.scores[rank]:.3f}</b>; direction "
            f"#{result.library_index[rank]}, turned {result.inplane_deg[rank]:.0f}° about the tip "
            "axis"
        )
        if result.probabilities is not None:
            text += (f"; probability {result.probabilities[rank]:.0%} "
                     f"(best match: {result.verdict()})")
        if truth is not None and v["experiment"] in truth:
            error = float(orientation_error(result.rotations[rank], truth[v["experiment"]]))
            text += f"; <b>{error:.1f}°</b> from the true orientation"
        info.value = text

    panel = Panel(controls, render, [w.HBox(cells), info], title="Experiment ↔ simulation")
    panel.widget.add_class("afmkit-matching-panel")
    return panel
