"""Fixed test set with fresh training splits; tiled training sets; choosing on validation, scoring on test."""

import jax
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments import tuning
from dropoutlib.experiments.resplit import resplit, resplit_digits, tile_train

SMALL = dx.TrainConfig(hidden=(16, 16), steps=30, eval_every=10, optimizer="momentum", batch_size=32)


def ids_split(split_seed, test_seed=0, n=500, **kwargs):
    """A split whose labels are the examples' identities."""
    x = np.random.default_rng(0).normal(size=(n, 3))
    data = resplit(x, np.arange(n), split_seed=split_seed, test_seed=test_seed, **kwargs)
    return [np.asarray(s.y) for s in data]


# ---------------------------------------------------------------- resplit
def test_the_test_set_is_fixed_and_the_training_split_is_not():
    train_a, val_a, test_a = ids_split(1)
    train_b, val_b, test_b = ids_split(2)
    np.testing.assert_array_equal(test_a, test_b)  # same images, same order: a crossed design
    assert set(train_a) != set(train_b) and set(val_a) != set(val_b)
    for train, val, test in ((train_a, val_a, test_a), (train_b, val_b, test_b)):
        assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
        assert set(train) | set(val) | set(test) == set(range(500))
    assert not np.array_equal(ids_split(1, test_seed=5)[2], test_a)


def test_the_test_set_is_load_digits_test_set():
    x = np.random.default_rng(0).normal(size=(500, 3))
    plain = dx.split_and_standardize(x, np.arange(500), seed=3)
    np.testing.assert_array_equal(ids_split(7, test_seed=3)[2], np.asarray(plain.test.y))
    digits = resplit_digits(split_seed=4)
    assert [s.x.shape[0] for s in digits] == [1079, 359, 359]
    np.testing.assert_array_equal(digits.test.y, dx.load_digits(seed=0).test.y)


def test_standardized_on_the_training_split_and_train_size_takes_its_head():
    data = resplit_digits(split_seed=2, train_size=200)
    x = np.asarray(data.train.x)
    varying = x.std(axis=0) > 0
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0)[varying], 1, rtol=1e-4)
    full, small = ids_split(2), ids_split(2, train_size=50)
    np.testing.assert_array_equal(small[0], full[0][:50])
    np.testing.assert_array_equal(small[1], full[1])
    with pytest.raises(ValueError, match="train_size"):
        ids_split(2, train_size=400)
    with pytest.raises(ValueError, match="val_fraction"):
        ids_split(2, val_fraction=1.0)


# ---------------------------------------------------------------- tile_train
def test_tiling_repeats_each_training_example_equally_often():
    data = resplit_digits(split_seed=0, train_size=50)
    tiled = tile_train(data, 1000)
    assert tiled.train.x.shape == (1000, 64)
    counts = np.unique(np.asarray(tiled.train.x), axis=0, return_counts=True)[1]
    assert len(counts) == len(np.unique(np.asarray(data.train.x), axis=0)) and set(counts) == {20}
    np.testing.assert_array_equal(tiled.val.x, data.val.x)
    np.testing.assert_array_equal(tiled.test.y, data.test.y)
    with pytest.raises(ValueError, match="multiple"):
        tile_train(data, 1010)


def test_full_batch_training_on_tiled_data_is_training_on_the_data():
    # The mean gradient over k copies of each example is the mean over the examples.
    data = resplit_digits(split_seed=0, train_size=100)
    config = SMALL._replace(batch_size=None)
    hyper = dx.Hyper(learning_rate=0.1)
    plain = dx.train(jax.random.key(0), data, hyper, config)
    tiled = dx.train(jax.random.key(0), tile_train(data, 500), hyper, config)
    for name in ("train_loss", "train_acc", "val_loss", "test_acc"):
        np.testing.assert_allclose(tiled.curves[name], plain.curves[name], rtol=1e-4, atol=1e-5, err_msg=name)


# ---------------------------------------------------------------- sweep_scored
@pytest.fixture(scope="module")
def scored():
    data = resplit_digits(split_seed=0, train_size=300)
    keys, hypers, shape = dx.hyper_grid([0], dx.Hyper(rate_input=0.2), rate_hidden=[0.0, 0.5], learning_rate=[0.01, 0.1])
    return data, keys, hypers, shape, tuning.sweep_scored(keys, data, hypers, SMALL, grid_shape=shape)


def test_sweep_scored_trains_exactly_like_sweep(scored):
    data, keys, hypers, shape, result = scored
    plain = dx.sweep(keys, data, hypers, SMALL, grid_shape=shape)
    for name in result.curves:
        np.testing.assert_array_equal(result.curves[name], plain.curves[name], err_msg=name)
    np.testing.assert_array_equal(result.steps, plain.curves["step"])
    assert result.test_correct.shape == shape + (3, 359)
    # The kept test scores are the test accuracy, example by example ...
    np.testing.assert_allclose(result.test_correct.mean(-1), result.curves["test_acc"], atol=1e-6)
    # ... and at the last evaluation they are per_example_scores of the final parameters.
    final = dx.per_example_scores(plain, data.test, hypers, SMALL)
    np.testing.assert_array_equal(result.test_correct[..., -1, :], final["correct"])
    np.testing.assert_allclose(result.test_loss[..., -1, :], final["loss"], rtol=1e-4, atol=1e-5)


def test_sweep_runs_pairs_the_variants_of_a_run():
    variants = [dx.Hyper(), dx.Hyper(rate_hidden=0.5)]
    result = tuning.sweep_runs([3, 4], variants, [0.05], SMALL, lambda r: resplit_digits(split_seed=r, train_size=100))
    assert result.test_correct.shape == (2, 2, 1, 3, 359)
    single = dx.train(jax.random.key(4), resplit_digits(split_seed=4, train_size=100), dx.Hyper(rate_hidden=0.5, learning_rate=0.05), SMALL)
    np.testing.assert_allclose(result.curves["val_acc"][1, 1, 0], single.curves["val_acc"], atol=1e-6)


def test_sweep_runs_with_per_run_variants_at_their_own_learning_rates():
    # Run r's variants come from a function of r; learning_rates=None keeps each
    # variant's own rate: a candidate axis of length 1.
    rate = {3: 0.05, 4: 0.02}
    variants = lambda r: [dx.Hyper(learning_rate=rate[r]), dx.Hyper(rate_hidden=0.5, learning_rate=0.1)]
    data = lambda r: resplit_digits(split_seed=r, train_size=100)
    result = tuning.sweep_runs([3, 4], variants, None, SMALL, data)
    assert result.test_correct.shape == (2, 2, 1, 3, 359)
    for i, r in enumerate((3, 4)):
        single = dx.train(jax.random.key(r), data(r), dx.Hyper(learning_rate=rate[r]), SMALL)
        np.testing.assert_allclose(result.curves["val_acc"][i, 0, 0], single.curves["val_acc"], atol=1e-6)


# ---------------------------------------------------------------- choose_on_validation
def synthetic(val_acc, val_loss, steps=(10, 20, 30)):
    val_acc, val_loss = np.asarray(val_acc, float), np.asarray(val_loss, float)
    shape = val_acc.shape
    rng = np.random.default_rng(0)
    curves = {
        "val_acc": val_acc,
        "val_loss": val_loss,
        "train_acc": rng.random(shape),
        "test_acc": rng.random(shape),
    }
    correct = rng.integers(0, 2, size=shape + (5,)).astype(float)
    return tuning.ScoredSweep(curves, correct, rng.random(shape + (5,)), np.asarray(steps))


def test_choose_takes_the_lowest_validation_error_and_breaks_ties_by_loss():
    # Grid (set-ups = 2, learning rates = 2) x 3 evaluations.
    val_acc = [[[0.8, 0.9, 0.85], [0.7, 0.9, 0.6]], [[0.5, 0.6, 0.7], [0.95, 0.6, 0.94]]]
    val_loss = [[[0.5, 0.4, 0.3], [0.9, 0.2, 0.9]], [[0.1, 0.1, 0.1], [0.3, 0.1, 0.2]]]
    s = synthetic(val_acc, val_loss)
    chosen = tuning.choose_on_validation(s)
    # Set-up 0: 0.9 twice; the lower loss (0.2) is learning rate 1, step 20.
    # Set-up 1: 0.95 at learning rate 1, step 10.
    np.testing.assert_array_equal(chosen.candidate, [1, 1])
    np.testing.assert_array_equal(chosen.step, [20, 10])
    np.testing.assert_allclose(chosen.val_error, [0.1, 0.05])
    np.testing.assert_array_equal(chosen.test_correct[0], s.test_correct[0, 1, 1])
    np.testing.assert_array_equal(chosen.test_correct[1], s.test_correct[1, 1, 0])
    np.testing.assert_allclose(chosen.test_error, [1 - s.curves["test_acc"][0, 1, 1], 1 - s.curves["test_acc"][1, 1, 0]])
    np.testing.assert_allclose(chosen.train_error[1], 1 - s.curves["train_acc"][1, 1, 0])


def test_choose_ignores_the_test_split():
    val_acc = np.random.default_rng(1).random((3, 4, 2, 5))
    s = synthetic(val_acc, np.zeros_like(val_acc), steps=range(1, 6))
    flipped = s._replace(test_correct=1 - s.test_correct, curves={**s.curves, "test_acc": 1 - s.curves["test_acc"]})
    a, b = tuning.choose_on_validation(s), tuning.choose_on_validation(flipped)
    np.testing.assert_array_equal(a.candidate, b.candidate)
    np.testing.assert_array_equal(a.step, b.step)
    # Another candidate axis: the choice runs over axis 1 (4 values) and the evaluations.
    c = tuning.choose_on_validation(s, candidate_axis=1)
    assert c.candidate.shape == (3, 2) and c.candidate.max() < 4
    best = val_acc.transpose(0, 2, 1, 3).reshape(3, 2, -1).argmax(-1)
    np.testing.assert_array_equal(c.candidate, best // 5)


def test_stack_runs_refuses_runs_evaluated_at_different_steps():
    a = synthetic(np.ones((1, 2, 3)), np.ones((1, 2, 3)))
    b = synthetic(np.ones((1, 2, 3)), np.ones((1, 2, 3)), steps=(5, 10, 15))
    assert tuning.stack_runs([a, a]).test_correct.shape == (2, 1, 2, 3, 5)
    with pytest.raises(ValueError, match="different steps"):
        tuning.stack_runs([a, b])
