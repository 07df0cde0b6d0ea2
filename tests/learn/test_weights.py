"""The shipped pretrained weights load offline and have real skill on held-out molecules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from afmkit.learn import augment, data, heldout, models
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecule_sets import molecule_set
from afmkit.targets.rotations import select_rotations


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def held_out():
    """Four test-split QM9 molecules (never seen in training), in their best view."""
    test_split = molecule_set("light", "test", 4)
    mols = [m.rotated(select_rotations(m, n_best=1)[0][0]) for m in test_split]
    params = SimulationParams()
    co = AFMSimulator(params)
    xe = AFMSimulator(params.replace(probe="Xe"))
    X_co = augment.preprocess(np.stack([co(m) for m in mols]))
    X_xe = augment.preprocess(np.stack([xe(m) for m in mols]))
    targets = [data.compute_targets(m, params) for m in mols]
    return X_co, X_xe, {k: np.stack([t[k] for t in targets]) for k in targets[0]}


@pytest.mark.parametrize("name", sorted(models.PRETRAINED))
def test_weights_ship_with_recipe_and_metrics(name):
    path = models.weights_path(name)
    assert path.is_file() and path.stat().st_size < 4_000_000
    report = json.loads(path.with_name(f"{name}.metrics.json").read_text())
    assert np.isfinite(report["losses"]["loss"])


def test_dsh_predicts_held_out_molecules(held_out):
    X_co, _, y = held_out
    out = models.load_pretrained("dsh-light").predict(X_co, verbose=0)
    spheres, height = out[1], out[2]
    assert np.median([pearson(p, t) for p, t in zip(spheres, y["vdw_spheres"], strict=True)]) > 0.6
    assert np.median([pearson(p, t) for p, t in zip(height, y["height_map"], strict=True)]) > 0.7


def test_es_predicts_held_out_molecules(held_out):
    X_co, X_xe, y = held_out
    es, height = models.load_pretrained("es-light").predict([X_co, X_xe], verbose=0)
    assert es.shape == height.shape == (4, 128, 128)
    assert np.median([pearson(p, t) for p, t in zip(height, y["height_map"], strict=True)]) > 0.7
    assert np.median([pearson(p, t) for p, t in zip(es, y["es_map"], strict=True)]) > 0.3


def test_xyz_finds_atoms_of_held_out_molecules(held_out):
    X_co, _, y = held_out
    classes, offsets = models.load_pretrained("xyz-light").predict(X_co, verbose=0)
    atom = y["classes"][..., 0] > 0.5
    p_atom = classes[..., 0]
    # atom boxes get clearly higher confidence than background boxes
    assert p_atom[atom].mean() > p_atom[~atom].mean() + 0.2


@pytest.fixture(scope="module")
def issue_measure():
    """The measure of the campaign targets: 16 test-split molecules, best view, no noise."""
    return heldout.held_out_set(16)


def test_campaign_dsh_meets_the_vdw_and_height_targets(issue_measure):
    """dsh-light (training campaign) reads held-out molecules at vdW r ≥ 0.95, Height Map ≥ 0.98.

    The third DSH target, Atomic Disks r ≥ 0.80, is not met (0.73 at the 200 k-sample budget,
    flat from 120 k on): it is reported in afmkit/learn/weights/README.md and stays open.
    """
    scores = heldout.held_out_metrics(models.load_pretrained("dsh-light"), "dsh", issue_measure)
    met = heldout.meets_targets("dsh", scores)
    assert met["vdw_spheres_r"] and met["height_map_r"], scores
    report = json.loads(models.weights_path("dsh-light").with_name("dsh-light.metrics.json")
                        .read_text())  # fmt: skip
    assert report["samples_seen"] >= 200_000 and report["molecules"] >= 5_000
    for key, value in scores.items():  # the shipped report is what these weights measure
        assert value == pytest.approx(report["held_out"][key], abs=0.01), key


def test_campaign_xyz_meets_the_recall_target(issue_measure):
    """xyz-light (training campaign, 150 k samples) finds ≥ 80 % of the atom boxes of held-out
    molecules. Precision ≥ 0.80 and a mean position error ≤ 0.25 Å are not met (0.62, 0.26 Å):
    reported in afmkit/learn/weights/README.md and open."""
    scores = heldout.held_out_metrics(models.load_pretrained("xyz-light"), "xyz", issue_measure)
    assert heldout.meets_targets("xyz", scores)["recall@0.5"], scores
    assert scores["position_error_mean"] < 0.30, scores  # was 0.354 Å before the campaign
    report = json.loads(models.weights_path("xyz-light").with_name("xyz-light.metrics.json")
                        .read_text())  # fmt: skip
    assert report["samples_seen"] >= 150_000 and report["molecules"] >= 5_000
    for key, value in scores.items():  # the shipped report is what these weights measure
        assert value == pytest.approx(report["held_out"][key], abs=0.01), key
