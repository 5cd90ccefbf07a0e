"""Masks drawn per training step, and the per-unit keep-frequency test (dropoutlib.maskstats)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import dropoutlib as dl
from dropoutlib import maskstats as ms


def test_each_step_is_dropout_with_the_folded_in_key():
    key = jax.random.key(0)
    masks = ms.dropped_masks(key, 0.3, (5, 7), steps=6)
    assert masks.shape == (6, 5, 7) and masks.dtype == jnp.bool_
    for t in range(6):
        expected = dl.dropout(jax.random.fold_in(key, t), jnp.ones((5, 7)), 0.3, inverted=False) == 0
        np.testing.assert_array_equal(masks[t], expected)
    assert len({bytes(np.asarray(m)) for m in masks}) == 6, "different steps must get different masks"


@pytest.mark.parametrize("impl", dl.IMPLS)
def test_generators_and_the_ends(impl):
    key = jax.random.key(1)
    assert not ms.dropped_masks(key, 0.0, (64,), steps=3, impl=impl).any()
    assert ms.dropped_masks(key, 1.0, (64,), steps=3, impl=impl).all()
    masks = ms.dropped_masks(key, 0.5, (64,), steps=3, impl=impl)
    expected = dl.dropout(jax.random.fold_in(key, 2), jnp.ones(64), 0.5, inverted=False, impl=impl) == 0
    np.testing.assert_array_equal(masks[2], expected)


def test_a_reused_key_repeats_the_mask_and_broadcast_dims_share_it():
    key = jax.random.key(2)
    reused = ms.dropped_masks(key, 0.5, (32,), steps=4, step_key=lambda k, t: k)
    assert all(np.array_equal(reused[0], m) for m in reused)
    spatial = ms.dropped_masks(key, 0.5, (3, 3, 16), steps=5, broadcast_dims=(0, 1))
    assert np.all(spatial == spatial[:, :1, :1, :])
    assert ms.dropped_masks(key, 0.5, (4, 8), steps=2, broadcast_dims=0).shape == (2, 4, 8)


def test_dropped_masks_rejects_a_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        ms.dropped_masks(jax.random.key(0), 1.5, (4,), steps=2)


def test_bonferroni_bound():
    assert ms.bonferroni_z(1) == pytest.approx(4.0)
    assert ms.bonferroni_z(1024) == pytest.approx(stats.norm.isf(stats.norm.sf(4.0) / 1024))
    assert 5.3 < ms.bonferroni_z(1024) < 5.5
    assert ms.bonferroni_z(10) < ms.bonferroni_z(100) < ms.bonferroni_z(1000)
    with pytest.raises(ValueError):
        ms.bonferroni_z(0)


def test_unit_frequency_statistic_by_hand():
    dropped = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0]], bool)  # 4 steps, 3 units
    result = ms.unit_frequency_test(dropped, 0.5)
    z = (np.array([3, 2, 0]) - 2.0) / 1.0  # T p = 2, sqrt(T p q) = 1
    assert result.statistic == pytest.approx(np.sum(z**2))
    assert result.dof == 3
    assert result.p_value == pytest.approx(stats.chi2.sf(np.sum(z**2), 3))
    assert result.max_abs_z == pytest.approx(2.0)
    assert result.z_bound == pytest.approx(ms.bonferroni_z(3))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_correct_masks_pass_the_per_unit_test(rate):
    masks = ms.dropped_masks(jax.random.key(3), rate, (256,), steps=4000)
    result = ms.unit_frequency_test(masks, rate)
    # 4-sigma level: the sum of 256 squared z-scores, and the largest one.
    assert abs(result.statistic - 256) < 4 * np.sqrt(2 * 256)
    assert result.max_abs_z < result.z_bound


def test_the_per_unit_test_sees_what_the_count_test_cannot():
    steps, n, rate, bias = 4000, 256, 0.5, 0.02
    u = jax.random.uniform(jax.random.key(4), (steps, n))
    per_unit = rate + bias * (-1.0) ** np.arange(n)  # half the units drop more often
    dropped = np.asarray(u < per_unit)
    assert ms.unit_frequency_test(dropped, rate).p_value < 1e-10
    # The row counts still look Binomial(n, rate) at this sample size.
    _, _, count_p = dl.dropped_count_chisquare(dropped.sum(axis=1), n, rate)
    assert count_p > 1e-4


def test_a_reused_key_fails_the_per_unit_test():
    masks = ms.dropped_masks(jax.random.key(5), 0.5, (128,), steps=500, step_key=lambda k, t: k)
    assert ms.unit_frequency_test(masks, 0.5).p_value < 1e-10


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_unit_frequency_needs_a_random_mask(rate):
    with pytest.raises(ValueError, match="0 < rate < 1"):
        ms.unit_frequency_test(np.zeros((4, 3), bool), rate)


def test_unit_frequency_needs_steps_and_units():
    with pytest.raises(ValueError, match="shape"):
        ms.unit_frequency_test(np.zeros(5, bool), 0.5)


def test_bonferroni_p_is_the_four_sigma_level_split():
    alpha = 2 * stats.norm.sf(4.0)
    assert ms.bonferroni_p(1) == pytest.approx(alpha)
    assert ms.bonferroni_p(9) == pytest.approx(alpha / 9)
    with pytest.raises(ValueError):
        ms.bonferroni_p(0)


def test_z_check_passes_and_fails_at_the_bonferroni_bound():
    bound = ms.bonferroni_z(3)
    assert ms.z_check([0.5, -1.0, 2.0]) == ms.ZCheck(3, 2.0, bound)
    assert ms.z_check([0.5, -1.0, 2.0]).passed
    assert not ms.z_check([0.0, 0.0, -(bound + 1e-6)]).passed
    assert ms.z_check([bound - 1e-6]).bound == pytest.approx(4.0)  # one test: plain 4 sigma
    assert not ms.z_check([0.0, float("nan")]).passed
    with pytest.raises(ValueError):
        ms.z_check([])


def test_z_check_holds_its_level_under_the_hypothesis():
    # 2000 groups of 50 standard normals: the family rejects at most alpha of the time.
    z = np.random.default_rng(0).standard_normal((2000, 50))
    rejected = np.mean([not ms.z_check(row).passed for row in z])
    assert rejected == 0.0  # alpha = 6.3e-5: expect 0.13 rejections in 2000 groups
    assert ms.z_check(z[0] + 6.0).passed is False


def test_p_check_bonferroni_and_fisher():
    p = [0.2, 0.5, 0.9]
    result = ms.p_check(p)
    assert result.tests == 3 and result.min_p == 0.2
    assert result.bound == pytest.approx(ms.bonferroni_p(3))
    assert result.combined_p == pytest.approx(stats.combine_pvalues(p, method="fisher").pvalue)
    assert result.alpha == pytest.approx(2 * stats.norm.sf(4.0)) and result.passed
    assert not ms.p_check([0.3, 1e-6, 0.8]).passed  # one test fails badly: Bonferroni
    leaning = np.full(40, 0.01)  # each test alone passes, together they do not: Fisher
    assert ms.p_check(leaning).min_p > ms.p_check(leaning).bound
    assert not ms.p_check(leaning).passed
    assert not ms.p_check([0.0, 0.5]).passed
    for bad in ([], [1.5], [float("nan")]):
        with pytest.raises(ValueError):
            ms.p_check(bad)


def test_count_variance_z_by_hand():
    counts = np.array([3, 5, 4, 7, 1, 4])  # sample variance 4, against n p q = 1.68
    n, p, m = 8, 0.3, 6
    pq = p * (1 - p)
    mu4, sigma2 = n * pq * (1 + 3 * (n - 2) * pq), n * pq
    var_v = mu4 / m - sigma2**2 * (m - 3) / (m * (m - 1))
    expected = (np.var(counts, ddof=1) - sigma2) / np.sqrt(var_v)
    assert expected == pytest.approx(2.32 / np.sqrt(8.0304 / 6 - 1.68**2 * 3 / 30))
    assert ms.count_variance_z(counts, n, p) == pytest.approx(expected)
    assert ms.count_variance_z(counts, n, 1 - p) == pytest.approx(expected)  # symmetric in p, q


def test_the_variance_of_the_sample_variance_is_exact():
    # Var[v] for Binomial(8, 0.3) samples of size 10, by simulation against the formula;
    # the leading-order (mu4 - sigma^4) / N would be 11 % too small here.
    n, p, size = 8, 0.3, 10
    v = np.var(np.random.default_rng(1).binomial(n, p, (400_000, size)), axis=1, ddof=1)
    pq = p * (1 - p)
    mu4, sigma2 = n * pq * (1 + 3 * (n - 2) * pq), n * pq
    var_v = mu4 / size - sigma2**2 * (size - 3) / (size * (size - 1))
    assert v.mean() == pytest.approx(sigma2, abs=4 * np.sqrt(var_v / v.size))
    assert v.var() == pytest.approx(var_v, rel=0.02)  # sampling error of v.var(): about 0.4 %
    assert not v.var() == pytest.approx((mu4 - sigma2**2) / size, rel=0.02)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_correct_counts_pass_the_variance_test(rate):
    rng = np.random.default_rng(int(rate * 10))
    z = [ms.count_variance_z(rng.binomial(100, rate, 2000), 100, rate) for _ in range(20)]
    assert ms.z_check(z).passed


def test_repeated_or_shared_masks_fail_the_variance_test():
    key = jax.random.key(6)
    # A key reused for two steps: each count of 100 steps sums 50 pairs, variance doubles.
    pairs = ms.dropped_masks(key, 0.5, (100,), 2000, step_key=lambda k, t: jax.random.fold_in(k, t // 2))
    counts = np.asarray(pairs).reshape(20, 100, 100).sum(axis=1).ravel()
    assert ms.count_variance_z(counts, 100, 0.5) > 20
    fresh = ms.dropped_masks(key, 0.5, (100,), 2000)
    counts = np.asarray(fresh).reshape(20, 100, 100).sum(axis=1).ravel()
    assert abs(ms.count_variance_z(counts, 100, 0.5)) < 4


def test_weighted_sum_variance_sees_a_shared_mask():
    rng = np.random.default_rng(2)
    c = rng.normal(size=64)
    steps = 5000
    independent = (rng.random((steps, 64)) < 0.7) @ c
    assert abs(ms.bernoulli_sum_variance_z(independent + 3.0, c, 0.3)) < 4  # a constant shift is fine
    shared = (rng.random((steps, 1)) < 0.7) * np.ones((1, 64)) @ c  # one entry for the whole layer
    assert abs(ms.bernoulli_sum_variance_z(shared, c, 0.3)) > 20


def test_the_variance_test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="0 < rate < 1"):
        ms.count_variance_z(np.arange(10), 10, 0.0)
    with pytest.raises(ValueError, match="at least 4"):
        ms.count_variance_z(np.arange(3), 10, 0.5)
    with pytest.raises(ValueError, match="not random"):
        ms.bernoulli_sum_variance_z(np.arange(10.0), np.zeros(3), 0.5)
