"""Benchmark: dropout on one array, as a multiple of the time of a copy of that array.

    python benchmarks/dropout_throughput.py --out dropoutlib/book/results/throughput_cpu.json

(``--repeats 3 --sizes 16`` for a quick try.) Then refresh chapter 8, which
shows the file. For float32 and bfloat16 arrays of 2^20 and 2^24 elements,
side by side in one process (:mod:`benchmarks.harness`):

* ``copy``: ``x * 2``, the memory roofline (one read, one write);
* ``hash`` and ``philox``: ``dl.dropout(key, x, 0.5, impl=...)``, the two
  counter-based masks, fused, recomputed in the backward pass;
* ``bernoulli/<key impl>``: ``impl="bernoulli"`` (``jax.random.bernoulli``)
  with a key of every implementation this JAX offers (float32; in bfloat16
  the default ``threefry2x32`` and ``philox4x32`` only);
* ``flax``, ``equinox``: their Dropout layers; ``torch`` and ``torch_copy``
  (``t * 2`` in torch), where installed (``requirements-bench.txt``);
* two probes of what bounds the fused masks, forward only:
  ``hash_arith`` and ``philox_arith`` compute the keep mask of every element
  and write it as one byte per element, reading no array: the integer
  arithmetic with little memory traffic.

The key is an argument of every jitted function, never a closure constant.
Forward is one call; forward+backward returns the output and the input
cotangent for a given output cotangent (``jax.vjp``; ``backward()`` in torch).
Each variant's time is reported as min/median/max milliseconds and as
min/median/max of its ratio to the copy of the same framework, timed in the
same round, with the minor page faults per call (:mod:`benchmarks.harness`).
``philox_over_hash`` is the per-round ratio of the two fused
masks, which decides the default generator. The last printed line is the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax
import jax.numpy as jnp

import dropoutlib as dl
from benchmarks.harness import Sampler, interleaved, machine_info, spread, summarize
from dropoutlib.book import forward_backward
from dropoutlib.hashmask import hash_bits
from dropoutlib.masks import keep_threshold
from dropoutlib.philox import philox_bits

RATE = 0.5
KEY_IMPLS = ("threefry2x32", "threefry4x32", "philox2x32", "philox4x32", "rbg", "unsafe_rbg")
BF16_KEY_IMPLS = ("threefry2x32", "philox4x32")


def _arith(bits: Callable) -> Callable:
    # The mask alone, written as one byte per element: the arithmetic with
    # almost no memory traffic (no array read; an eighth of a float32 copy's
    # bytes written). An elementwise loop, so XLA parallelizes it like the
    # dropout kernel itself; a reduction (counting the kept elements) would
    # run on one thread and overstate the arithmetic.
    def mask_only(key, x):
        return (bits(key, x.shape) >> 8) < keep_threshold(1 - RATE)

    return mask_only


def jax_variants(dtype_name: str) -> dict[str, tuple[Callable, str, bool]]:
    """name -> (fn(key, x), key implementation, has a backward pass)."""
    variants: dict[str, tuple[Callable, str, bool]] = {
        "copy": (lambda key, x: x * 2, "threefry2x32", True),
        "hash": (lambda key, x: dl.dropout(key, x, RATE, impl="hash"), "threefry2x32", True),
        "philox": (lambda key, x: dl.dropout(key, x, RATE, impl="philox"), "threefry2x32", True),
    }
    for key_impl in KEY_IMPLS if dtype_name == "float32" else BF16_KEY_IMPLS:
        variants[f"bernoulli/{key_impl}"] = (lambda key, x: dl.dropout(key, x, RATE, impl="bernoulli"), key_impl, True)
    try:
        import flax.linen as nn

        layer = nn.Dropout(rate=RATE, deterministic=False)
        variants["flax"] = (lambda key, x: layer.apply({}, x, rngs={"dropout": key}), "threefry2x32", True)
    except ImportError:
        pass
    try:
        import equinox as eqx

        eqx_layer = eqx.nn.Dropout(p=RATE)
        variants["equinox"] = (lambda key, x: eqx_layer(x, key=key), "threefry2x32", True)
    except ImportError:
        pass
    variants["hash_arith"] = (_arith(hash_bits), "threefry2x32", False)
    variants["philox_arith"] = (_arith(philox_bits), "threefry2x32", False)
    return variants


def jax_samplers(dtype_name: str, n: int) -> dict[str, dict]:
    x = jnp.ones((n,), jnp.dtype(dtype_name))
    g = jnp.ones_like(x)
    out = {}
    for name, (fn, key_impl, has_backward) in jax_variants(dtype_name).items():
        key = jax.random.key(0, impl=key_impl)
        forward = jax.jit(fn)
        entry = {"framework": "jax", "key_impl": key_impl, "fwd": Sampler(lambda f=forward, k=key: f(k, x), jax.block_until_ready)}
        if has_backward:
            fwdbwd = jax.jit(lambda key, x, g, fn=fn: forward_backward(lambda x: fn(key, x), x, g))
            entry["fwdbwd"] = Sampler(lambda f=fwdbwd, k=key: f(k, x, g), jax.block_until_ready)
        out[name] = entry
    return out


def torch_samplers(dtype_name: str, n: int) -> dict[str, dict]:
    try:
        import torch
    except ImportError:
        return {}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    x = torch.ones(n, dtype=dtype, device=device)
    g = torch.ones(n, dtype=dtype, device=device)
    sync = (lambda _: torch.cuda.synchronize()) if device == "cuda" else (lambda _: None)
    fns = {"torch": lambda t: torch.nn.functional.dropout(t, RATE, training=True), "torch_copy": lambda t: t * 2}
    out = {}
    for name, fn in fns.items():
        def fwd(fn=fn):
            with torch.no_grad():
                return fn(x)

        def fwdbwd(fn=fn):
            leaf = x.detach().requires_grad_(True)
            fn(leaf).backward(g)
            return leaf.grad

        out[name] = {"framework": "torch", "key_impl": None, "fwd": Sampler(fwd, sync), "fwdbwd": Sampler(fwdbwd, sync)}
    return out


def measure(dtype_name: str, log2n: int, repeats: int) -> tuple[list[dict], dict]:
    n = 1 << log2n
    entries = {**jax_samplers(dtype_name, n), **torch_samplers(dtype_name, n)}
    samplers = {(name, mode): entry[mode] for name, entry in entries.items() for mode in ("fwd", "fwdbwd") if mode in entry}
    times = interleaved(samplers, repeats)
    rows = []
    for name, entry in entries.items():
        copy = "torch_copy" if entry["framework"] == "torch" else "copy"
        row = {"name": name, "framework": entry["framework"], "key_impl": entry["key_impl"], "dtype": dtype_name, "n": n}
        for mode in ("fwd", "fwdbwd"):
            if (name, mode) in times:
                row[mode] = summarize(times[(name, mode)], times[(copy, mode)])
                row[mode]["faults_per_call"] = spread(samplers[(name, mode)].faults, 1)
            else:
                row[mode] = None
        rows.append(row)
        fwd, fb = row["fwd"], row["fwdbwd"]
        line = f"{dtype_name:>9} 2^{log2n} {name:>22}: fwd {fwd['ms']['median']:9.3f} ms ({fwd['ratio']['median']:6.2f}x copy)"
        if fb:
            line += f"  fwd+bwd {fb['ms']['median']:9.3f} ms ({fb['ratio']['median']:6.2f}x copy)"
        print(line, flush=True)
    versus = {
        mode: spread([p / h for p, h in zip(times[("philox", mode)], times[("hash", mode)])], 3,
                     rounds=True)
        for mode in ("fwd", "fwdbwd")
    }
    print(f"{dtype_name:>9} 2^{log2n} philox / hash: fwd {versus['fwd']}, fwd+bwd {versus['fwdbwd']}", flush=True)
    return rows, {"dtype": dtype_name, "n": n, **versus}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 24], help="log2 of the element counts")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", help="also write the JSON object to this file")
    args = parser.parse_args()

    result = {"machine": machine_info(), "rate": RATE, "repeats": args.repeats, "rows": [], "philox_over_hash": []}
    for dtype_name in args.dtypes:
        for log2n in args.sizes:
            rows, versus = measure(dtype_name, log2n, args.repeats)
            result["rows"] += rows
            result["philox_over_hash"].append(versus)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
