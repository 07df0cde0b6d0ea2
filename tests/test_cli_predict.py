"""``afmkit predict``: your own measurement in, descriptors, atoms and the orientation out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from afmkit.cli import main
from afmkit.experiments.instrument_files import synthetic_measurement, write_gwy, write_sxm_series
from afmkit.physics.simulator import SimulationParams
from afmkit.structures.molecules import camphor


@pytest.fixture(scope="module")
def measurement(tmp_path_factory):
    folder = tmp_path_factory.mktemp("measurement")
    stack, drift = synthetic_measurement(camphor(), SimulationParams(), drift_px=0.3, noise=0.05,
                                         seed=3)  # fmt: skip
    sxm = write_sxm_series(stack, folder / "sxm")
    gwy = write_gwy(stack, folder / "scan.gwy")
    xe, _ = synthetic_measurement(camphor(), SimulationParams(probe="Xe"), drift_px=0.3,
                                  noise=0.05, seed=4)  # fmt: skip
    xe_sxm = write_sxm_series(xe, folder / "xe")
    return {"sxm": sxm, "gwy": gwy, "xe": xe_sxm, "stack": stack, "drift": drift,
            "folder": folder}  # fmt: skip


@pytest.mark.slow
def test_predict_an_sxm_series_with_a_xe_series(measurement, tmp_path, capsys):
    out = tmp_path / "out"
    files = [str(p) for p in measurement["sxm"]]
    assert main(["predict", *files, "--xe", str(measurement["folder"] / "xe"),
                 "--out", str(out), "--threshold", "0.3"]) == 0  # fmt: skip
    for name in ("slices.png", "drift.png", "prediction.png", "summary.json", "prepared.npz"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "summary.json").read_text())
    assert doc["files"] == files and len(doc["xe_files"]) == 1
    assert doc["preparation"]["shape"] == [128, 128, 10]
    assert doc["atoms"] and all(a["confidence"] > 0.3 for a in doc["atoms"])
    assert {"vdw_spheres", "es_map"} <= set(doc["descriptors"]) and doc["match"] is None
    with np.load(out / "prepared.npz") as z:
        assert z["X"].shape == (128, 128, 10) and z["heights"][-1] == 0
    assert "atoms above p = 0.3" in capsys.readouterr().out  # the progress log


@pytest.mark.slow
def test_predict_a_gwy_file_and_match_the_molecule(measurement, small_library, tmp_path):
    _, library_dir = small_library
    out = tmp_path / "gwy"
    assert main(["predict", str(measurement["gwy"]), "--out", str(out), "--molecule", "camphor",
                 "--n-orientations", "6", "--library-dir", str(library_dir),
                 "--method", "descriptors", "--top-k", "2"]) == 0  # fmt: skip
    doc = json.loads((out / "summary.json").read_text())
    assert doc["match"]["method"] == "descriptors" and len(doc["match"]["matches"]) == 2
    assert doc["molecule"] == "camphor"


def test_bad_measurements_are_one_line_errors(measurement, tmp_path, capsys):
    truncated = tmp_path / "cut.sxm"
    truncated.write_bytes(measurement["sxm"][0].read_bytes()[:4000])
    npy = tmp_path / "stack.npy"
    np.save(npy, measurement["stack"].df)
    for args in ([str(truncated)], [str(npy)], [str(tmp_path / "missing.sxm")],
                 [str(tmp_path / "notes.txt")]):  # fmt: skip
        assert main(["predict", *args, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err and err[-1].startswith("afmkit predict:"), err
        assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "o").exists()
    assert main(["predict", str(npy), "--pixel-size", "0.126", "--out", str(tmp_path / "n"),
                 "--molecule", "not-a-smiles((("]) == 2  # fmt: skip
    assert "--molecule" in capsys.readouterr().err
