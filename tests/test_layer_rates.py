"""Per-parameter SGD rates and the ReLU rescaling: identities checked to round-off in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments import layer_rates


@pytest.fixture(scope="module")
def small():
    with jax.enable_x64(True):
        data = dx.load_digits(seed=0, train_size=60)
        x = data.train.x.astype(jnp.float64)
        probe = data.test.x[:20].astype(jnp.float64)
        params = jax.tree.map(lambda a: a.astype(jnp.float64), dx.init_mlp(jax.random.key(0), (64, 24, 10)))
        return x, data.train.y, probe, params


def _as64(tree):
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), tree)


@pytest.mark.parametrize("sizes, gains", [((64, 24, 10), [0.3]), ((64, 24, 12, 10), [2.5, 0.4])])
def test_rescaling_hidden_layers_keeps_a_relu_nets_function(small, sizes, gains):
    x = small[0]
    with jax.enable_x64(True):
        params = _as64(dx.init_mlp(jax.random.key(1), sizes))
        params = [{**p, "b": p["b"] + 0.1} for p in params]  # nonzero biases: they scale too
        rescaled = layer_rates.rescale_hidden(params, gains)
        rates = [0.2] + [0.4] * (len(sizes) - 2)
        for train, key in ((True, jax.random.key(2)), (False, None)):
            for inverted in (True, False):
                a = dx.mlp_apply(params, x, key=key, rates=rates, inverted=inverted, train=train)
                b = dx.mlp_apply(rescaled, x, key=key, rates=rates, inverted=inverted, train=train)
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        # The symmetry is ReLU's: a sigmoid net computes another function.
        a = dx.mlp_apply(params, x, activation="sigmoid")
        b = dx.mlp_apply(rescaled, x, activation="sigmoid")
        assert float(jnp.abs(a - b).max()) > 1e-2


def test_rescale_hidden_needs_one_gain_per_hidden_layer(small):
    with pytest.raises(ValueError, match="one entry per hidden layer"):
        layer_rates.rescale_hidden(small[3], [1.0, 2.0])


@pytest.mark.parametrize("rate", [0.5, 0.3])
def test_direct_net_is_the_inverted_net_at_q_eta_from_a_rescaled_start(small, rate):
    x, y, probe, params = small
    with jax.enable_x64(True):
        common = dict(rates=[0.0, rate], steps=40, probe=probe)
        _, direct = layer_rates.sgd(jax.random.key(3), params, x, y, learning_rate=0.3, inverted=False, **common)
        start, lr, factors = layer_rates.direct_as_inverted(params, rate, 0.3)
        assert lr == pytest.approx((1 - rate) * 0.3)
        _, inverted = layer_rates.sgd(jax.random.key(3), start, x, y, learning_rate=lr, inverted=True, factors=factors, **common)
        np.testing.assert_allclose(inverted, direct, rtol=1e-10, atol=1e-10)
        # Without the output bias's own factor 1/q the paths separate: the factor is needed.
        _, plain = layer_rates.sgd(jax.random.key(3), start, x, y, learning_rate=lr, inverted=True, **common)
        assert float(jnp.abs(plain - direct).max()) > 1e-6
        # And the per-weight factor 1/q^2 of matched coordinates is not a global-rate identity.
        _, q2 = layer_rates.sgd(jax.random.key(3), start, x, y, learning_rate=(1 - rate) ** 2 * 0.3, inverted=True, **common)
        assert float(jnp.abs(q2 - direct).max()) > 1e-3


def test_direct_as_inverted_is_for_one_hidden_layer(small):
    three = dx.init_mlp(jax.random.key(0), (64, 8, 8, 10))
    with pytest.raises(ValueError, match="one hidden layer"):
        layer_rates.direct_as_inverted(three, 0.5, 0.1)


def test_unit_factors_reproduce_train_with_sgd(small):
    # Same initialization, minibatches and masks as dx.train: the runs are paired.
    data = dx.load_digits(seed=0, train_size=100)
    config = dx.TrainConfig(hidden=(16,), steps=30, eval_every=30, optimizer="sgd", batch_size=16)
    hyper = dx.Hyper(rate_hidden=0.5, learning_rate=0.2)
    reference = dx.train(jax.random.key(7), data, hyper, config)
    start, run_key = layer_rates.init_like_train(jax.random.key(7), (64, 16, 10))
    final, _ = layer_rates.sgd(
        run_key, start, data.train.x, data.train.y, learning_rate=0.2, rates=[0.0, 0.5], inverted=True, steps=30, batch_size=16
    )
    for mine, theirs in zip(jax.tree.leaves(final), jax.tree.leaves(reference.params)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_a_zero_factor_freezes_that_parameter(small):
    x, y, _, params = small
    with jax.enable_x64(True):
        factors = [{"w": 1.0, "b": 0.0}, {"w": 0.0, "b": 1.0}]
        final, _ = layer_rates.sgd(jax.random.key(4), params, x, y, learning_rate=0.1, rates=[0.0, 0.5], inverted=True, steps=5, factors=factors)
        np.testing.assert_array_equal(final[0]["b"], params[0]["b"])
        np.testing.assert_array_equal(final[1]["w"], params[1]["w"])
        assert float(jnp.abs(final[0]["w"] - params[0]["w"]).max()) > 0
        assert float(jnp.abs(final[1]["b"] - params[1]["b"]).max()) > 0


def test_masks_per_example_without_dropout_changes_nothing(small):
    x, y, _, params = small
    with jax.enable_x64(True):
        run = dict(learning_rate=0.1, rates=[0.0, 0.0], inverted=True, steps=5, loss="squared")
        one, _ = layer_rates.sgd(jax.random.key(5), params, x, y, **run)
        four, _ = layer_rates.sgd(jax.random.key(5), params, x, y, masks_per_example=4, **run)
        for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(four)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match="full-batch"):
        layer_rates.sgd(jax.random.key(5), params, x, y, batch_size=8, masks_per_example=2, **run)
    with pytest.raises(ValueError, match="loss"):
        layer_rates.sgd(jax.random.key(5), params, x, y, learning_rate=0.1, rates=[0.0, 0.0], inverted=True, steps=1, loss="hinge")
    with pytest.raises(ValueError, match="one entry per layer"):
        layer_rates.sgd(jax.random.key(5), params, x, y, factors=[{"w": 1.0, "b": 1.0}], **run)


def test_the_batch_version_equals_one_run_at_a_time():
    data = dx.load_digits(seed=0, train_size=80)
    x, y = data.train.x, data.train.y
    keys = jax.random.split(jax.random.key(6), 3)
    params = jax.vmap(lambda k: dx.init_mlp(k, (64, 12, 10)))(keys)
    lrs = jnp.array([0.05, 0.2, 0.8])
    rates = jnp.array([[0.0, 0.25], [0.0, 0.5], [0.0, 0.75]])
    factors = [{"w": 1.0, "b": 1.0}, {"w": jnp.array([1.0, 0.5, 0.25]), "b": 1.0}]
    batch = layer_rates.sgd_batch(keys, params, x, y, lrs, rates, factors, inverted=True, steps=10, batch_size=16)
    for i in range(3):
        one = jax.tree.map(lambda leaf: leaf[i], params)
        f = [{"w": 1.0, "b": 1.0}, {"w": float(factors[1]["w"][i]), "b": 1.0}]
        final, _ = layer_rates.sgd(
            keys[i], one, x, y, learning_rate=lrs[i], rates=list(rates[i]), inverted=True, steps=10, factors=f, batch_size=16
        )
        for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(batch)):
            np.testing.assert_allclose(b[i], a, rtol=1e-5, atol=1e-6)


def test_sweep_learning_rates_is_paired_with_the_standard_sweep():
    data = dx.load_digits(seed=0, train_size=100)
    lrs = [0.1, 0.4]
    config = dx.TrainConfig(hidden=(16,), steps=20, eval_every=20, optimizer="sgd", batch_size=16)
    keys, hypers, shape = dx.hyper_grid([3, 4], rate_hidden=[0.5], learning_rate=lrs)
    reference = dx.sweep(keys, data, hypers, config, grid_shape=shape)
    mine = layer_rates.sweep_learning_rates(
        [3, 4], data, hidden=(16,), learning_rates=lrs, rates=[0.0, 0.5], steps=20, batch_size=16
    )
    assert mine.grid_shape == (2, 2)
    for a, b in zip(jax.tree.leaves(mine.params), jax.tree.leaves(reference.params)):
        np.testing.assert_allclose(a, b[:, 0], rtol=1e-5, atol=1e-6)
