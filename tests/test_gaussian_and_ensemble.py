"""Gaussian dropout (moments to 4 sigma, validation, dtypes) and the ensemble helpers."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib as dl
import dropoutlib.experiments as dx

KEY = jax.random.key(0)
N = 1_000_000


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_gaussian_moments_match_inverted_bernoulli(rate):
    y = dl.gaussian_dropout(KEY, jnp.ones(N), rate)
    mean, var = dl.dropout_moments(1.0, rate)  # inverted Bernoulli: 1 and p/q
    assert abs(float(dl.z_score(y, mean, var))) < 4
    assert abs(float(dl.variance_z_score(y, var))) < 4
    bernoulli = np.asarray(dl.dropout(KEY, jnp.ones(N), rate), np.float64)
    gauss = np.asarray(y, np.float64)

    def var_se(s):  # standard error of a sample variance: sqrt((mu4 - sigma^4) / N)
        c = s - s.mean()
        return math.sqrt((np.mean(c**4) - np.mean(c**2) ** 2) / s.size)

    assert abs(bernoulli.var() - gauss.var()) < 4 * math.hypot(var_se(bernoulli), var_se(gauss))


def test_gaussian_noise_is_normal_shaped():
    y = np.asarray(dl.gaussian_dropout(KEY, jnp.ones(N), 0.5))
    z = (y - 1.0) / 1.0  # sigma = sqrt(0.5 / 0.5) = 1
    skew, excess_kurtosis = np.mean(z**3), np.mean(z**4) - 3
    assert abs(skew) < 4 * math.sqrt(6 / N) and abs(excess_kurtosis) < 4 * math.sqrt(24 / N)


def test_gaussian_test_mode_rate_zero_and_determinism():
    x = jax.random.normal(KEY, (100,))
    np.testing.assert_array_equal(dl.gaussian_dropout(None, x, 0.5, train=False), x)
    np.testing.assert_array_equal(dl.gaussian_dropout(KEY, x, 0.0), x)
    np.testing.assert_array_equal(dl.gaussian_dropout(KEY, x, 0.3), dl.gaussian_dropout(KEY, x, 0.3))
    traced = jax.jit(lambda r: dl.gaussian_dropout(KEY, x, r))(0.3)
    np.testing.assert_allclose(traced, dl.gaussian_dropout(KEY, x, 0.3), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), 1.0])
def test_gaussian_rejects_bad_rates_naming_them(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        dl.gaussian_dropout(KEY, jnp.ones(3), bad)


@pytest.mark.parametrize("bad", ["0.5", True])
def test_gaussian_rejects_rates_of_the_wrong_type(bad):
    with pytest.raises(TypeError, match="rate"):
        dl.gaussian_dropout(KEY, jnp.ones(3), bad)


def test_gaussian_accepts_rate_one_at_test_time_only():
    x = jnp.arange(4.0)
    np.testing.assert_array_equal(dl.gaussian_dropout(None, x, 1.0, train=False), x)
    with pytest.raises(ValueError, match="infinite"):
        dl.gaussian_dropout(KEY, x, 1.0)


def test_gaussian_keeps_float64():
    with jax.enable_x64(True):
        x = jnp.ones(100_000, jnp.float64)
        y = dl.gaussian_dropout(KEY, x, 0.5)
        assert y.dtype == jnp.float64
        # float64 noise has more than float32's 24 bits of mantissa
        assert np.any(np.asarray(y) != np.asarray(y).astype(np.float32).astype(np.float64))


def test_gaussian_broadcast_dims_share_one_factor():
    x = jnp.ones((4, 8, 8, 16))
    y = dl.gaussian_dropout(KEY, x, 0.5, broadcast_dims=(1, 2))
    np.testing.assert_array_equal(y, jnp.broadcast_to(y[:, :1, :1, :], y.shape))
    assert float(jnp.std(y[:, 0, 0, :])) > 0.5  # sigma = 1 at rate 0.5
    with pytest.raises(ValueError, match="broadcast_dims"):
        dl.gaussian_dropout(KEY, x, 0.5, broadcast_dims=(4,))


def test_gaussian_rate_gradient_is_the_reparametrization_gradient():
    # y = x (1 + sigma eps), sigma = sqrt(p / q): dy/dp = x eps dsigma/dp, with
    # dsigma/dp = 1 / (2 sigma q^2). Kept on purpose (variational dropout).
    x = jnp.linspace(0.5, 1.5, 64)
    p = 0.3
    y = dl.gaussian_dropout(KEY, x, p)
    sigma = np.sqrt(p / (1 - p))
    eps = (np.asarray(y) / np.asarray(x) - 1) / sigma
    grad = jax.grad(lambda r: jnp.sum(dl.gaussian_dropout(KEY, x, r)))(p)
    expected = np.sum(np.asarray(x) * eps) / (2 * sigma * (1 - p) ** 2)
    assert float(grad) == pytest.approx(expected, rel=1e-4)


def test_gaussian_needs_one_key():
    with pytest.raises(ValueError, match="batch of keys"):
        dl.gaussian_dropout(jax.random.split(KEY, 2), jnp.ones(3), 0.5)


def test_gaussian_needs_a_key_and_a_float_input():
    with pytest.raises(ValueError, match="key"):
        dl.gaussian_dropout(None, jnp.ones(3), 0.5)
    with pytest.raises(TypeError, match="int32"):
        dl.gaussian_dropout(KEY, jnp.ones(3, jnp.int32), 0.5)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
def test_gaussian_keeps_the_dtype(dtype):
    assert dl.gaussian_dropout(KEY, jnp.ones(8, dtype), 0.5).dtype == dtype
    assert dl.gaussian_dropout(None, jnp.ones(8, dtype), 0.5, train=False).dtype == dtype


def test_gaussian_gradient_is_the_noise():
    x = jnp.linspace(-1, 1, 50)
    grad = jax.grad(lambda x: jnp.sum(dl.gaussian_dropout(KEY, x, 0.4)))(x)
    np.testing.assert_allclose(grad, dl.gaussian_dropout(KEY, jnp.ones(50), 0.4), rtol=1e-6)


# ---------------------------------------------------------------- ensemble helpers
def test_mask_enumeration_and_probabilities():
    masks = dx.all_masks(3)
    assert masks.shape == (8, 3) and len({tuple(m) for m in masks}) == 8
    probs = dx.mask_probabilities(masks, 0.3)  # rate 0.3: each unit kept with q = 0.7
    assert probs.sum() == pytest.approx(1.0)
    assert probs[-1] == pytest.approx(0.7**3)
    with pytest.raises(ValueError, match="n=25"):
        dx.all_masks(25)


def test_sigmoid_unit_nwgm_is_sigmoid_of_the_mean_exactly():
    rng = np.random.default_rng(0)
    for _ in range(5):
        w, x = rng.normal(size=8), rng.normal(size=8)
        stats = dx.sigmoid_unit_ensemble(w, x, 0.4)  # q = 0.6
        assert stats["nwgm"] == pytest.approx(stats["sigmoid_of_mean"], rel=1e-12)
        assert stats["mean_s"] == pytest.approx(0.6 * float(w @ x), rel=1e-12)
        masks = dx.all_masks(8)
        brute = dx.mask_probabilities(masks, 0.4) @ (1 / (1 + np.exp(-(masks @ (w * x)))))
        assert stats["mean_sigmoid"] == pytest.approx(brute, rel=1e-12)


def test_mc_probs_shapes_determinism_and_running_error():
    params = dx.init_mlp(jax.random.key(1), (5, 16, 3))
    x = jax.random.normal(jax.random.key(2), (40, 5))
    probs = dx.mc_dropout_probs(KEY, params, x, rates=[0.0, 0.5], n_samples=7)
    assert probs.shape == (7, 40, 3)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs, dx.mc_dropout_probs(KEY, params, x, rates=[0.0, 0.5], n_samples=7))
    labels = jnp.argmax(probs.mean(0), -1)
    errors = dx.running_mean_error(probs, labels)
    assert errors.shape == (7,) and errors[-1] == 0.0
    manual_first = float(jnp.mean(jnp.argmax(probs[0], -1) != labels))
    assert errors[0] == pytest.approx(manual_first)
    with pytest.raises(ValueError, match="n_samples"):
        dx.mc_dropout_probs(KEY, params, x, rates=[0.0, 0.5], n_samples=0)


def test_training_with_gaussian_noise(tmp_path):
    data = dx.load_digits(seed=0, train_size=200)
    config = dx.TrainConfig(hidden=(32,), steps=40, eval_every=20, noise="gaussian", optimizer="momentum", batch_size=32)
    result = dx.train(KEY, data, dx.Hyper(rate_hidden=0.5, learning_rate=0.05), config)
    assert result.final("test_acc") > 0.5
    with pytest.raises(ValueError, match="noise"):
        dx.train(KEY, data, dx.Hyper(), config._replace(noise="laplace"))
    with pytest.raises(ValueError, match="inverted"):
        dx.train(KEY, data, dx.Hyper(), config._replace(inverted=False))
