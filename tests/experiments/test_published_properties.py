"""Property-based tests of the experiment loaders: random and damaged files give stacks or a
clear ValueError/DatasetUnavailableError naming the file, and writing stacks never leaves a
partial set of files."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from afmkit.experiments.published import (
    DatasetUnavailableError,
    camphor_standin,
    camphor_standin_truth,
    check_stack,
    load_camphor_experiments,
    write_published_format,
)
from tests.strategies import assert_clear_error, junk, junk_arrays, leftovers


def _stack_ok(a: np.ndarray) -> None:
    assert a.dtype == np.float32 and a.ndim == 3 and a.size > 0
    assert np.all(np.isfinite(a))


# ---------------------------------------------------------------------------------------------
# check_stack
# ---------------------------------------------------------------------------------------------
@settings(max_examples=300)
@given(
    stack=st.one_of(junk, junk_arrays(max_dims=5), hnp.arrays(
        st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.uint16]),
        hnp.array_shapes(min_dims=3, max_dims=4, max_side=4))),
    name=st.one_of(st.text(max_size=5), junk),
    shape=st.one_of(st.none(), st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
                    junk),
)
def test_check_stack_gives_a_float32_stack_or_a_clear_error(stack, name, shape):
    try:
        a = check_stack(stack, name, shape)
    except Exception as err:  # the type is the property under test
        assert_clear_error(err)
        return
    _stack_ok(a)
    if shape is not None:
        assert a.shape == tuple(shape)


# ---------------------------------------------------------------------------------------------
# load_camphor_experiments on random directories and archives
# ---------------------------------------------------------------------------------------------
def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


good_stack = hnp.arrays(np.float32, st.sampled_from([(1, 4, 3, 2), (4, 3, 2), (1, 2, 2, 1)]),
                        elements=st.floats(-50, 50, width=32))
contents = st.one_of(
    st.binary(max_size=64),
    good_stack.map(_npy_bytes),
    junk_arrays(max_dims=4).map(_npy_bytes),
    st.tuples(good_stack.map(_npy_bytes), st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
)
names = st.sampled_from(["1.npy", "3.npy", "sub/4.npy", "x.npy", "7.npy.bak", "12.npy",
                         "deep/er/6.npy", "1.NPY"])


def _tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@settings(max_examples=150)
@given(
    files=st.lists(st.tuples(names, contents), max_size=4),
    dirs=st.lists(st.sampled_from(["5.npy", "empty"]), max_size=1),
    archive=st.one_of(st.none(), st.binary(max_size=64),
                      st.lists(st.tuples(names, contents), max_size=3).map(_tar_bytes)),
    target=st.sampled_from(["dir", "archive", "missing"]),
)
@example(files=[("1.npy", b"")], dirs=[], archive=None, target="dir")  # was EOFError
@example(files=[], dirs=["5.npy"], archive=None, target="dir")  # a directory named 5.npy
@example(files=[], dirs=[], archive=b"not a tar", target="archive")  # was tarfile.ReadError
def test_loader_gives_stacks_or_a_clear_error(files, dirs, archive, target):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in files:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        for name in dirs:
            (root / name).mkdir(exist_ok=True)
        if archive is not None:
            (root / "afm_camphor.tar.gz").write_bytes(archive)
        path = {"dir": root, "archive": root / "afm_camphor.tar.gz",
                "missing": root / "nothing"}[target]
        try:
            out = load_camphor_experiments(path)
        except (ValueError, DatasetUnavailableError) as err:
            assert str(err).strip()
            return
        assert out and all(isinstance(k, int) for k in out)
        for a in out.values():
            _stack_ok(a)


# ---------------------------------------------------------------------------------------------
# the stand-in files
# ---------------------------------------------------------------------------------------------
def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


standin_arrays = st.fixed_dictionaries(
    {},
    optional={
        "stacks_u8": st.one_of(
            hnp.arrays(np.uint8, st.sampled_from([(2, 3, 3, 2), (1, 2, 2, 1)])),
            junk_arrays(max_dims=4)),
        "lo": st.one_of(hnp.arrays(np.float32, st.sampled_from([(2, 2), (1, 1), (2,)])),
                        junk_arrays(max_dims=2)),
        "hi": st.one_of(hnp.arrays(np.float32, st.sampled_from([(2, 2), (1, 1)])),
                        junk_arrays(max_dims=2)),
        "numbers": st.one_of(st.just(np.array([1, 2])), st.just(np.array([1])),
                             junk_arrays(max_dims=1)),
        "rotations": st.one_of(st.just(np.tile(np.eye(3), (2, 1, 1))),
                               junk_arrays(max_dims=3)),
        "params_json": st.one_of(st.just(np.array(json.dumps([{}, {}]))),
                                 st.text(max_size=6).map(np.array), junk_arrays(max_dims=1)),
        "seed": st.one_of(st.just(np.array(3)), junk_arrays(max_dims=1)),
    },
)


@settings(max_examples=150)
@given(
    data=st.one_of(st.binary(max_size=40), standin_arrays.map(_npz_bytes)),
    truth=st.booleans(),
)
@example(data=_npz_bytes({"lo": np.zeros((1, 1))}), truth=False)  # was KeyError
@example(data=_npz_bytes({"rotations": np.eye(3)[None]}), truth=True)  # was KeyError
def test_standin_loaders_give_stacks_or_a_clear_error(data, truth):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "standin.npz"
        path.write_bytes(data)
        try:
            out = camphor_standin_truth(path) if truth else camphor_standin(path)
        except (ValueError, DatasetUnavailableError) as err:
            assert str(err).strip()
            return
    if truth:
        assert out.rotations.ndim == 3 and out.rotations.shape[1:] == (3, 3)
        assert isinstance(out.params, list) and isinstance(out.seed, int)
    else:
        for a in out.values():
            _stack_ok(a)


@settings(max_examples=40)
@given(kind=st.one_of(junk, st.text(max_size=8)))
def test_unknown_standin_kinds_are_value_errors(kind):
    if kind in ("afmkit", "ppafm"):
        return
    with pytest.raises(ValueError, match="kind"):
        camphor_standin(kind=kind)


# ---------------------------------------------------------------------------------------------
# writing: all or nothing
# ---------------------------------------------------------------------------------------------
@settings(max_examples=60)
@given(
    good=st.lists(hnp.arrays(np.float32, (3, 2, 2), elements=st.floats(-5, 5, width=32)),
                  max_size=3),
    bad=st.one_of(
        st.just(np.full((3, 2, 2), np.nan)),
        st.just(np.zeros((2, 2))),
        st.just("stack"),
        junk_arrays(max_dims=2),
    ),
    bad_key=st.booleans(),
)
def test_a_bad_stack_writes_no_file(good, bad, bad_key):
    stacks = {i + 1: g for i, g in enumerate(good)}
    if bad_key:
        stacks["seven"] = good[0] if good else np.zeros((2, 2, 2))
    else:
        stacks[99] = bad
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "out"
        try:
            write_published_format(stacks, target)
        except (ValueError, TypeError) as err:
            assert str(err).strip()
            written = sorted(p.name for p in target.iterdir()) if target.exists() else []
            assert written == [], f"partial output: {written}"
        else:
            assert len(list(target.glob("*.npy"))) == len(stacks)
            assert load_camphor_experiments(target).keys() == {int(k) for k in stacks}
        if target.exists():
            assert leftovers(target) == []
