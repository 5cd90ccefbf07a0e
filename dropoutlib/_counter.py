"""What a counter-based mask is a function of: the key's words and the element's index.

Both counter-based generators (:mod:`dropoutlib.hashmask`,
:mod:`dropoutlib.philox`) compute an element's bits from the JAX key and the
element's row-major flat index alone. The index is a 64-bit number held in
two uint32 words ``(lo, hi)``, because XLA's integer arithmetic is 32-bit
wide on every backend. ``hi`` is a static zero for arrays of fewer than 2^32
elements, so they pay nothing for it; larger arrays get exact 64-bit
indices (products and sums with carries) instead of wrapping.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

__all__ = ["flat_index", "index_words", "key_words"]

_U32 = 1 << 32


def key_words(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Two uint32 words that identify ``key`` (typed, or a raw ``uint32[2]``).

    Keys of the default ``threefry2x32`` and of the ``philox4x32``
    implementations hold exactly two words, used as they are. The four words
    of ``rbg`` keys are folded into two with an odd multiplier, so that no
    word is ignored.
    """
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    words = key.astype(jnp.uint32).reshape(-1)
    if words.shape[0] == 2:
        return words[0], words[1]
    if words.shape[0] == 4:
        odd = jnp.uint32(0x9E3779B1)
        return words[0] ^ (words[2] * odd), words[1] ^ (words[3] * odd)
    raise ValueError(f"a key of {words.shape[0]} words is not supported; use a key of 2 or 4 uint32 words")


def _mul_wide(a: jax.Array, b: int) -> tuple[jax.Array, jax.Array]:
    """``a * b`` as (lo, hi) words, for uint32 ``a`` and a Python int ``0 <= b < 2^64``."""
    b_lo, b_hi = jnp.uint32(b % _U32), jnp.uint32(b // _U32)
    lo = a * b_lo
    hi = jax.lax.mulhi(a, b_lo) + a * b_hi
    return lo, hi


def index_words(indices: Sequence[jax.Array], shape: Sequence[int]) -> tuple[jax.Array, jax.Array | None]:
    """Row-major flat index of the multi-indices ``indices`` into ``shape``, as (lo, hi) words.

    ``indices[d]`` holds uint32 positions along axis ``d`` (broadcastable
    against each other). ``hi`` is None, meaning zero, when the array has
    fewer than 2^32 elements; otherwise the flat index is computed exactly,
    modulo 2^64.
    """
    shape = tuple(int(s) for s in shape)
    if len(indices) != len(shape):
        raise ValueError(f"need one index array per axis of {shape}, got {len(indices)}")
    wide = math.prod(shape) > _U32
    lo = jnp.zeros((), jnp.uint32)
    hi = jnp.zeros((), jnp.uint32) if wide else None
    stride = 1
    for axis in reversed(range(len(shape))):
        position = jnp.asarray(indices[axis], jnp.uint32)
        if not wide:
            lo = lo + position * jnp.uint32(stride)
        else:
            term_lo, term_hi = _mul_wide(position, stride % (_U32 * _U32))
            new_lo = lo + term_lo
            carry = (new_lo < lo).astype(jnp.uint32)
            hi = hi + term_hi + carry
            lo = new_lo
        stride *= shape[axis]
    return lo, hi


def flat_index(shape: Sequence[int]) -> tuple[jax.Array, jax.Array | None]:
    """``(lo, hi)`` words of the row-major flat index of every element of ``shape``."""
    shape = tuple(int(s) for s in shape)
    iotas = [jax.lax.broadcasted_iota(jnp.uint32, shape, axis) for axis in range(len(shape))]
    lo, hi = index_words(iotas, shape)
    lo = jnp.broadcast_to(lo, shape)
    return lo, (None if hi is None else jnp.broadcast_to(hi, shape))
