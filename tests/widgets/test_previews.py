"""Helpers shared by the panels (afmkit.widgets.previews): molecule choice, cached previews."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.structures.catalogue import CATALOGUE
from afmkit.widgets import previews as P
from tests.conftest import benzene


def test_molecule_choice_offers_the_catalogue_after_the_given_molecule():
    plain = P.MoleculeChoice()
    assert plain.labels == list(CATALOGUE) and plain.first == "1S-camphor"
    assert plain.get("1S-camphor").formula == "C10H16O" and not plain.follows("1S-camphor")
    mol = benzene()
    choice = P.MoleculeChoice(mol)
    assert choice.labels[0] == "benzene" and choice.first == "benzene"
    assert choice.get("benzene") is mol and choice.follows("benzene")
    mol.name = ""
    assert P.MoleculeChoice(mol).first == "your molecule"
    with pytest.raises(KeyError, match="unknown example molecule"):
        plain.get("unobtainium")


def test_follow_molecule():
    mol = benzene()

    class Picker:
        molecule = mol

    assert P.follow_molecule(mol) is mol
    assert P.follow_molecule(Picker()) is mol
    assert P.follow_molecule(None).name == "1S-camphor"
    assert P.MoleculeChoice(Picker()).get("your molecule") is mol
    with pytest.raises(TypeError, match="molecule_picker_panel"):
        P.follow_molecule(object())


def test_preview_stack_is_cached_and_read_only():
    mol = benzene()
    stack = P.preview_stack(mol, pixels=16, n_slices=3)
    assert stack.shape == (16, 16, 3) and not stack.flags.writeable
    assert P.preview_stack(mol.copy(), pixels=16, n_slices=3) is stack  # same content
    moved = mol.translated([0.0, 0.0, 0.5])
    assert P.molecule_key(moved) != P.molecule_key(mol)
    params = P.preview_params(16, 3)
    assert params.pixels == (16, 16) and params.n_slices == 3
    assert params.ff_step == P.PREVIEW_FF_STEP


def test_best_view():
    mol = benzene().rotated(np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]))  # upright
    view = P.best_view(mol, 0)
    assert view.name == "benzene (view 0)"
    # the best of 100 near-uniform directions shows the ring almost face-on
    assert np.ptp(view.positions[:, 2]) < 0.1 * np.ptp(mol.positions[:, 2])
