"""Course helpers shared by the notebooks: quick mode and an environment report.

Every notebook has a cell tagged ``parameters`` that starts with
``QUICK = afmkit.course.quick_mode()``, so CI (``AFMKIT_QUICK=1``) runs it with tiny sizes
and a student runs it in full.
"""

from __future__ import annotations

import os
import platform

__all__ = [
    "environment_report",
    "pick",
    "quick_mode",
]

_TRUE = {"1", "true", "yes", "on"}


def quick_mode(default: bool = False) -> bool:
    """Whether ``AFMKIT_QUICK`` asks for quick mode (``1``, ``true``, ``yes`` or ``on``).

    Parameters
    ----------
    default : bool
        Returned when ``AFMKIT_QUICK`` is unset or empty.

    Returns
    -------
    bool
        True in quick mode (tiny sizes for CI), False for the full course.
    """
    value = os.environ.get("AFMKIT_QUICK", "").strip().lower()
    if not value:
        return default
    return value in _TRUE


def pick(quick: bool, quick_value, full_value):
    """``quick_value`` in quick mode, else ``full_value``.

    Parameters
    ----------
    quick : bool
        Quick mode on (usually :func:`quick_mode`'s answer).
    quick_value, full_value : object
        The values for quick mode and for the full run.

    Returns
    -------
    object
        ``quick_value`` if ``quick`` else ``full_value``.
    """
    return quick_value if quick else full_value


def _training_devices(backend: str) -> str:
    """One line: the devices the Keras backend trains on (GPU names, or the CPU)."""
    from afmkit.learn.train import gpu_names

    names = gpu_names()
    if names:
        return f"Training runs on GPU: {'; '.join(names)}"
    return f"Training runs on the CPU ({os.cpu_count()} cores): {backend} sees no GPU"


def environment_report() -> str:
    """A few lines saying what this kernel computes on: Python, Keras, GPU or CPU, OpenCL.

    Names the Keras backend and the devices it trains on (the GPUs it sees, or the CPU, so a
    JupyterHub user can tell whether a GPU profile worked) and the OpenCL devices.

    Also says what afmkit falls back to when no OpenCL device is found (NumPy, with one warning)
    and the hint conda users need (``ocl-icd-system``) to see a vendor driver.

    Returns
    -------
    str
        The report, one fact per line.
    """
    lines = [f"Python {platform.python_version()} on {platform.machine()}"]
    try:
        import keras

        lines.append(f"Keras {keras.__version__}, backend {keras.backend.backend()}")
        lines.append(_training_devices(keras.backend.backend()))
    except Exception as exc:  # pragma: no cover - keras is a dependency
        lines.append(f"Keras not importable: {exc}")
    try:
        import pyopencl as cl

        devices = [
            f"{p.name.strip()}: {d.name.strip()}"
            for p in cl.get_platforms()
            for d in p.get_devices()
        ]
    except Exception as exc:
        devices = []
        lines.append(f"OpenCL unavailable ({type(exc).__name__}: {exc})")
    if devices:
        lines.append("OpenCL devices: " + "; ".join(devices))
        lines.append("afmkit simulates with OpenCL on the first device (PoCL = your CPU cores).")
    else:
        lines.append(
            "No OpenCL device: afmkit falls back to its NumPy reference (about 10x slower). "
            "conda users: `conda install ocl-icd-system` lets pyopencl see a vendor driver."
        )
    return "\n".join(lines)
