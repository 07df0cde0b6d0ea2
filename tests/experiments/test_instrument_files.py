"""Synthetic instrument files and the simulated measurement with a known drift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from afmkit.experiments.instrument_files import (
    as_stack,
    synthetic_measurement,
    write_3ds,
    write_gwy,
    write_sxm_series,
)
from afmkit.experiments.readers import read_experiment, read_gwy
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import camphor

SMALL = SimulationParams(scan_size=(8.0, 8.0), pixels=(32, 32), n_slices=4)


def test_synthetic_measurement_without_spoiling_is_the_simulation():
    stack, drift = synthetic_measurement(camphor(), SMALL, drift_px=0.0, noise=0.0, seed=1)
    np.testing.assert_allclose(stack.df, AFMSimulator(SMALL)(camphor()), atol=1e-6)
    np.testing.assert_array_equal(drift, np.zeros((4, 2)))
    assert stack.pixel_size == pytest.approx((8 / 31, 8 / 31))
    np.testing.assert_allclose(stack.heights, [0.3, 0.2, 0.1, 0.0], atol=1e-12)
    assert (stack.amplitude, stack.f0, stack.k_cantilever) == (0.5, 30300.0, 1800.0)


def test_synthetic_drift_is_known_and_seeded():
    stack, drift = synthetic_measurement(camphor(), SMALL, drift_px=0.7, noise=0.0, seed=5)
    again, drift2 = synthetic_measurement(camphor(), SMALL, drift_px=0.7, noise=0.0, seed=5)
    np.testing.assert_array_equal(stack.df, again.df)
    np.testing.assert_array_equal(drift, drift2)
    assert drift.shape == (4, 2) and np.all(drift[-1] == 0) and np.abs(drift[:-1]).max() > 0.1
    clean = stack.metadata["synthetic"]["clean"]
    for k in range(3):  # shifting back by −drift recovers the clean slice (inside the edges)
        undone = ndimage.shift(stack.df[:, :, k], -drift[k], order=3, mode="nearest")
        inner = (slice(6, -6), slice(6, -6))
        err = np.abs(undone - clean[:, :, k])[inner].max()
        assert err < 0.15 * np.ptp(clean[:, :, k]), (k, err)
        assert np.abs(stack.df[:, :, k] - clean[:, :, k])[inner].max() > err


def test_synthetic_explicit_drift_and_noise():
    path = np.array([[1.5, -0.5], [1.0, 0.0], [0.5, 0.25], [0.0, 0.0]])
    stack, drift = synthetic_measurement(camphor(), SMALL, drift_px=path, noise=0.2, seed=0)
    np.testing.assert_array_equal(drift, path)
    clean = stack.metadata["synthetic"]["clean"]
    residual = stack.df[:, :, -1] - clean[:, :, -1]  # the closest slice: noise only
    assert residual.std() == pytest.approx(0.2, rel=0.15)
    with pytest.raises(ValueError, match=r"\(4, 2\) path"):
        synthetic_measurement(camphor(), SMALL, drift_px=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="noise"):
        synthetic_measurement(camphor(), SMALL, noise=-1.0)


def test_writers_take_an_array_with_metadata(tmp_path):
    df = np.random.default_rng(0).normal(size=(16, 16, 3))
    with pytest.raises(ValueError, match="pixel_size"):
        as_stack(df)
    paths = write_sxm_series(df, tmp_path, pixel_size=(0.2, 0.2), heights=[0.2, 0.1, 0.0])
    read = read_experiment(paths)
    np.testing.assert_allclose(read.df, df, atol=1e-5)
    assert read.amplitude is None and read.f0 is None
    with pytest.raises(ValueError, match="evenly spaced"):
        write_3ds(df, tmp_path / "g.3ds", pixel_size=0.2, heights=[0.3, 0.1, 0.0])
    with pytest.raises(ValueError, match="heights"):
        write_3ds(df, tmp_path / "g.3ds", pixel_size=0.2)


def test_realistic_measurement_through_every_format(tmp_path):
    """128 × 128 px × 10 slices of camphor, drifted and noisy, through .sxm, .3ds and .gwy."""
    params = SimulationParams(n_slices=10)
    stack, drift = synthetic_measurement(camphor(), params, drift_px=0.4, noise=0.1, seed=2026)
    assert stack.shape == (128, 128, 10)
    sxm = read_experiment(write_sxm_series(stack, tmp_path / "sxm", scan_dir="down"))
    grid = read_experiment(write_3ds(stack, tmp_path / "grid.3ds"))
    gwy = read_gwy(write_gwy(stack, tmp_path / "stack.gwy"))
    for read, atol in ((sxm, 1e-4), (grid, 1e-3), (gwy, 0)):
        np.testing.assert_allclose(read.df, stack.df, atol=atol)
        np.testing.assert_allclose(read.heights, stack.heights, atol=1e-6)
        assert read.pixel_size == pytest.approx(stack.pixel_size)
        assert read.scan_center == pytest.approx(stack.scan_center, abs=1e-5)
        assert read.amplitude == pytest.approx(0.5)
        assert read.f0 == pytest.approx(30300.0)
    assert len(sxm.sources) == 10
