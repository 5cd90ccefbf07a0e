"""How many of a layer's ``n`` units dropout drops: ``Y ~ Binomial(n, p)``.

Every unit is dropped independently with probability ``p``, so the count of
dropped units is a sum of ``n`` independent Bernoulli(p) variables:

.. math:: P(Y = k) = \\binom{n}{k} p^k q^{n-k}, \\qquad k = 0, \\dots, n.

The factor ``p^k q^(n-k)`` is the probability of one particular pattern with
``k`` drops; the binomial coefficient counts the patterns.

Evaluating that product directly breaks down early: ``C(1024, 512)``, about
``4.48e306``, still fits in a float64, but ``2^1024`` and ``C(1030, 515)`` do
not, and ``p^k q^(n-k)`` underflows to 0 long before ``n = 100000`` (at
``n = 10000``, ``p = 0.1``, ``k = 1000`` already). Here it is computed in
float64 and in log space with Loader's saddle-point form, the algorithm
behind R's ``dbinom``: it rewrites the log-pmf as a sum of small, accurately
computable terms, so the result is exact to a few units of round-off.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import gammaln

from dropoutlib._checks import check_probability

__all__ = [
    "chernoff_bound",
    "dropped_count_cdf",
    "dropped_count_chisquare",
    "dropped_count_interval",
    "dropped_count_logpmf",
    "dropped_count_pmf",
    "dropped_fraction_tail",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _check_count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        if isinstance(n, numbers.Real) and float(n).is_integer() and not isinstance(n, bool):
            n = int(n)
        else:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _stirling_error(m: np.ndarray) -> np.ndarray:
    """``log(m!) - log(sqrt(2 pi m) (m/e)^m)`` for integers ``m >= 1``.

    Small ``m`` use ``gammaln`` (the difference is O(1), so no cancellation
    worth the name); large ``m`` use the asymptotic series, whose first
    omitted term is below 1e-17 for ``m > 15``.
    """
    m = np.asarray(m, dtype=np.float64)
    small = m <= 15
    safe = np.where(small, 16.0, m)
    inv = 1.0 / safe
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))))
    direct_m = np.where(small, m, 1.0)
    direct = gammaln(direct_m + 1.0) - (direct_m + 0.5) * np.log(direct_m) + direct_m - _HALF_LOG_2PI
    return np.where(small, direct, series)


def _deviance(x: np.ndarray, mean: float) -> np.ndarray:
    """``x log(x / mean) + mean - x`` without cancellation when ``x ~ mean``."""
    x = np.asarray(x, dtype=np.float64)
    near = np.abs(x - mean) < 0.1 * (x + mean)
    v = (x - mean) / (x + mean)
    # Series: (x - mean) v + 2 x sum_{j>=1} v^(2j+1) / (2j + 1); |v| < 0.1 so
    # twelve terms are far below float64 round-off.
    total = (x - mean) * v
    term = 2.0 * x * v
    v2 = v * v
    for j in range(1, 13):
        term = term * v2
        total = total + term / (2 * j + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = x * np.log(x / mean) + mean - x
    return np.where(near, total, plain)


def dropped_count_logpmf(n: int, rate: float) -> np.ndarray:
    """``log P(Y = k)`` for ``k = 0..n``, ``Y ~ Binomial(n, rate)``, in float64.

    Impossible counts get ``-inf``. See :func:`dropped_count_pmf`.
    """
    n = _check_count(n)
    check_probability(rate, "rate")
    p = float(rate)
    q = 1.0 - p
    k = np.arange(n + 1, dtype=np.float64)
    if p == 0.0 or p == 1.0:
        out = np.full(n + 1, -np.inf)
        out[0 if p == 0.0 else n] = 0.0
        return out
    out = np.empty(n + 1)
    out[0] = n * math.log1p(-p)
    out[n] = n * math.log(p)
    if n >= 2:
        inner = k[1:n]
        log_c = (
            _stirling_error(np.float64(n))
            - _stirling_error(inner)
            - _stirling_error(n - inner)
            - _deviance(inner, n * p)
            - _deviance(n - inner, n * q)
        )
        log_f = 2.0 * _HALF_LOG_2PI + np.log(inner) + np.log1p(-inner / n)
        out[1:n] = log_c - 0.5 * log_f
    return out


def dropped_count_pmf(n: int, rate: float) -> np.ndarray:
    """``P(Y = k)`` for ``k = 0..n``: the chance that exactly ``k`` of ``n`` units drop.

    .. math:: P(Y = k) = \\binom{n}{k} p^k (1 - p)^{n - k}

    Computed in float64 in log space (Loader's saddle-point form), so it is
    accurate to round-off and finite for any ``n`` (100000 and far beyond);
    ``rate = 0`` and ``rate = 1`` give exact point masses.

    Args:
      n: number of units, a non-negative integer.
      rate: drop probability ``p`` in [0, 1].

    Returns:
      A float64 array of length ``n + 1`` that sums to 1 up to round-off.

    Raises:
      ValueError: for a negative or non-integer ``n``, or ``rate`` outside
        [0, 1] or NaN, naming the value.
    """
    return np.exp(dropped_count_logpmf(n, rate))


def dropped_count_cdf(n: int, rate: float) -> np.ndarray:
    """``P(Y <= k)`` for ``k = 0..n``, clipped to [0, 1] against round-off."""
    return np.clip(np.cumsum(dropped_count_pmf(n, rate)), 0.0, 1.0)


def dropped_count_interval(n: int, rate: float, confidence: float = 0.95) -> tuple[int, int]:
    """Central interval ``[lo, hi]`` holding at least ``confidence`` of ``Y``.

    Uses the convention of ``scipy.stats.binom.interval``: ``lo`` is the
    ``(1 - confidence) / 2`` quantile and ``hi`` the ``(1 + confidence) / 2``
    quantile, where the ``u`` quantile is the smallest ``k`` with
    ``P(Y <= k) >= u``.
    """
    check_probability(confidence, "confidence")
    cdf = dropped_count_cdf(n, rate)
    tolerance = 1e-12  # absorb round-off in the cumulative sum at exact ties
    lo = int(np.searchsorted(cdf, (1.0 - confidence) / 2 - tolerance, side="left"))
    hi = int(np.searchsorted(cdf, (1.0 + confidence) / 2 - tolerance, side="left"))
    return lo, min(hi, _check_count(n))


def dropped_count_chisquare(counts: np.ndarray, n: int, rate: float, min_expected: float = 5.0) -> tuple[float, int, float]:
    """Pearson's chi-square goodness-of-fit of sampled counts to ``Binomial(n, rate)``.

    ``counts`` are observed numbers of dropped units, one per sampled mask.
    Adjacent values of ``k`` are pooled, from the left, until each group's
    expected frequency reaches ``min_expected`` (the usual validity rule of
    the chi-square approximation); a short remainder joins the last group.
    Then

    .. math:: X^2 = \\sum_{g} \\frac{(O_g - E_g)^2}{E_g}, \\qquad
              \\text{dof} = \\#\\text{groups} - 1,

    and the p-value is ``P(chi2_dof >= X^2)``.

    Returns:
      ``(statistic, dof, p_value)`` as plain Python numbers.
    """
    from scipy.stats import chi2

    n = _check_count(n)
    counts = np.asarray(counts)
    if counts.size == 0:
        raise ValueError("counts is empty: the goodness-of-fit test needs at least one sampled count")
    if not np.issubdtype(counts.dtype, np.integer) or counts.min() < 0 or counts.max() > n:
        raise ValueError(f"counts must be integers in [0, {n}], got values in [{counts.min()}, {counts.max()}]")
    observed = np.bincount(counts.ravel(), minlength=n + 1).astype(np.float64)
    expected = counts.size * dropped_count_pmf(n, rate)

    group_of = np.empty(n + 1, dtype=np.int64)
    group, running = 0, 0.0
    for k in range(n + 1):
        group_of[k] = group
        running += expected[k]
        if running >= min_expected and k < n:
            group, running = group + 1, 0.0
    if running < min_expected and group > 0:  # the last group came up short: merge it left
        group_of[group_of == group] = group - 1
    obs_g = np.bincount(group_of, weights=observed)
    exp_g = np.bincount(group_of, weights=expected)
    statistic = float(np.sum((obs_g - exp_g) ** 2 / exp_g))
    dof = int(obs_g.size - 1)
    if dof < 1:
        raise ValueError(f"too few samples ({counts.size}) for a chi-square test at min_expected={min_expected}")
    return statistic, dof, float(chi2.sf(statistic, dof))


def dropped_fraction_tail(n: int, rate: float, t: float) -> float:
    """Exact ``P(|Y/n - p| >= t)``: the chance that the dropped fraction misses ``p`` by ``t`` or more."""
    n = _check_count(n)
    check_probability(rate, "rate")
    if not t > 0:
        raise ValueError(f"t must be positive, got {t!r}")
    k = np.arange(n + 1)
    # A relative slack of 1e-12 makes k/n exactly at p +- t count as a deviation of t.
    far = np.abs(k / n - float(rate)) >= t * (1 - 1e-12)
    return float(np.sum(dropped_count_pmf(n, rate)[far]))


def chernoff_bound(n: int, rate: float, t: float) -> float:
    """Chernoff bound on ``P(|Y/n - p| >= t)`` for ``Y ~ Binomial(n, p)``.

    .. math:: P(|Y/n - p| \\ge t) \\le e^{-n\\,D(p+t \\,\\|\\, p)} + e^{-n\\,D(p-t \\,\\|\\, p)},

    with ``D(a || p) = a log(a/p) + (1-a) log((1-a)/(1-p))`` the
    Kullback-Leibler divergence between Bernoulli(a) and Bernoulli(p); a side
    whose ``p +- t`` leaves [0, 1] contributes nothing. It is never looser
    than Hoeffding's ``2 exp(-2 n t^2)``, since ``D(p+t || p) >= 2 t^2``.
    """
    n = _check_count(n)
    check_probability(rate, "rate")
    if not t > 0:
        raise ValueError(f"t must be positive, got {t!r}")
    p = float(rate)

    def divergence(a: float) -> float:
        terms = 0.0
        if a > 0:
            terms += a * math.log(a / p) if p > 0 else math.inf
        if a < 1:
            terms += (1 - a) * math.log((1 - a) / (1 - p)) if p < 1 else math.inf
        return terms

    total = 0.0
    for a in (p + t, p - t):
        if 0.0 <= a <= 1.0:
            total += math.exp(-n * divergence(a))
    return min(total, 1.0)
