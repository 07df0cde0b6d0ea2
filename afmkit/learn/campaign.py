"""A training campaign: one model trained toward a sample budget over many sittings.

A 2-core CPU trains DSH at ≈ 20–30 samples/s, so the 200 k samples the shipped weights aim at take
hours, more than one sitting. A campaign keeps, per model, two small files in a checkpoint
directory (``checkpoints/`` at the repository root, committed, overwritten):

* ``<mode>.keras``: the model with its optimizer state (Adam moments and step count, so the
  learning-rate decay continues), ≈ 1.5 MB for DSH;
* ``<mode>.json``: the record: samples seen, distinct molecules and samples of the training
  shards, wall hours, one entry per sitting (date, hours, hardware, Keras backend, precision) and
  the learning curve (held-out metrics and validation loss after every chunk).

:func:`run_campaign` loads both (or starts afresh), trains chunk after chunk (``chunk_samples``
each) on training shards, and after every chunk scores the model on the held-out molecules
(:mod:`afmkit.learn.heldout`) and writes both files atomically, so an interruption loses at most
the chunk in progress. Running again continues where the files left off: batch ``s`` of the
campaign is always batch ``s mod n`` of epoch ``s // n`` of the shards (same order, same
augmentation), whichever sitting trains it. :func:`export_campaign` turns the checkpoint into the
shipped weights (``afmkit/learn/weights/<name>.*``). ``scripts/train_pretrained.sh`` is the recipe.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tqdm.auto import tqdm

from afmkit.fileio import atomic_path
from afmkit.learn import heldout, models
from afmkit.learn.data import MODES, ShardDataset
from afmkit.learn.train import (
    TrainConfig,
    build_compiled_model,
    evaluate,
    export_weights,
    gpu_names,
)

__all__ = [
    "CampaignConfig",
    "PRECISIONS",
    "checkpoint_path",
    "export_campaign",
    "hardware",
    "load_record",
    "record_path",
    "run_campaign",
    "shipped_records",
    "summary",
]

#: Keras dtype policies a campaign may train in (variables stay float32 in both).
PRECISIONS = ("float32", "mixed_bfloat16")


@dataclass
class CampaignConfig:
    """One sitting of a campaign.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model.
    shards : str or Path
        Prefix of the shard directories ``<shards>-train`` and ``<shards>-val``
        (:func:`afmkit.learn.data.write_shards`; mode "es" shards serve all three models).
    until_samples : int
        Stop when the campaign has seen this many training samples in all.
    directory : str or Path
        Checkpoint directory (``<mode>.keras``, ``<mode>.json``).
    hours : float, optional
        Wall-clock budget of this sitting; it stops after the last chunk that fits.
    chunk_samples : int
        Training samples between checkpoints and learning-curve points.
    held_out : int
        Held-out test-split molecules scored after every chunk (:func:`heldout.held_out_set`).
    seed : int
        Seeds model initialisation, shard order and augmentation.
    precision : {"float32", "mixed_bfloat16"}
        Keras dtype policy of a new campaign (a running one keeps its own).
    lr, decay : float
        Adam learning rate and its inverse-time decay per step (thesis §3.3).
    workers : int
        Threads that load and augment batches while the model trains.

    Raises
    ------
    ValueError
        For an unknown mode or precision, or a non-positive sample count.
    """

    mode: str
    shards: str | Path
    until_samples: int
    directory: str | Path = "checkpoints"
    hours: float | None = None
    chunk_samples: int = 6000
    held_out: int = 16
    seed: int = 0
    precision: str = "float32"
    lr: float = 1e-3
    decay: float = 1e-5
    workers: int = 2

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.until_samples < 1 or self.chunk_samples < 1:
            raise ValueError("until_samples and chunk_samples must be >= 1")
        self.directory = Path(self.directory)


def checkpoint_path(directory: str | Path, mode: str) -> Path:
    """The campaign checkpoint (model and optimizer state) of ``mode`` in ``directory``.

    Parameters
    ----------
    directory : str or Path
        The checkpoint directory.
    mode : {"dsh", "es", "xyz"}
        The model.

    Returns
    -------
    Path
        ``<directory>/<mode>.keras``.
    """
    return Path(directory) / f"{mode}.keras"


def record_path(directory: str | Path, mode: str) -> Path:
    """The campaign record (samples seen, sittings, learning curve) of ``mode``.

    Parameters
    ----------
    directory : str or Path
        The checkpoint directory.
    mode : {"dsh", "es", "xyz"}
        The model.

    Returns
    -------
    Path
        ``<directory>/<mode>.json``.
    """
    return Path(directory) / f"{mode}.json"


def load_record(path: str | Path) -> dict | None:
    """Read a campaign record, or None if there is none yet.

    Parameters
    ----------
    path : str or Path
        A ``<mode>.json`` record (or a shipped ``<name>.campaign.json``).

    Returns
    -------
    dict or None
        The record.

    Raises
    ------
    ValueError
        If the file exists but is not a campaign record.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not a campaign record: {err}") from err
    if not isinstance(record, dict) or "curve" not in record or "samples_seen" not in record:
        raise ValueError(f"{path} is not a campaign record (no 'curve' / 'samples_seen')")
    return record


def shipped_records(
    names: Sequence[str] = ("dsh-light", "xyz-light", "es-light"),
    weights_dir: str | Path | None = None,
) -> dict[str, dict]:
    """The campaign records of those shipped models that have one.

    Parameters
    ----------
    names : sequence of str
        Shipped model names.
    weights_dir : str or Path, optional
        Default: the package's ``afmkit/learn/weights``.

    Returns
    -------
    dict
        Name → record (:func:`load_record`), in the order of ``names``; models trained before
        the campaigns (no ``<name>.campaign.json``) are left out.
    """
    folder = Path(models.WEIGHTS_DIR) if weights_dir is None else Path(weights_dir)
    out = {}
    for name in names:
        record = load_record(folder / f"{name}.campaign.json")
        if record is not None:
            out[name] = record
    return out


def summary(record: dict) -> str:
    """One line about a campaign: samples seen, distinct samples and molecules, hours, hardware.

    Parameters
    ----------
    record : dict
        A campaign record (:func:`load_record`).

    Returns
    -------
    str
        E.g. "dsh: 200,010 samples seen (10,020 distinct, 5,000 molecules), 1.6 h in 1 sitting
        on <CPU> (2 cores, no GPU), mixed_bfloat16".
    """
    machines = []
    for sitting in record["sittings"]:
        hw = sitting["hardware"]
        gpus = ", ".join(hw["gpus"]) if hw["gpus"] else "no GPU"
        machine = f"{hw['cpu']} ({hw['cores']} cores, {gpus})"
        if machine not in machines:
            machines.append(machine)
    n = len(record["sittings"])
    return (f"{record['mode']}: {record['samples_seen']:,} samples seen "
            f"({record['distinct_samples']:,} distinct, {record['molecules']:,} molecules), "
            f"{record['hours']:.1f} h in {n} sitting{'s' if n != 1 else ''} on "
            f"{'; '.join(machines) or 'no machine yet'}, {record['precision']}")  # fmt: skip


def hardware() -> dict[str, Any]:
    """What this machine is, for the record: CPU model, cores, GPUs Keras sees, software.

    Returns
    -------
    dict
        ``cpu``, ``cores``, ``gpus`` (device names), ``keras``, ``backend`` and ``python``.
    """
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpus": gpu_names(), "keras": keras.__version__,
            "backend": keras.backend.backend(), "python": platform.python_version()}  # fmt: skip


class _StepRange(keras.utils.PyDataset):
    """Campaign steps ``start .. start + n - 1`` of a shard set, as one Keras epoch."""

    def __init__(self, data: ShardDataset, start: int, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data, self.start, self.n = data, start, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        step = self.start + index
        return self.data.batch(step // len(self.data), step % len(self.data))


#: Manifest fields that identify a training-shard set (:func:`afmkit.learn.data.write_shards`).
_SHARD_IDENTITY = ("mode", "seed", "n_molecules", "molecules_sha1", "n_rotations", "batch_size",
                   "n_samples", "params")  # fmt: skip


def _shard_identity(train: ShardDataset) -> dict:
    return {key: train.manifest.get(key) for key in _SHARD_IDENTITY}


def _new_record(config: CampaignConfig, train: ShardDataset) -> dict:
    return {
        "mode": config.mode,
        "precision": config.precision,
        "seed": config.seed,
        "lr": config.lr,
        "decay": config.decay,
        "batch_size": int(train.manifest["batch_size"]),
        "shards": {"path": str(config.shards), **_shard_identity(train)},
        "molecules": int(train.manifest["n_molecules"]),
        "distinct_samples": int(train.manifest["n_samples"]),
        "samples_seen": 0,
        "steps": 0,
        "hours": 0.0,
        "sittings": [],
        "curve": [],
    }


def _load_or_build(config: CampaignConfig, record: dict) -> keras.Model:
    path = checkpoint_path(config.directory, config.mode)
    if path.is_file():
        return keras.models.load_model(path)
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(record["precision"])
    try:
        model = build_compiled_model(
            TrainConfig(mode=config.mode, out=config.directory, seed=record["seed"],
                        lr=record["lr"], decay=record["decay"])  # fmt: skip
        )
    finally:
        keras.config.set_dtype_policy(policy)
    model.optimizer.build(model.trainable_variables)  # so even step 0 saves the optimizer whole
    return model


def _curve_point(model, config, record, val, held) -> dict:
    val_loss = float(model.evaluate(val, verbose=0, return_dict=True)["loss"])
    point = {"samples_seen": record["samples_seen"], "hours": round(record["hours"], 4),
             "val_loss": val_loss}  # fmt: skip
    scores = heldout.held_out_metrics(model, config.mode, held)
    # NaN (e.g. r of an untrained model's constant output) is stored as null: strict JSON
    point.update(_strict(scores))
    return point


def _strict(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _save(model: keras.Model, config: CampaignConfig, record: dict) -> None:
    with atomic_path(checkpoint_path(config.directory, config.mode)) as tmp:
        model.save(tmp)
    with atomic_path(record_path(config.directory, config.mode)) as tmp:
        tmp.write_text(json.dumps(_strict(record), indent=1, allow_nan=False))


class _Progress(keras.callbacks.Callback):
    """Advance a progress bar by one batch of samples after every training step."""

    def __init__(self, bar: Any, batch_size: int) -> None:
        super().__init__()
        self.bar, self.batch_size = bar, batch_size

    def on_train_batch_end(self, batch, logs=None) -> None:
        """Keras hook: one more batch trained (``batch`` and ``logs`` are unused)."""
        self.bar.update(self.batch_size)


def run_campaign(
    config: CampaignConfig, log: Callable[[str], None] = print, progress: bool = True
) -> dict:
    """Continue (or start) the campaign of ``config.mode`` for one sitting.

    Parameters
    ----------
    config : CampaignConfig
        The sitting.
    log : callable
        Receives one line per chunk (samples seen, rate, validation loss, held-out metrics).
    progress : bool
        Show a progress bar over the campaign's samples.

    Returns
    -------
    dict
        The campaign record after this sitting (also in ``<directory>/<mode>.json``).

    Raises
    ------
    ValueError
        If the checkpoint directory holds a campaign on other shards, with another precision or
        batch size, or a checkpoint without its record.
    ShardError
        If the shard directories are missing or incomplete.
    """
    started = time.perf_counter()
    train = ShardDataset(f"{config.shards}-train", mode=config.mode, shuffle=True, seed=config.seed)
    val = ShardDataset(f"{config.shards}-val", mode=config.mode, shuffle=False, seed=0)
    record = load_record(record_path(config.directory, config.mode))
    if record is None:
        if checkpoint_path(config.directory, config.mode).is_file():
            raise ValueError(f"{checkpoint_path(config.directory, config.mode)} has no record "
                             f"{record_path(config.directory, config.mode).name}")  # fmt: skip
        record = _new_record(config, train)
    known = {key: record["shards"].get(key) for key in _SHARD_IDENTITY}
    if known != _shard_identity(train):
        raise ValueError(
            f"the campaign in {config.directory} trained on other shards "
            f"({record['shards']['path']}); give those, or another --checkpoints directory"
        )
    model = _load_or_build(config, record)
    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    if steps != record["steps"]:  # killed between the two atomic writes: the model is the truth
        warnings.warn(f"checkpoint is at step {steps}, record at {record['steps']}; "
                      "continuing from the checkpoint", RuntimeWarning, stacklevel=2)  # fmt: skip
        record["steps"], record["samples_seen"] = steps, steps * record["batch_size"]
    held = heldout.held_out_set(config.held_out, xe=config.mode == "es")
    sitting = {"started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
               "hours": 0.0, "samples": 0, "hardware": hardware(),
               "precision": record["precision"]}  # fmt: skip
    record["sittings"].append(sitting)
    if not record["curve"]:
        record["curve"].append(_curve_point(model, config, record, val, held))
        _save(model, config, record)
    batch = record["batch_size"]
    chunk_steps = max(1, config.chunk_samples // batch)
    last_chunk_s = 0.0
    done = min(record["samples_seen"], config.until_samples)
    bar = tqdm(total=config.until_samples, initial=done, desc=f"{config.mode} campaign",
               unit="sample", disable=not progress, smoothing=0.05)  # fmt: skip
    while record["samples_seen"] < config.until_samples:
        elapsed = time.perf_counter() - started
        if config.hours is not None and elapsed + last_chunk_s > config.hours * 3600:
            break
        n = min(chunk_steps, -(-(config.until_samples - record["samples_seen"]) // batch))
        t0 = time.perf_counter()
        model.fit(_StepRange(train, record["steps"], n, workers=config.workers), epochs=1,
                  verbose=0, callbacks=[_Progress(bar, batch)])  # fmt: skip
        train_s = time.perf_counter() - t0
        record["steps"] += n
        record["samples_seen"] = record["steps"] * batch
        sitting["samples"] += n * batch
        point = _curve_point(model, config, record, val, held)
        last_chunk_s = time.perf_counter() - t0
        record["hours"] += last_chunk_s / 3600
        sitting["hours"] += last_chunk_s / 3600
        point["hours"] = round(record["hours"], 4)
        point["train_samples_per_s"] = n * batch / train_s
        record["curve"].append(point)
        _save(model, config, record)
        shown = ", ".join(f"{k} {'n/a' if v is None else format(v, '.3f')}"
                          for k, v in point.items()
                          if k not in ("samples_seen", "hours", "train_samples_per_s"))  # fmt: skip
        log(f"{config.mode}: {record['samples_seen']:,} samples seen, {record['hours']:.2f} h, "
            f"{point['train_samples_per_s']:.1f} samples/s; {shown}")  # fmt: skip
    bar.close()
    return record


def export_campaign(
    mode: str,
    name: str,
    directory: str | Path = "checkpoints",
    test_shards: str | Path | None = None,
    weights_dir: str | Path | None = None,
    held_out: int = 16,
) -> dict:
    """Turn a campaign checkpoint into shipped weights, metrics and record.

    Writes ``<name>.weights.h5`` (layer weights, float32), ``<name>.metrics.json`` (test-shard
    losses, held-out metrics, targets met, samples seen, hours) and ``<name>.campaign.json`` (the
    record, with its learning curve) into ``weights_dir``, each atomically.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model.
    name : str
        The shipped name, e.g. "dsh-light".
    directory : str or Path
        The checkpoint directory.
    test_shards : str or Path, optional
        A test-shard directory for the test losses (as :func:`afmkit.learn.train.evaluate`).
    weights_dir : str or Path, optional
        Default: the package's ``afmkit/learn/weights``.
    held_out : int
        Held-out molecules for the final metrics.

    Returns
    -------
    dict
        The metrics written to ``<name>.metrics.json``.

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint or record for ``mode`` in ``directory``.
    """
    ckpt, rec = checkpoint_path(directory, mode), record_path(directory, mode)
    record = load_record(rec)
    if record is None or not ckpt.is_file():
        raise FileNotFoundError(f"no campaign of {mode!r} in {directory} ({ckpt.name}, {rec.name})")
    weights_dir = models.weights_path(name).parent if weights_dir is None else Path(weights_dir)
    model = keras.models.load_model(ckpt)
    export_weights(model, mode, weights_dir / f"{name}.weights.h5")
    lean = models.load_pretrained(name, directory=weights_dir)  # what users will load
    held = heldout.held_out_metrics(lean, mode, heldout.held_out_set(held_out, xe=mode == "es"))
    report: dict[str, Any] = {"mode": mode, "held_out": held, "held_out_molecules": held_out,
                              "targets_met": heldout.meets_targets(mode, held)}  # fmt: skip
    if test_shards is not None:
        test = ShardDataset(test_shards, mode=mode, shuffle=False, augment=True)
        report.update(evaluate(model, test, mode))
        report["test_samples"] = int(test.manifest["n_samples"])
    report.update({key: record[key] for key in ("samples_seen", "molecules", "distinct_samples",
                                                "hours", "precision")})  # fmt: skip
    report["sittings"] = len(record["sittings"])
    report["keras_backend"] = keras.backend.backend()
    with atomic_path(weights_dir / f"{name}.metrics.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1, default=_jsonable))
    with atomic_path(weights_dir / f"{name}.campaign.json") as tmp:
        tmp.write_text(json.dumps(_strict(record), indent=1, allow_nan=False))
    return report


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return asdict(value) if hasattr(value, "__dataclass_fields__") else str(value)
