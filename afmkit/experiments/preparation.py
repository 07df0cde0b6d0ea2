"""Turn a measured Δf stack into what the shipped models expect (issue 15).

:func:`prepare_experiment` takes an :class:`~afmkit.experiments.stack.ExperimentStack` (any pixel
size, window, number of slices, scan angle) and returns a :class:`PreparedExperiment`: the
model's input ``X`` (128 × 128 × 10, per-slice normalised, ready for ``model.predict(X[None])``)
and the same stack un-normalised in Hz with its slice heights, ready for
``matching.match(prepared.df, slice_heights=prepared.heights)``. The steps, in the order they
run, each a keyword argument that can turn it off:

1. ``fill_nan`` — NaN pixels (an aborted frame) are an error unless asked to be filled.
2. ``background`` — plane or line-by-line background removal (off by default).
3. ``drift`` — sub-pixel registration of the slices (:func:`estimate_drift`,
   :func:`apply_shifts`), every slice moved onto the closest one.
4. ``rotate`` — the scan frame turned by ``scan_angle`` into the instrument's frame.
5. ``resample`` — the model's pixel pitch and window (crop or pad, with a warning).
6. ``select_slices`` — the model's slice heights (picked or interpolated).
7. ``normalize`` — per-slice normalisation, :func:`afmkit.learn.augment.preprocess`.

Rotation and resampling are one interpolation (one cubic spline per slice), so the data are
interpolated at most twice (drift, then geometry).

The model's geometry is that of :class:`~afmkit.physics.simulator.SimulationParams`: the window
``scan_size`` (16 × 16 Å) spans the *centres* of ``pixels`` (128 × 128) pixels, so the pitch is
16 / 127 = 0.126 Å (not 16 / 128 = 0.125 Å). The slice heights are those of the inference
pre-processing: :func:`afmkit.learn.augment.default_height_indices` of a ``dz`` (0.1 Å) ladder,
1.4, 1.2, 1.1, 0.9, 0.8, 0.6, 0.5, 0.3, 0.2, 0 Å above the closest slice.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from afmkit.experiments.stack import ExperimentStack
from afmkit.learn.augment import default_height_indices, preprocess
from afmkit.physics.simulator import SimulationParams

__all__ = [
    "BACKGROUNDS",
    "PAD_MODES",
    "PreparationWarning",
    "PreparedExperiment",
    "apply_shifts",
    "estimate_drift",
    "model_heights",
    "register_images",
    "prepare_experiment",
    "remove_background",
]

#: Background removals of :func:`remove_background` (None: off).
BACKGROUNDS: tuple[str, ...] = ("plane", "line")
#: How :func:`prepare_experiment` fills model pixels outside the measured window.
PAD_MODES: tuple[str, ...] = ("nearest", "reflect", "mirror", "median")

#: Slices the model's training window spans (the closest 15 of 20, thesis §3.4).
_MODEL_WINDOW = 15
#: Relative difference of two lengths (pixel size, window, slice spacing) still called equal.
_REL_TOL = 0.02
#: A shift larger than this share of the image is reported as a doubtful registration.
_DOUBTFUL_SHIFT = 0.1


class PreparationWarning(UserWarning):
    """Something :func:`prepare_experiment` did to the data that a user should know about."""


# ---------------------------------------------------------------------------------------------
# drift: phase correlation
# ---------------------------------------------------------------------------------------------
def _window(shape: tuple[int, int], kind: str | None) -> np.ndarray:
    """(nx, ny) apodisation window: ``"hann"``, ``"tukey"`` (flat middle half) or None (ones)."""
    if kind is None:
        return np.ones(shape)
    if kind not in ("hann", "tukey"):
        raise ValueError(f"window must be 'hann', 'tukey' or None, got {kind!r}")
    axes = []
    for n in shape:
        t = np.linspace(0.0, 1.0, n)
        if kind == "hann":
            w = 0.5 - 0.5 * np.cos(2 * np.pi * t)
        else:  # Tukey, alpha = 0.5: cosine tapers over the outer quarter on each side
            edge = np.minimum(t, 1.0 - t) / 0.25
            w = np.where(edge < 1.0, 0.5 - 0.5 * np.cos(np.pi * np.clip(edge, 0, 1)), 1.0)
        axes.append(w)
    return axes[0][:, None] * axes[1][None, :]


def _band_weights(
    shape: tuple[int, int], highpass: float | None, lowpass: float | None, lines: bool
) -> np.ndarray:
    """(nx, ny) weights of the cross-power spectrum: Gaussian high-pass × Gaussian low-pass.

    ``highpass`` σ (px) of the blur whose content is removed (1 − its transfer function);
    ``lowpass`` σ (px) of the blur applied; ``lines`` drops k_x = 0, where offsets of whole
    scan lines (rows along x) live. Frequencies in cycles per pixel, FFT order.
    """
    f2 = np.fft.fftfreq(shape[0])[:, None] ** 2 + np.fft.fftfreq(shape[1])[None, :] ** 2
    w = np.ones(shape)
    if highpass:
        w *= 1.0 - np.exp(-2.0 * np.pi**2 * highpass**2 * f2)
    if lowpass:
        w *= np.exp(-2.0 * np.pi**2 * lowpass**2 * f2)
    if lines:
        w[0, :] = 0.0
    return w


def _flatten(image: np.ndarray, plane: bool) -> np.ndarray:
    """``image`` less its mean, or less its least-squares plane."""
    if not plane:
        return image - image.mean()
    return remove_background(image[:, :, None], "plane")[:, :, 0]


def _check_positive(name: str, value: float | None) -> None:
    if value is not None and not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be None or a finite number ≥ 0 (px), got {value!r}")


def register_images(
    reference: NDArray,
    moving: NDArray,
    *,
    window: Literal["hann", "tukey"] | None = "tukey",
    highpass: float | None = 8.0,
    lowpass: float | None = 2.0,
    upsample: int = 20,
    max_shift: float | None = None,
    whiten: float = 0.0,
    iterations: int = 3,
    ignore_lines: bool = True,
    detrend: bool = True,
) -> tuple[NDArray[np.float64], float]:
    """Sub-pixel shift of ``moving`` against ``reference`` from their cross-power spectrum.

    Each image's mean is removed and an apodisation ``window`` applied (so the periodic
    wrap-around of the FFT does not see the image edges); the cross-power spectrum
    ``conj(F_ref) · F_mov`` is divided by its magnitude to the power ``whiten`` (1: classical
    phase correlation, 0: plain cross-correlation) and weighted by a Gaussian band-pass: the
    high-pass suppresses the broad contrast that changes with the tip height (the attractive
    halo of far slices against the sharp repulsive bonds of close ones), the low-pass the pixel
    noise. Its inverse transform peaks at the shift; the peak is found on the pixel grid and
    refined by evaluating the inverse DFT on a grid ``upsample`` times finer within ±1 px of it
    (a matrix-product DFT, cheap because only that small region is computed). The window stays
    put while the content moves, which pulls the estimate towards 0 by a share of the shift;
    ``iterations`` > 1 moves ``moving`` back by the estimate (cubic spline) and measures the
    remainder, which removes that pull.

    Measured on simulated 128 × 128 stacks (benzene, camphor) with white noise of 6–8 % of each
    slice's std: whitening hurts (``whiten=1`` lost the peak between noisy far slices, errors of
    several px; ``whiten=0`` stayed within 0.25 px), hence the default 0.

    Parameters
    ----------
    reference, moving : numpy.ndarray
        (nx, ny) images of the same shape (any units), finite.
    window : {"tukey", "hann"} or None
        Apodisation; ``"tukey"`` tapers only the outer quarter on each side, so it pulls the
        shift less than ``"hann"``.
    highpass : float or None
        σ of the Gaussian blur whose content is left out, px (None or 0: keep all).
    lowpass : float or None
        σ of the Gaussian blur applied, px (None or 0: no smoothing).
    upsample : int
        Refinement factor: the shift is resolved to 1 / ``upsample`` px (1: whole pixels).
    max_shift : float or None
        Largest shift searched, px (None: anywhere within half the image).
    whiten : float
        Exponent of the magnitude normalisation, 0 … 1, see above.
    iterations : int
        Registrations in all (the first plus refinements of the remainder).
    ignore_lines : bool
        Leave out the frequencies k_x = 0, where offsets of whole scan lines (rows along x, a
        raster scan's line-to-line jumps) live.
    detrend : bool
        Subtract each image's least-squares plane (else only its mean): a background tilt
        stays put while the content drifts and pulls the estimate towards 0.

    Returns
    -------
    shift : numpy.ndarray
        (2,) float shift (x, y) in px: ``moving`` ≈ ``scipy.ndimage.shift(reference, shift)``.
    peak : float
        Height of the correlation peak, 0 … 1 (1: the band-passed images are identical up to
        the shift; values below ≈ 0.1 mean the registration is doubtful).

    Raises
    ------
    ValueError
        For images that are not 2-D, of different shapes, not finite, or bad options.
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(moving, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape or min(a.shape) < 2:
        raise ValueError(f"need two 2-D images of the same shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("images for phase correlation must be finite (fill NaN first)")
    if int(upsample) != upsample or upsample < 1:
        raise ValueError(f"upsample must be an integer ≥ 1, got {upsample!r}")
    _check_positive("highpass", highpass)
    _check_positive("lowpass", lowpass)
    _check_positive("max_shift", max_shift)
    if int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be an integer ≥ 1, got {iterations!r}")
    if not 0 <= whiten <= 1:
        raise ValueError(f"whiten must lie in [0, 1], got {whiten!r}")
    win = _window(a.shape, window)
    fa = np.conj(np.fft.fft2(_flatten(a, detrend) * win))
    weights = _band_weights(a.shape, highpass, lowpass, ignore_lines)
    shift, peak = _correlate(fa, b, win, weights, whiten, int(upsample), max_shift, detrend)
    for _ in range(int(iterations) - 1):
        # the window is fixed while the content moves, which pulls the estimate towards 0 by a
        # share of the shift; measuring the remainder after moving ``b`` back removes that
        back = ndimage.shift(b, -shift, order=3, mode="nearest")
        rest, peak = _correlate(fa, back, win, weights, whiten, int(upsample), 1.0, detrend)
        shift = shift + rest
    return shift, peak


def _correlate(
    fa: np.ndarray, b: np.ndarray, win: np.ndarray, weights: np.ndarray, whiten: float,
    upsample: int, max_shift: float | None, detrend: bool,
) -> tuple[np.ndarray, float]:
    """One registration of ``b`` against the conjugate spectrum ``fa``: (shift px, peak)."""
    cross = fa * np.fft.fft2(_flatten(b, detrend) * win)
    if whiten:
        cross /= np.maximum(np.abs(cross), 1e-300) ** whiten
    spectrum = cross * weights
    spectrum /= max(float(np.abs(spectrum).sum()), 1e-300)
    coarse = np.fft.ifft2(spectrum).real * b.size
    nx, ny = b.shape
    lag_x = np.fft.fftfreq(nx) * nx
    lag_y = np.fft.fftfreq(ny) * ny
    if max_shift is not None:
        outside = lag_x[:, None] ** 2 + lag_y[None, :] ** 2 > (max_shift + 1.0) ** 2
        coarse = np.where(outside, -np.inf, coarse)
    i, j = np.unravel_index(int(np.argmax(coarse)), coarse.shape)
    start = np.array([lag_x[i], lag_y[j]])
    if upsample == 1:
        return start, float(coarse[i, j])
    return _refine_peak(spectrum, start, upsample)


def _refine_peak(spectrum: np.ndarray, start: np.ndarray, upsample: int):
    """Maximum of the inverse DFT of ``spectrum`` within ±1 px of ``start``, on a fine grid.

    ``c(x, y) = Σ_k S(k) exp(2πi (k_x x + k_y y))`` with k in cycles per px, evaluated on
    (2·upsample + 1)² points by two matrix products.
    """
    offsets = np.arange(-upsample, upsample + 1) / upsample
    ex = np.exp(2j * np.pi * (start[0] + offsets)[:, None] * np.fft.fftfreq(spectrum.shape[0]))
    ey = np.exp(2j * np.pi * (start[1] + offsets)[:, None] * np.fft.fftfreq(spectrum.shape[1]))
    local = (ex @ spectrum @ ey.T).real
    i, j = np.unravel_index(int(np.argmax(local)), local.shape)
    return start + np.array([offsets[i], offsets[j]]), float(local[i, j])


def _check_stack_array(df: NDArray, name: str = "df") -> np.ndarray:
    a = np.asarray(df, dtype=np.float64)
    if a.ndim != 3 or min(a.shape) < 1:
        raise ValueError(f"{name} must be (nx, ny, n_slices), got shape {a.shape}")
    return a


def estimate_drift(
    df: NDArray,
    *,
    reference: Literal["neighbour", "closest"] = "neighbour",
    window: Literal["hann", "tukey"] | None = "tukey",
    highpass: float | None = 8.0,
    lowpass: float | None = 2.0,
    upsample: int = 20,
    max_shift: float | None = None,
    whiten: float = 0.0,
    iterations: int = 3,
    ignore_lines: bool = True,
    detrend: bool = True,
    return_peaks: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lateral drift of every slice of a Δf stack against its closest slice, px.

    ``reference="neighbour"`` (default) registers each slice to its neighbour closer to the
    sample (:func:`register_images`) and adds the steps up from the closest slice;
    ``"closest"`` registers every slice directly to the closest one. Neighbours are the robust
    choice: two slices 0.1 Å apart look nearly alike, whereas the farthest slice (a broad
    attractive blob) and the closest (sharp repulsive bonds, contrast partly inverted) differ so
    much that their correlation peak lands elsewhere. The price is that the steps' errors add
    up towards the far end (as a random walk). Measured on simulated 128 × 128 stacks of
    benzene and camphor with a 0.6 px-per-slice random-walk drift (error against the known
    drift, 4 trials each): with white noise, line offsets or a background plane of the
    pseudo-experiments' strengths (:class:`afmkit.experiments.pseudo.Artefacts`) every slice
    within 0.3 px (20 slices, drift up to 5 px); with all their artefacts together (the
    correlated noise, at the scale of the atoms, dominates) the closest three slices within
    0.15 px and the far ones within 0.5–0.9 px; registering to the closest slice instead
    missed by 20–60 px even without noise.

    The contrast change itself moves a non-planar molecule's features with height: on a clean,
    drift-free camphor stack the far slices come out 0.4–0.9 px (≈ 0.1 Å) "drifted" (0 for
    planar benzene). Drift correction removes that too; switch it off for drift-free data.

    Parameters
    ----------
    df : numpy.ndarray
        (nx, ny, n_slices) Δf stack, Hz, slice 0 farthest from the sample; finite.
    reference : {"neighbour", "closest"}
        What each slice is registered to, see above.
    window, highpass, lowpass, upsample, max_shift, whiten, iterations, ignore_lines, detrend
        Options of :func:`register_images` (``highpass``, ``lowpass`` and ``max_shift`` px).
    return_peaks : bool
        Also return the correlation peak height of each registration.

    Returns
    -------
    shifts : numpy.ndarray
        (n_slices, 2) float (x, y) drift of each slice, px, the closest slice (0, 0): slice k ≈
        ``scipy.ndimage.shift(closest, shifts[k])``; ``apply_shifts(df, -shifts)`` aligns them.
    peaks : numpy.ndarray
        (n_slices,) peak heights (0 … 1, the closest slice 1); only with ``return_peaks``.

    Raises
    ------
    ValueError
        For a stack that is not 3-D or not finite, or bad options.
    """
    a = _check_stack_array(df)
    if reference not in ("neighbour", "closest"):
        raise ValueError(f"reference must be 'neighbour' or 'closest', got {reference!r}")
    if not np.isfinite(a).all():
        raise ValueError("df contains NaN/Inf; fill or crop them before estimating drift")
    options = dict(window=window, highpass=highpass, lowpass=lowpass, upsample=upsample,
                   max_shift=max_shift, whiten=whiten, iterations=iterations,
                   ignore_lines=ignore_lines, detrend=detrend)  # fmt: skip
    n = a.shape[2]
    steps = np.zeros((n, 2))
    peaks = np.ones(n)
    for k in range(n - 2, -1, -1):
        ref = a[:, :, k + 1] if reference == "neighbour" else a[:, :, -1]
        steps[k], peaks[k] = register_images(ref, a[:, :, k], **options)
    if reference == "neighbour":
        shifts = np.cumsum(steps[::-1], axis=0)[::-1]
    else:
        shifts = steps
    return (shifts, peaks) if return_peaks else shifts


def apply_shifts(
    df: NDArray,
    shifts: NDArray,
    *,
    method: Literal["spline", "fourier"] = "spline",
    mode: str = "nearest",
) -> NDArray[np.float64]:
    """Move every slice of a stack by its own sub-pixel shift.

    Parameters
    ----------
    df : numpy.ndarray
        (nx, ny, n_slices) Δf stack, Hz.
    shifts : numpy.ndarray
        (n_slices, 2) (x, y) shift of each slice, px; the content of slice k moves by
        ``shifts[k]`` (``scipy.ndimage.shift``'s convention). Undo a drift measured by
        :func:`estimate_drift` with ``apply_shifts(df, -shifts)``.
    method : {"spline", "fourier"}
        ``"spline"``: cubic-spline interpolation, pixels moved in from outside the image take
        the ``mode`` extension; ``"fourier"``: exact band-limited shift by the Fourier shift
        theorem, but the image is treated as periodic, so content that leaves one edge enters
        at the opposite one.
    mode : str
        ``scipy.ndimage`` edge mode of the spline shift (default ``"nearest"``: edge values).

    Returns
    -------
    numpy.ndarray
        (nx, ny, n_slices) float64 shifted stack, Hz.

    Raises
    ------
    ValueError
        For shapes that do not match, non-finite shifts or an unknown ``method``.
    """
    a = _check_stack_array(df)
    s = np.asarray(shifts, dtype=np.float64)
    if s.shape != (a.shape[2], 2) or not np.isfinite(s).all():
        raise ValueError(f"shifts must be ({a.shape[2]}, 2) finite px values, got {s.shape}")
    if method not in ("spline", "fourier"):
        raise ValueError(f"method must be 'spline' or 'fourier', got {method!r}")
    out = np.empty_like(a)
    for k in range(a.shape[2]):
        if not s[k].any():
            out[:, :, k] = a[:, :, k]
        elif method == "spline":
            out[:, :, k] = ndimage.shift(a[:, :, k], s[k], order=3, mode=mode)
        else:
            spectrum = ndimage.fourier_shift(np.fft.fft2(a[:, :, k]), s[k])
            out[:, :, k] = np.fft.ifft2(spectrum).real
    return out


# ---------------------------------------------------------------------------------------------
# background
# ---------------------------------------------------------------------------------------------
def remove_background(df: NDArray, kind: Literal["plane", "line"] = "plane") -> NDArray:
    """Subtract a background from every slice.

    Parameters
    ----------
    df : numpy.ndarray
        (nx, ny, n_slices) Δf stack, Hz; x (axis 0) is the fast scan axis.
    kind : {"plane", "line"}
        ``"plane"``: a least-squares plane a + b·x + c·y per slice; ``"line"``: the median of
        every scan line (a row along x at fixed y) per slice, which removes the line-to-line
        offsets of a raster scan as well as any tilt along y.

    Returns
    -------
    numpy.ndarray
        (nx, ny, n_slices) float64, Hz.

    Raises
    ------
    ValueError
        For an unknown ``kind`` or a stack that is not 3-D or not finite.
    """
    a = _check_stack_array(df)
    if kind not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS} or None, got {kind!r}")
    if not np.isfinite(a).all():
        raise ValueError("df contains NaN/Inf; fill them before removing a background")
    nx, ny, nz = a.shape
    if kind == "line":
        return a - np.median(a, axis=0, keepdims=True)
    x, y = np.meshgrid(np.linspace(-1, 1, nx), np.linspace(-1, 1, ny), indexing="ij")
    design = np.stack([np.ones(nx * ny), x.ravel(), y.ravel()], axis=1)
    flat = a.reshape(nx * ny, nz)
    coef, *_ = np.linalg.lstsq(design, flat, rcond=None)
    return (flat - design @ coef).reshape(a.shape)


# ---------------------------------------------------------------------------------------------
# heights
# ---------------------------------------------------------------------------------------------
def model_heights(n_keep: int = 10, dz: float = 0.1, n_window: int = _MODEL_WINDOW) -> NDArray:
    """Slice heights the models see at inference, Å above the closest slice (farthest first).

    ``n_keep`` slices spread over the closest ``n_window`` of a ``dz`` ladder, as
    :func:`afmkit.learn.augment.default_height_indices` chooses them: 10 of 15 at 0.1 Å give
    1.4, 1.2, 1.1, 0.9, 0.8, 0.6, 0.5, 0.3, 0.2, 0 Å.

    Parameters
    ----------
    n_keep : int
        Slices the model takes.
    dz : float
        Spacing of the ladder, Å.
    n_window : int
        Slices of the ladder the choice spans.

    Returns
    -------
    numpy.ndarray
        (n_keep,) heights, Å, decreasing to 0.

    Raises
    ------
    ValueError
        Unless 1 ≤ ``n_keep`` ≤ ``n_window``.
    """
    idx = default_height_indices(n_window, n_window, n_keep)
    return np.round((idx[-1] - idx) * float(dz), 9)


def _relative_heights(heights: np.ndarray) -> np.ndarray:
    """Heights above the closest (last) slice; ValueError unless strictly decreasing."""
    h = np.asarray(heights, dtype=np.float64) - float(heights[-1])
    if h.size > 1 and not np.all(np.diff(h) < 0):
        raise ValueError(
            "stack heights must decrease strictly from slice 0 (farthest) to the last slice "
            f"(closest), got {np.round(heights, 3).tolist()} Å"
        )
    return h


def _target_heights(span: float, n_keep: int, dz: float, tol: float) -> tuple[np.ndarray, str]:
    """The heights to take from a stack spanning ``span`` Å, and how they were chosen."""
    full = model_heights(n_keep, dz)
    if span >= full[0] - tol:
        return full, "model"
    n_window = min(_MODEL_WINDOW, int(np.floor(span / dz + tol / dz)) + 1)
    if n_window >= n_keep:
        return model_heights(n_keep, dz, n_window), "shorter window"
    return np.linspace(span, 0.0, n_keep), "spread over the measured span"


def _interpolate_slices(
    df: np.ndarray, heights: np.ndarray, targets: np.ndarray, tol: float
) -> tuple[np.ndarray, list[dict]]:
    """Slices of ``df`` at ``targets`` (Å): the measured slice within ``tol``, else linear."""
    order = heights[::-1]  # increasing, for searchsorted
    out = np.empty(df.shape[:2] + (len(targets),))
    chosen = []
    for m, t in enumerate(targets):
        near = int(np.argmin(np.abs(heights - t)))
        if abs(heights[near] - t) <= tol:
            out[:, :, m] = df[:, :, near]
            chosen.append({"height": float(t), "slice": near})
            continue
        hi = int(np.clip(np.searchsorted(order, t), 1, len(order) - 1))
        k_above, k_below = len(order) - 1 - hi, len(order) - hi  # indices into df
        w = (t - heights[k_below]) / (heights[k_above] - heights[k_below])
        out[:, :, m] = (1 - w) * df[:, :, k_below] + w * df[:, :, k_above]
        chosen.append({"height": float(t), "between": [k_above, k_below], "weight": float(w)})
    return out, chosen


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------
@dataclass
class PreparedExperiment:
    """A measured stack made ready for the models and for matching.

    Attributes
    ----------
    X : numpy.ndarray
        (nx, ny, n_keep) float32 model input (128 × 128 × 10 by default), each slice normalised
        to mean 0, std 1 (un-normalised if ``normalize=False``); ``model.predict(X[None])``.
    df : numpy.ndarray
        (nx, ny, n_keep) float32 Δf, Hz: the same stack before normalisation, what
        :func:`afmkit.experiments.matching.match` takes (with ``slice_heights=heights``).
    heights : numpy.ndarray
        (n_keep,) heights of the slices above the closest one, Å, slice 0 farthest.
    heights_assumed : bool
        True when the stack did not say its heights and ``heights`` is the model's ladder,
        assumed.
    pixel_size : tuple of float
        (dx, dy) pitch of ``X`` and ``df``, Å.
    shifts_px : numpy.ndarray or None
        (n_slices, 2) drift of every *measured* slice against the closest one, (x, y) px of the
        measured stack in the scan frame; None when drift correction was off.
    shifts_angstrom : numpy.ndarray or None
        The same in Å.
    steps : list of dict
        Every step in the order it ran: ``name``, ``applied`` (bool), ``settings`` and what it
        found or did (JSON-serialisable).
    warnings : list of str
        The :class:`PreparationWarning` messages raised.
    source : str
        :meth:`ExperimentStack.summary` of the measured stack.
    """

    X: np.ndarray
    df: np.ndarray
    heights: np.ndarray
    heights_assumed: bool
    pixel_size: tuple[float, float]
    shifts_px: np.ndarray | None
    shifts_angstrom: np.ndarray | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    def step(self, name: str) -> dict[str, Any]:
        """The record of one step.

        Parameters
        ----------
        name : str
            E.g. ``"drift"``.

        Returns
        -------
        dict
            Its ``name``, ``applied``, ``settings`` and findings.

        Raises
        ------
        KeyError
            For a step that does not exist.
        """
        for s in self.steps:
            if s["name"] == name:
                return s
        raise KeyError(f"no step {name!r}; steps: {[s['name'] for s in self.steps]}")

    def report(self) -> dict[str, Any]:
        """Everything done to the stack, JSON-serialisable (``json.dumps(prepared.report())``).

        Returns
        -------
        dict
            ``source``, ``shape`` of ``X``, ``pixel_size`` Å, ``heights`` Å,
            ``heights_assumed``, ``drift_px`` and ``drift_angstrom`` (lists or None), ``steps``
            and ``warnings``.
        """

        def listed(a):
            return None if a is None else np.round(np.asarray(a, dtype=float), 4).tolist()

        out = {
            "source": self.source,
            "shape": list(self.X.shape),
            "pixel_size": [float(v) for v in self.pixel_size],
            "heights": listed(self.heights),
            "heights_assumed": bool(self.heights_assumed),
            "drift_px": listed(self.shifts_px),
            "drift_angstrom": listed(self.shifts_angstrom),
            "steps": self.steps,
            "warnings": list(self.warnings),
        }
        return json.loads(json.dumps(out, default=_jsonable))

    def summary(self) -> str:
        """The report for people, one line per step and warning.

        Returns
        -------
        str
            Multi-line text.
        """
        nx, ny, nz = self.X.shape
        lines = [f"prepared {nx} × {ny} px × {nz} slices at {self.pixel_size[0]:.4f} Å/px "
                 f"from {self.source}"]  # fmt: skip
        heights = ", ".join(f"{h:.2f}" for h in self.heights)
        lines.append(f"  heights {heights} Å" + (" (assumed)" if self.heights_assumed else ""))
        for s in self.steps:
            settings = ", ".join(f"{k}={v}" for k, v in s["settings"].items())
            state = "on " if s["applied"] else "off"
            lines.append(f"  [{state}] {s['name']}" + (f" ({settings})" if settings else ""))
        if self.shifts_px is not None:
            worst = int(np.argmax(np.hypot(*self.shifts_px.T)))
            lines.append(
                f"  largest drift: slice {worst}, {np.round(self.shifts_px[worst], 2).tolist()} px"
                f" = {np.round(self.shifts_angstrom[worst], 3).tolist()} Å"
            )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


# ---------------------------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------------------------
class _Log:
    """Collects step records and warnings while :func:`prepare_experiment` runs."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        warnings.warn(message, PreparationWarning, stacklevel=3)

    def step(self, name: str, applied: bool, settings: dict, **found: Any) -> None:
        self.steps.append({"name": name, "applied": bool(applied), "settings": settings, **found})


def _fill_nan(a: np.ndarray, fill: bool, log: _Log) -> np.ndarray:
    if np.isinf(a).any():
        raise ValueError(f"df contains {int(np.isinf(a).sum())} infinite values")
    bad = np.isnan(a)
    n_bad = int(bad.sum())
    if n_bad == 0:
        log.step("fill_nan", False, {"fill_nan": fill}, n_filled=0)
        return a
    slices = np.flatnonzero(bad.any(axis=(0, 1))).tolist()
    rows = int(np.all(bad, axis=0).sum())
    what = (f"{n_bad} NaN pixels ({bad.mean():.1%}) in slices {slices}, {rows} of them whole "
            "scan lines (an aborted frame?)")  # fmt: skip
    if not fill:
        raise ValueError(f"the stack has {what}; crop them, or pass fill_nan=True to fill each "
                         "from the nearest measured pixel of its slice")  # fmt: skip
    empty = np.flatnonzero(bad.all(axis=(0, 1))).tolist()
    if empty:
        raise ValueError(f"slices {empty} hold no measured pixel at all; drop them first")
    out = a.copy()
    for k in slices:
        _, (ix, iy) = ndimage.distance_transform_edt(bad[:, :, k], return_indices=True)
        out[:, :, k] = a[ix, iy, k]
    log.warn(f"filled {what} from the nearest measured pixel of each slice")
    log.step("fill_nan", True, {"fill_nan": fill}, n_filled=n_bad, slices=slices)
    return out


def _geometry(
    stack: ExperimentStack,
    shape_in: tuple[int, int],
    pixels: tuple[int, int],
    pitch: tuple[float, float],
    angle: float,
    center: tuple[float, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Affine map (matrix, offset) from output pixel indices to input pixel indices.

    Output pixel (i, j) sits at ((i − c_i)·pitch_x, (j − c_j)·pitch_y) Å from the output window's
    centre, in the output frame (turned by ``angle`` degrees against the scan frame); that point
    is mapped into the scan frame and divided by the input pixel size.
    """
    a = np.radians(angle)
    turn = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # R(−angle)
    offset_instr = np.zeros(2)
    if center is not None:
        offset_instr = np.asarray(center, dtype=float) - np.asarray(stack.scan_center)
    s = np.radians(stack.scan_angle)
    to_scan = np.array([[np.cos(s), np.sin(s)], [-np.sin(s), np.cos(s)]])
    offset_scan = to_scan @ offset_instr  # output centre in the scan frame, Å
    inv_size = np.diag(1.0 / np.asarray(stack.pixel_size))
    matrix = inv_size @ turn @ np.diag(pitch)
    c_out = (np.asarray(pixels, dtype=float) - 1.0) / 2.0
    c_in = (np.asarray(shape_in, dtype=float) - 1.0) / 2.0
    offset = inv_size @ offset_scan + c_in - matrix @ c_out
    return matrix, offset


def _coverage(
    matrix: np.ndarray, offset: np.ndarray, shape_in: tuple[int, int], pixels: tuple[int, int]
) -> tuple[float, float]:
    """(share of output pixels outside the measured window, share of input pixels not used).

    A window is the area of its pixels: a pixel centre less than half a pixel beyond the other
    window's outermost centres still counts as inside.
    """
    ii, jj = np.meshgrid(np.arange(pixels[0]), np.arange(pixels[1]), indexing="ij")
    src = matrix @ np.stack([ii.ravel(), jj.ravel()]) + offset[:, None]
    lim = np.asarray(shape_in, dtype=float)[:, None] - 0.5
    padded = float(np.mean(np.any((src < -0.5) | (src > lim), axis=0)))
    pi, pj = np.meshgrid(np.arange(shape_in[0]), np.arange(shape_in[1]), indexing="ij")
    dst = np.linalg.inv(matrix) @ (np.stack([pi.ravel(), pj.ravel()]) - offset[:, None])
    lim_out = np.asarray(pixels, dtype=float)[:, None] - 0.5
    cropped = float(np.mean(np.any((dst < -0.5) | (dst > lim_out), axis=0)))
    return padded, cropped


def _transform(
    a: np.ndarray, matrix: np.ndarray, offset: np.ndarray, pixels: tuple[int, int],
    pad_mode: str, antialias: bool,
) -> tuple[np.ndarray, list[float]]:
    """Every slice of ``a`` resampled through the affine map (cubic spline); anti-alias σ, px."""
    # when the output pitch is coarser than the input's, blur first (σ = (r − 1) / 2 input px)
    ratio = np.linalg.norm(matrix, axis=1)  # input px per output px along input x, y
    sigma = [max(0.0, (r - 1.0) / 2.0) if antialias else 0.0 for r in ratio]
    mode = "constant" if pad_mode == "median" else pad_mode
    out = np.empty(tuple(pixels) + (a.shape[2],))
    for k in range(a.shape[2]):
        image = a[:, :, k]
        if any(sigma):
            image = ndimage.gaussian_filter(image, sigma, mode="nearest")
        res = ndimage.affine_transform(image, matrix, offset=offset, output_shape=tuple(pixels),
                                       order=3, mode=mode, cval=np.nan)  # fmt: skip
        if pad_mode == "median":
            res = np.where(np.isnan(res), np.median(a[:, :, k]), res)
        out[:, :, k] = res
    return out, sigma


def prepare_experiment(
    stack: ExperimentStack,
    params: SimulationParams | None = None,
    *,
    fill_nan: bool = False,
    background: Literal["plane", "line"] | None = None,
    drift: bool = True,
    drift_reference: Literal["neighbour", "closest"] = "neighbour",
    drift_window: Literal["hann", "tukey"] | None = "tukey",
    drift_highpass: float | None = 8.0,
    drift_lowpass: float | None = 2.0,
    drift_upsample: int = 20,
    drift_max_shift: float | None = None,
    shift_method: Literal["spline", "fourier"] = "spline",
    rotate: bool = True,
    resample: bool = True,
    center: tuple[float, float] | None = None,
    pad_mode: str = "nearest",
    antialias: bool = True,
    select_slices: bool = True,
    n_keep: int = 10,
    height_tolerance: float = 0.01,
    normalize: bool = True,
) -> PreparedExperiment:
    """Prepare a measured Δf stack for the shipped models and for matching.

    Runs the steps below in this order; each is a keyword argument, each can be switched off,
    and each is recorded in :attr:`PreparedExperiment.steps`. Whatever changes the data in a way
    a user should know about (filling, cropping, padding, assumed or interpolated heights) is
    raised as a :class:`PreparationWarning` and kept in :attr:`PreparedExperiment.warnings`.

    1. NaN pixels (``fill_nan``): a clear error naming them unless ``fill_nan=True``, which fills
       each from the nearest measured pixel of its slice, with a warning.
    2. Background (``background``, default off): ``"plane"`` or ``"line"``
       (:func:`remove_background`). Off by default because a constant offset of Δf is irrelevant
       after the per-slice normalisation, and a fitted plane also takes away part of the
       molecule's genuine contrast (its attractive halo tilts the fit unless it is centred).
       Switch it on for a visibly tilted background (a sloped substrate, piezo creep): a tilt
       survives normalisation and the model has never seen one. ``"line"`` also removes
       scan-line offsets.
    3. Drift (``drift``): :func:`estimate_drift` registers the slices (to the neighbour closer
       to the sample, accumulated, by default; see there why) and :func:`apply_shifts` moves
       every slice onto the closest one (``shift_method``).
    4. Rotation (``rotate``): the image is turned by ``stack.scan_angle`` into the instrument's
       frame (for 90° exactly ``np.rot90``).
    5. Resampling (``resample``): the model's pitch ``scan_size / (pixels − 1)`` (0.126 Å) and
       window (128 × 128 px) centred on ``center`` (default: the scan centre), one cubic spline
       per slice together with the rotation (a Gaussian anti-alias blur first when the measured
       pitch is finer). A measured window larger than the model's is cropped, a smaller one
       padded, each with a warning. ``pad_mode`` fills the padding: ``"nearest"`` (default)
       repeats the edge pixels, which continues the background without inventing structure;
       ``"reflect"``/``"mirror"`` (``scipy.ndimage`` meanings) mirror the image, which copies
       parts of the molecule into the margin where the model would read them as atoms;
       ``"median"`` fills the slice's median, a flat background with a step at the edge.
    6. Slice choice (``select_slices``): with known heights, the slices at the model's heights
       (:func:`model_heights`: 1.4 … 0 Å above the closest slice), the measured slice where one
       is within ``height_tolerance`` Å and linear interpolation between the two neighbours
       otherwise (a warning when the measured spacing differs from the model's ``dz``). A stack
       spanning less height gets the model's choice on the shorter ladder that fits (10
       consecutive 0.1 Å slices are kept as they are), with a warning. With unknown heights,
       the closest ``n_keep`` slices, the model's heights assumed, with a warning.
    7. Normalisation (``normalize``): :func:`afmkit.learn.augment.preprocess`.

    Parameters
    ----------
    stack : ExperimentStack
        The measured stack (Δf in Hz, (nx, ny, n_slices), slice 0 farthest).
    params : SimulationParams, optional
        The model's geometry: ``scan_size`` Å, ``pixels``, ``dz`` Å; default
        :class:`SimulationParams` () (16 × 16 Å, 128 × 128 px, 0.1 Å), the shipped models'.
    fill_nan : bool
        Fill NaN pixels (else they are an error).
    background : {"plane", "line"} or None
        Background removal; None (default) is off.
    drift : bool
        Drift correction on/off.
    drift_reference : {"neighbour", "closest"}
        See :func:`estimate_drift`.
    drift_window, drift_highpass, drift_lowpass, drift_upsample, drift_max_shift
        ``window``, ``highpass`` (px), ``lowpass`` (px), ``upsample`` and ``max_shift`` (px) of
        :func:`register_images` (its other options keep their defaults).
    shift_method : {"spline", "fourier"}
        See :func:`apply_shifts`.
    rotate : bool
        Turn by the scan angle on/off.
    resample : bool
        Resampling to the model's pitch and window on/off (off: the measured pixels are kept,
        with a warning if they are not the model's).
    center : tuple of float, optional
        (x, y) centre of the model's window in the instrument's frame, Å; default the scan
        centre.
    pad_mode : {"nearest", "reflect", "mirror", "median"}
        How pixels outside the measured window are filled, see step 5.
    antialias : bool
        Blur before down-sampling.
    select_slices : bool
        Slice choice on/off (off: all slices are kept).
    n_keep : int
        Slices the model takes.
    height_tolerance : float
        A measured slice this close to a wanted height is taken as it is, Å.
    normalize : bool
        Per-slice normalisation of ``X`` on/off.

    Returns
    -------
    PreparedExperiment
        ``X`` for the model, ``df`` and ``heights`` for matching, the drift, the steps and the
        warnings.

    Raises
    ------
    ValueError
        For NaN pixels without ``fill_nan``, Inf values, fewer slices than ``n_keep``, heights
        that do not decrease, or options out of range.
    """
    if not isinstance(stack, ExperimentStack):
        raise TypeError(f"stack must be an ExperimentStack, got {type(stack).__name__}")
    params = params or SimulationParams()
    if background is not None and background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS} or None, got {background!r}")
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    if shift_method not in ("spline", "fourier"):
        raise ValueError(f"shift_method must be 'spline' or 'fourier', got {shift_method!r}")
    if int(n_keep) != n_keep or n_keep < 1:
        raise ValueError(f"n_keep must be an integer ≥ 1, got {n_keep!r}")
    if not 0 <= height_tolerance < np.inf:
        raise ValueError(f"height_tolerance must be ≥ 0 (Å), got {height_tolerance!r}")
    if select_slices and stack.n_slices < n_keep:
        raise ValueError(f"the stack has {stack.n_slices} slices; the model needs {n_keep}")
    log = _Log()
    if stack.amplitude is not None and abs(stack.amplitude / params.amplitude - 1) > 0.2:
        log.warn(f"measured amplitude {stack.amplitude:.2f} Å (zero-to-peak) differs from the "
                 f"model's {params.amplitude:.2f} Å; the contrast will differ")  # fmt: skip

    # 1. NaN
    a = _fill_nan(stack.df.astype(np.float64), fill_nan, log)

    # 2. background
    if background is not None:
        a = remove_background(a, background)
    log.step("background", background is not None, {"background": background})

    # 3. drift
    shifts_px = shifts_a = None
    settings = dict(reference=drift_reference, window=drift_window, highpass=drift_highpass,
                    lowpass=drift_lowpass, upsample=drift_upsample, max_shift=drift_max_shift,
                    shift_method=shift_method)  # fmt: skip
    if drift and a.shape[2] > 1:
        shifts_px, peaks = estimate_drift(
            a, reference=drift_reference, window=drift_window, highpass=drift_highpass,
            lowpass=drift_lowpass, upsample=drift_upsample, max_shift=drift_max_shift,
            return_peaks=True,
        )
        a = apply_shifts(a, -shifts_px, method=shift_method)
        shifts_a = shifts_px * np.asarray(stack.pixel_size)
        largest = float(np.abs(shifts_px).max())
        if largest > _DOUBTFUL_SHIFT * min(a.shape[:2]) or peaks.min() < 0.05:
            log.warn(f"drift correction is doubtful: largest shift {largest:.1f} px, weakest "
                     f"correlation peak {peaks.min():.2f} (slice {int(np.argmin(peaks))}); "
                     "check prepared.shifts_px or pass drift=False")  # fmt: skip
        log.step("drift", True, settings, max_shift_px=largest,
                 peaks=np.round(peaks, 3).tolist())  # fmt: skip
    else:
        log.step("drift", False, settings)

    # 4.-5. rotation and resampling, one interpolation
    shape_in = a.shape[:2]
    angle = stack.scan_angle if rotate else 0.0
    if resample:
        pixels = tuple(int(p) for p in params.pixels)
        pitch = tuple(float(w) / (p - 1) for w, p in zip(params.scan_size, pixels, strict=True))
    else:
        pixels, pitch = shape_in, stack.pixel_size
    transform = resample or angle != 0.0 or center is not None
    geometry = {}
    if transform:
        matrix, offset = _geometry(stack, shape_in, pixels, pitch, angle, center)
        identity = np.allclose(matrix, np.eye(2)) and np.allclose(offset, 0.0)
        if not identity:
            padded, cropped = _coverage(matrix, offset, shape_in, pixels)
            a, sigma = _transform(a, matrix, offset, pixels, pad_mode, antialias)
            geometry = dict(padded_fraction=round(padded, 4), cropped_fraction=round(cropped, 4),
                            antialias_sigma_px=[round(s, 3) for s in sigma])  # fmt: skip
            if cropped > 0:
                log.warn(f"the measured window ({stack.scan_size[0]:.2f} × "
                         f"{stack.scan_size[1]:.2f} Å) reaches beyond the model's "
                         f"({pitch[0] * (pixels[0] - 1):.2f} × {pitch[1] * (pixels[1] - 1):.2f}"
                         f" Å): {cropped:.0%} of the measured pixels are cropped")  # fmt: skip
            if padded > 0:
                log.warn(f"the model's window is not covered by the measured one: {padded:.0%} "
                         f"of its pixels are padded ({pad_mode!r})")  # fmt: skip
    log.step("rotate", rotate and stack.scan_angle != 0.0,
             {"rotate": rotate, "scan_angle_deg": stack.scan_angle})  # fmt: skip
    log.step("resample", resample,
             {"pixels": list(pixels), "pixel_size": [round(p, 6) for p in pitch],
              "center": None if center is None else list(center), "pad_mode": pad_mode,
              "antialias": antialias, "input_pixel_size": list(stack.pixel_size)},
             **geometry)  # fmt: skip
    if not resample:
        model_pitch = [float(w) / (p - 1) for w, p in zip(params.scan_size, params.pixels,
                                                          strict=True)]  # fmt: skip
        if tuple(shape_in) != tuple(params.pixels) or not np.allclose(
            stack.pixel_size, model_pitch, rtol=_REL_TOL
        ):
            log.warn(f"resampling is off: the stack keeps {shape_in[0]} × {shape_in[1]} px at "
                     f"{stack.pixel_size[0]:.4f} Å/px, the model's are {params.pixels[0]} × "
                     f"{params.pixels[1]} px at {model_pitch[0]:.4f} Å/px")  # fmt: skip

    # 6. slices
    a, heights, assumed = _choose_slices(a, stack.heights, params.dz, n_keep, height_tolerance,
                                         select_slices, log)  # fmt: skip

    # 7. normalisation (the inference pre-processing, all slices kept in order)
    df32 = np.ascontiguousarray(a, dtype=np.float32)
    X = preprocess(df32[None], indices=np.arange(df32.shape[2]), normalize=normalize)[0]
    log.step("normalize", normalize, {"normalize": normalize})
    return PreparedExperiment(
        X=X, df=df32, heights=heights, heights_assumed=assumed, pixel_size=tuple(pitch),
        shifts_px=shifts_px, shifts_angstrom=shifts_a, steps=log.steps, warnings=log.warnings,
        source=stack.summary(),
    )


def _choose_slices(
    a: np.ndarray, heights: np.ndarray | None, dz: float, n_keep: int, tol: float,
    select: bool, log: _Log,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Step 6: the slices at the model's heights; returns (stack, heights Å, assumed?)."""
    n = a.shape[2]
    settings = {"n_keep": n_keep, "dz": dz, "height_tolerance": tol}
    if heights is None:
        if not select:
            log.step("select_slices", False, settings)
            return a, _assumed_heights(n, n_keep, dz), True
        assumed = model_heights(n_keep, dz)
        log.warn(f"the stack's slice heights are unknown: took the closest {n_keep} of {n} slices "
                 f"and assumed the model's heights {assumed.tolist()} Å")  # fmt: skip
        log.step("select_slices", True, settings, slices=list(range(n - n_keep, n)),
                 heights_known=False)  # fmt: skip
        return a[:, :, n - n_keep:], assumed, True
    h = _relative_heights(heights)
    if not select:
        log.step("select_slices", False, settings)
        return a, h, False
    spacing = float(np.median(-np.diff(h))) if n > 1 else dz
    targets, how = _target_heights(float(h[0]), n_keep, dz, tol)
    out, chosen = _interpolate_slices(a, h, targets, tol)
    interpolated = sum("between" in c for c in chosen)
    if how != "model":
        full = model_heights(n_keep, dz)[0]
        log.warn(f"the stack spans {h[0]:.2f} Å, less than the model's {full:.2f} Å: took "
                 f"heights {np.round(targets, 3).tolist()} Å ({how})")  # fmt: skip
    if abs(spacing / dz - 1) > _REL_TOL and interpolated:
        log.warn(f"the measured slices are {spacing:.3f} Å apart, the model's ladder {dz:.3f} Å:"
                 f" {interpolated} of {n_keep} slices interpolated linearly in height")  # fmt: skip
    elif interpolated:
        log.warn(f"{interpolated} of {n_keep} slices interpolated linearly in height (no measured "
                 f"slice within {tol} Å of the model's heights)")  # fmt: skip
    log.step("select_slices", True, settings, heights_known=True, choice=how,
             measured_spacing=round(spacing, 4), slices=chosen)  # fmt: skip
    return out, targets, False


def _assumed_heights(n: int, n_keep: int, dz: float) -> np.ndarray:
    """Heights assumed for ``n`` slices of unknown height: the model's for ``n_keep``, else dz."""
    if n == n_keep:
        return model_heights(n_keep, dz)
    return np.round(np.arange(n - 1, -1, -1) * dz, 9)
