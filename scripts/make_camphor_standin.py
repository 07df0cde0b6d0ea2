#!/usr/bin/env python3
"""Make the offline blind stand-in for the camphor experiments (seeded, reproducible).

Writes ``afmkit/experiments/data/camphor_standin.npz`` (the pseudo-experiments, 8-bit per
slice, no orientations) and ``afmkit/experiments/data/camphor_standin_truth.npz`` (the true
rotations and the drawn tip parameters, for scoring only). See :mod:`afmkit.experiments.pseudo`
for what is perturbed.

    python scripts/make_camphor_standin.py [--n 10] [--seed 2020]
"""

from __future__ import annotations

import argparse

from afmkit.experiments.pseudo import make_standin, save_standin
from afmkit.experiments.published import STANDIN_PATH, STANDIN_TRUTH_PATH
from afmkit.structures.molecules import camphor

DEFAULT_SEED = 2020
DEFAULT_N = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="pseudo-experiments")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    stacks, rotations, infos = make_standin(camphor(), args.n, args.seed)
    save_standin(stacks, rotations, infos, args.seed, STANDIN_PATH, STANDIN_TRUTH_PATH)
    size_mb = STANDIN_PATH.stat().st_size / 1e6
    print(f"wrote {args.n} pseudo-experiments to {STANDIN_PATH} ({size_mb:.2f} MB)")
    print(f"truth in {STANDIN_TRUTH_PATH}")


if __name__ == "__main__":
    main()
