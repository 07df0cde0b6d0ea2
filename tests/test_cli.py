"""Tests for the project plumbing and the command line: .ci/run, README, Makefile, plotting, CLI."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from afmkit import cli
from afmkit.plotting.figures import (
    choose_slices,
    find_bonds,
    plot_df_stack,
    plot_molecule_topview,
    plot_simulation,
)

ROOT = Path(__file__).resolve().parents[1]
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


# --------------------------------------------------------------------------------------------
# repository plumbing
# --------------------------------------------------------------------------------------------
def test_ci_run_runs_make_test() -> None:
    script = ROOT / ".ci" / "run"
    assert script.is_file()
    assert script.stat().st_mode & stat.S_IXUSR, ".ci/run must be executable"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert re.search(r"^make test$", text, re.MULTILINE)


def test_readme_starts_with_the_make_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:30])
    for command in ("make lab", "make demo", "make test"):
        assert command in head


def test_gitignore_keeps_venv_and_outputs_out() -> None:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    for entry in (".venv/", "out/", "__pycache__/", "*.egg-info/", ".ipynb_checkpoints/"):
        assert entry in lines


def _make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True
    )


@needs_make
def test_makefile_targets_dry_run() -> None:
    text = (ROOT / "Makefile").read_text()
    for target in ("venv", "lab", "demo", "test", "lint", "bench", "clean", "distclean"):
        assert re.search(rf"^{target}:", text, re.MULTILINE), target
    assert re.search(r"^PYTHON\s*\?=\s*python3\s*$", text, re.MULTILINE)
    venv = _make("-n", "-B", "venv", "PYTHON=python3.99", "VENV=/nonexistent/venv")
    assert "python3.99 -m venv /nonexistent/venv" in venv.stdout
    assert re.search(r'-m pip install\s+-e "\.\[test\]"', venv.stdout)

    test = _make("-n", "test", "PYTEST_ARGS=-k something")
    assert test.returncode == 0, test.stderr
    assert "AFMKIT_QUICK=1" in test.stdout
    assert "-m pytest -k something" in test.stdout

    lab = _make("-n", "lab", "LAB_ARGS=--no-browser")
    root_args = " --allow-root" if os.getuid() == 0 else ""  # Jupyter refuses root without it
    assert f"jupyter lab --notebook-dir=notebooks{root_args} --no-browser" in lab.stdout
    demo = _make("-n", "demo")
    assert "afmkit demo --out out" in demo.stdout

    clean = _make("-n", "clean")
    assert clean.returncode == 0
    assert ".venv" not in clean.stdout.replace("-path ./.venv -prune", "")
    assert "rm -rf .venv" in _make("-n", "distclean").stdout


@needs_make
@pytest.mark.parametrize("rc", [0, 1, 5])
def test_make_test_passes_on_pytest_exit_status(tmp_path: Path, rc: int) -> None:
    """`make test` fails exactly when pytest does, including rc 5 (no tests collected)."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    bin_dir = tmp_path / "fakevenv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(f'#!/bin/sh\necho "fake python $*"\nexit {rc}\n')
    python.chmod(0o755)
    stamp = tmp_path / "fakevenv" / ".afmkit-installed"
    stamp.touch()
    os.utime(tmp_path / "pyproject.toml", (1, 1))  # older than the stamp: no reinstall

    result = _make("test", "VENV=fakevenv", cwd=tmp_path)
    assert "fake python -m pytest" in result.stdout
    assert "pip install" not in result.stdout
    assert (result.returncode == 0) == (rc == 0)


# --------------------------------------------------------------------------------------------
# plotting
# --------------------------------------------------------------------------------------------
class _Params:
    """Just enough of SimulationParams for plotting: 16 × 16 Å window, 0.1 Å slices."""

    def __init__(self, n_slices: int) -> None:
        self.n_slices = n_slices

    def slice_heights(self) -> np.ndarray:
        return 2.5 + 0.1 * np.arange(self.n_slices - 1, -1, -1)

    def extent(self, center_xy=(0.0, 0.0)) -> tuple[float, float, float, float]:
        cx, cy = center_xy
        return (cx - 8.0, cx + 8.0, cy - 8.0, cy + 8.0)


def _formaldehyde() -> SimpleNamespace:
    positions = np.array(
        [[0.0, 0.0, 0.0], [1.21, 0.0, 0.0], [-0.55, 0.94, 0.0], [-0.55, -0.94, 0.0]]
    )
    return SimpleNamespace(
        numbers=np.array([6, 8, 1, 1]),
        positions=positions,
        charges=np.zeros(4),
        name="formaldehyde",
    )


def test_choose_slices() -> None:
    assert choose_slices(20) == list(range(1, 20, 2))
    assert choose_slices(10) == list(range(10))
    assert choose_slices(5, n_show=10) == list(range(5))
    assert choose_slices(25)[-1] == 24 and len(choose_slices(25)) == 9


def test_plot_df_stack_has_units() -> None:
    rng = np.random.default_rng(0)
    stack = rng.normal(size=(32, 24, 20)).astype(np.float32)
    fig = plot_df_stack(stack, _Params(20), title="synthetic")
    assert isinstance(fig, Figure)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 10
    for ax in images:
        assert ax.get_xlabel() == "x (Å)"
        assert ax.get_ylabel() == "y (Å)"
        assert ax.get_title().startswith("z = ") and "Å" in ax.get_title()
        x0, x1, y0, y1 = ax.images[0].get_extent()
        assert x0 < -8.0 < 8.0 < x1 and y0 < -8.0 < 8.0 < y1  # half a pixel beyond the centres
    colorbars = [ax for ax in fig.axes if not ax.images]
    assert colorbars and all("Δf (Hz)" in ax.get_ylabel() for ax in colorbars)
    # the image is (x, y) transposed for imshow: rows are y
    assert images[-1].images[0].get_array().shape == (24, 32)
    assert images[0].get_title() == "z = 4.30 Å (slice 1)"
    fig.savefig(io.BytesIO(), format="png")
    assert fig._repr_png_()[:4] == b"\x89PNG"  # shown in Jupyter without pyplot


def test_plot_df_stack_single_slice_and_shared_scale() -> None:
    stack = np.linspace(-3, 2, 16 * 16 * 4, dtype=np.float32).reshape(16, 16, 4)
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_df_stack(stack, _Params(4), ax=ax) is fig
    assert ax.get_title() == "z = 2.50 Å (slice 3)"
    fig = plot_df_stack(stack, _Params(4), slices=[0, -1], shared_scale=True)
    cbars = [a for a in fig.axes if not a.images]
    assert len(cbars) == 1 and cbars[0].get_ylabel() == "Δf (Hz)"
    with pytest.raises(ValueError):
        plot_df_stack(stack, _Params(4), slices=[7])


def test_plot_df_stack_without_params_uses_pixels() -> None:
    fig = plot_df_stack(np.zeros((8, 8, 3)))
    ax = next(a for a in fig.axes if a.images)
    assert ax.get_xlabel() == "x (px)" and ax.get_title() == "slice 0"


def test_molecule_topview() -> None:
    mol = _formaldehyde()
    assert sorted(map(tuple, find_bonds(mol.numbers, mol.positions).tolist())) == [
        (0, 1),
        (0, 2),
        (0, 3),
    ]
    fig = Figure()
    ax = plot_molecule_topview(mol, fig.add_subplot(), extent=(-8, 8, -8, 8))
    assert ax.get_xlabel() == "x (Å)" and ax.get_ylabel() == "y (Å)"
    assert ax.get_xlim() == (-8.0, 8.0)
    assert "formaldehyde" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["H", "C", "O"]
    assert len(ax.collections) == 2  # bonds, atoms


def test_plot_simulation_combines_views() -> None:
    stack = np.random.default_rng(1).normal(size=(20, 20, 20))
    fig = plot_simulation(_formaldehyde(), stack, _Params(20), center_xy=(0.3, 0.0))
    titles = [ax.get_title() for ax in fig.axes]
    assert any("top view" in t for t in titles)
    assert sum(t.startswith("z = ") for t in titles) == 10
    fig.savefig(io.BytesIO(), format="png")


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def test_cli_help_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out
    assert cli.main(["simulate", "/nonexistent/molecule.xyz"]) == 2


def test_demo_quick(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out), "--quick"]) == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["camphor.png", "camphor_descriptors.png", "phenol.png"]
    for name in pngs:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "backend" in summary and "Δf min (Hz)" in summary
    assert "1S-camphor" in summary and "phenol (qm9-000949)" in summary
    assert re.search(r"1S-camphor\s+27\s", summary) and re.search(r"qm9-000949\)\s+13\s", summary)
    nx, ny = cli.QUICK_PIXELS
    assert summary.count(f"{nx}×{ny}×{cli.QUICK_SLICES}") == 2


def test_simulate_xyz(tmp_path: Path) -> None:
    mol = _formaldehyde()
    xyz = tmp_path / "formaldehyde.xyz"
    rows = [
        f"{s} {x:.4f} {y:.4f} {z:.4f}"
        for s, (x, y, z) in zip(["C", "O", "H", "H"], mol.positions, strict=True)
    ]
    xyz.write_text("4\nformaldehyde\n" + "\n".join(rows) + "\n")
    npz, png = tmp_path / "f.npz", tmp_path / "f.png"
    assert cli.main(["simulate", str(xyz), "--out", str(npz), "--png", str(png)]) == 0
    with np.load(npz) as data:
        df = data["df"]
        assert df.dtype == np.float32 and df.shape == (128, 128, 20)
        assert np.all(np.isfinite(df))
        assert data["slice_heights"].shape == (20,)
        assert data["slice_heights"][0] > data["slice_heights"][-1]
        assert str(data["backend"]) in ("opencl", "numpy")
    assert png.read_bytes()[:4] == b"\x89PNG"


def _write_xyz(path: Path, rows: list[str], comment: str = "test") -> Path:
    path.write_text(f"{len(rows)}\n{comment}\n" + "\n".join(rows) + "\n")
    return path


def _formaldehyde_rows() -> list[str]:
    mol = _formaldehyde()
    return [f"{s} {x:.4f} {y:.4f} {z:.4f}"
            for s, (x, y, z) in zip(["C", "O", "H", "H"], mol.positions, strict=True)]  # fmt: skip


def test_simulate_sizes_and_charges(tmp_path: Path, capsys) -> None:
    xyz = _write_xyz(tmp_path / "f.xyz", _formaldehyde_rows())
    npz = tmp_path / "f.npz"
    args = ["simulate", str(xyz), "--out", str(npz), "--scan-size", "8", "6", "--pixels", "24"]
    assert cli.main(args) == 0
    assert "no electrostatic force" in capsys.readouterr().out  # a plain .xyz: say so
    with np.load(npz) as data:
        assert data["df"].shape == (24, 24, 20) and not np.any(data["charges"])
        x0, x1, y0, y1 = data["extent"]  # first/last pixel centres span the window
        assert (x1 - x0, y1 - y0) == pytest.approx((8.0, 6.0))
    assert cli.main([*args, "--charges", "gasteiger"]) == 0
    assert "Gasteiger" in capsys.readouterr().out
    with np.load(npz) as data:
        q = dict(zip(["C", "O", "H", "H"], data["charges"], strict=True))
        assert q["O"] < 0 < q["C"]  # the carbonyl is polar
        assert abs(data["charges"].sum()) < 1e-6


@pytest.mark.parametrize(
    "rows, expected",
    [
        (["C 0 0 0", "O 1.2 0"], "line 4"),  # a truncated coordinate line
        (["C 0 0 0", "Qq 1.2 0 0"], "Qq"),  # an unknown element
        (["C -10 0 0", "C 10 0 0"], "outside"),  # with --scan-size 4: no atom in the window
        (["C 0 0 0"], None),  # fine for a plain simulation...
    ],
)
def test_simulate_bad_input_is_one_line(tmp_path: Path, capsys, rows, expected) -> None:
    xyz = _write_xyz(tmp_path / "bad.xyz", rows)
    args = ["simulate", str(xyz), "--out", str(tmp_path / "bad.npz"), "--scan-size", "4",
            "--pixels", "8"]  # fmt: skip
    if expected is None:  # ...but no bonds RDKit can perceive for Gasteiger charges
        args += ["--charges", "gasteiger"]
        expected = "could not perceive the bonds"
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("afmkit simulate:") and expected in err, err
    assert "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "bad.npz").exists()
    assert cli.main(["simulate", str(xyz), "--scan-size", "1", "2", "3"]) == 2
    assert "one value or two" in capsys.readouterr().err


def test_train_options_out_of_range_are_one_line_errors(tmp_path, capsys):
    from afmkit.cli import main

    args = ["train", "dsh", "--full", "--out", str(tmp_path / "run")]
    assert main([*args, "--loss-weight", "atomic_disks"]) == 2
    assert "OUTPUT=W" in capsys.readouterr().err
    assert main([*args, "--loss-weight", "es_map=1"]) == 2
    assert "no output 'es_map'" in capsys.readouterr().err
    assert main([*args, "--tilt-radius", "-1"]) == 2
    assert "tilt_radius" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
