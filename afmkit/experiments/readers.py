r"""Instrument files → :class:`~afmkit.experiments.stack.ExperimentStack`: the readers only read.

Formats (:func:`read_experiment` picks the reader by extension):

* **Nanonis** ``.sxm`` (:func:`read_sxm_series`): a *series* of constant-height images, one file
  per tip height. A text header of ``:KEY:`` lines, each followed by its value lines, ends with
  ``:SCANIT_END:``; then the bytes ``\x1a\x04`` and the images as 4-byte floats (big-endian for
  ``SCANIT_TYPE`` ``FLOAT MSBFIRST``), for every channel of ``DATA_INFO`` its forward image and/or
  its backward image (column ``Direction``), each ``SCAN_PIXELS`` = (pixels per line, lines),
  row after row in the order they were scanned. Backward images are stored mirrored in x. With
  ``SCAN_DIR`` ``up`` the first stored line is the bottom one (lowest y), with ``down`` the top
  one; the reader turns every image into afmkit's axes (x, y) with y growing with the index.
  The pixel size is ``SCAN_RANGE / SCAN_PIXELS`` (m → Å), the tip height of each file the
  ``Z-Controller>Z (m)`` field (Nanonis Z grows away from the sample).
* **Nanonis** ``.3ds`` grid spectroscopy (:func:`read_3ds`): a Δf(z) sweep at every pixel of a
  grid; the reader interpolates each pixel's sweep at the chosen heights.
* **Gwyddion** ``.gwy`` (:func:`read_gwy`, through the PyPI package ``gwyfile``): a container
  with data fields ``/0/data``, ``/1/data``, …, one per slice, with titles, units and ``/N/meta``.
* ``.npy`` / ``.npz`` (:func:`read_numpy`): plain arrays; the pixel size must be given.

Every problem with a file is a :class:`InstrumentFileError` (a ValueError) naming the file and
the field, or a :func:`warnings.warn` naming the field (a :class:`InstrumentFileWarning`); the
readers never guess silently. What they assumed or converted is listed in
``stack.metadata["notes"]``. Pixels that were not measured (the NaN lines of an aborted scan)
stay NaN, with a warning saying how many: :mod:`afmkit.experiments.preparation` deals with them.
"""

from __future__ import annotations

import glob as globlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from afmkit.experiments.stack import ExperimentStack

__all__ = [
    "AMPLITUDE_CONVENTIONS",
    "InstrumentFileError",
    "InstrumentFileWarning",
    "READERS",
    "find_df_channel",
    "read_3ds",
    "read_experiment",
    "read_gwy",
    "read_numpy",
    "read_sxm_header",
    "read_sxm_series",
]

#: m → Å.
M_TO_ANGSTROM = 1e10
#: Accepted values of ``amplitude_convention``.
AMPLITUDE_CONVENTIONS = ("zero-to-peak", "peak-to-peak")
#: Frequency units the readers convert to Hz.
_HZ_UNITS = {"hz": 1.0, "mhz": 1e-3, "khz": 1e3}
#: Header fields of the Nanonis oscillation controller (amplitude in m, f0 in Hz).
_AMPLITUDE_KEYS = (
    "Oscillation Control>Amplitude Setpoint (m)",
    "Oscillation Control>Amplitude (m)",
)
_F0_KEYS = (
    "Oscillation Control>Center Frequency (Hz)",
    "Oscillation Control>Resonance Frequency (Hz)",
)
_K_KEYS = ("Oscillation Control>Cantilever Stiffness (N/m)", "Cantilever>Stiffness (N/m)")
_Z_KEY = "Z-Controller>Z (m)"
#: Relative tolerance for "the same" pixel size, amplitude or f0 across a series.
_RTOL = 1e-4


class InstrumentFileError(ValueError):
    """An instrument file cannot be read as asked; the message names the file and the field.

    Parameters
    ----------
    path : str or Path
        The file.
    field : str
        The header field, channel or argument at fault.
    message : str
        What is wrong and what to do.
    """

    def __init__(self, path: str | Path, field: str, message: str) -> None:
        self.path = str(path)
        self.field = field
        super().__init__(f"{path}: {field}: {message}")


class InstrumentFileWarning(UserWarning):
    """Something in an instrument file is odd but readable; the message names the field."""


def _warn(path: str | Path, field: str, message: str) -> str:
    text = f"{path}: {field}: {message}"
    warnings.warn(text, InstrumentFileWarning, stacklevel=3)
    return text


# ---------------------------------------------------------------------------------------------
# names, units and amplitudes
# ---------------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    """Channel name for comparisons: lower case, ``_`` as space, one space, no unit suffix."""
    name = re.sub(r"\s*\(([^()]*)\)\s*$", "", name.replace("_", " "))
    return " ".join(name.lower().split())


def _unit_in_name(name: str) -> str | None:
    """The unit in a trailing ``(…)`` of a channel name (``"OC M1 Freq. Shift (Hz)"`` → Hz)."""
    m = re.search(r"\(([^()]*)\)\s*$", name)
    return m.group(1).strip() if m else None


def _looks_like_df(name: str) -> bool:
    n = _norm(name)
    return ("freq" in n and "shift" in n) or n in ("df", "delta f", "δf") or n.startswith(
        ("df ", "δf "))  # fmt: skip


def _hz_factor(path: str | Path, field: str, unit: str | None) -> float:
    """Factor that turns values in ``unit`` into Hz; an unknown unit is an error."""
    factor = _HZ_UNITS.get((unit or "").strip().lower())
    if factor is None:
        raise InstrumentFileError(path, field, f"unit {unit!r} is not a frequency unit (Hz, kHz, "
                                  "mHz); pick the frequency-shift channel with channel=...")
    return factor


def find_df_channel(
    names: Sequence[str], units: Sequence[str | None], path: str | Path, channel: str | None = None
) -> int:
    """Index of the frequency-shift channel among ``names``.

    Parameters
    ----------
    names : sequence of str
        Channel names as the file spells them (``"OC_M1_Freq._Shift"``, ``"Frequency Shift"``).
    units : sequence of str or None
        Their units (None where the file gives none).
    path : str or Path
        The file, for messages.
    channel : str, optional
        The caller's choice (compared without case, ``_`` = space, unit suffix ignored); None:
        the one channel whose name says frequency shift (or Δf, df) or, failing that, the one
        channel in Hz.

    Returns
    -------
    int
        Index into ``names``.

    Raises
    ------
    InstrumentFileError
        No channel of that name, no frequency-shift channel, or several candidates (the message
        lists them: pass ``channel=``).
    """
    listed = ", ".join(repr(n) for n in names)
    if channel is not None:
        hits = [i for i, n in enumerate(names) if _norm(n) == _norm(channel)]
        if not hits:
            raise InstrumentFileError(path, "channel", f"no channel {channel!r}; the file has "
                                      f"{listed}")  # fmt: skip
        return hits[0]
    hits = [i for i, n in enumerate(names) if _looks_like_df(n)]
    if not hits:
        hits = [i for i, u in enumerate(units) if (u or "").strip().lower() in _HZ_UNITS]
    if not hits:
        raise InstrumentFileError(path, "channel", "no frequency-shift channel (a name like "
                                  f"'OC M1 Freq. Shift' or a unit in Hz) among {listed}; pass "
                                  "channel=... to choose one")  # fmt: skip
    if len(hits) > 1:
        which = ", ".join(repr(names[i]) for i in hits)
        raise InstrumentFileError(path, "channel", f"several frequency-shift channels ({which});"
                                  " pass channel=... to choose one")  # fmt: skip
    return hits[0]


def _check_convention(convention: str | None, what: str) -> str:
    if convention not in AMPLITUDE_CONVENTIONS:
        raise ValueError(f"{what}: amplitude_convention must be one of {AMPLITUDE_CONVENTIONS} "
                         f"when an amplitude is given, got {convention!r}")  # fmt: skip
    return convention


def _caller_amplitude(
    amplitude: float | None, convention: str | None, notes: list[str], what: str
) -> float | None:
    """The caller's amplitude (Å) as zero-to-peak, the conversion noted."""
    if amplitude is None:
        return None
    convention = _check_convention(convention, what)
    if convention == "peak-to-peak":
        notes.append(f"amplitude {amplitude:g} Å given peak-to-peak: halved to "
                     f"{amplitude / 2:g} Å zero-to-peak")  # fmt: skip
        return float(amplitude) / 2
    notes.append(f"amplitude {amplitude:g} Å given zero-to-peak")
    return float(amplitude)


def _header_amplitude(header: dict[str, str], notes: list[str]) -> float | None:
    """Oscillation amplitude (Å, zero-to-peak) from a Nanonis header, the assumption noted.

    A field whose name says peak-to-peak (``p-p``, ``pp``, ``peak-to-peak``) is halved; the
    Nanonis ``Amplitude Setpoint (m)`` is the zero-to-peak amplitude of the oscillation.
    """
    keys = [k for k in header if k in _AMPLITUDE_KEYS or re.search(
        r"amplitude.*(p-p|pp|peak.to.peak)", k, re.IGNORECASE)]  # fmt: skip
    for key in keys:
        value = _float(header[key])
        if value is None or not value > 0:
            continue
        angstrom = value * M_TO_ANGSTROM
        if re.search(r"(p-p|\bpp\b|peak.to.peak)", key, re.IGNORECASE):
            notes.append(f"amplitude from {key!r} = {angstrom:g} Å peak-to-peak, halved to "
                         f"{angstrom / 2:g} Å zero-to-peak")  # fmt: skip
            return angstrom / 2
        notes.append(f"amplitude from {key!r} = {angstrom:g} Å, taken as zero-to-peak "
                     "(Nanonis's oscillation amplitude)")  # fmt: skip
        return angstrom
    return None


def _header_value(header: dict[str, str], keys: Sequence[str]) -> float | None:
    for key in keys:
        if key in header and (v := _float(header[key])) is not None and v > 0:
            return v
    return None


def _float(text: Any) -> float | None:
    try:
        return float(str(text).strip().split()[0].strip('"'))
    except (ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------
# one image per file, combined into a stack
# ---------------------------------------------------------------------------------------------
@dataclass
class _Frame:
    """One constant-height image as read from one file (or one field of a .gwy)."""

    source: str
    df: np.ndarray  # (nx, ny) Hz
    pixel_size: tuple[float, float]  # Å
    center: tuple[float, float] = (0.0, 0.0)  # Å
    angle: float = 0.0  # deg
    z: float | None = None  # Å, the file's absolute tip z (grows away from the sample)
    amplitude: float | None = None  # Å zero-to-peak
    f0: float | None = None  # Hz
    k: float | None = None  # N/m
    channel: str = ""
    direction: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _agree(values: list[float | None], frames: list[_Frame], field_name: str) -> float | None:
    """The common value of a per-file quantity; a spread warns and the mean is used."""
    known = [(v, f.source) for v, f in zip(values, frames, strict=True) if v is not None]
    if not known:
        return None
    arr = np.array([v for v, _ in known])
    if np.ptp(arr) > _RTOL * np.abs(arr).max():
        listing = ", ".join(f"{Path(s).name}: {v:g}" for v, s in known)
        _warn(frames[0].source, field_name, f"differs across the series ({listing}); using "
              f"the mean {arr.mean():g}")  # fmt: skip
    if len(known) < len(frames):
        _warn(frames[0].source, field_name, f"given in only {len(known)} of {len(frames)} "
              "files; using those")  # fmt: skip
    return float(arr.mean())


def _combine(
    frames: list[_Frame],
    heights: Sequence[float] | None,
    amplitude: float | None,
    amplitude_convention: str | None,
    f0: float | None,
    k_cantilever: float | None,
    reader: str,
) -> ExperimentStack:
    """Stack frames far → close, checking that they belong together."""
    first = frames[0]
    notes: list[str] = []
    for f in frames[1:]:
        if f.df.shape != first.df.shape:
            raise InstrumentFileError(f.source, "SCAN_PIXELS", f"image is {f.df.shape} px but "
                                      f"{first.source} is {first.df.shape}: a series needs one "
                                      "pixel grid")  # fmt: skip
        if not np.allclose(f.pixel_size, first.pixel_size, rtol=_RTOL, atol=0):
            raise InstrumentFileError(f.source, "SCAN_RANGE", f"pixel size {f.pixel_size} Å "
                                      f"differs from {first.source}'s {first.pixel_size} Å")
        if abs(f.angle - first.angle) > 1e-6:
            raise InstrumentFileError(f.source, "SCAN_ANGLE", f"scan angle {f.angle:g}° differs "
                                      f"from {first.source}'s {first.angle:g}°")  # fmt: skip
    centers = np.array([f.center for f in frames])
    if np.ptp(centers, axis=0).max() > 1e-3:
        _warn(first.source, "SCAN_OFFSET", "scan centres differ across the series by up to "
              f"{np.ptp(centers, axis=0).max():.3g} Å (drift compensation?); the first file's "
              "centre is kept, the others are in metadata['centers']")  # fmt: skip
    n = len(frames)
    zs = [f.z for f in frames]
    file_heights = None
    if all(z is not None for z in zs):
        z = np.array(zs, dtype=float)
        file_heights = z - z.min()
        _check_distinct(file_heights, frames, _Z_KEY)
    if heights is not None:
        given = np.asarray(heights, dtype=float).reshape(-1)
        if given.shape != (n,) or not np.isfinite(given).all():
            raise InstrumentFileError(first.source, "heights", f"{given.size} heights given for "
                                      f"{n} files/fields (Å, one per file, in the order given)")
        given = given - given.min()
        _check_distinct(given, frames, "heights")
        if file_heights is not None and not np.allclose(given, file_heights, atol=0.01):
            raise InstrumentFileError(first.source, "heights", f"given heights {given.tolist()} Å"
                                      f" contradict the files' {_Z_KEY} values, which give "
                                      f"{np.round(file_heights, 4).tolist()} Å")  # fmt: skip
        rel = given
        notes.append("heights given by the caller")
    elif file_heights is not None:
        rel = file_heights
        notes.append(f"heights from {_Z_KEY} (relative to the closest file)")
    else:
        rel = None
        missing = [Path(f.source).name for f, z in zip(frames, zs, strict=True) if z is None]
        _warn(first.source, _Z_KEY, f"no tip height in {', '.join(missing)}; slices kept in the "
              "order given (slice 0 taken as the farthest), heights None; pass heights=...")
    order = np.argsort(-rel, kind="stable") if rel is not None else np.arange(n)
    if rel is not None and not np.array_equal(order, np.arange(n)):
        notes.append("files sorted far → close by height")
    frames = [frames[i] for i in order]
    df = np.stack([f.df for f in frames], axis=2)
    _warn_nan_lines(df, [f.source for f in frames])
    amp = _caller_amplitude(amplitude, amplitude_convention, notes, reader)
    if amp is None:
        amp = _agree([f.amplitude for f in frames], frames, "amplitude")
    f0 = f0 if f0 is not None else _agree([f.f0 for f in frames], frames, "f0")
    k = k_cantilever if k_cantilever is not None else _agree([f.k for f in frames], frames, "k")
    notes.extend(_merge_notes(frames))
    return ExperimentStack(
        df=df,
        pixel_size=first.pixel_size,
        heights=None if rel is None else rel[order],
        scan_center=first.center,
        scan_angle=first.angle,
        amplitude=amp,
        f0=f0,
        k_cantilever=k,
        channel=first.channel,
        direction=first.direction,
        sources=[f.source for f in frames],
        metadata={
            "reader": reader,
            "headers": [f.header for f in frames],
            "centers": [f.center for f in frames],
            "notes": notes,
        },
    )


def _merge_notes(frames: list[_Frame]) -> list[str]:
    """Per-file notes, each said once: with the files it concerns unless it concerns all."""
    where: dict[str, list[str]] = {}
    for f in frames:
        for note in f.notes:
            where.setdefault(note, []).append(Path(f.source).name)
    return [note if len(names) == len(frames) else f"{', '.join(names)}: {note}"
            for note, names in where.items()]  # fmt: skip


def _check_distinct(rel: np.ndarray, frames: list[_Frame], field_name: str) -> None:
    """Two slices at the same height contradict a constant-height series."""
    r = np.sort(rel)
    if r.size > 1 and np.diff(r).min() < 1e-3:
        i = int(np.argmin(np.diff(np.sort(rel))))
        raise InstrumentFileError(frames[0].source, field_name, "two slices at the same height "
                                  f"({r[i]:.4f} Å, {r[i + 1]:.4f} Å): the series contradicts "
                                  "itself; pass heights=... or leave one file out")


def _warn_nan_lines(df: np.ndarray, sources: Sequence[str]) -> None:
    """Warn about scan lines (constant y) that are wholly NaN, and about other NaN pixels."""
    nan = np.isnan(df)
    if not nan.any():
        return
    lines = nan.all(axis=0)  # (ny, n_slices)
    n_lines = int(lines.sum())
    partial = int(nan.sum() - n_lines * df.shape[0])
    where = [Path(sources[k]).name if len(sources) == df.shape[2] else f"slice {k}"
             for k in np.flatnonzero(nan.any(axis=(0, 1)))]  # fmt: skip
    _warn(sources[0], "data", f"{n_lines} scan lines of {df.shape[1]} × {df.shape[2]} slices are "
          f"NaN (aborted scan?) and {partial} more pixels are NaN, in {', '.join(where)}; "
          "kept as NaN for the preparation step")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Nanonis .sxm
# ---------------------------------------------------------------------------------------------
def read_sxm_header(path: str | Path) -> tuple[dict[str, str], list[dict[str, str]], int]:
    r"""The header of a Nanonis ``.sxm`` file.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    header : dict of str to str
        Every ``:KEY:`` (without colons) → its value lines joined by newlines, stripped.
    data_info : list of dict
        One row of the ``DATA_INFO`` table per channel: ``Channel``, ``Name``, ``Unit``,
        ``Direction``, ``Calibration``, ``Offset``.
    data_start : int
        Byte offset of the first data value (after ``\x1a\x04``).

    Raises
    ------
    InstrumentFileError
        Not an .sxm file, no ``:SCANIT_END:``, no ``\x1a\x04`` marker, no ``DATA_INFO``.
    """
    raw = Path(path).read_bytes()
    if not raw.startswith(b":NANONIS_VERSION:"):
        raise InstrumentFileError(path, "NANONIS_VERSION", "not a Nanonis .sxm file (it does not "
                                  "start with ':NANONIS_VERSION:')")  # fmt: skip
    end = raw.find(b":SCANIT_END:")
    if end < 0:
        raise InstrumentFileError(path, "SCANIT_END", "header has no end (truncated file?)")
    marker = raw.find(b"\x1a\x04", end)
    if marker < 0:
        raise InstrumentFileError(path, "SCANIT_END", "no data start marker \\x1a\\x04 after "
                                  "the header (truncated file?)")  # fmt: skip
    text = raw[:end].decode("latin-1")
    header: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        stripped = line.strip()
        if len(stripped) > 2 and stripped.startswith(":") and stripped.endswith(":") and (
                not line.startswith("\t")):  # fmt: skip
            key = stripped[1:-1]
            header[key] = []
        elif key is not None:
            header[key].append(line.rstrip("\r"))
    table = [row for row in header.pop("DATA_INFO", []) if row.strip()]
    if not table:
        raise InstrumentFileError(path, "DATA_INFO", "the header lists no channels")
    columns = _split_table_row(table[0])
    data_info = [dict(zip(columns, _split_table_row(row), strict=False)) for row in table[1:]]
    flat = {k: "\n".join(v).strip() for k, v in header.items()}
    flat["DATA_INFO"] = "\n".join(table)
    return flat, data_info, marker + 2


def _split_table_row(row: str) -> list[str]:
    cells = [c.strip() for c in row.strip().split("\t") if c.strip()]
    return cells if len(cells) > 1 else row.split()


def _sxm_field(header: dict[str, str], path: str | Path, key: str, n: int) -> list[float]:
    if key not in header:
        raise InstrumentFileError(path, key, "missing from the header")
    try:
        values = [float(v) for v in header[key].split()]
    except ValueError:
        raise InstrumentFileError(path, key, f"not numbers: {header[key]!r}") from None
    if len(values) != n:
        raise InstrumentFileError(path, key, f"expected {n} values, got {header[key]!r}")
    return values


def _read_sxm_frame(
    path: str | Path, channel: str | None = None, direction: str = "forward"
) -> _Frame:
    """One Nanonis ``.sxm`` image as a frame (used by :func:`read_sxm_series`).

    Parameters
    ----------
    path : str or Path
        The file.
    channel : str, optional
        Channel name (see :func:`find_df_channel`); None: the frequency-shift channel.
    direction : str
        ``"forward"`` or ``"backward"``.

    Returns
    -------
    _Frame
        The image (nx, ny) in Hz on afmkit's axes, with its pixel size (Å), centre (Å), angle
        (°), tip z (Å, from ``Z-Controller>Z (m)``), amplitude (Å zero-to-peak), f0 (Hz).

    Raises
    ------
    InstrumentFileError
        Missing or malformed fields, no frequency-shift channel, a unit that is not a frequency,
        the wrong direction, unknown data type, or a file shorter than its header says.
    """
    if direction not in ("forward", "backward"):
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    header, data_info, start = read_sxm_header(path)
    nx, ny = (int(v) for v in _sxm_field(header, path, "SCAN_PIXELS", 2))
    if nx < 1 or ny < 1:
        raise InstrumentFileError(path, "SCAN_PIXELS", f"no pixels: {header['SCAN_PIXELS']!r}")
    width, height = _sxm_field(header, path, "SCAN_RANGE", 2)
    if not (width > 0 and height > 0):
        raise InstrumentFileError(path, "SCAN_RANGE", f"not positive: {header['SCAN_RANGE']!r}")
    cx, cy = _sxm_field(header, path, "SCAN_OFFSET", 2) if "SCAN_OFFSET" in header else (0, 0)
    angle = _sxm_field(header, path, "SCAN_ANGLE", 1)[0] if "SCAN_ANGLE" in header else 0.0
    scan_dir = header.get("SCAN_DIR", "").strip().lower()
    if scan_dir not in ("up", "down"):
        raise InstrumentFileError(path, "SCAN_DIR", f"must be 'up' or 'down', got {scan_dir!r}")
    kind = header.get("SCANIT_TYPE", "").split()
    if len(kind) != 2 or kind[0] != "FLOAT" or kind[1] not in ("MSBFIRST", "LSBFIRST"):
        raise InstrumentFileError(path, "SCANIT_TYPE", f"unsupported data type {kind!r} (FLOAT "
                                  "MSBFIRST or LSBFIRST expected)")  # fmt: skip
    dtype = np.dtype(">f4" if kind[1] == "MSBFIRST" else "<f4")
    names = [row.get("Name", "") for row in data_info]
    units = [row.get("Unit") for row in data_info]
    index = find_df_channel(names, units, path, channel)
    row = data_info[index]
    factor = _hz_factor(path, f"DATA_INFO Unit of {row.get('Name')!r}", row.get("Unit"))
    dirs = [r.get("Direction", "").strip().lower() for r in data_info]
    bad = [d for d in dirs if d not in ("both", "forward", "backward")]
    if bad:
        raise InstrumentFileError(path, "DATA_INFO Direction", f"unknown direction {bad[0]!r}")
    counts = [2 if d == "both" else 1 for d in dirs]
    if dirs[index] not in ("both", direction):
        raise InstrumentFileError(path, "DATA_INFO Direction", f"channel {names[index]!r} was "
                                  f"recorded {dirs[index]} only, not {direction}")  # fmt: skip
    image = nx * ny
    raw = Path(path).read_bytes()[start:]
    expected = sum(counts) * image * dtype.itemsize
    if len(raw) < expected:
        raise InstrumentFileError(path, "data", f"file is truncated: {len(raw)} data bytes, the "
                                  f"header ({sum(counts)} images of {nx} × {ny}) needs "
                                  f"{expected}")  # fmt: skip
    notes = []
    if len(raw) > expected:
        notes.append(_warn(path, "data", f"{len(raw) - expected} bytes after the last image "
                           "(ignored)"))  # fmt: skip
    offset = sum(counts[:index]) + (1 if direction == "backward" and dirs[index] == "both" else 0)
    values = np.frombuffer(raw, dtype=dtype, count=image, offset=offset * image * dtype.itemsize)
    img = values.astype(np.float64).reshape(ny, nx) * factor  # rows = scan lines as stored
    if direction == "backward":
        img = img[:, ::-1]  # backward lines are stored mirrored in x
    if scan_dir == "down":
        img = img[::-1, :]  # the first stored line is the top one
    if factor != 1.0:
        notes.append(f"{names[index]} converted from {row.get('Unit')} to Hz")
    z = _float(header[_Z_KEY]) if _Z_KEY in header else None
    status = header.get("Z-Controller>Controller status", "").strip().upper()
    if status == "ON":
        notes.append(_warn(path, "Z-Controller>Controller status", "ON: the image was not "
                           "taken at constant height"))  # fmt: skip
    return _Frame(
        source=str(path),
        df=np.ascontiguousarray(img.T),
        pixel_size=(width / nx * M_TO_ANGSTROM, height / ny * M_TO_ANGSTROM),
        center=(cx * M_TO_ANGSTROM, cy * M_TO_ANGSTROM),
        angle=float(angle),
        z=None if z is None else z * M_TO_ANGSTROM,
        amplitude=_header_amplitude(header, notes),
        f0=_header_value(header, _F0_KEYS),
        k=_header_value(header, _K_KEYS),
        channel=names[index].replace("_", " "),
        direction=direction,
        header=header,
        notes=notes,
    )


def read_sxm_series(
    paths: str | Path | Sequence[str | Path],
    channel: str | None = None,
    direction: str = "forward",
    heights: Sequence[float] | None = None,
    amplitude: float | None = None,
    amplitude_convention: str | None = None,
    f0: float | None = None,
    k_cantilever: float | None = None,
) -> ExperimentStack:
    """A series of Nanonis ``.sxm`` constant-height images (one file per height) as one stack.

    Parameters
    ----------
    paths : str, Path or sequence of them
        The files, a folder (every ``*.sxm`` in it) or a glob pattern (``"run/df_*.sxm"``).
    channel : str, optional
        Channel name; None: the frequency-shift channel (``"OC M1 Freq. Shift"``,
        ``"Frequency Shift"``, …; see :func:`find_df_channel`).
    direction : str
        ``"forward"`` or ``"backward"`` images.
    heights : sequence of float, optional
        Tip height of each file in the order given, Å (any zero); default: each file's
        ``Z-Controller>Z (m)``. Given and contradicting the files, an error.
    amplitude : float, optional
        Oscillation amplitude, Å, overriding the header's; needs ``amplitude_convention``.
    amplitude_convention : str, optional
        ``"zero-to-peak"`` or ``"peak-to-peak"`` (ASD-AFM's "1 Å" is peak-to-peak).
    f0 : float, optional
        Resonance frequency, Hz, overriding the header's ``Center Frequency (Hz)``.
    k_cantilever : float, optional
        Cantilever stiffness, N/m (Nanonis headers rarely hold it).

    Returns
    -------
    ExperimentStack
        Δf (nx, ny, n_files) in Hz, slices sorted far → close, heights relative to the closest.

    Raises
    ------
    InstrumentFileError
        A file that cannot be read (missing or malformed header fields, no frequency-shift
        channel, a unit that is not a frequency, a channel recorded in the other direction
        only, an unknown data type, a truncated file), files with different pixel grids,
        sizes or angles, two files at the same height, or heights contradicting the files.
    """
    files = _expand(paths, ".sxm")
    frames = [_read_sxm_frame(p, channel, direction) for p in files]
    return _combine(frames, heights, amplitude, amplitude_convention, f0, k_cantilever, "sxm")


# ---------------------------------------------------------------------------------------------
# Nanonis .3ds grid spectroscopy
# ---------------------------------------------------------------------------------------------
def _read_3ds_header(path: str | Path) -> tuple[dict[str, str], int]:
    raw = Path(path).read_bytes()
    end = raw.find(b":HEADER_END:")
    if end < 0:
        raise InstrumentFileError(path, "HEADER_END", "no ':HEADER_END:' (not a .3ds file, or "
                                  "truncated)")  # fmt: skip
    start = raw.find(b"\n", end) + 1
    if start == 0:
        raise InstrumentFileError(path, "HEADER_END", "file ends in the header (truncated)")
    header = {}
    for line in raw[:end].decode("latin-1").splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            header[key.strip()] = value.strip().strip('"')
    return header, start


def _3ds_field(header: dict[str, str], path: str | Path, key: str) -> str:
    if key not in header:
        raise InstrumentFileError(path, key, "missing from the header")
    return header[key]


def read_3ds(
    path: str | Path,
    channel: str | None = None,
    direction: str = "forward",
    heights: Sequence[float] | None = None,
    z_closest: float | None = None,
    amplitude: float | None = None,
    amplitude_convention: str | None = None,
    f0: float | None = None,
    k_cantilever: float | None = None,
) -> ExperimentStack:
    """A Nanonis ``.3ds`` Δf(z) grid as a constant-height stack.

    Each pixel's sweep (``Sweep Signal`` ``Z (m)``, ``Points`` values from its own ``Sweep
    Start`` to ``Sweep End``) is interpolated linearly at the chosen tip heights.

    Parameters
    ----------
    path : str or Path
        The ``.3ds`` file.
    channel : str, optional
        Channel of ``Channels`` (unit suffix optional); None: the frequency-shift channel.
    direction : str
        ``"forward"`` sweep or ``"backward"`` (the ``[bwd]`` channel).
    heights : sequence of float, optional
        Heights above ``z_closest``, Å, far → close; default 10 heights 0.1 Å apart,
        ``0.9 … 0``.
    z_closest : float, optional
        Tip z of the closest slice in the file's Z frame, Å; default the lowest z that every
        measured pixel reached (so no pixel is extrapolated).
    amplitude, amplitude_convention, f0, k_cantilever
        As in :func:`read_sxm_series` (Å, Hz, N/m); default from the header.

    Returns
    -------
    ExperimentStack
        Δf (nx, ny, n_heights) in Hz; a height a pixel's sweep does not reach is NaN (warned).

    Raises
    ------
    InstrumentFileError
        Missing header fields, a sweep that is not Z, no frequency-shift channel, an unknown
        unit, or a truncated file.
    """
    if direction not in ("forward", "backward"):
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    header, start = _read_3ds_header(path)
    notes: list[str] = []
    try:
        nx, ny = (int(v) for v in _3ds_field(header, path, "Grid dim").split("x"))
    except ValueError:
        raise InstrumentFileError(path, "Grid dim", f"not 'nx x ny': "
                                  f"{header['Grid dim']!r}") from None  # fmt: skip
    try:
        cx, cy, width, height, angle = (float(v) for v in
                                        _3ds_field(header, path, "Grid settings").split(";"))
    except ValueError:
        raise InstrumentFileError(path, "Grid settings", "not 'x;y;width;height;angle': "
                                  f"{header['Grid settings']!r}") from None  # fmt: skip
    sweep = _3ds_field(header, path, "Sweep Signal")
    if _norm(sweep) != "z" or _unit_in_name(sweep) != "m":
        raise InstrumentFileError(path, "Sweep Signal", f"{sweep!r} is not 'Z (m)': not a Δf(z) "
                                  "grid")  # fmt: skip
    points = int(_3ds_field(header, path, "Points"))
    n_params = int(_3ds_field(header, path, "# Parameters (4 byte)"))
    fixed = [s for s in _3ds_field(header, path, "Fixed parameters").split(";") if s]
    if fixed[:2] != ["Sweep Start", "Sweep End"]:
        raise InstrumentFileError(path, "Fixed parameters", f"expected 'Sweep Start;Sweep End', "
                                  f"got {header['Fixed parameters']!r}")  # fmt: skip
    channels = [s for s in _3ds_field(header, path, "Channels").split(";") if s]
    wanted = [c for c in channels if ("[bwd]" in c.lower()) == (direction == "backward")]
    if not wanted:
        raise InstrumentFileError(path, "Channels", f"no {direction} channels in {channels}")
    names = [c.replace("[bwd]", "").replace("[BWD]", "") for c in wanted]
    index = find_df_channel(names, [_unit_in_name(c) for c in names], path, channel)
    name = wanted[index]
    factor = _hz_factor(path, f"unit of channel {name!r}", _unit_in_name(name))
    per_pixel = n_params + len(channels) * points
    raw = Path(path).read_bytes()[start:]
    expected = nx * ny * per_pixel * 4
    if len(raw) < expected:
        raise InstrumentFileError(path, "data", f"file is truncated: {len(raw)} data bytes, the "
                                  f"header ({nx} × {ny} pixels of {per_pixel} values) needs "
                                  f"{expected}")  # fmt: skip
    grid = np.frombuffer(raw, dtype=">f4", count=nx * ny * per_pixel).astype(np.float64)
    grid = grid.reshape(ny, nx, per_pixel).transpose(1, 0, 2)  # (x, y, …); rows bottom → top
    z_start, z_end = grid[:, :, 0] * M_TO_ANGSTROM, grid[:, :, 1] * M_TO_ANGSTROM
    c = channels.index(name)
    curves = grid[:, :, n_params + c * points: n_params + (c + 1) * points] * factor
    measured = np.isfinite(curves).any(axis=2) & np.isfinite(z_start) & np.isfinite(z_end)
    if not measured.any():
        raise InstrumentFileError(path, "data", "no pixel was measured (all NaN)")
    if not measured.all():
        notes.append(_warn(path, "data", f"{int((~measured).sum())} of {nx * ny} pixels were "
                           "not measured (aborted grid?): kept as NaN"))  # fmt: skip
    lowest = np.minimum(z_start, z_end)
    if z_closest is None:
        z_closest = float(lowest[measured].max())
        notes.append(f"z_closest = {z_closest:.4f} Å: the lowest z every measured pixel reached")
    rel = (np.round(np.arange(9, -1, -1) * 0.1, 10) if heights is None
           else np.asarray(heights, dtype=float).reshape(-1))  # fmt: skip
    if rel.size < 1 or not np.isfinite(rel).all():
        raise ValueError(f"{path}: heights must be finite values in Å, got {heights!r}")
    target = z_closest + rel  # (n_heights,) absolute z, Å
    span = np.where(z_end != z_start, z_end - z_start, np.nan)
    t = (target[None, None, :] - z_start[:, :, None]) / span[:, :, None] * (points - 1)
    inside = (t >= -1e-6) & (t <= points - 1 + 1e-6)
    i0 = np.clip(np.floor(np.nan_to_num(t)), 0, max(points - 2, 0)).astype(np.intp)
    frac = np.where(np.isfinite(t), t - i0, np.nan)
    lo = np.take_along_axis(curves, i0, axis=2)
    hi = np.take_along_axis(curves, np.minimum(i0 + 1, points - 1), axis=2)
    df = np.where(inside, lo + (hi - lo) * frac, np.nan)
    outside = int((~inside & measured[:, :, None]).sum())
    if outside:
        notes.append(_warn(path, "heights", f"{outside} pixel × height values lie outside the "
                           "pixel's z sweep: NaN"))  # fmt: skip
    amp = _caller_amplitude(amplitude, amplitude_convention, notes, str(path))
    if amp is None:
        amp = _header_amplitude(header, notes)
    return ExperimentStack(
        df=df,
        pixel_size=(width / nx * M_TO_ANGSTROM, height / ny * M_TO_ANGSTROM),
        heights=rel - rel.min(),
        scan_center=(cx * M_TO_ANGSTROM, cy * M_TO_ANGSTROM),
        scan_angle=angle,
        amplitude=amp,
        f0=f0 if f0 is not None else _header_value(header, _F0_KEYS),
        k_cantilever=k_cantilever if k_cantilever is not None else _header_value(header, _K_KEYS),
        channel=re.sub(r"\s*\([^()]*\)\s*$", "", names[index]).strip(),
        direction=direction,
        sources=[str(path)],
        metadata={"reader": "3ds", "headers": [header], "z_closest": z_closest, "notes": notes},
    )


# ---------------------------------------------------------------------------------------------
# Gwyddion .gwy
# ---------------------------------------------------------------------------------------------
def read_gwy(
    path: str | Path,
    fields: Sequence[int] | None = None,
    channel: str | None = None,
    direction: str = "forward",
    heights: Sequence[float] | None = None,
    amplitude: float | None = None,
    amplitude_convention: str | None = None,
    f0: float | None = None,
    k_cantilever: float | None = None,
) -> ExperimentStack:
    """The Δf data fields of a Gwyddion ``.gwy`` file, one per slice, as one stack.

    Gwyddion's row 0 is the top of the image (as its Nanonis importer arranges it); afmkit's
    y grows with the index, so rows are reversed. Backward images are not mirrored (Gwyddion
    stores them as seen). Heights, amplitude, f0, scan angle and centre come from each field's
    ``/N/meta`` container (Nanonis header names: ``Z-Controller>Z (m)``, ``Oscillation
    Control>Amplitude Setpoint (m)``, ``Oscillation Control>Center Frequency (Hz)``,
    ``SCAN_ANGLE``, ``SCAN_OFFSET``) where present.

    Parameters
    ----------
    path : str or Path
        The ``.gwy`` file.
    fields : sequence of int, optional
        Field ids (``N`` of ``/N/data``) to read; default all fields whose title names the
        channel (``channel``) or looks like Δf, or whose z unit is Hz.
    channel : str, optional
        Title to select fields by (direction suffix ``(Forward)``/``(Backward)`` ignored).
    direction : str
        ``"forward"`` or ``"backward"``: fields titled with the other direction are left out.
    heights, amplitude, amplitude_convention, f0, k_cantilever
        As in :func:`read_sxm_series` (Å, Hz, N/m).

    Returns
    -------
    ExperimentStack
        Δf (nx, ny, n_fields) in Hz, slices far → close.

    Raises
    ------
    InstrumentFileError
        Not a .gwy file, no Δf field, a field id that does not exist, a z unit that is not a
        frequency, a lateral unit that is not m, or the series checks of
        :func:`read_sxm_series`.
    """
    import gwyfile

    if direction not in ("forward", "backward"):
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    try:
        container = gwyfile.load(str(path))
    except Exception as err:  # gwyfile raises bare ValueError/struct.error/KeyError
        raise InstrumentFileError(path, "GWYP", f"not a readable .gwy file ({type(err).__name__}:"
                                  f" {err})") from err  # fmt: skip
    ids = sorted(int(m.group(1)) for key in container
                 if (m := re.fullmatch(r"/(\d+)/data", key)))  # fmt: skip
    if not ids:
        raise InstrumentFileError(path, "GWYP", "not a readable .gwy file with data fields "
                                  "(/0/data, /1/data, …)")  # fmt: skip
    titles = {i: str(container.get(f"/{i}/data/title", f"field {i}")) for i in ids}
    units = {i: _gwy_unit(container[f"/{i}/data"], "si_unit_z") for i in ids}
    if fields is None:
        other = "(backward)" if direction == "forward" else "(forward)"
        chosen = []
        for i in ids:
            title = titles[i]
            if other in title.lower():
                continue
            bare = re.sub(r"\s*\((forward|backward)\)\s*$", "", title, flags=re.IGNORECASE)
            if channel is not None:
                ok = _norm(bare) == _norm(channel)
            else:
                ok = _looks_like_df(bare) or units[i].lower() in _HZ_UNITS
            if ok:
                chosen.append(i)
        if not chosen:
            listing = ", ".join(f"{i}: {titles[i]!r} [{units[i]}]" for i in ids)
            what = f"titled {channel!r}" if channel else "with a Δf title or a z unit in Hz"
            raise InstrumentFileError(path, "fields", f"no {direction} field {what} among "
                                      f"{listing or 'no fields'}; pass fields=[...]")
    else:
        chosen = [int(i) for i in fields]
        missing = [i for i in chosen if i not in ids]
        if missing:
            raise InstrumentFileError(path, "fields", f"no field(s) {missing}; the file has {ids}")
    frames = [_gwy_frame(path, container, i, titles[i], direction) for i in chosen]
    return _combine(frames, heights, amplitude, amplitude_convention, f0, k_cantilever, "gwy")


def _gwy_unit(datafield: Any, key: str) -> str:
    unit = datafield.get(key)
    return "" if unit is None else str(unit.get("unitstr", ""))


def _gwy_frame(path: str | Path, container: Any, i: int, title: str, direction: str) -> _Frame:
    datafield = container[f"/{i}/data"]
    where = f"/{i}/data ({title!r})"
    factor = _hz_factor(path, f"{where} si_unit_z", _gwy_unit(datafield, "si_unit_z"))
    xy_unit = _gwy_unit(datafield, "si_unit_xy")
    if xy_unit != "m":
        raise InstrumentFileError(path, f"{where} si_unit_xy", f"lateral unit {xy_unit!r}, "
                                  "expected 'm'")  # fmt: skip
    xres, yres = int(datafield["xres"]), int(datafield["yres"])
    data = np.asarray(datafield["data"], dtype=np.float64)
    if data.size != xres * yres:
        raise InstrumentFileError(path, f"{where} data", f"{data.size} values for {xres} × {yres}"
                                  " pixels (truncated?)")  # fmt: skip
    img = data.reshape(yres, xres)[::-1, :] * factor  # row 0 = top → y grows with the index
    meta = {str(k): str(v) for k, v in dict(container.get(f"/{i}/meta", {})).items()}
    notes: list[str] = []
    xreal = float(datafield.get("xreal", 1.0)) * M_TO_ANGSTROM
    yreal = float(datafield.get("yreal", 1.0)) * M_TO_ANGSTROM
    if "SCAN_OFFSET" in meta:
        cx, cy = (float(v) * M_TO_ANGSTROM for v in meta["SCAN_OFFSET"].split()[:2])
    else:
        cx = float(datafield.get("xoff", 0.0)) * M_TO_ANGSTROM + xreal / 2
        cy = float(datafield.get("yoff", 0.0)) * M_TO_ANGSTROM + yreal / 2
        notes.append("scan centre from the field's xoff/yoff")
    angle = _float(meta["SCAN_ANGLE"]) if "SCAN_ANGLE" in meta else None
    if angle is None:
        notes.append("no SCAN_ANGLE in the field's meta: scan angle 0°")
    z = _float(meta[_Z_KEY]) if _Z_KEY in meta else None
    return _Frame(
        source=f"{path}#field{i}",
        df=np.ascontiguousarray(img.T),
        pixel_size=(xreal / xres, yreal / yres),
        center=(cx, cy),
        angle=angle or 0.0,
        z=None if z is None else z * M_TO_ANGSTROM,
        amplitude=_header_amplitude(meta, notes),
        f0=_header_value(meta, _F0_KEYS),
        k=_header_value(meta, _K_KEYS),
        channel=re.sub(r"\s*\((forward|backward)\)\s*$", "", title, flags=re.IGNORECASE),
        direction=direction,
        header=meta,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# plain NumPy files
# ---------------------------------------------------------------------------------------------
#: Metadata arrays an ``.npz`` may hold beside ``df`` (as :func:`write_npz` writes them).
_NPZ_META = ("pixel_size", "heights", "amplitude", "f0", "k_cantilever", "scan_angle",
             "scan_center")  # fmt: skip


def read_numpy(
    path: str | Path,
    pixel_size: float | Sequence[float] | None = None,
    heights: Sequence[float] | None = None,
    axes: str = "xyz",
    key: str | None = None,
    amplitude: float | None = None,
    amplitude_convention: str | None = None,
    f0: float | None = None,
    k_cantilever: float | None = None,
    scan_angle: float | None = None,
    scan_center: Sequence[float] | None = None,
    channel: str = "",
) -> ExperimentStack:
    """A Δf stack from a ``.npy`` or ``.npz`` file, with its metadata given explicitly.

    An ``.npz`` holds the stack as ``df`` (or ``key``, or its only array) and may hold the
    metadata arrays ``pixel_size`` (Å), ``heights`` (Å), ``amplitude`` (Å, zero-to-peak), ``f0``
    (Hz), ``k_cantilever`` (N/m), ``scan_angle`` (°), ``scan_center`` (Å), as written by
    :func:`afmkit.experiments.instrument_files.write_npz`. A value given both ways must agree.

    Parameters
    ----------
    path : str or Path
        The file.
    pixel_size : float or (dx, dy), optional
        Pixel size, Å; required unless the ``.npz`` holds it (no default).
    heights : sequence of float, optional
        Height of every slice, Å (relative to the closest, far → close after sorting); None: the
        slices are taken as stored, slice 0 farthest (warned).
    axes : str
        Order of the stored axes, a permutation of ``"xyz"`` (the published camphor files are
        ``"yxz"``); a leading batch axis of length 1 is dropped.
    key : str, optional
        Array name in an ``.npz``.
    amplitude, amplitude_convention, f0, k_cantilever
        As in :func:`read_sxm_series` (Å, Hz, N/m).
    scan_angle : float, optional
        Degrees; default 0 (or the file's).
    scan_center : (float, float), optional
        Å; default (0, 0) (or the file's).
    channel : str
        Name to record as the channel.

    Returns
    -------
    ExperimentStack
        Δf (nx, ny, n_slices) in Hz.

    Raises
    ------
    InstrumentFileError
        No pixel size, a file that is not a readable array, the wrong rank, bad ``axes``, or an
        argument contradicting the file's metadata.
    """
    path = Path(path)
    file_meta: dict[str, np.ndarray] = {}
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InstrumentFileError(path, "data", f"not a readable .npy/.npz file "
                                  f"({type(err).__name__}: {err})") from err  # fmt: skip
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            name = key or ("df" if "df" in names else None)
            if name is None:
                data_names = [n for n in names if n not in _NPZ_META]
                if len(data_names) != 1:
                    raise InstrumentFileError(path, "key", f"arrays {names}: pass key=... to "
                                              "choose the Δf stack")  # fmt: skip
                name = data_names[0]
            if name not in names:
                raise InstrumentFileError(path, "key", f"no array {name!r}; the file has {names}")
            try:
                array = loaded[name]
                file_meta = {m: loaded[m] for m in _NPZ_META if m in names}
            except (ValueError, OSError, EOFError) as err:
                raise InstrumentFileError(path, name, f"unreadable ({err})") from err
    else:
        array = loaded
    if sorted(axes) != ["x", "y", "z"]:
        raise InstrumentFileError(path, "axes", f"must be a permutation of 'xyz', got {axes!r}")
    array = np.asarray(array)
    if array.dtype.kind not in "fiu":
        raise InstrumentFileError(path, "data", f"not numbers (dtype {array.dtype})")
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise InstrumentFileError(path, "data", f"expected 3 axes ({axes}), got shape "
                                  f"{array.shape}")  # fmt: skip
    df = np.transpose(array, [axes.index(a) for a in "xyz"]).astype(np.float64)
    notes: list[str] = []

    def pick(name: str, given: Any) -> Any:
        stored = file_meta.get(name)
        if given is None:
            return None if stored is None else np.asarray(stored, dtype=float)
        given = np.asarray(given, dtype=float)
        if stored is not None and (np.shape(stored) != given.shape and np.size(stored) != 1
                                   or not np.allclose(stored, given, rtol=_RTOL)):
            raise InstrumentFileError(path, name, f"argument {given.tolist()} contradicts the "
                                      f"file's {np.asarray(stored).tolist()}")  # fmt: skip
        return given

    size = pick("pixel_size", pixel_size)
    if size is None:
        raise InstrumentFileError(path, "pixel_size", "not in the file: pass pixel_size=... "
                                  "(Å; a plain array says nothing about its pixels)")
    size = np.broadcast_to(size.reshape(-1), (2,)) if size.size in (1, 2) else None
    if size is None:
        raise InstrumentFileError(path, "pixel_size", "must be one value or (dx, dy) in Å")
    h = pick("heights", heights)
    order = np.arange(df.shape[2])
    if h is None:
        _warn(path, "heights", "not given: slices taken as stored (slice 0 farthest), heights "
              "None")  # fmt: skip
    else:
        h = h.reshape(-1)
        if h.size != df.shape[2]:
            raise InstrumentFileError(path, "heights", f"{h.size} heights for {df.shape[2]} "
                                      "slices")  # fmt: skip
        order = np.argsort(-h, kind="stable")
        if not np.array_equal(order, np.arange(h.size)):
            notes.append("slices sorted far → close by height")
        h = h[order] - h.min()
    stored_amp = pick("amplitude", None if amplitude is None else
                      _caller_amplitude(amplitude, amplitude_convention, notes, str(path)))
    if amplitude is None and stored_amp is not None:
        notes.append("amplitude (zero-to-peak Å) from the file")

    def scalar(value: Any) -> float | None:
        return None if value is None else float(np.asarray(value).reshape(-1)[0])

    angle = scalar(pick("scan_angle", scan_angle))
    center = pick("scan_center", scan_center)
    return ExperimentStack(
        df=df[:, :, order],
        pixel_size=(float(size[0]), float(size[1])),
        heights=h,
        scan_center=(0.0, 0.0) if center is None else tuple(center.reshape(-1)[:2]),
        scan_angle=angle or 0.0,
        amplitude=scalar(stored_amp),
        f0=scalar(pick("f0", f0)),
        k_cantilever=scalar(pick("k_cantilever", k_cantilever)),
        channel=channel,
        sources=[str(path)],
        metadata={"reader": "numpy", "axes": axes, "notes": notes},
    )


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------
#: Extension → reader of :func:`read_experiment`.
READERS = {".sxm": read_sxm_series, ".3ds": read_3ds, ".gwy": read_gwy, ".npy": read_numpy,
           ".npz": read_numpy}  # fmt: skip


def _expand(paths: str | Path | Sequence[str | Path], ext: str | None = None) -> list[Path]:
    """Files from a path, a folder, a glob pattern or a list of them, in the order given."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in
                           ((ext,) if ext else tuple(READERS)))  # fmt: skip
            if not found:
                raise FileNotFoundError(f"{p}: no {ext or 'instrument'} files in this folder")
            out.extend(found)
        elif any(ch in str(item) for ch in "*?["):
            found = sorted(Path(q) for q in globlib.glob(str(p)))
            if not found:
                raise FileNotFoundError(f"{item}: the pattern matches no file")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file")
    if not out:
        raise FileNotFoundError("no files given")
    return out


def read_experiment(paths: str | Path | Sequence[str | Path], **options: Any) -> ExperimentStack:
    """Read an experiment with the reader its extension calls for.

    Parameters
    ----------
    paths : str, Path or sequence of them
        One file, a list of ``.sxm`` files, a folder of them or a glob pattern.
    **options
        Passed to the reader: :func:`read_sxm_series` (``.sxm``), :func:`read_3ds`,
        :func:`read_gwy`, :func:`read_numpy` (``.npy``/``.npz``; ``pixel_size`` required unless
        the ``.npz`` holds it).

    Returns
    -------
    ExperimentStack
        The stack, Δf in Hz, slice 0 farthest.

    Raises
    ------
    FileNotFoundError
        A path that does not exist, or a folder/pattern without instrument files.
    InstrumentFileError
        Mixed or unknown extensions, several files of a single-file format, or what the reader
        raises.
    """
    files = _expand(paths)
    exts = sorted({p.suffix.lower() for p in files})
    if len(exts) != 1:
        raise InstrumentFileError(files[0], "extension", f"mixed file types {exts}: read one "
                                  "kind at a time")  # fmt: skip
    ext = exts[0]
    if ext not in READERS:
        raise InstrumentFileError(files[0], "extension", f"unknown file type {ext!r}; afmkit reads"
                                  f" {', '.join(READERS)}")  # fmt: skip
    if ext == ".sxm":
        return read_sxm_series(files, **options)
    if len(files) != 1:
        raise InstrumentFileError(files[0], "paths", f"{len(files)} {ext} files: one {ext} file "
                                  "holds a whole stack; read them one at a time")  # fmt: skip
    return READERS[ext](files[0], **options)
