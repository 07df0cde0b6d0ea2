"""Training and inference throughput of the three models (samples/s at the thesis batch size 30).

Random inputs (B, 128, 128, 10) and targets of the right shapes; the thesis losses
(:func:`afmkit.learn.losses.compile_args`) and Adam(1e-3). Each model first runs ``--warmup`` steps
(tracing, first allocations), then ``--steps`` timed ``train_on_batch`` and ``predict_on_batch``
calls. Run: ``.venv/bin/python benchmarks/bench_training.py [--models dsh es xyz] [--steps 5]``
(set ``KERAS_BACKEND`` to compare backends).
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from afmkit.learn import losses, models


def _batch(kind: str, n: int, size: tuple[int, int, int]) -> tuple:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *size)).astype(np.float32)
    nx, ny, _ = size
    if kind == "dsh":
        return x, tuple(rng.random((n, nx, ny), dtype=np.float32) for _ in range(3))
    if kind == "es":
        return (x, -x), tuple(rng.random((n, nx, ny), dtype=np.float32) for _ in range(2))
    classes = np.zeros((n, nx // 8, ny // 8, 2), np.float32)
    classes[..., 1] = 1.0
    classes[:, ::4, ::3] = (1.0, 0.0)
    offsets = rng.uniform(-0.5, 0.5, (n, nx // 8, ny // 8, 3)).astype(np.float32)
    return x, (classes, offsets)


def _rate(fn, n_samples: int, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return n_samples * steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["dsh", "es", "xyz"])
    parser.add_argument("--batch", type=int, default=30)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--size", type=int, nargs=3, default=list(models.INPUT_SHAPE))
    args = parser.parse_args()
    size = tuple(args.size)

    print(f"backend {keras.backend.backend()}, batch {args.batch}, input {size}")
    print(f"{'model':<6} {'params':>8} {'train samples/s':>16} {'inference samples/s':>20}")
    for kind in args.models:
        model = models.build_model(kind, input_shape=size)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), **losses.compile_args(kind))
        x, y = _batch(kind, args.batch, size)

        def train(model=model, x=x, y=y) -> None:
            model.train_on_batch(x, y)

        def infer(model=model, x=x) -> None:
            model.predict_on_batch(x)

        for _ in range(args.warmup):
            train()
            infer()
        train_rate = _rate(train, args.batch, args.steps)
        infer_rate = _rate(infer, args.batch, args.steps)
        print(f"{kind:<6} {model.count_params():>8,} {train_rate:>16.1f} {infer_rate:>20.1f}")


if __name__ == "__main__":
    main()
