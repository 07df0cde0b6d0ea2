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

from afmkit.forcefield import EV_PER_A2_IN_N_PER_M

N_QUADRATURE = 1024  # Gauss-Chebyshev nodes for the weights


def df_weights(amplitude: float, dz: float, f0: float, k_cantilever: float) -> np.ndarray:
    """Weights that turn Fz samples into Δf.

    Parameters
    ----------
    amplitude : zero-to-peak oscillation amplitude A, Å (> 0).
    dz : spacing of the Fz samples, Å (> 0).
    f0 : cantilever resonance frequency, Hz.
    k_cantilever : cantilever spring constant, N/m.

    Returns
    -------
    np.ndarray, float64, shape (m,), m = ceil(2A/dz) + 1, in Hz per (eV/Å); w[0] multiplies the
    highest sample (upper turning point), w[m-1] the lowest.
    """
    if amplitude <= 0:
        raise ValueError(f"amplitude must be positive, got {amplitude} Å")
    if dz <= 0:
        raise ValueError(f"dz must be positive, got {dz} Å")
    span = 2.0 * amplitude / dz  # oscillation span in samples
    m = int(np.ceil(span - 1e-9)) + 1
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
    fz : (..., n_samples) vertical force on the tip in eV/Å, sampled every ``dz`` Å in approach
        order (index 0 = farthest from the sample).
    dz, amplitude, f0, k_cantilever : see :func:`df_weights` (Å, Å, Hz, N/m).

    Returns
    -------
    np.ndarray, float32, shape (..., n_samples - m + 1): Δf in Hz, index 0 farthest from the sample.
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
