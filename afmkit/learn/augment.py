"""Pre-processing and data augmentation of Δf stacks (thesis §3.4, Fig. 14).

Every function works on a batch ``X`` of Δf image stacks, float array of shape
``(B, nx, ny, nz)`` (batch, pixels in x, pixels in y, height slices), values in Hz or already
normalised (dimensionless). Slice order follows the simulator: index 0 is the slice farthest from
the sample, the last index the closest one. Inputs are never modified; outputs are new float32
arrays.

The thesis applies, in this order (§3.4, items 1-5; :func:`augment` runs them all):

1. **Scan height randomisation** (:func:`select_heights`): "From these 20 slices we first choose
   randomly a continuous stack of 15 z-slices to reflect possible variations in the tip-sample
   distance, and from these 15 we then choose randomly 10 to reflect lost scanning heights."
2. **Normalisation** (:func:`normalize_slices`): "Each height slice in the AFM stack is normalized
   by subtracting the mean and dividing by the sample standard deviation of the slice."
3. **Random noise** (:func:`add_noise`): "Uniform random noise in range [-A_z, A_z] is added to
   each voxel of the image. The amplitude is A_z = 0.5c(v_max - v_min), where c = 0.1, and
   v_min/max are the minimum and maximum pixel values in the corresponding z-slice." (Eq. 33)
4. **Random pixel shifts** (:func:`shift_slices`): "Each z-slice is randomly shifted by at most
   three pixels in the x- and y-directions."
5. **Cutouts** (:func:`cutouts`): "Random rectangular regions in each slice are cut out by setting
   them to zero."

Paired stacks (the ES model's CO and Xe inputs) are passed as a list ``[X_co, X_xe]`` of arrays
of equal shape. They are one "experiment geometry", so :func:`augment` gives both the **same**
height indices and (by default, ``share_shifts=True``) the **same** slice shifts, but
**independent** noise and cutouts. The lower-level functions take the same lists, or explicit
``indices`` / ``shifts`` arrays, to build other combinations.

Randomness always comes from a ``numpy.random.Generator`` passed as ``rng``; the same seed gives
the same output. All work is vectorised over the batch (no Python loops over samples, slices or
pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from afmkit.physics.simulator import SimulationParams

__all__ = [
    "SHIFT_MODES",
    "ShiftMode",
    "Stacks",
    "add_noise",
    "augment",
    "cutouts",
    "default_height_indices",
    "draw_tip",
    "normalize_slices",
    "preprocess",
    "random_height_indices",
    "random_shifts",
    "select_heights",
    "shift_slices",
    "take_heights",
]

Stacks = NDArray | Sequence[NDArray]
"""One batch ``(B, nx, ny, nz)`` or a list of batches of equal shape (e.g. ``[X_co, X_xe]``)."""

#: Type of the ``mode`` of :func:`shift_slices`: one of :data:`SHIFT_MODES`.
ShiftMode = Literal["reflect", "symmetric", "edge", "wrap"]
SHIFT_MODES: tuple[str, ...] = ("reflect", "symmetric", "edge", "wrap")
"""Edge handling of :func:`shift_slices` (same meaning as in ``numpy.pad``)."""


def draw_tip(
    base: SimulationParams, rng: np.random.Generator, tilt_radius: float, height_jitter: float
) -> SimulationParams:
    """``base`` with a randomly drawn tip, as the training data draw one per sample.

    The tilt (the probe particle's rest offset in x, y) is uniform over a disc of radius
    ``tilt_radius``; ``z_closest`` moves uniformly within ± ``height_jitter``. Two draws from
    ``rng`` for the tilt, one for the height, in that order (reproducible per seed).

    Parameters
    ----------
    base : SimulationParams
        The tip before the draw.
    rng : numpy.random.Generator
        Source of the draws.
    tilt_radius : float
        Largest tilt, Å.
    height_jitter : float
        Largest change of ``z_closest``, Å.

    Returns
    -------
    SimulationParams
        ``base`` with ``tilt`` (Å, Å) and ``z_closest`` (Å) replaced.
    """
    r = tilt_radius * np.sqrt(rng.uniform())
    phi = rng.uniform(0, 2 * np.pi)
    return base.replace(
        tilt=(r * np.cos(phi), r * np.sin(phi)),
        z_closest=base.z_closest + rng.uniform(-height_jitter, height_jitter),
    )


# --------------------------------------------------------------------------- validation helpers


def _as_list(X: Stacks, min_slices: int = 1) -> tuple[list[np.ndarray], bool]:
    """Validate ``X`` and return it as a list of float32 arrays plus "was it a list?".

    Raises ValueError for a wrong number of dimensions, an empty batch, fewer than
    ``min_slices`` slices, NaN/inf values or (for lists) arrays of different shapes.
    """
    is_list = isinstance(X, (list, tuple))
    arrays = list(X) if is_list else [X]
    if not arrays:
        raise ValueError("X is an empty list; give one array or a list of arrays")
    out = []
    for k, a in enumerate(arrays):
        name = f"X[{k}]" if is_list else "X"
        if np.iscomplexobj(a):
            raise TypeError(f"{name} is complex; Δf stacks are real")
        a = np.asarray(a, dtype=np.float32)
        if a.ndim != 4:
            raise ValueError(
                f"{name} must be 4-D (batch, nx, ny, nz), got {a.ndim}-D array of shape {a.shape}"
            )
        if min(a.shape) == 0:
            raise ValueError(f"{name} has an empty dimension: shape {a.shape}")
        if a.shape[3] < min_slices:
            raise ValueError(
                f"{name} has {a.shape[3]} slices (nz), fewer than the {min_slices} needed "
                "(n_window / n_keep)"
            )
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf values")
        out.append(a)
    if any(a.shape != out[0].shape for a in out):
        raise ValueError(f"arrays in X must have equal shapes, got {[a.shape for a in out]}")
    return out, is_list


def _ret(arrays: list[np.ndarray], is_list: bool) -> NDArray[np.float32] | list[NDArray]:
    return arrays if is_list else arrays[0]


def _to_s(a: np.ndarray) -> np.ndarray:
    """(B, nx, ny, nz) → contiguous slice-major (B, nz, nx, ny), the internal working layout."""
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _from_s(s: np.ndarray) -> np.ndarray:
    """Slice-major (B, nz, nx, ny) → contiguous float32 (B, nx, ny, nz)."""
    return np.ascontiguousarray(s.transpose(0, 2, 3, 1), dtype=np.float32)


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )


def _check_window(n_slices: int, n_window: int, n_keep: int) -> None:
    if not 1 <= n_keep <= n_window:
        raise ValueError(f"need 1 <= n_keep <= n_window, got n_keep={n_keep}, n_window={n_window}")
    if n_slices < n_window:
        raise ValueError(f"X has {n_slices} slices (nz), fewer than n_window={n_window}")
    if int(n_keep) != n_keep or int(n_window) != n_window:
        raise TypeError(f"n_window and n_keep must be integers, got {n_window!r}, {n_keep!r}")


def _check_cutout_args(
    n_holes: int, p: float, area_range: tuple[float, float], aspect_range: tuple[float, float]
) -> None:
    if n_holes < 0 or int(n_holes) != n_holes:
        raise ValueError(f"n_holes must be a non-negative integer, got {n_holes}")
    if not 0 <= p <= 1:
        raise ValueError(f"cutout probability p must lie in [0, 1], got {p}")
    if len(area_range) != 2 or not 0 <= area_range[0] <= area_range[1] <= 1:
        raise ValueError(
            f"area_range must be (min, max) with 0 <= min <= max <= 1, got {area_range}"
        )
    if len(aspect_range) != 2 or not 0 < aspect_range[0] <= aspect_range[1] < np.inf:
        raise ValueError(f"aspect_range must be (min, max) with 0 < min <= max, got {aspect_range}")


# ------------------------------------------------------------------ 1. scan height randomisation


def random_height_indices(
    rng: np.random.Generator, batch_size: int, n_slices: int, n_window: int = 15, n_keep: int = 10
) -> NDArray[np.intp]:
    """Draw slice indices for scan height randomisation (thesis §3.4 item 1).

    Per sample: a window start ``s`` uniform in ``0 … n_slices - n_window`` (a contiguous window
    of ``n_window`` slices), then ``n_keep`` distinct slices of that window, uniformly among all
    subsets, sorted.

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded generator.
    batch_size : int
        Number of samples B.
    n_slices : int
        Slices nz of the stacks (thesis: 20).
    n_window : int
        Length of the contiguous window (thesis: 15).
    n_keep : int
        Slices kept of the window (thesis: 10).

    Returns
    -------
    numpy.ndarray
        (batch_size, n_keep) int array, strictly increasing along axis 1,
        ``max - min <= n_window - 1``.

    Raises
    ------
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    ValueError
        Unless 1 ≤ ``n_keep`` ≤ ``n_window`` ≤ ``n_slices``.
    """
    _check_rng(rng)
    _check_window(n_slices, n_window, n_keep)
    start = rng.integers(0, n_slices - n_window + 1, size=batch_size)
    # a uniform random subset of size n_keep: the n_keep smallest of n_window uniform keys
    keys = rng.random((batch_size, n_window))
    offsets = np.sort(np.argpartition(keys, n_keep - 1, axis=1)[:, :n_keep], axis=1)
    return (start[:, None] + offsets).astype(np.intp)


def default_height_indices(n_slices: int, n_window: int = 15, n_keep: int = 10) -> NDArray[np.intp]:
    """Fixed slice choice for inference (used by :func:`preprocess`).

    The window is the ``n_window`` slices **closest** to the sample (the last ones, where the
    repulsive, most detailed contrast is) and ``n_keep`` slices are spread evenly over it,
    including both ends. For 20 → 15 → 10 this is ``[5, 7, 8, 10, 11, 13, 14, 16, 17, 19]``:
    it keeps the closest slice and the mean spacing (≈1.5 slices) of the random training choice.

    Parameters
    ----------
    n_slices : int
        Slices nz of the stacks.
    n_window : int
        Length of the window at the close end.
    n_keep : int
        Slices kept of the window.

    Returns
    -------
    numpy.ndarray
        (n_keep,) int array, strictly increasing.

    Raises
    ------
    ValueError
        Unless 1 ≤ ``n_keep`` ≤ ``n_window`` ≤ ``n_slices``.
    """
    _check_window(n_slices, n_window, n_keep)
    offsets = np.rint(np.linspace(0, n_window - 1, n_keep)).astype(np.intp)
    return n_slices - n_window + offsets


def take_heights(X: Stacks, indices: NDArray) -> NDArray[np.float32] | list[NDArray]:
    """Keep the given slices of each sample.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) array, or a list of such arrays (all get the same indices).
    indices : array_like of int
        (B, k) per-sample slice indices in ``0 … nz - 1``, or (k,) for the same slices in every
        sample.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, k) float32 array (or list of them), slices in the order of ``indices``.

    Raises
    ------
    ValueError
        For a malformed ``X`` (see :data:`Stacks`) or indices of the wrong shape, type or range.
    """
    arrays, is_list = _as_list(X)
    idx = _check_indices(indices, arrays[0].shape[0], arrays[0].shape[3])
    return _ret([_from_s(_take_s(a, idx)) for a in arrays], is_list)


def _check_indices(indices: NDArray, B: int, nz: int) -> np.ndarray:
    """Validate slice indices and broadcast them to (B, k)."""
    idx = np.asarray(indices)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"indices must be integers, got dtype {idx.dtype}")
    if idx.ndim == 1:
        idx = np.broadcast_to(idx, (B, idx.shape[0]))
    if idx.ndim != 2 or idx.shape[0] != B or idx.shape[1] == 0:
        raise ValueError(f"indices must have shape (B={B}, k>0) or (k,), got {np.shape(indices)}")
    if idx.min() < 0 or idx.max() >= nz:
        raise ValueError(f"indices must lie in 0 … {nz - 1}, got {idx.min()} … {idx.max()}")
    return idx


def _take_s(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Slices ``idx`` (B, k) of (B, nx, ny, nz) ``a``, returned slice-major (B, k, nx, ny)."""
    return a.transpose(0, 3, 1, 2)[np.arange(a.shape[0])[:, None], idx]


def select_heights(
    X: Stacks,
    rng: np.random.Generator,
    n_window: int = 15,
    n_keep: int = 10,
    return_indices: bool = False,
) -> NDArray[np.float32] | list[NDArray] | tuple:
    """Scan height randomisation (thesis §3.4 item 1).

    From the ``nz`` slices of each sample choose a random contiguous window of ``n_window``
    slices, then a random subset of ``n_keep`` of them, kept in order (farthest first).

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) Δf stacks (Hz), or a list of such arrays (e.g. ``[X_co, X_xe]``): every
        array gets the **same** indices (same experimental heights for both probes).
    rng : numpy.random.Generator
        Seeded generator.
    n_window, n_keep : int
        Window length and slices kept; thesis values 15 and 10 (out of nz = 20).
    return_indices : bool
        Also return the (B, n_keep) indices; apply them to other arrays with
        :func:`take_heights`.

    Returns
    -------
    out : numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, n_keep) float32 array (or list).
    indices : numpy.ndarray
        (B, n_keep) int slice indices; only if ``return_indices``.

    Raises
    ------
    ValueError
        For a malformed ``X`` or a window that does not fit (see
        :func:`random_height_indices`).
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    arrays, is_list = _as_list(X)
    idx = random_height_indices(rng, arrays[0].shape[0], arrays[0].shape[3], n_window, n_keep)
    out = _ret([_from_s(_take_s(a, idx)) for a in arrays], is_list)
    return (out, idx) if return_indices else out


# -------------------------------------------------------------------------- 2. normalisation


def _normalize_s(s: np.ndarray, eps: float) -> np.ndarray:
    """Normalise each (nx, ny) slice of slice-major ``s`` (B, nz, nx, ny)."""
    if not 0 <= eps < np.inf:
        raise ValueError(f"eps must be finite and >= 0 (input units), got {eps}")
    flat = s.reshape(s.shape[0], s.shape[1], -1)
    mean = flat.mean(axis=-1, keepdims=True, dtype=np.float64)  # exact enough; float32 centring
    centred = flat - mean.astype(np.float32)
    var = np.einsum("bkp,bkp->bk", centred, centred)[..., None] / flat.shape[-1]
    std = np.sqrt(var.astype(np.float64))
    inv = np.where(std > eps, 1.0 / np.maximum(std, eps), 0.0)
    centred *= inv.astype(np.float32)
    return centred.reshape(s.shape)


def normalize_slices(X: Stacks, eps: float = 1e-8) -> NDArray[np.float32] | list[NDArray]:
    """Per-sample, per-slice standardisation (thesis §3.4 item 2).

    Each (nx, ny) slice gets mean 0 and standard deviation 1. The standard deviation is that of
    the slice's pixels (``ddof=0``, as ``np.std``; with 128 × 128 px ``ddof=1`` differs by 3e-5).
    Slices whose standard deviation is ``<= eps`` (constant slices, in the input's units) become
    all zeros instead of NaN.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) array (any units, e.g. Hz) or a list of them.
    eps : float
        Threshold on the standard deviation, input units.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, nz) float32, dimensionless (or a list).

    Raises
    ------
    ValueError
        For a malformed ``X`` (wrong dimensions, empty, NaN/inf, unequal shapes).
    """
    arrays, is_list = _as_list(X)
    return _ret([_from_s(_normalize_s(_to_s(a), eps)) for a in arrays], is_list)


# ---------------------------------------------------------------------------------- 3. noise


def _noise_s(s: np.ndarray, rng: np.random.Generator, c: float) -> np.ndarray:
    """Eq. 33 noise on slice-major ``s`` (B, nz, nx, ny)."""
    if c == 0:
        return s.copy()
    vrange = s.max(axis=(2, 3), keepdims=True) - s.min(axis=(2, 3), keepdims=True)
    amp = (0.5 * c * vrange).astype(np.float32)
    u = rng.random(s.shape, dtype=np.float32)  # [0, 1)
    u *= 2.0
    u -= 1.0  # [-1, 1)
    u *= amp
    u += s
    return u


def add_noise(X: Stacks, rng: np.random.Generator, c: float = 0.1) -> NDArray[np.float32] | list:
    """Add uniform noise relative to each slice's range (thesis §3.4 item 3, Eq. 33).

    Every voxel gets an independent draw from ``U[-A_z, A_z)`` with
    ``A_z = 0.5 · c · (v_max - v_min)``, ``v_min/max`` the extreme pixel values of that slice of
    that sample (so the full noise width is ``c`` times the slice's range). Thesis: c = 0.1.
    The reference code (ASD-AFM ``add_noise``) is the same: ``(U[0,1) - 0.5) · c · (max - min)``.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) array or a list of them; each array gets independent noise.
    rng : numpy.random.Generator
        Seeded generator.
    c : float
        Relative noise strength (dimensionless, >= 0).

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, nz) float32 (or a list), in the units of ``X``.

    Raises
    ------
    ValueError
        For ``c`` < 0 (or NaN) or a malformed ``X``.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    _check_rng(rng)
    if not 0 <= c < np.inf:
        raise ValueError(f"noise strength c must be finite and >= 0, got {c}")
    arrays, is_list = _as_list(X)
    return _ret([_from_s(_noise_s(_to_s(a), rng, c)) for a in arrays], is_list)


# ----------------------------------------------------------------------------- 4. pixel shifts


def random_shifts(
    rng: np.random.Generator, batch_size: int, n_slices: int, max_shift: int = 3
) -> NDArray[np.intp]:
    """Draw per-slice xy shifts, integers uniform in ``[-max_shift, max_shift]`` (0 included).

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded generator.
    batch_size : int
        Number of samples B.
    n_slices : int
        Slices per sample nz.
    max_shift : int
        Largest shift in pixels (thesis: 3).

    Returns
    -------
    numpy.ndarray
        (batch_size, n_slices, 2) int array of (shift in x, shift in y), pixels.

    Raises
    ------
    ValueError
        If ``max_shift`` is not a non-negative integer.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    _check_rng(rng)
    if not 0 <= max_shift < np.inf or int(max_shift) != max_shift:
        raise ValueError(f"max_shift must be a non-negative integer, got {max_shift}")
    return rng.integers(-max_shift, max_shift + 1, size=(batch_size, n_slices, 2)).astype(np.intp)


def _shift_s(s: np.ndarray, shifts: np.ndarray, mode: str) -> np.ndarray:
    """Shift each slice of slice-major ``s`` (B, nz, nx, ny) by ``shifts`` (B, nz, 2)."""
    B, nz, nx, ny = s.shape
    m = int(np.abs(shifts).max()) if shifts.size else 0
    if m == 0:
        return s.copy()
    # pad every slice by m, then cut the (nx, ny) window that starts at (m - sx, m - sy):
    # out[i, j] = padded[i + m - sx, j + m - sy] = s[i - sx, j - sy] inside the image
    padded = np.pad(s, ((0, 0), (0, 0), (m, m), (m, m)), mode=mode)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (nx, ny), axis=(2, 3))
    return windows[np.arange(B)[:, None], np.arange(nz), m - shifts[..., 0], m - shifts[..., 1]]


def shift_slices(
    X: Stacks,
    rng: np.random.Generator | None = None,
    max_shift: int = 3,
    mode: ShiftMode = "reflect",
    shifts: NDArray | None = None,
    return_shifts: bool = False,
) -> NDArray[np.float32] | list[NDArray] | tuple:
    """Shift every slice of every sample independently in x and y (thesis §3.4 item 4).

    Imitates imperfectly aligned experimental slices (xy drift between scan heights). The content
    moves by ``+shift``: ``out[b, i, j, k] = X[b, i - sx, j - sy, k]`` with ``(sx, sy) =
    shifts[b, k]``. Pixels that come from outside the image are filled according to ``mode``
    (as ``numpy.pad``): ``"reflect"`` (default) mirrors about the edge pixel without repeating it,
    as the authors' ASD-AFM code does; it keeps the image texture and noise and introduces no
    artificial zeros (zeros are reserved for cutouts). ``"symmetric"`` mirrors including the
    edge pixel, ``"edge"`` repeats it, ``"wrap"`` is periodic.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) array or a list of them; all arrays get the **same** shifts.
    rng : numpy.random.Generator, optional
        Seeded generator; needed unless ``shifts`` is given.
    max_shift : int
        Largest shift in pixels (thesis: 3); shifts are uniform integers in
        ``[-max_shift, max_shift]``, x and y independently, 0 included.
    mode : {"reflect", "symmetric", "edge", "wrap"}
        Edge handling, one of :data:`SHIFT_MODES`.
    shifts : array_like of int, optional
        (B, nz, 2) given shifts (pixels) instead of random ones.
    return_shifts : bool
        Also return the (B, nz, 2) shifts.

    Returns
    -------
    out : numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, nz) float32 (or a list).
    shifts : numpy.ndarray
        (B, nz, 2) int shifts in pixels; only if ``return_shifts``.

    Raises
    ------
    ValueError
        For an unknown ``mode``, neither ``rng`` nor ``shifts``, shifts of the wrong shape or
        type, shifts as large as the image in reflect mode, or a malformed ``X``.
    """
    if mode not in SHIFT_MODES:
        raise ValueError(f"mode must be one of {SHIFT_MODES}, got {mode!r}")
    arrays, is_list = _as_list(X)
    B, nx, ny, nz = arrays[0].shape
    if shifts is None:
        if rng is None:
            raise ValueError("give either rng or shifts")
        shifts = random_shifts(rng, B, nz, max_shift)
    else:
        shifts = np.asarray(shifts)
        if shifts.shape != (B, nz, 2) or not np.issubdtype(shifts.dtype, np.integer):
            raise ValueError(
                f"shifts must be an integer array of shape {(B, nz, 2)}, got "
                f"{shifts.dtype} {shifts.shape}"
            )
    if mode == "reflect" and shifts.size and np.abs(shifts).max() >= min(nx, ny):
        raise ValueError(f"shifts must be smaller than the image ({nx} x {ny} px) in reflect mode")
    if shifts.size and np.abs(shifts).max() > min(nx, ny):  # pads would grow without bound
        raise ValueError(f"shifts must be at most the image size ({nx} x {ny} px)")
    out = _ret([_from_s(_shift_s(_to_s(a), shifts, mode)) for a in arrays], is_list)
    return (out, shifts) if return_shifts else out


# ---------------------------------------------------------------------------------- 5. cutouts


def _cutout_boxes(
    rng: np.random.Generator,
    shape: tuple[int, int, int, int],
    n_holes: int,
    p: float,
    area_range: tuple[float, float],
    aspect_range: tuple[float, float],
) -> np.ndarray:
    """Random boxes, (B, nz, n_holes, 5) int: x0, y0, height in x, width in y, active (0/1)."""
    B, nx, ny, nz = shape
    size = (B, nz, n_holes)
    active = rng.random(size) < p
    area = rng.uniform(area_range[0], area_range[1], size) * nx * ny  # px²
    ratio = rng.uniform(aspect_range[0], aspect_range[1], size)  # extent in x / extent in y
    hx = np.clip(np.sqrt(area * ratio).astype(np.intp), 1, nx)
    wy = np.clip(np.sqrt(area / ratio).astype(np.intp), 1, ny)
    x0 = np.floor(rng.random(size) * (nx - hx + 1)).astype(np.intp)
    y0 = np.floor(rng.random(size) * (ny - wy + 1)).astype(np.intp)
    return np.stack([x0, y0, hx, wy, active.astype(np.intp)], axis=-1)


def _cutout_mask_s(boxes: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """Slice-major (B, nz, nx, ny) bool mask, True inside any active box of that slice."""
    x0, y0, hx, wy, act = np.moveaxis(boxes, -1, 0)  # each (B, nz, H)
    xs = np.arange(nx)
    ys = np.arange(ny)
    in_x = (xs >= x0[..., None]) & (xs < (x0 + hx)[..., None]) & (act[..., None] > 0)
    in_y = (ys >= y0[..., None]) & (ys < (y0 + wy)[..., None])
    # union of rectangles: (B, nz, nx, H) @ (B, nz, H, ny) counts the boxes covering each pixel
    count = np.matmul(np.swapaxes(in_x, -1, -2).astype(np.float32), in_y.astype(np.float32))
    return count > 0.5


def cutouts(
    X: Stacks,
    rng: np.random.Generator,
    n_holes: int = 5,
    p: float = 0.2,
    area_range: tuple[float, float] = (0.001, 0.01),
    aspect_range: tuple[float, float] = (0.1, 10.0),
    return_boxes: bool = False,
) -> NDArray[np.float32] | list[NDArray] | tuple:
    """Set random rectangles of each slice exactly to 0 (thesis §3.4 item 5, "cutout").

    The thesis says "Random rectangular regions in each slice are cut out by setting them to
    zero", so every slice of every sample gets its own rectangles; it gives no numbers. The
    defaults are those of the authors' public code (ASD-AFM ``add_cutout(X, n_holes=5)`` with its
    random-erasing settings): per slice ``n_holes`` attempts, each made with probability ``p``
    (on average ``n_holes · p`` = 1 rectangle; no rectangle in ``(1 - p)**n_holes`` ≈ 33 % of the
    slices), area a fraction ``U(area_range)`` of the slice (16-164 px on 128 × 128), aspect
    ratio (x extent / y extent) ``U(aspect_range)``, so mostly elongated, like the stripe
    artefacts of experimental images. Side lengths are ``floor(sqrt(area · ratio))`` and
    ``floor(sqrt(area / ratio))`` (at least 1, at most the image). The position is uniform over
    all places where the rectangle fits (the reference re-draws size and position until it fits,
    which favours slightly smaller rectangles). Rectangles may overlap.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) array or a list of them; each array gets independent rectangles.
    rng : numpy.random.Generator
        Seeded generator.
    n_holes : int
        Attempts per slice (maximum number of rectangles).
    p : float
        Probability of each attempt, in [0, 1].
    area_range : tuple of float
        (min, max) rectangle area as a fraction of the slice area (nx · ny).
    aspect_range : tuple of float
        (min, max) ratio of the rectangle's x extent to its y extent (> 0).
    return_boxes : bool
        Also return the rectangles.

    Returns
    -------
    out : numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, nz) float32 (or a list).
    boxes : numpy.ndarray or list of numpy.ndarray
        Only if ``return_boxes``: one (B, nz, n_holes, 5) int array per input array (a list for
        list input): ``x0, y0, extent in x, extent in y, active``; a rectangle covers
        ``[x0, x0 + extent_x) × [y0, y0 + extent_y)`` and is drawn only if ``active == 1``.

    Raises
    ------
    ValueError
        For settings out of range or a malformed ``X``.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    _check_rng(rng)
    _check_cutout_args(n_holes, p, area_range, aspect_range)
    arrays, is_list = _as_list(X)
    outs, all_boxes = [], []
    for a in arrays:
        out, boxes = _cutouts_s(_to_s(a), rng, n_holes, p, area_range, aspect_range)
        outs.append(_from_s(out))
        all_boxes.append(boxes)
    out = _ret(outs, is_list)
    return (out, _ret(all_boxes, is_list)) if return_boxes else out


def _cutouts_s(
    s: np.ndarray,
    rng: np.random.Generator,
    n_holes: int,
    p: float,
    area_range: tuple[float, float],
    aspect_range: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Cutouts on slice-major ``s`` (B, nz, nx, ny); returns (new array, boxes)."""
    B, nz, nx, ny = s.shape
    boxes = _cutout_boxes(rng, (B, nx, ny, nz), n_holes, p, area_range, aspect_range)
    if n_holes == 0:
        return s.copy(), boxes
    mask = _cutout_mask_s(boxes, nx, ny)
    return np.where(mask, np.float32(0.0), s), boxes


# ------------------------------------------------------------------------------ the pipeline


def augment(
    X: Stacks,
    rng: np.random.Generator,
    *,
    heights: bool = True,
    n_window: int = 15,
    n_keep: int = 10,
    normalize: bool = True,
    eps: float = 1e-8,
    noise_c: float = 0.1,
    max_shift: int = 3,
    shift_mode: ShiftMode = "reflect",
    share_shifts: bool = True,
    cutout: bool = True,
    cutout_holes: int = 5,
    cutout_p: float = 0.2,
    cutout_area: tuple[float, float] = (0.001, 0.01),
    cutout_aspect: tuple[float, float] = (0.1, 10.0),
) -> NDArray[np.float32] | list[NDArray]:
    """Training-time pre-processing of a batch, in the thesis's order (§3.4 items 1-5).

    height selection → per-slice normalisation → noise → pixel shifts → cutouts.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) Δf stacks (Hz), or a list of arrays of equal shape, e.g.
        ``[X_co, X_xe]`` for the ES model. For a list, the height indices are shared (the same
        heights for both probes: one experiment geometry), the shifts are shared when
        ``share_shifts`` (default; ``False`` draws independent drifts per array), and noise and
        cutouts are drawn independently for each array.
    rng : numpy.random.Generator
        Seeded generator; the random draws happen in a fixed order, so the same seed gives
        identical output.
    heights : bool
        Scan height randomisation on/off.
    n_window, n_keep : int
        Its window and kept slices (15 and 10 of 20).
    normalize : bool
        Per-slice normalisation on/off, see :func:`normalize_slices`.
    eps : float
        Its threshold on the standard deviation, input units.
    noise_c : float
        Noise strength c of Eq. 33 (0 switches noise off).
    max_shift : int
        Largest pixel shift, see :func:`shift_slices` (0 switches shifts off).
    shift_mode : {"reflect", "symmetric", "edge", "wrap"}
        Edge handling of the shifts.
    share_shifts : bool
        Give all arrays of a list the same shifts.
    cutout : bool
        Cutouts on/off.
    cutout_holes, cutout_p, cutout_area, cutout_aspect : int, float, tuple, tuple
        The cutout settings ``n_holes``, ``p``, ``area_range`` and ``aspect_range`` of
        :func:`cutouts`.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, n_keep) float32 (nz instead of n_keep if ``heights=False``), or a list of
        them, dimensionless if normalised.

    Raises
    ------
    ValueError
        For settings out of range or a malformed ``X`` (too few slices for the window included).
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.
    """
    _check_rng(rng)
    if not 0 <= noise_c < np.inf:
        raise ValueError(f"noise_c must be finite and >= 0, got {noise_c}")
    if shift_mode not in SHIFT_MODES:
        raise ValueError(f"shift_mode must be one of {SHIFT_MODES}, got {shift_mode!r}")
    if cutout:
        _check_cutout_args(cutout_holes, cutout_p, cutout_area, cutout_aspect)
    arrays, is_list = _as_list(X, min_slices=n_window if heights else 1)
    B, nx, ny, nz = arrays[0].shape

    if not 0 <= max_shift < np.inf or int(max_shift) != max_shift:
        raise ValueError(f"max_shift must be a non-negative integer, got {max_shift}")
    if max_shift > min(nx, ny) or (max_shift == min(nx, ny) and shift_mode == "reflect"):
        raise ValueError(f"max_shift={max_shift} must be smaller than the image ({nx} x {ny})")

    # all steps work slice-major (B, nz, nx, ny): each slice contiguous in memory
    if heights:
        idx = random_height_indices(rng, B, nz, n_window, n_keep)
        work = [_take_s(a, idx) for a in arrays]
        nz = n_keep
    else:
        work = [_to_s(a) for a in arrays]
    if normalize:
        work = [_normalize_s(s, eps) for s in work]
    if noise_c > 0:
        work = [_noise_s(s, rng, noise_c) for s in work]
    if max_shift > 0:
        if share_shifts:
            shifts = random_shifts(rng, B, nz, max_shift)
            work = [_shift_s(s, shifts, shift_mode) for s in work]
        else:
            work = [_shift_s(s, random_shifts(rng, B, nz, max_shift), shift_mode) for s in work]
    if cutout:
        work = [
            _cutouts_s(s, rng, cutout_holes, cutout_p, cutout_area, cutout_aspect)[0] for s in work
        ]
    return _ret([_from_s(s) for s in work], is_list)


def preprocess(
    X: Stacks,
    *,
    indices: NDArray | None = None,
    n_window: int = 15,
    n_keep: int = 10,
    normalize: bool = True,
    eps: float = 1e-8,
) -> NDArray[np.float32] | list[NDArray]:
    """Deterministic inference-time pre-processing: fixed slice choice, then normalisation.

    Slice choice: ``indices`` if given (per sample (B, k) or shared (k,)); otherwise a stack
    that already has exactly ``n_keep`` slices (e.g. a 10-slice experimental stack) is used as
    it is, and a longer one keeps :func:`default_height_indices` (the closest ``n_window``
    slices, ``n_keep`` of them spread evenly, closest slice included). No noise, shifts or
    cutouts.

    Parameters
    ----------
    X : Stacks
        (B, nx, ny, nz) Δf stacks (Hz) or a list of them (same slices for all).
    indices : array_like of int, optional
        Slice indices, (B, k) or (k,).
    n_window, n_keep : int
        The default slice choice, see above.
    normalize : bool
        Per-slice normalisation on/off.
    eps : float
        See :func:`normalize_slices`.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        (B, nx, ny, n_keep) float32 (or a list), dimensionless if normalised.

    Raises
    ------
    ValueError
        For a malformed ``X`` or bad indices.
    """
    arrays, is_list = _as_list(X)
    B, _, _, nz = arrays[0].shape
    if indices is None and nz != n_keep:
        indices = default_height_indices(nz, n_window, n_keep)
    if indices is None:
        work = [_to_s(a) for a in arrays]
    else:
        idx = _check_indices(indices, B, nz)
        work = [_take_s(a, idx) for a in arrays]
    if normalize:
        work = [_normalize_s(s, eps) for s in work]
    return _ret([_from_s(s) for s in work], is_list)
