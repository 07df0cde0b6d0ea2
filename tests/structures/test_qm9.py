"""Tests for afmkit.structures.qm9: the QM9 cache (build, resume, crash safety, concurrency)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from afmkit.structures import qm9 as qm9mod
from afmkit.structures.qm9 import qm9_source_csvs


# ---------------------------------------------------------------------------- QM9
def _qm9_part1() -> Path:
    return qm9_source_csvs()[0]  # qm9pack is a dependency


@pytest.fixture
def qm9_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("AFMKIT_CACHE_DIR", str(tmp_path / "cache"))
    qm9mod._open_dataset.cache_clear()
    yield tmp_path / "cache"
    qm9mod._open_dataset.cache_clear()


@pytest.mark.filterwarnings("ignore:QM9 cache is partial")
def test_qm9_small_cache(qm9_tmp):
    src = _qm9_part1()
    path = qm9mod.build_qm9_cache(csv_paths=[src], limit=200, progress=False)
    assert path == qm9mod.qm9_cache_path() and path.parent == qm9_tmp
    assert {p.name for p in path.iterdir()} >= {f"{a}.npy" for a in qm9mod._QM9_ARRAYS}
    ds = qm9mod.qm9()
    assert isinstance(ds, qm9mod.QM9Dataset) and len(ds) == 200
    m0 = qm9mod.qm9(0)
    assert len(m0) == 5 and m0.formula == "CH4" and m0.name == "qm9-000001"
    assert m0.numbers.tolist() == [6, 1, 1, 1, 1]
    assert abs(m0.charges.sum()) < 1e-4
    np.testing.assert_allclose(m0.positions[0], [-0.0126981359, 1.0858041578, 0.0080009958], 1e-6)
    assert m0.positions.dtype == np.float64 and m0.numbers.dtype == np.int64
    assert ds.smiles(0) == "C" and ds.qm9_id(0) == 1
    assert ds.find(1) == 0
    assert ds.find(ds.qm9_id(150)) == 150
    with pytest.raises(KeyError):
        ds.find(10**6)
    assert ds[-1].name == f"qm9-{ds.qm9_id(199):06d}"
    sl = ds[3:6]
    assert isinstance(sl, list) and [m.name for m in sl] == [ds[i].name for i in range(3, 6)]
    with pytest.raises(IndexError):
        ds[200]
    with pytest.raises(IndexError):
        qm9mod.qm9(-201)
    n = 0
    for m in ds:
        assert abs(m.charges.sum()) < 1e-3
        n += 1
    assert n == 200
    t = time.perf_counter()
    for i in range(200):
        ds[i]
    assert (time.perf_counter() - t) / 200 < 0.05  # generous; real figure is ~10 µs
    # second build is a no-op returning the same directory
    mtime = (path / "meta.json").stat().st_mtime_ns
    assert qm9mod.build_qm9_cache(csv_paths=[src], limit=200, progress=False) == path
    assert (path / "meta.json").stat().st_mtime_ns == mtime


def test_qm9_partial_cache_warns(qm9_tmp):
    qm9mod.build_qm9_cache(csv_paths=[_qm9_part1()], limit=20, progress=False)
    with pytest.warns(UserWarning, match="partial"):
        qm9mod.qm9(0)


@pytest.mark.filterwarnings("ignore:QM9 cache is partial")
def test_qm9_crash_leaves_no_half_cache(qm9_tmp, monkeypatch):
    src = _qm9_part1()
    real_save = qm9mod._save_array
    saved: list[str] = []

    def crashing_save(directory, name, arr):
        if len(saved) == 3:
            raise RuntimeError("simulated crash while writing the cache")
        saved.append(name)
        real_save(directory, name, arr)

    monkeypatch.setattr(qm9mod, "_save_array", crashing_save)
    with pytest.raises(RuntimeError, match="simulated crash"):
        qm9mod.build_qm9_cache(csv_paths=[src], limit=50, progress=False)
    assert saved == ["numbers", "positions", "charges"]
    assert not qm9mod.qm9_cache_path().exists()  # nothing half-written is visible
    assert list(qm9_tmp.iterdir()) == []  # and the temp dir was cleaned up
    monkeypatch.setattr(qm9mod, "_save_array", real_save)

    # a hard crash (kill -9) leaves a temp dir behind: it must not break the next build
    leftover = qm9_tmp / f".{qm9mod._QM9_DIRNAME}.tmp-crashed"
    leftover.mkdir()
    (leftover / "numbers.npy").write_bytes(b"\x93NUMPY garbage")
    old = time.time() - 2 * qm9mod._STALE_TMP_SECONDS
    os.utime(leftover, (old, old))
    path = qm9mod.build_qm9_cache(csv_paths=[src], limit=50, progress=False)
    assert len(qm9mod.QM9Dataset(path)) == 50
    assert not leftover.exists()  # stale temp dir of the crashed build removed
    assert qm9mod.qm9(0).formula == "CH4"

    # a directory without meta.json (e.g. copied by hand, half) is not accepted as a cache
    (path / "meta.json").unlink()
    with pytest.raises(FileNotFoundError):
        qm9mod.QM9Dataset(path)


@pytest.mark.filterwarnings("ignore:QM9 cache is partial")
def test_qm9_concurrent_builders(qm9_tmp):
    src = _qm9_part1()

    def build(_):
        return qm9mod.build_qm9_cache(csv_paths=[src], limit=100, progress=False, force=True)

    with ThreadPoolExecutor(4) as ex:
        paths = list(ex.map(build, range(4)))
    assert len(set(paths)) == 1
    ds = qm9mod.QM9Dataset(paths[0])
    assert len(ds) == 100 and ds[0].formula == "CH4"
    assert [p.name for p in qm9_tmp.iterdir()] == [qm9mod._QM9_DIRNAME]  # no temp dirs left


def test_qm9_skips_malformed_rows(qm9_tmp, tmp_path):
    src = _qm9_part1()
    with open(src, encoding="utf-8") as f:
        lines = [next(f) for _ in range(11)]  # header + 10 molecules
    # molecule 3 (water): drop one coordinate -> count mismatch; molecule 5: bad number
    orig = list(lines)
    lines[3] = lines[3].replace("[0.8717903737,1.3007924048,0.0006931336]", "[0.87,1.30]")
    lines[5] = lines[5].replace("-0.0133239314", "-0.01x3")
    assert lines[3] != orig[3] and lines[5] != orig[5]
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines))
    with pytest.warns(UserWarning, match="skipped 2 malformed rows"):
        path = qm9mod.build_qm9_cache(csv_paths=[bad], progress=False)
    ds = qm9mod.QM9Dataset(path)
    assert len(ds) == 8
    assert [s["line"] for s in ds.meta["skipped"]] == [4, 6]
    assert 3 not in ds.ids and 5 not in ds.ids


@pytest.mark.slow
def test_qm9_full_cache():
    """Uses (or builds, ~10 s) the real cache in the user cache directory."""
    _qm9_part1()
    qm9mod._open_dataset.cache_clear()
    path = qm9mod.qm9_cache_path()
    meta = qm9mod._read_meta(path)
    if meta is not None and meta.get("partial"):
        qm9mod.build_qm9_cache(force=True)
    ds = qm9mod.qm9()
    assert len(ds) == 130831
    assert ds.meta["n_atoms"] == 2359210
    assert ds[0].formula == "CH4" and ds.qm9_id(-1) == 133885
    m = ds[ds.find(133885)]
    assert m.name == "qm9-133885"
    phenol = qm9mod.qm9(qm9_id=949)  # the README's example: position 923, QM9 index 949
    assert phenol.name == "qm9-000949" and qm9mod.qm9(923).name == "qm9-000949"
    with pytest.raises(ValueError, match="not both"):
        qm9mod.qm9(923, qm9_id=949)
    assert set(np.unique(np.asarray(ds._numbers)).tolist()) == {1, 6, 7, 8, 9}
    idx = np.random.default_rng(0).integers(0, len(ds), 2000)
    t = time.perf_counter()
    for i in idx:
        m = ds[int(i)]
        assert abs(m.charges.sum()) < 1e-3
        assert len(m) <= 29
    assert (time.perf_counter() - t) / len(idx) < 0.01
