"""Dropout itself, in its two classical forms.

With drop probability ``p`` (the ``rate``), keep probability ``q = 1 - p`` and a
keep-mask ``r ~ Bernoulli(q)``:

=========  ===============  ===========
scheme     train            test
=========  ===============  ===========
direct     ``r * x``        ``q * x``
inverted   ``r * x / q``    ``x``
=========  ===============  ===========

Both keep the expected train-time output equal to the test-time output:
``E[r x] = q x`` and ``E[r x / q] = x``. Inverted dropout puts the correction
in training, so the deployed network is the plain one; that is why every
major framework implements it and why it is the default here.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability, is_traced, normalize_axes
from dropoutlib.hashmask import hash_mask
from dropoutlib.masks import bernoulli_mask

IMPLS = ("bernoulli", "hash")


def dropout(
    key: jax.Array | None,
    x: ArrayLike,
    rate: ArrayLike,
    *,
    inverted: bool = True,
    train: bool = True,
    broadcast_dims: int | Sequence[int] = (),
    impl: str = "hash",
) -> jax.Array:
    """Apply dropout with drop probability ``rate`` to ``x``.

    In train mode each element is kept with probability ``q = 1 - rate``
    (``r ~ Bernoulli(q)``) and

    .. math::

       \\text{inverted: } y = \\frac{r\\,x}{q}, \\qquad \\text{direct: } y = r\\,x,

    so that ``E[y] = x`` (inverted) or ``E[y] = q x`` (direct). In test mode
    (``train=False``) no randomness is used: inverted returns ``x`` and direct
    returns ``q x``, the expectation of its train-time output.

    Edge cases follow the peer libraries: ``rate = 0`` returns ``x``
    unchanged; ``rate = 1`` returns zeros in train mode, with zero (never NaN)
    gradients, because ``1 / q`` is never evaluated at ``q = 0``.

    Args:
      key: a ``jax.random`` key; may be None when ``train=False``.
      x: a floating-point array. The output has its dtype.
      rate: the drop probability ``p``. A concrete value outside [0, 1] or
        NaN raises ValueError. A traced value (``jit``, ``vmap`` over rates,
        ``grad``) is accepted as it is and cannot be checked.
      inverted: inverted dropout (scale by ``1/q`` in training) if True,
        direct dropout (scale by ``q`` at test time) if False.
      train: sample a mask if True; apply the test-time rule if False.
      broadcast_dims: axes along which one mask entry is shared, as in
        spatial dropout: for an ``(N, H, W, C)`` batch, ``broadcast_dims=(1, 2)``
        drops whole channels. The number of independent mask entries, not the
        number of elements, then sets how much the dropped fraction fluctuates.
      impl: how the mask is drawn. ``"hash"`` (the default) computes each
        mask entry from (key, element index) with a counter-based hash
        (:mod:`dropoutlib.hashmask`): it fuses into one elementwise kernel, and
        the backward pass recomputes the mask from the key instead of storing
        it. ``"bernoulli"`` uses ``jax.random.bernoulli``, the reference that
        the peer libraries use. Both give the same distribution, not the same
        mask. The hash is the default because it passes the statistical
        battery of ``tests/test_hashmask_statistics.py`` and runs at close to
        the speed of a copy (``benchmarks/dropout_throughput.py``), about ten
        times faster than the reference on a CPU.

    Returns:
      An array with the shape and dtype of ``x``.
    """
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"dropout needs a floating-point x, got dtype {x.dtype}")
    check_probability(rate, "rate")
    axes = normalize_axes(broadcast_dims, x.ndim, "broadcast_dims")

    if not train:
        return x if inverted else (jnp.asarray(1.0 - rate, x.dtype) * x)
    if key is None:
        raise ValueError("dropout with train=True needs a PRNG key, got key=None")
    if is_traced(rate):
        keep_prob = 1.0 - jnp.asarray(rate)
    else:
        # Concrete edge cases short-circuit, as in Flax, Keras and PyTorch.
        if float(rate) == 0.0:
            return x
        if float(rate) == 1.0:
            return jnp.zeros_like(x)
        # 1 - p in double precision: in float32, q = 1 - 0.999 is off by 5e-5.
        keep_prob = jnp.asarray(1.0 - float(rate))
    mask_shape = tuple(1 if axis in axes else size for axis, size in enumerate(x.shape))
    if impl == "hash":
        return _hash_dropout(key, x, keep_prob, mask_shape, inverted)
    mask = jnp.broadcast_to(bernoulli_mask(key, keep_prob, mask_shape), x.shape)
    if not inverted:
        return jnp.where(mask, x, jnp.zeros((), x.dtype))
    # A traced rate may be exactly 1. Dividing by a q that is replaced with 1
    # where it is 0 keeps the unselected branch finite, so the gradient stays
    # 0 instead of 0 * inf = NaN (the bug Flax once had).
    safe_keep = jnp.where(keep_prob > 0, keep_prob, 1.0).astype(x.dtype)
    return jnp.where(mask, x / safe_keep, jnp.zeros((), x.dtype))


def _apply_hash_mask(key, x, keep_prob, mask_shape, inverted):
    mask = jnp.broadcast_to(hash_mask(key, keep_prob, mask_shape), x.shape)
    if not inverted:
        return jnp.where(mask, x, jnp.zeros((), x.dtype))
    # Multiply by 1/q, computed once, in at least float32: a vector division
    # per element costs a CPU about 15% of a copy's time, a multiply nothing.
    compute = jnp.promote_types(x.dtype, jnp.float32)
    scale = 1.0 / jnp.where(keep_prob > 0, keep_prob, 1.0).astype(compute)
    return jnp.where(mask, (x.astype(compute) * scale).astype(x.dtype), jnp.zeros((), x.dtype))


# The mask is a pure function of (key, index), so the backward pass can
# rebuild it: the residuals are the key and q, a few bytes, instead of a mask
# of one byte (or more) per element. The cotangent of x is the same masked
# scaling applied to the incoming cotangent.
@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _hash_dropout(key, x, keep_prob, mask_shape, inverted):
    return _apply_hash_mask(key, x, keep_prob, mask_shape, inverted)


def _hash_dropout_fwd(key, x, keep_prob, mask_shape, inverted):
    y = _apply_hash_mask(key.value, x.value, keep_prob.value, mask_shape, inverted)
    # Only a derivative with respect to the rate needs the output (d y / d q =
    # -y / q for inverted dropout, 0 for direct); keep it only then.
    keep_output = keep_prob.perturbed and inverted
    return y, (key.value, keep_prob.value, y if keep_output else None)


def _hash_dropout_bwd(mask_shape, inverted, residuals, g):
    key, keep_prob, y = residuals
    if isinstance(g, jax.custom_derivatives.SymbolicZero):
        return None, None, None
    g_x = _apply_hash_mask(key, g, keep_prob, mask_shape, inverted)
    g_keep = None
    if y is not None:
        safe_keep = jnp.where(keep_prob > 0, keep_prob, 1.0)
        g_keep = (-jnp.sum(g.astype(jnp.float32) * y.astype(jnp.float32)) / safe_keep).astype(keep_prob.dtype)
    return None, g_x, g_keep


_hash_dropout.defvjp(_hash_dropout_fwd, _hash_dropout_bwd, symbolic_zeros=True)
