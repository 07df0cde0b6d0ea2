"""Training runs for the DSH, ES and xyz models: checkpoints, resume, logs, plots, test metrics.

``train(TrainConfig(mode="dsh", out="runs/dsh", ...))`` (or ``afmkit train dsh --out runs/dsh``):

* data: dataset shards (:func:`afmkit.data.write_shards`, reused over epochs with fresh
  augmentation) or on-the-fly simulation (:class:`afmkit.data.AFMDataset`);
* optimiser: Adam, learning rate 1e-3 with inverse-time decay 1e-5 per step (thesis §3.3);
* every epoch: a checkpoint (``checkpoint.keras``) and a backup that an interrupted run resumes
  from (same command again), a row of ``log.csv`` and the loss curve ``loss_curve.png``;
* at the end: the weights (``<mode>.weights.h5``) and the test-set evaluation ``metrics.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from afmkit import losses, metrics, models
from afmkit.atomic import atomic_path
from afmkit.data import AFMDataset, ShardDataset, molecule_set

MODES = ("dsh", "es", "xyz")


@dataclass
class TrainConfig:
    """One training run.

    mode : "dsh", "es" or "xyz".
    out : run directory (checkpoints, logs, plots, metrics).
    epochs : passes over the training data (thesis: 50).
    train_shards, val_shards, test_shards : shard directories; if None, data are simulated on
        the fly from ``molecule_set`` (sizes and rotations below).
    molecule_set, train_size, val_size, test_size, rotations : on-the-fly data.
    batch_size : thesis 30. lr, decay : Adam learning rate and inverse-time decay per step.
    seed : data order, augmentation and model initialisation.
    """

    mode: str
    out: str | Path
    epochs: int = 50
    train_shards: str | Path | None = None
    val_shards: str | Path | None = None
    test_shards: str | Path | None = None
    molecule_set: str = "light"
    train_size: int | None = None
    val_size: int | None = None
    test_size: int | None = None
    rotations: int | None = None
    batch_size: int = 30
    lr: float = 1e-3
    decay: float = 1e-5
    seed: int = 0
    verbose: int = 1
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        self.out = Path(self.out)


def quick_config(mode: str, out: str | Path) -> TrainConfig:
    """A tiny run for CI and notebooks: 3 + 1 + 1 molecules, 2 rotations, batch 4, 2 epochs."""
    return TrainConfig(mode=mode, out=out, epochs=2, train_size=3, val_size=1, test_size=1,
                       rotations=2, batch_size=4)  # fmt: skip


def datasets(config: TrainConfig):
    """(train, validation, test) Keras datasets for ``config``."""
    shards = (config.train_shards, config.val_shards, config.test_shards)
    if all(s is not None for s in shards):
        return tuple(
            ShardDataset(path, mode=config.mode, shuffle=(split == "train"), augment=True)
            for path, split in zip(shards, ("train", "val", "test"), strict=True)
        )
    if any(s is not None for s in shards):
        raise ValueError("give all three of train_shards, val_shards and test_shards, or none")
    sizes = {"train": config.train_size, "val": config.val_size, "test": config.test_size}
    out = []
    for k, (split, size) in enumerate(sizes.items()):
        mols = molecule_set(config.molecule_set, split, size)
        out.append(
            AFMDataset(mols, config.mode, batch_size=config.batch_size, seed=config.seed + k,
                       n_rotations=config.rotations, shuffle=(split == "train"))  # fmt: skip
        )
    return tuple(out)


def build_compiled_model(config: TrainConfig) -> keras.Model:
    """The model of ``config.mode``, compiled with the thesis's optimiser, losses and weights."""
    keras.utils.set_random_seed(config.seed)
    model = models.build_model(config.mode)
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        config.lr, decay_steps=1, decay_rate=config.decay
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), **losses.compile_args(config.mode))
    return model


class LossCurve(keras.callbacks.Callback):
    """Redraw the training and validation losses (thesis Fig. 15) after every epoch."""

    def __init__(self, csv_path: Path, png_path: Path, title: str) -> None:
        super().__init__()
        self.csv_path, self.png_path, self.title = csv_path, png_path, title

    def on_epoch_end(self, epoch, logs=None) -> None:
        plot_loss_curve(self.csv_path, self.png_path, self.title)


def plot_loss_curve(csv_path: Path, png_path: Path, title: str = "") -> None:
    """Plot ``loss`` and ``val_loss`` from a Keras CSV log (log scale) to ``png_path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    rows = np.genfromtxt(csv_path, delimiter=",", names=True)
    rows = np.atleast_1d(rows)
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    epochs = rows["epoch"] + 1
    ax.plot(epochs, rows["loss"], "o-", label="training")
    if "val_loss" in rows.dtype.names:
        ax.plot(epochs, rows["val_loss"], "s-", label="validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (weighted sum)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=100)


def evaluate(model: keras.Model, data, mode: str) -> dict:
    """Test-set losses, and for xyz the precision/recall and position errors (thesis §4.3)."""
    result = model.evaluate(data, return_dict=True, verbose=0)
    out = {"losses": {k: float(v) for k, v in result.items()}}
    if mode == "xyz":
        pred_classes, pred_offsets, true_classes, true_offsets = [], [], [], []
        for i in range(len(data)):
            X, (classes, offsets) = data[i]
            p_classes, p_offsets = model.predict(X, verbose=0)
            pred_classes.append(p_classes)
            pred_offsets.append(p_offsets)
            true_classes.append(classes)
            true_offsets.append(offsets)
        out["xyz"] = xyz_report(
            np.concatenate(true_classes), np.concatenate(true_offsets),
            np.concatenate(pred_classes), np.concatenate(pred_offsets),
        )  # fmt: skip
    return out


def xyz_report(classes_true, offsets_true, classes_pred, offsets_pred) -> dict:
    """Per-box precision/recall over thresholds, the confusion matrix at 0.5 and position errors
    (mean and 90th percentile in Å), as the thesis reports them (§4.3, Fig. 20)."""
    pr = metrics.precision_recall(classes_true, classes_pred)
    precision, recall = pr.at(0.5)
    errors = metrics.position_error_stats(
        metrics.position_errors(classes_true, offsets_true, offsets_pred)
    )
    return {
        "precision@0.5": precision,
        "recall@0.5": recall,
        "thresholds": pr.thresholds.tolist(),
        "precision": pr.precision.tolist(),
        "recall": pr.recall.tolist(),
        "confusion_matrix@0.5": metrics.confusion_matrix(classes_true, classes_pred).tolist(),
        "position_error_mean": errors.mean,
        "position_error_p90": errors.percentile,
    }


def train(config: TrainConfig, callbacks: list | None = None) -> dict:
    """Run (or resume) a training run; returns the test metrics (also in ``metrics.json``).

    ``callbacks`` are added after the run's own (backup, checkpoint, CSV log, loss curve).
    """
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=1, default=str))
    train_data, val_data, test_data = datasets(config)
    model = build_compiled_model(config)
    csv_path = out / "log.csv"
    run_callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),  # resume after an interruption
        keras.callbacks.ModelCheckpoint(str(out / "checkpoint.keras")),
        keras.callbacks.CSVLogger(str(csv_path), append=True),
        LossCurve(csv_path, out / "loss_curve.png", f"{config.mode} model"),
        *(callbacks or []),
    ]
    t0 = time.perf_counter()
    model.fit(train_data, validation_data=val_data, epochs=config.epochs, callbacks=run_callbacks,
              verbose=config.verbose)  # fmt: skip
    wall = time.perf_counter() - t0
    export_weights(model, config.mode, out / f"{config.mode}.weights.h5")
    report = evaluate(model, test_data, config.mode)
    report.update({
        "mode": config.mode, "epochs": config.epochs, "wall_time_s": wall,
        "train_samples_per_epoch": _n_samples(train_data), "keras_backend": keras.backend.backend(),
    })  # fmt: skip
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    return report


def export_weights(model: keras.Model, mode: str, path: str | Path) -> Path:
    """Save only the layer weights of a trained ``model`` (no optimizer state: a third of the
    size), in the format :func:`afmkit.models.load_pretrained` reads. Written atomically."""
    lean = models.build_model(mode)
    lean.set_weights(model.get_weights())
    with atomic_path(Path(path)) as tmp:
        lean.save_weights(tmp)
    return Path(path)


def _n_samples(data) -> int:
    if isinstance(data, AFMDataset):
        return data.n_samples
    return int(data.manifest.get("n_samples", len(data) * data.manifest["batch_size"]))
