"""Comparing two set-ups on a yes/no outcome per seed: McNemar's exact test.

Each seed trains one network under set-up A and one under set-up B, with the
same initialization, minibatches and dropout masks (see
:func:`~dropoutlib.experiments.hyper_variants`). A yes/no outcome per run
(did its weights run away?) gives *paired* observations ``(a_s, b_s)``.
Seeds where both or neither had the outcome say nothing about a difference
between A and B; only the **discordant** seeds do. With ``n_a`` seeds where
only A had it and ``n_b`` where only B had it, and ``n_d = n_a + n_b``:

* under the null hypothesis that A and B have the outcome equally often
  (marginal homogeneity), ``n_a`` given ``n_d`` is ``Binomial(n_d, 1/2)``;
  the exact two-sided p-value is that binomial's (the exact form of
  McNemar's test). Fisher's exact test would treat the two arms as
  independent samples and ignore the pairing;
* ``theta = P(only A | discordant)`` has the Clopper-Pearson interval of
  ``n_a`` out of ``n_d``; ``theta = 1/2`` is "no difference". The binomial
  at ``1/2`` is symmetric, so the interval at ``confidence`` excludes
  ``1/2`` exactly when the two-sided p-value is below ``1 - confidence``:
  the interval and the test say the same thing, and the words follow them
  ("more often", "less often" or "no detectable difference");
* each arm's own rate ``k / n`` gets its Clopper-Pearson interval.

What such a test can detect is bounded by the count of discordant seeds,
whatever the number of seeds: ``k`` discordant seeds, all one way, give
``p = 2^(1 - k)``, so at 95 % at least six are needed
(:func:`min_discordant`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["PairedBinary", "format_p", "min_discordant", "paired_binary_test", "rate_interval"]


def rate_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval for a rate observed as ``k`` of ``n``."""
    if not (isinstance(k, (int, np.integer)) and isinstance(n, (int, np.integer))) or not 0 <= k <= n or n < 1:
        raise ValueError(f"need integers 0 <= k <= n with n >= 1, got k={k!r}, n={n!r}")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


@dataclasses.dataclass(frozen=True)
class PairedBinary:
    """Counts, the exact McNemar p-value and the intervals of a paired yes/no comparison A vs B."""

    n: int  # seeds (pairs)
    count_a: int  # runs of A with the outcome
    count_b: int
    only_a: int  # discordant seeds: A yes, B no
    only_b: int  # discordant seeds: B yes, A no
    p_value: float  # exact two-sided McNemar
    share_low: float  # interval for P(only A | discordant); 1/2 = no difference
    share_high: float
    confidence: float

    @property
    def detectable(self) -> bool:
        """Whether the interval for the discordant share excludes 1/2 (equivalently ``p < 1 - confidence``)."""
        return self.share_low > 0.5 or self.share_high < 0.5

    def verdict(self) -> str:
        """``"more often"``, ``"less often"`` (A relative to B) or ``"no detectable difference"``."""
        if not self.detectable:
            return "no detectable difference"
        return "more often" if self.only_a > self.only_b else "less often"

    def rate_intervals(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The Clopper-Pearson intervals of A's and B's rates."""
        return rate_interval(self.count_a, self.n, self.confidence), rate_interval(self.count_b, self.n, self.confidence)

    def format(self) -> str:
        """``"12/24 vs 0/24 (12:0 discordant), p = 0.0005"``."""
        return (
            f"{self.count_a}/{self.n} vs {self.count_b}/{self.n} "
            f"({self.only_a}:{self.only_b} discordant), p = {format_p(self.p_value)}"
        )


def format_p(p: float) -> str:
    """A p-value to two significant digits, ``"1"`` when it is 1."""
    return "1" if p >= 0.9995 else f"{p:.2g}"


def paired_binary_test(a: Any, b: Any, confidence: float = 0.95) -> PairedBinary:
    """The exact McNemar comparison of two paired yes/no outcomes, one per seed.

    Args:
      a, b: boolean (or 0/1) arrays of shape ``(seeds,)``: whether each seed's
        run of set-up A (and of B) had the outcome.
      confidence: the level of the intervals; the difference is called
        detectable when the two-sided p-value is below ``1 - confidence``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 1 or a.size < 1:
        raise ValueError(f"need paired outcomes of one shape (seeds,), got {a.shape} and {b.shape}")
    for name, x in (("a", a), ("b", b)):
        if x.dtype != bool and not np.all((x == 0) | (x == 1)):
            raise ValueError(f"{name} must hold yes/no outcomes (booleans or 0/1), got {x!r}")
    a, b = a.astype(bool), b.astype(bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    discordant = only_a + only_b
    if discordant == 0:
        p_value, low, high = 1.0, 0.0, 1.0
    else:
        test = stats.binomtest(only_a, discordant, 0.5)
        p_value = float(test.pvalue)
        low, high = rate_interval(only_a, discordant, confidence)
    return PairedBinary(a.size, int(a.sum()), int(b.sum()), only_a, only_b, p_value, low, high, confidence)


def min_discordant(confidence: float = 0.95) -> int:
    """The fewest discordant seeds that can make a paired yes/no difference detectable.

    ``k`` discordant seeds, all one way, give the smallest p-value ``k`` allows,
    ``2^(1 - k)``; this is the smallest ``k`` for which it is below ``1 - confidence``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    k = 1
    while stats.binomtest(k, k, 0.5).pvalue >= 1.0 - confidence:
        k += 1
    return k
