"""Training panels: the live loss monitor as a Keras callback, the prediction browsers, tables."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.learn import models
from afmkit.plotting.training import loss_figure
from afmkit.widgets.training import (
    PredictionSet,
    TrainingMonitor,
    collect_predictions,
    history_from_csv,
    layer_table,
    prediction_browser,
    training_monitor,
)

N = 4  # samples in the synthetic prediction sets
RENDER_BUDGET_S = 0.5


def _map_set(mode: str, rng: np.random.Generator) -> PredictionSet:
    names = models.DSH_OUTPUTS if mode == "dsh" else models.ES_OUTPUTS
    tips = ("co", "xe") if mode == "es" else ("afm",)
    inputs = {t: rng.normal(size=(N, 128, 128, 10)).astype("f4") for t in tips}
    targets = {k: rng.uniform(0, 2, (N, 128, 128)).astype("f4") for k in names}
    preds = {k: v + rng.normal(0, 0.1, v.shape).astype("f4") for k, v in targets.items()}
    return PredictionSet(mode, inputs, targets, preds)


def _xyz_set(rng: np.random.Generator) -> PredictionSet:
    classes = np.zeros((N, 16, 16, 2), "f4")
    classes[..., 1] = 1
    for b in range(N):  # 5 atoms per sample on distinct boxes
        flat = rng.choice(256, size=5, replace=False)
        classes[b].reshape(-1, 2)[flat] = [1, 0]
    offsets = rng.uniform(-0.4, 0.4, (N, 16, 16, 3)).astype("f4")
    offsets[..., 2] = -rng.uniform(0, 0.6, (N, 16, 16))
    p_atom = np.clip(classes[..., 0] * 0.8 + rng.uniform(0, 0.3, classes.shape[:3]), 0, 1)
    pred_classes = np.stack([p_atom, 1 - p_atom], axis=-1).astype("f4")
    pred_offsets = (offsets + rng.normal(0, 0.05, offsets.shape)).astype("f4")
    return PredictionSet(
        "xyz",
        {"afm": rng.normal(size=(N, 128, 128, 10)).astype("f4")},
        {"classes": classes, "offsets": offsets},
        {"classes": pred_classes, "offsets": pred_offsets},
    )


@pytest.mark.parametrize("mode", ["dsh", "es"])
def test_map_browser_renders_every_control_fast(mode: str) -> None:
    panel = prediction_browser(_map_set(mode, np.random.default_rng(0)))
    panel.refresh()
    first_png = panel.outputs[0].children[0].children[0].children[1].value
    assert first_png[:8] == b"\x89PNG\r\n\x1a\n"
    for values in ({"sample": N - 1}, {"slice": 0}):
        panel.set(**values)
        assert panel.last_render_s < RENDER_BUDGET_S
    assert panel.renders >= 3
    assert "MSE" in panel.outputs[1].value and "Å" in panel.outputs[1].value


def test_xyz_browser_threshold_and_nms_change_scores() -> None:
    panel = prediction_browser(_xyz_set(np.random.default_rng(1)))
    panel.refresh()
    assert panel.last_render_s < RENDER_BUDGET_S
    at_half = dict(panel.scores)
    # predictions are confident on the 5 true boxes: near-perfect at 0.5
    assert at_half["box_recall"] == pytest.approx(1.0)
    assert at_half["box_precision"] > 0.9
    panel.set(threshold=0.05)  # every box now counts as an atom
    assert panel.last_render_s < RENDER_BUDGET_S
    assert panel.scores["box_precision"] < at_half["box_precision"]
    assert panel.scores["box_recall"] == pytest.approx(1.0)
    panel.set(nms_radius=0.0)
    no_nms = panel.scores["atom_precision"]
    panel.set(nms_radius=1.5)
    assert panel.scores["atom_precision"] >= no_nms
    assert panel.figure.layout.xaxis.title.text == "x (Å)"
    assert len(panel.figure.data[1].x) == 5  # the true atoms of sample 0


def test_browser_needs_data_and_mode_with_a_model() -> None:
    with pytest.raises(ValueError, match="mode"):
        prediction_browser(models.dsh_model())
    with pytest.raises(ValueError, match="does not match"):
        prediction_browser(_xyz_set(np.random.default_rng(0)), mode="dsh")


def test_collect_predictions_from_batches() -> None:
    rng = np.random.default_rng(2)
    model = models.xyz_model()
    batches = [
        (
            rng.normal(size=(2, 128, 128, 10)).astype("f4"),
            (np.zeros((2, 16, 16, 2), "f4"), np.zeros((2, 16, 16, 3), "f4")),
        )
        for _ in range(2)
    ]
    pset = collect_predictions(model, batches, "xyz", max_samples=3)
    assert len(pset) == 3
    assert pset.predictions["classes"].shape == (3, 16, 16, 2)
    np.testing.assert_allclose(pset.predictions["classes"].sum(-1), 1, atol=1e-5)  # softmax


def test_training_monitor_is_a_working_keras_callback() -> None:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(1)(inp))
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("f4")
    y = x.sum(axis=1, keepdims=True)
    monitor = training_monitor("toy", batch_size=8)
    assert isinstance(monitor, TrainingMonitor)
    model.fit(x, y, batch_size=8, epochs=3, validation_split=0.25, callbacks=[monitor], verbose=0)
    assert len(monitor.history["loss"]) == 3 and len(monitor.history["val_loss"]) == 3
    assert len(monitor.epoch_times_s) == 3
    assert monitor.panel.renders == 3  # one redraw per epoch
    assert [len(t.x) for t in monitor.figure.data] == [3, 3]
    assert monitor.figure.layout.xaxis.title.text == "epoch"
    assert "epoch 3" in monitor.progress_text.value
    monitor.panel.set(scale="linear")
    assert monitor.figure.layout.yaxis.type == "linear"
    static = monitor.static_figure()
    assert len(static.data) == 2


def test_loss_figure_from_a_keras_log(tmp_path) -> None:
    """A Keras CSVLogger file (as ``afmkit train`` writes ``log.csv``) → the loss figure."""
    path = tmp_path / "log.csv"
    rows = ["epoch,loss,val_loss,vdw_spheres_loss,val_vdw_spheres_loss"]
    rows += [f"{e},{1 / (e + 1):.4f},{1.2 / (e + 1):.4f},{0.5 / (e + 1):.4f},{0.6 / (e + 1):.4f}"
             for e in range(20)]  # fmt: skip
    path.write_text("\n".join(rows) + "\n")
    history = history_from_csv(path)
    assert len(history["loss"]) == 20 and "val_loss" in history
    assert history["loss"][-1] < history["loss"][0]
    fig = loss_figure(history, per_output=True)
    names = [t.name for t in fig.data]
    assert names[:2] == ["training (total)", "validation (total)"]
    assert "vdw_spheres_loss" in names
    assert fig.layout.yaxis.type == "log"


@pytest.mark.parametrize("kind", ["dsh", "es", "xyz"])
def test_layer_table_totals_match_the_thesis(kind: str) -> None:
    model = models.build_model(kind)
    for summarise in (True, False):
        rows = layer_table(model, summarise=summarise, html_table=False)
        assert rows[-1]["parameters"] == models.PARAMETER_COUNTS[kind]
        assert sum(r["parameters"] for r in rows[:-1]) == models.PARAMETER_COUNTS[kind]
    assert "122,811" in layer_table(models.dsh_model()).data
