"""Networks of several widths in one compiled program, initialized as the narrow networks they stand for.

A sweep over layer widths would recompile for every width. Instead every
network is built at one configured width ``W`` and runs with only its first
``m`` hidden units active (``Hyper.hidden_units``; the forward pass zeroes
units ``m..W-1`` after the activation, see
:func:`~dropoutlib.experiments.mlp_forward`). The *forward pass* then
computes exactly what a network of width ``m`` computes with the same
active weights. The *initialization* must match too:
:func:`~dropoutlib.experiments.init_mlp` draws He-normal weights with
variance ``2 / fan_in``, and a layer that reads a hidden layer has fan-in
``W`` in the padded network but ``m`` in the narrow one. Left alone, every
such layer (the second hidden layer as much as the output layer) would
start with pre-activations ``m / W`` times too small in variance.

:func:`fit_init_to_active_units` fixes that: in every layer that reads a
hidden layer, the rows of the ``m`` active inputs are multiplied by
``sqrt(W / m)``, so they have the narrow network's variance ``2 / m``, and
the rows of the inactive inputs are set to zero. Those rows multiply inputs
that are always exactly zero, so they never affect the output and get a
zero gradient; zeroing them keeps the column norms (max-norm) and the L2
penalty those of the narrow network. The first layer reads the data and is
left alone, and so are the incoming weights of inactive units (their
outputs are masked). With every unit active (``m >= W``, the default
``inf``) the parameters come back bit for bit unchanged.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib.experiments.mlp import Params

__all__ = ["active_count", "fit_init_to_active_units"]


def active_count(active_units: ArrayLike, width: int) -> jnp.ndarray:
    """How many of ``width`` units are active: ``#{i < width : i < active_units}``.

    This is the rule of :func:`~dropoutlib.experiments.mlp_forward`'s
    ``active_units`` (``ceil(active_units)``, at most ``width``), as a float.
    """
    return jnp.sum(jnp.arange(width) < jnp.asarray(active_units, jnp.float32)).astype(jnp.float32)


def fit_init_to_active_units(params: Params, active_units: ArrayLike) -> Params:
    """Rescale a fresh He-normal initialization so that it is the narrow network's.

    Args:
      params: parameters from :func:`~dropoutlib.experiments.init_mlp`
        (one ``{"w", "b"}`` dict per layer, weights ``(fan_in, fan_out)``).
      active_units: the number of active units per hidden layer (may be
        traced, may be ``inf``).

    Returns:
      The parameters with every layer ``l >= 1`` (it reads hidden layer
      ``l``) changed as ``w[i, :] *= sqrt(W_l / m_l)`` for the ``m_l``
      active inputs ``i`` and ``w[i, :] = 0`` for the others, where
      ``W_l`` is the layer's fan-in and ``m_l`` its active part
      (:func:`active_count`). Biases and the first layer are unchanged.
    """
    fitted = [params[0]]
    for p in params[1:]:
        fan_in = p["w"].shape[0]
        m = active_count(active_units, fan_in)
        rows = jnp.where(jnp.arange(fan_in) < m, jnp.sqrt(fan_in / m), 0.0).astype(p["w"].dtype)
        fitted.append({**p, "w": p["w"] * rows[:, None]})
    return fitted
