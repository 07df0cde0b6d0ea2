"""What the models say about a prepared measurement: descriptors, atoms and the orientation.

:func:`analyse_experiment` runs the shipped (or given) models on a stack prepared by
:func:`afmkit.experiments.preparation.prepare_experiment`:

* the **DSH** model's Atomic Disks, vdW Spheres and Height Map (Å);
* the **ES** model's electrostatic map (V) and Height Map, when a Xe-tip stack of the same
  molecule and window is given as well (the CO stack is the main one);
* the **xyz** model's atoms: x, y in Å in the image frame (origin at the window's centre, the
  frame of the prepared image), z in Å relative to the topmost atom, and a confidence, after the
  threshold and non-maximum suppression (:func:`afmkit.targets.descriptors.decode_xyz`);
* with a molecule named (a :class:`~afmkit.structures.molecules.Molecule`, a SMILES string or
  an .xyz path, :func:`resolve_molecule`), the orientations that explain the Δf stack best
  (:func:`afmkit.experiments.matching.match`).

:class:`ExperimentAnalysis` keeps the arrays and gives a JSON-ready :meth:`summary`; the
figures are drawn by :mod:`afmkit.plotting.experiments`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from afmkit.experiments import matching
from afmkit.physics.simulator import SimulationParams
from afmkit.structures.molecules import Molecule, from_smiles, read_xyz
from afmkit.targets.descriptors import decode_xyz

__all__ = ["DEFAULT_MODELS", "ExperimentAnalysis", "analyse_experiment", "resolve_molecule"]

#: The shipped weights each model name loads by default.
DEFAULT_MODELS = {"dsh": "dsh-light", "xyz": "xyz-light", "es": "es-light"}


@dataclass
class ExperimentAnalysis:
    """The models' reading of one prepared measurement.

    Attributes
    ----------
    descriptors : dict of str to numpy.ndarray
        Output name → (nx, ny) map: ``atomic_disks``, ``vdw_spheres``, ``height_map`` (DSH, Å),
        and with a Xe stack ``es_map`` (V) and ``es_height_map`` (Å, the ES model's).
    atoms : numpy.ndarray or None
        (M, 4) atoms of the xyz model: x, y (Å, image frame, origin at the window centre),
        z (Å below the topmost atom, ≤ 0), confidence; most confident first. None without xyz.
    match : MatchResult or None
        The best orientations of the named molecule, best first.
    models : dict of str to str
        Which weights were used, per model.
    threshold : float
        Confidence threshold of the atoms.
    extent : tuple of float
        (x_min, x_max, y_min, y_max) of the image, Å (pixel centres), for plots.
    notes : list of str
        What was skipped and why (e.g. no Xe stack: no ES map).
    """

    descriptors: dict[str, np.ndarray]
    atoms: np.ndarray | None
    match: matching.MatchResult | None
    models: dict[str, str]
    threshold: float
    extent: tuple[float, float, float, float]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: descriptor ranges, atoms, the match and the notes.

        Returns
        -------
        dict
            ``models``, ``descriptors`` (min/max/mean per map), ``atoms`` (x, y, z Å and
            confidence each), ``threshold``, ``match`` (:meth:`MatchResult.to_dict`) and
            ``notes``.
        """
        return {
            "models": dict(self.models),
            "descriptors": {
                name: {"min": float(np.nanmin(a)), "max": float(np.nanmax(a)),
                       "mean": float(np.nanmean(a))}
                for name, a in self.descriptors.items()
            },  # fmt: skip
            "threshold": self.threshold,
            "atoms": None if self.atoms is None else [
                {"x_A": round(float(x), 3), "y_A": round(float(y), 3), "z_A": round(float(z), 3),
                 "confidence": round(float(c), 4)}
                for x, y, z, c in self.atoms
            ],  # fmt: skip
            "match": None if self.match is None else self.match.to_dict(),
            "notes": list(self.notes),
        }


def resolve_molecule(molecule: Molecule | str | Path) -> Molecule:
    """A molecule from a :class:`Molecule`, an .xyz path or a SMILES string.

    Parameters
    ----------
    molecule : Molecule, str or Path
        A molecule; a path to an existing .xyz file; otherwise a SMILES string (RDKit ETKDG +
        MMFF94, with MMFF94 charges).

    Returns
    -------
    Molecule
        Positions in Å, charges in e.

    Raises
    ------
    ValueError
        For a malformed .xyz file or an invalid SMILES.
    """
    if isinstance(molecule, Molecule):
        return molecule
    text = str(molecule)
    if Path(text).suffix.lower() == ".xyz" or Path(text).is_file():
        return read_xyz(text)
    return from_smiles(text)


def _load(model: Any, name: str) -> tuple[Any, str]:
    from afmkit.learn.models import load_pretrained

    if model is None or isinstance(model, str):
        weights = model or DEFAULT_MODELS[name]
        return load_pretrained(weights), weights
    return model, getattr(model, "name", name)


def _check_X(X: np.ndarray, what: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"{what} must be one prepared stack (nx, ny, n_slices), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{what} holds NaN or Inf: prepare the measurement first "
                         "(afmkit.experiments.preparation.prepare_experiment)")
    return X


def analyse_experiment(
    X: np.ndarray,
    *,
    X_xe: np.ndarray | None = None,
    pixel_size: float | None = None,
    dsh: Any = None,
    xyz: Any = None,
    es: Any = None,
    use: tuple[str, ...] = ("dsh", "xyz", "es"),
    threshold: float = 0.5,
    molecule: Molecule | str | Path | None = None,
    df: np.ndarray | None = None,
    slice_heights: np.ndarray | None = None,
    params: SimulationParams | None = None,
    match_options: dict[str, Any] | None = None,
) -> ExperimentAnalysis:
    """Run the models (and, with a molecule, the orientation search) on a prepared measurement.

    Parameters
    ----------
    X : numpy.ndarray
        (nx, ny, 10) prepared, per-slice normalised CO-tip stack (``PreparedExperiment.X``).
    X_xe : numpy.ndarray, optional
        The Xe-tip stack of the same molecule and window, prepared alike: enables the ES model.
    pixel_size : float, optional
        Pixel pitch of the prepared stack, Å (``PreparedExperiment.pixel_size[0]``); default the
        models' pitch, ``scan_size / (pixels − 1)`` of :class:`SimulationParams` (16 Å / 127).
    dsh, xyz, es : keras.Model or str, optional
        Models or pretrained weight names (default :data:`DEFAULT_MODELS`).
    use : tuple of str
        Which of "dsh", "xyz", "es" to run.
    threshold : float
        Atom confidence threshold of the xyz model, in (0, 1).
    molecule : Molecule, str or Path, optional
        The molecule to match (:func:`resolve_molecule`); needs ``df``.
    df : numpy.ndarray, optional
        (nx, ny, n_slices) prepared, **not normalised** Δf stack, Hz, slice 0 farthest
        (``PreparedExperiment.df``): what :func:`afmkit.experiments.matching.match` compares.
    slice_heights : numpy.ndarray, optional
        Heights of ``df``'s slices above its closest slice, Å (``PreparedExperiment.heights``).
    params : SimulationParams, optional
        Nominal simulation parameters of the matching library (default the models').
    match_options : dict, optional
        More keyword arguments of :func:`~afmkit.experiments.matching.match` (method, top_k,
        n_orientations, angle_step, …).

    Returns
    -------
    ExperimentAnalysis
        Descriptors, atoms, the match and notes.

    Raises
    ------
    ValueError
        For a stack that is not (nx, ny, n) or not finite, an unknown model name in ``use``, a
        threshold outside (0, 1), a molecule without ``df``, or what ``match`` rejects.
    """
    unknown = set(use) - set(DEFAULT_MODELS)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)} in use; known: {list(DEFAULT_MODELS)}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if molecule is not None and df is None:
        raise ValueError("matching a molecule needs the prepared, unnormalised Δf stack (df=...)")
    X = _check_X(X, "X")
    from afmkit.learn.models import predict

    if pixel_size is None:
        default = SimulationParams()
        pixel_size = default.scan_size[0] / (default.pixels[0] - 1)
    nx, ny = X.shape[:2]
    half_x, half_y = pixel_size * (nx - 1) / 2, pixel_size * (ny - 1) / 2
    analysis = ExperimentAnalysis({}, None, None, {}, float(threshold),
                                  (-half_x, half_x, -half_y, half_y))  # fmt: skip
    if "dsh" in use:
        model, analysis.models["dsh"] = _load(dsh, "dsh")
        out = predict(model, X[None])
        analysis.descriptors.update({k: v[0] for k, v in out.items()})
    if "xyz" in use:
        model, analysis.models["xyz"] = _load(xyz, "xyz")
        out = predict(model, X[None])
        analysis.atoms = decode_xyz(out["classes"][0], out["offsets"][0], threshold=threshold)
    if "es" in use:
        if X_xe is None:
            analysis.notes.append("no Xe-tip stack given: no ES map (the ES model reads CO + Xe)")
        else:
            X_xe = _check_X(X_xe, "X_xe")
            if X_xe.shape != X.shape:
                raise ValueError(f"the Xe stack {X_xe.shape} must match the CO stack {X.shape}")
            model, analysis.models["es"] = _load(es, "es")
            out = predict(model, [X[None], X_xe[None]])
            analysis.descriptors["es_map"] = out["es_map"][0]
            analysis.descriptors["es_height_map"] = out["height_map"][0]
    if molecule is not None:
        mol = resolve_molecule(molecule)
        options = {"progress": False, **(match_options or {})}
        dsh_model = _load(dsh, "dsh")[0]
        analysis.match = matching.match(np.asarray(df, dtype=np.float64), dsh_model,
                                        molecule=mol, params=params,
                                        slice_heights=slice_heights, **options)  # fmt: skip
    return analysis
