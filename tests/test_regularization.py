"""Dropout as adaptive L2: the closed forms against Monte Carlo, to 4 standard errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5)) * np.array([0.5, 1.0, 2.0, 3.0, 0.1])
    w = rng.normal(size=5)
    y = x @ w + rng.normal(size=120)
    return jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32), jnp.asarray(w, jnp.float32)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_linear_marginal_loss_matches_monte_carlo(regression, rate):
    x, y, w = regression
    closed = float(dx.linear_dropout_loss(x, y, w, rate))
    mc, se = dx.linear_dropout_loss_mc(jax.random.key(1), x, y, w, rate, 20_000)
    assert abs(float(mc) - closed) < 4 * float(se)


def test_linear_penalty_is_data_scaled_l2(regression):
    x, _, _ = regression
    unit = jnp.eye(5)
    per_feature = jnp.array([float(dx.linear_dropout_penalty(x, unit[j], 0.5)) for j in range(5)])
    np.testing.assert_allclose(per_feature, jnp.sum(x**2, axis=0), rtol=1e-5)  # p/q = 1 at p = 0.5
    assert float(dx.linear_dropout_penalty(x, jnp.ones(5), 0.0)) == 0.0


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_wager_quadratic_is_close_for_small_rates(rate):
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(300, 4)), jnp.float32)
    beta = jnp.asarray([0.4, -0.3, 0.2, 0.1], jnp.float32)
    y = jnp.asarray(rng.random(300) < jax.nn.sigmoid(x @ beta), jnp.float32)
    mc, se = dx.logistic_dropout_penalty_mc(jax.random.key(3), x, y, beta, rate, 20_000)
    quad = float(dx.wager_quadratic_penalty(x, beta, rate))
    # A second-order approximation: not exact, but within 10% here (weak signal, small rates).
    assert abs(float(mc) - quad) < 0.1 * quad + 4 * float(se)
    assert quad > 0


def test_logistic_loss_and_bad_shapes(regression):
    assert float(dx.logistic_loss(jnp.zeros(3), jnp.array([0.0, 1.0, 1.0]))) == pytest.approx(3 * np.log(2))
    x, y, w = regression
    with pytest.raises(ValueError, match="shapes"):
        dx.linear_dropout_loss(x, y[:-1], w, 0.5)
    with pytest.raises(ValueError, match="1.5"):
        dx.linear_dropout_penalty(x, w, 1.5)


def test_penalties_name_rate_one_instead_of_dividing_by_zero(regression):
    x, _, w = regression
    for penalty in (dx.linear_dropout_penalty, dx.wager_quadratic_penalty):
        with pytest.raises(ValueError, match="infinite at rate 1"):
            penalty(x, w, 1.0)
