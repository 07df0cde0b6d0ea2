"""Layer 4, learn: augmentation, training data, CNNs, losses, metrics and training runs.

Modules: augmentation (:mod:`.augment`), training data and shards (:mod:`.data`), the CNNs
(:mod:`.models`), losses (:mod:`.losses`), metrics (:mod:`.metrics`), training runs
(:mod:`.train`) and the shipped weights (``weights/``).

Never imports widgets or plotting (figures are handed in as callbacks).
"""

#: The package re-exports nothing: import its modules (``from afmkit.learn import models``).
__all__: list[str] = []
