"""Training panels: a live loss curve for ``model.fit`` and a browser of test-set predictions.

* :class:`TrainingMonitor` (or :func:`training_monitor`): a Keras callback and a widget. Pass it to
  ``model.fit(..., callbacks=[monitor])``; after every epoch it redraws the training and validation
  losses in a plotly figure, and during the epoch a progress bar shows the batch, the running loss
  and the throughput (samples/s).
* :func:`prediction_browser`: a slider over test samples showing the input Δf slices, the target
  descriptors and the model's predictions. For the xyz model it draws detected atoms (after the
  confidence threshold and non-maximum suppression) over the Δf slice next to the true atoms, and
  reports per-box and per-atom precision/recall at the chosen threshold.
* :func:`history_from_csv`, :func:`layer_table`: the static pieces (a Keras CSV log as a
  history dict, a summarised layer table of a model).

The figures are drawn by :mod:`afmkit.plotting.training`; its
:func:`~afmkit.plotting.training.loss_figure` is also importable from here (and from
:mod:`afmkit.widgets`) for compatibility.

Predictions are computed once when the browser is built; moving a slider only re-draws cached
arrays (PNG images and plotly updates, ~10–100 ms).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
import keras
import numpy as np

from afmkit.learn import metrics, models
from afmkit.plotting.training import (
    history_from_csv,
    loss_figure,
    precision_recall_figure,
    update_precision_recall,
    update_xyz_detection,
    xyz_detection_figure,
)
from afmkit.targets.descriptors import NMS_RADIUS, XYZ_BOX_SIZE, decode_xyz
from afmkit.widgets.core import Panel, array_png, dropdown, image_widget, int_slider, slider

__all__ = [
    "PredictionSet",
    "TrainingMonitor",
    "collect_predictions",
    "history_from_csv",
    "layer_table",
    "loss_figure",
    "prediction_browser",
    "training_monitor",
]

#: Input names of the models: one Δf stack (dsh, xyz) or CO and Xe stacks (es).
_INPUT_NAMES = {"dsh": ("afm",), "xyz": ("afm",), "es": ("co", "xe")}
#: Output names, in the order the models return them.
_OUTPUT_NAMES = {"dsh": models.DSH_OUTPUTS, "es": models.ES_OUTPUTS, "xyz": models.XYZ_OUTPUTS}
#: Display name, unit and colour map of every image output.
_IMAGE_STYLE = {
    "atomic_disks": ("Atomic Disks", "Å above cut-off", "viridis"),
    "vdw_spheres": ("vdW Spheres", "Å above floor", "gray"),
    "height_map": ("Height Map", "Å above floor", "gray"),
    "es_map": ("ES Map", "V", "RdBu_r"),
}
_TIP_LABEL = {"afm": "Δf (CO tip)", "co": "Δf (CO tip)", "xe": "Δf (Xe tip)"}


# ---------------------------------------------------------------------------------------------
# loss curves
# ---------------------------------------------------------------------------------------------
class TrainingMonitor(keras.callbacks.Callback):
    """Live training view: a Keras callback that redraws the loss curves after every epoch.

    Display it (``display(monitor)`` or leave it last in a cell), then train with
    ``model.fit(..., callbacks=[monitor])``. During an epoch a progress bar shows the batch, the
    running loss and the throughput; after each epoch the plotly figure gains a point per curve.
    Two controls change the view at any time: the loss axis scale (log/linear) and whether the
    unweighted per-output losses are drawn.

    Parameters
    ----------
    title
        Figure title (e.g. "DSH model").
    log_y
        Start with a logarithmic loss axis.
    per_output
        Start with the per-output losses shown.
    batch_size
        Samples per batch, for the samples/s readout (default: steps/s are shown).
    update_every_s
        Minimum time between progress-bar updates during an epoch, s.

    Attributes
    ----------
    history : dict
        ``{"loss": [...], "val_loss": [...], ...}`` one value per finished epoch.
    epoch_times_s : list of float
        Wall time of every finished epoch, s.
    panel : Panel
        The :class:`~afmkit.widgets.core.Panel` (controls, figure, status line).
    figure : plotly.graph_objects.FigureWidget
        The figure with the curves (drawn by :func:`afmkit.plotting.training.loss_figure`).
    """

    def __init__(
        self,
        title: str = "",
        log_y: bool = True,
        per_output: bool = False,
        batch_size: int | None = None,
        update_every_s: float = 0.25,
    ) -> None:
        super().__init__()
        import plotly.graph_objects as go

        self.title = title
        self.batch_size = batch_size
        self.update_every_s = float(update_every_s)
        self.history: dict[str, list[float]] = {}
        self.epoch_times_s: list[float] = []
        self.figure = go.FigureWidget()
        self.progress = w.IntProgress(
            value=0, min=0, max=1, description="epoch", layout={"width": "360px"}
        )
        self.progress_text = w.HTML("<small>waiting for model.fit …</small>")
        controls = {
            "scale": dropdown("loss axis", ["log", "linear"], "log" if log_y else "linear"),
            "curves": dropdown(
                "curves",
                ["total", "total + per output"],
                "total + per output" if per_output else "total",
            ),
        }
        self.panel = Panel(
            controls,
            self._render,
            outputs=[self.progress, self.progress_text, self.figure],
            title=f"Training: {title}" if title else "Training",
            debounce_s=0.0,
        )
        self._epochs = 0
        self._steps = None
        self._epoch_start = time.perf_counter()
        self._last_update = 0.0

    # --- rendering -------------------------------------------------------------------------
    def _render(self, values: dict[str, Any]) -> None:
        loss_figure(
            self.history,
            title=self.title,
            log_y=values["scale"] == "log",
            per_output=values["curves"] != "total",
            figure=self.figure,
        )

    @property
    def widget(self) -> w.Widget:
        """The widget to display (same as ``display(monitor)``).

        Returns
        -------
        ipywidgets.Widget
            The panel's widget.
        """
        return self.panel.widget

    def _ipython_display_(self) -> None:
        self.panel._ipython_display_()

    def static_figure(self) -> Any:
        """The current curves as a plain ``plotly.graph_objects.Figure`` (kept in saved outputs).

        Returns
        -------
        plotly.graph_objects.Figure
            A new figure with the current view settings.
        """
        values = self.panel.values()
        return loss_figure(
            self.history,
            title=self.title,
            log_y=values["scale"] == "log",
            per_output=values["curves"] != "total",
        )

    # --- keras.callbacks.Callback ------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        """Read the number of epochs and steps from Keras's parameters."""
        params = self.params or {}
        self._epochs = int(params.get("epochs") or 0)
        self._steps = params.get("steps")
        self.progress.max = max(int(self._steps or 1), 1)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Reset the progress bar."""
        self._epoch_start = time.perf_counter()
        self._last_update = 0.0
        self.progress.value = 0
        self.progress.description = f"epoch {epoch + 1}/{self._epochs or '?'}"

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Move the progress bar (at most every ``update_every_s`` seconds)."""
        now = time.perf_counter()
        if now - self._last_update < self.update_every_s and batch + 1 != self._steps:
            return
        self._last_update = now
        self.progress.value = min(batch + 1, self.progress.max)
        elapsed = max(now - self._epoch_start, 1e-9)
        loss = (logs or {}).get("loss")
        rate = self._rate(batch + 1, elapsed)
        loss_text = f" · running loss {float(loss):.4g}" if loss is not None else ""
        self.progress_text.value = (
            f"<small>batch {batch + 1}/{self._steps or '?'}{loss_text} · {rate}</small>"
        )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record the epoch's losses and redraw the figure."""
        elapsed = time.perf_counter() - self._epoch_start
        self.epoch_times_s.append(elapsed)
        for key, value in (logs or {}).items():
            if key.endswith("loss"):
                self.history.setdefault(key, []).append(float(value))
        self.progress.value = self.progress.max
        parts = [f"epoch {epoch + 1} in {elapsed:.1f} s"]
        for key in ("loss", "val_loss"):
            if key in (logs or {}):
                parts.append(f"{key} {float(logs[key]):.4g}")
        self.progress_text.value = "<small>" + " · ".join(parts) + "</small>"
        self.panel.refresh()

    def _rate(self, steps: int, elapsed: float) -> str:
        batch_size = self.batch_size
        if batch_size is None:
            return f"{steps / elapsed:.2f} steps/s"
        return f"{steps * batch_size / elapsed:.1f} samples/s"


def training_monitor(
    title: str = "", log_y: bool = True, per_output: bool = False, batch_size: int | None = None
) -> TrainingMonitor:
    """A :class:`TrainingMonitor` (live loss curves) to pass to ``model.fit(callbacks=[...])``.

    Parameters
    ----------
    title
        Figure title.
    log_y
        Logarithmic loss axis.
    per_output
        Also draw the per-output losses.
    batch_size
        Samples per batch, for the samples/s readout.

    Returns
    -------
    TrainingMonitor
        The monitor (display it, then train).
    """
    return TrainingMonitor(title=title, log_y=log_y, per_output=per_output, batch_size=batch_size)


# ---------------------------------------------------------------------------------------------
# model summaries
# ---------------------------------------------------------------------------------------------
def _block_of(name: str, outputs: Sequence[str]) -> str:
    """Which part of the network a layer belongs to, from its name (see afmkit.learn.models)."""
    for prefix, tip in (("co_", "CO"), ("xe_", "Xe")):
        if name.startswith(prefix):
            return f"{tip} encoder (3D convs + latent conv)"
    if "conv3d" in name:
        return "3D encoder"
    if name.startswith("latent"):
        return "latent 2D convs"
    for out in outputs:
        if name.startswith(out):
            return f"branch: {out}"
    return name


def layer_table(model: keras.Model, summarise: bool = True, html_table: bool = True) -> Any:
    """The model's weighted layers (convolutions) with output shapes and parameter counts.

    Layers without weights (padding, pooling, upsampling, activations) are left out; the last row
    is the total, :meth:`keras.Model.count_params`.

    Parameters
    ----------
    model
        A built Keras model (e.g. :func:`afmkit.learn.models.dsh_model`).
    summarise
        One row per block (encoder, latent convs, each output branch) instead of one per layer.
    html_table
        Return an ``IPython.display.HTML`` table (True) or the rows as a list of dicts.

    Returns
    -------
    IPython.display.HTML or list of dict
        Rows with ``layer`` (or ``block``), ``type``/``layers``, ``output shape`` (per sample,
        channels last), ``kernel`` and ``parameters``; the total last.
    """
    rows = []
    for layer in model.layers:
        n = layer.count_params() if layer.built else 0
        if n == 0:
            continue
        kernel = getattr(layer, "kernel_size", None)
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": " × ".join(str(s) for s in shape),
                "kernel": " × ".join(str(k) for k in kernel) if kernel else "",
                "parameters": int(n),
            }
        )
    if summarise:
        outputs = [o.name.split("/")[0] for o in model.outputs]
        outputs = list(getattr(model, "output_names", None) or outputs)
        blocks: dict[str, dict[str, Any]] = {}
        for r in rows:
            b = blocks.setdefault(
                _block_of(r["layer"], outputs),
                {"layers": 0, "kernels": [], "output shape": "", "parameters": 0},
            )
            b["layers"] += 1
            if r["kernel"] not in b["kernels"]:
                b["kernels"].append(r["kernel"])
            b["output shape"] = r["output shape"]
            b["parameters"] += r["parameters"]
        rows = [
            {
                "block": name,
                "conv layers": b["layers"],
                "kernels": ", ".join(b["kernels"]),
                "output shape": b["output shape"],
                "parameters": b["parameters"],
            }
            for name, b in blocks.items()
        ]
    total = int(model.count_params())
    keys = list(rows[0]) if rows else ["layer", "parameters"]
    total_row = dict.fromkeys(keys, "")
    total_row[keys[0]] = "total (model.count_params())"
    total_row["parameters"] = total
    if not html_table:
        return rows + [total_row]
    from IPython.display import HTML

    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(f'{v:,}' if isinstance(v, int) else str(v))}</td>"
            for v in r.values()
        )
        + "</tr>"
        for r in rows
    )
    foot = (
        f"<tr><td colspan='{len(keys) - 1}'><b>{total_row[keys[0]]}</b></td>"
        f"<td><b>{total:,}</b></td></tr>"
    )
    return HTML(
        f"<table style='font-size:85%'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}{foot}</tbody></table>"
    )


# ---------------------------------------------------------------------------------------------
# predictions
# ---------------------------------------------------------------------------------------------
@dataclass
class PredictionSet:
    """Inputs, targets and predictions of a set of test samples, as NumPy arrays.

    Parameters
    ----------
    mode
        "dsh", "es" or "xyz".
    inputs
        Input name ("afm", or "co" and "xe") → (N, nx, ny, 10) normalised Δf stacks.
    targets
        Output name → (N, nx, ny) maps (Å or V), or for xyz ``classes`` (N, 16, 16, 2) and
        ``offsets`` (N, 16, 16, 3) in Å.
    predictions
        The same names and shapes as ``targets``.
    predict_s
        Wall time of the predictions, s.
    extra
        Free-form additions.
    """

    mode: str
    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    predictions: dict[str, np.ndarray]
    predict_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(next(iter(self.inputs.values())).shape[0])


def collect_predictions(
    model: keras.Model, data: Any, mode: str, max_samples: int | None = None
) -> PredictionSet:
    """Run ``model`` over the batches of ``data`` and keep inputs, targets and predictions.

    Parameters
    ----------
    model
        A DSH, ES or xyz model (:mod:`afmkit.learn.models`).
    data
        A sequence of ``(X, Y)`` batches, e.g. an :class:`afmkit.learn.data.AFMDataset` or
        :class:`afmkit.learn.data.ShardDataset` of the same ``mode``.
    mode
        "dsh", "es" or "xyz".
    max_samples
        Stop after this many samples (default: all).

    Returns
    -------
    PredictionSet
        Inputs, targets and predictions as NumPy arrays.

    Raises
    ------
    ValueError
        For an unknown mode or data without samples.
    """
    if mode not in _OUTPUT_NAMES:
        raise ValueError(f"mode must be one of {sorted(_OUTPUT_NAMES)}, got {mode!r}")
    inputs: dict[str, list[np.ndarray]] = {k: [] for k in _INPUT_NAMES[mode]}
    targets: dict[str, list[np.ndarray]] = {k: [] for k in _OUTPUT_NAMES[mode]}
    preds: dict[str, list[np.ndarray]] = {k: [] for k in _OUTPUT_NAMES[mode]}
    n = 0
    t0 = time.perf_counter()
    for i in range(len(data)):
        X, Y = data[i]
        stacks = X if mode == "es" else (X,)
        for name, stack in zip(_INPUT_NAMES[mode], stacks, strict=True):
            inputs[name].append(np.asarray(stack, dtype=np.float32))
        for name, y in zip(_OUTPUT_NAMES[mode], Y, strict=True):
            targets[name].append(np.asarray(y, dtype=np.float32))
        out = models.predict(model, X)
        for name in _OUTPUT_NAMES[mode]:
            preds[name].append(out[name])
        n += len(stacks[0])
        if max_samples is not None and n >= max_samples:
            break
    if n == 0:
        raise ValueError("data has no samples")
    stop = n if max_samples is None else min(n, int(max_samples))

    def cat(d: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v)[:stop] for k, v in d.items()}

    return PredictionSet(mode, cat(inputs), cat(targets), cat(preds), time.perf_counter() - t0)


def _image_range(*arrays: np.ndarray, symmetric: bool = False) -> tuple[float, float]:
    lo = float(min(np.min(a) for a in arrays))
    hi = float(max(np.max(a) for a in arrays))
    if symmetric:
        m = max(abs(lo), abs(hi)) or 1.0
        return -m, m
    if hi <= lo:
        hi = lo + 1e-6
    return lo, hi


def prediction_browser(
    model_or_predictions: keras.Model | PredictionSet,
    data: Any = None,
    mode: str | None = None,
    max_samples: int | None = None,
    title: str = "",
    image_px: int = 192,
) -> Panel:
    """A panel to page through test samples: input Δf, target descriptors, model predictions.

    Controls: ``sample`` (index into the set), ``slice`` (which of the 10 input Δf slices to
    show; 0 = farthest from the molecule, 9 = closest). xyz also has ``threshold`` (atom
    confidence above which a box gives an atom) and ``nms_radius`` (Å; 0 switches non-maximum
    suppression off); its figures are drawn by :mod:`afmkit.plotting.training`.

    Parameters
    ----------
    model_or_predictions
        A model (then ``data`` and ``mode`` are required) or a :class:`PredictionSet` from
        :func:`collect_predictions`.
    data
        Test batches ``(X, Y)`` (AFMDataset/ShardDataset), used with a model.
    mode
        "dsh", "es" or "xyz"; default the mode of the PredictionSet.
    max_samples
        Predict at most this many samples.
    title
        Panel title.
    image_px
        On-screen size of each image, pixels.

    Returns
    -------
    Panel
        Its ``predictions`` attribute holds the :class:`PredictionSet` and, for xyz, ``scores``
        the latest precision/recall numbers.

    Raises
    ------
    ValueError
        Without data or mode for a model, or for a mode that does not match the set's.
    """
    if isinstance(model_or_predictions, PredictionSet):
        pset = model_or_predictions
        if mode is not None and mode != pset.mode:
            raise ValueError(f"mode {mode!r} does not match the PredictionSet's {pset.mode!r}")
    else:
        if data is None or mode is None:
            raise ValueError("with a model, pass the test data and the mode ('dsh', 'es', 'xyz')")
        pset = collect_predictions(model_or_predictions, data, mode, max_samples)
    if pset.mode == "xyz":
        return _xyz_browser(pset, title or "xyz model: detected atoms vs truth", image_px)
    return _map_browser(
        pset, title or f"{pset.mode.upper()} model: predictions vs targets", image_px
    )


def _map_browser(pset: PredictionSet, title: str, image_px: int) -> Panel:
    """DSH/ES browser: one column per input stack, then target/prediction rows per output."""
    n = len(pset)
    n_slices = next(iter(pset.inputs.values())).shape[-1]
    controls = {
        "sample": int_slider("test sample", 0, 0, max(n - 1, 0)),
        "slice": int_slider("Δf slice (0 = far, 9 = close)", n_slices - 1, 0, n_slices - 1),
    }
    input_images = {name: image_widget(image_px) for name in pset.inputs}
    input_labels = {name: w.HTML() for name in pset.inputs}
    out_images = {name: (image_widget(image_px), image_widget(image_px)) for name in pset.targets}
    out_labels = {name: (w.HTML(), w.HTML()) for name in pset.targets}
    scores = w.HTML()

    def column(label: w.HTML, image: w.Image) -> w.VBox:
        label.layout = w.Layout(width=f"{image_px}px")
        return w.VBox([label, image], layout={"margin": "0 4px 4px 0"})

    rows = [w.HBox([column(input_labels[k], input_images[k]) for k in pset.inputs])]
    for name in pset.targets:
        rows.append(w.HBox([column(out_labels[name][j], out_images[name][j]) for j in (0, 1)]))
    grid = w.HBox([rows[0], w.VBox(rows[1:])]) if len(rows) <= 3 else w.VBox(rows)

    def render(values: dict[str, Any]) -> None:
        i, k = int(values["sample"]), int(values["slice"])
        for name, stack in pset.inputs.items():
            img = stack[i, :, :, k]
            input_images[name].value = array_png(img.T, cmap="gray")
            caption = f"{_TIP_LABEL[name]}, slice {k} (normalised: mean 0, std 1)"
            input_labels[name].value = f"<small>{caption}</small>"
        lines = []
        for name in pset.targets:
            label, unit, cmap = _IMAGE_STYLE[name]
            y, p = pset.targets[name][i], pset.predictions[name][i]
            lo, hi = _image_range(y, p, symmetric=(name == "es_map"))
            out_images[name][0].value = array_png(y.T, cmap=cmap, vmin=lo, vmax=hi)
            out_images[name][1].value = array_png(p.T, cmap=cmap, vmin=lo, vmax=hi)
            rng = f"colour range {lo:.2f} … {hi:.2f} {unit}"
            out_labels[name][0].value = f"<small><b>{label}</b> target ({rng})</small>"
            out_labels[name][1].value = f"<small><b>{label}</b> prediction (same scale)</small>"
            mse = float(np.mean((p - y) ** 2))
            lines.append(f"{label}: MSE {mse:.3g} {unit}²")
        scores.value = (
            f"<small>sample {i + 1} of {n} · images: x → right, y ↑ up, 16 × 16 Å window<br>"
            + " · ".join(lines)
            + "</small>"
        )

    panel = Panel(controls, render, outputs=[grid, scores], title=title)
    panel.predictions = pset  # type: ignore[attr-defined]
    return panel


def _xyz_browser(pset: PredictionSet, title: str, image_px: int) -> Panel:
    """Browser of the xyz model: Δf slice with true and detected atoms, threshold, NMS."""
    import plotly.graph_objects as go

    n = len(pset)
    stack = pset.inputs["afm"]
    n_slices = stack.shape[-1]
    ct, ot = pset.targets["classes"], pset.targets["offsets"]
    cp, op = pset.predictions["classes"], pset.predictions["offsets"]
    bx, by = ct.shape[1:3]
    half_x, half_y = bx * XYZ_BOX_SIZE / 2, by * XYZ_BOX_SIZE / 2
    xs = np.linspace(-half_x, half_x, stack.shape[1])
    ys = np.linspace(-half_y, half_y, stack.shape[2])
    true_atoms = decode_xyz(ct, ot, threshold=0.5, nms_radius=0.0)
    per_box = metrics.precision_recall(ct, cp)
    controls = {
        "sample": int_slider("test sample", 0, 0, max(n - 1, 0)),
        "slice": int_slider("Δf slice (0 = far, 9 = close)", n_slices - 1, 0, n_slices - 1),
        "threshold": slider("confidence threshold", 0.5, 0.05, 0.95, 0.05),
        "nms_radius": slider("NMS radius", NMS_RADIUS, 0.0, 1.5, 0.05, unit="Å"),
    }
    size = max(360, 2 * image_px)
    fig = go.FigureWidget(xyz_detection_figure(xs, ys, size))
    pr_fig = go.FigureWidget(precision_recall_figure(per_box, n))
    scores = w.HTML()
    panel_state: dict[str, Any] = {}

    def render(values: dict[str, Any]) -> None:
        i, k = int(values["sample"]), int(values["slice"])
        t, r = float(values["threshold"]), float(values["nms_radius"])
        pred = decode_xyz(cp[i], op[i], threshold=t, nms_radius=r)
        true = true_atoms[i]
        if panel_state.get("nms") != r:  # per-atom curve depends on the NMS radius only
            panel_state["nms"] = r
            panel_state["atom_pr"] = metrics.atom_precision_recall(ct, ot, cp, op, nms_radius=r)
        atom_pr = panel_state["atom_pr"]
        box_p, box_r = _box_pr(ct, cp, t)
        atom_now = metrics.atom_precision_recall(ct, ot, cp, op, thresholds=[t], nms_radius=r)
        one = metrics.atom_precision_recall(
            ct[i], ot[i], cp[i], op[i], thresholds=[t], nms_radius=r
        )
        heading = (
            f"sample {i + 1}/{n}: Δf slice {k} (normalised); {len(true)} true, "
            f"{len(pred)} detected"
        )
        update_xyz_detection(fig, stack[i, :, :, k], true, pred, heading)
        update_precision_recall(pr_fig, atom_pr, box_p, box_r)
        panel_state["scores"] = {
            "threshold": t,
            "nms_radius": r,
            "box_precision": box_p,
            "box_recall": box_r,
            "atom_precision": float(atom_now.precision[0]),
            "atom_recall": float(atom_now.recall[0]),
            "sample_atom_precision": float(one.precision[0]),
            "sample_atom_recall": float(one.recall[0]),
        }
        panel.scores = panel_state["scores"]  # type: ignore[attr-defined]
        s = panel_state["scores"]
        scores.value = (
            f"<small>threshold {t:.2f}, NMS radius {r:.2f} Å<br>"
            f"this sample, per atom: precision {_fmt(s['sample_atom_precision'])}, "
            f"recall {_fmt(s['sample_atom_recall'])}<br>"
            f"test set, per box: precision {_fmt(box_p)}, recall {_fmt(box_r)}<br>"
            f"test set, per atom: precision {_fmt(s['atom_precision'])}, "
            f"recall {_fmt(s['atom_recall'])}<br>"
            "circles: true atoms, crosses: detected (bigger = higher; z = 0 Å at the top "
            "atom, cut-off −0.7 Å)</small>"
        )

    panel = Panel(controls, render, outputs=[w.HBox([fig, w.VBox([pr_fig, scores])])], title=title)
    panel.predictions = pset  # type: ignore[attr-defined]
    panel.scores = {}  # type: ignore[attr-defined]
    panel.figure = fig  # type: ignore[attr-defined]
    panel.pr_figure = pr_fig  # type: ignore[attr-defined]
    return panel


def _box_pr(
    classes_true: np.ndarray, classes_pred: np.ndarray, threshold: float
) -> tuple[float, float]:
    """Per-box (precision, recall) at exactly ``threshold``."""
    pr = metrics.precision_recall(classes_true, classes_pred, thresholds=[threshold])
    return float(pr.precision[0]), float(pr.recall[0])


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.3f}"
