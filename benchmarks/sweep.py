"""Benchmark: one vmapped sweep against a Python loop over the same configurations.

    python benchmarks/sweep.py --out dropoutlib/book/results/sweep_cpu.json

Trains a grid of 4 dropout rates x 4 seeds (16 configurations) of a small MLP
on the digits two ways: ``dx.sweep`` (one compiled, vmapped program for the
whole grid, its configurations sharded over the devices) and a loop calling
``dx.train`` once per configuration (one compiled program, reused). Both are
compiled before timing and timed interleaved, min/median/max over repeats.

It runs twice, each time in a fresh subprocess: on the host as JAX sees it
(one CPU device) and with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``
(four CPU devices sharing the same cores, so the sweep is sharded four ways).
The last printed line is the JSON with both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent


def measure(args: argparse.Namespace) -> dict:
    import time

    import jax

    import dropoutlib.experiments as dx
    from benchmarks.harness import machine_info, spread

    data = dx.load_digits(seed=0)
    config = dx.TrainConfig(
        hidden=tuple(args.hidden), steps=args.steps, eval_every=args.steps // 10,
        optimizer="momentum", batch_size=args.batch_size, impl=args.impl,
    )
    base = dx.Hyper(rate_input=0.2, learning_rate=0.05)
    keys, hypers, shape = dx.hyper_grid(range(4), base, rate_hidden=[0.0, 0.2, 0.4, 0.6])
    n_configs = keys.shape[0]
    per_config = [dx.Hyper(*(float(field[i]) for field in hypers)) for i in range(n_configs)]

    def run_vmap():
        return dx.sweep(keys, data, hypers, config, grid_shape=shape).curves["test_acc"]

    def run_loop():
        return [dx.train(keys[i], data, per_config[i], config).curves["test_acc"] for i in range(n_configs)]

    vmapped, looped = run_vmap(), run_loop()  # compile both
    max_difference = float(abs(vmapped.reshape(n_configs, -1) - jax.numpy.stack(looped)).max())
    times = {"loop": [], "vmap": []}
    for round_ in range(args.repeats):
        order = [("loop", run_loop), ("vmap", run_vmap)][:: 1 if round_ % 2 == 0 else -1]
        for name, runner in order:
            start = time.perf_counter()
            jax.block_until_ready(runner())
            times[name].append(time.perf_counter() - start)
    return {
        "devices": jax.device_count(),
        "machine": machine_info(),
        "n_configs": n_configs, "steps": args.steps, "hidden": args.hidden, "batch_size": args.batch_size,
        "impl": args.impl,
        "loop_s": spread(times["loop"], 3), "vmap_s": spread(times["vmap"], 3),
        "speedup": spread([a / b for a, b in zip(times["loop"], times["vmap"])], 3),
        "max_test_acc_difference": max_difference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--impl", default="hash", choices=["hash", "philox", "bernoulli"])
    parser.add_argument("--device-counts", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="also write the JSON object to this file")
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(args)))
        return
    runs = []
    for count in args.device_counts:
        env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
        flags = [f for f in env.get("XLA_FLAGS", "").split() if "force_host_platform_device_count" not in f]
        if count > 1:
            flags.append(f"--xla_force_host_platform_device_count={count}")
        env["XLA_FLAGS"] = " ".join(flags)
        child = [sys.executable, str(Path(__file__).resolve()), "--child", "--steps", str(args.steps),
                 "--repeats", str(args.repeats), "--batch-size", str(args.batch_size), "--impl", args.impl,
                 "--hidden", *map(str, args.hidden)]
        done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
        run = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(run)
        print(f"{run['devices']} device(s): loop {run['loop_s']['median']:.2f} s, vmapped sweep "
              f"{run['vmap_s']['median']:.2f} s, speedup {run['speedup']['median']:.2f}x "
              f"(min {run['speedup']['min']:.2f}, max {run['speedup']['max']:.2f})", flush=True)
    result = {"runs": runs}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
