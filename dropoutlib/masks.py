"""Bernoulli keep-masks: the random object at the heart of dropout.

A mask entry ``r_i ~ Bernoulli(q)`` is True when unit ``i`` is KEPT. The
mean of one entry is ``q`` and its variance ``q (1 - q) = p q``.
"""

from __future__ import annotations

from typing import Sequence

import jax
from jax.typing import ArrayLike

from dropoutlib._checks import check_probability


def bernoulli_mask(key: jax.Array, keep_prob: ArrayLike, shape: Sequence[int]) -> jax.Array:
    """Sample a boolean keep-mask with ``P(True) = keep_prob``.

    Each entry is an independent ``r_i ~ Bernoulli(q)`` with ``q = keep_prob``, so

    .. math:: E[r_i] = q, \\qquad \\operatorname{Var}[r_i] = q(1 - q).

    ``keep_prob = 1`` gives an all-True mask and ``keep_prob = 0`` an all-False
    one, exactly (a uniform draw on [0, 1) is always below 1 and never below 0).

    Args:
      key: a ``jax.random`` key.
      keep_prob: the keep probability ``q``; a concrete value outside [0, 1]
        (or NaN) raises ValueError, a traced one is accepted as it is.
      shape: the mask's shape.

    Returns:
      A bool array of ``shape``; True means kept.
    """
    check_probability(keep_prob, "keep_prob")
    return jax.random.bernoulli(key, keep_prob, tuple(shape))
