"""Figures of merit of the xyz model (thesis §3.3 Eqs. 31–32, §4.3, Fig. 20), in NumPy.

Inputs are batches of xyz descriptors and predictions in the layout of
:func:`afmkit.targets.descriptors.xyz_grid`: ``classes`` (B, bx, by, 2) ``[atom, background]``
(one-hot for the truth, softmax probabilities for a prediction) and ``offsets`` (B, bx, by, 3)
(dx, dy, dz) in Å. A single sample without the batch axis works too. A box is *predicted atom*
when its atom confidence exceeds the threshold (``p_atom > threshold``, as in
:func:`~afmkit.targets.descriptors.decode_xyz`).

Two ways of counting
--------------------
* **Per box** — the thesis's definition (Fig. 20a–c): the classification task of the xyz
  descriptor, every grid box is one example. TP = true atom box predicted atom, FP = background
  box predicted atom, FN = atom box predicted background; :func:`confusion_matrix`,
  :func:`precision_recall`. The thesis reports precision 0.842 and recall 0.859 at 0.5 (light
  set).
* **Per atom** (:func:`atom_precision_recall`) — atom lists after non-maximum suppression: the
  predicted atoms (decoded with :func:`~afmkit.targets.descriptors.decode_xyz`, NMS radius
  0.5 Å) are matched greedily, most confident first, to the nearest still unmatched true atom within
  ``match_radius`` Å (3D distance); a matched prediction is a TP, an unmatched one an FP, and each
  unmatched true atom an FN. This is not in the thesis; it scores what a user of the decoded atom
  list sees (duplicates across box borders count as FP unless NMS removes them).

Position errors (Fig. 20d): the L² error |r − q| (Å) of the predicted offsets in every box whose
*true* class is atom; the thesis reports a mean of 0.124 Å and a 90th percentile of 0.278 Å.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from afmkit.targets.descriptors import NMS_RADIUS, XYZ_BOX_SIZE, decode_xyz

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PositionErrorStats",
    "PrecisionRecall",
    "atom_precision_recall",
    "confusion_matrix",
    "position_error_stats",
    "position_errors",
    "precision_recall",
    "predicted_atoms",
]

#: Confidence thresholds 0.05, 0.10, …, 0.95 (includes the thesis's 0.5).
DEFAULT_THRESHOLDS: np.ndarray = np.round(np.arange(1, 20) * 0.05, 2)


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision and recall per threshold (Eqs. 31–32).

    Attributes
    ----------
    thresholds : numpy.ndarray
        (T,) confidence thresholds.
    precision, recall : numpy.ndarray
        (T,) TP/(TP+FP) and TP/(TP+FN); NaN where the denominator is 0.
    tp, fp, fn : numpy.ndarray
        (T,) integer counts.
    """

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    def at(self, threshold: float) -> tuple[float, float]:
        """Precision and recall at the listed threshold closest to ``threshold``.

        Parameters
        ----------
        threshold : float
            Confidence threshold, e.g. 0.5.

        Returns
        -------
        precision, recall : float
            NaN where undefined.
        """
        k = int(np.argmin(np.abs(self.thresholds - threshold)))
        return float(self.precision[k]), float(self.recall[k])


@dataclass(frozen=True)
class PositionErrorStats:
    """Position-error summary and histogram (thesis Fig. 20d).

    Attributes
    ----------
    errors : numpy.ndarray
        (N,) L² errors in Å.
    mean : float
        Mean error, Å (NaN if N = 0).
    percentile : float
        The ``q``-th percentile, Å (NaN if N = 0).
    q : float
        Which percentile (90 by default).
    counts : numpy.ndarray
        (n_bins,) histogram counts.
    bin_edges : numpy.ndarray
        (n_bins + 1,) histogram bin edges in Å.
    """

    errors: np.ndarray
    mean: float
    percentile: float
    q: float
    counts: np.ndarray
    bin_edges: np.ndarray


def _batched(a: npt.ArrayLike, last: int, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != last:
        raise ValueError(f"{name} must be (B, bx, by, {last}) or (bx, by, {last}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def _classes_pair(
    classes_true: npt.ArrayLike, classes_pred: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """(true atom mask, predicted atom confidence), both (B, bx, by)."""
    t = _batched(classes_true, 2, "classes_true")
    p = _batched(classes_pred, 2, "classes_pred")
    if t.shape != p.shape:
        raise ValueError(f"classes_true {t.shape} and classes_pred {p.shape} differ in shape")
    return t[..., 0] > 0.5, p[..., 0]


def _thresholds(thresholds: npt.ArrayLike) -> np.ndarray:
    th = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    if th.ndim != 1 or th.size == 0 or not np.isfinite(th).all():
        raise ValueError(f"thresholds must be a non-empty 1D list of numbers, got {thresholds!r}")
    return th


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def confusion_matrix(
    classes_true: npt.ArrayLike,
    classes_pred: npt.ArrayLike,
    threshold: float = 0.5,
    normalize: bool = False,
) -> np.ndarray:
    """Per-box confusion matrix of the xyz classification (thesis Fig. 20a, b).

    Parameters
    ----------
    classes_true, classes_pred : array_like
        (B, bx, by, 2) ``[atom, background]``: one-hot truth, predicted probabilities.
    threshold : float
        A box is predicted atom when ``p_atom > threshold``.
    normalize : bool
        Divide each row by the number of boxes of that true class (as Fig. 20; a row with no
        boxes gives NaN).

    Returns
    -------
    numpy.ndarray
        (2, 2): rows = true class, columns = predicted class, both ordered ``[atom,
        background]``: ``[[TP, FN], [FP, TN]]`` (int64 counts, or float64 fractions).

    Raises
    ------
    ValueError
        For wrong shapes or NaN/inf values.
    """
    t, p = _classes_pair(classes_true, classes_pred)
    pa = p > threshold
    m = np.array(
        [
            [np.count_nonzero(t & pa), np.count_nonzero(t & ~pa)],
            [np.count_nonzero(~t & pa), np.count_nonzero(~t & ~pa)],
        ],
        dtype=np.int64,
    )
    if not normalize:
        return m
    return _ratio(m.astype(np.float64), m.sum(axis=1, keepdims=True).astype(np.float64))


def precision_recall(
    classes_true: npt.ArrayLike,
    classes_pred: npt.ArrayLike,
    thresholds: npt.ArrayLike = DEFAULT_THRESHOLDS,
) -> PrecisionRecall:
    """Per-box precision and recall of the atom class over thresholds (Eqs. 31–32, Fig. 20c).

    Parameters
    ----------
    classes_true, classes_pred : array_like
        (B, bx, by, 2) ``[atom, background]`` truth (one-hot) and prediction (probabilities).
    thresholds : array_like
        Confidence thresholds (default 0.05 … 0.95).

    Returns
    -------
    PrecisionRecall
        Per threshold: precision, recall and the counts.

    Raises
    ------
    ValueError
        For wrong shapes, NaN/inf values or empty thresholds.
    """
    t, p = _classes_pair(classes_true, classes_pred)
    th = _thresholds(thresholds)
    pa = p[None] > th.reshape(-1, 1, 1, 1)  # (T, B, bx, by)
    tp = np.count_nonzero(pa & t, axis=(1, 2, 3))
    fp = np.count_nonzero(pa & ~t, axis=(1, 2, 3))
    fn = np.count_nonzero(t) - tp
    return PrecisionRecall(th, _ratio(tp, tp + fp), _ratio(tp, tp + fn), tp, fp, fn)


def predicted_atoms(
    classes: npt.ArrayLike,
    offsets: npt.ArrayLike,
    threshold: float = 0.5,
    nms_radius: float = NMS_RADIUS,
    box_size: float = XYZ_BOX_SIZE,
) -> list[np.ndarray]:
    """Atom lists of a batch: thresholding + NMS via :func:`afmkit.targets.descriptors.decode_xyz`.

    Parameters
    ----------
    classes : array_like
        (B, bx, by, 2) ``[atom, background]`` probabilities (or one sample without B).
    offsets : array_like
        (B, bx, by, 3) (dx, dy, dz) offsets, Å.
    threshold : float
        A box holds an atom when ``p_atom > threshold``.
    nms_radius : float
        Non-maximum suppression radius, Å.
    box_size : float
        Box edge, Å.

    Returns
    -------
    list of numpy.ndarray
        Per sample (M, 4): x, y (Å, relative to the grid centre), z (Å relative to the top
        nucleus), confidence; most confident first.

    Raises
    ------
    ValueError
        For wrong shapes or NaN/inf values.
    """
    c = _batched(classes, 2, "classes")
    o = _batched(offsets, 3, "offsets")
    return list(decode_xyz(c, o, threshold=threshold, nms_radius=nms_radius, box_size=box_size))


def _greedy_match(pred: np.ndarray, true: np.ndarray, radius: float) -> np.ndarray:
    """Greedy matching (pred sorted by confidence): boolean (M,) "matched a true atom"."""
    matched = np.zeros(len(pred), dtype=bool)
    if len(pred) == 0 or len(true) == 0:
        return matched
    d = np.linalg.norm(pred[:, None, :3] - true[None, :, :3], axis=-1)
    free = np.ones(len(true), dtype=bool)
    for i in range(len(pred)):
        cand = np.where(free & (d[i] <= radius), d[i], np.inf)
        j = int(np.argmin(cand))
        if np.isfinite(cand[j]):
            matched[i] = True
            free[j] = False
    return matched


def atom_precision_recall(
    classes_true: npt.ArrayLike,
    offsets_true: npt.ArrayLike,
    classes_pred: npt.ArrayLike,
    offsets_pred: npt.ArrayLike,
    thresholds: npt.ArrayLike = DEFAULT_THRESHOLDS,
    match_radius: float = 0.5,
    nms_radius: float = NMS_RADIUS,
    box_size: float = XYZ_BOX_SIZE,
) -> PrecisionRecall:
    """Per-atom precision and recall after NMS, by distance matching (see module docstring).

    Parameters
    ----------
    classes_true, offsets_true : array_like
        Reference descriptor, (B, bx, by, 2) and (B, bx, by, 3) (Å).
    classes_pred, offsets_pred : array_like
        Prediction, same shapes.
    thresholds : array_like
        Confidence thresholds.
    match_radius : float
        A prediction is correct if a not yet matched true atom lies within this 3D distance, Å
        (default 0.5 Å, the NMS radius, well below the shortest bond, 0.74 Å).
    nms_radius : float
        Non-maximum suppression radius of the predicted atoms, Å (thesis: 0.5).
    box_size : float
        Box edge, Å.

    Returns
    -------
    PrecisionRecall
        Per threshold: precision, recall and the counts (per atom).

    Raises
    ------
    ValueError
        For wrong or mismatched shapes, NaN/inf values, or ``match_radius`` ≤ 0.

    Notes
    -----
    Greedy NMS and greedy matching both go in order of decreasing confidence, so the result for a
    threshold equals decoding and matching only the atoms above it; one pass at the lowest
    threshold serves them all.
    """
    th = _thresholds(thresholds)
    radius = float(match_radius)
    if not radius > 0:
        raise ValueError(f"match_radius must be > 0 Å, got {match_radius}")
    ct = _batched(classes_true, 2, "classes_true")
    ot = _batched(offsets_true, 3, "offsets_true")
    cp = _batched(classes_pred, 2, "classes_pred")
    op = _batched(offsets_pred, 3, "offsets_pred")
    if not ct.shape[:3] == ot.shape[:3] == cp.shape[:3] == op.shape[:3]:
        raise ValueError(
            f"shapes differ: classes_true {ct.shape}, offsets_true {ot.shape}, "
            f"classes_pred {cp.shape}, offsets_pred {op.shape}"
        )
    true_atoms = decode_xyz(ct, ot, threshold=0.5, nms_radius=0.0, box_size=box_size)
    pred_atoms = decode_xyz(cp, op, threshold=th.min(), nms_radius=nms_radius, box_size=box_size)
    conf, hit = [], []
    n_true = 0
    for pred, true in zip(pred_atoms, true_atoms, strict=True):
        n_true += len(true)
        conf.append(pred[:, 3])
        hit.append(_greedy_match(pred, true, radius))
    c = np.concatenate(conf) if conf else np.empty(0)
    h = np.concatenate(hit) if hit else np.empty(0, dtype=bool)
    above = c[None, :] > th[:, None]  # (T, M)
    tp = np.count_nonzero(above & h, axis=1)
    fp = np.count_nonzero(above & ~h, axis=1)
    fn = n_true - tp
    return PrecisionRecall(th, _ratio(tp, tp + fp), _ratio(tp, tp + fn), tp, fp, fn)


def position_errors(
    classes_true: npt.ArrayLike,
    offsets_true: npt.ArrayLike,
    offsets_pred: npt.ArrayLike,
    classes_pred: npt.ArrayLike | None = None,
    threshold: float = 0.5,
) -> np.ndarray:
    """L² position errors |r_i − q_i| (Å) in the boxes whose true class is atom (Fig. 20d).

    Parameters
    ----------
    classes_true : array_like
        (B, bx, by, 2) one-hot truth.
    offsets_true, offsets_pred : array_like
        (B, bx, by, 3), Å.
    classes_pred, threshold : array_like or None, float
        If given, keep only the atom boxes that are also predicted atom (``p_atom > threshold``).
        The thesis's figure uses all true atom boxes (the default).

    Returns
    -------
    numpy.ndarray
        (N,) errors in Å, in box order.

    Raises
    ------
    ValueError
        For wrong or mismatched shapes or NaN/inf values.
    """
    t = _batched(classes_true, 2, "classes_true")[..., 0] > 0.5
    q = _batched(offsets_true, 3, "offsets_true")
    r = _batched(offsets_pred, 3, "offsets_pred")
    if not t.shape == q.shape[:3] == r.shape[:3]:
        raise ValueError(
            f"shapes differ: classes_true {t.shape}, offsets_true {q.shape}, offsets_pred {r.shape}"
        )
    if classes_pred is not None:
        _, p = _classes_pair(classes_true, classes_pred)
        t = t & (p > threshold)
    return np.linalg.norm(r - q, axis=-1)[t]


def position_error_stats(
    errors: npt.ArrayLike, q: float = 90.0, bins: int | npt.ArrayLike = 50, max_error: float = 1.0
) -> PositionErrorStats:
    """Mean, ``q``-th percentile and histogram of position errors (thesis: mean, 90th pct.).

    Parameters
    ----------
    errors : array_like
        (N,) errors in Å (e.g. from :func:`position_errors`).
    q : float
        Percentile in [0, 100] (NumPy's linear interpolation).
    bins, max_error : int or array_like, float
        Histogram bins over [0, max_error] Å (errors beyond land in the last bin), or explicit
        bin edges in Å.

    Returns
    -------
    PositionErrorStats
        Errors, mean, percentile and histogram.

    Raises
    ------
    ValueError
        For negative or non-finite errors, or ``q`` outside [0, 100].
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    if not np.isfinite(e).all() or (e < 0).any():
        raise ValueError("errors must be finite and >= 0 (Å)")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    if np.ndim(bins) == 0:
        edges = np.linspace(0.0, float(max_error), int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64)
    counts, edges = np.histogram(np.minimum(e, edges[-1]), bins=edges)
    mean = float(e.mean()) if e.size else float("nan")
    pct = float(np.percentile(e, q)) if e.size else float("nan")
    return PositionErrorStats(e, mean, pct, float(q), counts, edges)
