"""A multilayer perceptron with dropout on its inputs and hidden layers.

Parameters are a plain pytree: a list with one ``{"w": (fan_in, fan_out),
"b": (fan_out,)}`` dict per layer. Layer ``l`` receives ``h_{l-1}`` (the
input for ``l = 0``), drops it with rate ``rates[l]``, and computes
``z_l = dropout(h_{l-1}) @ w_l + b_l``; hidden layers apply the activation,
the last layer returns logits. So ``rates[0]`` is the input dropout rate and
``rates[l]`` for ``l >= 1`` the rate on hidden layer ``l``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib.dropout import dropout
from dropoutlib.gaussian import gaussian_dropout

__all__ = ["ACTIVATIONS", "NOISES", "Params", "init_mlp", "max_norm", "mlp_apply", "mlp_forward", "weight_penalty"]

NOISES = ("bernoulli", "gaussian")

Params = list  # list[dict[str, jax.Array]]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


def init_mlp(key: jax.Array, sizes: Sequence[int], dtype=jnp.float32) -> Params:
    """He-normal weights (variance ``2 / fan_in``) and zero biases for layer ``sizes``.

    ``sizes = (64, 256, 10)`` gives one hidden layer of 256 units.
    """
    if len(sizes) < 2 or any(int(s) <= 0 for s in sizes):
        raise ValueError(f"sizes needs at least an input and an output size, all positive, got {tuple(sizes)!r}")
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {
            "w": jax.random.normal(k, (fan_in, fan_out), dtype) * jnp.sqrt(2.0 / fan_in).astype(dtype),
            "b": jnp.zeros((fan_out,), dtype),
        }
        for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:])
    ]


def mlp_forward(
    params: Params,
    x: ArrayLike,
    *,
    key: jax.Array | None = None,
    rates: Sequence[ArrayLike] | None = None,
    inverted: bool = True,
    train: bool = False,
    activation: str = "relu",
    impl: str = "hash",
    noise: str = "bernoulli",
    active_units: ArrayLike | None = None,
) -> tuple[jax.Array, list[jax.Array]]:
    """Logits and the list of hidden activations ``h_1 .. h_{L-1}``.

    ``rates`` has one drop rate per layer (input first); None means no
    dropout. Each layer draws its mask from ``fold_in(key, layer)``. In eval
    mode (``train=False``) direct dropout scales each layer's input by its
    ``q``, inverted dropout leaves it alone. ``impl`` picks the mask
    generator (see :func:`dropoutlib.dropout`). ``noise="gaussian"``
    replaces each Bernoulli dropout by :func:`dropoutlib.gaussian_dropout`
    with the same rate (it is inverted by construction). ``active_units``
    (possibly traced) keeps only the first ``active_units`` units of every
    hidden layer and zeroes the rest, so that networks of different widths
    can share one compiled program in a sweep.
    """
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    rates = [0.0] * len(params) if rates is None else list(rates)
    if len(rates) != len(params):
        raise ValueError(f"rates needs one rate per layer ({len(params)}), got {len(rates)}: {rates!r}")
    h = jnp.asarray(x)
    if h.ndim < 1 or h.shape[-1] != params[0]["w"].shape[0]:
        raise ValueError(f"x has {h.shape[-1] if h.ndim else 'no'} features, the first layer expects {params[0]['w'].shape[0]}")
    hidden = []
    act = ACTIVATIONS[activation]
    for layer, (p, rate) in enumerate(zip(params, rates)):
        layer_key = None if key is None else jax.random.fold_in(key, layer)
        if noise == "gaussian":
            h = gaussian_dropout(layer_key, h, rate, train=train)
        else:
            h = dropout(layer_key, h, rate, inverted=inverted, train=train, impl=impl)
        h = h @ p["w"] + p["b"]
        if layer < len(params) - 1:
            h = act(h)
            if active_units is not None:
                h = h * (jnp.arange(h.shape[-1]) < active_units).astype(h.dtype)
            hidden.append(h)
    return h, hidden


def mlp_apply(params: Params, x: ArrayLike, **kwargs) -> jax.Array:
    """Logits only; see :func:`mlp_forward` for the arguments."""
    return mlp_forward(params, x, **kwargs)[0]


def max_norm(params: Params, c: ArrayLike | Sequence[ArrayLike]) -> Params:
    """Project each unit's incoming weight vector onto the ball ``||w_j||_2 <= c``.

    This is the max-norm constraint of Srivastava et al. (2014): after every
    update, a column ``w_j`` of a layer's weight matrix whose norm exceeds
    ``c`` is rescaled to norm ``c``; the others are untouched. ``c = inf``
    disables it; ``c`` may also be a sequence with one radius per layer.
    Biases are not constrained.
    """
    radii = list(c) if isinstance(c, (list, tuple)) else [c] * len(params)
    if len(radii) != len(params):
        raise ValueError(f"max_norm needs one radius per layer ({len(params)}), got {len(radii)}: {c!r}")
    projected = []
    for p, radius in zip(params, radii):
        norms = jnp.linalg.norm(p["w"], axis=0, keepdims=True)
        scale = jnp.where(norms > radius, radius / jnp.where(norms > 0, norms, 1.0), 1.0)
        projected.append({**p, "w": p["w"] * scale.astype(p["w"].dtype)})
    return projected


def weight_penalty(params: Params, l2: ArrayLike | Sequence[ArrayLike] = 0.0, l1: ArrayLike = 0.0) -> jax.Array:
    """``sum_l (l2_l / 2) ||W_l||^2 + l1 sum |w|`` over the weight matrices (not biases).

    ``l2`` is one strength for every layer, or a sequence with one per layer
    (the direct-dropout equivalent of an inverted net needs ``l2 q_l^2`` on
    the layers that read a dropped layer). With the factor 1/2 the L2 term's
    gradient is ``l2 * w``, the form used in the book's update rules.
    """
    absolutes = sum(jnp.sum(jnp.abs(p["w"])) for p in params)
    if isinstance(l2, (list, tuple)):
        if len(l2) != len(params):
            raise ValueError(f"l2 needs one strength per layer ({len(params)}), got {len(l2)}: {l2!r}")
        return sum(0.5 * s * jnp.sum(p["w"] ** 2) for p, s in zip(params, l2)) + l1 * absolutes
    squares = sum(jnp.sum(p["w"] ** 2) for p in params)
    return 0.5 * l2 * squares + l1 * absolutes
