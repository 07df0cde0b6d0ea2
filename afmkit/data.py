"""Training data: on-the-fly simulation and training shards (public names, re-exported).

``afmkit.data.<name>`` is the documented public API; the code lives in
:mod:`afmkit.learn.data` (see ARCHITECTURE.md).
"""

from afmkit.learn.data import (
    DEFAULT_ROTATIONS,
    MODES,
    SHARD_VERSION,
    TARGETS,
    AFMDataset,
    ShardDataset,
    ShardError,
    compute_targets,
    finish_batch,
    keys_for_mode,
    load_shard,
    molecule_set,
    write_shards,
)

__all__ = [
    "AFMDataset",
    "DEFAULT_ROTATIONS",
    "MODES",
    "SHARD_VERSION",
    "ShardDataset",
    "ShardError",
    "TARGETS",
    "compute_targets",
    "finish_batch",
    "keys_for_mode",
    "load_shard",
    "molecule_set",
    "write_shards",
]
