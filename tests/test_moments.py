"""Closed-form moments of one unit against sampled dropout, to 4 sigma."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dropoutlib import dropout, dropout_moments, variance_z_score, z_score

KEY = jax.random.key(42)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("inverted", [True, False])
def test_sampled_moments_match_theory(rate, inverted):
    a = 1.7
    samples = dropout(KEY, jnp.full(400_000, a), rate, inverted=inverted)
    mean, var = dropout_moments(a, rate, inverted=inverted)
    assert abs(float(z_score(samples, mean, var))) < 4
    assert abs(float(variance_z_score(samples, var))) < 4


def test_closed_forms():
    mean, var = dropout_moments(2.0, 0.25, inverted=False)
    np.testing.assert_allclose([mean, var], [1.5, 0.25 * 0.75 * 4.0])
    mean, var = dropout_moments(2.0, 0.25, inverted=True)
    np.testing.assert_allclose([mean, var], [2.0, 0.25 / 0.75 * 4.0])
    np.testing.assert_array_equal(dropout_moments(2.0, 1.0), (0.0, 0.0))


def test_z_scores_detect_a_wrong_hypothesis():
    samples = dropout(KEY, jnp.ones(100_000), 0.5)
    assert abs(float(z_score(samples, 1.1, 1.0))) > 4  # wrong mean
    assert abs(float(variance_z_score(samples, 1.2))) > 4  # wrong variance


def test_moments_reject_bad_rate():
    with pytest.raises(ValueError, match="1.5"):
        dropout_moments(1.0, 1.5)
