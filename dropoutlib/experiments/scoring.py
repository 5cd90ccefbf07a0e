"""Per-example scores beyond the error: the Brier score, how heavy a loss's tail is, sparsity.

**Brier score.** For predicted class probabilities ``pi = softmax(z)`` and
the true class ``y`` (one-hot ``e_y``), the Brier score of one example is

.. math:: B = \\sum_k (\\pi_k - [k = y])^2 = (1 - \\pi_y)^2 + \\sum_{k \\ne y} \\pi_k^2,

between 0 (all mass on the true class) and 2 (all mass on one wrong class).
Like the cross-entropy ``-log pi_y`` it is a strictly proper scoring rule
(its expectation is minimized only by the true class probabilities), but it
is **bounded**: one confidently wrong prediction adds at most 2, where it
can add tens of nats to the cross-entropy. The mean of bounded per-example
scores is what a bootstrap interval handles well; the mean of a
heavy-tailed loss is not.

**Tail share.** :func:`tail_share` is the share of a sum of non-negative
losses carried by its largest ``ceil(fraction * N)`` terms: about
``fraction`` for a light tail, close to 1 when a few terms dominate.

**Hoyer sparsity.** For a vector ``h`` of ``n > 1`` non-negative activations,

.. math:: S(h) = \\frac{\\sqrt{n} - \\lVert h \\rVert_1 / \\lVert h \\rVert_2}{\\sqrt{n} - 1},

1 when exactly one unit is active, 0 when all are equal (Hoyer, 2004). It
is **scale-free**, ``S(c h) = S(h)`` for ``c > 0``, unlike the mean
activation, which a network can lower or raise by rescaling its weights
without changing which units respond. An all-zero vector (no unit active)
gets 1 by convention.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["brier_score", "hoyer_sparsity", "tail_share"]


def brier_score(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """The Brier score of every example: ``sum_k (softmax(logits)_k - [k = label])^2``.

    ``logits`` has shape ``(..., classes)`` and ``labels`` (integers)
    broadcasts against ``logits.shape[:-1]``. Computed in float64.
    """
    z = np.asarray(logits, np.float64)
    labels = np.asarray(labels)
    if z.ndim < 1 or z.shape[-1] < 2:
        raise ValueError(f"logits need a class axis of at least 2 classes, got shape {z.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= z.shape[-1]):
        raise ValueError(f"labels must lie in [0, {z.shape[-1] - 1}]")
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    onehot = np.arange(z.shape[-1]) == np.broadcast_to(labels, z.shape[:-1])[..., None]
    return ((p - onehot) ** 2).sum(axis=-1)


def tail_share(losses: ArrayLike, fraction: float = 0.01) -> float:
    """The share of ``sum(losses)`` carried by the largest ``ceil(fraction * N)`` of the ``N`` losses."""
    x = np.ravel(np.asarray(losses, np.float64))
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if x.size == 0 or np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError("losses must be a non-empty array of finite, non-negative numbers")
    total = x.sum()
    if total == 0:
        raise ValueError("all losses are zero: the share is undefined")
    k = math.ceil(fraction * x.size)
    return float(np.sort(x)[::-1][:k].sum() / total)


def hoyer_sparsity(h: ArrayLike, axis: int = -1) -> np.ndarray:
    """Hoyer's sparsity ``(sqrt(n) - |h|_1 / |h|_2) / (sqrt(n) - 1)`` along ``axis`` (1 for all zeros)."""
    h = np.asarray(h, np.float64)
    n = h.shape[axis]
    if n < 2:
        raise ValueError(f"sparsity needs at least 2 units along axis {axis}, got {n}")
    if np.any(h < 0):
        raise ValueError("activations must be non-negative (after a ReLU, say)")
    l1 = h.sum(axis=axis)
    l2 = np.sqrt((h**2).sum(axis=axis))
    ratio = np.divide(l1, l2, out=np.ones_like(l1), where=l2 > 0)  # all zeros: ratio 1, sparsity 1
    return (math.sqrt(n) - ratio) / (math.sqrt(n) - 1)
