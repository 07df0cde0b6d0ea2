"""Panel of notebook 06: the five augmentation steps of thesis §3.4, before and after each.

:func:`augmentation_panel` simulates a molecule on a preview grid (cached) and re-runs
:func:`augmentation_steps` on every render; the figure is
:func:`afmkit.plotting.interactive.augmentation_figure`, redrawn in place. Before the five steps
come the two random draws of the training data at simulation time
(:class:`afmkit.learn.data.AFMDataset`): a tip tilt within ``tilt_radius`` and a jitter of the
scan height within ± ``height_jitter``; with either above 0 the panel re-simulates the preview
with a tip drawn from the seed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import ipywidgets as w
import numpy as np

from afmkit.learn import augment as A
from afmkit.physics.simulator import AFMSimulator, SimulationParams, scan_center
from afmkit.plotting.interactive import augmentation_figure, update_augmentation_figure
from afmkit.structures.molecules import Molecule
from afmkit.widgets.core import Panel, int_slider, slider
from afmkit.widgets.previews import (
    best_view,
    follow_molecule,
    molecule_key,
    preview_params,
    preview_stack,
)

__all__ = ["augmentation_panel", "augmentation_steps"]


def augmentation_steps(
    stack: np.ndarray,
    seed: int = 0,
    *,
    n_window: int = 15,
    n_keep: int = 10,
    normalize: bool = True,
    noise_c: float = 0.1,
    max_shift: int = 3,
    cutout_holes: int = 5,
    cutout_p: float = 0.2,
    cutout_area: tuple[float, float] = (0.001, 0.01),
) -> dict[str, Any]:
    """Run the thesis's five augmentation steps (§3.4) on one stack, keeping every stage.

    Draws the random numbers in the same order as :func:`afmkit.learn.augment.augment` with the
    same seed, so ``stages["cutouts"]`` equals ``augment(stack[None], default_rng(seed), ...)[0]``
    (with ``cutout=cutout_holes > 0``).

    Parameters
    ----------
    stack
        (nx, ny, nz) Δf stack in Hz, slice 0 farthest.
    seed
        Seed of the ``numpy.random.Generator``.
    n_window, n_keep
        Scan-height randomisation: contiguous window of slices, and how many of it are kept.
    normalize
        Per-slice normalisation (mean 0, std 1).
    noise_c
        Noise strength c of Eq. 33 (dimensionless; 0 = off).
    max_shift
        Largest per-slice shift, pixels (0 = off).
    cutout_holes, cutout_p, cutout_area
        Cutout attempts per slice, probability of each, (min, max) area as a fraction of the
        slice.

    Returns
    -------
    dict
        The (nx, ny, k) stages ``"heights"``, ``"normalized"``, ``"noise"``, ``"shifted"``,
        ``"cutouts"``, and ``"indices"`` (kept slice indices), ``"shifts"`` ((k, 2) px or None),
        ``"boxes"`` ((k, holes, 5) or None).
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(stack, dtype=np.float32)[None]
    out: dict[str, Any] = {}
    h, idx = A.select_heights(X, rng, n_window, n_keep, return_indices=True)
    out["indices"] = idx[0]
    out["heights"] = h[0]
    x = A.normalize_slices(h) if normalize else h
    out["normalized"] = x[0]
    x = A.add_noise(x, rng, noise_c) if noise_c > 0 else x
    out["noise"] = x[0]
    out["shifts"] = None
    if max_shift > 0:
        x, shifts = A.shift_slices(x, rng, max_shift, return_shifts=True)
        out["shifts"] = shifts[0]
    out["shifted"] = x[0]
    out["boxes"] = None
    if cutout_holes > 0:
        x, boxes = A.cutouts(x, rng, cutout_holes, cutout_p, cutout_area, return_boxes=True)
        out["boxes"] = boxes[0]
    out["cutouts"] = x[0]
    return out


#: Tip-drawn preview stacks kept per panel (molecule, tilt and height).
_TIP_CACHE_SIZE = 16


def augmentation_panel(
    molecule: Molecule | Panel | None = None,
    *,
    pixels: int = 64,
    n_slices: int = 20,
    seed: int = 0,
) -> Panel:
    """Thesis §3.4: the five augmentation steps, each with its strength, before and after.

    The molecule (default 1S-camphor, best Eq. 25 view) is simulated on a preview grid
    (cached); every render re-runs :func:`augmentation_steps` with ``numpy.random.default_rng``
    seeded by the ``seed`` control, so the same settings always give the same images. The tip
    tilt radius and the height jitter (both 0 at first; the training data use 1.0 Å and
    0.25 Å) draw a tip from ``default_rng([seed, 0])`` as the training data do, and the stack is
    simulated with it (≈ 0.3 s, cached per tip).

    Controls: ``seed``, ``tilt_radius`` (Å) and ``height_jitter`` (Å), ``n_window`` and
    ``n_keep`` (slices), ``normalize``, ``noise_c`` (dimensionless, Eq. 33), ``max_shift``
    (px), ``cutout_holes`` (count), ``cutout_p`` (probability), ``cutout_area`` (largest
    rectangle, % of the slice), ``slice`` (which kept slice to show). Outputs: the drawn tip,
    the kept slice indices and five images: the chosen slice as simulated (Hz), normalised,
    with noise, shifted, with cutouts.

    Parameters
    ----------
    molecule
        Molecule (or a :func:`~afmkit.widgets.molecules.molecule_picker_panel` to follow), put
        into its best view.
    pixels
        Pixels per side of the 16 × 16 Å window.
    n_slices
        Simulated slices (thesis: 20).
    seed
        Initial seed.

    Returns
    -------
    Panel
        Attributes added: ``stages`` (the dict of :func:`augmentation_steps`), ``stack``
        (input, Hz), ``params`` (the :class:`afmkit.SimulationParams` it was simulated with:
        the drawn ``tilt`` and ``z_closest``, Å), ``figure``.
    """
    import plotly.graph_objects as go

    controls = {
        "seed": int_slider("seed", seed, 0, 99),
        "tilt_radius": slider("0. tip tilt radius", 0.0, 0.0, 2.0, 0.1, "Å",
                              tooltip="tip tilt drawn within this radius (Å); training: 1.0 Å"),
        "height_jitter": slider("0. height jitter ±", 0.0, 0.0, 1.0, 0.05, "Å",
                                tooltip="scan height drawn within ± this (Å); training: 0.25 Å"),
        "n_window": int_slider("1. height window", min(15, n_slices), 1, n_slices, unit="slices"),
        "n_keep": int_slider("1. kept slices", min(10, n_slices), 1, n_slices, unit="slices"),
        "normalize": w.Checkbox(value=True, description="2. normalise each slice"),
        "noise_c": slider("3. noise strength c", 0.1, 0.0, 0.5, 0.01, "× slice range"),
        "max_shift": int_slider("4. max shift", 3, 0, 8, unit="px"),
        "cutout_holes": int_slider("5. cutout attempts", 5, 0, 20, unit="per slice"),
        "cutout_p": slider("5. cutout probability", 0.2, 0.0, 1.0, 0.05),
        "cutout_area": slider("5. cutout max area", 1.0, 0.1, 5.0, 0.1, "% of slice"),
        "slice": int_slider("shown kept slice (0 = farthest)", 9, 0, n_slices - 1),
    }  # fmt: skip
    figure = go.FigureWidget(augmentation_figure(pixels))
    info = w.HTML()
    state: dict[str, Any] = {"mol": molecule, "key": None, "sim": None}
    base = preview_params(pixels, n_slices)
    tip_stacks: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def simulated(mol: Molecule, params: SimulationParams) -> np.ndarray:
        """Δf stack of ``mol`` with the drawn tip ``params`` (cached per molecule and tip)."""
        if params == base:
            return preview_stack(mol, pixels, n_slices)
        key = (molecule_key(mol), params.tilt, params.z_closest)
        if key not in tip_stacks:
            if state["sim"] is None:
                state["sim"] = AFMSimulator(base)
            state["sim"].params = params
            tip_stacks[key] = state["sim"](mol, center_xy=scan_center(mol))
            while len(tip_stacks) > _TIP_CACHE_SIZE:
                tip_stacks.popitem(last=False)
        tip_stacks.move_to_end(key)
        return tip_stacks[key]

    def render(v: dict[str, Any]) -> None:
        mol0 = follow_molecule(state["mol"])
        if molecule_key(mol0) != state["key"]:
            state["rotated"] = best_view(mol0, 0)
            state["key"] = molecule_key(mol0)
        radius, jitter = float(v["tilt_radius"]), float(v["height_jitter"])
        draw = np.random.default_rng([int(v["seed"]), 0])  # the training data's draw, seeded
        params = A.draw_tip(base, draw, radius, jitter) if radius or jitter else base
        stack = simulated(state["rotated"], params)
        n_window = int(v["n_window"])
        n_keep = min(int(v["n_keep"]), n_window)
        area = float(v["cutout_area"]) / 100.0
        normalize = bool(v["normalize"])
        st = augmentation_steps(
            stack, int(v["seed"]), n_window=n_window, n_keep=n_keep,
            normalize=normalize, noise_c=float(v["noise_c"]),
            max_shift=int(v["max_shift"]), cutout_holes=int(v["cutout_holes"]),
            cutout_p=float(v["cutout_p"]), cutout_area=(area / 10.0, area),
        )  # fmt: skip
        k = min(int(v["slice"]), n_keep - 1)
        idx = st["indices"]
        update_augmentation_figure(figure, stack, st, k, normalize, float(v["noise_c"]))
        panel.stages, panel.stack, panel.params = st, stack, params
        clipped = " (kept slices clipped to the window)" if int(v["n_keep"]) > n_window else ""
        tx, ty = params.tilt
        info.value = (
            f"{state['rotated'].name}: {pixels}×{pixels} px, {n_slices} slices; tip tilt "
            f"({tx:+.2f}, {ty:+.2f}) Å, z_closest {params.z_closest:.2f} Å "
            f"({params.z_closest - base.z_closest:+.2f} Å); kept slices {idx.tolist()}{clipped}; "
            f"showing kept slice {k} = simulated slice {idx[k]}"
        )

    panel = Panel(controls, render, [figure, info], title="Augmentation (thesis §3.4)")
    panel.figure = figure
    panel.stages, panel.stack, panel.params = {}, None, base
    if isinstance(molecule, Panel) and hasattr(molecule, "on_molecule"):
        molecule.on_molecule(lambda _m: panel.refresh())
    return panel
