"""Training runs for the DSH, ES and xyz models: checkpoints, resume, logs, plots, test metrics.

``train(TrainConfig(mode="dsh", out="runs/dsh", ...))`` (or ``afmkit train dsh --out runs/dsh``):

* training data: training shards (:func:`afmkit.learn.data.write_shards`, reused over epochs
  with fresh augmentation) or on-the-fly simulation (:class:`afmkit.learn.data.AFMDataset`) of a
  molecule set (:func:`afmkit.structures.molecule_sets.molecule_set`);
* optimiser: Adam, learning rate 1e-3 with inverse-time decay 1e-5 per step (thesis §3.3);
* every epoch: a checkpoint (``checkpoint.keras``) and a backup that an interrupted run resumes
  from (same command again), a row of ``log.csv`` and the loss curve ``loss_curve.png``;
* at the end: the weights (``<mode>.weights.h5``) and the test-set evaluation ``metrics.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np

from afmkit.fileio import atomic_path
from afmkit.learn import losses, metrics, models
from afmkit.learn.data import AFMDataset, ShardDataset, write_shards
from afmkit.structures.molecule_sets import molecule_set

__all__ = [
    "LossCurve",
    "LossPlotter",
    "MODES",
    "StopTraining",
    "TrainConfig",
    "TrainingStopped",
    "build_compiled_model",
    "evaluate",
    "gpu_names",
    "export_weights",
    "quick_config",
    "simulate_shards",
    "train",
    "training_data",
    "xyz_report",
]

#: The three models' training modes.
MODES = ("dsh", "es", "xyz")

#: ``draw(csv_path, png_path, title)``: writes the loss-curve figure of a run.
LossPlotter = Callable[[Path, Path, str], None]


@dataclass
class TrainConfig:
    """One training run.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model to train.
    out : str or Path
        Run directory (checkpoints, logs, plots, metrics); stored as a Path.
    epochs : int
        Passes over the training data (thesis: 50).
    train_shards, val_shards, test_shards : str or Path, optional
        Training-shard directories (all three or none); if None, the training data are simulated
        on the fly from the molecule set ``molecule_set``.
    molecule_set : str
        Name of the molecule set for on-the-fly training data ("light", ...).
    train_size, val_size, test_size : int, optional
        Molecules per split for on-the-fly training data (default: the thesis size, Table 5).
    rotations : int, optional
        Viewing rotations per molecule for on-the-fly training data (default: per mode).
    batch_size : int
        Samples per batch (thesis: 30).
    lr : float
        Adam learning rate (thesis: 1e-3).
    decay : float
        Inverse-time decay of the learning rate per step (thesis: 1e-5).
    loss_weights : dict of str to float, optional
        DSH/ES: weights of some outputs instead of the thesis's (DSH 20 / 0.3 / 0.2 for Atomic
        Disks / vdW Spheres / Height Map, ES 1.0 / 0.1 for ES Map / Height Map).
    focal_gamma, focal_alpha_n : float
        xyz: focal-loss γ and α_n, the weight of background boxes (thesis: 1.25, 0.30).
    position_beta : float
        xyz: weight β_PL of the position loss (thesis: 0.15).
    tilt_radius : float
        On-the-fly data: largest random tip tilt (the probe particle's rest offset), Å. Shards
        keep the tips they were simulated with.
    height_jitter : float
        On-the-fly data: random change of the closest tip height, ± Å.
    seed : int
        Seeds data order, augmentation and model initialisation.
    verbose : int
        Keras verbosity of ``fit``.
    extra : dict
        Free-form settings recorded in ``config.json``.

    Raises
    ------
    ValueError
        For an unknown ``mode``, ``epochs`` < 1, ``batch_size`` < 1, a learning rate that is
        not positive, a negative decay, tilt radius or height jitter, or loss settings out of
        range (checked by :func:`afmkit.learn.losses.compile_args`).
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
    loss_weights: dict[str, float] | None = None
    focal_gamma: float = losses.FOCAL_GAMMA
    focal_alpha_n: float = losses.FOCAL_ALPHA_N
    position_beta: float = losses.POSITION_BETA
    tilt_radius: float = 1.0
    height_jitter: float = 0.25
    seed: int = 0
    verbose: int = 1
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.lr > 0 or not self.decay >= 0:
            raise ValueError(f"lr must be > 0 and decay >= 0, got {self.lr}, {self.decay}")
        if not (self.tilt_radius >= 0 and self.height_jitter >= 0):
            raise ValueError("tilt_radius and height_jitter must be >= 0 (Å)")
        self.compile_args()  # loss settings out of range fail here, not after data are built
        self.out = Path(self.out)

    def compile_args(self) -> dict:
        """``model.compile`` keyword arguments of this run's loss (:func:`losses.compile_args`).

        Returns
        -------
        dict
            ``loss`` and, for DSH/ES, ``loss_weights``.
        """
        return losses.compile_args(self.mode, self.loss_weights, gamma=self.focal_gamma,
                                   alpha_n=self.focal_alpha_n, beta=self.position_beta)


def gpu_names() -> list[str]:
    """The GPUs the Keras backend trains on (TensorFlow, JAX or PyTorch); empty on a CPU.

    Returns
    -------
    list of str
        Device names, e.g. ``["NVIDIA H200"]``.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                for g in tf.config.list_physical_devices("GPU")]  # fmt: skip
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def quick_config(mode: str, out: str | Path) -> TrainConfig:
    """A tiny run for CI and notebooks: 3 + 1 + 1 molecules, 2 rotations, batch 4, 2 epochs.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model to train.
    out : str or Path
        Run directory.

    Returns
    -------
    TrainConfig
        The configuration of the tiny run.
    """
    return TrainConfig(mode=mode, out=out, epochs=2, train_size=3, val_size=1, test_size=1,
                       rotations=2, batch_size=4)  # fmt: skip


def training_data(config: TrainConfig):
    """The training, validation and test data of a run, as Keras ``PyDataset`` objects.

    Parameters
    ----------
    config : TrainConfig
        Reads training shards if ``config`` names them, else simulates on the fly from its
        molecule set.

    Returns
    -------
    tuple of (ShardDataset or AFMDataset)
        ``(train, validation, test)``; only the training data are shuffled.

    Raises
    ------
    ValueError
        If some but not all three shard directories are given.
    """
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
                       n_rotations=config.rotations, shuffle=(split == "train"),
                       tilt_radius=config.tilt_radius,
                       height_jitter=config.height_jitter)  # fmt: skip
        )
    return tuple(out)


def simulate_shards(
    config: TrainConfig, directory: str | Path | None = None, progress: bool = True
) -> TrainConfig:
    """Simulate the on-the-fly data of ``config`` once into shards, to reuse every epoch.

    The molecules, sizes, rotations, batch size, tip tilt and height jitter and seed of
    ``config`` pick a folder ``<directory>/<mode>-<key>/{train,val,test}``; shards already there
    are reused, a half-written set is completed (:func:`afmkit.learn.data.write_shards`).

    Parameters
    ----------
    config : TrainConfig
        A run without shard directories.
    directory : str or Path, optional
        Parent folder of the shard sets (default: ``data`` next to ``config.out``, so runs with
        the same data share them).
    progress : bool
        Progress bars while simulating.

    Returns
    -------
    TrainConfig
        A copy of ``config`` that reads the shards (``train_shards``, ``val_shards``,
        ``test_shards``).

    Raises
    ------
    ValueError
        If ``config`` already names shard directories.
    """
    if config.train_shards is not None:
        raise ValueError("config already reads shards; simulate_shards needs on-the-fly data")
    data = {key: getattr(config, key) for key in (
        "mode", "molecule_set", "train_size", "val_size", "test_size", "rotations",
        "batch_size", "tilt_radius", "height_jitter", "seed")}  # fmt: skip
    key = hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
    base = Path(directory) if directory is not None else config.out.parent / "data"
    folder = base / f"{config.mode}-{key}"
    for dataset, split in zip(training_data(config), ("train", "val", "test"), strict=True):
        write_shards(dataset, folder / split, progress=progress)
    return replace(config, train_shards=folder / "train", val_shards=folder / "val",
                   test_shards=folder / "test")  # fmt: skip


class TrainingStopped(Exception):
    """Raised inside ``fit`` by :class:`StopTraining` when a stop was asked for."""


class StopTraining(keras.callbacks.Callback):
    """Stop ``fit`` after the current batch when :meth:`request` is called (e.g. from a button).

    Unlike ``model.stop_training`` it ends ``fit`` with :class:`TrainingStopped` before the epoch
    is closed, so the unfinished epoch is not recorded: the run's backup still holds the last
    whole epoch, and running the same configuration again resumes from there.
    """

    def __init__(self) -> None:
        super().__init__()
        self.requested = False

    def request(self) -> None:
        """Ask the training to stop after the batch it is on."""
        self.requested = True

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Raise :class:`TrainingStopped` if a stop was requested."""
        if self.requested:
            raise TrainingStopped(f"stopped by request during batch {batch + 1}")


def build_compiled_model(config: TrainConfig) -> keras.Model:
    """The model of ``config.mode``, compiled with the thesis's optimiser, losses and weights.

    Parameters
    ----------
    config : TrainConfig
        Mode, seed (model initialisation), learning rate and decay, loss weights and focal /
        position-loss settings.

    Returns
    -------
    keras.Model
        Compiled with Adam and inverse-time decay, and the losses of
        :func:`afmkit.learn.losses.compile_args`.
    """
    keras.utils.set_random_seed(config.seed)
    model = models.build_model(config.mode)
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        config.lr, decay_steps=1, decay_rate=config.decay
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), **config.compile_args())
    return model


class LossCurve(keras.callbacks.Callback):
    """Call ``draw(csv_path, png_path, title)`` after every epoch (the loss-curve figure).

    The drawing itself lives in :func:`afmkit.plotting.training.plot_loss_curve`; the training
    loop only knows when to call it, so the learning layer never imports plotting.

    Parameters
    ----------
    draw : callable
        ``draw(csv_path, png_path, title)`` (a :data:`LossPlotter`).
    csv_path : Path
        The run's ``log.csv``.
    png_path : Path
        Where the figure goes.
    title : str
        Figure title.
    """

    def __init__(self, draw: LossPlotter, csv_path: Path, png_path: Path, title: str) -> None:
        super().__init__()
        self.draw = draw
        self.csv_path, self.png_path, self.title = csv_path, png_path, title

    def on_epoch_end(self, epoch, logs=None) -> None:
        """Redraw the loss curve (Keras callback hook; ``epoch`` and ``logs`` are unused)."""
        self.draw(self.csv_path, self.png_path, self.title)


def evaluate(model: keras.Model, data, mode: str) -> dict:
    """Test-set losses, and for xyz the precision/recall and position errors (thesis §4.3).

    Parameters
    ----------
    model : keras.Model
        A compiled model of ``mode``.
    data : AFMDataset or ShardDataset
        The test data.
    mode : {"dsh", "es", "xyz"}
        The model's mode.

    Returns
    -------
    dict
        ``{"losses": {name: value}}``, plus ``"xyz"`` (:func:`xyz_report`) for mode "xyz".
    """
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
    """Precision/recall, confusion matrix and position errors of xyz predictions.

    Per-box precision/recall over thresholds, the confusion matrix at 0.5 and position errors
    (mean and 90th percentile in Å), as the thesis reports them (§4.3, Fig. 20).

    Parameters
    ----------
    classes_true, classes_pred : numpy.ndarray
        One-hot / predicted [atom, background] per box, shape (B, 16, 16, 2).
    offsets_true, offsets_pred : numpy.ndarray
        (dx, dy, dz) offsets from the box centres, shape (B, 16, 16, 3), Å.

    Returns
    -------
    dict
        JSON-serialisable: ``precision@0.5``, ``recall@0.5``, ``thresholds``, ``precision``,
        ``recall``, ``confusion_matrix@0.5``, ``position_error_mean`` and
        ``position_error_p90`` (Å).
    """
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


def train(
    config: TrainConfig, callbacks: list | None = None, plot_loss: LossPlotter | None = None
) -> dict:
    """Run (or resume) a training run.

    Writes ``config.json``, ``log.csv``, a checkpoint and a backup every epoch, the weights
    ``<mode>.weights.h5`` and the test metrics ``metrics.json`` into ``config.out``; running the
    same configuration again resumes an interrupted run.

    Parameters
    ----------
    config : TrainConfig
        The run.
    callbacks : list of keras.callbacks.Callback, optional
        Added after the run's own (backup, checkpoint, CSV log, loss curve).
    plot_loss : callable, optional
        ``draw(csv_path, png_path, title)`` that draws ``loss_curve.png`` after every epoch,
        e.g. :func:`afmkit.plotting.training.plot_loss_curve` (passed in by the caller, e.g. the
        CLI); None draws nothing.

    Returns
    -------
    dict
        The test metrics (:func:`evaluate`) with ``mode``, ``epochs``, ``wall_time_s``,
        ``train_samples_per_epoch`` and ``keras_backend``; also in ``metrics.json``.

    Raises
    ------
    TrainingStopped
        When a :class:`StopTraining` callback in ``callbacks`` was asked to stop; the backup of
        the last whole epoch stays, and ``train(config)`` again resumes from it.
    """
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=1, default=str))
    train_data, val_data, test_data = training_data(config)
    model = build_compiled_model(config)
    csv_path = out / "log.csv"
    run_callbacks = [
        keras.callbacks.BackupAndRestore(str(out / "backup")),  # resume after an interruption
        keras.callbacks.ModelCheckpoint(str(out / "checkpoint.keras")),
        keras.callbacks.CSVLogger(str(csv_path), append=True),
        *([LossCurve(plot_loss, csv_path, out / "loss_curve.png", f"{config.mode} model")]
          if plot_loss else []),
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
    """Save only the layer weights of a trained ``model``, written atomically.

    No optimizer state (a third of the size), in the format
    :func:`afmkit.learn.models.load_pretrained` reads.

    Parameters
    ----------
    model : keras.Model
        A trained model of ``mode``.
    mode : {"dsh", "es", "xyz"}
        The model's mode.
    path : str or Path
        The weights file (``*.weights.h5``).

    Returns
    -------
    Path
        ``path``.
    """
    lean = models.build_model(mode)
    lean.set_weights(model.get_weights())
    with atomic_path(Path(path)) as tmp:
        lean.save_weights(tmp)
    return Path(path)


def _n_samples(data) -> int:
    if isinstance(data, AFMDataset):
        return data.n_samples
    return int(data.manifest.get("n_samples", len(data) * data.manifest["batch_size"]))
