"""Image descriptors and the xyz grid (public names, re-exported).

``afmkit.descriptors.<name>`` is the documented public API; the code lives in
:mod:`afmkit.targets.descriptors` (see ARCHITECTURE.md).
"""

from afmkit.targets.descriptors import (
    DEFAULT_ISO_FORCE,
    DISK_CUTOFF,
    DISK_WIDTH_FACTOR,
    HEIGHT_CUTOFF,
    LENGTH_RANGE,
    NMS_RADIUS,
    VDW_CUTOFF,
    XYZ_BOX_SIZE,
    XYZ_BOXES,
    XYZ_Z_MIN,
    atomic_disks,
    decode_xyz,
    es_map,
    height_map,
    vdw_spheres,
    xyz_grid,
)

__all__ = [
    "DEFAULT_ISO_FORCE",
    "DISK_CUTOFF",
    "DISK_WIDTH_FACTOR",
    "LENGTH_RANGE",
    "HEIGHT_CUTOFF",
    "NMS_RADIUS",
    "VDW_CUTOFF",
    "XYZ_BOXES",
    "XYZ_BOX_SIZE",
    "XYZ_Z_MIN",
    "atomic_disks",
    "decode_xyz",
    "es_map",
    "height_map",
    "vdw_spheres",
    "xyz_grid",
]
