"""Property-based test of write_shards: a molecule that fails in the middle of a run leaves the
shards written so far complete, no half-written shard and no temporary file; the next run
resumes."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from afmkit.learn.data import AFMDataset, load_shard, write_shards
from afmkit.physics.simulator import SimulationParams
from afmkit.structures.molecules import Molecule
from tests.strategies import leftovers, molecules

TINY = SimulationParams(pixels=(8, 8), scan_size=(8.0, 8.0), n_slices=2)


@pytest.mark.slow
@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow])
@given(
    mols=st.lists(molecules(min_atoms=2, max_atoms=5, extent=1.5), min_size=2, max_size=3),
    bad=st.integers(0, 2),
    damage=st.sampled_from(["nan", "numbers"]),
    fmt=st.sampled_from(["npz", "h5"]),
)
@example(
    mols=[Molecule([6, 1], [[0, 0, 0], [1.1, 0, 0.2]]), Molecule([8, 1], [[0, 0, 0], [1, 0, 0]]),
          Molecule([7, 1], [[0, 0, 0], [0, 1, 0]])],
    bad=1, damage="numbers", fmt="h5",
)
def test_a_bad_molecule_mid_run_leaves_only_complete_shards(mols, bad, damage, fmt):
    bad = min(bad, len(mols) - 1)
    ds = AFMDataset(mols, "dsh", batch_size=1, params=TINY, n_rotations=1, augment=False,
                    shuffle=False)
    victim = ds.molecules[bad]
    good_numbers = victim.numbers.copy()
    if damage == "nan":
        victim.positions[0, 2] = np.nan  # damaged after the dataset was built
    else:
        victim.numbers[0] = 0
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            write_shards(ds, tmp, fmt=fmt, progress=False)
        names = sorted(p.name for p in Path(tmp).iterdir())
        expect = ["manifest.json"] + [f"shard-{i:05d}.{fmt}" for i in range(bad)]
        assert names == sorted(expect), names
        assert leftovers(Path(tmp)) == []
        for i in range(bad):
            assert load_shard(Path(tmp) / f"shard-{i:05d}.{fmt}")["X"].shape == (1, 8, 8, 2)
        if damage == "nan":
            return  # repaired positions are another configuration: the manifest refuses them
        victim.numbers[:] = good_numbers  # repaired: the next run resumes
        paths = write_shards(ds, tmp, fmt=fmt, progress=False)
        assert [p.name for p in paths] == [f"shard-{i:05d}.{fmt}" for i in range(len(mols))]
        assert all(np.all(np.isfinite(load_shard(p)["X"])) for p in paths)
