"""Sphinx configuration of the course site (``make book``; see ``book/site.py``).

The sources are staged by ``python -m book`` into ``build/book/src``: ``index.md`` (from this
folder), ``syllabus.md`` (``notebooks/README.md``) and the executed notebooks, whose widget and
plotly outputs are already static HTML. MyST-NB reads them without executing anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

project = "afmkit course"
author = "afmkit developers"
copyright = "afmkit developers"
html_title = "afmkit: machine learning for AFM images"

extensions = ["myst_nb"]
exclude_patterns = ["**.ipynb_checkpoints"]

# --- MyST and MyST-NB ------------------------------------------------------------------------
nb_execution_mode = "off"  # the notebooks arrive executed (build/executed)
nb_ipywidgets_js = {}  # widget outputs are static snapshots; no widget JavaScript from a CDN
nb_merge_streams = True  # one stdout block per cell, not one per print
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 3  # the syllabus links to its own sections (#references, ...)
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]  # mermaid blocks

# --- HTML ------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,  # the executed .ipynb of each page
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
}
html_static_path = ["_static"]
html_css_files = ["afmkit-book.css"]

#: plotly.js from the installed plotly package, copied into the site's _static/ (no CDN).
PLOTLY_JS = "plotly.min.js"


def _plotly_source() -> Path | None:
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    return path if path.is_file() else None


def _add_plotly_js(app, pagename, templatename, context, doctree) -> None:
    """Load plotly.js on the pages that draw plotly figures (``Plotly.newPlot`` in the body)."""
    if "Plotly.newPlot" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)


def _copy_plotly_js(app, exception) -> None:
    """Copy plotly.js next to the site's other static files once the build has finished."""
    source = _plotly_source()
    if exception is None and source is not None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / PLOTLY_JS
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def setup(app) -> dict:
    """Register the plotly.js hooks.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The Sphinx application.

    Returns
    -------
    dict
        Extension metadata.
    """
    app.connect("html-page-context", _add_plotly_js)
    app.connect("build-finished", _copy_plotly_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
