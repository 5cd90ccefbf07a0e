"""Compiled cost and stored residuals: the evidence that the hash path stores no mask."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib as dl

N = 1 << 18
KEY = jax.random.key(0)


def impl_fn(impl):
    return lambda x: dl.dropout(KEY, x, 0.5, impl=impl)


def test_forward_backward_returns_output_and_cotangent():
    x = jnp.arange(4.0)
    out, grad = dl.forward_backward(lambda x: x**2, x, jnp.ones(4))
    np.testing.assert_allclose(out, x**2)
    np.testing.assert_allclose(grad, 2 * x)


def test_hash_path_keeps_no_mask_for_the_backward_pass():
    x = jnp.ones((N,))
    hash_saved = dl.residual_bytes(jax.vjp(impl_fn("hash"), x)[1])
    bernoulli_saved = dl.residual_bytes(jax.vjp(impl_fn("bernoulli"), x)[1])
    assert hash_saved <= 16  # the key's two words and q
    assert bernoulli_saved >= N  # at least one byte of mask per element


def test_hash_path_needs_no_temporary_buffers_and_only_copy_traffic():
    x = jnp.ones((N,))
    copy = dl.compiled_cost(lambda x: x * 2, x)
    fast = dl.compiled_cost(lambda x, g: dl.forward_backward(impl_fn("hash"), x, g), x, x)
    reference = dl.compiled_cost(lambda x, g: dl.forward_backward(impl_fn("bernoulli"), x, g), x, x)
    assert dl.compiled_cost(impl_fn("hash"), x)["bytes"] == copy["bytes"]
    assert fast["temp"] == 0
    assert reference["temp"] >= N


@pytest.mark.parametrize("impl", ["hash", "bernoulli"])
def test_rate_gradient_is_the_pathwise_derivative_in_both_impls(impl):
    x = jax.random.normal(jax.random.key(1), (1000,))
    y = dl.dropout(KEY, x, 0.3, impl=impl)
    grad = jax.grad(lambda r: jnp.sum(dl.dropout(KEY, x, r, impl=impl)))(0.3)
    np.testing.assert_allclose(grad, jnp.sum(y) / 0.7, rtol=1e-4)
