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


def test_mode_scores_are_the_two_modes_of_the_comparison():
    params = stacked(jax.random.key(6), (6, 8, 8, 3), seeds=2, bias=0.1)
    x = jax.random.normal(jax.random.key(7), (12, 6))
    labels = jnp.arange(12) % 3
    rates = [0.2, 0.5, 0.5]
    result = fg.forgetting_comparison(params, x, labels, rates, [1])
    for mode, forgotten in (("ok", ()), ("bad", [1])):
        scores = fg.mode_scores(params, x, labels, rates, forgotten)
        for name in ("error", "loss", "confidence"):
            assert np.array_equal(scores[name], result[mode][name])
    other = fg.mode_scores(params, x, labels, rates, [2])
    assert not np.allclose(other["loss"], result["bad"]["loss"])  # the forgotten layer matters


def test_flip_counts_by_hand():
    ok = np.array([[0, 0, 1, 0, 1],
                   [0, 1, 0, 0, 0],
                   [0, 0, 0, 0, 1]], float)
    bad = np.array([[1, 0, 1, 0, 0],   # example 0 right -> wrong, example 4 wrong -> right
                    [1, 0, 0, 0, 0],   # example 0 again, example 1 wrong -> right
                    [0, 0, 0, 1, 1]], float)  # example 3 right -> wrong
    flips = fg.flip_counts(ok, bad)
    assert flips == fg.FlipCounts(right_to_wrong=3, wrong_to_right=2, examples=4,
                                  examples_worse=2, examples_better=2)
    share, low, high = flips.share_worse()
    assert share == 0.5 and low < 0.5 < high
    none = fg.flip_counts(ok, ok)
    assert none.examples == 0 and np.isnan(none.share_worse()[0])
    with pytest.raises(ValueError, match="0 or 1"):
        fg.flip_counts(ok, 0.5 * bad)
    with pytest.raises(ValueError, match="shape"):
        fg.flip_counts(ok, bad[:2])


def test_share_worse_is_the_exact_sign_test_interval():
    # 5 of 6 examples worse: Clopper-Pearson [0.359, 0.996] covers 1/2;
    # 10 of 10 worse: [0.692, 1] does not.
    five_of_six = fg.FlipCounts(11, 1, 6, 5, 1).share_worse()
    assert five_of_six[1] == pytest.approx(0.3588, abs=1e-4)
    assert five_of_six[2] == pytest.approx(0.9958, abs=1e-4)
    ten = fg.FlipCounts(10, 0, 10, 10, 0).share_worse()
    assert ten[0] == 1.0 and ten[1] == pytest.approx(0.025 ** 0.1, abs=1e-4) and ten[1] > 0.5
