"""Dropout as an ensemble: Monte-Carlo averaging, and exact enumeration for tiny units.

A network with ``n`` droppable units contains ``2^n`` thinned networks. At
test time the weight-scaled network stands in for their average. Two ways to
look at that average directly:

* Monte-Carlo model averaging: run the network in train mode with ``k``
  sampled masks and average the predicted probabilities;
* exact enumeration, possible for a single unit with a handful of inputs:
  every mask, weighted by its probability ``q^{|m|} p^{n - |m|}``.
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability
from dropoutlib.experiments.mlp import Params, mlp_apply

__all__ = ["all_masks", "mask_probabilities", "mc_dropout_probs", "running_mean_error", "sigmoid_unit_ensemble"]


def thinned_outputs(
    key: jax.Array,
    params: Params,
    x: ArrayLike,
    *,
    rates: Sequence[ArrayLike],
    n_samples: int,
    inverted: bool,
    activation: str,
    link: Callable[..., jax.Array],
) -> jax.Array:
    """``link(logits, axis=-1)`` of ``n_samples`` thinned networks; sample ``s`` uses ``fold_in(key, s)``.

    The one sampler behind :func:`mc_dropout_probs` (``link=softmax``) and
    :func:`~dropoutlib.experiments.mc_averaging.mc_log_probs` (``log_softmax``),
    so both see the same masks.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples!r}")

    def one(sample: jax.Array) -> jax.Array:
        logits = mlp_apply(
            params, x, key=jax.random.fold_in(key, sample), rates=rates, inverted=inverted, train=True, activation=activation
        )
        return link(logits, axis=-1)

    return jax.lax.map(one, jnp.arange(n_samples))


def mc_dropout_probs(
    key: jax.Array,
    params: Params,
    x: ArrayLike,
    *,
    rates: Sequence[ArrayLike],
    n_samples: int,
    inverted: bool = True,
    activation: str = "relu",
) -> jax.Array:
    """Class probabilities of ``n_samples`` thinned networks, shape ``(n_samples, examples, classes)``.

    Sample ``s`` uses the masks of ``fold_in(key, s)``, the same for every
    example of the batch. Averaging over the first axis is Monte-Carlo model
    averaging (Srivastava et al. 2014, fig. 11), and the spread over it is
    MC dropout's uncertainty estimate (Gal and Ghahramani 2016).
    """
    return thinned_outputs(key, params, x, rates=rates, n_samples=n_samples, inverted=inverted,
                           activation=activation, link=jax.nn.softmax)


def running_mean_error(probs: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """Error rate of the average of the first ``k`` samples' probabilities, for ``k = 1..K``."""
    probs = jnp.asarray(probs)
    running = jnp.cumsum(probs, axis=0) / jnp.arange(1, probs.shape[0] + 1)[:, None, None]
    return np.asarray(jnp.mean(jnp.argmax(running, axis=-1) != jnp.asarray(labels)[None, :], axis=1))


def all_masks(n: int) -> np.ndarray:
    """Every keep-mask of ``n`` units, shape ``(2^n, n)``, as 0/1 floats."""
    if not 0 <= n <= 20:
        raise ValueError(f"enumerating 2^n masks needs 0 <= n <= 20, got n={n!r}")
    return np.array(list(itertools.product((0.0, 1.0), repeat=n))).reshape(2**n, n)


def mask_probabilities(masks: np.ndarray, rate: float) -> np.ndarray:
    """``P(m) = q^{|m|} p^{n - |m|}`` for each row of ``masks`` (1 = kept), ``p = rate``, ``q = 1 - p``."""
    check_probability(rate, "rate")
    kept = masks.sum(axis=1)
    return (1.0 - rate) ** kept * float(rate) ** (masks.shape[1] - kept)


def sigmoid_unit_ensemble(w: ArrayLike, x: ArrayLike, rate: float) -> dict[str, float]:
    """Exact ensemble statistics of one sigmoid unit ``sigmoid(sum_i m_i w_i x_i)``, by enumeration.

    With ``S_m = sum_i m_i w_i x_i`` over all ``2^n`` masks ``m`` (direct
    dropout on the inputs, each kept with probability ``q = 1 - rate``), returns

    * ``mean_sigmoid``: the ensemble mean ``E[sigmoid(S)]``;
    * ``nwgm``: the normalized weighted geometric mean
      ``G / (G + G')`` with ``G = prod sigmoid(S_m)^{P(m)}`` and
      ``G' = prod (1 - sigmoid(S_m))^{P(m)}``;
    * ``sigmoid_of_mean``: ``sigmoid(E[S])``, the weight-scaled unit.

    Baldi and Sadowski (2013) show ``nwgm == sigmoid_of_mean`` exactly.
    """
    w = np.asarray(w, np.float64)
    x = np.asarray(x, np.float64)
    masks = all_masks(w.size)
    probs = mask_probabilities(masks, rate)
    s = masks @ (w * x)
    log_sig = -np.logaddexp(0.0, -s)  # log sigmoid(s)
    log_one_minus = -np.logaddexp(0.0, s)  # log (1 - sigmoid(s))
    log_g, log_g_prime = probs @ log_sig, probs @ log_one_minus
    mean_s = float(probs @ s)
    return {
        "mean_sigmoid": float(probs @ np.exp(log_sig)),
        "nwgm": float(1.0 / (1.0 + np.exp(log_g_prime - log_g))),
        "sigmoid_of_mean": float(1.0 / (1.0 + np.exp(-mean_s))),
        "mean_s": mean_s,
    }
