"""Physics figures of notebooks 01–03 (Matplotlib): pair potentials, relaxation, Δf from F_z.

* :func:`plot_pair_curves` — Lennard-Jones, Coulomb and total energy and force of one atom pair
  (the figure of :func:`afmkit.widgets.physics.lj_panel`).
* :func:`plot_relaxation` — where the probe particle goes: lateral displacement arrows over a
  Δf slice and the bending trajectories along one scan line.
* :func:`plot_frequency_shift` — Giessibl's formula at one pixel: its weights, F_z(z), Δf(z)
  and the Δf slice (the figure of :func:`afmkit.widgets.physics.frequency_panel`).

Every function draws into a given figure or a new :class:`afmkit.plotting.figures.NotebookFigure`
and returns it. Units: Å, eV, e, N/m, Hz.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from afmkit.physics import frequency, pair_potentials, spectroscopy
from afmkit.physics.simulator import SimulationParams
from afmkit.plotting.figures import NotebookFigure

__all__ = ["plot_frequency_shift", "plot_pair_curves", "plot_relaxation"]


def plot_pair_curves(
    curves: pair_potentials.PairCurves,
    element_a: str = "C",
    element_b: str = "O",
    fig: Figure | None = None,
) -> Figure:
    """Energy and radial force of one atom pair: Lennard-Jones (Eq. 1), Coulomb and their sum.

    Parameters
    ----------
    curves
        The curves, from :func:`afmkit.physics.pair_potentials.pair_curves` (``r`` in Å, energies
        in eV, forces in eV/Å with positive = repulsive).
    element_a, element_b
        Element symbols of the pair, for the axis label.
    fig
        Figure to draw into (default a new :class:`~afmkit.plotting.figures.NotebookFigure`,
        9 × 3.6 in).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the pair energy (left, the minimum (r_m, −ε) marked) and the radial force.
    """
    r = np.asarray(curves.r, dtype=float)
    fig = fig or NotebookFigure(figsize=(9, 3.6), layout="constrained")
    ax_e, ax_f = fig.subplots(1, 2)
    for ax, (lj, coul, tot), unit in (
        (ax_e, (curves.e_lj, curves.e_coulomb, curves.e_total), "E (eV)"),
        (ax_f, (curves.f_lj, curves.f_coulomb, curves.f_total), "F (eV/Å), > 0 repulsive"),
    ):
        ax.plot(r, lj, label="Lennard-Jones")
        ax.plot(r, coul, label="Coulomb", ls="--")
        ax.plot(r, tot, label="total", color="k", lw=1.5)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(curves.r_m, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel(f"r between {element_a} and {element_b} (Å)")
        ax.set_ylabel(unit)
        low = min(lj.min(), coul.min(), tot.min())
        scale = max(abs(low), 1e-4)
        ax.set_ylim(-1.3 * scale, 1.3 * scale)
        ax.set_xlim(r[0], r[-1])
    ax_e.plot([curves.r_m], [-curves.eps], "o", color="C0")
    ax_e.annotate(
        "(r_m, −ε)", (curves.r_m, -curves.eps), textcoords="offset points", xytext=(6, -12)
    )
    ax_e.set_title("pair energy")
    ax_f.set_title("radial force")
    ax_e.legend(fontsize="small")
    return fig


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

    Left: the Δf slice with arrows from the tip apex (+ tilt) to the relaxed PP (lateral
    displacement, arrows drawn 1:1 in Å). Right: x–z trajectories of the PP while the tip
    approaches along the scan line, one curve per pixel: the PP is pushed sideways by the
    repulsive atoms and the flexible tip bends, which is what sharpens the bonds in the images.

    Parameters
    ----------
    result
        A :class:`afmkit.physics.simulator.SimulationResult` made with
        ``store_positions=True`` (positions (nx, ny, n_samples, 3) Å, Δf (nx, ny, n_slices) Hz).
    params
        Its :class:`afmkit.SimulationParams`.
    mol
        The molecule (atoms within 1 Å of the scan line are marked in the side view when given).
    slice_index
        Δf slice whose lower turning point the arrows show (−1 = closest).
    stride
        Draw every ``stride``-th pixel's arrow.
    row
        y pixel index of the side view (default: the row through the highest atom).
    fig
        Figure to draw into (default a new :class:`~afmkit.plotting.figures.NotebookFigure`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure with the two axes.

    Raises
    ------
    ValueError
        If ``result`` has no stored positions.
    """
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


def plot_frequency_shift(
    result: Any,
    params: SimulationParams,
    pixel: tuple[int, int],
    amplitude: float,
    f0: float,
    k_cantilever: float,
    height: float,
    reference_amplitude: float | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Giessibl's formula at one pixel: weights, F_z(z), Δf(z) and the Δf slice nearest a height.

    Parameters
    ----------
    result
        A :class:`afmkit.physics.simulator.SimulationResult` whose ``fz`` (nx, ny, n) eV/Å
        samples the approach every ``params.dz`` Å (index 0 highest), with ``center_xy`` (Å).
    params
        The :class:`afmkit.SimulationParams` it was simulated with (pixel grid, ``dz``).
    pixel
        ``(i, j)`` index of the spectroscopy point (marked with a red cross on the slice).
    amplitude
        Zero-to-peak amplitude A, Å.
    f0
        Cantilever resonance frequency, Hz.
    k_cantilever
        Cantilever spring constant, N/m.
    height
        Lower turning point above the top nucleus of the Δf slice to show, Å (the nearest one
        is shown).
    reference_amplitude
        Amplitude of the dashed comparison curve, Å (default the ASD-AFM value of
        :class:`afmkit.SimulationParams`, 0.5 Å); not drawn when equal to ``amplitude``.
    fig
        Figure to draw into (default a new :class:`~afmkit.plotting.figures.NotebookFigure`,
        11.25 × 7 in).

    Returns
    -------
    matplotlib.figure.Figure
        Four axes: the weights of Giessibl's sum (Hz per eV/Å), F_z(z) at the pixel, Δf(z) at
        the pixel (with the reference amplitude and the small-amplitude limit f0 k_ts / 2k)
        and the Δf slice.
    """
    dz = float(params.dz)
    ref_amp = SimulationParams().amplitude if reference_amplitude is None else reference_amplitude
    heights = spectroscopy.sample_heights(params, result.fz.shape[-1])
    i, j = int(pixel[0]), int(pixel[1])
    fz = np.asarray(result.fz[i, j], dtype=float)
    h_df, df = spectroscopy.df_from_force(fz, dz, amplitude, f0, k_cantilever, heights)
    h_ref, df_ref = spectroscopy.df_from_force(fz, dz, ref_amp, f0, k_cantilever, heights)
    small = spectroscopy.small_amplitude_df(fz, heights, f0, k_cantilever)
    h_all, df_all = spectroscopy.df_from_force(result.fz, dz, amplitude, f0, k_cantilever, heights)
    k = int(np.argmin(np.abs(h_all - height)))
    weights = frequency.df_weights(amplitude, dz, f0, k_cantilever)

    fig = fig or NotebookFigure(figsize=(11.25, 7), layout="constrained")
    (ax_w, ax_f), (ax_df, ax_img) = fig.subplots(2, 2)
    q = amplitude - dz * np.arange(len(weights))  # offset of each sample from the centre
    ax_w.bar(q, weights, width=0.8 * dz, color="tab:purple")
    ax_w.set_xlabel("q = z − z_centre of the sample (Å)")
    ax_w.set_ylabel("weight (Hz per eV/Å)")
    ax_w.set_title(f"Giessibl weights, A = {amplitude:.2f} Å ({len(weights)} samples)")
    ax_f.plot(heights, fz, color="k")
    ax_f.axhline(0, color="0.6", lw=0.8)
    ax_f.set_xlabel("PP rest height above the top nucleus (Å)")
    ax_f.set_ylabel("F_z (eV/Å)")
    ax_f.set_title(f"F_z(z) at pixel {(i, j)}")
    ax_df.plot(h_df, df, color="tab:blue", label=f"A = {amplitude:.2f} Å")
    if abs(amplitude - ref_amp) > 1e-9:
        ax_df.plot(
            h_ref, df_ref, color="tab:orange", ls="--", label=f"A = {ref_amp:g} Å (ASD-AFM)"
        )
    ax_df.plot(heights, small, color="0.4", ls=":", label="small-A limit f0 k_ts / 2k")
    ax_df.axvline(h_all[k], color="tab:green", lw=1)
    ax_df.set_xlabel("lower turning point above the top nucleus (Å)")
    ax_df.set_ylabel("Δf (Hz)")
    ax_df.set_title(f"Δf(z) at pixel {(i, j)} (f0 = {f0:.0f} Hz, k = {k_cantilever:.0f} N/m)")
    span = max(np.abs(np.r_[df, df_ref]).max(), 1e-3)
    ax_df.set_ylim(-1.2 * span, 1.2 * span)
    ax_df.set_xlim(heights.min(), heights.max())
    ax_df.legend(fontsize="small")
    extent = params.extent(result.center_xy)
    im = ax_img.imshow(
        df_all[:, :, k].T, origin="lower", extent=extent, cmap="gray", interpolation="nearest"
    )
    xs, ys = params.pixel_coordinates(result.center_xy)
    ax_img.plot(xs[i], ys[j], "+", color="tab:red", ms=12, mew=2)
    fig.colorbar(im, ax=ax_img, fraction=0.046, pad=0.03).set_label("Δf (Hz)")
    ax_img.set_xlabel("x (Å)")
    ax_img.set_ylabel("y (Å)")
    ax_img.set_title(f"Δf slice, lower turning point {h_all[k]:.2f} Å")
    return fig
