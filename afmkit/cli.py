"""Command-line interface: ``afmkit demo``, ``afmkit simulate``, ``afmkit match`` and more.

Examples::

    afmkit demo --out out             # camphor + one QM9 molecule → PNGs and summary.txt
    afmkit demo --out out --quick     # 48 × 48 px, 10 slices: a few seconds
    afmkit simulate mol.xyz --out mol.npz --png mol.png --probe CO
    afmkit match exp.npy --out match.json --png match.png      # orientation of camphor
    afmkit match afm_camphor/ --method descriptors --top-k 3 --out all.json
    afmkit predict scans/*.sxm --out pred     # your own measurement → descriptors, atoms
    afmkit predict scan.gwy --molecule "CC1(C)C2CCC1(C)C(=O)C2" --out pred   # + orientation

Everything runs headless (Matplotlib figures are rendered with Agg, no display needed), without a
GPU and without network access. Heavy imports happen inside the subcommands so that
``afmkit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import afmkit
from afmkit.course import quick_mode

__all__ = [
    "DEMO_QM9_INDEX",
    "MATCH_NOTE",
    "QUICK_PIXELS",
    "QUICK_SLICES",
    "build_parser",
    "main",
    "run_demo",
    "run_match",
    "simulate_file",
]

#: QM9 molecule shown by ``afmkit demo`` next to camphor, as a 0-based position for
#: :func:`afmkit.structures.qm9.qm9`: phenol (QM9 index 949, ``qm9-000949``, SMILES
#: ``OC1=CC=CC=C1``), a flat aromatic ring whose closest slices show the hexagon's bonds and the
#: OH group.
DEMO_QM9_INDEX = 923

#: Image size of ``afmkit demo --quick`` (and ``AFMKIT_QUICK=1``), pixels.
QUICK_PIXELS = (48, 48)
#: Number of Δf slices of ``afmkit demo --quick``.
QUICK_SLICES = 10


def _log(msg: str) -> None:
    print(msg, flush=True)


def _params_json(params: Any) -> str:
    """The simulation parameters as a JSON string (for provenance in output files)."""
    try:
        data = dataclasses.asdict(params)
    except TypeError:
        data = dict(vars(params))
    return json.dumps(data, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


def _describe_params(params: Any) -> str:
    """One line with the scan geometry, in Å and pixels."""
    (wx, wy), (nx, ny) = params.scan_size, params.pixels
    return (
        f"scan window {wx:g} × {wy:g} Å, {nx} × {ny} px, {params.n_slices} slices "
        f"{params.dz:g} Å apart, amplitude {params.amplitude:g} Å (zero-to-peak), "
        f"probe {params.probe}"
    )


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------
def _demo_molecules() -> list[tuple[str, str, Callable[[], Any]]]:
    """(file stem, common name, loader) for each demo molecule."""
    from afmkit.structures.molecules import camphor, lay_flat
    from afmkit.structures.qm9 import qm9

    return [
        ("camphor", "1S-camphor", camphor),
        # QM9 stores phenol upright (ring plane = yz); lay it flat as on a surface
        ("phenol", "phenol", lambda: lay_flat(qm9(DEMO_QM9_INDEX))),
    ]


def run_demo(
    out: str | Path = "out", quick: bool = False, backend: str = "auto"
) -> list[dict[str, Any]]:
    """Simulate the demo molecules and write figures and ``summary.txt`` to ``out``.

    Simulates 1S-camphor and one QM9 molecule (:data:`DEMO_QM9_INDEX`) with the default
    :class:`afmkit.SimulationParams` (16 × 16 Å, 128 × 128 px, 20 slices 0.1 Å apart, CO tip), or
    with :data:`QUICK_PIXELS` and :data:`QUICK_SLICES` in quick mode.

    Parameters
    ----------
    out : str or Path
        Output directory (created if needed).
    quick : bool
        Smaller images and fewer slices, for tests and a first look.
    backend : {"auto", "opencl", "numpy"}
        Simulator backend.

    Returns
    -------
    list of dict
        One record per molecule: name, atom count, stack shape, Δf min/max (Hz), wall time
        (s), figure path.
    """
    from afmkit import AFMSimulator, SimulationParams
    from afmkit.plotting.figures import plot_simulation

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = SimulationParams()
    if quick:
        params = dataclasses.replace(params, pixels=QUICK_PIXELS, n_slices=QUICK_SLICES)
    sim = AFMSimulator(params, backend=backend)
    device = getattr(sim, "device_name", sim.backend)
    _log(f"afmkit demo: backend {sim.backend} ({device}); {_describe_params(params)}")

    molecules = _demo_molecules()
    records: list[dict[str, Any]] = []
    for n, (stem, label, load) in enumerate(molecules, start=1):
        tag = f"[{n}/{len(molecules)}]"
        _log(f"{tag} loading {label} ...")
        mol = load()
        mol_name = getattr(mol, "name", "") or ""
        name = label if mol_name in ("", label) else f"{label} ({mol_name})"
        mol.name = name  # our own copy: titles the top view
        _log(f"{tag} simulating {name} ({len(mol.numbers)} atoms) ...")
        t0 = time.perf_counter()
        stack = np.asarray(sim(mol))
        seconds = time.perf_counter() - t0
        center = getattr(sim, "last_center_xy", None)
        _log(f"{tag} {name}: stack {stack.shape} in {seconds:.2f} s; drawing ...")
        fig = plot_simulation(
            mol, stack, params, center_xy=center, title=f"{name}: Δf stack ({sim.backend})"
        )
        png = out / f"{stem}.png"
        fig.savefig(png, dpi=80 if quick else 110)
        _log(f"{tag} wrote {png}")
        if stem == "camphor":  # the learning targets next to the AFM data
            from afmkit.plotting.descriptors import plot_descriptors

            fig = plot_descriptors(mol, stack, params, center_xy=center)
            desc_png = out / f"{stem}_descriptors.png"
            fig.savefig(desc_png, dpi=80 if quick else 110)
            _log(f"{tag} wrote {desc_png}")
        records.append(
            {
                "stem": stem,
                "name": name,
                "atoms": int(len(mol.numbers)),
                "shape": tuple(int(s) for s in stack.shape),
                "df_min": float(np.nanmin(stack)),
                "df_max": float(np.nanmax(stack)),
                "seconds": seconds,
                "figure": png.name,
            }
        )

    summary = out / "summary.txt"
    summary.write_text(_summary_text(records, params, sim, quick), encoding="utf-8")
    _log(f"wrote {summary}")
    return records


def _summary_text(records: list[dict[str, Any]], params: Any, sim: Any, quick: bool) -> str:
    """The text of ``summary.txt``."""
    heights = np.asarray(params.slice_heights(), dtype=float)
    device = getattr(sim, "device_name", sim.backend)
    lines = [
        "afmkit demo summary",
        f"afmkit version : {afmkit.__version__}",
        f"date           : {_dt.datetime.now().isoformat(timespec='seconds')}",
        f"mode           : {'quick' if quick else 'full'}",
        f"backend        : {sim.backend} ({device})",
        f"parameters     : {_describe_params(params)}",
        f"slice heights  : {heights[0]:.2f} … {heights[-1]:.2f} Å "
        "(probe-particle rest position at the lower turning point, above the top nucleus; "
        "slice 0 farthest)",
        "wall time      : per stack, force field + relaxation + Δf; the first stack also "
        "includes building the OpenCL kernels",
        "",
        f"{'molecule':<24} {'atoms':>5}  {'stack shape':<16} {'Δf min (Hz)':>12} "
        f"{'Δf max (Hz)':>12} {'time (s)':>9}  figure",
    ]
    for r in records:
        shape = "×".join(str(s) for s in r["shape"])
        lines.append(
            f"{r['name']:<24} {r['atoms']:>5}  {shape:<16} {r['df_min']:>12.3f} "
            f"{r['df_max']:>12.3f} {r['seconds']:>9.2f}  {r['figure']}"
        )
    return "\n".join(lines) + "\n"


def _cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.out, quick=args.quick or quick_mode(), backend=args.backend)
    return 0


# --------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------
def simulate_file(
    xyz: str | Path,
    out: str | Path | None = None,
    png: str | Path | None = None,
    probe: str = "CO",
    backend: str = "auto",
    scan_size: tuple[float, float] | None = None,
    pixels: tuple[int, int] | None = None,
    charges: str = "file",
) -> Path:
    """Simulate the Δf stack of the molecule in an .xyz file and save it as ``.npz``.

    The ``.npz`` holds ``df`` (float32 (nx, ny, nz) Δf in Hz, slice 0 farthest),
    ``slice_heights`` (Å), ``extent`` (Å, first/last pixel centres), ``center_xy`` (Å),
    ``numbers``, ``positions`` (Å), ``charges`` (e), ``backend`` and ``params`` (JSON).

    Parameters
    ----------
    xyz : str or Path
        Input geometry (.xyz, positions in Å).
    out : str or Path, optional
        Output ``.npz`` path; default ``<input stem>.npz`` in the current directory.
    png : str or Path, optional
        Figure path (top view + Δf slices).
    probe : {"CO", "Xe"}
        The tip.
    backend : {"auto", "opencl", "numpy"}
        Simulator backend.
    scan_size : (float, float), optional
        Scan window (x, y), Å; default ``SimulationParams().scan_size`` (16 × 16 Å).
    pixels : (int, int), optional
        Image size; default 128 × 128.
    charges : {"file", "gasteiger"}
        Partial charges (e): those in the file (a 5th column; a plain .xyz has none, so zero and
        no electrostatics: said in the output), or Gasteiger charges estimated from the geometry
        (:func:`afmkit.structures.molecules.estimate_charges`, RDKit bond perception).

    Returns
    -------
    Path
        The written ``.npz``.

    Raises
    ------
    XYZFormatError
        For a malformed .xyz file (a ``ValueError``).
    ValueError
        For an unknown element, bad window or pixel sizes, a window with no atom in it, or
        charges that cannot be estimated.
    FileNotFoundError
        If ``xyz`` does not exist.
    """
    from afmkit import AFMSimulator, SimulationParams, read_xyz
    from afmkit.structures.molecules import estimate_charges

    xyz = Path(xyz)
    mol = read_xyz(xyz)
    if charges == "gasteiger":
        mol = estimate_charges(mol)
        _log(f"charges: Gasteiger, estimated from the geometry (sum {mol.charges.sum():+.2f} e)")
    elif not np.any(np.asarray(mol.charges)):
        _log("charges: none in the file (no 5th column), so zero: no electrostatic force. "
             "Use --charges gasteiger to estimate them from the geometry.")  # fmt: skip
    else:
        _log(f"charges: from the file (sum {np.sum(mol.charges):+.2f} e)")
    sizes = {"scan_size": tuple(scan_size)} if scan_size is not None else {}
    if pixels is not None:
        sizes["pixels"] = tuple(pixels)
    params = SimulationParams(probe=probe, **sizes)
    from afmkit.physics.simulator import atoms_outside_window, scan_center

    if atoms_outside_window(mol, params, scan_center(mol)).all():
        w, h = params.scan_size
        raise ValueError(f"all {len(mol.numbers)} atoms lie outside the {w:g} × {h:g} Å scan "
                         "window centred on the molecule: the image would show no atom; "
                         "enlarge --scan-size")  # fmt: skip
    sim = AFMSimulator(params, backend=backend)
    name = getattr(mol, "name", "") or xyz.stem
    _log(
        f"simulating {name} ({len(mol.numbers)} atoms) with backend {sim.backend}; "
        f"{_describe_params(params)}"
    )
    t0 = time.perf_counter()
    stack = np.asarray(sim(mol))
    seconds = time.perf_counter() - t0
    center = getattr(sim, "last_center_xy", None)
    center_arr = np.asarray(center if center is not None else (0.0, 0.0), dtype=float)

    out_path = Path(out) if out is not None else Path(xyz.stem + ".npz")
    if out_path.parent != Path(""):
        out_path.parent.mkdir(parents=True, exist_ok=True)
    charges = getattr(mol, "charges", None)
    np.savez_compressed(
        out_path,
        df=stack,
        slice_heights=np.asarray(params.slice_heights(), dtype=float),
        extent=np.asarray(params.extent(tuple(center_arr)), dtype=float),
        center_xy=center_arr,
        numbers=np.asarray(mol.numbers),
        positions=np.asarray(mol.positions, dtype=float),
        charges=np.asarray(charges if charges is not None else np.zeros(len(mol.numbers))),
        backend=np.asarray(sim.backend),
        params=np.asarray(_params_json(params)),
    )
    _log(
        f"stack {stack.shape}, Δf {np.nanmin(stack):.3f} … {np.nanmax(stack):.3f} Hz, "
        f"{seconds:.2f} s → {out_path}"
    )
    if png is not None:
        from afmkit.plotting.figures import plot_simulation

        png_path = Path(png)
        if png_path.parent != Path(""):
            png_path.parent.mkdir(parents=True, exist_ok=True)
        fig = plot_simulation(mol, stack, params, center_xy=center, title=f"{name} ({probe} tip)")
        fig.savefig(png_path, dpi=110)
        _log(f"figure → {png_path}")
    return out_path


def _cmd_simulate(args: argparse.Namespace) -> int:
    if not Path(args.input).is_file():
        print(f"afmkit simulate: no such file: {args.input}", file=sys.stderr)
        return 2
    try:
        simulate_file(args.input, args.out, args.png, probe=args.probe, backend=args.backend,
                      scan_size=_pair(args.scan_size, float), pixels=_pair(args.pixels, int),
                      charges=args.charges)  # fmt: skip
    except (ValueError, OSError) as err:  # malformed .xyz, unknown element, bad sizes, ...
        message = " ".join(str(err).split())
        print(f"afmkit simulate: {args.input}: {message}", file=sys.stderr)
        return 2
    return 0


def _pair(values: Sequence[Any] | None, kind: type) -> tuple[Any, Any] | None:
    """One value → (v, v); two → (a, b); None → None (for --scan-size and --pixels)."""
    if values is None:
        return None
    if len(values) > 2:
        raise ValueError(f"give one value or two (x y), got {len(values)}: {values}")
    return (kind(values[0]), kind(values[-1]))


def _cmd_generate(args: argparse.Namespace) -> int:
    from afmkit.learn.data import AFMDataset, write_shards
    from afmkit.physics.simulator import SimulationParams
    from afmkit.structures.molecule_sets import molecule_set

    size: int | str | None = args.size
    if isinstance(size, str) and size != "all":
        size = int(size)
    mols = molecule_set(args.set, args.split, size)
    params = SimulationParams(pixels=(args.pixels, args.pixels))
    dataset = AFMDataset(
        mols, args.mode, batch_size=args.batch_size, seed=args.seed, params=params,
        n_rotations=args.rotations, backend=args.backend,
    )  # fmt: skip
    _log(
        f"{args.mode}: {len(mols)} molecules × {dataset.n_rotations} rotations = "
        f"{dataset.n_samples} samples in {len(dataset)} batches of {args.batch_size}"
    )
    paths = write_shards(dataset, args.out, n_batches=args.n_batches, fmt=args.format)
    _log(f"{len(paths)} shards in {args.out}")
    return 0


def _loss_weights(items: list[str]) -> dict[str, float] | None:
    """``["atomic_disks=20", ...]`` → ``{"atomic_disks": 20.0}`` (None when empty)."""
    weights = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--loss-weight wants OUTPUT=W (e.g. atomic_disks=20), got {item!r}")
    return weights or None


def _cmd_train(args: argparse.Namespace) -> int:
    from afmkit.learn.train import quick_config, train
    from afmkit.plotting.training import plot_loss_curve

    out = args.out or f"runs/{args.mode}"
    if args.quick or (quick_mode() and not args.full):
        config = quick_config(args.mode, out)
    else:
        try:
            config = _train_config(args, out)
        except ValueError as err:  # a setting out of range: one line, not a traceback
            print(f"afmkit train: {err}", file=sys.stderr)
            return 2
    report = train(config, plot_loss=plot_loss_curve)
    _log(f"test metrics: {json.dumps(report['losses'])} (all in {Path(out) / 'metrics.json'})")
    return 0


def _train_config(args: argparse.Namespace, out: str) -> Any:
    """The TrainConfig of ``afmkit train``'s options (ValueError for one out of range)."""
    from afmkit.learn.train import TrainConfig

    shards = args.shards
    return TrainConfig(
        mode=args.mode, out=out, epochs=args.epochs, molecule_set=args.set,
        train_size=args.train_size, val_size=args.val_size, test_size=args.test_size,
        rotations=args.rotations, batch_size=args.batch_size, seed=args.seed,
        lr=args.lr, decay=args.decay, loss_weights=_loss_weights(args.loss_weight),
        focal_gamma=args.focal_gamma, focal_alpha_n=args.focal_alpha,
        position_beta=args.position_weight, tilt_radius=args.tilt_radius,
        height_jitter=args.height_jitter,
        train_shards=f"{shards}-train" if shards else None,
        val_shards=f"{shards}-val" if shards else None,
        test_shards=f"{shards}-test" if shards else None,
    )  # fmt: skip


def _cmd_campaign(args: argparse.Namespace) -> int:
    from afmkit.learn.campaign import CampaignConfig, export_campaign, run_campaign
    from afmkit.learn.models import WEIGHTS_DIR

    if args.export:
        test = f"{args.shards}-test" if args.shards else None
        report = export_campaign(args.mode, args.export, args.checkpoints, test_shards=test,
                                 weights_dir=args.weights_dir, held_out=args.held_out)  # fmt: skip
        _log(f"{args.export}: held-out {json.dumps(report['held_out'])}; "
             f"targets met {json.dumps(report['targets_met'])}")  # fmt: skip
        from afmkit.learn.campaign import shipped_records
        from afmkit.plotting.training import learning_curve_figure

        records = shipped_records(weights_dir=args.weights_dir)
        png = Path(args.weights_dir or WEIGHTS_DIR) / "learning_curves.png"
        learning_curve_figure(records, png)
        _log(f"learning curves of {', '.join(records)}: {png}")
        return 0
    if not args.shards or not args.until_samples:
        raise SystemExit("afmkit campaign: --shards and --until-samples are needed to train")
    config = CampaignConfig(
        mode=args.mode, shards=args.shards, until_samples=args.until_samples,
        directory=args.checkpoints, hours=args.hours, chunk_samples=args.chunk_samples,
        held_out=args.held_out, seed=args.seed, precision=args.precision,
    )  # fmt: skip
    record = run_campaign(config, log=_log)
    _log(f"{args.mode}: {record['samples_seen']:,} samples seen over {record['molecules']:,} "
         f"molecules in {record['hours']:.2f} h ({len(record['sittings'])} sittings)")  # fmt: skip
    return 0


# --------------------------------------------------------------------------------------------
# match
# --------------------------------------------------------------------------------------------
#: Written into every ``afmkit match`` result file.
MATCH_NOTE = (
    "real experiments have no ground truth; the confidence is calibrated on simulated "
    "pseudo-experiments"
)


class _BadInput(Exception):
    """Input that ``afmkit match`` rejects with exit status 2 and a one-line message."""


def _slice_heights_arg(text: str) -> np.ndarray:
    """``--slice-heights "1.4,1.2,…,0"`` → float array (argparse type)."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers (Å), got {text!r}"
        ) from None
    if not values or not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers, got {text!r}")
    return np.asarray(values, dtype=float)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _read_experiments(path: Path) -> tuple[dict[str, np.ndarray], bool]:
    """The Δf stacks in ``path`` by name, and whether ``path`` held several (a directory).

    A single ``.npy`` with shape (1, ny, nx, n_slices) is the published camphor format (image
    axes transposed, as :func:`afmkit.experiments.published.load_camphor_experiments` reads it);
    a 3-D one is taken in afmkit's order (nx, ny, n_slices) as is. A directory or ``.tar.gz``
    goes through :func:`~afmkit.experiments.published.load_camphor_experiments` (``<n>.npy``
    files, published format).
    """
    from afmkit.experiments.published import DatasetUnavailableError, _from_published, check_stack

    if not path.exists():
        raise _BadInput(f"no such file or directory: {path}")
    if path.is_dir() or path.name.endswith((".tar.gz", ".tgz", ".tar")):
        from afmkit.experiments.published import load_camphor_experiments

        try:
            loaded = load_camphor_experiments(path)
        except DatasetUnavailableError:
            raise _BadInput(f"{path} holds no experiment files (<n>.npy or a .tar.gz)") from None
        except (OSError, ValueError, EOFError) as exc:
            raise _BadInput(f"{path}: {exc}") from None
        return {str(n): s for n, s in loaded.items()}, True
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _BadInput(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise _BadInput(f"{path}: expected one array in a .npy file, got an archive (.npz)")
    try:
        if array.ndim == 4 and array.shape[0] == 1:
            stack = _from_published(array, path.name)
        elif array.ndim == 3:
            stack = check_stack(array, path.name)
        else:
            raise ValueError(
                f"{path.name}: expected a stack (nx, ny, n_slices) or the published format "
                f"(1, ny, nx, n_slices), got shape {array.shape}"
            )
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    return {path.stem: stack}, False


def _read_molecule(spec: str) -> Any:
    """``camphor`` → :func:`afmkit.structures.molecules.camphor`; anything else is an .xyz path."""
    from afmkit.structures.molecules import camphor, read_xyz

    if spec.lower() == "camphor":
        return camphor()
    path = Path(spec)
    if not path.is_file():
        raise _BadInput(f"--molecule: neither 'camphor' nor an existing .xyz file: {spec}")
    try:
        return read_xyz(path)
    except (OSError, ValueError, IndexError) as exc:
        raise _BadInput(f"--molecule {spec}: unreadable xyz file ({exc})") from None


def _check_match_inputs(
    stacks: dict[str, np.ndarray], params: Any, n_keep: int, heights: np.ndarray | None,
    method: str | None,
) -> None:
    """Reject stacks that :func:`afmkit.experiments.matching.match` would reject.

    Runs :func:`afmkit.experiments.matching.check_experiment` before the library build.
    """
    from afmkit.experiments import matching

    for name, stack in stacks.items():
        try:
            matching.check_experiment(stack, params, n_keep, heights,
                                      method or matching.DEFAULT_METHOD)
        except ValueError as exc:
            raise _BadInput(f"{name}: {exc}") from None


def run_match(
    input_path: str | Path,
    out: str | Path,
    png: str | Path | None = None,
    *,
    molecule: str = "camphor",
    method: str | None = None,
    top_k: int = 5,
    n_orientations: int = 500,
    library_dir: str | Path | None = None,
    slice_heights: np.ndarray | None = None,
) -> dict[str, Any]:
    """Match the stack(s) in ``input_path`` to orientations of ``molecule``; write JSON (+ PNG).

    Parameters
    ----------
    input_path : str or Path
        One ``.npy`` Δf stack (Hz; (nx, ny, n_slices) or the published (1, ny, nx, n_slices)),
        or a directory / ``.tar.gz`` of published-format ``<n>.npy`` files.
    out : str or Path
        The JSON result file (written atomically).
    png : str or Path, optional
        Also write a figure of the matches.
    molecule : str
        ``"camphor"`` or the path of an .xyz file (Å).
    method : {"hybrid", "descriptors", "df"}, optional
        Matching method (default :data:`afmkit.experiments.matching.DEFAULT_METHOD`).
    top_k : int
        Orientations reported per experiment.
    n_orientations : int
        Viewing directions in the library.
    library_dir : str or Path, optional
        Library cache directory.
    slice_heights : numpy.ndarray, optional
        (n_slices,) heights of the slices above the closest one, Å.

    Returns
    -------
    dict
        The JSON document.

    Raises
    ------
    _BadInput
        For input that cannot be matched (the command exits with status 2).
    """
    from afmkit.physics.simulator import SimulationParams

    # bad input fails before TensorFlow is imported
    params = SimulationParams()
    stacks, several = _read_experiments(Path(input_path))
    _check_match_inputs(stacks, params, 1, slice_heights, method)
    mol = _read_molecule(molecule)

    from afmkit.experiments import matching
    from afmkit.learn.models import load_pretrained
    from afmkit.plotting.matching import plot_matches

    method = method or matching.DEFAULT_METHOD
    model = load_pretrained(matching.DEFAULT_MODEL)
    _check_match_inputs(stacks, params, int(model.inputs[0].shape[-1]), slice_heights, method)

    folder = matching.library_directory(library_dir)
    _log(
        f"library: {n_orientations} viewing directions of {getattr(mol, 'name', '') or molecule}"
        f" ({len(mol.numbers)} atoms) in {folder} (built once, ≈ 0.45 s per direction; cached)"
    )
    t0 = time.perf_counter()
    try:
        library = matching.build_library(
            mol, n_orientations, model, params, directory=folder, progress=sys.stderr.isatty()
        )
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    _log(f"library ready in {time.perf_counter() - t0:.1f} s")

    results: dict[str, Any] = {}
    for name, stack in stacks.items():
        t0 = time.perf_counter()
        try:
            result = matching.match(
                stack, model, n_orientations, top_k, method=method, library=library,
                slice_heights=slice_heights, progress=False,
            )  # fmt: skip
        except ValueError as exc:
            raise _BadInput(f"{name}: {exc}") from None
        seconds = time.perf_counter() - t0
        results[name] = result
        _log(f"{name}: {result.verdict()}, score {float(result.scores[0]):.3f}, {seconds:.1f} s")

    doc: dict[str, Any] = {
        "input": str(input_path),
        "molecule": molecule,
        "n_orientations": n_orientations,
        "method": method,
        "note": MATCH_NOTE,
    }
    if several:
        doc["experiments"] = {name: r.to_dict() for name, r in results.items()}
    else:
        ((name, result),) = results.items()
        doc = {"experiment": name, **doc, **result.to_dict()}
    from afmkit.fileio import atomic_path

    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    _log(f"results → {out}")
    if png is not None:
        fig = plot_matches(stacks, results, library, simulate=True)
        with atomic_path(png) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        _log(f"figure → {png}")
    return doc


def _cmd_match(args: argparse.Namespace) -> int:
    try:
        run_match(
            args.input, args.out, args.png, molecule=args.molecule, method=args.method,
            top_k=args.top_k, n_orientations=args.n_orientations,
            library_dir=args.library_dir, slice_heights=args.slice_heights,
        )  # fmt: skip
    except _BadInput as exc:
        print(f"afmkit match: {exc}", file=sys.stderr)
        return 2
    return 0


PREDICT_NOTE = (
    "Atoms: x, y in Å in the prepared image frame (origin at the window centre), z in Å below the "
    "topmost atom; confidences are the xyz model's. Descriptors: DSH (Å) and, with --xe, the ES "
    "map (V). The preparation report lists every step and warning."
)


def _read_measurement(paths: Sequence[str], options: dict[str, Any], what: str) -> Any:
    """An ExperimentStack from instrument files; bad files become a one-line _BadInput."""
    from afmkit.experiments.readers import read_experiment

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stack = read_experiment(list(paths) if len(paths) > 1 else paths[0], **options)
    except (ValueError, OSError) as exc:
        raise _BadInput(f"{what}: {' '.join(str(exc).split())}") from None
    for w in caught:
        _log(f"warning ({what}): {w.message}")
    return stack


def _prepare(stack: Any, options: dict[str, Any], what: str) -> Any:
    from afmkit.experiments.preparation import prepare_experiment

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kept in the report and logged below
            prepared = prepare_experiment(stack, **options)
    except ValueError as exc:
        raise _BadInput(f"{what}: {' '.join(str(exc).split())}") from None
    for message in prepared.warnings:
        _log(f"warning ({what}, preparation): {message}")
    return prepared


def run_predict(
    files: Sequence[str],
    out: str | Path,
    *,
    xe_files: Sequence[str] | None = None,
    read_options: dict[str, Any] | None = None,
    prepare_options: dict[str, Any] | None = None,
    threshold: float = 0.5,
    molecule: str | None = None,
    method: str | None = None,
    top_k: int = 5,
    n_orientations: int = 500,
    library_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Read a measurement, prepare it, run the models (and matching); write figures and JSON.

    Writes into ``out``: ``slices.png`` (the measured slices), ``drift.png`` (the drift found
    between slices), ``prediction.png`` (atoms on the closest slice and the descriptors),
    ``summary.json`` (the measurement, the preparation report, the analysis and the match), and
    ``prepared.npz`` (the prepared stack ``X``, its Δf ``df`` in Hz and ``heights`` in Å).

    Parameters
    ----------
    files : sequence of str
        Instrument files of one CO-tip measurement: an ``.sxm`` series (or a folder / glob), a
        ``.3ds`` grid, a ``.gwy`` file, or ``.npy``/``.npz`` (with ``pixel_size`` in
        ``read_options``) — :func:`afmkit.experiments.readers.read_experiment`.
    out : str or Path
        Output directory (created).
    xe_files : sequence of str, optional
        The Xe-tip measurement of the same molecule and window: enables the ES model.
    read_options : dict, optional
        Keyword arguments of the reader (``channel``, ``direction``, ``pixel_size``, …).
    prepare_options : dict, optional
        Keyword arguments of :func:`afmkit.experiments.preparation.prepare_experiment`.
    threshold : float
        Atom confidence threshold of the xyz model.
    molecule : str, optional
        Match this molecule: ``camphor``, an .xyz path or a SMILES string.
    method : str, optional
        Matching method (default :data:`afmkit.experiments.matching.DEFAULT_METHOD`).
    top_k : int
        Orientations reported.
    n_orientations : int
        Viewing directions in the matching library.
    library_dir : str or Path, optional
        Library cache directory.

    Returns
    -------
    dict
        The JSON document.

    Raises
    ------
    _BadInput
        For files that cannot be read or prepared, or a molecule that cannot be built (the
        command exits with status 2).
    """
    out = Path(out)
    read_options = dict(read_options or {})
    stack = _read_measurement(files, read_options, "input")
    _log(f"read: {stack.summary()}")
    prepared = _prepare(stack, dict(prepare_options or {}), "input")
    xe = None
    if xe_files:
        xe_stack = _read_measurement(xe_files, read_options, "--xe")
        xe = _prepare(xe_stack, dict(prepare_options or {}), "--xe")
    mol = None
    if molecule is not None:
        from afmkit.experiments.analysis import resolve_molecule

        try:
            mol = _read_molecule(molecule) if molecule.lower() == "camphor" \
                else resolve_molecule(molecule)
        except ValueError as exc:
            raise _BadInput(f"--molecule {molecule}: {exc}") from None

    from afmkit.experiments import matching
    from afmkit.experiments.analysis import analyse_experiment
    from afmkit.fileio import atomic_path
    from afmkit.learn.models import load_pretrained
    from afmkit.plotting.experiments import analysis_figure, drift_figure, slices_figure

    options: dict[str, Any] = {"top_k": top_k}
    if method:
        options["method"] = method
    if mol is not None:
        dsh = load_pretrained(matching.DEFAULT_MODEL)
        folder = matching.library_directory(library_dir)
        _log(f"library: {n_orientations} viewing directions of {mol.name or molecule} in "
             f"{folder} (built once, ≈ 0.45 s per direction; cached)")  # fmt: skip
        try:
            options["library"] = matching.build_library(
                mol, n_orientations, dsh, directory=folder, progress=sys.stderr.isatty())
        except ValueError as exc:
            raise _BadInput(f"--molecule {molecule}: {exc}") from None
    try:
        analysis = analyse_experiment(
            prepared.X, X_xe=None if xe is None else xe.X, pixel_size=prepared.pixel_size[0],
            threshold=threshold, molecule=mol, df=prepared.df, slice_heights=prepared.heights,
            match_options=options,
        )  # fmt: skip
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    for note in analysis.notes:
        _log(note)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "slices.png": slices_figure(stack.df, stack.pixel_size, stack.heights,
                                    title="measured Δf (Hz), far → close"),
        "prediction.png": analysis_figure(analysis, prepared.df[:, :, -1]),
    }  # fmt: skip
    if prepared.shifts_angstrom is not None:
        figures["drift.png"] = drift_figure(prepared.shifts_angstrom, stack.heights)
    for name, fig in figures.items():
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    with atomic_path(out / "prepared.npz") as tmp:
        np.savez_compressed(tmp, X=prepared.X, df=prepared.df, heights=prepared.heights)
    doc = {
        "files": [str(f) for f in files],
        "xe_files": [str(f) for f in xe_files or []],
        "measurement": stack.summary(),
        "preparation": prepared.report(),
        "xe_preparation": None if xe is None else xe.report(),
        **analysis.summary(),
        "molecule": molecule,
        "note": PREDICT_NOTE,
        "figures": sorted(figures),
    }
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(doc, indent=2, allow_nan=True, default=str) + "\n",
                       encoding="utf-8")
    atoms = 0 if analysis.atoms is None else len(analysis.atoms)
    verdict = f"; match: {analysis.match.verdict()}" if analysis.match is not None else ""
    _log(f"{atoms} atoms above p = {threshold:g}{verdict}; figures and summary.json → {out}")
    return doc


def _cmd_predict(args: argparse.Namespace) -> int:
    read_options: dict[str, Any] = {}
    for key in ("channel", "direction", "pixel_size"):
        value = getattr(args, key)
        if value is not None:
            read_options[key] = value
    prepare_options = {"drift": not args.no_drift, "background": args.background,
                       "fill_nan": args.fill_nan, "rotate": not args.no_rotate}  # fmt: skip
    try:
        run_predict(args.files, args.out, xe_files=args.xe, read_options=read_options,
                    prepare_options=prepare_options, threshold=args.threshold,
                    molecule=args.molecule, method=args.method, top_k=args.top_k,
                    n_orientations=args.n_orientations, library_dir=args.library_dir)  # fmt: skip
    except _BadInput as exc:
        print(f"afmkit predict: {exc}", file=sys.stderr)
        return 2
    return 0


# --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``afmkit`` argument parser.

    Returns
    -------
    argparse.ArgumentParser
        With the subcommands ``demo``, ``simulate``, ``generate``, ``train``, ``campaign``,
        ``match`` and ``predict``.
    """
    parser = argparse.ArgumentParser(
        prog="afmkit",
        description="Machine learning on AFM images: Probe Particle Model simulations and more.",
    )
    parser.add_argument("--version", action="version", version=f"afmkit {afmkit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    backend_kw: dict[str, Any] = {
        "choices": ("auto", "opencl", "numpy"),
        "default": "auto",
        "help": "simulator backend (default: auto = OpenCL if available, else NumPy)",
    }

    demo = sub.add_parser(
        "demo",
        help="simulate camphor and a QM9 molecule; write figures and summary.txt",
        description="Simulate 1S-camphor and one QM9 molecule with the default parameters and "
        "write a figure per molecule (top view + Δf slices) and summary.txt. Headless.",
    )
    demo.add_argument("--out", default="out", help="output directory (default: out)")
    demo.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_PIXELS[0]}×{QUICK_PIXELS[1]} px and {QUICK_SLICES} slices "
        "(also enabled by AFMKIT_QUICK=1)",
    )
    demo.add_argument("--backend", **backend_kw)
    demo.set_defaults(func=_cmd_demo)

    simulate = sub.add_parser(
        "simulate",
        help="simulate the Δf stack of a molecule from an .xyz file",
        description="Simulate a Δf stack (16 × 16 Å, 128 × 128 px, 20 slices; Hz) and save it "
        "as .npz, optionally with a PNG figure.",
    )
    simulate.add_argument("input", metavar="INPUT.xyz", help="molecule geometry (Å)")
    simulate.add_argument("--out", metavar="FILE.npz", help="output file (default: <stem>.npz)")
    simulate.add_argument("--png", metavar="FILE.png", help="also write a figure")
    simulate.add_argument("--probe", choices=("CO", "Xe"), default="CO", help="tip (default CO)")
    simulate.add_argument("--scan-size", type=float, nargs="+", metavar="Å", default=None,
                          help="scan window: one size (square) or x y, Å (default 16)")
    simulate.add_argument("--pixels", type=_positive_int, nargs="+", metavar="N", default=None,
                          help="image size: one (square) or nx ny (default 128)")
    simulate.add_argument("--charges", choices=("file", "gasteiger"), default="file",
                          help="partial charges: from the file's 5th column (none: zero), or "
                               "Gasteiger charges estimated from the geometry (RDKit)")
    simulate.add_argument("--backend", **backend_kw)
    simulate.set_defaults(func=_cmd_simulate)

    generate = sub.add_parser(
        "generate",
        help="write simulated training batches to training shards (resumable)",
        description="Simulate training batches (raw 20-slice stacks and targets) and write one "
        "shard per batch. Re-running the same command resumes an interrupted run.",
    )
    generate.add_argument("--mode", choices=("dsh", "es", "xyz"), required=True)
    generate.add_argument("--set", default="light", help="light, heavy, dataset1 or dataset2")
    generate.add_argument("--split", choices=("train", "val", "test"), default="train")
    generate.add_argument("--size", default=None, help="molecules (default: thesis size; 'all')")
    generate.add_argument("--out", required=True, help="shard directory")
    generate.add_argument("--format", choices=("npz", "h5"), default="npz")
    generate.add_argument("--batch-size", type=int, default=30)
    generate.add_argument("--n-batches", type=int, default=None, help="stop after N batches")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument(
        "--rotations", type=int, default=None, help="best rotations per molecule (20; xyz 30)"
    )
    generate.add_argument("--pixels", type=int, default=128, help="image size (default 128)")
    generate.add_argument("--backend", **backend_kw)
    generate.set_defaults(func=_cmd_generate)

    train = sub.add_parser(
        "train",
        help="train the DSH, ES or xyz model (checkpoints; re-run to resume)",
        description="Train a model with Adam (lr 1e-3, inverse-time decay 1e-5), checkpoint and "
        "log every epoch, plot the loss curve and evaluate on the test set. Re-running the same "
        "command after an interruption resumes from the last finished epoch.",
    )
    train.add_argument("mode", choices=("dsh", "es", "xyz"))
    train.add_argument("--out", default=None, help="run directory (default: runs/<mode>)")
    train.add_argument("--epochs", type=int, default=50)
    train.add_argument(
        "--shards", default=None,
        help="shard dirs PREFIX-train, PREFIX-val, PREFIX-test (default: simulate on the fly)",
    )  # fmt: skip
    train.add_argument("--set", default="light", help="molecule set for on-the-fly data")
    train.add_argument("--train-size", type=int, default=None)
    train.add_argument("--val-size", type=int, default=None)
    train.add_argument("--test-size", type=int, default=None)
    train.add_argument("--rotations", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=30)
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    train.add_argument("--decay", type=float, default=1e-5,
                       help="inverse-time decay of the learning rate per step (1e-5)")
    train.add_argument("--loss-weight", action="append", default=[], metavar="OUTPUT=W",
                       help="dsh/es: weight of one output's loss, e.g. atomic_disks=20 "
                       "(repeatable; default the thesis's)")
    train.add_argument("--focal-gamma", type=float, default=1.25, help="xyz: focal-loss γ")
    train.add_argument("--focal-alpha", type=float, default=0.30,
                       help="xyz: focal-loss α_n, the weight of background boxes")
    train.add_argument("--position-weight", type=float, default=0.15,
                       help="xyz: weight β_PL of the position loss")
    train.add_argument("--tilt-radius", type=float, default=1.0,
                       help="on-the-fly data: largest random tip tilt, Å")
    train.add_argument("--height-jitter", type=float, default=0.25,
                       help="on-the-fly data: random change of the closest tip height, ± Å")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quick", action="store_true", help="tiny run (also AFMKIT_QUICK=1)")
    train.add_argument("--full", action="store_true", help="ignore AFMKIT_QUICK")
    train.set_defaults(func=_cmd_train)

    campaign = sub.add_parser(
        "campaign",
        help="train a model toward a sample budget over several sittings (resumable)",
        description="Continue the training campaign of a model from its checkpoint "
        "(CHECKPOINTS/<mode>.keras with optimizer state, CHECKPOINTS/<mode>.json with the "
        "learning curve): train chunk after chunk on PREFIX-train shards, score held-out "
        "molecules after each, stop at --until-samples or when --hours are spent. --export NAME "
        "writes the shipped weights afmkit/learn/weights/NAME.* from the checkpoint instead.",
    )
    campaign.add_argument("mode", choices=("dsh", "es", "xyz"))
    campaign.add_argument("--shards", default=None,
                          help="shard dirs PREFIX-train, PREFIX-val (and PREFIX-test for --export)")
    campaign.add_argument("--until-samples", type=_positive_int, default=None,
                          help="training samples seen in all, over every sitting")
    campaign.add_argument("--hours", type=float, default=None, help="budget of this sitting")
    campaign.add_argument("--checkpoints", default="checkpoints",
                          help="checkpoint directory (default: checkpoints)")
    campaign.add_argument("--chunk-samples", type=_positive_int, default=6000,
                          help="samples between checkpoints (default 6000)")
    campaign.add_argument("--held-out", type=_positive_int, default=16,
                          help="held-out test-split molecules scored per chunk (default 16)")
    campaign.add_argument("--precision", choices=("float32", "mixed_bfloat16"),
                          default="float32", help="dtype policy of a new campaign")
    campaign.add_argument("--seed", type=int, default=0)
    campaign.add_argument("--export", metavar="NAME", default=None,
                          help="write afmkit/learn/weights/NAME.* from the checkpoint and stop")
    campaign.add_argument("--weights-dir", default=None,
                          help="with --export: folder instead of afmkit/learn/weights")
    campaign.set_defaults(func=_cmd_campaign)

    methods = ("hybrid", "descriptors", "df")  # matching.METHODS, without importing matching
    match = sub.add_parser(
        "match",
        help="find the orientation of a molecule in experimental Δf stacks (JSON, PNG)",
        description="Rank orientations of a molecule (default 1S-camphor) by how well their "
        "simulations explain an experimental Δf stack (afmkit.experiments.matching.match). "
        "INPUT is one .npy file — shape (nx, ny, n_slices) in afmkit's axis order, or "
        "(1, ny, nx, n_slices) as in the published camphor data (image axes transposed on "
        "load) — or a directory / .tar.gz of published-format <n>.npy files. Δf in Hz, "
        "128 × 128 px, slice 0 farthest. The orientation library is simulated once per "
        "molecule and size (≈ 0.45 s per direction, ≈ 4 min for 500) and cached. Real "
        "experiments have no ground truth: the confidence is calibrated on simulated "
        "pseudo-experiments. Exit status 2 on bad input.",
    )
    match.add_argument("input", metavar="EXP.npy|DIR", help="Δf stack file, or a directory")
    match.add_argument(
        "--molecule", default="camphor", metavar="camphor|FILE.xyz",
        help="molecule to orient: 'camphor' or an .xyz file (Å) (default camphor)",
    )  # fmt: skip
    match.add_argument(
        "--method", choices=methods, default=None,
        help="descriptors (the thesis: DSH vdW Spheres), df (Δf slices with tip and height "
        "search) or hybrid (both) (default: afmkit.experiments.matching.DEFAULT_METHOD, hybrid)",
    )  # fmt: skip
    match.add_argument(
        "--top-k", type=_positive_int, default=5, metavar="K", help="orientations to report (5)"
    )
    match.add_argument(
        "--n-orientations", type=_positive_int, default=500, metavar="N",
        help="viewing directions in the library (default 500)",
    )  # fmt: skip
    match.add_argument(
        "--library-dir", default=None, metavar="DIR",
        help="library cache directory (default: <afmkit cache>/matching)",
    )  # fmt: skip
    match.add_argument(
        "--slice-heights", type=_slice_heights_arg, default=None, metavar="H0,H1,…",
        help="heights of the slices above the closest one, Å, farthest first (default for 10 "
        "slices as published: 1.4,1.2,1.1,0.9,0.8,0.6,0.5,0.3,0.2,0; else 0.1 Å apart)",
    )  # fmt: skip
    match.add_argument("--out", required=True, metavar="FILE.json", help="result file")
    match.add_argument("--png", metavar="FILE.png", help="also write a figure")
    match.set_defaults(func=_cmd_match)
    predict = sub.add_parser(
        "predict",
        help="read your own measurement, prepare it, predict descriptors and atoms (and match)",
        description="Read constant-height Δf measurements (a Nanonis .sxm series, a .3ds grid, "
        "a Gwyddion .gwy file, or .npy/.npz with --pixel-size), correct the drift between "
        "slices, resample to the models' 128 × 128 px window and 10 slices, and run the DSH and "
        "xyz models (and the ES model with --xe); with --molecule also find its orientation. "
        "Writes figures, prepared.npz and summary.json into --out.",
    )
    predict.add_argument("files", nargs="+", metavar="FILE",
                         help="instrument files of one CO-tip measurement (or a folder / glob)")
    predict.add_argument("--out", required=True, metavar="DIR", help="output directory")
    predict.add_argument("--xe", nargs="+", metavar="FILE", default=None,
                         help="the Xe-tip measurement of the same molecule (enables the ES map)")
    predict.add_argument("--channel", default=None, help="Δf channel name (default: found)")
    predict.add_argument("--direction", choices=("forward", "backward"), default=None,
                         help="scan direction to read (default forward)")
    predict.add_argument("--pixel-size", type=float, default=None, metavar="Å",
                         help=".npy/.npz input: distance between pixel centres, Å")
    predict.add_argument("--no-drift", action="store_true", help="skip the drift correction")
    predict.add_argument("--no-rotate", action="store_true",
                         help="keep the scan frame (do not turn by the scan angle)")
    predict.add_argument("--background", choices=("plane", "line"), default=None,
                         help="remove a plane or line-by-line background (default: none)")
    predict.add_argument("--fill-nan", action="store_true",
                         help="fill unmeasured (NaN) pixels from their neighbours, with a warning")
    predict.add_argument("--threshold", type=float, default=0.5,
                         help="atom confidence threshold of the xyz model (default 0.5)")
    predict.add_argument("--molecule", default=None,
                         help="match this molecule: camphor, an .xyz file or a SMILES string")
    predict.add_argument("--method", choices=("hybrid", "descriptors", "df"), default=None)
    predict.add_argument("--top-k", type=_positive_int, default=5)
    predict.add_argument("--n-orientations", type=_positive_int, default=500)
    predict.add_argument("--library-dir", default=None, help="matching library cache directory")
    predict.set_defaults(func=_cmd_predict)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``afmkit`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The process exit status (0 on success, 2 on bad input).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
