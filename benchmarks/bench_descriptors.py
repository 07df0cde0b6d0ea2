"""Descriptor speed on one CPU core: all five descriptors at 128 × 128 px (16 × 16 Å window).

Budget (issue): Height Map + vdW Spheres + Atomic Disks + ES Map + xyz grid of a ~30-atom
molecule in under 50 ms in total, one core. The ES Map is timed with the precomputed Height Map
passed in (``es_map(mol, height=hm)``), as a data generator calls it; ``es_map`` alone
(recomputing the Height Map) is printed too. Thread pools are pinned to one thread before NumPy
is imported. Run: ``.venv/bin/python benchmarks/bench_descriptors.py`` (``--quick`` for fewer
repetitions).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from afmkit.physics.simulator import SimulationParams  # noqa: E402
from afmkit.structures.molecules import Molecule, camphor  # noqa: E402
from afmkit.structures.qm9 import qm9  # noqa: E402
from afmkit.targets import descriptors as D  # noqa: E402

QM9_POSITIONS = (100382, 100383)  # CCC(CC)(CC)CC (29 atoms), CCC(CC)(CC)CO (27 atoms)
BUDGET_MS = 50.0


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, in ms (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def bench(mol: Molecule, params: SimulationParams, repeats: int) -> dict[str, float]:
    """Per-descriptor median times in ms for one molecule."""
    hm = D.height_map(mol, params)
    out = {
        "height_map": timed(lambda: D.height_map(mol, params), repeats),
        "vdw_spheres": timed(lambda: D.vdw_spheres(mol, params), repeats),
        "atomic_disks": timed(lambda: D.atomic_disks(mol, params), repeats),
        "es_map(height=hm)": timed(lambda: D.es_map(mol, params, height=hm), repeats),
        "xyz_grid": timed(lambda: D.xyz_grid(mol, params), repeats),
    }
    out["total"] = sum(out.values())

    def all_five() -> None:
        h = D.height_map(mol, params)
        D.vdw_spheres(mol, params)
        D.atomic_disks(mol, params)
        D.es_map(mol, params, height=h)
        D.xyz_grid(mol, params)

    out["all five, one loop"] = timed(all_five, repeats)
    out["es_map (own height)"] = timed(lambda: D.es_map(mol, params), repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30

    params = SimulationParams()
    mols = [qm9(i) for i in QM9_POSITIONS] + [camphor()]
    print(
        f"grid {params.pixels[0]}x{params.pixels[1]} px, {params.scan_size[0]:g} x "
        f"{params.scan_size[1]:g} Å, {params.probe} tip; one thread; median of {repeats} runs\n"
    )
    rows = {m.name + f" ({len(m)} atoms)": bench(m, params, repeats) for m in mols}
    names = list(next(iter(rows.values())))
    width = max(len(n) for n in names) + 2
    header = "".join(f"{k:>26s}" for k in rows)
    print(f"{'ms':<{width}}{header}")
    for name in names:
        print(f"{name:<{width}}" + "".join(f"{r[name]:>26.1f}" for r in rows.values()))
    worst = max(r["all five, one loop"] for r in rows.values())
    verdict = "within" if worst < BUDGET_MS else "OVER"
    print(f"\nworst all-five time {worst:.1f} ms: {verdict} the {BUDGET_MS:g} ms budget")


if __name__ == "__main__":
    main()
