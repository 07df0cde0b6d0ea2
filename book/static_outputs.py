"""Outputs that a static page cannot show as they are, turned into plain HTML.

An executed notebook shows ipywidgets panels as ``application/vnd.jupyter.widget-view+json``
outputs, which need a live kernel (or JavaScript from a CDN), and plotly figures as
``application/vnd.plotly.v1+json``, which Sphinx does not render. :func:`static_notebook` replaces
both with ``text/html``:

* a widget view becomes a **static snapshot** drawn from the widget state that nbclient stored in
  the notebook's metadata (``store_widget_state=True``): the panel's images (``Image`` widgets),
  its HTML lines, its plotly ``FigureWidget`` figures, the outputs of ``Output`` widgets, and
  each control as "description: value"; a 3D view (nglview) becomes a short note. A snapshot
  with anything interactive in it is framed and says it is a snapshot; a progress bar (tqdm)
  or a line of HTML is just shown. A widget whose state is missing becomes a note too, never
  "Error displaying widget";
* a plotly figure becomes a ``<div>`` drawn by plotly.js (``Plotly.newPlot``); the site loads
  plotly.js from its own ``_static/`` (see ``book/conf.py``), so no CDN is needed.

The widget state itself is dropped from the staged copy, so MyST-NB adds no widget JavaScript.
"""

from __future__ import annotations

import base64
import copy
import html
from collections.abc import Mapping
from typing import Any

import nbformat

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PLOTLY = "application/vnd.plotly.v1+json"
#: CSS class of a snapshot with controls (styled by ``book/_static/afmkit-book.css``); one
#: without (a progress bar) is an ``afmkit-static-output``.
SNAPSHOT_CLASS = "afmkit-static-widget"
SNAPSHOT_NOTE = (
    "Static snapshot of an interactive panel: run the notebook in JupyterLab to use its controls."
)

_REF = "IPY_MODEL_"
_BOXES = {"BoxModel", "VBoxModel"}
_SELECTIONS = {
    "DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel",
    "SelectionSliderModel",
}  # fmt: skip
_MULTI_SELECTIONS = {"SelectMultipleModel", "SelectionRangeSliderModel"}
_TEXTS = {
    "TextModel", "IntTextModel", "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel",
    "ComboboxModel", "PasswordModel", "DatePickerModel", "ColorPickerModel",
}  # fmt: skip
#: Layout traits copied to the snapshot's CSS, and their CSS names where they differ.
_SIZE_KEYS = ("width", "height", "min_width", "max_width", "margin")
_CSS_NAMES = {"grid_gap": "gap"}
_SILENT = {"PlayModel", "LinkModel", "DirectionalLinkModel", "ControllerModel"}


# ---------------------------------------------------------------------------------------------
# widget state
# ---------------------------------------------------------------------------------------------
def widget_states(nb: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    """Each widget model's state, binary buffers put back in place, by model id.

    Parameters
    ----------
    nb
        An executed notebook; its ``metadata.widgets`` holds the state nbclient stored.

    Returns
    -------
    dict
        Model id → ``{"model_name", "model_module", "state"}`` with every buffer (base64 in the
        notebook) decoded to ``bytes`` at its path in ``state``. Empty without stored state.
    """
    stored = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    states = {}
    for model_id, entry in stored.items():
        state = copy.deepcopy(dict(entry.get("state", {})))
        for buffer in entry.get("buffers", []):
            _put(state, buffer.get("path", []), _decode(buffer))
        states[model_id] = {
            "model_name": entry.get("model_name") or state.get("_model_name", ""),
            "model_module": entry.get("model_module") or state.get("_model_module", ""),
            "state": state,
        }
    return states


def _decode(buffer: Mapping[str, Any]) -> bytes:
    data = buffer.get("data", "")
    if buffer.get("encoding", "base64") == "base64":
        return base64.b64decode(data)
    return data.encode() if isinstance(data, str) else bytes(data)


def _put(state: Any, path: list, value: Any) -> None:
    """Set ``state[path[0]][path[1]]… = value`` (keys or list indexes); ignore a bad path."""
    target = state
    try:
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass


# ---------------------------------------------------------------------------------------------
# widget → HTML
# ---------------------------------------------------------------------------------------------
class _Renderer:
    """Draws one widget view (and its children) as static HTML from the stored states."""

    def __init__(self, states: Mapping[str, dict[str, Any]]) -> None:
        self.states = states
        self.plotly_figures = 0
        #: Whether a part of the widget is interactive (controls, plotly, 3D): the snapshot
        #: then says so; a progress bar or an HTML line is just shown.
        self.interactive = False

    def model(self, ref: Any) -> dict[str, Any] | None:
        if isinstance(ref, str):
            return self.states.get(ref.removeprefix(_REF))
        return None

    def layout(self, state: Mapping[str, Any]) -> dict[str, Any]:
        entry = self.model(state.get("layout"))
        return entry["state"] if entry else {}

    def style_attr(self, state: Mapping[str, Any], keys=_SIZE_KEYS) -> str:
        """The widget's layout (sizes, margins, grid) as an HTML ``style`` attribute."""
        layout = self.layout(state)
        styles = [
            f"{_CSS_NAMES.get(k, k.replace('_', '-'))}: {layout[k]}"
            for k in keys
            if isinstance(layout.get(k), str) and layout[k]
        ]
        return f' style="{html.escape("; ".join(styles))}"' if styles else ""

    def classes(self, state: Mapping[str, Any], *extra: str) -> str:
        names = [*extra, *(str(c) for c in state.get("_dom_classes") or [])]
        return html.escape(" ".join(names))

    def hidden(self, state: Mapping[str, Any]) -> bool:
        layout = self.layout(state)
        return layout.get("display") == "none" or layout.get("visibility") == "hidden"

    def render(self, ref: Any, depth: int = 0) -> str:
        entry = self.model(ref)
        if entry is None or depth > 40:
            return ""
        name, module, state = entry["model_name"], entry["model_module"], entry["state"]
        if self.hidden(state):
            return ""
        if module == "nglview-js-widgets":
            if name == "NGLModel":
                self.interactive = True
                return _note("3D molecule view (nglview): interactive in JupyterLab only.")
            return ""
        if name == "AnyModel" and str(state.get("_anywidget_id", "")).startswith("plotly."):
            return self.plotly_widget(state)
        if name in _BOXES or name == "HBoxModel":
            kind = "afmkit-w-hbox" if name == "HBoxModel" else "afmkit-w-vbox"
            children = "".join(self.render(c, depth + 1) for c in state.get("children", []))
            style = self.style_attr(state)
            return f'<div class="{self.classes(state, kind)}"{style}>{children}</div>'
        if name == "GridBoxModel":
            children = "".join(self.render(c, depth + 1) for c in state.get("children", []))
            grid = self.style_attr(state, (*_SIZE_KEYS, "grid_template_columns", "grid_gap"))
            return f'<div class="{self.classes(state, "afmkit-w-grid")}"{grid}>{children}</div>'
        if name in {"AccordionModel", "TabModel", "StackModel"}:
            titles = list(state.get("titles") or [])
            parts = []
            for k, child in enumerate(state.get("children", [])):
                title = titles[k] if k < len(titles) and titles[k] else ""
                head = f'<div class="afmkit-w-title">{html.escape(title)}</div>' if title else ""
                parts.append(f"<div>{head}{self.render(child, depth + 1)}</div>")
            return f'<div class="afmkit-w-vbox">{"".join(parts)}</div>'
        if name in {"HTMLModel", "HTMLMathModel"}:
            label, style = _description(state), self.style_attr(state)
            return f'<div class="afmkit-w-html"{style}>{label}{state.get("value") or ""}</div>'
        if name == "LabelModel":
            text, style = html.escape(str(state.get("value", ""))), self.style_attr(state)
            return f'<div class="afmkit-w-html"{style}>{text}</div>'
        if name == "ImageModel":
            return self.image(state)
        if name == "OutputModel":
            return "".join(output_html(o) for o in state.get("outputs", []))
        if name in _SILENT or module.startswith("@jupyter-widgets/base"):
            return ""
        if name in {"FloatProgressModel", "IntProgressModel"}:
            value, top = state.get("value", 0), state.get("max", 100)
            return f'<progress class="afmkit-w-progress" value="{value}" max="{top}"></progress>'
        self.interactive = True
        if module.startswith("@jupyter-widgets/controls"):
            return self.control(name, state)
        return _note(f"Interactive widget ({html.escape(name)}): shown in JupyterLab only.")

    def image(self, state: Mapping[str, Any]) -> str:
        value = state.get("value")
        fmt = str(state.get("format") or "png")
        if isinstance(value, (bytes, bytearray)) and value:
            if fmt == "url":
                src = value.decode(errors="replace")
            else:
                mime = "svg+xml" if fmt == "svg" else fmt
                src = f"data:image/{mime};base64,{base64.b64encode(value).decode()}"
            return (
                f'<img class="afmkit-w-image" src="{html.escape(src)}" alt="panel image"'
                f"{self.style_attr(state)}>"
            )
        return ""

    def control(self, name: str, state: Mapping[str, Any]) -> str:
        value = state.get("value")
        if name in _SELECTIONS:
            value = _label(state, state.get("index"))
        elif name in _MULTI_SELECTIONS:
            value = " – ".join(_label(state, i) for i in state.get("index") or [])
        elif name in {"CheckboxModel", "ToggleButtonModel", "ValidModel"}:
            mark = "☑" if value else "☐"
            return f'<div class="afmkit-w-control">{mark} {_description(state, colon=False)}</div>'
        elif name == "ButtonModel":
            text = html.escape(str(state.get("description", "")))
            button = f'<span class="afmkit-w-button">{text}</span>'
            return f'<div class="afmkit-w-control">{button}</div>'
        elif name == "TextareaModel":
            body = html.escape(str(value or ""))
            return f'<div class="afmkit-w-control">{_description(state)}<pre>{body}</pre></div>'
        elif "Slider" in name or "Progress" in name or name in _TEXTS:
            value = _formatted(value, state.get("readout_format"))
        text = html.escape(str(value)) if value is not None else "—"
        return (
            f'<div class="afmkit-w-control">{_description(state)}'
            f'<span class="afmkit-w-value">{text}</span></div>'
        )

    def plotly_widget(self, state: Mapping[str, Any]) -> str:
        self.interactive = True
        data = _plotly_arrays(state.get("_widget_data") or [])
        layout = _plotly_arrays(state.get("_widget_layout") or {})
        self.plotly_figures += 1
        return plotly_html({"data": data, "layout": layout})


def _note(text: str) -> str:
    return f'<div class="afmkit-w-placeholder">{text}</div>'


def _description(state: Mapping[str, Any], colon: bool = True) -> str:
    text = str(state.get("description") or "")
    if not text:
        return ""
    if not state.get("description_allow_html"):
        text = html.escape(text)
    return f'<span class="afmkit-w-label">{text}{":" if colon else ""}</span> '


def _label(state: Mapping[str, Any], index: Any) -> str:
    labels = list(state.get("_options_labels") or [])
    if isinstance(index, int) and 0 <= index < len(labels):
        return str(labels[index])
    return "—"


def _formatted(value: Any, fmt: Any) -> Any:
    """``value`` in the widget's readout format (d3 formats like ``.2f`` mostly match Python's)."""
    if isinstance(value, (list, tuple)):
        return " – ".join(str(_formatted(v, fmt)) for v in value)
    if isinstance(fmt, str) and fmt and isinstance(value, (int, float)):
        try:
            return format(value, fmt)
        except (ValueError, TypeError):
            pass
    return value


def _plotly_arrays(value: Any) -> Any:
    """Plotly's widget serialisation (``{"buffer", "dtype", "shape"}``) back to lists."""
    import numpy as np

    if isinstance(value, dict):
        if isinstance(value.get("buffer"), (bytes, bytearray)) and "dtype" in value:
            array = np.frombuffer(value["buffer"], dtype=value["dtype"])
            return array.reshape(value.get("shape") or array.shape).tolist()
        return {k: _plotly_arrays(v) for k, v in value.items() if v != "_undefined_"}
    if isinstance(value, list):
        return [_plotly_arrays(v) for v in value]
    return value


def widget_html(model_id: str, states: Mapping[str, dict[str, Any]]) -> str:
    """A static snapshot of one displayed widget (framed and with a note when interactive).

    Parameters
    ----------
    model_id
        The id in the output's ``application/vnd.jupyter.widget-view+json`` data.
    states
        The notebook's widget states (:func:`widget_states`).

    Returns
    -------
    str
        HTML; empty for a widget with no visible part (e.g. nglview's colour registry). Without
        a stored state the snapshot is a note saying the panel needs a kernel.
    """
    return _snapshot(model_id, states)[0]


def _snapshot(model_id: str, states: Mapping[str, dict[str, Any]]) -> tuple[str, int]:
    """:func:`widget_html` and the number of plotly figures in it."""
    renderer = _Renderer(states)
    if model_id not in states:
        renderer.interactive = True
        body = _note("Interactive panel: run the notebook in JupyterLab to see it.")
    else:
        body = renderer.render(model_id)
        if not body:
            return "", 0
    if not renderer.interactive:  # a progress bar, a line of HTML: no frame, no note
        return f'<div class="afmkit-static-output">{body}</div>', renderer.plotly_figures
    snapshot = (
        f'<div class="{SNAPSHOT_CLASS}">{body}'
        f'<p class="afmkit-static-note">{SNAPSHOT_NOTE}</p></div>'
    )
    return snapshot, renderer.plotly_figures


# ---------------------------------------------------------------------------------------------
# plotly and other outputs
# ---------------------------------------------------------------------------------------------
def plotly_html(figure: Mapping[str, Any]) -> str:
    """A plotly figure (its JSON: ``data``, ``layout``, ``frames``) as a ``<div>`` and script.

    Parameters
    ----------
    figure
        The figure's JSON, as in a ``application/vnd.plotly.v1+json`` output.

    Returns
    -------
    str
        HTML that calls ``Plotly.newPlot``; plotly.js itself is not included.
    """
    import plotly.io as pio

    return pio.to_html(
        dict(figure), include_plotlyjs=False, full_html=False, validate=False,
        default_width="100%", config={"responsive": True, "displaylogo": False},
    )  # fmt: skip


def output_html(output: Mapping[str, Any]) -> str:
    """One notebook output (e.g. inside an ``Output`` widget) as HTML, the richest type first.

    Parameters
    ----------
    output
        An nbformat output: ``stream``, ``display_data``, ``execute_result`` or ``error``.

    Returns
    -------
    str
        HTML (empty for an output with nothing to show).
    """
    kind = output.get("output_type")
    if kind == "stream":
        return f'<pre class="afmkit-w-stream">{html.escape(_text(output.get("text")))}</pre>'
    if kind == "error":
        text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        return f'<pre class="afmkit-w-stream">{html.escape(text)}</pre>'
    data = output.get("data", {})
    if PLOTLY in data:
        return plotly_html(data[PLOTLY])
    if "text/html" in data:
        return _text(data["text/html"])
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            src = f"data:{mime};base64,{_text(data[mime]).strip()}"
            return f'<img class="afmkit-w-image" src="{src}" alt="output image">'
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    if "text/plain" in data:
        return f'<pre class="afmkit-w-stream">{html.escape(_text(data["text/plain"]))}</pre>'
    return ""


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


# ---------------------------------------------------------------------------------------------
# the notebook
# ---------------------------------------------------------------------------------------------
def static_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, dict[str, int]]:
    """A copy of an executed notebook whose widget and plotly outputs are plain HTML.

    Parameters
    ----------
    nb
        The executed notebook (not changed).

    Returns
    -------
    (NotebookNode, dict)
        The copy, without ``metadata.widgets``, and counts: ``widgets`` (snapshots made),
        ``widgets_without_state`` (of those, the ones drawn as a note only), ``plotly``
        (plotly figures, in outputs and inside widgets).
    """
    nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
    states = widget_states(nb)
    counts = {"widgets": 0, "widgets_without_state": 0, "plotly": 0}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                model_id = str(data[WIDGET_VIEW].get("model_id", ""))
                snapshot, n_plotly = _snapshot(model_id, states)
                counts["widgets"] += 1
                counts["widgets_without_state"] += model_id not in states
                counts["plotly"] += n_plotly
                if not snapshot:
                    continue  # nothing visible (a helper widget)
                output.data = nbformat.from_dict({"text/html": snapshot})
            elif PLOTLY in data:
                output.data = nbformat.from_dict({"text/html": plotly_html(data[PLOTLY])})
                counts["plotly"] += 1
            outputs.append(output)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb, counts
