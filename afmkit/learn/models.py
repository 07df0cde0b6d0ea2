"""The thesis's CNNs (§3.3, Tables 2–4): DSH, ES and xyz models in Keras 3, any backend.

Every model is built from ``keras.layers`` and ``keras.ops`` only, so it trains on TensorFlow (the
default), JAX or PyTorch. The defaults reproduce the thesis's layer tables exactly
(:data:`PARAMETER_COUNTS`: 122,811 / 169,970 / 560,941 parameters).

Inputs and outputs
------------------
* Input: a batch of Δf stacks **(B, 128, 128, 10)** (x pixels, y pixels, height slices; each
  slice normalised to mean 0, std 1; slice 0 farthest from the sample, the last one closest), as
  :mod:`afmkit.learn.data` delivers it. The models add the channel axis themselves (a ``Reshape``
  to (128, 128, 10, 1), as the thesis's "Input 128 × 128 × 10 × 1"). :func:`check_input` also takes
  (B, 128, 128, 10, 1) and drops the trailing 1.
* :func:`dsh_model`: one input, outputs ``[atomic_disks, vdw_spheres, height_map]``, each
  (B, 128, 128) in Å (Atomic Disks raw, the other two through ReLU).
* :func:`es_model`: inputs ``[co, xe]`` (CO- and Xe-tip stacks, each (B, 128, 128, 10)),
  outputs ``[es_map, height_map]`` (B, 128, 128): ES map in V (no activation), Height Map in Å.
* :func:`xyz_model`: one input, outputs ``[classes, offsets]``: (B, 16, 16, 2) softmax
  ``[atom, background]`` probabilities and (B, 16, 16, 3) (dx, dy, dz) offsets in Å (no
  activation), the layout of :func:`afmkit.targets.descriptors.xyz_grid`.

Outputs are Keras output layers with those names, so ``compile(loss={name: ...},
loss_weights={name: ...})`` and :func:`afmkit.learn.losses.compile_args` address them by name.

Architecture (all three; thesis Tables 2–4)
-------------------------------------------
Encoder: three 3×3×3 Conv3D (4, 8, 16 filters), each followed by LeakyReLU(0.1) and an average
pool 2×2×2, 2×2×2, 2×2×1 (non-overlapping, "valid": z goes 10 → 5 → 2 → 2), then a reshape of the
(16, 16, 2, 16) maps to (16, 16, 32) 2D maps. Every convolution has stride 1 and "reflective"
padding that keeps the map size; 2D convolutions are 3×3 unless stated. Decoders (DSH, ES): three
stages of nearest-neighbour upsampling ×2 followed by two 16-filter convolutions, then a 1-filter
output convolution; no transposed convolutions.

**Padding trap.** The thesis's reflective padding mirrors *including* the edge pixel (NumPy's
``np.pad(mode="symmetric")``; with 3×3 kernels the same as repeating the edge pixel). It is not
``mode="reflect"``, which at the last encoder level (2 slices in z) would swap the two slices.
:class:`SymmetricPadding2D` / :class:`SymmetricPadding3D` implement it by concatenating flipped
edge slices on backends whose ``keras.ops.pad(mode="symmetric")`` is missing or wrong (PyTorch
maps it to "replicate"), and by one native ``pad`` on TensorFlow and JAX (one copy instead of one
per axis: DSH trains ≈ 1.2× faster on CPU, ``benchmarks/bench_training.py --options``).

**Dead-ReLU trap.** With Keras's default initialisation the 1-filter ReLU output convs start
with a nearly uniform sign over the whole map; measured on random inputs, in about one third of
initialisations a ReLU output (vdW Spheres or Height Map) is ≤ 0 at every pixel, its gradient is
zero and the branch stays dead through training (the thesis hit the same effect with a ReLU on the
Atomic Disks). The models therefore initialise the ReLU output convs with a zero kernel and a bias
of 0.1 Å (``relu_output_init="alive"``, the default; "glorot" restores Keras's default). Layers,
shapes and parameter counts are unchanged.

Interpretation notes (what makes the parameter counts exact): the DSH/ES/xyz tables count
biases on every convolution; the ES model has two *separate* encoders (CO and Xe branches with
their own weights, each ending in its own 64-filter conv), then a 1×1 conv on the 128
concatenated channels (8,256 parameters, no padding needed) and two 3×3 64-filter convs; the
decoder branches have independent weights. Table 2's "64 × 64 × 2 × 8" after the second Conv3D
is a misprint for 64 × 64 × 5 × 8 (a convolution keeps z; the pool then makes 5 → 2).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
from keras import layers, ops
from keras.initializers import Constant

from afmkit.fileio import atomic_path
from afmkit.learn.losses import XYZLoss
from afmkit.learn.paper_weights import (
    PAPER_WEIGHTS,
    PaperWeightsUnavailableError,
    converted_path,
    dsh_arrays,
    fetch_paper_weights,
)

__all__ = [
    "DSH_OUTPUTS",
    "ES_INPUTS",
    "ES_OUTPUTS",
    "INPUT_SHAPE",
    "PAPER_WEIGHTS",
    "PARAMETER_COUNTS",
    "PRETRAINED",
    "PaperWeightsUnavailableError",
    "WEIGHTS_DIR",
    "XYZ_OUTPUTS",
    "SymmetricPadding2D",
    "SymmetricPadding3D",
    "XYZModel",
    "build_model",
    "check_input",
    "dsh_model",
    "es_model",
    "load_paper_weights",
    "load_paper_weights_if_present",
    "load_pretrained",
    "predict",
    "symmetric_pad",
    "weights_path",
    "xyz_model",
]

#: Default input: 128 × 128 pixels × 10 height slices (the model adds the channel axis).
INPUT_SHAPE: tuple[int, int, int] = (128, 128, 10)
#: Parameter counts of the thesis's tables (defaults reproduce them exactly).
PARAMETER_COUNTS: dict[str, int] = {"dsh": 122_811, "es": 169_970, "xyz": 560_941}
#: Output names of the DSH model, in output order.
DSH_OUTPUTS: tuple[str, ...] = ("atomic_disks", "vdw_spheres", "height_map")
#: Input names of the ES model: CO-tip and Xe-tip stacks.
ES_INPUTS: tuple[str, ...] = ("co", "xe")
#: Output names of the ES model, in output order.
ES_OUTPUTS: tuple[str, ...] = ("es_map", "height_map")
#: Output names of the xyz model, in output order.
XYZ_OUTPUTS: tuple[str, ...] = ("classes", "offsets")
#: Pretrained weight sets: name → model kind. Files: ``<WEIGHTS_DIR>/<name>.weights.h5``.
PRETRAINED: dict[str, str] = {"dsh-light": "dsh", "es-light": "es", "xyz-light": "xyz"}
#: Where :func:`load_pretrained` looks by default (shipped with the package).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

_POOLS = ((2, 2, 2), (2, 2, 2), (2, 2, 1))
_SLOPE = 0.1
#: Initial output (Å) of the ReLU output convs with ``relu_output_init="alive"``.
_ALIVE_BIAS = 0.1


# ---------------------------------------------------------------------------------------------
# symmetric ("reflective") padding
# ---------------------------------------------------------------------------------------------
#: Backends whose ``ops.pad(mode="symmetric")`` is NumPy's (mirror including the edge pixel).
_NATIVE_SYMMETRIC_PAD = ("tensorflow", "jax")


def _pad(x: Any, pad_width: Sequence[tuple[int, int]]) -> Any:
    """Symmetric padding of every axis: one native pad where the backend has it, else concats."""
    if keras.backend.backend() in _NATIVE_SYMMETRIC_PAD:
        if not any(before or after for before, after in pad_width):
            return x
        return ops.pad(x, [(int(b), int(a)) for b, a in pad_width], mode="symmetric")
    for axis, (before, after) in enumerate(pad_width):
        x = _pad_axis(x, axis, int(before), int(after))
    return x


def _pad_axis(x: Any, axis: int, before: int, after: int) -> Any:
    """Symmetric padding of one axis (edge pixel included in the mirror), by concatenation."""
    if before == 0 and after == 0:
        return x
    head = (slice(None),) * axis
    parts = []
    if before:
        parts.append(ops.flip(x[head + (slice(0, before),)], axis=axis))
    parts.append(x)
    if after:
        parts.append(ops.flip(x[head + (slice(-after, None),)], axis=axis))
    return ops.concatenate(parts, axis=axis)


def symmetric_pad(x: Any, pad_width: Sequence[tuple[int, int]]) -> Any:
    """``np.pad(x, pad_width, mode="symmetric")`` in ``keras.ops`` (any backend).

    Parameters
    ----------
    x : tensor
        Tensor of any rank.
    pad_width : sequence of (int, int)
        One ``(before, after)`` pair per axis of ``x``; each at most the axis length (a single
        mirror, as the thesis's 3×3(×3) convolutions need).

    Returns
    -------
    tensor
        The padded tensor.

    Raises
    ------
    ValueError
        For the wrong number of pairs, negative padding, or padding wider than an axis.
    """
    if len(pad_width) != len(x.shape):
        raise ValueError(f"pad_width needs one (before, after) per axis: {len(x.shape)} axes")
    for axis, (before, after) in enumerate(pad_width):
        n = x.shape[axis]
        if before < 0 or after < 0:
            raise ValueError(f"padding must be >= 0, got {(before, after)} on axis {axis}")
        if n is not None and max(before, after) > n:
            raise ValueError(
                f"symmetric padding {(before, after)} is wider than axis {axis} (length {n})"
            )
    return _pad(x, pad_width)


def _normalize_padding(padding: Any, rank: int) -> tuple[tuple[int, int], ...]:
    if isinstance(padding, int):
        return ((padding, padding),) * rank
    padding = tuple(padding)
    if len(padding) != rank:
        raise ValueError(f"padding needs {rank} entries (one per spatial axis), got {padding!r}")
    out = []
    for p in padding:
        pair = (p, p) if isinstance(p, int) else tuple(p)
        if len(pair) != 2 or any(int(v) != v or v < 0 for v in pair):
            raise ValueError(f"padding entries must be ints or (before, after) pairs, got {p!r}")
        out.append((int(pair[0]), int(pair[1])))
    return tuple(out)


class _SymmetricPadding(layers.Layer):
    """Symmetric padding of the spatial axes of a channels-last tensor (:func:`symmetric_pad`)."""

    rank = 0

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _normalize_padding(padding, self.rank)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} expects (batch, {self.rank} spatial axes, channels), "
                f"got shape {tuple(input_shape)}"
            )
        for k, (before, after) in enumerate(self.padding):
            n = input_shape[1 + k]
            if n is not None and max(before, after) > n:
                raise ValueError(
                    f"symmetric padding {(before, after)} is wider than spatial axis {k} "
                    f"(length {n})"
                )

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        shape = list(input_shape)
        for k, (before, after) in enumerate(self.padding):
            if shape[1 + k] is not None:
                shape[1 + k] += before + after
        return tuple(shape)

    def call(self, x: Any) -> Any:
        return _pad(x, ((0, 0), *self.padding, (0, 0)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="afmkit")
class SymmetricPadding2D(_SymmetricPadding):
    """Thesis "reflective" padding of (B, nx, ny, C): ``np.pad(mode="symmetric")`` on nx, ny.

    Parameters
    ----------
    padding : int or tuple
        int, ``(px, py)`` or ``((x0, x1), (y0, y1))`` pixels.
    **kwargs
        Passed to ``keras.layers.Layer``.

    Raises
    ------
    ValueError
        For malformed padding, or (when built) padding wider than the input.
    """

    rank = 2


@keras.saving.register_keras_serializable(package="afmkit")
class SymmetricPadding3D(_SymmetricPadding):
    """Thesis "reflective" padding of (B, nx, ny, nz, C): ``np.pad(mode="symmetric")`` on x, y, z.

    Parameters
    ----------
    padding : int or tuple
        int, ``(px, py, pz)`` or three ``(before, after)`` pairs.
    **kwargs
        Passed to ``keras.layers.Layer``.

    Raises
    ------
    ValueError
        For malformed padding, or (when built) padding wider than the input.
    """

    rank = 3


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------
def _conv(
    x: Any,
    filters: int,
    kernel: tuple[int, ...],
    name: str,
    activation: str | None = "leaky",
    slope: float = _SLOPE,
    **conv_kwargs: Any,
) -> Any:
    """Symmetric padding ("same" size) + valid convolution + activation ("leaky" = LeakyReLU)."""
    rank = len(kernel)
    pad = tuple(k // 2 for k in kernel)
    if any(pad):
        pad_layer = SymmetricPadding3D if rank == 3 else SymmetricPadding2D
        x = pad_layer(pad, name=f"{name}_pad")(x)
    conv = layers.Conv3D if rank == 3 else layers.Conv2D
    act = None if activation == "leaky" else activation
    x = conv(filters, kernel, padding="valid", activation=act, name=name, **conv_kwargs)(x)
    if activation == "leaky":
        x = layers.LeakyReLU(negative_slope=slope, name=f"{name}_lrelu")(x)
    return x


def _check_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (nx, ny, n_slices), got {tuple(input_shape)}")
    nx, ny, nz = shape
    if nx < 8 or ny < 8 or nx % 8 or ny % 8:
        raise ValueError(f"nx and ny must be positive multiples of 8 (three 2× pools), got {shape}")
    if nz < 4:
        raise ValueError(f"need at least 4 height slices (two 2× pools in z), got {nz}")
    return shape


def _check_filters(encoder_filters: Sequence[int]) -> tuple[int, int, int]:
    f = tuple(int(v) for v in encoder_filters)
    if len(f) != 3 or min(f) < 1:
        raise ValueError(f"encoder_filters must be three positive ints, got {encoder_filters!r}")
    return f


def _encoder(
    inp: Any, shape: tuple[int, int, int], filters: tuple[int, int, int], slope: float, prefix: str
) -> Any:
    """3D-conv encoder: (B, nx, ny, nz) → (B, nx/8, ny/8, (nz//4)·filters[2])."""
    x = layers.Reshape((*shape, 1), name=f"{prefix}add_channel")(inp)
    for k, (f, pool) in enumerate(zip(filters, _POOLS, strict=True), start=1):
        x = _conv(x, f, (3, 3, 3), f"{prefix}conv3d_{k}", slope=slope)
        x = layers.AveragePooling3D(pool, strides=pool, name=f"{prefix}avgpool_{k}")(x)
    hx, hy, hz, c = x.shape[1:]
    return layers.Reshape((hx, hy, hz * c), name=f"{prefix}to_2d")(x)


def _decoder(
    x: Any,
    name: str,
    out_activation: str | None,
    out_hw: tuple[int, int],
    filters: int,
    slope: float,
    relu_output_init: str,
) -> Any:
    """Three × (NN-upsample ×2, two 3×3 convs), 1-filter output conv, squeeze to (B, nx, ny)."""
    for stage in (1, 2, 3):
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample_{stage}")(x)
        x = _conv(x, filters, (3, 3), f"{name}_conv_{stage}a", slope=slope)
        x = _conv(x, filters, (3, 3), f"{name}_conv_{stage}b", slope=slope)
    init = _output_init(relu_output_init) if out_activation == "relu" else {}
    x = _conv(x, 1, (3, 3), f"{name}_conv_out", activation=out_activation, **init)
    return layers.Reshape(out_hw, name=name)(x)


def _output_init(relu_output_init: str) -> dict[str, Any]:
    """Initialisers of a ReLU output conv: "alive" (zero kernel, bias 0.1) or "glorot" (Keras)."""
    if relu_output_init == "alive":
        return {"kernel_initializer": "zeros", "bias_initializer": Constant(_ALIVE_BIAS)}
    if relu_output_init == "glorot":
        return {}
    raise ValueError(f"relu_output_init must be 'alive' or 'glorot', got {relu_output_init!r}")


# ---------------------------------------------------------------------------------------------
# the three models
# ---------------------------------------------------------------------------------------------
def dsh_model(
    input_shape: Sequence[int] = INPUT_SHAPE,
    *,
    encoder_filters: Sequence[int] = (4, 8, 16),
    latent_filters: int = 64,
    decoder_filters: int = 16,
    negative_slope: float = _SLOPE,
    relu_output_init: str = "alive",
) -> keras.Model:
    """DSH model (thesis Table 2): Δf stack → Atomic Disks, vdW Spheres, Height Map.

    Parameters
    ----------
    input_shape : sequence of int
        (nx, ny, n_slices) of one input stack; default (128, 128, 10). nx, ny multiples of 8.
    encoder_filters, latent_filters, decoder_filters : sequence of int, int, int
        Filters of the three Conv3D, of the two latent 3×3 convs and of the decoder convs.
    negative_slope : float
        LeakyReLU slope (0.1).
    relu_output_init : {"alive", "glorot"}
        Initialisation of the ReLU output convs (vdW Spheres, Height Map). "alive" (default):
        zero kernel and bias 0.1 Å, so every pixel starts in the ReLU's active range. "glorot":
        Keras's default (Glorot-uniform kernel, zero bias), as the thesis's Keras 2 code; then in
        about a third of random initialisations a whole output map starts ≤ 0 everywhere and
        the branch never trains (zero ReLU gradient), see the module docstring.

    Returns
    -------
    keras.Model
        Input (B, nx, ny, n_slices); outputs ``[atomic_disks (no activation), vdw_spheres
        (ReLU), height_map (ReLU)]``, each (B, nx, ny) in Å. Defaults: 122,811 parameters.

    Raises
    ------
    ValueError
        For an unusable ``input_shape`` (nx, ny not multiples of 8, fewer than 4 slices), bad
        ``encoder_filters`` or an unknown ``relu_output_init``.
    """
    shape = _check_shape(input_shape)
    filters = _check_filters(encoder_filters)
    inp = keras.Input(shape, name="afm")
    x = _encoder(inp, shape, filters, negative_slope, "")
    x = _conv(x, latent_filters, (3, 3), "latent_conv_1", slope=negative_slope)
    x = _conv(x, latent_filters, (3, 3), "latent_conv_2", slope=negative_slope)
    acts = {"atomic_disks": None, "vdw_spheres": "relu", "height_map": "relu"}
    outs = [
        _decoder(x, name, acts[name], shape[:2], decoder_filters, negative_slope, relu_output_init)
        for name in DSH_OUTPUTS
    ]
    return keras.Model(inp, outs, name="dsh")


def es_model(
    input_shape: Sequence[int] = INPUT_SHAPE,
    *,
    encoder_filters: Sequence[int] = (4, 8, 16),
    latent_filters: int = 64,
    decoder_filters: int = 16,
    negative_slope: float = _SLOPE,
    relu_output_init: str = "alive",
) -> keras.Model:
    """ES model (thesis Table 3): CO- and Xe-tip stacks → Electrostatic Map, Height Map.

    Two separate encoders (own weights), each followed by a 3×3 conv with ``latent_filters``;
    concatenation (2 × 64 channels), a 1×1 conv and two 3×3 convs (``latent_filters``), then two
    decoder branches.

    Parameters
    ----------
    input_shape : sequence of int
        (nx, ny, n_slices) of *each* input stack; default (128, 128, 10).
    encoder_filters, latent_filters, decoder_filters, negative_slope, relu_output_init
        As :func:`dsh_model` (``relu_output_init`` applies to the Height Map branch).

    Returns
    -------
    keras.Model
        Inputs ``[co, xe]``, each (B, nx, ny, n_slices); outputs ``[es_map (no activation, V),
        height_map (ReLU, Å)]``, each (B, nx, ny). Defaults: 169,970 parameters.

    Raises
    ------
    ValueError
        As :func:`dsh_model`.
    """
    shape = _check_shape(input_shape)
    filters = _check_filters(encoder_filters)
    inputs, branches = [], []
    for tip in ES_INPUTS:
        inp = keras.Input(shape, name=tip)
        h = _encoder(inp, shape, filters, negative_slope, f"{tip}_")
        h = _conv(h, latent_filters, (3, 3), f"{tip}_latent_conv", slope=negative_slope)
        inputs.append(inp)
        branches.append(h)
    x = layers.Concatenate(axis=-1, name="concat_tips")(branches)
    x = _conv(x, latent_filters, (1, 1), "latent_conv_1x1", slope=negative_slope)
    x = _conv(x, latent_filters, (3, 3), "latent_conv_1", slope=negative_slope)
    x = _conv(x, latent_filters, (3, 3), "latent_conv_2", slope=negative_slope)
    acts = {"es_map": None, "height_map": "relu"}
    outs = [
        _decoder(x, name, acts[name], shape[:2], decoder_filters, negative_slope, relu_output_init)
        for name in ES_OUTPUTS
    ]
    return keras.Model(inputs, outs, name="es")


@keras.saving.register_keras_serializable(package="afmkit")
class XYZModel(keras.Model):
    """Functional model whose loss sees both outputs at once (for the thesis's xyz loss).

    The thesis's xyz loss needs the true *classes* to weight the *offsets* error (Eq. 28), which
    Keras's per-output losses cannot do. ``compile(optimizer)`` (no loss) or
    ``compile(optimizer, loss=XYZLoss(...))`` makes :meth:`compute_loss` apply the
    :class:`~afmkit.learn.losses.XYZLoss` to ``(classes, offsets)`` pairs (targets as a
    tuple/list or a dict with keys "classes", "offsets"); any other ``loss`` (e.g. a per-output
    dict) is handled by Keras as usual. Backend-agnostic (only ``keras.ops``). Built as a Keras
    functional model: ``XYZModel(inputs, outputs, name=...)``.
    """

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, **kwargs: Any) -> None:
        """As ``keras.Model.compile``; ``loss=None`` means the thesis's ``XYZLoss()``.

        Parameters
        ----------
        optimizer : str or keras.optimizers.Optimizer
            The optimiser.
        loss : XYZLoss or other Keras loss, optional
            An :class:`~afmkit.learn.losses.XYZLoss` (or None) is applied to the output pair;
            anything else goes to Keras unchanged.
        **kwargs
            Passed to ``keras.Model.compile``.

        Raises
        ------
        ValueError
            If ``loss_weights`` is given together with an ``XYZLoss``.
        """
        if loss is None:
            loss = XYZLoss()
        self._xyz_loss = loss if isinstance(loss, XYZLoss) else None
        if self._xyz_loss is not None:
            if kwargs.get("loss_weights") is not None:
                raise ValueError("loss_weights do not apply to XYZLoss (use its beta argument)")
            kwargs.pop("loss_weights", None)
            super().compile(optimizer=optimizer, loss=None, **kwargs)
        else:
            super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def get_compile_config(self) -> dict[str, Any]:
        """Compile settings for ``model.save``, including the :class:`XYZLoss` parameters.

        Returns
        -------
        dict
            Keras's compile config, with the loss serialised.
        """
        config = super().get_compile_config()
        if config and getattr(self, "_xyz_loss", None) is not None:
            config["loss"] = keras.saving.serialize_keras_object(self._xyz_loss)
        return config

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Re-compile a loaded model (``keras.saving.load_model``) with its saved settings.

        Parameters
        ----------
        config : dict
            What :meth:`get_compile_config` returned.
        """
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """Total loss: :class:`~afmkit.learn.losses.XYZLoss` on the output pair (+ layer losses).

        Parameters
        ----------
        x : object
            The inputs (unused by the xyz loss).
        y : sequence or mapping
            The targets ``(classes, offsets)``.
        y_pred : sequence
            The predictions ``(classes, offsets)``.
        sample_weight : tensor, optional
            Per-sample weights.
        training : bool
            Training or inference mode (for Keras's default loss).

        Returns
        -------
        tensor
            Scalar loss.
        """
        loss_fn = getattr(self, "_xyz_loss", None)
        if loss_fn is None:
            return super().compute_loss(x, y, y_pred, sample_weight, training=training)
        total = loss_fn(y, y_pred, sample_weight)
        for extra in self.losses:
            total = total + ops.sum(ops.cast(extra, total.dtype))
        return total


def xyz_model(
    input_shape: Sequence[int] = INPUT_SHAPE,
    *,
    encoder_filters: Sequence[int] = (4, 8, 16),
    latent_filters: int = 128,
    branch_filters: int = 64,
    negative_slope: float = _SLOPE,
) -> XYZModel:
    """The xyz model (thesis Table 4): Δf stack → box classes and atom offsets on a 16 × 16 grid.

    Encoder, three 3×3 convs with ``latent_filters``, then two branches of two 3×3 convs with
    ``branch_filters`` and a 3×3 output conv: 2 filters + softmax ("classes") and 3 filters, no
    activation ("offsets"). No decoder: the grid is the latent resolution (nx/8 × ny/8).

    Parameters
    ----------
    input_shape : sequence of int
        (nx, ny, n_slices); default (128, 128, 10) → 16 × 16 boxes (1 Å boxes on a 16 Å window).
    encoder_filters, latent_filters, branch_filters : sequence of int, int, int
        Filters of the encoder, the shared latent convs and the branch convs.
    negative_slope : float
        LeakyReLU slope (0.1).

    Returns
    -------
    XYZModel
        Outputs ``[classes (B, nx/8, ny/8, 2) softmax [atom, background], offsets
        (B, nx/8, ny/8, 3) in Å]``. Defaults: 560,941 parameters. ``compile(optimizer)`` uses the
        thesis loss (:class:`~afmkit.learn.losses.XYZLoss`).

    Raises
    ------
    ValueError
        For an unusable ``input_shape`` or bad ``encoder_filters``.
    """
    shape = _check_shape(input_shape)
    filters = _check_filters(encoder_filters)
    inp = keras.Input(shape, name="afm")
    x = _encoder(inp, shape, filters, negative_slope, "")
    for k in (1, 2, 3):
        x = _conv(x, latent_filters, (3, 3), f"latent_conv_{k}", slope=negative_slope)
    outs = []
    for name, n_out, act in (("classes", 2, "softmax"), ("offsets", 3, None)):
        h = _conv(x, branch_filters, (3, 3), f"{name}_conv_1", slope=negative_slope)
        h = _conv(h, branch_filters, (3, 3), f"{name}_conv_2", slope=negative_slope)
        outs.append(_conv(h, n_out, (3, 3), name, activation=act))
    return XYZModel(inp, outs, name="xyz")


_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "dsh": dsh_model,
    "es": es_model,
    "xyz": xyz_model,
}


def build_model(kind: str, **kwargs: Any) -> keras.Model:
    """Build :func:`dsh_model`, :func:`es_model` or :func:`xyz_model` by name.

    Parameters
    ----------
    kind : {"dsh", "es", "xyz"}
        The model.
    **kwargs
        Passed to the builder.

    Returns
    -------
    keras.Model
        The model, not compiled.

    Raises
    ------
    ValueError
        For an unknown ``kind``.
    """
    if kind not in _BUILDERS:
        raise ValueError(f"model kind must be one of {sorted(_BUILDERS)}, got {kind!r}")
    return _BUILDERS[kind](**kwargs)


# ---------------------------------------------------------------------------------------------
# input validation and prediction
# ---------------------------------------------------------------------------------------------
def check_input(model: keras.Model, X: Any) -> np.ndarray | tuple[np.ndarray, ...]:
    """Validate a batch for ``model`` and return it as float32 array(s) the model accepts.

    Parameters
    ----------
    model : keras.Model
        A model from this module (or any Keras model with fixed input shapes).
    X : array_like, sequence or mapping
        One-input models: (B, nx, ny, n_slices) (or (B, nx, ny, n_slices, 1)). ES model: the
        pair ``(X_co, X_xe)`` (tuple/list) or a dict with keys "co", "xe".

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        float32 array(s) of shape (B, nx, ny, n_slices), a tuple in the model's input order for
        multi-input models.

    Raises
    ------
    ValueError
        Wrong number of inputs, wrong rank, wrong pixel or slice count (naming the expected
        shape), different batch sizes between inputs, empty batch, or NaN/Inf values.
    """
    names = [t.name for t in model.inputs]
    expected = [tuple(t.shape[1:]) for t in model.inputs]
    if len(names) == 1:
        arrays = [X]
    elif isinstance(X, Mapping):
        missing = [n for n in names if n not in X]
        if missing:
            raise ValueError(f"{model.name} model needs inputs {names}; missing {missing}")
        arrays = [X[n] for n in names]
    elif isinstance(X, (list, tuple)) and len(X) == len(names):
        arrays = list(X)
    else:
        got = f"{len(X)} arrays" if isinstance(X, (list, tuple)) else type(X).__name__
        raise ValueError(
            f"{model.name} model needs {len(names)} input stacks {tuple(names)} as a tuple/list "
            f"or dict, got {got}"
        )
    out = []
    for name, exp, a in zip(names, expected, arrays, strict=True):
        what = f"{model.name} model input {name!r}"
        want = f"(batch, {', '.join(str(v) for v in exp)})"
        a = np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise ValueError(f"{what} must be numeric, got dtype {a.dtype}")
        if a.ndim == len(exp) + 2 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.shape == exp:
            raise ValueError(
                f"{what}: expected a batch of shape {want}, got one sample {a.shape}; "
                "add a batch axis (X[None])"
            )
        if a.ndim != len(exp) + 1:
            raise ValueError(f"{what}: expected shape {want}, got {a.shape}")
        if a.shape[0] == 0:
            raise ValueError(f"{what}: empty batch")
        if a.shape[-1] != exp[-1]:
            raise ValueError(
                f"{what}: expected {exp[-1]} height slices in the last axis (shape {want}), got "
                f"{a.shape[-1]} (shape {a.shape}); select {exp[-1]} slices first, e.g. with "
                "afmkit.learn.augment.preprocess / augment"
            )
        if tuple(a.shape[1:-1]) != tuple(exp[:-1]):
            raise ValueError(
                f"{what}: expected {exp[0]} × {exp[1]} pixels (shape {want}), got {a.shape}"
            )
        a = a.astype(np.float32, copy=False)
        if not np.isfinite(a).all():
            n_bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
            raise ValueError(f"{what} contains {n_bad} NaN/Inf values; fix the batch first")
        out.append(a)
    if len({a.shape[0] for a in out}) > 1:
        raise ValueError(
            f"{model.name} model inputs have different batch sizes: {[a.shape for a in out]}"
        )
    return out[0] if len(out) == 1 else tuple(out)


def predict(model: keras.Model, X: Any, batch_size: int = 30) -> dict[str, np.ndarray]:
    """Validated prediction: :func:`check_input`, then ``model.predict``.

    Parameters
    ----------
    model : keras.Model
        A model from this module.
    X : array_like, sequence or mapping
        The batch, as :func:`check_input` takes it (normalised Δf stacks).
    batch_size : int
        Samples per prediction step.

    Returns
    -------
    dict
        Output name → NumPy array (e.g. ``{"atomic_disks": (B, 128, 128), ...}``).

    Raises
    ------
    ValueError
        For a batch :func:`check_input` rejects.
    """
    X = check_input(model, X)
    out = model.predict(X, batch_size=batch_size, verbose=0)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return {name: np.asarray(o) for name, o in zip(model.output_names, out, strict=True)}


# ---------------------------------------------------------------------------------------------
# pretrained weights
# ---------------------------------------------------------------------------------------------
def weights_path(name: str, directory: str | Path | None = None) -> Path:
    """Path of the weights file of pretrained set ``name``: ``<directory>/<name>.weights.h5``.

    Parameters
    ----------
    name : str
        Weight set, e.g. "dsh-light".
    directory : str or Path, optional
        Folder; default :data:`WEIGHTS_DIR`.

    Returns
    -------
    Path
        The file (it may not exist).
    """
    return Path(directory if directory is not None else WEIGHTS_DIR) / f"{name}.weights.h5"


def _layer_arrays(path: Path) -> dict[str, tuple[int, ...]]:
    """Model weight arrays (HDF5 path → shape) in a Keras ``.weights.h5`` (optimizer left out)."""
    found: dict[str, tuple[int, ...]] = {}

    def visit(key: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and not key.startswith("optimizer"):
            found[key] = tuple(obj.shape)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def _expected_arrays(model: keras.Model) -> dict[str, tuple[int, ...]]:
    """The arrays a weights file of ``model`` holds (saved once to a temporary file)."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # TensorFlow variables trip NumPy 2's copy-keyword deprecation inside Keras's saver
        warnings.filterwarnings(
            "ignore", message="__array__ implementation", category=DeprecationWarning
        )
        ref = Path(tmp) / "reference.weights.h5"
        model.save_weights(ref)
        return _layer_arrays(ref)


def _n_params(arrays: Mapping[str, tuple[int, ...]]) -> int:
    return int(sum(int(np.prod(s)) for s in arrays.values()))


def load_pretrained(
    name: str,
    directory: str | Path | None = None,
    *,
    path: str | Path | None = None,
    download: bool = True,
) -> keras.Model:
    """Build the model of pretrained set ``name`` and load its weights.

    Parameters
    ----------
    name : str
        One of :data:`PRETRAINED`: "dsh-light", "es-light", "xyz-light" (a "<kind>-<set>" name
        with kind dsh/es/xyz also works for other sets, e.g. "dsh-heavy"); or the paper's
        published DSH weights "asd-afm-light" / "asd-afm-heavy" (:data:`PAPER_WEIGHTS`,
        :func:`load_paper_weights`).
    directory : str or Path, optional
        Folder with ``<name>.weights.h5``; default :data:`WEIGHTS_DIR` (``afmkit/learn/weights``).
        Not used for the paper's weights.
    path : str or Path, optional
        Paper's weights only: a copy of the published ``.h5`` file you already have.
    download : bool
        Paper's weights only: download the file when it is not cached (default True).

    Returns
    -------
    keras.Model
        The default-architecture model (128 × 128 × 10 input) with the weights, not compiled.

    Raises
    ------
    FileNotFoundError
        No weights file (the message names the path and how to train it).
    PaperWeightsUnavailableError
        Paper's weights offline and not cached (the message says how to get them).
    ValueError
        Unknown name, or a file that does not hold weights of this architecture (expected vs
        found arrays and parameter counts), or a paper file with the wrong sha256.
    """
    if name in PAPER_WEIGHTS:
        return load_paper_weights(name, path=path, download=download)
    if path is not None:
        raise ValueError(f"path= is only for the paper's weights {sorted(PAPER_WEIGHTS)}")
    kind = PRETRAINED.get(name) or name.split("-", 1)[0]
    if kind not in _BUILDERS or "-" not in name:
        raise ValueError(f"unknown pretrained model {name!r}; known: {sorted(PRETRAINED)}")
    path = weights_path(name, directory)
    if not path.is_file():
        raise FileNotFoundError(
            f"no pretrained weights {name!r} at {path}. Train them with `afmkit train {kind}` "
            f"(it saves {path.name}), or pass directory= the folder that holds {path.name}."
        )
    model = build_model(kind)
    return _load_checked(model, path, kind)


def _load_checked(model: keras.Model, path: Path, kind: str) -> keras.Model:
    """Load a Keras 3 ``.weights.h5`` into ``model`` after checking it holds exactly its arrays."""
    expected = _expected_arrays(model)
    try:
        found = _layer_arrays(path)
    except OSError as err:
        raise ValueError(f"{path} is not a Keras .weights.h5 file: {err}") from err
    if found != expected:
        n_found = _n_params(found)
        guess = [k for k, v in PARAMETER_COUNTS.items() if v == n_found]
        hint = f" (looks like the {guess[0]} model)" if guess else ""
        diff = sorted(set(expected.items()) ^ set(found.items()))
        raise ValueError(
            f"{path} does not hold weights of the {kind} model: expected {len(expected)} arrays "
            f"with {_n_params(expected):,} parameters, found {len(found)} arrays with "
            f"{n_found:,} parameters{hint}; first difference: {diff[0][0]} "
            f"expected {expected.get(diff[0][0])}, found {found.get(diff[0][0])}"
        )
    try:
        model.load_weights(path)
    except (ValueError, KeyError) as err:
        raise ValueError(f"could not load {path} into the {kind} model: {err}") from err
    return model


def load_paper_weights(
    name: str, path: str | Path | None = None, *, download: bool = True, cache: bool = True
) -> keras.Model:
    """The paper's published DSH weights (Alldritt et al. 2020) in afmkit's DSH model.

    The published Keras 2 file is found (``path``, the cache, or a download from the pinned
    ASD-AFM commit), its sha256 checked, and its 26 convolutions copied into
    :func:`dsh_model` (same architecture and 122,811 parameters; see
    :mod:`afmkit.learn.paper_weights`). The converted weights are cached (Keras 3
    ``.weights.h5``, written atomically) under ``afmkit.fileio.cache_dir()/asd-afm``, so later
    calls need neither the network nor the conversion.

    Parameters
    ----------
    name : str
        "asd-afm-light" or "asd-afm-heavy" (:data:`PAPER_WEIGHTS`).
    path : str or Path, optional
        A copy of the published ``.h5`` file you already have (its sha256 is checked).
    download : bool
        Download the file when it is neither given nor cached (default True).
    cache : bool
        Read and write the converted weights in the cache (default True).

    Returns
    -------
    keras.Model
        :func:`dsh_model` with the paper's weights, not compiled. Input (B, 128, 128, 10)
        normalised Δf stacks (x, y, slice; last slice closest), outputs Atomic Disks, vdW Spheres,
        Height Map (B, 128, 128), Å.

    Raises
    ------
    PaperWeightsUnavailableError
        Offline (or ``download=False``) with no copy: the message gives the URL, the sha256 and
        where to put the file.
    ValueError
        Unknown name, a file with the wrong sha256 (the message names the expected one), or a
        file that is not the paper's DSH model.
    FileNotFoundError
        ``path`` does not exist.
    """
    if name not in PAPER_WEIGHTS:
        raise ValueError(f"unknown published weights {name!r}; known: {sorted(PAPER_WEIGHTS)}")
    model = dsh_model()
    converted = converted_path(name)
    if path is not None:
        source = fetch_paper_weights(name, path)  # a wrong file fails here, even if cached
    elif cache and converted.is_file():
        return _load_checked(model, converted, "dsh")
    else:
        source = fetch_paper_weights(name, download=download)
    for layer, weights in dsh_arrays(source).items():
        model.get_layer(layer).set_weights(weights)
    if cache:
        with atomic_path(converted) as tmp, warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="__array__ implementation", category=DeprecationWarning
            )
            model.save_weights(tmp)
    return model


def load_paper_weights_if_present(name: str, path: str | Path | None = None) -> keras.Model | None:
    """:func:`load_paper_weights` without the network: the model, or None when absent.

    Parameters
    ----------
    name : str
        "asd-afm-light" or "asd-afm-heavy".
    path : str or Path, optional
        A copy of the published ``.h5`` file; None: the cache only.

    Returns
    -------
    keras.Model or None
        The converted model, or None when neither ``path`` nor the cache has the weights (a
        ``path`` that does not exist also gives None).

    Raises
    ------
    ValueError
        A file with the wrong sha256 or layout.
    """
    if path is not None and not Path(path).is_file():
        return None
    try:
        return load_paper_weights(name, path=path, download=False)
    except PaperWeightsUnavailableError:
        return None
