"""Gaussian dropout: multiplicative noise with the moments of inverted dropout.

Inverted Bernoulli dropout multiplies each input by ``r / q`` with
``r ~ Bernoulli(q)``, a factor of mean 1 and variance ``p / q``. Srivastava
et al. (2014, sec. 10) note that any multiplicative noise with those two
moments plays the same role, and propose ``N(1, p / q)``:

.. math:: y = x \\cdot (1 + \\sigma \\varepsilon), \\qquad
          \\varepsilon \\sim N(0, 1), \\quad \\sigma^2 = \\frac{p}{q}.

No unit is ever exactly off, and the noise is continuous.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability, is_traced


def gaussian_dropout(key: jax.Array | None, x: ArrayLike, rate: ArrayLike, *, train: bool = True) -> jax.Array:
    """Multiply ``x`` by independent ``N(1, p/q)`` noise in training; identity at test time.

    ``E[y] = x`` and ``Var[y] = (p/q) x^2``: the first two moments of inverted
    Bernoulli dropout with the same ``rate``, which is why no test-time
    scaling is needed.

    Validation follows :func:`dropoutlib.dropout`: a concrete ``rate``
    outside [0, 1] or NaN raises ValueError naming it, ``train=True`` needs a
    key, the output has the dtype of ``x``, and ``rate = 0`` returns ``x``.
    One difference: ``rate = 1`` is rejected, because its noise variance
    ``p/q`` is infinite (Bernoulli dropout can return zeros there; a normal
    distribution has no such limit). A traced rate cannot be checked; at
    exactly 1 it gives infinite noise.
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"gaussian_dropout needs a floating-point x, got dtype {x.dtype}")
    check_probability(rate, "rate")
    if not is_traced(rate) and float(rate) == 1.0:
        raise ValueError("gaussian_dropout needs rate < 1: at rate 1 the noise variance p/q is infinite, got rate=1.0")
    if not train:
        return x
    if key is None:
        raise ValueError("gaussian_dropout with train=True needs a PRNG key, got key=None")
    if not is_traced(rate):
        if float(rate) == 0.0:
            return x
        sigma = jnp.float32(math.sqrt(float(rate) / (1.0 - float(rate))))
    else:
        rate = jnp.asarray(rate, jnp.float32)
        sigma = jnp.sqrt(rate / (1.0 - rate))
    compute = jnp.promote_types(x.dtype, jnp.float32)
    noise = 1.0 + sigma.astype(compute) * jax.random.normal(key, x.shape, compute)
    return (x.astype(compute) * noise).astype(x.dtype)
