"""Weight norms at step 0, units held by max-norm, how often the projection acts,
per-layer learning-rate factors, and the choice of a setting on validation."""

import functools
import importlib
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments.reparam import direct_params_from_inverted
from dropoutlib.experiments.selection import choose_by_validation, on_grid_edge
from dropoutlib.experiments.weights import (
    initial_params,
    layer_norms,
    runaway,
    unit_norms,
    units_at_bound,
    weight_norm,
    weights_at_test_time,
)

tr = importlib.import_module("dropoutlib.experiments.train")  # the module; dx.train is the function

SMALL = dx.TrainConfig(hidden=(32,), steps=40, eval_every=20, optimizer="momentum", batch_size=32)


@pytest.fixture(scope="module")
def digits():
    return dx.load_digits(seed=0, train_size=300)


# ---------------------------------------------------------------- weights at step 0
def test_initial_params_are_what_training_starts_from(digits):
    # With a learning rate of 1e-30 one step moves nothing: the trained params
    # are the starting params. A different key split or projection would differ.
    variants = [dx.Hyper(learning_rate=1e-30), dx.Hyper(learning_rate=1e-30, max_norm=0.5)]
    keys, hypers, shape = dx.hyper_variants([0, 1], variants)
    config = SMALL._replace(steps=1, eval_every=1)
    start = initial_params(keys, digits, hypers, config, grid_shape=shape)
    moved = dx.sweep(keys, digits, hypers, config, grid_shape=shape)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12), start, moved.params)
    np.testing.assert_allclose(weight_norm(start), moved.final("weight_norm"), rtol=1e-5)
    assert weight_norm(start)[0, 0] != weight_norm(start)[1, 0]  # seeds differ
    assert np.all(np.concatenate([n[:, 1].ravel() for n in unit_norms(start)]) <= 0.5 * (1 + 1e-6))  # projected at init


def test_initial_params_reject_a_wrong_grid(digits):
    keys, hypers, _ = dx.hyper_variants([0, 1], [dx.Hyper()])
    with pytest.raises(ValueError, match="grid_shape"):
        initial_params(keys, digits, hypers, SMALL, grid_shape=(3,))


def test_weight_norm_and_unit_norms_by_hand():
    params = [{"w": np.array([[3.0, 0.0], [4.0, 1.0]]), "b": np.array([100.0, 100.0])}, {"w": np.array([[2.0], [0.0]]), "b": np.zeros(1)}]
    assert weight_norm(params) == pytest.approx(math.sqrt(9 + 16 + 1 + 4))  # biases excluded
    np.testing.assert_allclose(unit_norms(params)[0], [5.0, 1.0])
    assert [int(n) for n in units_at_bound(params, 2.0)] == [1, 1]  # 5 >= 2 and 2 >= 2; 1 < 2
    assert [int(n) for n in units_at_bound(params, 5.0 * (1 + 1e-6))] == [1, 0]  # within rtol of the bound


def test_layer_norms_by_hand():
    params = [{"w": np.array([[3.0, 0.0], [4.0, 0.0]]), "b": np.ones(2)}, {"w": np.array([[1.0], [1.0]]), "b": np.zeros(1)}]
    norms = layer_norms(params)
    assert [float(n) for n in norms] == pytest.approx([5.0, math.sqrt(2)])
    assert float(np.sqrt(sum(n**2 for n in norms))) == pytest.approx(weight_norm(params))


def test_weights_at_test_time_scale_direct_nets_by_q():
    params = [{"w": np.full((2, 3), 2.0), "b": np.ones(3)}, {"w": np.full((3, 1), 4.0), "b": np.ones(1)}]
    same = weights_at_test_time(params, [0.2, 0.5], inverted=True)
    np.testing.assert_array_equal(same[1]["w"], params[1]["w"])
    scaled = weights_at_test_time(params, [0.2, 0.5], inverted=False)
    np.testing.assert_allclose(scaled[0]["w"], 1.6)  # q = 0.8
    np.testing.assert_allclose(scaled[1]["w"], 2.0)  # q = 0.5
    np.testing.assert_array_equal(scaled[1]["b"], params[1]["b"])  # biases untouched
    with pytest.raises(ValueError, match="one rate per layer"):
        weights_at_test_time(params, [0.2], inverted=False)
    with pytest.raises(ValueError, match="rates"):
        weights_at_test_time(params, [0.2, 1.0], inverted=False)


def test_direct_net_at_test_time_equals_its_test_time_weights(digits):
    # A direct-dropout net at test time computes a plain net with weights q W.
    config = SMALL._replace(inverted=False)
    hyper = dx.Hyper(rate_input=0.2, rate_hidden=0.5)
    result = dx.train(jax.random.key(0), digits, hyper, config)
    plain = weights_at_test_time(result.params, [0.2, 0.5], inverted=False)
    x = digits.test.x[:50]
    direct_out = dx.mlp_apply(result.params, x, rates=[0.2, 0.5], train=False, inverted=False)
    plain_out = dx.mlp_apply(plain, x, train=False)
    np.testing.assert_allclose(direct_out, plain_out, rtol=1e-5, atol=1e-5)


def test_runaway_counts_growth_above_the_factor_and_nan():
    start = np.array([1.0, 1.0, 2.0, 2.0])
    end = np.array([2.9, 3.1, 6.0, np.nan])
    np.testing.assert_array_equal(runaway(start, end), [False, True, False, True])
    np.testing.assert_array_equal(runaway(start, end, factor=5.0), [False, False, False, True])
    np.testing.assert_array_equal(runaway(1.0, np.inf), True)
    with pytest.raises(ValueError, match="exceed 1"):
        runaway(start, end, factor=1.0)
    with pytest.raises(ValueError, match="positive"):
        runaway(np.array([0.0]), np.array([1.0]))


def test_units_at_bound_after_projection_and_not_before(digits):
    result = dx.train(jax.random.key(0), digits, dx.Hyper(learning_rate=0.5, max_norm=1.0), SMALL)
    held = units_at_bound(result.params, 1.0)
    assert int(held[0]) > 0  # He columns have norm ~1.4: the first layer is held at 1
    free = dx.train(jax.random.key(0), digits, dx.Hyper(learning_rate=0.5), SMALL)
    assert [int(n) for n in units_at_bound(free.params, 1e6)] == [0, 0]


# ---------------------------------------------------------------- how often max-norm acts
def _projected_by_hand(key, data, hyper, config):
    """Replays the training loop step by step and counts the units outside the ball before projection."""
    state = tr._init(key, hyper, data, config=config)
    optimizer = tr._optimizer(config, hyper)
    dropout_key, batch_key = jax.random.split(state.key)

    @jax.jit
    def unconstrained_step(params, opt_state, step):
        idx = jax.random.randint(jax.random.fold_in(batch_key, step), (config.batch_size,), 0, data.train.x.shape[0])
        loss = functools.partial(
            tr.penalized_loss, x=data.train.x[idx], y=data.train.y[idx], key=jax.random.fold_in(dropout_key, step),
            rates=tr._rates(config, hyper),
        )
        return tr.training_step(params, opt_state, loss, optimizer)

    params, opt_state, fractions = state.params, state.opt_state, []
    for step in range(config.steps):
        params, opt_state = unconstrained_step(params, opt_state, step)
        norms = np.concatenate([np.asarray(n) for n in unit_norms(params)])
        fractions.append(float(np.mean(norms > hyper.max_norm)))
        params = dx.max_norm(params, hyper.max_norm)
    return np.mean(fractions)


def test_max_norm_active_counts_the_projections(digits):
    config = SMALL._replace(steps=20, eval_every=20)
    radii = [math.inf, 1e3, 1e-3, 1.45]  # 1.45 is near the He column norm: some units cross, some not
    keys, hypers, _ = dx.hyper_variants([1], [dx.Hyper(learning_rate=0.5, max_norm=c) for c in radii])
    active = dx.sweep(keys, digits, hypers, config).final("max_norm_active")
    assert active[0] == 0.0 and active[1] == 0.0
    assert active[2] > 0.9  # every unit that still gets a gradient is pushed out of a tiny ball
    assert 0.02 < active[3] < 0.98
    by_hand = _projected_by_hand(jax.random.key(1), digits, dx.Hyper(learning_rate=0.5, max_norm=1.45), config)
    assert float(active[3]) == pytest.approx(by_hand, abs=5 / 840)  # 42 units x 20 steps


# ---------------------------------------------------------------- per-layer learning-rate factors
def test_default_factors_leave_training_unchanged(digits):
    hyper = dx.Hyper(rate_hidden=0.5, learning_rate=0.05)
    a = dx.train(jax.random.key(2), digits, hyper, SMALL)
    b = dx.train(jax.random.key(2), digits, hyper._replace(lr_factor_input=1.0, lr_factor_hidden=1.0), SMALL)
    jax.tree.map(np.testing.assert_array_equal, a.params, b.params)


def test_factors_scale_each_layers_weight_step(digits):
    # One plain-SGD step: the weight update of each layer scales by its factor, biases not.
    config = dx.TrainConfig(hidden=(16,), steps=1, eval_every=1, optimizer="sgd", batch_size=None)
    keys, hypers, _ = dx.hyper_variants([0], [dx.Hyper(learning_rate=0.1), dx.Hyper(learning_rate=0.1, lr_factor_input=0.5, lr_factor_hidden=3.0)])
    start = initial_params(keys, digits, hypers, config)
    end = dx.sweep(keys, digits, hypers, config).params
    step = jax.tree.map(lambda e, s: np.asarray(e, np.float64) - np.asarray(s, np.float64), end, start)
    np.testing.assert_allclose(step[0]["w"][1], 0.5 * step[0]["w"][0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(step[1]["w"][1], 3.0 * step[1]["w"][0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(step[1]["b"][1], step[1]["b"][0], rtol=1e-4, atol=1e-7)
    assert np.abs(step[1]["w"][0]).max() > 1e-4


def test_inverted_with_factors_q2_follows_direct(digits):
    # The reparametrization: inverted at eta with factors q^2, started from q W0,
    # is direct at eta started from W0 (same masks, same batches).
    config = dx.TrainConfig(hidden=(16,), steps=30, eval_every=30, optimizer="momentum", batch_size=32)
    q_in, q_h = 0.8, 0.5
    base = dx.Hyper(learning_rate=0.05, rate_input=0.2, rate_hidden=0.5)
    direct = dx.train(jax.random.key(3), digits, base, config._replace(inverted=False))
    init_key = jax.random.split(jax.random.key(3))[0]
    w0 = dx.init_mlp(init_key, (64, 16, 10))
    v0 = [{**p, "w": p["w"] * q} for p, q in zip(w0, (q_in, q_h))]
    hyper = base._replace(lr_factor_input=q_in**2, lr_factor_hidden=q_h**2)
    segment = jax.jit(functools.partial(tr._segment, config=config))

    def run_inverted(h):
        state = tr._init(jax.random.key(3), h, digits, config=config)
        state = state._replace(params=v0, opt_state=tr._optimizer(config, h).init(v0))
        return direct_params_from_inverted(segment(state, h, digits)[0].params, [0.2, 0.5])

    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6), run_inverted(hyper), direct.params)
    # Without the factors the two part ways.
    gap = np.abs(np.asarray(run_inverted(base)[1]["w"]) - np.asarray(direct.params[1]["w"])).max()
    assert gap > 1e-2


def test_bad_factors_raise(digits):
    for field in ("lr_factor_input", "lr_factor_hidden"):
        with pytest.raises(ValueError, match=field):
            dx.train(jax.random.key(0), digits, dx.Hyper(**{field: 0.0}), SMALL)


# ---------------------------------------------------------------- choosing on validation
def test_choose_by_validation_picks_the_lowest_error_per_group():
    error = np.array([[0.10, 0.05, 0.20, 0.30], [0.12, 0.07, 0.10, 0.30]])
    loss = np.ones_like(error)
    assert choose_by_validation(error, loss, {"a": [0, 1], "b": [2, 3]}) == {"a": 1, "b": 2}


def test_choose_by_validation_breaks_ties_by_loss_then_order():
    k = np.float32(1 / 359)
    # Equal mean error (3/359 and 3/359 over two seeds, summed in another order).
    error = np.array([[2 * k, 1 * k, 1 * k], [1 * k, 2 * k, 2 * k]], np.float32)
    loss = np.array([[0.3, 0.2, 0.2], [0.3, 0.2, 0.2]])
    assert choose_by_validation(error, loss, {"m": [0, 1, 2]}) == {"m": 1}
    assert choose_by_validation(error, loss, {"m": [2, 1]}) == {"m": 2}
    # Means that differ only by the order of a float sum are a tie, settled by the loss.
    error = np.array([[0.1, 0.3], [0.2, 0.2], [0.3, 0.1]])
    assert error.mean(axis=0)[0] != error.mean(axis=0)[1]
    assert choose_by_validation(error, np.array([[0.1, 0.2]] * 3), {"m": [0, 1]}) == {"m": 0}


def test_choose_by_validation_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        choose_by_validation(np.zeros((2, 3)), np.zeros((2, 2)), {"a": [0]})
    with pytest.raises(ValueError, match="NaN"):
        choose_by_validation(np.array([[np.nan, 0.1]]), np.zeros((1, 2)), {"a": [0, 1]})
    with pytest.raises(ValueError, match="column indices"):
        choose_by_validation(np.zeros((2, 3)), np.zeros((2, 3)), {"a": [3]})


def test_on_grid_edge_names_the_ends():
    grid = [{"l2": a, "l1": b} for a, b in [(3e-4, 1e-4), (1e-3, 3e-5), (1e-3, 1e-4), (1e-3, 3e-4), (3e-3, 3e-5), (3e-3, 1e-4)]]
    assert on_grid_edge(grid, 2) == []  # l2 = 1e-3 between 3e-4 and 3e-3, l1 = 1e-4 between 3e-5 and 3e-4
    assert on_grid_edge(grid, 1) == ["l2", "l1"]  # smallest l2 at l1 = 3e-5, smallest l1 at l2 = 1e-3
    square = [{"a": a, "b": b} for a in (1.0, 2.0, 3.0) for b in (1.0, 2.0, 3.0)]
    assert on_grid_edge(square, 4) == [] and on_grid_edge(square, 3) == ["b"]  # (2, 2) and (2, 1)
    assert on_grid_edge(square, 1) == ["a"] and on_grid_edge(square, 8) == ["a", "b"]
    assert on_grid_edge(grid, 0) == ["l2", "l1"]  # alone on its l1 line: nothing on either side
    assert on_grid_edge(grid, 5) == ["l2", "l1"]
    one = [{"c": 1.0, "l2": 0.0}, {"c": 2.0, "l2": 0.0}, {"c": 3.0, "l2": 0.0}]
    assert on_grid_edge(one, 1) == [] and on_grid_edge(one, 2) == ["c"]  # l2 never searched


def test_on_grid_edge_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        on_grid_edge([], 0)
    with pytest.raises(ValueError, match="same hyperparameters"):
        on_grid_edge([{"a": 1.0}, {"b": 1.0}], 0)
    with pytest.raises(ValueError, match="index"):
        on_grid_edge([{"a": 1.0}], 1)
