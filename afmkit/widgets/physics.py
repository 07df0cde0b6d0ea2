"""Widget panels for the physics notebooks (01–03): pair potentials, the Probe Particle Model, Δf.

Panels (each a function returning an :class:`afmkit.widgets.core.Panel`; import them from
:mod:`afmkit.widgets`):

* :func:`lj_panel` — Lennard-Jones, Coulomb and total energy and force of one atom pair.
* :func:`ppm_panel` — the Probe Particle Model: molecule, probe, charge, springs, tilt, height →
  a Δf preview image (root CSS class ``afmkit-ppm-panel``, image ``afmkit-ppm-preview``).
* :func:`relaxation_panel` — where the probe particle goes: lateral displacement arrows and the
  bending trajectories along one scan line.
* :func:`frequency_panel` — F_z(z) → Δf(z) by Giessibl's formula for any amplitude, f0 and k.

Figures are drawn by :mod:`afmkit.plotting.physics`; the molecules offered are the catalogue
:data:`afmkit.structures.catalogue.CATALOGUE` (also importable from here under its old name
``PPM_MOLECULES``, with :func:`~afmkit.structures.catalogue.example_molecule` and
:func:`~afmkit.plotting.physics.plot_relaxation`, for compatibility).

Previews run at reduced resolution (64 × 64 px by default) with one :class:`afmkit.AFMSimulator`
per panel, whose force field is cached: spring, tilt-free and slice changes only re-relax
(≈ 0.1 s on two CPU cores); molecule, probe, charge, tilt and height changes also re-tabulate
the force field (≈ 0.2–0.4 s). Every control has a CSS class ``afmkit-control-<name>``.
Units: Å, eV, e, N/m, Hz.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.physics import pair_potentials, spectroscopy
from afmkit.physics.forcefield import load_lj_table
from afmkit.physics.simulator import PROBES, AFMSimulator, SimulationParams
from afmkit.plotting.physics import plot_frequency_shift, plot_pair_curves, plot_relaxation
from afmkit.structures.catalogue import CATALOGUE, example_molecule
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
    "PPM_MOLECULES",
    "example_molecule",
    "frequency_panel",
    "lj_panel",
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
# 2. Probe Particle Model preview
# ---------------------------------------------------------------------------------------------
def _ppm_controls(names: list[str], value: str, n_slices: int) -> dict[str, w.Widget]:
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
    }


def _link_probe_charge(controls: dict[str, w.Widget]) -> None:
    def reset(change: dict) -> None:
        controls["probe_charge"].value = PROBES[change["new"]]["charge"]

    controls["probe"].observe(reset, names="value")


def _ppm_params(base: SimulationParams, v: dict[str, Any]) -> SimulationParams:
    return base.replace(
        probe=v["probe"],
        probe_charge=float(v["probe_charge"]),
        k_lat=float(v["k_lat"]),
        k_rad=float(v["k_rad"]),
        rest_length=float(v["rest_length"]),
        tilt=(float(v["tilt_x"]), float(v["tilt_y"])),
        z_closest=float(v["z_closest"]),
    )


def ppm_panel(molecule: Any = None, pixels: int = 64, n_slices: int = 10) -> Panel:
    """Probe Particle Model preview: every model parameter as a control, one Δf image.

    Controls: molecule, probe (CO/Xe; resets the charge to the probe's default), probe charge
    (e), k_lat and k_rad (N/m), rest length (Å), tilt x/y (Å), z_closest (Å: the PP rest position
    at the closest slice's lower turning point above the top nucleus), slice index.

    CSS classes: root ``afmkit-ppm-panel``, preview image ``afmkit-ppm-preview``, molecule top
    view ``afmkit-ppm-topview``, controls ``afmkit-control-<name>`` (e.g. ``afmkit-control-k_lat``).

    Parameters
    ----------
    molecule
        An :class:`afmkit.Molecule` to offer first, before the catalogue molecules
        (:data:`afmkit.structures.catalogue.CATALOGUE`, 1S-camphor first).
    pixels
        Preview resolution per side (the 16 × 16 Å window; 128 in the thesis).
    n_slices
        Δf slices simulated per preview, 0.1 Å apart (slice 0 farthest).

    Returns
    -------
    Panel
        Attributes added: ``simulator`` and ``state`` (``params``, ``result``, ``molecule``,
        ``stack``).
    """
    choice = MoleculeChoice(molecule)
    controls = _ppm_controls(choice.labels, choice.first, n_slices)
    _link_probe_charge(controls)
    base = SimulationParams(pixels=(pixels, pixels), n_slices=n_slices)
    sim = AFMSimulator(base)
    preview = _image(320, "afmkit-ppm-preview")
    topview = _image(320, "afmkit-ppm-topview")
    info = w.HTML()
    state: dict[str, Any] = {"key": None, "topview_key": None}

    def render(v: dict[str, Any]) -> None:
        mol = choice.get(v["molecule"])
        params = _ppm_params(base, v)
        key = (v["molecule"], repr(params))
        if key != state["key"]:
            sim.params = params
            result = sim.run(mol)
            state.update(key=key, result=result, params=params, molecule=mol, stack=result.df)
        result = state["result"]
        k = int(v["slice"])
        image = result.df[:, :, k]
        preview.value = array_png(image.T)
        top_key = (v["molecule"], tuple(np.round(result.center_xy, 6)))
        if top_key != state["topview_key"]:
            topview.value = topview_png(mol, params.extent(result.center_xy))
            state["topview_key"] = top_key
        height = params.slice_heights()[k]
        t = result.timings
        info.value = (
            f"<small>{mol.formula}, {sim.backend} ({sim.device_name}); slice {k}: lower turning "
            f"point {height:.2f} Å above the top nucleus; Δf {image.min():.2f} … "
            f"{image.max():.2f} Hz (black … white); force field {1000 * t['forcefield']:.0f} ms,"
            f" relaxation {1000 * t['relax+df']:.0f} ms</small>"
        )

    outputs = [w.HBox([preview, topview]), info]
    panel = Panel(controls, render, outputs, title="Probe Particle Model: Δf preview")
    _tag(panel, "afmkit-ppm-panel")
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
