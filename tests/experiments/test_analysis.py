"""The models' reading of a prepared measurement (afmkit.experiments.analysis)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from afmkit.experiments.analysis import analyse_experiment, resolve_molecule
from afmkit.learn.augment import preprocess
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import Molecule, camphor


@pytest.fixture(scope="module")
def camphor_stacks():
    params = SimulationParams()
    co = AFMSimulator(params)(camphor())
    xe = AFMSimulator(params.replace(probe="Xe"))(camphor())
    return co, xe, params


@pytest.mark.slow
def test_descriptors_atoms_and_es_map_of_a_clean_simulation(camphor_stacks):
    co, xe, params = camphor_stacks
    X, X_xe = preprocess(co[None])[0], preprocess(xe[None])[0]
    pixel = params.scan_size[0] / (params.pixels[0] - 1)
    result = analyse_experiment(X, X_xe=X_xe, threshold=0.3)
    assert result.extent[1] == pytest.approx(pixel * 127 / 2)
    assert set(result.descriptors) == {"atomic_disks", "vdw_spheres", "height_map", "es_map",
                                       "es_height_map"}  # fmt: skip
    assert all(a.shape == (128, 128) for a in result.descriptors.values())
    assert result.models == {"dsh": "dsh-light", "xyz": "xyz-light", "es": "es-light"}
    assert result.atoms is not None and len(result.atoms) >= 3
    x0, x1, y0, y1 = result.extent
    assert (x0, x1) == pytest.approx((-8.0, 8.0))
    assert ((result.atoms[:, 0] > x0) & (result.atoms[:, 0] < x1)).all()
    assert (result.atoms[:, 3] > 0.3).all() and (result.atoms[:, 2] <= 0.05).all()
    # the atoms lie on camphor's top atoms: each detected atom within 1 Å of a true one (xy)
    top = camphor().positions
    top = top[top[:, 2] > top[:, 2].max() - 1.0, :2] - top[:, :2].mean(axis=0)
    nearest = np.min(np.hypot(*(result.atoms[:, None, :2] - top[None]).transpose(2, 0, 1)), 1)
    assert np.median(nearest) < 1.0, nearest
    json.dumps(result.summary())  # JSON-ready
    # the vdW Spheres are highest over the molecule's centre, low at the window's corners
    spheres = result.descriptors["vdw_spheres"]
    assert spheres[56:72, 56:72].mean() > spheres[:16, :16].mean() + 0.5

    only = analyse_experiment(X, use=("dsh",))
    assert only.atoms is None and "es_map" not in only.descriptors
    no_xe = analyse_experiment(X, use=("dsh", "es"))
    assert "no Xe-tip stack" in no_xe.notes[0]


@pytest.mark.slow
def test_matching_through_the_analysis(camphor_stacks, small_library):
    co, _, _ = camphor_stacks
    lib, _ = small_library
    X = preprocess(co[None])[0]
    result = analyse_experiment(X, use=("dsh",), molecule=camphor(), df=co[:, :, -10:],
                                match_options={"library": lib, "method": "descriptors",
                                               "top_k": 2})  # fmt: skip
    assert result.match is not None and len(result.match.scores) == 2
    assert result.summary()["match"]["method"] == "descriptors"


def test_bad_input_is_refused_before_any_model_runs():
    X = np.zeros((128, 128, 10), np.float32)
    with pytest.raises(ValueError, match="unknown models"):
        analyse_experiment(X, use=("cnn",))
    with pytest.raises(ValueError, match="threshold"):
        analyse_experiment(X, threshold=1.0)
    with pytest.raises(ValueError, match="df="):
        analyse_experiment(X, molecule="C")
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        analyse_experiment(bad)
    with pytest.raises(ValueError, match="one prepared stack"):
        analyse_experiment(X[None])


def test_resolve_molecule(tmp_path):
    mol = camphor()
    assert resolve_molecule(mol) is mol
    water = resolve_molecule("O")
    assert isinstance(water, Molecule) and sorted(water.numbers.tolist()) == [1, 1, 8]
    path = tmp_path / "w.xyz"
    path.write_text("3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")
    assert len(resolve_molecule(path).numbers) == 3
    with pytest.raises(ValueError):
        resolve_molecule("not a smiles ((")
