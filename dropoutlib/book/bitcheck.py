"""SHA-256 fingerprints of every generator's bits and masks, for bit identity.

``benchmarks/gpu_checks.py`` computes the same fingerprints on each device it
finds and stores them; a chapter recomputes them on its own device and
compares. Two arrays have equal fingerprints if (up to a SHA-256 collision)
they are equal bit for bit.
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np

import dropoutlib as dl
from dropoutlib.hashmask import hash_bits, hash_bits_at
from dropoutlib.philox import philox_bits, philox_bits_at

__all__ = ["COUNTER_KEY_IMPLS", "KEY_IMPLS", "N", "bit_hashes", "sha256"]

KEY_IMPLS = ("threefry2x32", "threefry4x32", "philox2x32", "philox4x32", "rbg", "unsafe_rbg")
COUNTER_KEY_IMPLS = ("threefry2x32", "threefry4x32", "philox4x32", "rbg")  # 2 or 4 key words
N = 1 << 20


def sha256(array) -> str:
    """Hex SHA-256 of an array's bytes in C order."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(array)).tobytes()).hexdigest()


def bit_hashes(device=None, n: int = N) -> dict[str, str]:
    """SHA-256 of each generator's bits and masks, computed on ``device``.

    Keys name what was hashed: ``hash_bits/<key impl>`` and
    ``philox_bits/<key impl>`` are the raw 32-bit words of the first ``n``
    indices at key 2026; ``*/across_2^32`` the words of the ``n`` indices
    centred on :math:`2^{32}` (where the low word of the index wraps);
    ``keep_mask/<impl>/<key impl>`` the keep-mask at rate 0.3 and key 7.
    ``device=None`` uses JAX's default device.
    """
    device = device if device is not None else jax.devices()[0]
    out = {}
    with jax.default_device(device):
        lo = jnp.arange(n, dtype=jnp.uint32) - jnp.uint32(n // 2)  # 2^32 - n/2 ... 2^32 + n/2 - 1
        hi = (lo < jnp.uint32(n // 2)).astype(jnp.uint32)
        for key_impl in COUNTER_KEY_IMPLS:
            key = jax.random.key(2026, impl=key_impl)
            out[f"hash_bits/{key_impl}"] = sha256(jax.jit(hash_bits, static_argnums=1)(key, (n,)))
            out[f"philox_bits/{key_impl}"] = sha256(
                jax.jit(philox_bits, static_argnums=1)(key, (n,)))
        key = jax.random.key(2026)
        out["hash_bits/across_2^32"] = sha256(jax.jit(hash_bits_at)(key, lo, hi))
        out["philox_bits/across_2^32"] = sha256(jax.jit(philox_bits_at)(key, lo, hi))
        for impl in dl.IMPLS:
            for key_impl in KEY_IMPLS if impl == "bernoulli" else COUNTER_KEY_IMPLS[:1]:
                key = jax.random.key(7, impl=key_impl)
                mask = jax.jit(lambda k, impl=impl: dl.keep_mask(k, 0.3, (n,), impl=impl))(key)
                out[f"keep_mask/{impl}/{key_impl}"] = sha256(mask)
    return out
