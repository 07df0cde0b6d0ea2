"""Property-based tests of the augmentation functions: random batches and parameters give
finite float32 batches of the documented shape (inputs untouched) or a clear
ValueError/TypeError, never an OverflowError, a NaN batch or a huge allocation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from afmkit.learn import augment as aug
from tests.strategies import assert_clear_error, junk, junk_arrays, no_hang, stacks

seeds = st.integers(0, 2**32 - 1)


def _check_out(out, shape) -> None:
    for a in out if isinstance(out, list) else [out]:
        assert a.dtype == np.float32 and a.shape == shape
        assert np.all(np.isfinite(a)), "non-finite output"


# ---------------------------------------------------------------------------------------------
# valid input: documented shapes and values
# ---------------------------------------------------------------------------------------------
@settings(max_examples=80)
@given(X=stacks(min_slices=1), seed=seeds, data=st.data())
def test_select_heights_keeps_ordered_slices_of_a_window(X, seed, data):
    nz = X.shape[3]
    n_window = data.draw(st.integers(1, nz))
    n_keep = data.draw(st.integers(1, n_window))
    before = X.copy()
    out, idx = aug.select_heights(
        X, np.random.default_rng(seed), n_window, n_keep, return_indices=True
    )
    _check_out(out, (*X.shape[:3], n_keep))
    np.testing.assert_array_equal(X, before)
    assert np.all(np.diff(idx, axis=1) > 0) and np.all(idx[:, -1] - idx[:, 0] < n_window)
    np.testing.assert_array_equal(out, aug.take_heights(X, idx))


@settings(max_examples=80)
@given(X=stacks(scale=1e6), eps=st.floats(0.0, 1e-3))
def test_normalized_slices_have_zero_mean_and_unit_or_zero_spread(X, eps):
    out = aug.normalize_slices(X, eps=eps)
    _check_out(out, X.shape)
    flat = out.transpose(0, 3, 1, 2).reshape(X.shape[0], X.shape[3], -1).astype(np.float64)
    np.testing.assert_allclose(flat.mean(-1), 0.0, atol=1e-3)
    std = flat.std(-1)
    assert np.all((np.abs(std - 1) < 1e-2) | (std == 0))


@settings(max_examples=80)
@given(X=stacks(), seed=seeds, c=st.floats(0.0, 2.0))
def test_noise_stays_within_its_amplitude(X, seed, c):
    out = aug.add_noise(X, np.random.default_rng(seed), c=c)
    _check_out(out, X.shape)
    vrange = X.max(axis=(1, 2), keepdims=True) - X.min(axis=(1, 2), keepdims=True)
    assert np.all(np.abs(out - X) <= 0.5 * c * vrange * (1 + 1e-5) + 1e-3)


@settings(max_examples=80)
@given(X=stacks(), data=st.data(), mode=st.sampled_from(aug.SHIFT_MODES))
def test_given_shifts_move_the_content(X, data, mode):
    B, nx, ny, nz = X.shape
    m = min(nx, ny) - 1 if mode == "reflect" else min(nx, ny)
    shifts = data.draw(hnp.arrays(np.int64, (B, nz, 2), elements=st.integers(-m, m)))
    out = aug.shift_slices(X, shifts=shifts, mode=mode)
    _check_out(out, X.shape)
    for b in range(B):
        for k in range(nz):
            sx, sy = shifts[b, k]
            if mode == "wrap":
                ref = np.roll(X[b, :, :, k], (sx, sy), axis=(0, 1))
                np.testing.assert_array_equal(out[b, :, :, k], ref)
            # inside the image the content moves by +shift in every mode
            src = X[b, max(0, -sx): nx - max(0, sx), max(0, -sy): ny - max(0, sy), k]
            dst = out[b, max(0, sx): nx - max(0, -sx), max(0, sy): ny - max(0, -sy), k]
            np.testing.assert_array_equal(dst, src)


@settings(max_examples=80)
@given(
    X=stacks(),
    seed=seeds,
    n_holes=st.integers(0, 6),
    p=st.floats(0.0, 1.0),
    area=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted),
    aspect=st.tuples(st.floats(0.01, 100.0), st.floats(0.01, 100.0)).map(sorted),
)
def test_cutouts_only_set_pixels_to_zero(X, seed, n_holes, p, area, aspect):
    out, boxes = aug.cutouts(X, np.random.default_rng(seed), n_holes, p, tuple(area),
                             tuple(aspect), return_boxes=True)
    _check_out(out, X.shape)
    assert np.all((out == X) | (out == 0))
    assert boxes.shape == (X.shape[0], X.shape[3], n_holes, 5)


@settings(max_examples=60)
@given(
    X=stacks(max_side=8, min_slices=1, max_slices=16),
    pair=st.booleans(),
    seed=seeds,
    data=st.data(),
)
def test_augment_gives_finite_batches(X, pair, seed, data):
    nz = X.shape[3]
    heights = data.draw(st.booleans())
    n_window = data.draw(st.integers(1, nz))
    n_keep = data.draw(st.integers(1, n_window))
    kwargs = dict(
        heights=heights, n_window=n_window, n_keep=n_keep,
        normalize=data.draw(st.booleans()),
        noise_c=data.draw(st.floats(0.0, 1.0)),
        max_shift=data.draw(st.integers(0, min(X.shape[1:3]) - 1)),
        shift_mode=data.draw(st.sampled_from(aug.SHIFT_MODES)),
        share_shifts=data.draw(st.booleans()),
        cutout=data.draw(st.booleans()),
    )
    inputs = [X, X[::-1].copy()] if pair else X
    out = aug.augment(inputs, np.random.default_rng(seed), **kwargs)
    assert isinstance(out, list) == pair
    _check_out(out, (*X.shape[:3], n_keep if heights else nz))
    again = aug.augment(inputs, np.random.default_rng(seed), **kwargs)
    for a, b in zip(out if pair else [out], again if pair else [again], strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same batch


@settings(max_examples=60)
@given(X=stacks(min_slices=1), data=st.data())
def test_preprocess_is_deterministic(X, data):
    nz = X.shape[3]
    n_window = data.draw(st.integers(1, nz))
    n_keep = data.draw(st.integers(1, n_window))
    out = aug.preprocess(X, n_window=n_window, n_keep=n_keep)
    _check_out(out, (*X.shape[:3], n_keep))
    np.testing.assert_array_equal(out, aug.preprocess(X, n_window=n_window, n_keep=n_keep))


# ---------------------------------------------------------------------------------------------
# malformed input
# ---------------------------------------------------------------------------------------------
def _call(fn, *args, **kwargs):
    try:
        with no_hang(20):
            return fn(*args, **kwargs)
    except Exception as err:  # the type is the property under test
        assert_clear_error(err)
        return None


def _finite(out) -> None:
    if out is None:
        return
    if isinstance(out, tuple):
        out = out[0]
    for a in out if isinstance(out, list) else [out]:
        assert a.dtype == np.float32 and np.all(np.isfinite(a)), "non-finite output"


X0 = np.arange(2 * 5 * 6 * 16, dtype=np.float32).reshape(2, 5, 6, 16) % 7
#: sizes and counts; integers above 64 are left out of the junk (n_holes=2**60 would allocate)
sizes = st.one_of(
    st.integers(-3, 64), junk.filter(lambda v: not (isinstance(v, int) and abs(v) > 64))
)


@settings(max_examples=300)
@given(
    X=st.one_of(junk, junk_arrays(max_dims=5), st.lists(junk_arrays(min_dims=4, max_dims=4),
                                                          max_size=2), st.just(X0)),
    fn=st.sampled_from(["select_heights", "normalize_slices", "add_noise", "shift_slices",
                        "cutouts", "augment", "preprocess", "take_heights"]),
)
def test_junk_batches_give_a_batch_or_a_clear_error(X, fn):
    rng = np.random.default_rng(0)
    calls = {
        "select_heights": lambda: aug.select_heights(X, rng, 2, 1),
        "normalize_slices": lambda: aug.normalize_slices(X),
        "add_noise": lambda: aug.add_noise(X, rng),
        "shift_slices": lambda: aug.shift_slices(X, rng, max_shift=1, mode="edge"),
        "cutouts": lambda: aug.cutouts(X, rng),
        "augment": lambda: aug.augment(X, rng, n_window=2, n_keep=1, max_shift=0),
        "preprocess": lambda: aug.preprocess(X, n_window=2, n_keep=1),
        "take_heights": lambda: aug.take_heights(X, [0]),
    }
    _finite(_call(calls[fn]))


@settings(max_examples=400)
@given(
    name=st.sampled_from(["n_window", "n_keep", "eps", "noise_c", "max_shift", "shift_mode",
                          "share_shifts", "cutout_holes", "cutout_p", "cutout_area",
                          "cutout_aspect", "heights", "normalize", "cutout"]),
    value=st.one_of(sizes, st.tuples(st.floats(), st.floats()), st.sampled_from(
        ["reflect", "wrap", "edge", "symmetric", "constant"])),
    second=st.sampled_from(["noise_c", "max_shift", "cutout_aspect", "cutout_area", "eps"]),
    value2=st.one_of(sizes, st.tuples(st.floats(), st.floats())),
)
# bugs found and fixed: inf noise gave a NaN batch, an infinite aspect ratio an OverflowError,
# a negative eps a NaN batch, an infinite max_shift an OverflowError
@example(name="noise_c", value=float("inf"), second="eps", value2=1e-8)
@example(name="cutout_aspect", value=(1.0, float("inf")), second="eps", value2=1e-8)
@example(name="eps", value=-1.0, second="noise_c", value2=0.0)
@example(name="max_shift", value=float("inf"), second="eps", value2=1e-8)
def test_junk_augment_settings_give_a_batch_or_a_clear_error(name, value, second, value2):
    kwargs = {second: value2, name: value}
    _finite(_call(aug.augment, X0, np.random.default_rng(1), **kwargs))


@settings(max_examples=300)
@given(
    fn=st.sampled_from(["random_height_indices", "default_height_indices", "take_heights",
                        "preprocess", "random_shifts", "shift_slices", "cutouts", "add_noise",
                        "normalize_slices"]),
    a=st.one_of(sizes, junk_arrays(max_dims=3), st.tuples(st.floats(), st.floats())),
    b=st.one_of(sizes, st.tuples(st.floats(), st.floats())),
    rng=st.one_of(st.just(np.random.default_rng(2)), junk),
)
@example(fn="normalize_slices", a=0, b=-1.0, rng=np.random.default_rng(2))
@example(fn="add_noise", a=0, b=float("inf"), rng=np.random.default_rng(2))
@example(fn="cutouts", a=(0.1, 0.2), b=(1.0, float("inf")), rng=np.random.default_rng(2))
@example(fn="random_shifts", a=float("inf"), b=0, rng=np.random.default_rng(2))
@example(fn="default_height_indices", a=2.5, b=1, rng=np.random.default_rng(2))
@example(fn="shift_slices", a=np.full((2, 16, 2), 10**9), b=0, rng=np.random.default_rng(2))
def test_junk_arguments_give_a_result_or_a_clear_error(fn, a, b, rng):
    calls = {
        "random_height_indices": lambda: aug.random_height_indices(rng, 2, 16, a, b),
        "default_height_indices": lambda: aug.default_height_indices(16, a, b),
        "take_heights": lambda: aug.take_heights(X0, a),
        "preprocess": lambda: aug.preprocess(X0, indices=a),
        "random_shifts": lambda: aug.random_shifts(rng, 2, 16, a),
        "shift_slices": lambda: aug.shift_slices(X0, rng, max_shift=b, mode="wrap", shifts=a),
        "cutouts": lambda: aug.cutouts(X0, rng, n_holes=2, p=1.0, area_range=a, aspect_range=b),
        "add_noise": lambda: aug.add_noise(X0, rng, c=b),
        "normalize_slices": lambda: aug.normalize_slices(X0 * 0, eps=b),
    }
    out = _call(calls[fn])
    if isinstance(out, np.ndarray) and out.dtype == np.float32:
        _finite(out)
    elif isinstance(out, np.ndarray) and fn.endswith("indices"):
        assert np.issubdtype(out.dtype, np.integer), f"indices of dtype {out.dtype}"


@pytest.mark.parametrize("kwargs", [
    {"shifts": np.full((2, 16, 2), 10**9), "mode": "wrap"},
    {"shifts": np.full((2, 16, 2), 10**9), "mode": "edge"},
    {"max_shift": 10**9, "mode": "symmetric"},
])
def test_shifts_far_beyond_the_image_are_rejected_before_allocating(kwargs):
    with pytest.raises(ValueError, match="the image"):
        aug.shift_slices(X0, np.random.default_rng(3), **kwargs)
    if "max_shift" in kwargs:
        with pytest.raises(ValueError, match="the image"):
            aug.augment(X0, np.random.default_rng(3), max_shift=kwargs["max_shift"],
                        shift_mode=kwargs["mode"], n_window=2, n_keep=1)
