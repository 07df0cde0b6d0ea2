"""Panels of notebook 12, "Your own experiment": every preparation parameter as a widget.

:func:`preparation_panel` shows a measured :class:`~afmkit.experiments.stack.ExperimentStack`
next to what :func:`~afmkit.experiments.preparation.prepare_experiment` makes of it for the
models, with a control for every preparation parameter — NaN filling, background removal, drift
correction (on/off, reference, band-pass, window, largest step, sub-pixel upsampling, how slices
are shifted), rotation by the scan angle, resampling (pad mode, window centre, anti-aliasing),
slice choice (height tolerance) and normalisation — the drift it found, and its warnings. The
prepared result of the current settings is :attr:`PreparationPanel.prepared`, ready for
:func:`afmkit.experiments.analysis.analyse_experiment`.

:func:`slice_viewer` is a slider over the slices of a stack (measured or prepared).
"""

from __future__ import annotations

import html
import warnings
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.experiments.preparation import PreparedExperiment, prepare_experiment
from afmkit.experiments.stack import ExperimentStack
from afmkit.physics.simulator import SimulationParams
from afmkit.plotting.experiments import drift_figure
from afmkit.widgets.core import (
    Panel,
    array_png,
    dropdown,
    figure_png,
    image_widget,
    int_slider,
    slider,
)

__all__ = ["PreparationPanel", "preparation_panel", "slice_viewer"]

_PAD_MODES = ("nearest", "reflect", "mirror", "median")


def slice_viewer(
    df: np.ndarray, heights: np.ndarray | None = None, title: str = "Δf slices"
) -> Panel:
    """A slider over the slices of a stack, far (0) → close.

    Parameters
    ----------
    df : numpy.ndarray
        (nx, ny, n_slices) Δf, Hz (or normalised).
    heights : numpy.ndarray, optional
        (n_slices,) height of each slice above the closest one, Å, shown with the slice.
    title : str
        Panel title.

    Returns
    -------
    Panel
        Root CSS class ``afmkit-slice-viewer``.
    """
    df = np.asarray(df, dtype=float)
    n = df.shape[2]
    image = image_widget(256)
    info = w.HTML()

    def render(v: dict[str, Any]) -> None:
        k = v["slice"]
        image.value = array_png(df[:, :, k].T, cmap="gray")
        h = f", {heights[k]:.2f} Å above the closest" if heights is not None else ""
        finite = df[:, :, k][np.isfinite(df[:, :, k])]
        span = f"{finite.min():.2f} … {finite.max():.2f}" if finite.size else "all NaN"
        info.value = f"<small>slice {k}{h}; values {span}</small>"

    panel = Panel({"slice": int_slider("slice (0 = far)", n - 1, 0, n - 1)}, render,
                  [image, info], title=title)  # fmt: skip
    panel.widget.add_class("afmkit-slice-viewer")
    return panel


class PreparationPanel(Panel):
    """A measured stack, its preparation for the models with every step as a control.

    Parameters
    ----------
    stack : ExperimentStack
        The measurement.
    params : SimulationParams, optional
        The models' geometry (default: the shipped models').

    Attributes
    ----------
    prepared : PreparedExperiment or None
        The result of the current settings (None while they fail; the status line says why).
    """

    def __init__(self, stack: ExperimentStack, params: SimulationParams | None = None) -> None:
        self.stack = stack
        self.params = params or SimulationParams()
        self.prepared: PreparedExperiment | None = None
        half = max(stack.scan_size) / 2
        controls = {
            "fill_nan": w.Checkbox(value=stack.nan_fraction > 0, description="fill NaN pixels"),
            "background": dropdown("background", [("none", None), ("plane", "plane"),
                                                  ("line by line", "line")], None),
            "drift": w.Checkbox(value=True, description="correct drift between slices"),
            "drift_reference": dropdown("register to", [("neighbour slice", "neighbour"),
                                                        ("closest slice", "closest")]),
            "drift_highpass": slider("drift high-pass", 8.0, 1.0, 32.0, 0.5, unit="px"),
            "drift_lowpass": slider("drift low-pass", 2.0, 0.0, 4.0, 0.1, unit="px"),
            "drift_window": dropdown("drift window", [("Tukey", "tukey"), ("Hann", "hann"),
                                                      ("none", None)], "tukey"),
            "drift_max_shift": slider("largest drift step (0 = any)", 0.0, 0.0, 20.0, 0.5,
                                      unit="px"),
            "drift_upsample": int_slider("drift sub-pixel upsampling", 20, 1, 50),
            "shift_method": dropdown("shift slices by", [("cubic spline", "spline"),
                                                         ("Fourier", "fourier")], "spline"),
            "rotate": w.Checkbox(value=True, description=f"turn by the scan angle "
                                 f"({stack.scan_angle:g}°)"),
            "resample": w.Checkbox(value=True, description="resample to the models' window"),
            "pad_mode": dropdown("pad mode", list(_PAD_MODES), "nearest"),
            "antialias": w.Checkbox(value=True, description="anti-alias before down-sampling"),
            "center_x": slider("window centre x", 0.0, -half, half, 0.1, unit="Å"),
            "center_y": slider("window centre y", 0.0, -half, half, 0.1, unit="Å"),
            "select_slices": w.Checkbox(value=True, description="choose the models' 10 slices"),
            "height_tolerance": slider("height tolerance", 0.01, 0.0, 0.05, 0.005, unit="Å",
                                       readout_format=".3f"),
            "normalize": w.Checkbox(value=True, description="normalise each slice"),
        }  # fmt: skip
        self.images = {key: image_widget(220) for key in ("measured", "far", "close")}
        self.drift_image = w.Image(format="png", layout={"width": "360px"})
        self.report = w.HTML()
        captions = {"measured": "measured, closest slice", "far": "prepared, farthest slice",
                    "close": "prepared, closest slice"}  # fmt: skip
        row = w.HBox([w.VBox([w.HTML(f"<small>{captions[k]}</small>"), img])
                      for k, img in self.images.items()])  # fmt: skip
        super().__init__(controls, self._render_prepared, [row, self.drift_image, self.report],
                         title="Prepare the measurement for the models")  # fmt: skip
        self.widget.add_class("afmkit-preparation-panel")

    def options(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``prepare_experiment`` keyword arguments of the controls.

        Parameters
        ----------
        values : dict, optional
            Control values (default: the current ones).

        Returns
        -------
        dict
            Keyword arguments of :func:`~afmkit.experiments.preparation.prepare_experiment`.
        """
        v = dict(values or self.values())
        cx, cy = v.pop("center_x"), v.pop("center_y")
        sx, sy = self.stack.scan_center
        v["center"] = (sx + cx, sy + cy)
        if v["drift_lowpass"] <= 0:
            v["drift_lowpass"] = None
        if v["drift_max_shift"] <= 0:
            v["drift_max_shift"] = None
        return v

    def _render_prepared(self, values: dict[str, Any]) -> None:
        df = self.stack.df
        self.images["measured"].value = array_png(np.nan_to_num(df[:, :, -1]).T, cmap="gray")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kept in prepared.warnings and shown below
            try:
                prepared = prepare_experiment(self.stack, self.params, **self.options(values))
            except ValueError as exc:
                self.prepared = None
                self.report.value = (f"<span style='color:#b00'>cannot prepare: "
                                     f"{html.escape(str(exc))}</span>")  # fmt: skip
                return
        self.prepared = prepared
        self.images["far"].value = array_png(prepared.X[:, :, 0].T, cmap="gray")
        self.images["close"].value = array_png(prepared.X[:, :, -1].T, cmap="gray")
        if prepared.shifts_angstrom is not None:
            fig = drift_figure(prepared.shifts_angstrom, self.stack.heights)
            self.drift_image.value = figure_png(fig)
            self.drift_image.layout.display = None
        else:
            self.drift_image.layout.display = "none"
        lines = [html.escape(line) for line in prepared.summary().splitlines()]
        self.report.value = "<pre style='font-size:11px'>" + "\n".join(lines) + "</pre>"


def preparation_panel(
    stack: ExperimentStack, params: SimulationParams | None = None
) -> PreparationPanel:
    """A :class:`PreparationPanel`: every preparation step of a measurement as a control.

    Parameters
    ----------
    stack : ExperimentStack
        The measurement (from :func:`afmkit.experiments.readers.read_experiment`).
    params : SimulationParams, optional
        The models' geometry.

    Returns
    -------
    PreparationPanel
        Display it; ``panel.prepared`` holds the result of the current settings.
    """
    return PreparationPanel(stack, params)
