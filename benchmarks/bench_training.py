"""Training and inference throughput of the three models (samples/s at the thesis batch size 30).

Random inputs (B, 128, 128, 10) and targets of the right shapes; the thesis losses
(:func:`afmkit.learn.losses.compile_args`) and Adam(1e-3). Each model first runs ``--warmup`` steps
(tracing, first allocations), then ``--steps`` timed ``train_on_batch`` and ``predict_on_batch``
calls. Run: ``.venv/bin/python benchmarks/bench_training.py [--models dsh es xyz] [--steps 5]``
(set ``KERAS_BACKEND`` to compare backends).

``--options`` measures the CPU options for DSH training side by side, each in a fresh process
(so thread and backend settings take effect) and in alternating rounds (so a load change on the
machine hits every option alike): the setting before issue 12 (float32, symmetric padding by
concatenation: the baseline), float32 with the backend's native symmetric pad (today's default),
Keras's ``mixed_bfloat16`` policy with either padding, XLA ``jit_compile``, batch sizes 15 and 60,
one inter-op thread, oneDNN off, and the JAX backend.
For each it prints training samples/s (median over rounds), the ratio to the baseline, and the loss
after ``--loss-steps`` steps on one fixed batch (same seed), to see whether a faster option keeps
the optimisation. ``--profile`` prints where a DSH forward pass spends its time, layer by layer.
``--accuracy`` trains DSH on simulated light-set shards (written once to ``--shards``) in float32
and in ``mixed_bfloat16`` with two seeds each and prints the validation loss (augmented with a
fixed seed, as training's validation) after the same number of steps, so a faster precision is
adopted only if its loss is within the seed-to-seed spread. ``--campaign PREFIX`` times the real
training loop (shard loading, augmentation, fit: one chunk of
:func:`afmkit.learn.campaign.run_campaign`) in float32 and ``mixed_bfloat16``, alternating fresh
processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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


#: The training setting before issue 12: float32 and padding by concatenation on every backend.
BASELINE = "f32, concat pad (old)"

#: name → (environment changes, arguments of one measurement run); all but those marked
#: "concat pad" use the backend's native symmetric pad (the default since issue 12)
OPTIONS: dict[str, tuple[dict[str, str], list[str]]] = {
    BASELINE: ({}, ["--concat-pad"]),
    "float32": ({}, []),
    "mixed_bfloat16": ({}, ["--policy", "mixed_bfloat16"]),
    "bf16, concat pad": ({}, ["--policy", "mixed_bfloat16", "--concat-pad"]),
    "jit_compile (XLA)": ({}, ["--jit"]),
    "batch 15": ({}, ["--batch", "15"]),
    "batch 60": ({}, ["--batch", "60"]),
    "inter-op 1 thread": ({"TF_NUM_INTEROP_THREADS": "1"}, []),
    "oneDNN off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, []),
    "JAX backend": ({"KERAS_BACKEND": "jax"}, []),
}


def one_run(args: argparse.Namespace) -> dict:
    """Train DSH on one fixed random batch: samples/s and the loss after ``loss_steps`` steps."""
    if args.concat_pad:
        models._NATIVE_SYMMETRIC_PAD = ()  # the padding of before issue 12
    if args.policy:
        keras.mixed_precision.set_dtype_policy(args.policy)
    keras.utils.set_random_seed(0)
    size = tuple(args.size)
    model = models.build_model("dsh", input_shape=size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=bool(args.jit),
                  **losses.compile_args("dsh"))  # fmt: skip
    x, y = _batch("dsh", args.batch, size)
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    rate = _rate(lambda: model.train_on_batch(x, y), args.batch, args.steps)
    for _ in range(max(args.loss_steps - args.warmup - args.steps, 0)):
        model.train_on_batch(x, y)
    loss = float(np.atleast_1d(model.train_on_batch(x, y))[0])
    return {"rate": rate, "loss": loss, "backend": keras.backend.backend()}


def accuracy_run(args: argparse.Namespace) -> dict:
    """Train DSH on the shards in ``args.shards`` (float32 or ``args.policy``); validation loss."""
    from afmkit.learn.data import ShardDataset

    if args.policy:
        keras.mixed_precision.set_dtype_policy(args.policy)
    keras.utils.set_random_seed(args.seed)
    model = models.build_model("dsh")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **losses.compile_args("dsh"))
    train = ShardDataset(f"{args.shards}/train", mode="dsh", seed=args.seed)
    val = ShardDataset(f"{args.shards}/val", mode="dsh", shuffle=False, seed=0)
    t0 = time.perf_counter()
    model.fit(train, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - t0
    result = model.evaluate(val, return_dict=True, verbose=0)
    return {"val_loss": float(result["loss"]), "seconds": seconds,
            "samples": args.epochs * sum(len(train[i][0]) for i in range(len(train)))}  # fmt: skip


def compare_accuracy(args: argparse.Namespace) -> None:
    """Write the shards once, then float32 and mixed_bfloat16 runs with two seeds each."""
    from afmkit.learn.data import AFMDataset, write_shards
    from afmkit.structures.molecule_sets import molecule_set

    for split, size in (("train", args.molecules), ("val", max(args.molecules // 5, 4))):
        data = AFMDataset(molecule_set("light", split, size), "dsh", batch_size=30, seed=1,
                          n_rotations=2)  # fmt: skip
        write_shards(data, f"{args.shards}/{split}", progress=False)
    rows = []
    for policy in ("", "mixed_bfloat16"):
        for seed in (0, 1):
            cmd = [sys.executable, __file__, "--one-accuracy", "--shards", args.shards,
                   "--epochs", str(args.epochs), "--seed", str(seed)]  # fmt: skip
            if policy:
                cmd += ["--policy", policy]
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            run = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((policy or "float32", seed, run))
            print(f"{policy or 'float32':<15} seed {seed}: validation loss {run['val_loss']:.4f} "
                  f"after {run['samples']} samples, {run['samples'] / run['seconds']:.1f} "
                  "samples/s", flush=True)  # fmt: skip


def campaign_run(args: argparse.Namespace) -> dict:
    """One chunk of a DSH campaign on real shards (loading, augmentation, fit): samples/s."""
    import tempfile

    from afmkit.learn.campaign import CampaignConfig, run_campaign

    with tempfile.TemporaryDirectory() as tmp:
        n = args.campaign_samples
        config = CampaignConfig(mode="dsh", shards=args.campaign, until_samples=n, directory=tmp,
                                chunk_samples=n, held_out=2,
                                precision=args.policy or "float32")  # fmt: skip
        record = run_campaign(config, log=lambda _: None, progress=False)
    return {"rate": record["curve"][-1]["train_samples_per_s"]}


def compare_campaign(args: argparse.Namespace) -> None:
    """float32 and mixed_bfloat16 campaign chunks, alternating fresh processes."""
    rates: dict[str, list[float]] = {"float32": [], "mixed_bfloat16": []}
    for r in range(args.rounds):
        for policy in rates:
            cmd = [sys.executable, __file__, "--one-campaign", "--campaign", args.campaign,
                   "--campaign-samples", str(args.campaign_samples),
                   "--policy", policy]  # fmt: skip
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            rates[policy].append(json.loads(out.stdout.strip().splitlines()[-1])["rate"])
            print(f"round {r + 1}: {policy:<15} {rates[policy][-1]:6.1f} samples/s", flush=True)
    base = statistics.median(rates["float32"])
    print(f"\nDSH campaign chunks of {args.campaign_samples} samples on {args.campaign}-train "
          "(shard loading, augmentation and fit; native symmetric pad)")  # fmt: skip
    for policy, values in rates.items():
        rate = statistics.median(values)
        print(f"{policy:<15} {rate:8.1f} samples/s  {rate / base:5.2f}× float32")


def compare_options(args: argparse.Namespace) -> None:
    """Each option in its own process, ``--rounds`` alternating rounds; print the table."""
    names = args.only or list(OPTIONS)
    results: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            env_changes, extra = OPTIONS[name]
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env_changes}
            cmd = [sys.executable, __file__, "--one", "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--loss-steps", str(args.loss_steps),
                   *extra]  # fmt: skip
            if "--batch" not in extra:
                cmd += ["--batch", str(args.batch)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"round {r + 1}: {name} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}: {name:<22} {results[name][-1]['rate']:6.1f} samples/s",
                  flush=True)  # fmt: skip
    base_runs = results.get(BASELINE) or []
    base = statistics.median(x["rate"] for x in base_runs) if base_runs else None
    print(f"\nDSH training, {args.rounds} rounds × {args.steps} steps, input {tuple(args.size)}")
    print(f"{'option':<22} {'samples/s':>10} {'× old':>10} {'loss after':>11}")
    for name, runs in results.items():
        if not runs:
            print(f"{name:<22} {'failed':>10}")
            continue
        rate = statistics.median(x["rate"] for x in runs)
        ratio = f"{rate / base:10.2f}" if base else f"{'':>10}"
        print(f"{name:<22} {rate:10.1f} {ratio} {runs[-1]['loss']:11.4f}")


def profile_layers(args: argparse.Namespace) -> None:
    """Forward time of each DSH layer on its own input (batch ``--batch``), largest first."""
    size = tuple(args.size)
    model = models.build_model("dsh", input_shape=size)
    x = _batch("dsh", args.batch, size)[0]
    # one forward pass, layer by layer, each timed on its own input
    values = {id(model.inputs[0]): keras.ops.convert_to_tensor(x)}
    total = 0.0
    rows = []
    for layer in model.layers[1:]:
        node = layer._inbound_nodes[0]
        args_in = [values[id(t)] for t in node.input_tensors]
        arg = args_in[0] if len(args_in) == 1 else args_in
        layer(arg)  # warm
        t0 = time.perf_counter()
        for _ in range(args.steps):
            out = layer(arg)
        dt = (time.perf_counter() - t0) / args.steps
        total += dt
        rows.append((dt, layer.name, type(layer).__name__, tuple(keras.ops.shape(out))))
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for t, v in zip(node.output_tensors, outs, strict=True):
            values[id(t)] = v
    print(f"DSH forward, batch {args.batch}: {total * 1e3:.0f} ms summed over layers")
    print(f"{'ms':>7} {'share':>6}  layer")
    for dt, name, kind, shape in sorted(rows, reverse=True)[: args.top]:
        print(f"{dt * 1e3:7.1f} {dt / total:6.1%}  {name} ({kind}) → {shape}")
    by_kind: dict[str, float] = {}
    for dt, _, kind, _ in rows:
        by_kind[kind] = by_kind.get(kind, 0.0) + dt
    ranked = sorted(by_kind.items(), key=lambda kv: -kv[1])
    print("by layer type: " + ", ".join(f"{k} {v / total:.0%}" for k, v in ranked))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["dsh", "es", "xyz"])
    parser.add_argument("--batch", type=int, default=30)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--size", type=int, nargs=3, default=list(models.INPUT_SHAPE))
    parser.add_argument("--options", action="store_true", help="compare the CPU options (DSH)")
    parser.add_argument("--only", nargs="+", choices=list(OPTIONS), help="with --options")
    parser.add_argument("--rounds", type=int, default=3, help="with --options")
    parser.add_argument("--loss-steps", type=int, default=20, help="with --options")
    parser.add_argument("--profile", action="store_true", help="per-layer forward profile (DSH)")
    parser.add_argument("--top", type=int, default=12, help="with --profile: layers shown")
    parser.add_argument("--accuracy", action="store_true",
                        help="float32 vs mixed_bfloat16 validation loss on shards")  # fmt: skip
    parser.add_argument("--shards", default="/tmp/afmkit-bench-training", help="with --accuracy")
    parser.add_argument("--molecules", type=int, default=60, help="with --accuracy: training")
    parser.add_argument("--epochs", type=int, default=4, help="with --accuracy")
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--one-accuracy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--policy", default="", help=argparse.SUPPRESS)
    parser.add_argument("--jit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--concat-pad", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--campaign", default=None, metavar="PREFIX",
                        help="float32 vs mixed_bfloat16 in real campaign chunks on these shards")
    parser.add_argument("--campaign-samples", type=int, default=1200, help="with --campaign")
    parser.add_argument("--one-campaign", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args)))
        return
    if args.one_campaign:
        print(json.dumps(campaign_run(args)))
        return
    if args.campaign:
        compare_campaign(args)
        return
    if args.one_accuracy:
        print(json.dumps(accuracy_run(args)))
        return
    if args.accuracy:
        compare_accuracy(args)
        return
    if args.options:
        compare_options(args)
        return
    if args.profile:
        profile_layers(args)
        return
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
