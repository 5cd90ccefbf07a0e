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

How it is computed, and why:

* **One path, one precision policy.** Every generator's mask goes through
  :func:`_apply`: ``q = 1 - rate`` is formed in the compute dtype (the
  input's, at least float32), ``1/q`` is computed once, and ``x * (1/q)`` is
  rounded once, to the input's dtype. A concrete and a traced rate give the
  same ``q``, and low-precision inputs are exact to the last bit.
* **No stored mask.** With a counter-based generator (``"hash"``,
  ``"philox"``) the mask is a pure function of (key, index), so the apply is
  wrapped in :func:`jax.checkpoint` with nothing saveable: the backward pass
  recomputes the mask from the key instead of keeping one byte per element
  alive. Because this is plain JAX (no custom VJP), every transformation
  works: ``grad``, ``jvp``, ``jacfwd``, ``linearize``, ``hessian``, ``vmap``.
* **No gradient through the rate.** ``q = 1 - stop_gradient(rate)``, as in
  Equinox. The mask is a step function of ``q``, so the only derivative
  autodiff could see is the pathwise one through ``1/q``, which is not the
  derivative of anything a user wants: ``E[y] = x`` does not depend on ``p``
  at all for inverted dropout, and the rate's effect on a loss acts through
  WHICH units are dropped, which has no pathwise derivative. Tuning a rate by
  gradient needs a relaxation (concrete dropout) or a score-function
  estimator, not this.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
from jax.experimental import checkify
from jax.typing import ArrayLike

from dropoutlib._checks import check_key, check_probability, is_traced, normalize_axes
from dropoutlib.masks import COUNTER_BASED, IMPLS, check_impl, keep_mask_from_q

__all__ = ["IMPLS", "dropout", "keep_probability"]


def compute_dtype(dtype: jnp.dtype) -> jnp.dtype:
    """The dtype the scale is applied in: the input's, but at least float32."""
    return jnp.promote_types(dtype, jnp.float32)


def keep_probability(rate: ArrayLike, dtype: jnp.dtype = jnp.float32) -> jax.Array:
    """``q = 1 - rate`` in ``dtype``, with the rate's gradient stopped.

    The rate is rounded to ``dtype`` first, then subtracted, so that a Python
    float and the same float traced under ``jit`` give the same ``q``.
    """
    return 1.0 - jax.lax.stop_gradient(jnp.asarray(rate, dtype))


def _apply(mask: jax.Array, x: jax.Array, q: jax.Array, inverted: bool) -> jax.Array:
    """``where(mask, x / q, 0)`` (inverted) or ``where(mask, x, 0)`` (direct)."""
    zero = jnp.zeros((), x.dtype)
    if not inverted:
        return jnp.where(mask, x, zero)
    # 1/q once, then a multiply: a vector division per element costs a CPU
    # about 15 % of a copy's time. Where q = 0 the mask is all False; the
    # guard keeps the unselected branch finite, so gradients stay 0, not NaN.
    scale = 1.0 / jnp.where(q > 0, q, 1.0)
    return jnp.where(mask, (x.astype(q.dtype) * scale).astype(x.dtype), zero)


def _masked(key, x, q, mask_shape, inverted, impl):
    mask = jnp.broadcast_to(keep_mask_from_q(key, q, mask_shape, impl), x.shape)
    return _apply(mask, x, q, inverted)


# For counter-based masks, save nothing for the backward pass: it reruns the
# mask from (key, index). The residuals are the key and q, a few bytes.
_recomputed = jax.checkpoint(_masked, static_argnums=(3, 4, 5), policy=jax.checkpoint_policies.nothing_saveable)


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

    Derivatives: with respect to ``x``, ``dy/dx = r / q`` (inverted) or ``r``
    (direct), in reverse and forward mode alike; with respect to ``rate``,
    zero, by design (see the module docstring).

    Edge cases follow the peer libraries: ``rate = 0`` returns ``x``
    unchanged; ``rate = 1`` returns zeros in train mode, with zero (never NaN)
    gradients, because ``1 / q`` is never evaluated at ``q = 0``.

    Args:
      key: one ``jax.random`` key; may be None when ``train=False``. A batch of
        keys raises ValueError: ``jax.vmap`` over keys is the way to use many.
      x: a floating-point array. The output has its dtype.
      rate: the drop probability ``p``, a real scalar. A concrete value
        outside [0, 1], NaN, a bool or a string raises. A traced value (``jit``,
        ``vmap`` over rates) cannot be checked when it is traced; to check it
        at run time, wrap the caller in ``jax.experimental.checkify.checkify``
        (``err, y = checkify.checkify(f)(...)``, then ``err.throw()``): a
        traced rate outside [0, 1] then becomes an error. Without checkify
        such a rate gives a mask clipped to all-kept or all-dropped.
      inverted: inverted dropout (scale by ``1/q`` in training) if True,
        direct dropout (scale by ``q`` at test time) if False.
      train: sample a mask if True; apply the test-time rule if False.
      broadcast_dims: axes along which one mask entry is shared, as in
        spatial dropout: for an ``(N, H, W, C)`` batch, ``broadcast_dims=(1, 2)``
        drops whole channels. The number of independent mask entries, not the
        number of elements, then sets how much the dropped fraction fluctuates.
      impl: the mask generator, ``"hash"`` (default), ``"philox"`` or
        ``"bernoulli"`` (:mod:`dropoutlib.masks`). All give the same
        distribution, not the same mask. The two counter-based ones store
        no mask for the backward pass; the hash is the default because it is
        the fastest of the three on a CPU (measured in the chapter on speed)
        and passes the same statistical batteries as Philox.

    Returns:
      An array with the shape and dtype of ``x``.
    """
    check_impl(impl)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"dropout needs a floating-point x, got dtype {x.dtype}")
    check_probability(rate, "rate")
    axes = normalize_axes(broadcast_dims, x.ndim, "broadcast_dims")
    if is_traced(rate):
        checkify.debug_check((rate >= 0) & (rate <= 1), "dropout rate must be in [0, 1], got {r}", r=rate)
    q = keep_probability(rate, compute_dtype(x.dtype))

    if not train:
        return x if inverted else (q * x.astype(q.dtype)).astype(x.dtype)
    if key is None:
        raise ValueError("dropout with train=True needs a PRNG key, got key=None")
    check_key(key)
    if not is_traced(rate):
        # Concrete edge cases short-circuit, as in Flax, Keras and PyTorch.
        if float(rate) == 0.0:
            return x
        if float(rate) == 1.0:
            return jnp.zeros_like(x)
    mask_shape = tuple(1 if axis in axes else size for axis, size in enumerate(x.shape))
    masked = _recomputed if impl in COUNTER_BASED else _masked
    return masked(key, x, q, mask_shape, inverted, impl)
