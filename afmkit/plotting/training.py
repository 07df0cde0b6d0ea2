"""Training figures: loss curves (thesis Fig. 15) and the xyz model's detection figures.

* :func:`plot_loss_curve` (Matplotlib) is what :func:`afmkit.learn.train.train` calls after every
  epoch (handed in as ``plot_loss``) to write ``loss_curve.png`` from the run's Keras CSV log.
* :func:`loss_figure` (plotly) draws a Keras history; the live training monitor of
  :mod:`afmkit.widgets.training` redraws it in place after every epoch.
* :func:`learning_curve_figure` (Matplotlib) draws training campaigns: held-out metrics and
  validation loss against samples seen, with the targets and the thesis's values.
* :func:`xyz_detection_figure` and :func:`precision_recall_figure` (plotly) are the two figures of
  the xyz prediction browser; :func:`update_xyz_detection` and :func:`update_precision_recall`
  redraw them in place.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from afmkit.fileio import atomic_path

__all__ = [
    "THESIS_SAMPLES",
    "atom_marker_sizes",
    "history_from_csv",
    "learning_curve_figure",
    "loss_figure",
    "plot_loss_curve",
    "precision_recall_figure",
    "shipped_training_figure",
    "update_precision_recall",
    "update_xyz_detection",
    "xyz_detection_figure",
]

_AXIS_X = "x (Å)"
_AXIS_Y = "y (Å)"


def history_from_csv(path: str | Path) -> dict[str, list[float]]:
    """A Keras ``CSVLogger`` log as a history dict.

    Parameters
    ----------
    path
        The CSV file (e.g. a run's ``log.csv`` or ``afmkit/learn/weights/<name>.log.csv``); one
        row per epoch, columns ``epoch``, ``loss``, ``val_loss``, ...

    Returns
    -------
    dict
        Column name → list of floats (the ``epoch`` column left out), in epoch order.
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(float(r["epoch"])))
    names = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    return {k: [float(r[k]) for r in rows] for k in names}


def plot_loss_curve(csv_path: Path, png_path: Path, title: str = "") -> None:
    """Plot ``loss`` and ``val_loss`` from a Keras CSV log (log scale) to ``png_path``.

    Parameters
    ----------
    csv_path
        A Keras ``CSVLogger`` log with columns ``epoch``, ``loss`` and optionally ``val_loss``.
    png_path
        Where to write the PNG (written atomically: a crash leaves no half-written file).
    title
        Figure title.
    """
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


def loss_figure(
    history: Mapping[str, Sequence[float]],
    title: str = "",
    log_y: bool = True,
    per_output: bool = False,
    figure: Any = None,
) -> Any:
    """A plotly figure of the losses in a Keras history (thesis Fig. 15).

    Parameters
    ----------
    history
        ``{"loss": [...], "val_loss": [...], "<output>_loss": [...], ...}``, one value per epoch
        (``model.fit(...).history``, :func:`history_from_csv`, or
        :attr:`afmkit.widgets.training.TrainingMonitor.history`).
    title
        Figure title.
    log_y
        Logarithmic loss axis (the losses fall over decades).
    per_output
        Also draw the unweighted per-output losses (``<output>_loss``, dashed).
    figure
        A ``plotly.graph_objects.Figure``/``FigureWidget`` to redraw in place (its traces are
        replaced); default a new ``Figure``.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure: x axis "epoch" (1-based), y axis the loss (dimensionless weighted sum of mean
        squared errors in Å² / V² for DSH/ES; focal + position loss for xyz).
    """
    import plotly.graph_objects as go

    fig = go.Figure() if figure is None else figure
    names = ["loss", "val_loss"]
    if per_output:
        names += sorted(k for k in history if k.endswith("_loss") and k not in ("loss", "val_loss"))
    traces = []
    for name in names:
        values = np.asarray(history.get(name, []), dtype=float)
        if values.size == 0:
            continue
        is_val = name.startswith("val_")
        label = {"loss": "training (total)", "val_loss": "validation (total)"}.get(name, name)
        dash = "solid" if name in ("loss", "val_loss") else ("dot" if is_val else "dash")
        traces.append(
            go.Scatter(
                x=np.arange(1, values.size + 1),
                y=values,
                mode="lines+markers",
                name=label,
                line={"dash": dash},
            )
        )
    fig.data = ()
    fig.add_traces(traces)
    fig.update_layout(
        title=title or None,
        xaxis_title="epoch",
        yaxis_title="loss (weighted sum)",
        yaxis_type="log" if log_y else "linear",
        height=340,
        width=600,
        margin={"l": 60, "r": 20, "t": 40 if title else 20, "b": 50},
        legend={"font": {"size": 10}},
    )
    return fig


def atom_marker_sizes(atoms: np.ndarray) -> np.ndarray:
    """Marker sizes (px) of atoms in the detection figure: higher atoms are drawn bigger.

    Parameters
    ----------
    atoms
        (M, ≥3) atoms, columns x, y, z in Å with z = 0 at the top atom and −0.7 Å the cut-off.

    Returns
    -------
    numpy.ndarray
        (M,) sizes from 8 px (z ≤ −0.7 Å) to 18 px (z = 0).
    """
    atoms = np.asarray(atoms, dtype=float)
    z = atoms[:, 2] if len(atoms) else np.empty(0)
    return 8 + 10 * np.clip(1.0 + z / 0.7, 0.0, 1.0)


def xyz_detection_figure(xs: np.ndarray, ys: np.ndarray, size_px: int = 384) -> Any:
    """An empty figure of the xyz browser: a Δf slice with true and detected atoms on it.

    Parameters
    ----------
    xs, ys
        Pixel centres of the Δf slice, Å (the window, centred on 0).
    size_px
        Height of the figure on screen, pixels (the width adds 140 px for the legend).

    Returns
    -------
    plotly.graph_objects.Figure
        Three traces, filled by :func:`update_xyz_detection`: the slice (grey heatmap), the true
        atoms (open green circles) and the detected atoms (red crosses, hover: z and confidence).
    """
    import plotly.graph_objects as go

    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    x_range = [float(xs[0]), float(xs[-1])]
    y_range = [float(ys[0]), float(ys[-1])]
    return go.Figure(
        data=[
            go.Heatmap(
                x=xs,
                y=ys,
                z=np.zeros((len(ys), len(xs))),
                colorscale="gray",
                showscale=False,
                hoverinfo="skip",
            ),
            go.Scatter(
                x=[],
                y=[],
                mode="markers",
                name="true atoms",
                marker={"symbol": "circle-open", "color": "#2ca02c", "line": {"width": 2}},
            ),
            go.Scatter(
                x=[],
                y=[],
                mode="markers",
                name="detected atoms",
                marker={"symbol": "x", "color": "#d62728", "line": {"width": 1}},
                hovertemplate="x %{x:.2f} Å, y %{y:.2f} Å<br>%{text}<extra></extra>",
            ),
        ],
        layout={
            "width": size_px + 140,
            "height": size_px,
            "margin": {"l": 55, "r": 10, "t": 30, "b": 45},
            "xaxis": {"title": _AXIS_X, "range": x_range, "constrain": "domain"},
            "yaxis": {"title": _AXIS_Y, "range": y_range, "scaleanchor": "x"},
            "legend": {"font": {"size": 10}},
        },
    )


def update_xyz_detection(
    figure: Any, image: np.ndarray, true_atoms: np.ndarray, detected: np.ndarray, title: str = ""
) -> None:
    """Redraw a :func:`xyz_detection_figure` in place.

    Parameters
    ----------
    figure
        The figure (or a ``FigureWidget`` made from it).
    image
        (nx, ny) Δf slice (any unit; drawn with x → right, y ↑ up).
    true_atoms
        (M, ≥3) true atoms, x, y, z in Å (z = 0 at the top atom).
    detected
        (K, ≥4) detected atoms, x, y, z in Å and the confidence.
    title
        Figure title.
    """
    with figure.batch_update():
        figure.data[0].z = np.asarray(image).T
        figure.data[1].x, figure.data[1].y = true_atoms[:, 0], true_atoms[:, 1]
        figure.data[1].marker.size = atom_marker_sizes(true_atoms)
        figure.data[2].x, figure.data[2].y = detected[:, 0], detected[:, 1]
        figure.data[2].marker.size = atom_marker_sizes(detected)
        figure.data[2].text = [f"z {a[2]:.2f} Å, confidence {a[3]:.2f}" for a in detected]
        figure.layout.title = title


def precision_recall_figure(per_box: Any, n_samples: int) -> Any:
    """Precision–recall figure of the xyz browser: per box (fixed) and per atom (updated).

    Parameters
    ----------
    per_box
        Per-box :class:`afmkit.learn.metrics.PrecisionRecall` over thresholds (drawn once).
    n_samples
        Number of test samples, for the title.

    Returns
    -------
    plotly.graph_objects.Figure
        Three traces: the per-box curve, the per-atom curve after NMS and the current threshold's
        point, the last two filled by :func:`update_precision_recall`.
    """
    import plotly.graph_objects as go

    return go.Figure(
        data=[
            go.Scatter(
                x=per_box.recall,
                y=per_box.precision,
                mode="lines+markers",
                name="per box (thesis)",
                text=[f"t = {t:.2f}" for t in per_box.thresholds],
            ),
            go.Scatter(x=[], y=[], mode="lines+markers", name="per atom (after NMS)"),
            go.Scatter(
                x=[],
                y=[],
                mode="markers",
                name="current threshold",
                marker={"size": 12, "color": "red", "symbol": "diamond"},
            ),
        ],
        layout={
            "width": 380,
            "height": 320,
            "margin": {"l": 55, "r": 10, "t": 30, "b": 45},
            "title": f"test set ({n_samples} samples)",
            "xaxis": {"title": "recall", "range": [0, 1.02]},
            "yaxis": {"title": "precision", "range": [0, 1.02]},
            "legend": {"font": {"size": 10}},
        },
    )


def update_precision_recall(
    figure: Any, per_atom: Any, box_precision: float, box_recall: float
) -> None:
    """Redraw the per-atom curve and the current point of a :func:`precision_recall_figure`.

    Parameters
    ----------
    figure
        The figure (or a ``FigureWidget`` made from it).
    per_atom
        Per-atom :class:`afmkit.learn.metrics.PrecisionRecall` over thresholds.
    box_precision, box_recall
        Per-box precision and recall at the current threshold (the red diamond).
    """
    with figure.batch_update():
        figure.data[1].x, figure.data[1].y = per_atom.recall, per_atom.precision
        figure.data[2].x, figure.data[2].y = [box_recall], [box_precision]


#: Samples the thesis's models saw (≈ 5 M each, two V100 GPUs, two days; thesis §3.3).
THESIS_SAMPLES = 5_000_000

#: Held-out metrics drawn per mode in :func:`learning_curve_figure`: key → label.
_CURVE_METRICS = {
    "dsh": {"vdw_spheres_r": "vdW Spheres r", "height_map_r": "Height Map r",
            "atomic_disks_r": "Atomic Disks r"},
    "es": {"es_map_r": "ES map r", "height_map_r": "Height Map r"},
    "xyz": {"precision@0.5": "precision @0.5", "recall@0.5": "recall @0.5"},
}  # fmt: skip


def learning_curve_figure(
    records: Mapping[str, Mapping[str, Any]], png_path: str | Path | None = None
) -> Any:
    """Held-out metrics and validation loss against samples seen, one row per campaign.

    Left: the held-out metrics of :func:`afmkit.learn.heldout.held_out_metrics` (median Pearson r,
    or xyz precision/recall) with the targets of :data:`afmkit.learn.heldout.TARGETS` dashed and
    the thesis's value, where it reports one, as a star at the thesis's ≈ 5 M samples. Right: the
    validation loss, with the thesis's test loss as a star (its targets and augmentation differ
    in details, so compare the trend, not the last digit). Log-scaled samples axis.

    Parameters
    ----------
    records : mapping
        Label (e.g. "dsh-light") → campaign record (:func:`afmkit.learn.campaign.load_record`).
    png_path : str or Path, optional
        Also write the figure there (atomically).

    Returns
    -------
    NotebookFigure
        The figure (2 panels per record), shown as PNG in Jupyter without pyplot.
    """
    from afmkit.learn.heldout import TARGETS, THESIS
    from afmkit.plotting.figures import NotebookFigure

    fig = NotebookFigure(figsize=(10, 3.2 * len(records)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(records), 2, squeeze=False))
    for (label, record), (ax_m, ax_l) in zip(records.items(), axes, strict=True):
        mode = record["mode"]
        curve = [p for p in record["curve"] if p["samples_seen"] > 0]
        seen = np.array([p["samples_seen"] for p in curve], dtype=float)
        for k, (key, name) in enumerate(_CURVE_METRICS[mode].items()):
            color = f"C{k}"
            scores = [np.nan if p.get(key) is None else p[key] for p in curve]
            ax_m.plot(seen, scores, "o-", ms=3, color=color, label=name)
            if key in TARGETS[mode]:
                ax_m.axhline(TARGETS[mode][key][0], color=color, ls="--", lw=0.8)
            if key in THESIS[mode]:
                ax_m.plot(THESIS_SAMPLES, THESIS[mode][key], "*", ms=12, color=color)
        ax_m.set(xscale="log", xlabel="training samples seen", ylabel="held-out score",
                 title=f"{label}: {record['molecules']:,} molecules, {record['hours']:.1f} h "
                       "(dashed: targets, ★: thesis)")  # fmt: skip
        ax_m.legend(fontsize=8, loc="lower right")
        ax_l.plot(seen, [p["val_loss"] for p in curve], "s-", ms=3, color="C3",
                  label="afmkit validation")  # fmt: skip
        if "test_loss" in THESIS[mode]:
            ax_l.plot(THESIS_SAMPLES, THESIS[mode]["test_loss"], "*", ms=12, color="k",
                      label="thesis test loss")  # fmt: skip
        ax_l.set(xscale="log", yscale="log", xlabel="training samples seen", ylabel="loss",
                 title=f"{label}: loss")  # fmt: skip
        ax_l.legend(fontsize=8)
        for ax in (ax_m, ax_l):
            ax.grid(alpha=0.3, which="both")
    if png_path is not None:
        with atomic_path(Path(png_path)) as tmp:
            fig.savefig(tmp, dpi=90)
    return fig


def shipped_training_figure(name: str) -> Any:
    """How a shipped model was trained, as a figure.

    Weights from a training campaign (:mod:`afmkit.learn.campaign`) show their learning curve
    (:func:`learning_curve_figure`); older weights their per-epoch log (``<name>.log.csv``).

    Parameters
    ----------
    name : str
        A shipped model, e.g. "dsh-light".

    Returns
    -------
    NotebookFigure or plotly.graph_objects.Figure
        The learning curve, or the loss curves of the per-epoch log.

    Raises
    ------
    FileNotFoundError
        If the model has neither a campaign record nor a log.
    """
    from afmkit.learn.campaign import shipped_records
    from afmkit.learn.models import WEIGHTS_DIR

    records = shipped_records([name])
    if records:
        return learning_curve_figure(records)
    path = WEIGHTS_DIR / f"{name}.log.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{name} has no campaign record and no training log ({path})")
    title = f"shipped {name}: training log (per epoch)"
    return loss_figure(history_from_csv(path), title=title, per_output=True)
