"""Benchmark: how close does dropout come to the speed of a memory copy?

    python benchmarks/dropout_throughput.py [--sizes 20 24] [--repeats 15] [--out FILE]

With ``--out dropoutlib/results/throughput_cpu.json`` it refreshes the
figures that the performance chapter shows (then refresh that notebook).

For float32 and bfloat16 arrays of 2^20 and 2^24 elements, times side by side:

* ``copy``: ``x * 2``, the memory roofline (one read, one write);
* ``bernoulli``: ``dl.dropout(..., impl="bernoulli")`` (``jax.random.bernoulli``);
* ``fast``: ``dl.dropout(..., impl="hash")`` (counter-based mask, fused,
  recomputed in the backward pass);
* ``flax``, ``equinox``, ``torch`` and ``torch_copy`` (``t * 2`` in torch),
  where installed (requirements-bench.txt).

Forward is one call; forward+backward is the output and the input cotangent
for a given output cotangent (``jax.vjp``; ``backward()`` in torch). All
variants of one (dtype, size) are timed interleaved, each sample a loop long
enough to dwarf timer noise, and medians are reported as milliseconds per
call and as ratios to the copy of the same framework. The last printed line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

import dropoutlib as dl

RATE = 0.5


def _jax_variants(key) -> dict[str, Callable]:
    variants = {
        "copy": lambda x: x * 2,
        "bernoulli": lambda x: dl.dropout(key, x, RATE, impl="bernoulli"),
        "fast": lambda x: dl.dropout(key, x, RATE, impl="hash"),
    }
    try:
        import flax.linen as nn

        layer = nn.Dropout(rate=RATE, deterministic=False)
        variants["flax"] = lambda x: layer.apply({}, x, rngs={"dropout": key})
    except ImportError:
        pass
    try:
        import equinox as eqx

        eqx_layer = eqx.nn.Dropout(p=RATE)
        variants["equinox"] = lambda x: eqx_layer(x, key=key)
    except ImportError:
        pass
    return variants


def _time(call: Callable[[], object], sync: Callable[[object], None], min_seconds: float = 0.05) -> Callable[[], float]:
    """Return a sampler: each sample runs ``call`` enough times to last ``min_seconds``."""
    sync(call())
    start = time.perf_counter()
    sync(call())
    once = max(time.perf_counter() - start, 1e-6)
    loops = max(1, int(min_seconds / once))

    def sample() -> float:
        # One untimed call first: after another variant ran, the allocator may
        # have to fault in fresh pages for this one's buffers, which is not
        # the cost of the operation.
        sync(call())
        start = time.perf_counter()
        for _ in range(loops):
            out = call()
        sync(out)
        return (time.perf_counter() - start) / loops * 1e3

    return sample


def _torch_samplers(dtype_name: str, n: int):
    try:
        import torch
    except ImportError:
        return {}, None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    x = torch.ones(n, dtype=dtype, device=device)
    g = torch.ones(n, dtype=dtype, device=device)
    sync = (lambda _: torch.cuda.synchronize()) if device == "cuda" else (lambda _: None)
    fns = {"torch": lambda t: torch.nn.functional.dropout(t, RATE, training=True), "torch_copy": lambda t: t * 2}
    samplers = {}
    for name, fn in fns.items():
        def fwd(fn=fn):
            with torch.no_grad():
                return fn(x)

        def fwdbwd(fn=fn):
            leaf = x.detach().requires_grad_(True)
            out = fn(leaf)
            out.backward(g)
            return leaf.grad

        samplers[name] = (_time(fwd, sync), _time(fwdbwd, sync))
    return samplers, ("gpu" if device == "cuda" else "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 24], help="log2 of the element counts")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", help="also write the JSON object to this file")
    args = parser.parse_args()

    key = jax.random.key(0)
    jax_device = "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
    rows = []
    for dtype_name in args.dtypes:
        for log2n in args.sizes:
            n = 1 << log2n
            x = jnp.ones((n,), jnp.dtype(dtype_name))
            g = jnp.ones_like(x)
            samplers = {}
            for name, fn in _jax_variants(key).items():
                forward = jax.jit(fn)
                fwdbwd = jax.jit(lambda x, g, fn=fn: dl.forward_backward(fn, x, g))
                samplers[name] = (
                    _time(lambda f=forward: f(x), jax.block_until_ready),
                    _time(lambda f=fwdbwd: f(x, g), jax.block_until_ready),
                    jax_device,
                )
            torch_samplers, torch_device = _torch_samplers(dtype_name, n)
            for name, (fwd, fb) in torch_samplers.items():
                samplers[name] = (fwd, fb, torch_device)
            times = {name: ([], []) for name in samplers}
            for _ in range(args.repeats):  # interleaved: every variant once per round
                for name, (fwd, fb, _) in samplers.items():
                    times[name][0].append(fwd())
                    times[name][1].append(fb())
            medians = {name: (statistics.median(f), statistics.median(b)) for name, (f, b) in times.items()}
            for name, (fwd_ms, fb_ms) in medians.items():
                copy = medians["torch_copy" if name.startswith("torch") else "copy"]
                rows.append({
                    "name": name, "device": samplers[name][2], "dtype": dtype_name, "n": n,
                    "fwd_ms": round(fwd_ms, 4), "fwdbwd_ms": round(fb_ms, 4),
                    "fwd_ratio_to_copy": round(fwd_ms / copy[0], 3), "fwdbwd_ratio_to_copy": round(fb_ms / copy[1], 3),
                })
                print(f"{dtype_name:>9} 2^{log2n} {name:>10}: fwd {fwd_ms:9.3f} ms ({fwd_ms / copy[0]:5.2f}x copy)"
                      f"  fwd+bwd {fb_ms:9.3f} ms ({fb_ms / copy[1]:5.2f}x copy)", flush=True)
    devices = jax.devices()
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cpu cores, jax {jax.__version__} on {devices[0].device_kind}"
    result = {"machine": machine, "rows": rows}
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
