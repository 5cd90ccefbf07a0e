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

from typing import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability, is_traced, normalize_axes
from dropoutlib.masks import bernoulli_mask


def dropout(
    key: jax.Array | None,
    x: ArrayLike,
    rate: ArrayLike,
    *,
    inverted: bool = True,
    train: bool = True,
    broadcast_dims: int | Sequence[int] = (),
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

    Returns:
      An array with the shape and dtype of ``x``.
    """
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
    mask = jnp.broadcast_to(bernoulli_mask(key, keep_prob, mask_shape), x.shape)
    if not inverted:
        return jnp.where(mask, x, jnp.zeros((), x.dtype))
    # A traced rate may be exactly 1. Dividing by a q that is replaced with 1
    # where it is 0 keeps the unselected branch finite, so the gradient stays
    # 0 instead of 0 * inf = NaN (the bug Flax once had).
    safe_keep = jnp.where(keep_prob > 0, keep_prob, 1.0).astype(x.dtype)
    return jnp.where(mask, x / safe_keep, jnp.zeros((), x.dtype))
