"""Training campaigns: chunks, checkpoints, resume across sittings, export, bad directories."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from afmkit.cli import main as cli_main
from afmkit.learn import campaign, models
from afmkit.learn.data import AFMDataset, write_shards
from afmkit.structures.molecule_sets import molecule_set


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """CO + Xe shards of 3 + 1 + 1 light-set molecules (batch 4): train, val, test."""
    root = tmp_path_factory.mktemp("shards")
    for split, size, seed in (("train", 3, 0), ("val", 1, 1), ("test", 1, 2)):
        data = AFMDataset(molecule_set("light", split, size), "es", batch_size=4, seed=seed,
                          n_rotations=2, shuffle=split == "train")  # fmt: skip
        write_shards(data, root / f"es-{split}", progress=False)
    return root / "es"


def config(shards, directory, until, **kwargs):
    return campaign.CampaignConfig(mode=kwargs.pop("mode", "dsh"), shards=shards,
                                   until_samples=until, directory=directory, chunk_samples=8,
                                   held_out=2, workers=1, **kwargs)  # fmt: skip


def weights(directory, mode="dsh"):
    return keras.models.load_model(campaign.checkpoint_path(directory, mode)).get_weights()


def test_sittings_continue_where_the_last_stopped(shards, tmp_path):
    lines = []
    record = campaign.run_campaign(config(shards, tmp_path / "a", 16), log=lines.append,
                                   progress=False)
    assert record["samples_seen"] == 16 and record["steps"] == 4
    assert [p["samples_seen"] for p in record["curve"]] == [0, 8, 16]
    assert len(lines) == 2 and "16 samples seen" in lines[-1]
    assert record["molecules"] == 3 and record["distinct_samples"] == 6
    for point in record["curve"]:
        assert set(point) >= {"val_loss", "vdw_spheres_r", "height_map_r", "atomic_disks_r"}
        assert np.isfinite(point["val_loss"])
    again = campaign.run_campaign(config(shards, tmp_path / "a", 24))
    assert again["samples_seen"] == 24 and len(again["sittings"]) == 2
    assert again["sittings"][0]["samples"] == 16 and again["sittings"][1]["samples"] == 8
    assert [p["samples_seen"] for p in again["curve"]] == [0, 8, 16, 24]
    text = campaign.record_path(tmp_path / "a", "dsh").read_text()
    assert json.loads(text, parse_constant=pytest.fail) == again  # strict JSON: no NaN
    # one sitting straight to 24 samples: the same batches, the same optimizer state
    campaign.run_campaign(config(shards, tmp_path / "b", 24))
    for a, b in zip(weights(tmp_path / "a"), weights(tmp_path / "b"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    model = keras.models.load_model(campaign.checkpoint_path(tmp_path / "a", "dsh"))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 6


def test_time_budget_and_finished_campaign(shards, tmp_path):
    record = campaign.run_campaign(config(shards, tmp_path, 16, hours=0.0))
    assert record["samples_seen"] == 0 and len(record["curve"]) == 1  # the starting point only
    done = campaign.run_campaign(config(shards, tmp_path, 8))
    assert done["samples_seen"] == 8
    assert campaign.run_campaign(config(shards, tmp_path, 8))["samples_seen"] == 8  # nothing left


def test_checkpoint_is_the_truth_after_a_kill_between_writes(shards, tmp_path):
    campaign.run_campaign(config(shards, tmp_path, 8))
    path = campaign.record_path(tmp_path, "dsh")
    record = json.loads(path.read_text())
    record["steps"], record["samples_seen"] = 0, 0  # as if killed before the record was written
    path.write_text(json.dumps(record))
    with pytest.warns(RuntimeWarning, match="checkpoint is at step 2"):
        again = campaign.run_campaign(config(shards, tmp_path, 16))
    assert again["samples_seen"] == 16


def test_other_shards_or_missing_record_are_refused(shards, tmp_path):
    campaign.run_campaign(config(shards, tmp_path, 4))
    record = json.loads(campaign.record_path(tmp_path, "dsh").read_text())
    record["shards"]["molecules_sha1"] = "0" * 40
    campaign.record_path(tmp_path, "dsh").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="other shards"):
        campaign.run_campaign(config(shards, tmp_path, 8))
    campaign.record_path(tmp_path, "dsh").unlink()
    with pytest.raises(ValueError, match="has no record"):
        campaign.run_campaign(config(shards, tmp_path, 8))
    campaign.record_path(tmp_path, "dsh").write_text("{not json")
    with pytest.raises(ValueError, match="not a campaign record"):
        campaign.run_campaign(config(shards, tmp_path, 8))
    with pytest.raises(ValueError, match="precision"):
        config(shards, tmp_path, 8, precision="float16")
    with pytest.raises(ValueError, match="mode"):
        config(shards, tmp_path, 8, mode="dhs")


@pytest.mark.parametrize("mode", ["es", "xyz"])
def test_export_writes_shippable_weights(shards, tmp_path, mode):
    record = campaign.run_campaign(config(shards, tmp_path / "ckpt", 8, mode=mode))
    keys = {"es": {"es_map_r", "height_map_r"},
            "xyz": {"precision@0.5", "recall@0.5", "position_error_mean"}}[mode]  # fmt: skip
    assert set(record["curve"][-1]) >= keys
    out = tmp_path / "weights"
    report = campaign.export_campaign(mode, f"{mode}-light", tmp_path / "ckpt", held_out=2,
                                      test_shards=f"{shards}-test", weights_dir=out)  # fmt: skip
    assert set(report["held_out"]) >= keys and report["samples_seen"] == 8
    assert np.isfinite(report["losses"]["loss"]) and report["test_samples"] == 2
    assert set(report["targets_met"]) == set(campaign.heldout.TARGETS[mode])
    model = models.load_pretrained(f"{mode}-light", directory=out)
    assert model.count_params() == models.build_model(mode).count_params()
    assert campaign.load_record(out / f"{mode}-light.campaign.json")["samples_seen"] == 8
    with pytest.raises(FileNotFoundError, match="no campaign"):
        campaign.export_campaign(mode, f"{mode}-light", tmp_path / "empty", weights_dir=out)


def test_mixed_precision_campaign_exports_float32_weights(shards, tmp_path):
    campaign.run_campaign(config(shards, tmp_path, 4, precision="mixed_bfloat16"))
    model = keras.models.load_model(campaign.checkpoint_path(tmp_path, "dsh"))
    assert model.get_layer("conv3d_1").dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left alone
    campaign.export_campaign("dsh", "dsh-light", tmp_path, weights_dir=tmp_path / "w", held_out=2)
    lean = models.load_pretrained("dsh-light", directory=tmp_path / "w")
    assert lean.get_layer("conv3d_1").dtype_policy.name == "float32"


def test_cli_campaign_and_export(shards, tmp_path, capsys):
    common = ["--checkpoints", str(tmp_path / "ckpt"), "--held-out", "2"]
    assert cli_main(["campaign", "xyz", "--shards", str(shards), "--until-samples", "4",
                     "--chunk-samples", "4", *common]) == 0  # fmt: skip
    assert "4 samples seen over 3 molecules" in capsys.readouterr().out
    assert cli_main(["campaign", "xyz", "--export", "xyz-light", "--shards", str(shards),
                     "--weights-dir", str(tmp_path / "w"), *common]) == 0  # fmt: skip
    for name in ("xyz-light.weights.h5", "xyz-light.campaign.json", "learning_curves.png"):
        assert (tmp_path / "w" / name).is_file(), name
    assert list(campaign.shipped_records(weights_dir=tmp_path / "w")) == ["xyz-light"]
    with pytest.raises(SystemExit, match="--until-samples"):
        cli_main(["campaign", "xyz", "--shards", str(shards), *common])


def test_hardware_record():
    info = campaign.hardware()
    assert info["cores"] >= 1 and info["backend"] == keras.backend.backend()
    assert isinstance(info["gpus"], list)


def test_committed_checkpoints_are_small_and_agree_with_their_records():
    """checkpoints/ at the repository root: ≤ 10 MB per model, the record matches the optimizer."""
    root = campaign.Path(__file__).resolve().parents[2] / "checkpoints"
    records = sorted(root.glob("*.json"))
    assert records, f"no campaign checkpoints committed in {root}"
    for path in records:
        record = campaign.load_record(path)
        ckpt = campaign.checkpoint_path(root, record["mode"])
        assert ckpt.stat().st_size <= 10_000_000, ckpt
        model = keras.models.load_model(ckpt)
        steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        assert steps == record["steps"] and record["samples_seen"] == steps * record["batch_size"]
        assert record["curve"][-1]["samples_seen"] == record["samples_seen"]
        assert record["molecules"] >= 5000 and record["sittings"]
