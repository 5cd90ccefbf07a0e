"""Benchmark: what dropout adds to a whole training step, not to one array.

    python benchmarks/training_step.py --out dropoutlib/book/results/training_step_cpu.json

Two networks, each trained with one jitted step (forward, backward and an
``optax.adam`` update), with dropout on the input (rate 0.2) and on every
hidden layer (rate 0.5):

* ``mlp784``: 784-1024-1024-10, batch 256, random inputs and labels;
* ``digits``: the book's digits MLP, 64-256-256-10, batch 64, on a batch of the
  digits training split (the set-up of chapter 1);
* ``mlp784_b8192``: the first with batch 8192, to fill a GPU (``--models``;
  not run by default).

Dropout variants, the same network code with a different dropout function:
``none`` (no dropout: the reference), ``hash`` (the default), ``philox``,
``bernoulli/threefry2x32`` and ``bernoulli/philox4x32`` (``impl="bernoulli"``
with a key of that implementation), and ``flax`` (``flax.linen.Dropout``).
Each step takes the key as an argument and folds in the step number and the
layer, as training does; steps are chained (each call gets the previous
call's parameters). Each variant's time is reported as min/median/max
milliseconds per step and as min/median/max of its ratio to the step
without dropout timed in the same round (:mod:`benchmarks.harness`). The last
printed line is the JSON.
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
import optax

import dropoutlib as dl
import dropoutlib.experiments as dx
from benchmarks.harness import Sampler, interleaved, machine_info, spread, summarize

RATES = (0.2, 0.5)  # input, hidden
MODELS = {
    "mlp784": {"sizes": (784, 1024, 1024, 10), "batch": 256, "data": "random"},
    "digits": {"sizes": (64, 256, 256, 10), "batch": 64, "data": "digits"},
    # A batch large enough to keep a GPU busy (gpu_run.sh); too slow to be the CPU default.
    "mlp784_b8192": {"sizes": (784, 1024, 1024, 10), "batch": 8192, "data": "random"},
}
CPU_MODELS = ("mlp784", "digits")


def dropout_functions() -> dict[str, tuple[Callable, str]]:
    """name -> (drop(key, h, rate), key implementation)."""
    out: dict[str, tuple[Callable, str]] = {
        "none": (lambda key, h, rate: h, "threefry2x32"),
        "hash": (lambda key, h, rate: dl.dropout(key, h, rate, impl="hash"), "threefry2x32"),
        "philox": (lambda key, h, rate: dl.dropout(key, h, rate, impl="philox"), "threefry2x32"),
        "bernoulli/threefry2x32": (lambda key, h, rate: dl.dropout(key, h, rate, impl="bernoulli"), "threefry2x32"),
        "bernoulli/philox4x32": (lambda key, h, rate: dl.dropout(key, h, rate, impl="bernoulli"), "philox4x32"),
    }
    try:
        import flax.linen as nn

        def flax_drop(key, h, rate):
            return nn.Dropout(rate=rate, deterministic=False).apply({}, h, rngs={"dropout": key})

        out["flax"] = (flax_drop, "threefry2x32")
    except ImportError:
        pass
    return out


def make_step(drop: Callable, optimizer: optax.GradientTransformation, steps_per_call: int = 1) -> Callable:
    """A jitted call ``(params, opt_state, key, step, x, y) -> (params, opt_state, loss)`` of ``steps_per_call`` steps."""

    def loss_fn(params, key, x, y):
        h = x
        for layer, p in enumerate(params):
            rate = RATES[0] if layer == 0 else RATES[1]
            h = drop(jax.random.fold_in(key, layer), h, rate) @ p["w"] + p["b"]
            if layer < len(params) - 1:
                h = jax.nn.relu(h)
        return dx.cross_entropy(h, y)

    def one_step(params, opt_state, key, step_number, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, jax.random.fold_in(key, step_number), x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    if steps_per_call == 1:
        return jax.jit(one_step)

    # Several steps in one compiled loop: on a GPU a small step takes less time
    # than Python takes to dispatch it, and the dispatch would hide dropout's cost.
    @jax.jit
    def steps(params, opt_state, key, first_step, x, y):
        def body(carry, i):
            params, opt_state, _ = one_step(*carry, key, first_step + i, x, y)
            return (params, opt_state), None

        (params, opt_state), _ = jax.lax.scan(
            body, (params, opt_state), jnp.arange(steps_per_call, dtype=jnp.uint32))
        return params, opt_state, loss_fn(params, key, x, y)

    return steps


def batch(model: str, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    spec = MODELS[model]
    if spec["data"] == "random":
        kx, ky = jax.random.split(key)
        return jax.random.normal(kx, (spec["batch"], spec["sizes"][0])), jax.random.randint(ky, (spec["batch"],), 0, 10)
    data = dx.load_digits(seed=0)
    return data.train.x[: spec["batch"]], data.train.y[: spec["batch"]]


def measure(model: str, repeats: int, steps_per_call: int = 1) -> list[dict]:
    spec = MODELS[model]
    x, y = batch(model, jax.random.key(1))
    optimizer = optax.adam(1e-3)
    params0 = dx.init_mlp(jax.random.key(0), spec["sizes"])
    samplers = {}
    for name, (drop, key_impl) in dropout_functions().items():
        step = make_step(drop, optimizer, steps_per_call)
        key = jax.random.key(2, impl=key_impl)
        state = {"params": params0, "opt": optimizer.init(params0), "n": 0}

        def call(step=step, key=key, state=state):
            state["params"], state["opt"], loss = step(state["params"], state["opt"], key, jnp.uint32(state["n"]), x, y)
            state["n"] += steps_per_call
            return loss

        samplers[name] = Sampler(call, jax.block_until_ready, min_seconds=0.1)
    times = {name: [t / steps_per_call for t in ts] for name, ts in interleaved(samplers, repeats).items()}
    rows = []
    for name in samplers:
        row = {"model": model, "sizes": list(spec["sizes"]), "batch": spec["batch"], "name": name,
               "steps_per_call": steps_per_call,
               "key_impl": dropout_functions()[name][1], **summarize(times[name], times["none"]),
               "faults_per_call": spread(samplers[name].faults, 1)}
        rows.append(row)
        print(f"{model:>7} {name:>22}: {row['ms']['median']:8.3f} ms per step, "
              f"{row['ratio']['min']:.3f} / {row['ratio']['median']:.3f} / {row['ratio']['max']:.3f} x no dropout",
              flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(CPU_MODELS), choices=list(MODELS))
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--steps-per-call", type=int, default=1,
                        help="steps per jitted call, in a lax.scan (keeps a GPU from waiting on Python)")
    parser.add_argument("--out", help="also write the JSON object to this file")
    args = parser.parse_args()
    result = {"machine": machine_info(), "rates": {"input": RATES[0], "hidden": RATES[1]}, "optimizer": "adam(1e-3)",
              "repeats": args.repeats, "steps_per_call": args.steps_per_call, "rows": []}
    for model in args.models:
        result["rows"] += measure(model, args.repeats, args.steps_per_call)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
