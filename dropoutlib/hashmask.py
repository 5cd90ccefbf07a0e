"""A counter-based keep-mask: each entry is a pure function of (key, index).

``jax.random.bernoulli`` runs the Threefry-2x32 block cipher (20 rounds) for
every element and XLA materializes the random bits before comparing them,
which on a CPU costs about ten times a plain copy of the array. Dropout
needs far less: one keep/drop decision per element, statistically clean but
not cryptographic. Here the decision for the element with flat index ``i``
is

.. math::

   h(i) = H\\big(H(i \\oplus s_0) \\oplus s_1\\big), \\qquad
   r_i = \\big[\\, h(i) \\gg 8 < \\operatorname{round}(q \\cdot 2^{24}) \\,\\big],

where ``(s_0, s_1)`` are two 32-bit seeds, each a hash of BOTH words of
the JAX key (so that two keys never give masks that are shifted or permuted
copies of one another, which XOR-ing raw key words into the index would
allow), and ``H`` is
``lowbias32``, a 32-bit integer hash (two xor-shift-multiply rounds) found by
Chris Wellons' *hash-prospector* search for minimal avalanche bias; it is
a bijection on 32-bit words, and its measured bias is among the lowest known
for its cost. ``H`` costs a handful of integer operations, so XLA fuses the
whole mask into the elementwise kernel that applies it: no random bits are
ever written to memory.

Known limits, stated rather than hidden:

* ``P(keep) = round(q 2^24) / 2^24``: ``q`` is resolved to 6e-8;
* flat indices wrap modulo 2^32, so arrays of more than 4.3e9 elements
  would repeat their mask;
* it is not a cryptographic generator, and it is not one of the Random123
  family (Philox, Threefry) of :cite:t:`salmon2011parallel`. Philox needs a
  32x32->64-bit multiply that XLA's 32-bit integer arithmetic lacks; written
  with 16-bit limbs in plain ``jnp`` it compiled to 16-76 times the copy time
  on a CPU, because XLA duplicates the deep expression. The statistical
  battery in ``tests/test_hashmask_statistics.py`` is what vouches for this
  generator, and the book's chapter on speed shows its results.

Because the mask depends only on the key and the *global* index, it is the
same however the array is laid out or sharded across devices, and the
backward pass can recompute it from the key instead of storing it.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

_M1 = 0x7FEB352D
_M2 = 0x846CA68B


def _lowbias32(x: jax.Array) -> jax.Array:
    x = x ^ (x >> 16)
    x = x * jnp.uint32(_M1)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(_M2)
    return x ^ (x >> 16)


def _key_words(key: jax.Array) -> jax.Array:
    """The two uint32 words of a JAX key (typed or raw uint32[2])."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    words = key.astype(jnp.uint32).reshape(-1)
    if words.shape[0] < 2:
        raise ValueError(f"the key needs at least two 32-bit words, got shape {key.shape}")
    return words[:2]


def flat_index(shape: Sequence[int]) -> jax.Array:
    """Row-major flat index of every element of ``shape``, as uint32 (wrapping)."""
    index = jnp.zeros(tuple(shape), jnp.uint32)
    stride = 1
    for axis in reversed(range(len(shape))):
        iota = jax.lax.broadcasted_iota(jnp.uint32, tuple(shape), axis)
        index = index + iota * jnp.uint32(stride % 2**32)
        stride *= int(shape[axis])
    return index


def _seeds(words: jax.Array) -> tuple[jax.Array, jax.Array]:
    # Golden-ratio and murmur3 constants only make the two chains differ.
    s0 = _lowbias32(words[0] ^ _lowbias32(words[1] ^ jnp.uint32(0x9E3779B9)))
    s1 = _lowbias32(words[1] ^ _lowbias32(s0 ^ jnp.uint32(0x85EBCA6B)))
    return s0, s1


def hash_bits(key: jax.Array, shape: Sequence[int]) -> jax.Array:
    """32 pseudo-random bits per element of ``shape``: ``H(H(i ^ s0) ^ s1)``."""
    s0, s1 = _seeds(_key_words(key))
    return _lowbias32(_lowbias32(flat_index(shape) ^ s0) ^ s1)


def keep_threshold(keep_prob: ArrayLike) -> jax.Array:
    """``round(q * 2^24)`` as uint32: an element is kept when its top 24 bits are below it."""
    q = jnp.clip(jnp.asarray(keep_prob, jnp.float32), 0.0, 1.0)
    return jnp.round(q * 2.0**24).astype(jnp.uint32)


def hash_mask(key: jax.Array, keep_prob: ArrayLike, shape: Sequence[int]) -> jax.Array:
    """Boolean keep-mask with ``P(True) = round(q 2^24) / 2^24``, from (key, index) alone.

    ``keep_prob = 0`` and ``1`` give all-False and all-True masks exactly.
    """
    return (hash_bits(key, shape) >> 8) < keep_threshold(keep_prob)
