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
