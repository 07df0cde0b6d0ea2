"""Property-based tests of orientation matching: ``check_experiment`` with many random and
malformed stacks, ``match`` validation before any library build (a stand-in model, no Keras),
and a few tiny real matches (pretrained DSH model, exact 3-direction library)."""

from __future__ import annotations

import functools
import types
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from afmkit.experiments import matching
from afmkit.experiments.matching import CHANNELS, METHODS, check_experiment, match
from afmkit.physics.simulator import SimulationParams
from tests.strategies import assert_clear_error, junk, junk_arrays

PARAMS = SimulationParams(pixels=(8, 8), scan_size=(8.0, 8.0))

stack_shapes = st.one_of(
    st.tuples(st.just(8), st.just(8), st.integers(0, 16)),
    st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(0, 3)),
)
exp_stacks = st.one_of(
    junk,
    junk_arrays(max_dims=4),
    hnp.arrays(np.float32, stack_shapes, elements=st.floats(-100, 100, width=32)),
    hnp.arrays(np.float64, st.sampled_from([(8, 8, 10), (1, 8, 8, 10), (2, 8, 8, 10)]),
               elements=st.floats(allow_nan=True, allow_infinity=True)),
    st.just(np.ones((8, 8, 10))),
)
heights = st.one_of(
    st.none(),
    junk,
    junk_arrays(max_dims=2),
    hnp.arrays(np.float64, st.integers(0, 16), elements=st.floats(-1, 3)),
    hnp.arrays(np.float64, st.integers(0, 16), elements=st.floats()),
)


class _BuildReached(Exception):
    """The input passed validation: match went on to build the library."""


def _fake_model(n_keep: int = 10):
    return types.SimpleNamespace(inputs=[types.SimpleNamespace(shape=(None, 8, 8, n_keep))])


# ---------------------------------------------------------------------------------------------
# check_experiment: many cheap cases
# ---------------------------------------------------------------------------------------------
@settings(max_examples=500)
@given(
    stack=exp_stacks,
    n_keep=st.integers(1, 12),
    slice_heights=heights,
    method=st.sampled_from(METHODS),
)
@example(stack=np.arange(640.0).reshape(8, 8, 10), n_keep=10,
         slice_heights=np.r_[np.nan, np.arange(9)[::-1] * 0.1], method="df")  # NaN was accepted
@example(stack=np.arange(640.0).reshape(8, 8, 10), n_keep=10,
         slice_heights=np.full(10, np.inf), method="descriptors")
def test_check_experiment_gives_a_valid_stack_or_a_clear_error(
    stack, n_keep, slice_heights, method
):
    try:
        a, h, compared = check_experiment(stack, PARAMS, n_keep, slice_heights, method)
    except Exception as err:  # the type is the property under test
        assert_clear_error(err)
        return
    assert a.dtype == np.float32 and a.shape[:2] == (8, 8) and a.shape[2] >= n_keep
    assert np.all(np.isfinite(a)) and a.std() > 0
    assert h.shape == (a.shape[2],) and np.all(np.isfinite(h)), f"heights {h}"
    if method == "descriptors":
        assert compared is None
    else:
        assert compared.dtype.kind == "i" and np.all((compared >= 0) & (compared < a.shape[2]))


# ---------------------------------------------------------------------------------------------
# match: everything is validated before a library is built (no Keras: a stand-in model)
# ---------------------------------------------------------------------------------------------
options = st.fixed_dictionaries({}, optional={
    "method": st.sampled_from(METHODS) | junk,
    "top_k": st.integers(-1, 6) | junk,
    "n_rescore": st.integers(-1, 6) | junk,
    "refine_top": st.integers(-1, 4) | junk,
    "angle_step": st.floats(-10, 400) | junk,
    "refine_step": st.floats(-5, 50) | junk,
    "max_shift": st.floats(-5, 1e6) | junk,
    "n_refine": st.integers(-2, 50) | junk,
    "channels": st.lists(st.sampled_from([*CHANNELS, "nope"]), max_size=3) | junk,
    "tips": st.just(()) | st.just(((0.25, -0.1),)) | junk,
    "temperature": st.none() | st.floats() | junk,
})


def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating))


def _assert_valid_options(opts: dict) -> None:
    """The documented ranges of match's options (defaults where not given)."""
    o = {"top_k": 5, "n_rescore": 6, "refine_top": 3, "angle_step": 10.0, "refine_step": 2.0,
         "max_shift": 3.0, "n_refine": 40, "temperature": None, **opts}
    for name, low in (("top_k", 1), ("n_rescore", 1), ("refine_top", 0), ("n_refine", 1)):
        assert isinstance(o[name], (int, np.integer)) and o[name] >= low, (name, o[name])
    assert _number(o["angle_step"]) and 0 < o["angle_step"] <= 360, o["angle_step"]
    assert _number(o["refine_step"]) and 0 < o["refine_step"] <= o["angle_step"]
    assert _number(o["max_shift"]) and 0 <= o["max_shift"] <= min(PARAMS.scan_size) / 2
    t = o["temperature"]
    assert t is None or (_number(t) and 0 < t < np.inf), t


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(stack=exp_stacks, slice_heights=heights, opts=options)
@example(stack=np.arange(640.0).reshape(8, 8, 10), slice_heights=None,
         opts={"angle_step": 0.0})  # was ZeroDivisionError deep in the search
@example(stack=np.arange(640.0).reshape(8, 8, 10), slice_heights=None,
         opts={"max_shift": 1e6})  # was a 1e6-pixel FFT padding
@example(stack=np.arange(640.0).reshape(8, 8, 10), slice_heights=None,
         opts={"top_k": float("nan")})
@example(stack=np.arange(640.0).reshape(8, 8, 10), slice_heights=None,
         opts={"temperature": float("nan")})
def test_match_validates_everything_before_building_a_library(stack, slice_heights, opts):
    def build(*args, **kwargs):
        raise _BuildReached

    with mock.patch.object(matching, "build_library", build):
        try:
            match(stack, model=_fake_model(), params=PARAMS, slice_heights=slice_heights,
                  progress=False, **opts)
        except _BuildReached:
            _assert_valid_options(opts)  # only valid input may start the long library build
            return
        except Exception as err:
            assert_clear_error(err)
            return
    pytest.fail("match returned without a library")  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# a few real matches: pretrained DSH model, exact descriptors of 3 directions
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _real():
    from afmkit.experiments.matching import build_library
    from afmkit.experiments.published import camphor_standin
    from afmkit.learn.models import load_pretrained

    lib = build_library(n_orientations=3, source="exact", cache=False, progress=False)
    return load_pretrained("dsh-light"), lib, camphor_standin()[1]


@pytest.mark.slow
@settings(max_examples=4, suppress_health_check=[HealthCheck.too_slow])
@given(
    top_k=st.integers(1, 8),
    angle_step=st.sampled_from([45.0, 90.0, 120.0]),
    channels=st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True),
    noise=st.floats(0.0, 50.0),
    seed=st.integers(0, 99),
)
def test_tiny_real_matches_rank_orientations(top_k, angle_step, channels, noise, seed):
    model, lib, stack = _real()
    stack = stack + np.random.default_rng(seed).normal(0, noise, stack.shape).astype(np.float32)
    res = match(stack, model=model, library=lib, method="descriptors", top_k=top_k,
                angle_step=angle_step, refine_step=angle_step / 3, n_refine=3,
                channels=tuple(channels))
    k = len(res.scores)
    assert 1 <= k <= top_k and res.rotations.shape == (k, 3, 3)
    assert np.all(np.isfinite(res.scores)) and np.all(np.diff(res.scores) <= 1e-9)
    assert res.scores[0] <= 1 + 1e-5
    assert np.all((res.probabilities >= 0) & (res.probabilities <= 1))
    np.testing.assert_allclose(res.rotations @ res.rotations.transpose(0, 2, 1),
                               np.broadcast_to(np.eye(3), (k, 3, 3)), atol=1e-6)
