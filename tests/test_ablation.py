"""Removing hidden units at test time: exact counts, uniform subsets, the right network, paired scores."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments.ablation import (
    ablated_logits,
    ablation_keep_masks,
    ablation_scores,
    removed_count,
    summarize_ablation,
)

SIZES = (12, 16, 8, 4)


def net(seed=0):
    params = dx.init_mlp(jax.random.key(seed), SIZES)
    # Non-zero biases, so that removing a unit is not the same as scaling its layer.
    return [{**p, "b": 0.1 * jax.random.normal(jax.random.key(100 + seed + i), p["b"].shape)} for i, p in enumerate(params)]


def inputs(n=50):
    return jax.random.normal(jax.random.key(7), (n, SIZES[0]))


@pytest.mark.parametrize("width, fraction, expected", [(256, 0.0, 0), (256, 0.5, 128), (10, 0.25, 2), (10, 0.35, 4), (7, 1.0, 7)])
def test_removed_count_rounds(width, fraction, expected):
    assert removed_count(width, fraction) == expected


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_removed_count_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="fraction"):
        removed_count(10, fraction)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_every_draw_removes_exactly_the_count(fraction):
    masks = ablation_keep_masks(jax.random.key(0), (16, 8), fraction, n_draws=200)
    for mask, n in zip(masks, (16, 8)):
        assert mask.shape == (200, n) and mask.dtype == jnp.bool_
        assert np.all((~np.asarray(mask)).sum(axis=1) == removed_count(n, fraction))


def test_each_unit_is_removed_with_probability_k_over_n():
    # Per unit and draw a Bernoulli(k/n) event, independent across draws:
    # the removal frequency of every unit within 4 sigma of k/n.
    n_draws, n = 4000, 16
    (mask,) = ablation_keep_masks(jax.random.key(1), (n,), 0.25, n_draws)
    freq = (~np.asarray(mask)).mean(axis=0)
    p = removed_count(n, 0.25) / n
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n_draws)), freq


def test_layers_and_draws_get_different_subsets():
    a, b = ablation_keep_masks(jax.random.key(2), (16, 16), 0.5, n_draws=2)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])


def test_nothing_removed_is_the_test_mode_network():
    params, x = net(), inputs()
    keep = [jnp.ones(16, bool), jnp.ones(8, bool)]
    np.testing.assert_allclose(ablated_logits(params, x, keep), dx.mlp_apply(params, x), rtol=1e-6, atol=1e-6)


def test_removing_a_unit_deletes_its_outgoing_weights():
    # An independent construction: zero the rows of the next layer's weights
    # that read the removed units, and run the intact network.
    params, x = net(), inputs()
    rng = np.random.default_rng(0)
    keep = [rng.random(16) < 0.5, rng.random(8) < 0.5]
    deleted = [dict(p) for p in params]
    for layer, m in enumerate(keep):
        deleted[layer + 1]["w"] = params[layer + 1]["w"] * jnp.asarray(m, jnp.float32)[:, None]
    np.testing.assert_allclose(
        ablated_logits(params, x, [jnp.asarray(m) for m in keep]), dx.mlp_apply(deleted, x), rtol=1e-5, atol=1e-5
    )


def test_rescale_multiplies_the_survivors_by_n_over_kept():
    params, x = net(), inputs()
    keep = [jnp.arange(16) < 4, jnp.arange(8) < 6]  # 4 of 16 and 6 of 8 kept
    scaled = [dict(p) for p in params]
    for layer, (m, factor) in enumerate(zip(keep, (16 / 4, 8 / 6))):
        scaled[layer + 1]["w"] = params[layer + 1]["w"] * (factor * m.astype(jnp.float32))[:, None]
    np.testing.assert_allclose(ablated_logits(params, x, keep, rescale=True), dx.mlp_apply(scaled, x), rtol=1e-5, atol=1e-5)


def test_ablated_logits_rejects_wrong_masks():
    params, x = net(), inputs()
    with pytest.raises(ValueError, match="one mask per hidden layer"):
        ablated_logits(params, x, [jnp.ones(16, bool)])
    with pytest.raises(ValueError, match="keep\\[1\\]"):
        ablated_logits(params, x, [jnp.ones(16, bool), jnp.ones(7, bool)])


def grid(seeds=3):
    """Params with leading axes (seeds, 2 variants): variant 1 of each seed is a copy of variant 0."""
    nets = [net(s) for s in range(seeds)]
    return jax.tree.map(lambda *leaves: jnp.stack([jnp.stack([leaf, leaf]) for leaf in leaves]), *nets)


def split(n=60):
    x = inputs(n)
    y = jax.random.randint(jax.random.key(8), (n,), 0, SIZES[-1])
    return dx.Split(x, y)


def test_scores_have_the_grid_shape_and_are_paired():
    params, data = grid(), split()
    scores = ablation_scores(params, data, [0.0, 0.5, 1.0], key=jax.random.key(0), n_draws=3)
    assert scores["correct"].shape == (3, 2, 3, 60) and scores["loss"].shape == (3, 2, 3, 60)
    # Identical networks in both variants: the same units are removed, so the scores agree exactly.
    np.testing.assert_array_equal(scores["correct"][:, 0], scores["correct"][:, 1])
    np.testing.assert_array_equal(scores["loss"][:, 0], scores["loss"][:, 1])


def test_scores_at_the_ends():
    params, data = grid(), split()
    scores = ablation_scores(params, data, [0.0, 1.0], key=jax.random.key(0), n_draws=3)
    for s in range(3):
        one = jax.tree.map(lambda leaf: leaf[s, 0], params)
        intact = (jnp.argmax(dx.mlp_apply(one, data.x), -1) == data.y).astype(jnp.float32)
        np.testing.assert_array_equal(scores["correct"][s, 0, 0], intact)
        # Every hidden unit removed: the logits are the output bias, one class for every input.
        constant = (jnp.argmax(one[-1]["b"]) == data.y).astype(jnp.float32)
        np.testing.assert_array_equal(scores["correct"][s, 0, 1], constant)


def test_different_seeds_lose_different_units():
    params, data = grid(), split()
    params = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf[:1], leaf.shape), params)  # one network everywhere
    scores = ablation_scores(params, data, [0.5], key=jax.random.key(0), n_draws=3)
    assert not np.array_equal(scores["loss"][0, 0, 0], scores["loss"][1, 0, 0])


def test_summary_matches_paired_difference_column_by_column():
    rng = np.random.default_rng(0)
    correct = [rng.random((5, 2, 3, 40)) < p for p in (0.8, 0.7)]  # two splits
    fractions = [0.0, 0.4, 0.8]
    summary = summarize_ablation(correct, fractions, n_resamples=500)
    for i in range(3):
        for v in range(2):
            scores = [c[:, v, i].astype(float) for c in correct]
            r = dx.paired_difference(scores, [np.zeros_like(s) for s in scores], n_resamples=500)
            np.testing.assert_allclose(summary.accuracy[v, i], [r.mean, r.low, r.high], rtol=1e-12)
        lost = [[c[:, v, i] - c[:, v, 0].astype(float) for c in correct] for v in (1, 0)]
        r = dx.paired_difference(lost[0], lost[1], n_resamples=500)
        np.testing.assert_allclose(summary.extra_drop[i], [r.mean, r.low, r.high], rtol=1e-12, atol=1e-15)
    assert np.all(summary.extra_drop[0] == 0.0)


def test_summary_needs_the_intact_network_first():
    with pytest.raises(ValueError, match="fractions\\[0\\] must be 0"):
        summarize_ablation([np.zeros((5, 2, 2, 10))], [0.1, 0.5])
