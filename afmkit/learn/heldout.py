"""Held-out molecules: how well a model reads afmkit stacks of molecules it never saw.

The measure of the shipped weights and of the training campaign (issue 12): the first ``n`` (16)
molecules of a set's test split, each rotated into its best viewing direction (thesis Eq. 25),
simulated with the default settings (``SimulationParams()``: CO tip; Xe as well for the ES model),
normalised with :func:`afmkit.learn.augment.preprocess`, no noise. Scores:

* DSH: Pearson r of each output with afmkit's own descriptor, median over molecules;
* ES: the same for the ES map and the Height Map;
* xyz: per-box precision and recall at threshold 0.5 and the mean position error (Å) of atom
  boxes (:func:`afmkit.learn.train.xyz_report`).

:data:`TARGETS` holds the targets of issue 12 and :data:`THESIS` the thesis's values where it
reports one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from afmkit.learn.augment import preprocess
from afmkit.learn.data import TARGETS as MODE_TARGETS
from afmkit.learn.data import compute_targets
from afmkit.learn.train import xyz_report
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecule_sets import molecule_set
from afmkit.targets.rotations import select_rotations

__all__ = [
    "DSH_OUTPUTS",
    "HeldOutSet",
    "TARGETS",
    "THESIS",
    "compare_models",
    "comparison_table",
    "held_out_metrics",
    "held_out_set",
    "meets_targets",
    "pearson",
    "simulated_set",
]

#: The descriptors a DSH model predicts, in output order.
DSH_OUTPUTS = MODE_TARGETS["dsh"]

#: Targets on held-out molecules (issue 12): metric → (bound, "min" or "max").
TARGETS: dict[str, dict[str, tuple[float, str]]] = {
    "dsh": {"vdw_spheres_r": (0.95, "min"), "height_map_r": (0.98, "min"),
            "atomic_disks_r": (0.80, "min")},
    "xyz": {"precision@0.5": (0.80, "min"), "recall@0.5": (0.80, "min"),
            "position_error_mean": (0.25, "max")},
    "es": {},
}  # fmt: skip

#: The thesis's values (Oinonen 2019, §4.3, Table 6 dataset 1) where it reports one: metric → value.
THESIS: dict[str, dict[str, float]] = {
    "dsh": {"test_loss": 1.92e-3},
    "es": {"test_loss": 3.40e-4},
    "xyz": {"precision@0.5": 0.842, "recall@0.5": 0.859, "position_error_mean": 0.124,
            "test_loss": 4.72e-3},
}  # fmt: skip


@dataclass
class HeldOutSet:
    """Simulated stacks of held-out molecules and afmkit's targets for them.

    Attributes
    ----------
    molecules : list of Molecule
        The molecules, each in its scan orientation (positions in Å).
    X : numpy.ndarray
        (B, 128, 128, 10) float32 normalised CO-tip Δf stacks (:func:`preprocess`), axes
        (x, y, slice), last slice closest.
    targets : dict
        Every training target (:func:`afmkit.learn.data.compute_targets`), each with a leading
        batch axis B: "atomic_disks", "vdw_spheres", "height_map" (Å above their floor),
        "es_map" (V), "classes" (B, 16, 16, 2), "offsets" (B, 16, 16, 3) Å.
    params : SimulationParams
        The simulation settings (CO tip).
    X_xe : numpy.ndarray or None
        The same stacks with a Xe tip (for the ES model), or None.
    """

    molecules: list
    X: np.ndarray
    targets: dict[str, np.ndarray]
    params: SimulationParams
    X_xe: np.ndarray | None = None


def simulated_set(
    molecules: Sequence[Any], params: SimulationParams | None = None, xe: bool = False
) -> HeldOutSet:
    """Simulate ``molecules`` as they are (already in scan orientation) and compute their targets.

    Parameters
    ----------
    molecules : sequence of Molecule
        Molecules in scan orientation (positions in Å); ≈ 0.1–0.3 s each.
    params : SimulationParams, optional
        Simulation (default ``SimulationParams()``: CO tip, closest lower turning point 2.5 Å
        above the top nucleus).
    xe : bool
        Also simulate a Xe tip (same settings otherwise), for the ES model.

    Returns
    -------
    HeldOutSet
        The normalised 10-slice stacks and the targets.
    """
    params = SimulationParams() if params is None else params
    mols = list(molecules)
    X = preprocess(np.stack([AFMSimulator(params)(m) for m in mols]))
    X_xe = None
    if xe:
        xe_sim = AFMSimulator(params.replace(probe="Xe"))
        X_xe = preprocess(np.stack([xe_sim(m) for m in mols]))
    per_molecule = [compute_targets(m, params) for m in mols]
    targets = {
        key: np.stack([t[key] for t in per_molecule]).astype(np.float32) for key in per_molecule[0]
    }
    return HeldOutSet(mols, X, targets, params, X_xe)


def held_out_set(
    n: int = 16,
    molecules: str = "light",
    params: SimulationParams | None = None,
    xe: bool = False,
) -> HeldOutSet:
    """Stacks of the first ``n`` test-split molecules of a set, each in its best view.

    Parameters
    ----------
    n : int
        Number of molecules (the first ``n`` of the set's test split, never trained on).
    molecules : str
        Molecule set, "light" (QM9) or "heavy"
        (:func:`afmkit.structures.molecule_sets.molecule_set`).
    params : SimulationParams, optional
        As :func:`simulated_set`.
    xe : bool
        Also simulate Xe-tip stacks (for the ES model).

    Returns
    -------
    HeldOutSet
        The stacks and targets.
    """
    test_split = molecule_set(molecules, "test", n)
    best = [m.rotated(select_rotations(m, n_best=1)[0][0]) for m in test_split]
    return simulated_set(best, params, xe=xe)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps (any equal shape); NaN if either is constant.

    Parameters
    ----------
    a, b : numpy.ndarray
        The maps.

    Returns
    -------
    float
        r in [-1, 1], or NaN.
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _median_r(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Median r over molecules, ignoring constant maps; NaN if every prediction is constant."""
    r = np.array([pearson(p, t) for p, t in zip(predictions, targets, strict=True)])
    return float(np.median(r[np.isfinite(r)])) if np.isfinite(r).any() else float("nan")


def held_out_metrics(model: Any, mode: str, held_out: HeldOutSet, batch_size: int = 8) -> dict:
    """Score a model of ``mode`` on a held-out set (the measure of :data:`TARGETS`).

    Parameters
    ----------
    model : keras.Model
        A DSH, ES or xyz model.
    mode : {"dsh", "es", "xyz"}
        The model's kind.
    held_out : HeldOutSet
        The stacks and targets (with ``X_xe`` for mode "es").
    batch_size : int
        Samples per prediction step.

    Returns
    -------
    dict of str to float
        DSH: ``<descriptor>_r`` for atomic_disks, vdw_spheres, height_map; ES: ``es_map_r``,
        ``height_map_r``; xyz: ``precision@0.5``, ``recall@0.5``, ``position_error_mean`` (Å),
        ``position_error_p90`` (Å).

    Raises
    ------
    ValueError
        For an unknown mode, or mode "es" with a set that has no Xe stacks.
    """
    if mode not in MODE_TARGETS:
        raise ValueError(f"mode must be one of {tuple(MODE_TARGETS)}, got {mode!r}")
    if mode == "es" and held_out.X_xe is None:
        raise ValueError("the ES model needs Xe stacks: held_out_set(..., xe=True)")
    X = [held_out.X, held_out.X_xe] if mode == "es" else held_out.X
    outputs = [np.asarray(p) for p in model.predict(X, batch_size=batch_size, verbose=0)]
    if mode == "xyz":
        report = xyz_report(held_out.targets["classes"], held_out.targets["offsets"], *outputs)
        keys = ("precision@0.5", "recall@0.5", "position_error_mean", "position_error_p90")
        return {key: float(report[key]) for key in keys}
    return {
        f"{key}_r": _median_r(pred, held_out.targets[key])
        for key, pred in zip(MODE_TARGETS[mode], outputs, strict=True)
    }


def meets_targets(mode: str, metrics: Mapping[str, float]) -> dict[str, bool]:
    """Which of :data:`TARGETS` a model's held-out metrics meet.

    Parameters
    ----------
    mode : {"dsh", "es", "xyz"}
        The model's kind.
    metrics : mapping
        What :func:`held_out_metrics` returned.

    Returns
    -------
    dict of str to bool
        Metric → met (an empty dict for a mode without held-out targets).
    """
    return {
        key: (metrics[key] >= bound if kind == "min" else metrics[key] <= bound)
        for key, (bound, kind) in TARGETS[mode].items()
    }


def compare_models(
    models: Mapping[str, Any], held_out: HeldOutSet, batch_size: int = 8
) -> dict[str, dict[str, Any]]:
    """Pearson r of each DSH model's outputs with afmkit's descriptors, per molecule.

    Parameters
    ----------
    models : mapping
        Label → DSH model (outputs Atomic Disks, vdW Spheres, Height Map), e.g.
        ``{"dsh-light": ..., "asd-afm-light": ...}``.
    held_out : HeldOutSet
        The stacks and targets (:func:`held_out_set`).
    batch_size : int
        Samples per prediction step.

    Returns
    -------
    dict
        Label → ``{"r": {descriptor: (B,) array of r}, "median": {descriptor: float},
        "predictions": {descriptor: (B, 128, 128) array, Å}}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for label, model in models.items():
        pred = model.predict(held_out.X, batch_size=batch_size, verbose=0)
        pred = dict(zip(DSH_OUTPUTS, (np.asarray(p) for p in pred), strict=True))
        r = {
            key: np.array([pearson(p, t) for p, t in zip(pred[key], held_out.targets[key],
                                                          strict=True)])
            for key in DSH_OUTPUTS
        }  # fmt: skip
        out[label] = {
            "r": r,
            "median": {key: float(np.nanmedian(v)) for key, v in r.items()},
            "predictions": pred,
        }
    return out


def comparison_table(
    result: Mapping[str, Mapping[str, Any]], n: int | None = None, what: str = "held-out molecules"
) -> str:
    """A text table of the median r per model and descriptor from :func:`compare_models`.

    Parameters
    ----------
    result : mapping
        What :func:`compare_models` returned.
    n : int, optional
        Number of stacks, for the heading.
    what : str
        What the stacks are, for the heading.

    Returns
    -------
    str
        A heading, a header line and one line per model.
    """
    width = max([len("model"), *(len(label) for label in result)]) + 2
    head = "median Pearson r with afmkit's descriptors" + (f" over {n} {what}" if n else "")
    lines = [head, f"{'model':{width}s}" + "".join(f"{k:>14s}" for k in DSH_OUTPUTS)]
    for label, res in result.items():
        medians = "".join(f"{res['median'][k]:14.3f}" for k in DSH_OUTPUTS)
        lines.append(f"{label:{width}s}" + medians)
    return "\n".join(lines)
