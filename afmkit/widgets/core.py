"""Building blocks shared by every widget panel: labelled sliders, debouncing, PNG previews.

A panel is a :class:`Panel`: a dict of named controls, a ``render`` function that turns the
control values into outputs, and a status line with the time the last render took. Sliders use
``continuous_update=False`` and every change goes through a :class:`Debouncer`, so dragging a
slider re-renders once, after the user lets go.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as w
import numpy as np

__all__ = [
    "DEBOUNCE_S",
    "BackgroundJob",
    "ControlPanel",
    "Debouncer",
    "Panel",
    "array_png",
    "dropdown",
    "figure_png",
    "image_widget",
    "int_slider",
    "slider",
    "topview_png",
]

#: Seconds a panel waits after the last change before it re-renders.
DEBOUNCE_S = 0.15

_STYLE = {"description_width": "initial"}
_LAYOUT = {"width": "360px"}


def slider(
    label: str,
    value: float,
    min: float,  # noqa: A002 - mirrors ipywidgets
    max: float,  # noqa: A002
    step: float,
    unit: str = "",
    readout_format: str = ".2f",
    tooltip: str = "",
) -> w.FloatSlider:
    """A float slider whose label carries its unit, e.g. ``"k_lat (N/m)"``; updates on release.

    Parameters
    ----------
    label
        Name of the quantity.
    value, min, max, step
        Initial value, range and step, in ``unit``.
    unit
        Unit shown in brackets after the label (none when empty).
    readout_format
        Format of the number beside the slider.
    tooltip
        Hover text (default the label with its unit).

    Returns
    -------
    ipywidgets.FloatSlider
        The slider (``continuous_update=False``).
    """
    description = f"{label} ({unit})" if unit else label
    return w.FloatSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        readout_format=readout_format,
        continuous_update=False,
        style=_STYLE,
        layout=_LAYOUT,
        tooltip=tooltip or description,
    )


def int_slider(
    label: str, value: int, min: int, max: int, step: int = 1, unit: str = ""  # noqa: A002
) -> w.IntSlider:
    """An integer slider with a unit in its label; updates on release.

    Parameters
    ----------
    label
        Name of the quantity.
    value, min, max, step
        Initial value, range and step.
    unit
        Unit shown in brackets after the label (none when empty).

    Returns
    -------
    ipywidgets.IntSlider
        The slider (``continuous_update=False``).
    """
    description = f"{label} ({unit})" if unit else label
    return w.IntSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=False,
        style=_STYLE,
        layout=_LAYOUT,
    )


def dropdown(label: str, options: Any, value: Any = None) -> w.Dropdown:
    """A labelled drop-down menu.

    Parameters
    ----------
    label
        Description shown beside the menu.
    options
        Options as for :class:`ipywidgets.Dropdown` (labels, or ``(label, value)`` pairs).
    value
        Initial value (default the first option).

    Returns
    -------
    ipywidgets.Dropdown
        The menu.
    """
    drop = w.Dropdown(options=options, description=label, style=_STYLE, layout=_LAYOUT)
    if value is not None:
        drop.value = value
    return drop


def array_png(
    image: np.ndarray,
    cmap: str = "gray",
    vmin: float | None = None,
    vmax: float | None = None,
    origin: str = "lower",
) -> bytes:
    """PNG bytes of a 2-D array ``(ny, nx)`` with a colour map, one array pixel per image pixel.

    Used by previews, where a Matplotlib figure would cost ~100 ms per redraw.

    Parameters
    ----------
    image
        (ny, nx) array; NaNs are drawn transparent.
    cmap
        Matplotlib colour map name.
    vmin, vmax
        Colour range (default the array's range).
    origin
        ``"lower"`` puts row 0 at the bottom (y up, as in every afmkit image).

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    ValueError
        For an array that is not 2-D.
    """
    import matplotlib.pyplot as plt

    array = np.asarray(image, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"array_png needs a 2-D array, got shape {array.shape}")
    if origin == "lower":
        array = array[::-1]
    buffer = io.BytesIO()
    plt.imsave(buffer, array, cmap=cmap, vmin=vmin, vmax=vmax, format="png")
    return buffer.getvalue()


def figure_png(fig: Any, dpi: int = 80) -> bytes:
    """PNG bytes of a Matplotlib figure (for an :class:`ipywidgets.Image`).

    Parameters
    ----------
    fig
        The figure.
    dpi
        Resolution, dots per inch.

    Returns
    -------
    bytes
        The PNG file.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def topview_png(
    mol: Any,
    extent: tuple[float, float, float, float],
    title: str | None = None,
    legend: bool = True,
    size_in: float = 4.0,
) -> bytes:
    """PNG of :func:`afmkit.plotting.figures.plot_molecule_topview` over a scan window.

    Parameters
    ----------
    mol
        The molecule (positions in Å).
    extent
        ``(x0, x1, y0, y1)`` of the window, Å.
    title
        Axes title.
    legend
        Draw the element legend.
    size_in
        Figure size (square), inches.

    Returns
    -------
    bytes
        The PNG file.
    """
    from matplotlib.figure import Figure

    from afmkit.plotting.figures import plot_molecule_topview

    fig = Figure(figsize=(size_in, size_in), layout="constrained")
    plot_molecule_topview(mol, fig.subplots(), extent=extent, title=title, legend=legend)
    return figure_png(fig)


def image_widget(width_px: int = 256) -> w.Image:
    """An empty PNG image widget, scaled to ``width_px`` on screen (pixelated, no smoothing).

    Parameters
    ----------
    width_px
        Width and height on screen, pixels.

    Returns
    -------
    ipywidgets.Image
        The image widget.
    """
    return w.Image(
        format="png",
        layout=w.Layout(width=f"{width_px}px", height=f"{width_px}px"),
    )


class Debouncer:
    """Call ``func`` once, ``delay_s`` after the last :meth:`trigger`.

    Inside a Jupyter kernel (a running asyncio loop) calls are delayed and merged; outside one
    (tests, scripts) ``trigger`` calls ``func`` at once, so panels stay testable.

    Parameters
    ----------
    func
        The function to call (no arguments).
    delay_s
        Delay after the last trigger, seconds (0 calls at once).
    """

    def __init__(self, func: Callable[[], Any], delay_s: float = DEBOUNCE_S) -> None:
        self.func = func
        self.delay_s = delay_s
        self._handle: asyncio.TimerHandle | None = None

    def trigger(self, *_: Any) -> None:
        """Schedule a call (cancelling any pending one).

        Parameters
        ----------
        *_
            Observer arguments (a traitlets change), ignored.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.delay_s <= 0:
            self.func()
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_later(self.delay_s, self.func)


class BackgroundJob:
    """Run one long function at a time in a background thread, keeping its result or error.

    Panels whose work takes seconds to hours (training, matching) start it here, so the notebook
    stays usable and the panel's widgets keep updating while it runs.

    Parameters
    ----------
    name
        Thread name (shows in debuggers and error messages).

    Attributes
    ----------
    result : Any
        What the last finished function returned (None while running or after an error).
    error : BaseException or None
        The exception the last function raised, if any.
    seconds : float
        Wall time of the last finished function, s.
    """

    def __init__(self, name: str = "afmkit-job") -> None:
        self.name = name
        self.result: Any = None
        self.error: BaseException | None = None
        self.seconds = float("nan")
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether a function is running now."""
        return self._thread is not None and self._thread.is_alive()

    def start(
        self, func: Callable[[], Any], on_done: Callable[[BackgroundJob], Any] | None = None
    ) -> bool:
        """Start ``func()`` in a daemon thread unless one is running.

        Parameters
        ----------
        func
            The work (no arguments).
        on_done
            Called with this job in the worker thread once ``func`` has returned or raised.

        Returns
        -------
        bool
            False (and nothing started) if a function is still running.
        """
        if self.running:
            return False
        self.result, self.error = None, None

        def work() -> None:
            start = time.perf_counter()
            try:
                self.result = func()
            except BaseException as exc:  # kept for the panel to show; the thread ends quietly
                self.error = exc
            self.seconds = time.perf_counter() - start
            if on_done is not None:
                on_done(self)

        self._thread = threading.Thread(target=work, name=self.name, daemon=True)
        self._thread.start()
        return True

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the running function (at most ``timeout_s`` seconds).

        Parameters
        ----------
        timeout_s
            Longest wait, s (None: until it ends).

        Returns
        -------
        bool
            True when nothing is running any more.
        """
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running


class ControlPanel:
    """What every panel shares: named controls, read and set as a user would, and a widget.

    Subclasses set ``self.controls`` (name → widget with a ``value``) and ``self.widget``.
    """

    controls: dict[str, w.Widget]
    widget: w.Widget

    def values(self) -> dict[str, Any]:
        """Current control values, by name.

        Returns
        -------
        dict
            Control name → value.
        """
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Set control values as a user would (a :class:`Panel` then re-renders, debounced).

        Parameters
        ----------
        **values
            Control name → new value.

        Raises
        ------
        KeyError
            For a name that is not a control of this panel.
        """
        unknown = set(values) - set(self.controls)
        if unknown:
            known = sorted(self.controls)
            raise KeyError(f"unknown controls {sorted(unknown)}; this panel has {known}")
        for name, value in values.items():
            self.controls[name].value = value

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class Panel(ControlPanel):
    """Named controls + a render function + outputs, displayed as one widget.

    Parameters
    ----------
    controls
        Name → widget with a ``value`` (sliders, drop-downs, check boxes).
    render
        Called with ``{name: value}``; updates the panel's outputs itself.
    outputs
        Widgets shown beside the controls (images, plots, text).
    title
        Shown in bold above the panel.
    debounce_s
        Delay before re-rendering after a change, seconds (see :class:`Debouncer`).

    Attributes
    ----------
    widget : ipywidgets.Widget
        The widget to display (``display(panel)`` also works).
    last_render_s : float
        Wall time of the last render, seconds.
    renders : int
        How many times the panel has rendered.
    """

    def __init__(
        self,
        controls: Mapping[str, w.Widget],
        render: Callable[[dict[str, Any]], Any],
        outputs: list[w.Widget] | tuple[w.Widget, ...] = (),
        title: str = "",
        debounce_s: float = DEBOUNCE_S,
    ) -> None:
        self.controls = dict(controls)
        self._render = render
        self.outputs = list(outputs)
        self.status = w.HTML(value="")
        self.last_render_s = float("nan")
        self.renders = 0
        self._debouncer = Debouncer(self.refresh, debounce_s)
        for control in self.controls.values():
            control.observe(self._debouncer.trigger, names="value")
        header = [w.HTML(f"<b>{title}</b>")] if title else []
        left = w.VBox([*self.controls.values(), self.status], layout={"min_width": "380px"})
        right = w.VBox(self.outputs)
        self.widget = w.VBox([*header, w.HBox([left, right])])
        self.widget.add_class("afmkit-panel")

    def refresh(self) -> None:
        """Render now with the current values and update the status line."""
        start = time.perf_counter()
        try:
            self._render(self.values())
        except Exception as exc:  # shown in the panel, not lost in the kernel log
            self.status.value = f"<span style='color:#b00'>{type(exc).__name__}: {exc}</span>"
            raise
        self.last_render_s = time.perf_counter() - start
        self.renders += 1
        self.status.value = f"<small>rendered in {1000 * self.last_render_s:.0f} ms</small>"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.renders == 0:
            self.refresh()
        display(self.widget)
