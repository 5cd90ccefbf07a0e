"""The training substrate: data splits, the MLP, penalties, train and sweep."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib as dl
from dropoutlib.data import Dataset, Split
from dropoutlib.train import METRICS

SMALL = dl.TrainConfig(hidden=(32,), steps=60, eval_every=20, optimizer="momentum", batch_size=32)


@pytest.fixture(scope="module")
def digits():
    return dl.load_digits(seed=0, train_size=300)


# ---------------------------------------------------------------- data
def test_splits_do_not_overlap_and_cover_everything():
    n = 500
    x = np.random.default_rng(0).normal(size=(n, 3))
    ids = np.arange(n)  # the label doubles as the example's identity
    data = dl.split_and_standardize(x, ids, seed=3)
    sets = [set(np.asarray(split.y).tolist()) for split in data]
    assert sets[0].isdisjoint(sets[1]) and sets[0].isdisjoint(sets[2]) and sets[1].isdisjoint(sets[2])
    assert set().union(*sets) == set(range(n))


def test_splits_are_deterministic_by_seed():
    a, b, c = dl.load_digits(seed=1), dl.load_digits(seed=1), dl.load_digits(seed=2)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert not np.array_equal(a.test.y, c.test.y)


def test_default_split_sizes_and_train_size():
    full = dl.load_digits(seed=0)
    assert [s.x.shape[0] for s in full] == [1079, 359, 359]
    small = dl.load_digits(seed=0, train_size=100)
    assert small.train.x.shape == (100, 64)
    np.testing.assert_array_equal(small.test.y, full.test.y)  # same test images at every size


def test_standardization_is_fitted_on_train_only(digits):
    x = np.asarray(digits.train.x)
    varying = x.std(axis=0) > 0
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0)[varying], 1, rtol=1e-4)
    assert abs(float(np.asarray(digits.test.x).mean())) > 1e-4  # test statistics were not used


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": np.ones((10, 2)), "y": np.ones(9)}, "shapes"),
        ({"x": np.ones((10, 2)), "y": np.ones(10), "val_fraction": 0.0}, "val_fraction"),
        ({"x": np.ones((3, 2)), "y": np.ones(3), "val_fraction": 0.1, "test_fraction": 0.1}, "empty split"),
        ({"x": np.ones((100, 2)), "y": np.ones(100), "train_size": 1000}, "train_size"),
    ],
)
def test_bad_data_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dl.split_and_standardize(**kwargs)


# ---------------------------------------------------------------- model pieces
def test_max_norm_projects_each_unit_onto_the_ball():
    w = jnp.array([[3.0, 0.1, 0.0], [4.0, 0.2, 0.0]])  # column norms 5, 0.224, 0
    (out,) = dl.max_norm([{"w": w, "b": jnp.zeros(3)}], 2.0)
    norms = jnp.linalg.norm(out["w"], axis=0)
    np.testing.assert_allclose(norms, [2.0, math.hypot(0.1, 0.2), 0.0], rtol=1e-6)
    np.testing.assert_allclose(out["w"][:, 0], w[:, 0] * 2 / 5, rtol=1e-6)  # direction kept
    np.testing.assert_array_equal(out["w"][:, 1:], w[:, 1:])  # inside the ball: untouched
    np.testing.assert_array_equal(dl.max_norm([{"w": w, "b": jnp.zeros(3)}], jnp.inf)[0]["w"], w)


def test_weight_penalty_is_half_l2_plus_l1_on_weights_only():
    params = [{"w": jnp.array([[1.0, -2.0]]), "b": jnp.array([100.0, 100.0])}, {"w": jnp.array([[3.0]]), "b": jnp.array([5.0])}]
    assert float(dl.weight_penalty(params, l2=0.1)) == pytest.approx(0.5 * 0.1 * (1 + 4 + 9))
    assert float(dl.weight_penalty(params, l1=0.2)) == pytest.approx(0.2 * (1 + 2 + 3))
    grad = jax.grad(lambda p: dl.weight_penalty(p, l2=0.1))(params)
    np.testing.assert_allclose(grad[0]["w"], 0.1 * params[0]["w"])
    np.testing.assert_array_equal(grad[0]["b"], 0.0)


def test_l2_shrinks_the_weights(digits):
    keys, hypers, shape = dl.hyper_grid([0], dl.Hyper(learning_rate=0.05), l2=[0.0, 0.05])
    result = dl.sweep(keys, digits, hypers, SMALL, grid_shape=shape, progress=False)
    norms = result.final("weight_norm")[0]
    assert norms[1] < 0.8 * norms[0]


def test_mlp_eval_mode_uses_the_test_rules():
    params = dl.init_mlp(jax.random.key(0), (5, 7, 3))
    x = jax.random.normal(jax.random.key(1), (4, 5))
    plain = dl.mlp_apply(params, x)
    np.testing.assert_allclose(dl.mlp_apply(params, x, rates=[0.2, 0.5]), plain, rtol=1e-6)
    direct = dl.mlp_apply(params, x, rates=[0.0, 0.5], inverted=False)
    manual = jax.nn.relu(x @ params[0]["w"] + params[0]["b"]) * 0.5 @ params[1]["w"] + params[1]["b"]
    np.testing.assert_allclose(direct, manual, rtol=1e-5)


def test_mlp_rejects_bad_arguments():
    params = dl.init_mlp(jax.random.key(0), (5, 7, 3))
    with pytest.raises(ValueError, match="features"):
        dl.mlp_apply(params, jnp.ones((2, 6)))
    with pytest.raises(ValueError, match="one rate per layer"):
        dl.mlp_apply(params, jnp.ones((2, 5)), rates=[0.1])
    with pytest.raises(ValueError, match="activation"):
        dl.mlp_apply(params, jnp.ones((2, 5)), activation="tanh")
    with pytest.raises(ValueError, match="1.5"):
        dl.mlp_apply(params, jnp.ones((2, 5)), key=jax.random.key(0), rates=[0.0, 1.5], train=True)


# ---------------------------------------------------------------- train and sweep
def test_training_is_deterministic_for_a_fixed_key(digits):
    hyper = dl.Hyper(rate_input=0.2, rate_hidden=0.5, learning_rate=0.05)
    a = dl.train(jax.random.key(7), digits, hyper, SMALL)
    b = dl.train(jax.random.key(7), digits, hyper, SMALL)
    c = dl.train(jax.random.key(8), digits, hyper, SMALL)
    for name in METRICS:
        np.testing.assert_array_equal(a.curves[name], b.curves[name])
    jax.tree.map(np.testing.assert_array_equal, a.params, b.params)
    assert not np.array_equal(a.curves["train_loss"], c.curves["train_loss"])


def test_training_learns(digits):
    result = dl.train(jax.random.key(0), digits, dl.Hyper(rate_hidden=0.5, learning_rate=0.05), SMALL)
    assert result.curves["train_loss"][-1] < 0.5 * math.log(10)
    assert result.final("test_acc") > 0.8


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_vmapped_sweep_equals_the_loop_config_by_config(digits, optimizer):
    config = SMALL._replace(optimizer=optimizer)
    keys, hypers, shape = dl.hyper_grid(
        [0, 1], dl.Hyper(rate_input=0.1), rate_hidden=[0.0, 0.5], learning_rate=[0.01, 0.03], l2=[1e-3]
    )
    swept = dl.sweep(keys, digits, hypers, config, grid_shape=shape, progress=False)
    assert swept.curves["test_acc"].shape == shape + (3,)
    flat = {name: value.reshape(-1, 3) for name, value in swept.curves.items() if name != "step"}
    for i in range(keys.shape[0]):
        single = dl.train(keys[i], digits, dl.Hyper(*(float(v[i]) for v in hypers)), config)
        for name, value in flat.items():
            np.testing.assert_allclose(single.curves[name], value[i], rtol=2e-4, atol=2e-5, err_msg=f"{name}, config {i}")


def test_max_norm_holds_during_training(digits):
    result = dl.train(jax.random.key(0), digits, dl.Hyper(rate_hidden=0.5, learning_rate=0.5, max_norm=1.5), SMALL)
    for layer in result.params:
        assert float(jnp.linalg.norm(layer["w"], axis=0).max()) <= 1.5 * (1 + 1e-5)


def test_hyper_grid_shapes_and_order():
    keys, hypers, shape = dl.hyper_grid([0, 1, 2], rate_hidden=[0.1, 0.5], l2=[0.0, 1e-3, 1e-2])
    assert shape == (3, 2, 3) and keys.shape == (18,)
    assert hypers.rate_hidden.reshape(shape)[2, 1, 0] == np.float32(0.5)
    assert hypers.l2.reshape(shape)[0, 0, 2] == np.float32(1e-2)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        dl.hyper_grid([0], dropout=[0.5])


@pytest.mark.parametrize(
    "hyper, message",
    [
        (dl.Hyper(rate_hidden=1.5), "rate_hidden"),
        (dl.Hyper(rate_input=float("nan")), "rate_input"),
        (dl.Hyper(learning_rate=0.0), "learning_rate"),
        (dl.Hyper(l2=-1.0), "l2"),
        (dl.Hyper(max_norm=0.0), "max_norm"),
    ],
)
def test_bad_hyperparameters_raise(digits, hyper, message):
    with pytest.raises(ValueError, match=message):
        dl.train(jax.random.key(0), digits, hyper, SMALL)


@pytest.mark.parametrize(
    "config, message",
    [
        (SMALL._replace(optimizer="rmsprop"), "optimizer"),
        (SMALL._replace(steps=50), "multiple of eval_every"),
        (SMALL._replace(activation="tanh"), "activation"),
        (SMALL._replace(impl="philox"), "impl"),
        (SMALL._replace(batch_size=0), "batch_size"),
    ],
)
def test_bad_configs_raise(digits, config, message):
    with pytest.raises(ValueError, match=message):
        dl.train(jax.random.key(0), digits, dl.Hyper(), config)


def test_bad_data_raises(digits):
    empty = digits._replace(val=Split(digits.val.x[:0], digits.val.y[:0]))
    with pytest.raises(ValueError, match="val split is empty"):
        dl.train(jax.random.key(0), empty, dl.Hyper(), SMALL)
    mismatched = digits._replace(train=Split(digits.train.x, digits.train.y[:-1]))
    with pytest.raises(ValueError, match="mismatched shapes"):
        dl.train(jax.random.key(0), mismatched, dl.Hyper(), SMALL)
    narrow = digits._replace(test=Split(digits.test.x[:, :10], digits.test.y))
    with pytest.raises(ValueError, match="number of features"):
        dl.train(jax.random.key(0), narrow, dl.Hyper(), SMALL)
    assert isinstance(digits, Dataset)


def test_hyper_variants_cross_seeds_with_whole_configurations():
    variants = [dl.Hyper(), dl.Hyper(rate_input=0.2, rate_hidden=0.5, l2=1e-3)]
    keys, hypers, shape = dl.hyper_variants([3, 4, 5], variants)
    assert shape == (3, 2) and keys.shape == (6,)
    assert hypers.rate_hidden.reshape(shape)[1, 1] == np.float32(0.5)
    assert hypers.rate_input.reshape(shape)[2, 0] == 0.0
    np.testing.assert_array_equal(jax.random.key_data(keys[2]), jax.random.key_data(jax.random.key(4)))
    with pytest.raises(ValueError, match="variants is empty"):
        dl.hyper_variants([0], [])


def test_hidden_units_emulates_a_narrower_network(digits):
    params = dl.init_mlp(jax.random.key(0), (64, 32, 10))
    narrow = [{"w": params[0]["w"][:, :12], "b": params[0]["b"][:12]}, {"w": params[1]["w"][:12], "b": params[1]["b"]}]
    x = digits.test.x[:20]
    np.testing.assert_allclose(dl.mlp_apply(params, x, active_units=12), dl.mlp_apply(narrow, x), rtol=1e-5, atol=1e-6)
    keys, hypers, shape = dl.hyper_grid([0], dl.Hyper(learning_rate=0.05), hidden_units=[8, 32])
    result = dl.sweep(keys, digits, hypers, SMALL, grid_shape=shape, progress=False)
    # Inactive units get no gradient: their incoming weights never move from the start.
    start = dl.init_mlp(jax.random.split(keys[0])[0], (64, 32, 10))
    np.testing.assert_allclose(result.params[0]["w"][0, 0][:, 8:], start[0]["w"][:, 8:], atol=1e-6)
    assert float(jnp.abs(result.params[0]["w"][0, 0][:, :8] - start[0]["w"][:, :8]).max()) > 0.1
    assert result.final("test_acc").shape == (1, 2)
    with pytest.raises(ValueError, match="hidden_units"):
        dl.train(jax.random.key(0), digits, dl.Hyper(hidden_units=0.0), SMALL)
