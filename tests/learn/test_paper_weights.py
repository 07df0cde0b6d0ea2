"""The paper's published DSH weights: layout, conversion, checksums, offline use, and skill.

Offline and fast: the real files are read from the shared fixture folder when it exists; a
synthetic file in the same Keras 2 layout (written here) always exercises the converter.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import h5py
import numpy as np
import pytest

from afmkit.fileio import atomic_path, file_digest
from afmkit.learn import heldout, models
from afmkit.learn import paper_weights as pw

SHARED = Path(__file__).resolve().parents[3] / "shared" / "asd-afm-weights"
REAL = {"asd-afm-light": SHARED / "model_light.h5", "asd-afm-heavy": SHARED / "model_heavy.h5"}


def _need_real(name: str = "asd-afm-light") -> Path:
    if not REAL[name].is_file():
        pytest.skip(f"the published weights are not in {SHARED} (test fixture folder absent)")
    return REAL[name]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Downloads and converted weights go to a fresh folder (the QM9 cache stays shared)."""
    folder = tmp_path / "asd-afm"
    monkeypatch.setattr(pw, "paper_dir", lambda: folder)
    return folder


# ------------------------------------------------------------------ a synthetic Keras 2 file
def _paper_layers() -> list[tuple[str, str | None, tuple[int, ...] | None]]:
    """(group, inner conv name, kernel shape) of the paper's model, in its layer_names order."""
    conv2d_shapes = {1: (3, 3, 32, 64), 2: (3, 3, 64, 64)}
    for branch in range(3):
        first = 3 + 7 * branch
        conv2d_shapes[first] = (3, 3, 64, 16)
        conv2d_shapes.update({first + k: (3, 3, 16, 16) for k in range(1, 6)})
        conv2d_shapes[first + 6] = (3, 3, 16, 1)
    out: list[tuple[str, str | None, tuple[int, ...] | None]] = [
        ("input_1", None, None),
        ("reshape_1", None, None),
    ]
    for k, (cin, cout) in enumerate(((1, 4), (4, 8), (8, 16)), start=1):
        out += [
            (f"conv3d_reflective_{k}", f"conv3d_{k}", (3, 3, 3, cin, cout)),
            (f"leaky_re_lu_{k}", None, None),
            (f"average_pooling3d_{k}", None, None),
        ]
    out.append(("reshape_2", None, None))
    for k in (1, 2):
        out += [(f"conv2d_reflective_{k}", f"conv2d_{k}", conv2d_shapes[k])]
        out += [(f"leaky_re_lu_{k + 3}", None, None)]
    # the branches interleave in the file (Keras 2's topological order); numbering is creation
    # order: branch b's convs are 3 + 7 b … 9 + 7 b
    for step in range(7):
        if step in (0, 2, 4):
            out += [(f"nn_upsampling_{3 * b + step // 2 + 1}", None, None) for b in (1, 2, 0)]
        out += [
            (f"conv2d_reflective_{3 + 7 * b + step}", f"conv2d_{3 + 7 * b + step}",
             conv2d_shapes[3 + 7 * b + step])
            for b in (1, 2, 0)
        ]  # fmt: skip
        if step < 6:
            out += [(f"leaky_re_lu_{6 + 6 * b + step}", None, None) for b in (1, 2, 0)]
    out += [("activation_1", None, None), ("activation_2", None, None)]
    out += [(f"reshape_{k}", None, None) for k in (3, 4, 5)]
    return out


def write_synthetic(path: Path, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """A Keras 2 ``save_weights`` file of the paper's model with random weights.

    Returns the arrays by *paper* conv name (e.g. "conv2d_16" → [kernel, bias]).
    """
    rng = np.random.default_rng(seed)
    arrays: dict[str, list[np.ndarray]] = {}
    layers = _paper_layers()
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["layer_names"] = np.array([name.encode() for name, _, _ in layers])
        for name, conv, shape in layers:
            group = f.create_group(name)
            if conv is None:
                group.attrs["weight_names"] = np.array([], dtype=np.float64)
                continue
            kernel = rng.standard_normal(shape).astype(np.float32)
            bias = rng.standard_normal(shape[-1]).astype(np.float32)
            names = [f"{conv}/kernel:0", f"{conv}/bias:0"]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for n, a in zip(names, (kernel, bias), strict=True):
                group.create_dataset(n, data=a)
            arrays[conv] = [kernel, bias]
    return arrays


def _structure(path: Path) -> dict[str, tuple]:
    found: dict[str, tuple] = {}
    with h5py.File(path, "r") as f:
        found["/layer_names"] = tuple(n.decode() for n in f.attrs["layer_names"])

        def visit(key, obj):
            if isinstance(obj, h5py.Dataset):
                found[key] = (obj.shape, obj.dtype.str)
            else:
                names = obj.attrs.get("weight_names", [])
                found[key + "/weight_names"] = tuple(
                    n.decode() if isinstance(n, bytes) else n for n in names
                )

        f.visititems(visit)
    return found


@pytest.fixture
def synthetic(tmp_path, monkeypatch):
    """A synthetic light file, registered as the published one (its own sha256)."""
    path = tmp_path / "model_light.h5"
    arrays = write_synthetic(path)
    spec = pw.PaperWeights("asd-afm-light", "model_light.h5", file_digest(path), "light")
    monkeypatch.setitem(pw.PAPER_WEIGHTS, "asd-afm-light", spec)
    return path, arrays


def test_synthetic_file_has_the_real_layout(tmp_path):
    real = _structure(_need_real())
    fake_path = tmp_path / "fake.h5"
    write_synthetic(fake_path)
    assert _structure(fake_path) == real


def test_synthetic_round_trip(synthetic, private_cache):
    path, arrays = synthetic
    model = models.load_pretrained("asd-afm-light", path=path)
    assert model.count_params() == models.PARAMETER_COUNTS["dsh"] == 122_811
    paper_names = ["conv3d_1", "conv3d_2", "conv3d_3"] + [f"conv2d_{k}" for k in range(1, 24)]
    assert len(pw.DSH_LAYER_ORDER) == len(paper_names) == 26
    for ours, theirs in zip(pw.DSH_LAYER_ORDER, paper_names, strict=True):
        kernel, bias = model.get_layer(ours).get_weights()
        np.testing.assert_array_equal(kernel, arrays[theirs][0])
        np.testing.assert_array_equal(bias, arrays[theirs][1])
    # the branches land where the paper's create_model built them
    np.testing.assert_array_equal(
        model.get_layer("vdw_spheres_conv_out").get_weights()[0], arrays["conv2d_16"][0]
    )
    np.testing.assert_array_equal(
        model.get_layer("height_map_conv_1a").get_weights()[0], arrays["conv2d_17"][0]
    )
    # every weight of the model came from the file
    n_file = sum(a.size for pair in arrays.values() for a in pair)
    assert n_file == model.count_params()
    # converted once, then read from the cache with no source file and no network
    cached = pw.converted_path("asd-afm-light")
    assert cached.is_file() and cached.parent == private_cache
    assert not [p for p in private_cache.iterdir() if ".tmp-" in p.name]
    path.unlink()
    again = models.load_pretrained("asd-afm-light", download=False)
    present = models.load_paper_weights_if_present("asd-afm-light")
    for a, b, c in zip(
        model.get_weights(), again.get_weights(), present.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_wrong_layout_is_a_clear_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="not a Keras 2 weights file"):
        pw.dsh_arrays(path)
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        pw.read_keras2_weights(tmp_path / "junk.h5")
    full = tmp_path / "model_light.h5"
    write_synthetic(full)
    with h5py.File(full, "a") as f:
        del f["conv2d_reflective_23/conv2d_23/kernel:0"]
        conv = f["conv2d_reflective_23"]["conv2d_23"]
        conv.create_dataset("kernel:0", data=np.zeros((3, 3, 16, 2)))
    with pytest.raises(ValueError, match=r"conv2d_reflective_23 \(→ height_map_conv_out\)"):
        pw.dsh_arrays(full)


# ------------------------------------------------------------------ checksums and offline use
def test_checksum_mismatch_names_the_expected_sha256(tmp_path):
    bad = tmp_path / "model_light.h5"
    write_synthetic(bad)
    expected = pw.PAPER_WEIGHTS["asd-afm-light"].sha256
    with pytest.raises(ValueError) as err:
        models.load_pretrained("asd-afm-light", path=bad)
    assert expected in str(err.value) and file_digest(bad) in str(err.value)
    with pytest.raises(FileNotFoundError):
        models.load_pretrained("asd-afm-light", path=tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="only for the paper's weights"):
        models.load_pretrained("dsh-light", path=bad)
    with pytest.raises(ValueError, match="unknown published weights"):
        models.load_paper_weights("asd-afm-medium")


def test_offline_download_says_how_to_get_the_file(monkeypatch, private_cache):
    def offline(url, target, *, timeout):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(pw, "download_file", offline)
    for name, spec in pw.PAPER_WEIGHTS.items():
        with pytest.raises(pw.PaperWeightsUnavailableError) as err:
            models.load_pretrained(name)
        msg = str(err.value)
        assert spec.url in msg and spec.sha256 in msg and "MIT" in msg
        assert str(private_cache / spec.filename) in msg and "path=" in msg
        assert pw.ASD_AFM_COMMIT in spec.url
    assert isinstance(err.value, OSError)
    with pytest.raises(pw.PaperWeightsUnavailableError, match="download=False"):
        models.load_pretrained("asd-afm-light", download=False)
    # the notebooks' way: None and one line of instructions, never a download
    assert models.load_paper_weights_if_present("asd-afm-light") is None
    assert models.load_paper_weights_if_present("asd-afm-light", private_cache / "none.h5") is None
    line = pw.how_to_get("asd-afm-light")
    assert "\n" not in line and pw.PAPER_WEIGHTS["asd-afm-light"].url in line
    assert not private_cache.exists() or not any(private_cache.iterdir())


def test_download_is_verified_and_a_bad_one_removed(monkeypatch, private_cache, tmp_path):
    source = tmp_path / "published.h5"
    arrays = write_synthetic(source, seed=3)
    spec = pw.PaperWeights("asd-afm-heavy", "model_heavy.h5", file_digest(source), "heavy")
    monkeypatch.setitem(pw.PAPER_WEIGHTS, "asd-afm-heavy", spec)
    calls = []

    def fake_download(url, target, *, timeout):
        calls.append(url)
        with atomic_path(target) as tmp:
            tmp.write_bytes(source.read_bytes())

    monkeypatch.setattr(pw, "download_file", fake_download)
    model = models.load_pretrained("asd-afm-heavy")
    assert calls == [spec.url]
    first = model.get_layer("conv3d_1").get_weights()[0]
    np.testing.assert_array_equal(first, arrays["conv3d_1"][0])
    models.load_pretrained("asd-afm-heavy")  # cached: no second download
    assert len(calls) == 1
    # a corrupted download: clear error, and the bad file does not stay
    pw.converted_path("asd-afm-heavy").unlink()
    (private_cache / "model_heavy.h5").unlink()
    source.write_bytes(b"truncated")
    with pytest.raises(ValueError, match=spec.sha256):
        models.load_pretrained("asd-afm-heavy")
    assert not (private_cache / "model_heavy.h5").exists()


# ------------------------------------------------------------------ the real files
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_convert(name, private_cache):
    path = _need_real(name)
    assert file_digest(path) == pw.PAPER_WEIGHTS[name].sha256
    model = models.load_pretrained(name, path=path)
    assert model.count_params() == 122_811
    with h5py.File(path, "r") as f:
        kernel = np.asarray(f["conv2d_reflective_16"]["conv2d_16"]["kernel:0"])
        bias = np.asarray(f["conv3d_reflective_1"]["conv3d_1"]["bias:0"])
    out_kernel = model.get_layer("vdw_spheres_conv_out").get_weights()[0]
    np.testing.assert_array_equal(out_kernel, kernel)
    np.testing.assert_array_equal(model.get_layer("conv3d_1").get_weights()[1], bias)


def test_paper_light_model_reads_afmkit_stacks(private_cache):
    """Held-out QM9 molecules, best view, default simulation: vdW Spheres median r ≥ 0.9."""
    path = _need_real("asd-afm-light")
    model = models.load_pretrained("asd-afm-light", path=path)
    held_out = heldout.held_out_set(4)
    assert held_out.X.shape == (4, 128, 128, 10)
    result = heldout.compare_models({"asd-afm-light": model}, held_out)["asd-afm-light"]
    assert result["median"]["vdw_spheres"] >= 0.9, result["r"]
    assert result["median"]["height_map"] >= 0.9, result["r"]
    # the slice order matters: reversed stacks (closest slice first) read far worse
    reversed_set = heldout.HeldOutSet(
        held_out.molecules, np.ascontiguousarray(held_out.X[..., ::-1]), held_out.targets,
        held_out.params,
    )  # fmt: skip
    worse = heldout.compare_models({"reversed": model}, reversed_set)["reversed"]
    assert worse["median"]["vdw_spheres"] < result["median"]["vdw_spheres"] - 0.2
    table = heldout.comparison_table({"asd-afm-light": result}, 4)
    assert "asd-afm-light" in table and "vdw_spheres" in table
