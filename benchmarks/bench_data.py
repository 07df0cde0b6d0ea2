"""Training-data throughput: samples/s the on-the-fly generator delivers, and where time goes.

For each mode (dsh, es, xyz) it generates a few batches of 30 samples (128 × 128 px, 20 slices,
light-set molecules, best rotations, random tips) and prints samples/s next to the rate before the
speed-ups of issue #12 (:data:`BEFORE`), and how the work splits into simulation, descriptors and
augmentation (the samples of a batch are generated on two threads, so the stages overlap in wall
time; the shares are of their summed time). Run:
``.venv/bin/python benchmarks/bench_data.py [--quick] [--modes dsh es xyz]``.
"""

from __future__ import annotations

import argparse
import time

from afmkit.learn.data import AFMDataset, molecule_set

#: Samples/s before issue #12 (commit of the layer reorganisation, same 2-core machine, measured
#: back to back with the new code; the issue quoted 2.2 for dsh).
BEFORE = {"dsh": 2.77, "es": 1.36, "xyz": 2.79}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one batch of 10 per mode")
    parser.add_argument("--modes", nargs="+", default=["dsh", "es", "xyz"])
    parser.add_argument("--batches", type=int, default=2)
    args = parser.parse_args()
    batch_size, n_batches = (10, 1) if args.quick else (30, args.batches)

    mols = molecule_set("light", "train", 50)
    print(f"{len(mols)} light-set molecules, batches of {batch_size}, {n_batches} batch(es)/mode")
    print(f"{'mode':<5} {'samples/s':>10} {'before':>7} {'simulation':>11} {'descriptors':>12} "
          f"{'augment':>8}")  # fmt: skip
    for mode in args.modes:
        ds = AFMDataset(mols, mode, batch_size=batch_size, seed=0)
        ds[0]  # warm up: kernels, first force field
        ds.timings.clear()
        t0 = time.perf_counter()
        n = 0
        for i in range(1, 1 + n_batches):
            X, _ = ds[i]
            n += len(X[0]) if mode == "es" else len(X)
        wall = time.perf_counter() - t0
        work = sum(ds.timings.values())
        share = {k: v / work for k, v in ds.timings.items()}
        print(
            f"{mode:<5} {n / wall:>10.2f} {BEFORE.get(mode, float('nan')):>7.2f} "
            f"{share.get('simulation', 0):>10.0%} {share.get('descriptors', 0):>11.0%} "
            f"{share.get('augmentation', 0):>8.0%}"
        )
    print("(es simulates two stacks per sample: CO and Xe)")


if __name__ == "__main__":
    main()
