"""Camphor matching: accuracy on the offline stand-in and the time to match one experiment.

Prints, for the blind stand-in (``afmkit.datasets.camphor_standin``; truth read only here):

* **pipeline** — DSH vdW Spheres of the pseudo-experiment vs the DSH library (what
  ``afmkit.matching.match`` does, as the thesis): share of top-1 / top-3 orientations within
  15° of the truth; **+height** — the same comparing the Height Map too.
* **clean** — the same, but the "experiment" is a clean simulation of the true orientation with
  the library's own tip (no perturbed tip, height offset or artefacts): how much the artefacts
  and the unknown tip cost.
* **exact** — exact descriptors of the true geometry against an exact-descriptor library: the
  limit of the search itself (a perfect model).

and the time to build the library (first run; cached after) and to match one experiment.
Run: ``.venv/bin/python benchmarks/bench_matching.py [--n-orientations 500] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from afmkit import matching
from afmkit.datasets import camphor_standin, camphor_standin_truth
from afmkit.models import load_pretrained
from afmkit.molecules import camphor
from afmkit.simulator import AFMSimulator


def _report(name: str, results: list, truth: np.ndarray, sym: np.ndarray) -> None:
    acc = matching.accuracy(results, truth, sym)
    errors = " ".join(f"{e:5.1f}" for e in acc["errors_top1"])
    print(f"{name:9s} top-1 {acc['top1']:.0%}  top-3 {acc['top3']:.0%}  (n={acc['n']})"
          f"   top-1 errors (deg): {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-orientations", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="60 directions, 3 experiments")
    args = parser.parse_args()
    n_dir = 60 if args.quick else args.n_orientations

    model = load_pretrained("dsh-light")
    mol = camphor()
    sym = matching.symmetry_rotations(mol)
    exps = camphor_standin()
    truth = camphor_standin_truth().rotations
    if args.quick:
        exps = dict(list(exps.items())[:3])
        truth = truth[:3]

    t0 = time.perf_counter()
    lib = matching.build_library(mol, n_dir, model)
    print(f"library: {n_dir} directions × {360 // 10} in-plane angles, "
          f"built or loaded in {time.perf_counter() - t0:.1f} s (cached after the first build)")

    pipeline, times = [], []
    for stack in exps.values():
        t0 = time.perf_counter()
        pipeline.append(matching.match(stack, model, library=lib, top_k=5))
        times.append(time.perf_counter() - t0)
    with_height = [
        matching.match(stack, model, library=lib, top_k=5, channels=("vdw_spheres", "height_map"))
        for stack in exps.values()
    ]
    split = {k: statistics.median(r.timings[k] for r in pipeline) for k in pipeline[0].timings}
    median = statistics.median(times)
    print(f"match one experiment against {n_dir} simulations: median {median:.2f} s"
          f" ({', '.join(f'{k} {v:.2f} s' for k, v in split.items())})")
    print("descriptors compared: vdW Spheres (default, as the thesis); '+height' adds the "
          "Height Map")
    _report("pipeline", pipeline, truth, sym)
    _report("+height", with_height, truth, sym)

    sim = AFMSimulator(lib.params)
    clean_stacks = np.stack([sim(mol.rotated(r)) for r in truth])
    clean_desc = matching.predict_descriptors(model, clean_stacks)
    clean = [matching.match_descriptor(d, lib, 5) for d in clean_desc]
    _report("clean", clean, truth, sym)

    exact_lib = matching.build_library(mol, n_dir, source="exact", cache=False)
    exact = [
        matching.match_descriptor(matching.exact_descriptors(mol.rotated(r), lib.params),
                                  exact_lib, 5)
        for r in truth
    ]
    _report("exact", exact, truth, sym)


if __name__ == "__main__":
    main()
