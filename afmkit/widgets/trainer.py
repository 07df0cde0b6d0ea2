"""Training panel for notebooks 08–10: every training parameter as a widget, Train/Stop, resume.

:func:`training_panel` (a :class:`TrainingPanel`) sets up one training run of the DSH, ES or
xyz model from its controls — optimiser (epochs, batch size, learning rate and its decay), loss
(DSH/ES output weights; xyz focal γ, α_n and the position-loss weight β_PL), data (molecules per
split, rotations per molecule) and augmentation (tip-tilt radius, height jitter), and the seed —
and trains it in a background thread with the live :class:`~afmkit.widgets.training.TrainingMonitor`
below, so the notebook stays usable.

* **Train** simulates the data once into shards (reused by later runs with the same data
  settings), then trains with :func:`afmkit.learn.train.train`: a checkpoint, a backup and a
  ``log.csv`` row every epoch.
* **Stop** ends the run after the batch it is on; the unfinished epoch is dropped.
* **Train** again **resumes** the stopped run from its last whole epoch when the settings are
  unchanged (the number of epochs may grow); with changed settings it starts a new run,
  ``run-002``, ``run-003``, … in the panel's folder.

The work itself lives in :mod:`afmkit.learn.train` (:class:`~afmkit.learn.train.TrainConfig`,
:func:`~afmkit.learn.train.simulate_shards`, :class:`~afmkit.learn.train.StopTraining`); this
module only turns controls into a configuration and shows progress.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

import ipywidgets as w

from afmkit.learn import losses
from afmkit.learn.train import (
    MODES,
    StopTraining,
    TrainConfig,
    TrainingStopped,
    simulate_shards,
    train,
)
from afmkit.widgets.core import BackgroundJob, ControlPanel, int_slider, slider
from afmkit.widgets.training import TrainingMonitor, history_from_csv

__all__ = ["TrainingPanel", "training_panel"]

_STYLE = {"description_width": "initial"}
_LAYOUT = {"width": "360px"}
#: Display names of the DSH/ES outputs in the loss-weight controls.
_OUTPUT_LABEL = {
    "atomic_disks": "Atomic Disks",
    "vdw_spheres": "vdW Spheres",
    "height_map": "Height Map",
    "es_map": "ES Map",
}
#: Settings that may differ between a stopped run and its resumption.
_RESUMABLE_CHANGES = {"epochs", "verbose", "extra", "out"}


def _log_slider(label: str, value: float, lo_exp: float, hi_exp: float) -> w.FloatLogSlider:
    return w.FloatLogSlider(value=value, base=10, min=lo_exp, max=hi_exp, step=0.25,
                            description=label, readout_format=".1e", continuous_update=False,
                            style=_STYLE, layout=_LAYOUT)  # fmt: skip


def _weight_box(label: str, value: float) -> w.BoundedFloatText:
    return w.BoundedFloatText(value=value, min=0.0, max=1000.0, step=0.05, description=label,
                              style=_STYLE, layout=_LAYOUT)  # fmt: skip


class TrainingPanel(ControlPanel):
    """Controls for every training parameter, Train/Stop buttons and the live loss monitor.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model to train.
    folder : str or Path
        Where runs (``run-001``, …) and their simulated data (``data/``) go.
    epochs, batch_size : int
        Initial values (thesis: 50 epochs, batches of 30).
    train_size, val_size, test_size : int
        Initial molecules per split (light set, QM9).
    rotations : int
        Initial viewing rotations per molecule.
    max_molecules : int
        Largest number of training molecules the slider offers.
    seed : int
        Initial seed (data, augmentation, initial weights).
    molecule_set : str
        Molecule set of the data ("light", "heavy", …).

    Attributes
    ----------
    controls : dict of str to ipywidgets.Widget
        Name → control; names are :class:`~afmkit.learn.train.TrainConfig` fields, plus
        ``weight_<output>`` for the DSH/ES loss weights.
    monitor : TrainingMonitor
        The live view (a Keras callback), refilled from ``log.csv`` when a run resumes.
    job : BackgroundJob
        The training thread; ``job.result`` holds the test metrics of a finished run.
    run_dir : Path or None
        The run being (or last) trained.
    widget : ipywidgets.Widget
        What to display (``display(panel)`` also works); CSS class ``afmkit-training-panel``.
    """

    def __init__(
        self,
        mode: str,
        folder: str | Path,
        *,
        epochs: int = 10,
        batch_size: int = 30,
        train_size: int = 60,
        val_size: int = 10,
        test_size: int = 12,
        rotations: int = 5,
        max_molecules: int = 5000,
        seed: int = 0,
        molecule_set: str = "light",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.folder = Path(folder)
        self.molecule_set = molecule_set
        self.run_dir: Path | None = None
        self.job = BackgroundJob(f"afmkit-training-{mode}")
        self._stopper: StopTraining | None = None
        self._phase = ""

        c: dict[str, w.Widget] = {
            "epochs": int_slider("epochs", epochs, 1, max(100, epochs)),
            "batch_size": int_slider("batch size", batch_size, 1, max(64, batch_size),
                                     unit="samples"),
            "lr": _log_slider("learning rate", 1e-3, -5, -1),
            "decay": _log_slider("lr decay per step", 1e-5, -8, -2),
        }
        if mode == "xyz":
            c["focal_gamma"] = slider("focal γ", losses.FOCAL_GAMMA, 0.0, 5.0, 0.05)
            c["focal_alpha_n"] = slider("focal α_n (background weight)", losses.FOCAL_ALPHA_N,
                                        0.0, 1.0, 0.01)
            c["position_beta"] = slider("position-loss weight β_PL", losses.POSITION_BETA,
                                        0.0, 2.0, 0.01)
        else:
            defaults = losses.DSH_LOSS_WEIGHTS if mode == "dsh" else losses.ES_LOSS_WEIGHTS
            for name, value in defaults.items():
                c[f"weight_{name}"] = _weight_box(f"loss weight {_OUTPUT_LABEL[name]}", value)
        c.update({
            "train_size": int_slider("training molecules", train_size, 1,
                                     max(max_molecules, train_size)),
            "val_size": int_slider("validation molecules", val_size, 1, max(200, val_size)),
            "test_size": int_slider("test molecules", test_size, 1, max(200, test_size)),
            "rotations": int_slider("rotations per molecule", rotations, 1, max(10, rotations)),
            "tilt_radius": slider("tip-tilt radius", 1.0, 0.0, 2.0, 0.05, unit="Å"),
            "height_jitter": slider("height jitter ±", 0.25, 0.0, 1.0, 0.05, unit="Å"),
            "seed": w.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed",
                                     style=_STYLE, layout=_LAYOUT),
        })  # fmt: skip
        self.controls = c

        groups = {
            "Optimiser": ["epochs", "batch_size", "lr", "decay", "seed"],
            "Loss": [k for k in c if k.startswith(("weight_", "focal_", "position_"))],
            "Data": ["train_size", "val_size", "test_size", "rotations"],
            "Augmentation": ["tilt_radius", "height_jitter"],
        }
        tabs = w.Tab(children=[w.VBox([c[k] for k in keys]) for keys in groups.values()])
        for i, title in enumerate(groups):
            tabs.set_title(i, title)
        self.train_button = w.Button(description="Train", button_style="success", icon="play",
                                     tooltip="start, or resume the stopped run")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True, tooltip="stop after the current batch")
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.status = w.HTML("<small>set the parameters, then press Train</small>")
        self.status.add_class("afmkit-training-status")
        self.monitor = TrainingMonitor(f"{mode.upper()} model, trained here",
                                       per_output=mode != "xyz", batch_size=batch_size)
        header = w.HTML(f"<b>Train the {mode.upper()} model</b> "
                        f"<small>(runs in {html.escape(str(self.folder))})</small>")
        buttons = w.HBox([self.train_button, self.stop_button])
        self.widget = w.VBox([header, tabs, buttons, self.status, self.monitor.widget])
        self.widget.add_class("afmkit-panel")
        self.widget.add_class("afmkit-training-panel")

    # --- configuration ------------------------------------------------------------------------
    def config(self, out: str | Path | None = None) -> TrainConfig:
        """The :class:`~afmkit.learn.train.TrainConfig` the controls describe (on-the-fly data).

        Parameters
        ----------
        out : str or Path, optional
            Run directory (default: the current run, or ``run-001``).

        Returns
        -------
        TrainConfig
            The run's settings; ``verbose=0`` (the monitor shows progress).
        """
        v = self.values()
        weights = {k.removeprefix("weight_"): float(x) for k, x in v.items()
                   if k.startswith("weight_")}  # fmt: skip
        fields = {k: x for k, x in v.items() if not k.startswith("weight_")}
        return TrainConfig(mode=self.mode, out=out or self.run_dir or self._run_path(1),
                           molecule_set=self.molecule_set, verbose=0,
                           loss_weights=weights or None, **fields)  # fmt: skip

    def _run_path(self, k: int) -> Path:
        return self.folder / f"run-{k:03d}"

    def _existing_runs(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("run-[0-9][0-9][0-9]") if p.is_dir())

    def _choose_run(self) -> tuple[Path, bool]:
        """The run directory to train next and whether it resumes a stopped run.

        The last run is resumed when it has a backup of a whole epoch, no test metrics (not
        finished) and the same settings; it is started afresh in place when it never finished
        an epoch; otherwise the next number is used.
        """
        runs = self._existing_runs()
        if not runs:
            return self._run_path(1), False
        last = runs[-1]
        finished = (last / "metrics.json").exists()
        backup = last / "backup"
        has_backup = backup.is_dir() and any(backup.iterdir())
        if not finished and has_backup and self._same_settings(last):
            return last, True
        if not finished and not has_backup:
            return last, False
        return self._run_path(int(last.name.split("-")[1]) + 1), False

    def _same_settings(self, run: Path) -> bool:
        try:
            saved = json.loads((run / "config.json").read_text())
        except (OSError, ValueError):
            return False
        now = json.loads(json.dumps(asdict(self.config(run)), default=str))
        keys = (set(saved) | set(now)) - _RESUMABLE_CHANGES - {"train_shards", "val_shards",
                                                                 "test_shards"}
        return all(saved.get(k) == now.get(k) for k in keys)

    # --- running ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether a run is in progress."""
        return self.job.running

    def start(self) -> bool:
        """Train (or resume) in the background, as the Train button does.

        Returns
        -------
        bool
            False if a run is already in progress, or the settings are invalid (the status
            line says why).
        """
        if self.running:
            return False
        try:
            run, resume = self._choose_run()
            config = self.config(run)
        except ValueError as exc:
            self._say(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
            return False
        self.run_dir = run
        self._stopper = StopTraining()
        history = history_from_csv(run / "log.csv") if resume and (run / "log.csv").exists() \
            else {}
        self.monitor.history = {k: list(v) for k, v in history.items() if k.endswith("loss")}
        self.monitor.batch_size = config.batch_size
        self.monitor.panel.refresh()
        done = len(next(iter(self.monitor.history.values()), []))
        what = f"resuming {run.name} after epoch {done}" if resume else f"new run {run.name}"
        self._set_running(True)
        self._say(f"{what}: simulating the data (once per data setting) …")
        stopper = self._stopper

        def work() -> dict:
            shard_config = simulate_shards(config, self.folder / "data", progress=False)
            self._say(f"{what}: training {config.epochs} epochs …")
            return train(shard_config, callbacks=[self.monitor, stopper])

        self.job.start(work, on_done=self._finished)
        return True

    def stop(self) -> None:
        """Stop the run after the current batch, as the Stop button does."""
        if self._stopper is not None and self.running:
            self._stopper.request()
            self._say("stopping after this batch …")

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the run to end.

        Parameters
        ----------
        timeout_s : float, optional
            Longest wait, s.

        Returns
        -------
        bool
            True when no run is in progress any more.
        """
        return self.job.join(timeout_s)

    def _finished(self, job: BackgroundJob) -> None:
        self._set_running(False)
        name = self.run_dir.name if self.run_dir else "run"
        if isinstance(job.error, TrainingStopped):
            epochs = len(self.monitor.history.get("loss", []))
            self._say(f"{name} stopped after {epochs} whole epoch(s) ({job.seconds:.0f} s); "
                      "press Train to resume it")
        elif job.error is not None:
            self._say(f"<span style='color:#b00'>{name} failed: {type(job.error).__name__}: "
                      f"{html.escape(str(job.error))}</span>")
        else:
            report = job.result or {}
            loss = report.get("loss", report.get("losses", {}).get("loss"))
            text = f"test loss {loss:.4g}" if isinstance(loss, float) else "test metrics saved"
            self._say(f"{name} finished in {job.seconds:.0f} s: {text} "
                      f"({html.escape(str(self.run_dir))}/metrics.json)")

    def _set_running(self, running: bool) -> None:
        self.train_button.disabled = running
        self.stop_button.disabled = not running
        for control in self.controls.values():
            control.disabled = running

    def _say(self, text: str) -> None:
        self._phase = text
        self.status.value = f"<small>{text}</small>"


def training_panel(
    mode: str,
    folder: str | Path,
    *,
    epochs: int = 10,
    batch_size: int = 30,
    train_size: int = 60,
    val_size: int = 10,
    test_size: int = 12,
    rotations: int = 5,
    seed: int = 0,
) -> TrainingPanel:
    """A :class:`TrainingPanel`: every training parameter, Train/Stop in the background, resume.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model to train.
    folder : str or Path
        Where runs and their simulated data go.
    epochs, batch_size, train_size, val_size, test_size, rotations, seed : int
        Initial values of the controls.

    Returns
    -------
    TrainingPanel
        Display it; press Train.
    """
    return TrainingPanel(mode, folder, epochs=epochs, batch_size=batch_size,
                         train_size=train_size, val_size=val_size, test_size=test_size,
                         rotations=rotations, seed=seed)  # fmt: skip
