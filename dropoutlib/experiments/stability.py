"""How large a plain-SGD learning rate a dropout network tolerates, and the curvature behind it.

Three networks are compared: one without dropout, one with direct dropout
(train ``a = m * h``) and one with inverted dropout (train ``a = m * h / q``),
where ``m_i ~ Bernoulli(q)`` and ``q = 1 - p``.

**Curvature averaged over masks.** A layer that reads the dropped vector
``a`` has, for a squared loss, the Hessian ``E_m[a a^T]`` per output unit
(averaged over the examples too). Per example, with ``G = h h^T``:

* no dropout: ``E[a a^T] = G``;
* inverted: ``E[a_i a_j] = h_i h_j`` for ``i != j`` and ``E[a_i^2] = h_i^2 / q``,
  so ``E[a a^T] = G + (p / q) diag(G)``: only the diagonal grows, by ``1 / q``;
* direct: ``E[a a^T] = q^2 G + p q diag(G)``: the diagonal scales by ``q``, the
  rest by ``q^2``; it is exactly ``q^2`` times the inverted one.

Gradient descent on a quadratic with Hessian ``H`` is stable while
``eta < 2 / lambda_max(H)``. So the predicted edges are ``2 / lambda_max``
of these matrices (:func:`expected_second_moment`, :func:`predicted_edge`):
inverted sits at exactly ``q^2`` times direct, and at between ``q`` and ``1``
times no dropout (``q`` when the diagonal dominates ``G``, ``1`` when the
off-diagonal does); direct sits at between ``1 / q`` and ``1 / q^2`` times no
dropout. A fresh mask every step adds noise on top of this average, which
can only lower the edge; averaging each step's gradient over several masks
per example (``masks_per_example``) removes that noise.

**Measuring the edge.** :func:`largest_stable_lr` bisects, on a log scale,
between a learning rate that is stable and one that is not: a run of
``steps`` full-batch SGD steps counts as stable when its final loss (test
mode, on the training data) is finite and no larger than its initial loss.
Bisection assumes that every rate below the edge is stable and every rate
above is not (the tests check it on a grid). It is a pure function of its
arguments, so a whole grid of seeds, rates and schemes runs as one
``jax.vmap`` (:func:`largest_stable_lr_batch`); :func:`edge_ratio` compares
two sets of paired edges.

:func:`top_hessian_eigenvalue` estimates ``lambda_max`` of the mask-averaged
Hessian of any network by power iteration on Hessian-vector products.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from dropoutlib.experiments.compare import paired_difference
from dropoutlib.experiments.layer_rates import LOSSES, Factors, broadcast_runs, sgd, uniform
from dropoutlib.experiments.mlp import Params, mlp_apply

__all__ = [
    "SCHEMES",
    "edge_ratio",
    "expected_second_moment",
    "largest_stable_lr",
    "largest_stable_lr_batch",
    "mask_averaged_sharpness",
    "predicted_edge",
    "run_is_stable",
    "top_hessian_eigenvalue",
]

SCHEMES = ("none", "direct", "inverted")


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def expected_second_moment(h: ArrayLike, rate: float, scheme: str) -> jax.Array:
    """``E_m[a a^T]`` averaged over the rows of ``h``, for ``a`` the dropped ``h``.

    ``h`` has shape ``(examples, features)``; the result is ``(features,
    features)``. With ``G = h^T h / n``: ``G`` (``"none"``), ``G + (p/q)
    diag(G)`` (``"inverted"``), ``q^2 G + p q diag(G)`` (``"direct"``).
    """
    _check_scheme(scheme)
    h = jnp.asarray(h)
    if h.ndim != 2:
        raise ValueError(f"h must have shape (examples, features), got {h.shape}")
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"rate must be in [0, 1), got {rate!r}")
    gram = h.T @ h / h.shape[0]
    p = float(rate) if scheme != "none" else 0.0
    q = 1.0 - p
    diag = jnp.diag(jnp.diag(gram))
    if scheme == "direct":
        return q**2 * gram + p * q * diag
    return gram + (p / q) * diag


def predicted_edge(h: ArrayLike, rate: float, scheme: str) -> float:
    """``2 / lambda_max(E_m[a a^T])``: the largest stable SGD rate of a squared-loss read-out of ``h``.

    For the loss ``(1/2n) sum_i ||W^T a_i - y_i||^2`` (no bias), whose Hessian
    in each output's weights is :func:`expected_second_moment`, averaged over
    masks.
    """
    moment = expected_second_moment(h, rate, scheme)
    return float(2.0 / jnp.linalg.eigvalsh(moment)[-1])


def run_is_stable(
    key: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    learning_rate: ArrayLike,
    *,
    rates: Sequence[ArrayLike],
    inverted: bool,
    loss: str = "cross_entropy",
    steps: int = 100,
    masks_per_example: int = 1,
    factors: Factors | None = None,
) -> jax.Array:
    """Whether ``steps`` full-batch SGD steps at ``learning_rate`` leave the loss finite and no higher.

    The run is :func:`~dropoutlib.experiments.layer_rates.sgd` (fresh masks
    every step, ``masks_per_example`` independent masks per example,
    optional per-parameter ``factors``). The loss compared is the test-mode
    loss on ``x``, before and after. Traceable in ``learning_rate``,
    ``rates`` and ``params``.
    """
    objective = LOSSES[loss] if loss in LOSSES else None
    if objective is None:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    final, _ = sgd(
        key, params, x, y, learning_rate=learning_rate, rates=rates, inverted=inverted, steps=steps,
        factors=factors, loss=loss, masks_per_example=masks_per_example,
    )

    def evaluate(p: Params) -> jax.Array:
        return objective(mlp_apply(p, x, rates=rates, inverted=inverted, train=False), y)

    before, after = evaluate(params), evaluate(final)
    return jnp.isfinite(after) & (after <= before)


def largest_stable_lr(
    key: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    *,
    low: float,
    high: float,
    iterations: int = 10,
    **run: Any,
) -> tuple[jax.Array, jax.Array]:
    """Bracket the largest stable learning rate by bisection in ``log(eta)``.

    Starts from ``[low, high]`` and halves the bracket (geometrically)
    ``iterations`` times with :func:`run_is_stable` (``run`` holds its
    keyword arguments); every trial uses the same ``key``, hence the same
    masks. Returns ``(lo, hi)``: the largest rate found stable and the
    smallest found unstable, so ``hi / lo = (high / low)^(2^-iterations)``.
    If ``low`` itself is unstable, ``lo`` stays ``low`` (check with
    :func:`run_is_stable`); if ``high`` were stable, ``hi`` stays ``high``.
    Traceable (``jax.vmap`` over keys, params and rates).
    """
    if not 0.0 < low < high:
        raise ValueError(f"need 0 < low < high, got low={low!r}, high={high!r}")

    def body(_: int, bracket: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        lo, hi = bracket
        mid = jnp.sqrt(lo * hi)
        ok = run_is_stable(key, params, x, y, mid, **run)
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    start = (jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32))
    return jax.lax.fori_loop(0, iterations, body, start)


@functools.partial(
    jax.jit, static_argnames=("low", "high", "inverted", "loss", "steps", "masks_per_example", "iterations")
)
def _edges(keys, params, x, y, rates, factors, *, low, high, inverted, loss, steps, masks_per_example, iterations):
    def one(key, p, r, f):
        return largest_stable_lr(
            key, p, x, y, low=low, high=high, iterations=iterations, rates=list(r), inverted=inverted, loss=loss,
            steps=steps, masks_per_example=masks_per_example, factors=f,
        )

    return jax.vmap(one)(keys, params, rates, factors)


def largest_stable_lr_batch(
    keys: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    rates: ArrayLike,
    factors: Factors | None = None,
    *,
    low: float,
    high: float,
    iterations: int = 10,
    inverted: bool,
    loss: str = "cross_entropy",
    steps: int = 100,
    masks_per_example: int = 1,
) -> tuple[jax.Array, jax.Array]:
    """:func:`largest_stable_lr` for a batch of runs (one ``jax.vmap``): the brackets ``(lo, hi)``, one per run.

    ``keys`` and every leaf of ``params`` carry a leading axis of runs;
    ``rates`` (one drop rate per layer) and each factor are shared or per run
    (see :func:`~dropoutlib.experiments.layer_rates.broadcast_runs`). Raises
    ``ValueError`` when an edge is not inside ``(low, high)``: a bracket
    that never moved off an end says nothing about where the edge is.
    """
    if not 0.0 < low < high:
        raise ValueError(f"need 0 < low < high, got low={low!r}, high={high!r}")
    factors = list(factors) if factors is not None else uniform(len(params))
    rates, factors = broadcast_runs(keys.shape[0], rates, factors)
    lo, hi = _edges(
        keys, params, x, y, rates, factors, low=float(low), high=float(high), inverted=inverted, loss=loss, steps=steps,
        masks_per_example=masks_per_example, iterations=iterations,
    )
    if bool(jnp.any(lo <= low)) or bool(jnp.any(hi >= high)):
        raise ValueError(f"an edge lies outside [{low}, {high}] (or at its end); widen the bracket")
    return lo, hi


def edge_ratio(a_lo: ArrayLike, a_hi: ArrayLike, b_lo: ArrayLike, b_hi: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """The ratio of two sets of paired edges, ``a / b``, with an interval: ``(ratio, low, high)``.

    Each edge is known as a bracket ``[lo, hi]`` from bisection; its point
    value is the geometric midpoint. The ratio is ``exp`` of the mean paired
    difference of log-midpoints, and the interval the paired t interval over
    seeds (:func:`~dropoutlib.experiments.compare.paired_difference`), widened
    on each side by the brackets' half-widths in log scale
    (``log(hi/lo)/2`` for each of the two edges), so that the resolution of
    the bisection is part of it.
    """
    log_a = 0.5 * (np.log(np.asarray(a_lo, float)) + np.log(np.asarray(a_hi, float)))
    log_b = 0.5 * (np.log(np.asarray(b_lo, float)) + np.log(np.asarray(b_hi, float)))
    resolution = 0.5 * (np.max(np.log(np.asarray(a_hi, float) / np.asarray(a_lo, float)))
                        + np.max(np.log(np.asarray(b_hi, float) / np.asarray(b_lo, float))))
    diff = paired_difference(log_a, log_b, confidence=confidence)
    return float(np.exp(diff.mean)), float(np.exp(diff.low - resolution)), float(np.exp(diff.high + resolution))


def top_hessian_eigenvalue(
    loss: Callable[[Params], jax.Array], params: Params, *, key: jax.Array, iterations: int = 50
) -> jax.Array:
    """``lambda_max`` of the Hessian of ``loss`` at ``params``, by power iteration.

    Each iteration is one Hessian-vector product (forward-over-reverse
    differentiation). For a mask-averaged Hessian, let ``loss`` average the
    training loss over a few fixed masks. Power iteration converges to the
    eigenvalue of largest magnitude; near a minimum, where the Hessian is
    nearly positive semi-definite, that is ``lambda_max``.
    """
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    start = jax.tree.unflatten(tree, [jax.random.normal(k, leaf.shape, leaf.dtype) for k, leaf in zip(keys, leaves)])

    def hvp(v: Params) -> Params:
        return jax.jvp(jax.grad(loss), (params,), (v,))[1]

    def norm(v: Params) -> jax.Array:
        return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(v)))

    def body(_: int, v: Params) -> Params:
        w = hvp(v)
        scale = norm(w)
        return jax.tree.map(lambda leaf: leaf / scale, w)

    v = jax.lax.fori_loop(0, iterations, body, start)
    scale = norm(v)
    v = jax.tree.map(lambda leaf: leaf / scale, v)
    return sum(jnp.sum(a * b) for a, b in zip(jax.tree.leaves(v), jax.tree.leaves(hvp(v))))


@functools.partial(jax.jit, static_argnames=("inverted", "loss", "masks", "iterations"))
def mask_averaged_sharpness(
    keys: jax.Array,
    params: Params,
    x: jax.Array,
    y: jax.Array,
    rates: jax.Array,
    *,
    inverted: bool,
    loss: str = "cross_entropy",
    masks: int = 4,
    iterations: int = 30,
) -> jax.Array:
    """``lambda_max`` of the training loss's Hessian averaged over ``masks`` masks, for a batch of nets.

    ``keys`` and every leaf of ``params`` carry a leading axis of nets;
    ``rates`` holds one drop rate per layer, shared. Net ``i`` averages its
    loss over the masks ``split(keys[i], masks)`` and runs
    :func:`top_hessian_eigenvalue` from a start drawn from ``keys[i]``.
    ``2 / lambda_max`` is then the edge that the curvature predicts at these
    weights.
    """
    objective = LOSSES[loss]

    def one(key: jax.Array, p: Params) -> jax.Array:
        mask_keys = jax.random.split(key, masks)

        def averaged(q: Params) -> jax.Array:
            def single(k: jax.Array) -> jax.Array:
                return objective(mlp_apply(q, x, key=k, rates=list(rates), inverted=inverted, train=True), y)

            return jnp.mean(jax.vmap(single)(mask_keys))

        return top_hessian_eigenvalue(averaged, p, key=jax.random.fold_in(key, 1), iterations=iterations)

    return jax.vmap(one)(keys, params)
