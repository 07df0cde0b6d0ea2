"""Orientation matching of experimental Δf stacks (public names, re-exported).

``afmkit.matching.<name>`` is the documented public API; the code lives in
:mod:`afmkit.experiments.matching` and, for ``plot_matches``, :mod:`afmkit.plotting.matching`
(see ARCHITECTURE.md).
"""

from afmkit.experiments.matching import (
    AMBIGUITY_RATIO,
    CHANNELS,
    DEFAULT_CHANNELS,
    DEFAULT_METHOD,
    DEFAULT_MODEL,
    LIBRARY_FORMAT,
    METHODS,
    SAME_ORIENTATION_DEG,
    TEMPERATURES,
    MatchResult,
    OrientationLibrary,
    accuracy,
    build_library,
    calibrate_temperature,
    check_experiment,
    exact_descriptors,
    library_directory,
    library_key,
    match,
    match_descriptor,
    matched_params,
    orientation_error,
    orientation_probabilities,
    predict_descriptors,
    rotation_z,
    set_confidence,
    symmetry_rotations,
)
from afmkit.plotting.matching import plot_matches

__all__ = [
    "AMBIGUITY_RATIO",
    "CHANNELS",
    "DEFAULT_CHANNELS",
    "DEFAULT_METHOD",
    "DEFAULT_MODEL",
    "LIBRARY_FORMAT",
    "METHODS",
    "MatchResult",
    "OrientationLibrary",
    "SAME_ORIENTATION_DEG",
    "TEMPERATURES",
    "accuracy",
    "build_library",
    "calibrate_temperature",
    "check_experiment",
    "exact_descriptors",
    "library_directory",
    "library_key",
    "match",
    "match_descriptor",
    "matched_params",
    "orientation_error",
    "orientation_probabilities",
    "plot_matches",
    "predict_descriptors",
    "rotation_z",
    "set_confidence",
    "symmetry_rotations",
]
