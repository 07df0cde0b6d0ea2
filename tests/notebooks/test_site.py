"""The course site (``make book``): every notebook as an executed page, figures, search.

The module builds the site once, in quick mode, into a temporary folder with
``python -m book`` (:mod:`book.site`). It reuses the executed notebooks that
``test_notebooks.py`` saved in ``AFMKIT_EXECUTED_DIR`` (``make test`` sets ``build/executed``;
this file runs after it) and executes only the missing or stale ones. Then:

* every numbered notebook has a page, linked from the index, and the syllabus has one;
* the pages show their figures: each PNG output is an ``<img>`` whose file is a PNG, and each
  plotly figure comes with the site's own plotly.js;
* widget panels are static snapshots (no "Error displaying widget", no widget JavaScript);
* there is a search page, a search index and a search box on every page;
* in Chromium (Debian's ``/usr/bin/chromium`` through Playwright, as in ``test_browser.py``),
  a notebook page served over HTTP shows a loaded figure and a drawn plotly figure, and the
  search page finds "camphor". Without Chromium that test skips, or fails under
  ``AFMKIT_REQUIRE_BROWSER=1`` (``make test``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = os.environ.get("AFMKIT_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("AFMKIT_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}
#: Longest site build, s: Sphinx alone takes well under a minute; executing all thirteen
#: notebooks (no executed copies at all) a few minutes on two cores.
BUILD_S = 20 * 60
#: The page opened in the browser: matplotlib figures and plotly figures.
BROWSER_PAGE = "00_tour.html"
#: What a widget that failed to render shows, or the JavaScript a live widget would need.
WIDGET_FAILURES = (
    "Error displaying widget",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
    "@jupyter-widgets/html-manager",
)

pytestmark = pytest.mark.slow

_IMG = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]+)\"", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build the site once (quick mode) and return its folders and build report."""
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "book", "--quick", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_S,
    )
    seconds = time.perf_counter() - start
    log = result.stdout[-6000:] + "\n" + result.stderr[-6000:]
    assert result.returncode == 0, f"python -m book failed ({result.returncode}):\n{log}"
    report = json.loads((out / "build-report.json").read_text())
    report["wall_s"] = round(seconds, 1)
    return {"html": out / "html", "src": out / "src", "report": report, "log": log}


def _page(site: dict, name: str) -> str:
    return (site["html"] / name).read_text(encoding="utf-8")


def _png_outputs(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def test_every_notebook_has_a_page(site, capsys: pytest.CaptureFixture):
    report = site["report"]
    with capsys.disabled():
        print(
            f"\n  [course site built in {report['wall_s']:.0f} s ({report['seconds']}); "
            f"notebooks executed for it: {', '.join(report['executed']) or 'none'}]",
            end="",
        )
    assert NOTEBOOKS, "no numbered notebooks"
    index = _page(site, "index.html")
    missing = [p.stem for p in NOTEBOOKS if not (site["html"] / f"{p.stem}.html").is_file()]
    assert not missing, f"no page for {missing}"
    unlinked = [p.stem for p in NOTEBOOKS if f'href="{p.stem}.html"' not in index]
    assert not unlinked, f"index.html does not link {unlinked}"
    assert (site["html"] / "syllabus.html").is_file()
    assert 'href="syllabus.html"' in index
    # the syllabus's links to notebooks became links to their pages
    assert 'href="00_tour.html"' in _page(site, "syllabus.html")


def test_pages_show_their_figures(site):
    problems = []
    for path in NOTEBOOKS:
        page = _page(site, f"{path.stem}.html")
        staged = nbformat.read(site["src"] / path.name, as_version=4)
        files, inline = [], 0
        for src in _IMG.findall(page):
            if src.startswith("data:image/png;base64,"):
                inline += 1
            elif src.startswith("_images/") and src.endswith(".png"):
                files.append(src)
        for src in files:
            data = (site["html"] / src).read_bytes()[:8]
            if data != b"\x89PNG\r\n\x1a\n":
                problems.append(f"{path.stem}: {src} is not a PNG file")
        want = _png_outputs(staged)
        if len(files) < want:
            problems.append(f"{path.stem}: {len(files)} figure files for {want} PNG outputs")
        if not files and not inline and "Plotly.newPlot" not in page:
            problems.append(f"{path.stem}: no figure at all")
    assert not problems, "\n".join(problems)
    total = sum(
        len(_IMG.findall(_page(site, f"{p.stem}.html"))) for p in NOTEBOOKS
    )  # fmt: skip
    assert total >= len(NOTEBOOKS), f"only {total} images on {len(NOTEBOOKS)} pages"


def test_plotly_figures_load_the_sites_plotly_js(site):
    plotly_pages = [p.stem for p in NOTEBOOKS if "Plotly.newPlot" in _page(site, f"{p.stem}.html")]
    assert plotly_pages, "no page draws a plotly figure (notebook 00 shows two)"
    for stem in plotly_pages:
        assert 'src="_static/plotly.min.js"' in _page(site, f"{stem}.html"), stem
    js = site["html"] / "_static" / "plotly.min.js"
    assert js.is_file() and js.stat().st_size > 1_000_000


def test_widgets_are_static_snapshots(site):
    counts = site["report"]["counts"]
    problems = []
    for path in NOTEBOOKS:
        page = _page(site, f"{path.stem}.html")
        problems += [f"{path.stem}: {text!r}" for text in WIDGET_FAILURES if text in page]
        snapshots = page.count("afmkit-static-widget") + page.count("afmkit-static-output")
        if counts[path.stem]["widgets"] and not snapshots:
            problems.append(f"{path.stem}: widget outputs but no static snapshot")
        if counts[path.stem]["widgets_without_state"]:
            problems.append(f"{path.stem}: {counts[path.stem]} (widget state missing)")
    assert not problems, "\n".join(problems)
    assert sum(c["widgets"] for c in counts.values()) > 0, "no notebook shows a widget"
    # the PPM panel of notebook 02: its Δf preview image is in the snapshot
    page = _page(site, "02_probe_particle_model.html")
    panel = page[page.index("afmkit-ppm-panel") :]
    assert 'src="data:image/png;base64,' in panel[: panel.index("afmkit-static-note")]


def test_search_page_index_and_box(site):
    html = site["html"]
    assert (html / "search.html").is_file()
    index = (html / "searchindex.js").read_text(encoding="utf-8")
    for word in ("camphor", "lennard"):
        assert word in index.lower(), f"{word!r} is not in the search index"
    for path in NOTEBOOKS:
        page = _page(site, f"{path.stem}.html")
        assert 'action="search.html"' in page, f"{path.stem}: no search box"


# ---------------------------------------------------------------------------------------------
# in a browser
# ---------------------------------------------------------------------------------------------
def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (AFMKIT_REQUIRE_BROWSER=1: `make test` needs the browser test)")
    pytest.skip(f"{reason}; `make browser-deps` installs Chromium (Debian package `chromium`)")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (it is in the test extra)")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    return CHROMIUM


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def served(site) -> Iterator[str]:
    """The site's HTML folder over HTTP on a free local port (a thread of this process)."""
    handler = functools.partial(_QuietHandler, directory=str(site["html"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_page_shows_a_figure_in_the_browser(served, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(f"{served}/{BROWSER_PAGE}", wait_until="load", timeout=60_000)
            figure = page.locator('img[src^="_images/"]').first
            figure.scroll_into_view_if_needed()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0",
                arg=figure.element_handle(),
                timeout=30_000,
            )
            assert figure.is_visible()
            box = figure.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 50, box
            figure.screenshot(path=tmp_path / "figure.png")
            plot = page.locator(".js-plotly-plot .main-svg").first
            plot.wait_for(timeout=30_000)  # plotly.js (the site's own copy) drew the figure
            plot.scroll_into_view_if_needed()
            assert plot.is_visible()
            assert page.locator("form[action='search.html'] input").count() > 0
            # the search page finds a word of the course (Sphinx's search, run in the page)
            page.goto(f"{served}/search.html?q=camphor", wait_until="load", timeout=60_000)
            page.locator("#search-results li").first.wait_for(timeout=30_000)
            assert page.locator("#search-results li").count() >= 3
        except Exception:
            page.screenshot(path=tmp_path / "failure_page.png", full_page=True)
            print(f"screenshots in {tmp_path}; page errors: {errors}")
            raise
        finally:
            browser.close()
    assert not errors, f"JavaScript errors on {BROWSER_PAGE}: {errors}"
