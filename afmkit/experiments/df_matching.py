"""Δf evidence for orientation matching: an experiment's Δf slices against simulated ones.

The thesis matches *descriptors* (vdW Spheres predicted by the DSH model), which are robust to an
unknown tip but keep only the top ~1.5 Å of a globular molecule, where many orientations look
alike. The Δf stack itself still carries the deeper atoms. This module scores orientations by
the normalised cross-correlation (NCC) of a few Δf slices, searching what an experiment leaves
unknown:

* **xy shift** — FFT cross-correlation, shifts up to ``max_shift`` Å;
* **in-plane angle** — the experiment's slices are turned (the library holds viewing directions);
* **scan height** — the library simulates a longer z ladder than the experiment, so the
  experiment's window slides over ``height_range`` (e.g. ±0.4 Å) in steps of ``dz``;
* **tip** — the best candidates are simulated again on demand with a few tip variants (lateral
  stiffness × probe charge, :data:`TIP_VARIANTS`) and the best variant counts;
* **drift between slices** — in that last re-scoring each slice may move ``slice_slack_px``
  pixels on its own around the common shift;
* **orientation between library directions** — the best re-scored candidates are turned by
  small angles about x, y and z (:func:`refine_orientation`), simulated again and kept if better.

Heights: every height here is the probe particle's rest height at the lower turning point
(as :class:`afmkit.physics.simulator.SimulationParams`), *relative to the nominal closest slice*
``params.z_closest``. Experiment slices are described by their heights above the experiment's
own closest slice (:func:`experiment_slice_heights`). Images are compared at half resolution
(64 × 64 for the default 128 × 128 window, 0.25 Å/px): Δf contrast varies on ≥ 1 Å scales.

Public names: :class:`Ladder`, :func:`ladder`, :func:`experiment_slice_heights`,
:func:`compared_slices`, :class:`Candidates`, :func:`search_orientations`, :func:`df_search`,
:class:`TipScorer`, :class:`Fit`, :func:`refine_orientation`, :class:`SliceCorrelator`,
:func:`prepare_images`, :func:`downsample`, :func:`rotate_image`, :data:`COMPARE_HEIGHTS`,
:data:`HEIGHT_RANGE`, :data:`TIP_VARIANTS` and the other constants below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from afmkit.learn.augment import default_height_indices
from afmkit.physics.simulator import AFMSimulator, SimulationParams

__all__ = [
    "COMPARE_HEIGHTS",
    "DOWNSAMPLE",
    "FF_STEP_RESCORE",
    "HEIGHT_RANGE",
    "HIGHPASS",
    "REFINE_STEPS",
    "TIP_VARIANTS",
    "Candidates",
    "Fit",
    "Ladder",
    "SliceCorrelator",
    "TipScorer",
    "compared_slices",
    "df_search",
    "downsample",
    "experiment_slice_heights",
    "ladder",
    "prepare_images",
    "refine_orientation",
    "rotate_image",
    "search_orientations",
]

#: Heights (Å above the experiment's closest slice) of the slices compared: the closest slice
#: (repulsive, bonds), and two farther ones (attractive outline of the deeper atoms).
COMPARE_HEIGHTS = (0.0, 0.3, 0.6)
#: Range of the unknown offset of the experiment's closest slice from the nominal
#: ``z_closest``, Å.
HEIGHT_RANGE = (-0.4, 0.4)
#: Images are compared after averaging ``DOWNSAMPLE`` × ``DOWNSAMPLE`` pixels.
DOWNSAMPLE = 2
#: σ of the Gaussian blur subtracted from Δf images before comparing them, Å (a high-pass).
HIGHPASS = 1.0
#: Force-field grid step of the on-demand simulations of the tip search, Å.
FF_STEP_RESCORE = 0.15
#: Step sizes (degrees) of the local orientation refinement of the best candidates.
REFINE_STEPS = (4.0, 2.0)
#: Tip variants of the re-scoring: (lateral stiffness N/m, probe charge e). They span the usual
#: CO tips (k_lat 0.15–0.40 N/m, charge −0.2…0 e); the library itself uses the defaults.
TIP_VARIANTS = tuple((k, q) for k in (0.18, 0.26, 0.36) for q in (-0.15, -0.05))


# ---------------------------------------------------------------------------------------------
# heights
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ladder:
    """The heights one library entry is simulated at.

    Attributes
    ----------
    params : SimulationParams
        The library's simulation parameters (``n_slices`` and ``z_closest`` extended).
    dsh_slices : numpy.ndarray
        (nominal n_slices,) indices of the slices that make the nominal stack the DSH model
        sees (heights 0 … (n_slices − 1)·dz), farthest first.
    df_slices : numpy.ndarray
        (S,) indices of the slices kept for Δf matching, farthest first.
    df_heights : numpy.ndarray
        (S,) their heights relative to the nominal ``z_closest``, Å (descending).
    height_offsets : numpy.ndarray
        (H,) the experiment offsets searched, Å (ascending).
    """

    params: SimulationParams
    dsh_slices: np.ndarray
    df_slices: np.ndarray
    df_heights: np.ndarray
    height_offsets: np.ndarray


def ladder(
    params: SimulationParams,
    height_range: tuple[float, float] = HEIGHT_RANGE,
    compare_heights: Sequence[float] = COMPARE_HEIGHTS,
) -> Ladder:
    """The z ladder a library simulates, so that one simulation serves every height offset.

    The nominal stack (for the DSH model) and the Δf slices of every searched height offset
    come from one simulation.

    Parameters
    ----------
    params : SimulationParams
        Nominal simulation parameters (``dz``, ``n_slices``, ``z_closest`` in Å).
    height_range : tuple of float
        (lo ≤ 0 ≤ hi) range of the searched offsets, Å; rounded to ``params.dz``.
    compare_heights : sequence of float
        Heights of the compared slices above the closest one, Å ≥ 0; rounded to ``params.dz``.

    Returns
    -------
    Ladder
        The extended parameters and the slice indices and heights.

    Raises
    ------
    ValueError
        If ``height_range`` does not contain 0 or a compare height is negative.
    """
    dz = params.dz
    lo, hi = (float(h) for h in height_range)
    if not lo <= 0.0 <= hi:
        raise ValueError(f"height_range must contain 0 (Å), got {height_range}")
    if min(compare_heights) < 0:
        raise ValueError(f"compare_heights are Å above the closest slice (≥ 0): {compare_heights}")
    n_lo, n_hi = round(-lo / dz), round(hi / dz)
    n_top = round(max(compare_heights) / dz)
    n_above = max(params.n_slices - 1, n_hi + n_top)
    n_lib = n_lo + n_above + 1
    lib = params.replace(
        n_slices=n_lib,
        z_closest=params.z_closest - n_lo * dz,
        vdw_offset=params.vdw_offset - n_lo * dz,
    )
    rel = np.round((np.arange(n_lib - 1, -1, -1) - n_lo) * dz, 6)  # height of each lib slice
    dsh = np.flatnonzero((rel >= -1e-6) & (rel <= (params.n_slices - 1) * dz + 1e-6))
    df = np.flatnonzero((rel >= lo - 1e-6) & (rel <= (n_hi + n_top) * dz + 1e-6))
    offsets = np.round(np.arange(-n_lo, n_hi + 1) * dz, 6)
    return Ladder(lib, dsh, df, rel[df], offsets)


def experiment_slice_heights(n_slices: int, dz: float = 0.1) -> np.ndarray:
    """Default heights of an experiment's slices above its closest slice, Å (slice 0 farthest).

    A 10-slice stack is taken to follow the convention of the published camphor data and of
    afmkit's inference pre-processing (:func:`afmkit.learn.augment.default_height_indices`: 10 of
    the closest 15 slices of a 20-slice, ``dz``-spaced ladder, i.e. 1.4, 1.2, 1.1, … 0.2, 0 Å);
    any other count is taken as evenly ``dz`` apart. Pass your own heights when you know them.

    Parameters
    ----------
    n_slices : int
        Slices of the experimental stack.
    dz : float
        Slice spacing of the ladder, Å.

    Returns
    -------
    numpy.ndarray
        (n_slices,) heights in Å, descending (slice 0 farthest), the last one 0.

    Raises
    ------
    ValueError
        If ``n_slices`` < 1.
    """
    if n_slices < 1:
        raise ValueError(f"need at least one slice, got {n_slices}")
    if n_slices == 10:
        idx = default_height_indices(20, 15, 10)
        return np.round((idx[-1] - idx) * dz, 6)
    return np.round(np.arange(n_slices - 1, -1, -1) * dz, 6)


def compared_slices(
    slice_heights: np.ndarray, compare_heights: Sequence[float] = COMPARE_HEIGHTS,
    tolerance: float = 0.05,
) -> np.ndarray:
    """Indices of the experiment slices nearest to each of ``compare_heights``.

    Parameters
    ----------
    slice_heights : numpy.ndarray
        (n_slices,) heights of the experiment's slices above its closest slice, Å.
    compare_heights : sequence of float
        Heights wanted, Å above the closest slice.
    tolerance : float
        Largest distance between a wanted height and the nearest slice, Å.

    Returns
    -------
    numpy.ndarray
        (len(compare_heights),) integer slice indices.

    Raises
    ------
    ValueError
        Naming the height that no slice is within ``tolerance`` Å of, and the number of slices
        such a stack needs.
    """
    heights = np.asarray(slice_heights, dtype=float)
    out = []
    for h in compare_heights:
        i = int(np.argmin(np.abs(heights - h)))
        if abs(heights[i] - h) > tolerance:
            need = int(round(max(compare_heights) / 0.1)) + 1
            raise ValueError(
                f"the experiment has no slice {h:.2f} Å above its closest one (its slices are at "
                f"{np.round(heights, 2).tolist()} Å); Δf matching compares slices at "
                f"{list(compare_heights)} Å and needs a stack of at least {need} slices 0.1 Å "
                "apart (or pass slice_heights)"
            )
        out.append(i)
    return np.asarray(out)


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------
def downsample(images: np.ndarray, factor: int = DOWNSAMPLE) -> np.ndarray:
    """Average ``factor`` × ``factor`` pixel blocks of images.

    Parameters
    ----------
    images : numpy.ndarray
        (…, nx, ny) images.
    factor : int
        Block size, px; leftover rows and columns are dropped.

    Returns
    -------
    numpy.ndarray
        (…, nx // factor, ny // factor) images.
    """
    if factor == 1:
        return np.asarray(images)
    *lead, nx, ny = images.shape
    nx2, ny2 = nx // factor, ny // factor
    cut = np.asarray(images)[..., : nx2 * factor, : ny2 * factor]
    return cut.reshape(*lead, nx2, factor, ny2, factor).mean(axis=(-3, -1))


def _plane_design(nx: int, ny: int) -> np.ndarray:
    x = np.linspace(-1.0, 1.0, nx)[:, None] * np.ones((1, ny))
    y = np.ones((nx, 1)) * np.linspace(-1.0, 1.0, ny)[None, :]
    return np.stack([np.ones(nx * ny), x.ravel(), y.ravel()], axis=1)


def prepare_images(
    images: np.ndarray, remove_plane: bool = True, highpass_px: float = 0.0
) -> np.ndarray:
    """Normalise images so that a dot product is a normalised cross-correlation.

    ``highpass_px`` > 0 first subtracts a Gaussian blur of that σ (px): Δf matching compares the
    structure *inside* the molecule's image, not its broad attractive halo, which looks alike
    for many orientations (measured: top-1 within 15° on the two stand-ins rose from 50 % / 33 %
    to 90 % / 67 % with σ = 1 Å).

    Parameters
    ----------
    images : numpy.ndarray
        (…, nx, ny) images (any units).
    remove_plane : bool
        Subtract a least-squares plane (else only the mean): experimental backgrounds tilt.
    highpass_px : float
        σ of the Gaussian blur subtracted first, px (0: none).

    Returns
    -------
    numpy.ndarray
        float32 (…, nx, ny), each image zero mean and unit norm; flat images become zero.
    """
    a = np.asarray(images, dtype=np.float64)
    *lead, nx, ny = a.shape
    if highpass_px > 0:
        sigma = (0.0,) * len(lead) + (highpass_px, highpass_px)
        a = a - ndimage.gaussian_filter(a, sigma=sigma, mode="nearest")
    flat = a.reshape(-1, nx * ny)
    if remove_plane:
        design = _plane_design(nx, ny)
        coef, *_ = np.linalg.lstsq(design, flat.T, rcond=None)
        flat = flat - (design @ coef).T
    else:
        flat = flat - flat.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    flat = np.where(norm > 0, flat / np.where(norm > 0, norm, 1.0), 0.0)
    return flat.reshape(a.shape).astype(np.float32)


def rotate_image(image: np.ndarray, angle_deg: float, fill: float = 0.0) -> np.ndarray:
    """Turn an image counter-clockwise about its centre (bilinear interpolation).

    Turning the molecule by ``matching.rotation_z(θ)`` turns its AFM image and descriptors by
    ``rotate_image(·, θ)`` (exactly so for a tip without tilt).

    Parameters
    ----------
    image : numpy.ndarray
        (nx, ny) image, axis 0 = x, axis 1 = y.
    angle_deg : float
        Angle, degrees, counter-clockwise seen from +z.
    fill : float
        Value of pixels that come from outside the image.

    Returns
    -------
    numpy.ndarray
        (nx, ny) turned image.
    """
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    inverse = np.array([[c, s], [-s, c]])  # output → input coordinates: R(−θ)
    centre = (np.array(image.shape, dtype=float) - 1.0) / 2.0
    return ndimage.affine_transform(
        image, inverse, offset=centre - inverse @ centre, order=1, mode="constant", cval=fill
    )


def _experiment_refs(images: np.ndarray, angle_deg: float, factor: int) -> np.ndarray:
    """(C, nx, ny) normalised experiment images, turned by −angle, down-sampled, normalised."""
    turned = np.stack([rotate_image(s, -angle_deg) for s in images]) if angle_deg else images
    return prepare_images(downsample(turned, factor), remove_plane=False)


# ---------------------------------------------------------------------------------------------
# FFT correlation of several slices at several height offsets
# ---------------------------------------------------------------------------------------------
class SliceCorrelator:
    """NCC of C reference images against library image sets over xy shifts, by FFT.

    For height offset h, reference image c is compared with library image ``index[h, c]``; the
    score is the mean over c of the per-image NCC at one common shift (``slack=0``) or with each
    image free to move ``slack`` px around it. Descriptor matching uses it with one "offset"
    (``index = [[0, 1, …]]``: channel c against channel c).

    Parameters
    ----------
    images : numpy.ndarray
        (N, S, nx, ny) library image sets (any units; normalised with :func:`prepare_images`).
    max_px : int
        Largest shift searched, px.
    remove_plane : bool
        See :func:`prepare_images`.
    highpass_px : float
        See :func:`prepare_images`, px.
    """

    def __init__(
        self, images: np.ndarray, max_px: int, remove_plane: bool = True, highpass_px: float = 0.0
    ) -> None:
        nx, ny = images.shape[-2:]
        self.max_px = int(max_px)
        self.shape = (sfft.next_fast_len(nx + self.max_px), sfft.next_fast_len(ny + self.max_px))
        self.spectra = sfft.rfft2(
            prepare_images(images, remove_plane, highpass_px), s=self.shape, workers=-1
        ).astype(np.complex64)
        m = self.max_px
        self._idx = np.r_[0 : m + 1, -m:0]

    def _window(self, corr: np.ndarray) -> np.ndarray:
        return corr[..., self._idx, :][..., self._idx]

    def reference_spectra(self, refs: np.ndarray) -> np.ndarray:
        """Conjugate spectra of normalised reference images.

        Parameters
        ----------
        refs : numpy.ndarray
            (…, C, nx, ny) images from :func:`prepare_images`.

        Returns
        -------
        numpy.ndarray
            complex64 (…, C, X, Y) spectra at the correlator's padded size.
        """
        return np.conj(sfft.rfft2(refs, s=self.shape, workers=-1)).astype(np.complex64)

    def scores(
        self, refs: np.ndarray, index: np.ndarray, rows: np.ndarray | None = None, slack: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best score per library row and offset, and its shift.

        Parameters
        ----------
        refs : numpy.ndarray
            (C, nx, ny) normalised reference images.
        index : numpy.ndarray
            (H, C) library slice per offset and reference image.
        rows : numpy.ndarray, optional
            (n,) library rows to score (default all).
        slack : int
            Per-image freedom around the common shift, px.

        Returns
        -------
        scores : numpy.ndarray
            (n, H) float32 NCC.
        shifts : numpy.ndarray
            (n, H, 2) shifts in px; a shift ``d`` means ``library(p + d) ≈ experiment(p)``.
        """
        rows = np.arange(len(self.spectra)) if rows is None else np.asarray(rows)
        spectra = self.reference_spectra(refs)[None]
        return self.pair_scores(spectra, rows, np.zeros(len(rows), dtype=np.intp), index, slack)

    def pair_scores(
        self,
        ref_spectra: np.ndarray,
        rows: np.ndarray,
        refs: np.ndarray,
        index: np.ndarray,
        slack: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`scores` for P (library row, reference) pairs at once.

        Parameters
        ----------
        ref_spectra : numpy.ndarray
            (A, C, X, Y) from :meth:`reference_spectra`.
        rows, refs : numpy.ndarray
            (P,) indices into the library and into ``ref_spectra``.
        index : numpy.ndarray
            (H, C) library slice per offset and reference image.
        slack : int
            Per-image freedom around the common shift, px.

        Returns
        -------
        scores : numpy.ndarray
            (P, H) float32 NCC.
        shifts : numpy.ndarray
            (P, H, 2) shifts in px.
        """
        n, (H, C) = len(rows), index.shape
        best = np.empty((n, H), dtype=np.float32)
        shifts = np.empty((n, H, 2), dtype=np.int64)
        width = 2 * self.max_px + 1
        shared = len(ref_spectra) == 1 and np.array_equal(rows, np.arange(len(self.spectra)))
        ref = ref_spectra if shared else ref_spectra[refs]  # (P or 1, C, X, Y)
        for h in range(H):
            if slack == 0:
                # all rows against one reference: views instead of gathered copies
                lib = self.spectra if shared else self.spectra[rows]
                product = lib[:, index[h, 0]] * ref[:, 0]
                for c in range(1, C):
                    product += lib[:, index[h, c]] * ref[:, c]
                window = self._window(sfft.irfft2(product, s=self.shape, workers=-1)) / C
            else:
                product = self.spectra[rows[:, None], index[h][None, :]] * ref
                per_slice = self._window(sfft.irfft2(product, s=self.shape, workers=-1))
                size = (1, 1, 2 * slack + 1, 2 * slack + 1)
                window = ndimage.maximum_filter(per_slice, size=size, mode="nearest").mean(1)
            flat = window.reshape(n, -1)
            arg = flat.argmax(axis=1)
            best[:, h] = flat[np.arange(n), arg]
            ix, iy = np.unravel_index(arg, (width, width))
            shifts[:, h, 0], shifts[:, h, 1] = self._idx[ix], self._idx[iy]
        return best, shifts


def _offset_index(lad: Ladder, exp_heights: np.ndarray) -> np.ndarray:
    """(H, C) library Δf slice for each searched offset and compared experiment slice."""
    target = lad.height_offsets[:, None] + np.asarray(exp_heights)[None, :]
    diff = np.abs(lad.df_heights[None, None, :] - target[..., None])
    if np.any(diff.min(axis=-1) > 1e-3):
        raise ValueError(
            "the library's z ladder does not cover the compared slices at every height offset; "
            "rebuild it with the same compare_heights and height_range"
        )
    return diff.argmin(axis=-1)


# ---------------------------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------------------------
@dataclass
class Candidates:
    """Orientation candidates of a search (Δf or descriptors), best first.

    Attributes
    ----------
    library_index : numpy.ndarray
        (n,) viewing direction in the library.
    inplane_deg : numpy.ndarray
        (n,) in-plane turn added to that direction, degrees.
    height_offset : numpy.ndarray
        (n,) offset of the experiment's closest slice from the nominal one, Å.
    shift_px : numpy.ndarray
        (n, 2) xy shift at the compared resolution, px (library(p + d) ≈ exp(p)), in the
        de-rotated frame.
    scores : numpy.ndarray
        (n,) NCC (mean over the compared slices, ≤ 1).
    tip : numpy.ndarray
        (n, 2) (k_lat N/m, probe charge e) of the best tip variant, NaN if not re-scored.
    """

    library_index: np.ndarray
    inplane_deg: np.ndarray
    height_offset: np.ndarray
    shift_px: np.ndarray
    scores: np.ndarray
    tip: np.ndarray

    def take(self, order: np.ndarray) -> Candidates:
        """The candidates in ``order``.

        Parameters
        ----------
        order : numpy.ndarray
            Integer indices (or a boolean mask).

        Returns
        -------
        Candidates
            A new object with every field indexed by ``order``.
        """
        fields = self.__dataclass_fields__
        return Candidates(*(np.asarray(getattr(self, f))[order] for f in fields))

    def __len__(self) -> int:
        return len(self.scores)


def search_orientations(
    exp_images: np.ndarray,
    library_images: np.ndarray,
    index: np.ndarray,
    pixel: float,
    *,
    exp_factor: int = 1,
    angle_step: float = 10.0,
    refine_step: float = 2.0,
    max_shift: float = 3.0,
    n_refine: int = 40,
    coarse_factor: int = 2,
    remove_plane: bool = True,
    highpass: float = 0.0,
    offsets: np.ndarray | None = None,
    cache: dict | None = None,
) -> Candidates:
    """Score library directions × in-plane angles × offsets by NCC over xy shifts.

    Coarse: all directions, angles every ``angle_step``°, every other offset, images
    ``coarse_factor`` × coarser. Fine: the ``n_refine`` best directions, angles ±``angle_step``
    every ``refine_step``°, every offset.

    Parameters
    ----------
    exp_images : numpy.ndarray
        (C, nx, ny) experiment images (full resolution, not turned).
    library_images : numpy.ndarray
        (N, S, nx', ny') library images, ``exp_factor`` × coarser than ``exp_images``.
    index : numpy.ndarray
        (H, C) library image compared with experiment image c at offset h (descriptors:
        ``[[0, 1, …]]``; Δf: one row per height offset).
    pixel : float
        Library pixel size, Å.
    exp_factor : int
        Down-sampling that brings the experiment to the library's pixels.
    angle_step, refine_step : float
        Coarse and fine in-plane angle steps, degrees.
    max_shift : float
        Largest xy offset, Å.
    n_refine : int
        Directions refined at full resolution.
    coarse_factor : int
        Extra down-sampling of the coarse search.
    remove_plane : bool
        Remove a least-squares plane from each image before comparing (Δf).
    highpass : float
        σ of the Gaussian blur subtracted from every image first, Å (0: none).
    offsets : numpy.ndarray, optional
        (H,) the value each offset row stands for (stored in ``height_offset``), Å.
    cache : dict, optional
        A dict kept with the library (e.g. ``OrientationLibrary.cache``) where the library's
        prepared spectra are kept between calls.

    Returns
    -------
    Candidates
        The ``n_refine`` best directions, refined, best first (``tip`` NaN).
    """
    exp_images = prepare_images(exp_images, remove_plane, highpass * exp_factor / pixel)
    offsets = np.zeros(len(index)) if offsets is None else np.asarray(offsets, dtype=float)
    cache = {} if cache is None else cache

    def correlator(factor: int) -> SliceCorrelator:
        key = ("correlator", factor, round(max_shift / (pixel * factor)), remove_plane, highpass)
        if key not in cache:
            cache[key] = SliceCorrelator(
                downsample(library_images, factor), key[2], remove_plane,
                highpass / (pixel * factor),
            )
        return cache[key]

    coarse = correlator(coarse_factor)
    angles = np.arange(0.0, 360.0, angle_step)
    coarse_index = index[::2] if len(index) > 2 else index  # every other offset is enough here
    coarse_scores = np.stack(
        [
            coarse.scores(
                _experiment_refs(exp_images, a, exp_factor * coarse_factor), coarse_index
            )[0]
            for a in angles
        ],
        axis=1,
    )  # (N, n_angles, H')
    per_dir = coarse_scores.max(axis=2)
    order = np.argsort(-per_dir.max(axis=1))[: max(1, n_refine)]
    best_angle = angles[per_dir[order].argmax(axis=1)]

    fine = SliceCorrelator(  # only the refined rows: all 500 × 15 spectra would take 200 MB
        library_images[order], round(max_shift / pixel), remove_plane, highpass / pixel
    )
    steps = np.arange(-angle_step, angle_step + 1e-9, refine_step)
    wanted = np.round((best_angle[:, None] + steps[None]) % 360.0, 6)  # (n, k)
    unique, which = np.unique(wanted, return_inverse=True)
    ref_spectra = fine.reference_spectra(
        np.stack([_experiment_refs(exp_images, a, exp_factor) for a in unique])
    )
    n, k = wanted.shape
    pair_rows = np.repeat(np.arange(n), k)
    scores, shifts = fine.pair_scores(ref_spectra, pair_rows, which.ravel(), index)
    scores = scores.reshape(n, k, -1)
    flat = scores.reshape(n, -1).argmax(axis=1)  # best (angle, offset) per row
    j, h = np.unravel_index(flat, scores.shape[1:])
    best = scores[np.arange(n), j, h].astype(np.float64)
    theta = wanted[np.arange(n), j]
    height = offsets[h]
    shift = shifts.reshape(n, k, -1, 2)[np.arange(n), j, h].astype(float)
    ranked = np.argsort(-best)
    return Candidates(
        library_index=order[ranked],
        inplane_deg=theta[ranked],
        height_offset=height[ranked],
        shift_px=shift[ranked],
        scores=best[ranked].astype(np.float64),
        tip=np.full((n, 2), np.nan),
    )


def df_search(
    exp_slices: np.ndarray,
    exp_heights: np.ndarray,
    library_stacks: np.ndarray,
    lad: Ladder,
    pixel: float,
    **options,
) -> Candidates:
    """Δf search: the experiment's compared slices against the library's Δf slices.

    Runs :func:`search_orientations` at every height offset of ``lad``, on high-passed images.

    Parameters
    ----------
    exp_slices : numpy.ndarray
        (C, nx, ny) compared experiment slices, Hz.
    exp_heights : numpy.ndarray
        (C,) their heights above the experiment's closest slice, Å.
    library_stacks : numpy.ndarray
        (N, S, nx/2, ny/2) the library's Δf slices, Hz.
    lad : Ladder
        The library's z ladder.
    pixel : float
        The experiment's pixel size, Å.
    **options
        Angle steps, ``max_shift``, ``n_refine``, ``coarse_factor``, ``cache`` (see
        :func:`search_orientations`).

    Returns
    -------
    Candidates
        Best first, with the height offset of each.

    Raises
    ------
    ValueError
        If the ladder does not cover the compared slices at every offset.
    """
    return search_orientations(
        exp_slices, library_stacks, _offset_index(lad, exp_heights), pixel * DOWNSAMPLE,
        exp_factor=DOWNSAMPLE, offsets=lad.height_offsets, highpass=HIGHPASS, **options,
    )


def _pooled_params(params: SimulationParams, factor: int) -> SimulationParams:
    """Parameters whose pixels sit at the centres of ``factor`` × ``factor`` pixel blocks.

    The blocks are those :func:`downsample` averages, over the same window centre.
    """
    (wx, wy), (nx, ny) = params.scan_size, params.pixels
    mx, my = nx // factor, ny // factor
    step_x, step_y = wx / (nx - 1), wy / (ny - 1)
    return params.replace(
        pixels=(mx, my), scan_size=((mx - 1) * factor * step_x, (my - 1) * factor * step_y)
    )


@dataclass
class Fit:
    """The best tip, height and shift found for one geometry.

    Attributes
    ----------
    score : float
        NCC (≤ 1).
    tip : tuple of float
        (k_lat N/m, probe charge e).
    height_offset : float
        Offset of the experiment's closest slice from the nominal one, Å.
    shift : numpy.ndarray
        (2,) xy shift, Å (library(p + d) ≈ exp(p)).
    """

    score: float
    tip: tuple[float, float]
    height_offset: float
    shift: np.ndarray


class TipScorer:
    """Scores geometries in scan orientation against an experiment by simulating them on demand.

    Simulations run at the compared resolution (pixels at the centres of the experiment's
    ``DOWNSAMPLE`` blocks) with a coarser force-field grid (``FF_STEP_RESCORE`` Å: high-passed
    slices agree with 0.1 Å to r ≥ 0.998, at a third of the cost).

    Parameters
    ----------
    exp_slices : numpy.ndarray
        (C, nx, ny) compared experiment slices (full resolution, not turned), Hz.
    exp_heights : numpy.ndarray
        (C,) their heights above the experiment's closest slice, Å.
    lad : Ladder
        The library's :class:`Ladder` (heights and nominal parameters).
    max_shift : float
        Largest xy offset, Å.
    slice_slack_px : int
        Per-slice freedom around the common shift (compared pixels), for drift between an
        experiment's slices.
    """

    def __init__(
        self,
        exp_slices: np.ndarray,
        exp_heights: np.ndarray,
        lad: Ladder,
        max_shift: float = 3.0,
        slice_slack_px: int = 1,
    ) -> None:
        self.lad = lad
        self.exp_heights = np.asarray(exp_heights, dtype=float)
        self.base = _pooled_params(lad.params, DOWNSAMPLE).replace(ff_step=FF_STEP_RESCORE)
        self.pixel = self.base.scan_size[0] / (self.base.pixels[0] - 1)
        full = prepare_images(exp_slices, True, HIGHPASS * DOWNSAMPLE / self.pixel)
        self.refs = prepare_images(downsample(full, DOWNSAMPLE), remove_plane=False)
        self.max_px = round(max_shift / self.pixel)
        self.slack = int(slice_slack_px)
        self.sim = AFMSimulator(self.base)
        self.simulations = 0

    def _sub_ladder(self, offsets: np.ndarray) -> tuple[SimulationParams, np.ndarray]:
        """Parameters simulating only the slices that ``offsets`` (Å) need.

        Also returns the (H, C) index of the compared slices in that stack.
        """
        dz = self.base.dz
        needed = np.round(offsets[:, None] + self.exp_heights[None, :], 6)  # (H, C)
        lo, hi = float(needed.min()), float(needed.max())
        lowest = float(self.lad.df_heights.min())  # the library ladder's closest slice
        n = int(round((hi - lo) / dz)) + 1
        params = self.base.replace(
            n_slices=n,
            z_closest=self.base.z_closest + (lo - lowest),
            vdw_offset=self.base.vdw_offset + (lo - lowest),
        )
        return params, np.rint((hi - needed) / dz).astype(np.intp)

    def fit(
        self, mol, tips: Sequence[tuple[float, float]], offsets: np.ndarray | None = None
    ) -> Fit:
        """Simulate ``mol`` with every tip variant; the best variant, height offset and shift.

        Parameters
        ----------
        mol : Molecule
            The geometry in scan orientation (Å).
        tips : sequence of (float, float)
            (k_lat N/m, probe charge e) variants.
        offsets : numpy.ndarray, optional
            The height offsets searched, Å; default all of the library's.

        Returns
        -------
        Fit
            The best variant, height offset and shift.
        """
        offsets = self.lad.height_offsets if offsets is None else np.asarray(offsets, float)
        params, index = self._sub_ladder(offsets)
        by_charge: dict[float, list[float]] = {}
        for k, q in tips:
            by_charge.setdefault(float(q), []).append(float(k))
        stacks, variants = [], []
        for q, ks in by_charge.items():
            for k in ks:  # same charge: the simulator reuses the force field
                self.sim.params = params.replace(k_lat=k, probe_charge=q)
                stacks.append(self.sim(mol).transpose(2, 0, 1))
                variants.append((k, q))
                self.simulations += 1
        corr = SliceCorrelator(np.stack(stacks), self.max_px, True, HIGHPASS / self.pixel)
        scores, shifts = corr.scores(self.refs, index, slack=self.slack)  # (V, H)
        v, h = np.unravel_index(int(scores.argmax()), scores.shape)
        return Fit(float(scores[v, h]), variants[v], float(offsets[h]),
                   shifts[v, h] * self.pixel)

    def near(self, offset: float) -> np.ndarray:
        """The library's height offsets within one step of ``offset``.

        Parameters
        ----------
        offset : float
            A height offset, Å.

        Returns
        -------
        numpy.ndarray
            The offsets (Å) within ``dz`` of it.
        """
        h = self.lad.height_offsets
        return h[np.abs(h - offset) <= self.base.dz * 1.01]


def _axis_rotation(axis: int, angle_deg: float) -> np.ndarray:
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out = np.eye(3)
    out[i, i], out[i, j], out[j, i], out[j, j] = c, -s, s, c
    return out


def refine_orientation(
    scorer: TipScorer,
    molecule,
    rotation: np.ndarray,
    fit: Fit,
    steps: Sequence[float] = REFINE_STEPS,
) -> tuple[np.ndarray, Fit]:
    """Local search of an orientation with the tip of ``fit``.

    For each step size in ``steps`` (degrees), the six turns ±step about the lab x, y and z
    axes are tried and the best is kept if it scores higher (height offsets searched within
    ±0.1 Å of the fit's). The library's viewing directions are ≈ 9° apart (500 directions) and a
    4° error costs ≈ 0.05 in NCC of high-passed Δf — more than the gap to a wrong orientation —
    so this decides close calls.

    Parameters
    ----------
    scorer : TipScorer
        Scores geometries against the experiment.
    molecule : Molecule
        The molecule in its own frame.
    rotation : numpy.ndarray
        (3, 3) start orientation; ``molecule.rotated(rotation)`` is the scan geometry.
    fit : Fit
        The start orientation's fit (its tip is kept).
    steps : sequence of float
        Step sizes, degrees.

    Returns
    -------
    rotation : numpy.ndarray
        (3, 3) refined orientation.
    fit : Fit
        Its fit.
    """
    best_r, best = np.asarray(rotation, dtype=float), fit
    for step in steps:
        trials = []
        for axis in range(3):
            for sign in (1.0, -1.0):
                r = _axis_rotation(axis, sign * step) @ best_r
                near = scorer.near(best.height_offset)
                trials.append((r, scorer.fit(molecule.rotated(r), [best.tip], near)))
        r, trial = max(trials, key=lambda t: t[1].score)
        if trial.score > best.score:
            best_r, best = r, trial
    return best_r, best
