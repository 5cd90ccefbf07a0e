"""A counter-based hash: each element's bits are a pure function of (key, index).

``jax.random.bernoulli`` with the default Threefry-2x32 key runs a 20-round
block cipher per element and XLA writes the random bits to memory before
comparing them; on a CPU that costs several times a plain copy of the array.
Dropout needs one keep/drop decision per element, statistically clean but not
cryptographic. Here the 32 bits for the element with 64-bit flat index
``(lo, hi)`` are

.. math::

   h = H\\big(H(\\mathrm{lo} \\oplus s_0) \\oplus s_1 \\oplus H(\\mathrm{hi})\\big),

where ``(s_0, s_1)`` are two 32-bit seeds, each a hash of BOTH words of the
key (so that two keys never give masks that are shifted or permuted copies of
one another, which XOR-ing raw key words into the index would allow), and
``H`` is ``lowbias32``: two xor-shift-multiply rounds, a bijection on 32-bit
words, found by Chris Wellons' *hash-prospector* search for minimal avalanche
bias. ``H(0) = 0``, so for arrays of fewer than 2^32 elements (``hi = 0``) the
last term vanishes and costs nothing.

It costs about a dozen integer operations per element, so XLA fuses it into
the elementwise kernel that applies the mask: no random bits are ever written
to memory, and the backward pass recomputes them from the key instead of
storing them.

Known limits, stated rather than hidden:

* it is not a cryptographic generator, and it is not one of the Random123
  family of :cite:t:`salmon2011parallel`. :mod:`dropoutlib.philox` offers
  Philox4x32-10, which is (``impl="philox"``). What vouches for this hash is
  measurement: the statistical battery in
  ``tests/test_counter_masks_statistics.py``, and Debian's ``dieharder`` run
  by ``benchmarks/dieharder_battery.py`` with a negative control that must
  fail (results in the book's chapter on speed);
* its state is 32 bits: within each block of 2^32 consecutive indices, every
  32-bit value occurs exactly once (the map from ``lo`` is a bijection).
  Blocks differ through the ``H(hi)`` term, so an array larger than 2^32
  elements does not repeat its mask, but two blocks are permutations of each
  other's bits;
* an element is kept when its top 24 bits fall below ``round(q 2^24)``, so
  the keep probability is resolved to 6e-8 (:func:`dropoutlib.masks.keep_threshold`).

Because the bits depend only on the key and the *global* index, they are the
same however the array is laid out or sharded across devices.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dropoutlib._counter import flat_index, key_words

__all__ = ["hash_bits", "hash_bits_at", "lowbias32"]

_M1 = 0x7FEB352D
_M2 = 0x846CA68B


def lowbias32(x: jax.Array) -> jax.Array:
    """Wellons' ``lowbias32`` integer hash: a bijection of uint32 with ``H(0) = 0``."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(_M1)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(_M2)
    return x ^ (x >> 16)


def _seeds(k0: jax.Array, k1: jax.Array) -> tuple[jax.Array, jax.Array]:
    # Golden-ratio and murmur3 constants only make the two chains differ.
    s0 = lowbias32(k0 ^ lowbias32(k1 ^ jnp.uint32(0x9E3779B9)))
    s1 = lowbias32(k1 ^ lowbias32(s0 ^ jnp.uint32(0x85EBCA6B)))
    return s0, s1


def hash_bits_at(key: jax.Array, lo: jax.Array, hi: jax.Array | None = None) -> jax.Array:
    """32 pseudo-random bits for each flat index ``(lo, hi)`` (uint32 words; ``hi`` None means 0)."""
    s0, s1 = _seeds(*key_words(key))
    inner = lowbias32(jnp.asarray(lo, jnp.uint32) ^ s0) ^ s1
    if hi is not None:
        inner = inner ^ lowbias32(jnp.asarray(hi, jnp.uint32))
    return lowbias32(inner)


def hash_bits(key: jax.Array, shape: Sequence[int]) -> jax.Array:
    """32 pseudo-random bits per element of ``shape``, from (key, flat index) alone."""
    return hash_bits_at(key, *flat_index(shape))
