"""The training panel of notebooks 08–10 (afmkit.widgets.trainer): controls → TrainConfig,
Train in the background with the live monitor, Stop, resume, new run on changed settings."""

from __future__ import annotations

import json
import time

import pytest

from afmkit.learn import losses
from afmkit.widgets.trainer import TrainingPanel, training_panel

TINY = dict(epochs=2, batch_size=2, train_size=2, val_size=1, test_size=1, rotations=1)


def test_every_parameter_has_a_control_that_reaches_the_config(tmp_path):
    dsh = training_panel("dsh", tmp_path, **TINY)
    for name in ("epochs", "batch_size", "lr", "decay", "train_size", "val_size", "test_size",
                 "rotations", "tilt_radius", "height_jitter", "seed", "weight_atomic_disks",
                 "weight_vdw_spheres", "weight_height_map"):  # fmt: skip
        assert name in dsh.controls
    dsh.set(lr=1e-4, decay=1e-6, weight_atomic_disks=40.0, tilt_radius=0.5, height_jitter=0.1,
            epochs=7, seed=3)  # fmt: skip
    config = dsh.config()
    assert (config.lr, config.decay, config.epochs, config.seed) == (1e-4, 1e-6, 7, 3)
    assert (config.tilt_radius, config.height_jitter) == (0.5, 0.1)
    assert config.compile_args()["loss_weights"] == {
        **losses.DSH_LOSS_WEIGHTS, "atomic_disks": 40.0}
    assert config.out == tmp_path / "run-001" and config.verbose == 0

    xyz = training_panel("xyz", tmp_path)
    assert not any(k.startswith("weight_") for k in xyz.controls)
    xyz.set(focal_gamma=2.0, focal_alpha_n=0.25, position_beta=0.5)
    loss = xyz.config().compile_args()["loss"]
    assert (loss.gamma, loss.alpha_n, loss.beta) == (2.0, 0.25, 0.5)
    es = training_panel("es", tmp_path)
    assert {k for k in es.controls if k.startswith("weight_")} == {"weight_es_map",
                                                                  "weight_height_map"}
    with pytest.raises(KeyError, match="unknown controls"):
        es.set(focal_gamma=1.0)
    with pytest.raises(ValueError, match="mode"):
        TrainingPanel("cnn", tmp_path)


@pytest.mark.slow
def test_train_stop_resume_and_new_run(tmp_path):
    panel = training_panel("dsh", tmp_path, **{**TINY, "epochs": 3})
    assert panel.start() and not panel.start()  # one run at a time
    assert panel.stop_button.disabled is False and panel.controls["lr"].disabled
    deadline = time.monotonic() + 600
    while len(panel.monitor.history.get("loss", [])) < 1:  # first epoch done
        assert panel.running and time.monotonic() < deadline, panel.status.value
        time.sleep(0.05)
    panel.stop()
    assert panel.join(300)
    run = tmp_path / "run-001"
    assert "stopped" in panel.status.value and not (run / "metrics.json").exists()
    assert panel.train_button.disabled is False
    epochs_done = len((run / "log.csv").read_text().splitlines()) - 1
    assert 1 <= epochs_done < 3

    assert panel.start()  # same settings: resumes run-001 after its whole epochs
    assert f"resuming run-001 after epoch {epochs_done}" in panel.status.value
    assert panel.join(600), panel.status.value
    assert "finished" in panel.status.value, panel.status.value
    rows = (run / "log.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [0, 1, 2]  # each epoch once, in order
    assert len(panel.monitor.history["loss"]) == 3
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and panel.job.error is None

    panel.set(epochs=1, lr=5e-4)  # finished run: a new one with the new settings
    assert panel.start() and panel.join(600), panel.status.value
    assert panel.run_dir == tmp_path / "run-002" and (panel.run_dir / "metrics.json").exists()
    assert json.loads((panel.run_dir / "config.json").read_text())["lr"] == 5e-4
    assert len(list((tmp_path / "data").iterdir())) == 1  # same data settings: shards reused
