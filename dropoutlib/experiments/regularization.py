"""Dropout as a data-dependent L2 penalty: closed forms and their Monte-Carlo checks.

For linear regression with inverted dropout on the inputs, every input
``X_ij`` is replaced by ``R_ij X_ij / q`` with ``R_ij ~ Bernoulli(q)``. The
cross terms vanish in expectation and each feature adds its own variance:

.. math::

   E_R \\big\\| y - (R \\odot X) w / q \\big\\|^2
   = \\| y - X w \\|^2 + \\frac{p}{q} \\sum_j w_j^2 \\,(X^\\top X)_{jj}

(Srivastava et al. 2014, sec. 9.1; Wager, Wang and Liang 2013). Dropout is
an L2 penalty whose strength for weight ``j`` is the energy of feature ``j``:
large-variance features are penalized more. For logistic regression the same
expansion to second order gives Wager et al.'s quadratic penalty

.. math::

   R(\\beta) = \\frac{1}{2} \\frac{p}{q} \\sum_j \\beta_j^2 \\sum_i \\mu_i (1 - \\mu_i)\\, x_{ij}^2,
   \\qquad \\mu_i = \\sigma(x_i^\\top \\beta),

an approximation whose quality the book measures.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability
from dropoutlib.dropout import dropout

__all__ = [
    "linear_dropout_loss",
    "linear_dropout_loss_mc",
    "linear_dropout_penalty",
    "logistic_dropout_penalty_mc",
    "logistic_loss",
    "wager_quadratic_penalty",
]


def _odds(rate: ArrayLike) -> ArrayLike:
    """``p / q``, the noise variance of inverted dropout; infinite at ``p = 1``, so refused there."""
    check_probability(rate, "rate")
    if not isinstance(rate, jax.core.Tracer) and float(rate) == 1.0:
        raise ValueError("the dropout penalty has strength p/q, which is infinite at rate 1; got rate=1.0")
    return rate / (1.0 - rate)


def _check_xy(x: jax.Array, y: jax.Array, w: jax.Array) -> None:
    if x.ndim != 2 or y.shape != (x.shape[0],) or w.shape != (x.shape[1],):
        raise ValueError(f"need x (n, d), y (n,) and w (d,), got shapes {x.shape}, {y.shape}, {w.shape}")


def linear_dropout_penalty(x: ArrayLike, w: ArrayLike, rate: ArrayLike) -> jax.Array:
    """``(p/q) sum_j w_j^2 (X^T X)_jj``: what inverted input dropout adds to a squared loss on average."""
    odds = _odds(rate)
    x, w = jnp.asarray(x), jnp.asarray(w)
    return odds * jnp.sum(w**2 * jnp.sum(x**2, axis=0))


def linear_dropout_loss(x: ArrayLike, y: ArrayLike, w: ArrayLike, rate: ArrayLike) -> jax.Array:
    """The expected sum of squared errors under inverted input dropout, in closed form."""
    x, y, w = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)
    _check_xy(x, y, w)
    return jnp.sum((y - x @ w) ** 2) + linear_dropout_penalty(x, w, rate)


def linear_dropout_loss_mc(key: jax.Array, x: ArrayLike, y: ArrayLike, w: ArrayLike, rate: float, n_samples: int) -> tuple[jax.Array, jax.Array]:
    """Monte-Carlo estimate of the same expectation, and its standard error.

    Each sample drops the inputs with ``dl.dropout`` (inverted, one mask per
    example and feature) and computes the sum of squared errors.
    """
    x, y, w = jnp.asarray(x), jnp.asarray(y), jnp.asarray(w)
    _check_xy(x, y, w)
    losses = jax.lax.map(lambda k: jnp.sum((y - dropout(k, x, rate) @ w) ** 2), jax.random.split(key, n_samples))
    return losses.mean(), losses.std() / jnp.sqrt(n_samples)


def logistic_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Summed negative log-likelihood of 0/1 ``labels``: ``sum_i A(z_i) - y_i z_i``, ``A = log(1 + e^z)``."""
    return jnp.sum(jnp.logaddexp(0.0, logits) - labels * logits)


def wager_quadratic_penalty(x: ArrayLike, beta: ArrayLike, rate: ArrayLike) -> jax.Array:
    """Wager et al.'s second-order dropout penalty for logistic regression (see the module docstring)."""
    odds = _odds(rate)
    x, beta = jnp.asarray(x), jnp.asarray(beta)
    mu = jax.nn.sigmoid(x @ beta)
    curvature = mu * (1.0 - mu)
    return 0.5 * odds * jnp.sum(beta**2 * (curvature @ x**2))


def logistic_dropout_penalty_mc(key: jax.Array, x: ArrayLike, y: ArrayLike, beta: ArrayLike, rate: float, n_samples: int) -> tuple[jax.Array, jax.Array]:
    """Monte-Carlo estimate of ``E_R[loss(dropped X)] - loss(X)`` for logistic regression, and its standard error."""
    x, y, beta = jnp.asarray(x), jnp.asarray(y), jnp.asarray(beta)
    _check_xy(x, y, beta)
    clean = logistic_loss(x @ beta, y)
    increases = jax.lax.map(lambda k: logistic_loss(dropout(k, x, rate) @ beta, y) - clean, jax.random.split(key, n_samples))
    return increases.mean(), increases.std() / jnp.sqrt(n_samples)
