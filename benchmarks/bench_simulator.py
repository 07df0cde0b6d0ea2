"""Simulator speed: afmkit (OpenCL, NumPy) against ppafm (OpenCL) on the same molecules, one run.

Prints full-stack throughput (128 × 128 px, 20 Δf slices, CO tip) for each implementation, the
afmkit/ppafm ratio, the split between force field and relaxation, and the latency of a widget
preview (64 × 64 px, 3 slices, warm), next to the figures measured before the speed-ups of
issue #12 (:data:`BEFORE`). Run: ``.venv/bin/python benchmarks/bench_simulator.py`` (``--quick`` for
fewer repetitions).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import camphor
from afmkit.structures.qm9 import qm9

QM9_POSITIONS = (209, 50010)  # pyridine; O=CCC12CCCC1N2

#: Before issue #12 (commit of the layer reorganisation, same 2-core PoCL machine, one
#: ``--quick`` run): seconds per stack of afmkit and of ppafm in the same run, per molecule, and
#: afmkit's split into force field and relaxation + Δf (ms per stack).
BEFORE = {
    "afmkit-OpenCL": (0.370, 0.314, 0.315),
    "ppafm-OpenCL": (2.662, 1.427, 2.096),
    "split_ms": (87, 247),
}


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` calls (s), and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    reps = 2 if args.quick else 5

    mols = [camphor()] + [qm9(i) for i in QM9_POSITIONS]
    params = SimulationParams()
    print(f"molecules: {', '.join(f'{m.name} ({len(m)} atoms)' for m in mols)}")
    print(f"stack: {params.pixels[0]}x{params.pixels[1]} px, {params.n_slices} slices "
          f"({params.df_samples} approach steps), CO tip\n")  # fmt: skip

    results = {}
    ocl = AFMSimulator(params, backend="opencl")
    print(f"afmkit OpenCL device: {ocl.device_name}")
    ocl(mols[0])  # compile kernels
    per_mol, split = [], []
    for m in mols:
        def run(m=m):
            ocl._ff_cache = None  # measure the force field too
            return ocl.run(m)

        t, res = timed(run, reps)
        per_mol.append(t)
        split.append((res.timings["forcefield"], res.timings["relax+df"]))
    results["afmkit-OpenCL"] = per_mol
    ff, rl = np.mean(split, axis=0)
    print(f"  force field {ff * 1e3:.0f} ms, relaxation + Δf {rl * 1e3:.0f} ms per stack")

    npy = AFMSimulator(params, backend="numpy")
    results["afmkit-NumPy"] = [timed(lambda m=m: npy(m), 1)[0] for m in mols]

    try:
        from afmkit.physics.ppafm_bridge import make_afmulator, ppafm_simulate

        per_mol = []
        for m in mols:
            afm = make_afmulator(params, m)
            ppafm_simulate(m, params, afmulator=afm)  # compile / allocate
            t, _ = timed(lambda m=m, a=afm: ppafm_simulate(m, params, afmulator=a), reps)
            per_mol.append(t)
        results["ppafm-OpenCL"] = per_mol
    except ImportError as err:
        print(f"ppafm not installed ({err}); pip install 'ppafm[opencl]' to compare")

    print(f"\n{'implementation':<16}" + "".join(f"{m.name[:14]:>16}" for m in mols) + "   stacks/s")
    for name, times in results.items():
        rate = len(times) / sum(times)
        print(f"{name:<16}" + "".join(f"{t:>14.3f} s" for t in times) + f"   {rate:8.2f}")
    before = sum(BEFORE["ppafm-OpenCL"]) / sum(BEFORE["afmkit-OpenCL"])
    print(f"{'before #12':<16}" + "".join(f"{t:>14.3f} s" for t in BEFORE["afmkit-OpenCL"])
          + f"   {3 / sum(BEFORE['afmkit-OpenCL']):8.2f}   (afmkit-OpenCL, FF "
          f"{BEFORE['split_ms'][0]} ms + relaxation {BEFORE['split_ms'][1]} ms)")  # fmt: skip
    if "ppafm-OpenCL" in results:
        ratio = sum(results["ppafm-OpenCL"]) / sum(results["afmkit-OpenCL"])
        print(f"\nafmkit-OpenCL / ppafm-OpenCL speed ratio: {ratio:.1f}x "
              f"(before issue #12: {before:.1f}x; goal >= 10x)")  # fmt: skip

    preview = AFMSimulator(params.replace(pixels=(64, 64), n_slices=3), backend="opencl")
    mol = mols[0]
    preview(mol)
    t_cached, _ = timed(lambda: preview(mol), reps * 2)
    changed = [params.replace(pixels=(64, 64), n_slices=3, k_lat=k) for k in (0.2, 0.3)]

    def new_springs():
        for p in changed:
            preview.params = p
            preview(mol)

    t_springs = timed(new_springs, reps)[0] / len(changed)

    def new_charge():
        preview._ff_cache = None
        return preview(mol)

    t_cold, _ = timed(new_charge, reps)
    print("\nwidget preview (64x64 px, 3 slices, warm kernels):")
    print(f"  same parameters (cached force field): {t_cached * 1e3:7.1f} ms")
    print(f"  new spring constant (cached FF):      {t_springs * 1e3:7.1f} ms")
    print(f"  new molecule/charge (recompute FF):   {t_cold * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
