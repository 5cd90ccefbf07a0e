"""Gaussian dropout: multiplicative noise with the moments of inverted dropout.

Inverted Bernoulli dropout multiplies each input by ``r / q`` with
``r ~ Bernoulli(q)``, a factor of mean 1 and variance ``p / q``. Srivastava
et al. (2014, sec. 10) note that any multiplicative noise with those two
moments plays the same role, and propose ``N(1, p / q)``:

.. math:: y = x \\cdot (1 + \\sigma \\varepsilon), \\qquad
          \\varepsilon \\sim N(0, 1), \\quad \\sigma^2 = \\frac{p}{q}.

No unit is ever exactly off, and the noise is continuous. Unlike Bernoulli
dropout, the output is a smooth function of the rate for a fixed
``epsilon``, so the gradient with respect to ``rate`` is kept: it is the
reparametrization-trick gradient that variational dropout
(:cite:t:`kingma2015variational`) uses to learn the rate.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_key, check_probability, is_traced, normalize_axes
from dropoutlib.dropout import compute_dtype

__all__ = ["gaussian_dropout"]


def gaussian_dropout(
    key: jax.Array | None,
    x: ArrayLike,
    rate: ArrayLike,
    *,
    train: bool = True,
    broadcast_dims: int | Sequence[int] = (),
) -> jax.Array:
    """Multiply ``x`` by independent ``N(1, p/q)`` noise in training; identity at test time.

    ``E[y] = x`` and ``Var[y] = (p/q) x^2``: the first two moments of inverted
    Bernoulli dropout with the same ``rate``, which is why no test-time
    scaling is needed.

    Validation follows :func:`dropoutlib.dropout`: a concrete ``rate``
    outside [0, 1], NaN, a bool or a string raises naming it, ``train=True``
    needs one key, ``broadcast_dims`` shares one noise factor along those
    axes, the output has the dtype of ``x`` (float64 stays float64), and
    ``rate = 0`` returns ``x``. One difference: in training ``rate = 1`` is
    rejected, because its noise variance ``p/q`` is infinite (Bernoulli
    dropout can return zeros there; a normal distribution has no such
    limit). At test time any rate in [0, 1] is accepted, since the output is
    ``x``. A traced rate cannot be checked; at exactly 1 it gives infinite
    noise.
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"gaussian_dropout needs a floating-point x, got dtype {x.dtype}")
    check_probability(rate, "rate")
    axes = normalize_axes(broadcast_dims, x.ndim, "broadcast_dims")
    if not train:
        return x
    if not is_traced(rate) and float(rate) == 1.0:
        raise ValueError("gaussian_dropout in training needs rate < 1: at rate 1 the noise variance p/q is infinite, got rate=1.0")
    if key is None:
        raise ValueError("gaussian_dropout with train=True needs a PRNG key, got key=None")
    check_key(key)
    if not is_traced(rate) and float(rate) == 0.0:
        return x
    compute = compute_dtype(x.dtype)
    p = jnp.asarray(rate, compute)
    sigma = jnp.sqrt(p / (1.0 - p))
    noise_shape = tuple(1 if axis in axes else size for axis, size in enumerate(x.shape))
    noise = 1.0 + sigma * jax.random.normal(key, noise_shape, compute)
    return (x.astype(compute) * noise).astype(x.dtype)
