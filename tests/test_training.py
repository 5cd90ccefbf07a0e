"""The training substrate: data splits, the MLP, penalties, train and sweep."""

import math
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments.data import Split
from dropoutlib.experiments.train import METRICS

SMALL = dx.TrainConfig(hidden=(32,), steps=60, eval_every=20, optimizer="momentum", batch_size=32)


@pytest.fixture(scope="module")
def digits():
    return dx.load_digits(seed=0, train_size=300)


# ---------------------------------------------------------------- data
def test_splits_do_not_overlap_and_cover_everything():
    n = 500
    x = np.random.default_rng(0).normal(size=(n, 3))
    ids = np.arange(n)  # the label doubles as the example's identity
    data = dx.split_and_standardize(x, ids, seed=3)
    sets = [set(np.asarray(split.y).tolist()) for split in data]
    assert sets[0].isdisjoint(sets[1]) and sets[0].isdisjoint(sets[2]) and sets[1].isdisjoint(sets[2])
    assert set().union(*sets) == set(range(n))


def test_splits_are_deterministic_by_seed():
    a, b, c = dx.load_digits(seed=1), dx.load_digits(seed=1), dx.load_digits(seed=2)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert not np.array_equal(a.test.y, c.test.y)


def test_default_split_sizes_and_train_size():
    full = dx.load_digits(seed=0)
    assert [s.x.shape[0] for s in full] == [1079, 359, 359]
    small = dx.load_digits(seed=0, train_size=100)
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
        dx.split_and_standardize(**kwargs)


# ---------------------------------------------------------------- model pieces
def test_max_norm_projects_each_unit_onto_the_ball():
    w = jnp.array([[3.0, 0.1, 0.0], [4.0, 0.2, 0.0]])  # column norms 5, 0.224, 0
    (out,) = dx.max_norm([{"w": w, "b": jnp.zeros(3)}], 2.0)
    norms = jnp.linalg.norm(out["w"], axis=0)
    np.testing.assert_allclose(norms, [2.0, math.hypot(0.1, 0.2), 0.0], rtol=1e-6)
    np.testing.assert_allclose(out["w"][:, 0], w[:, 0] * 2 / 5, rtol=1e-6)  # direction kept
    np.testing.assert_array_equal(out["w"][:, 1:], w[:, 1:])  # inside the ball: untouched
    np.testing.assert_array_equal(dx.max_norm([{"w": w, "b": jnp.zeros(3)}], jnp.inf)[0]["w"], w)


def test_weight_penalty_is_half_l2_plus_l1_on_weights_only():
    params = [{"w": jnp.array([[1.0, -2.0]]), "b": jnp.array([100.0, 100.0])}, {"w": jnp.array([[3.0]]), "b": jnp.array([5.0])}]
    assert float(dx.weight_penalty(params, l2=0.1)) == pytest.approx(0.5 * 0.1 * (1 + 4 + 9))
    assert float(dx.weight_penalty(params, l1=0.2)) == pytest.approx(0.2 * (1 + 2 + 3))
    grad = jax.grad(lambda p: dx.weight_penalty(p, l2=0.1))(params)
    np.testing.assert_allclose(grad[0]["w"], 0.1 * params[0]["w"])
    np.testing.assert_array_equal(grad[0]["b"], 0.0)


def test_l2_shrinks_the_weights(digits):
    keys, hypers, shape = dx.hyper_grid([0], dx.Hyper(learning_rate=0.05), l2=[0.0, 0.05])
    result = dx.sweep(keys, digits, hypers, SMALL, grid_shape=shape, progress=False)
    norms = result.final("weight_norm")[0]
    assert norms[1] < 0.8 * norms[0]


def test_mlp_eval_mode_uses_the_test_rules():
    params = dx.init_mlp(jax.random.key(0), (5, 7, 3))
    x = jax.random.normal(jax.random.key(1), (4, 5))
    plain = dx.mlp_apply(params, x)
    np.testing.assert_allclose(dx.mlp_apply(params, x, rates=[0.2, 0.5]), plain, rtol=1e-6)
    direct = dx.mlp_apply(params, x, rates=[0.0, 0.5], inverted=False)
    manual = jax.nn.relu(x @ params[0]["w"] + params[0]["b"]) * 0.5 @ params[1]["w"] + params[1]["b"]
    np.testing.assert_allclose(direct, manual, rtol=1e-5)


def test_mlp_rejects_bad_arguments():
    params = dx.init_mlp(jax.random.key(0), (5, 7, 3))
    with pytest.raises(ValueError, match="features"):
        dx.mlp_apply(params, jnp.ones((2, 6)))
    with pytest.raises(ValueError, match="one rate per layer"):
        dx.mlp_apply(params, jnp.ones((2, 5)), rates=[0.1])
    with pytest.raises(ValueError, match="activation"):
        dx.mlp_apply(params, jnp.ones((2, 5)), activation="tanh")
    with pytest.raises(ValueError, match="1.5"):
        dx.mlp_apply(params, jnp.ones((2, 5)), key=jax.random.key(0), rates=[0.0, 1.5], train=True)


# ---------------------------------------------------------------- train and sweep
def test_training_is_deterministic_for_a_fixed_key(digits):
    hyper = dx.Hyper(rate_input=0.2, rate_hidden=0.5, learning_rate=0.05)
    a = dx.train(jax.random.key(7), digits, hyper, SMALL)
    b = dx.train(jax.random.key(7), digits, hyper, SMALL)
    c = dx.train(jax.random.key(8), digits, hyper, SMALL)
    for name in METRICS:
        np.testing.assert_array_equal(a.curves[name], b.curves[name])
    jax.tree.map(np.testing.assert_array_equal, a.params, b.params)
    assert not np.array_equal(a.curves["train_loss"], c.curves["train_loss"])


def test_training_learns(digits):
    result = dx.train(jax.random.key(0), digits, dx.Hyper(rate_hidden=0.5, learning_rate=0.05), SMALL)
    assert result.curves["train_loss"][-1] < 0.5 * math.log(10)
    assert result.final("test_acc") > 0.8


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_vmapped_sweep_equals_the_loop_config_by_config(digits, optimizer):
    config = SMALL._replace(optimizer=optimizer)
    keys, hypers, shape = dx.hyper_grid(
        [0, 1], dx.Hyper(rate_input=0.1), rate_hidden=[0.0, 0.5], learning_rate=[0.01, 0.03], l2=[1e-3]
    )
    swept = dx.sweep(keys, digits, hypers, config, grid_shape=shape, progress=False)
    assert swept.curves["test_acc"].shape == shape + (3,)
    flat = {name: value.reshape(-1, 3) for name, value in swept.curves.items() if name != "step"}
    for i in range(keys.shape[0]):
        single = dx.train(keys[i], digits, dx.Hyper(*(float(v[i]) for v in hypers)), config)
        for name, value in flat.items():
            np.testing.assert_allclose(single.curves[name], value[i], rtol=2e-4, atol=2e-5, err_msg=f"{name}, config {i}")


def test_max_norm_holds_during_training(digits):
    result = dx.train(jax.random.key(0), digits, dx.Hyper(rate_hidden=0.5, learning_rate=0.5, max_norm=1.5), SMALL)
    for layer in result.params:
        assert float(jnp.linalg.norm(layer["w"], axis=0).max()) <= 1.5 * (1 + 1e-5)


def test_hyper_grid_shapes_and_order():
    keys, hypers, shape = dx.hyper_grid([0, 1, 2], rate_hidden=[0.1, 0.5], l2=[0.0, 1e-3, 1e-2])
    assert shape == (3, 2, 3) and keys.shape == (18,)
    assert hypers.rate_hidden.reshape(shape)[2, 1, 0] == np.float32(0.5)
    assert hypers.l2.reshape(shape)[0, 0, 2] == np.float32(1e-2)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        dx.hyper_grid([0], dropout=[0.5])


@pytest.mark.parametrize(
    "hyper, message",
    [
        (dx.Hyper(rate_hidden=1.5), "rate_hidden"),
        (dx.Hyper(rate_input=float("nan")), "rate_input"),
        (dx.Hyper(learning_rate=0.0), "learning_rate"),
        (dx.Hyper(l2=-1.0), "l2"),
        (dx.Hyper(max_norm=0.0), "max_norm"),
        (dx.Hyper(rate_hidden=True), "rate_hidden"),
        (dx.Hyper(rate_input="0.2"), "rate_input"),
    ],
)
def test_bad_hyperparameters_raise(digits, hyper, message):
    with pytest.raises((TypeError, ValueError), match=message):
        dx.train(jax.random.key(0), digits, hyper, SMALL)


@pytest.mark.parametrize(
    "config, message",
    [
        (SMALL._replace(optimizer="rmsprop"), "optimizer"),
        (SMALL._replace(steps=50), "multiple of eval_every"),
        (SMALL._replace(activation="tanh"), "activation"),
        (SMALL._replace(impl="threefry"), "impl"),
        (SMALL._replace(batch_size=0), "batch_size"),
    ],
)
def test_bad_configs_raise(digits, config, message):
    with pytest.raises(ValueError, match=message):
        dx.train(jax.random.key(0), digits, dx.Hyper(), config)


def test_bad_data_raises(digits):
    empty = digits._replace(val=Split(digits.val.x[:0], digits.val.y[:0]))
    with pytest.raises(ValueError, match="val split is empty"):
        dx.train(jax.random.key(0), empty, dx.Hyper(), SMALL)
    mismatched = digits._replace(train=Split(digits.train.x, digits.train.y[:-1]))
    with pytest.raises(ValueError, match="mismatched shapes"):
        dx.train(jax.random.key(0), mismatched, dx.Hyper(), SMALL)
    narrow = digits._replace(test=Split(digits.test.x[:, :10], digits.test.y))
    with pytest.raises(ValueError, match="number of features"):
        dx.train(jax.random.key(0), narrow, dx.Hyper(), SMALL)


def test_hyper_variants_cross_seeds_with_whole_configurations():
    variants = [dx.Hyper(), dx.Hyper(rate_input=0.2, rate_hidden=0.5, l2=1e-3)]
    keys, hypers, shape = dx.hyper_variants([3, 4, 5], variants)
    assert shape == (3, 2) and keys.shape == (6,)
    assert hypers.rate_hidden.reshape(shape)[1, 1] == np.float32(0.5)
    assert hypers.rate_input.reshape(shape)[2, 0] == 0.0
    np.testing.assert_array_equal(jax.random.key_data(keys[2]), jax.random.key_data(jax.random.key(4)))
    with pytest.raises(ValueError, match="variants is empty"):
        dx.hyper_variants([0], [])


def test_hidden_units_emulates_a_narrower_network(digits):
    params = dx.init_mlp(jax.random.key(0), (64, 32, 10))
    narrow = [{"w": params[0]["w"][:, :12], "b": params[0]["b"][:12]}, {"w": params[1]["w"][:12], "b": params[1]["b"]}]
    x = digits.test.x[:20]
    np.testing.assert_allclose(dx.mlp_apply(params, x, active_units=12), dx.mlp_apply(narrow, x), rtol=1e-5, atol=1e-6)
    keys, hypers, shape = dx.hyper_grid([0], dx.Hyper(learning_rate=0.05), hidden_units=[8, 32])
    result = dx.sweep(keys, digits, hypers, SMALL, grid_shape=shape, progress=False)
    # Inactive units get no gradient: their incoming weights never move from the start.
    start = dx.init_mlp(jax.random.split(keys[0])[0], (64, 32, 10))
    np.testing.assert_allclose(result.params[0]["w"][0, 0][:, 8:], start[0]["w"][:, 8:], atol=1e-6)
    assert float(jnp.abs(result.params[0]["w"][0, 0][:, :8] - start[0]["w"][:, :8]).max()) > 0.1
    assert result.final("test_acc").shape == (1, 2)
    with pytest.raises(ValueError, match="hidden_units"):
        dx.train(jax.random.key(0), digits, dx.Hyper(hidden_units=0.0), SMALL)


def test_train_and_sweep_agree_on_the_progress_bar_default():
    import inspect

    defaults = {f.__name__: inspect.signature(f).parameters["progress"].default for f in (dx.train, dx.sweep)}
    assert defaults == {"train": False, "sweep": False}


def test_per_example_scores_match_the_curves(digits):
    variants = [dx.Hyper(learning_rate=0.05), dx.Hyper(rate_hidden=0.5, learning_rate=0.05)]
    keys, hypers, shape = dx.hyper_variants([0, 1], variants)
    config = SMALL._replace(inverted=False)  # direct nets need their rates at test time
    result = dx.sweep(keys, digits, hypers, config, grid_shape=shape)
    scores = dx.per_example_scores(result, digits.test, hypers, config)
    assert scores["correct"].shape == shape + (digits.test.x.shape[0],)
    np.testing.assert_allclose(scores["correct"].mean(-1), result.final("test_acc"), atol=1e-6)
    np.testing.assert_allclose(scores["loss"].mean(-1), result.final("test_loss"), rtol=1e-5)


def test_sweep_sharded_over_four_devices_equals_one_device(tmp_path):
    # With 4 devices and 4 configurations, each device trains one. That must
    # be bit for bit what one device gives when it sweeps that configuration
    # alone. A one-device sweep of all 4 batches them through one vmapped
    # program, whose batched matmuls round differently in the last bit (so
    # does an unbatched train()); it agrees to round-off.
    script = textwrap.dedent(
        """
        import sys, jax, numpy as np
        import dropoutlib.experiments as dx
        data = dx.load_digits(seed=0, train_size=200)
        config = dx.TrainConfig(hidden=(32,), steps=40, eval_every=20, optimizer="momentum", batch_size=32)
        keys, hypers, shape = dx.hyper_grid([0, 1], dx.Hyper(learning_rate=0.05), rate_hidden=[0.0, 0.5])
        result = dx.sweep(keys, data, hypers, config, grid_shape=shape)
        print(len(jax.devices()), len(result.params[0]["w"].sharding.device_set))
        curves = {k: v.reshape((4,) + v.shape[2:]) for k, v in result.curves.items() if k != "step"}
        if len(jax.devices()) == 1:
            alone = [dx.sweep(keys[i:i + 1], data, jax.tree.map(lambda v: v[i:i + 1], hypers), config) for i in range(4)]
            curves = {**curves, **{"alone_" + k: np.concatenate([r.curves[k] for r in alone]) for k in curves}}
        np.savez(sys.argv[1], **curves)
        """
    )
    outputs = {}
    for devices in (1, 4):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
        out = tmp_path / f"{devices}.npz"
        run = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.split() == [str(devices), str(devices)], run.stdout  # really sharded over 4
        outputs[devices] = dict(np.load(out))
    for name, sharded in outputs[4].items():
        np.testing.assert_array_equal(sharded, outputs[1]["alone_" + name], err_msg=name)
        np.testing.assert_allclose(sharded, outputs[1][name], rtol=1e-5, atol=1e-6, err_msg=name)
