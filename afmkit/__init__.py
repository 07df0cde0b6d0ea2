"""afmkit: machine learning on atomic force microscopy images.

A Probe Particle Model simulator (NumPy reference + OpenCL), molecule tools, and (in later
modules) descriptors, data augmentation, CNNs and experiment matching, presented as a notebook
course.

Public names: :class:`Molecule`, :func:`read_xyz`, :func:`write_xyz`, :class:`SimulationParams`,
:class:`AFMSimulator`. Units throughout: Å, eV, e, N/m, Hz.
"""

from afmkit.molecules import Molecule, read_xyz, write_xyz
from afmkit.simulator import AFMSimulator, SimulationParams

__version__ = "0.1.0"
__all__ = ["AFMSimulator", "Molecule", "SimulationParams", "read_xyz", "write_xyz", "__version__"]
