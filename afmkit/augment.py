"""Data augmentation and pre-processing (public names, re-exported).

``afmkit.augment.<name>`` is the documented public API; the code lives in
:mod:`afmkit.learn.augment` (see ARCHITECTURE.md).
"""

from afmkit.learn.augment import (
    SHIFT_MODES,
    ShiftMode,
    Stacks,
    add_noise,
    augment,
    cutouts,
    default_height_indices,
    draw_tip,
    normalize_slices,
    preprocess,
    random_height_indices,
    random_shifts,
    select_heights,
    shift_slices,
    take_heights,
)

__all__ = [
    "SHIFT_MODES",
    "ShiftMode",
    "Stacks",
    "add_noise",
    "augment",
    "cutouts",
    "default_height_indices",
    "draw_tip",
    "normalize_slices",
    "preprocess",
    "random_height_indices",
    "random_shifts",
    "select_heights",
    "shift_slices",
    "take_heights",
]
