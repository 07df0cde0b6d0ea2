"""Frequency shift Δf from the vertical force Fz(z) by Giessibl's formula (thesis Eq. 5).

For an oscillation of zero-to-peak amplitude A centred at height z (z grows away from the sample),

    Δf(z) = -(f0 / (k π A²)) ∫_{-A}^{A}  q Fz(z + q) / sqrt(A² - q²) dq,

which tends to Δf = f0 k_ts / (2 k) with k_ts = -∂Fz/∂z for small A (thesis Eq. 4).
**Amplitude convention:** the "1 Å amplitude" of ASD-AFM and ppafm is peak-to-peak, i.e.
A = 0.5 Å here.

Fz is sampled every ``dz`` while the tip approaches, so the integral becomes a fixed set of weights
(exact for Fz linear between samples): Δf slice k = Σ_l w[l] Fz[k + l], where Fz is in
approach order (index 0 = highest) and slice k spans the samples k … k + m - 1 (its upper
turning point is sample k, its lower turning point ``2A`` below).
"""

from __future__ import annotations

import numpy as np

from afmkit.physics.forcefield import EV_PER_A2_IN_N_PER_M

__all__ = [
    "N_QUADRATURE",
    "df_weights",
    "fz_to_df",
    "weight_count",
]

#: Gauss-Chebyshev nodes used to compute the weights.
N_QUADRATURE = 1024


def weight_count(amplitude: float, dz: float) -> int:
    """Number of F_z samples one Δf value needs: ``ceil(2 A / dz) + 1``.

    Parameters
    ----------
    amplitude : float
        Oscillation amplitude A (zero-to-peak), Å.
    dz : float
        Sample spacing, Å.

    Returns
    -------
    int
        The length of :func:`df_weights` for these arguments (computed without allocating).
    """
    return int(np.ceil(2.0 * amplitude / dz - 1e-9)) + 1


def df_weights(amplitude: float, dz: float, f0: float, k_cantilever: float) -> np.ndarray:
    """Weights that turn Fz samples into Δf.

    Parameters
    ----------
    amplitude : float
        Zero-to-peak oscillation amplitude A, Å (> 0).
    dz : float
        Spacing of the Fz samples, Å (> 0).
    f0 : float
        Cantilever resonance frequency, Hz.
    k_cantilever : float
        Cantilever spring constant, N/m (converted to eV/Å² inside, by
        :data:`~afmkit.physics.forcefield.EV_PER_A2_IN_N_PER_M`).

    Returns
    -------
    numpy.ndarray, float64, shape (m,)
        m = ceil(2A/dz) + 1 weights in Hz per (eV/Å); w[0] multiplies the highest sample (upper
        turning point), w[m-1] the lowest.

    Raises
    ------
    ValueError
        If ``amplitude`` or ``dz`` is not positive.
    """
    if amplitude <= 0:
        raise ValueError(f"amplitude must be positive, got {amplitude} Å")
    if dz <= 0:
        raise ValueError(f"dz must be positive, got {dz} Å")
    m = weight_count(amplitude, dz)
    # Gauss-Chebyshev: ∫ g(u)/sqrt(1-u²) du ≈ (π/n) Σ g(u_i),  q = A u
    i = np.arange(1, N_QUADRATURE + 1)
    u = np.cos((2 * i - 1) * np.pi / (2 * N_QUADRATURE))
    depth = (1.0 - u) * amplitude / dz  # samples below the upper turning point, in [0, span]
    j = np.minimum(np.floor(depth).astype(int), m - 2)
    frac = depth - j
    w = np.zeros(m)
    np.add.at(w, j, u * (1.0 - frac))
    np.add.at(w, j + 1, u * frac)
    scale = -f0 / (k_cantilever * amplitude * N_QUADRATURE) * EV_PER_A2_IN_N_PER_M
    return w * scale


def fz_to_df(
    fz: np.ndarray, dz: float, amplitude: float, f0: float, k_cantilever: float
) -> np.ndarray:
    """Convert Fz(z) curves to Δf (NumPy reference).

    Parameters
    ----------
    fz : numpy.ndarray, shape (..., n_samples)
        Vertical force on the tip in eV/Å, sampled every ``dz`` Å in approach order (index 0 =
        farthest from the sample).
    dz : float
        Sample spacing, Å.
    amplitude : float
        Zero-to-peak amplitude A, Å.
    f0 : float
        Resonance frequency, Hz.
    k_cantilever : float
        Cantilever spring constant, N/m.

    Returns
    -------
    numpy.ndarray, float32, shape (..., n_samples − m + 1)
        Δf in Hz, index 0 farthest from the sample.

    Raises
    ------
    ValueError
        If there are fewer than m samples, or ``amplitude``/``dz`` is not positive.
    """
    w = df_weights(amplitude, dz, f0, k_cantilever)
    fz = np.asarray(fz)
    if fz.shape[-1] < len(w):
        raise ValueError(
            f"need at least {len(w)} Fz samples for amplitude {amplitude} Å at dz {dz} Å, "
            f"got {fz.shape[-1]}"
        )
    windows = np.lib.stride_tricks.sliding_window_view(fz, len(w), axis=-1)
    return (windows @ w).astype(np.float32)
