#!/usr/bin/env python3
"""Make a second offline stand-in for the camphor experiments, simulated with ppafm (seeded).

Writes ``afmkit/experiments/data/camphor_ppafm_standin.npz`` (the pseudo-experiments, 8-bit
per slice, no orientations) and ``afmkit/experiments/data/camphor_ppafm_standin_truth.npz`` (the
true rotations and the drawn tip, height and artefact parameters, for scoring only). Unlike
``scripts/make_camphor_standin.py`` the images come from ppafm (an independent Probe Particle
code, via :mod:`afmkit.physics.ppafm_bridge`), tips are drawn from wider ranges and the artefact
strengths vary per experiment; see :func:`afmkit.experiments.pseudo.make_ppafm_standin`.
Needs ppafm with an OpenCL device (``pip install 'ppafm[opencl]'``).

    python scripts/make_camphor_ppafm_standin.py [--n 12] [--seed 2026]
"""

from __future__ import annotations

import argparse

from afmkit.experiments.pseudo import make_ppafm_standin, save_standin
from afmkit.experiments.published import PPAFM_STANDIN_PATH, PPAFM_STANDIN_TRUTH_PATH
from afmkit.structures.molecules import camphor

DEFAULT_SEED = 2026
DEFAULT_N = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="pseudo-experiments")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    stacks, rotations, infos = make_ppafm_standin(camphor(), args.n, args.seed)
    save_standin(stacks, rotations, infos, args.seed, PPAFM_STANDIN_PATH, PPAFM_STANDIN_TRUTH_PATH)
    size_mb = PPAFM_STANDIN_PATH.stat().st_size / 1e6
    print(f"wrote {args.n} ppafm pseudo-experiments to {PPAFM_STANDIN_PATH} ({size_mb:.2f} MB)")
    print(f"truth in {PPAFM_STANDIN_TRUTH_PATH}")


if __name__ == "__main__":
    main()
