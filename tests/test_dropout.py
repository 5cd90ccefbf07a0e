"""Semantics of ``dropout`` and ``bernoulli_mask``, bullet by bullet.

Statistical checks use the peers' bound: the sample statistic must lie
within 4 standard errors of its exact expectation. With a fixed key each
check is deterministic; the bound says a correct implementation would fail
for fewer than 1 key in 15000.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dropoutlib import bernoulli_mask, dropout
from dropoutlib.dropout import IMPLS

KEY = jax.random.key(0)
N = 1_000_000
RATES = [0.001, 0.1, 0.5, 0.9, 0.999]


@pytest.fixture(params=IMPLS)
def impl(request):
    """Every semantic test runs on both mask implementations."""
    return request.param


def within_4_sigma(observed: float, expected: float, sigma: float) -> bool:
    return abs(observed - expected) <= 4.0 * sigma


# ---------------------------------------------------------------- the mask
@pytest.mark.parametrize("keep_prob", [0.001, 0.2, 0.5, 0.8, 0.999])
def test_mask_is_bool_and_kept_fraction_is_q(keep_prob):
    mask = bernoulli_mask(KEY, keep_prob, (N,))
    assert mask.dtype == jnp.bool_ and mask.shape == (N,)
    fraction = float(mask.mean())
    assert within_4_sigma(fraction, keep_prob, math.sqrt(keep_prob * (1 - keep_prob) / N))


def test_mask_extremes_are_exact():
    assert bool(bernoulli_mask(KEY, 1.0, (1000,)).all())
    assert not bool(bernoulli_mask(KEY, 0.0, (1000,)).any())


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_mask_rejects_bad_keep_prob_naming_it(bad):
    with pytest.raises(ValueError, match=re_value(bad)):
        bernoulli_mask(KEY, bad, (3,))


def re_value(value) -> str:
    return __import__("re").escape(repr(value))


# ---------------------------------------------------------------- train mode
@pytest.mark.parametrize("rate", RATES)
def test_inverted_outputs_are_zero_or_x_over_q(rate, impl):
    x = jax.random.normal(jax.random.key(1), (N,))
    y = dropout(KEY, x, rate, impl=impl)
    q = 1.0 - rate
    kept = y != 0
    np.testing.assert_allclose(np.asarray(y[kept]), np.asarray(x[kept] / q), rtol=1e-6)
    assert within_4_sigma(float(kept.mean()), q, math.sqrt(rate * q / N))


@pytest.mark.parametrize("rate", RATES)
def test_direct_outputs_are_zero_or_x(rate, impl):
    x = jax.random.normal(jax.random.key(1), (N,))
    y = dropout(KEY, x, rate, inverted=False, impl=impl)
    kept = y != 0
    np.testing.assert_array_equal(np.asarray(y[kept]), np.asarray(x[kept]))
    q = 1.0 - rate
    assert within_4_sigma(float(kept.mean()), q, math.sqrt(rate * q / N))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_inverted_preserves_the_mean(rate, impl):
    # x = 1 everywhere: y = r / q has mean 1 and variance p / q.
    y = dropout(KEY, jnp.ones(N), rate, impl=impl)
    q = 1.0 - rate
    assert within_4_sigma(float(y.mean()), 1.0, math.sqrt(rate / q / N))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_direct_mean_is_q_times_x(rate, impl):
    y = dropout(KEY, jnp.ones(N), rate, inverted=False, impl=impl)
    q = 1.0 - rate
    assert within_4_sigma(float(y.mean()), q, math.sqrt(rate * q / N))


def test_same_key_same_mask_and_other_key_other_mask(impl):
    x = jnp.ones(1000)
    np.testing.assert_array_equal(dropout(KEY, x, 0.5, impl=impl), dropout(KEY, x, 0.5, impl=impl))
    assert not np.array_equal(dropout(KEY, x, 0.5, impl=impl), dropout(jax.random.key(1), x, 0.5, impl=impl))


# ---------------------------------------------------------------- test mode
def test_eval_inverted_is_identity_and_direct_scales_by_q(impl):
    x = jax.random.normal(KEY, (5, 7))
    np.testing.assert_array_equal(dropout(None, x, 0.3, train=False, impl=impl), x)
    np.testing.assert_allclose(dropout(None, x, 0.3, inverted=False, train=False, impl=impl), 0.7 * x, rtol=1e-6)


def test_train_without_key_is_a_clear_error(impl):
    with pytest.raises(ValueError, match="key"):
        dropout(None, jnp.ones(3), 0.5, impl=impl)


# ---------------------------------------------------------------- edge rates
@pytest.mark.parametrize("inverted", [True, False])
def test_rate_zero_returns_x_unchanged(inverted, impl):
    x = jax.random.normal(KEY, (100,))
    np.testing.assert_array_equal(dropout(KEY, x, 0.0, inverted=inverted, impl=impl), x)
    # Also through a traced rate, where no short-cut applies.
    traced = jax.jit(lambda r: dropout(KEY, x, r, inverted=inverted, impl=impl))(0.0)
    np.testing.assert_array_equal(traced, x)


@pytest.mark.parametrize("inverted", [True, False])
def test_rate_one_gives_zeros_and_zero_finite_gradients(inverted, impl):
    x = jax.random.normal(KEY, (100,))
    np.testing.assert_array_equal(dropout(KEY, x, 1.0, inverted=inverted, impl=impl), jnp.zeros(100))

    def loss(x, rate):
        return jnp.sum(dropout(KEY, x, rate, inverted=inverted, impl=impl) ** 2)

    for grad in (jax.grad(loss)(x, 1.0), jax.jit(jax.grad(loss))(x, 1.0)):  # concrete, then traced rate
        assert bool(jnp.all(jnp.isfinite(grad)))
        np.testing.assert_array_equal(grad, jnp.zeros(100))


def test_gradient_with_respect_to_a_traced_rate_is_finite_at_the_edges(impl):
    x = jnp.ones(100)
    grad_rate = jax.grad(lambda r: jnp.sum(dropout(KEY, x, r, impl=impl)))
    for rate in (0.0, 0.5, 1.0):
        assert bool(jnp.isfinite(grad_rate(rate)))


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("-inf"), 2])
@pytest.mark.parametrize("train", [True, False])
def test_bad_rate_raises_naming_the_value(bad, train, impl):
    with pytest.raises(ValueError, match=re_value(bad)):
        dropout(KEY, jnp.ones(3), bad, train=train, impl=impl)


def test_non_scalar_rate_raises(impl):
    with pytest.raises(ValueError, match="scalar"):
        dropout(KEY, jnp.ones(3), np.array([0.1, 0.2]), impl=impl)


def test_integer_input_raises(impl):
    with pytest.raises(TypeError, match="int32"):
        dropout(KEY, jnp.ones(3, jnp.int32), 0.5, impl=impl)


@pytest.mark.parametrize("dims", [(3,), (-4,), (0, 0), ("a",)])
def test_invalid_broadcast_dims_raise(dims, impl):
    with pytest.raises(ValueError, match="broadcast_dims"):
        dropout(KEY, jnp.ones((2, 3, 4)), 0.5, broadcast_dims=dims, impl=impl)


# ---------------------------------------------------------------- broadcast_dims
@pytest.mark.parametrize("dims", [(1, 2), (-3, -2), 1])
def test_broadcast_dims_share_one_mask_along_those_axes(dims, impl):
    x = jnp.ones((8, 16, 16, 32))  # (batch, height, width, channels)
    y = dropout(KEY, x, 0.5, broadcast_dims=dims, impl=impl)
    axes = (1, 2) if dims != 1 else (1,)
    reference = jnp.take(y, 0, axis=axes[0])
    for axis in axes:
        first = jnp.take(y, jnp.array([0]), axis=axis)
        np.testing.assert_array_equal(y, jnp.broadcast_to(first, y.shape))
    assert reference.size > 0


def test_broadcast_dims_kept_fraction_counts_independent_entries(impl):
    # One mask entry per (batch, channel): 8 * 4096 independent draws.
    x = jnp.ones((8, 4, 4, 4096))
    kept = dropout(KEY, x, 0.3, broadcast_dims=(1, 2), impl=impl)[:, 0, 0, :] != 0
    n = kept.size
    assert within_4_sigma(float(kept.mean()), 0.7, math.sqrt(0.21 / n))


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_output_dtype_equals_input_dtype(dtype, inverted, train, impl):
    x = jnp.ones((64,), dtype)
    y = dropout(KEY, x, 0.3, inverted=inverted, train=train, impl=impl)
    assert y.dtype == dtype
    traced = jax.jit(lambda r: dropout(KEY, x, r, inverted=inverted, train=train, impl=impl))(0.3)
    assert traced.dtype == dtype


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_low_precision_values_are_x_over_q_in_that_dtype(dtype, impl):
    x = jnp.linspace(-2, 2, 4096).astype(dtype)
    y = dropout(KEY, x, 0.25, impl=impl)
    kept = y != 0
    expected = (x.astype(jnp.float32) / 0.75).astype(dtype)
    np.testing.assert_allclose(
        np.asarray(y[kept], np.float32), np.asarray(expected[kept], np.float32), rtol=float(jnp.finfo(dtype).eps)
    )


# ---------------------------------------------------------------- transformations
def test_jit_matches_eager(impl):
    x = jax.random.normal(KEY, (256,))
    eager = dropout(KEY, x, 0.4, impl=impl)
    np.testing.assert_array_equal(jax.jit(dropout, static_argnames=("inverted", "train", "impl"))(KEY, x, 0.4, impl=impl), eager)
    np.testing.assert_array_equal(jax.jit(lambda r: dropout(KEY, x, r, impl=impl))(0.4), eager)


def test_vmap_over_rates_and_keys(impl):
    x = jnp.ones(20_000)
    rates = jnp.array([0.0, 0.25, 0.5, 0.75, 1.0])
    ys = jax.vmap(lambda r: dropout(KEY, x, r, impl=impl))(rates)
    kept = np.asarray((ys != 0).mean(axis=1))
    for fraction, rate in zip(kept, np.asarray(rates)):
        q = 1 - rate
        assert within_4_sigma(fraction, q, math.sqrt(rate * q / x.size) + 1e-12)
    keys = jax.random.split(KEY, 3)
    per_key = jax.vmap(lambda k: dropout(k, x, 0.5, impl=impl))(keys)
    for i, k in enumerate(keys):
        np.testing.assert_array_equal(per_key[i], dropout(k, x, 0.5, impl=impl))


def test_grad_is_mask_over_q(impl):
    x = jax.random.normal(KEY, (1000,))
    grad = jax.grad(lambda x: jnp.sum(dropout(KEY, x, 0.2, impl=impl)))(x)
    mask = dropout(KEY, jnp.ones_like(x), 0.2, impl=impl) != 0
    np.testing.assert_allclose(grad, jnp.where(mask, 1 / 0.8, 0.0), rtol=1e-6)
