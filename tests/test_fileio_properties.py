"""Property-based tests of atomic_path: whatever happens inside the block, a reader sees either
the old file (or none) or the complete new one, and no temporary file is left behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afmkit.fileio import atomic_path, remove_stale_temporaries
from tests.strategies import leftovers


class _Boom(Exception):
    pass


names = st.sampled_from(["a.npz", "b.weights.h5", "c.tar.gz", "noext", "sub/dir/d.json", ".e"])


@settings(max_examples=120)
@given(
    name=names,
    old=st.none() | st.binary(max_size=64),
    new=st.binary(max_size=256),
    fail_after=st.none() | st.integers(0, 256),
    error=st.sampled_from([_Boom, KeyboardInterrupt, OSError]),
)
def test_atomic_path_gives_the_old_or_the_complete_new_file(name, old, new, fail_after, error):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if old is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(old)
        fails = fail_after is not None and fail_after <= len(new)
        try:
            with atomic_path(path) as t:
                assert t.parent == path.parent and t != path
                with open(t, "wb") as f:
                    f.write(new[: fail_after if fails else None])
                    if fails:
                        f.flush()
                        raise error("interrupted")
        except (_Boom, KeyboardInterrupt, OSError) as err:
            assert fails and isinstance(err, error)
            if old is None:
                assert not path.exists()
            else:
                assert path.read_bytes() == old
        else:
            assert not fails and path.read_bytes() == new
        assert leftovers(path.parent) == []


@settings(max_examples=20)
@given(n=st.integers(0, 4))
def test_stale_temporaries_are_removed(n):
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            (Path(tmp) / f".x{i}.tmp-0123abcd.npz").write_bytes(b"half")
        (Path(tmp) / "keep.npz").write_bytes(b"whole")
        assert remove_stale_temporaries(tmp) == n
        assert [p.name for p in Path(tmp).iterdir()] == ["keep.npz"]


def test_a_block_that_writes_nothing_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "x.npz"):
        pass
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=30)
@given(data=st.binary(max_size=3 << 20), algorithm=st.sampled_from(["sha256", "md5"]))
def test_file_digest_is_the_digest_of_the_bytes(data, algorithm):
    import hashlib
    import tempfile

    from afmkit.fileio import file_digest

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blob"
        path.write_bytes(data)
        assert file_digest(path, algorithm) == hashlib.new(algorithm, data).hexdigest()
