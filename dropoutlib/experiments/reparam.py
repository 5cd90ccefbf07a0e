"""Direct and inverted dropout as two parametrizations of one network.

An inverted net computes ``z = V (m * h) / q`` where a direct net computes
``z = W (m * h)``. With ``W = V / q`` (every other parameter equal) the two
are the same function, in training (same mask) and at test time. Only the
weights that CONSUME a dropped layer change coordinates, so each
hyperparameter that touches those weights has a direct-net equivalent:

* weights: ``W = V / q`` (the same function);
* SGD learning rate ``eta`` becomes ``eta / q^2``, because ``dL/dV = (1/q) dL/dW``
  and the step itself is converted by another ``1/q``;
* momentum SGD: also ``eta / q^2`` (momentum is linear in the gradient);
* Adam learning rate ``alpha`` becomes ``alpha / q`` (Adam divides out the
  gradient's scale, not the coordinates' scale);
* L2 strength ``lambda`` becomes ``lambda q^2``, since
  ``lambda/2 ||V||^2 = lambda q^2 / 2 ||W||^2``;
* max-norm radius ``c`` becomes ``c / q``, since ``||V_j|| <= c`` iff ``||W_j|| <= c / q``.

Every other layer keeps its values. This module converts between the two and
trains either net with per-layer factors, so the equivalences can be
checked to round-off.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from dropoutlib._checks import check_probability
from dropoutlib.experiments.mlp import Params, mlp_apply
from dropoutlib.experiments.train import make_optimizer, penalized_loss, training_step

__all__ = ["LayerHyper", "direct_equivalent", "direct_params_from_inverted", "keep_probs", "train_layerwise"]


def keep_probs(rates: Sequence[float]) -> list[float]:
    """``q_l = 1 - rates[l]`` per layer, checked; a layer's ``q`` is that of its input."""
    for rate in rates:
        check_probability(rate, "rate")
        if float(rate) == 1.0:
            raise ValueError("a layer with rate 1 drops everything; no parametrization maps it to the other scheme")
    return [1.0 - float(rate) for rate in rates]


def direct_params_from_inverted(params: Params, rates: Sequence[float]) -> Params:
    """The direct-dropout weights computing the same function: ``W_l = V_l / q_l``.

    ``rates[l]`` is the drop rate on layer ``l``'s input; layers with rate 0
    are unchanged, and biases are never rescaled.
    """
    if len(rates) != len(params):
        raise ValueError(f"rates needs one rate per layer ({len(params)}), got {len(rates)}")
    return [{**p, "w": p["w"] / q} for p, q in zip(params, keep_probs(rates))]


class LayerHyper(NamedTuple):
    """Per-layer training settings: learning-rate factor, L2 strength, max-norm radius."""

    lr_factor: list
    l2: list
    max_norm: list


def direct_equivalent(rates: Sequence[float], optimizer: str, l2: float = 0.0, max_norm: float = math.inf) -> LayerHyper:
    """Per-layer settings under which a direct net follows an inverted net exactly.

    For an inverted net trained with one learning rate, L2 strength ``l2`` and
    max-norm radius ``max_norm`` on every layer, returns the factors for the
    matched direct net: learning-rate factor ``1/q^2`` (SGD, momentum) or
    ``1/q`` (Adam; exact only while its epsilon is negligible against the
    root-mean-square gradient, since epsilon does not rescale), L2
    ``l2 q^2`` and radius ``max_norm / q`` on each layer whose input is
    dropped with keep probability ``q``.
    """
    qs = keep_probs(rates)
    if optimizer in ("sgd", "momentum"):
        factors = [1.0 / q**2 for q in qs]
    elif optimizer == "adam":
        factors = [1.0 / q for q in qs]
    else:
        raise ValueError(f"optimizer must be 'sgd', 'momentum' or 'adam', got {optimizer!r}")
    return LayerHyper(factors, [l2 * q**2 for q in qs], [max_norm / q for q in qs])


def train_layerwise(
    key: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    probe: jax.Array,
    *,
    rates: Sequence[float],
    inverted: bool,
    optimizer: str,
    learning_rate: float,
    layers: LayerHyper,
    steps: int,
    momentum: float = 0.9,
    eps: float = 1e-8,
) -> tuple[Params, jax.Array]:
    """Full-batch training with per-layer factors; returns the final params and a trajectory.

    The step is ``dropoutlib.experiments.train.training_step``, the one
    that :func:`~dropoutlib.experiments.train` uses: step ``t`` uses
    the mask ``fold_in(key, t)`` (the same for a direct and an inverted net
    given the same key), minimizes mean cross-entropy plus
    ``sum_l l2_l / 2 ||W_l||^2``, multiplies layer ``l``'s weight update by
    ``lr_factor[l]``, then projects onto the per-layer max-norm balls. The
    trajectory holds the test-mode logits on ``probe`` after every step,
    shape ``(steps, len(probe), classes)``: equal trajectories mean equal
    functions, whatever the coordinates.
    """
    n_layers = len(params)
    if not (len(layers.lr_factor) == len(layers.l2) == len(layers.max_norm) == len(rates) == n_layers):
        raise ValueError(f"rates and every per-layer setting need {n_layers} entries")
    keep_probs(rates)  # validates the rates
    opt = make_optimizer(optimizer, learning_rate, momentum=momentum, eps=eps, layer_factors=layers.lr_factor)
    radii = list(layers.max_norm)

    def step(carry: tuple[Params, Any], t: jax.Array):
        params, opt_state = carry
        loss = functools.partial(
            penalized_loss, x=x, y=y, key=jax.random.fold_in(key, t), rates=rates, l2=list(layers.l2), inverted=inverted
        )
        params, opt_state = training_step(params, opt_state, loss, opt, radii)
        logits = mlp_apply(params, probe, rates=rates, inverted=inverted, train=False)
        return (params, opt_state), logits

    (params, _), trajectory = jax.lax.scan(step, (params, opt.init(params)), jnp.arange(steps))
    return params, trajectory
