"""Molecules: atoms (Z), positions (Å) and point charges (e); xyz I/O, SMILES, camphor, QM9.

Contents
--------
:class:`Molecule`
    Atomic numbers ``numbers`` (N,) int64, ``positions`` (N, 3) float64 in Å, point
    ``charges`` (N,) float64 in e.
:func:`read_xyz`, :func:`read_xyz_frames`, :func:`write_xyz`
    Plain xyz, xyz with a fifth charge column, and extended xyz (``Properties=...``).
:func:`from_smiles`
    RDKit: add hydrogens, ETKDGv3 embedding, MMFF94 optimisation; MMFF94 or Gasteiger charges.
:func:`camphor`
    1S-camphor from a geometry shipped with the package (no RDKit needed).
:func:`qm9`
    Indexed access to QM9 (DFT B3LYP geometries in Å, Mulliken charges in e) from the
    ``qm9pack`` package, through a memory-mapped cache built once (:func:`build_qm9_cache`).

Units everywhere: Å for lengths, e (elementary charge) for charges.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any, Literal, Union

import numpy as np
import numpy.typing as npt

from . import elements
from .elements import MAX_Z, SYMBOLS

__all__ = [
    "CAMPHOR_SMILES",
    "Molecule",
    "QM9Dataset",
    "XYZFormatError",
    "build_qm9_cache",
    "camphor",
    "from_smiles",
    "qm9",
    "qm9_cache_path",
    "read_xyz",
    "read_xyz_frames",
    "write_xyz",
]

PathOrFile = Union[str, "os.PathLike[str]", IO[str], IO[bytes]]

#: SMILES of 1S-camphor, (1S,4S)-1,7,7-trimethylbicyclo[2.2.1]heptan-2-one (RDKit CIP labels).
CAMPHOR_SMILES = "C[C@]12CC[C@H](C1(C)C)CC2=O"

_SYMBOLS_ARR = np.array(SYMBOLS, dtype=object)


# ---------------------------------------------------------------------------------------------
# Molecule
# ---------------------------------------------------------------------------------------------
class Molecule:
    """A molecule: atomic numbers, Cartesian positions (Å) and point charges (e).

    Parameters
    ----------
    numbers
        (N,) atomic numbers (1..86), or element symbols (any case, e.g. ``['C', 'h']``).
    positions
        (N, 3) Cartesian coordinates in Å.
    charges
        (N,) point charges in e; zeros if None.
    name
        Free-text name.

    Attributes
    ----------
    numbers : numpy.ndarray
        (N,) int64 atomic numbers.
    positions : numpy.ndarray
        (N, 3) float64 positions in Å.
    charges : numpy.ndarray
        (N,) float64 charges in e.
    name : str

    Raises
    ------
    ValueError
        No atoms, shape mismatch, NaN/inf positions or charges (the message names the atom
        index), or atomic numbers outside 1..86.

    Notes
    -----
    The arrays are copies of the inputs; modifying the inputs afterwards does not change the
    molecule.
    """

    __slots__ = ("numbers", "positions", "charges", "name")

    def __init__(
        self,
        numbers: npt.ArrayLike | Sequence[str],
        positions: npt.ArrayLike,
        charges: npt.ArrayLike | None = None,
        name: str = "",
    ) -> None:
        z = np.asarray(numbers)
        if z.ndim == 0:
            z = z.reshape(1)
        if z.ndim != 1:
            raise ValueError(f"numbers must be one-dimensional (N,), got shape {z.shape}")
        if z.size == 0:
            raise ValueError("molecule has no atoms")
        if z.dtype.kind in "USO":
            z = elements.atomic_numbers(z)
        elif z.dtype.kind == "f":
            if not np.all(np.isfinite(z)) or np.any(z != np.round(z)):
                raise ValueError("atomic numbers must be integers")
            z = z.astype(np.int64)
        elif z.dtype.kind not in "iu":
            raise ValueError(f"atomic numbers must be integers or symbols, got dtype {z.dtype}")
        z = np.array(z, dtype=np.int64, copy=True)
        bad = (z < 1) | (z > MAX_Z)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"unknown atomic number {int(z[i])} at atom {i} (valid: 1..{MAX_Z})")
        n = z.size

        pos = np.array(positions, dtype=np.float64, copy=True)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ValueError(f"positions must have shape (N, 3), got {pos.shape}")
        if pos.shape[0] != n:
            raise ValueError(f"positions have {pos.shape[0]} rows but there are {n} atoms")
        finite = np.isfinite(pos).all(axis=1)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"position of atom {i} is not finite: {pos[i].tolist()}")

        if charges is None:
            q = np.zeros(n, dtype=np.float64)
        else:
            q = np.array(charges, dtype=np.float64, copy=True)
            if q.ndim != 1 or q.shape[0] != n:
                raise ValueError(f"charges must have shape ({n},), got {q.shape}")
            qfin = np.isfinite(q)
            if not qfin.all():
                i = int(np.flatnonzero(~qfin)[0])
                raise ValueError(f"charge of atom {i} is not finite: {q[i]}")

        self.numbers: np.ndarray = z
        self.positions: np.ndarray = pos
        self.charges: np.ndarray = q
        self.name: str = str(name)

    @classmethod
    def _trusted(
        cls, numbers: np.ndarray, positions: np.ndarray, charges: np.ndarray, name: str
    ) -> Molecule:
        """Build without validation from arrays known to be valid (owned copies)."""
        self = cls.__new__(cls)
        self.numbers = numbers
        self.positions = positions
        self.charges = charges
        self.name = name
        return self

    def __len__(self) -> int:
        return int(self.numbers.shape[0])

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return f"Molecule({name}{self.formula}, {len(self)} atoms)"

    @property
    def symbols(self) -> list[str]:
        """Element symbols, one per atom."""
        return _SYMBOLS_ARR[self.numbers].tolist()

    @property
    def formula(self) -> str:
        """Chemical formula in Hill order (C, H, then alphabetical; alphabetical without C)."""
        zs, counts = np.unique(self.numbers, return_counts=True)
        n = {SYMBOLS[int(z)]: int(c) for z, c in zip(zs, counts, strict=True)}
        if "C" in n:
            order = ["C"] + (["H"] if "H" in n else []) + sorted(set(n) - {"C", "H"})
        else:
            order = sorted(n)
        return "".join(s + (str(n[s]) if n[s] > 1 else "") for s in order)

    @property
    def centroid(self) -> np.ndarray:
        """(3,) geometric centre (unweighted mean of positions), Å."""
        return self.positions.mean(axis=0)

    @property
    def total_charge(self) -> float:
        """Sum of the point charges, e."""
        return float(self.charges.sum())

    def copy(self) -> Molecule:
        """Deep copy."""
        return Molecule._trusted(
            self.numbers.copy(), self.positions.copy(), self.charges.copy(), self.name
        )

    def rotated(self, R: npt.ArrayLike, center: npt.ArrayLike | None = None) -> Molecule:
        """Rotated copy: ``(positions - center) @ R.T + center``.

        Parameters
        ----------
        R
            (3, 3) proper rotation matrix (orthonormal, det = +1).
        center
            (3,) rotation centre in Å; default the centroid of the positions.

        Returns
        -------
        Molecule
            New molecule; numbers, charges and name are copied.

        Raises
        ------
        ValueError
            If R is not (3, 3), not orthonormal (tolerance 1e-6) or a reflection (det -1).
        """
        Rm = np.asarray(R, dtype=np.float64)
        if Rm.shape != (3, 3) or not np.all(np.isfinite(Rm)):
            raise ValueError(f"R must be a finite (3, 3) matrix, got shape {Rm.shape}")
        if not np.allclose(Rm @ Rm.T, np.eye(3), atol=1e-6):
            raise ValueError("R is not orthonormal (R @ R.T != I): not a rotation matrix")
        det = float(np.linalg.det(Rm))
        if det < 0:
            raise ValueError(f"R has determinant {det:.6f}: a reflection, not a rotation")
        c = self.centroid if center is None else np.asarray(center, dtype=np.float64)
        if c.shape != (3,):
            raise ValueError(f"center must have shape (3,), got {c.shape}")
        pos = (self.positions - c) @ Rm.T + c
        return Molecule._trusted(self.numbers.copy(), pos, self.charges.copy(), self.name)

    def translated(self, shift: npt.ArrayLike) -> Molecule:
        """Copy translated by ``shift`` ((3,) Å)."""
        s = np.asarray(shift, dtype=np.float64)
        if s.shape != (3,) or not np.all(np.isfinite(s)):
            raise ValueError(f"shift must be a finite (3,) vector, got shape {s.shape}")
        return Molecule._trusted(
            self.numbers.copy(), self.positions + s, self.charges.copy(), self.name
        )


# ---------------------------------------------------------------------------------------------
# xyz I/O
# ---------------------------------------------------------------------------------------------
class XYZFormatError(ValueError):
    """Malformed xyz input; the message names the file and the (1-based) line number."""


_CHARGE_COLUMN_NAMES = ("charges", "initial_charges", "charge", "q")
_KV_RE = re.compile(r"""([A-Za-z_][\w\-]*)\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*'|\{[^}]*\}|\S+)""")


def _source_name(path_or_file: Any) -> str:
    if isinstance(path_or_file, (str, os.PathLike)):
        return os.fspath(path_or_file)
    name = getattr(path_or_file, "name", None)
    return str(name) if isinstance(name, (str, os.PathLike)) else "<stream>"


def _read_text(path_or_file: PathOrFile) -> str:
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, encoding="utf-8") as f:
            return f.read()
    data = path_or_file.read()
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return data


def _parse_comment(comment: str) -> dict[str, str]:
    """key=value pairs of an extended-xyz comment line (quotes stripped, keys as written)."""
    out: dict[str, str] = {}
    for key, val in _KV_RE.findall(comment):
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
        out[key] = val
    return out


def _element_tokens_to_z(tokens: list[str], first_line: int, src: str) -> np.ndarray:
    """Atomic numbers from symbol or number tokens; error names the line of the first bad one."""
    lut: dict[str, int] = {}
    for t in set(tokens):
        try:
            lut[t] = elements.atomic_number(t)
        except elements.UnknownElementError:
            pass
    try:
        return np.array([lut[t] for t in tokens], dtype=np.int64)
    except KeyError:
        for k, t in enumerate(tokens):
            if t not in lut:
                raise XYZFormatError(
                    f"{src}, line {first_line + k}: unknown element {t!r}"
                ) from None
        raise  # pragma: no cover


def _floats(cols: list[list[str]], first_line: int, src: str, what: str) -> np.ndarray:
    try:
        return np.array(cols, dtype=np.float64)
    except ValueError:
        for k, row in enumerate(cols):
            for tok in row:
                try:
                    float(tok)
                except ValueError:
                    raise XYZFormatError(
                        f"{src}, line {first_line + k}: non-numeric {what} {tok!r}"
                    ) from None
        raise  # pragma: no cover


def _parse_frame(lines: list[str], start: int, src: str) -> tuple[Molecule, int]:
    """Parse one frame beginning at 0-based line index ``start``; return (molecule, next index)."""
    count_line = lines[start].split()
    lineno = start + 1
    try:
        n = int(count_line[0])
    except (ValueError, IndexError):
        raise XYZFormatError(
            f"{src}, line {lineno}: atom count must be an integer, got {lines[start].strip()!r}"
        ) from None
    if n < 0:
        raise XYZFormatError(f"{src}, line {lineno}: negative atom count {n}")
    if n == 0:
        raise XYZFormatError(f"{src}, line {lineno}: frame has no atoms (atom count 0)")
    if start + 1 >= len(lines):
        raise XYZFormatError(f"{src}, line {lineno + 1}: file ends before the comment line")
    comment = lines[start + 1]
    first = start + 2  # 0-based index of the first atom line
    atom_lines = lines[first : first + n]
    if len(atom_lines) < n:
        raise XYZFormatError(
            f"{src}, line {first + len(atom_lines) + 1}: file ends after {len(atom_lines)} of "
            f"{n} atom lines (truncated file?)"
        )
    first_lineno = first + 1
    tokens = [ln.split() for ln in atom_lines]
    ncols = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=n)

    kv = _parse_comment(comment) if "properties" in comment.lower() else {}
    props_key = next((k for k in kv if k.lower() == "properties"), None)
    if props_key is not None:
        spec = kv[props_key].split(":")
        if len(spec) % 3 != 0:
            raise XYZFormatError(f"{src}, line {start + 2}: malformed Properties={kv[props_key]!r}")
        col = 0
        species_col = z_col = pos_col = q_col = None
        q_rank = len(_CHARGE_COLUMN_NAMES)
        for j in range(0, len(spec), 3):
            pname, ptype, pn = spec[j], spec[j + 1].upper(), spec[j + 2]
            try:
                width = int(pn)
            except ValueError:
                raise XYZFormatError(
                    f"{src}, line {start + 2}: bad column count {pn!r} for property {pname!r}"
                ) from None
            lname = pname.lower()
            if lname == "species" and species_col is None:
                species_col = col
            elif lname in ("z", "numbers") and ptype == "I" and z_col is None:
                z_col = col
            elif lname in ("pos", "positions") and pos_col is None:
                if width != 3 or ptype != "R":
                    raise XYZFormatError(f"{src}, line {start + 2}: property {pname!r} must be R:3")
                pos_col = col
            elif lname in _CHARGE_COLUMN_NAMES and width == 1 and ptype == "R":
                # prefer the first name in _CHARGE_COLUMN_NAMES order
                if _CHARGE_COLUMN_NAMES.index(lname) < q_rank:
                    q_col, q_rank = col, _CHARGE_COLUMN_NAMES.index(lname)
            col += width
        if species_col is None:
            species_col = z_col
        if species_col is None or pos_col is None:
            raise XYZFormatError(
                f"{src}, line {start + 2}: Properties needs a species (or Z) and a pos column"
            )
        needed = col
        has_q = q_col is not None
        name = kv.get(next((k for k in kv if k.lower() == "name"), ""), "")
    else:
        species_col, pos_col = 0, 1
        needed = 4
        # a fifth column is a charge column only if every atom line has exactly 5 columns
        has_q = bool(np.all(ncols == 5))
        q_col = 4 if has_q else None
        name = comment.strip()

    short = np.flatnonzero(ncols < needed)
    if short.size:
        k = int(short[0])
        raise XYZFormatError(
            f"{src}, line {first_lineno + k}: expected at least {needed} columns, got "
            f"{ncols[k]}: {atom_lines[k].strip()!r}"
        )
    z = _element_tokens_to_z([t[species_col] for t in tokens], first_lineno, src)
    pos = _floats([t[pos_col : pos_col + 3] for t in tokens], first_lineno, src, "coordinate")
    if has_q:
        q = _floats([[t[q_col]] for t in tokens], first_lineno, src, "charge")[:, 0]
    else:
        q = np.zeros(n)
    for arr, what in ((pos, "coordinate"), (q[:, None], "charge")):
        finite = np.isfinite(arr).all(axis=1)
        if not finite.all():
            k = int(np.flatnonzero(~finite)[0])
            raise XYZFormatError(f"{src}, line {first_lineno + k}: non-finite {what}")
    return Molecule(z, pos, q, name=name), first + n


def _iter_frames(path_or_file: PathOrFile) -> Iterator[Molecule]:
    src = _source_name(path_or_file)
    lines = _read_text(path_or_file).splitlines()
    i = 0
    nframes = 0
    while True:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            break
        mol, i = _parse_frame(lines, i, src)
        nframes += 1
        yield mol
    if nframes == 0:
        raise XYZFormatError(f"{src}, line 1: empty file (no atom count)")


def read_xyz(path_or_file: PathOrFile, index: int = 0) -> Molecule:
    """Read one frame of an xyz file.

    Supported: plain xyz (``N``, comment, ``Sym x y z`` per atom), xyz with a fifth charge
    column (used when every atom line of the frame has exactly five columns), and extended
    xyz (comment line with ``Properties=species:S:1:pos:R:3:charges:R:1``; the charge column
    may be named ``charges``, ``initial_charges``, ``charge`` or ``q``; other key=value pairs
    such as ``Lattice="..."`` are ignored). The element column may hold symbols (any case) or
    atomic numbers. Blank lines between frames are skipped.

    Parameters
    ----------
    path_or_file
        Path, or an open text/binary file.
    index
        Frame number (0-based; negative counts from the end).

    Returns
    -------
    Molecule
        Positions in Å, charges in e (zeros when the file has none). ``name`` is the comment
        line (plain xyz) or the ``name=`` value (extended xyz).

    Raises
    ------
    XYZFormatError
        Malformed input; the message names the file and the line.
    IndexError
        No frame ``index``.
    """
    if index >= 0:
        for k, mol in enumerate(_iter_frames(path_or_file)):
            if k == index:
                return mol
        raise IndexError(f"{_source_name(path_or_file)}: no frame {index}")
    frames = read_xyz_frames(path_or_file)
    if -index > len(frames):
        raise IndexError(f"{_source_name(path_or_file)}: no frame {index} ({len(frames)} frames)")
    return frames[index]


def read_xyz_frames(path_or_file: PathOrFile) -> list[Molecule]:
    """Read all frames of a (multi-frame) xyz file; see :func:`read_xyz` for the formats."""
    return list(_iter_frames(path_or_file))


def write_xyz(
    path_or_file: PathOrFile,
    mol: Molecule | Iterable[Molecule],
    format: Literal["auto", "plain", "charges", "extxyz"] = "auto",
    comment: str | None = None,
) -> None:
    """Write one molecule (or several, as frames) in xyz format.

    Parameters
    ----------
    path_or_file
        Path, or an open text file.
    mol
        A :class:`Molecule` or an iterable of them (one frame each).
    format
        ``"plain"``: ``Sym x y z``; ``"charges"``: ``Sym x y z q``; ``"extxyz"``: extended
        xyz with ``Properties=species:S:1:pos:R:3:charges:R:1``; ``"auto"``: ``"charges"``
        when any charge is non-zero, else ``"plain"``. Positions in Å (8 decimals), charges
        in e (8 decimals).
    comment
        Comment line; default the molecule's name. For extxyz, the name is written as
        ``name="..."`` and the comment (if given) as ``comment="..."``.
    """
    if format not in ("auto", "plain", "charges", "extxyz"):
        raise ValueError(f"unknown xyz format {format!r}")
    mols = [mol] if isinstance(mol, Molecule) else list(mol)
    out: list[str] = []
    for m in mols:
        fmt = format
        if fmt == "auto":
            fmt = "charges" if np.any(m.charges != 0) else "plain"
        syms = m.symbols
        if fmt == "extxyz":
            parts = ["Properties=species:S:1:pos:R:3:charges:R:1"]
            if m.name:
                parts.append(f'name="{_quote(m.name)}"')
            if comment:
                parts.append(f'comment="{_quote(comment)}"')
            head = " ".join(parts)
        else:
            head = (m.name if comment is None else comment).replace("\n", " ").replace("\r", " ")
        out.append(str(len(m)))
        out.append(head)
        w = max(len(s) for s in syms)
        p = m.positions
        if fmt == "plain":
            out.extend(
                f"{s:<{w}} {x:16.8f} {y:16.8f} {z:16.8f}"
                for s, (x, y, z) in zip(syms, p.tolist(), strict=True)
            )
        else:
            out.extend(
                f"{s:<{w}} {x:16.8f} {y:16.8f} {z:16.8f} {q:14.8f}"
                for s, (x, y, z), q in zip(syms, p.tolist(), m.charges.tolist(), strict=True)
            )
    text = "\n".join(out) + "\n"
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        path_or_file.write(text)  # type: ignore[arg-type]


def _quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


# ---------------------------------------------------------------------------------------------
# RDKit
# ---------------------------------------------------------------------------------------------
def from_smiles(
    smiles: str,
    charges: Literal["mmff", "gasteiger"] = "mmff",
    seed: int = 0,
    name: str | None = None,
) -> Molecule:
    """3D molecule from SMILES with RDKit: add H, ETKDGv3 embedding, MMFF94 optimisation.

    Parameters
    ----------
    smiles
        SMILES string. Stereo centres given in the SMILES are kept.
    charges
        ``"mmff"``: MMFF94 partial charges; ``"gasteiger"``: Gasteiger-Marsili charges. In e.
    seed
        Random seed of the ETKDG embedding (same seed, same geometry).
    name
        Molecule name; default the SMILES.

    Returns
    -------
    Molecule
        Heavy atoms in SMILES order followed by the hydrogens (RDKit ``AddHs`` order);
        positions in Å after MMFF94 optimisation (at most 2000 iterations).

    Raises
    ------
    ValueError
        Invalid SMILES, embedding failure, missing MMFF94 parameters, or NaN charges; the
        message contains the SMILES.
    """
    if charges not in ("mmff", "gasteiger"):
        raise ValueError(f"charges must be 'mmff' or 'gasteiger', got {charges!r}")
    from rdkit import Chem, rdBase
    from rdkit.Chem import AllChem

    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles, sanitize=False) if isinstance(smiles, str) else None
        if mol is None or mol.GetNumAtoms() == 0:
            raise ValueError(f"invalid SMILES {smiles!r}: could not be parsed")
        try:
            Chem.SanitizeMol(mol)
        except Exception as e:  # RDKit raises several exception types here
            raise ValueError(f"invalid SMILES {smiles!r}: {e}") from e
        mol = Chem.AddHs(mol)
        params = AllChem.ETKDGv3()
        params.randomSeed = int(seed)
        cid = AllChem.EmbedMolecule(mol, params)
        if cid < 0:
            params.useRandomCoords = True
            cid = AllChem.EmbedMolecule(mol, params)
        if cid < 0:
            raise ValueError(f"3D embedding failed for SMILES {smiles!r}")
        props = AllChem.MMFFGetMoleculeProperties(mol, mmffVariant="MMFF94")
        if props is None:
            raise ValueError(f"MMFF94 has no parameters for SMILES {smiles!r}")
        AllChem.MMFFOptimizeMolecule(mol, mmffVariant="MMFF94", maxIters=2000, confId=cid)
        n = mol.GetNumAtoms()
        if charges == "mmff":
            q = np.array([props.GetMMFFPartialCharge(i) for i in range(n)], dtype=np.float64)
        else:
            AllChem.ComputeGasteigerCharges(mol)
            q = np.array(
                [a.GetDoubleProp("_GasteigerCharge") for a in mol.GetAtoms()], dtype=np.float64
            )
        if not np.all(np.isfinite(q)):
            bad = int(np.flatnonzero(~np.isfinite(q))[0])
            raise ValueError(f"{charges} charge of atom {bad} is NaN for SMILES {smiles!r}")
        z = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
        pos = np.array(mol.GetConformer(cid).GetPositions(), dtype=np.float64)
    return Molecule(z, pos, q, name=smiles if name is None else name)


@functools.lru_cache(maxsize=1)
def _camphor_cached() -> Molecule:
    text = resources.files("afmkit").joinpath("data/camphor.xyz").read_text(encoding="utf-8")
    return read_xyz(io.StringIO(text))


def camphor() -> Molecule:
    """1S-camphor, C10H16O, 27 atoms, from a geometry shipped with the package.

    The geometry (``afmkit/data/camphor.xyz``) was made once with
    ``from_smiles(CAMPHOR_SMILES, charges="mmff", seed=0)``: RDKit ETKDGv3 + MMFF94, MMFF94
    charges (e). :data:`CAMPHOR_SMILES` is (1S,4S) by RDKit's CIP labels. Atom order: the
    11 heavy atoms in SMILES order, then 16 H. Positions in Å. RDKit is not needed.
    """
    m = _camphor_cached().copy()
    m.name = "1S-camphor"
    return m


# ---------------------------------------------------------------------------------------------
# QM9
# ---------------------------------------------------------------------------------------------
QM9_CACHE_FORMAT = 1
_QM9_DIRNAME = f"qm9-v{QM9_CACHE_FORMAT}"
_QM9_ARRAYS = ("numbers", "positions", "charges", "offsets", "ids", "smiles")
_QM9_COLUMNS = ("Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", "Mulliken_pop")
_QM9_CHUNK = 4096
_STALE_TMP_SECONDS = 3600.0
_DELETE_BRACKETS = str.maketrans("", "", "[]'\" \t")
_QM9_SYMBOL_Z = {s: z for z, s in enumerate(SYMBOLS) if s}


def molecule_label(mol: Any) -> str:
    """``molecule 'name'`` (or just ``molecule``) for error messages."""
    name = getattr(mol, "name", "") or ""
    return f"molecule {name!r}" if name else "molecule"


def checked_arrays(mol: Any, purpose: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a molecule-like object's arrays *now* (they may have changed since construction).

    Returns numbers (N,) int64, positions (N, 3) float64 in Å and charges (N,) float64 in e
    (zeros if absent). Raises TypeError/ValueError naming ``purpose`` (e.g. "simulating") for a
    missing attribute, no atoms, bad shapes, or NaN/inf values.
    """
    try:
        numbers = np.asarray(mol.numbers)
        positions = np.asarray(mol.positions, dtype=np.float64)
        charges = getattr(mol, "charges", None)
    except AttributeError as err:
        raise TypeError(
            f"expected a Molecule with .numbers and .positions, got {type(mol).__name__}"
        ) from err
    n = numbers.shape[0] if numbers.ndim == 1 else -1
    if n == 0:
        raise ValueError(f"{molecule_label(mol)} has no atoms: {purpose} needs at least one atom")
    if numbers.ndim != 1 or positions.shape != (n, 3):
        raise ValueError(
            f"{molecule_label(mol)}: numbers must be (N,) and positions (N, 3), got "
            f"{numbers.shape} and {positions.shape}"
        )
    charges = np.zeros(n) if charges is None else np.asarray(charges, dtype=np.float64)
    if charges.shape != (n,):
        raise ValueError(
            f"{molecule_label(mol)}: charges must have shape ({n},), got {charges.shape}"
        )
    if not (np.all(np.isfinite(positions)) and np.all(np.isfinite(charges))):
        raise ValueError(f"{molecule_label(mol)} has NaN or infinite positions or charges")
    return numbers.astype(np.int64), positions, charges


def cache_dir() -> Path:
    """afmkit's cache directory: ``$AFMKIT_CACHE_DIR`` or the user cache dir (may not exist yet)."""
    return _cache_root()


def _cache_root() -> Path:
    env = os.environ.get("AFMKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("afmkit"))


def qm9_cache_path() -> Path:
    """Directory of the QM9 cache: ``<cache dir>/qm9-v1``.

    ``<cache dir>`` is ``$AFMKIT_CACHE_DIR`` if set, else ``platformdirs.user_cache_dir("afmkit")``.
    The directory may not exist yet; :func:`build_qm9_cache` creates it.
    """
    return _cache_root() / _QM9_DIRNAME


def qm9_source_csvs() -> list[Path]:
    """Paths of the QM9 CSV files shipped by ``qm9pack`` (``qm9_part1..3.csv``)."""
    import importlib.util

    spec = importlib.util.find_spec("qm9pack")  # locate without importing (it imports pandas)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("QM9 needs the 'qm9pack' package (pip install qm9pack)")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    paths = [data / f"qm9_part{k}.csv" for k in (1, 2, 3)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"qm9pack data files missing: {missing}")
    return paths


class _BadRow(ValueError):
    pass


def _parse_qm9_row(
    nat_s: str, el_s: str, xyz_s: str, mul_s: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow, careful parse of one QM9 row (used only when a chunk fails the fast path)."""
    try:
        n = int(nat_s)
    except ValueError:
        raise _BadRow(f"N_atoms {nat_s!r} is not an integer") from None
    syms = [t for t in el_s.translate(_DELETE_BRACKETS).split(",") if t]
    bad = [s for s in syms if s not in _QM9_SYMBOL_Z]
    if bad:
        raise _BadRow(f"unknown element {bad[0]!r}")
    try:
        xyz = np.array([t for t in xyz_s.translate(_DELETE_BRACKETS).split(",") if t], float)
        q = np.array([t for t in mul_s.translate(_DELETE_BRACKETS).split(",") if t], float)
    except ValueError as e:
        raise _BadRow(f"non-numeric value: {e}") from None
    if not (len(syms) == n and xyz.size == 3 * n and q.size == n):
        raise _BadRow(
            f"N_atoms={n} but {len(syms)} elements, {xyz.size} coordinates, {q.size} charges"
        )
    if n == 0:
        raise _BadRow("no atoms")
    if not (np.isfinite(xyz).all() and np.isfinite(q).all()):
        raise _BadRow("non-finite coordinate or charge")
    z = np.array([_QM9_SYMBOL_Z[s] for s in syms], dtype=np.uint8)
    return z, xyz.reshape(n, 3), q


def _parse_qm9_chunk(
    rows: list[tuple[str, int, str, str, str, str, str, str]],
    skipped: list[dict[str, Any]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Parse a chunk of CSV rows at once (bulk string joins + one float conversion).

    rows: (file, line, Index, SMILES, N_atoms, Elements, XYZ_Ang, Mulliken_pop).
    Returns numbers (M,) uint8, positions (M, 3), charges (M,), counts (n,), ids (n,), smiles.
    """
    try:
        nat = np.array([r[4] for r in rows], dtype=np.int64)
        ids = np.array([r[2] for r in rows], dtype=np.int64)
        el = ",".join(r[5] for r in rows).translate(_DELETE_BRACKETS).split(",")
        xyz = ",".join(r[6] for r in rows).translate(_DELETE_BRACKETS).split(",")
        mul = ",".join(r[7] for r in rows).translate(_DELETE_BRACKETS).split(",")
        # per-molecule counts must match N_atoms exactly (a global match could hide swaps)
        n_el = np.array([r[5].count(",") + 1 for r in rows])
        n_xyz = np.array([r[6].count(",") + 1 for r in rows])
        n_mul = np.array([r[7].count(",") + 1 for r in rows])
        if not (
            np.all(nat > 0)
            and np.array_equal(n_el, nat)
            and np.array_equal(n_xyz, 3 * nat)
            and np.array_equal(n_mul, nat)
            and len(el) == nat.sum()
        ):
            raise _BadRow("count mismatch")
        uniq, inv = np.unique(np.array(el), return_inverse=True)
        uz = np.array([_QM9_SYMBOL_Z.get(str(s), 0) for s in uniq], dtype=np.uint8)
        if np.any(uz == 0):
            raise _BadRow("unknown element")
        numbers = uz[inv.reshape(-1)]
        pos = np.array(xyz, dtype=np.float64).reshape(-1, 3)
        q = np.array(mul, dtype=np.float64)
        if not (np.isfinite(pos).all() and np.isfinite(q).all()):
            raise _BadRow("non-finite values")
        return numbers, pos, q, nat, ids, [r[3] for r in rows]
    except (ValueError, _BadRow):
        pass
    # slow path: row by row, skipping (and recording) bad rows
    zs, ps, qs, ns, idl, smi = [], [], [], [], [], []
    for fname, line, id_s, smiles, nat_s, el_s, xyz_s, mul_s in rows:
        try:
            try:
                qid = int(id_s)
            except ValueError:
                raise _BadRow(f"Index {id_s!r} is not an integer") from None
            z, p, q = _parse_qm9_row(nat_s, el_s, xyz_s, mul_s)
        except _BadRow as e:
            skipped.append({"file": fname, "line": line, "index": id_s, "reason": str(e)})
            continue
        zs.append(z)
        ps.append(p)
        qs.append(q)
        ns.append(len(z))
        idl.append(qid)
        smi.append(smiles)
    if not zs:
        return (
            np.zeros(0, np.uint8), np.zeros((0, 3)), np.zeros(0),
            np.zeros(0, np.int64), np.zeros(0, np.int64), [],
        )  # fmt: skip
    return (
        np.concatenate(zs), np.concatenate(ps), np.concatenate(qs),
        np.array(ns, np.int64), np.array(idl, np.int64), smi,
    )  # fmt: skip


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while buf := f.read(1 << 24):
            n += buf.count(b"\n")
    return n


def _save_array(directory: Path, name: str, arr: np.ndarray) -> None:
    """Write one cache array (``<name>.npy``) and flush it to disk."""
    with open(directory / f"{name}.npy", "wb") as f:
        np.save(f, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _cleanup_stale(root: Path) -> None:
    """Remove temp dirs of crashed builds (older than an hour) and replaced old caches."""
    now = time.time()
    for p in root.glob(f".{_QM9_DIRNAME}.*"):
        try:
            if ".old-" in p.name or now - p.stat().st_mtime > _STALE_TMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        with open(path / "meta.json", encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if meta.get("format") != QM9_CACHE_FORMAT:
        return None
    if not all((path / f"{a}.npy").is_file() for a in _QM9_ARRAYS):
        return None
    return meta


def _sources_changed(meta: dict[str, Any]) -> bool:
    """True if a recorded source CSV still exists but its size changed (e.g. qm9pack update)."""
    for s in meta.get("sources", []):
        try:
            if os.stat(s["path"]).st_size != s["size"]:
                return True
        except OSError:
            continue
    return False


def build_qm9_cache(
    force: bool = False,
    *,
    csv_paths: Sequence[str | os.PathLike[str]] | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> Path:
    """Build the memory-mappable QM9 cache (once) and return its directory.

    The cache (:func:`qm9_cache_path`) holds ``numbers.npy`` (M,) uint8, ``positions.npy``
    (M, 3) float32 in Å, ``charges.npy`` (M,) float32 Mulliken charges in e, ``offsets.npy``
    (n+1,) int64 (atoms of molecule i are ``offsets[i]:offsets[i+1]``), ``ids.npy`` (n,)
    int32 QM9 indices, ``smiles.npy`` (n,) ASCII bytes and ``meta.json``. M is the total atom count,
    n the number of molecules.

    The cache is built in a temporary directory next to the target and moved into place
    with one ``os.rename``: a crash never leaves a half-written cache, and concurrent
    builders cannot corrupt it (the first to finish wins, the others use its result).
    Temp dirs of crashed builds are removed by later builds once they are an hour old.

    Parameters
    ----------
    force
        Rebuild even if a current cache exists.
    csv_paths
        Source CSV files (qm9pack's column layout); default qm9pack's ``qm9_part1..3.csv``.
    limit
        Only the first ``limit`` rows (for tests and quick trials). The cache then holds a
        partial data set, recorded in ``meta.json``; :func:`qm9` warns when it uses one.
    progress
        Show a tqdm progress bar.

    Returns
    -------
    pathlib.Path
        The cache directory.
    """
    target = qm9_cache_path()
    root = target.parent
    if not force:
        meta = _read_meta(target)
        if meta is not None and not _sources_changed(meta):
            return target
    # an existing directory here is invalid, stale or to be forced away: replace it
    replace = force or target.exists()
    root.mkdir(parents=True, exist_ok=True)
    _cleanup_stale(root)
    paths = [Path(p) for p in csv_paths] if csv_paths is not None else qm9_source_csvs()
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")

    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{_QM9_DIRNAME}.tmp-", dir=root))
    try:
        meta = _build_qm9_into(tmp, paths, limit, progress)
        meta["build_seconds"] = round(time.perf_counter() - t0, 3)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a cache may be shared (AFMKIT_CACHE_DIR)
        with open(tmp / "meta.json", "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if meta["skipped"]:
            warnings.warn(
                f"QM9 cache: skipped {len(meta['skipped'])} malformed rows "
                f"(listed in {target / 'meta.json'})",
                stacklevel=2,
            )
        old = None
        if replace and target.exists():
            old = root / f".{_QM9_DIRNAME}.old-{uuid.uuid4().hex}"
            try:
                os.rename(target, old)
            except OSError:
                old = None
        try:
            os.rename(tmp, target)
        except OSError:
            # another builder finished first: use its (complete) cache, drop ours
            if _read_meta(target) is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _open_dataset.cache_clear()
    return target


def _build_qm9_into(
    tmp: Path, paths: list[Path], limit: int | None, progress: bool
) -> dict[str, Any]:
    from tqdm.auto import tqdm

    total = sum(max(_count_lines(p) - 1, 0) for p in paths)
    if limit is not None:
        total = min(total, limit)
    numbers, positions, charges, counts, ids, smiles = [], [], [], [], [], []
    skipped: list[dict[str, Any]] = []
    nrows = 0

    def flush(chunk: list) -> None:
        z, p, q, n, i, s = _parse_qm9_chunk(chunk, skipped)
        numbers.append(z)
        positions.append(p.astype(np.float32))
        charges.append(q.astype(np.float32))
        counts.append(n)
        ids.append(i)
        smiles.extend(s)
        bar.update(len(chunk))

    with tqdm(total=total, unit="mol", desc="Building QM9 cache", disable=not progress) as bar:
        for path in paths:
            if limit is not None and nrows >= limit:
                break
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                try:
                    header = next(reader)
                except StopIteration:
                    continue
                try:
                    cols = [header.index(c) for c in _QM9_COLUMNS]
                except ValueError:
                    raise ValueError(
                        f"{path}: not a qm9pack CSV (needs columns {_QM9_COLUMNS})"
                    ) from None
                width = max(cols) + 1
                chunk: list[tuple[str, int, str, str, str, str, str, str]] = []
                fname = str(path)
                for row in reader:
                    if limit is not None and nrows >= limit:
                        break
                    nrows += 1
                    if len(row) < width:
                        skipped.append(
                            {"file": fname, "line": reader.line_num, "index": "",
                             "reason": f"only {len(row)} columns"}
                        )  # fmt: skip
                        bar.update(1)
                        continue
                    chunk.append((fname, reader.line_num, *(row[c] for c in cols)))
                    if len(chunk) >= _QM9_CHUNK:
                        flush(chunk)
                        chunk = []
                if chunk:
                    flush(chunk)

    n_per = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    if n_per.size == 0:
        raise ValueError(f"no molecules could be read from {[str(p) for p in paths]}")
    offsets = np.zeros(n_per.size + 1, dtype=np.int64)
    np.cumsum(n_per, out=offsets[1:])
    id_arr = np.concatenate(ids)
    if id_arr.max() > np.iinfo(np.int32).max:
        raise ValueError("QM9 index does not fit int32")
    _save_array(tmp, "numbers", np.concatenate(numbers))
    _save_array(tmp, "positions", np.concatenate(positions))
    _save_array(tmp, "charges", np.concatenate(charges))
    _save_array(tmp, "offsets", offsets)
    _save_array(tmp, "ids", id_arr.astype(np.int32))
    try:  # QM9 SMILES are ASCII: store as bytes (4x smaller than str)
        smiles_arr = np.array([x.encode("ascii") for x in smiles], dtype=np.bytes_)
    except UnicodeEncodeError:
        smiles_arr = np.array(smiles, dtype=np.str_)
    _save_array(tmp, "smiles", smiles_arr)
    try:
        from importlib.metadata import version

        qm9pack_version = version("qm9pack")
    except Exception:
        qm9pack_version = None
    return {
        "format": QM9_CACHE_FORMAT,
        "n_molecules": int(n_per.size),
        "n_atoms": int(offsets[-1]),
        "rows_read": nrows,
        "limit": limit,
        "partial": limit is not None,
        "sources": [{"path": str(p), "size": p.stat().st_size} for p in paths],
        "qm9pack_version": qm9pack_version,
        "skipped": skipped,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "units": {"positions": "angstrom", "charges": "e (Mulliken, B3LYP/6-31G(2df,p))"},
    }


class QM9Dataset:
    """Lazy, memory-mapped view of the QM9 cache; items are :class:`Molecule`.

    Supports ``len()``, ``ds[i]`` (negative i allowed), ``ds[a:b]`` (a list), iteration,
    :meth:`smiles`, :meth:`qm9_id` and :meth:`find`. Positions in Å (DFT B3LYP, stored as
    float32), charges are Mulliken charges in e (float32). Molecule ``i`` is named
    ``"qm9-%06d" % qm9_id(i)``.

    Parameters
    ----------
    path
        Cache directory made by :func:`build_qm9_cache`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta = _read_meta(self.path)
        if meta is None:
            raise FileNotFoundError(f"no valid QM9 cache at {self.path}")
        self.meta: dict[str, Any] = meta
        load = functools.partial(np.load, mmap_mode="r", allow_pickle=False)
        self._numbers = load(self.path / "numbers.npy")
        self._positions = load(self.path / "positions.npy")
        self._charges = load(self.path / "charges.npy")
        self._offsets = np.load(self.path / "offsets.npy")
        self._ids = np.load(self.path / "ids.npy")
        self._smiles = load(self.path / "smiles.npy")
        self._n = int(self._ids.shape[0])
        self._sorted = bool(np.all(np.diff(self._ids) > 0))

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        part = ", partial" if self.meta.get("partial") else ""
        return f"QM9Dataset({self._n} molecules{part}, path={str(self.path)!r})"

    def _index(self, i: int | np.integer) -> int:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"QM9 index must be an integer or slice, got {type(i).__name__}")
        j = int(i)
        if j < 0:
            j += self._n
        if not 0 <= j < self._n:
            raise IndexError(f"QM9 index {int(i)} out of range for {self._n} molecules")
        return j

    def __getitem__(self, i: int | slice) -> Molecule | list[Molecule]:
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._n))]
        return self._get(self._index(i))

    def _get(self, j: int) -> Molecule:
        a, b = int(self._offsets[j]), int(self._offsets[j + 1])
        return Molecule._trusted(
            self._numbers[a:b].astype(np.int64),
            self._positions[a:b].astype(np.float64),
            self._charges[a:b].astype(np.float64),
            f"qm9-{int(self._ids[j]):06d}",
        )

    def __iter__(self) -> Iterator[Molecule]:
        for j in range(self._n):
            yield self._get(j)

    def smiles(self, i: int) -> str:
        """SMILES of molecule ``i`` (0-based position), as given by QM9 (GDB-17 SMILES)."""
        v = self._smiles[self._index(i)]
        return v.decode("ascii") if isinstance(v, bytes) else str(v)

    def qm9_id(self, i: int) -> int:
        """QM9 index (1..133885, the number in ``dsgdb9nsd_NNNNNN.xyz``) of molecule ``i``."""
        return int(self._ids[self._index(i)])

    def n_atoms(self, i: int) -> int:
        """Number of atoms of molecule ``i``."""
        j = self._index(i)
        return int(self._offsets[j + 1] - self._offsets[j])

    @property
    def ids(self) -> np.ndarray:
        """(n,) int32 QM9 indices of all molecules, in dataset order."""
        return self._ids

    def find(self, qm9_id: int) -> int:
        """0-based position of the molecule with QM9 index ``qm9_id``.

        Raises
        ------
        KeyError
            If no molecule has that QM9 index (about 3k of 133,885 are not in qm9pack).
        """
        qid = int(qm9_id)
        if self._sorted:
            j = int(np.searchsorted(self._ids, qid))
            if j < self._n and int(self._ids[j]) == qid:
                return j
        else:
            hit = np.flatnonzero(self._ids == qid)
            if hit.size:
                return int(hit[0])
        raise KeyError(f"QM9 index {qid} is not in the data set")


@functools.lru_cache(maxsize=4)
def _open_dataset(path: str, mtime_ns: int) -> QM9Dataset | None:
    """Open (and remember) the cache at ``path``; None if it is invalid or stale."""
    try:
        ds = QM9Dataset(path)
    except (OSError, ValueError):
        return None
    return None if _sources_changed(ds.meta) else ds


def qm9(index: int | None = None) -> Molecule | QM9Dataset:
    """QM9 molecules (DFT B3LYP geometries in Å, Mulliken charges in e) from ``qm9pack``.

    The first call builds a compact memory-mapped cache (:func:`build_qm9_cache`, about
    5 s, progress bar); later calls open it in milliseconds. qm9pack holds 130,831 of
    QM9's 133,885 molecules (the 3,054 that failed QM9's own consistency check are absent).

    Parameters
    ----------
    index
        0-based position in the data set (negative counts from the end), or None.

    Returns
    -------
    Molecule or QM9Dataset
        The molecule at ``index`` (named e.g. ``"qm9-000001"`` after its QM9 index), or the
        whole data set as a lazy :class:`QM9Dataset` when ``index`` is None.

    Raises
    ------
    IndexError
        ``index`` out of range.
    """
    path = qm9_cache_path()
    ds = None
    try:
        ds = _open_dataset(str(path), (path / "meta.json").stat().st_mtime_ns)
    except OSError:
        pass
    if ds is None:
        build_qm9_cache()
        ds = _open_dataset(str(path), (path / "meta.json").stat().st_mtime_ns)
        if ds is None:  # pragma: no cover - only if the fresh cache is unreadable
            raise RuntimeError(f"could not open the QM9 cache at {path}")
    if ds.meta.get("partial"):
        warnings.warn(
            f"QM9 cache is partial ({len(ds)} molecules, limit={ds.meta.get('limit')}); "
            "call afmkit.molecules.build_qm9_cache(force=True) for the full set",
            stacklevel=2,
        )
    if index is None:
        return ds
    return ds[index]
