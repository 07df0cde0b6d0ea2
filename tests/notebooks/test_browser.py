"""Widget panels work in a real browser: JupyterLab + Chromium, driven by Playwright.

The notebook tests (nbclient) run every cell, but no browser renders the widgets there. This file
starts a headless JupyterLab server on a copy of ``notebooks/``, opens a notebook in Debian's
Chromium (``/usr/bin/chromium``, never a Playwright-downloaded browser), runs all cells, moves a
slider of the panel and checks that the panel's image is re-rendered.

Chromium is optional outside ``make test``: without it the tests skip. ``make test`` installs it
(``make browser-deps``) and sets ``AFMKIT_REQUIRE_BROWSER=1``, which turns the skip into a failure.
``make test-browser`` runs only this file. Screenshots land in pytest's ``tmp_path`` (printed on
failure together with the server log, browser console and any cell errors).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = os.environ.get("AFMKIT_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("AFMKIT_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}

PPM_NOTEBOOK = "02_probe_particle_model.ipynb"
TRAINING_NOTEBOOK = "08_training_dsh.ipynb"
TRAINING_PANEL = ".afmkit-training-panel"
PPM_PANEL = ".afmkit-ppm-panel"
DEMO_NOTEBOOK = "browser_demo.ipynb"
DEMO_PANEL = ".afmkit-browser-demo"

SERVER_START_S = 60  # JupyterLab server answering /api/status
RUN_ALL_S = 180  # run-all until the panel with its image is on screen (~25 s when idle)
RERENDER_S = 30  # slider moved → new image
NGL_DRAW_S = 30  # nglview canvas shows a molecule (not one flat colour)
TRAIN_S = 300  # Train pressed → the tiny quick-mode run has finished (~40 s when idle)

# what ipywidgets / JupyterLab put where a widget fails to render
WIDGET_ERROR_SELECTOR = ".jupyter-widgets-error-widget"
WIDGET_ERROR_TEXTS = (
    "Click to show javascript error",
    "Error displaying widget",
    "model not found",
    "Failed to load model class",
    "Failed to load view class",
    "Could not create a view",
)
# nglview 3.x: the NGL stage canvas sits in a jQuery-UI resizable box inside the widget's element
NGL_CANVAS = ".jp-OutputArea-output .ui-resizable canvas"

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason} (AFMKIT_REQUIRE_BROWSER=1: `make test` needs the browser test)")
    pytest.skip(f"{reason}; `make browser-deps` installs Chromium (Debian package `chromium`)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _demo_notebook() -> nbformat.NotebookNode:
    """A two-cell notebook with a tiny afmkit Panel: a slider moves a Gaussian in a PNG image."""
    code = """\
import sys
import numpy as np
import afmkit.course
from afmkit.widgets import Panel, array_png, slider
from afmkit.widgets.core import image_widget

print("kernel python:", sys.executable, "quick:", afmkit.course.quick_mode())
yy, xx = np.mgrid[0:48, 0:48] / 47.0
image = image_widget(192)

def render(v):
    blob = np.exp(-((xx - v["x"]) ** 2 + (yy - 0.5) ** 2) / 0.02)
    image.value = array_png(blob, cmap="afmhot")

panel = Panel({"x": slider("x", 0.2, 0.0, 1.0, 0.05, unit="frac")}, render, [image],
              title="browser test panel")
panel.widget.add_class("afmkit-browser-demo")
panel.refresh()
panel.widget"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Browser test"), nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@pytest.fixture(scope="module")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed (it is in the test extra)")
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[dict]:
    """A JupyterLab server on a temporary copy of notebooks/ (outputs never reach the repo)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(
        NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    )
    nbformat.write(_demo_notebook(), root / DEMO_NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, AFMKIT_QUICK="1")
    env.pop("JUPYTER_TOKEN", None)
    env.pop("MPLBACKEND", None)  # `make test` sets Agg; the kernel should draw inline
    for name in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(base / name.lower())  # no user settings, no saved workspaces
    news = base / "jupyterlab_settings_dir" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "get notified about Jupyter news?" toast over the panel
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    # the venv's jupyter: kernelspec "python3" with argv "python" runs this same interpreter
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--notebook-dir={root}",
        f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.allow_root=True",
    ]  # fmt: skip
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not start in {SERVER_START_S} s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield {"url": url, "token": token, "root": root, "log": log_path}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            browser.close()


def _image_srcs(panel) -> list[str]:
    return panel.locator("img").evaluate_all("els => els.map(e => e.getAttribute('src') || '')")


def _wait_stable(page, panel, quiet_ms: int = 600) -> None:
    """Wait until the panel's image sources stop changing for ``quiet_ms``."""
    deadline = time.monotonic() + RERENDER_S
    srcs = _image_srcs(panel)
    while time.monotonic() < deadline:
        page.wait_for_timeout(quiet_ms)
        now = _image_srcs(panel)
        if now == srcs:
            return
        srcs = now


def _cell_errors(page) -> str:
    texts = page.locator('[data-mime-type="application/vnd.jupyter.error"]').all_inner_texts()
    return "\n---\n".join(texts)


def _wait_run_all_done(page) -> None:
    """Wait until every code cell of the current notebook has an execution count."""
    try:
        page.wait_for_function(
            """() => {
                const nb = window.jupyterapp.shell.currentWidget;
                const code = nb.content.widgets.filter(c => c.model.type === "code");
                return code.length > 0 && code.every(c => c.model.executionCount !== null)
                    && nb.sessionContext.session.kernel.status === "idle";
            }""",
            timeout=RUN_ALL_S * 1000,
        )
    except Exception:
        raise AssertionError(
            f"run-all did not finish in {RUN_ALL_S} s; cell errors:\n"
            f"{_cell_errors(page) or '(none)'}"
        ) from None


def _widget_errors(page) -> list[str]:
    """Texts of widget error placeholders anywhere in the notebook (empty: none)."""
    found = [
        " ".join(t.split())[:300]
        for t in page.locator(f".jp-Notebook {WIDGET_ERROR_SELECTOR}").all_text_contents()
    ]
    outputs = page.locator(".jp-Notebook .jp-OutputArea-output").all_text_contents()
    for text in outputs:
        for needle in WIDGET_ERROR_TEXTS:
            if needle.lower() in text.lower():
                start = text.lower().index(needle.lower())
                found.append(" ".join(text[max(0, start - 80) : start + 220].split()))
    return list(dict.fromkeys(found))  # a placeholder is found by class and by its text


def _flat(png: bytes) -> bool:
    """Whether a PNG screenshot is a single colour (nothing drawn)."""
    import io

    from PIL import Image

    extrema = Image.open(io.BytesIO(png)).convert("RGB").getextrema()
    return all(lo == hi for lo, hi in extrema)


def _ngl_canvases(page, out: Path) -> list[bytes]:
    """Screenshots of the nglview canvases, once the first one shows more than one colour."""
    canvases = page.locator(NGL_CANVAS)
    try:
        canvases.first.wait_for(timeout=NGL_DRAW_S * 1000)
    except Exception:
        raise AssertionError(
            f"no nglview canvas ({NGL_CANVAS}) after run-all + {NGL_DRAW_S} s; "
            f"widget errors: {_widget_errors(page) or '(none)'}"
        ) from None
    canvases.first.scroll_into_view_if_needed()
    deadline = time.monotonic() + NGL_DRAW_S
    while True:
        shots = [
            canvases.nth(i).screenshot(path=out / f"ngl_canvas_{i}.png")
            for i in range(canvases.count())
        ]
        if not _flat(shots[0]):
            return shots
        if time.monotonic() > deadline:
            raise AssertionError(f"the nglview canvas stayed blank for {NGL_DRAW_S} s")
        page.wait_for_timeout(500)


def _move_slider(page, slider, presses: int = 4) -> str:
    """Move a slider a few steps with the keyboard (focus its handle, arrow keys); new readout."""
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle").first
    before = slider.locator(".widget-readout").inner_text()
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")
        page.wait_for_timeout(50)
    after = slider.locator(".widget-readout").inner_text()
    if after == before:  # at the maximum: go the other way
        for _ in range(2 * presses):
            handle.press("ArrowLeft")
            page.wait_for_timeout(50)
        after = slider.locator(".widget-readout").inner_text()
    assert after != before, f"slider readout did not move from {before!r}"
    return after


def _open_and_run_all(page, lab: dict, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab, wait for its kernel, and start run-all."""
    # a workspace of its own: the default one would restore the notebooks opened by earlier
    # tests, and run-all could go to one of them instead of ``notebook``
    workspace = f"afmkit-{Path(notebook).stem}-{secrets.token_hex(4)}"
    page.goto(f"{lab['url']}/lab/workspaces/{workspace}/tree/{notebook}?token={lab['token']}")
    page.wait_for_function(
        "(path) => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.context"
        " && window.jupyterapp.shell.currentWidget.context.path === path"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
        arg=notebook,
        timeout=SERVER_START_S * 1000,
    )
    page.locator(".jp-Notebook").first.wait_for(timeout=SERVER_START_S * 1000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def _drive_panel(
    lab: dict,
    browser,
    notebook: str,
    panel_selector: str,
    out: Path,
    image_selector: str = "img",
    slider_selector: str = ".widget-slider",
    ngl: bool = False,
) -> dict:
    """Open ``notebook``, run all cells, move a slider, return screenshots and image srcs.

    After run-all has finished, no widget may show an error placeholder; with ``ngl`` at least
    one nglview canvas must show a drawing (their screenshots: ``result["ngl"]``).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    result: dict = {}
    try:
        _open_and_run_all(page, lab, notebook)
        panel = page.locator(panel_selector).first
        image = panel.locator(f"{image_selector}[src]").first
        try:
            image.wait_for(timeout=RUN_ALL_S * 1000)
        except Exception:
            raise AssertionError(
                f"no {panel_selector} with an image after {RUN_ALL_S} s; cell errors:\n"
                f"{_cell_errors(page) or '(none)'}"
            ) from None
        panel.scroll_into_view_if_needed()
        _wait_stable(page, panel)  # the first render has settled
        srcs_before = _image_srcs(panel)
        src_before = image.get_attribute("src")
        result["panel_before"] = panel.screenshot(path=out / "panel_before.png")
        result["image_before"] = image.screenshot(path=out / "image_before.png")

        result["readout"] = _move_slider(page, panel.locator(slider_selector).first)
        page.wait_for_function(
            "([img, before]) => (img.getAttribute('src') || '') !== before",
            arg=[image.element_handle(), src_before],
            timeout=RERENDER_S * 1000,
        )
        _wait_stable(page, panel)  # no further render pending (debounced panels)
        result["panel_after"] = panel.screenshot(path=out / "panel_after.png")
        result["image_after"] = image.screenshot(path=out / "image_after.png")
        result["srcs"] = (srcs_before, _image_srcs(panel))

        _wait_run_all_done(page)  # later cells may still be running (notebook 02: nglview)
        if ngl:
            result["ngl"] = _ngl_canvases(page, out)
        errors = _widget_errors(page)
        assert not errors, "widget error placeholders in the notebook:\n" + "\n".join(errors)
        result["text"] = page.locator(".jp-Notebook").first.inner_text()
        return result
    except Exception:
        with contextlib.suppress(Exception):
            page.screenshot(path=out / "failure_page.png", full_page=True)
        print(f"screenshots in {out}")
        print("browser console:\n" + "\n".join(console[-40:]))
        print("cell errors:\n" + (_cell_errors(page) or "(none)"))
        print("server log (tail):\n" + lab["log"].read_text(errors="replace")[-3000:])
        raise
    finally:
        context.close()


def test_panel_rerenders_in_browser(lab, browser, tmp_path):
    """A minimal afmkit Panel: the kernel is this venv's, quick mode is on, a slider re-renders."""
    res = _drive_panel(lab, browser, DEMO_NOTEBOOK, DEMO_PANEL, tmp_path)
    assert f"kernel python: {sys.executable}" in res["text"] or sys.prefix in res["text"]
    assert "quick: True" in res["text"]
    assert res["srcs"][0] != res["srcs"][1], "image src did not change"
    assert res["image_before"] != res["image_after"], "image pixels did not change"
    assert res["panel_before"] != res["panel_after"]


def test_ppm_panel_in_notebook_02(lab, browser, tmp_path):
    """Notebook 02's Probe Particle Model panel: run all, move a slider, the Δf preview changes."""
    res = _drive_panel(
        lab,
        browser,
        PPM_NOTEBOOK,
        PPM_PANEL,
        tmp_path,
        image_selector=".afmkit-ppm-preview",
        slider_selector=".afmkit-control-z_closest",  # scan height: a clearly different image
        ngl=True,  # molecule_view: an nglview 3D view
    )
    assert res["srcs"][0] != res["srcs"][1], "the Δf preview's src did not change"
    assert res["image_before"] != res["image_after"], "the Δf preview looks the same"
    assert res["panel_before"] != res["panel_after"], "the PPM panel looks the same after the move"
    assert res["ngl"], "no nglview canvas"


def test_training_panel_in_notebook_08(lab, browser, tmp_path):
    """Notebook 08's training panel: fewer epochs with the slider, Train, the run finishes in the
    background (the kernel stays idle) and the live monitor draws the loss curves."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    try:
        _open_and_run_all(page, lab, TRAINING_NOTEBOOK)
        _wait_run_all_done(page)  # the kernel is idle: button clicks reach it at once
        panel = page.locator(TRAINING_PANEL).first
        panel.scroll_into_view_if_needed()  # JupyterLab renders only the cells in view
        status = panel.locator(".afmkit-training-status")
        panel.locator(".afmkit-training-status", has_text="press Train").wait_for(timeout=10_000)

        # the Optimiser tab's first slider, once JupyterLab has rendered the tab's content
        epochs = panel.locator(".widget-slider", has_text="epochs").first
        epochs.wait_for(timeout=10_000)
        epochs.scroll_into_view_if_needed()
        before = epochs.locator(".widget-readout").inner_text()
        handle = epochs.locator(".noUi-handle").first
        handle.focus()
        for _ in range(int(before) - 2):  # quick mode: 8 epochs → 2
            handle.press("ArrowLeft")
            page.wait_for_timeout(30)
        assert epochs.locator(".widget-readout").inner_text() == "2"
        panel.screenshot(path=tmp_path / "training_before.png")

        panel.locator("button", has_text="Train").click()
        panel.locator(".afmkit-training-status", has_text="run-001").wait_for(timeout=30_000)
        kernel_idle = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        )
        assert kernel_idle == "idle", "training should run in a background thread"
        try:
            panel.locator(".afmkit-training-status", has_text="finished").wait_for(
                timeout=TRAIN_S * 1000
            )
        except Exception:
            raise AssertionError(f"no finished run after {TRAIN_S} s; status: "
                                 f"{status.inner_text()!r}") from None
        text = status.inner_text()
        assert "run-001 finished" in text and "test loss" in text, text
        curves = panel.locator(".js-plotly-plot .scatterlayer .trace")
        assert curves.count() >= 2, "the monitor drew no loss curves"  # loss and val_loss
        assert "epoch 2" in panel.inner_text()
        panel.screenshot(path=tmp_path / "training_after.png")
        assert not _widget_errors(page)
        # the notebook's clean-up cell ran before Train: remove the run's temporary folder too
        found = re.search(r"\((/\S+)/panel/run-001/metrics\.json\)", text)
        if found and Path(found.group(1)).name.startswith("afmkit-08-dsh-"):
            shutil.rmtree(found.group(1), ignore_errors=True)
    except Exception:
        with contextlib.suppress(Exception):
            page.screenshot(path=tmp_path / "failure_page.png", full_page=True)
        print(f"screenshots in {tmp_path}")
        print("browser console:\n" + "\n".join(console[-40:]))
        print("cell errors:\n" + (_cell_errors(page) or "(none)"))
        raise
    finally:
        context.close()
