"""Molecules: atoms (Z), positions (Å) and point charges (e); xyz I/O, SMILES, camphor.

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
:func:`checked_arrays`
    Validation of a molecule-like object before simulating or computing descriptors.

QM9 lives in :mod:`afmkit.structures.qm9`.

Units everywhere: Å for lengths, e (elementary charge) for charges.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from typing import IO, Any, Literal, Union

import numpy as np
import numpy.typing as npt

from . import elements
from .elements import MAX_Z, SYMBOLS

__all__ = [
    "CAMPHOR_SMILES",
    "Molecule",
    "PathOrFile",
    "XYZFormatError",
    "camphor",
    "checked_arrays",
    "estimate_charges",
    "from_smiles",
    "lay_flat",
    "molecule_label",
    "read_xyz",
    "read_xyz_frames",
    "write_xyz",
]

#: What the xyz readers and writers accept: a path, or an open text or binary file.
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
    numbers : array_like of int or sequence of str
        (N,) atomic numbers (1..86), or element symbols (any case, e.g. ``['C', 'h']``).
    positions : array_like
        (N, 3) Cartesian coordinates in Å.
    charges : array_like, optional
        (N,) point charges in e; zeros if None.
    name : str
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
        Free-text name.

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
            z = np.clip(z, 0, MAX_Z + 1).astype(np.int64)  # out-of-range values stay invalid
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
        """Geometric centre (unweighted mean of positions), shape (3,), Å."""
        return self.positions.mean(axis=0)

    @property
    def total_charge(self) -> float:
        """Sum of the point charges, e."""
        return float(self.charges.sum())

    def copy(self) -> Molecule:
        """Deep copy.

        Returns
        -------
        Molecule
            A new molecule with copies of the arrays.
        """
        return Molecule._trusted(
            self.numbers.copy(), self.positions.copy(), self.charges.copy(), self.name
        )

    def rotated(self, R: npt.ArrayLike, center: npt.ArrayLike | None = None) -> Molecule:
        """Rotated copy: ``(positions - center) @ R.T + center``.

        Parameters
        ----------
        R : array_like
            (3, 3) proper rotation matrix (orthonormal, det = +1).
        center : array_like, optional
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
        """Copy translated by ``shift``.

        Parameters
        ----------
        shift : array_like
            (3,) displacement in Å.

        Returns
        -------
        Molecule
            New molecule; numbers, charges and name are copied.

        Raises
        ------
        ValueError
            If ``shift`` is not a finite (3,) vector.
        """
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
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = re.sub(r"\\(.)", r"\1", val[1:-1])  # undo the escapes of _quote
        elif len(val) >= 2 and val[0] == val[-1] == "'":
            val = val[1:-1]
        out[key] = val
    return out


def _element_tokens_to_z(tokens: list[str], first_line: int, src: str) -> np.ndarray:
    """Atomic numbers from symbol or number tokens; error names the line of the first bad one."""
    lut: dict[str, int] = {}
    for t in set(tokens):
        try:
            lut[t] = elements.atomic_number(t)
        except ValueError:  # UnknownElementError, or int() of a digit such as '²'
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
    # lines end at \n, \r\n or \r only (as open() reads them), not at the other line breaks of
    # str.splitlines (\x85, \u2028, ...), which may appear inside a comment
    lines = re.split(r"\r\n|\r|\n", _read_text(path_or_file))
    if lines[-1] == "":
        lines.pop()  # the final line break ends the last line
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
    path_or_file : str, PathLike or file
        Path, or an open text/binary file.
    index : int
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
    """Read all frames of a (multi-frame) xyz file; see :func:`read_xyz` for the formats.

    Parameters
    ----------
    path_or_file : str, PathLike or file
        Path, or an open text/binary file.

    Returns
    -------
    list of Molecule
        One molecule per frame (positions in Å, charges in e).

    Raises
    ------
    XYZFormatError
        Malformed input (or no frame at all); the message names the file and the line.
    """
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
    path_or_file : str, PathLike or file
        Path, or an open text file.
    mol : Molecule or iterable of Molecule
        A :class:`Molecule` or an iterable of them (one frame each).
    format : {"auto", "plain", "charges", "extxyz"}
        ``"plain"``: ``Sym x y z``; ``"charges"``: ``Sym x y z q``; ``"extxyz"``: extended
        xyz with ``Properties=species:S:1:pos:R:3:charges:R:1``; ``"auto"``: ``"charges"``
        when any charge is non-zero, else ``"plain"``. Positions in Å (8 decimals), charges
        in e (8 decimals).
    comment : str, optional
        Comment line; default the molecule's name. For extxyz, the name is written as
        ``name="..."`` and the comment (if given) as ``comment="..."``.

    Raises
    ------
    ValueError
        For an unknown ``format``.
    """
    if format not in ("auto", "plain", "charges", "extxyz"):
        raise ValueError(f"unknown xyz format {format!r}")
    mols = [mol] if isinstance(mol, Molecule) else list(mol)
    for k, m in enumerate(mols):
        if not isinstance(m, Molecule):
            raise TypeError(f"write_xyz: item {k} is a {type(m).__name__}, not a Molecule")
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
        data = text.encode("utf-8")  # an unencodable name fails here, before the file is touched
        with open(path_or_file, "wb") as f:
            f.write(data)
    else:
        path_or_file.write(text)  # type: ignore[arg-type]


def _quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")


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
    smiles : str
        SMILES string. Stereo centres given in the SMILES are kept.
    charges : {"mmff", "gasteiger"}
        ``"mmff"``: MMFF94 partial charges; ``"gasteiger"``: Gasteiger-Marsili charges. In e.
    seed : int
        Random seed of the ETKDG embedding (same seed, same geometry).
    name : str, optional
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


def estimate_charges(mol: Molecule, total_charge: int = 0) -> Molecule:
    """The molecule with Gasteiger-Marsili partial charges estimated from its geometry alone.

    For a plain .xyz file (elements and positions, no charges): RDKit perceives the bonds and
    bond orders from the distances (``rdDetermineBonds.DetermineBonds``), then computes Gasteiger
    charges. Rough (no conformational or environment effects) but far better than zero charges,
    which switch the electrostatic force off.

    Parameters
    ----------
    mol : Molecule
        Positions in Å; the existing charges are ignored.
    total_charge : int
        Net charge of the molecule (e), for the bond-order perception.

    Returns
    -------
    Molecule
        A copy with ``charges`` in e (summing to ``total_charge`` within Gasteiger's rounding).

    Raises
    ------
    ValueError
        If the molecule is empty, or RDKit cannot perceive its bonds (unusual valences, missing
        hydrogens, overlapping atoms), or a charge comes out NaN.
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem, rdDetermineBonds

    z, pos, _ = checked_arrays(mol, "estimating charges")
    block = f"{len(z)}\n\n" + "".join(
        f"{elements.symbol(int(zi))} {x:.6f} {y:.6f} {w:.6f}\n"
        for zi, (x, y, w) in zip(z, pos, strict=True)
    )
    RDLogger.DisableLog("rdApp.*")
    try:
        rd = Chem.MolFromXYZBlock(block)
        if rd is None:
            raise ValueError("RDKit could not read the geometry")
        try:
            rdDetermineBonds.DetermineBonds(rd, charge=int(total_charge))
            AllChem.ComputeGasteigerCharges(rd)
            q = np.array([a.GetDoubleProp("_GasteigerCharge") for a in rd.GetAtoms()], dtype=float)
        except Exception as err:  # RDKit raises ValueError or RuntimeError here
            reason = str(err).strip().splitlines()[0]
            raise ValueError(
                f"could not perceive the bonds of {molecule_label(mol)} from its geometry "
                f"({reason}); charges need a complete molecule with hydrogens"
            ) from err
    finally:
        RDLogger.EnableLog("rdApp.*")
    if not np.all(np.isfinite(q)):
        raise ValueError(f"Gasteiger charges of {molecule_label(mol)} came out NaN")
    return Molecule(z, pos, q, name=getattr(mol, "name", None))


@functools.lru_cache(maxsize=1)
def _camphor_cached() -> Molecule:
    path = resources.files("afmkit.structures").joinpath("data/camphor.xyz")
    text = path.read_text(encoding="utf-8")
    return read_xyz(io.StringIO(text))


def camphor() -> Molecule:
    """1S-camphor, C10H16O, 27 atoms, from a geometry shipped with the package.

    The geometry (``afmkit/structures/data/camphor.xyz``) was made once with
    ``from_smiles(CAMPHOR_SMILES, charges="mmff", seed=0)``: RDKit ETKDGv3 + MMFF94, MMFF94
    charges (e). :data:`CAMPHOR_SMILES` is (1S,4S) by RDKit's CIP labels. Atom order: the
    11 heavy atoms in SMILES order, then 16 H. Positions in Å. RDKit is not needed.

    Returns
    -------
    Molecule
        A fresh copy named ``"1S-camphor"``.
    """
    m = _camphor_cached().copy()
    m.name = "1S-camphor"
    return m


def lay_flat(mol: Molecule) -> Molecule:
    """Rotate a molecule so that its flattest direction points along z (towards the tip).

    The rotation maps the eigenvectors of the covariance of the atom positions (largest to
    smallest variance) onto x, y, z: a planar molecule ends up lying in the xy plane, as on a
    surface. Rotation about the centroid.

    Parameters
    ----------
    mol : Molecule
        The molecule (positions in Å).

    Returns
    -------
    Molecule
        A rotated copy (same atoms, charges in e and name).
    """
    pos = np.asarray(mol.positions, dtype=float)
    _, vecs = np.linalg.eigh(np.cov((pos - pos.mean(axis=0)).T))
    rot = vecs[:, ::-1].T  # rows: largest, middle, smallest variance direction
    if np.linalg.det(rot) < 0:
        rot[2] *= -1
    return mol.rotated(rot)


# ---------------------------------------------------------------------------------------------
# Validation helpers shared by the simulator and the descriptors
# ---------------------------------------------------------------------------------------------
def molecule_label(mol: Any) -> str:
    """``molecule 'name'`` (or just ``molecule``) for error messages.

    Parameters
    ----------
    mol : object
        A molecule-like object; its ``name`` attribute is used if present and non-empty.

    Returns
    -------
    str
        The label.
    """
    name = getattr(mol, "name", "") or ""
    return f"molecule {name!r}" if name else "molecule"


def checked_arrays(mol: Any, purpose: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a molecule-like object's arrays *now* (they may have changed since construction).

    Parameters
    ----------
    mol : object
        Anything with ``numbers`` and ``positions`` (and optionally ``charges``) attributes.
    purpose : str
        What the arrays are for (e.g. "simulating"), named in the error messages.

    Returns
    -------
    numbers : numpy.ndarray
        (N,) int64 atomic numbers.
    positions : numpy.ndarray
        (N, 3) float64 positions in Å.
    charges : numpy.ndarray
        (N,) float64 charges in e (zeros if absent).

    Raises
    ------
    TypeError
        If ``numbers`` or ``positions`` is missing.
    ValueError
        For no atoms, bad shapes, or NaN/inf values.
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
