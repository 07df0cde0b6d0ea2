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


def test_learning_curve_figure_marks_targets_and_thesis(tmp_path):
    def record(mode, keys):
        def point(n):
            scores = {k: min(0.99, 0.5 + n / 1e6) for k in keys}
            return {"samples_seen": n, "hours": n / 1e5, "val_loss": 0.1 / (1 + n / 1e4), **scores}

        curve = [point(n) for n in (0, 6000, 12000)]
        return {"mode": mode, "molecules": 5000, "hours": 0.12, "curve": curve}

    records = {"dsh-light": record("dsh", ["vdw_spheres_r", "height_map_r", "atomic_disks_r"]),
               "xyz-light": record("xyz", ["precision@0.5", "recall@0.5"])}  # fmt: skip
    fig = T.learning_curve_figure(records, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    ax_dsh, ax_loss, ax_xyz, _ = fig.axes
    assert ax_dsh.get_xscale() == "log" and ax_loss.get_yscale() == "log"
    assert [line.get_ydata()[0] for line in ax_dsh.lines if line.get_linestyle() == "--"] == [
        0.95, 0.98, 0.80]  # fmt: skip
    stars = [line for line in ax_xyz.lines if line.get_marker() == "*"]
    assert [float(s.get_xdata()[0]) for s in stars] == [T.THESIS_SAMPLES] * 2
    assert len(ax_dsh.lines[0].get_xdata()) == 2  # the untrained point (0 samples) is left out


def test_shipped_training_figure_for_every_shipped_model():
    from afmkit.learn.campaign import shipped_records
    from afmkit.plotting.figures import NotebookFigure

    records = shipped_records()
    for name in ("dsh-light", "xyz-light", "es-light"):
        fig = T.shipped_training_figure(name)
        if name in records:  # trained by a campaign: its learning curve
            assert isinstance(fig, NotebookFigure) and len(fig.axes) == 2
        else:  # older weights: the per-epoch log
            assert fig.data and fig.data[0].name == "training (total)"
