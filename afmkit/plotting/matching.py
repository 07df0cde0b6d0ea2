"""Matching figures: thesis-Fig.-17-style rows of experiment, descriptors, geometry, simulation."""

from __future__ import annotations

from typing import Any

import numpy as np

from afmkit.experiments.matching import MatchResult, OrientationLibrary, matched_params
from afmkit.learn.augment import preprocess
from afmkit.physics.simulator import AFMSimulator, scan_center
from afmkit.plotting.figures import NotebookFigure, plot_molecule_topview

__all__ = ["plot_matches"]


def plot_matches(
    experiments: dict[Any, np.ndarray],
    results: dict[Any, MatchResult],
    library: OrientationLibrary,
    slices: tuple[int, ...] | None = None,
    simulate: bool = True,
):
    """Thesis-Fig.-17-style rows of matches, one per experiment.

    Each row: experiment slices (far, middle, close), predicted vdW Spheres of the experiment
    and of the best match, the matched geometry seen from the tip with the confidence, and
    (``simulate=True``) the best match's simulated slices (with the fitted tip and height where
    the method fitted them).

    Parameters
    ----------
    experiments : dict
        ``{name: Δf stack (nx, ny, n_slices) in Hz}``.
    results : dict
        ``{name: MatchResult}`` with the same keys (:func:`afmkit.experiments.matching.match`).
    library : OrientationLibrary
        The library the matches came from.
    slices : tuple of int, optional
        Slice indices to show (default: first, middle, last).
    simulate : bool
        Also simulate and show the best match's slices (slow: one simulation per row).

    Returns
    -------
    NotebookFigure
        The figure (:class:`afmkit.plotting.figures.NotebookFigure`).
    """
    names = list(experiments)
    n_exp_slices = next(iter(experiments.values())).shape[2]
    picks = slices or (0, n_exp_slices // 2, n_exp_slices - 1)
    cols = len(picks) * (2 if simulate else 1) + 3
    fig = NotebookFigure(figsize=(1.9 * cols, 2.1 * len(names)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(names), cols))
    for row, name in enumerate(names):
        result = results[name]
        stack = experiments[name]
        ax = axes[row]
        for j, k in enumerate(picks):
            ax[j].imshow(stack[:, :, k].T, origin="lower", cmap="gray")
            ax[j].set_title(f"exp {name}, slice {k}", fontsize=8)
        c = len(picks)
        ax[c].imshow(result.experiment_descriptor.T, origin="lower", cmap="viridis")
        ax[c].set_title("exp vdW Spheres (DSH)", fontsize=8)
        ax[c + 1].imshow(result.matched_descriptor(library).T, origin="lower", cmap="viridis")
        ax[c + 1].set_title(f"match ({result.method}), score {result.scores[0]:.2f}", fontsize=8)
        geometry = result.geometries[0]
        plot_molecule_topview(geometry, ax[c + 2], legend=False,
                              extent=library.params.extent(scan_center(geometry)))
        flag = "ambiguous" if result.ambiguous else f"confidence {result.confidence:.0%}"
        ax[c + 2].set_title(f"geometry, {flag}", fontsize=8,
                            color="tab:red" if result.ambiguous or result.confidence < 0.4
                            else "black")
        if simulate:
            params = matched_params(result, library)
            sim_stack = AFMSimulator(params)(geometry)
            sim_stack = preprocess(sim_stack[None], normalize=False)[0]
            for j, k in enumerate(picks):
                ax[c + 3 + j].imshow(sim_stack[:, :, k].T, origin="lower", cmap="gray")
                ax[c + 3 + j].set_title(f"sim, slice {k}", fontsize=8)
        for a in ax:
            a.set_xticks([])
            a.set_yticks([])
    return fig
