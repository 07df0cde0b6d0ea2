"""Layer 3, targets: what the networks learn to produce.

Image descriptors and the xyz grid with its decoding (:mod:`.descriptors`), viewing directions
(:mod:`.rotations`, thesis Eq. 25).
"""

#: The package re-exports nothing: import its modules (``from afmkit.targets import rotations``).
__all__: list[str] = []
