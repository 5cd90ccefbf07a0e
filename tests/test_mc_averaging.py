"""Monte-Carlo averaging scored per example, and the rule that may find no matching k."""

import jax
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments import mc_averaging as mca


def test_mc_log_probs_are_the_log_of_mc_dropout_probs_with_the_same_masks():
    params = dx.init_mlp(jax.random.key(0), (6, 16, 4))
    x = jax.random.normal(jax.random.key(1), (5, 6))
    kwargs = dict(rates=[0.2, 0.5], n_samples=7)
    log_probs = mca.mc_log_probs(jax.random.key(2), params, x, **kwargs)
    probs = dx.mc_dropout_probs(jax.random.key(2), params, x, **kwargs)
    assert log_probs.shape == (7, 5, 4)
    assert np.allclose(np.exp(log_probs), probs, atol=1e-6)
    other = mca.mc_log_probs(jax.random.key(3), params, x, **kwargs)
    assert not np.allclose(other, log_probs)  # the masks depend on the key


def test_running_log_mean_is_the_log_of_the_mean_of_the_first_k_samples():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(7, 5))  # 7 samples, 5 examples, 4 classes
    log_mean = mca.running_log_mean_at(np.log(probs), [1, 3, 7])
    assert log_mean.shape == (3, 5, 4)
    for j, k in enumerate([1, 3, 7]):
        assert np.allclose(np.exp(log_mean[j]), probs[:k].mean(axis=0))
    with pytest.raises(ValueError, match="increasing"):
        mca.running_log_mean_at(np.log(probs), [3, 1])
    with pytest.raises(ValueError, match="increasing"):
        mca.running_log_mean_at(np.log(probs), [1, 8])


def test_scores_at_by_hand_and_finite_where_a_probability_underflows():
    probs = np.array([[[0.6, 0.4], [0.5, 0.5]], [[0.0, 1.0], [0.1, 0.9]]])  # 2 samples, 2 examples
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    log_probs[1, 0, 0] = -200.0  # what log_softmax gives where float32 softmax says 0
    scores = mca.scores_at(log_probs, np.array([1, 1]), [1, 2])
    # k = 1: [0.6, 0.4] -> class 0 (wrong), [0.5, 0.5] -> class 0 (wrong, a tie);
    # k = 2: [0.3, 0.7] -> right, [0.3, 0.7] -> right.
    assert scores["error"].tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert np.allclose(scores["loss"], -np.log([[0.4, 0.5], [0.7, 0.7]]))
    wrong_and_sure = mca.scores_at(np.array([[[0.0, -200.0]]]), np.array([1]), [1])
    assert wrong_and_sure["loss"][0, 0] == pytest.approx(200.0)


@pytest.mark.parametrize(
    "ok, expected",
    [
        ([False, True, True, True], 2),
        ([True, False, True, True], 3),
        ([True, True, True, True], 1),
        ([True, True, True, False], None),  # fails at the largest k: no k qualifies
        ([False, False, False, False], None),  # argmax would say 1 here
    ],
)
def test_first_sustained(ok, expected):
    assert mca.first_sustained([1, 2, 3, 5], ok) == expected


def test_first_sustained_needs_one_flag_per_k():
    with pytest.raises(ValueError, match="ok has"):
        mca.first_sustained([1, 2, 3], [True, True])


def test_within_margin_is_equivalence_and_fails_for_a_wide_interval():
    from dropoutlib.experiments.compare import PairedDifference

    def diff(low, high):
        return PairedDifference((low + high) / 2, low, high, 0.95, 10, 359, "test")

    assert mca.within_margin(diff(-0.0064, 0.0053), 0.01)
    assert not mca.within_margin(diff(-0.0031, 0.0111), 0.01)  # not detectably worse, yet not within
    assert not mca.within_margin(diff(-0.012, 0.002), 0.01)
    assert not mca.within_margin(diff(-0.01, 0.005), 0.01)  # the margin itself is outside
    # With fewer test examples the same data give a wider interval: equivalence
    # gets harder, where "not detectably worse" would get easier.
    rng = np.random.default_rng(0)
    base = rng.random((10, 359)) < 0.03  # two set-ups that mostly agree, as MC and WS do
    a = (base ^ (rng.random((10, 359)) < 0.01)).astype(float)
    b = (base ^ (rng.random((10, 359)) < 0.01)).astype(float)
    full = dx.paired_difference(a, b)
    small = dx.paired_difference(a[:, :60], b[:, :60])
    assert small.high - small.low > full.high - full.low
    assert mca.within_margin(full, 0.01) and not mca.within_margin(small, 0.01)
    with pytest.raises(ValueError, match="positive"):
        mca.within_margin(full, 0.0)
