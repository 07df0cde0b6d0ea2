"""Camphor matching: accuracy and speed of every method on both offline pseudo-experiment sets.

Prints one table, in one run, with a row per method × evaluation set:

* **sets** — ``afmkit``: the shipped afmkit-made stand-in (10 pseudo-experiments); ``ppafm``:
  the ppafm-made one (12; another simulator, wider tips, jittered artefacts). Truth is read only
  here, for scoring.
* **methods** — ``descriptors`` (the thesis: DSH vdW Spheres), ``df`` (Δf slices with height
  and tip search and local orientation refinement), ``hybrid`` (candidates from both, re-ranked
  on Δf; the default).
* **columns** — top-1 and top-3 within 15° of the truth, median top-1 error (degrees), mean
  calibrated confidence of right and of wrong top-1 answers, ambiguous flags, and the median
  time per match once the library exists.

The library build time is printed first (``--rebuild`` builds it afresh in a temporary folder
to time it; otherwise the cached one is loaded). ``--calibrate`` fits the confidence
temperature of each method on both sets (paste into ``matching.TEMPERATURES``).

Run: ``.venv/bin/python benchmarks/bench_matching.py [--n-orientations 500] [--rebuild]
[--calibrate] [--methods hybrid,df,descriptors] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from afmkit.experiments import matching  # noqa: E402
from afmkit.experiments.published import STANDIN_KINDS, camphor_standin, camphor_standin_truth  # noqa: E402
from afmkit.learn.models import load_pretrained  # noqa: E402
from afmkit.structures.molecules import camphor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-orientations", type=int, default=500)
    parser.add_argument("--methods", default=",".join(matching.METHODS))
    parser.add_argument("--rebuild", action="store_true", help="time a fresh library build")
    parser.add_argument("--calibrate", action="store_true", help="fit confidence temperatures")
    parser.add_argument("--quick", action="store_true", help="60 directions, 2 experiments a set")
    parser.add_argument("--save", help="write every result's candidates and the truth to this .npz")
    args = parser.parse_args()
    n_dir = 60 if args.quick else args.n_orientations
    methods = args.methods.split(",")

    model = load_pretrained(matching.DEFAULT_MODEL)
    mol = camphor()
    sym = matching.symmetry_rotations(mol)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lib = matching.build_library(mol, n_dir, model, directory=tmp if args.rebuild else None,
                                     progress=False)
        built = time.perf_counter() - t0
    size_mb = (lib.stacks.nbytes / 2 + lib.descriptors.nbytes / 2) / 1e6  # float16 on disk
    print(f"library: {n_dir} directions, {'built' if args.rebuild else 'built or loaded'} in "
          f"{built:.0f} s, {size_mb:.0f} MB (float16 descriptors + Δf slices)")

    header = (f"{'method':12s} {'set':7s} {'top-1':>6s} {'top-3':>6s} {'median°':>8s} "
              f"{'conf right':>10s} {'conf wrong':>10s} {'ambig.':>6s} {'s/match':>8s}")
    print(header)
    print("-" * len(header))
    calibration: dict[str, tuple[list, list]] = {}
    for method in methods:
        for kind in STANDIN_KINDS:
            stacks = camphor_standin(kind=kind)
            truth = camphor_standin_truth(kind=kind).rotations
            if args.quick:
                stacks, truth = dict(list(stacks.items())[:2]), truth[:2]
            results, times = [], []
            for stack in stacks.values():
                t0 = time.perf_counter()
                results.append(matching.match(stack, model, library=lib, method=method))
                times.append(time.perf_counter() - t0)
            acc = matching.accuracy(results, truth, sym)
            right = acc["errors_top1"] <= matching.SAME_ORIENTATION_DEG
            conf = np.array([r.confidence for r in results])

            def mean(a: np.ndarray) -> str:
                return f"{a.mean():.2f}" if len(a) else "–"

            print(f"{method:12s} {kind:7s} {acc['top1']:6.0%} {acc['top3']:6.0%} "
                  f"{np.median(acc['errors_top1']):8.1f} {mean(conf[right]):>10s} "
                  f"{mean(conf[~right]):>10s} {sum(r.ambiguous for r in results):6d} "
                  f"{statistics.median(times):8.1f}", flush=True)
            rs, ts = calibration.setdefault(method, ([], []))
            rs.extend(results)
            ts.extend(truth)
    print("top-k: share of pseudo-experiments whose best (best of 3) orientation is within 15° "
          "of the truth; conf: mean calibrated confidence of right / wrong top-1 answers")
    if args.save:
        arrays = {}
        for method, (results, truth) in calibration.items():
            for i, (r, t) in enumerate(zip(results, truth, strict=True)):
                arrays[f"{method}/{i}/rotations"] = r.candidate_rotations
                arrays[f"{method}/{i}/scores"] = r.candidate_scores
                arrays[f"{method}/{i}/truth"] = t
        np.savez_compressed(args.save, **arrays)
        print(f"candidates saved to {args.save}")
    if args.calibrate:
        for method, (results, truth) in calibration.items():
            t = matching.calibrate_temperature(results, np.stack(truth), sym)
            print(f"calibrated temperature {method}: {t:.4f}")


if __name__ == "__main__":
    main()
