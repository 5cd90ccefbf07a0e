"""Narrow networks inside a wide program start as the narrow networks would (He init for the active fan-in)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments.active_width import active_count, fit_init_to_active_units


def test_active_count_follows_the_forward_pass_rule():
    # Every unit of this network is positive, so the nonzero ones are exactly the active ones.
    params = [{"w": jnp.ones((3, 40)), "b": jnp.ones(40)}, {"w": jnp.ones((40, 2)), "b": jnp.zeros(2)}]
    for active, expected in ((jnp.inf, 40), (12, 12), (12.3, 13), (100, 40)):
        assert float(active_count(active, 40)) == expected
        _, (hidden,) = dx.mlp_forward(params, jnp.ones((1, 3)), active_units=active)
        assert int(jnp.sum(hidden != 0)) == expected


def test_all_units_active_leaves_the_parameters_bit_for_bit_unchanged():
    params = dx.init_mlp(jax.random.key(1), (64, 120, 120, 10))
    for active in (math.inf, 120, 500):
        fitted = fit_init_to_active_units(params, active)
        jax.tree.map(np.testing.assert_array_equal, fitted, params)


def test_layers_reading_a_hidden_layer_get_the_narrow_fan_in():
    width, m = 240, 30
    params = dx.init_mlp(jax.random.key(2), (64, width, width, 10))
    fitted = fit_init_to_active_units(params, m)
    np.testing.assert_array_equal(fitted[0]["w"], params[0]["w"])  # reads the data: untouched
    for layer in (1, 2):  # the second hidden layer AND the output layer read a hidden layer
        w, w0 = np.asarray(fitted[layer]["w"]), np.asarray(params[layer]["w"])
        assert np.all(w[m:] == 0.0)  # inputs that are always zero
        np.testing.assert_allclose(w[:m], w0[:m] * math.sqrt(width / m), rtol=1e-6)
        np.testing.assert_array_equal(fitted[layer]["b"], params[layer]["b"])
        # The active block has the He variance 2 / m of a narrow network, within 4 sigma:
        # the sample variance of k normal draws has standard deviation sigma^2 sqrt(2 / k).
        block = w[:m]
        target = 2.0 / m
        assert abs(block.var() - target) < 4 * target * math.sqrt(2.0 / block.size)
        assert abs(w0[:m].var() - target) > 4 * target * math.sqrt(2.0 / block.size)  # the unfitted one is not


def test_training_starts_from_the_fitted_init_and_keeps_inactive_inputs_at_zero():
    data = dx.load_digits(seed=0, train_size=200)
    width, m = 96, 16
    config = dx.TrainConfig(hidden=(width, width), steps=40, eval_every=20, optimizer="momentum", batch_size=32)
    result = dx.train(jax.random.key(3), data, dx.Hyper(rate_hidden=0.5, learning_rate=0.05, hidden_units=m), config)
    for layer in (1, 2):
        w = np.asarray(result.params[layer]["w"])
        assert np.all(w[m:] == 0.0), f"layer {layer}: rows of inactive inputs must stay exactly zero"
        assert np.abs(w[:m]).max() > 0
    # The start, reproduced: the same key split and init as dx.train's.
    start = fit_init_to_active_units(dx.init_mlp(jax.random.split(jax.random.key(3))[0], (64, width, width, 10)), m)
    tiny = dx.train(jax.random.key(3), data, dx.Hyper(learning_rate=1e-12, hidden_units=m), config._replace(steps=20))
    for layer in range(3):
        np.testing.assert_allclose(tiny.params[layer]["w"], start[layer]["w"], atol=1e-6)


@pytest.mark.parametrize("active", [8, 20])
def test_padded_network_computes_the_narrow_network(active):
    width = 32
    params = fit_init_to_active_units(dx.init_mlp(jax.random.key(4), (5, width, width, 3)), active)
    narrow = [
        {"w": params[0]["w"][:, :active], "b": params[0]["b"][:active]},
        {"w": params[1]["w"][:active, :active], "b": params[1]["b"][:active]},
        {"w": params[2]["w"][:active], "b": params[2]["b"]},
    ]
    x = jax.random.normal(jax.random.key(5), (7, 5))
    np.testing.assert_allclose(dx.mlp_apply(params, x, active_units=active), dx.mlp_apply(narrow, x), rtol=1e-5, atol=1e-6)
