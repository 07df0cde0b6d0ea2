"""Training data: on-the-fly simulated batches (:class:`AFMDataset`) and training shards.

Each sample is one molecule in one of its best viewing rotations (Eq. 25; 20 per molecule for
DSH/ES, 30 for xyz), simulated with a random tip tilt within a 1 Å circle and a random ±0.25 Å
jitter of the tip height around the calibrated default, then augmented (thesis §3.4). Modes:

* ``dsh``: X (B, nx, ny, 10); Y = (atomic disks, vdW spheres, height map), each (B, nx, ny).
* ``es``:  X = (CO stack, Xe stack), each (B, nx, ny, 10); Y = (ES map, height map).
* ``xyz``: X as dsh; Y = (classes (B, 16, 16, 2), offsets (B, 16, 16, 3)).

Everything is seeded: batch ``i`` of epoch ``e`` depends only on (seed, e, i), so workers, resumed
runs and shards reproduce the same batches. Training shards on disk store the *raw* batches (all
20 slices, before augmentation) so a shard set can be reused over epochs with fresh augmentation;
:class:`ShardDataset` serves them with the same augmentation as :class:`AFMDataset`. The molecule
sets come from :func:`afmkit.structures.molecule_sets.molecule_set` (re-exported here).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np

from afmkit.fileio import atomic_path, remove_stale_temporaries
from afmkit.learn import augment as aug
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecule_sets import molecule_set
from afmkit.targets import descriptors
from afmkit.targets.rotations import select_rotations

__all__ = [
    "AFMDataset",
    "DEFAULT_ROTATIONS",
    "MODES",
    "SHARD_VERSION",
    "ShardDataset",
    "ShardError",
    "TARGETS",
    "keys_for_mode",
    "compute_targets",
    "finish_batch",
    "load_shard",
    "molecule_set",
    "write_shards",
]

_log = logging.getLogger(__name__)

#: The three models' training modes.
MODES = ("dsh", "es", "xyz")
#: Best viewing rotations kept per molecule (thesis §3.2).
DEFAULT_ROTATIONS = {"dsh": 20, "es": 20, "xyz": 30}
#: Target names of each mode, in the order of the model's outputs.
TARGETS = {
    "dsh": ("atomic_disks", "vdw_spheres", "height_map"),
    "es": ("es_map", "height_map"),
    "xyz": ("classes", "offsets"),
}
#: Format version written into every shard manifest.
SHARD_VERSION = 1


class ShardError(OSError):
    """A shard file is missing, corrupt, or from a different configuration."""


class AFMDataset(keras.utils.PyDataset):
    """Simulated AFM training batches, generated on the fly.

    Parameters
    ----------
    molecules : iterable of Molecule
        The molecules (:class:`~afmkit.structures.molecules.Molecule`, e.g. from a molecule set,
        :func:`molecule_set`); at least one.
    mode : {"dsh", "es", "xyz"}
        Which inputs and targets a batch holds (see the module docstring).
    batch_size : int
        Samples per batch (thesis: 30).
    seed : int
        Seeds the sample order, tips, heights and augmentation.
    params : SimulationParams, optional
        Simulation parameters (default ``SimulationParams()``: 128 × 128 px, 20 slices).
    n_rotations : int, optional
        Best rotations kept per molecule (default 20 for dsh/es, 30 for xyz).
    tilt_radius : float
        Random tip tilt within a circle of this radius, Å (thesis: 1.0).
    height_jitter : float
        Random shift of the tip height, uniform in ± this, Å.
    augment : bool
        Apply :func:`afmkit.learn.augment.augment` (False: 20 raw slices, no noise).
    augment_kwargs : dict, optional
        Extra keyword arguments for :func:`afmkit.learn.augment.augment`.
    shuffle : bool
        Shuffle the samples each epoch.
    backend : {"auto", "opencl", "numpy"}
        Simulator backend.
    workers, use_multiprocessing, max_queue_size : int, bool, int
        As for ``keras.utils.PyDataset``. Worker threads share one OpenCL device (PoCL already
        uses every core); forked workers build their own.
    pipeline : bool
        Generate the samples of a batch on two threads, so the descriptors of one sample
        (host) are computed while the next one is simulated (device). The batches are the same
        either way.

    Raises
    ------
    ValueError
        For an unknown ``mode``, ``batch_size`` < 1, a negative ``tilt_radius`` or
        ``height_jitter``, no molecules, or augmentation with fewer than 15 slices.
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
        pipeline: bool = True,
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
        self.pipeline = bool(pipeline)
        self._local = threading.local()  # one simulator per worker thread
        self._timings_lock = threading.Lock()
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
        """Number of batches per epoch (the last one may be smaller)."""
        return len(self)

    def __getitem__(self, index: int):
        raw = self.raw_batch(index)
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        return finish_batch(raw, self.mode, rng, self.augment, self.augment_kwargs, self.timings)

    def on_epoch_end(self) -> None:
        """Advance to the next epoch (a new sample order and new augmentation)."""
        self.epoch += 1

    # --- generation ------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of samples per epoch: molecules × rotations."""
        return len(self._samples)

    def sample_order(self, epoch: int | None = None) -> np.ndarray:
        """The (molecule index, rotation index) pairs in the order of one epoch.

        Parameters
        ----------
        epoch : int, optional
            The epoch (default: the current one).

        Returns
        -------
        numpy.ndarray
            Integer array of shape (n_samples, 2).
        """
        epoch = self.epoch if epoch is None else epoch
        if not self.shuffle:
            return self._samples
        perm = np.random.default_rng([self.seed, epoch, 0]).permutation(len(self._samples))
        return self._samples[perm]

    def simulator(self) -> AFMSimulator:
        """The simulator of the calling thread (its parameters change per sample).

        Returns
        -------
        AFMSimulator
            Built on first use in each thread, then reused.
        """
        if getattr(self._local, "sim", None) is None:
            self._local.sim = AFMSimulator(self.params, backend=self.backend)
        return self._local.sim

    def raw_batch(self, index: int, epoch: int | None = None) -> dict[str, np.ndarray]:
        """Batch ``index`` before augmentation: 20-slice stacks, targets, and the sample ids.

        Parameters
        ----------
        index : int
            Batch index, 0 ≤ index < ``len(self)``.
        epoch : int, optional
            The epoch whose sample order is used (default: the current one).

        Returns
        -------
        dict of str to numpy.ndarray
            ``X`` (B, nx, ny, n_slices) Hz (or ``X_co`` and ``X_xe`` for mode "es"), ``tilt``
            (B, 2) Å, ``z_closest`` (B,) Å, every target of :func:`compute_targets` with a
            leading batch axis B, and ``ids`` (B, 2) (molecule index, rotation index).

        Raises
        ------
        IndexError
            If ``index`` is out of range.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range (dataset has {len(self)} batches)")
        epoch = self.epoch if epoch is None else epoch
        ids = self.sample_order(epoch)[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, index, 0])
        tips = [self._draw_tip(rng) for _ in ids]  # drawn in sample order: reproducible
        jobs = [(int(i), int(k), tip) for (i, k), tip in zip(ids, tips, strict=True)]
        if len(jobs) > 1 and self.pipeline:
            # Two threads: one computes the descriptors of a sample (host) while the other's
            # simulation runs on the OpenCL device, which would otherwise wait for them.
            with ThreadPoolExecutor(max_workers=2) as pool:
                samples = list(pool.map(lambda job: self._sample(*job), jobs))
        else:
            samples = [self._sample(*job) for job in jobs]
        out = {key: np.stack([s[key] for s in samples]) for key in samples[0]}
        out["ids"] = ids.astype(np.int32)
        return out

    def _draw_tip(self, rng: np.random.Generator) -> SimulationParams:
        """Random tip of one sample: tilt within ``tilt_radius`` (Å), height jitter (Å)."""
        return aug.draw_tip(self.params, rng, self.tilt_radius, self.height_jitter)

    def _sample(self, mol_index: int, rot_index: int, tip: SimulationParams) -> dict:
        mol = self.molecules[mol_index].rotated(self._rotations[mol_index][rot_index])
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
        with self._timings_lock:
            self.timings["simulation"] += t1 - t0
            self.timings["descriptors"] += time.perf_counter() - t1
        return sample

    def config(self) -> dict:
        """What determines the batches: written into shard manifests to guard resumes.

        Returns
        -------
        dict
            JSON-serialisable settings and a SHA-1 of the molecules' names and geometry.
        """
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

    They cost ~15 ms against ~0.07 s for a simulation, so raw batches and shards carry all of them
    and one shard set (of mode "es", which has CO and Xe stacks) can train all three models.
    Height-like maps are measured from their cut-off floor, so every target except the ES map is
    ≥ 0, as the thesis's ReLU outputs require.

    Parameters
    ----------
    mol : Molecule
        The molecule, already rotated into its viewing direction (positions in Å).
    params : SimulationParams
        Scan window and pixel grid of the images.

    Returns
    -------
    dict of str to numpy.ndarray
        ``atomic_disks``, ``vdw_spheres``, ``height_map`` (each (nx, ny), Å), ``es_map``
        (nx, ny) V, ``classes`` (16, 16, 2) and ``offsets`` (16, 16, 3) Å.
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

    Parameters
    ----------
    raw : dict of str to numpy.ndarray
        A raw batch (:meth:`AFMDataset.raw_batch` or :func:`load_shard`).
    mode : {"dsh", "es", "xyz"}
        The model to feed.
    rng : numpy.random.Generator
        Randomness of the augmentation.
    augment : bool
        Apply :func:`afmkit.learn.augment.augment`; if False, the raw stacks are passed on.
    augment_kwargs : dict
        Extra keyword arguments for :func:`afmkit.learn.augment.augment`.
    timings : dict of str to float, optional
        If given, the seconds spent augmenting are added to ``timings["augmentation"]``.

    Returns
    -------
    X : numpy.ndarray or tuple of numpy.ndarray
        The input stack (B, nx, ny, 10) (after augmentation), or (CO, Xe) stacks for "es".
    Y : tuple of numpy.ndarray
        The targets named in ``TARGETS[mode]``, each with a leading batch axis B.

    Raises
    ------
    ValueError
        For an unknown ``mode``, or mode "es" with a batch that has only CO stacks.
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
def keys_for_mode(mode: str) -> frozenset[str]:
    """The shard arrays that :func:`finish_batch` needs to feed ``mode``.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model to feed.

    Returns
    -------
    frozenset of str
        The input stacks ("X" or "X_co", and "X_xe" for "es") and the targets of ``mode``.
    """
    stacks = ("X_co", "X_xe") if mode == "es" else ("X", "X_co")
    return frozenset((*stacks, *TARGETS[mode]))


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


def load_shard(path: str | Path, keys: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """Read one training shard (.npz or .h5) into a dict of arrays.

    Parameters
    ----------
    path : str or Path
        The shard file.
    keys : collection of str, optional
        Read only these arrays (those of them the shard holds); default all. A DSH model fed
        from CO + Xe shards needs half the bytes (:func:`keys_for_mode`).

    Returns
    -------
    dict of str to numpy.ndarray
        The raw batch (see :meth:`AFMDataset.raw_batch`).

    Raises
    ------
    ShardError
        If the file is missing, corrupt or unreadable.
    """
    path = Path(path)
    try:
        if path.suffix == ".h5":
            import h5py

            with h5py.File(path, "r") as f:
                return {key: f[key][()] for key in f if keys is None or key in keys}
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files if keys is None or key in keys}
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

    Each batch becomes one training shard ``shard-00000.npz`` (or ``.h5``), written to a temporary
    name and renamed, so an interrupted run never leaves a half-written shard; running again with
    the same training data skips the shards that exist. A ``manifest.json`` records the
    configuration, and a directory holding shards of another configuration is refused.

    Parameters
    ----------
    dataset : AFMDataset
        The simulated training data to write.
    directory : str or Path
        Where the shards go (created if missing).
    n_batches : int, optional
        Write only the first ``n_batches`` batches (default: all).
    fmt : {"npz", "h5"}
        File format of the shards.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of Path
        The shard files, in batch order.

    Raises
    ------
    ValueError
        For an unknown ``fmt``.
    ShardError
        If ``directory`` holds shards of a different configuration.
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
        _log.info("removed %d half-written temporary files from an interrupted run", removed)
    paths = [_shard_path(directory, i, fmt) for i in range(n_batches)]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    if len(todo) < n_batches:
        _log.info("resuming: %d of %d shards already written", n_batches - len(todo), n_batches)
    for i in tqdm(todo, desc=f"writing {dataset.mode} shards", disable=not progress):
        _save_shard(paths[i], dataset.raw_batch(i, epoch=0), fmt)
    return paths


class ShardDataset(keras.utils.PyDataset):
    """Serve training shards from :func:`write_shards` as Keras batches, augmenting on the fly.

    With ``shuffle=False`` batch ``i`` of epoch 0 equals ``AFMDataset(...)[i]`` of the
    :class:`AFMDataset` that wrote the shards. Later epochs visit the shards in a new order with
    new augmentation.

    Parameters
    ----------
    directory : str or Path
        A directory written by :func:`write_shards` (with its ``manifest.json``).
    mode : {"dsh", "es", "xyz"}, optional
        Defaults to the mode the shards were written for; shards of mode "es" can also serve
        "dsh" and "xyz" (from their CO stacks).
    augment : bool
        Apply :func:`afmkit.learn.augment.augment`.
    augment_kwargs : dict, optional
        Extra keyword arguments for :func:`afmkit.learn.augment.augment`.
    shuffle : bool
        Visit the shards in a new order every epoch after the first.
    seed : int, optional
        Seeds order and augmentation (default: the seed the shards were written with).
    **kwargs
        Passed to ``keras.utils.PyDataset`` (``workers``, ...).

    Raises
    ------
    ShardError
        If the manifest is missing or corrupt, or shards are missing.
    ValueError
        For an unknown ``mode``, or mode "es" with CO-only shards.
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
        return self.batch(self.epoch, index)

    def batch(self, epoch: int, index: int):
        """Batch ``index`` of epoch ``epoch``: the same arguments always give the same batch.

        Parameters
        ----------
        epoch : int
            The epoch (sets the shard order when shuffling, and the augmentation).
        index : int
            Position in that epoch's order, ``0 <= index < len(self)``.

        Returns
        -------
        tuple
            ``(X, Y)`` as :func:`finish_batch`.
        """
        order = np.arange(len(self.paths))
        if self.shuffle and epoch > 0:
            order = np.random.default_rng([self.seed, epoch, 0]).permutation(order)
        raw = load_shard(self.paths[order[index]], keys_for_mode(self.mode))
        rng = np.random.default_rng([self.seed, epoch, int(order[index]), 1])
        return finish_batch(raw, self.mode, rng, self.augment, self.augment_kwargs)

    def on_epoch_end(self) -> None:
        """Advance to the next epoch (a new shard order and new augmentation)."""
        self.epoch += 1
