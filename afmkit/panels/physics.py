"""Widget panels for the physics notebooks (01–03): pair potentials, the Probe Particle Model, Δf.

Panels (each a function returning an :class:`afmkit.panels.core.Panel`; import them from
:mod:`afmkit.widgets`):

* :func:`lj_panel` — Lennard-Jones, Coulomb and total energy and force of one atom pair.
* :func:`ppm_panel` — the Probe Particle Model: molecule, probe, charge, springs, tilt, height →
  a Δf preview image (root CSS class ``afmkit-ppm-panel``, image ``afmkit-ppm-preview``).
* :func:`relaxation_panel` — where the probe particle goes: lateral displacement arrows and the
  bending trajectories along one scan line.
* :func:`frequency_panel` — F_z(z) → Δf(z) by Giessibl's formula for any amplitude, f0 and k.

Previews run at reduced resolution (64 × 64 px by default) with one :class:`afmkit.AFMSimulator`
per panel, whose force field is cached: spring, tilt-free and slice changes only re-relax
(≈ 0.1 s on two CPU cores); molecule, probe, charge, tilt and height changes also re-tabulate
the force field (≈ 0.2–0.4 s). Every control has a CSS class ``afmkit-control-<name>``.
Units: Å, eV, e, N/m, Hz.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from afmkit import frequency, spectroscopy
from afmkit.forcefield import load_lj_table
from afmkit.panels.core import (
    Panel,
    array_png,
    dropdown,
    figure_png,
    image_widget,
    int_slider,
    slider,
    topview_png,
)
from afmkit.panels.structures import molecule_view  # one nglview helper for all notebooks
from afmkit.rotations import lay_flat
from afmkit.simulator import PROBES, AFMSimulator, SimulationParams

__all__ = [
    "PPM_MOLECULES",
    "example_molecule",
    "frequency_panel",
    "lj_panel",
    "molecule_pdb",
    "molecule_view",
    "plot_relaxation",
    "ppm_panel",
    "relaxation_panel",
]


# ---------------------------------------------------------------------------------------------
# Example molecules
# ---------------------------------------------------------------------------------------------
def _camphor() -> Any:
    from afmkit.molecules import camphor

    return camphor()


def _qm9(index: int, name: str) -> Callable[[], Any]:
    def make() -> Any:
        from afmkit.molecules import qm9

        mol = qm9(index)
        mol.name = name
        return _face_on(mol)

    return make


def _smiles(smiles: str, name: str) -> Callable[[], Any]:
    def make() -> Any:
        from afmkit.molecules import from_smiles

        return _face_on(from_smiles(smiles, name=name))

    return make


def _face_on(mol: Any) -> Any:
    """``mol`` turned so that its plane of least extent is the xy plane (flat ones face-on)."""
    out = lay_flat(mol)
    out.name = mol.name
    return out


#: Molecules offered by the panels: name → factory (no downloads; QM9 comes from ``qm9pack``).
#: QM9 and SMILES molecules are turned face-on (their principal plane in xy).
PPM_MOLECULES: dict[str, Callable[[], Any]] = {
    "1S-camphor": _camphor,
    "pyridine (QM9)": _qm9(209, "pyridine (QM9)"),
    "phenol (QM9)": _qm9(923, "phenol (QM9)"),
    "pyrrole-2-carbaldehyde (QM9)": _qm9(998, "pyrrole-2-carbaldehyde (QM9)"),
    "naphthalene (SMILES)": _smiles("c1ccc2ccccc2c1", "naphthalene (SMILES)"),
    "benzoic acid (SMILES)": _smiles("OC(=O)c1ccccc1", "benzoic acid (SMILES)"),
}


@functools.lru_cache(maxsize=16)
def _example_cached(name: str) -> Any:
    try:
        factory = PPM_MOLECULES[name]
    except KeyError:
        known = list(PPM_MOLECULES)
        raise KeyError(f"unknown example molecule {name!r}; choose from {known}") from None
    return factory()


def example_molecule(name: str = "1S-camphor") -> Any:
    """A copy of one of the :data:`PPM_MOLECULES` (positions Å, charges e), built once."""
    return _example_cached(name).copy()


def _molecule_options(molecule: Any) -> tuple[list[str], dict[str, Any], str]:
    given: dict[str, Any] = {}
    names = list(PPM_MOLECULES)
    if molecule is not None:
        label = getattr(molecule, "name", "") or "your molecule"
        if label in PPM_MOLECULES:
            label = f"{label} (given)"
        given[label] = molecule
        names.insert(0, label)
    return names, given, names[0]


def _get_molecule(name: str, given: dict[str, Any]) -> Any:
    return given[name] if name in given else example_molecule(name)


def molecule_pdb(mol: Any) -> str:
    """The molecule as PDB text (HETATM records; positions Å), e.g. for nglview."""
    from afmkit.elements import symbol

    lines = []
    for k, (z, (x, y, zz)) in enumerate(zip(mol.numbers, mol.positions, strict=True), start=1):
        sym = symbol(int(z))
        name = f"{sym}{k}"[:4]
        lines.append(
            f"HETATM{k:5d} {name:<4s} MOL A   1    {x:8.3f}{y:8.3f}{zz:8.3f}  1.00  0.00"
            f"          {sym:>2s}"
        )
    return "\n".join([*lines, "END"]) + "\n"


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
    Root CSS class ``afmkit-lj-panel``; the figure ``afmkit-lj-figure``.
    """
    r_m0, eps0 = spectroscopy.pair_lj_parameters(element_a, element_b)
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
        r_m, eps = spectroscopy.pair_lj_parameters(
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
        c = spectroscopy.pair_curves(
            r, v["element_a"], v["element_b"], v["q_a"], v["q_b"], v["eps"], v["r_m"]
        )
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        ax_e, ax_f = fig.subplots(1, 2)
        for ax, (lj, coul, tot), unit in (
            (ax_e, (c.e_lj, c.e_coulomb, c.e_total), "E (eV)"),
            (ax_f, (c.f_lj, c.f_coulomb, c.f_total), "F (eV/Å), > 0 repulsive"),
        ):
            ax.plot(r, lj, label="Lennard-Jones")
            ax.plot(r, coul, label="Coulomb", ls="--")
            ax.plot(r, tot, label="total", color="k", lw=1.5)
            ax.axhline(0, color="0.6", lw=0.8)
            ax.axvline(c.r_m, color="0.6", lw=0.8, ls=":")
            ax.set_xlabel(f"r between {v['element_a']} and {v['element_b']} (Å)")
            ax.set_ylabel(unit)
            low = min(lj.min(), coul.min(), tot.min())
            scale = max(abs(low), 1e-4)
            ax.set_ylim(-1.3 * scale, 1.3 * scale)
            ax.set_xlim(r[0], r[-1])
        ax_e.plot([c.r_m], [-c.eps], "o", color="C0")
        ax_e.annotate("(r_m, −ε)", (c.r_m, -c.eps), textcoords="offset points", xytext=(6, -12))
        ax_e.set_title("pair energy")
        ax_f.set_title("radial force")
        ax_e.legend(fontsize="small")
        image.value = figure_png(fig)
        r_tab, e_tab = spectroscopy.pair_lj_parameters(v["element_a"], v["element_b"])
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

    Args:
        molecule: an :class:`afmkit.Molecule` to offer first (default: the example molecules,
            :data:`PPM_MOLECULES`, 1S-camphor first).
        pixels: preview resolution per side (the 16 × 16 Å window; 128 in the thesis).
        n_slices: Δf slices simulated per preview, 0.1 Å apart (slice 0 farthest).

    Controls: molecule, probe (CO/Xe; resets the charge to the probe's default), probe charge
    (e), k_lat and k_rad (N/m), rest length (Å), tilt x/y (Å), z_closest (Å: the PP rest position
    at the closest slice's lower turning point above the top nucleus), slice index.

    CSS classes: root ``afmkit-ppm-panel``, preview image ``afmkit-ppm-preview``, molecule top
    view ``afmkit-ppm-topview``, controls ``afmkit-control-<name>`` (e.g. ``afmkit-control-k_lat``).
    Attributes added to the returned panel: ``simulator`` and ``state`` (``params``, ``result``,
    ``molecule``, ``stack``).
    """
    names, given, first = _molecule_options(molecule)
    controls = _ppm_controls(names, first, n_slices)
    _link_probe_charge(controls)
    base = SimulationParams(pixels=(pixels, pixels), n_slices=n_slices)
    sim = AFMSimulator(base)
    preview = _image(320, "afmkit-ppm-preview")
    topview = _image(320, "afmkit-ppm-topview")
    info = w.HTML()
    state: dict[str, Any] = {"key": None, "topview_key": None}

    def render(v: dict[str, Any]) -> None:
        mol = _get_molecule(v["molecule"], given)
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
def plot_relaxation(
    result: Any,
    params: SimulationParams,
    mol: Any = None,
    slice_index: int = -1,
    stride: int = 2,
    row: int | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Where the probe particle goes: lateral displacement arrows and trajectories along a line.

    Args:
        result: a :class:`afmkit.simulator.SimulationResult` made with ``store_positions=True``.
        params: its :class:`afmkit.SimulationParams`.
        mol: the molecule (atoms are marked in the side view when given).
        slice_index: Δf slice whose lower turning point the arrows show (−1 = closest).
        stride: draw every ``stride``-th pixel's arrow.
        row: y pixel index of the side view (default: the row through the highest atom).
        fig: figure to draw into (default a new :class:`afmkit.plotting.NotebookFigure`).

    Left: the Δf slice with arrows from the tip apex (+ tilt) to the relaxed PP (lateral
    displacement, arrows drawn 1:1 in Å). Right: x–z trajectories of the PP while the tip
    approaches along the scan line, one curve per pixel: the PP is pushed sideways by the
    repulsive atoms and the flexible tip bends, which is what sharpens the bonds in the images.
    """
    from afmkit.plotting import NotebookFigure

    if result.positions is None:
        raise ValueError("plot_relaxation needs a result simulated with store_positions=True")
    pos = np.asarray(result.positions)
    nx, ny, n_samples, _ = pos.shape
    n_slices = result.df.shape[-1]
    k = slice_index % n_slices
    sample = k + (n_samples - n_slices)  # lower turning point of slice k
    xs, ys = params.pixel_coordinates(result.center_xy)
    rest = params.rest_offset()
    disp = pos[:, :, sample, :2] - np.stack(np.meshgrid(xs, ys, indexing="ij"), -1) - rest[:2]
    fig = fig or NotebookFigure(figsize=(10, 4.2), layout="constrained")
    ax_top, ax_side = fig.subplots(1, 2, width_ratios=[1, 1.3])
    extent = params.extent(result.center_xy)
    im = ax_top.imshow(
        result.df[:, :, k].T, origin="lower", extent=extent, cmap="gray", interpolation="nearest"
    )
    fig.colorbar(im, ax=ax_top, fraction=0.046, pad=0.03).set_label("Δf (Hz)")
    sl = (slice(None, None, stride), slice(None, None, stride))
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    ax_top.quiver(
        gx[sl],
        gy[sl],
        disp[..., 0][sl],
        disp[..., 1][sl],
        color="tab:red",
        angles="xy",
        scale_units="xy",
        scale=1.0,
        width=0.004,
    )
    height = params.slice_heights()[k]
    ax_top.set_title(f"PP lateral displacement at z = {height:.2f} Å")
    ax_top.set_xlabel("x (Å)")
    ax_top.set_ylabel("y (Å)")
    if row is None:
        if mol is not None:
            top = np.asarray(mol.positions)[int(np.argmax(np.asarray(mol.positions)[:, 2]))]
            row = int(np.argmin(np.abs(ys - top[1])))
        else:
            row = ny // 2
    ax_top.axhline(ys[row], color="tab:blue", lw=1, ls="--")
    tip_z = np.asarray(result.tip_z)
    for i in range(0, nx, max(1, stride // 2)):
        ax_side.plot(pos[i, row, :, 0], pos[i, row, :, 2], color="tab:red", lw=0.8)
    ax_side.plot(
        xs,
        np.full(nx, tip_z[sample] + rest[2]),
        color="0.5",
        ls=":",
        lw=1,
        label="PP rest position (lowest)",
    )
    if mol is not None:
        p = np.asarray(mol.positions)
        near = np.abs(p[:, 1] - ys[row]) < 1.0
        ax_side.scatter(p[near, 0], p[near, 2], s=30, c="k", label="atoms within 1 Å of the line")
        ax_side.set_ylim(p[:, 2].max() - 1.5, float(pos[:, row, :, 2].max()) + 0.5)
    ax_side.set_xlabel("x (Å)")
    ax_side.set_ylabel("z (Å)")
    ax_side.set_title(f"PP trajectories along y = {ys[row]:.2f} Å during the approach")
    ax_side.legend(fontsize="small", loc="lower right")
    return fig


def relaxation_panel(molecule: Any = None, pixels: int = 32, n_slices: int = 5) -> Panel:
    """Probe-particle relaxation: displacement arrows and trajectories (:func:`plot_relaxation`).

    Controls: molecule, k_lat (N/m), tilt x (Å), z_closest (Å), slice, arrow stride (px).
    Root CSS class ``afmkit-relaxation-panel``; figure ``afmkit-relaxation-figure``.
    """
    names, given, first = _molecule_options(molecule)
    d = SimulationParams()
    controls = {
        "molecule": dropdown("molecule", names, first),
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
        mol = _get_molecule(v["molecule"], given)
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

    Args:
        molecule: an :class:`afmkit.Molecule` to offer first (default: the example molecules).
        pixels: pixels per side of the F_z map.
        height_span: height range of the approach, Å.
        max_amplitude: largest amplitude offered, Å (zero-to-peak).

    Controls: molecule, amplitude A (Å, zero-to-peak; 0.5 = ASD-AFM's "1 Å" peak-to-peak),
    f0 (Hz), k (N/m), x and y of the spectroscopy point relative to the window centre (Å), and
    the height (Å) of the Δf slice (its lower turning point above the top nucleus).
    Shows: the weights of Giessibl's sum, F_z(z) and Δf(z) at the chosen point (with the
    small-amplitude limit f0 k_ts / 2k and the ASD-AFM default for comparison) and the Δf slice.
    Root CSS class ``afmkit-frequency-panel``; figure ``afmkit-frequency-figure``.
    """
    names, given, first = _molecule_options(molecule)
    d = SimulationParams()
    n_samples = int(round(height_span / d.dz)) + 1
    max_height = d.z_closest + height_span - 2 * max_amplitude
    controls = {
        "molecule": dropdown("molecule", names, first),
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
        mol = _get_molecule(name, given)
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
        h_df, df = spectroscopy.df_from_force(fz, d.dz, amp, f0, kc, heights)
        h_ref, df_ref = spectroscopy.df_from_force(fz, d.dz, d.amplitude, f0, kc, heights)
        small = spectroscopy.small_amplitude_df(fz, heights, f0, kc)
        h_all, df_all = spectroscopy.df_from_force(res.fz, d.dz, amp, f0, kc, heights)
        k = int(np.argmin(np.abs(h_all - v["height"])))
        weights = frequency.df_weights(amp, d.dz, f0, kc)

        fig = Figure(figsize=(11.25, 7), layout="constrained")
        (ax_w, ax_f), (ax_df, ax_img) = fig.subplots(2, 2)
        q = amp - d.dz * np.arange(len(weights))  # offset of each sample from the centre
        ax_w.bar(q, weights, width=0.8 * d.dz, color="tab:purple")
        ax_w.set_xlabel("q = z − z_centre of the sample (Å)")
        ax_w.set_ylabel("weight (Hz per eV/Å)")
        ax_w.set_title(f"Giessibl weights, A = {amp:.2f} Å ({len(weights)} samples)")
        ax_f.plot(heights, fz, color="k")
        ax_f.axhline(0, color="0.6", lw=0.8)
        ax_f.set_xlabel("PP rest height above the top nucleus (Å)")
        ax_f.set_ylabel("F_z (eV/Å)")
        ax_f.set_title(f"F_z(z) at pixel {pixel}")
        ax_df.plot(h_df, df, color="tab:blue", label=f"A = {amp:.2f} Å")
        if abs(amp - d.amplitude) > 1e-9:
            ax_df.plot(h_ref, df_ref, color="tab:orange", ls="--", label="A = 0.5 Å (ASD-AFM)")
        ax_df.plot(heights, small, color="0.4", ls=":", label="small-A limit f0 k_ts / 2k")
        ax_df.axvline(h_all[k], color="tab:green", lw=1)
        ax_df.set_xlabel("lower turning point above the top nucleus (Å)")
        ax_df.set_ylabel("Δf (Hz)")
        ax_df.set_title(f"Δf(z) at pixel {pixel} (f0 = {f0:.0f} Hz, k = {kc:.0f} N/m)")
        finite = np.r_[df, df_ref]
        span = max(np.abs(finite).max(), 1e-3)
        ax_df.set_ylim(-1.2 * span, 1.2 * span)
        ax_df.set_xlim(heights.min(), heights.max())
        ax_df.legend(fontsize="small")
        extent = base.extent(res.center_xy)
        im = ax_img.imshow(
            df_all[:, :, k].T, origin="lower", extent=extent, cmap="gray", interpolation="nearest"
        )
        xs, ys = base.pixel_coordinates(res.center_xy)
        ax_img.plot(xs[pixel[0]], ys[pixel[1]], "+", color="tab:red", ms=12, mew=2)
        fig.colorbar(im, ax=ax_img, fraction=0.046, pad=0.03).set_label("Δf (Hz)")
        ax_img.set_xlabel("x (Å)")
        ax_img.set_ylabel("y (Å)")
        ax_img.set_title(f"Δf slice, lower turning point {h_all[k]:.2f} Å")
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
