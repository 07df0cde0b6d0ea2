"""The molecule catalogue (afmkit.structures.catalogue): every entry builds, face-on, cached."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.structures import catalogue as C
from afmkit.structures.molecules import lay_flat
from afmkit.structures.qm9 import qm9


def test_every_entry_builds_with_its_label_as_name():
    assert C.catalogue_names()[0] == C.DEFAULT_MOLECULE == "1S-camphor"
    for name, entry in C.CATALOGUE.items():
        mol = C.example_molecule(name)
        assert mol.name == name and len(mol) > 0, name
        if entry.face_on and entry.source == "smiles":
            assert np.ptp(mol.positions[:, 2]) < 0.05, name  # the SMILES examples are planar


def test_face_on_is_lay_flat():
    entry = C.CATALOGUE["pyridine (QM9)"]
    np.testing.assert_allclose(entry.build().positions, lay_flat(qm9(entry.qm9_index)).positions)
    turned = lay_flat(qm9(923))
    assert np.ptp(turned.positions[:, 2]) < 0.05 and turned.name == qm9(923).name


def test_example_molecule_hands_out_copies():
    a = C.example_molecule("phenol (QM9)")
    a.positions[:] = 0.0
    assert np.ptp(C.example_molecule("phenol (QM9)").positions) > 1.0
    with pytest.raises(KeyError, match="unknown example molecule"):
        C.example_molecule("unobtainium")
    with pytest.raises(ValueError, match="unknown source"):
        C.CatalogueEntry("x", "pdb").build()


def test_load_molecule_sources():
    assert C.load_molecule("camphor").formula == "C10H16O"
    assert C.load_molecule("qm9", qm9_index=923).formula == "C6H6O"
    assert C.load_molecule("smiles", smiles=" O ").formula == "H2O"
    xyz = "2\nH2\nH 0 0 0\nH 0 0 0.74\n"
    assert C.load_molecule("xyz", xyz_text=xyz).formula == "H2"
    with pytest.raises(ValueError, match="SMILES"):
        C.load_molecule("smiles", smiles="  ")
    with pytest.raises(ValueError, match="unknown molecule source"):
        C.load_molecule("pdb")
    with pytest.raises(IndexError):
        C.load_molecule("qm9", qm9_index=10**7)
