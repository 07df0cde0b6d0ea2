"""Layer 6, plotting: every figure of the package.

Matplotlib figures and drawing helpers (:mod:`.figures`), descriptor figures
(:mod:`.descriptors`), physics figures for notebooks 01–03 (:mod:`.physics`), plotly figures of
the interactive panels (:mod:`.interactive`), training (:mod:`.training`) and matching
(:mod:`.matching`) figures. The widgets import their figures from here; the training loop gets
its loss-curve drawing handed in as a callback.

The package itself imports nothing, so ``import afmkit.plotting.figures`` stays light.
"""

#: The package re-exports nothing: import its modules (``from afmkit.plotting import figures``).
__all__: list[str] = []
