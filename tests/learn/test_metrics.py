"""Tests of afmkit.learn.metrics (thesis Eqs. 31–32, confusion matrix, NMS-matched
precision/recall, position errors) against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.learn import metrics
from afmkit.targets import descriptors


def _grid_example() -> tuple[np.ndarray, np.ndarray]:
    """3 × 3 boxes, true atoms at (0,0), (1,1), (2,2); predicted p_atom (row-major):
    0.9 0.6 0.05 / 0.05 0.7 0.3 / 0.05 0.05 0.2."""
    t = np.zeros((3, 3, 2), np.float32)
    t[..., 1] = 1
    for i in range(3):
        t[i, i] = (1, 0)
    pa = np.array([[0.9, 0.6, 0.05], [0.05, 0.7, 0.3], [0.05, 0.05, 0.2]], np.float32)
    return t, np.stack([pa, 1 - pa], axis=-1)


def test_confusion_matrix_by_hand():
    t, p = _grid_example()
    # at 0.5: atoms 0.9 ✓, 0.7 ✓, 0.2 ✗ → TP 2, FN 1; background 0.6 → FP 1, TN 5
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), [[2, 1], [1, 5]])
    np.testing.assert_allclose(
        metrics.confusion_matrix(t, p, normalize=True), [[2 / 3, 1 / 3], [1 / 6, 5 / 6]]
    )
    np.testing.assert_array_equal(metrics.confusion_matrix(t[None], p[None], 0.1), [[3, 0], [2, 4]])


def test_precision_recall_by_hand():
    t, p = _grid_example()
    pr = metrics.precision_recall(t, p, thresholds=[0.1, 0.25, 0.5, 0.95])
    # 0.1: TP 3 FP 2; 0.25: TP 2 FP 2 (0.6, 0.3); 0.5: TP 2 FP 1; 0.95: nothing predicted
    np.testing.assert_array_equal(pr.tp, [3, 2, 2, 0])
    np.testing.assert_array_equal(pr.fp, [2, 2, 1, 0])
    np.testing.assert_array_equal(pr.fn, [0, 1, 1, 3])
    np.testing.assert_allclose(pr.precision[:3], [3 / 5, 2 / 4, 2 / 3])
    assert np.isnan(pr.precision[3])  # TP + FP = 0: undefined
    np.testing.assert_allclose(pr.recall, [1, 2 / 3, 2 / 3, 0])
    assert pr.at(0.5) == pytest.approx((2 / 3, 2 / 3))
    assert 0.5 in metrics.DEFAULT_THRESHOLDS


def _atom_example() -> tuple[np.ndarray, ...]:
    """4 × 4 boxes of 1 Å centred on 0 (box (i, j) centre ((i − 1.5), (j − 1.5)) Å).

    True atoms: box (1, 1) + (0.4, 0, 0) → (−0.1, −0.5, 0); box (3, 3) + (0, 0, −0.3) →
    (1.5, 1.5, −0.3). Predictions: box (1, 1) p 0.9 at (−0.2, −0.5, 0) [0.1 Å off]; box (2, 1)
    p 0.6 at (−0.05, −0.5, 0) [duplicate, 0.15 Å from the first → NMS]; box (0, 3) p 0.7 at
    (−1.5, 1.5, 0) [false]; box (3, 3) p 0.3 at (1.6, 1.5, −0.3) [0.1 Å off]."""
    ct = np.zeros((1, 4, 4, 2), np.float32)
    ct[..., 1] = 1
    ot = np.zeros((1, 4, 4, 3), np.float32)
    ct[0, 1, 1] = ct[0, 3, 3] = (1, 0)
    ot[0, 1, 1] = (0.4, 0, 0)
    ot[0, 3, 3] = (0, 0, -0.3)
    pa = np.full((1, 4, 4), 0.01, np.float32)
    op = np.zeros((1, 4, 4, 3), np.float32)
    pa[0, 1, 1], op[0, 1, 1] = 0.9, (0.3, 0, 0)
    pa[0, 2, 1], op[0, 2, 1] = 0.6, (-0.55, 0, 0)
    pa[0, 0, 3] = 0.7
    pa[0, 3, 3], op[0, 3, 3] = 0.3, (0.1, 0, -0.3)
    return ct, ot, np.stack([pa, 1 - pa], axis=-1), op


def test_atom_precision_recall_after_nms_by_hand():
    ct, ot, cp, op = _atom_example()
    pr = metrics.atom_precision_recall(ct, ot, cp, op, thresholds=[0.2, 0.5, 0.8])
    # 0.2: kept 0.9 (TP), 0.7 (FP), 0.3 (TP); the 0.6 duplicate is suppressed by NMS
    # 0.5: 0.9 TP, 0.7 FP → P 1/2, R 1/2;  0.8: 0.9 TP → P 1, R 1/2
    np.testing.assert_array_equal(pr.tp, [2, 1, 1])
    np.testing.assert_array_equal(pr.fp, [1, 1, 0])
    np.testing.assert_allclose(pr.precision, [2 / 3, 1 / 2, 1])
    np.testing.assert_allclose(pr.recall, [1, 1 / 2, 1 / 2])
    # without NMS the duplicate is an extra FP (its true atom is already matched)
    no_nms = metrics.atom_precision_recall(ct, ot, cp, op, [0.5], nms_radius=0.0)
    assert (no_nms.tp[0], no_nms.fp[0]) == (1, 2)
    # a match radius below the 0.1 Å error makes every prediction false
    tight = metrics.atom_precision_recall(ct, ot, cp, op, [0.2], match_radius=0.05)
    assert (tight.tp[0], tight.fp[0], tight.fn[0]) == (0, 3, 2)


def test_predicted_atoms_reuses_decode_xyz_nms():
    _, _, cp, op = _atom_example()
    atoms = metrics.predicted_atoms(cp, op, threshold=0.5)
    assert len(atoms) == 1
    np.testing.assert_allclose(atoms[0][:, :3], [[-0.2, -0.5, 0.0], [-1.5, 1.5, 0.0]], atol=1e-6)
    np.testing.assert_allclose(atoms[0][:, 3], [0.9, 0.7], rtol=1e-6)
    direct = descriptors.decode_xyz(cp, op, threshold=0.5, nms_radius=0.5)
    np.testing.assert_array_equal(direct[0], atoms[0])


def test_position_errors_and_stats_by_hand():
    ct, ot, cp, op = _atom_example()
    errors = metrics.position_errors(ct, ot, op)  # true atom boxes (1,1), (3,3): both 0.1 Å
    np.testing.assert_allclose(errors, [0.1, 0.1], atol=1e-6)
    only_found = metrics.position_errors(ct, ot, op, classes_pred=cp, threshold=0.5)
    np.testing.assert_allclose(only_found, [0.1], atol=1e-6)

    stats = metrics.position_error_stats([0.1, 0.2, 0.3, 0.4, 1.5], bins=2, max_error=1.0)
    assert stats.mean == pytest.approx(0.5)
    # 90th percentile, linear interpolation: rank 0.9 · 4 = 3.6 → 0.4 + 0.6 · (1.5 − 0.4)
    assert stats.percentile == pytest.approx(1.06)
    np.testing.assert_array_equal(stats.counts, [4, 1])  # 1.5 Å lands in the last bin
    np.testing.assert_allclose(stats.bin_edges, [0, 0.5, 1.0])
    assert np.isnan(metrics.position_error_stats([]).mean)


def test_metrics_reject_bad_inputs():
    t, p = _grid_example()
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.confusion_matrix(t, p[:2])
    bad = p.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metrics.precision_recall(t, bad)
    with pytest.raises(ValueError, match=r"\(B, bx, by, 2\)"):
        metrics.precision_recall(t[..., 0], p)
    with pytest.raises(ValueError, match="match_radius"):
        metrics.atom_precision_recall(*_atom_example(), match_radius=0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        metrics.position_error_stats([-1.0])
