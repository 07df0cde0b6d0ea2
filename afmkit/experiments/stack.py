"""One measured constant-height Δf stack with its metadata: what every instrument reader returns.

:class:`ExperimentStack` is the meeting point of a real measurement and afmkit: the readers of
:mod:`afmkit.experiments.readers` (Nanonis ``.sxm`` series and ``.3ds`` grids, Gwyddion ``.gwy``,
plain ``.npy``/``.npz``) return one, :func:`afmkit.experiments.preparation.prepare_experiment`
turns one into the models' input, and the ``afmkit predict`` command reads and prepares them.

Conventions (the same as the simulator's stacks): Δf in Hz, array axes (x, y, slice), slice 0 the
**farthest** from the sample; x along the fast scan axis of the image, y the slow axis, both in
the scan frame (rotated by ``scan_angle`` against the instrument's frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["ExperimentStack"]


@dataclass
class ExperimentStack:
    """A constant-height Δf stack and what is known about how it was measured.

    Parameters
    ----------
    df : numpy.ndarray
        (nx, ny, n_slices) frequency shift, Hz, float; slice 0 farthest from the sample. NaN
        marks pixels that were not measured (an aborted frame), never silently filled.
    pixel_size : tuple of float
        (dx, dy) distance between neighbouring pixel centres, Å (one number: square pixels).
    heights : numpy.ndarray, optional
        (n_slices,) tip height of every slice relative to the closest one, Å (≥ 0, decreasing
        to 0 at the last slice); None when the file does not say.
    scan_center : tuple of float
        (x, y) centre of the scan window in the instrument's frame, Å.
    scan_angle : float
        Rotation of the scan frame against the instrument's frame, degrees (Nanonis
        ``SCAN_ANGLE``, counter-clockwise).
    amplitude : float, optional
        Oscillation amplitude, Å, **zero-to-peak** (A of Giessibl's formula; a peak-to-peak
        value in a file is halved by the reader and the conversion noted in ``metadata``).
    f0 : float, optional
        Cantilever resonance frequency, Hz.
    k_cantilever : float, optional
        Cantilever stiffness, N/m.
    channel : str
        Name of the channel read (e.g. ``"OC M1 Freq. Shift"``).
    direction : str
        ``"forward"``, ``"backward"`` or ``""`` (unknown or not applicable).
    sources : list of str
        The files the stack was read from, one per slice or one for all.
    metadata : dict
        The raw headers (per file) and notes the reader added (conversions, warnings).

    Raises
    ------
    ValueError
        For a ``df`` that is not 3-D with at least one pixel and slice, a non-positive or
        non-finite pixel size, ``heights`` of the wrong length or not finite, or an amplitude,
        f0 or stiffness that is given but not positive and finite.
    """

    df: np.ndarray
    pixel_size: tuple[float, float]
    heights: np.ndarray | None = None
    scan_center: tuple[float, float] = (0.0, 0.0)
    scan_angle: float = 0.0
    amplitude: float | None = None
    f0: float | None = None
    k_cantilever: float | None = None
    channel: str = ""
    direction: str = ""
    sources: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.df = np.asarray(self.df, dtype=np.float64)
        if self.df.ndim != 3 or min(self.df.shape) < 1:
            raise ValueError(f"df must be (nx, ny, n_slices) with at least one of each, got shape "
                             f"{self.df.shape}")  # fmt: skip
        size = np.broadcast_to(np.asarray(self.pixel_size, dtype=np.float64), (2,))
        dx, dy = float(size[0]), float(size[1])
        if not (np.isfinite([dx, dy]).all() and dx > 0 and dy > 0):
            raise ValueError(f"pixel_size must be positive and finite (Å), got {self.pixel_size}")
        self.pixel_size = (dx, dy)
        if self.heights is not None:
            heights = np.asarray(self.heights, dtype=np.float64).reshape(-1)
            if heights.shape != (self.n_slices,) or not np.isfinite(heights).all():
                raise ValueError(f"heights must be {self.n_slices} finite values (Å), one per "
                                 f"slice; got {self.heights!r}")  # fmt: skip
            self.heights = heights
        for name in ("amplitude", "f0", "k_cantilever"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite when given, got {value!r}")
        self.scan_center = (float(self.scan_center[0]), float(self.scan_center[1]))
        self.scan_angle = float(self.scan_angle)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(nx, ny, n_slices)."""
        return tuple(self.df.shape)  # type: ignore[return-value]

    @property
    def n_slices(self) -> int:
        """Number of constant-height slices."""
        return int(self.df.shape[2])

    @property
    def scan_size(self) -> tuple[float, float]:
        """(width, height) of the window spanned by the pixel centres, Å: pixel size × (n − 1)."""
        nx, ny = self.df.shape[:2]
        return (self.pixel_size[0] * (nx - 1), self.pixel_size[1] * (ny - 1))

    @property
    def nan_fraction(self) -> float:
        """Share of Δf values that are NaN (not measured)."""
        return float(np.isnan(self.df).mean())

    def replace(self, **changes: Any) -> ExperimentStack:
        """A copy with some fields replaced (validated again).

        Parameters
        ----------
        **changes
            Field name → new value.

        Returns
        -------
        ExperimentStack
            The new stack; ``metadata`` is copied, not shared.
        """
        changes.setdefault("metadata", dict(self.metadata))
        return replace(self, **changes)

    def summary(self) -> str:
        """One line for people: shape, window, heights, amplitude and source.

        Returns
        -------
        str
            E.g. ``"128 × 128 px × 10 slices, 16.0 × 16.0 Å (0.126 Å/px), heights 0.90 … 0
            Å, A = 0.50 Å, 10 file(s)"``.
        """
        nx, ny, nz = self.shape
        w, h = self.scan_size
        parts = [f"{nx} × {ny} px × {nz} slices", f"{w:.1f} × {h:.1f} Å "
                 f"({self.pixel_size[0]:.3f} Å/px)"]  # fmt: skip
        if self.heights is not None:
            parts.append(f"heights {self.heights[0]:.2f} … {self.heights[-1]:.2f} Å")
        if self.amplitude is not None:
            parts.append(f"A = {self.amplitude:.2f} Å")
        if self.scan_angle:
            parts.append(f"scan angle {self.scan_angle:g}°")
        if self.nan_fraction:
            parts.append(f"{self.nan_fraction:.1%} NaN")
        if self.sources:
            parts.append(f"{len(self.sources)} file(s)")
        return ", ".join(parts)
