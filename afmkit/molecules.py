"""Molecules, xyz I/O, SMILES, camphor and QM9 (public names, re-exported).

``afmkit.molecules.<name>`` is the documented public API; the code lives in
:mod:`afmkit.structures.molecules`, :mod:`afmkit.structures.qm9` and (``cache_dir``)
:mod:`afmkit.fileio` (see ARCHITECTURE.md).
"""

from afmkit.fileio import cache_dir
from afmkit.structures.molecules import (
    CAMPHOR_SMILES,
    Molecule,
    PathOrFile,
    XYZFormatError,
    camphor,
    checked_arrays,
    estimate_charges,
    from_smiles,
    lay_flat,
    molecule_label,
    read_xyz,
    read_xyz_frames,
    write_xyz,
)
from afmkit.structures.qm9 import (
    QM9_CACHE_FORMAT,
    QM9Dataset,
    build_qm9_cache,
    qm9,
    qm9_cache_path,
    qm9_source_csvs,
)

__all__ = [
    "CAMPHOR_SMILES",
    "Molecule",
    "PathOrFile",
    "QM9Dataset",
    "QM9_CACHE_FORMAT",
    "XYZFormatError",
    "build_qm9_cache",
    "cache_dir",
    "camphor",
    "checked_arrays",
    "estimate_charges",
    "from_smiles",
    "lay_flat",
    "molecule_label",
    "qm9",
    "qm9_cache_path",
    "qm9_source_csvs",
    "read_xyz",
    "read_xyz_frames",
    "write_xyz",
]
