"""On-the-fly training data and shards: shapes, determinism, tips, resume, corrupt files."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.cli import main as cli_main
from afmkit.learn import data
from afmkit.learn.data import AFMDataset, ShardDataset, ShardError, load_shard, write_shards
from afmkit.physics.simulator import SimulationParams
from afmkit.structures.molecules import camphor
from afmkit.structures.qm9 import qm9

PARAMS = SimulationParams(pixels=(32, 32))


@pytest.fixture(scope="module")
def mols():
    return [qm9(209), qm9(923), camphor()]


def make(mols, mode="dsh", **kw):
    kw = {"batch_size": 4, "seed": 3, "params": PARAMS, "n_rotations": 2, **kw}
    return AFMDataset(mols, mode, **kw)


def test_dsh_batches(mols):
    ds = make(mols)
    assert ds.n_samples == 6 and len(ds) == 2
    X, Y = ds[0]
    assert X.shape == (4, 32, 32, 10) and X.dtype == np.float32
    assert [y.shape for y in Y] == [(4, 32, 32)] * 3
    assert np.allclose(X.mean(axis=(1, 2)), 0, atol=0.2)  # normalised (+ noise, shifts, cutouts)
    X1, _ = ds[1]
    assert X1.shape[0] == 2  # the last batch holds the rest


def test_batches_are_reproducible_and_seeded(mols):
    a, b = make(mols)[0], make(mols)[0]
    assert np.array_equal(a[0], b[0])
    assert all(np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
    c = make(mols, seed=4)[0]
    assert not np.array_equal(a[0], c[0])


def test_epochs_reshuffle(mols):
    ds = make(mols)
    first = ds.sample_order().copy()
    ds.on_epoch_end()
    assert sorted(map(tuple, first)) == sorted(map(tuple, ds.sample_order()))
    assert not np.array_equal(first, ds.sample_order())


def test_random_tip_within_bounds(mols):
    ds = make(mols * 4, batch_size=24, tilt_radius=1.0, height_jitter=0.25)
    raw = ds.raw_batch(0)
    r = np.linalg.norm(raw["tilt"], axis=1)
    assert r.max() <= 1.0 and r.std() > 0.1
    dz = raw["z_closest"] - PARAMS.z_closest
    assert np.abs(dz).max() <= 0.25 and dz.std() > 0.05
    assert raw["X"].shape == (24, 32, 32, 20)  # raw: all 20 slices, no augmentation


def test_es_and_xyz_modes(mols):
    (co, xe), (es, height) = make(mols, "es")[0]
    assert co.shape == xe.shape == (4, 32, 32, 10)
    assert not np.allclose(co, xe)
    assert es.shape == height.shape == (4, 32, 32)
    ds = make(mols, "xyz")
    assert ds.n_rotations == 2
    X, (classes, offsets) = ds[0]
    assert classes.shape == (4, 16, 16, 2) and offsets.shape == (4, 16, 16, 3)
    assert np.allclose(classes.sum(axis=-1), 1)
    assert make([camphor()], "xyz", n_rotations=None).n_rotations == 30


def test_bad_input(mols):
    with pytest.raises(ValueError, match="mode"):
        AFMDataset(mols, "abc")
    with pytest.raises(ValueError, match="at least one molecule"):
        AFMDataset([], "dsh")
    with pytest.raises(IndexError):
        make(mols).raw_batch(5)


@pytest.mark.parametrize("fmt", ["npz", "h5"])
def test_shards_reproduce_the_batches(tmp_path, mols, fmt):
    ds = make(mols)
    paths = write_shards(ds, tmp_path, fmt=fmt, progress=False)
    assert [p.name for p in paths] == [f"shard-0000{i}.{fmt}" for i in range(2)]
    shards = ShardDataset(tmp_path, shuffle=False)
    assert len(shards) == len(ds)
    for i in range(len(ds)):
        (xa, ya), (xb, yb) = ds[i], shards[i]
        assert np.array_equal(xa, xb)
        assert all(np.array_equal(a, b) for a, b in zip(ya, yb, strict=True))


def test_interrupted_generation_resumes(tmp_path, mols, monkeypatch):
    ds = make(mols)
    paths = write_shards(ds, tmp_path, progress=False)
    before = load_shard(paths[0])
    paths[1].unlink()  # as if the run died while writing shard 1 ...
    (tmp_path / ".shard-00001.tmp-deadbeef.npz").write_bytes(b"half")  # ... leaving a temporary
    calls = []
    original = AFMDataset.raw_batch
    monkeypatch.setattr(
        AFMDataset, "raw_batch", lambda self, i, epoch=None: calls.append(i) or original(self, i)
    )
    write_shards(make(mols), tmp_path, progress=False)
    assert calls == [1]
    assert not list(tmp_path.glob(".*tmp*"))
    assert np.array_equal(load_shard(paths[0])["X"], before["X"])
    assert ShardDataset(tmp_path)[1][0].shape == (2, 32, 32, 10)


def test_other_configuration_is_refused(tmp_path, mols):
    write_shards(make(mols), tmp_path, progress=False)
    with pytest.raises(ShardError, match="different configuration"):
        write_shards(make(mols, seed=9), tmp_path, progress=False)


def test_corrupt_and_missing_shards_are_named(tmp_path, mols):
    paths = write_shards(make(mols), tmp_path, progress=False)
    paths[1].write_bytes(b"garbage")
    shards = ShardDataset(tmp_path, shuffle=False)
    with pytest.raises(ShardError, match="shard-00001.npz"):
        shards[1]
    paths[0].unlink()
    with pytest.raises(ShardError, match="missing"):
        ShardDataset(tmp_path)
    with pytest.raises(ShardError, match="manifest"):
        ShardDataset(tmp_path / "nowhere")


def test_cli_generate(tmp_path):
    out = tmp_path / "shards"
    argv = ["generate", "--mode", "xyz", "--size", "2", "--out", str(out), "--pixels", "32",
            "--batch-size", "4", "--n-batches", "2"]  # fmt: skip
    assert cli_main(argv) == 0
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.npz", "shard-00001.npz"]
    assert load_shard(out / "shard-00000.npz")["classes"].shape == (4, 16, 16, 2)
    assert cli_main(argv) == 0  # resume: nothing left to do
    assert data.ShardDataset(out).mode == "xyz"


def test_es_shards_serve_all_three_models(tmp_path, mols):
    write_shards(make(mols, "es"), tmp_path, n_batches=1, progress=False)
    raw = load_shard(tmp_path / "shard-00000.npz")
    for mode, n_targets in (("dsh", 3), ("xyz", 2), ("es", 2)):
        X, Y = ShardDataset(tmp_path, mode=mode, shuffle=False)[0]
        assert len(Y) == n_targets
        assert (X[0] if mode == "es" else X).shape == (4, 32, 32, 10)
    X, _ = ShardDataset(tmp_path, mode="dsh", shuffle=False, augment=False)[0]
    assert np.array_equal(X, raw["X_co"])
    dsh_dir = tmp_path / "dsh"
    write_shards(make(mols, "dsh"), dsh_dir, n_batches=1, progress=False)
    with pytest.raises(ValueError, match="es shards"):
        ShardDataset(dsh_dir, mode="es")


def test_worker_threads_give_the_same_batches(mols):
    """Keras runs PyDataset workers as threads: concurrent batches must equal sequential ones."""
    from concurrent.futures import ThreadPoolExecutor

    ds = make(mols, batch_size=2)
    sequential = [ds[i][0] for i in range(len(ds))]
    fresh = make(mols, batch_size=2, workers=2)
    with ThreadPoolExecutor(max_workers=3) as pool:
        parallel = list(pool.map(lambda i: fresh[i][0], range(len(fresh))))
    assert all(np.array_equal(a, b) for a, b in zip(sequential, parallel, strict=True))


def test_pipelined_generation_gives_the_same_batches(mols):
    """Two threads per batch (descriptors of one sample while the next simulates) change nothing."""
    a = make(mols, mode="es", pipeline=True).raw_batch(0)
    b = make(mols, mode="es", pipeline=False).raw_batch(0)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[key], b[key]) for key in a)
