"""Semantics of ``dropout`` and ``keep_mask``, bullet by bullet, on every mask generator.

Statistical checks use the peers' bound: the sample statistic must lie
within 4 standard errors of its exact expectation. With a fixed key each
check is deterministic; the bound says a correct implementation would fail
for fewer than 1 key in 15000.
"""

import math
import re

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax.experimental import checkify

from dropoutlib import IMPLS, dropout, keep_mask, keep_probability

KEY = jax.random.key(0)
N = 1_000_000
RATES = [0.001, 0.1, 0.5, 0.9, 0.999]


@pytest.fixture(params=IMPLS)
def impl(request):
    """Every semantic test runs on every mask generator."""
    return request.param


def within_4_sigma(observed: float, expected: float, sigma: float) -> bool:
    return abs(observed - expected) <= 4.0 * sigma


def named(value) -> str:
    return re.escape(repr(value))


# ---------------------------------------------------------------- the mask
@pytest.mark.parametrize("rate", [0.999, 0.8, 0.5, 0.2, 0.001])
def test_mask_is_bool_and_kept_fraction_is_q(rate, impl):
    mask = keep_mask(KEY, rate, (N,), impl=impl)
    assert mask.dtype == jnp.bool_ and mask.shape == (N,)
    q = 1 - rate
    assert within_4_sigma(float(mask.mean()), q, math.sqrt(rate * q / N))


def test_mask_extremes_are_exact(impl):
    assert bool(keep_mask(KEY, 0.0, (1000,), impl=impl).all())
    assert not bool(keep_mask(KEY, 1.0, (1000,), impl=impl).any())


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_mask_rejects_bad_rate_naming_it(bad):
    with pytest.raises(ValueError, match=named(bad)):
        keep_mask(KEY, bad, (3,))


def test_mask_rejects_unknown_impl():
    with pytest.raises(ValueError, match="'threefry'"):
        keep_mask(KEY, 0.5, (3,), impl="threefry")


# ---------------------------------------------------------------- train mode
@pytest.mark.parametrize("rate", RATES)
def test_inverted_outputs_are_zero_or_x_over_q(rate, impl):
    x = jax.random.normal(jax.random.key(1), (N,))
    y = dropout(KEY, x, rate, impl=impl)
    q = 1.0 - rate
    kept = y != 0
    # The documented q is 1 - float32(rate): at rate 0.999 it differs from
    # 0.001 by 1.3e-5 relatively, and it is also the keep probability that a
    # 24-bit threshold can represent.
    documented_q = 1.0 - float(np.float32(rate))
    np.testing.assert_allclose(np.asarray(y[kept]), np.asarray(x[kept]) / documented_q, rtol=1e-6)
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


def test_the_generators_draw_different_masks():
    masks = {impl: np.asarray(keep_mask(KEY, 0.5, (4096,), impl=impl)) for impl in IMPLS}
    assert not np.array_equal(masks["hash"], masks["philox"])
    assert not np.array_equal(masks["hash"], masks["bernoulli"])


def test_bernoulli_honours_the_key_implementation():
    for impl_name in ("threefry2x32", "rbg", "philox4x32"):
        key = jax.random.key(3, impl=impl_name)
        mask = keep_mask(key, 0.5, (10_000,), impl="bernoulli")
        np.testing.assert_array_equal(mask, jax.random.bernoulli(key, jnp.float32(0.5), (10_000,)))


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


# ---------------------------------------------------------------- the rate's gradient
@pytest.mark.parametrize("inverted", [True, False])
def test_gradient_with_respect_to_the_rate_is_stopped(inverted, impl):
    # As in Equinox: q = 1 - stop_gradient(p). E[y] = x does not depend on p
    # (inverted), and the mask is a step function of p, so there is no
    # pathwise derivative worth following.
    x = jax.random.normal(jax.random.key(1), (1000,))
    for rate in (0.0, 0.3, 1.0):
        grad = jax.grad(lambda r: jnp.sum(dropout(KEY, x, r, inverted=inverted, impl=impl) ** 2))(rate)
        assert float(grad) == 0.0
        tangent = jax.jvp(lambda r: dropout(KEY, x, r, inverted=inverted, impl=impl), (rate,), (1.0,))[1]
        np.testing.assert_array_equal(tangent, jnp.zeros_like(x))


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("-inf"), 2])
@pytest.mark.parametrize("train", [True, False])
def test_bad_rate_raises_naming_the_value(bad, train, impl):
    with pytest.raises(ValueError, match=named(bad)):
        dropout(KEY, jnp.ones(3), bad, train=train, impl=impl)


@pytest.mark.parametrize("bad", ["0.5", True, False, np.bool_(True), jnp.array(True), None, [0.5], 0.5j])
@pytest.mark.parametrize("train", [True, False])
def test_rate_of_the_wrong_type_raises_naming_it(bad, train):
    with pytest.raises((TypeError, ValueError), match="rate"):
        dropout(KEY, jnp.ones(3), bad, train=train)


def test_non_scalar_rate_raises(impl):
    with pytest.raises(ValueError, match="scalar"):
        dropout(KEY, jnp.ones(3), np.array([0.1, 0.2]), impl=impl)


def test_integer_input_raises(impl):
    with pytest.raises(TypeError, match="int32"):
        dropout(KEY, jnp.ones(3, jnp.int32), 0.5, impl=impl)


def test_unknown_impl_raises():
    with pytest.raises(ValueError, match="'fast'"):
        dropout(KEY, jnp.ones(3), 0.5, impl="fast")


@pytest.mark.parametrize("dims", [(3,), (-4,), (0, 0), ("a",), True, (False,), (1.0,)])
def test_invalid_broadcast_dims_raise(dims, impl):
    with pytest.raises(ValueError, match="broadcast_dims"):
        dropout(KEY, jnp.ones((2, 3, 4)), 0.5, broadcast_dims=dims, impl=impl)


# ---------------------------------------------------------------- keys
@pytest.mark.parametrize(
    "bad, message",
    [
        (jax.random.split(jax.random.key(0), 4), r"batch of keys of shape \(4,\).*vmap"),
        (jax.random.split(jax.random.PRNGKey(0), 4), r"batch of raw keys of shape \(4, 2\).*vmap"),
        (jnp.zeros((3,), jnp.uint32), r"dtype uint32 and shape \(3,\)"),
        (jnp.zeros((2,), jnp.float32), r"dtype float32 and shape \(2,\)"),
        (jnp.zeros((2,), jnp.int32), r"dtype int32"),
        (0, "int"),
        ("key", "str"),
    ],
)
def test_anything_but_one_key_is_a_clear_error(bad, message, impl):
    with pytest.raises((TypeError, ValueError), match=message):
        dropout(bad, jnp.ones(8), 0.5, impl=impl)
    with pytest.raises((TypeError, ValueError), match=message):
        keep_mask(bad, 0.5, (8,), impl=impl)


def test_a_batch_of_keys_is_an_error_under_jit_too():
    keys = jax.random.split(KEY, 4)
    with pytest.raises(ValueError, match="batch of keys"):
        jax.jit(lambda k: dropout(k, jnp.ones(8), 0.5))(keys)


def test_legacy_raw_keys_work(impl):
    raw = jax.random.PRNGKey(5)
    y = dropout(raw, jnp.ones(1000), 0.5, impl=impl)
    assert set(np.unique(np.asarray(y)).tolist()) <= {0.0, 2.0}


# ---------------------------------------------------------------- a checked mode for traced rates
def test_checkify_catches_a_traced_rate_out_of_range(impl):
    f = jax.jit(lambda r: dropout(KEY, jnp.ones(16), r, impl=impl))
    err, _ = checkify.checkify(f)(1.5)
    with pytest.raises(checkify.JaxRuntimeError, match="rate must be in \\[0, 1\\], got 1.5"):
        err.throw()
    err, y = checkify.checkify(f)(0.5)
    err.throw()  # a good rate passes
    np.testing.assert_array_equal(y, f(0.5))
    # vmapped over rates, the bad one is named
    err, _ = checkify.checkify(jax.vmap(f))(jnp.array([0.2, -0.5]))
    with pytest.raises(checkify.JaxRuntimeError, match="-0.5"):
        err.throw()


# ---------------------------------------------------------------- broadcast_dims
@pytest.mark.parametrize("dims", [(1, 2), (-3, -2), 1])
def test_broadcast_dims_share_one_mask_along_those_axes(dims, impl):
    x = jnp.ones((8, 16, 16, 32))  # (batch, height, width, channels)
    y = dropout(KEY, x, 0.5, broadcast_dims=dims, impl=impl)
    for axis in (1, 2) if dims != 1 else (1,):
        first = jnp.take(y, jnp.array([0]), axis=axis)
        np.testing.assert_array_equal(y, jnp.broadcast_to(first, y.shape))
    assert 0.3 < float((y != 0).mean()) < 0.7  # not all kept or all dropped


def test_broadcast_dims_kept_fraction_counts_independent_entries(impl):
    # One mask entry per (batch, channel): 8 * 4096 independent draws.
    x = jnp.ones((8, 4, 4, 4096))
    kept = dropout(KEY, x, 0.3, broadcast_dims=(1, 2), impl=impl)[:, 0, 0, :] != 0
    assert within_4_sigma(float(kept.mean()), 0.7, math.sqrt(0.21 / kept.size))


# ---------------------------------------------------------------- dtypes and precision
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_output_dtype_equals_input_dtype(dtype, inverted, train, impl):
    x = jnp.ones((64,), dtype)
    y = dropout(KEY, x, 0.3, inverted=inverted, train=train, impl=impl)
    assert y.dtype == dtype
    traced = jax.jit(lambda r: dropout(KEY, x, r, inverted=inverted, train=train, impl=impl))(0.3)
    assert traced.dtype == dtype


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("rate", [0.3, 0.25, 0.9])
def test_low_precision_is_exact_to_the_last_bit(dtype, rate, impl):
    # Kept values must be x / q correctly rounded to the input's dtype, where
    # q = 1 - float32(rate) is the library's documented keep probability.
    x = jnp.linspace(-4, 4, 8191).astype(dtype)
    y = dropout(KEY, x, rate, impl=impl)
    q = 1.0 - np.float64(np.float32(rate))
    exact = (np.asarray(x, np.float64) / q).astype(ml_dtypes.bfloat16 if dtype == jnp.bfloat16 else np.float16)
    kept = np.asarray(y != 0) | (np.asarray(x) == 0)
    np.testing.assert_array_equal(np.asarray(y)[kept].view(np.uint16), exact[kept].view(np.uint16))
    assert 0 < kept.sum() < x.size


@pytest.mark.parametrize("rate", [0.1, 0.9, 0.999, 0.3])
def test_concrete_and_traced_rates_give_the_same_q_and_output(rate, impl):
    x = jax.random.normal(KEY, (4096,))
    eager = dropout(KEY, x, rate, impl=impl)
    traced = jax.jit(lambda r: dropout(KEY, x, r, impl=impl))(rate)
    np.testing.assert_array_equal(eager, traced)
    assert float(keep_probability(rate)) == float(jax.jit(keep_probability)(rate))


def test_float64_stays_float64_and_uses_a_float64_q(impl):
    with jax.enable_x64(True):
        x = jnp.linspace(-1.0, 1.0, 1000, dtype=jnp.float64)
        y = dropout(KEY, x, 0.3, impl=impl)
        assert y.dtype == jnp.float64
        kept = y != 0
        np.testing.assert_array_equal(y[kept], x[kept] * (1.0 / (1.0 - 0.3)))
        assert dropout(None, x, 0.3, inverted=False, train=False).dtype == jnp.float64


# ---------------------------------------------------------------- transformations
def test_jit_matches_eager(impl):
    x = jax.random.normal(KEY, (256,))
    eager = dropout(KEY, x, 0.4, impl=impl)
    jitted = jax.jit(dropout, static_argnames=("inverted", "train", "impl", "broadcast_dims"))
    np.testing.assert_array_equal(jitted(KEY, x, 0.4, impl=impl), eager)
    np.testing.assert_array_equal(jax.jit(lambda r: dropout(KEY, x, r, impl=impl))(0.4), eager)


def test_vmap_over_rates_keys_and_inputs(impl):
    x = jnp.ones(20_000)
    rates = jnp.array([0.0, 0.25, 0.5, 0.75, 1.0])
    ys = jax.vmap(lambda r: dropout(KEY, x, r, impl=impl))(rates)
    for fraction, rate in zip(np.asarray((ys != 0).mean(axis=1)), np.asarray(rates)):
        q = 1 - rate
        assert within_4_sigma(fraction, q, math.sqrt(rate * q / x.size) + 1e-12)
    keys = jax.random.split(KEY, 3)
    per_key = jax.vmap(lambda k: dropout(k, x, 0.5, impl=impl))(keys)
    for i, k in enumerate(keys):
        np.testing.assert_array_equal(per_key[i], dropout(k, x, 0.5, impl=impl))
    xs = jax.random.normal(KEY, (3, 64))
    per_x = jax.vmap(lambda row: dropout(KEY, row, 0.5, impl=impl))(xs)
    for i in range(3):
        np.testing.assert_array_equal(per_x[i], dropout(KEY, xs[i], 0.5, impl=impl))


def test_grad_is_mask_over_q(impl):
    x = jax.random.normal(KEY, (1000,))
    grad = jax.grad(lambda x: jnp.sum(dropout(KEY, x, 0.2, impl=impl)))(x)
    mask = keep_mask(KEY, 0.2, x.shape, impl=impl)
    np.testing.assert_allclose(grad, jnp.where(mask, 1 / 0.8, 0.0), rtol=1e-6)
    direct = jax.grad(lambda x: jnp.sum(dropout(KEY, x, 0.2, inverted=False, impl=impl)))(x)
    np.testing.assert_array_equal(direct, jnp.where(mask, 1.0, 0.0))


@pytest.mark.parametrize("inverted", [True, False])
def test_forward_mode_matches_reverse_mode(inverted, impl):
    x = jax.random.normal(KEY, (64,))
    f = lambda x: dropout(KEY, x, 0.3, inverted=inverted, impl=impl)  # noqa: E731
    y, tangent = jax.jvp(f, (x,), (jnp.ones_like(x),))
    np.testing.assert_array_equal(y, f(x))
    jac_fwd, jac_rev = jax.jacfwd(f)(x), jax.jacrev(f)(x)
    np.testing.assert_array_equal(jac_fwd, jac_rev)
    np.testing.assert_array_equal(jnp.diag(jac_fwd), tangent)
    y_lin, linear = jax.linearize(f, x)
    np.testing.assert_array_equal(linear(x), f(x))  # dropout is linear in x


def test_hessian_and_hessian_vector_products(impl):
    x = jax.random.normal(KEY, (32,))
    mask = np.asarray(keep_mask(KEY, 0.3, x.shape, impl=impl))

    def loss(x):
        return jnp.sum(jnp.sin(dropout(KEY, x, 0.3, impl=impl)))

    h = jax.hessian(loss)(x)
    y = np.where(mask, np.asarray(x) / 0.7, 0.0)
    expected = np.diag(np.where(mask, -np.sin(y) / 0.7**2, 0.0))
    np.testing.assert_allclose(h, expected, rtol=1e-5, atol=1e-6)
    v = jax.random.normal(jax.random.key(1), x.shape)
    hvp = jax.jvp(jax.grad(loss), (x,), (v,))[1]  # forward over reverse
    np.testing.assert_allclose(hvp, expected @ np.asarray(v), rtol=1e-5, atol=1e-6)


def test_remat_and_scan(impl):
    x = jax.random.normal(KEY, (256,))
    loss = lambda x: jnp.sum(dropout(KEY, x, 0.5, impl=impl) ** 2)  # noqa: E731
    np.testing.assert_array_equal(jax.grad(jax.checkpoint(loss))(x), jax.grad(loss)(x))

    def body(h, step):
        return dropout(jax.random.fold_in(KEY, step), h, 0.1, impl=impl), None

    out, _ = jax.lax.scan(body, x, jnp.arange(3))
    manual = x
    for step in range(3):
        manual = dropout(jax.random.fold_in(KEY, step), manual, 0.1, impl=impl)
    np.testing.assert_allclose(out, manual, rtol=1e-6)
    grad = jax.grad(lambda x: jnp.sum(jax.lax.scan(body, x, jnp.arange(3))[0]))(x)
    assert bool(jnp.all(jnp.isfinite(grad)))
