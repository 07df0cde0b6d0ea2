"""Synthetic instrument files: afmkit writes simulated stacks the way the instruments do.

A simulated stack with a known answer, written as a Nanonis ``.sxm`` series
(:func:`write_sxm_series`), a Nanonis ``.3ds`` Δf(z) grid (:func:`write_3ds`), a Gwyddion
``.gwy`` file (:func:`write_gwy`) or afmkit's plain ``.npz`` (:func:`write_npz`), goes through
the same readers (:mod:`afmkit.experiments.readers`) as a real measurement: the tests, the
notebook and ``afmkit predict`` use them offline. The headers carry the fields a real file has
(scan frame, Z controller, oscillation controller, channel table), so the readers meet no
shortcut. :func:`synthetic_measurement` simulates a stack with afmkit's simulator and spoils it
with a known lateral drift and noise.

Units inside afmkit: Å, Hz, N/m; in the files: m, Hz, as the instruments write them. The
amplitude written is the zero-to-peak amplitude, in Nanonis's ``Oscillation
Control>Amplitude Setpoint (m)``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from afmkit.experiments.pseudo import scan_line_artefacts
from afmkit.experiments.stack import ExperimentStack
from afmkit.fileio import atomic_path
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import Molecule

__all__ = [
    "SYNTHETIC_DATE",
    "as_stack",
    "synthetic_measurement",
    "write_3ds",
    "write_gwy",
    "write_npz",
    "write_sxm_series",
]

#: Å → m.
A_TO_M = 1e-10
#: Recording time written into the headers (fixed, so the files are reproducible).
SYNTHETIC_DATE = _dt.datetime(2026, 1, 1, 12, 0, 0)
#: Nanonis Z of the closest slice written when none is given, m (Z grows away from the sample).
DEFAULT_Z_CLOSEST_M = -1.2e-9


def as_stack(data: ExperimentStack | np.ndarray, **metadata: Any) -> ExperimentStack:
    """An :class:`ExperimentStack` from a stack, or from an array and its metadata.

    Parameters
    ----------
    data : ExperimentStack or numpy.ndarray
        The stack, or Δf (nx, ny, n_slices) in Hz.
    **metadata
        For an array: the fields of :class:`ExperimentStack` (``pixel_size`` in Å is
        required, one value for square pixels or (dx, dy); ``heights`` Å, ``amplitude`` Å
        zero-to-peak, ``f0`` Hz, …). For a stack: fields to replace.

    Returns
    -------
    ExperimentStack
        The stack (a copy when fields were replaced).

    Raises
    ------
    ValueError
        An array without ``pixel_size``, or fields :class:`ExperimentStack` rejects.
    """
    if isinstance(data, ExperimentStack):
        return data.replace(**metadata) if metadata else data
    if metadata.get("pixel_size") is None:
        raise ValueError("an array needs pixel_size=(dx, dy) in Å to be written as an instrument "
                         "file")  # fmt: skip
    if np.ndim(metadata["pixel_size"]) == 0:  # one number: square pixels
        metadata["pixel_size"] = (float(metadata["pixel_size"]),) * 2
    return ExperimentStack(df=np.asarray(data), **metadata)


def _absolute_z(stack: ExperimentStack, z_closest_m: float) -> np.ndarray | None:
    """Nanonis Z of every slice, m: the closest at ``z_closest_m``, farther ones above it."""
    if stack.heights is None:
        return None
    return z_closest_m + (stack.heights - stack.heights.min()) * A_TO_M


def _rotate(x: np.ndarray, y: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    return c * x - s * y, s * x + c * y


# ---------------------------------------------------------------------------------------------
# Nanonis .sxm
# ---------------------------------------------------------------------------------------------
def _sxm_header(
    stack: ExperimentStack,
    name: str,
    z_m: float | None,
    channels: list[tuple[str, str, str]],
    scan_dir: str,
    amplitude_key: str,
    extra: dict[str, str] | None,
) -> bytes:
    nx, ny, _ = stack.shape
    w, h = (p * n * A_TO_M for p, n in zip(stack.pixel_size, (nx, ny), strict=True))
    cx, cy = (c * A_TO_M for c in stack.scan_center)
    line_time = 0.02 * nx / 32
    entries: list[tuple[str, str]] = [
        ("NANONIS_VERSION", "2"),
        ("SCANIT_TYPE", "              FLOAT            MSBFIRST"),
        ("REC_DATE", SYNTHETIC_DATE.strftime(" %d.%m.%Y")),
        ("REC_TIME", SYNTHETIC_DATE.strftime("%H:%M:%S")),
        ("REC_TEMP", "      5.0000000000"),
        ("ACQ_TIME", f"{2 * line_time * ny:12.1f}"),
        ("SCAN_PIXELS", f"{nx:10d}{ny:10d}"),
        ("SCAN_FILE", f"C:\\Data\\afmkit-synthetic\\{name}"),
        ("SCAN_TIME", f"{line_time:21.3E}{line_time:21.3E}"),
        ("SCAN_RANGE", f"{w:22.6E}{h:22.6E}"),
        ("SCAN_OFFSET", f"{cx:21.6E}{cy:21.6E}"),
        ("SCAN_ANGLE", f"{stack.scan_angle:20.3E}"),
        ("SCAN_DIR", scan_dir),
        ("BIAS", f"{0.0:20.3E}"),
        ("Z-CONTROLLER", "\tName\ton\tSetpoint\tP-gain\tI-gain\tT-const\n"
                         "\tlog Current\t0\t1.000E-10 A\t1.000E-12 m\t5.000E-9 m/s\t2.000E-4 s"),
        ("COMMENT", "synthetic constant-height image written by afmkit "
                    "(afmkit.experiments.instrument_files)"),
        ("NanonisMain>Session Path", "C:\\Data\\afmkit-synthetic"),
        ("NanonisMain>SW Version", "Generic 5"),
        ("NanonisMain>UI Release", "11796"),
        ("NanonisMain>RT Release", "11552"),
        ("Bias>Bias (V)", "0E+0"),
        ("Current>Current (A)", "1.2E-12"),
    ]
    if z_m is not None:
        entries.append(("Z-Controller>Z (m)", f"{z_m:.9E}"))
    entries += [
        ("Z-Controller>Controller name", "log Current"),
        ("Z-Controller>Controller status", "OFF"),
        ("Z-Controller>Setpoint", "100E-12"),
        ("Z-Controller>Setpoint unit", "A"),
        ("Z-Controller>P gain", "1E-12"),
        ("Z-Controller>I gain", "5E-9"),
        ("Z-Controller>Time const (s)", "200E-6"),
        ("Z-Controller>TipLift (m)", "0E+0"),
        ("Z-Controller>Switch off delay (s)", "0E+0"),
        ("Scan>Scanfield", f"{cx:.6E};{cy:.6E};{w:.6E};{h:.6E};{stack.scan_angle:.6E}"),
        ("Scan>series name", name.rsplit(".", 1)[0].rstrip("0123456789")),
        ("Scan>channels", ";".join(f"{n} ({u})" for n, u, _ in channels)),
        ("Scan>pixels/line", str(nx)),
        ("Scan>lines", str(ny)),
        ("Scan>speed forw. (m/s)", f"{w / line_time:.6E}"),
        ("Scan>speed backw. (m/s)", f"{w / line_time:.6E}"),
    ]
    if stack.amplitude is not None:
        entries.append((amplitude_key, f"{stack.amplitude * A_TO_M:.6E}"))
    if stack.f0 is not None:
        entries.append(("Oscillation Control>Center Frequency (Hz)", f"{stack.f0:.6E}"))
    entries += [
        ("Oscillation Control>Range (Hz)", "200E+0"),
        ("Oscillation Control>Harmonic", "1"),
        ("Oscillation Control>Reference Phase (deg)", "0E+0"),
        ("Oscillation Control>PLL-Setup Q-Factor", "50E+3"),
    ]
    entries += list((extra or {}).items())
    rows = ["\tChannel\tName\tUnit\tDirection\tCalibration\tOffset"]
    for number, (chan, unit, direction) in enumerate(channels):
        rows.append(f"\t{number}\t{chan.replace(' ', '_')}\t{unit}\t{direction}\t"
                    "1.000E+0\t0.000E+0")  # fmt: skip
    entries.append(("DATA_INFO", "\n".join(rows) + "\n"))
    text = "".join(f":{key}:\n{value}\n" for key, value in entries) + ":SCANIT_END:\n\n\n"
    return text.encode("latin-1")


def _stored(image: np.ndarray, backward: bool, scan_dir: str) -> np.ndarray:
    """An afmkit (x, y) image in the (lines, pixels) order of an .sxm, float32 big-endian."""
    rows = image.T  # (ny, nx), row j at y_j (bottom first)
    if scan_dir == "down":
        rows = rows[::-1]
    if backward:
        rows = rows[:, ::-1]
    return np.ascontiguousarray(rows, dtype=">f4")


def write_sxm_series(
    stack: ExperimentStack | np.ndarray,
    folder: str | Path,
    prefix: str = "constant_height_",
    channel: str = "OC M1 Freq. Shift",
    unit: str = "Hz",
    directions: str = "both",
    backward: np.ndarray | None = None,
    scan_dir: str = "up",
    z_closest_m: float = DEFAULT_Z_CLOSEST_M,
    amplitude_key: str = "Oscillation Control>Amplitude Setpoint (m)",
    extra_header: dict[str, str] | None = None,
    **metadata: Any,
) -> list[Path]:
    """Write a stack as a series of Nanonis ``.sxm`` files, one per slice.

    Each file holds the channels ``Z`` (m, the slice's constant Z), ``Current`` (A, zero) and
    the Δf channel, each forward and backward (``directions="both"``) or forward only.

    Parameters
    ----------
    stack : ExperimentStack or numpy.ndarray
        The stack; an array (nx, ny, n_slices) in Hz with ``metadata`` (``pixel_size`` Å, …).
    folder : str or Path
        Where the files go (created); named ``<prefix>001.sxm``, … in slice order (far → close).
    prefix : str
        File name prefix.
    channel : str
        Name of the Δf channel (``"OC M1 Freq. Shift"``; spaces become ``_`` in DATA_INFO, as
        Nanonis writes them).
    unit : str
        Unit written for it (the data are written as given: tests write ``"V"`` here).
    directions : str
        ``"both"`` or ``"forward"``.
    backward : numpy.ndarray, optional
        (nx, ny, n_slices) backward Δf, Hz; default the forward data.
    scan_dir : str
        ``"up"`` (first line at the bottom) or ``"down"``.
    z_closest_m : float
        Nanonis ``Z-Controller>Z (m)`` of the closest slice, m; the others lie ``heights``
        above it. Not written when the stack has no heights.
    amplitude_key : str
        Header field for the amplitude (zero-to-peak, m); a field whose name says
        peak-to-peak gets the same number (tests use it to check the readers' halving).
    extra_header : dict, optional
        More ``key → value`` header fields (appended, or replacing nothing).
    **metadata
        :class:`ExperimentStack` fields for an array, or replacements for a stack.

    Returns
    -------
    list of Path
        The files, slice 0 first.

    Raises
    ------
    ValueError
        Bad ``directions``, ``scan_dir`` or ``backward`` shape, or metadata the stack rejects.
    """
    stack = as_stack(stack, **metadata)
    if directions not in ("both", "forward"):
        raise ValueError(f"directions must be 'both' or 'forward', got {directions!r}")
    if scan_dir not in ("up", "down"):
        raise ValueError(f"scan_dir must be 'up' or 'down', got {scan_dir!r}")
    back = stack.df if backward is None else np.asarray(backward, dtype=float)
    if back.shape != stack.shape:
        raise ValueError(f"backward must have the stack's shape {stack.shape}, got {back.shape}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    zs = _absolute_z(stack, z_closest_m)
    both = directions == "both"
    channels = [("Z", "m", directions), ("Current", "A", directions), (channel, unit, directions)]
    paths = []
    for k in range(stack.n_slices):
        name = f"{prefix}{k + 1:03d}.sxm"
        z = None if zs is None else float(zs[k])
        header = _sxm_header(stack, name, z, channels, scan_dir, amplitude_key, extra_header)
        z_img = np.full(stack.shape[:2], np.nan if z is None else z)
        current = np.zeros(stack.shape[:2])
        blocks = []
        for fwd, bwd in ((z_img, z_img), (current, current), (stack.df[:, :, k], back[:, :, k])):
            blocks.append(_stored(fwd, False, scan_dir))
            if both:
                blocks.append(_stored(bwd, True, scan_dir))
        path = folder / name
        with atomic_path(path) as tmp, open(tmp, "wb") as out:
            out.write(header + b"\x1a\x04")
            for block in blocks:
                out.write(block.tobytes())
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# Nanonis .3ds
# ---------------------------------------------------------------------------------------------
def write_3ds(
    stack: ExperimentStack | np.ndarray,
    path: str | Path,
    channel: str = "OC M1 Freq. Shift",
    unit: str = "Hz",
    backward: bool = False,
    z_closest_m: float = DEFAULT_Z_CLOSEST_M,
    **metadata: Any,
) -> Path:
    """Write a stack as a Nanonis ``.3ds`` Δf(z) grid: one z sweep per pixel at the slices.

    The sweep of every pixel goes from the farthest slice's Z to the closest one's (``Sweep
    Start`` / ``Sweep End``, m), ``Points`` = the number of slices, so the heights must be
    evenly spaced. Channels: the Δf channel (and its ``[bwd]`` twin with ``backward``, the same
    values) and ``Current (A)`` (zero). The rows of pixels go bottom → top (a grid is always
    recorded "up"); pixels that are NaN in every slice are written as NaN (an aborted grid).

    Parameters
    ----------
    stack : ExperimentStack or numpy.ndarray
        The stack (heights required), or an array (nx, ny, n_slices) in Hz with ``metadata``.
    path : str or Path
        The file.
    channel, unit : str
        Δf channel name and unit (written as ``"<channel> (<unit>)"``).
    backward : bool
        Also write the backward sweep.
    z_closest_m : float
        Z of the closest slice, m.
    **metadata
        :class:`ExperimentStack` fields for an array, or replacements for a stack.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        No heights, or heights not evenly spaced (a linear sweep cannot hold them).
    """
    stack = as_stack(stack, **metadata)
    if stack.heights is None:
        raise ValueError("write_3ds needs the stack's heights (Å) for the z sweep")
    nx, ny, n = stack.shape
    z = _absolute_z(stack, z_closest_m)
    if n > 1 and not np.allclose(np.diff(z), np.diff(z)[0], rtol=1e-6, atol=1e-15):
        raise ValueError(f"write_3ds needs evenly spaced heights (a linear sweep), got "
                         f"{stack.heights.tolist()} Å")  # fmt: skip
    names = [f"{channel} ({unit})", "Current (A)"]
    if backward:
        names.insert(1, f"{channel} [bwd] ({unit})")
    params = ["X (m)", "Y (m)", "Z (m)", "Z offset (m)", "Settling time (s)",
              "Integration time (s)", "Z-Ctrl hold", "Final Z (m)"]  # fmt: skip
    w, h = (p * m * A_TO_M for p, m in zip(stack.pixel_size, (nx, ny), strict=True))
    cx, cy = (c * A_TO_M for c in stack.scan_center)
    lines = [
        f'Grid dim="{nx} x {ny}"',
        f"Grid settings={cx:.6E};{cy:.6E};{w:.6E};{h:.6E};{stack.scan_angle:.6E}",
        "Filetype=Linear",
        'Sweep Signal="Z (m)"',
        'Fixed parameters="Sweep Start;Sweep End"',
        f'Experiment parameters="{";".join(params)}"',
        f"# Parameters (4 byte)={2 + len(params)}",
        f"Experiment size (bytes)={4 * n * len(names)}",
        f"Points={n}",
        f'Channels="{";".join(names)}"',
        "Delay before measuring (s)=0.000000E+0",
        'Experiment="Grid Spectroscopy"',
        f'Start time="{SYNTHETIC_DATE:%d.%m.%Y %H:%M:%S}"',
        f'End time="{SYNTHETIC_DATE:%d.%m.%Y %H:%M:%S}"',
        "User=",
        'Comment="synthetic Z spectroscopy grid written by afmkit"',
        "Z Spectroscopy>Integration time (s)=10E-3",
        "Z Spectroscopy>Settling time (s)=5E-3",
        "Z Spectroscopy>Z-controller hold=TRUE",
        f"Z-Controller>Z (m)={float(z[-1]):.9E}",
        "Z-Controller>Controller status=OFF",
    ]
    if stack.amplitude is not None:
        amp = stack.amplitude * A_TO_M
        lines.append(f"Oscillation Control>Amplitude Setpoint (m)={amp:.6E}")
    if stack.f0 is not None:
        lines.append(f"Oscillation Control>Center Frequency (Hz)={stack.f0:.6E}")
    header = ("\r\n".join(lines) + "\r\n:HEADER_END:\r\n").encode("latin-1")
    # per pixel (rows bottom → top, x fastest): fixed + experiment parameters, then the curves
    df = np.transpose(stack.df, (1, 0, 2))  # (ny, nx, n)
    measured = ~np.isnan(df).all(axis=2)
    xs = (np.arange(nx) - (nx - 1) / 2) * stack.pixel_size[0] * A_TO_M
    ys = (np.arange(ny) - (ny - 1) / 2) * stack.pixel_size[1] * A_TO_M
    gx, gy = _rotate(*np.meshgrid(xs, ys), stack.scan_angle)
    block = np.zeros((ny, nx, 2 + len(params) + n * len(names)))
    block[:, :, 0], block[:, :, 1] = z[0], z[-1]
    block[:, :, 2], block[:, :, 3], block[:, :, 4] = gx + cx, gy + cy, z[-1]
    block[:, :, 6:8] = (10e-3, 5e-3)
    block[:, :, 8], block[:, :, 9] = 1.0, z[-1]
    start = 2 + len(params)
    block[:, :, start:start + n] = df
    if backward:
        block[:, :, start + n:start + 2 * n] = df
    block[~measured] = np.nan
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(header)
        out.write(np.ascontiguousarray(block, dtype=">f4").tobytes())
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Gwyddion .gwy and plain .npz
# ---------------------------------------------------------------------------------------------
def write_gwy(
    stack: ExperimentStack | np.ndarray,
    path: str | Path,
    title: str = "OC M1 Freq. Shift",
    unit: str = "Hz",
    backward: bool = False,
    topography: bool = True,
    z_closest_m: float = DEFAULT_Z_CLOSEST_M,
    **metadata: Any,
) -> Path:
    """Write a stack as a Gwyddion ``.gwy`` file: one data field per slice (and direction).

    Fields ``/0/data``, ``/1/data``, … are titled ``"<title> (Forward)"`` (and ``(Backward)``
    with ``backward``, the same values), in slice order; each has a ``/N/meta`` container with
    the Nanonis header fields Gwyddion's importer keeps (``Z-Controller>Z (m)``, ``SCAN_ANGLE``,
    ``SCAN_OFFSET``, the oscillation controller). Gwyddion's row 0 is the top of the image, so
    afmkit's y axis is reversed on the way out. With ``topography`` a last field ``Z`` (m) is
    added, as an .sxm import has one, for the readers to leave out.

    Parameters
    ----------
    stack : ExperimentStack or numpy.ndarray
        The stack, or an array (nx, ny, n_slices) in Hz with ``metadata``.
    path : str or Path
        The file.
    title, unit : str
        Δf field title and z unit.
    backward : bool
        Also write backward fields.
    topography : bool
        Add a ``Z`` field (m).
    z_closest_m : float
        Z of the closest slice, m.
    **metadata
        :class:`ExperimentStack` fields for an array, or replacements for a stack.

    Returns
    -------
    Path
        ``path``.
    """
    from gwyfile.objects import GwyContainer, GwyDataField, GwySIUnit

    stack = as_stack(stack, **metadata)
    nx, ny, n = stack.shape
    xreal, yreal = (p * m * A_TO_M for p, m in zip(stack.pixel_size, (nx, ny), strict=True))
    cx, cy = (c * A_TO_M for c in stack.scan_center)
    zs = _absolute_z(stack, z_closest_m)
    container = GwyContainer()

    def add(index: int, image: np.ndarray, name: str, z_unit: str, meta: dict[str, str]) -> None:
        data = np.ascontiguousarray(image.T[::-1], dtype=np.float64)  # (yres, xres), top first
        container[f"/{index}/data"] = GwyDataField(
            data, xreal=xreal, yreal=yreal, xoff=cx - xreal / 2, yoff=cy - yreal / 2,
            si_unit_xy=GwySIUnit(unitstr="m"), si_unit_z=GwySIUnit(unitstr=z_unit),
        )
        container[f"/{index}/data/title"] = name
        container[f"/{index}/meta"] = GwyContainer(meta)

    directions = ["Forward", "Backward"] if backward else ["Forward"]
    index = 0
    for k in range(n):
        meta = {"SCAN_ANGLE": f"{stack.scan_angle:.6E}",
                "SCAN_OFFSET": f"{cx:.6E} {cy:.6E}",
                "SCAN_DIR": "up",
                "Z-Controller>Controller status": "OFF"}  # fmt: skip
        if zs is not None:
            meta["Z-Controller>Z (m)"] = f"{float(zs[k]):.9E}"
        if stack.amplitude is not None:
            amp = stack.amplitude * A_TO_M
            meta["Oscillation Control>Amplitude Setpoint (m)"] = f"{amp:.6E}"
        if stack.f0 is not None:
            meta["Oscillation Control>Center Frequency (Hz)"] = f"{stack.f0:.6E}"
        for direction in directions:
            add(index, stack.df[:, :, k], f"{title} ({direction})", unit, meta)
            index += 1
    if topography:
        z_img = np.full(stack.shape[:2], DEFAULT_Z_CLOSEST_M if zs is None else float(zs[-1]))
        add(index, z_img, "Z (Forward)", "m", {"SCAN_ANGLE": f"{stack.scan_angle:.6E}"})
    with atomic_path(path) as tmp:
        container.tofile(str(tmp))
    return Path(path)


def write_npz(stack: ExperimentStack | np.ndarray, path: str | Path, **metadata: Any) -> Path:
    """Write a stack as afmkit's plain ``.npz``: ``df`` and the metadata as arrays.

    Arrays: ``df`` (nx, ny, n_slices) Hz, ``pixel_size`` (2,) Å, ``scan_angle`` °,
    ``scan_center`` (2,) Å, and where known ``heights`` (n_slices,) Å, ``amplitude`` (Å,
    zero-to-peak), ``f0`` Hz, ``k_cantilever`` N/m; read back by
    :func:`afmkit.experiments.readers.read_numpy`.

    Parameters
    ----------
    stack : ExperimentStack or numpy.ndarray
        The stack, or an array with ``metadata``.
    path : str or Path
        The file (``.npz``).
    **metadata
        :class:`ExperimentStack` fields for an array, or replacements for a stack.

    Returns
    -------
    Path
        ``path``.
    """
    stack = as_stack(stack, **metadata)
    arrays = {"df": stack.df, "pixel_size": np.array(stack.pixel_size),
              "scan_angle": np.array(stack.scan_angle), "scan_center": np.array(stack.scan_center)}
    for name in ("heights", "amplitude", "f0", "k_cantilever"):
        if getattr(stack, name) is not None:
            arrays[name] = np.asarray(getattr(stack, name), dtype=float)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return Path(path)


# ---------------------------------------------------------------------------------------------
# a simulated measurement with a known drift
# ---------------------------------------------------------------------------------------------
def _drift_path(drift_px: float | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) drift in px: a given path, or a random walk with the closest slice fixed."""
    if np.ndim(drift_px) == 0:
        steps = rng.normal(0.0, float(drift_px), size=(n, 2))
        steps[-1] = 0.0
        return np.cumsum(steps[::-1], axis=0)[::-1]  # walk from the closest slice upwards
    path = np.asarray(drift_px, dtype=float)
    if path.shape != (n, 2):
        raise ValueError(f"drift_px must be a σ in px or an ({n}, 2) path in px, got shape "
                         f"{path.shape}")  # fmt: skip
    return path.copy()


def synthetic_measurement(
    mol: Molecule,
    params: SimulationParams | None = None,
    drift_px: float | np.ndarray = 0.3,
    noise: float = 0.05,
    seed: int = 0,
    line_offsets: float = 0.0,
) -> tuple[ExperimentStack, np.ndarray]:
    """A simulated constant-height measurement of ``mol`` with a known drift and noise.

    The stack is simulated with :class:`AFMSimulator`; slice ``k`` is then shifted by
    ``drift[k]`` pixels (cubic spline, sub-pixel, edges continued), so that the measured image
    shows the true one displaced by ``drift[k]``: ``measured(x, y) = true(x − dx, y − dy)``
    (in px, along the array's x and y axes). Undo it by shifting slice ``k`` by ``−drift[k]``.
    Then white noise of σ = ``noise`` Hz and, optionally, a random offset per scan line
    (:func:`afmkit.experiments.pseudo.scan_line_artefacts`) are added.

    Parameters
    ----------
    mol : Molecule
        The molecule (Å), imaged as it is oriented.
    params : SimulationParams, optional
        Simulation parameters (scan window Å, pixels, slices, amplitude zero-to-peak Å, f0 Hz,
        k_cantilever N/m); default :class:`SimulationParams` ().
    drift_px : float or numpy.ndarray
        σ of each step of a random-walk drift between consecutive slices, px (the closest slice
        undrifted, as thermal drift is usually referred to the last image), or the whole path
        (n_slices, 2) in px.
    noise : float
        σ of the white noise, Hz.
    seed : int
        Seed of the ``numpy.random.Generator`` (drift first, then noise, then line offsets).
    line_offsets : float
        σ of a per-scan-line offset relative to each slice's Δf std (0: none).

    Returns
    -------
    stack : ExperimentStack
        Δf (nx, ny, n_slices) Hz, slice 0 farthest; pixel size ``scan_size / (pixels − 1)``
        Å, heights relative to the closest slice (Å), scan centre the simulator's (Å),
        amplitude, f0 and stiffness of ``params``; ``metadata["synthetic"]`` records the
        drift, noise and seed.
    drift : numpy.ndarray
        (n_slices, 2) true drift of every slice, px (x, y).

    Raises
    ------
    ValueError
        A drift path of the wrong shape, or a negative noise.
    """
    if noise < 0:
        raise ValueError(f"noise must be ≥ 0 Hz, got {noise}")
    params = params or SimulationParams()
    sim = AFMSimulator(params)
    clean = np.asarray(sim(mol), dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = clean.shape[2]
    drift = _drift_path(drift_px, n, rng)
    df = np.empty_like(clean)
    for k in range(n):  # one sub-pixel shift per slice
        df[:, :, k] = ndimage.shift(clean[:, :, k], drift[k], order=3, mode="nearest")
    if noise:
        df += rng.normal(0.0, noise, size=df.shape)
    if line_offsets:
        df = scan_line_artefacts(df, rng, line_offsets, 0.0, 0.0).astype(np.float64)
    nx, ny = params.pixels
    heights = params.slice_heights()
    center = sim.last_center_xy if sim.last_center_xy is not None else (0.0, 0.0)
    stack = ExperimentStack(
        df=df,
        pixel_size=(params.scan_size[0] / (nx - 1), params.scan_size[1] / (ny - 1)),
        heights=heights - heights.min(),
        scan_center=(float(center[0]), float(center[1])),
        amplitude=params.amplitude,
        f0=params.f0,
        k_cantilever=params.k_cantilever,
        channel="simulated Δf",
        metadata={"synthetic": {"molecule": getattr(mol, "name", ""), "seed": seed,
                                "noise_hz": noise, "line_offsets": line_offsets,
                                "drift_px": drift.tolist(), "clean": clean}},
    )
    return stack, drift

