"""Helpers shared by the panels: the molecule drop-down, cached preview simulations, best views.

Not a topic module (nothing here is a panel):

* :class:`MoleculeChoice` — the molecule drop-down of a panel: an optional molecule of the user
  (or a :func:`afmkit.widgets.molecules.molecule_picker_panel` to follow) first, then the
  example molecules of :data:`afmkit.structures.catalogue.CATALOGUE`.
* :func:`preview_stack` — Δf stack of a molecule on a preview grid, cached per molecule content,
  so moving a descriptor or augmentation slider never re-simulates.
* :func:`best_view` — a molecule turned into one of its best Eq. 25 views (cached).

Speed: previews use ``pixels`` px and a force-field step of :data:`PREVIEW_FF_STEP` (0.2 Å
instead of 0.1 Å: the Δf images correlate with the 0.1 Å ones to > 0.999).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

import numpy as np

from afmkit.physics.simulator import AFMSimulator, SimulationParams, scan_center
from afmkit.structures.catalogue import CATALOGUE, DEFAULT_MOLECULE, example_molecule
from afmkit.structures.molecules import Molecule
from afmkit.targets.rotations import select_rotations

__all__ = [
    "PREVIEW_FF_STEP",
    "MoleculeChoice",
    "best_view",
    "follow_molecule",
    "molecule_key",
    "preview_params",
    "preview_stack",
]

#: Force-field grid step of the preview simulations, Å (the full simulator uses 0.1 Å).
PREVIEW_FF_STEP = 0.2

_CACHE_SIZE = 64


def molecule_key(mol: Molecule) -> tuple:
    """Hashable identity of a molecule's content.

    Parameters
    ----------
    mol
        The molecule.

    Returns
    -------
    tuple
        Name, atomic numbers, positions rounded to 1e-6 Å and charges (e), as bytes.
    """
    pos = np.round(np.asarray(mol.positions, dtype=float), 6)
    return (mol.name, mol.numbers.tobytes(), pos.tobytes(), mol.charges.tobytes())


def follow_molecule(source: Any) -> Molecule:
    """The molecule ``source`` stands for.

    Parameters
    ----------
    source
        An :class:`afmkit.Molecule` (returned as is), a panel with a ``molecule`` attribute (the
        molecule picker: its current choice) or None (the catalogue's default, 1S-camphor).

    Returns
    -------
    Molecule
        The molecule (positions in Å, charges in e).

    Raises
    ------
    TypeError
        If ``source`` is neither.
    """
    if source is None:
        return example_molecule(DEFAULT_MOLECULE)
    if isinstance(source, Molecule):
        return source
    mol = getattr(source, "molecule", None)
    if not isinstance(mol, Molecule):
        raise TypeError("molecule must be an afmkit.Molecule or a molecule_picker_panel()")
    return mol


class MoleculeChoice:
    """The molecule drop-down of a panel: the user's molecule (if any), then the catalogue.

    Parameters
    ----------
    given
        None, an :class:`afmkit.Molecule` (offered first under its name, or "your molecule";
        "(given)" is added when the name is a catalogue label) or a panel with a ``molecule``
        attribute to follow (offered first as "your molecule").

    Attributes
    ----------
    labels : list of str
        The drop-down's options, the given molecule first, then :func:`catalogue labels
        <afmkit.structures.catalogue.catalogue_names>`.
    first : str
        The option selected at the start.
    given_label : str or None
        The label of the given molecule.
    """

    def __init__(self, given: Any = None) -> None:
        self.given = given
        self.labels = list(CATALOGUE)
        self.given_label: str | None = None
        if given is not None:
            label = (getattr(given, "name", "") if isinstance(given, Molecule) else "") or ""
            label = label or "your molecule"
            if label in CATALOGUE:
                label = f"{label} (given)"
            self.given_label = label
            self.labels.insert(0, label)
        self.first = self.labels[0]

    def follows(self, label: str) -> bool:
        """Whether ``label`` is the given molecule (which may change when it is a panel).

        Parameters
        ----------
        label
            A drop-down option.

        Returns
        -------
        bool
            True for the given molecule's label.
        """
        return self.given_label is not None and label == self.given_label

    def get(self, label: str) -> Molecule:
        """The molecule behind a drop-down option.

        Parameters
        ----------
        label
            One of :attr:`labels`.

        Returns
        -------
        Molecule
            The given molecule itself (or the followed panel's current one), or a copy of the
            catalogue molecule.

        Raises
        ------
        KeyError
            For a label that is neither.
        """
        if self.follows(label):
            return follow_molecule(self.given)
        return example_molecule(label)


def preview_params(
    pixels: int = 48, n_slices: int = 20, ff_step: float = PREVIEW_FF_STEP
) -> SimulationParams:
    """The simulation parameters of a preview grid.

    Parameters
    ----------
    pixels
        Pixels per side of the default 16 × 16 Å window.
    n_slices
        Number of Δf slices (0.1 Å apart, slice 0 farthest).
    ff_step
        Force-field grid step, Å.

    Returns
    -------
    SimulationParams
        The defaults with these three changed.
    """
    return SimulationParams(
        pixels=(int(pixels), int(pixels)), n_slices=int(n_slices), ff_step=float(ff_step)
    )


@functools.lru_cache(maxsize=8)
def _preview_simulator(pixels: int, n_slices: int, ff_step: float) -> AFMSimulator:
    return AFMSimulator(preview_params(pixels, n_slices, ff_step))


_STACKS: OrderedDict[tuple, np.ndarray] = OrderedDict()


def preview_stack(
    mol: Molecule, pixels: int = 48, n_slices: int = 20, ff_step: float = PREVIEW_FF_STEP
) -> np.ndarray:
    """Δf stack of ``mol`` as it is oriented, on a preview grid; cached per molecule content.

    Parameters
    ----------
    mol
        Molecule in scan orientation (the tip looks down −z).
    pixels
        Pixels per side of the default 16 × 16 Å window.
    n_slices
        Number of Δf slices (0.1 Å apart, slice 0 farthest).
    ff_step
        Force-field grid step, Å (0.2 Å for previews; the default simulator uses 0.1).

    Returns
    -------
    numpy.ndarray
        float32 (pixels, pixels, n_slices) Δf in Hz, window centred by
        :func:`afmkit.physics.simulator.scan_center`. The cached array is returned (read-only).
    """
    key = (molecule_key(mol), int(pixels), int(n_slices), float(ff_step))
    if key in _STACKS:
        _STACKS.move_to_end(key)
        return _STACKS[key]
    sim = _preview_simulator(int(pixels), int(n_slices), float(ff_step))
    stack = sim(mol, center_xy=scan_center(mol))
    stack.setflags(write=False)
    _STACKS[key] = stack
    while len(_STACKS) > _CACHE_SIZE:
        _STACKS.popitem(last=False)
    return stack


_VIEWS: OrderedDict[tuple, np.ndarray] = OrderedDict()


def best_view(mol: Molecule, rank: int, n_views: int = 10) -> Molecule:
    """``mol`` turned into its Eq. 25 view number ``rank`` of 100 candidate directions.

    Parameters
    ----------
    mol
        The molecule.
    rank
        0 = best view; clipped to ``n_views − 1``.
    n_views
        How many best views are kept (cached per molecule).

    Returns
    -------
    Molecule
        A rotated copy named ``"<name> (view <rank>)"``.
    """
    key = (molecule_key(mol), n_views)
    if key not in _VIEWS:
        _VIEWS[key] = select_rotations(mol, n=100, n_best=n_views)[0]
        while len(_VIEWS) > _CACHE_SIZE:
            _VIEWS.popitem(last=False)
    rots = _VIEWS[key]
    out = mol.rotated(rots[min(rank, len(rots) - 1)])
    out.name = f"{mol.name} (view {rank})"
    return out
