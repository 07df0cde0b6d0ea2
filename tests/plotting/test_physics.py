"""Physics figures (afmkit.plotting.physics): pair curves, relaxation, Giessibl's formula."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit import AFMSimulator, SimulationParams
from afmkit.physics import pair_potentials
from afmkit.plotting.figures import NotebookFigure
from afmkit.plotting.physics import plot_frequency_shift, plot_pair_curves, plot_relaxation
from tests.conftest import benzene


@pytest.fixture(scope="module")
def small_run():
    params = SimulationParams(pixels=(16, 16), n_slices=5)
    return params, AFMSimulator(params).run(benzene(), store_positions=True)


def test_pair_curves_figure():
    c = pair_potentials.pair_curves(np.linspace(2.5, 8.0, 100), "C", "O", 0.2, -0.1)
    fig = plot_pair_curves(c, "C", "O")
    assert isinstance(fig, NotebookFigure)
    ax_e, ax_f = fig.axes
    assert ax_e.get_ylabel() == "E (eV)" and ax_f.get_xlabel() == "r between C and O (Å)"
    assert len(ax_e.lines) >= 3 and fig._repr_png_()[:4] == b"\x89PNG"


def test_relaxation_figure(small_run):
    params, res = small_run
    fig = plot_relaxation(res, params, benzene(), slice_index=-1, stride=3)
    assert fig.axes[0].get_xlabel() == "x (Å)"
    assert fig.axes[0].get_title().startswith("PP lateral displacement")
    no_pos = type(res)(**{**res.__dict__, "positions": None})
    with pytest.raises(ValueError, match="store_positions"):
        plot_relaxation(no_pos, params)


def test_frequency_shift_figure(small_run):
    params, res = small_run
    fig = plot_frequency_shift(res, params, (8, 8), 0.3, 30300.0, 1800.0, height=3.0)
    ax_w, ax_f, ax_df, ax_img, _colorbar = fig.axes
    assert ax_w.get_ylabel() == "weight (Hz per eV/Å)"
    assert ax_f.get_title() == "F_z(z) at pixel (8, 8)"
    labels = [line.get_label() for line in ax_df.lines]
    assert "A = 0.5 Å (ASD-AFM)" in labels  # a different amplitude is compared with ASD-AFM
    assert ax_img.get_xlabel() == "x (Å)"
    same = plot_frequency_shift(res, params, (8, 8), 0.5, 30300.0, 1800.0, height=3.0)
    assert "A = 0.5 Å (ASD-AFM)" not in [line.get_label() for line in same.axes[2].lines]
