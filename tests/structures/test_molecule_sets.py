"""Molecule sets and splits: deterministic, disjoint, the right elements; heavy-set building."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.structures import molecule_sets as molsets
from afmkit.structures.molecule_sets import (
    ALLOWED_ELEMENTS,
    HEAVY_ELEMENTS,
    build_heavy_set,
    heavy_candidates,
    heavy_molecules,
    heavy_skipped,
    molecule_set,
    split_indices,
)


def test_splits_are_disjoint_prefixes_and_deterministic():
    parts = {s: split_indices(1000, s, "all", 0) for s in ("train", "val", "test")}
    assert sum(len(p) for p in parts.values()) == 1000
    assert len(np.unique(np.concatenate(list(parts.values())))) == 1000
    assert np.array_equal(split_indices(1000, "train", 50, 0), parts["train"][:50])
    assert np.array_equal(split_indices(1000, "val", None, 7), parts["val"][:7])
    with pytest.raises(ValueError, match="has 100"):
        split_indices(1000, "test", 101, 0)
    with pytest.raises(ValueError, match="split"):
        split_indices(1000, "training", 1, 0)


def test_light_set_is_qm9_with_thesis_sizes():
    train = molecule_set("light", "train", 200)
    assert len(train) == 200
    assert all(set(m.numbers.tolist()) <= {1, 6, 7, 8, 9} for m in train)
    assert all(abs(m.charges.sum()) < 1e-3 for m in train)  # Mulliken charges of neutral molecules
    test = molecule_set("light", "test", 200)
    assert not {m.name for m in train} & {m.name for m in test}
    assert [m.name for m in molecule_set("light", "train", 200)] == [m.name for m in train]
    assert len(molecule_set("dataset1", "val")) == 1500


def test_unknown_set():
    with pytest.raises(ValueError, match="unknown molecule set"):
        molecule_set("medium", "train", 1)


def test_heavy_candidates_filter():
    smiles, reasons = heavy_candidates()
    assert len(smiles) > 2000 and smiles == sorted(set(smiles))
    assert reasons["no Si/P/S/Cl/Br"] > 0 and reasons["charged"] > 0
    from rdkit import Chem

    for smi in smiles[::97]:
        zs = {a.GetAtomicNum() for a in Chem.MolFromSmiles(smi).GetAtoms()}
        assert zs <= ALLOWED_ELEMENTS and zs & HEAVY_ELEMENTS


def test_build_heavy_set_skips_and_counts_failures(tmp_path, caplog):
    path = tmp_path / "heavy.npz"
    smiles = ["ClCCl", "CSC", "O=[Si](O)O[Si](O)(O)O[Si](=O)O", "c1ccc(Br)cc1"]
    build_heavy_set(smiles, path=path, progress=False)
    mols = heavy_molecules(path)
    assert [m.name for m in mols] == ["ClCCl", "CSC", "c1ccc(Br)cc1"]
    assert mols[0].formula == "CH2Cl2" and abs(mols[0].charges.sum()) < 1e-6
    skipped = heavy_skipped(path)
    assert sum(skipped.values()) == 1 and "MMFF94" in next(iter(skipped))
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, nothing left behind


def test_corrupt_heavy_cache_is_reported(tmp_path):
    path = tmp_path / "heavy.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(OSError, match="delete it to rebuild"):
        heavy_molecules(path)


@pytest.mark.slow
def test_full_heavy_and_dataset2_sets():
    """The real heavy set (built once into the cache, about a minute)."""
    heavy = molsets.heavy_molecules()
    assert len(heavy) > 2000
    assert all(3 <= len(m) <= 47 for m in heavy)
    train = molecule_set("dataset2", "train", 100)
    n_heavy = sum(bool(set(m.numbers.tolist()) & HEAVY_ELEMENTS) for m in train)
    assert n_heavy == 100 - round(100 * 3500 / 6000)
