"""Schematic figures (afmkit.plotting.schematics): probe particle, heights, CNN architectures."""

from __future__ import annotations

import re
from functools import cache

import pytest
from matplotlib.text import Text

from afmkit import SimulationParams
from afmkit.plotting.figures import NotebookFigure
from afmkit.plotting.schematics import (
    architecture_figure,
    height_convention_figure,
    probe_particle_figure,
)


def texts(fig) -> str:
    """Every text drawn on the figure (titles, labels, annotations), one per line."""
    return "\n".join(t.get_text() for t in fig.findobj(Text) if t.get_text())


def renders(fig) -> bool:
    return isinstance(fig, NotebookFigure) and fig._repr_png_()[:4] == b"\x89PNG"


# --------------------------------------------------------------------------------------------
# the probe particle
# --------------------------------------------------------------------------------------------


def test_probe_particle_figure_labels_the_default_parameters():
    fig = probe_particle_figure()
    assert renders(fig)
    text = texts(fig)
    for label in ("k_lat = 0.25 N/m", "k_rad = 30 N/m", "rest length 3 Å", "z_closest = 2.5 Å",
                  "A = 0.5 Å zero-to-peak", "1 Å peak-to-peak", "Q = -0.10 e", "apex atom at 5.5 Å",
                  "f0 = 30.3 kHz", "F_z"):  # fmt: skip
        assert label in text, label
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x (Å)" and "(Å)" in ax.get_ylabel()


def test_probe_particle_figure_follows_the_parameters():
    params = SimulationParams(probe="Xe", k_lat=0.5, k_rad=20.0, rest_length=4.0, z_closest=3.0,
                              amplitude=1.0, tilt=(0.5, 0.0))  # fmt: skip
    text = texts(probe_particle_figure(params))
    for label in ("k_lat = 0.5 N/m", "k_rad = 20 N/m", "rest length 4 Å", "z_closest = 3 Å",
                  "A = 1 Å zero-to-peak", "Xe atom", "Q = +0.30 e", "tilt (0.5, 0) Å"):  # fmt: skip
        assert label in text, label
    assert "k_lat = 0.25 N/m" not in text and "Xe tip" in text
    # the apex hangs sqrt(L² − tilt²) above the PP rest position
    assert f"apex atom at {3.0 + (4.0**2 - 0.5**2) ** 0.5:.4g} Å" in text


def test_probe_particle_figure_with_the_vdw_height_rule():
    text = texts(probe_particle_figure(SimulationParams(height_reference="vdw", vdw_offset=0.9)))
    # benzene's top atom by z + R_vdW is a carbon (1.7 Å), z_closest is not used
    assert "R_vdW(C) + vdw_offset\n= 1.7 + 0.9 = 2.6 Å" in text
    assert "z_closest" not in text


# --------------------------------------------------------------------------------------------
# the height convention
# --------------------------------------------------------------------------------------------


def test_height_convention_figure_defaults():
    fig = height_convention_figure()
    assert renders(fig)
    text = texts(fig)
    p = SimulationParams()
    assert p.n_slices == 20 and p.z_closest == 2.5 and p.dz == 0.1 and p.amplitude == 0.5
    for label in (
        "z_closest\n= 2.5 Å",
        "closest slice (19), lower turning point: 2.5 Å",  # z_closest is the lower turning point
        "upper turning point (+2A): 3.5 Å",  # 2A higher
        "oscillation centre (+A, A = 0.5 Å): 3 Å",
        "slice 0 (farthest), lower turning point: 4.4 Å",  # 2.5 + 19 · 0.1
        "tip apex at the lower turning point: 5.5 Å",  # + rest length 3 Å
        "top nucleus: z = 0",
        "slice 0 (farthest):\n4.4 Å",
        "slice 19 (closest):\n2.5 Å",
        f"the {p.df_samples} heights where F_z is computed",
    ):
        assert label in text, label
    slices = fig.axes[1]
    lower = [line for line in slices.lines if line.get_label().startswith("lower turning point")]
    assert len(lower) == 1
    z = lower[0].get_ydata()
    assert len(z) == 20 and z[0] == pytest.approx(4.4) and z[-1] == pytest.approx(2.5)


def test_height_convention_figure_follows_the_parameters():
    params = SimulationParams(z_closest=3.0, n_slices=10, dz=0.2, amplitude=0.25,
                              rest_length=4.0)  # fmt: skip
    text = texts(height_convention_figure(params))
    for label in ("z_closest\n= 3 Å", "closest slice (9), lower turning point: 3 Å",
                  "upper turning point (+2A): 3.5 Å", "slice 0 (farthest), lower turning point: "
                  "4.8 Å", "tip apex at the lower turning point: 7 Å", "rest length\n= 4 Å",
                  "the 10 slices"):  # fmt: skip
        assert label in text, label
    assert "2.5 Å" not in text


def test_height_convention_figure_with_the_vdw_height_rule():
    text = texts(height_convention_figure(SimulationParams(height_reference="vdw")))
    for label in ("R_vdW(C)\n= 1.7 Å", "vdw_offset\n= 0.8 Å", "vdW surface of the top atom (C)",
                  "closest slice (19), lower turning point: 2.5 Å"):  # fmt: skip
        assert label in text, label
    assert "z_closest\n=" not in text


# --------------------------------------------------------------------------------------------
# the architectures
# --------------------------------------------------------------------------------------------


@cache
def model(kind: str):
    from afmkit.learn.models import build_model

    return build_model(kind)


@pytest.fixture(scope="module", params=["dsh", "es", "xyz"])
def drawn(request):
    return request.param, architecture_figure(request.param)


def test_architecture_figure_draws_and_counts_the_parameters(drawn):
    kind, fig = drawn
    assert renders(fig)
    text = texts(fig)
    total = model(kind).count_params()
    assert f"{total:,} parameters" in fig.get_suptitle()
    # the boxes' parameter counts add up to the model's
    boxes = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) params", text)]
    assert sum(boxes) == total


def test_architecture_figure_shows_every_layer_shape(drawn):
    kind, fig = drawn
    text = texts(fig)
    m = model(kind)
    for layer in m.layers:
        if type(layer).__name__.startswith("SymmetricPadding"):
            continue  # merged into its conv (the conv shows the size it keeps)
        assert str(tuple(layer.output.shape)[1:]) in text, layer.name
    for name in m.output_names:
        assert f"'{name}'" in text, name


@pytest.mark.parametrize(
    "kind, shapes",
    [
        ("dsh", ["(128, 128, 10)", "(128, 128, 10, 4)", "(16, 16, 32)", "(16, 16, 64)",
                 "(128, 128, 1) → (128, 128)"]),
        ("es", ["(128, 128, 10)", "(16, 16, 128)", "(128, 128, 1) → (128, 128)"]),
        ("xyz", ["(128, 128, 10)", "(16, 16, 128)", "(16, 16, 2)", "(16, 16, 3)"]),
    ],
)  # fmt: skip
def test_architecture_figure_shapes_of_the_thesis_tables(kind, shapes):
    text = texts(architecture_figure(kind))
    for shape in shapes:
        assert shape in text, shape


def test_architecture_figure_branches():
    dsh = texts(architecture_figure("dsh"))
    for name in ("atomic_disks", "vdw_spheres", "height_map"):
        assert f"decoder: '{name}'" in dsh
    es = texts(architecture_figure("es"))
    assert "encoder ('co' input)" in es and "encoder ('xe' input)" in es
    assert "Input 'co'" in es and "Input 'xe'" in es and "Concatenate 2 inputs" in es
    xyz = texts(architecture_figure("xyz"))
    assert "head: 'classes'" in xyz and "head: 'offsets'" in xyz and "softmax" in xyz
    assert "UpSampling" not in xyz and "UpSampling2D ×2, nearest" in dsh


def test_architecture_figure_unknown_kind():
    with pytest.raises(ValueError, match="model kind"):
        architecture_figure("unet")
