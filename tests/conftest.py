"""Shared fixtures: small molecules built without downloads."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.physics import opencl
from afmkit.structures.molecules import Molecule, camphor


def benzene(z: float = 0.0) -> Molecule:
    """Planar benzene in the xy plane at height ``z`` (Å) with small +/- charges (e)."""
    ang = np.arange(6) * np.pi / 3
    ring = np.c_[1.39 * np.cos(ang), 1.39 * np.sin(ang), np.full(6, z)]
    hyd = np.c_[2.47 * np.cos(ang), 2.47 * np.sin(ang), np.full(6, z)]
    return Molecule([6] * 6 + [1] * 6, np.r_[ring, hyd], [-0.1] * 6 + [0.1] * 6, name="benzene")


@pytest.fixture
def benzene_mol() -> Molecule:
    return benzene()


@pytest.fixture(scope="session")
def camphor_mol() -> Molecule:
    return camphor()


requires_opencl = pytest.mark.skipif(
    not opencl.available()[0], reason=f"no OpenCL device: {opencl.available()[1]}"
)


@pytest.fixture(scope="session")
def small_library(tmp_path_factory):
    """A camphor matching library of 6 directions (simulated once per test session) and its
    cache directory; shared by the matching and the matching-panel tests."""
    from afmkit.experiments.matching import build_library

    directory = tmp_path_factory.mktemp("lib")
    return build_library(n_orientations=6, directory=directory, progress=False), directory
