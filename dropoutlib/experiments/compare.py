"""Comparing two training set-ups: the paired difference and an interval that covers every noise.

Every comparison in the book (dropout against none, direct against
inverted, with and without a constraint, two rates) is **paired**: both
set-ups run with the same seeds (hence the same initializations, data order
and dropout keys, see :func:`~dropoutlib.experiments.hyper_variants`)
and are scored on the same test examples. Two things make the measured
difference noisy, and the interval must cover both:

* the **seeds**: a rerun with other seeds trains other networks;
* the **finite test set**: 359 test images score a 5 % error rate with a
  binomial standard error of about 1.15 points.

A standard deviation over seeds covers only the first. Here the scores are
kept per seed AND per test example, ``d[s, i] = a[s, i] - b[s, i]`` (for
accuracy ``a[s, i]`` is 1 when seed ``s`` of set-up A gets example ``i``
right), and the interval for the mean of ``d`` comes from a **two-way
bootstrap** that resamples seeds and test examples independently, with
replacement (the "pigeonhole" bootstrap of Owen, 2007, for crossed random
effects): each replicate is ``w^T d v / (S N)`` for multinomial seed counts
``w`` and example counts ``v``. Its variance estimate includes the seed,
the example and the interaction variance; it is slightly conservative.
``scipy.stats.bootstrap`` resamples along one axis only, so it cannot do
this; for a score that exists only per seed (a weight norm, a learning
rate), the interval is the paired t interval (``scipy.stats.ttest_rel``, which is a
one-sample t test on the differences).

Where a claim is about the method rather than one data split, each split is
one stratum: a list of per-split score arrays is resampled within each
split, and the statistic is the mean of the per-split means.

The words follow the interval: "better" only when it excludes zero,
otherwise "no detectable difference" (:meth:`PairedDifference.verdict`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
from scipy import stats

__all__ = ["PairedDifference", "paired_difference"]


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """The mean paired difference ``A - B`` and its interval.

    ``method`` is ``"two-way bootstrap (seeds x examples)"`` or
    ``"paired t over seeds"``.
    """

    mean: float
    low: float
    high: float
    confidence: float
    n_seeds: int
    n_examples: int | None
    method: str

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def verdict(self, higher_is_better: bool = True) -> str:
        """``"better"``, ``"worse"`` (A relative to B) or ``"no detectable difference"``."""
        if not self.excludes_zero:
            return "no detectable difference"
        return "better" if (self.mean > 0) == higher_is_better else "worse"

    def format(self, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
        """``"+1.23 [0.45, 2.01] points"``: the mean and the interval, times ``scale``."""
        m, lo, hi = (scale * v for v in (self.mean, self.low, self.high))
        text = f"{m:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
        return f"{text} {unit}".rstrip()

    def scaled(self, scale: float) -> "PairedDifference":
        """The same difference in other units (for example ``100`` for percentage points)."""
        return dataclasses.replace(self, mean=self.mean * scale, low=self.low * scale, high=self.high * scale)


def _as_strata(a: Any, b: Any) -> list[np.ndarray]:
    a_list = list(a) if isinstance(a, (list, tuple)) else [a]
    b_list = list(b) if isinstance(b, (list, tuple)) else [b]
    if len(a_list) != len(b_list):
        raise ValueError(f"a and b must hold the same number of splits, got {len(a_list)} and {len(b_list)}")
    strata = []
    for j, (x, y) in enumerate(zip(a_list, b_list)):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape != y.shape:
            raise ValueError(f"split {j}: a and b must be paired, with equal shapes, got {x.shape} and {y.shape}")
        if x.ndim not in (1, 2) or x.shape[0] < 2:
            raise ValueError(f"split {j}: need scores of shape (seeds,) or (seeds, examples) with at least 2 seeds, got {x.shape}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"split {j}: the scores hold NaN or infinity")
        strata.append(x - y)
    if len({d.ndim for d in strata}) != 1:
        raise ValueError("every split needs scores of the same kind (all per seed, or all per seed and example)")
    return strata


def paired_difference(
    a: Any,
    b: Any,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedDifference:
    """The mean of ``a - b`` and a ``confidence`` interval that covers seeds and test examples.

    Args:
      a, b: paired scores of set-ups A and B. Either ``(seeds, examples)``
        arrays of per-example scores (correct = 1, or a per-example loss),
        giving the two-way bootstrap; or ``(seeds,)`` arrays of per-seed
        scores, giving the paired t interval over seeds. A list of such
        arrays, one per data split, is resampled split by split.
      confidence: the interval's coverage.
      n_resamples: bootstrap replicates.
      seed: the bootstrap's random seed (the result is deterministic).

    Returns:
      A :class:`PairedDifference`.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    strata = _as_strata(a, b)
    n_seeds = sum(d.shape[0] for d in strata)
    mean = float(np.mean([d.mean() for d in strata]))
    if strata[0].ndim == 1:
        diffs = np.concatenate(strata)
        if len(strata) > 1:
            raise ValueError("per-seed scores over several splits: concatenate them as one set of seeds")
        if np.all(diffs == diffs[0]):  # no spread: the t interval degenerates to a point
            return PairedDifference(mean, mean, mean, confidence, n_seeds, None, "paired t over seeds")
        low, high = stats.ttest_1samp(diffs, 0.0).confidence_interval(confidence)
        return PairedDifference(mean, float(low), float(high), confidence, n_seeds, None, "paired t over seeds")
    rng = np.random.default_rng(seed)
    replicates = np.zeros(n_resamples)
    for d in strata:
        n_s, n_e = d.shape
        w = rng.multinomial(n_s, np.full(n_s, 1.0 / n_s), size=n_resamples)  # seed counts
        v = rng.multinomial(n_e, np.full(n_e, 1.0 / n_e), size=n_resamples)  # example counts
        replicates += np.einsum("bs,se,be->b", w, d, v) / (n_s * n_e)
    replicates /= len(strata)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    n_examples = sum(d.shape[1] for d in strata)
    return PairedDifference(mean, float(low), float(high), confidence, n_seeds, n_examples, "two-way bootstrap (seeds x examples)")
