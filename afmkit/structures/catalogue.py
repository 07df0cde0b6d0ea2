"""The example molecules of the course: one catalogue that every panel and notebook offers.

Each entry of :data:`CATALOGUE` says how to build one molecule: 1S-camphor from the geometry
shipped with the package (:func:`afmkit.structures.molecules.camphor`), a QM9 molecule by its
0-based index (:func:`afmkit.structures.qm9.qm9`, DFT geometry, Mulliken charges) or a SMILES
string (:func:`afmkit.structures.molecules.from_smiles`, RDKit ETKDG + MMFF94, MMFF94 charges).
Nothing is downloaded. QM9 and SMILES molecules are turned face-on (their plane of least extent
in xy, as a flat molecule lies on a surface); camphor keeps its shipped orientation.

:func:`example_molecule` builds an entry once and hands out copies;
:func:`load_molecule` builds a molecule from one of the molecule picker's sources
(camphor, a QM9 index, a SMILES string, or the text of an .xyz file).
Positions in Å, charges in e.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from afmkit.structures.molecules import Molecule, camphor, from_smiles, lay_flat, read_xyz
from afmkit.structures.qm9 import qm9

__all__ = [
    "CATALOGUE",
    "DEFAULT_MOLECULE",
    "SOURCES",
    "CatalogueEntry",
    "catalogue_names",
    "example_molecule",
    "load_molecule",
]

#: Sources :func:`load_molecule` understands.
SOURCES: tuple[str, ...] = ("camphor", "qm9", "smiles", "xyz")


@dataclass(frozen=True)
class CatalogueEntry:
    """How to build one example molecule.

    Calling the entry (``entry()``) builds the molecule, as :meth:`build` does.

    Parameters
    ----------
    name
        Label shown in the panels; also the name of the built molecule.
    source
        ``"camphor"``, ``"qm9"`` or ``"smiles"``.
    qm9_index
        0-based position in QM9 (``source="qm9"``).
    smiles
        SMILES string (``source="smiles"``).
    face_on
        Turn the built molecule face-on (:func:`afmkit.structures.molecules.lay_flat`).
    """

    name: str
    source: str
    qm9_index: int | None = None
    smiles: str | None = None
    face_on: bool = True

    def build(self) -> Molecule:
        """Build the molecule (a fresh object; QM9 and RDKit do the work each call).

        Returns
        -------
        Molecule
            Positions in Å, charges in e, named :attr:`name`.

        Raises
        ------
        ValueError
            For an unknown source.
        """
        if self.source == "camphor":
            mol = camphor()
        elif self.source == "qm9":
            mol = qm9(int(self.qm9_index or 0))
        elif self.source == "smiles":
            mol = from_smiles(str(self.smiles), name=self.name)
        else:
            raise ValueError(f"catalogue entry {self.name!r}: unknown source {self.source!r}")
        mol.name = self.name
        return lay_flat(mol) if self.face_on else mol

    def __call__(self) -> Molecule:
        """Build the molecule (:meth:`build`).

        Returns
        -------
        Molecule
            Positions in Å, charges in e.
        """
        return self.build()


def _entries(*entries: CatalogueEntry) -> dict[str, CatalogueEntry]:
    return {e.name: e for e in entries}


#: The example molecules, by label (1S-camphor first). Offered by every molecule drop-down of
#: the panels (:mod:`afmkit.widgets`) and by :func:`example_molecule`.
CATALOGUE: dict[str, CatalogueEntry] = _entries(
    CatalogueEntry("1S-camphor", "camphor", face_on=False),
    CatalogueEntry("pyridine (QM9)", "qm9", qm9_index=209),
    CatalogueEntry("phenol (QM9)", "qm9", qm9_index=923),
    CatalogueEntry("pyrrole-2-carbaldehyde (QM9)", "qm9", qm9_index=998),
    CatalogueEntry("imidazole carbaldehyde (QM9)", "qm9", qm9_index=1000),
    CatalogueEntry("difluoropyridone (QM9)", "qm9", qm9_index=130000),
    CatalogueEntry("bicyclic formamide (QM9)", "qm9", qm9_index=50000),
    CatalogueEntry("naphthalene (SMILES)", "smiles", smiles="c1ccc2ccccc2c1"),
    CatalogueEntry("benzoic acid (SMILES)", "smiles", smiles="OC(=O)c1ccccc1"),
)

#: The molecule every panel starts with.
DEFAULT_MOLECULE = "1S-camphor"


def catalogue_names() -> list[str]:
    """The labels of :data:`CATALOGUE`, in catalogue order (1S-camphor first).

    Returns
    -------
    list of str
        The labels.
    """
    return list(CATALOGUE)


@functools.lru_cache(maxsize=16)
def _example_cached(name: str) -> Molecule:
    try:
        entry = CATALOGUE[name]
    except KeyError:
        known = catalogue_names()
        raise KeyError(f"unknown example molecule {name!r}; choose from {known}") from None
    return entry.build()


def example_molecule(name: str = DEFAULT_MOLECULE) -> Molecule:
    """A copy of one catalogue molecule, built once per session.

    Parameters
    ----------
    name
        A label of :data:`CATALOGUE`.

    Returns
    -------
    Molecule
        A copy (safe to modify); positions in Å, charges in e.

    Raises
    ------
    KeyError
        For a label not in the catalogue (the message lists the labels).
    """
    return _example_cached(name).copy()


@functools.lru_cache(maxsize=32)
def _smiles_molecule(smiles: str) -> Molecule:
    return from_smiles(smiles)


def load_molecule(
    source: str, qm9_index: int = 0, smiles: str = "", xyz_text: str = ""
) -> Molecule:
    """A molecule from one of the molecule picker's sources.

    Parameters
    ----------
    source
        ``"camphor"`` (1S-camphor, MMFF94 charges), ``"qm9"`` (DFT geometry, Mulliken charges),
        ``"smiles"`` (RDKit ETKDG + MMFF94, MMFF94 charges) or ``"xyz"`` (text of an .xyz file;
        plain, with a charge column, or extended xyz). See :data:`SOURCES`.
    qm9_index
        0-based position in QM9 (``source="qm9"``).
    smiles
        SMILES string (``source="smiles"``); results are cached per string.
    xyz_text
        Contents of an .xyz file (``source="xyz"``).

    Returns
    -------
    Molecule
        The molecule as built (not turned), positions in Å, charges in e.

    Raises
    ------
    ValueError
        Unknown source, empty or invalid SMILES, or malformed xyz text.
    IndexError
        QM9 index out of range.
    """
    if source == "camphor":
        return camphor()
    if source == "qm9":
        return qm9(int(qm9_index))
    if source == "smiles":
        if not smiles.strip():
            raise ValueError("type a SMILES string, e.g. c1ccccc1O")
        return _smiles_molecule(smiles.strip()).copy()
    if source == "xyz":
        return read_xyz(io.StringIO(xyz_text))
    raise ValueError(f"unknown molecule source {source!r}; use one of {list(SOURCES)}")
