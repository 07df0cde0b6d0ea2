"""Widget panels for the physics notebooks (01–03): pair potentials, the Probe Particle Model, Δf.

Panels (each a function returning an :class:`afmkit.widgets.core.Panel`; import them from
:mod:`afmkit.widgets`):

* :func:`lj_panel` — Lennard-Jones, Coulomb and total energy and force of one atom pair.
* :func:`ppm_panel` — the Probe Particle Model: molecule, probe, charge, springs, tilt, height →
  a Δf preview image (root CSS class ``afmkit-ppm-panel``, image ``afmkit-ppm-preview``); its
  collapsed "advanced" section holds the scan window, pixels, slices and slice spacing, and a
  :class:`LJTableEditor` whose edited table the preview simulates with.
* :func:`lj_table_editor` — the Lennard-Jones table (r_half in Å, ε in eV) of some elements as
  editable numbers, with a reset to ppafm's table; its :meth:`LJTableEditor.params` hand the
  edited table to :class:`afmkit.SimulationParams`.
* :func:`relaxation_panel` — where the probe particle goes: lateral displacement arrows and the
  bending trajectories along one scan line.
* :func:`frequency_panel` — F_z(z) → Δf(z) by Giessibl's formula for any amplitude, f0 and k.

Figures are drawn by :mod:`afmkit.plotting.physics`; the molecules offered are the catalogue
:data:`afmkit.structures.catalogue.CATALOGUE` (also importable from here under its old name
``PPM_MOLECULES``, with :func:`~afmkit.structures.catalogue.example_molecule` and
:func:`~afmkit.plotting.physics.plot_relaxation`, for compatibility).

Previews run at reduced resolution (64 × 64 px by default) with one :class:`afmkit.AFMSimulator`
per panel, whose force field is cached: spring, tilt-free, pixel and slice-index changes only
re-relax (≈ 0.1 s on two CPU cores); molecule, probe, charge, tilt, height, scan-window, slice
count, slice spacing and LJ-table changes also re-tabulate the force field (≈ 0.2–0.4 s). Every
control has a CSS class ``afmkit-control-<name>``. Units: Å, eV, e, N/m, Hz.
"""

from __future__ import annotations

import functools
import hashlib
import html
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.fileio import atomic_path, cache_dir
from afmkit.physics import pair_potentials, spectroscopy
from afmkit.physics.forcefield import LJTable, lj_table_csv, load_lj_table
from afmkit.physics.simulator import PROBES, AFMSimulator, SimulationParams
from afmkit.plotting.physics import plot_frequency_shift, plot_pair_curves, plot_relaxation
from afmkit.structures.catalogue import CATALOGUE, example_molecule
from afmkit.structures.elements import atomic_number, symbol
from afmkit.structures.molecules import Molecule
from afmkit.widgets.core import (
    Panel,
    array_png,
    dropdown,
    figure_png,
    image_widget,
    int_slider,
    slider,
    topview_png,
)
from afmkit.widgets.previews import MoleculeChoice

__all__ = [
    "LJTableEditor",
    "PPM_MOLECULES",
    "example_molecule",
    "frequency_panel",
    "lj_panel",
    "lj_table_editor",
    "plot_relaxation",
    "ppm_panel",
    "relaxation_panel",
]

#: The molecules the panels offer: the catalogue (label → :class:`CatalogueEntry
#: <afmkit.structures.catalogue.CatalogueEntry>`, callable to build it); kept under its old name.
PPM_MOLECULES = CATALOGUE


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def _tag(panel: Panel, root_class: str) -> None:
    panel.widget.add_class(root_class)
    for name, control in panel.controls.items():
        control.add_class(f"afmkit-control-{name}")


def _image(width_px: int, css: str) -> w.Image:
    img = image_widget(width_px)
    img.add_class(css)
    return img


_LJ_ELEMENTS = ("H", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "Xe")


# ---------------------------------------------------------------------------------------------
# 1. Pair potentials
# ---------------------------------------------------------------------------------------------
def lj_panel(element_a: str = "C", element_b: str = "O") -> Panel:
    """Energy and force of one atom pair: Lennard-Jones (Eq. 1), Coulomb and their sum.

    Controls: the two elements (their mixed OPLS table values fill the ε and r_m sliders, which
    then override them), ε (eV), r_m (Å), charges q_a and q_b (e), distance range (Å).
    The defaults are a sample C against the O probe particle of a CO tip (−0.1 e).
    Root CSS class ``afmkit-lj-panel``; the figure
    (:func:`afmkit.plotting.physics.plot_pair_curves`) ``afmkit-lj-figure``.

    Parameters
    ----------
    element_a
        Initial sample element (symbol).
    element_b
        Initial probe element (symbol).

    Returns
    -------
    Panel
        The panel.
    """
    r_m0, eps0 = pair_potentials.pair_lj_parameters(element_a, element_b)
    controls = {
        "element_a": dropdown("sample atom", list(_LJ_ELEMENTS), element_a),
        "element_b": dropdown("probe atom", list(_LJ_ELEMENTS), element_b),
        "eps": slider("ε", eps0, 0.0005, 0.05, 0.0001, "eV", readout_format=".4f"),
        "r_m": slider("r_m", r_m0, 2.0, 6.0, 0.01, "Å"),
        "q_a": slider("q_a", 0.0, -1.0, 1.0, 0.01, "e"),
        "q_b": slider("q_b", PROBES["CO"]["charge"], -1.0, 1.0, 0.01, "e"),
        "r_min": slider("r from", 2.5, 1.0, 6.0, 0.1, "Å"),
        "r_max": slider("r to", 8.0, 4.0, 15.0, 0.1, "Å"),
    }

    def table_values(_: Any = None) -> None:
        r_m, eps = pair_potentials.pair_lj_parameters(
            controls["element_a"].value, controls["element_b"].value
        )
        controls["eps"].value = round(eps, 4)
        controls["r_m"].value = round(r_m, 2)

    # registered before the Panel's own observers, so the sliders are set before it renders
    controls["element_a"].observe(table_values, names="value")
    controls["element_b"].observe(table_values, names="value")

    image = _image(720, "afmkit-lj-figure")
    image.layout = w.Layout(width="720px", height="300px")
    info = w.HTML()

    def render(v: dict[str, Any]) -> None:
        r_lo, r_hi = sorted((v["r_min"], v["r_max"]))
        r_lo = max(r_lo, 0.5)
        r = np.linspace(r_lo, max(r_hi, r_lo + 0.5), 400)
        c = pair_potentials.pair_curves(
            r, v["element_a"], v["element_b"], v["q_a"], v["q_b"], v["eps"], v["r_m"]
        )
        fig = plot_pair_curves(c, v["element_a"], v["element_b"])
        image.value = figure_png(fig)
        r_tab, e_tab = pair_potentials.pair_lj_parameters(v["element_a"], v["element_b"])
        info.value = (
            f"<small>table ({load_lj_table().source}): r_m = {r_tab:.3f} Å, "
            f"ε = {e_tab:.5f} eV; in use: r_m = {c.r_m:.3f} Å, ε = {c.eps:.5f} eV</small>"
        )

    panel = Panel(controls, render, [image, info], title="Pair potential: Lennard-Jones + Coulomb")
    _tag(panel, "afmkit-lj-panel")
    return panel


# ---------------------------------------------------------------------------------------------
# Lennard-Jones table editor
# ---------------------------------------------------------------------------------------------
#: Folder below :func:`afmkit.fileio.cache_dir` where :class:`LJTableEditor` writes edited tables.
_LJ_TABLE_FOLDER = "lj_tables"
#: Column → (name shown, unit) of the editor's number boxes.
_LJ_COLUMNS = {"r_half": ("r_half", "Å"), "eps": ("ε", "eV")}


def _error(text: str) -> str:
    return f"<span style='color:#b00'>{html.escape(text)}</span>"


def _element_numbers(elements: Molecule | Iterable[str | int]) -> list[int]:
    if isinstance(elements, Molecule):
        return sorted({int(z) for z in elements.numbers})
    return sorted({atomic_number(e) for e in elements})


class LJTableEditor:
    """An editable Lennard-Jones table: r_half (Å) and ε (eV) per element, used by the simulator.

    Starts from ppafm's table (:func:`afmkit.physics.forcefield.load_lj_table` without a path,
    the simulator's default) and shows one row per element: its symbol, r_half (Å, half the LJ
    minimum distance; a pair uses r_ij = r_half_i + r_half_j), ε (eV, the well depth; a pair
    uses ε_ij = √(ε_i ε_j)) and where the value comes from. A typed value must be a finite
    number > 0: anything else is refused with a message and the box returns to its last good
    value. Edits are kept per element, also while its row is hidden (after :meth:`show` of
    another molecule), until :meth:`reset`.

    The simulator reads a table from a CSV file (``SimulationParams.lj_table`` is a path), so
    :meth:`table_file` writes the edited table, once per content and atomically
    (:func:`afmkit.fileio.atomic_path`), to ``<cache_dir>/lj_tables/lj_params-<sha256>.csv``;
    the unedited table is ppafm's (``lj_table=None``). :meth:`params` does both.

    Parameters
    ----------
    elements
        Symbols or atomic numbers, or an :class:`afmkit.Molecule` (its elements).
    probe
        Probe (a key of :data:`afmkit.physics.simulator.PROBES`) whose element gets a row too,
        marked "probe"; None for none.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The grid, the reset button and the message line (``display(editor)`` also works); CSS
        class ``afmkit-lj-table``.
    fields : dict of str to dict of str to ipywidgets.FloatText
        The number boxes of the rows shown, by symbol and column: ``fields["C"]["eps"]`` (eV),
        ``fields["C"]["r_half"]`` (Å).
    reset_button : ipywidgets.Button
        "reset to ppafm's table".
    message : ipywidgets.HTML
        Why the last value was refused, or which values are edited.
    """

    def __init__(
        self, elements: Molecule | Iterable[str | int] = ("H", "C", "O"), probe: str | None = "CO"
    ) -> None:
        self._ppafm = load_lj_table()
        self._edits: dict[int, tuple[float, float]] = {}
        self._callbacks: list[Callable[[], Any]] = []
        self._hold = False
        self._shown: tuple | None = None
        self._source_cells: dict[int, w.HTML] = {}
        self.fields: dict[str, dict[str, w.FloatText]] = {}
        self.grid = w.GridBox(
            layout=w.Layout(grid_template_columns="110px 110px 110px auto", grid_gap="2px 6px")
        )
        self.reset_button = w.Button(
            description="reset to ppafm's table", icon="undo",
            tooltip="every element back to ppafm's r_half and ε",
        )  # fmt: skip
        self.reset_button.on_click(lambda _button: self.reset())
        self.message = w.HTML(self._summary())
        intro = w.HTML(
            "<small>Lennard-Jones parameters per element: r_half (Å; a pair's minimum is at "
            "r_half_i + r_half_j) and ε (eV; a pair's depth is √(ε_i ε_j)). Press Enter to "
            "apply a typed value.</small>"
        )
        self.widget = w.VBox([intro, self.grid, self.reset_button, self.message])
        self.widget.add_class("afmkit-lj-table")
        self.show(elements, probe)

    # --- rows ------------------------------------------------------------------------------
    def show(self, elements: Molecule | Iterable[str | int], probe: str | None = None) -> None:
        """Show the rows of these elements (and of the probe's); edits of others are kept.

        Parameters
        ----------
        elements
            Symbols or atomic numbers, or an :class:`afmkit.Molecule` (its elements).
        probe
            Probe whose element gets a row too (a key of
            :data:`afmkit.physics.simulator.PROBES`), or None.

        Raises
        ------
        KeyError
            For an unknown probe.
        afmkit.structures.elements.UnknownElementError
            For an unknown element.
        """
        numbers = _element_numbers(elements)
        probe_z = None if probe is None else int(PROBES[probe]["number"])
        key = (tuple(numbers), probe_z)
        if key == self._shown:
            return
        self._shown = key
        cells: list[w.Widget] = [
            w.HTML(f"<b>{title}</b>") for title in ("element", "r_half (Å)", "ε (eV)", "source")
        ]
        self.fields, self._source_cells = {}, {}
        for z in sorted({*numbers, *([probe_z] if probe_z is not None else [])}):
            role = {(True, True): " (sample, probe)", (False, True): " (probe)"}.get(
                (z in numbers, z == probe_z), ""
            )
            r_half, eps = self._values(z)
            boxes = {"r_half": self._box(z, "r_half", r_half, 0.01),
                     "eps": self._box(z, "eps", eps, 0.0001)}  # fmt: skip
            self.fields[symbol(z)] = boxes
            self._source_cells[z] = w.HTML(self._source_html(z))
            cells += [w.HTML(f"{symbol(z)}{role}"), boxes["r_half"], boxes["eps"]]
            cells.append(self._source_cells[z])
        self.grid.children = cells

    def _box(self, z: int, column: str, value: float, step: float) -> w.FloatText:
        name, unit = _LJ_COLUMNS[column]
        box = w.FloatText(
            value=value, step=step, tooltip=f"{name} of {symbol(z)} ({unit})",
            layout=w.Layout(width="105px"),
        )  # fmt: skip
        box.add_class(f"afmkit-lj-{column}-{symbol(z)}")
        box.observe(functools.partial(self._changed, z, column), names="value")
        return box

    def _values(self, z: int) -> tuple[float, float]:
        if z in self._edits:
            return self._edits[z]
        return float(self._ppafm.r_half[z]), float(self._ppafm.eps[z])

    def _changed(self, z: int, column: str, change: dict) -> None:
        if self._hold:
            return
        new, old = change["new"], change["old"]
        name, unit = _LJ_COLUMNS[column]
        if not (np.isfinite(new) and new > 0):
            self._hold = True
            try:
                change["owner"].value = old
            finally:
                self._hold = False
            self.message.value = _error(
                f"{name} of {symbol(z)} must be a finite number > 0 {unit}, got {new}; "
                f"kept {old:g} {unit}"
            )
            return
        r_half, eps = self._values(z)
        values = (float(new), eps) if column == "r_half" else (r_half, float(new))
        if values == (float(self._ppafm.r_half[z]), float(self._ppafm.eps[z])):
            self._edits.pop(z, None)
        else:
            self._edits[z] = values
        self._source_cells[z].value = self._source_html(z)
        self.message.value = self._summary()
        self._notify()

    def _source_text(self, z: int) -> str:
        source = self._ppafm.row_source.get(z, "")
        if z not in self._edits:
            return source
        r_half, eps = float(self._ppafm.r_half[z]), float(self._ppafm.eps[z])
        return f"edited (ppafm: r_half {r_half:g} Angstrom, eps {eps:g} eV, {source})"

    def _source_html(self, z: int) -> str:
        if z in self._edits:
            r_half, eps = float(self._ppafm.r_half[z]), float(self._ppafm.eps[z])
            return f"<small><b>edited</b> (ppafm: {r_half:g} Å, {eps:g} eV)</small>"
        return f"<small>{html.escape(self._ppafm.row_source.get(z, ''))}</small>"

    def _summary(self) -> str:
        if not self._edits:
            return "<small>in use: ppafm's table</small>"
        edited = ", ".join(symbol(z) for z in sorted(self._edits))
        return f"<small>in use: ppafm's table with edited {edited}</small>"

    # --- the table ---------------------------------------------------------------------------
    @property
    def edits(self) -> dict[str, tuple[float, float]]:
        """The values that differ from ppafm's: symbol → (r_half in Å, ε in eV)."""
        return {symbol(z): values for z, values in sorted(self._edits.items())}

    @property
    def table(self) -> LJTable:
        """The table in use: ppafm's with the edits (r_half in Å, ε in eV, by atomic number)."""
        if not self._edits:
            return self._ppafm
        r_half, eps = self._ppafm.r_half.copy(), self._ppafm.eps.copy()
        for z, (r, e) in self._edits.items():
            r_half[z], eps[z] = r, e
        edited = ", ".join(self.edits)
        sources = {z: self._source_text(z) for z in self._ppafm.row_source}
        sources.update({z: self._source_text(z) for z in self._edits})
        return LJTable(r_half=r_half, eps=eps, source=f"ppafm's table with edited {edited}",
                       row_source=sources)  # fmt: skip

    def csv_text(self) -> str:
        """The table in use as the CSV that :func:`~afmkit.physics.forcefield.load_lj_table` reads.

        Returns
        -------
        str
            Comment lines, then ``Z,symbol,r_half,eps,source`` rows (Å, eV; numbers written
            to round-trip exactly).
        """
        return lj_table_csv(self.table, comment=(
            "Lennard-Jones parameters: ppafm's table (afmkit/physics/data/lj_params.csv) with\n"
            "the values edited in afmkit.widgets.physics.LJTableEditor.\n"
            "r_half: half of the LJ minimum distance in Angstrom; eps: well depth in eV."))

    def table_file(self, directory: str | Path | None = None) -> Path | None:
        """The file ``SimulationParams.lj_table`` should name: None while nothing is edited.

        Parameters
        ----------
        directory
            Folder of the edited tables (default ``<cache_dir>/lj_tables``,
            :func:`afmkit.fileio.cache_dir`).

        Returns
        -------
        Path or None
            ``lj_params-<first 16 hex digits of the SHA-256 of the CSV>.csv``, written
            atomically unless it exists (the same edits give the same file, so the simulator's
            table and force-field caches stay right); None for ppafm's table.

        Raises
        ------
        OSError
            If the file cannot be written.
        """
        if not self._edits:
            return None
        text = self.csv_text()
        folder = Path(directory) if directory is not None else cache_dir() / _LJ_TABLE_FOLDER
        path = folder / f"lj_params-{hashlib.sha256(text.encode()).hexdigest()[:16]}.csv"
        if not path.is_file():
            with atomic_path(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
        return path

    def params(
        self, base: SimulationParams, directory: str | Path | None = None
    ) -> SimulationParams:
        """``base`` simulating with this table (which replaces ``base.lj_table``).

        Parameters
        ----------
        base
            The other parameters.
        directory
            Folder of the edited tables (see :meth:`table_file`).

        Returns
        -------
        SimulationParams
            A validated copy with ``lj_table`` = :meth:`table_file`.

        Raises
        ------
        OSError
            If the table file cannot be written.
        """
        return base.replace(lj_table=self.table_file(directory))

    # --- changes -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Return every element to ppafm's values (what the reset button does)."""
        changed = bool(self._edits)
        self._edits.clear()
        self._hold = True
        try:
            for sym, boxes in self.fields.items():
                z = atomic_number(sym)
                boxes["r_half"].value, boxes["eps"].value = self._values(z)
                self._source_cells[z].value = self._source_html(z)
        finally:
            self._hold = False
        self.message.value = self._summary()
        if changed:
            self._notify()

    def on_change(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` after every accepted edit and after a reset that changed something.

        Parameters
        ----------
        callback
            Called without arguments.
        """
        self._callbacks.append(callback)

    def _notify(self) -> None:
        for callback in self._callbacks:
            callback()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def lj_table_editor(
    elements: Molecule | Iterable[str | int] = ("H", "C", "O"), probe: str | None = "CO"
) -> LJTableEditor:
    """An editable Lennard-Jones table (r_half in Å, ε in eV) whose values the simulator uses.

    ``editor.params(SimulationParams(...))`` gives parameters that simulate with the edited
    table; :func:`ppm_panel` holds one in its advanced section. See :class:`LJTableEditor`.

    Parameters
    ----------
    elements
        Symbols or atomic numbers, or an :class:`afmkit.Molecule` (its elements).
    probe
        Probe (``"CO"`` or ``"Xe"``) whose element gets a row too, or None.

    Returns
    -------
    LJTableEditor
        The editor, starting from ppafm's table.
    """
    return LJTableEditor(elements, probe)


# ---------------------------------------------------------------------------------------------
# 2. Probe Particle Model preview
# ---------------------------------------------------------------------------------------------
#: Controls of the PPM panel's collapsed "advanced" section (the rest stay in view).
_PPM_ADVANCED = ("scan_x", "scan_y", "pixels_x", "pixels_y", "n_slices", "dz")
#: Width of the PPM preview on screen along its longer side, pixels.
_PPM_PREVIEW_PX = 320


def _ppm_controls(names: list[str], value: str, pixels: int, n_slices: int) -> dict[str, w.Widget]:
    d = SimulationParams()
    return {
        "molecule": dropdown("molecule", names, value),
        "probe": dropdown("probe", list(PROBES), d.probe),
        "probe_charge": slider("probe charge", d.charge, -0.5, 0.5, 0.01, "e"),
        "k_lat": slider("k_lat", d.k_lat, 0.05, 1.0, 0.01, "N/m"),
        "k_rad": slider("k_rad", d.k_rad, 5.0, 60.0, 1.0, "N/m", readout_format=".0f"),
        "rest_length": slider("rest length", d.rest_length, 2.5, 5.0, 0.1, "Å"),
        "tilt_x": slider("tilt x", 0.0, -1.0, 1.0, 0.05, "Å"),
        "tilt_y": slider("tilt y", 0.0, -1.0, 1.0, 0.05, "Å"),
        "z_closest": slider("scan height z_closest", d.z_closest, 1.8, 5.0, 0.05, "Å"),
        "slice": int_slider("slice (0 = farthest)", n_slices - 1, 0, n_slices - 1),
        # advanced: the scan geometry
        "scan_x": slider("scan window x", d.scan_size[0], 2.0, 40.0, 0.5, "Å", ".1f"),
        "scan_y": slider("scan window y", d.scan_size[1], 2.0, 40.0, 0.5, "Å", ".1f"),
        "pixels_x": int_slider("pixels along x", pixels, 2, 256, unit="px"),
        "pixels_y": int_slider("pixels along y", pixels, 2, 256, unit="px"),
        "n_slices": int_slider("number of slices", n_slices, 1, 40),
        "dz": slider("slice spacing dz", d.dz, 0.02, 0.5, 0.01, "Å"),
    }


def _link_probe_charge(controls: dict[str, w.Widget]) -> None:
    def reset(change: dict) -> None:
        controls["probe_charge"].value = PROBES[change["new"]]["charge"]

    controls["probe"].observe(reset, names="value")


def _link_slices(controls: dict[str, w.Widget]) -> None:
    """The slice slider follows the number of slices (staying on the closest if it was there)."""

    def follow(change: dict) -> None:
        chosen = controls["slice"]
        closest = chosen.value == chosen.max
        chosen.max = int(change["new"]) - 1
        if closest:
            chosen.value = chosen.max

    controls["n_slices"].observe(follow, names="value")


def _ppm_params(base: SimulationParams, v: dict[str, Any]) -> SimulationParams:
    return base.replace(
        probe=v["probe"],
        probe_charge=float(v["probe_charge"]),
        k_lat=float(v["k_lat"]),
        k_rad=float(v["k_rad"]),
        rest_length=float(v["rest_length"]),
        tilt=(float(v["tilt_x"]), float(v["tilt_y"])),
        z_closest=float(v["z_closest"]),
        scan_size=(float(v["scan_x"]), float(v["scan_y"])),
        pixels=(int(v["pixels_x"]), int(v["pixels_y"])),
        n_slices=int(v["n_slices"]),
        dz=float(v["dz"]),
    )


def _fit_preview(image: w.Image, scan_size: tuple[float, float]) -> None:
    """Give the preview the scan window's aspect ratio, its longer side ``_PPM_PREVIEW_PX``."""
    wx, wy = scan_size
    scale = _PPM_PREVIEW_PX / max(wx, wy)
    image.layout.width = f"{round(wx * scale)}px"
    image.layout.height = f"{round(wy * scale)}px"


def _advanced_section(panel: Panel, editor: LJTableEditor) -> w.Accordion:
    """Move the advanced controls of ``panel`` and the LJ editor into a collapsed accordion."""
    left = panel.widget.children[-1].children[0]  # Panel: VBox([header, HBox([left, right])])
    geometry = w.VBox([panel.controls[name] for name in _PPM_ADVANCED])
    accordion = w.Accordion(
        children=[geometry, editor.widget],
        titles=("advanced (scan window, pixels, slices)", "advanced (Lennard-Jones table)"),
    )
    accordion.selected_index = None
    accordion.add_class("afmkit-ppm-advanced")
    basic = [c for name, c in panel.controls.items() if name not in _PPM_ADVANCED]
    left.children = [*basic, accordion, panel.status]
    return accordion


def ppm_panel(molecule: Any = None, pixels: int = 64, n_slices: int = 10) -> Panel:
    """Probe Particle Model preview: every model parameter as a control, one Δf image.

    Controls: molecule, probe (CO/Xe; resets the charge to the probe's default), probe charge
    (e), k_lat and k_rad (N/m), rest length (Å), tilt x/y (Å), z_closest (Å: the PP rest position
    at the closest slice's lower turning point above the top nucleus), slice index. In the
    collapsed "advanced" section: scan window x and y (Å), pixels along x and y, number of
    slices, slice spacing dz (Å; also the approach step of Giessibl's sum), and a
    :class:`LJTableEditor` of the molecule's and the probe's elements, whose edits re-simulate
    with the edited table. A combination the simulator refuses (e.g. a scan window with no
    atom in it) shows its reason in the panel and keeps the last good image.

    CSS classes: root ``afmkit-ppm-panel``, preview image ``afmkit-ppm-preview``, molecule top
    view ``afmkit-ppm-topview``, advanced section ``afmkit-ppm-advanced``, LJ table
    ``afmkit-lj-table``, controls ``afmkit-control-<name>`` (e.g. ``afmkit-control-k_lat``).

    Parameters
    ----------
    molecule
        An :class:`afmkit.Molecule` to offer first, before the catalogue molecules
        (:data:`afmkit.structures.catalogue.CATALOGUE`, 1S-camphor first).
    pixels
        Initial preview resolution per side (over the 16 × 16 Å window; 128 in the thesis).
    n_slices
        Initial number of Δf slices per preview, 0.1 Å apart (slice 0 farthest).

    Returns
    -------
    Panel
        Attributes added: ``simulator``, ``lj_editor`` (the :class:`LJTableEditor`),
        ``advanced`` (the accordion) and ``state`` (``params``, ``result``, ``molecule``,
        ``stack`` of the last good simulation; ``error``: why the last render was refused, or
        None).
    """
    choice = MoleculeChoice(molecule)
    controls = _ppm_controls(choice.labels, choice.first, pixels, n_slices)
    _link_probe_charge(controls)
    _link_slices(controls)
    base = SimulationParams(pixels=(pixels, pixels), n_slices=n_slices)
    sim = AFMSimulator(base)
    editor = LJTableEditor((), probe=None)
    preview = _image(_PPM_PREVIEW_PX, "afmkit-ppm-preview")
    topview = _image(_PPM_PREVIEW_PX, "afmkit-ppm-topview")
    info = w.HTML()
    state: dict[str, Any] = {"key": None, "topview_key": None, "error": None}

    def simulate(v: dict[str, Any], mol: Molecule) -> list[str]:
        """Simulate if a parameter changed; returns the simulator's warnings."""
        params = editor.params(_ppm_params(base, v))
        key = (v["molecule"], repr(params))
        if key == state["key"]:
            return state["notes"]
        sim.params = params
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sim.run(mol)
        notes = [str(warning.message) for warning in caught]
        state.update(key=key, result=result, params=params, molecule=mol, stack=result.df,
                     notes=notes)  # fmt: skip
        return notes

    def render(v: dict[str, Any]) -> None:
        mol = choice.get(v["molecule"])
        editor.show(mol, v["probe"])
        try:
            notes = simulate(v, mol)
        except (ValueError, OSError) as err:  # shown in the panel; the last good image stays
            state["error"] = str(err)
            info.value = _error(f"not simulated: {err}") + "<br><small>(last good image)</small>"
            return
        state["error"] = None
        result, params = state["result"], state["params"]
        k = min(int(v["slice"]), params.n_slices - 1)
        image = result.df[:, :, k]
        preview.value = array_png(image.T)
        _fit_preview(preview, params.scan_size)
        extent = params.extent(result.center_xy)
        top_key = (v["molecule"], tuple(np.round(extent, 6)))
        if top_key != state["topview_key"]:
            topview.value = topview_png(mol, extent)
            state["topview_key"] = top_key
        height = params.slice_heights()[k]
        t = result.timings
        (nx, ny), (wx, wy) = params.pixels, params.scan_size
        table = "ppafm's" if params.lj_table is None else f"edited ({', '.join(editor.edits)})"
        info.value = (
            f"<small>{mol.formula}, {sim.backend} ({sim.device_name}); {wx:g} × {wy:g} Å, "
            f"{nx} × {ny} px, {params.n_slices} slices {params.dz:g} Å apart; LJ table "
            f"{table}; slice {k}: lower turning point {height:.2f} Å above the top nucleus; "
            f"Δf {image.min():.2f} … {image.max():.2f} Hz (black … white); force field "
            f"{1000 * t['forcefield']:.0f} ms, relaxation {1000 * t['relax+df']:.0f} ms</small>"
        ) + "".join(f"<br><small style='color:#a60'>{html.escape(n)}</small>" for n in notes)

    outputs = [w.HBox([preview, topview]), info]
    panel = Panel(controls, render, outputs, title="Probe Particle Model: Δf preview")
    _tag(panel, "afmkit-ppm-panel")
    editor.on_change(panel.refresh)
    panel.advanced = _advanced_section(panel, editor)
    panel.lj_editor = editor
    panel.simulator = sim
    panel.state = state
    return panel


# ---------------------------------------------------------------------------------------------
# Probe-particle relaxation
# ---------------------------------------------------------------------------------------------
def relaxation_panel(molecule: Any = None, pixels: int = 32, n_slices: int = 5) -> Panel:
    """Probe-particle relaxation: displacement arrows and trajectories (:func:`plot_relaxation`).

    Controls: molecule, k_lat (N/m), tilt x (Å), z_closest (Å), slice, arrow stride (px).
    Root CSS class ``afmkit-relaxation-panel``; figure ``afmkit-relaxation-figure``.

    Parameters
    ----------
    molecule
        An :class:`afmkit.Molecule` to offer first, before the catalogue molecules.
    pixels
        Resolution per side of the 16 × 16 Å window.
    n_slices
        Δf slices simulated, 0.1 Å apart (slice 0 farthest).

    Returns
    -------
    Panel
        Attributes added: ``simulator`` and ``state`` (``params``, ``result``).
    """
    choice = MoleculeChoice(molecule)
    d = SimulationParams()
    controls = {
        "molecule": dropdown("molecule", choice.labels, choice.first),
        "k_lat": slider("k_lat", d.k_lat, 0.05, 1.0, 0.01, "N/m"),
        "tilt_x": slider("tilt x", 0.0, -1.0, 1.0, 0.05, "Å"),
        "z_closest": slider("scan height z_closest", d.z_closest, 1.8, 5.0, 0.05, "Å"),
        "slice": int_slider("slice (0 = farthest)", n_slices - 1, 0, n_slices - 1),
        "stride": int_slider("arrow every", 2, 1, 8, unit="px"),
    }
    base = SimulationParams(pixels=(pixels, pixels), n_slices=n_slices)
    sim = AFMSimulator(base)
    image = _image(800, "afmkit-relaxation-figure")
    image.layout = w.Layout(width="800px", height="336px")
    state: dict[str, Any] = {"key": None}

    def render(v: dict[str, Any]) -> None:
        mol = choice.get(v["molecule"])
        params = base.replace(
            k_lat=float(v["k_lat"]), tilt=(float(v["tilt_x"]), 0.0), z_closest=v["z_closest"]
        )
        key = (v["molecule"], repr(params))
        if key != state["key"]:
            sim.params = params
            state.update(key=key, result=sim.run(mol, store_positions=True), params=params)
        fig = plot_relaxation(state["result"], params, mol, int(v["slice"]), int(v["stride"]))
        image.value = figure_png(fig)

    panel = Panel(controls, render, [image], title="Probe-particle relaxation")
    _tag(panel, "afmkit-relaxation-panel")
    panel.simulator = sim
    panel.state = state
    return panel


# ---------------------------------------------------------------------------------------------
# 3. Force → frequency shift
# ---------------------------------------------------------------------------------------------
def frequency_panel(
    molecule: Any = None, pixels: int = 48, height_span: float = 6.0, max_amplitude: float = 2.0
) -> Panel:
    """Giessibl's formula live: amplitude, f0 and k turn the same F_z(z) into different Δf.

    The F_z of every pixel is simulated once per molecule, over ``height_span`` Å of approach
    (0.1 Å steps, ``pixels`` × ``pixels`` over 16 × 16 Å); afterwards every control only
    re-evaluates Giessibl's sum (milliseconds) and redraws.

    Controls: molecule, amplitude A (Å, zero-to-peak; 0.5 = ASD-AFM's "1 Å" peak-to-peak),
    f0 (Hz), k (N/m), x and y of the spectroscopy point relative to the window centre (Å), and
    the height (Å) of the Δf slice (its lower turning point above the top nucleus).
    Shows: the weights of Giessibl's sum, F_z(z) and Δf(z) at the chosen point (with the
    small-amplitude limit f0 k_ts / 2k and the ASD-AFM default for comparison) and the Δf slice.
    Root CSS class ``afmkit-frequency-panel``; figure
    (:func:`afmkit.plotting.physics.plot_frequency_shift`) ``afmkit-frequency-figure``.

    Parameters
    ----------
    molecule
        An :class:`afmkit.Molecule` to offer first, before the catalogue molecules.
    pixels
        Pixels per side of the F_z map.
    height_span
        Height range of the approach, Å.
    max_amplitude
        Largest amplitude offered, Å (zero-to-peak).

    Returns
    -------
    Panel
        Attributes added: ``simulator`` and ``state`` (``result``, ``heights``, ``mol``,
        ``sim_s``: the simulation's wall time, s).
    """
    choice = MoleculeChoice(molecule)
    d = SimulationParams()
    n_samples = int(round(height_span / d.dz)) + 1
    max_height = d.z_closest + height_span - 2 * max_amplitude
    controls = {
        "molecule": dropdown("molecule", choice.labels, choice.first),
        "amplitude": slider("amplitude A", d.amplitude, 0.05, max_amplitude, 0.05, "Å"),
        "f0": slider("f0", d.f0, 5000.0, 300000.0, 100.0, "Hz", readout_format=".0f"),
        "k_cantilever": slider("k", d.k_cantilever, 10.0, 5000.0, 10.0, "N/m", ".0f"),
        "x": slider("x", 0.0, -8.0, 8.0, 0.1, "Å"),
        "y": slider("y", 0.0, -8.0, 8.0, 0.1, "Å"),
        "height": slider("slice height", d.z_closest, d.z_closest, max_height, 0.1, "Å"),
    }
    # amplitude max_amplitude needs 2A/dz + 1 samples: simulate with it, keep only F_z
    base = SimulationParams(
        pixels=(pixels, pixels),
        amplitude=max_amplitude,
        n_slices=n_samples - int(round(2 * max_amplitude / d.dz)),
    )
    sim = AFMSimulator(base)
    image = _image(900, "afmkit-frequency-figure")
    image.layout = w.Layout(width="900px", height="560px")
    info = w.HTML()
    state: dict[str, Any] = {"molecule": None}

    def simulate(name: str) -> None:
        mol = choice.get(name)
        start = time.perf_counter()
        result = sim.run(mol)
        state.update(
            molecule=name,
            mol=mol,
            result=result,
            heights=spectroscopy.sample_heights(base, result.fz.shape[-1]),
            sim_s=time.perf_counter() - start,
        )
        top = np.asarray(mol.positions)[int(np.argmax(np.asarray(mol.positions)[:, 2]))]
        rel = top[:2] - result.center_xy
        # put the spectroscopy point above the top atom (without a second render)
        state["hold"] = True
        try:
            controls["x"].value = float(np.round(rel[0], 1))
            controls["y"].value = float(np.round(rel[1], 1))
        finally:
            state["hold"] = False

    def render(v: dict[str, Any]) -> None:
        if state.get("hold"):
            return
        if v["molecule"] != state["molecule"]:
            simulate(v["molecule"])
            v = panel.values()
        res, heights = state["result"], state["heights"]
        amp, f0, kc = float(v["amplitude"]), float(v["f0"]), float(v["k_cantilever"])
        pixel = spectroscopy.nearest_pixel(base, res.center_xy, res.center_xy + [v["x"], v["y"]])
        fz = res.fz[pixel[0], pixel[1]].astype(float)
        _, df = spectroscopy.df_from_force(fz, d.dz, amp, f0, kc, heights)
        fig = plot_frequency_shift(res, base, pixel, amp, f0, kc, float(v["height"]), d.amplitude)
        image.value = figure_png(fig)
        info.value = (
            f"<small>F_z simulated once for this molecule in {state['sim_s']:.2f} s "
            f"({res.fz.shape[0]}×{res.fz.shape[1]} px × {res.fz.shape[2]} heights); "
            f"Δf at the point: {df.min():.2f} … {df.max():.2f} Hz</small>"
        )

    panel = Panel(controls, render, [image, info], title="From force to frequency shift")
    _tag(panel, "afmkit-frequency-panel")
    panel.simulator = sim
    panel.state = state
    return panel
