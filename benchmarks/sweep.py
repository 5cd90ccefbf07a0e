"""Benchmark: one vmapped sweep against a Python loop over the same configurations.

    python benchmarks/sweep.py [--steps 2000] [--repeats 3] [--impl bernoulli]

Trains a grid of 4 dropout rates x 4 seeds (16 configurations) of the
book's standard small MLP on the digits, two ways: ``dl.sweep`` (one
compiled, vmapped program for the whole grid) and a loop calling
``dl.train`` once per configuration (one compiled program per run, reused).
Both are compiled before timing; the two variants are timed interleaved and
the medians reported. The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import jax

import dropoutlib as dl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--impl", default="hash", choices=["bernoulli", "hash"])
    args = parser.parse_args()

    data = dl.load_digits(seed=0)
    config = dl.TrainConfig(
        hidden=tuple(args.hidden), steps=args.steps, eval_every=args.steps // 10,
        optimizer="momentum", batch_size=args.batch_size, impl=args.impl,
    )
    keys, hypers, shape = dl.hyper_grid(range(4), dl.Hyper(rate_input=0.2, learning_rate=0.05), rate_hidden=[0.0, 0.2, 0.4, 0.6])
    n_configs = keys.shape[0]
    per_config = [dl.Hyper(*(float(field[i]) for field in hypers)) for i in range(n_configs)]

    def run_vmap():
        result = dl.sweep(keys, data, hypers, config, grid_shape=shape, progress=False)
        return result.curves["test_acc"]

    def run_loop():
        return [dl.train(keys[i], data, per_config[i], config).curves["test_acc"] for i in range(n_configs)]

    run_vmap(), run_loop()  # compile both
    loop_times, vmap_times = [], []
    for _ in range(args.repeats):
        for runner, times in ((run_loop, loop_times), (run_vmap, vmap_times)):
            start = time.perf_counter()
            jax.block_until_ready(runner())
            times.append(time.perf_counter() - start)
    loop_s, vmap_s = statistics.median(loop_times), statistics.median(vmap_times)
    print(f"{n_configs} configurations x {args.steps} steps, hidden {tuple(args.hidden)}, batch {args.batch_size}, impl {args.impl}")
    print(f"python loop over configurations: {loop_s:.2f} s (median of {args.repeats})")
    print(f"one vmapped sweep:               {vmap_s:.2f} s")
    print(f"speedup: {loop_s / vmap_s:.2f}x")
    print(json.dumps({
        "machine": f"{platform.machine()} {platform.processor() or ''} cpu x{jax.local_device_count()} ({jax.devices()[0].platform})".strip(),
        "n_configs": n_configs, "steps": args.steps, "hidden": args.hidden, "batch_size": args.batch_size, "impl": args.impl,
        "loop_s": round(loop_s, 4), "vmap_s": round(vmap_s, 4), "speedup": round(loop_s / vmap_s, 3),
    }))


if __name__ == "__main__":
    main()
