"""Interactive plotly figures (afmkit.plotting.interactive), built and redrawn without widgets."""

from __future__ import annotations

import numpy as np

from afmkit.plotting import interactive as I
from afmkit.structures.molecules import camphor
from afmkit.targets.rotations import rotation_scores, uniform_rotations
from afmkit.widgets.augmentation import augmentation_steps
from tests.conftest import benzene


def test_topview_traces_draw_atoms_lowest_first():
    mol = benzene()
    mol.positions[0, 2] = 0.5  # one C raised: drawn last
    bonds, atoms = I.topview_traces(mol)
    assert len(atoms.x) == 12 and atoms.x[-1] == mol.positions[0, 0]
    assert "z − z_top = 0.00 Å" in atoms.text[-1]
    assert np.isnan(np.asarray(bonds.x, dtype=float)).sum() == 12  # one break per bond


def test_rotation_figure_updates_in_place():
    mol = camphor()
    fig = I.rotation_figure(mol, preview_pixels=8)
    assert len(fig.data) == 7
    rots = uniform_rotations(30)
    scores = rotation_scores(mol, rots, 1.0)
    I.update_rotation_figure(fig, rots[:, 2, :], scores, 5, 2, mol, np.zeros((8, 8, 3)))
    bars = fig.data[3]
    assert np.all(np.diff(bars.y) <= 0) and list(bars.marker.color[:6]).count("red") == 1
    assert fig.layout.annotations[2].text.startswith("top view 2")
    I.update_rotation_figure(fig, rots[:, 2, :], scores, 5, 0, mol, None)
    assert fig.data[-1].visible is False and fig.layout.annotations[3].text == ""


def test_augmentation_figure_updates_in_place():
    stack = np.random.default_rng(0).normal(size=(8, 8, 20)).astype("f4")
    stages = augmentation_steps(stack, 1)
    fig = I.augmentation_figure(pixels=8)
    I.update_augmentation_figure(fig, stack, stages, 4, normalized=True, noise_c=0.1)
    np.testing.assert_allclose(fig.data[7].z, stages["cutouts"][:, :, 4].T)
    assert fig.layout.annotations[1].text == f"slice {stages['indices'][4]} as simulated"


def test_plotly_helpers():
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("a", "b"))
    heat = I.heatmap_trace(np.arange(3), np.arange(2), colorbar=I.colorbar_beside(fig, 1, 2, "V"))
    assert heat.z.shape == (2, 3) and heat.colorbar.title.text == "V"
    fig.add_trace(heat, row=1, col=2)
    I.axes_equal(fig, 1, 2, "x (Å)", "y (Å)", rng=(0, 2, 0, 1))
    assert fig.layout.yaxis2.scaleanchor == "x2" and list(fig.layout.xaxis2.range) == [0, 2]
    I.set_subplot_title(fig, 1, "new")
    assert fig.layout.annotations[1].text == "new"
