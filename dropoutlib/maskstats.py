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

Dependence shows in a variance. :func:`bernoulli_sum_variance_z` (and its
special case :func:`count_variance_z`) compares the sample variance of a
weighted sum of mask entries with its value under independence, with the
standard error that the hypothesis itself implies, so a faulty sampler cannot
shrink or inflate its own yardstick.

Many z-scores or p-values read together are held to one bound:
:func:`z_check` and :func:`p_check` return a verdict object whose ``passed``
a notebook asserts, so that a regression stops it instead of leaving
"passes" next to a bad number. Both use the two-sided 4-sigma level,
``alpha = 2 Phi(-4)`` (about 6.3e-5), corrected for the number of tests
(Bonferroni).
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist
from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability
from dropoutlib.dropout import dropout

__all__ = [
    "PCheck",
    "UnitFrequencyTest",
    "ZCheck",
    "bernoulli_sum_variance_z",
    "bonferroni_p",
    "bonferroni_z",
    "count_variance_z",
    "dropped_masks",
    "p_check",
    "unit_frequency_test",
    "z_check",
]


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


def _two_sided_alpha(z: float) -> float:
    """``2 Phi(-z)``, the chance that a standard normal misses 0 by ``z`` or more."""
    return math.erfc(z / math.sqrt(2.0))


def bonferroni_z(tests: int, z: float = 4.0) -> float:
    """The two-sided z-bound for ``tests`` tests that, together, fail as rarely as one test at ``z``.

    One ``|Z| > z`` test fails with probability ``a = 2 Phi(-z)`` (6.3e-5 at
    ``z = 4``). Holding the largest of ``tests`` independent ``|Z|`` to the
    bound ``Phi^{-1}(1 - a / (2 tests))`` fails with probability at most ``a``
    (Bonferroni). Computed with the standard library, so that a notebook that
    only holds z-scores need not import SciPy.
    """
    if tests < 1:
        raise ValueError(f"tests must be at least 1, got {tests!r}")
    return float(-NormalDist().inv_cdf(_two_sided_alpha(z) / (2.0 * tests)))


def bonferroni_p(tests: int, z: float = 4.0) -> float:
    """The p-value bound for ``tests`` tests that, together, fail as rarely as one test at ``z``.

    ``alpha / tests`` with ``alpha = 2 Phi(-z)``: holding the smallest of
    ``tests`` p-values above it fails with probability at most ``alpha``.
    """
    if tests < 1:
        raise ValueError(f"tests must be at least 1, got {tests!r}")
    return _two_sided_alpha(z) / tests


class ZCheck(NamedTuple):
    """``tests`` z-scores held together to a Bonferroni bound (see :func:`z_check`)."""

    tests: int  # how many z-scores
    max_abs_z: float  # the largest |z|
    bound: float  # bonferroni_z(tests, level)

    @property
    def passed(self) -> bool:
        """True when every ``|z|`` is below the bound (NaN never passes)."""
        return bool(self.max_abs_z < self.bound)


def z_check(z: ArrayLike | Sequence[float], level: float = 4.0) -> ZCheck:
    """Hold a group of z-scores together: the largest ``|z|`` against :func:`bonferroni_z`.

    Under the hypothesis each ``z_i`` is (about) standard normal, and
    ``P(max_i |z_i| >= bonferroni_z(k, level)) <= 2 Phi(-level)`` for ``k``
    of them, whatever their dependence. A NaN z-score makes the check fail.
    """
    z = np.asarray(z, dtype=np.float64).ravel()
    if z.size == 0:
        raise ValueError("z_check needs at least one z-score")
    worst = float(np.max(np.abs(z))) if not np.isnan(z).any() else math.nan
    return ZCheck(int(z.size), worst, bonferroni_z(int(z.size), level))


class PCheck(NamedTuple):
    """``tests`` p-values held together (see :func:`p_check`)."""

    tests: int  # how many p-values
    min_p: float  # the smallest
    bound: float  # bonferroni_p(tests, level): min_p must be above it
    combined_p: float  # Fisher's combination of all of them
    alpha: float  # 2 Phi(-level): combined_p must be above it

    @property
    def passed(self) -> bool:
        """True when the smallest p-value and the combined one both clear their bounds."""
        return bool(self.min_p > self.bound and self.combined_p > self.alpha)


def p_check(pvalues: ArrayLike | Sequence[float], level: float = 4.0) -> PCheck:
    """Hold a group of independent p-values together, two ways at once.

    * the smallest against ``alpha / k`` (Bonferroni), which catches one test
      that fails badly;
    * Fisher's combination, ``-2 sum_i log p_i ~ chi2_{2k}`` when every
      ``p_i`` is uniform and they are independent, against ``alpha``, which
      catches many tests that each lean the same way.

    ``alpha = 2 Phi(-level)``. Each criterion alone wrongly rejects with
    probability at most ``alpha``; the pair at most ``2 alpha``. P-values of
    discrete statistics (a chi-square on counts) are uniform only
    approximately.
    """
    from scipy.stats import chi2

    p = np.asarray(pvalues, dtype=np.float64).ravel()
    if p.size == 0 or np.any(~(p >= 0) | (p > 1)):
        raise ValueError(f"p_check needs p-values in [0, 1], got {p!r}")
    with np.errstate(divide="ignore"):
        fisher = float(chi2.sf(-2.0 * np.sum(np.log(p)), 2 * p.size))
    return PCheck(int(p.size), float(p.min()), bonferroni_p(int(p.size), level), fisher, _two_sided_alpha(level))


def bernoulli_sum_variance_z(samples: ArrayLike, coefficients: ArrayLike, rate: float) -> float:
    """z-score of the sample variance of ``s = c_0 + sum_i c_i r_i`` under independent masks.

    ``samples`` are draws of ``s``, one per step; ``r_i`` are mask entries,
    Bernoulli with ``P(r_i = 1) = q`` or ``p`` (the moments used are symmetric
    in ``p`` and ``q``), independent across ``i`` and across steps under the
    hypothesis. Cumulants of independent terms add, so

    .. math:: \\sigma^2 = \\kappa_2 = p q \\sum_i c_i^2, \\qquad
              \\kappa_4 = p q (1 - 6 p q) \\sum_i c_i^4, \\qquad
              \\mu_4 = \\kappa_4 + 3 \\kappa_2^2 .

    The unbiased sample variance ``v`` of ``N`` independent draws has
    ``Var[v] = mu_4 / N - sigma^4 (N - 3) / (N (N - 1))``, and the z-score
    is ``(v - sigma^2) / sqrt(Var[v])``. The standard error comes from the
    hypothesis, not from the sample, so a faulty sampler (repeated or shared
    masks) is measured against the yardstick of a correct one. For a single
    entry (one coefficient) at ``p = 1/2``, ``mu_4 = sigma^4`` and ``Var[v]``
    is only of order ``1/N^2``: the sample variance of fair coin flips is
    ``m (1 - m)``, flat at ``m = 1/2``, so it carries no first-order test.
    """
    check_probability(rate, "rate")
    p = float(rate)
    if not 0.0 < p < 1.0:
        raise ValueError(f"the variance test needs 0 < rate < 1, got {rate!r}")
    s = np.asarray(samples, dtype=np.float64).ravel()
    c = np.asarray(coefficients, dtype=np.float64).ravel()
    if s.size < 4:
        raise ValueError(f"the variance test needs at least 4 samples, got {s.size}")
    pq = p * (1.0 - p)
    kappa2 = pq * float(np.sum(c**2))
    if not kappa2 > 0:
        raise ValueError("the coefficients are all zero: s is not random")
    mu4 = pq * (1.0 - 6.0 * pq) * float(np.sum(c**4)) + 3.0 * kappa2**2
    n = s.size
    var_of_v = mu4 / n - kappa2**2 * (n - 3) / (n * (n - 1))
    return float((np.var(s, ddof=1) - kappa2) / math.sqrt(var_of_v))


def count_variance_z(counts: ArrayLike, n: int, rate: float) -> float:
    """z-score of the sample variance of ``Binomial(n, rate)`` counts against ``n p q``.

    The special case ``c_i = 1`` of :func:`bernoulli_sum_variance_z`: under
    the hypothesis ``mu_4 = n p q (1 + 3 (n - 2) p q)``, so the standard
    error of the sample variance is known without looking at the sample.
    """
    return bernoulli_sum_variance_z(counts, np.ones(int(n)), rate)


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
