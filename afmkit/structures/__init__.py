"""Layer 1, structures: molecules and where they come from.

Molecules and .xyz I/O, SMILES and camphor (:mod:`.molecules`), the QM9 cache (:mod:`.qm9`),
element tables (:mod:`.elements`), molecule sets for training (:mod:`.molecule_sets`) and the
catalogue of example molecules the panels offer (:mod:`.catalogue`).

Imports only :mod:`afmkit.fileio` below it.
"""

#: The package re-exports nothing: import its modules (``from afmkit.structures import qm9``).
__all__: list[str] = []
