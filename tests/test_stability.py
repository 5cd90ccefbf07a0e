"""The largest stable SGD learning rate and the mask-averaged curvature that predicts it."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib.experiments as dx
from dropoutlib.experiments import layer_rates, stability

FROZEN_BIAS = [{"w": 1.0, "b": 0.0}]  # a read-out without bias: its Hessian is E[a a^T]


def _exact_moment(h, rate, scheme):
    """E_m[a a^T] by enumerating every mask of every example."""
    n, d = h.shape
    q = 1.0 - rate
    total = np.zeros((d, d))
    for mask in itertools.product((0.0, 1.0), repeat=d):
        m = np.array(mask)
        prob = np.prod(np.where(m == 1.0, q, rate))
        a = h * m * (1.0 / q if scheme == "inverted" else 1.0)
        total += prob * a.T @ a / n
    return total


@pytest.mark.parametrize("scheme, rate", [("inverted", 0.3), ("direct", 0.3), ("inverted", 0.8), ("direct", 0.6)])
def test_expected_second_moment_is_the_mask_average(scheme, rate):
    h = np.random.default_rng(0).normal(size=(7, 4))
    with jax.enable_x64(True):
        got = np.asarray(stability.expected_second_moment(h, rate, scheme))
    np.testing.assert_allclose(got, _exact_moment(h, rate, scheme), rtol=1e-12, atol=1e-12)


def test_no_dropout_is_the_gram_matrix_and_bad_arguments_are_refused():
    h = np.random.default_rng(1).normal(size=(9, 3))
    with jax.enable_x64(True):
        np.testing.assert_allclose(stability.expected_second_moment(h, 0.7, "none"), h.T @ h / 9, rtol=1e-12)
    with pytest.raises(ValueError, match="scheme"):
        stability.expected_second_moment(h, 0.5, "gaussian")
    with pytest.raises(ValueError, match="rate"):
        stability.expected_second_moment(h, 1.0, "inverted")
    with pytest.raises(ValueError, match="examples, features"):
        stability.expected_second_moment(h[0], 0.5, "inverted")


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_predicted_edges_direct_is_inverted_over_q_squared_and_the_bounds_against_none(rate):
    h = np.random.default_rng(2).normal(size=(50, 6)) + np.linspace(0, 2, 6)  # correlated features
    q = 1.0 - rate
    with jax.enable_x64(True):
        none, inv, dire = (stability.predicted_edge(h, rate, s) for s in ("none", "inverted", "direct"))
    assert inv / dire == pytest.approx(q**2, rel=1e-10)
    assert q * (1 - 1e-12) <= inv / none <= 1 + 1e-12
    assert 1 / q * (1 - 1e-12) <= dire / none <= 1 / q**2 * (1 + 1e-12)


@pytest.fixture(scope="module")
def readout():
    data = dx.load_digits(seed=0, train_size=200)
    keys = jax.random.split(jax.random.key(0), 2)
    params = jax.vmap(lambda k: dx.init_mlp(k, (64, 10)))(keys)
    params = [{"w": params[0]["w"], "b": jnp.zeros_like(params[0]["b"])}]
    return data.train.x, data.train.y, keys, params


def _edges(readout, rate, inverted, masks):
    x, y, keys, params = readout
    lo, hi = stability.largest_stable_lr_batch(
        keys, params, x, y, [rate], FROZEN_BIAS, low=0.02, high=20.0, iterations=10, inverted=inverted,
        loss="squared", steps=200, masks_per_example=masks,
    )
    return np.sqrt(np.asarray(lo) * np.asarray(hi))


def test_measured_edge_of_a_least_squares_readout_is_two_over_lambda_max(readout):
    x = readout[0]
    # Without dropout, full-batch gradient descent on a quadratic: the classical edge.
    measured = _edges(readout, 0.0, True, 1)
    assert np.all(np.abs(measured / stability.predicted_edge(x, 0.0, "none") - 1) < 0.02)
    # With dropout and many masks per example, the mask-averaged curvature predicts it.
    inverted = _edges(readout, 0.75, True, 16)
    assert np.all(np.abs(inverted / stability.predicted_edge(x, 0.75, "inverted") - 1) < 0.03)
    direct = _edges(readout, 0.75, False, 16)
    np.testing.assert_allclose(inverted / direct, 0.25**2, rtol=0.02)  # same masks: q^2 exactly, up to bisection


def test_one_mask_per_example_lowers_the_edge_below_the_average_prediction(readout):
    x = readout[0]
    noisy = _edges(readout, 0.75, True, 1)
    assert np.all(noisy < 0.9 * stability.predicted_edge(x, 0.75, "inverted"))


def test_stability_is_monotone_in_the_learning_rate(readout):
    # Bisection's premise: stable below the edge, unstable above.
    x, y, keys, params = readout
    one = jax.tree.map(lambda leaf: leaf[0], params)
    lrs = jnp.geomspace(0.05, 1.0, 12)
    run = dict(rates=[0.5], inverted=True, loss="squared", steps=150, factors=FROZEN_BIAS)
    ok = np.asarray(jax.jit(jax.vmap(lambda lr: stability.run_is_stable(keys[0], one, x, y, lr, **run)))(lrs))
    assert ok[0] and not ok[-1]
    assert np.all(np.diff(ok.astype(int)) <= 0), ok


def test_a_loss_that_grows_but_stays_finite_counts_as_unstable(readout):
    x, y, keys, params = readout
    one = jax.tree.map(lambda leaf: leaf[0], params)
    edge = stability.predicted_edge(x, 0.0, "none")
    run = dict(rates=[0.0], inverted=True, loss="squared", steps=100, factors=FROZEN_BIAS)
    assert bool(stability.run_is_stable(keys[0], one, x, y, 0.95 * edge, **run))
    assert not bool(stability.run_is_stable(keys[0], one, x, y, 1.05 * edge, **run))
    final, _ = layer_rates.sgd(keys[0], one, x, y, learning_rate=1.05 * edge, **run)
    after = layer_rates.squared_error(dx.mlp_apply(final, x), y)
    assert np.isfinite(float(after))  # the run did not blow up: only the comparison of losses flags it


def test_a_bracket_that_misses_the_edge_is_an_error(readout):
    x, y, keys, params = readout
    with pytest.raises(ValueError, match="outside"):
        stability.largest_stable_lr_batch(
            keys, params, x, y, [0.5], FROZEN_BIAS, low=5.0, high=50.0, iterations=3, inverted=True, loss="squared", steps=50
        )
    with pytest.raises(ValueError, match="low < high"):
        stability.largest_stable_lr_batch(keys, params, x, y, [0.5], low=1.0, high=1.0, inverted=True)


def test_top_hessian_eigenvalue_of_a_quadratic():
    with jax.enable_x64(True):
        a = np.random.default_rng(3).normal(size=(6, 6))
        a = a @ a.T
        params = [{"w": jnp.zeros((2, 3)), "b": jnp.zeros(0)}]

        def loss(p):
            theta = p[0]["w"].ravel()
            return 0.5 * (theta + 1.0) @ jnp.asarray(a) @ (theta + 1.0)

        top = stability.top_hessian_eigenvalue(loss, params, key=jax.random.key(0), iterations=300)
        assert float(top) == pytest.approx(np.linalg.eigvalsh(a)[-1], rel=1e-6)


def test_edge_ratio_recovers_a_known_ratio_and_widens_by_the_resolution():
    rng = np.random.default_rng(4)
    b = np.exp(rng.normal(size=6))
    a = 0.25 * b * np.exp(rng.normal(scale=0.01, size=6))
    width = 1.01
    ratio, low, high = stability.edge_ratio(a / width, a * width, b / width, b * width)
    assert ratio == pytest.approx(np.exp(np.mean(np.log(a / b))), rel=1e-12)
    assert low < 0.25 < high
    exact_ratio, exact_low, exact_high = stability.edge_ratio(a, a, b, b)
    assert exact_low / low == pytest.approx(width**2, rel=1e-9) and high / exact_high == pytest.approx(width**2, rel=1e-9)


def test_mask_averaged_sharpness_of_a_readout_is_lambda_max_of_the_moment(readout):
    # A read-out with its bias: the Hessian in each output's (w, b) is E[a~ a~^T], a~ = (a, 1).
    x, y, keys, params = readout

    def augmented(rate):
        moment = np.asarray(stability.expected_second_moment(x, rate, "inverted"), float)
        mean = np.asarray(x, float).mean(axis=0)  # E[m/q] = 1: the dropped input keeps its mean
        return np.block([[moment, mean[:, None]], [mean[None, :], np.ones((1, 1))]])

    exact = stability.mask_averaged_sharpness(keys, params, x, y, jnp.array([0.0]), inverted=True,
                                              loss="squared", masks=1, iterations=100)
    np.testing.assert_allclose(exact, np.linalg.eigvalsh(augmented(0.0))[-1], rtol=1e-3)
    averaged = stability.mask_averaged_sharpness(keys, params, x, y, jnp.array([0.5]), inverted=True,
                                                 loss="squared", masks=32, iterations=100)
    np.testing.assert_allclose(averaged, np.linalg.eigvalsh(augmented(0.5))[-1], rtol=0.03)
