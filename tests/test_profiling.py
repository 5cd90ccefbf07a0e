"""Compiled cost and stored residuals: the evidence that the hash path stores no mask."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dropoutlib as dl
import dropoutlib.experiments as dx
import dropoutlib.book as db

N = 1 << 18
KEY = jax.random.key(0)


def impl_fn(impl):
    return lambda x: dl.dropout(KEY, x, 0.5, impl=impl)


def test_forward_backward_returns_output_and_cotangent():
    x = jnp.arange(4.0)
    out, grad = db.forward_backward(lambda x: x**2, x, jnp.ones(4))
    np.testing.assert_allclose(out, x**2)
    np.testing.assert_allclose(grad, 2 * x)


@pytest.mark.parametrize("impl", ["hash", "philox"])
def test_counter_based_paths_keep_no_mask_for_the_backward_pass(impl):
    # The residuals are the key's two words and q, whatever the size.
    for n in (N, 16 * N):
        assert db.residual_bytes(jax.vjp(impl_fn(impl), jnp.ones((n,)))[1]) <= 16
    assert db.residual_bytes(jax.vjp(impl_fn("bernoulli"), jnp.ones((N,)))[1]) >= N  # a mask byte per element


@pytest.mark.parametrize("impl", ["hash", "philox"])
def test_counter_based_paths_need_no_temporary_buffers_and_only_copy_traffic(impl):
    for n in (N, 16 * N):
        x = jnp.ones((n,))
        copy = db.compiled_cost(lambda x: x * 2, x)
        fast = db.compiled_cost(lambda x, g: db.forward_backward(impl_fn(impl), x, g), x, x)
        assert db.compiled_cost(impl_fn(impl), x)["bytes"] == copy["bytes"]
        assert fast["temp"] <= 16  # one scalar (q), not an array
    x = jnp.ones((N,))
    reference = db.compiled_cost(lambda x, g: db.forward_backward(impl_fn("bernoulli"), x, g), x, x)
    assert reference["temp"] >= N
