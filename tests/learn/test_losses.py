"""Tests of afmkit.learn.losses (thesis Eqs. 26–30, loss weights) against hand-computed values.

The metrics (Eqs. 31–32) are tested in test_metrics.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from afmkit.learn import losses, models

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _np(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


# ------------------------------------------------------------------------------ DSH / ES losses


def test_loss_weights_are_the_thesis_values_and_match_output_names():
    assert losses.DSH_LOSS_WEIGHTS == {"atomic_disks": 20.0, "vdw_spheres": 0.3, "height_map": 0.2}
    assert losses.ES_LOSS_WEIGHTS == {"es_map": 1.0, "height_map": 0.1}
    assert tuple(losses.compile_args("dsh")["loss_weights"]) == models.DSH_OUTPUTS
    assert tuple(losses.compile_args("es")["loss"]) == models.ES_OUTPUTS
    assert isinstance(losses.compile_args("xyz")["loss"], losses.XYZLoss)
    with pytest.raises(ValueError, match="kind must be"):
        losses.compile_args("cnn")


def test_weighted_mse_by_hand():
    zeros = np.zeros((1, 2, 2), np.float32)
    disks = np.ones((1, 2, 2), np.float32)  # MSE 1
    spheres = np.array([[[2.0, 0.0], [0.0, 0.0]]], np.float32)  # MSE 4/4 = 1
    height = np.full((1, 2, 2), 0.5, np.float32)  # MSE 0.25
    total = losses.weighted_mse((zeros,) * 3, (disks, spheres, height), losses.DSH_LOSS_WEIGHTS)
    assert float(total) == pytest.approx(20 * 1 + 0.3 * 1 + 0.2 * 0.25)  # 20.35
    pred = {"es_map": disks, "height_map": spheres}
    es = losses.weighted_mse({"es_map": zeros, "height_map": zeros}, pred, losses.ES_LOSS_WEIGHTS)
    assert float(es) == pytest.approx(1.0 * 1 + 0.1 * 1)
    with pytest.raises(ValueError, match="expected 3"):
        losses.weighted_mse((zeros,) * 2, (zeros,) * 3, losses.DSH_LOSS_WEIGHTS)


def test_compiled_dsh_loss_equals_weighted_mse():
    """Keras's reported loss with compile_args('dsh') is the weighted per-pixel MSE."""
    model = models.dsh_model((8, 8, 10), relu_output_init="glorot")
    model.compile(optimizer="adam", **losses.compile_args("dsh"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8, 8, 10)).astype(np.float32)
    y = tuple(rng.random((3, 8, 8)).astype(np.float32) for _ in range(3))
    got = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
    expected = losses.weighted_mse(y, model.predict_on_batch(x), losses.DSH_LOSS_WEIGHTS)
    assert got["loss"] == pytest.approx(float(expected), rel=1e-5)
    pred = model.predict_on_batch(x)
    assert got["vdw_spheres_loss"] == pytest.approx(float(np.mean((pred[1] - y[1]) ** 2)), 1e-5)


# ------------------------------------------------------------------------------- xyz losses


def _two_box_sample() -> tuple[np.ndarray, np.ndarray]:
    """One sample, 1 × 2 boxes: box 0 is an atom predicted p_atom = 0.8, box 1 background with
    p_atom = 0.4 (p_background = 0.6)."""
    t = np.array([[[[1.0, 0.0], [0.0, 1.0]]]], np.float32)
    p = np.array([[[[0.8, 0.2], [0.4, 0.6]]]], np.float32)
    return t, p


# By hand (γ = 1.25, α_n = 0.3), each box counts only its true class:
#   atom box, α = 1 − α_n = 0.7:     0.7 · (1 − 0.8)^1.25 · (−ln 0.8) = 0.7 · 0.133748 · 0.223144
#                                     = 0.0208915
#   background box, α = α_n = 0.3:   0.3 · (1 − 0.6)^1.25 · (−ln 0.6) = 0.3 · 0.318108 · 0.510826
#                                     = 0.0487494
FL_ATOM, FL_BG = 0.0208915, 0.0487494


def test_focal_loss_by_hand():
    t, p = _two_box_sample()
    mean = _np(losses.focal_loss(t, p))
    assert mean.shape == (1,)
    assert mean[0] == pytest.approx((FL_ATOM + FL_BG) / 2, rel=1e-5)
    assert _np(losses.focal_loss(t, p, box_reduction="sum"))[0] == pytest.approx(
        FL_ATOM + FL_BG, rel=1e-5
    )
    # α_n = 0 leaves only the atom box, weighted 1; γ = 0 gives α-weighted cross-entropy
    only_atom = _np(losses.focal_loss(t, p, alpha_n=0.0, box_reduction="sum"))[0]
    assert only_atom == pytest.approx(FL_ATOM / 0.7, rel=1e-5)
    ce = _np(losses.focal_loss(t, p, gamma=0.0, box_reduction="sum"))[0]
    assert ce == pytest.approx(0.7 * -np.log(0.8) + 0.3 * -np.log(0.6), rel=1e-5)
    keras_loss = losses.FocalLoss()
    assert float(keras_loss(t, p)) == pytest.approx((FL_ATOM + FL_BG) / 2, rel=1e-5)
    assert losses.FocalLoss.from_config(keras_loss.get_config()).gamma == 1.25


def test_focal_loss_is_finite_at_certainty():
    t, _ = _two_box_sample()
    assert float(_np(losses.focal_loss(t, t))[0]) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(_np(losses.focal_loss(t, 1 - t))).all()


def _position_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1 × 3 boxes: two atoms and a background box with a large (ignored) error."""
    classes = np.array([[[[1, 0], [1, 0], [0, 1]]]], np.float32)
    q = np.array([[[[0.1, 0.2, 0.0], [0.0, 0.0, -0.7], [0.0, 0.0, 0.0]]]], np.float32)
    r = np.array([[[[0.1, 0.2, 0.5], [0.3, 0.4, -0.7], [5.0, 5.0, 5.0]]]], np.float32)
    return classes, q, r


def test_position_loss_by_hand():
    classes, q, r = _position_sample()
    # atom 1: |r − q|² = 0.25, q_z = 0 → d = 1; atom 2: |r − q|² = 0.09 + 0.16 = 0.25,
    # q_z = −0.7 → d = 1 − (−0.7)/(2 · −0.7) = 0.5; PL = (0.25 + 0.125) / N_p (= 2) = 0.1875
    assert _np(losses.position_loss(classes, q, r))[0] == pytest.approx(0.1875, rel=1e-5)
    empty = np.zeros_like(classes)
    empty[..., 1] = 1.0
    assert _np(losses.position_loss(empty, q, r))[0] == 0.0  # N_p = 0 → 0, not NaN
    with pytest.raises(ValueError, match="z_min must be negative"):
        losses.position_loss(classes, q, r, z_min=0.7)


def test_xyz_total_loss_by_hand():
    classes, q, r = _position_sample()
    p = np.array([[[[0.8, 0.2], [0.8, 0.2], [0.4, 0.6]]]], np.float32)
    fl = (2 * FL_ATOM + FL_BG) / 3
    expected = fl + 0.15 * 0.1875
    got = _np(losses.xyz_loss((classes, q), (p, r)))
    assert got[0] == pytest.approx(expected, rel=1e-5)
    # Keras class: batch mean of per-sample values; dict targets work too
    batch_t = (np.concatenate([classes, classes]), np.concatenate([q, q]))
    r2 = np.concatenate([r, q])  # second sample: perfect offsets, PL = 0
    batch_p = {"classes": np.concatenate([p, p]), "offsets": r2}
    value = float(losses.XYZLoss()(batch_t, batch_p))
    assert value == pytest.approx(fl + 0.15 * 0.1875 / 2, rel=1e-5)
    with pytest.raises(ValueError, match="alpha_n"):
        losses.XYZLoss(alpha_n=1.5)


def test_xyz_model_trains_on_the_thesis_loss():
    """XYZModel hands both outputs to XYZLoss: evaluate() equals the hand-built total."""
    model = models.xyz_model((16, 16, 10))
    model.compile(optimizer="adam")  # no loss → XYZLoss()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 16, 16, 10)).astype(np.float32)
    classes = np.zeros((2, 2, 2, 2), np.float32)
    classes[..., 1] = 1
    classes[0, 0, 1] = classes[1, 1, 1] = (1, 0)
    offsets = rng.uniform(-0.5, 0.5, (2, 2, 2, 3)).astype(np.float32)
    got = model.evaluate(x, (classes, offsets), batch_size=2, verbose=0)
    pred = model.predict_on_batch(x)
    expected = np.mean(_np(losses.xyz_loss((classes, offsets), pred)))
    assert got == pytest.approx(float(expected), rel=1e-5)
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile(optimizer="adam", loss=losses.XYZLoss(), loss_weights={"classes": 1.0})
