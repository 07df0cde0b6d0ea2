"""Element table: symbols, covalent and van der Waals radii for Z = 1..86.

The data live in ``afmkit/structures/data/elements.csv`` and are read once, lazily.

* Covalent radii: Cordero et al., *Dalton Trans.* 2008, 2832 (doi:10.1039/b801115j), in Å.
  Carbon uses the sp3 value (0.76 Å); Mn, Fe and Co the low-spin values.
* van der Waals radii: Bondi, *J. Phys. Chem.* 1964, 68, 441, where Bondi gives one;
  otherwise Mantina et al., *J. Phys. Chem. A* 2009, 113, 5806 (main group); otherwise a
  fallback of :data:`VDW_FALLBACK` = 2.0 Å (most transition metals and lanthanides), marked
  ``fallback`` in the CSV's ``vdw_source`` column and reported by :func:`vdw_source`.

Examples
--------
>>> atomic_number("cl")
17
>>> float(vdw_radius(6))
1.7
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_Z",
    "SYMBOLS",
    "VDW_FALLBACK",
    "UnknownElementError",
    "atomic_number",
    "atomic_numbers",
    "covalent_radius",
    "element_name",
    "symbol",
    "vdw_radius",
    "vdw_source",
]

#: Largest atomic number in the table (radon).
MAX_Z = 86
#: van der Waals radius (Å) used where neither Bondi nor Mantina give a value.
VDW_FALLBACK = 2.0

# fmt: off
#: Element symbols, index = atomic number; index 0 is ''.
SYMBOLS: tuple[str, ...] = (
    "",
    "H", "He",
    "Li", "Be", "B", "C", "N", "O", "F", "Ne",
    "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
    "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr",
    "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I", "Xe",
    "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm",
    "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn",
)
# fmt: on

_SYMBOL_TO_Z: dict[str, int] = {s.lower(): z for z, s in enumerate(SYMBOLS) if s}


class UnknownElementError(ValueError):
    """Raised for an element symbol or atomic number outside Z = 1..86."""


@dataclass(frozen=True)
class _Table:
    names: tuple[str, ...]
    covalent: np.ndarray  # (MAX_Z + 1,) float64, Å; index 0 is NaN
    vdw: np.ndarray  # (MAX_Z + 1,) float64, Å; index 0 is NaN
    vdw_source: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _table() -> _Table:
    path = resources.files("afmkit.structures").joinpath("data/elements.csv")
    text = path.read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    names = [""] * (MAX_Z + 1)
    sources = [""] * (MAX_Z + 1)
    cov = np.full(MAX_Z + 1, np.nan)
    vdw = np.full(MAX_Z + 1, np.nan)
    for row in rows:
        z = int(row["Z"])
        if SYMBOLS[z] != row["symbol"]:
            raise RuntimeError(f"elements.csv: symbol {row['symbol']!r} does not match Z={z}")
        names[z] = row["name"]
        cov[z] = float(row["covalent_radius"])
        vdw[z] = float(row["vdw_radius"])
        sources[z] = row["vdw_source"]
    if np.isnan(cov[1:]).any() or np.isnan(vdw[1:]).any():
        raise RuntimeError("elements.csv does not cover Z = 1..86")
    cov.setflags(write=False)
    vdw.setflags(write=False)
    return _Table(tuple(names), cov, vdw, tuple(sources))


def atomic_number(symbol_or_number: str | int | np.integer) -> int:
    """Atomic number of an element given by symbol or number.

    Parameters
    ----------
    symbol_or_number : str or int
        Element symbol, case-insensitive (``'Cl'``, ``'cl'``, ``'CL'``), an integer, or a
        string of digits (``'17'``). Surrounding whitespace is ignored.

    Returns
    -------
    int
        Atomic number Z in 1..86.

    Raises
    ------
    UnknownElementError
        If the symbol is unknown or the number is outside 1..86.
    """
    if isinstance(symbol_or_number, (bool, np.bool_)):
        raise UnknownElementError(f"unknown element: {symbol_or_number!r}")
    if isinstance(symbol_or_number, (int, np.integer)):
        z = int(symbol_or_number)
        if not 1 <= z <= MAX_Z:
            raise UnknownElementError(f"unknown element: atomic number {z} (valid: 1..{MAX_Z})")
        return z
    if isinstance(symbol_or_number, str):
        s = symbol_or_number.strip()
        if s.isascii() and s.isdigit():
            return atomic_number(int(s))
        z = _SYMBOL_TO_Z.get(s.lower())
        if z is None:
            raise UnknownElementError(f"unknown element symbol: {symbol_or_number!r}")
        return z
    raise UnknownElementError(f"unknown element: {symbol_or_number!r}")


def atomic_numbers(symbols_or_numbers) -> np.ndarray:
    """Atomic numbers for a sequence of symbols and/or numbers.

    Parameters
    ----------
    symbols_or_numbers : array_like of str or int
        Iterable of element symbols (any case) or atomic numbers.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (N,).

    Raises
    ------
    UnknownElementError
        If a symbol is unknown or a number is outside 1..86.
    """
    arr = np.asarray(symbols_or_numbers)
    if arr.dtype.kind in "iu":
        z = arr.astype(np.int64).reshape(-1)
        bad = (z < 1) | (z > MAX_Z)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UnknownElementError(
                f"unknown element: atomic number {int(z[i])} at index {i} (valid: 1..{MAX_Z})"
            )
        return z
    return np.array([atomic_number(s) for s in arr.reshape(-1).tolist()], dtype=np.int64)


def symbol(z: int | np.integer) -> str:
    """Element symbol for an atomic number, e.g. ``symbol(8) == 'O'``.

    Parameters
    ----------
    z : int
        Atomic number, 1..86.

    Returns
    -------
    str
        The symbol (``'O'``, ``'Cl'``).

    Raises
    ------
    UnknownElementError
        If ``z`` is outside 1..86.
    """
    return SYMBOLS[atomic_number(int(z))]


def element_name(z: int | str) -> str:
    """English element name for an atomic number or symbol, e.g. ``'Carbon'``.

    Parameters
    ----------
    z : int or str
        Atomic number (1..86) or symbol.

    Returns
    -------
    str
        The name.

    Raises
    ------
    UnknownElementError
        For an unknown element.
    """
    return _table().names[atomic_number(z)]


def _lookup(values: np.ndarray, z: npt.ArrayLike) -> float | np.ndarray:
    za = np.asarray(z)
    if za.dtype.kind not in "iu":
        if za.dtype.kind in "USO":
            za = atomic_numbers(za.reshape(-1)).reshape(za.shape)
        else:
            raise TypeError(f"atomic numbers must be integers, got dtype {za.dtype}")
    bad = (za < 1) | (za > MAX_Z)
    if np.any(bad):
        zb = int(np.asarray(za)[bad].flat[0])
        raise UnknownElementError(f"unknown element: atomic number {zb} (valid: 1..{MAX_Z})")
    out = values[za.astype(np.intp)]
    if out.ndim == 0:
        return float(out)
    return out.astype(np.float64, copy=True)


def covalent_radius(z: npt.ArrayLike) -> float | np.ndarray:
    """Covalent radius (Cordero et al. 2008) in Å.

    Parameters
    ----------
    z : int or array_like
        Atomic number (int) or integer array of any shape; symbols are also accepted.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar input, else a float64 array of the input's shape, in Å.

    Raises
    ------
    UnknownElementError
        For an atomic number outside 1..86 or an unknown symbol.
    TypeError
        For non-integer numbers.
    """
    return _lookup(_table().covalent, z)


def vdw_radius(z: npt.ArrayLike) -> float | np.ndarray:
    """The van der Waals radius (Bondi 1964 / Mantina et al. 2009 / 2.0 Å fallback) in Å.

    Parameters
    ----------
    z : int or array_like
        Atomic number (int) or integer array of any shape; symbols are also accepted.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar input, else a float64 array of the input's shape, in Å.
        Elements without a literature value get :data:`VDW_FALLBACK` (see :func:`vdw_source`).

    Raises
    ------
    UnknownElementError
        For an atomic number outside 1..86 or an unknown symbol.
    TypeError
        For non-integer numbers.
    """
    return _lookup(_table().vdw, z)


def vdw_source(z: int | str) -> str:
    """Source of the van der Waals radius of one element.

    Parameters
    ----------
    z : int or str
        Atomic number (1..86) or symbol.

    Returns
    -------
    str
        ``'bondi1964'``, ``'mantina2009'`` or ``'fallback'`` (no literature value;
        :data:`VDW_FALLBACK` used).

    Raises
    ------
    UnknownElementError
        For an unknown element.
    """
    return _table().vdw_source[atomic_number(z)]
