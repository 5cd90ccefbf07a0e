"""Direct and inverted nets as two parametrizations: the conversions, checked to round-off."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments.reparam import LayerHyper, direct_equivalent, direct_params_from_inverted, train_layerwise

RATES = [0.2, 0.3]  # q = 0.8 on the input, 0.7 on the hidden layer: not powers of two


@pytest.fixture(scope="module")
def setup():
    with jax.enable_x64(True):
        data = dx.load_digits(seed=0, train_size=100)
        x = data.train.x.astype(jnp.float64)
        probe = data.test.x[:32].astype(jnp.float64)
        params = jax.tree.map(lambda a: a.astype(jnp.float64), dx.init_mlp(jax.random.key(0), (64, 48, 10)))
        yield x, data.train.y, probe, params


def test_matched_params_compute_the_same_function(setup):
    x, _, probe, inverted = setup
    with jax.enable_x64(True):
        direct = direct_params_from_inverted(inverted, RATES)
        key = jax.random.key(3)
        train_inv = dx.mlp_apply(inverted, x, key=key, rates=RATES, inverted=True, train=True)
        train_dir = dx.mlp_apply(direct, x, key=key, rates=RATES, inverted=False, train=True)
        np.testing.assert_allclose(train_dir, train_inv, rtol=1e-12, atol=1e-12)
        test_inv = dx.mlp_apply(inverted, probe, rates=RATES, inverted=True)
        test_dir = dx.mlp_apply(direct, probe, rates=RATES, inverted=False)
        np.testing.assert_allclose(test_dir, test_inv, rtol=1e-12, atol=1e-12)


def test_gradients_differ_by_one_over_q_on_consuming_weights_only(setup):
    x, y, _, inverted = setup
    with jax.enable_x64(True):
        direct = direct_params_from_inverted(inverted, [0.0, 0.3])
        key = jax.random.key(4)

        def loss(params, scheme_inverted):
            logits = dx.mlp_apply(params, x, key=key, rates=[0.0, 0.3], inverted=scheme_inverted, train=True)
            return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0])

        g_inv = jax.grad(loss)(inverted, True)
        g_dir = jax.grad(loss)(direct, False)
        np.testing.assert_allclose(g_inv[1]["w"], g_dir[1]["w"] / 0.7, rtol=1e-10, atol=1e-14)
        for name in ("w", "b"):
            np.testing.assert_allclose(g_inv[0][name], g_dir[0][name], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(g_inv[1]["b"], g_dir[1]["b"], rtol=1e-10, atol=1e-14)


def test_direct_equivalent_factors():
    sgd = direct_equivalent([0.0, 0.5], "sgd", l2=1e-3, max_norm=3.0)
    assert sgd.lr_factor == [1.0, 4.0]
    assert sgd.l2 == pytest.approx([1e-3, 2.5e-4])
    assert sgd.max_norm == [3.0, 6.0]
    assert direct_equivalent([0.0, 0.5], "adam").lr_factor == [1.0, 2.0]
    with pytest.raises(ValueError, match="optimizer"):
        direct_equivalent([0.5], "rmsprop")
    with pytest.raises(ValueError, match="rate 1"):
        direct_equivalent([1.0], "sgd")
    with pytest.raises(ValueError, match="1.5"):
        direct_params_from_inverted([{"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}], [1.5])


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("momentum", 0.01), ("adam", 3e-3)])
def test_equivalent_hyperparameters_give_the_same_trajectory(setup, optimizer, lr):
    x, y, probe, inverted = setup
    with jax.enable_x64(True):
        direct = direct_params_from_inverted(inverted, RATES)
        same = LayerHyper([1.0, 1.0], [1e-3, 1e-3], [2.0, 2.0])
        equivalent = direct_equivalent(RATES, optimizer, l2=1e-3, max_norm=2.0)
        common = dict(rates=RATES, optimizer=optimizer, learning_rate=lr, steps=60, eps=1e-30)
        _, t_inv = train_layerwise(jax.random.key(5), inverted, x, y, probe, inverted=True, layers=same, **common)
        _, t_dir = train_layerwise(jax.random.key(5), direct, x, y, probe, inverted=False, layers=equivalent, **common)
        assert float(jnp.abs(t_inv - t_dir).max()) < 1e-9
        # The factor matters: the source's 1/q (or 1/q^2 for Adam) drifts apart.
        wrong = equivalent._replace(lr_factor=[f * 1.3 for f in equivalent.lr_factor])
        _, t_wrong = train_layerwise(jax.random.key(5), direct, x, y, probe, inverted=False, layers=wrong, **common)
        assert float(jnp.abs(t_inv - t_wrong).max()) > 1e-4


def test_train_layerwise_rejects_mismatched_layer_settings(setup):
    x, y, probe, params = setup
    with pytest.raises(ValueError, match="per-layer"):
        train_layerwise(jax.random.key(0), params, x, y, probe, rates=[0.0], inverted=True, optimizer="sgd",
                        learning_rate=0.1, layers=LayerHyper([1.0], [0.0], [math.inf]), steps=2)
