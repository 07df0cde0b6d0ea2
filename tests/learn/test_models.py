"""Tests of afmkit.learn.models: the thesis's layer tables (Tables 2–4), symmetric padding, training
steps, input validation and pretrained-weight loading."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from afmkit.learn import losses, models

ROOT = Path(__file__).resolve().parents[2]
# Keras's TensorFlow backend converts variables with np.array(copy=False) (NumPy 2 deprecation)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
KINDS = ("dsh", "es", "xyz")


@pytest.fixture(scope="module")
def built() -> dict[str, keras.Model]:
    return {kind: models.build_model(kind) for kind in KINDS}


def _params(model: keras.Model, name: str) -> int:
    return model.get_layer(name).count_params()


# ------------------------------------------------------------------------ layer tables (exact)


def test_parameter_counts_match_thesis(built):
    assert built["dsh"].count_params() == 122_811  # Table 2
    assert built["es"].count_params() == 169_970  # Table 3
    assert built["xyz"].count_params() == 560_941  # Table 4
    assert {k: m.count_params() for k, m in built.items()} == models.PARAMETER_COUNTS


def test_dsh_layer_table(built):
    m = built["dsh"]
    assert [_params(m, f"conv3d_{k}") for k in (1, 2, 3)] == [112, 872, 3472]
    assert [_params(m, f"latent_conv_{k}") for k in (1, 2)] == [18496, 36928]
    for out in models.DSH_OUTPUTS:
        convs = [f"{out}_conv_{s}{ab}" for s in (1, 2, 3) for ab in "ab"]
        assert [_params(m, c) for c in convs] == [9232] + [2320] * 5
        assert _params(m, f"{out}_conv_out") == 145
    # encoder shapes: z 10 → 5 → 2 → 2 (valid pools), reshape to 2 · 16 = 32 channels
    assert m.get_layer("avgpool_1").output.shape[1:] == (64, 64, 5, 4)
    assert m.get_layer("avgpool_2").output.shape[1:] == (32, 32, 2, 8)
    assert m.get_layer("avgpool_3").output.shape[1:] == (16, 16, 2, 16)
    assert m.get_layer("to_2d").output.shape[1:] == (16, 16, 32)


def test_es_layer_table(built):
    m = built["es"]
    assert [t.name for t in m.inputs] == list(models.ES_INPUTS)
    for tip in models.ES_INPUTS:  # two encoders with their own weights
        assert [_params(m, f"{tip}_conv3d_{k}") for k in (1, 2, 3)] == [112, 872, 3472]
        assert _params(m, f"{tip}_latent_conv") == 18496
    assert m.get_layer("concat_tips").output.shape[1:] == (16, 16, 128)
    assert _params(m, "latent_conv_1x1") == 8256
    assert [_params(m, f"latent_conv_{k}") for k in (1, 2)] == [36928, 36928]
    for out in models.ES_OUTPUTS:
        assert _params(m, f"{out}_conv_1a") == 9232
        assert _params(m, f"{out}_conv_out") == 145


def test_xyz_layer_table(built):
    m = built["xyz"]
    assert [_params(m, f"latent_conv_{k}") for k in (1, 2, 3)] == [36992, 147584, 147584]
    for out in models.XYZ_OUTPUTS:
        assert [_params(m, f"{out}_conv_{k}") for k in (1, 2)] == [73792, 36928]
    assert _params(m, "offsets") == 1731 and _params(m, "classes") == 1154


def test_outputs_names_shapes_activations(built):
    dsh, es, xyz = built["dsh"], built["es"], built["xyz"]
    assert dsh.output_names == ["atomic_disks", "vdw_spheres", "height_map"]
    assert es.output_names == ["es_map", "height_map"]
    assert xyz.output_names == ["classes", "offsets"]
    assert [tuple(o.shape) for o in dsh.outputs] == [(None, 128, 128)] * 3
    assert [tuple(o.shape) for o in xyz.outputs] == [(None, 16, 16, 2), (None, 16, 16, 3)]
    assert tuple(dsh.inputs[0].shape) == (None, 128, 128, 10)

    def act(model, name):
        return keras.activations.serialize(model.get_layer(name).activation)

    assert [act(dsh, f"{o}_conv_out") for o in models.DSH_OUTPUTS] == ["linear", "relu", "relu"]
    assert [act(es, f"{o}_conv_out") for o in models.ES_OUTPUTS] == ["linear", "relu"]
    assert act(xyz, "classes") == "softmax" and act(xyz, "offsets") == "linear"


@pytest.mark.parametrize("kind", KINDS)
def test_architecture_rules(built, kind):
    """LeakyReLU(0.1) after every hidden conv, symmetric padding before every k > 1 conv,
    nearest-neighbour upsampling, no transposed convolutions."""
    m = built[kind]
    by_name = {layer.name: layer for layer in m.layers}
    convs = [la for la in m.layers if isinstance(la, (keras.layers.Conv2D, keras.layers.Conv3D))]
    assert not any(isinstance(la, keras.layers.Conv2DTranspose) for la in m.layers)
    final = {f"{o}_conv_out" for o in models.DSH_OUTPUTS + models.ES_OUTPUTS} | {
        "classes",
        "offsets",
    }
    for conv in convs:
        assert conv.padding == "valid" and conv.strides == (1,) * len(conv.strides)
        if max(conv.kernel_size) > 1:
            pad = by_name[f"{conv.name}_pad"]
            assert isinstance(pad, (models.SymmetricPadding2D, models.SymmetricPadding3D))
        if conv.name not in final:
            assert by_name[f"{conv.name}_lrelu"].negative_slope == pytest.approx(0.1)
    for layer in m.layers:
        if isinstance(layer, keras.layers.UpSampling2D):
            assert layer.interpolation == "nearest" and layer.size == (2, 2)


def test_options_change_size(built):
    m = models.dsh_model((64, 32, 6), encoder_filters=(2, 4, 8), latent_filters=8)
    assert [tuple(o.shape) for o in m.outputs] == [(None, 64, 32)] * 3
    assert m.get_layer("to_2d").output.shape[1:] == (8, 4, 8)  # z: 6 → 3 → 1
    x = models.xyz_model((32, 32, 10))
    assert [tuple(o.shape) for o in x.outputs] == [(None, 4, 4, 2), (None, 4, 4, 3)]
    with pytest.raises(ValueError, match="multiples of 8"):
        models.dsh_model((100, 128, 10))
    with pytest.raises(ValueError, match="at least 4 height slices"):
        models.xyz_model((128, 128, 3))
    with pytest.raises(ValueError, match="relu_output_init"):
        models.dsh_model((16, 16, 10), relu_output_init="he")


def test_relu_outputs_start_alive():
    x = np.random.default_rng(0).standard_normal((2, 16, 16, 10)).astype(np.float32)
    out = models.dsh_model((16, 16, 10)).predict_on_batch(x)
    np.testing.assert_allclose(out[1], 0.1, atol=1e-6)  # zero kernel, bias 0.1 Å: ReLU active
    np.testing.assert_allclose(out[2], 0.1, atol=1e-6)
    glorot = models.dsh_model((16, 16, 10), relu_output_init="glorot")
    assert np.any(keras.ops.convert_to_numpy(glorot.get_layer("height_map_conv_out").kernel))


# ------------------------------------------------------------------------- symmetric padding


@pytest.fixture(params=["native", "concatenation"])
def pad_path(request, monkeypatch):
    """Run a padding test with the backend's native pad and with the concatenation fallback."""
    if request.param == "concatenation":
        monkeypatch.setattr(models, "_NATIVE_SYMMETRIC_PAD", ())
    return request.param


@pytest.mark.parametrize(
    "shape, padding",
    [
        ((2, 5, 4, 3), 1),
        ((1, 6, 7, 2), ((2, 1), (0, 3))),
        ((3, 1, 2, 1), (1, 2)),  # axes of length 1 and 2: edge repeat / mirror incl. edge
    ],
)
def test_symmetric_padding_2d_matches_numpy(shape, padding, pad_path):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    layer = models.SymmetricPadding2D(padding)
    pairs = models._normalize_padding(padding, 2)
    expected = np.pad(x, ((0, 0), *pairs, (0, 0)), mode="symmetric")
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_array_equal(out, expected)
    assert layer.compute_output_shape(shape) == expected.shape


@pytest.mark.parametrize(
    "shape, padding",
    [
        ((2, 4, 4, 2, 3), 1),  # the last encoder level: only 2 slices in z
        ((1, 3, 5, 10, 1), 1),
        ((1, 4, 3, 2, 2), ((1, 2), (3, 0), (2, 2))),
    ],
)
def test_symmetric_padding_3d_matches_numpy(shape, padding, pad_path):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    pairs = models._normalize_padding(padding, 3)
    expected = np.pad(x, ((0, 0), *pairs, (0, 0)), mode="symmetric")
    out = keras.ops.convert_to_numpy(models.SymmetricPadding3D(padding)(x))
    np.testing.assert_array_equal(out, expected)


def test_symmetric_is_not_reflect_on_two_slices(pad_path):
    """The padding trap: with 2 slices in z, "reflect" would put the *other* slice outside."""
    x = np.arange(2, dtype=np.float32).reshape(1, 1, 1, 2, 1) + 1.0  # z values [1, 2]
    out = keras.ops.convert_to_numpy(models.SymmetricPadding3D((0, 0, 1))(x))
    assert out[0, 0, 0, :, 0].tolist() == [1.0, 1.0, 2.0, 2.0]
    assert np.pad(x[0, 0, 0, :, 0], 1, mode="reflect").tolist() == [2.0, 1.0, 2.0, 1.0]


def test_symmetric_pad_function_and_errors(pad_path):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = keras.ops.convert_to_numpy(models.symmetric_pad(x, [(1, 2), (3, 0)]))
    np.testing.assert_array_equal(out, np.pad(x, [(1, 2), (3, 0)], mode="symmetric"))
    with pytest.raises(ValueError, match="wider than axis"):
        models.symmetric_pad(x, [(4, 0), (0, 0)])
    with pytest.raises(ValueError, match="wider than spatial axis"):
        models.SymmetricPadding3D(3)(np.zeros((1, 4, 4, 2, 1), np.float32))
    with pytest.raises(ValueError, match="padding needs 2 entries"):
        models.SymmetricPadding2D((1, 1, 1))


# ------------------------------------------------------------------------------ training steps


def _batch(kind: str, n: int = 2, size: int = 128) -> tuple:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, size, size, 10)).astype(np.float32)
    if kind == "dsh":
        return x, tuple(rng.random((n, size, size), dtype=np.float32) for _ in range(3))
    if kind == "es":
        y = (rng.standard_normal((n, size, size)), rng.random((n, size, size)))
        return (x, -x), tuple(a.astype(np.float32) for a in y)
    g = size // 8
    classes = np.zeros((n, g, g, 2), np.float32)
    classes[..., 1] = 1.0
    classes[:, 2, 3] = classes[:, 5, 5] = (1.0, 0.0)
    offsets = np.where(classes[..., :1] > 0, rng.uniform(-0.5, 0.5, (n, g, g, 3)), 0.0)
    return x, (classes, offsets.astype(np.float32))


@pytest.mark.parametrize("kind", KINDS)
def test_one_training_step(kind):
    """Training on a batch of 2 at full size (128 × 128 × 10) with the thesis losses.

    Two steps: the ReLU output convs start with a zero kernel ("alive" init), so the layers in
    front of them get their first nonzero gradient in the second step."""
    model = models.build_model(kind)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **losses.compile_args(kind))
    x, y = _batch(kind)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    hist = model.fit(x, y, batch_size=2, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    changed = [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]
    assert sum(changed) == len(changed)  # every kernel and bias got a gradient


_OTHER_BACKEND_SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    from afmkit.learn import losses
    from afmkit.learn import models
    assert keras.backend.backend() == "{backend}", keras.backend.backend()
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 2, 2)).astype("float32")
    pad = keras.ops.convert_to_numpy(models.SymmetricPadding3D(1)(x))
    assert np.array_equal(pad, np.pad(x, [(0, 0), (1, 1), (1, 1), (1, 1), (0, 0)], "symmetric"))
    m = models.dsh_model((32, 32, 10))
    m.compile(optimizer="adam", **losses.compile_args("dsh"))
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 32, 32, 10)).astype("float32")
    Y = tuple(rng.random((2, 32, 32)).astype("float32") for _ in range(3))
    h = m.fit(X, Y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    print("ok", m.count_params())
    """
)


def test_training_step_on_jax_or_torch():
    """dsh_model (same layers, 32 × 32 px to keep the XLA compile short) trains on JAX/PyTorch."""
    backend = "jax"  # installed by the test extra
    # Unoptimised XLA code: JAX compiles every weight initialiser and the train step; at the
    # default optimisation level that takes ~20 s on 2 CPU cores, at level 0 ~5 s.
    xla_flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "XLA_FLAGS": xla_flags}
    proc = subprocess.run(
        [sys.executable, "-c", _OTHER_BACKEND_SCRIPT.format(backend=backend)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ok 122811" in proc.stdout


# ------------------------------------------------------------------------------- bad inputs


def test_check_input_accepts_and_normalises(built):
    x = np.zeros((2, 128, 128, 10), np.float64)
    out = models.check_input(built["dsh"], x[..., None])  # trailing channel dropped
    assert out.shape == (2, 128, 128, 10) and out.dtype == np.float32
    co, xe = models.check_input(built["es"], {"xe": x, "co": x + 1})
    assert co.mean() == 1 and xe.mean() == 0
    assert len(models.check_input(built["es"], [x, x])) == 2


@pytest.mark.parametrize(
    "shape, match",
    [
        ((2, 128, 128, 20), r"expected 10 height slices .*got 20"),
        ((2, 64, 64, 10), r"expected 128 × 128 pixels"),
        ((128, 128, 10), r"add a batch axis"),
        ((2, 128, 128), r"expected shape \(batch, 128, 128, 10\)"),
        ((0, 128, 128, 10), r"empty batch"),
    ],
)
def test_check_input_rejects_bad_shapes(built, shape, match):
    with pytest.raises(ValueError, match=match):
        models.check_input(built["dsh"], np.zeros(shape, np.float32))


def test_check_input_rejects_nan_and_bad_structure(built):
    x = np.zeros((2, 128, 128, 10), np.float32)
    bad = x.copy()
    bad[1, 5, 5, 3] = np.nan
    with pytest.raises(ValueError, match=r"'afm' contains 1 NaN/Inf"):
        models.check_input(built["xyz"], bad)
    with pytest.raises(ValueError, match=r"'xe' contains 1 NaN/Inf"):
        models.check_input(built["es"], (x, bad))
    with pytest.raises(ValueError, match=r"needs 2 input stacks \('co', 'xe'\)"):
        models.check_input(built["es"], x)
    with pytest.raises(ValueError, match=r"missing \['xe'\]"):
        models.check_input(built["es"], {"co": x})
    with pytest.raises(ValueError, match="different batch sizes"):
        models.check_input(built["es"], (x, x[:1]))


def test_predict_returns_named_maps():
    m = models.xyz_model((16, 16, 10))
    out = models.predict(m, np.zeros((3, 16, 16, 10), np.float32))
    assert set(out) == {"classes", "offsets"}
    assert out["classes"].shape == (3, 2, 2, 2)
    np.testing.assert_allclose(out["classes"].sum(-1), 1.0, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_file_roundtrip_keeps_layers_and_xyz_loss(tmp_path):
    model = models.xyz_model((16, 16, 10))
    model.compile(optimizer="adam", loss=losses.XYZLoss(gamma=2.0))
    model.save(tmp_path / "xyz.keras")
    loaded = keras.saving.load_model(tmp_path / "xyz.keras")
    assert isinstance(loaded, models.XYZModel) and loaded._xyz_loss.gamma == 2.0
    x = np.random.default_rng(5).standard_normal((1, 16, 16, 10)).astype(np.float32)
    for a, b in zip(model.predict_on_batch(x), loaded.predict_on_batch(x), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------ pretrained weights


def test_load_pretrained_roundtrip(tmp_path):
    x = np.random.default_rng(4).standard_normal((1, 128, 128, 10)).astype(np.float32)
    for kind in ("dsh", "xyz"):
        trained = models.build_model(kind)
        trained.save_weights(tmp_path / f"{kind}-light.weights.h5")
        loaded = models.load_pretrained(f"{kind}-light", directory=tmp_path)
        assert type(loaded) is type(trained)
        for a, b in zip(trained.predict_on_batch(x), loaded.predict_on_batch(x), strict=True):
            np.testing.assert_array_equal(a, b)


def test_load_pretrained_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        models.load_pretrained("dsh-light", directory=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "dsh-light.weights.h5") in msg and "afmkit train dsh" in msg
    assert models.weights_path("es-light") == models.WEIGHTS_DIR / "es-light.weights.h5"


def test_load_pretrained_mismatched_file(tmp_path, built):
    built["es"].save_weights(tmp_path / "es.weights.h5")
    shutil.copy(tmp_path / "es.weights.h5", tmp_path / "dsh-light.weights.h5")
    with pytest.raises(ValueError) as err:
        models.load_pretrained("dsh-light", directory=tmp_path)
    msg = str(err.value)
    assert "expected 52 arrays with 122,811 parameters" in msg
    assert "found 50 arrays with 169,970 parameters (looks like the es model)" in msg
    (tmp_path / "xyz-light.weights.h5").write_bytes(b"not an HDF5 file")
    with pytest.raises(ValueError, match="not a Keras .weights.h5 file"):
        models.load_pretrained("xyz-light", directory=tmp_path)
    with pytest.raises(ValueError, match="unknown pretrained model"):
        models.load_pretrained("resnet-light", directory=tmp_path)
