"""Schematic figures drawn by afmkit: the probe-particle geometry, the heights, the CNNs.

* :func:`probe_particle_figure` — side view of the Probe Particle Model (thesis Fig. 9 idea):
  metal tip apex, probe particle on its lateral and radial springs, the sample below, the force
  of the sample on the probe particle, the height and the oscillation, to scale in Å.
* :func:`height_convention_figure` — what a Δf stack's heights mean: top nucleus, the closest
  slice's lower turning point, tip apex and PP rest positions, the oscillation and the slice
  heights (slice 0 farthest).
* :func:`architecture_figure` — the DSH, ES or xyz CNN as one box per layer with its output
  shape, read from the Keras model itself (:func:`afmkit.learn.models.build_model`).

Every number on the physics figures comes from a :class:`afmkit.SimulationParams` and the
simulator's own height rule (:func:`afmkit.physics.simulator.lowest_rest_height`); every shape on
the architecture figure from the built model. Nothing is copied from an image file. The figures
are :class:`afmkit.plotting.figures.NotebookFigure` objects (no ``pyplot`` state; they render
headless with Agg). Units: Å, N/m, e, Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, ConnectionPatch, FancyBboxPatch, Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from afmkit.physics.simulator import SimulationParams, lowest_rest_height
from afmkit.plotting.figures import NotebookFigure, cpk_color
from afmkit.structures import elements
from afmkit.structures.molecules import Molecule

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["architecture_figure", "height_convention_figure", "probe_particle_figure"]

_Z_LABEL = "height above the top nucleus (Å)"
_TIP_NUMBER = 29  # the metal tip is drawn as copper (the model itself has no tip atoms)
_SPRING_COLOR = "#2a7ab0"
_FORCE_COLOR = "#c0392b"
_OSC_COLOR = "#7d3c98"


# ---------------------------------------------------------------------------------------------
# shared helpers of the physics schematics
# ---------------------------------------------------------------------------------------------
def _num(value: float) -> str:
    """A number as a short label (``0.25``, ``30``, ``2.5``), rounded to 4 significant digits."""
    return f"{float(value):.4g}"


def _sample() -> Molecule:
    """Planar benzene in the xy plane at z = 0 (Å), the sample of the physics schematics."""
    ang = np.arange(6) * np.pi / 3
    ring = np.c_[1.39 * np.cos(ang), 1.39 * np.sin(ang), np.zeros(6)]
    hyd = np.c_[2.47 * np.cos(ang), 2.47 * np.sin(ang), np.zeros(6)]
    return Molecule([6] * 6 + [1] * 6, np.r_[ring, hyd], name="benzene")


def _radius(z: int) -> float:
    """Drawn radius of an atom, Å: ``0.5 r_cov + 0.1`` as the molecule views of afmkit."""
    return 0.5 * float(elements.covalent_radius(z)) + 0.1


@dataclass
class _Heights:
    """The heights of one parameter set over the schematic sample, Å above its top nucleus."""

    z_low: float  # PP rest position at the closest slice's lower turning point
    z_far: float  # the same for slice 0 (farthest)
    apex_drop: float  # vertical distance apex → PP rest position (sqrt(L² − |tilt|²))
    tilt_x: float  # lateral rest offset along x, Å
    reference: str  # how z_low was found, as text with numbers
    vdw_top: float | None  # height of the vdW surface used by height_reference="vdw"
    vdw_symbol: str | None


def _heights(params: SimulationParams, mol: Molecule) -> _Heights:
    """Heights of ``params`` over ``mol`` (the simulator's own rule, ``lowest_rest_height``)."""
    z_top = float(np.max(mol.positions[:, 2]))
    z_low = lowest_rest_height(mol, params) - z_top
    rest = params.rest_offset()
    far = z_low + (params.n_slices - 1) * params.dz
    if params.height_reference == "vdw":
        radii = np.asarray(elements.vdw_radius(mol.numbers), dtype=float)
        i = int(np.argmax(mol.positions[:, 2] + radii))
        top = float(mol.positions[i, 2] + radii[i]) - z_top
        sym = elements.symbol(int(mol.numbers[i]))
        text = (f"R_vdW({sym}) + vdw_offset\n= {_num(radii[i])} + {_num(params.vdw_offset)} "
                f"= {_num(z_low)} Å")  # fmt: skip
        return _Heights(z_low, far, float(-rest[2]), float(rest[0]), text, top, sym)
    text = f"z_closest = {_num(params.z_closest)} Å"
    return _Heights(z_low, far, float(-rest[2]), float(rest[0]), text, None, None)


def _atom(ax: Axes, xy: tuple[float, float], z: int, *, ghost: bool = False, zorder: int = 3):
    """Draw one atom (CPK colour, black edge; ``ghost`` = dashed outline only)."""
    if ghost:
        circle = Circle(xy, _radius(z), facecolor="none", edgecolor="0.35", lw=1.0, ls="--",
                        zorder=zorder)  # fmt: skip
    else:
        circle = Circle(xy, _radius(z), facecolor=cpk_color(z), edgecolor="black", lw=0.8,
                        zorder=zorder)  # fmt: skip
    ax.add_patch(circle)
    return circle


def _draw_tip(ax: Axes, apex: tuple[float, float]) -> None:
    """A metal tip: the apex atom and two layers above it (a pyramid seen from the side)."""
    r = 2 * _radius(_TIP_NUMBER)
    x, z = apex
    rows = [(0, [0.0]), (1, [-0.5, 0.5]), (2, [-1.0, 0.0, 1.0])]
    for level, offsets in rows:
        for off in offsets:
            _atom(ax, (x + off * r, z + level * 0.87 * r), _TIP_NUMBER, zorder=2)


def _zigzag(p0, p1, n: int = 8, width: float = 0.16) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a spring drawn as a zigzag from ``p0`` to ``p1`` (data units), straight ends."""
    p0, p1 = np.asarray(p0, dtype=float), np.asarray(p1, dtype=float)
    d = p1 - p0
    length = float(np.hypot(*d))
    if length == 0:
        return np.array([p0[0]]), np.array([p0[1]])
    u, v = d / length, np.array([-d[1], d[0]]) / length
    t = np.r_[0.0, np.linspace(0.15, 0.85, 2 * n + 1), 1.0]
    side = np.r_[0.0, 0.0, np.tile([1.0, -1.0], n)[: 2 * n - 1], 0.0, 0.0]
    pts = p0 + np.outer(t * length, u) + np.outer(side * width, v)
    return pts[:, 0], pts[:, 1]


def _dimension(ax: Axes, x: float, z0: float, z1: float, text: str, color: str = "0.15",
               side: str = "left", fontsize: float = 8) -> None:  # fmt: skip
    """A vertical dimension arrow from ``z0`` to ``z1`` at ``x`` with its label beside it."""
    ax.annotate("", xy=(x, z1), xytext=(x, z0),
                arrowprops={"arrowstyle": "<|-|>", "color": color, "lw": 1.0,
                            "shrinkA": 0, "shrinkB": 0, "mutation_scale": 8})  # fmt: skip
    dx, ha = (-0.12, "right") if side == "left" else (0.12, "left")
    ax.text(x + dx, (z0 + z1) / 2, text, ha=ha, va="center", color=color, fontsize=fontsize)


def _sample_side_view(ax: Axes, mol: Molecule) -> None:
    """The sample seen from the side (x–z): its bonds as a line, atoms back to front."""
    pos = np.asarray(mol.positions)
    ax.plot([pos[:, 0].min(), pos[:, 0].max()], [0, 0], color="0.25", lw=2.0, zorder=1)
    for i in np.argsort(pos[:, 1]):  # far side first (viewer looks along +y)
        _atom(ax, (pos[i, 0], pos[i, 2]), int(mol.numbers[i]), zorder=2)


# ---------------------------------------------------------------------------------------------
# 1. the probe-particle geometry
# ---------------------------------------------------------------------------------------------
def probe_particle_figure(params: SimulationParams | None = None) -> Figure:
    """Side view of the Probe Particle Model, to scale (thesis Fig. 9, Hapala et al. 2014).

    The metal tip's apex atom carries the probe particle (PP: the O atom of a CO tip, or a Xe
    atom) on two springs: the radial spring ``k_rad`` keeps the PP at ``rest_length`` from the
    apex, the lateral spring ``k_lat`` pulls the PP's (x, y) offset from the apex back towards its
    rest offset (the tilt). The sample (benzene, seen edge-on) pulls and pushes the PP by
    Lennard-Jones + Coulomb forces; the PP relaxes sideways until the springs balance them, and
    the vertical force F_z on the relaxed PP is what the Δf images are made from. The tip is drawn
    at the lower turning point of the closest slice, from where it oscillates ``2·amplitude``
    upwards. The lateral displacement is an illustration (its size is not computed).

    Parameters
    ----------
    params : SimulationParams, optional
        Spring constants ``k_lat``, ``k_rad`` (N/m), ``rest_length`` and ``tilt`` (Å), probe and
        charge (e), heights (``z_closest``, ``height_reference``, ``vdw_offset``, Å) and the
        oscillation (``amplitude`` in Å zero-to-peak, ``f0`` in Hz, ``k_cantilever`` in N/m);
        default ``SimulationParams()``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, x and height in Å, labelled with the numbers of ``params``.
    """
    p = params if params is not None else SimulationParams()
    mol = _sample()
    h = _heights(p, mol)
    fig = NotebookFigure(figsize=(10.5, 7.0), layout="constrained")
    ax = fig.subplots()

    x_tip = 0.6
    apex = np.array([x_tip, h.z_low + h.apex_drop])
    rest = np.array([x_tip + h.tilt_x, h.z_low])
    r_pp, r_apex = _radius(p.probe_number), _radius(_TIP_NUMBER)
    # the relaxed PP: the tip is rotated about the apex (the radial spring keeps its length),
    # pushed sideways by the repulsive sample
    theta0 = np.arcsin(np.clip(h.tilt_x / p.rest_length, -1, 1))
    shift = min(r_pp + 0.6, 0.45 * p.rest_length)
    theta = np.arcsin(np.clip((h.tilt_x + shift) / p.rest_length, -0.95, 0.95))
    theta = max(theta, theta0 + 0.05)
    pp = apex + p.rest_length * np.array([np.sin(theta), -np.cos(theta)])

    _sample_side_view(ax, mol)
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":", zorder=0)
    if h.vdw_top is not None:
        ax.axhline(h.vdw_top, color="0.45", lw=0.8, ls="--", zorder=0)
        ax.text(-5.9, h.vdw_top + 0.12, f"vdW surface of the top atom ({h.vdw_symbol})",
                fontsize=8, color="0.3")  # fmt: skip

    # tip, rest axis, rest position, springs, PP
    _draw_tip(ax, tuple(apex))
    ax.plot([apex[0], rest[0]], [apex[1], rest[1]], color="0.45", lw=0.8, ls=":", zorder=1)
    _atom(ax, tuple(rest), p.probe_number, ghost=True, zorder=3)
    u = (pp - apex) / np.linalg.norm(pp - apex)
    xs, ys = _zigzag(apex + u * r_apex, pp - u * r_pp, n=7, width=0.17)
    ax.plot(xs, ys, color=_SPRING_COLOR, lw=1.6, zorder=2)
    xs, ys = _zigzag((rest[0], pp[1]), (pp[0] - r_pp, pp[1]), n=4, width=0.12)
    ax.plot(xs, ys, color=_SPRING_COLOR, lw=1.6, zorder=4)
    ax.plot([rest[0]] * 2, [pp[1] - 0.2, pp[1] + 0.2], color=_SPRING_COLOR, lw=2.0, zorder=4)
    _atom(ax, tuple(pp), p.probe_number, zorder=5)

    # forces of the sample on the PP: one pair interaction per atom, and their sum
    pos = np.asarray(mol.positions)
    near = np.argsort(np.hypot(pos[:, 0] - pp[0], pos[:, 2] - pp[1]))[:5]
    for i in near:
        ax.plot([pp[0], pos[i, 0]], [pp[1], pos[i, 2]], color=_FORCE_COLOR, lw=0.6, ls="--",
                alpha=0.6, zorder=1)  # fmt: skip
    f_dir = np.array([0.55, 0.84])
    ax.annotate("", xy=tuple(pp + (r_pp + 1.0) * f_dir), xytext=tuple(pp + r_pp * f_dir),
                arrowprops={"arrowstyle": "-|>", "color": _FORCE_COLOR, "lw": 2.0, "shrinkA": 0,
                            "shrinkB": 0, "mutation_scale": 14}, zorder=6)  # fmt: skip

    # oscillation of the tip: from this lower turning point 2A upwards
    x_osc = apex[0] + 2.9
    z0 = apex[1]
    _dimension(ax, x_osc, z0, z0 + 2 * p.amplitude, "", color=_OSC_COLOR)
    ax.plot([apex[0] + r_apex, x_osc + 0.15], [z0, z0], color=_OSC_COLOR, lw=0.7, ls=":")
    ax.plot([x_osc - 0.15, x_osc + 0.15], [z0 + p.amplitude] * 2, color=_OSC_COLOR, lw=1.0)

    # heights on the left
    x_dim = -3.4
    _dimension(ax, x_dim, 0.0, h.z_low, f"PP rest height\n{h.reference}")
    tilted = (f"\ntilt ({_num(p.tilt[0])}, {_num(p.tilt[1])}) Å:\n{_num(h.apex_drop)} Å vertical"
              if any(p.tilt) else "")  # fmt: skip
    _dimension(ax, x_dim, h.z_low, apex[1], f"rest length {_num(p.rest_length)} Å{tilted}")
    for z in (h.z_low, apex[1]):
        ax.plot([x_dim, min(rest[0], apex[0]) - 0.5], [z, z], color="0.6", lw=0.6, ls=":")

    # labels on the right
    x_txt = x_osc + 0.9
    charge = f"{p.charge:+.2f} e"
    pp_name = ("O atom of the CO" if p.probe == "CO" else f"{p.probe} atom")
    notes = [
        (apex + (1.5 * r_apex, 2.2), f"metal tip; apex atom at {_num(apex[1])} Å"),
        ((x_osc, z0 + p.amplitude),
         f"oscillation of the tip: amplitude A = {_num(p.amplitude)} Å zero-to-peak\n"
         f"({_num(2 * p.amplitude)} Å peak-to-peak), f0 = {_num(p.f0 / 1000)} kHz, "
         f"k = {_num(p.k_cantilever)} N/m"),
        (apex + u * (0.5 * p.rest_length) + (0.2, 0.0),
         f"radial spring k_rad = {_num(p.k_rad)} N/m\nkeeps |PP − apex| ≈ {_num(p.rest_length)} Å"),
        (pp + (r_pp * 0.7, -r_pp * 0.7),
         f"probe particle ({pp_name}), Q = {charge}\nrelaxed: pushed sideways by the sample"),
        (pp + (r_pp + 0.7) * f_dir,
         "force of the sample on the PP\n(Lennard-Jones + Coulomb, all atoms);\n"
         "its z component F_z is recorded"),
    ]
    notes.sort(key=lambda note: -note[0][1])  # top to bottom, so the leader lines do not cross
    z_text = np.linspace(apex[1] + 2.4, -0.2, len(notes))
    for (target, text), zt in zip(notes, z_text, strict=True):
        ax.annotate(text, xy=tuple(target), xytext=(x_txt, zt), fontsize=8, va="center",
                    arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6,
                                "shrinkA": 2, "shrinkB": 2})  # fmt: skip
    ax.annotate(f"lateral spring k_lat = {_num(p.k_lat)} N/m:\npulls the PP's x, y back\n"
                "to the rest offset", xy=(0.5 * (rest[0] + pp[0] - r_pp), pp[1] + 0.1),
                xytext=(x_dim + 0.25, h.z_low + 0.55 * h.apex_drop), fontsize=8, va="center",
                arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6,
                            "shrinkA": 2, "shrinkB": 2})  # fmt: skip
    ax.text(rest[0] - r_pp - 0.1, rest[1] - 0.05, "rest\nposition", ha="right", va="top",
            fontsize=7, color="0.35")  # fmt: skip
    ax.text(pos[:, 0].min(), -0.75, "sample: benzene, edge-on; top nucleus at z = 0",
            fontsize=8, va="top", color="0.25")  # fmt: skip

    ax.set_aspect("equal")
    ax.set_xlim(-6.5, x_txt + 6.6)
    ax.set_ylim(-1.4, apex[1] + 3.2)
    ax.set_xlabel("x (Å)")
    ax.set_ylabel(_Z_LABEL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Probe Particle Model, {p.probe} tip (to scale; drawn at the closest slice's "
                 "lower turning point)")  # fmt: skip
    return fig


# ---------------------------------------------------------------------------------------------
# 2. the height convention
# ---------------------------------------------------------------------------------------------
def height_convention_figure(params: SimulationParams | None = None) -> Figure:
    """What the heights of a Δf stack mean (the convention of :class:`afmkit.SimulationParams`).

    Heights are those of the probe particle's **rest position** (tip apex minus the rest offset,
    not the relaxed PP, not the apex) above the **top nucleus** of the molecule. ``z_closest`` is
    that height at the **lower turning point** of the oscillation in the **closest** slice (with
    ``height_reference="vdw"`` it is replaced by ``R_vdW(top atom) + vdw_offset``). The tip
    oscillates from there ``2·amplitude`` upwards (``amplitude`` = A, zero-to-peak; ASD-AFM's and
    ppafm's "1 Å" is peak-to-peak, A = 0.5 Å). Slice k (0 = farthest) has its lower turning point
    at ``z_closest + (n_slices − 1 − k)·dz``; F_z is sampled every ``dz`` from the closest lower
    turning point up to the farthest upper one.

    Left: the geometry to scale (top nucleus, PP rest positions and apex at both turning points of
    the closest slice, the band of slice heights). Right: the slices, each with its lower and upper
    turning point, and the F_z samples.

    Parameters
    ----------
    params : SimulationParams, optional
        ``z_closest``, ``height_reference``, ``vdw_offset``, ``amplitude``, ``dz``,
        ``rest_length``, ``tilt`` (Å) and ``n_slices``; default ``SimulationParams()``.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes; heights in Å above the top nucleus of the schematic sample (benzene).
    """
    p = params if params is not None else SimulationParams()
    mol = _sample()
    h = _heights(p, mol)
    a, n = p.amplitude, p.n_slices
    heights = h.z_low + p.slice_heights() - p.slice_heights()[-1]  # lower turning points, Å
    z_apex = h.z_low + h.apex_drop
    z_samples = h.z_low + p.dz * np.arange(p.df_samples)

    fig = NotebookFigure(figsize=(12.0, 7.0), layout="constrained")
    ax, az = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1.0]})

    # --- left: the geometry of the closest slice, to scale
    for x in (-1.39, 0.0, 1.39):
        _atom(ax, (x, 0.0), 6, zorder=2)
    ax.plot([-2.2, 2.2], [0, 0], color="0.25", lw=2.0, zorder=1)
    if h.vdw_top is not None:
        ax.plot([-2.4, 2.4], [h.vdw_top] * 2, color="0.45", lw=0.9, ls="--", zorder=0)
    band_top = h.z_far + 2 * a
    ax.add_patch(Rectangle((-0.95, h.z_low), 1.9, band_top - h.z_low, color="#f5b041",
                           alpha=0.3, lw=0, zorder=0))  # fmt: skip
    _atom(ax, (0.0, h.z_low), p.probe_number, zorder=4)
    _atom(ax, (0.0, h.z_low + 2 * a), p.probe_number, ghost=True, zorder=4)
    _draw_tip(ax, (0.0, z_apex))
    _atom(ax, (0.0, z_apex + 2 * a), _TIP_NUMBER, ghost=True, zorder=5)
    ax.plot([0, 0], [h.z_low, z_apex], color=_SPRING_COLOR, lw=1.4, zorder=3)
    dims = [(0.0, h.z_low, f"z_closest\n= {_num(p.z_closest)} Å")]
    if h.vdw_top is not None:
        dims = [(0.0, h.vdw_top, f"R_vdW({h.vdw_symbol})\n= {_num(h.vdw_top)} Å"),
                (h.vdw_top, h.z_low, f"vdw_offset\n= {_num(p.vdw_offset)} Å")]  # fmt: skip
    drop = "rest length" if not any(p.tilt) else "rest offset,\nvertical part"
    dims.append((h.z_low, z_apex, f"{drop}\n= {_num(h.apex_drop)} Å"))
    for z0, z1, text in dims:
        _dimension(ax, -2.0, z0, z1, text, fontsize=7.5)
    _dimension(ax, 1.25, h.z_low, h.z_low + a, "A", color=_OSC_COLOR, side="right")
    _dimension(ax, 1.95, h.z_low, h.z_low + 2 * a, "2A", color=_OSC_COLOR, side="right")

    levels = [
        (0.0, "top nucleus: z = 0 (the reference)"),
        (h.z_low, f"closest slice ({n - 1}), lower turning point: {_num(h.z_low)} Å"),
        (h.z_low + a, f"oscillation centre (+A, A = {_num(a)} Å): {_num(h.z_low + a)} Å"),
        (h.z_low + 2 * a, f"upper turning point (+2A): {_num(h.z_low + 2 * a)} Å"),
        (h.z_far, f"slice 0 (farthest), lower turning point: {_num(h.z_far)} Å"),
        (z_apex, f"tip apex at the lower turning point: {_num(z_apex)} Å"),
    ]
    if h.vdw_top is not None:
        levels.append((h.vdw_top, f"vdW surface of the top atom ({h.vdw_symbol}): "
                                  f"{_num(h.vdw_top)} Å"))  # fmt: skip
    levels.sort()
    label_z = _spread([z for z, _ in levels], gap=0.42)
    x_lab = 3.0
    for (z, text), zl in zip(levels, label_z, strict=True):
        ax.plot([-1.0, 2.4, x_lab - 0.1], [z, z, zl], color="0.55", lw=0.6, ls=":", zorder=0)
        ax.text(x_lab, zl, text, fontsize=7.5, va="center")
    ax.set_xlim(-4.6, 11.6)
    ax.set_ylim(-1.2, max(z_apex + 2 * a + 2.5, label_z[-1] + 0.5))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_xlabel("(lateral position not to scale)")
    ax.set_ylabel(_Z_LABEL)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title("closest slice at its lower turning point (to scale; dashed: upper)",
                 fontsize=10)  # fmt: skip

    # --- right: the slices
    k = np.arange(n)
    for z in z_samples:
        az.axhline(z, color="0.88", lw=0.6, zorder=0)
    az.vlines(k, heights, heights + 2 * a, color=_OSC_COLOR, lw=1.2, alpha=0.45, zorder=1)
    az.plot(k, heights + 2 * a, "v", color=_OSC_COLOR, ms=4, label="upper turning point (+2A)")
    az.plot(k, heights + a, "_", color=_OSC_COLOR, ms=6, label="oscillation centre (+A)")
    az.plot(k, heights, "o", color="#b9770e", ms=4.5, zorder=3,
            label="lower turning point = the slice's height")  # fmt: skip
    span = heights[0] + 2 * a - h.z_low
    for idx, text, sign, drop in ((0, "slice 0 (farthest)", 1, 0.5),
                                  (n - 1, f"slice {n - 1} (closest)", -1, 0.12)):
        az.annotate(f"{text}:\n{_num(heights[idx])} Å", xy=(idx, heights[idx]),
                    xytext=(idx + sign * 0.1 * max(n - 1, 1), heights[idx] - drop * span),
                    ha="left" if sign > 0 else "right", va="top", fontsize=8,
                    arrowprops={"arrowstyle": "-", "color": "0.4", "lw": 0.7})  # fmt: skip
    az.text(0.02, 0.98,
            f"slice k: lower turning point {_num(h.z_low)} Å + ({n} − 1 − k) · dz, "
            f"dz = {_num(p.dz)} Å\n"
            f"grey lines: the {p.df_samples} heights where F_z is computed (approach steps,\n"
            f"every dz); the Δf of slice k uses those from its lower to its upper turning point",
            transform=az.transAxes, fontsize=7.5, va="top")  # fmt: skip
    az.set_ylim(h.z_low - 0.25 * span - 0.1, h.z_low + 1.35 * span + 0.1)
    az.set_xlim(-0.06 * max(n, 4) - 0.5, n - 1 + 0.06 * max(n, 4) + 0.5)
    az.xaxis.set_major_locator(MaxNLocator(integer=True))
    az.set_xlabel("slice index k (0 = farthest from the sample, last = closest)")
    az.set_ylabel("PP rest height above the top nucleus (Å)")
    az.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3,
              frameon=False)  # fmt: skip
    az.set_title(f"the {n} slices, far → close (zoom into the shaded band)", fontsize=10)

    # the zoom: the band of the left panel opens into the right panel
    lo, hi = az.get_ylim()
    for z_left, z_right in ((h.z_low, lo), (band_top, hi)):
        fig.add_artist(ConnectionPatch(xyA=(0.95, z_left), coordsA=ax.transData,
                                       xyB=(0.0, z_right), coordsB=az.get_yaxis_transform(),
                                       color="#f0b27a", lw=0.8, ls="--"))  # fmt: skip
    fig.suptitle("Height convention: heights of the PP rest position (apex − rest offset) above "
                 "the top nucleus", fontsize=11)  # fmt: skip
    return fig


def _spread(values: list[float], gap: float) -> list[float]:
    """Label heights for sorted ``values``: each pushed up until it is ``gap`` above the last."""
    out = list(values)
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + gap)
    return out


# ---------------------------------------------------------------------------------------------
# 3. the CNN architectures
# ---------------------------------------------------------------------------------------------
_TABLES = {"dsh": "thesis Table 2", "es": "thesis Table 3", "xyz": "thesis Table 4"}
_NAMES = {"dsh": "DSH", "es": "ES", "xyz": "xyz"}
_PURPOSE = {
    "dsh": "Δf stack → Atomic Disks, vdW Spheres, Height Map",
    "es": "CO- and Xe-tip Δf stacks → Electrostatic Map, Height Map",
    "xyz": "Δf stack → atom classes and offsets on a 16 × 16 grid",
}
#: Box colours by block type.
_BLOCK_COLORS = {
    "input": "#d5d8dc",
    "conv3d": "#aed6f1",
    "conv2d": "#a9dfbf",
    "pool": "#f9e79f",
    "upsample": "#f5cba7",
    "reshape": "#e8daef",
    "other": "#ffffff",
}
_LEGEND = [("input", "input"), ("conv3d", "Conv3D"), ("conv2d", "Conv2D"),
           ("pool", "average pooling"), ("upsample", "upsampling ×2"),
           ("reshape", "reshape / concatenate")]  # fmt: skip


@dataclass
class _Block:
    """One box: a main layer with the padding, activation and trivial reshapes merged in."""

    name: str
    kind: str
    lines: list[str]
    shape: str
    params: int
    output: str | None = None  # the model output this block produces
    preds: list[str] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)


def _inbound(layer_config: dict[str, Any]) -> list[str]:
    """Names of the layers feeding one layer, from a functional model's config."""
    found: list[str] = []

    def visit(obj: Any) -> None:
        if isinstance(obj, dict):
            history = obj.get("config", {}).get("keras_history") if "config" in obj else None
            if history is not None:
                found.append(history[0])
            else:
                for value in obj.values():
                    visit(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                visit(value)

    visit(layer_config.get("inbound_nodes", []))
    return found


def _shape(shape: Any) -> str:
    """A Keras shape without the batch axis, as ``(128, 128, 10)``."""
    return str(tuple(int(v) for v in tuple(shape)[1:]))


def _sizes(values: Any) -> str:
    return "×".join(str(int(v)) for v in values)


def _describe(layer: Any, n_inputs: int) -> tuple[str, list[str]]:
    """Block type and text lines of one main layer with ``n_inputs`` inbound layers."""
    cls = type(layer).__name__
    if cls == "InputLayer":
        return "input", [f"Input '{layer.name}' (Δf stack)"]
    if cls in ("Conv2D", "Conv3D"):
        n = layer.filters
        act = layer.activation.__name__
        return cls.lower(), [f"{cls} {_sizes(layer.kernel_size)}, {n} filter{'s' * (n != 1)}",
                             {"linear": "no activation", "relu": "ReLU"}.get(act, act)]
    if "Pooling" in cls:
        kind = "AvgPool" if "Average" in cls else "MaxPool"
        return "pool", [f"{kind}{cls[-2:]} {_sizes(layer.pool_size)}"]
    if cls.startswith("UpSampling"):
        sizes = np.atleast_1d(layer.size)
        size = str(int(sizes[0])) if len(set(sizes.tolist())) == 1 else _sizes(sizes)
        return "upsample", [f"{cls} ×{size}, {layer.interpolation}"]
    if cls == "Reshape":
        merged = len(layer.input.shape) == 5 and len(layer.output.shape) == 4
        return "reshape", ["Reshape: z slices → channels" if merged else "Reshape"]
    if cls == "Concatenate":
        return "reshape", [f"Concatenate {n_inputs} inputs (channels)"]
    return "other", [cls]


def _blocks(model: Any) -> dict[str, _Block]:
    """The model as boxes, in Keras's (topological) layer order.

    Padding is merged into the conv that follows it, activations and trivial reshapes (adding or
    dropping a trailing axis of 1) into the layer before them.
    """
    config = model.get_config()
    inbound = {c["name"]: _inbound(c) for c in config["layers"]}
    outputs = {o[0] for o in config["output_layers"]}
    owner: dict[str, str] = {}  # layer name → block name
    blocks: dict[str, _Block] = {}
    for layer in model.layers:
        cls = type(layer).__name__
        preds = inbound[layer.name]
        out_shape = tuple(layer.output.shape)
        if cls.startswith("SymmetricPadding") or cls.startswith("ZeroPadding"):
            owner[layer.name] = owner[preds[0]]  # merged into the conv that follows
            continue
        src = owner[preds[0]] if preds else None
        in_shape = tuple(model.get_layer(preds[0]).output.shape) if preds else None
        trivial_reshape = cls == "Reshape" and in_shape is not None and (
            out_shape == (*in_shape, 1) or in_shape == (*out_shape, 1))
        if cls in ("LeakyReLU", "ReLU", "Activation") or trivial_reshape:
            block = blocks[src]
            owner[layer.name] = src
            if cls == "LeakyReLU":
                block.lines[-1] = f"LeakyReLU {_num(layer.negative_slope)}"
            elif cls != "Reshape":
                block.lines[-1] = type(layer).__name__
            else:
                block.shape = f"{block.shape} → {_shape(out_shape)}"
                if out_shape == (*in_shape, 1):
                    block.lines.append("+ channel axis")
            block.params += layer.count_params()
            if layer.name in outputs:
                block.output = layer.name
            continue
        kind, lines = _describe(layer, len(preds))
        block = _Block(layer.name, kind, lines, _shape(out_shape), layer.count_params(),
                       output=layer.name if layer.name in outputs else None)  # fmt: skip
        block.preds = [owner[q] for q in preds]
        owner[layer.name] = layer.name
        blocks[layer.name] = block
    for block in blocks.values():
        for q in block.preds:
            blocks[q].succs.append(block.name)
    return blocks


def _chains(blocks: dict[str, _Block]) -> list[list[str]]:
    """Maximal linear runs of blocks (split at forks and joins), in topological order."""
    chains, seen = [], set()
    for name, block in blocks.items():
        if name in seen:
            continue
        pred = blocks[block.preds[0]] if len(block.preds) == 1 else None
        if pred is not None and len(pred.succs) == 1:
            continue  # not a chain start; it is reached from its predecessor
        chain = [name]
        while len(blocks[chain[-1]].succs) == 1:
            nxt = blocks[chain[-1]].succs[0]
            if len(blocks[nxt].preds) != 1:
                break
            chain.append(nxt)
        seen.update(chain)
        chains.append(chain)
    return chains


def _layout(blocks: dict[str, _Block], chains: list[list[str]], inputs: list[str]):
    """Column, row and direction of every block, and the input and output chains.

    Chains from the inputs and the shared chains run down, chains that end at an output run up
    (the output on top) from the row where they branch off.
    """
    place: dict[str, tuple[int, int, str]] = {}
    starts = [ch for ch in chains if ch[0] in inputs]
    ends = [ch for ch in chains if ch not in starts and not blocks[ch[-1]].succs]
    middle = [ch for ch in chains if ch not in starts and ch not in ends]
    col = 0
    for ch in starts:
        for r, b in enumerate(ch):
            place[b] = (col, r, "down")
        col += 1
    for ch in middle:
        preds = [place[q] for q in blocks[ch[0]].preds]
        c = preds[-1][0]
        r0 = max(pr[1] for pr in preds) + 1
        for r, b in enumerate(ch):
            place[b] = (c, r0 + r, "down")
    for ch in ends:
        r0 = place[blocks[ch[0]].preds[0]][1]
        for r, b in enumerate(ch):
            place[b] = (col, r0 - r, "up")
        col += 1
    shift = -min(r for _, r, _ in place.values())
    return {b: (c, r + shift, d) for b, (c, r, d) in place.items()}, starts, ends


def architecture_figure(kind: str) -> Figure:
    """The DSH, ES or xyz CNN as a block diagram with the output shape of every layer.

    The model is built with :func:`afmkit.learn.models.build_model` and read layer by layer: one
    box per convolution (its symmetric padding and its activation merged in), pooling,
    upsampling, reshape or concatenation, with the output shape (without the batch axis: x, y
    [, z], channels) and the number of parameters. Encoders run down the left columns, the
    decoder branches (DSH, ES) or heads (xyz) run up on the right with their outputs on top.
    Imports Keras (this function only).

    Parameters
    ----------
    kind : {"dsh", "es", "xyz"}
        The model.

    Returns
    -------
    matplotlib.figure.Figure
        The block diagram; the title gives the parameter count of the model.

    Raises
    ------
    ValueError
        For an unknown ``kind``.
    """
    if kind not in _TABLES:
        raise ValueError(f"model kind must be one of {sorted(_TABLES)}, got {kind!r}")
    from afmkit.learn.models import build_model

    model = build_model(kind)
    blocks = _blocks(model)
    chains = _chains(blocks)
    inputs = [layer.name for layer in model.layers if type(layer).__name__ == "InputLayer"]
    place, starts, ends = _layout(blocks, chains, inputs)
    n_cols = 1 + max(c for c, _, _ in place.values())
    n_rows = 1 + max(r for _, r, _ in place.values())

    col_in, row_in = 2.55, 0.62
    fig = NotebookFigure(figsize=(n_cols * col_in + 0.3, n_rows * row_in + 1.6))
    ax = fig.add_axes((0.01, 0.09, 0.98, 0.83))
    ax.set_axis_off()
    hw, hh = 0.44, 0.37  # box half-width (columns) and half-height (rows)
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(-(n_rows - 1) - 0.95, 0.85)

    def xy(name: str) -> tuple[float, float]:
        c, r, _ = place[name]
        return float(c), -float(r)

    for name, block in blocks.items():
        x, y = xy(name)
        edge = 2.0 if block.output else 0.8
        ax.add_patch(FancyBboxPatch((x - hw, y - hh), 2 * hw, 2 * hh,
                                    boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor=_BLOCK_COLORS[block.kind], edgecolor="0.2",
                                    lw=edge, zorder=2))  # fmt: skip
        title = block.lines[0]
        if block.output:
            title = f"{title} → '{block.output}'"
        sub = " · ".join([*block.lines[1:], *([f"{block.params:,} params"] if block.params
                                              else [])])  # fmt: skip
        top, bottom = (0.19, -0.21) if sub else (0.1, -0.12)
        ax.text(x, y + top, title, ha="center", va="center", fontsize=7, zorder=3)
        if sub:
            ax.text(x, y - 0.01, sub, ha="center", va="center", fontsize=6.5, color="0.25",
                    zorder=3)  # fmt: skip
        ax.text(x, y + bottom, block.shape, ha="center", va="center", fontsize=7.2,
                fontweight="bold", zorder=3)  # fmt: skip

    def exit_entry(a: str, b: str):
        (xa, ya), (xb, yb) = xy(a), xy(b)
        ea = (xa, ya - hh) if place[a][2] == "down" else (xa, ya + hh)
        eb = (xb, yb + hh) if place[b][2] == "down" else (xb, yb - hh)
        return ea, eb

    arrow = {"arrowstyle": "-|>", "color": "0.3", "lw": 0.9, "shrinkA": 0, "shrinkB": 0,
             "mutation_scale": 9}  # fmt: skip
    for name, block in blocks.items():
        for succ in block.succs:
            (xa, ya), (xb, yb) = exit_entry(name, succ)
            if xa == xb:
                ax.annotate("", xy=(xb, yb), xytext=(xa, ya), arrowprops=arrow, zorder=1)
                continue
            if place[name][2] == "down" and place[succ][2] == "up":
                y_route = min(ya, yb) - 0.26
            else:
                y_route = 0.5 * (ya + yb)
            ax.plot([xa, xa, xb], [ya, y_route, y_route], color="0.3", lw=0.9, zorder=1)
            ax.annotate("", xy=(xb, yb), xytext=(xb, y_route), arrowprops=arrow, zorder=1)

    # column headers
    for ch in starts:
        c, r, _ = place[ch[0]]
        text = "encoder" + (f" ('{ch[0]}' input)" if len(starts) > 1 else " → latent")
        ax.text(c, -r + hh + 0.2, text, ha="center", va="bottom", fontsize=9, fontweight="bold")
    for ch in ends:
        c, r, _ = place[ch[-1]]
        up = any(blocks[b].kind == "upsample" for b in ch)
        text = f"{'decoder' if up else 'head'}: '{blocks[ch[-1]].output}'"
        ax.text(c, -r + hh + 0.2, text, ha="center", va="bottom", fontsize=9, fontweight="bold")

    total = model.count_params()
    fig.suptitle(f"{_NAMES[kind]} model ({_TABLES[kind]}): {_PURPOSE[kind]}\n"
                 f"{total:,} parameters", fontsize=11, y=0.995)  # fmt: skip
    used = {block.kind for block in blocks.values()}
    handles = [Patch(facecolor=_BLOCK_COLORS[k], edgecolor="0.2", label=label)
               for k, label in _LEGEND if k in used]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7.5,
               frameon=False, bbox_to_anchor=(0.5, 0.035))  # fmt: skip
    fig.text(0.5, 0.012,
             "Shapes without the batch axis: (x, y, z, channels) in the 3D encoder, "
             "(x, y, channels) after it.\nEvery convolution: stride 1, symmetric ('reflective') "
             "padding that keeps the size. Bold boxes: the outputs.",
             ha="center", va="bottom", fontsize=7.5, color="0.25")  # fmt: skip
    return fig
