"""Philox4x32-10, fused: the Random123 generator as a counter-based mask.

Philox (:cite:t:`salmon2011parallel`) turns a 128-bit counter and a 64-bit key
into 128 random bits with ten rounds of

.. math::

   (c_0, c_1, c_2, c_3) \\leftarrow
   \\big(\\mathrm{hi}(M_1 c_2) \\oplus c_1 \\oplus k_0,\\;
         \\mathrm{lo}(M_1 c_2),\\;
         \\mathrm{hi}(M_0 c_0) \\oplus c_3 \\oplus k_1,\\;
         \\mathrm{lo}(M_0 c_0)\\big),

with the key bumped by the Weyl constants ``(W_0, W_1)`` between rounds.
``hi`` and ``lo`` are the two halves of a 32x32->64-bit product. The low
half is an ordinary ``uint32`` multiply; the high half is one 64-bit multiply
of the widened words (:func:`mulhi32`). ``jax.lax.mulhi`` computes the same
number (a test checks that the two agree bit for bit), but in the pinned JAX
0.10.2 it fails to compile inside a sharded computation ("Unable to convert MHLO to StableHLO" under
the default Shardy partitioner, JAX's own ``philox4x32`` keys included), and
a mask must work on sharded arrays. Philox
passes the whole TestU01 BigCrush battery (Salmon et al. 2011), which is its
pedigree; JAX ships it as the ``philox4x32`` key implementation.

Here the counter of the element with 64-bit flat index ``(lo, hi)`` is
``(lo, hi, 0, 0)``, the key is the JAX key's two words
(``dropoutlib._counter.key_words``), and the element's 32 bits are the
first output word. Like the hash, the mask is a pure function of (key,
index), fuses into the kernel that applies it, and is recomputed in the
backward pass; unlike the hash it has a 128-bit counter, so no two elements of
any array share a counter. Its cost is arithmetic, not memory: ten rounds of
two widening and two ordinary multiplies per element (the measured price is in the
book's chapter on speed and in ``benchmarks/dropout_throughput.py``).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dropoutlib._counter import flat_index, key_words

__all__ = ["mulhi32", "philox4x32", "philox_bits", "philox_bits_at"]

_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85


def mulhi32(m: int, a: jax.Array) -> jax.Array:
    """The high 32 bits of ``m * a`` for a constant ``m`` and uint32 ``a``.

    Widened to uint64 inside a local ``enable_x64`` scope (the caller's
    setting is untouched), multiplied, shifted back.
    """
    with jax.enable_x64(True):
        wide = jnp.asarray(a, jnp.uint32).astype(jnp.uint64) * jnp.uint64(m)
        return (wide >> jnp.uint64(32)).astype(jnp.uint32)


def philox4x32(
    counter: Sequence[jax.Array], key: Sequence[jax.Array], rounds: int = 10
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """The Philox4x32 bijection of ``counter`` (four uint32 words) under ``key`` (two).

    ``rounds=10`` is Philox4x32-10, the member that Random123's known-answer
    vectors and JAX's ``philox4x32`` key implementation use. Words broadcast
    against each other, so one call computes a whole array of blocks.
    """
    if len(counter) != 4 or len(key) != 2:
        raise ValueError(f"Philox4x32 needs 4 counter words and 2 key words, got {len(counter)} and {len(key)}")
    c0, c1, c2, c3 = (jnp.asarray(c, jnp.uint32) for c in counter)
    k0, k1 = (jnp.asarray(k, jnp.uint32) for k in key)
    m0, m1 = jnp.uint32(_M0), jnp.uint32(_M1)
    for round_ in range(rounds):
        if round_:
            k0, k1 = k0 + jnp.uint32(_W0), k1 + jnp.uint32(_W1)
        hi0, lo0 = mulhi32(_M0, c0), m0 * c0
        hi1, lo1 = mulhi32(_M1, c2), m1 * c2
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def philox_bits_at(key: jax.Array, lo: jax.Array, hi: jax.Array | None = None) -> jax.Array:
    """32 bits per flat index ``(lo, hi)``: word 0 of Philox4x32-10 at counter ``(lo, hi, 0, 0)``."""
    zero = jnp.zeros((), jnp.uint32)
    return philox4x32((lo, zero if hi is None else hi, zero, zero), key_words(key))[0]


def philox_bits(key: jax.Array, shape: Sequence[int]) -> jax.Array:
    """32 Philox bits per element of ``shape``, from (key, flat index) alone."""
    return philox_bits_at(key, *flat_index(shape))
