"""The held-out measure of the shipped weights: molecules, stacks, scores, targets."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.learn import heldout, models
from afmkit.structures.molecule_sets import molecule_set


@pytest.fixture(scope="module")
def held_out():
    return heldout.held_out_set(3, xe=True)


def test_held_out_set_is_the_test_split_in_its_best_view(held_out):
    assert held_out.X.shape == held_out.X_xe.shape == (3, 128, 128, 10)
    assert not np.allclose(held_out.X, held_out.X_xe)  # CO and Xe tips differ
    names = [m.name for m in molecule_set("light", "test", 3)]
    assert [m.name for m in held_out.molecules] == names
    assert held_out.targets["classes"].shape == (3, 16, 16, 2)
    assert set(held_out.targets) >= {*heldout.DSH_OUTPUTS, "es_map", "offsets"}
    assert heldout.held_out_set(1).X_xe is None


@pytest.mark.parametrize("mode", ["dsh", "es", "xyz"])
def test_shipped_models_score_on_held_out_molecules(held_out, mode):
    metrics = heldout.held_out_metrics(models.load_pretrained(f"{mode}-light"), mode, held_out)
    if mode == "xyz":
        assert 0 < metrics["precision@0.5"] <= 1 and 0 < metrics["recall@0.5"] <= 1
        assert 0 < metrics["position_error_mean"] < 1.0
    else:
        assert all(0.3 < v <= 1 for v in metrics.values()), metrics
    met = heldout.meets_targets(mode, metrics)
    assert set(met) == set(heldout.TARGETS[mode])


def test_targets_are_checked_in_the_right_direction():
    good = {"precision@0.5": 0.9, "recall@0.5": 0.8, "position_error_mean": 0.2}
    assert all(heldout.meets_targets("xyz", good).values())
    bad = {**good, "position_error_mean": 0.3, "recall@0.5": 0.79}
    assert heldout.meets_targets("xyz", bad) == {"precision@0.5": True, "recall@0.5": False,
                                                 "position_error_mean": False}  # fmt: skip


def test_bad_requests_are_clear(held_out):
    no_xe = heldout.HeldOutSet(held_out.molecules, held_out.X, held_out.targets, held_out.params)
    with pytest.raises(ValueError, match="Xe stacks"):
        heldout.held_out_metrics(models.build_model("es"), "es", no_xe)
    with pytest.raises(ValueError, match="mode"):
        heldout.held_out_metrics(models.build_model("dsh"), "dhs", held_out)
    assert np.isnan(heldout.pearson(np.ones(5), np.arange(5)))
    assert heldout.pearson(np.arange(5), 2 * np.arange(5) + 1) == pytest.approx(1.0)


def test_compare_models_table(held_out):
    result = heldout.compare_models({"dsh-light": models.load_pretrained("dsh-light")}, held_out)
    assert result["dsh-light"]["r"]["vdw_spheres"].shape == (3,)
    table = heldout.comparison_table(result, 3)
    assert "over 3 held-out molecules" in table and "dsh-light" in table
