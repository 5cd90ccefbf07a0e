"""Closed-form moments of one unit's output under dropout, and a z-score.

For a fixed input ``a``, drop probability ``p`` and ``q = 1 - p``:

* direct dropout outputs ``r a`` with ``E = q a`` and ``Var = p q a^2``;
* inverted dropout outputs ``r a / q`` with ``E = a`` and ``Var = (p / q) a^2``.

The variance of the inverted output grows without bound as ``q -> 0``: the
price of keeping its mean fixed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability

__all__ = ["dropout_moments", "variance_z_score", "z_score"]


def dropout_moments(x: ArrayLike, rate: ArrayLike, *, inverted: bool = True) -> tuple[jax.Array, jax.Array]:
    """Mean and variance of a train-time dropout output, elementwise in ``x``.

    .. math::

       \\text{direct: } (q x,\\; p q x^2), \\qquad
       \\text{inverted: } (x,\\; \\tfrac{p}{q} x^2).

    At ``rate = 1`` the inverted output is identically 0 (see
    :func:`dropoutlib.dropout`), so its moments are reported as ``(0, 0)``.
    """
    check_probability(rate, "rate")
    x = jnp.asarray(x)
    p = jnp.asarray(rate, x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32)
    q = 1.0 - p
    if not inverted:
        return q * x, p * q * x**2
    safe_q = jnp.where(q > 0, q, 1.0)
    mean = jnp.where(q > 0, x, 0.0)
    var = jnp.where(q > 0, p / safe_q * x**2, 0.0)
    return mean, var


def z_score(samples: ArrayLike, mean: ArrayLike, var: ArrayLike) -> jax.Array:
    """How many standard errors the sample mean lies from ``mean``.

    For ``N`` independent draws with variance ``var`` the sample mean has
    standard error ``sqrt(var / N)``, so

    .. math:: z = \\frac{\\bar{s} - \\mu}{\\sqrt{\\sigma^2 / N}}.

    Under the hypothesis, ``|z| > 4`` happens with probability about 6e-5:
    the bound that the peer libraries' tests use. ``var`` must be positive.
    """
    samples = jnp.asarray(samples)
    n = samples.size
    return (jnp.mean(samples) - mean) / jnp.sqrt(jnp.asarray(var) / n)


def variance_z_score(samples: ArrayLike, var: ArrayLike) -> jax.Array:
    """How many standard errors the sample variance lies from ``var``.

    The sample variance of ``N`` draws has standard error
    ``sqrt((mu_4 - sigma^4) / N)``; the fourth central moment ``mu_4`` is
    estimated from the samples themselves, so this works for any
    distribution with a finite fourth moment.
    """
    samples = jnp.asarray(samples, jnp.float32).ravel()
    n = samples.size
    centred = samples - jnp.mean(samples)
    sample_var = jnp.mean(centred**2)
    fourth = jnp.mean(centred**4)
    return (sample_var - var) / jnp.sqrt((fourth - sample_var**2) / n)
