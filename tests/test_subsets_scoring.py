"""Runs with their own training sets and one test set; Brier score, tail share, Hoyer sparsity; variance components."""

import math

import jax
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments.crossed import VarianceComponents, variance_components
from dropoutlib.experiments.scoring import brier_score, hoyer_sparsity, tail_share
from dropoutlib.experiments.subsets import N_DIGITS, pool_and_test_indices, run_data, network_outputs, train_runs


# ---------------------------------------------------------------- the data of a run
def test_pool_and_test_partition_the_images():
    pool, test = pool_and_test_indices(split_seed=3, n_test=700)
    assert test.size == 700 and pool.size == N_DIGITS - 700
    assert np.array_equal(np.sort(np.concatenate([pool, test])), np.arange(N_DIGITS))


@pytest.mark.parametrize("n_test", [0, N_DIGITS])
def test_pool_and_test_reject_empty_parts(n_test):
    with pytest.raises(ValueError, match="n_test"):
        pool_and_test_indices(n_test=n_test)


def test_the_default_test_set_is_load_digits_validation_and_test():
    # Docstring: split seed 0 and 718 test images give load_digits(seed=0)'s
    # test and validation images as the test set and its training images as
    # the pool (standardized with the same 1079 images, so equal pixels).
    full, digits = run_data(0), dx.load_digits(seed=0)
    np.testing.assert_allclose(full.test.x[:359], digits.test.x, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(full.test.x[359:], digits.val.x, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(full.test.y, np.concatenate([digits.test.y, digits.val.y]))
    assert full.train.x.shape == digits.train.x.shape
    # The same 1079 images, in another order: each row's nearest row in the
    # other array is a match, and the matching is a permutation.
    a, b = np.asarray(full.train.x, np.float64), np.asarray(digits.train.x, np.float64)
    distance = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
    nearest = distance.argmin(axis=1)
    assert np.all(distance[np.arange(a.shape[0]), nearest] < 1e-6)
    assert np.unique(nearest).size == a.shape[0]


def test_runs_draw_different_training_sets_from_the_pool_and_share_the_test_set():
    a, b = run_data(0, 250), run_data(1, 250)
    assert a.train.x.shape == (250, 64) and a.test.x.shape == (718, 64)
    assert a.val is a.test  # nothing is tuned: no validation split
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.y, b.train.y)
    assert np.array_equal(run_data(0, 250).train.x, a.train.x)  # deterministic


def test_a_run_never_trains_on_a_test_image():
    # The 1797 images are distinct, and one affine map per pixel standardizes
    # both splits of a run, so a shared image would be a shared row.
    for run in (0, 5):
        data = run_data(run, 1079 if run == 0 else 250)
        train = {bytes(r) for r in np.asarray(data.train.x)}
        assert train.isdisjoint(bytes(r) for r in np.asarray(data.test.x))
        assert len(train) == data.train.x.shape[0]


def test_standardized_with_the_runs_own_training_images():
    run = run_data(2, 250)
    x = np.asarray(run.train.x)
    std = x.std(axis=0)
    varying = std > 0
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(std[varying], 1.0, rtol=1e-4)


@pytest.mark.parametrize("bad", [dict(run=-1), dict(run=0, train_size=0), dict(run=0, train_size=1080)])
def test_run_data_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        run_data(**bad)


# ---------------------------------------------------------------- training runs
CONFIG = dx.TrainConfig(hidden=(8,), steps=20, eval_every=10, optimizer="adam", batch_size=16)
NONE = dx.Hyper(learning_rate=1e-2)


@pytest.fixture(scope="module")
def runs():
    # Two programs only (a Bernoulli and a Gaussian sweep of two set-ups), compiled once.
    setups = {"a": (NONE, "bernoulli"), "b": (NONE, "bernoulli"), "g0": (NONE, "gaussian"),
              "g": (dx.Hyper(learning_rate=1e-2, rate_hidden=0.5), "gaussian")}
    return train_runs([0, 3], 40, setups, CONFIG)


def test_train_runs_is_paired_and_shaped(runs):
    assert runs.names == ("a", "b", "g0", "g")
    assert runs.params[0]["w"].shape == (2, 4, 64, 8)
    assert runs.curves["test_acc"].shape == (2, 4, 2) and list(runs.curves["step"]) == [10, 20]
    w = runs.params[0]["w"]
    # Same key within a run: two identical set-ups train identically, and
    # Gaussian noise of rate 0 is no noise at all.
    np.testing.assert_array_equal(w[:, 0], w[:, 1])
    np.testing.assert_allclose(w[:, 2], w[:, 0], rtol=1e-6, atol=1e-6)
    assert not np.allclose(w[:, 3], w[:, 0])  # real noise changes the training
    assert not np.allclose(w[0, 0], w[1, 0])  # runs differ


def test_each_run_is_a_sweep_on_its_own_data(runs):
    keys, hypers, shape = dx.hyper_variants([3], [NONE, NONE])
    alone = dx.sweep(keys, run_data(3, 40), hypers, CONFIG, grid_shape=shape)
    np.testing.assert_allclose(runs.params[0]["w"][1, 0], alone.params[0]["w"][0, 0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(runs.curves["test_acc"][1, 0], alone.curves["test_acc"][0, 0], atol=1e-6)


def test_network_outputs_are_the_test_mode_networks(runs):
    logits, hidden = network_outputs(runs.params, runs.test.x)
    assert logits.shape == (2, 4, 718, 10)
    assert len(hidden) == 1 and hidden[0].shape == (2, 4, 718, 8)
    one = jax.tree.map(lambda leaf: leaf[1, 3], runs.params)
    np.testing.assert_allclose(logits[1, 3], dx.mlp_apply(one, runs.test.x), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- scores
def test_brier_score_by_hand():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]]))
    expected = [(0.3**2 + 0.2**2 + 0.1**2), (0.7**2 + 0.8**2 + 0.1**2)]
    np.testing.assert_allclose(brier_score(logits, np.array([0, 1])), expected, rtol=1e-12)


def test_brier_score_bounds_shift_and_broadcast():
    rng = np.random.default_rng(0)
    z = 30 * rng.normal(size=(4, 50, 10))
    y = rng.integers(0, 10, 50)
    b = brier_score(z, y)
    assert b.shape == (4, 50) and np.all(b >= 0) and np.all(b <= 2)
    np.testing.assert_allclose(brier_score(z + 7.0, y), b, atol=1e-12)  # softmax ignores a shift
    certain_wrong = np.array([[100.0, 0.0]])
    np.testing.assert_allclose(brier_score(certain_wrong, np.array([1])), [2.0])


def test_brier_score_is_proper():
    # Expected score under true probabilities t is minimized by predicting t.
    t = np.array([0.6, 0.3, 0.1])
    expected = lambda p: sum(t[k] * brier_score(np.log(p)[None], np.array([k]))[0] for k in range(3))  # noqa: E731
    assert expected(t) < expected(np.array([0.5, 0.4, 0.1])) and expected(t) < expected(np.array([0.8, 0.1, 0.1]))


def test_brier_score_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        brier_score(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integers"):
        brier_score(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_tail_share():
    assert tail_share(np.ones(1000), 0.01) == pytest.approx(0.01)
    x = np.ones(1000)
    x[3] = 9001.0
    assert tail_share(x, 0.001) == pytest.approx(9001 / 10000)
    assert tail_share(np.arange(1, 5), 0.5) == pytest.approx(7 / 10)  # ceil(2) largest: 4 + 3
    for bad in (np.array([-1.0, 2.0]), np.array([np.inf]), np.zeros(3)):
        with pytest.raises(ValueError):
            tail_share(bad)


def test_hoyer_sparsity():
    n = 16
    one_hot = np.zeros(n)
    one_hot[5] = 3.0
    assert hoyer_sparsity(one_hot) == pytest.approx(1.0)
    assert hoyer_sparsity(np.full(n, 2.5)) == pytest.approx(0.0, abs=1e-12)
    assert hoyer_sparsity(np.zeros(n)) == 1.0
    h = np.abs(np.random.default_rng(1).normal(size=(3, 7, n)))
    np.testing.assert_allclose(hoyer_sparsity(7.3 * h), hoyer_sparsity(h), rtol=1e-12)  # scale-free
    half = np.r_[np.ones(8), np.zeros(8)]  # |h|_1/|h|_2 = sqrt(8)
    assert hoyer_sparsity(half) == pytest.approx((4 - math.sqrt(8)) / 3)
    with pytest.raises(ValueError, match="non-negative"):
        hoyer_sparsity(-h)


# ---------------------------------------------------------------- variance components
def test_variance_components_of_an_additive_array_are_exact():
    # No residual: the run and image effects are recovered exactly.
    a, b = np.array([1.0, -2.0, 0.5, 3.0]), np.linspace(-1, 1, 30) ** 3
    vc = variance_components(0.7 + a[:, None] + b[None, :])
    assert vc.residual == pytest.approx(0.0, abs=1e-12)
    assert vc.run == pytest.approx(a.var(ddof=1)) and vc.image == pytest.approx(b.var(ddof=1))
    assert vc.standard_error() == pytest.approx(math.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 30))


def test_variance_components_are_unbiased():
    # Monte Carlo over many crossed arrays: each mean estimate within 4 of its
    # standard errors of the truth (the estimates are not truncated here at
    # these sizes: they stay positive).
    rng = np.random.default_rng(0)
    truth, r, n, trials = (1.0, 2.0, 3.0), 6, 40, 3000
    est = np.array([
        variance_components(
            np.sqrt(truth[0]) * rng.normal(size=(r, 1)) + np.sqrt(truth[1]) * rng.normal(size=(1, n))
            + np.sqrt(truth[2]) * rng.normal(size=(r, n))
        )[:3]
        for _ in range(trials)
    ])
    assert np.all(est[:, 1:] > 0)
    mean, se = est.mean(axis=0), est.std(axis=0, ddof=1) / np.sqrt(trials)
    assert np.all(np.abs(mean - truth) < 4 * se), (mean, se)


def test_standard_error_matches_the_variance_of_the_mean():
    # The formula sigma_a^2/R + sigma_b^2/N + sigma_e^2/(RN) against the spread
    # of simulated grand means (4-sigma bound on the variance ratio, chi-square
    # with trials - 1 degrees of freedom: sd of s^2/sigma^2 about sqrt(2/trials)).
    rng = np.random.default_rng(1)
    vc = VarianceComponents(1.0, 2.0, 3.0, 6, 40)
    trials = 4000
    means = [(rng.normal(size=(6, 1)) + np.sqrt(2) * rng.normal(size=(1, 40))
              + np.sqrt(3) * rng.normal(size=(6, 40))).mean() for _ in range(trials)]
    ratio = np.var(means, ddof=1) / vc.standard_error() ** 2
    assert abs(ratio - 1) < 4 * np.sqrt(2 / trials), ratio
    assert vc.standard_error(60, 400) < vc.standard_error()
    parts = vc.parts()
    assert sum(v**2 for v in parts.values()) == pytest.approx(vc.standard_error() ** 2)


def test_variance_components_reject_bad_input():
    with pytest.raises(ValueError, match="runs, images"):
        variance_components(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        variance_components(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="positive"):
        VarianceComponents(1, 1, 1, 3, 3).standard_error(0)
