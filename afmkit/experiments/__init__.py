"""Layer 5, experiments: experimental data, pseudo-experiments and orientation matching.

Modules: experimental data (the published camphor stacks, :mod:`.published`),
pseudo-experiments with known answers (:mod:`.pseudo`) and orientation matching
(:mod:`.matching`, with the Δf evidence in :mod:`.df_matching`).
"""

#: The package re-exports nothing: import its modules (``from afmkit.experiments import matching``).
__all__: list[str] = []
