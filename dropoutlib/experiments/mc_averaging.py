"""Monte-Carlo model averaging against weight scaling, scored per example.

Monte-Carlo (MC) model averaging predicts with the mean of ``k`` thinned
networks' class probabilities, ``pbar_k = (1/k) sum_{t <= k} p_t``; the
weight-scaled network predicts with one test-mode pass. Srivastava et al.
(2014, fig. 11) ask from which ``k`` on the first is as good as the second.

Answering that honestly needs per-example scores at every ``k`` (so that a
paired comparison can cover seeds and test examples) and a rule that can
say "no ``k`` qualifies": :func:`first_sustained` returns ``None`` then,
where ``argmax`` over a boolean array would silently return the first index.

"As good as" is an equivalence claim. "Not detectably worse" (the interval
does not lie above zero) cannot support it: it rewards low power, since a
smaller test set gives wider intervals and an earlier "match".
:func:`within_margin` is the equivalence rule: the interval of the paired
difference lies inside ``(-margin, +margin)``, which at a 95 % interval is
the two one-sided tests at 2.5 % each.

The thinned networks' probabilities are kept as logarithms: in float32 a
confident thinned network gives the true class a probability of exactly 0
now and then, and the log loss of ``k = 1`` would be infinite. With
``log pbar_k = logsumexp_{t <= k} log p_t - log k`` it stays exact.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from dropoutlib.experiments.ensemble import thinned_outputs
from dropoutlib.experiments.mlp import Params

__all__ = ["first_sustained", "mc_log_probs", "running_log_mean_at", "scores_at", "within_margin"]


def mc_log_probs(
    key: jax.Array,
    params: Params,
    x: ArrayLike,
    *,
    rates: Sequence[ArrayLike],
    n_samples: int,
    inverted: bool = True,
    activation: str = "relu",
) -> jax.Array:
    """Log class probabilities of ``n_samples`` thinned networks, ``(n_samples, examples, classes)``.

    The logarithm of :func:`~dropoutlib.experiments.mc_dropout_probs`
    with the same masks (sample ``t`` uses ``fold_in(key, t)``), computed with
    ``log_softmax`` so that no probability underflows to ``log 0``.
    """
    return thinned_outputs(key, params, x, rates=rates, n_samples=n_samples, inverted=inverted,
                           activation=activation, link=jax.nn.log_softmax)


def running_log_mean_at(log_probs: ArrayLike, ks: Sequence[int]) -> np.ndarray:
    """``log pbar_k`` for each ``k`` in ``ks``: the log of the mean of the first ``k`` samples' probabilities.

    ``log_probs`` has shape ``(samples, examples, classes)``; the result has
    shape ``(len(ks), examples, classes)``, in float64.
    """
    log_probs = np.asarray(log_probs, np.float64)
    ks = np.asarray(ks)
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must have shape (samples, examples, classes), got {log_probs.shape}")
    if ks.ndim != 1 or ks.size == 0 or np.any(ks < 1) or np.any(ks > log_probs.shape[0]) or np.any(np.diff(ks) <= 0):
        raise ValueError(f"ks must be increasing integers in [1, {log_probs.shape[0]}], got {ks.tolist()}")
    return np.logaddexp.accumulate(log_probs, axis=0)[ks - 1] - np.log(ks)[:, None, None]


def scores_at(log_probs: ArrayLike, labels: ArrayLike, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-example error (1.0 = wrong) and log loss ``-log pbar_k[y]`` of MC averaging at each ``k``.

    Returns ``{"error": ..., "loss": ...}``, each of shape ``(len(ks), examples)``.
    """
    log_mean = running_log_mean_at(log_probs, ks)
    labels = np.asarray(labels)
    picked = np.take_along_axis(log_mean, np.broadcast_to(labels[None, :, None], log_mean.shape[:2] + (1,)), axis=-1)
    return {"error": (log_mean.argmax(axis=-1) != labels[None, :]).astype(np.float64), "loss": -picked[..., 0]}


def first_sustained(ks: Sequence[int], ok: Sequence[bool]) -> int | None:
    """The smallest ``k`` from which ``ok`` holds for it and every larger ``k``; ``None`` if none.

    ``ok[j]`` says whether the condition holds at ``ks[j]`` (for example: MC
    averaging over ``ks[j]`` masks is not detectably worse than weight
    scaling). A condition that fails at the largest ``k`` gives ``None``.
    """
    ok = [bool(flag) for flag in ok]
    if len(ok) != len(ks):
        raise ValueError(f"ks has {len(ks)} entries, ok has {len(ok)}")
    k_from = None
    for k, flag in zip(reversed(list(ks)), reversed(ok)):
        if not flag:
            break
        k_from = int(k)
    return k_from


def within_margin(difference: Any, margin: float) -> bool:
    """Equivalence within ``margin``: ``-margin < difference.low`` and ``difference.high < margin``.

    ``difference`` is a :class:`~dropoutlib.experiments.compare.PairedDifference`
    (anything with ``.low`` and ``.high``), in the units of ``margin``. An
    interval at level ``1 - 2 alpha`` inside the margin rejects both
    "A is worse by ``margin`` or more" and "A is better by ``margin`` or
    more" at level ``alpha`` each (two one-sided tests). A wide interval
    fails it: low power cannot pass for a match.
    """
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin!r}")
    return bool(-margin < difference.low and difference.high < margin)
