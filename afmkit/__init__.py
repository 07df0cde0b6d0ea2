"""afmkit: machine learning on atomic force microscopy images.

A Probe Particle Model simulator (NumPy reference + OpenCL), molecule tools, image
descriptors, data augmentation, CNNs and experiment matching, presented as a notebook course.
The subpackages are the layers (ARCHITECTURE.md): :mod:`afmkit.structures`,
:mod:`afmkit.physics`, :mod:`afmkit.targets`, :mod:`afmkit.learn`, :mod:`afmkit.experiments`,
:mod:`afmkit.plotting`, :mod:`afmkit.widgets`.

Public names: :class:`Molecule`, :func:`read_xyz`, :func:`write_xyz`, :class:`SimulationParams`,
:class:`AFMSimulator`. Units throughout: Å, eV, e, N/m, Hz.
"""

from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import Molecule, read_xyz, write_xyz

__version__ = "0.1.0"
__all__ = ["AFMSimulator", "Molecule", "SimulationParams", "read_xyz", "write_xyz", "__version__"]
