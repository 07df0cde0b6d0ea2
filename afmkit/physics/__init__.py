"""Layer 2, physics: the Probe Particle Model.

One Lennard-Jones + Coulomb pair function (:func:`.forcefield.lj_coulomb_pair`, with its OpenCL
twin in ``kernels/forcefield.cl``), FIRE relaxation (:mod:`.relax`, ``kernels/relax.cl``, one set
of :class:`.relax.FireSettings` for both), Δf from F_z (:mod:`.frequency`), OpenCL plumbing
(:mod:`.opencl`), the simulator (:mod:`.simulator`), pair-potential curves
(:mod:`.pair_potentials`), force and Δf curves at one pixel (:mod:`.spectroscopy`) and the ppafm
cross-check (:mod:`.ppafm_bridge`).

Never imports Keras, widgets or plotting: it runs in a plain worker process.
"""

#: The package re-exports nothing: import its modules (``from afmkit.physics import relax``).
__all__: list[str] = []
