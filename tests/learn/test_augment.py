"""Tests of afmkit.learn.augment: each pre-processing step checked statistically (thesis §3.4)."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from scipy import stats

from afmkit.learn import augment as aug


def _stack(B: int = 4, n: int = 32, nz: int = 20, seed: int = 0) -> np.ndarray:
    """Random float32 stacks (B, n, n, nz) with slice-dependent offsets and scales (Hz-like)."""
    r = np.random.default_rng(seed)
    scale = r.uniform(0.01, 50.0, (B, 1, 1, nz))
    offset = r.uniform(-100.0, 100.0, (B, 1, 1, nz))
    return (r.normal(size=(B, n, n, nz)) * scale + offset).astype(np.float32)


# ------------------------------------------------------------------- 1. scan height randomisation


def test_height_indices_contiguous_window_sorted():
    idx = aug.random_height_indices(np.random.default_rng(1), 20000, 20, 15, 10)
    assert idx.shape == (20000, 10)
    assert np.all(np.diff(idx, axis=1) > 0)  # strictly increasing
    assert idx.min() >= 0 and idx.max() <= 19
    assert np.all(idx[:, -1] - idx[:, 0] <= 14)  # inside one window of 15


def test_height_indices_distribution_matches_theory():
    n = 30000
    idx = aug.random_height_indices(np.random.default_rng(2), n, 20, 15, 10)
    # P(smallest kept offset in the window = k) = C(14 - k, 9) / C(15, 10), start uniform in 0…5
    p_off = np.array([comb(14 - k, 9) for k in range(15)]) / comb(15, 10)
    p_min = np.zeros(20)
    for s in range(6):
        p_min[s : s + 15] += p_off / 6
    p_max = p_min[::-1]  # mirror symmetry
    f_min = np.bincount(idx[:, 0], minlength=20) / n
    f_max = np.bincount(idx[:, -1], minlength=20) / n
    np.testing.assert_allclose(f_min, p_min, atol=0.01)
    np.testing.assert_allclose(f_max, p_max, atol=0.01)
    # samples spanning exactly 14 pin the window start (= min index): all 6 starts, ~uniform
    pinned = idx[idx[:, -1] - idx[:, 0] == 14, 0]
    counts = np.bincount(pinned, minlength=6)
    assert counts.shape == (6,) and np.all(counts > 0)
    np.testing.assert_allclose(counts / counts.sum(), 1 / 6, atol=0.02)
    # for those, the 8 inner slices are a uniform subset of the 13 inner window slots
    span = idx[idx[:, -1] - idx[:, 0] == 14]
    inner = (span[:, 1:-1] - span[:, :1]).ravel()  # offsets 1 … 13
    freq = np.bincount(inner, minlength=14)[1:] / len(span)
    np.testing.assert_allclose(freq, 8 / 13, atol=0.03)


def test_select_heights_takes_the_indices_and_pairs_share_them():
    B, nz = 50, 20
    X = np.broadcast_to(np.arange(nz, dtype=np.float32), (B, 4, 5, nz)).copy()
    X[:, 0, 0, :] += 0.5  # not constant, irrelevant here
    out, idx = aug.select_heights(X, np.random.default_rng(3), return_indices=True)
    assert out.shape == (B, 4, 5, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 1, 1, :], idx)
    co, xe = aug.select_heights([X, X + 100], np.random.default_rng(4))
    np.testing.assert_array_equal(xe - co, 100)  # same slices in both stacks
    again = aug.take_heights(X, idx)
    np.testing.assert_array_equal(again, out)
    fixed = aug.take_heights(X, np.array([0, 19]))
    np.testing.assert_array_equal(fixed[:, 1, 1], np.tile([0, 19], (B, 1)))


# --------------------------------------------------------------------------- 2. normalisation


def test_normalize_slices_mean0_std1_and_constant_slices():
    X = _stack(B=5, n=48, nz=12)
    X[2, :, :, 3] = 7.25  # constant slice
    X[4, :, :, 0] = 0.0
    X0 = X.copy()
    out = aug.normalize_slices(X)
    np.testing.assert_array_equal(X, X0)  # input untouched
    assert out.dtype == np.float32 and np.isfinite(out).all()
    assert np.all(out[2, :, :, 3] == 0) and np.all(out[4, :, :, 0] == 0)
    ok = np.ones((5, 12), bool)
    ok[2, 3] = ok[4, 0] = False
    mean = out.astype(np.float64).mean(axis=(1, 2))
    std = out.astype(np.float64).std(axis=(1, 2))
    assert np.abs(mean[ok]).max() < 1e-5
    assert np.abs(std[ok] - 1).max() < 1e-5


# ---------------------------------------------------------------------------------- 3. noise


def test_noise_amplitude_and_uniformity():
    B, n, nz, c = 20, 48, 10, 0.1
    r = np.random.default_rng(5)
    vrange = r.uniform(0.1, 100.0, (B, nz)).astype(np.float32)
    X = np.zeros((B, n, n, nz), np.float32)
    X[:, 0, 0, :] = -0.25 * vrange  # min
    X[:, 0, 1, :] = 0.75 * vrange  # max → range = vrange
    out = aug.add_noise(X, np.random.default_rng(6), c=c)
    amp = 0.5 * c * vrange.astype(np.float64)[:, None, None, :]
    u = (out.astype(np.float64) / amp)[:, 2:, :, :]  # pixels where X == 0: noise / A
    assert np.abs(u).max() <= 1 + 1e-5  # never beyond A_z
    assert np.abs(u).max(axis=(1, 2)).min() > 0.99  # every slice reaches close to ±A_z
    flat = u.ravel()
    ks = stats.kstest(flat[::7], stats.uniform(loc=-1, scale=2).cdf)
    assert ks.pvalue > 1e-3
    quantiles = np.quantile(flat, [0.1, 0.25, 0.5, 0.75, 0.9])
    np.testing.assert_allclose(quantiles, [-0.8, -0.5, 0.0, 0.5, 0.8], atol=0.01)
    # c = 0: nothing changes; a pair gets independent noise
    np.testing.assert_array_equal(aug.add_noise(X, np.random.default_rng(0), c=0.0), X)
    a, b = aug.add_noise([X, X], np.random.default_rng(7), c=c)
    assert not np.array_equal(a, b)


# ----------------------------------------------------------------------------- 4. pixel shifts


def test_shifts_bounded_all_values_and_match_marker():
    B, n, nz = 60, 24, 10
    X = np.zeros((B, n, n, nz), np.float32)
    X[:, 12, 12, :] = 1.0  # a bright marker in every slice
    out, shifts = aug.shift_slices(X, np.random.default_rng(8), max_shift=3, return_shifts=True)
    assert shifts.shape == (B, nz, 2)
    flat = out.transpose(0, 3, 1, 2).reshape(B, nz, -1).argmax(axis=-1)
    found = np.stack(np.unravel_index(flat, (n, n)), axis=-1) - 12
    np.testing.assert_array_equal(found, shifts)
    assert np.abs(found).max() <= 3
    for axis in range(2):
        assert set(np.unique(found[..., axis])) == set(range(-3, 4))
    assert np.all(out.sum(axis=(1, 2)) == 1)  # marker never lost or duplicated (reflect)


@pytest.mark.parametrize("mode", aug.SHIFT_MODES)
def test_shift_edge_handling_matches_numpy_pad(mode):
    X = _stack(B=3, n=16, nz=4, seed=9)
    out, shifts = aug.shift_slices(
        X, np.random.default_rng(10), max_shift=3, mode=mode, return_shifts=True
    )
    for b in range(3):
        for k in range(4):
            sx, sy = shifts[b, k]
            ref = np.pad(X[b, :, :, k], 3, mode=mode)[3 - sx : 3 - sx + 16, 3 - sy : 3 - sy + 16]
            np.testing.assert_array_equal(out[b, :, :, k], ref)


def test_shift_introduces_no_zeros_and_pairs_share_shifts():
    X = np.abs(_stack(B=4, n=20, nz=6)) + 1.0
    out = aug.shift_slices(X, np.random.default_rng(11), max_shift=3)
    assert out.min() > 0
    a, b = aug.shift_slices([X, X], np.random.default_rng(12))
    np.testing.assert_array_equal(a, b)
    given = np.zeros((4, 6, 2), np.int64)
    np.testing.assert_array_equal(aug.shift_slices(X, shifts=given), X)


# ---------------------------------------------------------------------------------- 5. cutouts


def test_cutouts_are_exact_zero_rectangles():
    B, n, nz = 20, 128, 10
    X = np.ones((B, n, n, nz), np.float32)
    out, boxes = aug.cutouts(X, np.random.default_rng(13), return_boxes=True)
    assert boxes.shape == (B, nz, 5, 5)
    assert set(np.unique(out)) <= {0.0, 1.0}
    expected = np.zeros((B, n, n, nz), bool)
    for b, k, h in np.argwhere(boxes[..., 4]):
        x0, y0, hx, wy, _ = boxes[b, k, h]
        assert x0 >= 0 and y0 >= 0 and x0 + hx <= n and y0 + wy <= n
        assert 1 <= hx * wy <= 0.01 * n * n
        expected[b, x0 : x0 + hx, y0 : y0 + wy, k] = True
    np.testing.assert_array_equal(out == 0, expected)  # zeros = union of the rectangles
    # each attempt succeeds with p = 0.2: P(slice has a cutout) = 1 - 0.8**5
    frac = np.mean((out == 0).any(axis=(1, 2)))
    assert abs(frac - (1 - 0.8**5)) < 0.07


def test_single_cutout_is_a_filled_rectangle_per_slice():
    B, n, nz = 10, 64, 8
    X = _stack(B=B, n=n, nz=nz, seed=14) + 1000.0  # no natural zeros
    out, boxes = aug.cutouts(
        X, np.random.default_rng(15), n_holes=1, p=1.0, area_range=(0.01, 0.05), return_boxes=True
    )
    zero = out == 0
    for b in range(B):
        for k in range(nz):
            xs, ys = np.nonzero(zero[b, :, :, k])
            assert xs.size > 0
            hx, wy = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
            assert xs.size == hx * wy  # the zero set fills its bounding box
            assert (xs.min(), ys.min(), hx, wy) == tuple(boxes[b, k, 0, :4])
            assert hx * wy <= 0.05 * n * n
    np.testing.assert_array_equal(out[~zero], X[~zero])  # the rest is untouched
    # rectangles are drawn per slice: slices of one sample differ
    assert np.mean([not np.array_equal(zero[b, ..., 0], zero[b, ..., 1]) for b in range(B)]) > 0.8
    a, c = aug.cutouts([X, X], np.random.default_rng(16), n_holes=1, p=1.0)
    assert not np.array_equal(a == 0, c == 0)  # independent for a pair


# ------------------------------------------------------------------------------ the pipeline


def test_augment_shapes_determinism_and_order():
    X = _stack(B=6, n=40, nz=20, seed=17)
    X0 = X.copy()
    out = aug.augment(X, np.random.default_rng(42))
    np.testing.assert_array_equal(X, X0)
    assert out.shape == (6, 40, 40, 10) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, aug.augment(X, np.random.default_rng(42)))
    assert not np.array_equal(out, aug.augment(X, np.random.default_rng(43)))
    assert np.any(out == 0)  # cutouts come last: exact zeros survive
    # heights + normalisation only → every slice normalised
    hn = aug.augment(X, np.random.default_rng(1), noise_c=0, max_shift=0, cutout=False)
    np.testing.assert_allclose(hn.astype(np.float64).std(axis=(1, 2)), 1, atol=1e-5)
    # every step off → the input
    off = dict(heights=False, normalize=False, noise_c=0, max_shift=0, cutout=False)
    np.testing.assert_array_equal(aug.augment(X, np.random.default_rng(1), **off), X)


def test_augment_pair_shares_heights_and_shifts_not_noise():
    X = _stack(B=5, n=32, nz=20, seed=18)
    rng = np.random.default_rng(19)
    co, xe = aug.augment([X, X], rng, noise_c=0, cutout=False)
    np.testing.assert_array_equal(co, xe)  # same heights, same shifts
    co, xe = aug.augment([X, X], np.random.default_rng(19))
    assert not np.array_equal(co, xe)  # independent noise and cutouts
    no_noise = dict(noise_c=0, cutout=False)
    co, xe = aug.augment([X, X], np.random.default_rng(19), share_shifts=False, **no_noise)
    assert not np.array_equal(co, xe)
    # the height indices are the same for a CO/Xe pair with different content
    enc = np.broadcast_to(np.arange(20, dtype=np.float32), (5, 8, 8, 20)).copy()
    heights_only = dict(normalize=False, noise_c=0, max_shift=0, cutout=False)
    a, b = aug.augment([enc, enc * 2], np.random.default_rng(20), **heights_only)
    np.testing.assert_array_equal(b, 2 * a)
    assert np.all(np.diff(a[:, 0, 0], axis=1) > 0) and np.all(a[:, 0, 0, -1] - a[:, 0, 0, 0] <= 14)


def test_preprocess_is_deterministic_and_picks_default_heights():
    enc = np.broadcast_to(np.arange(20, dtype=np.float32), (3, 8, 8, 20)).copy()
    np.testing.assert_array_equal(
        aug.default_height_indices(20), [5, 7, 8, 10, 11, 13, 14, 16, 17, 19]
    )
    sel = aug.preprocess(enc, normalize=False)
    np.testing.assert_array_equal(sel[0, 0, 0], aug.default_height_indices(20))
    X = _stack(B=3, n=32, nz=20, seed=21)
    p1, p2 = aug.preprocess(X), aug.preprocess(X)
    np.testing.assert_array_equal(p1, p2)
    assert p1.shape == (3, 32, 32, 10)
    np.testing.assert_allclose(p1.astype(np.float64).std(axis=(1, 2)), 1, atol=1e-5)
    X10 = X[..., :10]  # an experimental 10-slice stack is kept whole
    np.testing.assert_allclose(aug.preprocess(X10), aug.normalize_slices(X10))
    last = aug.preprocess(enc, indices=np.arange(10, 20), normalize=False)
    np.testing.assert_array_equal(last[0, 0, 0], np.arange(10, 20))
    co, xe = aug.preprocess([X, X])
    np.testing.assert_array_equal(co, xe)


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((4, 8, 20), np.float32), "4-D"),
        (np.zeros((2, 8, 8, 12), np.float32), "fewer than"),
        (np.full((2, 8, 8, 20), np.nan, np.float32), "NaN"),
        (np.where(np.eye(8)[None, :, :, None] > 0, np.inf, 0.0) * np.ones((1, 1, 1, 20)), "inf"),
        ([np.zeros((2, 8, 8, 20)), np.zeros((2, 8, 9, 20))], "equal shapes"),
        ([], "empty"),
    ],
)
def test_augment_rejects_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        aug.augment(X, np.random.default_rng(0))


def test_parameter_validation():
    X = _stack(B=2, n=8, nz=20)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="Generator"):
        aug.augment(X, 0)
    with pytest.raises(ValueError, match="n_keep"):
        aug.select_heights(X, rng, n_window=5, n_keep=10)
    with pytest.raises(ValueError, match="n_window"):
        aug.select_heights(X, rng, n_window=25)
    with pytest.raises(ValueError, match="c must be"):
        aug.add_noise(X, rng, c=-0.1)
    with pytest.raises(ValueError, match="mode"):
        aug.shift_slices(X, rng, mode="constant")
    with pytest.raises(ValueError, match="max_shift"):
        aug.shift_slices(X, rng, max_shift=-1)
    with pytest.raises(ValueError, match="max_shift"):
        aug.augment(X, rng, max_shift=-2)
    with pytest.raises(ValueError, match="p must"):
        aug.cutouts(X, rng, p=1.5)
    with pytest.raises(ValueError, match="indices"):
        aug.take_heights(X, np.array([0, 20]))
    with pytest.raises(ValueError, match="NaN"):
        aug.normalize_slices(np.full((1, 2, 2, 3), np.nan))
