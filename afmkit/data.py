"""Training data: on-the-fly simulated batches (:class:`AFMDataset`) and dataset shards on disk.

Each sample is one molecule in one of its best viewing rotations (Eq. 25; 20 per molecule for
DSH/ES, 30 for xyz), simulated with a random tip tilt within a 1 Å circle and a random ±0.25 Å
jitter of the tip height around the calibrated default, then augmented (thesis §3.4). Modes:

* ``dsh``: X (B, nx, ny, 10); Y = (atomic disks, vdW spheres, height map), each (B, nx, ny).
* ``es``:  X = (CO stack, Xe stack), each (B, nx, ny, 10); Y = (ES map, height map).
* ``xyz``: X as dsh; Y = (classes (B, 16, 16, 2), offsets (B, 16, 16, 3)).

Everything is seeded: batch ``i`` of epoch ``e`` depends only on (seed, e, i), so workers, resumed
runs and shards reproduce the same batches. Shards store the *raw* batches (all 20 slices, before
augmentation) so a shard set can be reused over epochs with fresh augmentation;
:class:`ShardDataset` serves them with the same augmentation as :class:`AFMDataset`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from pathlib import Path

import keras
import numpy as np

from afmkit import augment as aug
from afmkit import descriptors
from afmkit.atomic import atomic_path, remove_stale_temporaries
from afmkit.molsets import molecule_set  # noqa: F401  (public: afmkit.data.molecule_set)
from afmkit.rotations import select_rotations
from afmkit.simulator import AFMSimulator, SimulationParams

log = logging.getLogger(__name__)

MODES = ("dsh", "es", "xyz")
DEFAULT_ROTATIONS = {"dsh": 20, "es": 20, "xyz": 30}
TARGETS = {
    "dsh": ("atomic_disks", "vdw_spheres", "height_map"),
    "es": ("es_map", "height_map"),
    "xyz": ("classes", "offsets"),
}
SHARD_VERSION = 1


class ShardError(OSError):
    """A shard file is missing, corrupt, or from a different configuration."""


class AFMDataset(keras.utils.PyDataset):
    """Simulated AFM training batches, generated on the fly.

    Parameters
    ----------
    molecules : list of :class:`~afmkit.molecules.Molecule` (e.g. from ``molecule_set``).
    mode : "dsh", "es" or "xyz" (see module docstring).
    batch_size : samples per batch (thesis: 30).
    seed : seeds rotations order, tips, heights and augmentation.
    params : simulation parameters (default ``SimulationParams()``: 128 × 128 px, 20 slices).
    n_rotations : best rotations kept per molecule (default 20 for dsh/es, 30 for xyz).
    tilt_radius : random tip tilt within a circle of this radius, Å (thesis: 1.0).
    height_jitter : random shift of the tip height, uniform in ±this, Å.
    augment : apply :func:`afmkit.augment.augment` (False: 20 raw slices, no noise).
    augment_kwargs : extra keyword arguments for :func:`afmkit.augment.augment`.
    shuffle : shuffle the samples each epoch.
    backend : simulator backend ("auto", "opencl", "numpy").
    workers, use_multiprocessing, max_queue_size : as ``keras.utils.PyDataset``. Worker threads
        share one OpenCL device (PoCL already uses every core); forked workers build their own.
    """

    def __init__(
        self,
        molecules,
        mode: str,
        batch_size: int = 30,
        seed: int = 0,
        *,
        params: SimulationParams | None = None,
        n_rotations: int | None = None,
        tilt_radius: float = 1.0,
        height_jitter: float = 0.25,
        augment: bool = True,
        augment_kwargs: dict | None = None,
        shuffle: bool = True,
        backend: str = "auto",
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ) -> None:
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if tilt_radius < 0 or height_jitter < 0:
            raise ValueError("tilt_radius and height_jitter must be >= 0 (Å)")
        self.molecules = list(molecules)
        if not self.molecules:
            raise ValueError("AFMDataset needs at least one molecule")
        self.mode = mode
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.params = params if params is not None else SimulationParams()
        if self.params.n_slices < 15 and augment:
            raise ValueError("augmentation needs at least 15 slices (it keeps 10 of 15)")
        self.n_rotations = n_rotations or DEFAULT_ROTATIONS[mode]
        self.tilt_radius = float(tilt_radius)
        self.height_jitter = float(height_jitter)
        self.augment = augment
        self.augment_kwargs = dict(augment_kwargs or {})
        self.shuffle = shuffle
        self.backend = backend
        self.epoch = 0
        self.timings: dict[str, float] = defaultdict(float)
        self._local = threading.local()  # one simulator per worker thread
        self._rotations = [
            select_rotations(m, n=100, n_best=self.n_rotations)[0] for m in self.molecules
        ]
        self._samples = np.array(
            [(i, k) for i in range(len(self.molecules)) for k in range(self.n_rotations)]
        )

    # --- keras.utils.PyDataset interface --------------------------------------------------
    def __len__(self) -> int:
        return -(-len(self._samples) // self.batch_size)

    @property
    def num_batches(self) -> int:
        return len(self)

    def __getitem__(self, index: int):
        raw = self.raw_batch(index)
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        return finish_batch(raw, self.mode, rng, self.augment, self.augment_kwargs, self.timings)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    # --- generation ------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return len(self._samples)

    def sample_order(self, epoch: int | None = None) -> np.ndarray:
        """(n_samples, 2) (molecule index, rotation index) in the order of ``epoch``."""
        epoch = self.epoch if epoch is None else epoch
        if not self.shuffle:
            return self._samples
        perm = np.random.default_rng([self.seed, epoch, 0]).permutation(len(self._samples))
        return self._samples[perm]

    def simulator(self) -> AFMSimulator:
        """This thread's simulator (its parameters change per sample)."""
        if getattr(self._local, "sim", None) is None:
            self._local.sim = AFMSimulator(self.params, backend=self.backend)
        return self._local.sim

    def raw_batch(self, index: int, epoch: int | None = None) -> dict[str, np.ndarray]:
        """Batch ``index`` before augmentation: 20-slice stacks, targets, and the sample ids."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range (dataset has {len(self)} batches)")
        epoch = self.epoch if epoch is None else epoch
        ids = self.sample_order(epoch)[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, index, 0])
        samples = [self._sample(int(i), int(k), rng) for i, k in ids]
        out = {key: np.stack([s[key] for s in samples]) for key in samples[0]}
        out["ids"] = ids.astype(np.int32)
        return out

    def _sample(self, mol_index: int, rot_index: int, rng: np.random.Generator) -> dict:
        mol = self.molecules[mol_index].rotated(self._rotations[mol_index][rot_index])
        r = self.tilt_radius * np.sqrt(rng.uniform())
        phi = rng.uniform(0, 2 * np.pi)
        tip = self.params.replace(
            tilt=(r * np.cos(phi), r * np.sin(phi)),
            z_closest=self.params.z_closest + rng.uniform(-self.height_jitter, self.height_jitter),
        )
        sim = self.simulator()
        t0 = time.perf_counter()
        sample = {"tilt": np.array(tip.tilt, np.float32), "z_closest": np.float32(tip.z_closest)}
        if self.mode == "es":
            sim.params = tip.replace(probe="CO")
            sample["X_co"] = sim(mol)
            sim.params = tip.replace(probe="Xe")
            sample["X_xe"] = sim(mol)
        else:
            sim.params = tip
            sample["X"] = sim(mol)
        t1 = time.perf_counter()
        sample.update(compute_targets(mol, self.params))
        self.timings["simulation"] += t1 - t0
        self.timings["descriptors"] += time.perf_counter() - t1
        return sample

    def config(self) -> dict:
        """What determines the batches: written into shard manifests to guard resumes."""
        names = "\n".join(m.name for m in self.molecules).encode()
        geometry = b"".join(m.positions.tobytes() for m in self.molecules)
        return {
            "version": SHARD_VERSION,
            "mode": self.mode,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "n_rotations": self.n_rotations,
            "tilt_radius": self.tilt_radius,
            "height_jitter": self.height_jitter,
            "shuffle": self.shuffle,
            "n_molecules": len(self.molecules),
            "molecules_sha1": hashlib.sha1(names + geometry).hexdigest(),
            "params": repr(self.params),
        }


def compute_targets(mol, params: SimulationParams) -> dict[str, np.ndarray]:
    """All learning targets of one rotated molecule (float32), for every mode.

    They cost ~15 ms against ~0.4 s for a simulation, so raw batches and shards carry all of them
    and one shard set (of mode "es", which has CO and Xe stacks) can train all three models.
    Height-like maps are measured from their cut-off floor, so every target except the ES map is
    ≥ 0, as the thesis's ReLU outputs require.
    """
    classes, offsets = descriptors.xyz_grid(mol, params)
    height_top = descriptors.height_map(mol, params)  # Å above the top nucleus
    return {
        "atomic_disks": descriptors.atomic_disks(mol, params),
        "vdw_spheres": descriptors.vdw_spheres(mol, params, reference="floor"),
        "height_map": height_top - (height_top.max() - descriptors.HEIGHT_CUTOFF),  # floor → 0
        "es_map": descriptors.es_map(mol, params, height=height_top),
        "classes": classes,
        "offsets": offsets,
    }


def finish_batch(raw: dict, mode: str, rng, augment: bool, augment_kwargs: dict, timings=None):
    """Turn a raw batch into Keras ``(X, Y)`` for ``mode``: augment the stacks, pick targets.

    A raw batch of mode "es" (CO and Xe stacks) also serves "dsh" and "xyz" (its CO stacks).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    t0 = time.perf_counter()
    if mode == "es":
        if "X_xe" not in raw:
            raise ValueError("mode 'es' needs CO and Xe stacks; these batches have only CO")
        stacks = [raw["X_co"], raw["X_xe"]]
        X = tuple(aug.augment(stacks, rng, **augment_kwargs) if augment else stacks)
    else:
        stack = raw["X"] if "X" in raw else raw["X_co"]
        X = aug.augment(stack, rng, **augment_kwargs) if augment else stack
    if timings is not None:
        timings["augmentation"] += time.perf_counter() - t0
    return X, tuple(raw[key] for key in TARGETS[mode])


# --- shards ------------------------------------------------------------------------------
def _shard_path(directory: Path, index: int, fmt: str) -> Path:
    return directory / f"shard-{index:05d}.{'h5' if fmt == 'h5' else 'npz'}"


def _save_shard(path: Path, batch: dict, fmt: str) -> None:
    with atomic_path(path) as tmp:
        if fmt == "h5":
            import h5py

            with h5py.File(tmp, "w") as f:
                for key, value in batch.items():
                    f.create_dataset(key, data=value)
        else:
            np.savez(tmp, **batch)


def load_shard(path: str | Path) -> dict[str, np.ndarray]:
    """Read one shard (.npz or .h5) into a dict of arrays; a bad file raises ShardError."""
    path = Path(path)
    try:
        if path.suffix == ".h5":
            import h5py

            with h5py.File(path, "r") as f:
                return {key: f[key][()] for key in f}
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    except FileNotFoundError as err:
        raise ShardError(f"shard {path} does not exist") from err
    except Exception as err:
        raise ShardError(f"shard {path} is corrupt or unreadable: {err}") from err


def write_shards(
    dataset: AFMDataset,
    directory: str | Path,
    n_batches: int | None = None,
    fmt: str = "npz",
    progress: bool = True,
) -> list[Path]:
    """Write the raw batches of epoch 0 of ``dataset`` to ``directory`` (resumable).

    Each batch becomes one shard ``shard-00000.npz`` (or ``.h5``), written to a temporary name and
    renamed, so an interrupted run never leaves a half-written shard; running again with the same
    dataset skips the shards that exist. A ``manifest.json`` records the configuration, and a
    directory holding shards of another configuration is refused.
    """
    from tqdm.auto import tqdm

    if fmt not in ("npz", "h5"):
        raise ValueError(f"fmt must be 'npz' or 'h5', got {fmt!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n_batches = len(dataset) if n_batches is None else min(int(n_batches), len(dataset))
    n_samples = min(n_batches * dataset.batch_size, dataset.n_samples)
    manifest = {**dataset.config(), "format": fmt, "n_batches": n_batches, "n_samples": n_samples}
    manifest_path = directory / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        sized = ("n_batches", "n_samples")
        if {k: v for k, v in old.items() if k not in sized} != {
            k: v for k, v in manifest.items() if k not in sized
        }:
            raise ShardError(
                f"{directory} holds shards of a different configuration; use another directory"
            )
    with atomic_path(manifest_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))
    removed = remove_stale_temporaries(directory)
    if removed:
        log.info("removed %d half-written temporary files from an interrupted run", removed)
    paths = [_shard_path(directory, i, fmt) for i in range(n_batches)]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    if len(todo) < n_batches:
        log.info("resuming: %d of %d shards already written", n_batches - len(todo), n_batches)
    for i in tqdm(todo, desc=f"writing {dataset.mode} shards", disable=not progress):
        _save_shard(paths[i], dataset.raw_batch(i, epoch=0), fmt)
    return paths


class ShardDataset(keras.utils.PyDataset):
    """Serve shards written by :func:`write_shards` as Keras batches, augmenting on the fly.

    ``mode`` defaults to the mode the shards were written for; shards of mode "es" can also
    serve "dsh" and "xyz" (from their CO stacks). With ``shuffle=False`` batch ``i`` of epoch 0
    equals ``AFMDataset(...)[i]`` of the dataset that wrote the shards. Later epochs visit the
    shards in a new order with new augmentation.
    """

    def __init__(
        self,
        directory: str | Path,
        mode: str | None = None,
        augment: bool = True,
        augment_kwargs: dict | None = None,
        shuffle: bool = True,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.directory = Path(directory)
        manifest_path = self.directory / "manifest.json"
        if not manifest_path.is_file():
            raise ShardError(f"no manifest.json in {self.directory}: not a shard directory")
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as err:
            raise ShardError(f"{manifest_path} is corrupt: {err}") from err
        self.mode = self.manifest["mode"] if mode is None else mode
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "es" and self.manifest["mode"] != "es":
            raise ValueError(f"{self.directory} holds CO-only shards; mode 'es' needs es shards")
        self.seed = self.manifest["seed"] if seed is None else int(seed)
        fmt = self.manifest["format"]
        self.paths = [
            _shard_path(self.directory, i, fmt) for i in range(self.manifest["n_batches"])
        ]
        missing = [str(p) for p in self.paths if not p.exists()]
        if missing:
            raise ShardError(f"{len(missing)} shards missing, e.g. {missing[0]}: resume writing")
        self.augment = augment
        self.augment_kwargs = dict(augment_kwargs or {})
        self.shuffle = shuffle
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        order = np.arange(len(self.paths))
        if self.shuffle and self.epoch > 0:
            order = np.random.default_rng([self.seed, self.epoch, 0]).permutation(order)
        raw = load_shard(self.paths[order[index]])
        rng = np.random.default_rng([self.seed, self.epoch, int(order[index]), 1])
        return finish_batch(raw, self.mode, rng, self.augment, self.augment_kwargs)

    def on_epoch_end(self) -> None:
        self.epoch += 1
