"""Plain SGD with one learning-rate factor per parameter, and the ReLU rescaling that trades them.

**Per-layer rates.** :func:`sgd` trains an MLP (:mod:`dropoutlib.experiments.mlp`)
with plain SGD where layer ``l``'s weights move by ``-eta * factors[l]["w"] * grad``
and its bias by ``-eta * factors[l]["b"] * grad``. The direct net at one rate
``eta`` is the inverted net with the factor ``q^2`` on the weights that read a
dropped layer (:mod:`dropoutlib.experiments.reparam`), so per-layer factors
are what it takes to compare the two schemes layer by layer.

**Rescaling.** ReLU is positively homogeneous, ``relu(c z) = c relu(z)`` for
``c > 0``, and a dropout mask multiplies, so it commutes with the scaling.
Multiplying a hidden layer's incoming weights and bias by ``c`` and the next
layer's weights by ``1/c`` leaves the function unchanged
(:func:`rescale_hidden`). Gradients transform the other way,
``dL/d(cU) = dL/dU / c`` and ``dL/d(V/c) = c dL/dV``, so SGD with rates
``(eta_1, eta_2)`` on the two layers, started from ``(cU, V/c)``, follows
exactly the path of SGD with ``(eta_1 / c^2, eta_2 c^2)`` from ``(U, V)``:
only the product ``eta_1 eta_2`` of the two rates is invariant.

For a one-hidden-layer ReLU net with dropout on the hidden layer this gives
an exact statement about ONE global rate: the direct net at ``eta`` from
``(U, W)`` is the inverted net with rates ``(eta, q^2 eta)`` from ``(U, qW)``,
which by the rescaling with ``c = sqrt(q)`` is the inverted net at the
single rate ``q eta`` from ``(sqrt(q) U, sqrt(q) W)``, up to the output
bias, which keeps the rate ``eta`` (factor ``1/q`` in the inverted run).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib.experiments.data import N_CLASSES
from dropoutlib.experiments.mlp import Params, init_mlp, mlp_apply
from dropoutlib.experiments.train import TrainResult, cross_entropy

__all__ = [
    "LOSSES",
    "Factors",
    "broadcast_runs",
    "direct_as_inverted",
    "init_like_train",
    "rescale_hidden",
    "sgd",
    "sgd_batch",
    "squared_error",
    "sweep_learning_rates",
    "uniform",
]

Factors = Sequence[dict[str, Any]]  # one {"w": factor, "b": factor} per layer


def uniform(n_layers: int, w: ArrayLike = 1.0, b: ArrayLike = 1.0) -> list[dict[str, Any]]:
    """The same factors on every layer: ``[{"w": w, "b": b}] * n_layers``."""
    return [{"w": w, "b": b} for _ in range(n_layers)]


def squared_error(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``(1/2n) sum_i ||out_i - onehot(y_i)||^2``: the squared loss of a least-squares read-out."""
    target = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return 0.5 * jnp.mean(jnp.sum((logits - target) ** 2, axis=-1))


LOSSES = {"cross_entropy": cross_entropy, "squared": squared_error}


def init_like_train(key: jax.Array, sizes: Sequence[int]) -> tuple[Params, jax.Array]:
    """The initial weights and the run key that :func:`~dropoutlib.experiments.train.train` derives from ``key``.

    With them, :func:`sgd` with factors 1 and ``batch_size`` set draws the
    same initialization, minibatches and masks as ``train`` (SGD, one
    segment: ``eval_every == steps``).
    """
    init_key, run_key = jax.random.split(key)
    return init_mlp(init_key, sizes), run_key


def rescale_hidden(params: Params, gains: Sequence[ArrayLike]) -> Params:
    """Multiply hidden layer ``l``'s activations by ``gains[l] > 0`` without changing a ReLU net's function.

    Layer ``l``'s weights are multiplied by ``gains[l] / gains[l-1]``
    (``gains[-1] = 1`` for the input) and its bias by ``gains[l]``; the
    output layer's weights by ``1 / gains[-1]``, its bias not at all.
    """
    if len(gains) != len(params) - 1:
        raise ValueError(f"gains needs one entry per hidden layer ({len(params) - 1}), got {len(gains)}")
    before = [1.0, *gains]
    out = []
    for layer, p in enumerate(params):
        if layer < len(params) - 1:
            out.append({"w": p["w"] * (gains[layer] / before[layer]), "b": p["b"] * gains[layer]})
        else:
            out.append({"w": p["w"] / before[layer], "b": p["b"]})
    return out


def direct_as_inverted(params: Params, rate: float, learning_rate: ArrayLike) -> tuple[Params, ArrayLike, Factors]:
    """The inverted run that IS a direct run, for a one-hidden-layer ReLU net with dropout on the hidden layer.

    Given the direct net's initial ``params = [(U, b1), (W, b2)]``, its rate
    ``learning_rate`` and the hidden drop rate, returns the inverted net's
    initial weights ``(sqrt(q) U, sqrt(q) b1), (sqrt(q) W, b2)``, its single
    learning rate ``q * learning_rate`` and the factors (1 everywhere but
    ``1/q`` on the output bias) under which :func:`sgd` on the inverted net
    follows the direct net's path exactly (the module docstring derives it).
    """
    if len(params) != 2:
        raise ValueError(f"this identity is for one hidden layer (two weight layers), got {len(params)} layers")
    q = 1.0 - rate
    root = q**0.5
    inverted = rescale_hidden([params[0], {"w": params[1]["w"] * q, "b": params[1]["b"]}], [root])
    factors = [{"w": 1.0, "b": 1.0}, {"w": 1.0, "b": 1.0 / q}]
    return inverted, q * learning_rate, factors


def sgd(
    key: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    *,
    learning_rate: ArrayLike,
    rates: Sequence[ArrayLike],
    inverted: bool,
    steps: int,
    factors: Factors | None = None,
    batch_size: int | None = None,
    loss: str = "cross_entropy",
    probe: jax.Array | None = None,
    masks_per_example: int = 1,
) -> tuple[Params, jax.Array | None]:
    """``steps`` plain SGD steps with per-parameter rate factors; returns the final params and a trajectory.

    ``key`` is split into a mask key and a batch key as in
    :func:`~dropoutlib.experiments.train.train`: step ``t`` drops with
    ``fold_in(mask_key, t)`` and, if ``batch_size`` is set, draws
    ``batch_size`` examples uniformly with replacement using
    ``fold_in(batch_key, t)``; otherwise it uses all of ``x`` (full batch),
    repeated ``masks_per_example`` times with independent masks. The update
    is ``theta <- theta - learning_rate * factor * grad`` for every leaf.
    With ``probe`` the trajectory holds the test-mode outputs on ``probe``
    after every step, shape ``(steps, len(probe), outputs)``; otherwise it is
    None. Traceable in every array argument (``jax.vmap`` over a batch of
    runs).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if masks_per_example < 1:
        raise ValueError(f"masks_per_example must be at least 1, got {masks_per_example!r}")
    if batch_size is not None and masks_per_example != 1:
        raise ValueError("masks_per_example is for full-batch runs; leave batch_size None")
    factors = list(factors) if factors is not None else uniform(len(params))
    if len(factors) != len(params):
        raise ValueError(f"factors needs one entry per layer ({len(params)}), got {len(factors)}")
    objective = LOSSES[loss]
    mask_key, batch_key = jax.random.split(key)
    x_full = jnp.tile(x, (masks_per_example, 1))
    y_full = jnp.tile(y, masks_per_example)

    def step(p: Params, t: jax.Array) -> tuple[Params, Any]:
        if batch_size is None:
            xb, yb = x_full, y_full
        else:
            idx = jax.random.randint(jax.random.fold_in(batch_key, t), (batch_size,), 0, x.shape[0])
            xb, yb = x[idx], y[idx]

        def train_loss(p: Params) -> jax.Array:
            out = mlp_apply(p, xb, key=jax.random.fold_in(mask_key, t), rates=rates, inverted=inverted, train=True)
            return objective(out, yb)

        grads = jax.grad(train_loss)(p)
        new = [
            {name: leaf - learning_rate * f[name] * g[name] for name, leaf in layer.items()}
            for layer, g, f in zip(p, grads, factors)
        ]
        seen = None if probe is None else mlp_apply(new, probe, rates=rates, inverted=inverted, train=False)
        return new, seen

    final, trajectory = jax.lax.scan(step, params, jnp.arange(steps))
    return final, trajectory


def broadcast_runs(n_runs: int, rates: ArrayLike, factors: Factors) -> tuple[jax.Array, list[dict[str, jax.Array]]]:
    """``rates`` as ``(n_runs, layers)`` and every factor as ``(n_runs,)``, broadcasting shared values."""
    rates = jnp.asarray(rates, jnp.float32)
    rates = jnp.broadcast_to(rates, (n_runs, rates.shape[-1]))
    factors = [{name: jnp.broadcast_to(jnp.asarray(v, jnp.float32), (n_runs,)) for name, v in f.items()} for f in factors]
    return rates, factors


@functools.partial(jax.jit, static_argnames=("inverted", "steps", "batch_size", "loss"))
def _sgd_batch(keys, params, x, y, learning_rates, rates, factors, *, inverted, steps, batch_size, loss):
    def one(key, p, lr, r, f):
        final, _ = sgd(
            key, p, x, y, learning_rate=lr, rates=list(r), inverted=inverted, steps=steps, factors=f,
            batch_size=batch_size, loss=loss,
        )
        return final

    return jax.vmap(one)(keys, params, learning_rates, rates, factors)


def sgd_batch(
    keys: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    learning_rates: ArrayLike,
    rates: ArrayLike,
    factors: Factors | None = None,
    *,
    inverted: bool,
    steps: int,
    batch_size: int | None = None,
    loss: str = "cross_entropy",
) -> Params:
    """:func:`sgd` for a batch of runs at once (one ``jax.vmap``); returns the final params only.

    ``keys``, every leaf of ``params`` and ``learning_rates`` carry a leading
    axis of runs. ``rates`` (one drop rate per layer) and each factor are
    either shared, shape ``(layers,)`` and scalars, or per run, with the same
    leading axis.
    """
    n_runs = keys.shape[0]
    factors = list(factors) if factors is not None else uniform(len(params))
    rates, factors = broadcast_runs(n_runs, rates, factors)
    lrs = jnp.broadcast_to(jnp.asarray(learning_rates, jnp.float32), (n_runs,))
    return _sgd_batch(keys, params, x, y, lrs, rates, factors, inverted=inverted, steps=steps, batch_size=batch_size, loss=loss)


def sweep_learning_rates(
    seeds: Sequence[int],
    data: Any,
    *,
    hidden: Sequence[int],
    learning_rates: Sequence[float],
    rates: Sequence[float],
    factors: Factors | None = None,
    inverted: bool = True,
    steps: int,
    batch_size: int | None = None,
) -> TrainResult:
    """Every seed at every learning rate, with per-parameter factors: a ``TrainResult`` on the grid ``(seeds, rates)``.

    Seed ``s`` starts from the initialization that
    :func:`~dropoutlib.experiments.train.train` draws from
    ``jax.random.key(s)`` and uses its minibatches and masks
    (:func:`init_like_train`), so runs here are paired with the runs of a
    :func:`~dropoutlib.experiments.train.sweep` over the same seeds. The
    result carries final parameters only (no curves), for
    :func:`~dropoutlib.experiments.train.per_example_scores`.
    """
    sizes = (data.train.x.shape[1], *hidden, N_CLASSES)
    starts = [init_like_train(jax.random.key(int(s)), sizes) for s in seeds]
    n_lr = len(learning_rates)
    params = jax.tree.map(lambda *leaves: jnp.repeat(jnp.stack(leaves), n_lr, axis=0), *[p for p, _ in starts])
    keys = jnp.repeat(jnp.stack([k for _, k in starts]), n_lr, axis=0)
    lrs = jnp.tile(jnp.asarray(learning_rates, jnp.float32), len(seeds))
    final = sgd_batch(
        keys, params, data.train.x, data.train.y, lrs, list(rates), factors,
        inverted=inverted, steps=steps, batch_size=batch_size,
    )
    grid = (len(seeds), n_lr)
    final = jax.tree.map(lambda leaf: leaf.reshape(grid + leaf.shape[1:]), final)
    return TrainResult(final, {}, grid)
