"""What the compiler says a function costs: memory traffic, operations, buffers.

These numbers come from XLA's analysis of the compiled program, not from a
clock, so they are deterministic and can be shown in the book's checked
outputs; the wall-clock measurements live in ``benchmarks/``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

__all__ = ["compiled_cost", "forward_backward", "residual_bytes"]


def forward_backward(fn: Callable[[jax.Array], jax.Array], x: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The output of ``fn`` at ``x`` and the input cotangent for output cotangent ``g``.

    This is what a training step needs from a layer: forward and backward
    together, so that whatever the backward pass reuses from the forward pass
    is kept alive in between.
    """
    out, vjp = jax.vjp(fn, x)
    return out, vjp(g)[0]


def compiled_cost(fn: Callable[..., Any], *args: Any) -> dict[str, float]:
    """Bytes accessed, operations and temporary-buffer bytes of ``jax.jit(fn)(*args)``.

    ``bytes`` is XLA's count of bytes read and written by the compiled
    program, ``ops`` its count of arithmetic operations (XLA calls them
    flops, integer operations included), ``temp`` the size of the
    temporary buffers it allocates besides its arguments and outputs.
    """
    compiled = jax.jit(fn).lower(*args).compile()
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older JAX returns one dict per device
        cost = cost[0]
    memory = compiled.memory_analysis()
    return {
        "bytes": float(cost.get("bytes accessed", 0.0)),
        "ops": float(cost.get("flops", 0.0)),
        "temp": float(memory.temp_size_in_bytes),
    }


def residual_bytes(vjp_fn: Any) -> int:
    """Bytes of the arrays a ``jax.vjp`` backward function keeps for the backward pass.

    PRNG key arrays count as the size of their raw key data.
    """
    total = 0
    for leaf in jax.tree.leaves(vjp_fn):
        if not hasattr(leaf, "dtype"):
            continue
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        total += int(np.prod(leaf.shape)) * leaf.dtype.itemsize
    return total
