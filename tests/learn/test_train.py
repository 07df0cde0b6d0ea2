"""Training runs: outputs, resume after an interruption, xyz metrics, CLI, bad configurations."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

from afmkit.cli import main as cli_main
from afmkit.learn.train import TrainConfig, quick_config, train
from afmkit.plotting.training import plot_loss_curve


class Interrupt(keras.callbacks.Callback):
    """Stop the run at the end of epoch ``at`` (after the backup was written)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("simulated interruption")


def epochs_logged(path):
    with open(path) as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_quick_dsh_run_writes_everything_and_resumes(tmp_path):
    config = quick_config("dsh", tmp_path / "run")
    config.epochs = 3
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[Interrupt(at=1)], plot_loss=plot_loss_curve)
    assert epochs_logged(tmp_path / "run" / "log.csv") == [0, 1]
    assert not (tmp_path / "run" / "metrics.json").exists()
    report = train(config)  # the same command again: continues with epoch 2
    assert epochs_logged(tmp_path / "run" / "log.csv") == [0, 1, 2]
    for name in ("dsh.weights.h5", "checkpoint.keras", "loss_curve.png", "config.json"):
        assert (tmp_path / "run" / name).is_file(), name
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["losses"] == report["losses"]
    assert set(report["losses"]) >= {"loss", "atomic_disks_loss", "vdw_spheres_loss"}
    assert np.isfinite(report["losses"]["loss"])


def test_quick_xyz_run_reports_precision_recall(tmp_path):
    report = train(quick_config("xyz", tmp_path / "xyz"))
    xyz = report["xyz"]
    assert 0 <= xyz["recall@0.5"] <= 1 or np.isnan(xyz["recall@0.5"])
    assert len(xyz["precision"]) == len(xyz["thresholds"])
    assert np.array(xyz["confusion_matrix@0.5"]).sum() == 2 * 16 * 16  # 2 test samples
    assert xyz["position_error_mean"] >= 0


def test_cli_train_quick(tmp_path):
    assert cli_main(["train", "es", "--quick", "--out", str(tmp_path / "es")]) == 0
    assert (tmp_path / "es" / "es.weights.h5").is_file()


def test_bad_configurations(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        TrainConfig(mode="abc", out=tmp_path)
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(mode="dsh", out=tmp_path, epochs=0)
    with pytest.raises(ValueError, match="all three"):
        train(TrainConfig(mode="dsh", out=tmp_path, train_shards=tmp_path))


def test_config_carries_loss_and_augmentation_settings(tmp_path):
    from afmkit.learn import losses
    from afmkit.learn.train import TrainConfig, training_data

    dsh = TrainConfig("dsh", tmp_path, loss_weights={"vdw_spheres": 1.5})
    assert dsh.compile_args()["loss_weights"] == {**losses.DSH_LOSS_WEIGHTS, "vdw_spheres": 1.5}
    xyz = TrainConfig("xyz", tmp_path, focal_gamma=0.0, focal_alpha_n=0.5, position_beta=1.0)
    loss = xyz.compile_args()["loss"]
    assert (loss.gamma, loss.alpha_n, loss.beta) == (0.0, 0.5, 1.0)
    for bad in ({"loss_weights": {"es_map": 1.0}}, {"loss_weights": {"height_map": -1.0}},
                {"focal_alpha_n": 1.5}, {"position_beta": float("nan")}, {"lr": 0.0},
                {"batch_size": 0}, {"tilt_radius": -0.1}):  # fmt: skip
        mode = "xyz" if any(k.startswith(("focal", "position")) for k in bad) else "dsh"
        with pytest.raises(ValueError):
            TrainConfig(mode, tmp_path, **bad)
    config = TrainConfig("dsh", tmp_path, train_size=1, val_size=1, test_size=1, rotations=1,
                         tilt_radius=0.3, height_jitter=0.05)  # fmt: skip
    train_data = training_data(config)[0]
    assert (train_data.tilt_radius, train_data.height_jitter) == (0.3, 0.05)
