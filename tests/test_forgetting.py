"""Forgetting the direct net's test-time factor: the stretch, the paired scores, saturation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments import forgetting as fg


def stacked(key, sizes, seeds=3, bias=0.0):
    nets = [dx.init_mlp(k, sizes) for k in jax.random.split(key, seeds)]
    nets = [[{**layer, "b": layer["b"] + bias} for layer in net] for net in nets]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *nets)


def test_test_rates_and_the_compounded_factor():
    assert fg.test_rates([0.2, 0.5, 0.5]) == [0.2, 0.5, 0.5]
    assert fg.test_rates([0.2, 0.5, 0.5], [0, 2]) == [0.0, 0.5, 0.0]
    assert fg.forgotten_factor([0.2, 0.5, 0.5], range(3)) == pytest.approx(5.0)
    assert fg.forgotten_factor([0.2, 0.5, 0.5], []) == 1.0
    with pytest.raises(ValueError, match="only 3"):
        fg.test_rates([0.2, 0.5, 0.5], [3])


def test_a_bias_free_relu_net_stretches_its_logits_by_the_compounded_factor():
    # The homogeneity argument of the chapter, checked: no biases, ReLU, three
    # dropped layers; forgetting all factors multiplies the logits by 5.
    params = stacked(jax.random.key(0), (6, 8, 8, 3))
    x = jax.random.normal(jax.random.key(1), (20, 6))
    rates = [0.2, 0.5, 0.5]
    ok = fg._stacked_logits(params, x, fg.test_rates(rates), "relu")
    bad = fg._stacked_logits(params, x, fg.test_rates(rates, range(3)), "relu")
    assert np.allclose(bad, 5.0 * ok, rtol=1e-5, atol=1e-5)
    with_bias = stacked(jax.random.key(0), (6, 8, 8, 3), bias=0.3)
    ok_b = fg._stacked_logits(with_bias, x, fg.test_rates(rates), "relu")
    bad_b = fg._stacked_logits(with_bias, x, fg.test_rates(rates, range(3)), "relu")
    assert not np.allclose(bad_b, 5.0 * ok_b, rtol=1e-3, atol=1e-3)  # biases break it


def test_forgetting_comparison_is_paired_and_zero_when_nothing_is_forgotten():
    params = stacked(jax.random.key(2), (6, 8, 3), seeds=4)
    x = jax.random.normal(jax.random.key(3), (30, 6))
    labels = jnp.arange(30) % 3
    same = fg.forgetting_comparison(params, x, labels, [0.0, 0.5], [])
    assert same["factor"] == 1.0
    for score in fg.SCORES:
        assert same[score].mean == same[score].low == same[score].high == 0.0
    result = fg.forgetting_comparison(params, x, labels, [0.0, 0.5], [1])
    assert result["factor"] == pytest.approx(2.0)
    assert result["ok"]["loss"].shape == (4, 30)
    for score in fg.SCORES:
        assert result[score].mean == pytest.approx((result["bad"][score] - result["ok"][score]).mean())
    # A bias-free ReLU net stretched by 2 keeps its argmax and grows more confident.
    assert np.array_equal(result["ok"]["error"], result["bad"]["error"])
    assert np.all(result["bad"]["confidence"] >= result["ok"]["confidence"] - 1e-6)
    assert result["overconfidence"].low > 0


def test_saturated_fraction_counts_flat_sigmoid_outputs():
    params = jax.tree.map(lambda a: 3.0 * a, stacked(jax.random.key(4), (6, 16, 16, 3)))
    x = jax.random.normal(jax.random.key(5), (50, 6))
    rates = [0.0, 0.8, 0.8]
    with_q = fg.saturated_fraction(params, x, rates, (), hidden_layer=1)
    forgot = fg.saturated_fraction(params, x, rates, (1, 2), hidden_layer=1)
    h = jax.vmap(lambda p: dx.mlp_forward(p, x, rates=[0.0, 0.0, 0.0], inverted=False,
                                          activation="sigmoid")[1][1])(params)
    assert forgot == pytest.approx(float(jnp.mean((h < 0.01) | (h > 0.99))))
    assert 0.0 <= with_q < forgot <= 1.0
