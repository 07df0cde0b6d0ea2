"""Loss functions of the thesis's models (§3.3, Eqs. 26–30), in ``keras.ops`` (any backend).

DSH and ES: weighted sums of per-output mean squared errors averaged over the pixels
-------------------------------------------------------------------------------------
Weights (thesis §3.3): DSH 20 / 0.3 / 0.2 for Atomic Disks / vdW Spheres / Height Map, ES 1.0 / 0.1
for Electrostatic Map / Height Map. They are plain dicts keyed by the models' output names, ready
for Keras::

    model.compile(optimizer, loss=DSH_LOSSES, loss_weights=DSH_LOSS_WEIGHTS)
    model.compile(optimizer, **compile_args("dsh"))        # the same

Keras then reports ``loss`` (the weighted total, the thesis's loss) and one ``<output>_loss`` per
output (unweighted MSE). :func:`weighted_mse` computes the same total outside ``fit``.

xyz: focal loss + position loss
-------------------------------
``J = FL + β_PL · PL`` (Eq. 30) with γ = 1.25, α_n = 0.30, β_PL = 0.15:

* **Focal loss** (Eqs. 26–27) on the (bx, by, 2) class maps, channel order ``[atom, background]``
  (as :func:`afmkit.targets.descriptors.xyz_grid`; the thesis's j = 1 is *atom*)::

      FL = −Σ_i α_i (1 − p_{i,c_i})^γ log p_{i,c_i},   α_i = 1 − α_n (atom box), α_n (background)

  so with α_n = 0.3 atom boxes weigh 0.7 and background boxes 0.3 (the bias "towards the positive
  examples" the thesis describes).
* **Position loss** (Eqs. 28–29), only over boxes whose *true* class is atom::

      PL = (1/N_p) Σ_i d_i t_i,atom |r_i − q_i|²,   d_i = 1 − q_iz / (2 z_min),  z_min = −0.7 Å

  r = predicted, q = true (dx, dy, dz) offsets in Å; d_i goes from 1 (atom at the top nucleus
  height, q_z = 0) to 0.5 (atom at the cut-off, q_z = z_min). Samples with N_p = 0 contribute
  PL = 0 (the thesis trains only on samples with N_p > 0).

**Normalisation of FL (a deliberate reading).** Eq. 26 as printed *sums* over the 256 boxes.
The thesis's final xyz losses (Table 6: 4.4–6.6 × 10⁻³) do not fit that: at the reported
precision and recall (≈ 0.85) a typical test sample still has about one poorly classified box,
worth ≈ 0.5 in the sum on its own (our estimate), whereas a per-box mean of FL plus 0.15 · PL
(mean position error 0.124 Å) is of the order of Table 6. So :class:`FocalLoss` and
:class:`XYZLoss` default to ``box_reduction="mean"`` (Eq. 26 divided by N_grid, which also keeps
β_PL = 0.15 a balance between comparable terms); ``box_reduction="sum"`` is Eq. 26 verbatim.
Both losses are per sample, then averaged over the batch (Keras's
``sum_over_batch_size``).

The two xyz terms need both outputs at once (PL needs the true *classes* to pick the atom boxes),
which a per-output Keras loss cannot see; :class:`XYZLoss` therefore takes the pair
``(classes, offsets)`` for ``y_true`` and ``y_pred``, and :class:`afmkit.learn.models.XYZModel`
(what :func:`afmkit.learn.models.xyz_model` returns) routes the whole target/prediction pair to it:
``xyz_model().compile(optimizer, loss=XYZLoss())`` (or just ``compile(optimizer)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import keras
from keras import ops

__all__ = [
    "BoxReduction",
    "DSH_LOSSES",
    "DSH_LOSS_WEIGHTS",
    "ES_LOSSES",
    "ES_LOSS_WEIGHTS",
    "FOCAL_ALPHA_N",
    "FOCAL_GAMMA",
    "POSITION_BETA",
    "Z_MIN",
    "FocalLoss",
    "XYZLoss",
    "compile_args",
    "focal_loss",
    "position_loss",
    "weighted_mse",
    "xyz_loss",
]

#: DSH loss weights per output (thesis §3.3).
DSH_LOSS_WEIGHTS: dict[str, float] = {"atomic_disks": 20.0, "vdw_spheres": 0.3, "height_map": 0.2}
#: ES loss weights per output (thesis §3.3).
ES_LOSS_WEIGHTS: dict[str, float] = {"es_map": 1.0, "height_map": 0.1}
#: Per-output losses for ``model.compile``: mean squared error averaged over the pixels.
DSH_LOSSES: dict[str, str] = dict.fromkeys(DSH_LOSS_WEIGHTS, "mean_squared_error")
#: The same for the ES model.
ES_LOSSES: dict[str, str] = dict.fromkeys(ES_LOSS_WEIGHTS, "mean_squared_error")

#: Focal-loss focusing exponent γ (thesis Eq. 26, §3.3).
FOCAL_GAMMA = 1.25
#: Focal-loss class balance α_n: weight of *background* boxes; atom boxes get 1 − α_n (Eq. 27).
FOCAL_ALPHA_N = 0.30
#: Weight β_PL of the position loss in the xyz total loss (Eq. 30).
POSITION_BETA = 0.15
#: Depth cut-off of the xyz descriptor in Å below the top nucleus (Eq. 29; descriptors.XYZ_Z_MIN).
Z_MIN = -0.7

#: How the focal loss reduces over the boxes: "mean" (default) or "sum" (Eq. 26 as printed).
BoxReduction = Literal["mean", "sum"]
_EPS = 1e-7


def compile_args(
    kind: str,
    loss_weights: Mapping[str, float] | None = None,
    gamma: float = FOCAL_GAMMA,
    alpha_n: float = FOCAL_ALPHA_N,
    beta: float = POSITION_BETA,
) -> dict[str, Any]:
    """Keyword arguments for ``model.compile`` that give the thesis's loss of model ``kind``.

    Parameters
    ----------
    kind : {"dsh", "es", "xyz"}
        The model.
    loss_weights : mapping of str to float, optional
        DSH/ES: weights of some outputs instead of the thesis's (:data:`DSH_LOSS_WEIGHTS`,
        :data:`ES_LOSS_WEIGHTS`); outputs not named keep theirs. Not used by xyz.
    gamma, alpha_n : float
        xyz: focal-loss γ and α_n (thesis 1.25, 0.30).
    beta : float
        xyz: weight β_PL of the position loss (thesis 0.15).

    Returns
    -------
    dict
        ``{"loss": ..., "loss_weights": ...}`` (dsh, es) or ``{"loss": XYZLoss(...)}`` (xyz, for
        the :class:`afmkit.learn.models.XYZModel` that :func:`afmkit.learn.models.xyz_model`
        builds). Fresh copies, safe to modify.

    Raises
    ------
    ValueError
        For an unknown ``kind``, a weight for an output the model does not have, a negative or
        non-finite weight, or focal-loss settings out of range.
    """
    if kind in ("dsh", "es"):
        defaults = DSH_LOSS_WEIGHTS if kind == "dsh" else ES_LOSS_WEIGHTS
        weights = dict(defaults)
        for name, value in (loss_weights or {}).items():
            if name not in defaults:
                raise ValueError(f"{kind} has no output {name!r}; outputs: {list(defaults)}")
            if not (math.isfinite(float(value)) and float(value) >= 0):
                raise ValueError(f"loss weight of {name} must be finite and >= 0, got {value!r}")
            weights[name] = float(value)
        return {"loss": dict.fromkeys(defaults, "mean_squared_error"), "loss_weights": weights}
    if kind == "xyz":
        if not (math.isfinite(float(beta)) and float(beta) >= 0):
            raise ValueError(f"beta (position-loss weight) must be finite and >= 0, got {beta!r}")
        return {"loss": XYZLoss(gamma=gamma, alpha_n=alpha_n, beta=beta)}
    raise ValueError(f"kind must be 'dsh', 'es' or 'xyz', got {kind!r}")


def weighted_mse(
    y_true: Mapping[str, Any] | Sequence[Any],
    y_pred: Mapping[str, Any] | Sequence[Any],
    weights: Mapping[str, float],
) -> Any:
    """Thesis DSH/ES loss: Σ_k w_k · mean over batch and pixels of (y_pred_k − y_true_k)².

    Parameters
    ----------
    y_true, y_pred : mapping or sequence of array_like
        Dicts keyed like ``weights``, or sequences in the order of ``weights`` (e.g. the
        ``(atomic_disks, vdw_spheres, height_map)`` tuples of :mod:`afmkit.learn.data`); each map
        (B, nx, ny) in its own unit (Å for heights, V for the ES map).
    weights : mapping of str to float
        Output name → weight, e.g. :data:`DSH_LOSS_WEIGHTS`.

    Returns
    -------
    tensor
        Scalar (backend float), the same number Keras reports as ``loss``.

    Raises
    ------
    ValueError
        If ``y_true`` or ``y_pred`` lacks an output of ``weights`` or has the wrong length.
    """
    names = list(weights)
    yt = _by_name(y_true, names, "y_true")
    yp = _by_name(y_pred, names, "y_pred")
    total = 0.0
    for name in names:
        t = ops.convert_to_tensor(yt[name], dtype="float32")
        p = ops.convert_to_tensor(yp[name], dtype="float32")
        total = total + float(weights[name]) * ops.mean(ops.square(p - t))
    return total


def _by_name(y: Mapping[str, Any] | Sequence[Any], names: list[str], what: str) -> dict[str, Any]:
    if isinstance(y, Mapping):
        missing = [n for n in names if n not in y]
        if missing:
            raise ValueError(f"{what} lacks outputs {missing}; expected keys {names}")
        return {n: y[n] for n in names}
    if len(y) != len(names):
        raise ValueError(f"{what} has {len(y)} maps; expected {len(names)} ({', '.join(names)})")
    return dict(zip(names, y, strict=True))


def _check_hyper(gamma: float, alpha_n: float) -> tuple[float, float]:
    gamma, alpha_n = float(gamma), float(alpha_n)
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if not 0 <= alpha_n <= 1:
        raise ValueError(f"alpha_n must be in [0, 1], got {alpha_n}")
    return gamma, alpha_n


def _check_z_min(z_min: float) -> float:
    z_min = float(z_min)
    if not z_min < 0:
        raise ValueError(f"z_min must be negative (Å below the top nucleus), got {z_min}")
    return z_min


def _check_reduction(box_reduction: str) -> None:
    if box_reduction not in ("mean", "sum"):
        raise ValueError(f"box_reduction must be 'mean' or 'sum', got {box_reduction!r}")


def focal_loss(
    classes_true: Any,
    classes_pred: Any,
    gamma: float = FOCAL_GAMMA,
    alpha_n: float = FOCAL_ALPHA_N,
    box_reduction: BoxReduction = "mean",
) -> Any:
    """Focal loss per sample (thesis Eqs. 26–27).

    Parameters
    ----------
    classes_true : array_like
        (B, bx, by, 2) one-hot ``[atom, background]``.
    classes_pred : array_like
        (B, bx, by, 2) probabilities (softmax output), same order.
    gamma, alpha_n : float
        γ (≥ 0) and α_n (in [0, 1]); atom boxes are weighted 1 − α_n, background boxes α_n.
    box_reduction : {"mean", "sum"}
        "mean" over the boxes (default, see module docstring) or "sum" (Eq. 26 as printed).

    Returns
    -------
    tensor
        (B,), dimensionless.

    Raises
    ------
    ValueError
        For ``gamma``, ``alpha_n`` or ``box_reduction`` out of range.
    """
    gamma, alpha_n = _check_hyper(gamma, alpha_n)
    _check_reduction(box_reduction)
    t = ops.convert_to_tensor(classes_true, dtype="float32")
    p = ops.clip(ops.convert_to_tensor(classes_pred, dtype="float32"), _EPS, 1.0 - _EPS)
    per_class = ops.power(1.0 - p, gamma) * t * ops.log(p)  # (B, bx, by, 2)
    is_atom = t[..., 0]
    alpha = is_atom * (1.0 - alpha_n) + (1.0 - is_atom) * alpha_n
    per_box = -alpha * ops.sum(per_class, axis=-1)  # (B, bx, by)
    per_box = ops.reshape(per_box, (ops.shape(per_box)[0], -1))
    return ops.mean(per_box, axis=-1) if box_reduction == "mean" else ops.sum(per_box, axis=-1)


def position_loss(
    classes_true: Any, offsets_true: Any, offsets_pred: Any, z_min: float = Z_MIN
) -> Any:
    """Depth-discounted position loss per sample (thesis Eqs. 28–29).

    Parameters
    ----------
    classes_true : array_like
        (B, bx, by, 2) one-hot ``[atom, background]``: only atom boxes count.
    offsets_true, offsets_pred : array_like
        (B, bx, by, 3) ``(dx, dy, dz)`` in Å (q and r of Eq. 28).
    z_min : float
        Depth cut-off, Å (negative): d_i = 1 − q_iz / (2 z_min).

    Returns
    -------
    tensor
        (B,) in Å²; 0 for samples without atoms.

    Raises
    ------
    ValueError
        If ``z_min`` is not negative.
    """
    z_min = _check_z_min(z_min)
    t = ops.convert_to_tensor(classes_true, dtype="float32")[..., 0]
    q = ops.convert_to_tensor(offsets_true, dtype="float32")
    r = ops.convert_to_tensor(offsets_pred, dtype="float32")
    d = 1.0 - q[..., 2] / (2.0 * z_min)
    sq = ops.sum(ops.square(r - q), axis=-1)  # (B, bx, by)
    per_box = ops.reshape(d * t * sq, (ops.shape(sq)[0], -1))
    n_p = ops.sum(ops.reshape(t, (ops.shape(t)[0], -1)), axis=-1)
    return ops.sum(per_box, axis=-1) / ops.maximum(n_p, 1.0)


def xyz_loss(
    y_true: Sequence[Any] | Mapping[str, Any],
    y_pred: Sequence[Any] | Mapping[str, Any],
    gamma: float = FOCAL_GAMMA,
    alpha_n: float = FOCAL_ALPHA_N,
    beta: float = POSITION_BETA,
    z_min: float = Z_MIN,
    box_reduction: BoxReduction = "mean",
) -> Any:
    """Total xyz loss per sample, J = FL + β_PL · PL (thesis Eq. 30).

    Parameters
    ----------
    y_true, y_pred : sequence or mapping of array_like
        ``(classes, offsets)``: (B, bx, by, 2) and (B, bx, by, 3) (offsets in Å), as sequences
        or dicts with keys "classes" and "offsets".
    gamma, alpha_n : float
        See :func:`focal_loss`.
    beta : float
        β_PL, weight of the position loss.
    z_min : float
        See :func:`position_loss` (Å).
    box_reduction : {"mean", "sum"}
        See :func:`focal_loss`.

    Returns
    -------
    tensor
        (B,), per sample.

    Raises
    ------
    ValueError
        For malformed pairs or settings out of range.
    """
    ct, ot = _xyz_pair(y_true, "y_true")
    cp, op = _xyz_pair(y_pred, "y_pred")
    fl = focal_loss(ct, cp, gamma, alpha_n, box_reduction)
    return fl + float(beta) * position_loss(ct, ot, op, z_min)


def _xyz_pair(y: Sequence[Any] | Mapping[str, Any], what: str) -> tuple[Any, Any]:
    if isinstance(y, Mapping):
        if "classes" not in y or "offsets" not in y:
            raise ValueError(f"{what} must have keys 'classes' and 'offsets', got {list(y)}")
        return y["classes"], y["offsets"]
    if not isinstance(y, (list, tuple)) or len(y) != 2:
        raise ValueError(f"{what} must be the pair (classes, offsets), got {type(y).__name__}")
    return y[0], y[1]


@keras.saving.register_keras_serializable(package="afmkit")
class FocalLoss(keras.losses.Loss):
    """Keras loss for the xyz model's "classes" output alone (thesis Eqs. 26–27).

    Per sample as :func:`focal_loss`, averaged over the batch. Use :class:`XYZLoss` for the
    thesis's total loss; this class is for monitoring or classification-only training.

    Parameters
    ----------
    gamma, alpha_n : float
        Focal loss γ (1.25) and α_n (0.30).
    box_reduction : {"mean", "sum"}
        Reduction over the boxes; see the module docstring.
    name : str
        Keras name of the loss.
    **kwargs
        Passed to ``keras.losses.Loss``.

    Raises
    ------
    ValueError
        For settings out of range.
    """

    def __init__(
        self,
        gamma: float = FOCAL_GAMMA,
        alpha_n: float = FOCAL_ALPHA_N,
        box_reduction: BoxReduction = "mean",
        name: str = "focal_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.gamma, self.alpha_n = _check_hyper(gamma, alpha_n)
        _check_reduction(box_reduction)
        self.box_reduction = box_reduction

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample focal loss, (B,) (Keras reduces it over the batch)."""
        return focal_loss(y_true, y_pred, self.gamma, self.alpha_n, self.box_reduction)

    def get_config(self) -> dict[str, Any]:
        """Settings for Keras serialisation."""
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha_n": self.alpha_n,
            "box_reduction": self.box_reduction,
        }


@keras.saving.register_keras_serializable(package="afmkit")
class XYZLoss(keras.losses.Loss):
    """The thesis's xyz loss J = FL + β_PL · PL (Eq. 30) on the pair ``(classes, offsets)``.

    ``y_true`` and ``y_pred`` are ``(classes (B, bx, by, 2), offsets (B, bx, by, 3))`` pairs
    (sequences or dicts with keys "classes", "offsets"); the value is the batch mean of
    :func:`xyz_loss`. Pass it to ``compile`` of an :class:`afmkit.learn.models.XYZModel`, which
    hands it both outputs at once (a plain Keras model would apply it to each output separately).

    Parameters
    ----------
    gamma, alpha_n : float
        Focal loss γ (1.25) and α_n (0.30; weight of background boxes, atoms get 1 − α_n).
    beta : float
        β_PL (0.15).
    z_min : float
        Depth cut-off of the descriptor, Å (−0.7).
    box_reduction : {"mean", "sum"}
        "mean" (default) or "sum" over the boxes in FL; see the module docstring.
    name : str
        Keras name of the loss.
    **kwargs
        Passed to ``keras.losses.Loss``.

    Raises
    ------
    ValueError
        For settings out of range.
    """

    def __init__(
        self,
        gamma: float = FOCAL_GAMMA,
        alpha_n: float = FOCAL_ALPHA_N,
        beta: float = POSITION_BETA,
        z_min: float = Z_MIN,
        box_reduction: BoxReduction = "mean",
        name: str = "xyz_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.gamma, self.alpha_n = _check_hyper(gamma, alpha_n)
        self.beta = float(beta)
        if not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.z_min = _check_z_min(z_min)
        _check_reduction(box_reduction)
        self.box_reduction = box_reduction

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample total loss, (B,) (Keras reduces it over the batch)."""
        return xyz_loss(
            y_true,
            y_pred,
            self.gamma,
            self.alpha_n,
            self.beta,
            self.z_min,
            self.box_reduction,
        )

    def get_config(self) -> dict[str, Any]:
        """Settings for Keras serialisation."""
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha_n": self.alpha_n,
            "beta": self.beta,
            "z_min": self.z_min,
            "box_reduction": self.box_reduction,
        }
