"""What a direct-dropout network does when its test-time factors are forgotten.

A direct net trained with keep probability ``q_l`` on the input of layer
``l`` must multiply that input by ``q_l`` at test time. Forgetting it on a
set ``F`` of layers runs layer ``l in F`` on inputs ``1/q_l`` times larger
than those it was trained on, on average. For a bias-free ReLU network this
stretches the logits by ``prod_{l in F} 1/q_l`` (ReLU is positively
homogeneous); with biases, or with saturating units such as the sigmoid,
it is no longer a stretch.

:func:`forgetting_comparison` scores stacked networks (one per seed) on
every test example with and without the factors and returns the paired
differences of :mod:`dropoutlib.experiments.compare`;
:func:`mode_scores` scores them in one mode only (on the training set,
say); :func:`flip_counts` lists which predictions the forgotten factors
flip, per direction and per test example, for the case where so few flip
that an interval over the mean error sits on zero;
:func:`saturated_fraction` counts the sigmoid outputs that the forgotten
factors push against 0 or 1.
"""

from __future__ import annotations

import math
from typing import Any, Collection, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from scipy import stats

from dropoutlib.experiments.calibration import scores_from_logits
from dropoutlib.experiments.compare import paired_difference
from dropoutlib.experiments.mlp import Params, mlp_apply, mlp_forward

__all__ = [
    "SCORES",
    "FlipCounts",
    "flip_counts",
    "forgetting_comparison",
    "forgotten_factor",
    "mode_scores",
    "saturated_fraction",
    "test_rates",
]

SCORES = ("error", "loss", "overconfidence")


def test_rates(rates: Sequence[float], forgotten: Collection[int] = ()) -> list[float]:
    """The rates a direct net applies at test time (factor ``q = 1 - rate``), with the ``forgotten`` layers at 0."""
    unknown = set(forgotten) - set(range(len(rates)))
    if unknown:
        raise ValueError(f"forgotten names layers {sorted(unknown)}, but there are only {len(rates)}")
    return [0.0 if layer in forgotten else float(rate) for layer, rate in enumerate(rates)]


def forgotten_factor(rates: Sequence[float], forgotten: Collection[int]) -> float:
    """``prod_{l in forgotten} 1 / q_l``: how much too large the forgotten layers' inputs are, compounded."""
    test_rates(rates, forgotten)  # validates the layer indices
    return math.prod(1.0 / (1.0 - float(rates[layer])) for layer in forgotten)


def _stacked_logits(params: Params, x: ArrayLike, rates: Sequence[float], activation: str) -> jax.Array:
    run = lambda p: mlp_apply(p, x, rates=rates, inverted=False, activation=activation)  # noqa: E731
    return jax.vmap(run)(params)


def mode_scores(
    params: Params,
    x: ArrayLike,
    labels: ArrayLike,
    rates: Sequence[float],
    forgotten: Collection[int] = (),
    *,
    activation: str = "relu",
) -> dict[str, np.ndarray]:
    """Per-seed, per-example scores of direct-dropout nets with the ``forgotten`` layers' factors left out.

    ``params`` are stacked over seeds; returns the arrays of
    :func:`~dropoutlib.experiments.calibration.scores_from_logits`, shape
    ``(seeds, examples)``. With nothing forgotten these are the nets as
    they should be deployed (each layer's input scaled by its ``q``).
    """
    return scores_from_logits(_stacked_logits(params, x, test_rates(rates, forgotten), activation), labels)


def forgetting_comparison(
    params: Params,
    x: ArrayLike,
    labels: ArrayLike,
    rates: Sequence[float],
    forgotten: Collection[int],
    *,
    activation: str = "relu",
    **kwargs: Any,
) -> dict[str, Any]:
    """Score direct-dropout nets with their test-time factors (``"ok"``) and with some forgotten (``"bad"``).

    Args:
      params: direct-dropout parameters stacked over seeds (leading axis).
      x, labels: the test examples.
      rates: the drop rate on each layer's input (``q_l = 1 - rates[l]``).
      forgotten: the layers whose factor is forgotten.
      activation: the hidden units' activation.
      kwargs: passed to :func:`~dropoutlib.experiments.compare.paired_difference`.

    Returns:
      A dict with keys ``"ok"``, ``"bad"``, ``"factor"``, ``"error"``,
      ``"loss"`` and ``"overconfidence"``: the per-seed, per-example scores of
      :func:`~dropoutlib.experiments.calibration.scores_from_logits` in both
      modes, the compounded factor, and for each score the paired difference
      forgotten minus with-factor.
    """
    ok = mode_scores(params, x, labels, rates, activation=activation)
    bad = mode_scores(params, x, labels, rates, forgotten, activation=activation)
    result: dict[str, Any] = {"ok": ok, "bad": bad, "factor": forgotten_factor(rates, forgotten)}
    for score in SCORES:
        result[score] = paired_difference(bad[score], ok[score], **kwargs)
    return result


def saturated_fraction(
    params: Params,
    x: ArrayLike,
    rates: Sequence[float],
    forgotten: Collection[int] = (),
    *,
    hidden_layer: int = -1,
    margin: float = 0.01,
) -> float:
    """Share of one hidden sigmoid layer's outputs within ``margin`` of 0 or 1, over seeds, examples and units.

    ``params`` are direct-dropout sigmoid nets stacked over seeds; the
    factors of the ``forgotten`` layers are left out. A sigmoid output in
    ``[0, margin)`` or ``(1 - margin, 1]`` means ``|pre-activation| > log((1 - margin) / margin)``
    (4.6 for the default margin), where the unit is flat and its output
    barely depends on its input.
    """
    used = test_rates(rates, forgotten)
    run = lambda p: mlp_forward(p, x, rates=used, inverted=False, activation="sigmoid")[1][hidden_layer]  # noqa: E731
    h = jax.vmap(run)(params)
    return float(jnp.mean((h < margin) | (h > 1.0 - margin)))


class FlipCounts(NamedTuple):
    """Which predictions change between two paired set-ups, per direction and per example.

    ``right_to_wrong`` and ``wrong_to_right`` count (seed, example) pairs;
    ``examples`` counts the distinct examples with at least one flip;
    ``examples_worse`` and ``examples_better`` those whose flips, summed
    over seeds, go on balance from right to wrong or back.
    """

    right_to_wrong: int
    wrong_to_right: int
    examples: int
    examples_worse: int
    examples_better: int

    def share_worse(self, confidence: float = 0.95) -> tuple[float, float, float]:
        """The share of examples that changed on balance for the worse, with an exact interval.

        Among the ``m = examples_worse + examples_better`` examples whose
        flips do not cancel, ``examples_worse ~ Binomial(m, theta)``; with no
        systematic effect in either direction ``theta = 1/2`` (the sign test,
        with the test example as the unit, since the test set is what is
        sampled). Returns ``(share, low, high)`` with the Clopper-Pearson
        interval; one that covers 1/2 means the direction is not resolved.
        ``(nan, 0, 1)`` when no example changed.
        """
        m = self.examples_worse + self.examples_better
        if m == 0:
            return float("nan"), 0.0, 1.0
        ci = stats.binomtest(self.examples_worse, m).proportion_ci(confidence, method="exact")
        return self.examples_worse / m, float(ci.low), float(ci.high)


def flip_counts(error_a: ArrayLike, error_b: ArrayLike) -> FlipCounts:
    """Count the flips from set-up A to set-up B: ``error_*`` are 0/1 arrays of shape ``(seeds, examples)``.

    A right-to-wrong flip is ``error_a = 0, error_b = 1`` at one (seed,
    example). Where an error difference rests on a handful of flips, the
    bootstrap interval over its mean has a lower (or upper) end that sits
    on zero for lattice reasons; these counts say what the interval cannot.
    """
    a = np.asarray(error_a, np.float64)
    b = np.asarray(error_b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need paired 0/1 errors of shape (seeds, examples), got {a.shape} and {b.shape}")
    if not np.all(np.isin(a, (0.0, 1.0)) & np.isin(b, (0.0, 1.0))):
        raise ValueError("errors must be 0 or 1")
    d = b - a
    net = d.sum(axis=0)  # per example, over seeds
    return FlipCounts(
        right_to_wrong=int(np.sum(d > 0)),
        wrong_to_right=int(np.sum(d < 0)),
        examples=int(np.sum(np.any(d != 0, axis=0))),
        examples_worse=int(np.sum(net > 0)),
        examples_better=int(np.sum(net < 0)),
    )
