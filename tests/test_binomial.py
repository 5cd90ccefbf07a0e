"""The dropped count Y ~ Binomial(n, p): against scipy and exact arithmetic."""

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy import stats

from dropoutlib import (
    chernoff_bound,
    dropped_count_cdf,
    dropped_count_chisquare,
    dropped_count_interval,
    dropped_count_logpmf,
    dropped_count_pmf,
    dropped_fraction_tail,
)

CASES = [(1, 0.5), (10, 0.3), (64, 0.05), (1024, 0.5), (1024, 0.9), (5000, 1e-4), (100_000, 0.1), (7, 0.999)]


@pytest.mark.parametrize("n,rate", CASES)
def test_pmf_matches_scipy(n, rate):
    ours = dropped_count_pmf(n, rate)
    theirs = stats.binom.pmf(np.arange(n + 1), n, rate)
    assert ours.shape == (n + 1,) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-300)
    assert abs(ours.sum() - 1.0) < 1e-12


@pytest.mark.parametrize("rate", [Fraction(1, 2), Fraction(1, 10), Fraction(7, 10)])
def test_pmf_matches_exact_rational_arithmetic(rate):
    n = 1024
    ours = dropped_count_pmf(n, float(rate))
    for k in range(0, n + 1, 11):
        exact = comb(n, k) * rate**k * (1 - rate) ** (n - k)
        if exact > Fraction(1, 10**290):
            assert abs(ours[k] / float(exact) - 1) < 1e-12, k


def test_worked_example_of_the_source():
    exact = Fraction(comb(1024, 512), 2**1024)
    assert dropped_count_pmf(1024, 0.5)[512] == pytest.approx(float(exact), rel=1e-13)


def test_finite_and_normalized_at_n_100000():
    pmf = dropped_count_pmf(100_000, 0.37)
    assert np.all(np.isfinite(pmf)) and np.all(pmf >= 0)
    assert abs(pmf.sum() - 1.0) < 1e-12
    assert np.all(np.isfinite(dropped_count_logpmf(1_000_000, 0.5)))


@pytest.mark.parametrize("n", [0, 1, 50])
def test_rate_zero_and_one_are_exact_point_masses(n):
    zero = dropped_count_pmf(n, 0.0)
    one = dropped_count_pmf(n, 1.0)
    assert zero[0] == 1.0 and zero[1:].sum() == 0.0
    assert one[n] == 1.0 and one[:n].sum() == 0.0


def test_n_zero_is_a_point_mass_at_zero():
    np.testing.assert_array_equal(dropped_count_pmf(0, 0.4), [1.0])


@pytest.mark.parametrize("n,rate", CASES)
def test_cdf_matches_scipy(n, rate):
    np.testing.assert_allclose(
        dropped_count_cdf(n, rate), stats.binom.cdf(np.arange(n + 1), n, rate), rtol=1e-10, atol=1e-13
    )


@pytest.mark.parametrize("n,rate", CASES + [(1024, 0.5)])
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_interval_matches_scipy_convention(n, rate, confidence):
    lo, hi = stats.binom.interval(confidence, n, rate)
    assert dropped_count_interval(n, rate, confidence) == (int(lo), int(hi))


def test_central_95_interval_of_the_worked_example():
    assert dropped_count_interval(1024, 0.5) == (481, 543)


@pytest.mark.parametrize("n", [-1, 2.5, "8", None, True])
def test_bad_n_raises_naming_it(n):
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        dropped_count_pmf(n, 0.5)


@pytest.mark.parametrize("rate", [-0.01, 1.01, float("nan")])
def test_bad_rate_raises_naming_it(rate):
    with pytest.raises(ValueError, match=repr(rate).replace(".", r"\.")):
        dropped_count_pmf(10, rate)


# ---------------------------------------------------------------- goodness of fit
def _grouped_like_ours(counts, n, rate, min_expected=5.0):
    """The same pooling rule, written independently with scipy's pmf, so the
    statistic can be cross-checked with scipy.stats.chisquare."""
    observed = np.bincount(counts, minlength=n + 1).astype(float)
    expected = counts.size * stats.binom.pmf(np.arange(n + 1), n, rate)
    groups_o, groups_e, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        acc_o += o
        acc_e += e
        if acc_e >= min_expected:
            groups_o.append(acc_o)
            groups_e.append(acc_e)
            acc_o = acc_e = 0.0
    groups_o[-1] += acc_o
    groups_e[-1] += acc_e
    return np.array(groups_o), np.array(groups_e)


@pytest.mark.parametrize("n,rate", [(1024, 0.5), (1024, 0.1), (50, 0.9)])
def test_chisquare_matches_scipy_on_the_same_groups(n, rate):
    counts = np.random.default_rng(0).binomial(n, rate, size=20_000)
    stat, dof, pvalue = dropped_count_chisquare(counts, n, rate)
    obs, exp = _grouped_like_ours(counts, n, rate)
    reference = stats.chisquare(obs, exp)
    assert dof == obs.size - 1
    assert stat == pytest.approx(reference.statistic, rel=1e-9)
    assert pvalue == pytest.approx(reference.pvalue, rel=1e-6)
    assert pvalue > 1e-4  # correct samples: a p-value this small has odds 1e-4


def test_chisquare_detects_a_wrong_rate():
    counts = np.random.default_rng(1).binomial(1024, 0.52, size=20_000)
    assert dropped_count_chisquare(counts, 1024, 0.5)[2] < 1e-10


@pytest.mark.parametrize("bad", [np.array([], dtype=int), np.array([0, 11]), np.array([0.5, 1.0])])
def test_chisquare_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="counts"):
        dropped_count_chisquare(bad, 10, 0.5)


# ---------------------------------------------------------------- tails
@pytest.mark.parametrize("n,rate,t", [(1024, 0.5, 0.02), (1024, 0.1, 0.03), (200, 0.3, 0.1)])
def test_tail_matches_scipy(n, rate, t):
    upper = stats.binom.sf(np.ceil(n * (rate + t) - 1e-9) - 1, n, rate)
    lower = stats.binom.cdf(np.floor(n * (rate - t) + 1e-9), n, rate) if rate - t >= 0 else 0.0
    assert dropped_fraction_tail(n, rate, t) == pytest.approx(upper + lower, rel=1e-9)


@pytest.mark.parametrize("n", [16, 256, 1024, 65536])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("t", [0.01, 0.05, 0.15])
def test_chernoff_bounds_the_exact_tail_and_beats_hoeffding(n, rate, t):
    exact = dropped_fraction_tail(n, rate, t)
    bound = chernoff_bound(n, rate, t)
    assert exact <= bound + 1e-15
    assert bound <= min(1.0, 2 * np.exp(-2 * n * t * t)) + 1e-15


def test_tail_and_bound_reject_bad_t():
    for function in (lambda: dropped_fraction_tail(10, 0.5, 0.0), lambda: chernoff_bound(10, 0.5, -1.0)):
        with pytest.raises(ValueError, match="t must be positive"):
            function()
