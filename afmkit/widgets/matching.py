"""Widget panels for notebook 11: run a match with every search parameter, browse the results.

:func:`match_search_panel` (a :class:`MatchSearchPanel`) offers every parameter of
:func:`afmkit.experiments.matching.match` — library size (number of orientations), method and
compared descriptor channels, coarse and refined angle steps, shift range, candidates refined and
re-scored, top-k — and a Match button that runs in the background; it then shows the ranked
orientations with their scores and calibrated probabilities, the confidence of the answer, and a
:func:`matching_panel` to browse them.

:func:`matching_panel` shows, for a chosen experiment and match rank, one Δf slice of the
experiment, the vdW Spheres predicted for it, the matched library descriptor (turned like the
match), and the matched geometry seen from the tip — thesis Fig. 17 one row at a time — with
the match score and, for the stand-in, the angle to the true orientation.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.experiments import matching
from afmkit.experiments.matching import MatchResult, OrientationLibrary, orientation_error
from afmkit.physics.simulator import SimulationParams, scan_center
from afmkit.structures.molecules import Molecule
from afmkit.widgets.core import (
    BackgroundJob,
    ControlPanel,
    Panel,
    array_png,
    dropdown,
    image_widget,
    int_slider,
    slider,
    topview_png,
)

__all__ = ["MatchSearchPanel", "match_search_panel", "matching_panel"]


def matching_panel(
    experiments: dict[Any, np.ndarray],
    results: dict[Any, MatchResult],
    library: OrientationLibrary,
    truth: dict[Any, np.ndarray] | None = None,
) -> Panel:
    """Browse matches: experiment, rank (1 = best) and Δf slice.

    Parameters
    ----------
    experiments
        Name → Δf stack (nx, ny, nz), Hz.
    results
        Name → :class:`afmkit.experiments.matching.MatchResult` for the same names.
    library
        The :class:`afmkit.experiments.matching.OrientationLibrary` the results refer to.
    truth
        Optional name → true rotation (3, 3) (stand-in only) to show the angle error, degrees.

    Returns
    -------
    Panel
        Root CSS class ``afmkit-matching-panel``.

    Raises
    ------
    ValueError
        If an experiment has no match result.
    """
    names = list(experiments)
    if not names or set(names) - set(results):
        raise ValueError("matching_panel needs a match result for every experiment")
    k = len(next(iter(results.values())).scores)
    n_slices = next(iter(experiments.values())).shape[2]
    controls = {
        "experiment": dropdown("experiment", names, names[0]),
        "rank": int_slider("match rank", 1, 1, k),
        "slice": int_slider("Δf slice (0 = far)", n_slices - 1, 0, n_slices - 1),
    }
    images = {key: image_widget(200) for key in ("afm", "exp", "sim", "geometry")}
    captions = {
        "afm": "experiment Δf",
        "exp": "predicted vdW Spheres",
        "sim": "matched simulation",
        "geometry": "matched geometry",
    }
    info = w.HTML()
    cells = [w.VBox([w.HTML(f"<small>{captions[key]}</small>"), img]) for key, img in
             images.items()]

    def render(v: dict[str, Any]) -> None:
        result = results[v["experiment"]]
        rank = v["rank"] - 1
        stack = experiments[v["experiment"]]
        images["afm"].value = array_png(stack[:, :, v["slice"]].T, cmap="gray")
        lo = float(result.experiment_descriptor.min())
        hi = float(max(result.experiment_descriptor.max(), lo + 1e-6))
        images["exp"].value = array_png(result.experiment_descriptor.T, "viridis", lo, hi)
        images["sim"].value = array_png(result.matched_descriptor(library, rank).T, "viridis")
        geometry = result.geometries[rank]
        extent = library.params.extent(scan_center(geometry))
        images["geometry"].value = topview_png(
            geometry, extent, title=f"rank {rank + 1}", legend=False, size_in=2.6
        )
        text = (
            f"{result.method} score <b>{result.scores[rank]:.3f}</b>; direction "
            f"#{result.library_index[rank]}, turned {result.inplane_deg[rank]:.0f}° about the tip "
            "axis"
        )
        if result.probabilities is not None:
            text += (f"; probability {result.probabilities[rank]:.0%} "
                     f"(best match: {result.verdict()})")
        if truth is not None and v["experiment"] in truth:
            error = float(orientation_error(result.rotations[rank], truth[v["experiment"]]))
            text += f"; <b>{error:.1f}°</b> from the true orientation"
        info.value = text

    panel = Panel(controls, render, [w.HBox(cells), info], title="Experiment ↔ simulation")
    panel.widget.add_class("afmkit-matching-panel")
    return panel


#: Library sizes the search panel offers (number of simulated viewing directions).
ORIENTATION_CHOICES = (24, 100, 250, 500, 1000)


class MatchSearchPanel(ControlPanel):
    """Every search parameter of ``match``, a Match button and the result with its confidence.

    The search runs in a background thread (:func:`afmkit.experiments.matching.match`).

    Parameters
    ----------
    experiments : dict
        Name → experimental Δf stack (nx, ny, n_slices), Hz, slice 0 farthest.
    model : keras.Model or str, optional
        The DSH model (default ``"dsh-light"``).
    molecule : Molecule, optional
        The molecule (default 1S-camphor; the library's with ``library``).
    library : OrientationLibrary, optional
        A ready library, used when its size is chosen (others are built and cached on demand,
        ≈ 0.45 s per direction on 2 CPU cores, once).
    params : SimulationParams, optional
        Nominal simulation parameters of libraries built here.
    truth : dict, optional
        Name → true rotation (3, 3) (stand-ins only): the error of every rank is shown.
    orientation_choices : tuple of int
        Library sizes offered.

    Attributes
    ----------
    controls : dict of str to ipywidgets.Widget
        Name → control; names are ``match`` keywords plus ``experiment`` and
        ``n_orientations``.
    libraries : dict of int to OrientationLibrary
        The libraries used so far, by size.
    result : MatchResult or None
        The last match.
    job : BackgroundJob
        The matching thread.
    widget : ipywidgets.Widget
        What to display; CSS class ``afmkit-match-search-panel``.
    """

    def __init__(
        self,
        experiments: dict[Any, np.ndarray],
        model: Any = None,
        molecule: Molecule | None = None,
        library: OrientationLibrary | None = None,
        params: SimulationParams | None = None,
        truth: dict[Any, np.ndarray] | None = None,
        orientation_choices: tuple[int, ...] = ORIENTATION_CHOICES,
    ) -> None:
        if not experiments:
            raise ValueError("match_search_panel needs at least one experiment")
        self.experiments = dict(experiments)
        self.model = model
        self.truth = truth or {}
        self.libraries: dict[int, OrientationLibrary] = {}
        if library is not None:
            self.libraries[len(library)] = library
            molecule = library.molecule
            params = library.params
        self.molecule = molecule
        self.params = params or SimulationParams()
        self.result: MatchResult | None = None
        self.result_library: OrientationLibrary | None = None
        self.job = BackgroundJob("afmkit-matching")
        sizes = sorted(set(orientation_choices) | set(self.libraries))
        half = min(self.params.scan_size) / 2
        names = list(self.experiments)
        self.controls: dict[str, w.Widget] = {
            "experiment": dropdown("experiment", names, names[0]),
            "n_orientations": dropdown("orientations in the library", sizes,
                                       next(iter(self.libraries), sizes[0])),
            "method": dropdown("method", list(matching.METHODS), matching.DEFAULT_METHOD),
            "channels": w.SelectMultiple(options=list(matching.CHANNELS),
                                         value=list(matching.DEFAULT_CHANNELS), rows=3,
                                         description="descriptor channels",
                                         style={"description_width": "initial"}),
            "angle_step": slider("in-plane angle step", 10.0, 1.0, 45.0, 1.0, unit="°",
                                 readout_format=".0f"),
            "refine_step": slider("refined angle step", 2.0, 0.5, 10.0, 0.5, unit="°",
                                  readout_format=".1f"),
            "max_shift": slider("shift range ±", min(3.0, half), 0.0, half, 0.25, unit="Å"),
            "n_refine": int_slider("candidates refined", 40, 1, 100),
            "n_rescore": int_slider("candidates re-scored with tip variants", 6, 1, 20),
            "refine_top": int_slider("best candidates turned finely", 3, 0, 10),
            "top_k": int_slider("top-k returned", 5, 1, 10),
        }  # fmt: skip
        self.controls["method"].observe(self._enable_options, names="value")
        self.match_button = w.Button(description="Match", button_style="primary", icon="search")
        self.match_button.on_click(lambda _: self.start())
        self.status = w.HTML("<small>choose the search, then press Match</small>")
        self.table = w.HTML()
        self.browser_box = w.VBox()
        left = w.VBox([*self.controls.values(), self.match_button, self.status],
                      layout={"min_width": "380px"})
        right = w.VBox([self.table, self.browser_box])
        self.widget = w.VBox([w.HTML("<b>Match an experiment</b>"), w.HBox([left, right])])
        self.widget.add_class("afmkit-panel")
        self.widget.add_class("afmkit-match-search-panel")
        self._enable_options()

    def _enable_options(self, *_: Any) -> None:
        method = self.controls["method"].value
        self.controls["channels"].disabled = method == "df"
        for name in ("n_rescore", "refine_top"):
            self.controls[name].disabled = method == "descriptors"

    def search_options(self) -> dict[str, Any]:
        """The ``match`` keyword arguments the controls describe.

        The refined step is kept within [angle step / 100, angle step] as ``match`` requires.

        Returns
        -------
        dict
            ``method``, ``channels``, ``angle_step``, ``refine_step``, ``max_shift``,
            ``n_refine``, ``n_rescore``, ``refine_top``, ``top_k``.
        """
        v = self.values()
        channels = tuple(v["channels"]) or matching.DEFAULT_CHANNELS
        angle = float(v["angle_step"])
        return {
            "method": v["method"], "channels": channels, "angle_step": angle,
            "refine_step": float(np.clip(v["refine_step"], angle / 100, angle)),
            "max_shift": float(v["max_shift"]), "n_refine": int(v["n_refine"]),
            "n_rescore": int(v["n_rescore"]), "refine_top": int(v["refine_top"]),
            "top_k": int(v["top_k"]),
        }  # fmt: skip

    def library(self, n_orientations: int) -> OrientationLibrary:
        """The library of ``n_orientations`` directions (built and cached on disk if new).

        Parameters
        ----------
        n_orientations : int
            Viewing directions.

        Returns
        -------
        OrientationLibrary
            The library.
        """
        if n_orientations not in self.libraries:
            self.libraries[n_orientations] = matching.build_library(
                self.molecule, n_orientations, self.model, self.params, progress=False
            )
        return self.libraries[n_orientations]

    @property
    def running(self) -> bool:
        """Whether a match is in progress."""
        return self.job.running

    def start(self) -> bool:
        """Run the match in the background, as the Match button does.

        Returns
        -------
        bool
            False if a match is already running.
        """
        if self.running:
            return False
        v = self.values()
        options = self.search_options()
        n = int(v["n_orientations"])
        name = v["experiment"]
        self.match_button.disabled = True
        built = n in self.libraries
        self._say(f"matching {html.escape(str(name))} against {n} orientations"
                  + ("" if built else " (building the library first, ≈ 0.45 s per direction)")
                  + " …")

        def work() -> tuple[MatchResult, OrientationLibrary]:
            lib = self.library(n)
            return matching.match(self.experiments[name], self.model, library=lib,
                                  progress=False, **options), lib  # fmt: skip

        self.job.start(work, on_done=lambda job: self._finished(job, name))
        return True

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the match to end.

        Parameters
        ----------
        timeout_s : float, optional
            Longest wait, s.

        Returns
        -------
        bool
            True when no match is running any more.
        """
        return self.job.join(timeout_s)

    def _finished(self, job: BackgroundJob, name: Any) -> None:
        self.match_button.disabled = False
        if job.error is not None:
            self._say(f"<span style='color:#b00'>{type(job.error).__name__}: "
                      f"{html.escape(str(job.error))}</span>")
            return
        self.result, self.result_library = job.result
        self.table.value = self._table(self.result, name)
        truth = {name: self.truth[name]} if name in self.truth else None
        browser = matching_panel({name: self.experiments[name]}, {name: self.result},
                                 self.result_library, truth=truth)
        browser.refresh()
        self.browser_box.children = [browser.widget]
        self._say(f"matched in {job.seconds:.1f} s: {html.escape(self.result.verdict())}")

    def _table(self, result: MatchResult, name: Any) -> str:
        truth = self.truth.get(name)
        head = "<tr><th>rank</th><th>score</th><th>probability</th>"
        head += "<th>error vs truth</th></tr>" if truth is not None else "</tr>"
        rows = []
        for j, score in enumerate(result.scores):
            p = "–" if result.probabilities is None else f"{result.probabilities[j]:.0%}"
            row = f"<tr><td>{j + 1}</td><td>{score:.3f}</td><td>{p}</td>"
            if truth is not None:
                err = float(orientation_error(result.rotations[j], truth))
                row += f"<td>{err:.0f}°</td>"
            rows.append(row + "</tr>")
        confidence = "–" if np.isnan(result.confidence) else f"{result.confidence:.0%}"
        return (f"<b>{html.escape(str(name))}</b>, {result.method}: confidence of the best "
                f"match <b>{confidence}</b>{' (ambiguous)' if result.ambiguous else ''}"
                f"<table class='afmkit-match-table'>{head}{''.join(rows)}</table>")

    def _say(self, text: str) -> None:
        self.status.value = f"<small>{text}</small>"


def match_search_panel(
    experiments: dict[Any, np.ndarray],
    model: Any = None,
    *,
    molecule: Molecule | None = None,
    library: OrientationLibrary | None = None,
    truth: dict[Any, np.ndarray] | None = None,
) -> MatchSearchPanel:
    """A :class:`MatchSearchPanel`: every search parameter, Match, the result's confidence.

    Parameters
    ----------
    experiments : dict
        Name → experimental Δf stack (nx, ny, n_slices), Hz.
    model : keras.Model or str, optional
        The DSH model (default ``"dsh-light"``).
    molecule : Molecule, optional
        Default 1S-camphor (or the library's).
    library : OrientationLibrary, optional
        A ready library (offered as its size).
    truth : dict, optional
        Name → true rotation (3, 3), for stand-ins.

    Returns
    -------
    MatchSearchPanel
        Display it; press Match.
    """
    return MatchSearchPanel(experiments, model, molecule=molecule, library=library, truth=truth)
