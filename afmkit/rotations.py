"""Viewing directions (thesis Eq. 25) (public names, re-exported).

``afmkit.rotations.<name>`` is the documented public API; the code lives in
:mod:`afmkit.targets.rotations` (see ARCHITECTURE.md).
"""

from afmkit.targets.rotations import (
    GOLDEN_ANGLE,
    lay_flat,
    random_rotations,
    rotation_angle,
    rotation_scores,
    rotation_to_z,
    select_rotations,
    sphere_points,
    uniform_rotations,
)

__all__ = [
    "GOLDEN_ANGLE",
    "lay_flat",
    "random_rotations",
    "rotation_angle",
    "rotation_scores",
    "rotation_to_z",
    "select_rotations",
    "sphere_points",
    "uniform_rotations",
]
