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
