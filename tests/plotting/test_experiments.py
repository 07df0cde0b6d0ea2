"""Figures of a measurement (afmkit.plotting.experiments)."""

from __future__ import annotations

import numpy as np

from afmkit.experiments.analysis import ExperimentAnalysis
from afmkit.plotting.experiments import analysis_figure, drift_figure, slices_figure


def test_figures_have_their_panels():
    rng = np.random.default_rng(0)
    df = rng.normal(size=(32, 24, 6))
    fig = slices_figure(df, 0.2, heights=np.linspace(0.5, 0, 6), title="t")
    assert len(fig.axes) == 5 and "+0.50 Å" in fig.axes[0].get_title()
    assert len(slices_figure(df, (0.2, 0.25), picks=[0, 5]).axes) == 2
    shifts = np.cumsum(rng.normal(size=(6, 2)), axis=0) * 0.1
    fig = drift_figure(shifts, heights=np.linspace(0.5, 0, 6))
    assert len(fig.axes[0].lines) == 3 and fig.axes[0].xaxis_inverted()
    maps = {k: rng.random((32, 32)) for k in ("atomic_disks", "vdw_spheres", "height_map",
                                              "es_map")}  # fmt: skip
    atoms = np.array([[0.0, 1.0, -0.1, 0.9], [2.0, -1.0, -0.5, 0.6]])
    analysis = ExperimentAnalysis(maps, atoms, None, {}, 0.5, (-2.0, 2.0, -2.0, 2.0))
    fig = analysis_figure(analysis, df[:, :, -1], title="x")
    image_axes = [ax for ax in fig.axes if ax.get_images() or ax.collections]
    assert len(image_axes) >= 5 and "2 atoms" in fig.axes[0].get_title()
    png = fig._repr_png_()
    assert png[:4] == b"\x89PNG"
    empty = ExperimentAnalysis(maps, None, None, {}, 0.5, (-2.0, 2.0, -2.0, 2.0))
    assert "0 atoms" in analysis_figure(empty, df[:, :, -1]).axes[0].get_title()
    assert analysis_figure(empty).axes[0].get_title() == "Atomic Disks"  # no Δf, no atoms
