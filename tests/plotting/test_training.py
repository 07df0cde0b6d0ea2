"""Training figures (afmkit.plotting.training): loss curves and the xyz detection figures."""

from __future__ import annotations

import numpy as np

from afmkit.learn import metrics
from afmkit.plotting import training as T


def test_loss_figure_redraws_a_given_figure():
    history = {"loss": [1.0, 0.5, 0.2], "val_loss": [1.2, 0.6, 0.3], "a_loss": [0.4, 0.2, 0.1]}
    fig = T.loss_figure(history, title="toy")
    assert [t.name for t in fig.data] == ["training (total)", "validation (total)"]
    again = T.loss_figure(history, per_output=True, log_y=False, figure=fig)
    assert again is fig and len(fig.data) == 3 and fig.layout.yaxis.type == "linear"


def test_xyz_figures_update_in_place():
    xs = np.linspace(-8, 8, 32)
    fig = T.xyz_detection_figure(xs, xs, 360)
    assert fig.layout.width == 500 and list(fig.layout.xaxis.range) == [-8, 8]
    true = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, -0.7]])
    found = np.array([[0.1, 0.0, -0.1, 0.9]])
    T.update_xyz_detection(fig, np.zeros((32, 32)), true, found, "sample 1")
    assert list(fig.data[1].marker.size) == [18.0, 8.0]
    assert fig.data[2].text == ("z -0.10 Å, confidence 0.90",)
    assert fig.layout.title.text == "sample 1"
    ct = np.zeros((1, 4, 4, 2), "f4")
    ct[..., 1] = 1
    ct[0, 1, 1] = [1, 0]
    per_box = metrics.precision_recall(ct, ct)
    pr = T.precision_recall_figure(per_box, 1)
    T.update_precision_recall(pr, per_box, 1.0, 0.5)
    assert list(pr.data[2].x) == [0.5] and list(pr.data[2].y) == [1.0]
