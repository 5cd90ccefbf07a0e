"""Keep-masks: the random object at the heart of dropout.

A mask entry ``r_i ~ Bernoulli(q)`` is True when unit ``i`` is KEPT, with
``q = 1 - p`` for the drop probability ``p`` (the ``rate``). The mean of one
entry is ``q`` and its variance ``q (1 - q) = p q``.

Three generators draw it, chosen by ``impl``:

``"hash"`` (the default)
    a counter-based integer hash of (key, element index), fused into the
    kernel that uses it (:mod:`dropoutlib.hashmask`);
``"philox"``
    Philox4x32-10 of the Random123 family at counter (element index), fused
    the same way (:mod:`dropoutlib.philox`);
``"bernoulli"``
    ``jax.random.bernoulli``, what the peer libraries use: it honours the
    key's own implementation (threefry, rbg, philox) and materializes its
    random bits.

All three give the same distribution and different masks. The two
counter-based ones keep an element when the top 24 bits of its 32 bits fall
below ``round(q 2^24)``: ``P(keep)`` equals ``q`` to within 3e-8, and ``q`` of
exactly 0 or 1 gives an all-False or all-True mask.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_key, check_probability
from dropoutlib.hashmask import hash_bits
from dropoutlib.philox import philox_bits

__all__ = ["IMPLS", "COUNTER_BASED", "keep_mask", "keep_mask_from_q", "keep_threshold"]

IMPLS = ("hash", "philox", "bernoulli")

# Generators whose bits are a pure function of (key, index): cheap to
# recompute, so the backward pass rebuilds the mask instead of storing it.
COUNTER_BASED: dict[str, Callable[[jax.Array, Sequence[int]], jax.Array]] = {
    "hash": hash_bits,
    "philox": philox_bits,
}


def check_impl(impl: object) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    return impl  # type: ignore[return-value]


def keep_threshold(q: ArrayLike) -> jax.Array:
    """``round(q 2^24)`` as uint32: an element is kept when its top 24 bits are below it."""
    q = jnp.clip(jnp.asarray(q, jnp.float32), 0.0, 1.0)
    return jnp.round(q * 2.0**24).astype(jnp.uint32)


def keep_mask_from_q(key: jax.Array, q: ArrayLike, shape: Sequence[int], impl: str) -> jax.Array:
    """The mask for a keep probability ``q`` that is already checked (possibly traced)."""
    shape = tuple(int(s) for s in shape)
    if impl == "bernoulli":
        return jax.random.bernoulli(key, jnp.asarray(q, jnp.float32), shape)
    return (COUNTER_BASED[impl](key, shape) >> 8) < keep_threshold(q)


def keep_mask(key: jax.Array, rate: ArrayLike, shape: Sequence[int], *, impl: str = "hash") -> jax.Array:
    """Sample a boolean keep-mask: each entry True (kept) with probability ``q = 1 - rate``.

    Each entry is an independent ``r_i ~ Bernoulli(q)``, so

    .. math:: E[r_i] = q, \\qquad \\operatorname{Var}[r_i] = p q.

    ``rate = 0`` gives an all-True mask and ``rate = 1`` an all-False one,
    exactly, with every generator.

    Args:
      key: one ``jax.random`` key (a batch of keys is an error; vmap instead).
      rate: the drop probability ``p``; a concrete value outside [0, 1], NaN,
        a bool or a string raises; a traced one is accepted as it is.
      shape: the mask's shape.
      impl: ``"hash"``, ``"philox"`` or ``"bernoulli"`` (see the module docstring).

    Returns:
      A bool array of ``shape``; True means kept.
    """
    check_impl(impl)
    check_key(key)
    check_probability(rate, "rate")
    q = 1.0 - jnp.asarray(rate, jnp.float32)
    return keep_mask_from_q(key, q, shape, impl)
