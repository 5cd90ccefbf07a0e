"""The weights of trained networks: where they start, how large they grow, where max-norm holds them.

Three quantities, all computed from parameters (with any leading grid axes,
as :func:`~dropoutlib.experiments.sweep` returns them):

* the **Frobenius norm of all weight matrices together**,
  ``sqrt(sum_l ||W_l||_F^2)`` (biases excluded): the ``weight_norm`` metric
  of :mod:`~dropoutlib.experiments.train`, here also at step 0, which the
  learning curves (evaluated after every ``eval_every`` steps) do not hold;
* the **norm of each unit's incoming weight vector**, ``||w_j||_2`` for
  column ``j`` of a layer's ``(fan_in, fan_out)`` matrix: what the max-norm
  constraint ``||w_j||_2 <= c`` bounds;
* the **units at the bound**, those whose norm equals ``c`` up to round-off
  after the projection ``w_j <- w_j min(1, c / ||w_j||_2)``.

A growth factor ``||W_T|| / ||W_0||`` compares a run with its own start. Its
per-layer version is invariant under the direct/inverted reparametrization
``W_l = V_l / q_l`` (both norms scale by ``1/q_l``); the total mixes layers
with different ``q_l`` and is not. Totals are therefore compared in one
stated coordinate system, the **test-time weights** (:func:`weights_at_test_time`):
the matrices the network multiplies its unscaled inputs by at test time,
``W_l`` for a plain or an inverted-dropout net, ``q_l W_l`` for a direct one.
In those coordinates, equal weights mean the same test-time function.

A **runaway** (:func:`runaway`) is a run whose norm ends above ``factor``
times its start, or is no longer finite: a yes/no outcome per run.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np

from dropoutlib.experiments.data import Dataset
from dropoutlib.experiments.mlp import Params
from dropoutlib.experiments.train import Hyper, TrainConfig, _init_compiled, check_hyper

__all__ = ["initial_params", "layer_norms", "runaway", "unit_norms", "units_at_bound", "weight_norm", "weights_at_test_time"]


def initial_params(
    keys: jax.Array,
    data: Dataset,
    hypers: Hyper,
    config: TrainConfig,
    *,
    grid_shape: Sequence[int] | None = None,
) -> Params:
    """The parameters that ``sweep(keys, data, hypers, config)`` starts from, before step 1.

    The same initialization the sweep uses (He-normal weights from the first
    half of each key, then the max-norm projection with each run's radius),
    with the batch axis reshaped to ``grid_shape`` like the sweep's params.
    """
    batch = keys.shape[0]
    grid_shape = tuple(grid_shape) if grid_shape is not None else (batch,)
    if int(np.prod(grid_shape)) != batch:
        raise ValueError(f"grid_shape {grid_shape} does not hold {batch} configurations")
    hypers = Hyper(*(np.broadcast_to(np.asarray(v, np.float32), (batch,)) for v in hypers))
    check_hyper(hypers)
    state = _init_compiled(keys, hypers, data, config=config.validate(), batched=True)
    return jax.tree.map(lambda leaf: np.asarray(leaf).reshape(grid_shape + leaf.shape[1:]), state.params)


def weight_norm(params: Params) -> np.ndarray:
    """``sqrt(sum_l ||W_l||_F^2)`` over the weight matrices (not biases), one value per grid entry."""
    squares = [np.sum(np.asarray(layer["w"], np.float64) ** 2, axis=(-2, -1)) for layer in params]
    return np.sqrt(sum(squares))


def layer_norms(params: Params) -> list[np.ndarray]:
    """Per layer, the Frobenius norm ``||W_l||_F`` of its weight matrix, one value per grid entry."""
    return [np.sqrt(np.sum(np.asarray(layer["w"], np.float64) ** 2, axis=(-2, -1))) for layer in params]


def weights_at_test_time(params: Params, rates: Sequence[float], *, inverted: bool) -> Params:
    """The weights as the network applies them at test time, layer by layer.

    An inverted-dropout (or plain) net multiplies its unscaled inputs by
    ``W_l`` at test time: returned unchanged. A direct-dropout net multiplies
    them by ``q_l W_l``, with ``q_l = 1 - rates[l]`` the keep probability of
    layer ``l``'s input: returned scaled. Two nets whose test-time weights
    (and biases) are equal compute the same test-time function. Biases are
    left alone.
    """
    if len(rates) != len(params):
        raise ValueError(f"need one rate per layer ({len(params)}), got {len(rates)}")
    keep = [1.0 - float(r) for r in rates]
    if not all(0.0 < q <= 1.0 for q in keep):
        raise ValueError(f"rates must lie in [0, 1), got {list(rates)}")
    if inverted:
        return [dict(layer) for layer in params]
    return [{**layer, "w": np.asarray(layer["w"]) * q} for layer, q in zip(params, keep)]


def runaway(start: Any, end: Any, factor: float = 3.0) -> np.ndarray:
    """``True`` where a norm ended above ``factor`` times its start, or is NaN or infinite.

    The comparison is written as ``not (end <= factor * start)`` so that a
    diverged run, whose norm is NaN, counts as a runaway.
    """
    if not factor > 1.0:
        raise ValueError(f"a runaway factor must exceed 1, got {factor!r}")
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    if np.any(~np.isfinite(start)) or np.any(start <= 0):
        raise ValueError("start norms must be positive and finite")
    return ~(end <= factor * start)


def unit_norms(params: Params) -> list[np.ndarray]:
    """Per layer, the norm of every unit's incoming weight vector, shape ``grid + (fan_out,)``."""
    return [np.linalg.norm(np.asarray(layer["w"], np.float64), axis=-2) for layer in params]


def units_at_bound(params: Params, c: Any, rtol: float = 1e-5) -> list[np.ndarray]:
    """Per layer, how many units have ``||w_j||_2 >= c (1 - rtol)``: those the projection holds.

    After the projection a held unit's norm is ``c`` up to float32 round-off
    (a relative error of about ``1e-7``), which ``rtol`` absorbs. ``c`` is a
    scalar or an array broadcasting against the grid axes.
    """
    if rtol < 0:
        raise ValueError(f"rtol must be non-negative, got {rtol!r}")
    radius = np.asarray(c, np.float64)
    return [np.sum(norms >= radius[..., None] * (1.0 - rtol), axis=-1) for norms in unit_norms(params)]
