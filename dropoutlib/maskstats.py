"""Masks drawn the way training draws them, and two tests of their statistics.

A training loop does not draw one big mask: at step ``t`` it derives a key
``jax.random.fold_in(key, t)`` and draws that step's mask from it (as
:func:`dropoutlib.experiments.train` does). :func:`dropped_masks` draws
``steps`` masks exactly that way, through :func:`dropoutlib.dropout`, so a
test of its output tests what a network sees.

Two tests look at a ``(steps, units)`` array of drop indicators
``d_{t i} = 1 - r_{t i}`` from two directions:

* across a row, the dropped count ``Y_t = sum_i d_{t i}`` is
  ``Binomial(units, p)`` (:func:`dropoutlib.dropped_count_chisquare`);
* down a column, the number of steps in which unit ``i`` was dropped,
  ``K_i = sum_t d_{t i}``, is ``Binomial(steps, p)`` for EVERY unit
  (:func:`unit_frequency_test`).

They see different faults. A generator that drops some unit positions more
often than others (``p + delta`` on half the units, ``p - delta`` on the
other half) leaves the mean of ``Y_t`` unchanged and its variance almost so
(``n (p q - delta^2)`` instead of ``n p q``): the count test is blind to it,
the per-unit test is not.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability
from dropoutlib.dropout import dropout

__all__ = ["UnitFrequencyTest", "bonferroni_z", "dropped_masks", "unit_frequency_test"]


def _fold_in(key: jax.Array, step: jax.Array) -> jax.Array:
    return jax.random.fold_in(key, step)


@functools.partial(jax.jit, static_argnames=("shape", "steps", "impl", "broadcast_dims", "step_key"))
def _dropped_masks(key, rate, shape, steps, impl, broadcast_dims, step_key):
    ones = jnp.ones(shape, jnp.float32)

    def one_step(t: jax.Array) -> jax.Array:
        out = dropout(step_key(key, t), ones, rate, inverted=False, impl=impl, broadcast_dims=broadcast_dims)
        return out == 0

    return jax.vmap(one_step)(jnp.arange(steps, dtype=jnp.uint32))


def dropped_masks(
    key: jax.Array,
    rate: ArrayLike,
    shape: Sequence[int],
    steps: int,
    *,
    impl: str = "hash",
    broadcast_dims: int | Sequence[int] = (),
    step_key: Callable[[jax.Array, jax.Array], jax.Array] = _fold_in,
) -> jax.Array:
    """``steps`` dropout masks of ``shape``, one per training step; True = dropped.

    Step ``t`` applies :func:`dropoutlib.dropout` (direct form, so kept
    entries stay exactly 1) to an array of ones with the key
    ``step_key(key, t)``, by default ``jax.random.fold_in(key, t)``, and
    records which entries came out 0. Passing another ``step_key`` draws the
    masks of a faulty training loop, e.g. ``lambda k, t: k`` (one key reused
    every step: the same mask forever). The draw is compiled once per
    ``(shape, steps, impl, broadcast_dims, step_key)``; ``key`` and ``rate``
    may change freely.

    Returns:
      A bool array of shape ``(steps, *shape)``.
    """
    check_probability(rate, "rate")
    dims = (int(broadcast_dims),) if isinstance(broadcast_dims, int) else tuple(int(d) for d in broadcast_dims)
    shape = tuple(int(s) for s in shape)
    return _dropped_masks(key, jnp.float32(rate), shape, int(steps), impl, dims, step_key)


def bonferroni_z(tests: int, z: float = 4.0) -> float:
    """The two-sided z-bound for ``tests`` tests that, together, fail as rarely as one test at ``z``.

    One ``|Z| > z`` test fails with probability ``a = 2 Phi(-z)`` (6.3e-5 at
    ``z = 4``). Holding the largest of ``tests`` independent ``|Z|`` to the
    bound ``Phi^{-1}(1 - a / (2 tests))`` fails with probability at most ``a``
    (Bonferroni).
    """
    from scipy.stats import norm

    if tests < 1:
        raise ValueError(f"tests must be at least 1, got {tests!r}")
    alpha = 2.0 * norm.sf(z)
    return float(norm.isf(alpha / (2.0 * tests)))


class UnitFrequencyTest(NamedTuple):
    """Result of :func:`unit_frequency_test`."""

    statistic: float  # sum_i z_i^2
    dof: int  # the number of units
    p_value: float  # P(chi2_dof >= statistic)
    max_abs_z: float  # the largest |z_i|
    z_bound: float  # bonferroni_z(units): max_abs_z above it fails at the 4-sigma level


def unit_frequency_test(dropped: ArrayLike, rate: float) -> UnitFrequencyTest:
    """Does every unit drop with probability ``rate``? A test on the columns of ``dropped``.

    ``dropped`` has shape ``(steps, units)`` (further axes are flattened into
    units). Under the hypothesis the count ``K_i`` of steps in which unit ``i``
    dropped is ``Binomial(T, p)``, ``T = steps``, independently across units, so

    .. math:: z_i = \\frac{K_i - T p}{\\sqrt{T p q}}, \\qquad
              X^2 = \\sum_i z_i^2 \\;\\approx\\; \\chi^2_{\\text{units}}

    (``p`` is known, so no degree of freedom is spent on estimating it). A
    bias shared by all units shows in the sum; a bias at a few positions
    shows in ``max |z_i|``, which is compared with :func:`bonferroni_z`.
    Needs ``0 < rate < 1`` (otherwise every ``K_i`` is fixed and there is
    nothing to test).
    """
    from scipy.stats import chi2

    check_probability(rate, "rate")
    p = float(rate)
    if not 0.0 < p < 1.0:
        raise ValueError(f"the per-unit test needs 0 < rate < 1, got {rate!r}")
    dropped = np.asarray(dropped)
    if dropped.ndim < 2:
        raise ValueError(f"dropped must have shape (steps, units, ...), got {dropped.shape}")
    steps = dropped.shape[0]
    counts = dropped.reshape(steps, -1).sum(axis=0, dtype=np.int64).astype(np.float64)
    z = (counts - steps * p) / math.sqrt(steps * p * (1.0 - p))
    statistic = float(np.sum(z**2))
    dof = int(z.size)
    return UnitFrequencyTest(statistic, dof, float(chi2.sf(statistic, dof)), float(np.max(np.abs(z))), bonferroni_z(dof))
