"""Executed copies of the course notebooks: written once, reused by the course site.

The notebook test (``tests/notebooks/test_notebooks.py``) executes every notebook in quick mode
anyway; with ``AFMKIT_EXECUTED_DIR`` set (``make test`` sets ``build/executed``) it saves each
executed notebook there through :func:`save_executed`. The site build (:mod:`book.site`) reuses
a copy while :func:`is_fresh` says so and otherwise executes the notebook itself with
:func:`execute`, in the same way.

A copy keeps every output and the widget state that nbclient recorded
(``store_widget_state=True``), and drops the cells the executor added: the exercise solutions of
the notebook test and the :data:`SNAPSHOT_TAG` cell. That last cell runs after the notebook and
hands each plotly ``FigureWidget``'s current figure to the widget state (plotly sends later
changes as deltas, which a recorded state cannot replay), so the site can draw the figure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat

from afmkit.fileio import atomic_path

#: The environment variable naming the folder of executed copies (unset: none are written).
ENV_VAR = "AFMKIT_EXECUTED_DIR"
#: Matplotlib's Jupyter backend: ``plt.show()`` puts a PNG in the cell's outputs (Agg draws none).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Tag of the cell that :func:`snapshot_cell` makes; removed from saved copies.
SNAPSHOT_TAG = "afmkit-site-snapshot"
#: Where a copy records how it was made: ``metadata["afmkit_executed"] = {"quick": bool}``.
METADATA_KEY = "afmkit_executed"

_SNAPSHOT_SOURCE = '''\
# added by the course-site build (not kept): every plotly FigureWidget sends its current figure
# to the widget state, which the executor records, so the static site can draw it
def _afmkit_sync_figure_widgets():
    import sys
    basewidget = sys.modules.get("plotly.basewidget")
    registry = getattr(sys.modules.get("ipywidgets.widgets.widget"), "_instances", {})
    if basewidget is None:
        return
    for widget in list(registry.values()):
        if isinstance(widget, basewidget.BaseFigureWidget):
            try:
                widget._repr_mimebundle_()  # syncs _widget_data and _widget_layout
            except Exception:
                pass


_afmkit_sync_figure_widgets()
del _afmkit_sync_figure_widgets
'''


def snapshot_cell() -> nbformat.NotebookNode:
    """The code cell to append before executing a notebook whose copy will be saved.

    Returns
    -------
    NotebookNode
        A code cell tagged :data:`SNAPSHOT_TAG`; it never raises.
    """
    return nbformat.v4.new_code_cell(_SNAPSHOT_SOURCE, metadata={"tags": [SNAPSHOT_TAG]})


def executed_dir() -> Path | None:
    """The folder named by :data:`ENV_VAR`, or None when it is unset or empty.

    Returns
    -------
    Path or None
        The folder (not created here).
    """
    value = os.environ.get(ENV_VAR, "").strip()
    return Path(value) if value else None


def kernel_env(quick: bool) -> dict[str, str]:
    """The environment of a kernel that executes a notebook for the site.

    Parameters
    ----------
    quick
        Quick mode (``AFMKIT_QUICK=1``) or full mode.

    Returns
    -------
    dict
        This process's environment with quick mode set, matplotlib's inline backend (figures
        become PNG outputs), TensorFlow's info logs off and this interpreter's tools first on
        ``PATH``.
    """
    env = dict(os.environ)
    env.update({
        "AFMKIT_QUICK": "1" if quick else "0",
        "MPLBACKEND": INLINE_BACKEND,
        "TF_CPP_MIN_LOG_LEVEL": "2",
    })  # fmt: skip
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def strip_added_cells(
    nb: nbformat.NotebookNode, tags: Iterable[str] = ()
) -> nbformat.NotebookNode:
    """A copy of ``nb`` without the cells tagged :data:`SNAPSHOT_TAG` or any of ``tags``.

    Parameters
    ----------
    nb
        An executed notebook (not changed).
    tags
        Further tags of added cells (the notebook test's ``exercise-solution``).

    Returns
    -------
    NotebookNode
        The copy; outputs and metadata (widget state included) are kept.
    """
    drop = {SNAPSHOT_TAG, *tags}
    copy = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    copy.cells = [c for c in copy.cells if not drop & set(c.get("metadata", {}).get("tags", []))]
    return copy


def save_executed(
    nb: nbformat.NotebookNode, path: Path, quick: bool, tags: Iterable[str] = ()
) -> Path:
    """Write an executed notebook's copy atomically, without the added cells.

    Parameters
    ----------
    nb
        The executed notebook (not changed).
    path
        The copy's file; its folder is created if missing.
    quick
        Whether it ran in quick mode (recorded in the copy's metadata, checked on reuse).
    tags
        Tags of further added cells to drop (see :func:`strip_added_cells`).

    Returns
    -------
    Path
        ``path``.
    """
    copy = strip_added_cells(nb, tags)
    copy.metadata[METADATA_KEY] = {"quick": bool(quick)}
    with atomic_path(path) as tmp:
        nbformat.write(copy, tmp)
    return Path(path)


def _sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def is_fresh(copy_path: Path, source_path: Path, quick: bool) -> bool:
    """Whether an executed copy can stand for its source notebook.

    Parameters
    ----------
    copy_path
        The executed copy.
    source_path
        The notebook in ``notebooks/``.
    quick
        The mode the site is built in.

    Returns
    -------
    bool
        True when the copy exists, is not older than the source, ran in the same mode and has
        the source's cells (types and sources) in the same order.
    """
    try:
        if copy_path.stat().st_mtime < source_path.stat().st_mtime:
            return False
        copy = nbformat.read(copy_path, as_version=4)
        source = nbformat.read(source_path, as_version=4)
    except (OSError, ValueError):
        return False
    if copy.metadata.get(METADATA_KEY, {}).get("quick") != bool(quick):
        return False
    return _sources(copy) == _sources(source)


def execute(
    source_path: Path, quick: bool, timeout_s: int | None = 600
) -> nbformat.NotebookNode:
    """Execute a notebook top to bottom as the site shows it (no exercise solutions).

    Parameters
    ----------
    source_path
        The notebook; it runs with its own folder as working directory.
    quick
        Quick mode (``AFMKIT_QUICK=1``) or full mode.
    timeout_s
        Longest time one cell may run, s (None: no limit).

    Returns
    -------
    NotebookNode
        The executed notebook with its outputs and the recorded widget state, the
        :data:`SNAPSHOT_TAG` cell still in it (:func:`save_executed` drops it).

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        When a cell fails.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(source_path, as_version=4)
    nb.cells.append(snapshot_cell())
    folder = str(Path(source_path).resolve().parent)
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": folder}},
        allow_errors=False,
        store_widget_state=True,
    )
    client.execute(cwd=folder, env=kernel_env(quick))
    return nb
